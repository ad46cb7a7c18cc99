//! The command line as a user meets it.

use crate::util::*;

#[test]
fn run_prints_a_summary_and_exits_zero() {
    let o = cli(&["run", "scenarios/quickstart.yaml"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("train: Completed at"), "{}", o.stdout);
    assert!(o.stdout.contains("trace: "), "{}", o.stdout);
}

#[test]
fn run_json_is_machine_readable_and_deterministic() {
    let a = cli(&["run", "scenarios/quickstart.yaml", "--format", "json"]);
    let b = cli(&["run", "scenarios/quickstart.yaml", "--format", "json"]);
    assert_eq!(a.code, 0);
    assert_eq!(a.stdout, b.stdout);
    let v: serde_json::Value = serde_json::from_str(&a.stdout).unwrap();
    assert_eq!(v["jobsets"][0]["terminalState"], "Completed");
    assert_eq!(v["traceHash"].as_str().unwrap().len(), 16);
}

#[test]
fn a_failed_jobset_gets_a_one_line_cause() {
    let o = cli(&["run", "scenarios/node-failure-default.yaml"]);
    assert!(
        o.stdout.contains(
            "cause: FailedJobs: jobset failed due to one or more job failures (first failed job: train-workers-1)"
        ),
        "{}",
        o.stdout
    );
}

#[test]
fn trace_file_is_json_lines_in_time_order() {
    let dir = std::env::temp_dir().join(format!("jobset-sim-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.jsonl");
    let o = cli(&["run", "scenarios/quickstart.yaml", "--trace", path.to_str().unwrap()]);
    assert_eq!(o.code, 0);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut last = 0;
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let t = v["t"].as_u64().unwrap();
        assert!(t >= last, "time goes forward");
        assert_eq!(v["seq"].as_u64().unwrap(), i as u64);
        last = t;
    }
}

#[test]
fn check_exits_one_when_an_expectation_fails() {
    let dir = std::env::temp_dir().join(format!("jobset-sim-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(repo().join("scenarios/quickstart.yaml")).unwrap();
    let f = dir.join("bad.yaml");
    std::fs::write(&f, text.replace("count: 5", "count: 7")).unwrap();
    let o = cli(&["check", f.to_str().unwrap()]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(
        o.stdout.contains("expected exactly 7 matching event(s), saw 5"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("repro: jobset-sim run"), "{}", o.stdout);
}

fn bad(text: &str) -> Output {
    let dir = std::env::temp_dir().join(format!("jobset-sim-bad-{}-{}", std::process::id(), text.len()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.yaml");
    std::fs::write(&f, text).unwrap();
    cli(&["run", f.to_str().unwrap()])
}

#[test]
fn bad_input_exits_two_naming_file_path_and_nearest_key() {
    let o = bad("name: x\nhorizon: 1h\nexpec: []\n");
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("bad.yaml: expec: unknown field \"expec\"; did you mean \"expect\"?"),
        "{}",
        o.stderr
    );
}

#[test]
fn a_typo_inside_a_job_template_is_an_error_but_unmodelled_fields_are_kept() {
    let o = bad(
        "name: x\njobsets:\n- inline: {apiVersion: jobset.x-k8s.io/v1alpha2, kind: JobSet, metadata: {name: a}, spec: {replicatedJobs: [{name: r, template: {spec: {backofLimit: 1, template: {spec: {containers: [{name: c, image: x, imagePullPolicy: Always}]}}}}}]}}\n",
    );
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("jobsets[0].inline.spec.replicatedJobs[0].template.spec.backofLimit: unknown field \"backofLimit\"; did you mean \"backoffLimit\"?"), "{}", o.stderr);
    assert!(
        !o.stderr.contains("imagePullPolicy"),
        "valid Kubernetes fields are not errors: {}",
        o.stderr
    );
}

#[test]
fn bad_durations_quantities_and_yaml_are_exit_two_not_panics() {
    for text in [
        "name: x\ntiming: {podStartup: 10}\n",
        "name: x\ncluster: {nodePools: [{name: p, count: 1, capacity: {cpu: lots}}]}\n",
        "name: x\nfaults: [{at: 1m}]\n",
        "name: [unclosed\n",
        "- just a list\n",
        "",
        "name: x\nexpect: [{order: {first: {event: PodReddy}, then: {event: PodReady}}}]\n",
    ] {
        let o = bad(text);
        assert_eq!(o.code, 2, "input {text:?}: {}", o.stderr);
        assert!(o.stderr.contains("bad.yaml"), "names the file: {}", o.stderr);
        assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
    }
}

#[test]
fn a_missing_file_is_bad_input() {
    let o = cli(&["run", "scenarios/does-not-exist.yaml"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("does-not-exist.yaml: cannot read"), "{}", o.stderr);
}

#[test]
fn help_teaches_the_subcommands() {
    let o = cli(&["--help"]);
    assert_eq!(o.code, 0);
    for word in ["run", "check", "validate", "explain", "Exit codes"] {
        assert!(o.stdout.contains(word), "{}", o.stdout);
    }
}

#[test]
fn explain_tells_why_a_jobset_failed_and_rejects_unknown_names() {
    let o = cli(&["explain", "scenarios/node-failure-default.yaml", "--jobset", "train"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    for phrase in [
        "JobSet train (no failurePolicy: the first Job failure fails the JobSet)",
        "Job train-workers-1 failed: BackoffLimitExceeded: Job has reached the specified backoff limit",
        "caused by pod train-workers-1-0-",
        "on node gpu-1: node gpu-1 crashed at 30m and turned NotReady; the taint manager evicted the pod at 35m50s",
        "no failurePolicy: the JobSet fails (FailedJobs)",
        "no restart (restarts 0, restartsCountTowardsMax 0)",
        "Failed at 1h30m1.01s: FailedJobs: jobset failed due to one or more job failures (first failed job: train-workers-1)",
    ] {
        assert!(o.stdout.contains(phrase), "missing {phrase:?} in:\n{}", o.stdout);
    }
    let o = cli(&["explain", "scenarios/node-failure-default.yaml", "--jobset", "nope"]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert!(o.stdout.is_empty(), "{}", o.stdout);
    assert!(
        o.stderr
            .contains("no JobSet \"nope\" in this run; JobSets in this run: train"),
        "{}",
        o.stderr
    );
}

#[test]
fn validate_warns_about_a_message_pattern_go_would_reject() {
    let dir = std::env::temp_dir().join(format!("jobset-sim-pat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("js.yaml");
    std::fs::write(
        &f,
        "apiVersion: jobset.x-k8s.io/v1alpha2\nkind: JobSet\nmetadata: {name: js}\nspec:\n  failurePolicy:\n    rules:\n    - {action: FailJobSet, onJobFailureMessagePatterns: [\"(?x) exit\", \"exit code 4[0-9]\"]}\n  replicatedJobs:\n  - name: r\n    template: {spec: {template: {spec: {containers: [{name: c}]}}}}\n",
    )
    .unwrap();
    let o = cli(&["validate", f.to_str().unwrap()]);
    assert_eq!(o.code, 0, "a warning does not reject: {}", o.stderr);
    assert!(
        o.stdout
            .contains("warning: spec.failurePolicy.rules[0].onJobFailureMessagePatterns[0]"),
        "{}",
        o.stdout
    );
    assert!(!o.stdout.contains("onJobFailureMessagePatterns[1]"), "{}", o.stdout);
}

#[test]
fn run_check_invariants_gives_the_same_summary_and_exits_zero_when_none_breaks() {
    let plain = cli(&["run", "scenarios/quickstart.yaml", "--format", "json"]);
    let checked = cli(&[
        "run",
        "scenarios/quickstart.yaml",
        "--format",
        "json",
        "--check-invariants",
    ]);
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    assert_eq!(plain.stdout, checked.stdout, "the checker only observes");
    assert!(!checked.stdout.contains("invariantViolation"));
}

#[test]
fn check_runs_the_invariant_checker() {
    let o = cli(&["check", "scenarios/quickstart.yaml"]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("1 passed, 0 failed"), "{}", o.stdout);
    assert_eq!(
        jobset_sim::cli::invariant_repro(std::path::Path::new("scenarios/quickstart.yaml"), 7),
        "jobset-sim run scenarios/quickstart.yaml --seed 7 --check-invariants"
    );
}

#[test]
fn check_determinism_runs_twice_and_says_how_many_events_matched() {
    let o = cli(&["run", "scenarios/node-failure-default.yaml", "--check-determinism"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let hash = o.stdout.lines().find_map(|l| l.trim().strip_prefix("trace: ")).unwrap();
    let (count, hash) = hash.split_once(" events, hash ").unwrap();
    assert!(
        o.stderr.contains(&format!(
            "determinism: 2 runs, {count} trace events compared, identical (hash {hash})"
        )),
        "{}",
        o.stderr
    );
}

#[test]
fn check_junit_writes_one_suite_per_file_with_failures_and_repro() {
    let dir = std::env::temp_dir().join(format!("jobset-sim-junit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(repo().join("scenarios/quickstart.yaml")).unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, text.replace("count: 5", "count: 7")).unwrap();
    let xml = dir.join("report.xml");
    let o = cli(&[
        "check",
        "scenarios/suspend-resume.yaml",
        bad.to_str().unwrap(),
        "--junit",
        xml.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    let x = std::fs::read_to_string(&xml).unwrap();
    assert!(x.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"jobset-sim check\" tests=\"12\" failures=\"1\" errors=\"0\">"), "{x}");
    assert!(
        x.contains("<testsuite name=\"scenarios/suspend-resume.yaml\" tests=\"8\" failures=\"0\""),
        "{x}"
    );
    let case = format!(
        "<testcase classname=\"{}\" name=\"expect[2]\">\n      <failure message=\"event {{event: PodCreated, jobset: &quot;train&quot;}}: expected exactly 7 matching event(s), saw 5",
        bad.display()
    );
    assert!(x.contains(&case), "{x}");
    assert!(
        x.contains(&format!("repro: jobset-sim run {} --seed 1</failure>", bad.display())),
        "{x}"
    );
}
