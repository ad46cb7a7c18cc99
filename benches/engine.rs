//! Criterion benchmarks of whole runs. `cargo bench` (release) measures;
//! `cargo test --benches` runs each once as a smoke test.

use criterion::{Criterion, criterion_group, criterion_main};
use jobset_sim::scenario::parse_scenario;
use jobset_sim::sim::{RunOptions, World};
use std::path::Path;
use std::sync::Arc;

/// A leader + N workers JobSet on N GPU nodes; one worker crashes once, forcing a restart.
fn scenario(nodes: u32) -> String {
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
        let sc = Arc::new(parse_scenario(&scenario(nodes), Path::new("bench.yaml")).expect("valid"));
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

criterion_group!(benches, bench_runs);
criterion_main!(benches);
