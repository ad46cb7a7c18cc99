//! The JobSet reconcile (`pkg/controllers/jobset_controller.go`) as a pure
//! function: `reconcile(input) -> Plan`, in upstream's step order R0–R16
//! (`../shared/spec/jobset-controller.md` §3). The engine applies the plan.

use crate::api::constants::*;
use crate::api::{Condition, JobSet, JobSetStatus, ReplicatedJobStatus};
use crate::scenario::Gates;
use crate::trace::Name;
use crate::units::Millis;
use std::borrow::Cow;
use std::rc::Rc;

/// What the reconcile sees of one owned Job (from the store, in list order). It owns
/// what it holds (shared names, the shared finish condition), so the engine can keep
/// a JobSet's view from one reconcile to the next and update only the Jobs that changed.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildJob {
    /// Opaque handle the engine uses to apply the plan.
    pub handle: usize,
    pub name: Name,
    /// `replicatedjob-name` label.
    pub rj_name: Name,
    pub job_index: i32,
    pub restart_attempt: i32,
    pub job_restart_attempt: Option<i32>,
    /// How the Job ended, if it did: its first `Complete`/`Failed` condition that is True
    /// (shared, so the view of a Job stays small).
    pub finish: Option<Rc<Condition>>,
    pub ready: i32,
    pub succeeded: i32,
    pub active: i32,
    pub suspended: bool,
    pub parallelism: i32,
    pub completions: Option<i32>,
    pub deleting: bool,
}

pub struct Input<'a> {
    pub js: &'a JobSet,
    pub deleting: bool,
    /// The owned Jobs in list order: borrowed from the engine's kept view, or owned (tests).
    pub jobs: Cow<'a, [ChildJob]>,
    pub service_exists: bool,
    pub gates: Gates,
    pub now: Millis,
    /// Pods labelled with the JobSet's name, for the in-place restart step (R15);
    /// only filled when `InPlaceRestart` is on and the strategy is `InPlaceRestart`.
    pub pods: Vec<super::lifecycle::PodView>,
    /// The version of `jobs` (the engine's kept view, which counts every change to its
    /// rows), or `None` when the Jobs carry no version (tests, benches).
    pub jobs_version: Option<u64>,
    /// The classification an earlier reconcile of this JobSet returned
    /// ([`Plan::classified`]). Used again, without a pass over the Jobs, when it was
    /// made from this `jobs_version` and the status and spec fields it read still hold:
    /// a reconcile triggered by the JobSet's own status write sees the same Jobs.
    pub classified: Option<&'a Classified>,
}

/// A Kubernetes Event recorded on the JobSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KEvent {
    pub type_: &'static str,
    pub reason: String,
    pub message: String,
}

/// The failure-policy decision of this reconcile, for the trace and `explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The matched rule's name; `None` when no rule matched (default action).
    pub rule: Option<String>,
    pub action: String,
    pub job: String,
    /// Why each earlier rule did not match (rule name, reason), for `explain`.
    pub skipped_rules: Vec<(String, String)>,
    /// The JobSet-level restart attempt started by this decision, if any.
    pub restart_attempt: Option<i32>,
    /// Set when the decision failed the JobSet.
    pub failed_reason: Option<&'static str>,
}

#[derive(Debug, Default)]
pub struct Plan {
    /// The status to persist, when anything changed (R16).
    pub status: Option<JobSetStatus>,
    /// Events queued for emission after the status write (§11).
    pub events: Vec<KEvent>,
    /// Jobs to delete with foreground propagation (R5, R6): handles.
    pub delete_jobs: Vec<usize>,
    /// Create the headless Service (R10).
    pub create_service: bool,
    /// Create the volume claim policies' PVCs that do not exist (R11, §15).
    pub create_pvcs: bool,
    /// Elastic scaling (R12, §17): Jobs to patch to (parallelism, completions).
    pub scale_jobs: Vec<super::lifecycle::ScalePatch>,
    /// What the in-place restart step (R15) decided, for the trace.
    pub in_place: Option<super::lifecycle::InPlaceOutcome>,
    /// Jobs to create (R13): (replicated Job index, job index). Suspended iff the JobSet is.
    pub create_jobs: Vec<(usize, i32)>,
    /// Jobs to suspend (R14): handles.
    pub suspend_jobs: Vec<usize>,
    /// Jobs to resume (R14): (handle, replicated Job index).
    pub resume_jobs: Vec<(usize, usize)>,
    /// TTL expired: delete the JobSet (foreground).
    pub delete_jobset: bool,
    pub requeue_after: Option<Millis>,
    pub decision: Option<Decision>,
    /// The reconcile failed with this error (retried with backoff; nothing persisted).
    pub error: Option<String>,
    /// The classification this reconcile made (when the Jobs had a version), for the
    /// engine to pass back as [`Input::classified`].
    pub classified: Option<Classified>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bucket {
    Previous,
    Active,
    Failed,
    Successful,
}

/// Runs one reconcile.
pub fn reconcile(input: &Input<'_>) -> Plan {
    let js = input.js;
    // R1, R2.
    if input.deleting {
        return Plan::default();
    }
    if js
        .spec
        .managed_by
        .as_deref()
        .is_some_and(|m| m != JOBSET_CONTROLLER_NAME)
    {
        return Plan::default();
    }
    // R3: classify.
    // R4 (counted in the same pass): replicated-job statuses (sorted by name descending).
    if let Some(kept) = input.classified.filter(|c| c.holds(input)) {
        debug_assert_eq!(
            *kept,
            classify_all(input),
            "a kept classification is the one a pass makes"
        );
        return reconcile_classified(input, kept);
    }
    let classified = classify_all(input);
    let mut plan = reconcile_classified(input, &classified);
    if input.jobs_version.is_some() {
        plan.classified = Some(classified);
    }
    plan
}

/// The reconcile from R4 on, with the Jobs classified.
fn reconcile_classified(input: &Input<'_>, classified: &Classified) -> Plan {
    let mut plan = Plan::default();
    let js = input.js;
    let mut status = js.status.clone();
    let mut dirty = false;
    let mut events: Vec<KEvent> = Vec::new();
    let now = input.now;
    let Classified {
        key: _,
        buckets,
        rj_statuses: new_rj,
        failed,
        successful,
        present,
        present_count,
        runs: _,
        previous,
        suspended_active,
    } = classified;
    let (any_previous, any_suspended_active) = (*previous > 0, *suspended_active > 0);
    let mut cur = status.replicated_jobs_status.clone();
    cur.sort_by(|a, b| b.name.cmp(&a.name));
    if cur != *new_rj {
        status.replicated_jobs_status = new_rj.clone();
        dirty = true;
    } else {
        status.replicated_jobs_status = cur;
    }

    let finished = status
        .conditions
        .iter()
        .any(|c| (c.type_ == COND_COMPLETED || c.type_ == COND_FAILED) && c.is_true());
    // R5: finished JobSet: delete active Jobs, TTL.
    if finished {
        for (j, b) in input.jobs.iter().zip(buckets) {
            if *b == Bucket::Active && !j.deleting {
                plan.delete_jobs.push(j.handle);
            }
        }
        if let Some(ttl) = js.spec.ttl_seconds_after_finished {
            let finish = status
                .conditions
                .iter()
                .find(|c| (c.type_ == COND_COMPLETED || c.type_ == COND_FAILED) && c.is_true())
                .map(|c| c.last_transition_time / 1000 * 1000)
                .unwrap_or(0);
            let expiry = finish + (ttl.max(0) as u64) * 1000;
            if expiry <= now {
                plan.delete_jobset = true;
            } else {
                plan.requeue_after = Some(expiry - now);
            }
        }
        return finish_plan(plan, status, dirty, events);
    }

    // R6: delete outdated Jobs.
    if any_previous {
        for (j, b) in input.jobs.iter().zip(buckets) {
            if *b == Bucket::Previous && !j.deleting {
                plan.delete_jobs.push(j.handle);
            }
        }
    }

    // R7: clear RestartingJobSet when all Jobs are ready.
    if !js.suspended() && all_jobs_ready(js, &status) {
        dirty |= set_condition(
            &mut status,
            COND_RESTARTING,
            false,
            REASON_JOBS_READY,
            MSG_JOBS_READY,
            now,
            &mut events,
        );
    }

    // R8: failure policy.
    if !failed.is_empty() {
        let failed: Vec<&ChildJob> = failed.iter().map(|&i| &input.jobs[i as usize]).collect();
        match execute_failure_policy(js, &mut status, &failed, input.gates, now, &mut events) {
            Ok(decision) => {
                plan.decision = Some(decision);
                dirty = true;
            }
            Err(e) => {
                plan.error = Some(e);
                return plan;
            }
        }
        return finish_plan(plan, status, dirty, events);
    }

    // R9: success policy.
    if !successful.is_empty() && success_policy_met(js, successful.iter().map(|&i| &input.jobs[i as usize])) {
        set_completed(&mut status, now, &mut events);
        return finish_plan(plan, status, true, events);
    }

    // R10: headless Service.
    if js.dns_hostnames_enabled() && !input.service_exists {
        plan.create_service = true;
    }

    // R11: volume claim policies; R12: elastic scaling (also while suspended).
    plan.create_pvcs = !js.spec.volume_claim_policies.is_empty();
    if input.gates.elastic_jobset {
        let active = input
            .jobs
            .iter()
            .zip(buckets)
            .filter(|(_, b)| **b == Bucket::Active)
            .map(|(j, _)| j);
        plan.scale_jobs = super::lifecycle::sync_job_scaling(js, active);
    }

    // R13: create missing Jobs.
    let suspended = js.suspended();
    let in_order = js.in_order();
    let blocking = js
        .spec
        .failure_policy
        .as_ref()
        .is_some_and(|f| f.strategy() == "BlockingRecreate")
        && any_previous;
    let mut in_order_stopped = false;
    // shouldCreateJob: a name present in any bucket is never created again. Owned Jobs are
    // named <jobset>-<rj>-<index> from their labels, so the (rj, index) pair identifies the name.
    // `present[g][i]`: a Job of index i exists for the replicated Job name whose first
    // replicated Job is g (a set of (name, index), as bitmaps).
    for (rj_index, rj) in js.spec.replicated_jobs.iter().enumerate() {
        let g = first_named(js, &rj.name).unwrap_or(rj_index);
        let seen = &present[g];
        // Every index present (the steady state): nothing to look for.
        let all_present = usize::try_from(rj.replicas()).is_ok_and(|r| r == seen.len() && present_count[g] == r);
        let to_create: Vec<i32> = if blocking || all_present {
            Vec::new()
        } else {
            (0..rj.replicas())
                .filter(|i| !seen.get(*i as usize).copied().unwrap_or(false))
                .collect()
        };
        if !depends_on_met(js, rj_index, &status) {
            continue;
        }
        if !suspended && in_order && replicas_started(&status, &rj.name, rj.replicas()) {
            continue;
        }
        plan.create_jobs.extend(to_create.into_iter().map(|i| (rj_index, i)));
        if !suspended && in_order {
            dirty |= set_in_order_in_progress(&mut status, now, &mut events);
            in_order_stopped = true;
            break;
        }
    }
    if !in_order_stopped && !suspended && in_order {
        dirty |= set_condition(
            &mut status,
            COND_STARTUP_COMPLETED,
            true,
            REASON_STARTUP_COMPLETED,
            MSG_STARTUP_COMPLETED,
            now,
            &mut events,
        );
    }

    // R14: suspend or resume.
    if suspended {
        for (j, b) in input.jobs.iter().zip(buckets) {
            if *b == Bucket::Active && !j.suspended {
                plan.suspend_jobs.push(j.handle);
            }
        }
        dirty |= set_condition(
            &mut status,
            COND_SUSPENDED,
            true,
            REASON_SUSPENDED,
            MSG_SUSPENDED,
            now,
            &mut events,
        );
        dirty |= set_condition(
            &mut status,
            COND_RESTARTING,
            false,
            REASON_JOBSET_SUSPENDED,
            MSG_SUSPENDED,
            now,
            &mut events,
        );
    } else {
        let mut stopped = false;
        for (rj_index, rj) in js.spec.replicated_jobs.iter().enumerate() {
            if !depends_on_met(js, rj_index, &status) {
                continue;
            }
            if in_order && replicas_started(&status, &rj.name, rj.replicas()) {
                continue;
            }
            if any_suspended_active {
                for (j, b) in input.jobs.iter().zip(buckets) {
                    if *b == Bucket::Active && j.suspended && *j.rj_name == *rj.name {
                        plan.resume_jobs.push((j.handle, rj_index));
                    }
                }
            }
            if in_order {
                dirty |= set_in_order_in_progress(&mut status, now, &mut events);
                stopped = true;
                break;
            }
        }
        if !stopped {
            dirty |= set_condition(
                &mut status,
                COND_SUSPENDED,
                false,
                REASON_RESUMED,
                MSG_RESUMED,
                now,
                &mut events,
            );
        }
    }

    // R15: in-place restart (only logged upstream when the gate is off).
    if input.gates.in_place_restart && super::lifecycle::in_place_strategy(js) {
        match super::lifecycle::reconcile_in_place(js, &mut status, &input.pods, now, &mut events) {
            Ok(super::lifecycle::InPlaceOutcome::Nothing) => {}
            Ok(o) => {
                plan.in_place = Some(o);
                dirty = true;
            }
            Err(e) => {
                plan.error = Some(e);
                return plan;
            }
        }
    }
    finish_plan(plan, status, dirty, events)
}

/// `StartupPolicyInProgress=True` (§7), set by both the creation and the resume walk.
fn set_in_order_in_progress(status: &mut JobSetStatus, now: Millis, events: &mut Vec<KEvent>) -> bool {
    set_condition(
        status,
        COND_STARTUP_IN_PROGRESS,
        true,
        REASON_STARTUP_IN_PROGRESS,
        MSG_STARTUP_IN_PROGRESS,
        now,
        events,
    )
}

fn finish_plan(mut plan: Plan, status: JobSetStatus, dirty: bool, events: Vec<KEvent>) -> Plan {
    if dirty {
        plan.status = Some(status);
        plan.events = events;
    }
    plan
}

fn classify(j: &ChildJob, status: &JobSetStatus, gates: Gates) -> Bucket {
    if gates.restart_job
        && let Some(attempt) = j.job_restart_attempt
    {
        let target = status
            .rj_status(&j.rj_name)
            .and_then(|s| s.job_restarts.get(j.job_index.max(0) as usize).copied())
            .unwrap_or(0);
        if attempt < target {
            return Bucket::Previous;
        }
    }
    bucket_of(j, status.restarts)
}

/// The bucket of Job `j` under a JobSet with `restarts` restarts, without the
/// `RestartJob` gate's per-index targets (which `classify` asks first).
#[inline(always)]
fn bucket_of(j: &ChildJob, restarts: i32) -> Bucket {
    if j.restart_attempt < restarts {
        return Bucket::Previous;
    }
    match &j.finish {
        None => Bucket::Active,
        Some(c) if c.type_ == JOB_FAILED => Bucket::Failed,
        Some(_) => Bucket::Successful,
    }
}

/// What Job `j` adds to its status's counts while `Active`, as bits: ready (bit 0: its
/// succeeded and ready pods reach min(parallelism, completions)), active (bit 1: an
/// active pod), suspended (bit 2).
#[inline(always)]
fn active_marks(j: &ChildJob) -> u8 {
    let mut pods = j.parallelism;
    if let Some(c) = j.completions {
        pods = pods.min(c);
    }
    u8::from(j.succeeded + j.ready >= pods) | u8::from(j.active > 0) << 1 | u8::from(j.suspended) << 2
}

/// The index of the first replicated Job named `name`.
fn first_named(js: &JobSet, name: &str) -> Option<usize> {
    js.spec.replicated_jobs.iter().position(|r| r.name == name)
}

/// A row refreshed since a classification: its position, and what it counted before
/// its first refresh ([`Classified::marks_of`]).
pub type RefreshedRow = (u32, u8);

/// The child Jobs classified (R3), in list order: a function of the Jobs and of the
/// fields of [`ClassifyKey`], so the engine may keep it for the next reconcile
/// ([`Input::classified`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    key: ClassifyKey,
    buckets: Vec<Bucket>,
    /// The replicated-job statuses the Jobs add up to (R4), sorted by name descending.
    rj_statuses: Vec<ReplicatedJobStatus>,
    /// Positions in the Jobs' list.
    failed: Vec<u32>,
    successful: Vec<u32>,
    /// Which (replicated Job name, job index) pairs have a child Job (see [`no_indexes_present`]).
    present: Vec<Vec<bool>>,
    /// How many of each bitmap of `present` are set.
    present_count: Vec<usize>,
    /// The runs of Jobs sharing a replicated Job name, in list order: where each ends
    /// (exclusive) and the position in `rj_statuses` of the status it counts in, if any.
    runs: Vec<(u32, Option<u32>)>,
    /// How many Jobs are in the `Previous` bucket.
    previous: u32,
    /// How many `Active` Jobs are suspended.
    suspended_active: u32,
}

/// What a classification read besides the Jobs' rows: the version of the rows, the
/// JobSet's restart count, the gate and (under it) the per-index restart targets in
/// the status, and the replicated Jobs' names and replicas (the bitmaps' sizes and
/// the statuses' order).
#[derive(Debug, Clone, PartialEq)]
struct ClassifyKey {
    jobs_version: Option<u64>,
    restarts: i32,
    restart_job: bool,
    /// Under `restart_job` only: each replicated-job status's name and restart counts.
    job_restarts: Vec<(String, Vec<i32>, Vec<i32>)>,
    replicated_jobs: Vec<(String, i32)>,
}

impl ClassifyKey {
    fn of(input: &Input<'_>) -> ClassifyKey {
        let status = &input.js.status;
        let restart_job = input.gates.restart_job;
        ClassifyKey {
            jobs_version: input.jobs_version,
            restarts: status.restarts,
            restart_job,
            job_restarts: if restart_job {
                status
                    .replicated_jobs_status
                    .iter()
                    .map(|s| {
                        (
                            s.name.clone(),
                            s.job_restarts.clone(),
                            s.job_restarts_count_towards_max.clone(),
                        )
                    })
                    .collect()
            } else {
                Vec::new()
            },
            replicated_jobs: input
                .js
                .spec
                .replicated_jobs
                .iter()
                .map(|rj| (rj.name.clone(), rj.replicas()))
                .collect(),
        }
    }
}

impl Classified {
    /// Whether this classification is the one a pass over `input`'s Jobs would make:
    /// made from the same version of the same Jobs, with the fields of its key unchanged.
    /// (The key is built again to compare: a few small allocations a reconcile, against
    /// a comparison that could drift from what `ClassifyKey::of` reads.)
    fn holds(&self, input: &Input<'_>) -> bool {
        self.key.jobs_version.is_some() && self.key == ClassifyKey::of(input)
    }

    /// What [`Classified::follow_rows`] needs of a row from before a refresh (see [`RefreshedRow`]).
    #[inline(always)]
    pub fn marks_of(row: &ChildJob) -> u8 {
        active_marks(row)
    }

    /// Follows the refreshes of rows of the Jobs since version `from` of them: `refreshed`
    /// lists each row refreshed since, once, with its position and what it counted before
    /// its first refresh ([`marks_of`](Classified::marks_of)); `rows` are the Jobs as they
    /// are now, at version `version`. Each listed row is classified again and its part of
    /// the counts updated, and the classification becomes the one of `version`. Only for
    /// a classification of version `from` (`None`: the list does not cover the changes, as
    /// after a rebuild) and not under the `RestartJob` gate (whose per-index targets it
    /// does not keep); else it is left as it is, for the reconcile to make a new one.
    /// False when a listed row is missing: the caller drops it. The reconcile's debug
    /// assertion compares a kept classification with a fresh pass, so a wrong update fails
    /// the tests that reach it.
    ///
    /// Between two reconciles of a large JobSet many rows change (pods created, ready),
    /// but far from all: following them costs less than the pass over every row the
    /// reconcile would make otherwise.
    pub fn follow_rows(
        &mut self,
        from: Option<u64>,
        version: u64,
        refreshed: &[RefreshedRow],
        rows: &[ChildJob],
    ) -> bool {
        if self.key.restart_job || from.is_none() || self.key.jobs_version != from {
            return true;
        }
        self.key.jobs_version = Some(version);
        let restarts = self.key.restarts;
        // With one run of Jobs (one replicated Job, the usual large JobSet), the changes
        // of `Active` Jobs' marks are summed here and counted once.
        let one_run = self.runs.len() == 1;
        let mut sum = [0i32; 3];
        for &(pos, m0) in refreshed {
            let pos = pos as usize;
            let (Some(row), Some(&b0)) = (rows.get(pos), self.buckets.get(pos)) else {
                return false;
            };
            let b1 = bucket_of(row, restarts);
            let m1 = active_marks(row);
            if b0 != b1 {
                if !self.change_bucket(pos, (b0, m0), (b1, m1)) {
                    return false;
                }
            } else if b0 == Bucket::Active && m1 != m0 {
                for (bit, s) in sum.iter_mut().enumerate() {
                    *s += i32::from(m1 >> bit & 1) - i32::from(m0 >> bit & 1);
                }
                if !one_run {
                    self.add_sum(pos, std::mem::take(&mut sum));
                }
            }
        }
        if one_run {
            self.add_sum(0, sum);
        }
        true
    }

    /// Adds changes of `Active` rows' marks (as [`active_marks`]' bits: ready, active,
    /// suspended) to the status row `pos` counts in and to the suspended count.
    #[inline]
    fn add_sum(&mut self, pos: usize, [ready, active, suspended]: [i32; 3]) {
        self.suspended_active = self.suspended_active.wrapping_add_signed(suspended);
        if let Some(s) = self.status_of(pos) {
            s.ready += ready;
            s.active += active;
            s.suspended += suspended;
        }
    }

    /// The status row `pos` counts in.
    #[inline]
    fn status_of(&mut self, pos: usize) -> Option<&mut ReplicatedJobStatus> {
        let run = self.runs.partition_point(|r| r.0 as usize <= pos);
        let s = self.runs.get(run)?.1?;
        self.rj_statuses.get_mut(s as usize)
    }

    /// `follow_rows` for a row that changed buckets (a Job finished, mostly).
    #[cold]
    #[inline(never)]
    fn change_bucket(&mut self, pos: usize, (b0, m0): (Bucket, u8), (b1, m1): (Bucket, u8)) -> bool {
        self.buckets[pos] = b1;
        let at = pos as u32;
        for (b, marks, sign) in [(b0, m0, -1), (b1, m1, 1)] {
            match b {
                Bucket::Active => self.add_sum(pos, [0, 1, 2].map(|bit| sign * i32::from(marks >> bit & 1))),
                Bucket::Previous => self.previous = self.previous.wrapping_add_signed(sign),
                Bucket::Failed | Bucket::Successful => {
                    let list = if b == Bucket::Failed {
                        &mut self.failed
                    } else {
                        &mut self.successful
                    };
                    match (list.binary_search(&at), sign) {
                        (Err(i), 1) => list.insert(i, at),
                        (Ok(i), -1) => {
                            list.remove(i);
                        }
                        _ => return false,
                    }
                    if let Some(s) = self.status_of(pos) {
                        if b == Bucket::Failed {
                            s.failed += sign;
                        } else {
                            s.succeeded += sign;
                        }
                    }
                }
            }
        }
        true
    }
}

/// Classifies the child Jobs and counts them into the replicated-job statuses: the
/// buckets in one pass, then the counts run by run of Jobs sharing a replicated Job
/// name.
fn classify_all(input: &Input<'_>) -> Classified {
    let status = &input.js.status;
    let jobs = &input.jobs[..];
    let mut out = Classified {
        key: ClassifyKey::of(input),
        buckets: jobs.iter().map(|j| classify(j, status, input.gates)).collect(),
        // Still in spec order during the pass: a Job counts in the first status with its name.
        rj_statuses: empty_replicated_job_statuses(input, status),
        failed: Vec::new(),
        successful: Vec::new(),
        present: no_indexes_present(input.js),
        present_count: vec![0; input.js.spec.replicated_jobs.len()],
        runs: Vec::new(),
        previous: 0,
        suspended_active: 0,
    };
    // Runs of consecutive Jobs with one replicated Job name (the engine's Jobs of one
    // replicated Job are consecutive and share one name string, so a pointer check
    // usually decides): each run is counted into its status in local counters.
    let mut start = 0;
    while start < jobs.len() {
        let name: &str = &jobs[start].rj_name;
        let len = jobs[start..]
            .iter()
            .position(|j| !(std::ptr::eq(&*j.rj_name, name) || *j.rj_name == *name))
            .unwrap_or(jobs.len() - start);
        let run = start..start + len;
        let group = first_named(input.js, name);
        let mut counts = RunCounts::default();
        let mut marked = 0;
        let bitmap: &mut [bool] = match group {
            Some(g) => &mut out.present[g],
            None => &mut [],
        };
        for (pos, (j, &b)) in run.clone().zip(jobs[run.clone()].iter().zip(&out.buckets[run])) {
            match b {
                Bucket::Failed => out.failed.push(pos as u32),
                Bucket::Successful => out.successful.push(pos as u32),
                Bucket::Previous => out.previous += 1,
                Bucket::Active => out.suspended_active += u32::from(j.suspended),
            }
            counts.add(active_marks(j), b);
            if j.job_index >= 0
                && let Some(slot) = bitmap.get_mut(j.job_index as usize)
                && !*slot
            {
                *slot = true;
                marked += 1;
            }
        }
        if let Some(g) = group {
            counts.into_status(&mut out.rj_statuses[g]);
            out.present_count[g] += marked;
        }
        start += len;
        out.runs.push((start as u32, None));
    }
    out.rj_statuses.sort_by(|a, b| b.name.cmp(&a.name));
    // Each run's status, found by name in the sorted statuses: the stable sort keeps the
    // first status of a name (the one counted in) first among that name's.
    let mut start = 0;
    for run in &mut out.runs {
        let name = &jobs[start].rj_name;
        if first_named(input.js, name).is_some() {
            run.1 = out.rj_statuses.iter().position(|s| *s.name == **name).map(|i| i as u32);
        }
        start = run.0 as usize;
    }
    out
}

/// What a run of Jobs adds to its replicated Job's status counts (R4).
#[derive(Default)]
struct RunCounts {
    ready: i32,
    active: i32,
    suspended: i32,
    succeeded: i32,
    failed: i32,
}

impl RunCounts {
    /// Adds one classified Job (its bucket and [`active_marks`]).
    fn add(&mut self, marks: u8, b: Bucket) {
        match b {
            Bucket::Active => {
                self.ready += i32::from(marks & 1);
                self.active += i32::from(marks >> 1 & 1);
                self.suspended += i32::from(marks >> 2 & 1);
            }
            Bucket::Successful => self.succeeded += 1,
            Bucket::Failed => self.failed += 1,
            Bucket::Previous => {}
        }
    }

    fn into_status(self, s: &mut ReplicatedJobStatus) {
        s.ready += self.ready;
        s.active += self.active;
        s.suspended += self.suspended;
        s.succeeded += self.succeeded;
        s.failed += self.failed;
    }
}

/// The empty `Classified::present`: one bitmap per replicated Job name (indexed by the
/// first replicated Job of that name), up to the largest `replicas` of that name
/// (creation only asks below `replicas`).
fn no_indexes_present(js: &JobSet) -> Vec<Vec<bool>> {
    let rjs = &js.spec.replicated_jobs;
    let mut cap = vec![0usize; rjs.len()];
    for (r, rj) in rjs.iter().enumerate() {
        let g = first_named(js, &rj.name).unwrap_or(r);
        cap[g] = cap[g].max(rj.replicas().max(0) as usize);
    }
    cap.iter().map(|c| vec![false; *c]).collect()
}

/// One zeroed status per replicated Job in spec order, keeping the per-index restart
/// counts of `old` (RestartJob).
fn empty_replicated_job_statuses(input: &Input<'_>, old: &JobSetStatus) -> Vec<ReplicatedJobStatus> {
    input
        .js
        .spec
        .replicated_jobs
        .iter()
        .map(|rj| {
            let mut s = ReplicatedJobStatus {
                name: rj.name.clone(),
                ..Default::default()
            };
            if input.gates.restart_job
                && let Some(o) = old.rj_status(&rj.name)
            {
                s.job_restarts = o.job_restarts.clone();
                s.job_restarts_count_towards_max = o.job_restarts_count_towards_max.clone();
            }
            s
        })
        .collect()
}

fn all_jobs_ready(js: &JobSet, status: &JobSetStatus) -> bool {
    let total: i32 = js.spec.replicated_jobs.iter().map(|r| r.replicas()).sum();
    let ready: i32 = status
        .replicated_jobs_status
        .iter()
        .map(|s| s.ready + s.succeeded)
        .sum();
    total == ready
}

/// `allReplicasStarted`: ready + failed + succeeded == replicas.
fn replicas_started(status: &JobSetStatus, rj: &str, replicas: i32) -> bool {
    status
        .rj_status(rj)
        .is_some_and(|s| s.ready + s.failed + s.succeeded == replicas)
}

/// `dependencyReachedStatus` for every dependsOn entry of replicated Job `rj_index`.
fn depends_on_met(js: &JobSet, rj_index: usize, status: &JobSetStatus) -> bool {
    let rj = &js.spec.replicated_jobs[rj_index];
    let Some(deps) = &rj.depends_on else { return true };
    deps.iter().all(|dep| {
        // replicas read from the replicated Jobs visited so far (incl. this one); later/unknown read 0.
        let replicas = js.spec.replicated_jobs[..=rj_index]
            .iter()
            .find(|r| r.name == dep.name)
            .map(|r| r.replicas())
            .unwrap_or(0);
        let Some(s) = status.rj_status(&dep.name) else {
            return false;
        };
        if dep.status == "Complete" {
            replicas == s.succeeded
        } else {
            replicas == s.ready + s.failed + s.succeeded
        }
    })
}

fn success_policy_met<'j>(js: &JobSet, successful: impl Iterator<Item = &'j ChildJob>) -> bool {
    let (op, targets) = match &js.spec.success_policy {
        Some(p) => (p.operator.as_str(), &p.target_replicated_jobs[..]),
        None => ("All", &[][..]),
    };
    let in_targets = |name: &str| targets.is_empty() || targets.iter().any(|t| t == name);
    let matching = successful.filter(|j| in_targets(&j.rj_name)).count() as i64;
    let needed: i64 = if op == "Any" {
        1
    } else {
        js.spec
            .replicated_jobs
            .iter()
            .filter(|r| in_targets(&r.name))
            .map(|r| i64::from(r.replicas()))
            .sum()
    };
    matching >= needed
}

/// Applies a desired condition with upstream's update rules (§10.1). Returns
/// whether anything changed; a change queues one event.
pub fn set_condition(
    status: &mut JobSetStatus,
    type_: &str,
    true_: bool,
    reason: &str,
    message: &str,
    now: Millis,
    events: &mut Vec<KEvent>,
) -> bool {
    let st = if true_ { "True" } else { "False" };
    let mut changed = false;
    if let Some(c) = status.conditions.iter_mut().find(|c| c.type_ == type_) {
        if c.status != st {
            *c = Condition {
                type_: type_.into(),
                status: st.into(),
                reason: reason.into(),
                message: message.into(),
                last_transition_time: now,
            };
            changed = true;
        } else if c.reason != reason || c.message != message {
            c.reason = reason.into();
            c.message = message.into();
            changed = true;
        }
    } else if true_ {
        status.conditions.push(Condition {
            type_: type_.into(),
            status: st.into(),
            reason: reason.into(),
            message: message.into(),
            last_transition_time: now,
        });
        changed = true;
    }
    if changed && true_ {
        let other = match type_ {
            COND_STARTUP_IN_PROGRESS => Some(COND_STARTUP_COMPLETED),
            COND_STARTUP_COMPLETED => Some(COND_STARTUP_IN_PROGRESS),
            _ => None,
        };
        if let Some(other) = other
            && let Some(c) = status.conditions.iter_mut().find(|c| c.type_ == other && c.is_true())
        {
            c.status = "False".into();
        }
    }
    if changed {
        events.push(KEvent {
            type_: condition_event_type(type_, true_),
            reason: reason.into(),
            message: message.into(),
        });
    }
    changed
}

fn condition_event_type(type_: &str, true_: bool) -> &'static str {
    match (type_, true_) {
        (COND_FAILED, true) | (COND_RESTARTING, true) => "Warning",
        _ => "Normal",
    }
}

fn set_completed(status: &mut JobSetStatus, now: Millis, events: &mut Vec<KEvent>) {
    set_condition(
        status,
        COND_COMPLETED,
        true,
        REASON_ALL_JOBS_COMPLETED,
        MSG_ALL_JOBS_COMPLETED,
        now,
        events,
    );
    set_condition(
        status,
        COND_RESTARTING,
        false,
        REASON_JOBSET_COMPLETED,
        MSG_ALL_JOBS_COMPLETED,
        now,
        events,
    );
    status.terminal_state = "Completed".into();
}

pub(crate) fn set_failed(
    status: &mut JobSetStatus,
    reason: &str,
    message: &str,
    now: Millis,
    events: &mut Vec<KEvent>,
) {
    set_condition(status, COND_FAILED, true, reason, message, now, events);
    set_condition(
        status,
        COND_RESTARTING,
        false,
        REASON_JOBSET_FAILED,
        MSG_JOBSET_FAILED,
        now,
        events,
    );
    status.terminal_state = "Failed".into();
}

fn suffix(msg: &str, job: &str) -> String {
    format!("{msg} (first failed job: {job})")
}

/// Earliest failure; ties keep list order (`findFirstFailedJob`).
fn first_failed<'a, 'b>(jobs: impl Iterator<Item = &'b ChildJob>) -> Option<&'b ChildJob>
where
    'a: 'b,
{
    let mut best: Option<&ChildJob> = None;
    for j in jobs {
        let t = j.finish.as_ref().map(|f| f.last_transition_time / 1000).unwrap_or(0);
        if best.is_none_or(|b| t < b.finish.as_ref().map(|f| f.last_transition_time / 1000).unwrap_or(0)) {
            best = Some(j);
        }
    }
    best
}

/// Why `rule` does not apply to `job`, or `None` when it applies (`ruleIsApplicable`).
pub fn rule_mismatch(rule: &crate::api::FailurePolicyRule, job: &ChildJob) -> Option<String> {
    let f = job.finish.as_deref()?;
    if !rule.on_job_failure_reasons.is_empty() && !rule.on_job_failure_reasons.contains(&f.reason) {
        return Some(format!(
            "reason {} is not in onJobFailureReasons {:?}",
            f.reason, rule.on_job_failure_reasons
        ));
    }
    if !rule.on_job_failure_message_patterns.is_empty()
        && !rule
            .on_job_failure_message_patterns
            .iter()
            .any(|p| crate::pattern_match(p, &f.message))
    {
        return Some(format!(
            "message \"{}\" matches none of onJobFailureMessagePatterns {:?}",
            f.message, rule.on_job_failure_message_patterns
        ));
    }
    if job.rj_name.is_empty() {
        return Some("the Job has no replicatedjob-name label".into());
    }
    if !rule.target_replicated_jobs.is_empty() && !rule.target_replicated_jobs.iter().any(|t| **t == *job.rj_name) {
        return Some(format!(
            "replicated Job {} is not in targetReplicatedJobs {:?}",
            job.rj_name, rule.target_replicated_jobs
        ));
    }
    None
}

/// §5: exactly one failure decision.
fn execute_failure_policy(
    js: &JobSet,
    status: &mut JobSetStatus,
    failed: &[&ChildJob],
    gates: Gates,
    now: Millis,
    events: &mut Vec<KEvent>,
) -> Result<Decision, String> {
    let Some(fp) = &js.spec.failure_policy else {
        let job = first_failed(failed.iter().copied()).expect("failed is non-empty");
        set_failed(
            status,
            REASON_FAILED_JOBS,
            &suffix(MSG_FAILED_JOBS, &job.name),
            now,
            events,
        );
        return Ok(Decision {
            rule: None,
            action: "FailJobSet".into(),
            job: job.name.to_string(),
            skipped_rules: Vec::new(),
            restart_attempt: None,
            failed_reason: Some(REASON_FAILED_JOBS),
        });
    };
    // findFirstFailedPolicyRuleAndJob: rule order dominates failure time.
    let mut skipped = Vec::new();
    let mut matched: Option<(&crate::api::FailurePolicyRule, &ChildJob)> = None;
    for rule in &fp.rules {
        let applicable = failed.iter().copied().filter(|j| rule_mismatch(rule, j).is_none());
        match first_failed(applicable) {
            Some(j) => {
                matched = Some((rule, j));
                break;
            }
            None => {
                let why = failed
                    .iter()
                    .map(|j| format!("{}: {}", j.name, rule_mismatch(rule, j).unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join("; ");
                skipped.push((rule.name.clone(), why));
            }
        }
    }
    let (rule_name, action, job) = match matched {
        Some((r, j)) => (Some(r.name.clone()), r.action.clone(), j),
        None => (
            None,
            "RestartJobSet".to_string(),
            first_failed(failed.iter().copied()).expect("non-empty"),
        ),
    };
    let rule_reason = match &rule_name {
        Some(n) => format!("FailurePolicy_{n}"),
        None => REASON_DEFAULT_FAILURE_POLICY.to_string(),
    };
    let mut decision = Decision {
        rule: rule_name,
        action: action.clone(),
        job: job.name.to_string(),
        skipped_rules: skipped,
        restart_attempt: None,
        failed_reason: None,
    };
    let per_job_counted: i32 = status
        .replicated_jobs_status
        .iter()
        .flat_map(|s| s.job_restarts_count_towards_max.iter())
        .sum();
    let counted = if gates.restart_job {
        status.restarts_count_towards_max + per_job_counted
    } else {
        status.restarts_count_towards_max
    };
    let max = fp.max_restarts();
    let reach_max = |status: &mut JobSetStatus, events: &mut Vec<KEvent>, d: &mut Decision| {
        set_failed(
            status,
            REASON_REACHED_MAX_RESTARTS,
            &suffix(MSG_REACHED_MAX_RESTARTS, &job.name),
            now,
            events,
        );
        d.failed_reason = Some(REASON_REACHED_MAX_RESTARTS);
    };
    match action.as_str() {
        "FailJobSet" => {
            set_failed(
                status,
                REASON_FAIL_JOBSET_ACTION,
                &suffix("applying FailJobSet failure policy action", &job.name),
                now,
                events,
            );
            decision.failed_reason = Some(REASON_FAIL_JOBSET_ACTION);
        }
        "RestartJobSet" | "RestartJobSetAndIgnoreMaxRestarts" => {
            let counts = action == "RestartJobSet";
            if counts && counted >= max {
                reach_max(status, events, &mut decision);
            } else {
                status.restarts += 1;
                if counts {
                    status.restarts_count_towards_max += 1;
                }
                let msg = suffix(&format!("applying {action} failure policy action"), &job.name);
                set_condition(status, COND_RESTARTING, true, &rule_reason, &msg, now, events);
                events.push(KEvent {
                    type_: "Warning",
                    reason: format!("{action}FailurePolicyAction"),
                    message: msg,
                });
                decision.restart_attempt = Some(status.restarts);
            }
        }
        "RestartJob" | "RestartJobAndIgnoreMaxRestarts" => {
            if !gates.restart_job {
                return Err(format!(
                    "failure policy action {action} requires the RestartJob feature gate"
                ));
            }
            let counts = action == "RestartJob";
            if counts && counted >= max {
                reach_max(status, events, &mut decision);
            } else {
                let replicas = js
                    .spec
                    .replicated_jobs
                    .iter()
                    .find(|r| *r.name == *job.rj_name)
                    .map(|r| r.replicas())
                    .unwrap_or(0);
                let Some(s) = status
                    .replicated_jobs_status
                    .iter_mut()
                    .find(|s| *s.name == *job.rj_name)
                else {
                    return Err(format!("replicated job {} not found in status", job.rj_name));
                };
                let k = job.job_index.max(0) as usize;
                if s.job_restarts.is_empty() {
                    s.job_restarts = vec![0; replicas.max(0) as usize];
                }
                if k >= s.job_restarts.len() {
                    return Err(format!("job index {k} out of range for jobRestarts of {}", job.rj_name));
                }
                s.job_restarts[k] += 1;
                if counts {
                    if s.job_restarts_count_towards_max.is_empty() {
                        s.job_restarts_count_towards_max = vec![0; replicas.max(0) as usize];
                    }
                    s.job_restarts_count_towards_max[k] += 1;
                }
                let msg = suffix(&format!("applying {action} failure policy action"), &job.name);
                events.push(KEvent {
                    type_: "Warning",
                    reason: format!("{action}FailurePolicyAction"),
                    message: msg,
                });
            }
        }
        other => return Err(format!("unknown failure policy action {other}")),
    }
    Ok(decision)
}
