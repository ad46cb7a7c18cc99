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

impl World {
    /// The workload rule for a pod: first match wins; no match: run 1 minute, exit 0.
    fn workload_for(&self, pid: PodId) -> (Option<Millis>, i32) {
        let sc = self.sc.clone();
        let p = self.pods.get(pid).expect("exists");
        for r in &sc.workload {
            if self.pod_matches(p, &r.matcher) {
                return (r.run_for, r.exit_code);
            }
        }
        (Some(60_000), 0)
    }

    /// Called by the scheduler when a pod is bound.
    pub(super) fn kubelet_bound(&mut self, pid: PodId) {
        let t = self.now + self.sc.timing.pod_startup;
        let g = self.pods.get(pid).expect("exists").epoch;
        self.push(t, Ev::PodStart(pid, g));
    }

    fn live(&self, pid: PodId, epoch: u32) -> bool {
        self.pods
            .get(pid)
            .is_some_and(|p| p.epoch == epoch && !p.phase.terminal() && p.deletion.is_none())
    }

    pub(super) fn pod_start(&mut self, pid: PodId, epoch: u32) {
        if !self.live(pid, epoch) {
            return;
        }
        let p = self.pods.get_mut(pid).expect("exists");
        p.phase = Phase::Running;
        self.start_container(pid, "PodRunning");
    }

    fn start_container(&mut self, pid: PodId, event: &'static str) {
        let now = self.now;
        let (run_for, _) = self.workload_for(pid);
        let ready_after = self.sc.timing.pod_ready;
        let p = self.pods.get_mut(pid).expect("exists");
        p.running = true;
        p.started_at = now;
        let (g, job) = (p.epoch, p.job);
        let ev = self.pod_event(event, pid);
        self.emit(ev);
        self.push(now + ready_after, Ev::PodReady(pid, g));
        if let Some(d) = run_for {
            self.push(now + d, Ev::PodExit(pid, g));
        }
        self.pod_changed(job);
    }

    pub(super) fn pod_ready(&mut self, pid: PodId, epoch: u32) {
        if !self.live(pid, epoch) {
            return;
        }
        let p = self.pods.get_mut(pid).expect("exists");
        if !p.running || p.ready {
            return;
        }
        p.ready = true;
        let job = p.job;
        let ev = self.pod_event("PodReady", pid);
        self.emit(ev);
        self.pod_changed(job);
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
            && self
                .jobs
                .get(job)
                .is_some_and(|j| j.pod_template.spec.restart_policy.as_deref() == Some("OnFailure"));
        let p = self.pods.get_mut(pid).expect("exists");
        p.epoch += 1;
        p.running = false;
        p.ready = false;
        p.exit_code = Some(code);
        if restart {
            // Backoff resets after 10 minutes of running.
            let ran = now.saturating_sub(p.started_at);
            let prior = if ran >= 600_000 { 0 } else { p.restart_count };
            let delay = crash_loop_delay(prior);
            let g = p.epoch;
            self.push(now + delay, Ev::ContainerRestart(pid, g));
            self.pod_changed(job);
            return;
        }
        p.phase = if code == 0 { Phase::Succeeded } else { Phase::Failed };
        let mut ev = self.pod_event(if code == 0 { "PodSucceeded" } else { "PodFailed" }, pid);
        ev.exit_code = Some(i64::from(code));
        ev.cause = cause.map(String::from);
        self.emit(ev);
        self.release(pid);
        self.pod_changed(job);
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
        self.start_container(pid, "PodRunning");
    }

    /// Releases a bound pod's node resources (terminal or removed).
    fn release(&mut self, pid: PodId) {
        let p = self.pods.get(pid).expect("exists");
        let Some(n) = p.node else { return };
        let job = p.job;
        let reqs = self.jobs.get(job).map(|j| j.pod_requests.clone());
        let node = &mut self.nodes[n];
        if node.pods.remove(&pid) {
            if let Some(reqs) = reqs {
                for (r, v) in reqs.iter() {
                    node.allocated[*r] -= v;
                }
            }
            self.sched.node_changed(n, &self.nodes[n]);
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
        p.deletion = Some(now);
        p.epoch += 1;
        p.ready = false;
        let (g, job) = (p.epoch, p.job);
        self.push(now + term, Ev::PodTerminated(pid, g));
        self.pod_changed(job);
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
        let job = p.job;
        let counted = p.counted;
        self.release(pid);
        // The Job's tracking finalizer keeps an uncounted pod until its controller has counted it.
        let tracked = self
            .jobs
            .get(job)
            .is_some_and(|j| j.finished().is_none() && j.deletion.is_none());
        if counted || !tracked {
            self.remove_pod(pid);
        } else {
            self.pod_changed(job);
        }
    }

    /// The pod object is gone from the store.
    pub(super) fn remove_pod(&mut self, pid: PodId) {
        if self
            .pods
            .get(pid)
            .is_some_and(|p| p.node.is_some() && !p.phase.terminal())
        {
            self.release(pid);
        }
        self.scheduler_remove(pid);
        let ev = self.pod_event("PodDeleted", pid);
        self.emit(ev);
        let p = self.pods.remove(pid).expect("exists");
        // A pod the Job controller has not counted yet is counted as it goes (finalizer).
        if let Some(j) = self.jobs.get_mut(p.job) {
            j.pods.remove(&(p.index, pid));
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
        }
        self.pod_changed(p.job);
        self.maybe_remove_job(p.job);
    }

    /// A node fails: its pods fail at once (issue: realistic NotReady timeline comes later).
    pub(super) fn node_fail(&mut self, n: NodeId, recover_after: Option<Millis>, drain: bool) {
        if !self.nodes[n].ready {
            return;
        }
        self.nodes[n].ready = false;
        self.nodes[n].epoch += 1;
        let g = self.nodes[n].epoch;
        let mut ev = TraceEvent {
            event: "NodeFailed",
            ..Default::default()
        };
        ev.node = Some(self.nodes[n].name.clone());
        ev.cause = Some(if drain { "drain".into() } else { "crash".into() });
        self.emit(ev);
        self.sched.node_changed(n, &self.nodes[n]);
        let pods: Vec<PodId> = self.nodes[n].pods.iter().copied().collect();
        for pid in pods {
            let Some(p) = self.pods.get_mut(pid) else { continue };
            if p.phase.terminal() {
                continue;
            }
            if drain {
                p.disruption = Some((
                    "TerminationByKubelet".into(),
                    "Pod was terminated in response to imminent node shutdown.".into(),
                ));
            }
            p.epoch += 1;
            p.running = false;
            p.ready = false;
            p.phase = Phase::Failed;
            p.exit_code = Some(137);
            let job = p.job;
            let mut ev = self.pod_event("PodFailed", pid);
            ev.exit_code = Some(137);
            ev.cause = Some(if drain { "NodeDrain".into() } else { "NodeFailed".into() });
            self.emit(ev);
            self.release(pid);
            self.pod_changed(job);
        }
        if let Some(after) = recover_after {
            self.push(self.now + after, Ev::NodeRecover(n, g));
        }
    }

    pub(super) fn node_recover(&mut self, n: NodeId, epoch: u32) {
        if self.nodes[n].epoch != epoch || self.nodes[n].ready {
            return;
        }
        self.nodes[n].ready = true;
        let mut ev = TraceEvent {
            event: "NodeRecovered",
            ..Default::default()
        };
        ev.node = Some(self.nodes[n].name.clone());
        self.emit(ev);
        self.sched.node_changed(n, &self.nodes[n]);
        self.scheduler_kick();
    }
}
