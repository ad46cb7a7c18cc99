//! Unit tests of the lifecycle reconcile steps, written from
//! `../shared/spec/jobset-controller.md` §15 (PVCs), §16.1 (in-place restart)
//! and §17 (elastic scaling).

use super::jobset::*;
use super::jobset_tests::{cond, input, job, succeeded};
use super::lifecycle::*;
use crate::api::JobSet;
use crate::api::constants::*;
use crate::scenario::Gates;

fn admitted(yaml: &str, gates: Gates) -> JobSet {
    let v = &crate::input::parse_yaml_documents(yaml).unwrap()[0];
    let mut d = crate::input::Diags::default();
    let mut js = JobSet::parse(v, &mut d).unwrap();
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    crate::admission::admit_create(&mut js, &gates, &|_, _| None).unwrap_or_else(|r| panic!("{}", r.message));
    js.metadata.namespace = "default".into();
    js
}

const PVC_JS: &str = r#"
apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata: {name: train}
spec:
  volumeClaimPolicies:
  - templates:
    - metadata: {name: data, labels: {team: a}, annotations: {note: x}}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
  - templates:
    - metadata: {name: ckpt}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
    retentionPolicy: {whenDeleted: Retain}
  replicatedJobs:
  - name: init
    template: {spec: {template: {spec: {containers: [{name: c, volumeMounts: [{name: data, mountPath: /d}]}]}}}}
  - name: node
    template: {spec: {template: {spec: {
      initContainers: [{name: i, volumeMounts: [{name: ckpt, mountPath: /c}]}],
      containers: [{name: c, volumeMounts: [{name: data, mountPath: /d}]}]}}}}
"#;

#[test]
fn pvcs_are_named_template_dash_jobset_labelled_and_owned_only_under_delete() {
    // §15, §1.3 (GeneratePVCName), §22.28: owner reference iff whenDeleted is Delete.
    let js = admitted(PVC_JS, Gates::default());
    let pvcs = desired_pvcs(&js);
    assert_eq!(pvcs.len(), 2);
    assert_eq!(pvcs[0].name, "data-train");
    assert_eq!(pvcs[0].labels.get("team").map(String::as_str), Some("a"));
    assert_eq!(pvcs[0].labels.get(JOBSET_NAME_KEY).map(String::as_str), Some("train"));
    assert_eq!(pvcs[0].annotations.get("note").map(String::as_str), Some("x"));
    assert!(pvcs[0].owned, "the webhook defaults retentionPolicy to Delete");
    assert_eq!(pvcs[1].name, "ckpt-train");
    assert!(!pvcs[1].owned, "Retain PVCs get no owner reference");
    assert_eq!(pvcs[1].spec["accessModes"][0], "ReadWriteOnce");
}

#[test]
fn only_mounted_templates_become_pod_volumes_including_init_container_mounts() {
    // §1.5 step 4 (addVolumes).
    let js = admitted(PVC_JS, Gates::default());
    let mut init = js.spec.replicated_jobs[0].template.spec.template.spec.clone();
    add_pvc_volumes(&js, &mut init);
    assert_eq!(pvc_volumes(&init), vec![("data".to_string(), "data-train".to_string())]);
    let mut node = js.spec.replicated_jobs[1].template.spec.template.spec.clone();
    add_pvc_volumes(&js, &mut node);
    assert_eq!(
        pvc_volumes(&node),
        vec![
            ("data".to_string(), "data-train".to_string()),
            ("ckpt".to_string(), "ckpt-train".to_string())
        ]
    );
}

#[test]
fn pvcs_are_created_in_non_terminal_reconciles_only() {
    // R11 runs after R8/R9 and never in a finished JobSet (R5).
    let js = admitted(PVC_JS, Gates::default());
    let plan = reconcile(&input(&js, vec![]));
    assert!(plan.create_pvcs);
    let mut done = js.clone();
    done.status.conditions.push(crate::api::Condition {
        type_: COND_COMPLETED.into(),
        status: "True".into(),
        reason: REASON_ALL_JOBS_COMPLETED.into(),
        message: MSG_ALL_JOBS_COMPLETED.into(),
        last_transition_time: 1_000,
    });
    assert!(!reconcile(&input(&done, vec![])).create_pvcs);
    // A reconcile that completes the JobSet (R9) returns before R11.
    let jobs = vec![
        succeeded(job(0, "train-init-0", "init", 0)),
        succeeded(job(1, "train-node-0", "node", 0)),
    ];
    let plan = reconcile(&input(&js, jobs));
    assert!(cond(&plan, COND_COMPLETED).is_some());
    assert!(!plan.create_pvcs);
}

const ELASTIC_JS: &str = r#"
apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata: {name: js}
spec:
  replicatedJobs:
  - name: w
    replicas: 2
    template: {spec: {parallelism: 4, completions: 4, template: {spec: {containers: [{name: c}]}}}}
  - name: x
    template: {spec: {parallelism: 2, completions: 3, template: {spec: {containers: [{name: c}]}}}}
"#;

#[test]
fn elastic_scaling_patches_unfinished_jobs_to_equal_template_values_only_with_the_gate() {
    // §17: only templates with parallelism == completions propagate; finished Jobs are untouched.
    let gates = Gates {
        elastic_jobset: true,
        ..Default::default()
    };
    let js = admitted(ELASTIC_JS, gates);
    let mut w0 = job(0, "js-w-0", "w", 0);
    w0.parallelism = 2;
    w0.completions = Some(2);
    let mut w1 = succeeded(job(1, "js-w-1", "w", 1));
    w1.parallelism = 2;
    w1.completions = Some(2);
    let mut x0 = job(2, "js-x-0", "x", 0);
    x0.parallelism = 1;
    x0.completions = Some(1);
    let jobs = vec![w0, w1, x0];
    let mut inp = input(&js, jobs.clone());
    inp.gates = gates;
    let plan = reconcile(&inp);
    assert_eq!(plan.scale_jobs, vec![(0, Some(4), Some(4))]);
    let plan = reconcile(&input(&js, jobs));
    assert!(plan.scale_jobs.is_empty(), "ElasticJobSet off: no patch");
}

const IN_PLACE_JS: &str = r#"
apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata: {name: js}
spec:
  failurePolicy: {maxRestarts: 2, restartStrategy: InPlaceRestart}
  replicatedJobs:
  - name: rj
    replicas: 2
    template:
      spec:
        parallelism: 2
        completions: 2
        backoffLimit: 2147483647
        podReplacementPolicy: Failed
        template: {spec: {containers: [{name: c}]}}
"#;

fn in_place_gates() -> Gates {
    Gates {
        in_place_restart: true,
        ..Default::default()
    }
}

fn pod(attempt: Option<i32>, restarts: i32) -> PodView {
    PodView {
        failed: false,
        attempt,
        restart_count: restarts,
    }
}

fn run_in_place(js: &JobSet, pods: &[PodView]) -> (crate::api::JobSetStatus, InPlaceOutcome, Vec<KEvent>) {
    let mut st = js.status.clone();
    let mut events = Vec::new();
    let o = reconcile_in_place(js, &mut st, pods, 7_000, &mut events).unwrap();
    (st, o, events)
}

#[test]
fn every_expected_pod_at_the_same_attempt_makes_it_current() {
    // §16.1 steps 4-5: expected pods = Σ replicas × parallelism = 4.
    let js = admitted(IN_PLACE_JS, in_place_gates());
    let (st, o, ev) = run_in_place(&js, &[pod(Some(0), 0); 4]);
    assert_eq!(o, InPlaceOutcome::Current(0));
    assert_eq!(st.current_in_place_restart_attempt, Some(0));
    assert!(ev.is_empty(), "in-place restarts emit no events");
    // Three of four reporting is not enough, and attempt 0 is no restart (step 6).
    let (st, o, _) = run_in_place(&js, &[pod(Some(0), 0); 3]);
    assert_eq!(o, InPlaceOutcome::Nothing);
    assert_eq!(st.current_in_place_restart_attempt, None);
}

#[test]
fn a_pod_ahead_raises_previous_to_max_minus_one_and_never_lowers_it() {
    // §16.1 step 7, §22.31.
    let mut js = admitted(IN_PLACE_JS, in_place_gates());
    js.status.current_in_place_restart_attempt = Some(0);
    let pods = [pod(Some(1), 1), pod(Some(0), 0), pod(Some(0), 0), pod(Some(0), 0)];
    let (st, o, _) = run_in_place(&js, &pods);
    assert_eq!(o, InPlaceOutcome::Previous(0));
    assert_eq!(st.previous_in_place_restart_attempt, Some(0));
    assert_eq!(st.restarts, 0, "in-place restarts never change restarts");
    js.status.previous_in_place_restart_attempt = Some(1);
    let (st, o, _) = run_in_place(&js, &pods);
    assert_eq!(o, InPlaceOutcome::Nothing);
    assert_eq!(st.previous_in_place_restart_attempt, Some(1));
}

#[test]
fn failed_pods_do_not_report_attempts() {
    // §16.1 step 2: pods in phase Failed are ignored (their replacement reports instead).
    let js = admitted(IN_PLACE_JS, in_place_gates());
    let mut pods = vec![pod(Some(0), 0); 4];
    pods.push(PodView {
        failed: true,
        attempt: Some(5),
        restart_count: 0,
    });
    let (st, o, _) = run_in_place(&js, &pods);
    assert_eq!(o, InPlaceOutcome::Current(0));
    assert_eq!(st.previous_in_place_restart_attempt, None);
}

#[test]
fn too_many_container_restarts_or_attempts_fail_with_reached_max_restarts_without_suffix() {
    // §16.1 steps 1 and 3.
    let js = admitted(IN_PLACE_JS, in_place_gates());
    let (st, o, ev) = run_in_place(&js, &[pod(Some(1), 3), pod(Some(1), 0)]);
    assert_eq!(o, InPlaceOutcome::Failed);
    let c = crate::api::find_condition(&st.conditions, COND_FAILED).unwrap();
    assert_eq!(c.reason, REASON_REACHED_MAX_RESTARTS);
    assert_eq!(c.message, MSG_REACHED_MAX_RESTARTS);
    assert_eq!(st.terminal_state, "Failed");
    assert!(ev.iter().any(|e| e.reason == REASON_REACHED_MAX_RESTARTS));
    // Attempt 3 with no uncounted global restarts: 3 - 0 > 2.
    let (_, o, _) = run_in_place(&js, &[pod(Some(3), 2)]);
    assert_eq!(o, InPlaceOutcome::Failed);
    // One global restart not counted towards max lifts the attempt budget by one.
    let mut js2 = js.clone();
    js2.status.restarts = 1;
    let (_, o, _) = run_in_place(&js2, &[pod(Some(3), 2)]);
    assert_eq!(o, InPlaceOutcome::Previous(2));
}

#[test]
fn the_in_place_step_runs_only_with_the_gate_and_the_strategy() {
    // R15: gate off -> only logged.
    let js = admitted(IN_PLACE_JS, in_place_gates());
    let mut inp = input(&js, vec![]);
    inp.pods = vec![pod(Some(0), 0); 4];
    assert!(reconcile(&inp).in_place.is_none(), "gate off");
    inp.gates = in_place_gates();
    let plan = reconcile(&inp);
    assert_eq!(plan.in_place, Some(InPlaceOutcome::Current(0)));
    assert_eq!(plan.status.unwrap().current_in_place_restart_attempt, Some(0));
}

#[test]
fn elastic_scaling_also_runs_while_suspended() {
    // §17: R12 runs "also while suspended" (it precedes R14).
    let gates = Gates {
        elastic_jobset: true,
        ..Default::default()
    };
    let mut js = admitted(ELASTIC_JS, gates);
    js.spec.suspend = Some(true);
    let mut w0 = job(0, "js-w-0", "w", 0);
    w0.suspended = true;
    w0.parallelism = 2;
    w0.completions = Some(2);
    let mut inp = input(&js, vec![w0]);
    inp.gates = gates;
    let plan = reconcile(&inp);
    assert_eq!(plan.scale_jobs, vec![(0, Some(4), Some(4))]);
    assert!(plan.suspend_jobs.is_empty(), "already suspended");
}
