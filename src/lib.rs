//! jobset-sim: a deterministic discrete-event simulator of Kubernetes JobSet.
//!
//! A run is a pure function of (scenario, seed): the same inputs give the same
//! trace, byte for byte, on any machine. Time is integer milliseconds owned by
//! the engine; randomness comes only from ChaCha streams derived from the seed;
//! nothing iterates a hash map on a path that reaches output.

pub mod api;
pub mod input;
pub mod pattern;
pub mod units;
