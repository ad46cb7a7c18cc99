//! Kubernetes Job controller behaviour that JobSet depends on (spec/kubernetes-job.md §1).

use crate::util::*;

const BASE: &str = r#"
name: jc
cluster:
  nodePools: [{name: n, count: 8, capacity: {cpu: "8", memory: 32Gi}}]
timing: {podStartup: 1s, podReady: 1s, podTermination: 5s}
jobsets:
- inline:
    apiVersion: jobset.x-k8s.io/v1alpha2
    kind: JobSet
    metadata: {name: js}
    spec:
      replicatedJobs:
      - name: w
        template:
          spec:
            parallelism: PAR
            completions: PAR
            backoffLimit: LIMIT
            template:
              spec:
                restartPolicy: POLICY
                containers: [{name: c, image: x}]
"#;

fn base(par: u32, limit: u32, policy: &str) -> String {
    BASE.replace("PAR", &par.to_string())
        .replace("LIMIT", &limit.to_string())
        .replace("POLICY", policy)
}

#[test]
fn never_with_backoff_limit_n_allows_n_failed_pods_and_fails_on_the_next() {
    // Index 0 fails every time it runs; backoffLimit 2 ⇒ 3 failed pods, then BackoffLimitExceeded.
    let text = base(1, 2, "Never") + "workload:\n- {runFor: 10s, exitCode: 1}\n";
    let w = run(scenario(&text));
    assert_eq!(events(&w, "PodFailed").len(), 3);
    let failed = events(&w, "JobFailed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].reason.as_deref(), Some("BackoffLimitExceeded"));
    // Recreation backoff: 10 s after the first failure, 20 s after the second (plus the 1 s sync batch).
    let created: Vec<u64> = events(&w, "PodCreated").iter().map(|e| e.t).collect();
    assert_eq!(created.len(), 3);
    assert!(created[1] - created[0] >= 10_000 + 12_000, "{created:?}");
    assert!(created[2] - created[1] >= 20_000 + 12_000, "{created:?}");
}

#[test]
fn on_failure_with_backoff_limit_zero_fails_at_the_first_container_restart() {
    let text =
        base(2, 0, "OnFailure") + "workload:\n- {match: {podIndex: 1}, runFor: 30s, exitCode: 3}\n- {runFor: 1h}\n";
    let w = run(scenario(&text));
    assert_eq!(
        events(&w, "ContainerRestarted").len(),
        1,
        "the kubelet restarts in place first"
    );
    let ft = events(&w, "JobFailureTarget");
    let failed = events(&w, "JobFailed");
    assert_eq!(ft.len(), 1);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].reason.as_deref(), Some("BackoffLimitExceeded"));
    assert!(
        failed[0].t >= ft[0].t + 5_000,
        "Failed only after every pod terminated (podTermination 5s)"
    );
}

#[test]
fn complete_needs_every_index_and_sets_success_criteria_first() {
    let text = base(3, 0, "Never") + "workload:\n- {runFor: 1m}\n";
    let w = run(scenario(&text));
    let scm = events(&w, "JobSuccessCriteriaMet");
    let done = events(&w, "JobCompleted");
    assert_eq!((scm.len(), done.len()), (1, 1));
    assert!(scm[0].seq < done[0].seq);
    assert_eq!(events(&w, "JobSetCompleted").len(), 1);
}

#[test]
fn job_failure_reaches_the_jobset_only_after_the_terminal_condition() {
    let text = base(2, 0, "Never") + "workload:\n- {match: {podIndex: 0}, runFor: 1m, exitCode: 1}\n- {runFor: 1h}\n";
    let w = run(scenario(&text));
    let failed = events(&w, "JobFailed")[0].t;
    let js_failed = events(&w, "JobSetFailed")[0].t;
    assert!(js_failed > failed);
    assert_eq!(events(&w, "JobSetFailed")[0].reason.as_deref(), Some("FailedJobs"));
}

fn with_spec(par: u32, extra: &str, workload: &str) -> String {
    let text = base(par, 0, "Never").replace(
        "            backoffLimit: 0\n",
        &format!("            backoffLimit: 0\n{extra}"),
    );
    format!("{text}workload:\n{workload}")
}

#[test]
fn pod_failure_policy_fail_job_on_exit_code_names_container_pod_and_rule_index() {
    let text = with_spec(
        2,
        "            podFailurePolicy:\n              rules:\n              - {action: Ignore, onExitCodes: {operator: In, values: [7]}}\n              - {action: FailJob, onExitCodes: {containerName: c, operator: In, values: [42]}}\n",
        "- {match: {podIndex: 1}, runFor: 1m, exitCode: 42}\n- {runFor: 1h}\n",
    );
    let w = run(scenario(&text));
    let f = events(&w, "JobFailed");
    assert_eq!(f[0].reason.as_deref(), Some("PodFailurePolicy"));
    let msg = f[0].message.clone().unwrap();
    assert!(msg.starts_with("Container c for pod default/js-w-0-1-"), "{msg}");
    assert!(
        msg.ends_with("failed with exit code 42 matching FailJob rule at index 1"),
        "{msg}"
    );
}

#[test]
fn pod_failure_policy_ignore_does_not_count_towards_backoff_limit() {
    // Index 0 exits 7 on its first two runs (ignored), then succeeds; backoffLimit 0 is never reached.
    let text = with_spec(
        1,
        "            podFailurePolicy:\n              rules:\n              - {action: Ignore, onExitCodes: {operator: In, values: [7]}}\n",
        "- {runFor: 30s, exitCode: 7}\n",
    );
    let mut sc = (*scenario(&text)).clone();
    sc.horizon = 20 * 60_000;
    let w = run(std::sync::Arc::new(sc));
    assert!(
        events(&w, "PodFailed").len() >= 3,
        "ignored failures keep being replaced"
    );
    assert!(
        events(&w, "JobFailed").is_empty(),
        "ignored failures never fail the Job"
    );
}

#[test]
fn backoff_limit_per_index_fails_only_that_index_then_failed_indexes() {
    // Index 1 always fails; backoffLimitPerIndex 1 ⇒ two attempts of index 1, other indexes succeed,
    // and the Job fails with FailedIndexes once every index is done.
    let text = with_spec(
        3,
        "            completionMode: Indexed\n            backoffLimitPerIndex: 1\n",
        "- {match: {podIndex: 1}, runFor: 10s, exitCode: 1}\n- {runFor: 2m}\n",
    )
    .replace("            backoffLimit: 0\n", "");
    let w = run(scenario(&text));
    let idx1 = events(&w, "PodCreated")
        .iter()
        .filter(|e| e.pod_index == Some(1))
        .count();
    assert_eq!(idx1, 2, "backoffLimitPerIndex: 1 allows one retry of the index");
    let f = events(&w, "JobFailed");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].reason.as_deref(), Some("FailedIndexes"));
    assert_eq!(f[0].message.as_deref(), Some("Job has failed indexes"));
    assert_eq!(events(&w, "PodSucceeded").len(), 2, "the other indexes ran to success");
}

#[test]
fn max_failed_indexes_exceeded_fails_the_job_early() {
    let text = with_spec(
        4,
        "            completionMode: Indexed\n            backoffLimitPerIndex: 0\n            maxFailedIndexes: 1\n",
        "- {match: {podIndex: 1}, runFor: 10s, exitCode: 1}\n- {match: {podIndex: 2}, runFor: 20s, exitCode: 1}\n- {runFor: 1h}\n",
    )
    .replace("            backoffLimit: 0\n", "");
    let w = run(scenario(&text));
    let f = events(&w, "JobFailed");
    assert_eq!(f[0].reason.as_deref(), Some("MaxFailedIndexesExceeded"));
    assert_eq!(
        f[0].message.as_deref(),
        Some("Job has exceeded the specified maximal number of failed indexes")
    );
}

#[test]
fn fail_index_marks_the_index_failed_at_once() {
    let text = with_spec(
        2,
        "            completionMode: Indexed\n            backoffLimitPerIndex: 5\n            podFailurePolicy:\n              rules:\n              - {action: FailIndex, onExitCodes: {operator: In, values: [3]}}\n",
        "- {match: {podIndex: 0}, runFor: 10s, exitCode: 3}\n- {runFor: 1m}\n",
    )
    .replace("            backoffLimit: 0\n", "");
    let w = run(scenario(&text));
    assert_eq!(
        events(&w, "PodCreated")
            .iter()
            .filter(|e| e.pod_index == Some(0))
            .count(),
        1
    );
    assert_eq!(events(&w, "JobFailed")[0].reason.as_deref(), Some("FailedIndexes"));
}

#[test]
fn active_deadline_seconds_fails_with_deadline_exceeded() {
    let text = with_spec(1, "            activeDeadlineSeconds: 90\n", "- {runFor: 1h}\n");
    let w = run(scenario(&text));
    let ft = events(&w, "JobFailureTarget");
    assert_eq!(ft[0].reason.as_deref(), Some("DeadlineExceeded"));
    let f = events(&w, "JobFailed");
    assert_eq!(
        f[0].message.as_deref(),
        Some("Job was active longer than specified deadline")
    );
    assert!(
        ft[0].t >= 90_000 && ft[0].t < 95_000,
        "at startTime + 90 s, got {}",
        ft[0].t
    );
}
