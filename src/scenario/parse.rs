//! Scenario format v1 (`../shared/design/scenario-format.md`): YAML text → [`Scenario`].
//! Every key is validated; an unknown key is an error naming its path and the
//! nearest known key.

use super::model::*;
use crate::api::JobSet;
use crate::input::{Diags, Obj, describe, parse_yaml_documents, scalar_to_string};
use crate::units::parse_quantity;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A scenario that could not be loaded: every problem, each with file and path.
#[derive(Debug, Clone)]
pub struct LoadError {
    pub problems: Vec<String>,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "error: {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// Reads and parses a scenario file (and the manifests it names).
pub fn load_file(path: &Path) -> Result<Scenario, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError {
        problems: vec![format!("{}: cannot read: {e}", path.display())],
    })?;
    parse_scenario(&text, path)
}

/// Parses scenario text; `file` names it in messages and anchors relative manifest paths.
pub fn parse_scenario(text: &str, file: &Path) -> Result<Scenario, LoadError> {
    let fname = file.display().to_string();
    let docs = parse_yaml_documents(text).map_err(|e| LoadError {
        problems: vec![format!("{fname}: {e}")],
    })?;
    if docs.len() != 1 {
        return Err(LoadError {
            problems: vec![format!(
                "{fname}: expected exactly one YAML document, found {}",
                docs.len()
            )],
        });
    }
    parse_scenario_value(&docs[0], file, &BTreeMap::new())
}

/// Parses a scenario already read into a `Value` (what [`parse_scenario`] does
/// after reading the YAML). `manifests` replaces, for the submission at that
/// index of `jobsets`, the documents its `manifest:` file would give (the file
/// is then not read); messages still name the file. Sweeps use it to run a
/// scenario with fields of a manifest file overridden.
pub fn parse_scenario_value(
    v: &Value,
    file: &Path,
    manifests: &BTreeMap<usize, Vec<Value>>,
) -> Result<Scenario, LoadError> {
    let fname = file.display().to_string();
    let mut d = Diags::default();
    let mut extra_problems = Vec::new();
    let sc = parse_root(v, file, manifests, &mut d, &mut extra_problems);
    let mut problems: Vec<String> = d.errors.iter().map(|e| format!("{fname}: {e}")).collect();
    problems.extend(extra_problems);
    match sc {
        Some(sc) if problems.is_empty() => Ok(sc),
        _ => {
            if problems.is_empty() {
                problems.push(format!("{fname}: invalid scenario"));
            }
            Err(LoadError { problems })
        }
    }
}

fn parse_root(
    v: &Value,
    file: &Path,
    manifests: &BTreeMap<usize, Vec<Value>>,
    d: &mut Diags,
    manifest_problems: &mut Vec<String>,
) -> Option<Scenario> {
    let mut o = Obj::new("", v, d)?;
    let name = o.req_str("name", d).unwrap_or_default();
    if !name.is_empty()
        && !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        d.error(
            "name",
            format!("invalid name \"{name}\": expected lowercase letters, digits and '-'"),
        );
    }
    let description = o.str("description", d).unwrap_or_default();
    let seed = o.u64("seed", d).unwrap_or(0);
    let horizon = o.duration("horizon", d).unwrap_or(7 * 86_400_000);
    let gates = parse_gates(o.obj("featureGates", d), d);
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut found = Manifests::default();
    let mut cluster = parse_cluster(o.obj("cluster", d), &base, d, manifest_problems, &mut found);
    let timing = parse_timing(o.obj("timing", d), d);
    for (i, (p, item)) in o.list("jobsets", d).into_iter().enumerate() {
        parse_submission(&p, item, &base, manifests.get(&i), d, manifest_problems, &mut found);
    }
    let Manifests {
        submissions,
        skipped,
        not_simulated,
        classes: manifest_classes,
        queues,
    } = found;
    cluster.queues = queues;
    manifest_problems.extend(
        cluster
            .queues
            .check_references()
            .into_iter()
            .map(|p| format!("{}: {p}", file.display())),
    );
    let mut workload = Vec::new();
    for (p, item) in o.list("workload", d) {
        if let Some(r) = parse_workload_rule(&p, item, d) {
            workload.push(r);
        }
    }
    let mut training: Vec<TrainingSpec> = Vec::new();
    for (p, item) in o.list("training", d) {
        let Some(mut t) = Obj::new(p.clone(), item, d) else {
            continue;
        };
        let spec = TrainingSpec {
            jobset: t.req_str("jobset", d).unwrap_or_default(),
            work: t.duration("work", d).unwrap_or(0),
            checkpoint_every: t.duration("checkpointEvery", d).unwrap_or(0),
            checkpoint_cost: t.duration("checkpointCost", d).unwrap_or(0),
            restore_cost: t.duration("restoreCost", d).unwrap_or(0),
        };
        if !t.has("work") {
            d.error(t.at("work"), "required field is missing");
        } else if spec.work == 0 {
            d.error(t.at("work"), "must be greater than 0");
        }
        t.finish(d, &[]);
        if training.iter().any(|x| x.jobset == spec.jobset) {
            d.error(p, format!("a second training entry for jobset \"{}\"", spec.jobset));
        }
        training.push(spec);
    }
    let mut faults = Vec::new();
    let mut random_faults = Vec::new();
    for (i, (p, item)) in o.list("faults", d).into_iter().enumerate() {
        if item.get("random").is_some() {
            if let Some(r) = parse_random_fault(&p, i as u64, item, d) {
                random_faults.push(r);
            }
        } else if let Some(f) = parse_fault(&p, item, d) {
            faults.push(f);
        }
    }
    let hardship = o.obj("hardship", d).map(|h| parse_hardship(h, d));
    let mut expect = Vec::new();
    for (p, item) in o.list("expect", d) {
        if let Some(e) = parse_expectation(&p, item, d) {
            expect.push(e);
        }
    }
    let max_events = o.u64("maxEvents", d).unwrap_or(200_000_000);
    o.finish(d, &[]);
    let mut priority_classes: BTreeMap<String, i32> = [
        ("system-cluster-critical".to_string(), 2_000_000_000),
        ("system-node-critical".to_string(), 2_000_001_000),
    ]
    .into_iter()
    .collect();
    let mut default_priority = 0;
    for pc in cluster.priority_classes.iter().chain(&manifest_classes) {
        priority_classes.insert(pc.0.clone(), pc.1);
        if pc.2 {
            default_priority = pc.1;
        }
    }
    Some(Scenario {
        file: file.to_path_buf(),
        name,
        description,
        seed,
        horizon,
        gates,
        cluster,
        timing,
        submissions,
        workload,
        training,
        faults,
        random_faults,
        expect,
        hardship,
        skipped,
        not_simulated,
        max_events,
        priority_classes,
        default_priority,
    })
}

/// `hardship:` (control-plane trouble); every key optional, unknown keys are errors.
fn parse_hardship(mut o: Obj<'_>, d: &mut Diags) -> Hardship {
    let mut h = Hardship {
        watch_delay: o.duration("watchDelay", d).unwrap_or(0),
        slow_deletion: o.duration("slowDeletion", d).unwrap_or(0),
        ..Default::default()
    };
    if let Some(v) = o.get("statusConflicts") {
        let path = o.at("statusConflicts");
        match v.as_f64() {
            Some(p) if (0.0..1.0).contains(&p) => h.status_conflicts = p,
            Some(p) => d.error(
                path,
                format!("invalid probability {p}: must be at least 0 and less than 1"),
            ),
            None => d.error(path, format!("expected a probability in [0, 1), found {}", describe(v))),
        }
    }
    if let Some(mut r) = o.obj("controllerRestarts", d) {
        let mtbf = r.duration("mtbf", d);
        if !r.has("mtbf") {
            d.error(r.at("mtbf"), "required field is missing");
        } else if mtbf == Some(0) {
            d.error(r.at("mtbf"), "must be greater than 0");
        }
        let restart_delay = r.duration("restartDelay", d).unwrap_or(5_000);
        r.finish(d, &[]);
        if let Some(mtbf) = mtbf.filter(|m| *m > 0) {
            h.controller_restarts = Some(ControllerRestarts { mtbf, restart_delay });
        }
    }
    o.finish(d, &[]);
    h
}

/// Parses the feature-gate map; unknown gates are errors with the nearest name.
pub fn parse_gates(o: Option<Obj<'_>>, d: &mut Diags) -> Gates {
    let Some(o) = o else { return Gates::default() };
    let mut m = BTreeMap::new();
    for (k, v) in o.map {
        match v.as_bool() {
            Some(b) => {
                m.insert(k.clone(), b);
            }
            None => d.error(
                crate::input::join(&o.path, k),
                format!("expected true or false, found {}", describe(v)),
            ),
        }
    }
    match Gates::from_map(&m) {
        Ok(g) => g,
        Err(e) => {
            d.error(o.path.clone(), e);
            Gates::default()
        }
    }
}

fn resource_map(path: &str, v: &Value, d: &mut Diags) -> BTreeMap<String, i128> {
    let mut out = BTreeMap::new();
    let Some(o) = Obj::new(path, v, d) else { return out };
    for (k, v) in o.map {
        let p = crate::input::join(path, k);
        match scalar_to_string(v) {
            Some(s) => match parse_quantity(&s) {
                Ok(q) => {
                    out.insert(k.clone(), q.milli());
                }
                Err(e) => d.error(p, e),
            },
            None => d.error(p, format!("expected a quantity, found {}", describe(v))),
        }
    }
    out
}

fn parse_cluster(
    o: Option<Obj<'_>>,
    base: &Path,
    d: &mut Diags,
    manifest_problems: &mut Vec<String>,
    found: &mut Manifests,
) -> Cluster {
    let default_pool = || NodePool {
        name: "default".into(),
        count: 16,
        capacity: [
            ("cpu".to_string(), 64_000i128),
            ("memory".to_string(), 256i128 * (1 << 30) * 1000),
            ("nvidia.com/gpu".to_string(), 8_000),
            ("pods".to_string(), 110_000),
        ]
        .into_iter()
        .collect(),
        labels: BTreeMap::new(),
        taints: Vec::new(),
        topology: Vec::new(),
    };
    let Some(mut o) = o else {
        return Cluster {
            pools: vec![default_pool()],
            queues: Default::default(),
            priority_classes: Vec::new(),
        };
    };
    let mut pools = Vec::new();
    let pool_items = o.list("nodePools", d);
    for (p, v) in &pool_items {
        let Some(mut po) = Obj::new(p.clone(), v, d) else {
            continue;
        };
        let name = po.req_str("name", d).unwrap_or_default();
        let count = po.u64("count", d).unwrap_or(1);
        let mut capacity = po
            .get("capacity")
            .map(|c| resource_map(&format!("{p}.capacity"), c, d))
            .unwrap_or_default();
        capacity.entry("pods".into()).or_insert(110_000);
        let labels = po.str_map("labels", d);
        let mut taints = Vec::new();
        for (tp, tv) in po.list("taints", d) {
            let Some(mut t) = Obj::new(tp, tv, d) else { continue };
            let taint = Taint {
                key: t.req_str("key", d).unwrap_or_default(),
                value: t.scalar_str("value", d).unwrap_or_default(),
                effect: t.req_str("effect", d).unwrap_or_default(),
            };
            crate::api::check_enum(
                &t.at("effect"),
                Some(&taint.effect),
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
                d,
            );
            t.finish(d, &[]);
            taints.push(taint);
        }
        let mut topology = Vec::new();
        for (tp, tv) in po.list("topology", d) {
            let Some(mut t) = Obj::new(tp, tv, d) else { continue };
            let key = t.req_str("key", d).unwrap_or_default();
            let per = t.u64("nodesPerDomain", d).unwrap_or(1).max(1);
            t.finish(d, &[]);
            topology.push((key, per as u32));
        }
        po.finish(d, &[]);
        if pools.iter().any(|x: &NodePool| x.name == name) {
            d.error(format!("{p}.name"), format!("duplicate node pool name \"{name}\""));
        }
        pools.push(NodePool {
            name,
            count: count.min(1_000_000) as u32,
            capacity,
            labels,
            taints,
            topology,
        });
    }
    if !o.has("nodePools") {
        pools.push(default_pool());
    }
    for (p, v) in o.list("queues", d) {
        if v.get("manifest").is_some() {
            let Some(mut q) = Obj::new(p.clone(), v, d) else {
                continue;
            };
            let m = q.str("manifest", d);
            q.finish(d, &[]);
            if let Some(m) = m {
                read_queue_manifest(&format!("{p}.manifest"), &base.join(m), d, manifest_problems, found);
            }
        } else {
            super::kueue::parse_short_queue(&p, v, &mut found.queues, d);
        }
    }
    let mut priority_classes = Vec::new();
    for (p, v) in o.list("priorityClasses", d) {
        let Some(mut pc) = Obj::new(p, v, d) else { continue };
        let name = pc.req_str("name", d).unwrap_or_default();
        let value = pc.i32("value", d).unwrap_or(0);
        if value > 1_000_000_000 {
            d.error(
                pc.at("value"),
                format!("Invalid value: {value}: must be no greater than 1000000000"),
            );
        }
        let global = pc.bool("globalDefault", d).unwrap_or(false);
        pc.finish(d, &[]);
        priority_classes.push((name, value, global));
    }
    o.finish(d, &[]);
    Cluster {
        pools,
        queues: Default::default(),
        priority_classes,
    }
}

fn parse_timing(o: Option<Obj<'_>>, d: &mut Diags) -> Timing {
    let mut t = Timing::default();
    let Some(mut o) = o else { return t };
    if let Some(v) = o.duration("podStartup", d) {
        t.pod_startup = v;
    }
    if let Some(v) = o.duration("podReady", d) {
        t.pod_ready = v;
    }
    if let Some(v) = o.duration("podTermination", d) {
        t.pod_termination = v;
    }
    if let Some(v) = o.duration("controllerDelay", d) {
        t.controller_delay = v;
    }
    if let Some(v) = o.duration("schedulerDelay", d) {
        t.scheduler_delay = v;
    }
    if let Some(v) = o.duration("nodeMonitorGrace", d) {
        t.node_monitor_grace = v;
    }
    if let Some(v) = o.duration("evictionToleration", d) {
        t.eviction_toleration = v;
    }
    o.finish(d, &[]);
    t
}

#[allow(clippy::too_many_arguments)]
/// What the manifests of all submissions hold.
#[derive(Default)]
struct Manifests {
    submissions: Vec<Submission>,
    /// Documents of other kinds: (source, kind, name).
    skipped: Vec<(String, String, String)>,
    not_simulated: Vec<String>,
    /// PriorityClass documents: (name, value, globalDefault).
    classes: Vec<(String, i32, bool)>,
    /// `cluster.queues` and Kueue documents (ResourceFlavor, ClusterQueue, LocalQueue).
    queues: super::kueue::QueueConfig,
}

/// Reads a `cluster.queues[i].manifest` file: Kueue documents only.
fn read_queue_manifest(p: &str, path: &Path, d: &mut Diags, problems: &mut Vec<String>, found: &mut Manifests) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            d.error(p, format!("cannot read manifest {}: {e}", path.display()));
            return;
        }
    };
    let docs = match parse_yaml_documents(&text) {
        Ok(docs) => docs,
        Err(e) => {
            problems.push(format!("{}: {e}", path.display()));
            return;
        }
    };
    for (i, doc) in docs.iter().enumerate() {
        let source = format!("{}#{i}", path.display());
        if doc.is_null() {
            continue;
        }
        if super::kueue::is_kueue_doc(doc) {
            kueue_doc(&source, doc, problems, found);
        } else {
            let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("(no kind)");
            problems.push(format!(
                "{source}: {kind} is not a queue definition; expected one of: {}",
                super::kueue::KUEUE_KINDS.join(", ")
            ));
        }
    }
}

/// One Kueue document of a manifest file; its problems name the document.
fn kueue_doc(source: &str, doc: &Value, problems: &mut Vec<String>, found: &mut Manifests) {
    let mut md = Diags::default();
    super::kueue::parse_kueue_doc(source, doc, &mut found.queues, &mut md);
    problems.extend(md.errors.iter().map(|e| format!("{source}: {e}")));
    found
        .not_simulated
        .extend(md.not_simulated.iter().map(|n| format!("{source}: {n}")));
}

fn parse_submission(
    p: &str,
    v: &Value,
    base: &Path,
    manifest_docs: Option<&Vec<Value>>,
    d: &mut Diags,
    manifest_problems: &mut Vec<String>,
    found: &mut Manifests,
) {
    let Some(mut o) = Obj::new(p, v, d) else { return };
    let at = o.duration("at", d).unwrap_or(0);
    let queue = o.str("queue", d);
    let mut docs: Vec<(String, Value)> = Vec::new();
    let manifest = o.str("manifest", d);
    let inline = o.get("inline");
    match (&manifest, inline) {
        (Some(m), None) => {
            let path: PathBuf = base.join(m);
            if let Some(list) = manifest_docs {
                for (i, doc) in list.iter().enumerate() {
                    docs.push((format!("{}#{}", path.display(), i), doc.clone()));
                }
            } else {
                match std::fs::read_to_string(&path) {
                    Ok(text) => match parse_yaml_documents(&text) {
                        Ok(list) => {
                            for (i, doc) in list.into_iter().enumerate() {
                                docs.push((format!("{}#{}", path.display(), i), doc));
                            }
                        }
                        Err(e) => manifest_problems.push(format!("{}: {e}", path.display())),
                    },
                    Err(e) => d.error(
                        o.at("manifest"),
                        format!("cannot read manifest {}: {e}", path.display()),
                    ),
                }
            }
        }
        (None, Some(doc)) => docs.push((o.at("inline"), doc.clone())),
        (Some(_), Some(_)) => d.error(p, "set either `manifest` or `inline`, not both"),
        (None, None) => d.error(p, "expected `manifest` (a file path) or `inline` (a JobSet manifest)"),
    }
    o.finish(d, &[]);
    for (source, doc) in docs {
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
        let name = doc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if kind == "PriorityClass" {
            let value = doc.get("value").and_then(Value::as_i64);
            let global = doc.get("globalDefault").and_then(Value::as_bool).unwrap_or(false);
            match value {
                Some(v) if !name.is_empty() => {
                    found
                        .classes
                        .push((name, v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32, global));
                }
                _ => manifest_problems.push(format!(
                    "{source}: PriorityClass needs metadata.name and an integer value"
                )),
            }
            continue;
        }
        if super::kueue::is_kueue_doc(&doc) {
            kueue_doc(&source, &doc, manifest_problems, found);
            continue;
        }
        if kind != "JobSet" {
            if doc.is_null() {
                continue;
            }
            found
                .skipped
                .push((source, if kind.is_empty() { "(no kind)".into() } else { kind }, name));
            continue;
        }
        let mut md = Diags::default();
        if let Some(js) = JobSet::parse(&doc, &mut md) {
            let inline_source = source.starts_with(p);
            for e in &md.errors {
                if inline_source {
                    d.error(crate::input::join(&source, &e.path), e.message.clone());
                } else {
                    manifest_problems.push(format!("{source}: {e}"));
                }
            }
            found
                .not_simulated
                .extend(md.not_simulated.iter().map(|n| format!("{source}: {n}")));
            if md.errors.is_empty() {
                found.submissions.push(Submission {
                    at,
                    queue: queue.clone(),
                    source,
                    jobset: js,
                });
            }
        } else {
            for e in &md.errors {
                manifest_problems.push(format!("{source}: {e}"));
            }
        }
    }
}

fn parse_match(o: Option<Obj<'_>>, d: &mut Diags, allowed_extra: &[&'static str]) -> PodMatch {
    let Some(mut o) = o else { return PodMatch::default() };
    let m = parse_match_fields(&mut o, d);
    o.finish(d, allowed_extra);
    m
}

fn parse_match_fields(o: &mut Obj<'_>, d: &mut Diags) -> PodMatch {
    PodMatch {
        jobset: o.str("jobset", d),
        replicated_job: o.str("replicatedJob", d),
        job_index: o.i64("jobIndex", d),
        pod_index: o.i64("podIndex", d),
        restart_attempt: o.i64("restartAttempt", d),
        job_restart_attempt: o.i64("jobRestartAttempt", d),
    }
}

fn parse_workload_rule(p: &str, v: &Value, d: &mut Diags) -> Option<WorkloadRule> {
    let mut o = Obj::new(p, v, d)?;
    let matcher = parse_match(o.obj("match", d), d, &[]);
    let run_for = match o.get("runFor") {
        Some(Value::String(s)) if s == "forever" => None,
        Some(v) => crate::input::value_duration(&o.at("runFor"), v, d),
        None => Some(60_000),
    };
    let exit_code = o.i32("exitCode", d).unwrap_or(0);
    o.finish(d, &[]);
    Some(WorkloadRule {
        matcher,
        run_for,
        exit_code,
    })
}

const FAULT_KINDS: &[&str] = &[
    "podFailure",
    "jobFailure",
    "jobSuccess",
    "nodeFailure",
    "update",
    "deleteObject",
];

fn parse_delay(path: &str, v: &Value, d: &mut Diags) -> Option<Delay> {
    if v.is_string() || v.is_number() {
        return crate::input::value_duration(path, v, d).map(Delay::Fixed);
    }
    let mut o = Obj::new(path, v, d)?;
    let exp = o.duration("exponential", d);
    let uni = o.list("uniform", d);
    o.finish(d, &[]);
    match (exp, uni.len()) {
        (Some(m), 0) => Some(Delay::Exponential(m)),
        (None, 2) => {
            let a = crate::input::value_duration(&uni[0].0, uni[0].1, d)?;
            let b = crate::input::value_duration(&uni[1].0, uni[1].1, d)?;
            if a > b {
                d.error(path, "uniform: the first bound must not exceed the second");
            }
            Some(Delay::Uniform(a, b))
        }
        _ => {
            d.error(
                path,
                "expected a duration, {exponential: <mean>} or {uniform: [<min>, <max>]}",
            );
            None
        }
    }
}

const RANDOM_KINDS: &[&str] = &["nodeFailure", "podFailure", "domainFailure"];

fn parse_random_fault(p: &str, index: u64, v: &Value, d: &mut Diags) -> Option<RandomFault> {
    let mut o = Obj::new(p, v, d)?;
    let mut r = o.obj("random", d)?;
    o.finish(d, &[]);
    let mut kinds = Vec::new();
    for key in RANDOM_KINDS {
        if let Some(fv) = r.get(key) {
            kinds.push((r.at(key), *key, fv));
        }
    }
    r.finish(d, &[]);
    if kinds.len() != 1 {
        d.error(
            format!("{p}.random"),
            format!("expected exactly one of: {}", RANDOM_KINDS.join(", ")),
        );
        return None;
    }
    let (kp, key, fv) = kinds.pop().expect("one");
    let mut f = Obj::new(kp.clone(), fv, d)?;
    let kind = match key {
        "nodeFailure" => {
            let pool = f.str("pool", d);
            let mtbf = f.duration("mtbf", d);
            let profile = match f.str("profile", d).as_deref() {
                None => None,
                Some("llama3") => Some(Profile::llama3()),
                Some(other) => {
                    d.error(
                        f.at("profile"),
                        format!("unknown fault profile \"{other}\"; expected one of: llama3"),
                    );
                    None
                }
            };
            if mtbf.is_some() == profile.is_some() && !d.has_errors() {
                d.error(
                    kp.clone(),
                    "expected exactly one of `mtbf` (a duration) or `profile` (llama3)",
                );
            }
            let recover_after = f
                .get("recoverAfter")
                .and_then(|rv| parse_delay(&format!("{kp}.recoverAfter"), rv, d));
            let mode = f.str("mode", d).unwrap_or_else(|| "crash".into());
            crate::api::check_enum(&f.at("mode"), Some(&mode), &["crash", "drain", "fail"], d);
            let mode = NodeFaultMode::parse(&mode).unwrap_or(NodeFaultMode::Crash);
            RandomKind::NodeFailure {
                pool,
                mtbf,
                profile,
                recover_after,
                mode,
            }
        }
        "podFailure" => {
            let matcher = parse_match_fields(&mut f, d);
            let mtbf = f.duration("mtbf", d).unwrap_or(0);
            if !f.has("mtbf") {
                d.error(f.at("mtbf"), "required field is missing");
            }
            let exit_code = f.i32("exitCode", d).unwrap_or(1);
            RandomKind::PodFailure {
                matcher,
                mtbf,
                exit_code,
            }
        }
        _ => {
            let pool = f.str("pool", d);
            let key = f.req_str("key", d).unwrap_or_default();
            let mtbf = f.duration("mtbf", d).unwrap_or(0);
            if !f.has("mtbf") {
                d.error(f.at("mtbf"), "required field is missing");
            }
            let recover_after = f
                .get("recoverAfter")
                .and_then(|rv| parse_delay(&format!("{kp}.recoverAfter"), rv, d));
            RandomKind::DomainFailure {
                pool,
                key,
                mtbf,
                recover_after,
            }
        }
    };
    f.finish(d, &[]);
    if let RandomKind::PodFailure { mtbf: 0, .. } | RandomKind::DomainFailure { mtbf: 0, .. } = kind {
        d.error(format!("{kp}.mtbf"), "must be greater than 0");
    }
    if let RandomKind::NodeFailure { mtbf: Some(0), .. } = kind {
        d.error(format!("{kp}.mtbf"), "must be greater than 0");
    }
    Some(RandomFault {
        path: p.to_string(),
        stream: 1000 + index,
        kind,
    })
}

fn parse_fault(p: &str, v: &Value, d: &mut Diags) -> Option<Fault> {
    let mut o = Obj::new(p, v, d)?;
    let at = match o.duration("at", d) {
        Some(a) => a,
        None => {
            if !o.has("at") {
                d.error(p, "expected `at` (a fixed time) or `random` (a seeded process)");
            }
            0
        }
    };
    let mut kind = None;
    let mut count = 0;
    for key in FAULT_KINDS {
        if let Some(fv) = o.get(key) {
            count += 1;
            kind = parse_fault_kind(&o.at(key), key, fv, d);
        }
    }
    o.finish(d, &[]);
    if count != 1 {
        d.error(
            p,
            format!(
                "expected exactly one fault or action: one of {}",
                FAULT_KINDS.join(", ")
            ),
        );
        return None;
    }
    kind.map(|kind| Fault { at, kind })
}

fn parse_fault_kind(p: &str, key: &str, v: &Value, d: &mut Diags) -> Option<FaultKind> {
    let mut o = Obj::new(p, v, d)?;
    let k = match key {
        "podFailure" => {
            let matcher = parse_match_fields(&mut o, d);
            let exit_code = o.i32("exitCode", d).unwrap_or(1);
            FaultKind::PodFailure { matcher, exit_code }
        }
        "jobFailure" => {
            let matcher = parse_match_fields(&mut o, d);
            let reason = o.str("reason", d).unwrap_or_else(|| "BackoffLimitExceeded".into());
            crate::api::check_enum(
                &o.at("reason"),
                Some(&reason),
                &crate::api::constants::JOB_FAILURE_REASONS,
                d,
            );
            let message = o.str("message", d).unwrap_or_else(|| match reason.as_str() {
                "BackoffLimitExceeded" => crate::api::constants::JOB_MSG_BACKOFF_LIMIT.into(),
                "DeadlineExceeded" => crate::api::constants::JOB_MSG_DEADLINE.into(),
                "MaxFailedIndexesExceeded" => crate::api::constants::JOB_MSG_MAX_FAILED_INDEXES.into(),
                "FailedIndexes" => crate::api::constants::JOB_MSG_FAILED_INDEXES.into(),
                _ => "injected failure".into(),
            });
            FaultKind::JobFailure {
                matcher,
                reason,
                message,
            }
        }
        "jobSuccess" => FaultKind::JobSuccess {
            matcher: parse_match_fields(&mut o, d),
        },
        "nodeFailure" => {
            let node = o.str("node", d);
            let pool = o.str("pool", d);
            let count = o.u64("count", d);
            let recover_after = o.duration("recoverAfter", d);
            let mode = o.str("mode", d).unwrap_or_else(|| "crash".into());
            crate::api::check_enum(&o.at("mode"), Some(&mode), &["crash", "drain", "fail"], d);
            let mode = NodeFaultMode::parse(&mode).unwrap_or(NodeFaultMode::Crash);
            let target = match (node, pool) {
                (Some(n), None) => NodeTarget::Node(n),
                (None, Some(pl)) => NodeTarget::Pool {
                    pool: pl,
                    count: count.unwrap_or(1) as u32,
                },
                _ => {
                    d.error(p, "expected `node` or `pool` (with an optional `count`)");
                    return None;
                }
            };
            FaultKind::NodeFailure {
                target,
                recover_after,
                mode,
            }
        }
        "update" => {
            let jobset = o.req_str("jobset", d).unwrap_or_default();
            let namespace = o.str("namespace", d).unwrap_or_else(|| "default".into());
            let mut actions = Vec::new();
            if let Some(s) = o.bool("suspend", d) {
                actions.push(UpdateAction::Suspend(s));
            }
            if let Some(r) = o.bool("resume", d) {
                actions.push(UpdateAction::Suspend(!r));
            }
            if o.bool("delete", d) == Some(true) {
                actions.push(UpdateAction::Delete);
            }
            if let Some(mut r) = o.obj("replicas", d) {
                let replicated_job = r.req_str("replicatedJob", d).unwrap_or_default();
                let replicas = r.i32("replicas", d).unwrap_or(1);
                r.finish(d, &[]);
                actions.push(UpdateAction::Replicas {
                    replicated_job,
                    replicas,
                });
            }
            if let Some(pv) = o.get("patch") {
                actions.push(UpdateAction::Patch(pv.clone()));
            }
            o.finish(d, &[]);
            if actions.len() != 1 {
                d.error(p, "expected exactly one of: suspend, resume, delete, replicas, patch");
                return None;
            }
            return Some(FaultKind::Update {
                jobset,
                namespace,
                action: actions.pop().expect("one action"),
            });
        }
        "deleteObject" => {
            let kind = o.req_str("kind", d).unwrap_or_default();
            crate::api::check_enum(&o.at("kind"), Some(&kind), &["Job", "Pod", "Service", "JobSet"], d);
            let name = o.req_str("name", d).unwrap_or_default();
            let namespace = o.str("namespace", d).unwrap_or_else(|| "default".into());
            FaultKind::DeleteObject { kind, name, namespace }
        }
        _ => unreachable!("fault kinds are listed in FAULT_KINDS"),
    };
    o.finish(d, &[]);
    Some(k)
}

fn parse_filter(o: Option<Obj<'_>>, d: &mut Diags) -> EventFilter {
    let mut f = EventFilter::default();
    let Some(o) = o else { return f };
    for (k, v) in o.map {
        if k == "event" {
            match v.as_str() {
                Some(name) => {
                    if !crate::trace::EVENT_NAMES.contains(&name) {
                        d.error(
                            crate::input::join(&o.path, "event"),
                            match crate::input::nearest(name, crate::trace::EVENT_NAMES.iter().copied()) {
                                Some(s) => format!("unknown trace event \"{name}\"; did you mean \"{s}\"?"),
                                None => format!(
                                    "unknown trace event \"{name}\"; expected one of: {}",
                                    crate::trace::EVENT_NAMES.join(", ")
                                ),
                            },
                        );
                    }
                    f.event = Some(name.to_string());
                }
                None => d.error(
                    crate::input::join(&o.path, "event"),
                    format!("expected an event name, found {}", describe(v)),
                ),
            }
            continue;
        }
        if !crate::trace::FILTER_KEYS.contains(&k.as_str()) {
            d.error(
                crate::input::join(&o.path, k),
                crate::input::unknown_field_message(k, crate::trace::FILTER_KEYS.iter().copied().chain(["event"])),
            );
            continue;
        }
        f.fields.insert(k.clone(), v.clone());
    }
    f
}

fn parse_expectation(p: &str, v: &Value, d: &mut Diags) -> Option<Expectation> {
    let mut o = Obj::new(p, v, d)?;
    let kind = if o.has("order") {
        let mut or = o.obj("order", d)?;
        let first = parse_filter(or.obj("first", d), d);
        let then = parse_filter(or.obj("then", d), d);
        if !or.has("first") || !or.has("then") {
            d.error(or.path.clone(), "expected both `first` and `then`");
        }
        or.finish(d, &[]);
        let from = o.duration("from", d);
        let to = o.duration("to", d);
        ExpectKind::Order { first, then, from, to }
    } else if o.has("event") {
        let filter = parse_filter(o.obj("event", d), d);
        let count = o.u64("count", d);
        let min = o.u64("min", d);
        let max = o.u64("max", d);
        let from = o.duration("from", d);
        let to = o.duration("to", d);
        if count.is_none() && min.is_none() && max.is_none() {
            d.error(p, "expected `count`, `min` or `max` with `event`");
        }
        ExpectKind::Event {
            filter,
            count,
            min,
            max,
            from,
            to,
        }
    } else if o.has("validationError") {
        let mut ve = o.obj("validationError", d)?;
        let contains = ve.req_str("contains", d).unwrap_or_default();
        let jobset = ve.str("jobset", d);
        ve.finish(d, &[]);
        ExpectKind::ValidationError { contains, jobset }
    } else if o.has("jobset") {
        ExpectKind::State(Box::new(parse_state(&mut o, d)))
    } else {
        d.error(
            p,
            "expected one of: `jobset` (state), `order`, `event`, `validationError`",
        );
        o.finish_with(d, &[], false);
        return None;
    };
    o.finish(d, &[]);
    Some(Expectation {
        path: p.to_string(),
        kind,
    })
}

fn parse_state(o: &mut Obj<'_>, d: &mut Diags) -> StateExpect {
    let mut s = StateExpect {
        jobset: o.req_str("jobset", d).unwrap_or_default(),
        namespace: o.str("namespace", d).unwrap_or_else(|| "default".into()),
        at: o.duration("at", d),
        terminal_state: o.str("terminalState", d),
        restarts: o.i64("restarts", d),
        restarts_count_towards_max: o.i64("restartsCountTowardsMax", d),
        ..Default::default()
    };
    crate::api::check_enum(
        &o.at("terminalState"),
        s.terminal_state.as_deref(),
        &["Completed", "Failed", "None"],
        d,
    );
    for (p, v) in o.list("conditions", d) {
        let Some(mut c) = Obj::new(p, v, d) else { continue };
        s.conditions.push(CondExpect {
            type_: c.req_str("type", d).unwrap_or_default(),
            status: c.scalar_str("status", d),
            reason: c.str("reason", d),
            message: c.str("message", d),
        });
        c.finish(d, &[]);
    }
    s.absent_conditions = o.str_list("absentConditions", d);
    if let Some(r) = o.obj("replicatedJobsStatus", d) {
        for (k, v) in r.map {
            let path = crate::input::join(&r.path, k);
            let Some(fields) = Obj::new(path.clone(), v, d) else {
                continue;
            };
            const RJ_KEYS: &[&str] = &[
                "ready",
                "succeeded",
                "failed",
                "active",
                "suspended",
                "jobRestarts",
                "jobRestartsCountTowardsMax",
            ];
            let mut m = BTreeMap::new();
            for (fk, fv) in fields.map {
                if RJ_KEYS.contains(&fk.as_str()) {
                    m.insert(fk.clone(), fv.clone());
                } else {
                    d.error(
                        crate::input::join(&path, fk),
                        crate::input::unknown_field_message(fk, RJ_KEYS.iter().copied()),
                    );
                }
            }
            s.replicated_jobs_status.push((k.clone(), m));
        }
    }
    s.finished_within = o.duration("finishedWithin", d);
    for (p, v) in o.list("jobs", d) {
        let Some(mut j) = Obj::new(p, v, d) else { continue };
        s.jobs.push(JobExpect {
            name: j.req_str("name", d).unwrap_or_default(),
            labels: j.str_map("labels", d),
            annotations: j.str_map("annotations", d),
            suspended: j.bool("suspended", d),
            parallelism: j.i64("parallelism", d),
            completions: j.i64("completions", d),
        });
        j.finish(d, &[]);
    }
    s.absent_jobs = o.str_list("absentJobs", d);
    for (p, v) in o.list("pods", d) {
        let Some(mut j) = Obj::new(p, v, d) else { continue };
        s.pods.push(PodExpect {
            job: j.req_str("job", d).unwrap_or_default(),
            pod_index: j.i64("podIndex", d),
            hostname: j.str("hostname", d),
            subdomain: j.str("subdomain", d),
            labels: j.str_map("labels", d),
            annotations: j.str_map("annotations", d),
            node: j.str("node", d),
            phase: j.str("phase", d),
            restart_count: j.i64("restartCount", d),
            volumes: j.str_map("volumes", d),
        });
        j.finish(d, &[]);
    }
    s.services = o.str_list("services", d);
    s.absent_services = o.str_list("absentServices", d);
    s.exists = o.bool("exists", d);
    s.spec = o.get("spec").cloned();
    // Format additions (lifecycle): PVCs and in-place restart attempts.
    for (p, v) in o.list("pvcs", d) {
        if let Some(name) = v.as_str() {
            s.pvcs.push(PvcExpect {
                name: name.to_string(),
                ..Default::default()
            });
            continue;
        }
        let Some(mut e) = Obj::new(p, v, d) else { continue };
        s.pvcs.push(PvcExpect {
            name: e.req_str("name", d).unwrap_or_default(),
            labels: e.str_map("labels", d),
            owner_reference: e.bool("ownerReference", d),
        });
        e.finish(d, &[]);
    }
    s.absent_pvcs = o.str_list("absentPvcs", d);
    s.current_in_place_restart_attempt = o.i64("currentInPlaceRestartAttempt", d);
    s.previous_in_place_restart_attempt = o.i64("previousInPlaceRestartAttempt", d);
    s
}
