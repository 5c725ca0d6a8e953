//! Shared pure test data (no AWS, no moto): `mod support; use support::sample;`.

pub mod sample;
