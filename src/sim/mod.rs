//! The engine: one clock, one event queue, the simulated API server, and the
//! components that only talk through it (JobSet controller, Job controller,
//! scheduler, kubelets, fault injector).

mod agent;
mod apiserver;
pub mod expect;
mod faults;
mod hardship;
pub mod invariants;
mod jobctl;
mod kubelet;
pub mod kueue;
mod lifecycle;
pub mod placement;
pub mod queue;
mod scheduler;
pub mod store;
pub mod training;

use crate::controllers::jobset::Decision;
use crate::scenario::Scenario;
use crate::trace::{Name, ObjectEvent, TraceEvent, TraceSink};
use crate::units::Millis;
use queue::{EventQueue, WorkQueue};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;
use store::*;

/// Everything that can happen.
#[derive(Debug, Clone, Copy)]
pub enum Ev {
    Submit(usize),
    Fault(usize),
    NodeRecover(NodeId, u32),
    NodeNotReady(NodeId, u32),
    TaintEvict(PodId, u32),
    RandomNode(usize, NodeId),
    RandomDomain(usize, usize),
    RandomPod(usize, PodId, u32),
    TrainingMilestone(usize, u32),
    JobSetReconcile(JobSetId, u64),
    JobSync(JobId, u64),
    SchedulerWake,
    PodStart(PodId, u32),
    PodReady(PodId, u32),
    PodExit(PodId, u32),
    ContainerRestart(PodId, u32),
    PodTerminated(PodId, u32),
    /// The JobSet pod controller reconciles a leader pod (exclusive placement).
    PodReconcile(PodId, u64),
    Checkpoint(usize),
    /// The in-place restart agent of a pod acts on what it observes (src/sim/agent.rs).
    AgentSync(PodId, u32),
    /// Hardship: a controller (0 JobSet, 1 Job) crashes; it resyncs after its restart delay.
    ControllerCrash(u8),
    ControllerResync(u8),
    /// Hardship `slowDeletion`: a deleted Job is finally gone from the store.
    JobGone(JobId),
    KueueSync(JobSetId, u64),
    KueueSchedule,
}

fn is_background(ev: &Ev) -> bool {
    matches!(
        ev,
        Ev::RandomNode(..)
            | Ev::RandomDomain(..)
            | Ev::RandomPod(..)
            | Ev::NodeRecover(..)
            | Ev::ControllerCrash(..)
            | Ev::PodReconcile(..)
    )
}

/// Why a run stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// Nothing left to happen.
    Quiescent,
    /// The horizon was reached with events still pending.
    Horizon,
    /// The event budget was exhausted (a runaway run).
    MaxEvents,
    /// An invariant check failed (`--check-invariants`, `check`, tests).
    Invariant(invariants::Violation),
}

/// One failure-policy decision, kept for `explain`.
#[derive(Debug, Clone)]
pub struct DecisionRecord {
    pub t: Millis,
    pub jobset: String,
    pub decision: Decision,
    /// The failed Job's `Failed` condition reason and message.
    pub failure_reason: String,
    pub failure_message: String,
    pub restarts: i32,
    pub restarts_count_towards_max: i32,
}

/// Options for one run that do not come from the scenario.
#[derive(Default)]
pub struct RunOptions {
    pub seed: Option<u64>,
    pub trace: Option<Box<dyn std::io::Write>>,
    pub keep_trace: bool,
    /// Run the invariant checker after every event (`src/sim/invariants.rs`).
    pub check_invariants: bool,
    /// Hash the trace on a second thread (`run`; sweeps already use every core).
    pub hash_thread: bool,
}

pub struct World {
    pub sc: Arc<Scenario>,
    pub seed: u64,
    pub now: Millis,
    queue: EventQueue<Ev>,
    pub jobsets: Slab<JobSetObj>,
    pub jobset_names: BTreeMap<(String, String), JobSetId>,
    pub jobs: JobSlab,
    pub job_names: NameIndex,
    pub pods: InlineSlab<PodObj>,
    pub services: BTreeMap<(String, String), ServiceObj>,
    /// PersistentVolumeClaims by (namespace, name) (src/sim/lifecycle.rs).
    pub pvcs: BTreeMap<(String, String), PvcObj>,
    pub nodes: Vec<NodeObj>,
    pub node_names: BTreeMap<String, NodeId>,
    /// Resource names, indexed (cpu, memory, pods, then extended resources).
    pub resources: Vec<String>,
    js_queue: WorkQueue<JobSetId>,
    job_queue: WorkQueue<JobId>,
    /// The JobSet pod controller's queue (leader pods, exclusive placement).
    pod_queue: WorkQueue<PodId>,
    sched: scheduler::SchedState,
    pub trace: TraceSink,
    rv: u64,
    uid: u64,
    rng_names: ChaCha8Rng,
    /// Scratch buffer the Job controller builds pod names in (reused across creations).
    pod_name_buf: String,
    /// One stream per random fault process.
    rng_faults: Vec<ChaCha8Rng>,
    /// Submissions made so far.
    submitted: usize,
    /// Training state by JobSet name.
    pub training: BTreeMap<String, training::TrainState>,
    pub events_processed: u64,
    pub stop: Option<StopReason>,
    pub expect: expect::Watchers,
    pub decisions: Vec<DecisionRecord>,
    /// (time, jobset name, message) of rejected submissions and updates.
    pub rejections: Vec<(Millis, String, String)>,
    /// JobSets ever submitted, by (namespace, name), for summaries after deletion.
    pub history: BTreeMap<(String, String), JobSetSummaryRecord>,
    /// The invariant checker, when enabled; it only observes.
    pub invariants: Option<invariants::Checker>,
    /// Control-plane hardship state, when the scenario enables it (`hardship:`).
    hardship: Option<Box<hardship::HardshipState>>,
    /// Set while a Job sync whose status write will conflict runs: its status events are dropped.
    mute_job_status: bool,
    /// Kueue-style admission state (Workloads, quota usage), `src/sim/kueue.rs`.
    pub kueue: kueue::KueueState,
}

/// What the summary keeps about each JobSet, even after it is deleted.
#[derive(Debug, Clone, Default)]
pub struct JobSetSummaryRecord {
    pub created: Millis,
    pub terminal_state: String,
    pub finished_at: Option<Millis>,
    pub restarts: i32,
    pub restarts_count_towards_max: i32,
    pub deleted_at: Option<Millis>,
    pub cause: Option<String>,
    pub rejected: Option<String>,
}

/// A Job's name fields in the canonical event encoding (namespace, jobset,
/// replicatedJob, job: tags 1–4), as every event of the Job and its pods
/// starts its fields with them.
fn encode_job_names(out: &mut Vec<u8>, j: &JobObj) {
    match &j.stamp {
        Some(s) => match &s.trace_names {
            Some(kept) => {
                debug_assert!(**kept == *job_names_bytes(&j.namespace, Some((&s.jobset_name, &s.rj_name)), &j.name));
                out.extend_from_slice(kept);
            }
            None => encode_names(out, &j.namespace, Some((&s.jobset_name, &s.rj_name)), &j.name),
        },
        None => encode_names(out, &j.namespace, None, &j.name),
    }
}

/// [`encode_job_names`] of a Job in `namespace` named `job`, owned by (JobSet, replicated Job) `owner`.
fn encode_names(out: &mut Vec<u8>, namespace: &str, owner: Option<(&str, &str)>, job: &str) {
    use crate::trace::encode::{self, *};
    encode::str(out, NAMESPACE, namespace);
    if let Some((jobset, rj)) = owner {
        encode::str(out, JOBSET, jobset);
        encode::str(out, REPLICATED_JOB, rj);
    }
    encode::str(out, JOB, job);
}

/// [`encode_names`] as bytes of their own, to keep.
fn job_names_bytes(namespace: &str, owner: Option<(&str, &str)>, job: &str) -> Rc<[u8]> {
    let mut out = Vec::with_capacity(64);
    encode_names(&mut out, namespace, owner, job);
    out.into()
}

/// An object uid: `00000000-0000-4000-8000-` and the sequence number as at least 12 hex digits
/// (the same text as `format!("00000000-0000-4000-8000-{n:012x}")`, without the formatter).
pub(crate) fn uid_string(n: u64) -> String {
    if n > 0xffff_ffff_ffff {
        return format!("00000000-0000-4000-8000-{n:012x}");
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(36);
    s.push_str("00000000-0000-4000-8000-");
    for shift in (0..12).rev() {
        s.push(HEX[((n >> (shift * 4)) & 15) as usize] as char);
    }
    s
}

/// Stream ids for per-component ChaCha streams (adding one never shifts another).
pub const STREAM_APISERVER_NAMES: u64 = 1;

pub fn rng_stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// One character of a generateName suffix: one draw of the API server's name stream
/// (`name_suffix_bytes` takes five; pod creation pushes them into the name as drawn).
#[inline(always)]
fn name_suffix_byte(rng: &mut ChaCha8Rng) -> u8 {
    use rand::Rng;
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    const _: () = assert!(
        ALPHABET.len() == 27,
        "mod27 takes the remainder by the alphabet's length"
    );
    ALPHABET[mod27(rng.next_u32())]
}

/// `x % 27` (the alphabet's length) by Lemire's direct remainder, exact for every u32:
/// two multiplications, where the compiler's `%` by 27 takes ten instructions.
#[inline(always)]
fn mod27(x: u32) -> usize {
    const M: u64 = u64::MAX / 27 + 1;
    ((u128::from(M.wrapping_mul(u64::from(x))) * 27) >> 64) as usize
}

impl World {
    pub fn new(sc: Arc<Scenario>, opts: RunOptions) -> World {
        let seed = opts.seed.unwrap_or(sc.seed);
        let mut resources: Vec<String> = vec!["cpu".into(), "memory".into(), "pods".into()];
        for p in &sc.cluster.pools {
            for k in p.capacity.keys() {
                if !resources.contains(k) {
                    resources.push(k.clone());
                }
            }
        }
        let mut w = World {
            sc: sc.clone(),
            seed,
            now: 0,
            queue: EventQueue::default(),
            jobsets: Slab::default(),
            jobset_names: BTreeMap::new(),
            jobs: JobSlab::default(),
            job_names: NameIndex::default(),
            pods: InlineSlab::default(),
            services: BTreeMap::new(),
            pvcs: BTreeMap::new(),
            nodes: Vec::new(),
            node_names: BTreeMap::new(),
            resources,
            js_queue: WorkQueue::default(),
            job_queue: WorkQueue::default(),
            pod_queue: WorkQueue::default(),
            sched: scheduler::SchedState::default(),
            trace: TraceSink::with_hash_thread(opts.trace, opts.keep_trace, opts.hash_thread),
            rv: 0,
            uid: 0,
            rng_names: rng_stream(seed, STREAM_APISERVER_NAMES),
            pod_name_buf: String::new(),
            rng_faults: sc.random_faults.iter().map(|r| rng_stream(seed, r.stream)).collect(),
            submitted: 0,
            training: sc
                .training
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    (
                        t.jobset.clone(),
                        training::TrainState {
                            spec: i,
                            ..Default::default()
                        },
                    )
                })
                .collect(),
            events_processed: 0,
            stop: None,
            expect: expect::Watchers::new(&sc.expect),
            decisions: Vec::new(),
            rejections: Vec::new(),
            history: BTreeMap::new(),
            invariants: opts.check_invariants.then(invariants::Checker::default),
            hardship: sc
                .hardship
                .as_ref()
                .map(|h| Box::new(hardship::HardshipState::new(h, seed))),
            mute_job_status: false,
            kueue: kueue::KueueState::default(),
        };
        w.build_nodes();
        w.start_random_faults();
        w.start_hardship();
        for (i, s) in sc.submissions.iter().enumerate() {
            w.queue.push(s.at, 0, Ev::Submit(i));
        }
        for (i, f) in sc.faults.iter().enumerate() {
            w.queue.push(f.at, 0, Ev::Fault(i));
        }
        for (i, e) in sc.expect.iter().enumerate() {
            if let crate::scenario::ExpectKind::State(s) = &e.kind
                && let Some(at) = s.at
            {
                w.queue.push(at, 1, Ev::Checkpoint(i));
            }
        }
        w
    }

    fn build_nodes(&mut self) {
        let sc = self.sc.clone();
        for (pi, p) in sc.cluster.pools.iter().enumerate() {
            for i in 0..p.count {
                let name: Name = format!("{}-{}", p.name, i).into();
                let mut labels = p.labels.clone();
                labels.insert("kubernetes.io/hostname".into(), name.to_string());
                for (key, per) in &p.topology {
                    labels.insert(key.clone(), format!("{}-{}", p.name, i / per));
                }
                let allocatable = self
                    .resources
                    .iter()
                    .map(|r| {
                        p.capacity
                            .get(r)
                            .map(|m| (*m).min(i64::MAX as i128) as i64)
                            .unwrap_or(0)
                    })
                    .collect();
                let id = self.nodes.len();
                self.node_names.insert(name.to_string(), id);
                self.nodes.push(NodeObj {
                    name,
                    pool: pi,
                    labels,
                    taints: p.taints.clone(),
                    allocatable,
                    allocated: vec![0; self.resources.len()],
                    ready: true,
                    alive: true,
                    cordoned: false,
                    pods: NodePods::default(),
                    epoch: 0,
                });
            }
        }
        self.sched.init(&self.nodes, self.sc.cluster.pools.len());
    }

    #[inline]
    fn push(&mut self, t: Millis, ev: Ev) {
        self.queue.push(t, 0, ev);
    }

    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn next_uid(&mut self) -> String {
        uid_string(self.next_uid_seq())
    }

    /// The next uid's sequence number (objects that render their uid on demand).
    fn next_uid_seq(&mut self) -> u64 {
        self.uid += 1;
        self.uid
    }

    /// A 5-character generateName suffix from the API server's own stream.
    fn name_suffix(&mut self) -> String {
        self.name_suffix_bytes().iter().map(|&b| char::from(b)).collect()
    }

    /// `name_suffix` as ASCII bytes, without allocating.
    fn name_suffix_bytes(&mut self) -> [u8; 5] {
        std::array::from_fn(|_| name_suffix_byte(&mut self.rng_names))
    }

    /// Emits a trace event stamped with the current time.
    pub fn emit(&mut self, mut ev: TraceEvent) {
        if self.mute_job_status && hardship::is_job_status_event(ev.event) {
            return;
        }
        ev.t = self.now;
        ev.seq = self.trace.count;
        if let Some(c) = self.invariants.as_mut() {
            c.observe(&ev);
        }
        self.expect.observe(&ev);
        self.trace.emit(&ev);
    }

    /// Runs until quiescence, the horizon, or the event budget.
    pub fn run(&mut self) {
        while self.step_inline() {}
        self.finish();
    }

    /// Processes one event; false when the run is over.
    pub fn step(&mut self) -> bool {
        self.step_inline()
    }

    /// `step`, inlined into `run`'s loop (a call per event, saving and restoring
    /// registers, is a few percent of a small event's cost).
    #[inline(always)]
    fn step_inline(&mut self) -> bool {
        let (t, ev) = loop {
            let Some((t, ev)) = self.queue.front() else {
                self.stop = Some(StopReason::Quiescent);
                return false;
            };
            // Background processes (random faults, recoveries) do not keep a finished run alive.
            if is_background(&ev) && self.all_done() {
                self.queue.skip_front();
                continue;
            }
            break (t, ev);
        };
        if t > self.sc.horizon {
            self.stop = Some(StopReason::Horizon);
            return false;
        }
        if self.events_processed >= self.sc.max_events {
            self.stop = Some(StopReason::MaxEvents);
            return false;
        }
        self.queue.skip_front();
        debug_assert!(t >= self.now, "time never goes back");
        self.now = t;
        self.events_processed += 1;
        self.dispatch(ev);
        if self.invariants.is_some() {
            return self.check_invariants();
        }
        true
    }

    /// Runs the invariant checker after an event; false (and the run stops) on a violation.
    #[cold]
    #[inline(never)]
    fn check_invariants(&mut self) -> bool {
        if let Some(mut c) = self.invariants.take() {
            let r = c.check(self);
            self.invariants = Some(c);
            if let Err(v) = r {
                self.stop = Some(StopReason::Invariant(v));
                return false;
            }
        }
        true
    }

    #[inline(always)]
    fn dispatch(&mut self, ev: Ev) {
        match ev {
            Ev::Submit(i) => self.submit(i),
            Ev::Fault(i) => self.inject_fault(i),
            Ev::NodeRecover(n, g) => self.node_recover(n, g),
            Ev::NodeNotReady(n, g) => self.node_not_ready(n, g),
            Ev::TaintEvict(p, g) => self.taint_evict(p, g),
            Ev::RandomNode(i, n) => self.random_node(i, n),
            Ev::RandomDomain(i, d) => self.random_domain(i, d),
            Ev::RandomPod(i, p, g) => self.random_pod(i, p, g),
            Ev::TrainingMilestone(i, g) => self.training_milestone(i, g),
            Ev::JobSetReconcile(id, g) => {
                if self.js_queue.take(id, g) {
                    self.reconcile_jobset(id);
                }
            }
            Ev::JobSync(id, g) => {
                if self.job_queue.take(id, g) {
                    if self.hardship.is_some() {
                        self.sync_job_with_hardship(id);
                    } else {
                        self.sync_job(id);
                    }
                }
            }
            Ev::SchedulerWake => self.scheduler_wake(),
            Ev::PodStart(p, g) => self.pod_start(p, g),
            Ev::PodReady(p, g) => self.pod_ready(p, g),
            Ev::PodExit(p, g) => self.pod_exit(p, g),
            Ev::ContainerRestart(p, g) => self.container_restart(p, g),
            Ev::PodTerminated(p, g) => self.pod_terminated(p, g),
            Ev::AgentSync(p, g) => self.agent_sync(p, g),
            Ev::ControllerCrash(c) => self.controller_crash(c),
            Ev::ControllerResync(c) => self.controller_resync(c),
            Ev::JobGone(j) => self.job_gone(j),
            Ev::PodReconcile(p, g) => {
                if self.pod_queue.take(p, g) {
                    self.podctl_reconcile(p);
                }
            }
            Ev::KueueSync(id, g) => {
                if self.kueue.queue.take(id, g) {
                    self.kueue_sync(id);
                }
            }
            Ev::KueueSchedule => self.kueue_schedule(),
            Ev::Checkpoint(i) => {
                let sc = self.sc.clone();
                if let Some(o) = expect::state_outcome(&sc.expect[i], self) {
                    self.expect.outcomes.push(o);
                }
            }
        }
    }

    /// Settles end-of-run expectations and flushes the trace; `run` calls it once `step` returns false.
    pub fn finish(&mut self) {
        let sc = self.sc.clone();
        for e in &sc.expect {
            if let crate::scenario::ExpectKind::State(s) = &e.kind
                && s.at.is_none()
                && let Some(o) = expect::state_outcome(e, self)
            {
                self.expect.outcomes.push(o);
            }
        }
        let rejections = std::mem::take(&mut self.rejections);
        self.expect.finalize(&sc.expect, &rejections);
        self.rejections = rejections;
        self.trace.flush();
    }

    // ---------------------------------------------------------------- watches

    /// A JobSet changed: its controller reconciles after `controllerDelay`.
    #[inline(always)]
    fn enqueue_jobset(&mut self, id: JobSetId, delay: Millis) {
        if self
            .hardship
            .as_ref()
            .is_some_and(|h| h.down(hardship::JOBSET_CONTROLLER, self.now))
        {
            return;
        }
        if let Some((due, epoch)) = self.js_queue.add(id, self.now + delay) {
            self.push(due, Ev::JobSetReconcile(id, epoch));
        }
    }

    #[inline(always)]
    fn enqueue_job(&mut self, id: JobId, delay: Millis) {
        if self
            .hardship
            .as_ref()
            .is_some_and(|h| h.down(hardship::JOB_CONTROLLER, self.now))
        {
            return;
        }
        if let Some((due, epoch)) = self.job_queue.add(id, self.now + delay) {
            self.push(due, Ev::JobSync(id, epoch));
        }
    }

    /// Watch fan-out for a Job write: its owner JobSet, and the Job controller.
    fn job_changed(&mut self, id: JobId, spec_change: bool) {
        let cd = self.sc.timing.controller_delay;
        if let Some(owner) = self.jobs.get(id).and_then(|j| j.stamp.as_ref().map(|s| s.jobset)) {
            self.notify_jobset(owner);
        }
        let d = if spec_change {
            cd
        } else {
            cd.max(crate::api::constants::JOB_SYNC_BATCH_PERIOD_MS)
        };
        self.notify_job(id, d);
    }

    /// Watch fan-out for a Pod write: the owning Job's controller, batched by 1 s.
    #[inline(always)]
    fn pod_changed(&mut self, job: JobId) {
        let d = self
            .sc
            .timing
            .controller_delay
            .max(crate::api::constants::JOB_SYNC_BATCH_PERIOD_MS);
        if self.jobs.get(job).is_some() {
            self.notify_job(job, d);
        }
    }

    // ---------------------------------------------------------------- trace helpers

    fn job_event(&self, name: &'static str, id: JobId) -> TraceEvent {
        let mut ev = TraceEvent {
            event: name,
            ..Default::default()
        };
        if let Some(j) = self.jobs.get(id) {
            ev.job = Some(j.name.clone());
            ev.namespace = Some(j.namespace.clone());
            if let Some(s) = &j.stamp {
                ev.jobset = Some(s.jobset_name.clone());
                ev.replicated_job = Some(s.rj_name.clone());
                ev.job_index = Some(i64::from(s.job_index));
                ev.restart_attempt = Some(i64::from(s.restart_attempt));
                ev.job_restart_attempt = s.job_restart_attempt.map(i64::from);
            }
        }
        ev
    }

    /// Emits a Job event with no fields beyond the Job's own (the same event as
    /// `emit(job_event(..))`), without building an owned `TraceEvent` when
    /// nothing needs one.
    fn emit_job(&mut self, name: &'static str, id: JobId) {
        if !self.fast_trace() {
            let ev = self.job_event(name, id);
            return self.emit(ev);
        }
        let job = self.define_traced_job(id);
        self.trace.emit_object_event(ObjectEvent {
            t: self.now,
            event: name,
            job,
            pod: None,
            node: None,
        });
    }

    /// Emits a pod event with no fields beyond the pod's own (see `emit_job`).
    #[inline(always)]
    fn emit_pod(&mut self, name: &'static str, id: PodId) {
        if !self.fast_trace() {
            let ev = self.pod_event(name, id);
            return self.emit(ev);
        }
        let Some(p) = self.pods.get(id) else {
            return self.trace.emit_object_event(ObjectEvent {
                t: self.now,
                event: name,
                job: None,
                pod: None,
                node: None,
            });
        };
        if !self.trace.pod_defined(id) {
            self.trace.define_pod(id, &p.name, p.index);
        }
        let (node, job) = (p.node, p.job);
        self.emit_defined_pod(name, id, node, job);
    }

    /// `emit_pod` for an existing pod whose node and Job the caller holds: the pod is
    /// looked up again only to define it in the trace (its first event, mostly before
    /// these callers') or for a full `TraceEvent`.
    #[inline(always)]
    fn emit_pod_at(&mut self, name: &'static str, id: PodId, node: Option<NodeId>, job: JobId) {
        if !self.fast_trace() || !self.trace.pod_defined(id) {
            return self.emit_pod(name, id);
        }
        debug_assert!(self.pods.get(id).is_some_and(|p| p.node == node && p.job == job));
        self.emit_defined_pod(name, id, node, job);
    }

    /// The fast path's event of pod `id` (on `node`, of Job `job`), defined in the
    /// trace: its node and Job defined first if they are not yet.
    #[inline(always)]
    fn emit_defined_pod(&mut self, name: &'static str, id: PodId, node: Option<NodeId>, job: JobId) {
        if let Some(n) = node
            && !self.trace.node_defined(n)
        {
            self.trace.define_node(n, &self.nodes[n].name);
        }
        let job = self.define_traced_job(job);
        self.trace.emit_object_event(ObjectEvent {
            t: self.now,
            event: name,
            job,
            pod: Some(id),
            node,
        });
    }

    /// Job `id` for an `ObjectEvent`, defined in the trace's record stream if it is
    /// not yet (`None` if there is no such Job).
    #[inline(always)]
    fn define_traced_job(&mut self, id: JobId) -> Option<JobId> {
        // A defined Job exists (`remove_job` forgets it): no lookup for the common case.
        if self.trace.job_defined(id) {
            debug_assert!(self.jobs.get(id).is_some());
            return Some(id);
        }
        self.define_new_traced_job(id)
    }

    /// `define_traced_job` for a Job not defined yet (once per Job: out of line).
    #[inline(never)]
    fn define_new_traced_job(&mut self, id: JobId) -> Option<JobId> {
        let j = self.jobs.get(id)?;
        let stamp = j
            .stamp
            .as_ref()
            .map(|s| (s.job_index, s.restart_attempt, s.job_restart_attempt));
        self.trace.define_job(id, |out| encode_job_names(out, j), stamp);
        Some(id)
    }

    /// Nothing needs an owned `TraceEvent`: no trace file or kept trace, no
    /// invariant checker, no event expectation, no muted status write.
    fn fast_trace(&self) -> bool {
        !self.trace.needs_events()
            && self.invariants.is_none()
            && !self.expect.watches_events()
            && !self.mute_job_status
    }

    fn pod_event(&self, name: &'static str, id: PodId) -> TraceEvent {
        let Some(p) = self.pods.get(id) else {
            return TraceEvent {
                event: name,
                ..Default::default()
            };
        };
        let mut ev = self.job_event(name, p.job);
        ev.pod = Some(p.name.clone());
        if p.index >= 0 {
            ev.pod_index = Some(i64::from(p.index));
        }
        ev.node = p.node.map(|n| self.nodes[n].name.clone());
        ev
    }

    fn jobset_event(&self, name: &'static str, id: JobSetId) -> TraceEvent {
        let mut ev = TraceEvent {
            event: name,
            ..Default::default()
        };
        if let Some(j) = self.jobsets.get(id) {
            ev.jobset = Some(j.name.clone());
            ev.namespace = Some(j.namespace.clone());
        }
        ev
    }

    pub fn jobset_id(&self, namespace: &str, name: &str) -> Option<JobSetId> {
        self.jobset_names
            .get(&(namespace.to_string(), name.to_string()))
            .copied()
    }

    /// Pods that match a workload/fault matcher, in id order.
    pub fn pod_matches(&self, pod: &PodObj, m: &crate::scenario::PodMatch) -> bool {
        let Some(job) = self.jobs.get(pod.job) else {
            return false;
        };
        let Some(s) = &job.stamp else {
            return m == &crate::scenario::PodMatch::default();
        };
        m.jobset.as_deref().is_none_or(|x| x == &*s.jobset_name)
            && m.replicated_job.as_deref().is_none_or(|x| x == &*s.rj_name)
            && m.job_index.is_none_or(|x| x == i64::from(s.job_index))
            && m.pod_index.is_none_or(|x| x == i64::from(pod.index))
            && m.restart_attempt.is_none_or(|x| x == i64::from(pod.restart_attempt))
            && m.job_restart_attempt
                .is_none_or(|x| Some(x) == pod.job_restart_attempt.map(i64::from))
    }

    pub fn job_matches(&self, job: &JobObj, m: &crate::scenario::PodMatch) -> bool {
        let Some(s) = &job.stamp else { return false };
        m.jobset.as_deref().is_none_or(|x| x == &*s.jobset_name)
            && m.replicated_job.as_deref().is_none_or(|x| x == &*s.rj_name)
            && m.job_index.is_none_or(|x| x == i64::from(s.job_index))
            && m.restart_attempt.is_none_or(|x| x == i64::from(s.restart_attempt))
            && m.job_restart_attempt
                .is_none_or(|x| Some(x) == s.job_restart_attempt.map(i64::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct remainder is `% 27` for every u32: a sweep of the whole range, the
    /// values around each multiple of 27 at its ends, and the extremes.
    #[test]
    fn mod27_is_the_remainder() {
        let mut xs: Vec<u32> = (0..=u32::MAX).step_by(65_521).collect();
        for base in [0u32, 27 * 1000, u32::MAX / 27 * 27 - 27, u32::MAX / 27 * 27] {
            xs.extend((0..60).map(|d| base.saturating_add(d)));
        }
        xs.extend([u32::MAX, u32::MAX - 1, 1 << 31, (1 << 31) - 1]);
        for x in xs {
            assert_eq!(mod27(x), (x % 27) as usize, "x = {x}");
        }
    }

    /// The fast path (Job, pod and node definitions, then compact events, rebuilt where
    /// the hash is taken) hashes exactly what the owned `TraceEvent`s would, for every
    /// Job and pod along a run with restarts, an unscheduled pod and orphaned lookups.
    #[test]
    fn compact_events_hash_as_the_owned_events() {
        let text = "name: f\ncluster:\n  nodePools:\n  - {name: n, count: 3, capacity: {cpu: 1}}\njobsets:\n- inline:\n    apiVersion: jobset.x-k8s.io/v1alpha2\n    kind: JobSet\n    metadata: {name: js}\n    spec:\n      failurePolicy: {maxRestarts: 2}\n      replicatedJobs:\n      - name: w\n        replicas: 2\n        template:\n          spec:\n            parallelism: 2\n            completions: 2\n            backoffLimit: 0\n            template:\n              spec:\n                restartPolicy: Never\n                containers: [{name: c, image: x, resources: {requests: {cpu: 1}}}]\nworkload:\n- match: {jobIndex: 1, restartAttempt: 0}\n  runFor: 30s\n  exitCode: 3\n- runFor: 1m\n";
        let sc = crate::scenario::parse_scenario(text, std::path::Path::new("f.yaml")).expect("valid scenario");
        let mut w = World::new(Arc::new(sc), RunOptions::default());
        assert!(w.fast_trace(), "the run takes the fast path");
        // The events under test go to a sink of their own, swapped in around each one.
        let mut probe = TraceSink::new(None, false);
        let mut reference = crate::trace::Fnv64::default();
        let mut checked = 0;
        let mut compare = |w: &mut World, owned: TraceEvent, emit: &dyn Fn(&mut World)| {
            std::mem::swap(&mut w.trace, &mut probe);
            emit(w);
            std::mem::swap(&mut w.trace, &mut probe);
            let mut f = owned.hash_fields();
            f.t = w.now;
            let mut bytes = Vec::new();
            f.encode_into(&mut bytes);
            reference.write(&bytes);
            assert_eq!(probe.settled_hash().0, reference.0, "{} at {}", owned.event, w.now);
            checked += 1;
        };
        while w.step() {
            let pods: Vec<_> = w.pods.iter().map(|(id, _)| id).collect();
            for pid in pods {
                let owned = w.pod_event("PodReady", pid);
                compare(&mut w, owned, &|w| w.emit_pod("PodReady", pid));
            }
            let jobs: Vec<_> = w.jobs.iter().map(|(id, _)| id).collect();
            for jid in jobs {
                let owned = w.job_event("JobCreated", jid);
                compare(&mut w, owned, &|w| w.emit_job("JobCreated", jid));
            }
        }
        let owned = w.pod_event("PodDeleted", u64::MAX);
        compare(&mut w, owned, &|w| w.emit_pod("PodDeleted", u64::MAX));
        let owned = w.job_event("JobDeleted", u64::MAX);
        compare(&mut w, owned, &|w| w.emit_job("JobDeleted", u64::MAX));
        assert!(checked > 100, "events were compared along the run ({checked})");
        assert!(
            w.jobsets.iter().all(|(_, j)| j.js.status.restarts >= 1),
            "the run restarted"
        );
    }

    #[test]
    fn uid_text_matches_the_formatter() {
        for n in [0u64, 1, 0xabc, 0xffff_ffff_ffff, 0x1_0000_0000_0000, u64::MAX] {
            assert_eq!(uid_string(n), format!("00000000-0000-4000-8000-{n:012x}"));
        }
    }
}
