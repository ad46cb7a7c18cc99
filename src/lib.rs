//! jobset-sim: a deterministic discrete-event simulator of Kubernetes JobSet.
//!
//! A run is a pure function of (scenario, seed): the same inputs give the same
//! trace, byte for byte, on any machine. Time is integer milliseconds owned by
//! the engine; randomness comes only from ChaCha streams derived from the seed;
//! nothing iterates a hash map on a path that reaches output.

pub mod admission;
pub mod api;
pub mod cli;
pub mod controllers;
pub mod input;
pub mod scenario;
pub mod sim;
pub mod sweep;
pub mod trace;
pub mod units;

/// Matches a failure-policy message pattern (temporary: plain `regex`, replaced by the Go-compat layer).
pub fn pattern_match(pattern: &str, message: &str) -> bool {
    regex::Regex::new(pattern).map(|r| r.is_match(message)).unwrap_or(false)
}
