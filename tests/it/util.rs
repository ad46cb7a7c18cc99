use jobset_sim::scenario::{Scenario, load_file, parse_scenario};
use jobset_sim::sim::{RunOptions, World};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("folder exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    v.sort();
    v
}

/// `scenarios/*.yaml`, plus `scenarios/upstream/*.yaml` (which read the upstream
/// examples from ../shared) when ../shared/upstream-examples exists.
pub fn shipped_scenarios() -> Vec<PathBuf> {
    // Large scenarios are measured in reports/ (a scaled-down llama3 runs in training.rs).
    let mut v: Vec<PathBuf> = yaml_files(&repo().join("scenarios"))
        .into_iter()
        .filter(|p| !p.ends_with("llama3-54d.yaml"))
        .collect();
    if repo().join("../shared/upstream-examples").exists() {
        v.extend(yaml_files(&repo().join("scenarios/upstream")));
    } else {
        eprintln!("note: ../shared/upstream-examples absent; scenarios/upstream/ not run");
    }
    v
}

pub fn load(path: &Path) -> Arc<Scenario> {
    Arc::new(load_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// Parses scenario text written inline in a test.
pub fn scenario(text: &str) -> Arc<Scenario> {
    Arc::new(parse_scenario(text, Path::new("inline-test.yaml")).unwrap_or_else(|e| panic!("{e}")))
}

/// Runs a scenario keeping the trace events in memory, with the invariant
/// checker on after every event; a violation fails the test.
pub fn run(sc: Arc<Scenario>) -> World {
    let w = run_with(sc, true);
    if let Some(jobset_sim::sim::StopReason::Invariant(v)) = &w.stop {
        panic!("{v}");
    }
    w
}

fn run_with(sc: Arc<Scenario>, check_invariants: bool) -> World {
    let mut w = World::new(
        sc,
        RunOptions {
            keep_trace: true,
            check_invariants,
            ..Default::default()
        },
    );
    w.run();
    w
}

/// Runs and returns the JSONL trace bytes.
pub fn trace_bytes(sc: Arc<Scenario>, seed: Option<u64>) -> Vec<u8> {
    let buf = SharedBuf::default();
    let mut w = World::new(
        sc,
        RunOptions {
            seed,
            trace: Some(Box::new(buf.clone())),
            keep_trace: false,
            check_invariants: false,
            hash_thread: false,
        },
    );
    w.run();
    drop(w);
    buf.0.lock().expect("lock").clone()
}

#[derive(Clone, Default)]
pub struct SharedBuf(pub Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Asserts every expectation of a finished run passed, printing all outcomes otherwise.
pub fn assert_expectations(w: &World, what: &str) {
    let failed: Vec<String> = w
        .expect
        .outcomes
        .iter()
        .filter(|o| !o.ok)
        .map(|o| format!("{}: {}", o.path, o.message))
        .collect();
    assert!(
        failed.is_empty(),
        "{what}: expectations failed:\n{}\nrepro: jobset-sim run {what} --seed {}",
        failed.join("\n"),
        w.seed
    );
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the real binary.
pub fn cli(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_jobset-sim"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("binary runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Events of a kept trace with the given name.
pub fn events<'a>(w: &'a World, name: &str) -> Vec<&'a jobset_sim::trace::TraceEvent> {
    w.trace
        .keep
        .as_ref()
        .expect("kept")
        .iter()
        .filter(|e| e.event == name)
        .collect()
}
