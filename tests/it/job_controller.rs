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
