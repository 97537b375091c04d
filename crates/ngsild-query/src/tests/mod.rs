//! Unit and property tests.

mod eval_tests;
mod geo_tests;
mod misc_tests;
mod props;
mod q_tests;
