//! Kubelets and the node pool: a bound pod starts after `podStartup`, is Ready
//! after `podReady`, and its container exits after the workload rule's
//! `runFor`; `OnFailure` restarts the container in place with crash-loop
//! backoff; deletion terminates after `podTermination`.

use super::*;

/// Kubelet crash-loop backoff: first restart immediate, then 10 s doubling to 300 s.
fn crash_loop_delay(restarts_so_far: u32) -> Millis {
    if restarts_so_far == 0 {
        0
    } else {
        (10_000u64 << (restarts_so_far - 1).min(8)).min(300_000)
    }
}

/// Gives a bound pod's room on its node back (its requests, its place in the node's
/// pod set and the scheduler's indexes); false if it held none.
// Always inlined (as are `node_emptied` and `PoolIndex::find` inside it): with two callers
// LLVM kept it out of line, and a pod's termination paid the call frame.
#[inline(always)]
fn release_node(nodes: &mut [NodeObj], sched: &mut super::scheduler::SchedState, pid: PodId, p: &PodObj) -> bool {
    let Some(n) = p.node else { return false };
    // The pod carries its own requests: an orphan (its Job deleted in the
    // background) still gives its room back (its requests borrowed, not cloned).
    let node = &mut nodes[n];
    if !node.pods.remove(&pid) {
        return false;
    }
    for (r, v) in p.requests.iter() {
        node.allocated[*r] -= v;
    }
    if let Some(pl) = p.placement.as_deref()
        && !sched.topo.keys.is_empty()
    {
        sched.topo.pod_moved(pl, n, -1);
    }
    if nodes[n].pods.is_empty() {
        sched.node_emptied(n, &nodes[n]);
    } else {
        sched.node_changed(n, &nodes[n]);
    }
    true
}

/// Whether pod `pid` (completion index `index`) is the last pod of Job `j` and `j` is
/// deleted in the foreground: removing the pod removes the Job.
#[inline(always)]
fn ends_deleted_job(j: &JobObj, index: i32, pid: PodId) -> bool {
    j.deletion.as_ref().is_some_and(|d| d.foreground) && j.pods.len() == 1 && j.pods.last() == Some(&(index, pid))
}

impl World {
    /// The workload rule for a pod: first match wins; no match: run 1 minute, exit 0.
    fn workload_for(&self, pid: PodId) -> (Option<Millis>, i32) {
        if self.is_training_pod(pid) {
            return (None, 0); // runs until the training work is done
        }
        self.workload_rule(self.pods.get(pid).expect("exists"))
    }

    /// The first matching workload rule's (runFor, exitCode), training aside.
    fn workload_rule(&self, p: &PodObj) -> (Option<Millis>, i32) {
        for r in &self.sc.workload {
            if self.pod_matches(p, &r.matcher) {
                return (r.run_for, r.exit_code);
            }
        }
        (Some(60_000), 0)
    }

    /// Called by the scheduler when a pod (of timer generation `epoch`) is bound.
    pub(super) fn kubelet_bound(&mut self, pid: PodId, epoch: u32) {
        let t = self.now + self.sc.timing.pod_startup;
        self.push(t, Ev::PodStart(pid, epoch));
    }

    fn live(&self, pid: PodId, epoch: u32) -> bool {
        self.pods
            .get(pid)
            .is_some_and(|p| p.epoch == epoch && !p.phase.terminal() && p.deletion.is_none())
    }

    pub(super) fn pod_start(&mut self, pid: PodId, epoch: u32) {
        // `live`, with the one lookup.
        let Some(p) = self.pods.get_mut(pid) else { return };
        if p.epoch != epoch || p.phase.terminal() || p.deletion.is_some() {
            return;
        }
        if p.node.is_some_and(|n| !self.nodes[n].alive) {
            return; // started when the kubelet comes back
        }
        p.phase = Phase::Running;
        p.running = true;
        p.started_at = self.now;
        let (job, node) = (p.job, p.node);
        self.container_started(pid, epoch, job, node, "PodRunning");
    }

    fn start_container(&mut self, pid: PodId, event: &'static str) {
        let now = self.now;
        let p = self.pods.get_mut(pid).expect("exists");
        p.running = true;
        p.started_at = now;
        let (g, job, node) = (p.epoch, p.job, p.node);
        self.container_started(pid, g, job, node, event);
    }

    /// The pod's main container started (`running`, `started_at` set).
    /// (`g`, `job`, `node`: the pod's epoch, Job and node.)
    fn container_started(&mut self, pid: PodId, g: u32, job: JobId, node: Option<NodeId>, event: &'static str) {
        self.emit_pod_at(event, pid, node, job);
        // An in-place restart agent holds the workload behind its barrier (src/sim/agent.rs).
        if self.agent_container_started(pid) {
            self.pod_changed(job);
            return;
        }
        self.run_workload_of(pid, g, job);
    }

    /// The workload runs: Ready after `podReady` (or its probes), exit after the rule's `runFor`.
    pub(super) fn run_workload(&mut self, pid: PodId) {
        let p = self.pods.get(pid).expect("exists");
        self.run_workload_of(pid, p.epoch, p.job);
    }

    /// `run_workload` for a pod of epoch `g` and Job `job` (callers that hold them).
    // Always inlined: with two callers LLVM kept it out of line, and every pod start paid
    // the call frame (the agent's `run_workload`, rare, gets its own copy).
    #[inline(always)]
    fn run_workload_of(&mut self, pid: PodId, g: u32, job: JobId) {
        let now = self.now;
        // `workload_for` and `ready_after`, looking the Job up once (the pod only for a rule).
        let j = self.jobs.get(job);
        let run_for = if self.is_training_job(j) {
            None // runs until the training work is done
        } else {
            self.workload_rule(self.pods.get(pid).expect("exists")).0
        };
        let probes = match j {
            Some(j) => j.pod_template.spec.probes_ready_after(),
            None => 0,
        };
        let ready_after = self.sc.timing.pod_ready.max(probes);
        let exists = j.is_some();
        self.push(now + ready_after, Ev::PodReady(pid, g));
        if let Some(d) = run_for {
            self.push(now + d, Ev::PodExit(pid, g));
        }
        self.arm_pod_faults(pid);
        // `pod_changed`, with the Job's existence known from the lookup above (arming
        // faults only pushes events).
        if exists {
            self.pod_changed_live(job);
        }
        self.podctl_watch(pid);
    }

    pub(super) fn pod_ready(&mut self, pid: PodId, epoch: u32) {
        // `live`, with the one lookup.
        let Some(p) = self.pods.get_mut(pid) else { return };
        if p.epoch != epoch || p.phase.terminal() || p.deletion.is_some() {
            return;
        }
        if !p.running || p.ready {
            return;
        }
        p.ready = true;
        let (job, attempt, node) = (p.job, p.restart_attempt, p.node);
        let live = self.training_ready_changed_of(job, attempt, true);
        self.emit_pod_at("PodReady", pid, node, job);
        // `pod_changed`, without a second lookup when the training model found the Job.
        if live {
            self.pod_changed_live(job);
        } else {
            self.pod_changed(job);
        }
        self.podctl_watch(pid);
    }

    pub(super) fn pod_exit(&mut self, pid: PodId, epoch: u32) {
        if !self.live(pid, epoch) {
            return;
        }
        let (_, code) = self.workload_for(pid);
        self.container_exit(pid, code, None);
    }

    /// The main container exited with `code` (workload or injected fault).
    pub(super) fn container_exit(&mut self, pid: PodId, code: i32, cause: Option<&str>) {
        let now = self.now;
        let Some(p) = self.pods.get(pid) else { return };
        let job = p.job;
        let restart = code != 0
            && self.jobs.get(job).is_some_and(|j| {
                j.pod_template.spec.restart_policy.as_deref() == Some("OnFailure")
                    || super::agent::restart_rule_matches(&j.pod_template.spec, code)
            });
        let p = self.pods.get_mut(pid).expect("exists");
        let was_ready = p.ready;
        p.epoch += 1;
        p.running = false;
        p.ready = false;
        p.exit_code = Some(code);
        if was_ready {
            self.training_ready_changed(pid, false);
        }
        let p = self.pods.get_mut(pid).expect("exists");
        if restart {
            // Backoff resets after 10 minutes of running.
            let ran = now.saturating_sub(p.started_at);
            let prior = if ran >= 600_000 { 0 } else { p.restart_count };
            let delay = crash_loop_delay(prior);
            let g = p.epoch;
            self.push(now + delay, Ev::ContainerRestart(pid, g));
            self.pod_changed(job);
            self.podctl_watch(pid);
            return;
        }
        p.phase = if code == 0 { Phase::Succeeded } else { Phase::Failed };
        let mut ev = self.pod_event(if code == 0 { "PodSucceeded" } else { "PodFailed" }, pid);
        ev.exit_code = Some(i64::from(code));
        ev.cause = cause.map(String::from);
        self.emit(ev);
        self.release(pid);
        self.pod_changed(job);
        self.podctl_watch(pid);
    }

    pub(super) fn container_restart(&mut self, pid: PodId, epoch: u32) {
        if !self.live(pid, epoch) {
            return;
        }
        let p = self.pods.get_mut(pid).expect("exists");
        p.restart_count += 1;
        let mut ev = self.pod_event("ContainerRestarted", pid);
        ev.attempt = Some(i64::from(self.pods.get(pid).expect("exists").restart_count));
        self.emit(ev);
        self.agent_pod_restarted(pid);
        self.start_container(pid, "PodRunning");
    }

    /// Releases a bound pod's node resources (terminal or removed).
    fn release(&mut self, pid: PodId) {
        let p = self.pods.get(pid).expect("exists");
        if release_node(&mut self.nodes, &mut self.sched, pid, p) {
            self.scheduler_kick();
        }
    }

    /// A graceful delete: unbound or finished pods go at once; others terminate.
    pub(super) fn delete_pod(&mut self, pid: PodId) {
        let now = self.now;
        let term = self.sc.timing.pod_termination;
        let Some(p) = self.pods.get_mut(pid) else { return };
        if p.deletion.is_some() {
            return;
        }
        if p.node.is_none() || p.phase.terminal() {
            self.remove_pod(pid);
            return;
        }
        let was_ready = p.ready;
        p.deletion = Some(now);
        p.epoch += 1;
        p.ready = false;
        // (The training model's update below leaves these alone.)
        let (g, job, node, attempt) = (p.epoch, p.job, p.node, p.restart_attempt);
        // (Whether the training model found the Job: `pod_changed` below need not look.)
        let live = was_ready && self.training_ready_changed_of(job, attempt, false);
        // On a node whose kubelet is down nobody finishes the deletion: the pod stays Terminating.
        if node.is_none_or(|n| self.nodes[n].alive) {
            self.push(now + term, Ev::PodTerminated(pid, g));
        }
        if live {
            self.pod_changed_live(job);
        } else {
            self.pod_changed(job);
        }
    }

    pub(super) fn pod_terminated(&mut self, pid: PodId, epoch: u32) {
        let Some(p) = self.pods.get_mut(pid) else { return };
        if p.epoch != epoch {
            return;
        }
        if !p.phase.terminal() {
            p.phase = Phase::Failed;
            p.exit_code = Some(143);
            p.running = false;
        }
        let (job, counted, bound, index) = (p.job, p.counted, p.node.is_some(), p.index);
        // `release`, with the pod in hand.
        if release_node(&mut self.nodes, &mut self.sched, pid, p) {
            self.scheduler_kick();
        }
        // The Job's tracking finalizer keeps an uncounted pod until its controller has
        // counted it. (One lookup of the Job, for that and for `ends_deleted_job`.)
        let (tracked, ends_job) = match self.jobs.get(job) {
            Some(j) => (
                j.deletion.is_none() && j.finished().is_none(),
                self.hardship.is_none() && ends_deleted_job(j, index, pid),
            ),
            None => (false, false),
        };
        if counted || !tracked {
            // Terminal and released: `remove_pod` would release nothing.
            self.remove_released_pod_of(pid, bound, ends_job);
        } else {
            self.pod_changed(job);
        }
    }

    /// The pod object is gone from the store.
    pub(super) fn remove_pod(&mut self, pid: PodId) {
        let (bound, live) = self
            .pods
            .get(pid)
            .map_or((false, false), |p| (p.node.is_some(), !p.phase.terminal()));
        if bound && live {
            self.release(pid);
        }
        self.remove_released_pod(pid, bound);
    }

    /// `remove_pod` for a pod whose node resources are released (or that has none);
    /// `bound`: it has a node.
    #[inline]
    fn remove_released_pod(&mut self, pid: PodId, bound: bool) {
        self.remove_released_pod_of(pid, bound, false);
    }

    /// `remove_released_pod`; `ends_job`: [`ends_deleted_job`] holds for the pod's Job
    /// (known to the caller, and no hardship), which goes with the pod.
    #[inline(never)]
    fn remove_released_pod_of(&mut self, pid: PodId, bound: bool, ends_job: bool) {
        // A bound pod left the scheduler's queues when it was popped for the attempt that bound it.
        if !bound {
            self.scheduler_remove(pid);
        } else {
            debug_assert!(!self.scheduler_holds(pid), "a bound pod is queued");
        }
        // The pod controller's queue keeps a slot per leader it has seen: the pod is gone.
        // (The queue is used only once an exclusive-placement pod exists, as in `podctl_watch`.)
        if !self.sched.topo.keys.is_empty() {
            self.pod_queue.forget(pid);
        }
        self.emit_pod("PodDeleted", pid);
        let mut p = self.pods.remove(pid).expect("exists");
        if let Some(pl) = p.placement.take() {
            self.sched.recycle_placement(pl);
        }
        // One lookup of the Job for its pod list, the finalizer's count, `pod_changed`
        // and whether the Job goes now (a foreground deletion waits for its last pod; the
        // watch notification in between changes none of these).
        let job = p.job;
        let (exists, remove) = if ends_job {
            // The Job is removed with its pods all gone: its pod list and status, which
            // nothing reads before, are dropped with it (`remove_job_with_pods_gone`).
            (true, true)
        } else if let Some(j) = self.jobs.get_mut(job) {
            j.pods.remove(&(p.index, pid));
            // A pod the Job controller has not counted yet is counted as it goes (finalizer).
            if !p.counted && j.finished().is_none() && j.deletion.is_none() {
                if p.phase == Phase::Succeeded {
                    if p.index >= 0 {
                        j.status.completed_indexes.insert(p.index);
                        j.status.succeeded = j.status.completed_indexes.len() as i32;
                    } else {
                        j.status.succeeded += 1;
                    }
                } else {
                    j.status.failed += 1;
                    j.failures_since_success += 1;
                    j.last_failure_at = self.now;
                }
            }
            (
                true,
                j.deletion.as_ref().is_some_and(|d| d.foreground) && j.pods.is_empty(),
            )
        } else {
            (false, false)
        };
        self.sched.recycle_name(p.name);
        if exists {
            self.pod_changed_live(job);
        }
        if ends_job {
            self.remove_job_with_pods_gone(job);
        } else if remove {
            self.remove_job(job);
        }
    }

    /// `pod_changed` for a Job known to exist.
    #[inline(always)]
    pub(super) fn pod_changed_live(&mut self, job: JobId) {
        debug_assert!(self.jobs.get(job).is_some());
        let d = self
            .sc
            .timing
            .controller_delay
            .max(crate::api::constants::JOB_SYNC_BATCH_PERIOD_MS);
        self.notify_job(job, d);
    }

    /// A node fault. `crash`: the kubelet dies without notice; nothing is visible
    /// until the node-monitor grace period marks it NotReady, then the taint
    /// manager evicts its pods after their toleration seconds (default 300 s);
    /// evicted pods stay Terminating until the node returns. `drain`: graceful
    /// maintenance: the node is cordoned and its pods are evicted through the
    /// Eviction API (`DisruptionTarget`), terminating normally.
    pub(super) fn node_fail(&mut self, n: NodeId, recover_after: Option<Millis>, mode: crate::scenario::NodeFaultMode) {
        use crate::scenario::NodeFaultMode;
        let now = self.now;
        let drain = mode == NodeFaultMode::Drain;
        if mode != NodeFaultMode::Crash {
            // drain and fail both cordon a node whose kubelet keeps running.
            if self.nodes[n].cordoned || !self.nodes[n].alive {
                return;
            }
            self.nodes[n].cordoned = true;
        } else {
            if !self.nodes[n].alive {
                return;
            }
            self.nodes[n].alive = false;
        }
        self.nodes[n].epoch += 1;
        let epoch = self.nodes[n].epoch;
        let mut ev = TraceEvent {
            event: "NodeFailed",
            ..Default::default()
        };
        ev.node = Some(self.nodes[n].name.clone());
        ev.cause = Some(mode.as_str().into());
        self.emit(ev);
        self.sched.node_changed(n, &self.nodes[n]);
        let pods: Vec<PodId> = self.nodes[n].pods.iter().copied().collect();
        if mode == NodeFaultMode::Fail {
            for pid in pods {
                if self
                    .pods
                    .get(pid)
                    .is_some_and(|p| p.running && !p.phase.terminal() && p.deletion.is_none())
                {
                    self.container_exit(pid, 137, Some("NodeFailure"));
                }
            }
            if let Some(after) = recover_after {
                self.push(now + after, Ev::NodeRecover(n, epoch));
            }
            return;
        }
        for pid in pods {
            let Some(p) = self.pods.get_mut(pid) else { continue };
            if p.phase.terminal() {
                continue;
            }
            if drain {
                if p.deletion.is_none() {
                    p.disruption = Some(Box::new((
                        "EvictionByEvictionAPI".into(),
                        "Eviction API: evicting".into(),
                    )));
                    let mut ev = self.pod_event("PodEvicted", pid);
                    ev.reason = Some("EvictionByEvictionAPI".into());
                    self.emit(ev);
                    self.delete_pod(pid);
                }
            } else {
                // The containers are gone, but nobody reports it yet.
                p.epoch += 1;
                p.running = false;
            }
        }
        if mode == NodeFaultMode::Crash {
            self.push(now + self.sc.timing.node_monitor_grace, Ev::NodeNotReady(n, epoch));
        }
        if let Some(after) = recover_after {
            self.push(now + after, Ev::NodeRecover(n, epoch));
        }
    }

    /// The node lifecycle controller marks a silent node NotReady: its pods turn
    /// not Ready, and the NoExecute taint starts each pod's toleration clock.
    pub(super) fn node_not_ready(&mut self, n: NodeId, epoch: u32) {
        if self.nodes[n].epoch != epoch || self.nodes[n].alive || !self.nodes[n].ready {
            return;
        }
        self.nodes[n].ready = false;
        self.sched.node_changed(n, &self.nodes[n]);
        let mut ev = TraceEvent {
            event: "NodeNotReady",
            ..Default::default()
        };
        ev.node = Some(self.nodes[n].name.clone());
        ev.reason = Some("NodeStatusUnknown".into());
        ev.message = Some("Kubelet stopped posting node status.".into());
        self.emit(ev);
        let pods: Vec<PodId> = self.nodes[n].pods.iter().copied().collect();
        for pid in pods {
            let Some(p) = self.pods.get_mut(pid) else { continue };
            if p.phase.terminal() {
                continue;
            }
            let job = p.job;
            if p.ready {
                p.ready = false;
                self.training_ready_changed(pid, false);
                let ev = self.pod_event("PodNotReady", pid);
                self.emit(ev);
                self.pod_changed(job);
                self.podctl_watch(pid);
            }
            let p = self.pods.get(pid).expect("exists");
            if p.deletion.is_some() {
                continue;
            }
            // Borrowed from the Job's template (no clone of its tolerations per pod).
            let tol = self.jobs.get(job).and_then(|j| {
                j.pod_template
                    .spec
                    .tolerations
                    .iter()
                    .find(|t| t.tolerates("node.kubernetes.io/unreachable", "", "NoExecute"))
            });
            let wait = match tol {
                Some(t) => t.toleration_seconds.map(|s| (s.max(0) as u64) * 1000),
                None => Some(self.sc.timing.eviction_toleration),
            };
            if let Some(w) = wait {
                let e = p.epoch;
                self.push(self.now + w, Ev::TaintEvict(pid, e));
            }
        }
    }

    /// The taint manager evicts a pod from an unreachable node.
    pub(super) fn taint_evict(&mut self, pid: PodId, epoch: u32) {
        let Some(p) = self.pods.get_mut(pid) else { return };
        if p.epoch != epoch || p.deletion.is_some() || p.phase.terminal() {
            return;
        }
        if p.node.is_some_and(|n| self.nodes[n].ready) {
            return;
        }
        p.disruption = Some(Box::new((
            "DeletionByTaintManager".into(),
            "Taint manager: deleting due to NoExecute taint".into(),
        )));
        let mut ev = self.pod_event("PodEvicted", pid);
        ev.reason = Some("DeletionByTaintManager".into());
        self.emit(ev);
        self.delete_pod(pid);
    }

    pub(super) fn node_recover(&mut self, n: NodeId, epoch: u32) {
        if self.nodes[n].epoch != epoch || (self.nodes[n].alive && !self.nodes[n].cordoned) {
            return;
        }
        let was_dead = !self.nodes[n].alive;
        self.nodes[n].alive = true;
        self.nodes[n].ready = true;
        self.nodes[n].cordoned = false;
        self.nodes[n].epoch += 1;
        let mut ev = TraceEvent {
            event: "NodeRecovered",
            ..Default::default()
        };
        ev.node = Some(self.nodes[n].name.clone());
        self.emit(ev);
        self.sched.node_changed(n, &self.nodes[n]);
        if was_dead {
            // The kubelet is back: it finishes deletions, reports lost containers, starts pending pods.
            let pods: Vec<PodId> = self.nodes[n].pods.iter().copied().collect();
            for pid in pods {
                let Some(p) = self.pods.get_mut(pid) else { continue };
                if p.phase.terminal() {
                    continue;
                }
                p.epoch += 1;
                let e = p.epoch;
                if p.deletion.is_some() {
                    // The kubelet finishes the deletion at once (the container is long gone).
                    p.exit_code = Some(137);
                    self.pod_terminated(pid, e);
                } else if p.phase == Phase::Pending {
                    self.push(self.now + self.sc.timing.pod_startup, Ev::PodStart(pid, e));
                } else {
                    // The container did not survive the crash (ContainerStatusUnknown, 137).
                    self.container_exit(pid, 137, Some("ContainerStatusUnknown"));
                }
            }
        }
        self.scheduler_kick();
    }
}
