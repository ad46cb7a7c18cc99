//! Property tests over random valid JobSets, clusters and fault plans, run through the whole
//! simulator with the invariant checker on.
//!
//! Each generated case is rendered as a scenario file (the same text a user would write), so a
//! failure is replayable with `jobset-sim check FILE`. When a case fails, proptest shrinks it and
//! every failing evaluation overwrites `tests/regressions/<property>.yaml`; the last write is
//! the minimal case. The folder's files are run by `regression_scenarios_hold` below, so a
//! shrunk failure becomes a permanent test as soon as it is committed.
//!
//! CI runs `PROPERTY_CASES` (default 48) cases per property; for thousands:
//! `PROPERTY_CASES=5000 cargo test --release --test it properties`.

use crate::util::*;
use jobset_sim::scenario::parse_scenario;
use jobset_sim::sim::{RunOptions, StopReason, World};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone)]
struct RJob {
    replicas: u8,
    parallelism: u8,
    backoff_limit: u8,
    on_failure: bool,
    gpus: u8,
    run_for_s: u16,
}

#[derive(Debug, Clone)]
struct Rule {
    action: &'static str,
    target: Option<usize>,
    reasons: Vec<&'static str>,
}

#[derive(Debug, Clone)]
struct FailurePolicy {
    max_restarts: u8,
    blocking: bool,
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
enum Startup {
    AnyOrder,
    InOrder,
    DependsOn(&'static str),
}

#[derive(Debug, Clone)]
enum Fault {
    Pod {
        rj: usize,
        job: u8,
        pod: u8,
        exit: u8,
    },
    Node {
        node: u8,
        recover_s: u16,
        mode: &'static str,
    },
    JobFailure {
        rj: usize,
        job: u8,
    },
    Suspend {
        resume_after_s: u16,
    },
}

#[derive(Debug, Clone)]
struct Case {
    nodes: u8,
    gpus_per_node: u8,
    rjobs: Vec<RJob>,
    failure_policy: Option<FailurePolicy>,
    success_any: Option<Option<usize>>,
    startup: Startup,
    suspended_at_start: bool,
    crash_first_attempt: Option<(usize, u8)>,
    faults: Vec<(u16, Fault)>,
    random_node_mtbf_h: Option<u16>,
    /// Exclusive placement by `rack`, racks of this many consecutive nodes.
    exclusive_rack: Option<u8>,
}

fn rjob() -> impl Strategy<Value = RJob> {
    (1u8..=3, 1u8..=3, 0u8..=2, any::<bool>(), 0u8..=2, 10u16..=900).prop_map(
        |(replicas, parallelism, backoff_limit, on_failure, gpus, run_for_s)| RJob {
            replicas,
            parallelism,
            backoff_limit,
            on_failure,
            gpus,
            run_for_s,
        },
    )
}

fn rule(n_rjobs: usize) -> impl Strategy<Value = Rule> {
    let action = prop_oneof![
        Just("FailJobSet"),
        Just("RestartJobSet"),
        Just("RestartJobSetAndIgnoreMaxRestarts"),
        Just("RestartJob"),
        Just("RestartJobAndIgnoreMaxRestarts"),
    ];
    let reasons = proptest::sample::subsequence(
        vec!["BackoffLimitExceeded", "PodFailurePolicy", "DeadlineExceeded"],
        0..=2,
    );
    (action, proptest::option::of(0..n_rjobs), reasons).prop_map(|(action, target, reasons)| Rule {
        action,
        target,
        reasons,
    })
}

fn fault(n_rjobs: usize, nodes: u8) -> impl Strategy<Value = (u16, Fault)> {
    let f = prop_oneof![
        (0..n_rjobs, 0u8..3, 0u8..3, 1u8..=137).prop_map(|(rj, job, pod, exit)| Fault::Pod { rj, job, pod, exit }),
        (
            0..nodes,
            30u16..=3600,
            prop_oneof![Just("crash"), Just("drain"), Just("fail")]
        )
            .prop_map(|(node, recover_s, mode)| Fault::Node { node, recover_s, mode }),
        (0..n_rjobs, 0u8..3).prop_map(|(rj, job)| Fault::JobFailure { rj, job }),
        (10u16..=600).prop_map(|resume_after_s| Fault::Suspend { resume_after_s }),
    ];
    (1u16..=3600, f)
}

fn case() -> impl Strategy<Value = Case> {
    (2u8..=6, 1u8..=4, proptest::collection::vec(rjob(), 1..=3)).prop_flat_map(|(nodes, gpus_per_node, rjobs)| {
        let n = rjobs.len();
        let fp = proptest::option::of(
            (0u8..=3, any::<bool>(), proptest::collection::vec(rule(n), 0..=3)).prop_map(
                |(max_restarts, blocking, rules)| FailurePolicy {
                    max_restarts,
                    blocking,
                    rules,
                },
            ),
        );
        let startup = prop_oneof![
            2 => Just(Startup::AnyOrder),
            1 => Just(Startup::InOrder),
            1 => prop_oneof![Just("Ready"), Just("Complete")].prop_map(Startup::DependsOn),
        ];
        (
            Just(nodes),
            Just(gpus_per_node),
            Just(rjobs),
            fp,
            proptest::option::of(proptest::option::of(0..n)),
            startup,
            any::<bool>(),
            proptest::option::of((0..n, 1u8..=2)),
            proptest::collection::vec(fault(n, nodes), 0..=4),
            proptest::option::of(2u16..=48),
            proptest::option::weighted(0.25, 1u8..=3),
        )
            .prop_map(
                |(
                    nodes,
                    gpus_per_node,
                    rjobs,
                    failure_policy,
                    success_any,
                    startup,
                    suspended_at_start,
                    crash_first_attempt,
                    faults,
                    random_node_mtbf_h,
                    exclusive_rack,
                )| Case {
                    nodes,
                    gpus_per_node,
                    rjobs,
                    failure_policy,
                    success_any,
                    startup,
                    suspended_at_start,
                    crash_first_attempt,
                    faults,
                    random_node_mtbf_h,
                    exclusive_rack,
                },
            )
    })
}

/// The case as a scenario file.
fn render(c: &Case, title: &str) -> String {
    let mut s = String::new();
    let w = &mut s;
    writeln!(w, "# {title}").unwrap();
    writeln!(
        w,
        "name: property-case\nhorizon: 1d\nmaxEvents: 2000000\nfeatureGates: {{RestartJob: true}}"
    )
    .unwrap();
    writeln!(w, "cluster:\n  nodePools:\n  - name: gpu\n    count: {}", c.nodes).unwrap();
    writeln!(
        w,
        "    capacity: {{cpu: \"16\", memory: 64Gi, nvidia.com/gpu: \"{}\", pods: \"110\"}}",
        c.gpus_per_node
    )
    .unwrap();
    if let Some(per) = c.exclusive_rack {
        writeln!(w, "    topology: [{{key: rack, nodesPerDomain: {per}}}]").unwrap();
    }
    writeln!(
        w,
        "jobsets:\n- inline:\n    apiVersion: jobset.x-k8s.io/v1alpha2\n    kind: JobSet"
    )
    .unwrap();
    if c.exclusive_rack.is_some() {
        writeln!(
            w,
            "    metadata: {{name: p, annotations: {{alpha.jobset.sigs.k8s.io/exclusive-topology: rack}}}}\n    spec:"
        )
        .unwrap();
    } else {
        writeln!(w, "    metadata: {{name: p}}\n    spec:").unwrap();
    }
    if c.suspended_at_start {
        writeln!(w, "      suspend: true").unwrap();
    }
    if let Some(fp) = &c.failure_policy {
        writeln!(w, "      failurePolicy:\n        maxRestarts: {}", fp.max_restarts).unwrap();
        if fp.blocking {
            writeln!(w, "        restartStrategy: BlockingRecreate").unwrap();
        }
        if !fp.rules.is_empty() {
            writeln!(w, "        rules:").unwrap();
            for (i, r) in fp.rules.iter().enumerate() {
                writeln!(w, "        - name: rule{i}\n          action: {}", r.action).unwrap();
                if let Some(t) = r.target {
                    writeln!(w, "          targetReplicatedJobs: [r{t}]").unwrap();
                }
                if !r.reasons.is_empty() {
                    writeln!(w, "          onJobFailureReasons: [{}]", r.reasons.join(", ")).unwrap();
                }
            }
        }
    }
    if let Some(target) = &c.success_any {
        writeln!(w, "      successPolicy:\n        operator: Any").unwrap();
        if let Some(t) = target {
            writeln!(w, "        targetReplicatedJobs: [r{t}]").unwrap();
        }
    }
    if matches!(c.startup, Startup::InOrder) {
        writeln!(w, "      startupPolicy: {{startupPolicyOrder: InOrder}}").unwrap();
    }
    writeln!(w, "      replicatedJobs:").unwrap();
    for (i, r) in c.rjobs.iter().enumerate() {
        writeln!(w, "      - name: r{i}\n        replicas: {}", r.replicas).unwrap();
        if let (Startup::DependsOn(status), true) = (&c.startup, i > 0) {
            writeln!(w, "        dependsOn: [{{name: r{}, status: {status}}}]", i - 1).unwrap();
        }
        writeln!(
            w,
            "        template:\n          spec:\n            parallelism: {p}\n            completions: {p}\n            backoffLimit: {}",
            r.backoff_limit,
            p = r.parallelism
        )
        .unwrap();
        let policy = if r.on_failure { "OnFailure" } else { "Never" };
        writeln!(
            w,
            "            template:\n              spec:\n                restartPolicy: {policy}"
        )
        .unwrap();
        if r.gpus > 0 {
            writeln!(
                w,
                "                containers: [{{name: c, image: x, resources: {{limits: {{nvidia.com/gpu: \"{}\"}}}}}}]",
                r.gpus
            )
            .unwrap();
        } else {
            writeln!(w, "                containers: [{{name: c, image: x}}]").unwrap();
        }
    }
    writeln!(w, "workload:").unwrap();
    if let Some((rj, exit)) = c.crash_first_attempt {
        writeln!(
            w,
            "- {{match: {{replicatedJob: r{rj}, podIndex: 0, restartAttempt: 0, jobRestartAttempt: 0}}, runFor: 5s, exitCode: {exit}}}"
        )
        .unwrap();
    }
    for (i, r) in c.rjobs.iter().enumerate() {
        writeln!(w, "- {{match: {{replicatedJob: r{i}}}, runFor: {}s}}", r.run_for_s).unwrap();
    }
    let mut faults = String::new();
    render_faults(&mut faults, c);
    if !faults.is_empty() {
        writeln!(w, "faults:\n{faults}").unwrap();
    }
    s
}

fn render_faults(w: &mut String, c: &Case) {
    for (t, f) in &c.faults {
        match f {
            Fault::Pod { rj, job, pod, exit } => writeln!(
                w,
                "- {{at: {t}s, podFailure: {{jobset: p, replicatedJob: r{rj}, jobIndex: {}, podIndex: {}, exitCode: {exit}}}}}",
                job % c.rjobs[*rj].replicas,
                pod % c.rjobs[*rj].parallelism
            ),
            Fault::Node { node, recover_s, mode } => writeln!(
                w,
                "- {{at: {t}s, nodeFailure: {{node: gpu-{node}, mode: {mode}, recoverAfter: {recover_s}s}}}}"
            ),
            Fault::JobFailure { rj, job } => writeln!(
                w,
                "- {{at: {t}s, jobFailure: {{jobset: p, replicatedJob: r{rj}, jobIndex: {}, reason: BackoffLimitExceeded, message: injected}}}}",
                job % c.rjobs[*rj].replicas
            ),
            Fault::Suspend { resume_after_s } => writeln!(
                w,
                "- {{at: {t}s, update: {{jobset: p, suspend: true}}}}\n- {{at: {}s, update: {{jobset: p, suspend: false}}}}",
                u32::from(*t) + u32::from(*resume_after_s)
            ),
        }
        .unwrap();
    }
    if c.suspended_at_start {
        writeln!(w, "- {{at: 2m, update: {{jobset: p, suspend: false}}}}").unwrap();
    }
    if let Some(mtbf) = c.random_node_mtbf_h {
        writeln!(
            w,
            "- random:\n    nodeFailure: {{pool: gpu, mtbf: {mtbf}h, recoverAfter: 10m}}"
        )
        .unwrap();
    }
}

/// Runs a scenario text with invariants on; Err(why) when a property breaks.
fn holds(text: &str) -> Result<(), String> {
    let sc = parse_scenario(text, Path::new("property-case.yaml")).map_err(|e| format!("does not load: {e}"))?;
    let mut w = World::new(
        Arc::new(sc),
        RunOptions {
            check_invariants: true,
            ..RunOptions::default()
        },
    );
    w.run();
    match &w.stop {
        Some(StopReason::Invariant(v)) => Err(format!("invariant broken: {v}")),
        Some(StopReason::MaxEvents) => Err("the run hit maxEvents (a livelock)".into()),
        _ => {
            let failed: Vec<_> = w.expect.outcomes.iter().filter(|o| !o.ok).collect();
            if failed.is_empty() {
                Ok(())
            } else {
                Err(format!("expectations failed: {failed:?}"))
            }
        }
    }
}

fn property_cases() -> u32 {
    std::env::var("PROPERTY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

/// Runs `check` on `property` cases; a failing case is written (overwritten while shrinking)
/// to `dir/<name>.yaml` with a header saying what broke and how to replay it.
fn run_property(
    name: &str,
    dir: &Path,
    cases: u32,
    check: impl Fn(&Case, &str) -> Result<(), String>,
) -> Result<(), String> {
    run_property_with(name, dir, cases, "", check)
}

/// [`run_property`] with `extra` scenario text appended to every case (and to the written file).
fn run_property_with(
    name: &str,
    dir: &Path,
    cases: u32,
    extra: &str,
    check: impl Fn(&Case, &str) -> Result<(), String>,
) -> Result<(), String> {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let out: PathBuf = dir.join(format!("{name}.yaml"));
    let result = runner.run(&case(), |c| {
        let text = render(&c, "generated case") + extra;
        check(&c, &text).map_err(|why| {
            let header = format!(
                "found by the property `{name}` (shrunk): {}\n# replay: jobset-sim check {}",
                why.replace('\n', " "),
                out.display()
            );
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(&out, render(&c, &header) + extra).unwrap();
            TestCaseError::fail(why)
        })
    });
    result.map_err(|e| format!("{e}\nminimal case written to {}", out.display()))
}

#[test]
fn random_jobsets_and_fault_plans_keep_every_invariant() {
    let dir = repo().join("tests/regressions");
    if let Err(e) = run_property("random-jobsets-keep-invariants", &dir, property_cases(), |_, text| {
        holds(text)
    }) {
        panic!("{e}");
    }
}

#[test]
fn random_jobsets_and_fault_plans_keep_every_invariant_under_control_plane_hardship() {
    let dir = repo().join("tests/regressions");
    let hardship = "hardship:\n  watchDelay: 500ms\n  statusConflicts: 0.2\n  slowDeletion: 30s\n  controllerRestarts: {mtbf: 20m, restartDelay: 5s}\n";
    if let Err(e) = run_property_with(
        "random-jobsets-under-hardship",
        &dir,
        property_cases(),
        hardship,
        |_, text| holds(text),
    ) {
        panic!("{e}");
    }
}

#[test]
fn every_generated_case_loads_and_runs_to_an_end() {
    // The generator only produces valid input: a case that does not load is a generator bug,
    // which would silently make the property above vacuous.
    let mut runner = TestRunner::deterministic();
    for _ in 0..64 {
        let c = case().new_tree(&mut runner).unwrap().current();
        let text = render(&c, "generated");
        let sc = parse_scenario(&text, Path::new("g.yaml")).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(sc.submissions.len() == 1, "{text}");
    }
}

#[test]
fn a_failing_case_is_shrunk_and_written_as_a_scenario_that_reproduces_it() {
    // An artificial property that breaks whenever two replicated Jobs exist: the shrunk case
    // must be the smallest such JobSet, and the written file must load and show it.
    let dir = std::env::temp_dir().join(format!("jobset-sim-regressions-{}", std::process::id()));
    let err = run_property("two-rjobs", &dir, 256, |c, _| {
        if c.rjobs.len() >= 2 {
            Err("two replicated Jobs".into())
        } else {
            Ok(())
        }
    })
    .expect_err("the generator makes cases with 2+ replicated Jobs");
    assert!(err.contains("minimal case written to"), "{err}");
    let text = std::fs::read_to_string(dir.join("two-rjobs.yaml")).unwrap();
    assert!(text.starts_with("# found by the property `two-rjobs` (shrunk): two replicated Jobs"));
    let sc = parse_scenario(&text, Path::new("two-rjobs.yaml")).unwrap();
    let rjobs = &sc.submissions[0].jobset.spec.replicated_jobs;
    assert_eq!(rjobs.len(), 2, "shrunk to exactly two:\n{text}");
    for r in rjobs {
        assert_eq!(r.replicas, Some(1), "shrunk replicas:\n{text}");
    }
    assert!(sc.faults.is_empty(), "faults shrunk away:\n{text}");
}

#[test]
fn regression_scenarios_hold() {
    let dir = repo().join("tests/regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|f| f.extension().is_some_and(|x| x == "yaml"));
    files.sort();
    assert!(!files.is_empty(), "tests/regressions has at least its seed case");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        if let Err(why) = holds(&text) {
            panic!("{}: {why}\nreplay: jobset-sim check {}", f.display(), f.display());
        }
    }
}

#[test]
fn generated_cases_reach_every_kind_of_outcome() {
    // Guards against a generator that only makes trivially passing runs: over a fixed sample,
    // JobSets complete, fail and restart, and some runs inject faults.
    let mut runner = TestRunner::deterministic();
    let (mut completed, mut failed, mut restarted, mut faulted) = (0, 0, 0, 0);
    for _ in 0..96 {
        let c = case().new_tree(&mut runner).unwrap().current();
        let w = run(scenario(&render(&c, "sample")));
        let h = w.history.values().next().expect("one JobSet");
        match h.terminal_state.as_str() {
            "Completed" => completed += 1,
            "Failed" => failed += 1,
            _ => {}
        }
        restarted += usize::from(h.restarts > 0);
        faulted += usize::from(!events(&w, "FaultInjected").is_empty() || !events(&w, "NodeFailed").is_empty());
    }
    eprintln!("completed {completed}, failed {failed}, restarted {restarted}, faulted {faulted} of 96");
    assert!(completed >= 10 && failed >= 10 && restarted >= 10 && faulted >= 20);
}
