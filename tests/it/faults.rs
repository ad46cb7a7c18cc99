//! Seeded random fault processes.

use crate::util::*;
use std::collections::BTreeMap;

#[test]
fn llama3_profile_reproduces_the_papers_interruption_mix_over_20_seeds() {
    // 2,048 nodes for 54 days is the paper's exposure (16,384 GPUs / 8 per host), so each run
    // expects 419 unexpected interruptions and 47 planned maintenance events. Failures are
    // Poisson, so over 20 seeds a cause with expected count m = 20·w has sd √m; we accept
    // |observed − m| ≤ 4√m + 2 per cause (a fixed-seed test: it either always passes or never),
    // and the total within 4σ as well. Down time (2 h per failure) removes ~0.04 % of the
    // exposure, far inside the tolerance.
    let text = "name: llama3\nhorizon: 54d\ncluster:\n  nodePools: [{name: gpu, count: 2048, capacity: {cpu: \"96\", nvidia.com/gpu: \"8\"}}]\nfaults:\n- random:\n    nodeFailure: {pool: gpu, profile: llama3, recoverAfter: 2h}\n";
    let sc = scenario(text);
    let profile = jobset_sim::scenario::Profile::llama3();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let seeds = 20u64;
    for seed in 0..seeds {
        let mut w = jobset_sim::sim::World::new(
            sc.clone(),
            jobset_sim::sim::RunOptions {
                seed: Some(seed),
                keep_trace: true,
                ..Default::default()
            },
        );
        w.run();
        for e in events(&w, "FaultInjected") {
            let cause = e.cause.clone().unwrap();
            *counts
                .entry(cause.trim_start_matches("llama3:").to_string())
                .or_default() += 1;
        }
    }
    let mut total = 0;
    for (cause, weight, _) in &profile.causes {
        let expected = seeds as f64 * f64::from(*weight);
        let seen = counts.get(*cause).copied().unwrap_or(0) as f64;
        total += seen as u64;
        assert!(
            (seen - expected).abs() <= 4.0 * expected.sqrt() + 2.0,
            "{cause}: expected ≈{expected}, saw {seen}"
        );
    }
    let expected_total = seeds as f64 * f64::from(profile.total());
    assert!(
        (total as f64 - expected_total).abs() <= 4.0 * expected_total.sqrt(),
        "total {total} vs {expected_total}"
    );
}

#[test]
fn a_random_process_is_reproducible_and_independent_of_others() {
    let base = "name: r\nhorizon: 30d\ncluster:\n  nodePools: [{name: n, count: 50, capacity: {cpu: \"8\"}}]\nfaults:\n- random:\n    nodeFailure: {pool: n, mtbf: 20d, recoverAfter: {exponential: 1h}}\n";
    let with_other = format!(
        "{base}- random:\n    nodeFailure: {{pool: n, mtbf: 5d, mode: drain, recoverAfter: {{uniform: [10m, 20m]}}}}\n"
    );
    let crashes = |text: &str| -> Vec<(u64, String)> {
        let w = run(scenario(text));
        events(&w, "FaultInjected")
            .iter()
            .filter(|e| e.rule.as_deref() == Some("faults[0]"))
            .map(|e| (e.t, e.node.as_deref().unwrap().to_string()))
            .collect()
    };
    let a = crashes(base);
    assert!(a.len() > 20, "about 75 expected, saw {}", a.len());
    assert_eq!(a, crashes(base));
    // Adding a second process shifts nothing of the first one's draws (failures on nodes the
    // second process had down are skipped, so compare only the draws, i.e. the times).
    let b = crashes(&with_other);
    let times_a: Vec<u64> = a.iter().map(|x| x.0).collect();
    let times_b: Vec<u64> = b.iter().map(|x| x.0).collect();
    assert!(
        times_b.iter().all(|t| times_a.contains(t)),
        "the first process's schedule is unchanged"
    );
}

#[test]
fn random_pod_failures_restart_the_jobset_and_stop_when_it_is_done() {
    let text = r#"
name: r
horizon: 30d
cluster:
  nodePools: [{name: n, count: 4, capacity: {cpu: "8"}}]
jobsets:
- inline:
    apiVersion: jobset.x-k8s.io/v1alpha2
    kind: JobSet
    metadata: {name: js}
    spec:
      failurePolicy: {maxRestarts: 100}
      replicatedJobs:
      - name: w
        replicas: 4
        template: {spec: {backoffLimit: 0, template: {spec: {containers: [{name: c}]}}}}
workload:
- runFor: 10h
faults:
- random:
    podFailure: {jobset: js, mtbf: 20h, exitCode: 137}
"#;
    let w = run(scenario(text));
    let restarts = w.history.values().next().unwrap().restarts;
    assert!(
        restarts >= 1,
        "failures with a 20 h per-pod MTBF during 10 h runs of 4 pods"
    );
    assert_eq!(w.history.values().next().unwrap().terminal_state, "Completed");
    assert!(w.now < 30 * 86_400_000, "the process stops once the JobSet is done");
}
