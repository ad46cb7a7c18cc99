//! One test per invariant: run a tiny scenario part way with the checker on
//! (so the state before the corruption is known to be clean), corrupt the
//! world by hand, and assert that exact invariant fires. None can be vacuous.

use super::*;
use crate::api::Condition;
use crate::scenario::parse_scenario;
use crate::sim::{RunOptions, StopReason, World};
use std::path::Path;
use std::sync::Arc;

const HEAD: &str = r#"name: t
cluster:
  nodePools: [{name: n, count: 4, capacity: {cpu: "8", memory: 32Gi}}]
timing: {podStartup: 2s, podReady: 1s, podTermination: 3s}
"#;

/// A replicated Job of `replicas` Jobs with `par` pods each; `extra` goes after `replicas:`.
fn rj(name: &str, replicas: u32, par: u32, extra: &str) -> String {
    format!(
        "      - name: {name}\n        replicas: {replicas}\n{extra}        template:\n          spec:\n            parallelism: {par}\n            completions: {par}\n            backoffLimit: 0\n            template:\n              spec:\n                containers: [{{name: c, image: x}}]\n"
    )
}

/// A scenario with one JobSet `js`; `spec_extra` lines go under `spec:`, `rest` after the JobSet.
fn text(spec_extra: &str, rjs: &str, rest: &str) -> String {
    format!(
        "{HEAD}jobsets:\n- inline:\n    apiVersion: jobset.x-k8s.io/v1alpha2\n    kind: JobSet\n    metadata: {{name: js}}\n    spec:\n{spec_extra}      replicatedJobs:\n{rjs}{rest}"
    )
}

fn world(text: &str) -> World {
    let sc = Arc::new(parse_scenario(text, Path::new("inline-test.yaml")).unwrap_or_else(|e| panic!("{e}")));
    World::new(
        sc,
        RunOptions {
            check_invariants: true,
            ..Default::default()
        },
    )
}

/// Two replicated-Job `a` Jobs of two pods each, running 10 minutes; maxRestarts 2.
fn basic() -> World {
    let mut w = world(&text(
        "      failurePolicy: {maxRestarts: 2}\n",
        &rj("a", 2, 2, ""),
        "workload:\n- {runFor: 10m}\n",
    ));
    step_to(&mut w, 60_000);
    w
}

/// Like `basic` but the pods run 30 s: the JobSet is Completed after about a minute.
fn completed() -> World {
    let mut w = world(&text(
        "      failurePolicy: {maxRestarts: 2}\n",
        &rj("a", 2, 2, ""),
        "workload:\n- {runFor: 30s}\n",
    ));
    step_until(&mut w, |w| {
        w.jobset_id("default", "js")
            .and_then(|id| w.jobsets.get(id))
            .is_some_and(|j| j.js.status.terminal_state == "Completed")
    });
    // A few more events: the children finish their terminal bookkeeping.
    let t = w.now + 10_000;
    step_to(&mut w, t);
    w
}

/// Steps (the checker runs after each event) until `pred` holds.
fn step_until(w: &mut World, pred: impl Fn(&World) -> bool) {
    while !pred(w) {
        assert!(w.step(), "the run ended before the wanted state: {:?}", w.stop);
    }
}

/// Steps until the next event is after `t`.
fn step_to(w: &mut World, t: Millis) {
    while w.queue.peek_time().is_some_and(|x| x <= t) {
        assert!(w.step(), "stopped: {:?}", w.stop);
    }
}

fn js_id(w: &World) -> JobSetId {
    w.jobset_id("default", "js").expect("js exists")
}

fn js_mut(w: &mut World) -> &mut JobSetObj {
    let id = js_id(w);
    w.jobsets.get_mut(id).expect("exists")
}

fn job_id(w: &World, name: &str) -> JobId {
    w.job_names
        .get("default", name)
        .unwrap_or_else(|| panic!("Job {name} exists"))
}

fn job_mut<'a>(w: &'a mut World, name: &str) -> &'a mut JobObj {
    let id = job_id(w, name);
    w.jobs.get_mut(id).expect("exists")
}

/// The first running pod (Ready, bound), by id.
fn running_pod(w: &World) -> PodId {
    w.pods
        .iter()
        .find(|(_, p)| p.ready && p.node.is_some())
        .map(|(id, _)| id)
        .expect("a Ready pod")
}

/// Makes the checker treat Job `name` as created in the current event (so it
/// also re-reads the name indexes, which only change when objects come or go).
fn as_new(w: &mut World, name: &str) {
    let id = job_id(w, name);
    let c = w.invariants.as_mut().expect("checker on");
    c.job_watermark = id;
    c.last_uid = u64::MAX;
}

fn cond(type_: &str, status: &str) -> Condition {
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: "Test".into(),
        message: "hand-made".into(),
        last_transition_time: 0,
    }
}

/// Runs the checker and asserts `name` is among the violations.
fn fires(w: &mut World, name: &str) {
    assert!(INVARIANTS.iter().any(|i| i.0 == name), "{name} is listed");
    let mut c = w.invariants.take().expect("checker on");
    let found = c.check_all(w);
    w.invariants = Some(c);
    assert!(
        found.iter().any(|v| v.invariant == name),
        "expected {name} to fire; got {found:#?}"
    );
}

fn clean(w: &mut World) {
    let mut c = w.invariants.take().expect("checker on");
    let found = c.check_all(w);
    w.invariants = Some(c);
    assert!(found.is_empty(), "expected no violation; got {found:#?}");
}

// ---------------------------------------------------------------- JobSet status (§22)

#[test]
fn terminal_is_sticky() {
    let mut w = completed();
    clean(&mut w);
    let s = &mut js_mut(&mut w).js.status;
    s.conditions
        .iter_mut()
        .find(|c| c.type_ == "Completed")
        .unwrap()
        .message = "changed".into();
    fires(&mut w, "terminal-is-sticky");
}

#[test]
fn terminal_exclusive() {
    let mut w = completed();
    js_mut(&mut w).js.status.conditions.push(cond("Failed", "True"));
    fires(&mut w, "terminal-exclusive");
}

#[test]
fn terminal_state_mirrors_condition() {
    let mut w = basic();
    js_mut(&mut w).js.status.terminal_state = "Failed".into();
    fires(&mut w, "terminal-state-mirrors-condition");
}

#[test]
fn restarts_monotone() {
    let mut w = basic();
    let s = &mut js_mut(&mut w).js.status;
    s.restarts = 2;
    s.restarts_count_towards_max = 2;
    fires(&mut w, "restarts-monotone");
}

#[test]
fn counted_restarts_le_restarts() {
    let mut w = basic();
    js_mut(&mut w).js.status.restarts_count_towards_max = 1;
    fires(&mut w, "counted-restarts-le-restarts");
}

#[test]
fn restart_budget() {
    let mut w = basic();
    let s = &mut js_mut(&mut w).js.status;
    s.restarts = 3;
    s.restarts_count_towards_max = 3;
    fires(&mut w, "restart-budget");
}

#[test]
fn job_restart_counters() {
    let mut w = basic();
    let s = &mut js_mut(&mut w).js.status;
    s.replicated_jobs_status[0].job_restarts = vec![0];
    s.replicated_jobs_status[0].job_restarts_count_towards_max = vec![1];
    fires(&mut w, "job-restart-counters");
}

#[test]
fn no_policy_no_restarts() {
    let mut w = world(&text("", &rj("a", 1, 1, ""), "workload:\n- {runFor: 10m}\n"));
    step_to(&mut w, 60_000);
    js_mut(&mut w).js.status.restarts = 1;
    fires(&mut w, "no-policy-no-restarts");
}

#[test]
fn attempt_label_at_creation() {
    let mut w = basic();
    as_new(&mut w, "js-a-1");
    js_mut(&mut w).js.status.restarts = 1;
    fires(&mut w, "attempt-label-at-creation");
}

#[test]
fn attempt_le_restarts() {
    let mut w = basic();
    job_mut(&mut w, "js-a-0").stamp.as_mut().unwrap().restart_attempt = 5;
    fires(&mut w, "attempt-le-restarts");
}

#[test]
fn no_duplicate_creation() {
    let mut w = basic();
    clean(&mut w);
    let mut ev = w.jobset_event("Event", js_id(&w));
    ev.reason = Some(EVENT_JOB_CREATION_FAILED.into());
    ev.message = Some("job \"js-a-0\" creation failed with error: jobs.batch \"js-a-0\" already exists".into());
    w.emit(ev);
    fires(&mut w, "no-duplicate-creation");
}

#[test]
fn blocking_recreate_barrier() {
    let mut w = world(&text(
        "      failurePolicy: {maxRestarts: 2, restartStrategy: BlockingRecreate}\n",
        &rj("a", 2, 1, ""),
        "workload:\n- {runFor: 10m}\n",
    ));
    step_to(&mut w, 60_000);
    // js-a-0 looks like a Job of the next attempt created while js-a-1 (attempt 0) still exists.
    job_mut(&mut w, "js-a-0").stamp.as_mut().unwrap().restart_attempt = 1;
    fires(&mut w, "blocking-recreate-barrier");
}

#[test]
fn well_formed_children() {
    let mut w = basic();
    as_new(&mut w, "js-a-1");
    job_mut(&mut w, "js-a-1").stamp.as_mut().unwrap().job_index = 7;
    fires(&mut w, "well-formed-children");
}

#[test]
fn suspended_at_birth() {
    let mut w = basic();
    as_new(&mut w, "js-a-1");
    job_mut(&mut w, "js-a-1").suspend = true;
    fires(&mut w, "suspended-at-birth");
}

fn in_order() -> World {
    let mut w = world(&text(
        "      startupPolicy: {startupPolicyOrder: InOrder}\n",
        &(rj("driver", 1, 1, "") + &rj("workers", 2, 1, "")),
        "workload:\n- {runFor: 10m}\n",
    ));
    step_to(&mut w, 60_000);
    w
}

fn unstart_driver(w: &mut World) {
    let s = &mut js_mut(w).js.status;
    s.replicated_jobs_status
        .iter_mut()
        .find(|r| r.name == "driver")
        .unwrap()
        .ready = 0;
}

#[test]
fn in_order_creation() {
    let mut w = in_order();
    as_new(&mut w, "js-workers-1");
    unstart_driver(&mut w);
    fires(&mut w, "in-order-creation");
}

#[test]
fn in_order_resume() {
    let mut w = in_order();
    // The checker sees js-workers-1 suspended, then resumed while the driver has not started.
    job_mut(&mut w, "js-workers-1").suspend = true;
    remember(&mut w);
    job_mut(&mut w, "js-workers-1").suspend = false;
    unstart_driver(&mut w);
    fires(&mut w, "in-order-resume");
}

/// Runs the checker once so it remembers the (corrupted) state; violations are ignored.
fn remember(w: &mut World) {
    let mut c = w.invariants.take().expect("checker on");
    let _ = c.check_all(w);
    w.invariants = Some(c);
}

#[test]
fn depends_on_gating() {
    let mut w = world(&text(
        "",
        &(rj("launcher", 1, 1, "") + &rj("worker", 2, 1, "        dependsOn: [{name: launcher, status: Ready}]\n")),
        "workload:\n- {runFor: 10m}\n",
    ));
    step_until(&mut w, |w| w.job_names.contains("default", "js-worker-1"));
    clean(&mut w);
    as_new(&mut w, "js-worker-1");
    let s = &mut js_mut(&mut w).js.status;
    s.replicated_jobs_status
        .iter_mut()
        .find(|r| r.name == "launcher")
        .unwrap()
        .ready = 0;
    fires(&mut w, "depends-on-gating");
}

#[test]
fn startup_conditions_exclusive() {
    let mut w = basic();
    js_mut(&mut w)
        .js
        .status
        .conditions
        .push(cond("StartupPolicyInProgress", "True"));
    fires(&mut w, "startup-conditions-exclusive");
}

#[test]
fn one_condition_per_type() {
    let mut w = basic();
    js_mut(&mut w).js.status.conditions.push(cond("Suspended", "False"));
    fires(&mut w, "one-condition-per-type");
}

#[test]
fn restarting_consistent() {
    let mut w = basic();
    js_mut(&mut w)
        .js
        .status
        .conditions
        .push(cond("RestartingJobSet", "True"));
    fires(&mut w, "restarting-consistent");
}

#[test]
fn events_match_counters() {
    let mut w = basic();
    let s = &mut js_mut(&mut w).js.status;
    s.restarts = 1;
    s.restarts_count_towards_max = 1;
    fires(&mut w, "events-match-counters");
}

#[test]
fn status_shape() {
    let mut w = basic();
    js_mut(&mut w).js.status.replicated_jobs_status[0].succeeded = 5;
    fires(&mut w, "status-shape");
}

#[test]
fn cleanup_after_finish() {
    let mut w = completed();
    w.run();
    assert_eq!(w.stop, Some(StopReason::Quiescent));
    // A current-run Job that never finished and was never deleted, in a Completed JobSet.
    let j = job_mut(&mut w, "js-a-1");
    j.status.conditions.clear();
    fires(&mut w, "cleanup-after-finish");
}

#[test]
fn hands_off() {
    let mut w = basic();
    js_mut(&mut w).deletion = Some(Deletion {
        at: w.now,
        foreground: true,
    });
    remember(&mut w);
    js_mut(&mut w).js.status.replicated_jobs_status[0].ready = 1;
    fires(&mut w, "hands-off");
}

#[test]
fn service_singleton() {
    let mut w = basic();
    assert!(!w.services.is_empty(), "DNS hostnames are on by default");
    let owner = js_id(&w);
    w.services.insert(
        ("default".into(), "other".into()),
        ServiceObj {
            name: "other".into(),
            namespace: "default".into(),
            owner: Some(owner),
            selector_jobset: "js".into(),
            publish_not_ready: true,
        },
    );
    fires(&mut w, "service-singleton");
}

// ---------------------------------------------------------------- store

#[test]
fn job_names_unique() {
    let mut w = basic();
    as_new(&mut w, "js-a-1");
    job_mut(&mut w, "js-a-1").name = "js-a-0".into();
    fires(&mut w, "job-names-unique");
}

#[test]
fn jobset_names_unique() {
    let mut w = basic();
    as_new(&mut w, "js-a-1");
    w.jobset_names.insert(("default".into(), "twin".into()), js_id(&w));
    fires(&mut w, "jobset-names-unique");
}

#[test]
fn child_listed_in_owner() {
    let mut w = basic();
    js_mut(&mut w).jobs.remove("js-a-1");
    fires(&mut w, "child-listed-in-owner");
}

#[test]
fn pod_owned_by_job() {
    let mut w = basic();
    let j = job_mut(&mut w, "js-a-0");
    let first = *j.pods.iter().next().unwrap();
    j.pods.remove(&first);
    fires(&mut w, "pod-owned-by-job");
}

#[test]
fn index_in_range() {
    let mut w = basic();
    job_mut(&mut w, "js-a-0").status.failed_indexes.insert(9);
    fires(&mut w, "index-in-range");
}

#[test]
fn one_active_pod_per_index() {
    let mut w = basic();
    let j = job_mut(&mut w, "js-a-0");
    let (idx, pid) = *j.pods.iter().find(|(i, _)| *i == 1).unwrap();
    j.pods.remove(&(idx, pid));
    j.pods.insert((0, pid));
    w.pods.get_mut(pid).unwrap().index = 0;
    fires(&mut w, "one-active-pod-per-index");
}

#[test]
fn pod_bound_once() {
    let mut w = basic();
    let pid = running_pod(&w);
    let p = w.pods.get_mut(pid).unwrap();
    p.node = Some((p.node.unwrap() + 1) % 4);
    fires(&mut w, "pod-bound-once");
}

#[test]
fn pod_phase_monotone() {
    let mut w = basic();
    let pid = running_pod(&w);
    w.pods.get_mut(pid).unwrap().phase = Phase::Pending;
    fires(&mut w, "pod-phase-monotone");
}

#[test]
fn pod_ready_implies_running() {
    let mut w = basic();
    let pid = running_pod(&w);
    w.pods.get_mut(pid).unwrap().deletion = Some(w.now);
    fires(&mut w, "pod-ready-implies-running");
}

#[test]
fn node_pod_list_consistent() {
    let mut w = basic();
    let pid = running_pod(&w);
    let n = w.pods.get(pid).unwrap().node.unwrap();
    w.nodes[n].pods.remove(&pid);
    fires(&mut w, "node-pod-list-consistent");
}

#[test]
fn node_allocation_consistent() {
    let mut w = basic();
    w.nodes[0].allocated[0] += 1000;
    fires(&mut w, "node-allocation-consistent");
}

#[test]
fn node_within_allocatable() {
    let mut w = basic();
    let pid = running_pod(&w);
    let n = w.pods.get(pid).unwrap().node.unwrap();
    w.nodes[n].allocatable[2] = 0;
    fires(&mut w, "node-within-allocatable");
}

#[test]
fn job_counters_consistent() {
    let mut w = basic();
    let j = job_mut(&mut w, "js-a-0");
    j.status.ready = j.status.active + 1;
    fires(&mut w, "job-counters-consistent");
}

#[test]
fn job_counters_monotone() {
    let mut w = completed();
    let j = job_mut(&mut w, "js-a-0");
    assert!(j.status.succeeded > 0);
    j.status.failed = -1;
    j.status.succeeded -= 1;
    fires(&mut w, "job-counters-monotone");
}

#[test]
fn job_terminal_sticky() {
    let mut w = completed();
    let j = job_mut(&mut w, "js-a-0");
    j.status
        .conditions
        .iter_mut()
        .find(|c| c.type_ == JOB_COMPLETE)
        .unwrap()
        .status = "False".into();
    fires(&mut w, "job-terminal-sticky");
}

#[test]
fn job_terminal_implies_criterion() {
    let mut w = basic();
    job_mut(&mut w, "js-a-0")
        .status
        .conditions
        .push(cond(JOB_FAILED, "True"));
    fires(&mut w, "job-terminal-implies-criterion");
}

#[test]
fn job_not_complete_and_failed() {
    let mut w = completed();
    job_mut(&mut w, "js-a-0")
        .status
        .conditions
        .push(cond(JOB_FAILED, "True"));
    fires(&mut w, "job-not-complete-and-failed");
}

#[test]
fn job_finished_has_no_live_pods() {
    let mut w = basic();
    let j = job_mut(&mut w, "js-a-0");
    j.status.conditions.push(cond(JOB_SUCCESS_CRITERIA_MET, "True"));
    j.status.conditions.push(cond(JOB_COMPLETE, "True"));
    fires(&mut w, "job-finished-has-no-live-pods");
}

#[test]
fn time_monotone() {
    let mut w = basic();
    w.now -= 1;
    fires(&mut w, "time-monotone");
}

// ---------------------------------------------------------------- the hook and the report

/// `js` with a Delete-policy PVC `d` (d-js) and a Retain one `r` (r-js), one minute in.
fn pvc_world() -> World {
    let mut w = world(&text(
        "      volumeClaimPolicies:\n      - templates: [{metadata: {name: d}, spec: {accessModes: [ReadWriteOnce]}}]\n      - templates: [{metadata: {name: r}, spec: {accessModes: [ReadWriteOnce]}}]\n        retentionPolicy: {whenDeleted: Retain}\n",
        "      - name: a\n        template: {spec: {template: {spec: {containers: [{name: c, volumeMounts: [{name: d, mountPath: /d}, {name: r, mountPath: /r}]}]}}}}\n",
        "workload:\n- {runFor: 10m}\n",
    ));
    step_to(&mut w, 60_000);
    assert_eq!(w.pvcs.len(), 2);
    w
}

#[test]
fn pvc_ownership() {
    let mut w = pvc_world();
    clean(&mut w);
    let key = ("default".to_string(), "d-js".to_string());
    w.pvcs.get_mut(&key).expect("d-js").owner = None;
    fires(&mut w, "pvc-ownership");
    // A Retain PVC that got an owner, and an owned PVC whose owner is gone, fire too.
    let mut w = pvc_world();
    let uid = js_mut(&mut w).uid.clone();
    w.pvcs
        .get_mut(&("default".to_string(), "r-js".to_string()))
        .expect("r-js")
        .owner = Some((uid, "js".into()));
    fires(&mut w, "pvc-ownership");
    let mut w = pvc_world();
    w.pvcs.get_mut(&key).expect("d-js").owner = Some(("gone".into(), "old".into()));
    fires(&mut w, "pvc-ownership");
}

#[test]
fn pvcs_before_jobs() {
    let mut w = pvc_world();
    w.pvcs.remove(&("default".to_string(), "r-js".to_string()));
    fires(&mut w, "pvcs-before-jobs");
}

#[test]
fn in_place_monotone() {
    let mut w = basic();
    js_mut(&mut w).js.status.current_in_place_restart_attempt = Some(2);
    js_mut(&mut w).js.status.previous_in_place_restart_attempt = Some(1);
    clean(&mut w);
    js_mut(&mut w).js.status.current_in_place_restart_attempt = Some(1);
    fires(&mut w, "in-place-monotone");
    let mut w = basic();
    js_mut(&mut w).js.status.current_in_place_restart_attempt = Some(1);
    js_mut(&mut w).js.status.previous_in_place_restart_attempt = Some(2);
    fires(&mut w, "in-place-monotone");
}

// ---------------------------------------------------------------- Kueue queues

/// A JobSet in queue `q` (8 cpu of 16) running for 10 minutes, one minute in: admitted, pods live.
fn queued() -> World {
    let t = text("", &rj("a", 2, 2, ""), "workload:\n- {runFor: 10m}\n")
        .replace("timing:", "  queues: [{name: q, nominalQuota: {cpu: \"16\"}}]\ntiming:");
    let t = t.replace(
        "metadata: {name: js}",
        "metadata: {name: js, labels: {kueue.x-k8s.io/queue-name: q}}",
    );
    let t = t.replace(
        "containers: [{name: c, image: x}]",
        "containers: [{name: c, image: x, resources: {requests: {cpu: \"2\"}}}]",
    );
    let mut w = world(&t);
    step_to(&mut w, 60_000);
    assert!(w.kueue.workloads.values().any(|wl| wl.holds_quota()), "admitted");
    w
}

#[test]
fn quota_usage_consistent() {
    let mut w = queued();
    clean(&mut w);
    let u = w
        .kueue
        .usage
        .get_mut("q")
        .expect("usage")
        .values_mut()
        .next()
        .expect("cpu");
    *u += 1000;
    fires(&mut w, "quota-usage-consistent");
}

#[test]
fn quota_within_nominal() {
    let mut w = queued();
    // Triple the JobSet (24 cpu) and its reservation alike: usage still equals the holders'
    // requests, but exceeds the nominal quota of 16.
    let id = js_id(&w);
    let wl = w.kueue.workloads.get_mut(&id).expect("workload");
    for p in &mut wl.podsets {
        p.count *= 3;
    }
    for rj in &mut js_mut(&mut w).js.spec.replicated_jobs {
        rj.replicas = Some(6);
    }
    let u = w
        .kueue
        .usage
        .get_mut("q")
        .expect("usage")
        .values_mut()
        .next()
        .expect("cpu");
    *u *= 3;
    fires(&mut w, "quota-within-nominal");
}

#[test]
fn pods_only_when_admitted() {
    let mut w = queued();
    let id = js_id(&w);
    w.kueue.workloads.get_mut(&id).expect("workload").admission = None;
    w.kueue.usage.clear();
    fires(&mut w, "pods-only-when-admitted");
}

#[test]
fn a_violation_stops_the_run_with_the_invariant_the_time_and_the_event() {
    let mut w = basic();
    w.nodes[0].allocated[0] += 1000;
    let before = w.events_processed;
    assert!(!w.step(), "the run stops at the violation");
    let Some(StopReason::Invariant(v)) = &w.stop else {
        panic!("stopped for {:?}", w.stop)
    };
    assert_eq!(v.invariant, "node-allocation-consistent");
    assert_eq!(v.event_index, before + 1);
    assert_eq!(v.t, w.now);
}

#[test]
fn a_violation_reads_with_name_time_event_and_detail() {
    let v = Violation {
        invariant: "terminal-is-sticky",
        t: 3_720_000,
        event_index: 1234,
        detail: "JobSet js changed restarts after it became Completed".into(),
    };
    assert_eq!(
        v.to_string(),
        "invariant terminal-is-sticky violated at 1h2m (event 1234): JobSet js changed restarts after it became Completed"
    );
}

#[test]
fn the_checker_is_off_unless_asked() {
    let sc = Arc::new(parse_scenario(&text("", &rj("a", 1, 1, ""), ""), Path::new("t.yaml")).unwrap());
    let w = World::new(sc, RunOptions::default());
    assert!(w.invariants.is_none());
}

#[test]
fn every_listed_invariant_has_a_firing_test_and_names_are_kebab_case() {
    let src = include_str!("invariants_tests.rs");
    for (name, from, what) in INVARIANTS {
        assert!(
            name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{name} is kebab-case"
        );
        assert!(!from.is_empty() && !what.is_empty());
        assert!(
            src.contains(&format!("fires(&mut w, \"{name}\")")),
            "no test makes {name} fire"
        );
    }
    let mut names: Vec<&str> = INVARIANTS.iter().map(|i| i.0).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), INVARIANTS.len(), "names are unique");
    assert!(INVARIANTS.len() >= 25);
}

/// Two exclusive Jobs of two pods on two racks of two nodes, settled.
fn exclusive() -> World {
    let mut w = world(&format!(
        "name: t\ncluster:\n  nodePools: [{{name: n, count: 4, capacity: {{cpu: \"8\", memory: 32Gi}}, topology: [{{key: rack, nodesPerDomain: 2}}]}}]\njobsets:\n- inline:\n    apiVersion: jobset.x-k8s.io/v1alpha2\n    kind: JobSet\n    metadata: {{name: js, annotations: {{alpha.jobset.sigs.k8s.io/exclusive-topology: rack}}}}\n    spec:\n      replicatedJobs:\n{}workload:\n- {{runFor: 10m}}\n",
        rj("a", 2, 2, "").replace("image: x}", "image: x, resources: {requests: {cpu: \"8\"}}}")
    ));
    step_to(&mut w, 60_000);
    w
}

fn bound_node(w: &World, job: &str, index: i32) -> NodeId {
    let j = w.jobs.get(job_id(w, job)).unwrap();
    let pid = j.pods.iter().find(|(i, _)| *i == index).unwrap().1;
    w.pods.get(pid).unwrap().node.unwrap()
}

#[test]
fn exclusive_domains() {
    let mut w = exclusive();
    // Relabel Job 1's leader's node into Job 0's rack.
    let rack0 = w.nodes[bound_node(&w, "js-a-0", 0)].labels["rack"].clone();
    let n = bound_node(&w, "js-a-1", 0);
    assert_ne!(w.nodes[n].labels["rack"], rack0, "settled: one Job per rack");
    w.nodes[n].labels.insert("rack".into(), rack0);
    fires(&mut w, "exclusive-domains");
}

#[test]
fn job_in_one_domain() {
    let mut w = exclusive();
    let n = bound_node(&w, "js-a-0", 1);
    w.nodes[n].labels.insert("rack".into(), "elsewhere".into());
    fires(&mut w, "job-in-one-domain");
}
