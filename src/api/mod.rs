//! Hand-written Kubernetes and JobSet types: the subset the simulator models,
//! with every other valid field kept verbatim (and reported as not simulated).

pub mod constants;
pub mod jobset;
pub mod meta;
pub mod pod;
pub mod probe;

pub use jobset::*;
pub use meta::*;
pub use pod::*;
