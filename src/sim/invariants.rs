//! The invariant checker (TigerBeetle-style state checker,
//! `../shared/design/crates-and-style.md` §2.5): after every event it checks
//! the whole world against named invariants taken from
//! `../shared/spec/jobset-controller.md` §22 and from the Kubernetes objects'
//! own rules (store consistency, node accounting, Job status, time). It only
//! observes: it reads the world after each event and the trace events as they
//! are emitted, keeps the little history it needs (previous counters, terminal
//! snapshots), and never changes the run.
//!
//! Enabled by `RunOptions::check_invariants` (`run --check-invariants`,
//! always in `check` and in the tests). Every pass is O(objects) per event;
//! with the checker off the engine pays two `Option` tests per event.

use super::World;
use super::store::*;
use crate::api::constants::*;
use crate::api::{Condition, JobSet, JobSetStatus, condition_true, find_condition};
use crate::trace::TraceEvent;
use crate::units::{Millis, format_duration};
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

/// Every invariant: (name, where it comes from, what it says).
pub const INVARIANTS: &[(&str, &str, &str)] = &[
    // JobSet status and the controller (jobset-controller.md §22).
    (
        "terminal-is-sticky",
        "§22.1",
        "once Completed or Failed, conditions, restarts, counted restarts, per-Job counters and terminalState never change",
    ),
    (
        "terminal-exclusive",
        "§22.2",
        "Completed=True and Failed=True never coexist",
    ),
    (
        "terminal-state-mirrors-condition",
        "§22.3",
        "terminalState is \"Completed\"/\"Failed\" exactly when that condition is True, else empty",
    ),
    (
        "restarts-monotone",
        "§22.4",
        "restarts and restartsCountTowardsMax never decrease and grow by at most 1 per event",
    ),
    (
        "counted-restarts-le-restarts",
        "§22.5",
        "0 ≤ restartsCountTowardsMax ≤ restarts, and the difference is the number of RestartJobSetAndIgnoreMaxRestarts actions",
    ),
    (
        "restart-budget",
        "§22.6",
        "counted restarts (plus counted per-Job restarts with RestartJob) never exceed maxRestarts",
    ),
    (
        "job-restart-counters",
        "§22.7",
        "jobRestarts[k] ≥ jobRestartsCountTowardsMax[k], non-empty arrays have length replicas, values never decrease",
    ),
    (
        "no-policy-no-restarts",
        "§22.8",
        "without failurePolicy there are no restarts and a failure is Failed/FailedJobs",
    ),
    (
        "attempt-label-at-creation",
        "§22.9",
        "a Job is created with restart-attempt (and job-restart-attempt) equal to the persisted counters",
    ),
    (
        "attempt-le-restarts",
        "§22.10",
        "no child Job's restart-attempt exceeds restarts, nor its job-restart-attempt jobRestarts[k]",
    ),
    (
        "no-duplicate-creation",
        "§22.11",
        "the controller never tries to create a Job whose name exists (JobCreationFailed: already exists)",
    ),
    (
        "blocking-recreate-barrier",
        "§22.12",
        "under BlockingRecreate no Job is created while an outdated Job exists, and two restart attempts never coexist",
    ),
    (
        "well-formed-children",
        "§22.13",
        "children are named <js>-<rj>-<i> with 0 ≤ i < replicas, labels agree, job-global-index = offset + i (distinct)",
    ),
    (
        "suspended-at-birth",
        "§22.14",
        "a Job is created suspended exactly when its JobSet is suspended",
    ),
    (
        "in-order-creation",
        "§22.15",
        "InOrder: a Job of replicated Job k is created (unsuspended JobSet) only once every earlier replicated Job started",
    ),
    (
        "in-order-resume",
        "§22.16",
        "InOrder: a Job of replicated Job k is resumed only once every earlier replicated Job started",
    ),
    (
        "depends-on-gating",
        "§22.17",
        "a Job is created or resumed only when every dependsOn of its replicated Job is met",
    ),
    (
        "startup-conditions-exclusive",
        "§22.18",
        "StartupPolicyInProgress and StartupPolicyCompleted are never both True, and exist only under InOrder",
    ),
    (
        "one-condition-per-type",
        "§22.19",
        "one condition per type, and none is created False",
    ),
    (
        "restarting-consistent",
        "§22.20",
        "RestartingJobSet=True implies restarts ≥ 1 and a non-terminal JobSet",
    ),
    (
        "events-match-counters",
        "§22.21",
        "RestartJobSet* action events equal restarts; RestartJob* action events equal Σ jobRestarts",
    ),
    (
        "status-shape",
        "§22.22",
        "replicatedJobsStatus: one entry per replicated Job, by name descending, counts within replicas",
    ),
    (
        "cleanup-after-finish",
        "§22.25",
        "at quiescence a terminal JobSet has no unfinished current-run Job left undeleted",
    ),
    (
        "hands-off",
        "§22.26",
        "a deleting or externally managed JobSet gets no status write and no new Job",
    ),
    (
        "service-singleton",
        "§22.27",
        "at most one headless Service per JobSet, named after its subdomain, only with DNS hostnames",
    ),
    (
        "pvc-ownership",
        "§22.28",
        "a policy PVC carries the JobSet's owner reference iff its whenDeleted is Delete, and no PVC outlives its owner",
    ),
    (
        "pvcs-before-jobs",
        "§15",
        "a JobSet with volume claim policies has every policy PVC once it has a child Job (R11 precedes R13)",
    ),
    (
        "in-place-monotone",
        "§22.31",
        "previous/currentInPlaceRestartAttempt never decrease, and previous never exceeds current",
    ),
    // The store and the other components.
    (
        "job-names-unique",
        "store",
        "no two Jobs share a namespace/name; the name index matches the Jobs",
    ),
    (
        "jobset-names-unique",
        "store",
        "no two JobSets share a namespace/name; the name index matches the JobSets",
    ),
    (
        "child-listed-in-owner",
        "store",
        "every child Job is listed in its owner JobSet's jobs map and every listed Job exists and points back",
    ),
    (
        "pod-owned-by-job",
        "store",
        "every pod is listed by its existing Job (or is an orphan being deleted), and every listed pod points back",
    ),
    (
        "index-in-range",
        "Job",
        "Indexed pods, completed and failed indexes lie in [0, completions)",
    ),
    (
        "one-active-pod-per-index",
        "Job",
        "an Indexed Job never has two active (not terminal, not deleting) pods for one index",
    ),
    (
        "exclusive-domains",
        "§13",
        "exclusive placement: a bound live leader's domain holds no bound pod of another Job of its priority",
    ),
    (
        "job-in-one-domain",
        "§13.3",
        "exclusive placement: once the pod controller has acted, a Job's bound live pods sit in its leader's domain",
    ),
    (
        "pod-bound-once",
        "scheduler",
        "a pod is bound to at most one node, and its binding never changes",
    ),
    (
        "pod-phase-monotone",
        "kubelet",
        "a pod's phase never goes back (Pending, Running, then Succeeded or Failed for good)",
    ),
    (
        "pod-ready-implies-running",
        "kubelet",
        "a Ready pod is Running, bound and not deleting",
    ),
    (
        "node-pod-list-consistent",
        "scheduler",
        "a node lists exactly its bound non-terminal pods",
    ),
    (
        "node-allocation-consistent",
        "scheduler",
        "a node's allocated equals the sum of requests of its bound non-terminal pods",
    ),
    (
        "node-within-allocatable",
        "scheduler",
        "0 ≤ allocated ≤ allocatable for every resource of every node",
    ),
    (
        "job-counters-consistent",
        "Job",
        "0 ≤ ready ≤ active, counters non-negative, Indexed succeeded = |completedIndexes|",
    ),
    (
        "job-counters-monotone",
        "Job",
        "a Job's succeeded and failed never decrease",
    ),
    (
        "job-terminal-sticky",
        "Job",
        "Complete, Failed, FailureTarget and SuccessCriteriaMet never revert once True",
    ),
    (
        "job-terminal-implies-criterion",
        "Job",
        "Failed implies FailureTarget; Complete implies SuccessCriteriaMet",
    ),
    (
        "job-not-complete-and-failed",
        "Job",
        "a Job is never both Complete and Failed",
    ),
    (
        "job-finished-has-no-live-pods",
        "Job",
        "a Complete or Failed Job has only terminal pods",
    ),
    (
        "time-monotone",
        "engine",
        "time never goes back and never passes the horizon",
    ),
    // Kueue-style queues (src/sim/kueue.rs).
    (
        "quota-usage-consistent",
        "Kueue",
        "a ClusterQueue's used quota per resource equals the sum of the requests of the JobSets whose Workloads hold a reservation in it",
    ),
    (
        "quota-within-nominal",
        "Kueue",
        "0 ≤ used ≤ nominal quota for every flavor and resource of every ClusterQueue (nothing is admitted that does not fit)",
    ),
    (
        "pods-only-when-admitted",
        "Kueue",
        "a queued JobSet that is not finished or deleting has live pods only while its Workload holds a quota reservation",
    ),
];

/// A broken invariant: which, when, and what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub invariant: &'static str,
    pub t: Millis,
    /// `World::events_processed` when the check ran (the event just processed).
    pub event_index: u64,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invariant {} violated at {} (event {}): {}",
            self.invariant,
            format_duration(self.t),
            self.event_index,
            self.detail
        )
    }
}

/// Per-replicated-Job counters: (name, jobRestarts, jobRestartsCountTowardsMax).
type RjCounters = (String, Vec<i32>, Vec<i32>);

/// What `terminal-is-sticky` freezes when a JobSet first turns terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Frozen {
    conditions: Vec<Condition>,
    restarts: i32,
    counted: i32,
    terminal_state: String,
    job_counters: Vec<RjCounters>,
}

#[derive(Debug, Default)]
struct JobSetMemo {
    restarts: i32,
    counted: i32,
    job_counters: Vec<RjCounters>,
    cond_types: Vec<String>,
    terminal: Option<Frozen>,
    hands_off: Option<JobSetStatus>,
    /// Some child is outdated (previous attempt) as of this event.
    has_outdated: bool,
    /// (previous, current) in-place restart attempts at the last check.
    in_place: (Option<i32>, Option<i32>),
}

#[derive(Debug, Clone, Copy)]
struct JobMemo {
    /// The completions the Job controller last synced against (elastic scale-down).
    synced_completions: Option<i32>,
    succeeded: i32,
    failed: i32,
    suspend: bool,
    complete: bool,
    failed_cond: bool,
    failure_target: bool,
    success_criteria: bool,
}

#[derive(Debug)]
struct PodMemo {
    node: Option<NodeId>,
    phase: Phase,
    /// The pod's requests, kept for orphans whose Job is already gone.
    reqs: Option<Rc<Vec<(usize, i64)>>>,
}

/// Failure-policy action events seen for one JobSet (§22.21).
#[derive(Debug, Clone, Copy, Default)]
struct ActionEvents {
    restart_jobset: i32,
    restart_jobset_ignore: i32,
    restart_job: i32,
    restart_job_ignore: i32,
}

/// The checker kept in `World::invariants`.
#[derive(Debug, Default)]
pub struct Checker {
    started: bool,
    last_now: Millis,
    /// Jobs with an id at or above this were created since the last check.
    job_watermark: JobId,
    jobsets: BTreeMap<JobSetId, JobSetMemo>,
    jobs: Vec<(JobId, JobMemo)>,
    jobs_next: Vec<(JobId, JobMemo)>,
    pods: Vec<(PodId, PodMemo)>,
    pods_next: Vec<(PodId, PodMemo)>,
    node_alloc: Vec<i64>,
    node_count: Vec<usize>,
    /// Pods whose Job exists, and Jobs whose owner JobSet exists (this check).
    pods_with_job: usize,
    jobs_with_owner: usize,
    /// Σ |jobs| over JobSets and Σ |pods| over Jobs (this check).
    listed_jobs: usize,
    listed_pods: usize,
    scratch: Vec<i64>,
    /// The store's uid counter and object counts at the last check: Jobs and
    /// JobSets were created or removed when they differ.
    last_uid: u64,
    last_counts: (usize, usize),
    /// namespace → JobSet name → action events (reset on `JobSetCreated`).
    events: BTreeMap<String, BTreeMap<String, ActionEvents>>,
    /// Violations seen in the trace, reported at the next check.
    pending: Vec<(&'static str, String)>,
    found: Vec<Violation>,
}

/// Collects violations of one check.
struct Out<'a> {
    found: &'a mut Vec<Violation>,
    t: Millis,
    event_index: u64,
}

impl Out<'_> {
    fn fail(&mut self, invariant: &'static str, detail: String) {
        debug_assert!(
            INVARIANTS.iter().any(|i| i.0 == invariant),
            "unlisted invariant {invariant}"
        );
        self.found.push(Violation {
            invariant,
            t: self.t,
            event_index: self.event_index,
            detail,
        });
    }
}

impl Checker {
    /// Sees every trace event as it is emitted (one line in `World::emit`).
    pub fn observe(&mut self, ev: &TraceEvent) {
        match ev.event {
            "JobSetCreated" => {
                if let (Some(ns), Some(js)) = (&ev.namespace, &ev.jobset) {
                    self.events
                        .entry(ns.to_string())
                        .or_default()
                        .insert(js.to_string(), ActionEvents::default());
                }
            }
            "Event" => {
                let Some(reason) = ev.reason.as_deref() else { return };
                if reason == EVENT_JOB_CREATION_FAILED {
                    let msg = ev.message.as_deref().unwrap_or("");
                    if msg.contains("already exists") {
                        self.pending.push((
                            "no-duplicate-creation",
                            format!("JobSet {}: {msg}", ev.jobset.as_deref().unwrap_or("?")),
                        ));
                    }
                    return;
                }
                let (Some(ns), Some(js)) = (&ev.namespace, &ev.jobset) else {
                    return;
                };
                let field: fn(&mut ActionEvents) -> &mut i32 = match reason {
                    "RestartJobSetFailurePolicyAction" => |a| &mut a.restart_jobset,
                    "RestartJobSetAndIgnoreMaxRestartsFailurePolicyAction" => |a| &mut a.restart_jobset_ignore,
                    "RestartJobFailurePolicyAction" => |a| &mut a.restart_job,
                    "RestartJobAndIgnoreMaxRestartsFailurePolicyAction" => |a| &mut a.restart_job_ignore,
                    _ => return,
                };
                let a = self
                    .events
                    .entry(ns.to_string())
                    .or_default()
                    .entry(js.to_string())
                    .or_default();
                *field(a) += 1;
            }
            _ => {}
        }
    }

    /// Checks every invariant; the first violation, if any.
    pub fn check(&mut self, w: &World) -> Result<(), Violation> {
        self.run_all(w);
        let first = self.found.drain(..).next();
        match first {
            Some(v) => Err(v),
            None => Ok(()),
        }
    }

    /// Checks every invariant and returns all violations (for tests and diagnosis).
    pub fn check_all(&mut self, w: &World) -> Vec<Violation> {
        self.run_all(w);
        std::mem::take(&mut self.found)
    }

    fn run_all(&mut self, w: &World) {
        let mut found = std::mem::take(&mut self.found);
        found.clear();
        let mut out = Out {
            found: &mut found,
            t: w.now,
            event_index: w.events_processed,
        };
        for (inv, detail) in self.pending.drain(..) {
            out.fail(inv, detail);
        }
        // Names and owner lists only change when Jobs or JobSets come or go.
        let counts = (w.jobs.len(), w.jobsets.len());
        let store_changed = !self.started || w.uid != self.last_uid || counts != self.last_counts;
        self.last_uid = w.uid;
        self.last_counts = counts;
        self.check_time(w, &mut out);
        self.check_pods(w, &mut out);
        self.check_nodes(w, &mut out);
        self.check_jobsets(w, store_changed, &mut out);
        self.check_jobs(w, &mut out);
        check_services(w, &mut out, &mut self.scratch);
        if w.sc.cluster.queues.enabled() {
            check_queues(w, &mut out);
        }
        check_pvc_owners(w, &mut out);
        if !w.sched.topo.keys.is_empty() {
            check_placement(w, &mut out);
        }
        if store_changed {
            check_indexes(w, &mut out);
        }
        self.found = found;
    }

    fn check_time(&mut self, w: &World, out: &mut Out<'_>) {
        if self.started && w.now < self.last_now {
            out.fail(
                "time-monotone",
                format!("time went back from {} ms to {} ms", self.last_now, w.now),
            );
        }
        if w.now > w.sc.horizon {
            out.fail(
                "time-monotone",
                format!("time {} ms is past the horizon {} ms", w.now, w.sc.horizon),
            );
        }
        self.started = true;
        self.last_now = w.now;
    }

    // ------------------------------------------------------------------ pods

    fn check_pods(&mut self, w: &World, out: &mut Out<'_>) {
        let nres = w.resources.len();
        let nn = w.nodes.len();
        self.node_alloc.clear();
        self.node_alloc.resize(nn * nres, 0);
        self.node_count.clear();
        self.node_count.resize(nn, 0);
        self.pods_with_job = 0;
        let mut old = std::mem::take(&mut self.pods);
        let mut next = std::mem::take(&mut self.pods_next);
        next.clear();
        let mut k = 0;
        for (pid, p) in w.pods.iter() {
            while k < old.len() && old[k].0 < pid {
                k += 1;
            }
            let prev = if k < old.len() && old[k].0 == pid {
                Some(&mut old[k].1)
            } else {
                None
            };
            let job = w.jobs.get(p.job);
            match job {
                Some(_) => self.pods_with_job += 1,
                None if p.deletion.is_none() => out.fail(
                    "pod-owned-by-job",
                    format!(
                        "pod {} belongs to Job id {} which does not exist, and is not being deleted",
                        p.name, p.job
                    ),
                ),
                None => {}
            }
            if let Some(j) = job
                && j.spec.is_indexed()
                && (p.index < 0 || (p.deletion.is_none() && index_bound(j).is_some_and(|c| p.index >= c)))
            {
                out.fail(
                    "index-in-range",
                    format!(
                        "pod {} of Indexed Job {} has index {} outside [0, {:?})",
                        p.name, j.name, p.index, j.completions
                    ),
                );
            }
            if let Some(m) = &prev {
                if m.node.is_some() && m.node != p.node {
                    out.fail(
                        "pod-bound-once",
                        format!(
                            "pod {} was bound to {} and is now bound to {}",
                            p.name,
                            node_name(w, m.node),
                            node_name(w, p.node)
                        ),
                    );
                }
                if phase_rank(p.phase) < phase_rank(m.phase) || (m.phase.terminal() && p.phase != m.phase) {
                    out.fail(
                        "pod-phase-monotone",
                        format!("pod {} went from {} to {}", p.name, m.phase.as_str(), p.phase.as_str()),
                    );
                }
            }
            if p.ready && (p.phase != Phase::Running || p.node.is_none() || p.deletion.is_some()) {
                out.fail(
                    "pod-ready-implies-running",
                    format!(
                        "pod {} is Ready but phase {}, node {}, deleting {}",
                        p.name,
                        p.phase.as_str(),
                        node_name(w, p.node),
                        p.deletion.is_some()
                    ),
                );
            }
            let reqs = prev
                .and_then(|m| m.reqs.take())
                .or_else(|| job.map(|j| j.pod_requests.clone()));
            if let Some(n) = p.node
                && !p.phase.terminal()
            {
                if n >= nn {
                    out.fail(
                        "node-pod-list-consistent",
                        format!("pod {} is bound to unknown node id {n}", p.name),
                    );
                } else {
                    if !w.nodes[n].pods.contains(&pid) {
                        out.fail(
                            "node-pod-list-consistent",
                            format!(
                                "pod {} is bound to {} and not terminal, but the node does not list it",
                                p.name, w.nodes[n].name
                            ),
                        );
                    }
                    self.node_count[n] += 1;
                    match &reqs {
                        Some(r) => {
                            for (ri, v) in r.iter() {
                                if let Some(slot) = self.node_alloc.get_mut(n * nres + ri) {
                                    *slot += v;
                                }
                            }
                        }
                        None => out.fail(
                            "node-allocation-consistent",
                            format!(
                                "pod {} on {} has unknown requests (its Job is gone)",
                                p.name, w.nodes[n].name
                            ),
                        ),
                    }
                }
            }
            next.push((
                pid,
                PodMemo {
                    node: p.node,
                    phase: p.phase,
                    reqs,
                },
            ));
        }
        old.clear();
        self.pods_next = old;
        self.pods = next;
    }

    fn check_nodes(&mut self, w: &World, out: &mut Out<'_>) {
        let nres = w.resources.len();
        for (n, node) in w.nodes.iter().enumerate() {
            if node.pods.len() != self.node_count[n] {
                let extra = node.pods.iter().find(|pid| {
                    w.pods
                        .get(**pid)
                        .is_none_or(|p| p.node != Some(n) || p.phase.terminal())
                });
                let what = match extra.map(|pid| (pid, w.pods.get(*pid))) {
                    Some((pid, None)) => format!("pod id {pid} that does not exist"),
                    Some((_, Some(p))) => format!(
                        "pod {} (bound to {}, phase {})",
                        p.name,
                        node_name(w, p.node),
                        p.phase.as_str()
                    ),
                    None => "a pod twice".into(),
                };
                out.fail(
                    "node-pod-list-consistent",
                    format!(
                        "node {} lists {} pods but has {} bound non-terminal pods; it lists {what}",
                        node.name,
                        node.pods.len(),
                        self.node_count[n]
                    ),
                );
            }
            for r in 0..nres {
                let a = node.allocated.get(r).copied().unwrap_or(0);
                let cap = node.allocatable.get(r).copied().unwrap_or(0);
                let sum = self.node_alloc[n * nres + r];
                if a != sum {
                    out.fail(
                        "node-allocation-consistent",
                        format!(
                            "node {}: allocated {} is {a} but its bound non-terminal pods request {sum}",
                            node.name, w.resources[r]
                        ),
                    );
                }
                if a < 0 || a > cap {
                    out.fail(
                        "node-within-allocatable",
                        format!(
                            "node {}: allocated {} is {a}, allocatable {cap}",
                            node.name, w.resources[r]
                        ),
                    );
                }
            }
        }
    }

    // ------------------------------------------------------------------ JobSets

    fn check_jobsets(&mut self, w: &World, store_changed: bool, out: &mut Out<'_>) {
        let gate = w.sc.gates.restart_job;
        let quiescent = w.queue.is_empty();
        self.jobsets.retain(|id, _| w.jobsets.get(*id).is_some());
        self.listed_jobs = 0;
        for (id, jso) in w.jobsets.iter() {
            let memo = self.jobsets.entry(id).or_default();
            let events = self
                .events
                .get(&*jso.namespace)
                .and_then(|m| m.get(&*jso.name))
                .copied()
                .unwrap_or_default();
            check_jobset_status(jso, memo, events, gate, out);
            check_lifecycle(w, jso, memo, out);
            memo.has_outdated = check_children(w, id, jso, gate, quiescent, store_changed, out);
            self.listed_jobs += jso.jobs.len();
        }
    }

    // ------------------------------------------------------------------ Jobs

    fn check_jobs(&mut self, w: &World, out: &mut Out<'_>) {
        let old = std::mem::take(&mut self.jobs);
        let mut next = std::mem::take(&mut self.jobs_next);
        next.clear();
        let mut k = 0;
        let mut watermark = self.job_watermark;
        self.listed_pods = 0;
        self.jobs_with_owner = 0;
        for (jid, j) in w.jobs.iter() {
            while k < old.len() && old[k].0 < jid {
                k += 1;
            }
            let prev = (k < old.len() && old[k].0 == jid).then(|| old[k].1);
            let fresh = jid >= self.job_watermark;
            watermark = watermark.max(jid + 1);
            let memo = check_job_status(w, jid, j, prev, out);
            self.listed_pods += j.pods.len();
            if let Some(s) = &j.stamp
                && check_child(w, j, s, prev, fresh, &self.jobsets, out)
            {
                self.jobs_with_owner += 1;
            }
            next.push((jid, memo));
        }
        self.job_watermark = watermark;
        // With the per-entry back-pointer checks, equal totals make the lists exact.
        if self.listed_pods != self.pods_with_job {
            out.fail(
                "pod-owned-by-job",
                format!(
                    "Jobs list {} pods but {} pods name an existing Job",
                    self.listed_pods, self.pods_with_job
                ),
            );
        }
        if self.listed_jobs != self.jobs_with_owner {
            out.fail(
                "child-listed-in-owner",
                format!(
                    "JobSets list {} Jobs but {} Jobs name an existing owner",
                    self.listed_jobs, self.jobs_with_owner
                ),
            );
        }
        let mut old = old;
        old.clear();
        self.jobs_next = old;
        self.jobs = next;
    }
}

fn phase_rank(p: Phase) -> u8 {
    match p {
        Phase::Pending => 0,
        Phase::Running => 1,
        Phase::Succeeded | Phase::Failed => 2,
    }
}

fn node_name(w: &World, n: Option<NodeId>) -> String {
    match n {
        None => "no node".into(),
        Some(n) => w
            .nodes
            .get(n)
            .map(|x| x.name.to_string())
            .unwrap_or_else(|| format!("node id {n}")),
    }
}

fn counters_of(st: &JobSetStatus) -> Vec<RjCounters> {
    st.replicated_jobs_status
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                r.job_restarts.clone(),
                r.job_restarts_count_towards_max.clone(),
            )
        })
        .collect()
}

fn counters_equal(st: &JobSetStatus, memo: &[RjCounters]) -> bool {
    st.replicated_jobs_status.len() == memo.len()
        && st
            .replicated_jobs_status
            .iter()
            .zip(memo)
            .all(|(r, m)| r.name == m.0 && r.job_restarts == m.1 && r.job_restarts_count_towards_max == m.2)
}

/// `jobRestarts[k]` of a replicated Job, missing read as 0.
fn job_restarts_target(st: &JobSetStatus, rj: &str, k: i32) -> i32 {
    usize::try_from(k)
        .ok()
        .and_then(|k| st.rj_status(rj).and_then(|r| r.job_restarts.get(k).copied()))
        .unwrap_or(0)
}

/// A child of the current run (R3): not of an earlier attempt, globally or per Job.
fn current_run(st: &JobSetStatus, s: &JobStamp, gate: bool) -> bool {
    if s.restart_attempt < st.restarts {
        return false;
    }
    match s.job_restart_attempt {
        Some(a) if gate => a >= job_restarts_target(st, &s.rj_name, s.job_index),
        _ => true,
    }
}

fn external(js: &JobSet) -> bool {
    js.spec
        .managed_by
        .as_deref()
        .is_some_and(|m| m != JOBSET_CONTROLLER_NAME)
}

/// `allReplicasStarted` (§4) read from the persisted status.
fn started(st: &crate::api::JobSetStatus, rj: &crate::api::ReplicatedJob) -> bool {
    st.rj_status(&rj.name)
        .is_some_and(|s| s.ready + s.failed + s.succeeded == rj.replicas())
}

/// §8: why replicated Job `rj_index`'s dependencies are not met, if they are not.
fn deps_unmet(js: &JobSet, st: &crate::api::JobSetStatus, rj_index: usize) -> Option<String> {
    let rj = js.spec.replicated_jobs.get(rj_index)?;
    let deps = rj.depends_on.as_ref()?;
    for dep in deps {
        let replicas = js.spec.replicated_jobs[..=rj_index]
            .iter()
            .find(|r| r.name == dep.name)
            .map(|r| r.replicas())
            .unwrap_or(0);
        let Some(s) = st.rj_status(&dep.name) else {
            return Some(format!("dependency {} has no status", dep.name));
        };
        let ok = if dep.status == "Complete" {
            s.succeeded == replicas
        } else {
            s.ready + s.failed + s.succeeded == replicas
        };
        if !ok {
            return Some(format!(
                "dependency {} ({}) has ready {} succeeded {} failed {} of {replicas}",
                dep.name, dep.status, s.ready, s.succeeded, s.failed
            ));
        }
    }
    None
}

/// §22 items 1–8, 18–22, 26 on one JobSet's persisted status.
fn check_jobset_status(jso: &JobSetObj, memo: &mut JobSetMemo, ev: ActionEvents, gate: bool, out: &mut Out<'_>) {
    let st = &jso.js.status;
    let spec = &jso.js.spec;
    let name = &jso.name;
    let completed = condition_true(&st.conditions, COND_COMPLETED);
    let failed = condition_true(&st.conditions, COND_FAILED);
    let terminal = completed || failed;
    if completed && failed {
        out.fail(
            "terminal-exclusive",
            format!("JobSet {name} has Completed=True and Failed=True"),
        );
    } else {
        let want = if completed {
            "Completed"
        } else if failed {
            "Failed"
        } else {
            ""
        };
        if st.terminal_state != want {
            out.fail(
                "terminal-state-mirrors-condition",
                format!(
                    "JobSet {name} has terminalState {:?} but the conditions say {want:?}",
                    st.terminal_state
                ),
            );
        }
    }
    match &memo.terminal {
        Some(f) => {
            let mut changed = Vec::new();
            if f.conditions != st.conditions {
                changed.push("conditions");
            }
            if f.restarts != st.restarts {
                changed.push("restarts");
            }
            if f.counted != st.restarts_count_towards_max {
                changed.push("restartsCountTowardsMax");
            }
            if f.terminal_state != st.terminal_state {
                changed.push("terminalState");
            }
            if !counters_equal(st, &f.job_counters) {
                changed.push("jobRestarts");
            }
            if !changed.is_empty() {
                out.fail(
                    "terminal-is-sticky",
                    format!(
                        "JobSet {name} changed {} after it became {}",
                        changed.join(", "),
                        f.terminal_state
                    ),
                );
            }
        }
        None if terminal => {
            memo.terminal = Some(Frozen {
                conditions: st.conditions.clone(),
                restarts: st.restarts,
                counted: st.restarts_count_towards_max,
                terminal_state: st.terminal_state.clone(),
                job_counters: counters_of(st),
            });
        }
        None => {}
    }
    for (what, old, new) in [
        ("restarts", memo.restarts, st.restarts),
        ("restartsCountTowardsMax", memo.counted, st.restarts_count_towards_max),
    ] {
        if new < old || new > old + 1 {
            out.fail(
                "restarts-monotone",
                format!("JobSet {name}: {what} went from {old} to {new} in one event"),
            );
        }
    }
    memo.restarts = st.restarts;
    memo.counted = st.restarts_count_towards_max;
    if st.restarts_count_towards_max < 0 || st.restarts_count_towards_max > st.restarts {
        out.fail(
            "counted-restarts-le-restarts",
            format!(
                "JobSet {name}: restartsCountTowardsMax {} is outside [0, restarts {}]",
                st.restarts_count_towards_max, st.restarts
            ),
        );
    } else if st.restarts - st.restarts_count_towards_max != ev.restart_jobset_ignore {
        out.fail(
            "counted-restarts-le-restarts",
            format!(
                "JobSet {name}: restarts {} - counted {} differs from {} RestartJobSetAndIgnoreMaxRestarts actions",
                st.restarts, st.restarts_count_towards_max, ev.restart_jobset_ignore
            ),
        );
    }
    let per_job_counted: i32 = st
        .replicated_jobs_status
        .iter()
        .flat_map(|r| r.job_restarts_count_towards_max.iter())
        .sum();
    let per_job_total: i32 = st
        .replicated_jobs_status
        .iter()
        .flat_map(|r| r.job_restarts.iter())
        .sum();
    if let Some(fp) = &spec.failure_policy {
        let used = st.restarts_count_towards_max + if gate { per_job_counted } else { 0 };
        if used > fp.max_restarts() {
            out.fail(
                "restart-budget",
                format!(
                    "JobSet {name}: {used} counted restarts exceed maxRestarts {}",
                    fp.max_restarts()
                ),
            );
        }
    } else {
        if st.restarts != 0 || st.restarts_count_towards_max != 0 || per_job_total != 0 {
            out.fail(
                "no-policy-no-restarts",
                format!(
                    "JobSet {name} has no failurePolicy but restarts {}, counted {}, per-Job restarts {per_job_total}",
                    st.restarts, st.restarts_count_towards_max
                ),
            );
        }
        if let Some(c) = find_condition(&st.conditions, COND_FAILED).filter(|c| c.is_true())
            && c.reason != REASON_FAILED_JOBS
        {
            out.fail(
                "no-policy-no-restarts",
                format!("JobSet {name} has no failurePolicy but failed with reason {}", c.reason),
            );
        }
    }
    check_job_counters(jso, memo, out);
    check_conditions(jso, memo, st.restarts, terminal, out);
    if ev.restart_jobset + ev.restart_jobset_ignore != st.restarts {
        out.fail(
            "events-match-counters",
            format!(
                "JobSet {name}: {} RestartJobSet* action events but restarts {}",
                ev.restart_jobset + ev.restart_jobset_ignore,
                st.restarts
            ),
        );
    }
    if ev.restart_job + ev.restart_job_ignore != per_job_total {
        out.fail(
            "events-match-counters",
            format!(
                "JobSet {name}: {} RestartJob* action events but Σ jobRestarts {per_job_total}",
                ev.restart_job + ev.restart_job_ignore
            ),
        );
    }
    check_status_shape(jso, out);
    if external(&jso.js) || jso.deletion.is_some() {
        match &memo.hands_off {
            Some(s) if s != st => out.fail(
                "hands-off",
                format!(
                    "JobSet {name} ({}) had its status written",
                    if jso.deletion.is_some() {
                        "being deleted"
                    } else {
                        "managed externally"
                    }
                ),
            ),
            Some(_) => {}
            None => memo.hands_off = Some(st.clone()),
        }
    }
}

/// §22.7.
fn check_job_counters(jso: &JobSetObj, memo: &mut JobSetMemo, out: &mut Out<'_>) {
    let st = &jso.js.status;
    let name = &jso.name;
    for r in &st.replicated_jobs_status {
        let replicas = jso
            .js
            .spec
            .replicated_jobs
            .iter()
            .find(|x| x.name == r.name)
            .map(|x| x.replicas());
        for (what, v) in [
            ("jobRestarts", &r.job_restarts),
            ("jobRestartsCountTowardsMax", &r.job_restarts_count_towards_max),
        ] {
            if !v.is_empty() && replicas.is_some_and(|n| usize::try_from(n).ok() != Some(v.len())) {
                out.fail(
                    "job-restart-counters",
                    format!(
                        "JobSet {name}: {what} of {} has {} entries for {replicas:?} replicas",
                        r.name,
                        v.len()
                    ),
                );
            }
        }
        let n = r.job_restarts.len().max(r.job_restarts_count_towards_max.len());
        for k in 0..n {
            let total = r.job_restarts.get(k).copied().unwrap_or(0);
            let counted = r.job_restarts_count_towards_max.get(k).copied().unwrap_or(0);
            if counted > total || counted < 0 {
                out.fail(
                    "job-restart-counters",
                    format!(
                        "JobSet {name}: {} index {k}: jobRestartsCountTowardsMax {counted} > jobRestarts {total}",
                        r.name
                    ),
                );
            }
        }
        if let Some(old) = memo.job_counters.iter().find(|m| m.0 == r.name) {
            for (what, was, now) in [
                ("jobRestarts", &old.1, &r.job_restarts),
                ("jobRestartsCountTowardsMax", &old.2, &r.job_restarts_count_towards_max),
            ] {
                for (k, a) in was.iter().enumerate() {
                    let b = now.get(k).copied().unwrap_or(0);
                    if b < *a {
                        out.fail(
                            "job-restart-counters",
                            format!("JobSet {name}: {what} of {} index {k} went from {a} to {b}", r.name),
                        );
                    }
                }
            }
        }
    }
    if !counters_equal(st, &memo.job_counters) {
        memo.job_counters = counters_of(st);
    }
}

/// §22.18, 19, 20.
fn check_conditions(jso: &JobSetObj, memo: &mut JobSetMemo, restarts: i32, terminal: bool, out: &mut Out<'_>) {
    let conds = &jso.js.status.conditions;
    let name = &jso.name;
    let in_progress = condition_true(conds, COND_STARTUP_IN_PROGRESS);
    let startup_done = condition_true(conds, COND_STARTUP_COMPLETED);
    if in_progress && startup_done {
        out.fail(
            "startup-conditions-exclusive",
            format!("JobSet {name} has StartupPolicyInProgress and StartupPolicyCompleted both True"),
        );
    }
    if !jso.js.in_order()
        && (find_condition(conds, COND_STARTUP_IN_PROGRESS).is_some()
            || find_condition(conds, COND_STARTUP_COMPLETED).is_some())
    {
        out.fail(
            "startup-conditions-exclusive",
            format!("JobSet {name} has a startup-policy condition without startupPolicyOrder InOrder"),
        );
    }
    for (i, c) in conds.iter().enumerate() {
        if conds[..i].iter().any(|d| d.type_ == c.type_) {
            out.fail(
                "one-condition-per-type",
                format!("JobSet {name} has two {} conditions", c.type_),
            );
        }
        if !memo.cond_types.contains(&c.type_) {
            if !c.is_true() {
                out.fail(
                    "one-condition-per-type",
                    format!(
                        "JobSet {name}: condition {} was created with status {}",
                        c.type_, c.status
                    ),
                );
            }
            memo.cond_types.push(c.type_.clone());
        }
    }
    if condition_true(conds, COND_RESTARTING) {
        if restarts < 1 {
            out.fail(
                "restarting-consistent",
                format!("JobSet {name} has RestartingJobSet=True with restarts {restarts}"),
            );
        }
        if terminal {
            out.fail(
                "restarting-consistent",
                format!("JobSet {name} is terminal with RestartingJobSet=True"),
            );
        }
    }
}

/// §22.22.
fn check_status_shape(jso: &JobSetObj, out: &mut Out<'_>) {
    let st = &jso.js.status;
    let rjs = &jso.js.spec.replicated_jobs;
    let name = &jso.name;
    if st.replicated_jobs_status.is_empty() {
        return;
    }
    if st.replicated_jobs_status.len() != rjs.len() {
        out.fail(
            "status-shape",
            format!(
                "JobSet {name} has {} replicatedJobsStatus entries for {} replicated Jobs",
                st.replicated_jobs_status.len(),
                rjs.len()
            ),
        );
    }
    for pair in st.replicated_jobs_status.windows(2) {
        if pair[0].name <= pair[1].name {
            out.fail(
                "status-shape",
                format!(
                    "JobSet {name}: replicatedJobsStatus not by name descending ({} before {})",
                    pair[0].name, pair[1].name
                ),
            );
        }
    }
    for r in &st.replicated_jobs_status {
        let Some(spec) = rjs.iter().find(|x| x.name == r.name) else {
            out.fail(
                "status-shape",
                format!("JobSet {name}: status for unknown replicated Job {}", r.name),
            );
            continue;
        };
        let replicas = spec.replicas();
        let unfinished_max = replicas - r.succeeded - r.failed;
        let negative = r.ready < 0 || r.succeeded < 0 || r.failed < 0 || r.active < 0 || r.suspended < 0;
        if negative || unfinished_max < 0 || r.ready.max(r.active).max(r.suspended) > unfinished_max {
            out.fail(
                "status-shape",
                format!(
                    "JobSet {name}: {} has ready {} succeeded {} failed {} active {} suspended {} for {replicas} replicas",
                    r.name, r.ready, r.succeeded, r.failed, r.active, r.suspended
                ),
            );
        }
    }
}

/// The owner's view of its children (§22.11–13, 25, store). Returns whether
/// any child is outdated.
fn check_children(
    w: &World,
    id: JobSetId,
    jso: &JobSetObj,
    gate: bool,
    quiescent: bool,
    store_changed: bool,
    out: &mut Out<'_>,
) -> bool {
    let st = &jso.js.status;
    let name = &jso.name;
    let blocking = jso
        .js
        .spec
        .failure_policy
        .as_ref()
        .is_some_and(|f| f.strategy() == "BlockingRecreate");
    let terminal = condition_true(&st.conditions, COND_COMPLETED) || condition_true(&st.conditions, COND_FAILED);
    let mut attempt: Option<(i32, &str)> = None;
    let mut outdated = false;
    for (child, &jid) in &jso.jobs {
        let Some(j) = w.jobs.get(jid) else {
            out.fail(
                "child-listed-in-owner",
                format!("JobSet {name} lists Job {child} (id {jid}) which does not exist"),
            );
            continue;
        };
        let Some(s) = j
            .stamp
            .as_ref()
            .filter(|s| s.jobset == id && (!store_changed || *j.name == **child))
        else {
            out.fail(
                "child-listed-in-owner",
                format!(
                    "JobSet {name} lists Job {child} but Job {} does not point back to it",
                    j.name
                ),
            );
            continue;
        };
        if blocking {
            match attempt {
                Some((a, other)) if a != s.restart_attempt => out.fail(
                    "blocking-recreate-barrier",
                    format!(
                        "JobSet {name} (BlockingRecreate): Job {other} of attempt {a} coexists with Job {child} of attempt {}",
                        s.restart_attempt
                    ),
                ),
                Some(_) => {}
                None => attempt = Some((s.restart_attempt, child)),
            }
        }
        if !current_run(st, s, gate) {
            outdated = true;
            continue;
        }
        if quiescent && terminal && j.finished().is_none() && j.deletion.is_none() {
            out.fail(
                "cleanup-after-finish",
                format!(
                    "JobSet {name} is {} but its unfinished Job {child} was never deleted",
                    st.terminal_state
                ),
            );
        }
    }
    outdated
}

/// The Job controller's own rules and the pods it lists.
/// Indexes must lie below `completions`; after an elastic scale-down, the larger
/// value until the Job controller's next sync removes the indexes above it.
fn index_bound(j: &JobObj) -> Option<i32> {
    match (j.completions, j.synced_completions) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    }
}

fn check_job_status(w: &World, jid: JobId, j: &JobObj, prev: Option<JobMemo>, out: &mut Out<'_>) -> JobMemo {
    let s = &j.status;
    let name = &j.name;
    let indexed = j.spec.is_indexed();
    if s.ready < 0 || s.ready > s.active || s.terminating < 0 || s.succeeded < 0 || s.failed < 0 {
        out.fail(
            "job-counters-consistent",
            format!(
                "Job {name}: active {} ready {} terminating {} succeeded {} failed {}",
                s.active, s.ready, s.terminating, s.succeeded, s.failed
            ),
        );
    }
    if indexed && usize::try_from(s.succeeded).ok() != Some(s.completed_indexes.len()) {
        out.fail(
            "job-counters-consistent",
            format!(
                "Indexed Job {name}: succeeded {} but {} completed indexes",
                s.succeeded,
                s.completed_indexes.len()
            ),
        );
    }
    let bound = index_bound(j);
    let in_range = |i: &i32| *i >= 0 && bound.is_none_or(|c| *i < c);
    if let Some(i) = s
        .completed_indexes
        .iter()
        .chain(s.failed_indexes.iter())
        .find(|i| !in_range(i))
    {
        out.fail(
            "index-in-range",
            format!(
                "Job {name}: completed/failed index {i} outside [0, {:?})",
                j.completions
            ),
        );
    }
    let complete = j.has_condition(JOB_COMPLETE);
    let failed = j.has_condition(JOB_FAILED);
    let target = j.has_condition(JOB_FAILURE_TARGET);
    let criteria = j.has_condition(JOB_SUCCESS_CRITERIA_MET);
    if let Some(m) = prev {
        // Elastic scale-down drops completed indexes (succeeded may decrease at that sync).
        let scaled_down = matches!((m.synced_completions, j.synced_completions), (Some(a), Some(b)) if b < a);
        if (s.succeeded < m.succeeded && !scaled_down) || s.failed < m.failed {
            out.fail(
                "job-counters-monotone",
                format!(
                    "Job {name}: succeeded {} -> {}, failed {} -> {}",
                    m.succeeded, s.succeeded, m.failed, s.failed
                ),
            );
        }
        for (t, was, is) in [
            (JOB_COMPLETE, m.complete, complete),
            (JOB_FAILED, m.failed_cond, failed),
            (JOB_FAILURE_TARGET, m.failure_target, target),
            (JOB_SUCCESS_CRITERIA_MET, m.success_criteria, criteria),
        ] {
            if was && !is {
                out.fail(
                    "job-terminal-sticky",
                    format!("Job {name}: condition {t} is no longer True"),
                );
            }
        }
    }
    if complete && failed {
        out.fail(
            "job-not-complete-and-failed",
            format!("Job {name} is both Complete and Failed"),
        );
    }
    if (failed && !target) || (complete && !criteria) {
        out.fail(
            "job-terminal-implies-criterion",
            format!(
                "Job {name}: {} without {}",
                if failed { JOB_FAILED } else { JOB_COMPLETE },
                if failed {
                    JOB_FAILURE_TARGET
                } else {
                    JOB_SUCCESS_CRITERIA_MET
                }
            ),
        );
    }
    let mut last_active: Option<i32> = None;
    for &(idx, pid) in &j.pods {
        let Some(p) = w.pods.get(pid).filter(|p| p.job == jid) else {
            out.fail(
                "pod-owned-by-job",
                format!("Job {name} lists pod id {pid} which does not exist or belongs to another Job"),
            );
            continue;
        };
        if p.index != if indexed { idx } else { -1 } {
            out.fail(
                "pod-owned-by-job",
                format!(
                    "Job {name} lists pod {} under index {idx} but the pod has index {}",
                    p.name, p.index
                ),
            );
        }
        if (complete || failed) && !p.phase.terminal() {
            out.fail(
                "job-finished-has-no-live-pods",
                format!("Job {name} is finished but pod {} is {}", p.name, p.phase.as_str()),
            );
        }
        if indexed && !p.phase.terminal() && p.deletion.is_none() {
            if last_active == Some(idx) {
                out.fail(
                    "one-active-pod-per-index",
                    format!("Job {name} has two active pods for index {idx} (one is {})", p.name),
                );
            }
            last_active = Some(idx);
        }
    }
    JobMemo {
        synced_completions: j.synced_completions,
        succeeded: s.succeeded,
        failed: s.failed,
        suspend: j.suspend,
        complete,
        failed_cond: failed,
        failure_target: target,
        success_criteria: criteria,
    }
}

/// A child Job against its owner (§22.9–17, 26, store). Returns whether the owner exists.
fn check_child(
    w: &World,
    j: &JobObj,
    s: &JobStamp,
    prev: Option<JobMemo>,
    fresh: bool,
    memos: &BTreeMap<JobSetId, JobSetMemo>,
    out: &mut Out<'_>,
) -> bool {
    let name = &j.name;
    let gate = w.sc.gates.restart_job;
    let Some(owner) = w.jobsets.get(s.jobset) else {
        out.fail(
            "child-listed-in-owner",
            format!("Job {name} belongs to JobSet {} which does not exist", s.jobset_name),
        );
        return false;
    };
    let js = &owner.js;
    let st = &js.status;
    if fresh {
        check_well_formed(owner, j, s, out);
    }
    if s.restart_attempt > st.restarts {
        out.fail(
            "attempt-le-restarts",
            format!(
                "Job {name} has restart-attempt {} > restarts {}",
                s.restart_attempt, st.restarts
            ),
        );
    }
    let resumed = prev.is_some_and(|m| m.suspend) && !j.suspend;
    let target = if gate && (fresh || s.job_restart_attempt.is_some()) {
        job_restarts_target(st, &s.rj_name, s.job_index)
    } else {
        0
    };
    if gate
        && let Some(a) = s.job_restart_attempt
        && a > target
    {
        out.fail(
            "attempt-le-restarts",
            format!("Job {name} has job-restart-attempt {a} > jobRestarts {target}"),
        );
    }
    let rj_index = s.rj_index;
    if !fresh && !resumed {
        return true;
    }
    if fresh {
        let want = gate.then_some(target);
        if s.restart_attempt != st.restarts || s.job_restart_attempt != want {
            out.fail(
                "attempt-label-at-creation",
                format!(
                    "Job {name} created with restart-attempt {} / job-restart-attempt {:?}; persisted {} / {want:?}",
                    s.restart_attempt, s.job_restart_attempt, st.restarts
                ),
            );
        }
        if j.suspend != js.suspended() {
            out.fail(
                "suspended-at-birth",
                format!(
                    "Job {name} created with suspend {} while its JobSet has suspend {}",
                    j.suspend,
                    js.suspended()
                ),
            );
        }
        let blocking = js
            .spec
            .failure_policy
            .as_ref()
            .is_some_and(|f| f.strategy() == "BlockingRecreate");
        if blocking && memos.get(&s.jobset).is_some_and(|m| m.has_outdated) {
            out.fail(
                "blocking-recreate-barrier",
                format!(
                    "Job {name} created while an outdated Job of JobSet {} still exists",
                    owner.name
                ),
            );
        }
        if owner.deletion.is_some() || external(js) {
            out.fail(
                "hands-off",
                format!(
                    "Job {name} created for JobSet {} which is deleting or managed externally",
                    owner.name
                ),
            );
        }
    }
    // The status the controller acted on: the persisted one, or the one it computed in this
    // event but lost to a status-write conflict (control-plane hardship).
    let seen = w.unwritten_jobset_status(s.jobset).unwrap_or(&js.status);
    if (fresh && !js.suspended() || resumed) && js.in_order() {
        let rjs = &js.spec.replicated_jobs;
        if let Some(rj) = rjs[..rj_index.min(rjs.len())].iter().find(|r| !started(seen, r)) {
            out.fail(
                if fresh { "in-order-creation" } else { "in-order-resume" },
                format!(
                    "Job {name} of replicated Job {} {} before {} started",
                    s.rj_name,
                    if fresh { "created" } else { "resumed" },
                    rj.name
                ),
            );
        }
    }
    if (fresh || resumed)
        && let Some(why) = deps_unmet(js, seen, rj_index)
    {
        out.fail(
            "depends-on-gating",
            format!("Job {name} {} while {why}", if fresh { "created" } else { "resumed" }),
        );
    }
    true
}

/// §22.13 for a new child (its name, stamp and labels are frozen at creation,
/// and the replicated Jobs are immutable).
fn check_well_formed(owner: &JobSetObj, j: &JobObj, s: &JobStamp, out: &mut Out<'_>) {
    let name = &j.name;
    let rjs = &owner.js.spec.replicated_jobs;
    let Some(rj) = rjs.get(s.rj_index).filter(|r| *r.name == *s.rj_name) else {
        out.fail(
            "well-formed-children",
            format!(
                "Job {name}: replicated Job {} (index {}) is not in the spec",
                s.rj_name, s.rj_index
            ),
        );
        return;
    };
    if s.job_index < 0 || s.job_index >= rj.replicas() {
        out.fail(
            "well-formed-children",
            format!("Job {name}: job index {} outside [0, {})", s.job_index, rj.replicas()),
        );
    }
    let suffix = name
        .strip_prefix(&*owner.name)
        .and_then(|r| r.strip_prefix('-'))
        .and_then(|r| r.strip_prefix(&*s.rj_name))
        .and_then(|r| r.strip_prefix('-'));
    let name_ok = suffix.is_some_and(|x| x.parse::<i32>() == Ok(s.job_index) && (x == "0" || !x.starts_with('0')));
    if !name_ok || *s.jobset_name != *owner.name {
        out.fail(
            "well-formed-children",
            format!("Job {name} is not named {}-{}-{}", owner.name, s.rj_name, s.job_index),
        );
    }
    let keys = s.keys();
    let label = |k: &str| keys.iter().find(|(x, _)| *x == k).map(|(_, v)| v.as_str());
    let ok = label(JOBSET_NAME_KEY) == Some(&*owner.name)
        && label(REPLICATED_JOB_NAME_KEY) == Some(&*s.rj_name)
        && label(JOB_INDEX_KEY).and_then(|v| v.parse::<i32>().ok()) == Some(s.job_index)
        && label(RESTART_ATTEMPT_KEY).and_then(|v| v.parse::<i32>().ok()) == Some(s.restart_attempt);
    // The global index is the replicas of the earlier replicated Jobs plus the
    // job index: with 0 ≤ index < replicas, distinct among coexisting Jobs.
    let offset: i32 = rjs[..s.rj_index].iter().map(|r| r.replicas()).sum();
    if label(JOB_GLOBAL_INDEX_KEY).and_then(|v| v.parse::<i32>().ok()) != Some(offset + s.job_index) {
        out.fail(
            "well-formed-children",
            format!(
                "Job {name}: job-global-index {:?} is not {}",
                label(JOB_GLOBAL_INDEX_KEY),
                offset + s.job_index
            ),
        );
    }
    if !ok {
        out.fail(
            "well-formed-children",
            format!(
                "Job {name}: jobset-name/replicatedjob-name/job-index/restart-attempt labels disagree with the Job"
            ),
        );
    }
}

/// §22.27.
fn check_services(w: &World, out: &mut Out<'_>, scratch: &mut Vec<i64>) {
    scratch.clear();
    for ((ns, name), svc) in &w.services {
        if svc.namespace != *ns || svc.name != *name {
            out.fail(
                "service-singleton",
                format!("Service {ns}/{name} is stored as {}/{}", svc.namespace, svc.name),
            );
        }
        let Some(o) = svc.owner else { continue };
        scratch.push(o as i64);
        match w.jobsets.get(o) {
            None => out.fail(
                "service-singleton",
                format!("Service {name} is owned by a JobSet (id {o}) that no longer exists"),
            ),
            Some(js) => {
                if !js.js.dns_hostnames_enabled() || js.js.subdomain() != name || js.js.namespace() != ns {
                    out.fail(
                        "service-singleton",
                        format!(
                            "Service {ns}/{name} owned by JobSet {} (DNS hostnames {}, subdomain {})",
                            js.name,
                            js.js.dns_hostnames_enabled(),
                            js.js.subdomain()
                        ),
                    );
                }
            }
        }
    }
    scratch.sort_unstable();
    if let Some(p) = scratch.windows(2).find(|p| p[0] == p[1]) {
        out.fail("service-singleton", format!("JobSet id {} owns two Services", p[0]));
    }
}

/// Name indexes are bijections with the slabs (no shared names).
fn check_indexes(w: &World, out: &mut Out<'_>) {
    if w.job_names.len() != w.jobs.len() {
        out.fail(
            "job-names-unique",
            format!("{} Jobs but {} distinct Job names", w.jobs.len(), w.job_names.len()),
        );
    }
    // Every Job is found under its own name; with equal sizes the index holds nothing else.
    for (id, j) in w.jobs.iter() {
        if w.job_names.get(&j.namespace, &j.name) != Some(id) {
            out.fail(
                "job-names-unique",
                format!(
                    "the Job name index does not map {}/{} to its id {id}",
                    j.namespace, j.name
                ),
            );
        }
    }
    if w.jobset_names.len() != w.jobsets.len() {
        out.fail(
            "jobset-names-unique",
            format!(
                "{} JobSets but {} distinct JobSet names",
                w.jobsets.len(),
                w.jobset_names.len()
            ),
        );
    }
    for ((ns, name), id) in &w.jobset_names {
        if !w
            .jobsets
            .get(*id)
            .is_some_and(|j| j.js.namespace() == ns && j.js.metadata.name == *name)
        {
            out.fail(
                "jobset-names-unique",
                format!("the JobSet name index maps {ns}/{name} to id {id}, which is not that JobSet"),
            );
        }
    }
}

#[cfg(test)]
#[path = "invariants_tests.rs"]
mod tests;

/// §15, §22.28, §22.31 on one JobSet: its policy PVCs and its in-place attempts.
fn check_lifecycle(w: &World, jso: &JobSetObj, memo: &mut JobSetMemo, out: &mut Out<'_>) {
    let name = &jso.name;
    let ns = jso.js.namespace();
    if !jso.js.spec.volume_claim_policies.is_empty() {
        for intent in crate::controllers::lifecycle::desired_pvcs(&jso.js) {
            match w.pvcs.get(&(ns.to_string(), intent.name.clone())) {
                None if !jso.jobs.is_empty() && jso.deletion.is_none() => out.fail(
                    "pvcs-before-jobs",
                    format!("JobSet {name} has child Jobs but no PVC {}", intent.name),
                ),
                None => {}
                Some(pvc) => {
                    let owner_ok = match &pvc.owner {
                        Some((uid, _)) => intent.owned && *uid == jso.uid,
                        None => !intent.owned,
                    };
                    if !owner_ok {
                        out.fail(
                            "pvc-ownership",
                            format!(
                                "PVC {} of JobSet {name} (whenDeleted {}) has owner {:?}",
                                intent.name,
                                if intent.owned { "Delete" } else { "Retain" },
                                pvc.owner.as_ref().map(|o| &o.1)
                            ),
                        );
                    }
                }
            }
        }
    }
    let st = &jso.js.status;
    let now = (
        st.previous_in_place_restart_attempt,
        st.current_in_place_restart_attempt,
    );
    let (was_prev, was_cur) = memo.in_place;
    let lower = |was: Option<i32>, is: Option<i32>| {
        matches!((was, is), (Some(a), Some(b)) if b < a) || (was.is_some() && is.is_none())
    };
    if lower(was_prev, now.0) || lower(was_cur, now.1) {
        out.fail(
            "in-place-monotone",
            format!(
                "JobSet {name}: in-place attempts (previous, current) went from {:?} to {:?}",
                memo.in_place, now
            ),
        );
    }
    if let (Some(p), c) = now
        && c.is_none_or(|c| p > c)
    {
        out.fail(
            "in-place-monotone",
            format!("JobSet {name}: previousInPlaceRestartAttempt {p} exceeds current {c:?}"),
        );
    }
    memo.in_place = now;
}

/// §22.28: an owned PVC's owner exists (the garbage collector removed the others).
fn check_pvc_owners(w: &World, out: &mut Out<'_>) {
    for ((ns, name), pvc) in &w.pvcs {
        let Some((uid, js)) = &pvc.owner else { continue };
        let alive = w
            .jobset_id(ns, js)
            .and_then(|id| w.jobsets.get(id))
            .is_some_and(|j| j.uid == *uid);
        if !alive {
            out.fail(
                "pvc-ownership",
                format!("PVC {ns}/{name} is owned by JobSet {js} (uid {uid}), which no longer exists"),
            );
        }
    }
}

/// Exclusive placement (§13): a bound, live leader's domain of its topology
/// key holds no bound pod of another Job of its priority (what its required
/// anti-affinity and the existing-pods check guarantee; once the leader has
/// finished, a late follower may share the domain, as in Kubernetes); and a
/// Job's live followers share its bound leader's domain unless the pod
/// controller still has that leader queued.
fn check_placement(w: &World, out: &mut Out<'_>) {
    // (key, domain, priority) -> job-key -> one pod name, over bound non-terminal JobSet pods.
    let mut seen: BTreeMap<(&str, &str, i32), BTreeMap<&str, &str>> = BTreeMap::new();
    let mut leaders: Vec<(&str, &str, i32, &str, &str)> = Vec::new();
    for node in &w.nodes {
        for pid in &node.pods {
            let Some(p) = w.pods.get(*pid) else { continue };
            let Some(pl) = p.placement.as_deref() else { continue };
            let Some(prio) = pl.priority_label else { continue };
            for key in w.sched.topo.keys.keys() {
                let Some(d) = node.labels.get(&**key) else { continue };
                seen.entry((&**key, d.as_str(), prio))
                    .or_default()
                    .entry(&**pl.job_key.name())
                    .or_insert(&*p.name);
                if pl.leader_terms && pl.exclusive.as_deref() == Some(&**key) {
                    leaders.push((&**key, d.as_str(), prio, &**pl.job_key.name(), &*p.name));
                }
            }
        }
    }
    for (key, d, prio, jk, name) in leaders {
        if let Some((_, other)) = seen[&(key, d, prio)].iter().find(|(k, _)| **k != jk) {
            out.fail(
                "exclusive-domains",
                format!("leader {name} shares {key}={d} with pod {other} of another Job (priority {prio})"),
            );
        }
    }
    for (_, j) in w.jobs.iter() {
        let mut leader: Option<(PodId, &str)> = None;
        for (_, pid) in j.pods.range((0, 0)..=(0, u64::MAX)) {
            let Some(p) = w.pods.get(*pid) else { continue };
            let Some(pl) = p.placement.as_deref().filter(|pl| pl.leader_terms) else {
                continue;
            };
            if let (Some(n), None, false, Some(t)) = (p.node, p.deletion, p.phase.terminal(), pl.exclusive.as_deref())
                && !w.pod_queue.is_pending(*pid)
                && let Some(d) = w.nodes[n].labels.get(t)
            {
                leader = Some((*pid, d.as_str()));
            }
        }
        let Some((lid, ld)) = leader else { continue };
        let t = w
            .pods
            .get(lid)
            .and_then(|p| p.placement.as_deref())
            .and_then(|pl| pl.exclusive.clone());
        let Some(t) = t else { continue };
        for (i, pid) in &j.pods {
            if *i == 0 {
                continue;
            }
            let Some(p) = w.pods.get(*pid) else { continue };
            let (Some(n), None, false) = (p.node, p.deletion, p.phase.terminal()) else {
                continue;
            };
            let d = w.nodes[n].labels.get(&*t).map(String::as_str).unwrap_or("");
            if d != ld {
                out.fail(
                    "job-in-one-domain",
                    format!(
                        "Job {}: follower {} is in {t}={d} but its leader is in {t}={ld}",
                        j.name, p.name
                    ),
                );
            }
        }
    }
}

/// Kueue quota accounting and admission (`quota-*`, `pods-only-when-admitted`).
fn check_queues(w: &World, out: &mut Out<'_>) {
    let cfg = &w.sc.cluster.queues;
    for cq in &cfg.cluster_queues {
        let used = w.kueue.usage.get(&cq.name);
        let covered: Vec<&String> = cq.groups.iter().flat_map(|g| &g.covered).collect();
        // Σ over reserving Workloads of their JobSet's requests (from the stored JobSet while it exists).
        let mut expected: BTreeMap<&str, i128> = BTreeMap::new();
        let mut holders = Vec::new();
        for (id, wl) in &w.kueue.workloads {
            if wl.admission.as_ref().is_none_or(|a| a.cluster_queue != cq.name) {
                continue;
            }
            holders.push(wl.jobset.to_string());
            let podsets = match w.jobsets.get(*id) {
                Some(jso) => super::kueue::podsets_of(&jso.js),
                None => wl.podsets.clone(),
            };
            for r in &covered {
                *expected.entry(r.as_str()).or_default() += podsets.iter().map(|p| p.total(r)).sum::<i128>();
            }
        }
        for r in &covered {
            let actual: i128 = used
                .map(|u| u.iter().filter(|((_, res), _)| res == *r).map(|(_, v)| *v).sum())
                .unwrap_or(0);
            let want = expected.get(r.as_str()).copied().unwrap_or(0);
            if actual != want {
                out.fail(
                    "quota-usage-consistent",
                    format!(
                        "ClusterQueue {}: used {r} is {actual} but the JobSets holding a reservation ({}) request {want}",
                        cq.name,
                        holders.join(", ")
                    ),
                );
            }
        }
        for ((flavor, r), v) in used.into_iter().flatten() {
            let nominal = cq.nominal(flavor, r);
            if *v < 0 || *v > nominal {
                out.fail(
                    "quota-within-nominal",
                    format!(
                        "ClusterQueue {}: used {r} in flavor {flavor} is {v}, nominal quota {nominal}",
                        cq.name
                    ),
                );
            }
        }
    }
    for (id, jso) in w.jobsets.iter() {
        let queued = jso
            .js
            .metadata
            .labels
            .get(QUEUE_NAME_LABEL)
            .is_some_and(|q| !q.is_empty());
        let finished = condition_true(&jso.js.status.conditions, COND_COMPLETED)
            || condition_true(&jso.js.status.conditions, COND_FAILED);
        if !queued || finished || jso.deletion.is_some() {
            continue;
        }
        if w.kueue.workloads.get(&id).is_some_and(|wl| wl.holds_quota()) {
            continue;
        }
        let live = jso
            .jobs
            .values()
            .filter_map(|j| w.jobs.get(*j))
            .flat_map(|j| j.pods.iter().map(|(_, p)| *p))
            .filter_map(|p| w.pods.get(p))
            .find(|p| p.deletion.is_none() && !p.phase.terminal());
        if let Some(p) = live {
            out.fail(
                "pods-only-when-admitted",
                format!(
                    "JobSet {}/{} has live pod {} but its Workload holds no quota reservation",
                    jso.namespace, jso.name, p.name
                ),
            );
        }
    }
}
