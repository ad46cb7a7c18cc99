//! Control-plane hardship (`hardship:`): each kind has an effect, the controllers
//! stay correct under it (the invariant checker is on in every `run`), it is
//! deterministic, it never shifts fault draws, and bad values are exit 2.

use crate::util::*;
use jobset_sim::sim::World;
use jobset_sim::trace::TraceEvent;

/// A leader and 3 worker Jobs of 2 indexed pods; worker 1 is OOM-killed at 20m
/// (rule `oom`: one counted restart); every container runs 1h, so the JobSet
/// completes after one restart. No random process: the outcome is fixed.
fn base(strategy: &str, timing: &str, hardship: &str) -> String {
    format!(
        r#"name: h
horizon: 1d
cluster:
  nodePools:
  - {{name: gpu, count: 6, capacity: {{cpu: "32", memory: 256Gi, nvidia.com/gpu: "8"}}}}
{timing}
jobsets:
- inline:
    apiVersion: jobset.x-k8s.io/v1alpha2
    kind: JobSet
    metadata: {{name: train}}
    spec:
      failurePolicy:
        maxRestarts: 3
        restartStrategy: {strategy}
        rules:
        - {{name: oom, action: RestartJobSet, onJobFailureMessagePatterns: ["exit code 137"]}}
      replicatedJobs:
      - name: leader
        template: {{spec: {{backoffLimit: 0, template: {{spec: {{restartPolicy: Never, containers: [{{name: leader}}]}}}}}}}}
      - name: workers
        replicas: 3
        template:
          spec:
            backoffLimit: 0
            parallelism: 2
            completions: 2
            completionMode: Indexed
            podFailurePolicy:
              rules:
              - {{action: FailJob, onExitCodes: {{containerName: worker, operator: In, values: [137]}}}}
            template:
              spec:
                restartPolicy: Never
                containers: [{{name: worker, resources: {{limits: {{nvidia.com/gpu: "4"}}}}}}]
workload:
- runFor: 1h
faults:
- at: 20m
  podFailure: {{jobset: train, replicatedJob: workers, jobIndex: 1, podIndex: 0, exitCode: 137}}
{hardship}
"#
    )
}

fn run_seed(text: &str, seed: u64) -> World {
    let sc = scenario(text);
    let mut w = World::new(
        sc,
        jobset_sim::sim::RunOptions {
            seed: Some(seed),
            keep_trace: true,
            check_invariants: true,
            ..Default::default()
        },
    );
    w.run();
    if let Some(jobset_sim::sim::StopReason::Invariant(v)) = &w.stop {
        panic!("seed {seed}: {v}");
    }
    w
}

fn hardship_events<'a>(w: &'a World, cause: &str) -> Vec<&'a TraceEvent> {
    events(w, "HardshipInjected")
        .into_iter()
        .filter(|e| e.cause.as_deref() == Some(cause))
        .collect()
}

/// (terminal state, restarts, counted restarts) of the one JobSet.
fn outcome(w: &World) -> (String, i32, i32) {
    let h = w.history.values().next().expect("one JobSet");
    (h.terminal_state.clone(), h.restarts, h.restarts_count_towards_max)
}

/// The number in a `+123ms` / `retry 2 in 10ms` message.
fn ms_in(message: &str, after: &str) -> u64 {
    let rest = &message[message.find(after).expect(after) + after.len()..];
    let digits: String = rest
        .trim_start_matches('+')
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().unwrap_or_else(|_| panic!("no number in {message:?}"))
}

#[test]
fn without_hardship_and_with_an_empty_block_the_trace_is_unchanged() {
    let plain = trace_bytes(scenario(&base("Recreate", "", "")), None);
    let empty = trace_bytes(scenario(&base("Recreate", "", "hardship: {}")), None);
    let zeros = trace_bytes(
        scenario(&base(
            "Recreate",
            "",
            "hardship: {watchDelay: 0s, statusConflicts: 0, slowDeletion: 0s}",
        )),
        None,
    );
    assert_eq!(plain, empty);
    assert_eq!(plain, zeros);
    let w = run(scenario(&base("Recreate", "", "")));
    assert_eq!(outcome(&w), ("Completed".to_string(), 1, 1));
    assert!(events(&w, "HardshipInjected").is_empty());
}

#[test]
fn watch_delay_delays_each_notification_within_the_bound_and_reorders_objects() {
    let d = 500;
    let text = base("Recreate", "", &format!("hardship: {{watchDelay: {d}ms}}"));
    let plain = run(scenario(&base("Recreate", "", "")));
    // The attempt-1 Jobs in creation order and in completion order.
    let orders = |w: &World| -> (Vec<String>, Vec<String>) {
        let created = events(w, "JobCreated")
            .iter()
            .filter(|e| e.restart_attempt == Some(1))
            .map(|e| e.job.as_deref().unwrap().to_string())
            .collect();
        let completed = events(w, "JobCompleted")
            .iter()
            .map(|e| e.job.as_deref().unwrap().to_string())
            .collect();
        (created, completed)
    };
    let (created, completed) = orders(&plain);
    assert_eq!(
        created, completed,
        "no lag: Jobs whose pods end together complete in creation order"
    );
    assert_eq!(
        events(&plain, "JobCreated")[0].t,
        10,
        "controllerDelay after the JobSet is created"
    );
    let mut reordered = false;
    for seed in 0..8 {
        let w = run_seed(&text, seed);
        assert_eq!(outcome(&w), outcome(&plain), "seed {seed}: same outcome");
        let lags = hardship_events(&w, "watchDelay");
        assert!(lags.len() > 20, "seed {seed}: {} delayed notifications", lags.len());
        for e in &lags {
            let lag = ms_in(e.message.as_deref().unwrap(), "+");
            assert!((1..=d).contains(&lag), "lag {lag} within (0, {d}]");
        }
        // The first reconcile runs controllerDelay + the submission notification's lag later.
        let first_lag = if lags[0].t == 0 {
            ms_in(lags[0].message.as_deref().unwrap(), "+")
        } else {
            0
        };
        assert_eq!(events(&w, "JobCreated")[0].t, 10 + first_lag, "seed {seed}");
        let (created, completed) = orders(&w);
        reordered |= created != completed;
    }
    assert!(
        reordered,
        "with watch lag some seed completes the Jobs in another order"
    );
}

#[test]
fn status_conflicts_are_retried_with_backoff_and_the_outcome_is_unchanged() {
    let plain = run(scenario(&base("Recreate", "", "")));
    let plain_rules: Vec<(String, String)> = events(&plain, "FailurePolicyRuleMatched")
        .iter()
        .map(|e| (e.rule.clone().unwrap(), e.job.as_deref().unwrap().to_string()))
        .collect();
    let text = base("Recreate", "", "hardship: {statusConflicts: 0.3}");
    let (mut jobset_conflicts, mut job_conflicts, mut doubled) = (0, 0, false);
    for seed in 0..8 {
        let w = run_seed(&text, seed);
        assert_eq!(outcome(&w), outcome(&plain), "seed {seed}");
        let rules: Vec<(String, String)> = events(&w, "FailurePolicyRuleMatched")
            .iter()
            .map(|e| (e.rule.clone().unwrap(), e.job.as_deref().unwrap().to_string()))
            .collect();
        assert_eq!(
            rules, plain_rules,
            "seed {seed}: the same decisions, each recorded once"
        );
        // A lost write emits nothing: each Job's terminal event appears once per Job.
        for name in ["JobCompleted", "JobFailed", "JobSetRestarting", "JobSetCompleted"] {
            assert_eq!(
                events(&w, name).len(),
                events(&plain, name).len(),
                "seed {seed}: {name}"
            );
        }
        for e in hardship_events(&w, "statusConflict") {
            let m = e.message.as_deref().unwrap();
            assert!(m.contains("the object has been modified"), "{m}");
            let n = ms_in(m, "retry ") as u32;
            let backoff = ms_in(m, " in ");
            if e.object.as_deref().unwrap().starts_with("JobSet/") {
                jobset_conflicts += 1;
                assert_eq!(backoff, 5 << (n - 1), "controller-runtime: 5ms doubling");
            } else {
                job_conflicts += 1;
                assert_eq!(backoff, (1000u64 << (n - 1)).min(60_000), "Job controller: 1s doubling");
            }
            doubled |= n >= 2;
        }
    }
    assert!(jobset_conflicts > 5, "JobSet status conflicts: {jobset_conflicts}");
    assert!(job_conflicts > 5, "Job status conflicts: {job_conflicts}");
    assert!(doubled, "a conflicting retry doubles the backoff");
}

#[test]
fn a_jobset_status_conflict_delays_the_write_by_the_backoff() {
    // Same run with and without conflicts: every JobSet status transition happens no
    // earlier than without, and the retries show up as extra reconciles in between.
    let plain = run(scenario(&base("Recreate", "", "")));
    let w = run_seed(&base("Recreate", "", "hardship: {statusConflicts: 0.5}"), 3);
    let t = |w: &World, name: &str| events(w, name).first().map(|e| e.t).unwrap();
    assert!(t(&w, "JobSetRestarting") >= t(&plain, "JobSetRestarting"));
    assert!(t(&w, "JobSetCompleted") >= t(&plain, "JobSetCompleted"));
    assert!(!hardship_events(&w, "statusConflict").is_empty());
}

#[test]
fn slow_deletion_keeps_a_deleted_job_for_the_configured_time_and_blocking_recreate_waits() {
    let text = base("BlockingRecreate", "", "hardship: {slowDeletion: 30s}");
    let w = run(scenario(&text));
    assert_eq!(outcome(&w), ("Completed".to_string(), 1, 1));
    let slow = hardship_events(&w, "slowDeletion");
    let deleted = events(&w, "JobDeleted");
    assert_eq!(slow.len(), 4, "the 4 Jobs of attempt 0 are deleted slowly");
    assert_eq!(deleted.len(), 4);
    for s in &slow {
        let gone = deleted.iter().find(|d| d.job == s.job).expect("gone later");
        assert_eq!(
            gone.t,
            s.t + 30_000,
            "{:?}: JobDeleted 30s after it would have gone",
            s.job
        );
    }
    let last_gone = deleted.iter().map(|e| e.t).max().unwrap();
    let recreated: Vec<u64> = events(&w, "JobCreated")
        .iter()
        .filter(|e| e.restart_attempt == Some(1))
        .map(|e| e.t)
        .collect();
    assert_eq!(recreated.len(), 4);
    assert!(
        recreated.iter().all(|t| *t >= last_gone),
        "BlockingRecreate waits for every old Job"
    );
    // Without hardship the same restart recreates 30 s earlier.
    let plain = run(scenario(&base("BlockingRecreate", "", "")));
    let plain_recreated = events(&plain, "JobCreated")
        .iter()
        .filter(|e| e.restart_attempt == Some(1))
        .map(|e| e.t)
        .min()
        .unwrap();
    assert_eq!(recreated.iter().min().unwrap() - plain_recreated, 30_000);
}

#[test]
fn slow_deletion_under_recreate_recreates_each_job_only_when_its_old_one_is_gone() {
    let w = run(scenario(&base("Recreate", "", "hardship: {slowDeletion: 45s}")));
    assert_eq!(outcome(&w), ("Completed".to_string(), 1, 1));
    for d in events(&w, "JobDeleted") {
        let again = events(&w, "JobCreated")
            .into_iter()
            .find(|c| c.job == d.job && c.restart_attempt == Some(1))
            .expect("recreated");
        assert!(
            again.t >= d.t,
            "{:?} recreated at {} before gone at {}",
            d.job,
            again.t,
            d.t
        );
    }
}

#[test]
fn controller_restarts_drop_the_queue_and_the_jobset_still_completes() {
    // A long controllerDelay keeps keys queued most of the time, so crashes lose some.
    let text = base(
        "Recreate",
        "timing: {controllerDelay: 20s}",
        "hardship: {controllerRestarts: {mtbf: 5m, restartDelay: 15s}}",
    );
    let mut lost = 0;
    for seed in 0..4 {
        let w = run_seed(&text, seed);
        assert_eq!(outcome(&w), ("Completed".to_string(), 1, 1), "seed {seed}");
        let crashes = hardship_events(&w, "controllerRestart");
        let resyncs = events(&w, "ControllerResynced");
        assert!(crashes.len() >= 4, "seed {seed}: {} restarts", crashes.len());
        for c in &crashes {
            let m = c.message.as_deref().unwrap();
            let n: usize = m["workqueue dropped (".len()..]
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            lost += n;
            // The same controller resyncs 15 s later (unless it crashed again before).
            let again = resyncs.iter().find(|r| r.object == c.object && r.t >= c.t).map(|r| r.t);
            if let Some(t) = again {
                assert!(t >= c.t + 15_000, "resync after the restart delay");
            }
        }
        assert!(
            resyncs
                .iter()
                .all(|r| r.message.as_deref().unwrap().starts_with("listed "))
        );
    }
    assert!(lost > 0, "some crash dropped queued keys");
}

#[test]
fn hardship_never_shifts_the_random_fault_draws() {
    let text = |h: &str| {
        format!(
            "{}faults:\n- random:\n    nodeFailure: {{pool: n, mtbf: 2d, recoverAfter: {{exponential: 1h}}}}\n{h}",
            "name: r\nhorizon: 10d\ncluster:\n  nodePools: [{name: n, count: 40, capacity: {cpu: \"8\"}}]\n"
        )
    };
    let nodes = |w: &World| -> Vec<(u64, String)> {
        events(w, "FaultInjected")
            .iter()
            .map(|e| (e.t, e.node.as_deref().unwrap().to_string()))
            .collect()
    };
    let plain = run(scenario(&text("")));
    let hard = run(scenario(&text(
        "hardship: {watchDelay: 1s, statusConflicts: 0.2, slowDeletion: 10s, controllerRestarts: {mtbf: 1h}}",
    )));
    assert!(nodes(&plain).len() > 50);
    assert_eq!(nodes(&plain), nodes(&hard));
    assert!(!hardship_events(&hard, "controllerRestart").is_empty());
}

/// A scaled-down copy of `scenarios/chaos-64.yaml`: same faults and hardship, 16 nodes.
fn chaos_small() -> String {
    let text = std::fs::read_to_string(repo().join("scenarios/chaos-64.yaml")).unwrap();
    text.replace("count: 64", "count: 16")
        .replace("nodesPerDomain: 8", "nodesPerDomain: 4")
        .replace("replicas: 4", "replicas: 2")
        .replace("parallelism: 8", "parallelism: 4")
        .replace("completions: 8", "completions: 4")
        .replace(
            "workers: {succeeded: 4, failed: 0}",
            "workers: {succeeded: 2, failed: 0}",
        )
        // Fewer objects write less status: raise the conflict rate so every seed sees some.
        .replace("statusConflicts: 0.05", "statusConflicts: 0.15")
}

#[test]
fn hardship_runs_are_deterministic() {
    let sc = scenario(&chaos_small());
    for seed in [1, 2] {
        let a = trace_bytes(sc.clone(), Some(seed));
        let b = trace_bytes(sc.clone(), Some(seed));
        assert_eq!(a, b, "seed {seed}: byte-identical");
        assert!(String::from_utf8_lossy(&a).contains("\"HardshipInjected\""));
    }
    assert_ne!(trace_bytes(sc.clone(), Some(1)), trace_bytes(sc, Some(2)));
}

#[test]
fn chaos_scaled_down_passes_its_expectations_for_ten_seeds() {
    let text = chaos_small();
    for seed in 0..10 {
        let w = run_seed(&text, seed);
        assert_expectations(&w, &format!("chaos-64 scaled down (seed {seed})"));
    }
}

#[test]
fn chaos_64_passes_for_ten_seeds() {
    let sc = load(&repo().join("scenarios/chaos-64.yaml"));
    for seed in 0..10 {
        let mut w = World::new(
            sc.clone(),
            jobset_sim::sim::RunOptions {
                seed: Some(seed),
                check_invariants: true,
                ..Default::default()
            },
        );
        w.run();
        if let Some(jobset_sim::sim::StopReason::Invariant(v)) = &w.stop {
            panic!("seed {seed}: {v}");
        }
        assert_expectations(&w, "scenarios/chaos-64.yaml");
    }
}

#[test]
fn bad_hardship_values_are_exit_two_with_the_path_and_nearest_key() {
    let cases = [
        (
            "hardship: {statusConflicts: -0.1}",
            "hardship.statusConflicts: invalid probability -0.1",
        ),
        (
            "hardship: {statusConflicts: 1.5}",
            "hardship.statusConflicts: invalid probability 1.5",
        ),
        (
            "hardship: {statusConflicts: often}",
            "hardship.statusConflicts: expected a probability",
        ),
        (
            "hardship: {statusConflict: 0.1}",
            "hardship.statusConflict: unknown field \"statusConflict\"; did you mean \"statusConflicts\"?",
        ),
        ("hardship: {watchDelay: soon}", "hardship.watchDelay"),
        ("hardship: {slowDeletion: -5s}", "hardship.slowDeletion"),
        (
            "hardship: {controllerRestarts: {}}",
            "hardship.controllerRestarts.mtbf: required field is missing",
        ),
        (
            "hardship: {controllerRestarts: {mtbf: 0s}}",
            "hardship.controllerRestarts.mtbf: must be greater than 0",
        ),
        (
            "hardship: {controllerRestarts: {mtbf: 1h, restartDelai: 5s}}",
            "did you mean \"restartDelay\"?",
        ),
        ("hardship: [watchDelay]", "hardship"),
    ];
    for (i, (h, want)) in cases.iter().enumerate() {
        let dir = std::env::temp_dir().join(format!("jobset-sim-hardship-{}-{i}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("bad.yaml");
        std::fs::write(&f, format!("name: x\n{h}\n")).unwrap();
        let o = cli(&["check", f.to_str().unwrap()]);
        assert_eq!(o.code, 2, "{h}: {}", o.stderr);
        assert!(o.stderr.contains("bad.yaml"), "{h}: names the file: {}", o.stderr);
        assert!(o.stderr.contains(want), "{h}: expected {want:?} in {}", o.stderr);
        assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
    }
}

/// One Job of 2 pods that crash after 5s (backoffLimit 2, no failurePolicy), suspended for
/// 2 minutes at 2s (its pods are deleted, which must not count as failures).
fn counting(hardship: &str) -> String {
    format!(
        r#"name: counting
horizon: 1d
jobsets:
- inline:
    apiVersion: jobset.x-k8s.io/v1alpha2
    kind: JobSet
    metadata: {{name: c}}
    spec:
      replicatedJobs:
      - name: w
        template:
          spec:
            parallelism: 2
            completions: 2
            backoffLimit: 2
            template: {{spec: {{restartPolicy: Never, containers: [{{name: c}}]}}}}
workload:
- runFor: 15s
  exitCode: 1
faults:
- {{at: 12s, update: {{jobset: c, suspend: true}}}}
- {{at: 2m, update: {{jobset: c, suspend: false}}}}
{hardship}
"#
    )
}

#[test]
fn job_status_conflicts_lose_no_failure_and_count_no_suspended_pod() {
    let job_counts = |w: &World| -> Vec<(String, i32, i32)> {
        w.jobs
            .iter()
            .map(|(_, j)| (j.name.to_string(), j.status.failed, j.status.succeeded))
            .collect()
    };
    let plain = run(scenario(&counting("")));
    assert_eq!(outcome(&plain).0, "Failed");
    // Suspension deletes the first 2 pods uncounted; after the resume the pods crash in
    // pairs: 2 failures (within backoffLimit 2), then 4 exceed it.
    assert_eq!(job_counts(&plain), vec![("c-w-0".to_string(), 4, 0)]);
    let mut conflicts = 0;
    for seed in 0..12 {
        let w = run_seed(&counting("hardship: {statusConflicts: 0.5}"), seed);
        assert_eq!(outcome(&w), outcome(&plain), "seed {seed}");
        assert_eq!(job_counts(&w), job_counts(&plain), "seed {seed}: the same counts");
        assert_eq!(events(&w, "JobFailed").len(), 1, "seed {seed}");
        // A lost count would make the Job create (and lose) more pods before it fails.
        for name in ["PodCreated", "PodFailed"] {
            assert_eq!(
                events(&w, name).len(),
                events(&plain, name).len(),
                "seed {seed}: {name}"
            );
        }
        assert_eq!(events(&w, "JobSuspended").len(), 1, "seed {seed}");
        assert_eq!(events(&w, "JobResumed").len(), 1, "seed {seed}");
        conflicts += hardship_events(&w, "statusConflict")
            .iter()
            .filter(|e| e.object.as_deref() == Some("Job/c-w-0"))
            .count();
    }
    assert!(conflicts >= 12, "Job status conflicts: {conflicts}");
}
