//! Every `kind: JobSet` document among the upstream example manifests is admitted with default
//! gates, except the four that need a gate, which are rejected with upstream's message and
//! admitted once the gate is on.

use super::*;
use crate::admission::admit_create;
use crate::admission::errors::Layer;
use std::path::{Path, PathBuf};

const EXAMPLES: &str = "../shared/upstream-examples";

/// Relative path → the gate it needs and the message it is rejected with otherwise.
fn gated(rel: &str) -> Option<(FeatureGates, &'static str)> {
    let restart_job = (
        FeatureGates {
            restart_job: true,
            ..Default::default()
        },
        "<nil>: Internal error: RestartJob and RestartJobAndIgnoreMaxRestarts failure policy actions are not allowed \
         when RestartJob feature gate is disabled",
    );
    let in_place = (
        FeatureGates {
            in_place_restart: true,
            ..Default::default()
        },
        "<nil>: Internal error: InPlaceRestart restart strategy cannot be set when InPlaceRestart feature gate is \
         disabled",
    );
    match rel {
        "failure-policy/restartjob-action.yaml" | "failure-policy/restartjobandignoremaxrestarts-action.yaml" => {
            Some(restart_job)
        }
        r if r.starts_with("in-place-restart/") => Some(in_place),
        _ => None,
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
}

#[test]
fn every_upstream_example_jobset_is_admitted_except_the_gated_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(EXAMPLES);
    if !root.is_dir() {
        eprintln!("skipping: {} not found", root.display());
        return;
    }
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    let mut admitted = 0;
    let mut gated_seen = 0;
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(file).unwrap();
        let docs = parse_yaml_documents(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
        for doc in docs
            .iter()
            .filter(|d| d.get("kind").and_then(Value::as_str) == Some("JobSet"))
        {
            let mut d = Diags::default();
            let js = JobSet::parse(doc, &mut d).unwrap_or_else(|| panic!("{rel}: not a JobSet"));
            assert!(d.errors.is_empty(), "{rel}: parse errors {:?}", d.errors);
            match gated(&rel) {
                None => {
                    let mut js = js;
                    if let Err(r) = admit_create(&mut js, &FeatureGates::default(), &no_pvc) {
                        panic!("{rel}: rejected: {}", r.message);
                    }
                    admitted += 1;
                }
                Some((gate, message)) => {
                    let mut off = js.clone();
                    let r = admit_create(&mut off, &FeatureGates::default(), &no_pvc)
                        .expect_err(&format!("{rel}: needs a gate"));
                    assert_eq!(r.layer, Layer::Webhook);
                    assert_eq!(
                        r.message,
                        format!(
                            "admission webhook \"vjobset.kb.io\" denied the request: JobSet.jobset.x-k8s.io {} is \
                             invalid: {message}",
                            crate::admission::errors::go_quote(&js.metadata.name)
                        ),
                        "{rel}"
                    );
                    let mut on = js;
                    if let Err(r) = admit_create(&mut on, &gate, &no_pvc) {
                        panic!("{rel}: rejected with the gate on: {}", r.message);
                    }
                    gated_seen += 1;
                }
            }
        }
    }
    assert_eq!(gated_seen, 4, "the four gated JobSets");
    assert!(admitted >= 25, "only {admitted} JobSets admitted");
}
