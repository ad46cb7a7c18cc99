//! Criterion benchmarks of the engine (issue 6). `cargo bench` (release) measures;
//! `cargo test --benches` runs each once as a smoke test.
//!
//! - `event_queue_*`: the event loop's queue alone (push/pop in the engine's pattern).
//! - `reconcile_2048_jobs`: one pure JobSet reconcile of a 2,048-Job JobSet, all Jobs Ready.
//! - `schedule_2048_pod_wave`: the scheduler binding a wave of 2,048 pods onto 2,112 nodes.
//! - `llama3_256_nodes_4d`: `scenarios/llama3-54d.yaml` scaled to 256 nodes and 4 days of work.
//! - `run_*_nodes_one_restart`: whole runs with one JobSet restart.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use jobset_sim::controllers::jobset::{Input, reconcile};
use jobset_sim::scenario::parse_scenario;
use jobset_sim::sim::queue::EventQueue;
use jobset_sim::sim::store::Phase;
use jobset_sim::sim::{RunOptions, World};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

const LLAMA3: &str = include_str!("../scenarios/llama3-54d.yaml");

/// `llama3-54d.yaml` with `nodes` workers (+1/32 spares) and `work` of training.
fn llama3(nodes: u32, work: &str) -> Arc<jobset_sim::scenario::Scenario> {
    let spares = nodes / 32;
    let text = LLAMA3
        .replace("count: 2112", &format!("count: {}", nodes + spares))
        .replace("replicas: 2048", &format!("replicas: {nodes}"))
        .replace("work: 40d", &format!("work: {work}"));
    Arc::new(parse_scenario(&text, Path::new("llama3-54d.yaml")).expect("valid scenario"))
}

/// A leader + N workers JobSet on N GPU nodes; one worker crashes once, forcing a restart.
fn one_restart(nodes: u32) -> String {
    format!(
        r#"
name: bench
cluster:
  nodePools: [{{name: gpu, count: {nodes}, capacity: {{cpu: "96", memory: 1Ti, nvidia.com/gpu: "8"}}}}]
timing: {{podStartup: 60s}}
jobsets:
- inline:
    apiVersion: jobset.x-k8s.io/v1alpha2
    kind: JobSet
    metadata: {{name: train}}
    spec:
      failurePolicy: {{maxRestarts: 10}}
      replicatedJobs:
      - name: workers
        replicas: {nodes}
        template:
          spec:
            backoffLimit: 0
            template:
              spec:
                containers: [{{name: w, image: x, resources: {{limits: {{nvidia.com/gpu: "8"}}}}}}]
workload:
- {{match: {{jobIndex: 3, restartAttempt: 0}}, runFor: 1h, exitCode: 1}}
- {{runFor: 4h}}
"#
    )
}

fn bench_runs(c: &mut Criterion) {
    for nodes in [64u32, 512] {
        let sc = Arc::new(parse_scenario(&one_restart(nodes), Path::new("bench.yaml")).expect("valid"));
        c.bench_function(&format!("run_{nodes}_nodes_one_restart"), |b| {
            b.iter(|| {
                let mut w = World::new(sc.clone(), RunOptions::default());
                w.run();
                assert_eq!(w.history.values().next().map(|h| h.restarts), Some(1));
                w.events_processed
            })
        });
    }
}

/// The engine's queue pattern: waves of events at the same instant, a few
/// distinct delays, and per-node timers spread over time.
fn bench_event_queue(c: &mut Criterion) {
    c.bench_function("event_queue_1m_events", |b| {
        b.iter(|| {
            let mut q: EventQueue<u64> = EventQueue::default();
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            for n in 0..2_112u64 {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                q.push(x % 86_400_000, 0, n);
            }
            let mut popped = 0u64;
            let mut sum = 0u64;
            while let Some(e) = q.pop() {
                popped += 1;
                sum = sum.wrapping_add(e.ev);
                if popped >= 1_000_000 {
                    break;
                }
                // Each event schedules one follow-up: a wave member, a sync, or a timer.
                let d = match e.ev % 4 {
                    0 => 10,
                    1 => 1_000,
                    2 => 60_000,
                    _ => {
                        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                        x % 3_600_000
                    }
                };
                q.push(e.t + d, 0, e.ev.wrapping_add(1));
            }
            black_box(sum)
        })
    });
}

/// The same pattern on a binary heap keyed by (time, class, sequence), the queue the
/// engine used before the bucket queue (for comparison).
fn bench_heap_reference(c: &mut Criterion) {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    c.bench_function("event_queue_1m_events_binary_heap", |b| {
        b.iter(|| {
            let mut q: BinaryHeap<Reverse<(u64, u8, u64, u64)>> = BinaryHeap::new();
            let mut seq = 0u64;
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            for n in 0..2_112u64 {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                seq += 1;
                q.push(Reverse((x % 86_400_000, 0, seq, n)));
            }
            let mut popped = 0u64;
            let mut sum = 0u64;
            while let Some(Reverse((t, _, _, ev))) = q.pop() {
                popped += 1;
                sum = sum.wrapping_add(ev);
                if popped >= 1_000_000 {
                    break;
                }
                let d = match ev % 4 {
                    0 => 10,
                    1 => 1_000,
                    2 => 60_000,
                    _ => {
                        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                        x % 3_600_000
                    }
                };
                seq += 1;
                q.push(Reverse((t + d, 0, seq, ev.wrapping_add(1))));
            }
            black_box(sum)
        })
    });
}

/// A World stepped until every Job of the 2,048-worker JobSet reports its pod Ready.
fn llama3_all_ready() -> World {
    let mut w = World::new(llama3(2048, "40d"), RunOptions::default());
    let ready =
        |w: &World| w.pods.len() == 2048 && w.jobs.len() == 2048 && w.jobs.iter().all(|(_, j)| j.status.ready == 1);
    while !ready(&w) {
        assert!(w.step(), "the run ended before every pod was Ready");
    }
    w
}

/// One reconcile of the 2,048-Job JobSet, on the Input the engine builds (`reconcile_jobset`).
fn bench_reconcile(c: &mut Criterion) {
    let w = llama3_all_ready();
    let (_, jso) = w.jobsets.iter().next().expect("one JobSet");
    let jobs = w.child_jobs(jso);
    assert_eq!(jobs.len(), 2048);
    assert!(jobs.iter().all(|j| j.ready == 1 && j.finish.is_none()));
    let input = Input {
        js: &jso.js,
        deleting: false,
        jobs: jobs.into(),
        service_exists: true,
        gates: w.sc.gates,
        now: w.now,
        // In-place restart is off for this JobSet: the engine passes no pods.
        pods: Vec::new(),
        // Unversioned: every iteration classifies the Jobs (as a reconcile after a Job changed does).
        jobs_version: None,
        classified: None,
    };
    c.bench_function("reconcile_2048_jobs", |b| b.iter(|| reconcile(black_box(&input))));
}

/// The scheduler binding 2,048 freshly created pods onto 2,112 nodes (one
/// `SchedulerWake`: filters, least-allocated choice, bind, `PodScheduled`).
fn bench_schedule_wave(c: &mut Criterion) {
    let sc = llama3(2048, "40d");
    let pending = |w: &World| {
        w.pods
            .iter()
            .filter(|(_, p)| p.node.is_none() && p.phase == Phase::Pending)
            .count()
    };
    c.bench_function("schedule_2048_pod_wave", |b| {
        b.iter_batched(
            || {
                let mut w = World::new(sc.clone(), RunOptions::default());
                while w.pods.len() < 2048 {
                    assert!(w.step(), "the run ended before the pods were created");
                }
                assert_eq!(pending(&w), 2048);
                w
            },
            |mut w| {
                let mut steps = 0;
                while w.pods.iter().any(|(_, p)| p.node.is_none()) {
                    assert!(w.step());
                    steps += 1;
                }
                assert!(steps <= 4, "the wave is bound by one scheduler pass ({steps} steps)");
                w
            },
            BatchSize::PerIteration,
        )
    });
}

fn bench_llama3_scaled(c: &mut Criterion) {
    let sc = llama3(256, "4d");
    let mut g = c.benchmark_group("llama3");
    g.sample_size(20);
    g.bench_function("llama3_256_nodes_4d", |b| {
        b.iter(|| {
            let mut w = World::new(sc.clone(), RunOptions::default());
            w.run();
            assert!(w.history.values().all(|h| h.terminal_state == "Completed"));
            w.events_processed
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_event_queue,
    bench_heap_reference,
    bench_reconcile,
    bench_schedule_wave,
    bench_llama3_scaled,
    bench_runs
);
criterion_main!(benches);
