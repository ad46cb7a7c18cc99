//! Every shipped scenario, and every upstream example JobSet, runs with the
//! invariant checker on (after every event) and breaks no invariant. The
//! per-invariant tests (each fires on a hand-made violation) are next to the
//! checker in `src/sim/invariants_tests.rs`.

use crate::util::*;
use jobset_sim::sim::{RunOptions, StopReason, World};
use std::collections::BTreeMap;
use std::path::Path;

fn upstream_present() -> bool {
    repo().join("../shared/upstream-examples").exists()
}

/// Runs one shipped scenario with the checker on and asserts no violation.
fn check_scenario(path: &str) {
    if path.starts_with("scenarios/upstream/") && !upstream_present() {
        eprintln!("skipping {path}: ../shared/upstream-examples absent");
        return;
    }
    let sc = load(&repo().join(path));
    let mut w = World::new(
        sc,
        RunOptions {
            check_invariants: true,
            ..Default::default()
        },
    );
    w.run();
    if let Some(StopReason::Invariant(v)) = &w.stop {
        panic!(
            "{path}: {v}\nrepro: {}",
            jobset_sim::cli::invariant_repro(Path::new(path), w.seed)
        );
    }
    assert!(w.invariants.is_some());
}

macro_rules! scenario_cases {
    ($($(#[$m:meta])* $name:ident => $path:literal,)*) => {
        $(
            #[test]
            $(#[$m])*
            fn $name() {
                check_scenario($path);
            }
        )*
        const CASES: &[&str] = &[$($path),*];
    };
}

scenario_cases! {
    quickstart => "scenarios/quickstart.yaml",
    startup_order => "scenarios/startup-order.yaml",
    two_tenant_queues => "scenarios/two-tenant-queues.yaml",
    coordinator_dns => "scenarios/coordinator-dns.yaml",
    node_failure_default => "scenarios/node-failure-default.yaml",
    success_policy_any => "scenarios/success-policy-any.yaml",
    failure_policy_rules => "scenarios/failure-policy-rules.yaml",
    suspend_resume => "scenarios/suspend-resume.yaml",
    volume_claim_policy => "scenarios/volume-claim-policy.yaml",
    elastic_scaling => "scenarios/elastic-scaling.yaml",
    in_place_restart => "scenarios/in-place-restart.yaml",
    upstream_in_place_restart_main_container_mode => "scenarios/upstream/in-place-restart-main-container-mode.yaml",
    upstream_in_place_restart_sidecar_container_mode => "scenarios/upstream/in-place-restart-sidecar-container-mode.yaml",
    upstream_volume_claim_policy_single_pvc => "scenarios/upstream/volume-claim-policy-single-pvc.yaml",
    upstream_simple_group => "scenarios/upstream/simple-group.yaml",
    chaos_64 => "scenarios/chaos-64.yaml",
    exclusive_placement => "scenarios/exclusive-placement.yaml",
    upstream_tpu_multislice => "scenarios/upstream/tpu-multislice.yaml",
    upstream_failjobset_action => "scenarios/upstream/failjobset-action.yaml",
    upstream_host_maintenance_event_model => "scenarios/upstream/host-maintenance-event-model.yaml",
    upstream_onjobfailurereasons_present_podfailurepolicy => "scenarios/upstream/onjobfailurereasons-present-podfailurepolicy.yaml",
    upstream_onjobfailurereasons_present => "scenarios/upstream/onjobfailurereasons-present.yaml",
    upstream_restartjob_action => "scenarios/upstream/restartjob-action.yaml",
    upstream_restartjobandignoremaxrestarts_action => "scenarios/upstream/restartjobandignoremaxrestarts-action.yaml",
    upstream_restartjobset_action => "scenarios/upstream/restartjobset-action.yaml",
    upstream_restartjobsetandignoremaxrestarts_action => "scenarios/upstream/restartjobsetandignoremaxrestarts-action.yaml",
    upstream_simple_failure_policy => "scenarios/upstream/simple-failure-policy.yaml",
    upstream_tpu_multislice_queue => "scenarios/upstream/tpu-multislice-queue.yaml",
    upstream_startup_driver_ready => "scenarios/upstream/startup-driver-ready.yaml",
    upstream_depends_on => "scenarios/upstream/depends-on.yaml",
    upstream_multiple_depends_on => "scenarios/upstream/multiple-depends-on.yaml",
    upstream_simple_ttl_after_finished => "scenarios/upstream/simple-ttl-after-finished.yaml",
    upstream_simple_success_policy => "scenarios/upstream/simple-success-policy.yaml",
    upstream_simple_coordinator => "scenarios/upstream/simple-coordinator.yaml",
    upstream_simple_jobset_with_network => "scenarios/upstream/simple-jobset-with-network.yaml",
}

/// Large scenarios (tens of seconds even in release) are measured in reports/, and a
/// scaled-down version runs in the tests (`tests/it/training.rs`).
const LARGE: &[&str] = &["scenarios/llama3-54d.yaml"];

#[test]
fn every_shipped_scenario_has_an_invariant_case() {
    let mut files: Vec<String> = Vec::new();
    for dir in ["scenarios", "scenarios/upstream"] {
        for e in std::fs::read_dir(repo().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                files.push(format!("{dir}/{}", p.file_name().unwrap().to_string_lossy()));
            }
        }
    }
    files.retain(|f| !LARGE.contains(&f.as_str()));
    files.sort();
    let mut cases: Vec<String> = CASES.iter().map(|s| s.to_string()).collect();
    cases.sort();
    assert_eq!(files, cases, "add a scenario_cases! line for each shipped scenario");
}

#[test]
fn the_checker_only_observes_the_trace_is_unchanged() {
    let sc = load(&repo().join("scenarios/quickstart.yaml"));
    let traced = |check: bool| {
        let buf = SharedBuf::default();
        let mut w = World::new(
            sc.clone(),
            RunOptions {
                trace: Some(Box::new(buf.clone())),
                check_invariants: check,
                ..Default::default()
            },
        );
        w.run();
        assert_eq!(w.stop, Some(StopReason::Quiescent));
        drop(w);
        buf.0.lock().unwrap().clone()
    };
    assert_eq!(traced(false), traced(true));
}

/// Regression (node-allocation-consistent, found by the checker, fixed): deleting a Job with background
/// propagation (`deleteObject: {kind: Job}`) removes the Job first; its running
/// pods then terminate as orphans and `release` finds no Job to read their
/// requests from, so the node kept their cpu/memory/pods allocated for good. Pods now
/// carry their own requests.
/// Seen at 2m3s, event 29: node n-0: allocated pods is 3000 (milli-pods) but
/// its bound non-terminal pods request 2000.
#[test]
fn a_background_deleted_job_releases_the_node_resources_of_its_pods() {
    let text = r#"name: t
cluster:
  nodePools: [{name: n, count: 8, capacity: {cpu: "8", memory: 32Gi}}]
timing: {podStartup: 2s, podReady: 1s, podTermination: 3s}
jobsets:
- inline:
    apiVersion: jobset.x-k8s.io/v1alpha2
    kind: JobSet
    metadata: {name: js}
    spec:
      replicatedJobs:
      - name: a
        replicas: 2
        template:
          spec:
            template:
              spec:
                containers: [{name: c, image: x}]
workload:
- {runFor: 10m}
faults:
- at: 2m
  deleteObject: {kind: Job, name: js-a-1}
"#;
    let w = run(scenario(text));
    assert_eq!(w.stop, Some(StopReason::Quiescent));
}

/// Every `kind: JobSet` document upstream ships, run (as `validate --run` does)
/// on a cluster sized to fit it, with every gate on and the checker on.
#[test]
fn every_upstream_example_runs_clean_under_the_checker() {
    let root = repo().join("../shared/upstream-examples");
    if !root.exists() {
        eprintln!("skipping: {} not present", root.display());
        return;
    }
    let mut files = Vec::new();
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                files.push(p);
            }
        }
    }
    files.sort();
    let gates = jobset_sim::scenario::Gates {
        restart_job: true,
        in_place_restart: true,
        elastic_jobset: false,
    };
    let mut docs = Vec::new();
    let mut classes: BTreeMap<String, i32> = [
        ("system-cluster-critical".to_string(), 2_000_000_000),
        ("system-node-critical".to_string(), 2_000_001_000),
    ]
    .into_iter()
    .collect();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for d in jobset_sim::input::parse_yaml_documents(&text).unwrap() {
            match d.get("kind").and_then(|k| k.as_str()) {
                Some("JobSet") => docs.push((f.clone(), d)),
                Some("PriorityClass") => {
                    let name = d.pointer("/metadata/name").and_then(|v| v.as_str()).unwrap_or("");
                    let value = d.get("value").and_then(|v| v.as_i64()).unwrap_or(0);
                    classes.insert(name.to_string(), value as i32);
                }
                _ => {}
            }
        }
    }
    let mut ran = 0;
    for (f, doc) in docs {
        let mut diags = jobset_sim::input::Diags::default();
        let Some(js) = jobset_sim::api::JobSet::parse(&doc, &mut diags) else {
            continue;
        };
        let mut admitted = js.clone();
        if jobset_sim::admission::admit_create(&mut admitted, &gates, &|_, _| None).is_err() {
            continue;
        }
        let loc = f.display().to_string();
        let sc = jobset_sim::cli::fitted_scenario(&js, gates, &loc, &classes);
        let mut w = World::new(
            std::sync::Arc::new(sc),
            RunOptions {
                check_invariants: true,
                ..Default::default()
            },
        );
        w.run();
        if let Some(StopReason::Invariant(v)) = &w.stop {
            panic!("{loc}: {v}");
        }
        ran += 1;
    }
    assert!(ran >= 30, "only {ran} upstream JobSets ran");
}

#[test]
fn the_readme_lists_every_invariant() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for (name, _, _) in jobset_sim::sim::invariants::INVARIANTS {
        assert!(readme.contains(&format!("- `{name}`")), "README misses {name}");
    }
}
