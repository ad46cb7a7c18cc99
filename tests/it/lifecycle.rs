//! Lifecycle features, end to end, written from `../shared/spec/jobset-controller.md`:
//! volume claim policies (§15), elastic replicated Jobs (§17, webhook U1–U5),
//! in-place restart (§16), and the spec quirks of §7/§9/§10 (InOrder with
//! suspend, "started" counting finished Jobs, conditions never created False).

use crate::util::*;

const CLUSTER: &str = r#"
cluster:
  nodePools: [{name: n, count: 8, capacity: {cpu: "8", memory: 32Gi}}]
"#;

fn scen(body: &str) -> String {
    format!("name: t\n{CLUSTER}\n{body}")
}

fn pvc_jobset(name: &str, when_deleted: &str, extra: &str) -> String {
    format!(
        r#"
- inline:
    apiVersion: jobset.x-k8s.io/v1alpha2
    kind: JobSet
    metadata: {{name: {name}}}
    spec:
{extra}
      volumeClaimPolicies:
      - templates:
        - metadata: {{name: scratch}}
          spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}
      - templates:
        - metadata: {{name: ckpt}}
          spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}
        retentionPolicy: {{whenDeleted: {when_deleted}}}
      replicatedJobs:
      - name: w
        template:
          spec:
            template:
              spec:
                containers: [{{name: c, volumeMounts: [{{name: scratch, mountPath: /s}}, {{name: ckpt, mountPath: /c}}]}}]
"#
    )
}

#[test]
fn ttl_deletion_collects_owned_pvcs_and_keeps_retained_ones() {
    // §14 + §15 + §18: the foreground TTL delete removes the JobSet's owned objects, PVCs included.
    let text = scen(&format!(
        "jobsets:{}\nworkload:\n- {{runFor: 1m}}\n",
        pvc_jobset("js", "Retain", "      ttlSecondsAfterFinished: 30")
    ));
    let w = run(scenario(&text));
    assert!(w.jobset_id("default", "js").is_none(), "TTL deleted the JobSet");
    let names: Vec<&str> = w.pvcs.keys().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, vec!["ckpt-js"], "scratch-js (Delete) went with the JobSet");
    assert!(w.pvcs.values().all(|p| p.owner.is_none()));
    // Created once each, before the first Job; deleted after the last Job is gone, before the JobSet.
    let created = events(&w, "PersistentVolumeClaimCreated");
    assert_eq!(created.len(), 2);
    let first_job = events(&w, "JobCreated")[0].seq;
    assert!(created.iter().all(|e| e.seq < first_job));
    let deleted = events(&w, "PersistentVolumeClaimDeleted");
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].object.as_deref(), Some("PersistentVolumeClaim/scratch-js"));
    let last_job_gone = events(&w, "JobDeleted").last().unwrap().seq;
    let jobset_gone = events(&w, "JobSetDeleted")[0].seq;
    assert!(last_job_gone < deleted[0].seq && deleted[0].seq < jobset_gone);
}

#[test]
fn a_retained_pvc_is_reused_by_a_matching_jobset_and_rejects_a_delete_policy() {
    // §19 C9f/C9g: an existing PVC with the generated name must match the template spec and
    // the policy must be Retain; an accepted JobSet reuses it (AlreadyExists is ignored).
    let text = scen(&format!(
        "jobsets:{}{}{}\nworkload:\n- {{runFor: 1m}}\nfaults:\n- at: 5m\n  update: {{jobset: js, delete: true}}\n- at: 15m\n  update: {{jobset: js, delete: true}}\nexpect:\n- validationError: {{jobset: js, contains: \"retentionPolicy must be retain\"}}\n",
        pvc_jobset("js", "Retain", ""),
        pvc_jobset("js", "Retain", "").replace("- inline:", "- at: 10m\n  inline:"),
        pvc_jobset("js", "Delete", "").replace("- inline:", "- at: 20m\n  inline:"),
    ));
    let w = run(scenario(&text));
    assert_expectations(&w, "pvc reuse");
    let created: Vec<String> = events(&w, "PersistentVolumeClaimCreated")
        .iter()
        .map(|e| e.object.clone().unwrap())
        .collect();
    assert_eq!(
        created,
        vec![
            "PersistentVolumeClaim/scratch-js",
            "PersistentVolumeClaim/ckpt-js",
            "PersistentVolumeClaim/scratch-js",
        ],
        "the second submission creates only the PVC that was deleted with the first"
    );
    let rejected = events(&w, "JobSetRejected");
    assert_eq!(
        rejected.len(),
        1,
        "the 20m submission (whenDeleted: Delete) is rejected"
    );
    assert!(
        rejected[0]
            .message
            .as_deref()
            .unwrap()
            .contains("retentionPolicy must be retain")
    );
}

fn elastic_scenario(gate: bool, update: &str) -> String {
    scen(&format!(
        r#"featureGates: {{ElasticJobSet: {gate}}}
jobsets:
- inline:
    apiVersion: jobset.x-k8s.io/v1alpha2
    kind: JobSet
    metadata: {{name: js}}
    spec:
      replicatedJobs:
      - name: w
        template:
          spec:
            parallelism: 2
            completions: 2
            template:
              spec:
                containers: [{{name: c}}]
workload:
- runFor: 10m
faults:
- at: 1m
  update: {update}
"#
    ))
}

#[test]
fn without_the_gate_a_parallelism_change_is_rejected_as_immutable() {
    // §19: spec.replicatedJobs is immutable unless ElasticJobSet allows parallelism/completions.
    let w = run(scenario(&elastic_scenario(
        false,
        "{jobset: js, replicas: {replicatedJob: w, replicas: 4}}",
    )));
    let rej = events(&w, "UpdateRejected");
    assert_eq!(rej.len(), 1);
    assert!(
        rej[0].message.as_deref().unwrap().ends_with("field is immutable"),
        "{:?}",
        rej[0].message
    );
    assert!(events(&w, "JobScaled").is_empty());
    assert_eq!(events(&w, "PodCreated").len(), 2);
}

#[test]
fn with_the_gate_replicas_stay_immutable() {
    // §17: `replicas` remains immutable even with ElasticJobSet.
    let w = run(scenario(&elastic_scenario(
        true,
        "{jobset: js, patch: {spec: {replicatedJobs: [{name: w, replicas: 2, groupName: default, template: {spec: {parallelism: 2, completions: 2, completionMode: Indexed, template: {spec: {restartPolicy: OnFailure, containers: [{name: c}]}}}}}]}}}",
    )));
    let rej = events(&w, "UpdateRejected");
    assert_eq!(rej.len(), 1);
    assert!(rej[0].message.as_deref().unwrap().ends_with("field is immutable"));
    assert!(!w.job_names.contains("default", "js-w-1"));
}

#[test]
fn scale_up_creates_the_new_indexes_and_readiness_follows_the_patched_job() {
    // §17: the controller patches the child Job; R4 readiness uses the Job's own values.
    let text = elastic_scenario(true, "{jobset: js, replicas: {replicatedJob: w, replicas: 4}}")
        + "expect:\n- jobset: js\n  at: 1m\n  replicatedJobsStatus: {w: {ready: 1}}\n- jobset: js\n  at: 1m5s\n  replicatedJobsStatus: {w: {ready: 0, active: 1}}\n- jobset: js\n  at: 2m\n  replicatedJobsStatus: {w: {ready: 1}}\n- jobset: js\n  terminalState: Completed\n";
    let w = run(scenario(&text));
    assert_expectations(&w, "scale up");
    let scaled = events(&w, "JobScaled");
    assert_eq!(scaled.len(), 1);
    assert_eq!(
        scaled[0].message.as_deref(),
        Some("parallelism 2 -> 4, completions 2 -> 4")
    );
    let idx: Vec<i64> = events(&w, "PodCreated").iter().filter_map(|e| e.pod_index).collect();
    assert_eq!(idx, vec![0, 1, 2, 3]);
    // The new pods start at 1m and run 10 minutes: the Job completes after them.
    let done = events(&w, "JobSetCompleted")[0].t;
    assert!(done > 11 * 60_000, "completed at {done}");
}

#[test]
fn scale_down_removes_the_upper_indexes_without_failures() {
    // Job controller (elastic Indexed Jobs): indexes >= the new completions leave the Job;
    // their pods are deleted and not counted as failed; the Job completes with the rest.
    let text = elastic_scenario(true, "{jobset: js, replicas: {replicatedJob: w, replicas: 1}}");
    let w = run(scenario(&text));
    let deleted: Vec<i64> = events(&w, "PodDeleted")
        .iter()
        .filter(|e| e.t < 2 * 60_000)
        .filter_map(|e| e.pod_index)
        .collect();
    assert_eq!(deleted, vec![1]);
    assert!(events(&w, "JobFailed").is_empty());
    let jso = w.jobsets.get(w.jobset_id("default", "js").unwrap()).unwrap();
    assert_eq!(jso.js.status.terminal_state, "Completed");
    let s = jso.js.status.rj_status("w").unwrap();
    assert_eq!((s.succeeded, s.failed), (1, 0));
    // The Job completed when index 0 did (10m after it started), not later.
    let done = events(&w, "JobCompleted")[0].t;
    assert!(done < 11 * 60_000, "completed at {done}");
}

fn in_place_scenario(annotations: &str, faults: &str) -> String {
    scen(&format!(
        r#"featureGates: {{InPlaceRestart: true}}
timing: {{podStartup: 30s}}
jobsets:
- inline:
    apiVersion: jobset.x-k8s.io/v1alpha2
    kind: JobSet
    metadata: {{name: js{annotations}}}
    spec:
      failurePolicy: {{maxRestarts: 5, restartStrategy: InPlaceRestart}}
      replicatedJobs:
      - name: w
        replicas: 2
        template:
          spec:
            parallelism: 2
            completions: 2
            backoffLimit: 2147483647
            podReplacementPolicy: Failed
            template:
              spec:
                containers: [{{name: c, resources: {{requests: {{cpu: "8"}}}}}}]
workload:
- runFor: forever
faults:
{faults}"#
    ))
}

#[test]
fn an_in_place_restart_takes_a_fraction_of_a_second_and_recreates_nothing() {
    // §16: the crashed pod restarts in place, the others follow through `previous`, all meet at
    // the barrier at the next attempt; restarts stay 0, no Job or pod is deleted.
    let text = in_place_scenario(
        "",
        "- at: 5m\n  podFailure: {jobset: js, jobIndex: 1, podIndex: 1, exitCode: 3}\n",
    );
    let w = run(scenario(&text));
    let lifted: Vec<_> = events(&w, "InPlaceBarrierLifted")
        .into_iter()
        .filter(|e| e.attempt == Some(1))
        .collect();
    assert_eq!(lifted.len(), 4);
    let latency = lifted.iter().map(|e| e.t).max().unwrap() - 5 * 60_000;
    assert!(latency < 1_000, "barrier lifted {latency} ms after the crash");
    // Every pod restarted exactly once, and the JobSet controller moved previous to 0, current to 1.
    assert_eq!(events(&w, "ContainerRestarted").len(), 4);
    assert_eq!(
        events(&w, "InPlaceRestartExit").len(),
        3,
        "the three healthy pods' agents exit"
    );
    assert!(events(&w, "JobDeleted").is_empty() && events(&w, "PodDeleted").is_empty());
    let st = &w.jobsets.get(w.jobset_id("default", "js").unwrap()).unwrap().js.status;
    assert_eq!(st.restarts, 0);
    assert_eq!(st.previous_in_place_restart_attempt, Some(0));
    assert_eq!(st.current_in_place_restart_attempt, Some(1));
    // The barrier held the workload until every pod reported: no pod Ready before all reported 0.
    let reported0 = events(&w, "InPlaceAttemptReported")
        .into_iter()
        .filter(|e| e.attempt == Some(0))
        .map(|e| e.t)
        .max()
        .unwrap();
    assert!(events(&w, "PodReady").iter().all(|e| e.t > reported0));
}

#[test]
fn a_replacement_pod_makes_every_other_pod_restart_in_place() {
    // §16.2 cycle: a drained node's pod is replaced (podReplacementPolicy Failed); the new pod
    // reports current + 1, so `previous` rises and the healthy pods restart in place.
    let text = in_place_scenario("", "- at: 5m\n  nodeFailure: {node: n-0, mode: drain}\n");
    let w = run(scenario(&text));
    assert_eq!(events(&w, "PodCreated").len(), 5, "one replacement pod");
    let started = events(&w, "InPlaceRestartStarted");
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].attempt, Some(1));
    assert_eq!(events(&w, "InPlaceRestartExit").len(), 3);
    let st = &w.jobsets.get(w.jobset_id("default", "js").unwrap()).unwrap().js.status;
    assert_eq!(st.current_in_place_restart_attempt, Some(1));
    assert_eq!(st.restarts, 0);
}

#[test]
fn the_disable_annotation_bypasses_the_barrier() {
    // §16.2: with jobset.sigs.k8s.io/disable-in-place-restart the agent lifts its barrier at once.
    let text = in_place_scenario(
        ", annotations: {jobset.sigs.k8s.io/disable-in-place-restart: \"true\"}",
        "- at: 5m\n  podFailure: {jobset: js, jobIndex: 0, podIndex: 0, exitCode: 1}\n",
    );
    let w = run(scenario(&text));
    assert!(events(&w, "InPlaceAttemptReported").is_empty());
    assert!(events(&w, "InPlaceBarrierLifted").is_empty());
    assert_eq!(events(&w, "PodReady").len(), 5, "4 at start, the crashed one again");
    assert_eq!(events(&w, "ContainerRestarted").len(), 1, "nobody else restarts");
}

#[test]
fn an_in_place_restart_falls_back_to_the_last_checkpoint_in_the_training_model() {
    // The worker processes restart, so work since the last checkpoint is lost, as with Recreate,
    // but the gang is back within a second instead of after re-creation and podStartup.
    let text = in_place_scenario(
        "",
        "- at: 25m\n  podFailure: {jobset: js, jobIndex: 0, podIndex: 0, exitCode: 1}\n",
    )
    .replace(
        "workload:\n- runFor: forever\n",
        "training:\n- {jobset: js, work: 1h, checkpointEvery: 10m}\n",
    );
    let w = run(scenario(&text));
    let ts = &w.training["js"];
    assert!(ts.done);
    // Ready at 31 s, crash at 25 m: 24m29s of progress, checkpoint at 20m, so 4m29s lost.
    assert!((4 * 60_000..5 * 60_000).contains(&ts.lost), "lost {} ms", ts.lost);
    let done = events(&w, "TrainingCompleted")[0].t;
    let ideal = 60 * 60_000 + 31_000;
    assert!(
        done > ideal + ts.lost && done < ideal + ts.lost + 5_000,
        "completed at {done}"
    );
}

// ---------------------------------------------------------------- spec quirks

fn two_rj_jobset(spec_extra: &str) -> String {
    format!(
        r#"
- inline:
    apiVersion: jobset.x-k8s.io/v1alpha2
    kind: JobSet
    metadata: {{name: js}}
    spec:
{spec_extra}
      replicatedJobs:
      - name: a
        template: {{spec: {{template: {{spec: {{containers: [{{name: c}}]}}}}}}}}
      - name: b
        replicas: 2
        template: {{spec: {{template: {{spec: {{containers: [{{name: c}}]}}}}}}}}
"#
    )
}

#[test]
fn in_order_with_suspend_keeps_suspended_true_until_every_replicated_job_started() {
    // §25 (third timeline) and §9.2: created suspended, resumed at 1m; while `a` starts and `b`
    // waits, Suspended stays True (SuspendedJobs); it turns False (ResumeJobs) only in the
    // reconcile in which the resume walk gets past the last replicated Job.
    let text = scen(&format!(
        "timing: {{podStartup: 20s}}\njobsets:{}\nworkload:\n- {{runFor: 10m}}\nfaults:\n- at: 1m\n  update: {{jobset: js, suspend: false}}\nexpect:\n- jobset: js\n  at: 59s\n  conditions:\n  - {{type: Suspended, status: \"True\", reason: SuspendedJobs}}\n  absentConditions: [StartupPolicyInProgress, StartupPolicyCompleted]\n- jobset: js\n  at: 1m15s\n  conditions:\n  - {{type: Suspended, status: \"True\", reason: SuspendedJobs, message: jobset is suspended}}\n  - {{type: StartupPolicyInProgress, status: \"True\"}}\n  jobs:\n  - {{name: js-a-0, suspended: false}}\n  - {{name: js-b-0, suspended: true}}\n- jobset: js\n  at: 2m\n  conditions:\n  - {{type: Suspended, status: \"False\", reason: ResumeJobs, message: jobset is resumed}}\n  - {{type: StartupPolicyCompleted, status: \"True\"}}\n  - {{type: StartupPolicyInProgress, status: \"False\"}}\n- order:\n    first: {{event: PodReady, replicatedJob: a}}\n    then: {{event: JobResumed, replicatedJob: b}}\n- order:\n    first: {{event: PodReady, replicatedJob: b}}\n    then: {{event: JobSetResumed}}\n",
        two_rj_jobset("      suspend: true\n      startupPolicy: {startupPolicyOrder: InOrder}")
    ));
    let w = run(scenario(&text));
    assert_expectations(&w, "InOrder + suspend");
    assert_eq!(events(&w, "JobSetResumed").len(), 1);
}

#[test]
fn a_finished_job_counts_as_started_for_in_order() {
    // §4: "started" is ready + failed + succeeded == replicas: a replicated Job whose Job already
    // completed (never counted Ready by this JobSet) still lets the next one start.
    let text = scen(&format!(
        "timing: {{podReady: 5m}}\njobsets:{}\nworkload:\n- {{match: {{replicatedJob: a}}, runFor: 30s}}\n- {{runFor: 1m}}\nexpect:\n- jobset: js\n  terminalState: Completed\n",
        two_rj_jobset("      startupPolicy: {startupPolicyOrder: InOrder}")
    ));
    let w = run(scenario(&text));
    assert_expectations(&w, "finished counts as started");
    // `a`'s pod is never Ready (podReady 5m > its 30 s run), yet `b` is created once `a` completes.
    assert!(
        events(&w, "PodReady")
            .iter()
            .all(|e| e.replicated_job.as_deref() != Some("a"))
    );
    let a_done = events(&w, "JobCompleted")[0];
    assert_eq!(a_done.replicated_job.as_deref(), Some("a"));
    let b_created = events(&w, "JobCreated")
        .into_iter()
        .find(|e| e.replicated_job.as_deref() == Some("b"))
        .unwrap();
    assert!(b_created.seq > a_done.seq);
}

#[test]
fn conditions_that_never_became_true_are_never_created() {
    // §10.1, §22.19: every reconcile of a plain run writes Suspended=False (R14) and, once all
    // Jobs are ready, RestartingJobSet=False (R7); neither may create the condition.
    let text = scen(&format!(
        "jobsets:{}\nworkload:\n- {{runFor: 2m}}\nexpect:\n- jobset: js\n  at: 1m\n  absentConditions: [Suspended, RestartingJobSet, StartupPolicyInProgress, StartupPolicyCompleted, Completed, Failed]\n- jobset: js\n  terminalState: Completed\n  absentConditions: [Suspended, RestartingJobSet, StartupPolicyInProgress, StartupPolicyCompleted, Failed]\n",
        two_rj_jobset("")
    ));
    let w = run(scenario(&text));
    assert_expectations(&w, "no False conditions");
    let st = &w.jobsets.get(w.jobset_id("default", "js").unwrap()).unwrap().js.status;
    assert_eq!(st.conditions.len(), 1);
    assert_eq!(st.conditions[0].type_, "Completed");
}

#[test]
fn explain_lists_in_place_restarts() {
    let out = cli(&["explain", "scenarios/in-place-restart.yaml", "--jobset", "inplace"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[2],
        "10m0.02s  in-place restart: a pod reported attempt 1, so every pod at attempt 0 or below restarts in place (restarts unchanged)"
    );
    assert_eq!(lines[3], "10m0.05s  every pod reached attempt 1: barriers lifted");
    assert!(lines[4].starts_with("Completed at 40m1"), "{}", out.stdout);
}

#[test]
fn group_labels_count_replicas_within_the_group_in_spec_order() {
    // §1.4: group-replicas = Σ replicas of the group; job-group-index = replicas of earlier
    // replicated Jobs in the same group + job index; global values count every group.
    let text = scen(
        r#"jobsets:
- inline:
    apiVersion: jobset.x-k8s.io/v1alpha2
    kind: JobSet
    metadata: {name: js}
    spec:
      replicatedJobs:
      - {name: a, groupName: g1, replicas: 2, template: {spec: {template: {spec: {containers: [{name: c}]}}}}}
      - {name: b, groupName: g2, replicas: 1, template: {spec: {template: {spec: {containers: [{name: c}]}}}}}
      - {name: c, groupName: g1, replicas: 3, template: {spec: {template: {spec: {containers: [{name: c}]}}}}}
      - {name: d, replicas: 1, template: {spec: {template: {spec: {containers: [{name: c}]}}}}}
workload:
- runFor: 5m
expect:
- jobset: js
  at: 1m
  jobs:
  - name: js-c-1
    labels: {jobset.sigs.k8s.io/group-name: g1, jobset.sigs.k8s.io/group-replicas: "5",
             jobset.sigs.k8s.io/job-group-index: "3", jobset.sigs.k8s.io/global-replicas: "7",
             jobset.sigs.k8s.io/job-global-index: "4"}
    annotations: {jobset.sigs.k8s.io/group-name: g1, jobset.sigs.k8s.io/group-replicas: "5",
                  jobset.sigs.k8s.io/job-group-index: "3"}
  - name: js-b-0
    labels: {jobset.sigs.k8s.io/group-name: g2, jobset.sigs.k8s.io/group-replicas: "1",
             jobset.sigs.k8s.io/job-group-index: "0", jobset.sigs.k8s.io/job-global-index: "2"}
  - name: js-d-0
    labels: {jobset.sigs.k8s.io/group-name: default, jobset.sigs.k8s.io/group-replicas: "1",
             jobset.sigs.k8s.io/job-group-index: "0", jobset.sigs.k8s.io/job-global-index: "6"}
  pods:
  - job: js-c-2
    labels: {jobset.sigs.k8s.io/group-name: g1, jobset.sigs.k8s.io/job-group-index: "4"}
    annotations: {jobset.sigs.k8s.io/group-replicas: "5", jobset.sigs.k8s.io/job-group-index: "4"}
"#,
    );
    let w = run(scenario(&text));
    assert_expectations(&w, "group labels");
}
