//! Unit tests of the pure JobSet reconcile, written from
//! `../shared/spec/jobset-controller.md` (section numbers in the names' comments).

use super::jobset::*;
use crate::api::constants::*;
use crate::api::{Condition, JobSet};
use crate::scenario::Gates;

pub(super) fn jobset(yaml: &str) -> JobSet {
    let v = &crate::input::parse_yaml_documents(yaml).unwrap()[0];
    let mut d = crate::input::Diags::default();
    let mut js = JobSet::parse(v, &mut d).unwrap();
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    crate::admission::admit_create(&mut js, &crate::admission::FeatureGates::default(), &|_, _| None)
        .unwrap_or_else(|r| panic!("{}", r.message));
    js.metadata.namespace = "default".into();
    js
}

const TWO_RJS: &str = r#"
apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata: {name: js}
spec:
  replicatedJobs:
  - name: a
    template: {spec: {template: {spec: {containers: [{name: c}]}}}}
  - name: b
    replicas: 2
    template: {spec: {parallelism: 2, completions: 2, template: {spec: {containers: [{name: c}]}}}}
"#;

pub(super) fn job(h: usize, name: &str, rj: &str, idx: i32) -> ChildJob {
    ChildJob {
        handle: h,
        name: name.into(),
        rj_name: rj.into(),
        job_index: idx,
        restart_attempt: 0,
        job_restart_attempt: None,
        finish: None,
        ready: 0,
        succeeded: 0,
        active: 1,
        suspended: false,
        parallelism: if rj == "b" { 2 } else { 1 },
        completions: Some(if rj == "b" { 2 } else { 1 }),
        deleting: false,
    }
}

/// A True finish condition (a Job's view shares its condition).
fn finished(type_: &str, reason: &str, message: &str, time: u64) -> std::rc::Rc<Condition> {
    std::rc::Rc::new(Condition {
        type_: type_.into(),
        status: "True".into(),
        reason: reason.into(),
        message: message.into(),
        last_transition_time: time,
    })
}

pub(super) fn failed(mut j: ChildJob, time: u64) -> ChildJob {
    j.finish = Some(finished(
        JOB_FAILED,
        JOB_REASON_BACKOFF_LIMIT,
        JOB_MSG_BACKOFF_LIMIT,
        time,
    ));
    j.active = 0;
    j
}

pub(super) fn succeeded(mut j: ChildJob) -> ChildJob {
    j.finish = Some(finished(
        JOB_COMPLETE,
        JOB_REASON_COMPLETIONS_REACHED,
        JOB_MSG_COMPLETIONS_REACHED,
        0,
    ));
    j.active = 0;
    j
}

pub(super) fn input(js: &JobSet, jobs: Vec<ChildJob>) -> Input<'_> {
    Input {
        js,
        deleting: false,
        jobs: jobs.into(),
        service_exists: true,
        gates: Gates::default(),
        now: 5_000,
        pods: Vec::new(),
        jobs_version: None,
        classified: None,
    }
}

pub(super) fn cond<'a>(p: &'a Plan, t: &str) -> Option<&'a Condition> {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == t))
}

#[test]
fn first_reconcile_creates_the_service_and_every_job_in_spec_order() {
    // §25 timeline step 1.
    let js = jobset(TWO_RJS);
    let mut inp = input(&js, vec![]);
    inp.service_exists = false;
    let p = reconcile(&inp);
    assert!(p.create_service);
    assert_eq!(p.create_jobs, vec![(0, 0), (1, 0), (1, 1)]);
    let st = p.status.expect("statuses written");
    let names: Vec<&str> = st.replicated_jobs_status.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["b", "a"], "R4: sorted by name descending");
    assert!(st.conditions.is_empty(), "no condition is created False");
}

#[test]
fn ready_counts_succeeded_pods_and_uses_min_of_parallelism_and_completions() {
    // R4: ready += 1 if succeeded + ready >= min(parallelism, completions).
    let js = jobset(TWO_RJS);
    let mut b0 = job(1, "js-b-0", "b", 0);
    b0.ready = 1;
    b0.succeeded = 1;
    let mut b1 = job(2, "js-b-1", "b", 1);
    b1.ready = 1;
    let p = reconcile(&input(&js, vec![job(0, "js-a-0", "a", 0), b0, b1]));
    let st = p.status.unwrap();
    let b = st.rj_status("b").unwrap();
    assert_eq!((b.ready, b.active), (1, 2));
}

#[test]
fn no_failure_policy_fails_on_the_first_failed_job_with_failed_jobs() {
    // §5.2: earliest failure wins; ties keep list order.
    let js = jobset(TWO_RJS);
    let jobs = vec![
        job(0, "js-a-0", "a", 0),
        failed(job(1, "js-b-0", "b", 0), 9_000),
        failed(job(2, "js-b-1", "b", 1), 3_000),
    ];
    let p = reconcile(&input(&js, jobs));
    let c = cond(&p, COND_FAILED).unwrap();
    assert_eq!(c.reason, "FailedJobs");
    assert_eq!(
        c.message,
        "jobset failed due to one or more job failures (first failed job: js-b-1)"
    );
    assert_eq!(p.status.as_ref().unwrap().terminal_state, "Failed");
    assert_eq!(p.status.as_ref().unwrap().restarts, 0);
    assert!(p.create_jobs.is_empty(), "R8 returns before creation");
    assert_eq!(p.events[0].type_, "Warning");
}

#[test]
fn failure_time_ties_within_a_second_keep_list_order() {
    let js = jobset(TWO_RJS);
    let jobs = vec![
        failed(job(1, "js-b-0", "b", 0), 3_900),
        failed(job(2, "js-b-1", "b", 1), 3_100),
    ];
    let p = reconcile(&input(&js, jobs));
    assert!(
        cond(&p, COND_FAILED)
            .unwrap()
            .message
            .ends_with("(first failed job: js-b-0)")
    );
}

#[test]
fn restart_job_set_increments_restarts_and_sets_restarting_with_default_reason() {
    // §25 step 3: maxRestarts 1, no rules.
    let js = jobset(&TWO_RJS.replace(
        "spec:\n  replicatedJobs:",
        "spec:\n  failurePolicy: {maxRestarts: 1}\n  replicatedJobs:",
    ));
    let p = reconcile(&input(&js, vec![failed(job(2, "js-b-1", "b", 1), 1000)]));
    let st = p.status.as_ref().unwrap();
    assert_eq!((st.restarts, st.restarts_count_towards_max), (1, 1));
    let c = cond(&p, COND_RESTARTING).unwrap();
    assert_eq!((c.status.as_str(), c.reason.as_str()), ("True", "DefaultFailurePolicy"));
    assert_eq!(
        c.message,
        "applying RestartJobSet failure policy action (first failed job: js-b-1)"
    );
    let reasons: Vec<&str> = p.events.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(
        reasons,
        vec!["DefaultFailurePolicy", "RestartJobSetFailurePolicyAction"]
    );
    assert!(p.delete_jobs.is_empty(), "nothing is deleted in the decision reconcile");
}

#[test]
fn max_restarts_exhausted_fails_with_reached_max_restarts() {
    // §5.5: with maxRestarts N the (N+1)-th counted failure fails.
    let mut js = jobset(&TWO_RJS.replace(
        "spec:\n  replicatedJobs:",
        "spec:\n  failurePolicy: {maxRestarts: 1}\n  replicatedJobs:",
    ));
    js.status.restarts = 1;
    js.status.restarts_count_towards_max = 1;
    let mut j = failed(job(2, "js-b-1", "b", 1), 1000);
    j.restart_attempt = 1;
    let p = reconcile(&input(&js, vec![j]));
    let c = cond(&p, COND_FAILED).unwrap();
    assert_eq!(c.reason, "ReachedMaxRestarts");
    assert_eq!(
        c.message,
        "jobset failed due to reaching max number of restarts (first failed job: js-b-1)"
    );
    assert_eq!(p.status.as_ref().unwrap().restarts, 1, "no counter changes");
}

#[test]
fn empty_failure_policy_fails_with_reached_max_restarts_not_failed_jobs() {
    let js = jobset(&TWO_RJS.replace(
        "spec:\n  replicatedJobs:",
        "spec:\n  failurePolicy: {}\n  replicatedJobs:",
    ));
    let p = reconcile(&input(&js, vec![failed(job(2, "js-b-1", "b", 1), 1000)]));
    assert_eq!(cond(&p, COND_FAILED).unwrap().reason, "ReachedMaxRestarts");
}

#[test]
fn rule_order_dominates_failure_time() {
    // §5.3: the first rule that matches any failed Job wins.
    let js = jobset(&TWO_RJS.replace(
        "spec:\n  replicatedJobs:",
        "spec:\n  failurePolicy:\n    maxRestarts: 5\n    rules:\n    - {name: onB, action: FailJobSet, targetReplicatedJobs: [b]}\n    - {name: onA, action: RestartJobSet, targetReplicatedJobs: [a]}\n  replicatedJobs:",
    ));
    let jobs = vec![
        failed(job(0, "js-a-0", "a", 0), 1_000),
        failed(job(1, "js-b-0", "b", 0), 9_000),
    ];
    let p = reconcile(&input(&js, jobs));
    let d = p.decision.clone().unwrap();
    assert_eq!(d.rule.as_deref(), Some("onB"));
    assert_eq!(d.job, "js-b-0");
    assert_eq!(cond(&p, COND_FAILED).unwrap().reason, "FailJobSetFailurePolicyAction");
}

#[test]
fn ignore_max_restarts_counts_restarts_but_not_towards_max() {
    let js = jobset(&TWO_RJS.replace(
        "spec:\n  replicatedJobs:",
        "spec:\n  failurePolicy:\n    rules:\n    - {action: RestartJobSetAndIgnoreMaxRestarts}\n  replicatedJobs:",
    ));
    let p = reconcile(&input(&js, vec![failed(job(0, "js-a-0", "a", 0), 1_000)]));
    let st = p.status.as_ref().unwrap();
    assert_eq!((st.restarts, st.restarts_count_towards_max), (1, 0));
    assert_eq!(
        cond(&p, COND_RESTARTING).unwrap().reason,
        "FailurePolicy_failurePolicyRule0"
    );
}

#[test]
fn outdated_jobs_are_deleted_and_not_counted() {
    // R3/R6: restart-attempt label < status.restarts ⇒ previous.
    let mut js = jobset(TWO_RJS);
    js.status.restarts = 1;
    let p = reconcile(&input(
        &js,
        vec![failed(job(0, "js-a-0", "a", 0), 1_000), job(1, "js-b-0", "b", 0)],
    ));
    assert_eq!(p.delete_jobs, vec![0, 1]);
    assert!(p.decision.is_none(), "failures of outdated Jobs are never acted on");
    assert!(
        p.create_jobs.iter().all(|(rj, i)| !(*rj == 0 && *i == 0)),
        "names still present are not recreated"
    );
    assert_eq!(p.create_jobs, vec![(1, 1)]);
}

#[test]
fn suspended_active_jobs_of_a_running_jobset_are_resumed_per_replicated_job() {
    // R14: only Active Jobs that are suspended, grouped by replicated Job in spec order.
    let js = jobset(TWO_RJS);
    let suspend = |mut j: ChildJob| {
        j.suspended = true;
        j
    };
    let p = reconcile(&input(
        &js,
        vec![
            suspend(job(0, "js-b-0", "b", 0)),
            job(1, "js-b-1", "b", 1),
            suspend(job(2, "js-a-0", "a", 0)),
            suspend(succeeded(job(3, "js-x-0", "b", 0))),
        ],
    ));
    assert_eq!(p.resume_jobs, vec![(2, 0), (0, 1)]);
    let none = reconcile(&input(&js, vec![job(0, "js-a-0", "a", 0)]));
    assert!(none.resume_jobs.is_empty());
}

#[test]
fn blocking_recreate_creates_nothing_while_previous_jobs_exist() {
    let mut js = jobset(&TWO_RJS.replace(
        "spec:\n  replicatedJobs:",
        "spec:\n  failurePolicy: {restartStrategy: BlockingRecreate}\n  replicatedJobs:",
    ));
    js.status.restarts = 1;
    let p = reconcile(&input(&js, vec![job(0, "js-a-0", "a", 0)]));
    assert_eq!(p.delete_jobs, vec![0]);
    assert!(p.create_jobs.is_empty());
}

#[test]
fn success_all_needs_every_targeted_job_and_any_needs_one() {
    let js = jobset(TWO_RJS);
    let p = reconcile(&input(
        &js,
        vec![
            succeeded(job(0, "js-a-0", "a", 0)),
            succeeded(job(1, "js-b-0", "b", 0)),
            job(2, "js-b-1", "b", 1),
        ],
    ));
    assert!(cond(&p, COND_COMPLETED).is_none());
    let any = jobset(&TWO_RJS.replace(
        "spec:\n  replicatedJobs:",
        "spec:\n  successPolicy: {operator: Any, targetReplicatedJobs: [b]}\n  replicatedJobs:",
    ));
    let p = reconcile(&input(
        &any,
        vec![succeeded(job(0, "js-a-0", "a", 0)), job(1, "js-b-0", "b", 0)],
    ));
    assert!(
        cond(&p, COND_COMPLETED).is_none(),
        "a success outside the targets does not count"
    );
    let p = reconcile(&input(
        &any,
        vec![job(0, "js-a-0", "a", 0), succeeded(job(1, "js-b-0", "b", 0))],
    ));
    let c = cond(&p, COND_COMPLETED).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.message.as_str()),
        ("AllJobsCompleted", "jobset completed successfully")
    );
    assert_eq!(p.status.unwrap().terminal_state, "Completed");
}

#[test]
fn a_finished_jobset_deletes_its_active_jobs_and_requeues_for_ttl() {
    // R5 and §14: expiry measured from the second-truncated finish time.
    let mut js = jobset(&TWO_RJS.replace(
        "spec:\n  replicatedJobs:",
        "spec:\n  ttlSecondsAfterFinished: 60\n  replicatedJobs:",
    ));
    js.status.conditions.push(Condition {
        type_: COND_COMPLETED.into(),
        status: "True".into(),
        reason: REASON_ALL_JOBS_COMPLETED.into(),
        message: MSG_ALL_JOBS_COMPLETED.into(),
        last_transition_time: 2_500,
    });
    let p = reconcile(&input(
        &js,
        vec![succeeded(job(0, "js-a-0", "a", 0)), job(1, "js-b-0", "b", 0)],
    ));
    assert_eq!(p.delete_jobs, vec![1], "succeeded Jobs are kept");
    assert_eq!(p.requeue_after, Some(2_000 + 60_000 - 5_000));
    assert!(p.create_jobs.is_empty());
    let mut inp = input(&js, vec![]);
    inp.now = 62_000;
    assert!(reconcile(&inp).delete_jobset);
}

#[test]
fn suspended_jobsets_create_jobs_suspended_and_suspend_active_ones() {
    // §9.1.
    let js = jobset(&TWO_RJS.replace("spec:\n  replicatedJobs:", "spec:\n  suspend: true\n  replicatedJobs:"));
    let p = reconcile(&input(&js, vec![job(0, "js-a-0", "a", 0)]));
    assert_eq!(p.suspend_jobs, vec![0]);
    assert_eq!(p.create_jobs, vec![(1, 0), (1, 1)]);
    let c = cond(&p, COND_SUSPENDED).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.message.as_str()),
        ("SuspendedJobs", "jobset is suspended")
    );
}

#[test]
fn in_order_creates_one_replicated_job_at_a_time() {
    // §7 and §25 (InOrder timeline).
    let js = jobset(&TWO_RJS.replace(
        "spec:\n  replicatedJobs:",
        "spec:\n  startupPolicy: {startupPolicyOrder: InOrder}\n  replicatedJobs:",
    ));
    let p = reconcile(&input(&js, vec![]));
    assert_eq!(p.create_jobs, vec![(0, 0)]);
    assert_eq!(
        cond(&p, COND_STARTUP_IN_PROGRESS).unwrap().reason,
        "InOrderStartupPolicyInProgress"
    );
}

#[test]
fn conditions_keep_their_transition_time_when_only_the_message_changes() {
    // §10.1.
    let mut st = crate::api::JobSetStatus::default();
    let mut ev = Vec::new();
    assert!(
        !set_condition(&mut st, COND_RESTARTING, false, "JobsReady", "m", 1, &mut ev),
        "False is never created"
    );
    assert!(set_condition(&mut st, COND_RESTARTING, true, "R1", "m1", 1, &mut ev));
    assert!(set_condition(&mut st, COND_RESTARTING, true, "R2", "m2", 7, &mut ev));
    assert_eq!(st.conditions[0].last_transition_time, 1);
    assert!(
        !set_condition(&mut st, COND_RESTARTING, true, "R2", "m2", 9, &mut ev),
        "identical: no change, no event"
    );
    assert!(set_condition(
        &mut st,
        COND_RESTARTING,
        false,
        "JobsReady",
        "all jobs are ready",
        11,
        &mut ev
    ));
    assert_eq!(st.conditions[0].last_transition_time, 11);
    assert_eq!(ev.len(), 3);
}

#[test]
fn managed_by_another_controller_writes_nothing() {
    let js = jobset(&TWO_RJS.replace(
        "spec:\n  replicatedJobs:",
        "spec:\n  managedBy: example.com/other\n  replicatedJobs:",
    ));
    let p = reconcile(&input(&js, vec![]));
    assert!(p.status.is_none() && p.create_jobs.is_empty() && !p.create_service);
}

#[test]
fn missing_indexes_are_created_and_a_full_set_creates_none() {
    // R13 with a replicated Job of 4: indexes present twice (an outdated Job and its
    // replacement) count once, so a gap is still found; all four present, nothing.
    let js = jobset(
        r#"
apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata: {name: js}
spec:
  replicatedJobs:
  - name: a
    replicas: 4
    template: {spec: {template: {spec: {containers: [{name: c}]}}}}
"#,
    );
    let named = |h: usize, i: i32| job(h, &format!("js-a-{i}"), "a", i);
    let p = reconcile(&input(&js, vec![named(0, 0), named(1, 2), named(2, 2), named(3, 0)]));
    assert_eq!(p.create_jobs, vec![(0, 1), (0, 3)]);
    let p = reconcile(&input(
        &js,
        vec![named(0, 3), named(1, 0), named(2, 0), named(3, 1), named(4, 2)],
    ));
    assert!(p.create_jobs.is_empty(), "{:?}", p.create_jobs);
    let p = reconcile(&input(&js, vec![named(0, 0), named(1, 1), named(2, 1), named(3, 3)]));
    assert_eq!(
        p.create_jobs,
        vec![(0, 2)],
        "four Jobs, one index twice: index 2 is missing"
    );
}

#[test]
fn a_kept_classification_is_used_again_only_for_the_same_jobs_and_restart_count() {
    // The engine keeps a reconcile's classification with the version of the Jobs' view
    // it was made from. A reconcile triggered by the JobSet's own status write sees the
    // same Jobs: the kept one holds unless the restart count (which moves Jobs to the
    // outdated bucket) or the version changed.
    let js = jobset(&TWO_RJS.replace(
        "spec:\n  replicatedJobs:",
        "spec:\n  failurePolicy: {maxRestarts: 3}\n  replicatedJobs:",
    ));
    let jobs = vec![
        job(0, "js-a-0", "a", 0),
        job(1, "js-b-0", "b", 0),
        failed(job(2, "js-b-1", "b", 1), 1000),
    ];
    let versioned = |js: &'_ JobSet, version: u64, kept: Option<&'_ Classified>| {
        let mut i = input(js, jobs.clone());
        i.jobs_version = Some(version);
        i.classified = kept;
        reconcile(&i)
    };
    let unversioned = |js: &JobSet| reconcile(&input(js, jobs.clone()));
    let with_status = |p: &Plan| {
        let mut next = js.clone();
        next.status = p.status.clone().expect("the reconcile wrote a status");
        next
    };

    // The decision reconcile: a restart; its classification is returned to keep.
    let p1 = versioned(&js, 7, None);
    assert_eq!(p1.status.as_ref().map(|s| s.restarts), Some(1));
    let c1 = p1
        .classified
        .as_ref()
        .expect("a versioned reconcile returns its classification");
    assert!(unversioned(&js).classified.is_none(), "no version, nothing to keep");

    // Same Jobs, but the status now counts a restart: every Job is outdated, so the kept
    // classification (one Job failed, none outdated) must not be used again.
    let js2 = with_status(&p1);
    let p2 = versioned(&js2, 7, Some(c1));
    assert!(p2.classified.is_some(), "classified afresh");
    assert_eq!(p2.delete_jobs, vec![0, 1, 2], "the outdated Jobs are deleted");
    assert!(p2.decision.is_none(), "the failed Job is not decided on twice");

    // Same Jobs, same restart count: the kept classification is used, with the plan a
    // pass over the Jobs gives.
    let js3 = with_status(&p2);
    let kept = p2.classified.as_ref().expect("kept");
    let p3 = versioned(&js3, 7, Some(kept));
    assert!(p3.classified.is_none(), "the kept classification was used again");
    assert_eq!(format!("{p3:?}"), format!("{:?}", unversioned(&js3)));
    assert_eq!(p3.delete_jobs, vec![0, 1, 2]);

    // Another version of the Jobs' view: classified afresh.
    assert!(versioned(&js3, 8, Some(kept)).classified.is_some());
    // Unversioned Jobs never use a kept classification.
    let mut i = input(&js3, jobs.clone());
    i.classified = Some(kept);
    assert!(reconcile(&i).classified.is_none());
    assert_eq!(format!("{:?}", reconcile(&i)), format!("{:?}", unversioned(&js3)));
}

#[test]
fn a_kept_classification_follows_refreshed_rows_to_what_a_pass_gives() {
    // Between two reconciles the engine lists the rows it refreshed, each with what it
    // counted before; the kept classification follows them instead of a pass over all
    // the Jobs. Followed, it must be the classification a pass over the new rows makes.
    let js = jobset(TWO_RJS);
    let before = vec![
        job(0, "js-a-0", "a", 0),
        job(1, "js-b-0", "b", 0),
        job(2, "js-b-1", "b", 1),
    ];
    let versioned = |jobs: &[ChildJob], version: u64| {
        let mut i = input(&js, jobs.to_vec());
        i.jobs_version = Some(version);
        i
    };
    let c = reconcile(&versioned(&before, 3)).classified.expect("classified");
    let mut after = before.clone();
    after[0].ready = 1; // a's Job ready: the ready count moves
    after[1] = succeeded(after[1].clone()); // Active to Successful
    after[2] = failed(after[2].clone(), 2000); // Active to Failed
    let refreshed: Vec<(u32, u8)> = (0..3).map(|p| (p as u32, Classified::marks_of(&before[p]))).collect();

    // A list that does not start at the classification's version is not followed.
    for from in [Some(2), None] {
        let mut stale = c.clone();
        assert!(stale.follow_rows(from, 6, &refreshed, &after));
        assert_eq!(stale, c, "left as it is");
    }
    // Followed from its version: the classification a pass makes at the new version,
    // used by the reconcile (whose debug assertion compares it with a pass too).
    let mut followed = c.clone();
    assert!(followed.follow_rows(Some(3), 6, &refreshed, &after));
    let fresh = reconcile(&versioned(&after, 6)).classified.expect("classified");
    assert_eq!(followed, fresh);
    let mut i = versioned(&after, 6);
    i.classified = Some(&followed);
    let p = reconcile(&i);
    assert!(p.classified.is_none(), "the followed classification was used");
    assert_eq!(format!("{p:?}"), format!("{:?}", reconcile(&input(&js, after.clone()))));
    // A listed row the Jobs lack: it cannot follow (the engine drops it).
    assert!(!c.clone().follow_rows(Some(3), 4, &[(7, 0)], &after));
    // Under the RestartJob gate it does not follow (it keeps no per-index targets).
    let mut gated = versioned(&before, 3);
    gated.gates.restart_job = true;
    let g = reconcile(&gated).classified.expect("classified");
    let mut kept = g.clone();
    assert!(kept.follow_rows(Some(3), 6, &refreshed, &after));
    assert_eq!(kept, g);
}
