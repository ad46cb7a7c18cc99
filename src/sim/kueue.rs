//! Kueue-style admission (`cluster.queues`): a JobSet that names a queue
//! (label `kueue.x-k8s.io/queue-name`) gets a Workload, waits suspended, and is
//! admitted all-or-nothing against its ClusterQueue's nominal quota.
//!
//! Like every other component it talks to the rest only through the store:
//! - the webhook (`kueue_default`) sets `spec.suspend: true` on create;
//! - the job reconciler (`kueue_sync`, a workqueue keyed by JobSet, woken by
//!   JobSet writes) creates the Workload, marks it finished when the JobSet is
//!   terminal, starts (un-suspends) an admitted JobSet with a user-like update,
//!   stops an evicted one, and clears the reservation once the JobSet has no
//!   active Jobs;
//! - the scheduler (`kueue_schedule`) walks each ClusterQueue's pending
//!   workloads in order (priority, then creation) and reserves quota for
//!   those whose whole JobSet fits (StrictFIFO: the head blocks the rest).
//!
//! Kueue counts as installed when the scenario defines at least one queue;
//! without queues the label is ignored (as on a cluster without Kueue).

use super::*;
use crate::api::constants::{COND_COMPLETED, COND_FAILED, QUEUE_NAME_LABEL};
use crate::scenario::kueue::{ClusterQueue, Strategy};
use crate::units::{Quantity, format_quantity};

/// Where a Workload is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WlState {
    /// Waiting for quota (or deactivated, see `active`).
    Pending,
    /// Holds a quota reservation; the JobSet may run.
    Admitted,
    /// Evicted: still holds its reservation until the JobSet has no active Jobs.
    Evicting,
    /// The JobSet finished; no reservation.
    Finished,
}

/// One replicated Job as Kueue sees it: `count` pods of one template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSet {
    pub name: String,
    pub count: i64,
    /// Requests of one pod (milli-units), `pods` included.
    pub per_pod: BTreeMap<String, i128>,
}

impl PodSet {
    pub fn total(&self, resource: &str) -> i128 {
        self.per_pod.get(resource).copied().unwrap_or(0) * i128::from(self.count)
    }
}

/// A quota reservation: the ClusterQueue and the amount per (flavor, resource).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    pub cluster_queue: String,
    pub usage: BTreeMap<(String, String), i128>,
    /// The flavor chosen for each pod set (index in `podsets`), when it requests a covered resource.
    pub flavors: Vec<Option<String>>,
}

#[derive(Debug, Clone)]
pub struct Workload {
    pub name: String,
    pub namespace: Name,
    pub jobset: Name,
    /// The LocalQueue name (the label's value).
    pub queue: String,
    pub created: Millis,
    pub seq: u64,
    pub priority: i32,
    pub podsets: Vec<PodSet>,
    /// `spec.active`: false after the user suspended the JobSet (deactivation).
    pub active: bool,
    pub state: WlState,
    pub admission: Option<Admission>,
    /// The QuotaReserved=False (reason, message) while pending.
    pub pending: Option<(String, String)>,
}

impl Workload {
    pub fn holds_quota(&self) -> bool {
        self.admission.is_some()
    }
}

/// What the summary keeps about a queued JobSet.
#[derive(Debug, Clone, Default)]
pub struct QueueRecord {
    pub queue: String,
    pub cluster_queue: Option<String>,
    /// Time spent pending (active, waiting for quota), summed over every wait.
    pub waited: Millis,
    pub waiting_since: Option<Millis>,
    pub first_admitted: Option<Millis>,
    pub admissions: u32,
    pub evictions: u32,
    /// The last pending (reason, message), cleared on admission.
    pub pending: Option<(String, String)>,
    /// The last assignment failed because the JobSet asks more than the nominal quota.
    pub never_fits: bool,
}

#[derive(Debug, Default)]
pub struct KueueState {
    /// Workloads by owner JobSet (creation order).
    pub workloads: BTreeMap<JobSetId, Workload>,
    /// ClusterQueue → (flavor, resource) → reserved milli-units.
    pub usage: BTreeMap<String, BTreeMap<(String, String), i128>>,
    pub(super) queue: WorkQueue<JobSetId>,
    wake_at: Option<Millis>,
    seq: u64,
    /// By (namespace, JobSet name), kept after the JobSet is gone.
    pub records: BTreeMap<(String, String), QueueRecord>,
}

/// What the flavor assigner concluded for a workload.
enum Fit {
    Yes(Admission),
    /// Does not fit now (waiting) or never (`never`), with Kueue's message.
    No {
        never: bool,
        message: String,
    },
}

/// The pod sets of a JobSet as Kueue builds them: one per replicated Job,
/// count = replicas × min(parallelism, completions), effective pod requests plus one `pods`.
pub fn podsets_of(js: &crate::api::JobSet) -> Vec<PodSet> {
    js.spec
        .replicated_jobs
        .iter()
        .map(|rj| {
            let spec = &rj.template.spec;
            let mut per_job = i64::from(spec.parallelism_or_default().max(0));
            if let Some(c) = spec.completions {
                per_job = per_job.min(i64::from(c.max(0)));
            }
            let mut per_pod = spec.template.spec.effective_requests();
            per_pod.insert("pods".into(), 1000);
            PodSet {
                name: rj.name.clone(),
                count: i64::from(rj.replicas.unwrap_or(1).max(0)) * per_job,
                per_pod,
            }
        })
        .collect()
}

fn qty(m: i128) -> String {
    format_quantity(Quantity(m))
}

/// Kueue's flavor assignment, simplified to nominal quota: pod sets in order,
/// each resource group's flavors in order, the first flavor where everything the
/// pod set requests of that group fits next to `used` and the earlier pod sets.
fn assign(cq: &ClusterQueue, podsets: &[PodSet], used: &BTreeMap<(String, String), i128>) -> Fit {
    let mut usage: BTreeMap<(String, String), i128> = BTreeMap::new();
    let mut flavors = Vec::with_capacity(podsets.len());
    for ps in podsets {
        let mut chosen = None;
        for g in &cq.groups {
            let wanted: Vec<&String> = g.covered.iter().filter(|r| ps.total(r) > 0).collect();
            if wanted.is_empty() {
                continue;
            }
            let mut reasons = Vec::new();
            let mut never = true;
            let mut found = None;
            for f in &g.flavors {
                let mut ok = true;
                for r in &wanted {
                    let key = (f.name.clone(), (*r).clone());
                    let req = ps.total(r) + usage.get(&key).copied().unwrap_or(0);
                    let nominal = f.quota.get(*r).copied().unwrap_or(0);
                    let in_use = used.get(&key).copied().unwrap_or(0);
                    if req > nominal {
                        ok = false;
                        reasons.push(format!(
                            "insufficient quota for {r} in flavor {}, request > maximum capacity ({} > {})",
                            f.name,
                            qty(req),
                            qty(nominal)
                        ));
                    } else if req + in_use > nominal {
                        ok = false;
                        never = false;
                        reasons.push(format!(
                            "insufficient unused quota for {r} in flavor {}, {} more needed",
                            f.name,
                            qty(req + in_use - nominal)
                        ));
                    }
                }
                if ok {
                    found = Some(f.name.clone());
                    break;
                }
            }
            match found {
                Some(f) => {
                    for r in wanted {
                        *usage.entry((f.clone(), r.clone())).or_default() += ps.total(r);
                    }
                    chosen = Some(f);
                }
                None => {
                    return Fit::No {
                        never,
                        message: format!("couldn't assign flavors to pod set {}: {}", ps.name, reasons.join(", ")),
                    };
                }
            }
        }
        flavors.push(chosen);
    }
    Fit::Yes(Admission {
        cluster_queue: cq.name.clone(),
        usage,
        flavors,
    })
}

fn is_finished(js: &crate::api::JobSet) -> bool {
    crate::api::condition_true(&js.status.conditions, COND_COMPLETED)
        || crate::api::condition_true(&js.status.conditions, COND_FAILED)
}

/// Kueue's `IsActive` for a JobSet: some replicated Job has active Jobs.
fn is_active(js: &crate::api::JobSet) -> bool {
    js.status.replicated_jobs_status.iter().any(|s| s.active > 0)
}

fn queue_label(js: &crate::api::JobSet) -> Option<&str> {
    js.metadata
        .labels
        .get(QUEUE_NAME_LABEL)
        .map(String::as_str)
        .filter(|q| !q.is_empty())
}

impl World {
    fn kueue_enabled(&self) -> bool {
        self.sc.cluster.queues.enabled()
    }

    /// The mutating webhook: a JobSet that names a queue is created suspended.
    pub(super) fn kueue_default(&self, js: &mut crate::api::JobSet) {
        if self.kueue_enabled() && queue_label(js).is_some() {
            js.spec.suspend = Some(true);
        }
    }

    /// Watch: a JobSet was written (created, status, spec, deletion).
    pub(super) fn kueue_watch(&mut self, id: JobSetId) {
        if !self.kueue_enabled() {
            return;
        }
        let labelled = self.jobsets.get(id).is_some_and(|j| queue_label(&j.js).is_some());
        if labelled || self.kueue.workloads.contains_key(&id) {
            self.kueue_enqueue(id, self.sc.timing.controller_delay);
        }
    }

    fn kueue_enqueue(&mut self, id: JobSetId, delay: Millis) {
        if let Some((due, epoch)) = self.kueue.queue.add(id, self.now + delay) {
            self.push(due, Ev::KueueSync(id, epoch));
        }
    }

    /// The scheduler runs `controllerDelay` after something changed the queues.
    fn kueue_wake(&mut self) {
        let due = self.now + self.sc.timing.controller_delay;
        if self.kueue.wake_at.is_some_and(|w| w <= due && w >= self.now) {
            return;
        }
        self.kueue.wake_at = Some(due);
        self.push(due, Ev::KueueSchedule);
    }

    fn workload_event(&self, name: &'static str, id: JobSetId) -> TraceEvent {
        let mut ev = TraceEvent {
            event: name,
            ..Default::default()
        };
        if let Some(wl) = self.kueue.workloads.get(&id) {
            ev.namespace = Some(wl.namespace.clone());
            ev.jobset = Some(wl.jobset.clone());
            ev.queue = Some(wl.queue.as_str().into());
            let cq = wl
                .admission
                .as_ref()
                .map(|a| a.cluster_queue.clone())
                .or_else(|| self.cluster_queue_of(wl).map(|c| c.name.clone()));
            ev.cluster_queue = cq.map(|c| c.as_str().into());
            ev.object = Some(format!("Workload/{}", wl.name));
        }
        ev
    }

    /// A Kubernetes Event recorded on the JobSet by Kueue.
    fn kueue_k8s_event(&mut self, id: JobSetId, reason: &str, message: String) {
        let Some(wl) = self.kueue.workloads.get(&id) else {
            return;
        };
        let mut ev = TraceEvent {
            event: "Event",
            ..Default::default()
        };
        ev.namespace = Some(wl.namespace.clone());
        ev.jobset = Some(wl.jobset.clone());
        ev.type_ = Some("Normal");
        ev.reason = Some(reason.into());
        ev.message = Some(message);
        ev.object = Some(format!("JobSet/{}", wl.jobset));
        self.emit(ev);
    }

    fn cluster_queue_of(&self, wl: &Workload) -> Option<&ClusterQueue> {
        let q = &self.sc.cluster.queues;
        q.local_queue(&wl.namespace, &wl.queue)
            .and_then(|lq| q.cluster_queue(&lq.cluster_queue))
    }

    fn record(&mut self, id: JobSetId) -> Option<&mut QueueRecord> {
        let wl = self.kueue.workloads.get(&id)?;
        let key = (wl.namespace.to_string(), wl.jobset.to_string());
        self.kueue.records.get_mut(&key)
    }

    /// Starts or stops the waiting clock of a workload's record.
    fn set_waiting(&mut self, id: JobSetId, waiting: bool) {
        let now = self.now;
        if let Some(r) = self.record(id) {
            match (waiting, r.waiting_since) {
                (true, None) => r.waiting_since = Some(now),
                (false, Some(s)) => {
                    r.waited += now - s;
                    r.waiting_since = None;
                }
                _ => {}
            }
        }
    }

    /// The job reconciler for one JobSet key.
    pub(super) fn kueue_sync(&mut self, id: JobSetId) {
        let gone = self.jobsets.get(id).is_none_or(|j| j.deletion.is_some());
        if gone {
            // The Workload is owned by the JobSet: it goes with it, and so does its reservation.
            if self.kueue.workloads.contains_key(&id) {
                self.set_waiting(id, false);
                self.release_quota(id);
                self.kueue.workloads.remove(&id);
                self.kueue_wake();
            }
            self.kueue.queue.forget(id);
            return;
        }
        let jso = self.jobsets.get(id).expect("exists");
        let Some(queue) = queue_label(&jso.js).map(str::to_string) else {
            return;
        };
        if !self.kueue.workloads.contains_key(&id) {
            self.create_workload(id, queue);
        }
        let jso = self.jobsets.get(id).expect("exists");
        let (finished, suspended, active) = (is_finished(&jso.js), jso.js.suspended(), is_active(&jso.js));
        let wl = self.kueue.workloads.get(&id).expect("created");
        let (state, wl_name) = (wl.state, wl.name.clone());
        if finished {
            if state != WlState::Finished {
                self.set_waiting(id, false);
                self.release_quota(id);
                let wl = self.kueue.workloads.get_mut(&id).expect("exists");
                wl.state = WlState::Finished;
                wl.pending = None;
                let ns = wl.namespace.clone();
                self.kueue_k8s_event(
                    id,
                    "FinishedWorkload",
                    format!("Workload '{ns}/{wl_name}' is declared finished"),
                );
                self.kueue_wake();
            }
            return;
        }
        match state {
            WlState::Evicting => {
                if !suspended {
                    self.kueue_update_jobset(id, true);
                    self.kueue_k8s_event(id, "Stopped", "The workload is deactivated".into());
                } else if !active {
                    // The JobSet stopped: clear the reservation; back in the queue if still active.
                    self.release_quota(id);
                    let wl = self.kueue.workloads.get_mut(&id).expect("exists");
                    wl.state = WlState::Pending;
                    let requeue = wl.active;
                    if requeue {
                        self.set_waiting(id, true);
                    }
                    self.kueue_wake();
                }
            }
            WlState::Admitted if suspended => {
                let cq = self.kueue.workloads[&id]
                    .admission
                    .as_ref()
                    .map(|a| a.cluster_queue.clone())
                    .unwrap_or_default();
                self.kueue_update_jobset(id, false);
                self.kueue_k8s_event(id, "Started", format!("Admitted by clusterQueue {cq}"));
            }
            WlState::Pending if !suspended => {
                self.kueue_update_jobset(id, true);
                self.kueue_k8s_event(id, "Stopped", "Not admitted by cluster queue".into());
            }
            _ => {}
        }
    }

    fn create_workload(&mut self, id: JobSetId, queue: String) {
        let jso = self.jobsets.get(id).expect("exists");
        let js = &jso.js;
        let priority = js
            .spec
            .replicated_jobs
            .iter()
            .find_map(|rj| rj.template.spec.template.spec.priority_class_name.as_ref())
            .and_then(|c| self.sc.priority_classes.get(c).copied())
            .unwrap_or(self.sc.default_priority);
        // Kueue names it jobset-<name>-<5 hex digits of a hash of the owner's name and uid>.
        let mut h = crate::trace::Fnv64::default();
        h.write(js.metadata.name.as_bytes());
        h.write(jso.uid.as_bytes());
        let name = format!("jobset-{}-{}", js.metadata.name, &h.hex()[..5]);
        self.kueue.seq += 1;
        let wl = Workload {
            name: name.clone(),
            namespace: jso.namespace.clone(),
            jobset: jso.name.clone(),
            queue: queue.clone(),
            created: self.now,
            seq: self.kueue.seq,
            priority,
            podsets: podsets_of(js),
            active: true,
            state: WlState::Pending,
            admission: None,
            pending: None,
        };
        let key = (jso.namespace.to_string(), jso.name.to_string());
        let cq = self.cluster_queue_of(&wl).map(|c| c.name.clone());
        self.kueue.workloads.insert(id, wl);
        self.kueue.records.insert(
            key.clone(),
            QueueRecord {
                queue,
                cluster_queue: cq,
                waiting_since: Some(self.now),
                ..Default::default()
            },
        );
        self.kueue_k8s_event(id, "CreatedWorkload", format!("Created Workload: {}/{name}", key.0));
        self.kueue_wake();
    }

    /// Returns a workload's reservation to its ClusterQueue.
    fn release_quota(&mut self, id: JobSetId) {
        let Some(adm) = self.kueue.workloads.get_mut(&id).and_then(|w| w.admission.take()) else {
            return;
        };
        let used = self.kueue.usage.entry(adm.cluster_queue.clone()).or_default();
        for (k, v) in adm.usage {
            let e = used.entry(k).or_default();
            *e -= v;
        }
        self.kueue_wake();
    }

    /// A user-like update of the JobSet by Kueue: suspend or start it; starting
    /// merges the admitted flavors' nodeLabels into the pod templates' nodeSelector.
    fn kueue_update_jobset(&mut self, id: JobSetId, suspend: bool) {
        let Some(jso) = self.jobsets.get(id) else { return };
        let old = jso.js.clone();
        let mut new = old.clone();
        new.spec.suspend = Some(suspend);
        if !suspend && let Some(adm) = self.kueue.workloads.get(&id).and_then(|w| w.admission.as_ref()) {
            for (rj, flavor) in new.spec.replicated_jobs.iter_mut().zip(&adm.flavors) {
                if let Some(labels) = flavor.as_ref().and_then(|f| self.sc.cluster.queues.flavors.get(f)) {
                    let sel = &mut rj.template.spec.template.spec.node_selector;
                    for (k, v) in labels {
                        sel.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        if new == old {
            return;
        }
        if let Err(r) = crate::admission::admit_update(&old, &mut new, &self.gates()) {
            let mut ev = self.jobset_event("Event", id);
            ev.type_ = Some("Warning");
            ev.reason = Some("FailedUpdate".into());
            ev.message = Some(r.message);
            ev.object = Some(format!("JobSet/{}", old.metadata.name));
            self.emit(ev);
            return;
        }
        let rv = self.next_rv();
        let jso = self.jobsets.get_mut(id).expect("exists");
        jso.js = new;
        jso.rv = rv;
        self.enqueue_jobset(id, self.sc.timing.controller_delay);
        self.kueue_watch(id);
    }

    /// The user suspends or resumes a queued JobSet. Kueue owns `spec.suspend`,
    /// so this is what a Kueue user does instead: set the Workload's
    /// `spec.active`. Deactivating an admitted workload evicts it
    /// (`InactiveWorkload`); reactivating puts it back in its queue. Returns
    /// false when Kueue does not manage the JobSet (the update then applies as usual).
    pub(super) fn kueue_user_suspend(&mut self, id: JobSetId, suspend: bool) -> bool {
        if !self.kueue_enabled() {
            return false;
        }
        let Some(wl) = self.kueue.workloads.get_mut(&id) else {
            return false;
        };
        if wl.state == WlState::Finished || wl.active != suspend {
            return true;
        }
        wl.active = !suspend;
        let state = wl.state;
        if suspend {
            self.set_waiting(id, false);
            if state == WlState::Admitted {
                let wl = self.kueue.workloads.get_mut(&id).expect("exists");
                wl.state = WlState::Evicting;
                let mut ev = self.workload_event("WorkloadEvicted", id);
                ev.reason = Some("InactiveWorkload".into());
                ev.message = Some("The workload is deactivated".into());
                self.emit(ev);
                if let Some(r) = self.record(id) {
                    r.evictions += 1;
                }
                self.kueue_enqueue(id, self.sc.timing.controller_delay);
            }
        } else if state == WlState::Pending {
            self.set_waiting(id, true);
            self.kueue_wake();
        }
        true
    }

    /// The Kueue scheduler: one pass over every ClusterQueue.
    pub(super) fn kueue_schedule(&mut self) {
        if self.kueue.wake_at.is_some_and(|w| w > self.now) {
            return;
        }
        self.kueue.wake_at = None;
        let sc = self.sc.clone();
        let cfg = &sc.cluster.queues;
        // Workloads whose LocalQueue does not exist are inadmissible.
        let mut by_cq: BTreeMap<&str, Vec<(i32, Millis, u64, JobSetId)>> = BTreeMap::new();
        let pending: Vec<JobSetId> = self
            .kueue
            .workloads
            .iter()
            .filter(|(_, w)| w.state == WlState::Pending && w.active)
            .map(|(id, _)| *id)
            .collect();
        for id in pending {
            let wl = &self.kueue.workloads[&id];
            match cfg.local_queue(&wl.namespace, &wl.queue) {
                Some(lq) => {
                    by_cq
                        .entry(lq.cluster_queue.as_str())
                        .or_default()
                        .push((-wl.priority, wl.created, wl.seq, id))
                }
                None => {
                    let msg = format!("LocalQueue {} doesn't exist", wl.queue);
                    self.set_pending(id, "Inadmissible", msg);
                }
            }
        }
        for cq in &cfg.cluster_queues {
            let Some(mut list) = by_cq.remove(cq.name.as_str()) else {
                continue;
            };
            list.sort();
            for (_, _, _, id) in list {
                let used = self.kueue.usage.get(&cq.name).cloned().unwrap_or_default();
                match assign(cq, &self.kueue.workloads[&id].podsets, &used) {
                    Fit::Yes(adm) => self.admit(id, adm),
                    Fit::No { message, never } => {
                        if let Some(r) = self.record(id) {
                            r.never_fits = never;
                        }
                        self.set_pending(id, "Pending", message);
                        if cq.strategy == Strategy::StrictFifo {
                            break;
                        }
                    }
                }
            }
        }
    }

    fn set_pending(&mut self, id: JobSetId, reason: &str, message: String) {
        let Some(wl) = self.kueue.workloads.get_mut(&id) else {
            return;
        };
        let p = Some((reason.to_string(), message.clone()));
        if wl.pending == p {
            return;
        }
        wl.pending = p.clone();
        if let Some(r) = self.record(id) {
            r.pending = p;
        }
        let mut ev = self.workload_event("WorkloadPending", id);
        ev.reason = Some(reason.into());
        ev.message = Some(message);
        self.emit(ev);
    }

    fn admit(&mut self, id: JobSetId, adm: Admission) {
        let used = self.kueue.usage.entry(adm.cluster_queue.clone()).or_default();
        for (k, v) in &adm.usage {
            *used.entry(k.clone()).or_default() += v;
        }
        let cq = adm.cluster_queue.clone();
        let wl = self.kueue.workloads.get_mut(&id).expect("exists");
        wl.admission = Some(adm);
        wl.state = WlState::Admitted;
        wl.pending = None;
        self.set_waiting(id, false);
        let now = self.now;
        if let Some(r) = self.record(id) {
            r.admissions += 1;
            r.first_admitted.get_or_insert(now);
            r.pending = None;
            r.cluster_queue = Some(cq.clone());
        }
        let mut ev = self.workload_event("WorkloadAdmitted", id);
        ev.message = Some(format!("Admitted by clusterQueue {cq}"));
        self.emit(ev);
        self.kueue_enqueue(id, self.sc.timing.controller_delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::kueue::{FlavorQuota, ResourceGroup};

    fn cq(strategy: Strategy, flavors: &[(&str, i128)]) -> ClusterQueue {
        ClusterQueue {
            name: "cq".into(),
            strategy,
            groups: vec![ResourceGroup {
                covered: vec!["nvidia.com/gpu".into()],
                flavors: flavors
                    .iter()
                    .map(|(n, q)| FlavorQuota {
                        name: n.to_string(),
                        quota: [("nvidia.com/gpu".to_string(), q * 1000)].into_iter().collect(),
                    })
                    .collect(),
            }],
            source: String::new(),
        }
    }

    fn ps(name: &str, count: i64, gpus: i128) -> PodSet {
        PodSet {
            name: name.into(),
            count,
            per_pod: [("nvidia.com/gpu".to_string(), gpus * 1000), ("cpu".to_string(), 4000)]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn whole_workload_must_fit_and_uncovered_resources_are_ignored() {
        let q = cq(Strategy::StrictFifo, &[("default", 32)]);
        let used = BTreeMap::new();
        match assign(&q, &[ps("leader", 1, 8), ps("workers", 3, 8)], &used) {
            Fit::Yes(a) => {
                assert_eq!(a.usage[&("default".into(), "nvidia.com/gpu".into())], 32_000);
                assert_eq!(a.flavors, vec![Some("default".into()), Some("default".into())]);
            }
            Fit::No { message, .. } => panic!("{message}"),
        }
        match assign(&q, &[ps("leader", 1, 1), ps("workers", 4, 8)], &used) {
            Fit::No { never, message } => {
                assert!(never);
                assert_eq!(
                    message,
                    "couldn't assign flavors to pod set workers: insufficient quota for nvidia.com/gpu in flavor \
                     default, request > maximum capacity (33 > 32)"
                );
            }
            Fit::Yes(_) => panic!("33 GPUs must not fit a quota of 32"),
        }
    }

    #[test]
    fn usage_makes_a_fitting_workload_wait_and_a_second_flavor_is_tried() {
        let q = cq(Strategy::StrictFifo, &[("a", 16), ("b", 16)]);
        let used: BTreeMap<(String, String), i128> = [(("a".to_string(), "nvidia.com/gpu".to_string()), 8_000)]
            .into_iter()
            .collect();
        match assign(&q, &[ps("w", 2, 8)], &used) {
            Fit::Yes(a) => assert_eq!(a.flavors, vec![Some("b".into())]),
            Fit::No { message, .. } => panic!("{message}"),
        }
        let used: BTreeMap<(String, String), i128> = [
            (("a".to_string(), "nvidia.com/gpu".to_string()), 8_000),
            (("b".to_string(), "nvidia.com/gpu".to_string()), 4_000),
        ]
        .into_iter()
        .collect();
        match assign(&q, &[ps("w", 2, 8)], &used) {
            Fit::No { never, message } => {
                assert!(!never);
                assert!(message.contains("insufficient unused quota for nvidia.com/gpu in flavor a, 8 more needed"));
                assert!(message.contains("in flavor b, 4 more needed"), "{message}");
            }
            Fit::Yes(_) => panic!("must wait"),
        }
    }
}
