//! Exclusive placement (`../shared/spec/jobset-controller.md` §13): the pod
//! webhook's leader/follower protocol, inter-pod (anti-)affinity by topology
//! key in the scheduler, the node-selector strategy, and the pod controller's
//! handling of a placement violation.

use crate::util::*;
use jobset_sim::sim::World;

const RACK: &str = "topology.kubernetes.io/rack";

/// A JobSet manifest (inline, indented for `jobsets:`); `ann` are JobSet annotations.
fn js(name: &str, ann: &str, replicas: u32, par: u32, pod_extra: &str, job_extra: &str) -> String {
    format!(
        r#"
- inline:
    apiVersion: jobset.x-k8s.io/v1alpha2
    kind: JobSet
    metadata:
      name: {name}
      annotations: {{{ann}}}
    spec:
      replicatedJobs:
      - name: w
        replicas: {replicas}
        template:
          spec:
            parallelism: {par}
            completions: {par}
            backoffLimit: 0
{job_extra}            template:
              spec:
{pod_extra}                containers: [{{name: c, image: x, resources: {{requests: {{cpu: "1"}}}}}}]"#
    )
}

fn excl() -> String {
    format!("alpha.jobset.sigs.k8s.io/exclusive-topology: {RACK}")
}

/// `count` nodes of `cpu` cpus, racks of `per` consecutive nodes (rack values n-0, n-1, …).
fn cluster(count: u32, cpu: u32, per: u32) -> String {
    format!(
        "cluster:\n  nodePools:\n  - name: n\n    count: {count}\n    capacity: {{cpu: \"{cpu}\", memory: 64Gi}}\n    topology: [{{key: {RACK}, nodesPerDomain: {per}}}]\n  priorityClasses: [{{name: high, value: 100}}]\n"
    )
}

fn node_of(w: &World, job: &str, index: i32) -> String {
    let jid = w.job_names.get("default", job).expect("the Job exists");
    let j = w.jobs.get(jid).unwrap();
    let pid = j
        .pods
        .iter()
        .filter(|(i, _)| *i == index)
        .map(|(_, p)| *p)
        .rfind(|p| w.pods.get(*p).is_some_and(|p| p.deletion.is_none()))
        .unwrap_or_else(|| panic!("{job} has a live pod {index}"));
    let n = w.pods.get(pid).unwrap().node.expect("bound");
    w.nodes[n].name.to_string()
}

fn rack_of(w: &World, node: &str) -> String {
    let n = w.node_names[node];
    w.nodes[n].labels[RACK].clone()
}

#[test]
fn followers_are_rejected_until_their_leader_is_bound_then_pinned_to_its_rack() {
    // §13.2: the leader is created; the follower creation is denied by the
    // validating webhook; once the leader has a node the next Job sync admits
    // the followers with nodeSelector[T] = the leader node's rack.
    let text = format!(
        "name: t\nhorizon: 1h\n{}jobsets:{}\nworkload:\n- {{runFor: 10m}}\n",
        cluster(8, 4, 4),
        js("js", &excl(), 2, 3, "", "")
    );
    let w = run(scenario(&text));
    let trace = w.trace.keep.as_ref().unwrap();
    for job in ["js-w-0", "js-w-1"] {
        let bound0 = trace
            .iter()
            .position(|e| e.event == "PodScheduled" && e.job.as_deref() == Some(job) && e.pod_index == Some(0))
            .expect("leader bound");
        let rejected = trace
            .iter()
            .position(|e| {
                e.event == "Event" && e.job.as_deref() == Some(job) && e.reason.as_deref() == Some("FailedCreate")
            })
            .expect("a follower was rejected");
        let created1 = trace
            .iter()
            .position(|e| e.event == "PodCreated" && e.job.as_deref() == Some(job) && e.pod_index == Some(1))
            .expect("follower created");
        assert!(
            rejected < bound0 && bound0 < created1,
            "{job}: rejected, bound, then created"
        );
        assert_eq!(
            trace[rejected].message.as_deref(),
            Some(
                "Error creating: admission webhook \"vpod.kb.io\" denied the request: follower pod node selector not set"
            )
        );
        // Slow start: batch {0} then {1, 2}: both followers are rejected in that sync.
        let first_rejections = trace
            .iter()
            .filter(|e| e.event == "Event" && e.job.as_deref() == Some(job) && e.t == trace[rejected].t)
            .count();
        assert_eq!(first_rejections, 2, "{job}: batch of two followers rejected");
        // Followers are created about 1 s after the leader's binding (the Job controller's batch period).
        assert_eq!(trace[created1].t - trace[bound0].t, 990, "{job}");
        let lr = rack_of(&w, &node_of(&w, job, 0));
        for i in 1..3 {
            assert_eq!(
                rack_of(&w, &node_of(&w, job, i)),
                lr,
                "{job} pod {i} in its leader's rack"
            );
        }
    }
    assert_ne!(
        rack_of(&w, &node_of(&w, "js-w-0", 0)),
        rack_of(&w, &node_of(&w, "js-w-1", 0)),
        "one Job per rack"
    );
    // The webhook's priority label (spec.priority from the Priority plugin, 0 here).
    let jid = w.job_names.get("default", "js-w-0").expect("the Job exists");
    let pid = w.jobs.get(jid).unwrap().pods.iter().next().unwrap().1;
    assert_eq!(w.pod_labels(pid).0["jobset.sigs.k8s.io/priority"], "0");
}

#[test]
fn a_jobset_needing_more_domains_than_exist_waits_with_the_reason() {
    // 3 Jobs, 2 racks: the third leader fails anti-affinity on every node and waits;
    // its follower keeps being rejected with the API backoff (1 s, 2 s, 4 s …, 60 s).
    let text = format!(
        "name: t\nhorizon: 20m\n{}jobsets:{}\nworkload:\n- {{runFor: forever}}\n",
        cluster(4, 4, 2),
        js("js", &excl(), 3, 2, "", "")
    );
    let w = run(scenario(&text));
    let unsched = events(&w, "PodUnschedulable");
    assert_eq!(unsched.len(), 1, "one leader waits; reported once");
    assert_eq!(unsched[0].pod_index, Some(0));
    assert_eq!(
        unsched[0].message.as_deref(),
        Some("0/4 nodes are available: 4 node(s) didn't match pod anti-affinity rules.")
    );
    let waiting = unsched[0].job.clone().unwrap();
    let times: Vec<u64> = events(&w, "Event")
        .into_iter()
        .filter(|e| e.job.as_deref() == Some(&*waiting) && e.reason.as_deref() == Some("FailedCreate"))
        .map(|e| e.t)
        .collect();
    let gaps: Vec<u64> = times.windows(2).map(|p| p[1] - p[0]).collect();
    assert_eq!(&gaps[..7], &[1000, 2000, 4000, 8000, 16000, 32000, 60000], "{times:?}");
    assert!(gaps[7..].iter().all(|g| *g == 60000));
    assert_eq!(w.jobsets.iter().next().unwrap().1.js.status.terminal_state, "");
}

#[test]
fn the_waiting_job_runs_once_a_rack_frees() {
    let text = format!(
        "name: t\n{}jobsets:{}\nworkload:\n- {{match: {{jobIndex: 0}}, runFor: 5m}}\n- {{runFor: 30m}}\n",
        cluster(4, 4, 2),
        js("js", &excl(), 3, 2, "", "")
    );
    let w = run(scenario(&text));
    assert_eq!(w.jobsets.iter().next().unwrap().1.js.status.terminal_state, "Completed");
    // The waiting Job's leader is bound only after Job 0 finished, into Job 0's rack.
    let done0 = events(&w, "JobCompleted")
        .into_iter()
        .find(|e| e.job.as_deref() == Some("js-w-0"))
        .unwrap()
        .t;
    let waiting = events(&w, "PodUnschedulable")[0].job.clone().unwrap();
    let bound = events(&w, "PodScheduled")
        .into_iter()
        .find(|e| e.job.as_deref() == Some(&*waiting) && e.pod_index == Some(0))
        .unwrap();
    assert!(bound.t > done0);
}

#[test]
fn exclusivity_holds_only_among_pods_of_equal_priority() {
    // The anti-affinity term selects `jobset.sigs.k8s.io/priority In [own]`:
    // a high-priority JobSet may share a rack with a priority-0 one.
    let text = format!(
        "name: t\nhorizon: 1h\n{}jobsets:{}{}\nworkload:\n- {{runFor: 10m}}\n",
        cluster(2, 4, 2),
        js("lo", &excl(), 1, 2, "", ""),
        js("hi", &excl(), 1, 2, "                priorityClassName: high\n", "")
    );
    let w = run(scenario(&text));
    assert!(events(&w, "PodUnschedulable").is_empty());
    assert_eq!(
        rack_of(&w, &node_of(&w, "lo-w-0", 0)),
        rack_of(&w, &node_of(&w, "hi-w-0", 0))
    );
    let jid = w.job_names.get("default", "hi-w-0").expect("the Job exists");
    let pid = w.jobs.get(jid).unwrap().pods.iter().next().unwrap().1;
    assert_eq!(w.pod_labels(pid).0["jobset.sigs.k8s.io/priority"], "100");
}

#[test]
fn a_follower_pinned_to_the_old_leaders_rack_is_evicted_by_the_pod_controller() {
    // §13.3. Racks {n-0, n-1} and {n-2, n-3}, one pod per node. A priority-100
    // blocker holds n-1, so js's leader binds n-0 and its follower (pinned to
    // rack n-0) waits. n-0 is drained: the new leader binds in rack n-1, and the
    // pod controller marks the pinned follower DisruptionTarget /
    // ExclusivePlacementViolation and deletes it; its replacement follows the
    // new leader.
    let text = violation_scenario(5);
    let w = run(scenario(&text));
    let evicted: Vec<_> = events(&w, "PodEvicted")
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("ExclusivePlacementViolation"))
        .collect();
    assert_eq!(evicted.len(), 1, "the pinned follower, once");
    assert_eq!(evicted[0].pod_index, Some(1));
    assert_eq!(
        evicted[0].message.as_deref(),
        Some("Pod violated JobSet exclusive placement policy")
    );
    assert_eq!(node_of(&w, "js-w-0", 0), "n-2");
    assert_eq!(node_of(&w, "js-w-0", 1), "n-3");
    let js_state = |name: &str| {
        w.jobsets
            .iter()
            .find(|(_, j)| &*j.name == name)
            .map(|(_, j)| j.js.status.terminal_state.clone())
    };
    assert_eq!(js_state("js").as_deref(), Some("Completed"));
    // The leader is never evicted by the pod controller.
    assert!(evicted.iter().all(|e| e.pod_index != Some(0)));
}

#[test]
fn node_selector_strategy_uses_pre_labelled_nodes_and_skips_the_pod_webhook() {
    // §13.1: both annotations: the Job's pods get nodeSelector
    // alpha.jobset.sigs.k8s.io/namespaced-job=<ns>_<job> and the no-schedule
    // toleration; the pod webhook skips them (no gating, no affinities, no
    // priority label). The pod controller still reconciles their leaders and,
    // as upstream does, evicts followers whose nodeSelector lacks the topology
    // key; a podFailurePolicy ignoring DisruptionTarget keeps the Job alive.
    let pool = |name: &str, job: &str| {
        format!(
            "  - name: {name}\n    count: 2\n    capacity: {{cpu: \"4\", memory: 64Gi}}\n    labels: {{alpha.jobset.sigs.k8s.io/namespaced-job: default_{job}, cloud.google.com/gke-nodepool: {name}}}\n    taints: [{{key: alpha.jobset.sigs.k8s.io/no-schedule, value: \"true\", effect: NoSchedule}}]\n"
        )
    };
    let ann = "alpha.jobset.sigs.k8s.io/exclusive-topology: cloud.google.com/gke-nodepool, alpha.jobset.sigs.k8s.io/node-selector: \"true\"";
    let pfp = "            podFailurePolicy:\n              rules:\n              - {action: Ignore, onPodConditions: [{type: DisruptionTarget, status: \"True\"}]}\n";
    let text = format!(
        "name: t\ncluster:\n  nodePools:\n{}{}  - {{name: plain, count: 4, capacity: {{cpu: \"64\", memory: 64Gi}}}}\njobsets:{}\nworkload:\n- {{runFor: 10m}}\n",
        pool("np-a", "js-w-0"),
        pool("np-b", "js-w-1"),
        js("js", ann, 2, 2, "                restartPolicy: Never\n", pfp)
    );
    let w = run(scenario(&text));
    assert!(
        events(&w, "Event")
            .iter()
            .all(|e| e.reason.as_deref() != Some("FailedCreate")),
        "no follower gating"
    );
    let created = events(&w, "PodCreated");
    assert_eq!(created[0].t, created[1].t, "leader and follower created in one sync");
    assert!(node_of(&w, "js-w-0", 0).starts_with("np-a-"));
    assert!(node_of(&w, "js-w-0", 1).starts_with("np-a-"));
    assert!(node_of(&w, "js-w-1", 0).starts_with("np-b-"));
    assert!(node_of(&w, "js-w-1", 1).starts_with("np-b-"));
    let jid = w.job_names.get("default", "js-w-0").expect("the Job exists");
    let pid = w.jobs.get(jid).unwrap().pods.iter().next().unwrap().1;
    assert!(!w.pod_labels(pid).0.contains_key("jobset.sigs.k8s.io/priority"));
    let evicted = events(&w, "PodEvicted")
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("ExclusivePlacementViolation"))
        .count();
    assert!(
        evicted >= 2,
        "followers without the topology key in their nodeSelector are evicted"
    );
    assert_eq!(w.jobsets.iter().next().unwrap().1.js.status.terminal_state, "Completed");
}

#[test]
fn the_upstream_exclusive_placement_example_puts_one_job_per_node_pool() {
    // simple/exclusive-placement.yaml: 3 Jobs of 3 pods, one per gke-nodepool.
    if !repo().join("../shared/upstream-examples").exists() {
        return;
    }
    let text = "name: t\ncluster:\n  nodePools:\n  - name: pool\n    count: 9\n    capacity: {cpu: \"8\", memory: 32Gi}\n    topology: [{key: cloud.google.com/gke-nodepool, nodesPerDomain: 3}]\njobsets:\n- manifest: ../shared/upstream-examples/simple/exclusive-placement.yaml\n";
    let sc = jobset_sim::scenario::parse_scenario(text, &repo().join("inline.yaml")).unwrap();
    let w = run(std::sync::Arc::new(sc));
    let mut pools = std::collections::BTreeSet::new();
    for j in 0..3 {
        let job = format!("exclusive-placement-workers-{j}");
        let nodes: std::collections::BTreeSet<String> = w
            .trace
            .keep
            .as_ref()
            .unwrap()
            .iter()
            .filter(|e| e.event == "PodScheduled" && e.job.as_deref() == Some(&*job))
            .map(|e| rack_like(&w, e.node.as_deref().unwrap()))
            .collect();
        assert_eq!(nodes.len(), 1, "{job} in one node pool: {nodes:?}");
        pools.extend(nodes);
    }
    assert_eq!(pools.len(), 3, "three Jobs, three node pools");
}

fn rack_like(w: &World, node: &str) -> String {
    w.nodes[w.node_names[node]].labels["cloud.google.com/gke-nodepool"].clone()
}

#[test]
fn validate_run_gives_exclusive_jobsets_domains_and_node_selector_jobs_labelled_nodes() {
    let dir = std::env::temp_dir().join(format!("jobset-sim-placement-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = |name: &str, ann: &str| {
        format!(
            "apiVersion: jobset.x-k8s.io/v1alpha2\nkind: JobSet\nmetadata:\n  name: {name}\n  annotations: {{{ann}}}\nspec:\n  replicatedJobs:\n  - name: w\n    replicas: 3\n    template:\n      spec:\n        parallelism: 2\n        completions: 2\n        backoffLimit: 10\n        template:\n          spec:\n            containers: [{{name: c, image: x}}]\n"
        )
    };
    let a = dir.join("affinity.yaml");
    std::fs::write(&a, manifest("aff", &excl())).unwrap();
    let n = dir.join("nodeselector.yaml");
    std::fs::write(
        &n,
        manifest(
            "nsel",
            &format!("{}, alpha.jobset.sigs.k8s.io/node-selector: \"true\"", excl()),
        ),
    )
    .unwrap();
    let o = cli(&["validate", "--run", a.to_str().unwrap(), n.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("run: aff Completed"), "{}", o.stdout);
    assert!(o.stdout.contains("run: nsel Completed"), "{}", o.stdout);
}

#[test]
fn a_non_indexed_exclusive_job_never_gets_past_its_first_pods() {
    // Upstream: only completion index "0" is a leader; NonIndexed pods carry no
    // completion index, so every pod is a follower whose leader
    // `<job>-0-*` never exists: each creation is denied and retried.
    let text = format!(
        "name: t\nhorizon: 5m\n{}jobsets:{}\nworkload:\n- {{runFor: 1m}}\n",
        cluster(4, 4, 2),
        js("js", &excl(), 1, 2, "", "            completionMode: NonIndexed\n")
    );
    let w = run(scenario(&text));
    assert!(events(&w, "PodCreated").is_empty());
    let denied = events(&w, "Event");
    assert!(!denied.is_empty());
    assert!(denied.iter().all(|e| e.message.as_deref()
        == Some(
            "Error creating: admission webhook \"vpod.kb.io\" denied the request: follower pod node selector not set"
        )));
}

#[test]
fn explain_names_a_placement_violation_as_the_cause_of_a_job_failure() {
    // The violation case with backoffLimit 1: the drained leader (1) and the evicted
    // follower (2) exceed it, and explain names the pod controller's eviction.
    let text = violation_scenario(1);
    let dir = std::env::temp_dir().join(format!("jobset-sim-explain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("violation.yaml");
    std::fs::write(&f, text).unwrap();
    let o = cli(&["explain", f.to_str().unwrap(), "--jobset", "js"]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("(DisruptionTarget/ExclusivePlacementViolation)"),
        "{}",
        o.stdout
    );
}

/// Racks {n-0, n-1} and {n-2, n-3}, one pod per node; a priority-100 blocker holds n-1, so
/// js's leader binds n-0 and its follower, pinned to that rack, waits; n-0 is drained at 2m.
fn violation_scenario(backoff_limit: u32) -> String {
    let blocker = js(
        "other",
        "",
        1,
        1,
        "                priorityClassName: high\n                nodeSelector: {kubernetes.io/hostname: n-1}\n",
        "",
    );
    let late = js("js", &excl(), 1, 2, "", "")
        .replace("backoffLimit: 0", &format!("backoffLimit: {backoff_limit}"))
        .replacen("\n- inline:", "\n- at: 1s\n  inline:", 1);
    format!(
        "name: t\n{}jobsets:{}{}\nworkload:\n- {{runFor: 30m}}\nfaults:\n- {{at: 2m, nodeFailure: {{node: n-0, mode: drain}}}}\n",
        cluster(4, 1, 2),
        blocker,
        late
    )
}
