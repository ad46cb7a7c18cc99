//! Readiness and startup probes: their timing decides when a pod is Ready (handlers always succeed).

use crate::util::*;
use jobset_sim::scenario::parse_scenario;
use std::path::Path;

fn with_probes(probes: &str) -> String {
    format!(
        "name: probes\njobsets:\n- inline:\n    apiVersion: jobset.x-k8s.io/v1alpha2\n    kind: JobSet\n    metadata: {{name: js}}\n    spec:\n      startupPolicy: {{startupPolicyOrder: InOrder}}\n      replicatedJobs:\n      - name: driver\n        template:\n          spec:\n            template:\n              spec:\n                containers:\n                - name: c\n                  image: x\n{probes}\n      - name: workers\n        template:\n          spec:\n            template:\n              spec:\n                containers: [{{name: c, image: x}}]\nworkload:\n- runFor: 10m\n"
    )
}

fn first(w: &jobset_sim::sim::World, event: &str, rj: &str) -> u64 {
    events(w, event)
        .into_iter()
        .find(|e| e.replicated_job.as_deref() == Some(rj))
        .unwrap_or_else(|| panic!("no {event} for {rj}"))
        .t
}

#[test]
fn a_readiness_probe_delays_ready_and_so_the_next_in_order_replicated_job() {
    let plain = run(scenario(&with_probes("")));
    let probed = run(scenario(&with_probes(
        "                  readinessProbe: {exec: {command: [\"true\"]}, initialDelaySeconds: 45, periodSeconds: 15}",
    )));
    let running = first(&probed, "PodRunning", "driver");
    assert_eq!(
        first(&probed, "PodReady", "driver") - running,
        45_000,
        "first tick at or after 45 s"
    );
    assert_eq!(
        first(&plain, "PodReady", "driver") - first(&plain, "PodRunning", "driver"),
        1_000,
        "timing.podReady"
    );
    assert!(first(&probed, "JobCreated", "workers") > first(&probed, "PodReady", "driver"));
    assert!(first(&probed, "JobCreated", "workers") - first(&plain, "JobCreated", "workers") >= 44_000);
}

#[test]
fn a_startup_probe_holds_readiness_until_it_succeeds() {
    let w = run(scenario(&with_probes(
        "                  startupProbe: {tcpSocket: {port: 80}, initialDelaySeconds: 12, periodSeconds: 5}\n                  readinessProbe: {httpGet: {port: 80}, periodSeconds: 7, successThreshold: 2}",
    )));
    // Startup succeeds at its 15 s tick; readiness ticks every 7 s: 21 s, then a second success at 28 s.
    assert_eq!(
        first(&w, "PodReady", "driver") - first(&w, "PodRunning", "driver"),
        28_000
    );
}

#[test]
fn invalid_probe_timings_are_errors_with_their_path() {
    let cases = [
        (
            "                  readinessProbe: {periodSeconds: 0}",
            "spec.replicatedJobs[0].template.spec.template.spec.containers[0].readinessProbe.periodSeconds: must be greater than or equal to 1, found 0",
        ),
        (
            "                  startupProbe: {successThreshold: 2}",
            "containers[0].startupProbe.successThreshold: must be 1 for a startup probe",
        ),
        (
            "                  readinessProbe: {initialDelaySecond: 3}",
            "containers[0].readinessProbe.initialDelaySecond: unknown field \"initialDelaySecond\"; did you mean \"initialDelaySeconds\"?",
        ),
    ];
    for (probe, want) in cases {
        let err = parse_scenario(&with_probes(probe), Path::new("p.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{probe}\n  got: {err}\n  want: {want}");
    }
}

#[test]
fn probe_handlers_are_reported_as_not_simulated_but_their_timing_is_not() {
    let sc = scenario(&with_probes(
        "                  readinessProbe: {exec: {command: [\"true\"]}, initialDelaySeconds: 5, timeoutSeconds: 2}",
    ));
    let ns: Vec<&str> = sc.not_simulated.iter().map(String::as_str).collect();
    assert!(ns.iter().any(|p| p.ends_with("readinessProbe.exec")), "{ns:?}");
    assert!(
        ns.iter().any(|p| p.ends_with("readinessProbe.timeoutSeconds")),
        "{ns:?}"
    );
    assert!(
        !ns.iter()
            .any(|p| p.ends_with("initialDelaySeconds") || p.ends_with("readinessProbe")),
        "{ns:?}"
    );
}
