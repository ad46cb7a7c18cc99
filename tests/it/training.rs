//! The training progress model against hand-computed timelines.

use crate::util::*;

fn text(faults: &str, extra_training: &str) -> String {
    format!(
        r#"
name: tr
cluster:
  nodePools: [{{name: n, count: 3, capacity: {{cpu: "8"}}}}]
timing: {{podStartup: 60s, podReady: 1s, podTermination: 5s}}
jobsets:
- inline:
    apiVersion: jobset.x-k8s.io/v1alpha2
    kind: JobSet
    metadata: {{name: train}}
    spec:
      failurePolicy: {{maxRestarts: 10}}
      replicatedJobs:
      - name: w
        replicas: 2
        template: {{spec: {{backoffLimit: 0, template: {{spec: {{containers: [{{name: c, resources: {{requests: {{cpu: "8"}}}}}}]}}}}}}}}
training:
- jobset: train
  work: 10h
  checkpointEvery: 1h
{extra_training}
faults: {faults}
"#
    )
}

fn summary(w: &jobset_sim::sim::World) -> jobset_sim::cli::TrainingSummary {
    jobset_sim::cli::summarize(w).jobsets[0]
        .training
        .clone()
        .expect("training summary")
}

#[test]
fn without_faults_the_work_finishes_after_startup_plus_work() {
    let w = run(scenario(&text("[]", "")));
    // Pods created at 20 ms (controller + job-controller delays), bound at +10 ms, Running at +60 s,
    // Ready at +1 s: the gang is ready at 61.03 s; 10 h of work later the pods exit 0.
    let done = events(&w, "TrainingCompleted")[0].t;
    assert_eq!(done, 61_030 + 10 * 3_600_000);
    let s = summary(&w);
    assert_eq!((s.progress_ms, s.lost_work_ms, s.checkpoints), (10 * 3_600_000, 0, 9));
    assert_eq!(jobset_sim::cli::summarize(&w).jobsets[0].terminal_state, "Completed");
}

#[test]
fn a_failure_between_checkpoints_loses_the_progress_since_the_last_one() {
    // Gang ready at 61.03 s; the pod fails at 2h30m: 2h28m58.97s of progress, the checkpoint at
    // 2h (of progress) is kept and 28m58.97s is lost.
    let faults = "\n- at: 2h30m\n  podFailure: {jobset: train, jobIndex: 0, exitCode: 1}";
    let w = run(scenario(&text(faults, "")));
    let s = summary(&w);
    assert_eq!(s.lost_work_ms, 2 * 3_600_000 + 30 * 60_000 - 61_030 - 2 * 3_600_000);
    assert_eq!(s.progress_ms, 10 * 3_600_000);
    assert_eq!(jobset_sim::cli::summarize(&w).jobsets[0].restarts, 1);
}

#[test]
fn a_failure_at_a_checkpoint_instant_loses_nothing() {
    // The 1 h checkpoint is reached at 61.03 s + 1 h exactly; a failure at that instant (after the
    // checkpoint event, which was scheduled first) loses no work.
    let faults = "\n- at: 1h1m1.03s\n  podFailure: {jobset: train, jobIndex: 1, exitCode: 1}";
    let w = run(scenario(&text(faults, "")));
    assert_eq!(summary(&w).lost_work_ms, 0);
}

#[test]
fn a_failure_at_the_all_ready_instant_has_made_no_progress() {
    let faults = "\n- at: 1m1.03s\n  podFailure: {jobset: train, jobIndex: 1, exitCode: 1}";
    let w = run(scenario(&text(faults, "")));
    let s = summary(&w);
    assert_eq!((s.lost_work_ms, s.progress_ms), (0, 10 * 3_600_000));
    assert_eq!(jobset_sim::cli::summarize(&w).jobsets[0].restarts, 1);
}

#[test]
fn restore_cost_delays_progress_after_the_gang_is_ready_again() {
    let faults = "\n- at: 1h30m\n  podFailure: {jobset: train, jobIndex: 0, exitCode: 1}";
    let a = run(scenario(&text(faults, "")));
    let b = run(scenario(&text(faults, "  restoreCost: 5m")));
    let ta = events(&a, "TrainingCompleted")[0].t;
    let tb = events(&b, "TrainingCompleted")[0].t;
    assert_eq!(tb - ta, 5 * 60_000, "restoreCost applies once, after the restart");
}

#[test]
fn checkpoint_cost_stalls_progress() {
    let a = run(scenario(&text("[]", "")));
    let b = run(scenario(&text("[]", "  checkpointCost: 1m")));
    let ta = events(&a, "TrainingCompleted")[0].t;
    let tb = events(&b, "TrainingCompleted")[0].t;
    assert_eq!(tb - ta, 9 * 60_000, "nine checkpoints of one minute each");
    assert!(summary(&b).goodput_ppm < summary(&a).goodput_ppm);
}

#[test]
fn the_llama3_scenario_scaled_down_completes_with_restarts() {
    // scenarios/llama3-54d.yaml with 1/8 of the nodes and a tenth of the work: same rules.
    let text = std::fs::read_to_string(repo().join("scenarios/llama3-54d.yaml"))
        .unwrap()
        .replace("count: 2112", "count: 264")
        .replace("replicas: 2048", "replicas: 256")
        .replace("work: 40d", "work: 4d")
        .replace("mtbf: 6334h", "mtbf: 792h");
    let w = run(scenario(&text));
    assert_expectations(&w, "llama3 scaled");
    let s = jobset_sim::cli::summarize(&w);
    assert!(s.jobsets[0].restarts >= 5, "restarts {}", s.jobsets[0].restarts);
    let t = s.jobsets[0].training.clone().unwrap();
    assert!(
        t.lost_work_ms > 0 && t.goodput_ppm > 800_000 && t.goodput_ppm < 1_000_000,
        "{t:?}"
    );
}
