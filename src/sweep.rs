//! Sweeps: one scenario run for every seed × parameter point, in parallel
//! across runs (each run is one single-threaded simulation), written as CSV
//! rows in a fixed order so the bytes do not depend on the thread count.
//!
//! A parameter is a `--set PATH=V1,V2,...`: `PATH` addresses a field of the
//! scenario (`timing.podStartup`, `cluster.nodePools[0].count`) or, after
//! `jobsets[i]`, a field of that submission's JobSet manifest
//! (`jobsets[0].spec.failurePolicy.maxRestarts`), whether it is written
//! `inline:` or read from a `manifest:` file. The grid is the cartesian
//! product of the values, the first `--set` varying slowest.
//!
//! Runs are numbered `point × seeds + (seed − first seed)`; rows are written in
//! run order, and within a run in JobSet (namespace, name) order. A shard
//! `I/N` runs the runs whose number is `I` mod `N` and writes them with two
//! leading columns (`run_index`, `run_count`) that [`merge`] uses to put the
//! rows of all shards back in run order and drops, so the merged file is
//! byte-identical to the unsharded one.
//!
//! This module prints nothing; progress is reported through a callback.

use crate::cli::run_scenario;
use crate::input::{describe, parse_yaml_documents};
use crate::scenario::{Scenario, parse_scenario_value};
use crate::sim::{RunOptions, World};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Problems that stop a sweep before it runs (bad input: exit code 2).
#[derive(Debug, Clone)]
pub struct SweepError(pub Vec<String>);

impl std::fmt::Display for SweepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "error: {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SweepError {}

fn err<T>(msg: impl Into<String>) -> Result<T, SweepError> {
    Err(SweepError(vec![msg.into()]))
}

// ---------------------------------------------------------------------------
// Command-line values: seeds, shards, --set.

/// Seeds `start..end` (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeds {
    pub start: u64,
    pub end: u64,
}

impl Seeds {
    pub fn len(&self) -> u64 {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// Parses `A..B` (A to B−1, like a Rust range), `A..=B` (A to B) or `N` (one seed).
pub fn parse_seeds(s: &str) -> Result<Seeds, String> {
    let bad = |why: &str| {
        format!("--seeds: {why}, found \"{s}\"; expected A..B (A to B-1), A..=B (A to B) or N, e.g. 0..100")
    };
    let num = |t: &str| t.trim().parse::<u64>().map_err(|_| bad("not a non-negative integer"));
    let (start, end) = if let Some((a, b)) = s.split_once("..=") {
        let b = num(b)?;
        (num(a)?, b.checked_add(1).ok_or_else(|| bad("too large"))?)
    } else if let Some((a, b)) = s.split_once("..") {
        (num(a)?, num(b)?)
    } else {
        let n = num(s)?;
        (n, n.checked_add(1).ok_or_else(|| bad("too large"))?)
    };
    if end <= start {
        return Err(bad("the range is empty"));
    }
    Ok(Seeds { start, end })
}

/// `--shard I/N`: this process runs the runs whose number is I mod N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

pub fn parse_shard(s: &str) -> Result<Shard, String> {
    let bad = || format!("--shard: expected I/N with 0 <= I < N, e.g. 0/4, found \"{s}\"");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let index: u64 = i.trim().parse().map_err(|_| bad())?;
    let count: u64 = n.trim().parse().map_err(|_| bad())?;
    if count == 0 || index >= count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

/// One step of a `--set` path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Formats segments the way diagnostics name paths (`a.b[0].c`).
fn format_path(segs: &[Seg]) -> String {
    let mut s = String::new();
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Parses `a.b[0].c`; a key holding dots or brackets is quoted: `labels."example.com/x"`.
pub fn parse_path(p: &str) -> Result<Vec<Seg>, String> {
    let bad = |why: &str| format!("--set {p}: {why}; a path looks like jobsets[0].spec.failurePolicy.maxRestarts");
    let chars: Vec<char> = p.chars().collect();
    let mut segs = Vec::new();
    let mut i = 0;
    let mut expect_key = true;
    while i < chars.len() {
        match chars[i] {
            '[' => {
                let close = chars[i..]
                    .iter()
                    .position(|c| *c == ']')
                    .ok_or_else(|| bad("unclosed ["))?;
                let inner: String = chars[i + 1..i + close].iter().collect();
                let n: usize = inner
                    .trim()
                    .parse()
                    .map_err(|_| bad(&format!("[{inner}] is not a list index")))?;
                if segs.is_empty() {
                    return Err(bad("it must start with a field name"));
                }
                segs.push(Seg::Index(n));
                i += close + 1;
                expect_key = false;
            }
            '.' => {
                if expect_key {
                    return Err(bad("empty field name"));
                }
                expect_key = true;
                i += 1;
            }
            '"' => {
                if !expect_key {
                    return Err(bad("a quoted field name must follow a '.'"));
                }
                let close = chars[i + 1..]
                    .iter()
                    .position(|c| *c == '"')
                    .ok_or_else(|| bad("unclosed quote"))?;
                segs.push(Seg::Key(chars[i + 1..i + 1 + close].iter().collect()));
                i += close + 2;
                expect_key = false;
            }
            _ => {
                if !expect_key {
                    return Err(bad("expected '.' or '[' after a field name or index"));
                }
                let start = i;
                while i < chars.len() && !matches!(chars[i], '.' | '[' | ']' | '"') {
                    i += 1;
                }
                let k: String = chars[start..i].iter().collect();
                if k.trim().is_empty() || k.trim() != k {
                    return Err(bad("empty field name or spaces around it"));
                }
                segs.push(Seg::Key(k));
                expect_key = false;
            }
        }
    }
    if segs.is_empty() || expect_key {
        return Err(bad("empty field name"));
    }
    Ok(segs)
}

/// Splits a value list at top-level commas (commas inside quotes or `[]`/`{}` stay).
fn split_values(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (None, '[' | '{') => {
                depth += 1;
                cur.push(c);
            }
            (None, ']' | '}') => {
                depth -= 1;
                cur.push(c);
            }
            (None, ',') if depth == 0 => out.push(std::mem::take(&mut cur)),
            (None, c) => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|v| v.trim().to_string()).collect()
}

/// One `--set PATH=V1,V2,...`.
#[derive(Debug, Clone)]
pub struct SetArg {
    /// The path as written (the CSV column header).
    pub path: String,
    pub segs: Vec<Seg>,
    /// Each value as written (the CSV cell) and as parsed (a YAML scalar, or flow list/mapping).
    pub values: Vec<(String, Value)>,
}

/// Parses `PATH=V1,V2`; values are YAML, so `3` is a number, `true` a boolean, `10m` a string.
pub fn parse_set(s: &str) -> Result<SetArg, String> {
    let mut in_quote = false;
    let eq = s.char_indices().find(|(_, c)| {
        if *c == '"' {
            in_quote = !in_quote;
        }
        *c == '=' && !in_quote
    });
    let Some((eq, _)) = eq else {
        return Err(format!(
            "--set: expected PATH=V1,V2,..., found \"{s}\" (e.g. jobsets[0].spec.failurePolicy.maxRestarts=1,3)"
        ));
    };
    let path = s[..eq].trim().to_string();
    let segs = parse_path(&path)?;
    let mut values = Vec::new();
    for raw in split_values(&s[eq + 1..]) {
        if raw.is_empty() {
            return Err(format!(
                "--set {path}: empty value in \"{}\" (write null to remove a field)",
                &s[eq + 1..]
            ));
        }
        let docs = parse_yaml_documents(&raw).map_err(|e| format!("--set {path}: value \"{raw}\": {e}"))?;
        let v = match docs.as_slice() {
            [v] => v.clone(),
            _ => return Err(format!("--set {path}: value \"{raw}\" is not one YAML value")),
        };
        if values.iter().any(|(r, _): &(String, Value)| *r == raw) {
            return Err(format!("--set {path}: value \"{raw}\" is listed twice"));
        }
        values.push((raw, v));
    }
    Ok(SetArg { path, segs, values })
}

// ---------------------------------------------------------------------------
// Applying overrides.

const SUBMISSION_KEYS: &[&str] = &["at", "queue", "manifest", "inline"];

/// Where a `--set` path lands.
#[derive(Debug, Clone)]
enum Target {
    /// In the scenario document (path already rewritten, e.g. through `inline`).
    Scenario(Vec<Seg>),
    /// In document `doc` of submission `submission`'s manifest file.
    Manifest {
        submission: usize,
        file: String,
        doc: usize,
        segs: Vec<Seg>,
    },
}

/// Resolves `jobsets[i].<manifest field>` to the inline manifest or the manifest file's JobSet.
fn resolve_target(set: &SetArg, root: &Value, files: &BTreeMap<usize, (String, Vec<Value>)>) -> Result<Target, String> {
    let segs = &set.segs;
    if let [Seg::Key(j), Seg::Index(i), Seg::Key(k), ..] = segs.as_slice()
        && j == "jobsets"
        && !SUBMISSION_KEYS.contains(&k.as_str())
    {
        let list = root.get("jobsets").and_then(Value::as_array);
        let n = list.map(Vec::len).unwrap_or(0);
        let Some(sub) = list.and_then(|l| l.get(*i)) else {
            return Err(format!(
                "--set {}: jobsets[{i}] does not exist (the scenario has {n} jobsets)",
                set.path
            ));
        };
        if sub.get("inline").is_some_and(|v| !v.is_null()) {
            let mut s = vec![segs[0].clone(), segs[1].clone(), Seg::Key("inline".into())];
            s.extend_from_slice(&segs[2..]);
            return Ok(Target::Scenario(s));
        }
        if let Some((file, docs)) = files.get(i) {
            let jobsets: Vec<usize> = docs
                .iter()
                .enumerate()
                .filter(|(_, d)| d.get("kind").and_then(Value::as_str) == Some("JobSet"))
                .map(|(n, _)| n)
                .collect();
            return match jobsets.as_slice() {
                [doc] => Ok(Target::Manifest {
                    submission: *i,
                    file: file.clone(),
                    doc: *doc,
                    segs: segs[2..].to_vec(),
                }),
                _ => Err(format!(
                    "--set {}: {file} holds {} JobSets; a path through jobsets[{i}] needs a manifest with exactly one",
                    set.path,
                    jobsets.len()
                )),
            };
        }
        return Err(format!(
            "--set {}: jobsets[{i}] has neither `inline` nor a readable `manifest`",
            set.path
        ));
    }
    Ok(Target::Scenario(segs.clone()))
}

/// Sets `val` at `segs` under `v`, creating missing mappings. Returns the index
/// of the first segment that did not exist before (`segs.len()` if none); an
/// error says how many leading segments name the place it is about.
fn set_value(v: &mut Value, segs: &[Seg], val: Value) -> Result<usize, (usize, String)> {
    let mut created = segs.len();
    let mut cur = v;
    for (k, seg) in segs.iter().enumerate() {
        let last = k + 1 == segs.len();
        match seg {
            Seg::Key(name) => {
                if cur.is_null() {
                    *cur = Value::Object(Default::default());
                }
                let Value::Object(map) = cur else {
                    return Err((k, format!("is {}, not a mapping", describe(cur))));
                };
                let absent = map.get(name).is_none_or(Value::is_null);
                if absent {
                    created = created.min(k);
                }
                if last {
                    map.insert(name.clone(), val);
                    return Ok(created);
                }
                if absent {
                    if let Seg::Index(_) = segs[k + 1] {
                        return Err((k + 1, "does not exist, so an index cannot address it".into()));
                    }
                    map.insert(name.clone(), Value::Object(Default::default()));
                }
                cur = map.get_mut(name).expect("present");
            }
            Seg::Index(i) => {
                let Value::Array(list) = cur else {
                    return Err((k, format!("is {}, not a list", describe(cur))));
                };
                let n = list.len();
                let Some(item) = list.get_mut(*i) else {
                    return Err((k, format!("has {n} items, so index {i} is out of range")));
                };
                if last {
                    *item = val;
                    return Ok(created);
                }
                cur = item;
            }
        }
    }
    Ok(created)
}

// ---------------------------------------------------------------------------
// The plan.

/// One point of the parameter grid, with its scenario parsed.
pub struct Point {
    /// The raw value of each `--set`, in `--set` order.
    pub values: Vec<String>,
    pub scenario: Arc<Scenario>,
}

/// A validated sweep: every grid point parsed, ready to run.
pub struct Sweep {
    pub sets: Vec<SetArg>,
    pub seeds: Seeds,
    pub points: Vec<Point>,
}

/// The CSV columns after the `--set` columns.
pub const FIXED_COLUMNS: &[&str] = &[
    "seed",
    "jobset",
    "terminal_state",
    "restarts",
    "restarts_count_towards_max",
    "completion_ms",
    "goodput_ppm",
    "lost_work_ms",
    "events",
    "trace_hash",
];

/// Columns that lead each row of a shard file (dropped by [`merge`]).
pub const SHARD_COLUMNS: &[&str] = &["run_index", "run_count"];

/// One CSV row: one JobSet of one run. Integers only.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Row {
    pub seed: u64,
    /// `name`, or `namespace/name` outside the `default` namespace.
    pub jobset: String,
    /// Completed, Failed, None (not finished), or Rejected (refused at admission).
    pub terminal_state: String,
    pub restarts: i32,
    pub restarts_count_towards_max: i32,
    /// When the JobSet reached its terminal state; empty if it did not.
    pub completion_ms: Option<u64>,
    /// Reserved for the training model (empty until it exists).
    pub goodput_ppm: Option<u64>,
    /// Reserved for the training model (empty until it exists).
    pub lost_work_ms: Option<u64>,
    /// Engine events processed by the whole run.
    pub events: u64,
    /// FNV-1a hash of the run's trace (as `run` prints it).
    pub trace_hash: String,
}

/// The rows of one run.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub run_index: u64,
    pub point: usize,
    pub rows: Vec<Row>,
}

/// Reads the scenario, resolves every `--set` path, and parses the scenario of
/// every grid point, so a bad path or value stops the sweep before any run.
pub fn prepare(file: &Path, sets: Vec<SetArg>, seeds: Seeds) -> Result<Sweep, SweepError> {
    let fname = file.display().to_string();
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => return err(format!("{fname}: cannot read: {e}")),
    };
    // The scenario as written must load on its own.
    if let Err(e) = crate::scenario::parse_scenario(&text, file) {
        return Err(SweepError(e.problems));
    }
    let root = parse_yaml_documents(&text)
        .ok()
        .and_then(|d| d.into_iter().next())
        .expect("parsed above");
    for (i, s) in sets.iter().enumerate() {
        if sets[..i].iter().any(|o| o.path == s.path) {
            return err(format!("--set {}: the path is given twice", s.path));
        }
    }
    // Manifest files of submissions some path reaches into.
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut files: BTreeMap<usize, (String, Vec<Value>)> = BTreeMap::new();
    if let Some(list) = root.get("jobsets").and_then(Value::as_array) {
        for s in &sets {
            if let [Seg::Key(j), Seg::Index(i), ..] = s.segs.as_slice()
                && j == "jobsets"
                && let Some(m) = list.get(*i).and_then(|v| v.get("manifest")).and_then(Value::as_str)
                && !files.contains_key(i)
            {
                let path: PathBuf = base.join(m);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| SweepError(vec![format!("{}: cannot read: {e}", path.display())]))?;
                let docs =
                    parse_yaml_documents(&text).map_err(|e| SweepError(vec![format!("{}: {e}", path.display())]))?;
                files.insert(*i, (path.display().to_string(), docs));
            }
        }
    }
    let targets: Vec<Target> = sets
        .iter()
        .map(|s| resolve_target(s, &root, &files))
        .collect::<Result<_, _>>()
        .map_err(|e| SweepError(vec![e]))?;

    let total: usize = sets.iter().map(|s| s.values.len()).product();
    let mut points = Vec::with_capacity(total);
    let mut problems: Vec<String> = Vec::new();
    let mut failed_points = 0;
    for p in 0..total {
        // Mixed radix, the last --set varying fastest.
        let mut choice = vec![0usize; sets.len()];
        let mut rest = p;
        for (j, s) in sets.iter().enumerate().rev() {
            choice[j] = rest % s.values.len();
            rest /= s.values.len();
        }
        let mut v = root.clone();
        let mut manifests: BTreeMap<usize, Vec<Value>> = BTreeMap::new();
        // (problem prefix for a created or set path, the --set path)
        let mut prefixes: Vec<(String, String, bool)> = Vec::new();
        let mut walk_failed = false;
        for (j, (s, t)) in sets.iter().zip(&targets).enumerate() {
            let val = s.values[choice[j]].1.clone();
            let (res, segs, head) = match t {
                Target::Scenario(segs) => (set_value(&mut v, segs, val), segs, format!("{fname}: ")),
                Target::Manifest {
                    submission,
                    file,
                    doc,
                    segs,
                } => {
                    let docs = manifests
                        .entry(*submission)
                        .or_insert_with(|| files[submission].1.clone());
                    (set_value(&mut docs[*doc], segs, val), segs, format!("{file}#{doc}: "))
                }
            };
            match res {
                Ok(created) => {
                    for k in created..segs.len() {
                        let leaf = k + 1 == segs.len();
                        prefixes.push((format!("{head}{}", format_path(&segs[..=k])), s.path.clone(), leaf));
                    }
                    if created == segs.len() {
                        prefixes.push((format!("{head}{}", format_path(segs)), s.path.clone(), true));
                    }
                }
                Err((k, e)) => {
                    // Name the place in the user's path: the target path has `inline`
                    // inserted after `jobsets[i]`, or starts inside the manifest.
                    let user_k = match t {
                        Target::Scenario(segs) if segs.len() > s.segs.len() && k > 2 => k - 1,
                        Target::Scenario(_) => k,
                        Target::Manifest { .. } => k + 2,
                    };
                    let at = format_path(&s.segs[..user_k.min(s.segs.len())]);
                    let at = if at.is_empty() { "the scenario".to_string() } else { at };
                    push_unique(&mut problems, format!("--set {}: {at} {e}", s.path));
                    walk_failed = true;
                }
            }
        }
        if walk_failed {
            failed_points += 1;
            continue;
        }
        match parse_scenario_value(&v, file, &manifests) {
            Ok(sc) => points.push(Point {
                values: sets.iter().zip(&choice).map(|(s, c)| s.values[*c].0.clone()).collect(),
                scenario: Arc::new(sc),
            }),
            Err(e) => {
                failed_points += 1;
                let context = sets
                    .iter()
                    .zip(&choice)
                    .map(|(s, c)| format!("{}={}", s.path, s.values[*c].0))
                    .collect::<Vec<_>>()
                    .join(" ");
                for prob in e.problems {
                    push_unique(&mut problems, attribute(&prob, &prefixes, &context));
                }
            }
        }
        if problems.len() > 20 {
            break;
        }
    }
    if failed_points > 0 {
        if problems.len() > 20 {
            problems.truncate(20);
            problems.push("(more problems not shown)".into());
        }
        return Err(SweepError(problems));
    }
    Ok(Sweep { sets, seeds, points })
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

/// Names the `--set` path a parse problem comes from, when it does.
fn attribute(prob: &str, prefixes: &[(String, String, bool)], context: &str) -> String {
    // Longest prefix first: a problem at a deeper path is the more precise match.
    let mut order: Vec<&(String, String, bool)> = prefixes.iter().collect();
    order.sort_by_key(|(p, _, _)| std::cmp::Reverse(p.len()));
    for (pre, path, leaf) in order {
        if let Some(msg) = prob.strip_prefix(pre.as_str()) {
            if let Some(msg) = msg.strip_prefix(": ") {
                return format!("--set {path}: {msg}");
            }
            if *leaf && (msg.starts_with('.') || msg.starts_with('[')) {
                return format!("--set {path}: {}", msg.trim_start_matches('.'));
            }
        }
    }
    format!("{prob} (with --set {context})")
}

impl Sweep {
    /// Runs in the whole sweep (points × seeds).
    pub fn run_count(&self) -> u64 {
        self.points.len() as u64 * self.seeds.len()
    }

    /// The run numbers a shard owns (all of them without a shard).
    pub fn runs_of(&self, shard: Option<Shard>) -> Vec<u64> {
        (0..self.run_count())
            .filter(|r| shard.is_none_or(|s| r % s.count == s.index))
            .collect()
    }

    /// Runs the given runs on `jobs` threads; results come back in the order of
    /// `runs`, whatever the thread count. `progress` is called once per finished run.
    pub fn run(&self, runs: &[u64], jobs: usize, progress: &(dyn Fn() + Sync)) -> Result<Vec<RunResult>, String> {
        use rayon::prelude::*;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .thread_name(|i| format!("sweep-{i}"))
            .build()
            .map_err(|e| format!("cannot start {jobs} worker threads: {e}"))?;
        let n = self.seeds.len();
        Ok(pool.install(|| {
            runs.par_iter()
                .map(|&r| {
                    let point = (r / n) as usize;
                    let seed = self.seeds.start + r % n;
                    let w = run_scenario(
                        self.points[point].scenario.clone(),
                        RunOptions {
                            seed: Some(seed),
                            trace: None,
                            keep_trace: false,
                            check_invariants: false,
                            hash_thread: false,
                        },
                    );
                    let rows = rows_of(&w);
                    drop(w);
                    progress();
                    RunResult {
                        run_index: r,
                        point,
                        rows,
                    }
                })
                .collect()
        }))
    }

    /// The CSV header: shard columns (if sharded), one column per `--set`, then [`FIXED_COLUMNS`].
    pub fn header(&self, sharded: bool) -> Vec<String> {
        let mut h: Vec<String> = Vec::new();
        if sharded {
            h.extend(SHARD_COLUMNS.iter().map(|s| s.to_string()));
        }
        h.extend(self.sets.iter().map(|s| s.path.clone()));
        h.extend(FIXED_COLUMNS.iter().map(|s| s.to_string()));
        h
    }

    /// Writes the CSV (with the shard columns when `sharded`).
    pub fn write_csv<W: std::io::Write>(&self, out: W, results: &[RunResult], sharded: bool) -> Result<(), csv::Error> {
        let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(out);
        w.write_record(self.header(sharded))?;
        let count = self.run_count();
        for r in results {
            let params = &self.points[r.point].values;
            for row in &r.rows {
                if sharded {
                    w.serialize((r.run_index, count, params, row))?;
                } else {
                    w.serialize((params, row))?;
                }
            }
        }
        w.flush()?;
        Ok(())
    }
}

/// The rows of a finished run: one per JobSet ever submitted, in (namespace, name)
/// order; a run without any JobSet still gets one row (empty `jobset`).
pub fn rows_of(w: &World) -> Vec<Row> {
    let s = crate::cli::summarize(w);
    let mut rows: Vec<Row> = s
        .jobsets
        .iter()
        .map(|j| Row {
            seed: s.seed,
            jobset: if j.namespace == "default" || j.namespace.is_empty() {
                j.name.clone()
            } else {
                format!("{}/{}", j.namespace, j.name)
            },
            terminal_state: if j.rejected.is_some() {
                "Rejected".into()
            } else {
                j.terminal_state.clone()
            },
            restarts: j.restarts,
            restarts_count_towards_max: j.restarts_count_towards_max,
            completion_ms: j.finished_at_ms,
            goodput_ppm: j.training.as_ref().map(|t| t.goodput_ppm),
            lost_work_ms: j.training.as_ref().map(|t| t.lost_work_ms),
            events: s.events,
            trace_hash: s.trace_hash.clone(),
        })
        .collect();
    if rows.is_empty() {
        rows.push(Row {
            seed: s.seed,
            jobset: String::new(),
            terminal_state: "None".into(),
            restarts: 0,
            restarts_count_towards_max: 0,
            completion_ms: None,
            goodput_ppm: None,
            lost_work_ms: None,
            events: s.events,
            trace_hash: s.trace_hash,
        });
    }
    rows
}

// ---------------------------------------------------------------------------
// Merging shard files.

/// Joins shard CSVs (`(name, bytes)`) into the CSV the unsharded sweep writes:
/// headers must match, every run of `0..run_count` must appear in exactly one
/// file; the shard columns are dropped and rows put back in run order.
pub fn merge(inputs: &[(String, Vec<u8>)]) -> Result<Vec<u8>, SweepError> {
    let show = |r: &csv::ByteRecord| {
        r.iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect::<Vec<_>>()
            .join(",")
    };
    if inputs.is_empty() {
        return err("merge: no input files");
    }
    let mut header: Option<(String, csv::ByteRecord)> = None;
    let mut run_count: Option<(String, u64)> = None;
    // run index -> (file, rows)
    let mut runs: BTreeMap<u64, (String, Vec<csv::ByteRecord>)> = BTreeMap::new();
    for (name, bytes) in inputs {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(bytes.as_slice());
        let h = rdr
            .byte_headers()
            .map_err(|e| SweepError(vec![format!("{name}: {e}")]))?
            .clone();
        if h.len() < SHARD_COLUMNS.len() || h.iter().take(2).ne(SHARD_COLUMNS.iter().map(|s| s.as_bytes())) {
            return err(format!(
                "{name}: not a shard file: its header does not start with {} (write shards with `sweep --shard I/N`)",
                SHARD_COLUMNS.join(",")
            ));
        }
        match &header {
            None => header = Some((name.clone(), h)),
            Some((first, fh)) if *fh != h => {
                return err(format!(
                    "{name}: its header differs from {first}'s: the shards come from different sweeps\n  {first}: {}\n  {name}: {}",
                    show(fh),
                    show(&h)
                ));
            }
            Some(_) => {}
        }
        let mut last_run: Option<u64> = None;
        for (line, rec) in rdr.byte_records().enumerate() {
            let rec = rec.map_err(|e| SweepError(vec![format!("{name}: {e}")]))?;
            let field = |i: usize| -> Result<u64, SweepError> {
                std::str::from_utf8(rec.get(i).unwrap_or_default())
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| {
                        SweepError(vec![format!(
                            "{name}: row {}: {} is not a non-negative integer",
                            line + 1,
                            SHARD_COLUMNS[i]
                        )])
                    })
            };
            let (ri, rc) = (field(0)?, field(1)?);
            match &run_count {
                None => run_count = Some((name.clone(), rc)),
                Some((first, c)) if *c != rc => {
                    return err(format!(
                        "{name}: run_count {rc} differs from {first}'s {c}: the shards come from different sweeps"
                    ));
                }
                Some(_) => {}
            }
            if ri >= rc {
                return err(format!("{name}: row {}: run_index {ri} >= run_count {rc}", line + 1));
            }
            let entry = runs.entry(ri).or_insert_with(|| (name.clone(), Vec::new()));
            if entry.0 != *name || (last_run != Some(ri) && !entry.1.is_empty()) {
                return err(format!(
                    "run {ri} appears more than once (in {} and {name}): was a shard merged twice?",
                    entry.0
                ));
            }
            last_run = Some(ri);
            entry.1.push(rec.iter().skip(SHARD_COLUMNS.len()).collect());
        }
    }
    let (_, header) = header.expect("at least one input");
    if let Some((_, count)) = run_count {
        let missing: Vec<u64> = (0..count).filter(|r| !runs.contains_key(r)).collect();
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().take(10).map(u64::to_string).collect();
            return err(format!(
                "{} of {count} runs missing (runs {}{}): is a shard file missing or incomplete?",
                missing.len(),
                list.join(", "),
                if missing.len() > 10 { ", ..." } else { "" }
            ));
        }
    }
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    let io = |e: csv::Error| SweepError(vec![format!("merge: {e}")]);
    w.write_byte_record(&header.iter().skip(SHARD_COLUMNS.len()).collect())
        .map_err(io)?;
    for (_, (_, rows)) in runs {
        for r in rows {
            w.write_byte_record(&r).map_err(io)?;
        }
    }
    w.into_inner().map_err(|e| SweepError(vec![format!("merge: {e}")]))
}

// ---------------------------------------------------------------------------
// Running shards on Kubernetes.

/// Options echoed into every shard's command line.
pub struct IndexedJob<'a> {
    pub scenario: &'a str,
    pub scenario_name: &'a str,
    pub seeds: &'a str,
    pub sets: &'a [String],
    pub jobs: Option<usize>,
    pub shards: u64,
}

/// A `batch/v1` Indexed Job whose pod `i` runs `sweep ... --shard i/N`, writing
/// `/results/shard-i.csv` on the PersistentVolumeClaim `jobset-sim-results`.
pub fn indexed_job_manifest(j: &IndexedJob<'_>) -> String {
    let q = |s: &str| serde_json::to_string(s).expect("string serializes");
    let n = j.shards;
    let mut args: Vec<String> = vec!["sweep".into(), j.scenario.into(), "--seeds".into(), j.seeds.into()];
    for s in j.sets {
        args.push("--set".into());
        args.push(s.clone());
    }
    if let Some(jobs) = j.jobs {
        args.push("--jobs".into());
        args.push(jobs.to_string());
    }
    args.extend([
        "--shard".into(),
        format!("$(JOB_COMPLETION_INDEX)/{n}"),
        "--out".into(),
        "/results/shard-$(JOB_COMPLETION_INDEX).csv".into(),
        "--quiet".into(),
    ]);
    let mut name = format!("jobset-sim-sweep-{}", j.scenario_name);
    name.truncate(52);
    let name = name.trim_end_matches('-');
    let args_yaml: String = args.iter().map(|a| format!("        - {}\n", q(a))).collect();
    format!(
        "# A Kubernetes Indexed Job that runs this sweep as {n} shards, one per pod:
# pod i runs `jobset-sim sweep ... --shard i/{n}` and writes /results/shard-i.csv.
# Before applying it:
#   - build an image with the jobset-sim binary on PATH and the scenario (and the
#     manifests it names) at the path below, relative to the working directory,
#     and put its name in place of the placeholder `jobset-sim:latest`;
#   - create a ReadWriteMany PersistentVolumeClaim `jobset-sim-results` for /results.
# When the Job completes, join the shards (the bytes equal a single-machine sweep):
#   jobset-sim merge /results/shard-*.csv --out results.csv
apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
  completionMode: Indexed
  completions: {n}
  parallelism: {n}
  backoffLimit: {n}
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: sweep
        image: jobset-sim:latest
        command: [\"jobset-sim\"]
        args:
{args_yaml}        env:
        - name: JOB_COMPLETION_INDEX
          valueFrom:
            fieldRef:
              fieldPath: metadata.annotations['batch.kubernetes.io/job-completion-index']
        volumeMounts:
        - name: results
          mountPath: /results
      volumes:
      - name: results
        persistentVolumeClaim:
          claimName: jobset-sim-results
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_ranges() {
        assert_eq!(parse_seeds("0..3").unwrap(), Seeds { start: 0, end: 3 });
        assert_eq!(parse_seeds("2..=4").unwrap(), Seeds { start: 2, end: 5 });
        assert_eq!(parse_seeds("7").unwrap(), Seeds { start: 7, end: 8 });
        assert!(parse_seeds("3..3").is_err());
        assert!(parse_seeds("a..3").is_err());
        assert!(parse_seeds("1-3").is_err());
    }

    #[test]
    fn shards_are_checked() {
        assert_eq!(parse_shard("1/3").unwrap(), Shard { index: 1, count: 3 });
        assert!(parse_shard("3/3").is_err());
        assert!(parse_shard("0/0").is_err());
        assert!(parse_shard("x").is_err());
    }

    #[test]
    fn paths_and_values_parse() {
        let s = parse_set("jobsets[0].spec.replicatedJobs[1].replicas=1, 2").unwrap();
        assert_eq!(
            s.segs,
            vec![
                Seg::Key("jobsets".into()),
                Seg::Index(0),
                Seg::Key("spec".into()),
                Seg::Key("replicatedJobs".into()),
                Seg::Index(1),
                Seg::Key("replicas".into()),
            ]
        );
        assert_eq!(s.values[0], ("1".to_string(), serde_json::json!(1)));
        assert_eq!(s.values[1].0, "2");
        let s = parse_set("cluster.nodePools[0].labels.\"example.com/x\"=a,true,10m,[1,2]").unwrap();
        assert_eq!(s.segs[4], Seg::Key("example.com/x".into()));
        assert_eq!(format_path(&s.segs), "cluster.nodePools[0].labels.example.com/x");
        let v: Vec<Value> = s.values.into_iter().map(|v| v.1).collect();
        assert_eq!(
            v,
            vec![
                serde_json::json!("a"),
                serde_json::json!(true),
                serde_json::json!("10m"),
                serde_json::json!([1, 2])
            ]
        );
        assert!(parse_set("timing.podStartup").is_err());
        assert!(parse_set("timing..podStartup=1s").is_err());
        assert!(parse_set("[0]=1").is_err());
        assert!(parse_set("a=1,,2").is_err());
        assert!(parse_set("a=1,1").is_err());
    }

    #[test]
    fn set_value_creates_mappings_and_reports_where_it_began() {
        let mut v = serde_json::json!({"a": {"b": [1, {"c": 2}]}});
        let segs = parse_path("a.b[1].d.e").unwrap();
        assert_eq!(set_value(&mut v, &segs, serde_json::json!(3)), Ok(3));
        assert_eq!(v["a"]["b"][1]["d"]["e"], 3);
        let segs = parse_path("a.b[1].c").unwrap();
        assert_eq!(set_value(&mut v, &segs, serde_json::json!(5)), Ok(4));
        assert_eq!(
            set_value(&mut v, &parse_path("a.b[5]").unwrap(), Value::Null),
            Err((2, "has 2 items, so index 5 is out of range".into()))
        );
        assert!(set_value(&mut v, &parse_path("a.x[0]").unwrap(), Value::Null).is_err());
        assert!(set_value(&mut v, &parse_path("a.b.c").unwrap(), Value::Null).is_err());
    }
}
