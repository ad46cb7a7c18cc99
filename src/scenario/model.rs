//! The resolved scenario: what the engine runs. Built by `parse.rs` from format v1.

use crate::api::JobSet;
use crate::units::Millis;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// JobSet feature gates (upstream defaults: all alpha gates off).
pub use crate::admission::FeatureGates as Gates;

#[derive(Debug, Clone)]
pub struct Scenario {
    pub file: PathBuf,
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub horizon: Millis,
    pub gates: Gates,
    pub cluster: Cluster,
    pub timing: Timing,
    pub submissions: Vec<Submission>,
    pub workload: Vec<WorkloadRule>,
    pub training: Vec<TrainingSpec>,
    pub faults: Vec<Fault>,
    /// Seeded random fault processes (`faults[].random`), each with its own stream.
    pub random_faults: Vec<RandomFault>,
    pub expect: Vec<Expectation>,
    /// Seeded control-plane trouble (`hardship:`); `None` when absent (off).
    pub hardship: Option<Hardship>,
    /// Documents of other kinds found in manifests, reported as skipped: (source, kind, name).
    pub skipped: Vec<(String, String, String)>,
    /// Valid Kubernetes fields kept but not simulated (paths).
    pub not_simulated: Vec<String>,
    pub max_events: u64,
    /// PriorityClass name → value (scenario `cluster.priorityClasses`, manifests' PriorityClass
    /// documents, and the two system classes).
    pub priority_classes: BTreeMap<String, i32>,
    /// The value of the `globalDefault` PriorityClass, else 0.
    pub default_priority: i32,
}

#[derive(Debug, Clone)]
pub struct Cluster {
    pub pools: Vec<NodePool>,
    /// Queue definitions (`cluster.queues` and Kueue documents in manifests).
    pub queues: super::kueue::QueueConfig,
    /// `cluster.priorityClasses`: (name, value, globalDefault).
    pub priority_classes: Vec<(String, i32, bool)>,
}

#[derive(Debug, Clone)]
pub struct NodePool {
    pub name: String,
    pub count: u32,
    /// Resource name → allocatable in milli-units.
    pub capacity: BTreeMap<String, i128>,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub topology: Vec<(String, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: String,
}

#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub pod_startup: Millis,
    pub pod_ready: Millis,
    pub pod_termination: Millis,
    pub controller_delay: Millis,
    pub scheduler_delay: Millis,
    pub node_monitor_grace: Millis,
    pub eviction_toleration: Millis,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            pod_startup: 10_000,
            pod_ready: 1_000,
            pod_termination: 1_000,
            controller_delay: 10,
            scheduler_delay: 10,
            node_monitor_grace: 50_000,
            eviction_toleration: 300_000,
        }
    }
}

/// Control-plane hardship (`hardship:`), each part off when zero / absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hardship {
    /// Each watch notification to a controller is delivered up to this much later (uniform).
    pub watch_delay: Millis,
    /// Probability that a status write (JobSet or Job) fails with a Conflict.
    pub status_conflicts: f64,
    /// Extra time a deleted Job stays in the store (deletionTimestamp set) before it is gone.
    pub slow_deletion: Millis,
    /// Controller restarts (a Poisson process per controller), when set.
    pub controller_restarts: Option<ControllerRestarts>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControllerRestarts {
    /// Mean time between restarts of each controller.
    pub mtbf: Millis,
    /// Time from the crash until the restarted controller has listed the store and resyncs.
    pub restart_delay: Millis,
}

#[derive(Debug, Clone)]
pub struct Submission {
    pub at: Millis,
    pub queue: Option<String>,
    pub source: String,
    /// The parsed manifest (before admission).
    pub jobset: JobSet,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodMatch {
    pub jobset: Option<String>,
    pub replicated_job: Option<String>,
    pub job_index: Option<i64>,
    pub pod_index: Option<i64>,
    pub restart_attempt: Option<i64>,
    pub job_restart_attempt: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct WorkloadRule {
    pub matcher: PodMatch,
    /// `None`: the container never exits by itself.
    pub run_for: Option<Millis>,
    pub exit_code: i32,
}

/// The gang-progress model of one JobSet (`training:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingSpec {
    pub jobset: String,
    pub work: Millis,
    pub checkpoint_every: Millis,
    pub checkpoint_cost: Millis,
    pub restore_cost: Millis,
}

#[derive(Debug, Clone)]
pub struct Fault {
    pub at: Millis,
    pub kind: FaultKind,
}

#[derive(Debug, Clone)]
pub enum FaultKind {
    PodFailure {
        matcher: PodMatch,
        exit_code: i32,
    },
    JobFailure {
        matcher: PodMatch,
        reason: String,
        message: String,
    },
    JobSuccess {
        matcher: PodMatch,
    },
    NodeFailure {
        target: NodeTarget,
        recover_after: Option<Millis>,
        mode: NodeFaultMode,
    },
    Update {
        jobset: String,
        namespace: String,
        action: UpdateAction,
    },
    DeleteObject {
        kind: String,
        name: String,
        namespace: String,
    },
}

/// A seeded Poisson fault process (`faults: - random: ...`).
#[derive(Debug, Clone)]
pub struct RandomFault {
    /// Where in the scenario: `faults[3]`; its index picks the RNG stream.
    pub path: String,
    pub stream: u64,
    pub kind: RandomKind,
}

#[derive(Debug, Clone)]
pub enum RandomKind {
    /// Each node of the pool fails independently with exponential inter-failure
    /// times of mean `mtbf` (or the profile's per-node-day rates).
    NodeFailure {
        pool: Option<String>,
        mtbf: Option<Millis>,
        profile: Option<Profile>,
        recover_after: Option<Delay>,
        mode: NodeFaultMode,
    },
    /// Each running pod that matches fails independently with mean time between failures `mtbf`.
    PodFailure {
        matcher: PodMatch,
        mtbf: Millis,
        exit_code: i32,
    },
    /// A whole topology domain (all nodes sharing the value of `key`) fails at once.
    DomainFailure {
        pool: Option<String>,
        key: String,
        mtbf: Millis,
        recover_after: Option<Delay>,
    },
}

/// How a node fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeFaultMode {
    /// The host dies: the kubelet stops reporting; NotReady after the grace period,
    /// taint eviction after the toleration, evicted pods Terminating until it returns.
    Crash,
    /// Graceful maintenance: cordon, then evict every pod through the Eviction API.
    Drain,
    /// A device fails under a live kubelet: every container on the node dies at once
    /// (exit code 137, reported immediately) and the node is cordoned until it recovers.
    Fail,
}

impl NodeFaultMode {
    pub fn parse(s: &str) -> Option<NodeFaultMode> {
        match s {
            "crash" => Some(NodeFaultMode::Crash),
            "drain" => Some(NodeFaultMode::Drain),
            "fail" => Some(NodeFaultMode::Fail),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            NodeFaultMode::Crash => "crash",
            NodeFaultMode::Drain => "drain",
            NodeFaultMode::Fail => "fail",
        }
    }
}

/// A delay that is fixed or drawn from a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delay {
    Fixed(Millis),
    Exponential(Millis),
    Uniform(Millis, Millis),
}

/// A built-in table of interruption causes with rates per node-day.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    /// (cause, weight in events per reference period, graceful drain?)
    pub causes: Vec<(&'static str, u32, bool)>,
    /// Total events of the table over the reference node-days.
    pub node_days: f64,
}

impl Profile {
    /// Llama 3 (Meta, 2024, Table 5): 54 days on 16,384 GPUs (2,048 hosts of 8 GPUs):
    /// 419 unexpected interruptions by cause, plus 47 planned maintenance events.
    pub fn llama3() -> Profile {
        let causes = vec![
            ("faulty-gpu", 148, false),
            ("gpu-hbm3-memory", 72, false),
            ("software-bug", 54, false),
            ("network-switch-cable", 35, false),
            ("host-maintenance", 32, false),
            ("gpu-sram-memory", 19, false),
            ("gpu-system-processor", 17, false),
            ("nic", 7, false),
            ("nccl-watchdog-timeout", 7, false),
            ("silent-data-corruption", 6, false),
            ("gpu-thermal", 6, false),
            ("ssd", 3, false),
            ("power-supply", 3, false),
            ("server-chassis", 2, false),
            ("io-expansion-board", 2, false),
            ("dependency", 2, false),
            ("cpu", 2, false),
            ("system-memory", 2, false),
            ("planned-maintenance", 47, true),
        ];
        Profile {
            name: "llama3".into(),
            causes,
            node_days: 54.0 * 2048.0,
        }
    }
    pub fn total(&self) -> u32 {
        self.causes.iter().map(|c| c.1).sum()
    }
}

#[derive(Debug, Clone)]
pub enum NodeTarget {
    Node(String),
    Pool { pool: String, count: u32 },
}

#[derive(Debug, Clone)]
pub enum UpdateAction {
    Suspend(bool),
    Delete,
    Replicas { replicated_job: String, replicas: i32 },
    Patch(Value),
}

#[derive(Debug, Clone)]
pub struct Expectation {
    /// Where in the scenario file: `expect[3]`.
    pub path: String,
    pub kind: ExpectKind,
}

#[derive(Debug, Clone)]
pub enum ExpectKind {
    State(Box<StateExpect>),
    Order {
        first: EventFilter,
        then: EventFilter,
        from: Option<Millis>,
        to: Option<Millis>,
    },
    Event {
        filter: EventFilter,
        count: Option<u64>,
        min: Option<u64>,
        max: Option<u64>,
        from: Option<Millis>,
        to: Option<Millis>,
    },
    ValidationError {
        contains: String,
        jobset: Option<String>,
    },
}

#[derive(Debug, Clone, Default)]
pub struct StateExpect {
    pub jobset: String,
    pub namespace: String,
    pub at: Option<Millis>,
    pub terminal_state: Option<String>,
    pub restarts: Option<i64>,
    pub restarts_count_towards_max: Option<i64>,
    pub conditions: Vec<CondExpect>,
    pub absent_conditions: Vec<String>,
    pub replicated_jobs_status: Vec<(String, BTreeMap<String, Value>)>,
    pub finished_within: Option<Millis>,
    pub jobs: Vec<JobExpect>,
    pub absent_jobs: Vec<String>,
    pub pods: Vec<PodExpect>,
    pub services: Vec<String>,
    pub absent_services: Vec<String>,
    pub exists: Option<bool>,
    pub spec: Option<Value>,
    /// PersistentVolumeClaims that exist (format addition), checked even when the JobSet is gone.
    pub pvcs: Vec<PvcExpect>,
    pub absent_pvcs: Vec<String>,
    /// In-place restart status fields (format addition).
    pub current_in_place_restart_attempt: Option<i64>,
    pub previous_in_place_restart_attempt: Option<i64>,
}

/// An expected PVC: a name, or `{name, labels, ownerReference}` (ownerReference:
/// whether it carries the JobSet's controller owner reference).
#[derive(Debug, Clone, Default)]
pub struct PvcExpect {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub owner_reference: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct CondExpect {
    pub type_: String,
    pub status: Option<String>,
    pub reason: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct JobExpect {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub suspended: Option<bool>,
    /// Format addition (elastic Jobs): the Job's own `parallelism` / `completions`.
    pub parallelism: Option<i64>,
    pub completions: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct PodExpect {
    pub job: String,
    pub pod_index: Option<i64>,
    pub hostname: Option<String>,
    pub subdomain: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub node: Option<String>,
    pub phase: Option<String>,
    /// Format additions: the pod's container restart count, and its PVC volumes (volume name -> claimName).
    pub restart_count: Option<i64>,
    pub volumes: BTreeMap<String, String>,
}

/// A filter on trace events: `event` name plus field equalities.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub event: Option<String>,
    pub fields: BTreeMap<String, Value>,
}
