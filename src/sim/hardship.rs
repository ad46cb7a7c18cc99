//! Control-plane hardship (`hardship:` in a scenario): seeded trouble in the
//! control plane itself, off unless the scenario enables it.
//!
//! - `watchDelay: D`: every watch notification to the JobSet controller or the
//!   Job controller is delivered a uniform `[0, D]` later (on top of
//!   `controllerDelay`), so notifications about different objects can be
//!   reordered. The reconcile still reads the store when it runs (a lagged
//!   notification, not a lagged cache: see the README).
//! - `statusConflicts: p`: each status write (JobSet status by the JobSet
//!   controller, Job status by the Job controller) fails with a Conflict with
//!   probability `p`; the write and its queued events are lost and the key is
//!   retried with the controller's rate-limited backoff (JobSet: 5 ms doubling
//!   to 1000 s, controller-runtime's default; Job: 1 s doubling to 60 s,
//!   `DefaultJobApiBackOff`/`MaxJobApiBackOff`).
//! - `slowDeletion: D`: a deleted Job stays in the store (deletionTimestamp
//!   set) `D` longer before it is gone; `JobDeleted` fires when it is gone.
//! - `controllerRestarts: {mtbf, restartDelay}`: each controller crashes as a
//!   Poisson process; a crash drops its workqueue and in-memory state (retry
//!   counters; the Job controller's pod-failure backoff records); notifications
//!   while it is down are lost; after `restartDelay` it lists the store and
//!   queues every object.
//!
//! Each process has its own ChaCha stream (ids 2–5, below the random fault
//! processes' `1000 + i`), so enabling hardship never shifts a fault draw.

use super::*;
use crate::scenario::Hardship;

pub const JOBSET_CONTROLLER: u8 = 0;
pub const JOB_CONTROLLER: u8 = 1;

pub const STREAM_WATCH_DELAY: u64 = 2;
pub const STREAM_STATUS_CONFLICTS: u64 = 3;
pub const STREAM_RESTARTS_JOBSET: u64 = 4;
pub const STREAM_RESTARTS_JOB: u64 = 5;

/// The Job controller's API error backoff (`DefaultJobApiBackOff`, `MaxJobApiBackOff`).
const JOB_API_BACKOFF_MS: Millis = 1_000;
const JOB_API_BACKOFF_MAX_MS: Millis = 60_000;

const CONTROLLER_NAMES: [&str; 2] = ["jobset-controller", "job-controller"];

pub struct HardshipState {
    cfg: Hardship,
    rng_watch: ChaCha8Rng,
    rng_conflicts: ChaCha8Rng,
    rng_restarts: [ChaCha8Rng; 2],
    /// Per controller: down (crashed, not yet resynced) until this time.
    down_until: [Millis; 2],
    /// Jobs whose removal is delayed: false while waiting, true once due.
    gone: BTreeMap<JobId, bool>,
    /// The last JobSet status computed but lost to a conflict: (event number, JobSet, status).
    unwritten: Option<(u64, JobSetId, crate::api::JobSetStatus)>,
}

impl HardshipState {
    pub fn new(cfg: &Hardship, seed: u64) -> HardshipState {
        HardshipState {
            cfg: cfg.clone(),
            rng_watch: rng_stream(seed, STREAM_WATCH_DELAY),
            rng_conflicts: rng_stream(seed, STREAM_STATUS_CONFLICTS),
            rng_restarts: [
                rng_stream(seed, STREAM_RESTARTS_JOBSET),
                rng_stream(seed, STREAM_RESTARTS_JOB),
            ],
            down_until: [0; 2],
            gone: BTreeMap::new(),
            unwritten: None,
        }
    }

    /// The controller has crashed and not resynced yet.
    pub fn down(&self, controller: u8, now: Millis) -> bool {
        now < self.down_until[controller as usize]
    }

    /// A watch lag in [0, watchDelay].
    fn lag(&mut self) -> Millis {
        if self.cfg.watch_delay == 0 {
            return 0;
        }
        use rand::Rng;
        self.rng_watch.next_u64() % (self.cfg.watch_delay + 1)
    }

    /// Whether the next status write conflicts.
    fn conflict(&mut self) -> bool {
        let p = self.cfg.status_conflicts;
        if p <= 0.0 {
            return false;
        }
        use rand::Rng;
        let u = (self.rng_conflicts.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        u < p
    }
}

/// Job status transitions whose trace events belong to the status write.
pub fn is_job_status_event(name: &str) -> bool {
    matches!(
        name,
        "JobSuspended" | "JobResumed" | "JobFailureTarget" | "JobSuccessCriteriaMet" | "JobFailed" | "JobCompleted"
    )
}

fn job_status_eq(a: &JobStatus, b: &JobStatus) -> bool {
    a.conditions == b.conditions
        && a.start_time == b.start_time
        && a.completion_time == b.completion_time
        && a.active == b.active
        && a.ready == b.ready
        && a.terminating == b.terminating
        && a.succeeded == b.succeeded
        && a.failed == b.failed
        && a.completed_indexes == b.completed_indexes
        && a.failed_indexes == b.failed_indexes
}

fn conflict_message(resource: &str, name: &str) -> String {
    format!(
        "Operation cannot be fulfilled on {resource} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
    )
}

impl World {
    /// The status the JobSet controller computed for `id` during the current event but could
    /// not write (a conflict): what its Job creations in this event were based on.
    pub fn unwritten_jobset_status(&self, id: JobSetId) -> Option<&crate::api::JobSetStatus> {
        let (n, js, st) = self.hardship.as_ref()?.unwritten.as_ref()?;
        (*n == self.events_processed && *js == id).then_some(st)
    }

    fn hardship_event(&self, mut ev: TraceEvent, cause: &str, object: String, message: String) -> TraceEvent {
        ev.event = "HardshipInjected";
        ev.cause = Some(cause.to_string());
        ev.object = Some(object);
        ev.message = Some(message);
        ev
    }

    /// Schedules the first crash of each controller (`controllerRestarts`).
    pub(super) fn start_hardship(&mut self) {
        let Some(h) = self.hardship.as_mut() else { return };
        let Some(cr) = h.cfg.controller_restarts else { return };
        let mut first = [0; 2];
        for (c, t) in first.iter_mut().enumerate() {
            *t = faults::exp_ms(&mut h.rng_restarts[c], cr.mtbf as f64);
        }
        for (c, t) in first.into_iter().enumerate() {
            self.push(t, Ev::ControllerCrash(c as u8));
        }
    }

    // ---------------------------------------------------------------- watchDelay

    /// A watch notification for a JobSet: its controller reconciles after
    /// `controllerDelay` (plus the watch lag under hardship, out of line).
    // Always inlined: with `#[inline]` LLVM left it out of line, and every Job
    // deletion, removal and status write paid the call for a queue push.
    #[inline(always)]
    pub(super) fn notify_jobset(&mut self, id: JobSetId) {
        if self.hardship.is_none() {
            return self.enqueue_jobset(id, self.sc.timing.controller_delay);
        }
        self.notify_jobset_lagged(id);
    }

    /// `notify_jobset` under hardship (out of line: the common path stays small).
    #[inline(never)]
    fn notify_jobset_lagged(&mut self, id: JobSetId) {
        let cd = self.sc.timing.controller_delay;
        let h = self.hardship.as_mut().expect("called under hardship");
        if h.down(JOBSET_CONTROLLER, self.now) {
            return;
        }
        let lag = h.lag();
        if let Some((due, epoch)) = self.js_queue.add(id, self.now + cd + lag) {
            self.push(due, Ev::JobSetReconcile(id, epoch));
            if lag > 0 {
                let name = self.jobsets.get(id).map(|j| j.name.to_string()).unwrap_or_default();
                let ev = self.jobset_event("", id);
                let ev = self.hardship_event(ev, "watchDelay", format!("JobSet/{name}"), format!("+{lag}ms"));
                self.emit(ev);
            }
        }
    }

    /// A watch notification for a Job (its own writes or its pods'): the Job
    /// controller syncs after `delay` (plus the watch lag under hardship).
    #[inline]
    pub(super) fn notify_job(&mut self, id: JobId, delay: Millis) {
        if self.hardship.is_none() {
            return self.enqueue_job(id, delay);
        }
        self.notify_job_lagged(id, delay);
    }

    /// `notify_job` under hardship (out of line: the common path stays small).
    #[inline(never)]
    fn notify_job_lagged(&mut self, id: JobId, delay: Millis) {
        let h = self.hardship.as_mut().expect("called under hardship");
        if h.down(JOB_CONTROLLER, self.now) {
            return;
        }
        let lag = h.lag();
        if let Some((due, epoch)) = self.job_queue.add(id, self.now + delay + lag) {
            self.push(due, Ev::JobSync(id, epoch));
            if lag > 0 {
                let name = self.jobs.get(id).map(|j| j.name.to_string()).unwrap_or_default();
                let ev = self.job_event("", id);
                let ev = self.hardship_event(ev, "watchDelay", format!("Job/{name}"), format!("+{lag}ms"));
                self.emit(ev);
            }
        }
    }

    // ---------------------------------------------------------------- statusConflicts

    /// The JobSet controller is about to write a JobSet's status: true if the
    /// write conflicts (then the retry is queued with backoff and the write,
    /// with its events, is lost).
    pub(super) fn jobset_status_conflict(&mut self, id: JobSetId, status: crate::api::JobSetStatus) -> bool {
        let Some(h) = self.hardship.as_mut() else { return false };
        if !h.conflict() {
            return false;
        }
        h.unwritten = Some((self.events_processed, id, status));
        let n = {
            let f = self.js_queue.failures.entry(id).or_insert(0);
            *f += 1;
            *f
        };
        let backoff = (5u64 << (n - 1).min(20)).min(1_000_000);
        let name = self.jobsets.get(id).map(|j| j.name.to_string()).unwrap_or_default();
        let ev = self.jobset_event("", id);
        let msg = format!(
            "{}; retry {n} in {backoff}ms",
            conflict_message("jobsets.jobset.x-k8s.io", &name)
        );
        let ev = self.hardship_event(ev, "statusConflict", format!("JobSet/{name}"), msg);
        self.emit(ev);
        self.enqueue_jobset(id, backoff);
        true
    }

    /// One Job controller sync under hardship. With a conflict drawn, the sync
    /// runs (pod creations and deletions are real API calls made before the
    /// status write), but if it would write the Job's status or count a
    /// finished pod (which upstream records in the status before removing the
    /// pod's finalizer), the write fails: the status and the controller's
    /// counting are restored, finished pods keep their finalizers (they are
    /// counted by a later sync), the status events are not emitted, and the
    /// Job is retried after the controller's API backoff.
    pub(super) fn sync_job_with_hardship(&mut self, jid: JobId) {
        let writable = self
            .jobs
            .get(jid)
            .is_some_and(|j| j.finished().is_none() && j.deletion.is_none());
        let conflict = writable && self.hardship.as_mut().is_some_and(|h| h.conflict());
        if !conflict {
            self.sync_job(jid);
            self.job_queue.failures.remove(&jid);
            return;
        }
        let j = self.jobs.get(jid).expect("writable");
        let status = j.status.clone();
        let counters = (j.failures_since_success, j.last_failure_at, j.index_failures.clone());
        // Pods deleted by the suspend path (and those killed once success is met) lose
        // their finalizer with the delete call (upstream's deleteJobPods); they stay counted.
        let keep_live = j.suspend
            || (j.has_condition(crate::api::constants::JOB_SUCCESS_CRITERIA_MET)
                && !j.has_condition(crate::api::constants::JOB_FAILURE_TARGET));
        let uncounted: Vec<(PodId, bool)> = j
            .pods
            .iter()
            .filter_map(|(_, pid)| {
                let p = self.pods.get(*pid)?;
                (!p.counted).then_some((*pid, !p.phase.terminal() && p.deletion.is_none()))
            })
            .collect();
        self.mute_job_status = true;
        self.sync_job(jid);
        self.mute_job_status = false;
        let newly: Vec<(PodId, bool)> = uncounted
            .into_iter()
            .filter(|(pid, _)| self.pods.get(*pid).is_some_and(|p| p.counted))
            .collect();
        let Some(j) = self.jobs.get_mut(jid) else { return };
        if job_status_eq(&j.status, &status) && newly.is_empty() {
            // Nothing to write: no conflict can happen.
            self.job_queue.failures.remove(&jid);
            return;
        }
        j.status = status;
        (j.failures_since_success, j.last_failure_at, j.index_failures) = counters;
        for (pid, live) in newly {
            if !(keep_live && live)
                && let Some(p) = self.pods.get_mut(pid)
            {
                p.counted = false;
            }
        }
        let n = {
            let f = self.job_queue.failures.entry(jid).or_insert(0);
            *f += 1;
            *f
        };
        let backoff = (JOB_API_BACKOFF_MS << (n - 1).min(16)).min(JOB_API_BACKOFF_MAX_MS);
        let name = self.jobs.get(jid).map(|j| j.name.to_string()).unwrap_or_default();
        let ev = self.job_event("", jid);
        let msg = format!("{}; retry {n} in {backoff}ms", conflict_message("jobs.batch", &name));
        let ev = self.hardship_event(ev, "statusConflict", format!("Job/{name}"), msg);
        self.emit(ev);
        self.enqueue_job(jid, backoff);
    }

    // ---------------------------------------------------------------- slowDeletion

    /// Called as a Job is about to be gone from the store: true if it must stay
    /// (deletionTimestamp set) until a `JobGone` event.
    pub(super) fn defer_job_removal(&mut self, jid: JobId) -> bool {
        let Some(h) = self.hardship.as_mut() else { return false };
        let d = h.cfg.slow_deletion;
        if d == 0 {
            return false;
        }
        match h.gone.get(&jid) {
            Some(true) => {
                h.gone.remove(&jid);
                false
            }
            Some(false) => true,
            None => {
                h.gone.insert(jid, false);
                self.push(self.now + d, Ev::JobGone(jid));
                let name = self.jobs.get(jid).map(|j| j.name.to_string()).unwrap_or_default();
                let ev = self.job_event("", jid);
                let ev = self.hardship_event(ev, "slowDeletion", format!("Job/{name}"), format!("gone after +{d}ms"));
                self.emit(ev);
                true
            }
        }
    }

    pub(super) fn job_gone(&mut self, jid: JobId) {
        let Some(h) = self.hardship.as_mut() else { return };
        let Some(due) = h.gone.get_mut(&jid) else { return };
        *due = true;
        if self.jobs.get(jid).is_some() {
            self.remove_job(jid);
        } else if let Some(h) = self.hardship.as_mut() {
            h.gone.remove(&jid);
        }
    }

    // ---------------------------------------------------------------- controllerRestarts

    pub(super) fn controller_crash(&mut self, c: u8) {
        let now = self.now;
        let Some(h) = self.hardship.as_mut() else { return };
        let Some(cr) = h.cfg.controller_restarts else { return };
        h.down_until[c as usize] = now + cr.restart_delay;
        let next = now + cr.restart_delay + faults::exp_ms(&mut h.rng_restarts[c as usize], cr.mtbf as f64);
        let dropped = if c == JOBSET_CONTROLLER {
            self.js_queue.clear()
        } else {
            // The Job controller's pod-failure backoff records live in memory.
            let ids: Vec<JobId> = self.jobs.iter().map(|(id, _)| id).collect();
            for id in ids {
                let j = self.jobs.get_mut(id).expect("listed");
                j.failures_since_success = 0;
                j.last_failure_at = 0;
            }
            self.job_queue.clear()
        };
        let ev = TraceEvent::default();
        let ev = self.hardship_event(
            ev,
            "controllerRestart",
            format!("controller/{}", CONTROLLER_NAMES[c as usize]),
            format!(
                "workqueue dropped ({dropped} keys); resync after {}ms",
                cr.restart_delay
            ),
        );
        self.emit(ev);
        self.push(now + cr.restart_delay, Ev::ControllerResync(c));
        self.push(next, Ev::ControllerCrash(c));
    }

    /// The restarted controller has listed the store: every object is queued.
    pub(super) fn controller_resync(&mut self, c: u8) {
        if self.hardship.as_ref().is_none_or(|h| h.down(c, self.now)) {
            return; // crashed again meanwhile; a later resync comes
        }
        let cd = self.sc.timing.controller_delay;
        let n = if c == JOBSET_CONTROLLER {
            let ids: Vec<JobSetId> = self.jobsets.iter().map(|(id, _)| id).collect();
            for &id in &ids {
                self.enqueue_jobset(id, cd);
            }
            ids.len()
        } else {
            let ids: Vec<JobId> = self.jobs.iter().map(|(id, _)| id).collect();
            for &id in &ids {
                self.enqueue_job(id, cd);
            }
            ids.len()
        };
        let ev = TraceEvent {
            event: "ControllerResynced",
            object: Some(format!("controller/{}", CONTROLLER_NAMES[c as usize])),
            message: Some(format!("listed {n} objects")),
            ..Default::default()
        };
        self.emit(ev);
    }
}
