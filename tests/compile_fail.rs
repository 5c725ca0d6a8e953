//! Required fields of the typed specs are enforced at compile time: each `tests/ui/*.rs` program
//! leaves one out and must fail to build with typed-builder's "Missing required field" error, or
//! gives a field twice (also through its `x_opt` fallback setter) and must fail to build.
//!
//! Regenerate the expected errors after a typed-builder or rustc upgrade with
//! `TRYBUILD=overwrite cargo test --test compile_fail`, then read the `.stderr` diffs.

#[test]
fn builders_without_required_fields_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
