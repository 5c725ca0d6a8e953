//! Running the reference CLI (`examples/migrate.rs`) against a moto account.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::moto_endpoint;

/// An example binary cargo built next to this test binary (scripts/test builds them).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("examples").join(name);
    assert!(
        path.exists(),
        "{} not built: run `cargo build --examples` (a plain `cargo test` and scripts/test build them)",
        path.display()
    );
    path
}

/// Runs `migrate ARGS` in `dir`, acting in `account` on moto, with quick waits. `fail` is a
/// comma-separated list of mutating calls to fail (the CLI's fault-injection test hook).
pub fn migrate_with(account: &str, dir: &Path, args: &[&str], fail: Option<&str>) -> Output {
    migrate_at(&moto_endpoint(), account, dir, args, fail)
}

/// [`migrate_with`], talking to `endpoint` instead of moto (a proxy in front of it, or an
/// endpoint that never answers).
pub fn migrate_at(endpoint: &str, account: &str, dir: &Path, args: &[&str], fail: Option<&str>) -> Output {
    match fail {
        Some(f) => migrate_env_at(endpoint, account, dir, args, &[("ECS_BLUEGREEN_FAIL_MUTATIONS", f)]),
        None => migrate_env_at(endpoint, account, dir, args, &[]),
    }
}

/// Runs `migrate ARGS` as [`migrate_with`] does, with extra environment variables (test hooks
/// such as `ECS_BLUEGREEN_LOSE_ANSWERS`).
pub fn migrate_env(account: &str, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    migrate_env_at(&moto_endpoint(), account, dir, args, env)
}

/// [`migrate_env`], talking to `endpoint`.
pub fn migrate_env_at(endpoint: &str, account: &str, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = command_at(endpoint, account, dir, args);
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

/// The command `migrate ARGS` in `dir`, acting in `account` on moto, with quick waits (to
/// spawn it, e.g. to signal it midway).
#[allow(dead_code)]
pub fn migrate_command(account: &str, dir: &Path, args: &[&str]) -> Command {
    command_at(&moto_endpoint(), account, dir, args)
}

fn command_at(endpoint: &str, account: &str, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(example("migrate"));
    cmd.args(args)
        .current_dir(dir)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // Nothing of the developer's AWS setup reaches the CLI (scripts/test unsets these too).
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_DEFAULT_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("MOTO_ACCOUNT_ID", account)
        .env("ECS_BLUEGREEN_FAST_WAITS", "1");
    cmd
}

/// Output bytes as text.
pub fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}
