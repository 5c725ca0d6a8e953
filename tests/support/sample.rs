//! The sample account now lives in the test kit; tests keep their `support::sample` paths.
#![allow(unused_imports)]

pub use ecs_bluegreen::testing::sample::*;
