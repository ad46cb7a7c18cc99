//! Seeded random fault processes. Each process draws from its own ChaCha
//! stream (`1000 + its index in faults:`), so adding one never shifts another's
//! draws. Node and domain failures are per-node (per-domain) Poisson
//! processes: after a failure, the next one is drawn from the recovery time.
//! Pod failures are per running pod, drawn each time its container starts.

use super::*;
use crate::scenario::{Delay, RandomKind};
use rand::Rng;

/// An exponential delay of the given mean, in whole milliseconds (at least 1).
/// Uses `f64::ln`; traces are pinned to IEEE-754 platforms (x86_64, aarch64).
pub fn exp_ms(rng: &mut ChaCha8Rng, mean: f64) -> Millis {
    let u = ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64);
    let d = -mean * (1.0 - u).ln();
    if !d.is_finite() || d > 1e15 {
        1_000_000_000_000_000
    } else {
        (d.round() as Millis).max(1)
    }
}

fn draw_delay(rng: &mut ChaCha8Rng, d: Delay) -> Millis {
    match d {
        Delay::Fixed(x) => x,
        Delay::Exponential(m) => exp_ms(rng, m as f64),
        Delay::Uniform(a, b) => a + rng.next_u64() % (b - a + 1),
    }
}

impl World {
    /// Schedules the first firing of every random process (called once at start).
    pub(super) fn start_random_faults(&mut self) {
        let sc = self.sc.clone();
        for (i, rf) in sc.random_faults.iter().enumerate() {
            match &rf.kind {
                RandomKind::NodeFailure { pool, .. } => {
                    for n in self.pool_nodes(pool.as_deref()) {
                        self.schedule_node_fault(i, n, 0);
                    }
                }
                RandomKind::DomainFailure { pool, key, mtbf, .. } => {
                    let domains = self.domains(pool.as_deref(), key);
                    for (di, _) in domains.iter().enumerate() {
                        let t = exp_ms(&mut self.rng_faults[i], *mtbf as f64);
                        self.push(t, Ev::RandomDomain(i, di));
                    }
                }
                RandomKind::PodFailure { .. } => {}
            }
        }
    }

    fn pool_nodes(&self, pool: Option<&str>) -> Vec<NodeId> {
        let pi = pool.and_then(|p| self.sc.cluster.pools.iter().position(|x| x.name == p));
        (0..self.nodes.len())
            .filter(|n| pool.is_none() || Some(self.nodes[*n].pool) == pi)
            .collect()
    }

    /// Distinct values of `key` among the pool's nodes, in node order.
    fn domains(&self, pool: Option<&str>, key: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for n in self.pool_nodes(pool) {
            if let Some(v) = self.nodes[n].labels.get(key)
                && !out.contains(v)
            {
                out.push(v.clone());
            }
        }
        out
    }

    /// The mean time between failures of one node under process `i`, in ms.
    fn node_mtbf(&self, i: usize) -> f64 {
        match &self.sc.random_faults[i].kind {
            RandomKind::NodeFailure { mtbf: Some(m), .. } => *m as f64,
            RandomKind::NodeFailure { profile: Some(p), .. } => p.node_days * 86_400_000.0 / f64::from(p.total()),
            _ => f64::INFINITY,
        }
    }

    fn schedule_node_fault(&mut self, i: usize, n: NodeId, after: Millis) {
        let mean = self.node_mtbf(i);
        let t = self.now + after + exp_ms(&mut self.rng_faults[i], mean);
        self.push(t, Ev::RandomNode(i, n));
    }

    /// Every submission has been made and every JobSet is finished or gone:
    /// background processes stop so the run can end.
    pub(super) fn all_done(&self) -> bool {
        // A scenario without JobSets is a pure chaos run: it goes to the horizon.
        !self.sc.submissions.is_empty()
            && self.submitted == self.sc.submissions.len()
            && self
                .jobsets
                .iter()
                .all(|(_, j)| j.finished_at.is_some() || j.deletion.is_some())
    }

    pub(super) fn random_node(&mut self, i: usize, n: NodeId) {
        let sc = self.sc.clone();
        let RandomKind::NodeFailure {
            profile,
            recover_after,
            mode,
            ..
        } = &sc.random_faults[i].kind
        else {
            return;
        };
        let recover = recover_after.map(|d| draw_delay(&mut self.rng_faults[i], d));
        let (cause, mode) = match profile {
            Some(p) => {
                let mut x = (self.rng_faults[i].next_u64() % u64::from(p.total())) as u32;
                let mut pick = p.causes[0];
                for c in &p.causes {
                    if x < c.1 {
                        pick = *c;
                        break;
                    }
                    x -= c.1;
                }
                (
                    format!("{}:{}", p.name, pick.0),
                    if pick.2 {
                        crate::scenario::NodeFaultMode::Drain
                    } else {
                        *mode
                    },
                )
            }
            None => ("random".to_string(), *mode),
        };
        let down = !self.nodes[n].alive || self.nodes[n].cordoned;
        if !down {
            let mut ev = TraceEvent {
                event: "FaultInjected",
                ..Default::default()
            };
            ev.node = Some(self.nodes[n].name.clone());
            ev.cause = Some(cause);
            ev.rule = Some(sc.random_faults[i].path.clone());
            self.emit(ev);
            self.node_fail(n, recover, mode);
        }
        // The node's next failure is drawn from when it is back.
        self.schedule_node_fault(i, n, if down { 0 } else { recover.unwrap_or(0) });
    }

    pub(super) fn random_domain(&mut self, i: usize, di: usize) {
        let sc = self.sc.clone();
        let RandomKind::DomainFailure {
            pool,
            key,
            mtbf,
            recover_after,
        } = &sc.random_faults[i].kind
        else {
            return;
        };
        let domains = self.domains(pool.as_deref(), key);
        let Some(value) = domains.get(di) else { return };
        let recover = recover_after.map(|d| draw_delay(&mut self.rng_faults[i], d));
        let nodes: Vec<NodeId> = self
            .pool_nodes(pool.as_deref())
            .into_iter()
            .filter(|n| self.nodes[*n].labels.get(key) == Some(value))
            .collect();
        let mut ev = TraceEvent {
            event: "FaultInjected",
            ..Default::default()
        };
        ev.cause = Some(format!("domainFailure {key}={value} ({} nodes)", nodes.len()));
        ev.rule = Some(sc.random_faults[i].path.clone());
        self.emit(ev);
        for n in nodes {
            self.node_fail(n, recover, crate::scenario::NodeFaultMode::Crash);
        }
        let t = self.now + recover.unwrap_or(0) + exp_ms(&mut self.rng_faults[i], *mtbf as f64);
        self.push(t, Ev::RandomDomain(i, di));
    }

    /// A container started: arm every matching pod-failure process for it.
    /// Arms the random pod-failure processes whose matcher selects a starting pod.
    #[inline]
    pub(super) fn arm_pod_faults(&mut self, pid: PodId) {
        // Only pod-failure rules arm a pod (node faults, as in the llama3 runs, do not):
        // checked before the scenario handle is cloned, as every pod start asks.
        if self
            .sc
            .random_faults
            .iter()
            .any(|rf| matches!(rf.kind, RandomKind::PodFailure { .. }))
        {
            self.arm_matching_pod_faults(pid);
        }
    }

    #[inline(never)]
    fn arm_matching_pod_faults(&mut self, pid: PodId) {
        let sc = self.sc.clone();
        for (i, rf) in sc.random_faults.iter().enumerate() {
            if let RandomKind::PodFailure { matcher, mtbf, .. } = &rf.kind {
                let p = self.pods.get(pid).expect("exists");
                if self.pod_matches(p, matcher) {
                    let epoch = p.epoch;
                    let t = self.now + exp_ms(&mut self.rng_faults[i], *mtbf as f64);
                    self.push(t, Ev::RandomPod(i, pid, epoch));
                }
            }
        }
    }

    pub(super) fn random_pod(&mut self, i: usize, pid: PodId, epoch: u32) {
        let sc = self.sc.clone();
        let RandomKind::PodFailure { exit_code, .. } = &sc.random_faults[i].kind else {
            return;
        };
        let Some(p) = self.pods.get(pid) else { return };
        if p.epoch != epoch || !p.running || p.deletion.is_some() || p.phase.terminal() {
            return;
        }
        let mut ev = self.pod_event("FaultInjected", pid);
        ev.cause = Some(format!("random podFailure (exit code {exit_code})"));
        ev.rule = Some(sc.random_faults[i].path.clone());
        self.emit(ev);
        self.container_exit(pid, *exit_code, Some("podFailure"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_draws_have_the_requested_mean() {
        let mut r = rng_stream(7, 1000);
        let n = 20_000;
        let sum: u64 = (0..n).map(|_| exp_ms(&mut r, 10_000.0)).sum();
        let mean = sum as f64 / n as f64;
        assert!((mean - 10_000.0).abs() < 300.0, "mean {mean}");
    }

    #[test]
    fn streams_are_independent_and_reproducible() {
        let a: Vec<u64> = (0..5)
            .map(|_| 0)
            .scan(rng_stream(1, 1000), |r, _| Some(exp_ms(r, 1e6)))
            .collect();
        let b: Vec<u64> = (0..5)
            .map(|_| 0)
            .scan(rng_stream(1, 1000), |r, _| Some(exp_ms(r, 1e6)))
            .collect();
        let c: Vec<u64> = (0..5)
            .map(|_| 0)
            .scan(rng_stream(1, 1001), |r, _| Some(exp_ms(r, 1e6)))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
