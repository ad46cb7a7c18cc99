//! `--check-determinism`: run a scenario twice in one process, in lockstep, and report the
//! first trace event where the two runs differ (madsim's habit). Lockstep keeps memory bounded
//! by how far one run gets ahead of the other, not by the length of the trace, so the check also
//! works on a 6-million-event run.

use crate::scenario::Scenario;
use crate::sim::{RunOptions, World};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Write;
use std::rc::Rc;
use std::sync::Arc;

/// The first trace line where two runs differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// 0-based index of the trace event.
    pub index: u64,
    /// The line of the first run (None: the first run's trace ended here).
    pub first: Option<String>,
    /// The line of the second run (None: the second run's trace ended here).
    pub second: Option<String>,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |l: &Option<String>| l.clone().unwrap_or_else(|| "(trace ended)".into());
        write!(
            f,
            "the traces first differ at event #{}:\n  run 1: {}\n  run 2: {}",
            self.index,
            show(&self.first),
            show(&self.second)
        )
    }
}

/// The result of a lockstep comparison: the two finished worlds and the first divergence, if any.
pub struct Lockstep {
    pub first: World,
    pub second: World,
    pub divergence: Option<Divergence>,
    /// Trace events compared (equal prefix length when they diverge).
    pub compared: u64,
}

/// Collects complete trace lines written by one run.
#[derive(Clone, Default)]
struct Lines(Rc<RefCell<LineBuf>>);

#[derive(Default)]
struct LineBuf {
    partial: Vec<u8>,
    lines: VecDeque<Vec<u8>>,
}

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut b = self.0.borrow_mut();
        for &c in buf {
            if c == b'\n' {
                let line = std::mem::take(&mut b.partial);
                b.lines.push_back(line);
            } else {
                b.partial.push(c);
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs the scenario twice with the same seed and compares the traces event by event.
pub fn check(sc: Arc<Scenario>, seed: Option<u64>, check_invariants: bool) -> Lockstep {
    let (a, la) = traced_world(sc.clone(), seed, check_invariants);
    let (b, lb) = traced_world(sc, seed, check_invariants);
    lockstep(a, la, b, lb)
}

/// Compares two worlds built elsewhere (tests use it with two different seeds to show a
/// divergence is found and reported at the right event).
pub fn compare(sc_a: Arc<Scenario>, seed_a: Option<u64>, sc_b: Arc<Scenario>, seed_b: Option<u64>) -> Lockstep {
    let (a, la) = traced_world(sc_a, seed_a, false);
    let (b, lb) = traced_world(sc_b, seed_b, false);
    lockstep(a, la, b, lb)
}

fn traced_world(sc: Arc<Scenario>, seed: Option<u64>, check_invariants: bool) -> (World, Lines) {
    let lines = Lines::default();
    let w = World::new(
        sc,
        RunOptions {
            seed,
            trace: Some(Box::new(lines.clone())),
            keep_trace: false,
            check_invariants,
            hash_thread: false,
        },
    );
    (w, lines)
}

fn lockstep(mut a: World, la: Lines, mut b: World, lb: Lines) -> Lockstep {
    let mut compared = 0u64;
    let mut a_live = true;
    let mut b_live = true;
    let divergence = loop {
        // Advance whichever run has fewer pending lines, so neither gets far ahead.
        let (na, nb) = (la.0.borrow().lines.len(), lb.0.borrow().lines.len());
        if a_live && (na <= nb || !b_live) {
            a_live = a.step();
            if !a_live {
                a.finish();
            }
        } else if b_live {
            b_live = b.step();
            if !b_live {
                b.finish();
            }
        }
        if let Some(d) = drain_equal(&la, &lb, &mut compared) {
            break Some(d);
        }
        if !a_live && !b_live {
            let (ra, rb) = (la.0.borrow().lines.len(), lb.0.borrow().lines.len());
            if ra == 0 && rb == 0 {
                break None;
            }
            // One trace is longer: the shorter ended here.
            let first = la.0.borrow_mut().lines.pop_front().map(to_string);
            let second = lb.0.borrow_mut().lines.pop_front().map(to_string);
            break Some(Divergence {
                index: compared,
                first,
                second,
            });
        }
    };
    Lockstep {
        first: a,
        second: b,
        divergence,
        compared,
    }
}

/// Pops equal line pairs; returns the first unequal pair.
fn drain_equal(la: &Lines, lb: &Lines, compared: &mut u64) -> Option<Divergence> {
    let mut a = la.0.borrow_mut();
    let mut b = lb.0.borrow_mut();
    while !a.lines.is_empty() && !b.lines.is_empty() {
        let x = a.lines.pop_front().expect("non-empty");
        let y = b.lines.pop_front().expect("non-empty");
        if x != y {
            return Some(Divergence {
                index: *compared,
                first: Some(to_string(x)),
                second: Some(to_string(y)),
            });
        }
        *compared += 1;
    }
    None
}

fn to_string(v: Vec<u8>) -> String {
    String::from_utf8_lossy(&v).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_scenario;
    use std::path::Path;

    fn scenario() -> Arc<Scenario> {
        let text = "name: d\njobsets:\n- inline:\n    apiVersion: jobset.x-k8s.io/v1alpha2\n    kind: JobSet\n    metadata: {name: js}\n    spec:\n      replicatedJobs:\n      - name: w\n        replicas: 2\n        template:\n          spec:\n            template:\n              spec:\n                containers: [{name: c, image: x}]\nworkload:\n- runFor: 1m\n";
        Arc::new(parse_scenario(text, Path::new("d.yaml")).expect("valid scenario"))
    }

    #[test]
    fn the_same_seed_twice_gives_no_divergence_and_compares_every_event() {
        let r = check(scenario(), Some(3), true);
        assert_eq!(r.divergence, None);
        assert_eq!(r.compared, r.first.trace.count);
        assert!(r.compared > 10, "a real trace was compared");
        assert_eq!(r.first.trace.hash.0, r.second.trace.hash.0);
    }

    #[test]
    fn different_seeds_are_reported_at_the_first_differing_event() {
        // Pod names carry a seeded random suffix, so the first PodCreated line differs.
        let r = compare(scenario(), Some(1), scenario(), Some(2));
        let d = r.divergence.expect("different seeds diverge");
        let first = d.first.as_deref().expect("run 1 has the line");
        let second = d.second.as_deref().expect("run 2 has the line");
        assert!(first.contains("\"event\":\"PodCreated\""), "{first}");
        assert_ne!(first, second);
        assert_eq!(d.index, r.compared);
        assert!(
            d.to_string()
                .starts_with(&format!("the traces first differ at event #{}", d.index))
        );
    }

    #[test]
    fn a_longer_trace_is_reported_where_the_shorter_one_ends() {
        let mut longer = (*scenario()).clone();
        longer.horizon = 10 * 60 * 1000;
        let mut shorter = longer.clone();
        shorter.horizon = 30 * 1000;
        let r = compare(Arc::new(shorter), Some(1), Arc::new(longer), Some(1));
        let d = r.divergence.expect("the horizon cuts one trace short");
        assert_eq!(d.first, None);
        assert!(d.second.is_some());
    }
}
