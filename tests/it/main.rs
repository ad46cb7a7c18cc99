//! The single integration-test binary (ripgrep style): scenario expectations,
//! determinism, golden traces, the CLI, and the upstream examples.

mod util;

mod cli;
mod determinism;
mod faults;
mod features;
mod hardship;
mod invariants;
mod job_controller;
mod lifecycle;
mod placement;
mod probes;
mod properties;
mod queues;
mod robustness;
mod scenarios;
mod sweep;
mod training;
mod upstream;
