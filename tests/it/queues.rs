//! Kueue-style queues (`cluster.queues`): all-or-nothing admission against
//! nominal quota, FIFO within a ClusterQueue, release on finish, suspend and
//! delete, unknown queues, Kueue documents, and bad input.

use crate::util::*;
use jobset_sim::sim::World;

/// A cluster of 8 GPU nodes (64 GPUs, more than any quota below) and `queues`.
fn head(queues: &str) -> String {
    format!(
        "name: q\ncluster:\n  nodePools: [{{name: gpu, count: 8, capacity: {{cpu: \"96\", memory: 1Ti, nvidia.com/gpu: \"8\"}}}}]\n  queues:\n{queues}jobsets:\n"
    )
}

/// A submission of JobSet `name` in `queue` at `at`: `pods` pods of `gpus` GPUs each.
fn js(name: &str, queue: &str, at: &str, pods: u32, gpus: u32) -> String {
    format!(
        "- at: {at}\n  queue: {queue}\n  inline:\n    apiVersion: jobset.x-k8s.io/v1alpha2\n    kind: JobSet\n    metadata: {{name: {name}}}\n    spec:\n      replicatedJobs:\n      - name: w\n        replicas: {pods}\n        template:\n          spec:\n            backoffLimit: 0\n            template:\n              spec:\n                containers: [{{name: c, image: x, resources: {{limits: {{nvidia.com/gpu: \"{gpus}\"}}}}}}]\n"
    )
}

const GPU32: &str = "  - {name: q, nominalQuota: {nvidia.com/gpu: \"32\"}}\n";

fn admitted(w: &World) -> Vec<(u64, String)> {
    events(w, "WorkloadAdmitted")
        .iter()
        .map(|e| (e.t, e.jobset.as_deref().unwrap_or("").to_string()))
        .collect()
}

fn terminal(w: &World, name: &str) -> String {
    w.history[&("default".to_string(), name.to_string())]
        .terminal_state
        .clone()
}

fn pods_of(w: &World, name: &str) -> usize {
    events(w, "PodCreated")
        .iter()
        .filter(|e| e.jobset.as_deref() == Some(name))
        .count()
}

#[test]
fn strict_fifo_admits_in_submission_order_and_the_head_blocks_smaller_jobsets() {
    // a (32) runs; b (24) and then c (8) wait. When a finishes, b is admitted; c would fit
    // next to b (24 + 8 = 32) and is admitted in the same pass. d (16), submitted before a
    // finishes, then waits for b: it may not pass, and nothing passes it.
    let text = head(GPU32)
        + &js("a", "q", "0s", 4, 8)
        + &js("b", "q", "1m", 3, 8)
        + &js("c", "q", "2m", 1, 8)
        + &js("d", "q", "3m", 2, 8)
        + "workload:\n- {runFor: 30m}\n";
    let w = run(scenario(&text));
    let order: Vec<String> = admitted(&w).into_iter().map(|(_, n)| n).collect();
    assert_eq!(order, ["a", "b", "c", "d"]);
    let at = |n: &str| admitted(&w).into_iter().find(|(_, x)| x == n).unwrap().0;
    let done = |n: &str| w.history[&("default".to_string(), n.to_string())].finished_at.unwrap();
    assert!(at("b") > done("a") && at("c") > done("a"), "b and c wait for a's quota");
    assert!(at("d") > done("b"), "d (16) needs b's quota");
    for n in ["a", "b", "c", "d"] {
        assert_eq!(terminal(&w, n), "Completed", "{n}");
    }
}

#[test]
fn strict_fifo_head_blocks_a_later_jobset_that_would_fit_but_best_effort_lets_it_pass() {
    // a (24) runs; b (16) cannot fit next to it; c (8) could. StrictFIFO: c waits behind b.
    let jobs = js("a", "q", "0s", 3, 8) + &js("b", "q", "1m", 2, 8) + &js("c", "q", "2m", 1, 8);
    let tail = "workload:\n- {runFor: 30m}\n";
    let strict = run(scenario(&(head(GPU32) + &jobs + tail)));
    let c_strict = admitted(&strict).into_iter().find(|(_, n)| n == "c").unwrap().0;
    assert!(
        c_strict > 30 * 60_000,
        "StrictFIFO: c waits for a to finish ({c_strict} ms)"
    );
    let best = head("  - {name: q, nominalQuota: {nvidia.com/gpu: \"32\"}, queueingStrategy: BestEffortFIFO}\n");
    let best = run(scenario(&(best + &jobs + tail)));
    let c_best = admitted(&best).into_iter().find(|(_, n)| n == "c").unwrap().0;
    assert!(
        c_best < 3 * 60_000,
        "BestEffortFIFO: c passes the blocked b ({c_best} ms)"
    );
    let b_best = admitted(&best).into_iter().find(|(_, n)| n == "b").unwrap().0;
    assert!(b_best > 30 * 60_000);
}

#[test]
fn a_jobset_needing_33_gpus_on_a_32_quota_is_never_admitted() {
    // 1 pod of 1 GPU + 4 pods of 8: all or nothing, so not even the small pod starts.
    let mut text = head(GPU32);
    text += "- queue: q\n  inline:\n    apiVersion: jobset.x-k8s.io/v1alpha2\n    kind: JobSet\n    metadata: {name: big}\n    spec:\n      replicatedJobs:\n";
    for (name, n, g) in [("leader", 1, 1), ("workers", 4, 8)] {
        text += &format!(
            "      - name: {name}\n        replicas: {n}\n        template:\n          spec:\n            template:\n              spec:\n                containers: [{{name: c, image: x, resources: {{limits: {{nvidia.com/gpu: \"{g}\"}}}}}}]\n"
        );
    }
    text += "horizon: 2h\n";
    let w = run(scenario(&text));
    assert!(admitted(&w).is_empty());
    assert_eq!(pods_of(&w, "big"), 0);
    let p = events(&w, "WorkloadPending");
    assert_eq!(p.len(), 1, "the reason is reported once");
    assert_eq!(
        p[0].message.as_deref(),
        Some(
            "couldn't assign flavors to pod set workers: insufficient quota for nvidia.com/gpu in flavor default, \
             request > maximum capacity (33 > 32)"
        )
    );
    let id = w.jobset_id("default", "big").unwrap();
    assert!(w.jobsets.get(id).unwrap().js.suspended());
    let s = jobset_sim::cli::summarize(&w);
    let q = s.jobsets[0].queue.as_ref().expect("queue summary");
    assert_eq!(q.admitted_at_ms, None);
    assert!(q.pending.as_deref().unwrap().contains("can never fit"), "{q:?}");
}

#[test]
fn quota_returns_on_completion_and_the_waiting_jobset_starts_after() {
    let text = head(GPU32) + &js("a", "q", "0s", 4, 8) + &js("b", "q", "1m", 4, 8) + "workload:\n- {runFor: 20m}\n";
    let w = run(scenario(&text));
    let done_a = w.history[&("default".to_string(), "a".to_string())]
        .finished_at
        .unwrap();
    let b = admitted(&w).into_iter().find(|(_, n)| n == "b").unwrap().0;
    assert!(b > done_a, "b admitted at {b}, after a finished at {done_a}");
    assert!(b - done_a <= 100, "promptly: one reconcile and one scheduler pass");
    let first_pod_b = events(&w, "PodCreated")
        .iter()
        .find(|e| e.jobset.as_deref() == Some("b"))
        .unwrap()
        .t;
    assert!(first_pod_b > b);
    let s = jobset_sim::cli::summarize(&w);
    let qb = s.jobsets.iter().find(|j| j.name == "b").unwrap().queue.clone().unwrap();
    assert_eq!(qb.admitted_at_ms, Some(b));
    assert!(qb.waited_ms >= 19 * 60_000, "{qb:?}");
}

#[test]
fn suspending_an_admitted_jobset_evicts_it_and_resuming_requeues_it() {
    let text = head(GPU32)
        + &js("a", "q", "0s", 4, 8)
        + &js("b", "q", "1m", 4, 8)
        + "workload:\n- {runFor: 30m}\nfaults:\n- at: 10m\n  update: {jobset: a, suspend: true}\n- at: 12m\n  update: {jobset: a, suspend: false}\n";
    let w = run(scenario(&text));
    let ev = events(&w, "WorkloadEvicted");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].jobset.as_deref(), Some("a"));
    assert_eq!(ev[0].reason.as_deref(), Some("InactiveWorkload"));
    assert_eq!(ev[0].queue.as_deref(), Some("q"));
    assert_eq!(ev[0].t, 10 * 60_000);
    let adm = admitted(&w);
    let names: Vec<&str> = adm.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(
        names,
        ["a", "b", "a"],
        "a, then b in a's freed quota, then a again after b"
    );
    // b is admitted only once a is suspended and its Jobs report no active pods (the pods may
    // still be terminating, as with Kubernetes' Job `active` count).
    let suspended_a = events(&w, "JobSuspended")
        .iter()
        .filter(|e| e.jobset.as_deref() == Some("a"))
        .map(|e| e.t)
        .max()
        .unwrap();
    assert!(adm[1].0 > suspended_a && suspended_a > 10 * 60_000, "{adm:?}");
    let done_b = w.history[&("default".to_string(), "b".to_string())]
        .finished_at
        .unwrap();
    assert!(adm[2].0 > done_b, "a re-admitted after b finished");
    assert_eq!(terminal(&w, "a"), "Completed");
    let s = jobset_sim::cli::summarize(&w);
    let qa = s.jobsets.iter().find(|j| j.name == "a").unwrap().queue.clone().unwrap();
    assert_eq!((qa.admissions, qa.evictions), (2, 1));
}

#[test]
fn deleting_an_admitted_jobset_frees_its_quota() {
    let text = head(GPU32)
        + &js("a", "q", "0s", 4, 8)
        + &js("b", "q", "1m", 4, 8)
        + "workload:\n- {runFor: forever}\nhorizon: 1h\nfaults:\n- at: 5m\n  update: {jobset: a, delete: true}\n";
    let w = run(scenario(&text));
    let adm = admitted(&w);
    assert_eq!(adm.len(), 2);
    assert!(adm[1].0 >= 5 * 60_000 && adm[1].0 < 5 * 60_000 + 100, "{adm:?}");
}

#[test]
fn a_jobset_naming_an_unknown_queue_stays_suspended_and_says_why() {
    let text = head(GPU32) + &js("lost", "q-typo", "0s", 1, 8) + "horizon: 1h\n";
    let w = run(scenario(&text));
    assert!(admitted(&w).is_empty());
    assert_eq!(pods_of(&w, "lost"), 0);
    let p = events(&w, "WorkloadPending");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].reason.as_deref(), Some("Inadmissible"));
    assert_eq!(p[0].message.as_deref(), Some("LocalQueue q-typo doesn't exist"));
    let f = std::env::temp_dir().join(format!("jobset-sim-queues-{}.yaml", std::process::id()));
    std::fs::write(&f, &text).unwrap();
    let o = cli(&["run", f.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout
            .contains("queue pending: Inadmissible: LocalQueue q-typo doesn't exist"),
        "{}",
        o.stdout
    );
}

#[test]
fn without_queues_the_queue_label_is_ignored() {
    // Kueue is not installed: the JobSet runs at once, unsuspended.
    let text = "name: q\njobsets:\n".to_string() + &js("free", "q", "0s", 1, 8) + "workload:\n- {runFor: 1m}\n";
    let w = run(scenario(&text));
    assert!(events(&w, "WorkloadAdmitted").is_empty());
    assert_eq!(terminal(&w, "free"), "Completed");
    let id_created = events(&w, "PodCreated")[0].t;
    assert!(id_created < 1000);
}

#[test]
fn kueue_documents_in_a_jobset_manifest_define_queues() {
    let dir = std::env::temp_dir().join(format!("jobset-sim-kueue-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("m.yaml"),
        "apiVersion: kueue.x-k8s.io/v1beta1\nkind: ResourceFlavor\nmetadata: {name: h100}\nspec: {nodeLabels: {pool: h100}}\n---\napiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata: {name: cq}\nspec:\n  resourceGroups:\n  - coveredResources: [nvidia.com/gpu]\n    flavors: [{name: h100, resources: [{name: nvidia.com/gpu, nominalQuota: 8}]}]\n---\napiVersion: kueue.x-k8s.io/v1beta1\nkind: LocalQueue\nmetadata: {name: lq, namespace: default}\nspec: {clusterQueue: cq}\n---\napiVersion: jobset.x-k8s.io/v1alpha2\nkind: JobSet\nmetadata: {name: j, labels: {kueue.x-k8s.io/queue-name: lq}}\nspec:\n  replicatedJobs:\n  - name: w\n    template:\n      spec:\n        template:\n          spec:\n            containers: [{name: c, image: x, resources: {limits: {nvidia.com/gpu: 8}}}]\n",
    )
    .unwrap();
    let f = dir.join("s.yaml");
    std::fs::write(
        &f,
        "name: k\ncluster:\n  nodePools:\n  - {name: a, count: 1, capacity: {nvidia.com/gpu: \"8\"}}\n  - {name: b, count: 1, capacity: {nvidia.com/gpu: \"8\"}, labels: {pool: h100}}\njobsets:\n- manifest: m.yaml\nworkload:\n- {runFor: 1m}\n",
    )
    .unwrap();
    let sc = load(&f);
    assert!(sc.skipped.is_empty(), "{:?}", sc.skipped);
    let w = run(sc);
    assert_eq!(admitted(&w).len(), 1);
    // Admission merged the flavor's nodeLabels into the pod template: the pod lands on pool b.
    let sched = events(&w, "PodScheduled");
    assert_eq!(sched[0].node.as_deref(), Some("b-0"));
    assert_eq!(terminal(&w, "j"), "Completed");
}

fn bad(text: &str) -> Output {
    let dir = std::env::temp_dir().join(format!("jobset-sim-qbad-{}-{}", std::process::id(), text.len()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.yaml");
    std::fs::write(&f, text).unwrap();
    cli(&["run", f.to_str().unwrap()])
}

#[test]
fn bad_queue_definitions_are_exit_two_with_the_nearest_name() {
    let o = bad("name: x\ncluster:\n  queues:\n  - {name: a, nominalQuta: {cpu: \"1\"}}\n");
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("cluster.queues[0].nominalQuta: unknown field \"nominalQuta\"; did you mean \"nominalQuota\"?"),
        "{}",
        o.stderr
    );
    let o = bad(
        "name: x\ncluster:\n  queues:\n  - {name: research, nominalQuota: {cpu: \"1\"}}\n  - {name: b, clusterQueue: reseach}\n",
    );
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("ClusterQueue \"reseach\", which is not defined; did you mean \"research\"?"),
        "{}",
        o.stderr
    );
    let o =
        bad("name: x\ncluster:\n  queues:\n  - {name: a, nominalQuota: {cpu: \"1\"}, queueingStrategy: StrictFifo}\n");
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("did you mean \"StrictFIFO\"?"), "{}", o.stderr);
    let o = bad("name: x\ncluster:\n  queues:\n  - {name: a}\n");
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("expected `nominalQuota`"), "{}", o.stderr);
    let o = bad("name: x\ncluster:\n  queues:\n  - {manifest: nope.yaml}\n");
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("cannot read manifest"), "{}", o.stderr);
    let o = bad("name: x\nexpect:\n- event: {event: WorkloadAdmited}\n  count: 1\n");
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("did you mean \"WorkloadAdmitted\"?"), "{}", o.stderr);
}

#[test]
fn validate_reports_kueue_documents_as_understood() {
    let cfg = repo().join("../shared/upstream-examples/tpu-multislice/kueue-config.yaml");
    if !cfg.exists() {
        eprintln!("note: ../shared absent; skipped");
        return;
    }
    let wl = repo().join("../shared/upstream-examples/tpu-multislice/v6e-jax-workload.yaml");
    let o = cli(&["validate", "--run", cfg.to_str().unwrap(), wl.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(!o.stdout.contains("skipped"), "{}", o.stdout);
    assert!(
        o.stdout.contains(
            "ClusterQueue multislice-cluster-queue (queue definition; BestEffortFIFO, nominal quota: google.com/tpu 32 in flavor v6e-4x4)"
        ),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("LocalQueue default/multislice-queue"), "{}", o.stdout);
    assert!(o.stdout.contains("run: v6e-multislice Completed"), "{}", o.stdout);
}
