//! Scenarios: the format-v1 parser and the resolved model the engine runs.

pub mod kueue;
pub mod model;
pub mod parse;

pub use model::*;
pub use parse::{LoadError, load_file, parse_scenario, parse_scenario_value};
