//! Readiness and startup probes: only their timing is simulated.
//!
//! The handler (`exec`, `httpGet`, `tcpSocket`, `grpc`) is assumed to succeed every time, so a
//! probe decides *when* a container becomes ready, not *whether*. The kubelet's prober worker
//! ticks every `periodSeconds` (default 10) from the container's start; a tick before
//! `initialDelaySeconds` (default 0) is skipped; a readiness probe needs `successThreshold`
//! (default 1) consecutive successes; while a startup probe has not succeeded, the readiness
//! probe does not run and the container is not ready (Kubernetes `pkg/kubelet/prober/worker.go`).
//! The first tick's random jitter, which the kubelet applies only right after it restarts, is
//! not modelled.

use crate::input::{Diags, Obj};
use crate::units::Millis;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Probe fields that are valid but not simulated (the handler always succeeds).
pub const PROBE_KEPT: &[&str] = &[
    "exec",
    "httpGet",
    "tcpSocket",
    "grpc",
    "timeoutSeconds",
    "failureThreshold",
    "terminationGracePeriodSeconds",
];

const DEFAULT_PERIOD_SECONDS: i64 = 10;

/// One probe as written; the three timing fields are read, the rest kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_delay_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_threshold: Option<i64>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Probe {
    /// Parses a probe; `startup` applies the API's rule that a startup probe's
    /// `successThreshold` must be 1.
    pub fn parse(mut o: Obj<'_>, startup: bool, d: &mut Diags) -> Probe {
        let field = |o: &mut Obj<'_>, key: &'static str, min: i64, d: &mut Diags| {
            let v = o.i32(key, d).map(i64::from)?;
            if v < min {
                d.error(o.at(key), format!("must be greater than or equal to {min}, found {v}"));
                return None;
            }
            Some(v)
        };
        let initial_delay_seconds = field(&mut o, "initialDelaySeconds", 0, d);
        let period_seconds = field(&mut o, "periodSeconds", 1, d);
        let success_threshold = field(&mut o, "successThreshold", 1, d);
        if startup && success_threshold.is_some_and(|s| s != 1) {
            d.error(o.at("successThreshold"), "must be 1 for a startup probe");
        }
        let extra = o.finish(d, PROBE_KEPT);
        Probe {
            initial_delay_seconds,
            period_seconds,
            success_threshold,
            extra,
        }
    }

    fn period_ms(&self) -> Millis {
        self.period_seconds.unwrap_or(DEFAULT_PERIOD_SECONDS).max(1) as Millis * 1000
    }

    /// The first prober tick at or after `not_before` (ms after the container started) that is
    /// also at or after `initialDelaySeconds`.
    fn first_tick(&self, not_before: Millis) -> Millis {
        let delay = self.initial_delay_seconds.unwrap_or(0).max(0) as Millis * 1000;
        let period = self.period_ms();
        delay.max(not_before).div_ceil(period) * period
    }
}

/// When a container becomes ready, in ms after it started: 0 without probes.
pub fn container_ready_after(readiness: Option<&Probe>, startup: Option<&Probe>) -> Millis {
    let started = startup.map_or(0, |p| p.first_tick(0));
    match readiness {
        None => started,
        Some(r) => {
            let successes = r.success_threshold.unwrap_or(1).max(1) as Millis;
            r.first_tick(started) + (successes - 1) * r.period_ms()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(initial: Option<i64>, period: Option<i64>, success: Option<i64>) -> Probe {
        Probe {
            initial_delay_seconds: initial,
            period_seconds: period,
            success_threshold: success,
            extra: BTreeMap::new(),
        }
    }

    #[test]
    fn no_probe_means_ready_at_start() {
        assert_eq!(container_ready_after(None, None), 0);
    }

    #[test]
    fn a_readiness_probe_succeeds_on_the_first_tick_after_its_initial_delay() {
        // Ticks at 0, 10 s, 20 s, 30 s: initialDelaySeconds 30 succeeds at 30 s exactly.
        assert_eq!(container_ready_after(Some(&probe(Some(30), None, None)), None), 30_000);
        // 25 s falls between ticks: the 30 s tick is the first one that probes.
        assert_eq!(container_ready_after(Some(&probe(Some(25), None, None)), None), 30_000);
        // No delay: the tick at start succeeds.
        assert_eq!(container_ready_after(Some(&probe(None, None, None)), None), 0);
    }

    #[test]
    fn success_threshold_adds_whole_periods() {
        assert_eq!(
            container_ready_after(Some(&probe(Some(5), Some(2), Some(3))), None),
            10_000
        );
    }

    #[test]
    fn readiness_waits_for_the_startup_probe() {
        // Startup succeeds at its 5 s tick (period 5); readiness (period 10, no delay) first probes at 10 s.
        let startup = probe(Some(5), Some(5), None);
        assert_eq!(container_ready_after(None, Some(&startup)), 5_000);
        assert_eq!(
            container_ready_after(Some(&probe(None, None, None)), Some(&startup)),
            10_000
        );
    }
}
