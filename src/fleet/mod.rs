//! Fleets: many services migrated from one spec file, with one report.

pub mod spec;
