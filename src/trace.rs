//! The trace: one JSON object per line, in simulated-time order, byte-identical
//! for the same scenario and seed. Its FNV-1a hash identifies a run.

use serde::Serialize;
use std::io::Write;
use std::sync::Arc;

/// Event names scenarios may use in `order` and `event` expectations.
pub const EVENT_NAMES: &[&str] = &[
    "JobSetCreated",
    "JobSetRejected",
    "ServiceCreated",
    "ServiceDeleted",
    "JobCreated",
    "JobDeleted",
    "JobSuspended",
    "JobResumed",
    "JobCompleted",
    "JobFailed",
    "JobFailureTarget",
    "JobSuccessCriteriaMet",
    "PodCreated",
    "PodScheduled",
    "PodUnschedulable",
    "PodRunning",
    "PodReady",
    "PodSucceeded",
    "PodFailed",
    "PodDeleted",
    "ContainerRestarted",
    "NodeFailed",
    "NodeNotReady",
    "PodNotReady",
    "PodEvicted",
    "PodPreempted",
    "NodeRecovered",
    "FaultInjected",
    "FailurePolicyRuleMatched",
    "JobSetRestarting",
    "JobSetCompleted",
    "JobSetFailed",
    "JobSetSuspended",
    "JobSetResumed",
    "JobSetDeleted",
    "WorkloadAdmitted",
    "WorkloadEvicted",
    "WorkloadPending",
    "UpdateRejected",
    "TrainingCompleted",
    "PersistentVolumeClaimCreated",
    "PersistentVolumeClaimDeleted",
    "JobScaled",
    "InPlaceAttemptReported",
    "InPlaceAttemptCurrent",
    "InPlaceRestartStarted",
    "InPlaceRestartExit",
    "InPlaceBarrierLifted",
    "HardshipInjected",
    "ControllerResynced",
    "Event",
];

/// Keys that `order`/`event` filters may compare.
pub const FILTER_KEYS: &[&str] = &[
    "jobset",
    "namespace",
    "replicatedJob",
    "jobIndex",
    "podIndex",
    "job",
    "pod",
    "node",
    "restartAttempt",
    "jobRestartAttempt",
    "rule",
    "action",
    "attempt",
    "reason",
    "type",
    "message",
    "object",
    "exitCode",
    "cause",
    "queue",
    "clusterQueue",
];

pub type Name = Arc<str>;

/// One trace line. Field order here is the order in the JSON.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceEvent {
    pub t: u64,
    pub seq: u64,
    pub event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jobset: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicated_job: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_index: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_index: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_attempt: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_restart_attempt: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// The LocalQueue a Workload event concerns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_queue: Option<Name>,
}

impl TraceEvent {
    /// Feeds the event into the run's trace hash: a canonical binary encoding
    /// (fixed field order, a tag byte per present field, little-endian
    /// integers, NUL-terminated strings). Stable across versions of serde_json.
    pub fn hash_into(&self, h: &mut Fnv64) {
        h.write(&self.t.to_le_bytes());
        h.write(self.event.as_bytes());
        h.write(&[0]);
        let names = [
            &self.namespace,
            &self.jobset,
            &self.replicated_job,
            &self.job,
            &self.pod,
            &self.node,
            &self.queue,
            &self.cluster_queue,
        ];
        for (tag, v) in names.iter().enumerate() {
            if let Some(v) = v {
                h.write(&[tag as u8 + 1]);
                h.write(v.as_bytes());
                h.write(&[0]);
            }
        }
        let ints = [
            self.job_index,
            self.pod_index,
            self.restart_attempt,
            self.job_restart_attempt,
            self.attempt,
            self.exit_code,
        ];
        for (tag, v) in ints.iter().enumerate() {
            if let Some(v) = v {
                h.write(&[tag as u8 + 16]);
                h.write(&v.to_le_bytes());
            }
        }
        let strs = [
            &self.rule,
            &self.action,
            &self.reason,
            &self.message,
            &self.object,
            &self.cause,
        ];
        for (tag, v) in strs.iter().enumerate() {
            if let Some(v) = v {
                h.write(&[tag as u8 + 32]);
                h.write(v.as_bytes());
                h.write(&[0]);
            }
        }
        if let Some(t) = self.type_ {
            h.write(&[48]);
            h.write(t.as_bytes());
            h.write(&[0]);
        }
    }

    /// The value of a filter key, as JSON, for expectation matching.
    pub fn field(&self, key: &str) -> Option<serde_json::Value> {
        use serde_json::Value;
        let s = |v: &Option<Name>| v.as_ref().map(|x| Value::String(x.to_string()));
        let n = |v: &Option<i64>| v.map(Value::from);
        let st = |v: &Option<String>| v.as_ref().map(|x| Value::String(x.clone()));
        match key {
            "jobset" => s(&self.jobset),
            "namespace" => s(&self.namespace),
            "replicatedJob" => s(&self.replicated_job),
            "jobIndex" => n(&self.job_index),
            "podIndex" => n(&self.pod_index),
            "job" => s(&self.job),
            "pod" => s(&self.pod),
            "node" => s(&self.node),
            "restartAttempt" => n(&self.restart_attempt),
            "jobRestartAttempt" => n(&self.job_restart_attempt),
            "rule" => st(&self.rule),
            "action" => st(&self.action),
            "attempt" => n(&self.attempt),
            "reason" => st(&self.reason),
            "type" => self.type_.map(|t| Value::String(t.into())),
            "message" => st(&self.message),
            "object" => st(&self.object),
            "exitCode" => n(&self.exit_code),
            "cause" => st(&self.cause),
            "queue" => s(&self.queue),
            "clusterQueue" => s(&self.cluster_queue),
            _ => None,
        }
    }
}

/// 64-bit FNV-1a, stable forever (unlike std's hasher).
#[derive(Debug, Clone, Copy)]
pub struct Fnv64(pub u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// Where trace lines go: always hashed and counted; optionally written and/or kept.
pub struct TraceSink {
    pub count: u64,
    pub hash: Fnv64,
    writer: Option<Box<dyn Write>>,
    pub keep: Option<Vec<TraceEvent>>,
    buf: Vec<u8>,
    pub write_error: Option<String>,
}

impl TraceSink {
    pub fn new(writer: Option<Box<dyn Write>>, keep: bool) -> TraceSink {
        TraceSink {
            count: 0,
            hash: Fnv64::default(),
            writer,
            keep: keep.then(Vec::new),
            buf: Vec::with_capacity(512),
            write_error: None,
        }
    }

    pub fn emit(&mut self, ev: &TraceEvent) {
        self.count += 1;
        ev.hash_into(&mut self.hash);
        if let Some(w) = self.writer.as_mut() {
            self.buf.clear();
            serde_json::to_writer(&mut self.buf, ev).expect("trace events serialize");
            self.buf.push(b'\n');
            if let Err(e) = w.write_all(&self.buf)
                && self.write_error.is_none()
            {
                self.write_error = Some(e.to_string());
            }
        }
        if let Some(k) = self.keep.as_mut() {
            k.push(ev.clone());
        }
    }

    pub fn flush(&mut self) {
        if let Some(w) = self.writer.as_mut()
            && let Err(e) = w.flush()
        {
            self.write_error.get_or_insert(e.to_string());
        }
    }
}
