//! Scenario tests, one per core feature, written from the spec.

use crate::util::*;

fn js_yaml(name: &str, spec_extra: &str, rjs: &str) -> String {
    format!(
        r#"
- inline:
    apiVersion: jobset.x-k8s.io/v1alpha2
    kind: JobSet
    metadata: {{name: {name}}}
    spec:
{spec_extra}
      replicatedJobs:
{rjs}"#
    )
}

const CLUSTER: &str = r#"
cluster:
  nodePools: [{name: n, count: 8, capacity: {cpu: "8", memory: 32Gi}}]
timing: {podStartup: 2s, podReady: 1s, podTermination: 3s}
"#;

fn rj(name: &str, replicas: u32, par: u32) -> String {
    format!(
        "      - name: {name}\n        replicas: {replicas}\n        template:\n          spec:\n            parallelism: {par}\n            completions: {par}\n            backoffLimit: 0\n            template:\n              spec:\n                containers: [{{name: c, image: x}}]\n"
    )
}

fn scen(body: &str) -> String {
    format!("name: t\n{CLUSTER}\n{body}")
}

#[test]
fn restart_jobset_recreates_every_job_with_the_next_attempt_label_and_clears_restarting() {
    // §5.6 and §25: decision, then foreground deletion, then recreation; JobsReady when all ready again.
    let text = scen(&format!(
        "jobsets:{}\nworkload:\n- {{match: {{replicatedJob: w, jobIndex: 1, restartAttempt: 0}}, runFor: 1m, exitCode: 1}}\n- {{runFor: 10m}}\nexpect:\n- jobset: js\n  terminalState: Completed\n  restarts: 1\n  restartsCountTowardsMax: 1\n  conditions:\n  - {{type: RestartingJobSet, status: \"False\", reason: JobSetCompleted, message: jobset completed successfully}}\n",
        js_yaml(
            "js",
            "      failurePolicy: {maxRestarts: 2}",
            &(rj("a", 1, 1) + &rj("w", 2, 2))
        )
    ));
    let w = run(scenario(&text));
    assert_expectations(&w, "restart");
    let restarting = events(&w, "JobSetRestarting");
    assert_eq!(restarting.len(), 1);
    assert_eq!(restarting[0].attempt, Some(1));
    // Every Job of attempt 0 is deleted; every Job of attempt 1 is created.
    let created1: Vec<_> = events(&w, "JobCreated")
        .into_iter()
        .filter(|e| e.restart_attempt == Some(1))
        .collect();
    assert_eq!(created1.len(), 3);
    let deleted0: Vec<_> = events(&w, "JobDeleted")
        .into_iter()
        .filter(|e| e.restart_attempt == Some(0))
        .collect();
    assert_eq!(deleted0.len(), 3);
    // Recreate: an index is recreated once its own old Job is gone (no waiting for the others).
    let del_a = deleted0
        .iter()
        .find(|e| e.job.as_deref() == Some("js-a-0"))
        .unwrap()
        .seq;
    let new_a = created1
        .iter()
        .find(|e| e.job.as_deref() == Some("js-a-0"))
        .unwrap()
        .seq;
    assert!(new_a > del_a);
    let ev: Vec<_> = events(&w, "Event")
        .into_iter()
        .map(|e| e.reason.clone().unwrap())
        .collect();
    assert!(ev.contains(&"DefaultFailurePolicy".to_string()));
    assert!(ev.contains(&"RestartJobSetFailurePolicyAction".to_string()));
    assert!(ev.contains(&"JobsReady".to_string()));
}

#[test]
fn blocking_recreate_creates_no_new_job_while_an_old_one_exists() {
    let text = scen(&format!(
        "jobsets:{}\nworkload:\n- {{match: {{replicatedJob: w, jobIndex: 0, restartAttempt: 0}}, runFor: 1m, exitCode: 1}}\n- {{runFor: 10m}}\n",
        js_yaml(
            "js",
            "      failurePolicy: {maxRestarts: 2, restartStrategy: BlockingRecreate}",
            &(rj("a", 1, 1) + &rj("w", 2, 2))
        )
    ));
    let w = run(scenario(&text));
    let last_old_gone = events(&w, "JobDeleted")
        .iter()
        .filter(|e| e.restart_attempt == Some(0))
        .map(|e| e.seq)
        .max()
        .unwrap();
    let first_new = events(&w, "JobCreated")
        .iter()
        .filter(|e| e.restart_attempt == Some(1))
        .map(|e| e.seq)
        .min()
        .unwrap();
    assert!(
        first_new > last_old_gone,
        "BlockingRecreate: attempt 1 starts after attempt 0 is gone"
    );
    assert_eq!(events(&w, "JobSetCompleted").len(), 1);
}

#[test]
fn depends_on_complete_then_ready_gates_creation() {
    let rjs = format!(
        "{}{}{}",
        rj("init", 1, 1),
        rj("launcher", 1, 1).replace(
            "        replicas: 1\n",
            "        replicas: 1\n        dependsOn: [{name: init, status: Complete}]\n"
        ),
        rj("worker", 2, 1).replace(
            "        replicas: 2\n",
            "        replicas: 2\n        dependsOn: [{name: launcher, status: Ready}]\n"
        ),
    );
    let text = scen(&format!(
        "jobsets:{}\nworkload:\n- {{match: {{replicatedJob: init}}, runFor: 30s}}\n- {{runFor: 5m}}\nexpect:\n- order:\n    first: {{event: JobCompleted, replicatedJob: init}}\n    then: {{event: JobCreated, replicatedJob: launcher}}\n- order:\n    first: {{event: PodReady, replicatedJob: launcher}}\n    then: {{event: JobCreated, replicatedJob: worker}}\n- jobset: js\n  terminalState: Completed\n",
        js_yaml("js", "", &rjs)
    ));
    let w = run(scenario(&text));
    assert_expectations(&w, "dependsOn");
}

#[test]
fn in_order_startup_sets_in_progress_then_completed() {
    let text = scen(&format!(
        "jobsets:{}\nworkload:\n- {{runFor: 5m}}\nexpect:\n- order:\n    first: {{event: PodReady, replicatedJob: driver}}\n    then: {{event: JobCreated, replicatedJob: workers}}\n- jobset: js\n  at: 2m\n  conditions:\n  - {{type: StartupPolicyCompleted, status: \"True\", reason: InOrderStartupPolicyCompleted, message: in order startup policy has completed}}\n  - {{type: StartupPolicyInProgress, status: \"False\", reason: InOrderStartupPolicyInProgress}}\n",
        js_yaml(
            "js",
            "      startupPolicy: {startupPolicyOrder: InOrder}",
            &(rj("driver", 1, 1) + &rj("workers", 2, 2))
        )
    ));
    let w = run(scenario(&text));
    assert_expectations(&w, "InOrder");
}

#[test]
fn ttl_after_finished_deletes_the_jobset_and_its_children() {
    let text = scen(&format!(
        "jobsets:{}\nworkload:\n- {{runFor: 1m}}\nexpect:\n- jobset: js\n  at: 1m30s\n  terminalState: Completed\n  exists: true\n- jobset: js\n  exists: false\n- event: {{event: JobSetDeleted, jobset: js}}\n  count: 1\n  from: 2m\n  to: 2m30s\n",
        js_yaml("js", "      ttlSecondsAfterFinished: 60", &rj("a", 2, 1))
    ));
    let w = run(scenario(&text));
    assert_expectations(&w, "ttl");
    assert_eq!(
        events(&w, "JobDeleted").len(),
        2,
        "children go with the JobSet (foreground)"
    );
    assert_eq!(events(&w, "ServiceDeleted").len(), 1);
}

#[test]
fn a_deleted_child_service_and_job_are_recreated_without_a_restart() {
    let text = scen(&format!(
        "jobsets:{}\nworkload:\n- {{runFor: 10m}}\nfaults:\n- at: 1m\n  deleteObject: {{kind: Service, name: js}}\n- at: 2m\n  deleteObject: {{kind: Job, name: js-a-1}}\nexpect:\n- jobset: js\n  at: 3m\n  services: [js]\n  jobs: [{{name: js-a-1, labels: {{jobset.sigs.k8s.io/restart-attempt: \"0\"}}}}]\n  restarts: 0\n- event: {{event: ServiceCreated}}\n  count: 2\n- event: {{event: JobCreated, job: js-a-1}}\n  count: 2\n",
        js_yaml("js", "", &rj("a", 2, 1))
    ));
    let w = run(scenario(&text));
    assert_expectations(&w, "recreate children");
}

#[test]
fn an_immutable_field_update_is_rejected_and_traced() {
    let text = scen(&format!(
        "jobsets:{}\nworkload:\n- {{runFor: 10m}}\nfaults:\n- at: 1m\n  update: {{jobset: js, patch: {{spec: {{replicatedJobs: [{{name: a, replicas: 5, template: {{spec: {{template: {{spec: {{containers: [{{name: c}}]}}}}}}}}}}]}}}}}}\nexpect:\n- event: {{event: UpdateRejected, jobset: js}}\n  count: 1\n- validationError: {{contains: \"field is immutable\", jobset: js}}\n",
        js_yaml("js", "", &rj("a", 2, 1))
    ));
    let w = run(scenario(&text));
    assert_expectations(&w, "immutable");
}

#[test]
fn a_rejected_submission_is_a_trace_event_and_a_validation_error() {
    let bad = js_yaml(
        "js",
        "      successPolicy: {operator: All, targetReplicatedJobs: [nope]}",
        &rj("a", 1, 1),
    );
    let text = scen(&format!(
        "jobsets:{bad}\nexpect:\n- validationError: {{contains: \"does not appear in .spec.ReplicatedJobs\"}}\n- event: {{event: JobSetRejected, jobset: js}}\n  count: 1\n- jobset: js\n  exists: false\n"
    ));
    let w = run(scenario(&text));
    assert_expectations(&w, "rejected");
}

#[test]
fn unschedulable_pods_wait_visibly_and_bind_when_capacity_frees() {
    // 3 pods of 6 cpu on 2 nodes of 8 cpu: one waits until a pod finishes.
    let text = format!(
        "name: t\ncluster:\n  nodePools: [{{name: n, count: 2, capacity: {{cpu: \"8\", memory: 32Gi}}}}]\njobsets:{}\nworkload:\n- {{match: {{podIndex: 0}}, runFor: 1m}}\n- {{runFor: 10m}}\nexpect:\n- event: {{event: PodUnschedulable}}\n  count: 1\n- jobset: js\n  terminalState: Completed\n",
        js_yaml(
            "js",
            "",
            &rj("a", 1, 3).replace(
                "containers: [{name: c, image: x}]",
                "containers: [{name: c, image: x, resources: {requests: {cpu: \"6\"}}}]"
            )
        )
    );
    let w = run(scenario(&text));
    assert_expectations(&w, "unschedulable");
    let u = events(&w, "PodUnschedulable");
    assert_eq!(
        u[0].message.as_deref(),
        Some("0/2 nodes are available: 2 Insufficient cpu.")
    );
    assert_eq!(events(&w, "PodScheduled").len(), 3);
}

#[test]
fn a_recovered_node_takes_pods_again() {
    let text = format!(
        "name: t\ncluster:\n  nodePools: [{{name: n, count: 1, capacity: {{cpu: \"8\", memory: 32Gi}}}}]\njobsets:{}\nworkload:\n- {{runFor: 10m}}\nfaults:\n- at: 1m\n  nodeFailure: {{node: n-0, recoverAfter: 5m}}\nexpect:\n- event: {{event: NodeRecovered, node: n-0}}\n  count: 1\n- jobset: js\n  terminalState: Completed\n  restarts: 1\n",
        js_yaml("js", "      failurePolicy: {maxRestarts: 1}", &rj("a", 1, 1))
    );
    let w = run(scenario(&text));
    assert_expectations(&w, "node recovery");
    let bound: Vec<_> = events(&w, "PodScheduled")
        .into_iter()
        .filter(|e| e.restart_attempt == Some(1))
        .collect();
    assert!(
        bound[0].t >= 6 * 60_000,
        "the replacement waits for the node to recover"
    );
}

#[test]
fn generate_name_gets_a_seeded_suffix() {
    let text = scen(
        &js_yaml("x", "", &rj("a", 1, 1))
            .replace("metadata: {name: x}", "metadata: {generateName: train-}")
            .replace("\n- inline", "jobsets:\n- inline"),
    );
    let w = run(scenario(&text));
    let created = events(&w, "JobSetCreated");
    let name = created[0].jobset.clone().unwrap();
    assert!(name.starts_with("train-") && name.len() == 11, "{name}");
}

#[test]
fn a_run_over_its_event_budget_stops_with_a_clear_reason() {
    let text = scen(&format!(
        "maxEvents: 10\njobsets:{}\n",
        js_yaml("js", "", &rj("a", 1, 1))
    ));
    let w = run(scenario(&text));
    assert_eq!(w.stop, Some(jobset_sim::sim::StopReason::MaxEvents));
    assert_eq!(w.events_processed, 10);
}

#[test]
fn the_horizon_stops_the_clock() {
    let text = scen(&format!(
        "horizon: 5m\njobsets:{}\nworkload:\n- {{runFor: 1h}}\n",
        js_yaml("js", "", &rj("a", 1, 1))
    ));
    let w = run(scenario(&text));
    assert_eq!(w.stop, Some(jobset_sim::sim::StopReason::Horizon));
    assert!(w.now <= 5 * 60_000);
}

#[test]
fn a_higher_priority_pod_preempts_a_lower_priority_one() {
    let lp = rj("w", 1, 2)
        .replace("backoffLimit: 0", "backoffLimit: 10")
        .replace("containers: [{name: c, image: x}]", "priorityClassName: low\n                containers: [{name: c, image: x, resources: {requests: {cpu: \"6\"}}}]");
    let hp = rj("w", 1, 1).replace("containers: [{name: c, image: x}]", "priorityClassName: high\n                containers: [{name: c, image: x, resources: {requests: {cpu: \"6\"}}}]");
    let text = format!(
        "name: t\ncluster:\n  nodePools: [{{name: n, count: 2, capacity: {{cpu: \"8\", memory: 32Gi}}}}]\n  priorityClasses: [{{name: low, value: 1}}, {{name: high, value: 100}}]\njobsets:{}{}\nworkload:\n- {{runFor: 30m}}\nexpect:\n- event: {{event: PodPreempted, jobset: lp, reason: PreemptionByScheduler}}\n  count: 1\n- order:\n    first: {{event: PodPreempted}}\n    then: {{event: PodScheduled, jobset: hp}}\n- jobset: hp\n  terminalState: Completed\n- jobset: lp\n  terminalState: Completed\n",
        js_yaml("lp", "", &lp),
        js_yaml("hp", "", &hp)
            .replace("- inline:", "  at: 5m\n  inline:")
            .replacen("\n  at: 5m\n  inline:", "\n- at: 5m\n  inline:", 1)
    );
    let w = run(scenario(&text));
    assert_expectations(&w, "preemption");
    let unsched = events(&w, "PodUnschedulable");
    assert!(
        unsched.iter().any(|e| e.jobset.as_deref() == Some("lp")),
        "the replacement of the victim waits for room"
    );
}

#[test]
fn an_unknown_priority_class_is_rejected_at_pod_creation() {
    let text = scen(&format!(
        "horizon: 2m\njobsets:{}\n",
        js_yaml(
            "js",
            "",
            &rj("a", 1, 1).replace(
                "containers: [{name: c, image: x}]",
                "priorityClassName: nope\n                containers: [{name: c, image: x}]"
            )
        )
    ));
    let w = run(scenario(&text));
    let ev = events(&w, "Event");
    assert!(ev.iter().any(|e| {
        e.reason.as_deref() == Some("FailedCreate")
            && e.message
                .as_deref()
                .is_some_and(|m| m.contains("no PriorityClass with name nope was found"))
    }));
    assert!(events(&w, "PodCreated").is_empty());
}
