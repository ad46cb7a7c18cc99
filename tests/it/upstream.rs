//! Every `kind: JobSet` document in ../shared/upstream-examples is admitted
//! (or rejected with upstream's message where it needs an alpha gate) and runs
//! to a terminal state under the default workload.

use crate::util::*;
use std::path::PathBuf;

fn examples() -> Option<Vec<PathBuf>> {
    let root = repo().join("../shared/upstream-examples");
    if !root.exists() {
        eprintln!("skipping: {} not present", root.display());
        return None;
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    Some(out)
}

#[test]
fn every_upstream_jobset_runs_to_a_terminal_state_with_all_gates_on() {
    let Some(files) = examples() else { return };
    let mut args = vec![
        "validate".to_string(),
        "--run".into(),
        "--feature-gates".into(),
        "RestartJob=true,InPlaceRestart=true".into(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = cli(&refs);
    assert_eq!(o.code, 0, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    let admitted = o.stdout.matches(" admitted").count();
    assert!(
        admitted >= 30,
        "expected every JobSet document admitted, got {admitted}:\n{}",
        o.stdout
    );
    assert_eq!(o.stdout.matches("  run: ").count(), admitted);
    assert!(!o.stdout.contains(" None at "), "{}", o.stdout);
    assert!(
        o.stdout
            .contains("PriorityClass high-priority (not a JobSet; used for pod priorities"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout
            .contains("ClusterQueue multislice-cluster-queue (queue definition;"),
        "Kueue documents are understood, not skipped\n{}",
        o.stdout
    );
    for kind in ["ServiceAccount", "Workload", "PodGroup", "Workflow"] {
        assert!(
            o.stdout.contains(&format!("skipped {kind}")),
            "non-JobSet documents are reported by kind: {kind}\n{}",
            o.stdout
        );
    }
}

#[test]
fn with_default_gates_only_the_gated_examples_are_rejected_with_upstreams_message() {
    let Some(files) = examples() else { return };
    let mut args = vec!["validate".to_string()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = cli(&refs);
    assert_eq!(o.code, 1, "a rejection is exit 1:\n{}\n{}", o.stdout, o.stderr);
    let rejected: Vec<&str> = o.stdout.lines().filter(|l| l.contains(" rejected: ")).collect();
    assert_eq!(rejected.len(), 4, "{rejected:#?}");
    for (file, msg) in [
        (
            "restartjob-action.yaml",
            "RestartJob and RestartJobAndIgnoreMaxRestarts failure policy actions are not allowed when RestartJob feature gate is disabled",
        ),
        (
            "restartjobandignoremaxrestarts-action.yaml",
            "not allowed when RestartJob feature gate is disabled",
        ),
        (
            "jobset-main-container-mode.yaml",
            "InPlaceRestart restart strategy cannot be set when InPlaceRestart feature gate is disabled",
        ),
        (
            "jobset-sidecar-container-mode.yaml",
            "InPlaceRestart restart strategy cannot be set when InPlaceRestart feature gate is disabled",
        ),
    ] {
        assert!(
            rejected.iter().any(|l| l.contains(file)
                && l.contains("admission webhook \"vjobset.kb.io\" denied the request")
                && l.contains(msg)),
            "{file}: {rejected:#?}"
        );
    }
    assert!(o.stdout.matches(" admitted").count() >= 26, "{}", o.stdout);
}
