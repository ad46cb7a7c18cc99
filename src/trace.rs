//! The trace: one JSON object per line, in simulated-time order, byte-identical
//! for the same scenario and seed. Its FNV-1a hash identifies a run.

use serde::Serialize;
use std::io::Write;

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

/// A shared name (object names, label values). Reference-counted without atomics: a
/// simulation runs on one thread (its `World` is never sent to another; `sweep` gives
/// each run its own), and a Job or pod clones several names as it is created and drops
/// them as it goes, thousands of times per restart.
pub type Name = std::rc::Rc<str>;

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
    /// The event's fields as the trace hash encodes them.
    pub fn hash_fields(&self) -> HashFields<'_> {
        fn n(v: &Option<Name>) -> Option<&str> {
            v.as_deref()
        }
        fn st(v: &Option<String>) -> Option<&str> {
            v.as_deref()
        }
        HashFields {
            t: self.t,
            event: self.event,
            names: [
                n(&self.namespace),
                n(&self.jobset),
                n(&self.replicated_job),
                n(&self.job),
                n(&self.pod),
                n(&self.node),
                n(&self.queue),
                n(&self.cluster_queue),
            ],
            ints: [
                self.job_index,
                self.pod_index,
                self.restart_attempt,
                self.job_restart_attempt,
                self.attempt,
                self.exit_code,
            ],
            strs: [
                st(&self.rule),
                st(&self.action),
                st(&self.reason),
                st(&self.message),
                st(&self.object),
                st(&self.cause),
            ],
            type_: self.type_,
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

/// One trace event's fields, borrowed, in the order and grouping of its hash
/// encoding. The engine builds these straight from the store for its most
/// frequent events when nothing needs an owned `TraceEvent` (no trace file,
/// no event expectations, no invariant checker).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HashFields<'a> {
    pub t: u64,
    pub event: &'static str,
    /// namespace, jobset, replicatedJob, job, pod, node, queue, clusterQueue (tags 1–8).
    pub names: [Option<&'a str>; 8],
    /// jobIndex, podIndex, restartAttempt, jobRestartAttempt, attempt, exitCode (tags 16–21).
    pub ints: [Option<i64>; 6],
    /// rule, action, reason, message, object, cause (tags 32–37).
    pub strs: [Option<&'a str>; 6],
    /// type (tag 48).
    pub type_: Option<&'static str>,
}

impl HashFields<'_> {
    /// Appends the canonical binary encoding the run's trace hash is fed: the
    /// time (little-endian u64) and the event name, then each present field as
    /// a tag byte and its value (strings NUL-terminated, integers little-endian
    /// i64), in tag order. Stable across versions of serde_json.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        // Room for a typical event up front (longer ones grow the buffer as they go).
        out.reserve(256);
        encode::head(out, self.t, self.event);
        for (tag, v) in self.names.iter().enumerate() {
            if let Some(v) = v {
                encode::str(out, tag as u8 + 1, v);
            }
        }
        for (tag, v) in self.ints.iter().enumerate() {
            if let Some(v) = v {
                encode::int(out, tag as u8 + 16, *v);
            }
        }
        for (tag, v) in self.strs.iter().enumerate() {
            if let Some(v) = v {
                encode::str(out, tag as u8 + 32, v);
            }
        }
        if let Some(t) = self.type_ {
            encode::str(out, 48, t);
        }
    }
}

/// The pieces of the canonical event encoding (`HashFields::encode_into`), for
/// encoders that write an event's fields straight from where they live. A
/// caller writes the head, then each present field in tag order.
pub mod encode {
    /// Field tags: names 1–8, integers 16–21, strings 32–37, `type` 48.
    pub const NAMESPACE: u8 = 1;
    pub const JOBSET: u8 = 2;
    pub const REPLICATED_JOB: u8 = 3;
    pub const JOB: u8 = 4;
    pub const POD: u8 = 5;
    pub const NODE: u8 = 6;
    pub const JOB_INDEX: u8 = 16;
    pub const POD_INDEX: u8 = 17;
    pub const RESTART_ATTEMPT: u8 = 18;
    pub const JOB_RESTART_ATTEMPT: u8 = 19;

    /// The time (little-endian u64) and the NUL-terminated event name.
    #[inline]
    pub fn head(out: &mut Vec<u8>, t: u64, event: &str) {
        out.extend_from_slice(&t.to_le_bytes());
        out.extend_from_slice(event.as_bytes());
        out.push(0);
    }

    /// A string field: its tag, its bytes, a NUL.
    #[inline]
    pub fn str(out: &mut Vec<u8>, tag: u8, v: &str) {
        out.push(tag);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }

    /// An integer field: its tag and the value as little-endian i64.
    #[inline]
    pub fn int(out: &mut Vec<u8>, tag: u8, v: i64) {
        let mut b = [0u8; 9];
        b[0] = tag;
        b[1..].copy_from_slice(&v.to_le_bytes());
        out.extend_from_slice(&b);
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
///
/// The hash is FNV-1a over the events' canonical encodings (`HashFields::encode_into`).
/// FNV-1a is one multiply per byte in a serial chain, so the encodings are
/// gathered into blocks and hashed a block at a time, either inline or, with
/// `hash_thread`, on a second thread while the simulation goes on (the same
/// bytes in the same order, so the same hash).
pub struct TraceSink {
    pub count: u64,
    /// The trace hash, final once `flush` ran (`World::finish`).
    pub hash: Fnv64,
    hasher: BlockHasher,
    writer: Option<Box<dyn Write>>,
    pub keep: Option<Vec<TraceEvent>>,
    buf: Vec<u8>,
    pub write_error: Option<String>,
}

/// Bytes gathered before a block is hashed.
const HASH_BLOCK: usize = 1 << 20;

/// FNV-1a over a stream of blocks, inline or on a worker thread.
struct BlockHasher {
    block: Vec<u8>,
    state: Fnv64,
    worker: Option<HashWorker>,
}

struct HashWorker {
    full: std::sync::mpsc::SyncSender<Vec<u8>>,
    empty: std::sync::mpsc::Receiver<Vec<u8>>,
    handle: std::thread::JoinHandle<Fnv64>,
}

impl BlockHasher {
    fn new(thread: bool) -> BlockHasher {
        let worker = thread.then(|| {
            let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
            let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<u8>>();
            let handle = std::thread::Builder::new()
                .name("trace-hash".into())
                .spawn(move || {
                    let mut h = Fnv64::default();
                    for mut block in full_rx {
                        h.write(&block);
                        block.clear();
                        // The main thread may have stopped taking blocks back; that is fine.
                        let _ = empty_tx.send(block);
                    }
                    h
                })
                .expect("spawn the trace hash thread");
            HashWorker {
                full: full_tx,
                empty: empty_rx,
                handle,
            }
        });
        BlockHasher {
            block: Vec::with_capacity(HASH_BLOCK + 1024),
            state: Fnv64::default(),
            worker,
        }
    }

    fn push(&mut self, ev: &HashFields<'_>) {
        self.push_with(|out| ev.encode_into(out));
    }

    /// Appends one event's canonical encoding, written by `encode`.
    #[inline]
    fn push_with(&mut self, encode: impl FnOnce(&mut Vec<u8>)) {
        encode(&mut self.block);
        if self.block.len() >= HASH_BLOCK {
            self.hand_off();
        }
    }

    fn hand_off(&mut self) {
        match &self.worker {
            None => {
                self.state.write(&self.block);
                self.block.clear();
            }
            Some(w) => {
                let next = w
                    .empty
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(HASH_BLOCK + 1024));
                let full = std::mem::replace(&mut self.block, next);
                if w.full.send(full).is_err() {
                    panic!("the trace hash thread stopped");
                }
            }
        }
    }

    /// The hash of every event so far.
    fn finish(&mut self) -> Fnv64 {
        if let Some(w) = self.worker.take() {
            let rest = std::mem::take(&mut self.block);
            w.full.send(rest).expect("the trace hash thread runs");
            drop(w.full);
            self.state = w.handle.join().expect("the trace hash thread does not panic");
        } else {
            self.state.write(&self.block);
            self.block.clear();
        }
        self.state
    }
}

impl TraceSink {
    pub fn new(writer: Option<Box<dyn Write>>, keep: bool) -> TraceSink {
        TraceSink::with_hash_thread(writer, keep, false)
    }

    /// A sink whose hash runs on a second thread when `hash_thread` is set.
    pub fn with_hash_thread(writer: Option<Box<dyn Write>>, keep: bool, hash_thread: bool) -> TraceSink {
        TraceSink {
            count: 0,
            hash: Fnv64::default(),
            hasher: BlockHasher::new(hash_thread),
            writer,
            keep: keep.then(Vec::new),
            buf: Vec::with_capacity(512),
            write_error: None,
        }
    }

    pub fn emit(&mut self, ev: &TraceEvent) {
        self.count += 1;
        self.hasher.push(&ev.hash_fields());
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

    /// Whether emitting needs a whole `TraceEvent` (to write or keep it).
    pub fn needs_events(&self) -> bool {
        self.writer.is_some() || self.keep.is_some()
    }

    /// Counts and hashes an event whose canonical encoding `encode` appends
    /// (the bytes `HashFields::encode_into` would write for it); only for a
    /// sink that neither writes nor keeps events.
    #[inline]
    pub fn emit_encoded(&mut self, encode: impl FnOnce(&mut Vec<u8>)) {
        debug_assert!(!self.needs_events());
        self.count += 1;
        self.hasher.push_with(encode);
    }

    /// Flushes the writer and settles `hash` over every event so far. With a hash
    /// thread, the first flush ends the thread and later events are hashed inline.
    pub fn flush(&mut self) {
        self.hash = self.hasher.finish();
        if let Some(w) = self.writer.as_mut()
            && let Err(e) = w.flush()
        {
            self.write_error.get_or_insert(e.to_string());
        }
    }
}
