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
pub mod determinism;
pub mod explain;
pub mod input;
pub mod junit;
pub mod pattern;
pub mod scenario;
pub mod sim;
pub mod sweep;
pub mod trace;
pub mod units;

thread_local! {
    /// Compiled failure-policy patterns, by source text (lookup only, never iterated).
    static PATTERNS: std::cell::RefCell<std::collections::BTreeMap<String, pattern::GoPattern>> =
        const { std::cell::RefCell::new(std::collections::BTreeMap::new()) };
}

/// Matches a failure-policy message pattern with Go RE2 semantics (unanchored;
/// a pattern Go rejects never matches, as JobSet logs and skips it).
pub fn pattern_match(pattern: &str, message: &str) -> bool {
    PATTERNS.with(|c| {
        let mut c = c.borrow_mut();
        if !c.contains_key(pattern) {
            c.insert(pattern.to_string(), pattern::compile_go_pattern(pattern));
        }
        c[pattern].is_match(message)
    })
}
