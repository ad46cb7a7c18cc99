//! Controllers as pure functions: they read a snapshot and return a plan; the
//! engine applies plans through the simulated API server.

pub mod jobset;
pub mod lifecycle;
pub mod naming;

#[cfg(test)]
mod jobset_tests;
#[cfg(test)]
mod lifecycle_tests;
