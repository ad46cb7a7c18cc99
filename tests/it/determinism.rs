//! Same scenario and seed: byte-identical traces. Golden traces pin the bytes.

use crate::util::*;

#[test]
fn every_shipped_scenario_gives_identical_trace_bytes_twice() {
    for f in shipped_scenarios() {
        let sc = load(&f);
        let a = trace_bytes(sc.clone(), None);
        let b = trace_bytes(sc, None);
        assert!(!a.is_empty(), "{} produced a trace", f.display());
        if a != b {
            let la: Vec<&[u8]> = a.split(|c| *c == b'\n').collect();
            let lb: Vec<&[u8]> = b.split(|c| *c == b'\n').collect();
            let i = la
                .iter()
                .zip(&lb)
                .position(|(x, y)| x != y)
                .unwrap_or(la.len().min(lb.len()));
            panic!(
                "{}: traces differ first at line {i}:\n  {}\n  {}",
                f.display(),
                String::from_utf8_lossy(la.get(i).unwrap_or(&&b""[..])),
                String::from_utf8_lossy(lb.get(i).unwrap_or(&&b""[..]))
            );
        }
    }
}

#[test]
fn different_seeds_give_different_pod_names_but_the_same_outcome() {
    let sc = load(&repo().join("scenarios/quickstart.yaml"));
    let a = trace_bytes(sc.clone(), Some(1));
    let b = trace_bytes(sc, Some(2));
    assert_ne!(a, b, "pod name suffixes come from the seeded API-server stream");
    assert_eq!(
        a.iter().filter(|c| **c == b'\n').count(),
        b.iter().filter(|c| **c == b'\n').count()
    );
}

/// Golden traces: `UPDATE_GOLDEN=1 cargo test` rewrites them.
#[test]
fn golden_traces_match() {
    for name in ["quickstart", "node-failure-default"] {
        let sc = load(&repo().join(format!("scenarios/{name}.yaml")));
        let got = trace_bytes(sc.clone(), None);
        let path = repo().join(format!("tests/golden/{name}-seed{}.jsonl", sc.seed));
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read(&path)
            .unwrap_or_else(|_| panic!("{} missing: run UPDATE_GOLDEN=1 cargo test", path.display()));
        assert!(
            got == want,
            "{}: trace differs from the golden file (UPDATE_GOLDEN=1 to accept a deliberate change)",
            path.display()
        );
    }
}
