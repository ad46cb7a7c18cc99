//! `sweep` and `merge` through the real binary: byte-identical CSV for any
//! `--jobs`, shards that merge into the unsharded bytes, and bad input (exit 2).

use crate::util::*;
use std::path::PathBuf;

/// A fresh temp folder for one test.
fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jobset-sim-sweep-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const REPLICAS: &str = "jobsets[0].spec.replicatedJobs[1].replicas=1,2";

/// Runs `sweep scenarios/quickstart.yaml --seeds 0..3 --set REPLICAS` plus `extra`, returns the CSV.
fn quickstart_sweep(dir: &std::path::Path, out: &str, extra: &[&str]) -> String {
    let path = dir.join(out);
    let mut args = vec![
        "sweep",
        "scenarios/quickstart.yaml",
        "--seeds",
        "0..3",
        "--set",
        REPLICAS,
        "--quiet",
        "--out",
        path.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = cli(&args);
    assert_eq!(o.code, 0, "{}", o.stderr);
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn sweep_csv_is_identical_for_any_jobs() {
    let dir = tmp("jobs");
    let one = quickstart_sweep(&dir, "one.csv", &["--jobs", "1"]);
    let two = quickstart_sweep(&dir, "two.csv", &["--jobs", "2"]);
    assert_eq!(one, two);
    let lines: Vec<&str> = one.lines().collect();
    assert_eq!(
        lines[0],
        "jobsets[0].spec.replicatedJobs[1].replicas,seed,jobset,terminal_state,restarts,\
restarts_count_towards_max,completion_ms,goodput_ppm,lost_work_ms,events,trace_hash"
    );
    // 2 points × 3 seeds, one JobSet each, in (point, seed) order.
    assert_eq!(lines.len(), 7, "{one}");
    let keys: Vec<(&str, &str)> = lines[1..]
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0], f[1])
        })
        .collect();
    assert_eq!(
        keys,
        [("1", "0"), ("1", "1"), ("1", "2"), ("2", "0"), ("2", "1"), ("2", "2")]
    );
    assert!(lines[1..].iter().all(|l| l.contains(",train,Completed,0,0,")), "{one}");
    // With the scenario's own value, a row's trace hash is the one `run` prints.
    let run = cli(&["run", "scenarios/quickstart.yaml", "--seed", "2", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(
        lines[3].ends_with(v["traceHash"].as_str().unwrap()),
        "{} vs {}",
        lines[3],
        v["traceHash"]
    );
}

#[test]
fn shards_merge_into_the_unsharded_csv() {
    let dir = tmp("shards");
    let all = quickstart_sweep(&dir, "all.csv", &[]);
    let mut shards = Vec::new();
    for i in 0..3 {
        let name = format!("shard-{i}.csv");
        let text = quickstart_sweep(&dir, &name, &["--shard", &format!("{i}/3")]);
        assert!(text.starts_with("run_index,run_count,"), "{text}");
        shards.push(dir.join(name).to_str().unwrap().to_string());
    }
    let merged = dir.join("merged.csv");
    // Any order of the inputs.
    let o = cli(&[
        "merge",
        &shards[2],
        &shards[0],
        &shards[1],
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(&merged).unwrap(), all);

    // A missing shard and a shard given twice are errors.
    let o = cli(&["merge", &shards[0], &shards[2], "--out", merged.to_str().unwrap()]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("2 of 6 runs missing (runs 1, 4)"), "{}", o.stderr);
    let o = cli(&[
        "merge",
        &shards[0],
        &shards[1],
        &shards[2],
        &shards[1],
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("appears more than once"), "{}", o.stderr);
}

#[test]
fn unknown_set_paths_are_errors_naming_the_nearest_key() {
    let dir = tmp("unknown");
    let out = dir.join("x.csv");
    for (set, expected) in [
        (
            "jobsets[0].spec.replicatedJobs[1].template.spec.backofLimit=1,2",
            "error: --set jobsets[0].spec.replicatedJobs[1].template.spec.backofLimit: unknown field \"backofLimit\"; did you mean \"backoffLimit\"?",
        ),
        (
            "jobsets[0].spec.failurPolicy.maxRestarts=1",
            "error: --set jobsets[0].spec.failurPolicy.maxRestarts: unknown field \"failurPolicy\"; did you mean \"failurePolicy\"?",
        ),
        (
            "timing.podStartp=1s",
            "error: --set timing.podStartp: unknown field \"podStartp\"; did you mean \"podStartup\"?",
        ),
        (
            "jobsets[0].spec.replicatedJobs[5].replicas=1",
            "error: --set jobsets[0].spec.replicatedJobs[5].replicas: jobsets[0].spec.replicatedJobs has 2 items, so index 5 is out of range",
        ),
        (
            "jobsets[0].spec.replicatedJobs[1].replicas=1,many",
            "error: --set jobsets[0].spec.replicatedJobs[1].replicas: expected an integer, found string \"many\"",
        ),
    ] {
        let o = cli(&[
            "sweep",
            "scenarios/quickstart.yaml",
            "--seeds",
            "0..2",
            "--set",
            set,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.code, 2, "{set}: {}", o.stderr);
        assert_eq!(o.stderr.trim_end(), expected, "{set}");
    }
}

#[test]
fn malformed_seeds_and_shards_are_bad_input() {
    let dir = tmp("seeds");
    let out = dir.join("x.csv");
    for (flag, value) in [
        ("--seeds", "0-9"),
        ("--seeds", "5..5"),
        ("--seeds", "a..3"),
        ("--shard", "3/3"),
    ] {
        let mut args = vec!["sweep", "scenarios/quickstart.yaml", "--out", out.to_str().unwrap()];
        if flag == "--shard" {
            args.extend(["--seeds", "0..2"]);
        }
        args.extend([flag, value]);
        let o = cli(&args);
        assert_eq!(o.code, 2, "{flag} {value}");
        assert!(o.stderr.starts_with(&format!("error: {flag}:")), "{}", o.stderr);
    }
}

#[test]
fn a_manifest_file_can_be_overridden_and_keeps_its_other_documents() {
    let dir = tmp("manifest");
    let manifest = "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: high}\nvalue: 1000\n---\n\
apiVersion: jobset.x-k8s.io/v1alpha2\nkind: JobSet\nmetadata: {name: js}\nspec:\n  failurePolicy: {maxRestarts: 5}\n  replicatedJobs:\n  - name: w\n    template:\n      spec:\n        backoffLimit: 0\n        template:\n          spec:\n            priorityClassName: high\n            containers: [{name: c, image: x}]\n";
    std::fs::write(dir.join("js.yaml"), manifest).unwrap();
    let scenario = "name: m\njobsets:\n- manifest: js.yaml\nworkload:\n- {match: {podIndex: 0, restartAttempt: 0}, runFor: 10s, exitCode: 1}\n- {runFor: 1m}\n";
    let sc = dir.join("m.yaml");
    std::fs::write(&sc, scenario).unwrap();
    let out = dir.join("m.csv");
    let o = cli(&[
        "sweep",
        sc.to_str().unwrap(),
        "--seeds",
        "0",
        "--set",
        "jobsets[0].spec.failurePolicy.maxRestarts=0,1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert_eq!((rows[0][0], rows[0][3], rows[0][4]), ("0", "Failed", "0"), "{text}");
    assert_eq!((rows[1][0], rows[1][3], rows[1][4]), ("1", "Completed", "1"), "{text}");
    // A typo in the manifest's fields names the --set path.
    let o = cli(&[
        "sweep",
        sc.to_str().unwrap(),
        "--seeds",
        "0",
        "--set",
        "jobsets[0].spec.failurePolicy.maxRestart=1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("--set jobsets[0].spec.failurePolicy.maxRestart: unknown field \"maxRestart\"; did you mean \"maxRestarts\"?"),
        "{}",
        o.stderr
    );
}

#[test]
fn emit_indexed_job_prints_a_job_that_runs_the_shards() {
    let o = cli(&[
        "sweep",
        "scenarios/quickstart.yaml",
        "--seeds",
        "0..100",
        "--set",
        REPLICAS,
        "--emit-indexed-job",
        "4",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let docs = jobset_sim::input::parse_yaml_documents(&o.stdout).unwrap();
    let job = &docs[0];
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    assert_eq!(job["spec"]["completions"], 4);
    assert_eq!(job["spec"]["parallelism"], 4);
    let args: Vec<&str> = job["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        args,
        [
            "sweep",
            "scenarios/quickstart.yaml",
            "--seeds",
            "0..100",
            "--set",
            REPLICAS,
            "--shard",
            "$(JOB_COMPLETION_INDEX)/4",
            "--out",
            "/results/shard-$(JOB_COMPLETION_INDEX).csv",
            "--quiet"
        ]
    );
}

#[test]
fn twenty_seeds_give_identical_trace_hashes_twice_and_with_one_or_two_threads() {
    let dir = tmp("twenty");
    let sweep = |out: &str, jobs: &str| {
        let path = dir.join(out);
        let o = cli(&[
            "sweep",
            "scenarios/node-failure-default.yaml",
            "--seeds",
            "0..20",
            "--jobs",
            jobs,
            "--quiet",
            "--out",
            path.to_str().unwrap(),
        ]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        let csv = std::fs::read_to_string(path).unwrap();
        csv.lines()
            .skip(1)
            .map(|l| l.rsplit(',').next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let one = sweep("one.csv", "1");
    let two = sweep("two.csv", "2");
    let again = sweep("again.csv", "2");
    assert_eq!(one.len(), 20);
    assert_eq!(one, two, "1 thread vs 2 threads");
    assert_eq!(two, again, "run twice");
    let distinct: std::collections::BTreeSet<_> = one.iter().collect();
    assert_eq!(distinct.len(), 20, "every seed is its own run: {one:?}");
}
