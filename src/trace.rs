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
        out.extend_from_slice(&int_bytes(tag, v));
    }

    /// The bytes of an integer field (`int`).
    #[inline]
    pub fn int_bytes(tag: u8, v: i64) -> [u8; 9] {
        let mut b = [0u8; 9];
        b[0] = tag;
        b[1..].copy_from_slice(&v.to_le_bytes());
        b
    }
}

/// 64-bit FNV-1a, stable forever (unlike std's hasher).
#[derive(Debug, Clone, Copy)]
pub struct Fnv64(pub u64);

/// The FNV-1a 64-bit prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// `FNV_PRIME` to the powers 0 to 8.
const PRIME_POWERS: [u64; 9] = {
    let mut p = [1u64; 9];
    let mut i = 1;
    while i < 9 {
        p[i] = p[i - 1].wrapping_mul(FNV_PRIME);
        i += 1;
    }
    p
};

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }

    /// `write(&v.to_le_bytes())`, faster: a zero byte only multiplies the state by
    /// the prime, so the high zero bytes of a small value are one multiply.
    #[inline]
    fn write_u64_le(&mut self, v: u64) {
        let n = 8 - (v.leading_zeros() / 8) as usize;
        self.write(&v.to_le_bytes()[..n]);
        self.0 = self.0.wrapping_mul(PRIME_POWERS[8 - n]);
    }

    /// `write(&encode::int_bytes(tag, v))`, as `write_u64_le` does it.
    #[inline]
    fn write_int(&mut self, tag: u8, v: i64) {
        self.write(&[tag]);
        self.write_u64_le(v as u64);
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

/// Slots of the Job and pod definition tables (direct-mapped by id; a power of two).
const DEF_SLOTS: usize = 4096;

/// The record stream a [`BlockHasher`] gathers, which [`Replay`] turns back into the
/// events' canonical encodings as it hashes them. Most events are a Job's or a pod's
/// (`JobCreated`, `PodScheduled`, ...) and carry the same names every time, so the
/// simulation thread sends a Job's, a pod's and a node's names once (a definition)
/// and then, per event, only the time, the event name and which Job, pod and node:
/// the hashing thread, which has time to spare, rebuilds the bytes.
mod rec {
    /// `u32` length, then one event's canonical encoding.
    pub const RAW: u8 = 0;
    /// `u16` slot, `u32` length, the Job's encoded names (`NAMESPACE` .. `JOB`), then
    /// `u8` has-stamp, `i32` job index, `i32` restart attempt, `u8` has-job-restart-
    /// attempt, `i32` job restart attempt.
    pub const JOB: u8 = 1;
    /// `u16` slot, `u32` length, the encoded `POD` name field, `i32` completion index.
    pub const POD: u8 = 2;
    /// `u32` node id, `u32` length, the encoded `NODE` name field.
    pub const NODE: u8 = 3;
    /// `u64` time, `u8` event-name id, `u8` flags (`HAS_JOB`, `HAS_POD`, `HAS_NODE`),
    /// `u16` Job slot, `u16` pod slot, `u32` node id (zero when absent): `EVENT_LEN`
    /// bytes in all.
    pub const EVENT: u8 = 4;
    pub const EVENT_LEN: usize = 19;
    /// `u8` id, `u8` length, the event name.
    pub const NAME: u8 = 5;
    pub const HAS_JOB: u8 = 1;
    pub const HAS_POD: u8 = 2;
    pub const HAS_NODE: u8 = 4;
}

/// A Job's definition in the record stream: its encoded names (`NAMESPACE` ..
/// `JOB`) and its stamp's (job index, restart attempt, job restart attempt).
#[derive(Debug, Default, Clone)]
struct JobDef {
    names: Split,
    stamp: Option<(i32, i32, Option<i32>)>,
}

/// A pod's definition: its encoded `POD` field and completion index (-1 if none).
#[derive(Debug, Default, Clone)]
struct PodDef {
    name: Split,
    index: i32,
}

/// Bytes the replay hashes for a definition: the [`Segment`] of a start many
/// definitions share, if any, then the definition's own bytes.
#[derive(Debug, Default, Clone)]
struct Split {
    shared: Option<u32>,
    own: Vec<u8>,
}

impl Split {
    /// Sets the bytes to `bytes`, of which the first `cut` are shared.
    fn set(&mut self, segments: &mut Segments, bytes: &[u8], cut: usize) {
        self.shared = (cut > 0).then(|| segments.intern(&bytes[..cut]));
        self.own.clear();
        self.own.extend_from_slice(&bytes[cut..]);
    }

    #[inline]
    fn hash(&self, segments: &mut [Segment], h: &mut Fnv64) {
        if let Some(s) = self.shared {
            segments[s as usize].hash(h);
        }
        h.write(&self.own);
    }
}

/// Where the start an encoded name field (tag, name, NUL) shares with its siblings
/// ends: after the name's first `-` followed by a digit. Generated names number
/// their objects there: the Jobs `train-workers-0` .. `train-workers-2047` and their
/// pods `train-workers-0-0-x7k2p` .. all start `train-workers-`, the nodes
/// `gpu-0` .. `gpu-2111` start `gpu-`. Zero if there is no such `-`. (Only speed
/// depends on where the cut is.)
fn shared_cut(field: &[u8]) -> usize {
    field
        .windows(2)
        .position(|w| w[0] == b'-' && w[1].is_ascii_digit())
        .map_or(0, |i| i + 1)
}

/// Hashes a record stream: raw encodings as they are, Job and pod events rebuilt from
/// the definitions sent before them (the same bytes `World`'s owned events encode to,
/// in the same order, so the same FNV-1a hash as hashing those encodings).
#[derive(Default)]
struct Replay {
    state: Fnv64,
    /// Event names (each with its NUL) by id, as segments.
    names: Vec<u32>,
    jobs: Vec<JobDef>,
    pods: Vec<PodDef>,
    /// Nodes' encoded `NODE` fields by node id.
    nodes: Vec<Split>,
    segments: Segments,
}

/// FNV-1a over one fixed byte string from any state, in a multiply and a lookup.
///
/// XORing a byte into the state changes only its low 8 bits, and the low 8 bits of
/// a product depend only on the low 8 bits of its factors. So hashing bytes `s`
/// (`n` of them) from a state `h = H + l`, `l` its low byte and `H` a multiple of
/// 256, ends at `H·Pⁿ + fnv(l, s)`: the high part is only multiplied along. With
/// `pow = Pⁿ` and `add[l] = fnv(l, s) − l·Pⁿ` (all mod 2⁶⁴),
/// `fnv(h, s) = h·pow + add[h mod 256]`: the same result as hashing the bytes one by
/// one, for a table of 256 states built once.
struct Jump {
    pow: u64,
    add: [u64; 256],
}

impl Jump {
    fn new(bytes: &[u8]) -> Box<Jump> {
        let pow = bytes.iter().fold(1u64, |p, _| p.wrapping_mul(FNV_PRIME));
        let mut add = [0u64; 256];
        // Eight starting states at a time: eight independent multiply chains.
        for (c, chunk) in add.chunks_exact_mut(8).enumerate() {
            let mut h: [u64; 8] = std::array::from_fn(|k| (c * 8 + k) as u64);
            for &b in bytes {
                for x in &mut h {
                    *x = (*x ^ u64::from(b)).wrapping_mul(FNV_PRIME);
                }
            }
            for (k, out) in chunk.iter_mut().enumerate() {
                *out = h[k].wrapping_sub(((c * 8 + k) as u64).wrapping_mul(pow));
            }
        }
        Box::new(Jump { pow, add })
    }

    #[inline]
    fn apply(&self, h: u64) -> u64 {
        h.wrapping_mul(self.pow).wrapping_add(self.add[(h & 0xff) as usize])
    }
}

/// Uses of a segment before it gets its [`Jump`]. Building the table hashes the
/// segment 256 times, but as independent multiply chains, about four times faster
/// than the serial chain of one hash: some 64 hashes' worth, repaid by 64 uses.
const JUMP_AFTER: u32 = 64;

/// A byte string the replay hashes again and again (an event name; a Job's
/// namespace, JobSet and replicated Job and the start of its name; the start of a
/// pod's or a node's name): byte by byte at first, through its [`Jump`] once it has
/// been hashed `JUMP_AFTER` times.
///
/// Only strings shared by many objects get a segment: a table is 2 KiB, and one
/// per Job or node (thousands) would make each use a cache miss, slower than the
/// bytes it saves.
struct Segment {
    bytes: std::rc::Rc<[u8]>,
    uses: u32,
    jump: Option<Box<Jump>>,
}

impl Segment {
    #[inline]
    fn hash(&mut self, h: &mut Fnv64) {
        match &self.jump {
            Some(j) => h.0 = j.apply(h.0),
            None => self.hash_bytes(h),
        }
    }

    fn hash_bytes(&mut self, h: &mut Fnv64) {
        h.write(&self.bytes);
        self.uses += 1;
        if self.uses == JUMP_AFTER {
            self.jump = Some(Jump::new(&self.bytes));
        }
    }
}

/// The replay's segments, one per distinct byte string.
#[derive(Default)]
struct Segments {
    all: Vec<Segment>,
    /// Lookup only, never iterated; its keys share the segments' bytes.
    by_bytes: rustc_hash::FxHashMap<std::rc::Rc<[u8]>, u32>,
}

impl Segments {
    /// The segment of `bytes`, added if new.
    fn intern(&mut self, bytes: &[u8]) -> u32 {
        if let Some(&i) = self.by_bytes.get(bytes) {
            return i;
        }
        let i = u32::try_from(self.all.len()).expect("under 4 G segments");
        let bytes: std::rc::Rc<[u8]> = bytes.into();
        self.by_bytes.insert(bytes.clone(), i);
        self.all.push(Segment {
            bytes,
            uses: 0,
            jump: None,
        });
        i
    }
}

/// Reads the fixed-size fields of a record.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let s = &self.b[self.at..self.at + n];
        self.at += n;
        s
    }
    fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }
    fn u16(&mut self) -> usize {
        usize::from(u16::from_le_bytes(self.take(2).try_into().expect("2 bytes")))
    }
    fn u32(&mut self) -> usize {
        u32::from_le_bytes(self.take(4).try_into().expect("4 bytes")) as usize
    }
    fn i32(&mut self) -> i32 {
        i32::from_le_bytes(self.take(4).try_into().expect("4 bytes"))
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take(8).try_into().expect("8 bytes"))
    }
}

impl Replay {
    /// Hashes the events of `block`, a whole number of records.
    fn consume(&mut self, block: &[u8]) {
        let mut c = Cursor { b: block, at: 0 };
        while c.at < block.len() {
            match c.u8() {
                rec::RAW => {
                    let n = c.u32();
                    self.state.write(c.take(n));
                }
                rec::JOB => {
                    let slot = c.u16();
                    let n = c.u32();
                    let names = c.take(n);
                    // The `JOB` field is the last: it starts after the NUL ending the one before.
                    let job = names[..n.saturating_sub(1)]
                        .iter()
                        .rposition(|&b| b == 0)
                        .map_or(0, |i| i + 1);
                    let cut = job + shared_cut(&names[job..]);
                    let has_stamp = c.u8() != 0;
                    let (job_index, restart_attempt) = (c.i32(), c.i32());
                    let has_jra = c.u8() != 0;
                    let jra = c.i32();
                    let d = grown_slot(&mut self.jobs, slot, JobDef::default());
                    d.names.set(&mut self.segments, names, cut);
                    d.stamp = has_stamp.then_some((job_index, restart_attempt, has_jra.then_some(jra)));
                }
                rec::POD => {
                    let slot = c.u16();
                    let n = c.u32();
                    let name = c.take(n);
                    let d = grown_slot(&mut self.pods, slot, PodDef::default());
                    d.name.set(&mut self.segments, name, shared_cut(name));
                    d.index = c.i32();
                }
                rec::NODE => {
                    let id = c.u32();
                    let n = c.u32();
                    let name = c.take(n);
                    let d = grown_slot(&mut self.nodes, id, Split::default());
                    d.set(&mut self.segments, name, shared_cut(name));
                }
                rec::NAME => {
                    let id = usize::from(c.u8());
                    let n = usize::from(c.u8());
                    let mut name = c.take(n).to_vec();
                    name.push(0);
                    *grown_slot(&mut self.names, id, 0) = self.segments.intern(&name);
                }
                rec::EVENT => {
                    let t = c.u64();
                    let event = self.names[usize::from(c.u8())];
                    let flags = c.u8();
                    let (job, pod, node) = (c.u16(), c.u16(), c.u32());
                    let job = (flags & rec::HAS_JOB != 0).then(|| &self.jobs[job]);
                    let pod = (flags & rec::HAS_POD != 0).then(|| &self.pods[pod]);
                    let node = (flags & rec::HAS_NODE != 0).then(|| &self.nodes[node]);
                    // As the owned event encodes (`HashFields::encode_into`): the head, the
                    // Job's names, the pod and node, then the integers in tag order.
                    let segs = &mut self.segments.all;
                    let h = &mut self.state;
                    h.write_u64_le(t);
                    segs[event as usize].hash(h);
                    if let Some(j) = job {
                        j.names.hash(segs, h);
                    }
                    if let Some(p) = pod {
                        p.name.hash(segs, h);
                        if let Some(n) = node {
                            n.hash(segs, h);
                        }
                    }
                    let stamp = job.and_then(|j| j.stamp);
                    if let Some((job_index, _, _)) = stamp {
                        h.write_int(encode::JOB_INDEX, i64::from(job_index));
                    }
                    if let Some(p) = pod
                        && p.index >= 0
                    {
                        h.write_int(encode::POD_INDEX, i64::from(p.index));
                    }
                    if let Some((_, restart_attempt, jra)) = stamp {
                        h.write_int(encode::RESTART_ATTEMPT, i64::from(restart_attempt));
                        if let Some(a) = jra {
                            h.write_int(encode::JOB_RESTART_ATTEMPT, i64::from(a));
                        }
                    }
                }
                other => unreachable!("record type {other}"),
            }
        }
    }
}

/// Which Jobs, pods and nodes the record stream has defined, as [`Replay`] will have
/// them when it reaches the next record: Job and pod tables are direct-mapped by id
/// (ids are never reused, so an entry holding an id is that object's definition)
/// and grow to at most `DEF_SLOTS` as slots are first used.
#[derive(Default)]
struct Defined {
    jobs: Vec<u64>,
    pods: Vec<u64>,
    nodes: Vec<bool>,
    /// Event names by id, and the ids of recently used names by the address of the
    /// `&'static str` (direct-mapped by `name_cache_slot`: a lookup is usually one
    /// comparison). Which address a name has never matters: an id stands for the
    /// name's bytes.
    names: Vec<&'static str>,
    name_cache: [(usize, u8); 1 << NAME_CACHE_BITS],
}

/// Records that `slot` of a definition table holds `id` (the tables grow as slots
/// are first used, so a small run never allocates all `DEF_SLOTS`).
fn define_slot(table: &mut Vec<u64>, slot: usize, id: u64) {
    *grown_slot(table, slot, u64::MAX) = id;
}

/// Slot `i` of a table grown as its slots are first used (new slots hold `fill`).
fn grown_slot<T: Clone>(table: &mut Vec<T>, i: usize, fill: T) -> &mut T {
    if table.len() <= i {
        table.resize(i + 1, fill);
    }
    &mut table[i]
}

/// The slot of `Defined::name_cache` for a name at address `key` (a multiplicative
/// hash: names sit at nearby addresses, which low bits alone would make collide).
fn name_cache_slot(key: usize) -> usize {
    ((key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - NAME_CACHE_BITS)) as usize
}

const NAME_CACHE_BITS: u32 = 5;

/// The direct-mapped slot of id `id`.
fn def_slot(id: u64) -> usize {
    (id as usize) & (DEF_SLOTS - 1)
}

/// A Job or pod event for [`TraceSink::emit_object_event`]: the time, the event name,
/// and the ids of its Job, pod and node, each defined first ([`TraceSink::define_job`]...).
/// The node counts only with a pod.
#[derive(Debug, Clone, Copy)]
pub struct ObjectEvent {
    pub t: u64,
    pub event: &'static str,
    pub job: Option<u64>,
    pub pod: Option<u64>,
    pub node: Option<usize>,
}

/// FNV-1a over a stream of records ([`rec`]), replayed inline or on a worker thread.
struct BlockHasher {
    block: Vec<u8>,
    replay: Replay,
    defined: Defined,
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
                    let mut r = Replay::default();
                    for mut block in full_rx {
                        r.consume(&block);
                        block.clear();
                        // The main thread may have stopped taking blocks back; that is fine.
                        let _ = empty_tx.send(block);
                    }
                    r.state
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
            replay: Replay::default(),
            defined: Defined::default(),
            worker,
        }
    }

    /// Appends one event's canonical encoding as a raw record.
    fn push(&mut self, ev: &HashFields<'_>) {
        self.block.push(rec::RAW);
        let at = self.block.len();
        self.block.extend_from_slice(&[0; 4]);
        ev.encode_into(&mut self.block);
        let n = u32::try_from(self.block.len() - at - 4).expect("an event under 4 GiB");
        self.block[at..at + 4].copy_from_slice(&n.to_le_bytes());
        self.record_done();
    }

    #[inline]
    fn record_done(&mut self) {
        if self.block.len() >= HASH_BLOCK {
            self.hand_off();
        }
    }

    fn hand_off(&mut self) {
        match &self.worker {
            None => {
                self.replay.consume(&self.block);
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
            // Later events are replayed inline, against the definitions the thread had.
            let state = w.handle.join().expect("the trace hash thread does not panic");
            self.replay.state = state;
            self.defined = Defined::default();
        } else {
            self.replay.consume(&self.block);
            self.block.clear();
        }
        self.replay.state
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

    /// Whether Job `id`'s definition is the one the record stream holds in its slot.
    #[inline]
    pub fn job_defined(&self, id: u64) -> bool {
        self.hasher.defined.jobs.get(def_slot(id)) == Some(&id)
    }

    /// Job `id` is gone: it no longer counts as defined (so a defined Job exists).
    pub fn forget_job(&mut self, id: u64) {
        if let Some(d) = self.hasher.defined.jobs.get_mut(def_slot(id))
            && *d == id
        {
            *d = u64::MAX;
        }
    }

    /// Defines Job `id` for the events that follow: `names` appends its encoded name
    /// fields (`NAMESPACE` to `JOB`), `stamp` is its (job index, restart attempt, job
    /// restart attempt). A Job's names and stamp never change.
    /// (Out of line: it runs once per object, and the per-event callers stay small.)
    #[inline(never)]
    pub fn define_job(&mut self, id: u64, names: impl FnOnce(&mut Vec<u8>), stamp: Option<(i32, i32, Option<i32>)>) {
        let slot = def_slot(id);
        define_slot(&mut self.hasher.defined.jobs, slot, id);
        let b = &mut self.hasher.block;
        b.push(rec::JOB);
        b.extend_from_slice(&(slot as u16).to_le_bytes());
        let at = b.len();
        b.extend_from_slice(&[0; 4]);
        names(b);
        let n = u32::try_from(b.len() - at - 4).expect("names under 4 GiB");
        b[at..at + 4].copy_from_slice(&n.to_le_bytes());
        let (job_index, restart_attempt, jra) = stamp.unwrap_or((0, 0, None));
        b.push(u8::from(stamp.is_some()));
        b.extend_from_slice(&job_index.to_le_bytes());
        b.extend_from_slice(&restart_attempt.to_le_bytes());
        b.push(u8::from(jra.is_some()));
        b.extend_from_slice(&jra.unwrap_or(0).to_le_bytes());
        self.hasher.record_done();
    }

    /// Whether pod `id`'s definition is the one the record stream holds in its slot.
    #[inline]
    pub fn pod_defined(&self, id: u64) -> bool {
        self.hasher.defined.pods.get(def_slot(id)) == Some(&id)
    }

    /// Defines pod `id` (its name and completion index, -1 if none) for the events
    /// that follow. A pod's name and index never change.
    /// (Out of line: it runs once per object, and the per-event callers stay small.)
    #[inline(never)]
    pub fn define_pod(&mut self, id: u64, name: &str, index: i32) {
        let slot = def_slot(id);
        define_slot(&mut self.hasher.defined.pods, slot, id);
        // The record: its kind, slot and field length, then the name field as `encode::str`
        // writes it (tag, bytes, 0), then the index. Written as three pieces, not seven
        // (this runs once per pod).
        let mut head = [0u8; 8];
        head[0] = rec::POD;
        head[1..3].copy_from_slice(&(slot as u16).to_le_bytes());
        head[3..7].copy_from_slice(&u32::try_from(name.len() + 2).expect("a name under 4 GiB").to_le_bytes());
        head[7] = encode::POD;
        let mut tail = [0u8; 5];
        tail[1..].copy_from_slice(&index.to_le_bytes());
        let b = &mut self.hasher.block;
        b.extend_from_slice(&head);
        b.extend_from_slice(name.as_bytes());
        b.extend_from_slice(&tail);
        self.hasher.record_done();
    }

    /// Whether node `id` is defined in the record stream.
    #[inline]
    pub fn node_defined(&self, id: usize) -> bool {
        self.hasher.defined.nodes.get(id).copied().unwrap_or(false)
    }

    /// Defines node `id`'s name for the events that follow. A node's name never changes.
    /// (Out of line: it runs once per object, and the per-event callers stay small.)
    #[inline(never)]
    pub fn define_node(&mut self, id: usize, name: &str) {
        *grown_slot(&mut self.hasher.defined.nodes, id, false) = true;
        let b = &mut self.hasher.block;
        b.push(rec::NODE);
        b.extend_from_slice(&u32::try_from(id).expect("node ids fit u32").to_le_bytes());
        b.extend_from_slice(&u32::try_from(name.len() + 2).expect("a name under 4 GiB").to_le_bytes());
        encode::str(b, encode::NODE, name);
        self.hasher.record_done();
    }

    /// Counts and hashes a Job or pod event whose Job, pod and node are defined: the
    /// bytes `World`'s owned event would encode to, rebuilt where the hash is taken.
    /// Only for a sink that neither writes nor keeps events.
    #[inline(always)]
    pub fn emit_object_event(&mut self, ev: ObjectEvent) {
        debug_assert!(!self.needs_events());
        debug_assert!(ev.job.is_none_or(|j| self.job_defined(j)));
        debug_assert!(ev.pod.is_none_or(|p| self.pod_defined(p)));
        debug_assert!(ev.node.is_none_or(|n| self.node_defined(n)));
        self.count += 1;
        let name = self.event_name_id(ev.event);
        let node = ev.node.filter(|_| ev.pod.is_some());
        let flags = (u8::from(ev.job.is_some()) * rec::HAS_JOB)
            | (u8::from(ev.pod.is_some()) * rec::HAS_POD)
            | (u8::from(node.is_some()) * rec::HAS_NODE);
        let mut r = [0u8; rec::EVENT_LEN];
        r[0] = rec::EVENT;
        r[1..9].copy_from_slice(&ev.t.to_le_bytes());
        r[9] = name;
        r[10] = flags;
        r[11..13].copy_from_slice(&(ev.job.map_or(0, def_slot) as u16).to_le_bytes());
        r[13..15].copy_from_slice(&(ev.pod.map_or(0, def_slot) as u16).to_le_bytes());
        r[15..19].copy_from_slice(&(node.unwrap_or(0) as u32).to_le_bytes());
        self.hasher.block.extend_from_slice(&r);
        self.hasher.record_done();
    }

    /// The id of event name `event` in the record stream, defined first if new.
    #[inline(always)]
    fn event_name_id(&mut self, event: &'static str) -> u8 {
        let key = event.as_ptr() as usize;
        let slot = name_cache_slot(key);
        match self.hasher.defined.name_cache[slot] {
            (k, id) if k == key => id,
            _ => self.event_name_id_slow(event, slot),
        }
    }

    /// `event_name_id` for a name not in its cache slot.
    #[cold]
    #[inline(never)]
    fn event_name_id_slow(&mut self, event: &'static str, slot: usize) -> u8 {
        let key = event.as_ptr() as usize;
        let d = &mut self.hasher.defined;
        let id = match d.names.iter().position(|n| *n == event) {
            Some(i) => u8::try_from(i).expect("under 256 event names"),
            None => {
                let id = u8::try_from(d.names.len()).expect("under 256 event names");
                d.names.push(event);
                let b = &mut self.hasher.block;
                b.push(rec::NAME);
                b.push(id);
                b.push(u8::try_from(event.len()).expect("event names are short"));
                b.extend_from_slice(event.as_bytes());
                id
            }
        };
        d.name_cache[slot] = (key, id);
        id
    }

    /// The hash of every event so far, for a sink that hashes inline (tests).
    #[cfg(test)]
    pub fn settled_hash(&mut self) -> Fnv64 {
        assert!(self.hasher.worker.is_none(), "an inline sink");
        self.hasher.hand_off();
        self.hasher.replay.state
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fnv_from(state: u64, bytes: &[u8]) -> u64 {
        let mut h = Fnv64(state);
        h.write(bytes);
        h.0
    }

    /// A segment's table hashes its bytes from any state as hashing them one by one
    /// does: every low byte, and high bits that must only be carried along.
    #[test]
    fn a_jump_hashes_as_the_bytes_do() {
        let long: Vec<u8> = (0..200u32).map(|i| (i * 37 + 11) as u8).collect();
        let strings: [&[u8]; 5] = [
            b"",
            b"\0",
            b"\x01default\0\x02train\0\x03workers\0",
            b"\xff\xfe\x00",
            &long,
        ];
        for s in strings {
            let j = Jump::new(s);
            for l in 0..256u64 {
                for high in [
                    0u64,
                    1 << 8,
                    0xdead_beef_0000_0000,
                    u64::MAX << 8,
                    Fnv64::default().0 & !0xff,
                ] {
                    let h = high | l;
                    assert_eq!(j.apply(h), fnv_from(h, s), "{s:?} from {h:#x}");
                }
            }
        }
    }

    /// A segment is hashed byte by byte until its `JUMP_AFTER`th use, then through
    /// its table, with the same result either way.
    #[test]
    fn a_segment_takes_its_table_after_enough_uses() {
        let mut segs = Segments::default();
        let a = segs.intern(b"\x01ns\0\x02js\0");
        assert_eq!(segs.intern(b"\x01ns\0\x02js\0"), a, "the same bytes, the same segment");
        assert_ne!(segs.intern(b"\x01ns\0"), a);
        let mut h = Fnv64(0x1234_5678_9abc_def0);
        for use_ in 1..=JUMP_AFTER + 3 {
            let expect = fnv_from(h.0, b"\x01ns\0\x02js\0");
            segs.all[a as usize].hash(&mut h);
            assert_eq!(h.0, expect, "use {use_}");
            assert_eq!(segs.all[a as usize].jump.is_some(), use_ >= JUMP_AFTER, "use {use_}");
            h.0 = h.0.rotate_left(13) ^ u64::from(use_);
        }
    }

    /// Generated names share their start up to the number: a Job's, its pods' and a
    /// node's; a name without a numbered part shares nothing.
    #[test]
    fn shared_starts_end_before_the_number() {
        let cut = |name: &str| {
            let mut field = Vec::new();
            encode::str(&mut field, encode::POD, name);
            let c = shared_cut(&field);
            String::from_utf8_lossy(&field[1..c.max(1)]).into_owned()
        };
        assert_eq!(cut("train-workers-804"), "train-workers-");
        assert_eq!(cut("train-workers-804-0-bkw57"), "train-workers-");
        assert_eq!(cut("gpu-17"), "gpu-");
        assert_eq!(cut("llama3-70b-w-2"), "llama3-");
        assert_eq!(cut("node-a"), "");
        assert_eq!(cut("7-up"), "");
    }

    /// Integers hash as their little-endian bytes, however many of the high ones are zero.
    #[test]
    fn trimmed_integers_hash_as_all_their_bytes() {
        for v in [
            0i64,
            1,
            255,
            256,
            2047,
            65_536,
            4_670_000_000,
            i64::MAX,
            -1,
            i64::MIN,
            1 << 56,
        ] {
            let mut h = Fnv64::default();
            h.write_int(18, v);
            assert_eq!(h.0, fnv_from(Fnv64::default().0, &encode::int_bytes(18, v)), "{v}");
            let mut h = Fnv64(7);
            h.write_u64_le(v as u64);
            assert_eq!(h.0, fnv_from(7, &(v as u64).to_le_bytes()), "{v}");
        }
    }

    /// Events of Jobs and pods whose ids share a definition slot (so each definition
    /// evicts the other's), raw events between them, and a stream long enough to span
    /// blocks: the sink's hash, inline or on the hash thread, is FNV-1a over the
    /// events' canonical encodings.
    #[test]
    fn the_record_stream_hashes_as_the_canonical_encodings() {
        let step = DEF_SLOTS as u64;
        let jobs = [
            (7, "ns", "js-w-0", 0),
            (7 + step, "ns", "js-w-1", 1),
            (7 + 2 * step, "other", "x-0", 0),
        ];
        let pods = [(3, "js-w-0-abcde", 0), (3 + step, "js-w-1-fghij", -1)];
        let nodes = ["node-a", "node-b"];
        for thread in [false, true] {
            let mut sink = TraceSink::with_hash_thread(None, false, thread);
            let mut reference = Fnv64::default();
            let mut bytes = Vec::new();
            for i in 0..40_000u64 {
                let (jid, ns, job, job_index) = jobs[(i % 3) as usize];
                let (pid, pod, pod_index) = pods[(i % 2) as usize];
                let node = (i % 5 != 0).then_some((i % 2) as usize);
                let stamp = (ns == "ns").then_some((job_index, 2, (job_index == 1).then_some(5)));
                let with_pod = i % 4 != 0;
                // The canonical encoding, as `HashFields::encode_into` writes it.
                let mut f = HashFields {
                    t: i * 1000,
                    event: if with_pod { "PodReady" } else { "JobCreated" },
                    names: [None; 8],
                    ints: [None; 6],
                    strs: [None; 6],
                    type_: None,
                };
                f.names[0] = Some(ns);
                if stamp.is_some() {
                    f.names[1] = Some("js");
                    f.names[2] = Some("w");
                }
                f.names[3] = Some(job);
                if let Some((ji, ra, jra)) = stamp {
                    f.ints[0] = Some(i64::from(ji));
                    f.ints[2] = Some(i64::from(ra));
                    f.ints[3] = jra.map(i64::from);
                }
                if with_pod {
                    f.names[4] = Some(pod);
                    f.names[5] = node.map(|n| nodes[n]);
                    f.ints[1] = (pod_index >= 0).then_some(i64::from(pod_index));
                }
                bytes.clear();
                f.encode_into(&mut bytes);
                reference.write(&bytes);
                // The same event through definitions and a compact record.
                if !sink.job_defined(jid) {
                    sink.define_job(
                        jid,
                        |out| {
                            encode::str(out, encode::NAMESPACE, ns);
                            if stamp.is_some() {
                                encode::str(out, encode::JOBSET, "js");
                                encode::str(out, encode::REPLICATED_JOB, "w");
                            }
                            encode::str(out, encode::JOB, job);
                        },
                        stamp,
                    );
                }
                if with_pod {
                    if !sink.pod_defined(pid) {
                        sink.define_pod(pid, pod, pod_index);
                    }
                    if let Some(n) = node
                        && !sink.node_defined(n)
                    {
                        sink.define_node(n, nodes[n]);
                    }
                }
                sink.emit_object_event(ObjectEvent {
                    t: f.t,
                    event: f.event,
                    job: Some(jid),
                    pod: with_pod.then_some(pid),
                    node: node.filter(|_| with_pod),
                });
                // Now and then an event that only has its canonical bytes.
                if i % 7 == 0 {
                    let raw = HashFields {
                        t: i,
                        event: "NodeFailed",
                        names: [None, None, None, None, None, Some("node-a"), None, None],
                        ints: [None; 6],
                        strs: [None, None, None, None, None, Some("crash")],
                        type_: None,
                    };
                    bytes.clear();
                    raw.encode_into(&mut bytes);
                    reference.write(&bytes);
                    sink.count += 1;
                    sink.hasher.push(&raw);
                }
            }
            sink.flush();
            assert_eq!(sink.hash.0, reference.0, "hash thread: {thread}");
            assert_eq!(sink.count, 40_000 + 40_000 / 7 + 1);
        }
    }
}
