//! The single integration-test binary (ripgrep style): scenario expectations,
//! determinism, golden traces, the CLI, and the upstream examples.

mod util;

mod cli;
mod determinism;
mod features;
mod robustness;
mod job_controller;
mod scenarios;
mod upstream;
