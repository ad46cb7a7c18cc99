//! Every shipped scenario runs and meets its `expect` block.

use crate::util::*;

#[test]
fn every_shipped_scenario_meets_its_expectations() {
    let files = shipped_scenarios();
    assert!(files.len() >= 5, "at least five curated scenarios ship");
    for f in files {
        // Expectations only: tests/it/invariants.rs runs each scenario with the
        // checker (node-failure-default trips a known engine bug there).
        let w = run(load(&f));
        assert!(!w.expect.outcomes.is_empty(), "{} has expectations", f.display());
        assert_expectations(&w, &f.display().to_string());
    }
}

#[test]
fn an_expectation_that_does_not_hold_is_reported_with_expected_and_seen() {
    let text = std::fs::read_to_string(repo().join("scenarios/quickstart.yaml")).unwrap();
    let bad = text.replace("restarts: 0", "restarts: 3");
    let w = run(scenario(&bad));
    let failed: Vec<_> = w.expect.outcomes.iter().filter(|o| !o.ok).collect();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].message.contains("restarts: expected 3, saw 0"),
        "{}",
        failed[0].message
    );
}
