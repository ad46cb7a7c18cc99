//! The Kubernetes Job controller (`pkg/controller/job`), for the behaviour
//! JobSet depends on (`../shared/spec/kubernetes-job.md` §1): Indexed and
//! NonIndexed completion, parallelism, backoffLimit for Never and OnFailure,
//! pod recreation backoff, suspend, activeDeadlineSeconds, and the delayed
//! terminal conditions (FailureTarget/SuccessCriteriaMet first).

use super::*;
use crate::api::Condition;
use crate::api::constants::*;
use smallvec::SmallVec;

/// A Job's pods as (completion index, pod id): most Jobs have a handful, so a sync keeps them on the stack.
type PodList = SmallVec<[(i32, PodId); 4]>;

/// The status fields whose change makes a sync write the Job status (and notify the owner JobSet).
#[derive(Debug, Clone, PartialEq, Eq)]
struct StatusSnapshot {
    active: i32,
    ready: i32,
    succeeded: i32,
    failed: i32,
    terminating: i32,
    /// Cloned; `None` for every Job still running, which has none (so dropping a
    /// snapshot is a check, not a call).
    conditions: Option<Vec<Condition>>,
}

impl StatusSnapshot {
    fn of(s: &JobStatus) -> StatusSnapshot {
        StatusSnapshot {
            active: s.active,
            ready: s.ready,
            succeeded: s.succeeded,
            failed: s.failed,
            terminating: s.terminating,
            // Most syncs see no conditions: skip the out-of-line clone call.
            conditions: (!s.conditions.is_empty()).then(|| s.conditions.clone()),
        }
    }

    /// Whether `s` differs from the snapshot in a written field (the counts are compared first: they are cheap).
    fn differs(&self, s: &JobStatus) -> bool {
        s.active != self.active
            || s.ready != self.ready
            || s.succeeded != self.succeeded
            || s.failed != self.failed
            || s.terminating != self.terminating
            || s.conditions[..] != *self.conditions.as_deref().unwrap_or_default()
    }
}

/// A Job's live (non-terminal) pods as one sync counts them. Only counts: the few
/// paths that act on the active pods list them again ([`World::active_pods`]).
#[derive(Debug, Default)]
struct LiveCensus {
    /// Live pods without a deletion timestamp.
    active: i32,
    ready: i32,
    /// Live pods being deleted.
    terminating: i32,
    /// Container restarts of the active pods.
    restarts_live: u64,
}

impl LiveCensus {
    fn add(&mut self, p: &PodObj) {
        if p.phase.terminal() {
            return;
        }
        if p.deletion.is_some() {
            self.terminating += 1;
            return;
        }
        self.active += 1;
        if p.ready {
            self.ready += 1;
        }
        self.restarts_live += u64::from(p.restart_count);
    }
}

fn cond(type_: &str, reason: &str, message: &str, now: Millis, status: &str) -> Condition {
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: message.into(),
        last_transition_time: now,
    }
}

impl World {
    pub(super) fn sync_job(&mut self, jid: JobId) {
        let now = self.now;
        let Some(j) = self.jobs.get(jid) else { return };
        if j.deletion.is_some() {
            // A Job being deleted: the tracking finalizers of its finished pods come off
            // (upstream removes them from every pod once the Job has a deletionTimestamp).
            let finished: Vec<PodId> = j
                .pods
                .iter()
                .map(|(_, p)| *p)
                .filter(|p| self.pods.get(*p).is_some_and(|p| p.phase.terminal()))
                .collect();
            for pid in finished {
                if let Some(p) = self.pods.get_mut(pid) {
                    p.counted = true;
                }
                self.remove_pod(pid);
            }
            return;
        }
        if j.finished().is_some() {
            return;
        }
        // The spec's scalars, read once (no reference-count update per sync: syncs are frequent).
        let spec = &*j.spec;
        let indexed = spec.is_indexed();
        let replacement_failed = spec.replacement_policy_failed();
        let per_index = spec.backoff_limit_per_index;
        let active_deadline_seconds = spec.active_deadline_seconds;
        let max_failed_indexes = spec.max_failed_indexes;
        let limit = spec.backoff_limit_or_default();
        let before = StatusSnapshot::of(&j.status);
        let completions_changed = j.synced_completions != j.completions;

        // One pass over the pods: the live census, and the pods still to count. Counting
        // only removes terminal pods, so it leaves the census as it is.
        let mut census = LiveCensus::default();
        let mut uncounted: PodList = SmallVec::new();
        for &(idx, pid) in &j.pods {
            let p = self.pods.get(pid).expect("owned pod exists");
            census.add(p);
            let deleted_unfinished = !replacement_failed && p.deletion.is_some() && !p.phase.terminal();
            if !p.counted && (p.phase.terminal() || deleted_unfinished) {
                uncounted.push((idx, pid));
            }
        }

        // Count newly finished pods (the finalizer step, collapsed into one sync).
        let mut fail_job: Option<String> = None;
        let mut gone: SmallVec<[PodId; 4]> = SmallVec::new();
        for &(idx, pid) in &uncounted {
            let p = self.pods.get(pid).expect("owned pod exists");
            let outcome = match p.phase {
                Phase::Succeeded => None,
                Phase::Failed => Some(self.pod_failure_outcome(pid)),
                // Deleted before it finished (and the replacement policy does not wait).
                _ => Some(FailureOutcome::Count),
            };
            let p = self.pods.get_mut(pid).expect("exists");
            p.counted = true;
            if p.deletion.is_some() && p.phase.terminal() {
                gone.push(pid);
            }
            let j = self.jobs.get_mut(jid).expect("exists");
            match outcome {
                None => {
                    if indexed {
                        j.status.completed_indexes.insert(idx);
                        j.status.succeeded = j.status.completed_indexes.len() as i32;
                    } else {
                        j.status.succeeded += 1;
                    }
                    j.failures_since_success = 0;
                }
                Some(o) => {
                    j.failures_since_success += 1;
                    j.last_failure_at = now;
                    let e = j.index_failures.entry(idx).or_insert((0, 0, now));
                    e.2 = now;
                    match o {
                        FailureOutcome::Ignore => e.1 += 1,
                        FailureOutcome::Count | FailureOutcome::FailIndex | FailureOutcome::FailJob(_) => {
                            let prior = e.0;
                            e.0 += 1;
                            j.status.failed += 1;
                            let index_failed = match (&o, per_index) {
                                (FailureOutcome::FailIndex, Some(_)) => true,
                                (_, Some(limit)) => i64::from(prior) >= i64::from(limit),
                                _ => false,
                            };
                            if index_failed && indexed {
                                j.status.failed_indexes.insert(idx);
                            }
                            if let FailureOutcome::FailJob(m) = o {
                                fail_job.get_or_insert(m);
                            }
                        }
                    }
                }
            }
        }
        // A conflicting status write leaves the finalizers in place (hardship).
        if !self.mute_job_status && !gone.is_empty() {
            for pid in gone {
                self.remove_pod(pid);
            }
        }
        // Elastic Indexed Jobs: indexes beyond a lowered `completions` are dropped.
        // (Nothing above changes `completions`: with it as synced, there is nothing to do.)
        if completions_changed {
            self.drop_out_of_range_indexes(jid);
            if let Some(j) = self.jobs.get_mut(jid) {
                j.synced_completions = j.completions;
            }
            // Dropping indexes may have deleted live pods: take the census again.
            let j = self.jobs.get(jid).expect("exists");
            census = LiveCensus::default();
            for &(_, pid) in &j.pods {
                census.add(self.pods.get(pid).expect("exists"));
            }
        }
        let LiveCensus {
            active,
            ready,
            terminating,
            restarts_live,
        } = census;

        if self.jobs.get(jid).expect("exists").suspend {
            // Suspend: delete active pods without counting them.
            let to_delete: Vec<PodId> = self.active_pods(jid).iter().map(|(_, p)| *p).collect();
            let j = self.jobs.get_mut(jid).expect("exists");
            let became = !j.has_condition(JOB_SUSPENDED);
            if became {
                set_job_condition(
                    j,
                    cond(JOB_SUSPENDED, JOB_REASON_SUSPENDED, JOB_MSG_SUSPENDED, now, "True"),
                );
            }
            j.status.active = 0;
            j.status.ready = 0;
            j.status.terminating = terminating + to_delete.len() as i32;
            for p in &to_delete {
                if let Some(pod) = self.pods.get_mut(*p) {
                    pod.counted = true;
                }
            }
            if became {
                let ev = self.job_event("JobSuspended", jid);
                self.emit(ev);
            }
            for p in to_delete {
                self.delete_pod(p);
            }
            self.finish_job_sync(jid, before);
            return;
        }
        let j = self.jobs.get_mut(jid).expect("exists");
        // Looked up again only after the resume event (emitting needs the world).
        let j = if j.has_condition(JOB_SUSPENDED) {
            set_job_condition(
                j,
                cond(JOB_SUSPENDED, JOB_REASON_RESUMED, JOB_MSG_RESUMED, now, "False"),
            );
            j.status.start_time = Some(now);
            let ev = self.job_event("JobResumed", jid);
            self.emit(ev);
            self.jobs.get_mut(jid).expect("exists")
        } else {
            j
        };
        if j.status.start_time.is_none() {
            j.status.start_time = Some(now);
        }

        // Already heading for a terminal condition.
        if let Some(ft) = crate::api::find_condition(&j.status.conditions, JOB_FAILURE_TARGET)
            .filter(|c| c.is_true())
            .cloned()
        {
            self.kill_active(jid, true);
            self.finish_terminal(jid, Some(ft));
            return;
        }
        if let Some(sc) = crate::api::find_condition(&j.status.conditions, JOB_SUCCESS_CRITERIA_MET)
            .filter(|c| c.is_true())
            .cloned()
        {
            self.kill_active(jid, false);
            self.finish_terminal(jid, Some(sc));
            return;
        }

        // Failure criteria, in upstream order.
        let completions = j.completions;
        // backoffLimit: failed pods (all policies), or container restarts of live pods under OnFailure
        // (the restart policy is read only when there are restarts: with none, they cannot pass the limit).
        let past_backoff = i64::from(j.status.failed) > i64::from(limit)
            || (restarts_live > 0
                && ((limit == 0) || (limit > 0 && restarts_live >= limit as u64))
                && j.pod_template.spec.restart_policy.as_deref() == Some("OnFailure"));
        let past_deadline = matches!(
            (active_deadline_seconds, j.status.start_time),
            (Some(ads), Some(start)) if now >= start + (ads.max(0) as u64) * 1000
        );
        let failed_indexes = j.status.failed_indexes.len() as i64;
        // Needed only once an index failed under per-index backoff.
        let all_indexes_done = || {
            completions.is_some_and(|c| {
                (0..c).all(|i| j.status.completed_indexes.contains(&i) || j.status.failed_indexes.contains(&i))
            })
        };
        let failure: Option<(&str, String)> = if let Some(m) = fail_job {
            Some((JOB_REASON_POD_FAILURE_POLICY, m))
        } else if past_backoff {
            Some((JOB_REASON_BACKOFF_LIMIT, JOB_MSG_BACKOFF_LIMIT.into()))
        } else if past_deadline {
            Some((JOB_REASON_DEADLINE, JOB_MSG_DEADLINE.into()))
        } else if per_index.is_some() && max_failed_indexes.is_some_and(|m| failed_indexes > i64::from(m)) {
            Some((JOB_REASON_MAX_FAILED_INDEXES, JOB_MSG_MAX_FAILED_INDEXES.into()))
        } else if per_index.is_some() && failed_indexes > 0 && all_indexes_done() {
            Some((JOB_REASON_FAILED_INDEXES, JOB_MSG_FAILED_INDEXES.into()))
        } else {
            None
        };
        if let Some((reason, message)) = failure {
            let c = cond(JOB_FAILURE_TARGET, reason, &message, now, "True");
            set_job_condition(j, c.clone());
            let mut ev = self.job_event("JobFailureTarget", jid);
            ev.reason = Some(reason.into());
            self.emit(ev);
            self.kill_active(jid, true);
            self.finish_terminal(jid, Some(c));
            return;
        }

        // Success (asked only with no active pod, as a running Job has one).
        let succeeded_all = || match (indexed, completions) {
            (true, Some(c)) => (0..c).all(|i| j.status.completed_indexes.contains(&i)),
            (false, Some(c)) => j.status.succeeded >= c,
            (_, None) => j.status.succeeded >= 1,
        };
        if active == 0 && succeeded_all() {
            let c = cond(
                JOB_SUCCESS_CRITERIA_MET,
                JOB_REASON_COMPLETIONS_REACHED,
                JOB_MSG_COMPLETIONS_REACHED,
                now,
                "True",
            );
            set_job_condition(j, c.clone());
            let ev = self.job_event("JobSuccessCriteriaMet", jid);
            self.emit(ev);
            self.finish_terminal(jid, Some(c));
            return;
        }

        // Pod management.
        let parallelism = j.parallelism.max(0);
        let mut to_create: SmallVec<[i32; 4]> = SmallVec::new();
        if !(completions.is_none() && j.status.succeeded >= 1) {
            let wanted = match completions {
                Some(c) => parallelism.min(c - j.status.succeeded).max(0),
                None => parallelism,
            };
            let slots = (wanted - active).max(0);
            if slots > 0 {
                if indexed {
                    // The first `slots` indexes that are neither completed, failed nor held by a
                    // live pod (one not being deleted, unless replacement waits for failure). The
                    // pods are ordered by index: one pass over them alongside the indexes.
                    let c = completions.unwrap_or(1);
                    let mut owned = j.pods.iter().peekable();
                    for i in 0..c {
                        if to_create.len() == slots as usize {
                            break;
                        }
                        let mut busy = false;
                        while let Some(&&(pi, pid)) = owned.peek() {
                            if pi > i {
                                break;
                            }
                            if pi == i {
                                let p = self.pods.get(pid).expect("exists");
                                busy |= !p.phase.terminal() && (p.deletion.is_none() || replacement_failed);
                            }
                            owned.next();
                        }
                        if !busy && !j.status.completed_indexes.contains(&i) && !j.status.failed_indexes.contains(&i) {
                            to_create.push(i);
                        }
                    }
                } else {
                    // The pods are ordered by index: the last has the highest.
                    let next = j.pods.last().map_or(0, |(i, _)| *i + 1);
                    to_create = (next..next + slots).collect();
                }
            }
        }
        if per_index.is_some() && !to_create.is_empty() {
            // Per-index backoff: each index waits after its own last failure.
            let mut earliest_wait: Option<Millis> = None;
            to_create.retain(|i| match j.index_failures.get(i) {
                Some(&(counted, ignored, last)) if counted + ignored > 0 => {
                    let k = (counted + ignored).min(16);
                    let due = last + (JOB_POD_FAILURE_BACKOFF_MS << (k - 1)).min(JOB_POD_FAILURE_BACKOFF_MAX_MS);
                    if due > now {
                        let w = (due - now).max(1000);
                        earliest_wait = Some(earliest_wait.map_or(w, |e: Millis| e.min(w)));
                        false
                    } else {
                        true
                    }
                }
                _ => true,
            });
            if let Some(w) = earliest_wait {
                self.enqueue_job(jid, w);
            }
        } else if !to_create.is_empty() && j.failures_since_success > 0 {
            let n = j.failures_since_success.min(16);
            let delay = (JOB_POD_FAILURE_BACKOFF_MS << (n - 1)).min(JOB_POD_FAILURE_BACKOFF_MAX_MS);
            let due = j.last_failure_at + delay;
            if due > now {
                let wait = (due - now).max(1000);
                to_create.clear();
                self.enqueue_job(jid, wait);
            }
        }
        // A sync is scheduled exactly at startTime + activeDeadlineSeconds.
        if let Some(ads) = active_deadline_seconds
            && let Some(start) = self.jobs.get(jid).and_then(|j| j.status.start_time)
        {
            let deadline = start + (ads.max(0) as u64) * 1000;
            if deadline > now {
                self.enqueue_job(jid, deadline - now);
            }
        }
        let j = self.jobs.get_mut(jid).expect("exists");
        j.status.active = active;
        j.status.ready = ready;
        j.status.terminating = terminating;
        if to_create.is_empty() {
            // Nothing to create (most syncs): no create failed; the status is written
            // with the borrow at hand (as `finish_job_sync` does).
            j.create_failures = 0;
            if let Some(o) = write_status(&mut self.rv, j, &before) {
                self.notify_jobset(o);
            }
            return;
        }
        // Slow start: batches of 1, 2, 4, …; a failed create ends the sync with an
        // error, retried with the API error backoff (1 s doubling to 60 s).
        let mut failed = false;
        let mut rest = to_create.as_slice();
        let mut batch = 1usize;
        while !rest.is_empty() && !failed {
            let (now_batch, later) = rest.split_at(batch.min(rest.len()));
            for &idx in now_batch {
                if !self.create_pod(jid, idx) {
                    failed = true;
                }
            }
            rest = later;
            batch *= 2;
        }
        if let Some(j) = self.jobs.get_mut(jid) {
            if failed {
                let delay = (JOB_API_BACKOFF_MS << j.create_failures.min(16)).min(JOB_API_BACKOFF_MAX_MS);
                j.create_failures += 1;
                self.enqueue_job(jid, delay);
            } else {
                j.create_failures = 0;
            }
        }
        self.finish_job_sync(jid, before);
    }

    /// Writes the status if it changed (watch fan-out to the owner JobSet).
    fn finish_job_sync(&mut self, jid: JobId, before: StatusSnapshot) {
        let Some(j) = self.jobs.get_mut(jid) else { return };
        if let Some(o) = write_status(&mut self.rv, j, &before) {
            self.notify_jobset(o);
        }
    }

    /// A Job's live pods without a deletion timestamp (those a sync's census counts as
    /// active), in index order.
    fn active_pods(&self, jid: JobId) -> PodList {
        let Some(j) = self.jobs.get(jid) else {
            return PodList::new();
        };
        j.pods
            .iter()
            .copied()
            .filter(|&(_, pid)| {
                self.pods
                    .get(pid)
                    .is_some_and(|p| !p.phase.terminal() && p.deletion.is_none())
            })
            .collect()
    }

    /// Deletes the active pods of a Job that reached a terminal criterion.
    /// On failure they keep their finalizer and count as failed now.
    fn kill_active(&mut self, jid: JobId, count_failed: bool) {
        let active = self.active_pods(jid);
        if active.is_empty() {
            return;
        }
        for &(_, p) in &active {
            if let Some(pod) = self.pods.get_mut(p) {
                pod.counted = true;
            }
        }
        if count_failed && let Some(j) = self.jobs.get_mut(jid) {
            j.status.failed += active.len() as i32;
        }
        for &(_, p) in &active {
            self.delete_pod(p);
        }
    }

    /// Adds `Failed`/`Complete` once no pod is terminating or active.
    fn finish_terminal(&mut self, jid: JobId, target: Option<Condition>) {
        let now = self.now;
        let Some(j) = self.jobs.get(jid) else { return };
        let before = StatusSnapshot::of(&j.status);
        let live = j
            .pods
            .iter()
            .filter(|(_, p)| self.pods.get(*p).is_some_and(|p| !p.phase.terminal()))
            .count();
        let j = self.jobs.get_mut(jid).expect("exists");
        j.status.active = 0;
        j.status.ready = 0;
        j.status.terminating = live as i32;
        if live == 0
            && let Some(t) = target
        {
            let failed = t.type_ == JOB_FAILURE_TARGET;
            let type_ = if failed { JOB_FAILED } else { JOB_COMPLETE };
            set_job_condition(j, cond(type_, &t.reason, &t.message, now, "True"));
            if !failed {
                j.status.completion_time = Some(now);
            }
            let mut ev = self.job_event(if failed { "JobFailed" } else { "JobCompleted" }, jid);
            if failed {
                ev.reason = Some(t.reason.clone());
                ev.message = Some(t.message.clone());
            }
            self.emit(ev);
        }
        self.finish_job_sync(jid, before);
    }

    /// Injected Job outcome (fault `jobFailure` / `jobSuccess`): the criterion
    /// condition is set as the Job controller would, then the usual path runs.
    pub(super) fn force_job_outcome(&mut self, jid: JobId, failure: Option<(String, String)>) {
        let now = self.now;
        let Some(j) = self.jobs.get_mut(jid) else { return };
        let c = match &failure {
            Some((r, m)) => cond(JOB_FAILURE_TARGET, r, m, now, "True"),
            None => cond(
                JOB_SUCCESS_CRITERIA_MET,
                JOB_REASON_COMPLETIONS_REACHED,
                JOB_MSG_COMPLETIONS_REACHED,
                now,
                "True",
            ),
        };
        set_job_condition(j, c);
        let name = if failure.is_some() {
            "JobFailureTarget"
        } else {
            "JobSuccessCriteriaMet"
        };
        let ev = self.job_event(name, jid);
        self.emit(ev);
        self.enqueue_job(jid, 0);
    }

    /// Creates one pod through admission; false when the API server refused it.
    fn create_pod(&mut self, jid: JobId, index: i32) -> bool {
        let Some(j) = self.jobs.get(jid) else { return false };
        let indexed = j.spec.is_indexed();
        // `<job>-<index>-<suffix>` (Indexed) or `<job>-<suffix>`, built in the reused buffer.
        let buf = &mut self.pod_name_buf;
        buf.clear();
        buf.push_str(&j.name);
        buf.push('-');
        if indexed {
            // Mostly a one-digit index: pushed as its digit, without formatting and copying it.
            match u8::try_from(index) {
                Ok(d @ 0..=9) => push_ascii(buf, b'0' + d),
                _ => crate::controllers::naming::push_decimal(buf, i64::from(index)),
            }
            buf.push('-');
            // generateName keeps at most 58 characters of the prefix (no more than 58 bytes is no more than 58 characters).
            if buf.len() > 58
                && let Some((cut, _)) = buf.char_indices().nth(58)
            {
                buf.truncate(cut);
            }
        }
        // The 5-character generateName suffix (`name_suffix_bytes`), pushed as drawn: nothing
        // else draws from the name stream before the pod is made or its creation fails.
        for _ in 0..5 {
            push_ascii(buf, super::name_suffix_byte(&mut self.rng_names));
        }
        let name = self.sched.pod_name(buf);
        let priority = match (
            j.pod_template.spec.priority,
            j.pod_template.spec.priority_class_name.as_deref(),
        ) {
            (Some(p), _) => p,
            (None, Some(class)) => match self.sc.priority_classes.get(class) {
                Some(v) => *v,
                None => {
                    // The API server's Priority admission plugin rejects the pod.
                    let mut ev = self.job_event("Event", jid);
                    ev.type_ = Some("Warning");
                    ev.reason = Some("FailedCreate".into());
                    ev.message = Some(format!(
                        "Error creating: pods \"{}-{index}-\" is forbidden: no PriorityClass with name {class} was found",
                        j.name
                    ));
                    ev.object = Some(format!("Job/{}", j.name));
                    self.emit(ev);
                    return false;
                }
            },
            (None, None) => self.sc.default_priority,
        };
        // Only Indexed pods carry the completion-index annotation the webhook reads.
        let completion_index = if indexed { index } else { -1 };
        // Read before the webhook (which takes the world mutably): no lookup of the Job after it.
        let (ra, jra) = j
            .stamp
            .as_ref()
            .map(|s| (s.restart_attempt, s.job_restart_attempt))
            .unwrap_or((0, None));
        let requests = j.pod_requests.clone();
        let placement = match self.pod_webhook(jid, completion_index, priority) {
            Ok(p) => p,
            Err(e) => {
                let j = self.jobs.get(jid).expect("exists");
                let mut ev = self.job_event("Event", jid);
                ev.type_ = Some("Warning");
                ev.reason = Some("FailedCreate".into());
                ev.message = Some(format!("Error creating: {e}"));
                ev.object = Some(format!("Job/{}", j.name));
                ev.pod_index = Some(i64::from(index));
                self.emit(ev);
                return false;
            }
        };
        let seq = self.sched.next_seq();
        let pid = self.pods.insert(PodObj {
            name,
            job: jid,
            index: completion_index,
            created: self.now,
            node: None,
            phase: Phase::Pending,
            ready: false,
            running: false,
            restart_count: 0,
            exit_code: None,
            deletion: None,
            disruption: None,
            counted: false,
            epoch: 0,
            seq,
            priority,
            unschedulable_reported: false,
            nominated: None,
            requests,
            restart_attempt: ra,
            job_restart_attempt: jra,
            started_at: 0,
            in_place_attempt: None,
            agent_attempt: None,
            barrier_down: false,
            placement,
        });
        self.jobs.get_mut(jid).expect("exists").pods.insert((index, pid));
        self.rv += 1;
        self.emit_pod("PodCreated", pid);
        // The new pod's queue key is at hand: no lookup of it.
        self.scheduler_queue(pid, priority, seq);
        true
    }
}

/// Appends an ASCII byte (a pod name's digit or suffix letter) as a character.
// The 7-bit mask (a no-op on ASCII) tells the compiler the character is one byte: the
// push is a store, not a UTF-8 encoding (`char::from` of a `u8` may need two bytes).
#[inline(always)]
fn push_ascii(buf: &mut String, b: u8) {
    debug_assert!(b.is_ascii());
    buf.push(char::from(b & 0x7f));
}

/// Bumps the Job's resourceVersion if its status differs from `before`; returns the
/// owner JobSet to notify, if it has one.
fn write_status(rv: &mut u64, j: &mut JobObj, before: &StatusSnapshot) -> Option<JobSetId> {
    if !before.differs(&j.status) {
        return None;
    }
    *rv += 1;
    j.rv = *rv;
    j.stamp.as_ref().map(|s| s.jobset)
}

/// Sets or replaces a Job condition by type (conditions are never removed).
fn set_job_condition(j: &mut JobObj, c: Condition) {
    if let Some(old) = j.status.conditions.iter_mut().find(|x| x.type_ == c.type_) {
        *old = c;
    } else {
        j.status.conditions.push(c);
    }
}

/// What the pod failure policy says about one failed pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FailureOutcome {
    Count,
    Ignore,
    FailIndex,
    /// `FailJob`, with the Job condition message.
    FailJob(String),
}

impl World {
    /// Evaluates its Job's `podFailurePolicy` for a Failed pod (`pod_failure_policy.go`): first matching rule wins.
    fn pod_failure_outcome(&self, pid: PodId) -> FailureOutcome {
        let p = self.pods.get(pid).expect("exists");
        let j = self.jobs.get(p.job).expect("exists");
        let Some(pfp) = &j.spec.pod_failure_policy else {
            return FailureOutcome::Count;
        };
        let container = j
            .pod_template
            .spec
            .containers
            .first()
            .map(|c| c.name.as_str())
            .unwrap_or("");
        let code = p.exit_code.unwrap_or(0);
        let pod_ref = format!("{}/{}", j.namespace, p.name);
        for (i, rule) in pfp.rules.iter().enumerate() {
            let matched = if let Some(ec) = &rule.on_exit_codes {
                let name_ok = ec.container_name.as_deref().is_none_or(|n| n == container);
                let hit = match ec.operator.as_str() {
                    "In" => ec.values.contains(&code),
                    "NotIn" => code != 0 && !ec.values.contains(&code),
                    _ => false,
                };
                (name_ok && code != 0 && hit).then(|| {
                    format!("Container {container} for pod {pod_ref} failed with exit code {code} matching FailJob rule at index {i}")
                })
            } else {
                rule.on_pod_conditions
                    .iter()
                    .find(|c| c.type_ == "DisruptionTarget" && c.status == "True" && p.disruption.is_some())
                    .map(|c| {
                        format!(
                            "Pod {pod_ref} has condition {} matching FailJob rule at index {i}",
                            c.type_
                        )
                    })
            };
            let Some(message) = matched else { continue };
            return match rule.action.as_str() {
                "FailJob" => FailureOutcome::FailJob(message),
                "Ignore" => FailureOutcome::Ignore,
                "FailIndex" => FailureOutcome::FailIndex,
                _ => FailureOutcome::Count,
            };
        }
        FailureOutcome::Count
    }
}
