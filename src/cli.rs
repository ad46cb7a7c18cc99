//! The command line: `run`, `check`, `validate`, `explain`, `sweep`, `merge`. Only this module touches the
//! outside world (files, stdout/stderr, wall-clock timing for the user).

use crate::scenario::{LoadError, Scenario, load_file};
use crate::sim::{RunOptions, StopReason, World};
use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "jobset-sim",
    version,
    about = "Deterministic discrete-event simulator of Kubernetes JobSet",
    long_about = "jobset-sim runs a scenario (a cluster, JobSet manifests, what their containers do, \
faults, and expectations) through a simulated API server, Job controller, scheduler and kubelets \
driving a faithful re-implementation of the JobSet controller. The same scenario and seed give a \
byte-identical trace on any machine.\n\nExit codes: 0 success, 1 an expectation failed, 2 bad input.",
    after_help = "Examples:\n  jobset-sim run scenarios/quickstart.yaml\n  jobset-sim run scenarios/quickstart.yaml --seed 7 --trace trace.jsonl\n  jobset-sim check scenarios/\n  jobset-sim explain scenarios/node-failure-default.yaml --jobset train\n  jobset-sim validate ../shared/upstream-examples/simple/*.yaml --print-defaulted\n  jobset-sim sweep scenarios/quickstart.yaml --seeds 0..100 --set timing.podStartup=30s,2m --out results.csv"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a scenario and print a summary per JobSet.
    Run {
        /// The scenario file (YAML).
        scenario: PathBuf,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Write the trace (JSON Lines, one event per line) to this file.
        #[arg(long)]
        trace: Option<PathBuf>,
        /// Summary format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Check every invariant after every event (slower); a violation stops the run, exit 1.
        #[arg(long)]
        check_invariants: bool,
        /// Run the scenario twice in this process, in lockstep, and compare the traces event by
        /// event; if they differ, print the first differing event of each run and exit 1.
        #[arg(long, conflicts_with = "trace")]
        check_determinism: bool,
    },
    /// Run scenarios (files or folders of *.yaml) and check their `expect` blocks; exit 1 if any fails.
    Check {
        /// Scenario files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Override every scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Also write the results as JUnit XML (one test suite per scenario file, one test case
        /// per expectation) for CI systems.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
    /// Admit JobSet manifests like the API server and webhook do; print errors, or the defaulted object.
    Validate {
        /// Manifest files (multi-document YAML allowed). Non-JobSet documents are reported as skipped.
        #[arg(required = true)]
        manifests: Vec<PathBuf>,
        /// Print each admitted JobSet as stored (after defaulting), as YAML-compatible JSON.
        #[arg(long)]
        print_defaulted: bool,
        /// Feature gates, e.g. `RestartJob=true,InPlaceRestart=true` (default: upstream's, all alpha off).
        #[arg(long, value_name = "GATES")]
        feature_gates: Option<String>,
        /// List every field kept but not simulated.
        #[arg(long)]
        verbose: bool,
        /// Also run each admitted JobSet to a terminal state on a cluster sized to fit it
        /// (one node per pod, with the labels its nodeSelectors ask for), with the default
        /// workload (every container runs 1 minute and exits 0).
        #[arg(long)]
        run: bool,
    },
    /// Run a scenario and explain, in time order, each failure that reached a JobSet: the Job and
    /// pods it came from, which failure-policy rule matched (and why earlier ones did not), the
    /// action and the resulting restart counters, then the terminal state.
    Explain {
        /// The scenario file (YAML).
        scenario: PathBuf,
        /// The JobSet to explain: NAME, or NAMESPACE/NAME when the name is in several namespaces.
        #[arg(long, value_name = "NAME")]
        jobset: String,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Run a scenario for every seed × parameter point in parallel; write one CSV row per JobSet per run.
    #[command(
        long_about = "Run a scenario for every seed × parameter point in parallel (one single-threaded \
simulation per run, --jobs at a time) and write one CSV row per JobSet per run: the --set values, \
seed, jobset, terminal_state, restarts, restarts_count_towards_max, completion_ms, goodput_ppm, \
lost_work_ms, events, trace_hash. Rows are in run order (parameter point, then seed, then JobSet \
name), so the file is byte-identical for any --jobs.\n\n\
--set PATH=V1,V2,... addresses a scenario field (timing.podStartup, cluster.nodePools[0].count) or, \
after jobsets[i], a field of that submission's JobSet manifest, inline or from a manifest file \
(jobsets[0].spec.failurePolicy.maxRestarts). Values are YAML (3 is a number, true a boolean, 10m a \
string); a key holding dots is quoted (labels.\"example.com/x\"). The grid is the cartesian product \
of all --set values, the first --set varying slowest. Every grid point is parsed before any run: \
an unknown field or a bad value is reported with its --set path (exit 2).\n\n\
--shard I/N runs the runs whose number is I mod N and writes a shard file (two extra leading \
columns, run_index and run_count); `jobset-sim merge` joins the shard files into the bytes the \
unsharded sweep writes. --emit-indexed-job N prints a Kubernetes Indexed Job that runs N shards.",
        after_help = "Examples:\n  \
jobset-sim sweep scenarios/quickstart.yaml --seeds 0..100 --out results.csv\n  \
jobset-sim sweep scenarios/quickstart.yaml --seeds 0..10 \\\n      \
--set 'jobsets[0].spec.replicatedJobs[1].replicas=1,2' --set timing.podStartup=30s,2m --out results.csv\n  \
jobset-sim sweep scenarios/quickstart.yaml --seeds 0..=999 --shard 0/4 --out shard-0.csv\n  \
jobset-sim sweep scenarios/quickstart.yaml --seeds 0..1000 --emit-indexed-job 8 > sweep-job.yaml"
    )]
    Sweep {
        /// The scenario file (YAML).
        scenario: PathBuf,
        /// Seeds: A..B (A to B-1), A..=B (A to B), or one seed N.
        #[arg(long, value_name = "A..B")]
        seeds: String,
        /// A parameter and its values, PATH=V1,V2,... (repeatable; the grid is their cartesian product).
        #[arg(long = "set", value_name = "PATH=V1,V2")]
        sets: Vec<String>,
        /// Runs at a time (default: the available CPUs). The CSV does not depend on it.
        #[arg(long, value_name = "N")]
        jobs: Option<usize>,
        /// The CSV file to write.
        #[arg(long, value_name = "FILE", required_unless_present = "emit_indexed_job")]
        out: Option<PathBuf>,
        /// Run only the runs whose number is I mod N; writes a shard file for `merge`.
        #[arg(long, value_name = "I/N", conflicts_with = "emit_indexed_job")]
        shard: Option<String>,
        /// Print a Kubernetes Indexed Job manifest that runs this sweep as N shards, and exit.
        #[arg(long, value_name = "N", conflicts_with = "out")]
        emit_indexed_job: Option<u64>,
        /// No progress bar (it is also hidden when stderr is not a terminal).
        #[arg(long, short)]
        quiet: bool,
    },
    /// Join shard CSVs from `sweep --shard` into the CSV the unsharded sweep writes.
    #[command(
        long_about = "Join the shard CSVs written by `sweep --shard I/N` into the file a single \
`sweep` without --shard writes, byte for byte. The headers must match and every run must appear \
in exactly one file; a missing or duplicated run is an error (exit 2).",
        after_help = "Example:\n  \
for i in 0 1 2; do jobset-sim sweep scenarios/quickstart.yaml --seeds 0..30 --shard $i/3 --out shard-$i.csv; done\n  \
jobset-sim merge shard-*.csv --out results.csv"
    )]
    Merge {
        /// Shard files (any order).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// The merged CSV file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Runs the CLI; returns the process exit code.
pub fn main_with(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Run {
            scenario,
            seed,
            trace,
            format,
            check_invariants,
            check_determinism,
        } => {
            if check_determinism {
                cmd_run_twice(&scenario, seed, format, check_invariants)
            } else {
                cmd_run(&scenario, seed, trace.as_deref(), format, check_invariants)
            }
        }
        Command::Check { paths, seed, junit } => cmd_check(&paths, seed, junit.as_deref()),
        Command::Validate {
            manifests,
            print_defaulted,
            feature_gates,
            verbose,
            run,
        } => cmd_validate(&manifests, print_defaulted, feature_gates.as_deref(), verbose, run),
        Command::Explain { scenario, jobset, seed } => cmd_explain(&scenario, &jobset, seed),
        Command::Sweep {
            scenario,
            seeds,
            sets,
            jobs,
            out,
            shard,
            emit_indexed_job,
            quiet,
        } => cmd_sweep(SweepArgs {
            scenario,
            seeds,
            sets,
            jobs,
            out,
            shard,
            emit_indexed_job,
            quiet,
        }),
        Command::Merge { inputs, out } => cmd_merge(&inputs, &out),
    }
}

struct SweepArgs {
    scenario: PathBuf,
    seeds: String,
    sets: Vec<String>,
    jobs: Option<usize>,
    out: Option<PathBuf>,
    shard: Option<String>,
    emit_indexed_job: Option<u64>,
    quiet: bool,
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("{msg}");
    ExitCode::from(2)
}

fn cmd_sweep(a: SweepArgs) -> ExitCode {
    use crate::sweep;
    let seeds = match sweep::parse_seeds(&a.seeds) {
        Ok(s) => s,
        Err(e) => return fail(format!("error: {e}")),
    };
    let shard = match a.shard.as_deref().map(sweep::parse_shard).transpose() {
        Ok(s) => s,
        Err(e) => return fail(format!("error: {e}")),
    };
    if a.jobs == Some(0) {
        return fail("error: --jobs: expected at least 1");
    }
    let mut sets = Vec::new();
    for s in &a.sets {
        match sweep::parse_set(s) {
            Ok(s) => sets.push(s),
            Err(e) => return fail(format!("error: {e}")),
        }
    }
    let plan = match sweep::prepare(&a.scenario, sets, seeds) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    if let Some(n) = a.emit_indexed_job {
        if n == 0 {
            return fail("error: --emit-indexed-job: expected at least 1 shard");
        }
        let name = plan.points.first().map(|p| p.scenario.name.clone()).unwrap_or_default();
        print!(
            "{}",
            sweep::indexed_job_manifest(&sweep::IndexedJob {
                scenario: &a.scenario.display().to_string(),
                scenario_name: &name,
                seeds: &a.seeds,
                sets: &a.sets,
                jobs: a.jobs,
                shards: n,
            })
        );
        return ExitCode::SUCCESS;
    }
    let out_path = a.out.expect("clap requires --out without --emit-indexed-job");
    // Create the output first so a bad path fails before the runs.
    let file = match std::fs::File::create(&out_path) {
        Ok(f) => f,
        Err(e) => return fail(format!("error: cannot create {}: {e}", out_path.display())),
    };
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let runs = plan.runs_of(shard);
    let bar = progress_bar(runs.len() as u64, a.quiet);
    let started = std::time::Instant::now();
    let results = match plan.run(&runs, jobs, &|| bar.inc(1)) {
        Ok(r) => r,
        Err(e) => return fail(format!("error: {e}")),
    };
    bar.finish_and_clear();
    if let Err(e) = plan.write_csv(std::io::BufWriter::new(file), &results, shard.is_some()) {
        return fail(format!("error: writing {} failed: {e}", out_path.display()));
    }
    let rejected: Vec<&crate::sweep::RunResult> = results
        .iter()
        .filter(|r| r.rows.iter().any(|row| row.terminal_state == "Rejected"))
        .collect();
    if let Some(first) = rejected.first() {
        let point = &plan.points[first.point];
        let with: Vec<String> = plan
            .sets
            .iter()
            .zip(&point.values)
            .map(|(s, v)| format!("{}={v}", s.path))
            .collect();
        eprintln!(
            "warning: in {} of {} runs a JobSet was rejected at admission (terminal_state Rejected), \
first with {}; see why with `jobset-sim run` on a scenario with those values",
            rejected.len(),
            runs.len(),
            if with.is_empty() {
                "the scenario as written".into()
            } else {
                with.join(" ")
            }
        );
    }
    if !a.quiet {
        let rows: usize = results.iter().map(|r| r.rows.len()).sum();
        eprintln!(
            "{} runs ({} parameter points × {} seeds{}) in {:.1} s on {jobs} threads; {rows} rows written to {}",
            runs.len(),
            plan.points.len(),
            plan.seeds.len(),
            shard
                .map(|s| format!(", shard {}/{}", s.index, s.count))
                .unwrap_or_default(),
            started.elapsed().as_secs_f64(),
            out_path.display()
        );
    }
    ExitCode::SUCCESS
}

/// A progress bar with ETA on stderr; hidden with `--quiet` or when stderr is not a terminal.
fn progress_bar(len: u64, quiet: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} runs (ETA {eta})")
    {
        bar.set_style(style);
    }
    bar
}

fn cmd_merge(inputs: &[PathBuf], out: &Path) -> ExitCode {
    let mut files = Vec::new();
    for p in inputs {
        match std::fs::read(p) {
            Ok(b) => files.push((p.display().to_string(), b)),
            Err(e) => return fail(format!("error: {}: cannot read: {e}", p.display())),
        }
    }
    let bytes = match crate::sweep::merge(&files) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    if let Err(e) = std::fs::write(out, bytes) {
        return fail(format!("error: cannot write {}: {e}", out.display()));
    }
    ExitCode::SUCCESS
}

fn bad_input(e: &LoadError) -> ExitCode {
    eprintln!("{e}");
    ExitCode::from(2)
}

/// Per-JobSet summary, for text and JSON output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSetSummary {
    pub namespace: String,
    pub name: String,
    pub terminal_state: String,
    pub finished_at_ms: Option<u64>,
    pub restarts: i32,
    pub restarts_count_towards_max: i32,
    pub cause: Option<String>,
    pub rejected: Option<String>,
    /// Training model (when the scenario has one for this JobSet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training: Option<TrainingSummary>,
    /// Queue admission (when the JobSet named a queue and the scenario has queues).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueSummary>,
}

/// How a queued JobSet fared in its queue (times in ms).
#[derive(Debug, Serialize, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct QueueSummary {
    pub queue: String,
    pub cluster_queue: Option<String>,
    pub admitted_at_ms: Option<u64>,
    /// Time spent waiting for quota (every wait summed; up to the end of the run if still waiting).
    pub waited_ms: u64,
    pub admissions: u32,
    pub evictions: u32,
    /// Why it is not admitted (Kueue's QuotaReserved=False reason and message), if it is not.
    pub pending: Option<String>,
}

/// Completion, lost work and goodput of a training JobSet (integers: ms and ppm).
#[derive(Debug, Serialize, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TrainingSummary {
    pub work_ms: u64,
    pub progress_ms: u64,
    pub lost_work_ms: u64,
    pub checkpoints: u64,
    /// Useful progress per elapsed time since submission, parts per million.
    pub goodput_ppm: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub scenario: String,
    pub seed: u64,
    pub end_ms: u64,
    pub stop: String,
    pub events: u64,
    pub trace_events: u64,
    pub trace_hash: String,
    pub jobsets: Vec<JobSetSummary>,
    /// The broken invariant that stopped the run, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invariant_violation: Option<String>,
}

/// Runs a loaded scenario; the world is returned for inspection.
pub fn run_scenario(sc: Arc<Scenario>, opts: RunOptions) -> World {
    let mut w = World::new(sc, opts);
    w.run();
    w
}

pub fn summarize(w: &World) -> RunSummary {
    RunSummary {
        scenario: w.sc.name.clone(),
        seed: w.seed,
        end_ms: w.now,
        stop: match w.stop {
            Some(StopReason::Quiescent) | None => "quiescent".into(),
            Some(StopReason::Horizon) => "horizon".into(),
            Some(StopReason::MaxEvents) => "max-events".into(),
            Some(StopReason::Invariant(_)) => "invariant".into(),
        },
        events: w.events_processed,
        trace_events: w.trace.count,
        trace_hash: w.trace.hash.hex(),
        jobsets: w
            .history
            .iter()
            .map(|((ns, name), h)| JobSetSummary {
                namespace: ns.clone(),
                name: name.clone(),
                terminal_state: if h.terminal_state.is_empty() {
                    "None".into()
                } else {
                    h.terminal_state.clone()
                },
                finished_at_ms: h.finished_at,
                restarts: h.restarts,
                restarts_count_towards_max: h.restarts_count_towards_max,
                cause: h.cause.clone(),
                rejected: h.rejected.clone(),
                training: w.training.get(name).map(|t| {
                    let end = h.finished_at.unwrap_or(w.now);
                    let elapsed = end.saturating_sub(h.created).max(1);
                    TrainingSummary {
                        work_ms: w.sc.training[t.spec].work,
                        progress_ms: t.progress,
                        lost_work_ms: t.lost,
                        checkpoints: t.checkpoints,
                        goodput_ppm: ((u128::from(t.progress) * 1_000_000) / u128::from(elapsed)) as u64,
                    }
                }),
                queue: w.kueue.records.get(&(ns.clone(), name.clone())).map(|r| QueueSummary {
                    queue: r.queue.clone(),
                    cluster_queue: r.cluster_queue.clone(),
                    admitted_at_ms: r.first_admitted,
                    waited_ms: r.waited + r.waiting_since.map(|s| w.now.saturating_sub(s)).unwrap_or(0),
                    admissions: r.admissions,
                    evictions: r.evictions,
                    pending: r.pending.as_ref().map(|(reason, msg)| {
                        if r.never_fits {
                            format!("{reason}: {msg} (it can never fit the queue's nominal quota)")
                        } else {
                            format!("{reason}: {msg}")
                        }
                    }),
                }),
            })
            .collect(),
        invariant_violation: match &w.stop {
            Some(StopReason::Invariant(v)) => Some(v.to_string()),
            _ => None,
        },
    }
}

/// The one-line repro of a run with the invariant checker on.
pub fn invariant_repro(file: &Path, seed: u64) -> String {
    format!("jobset-sim run {} --seed {seed} --check-invariants", file.display())
}

fn print_text_summary(w: &World, s: &RunSummary) {
    use crate::units::format_duration as fd;
    println!(
        "scenario {} (seed {}): simulated {} in {} events; stopped: {}",
        s.scenario,
        s.seed,
        fd(s.end_ms),
        s.events,
        s.stop
    );
    for js in &s.jobsets {
        if let Some(r) = &js.rejected {
            println!("  {}: rejected at admission: {r}", js.name);
            continue;
        }
        let when = js.finished_at_ms.map(|t| format!(" at {}", fd(t))).unwrap_or_default();
        println!(
            "  {}: {}{when}; restarts {} ({} counted towards maxRestarts)",
            js.name, js.terminal_state, js.restarts, js.restarts_count_towards_max
        );
        if let Some(c) = &js.cause {
            println!("    cause: {c}");
        }
        if let Some(q) = &js.queue {
            let cq = q
                .cluster_queue
                .as_ref()
                .map(|c| format!(" (ClusterQueue {c})"))
                .unwrap_or_default();
            match q.admitted_at_ms {
                Some(t) => println!(
                    "    queue {}{cq}: admitted at {} after waiting {}; admissions {}, evictions {}",
                    q.queue,
                    fd(t),
                    fd(q.waited_ms),
                    q.admissions,
                    q.evictions
                ),
                None => println!("    queue {}{cq}: never admitted (waited {})", q.queue, fd(q.waited_ms)),
            }
            if let Some(p) = &q.pending {
                println!("    queue pending: {p}");
            }
        }
        if let Some(t) = &js.training {
            println!(
                "    training: {} of {} done, lost work {}, {} checkpoints, goodput {:.3}",
                fd(t.progress_ms),
                fd(t.work_ms),
                fd(t.lost_work_ms),
                t.checkpoints,
                t.goodput_ppm as f64 / 1e6
            );
        }
    }
    if w.stop == Some(StopReason::MaxEvents) {
        println!(
            "  warning: the run hit the event budget (maxEvents {}); it was stopped early",
            w.sc.max_events
        );
    }
    if w.stop == Some(StopReason::Horizon) {
        println!(
            "  note: the run reached its horizon ({}) with work still pending",
            fd(w.sc.horizon)
        );
    }
    println!("  trace: {} events, hash {}", s.trace_events, s.trace_hash);
}

fn open_trace(path: Option<&Path>) -> Result<Option<Box<dyn std::io::Write>>, String> {
    match path {
        None => Ok(None),
        Some(p) => std::fs::File::create(p)
            .map(|f| Some(Box::new(std::io::BufWriter::new(f)) as Box<dyn std::io::Write>))
            .map_err(|e| format!("error: cannot create trace file {}: {e}", p.display())),
    }
}

fn cmd_run(path: &Path, seed: Option<u64>, trace: Option<&Path>, format: Format, check_invariants: bool) -> ExitCode {
    let sc = match load_file(path) {
        Ok(s) => Arc::new(s),
        Err(e) => return bad_input(&e),
    };
    let writer = match open_trace(trace) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let started = std::time::Instant::now();
    let w = run_scenario(
        sc,
        RunOptions {
            seed,
            trace: writer,
            keep_trace: false,
            check_invariants,
            hash_thread: true,
        },
    );
    let wall = started.elapsed();
    if let Some(e) = &w.trace.write_error {
        eprintln!("error: writing the trace failed: {e}");
        return ExitCode::from(2);
    }
    let s = summarize(&w);
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&s).expect("summary serializes")),
        Format::Text => {
            print_text_summary(&w, &s);
            eprintln!("  wall time: {:.3} ms", wall.as_secs_f64() * 1000.0);
        }
    }
    if let Some(StopReason::Invariant(v)) = &w.stop {
        eprintln!("error: {v}");
        eprintln!("  repro: {}", invariant_repro(path, w.seed));
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// `run --check-determinism`: two runs in lockstep; the summary is the first run's.
fn cmd_run_twice(path: &Path, seed: Option<u64>, format: Format, check_invariants: bool) -> ExitCode {
    let sc = match load_file(path) {
        Ok(s) => Arc::new(s),
        Err(e) => return bad_input(&e),
    };
    let started = std::time::Instant::now();
    let r = crate::determinism::check(sc, seed, check_invariants);
    let wall = started.elapsed();
    let s = summarize(&r.first);
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&s).expect("summary serializes")),
        Format::Text => print_text_summary(&r.first, &s),
    }
    if let Some(d) = &r.divergence {
        eprintln!("error: determinism check failed: {d}");
        eprintln!(
            "  repro: jobset-sim run {} --seed {} --check-determinism",
            path.display(),
            r.first.seed
        );
        return ExitCode::from(1);
    }
    eprintln!(
        "  determinism: 2 runs, {} trace events compared, identical (hash {}); wall time {:.3} ms",
        r.compared,
        s.trace_hash,
        wall.as_secs_f64() * 1000.0
    );
    if let Some(StopReason::Invariant(v)) = &r.first.stop {
        eprintln!("error: {v}");
        eprintln!("  repro: {}", invariant_repro(path, r.first.seed));
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

fn cmd_explain(path: &Path, jobset: &str, seed: Option<u64>) -> ExitCode {
    let sc = match load_file(path) {
        Ok(s) => Arc::new(s),
        Err(e) => return bad_input(&e),
    };
    let w = run_scenario(
        sc,
        RunOptions {
            seed,
            trace: None,
            keep_trace: true,
            check_invariants: false,
            hash_thread: false,
        },
    );
    match crate::explain::explain(&w, jobset) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            ExitCode::from(2)
        }
    }
}

/// Expands folders to their `*.yaml`/`*.yml` files, sorted.
fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut list: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("error: cannot read folder {}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            list.sort();
            out.extend(list);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn cmd_check(paths: &[PathBuf], seed: Option<u64>, junit: Option<&Path>) -> ExitCode {
    let files = match scenario_files(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut suites = Vec::new();
    for f in files {
        let started = std::time::Instant::now();
        let suite = check_one(&f, seed);
        suites.push((suite, started.elapsed().as_secs_f64()));
    }
    let bad = suites.iter().any(|(s, _)| s.load_error.is_some());
    let failed = suites.iter().filter(|(s, _)| s.failed()).count();
    let passed = suites.len() - failed - suites.iter().filter(|(s, _)| s.load_error.is_some()).count();
    println!("{passed} passed, {failed} failed");
    if let Some(out) = junit
        && let Err(e) = std::fs::write(out, crate::junit::render(&suites))
    {
        eprintln!("error: cannot write JUnit file {}: {e}", out.display());
        return ExitCode::from(2);
    }
    if bad {
        ExitCode::from(2)
    } else if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs one scenario file with invariants on and prints its outcome lines.
fn check_one(f: &Path, seed: Option<u64>) -> crate::junit::Suite {
    let mut suite = crate::junit::Suite {
        name: f.display().to_string(),
        ..Default::default()
    };
    let sc = match load_file(f) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("{e}");
            suite.load_error = Some(e.to_string());
            return suite;
        }
    };
    let w = run_scenario(
        sc,
        RunOptions {
            seed,
            trace: None,
            keep_trace: false,
            check_invariants: true,
            hash_thread: false,
        },
    );
    suite.seed = w.seed;
    suite.trace_hash = w.trace.hash.hex();
    if let Some(StopReason::Invariant(v)) = &w.stop {
        println!("FAIL {}: invariant {}", f.display(), v.invariant);
        eprintln!("error: {}: {v}", f.display());
        suite.repro = invariant_repro(f, w.seed);
        eprintln!("  repro: {}", suite.repro);
        suite.invariant = Some(v.to_string());
        return suite;
    }
    suite.repro = format!("jobset-sim run {} --seed {}", f.display(), w.seed);
    let outcomes = &w.expect.outcomes;
    if outcomes.is_empty() {
        println!(
            "{}: no expectations (ran to {})",
            f.display(),
            crate::units::format_duration(w.now)
        );
    }
    for o in outcomes {
        println!(
            "{} {}: {}: {}",
            if o.ok { "ok  " } else { "FAIL" },
            f.display(),
            o.path,
            o.message
        );
        suite.cases.push(crate::junit::Case {
            name: o.path.clone(),
            message: o.message.clone(),
            ok: o.ok,
        });
    }
    println!(
        "     {}: seed {}, trace hash {}",
        f.display(),
        suite.seed,
        suite.trace_hash
    );
    if suite.failed() {
        println!("  repro: {}", suite.repro);
    }
    suite
}

fn parse_gate_flag(s: Option<&str>) -> Result<crate::scenario::Gates, String> {
    let mut m = serde_json::Map::new();
    if let Some(s) = s {
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("error: --feature-gates: expected NAME=true|false, found \"{part}\""))?;
            let b = match v.trim() {
                "true" => true,
                "false" => false,
                other => {
                    return Err(format!(
                        "error: --feature-gates: {k}: expected true or false, found \"{other}\""
                    ));
                }
            };
            m.insert(k.trim().to_string(), serde_json::Value::Bool(b));
        }
    }
    let v = serde_json::Value::Object(m);
    let mut d = crate::input::Diags::default();
    let g = crate::scenario::parse::parse_gates(crate::input::Obj::new("--feature-gates", &v, &mut d), &mut d);
    if d.has_errors() {
        return Err(d
            .errors
            .iter()
            .map(|e| format!("error: {e}"))
            .collect::<Vec<_>>()
            .join("\n"));
    }
    Ok(g)
}

fn cmd_validate(files: &[PathBuf], print: bool, gates: Option<&str>, verbose: bool, run: bool) -> ExitCode {
    let g = match parse_gate_flag(gates) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let fg = crate::admission::FeatureGates {
        restart_job: g.restart_job,
        in_place_restart: g.in_place_restart,
        elastic_jobset: g.elastic_jobset,
    };
    let mut bad_input = false;
    let mut rejected = 0;
    let mut not_terminal = 0;
    let classes = priority_classes_in(files);
    let queues = queues_in(files);
    for f in files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {}: cannot read: {e}", f.display());
                bad_input = true;
                continue;
            }
        };
        let docs = match crate::input::parse_yaml_documents(&text) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("error: {}: {e}", f.display());
                bad_input = true;
                continue;
            }
        };
        for (i, doc) in docs.iter().enumerate() {
            let kind = doc.get("kind").and_then(|k| k.as_str()).unwrap_or("(no kind)");
            let name = doc.pointer("/metadata/name").and_then(|k| k.as_str()).unwrap_or("");
            let loc = if docs.len() > 1 {
                format!("{}#{i}", f.display())
            } else {
                f.display().to_string()
            };
            if crate::scenario::kueue::is_kueue_doc(doc) {
                let mut one = crate::scenario::kueue::QueueConfig::default();
                let mut d = crate::input::Diags::default();
                crate::scenario::kueue::parse_kueue_doc(&loc, doc, &mut one, &mut d);
                if d.has_errors() {
                    for e in &d.errors {
                        eprintln!("error: {loc}: {e}");
                    }
                    bad_input = true;
                    continue;
                }
                println!("{loc}: {}", describe_queue_doc(kind, name, &one));
                report_not_simulated(&d.not_simulated, verbose);
                continue;
            }
            if kind != "JobSet" {
                if kind == "PriorityClass" {
                    println!("{loc}: PriorityClass {name} (not a JobSet; used for pod priorities by --run)");
                } else {
                    println!("{loc}: skipped {kind} {name} (not a JobSet; not simulated)");
                }
                continue;
            }
            let mut d = crate::input::Diags::default();
            let parsed = crate::api::JobSet::parse(doc, &mut d);
            if d.has_errors() || parsed.is_none() {
                for e in &d.errors {
                    eprintln!("error: {loc}: {e}");
                }
                bad_input = true;
                continue;
            }
            let mut js = parsed.expect("checked");
            let manifest = js.clone(); // as written: `--run` submits it again through admission
            match crate::admission::admit_create(&mut js, &fg, &|_, _| None) {
                Ok(()) => {
                    println!("{loc}: JobSet {} admitted", js.metadata.name);
                    for w in d
                        .warnings
                        .iter()
                        .map(|w| w.to_string())
                        .chain(crate::admission::warnings(&js))
                    {
                        println!("  warning: {w}");
                    }
                    report_not_simulated(&d.not_simulated, verbose);
                    if print {
                        println!("{}", serde_json::to_string_pretty(&js.to_value()).expect("serializes"));
                    }
                    if run {
                        let mut sc = fitted_scenario(&manifest, g, &loc, &classes);
                        if queues.enabled() {
                            sc.cluster.queues = queues.clone();
                        }
                        let sc = Arc::new(sc);
                        let w = run_scenario(sc, RunOptions::default());
                        let s = summarize(&w);
                        for j in &s.jobsets {
                            let when = j
                                .finished_at_ms
                                .map(crate::units::format_duration)
                                .unwrap_or_else(|| "-".into());
                            println!(
                                "  run: {} {} at {when} (restarts {}, trace hash {})",
                                j.name, j.terminal_state, j.restarts, s.trace_hash
                            );
                            if j.terminal_state == "None" {
                                not_terminal += 1;
                            }
                        }
                    }
                }
                Err(r) => {
                    rejected += 1;
                    println!("{loc}: JobSet {} rejected: {}", js.metadata.name, r.message);
                }
            }
        }
    }
    if bad_input {
        ExitCode::from(2)
    } else if rejected > 0 || not_terminal > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Says which valid Kubernetes fields were kept but not simulated (grouped by field name).
fn report_not_simulated(paths: &[String], verbose: bool) {
    if paths.is_empty() {
        return;
    }
    if verbose {
        for p in paths {
            println!("  not simulated (kept): {p}");
        }
        return;
    }
    let mut names: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for p in paths {
        let last = p.rsplit('.').next().unwrap_or(p).to_string();
        *names.entry(last).or_default() += 1;
    }
    let list: Vec<String> = names
        .iter()
        .map(|(n, c)| if *c > 1 { format!("{n} (x{c})") } else { n.clone() })
        .collect();
    println!("  not simulated (kept as written): {}", list.join(", "));
}

/// A scenario that runs one manifest on a cluster sized to fit it: one node per
/// pod, labelled with every nodeSelector the templates use, with room for the
/// largest per-pod request of every resource.
pub fn fitted_scenario(
    js: &crate::api::JobSet,
    gates: crate::scenario::Gates,
    source: &str,
    extra_classes: &std::collections::BTreeMap<String, i32>,
) -> Scenario {
    use crate::scenario::*;
    use std::collections::BTreeMap;
    let mut labels = BTreeMap::new();
    let mut capacity: BTreeMap<String, i128> = BTreeMap::new();
    let mut pods: u64 = 0;
    for rj in &js.spec.replicated_jobs {
        let spec = &rj.template.spec;
        let per_job = spec.parallelism.unwrap_or(1).max(0) as u64;
        pods += per_job * rj.replicas.unwrap_or(1).max(0) as u64;
        labels.extend(spec.template.spec.node_selector.clone());
        for (k, v) in spec.template.spec.effective_requests() {
            let e = capacity.entry(k).or_default();
            *e = (*e).max(v);
        }
    }
    // Exclusive placement: one topology domain per child Job, each as large as the largest Job.
    let mut topology = Vec::new();
    let exclusive = |a: &crate::api::Labels| a.get(crate::api::constants::EXCLUSIVE_KEY).cloned();
    let keys: std::collections::BTreeSet<String> = exclusive(&js.metadata.annotations)
        .into_iter()
        .chain(
            js.spec
                .replicated_jobs
                .iter()
                .filter_map(|rj| exclusive(&rj.template.metadata.annotations)),
        )
        .collect();
    if !keys.is_empty() {
        let per = js
            .spec
            .replicated_jobs
            .iter()
            .map(|rj| rj.template.spec.parallelism.unwrap_or(1).max(1) as u64)
            .max()
            .unwrap_or(1);
        let jobs: u64 = js
            .spec
            .replicated_jobs
            .iter()
            .map(|rj| rj.replicas.unwrap_or(1).max(0) as u64)
            .sum();
        pods = pods.max(jobs * per);
        topology = keys.into_iter().map(|k| (k, per as u32)).collect();
    }
    // Node-selector strategy: the operator pre-labels one node group per Job
    // (`alpha.jobset.sigs.k8s.io/namespaced-job=<ns>_<job>`, plus the topology key).
    let mut job_pools: Vec<(String, u64, crate::api::Labels)> = Vec::new();
    for (i, rj) in js.spec.replicated_jobs.iter().enumerate() {
        let (_, ann) = crate::controllers::naming::job_metadata(js, i);
        let (Some(t), true) = (
            ann.get(crate::api::constants::EXCLUSIVE_KEY),
            ann.contains_key(crate::api::constants::NODE_SELECTOR_STRATEGY_KEY),
        ) else {
            continue;
        };
        let per = rj.template.spec.parallelism.unwrap_or(1).max(0) as u64;
        for j in 0..rj.replicas.unwrap_or(1).max(0) {
            let job = crate::controllers::naming::job_name(&js.metadata.name, &rj.name, j);
            let mut l = labels.clone();
            l.insert(
                crate::api::constants::NAMESPACED_JOB_KEY.into(),
                format!("{}_{job}", js.namespace()),
            );
            l.insert(t.clone(), job.clone());
            job_pools.push((job, per.max(1), l));
        }
    }
    let cpu = capacity.get("cpu").copied().unwrap_or(0).max(64_000);
    let memory = capacity
        .get("memory")
        .copied()
        .unwrap_or(0)
        .max(256 * (1i128 << 30) * 1000);
    capacity.insert("cpu".into(), cpu);
    capacity.insert("memory".into(), memory);
    capacity.insert("pods".into(), 110_000);
    Scenario {
        file: PathBuf::from(source),
        name: "fitted".into(),
        description: String::new(),
        seed: 0,
        horizon: 7 * 86_400_000,
        gates,
        cluster: Cluster {
            pools: std::iter::once(NodePool {
                name: "fit".into(),
                count: pods.clamp(1, 100_000) as u32,
                capacity: capacity.clone(),
                labels,
                taints: Vec::new(),
                topology,
            })
            .chain(job_pools.into_iter().map(|(name, count, labels)| NodePool {
                name,
                count: count.clamp(1, 100_000) as u32,
                capacity: capacity.clone(),
                labels,
                taints: Vec::new(),
                topology: Vec::new(),
            }))
            .collect(),
            queues: Default::default(),
            priority_classes: Vec::new(),
        },
        timing: Timing::default(),
        submissions: vec![Submission {
            at: 0,
            queue: None,
            source: source.into(),
            jobset: js.clone(),
        }],
        workload: Vec::new(),
        training: Vec::new(),
        faults: Vec::new(),
        random_faults: Vec::new(),
        expect: Vec::new(),
        hardship: None,
        skipped: Vec::new(),
        not_simulated: Vec::new(),
        max_events: 10_000_000,
        priority_classes: extra_classes.clone(),
        default_priority: 0,
    }
}

/// PriorityClass documents among the given files (for `validate --run`), plus the system classes.
fn priority_classes_in(files: &[PathBuf]) -> std::collections::BTreeMap<String, i32> {
    let mut out: std::collections::BTreeMap<String, i32> = [
        ("system-cluster-critical".to_string(), 2_000_000_000),
        ("system-node-critical".to_string(), 2_000_001_000),
    ]
    .into_iter()
    .collect();
    for f in files {
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        let Ok(docs) = crate::input::parse_yaml_documents(&text) else {
            continue;
        };
        for d in docs {
            if d.get("kind").and_then(|k| k.as_str()) == Some("PriorityClass")
                && let (Some(n), Some(v)) = (
                    d.pointer("/metadata/name").and_then(|v| v.as_str()),
                    d.get("value").and_then(|v| v.as_i64()),
                )
            {
                out.insert(n.to_string(), v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32);
            }
        }
    }
    out
}

/// Kueue queue definitions among the given files (for `validate --run`); documents with
/// errors are left out (they are reported when the file is validated).
fn queues_in(files: &[PathBuf]) -> crate::scenario::kueue::QueueConfig {
    let mut cfg = crate::scenario::kueue::QueueConfig::default();
    for f in files {
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        let Ok(docs) = crate::input::parse_yaml_documents(&text) else {
            continue;
        };
        for d in docs.iter().filter(|d| crate::scenario::kueue::is_kueue_doc(d)) {
            let mut one = cfg.clone();
            let mut diags = crate::input::Diags::default();
            crate::scenario::kueue::parse_kueue_doc(&f.display().to_string(), d, &mut one, &mut diags);
            if !diags.has_errors() {
                cfg = one;
            }
        }
    }
    cfg
}

/// One line on what `validate` understood of a Kueue document.
fn describe_queue_doc(kind: &str, name: &str, cfg: &crate::scenario::kueue::QueueConfig) -> String {
    let fmt_labels = |m: &std::collections::BTreeMap<String, String>| {
        m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
    };
    match kind {
        "ResourceFlavor" => {
            let labels = cfg.flavors.get(name).map(fmt_labels).unwrap_or_default();
            format!("ResourceFlavor {name} (queue definition; nodeLabels: {{{labels}}})")
        }
        "ClusterQueue" => {
            let Some(cq) = cfg.cluster_queue(name) else {
                return format!("ClusterQueue {name}");
            };
            let quotas: Vec<String> = cq
                .groups
                .iter()
                .flat_map(|g| &g.flavors)
                .flat_map(|f| {
                    f.quota.iter().map(move |(r, q)| {
                        format!(
                            "{r} {} in flavor {}",
                            crate::units::format_quantity(crate::units::Quantity(*q)),
                            f.name
                        )
                    })
                })
                .collect();
            format!(
                "ClusterQueue {name} (queue definition; {}, nominal quota: {})",
                cq.strategy.as_str(),
                quotas.join(", ")
            )
        }
        _ => match cfg.local_queues.first() {
            Some(lq) => format!(
                "LocalQueue {}/{name} (queue definition; admits to ClusterQueue {})",
                lq.namespace.as_deref().unwrap_or("default"),
                lq.cluster_queue
            ),
            None => format!("LocalQueue {name}"),
        },
    }
}
