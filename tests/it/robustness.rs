//! No input makes the loader or the engine panic: bad input is an error value.

use jobset_sim::scenario::parse_scenario;
use jobset_sim::sim::{RunOptions, World};
use proptest::prelude::*;
use std::path::Path;
use std::sync::Arc;

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1".to_string()),
        Just("-3".to_string()),
        Just("10s".to_string()),
        Just("abc".to_string()),
        Just("true".to_string()),
        Just("\"8\"".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("~".to_string()),
        Just("1e99".to_string()),
        Just("99999999999999999999".to_string()),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("name"),
        Just("seed"),
        Just("horizon"),
        Just("cluster"),
        Just("nodePools"),
        Just("count"),
        Just("capacity"),
        Just("cpu"),
        Just("timing"),
        Just("podStartup"),
        Just("jobsets"),
        Just("inline"),
        Just("at"),
        Just("workload"),
        Just("runFor"),
        Just("exitCode"),
        Just("faults"),
        Just("podFailure"),
        Just("nodeFailure"),
        Just("expect"),
        Just("jobset"),
        Just("replicatedJobs"),
        Just("template"),
        Just("spec"),
        Just("replicas"),
        Just("order"),
        Just("event"),
        Just("bogus"),
    ]
    .prop_map(String::from)
}

fn yamlish() -> impl Strategy<Value = String> {
    let leaf = (key(), scalar()).prop_map(|(k, v)| format!("{k}: {v}"));
    leaf.prop_recursive(3, 24, 4, |inner| {
        (key(), proptest::collection::vec(inner, 1..4), any::<bool>()).prop_map(|(k, items, list)| {
            if list {
                format!(
                    "{k}: [{}]",
                    items.iter().map(|i| format!("{{{i}}}")).collect::<Vec<_>>().join(", ")
                )
            } else {
                format!("{k}: {{{}}}", items.join(", "))
            }
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_yamlish_input_never_panics(lines in proptest::collection::vec(yamlish(), 0..6)) {
        let text = format!("name: p\n{}\n", lines.join("\n"));
        if let Ok(sc) = parse_scenario(&text, Path::new("p.yaml")) {
            let mut sc = sc;
            sc.max_events = 5_000;
            let mut w = World::new(Arc::new(sc), RunOptions::default());
            w.run();
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_scenario(&text, Path::new("p.yaml"));
    }
}

/// Runs `jobset-sim check FILE` in process and returns its exit code.
fn check_exit_code(text: &str, case: u64) -> std::process::ExitCode {
    use clap::Parser;
    let dir = std::env::temp_dir().join(format!("jobset-sim-exit2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join(format!("case-{case}.yaml"));
    std::fs::write(&f, text).unwrap();
    let cli = jobset_sim::cli::Cli::try_parse_from(["jobset-sim", "check", f.to_str().unwrap()]).unwrap();
    let code = jobset_sim::cli::main_with(cli);
    let _ = std::fs::remove_file(&f);
    code
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// The contract for bad input, end to end through the CLI: whatever the loader rejects
    /// exits with code 2 (never a panic, never 0 or 1); whatever it accepts runs.
    #[test]
    fn rejected_yamlish_input_exits_two(lines in proptest::collection::vec(yamlish(), 1..6), case in any::<u64>()) {
        let text = format!("name: p\nmaxEvents: 5000\n{}\n", lines.join("\n"));
        let loads = parse_scenario(&text, Path::new("p.yaml")).is_ok();
        let code = check_exit_code(&text, case);
        if loads {
            prop_assert_ne!(code, std::process::ExitCode::from(2), "a loadable scenario is not bad input:\n{}", text);
        } else {
            prop_assert_eq!(code, std::process::ExitCode::from(2), "rejected input must exit 2:\n{}", text);
        }
    }
}

#[test]
fn the_exit_code_oracle_tells_bad_input_from_a_valid_scenario() {
    // Guards the property above against vacuity: the in-process CLI really returns 2 for bad input and 0 otherwise.
    assert_eq!(
        check_exit_code("name: p\nbogus: 1\n", 1),
        std::process::ExitCode::from(2)
    );
    assert_eq!(check_exit_code("name: p\n", 2), std::process::ExitCode::SUCCESS);
}
