//! The in-place restart agent (`cmd/in-place-restart-agent`, spec §16.2), run
//! inside every pod of a JobSet with `restartStrategy: InPlaceRestart` (gate on).
//!
//! When its container starts, the agent holds the workload behind a barrier.
//! At its first observation of the JobSet (one `controllerDelay` later: its
//! watch) it writes the pod annotation `jobset.sigs.k8s.io/in-place-restart-attempt`
//! = `currentInPlaceRestartAttempt + 1` (0 when unset). The JobSet controller
//! (R15) sets `current` once every expected pod reports the same attempt, and
//! raises `previous` when one pod is ahead. An agent whose attempt is ≤
//! `previous` exits with code 1, which restarts the pod's containers in place
//! (crash-loop backoff: the first restart is immediate); an agent whose attempt
//! equals `current` lifts the barrier and the workload runs (Ready after
//! `podReady`). A restart therefore costs a container restart and a few watch
//! round trips, not a Job deletion, pod re-creation, scheduling and `podStartup`.

use super::*;
use crate::api::constants::*;
use crate::controllers::lifecycle::{InPlaceOutcome, in_place_active};

/// Whether a container restart rule (`restartPolicyRules`, action `Restart` or
/// `RestartAllContainers`) of any container restarts the pod in place for `code`.
pub fn restart_rule_matches(spec: &crate::api::PodSpec, code: i32) -> bool {
    spec.containers.iter().chain(&spec.init_containers).any(|c| {
        let Some(serde_json::Value::Array(rules)) = c.extra.get("restartPolicyRules") else {
            return false;
        };
        rules.iter().any(|r| {
            let action = r.get("action").and_then(|a| a.as_str()).unwrap_or("");
            if action != "Restart" && action != "RestartAllContainers" {
                return false;
            }
            let Some(ec) = r.get("exitCodes") else { return false };
            let values: Vec<i64> = ec
                .get("values")
                .and_then(|v| v.as_array())
                .map(|a| a.iter().filter_map(|x| x.as_i64()).collect())
                .unwrap_or_default();
            match ec.get("operator").and_then(|o| o.as_str()) {
                Some("In") => values.contains(&i64::from(code)),
                Some("NotIn") => !values.contains(&i64::from(code)),
                _ => false,
            }
        })
    })
}

impl World {
    /// The JobSet whose agent protocol this pod follows, if any.
    #[inline]
    fn agent_jobset(&self, pid: PodId) -> Option<JobSetId> {
        if !self.sc.gates.in_place_restart {
            return None; // (tested inline: every container start asks)
        }
        self.agent_jobset_gated(pid)
    }

    #[inline(never)]
    fn agent_jobset_gated(&self, pid: PodId) -> Option<JobSetId> {
        let p = self.pods.get(pid)?;
        let owner = self.jobs.get(p.job)?.stamp.as_ref()?.jobset;
        let jso = self.jobsets.get(owner)?;
        in_place_active(&jso.js, true).then_some(owner)
    }

    /// A container of the pod started. Returns true when the agent holds the
    /// workload behind its barrier (the kubelet then arms no Ready/exit timers).
    pub(super) fn agent_container_started(&mut self, pid: PodId) -> bool {
        if self.agent_jobset(pid).is_none() {
            return false;
        }
        let delay = self.sc.timing.controller_delay;
        let p = self.pods.get_mut(pid).expect("exists");
        p.agent_attempt = None;
        p.barrier_down = false;
        let g = p.epoch;
        self.push(self.now + delay, Ev::AgentSync(pid, g));
        true
    }

    /// A container restart changes `restartCount`, which R15 reads (pod watch).
    pub(super) fn agent_pod_restarted(&mut self, pid: PodId) {
        if let Some(js) = self.agent_jobset(pid) {
            self.notify_jobset(js);
        }
    }

    /// The agent observes the JobSet and acts (§16.2).
    pub(super) fn agent_sync(&mut self, pid: PodId, epoch: u32) {
        let Some(p) = self.pods.get(pid) else { return };
        if p.epoch != epoch || !p.running || p.phase.terminal() || p.deletion.is_some() {
            return;
        }
        let Some(js) = self.agent_jobset(pid) else {
            // The JobSet is gone or no longer in-place: bypass, lift the barrier.
            if !p.barrier_down {
                self.pods.get_mut(pid).expect("exists").barrier_down = true;
                self.run_workload(pid);
            }
            return;
        };
        let st = &self.jobsets.get(js).expect("exists").js.status;
        let (current, previous) = (
            st.current_in_place_restart_attempt,
            st.previous_in_place_restart_attempt,
        );
        let p = self.pods.get(pid).expect("exists");
        let attempt = match p.agent_attempt {
            Some(a) => a,
            None => {
                let a = current.map_or(0, |c| c + 1);
                let p = self.pods.get_mut(pid).expect("exists");
                p.agent_attempt = Some(a);
                if p.in_place_attempt != Some(a) {
                    // Server-side apply of the pod annotation; the JobSet controller watches pods.
                    p.in_place_attempt = Some(a);
                    self.next_rv();
                    let mut ev = self.pod_event("InPlaceAttemptReported", pid);
                    ev.attempt = Some(i64::from(a));
                    self.emit(ev);
                    self.notify_jobset(js);
                }
                a
            }
        };
        let p = self.pods.get(pid).expect("exists");
        if previous.is_some_and(|prev| attempt <= prev) {
            // Restart in place: the agent exits with IN_PLACE_RESTART_EXIT_CODE.
            let mut ev = self.pod_event("InPlaceRestartExit", pid);
            ev.attempt = Some(i64::from(attempt));
            ev.exit_code = Some(i64::from(IN_PLACE_RESTART_EXIT_CODE));
            self.emit(ev);
            self.container_exit(pid, IN_PLACE_RESTART_EXIT_CODE, Some("in-place restart"));
            return;
        }
        if !p.barrier_down && current == Some(attempt) {
            self.pods.get_mut(pid).expect("exists").barrier_down = true;
            let mut ev = self.pod_event("InPlaceBarrierLifted", pid);
            ev.attempt = Some(i64::from(attempt));
            self.emit(ev);
            self.run_workload(pid);
        }
    }

    /// After R15 changed the in-place attempts: trace it, and every agent of the
    /// JobSet observes the new status one watch delay later.
    pub(super) fn in_place_outcome(&mut self, id: JobSetId, o: InPlaceOutcome) {
        let (name, attempt) = match o {
            InPlaceOutcome::Current(a) => ("InPlaceAttemptCurrent", Some(a)),
            // `previous` = a: every pod moves to attempt a + 1.
            InPlaceOutcome::Previous(a) => ("InPlaceRestartStarted", Some(a + 1)),
            InPlaceOutcome::Failed | InPlaceOutcome::Nothing => return,
        };
        // Only what was persisted is observed (a status write that did not land changes nothing).
        let persisted = self.jobsets.get(id).is_some_and(|j| {
            let st = &j.js.status;
            match o {
                InPlaceOutcome::Current(a) => st.current_in_place_restart_attempt == Some(a),
                InPlaceOutcome::Previous(a) => st.previous_in_place_restart_attempt == Some(a),
                _ => false,
            }
        });
        if !persisted {
            return;
        }
        let mut ev = self.jobset_event(name, id);
        ev.attempt = attempt.map(i64::from);
        self.emit(ev);
        let Some(jso) = self.jobsets.get(id) else { return };
        if matches!(o, InPlaceOutcome::Previous(_)) {
            // Every worker process restarts: the training model falls back to its checkpoint.
            let js_name = jso.name.clone();
            self.training_restart(&js_name);
        }
        let Some(jso) = self.jobsets.get(id) else { return };
        let delay = self.sc.timing.controller_delay;
        let mut wake = Vec::new();
        for jid in jso.jobs.values() {
            let Some(j) = self.jobs.get(*jid) else { continue };
            for (_, pid) in &j.pods {
                let Some(p) = self.pods.get(*pid) else { continue };
                if p.running && p.agent_attempt.is_some() && !p.phase.terminal() && p.deletion.is_none() {
                    wake.push((*pid, p.epoch));
                }
            }
        }
        for (pid, g) in wake {
            self.push(self.now + delay, Ev::AgentSync(pid, g));
        }
    }
}
