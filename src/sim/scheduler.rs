//! The scheduler: binds pending pods to nodes. Filters: node readiness,
//! taints/tolerations, nodeSelector, required node affinity, and requests
//! against allocatable (cpu, memory, pods, extended resources).
//!
//! Deterministic scoring rule (replacing the real scheduler's random
//! tie-break and node sampling): the least-allocated feasible node wins,
//! where a node's score is the sum over its resources (except `pods`) of
//! allocated/allocatable in parts per million; ties go to the lower node
//! index (pool order, then node number). Nodes of each pool sit in an index
//! ordered by that score (`PoolIndex`), so an attempt looks at free nodes
//! first instead of scanning every node.

use super::queue::{IdMap, RunQueue};
use super::*;

/// A pod's place in the active queue: (due, -priority, seq).
type ActiveKey = (Millis, i64, u64);

#[derive(Debug, Default)]
pub struct SchedState {
    seq: u64,
    /// Pods waiting for an attempt, smallest key first. Removing a pod only drops its
    /// `active_keys` entry: an entry whose key is not its pod's current one is stale
    /// and skipped when it surfaces.
    active: RunQueue<(ActiveKey, PodId)>,
    active_keys: IdMap<ActiveKey>,
    unsched: BTreeMap<(i64, u64), PodId>,
    unsched_keys: IdMap<(i64, u64)>,
    wake_at: Option<Millis>,
    pools: Vec<PoolIndex>,
    /// Each node's index key (its score while schedulable) and position in its pool's
    /// index, side by side (a node's re-index reads both).
    pub(super) node_key: Vec<(Option<u64>, usize)>,
    /// Inter-pod affinity index by topology key (`placement.rs`).
    pub(super) topo: super::placement::TopoIndex,
    /// Placement boxes of removed pods (at most `SPARE_PLACEMENTS`), reused by new pods
    /// so a wave of pod creations does not allocate one each. Their old contents are
    /// dropped when a new pod's placement overwrites them.
    // The boxes are what is reused (a pod holds its placement boxed), hence the Vec of boxes.
    #[allow(clippy::vec_box)]
    spare_placements: Vec<Box<super::placement::PodPlacement>>,
    /// Names of removed pods that nothing else holds, by length (at most `SPARE_NAMES`
    /// in all): a new pod's name of the same length is written into one instead of
    /// allocating (pods of a Job's next attempt have names of the same lengths).
    spare_names: Vec<Vec<Name>>,
    spare_name_count: usize,
}

/// How many placement boxes of removed pods `SchedState` keeps for reuse.
const SPARE_PLACEMENTS: usize = 4096;
/// How many names of removed pods `SchedState` keeps for reuse, and the longest kept.
const SPARE_NAMES: usize = 4096;
const SPARE_NAME_MAX_LEN: usize = 96;

impl SchedState {
    pub fn init(&mut self, nodes: &[NodeObj], pools: usize) {
        self.pools = vec![PoolIndex::default(); pools];
        self.node_key = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (None, self.pools[n.pool].add_member(i)))
            .collect();
        for (i, n) in nodes.iter().enumerate() {
            self.node_changed(i, n);
        }
    }

    /// A boxed placement for a new pod, in a removed pod's box when one is kept.
    pub(super) fn box_placement(&mut self, pl: super::placement::PodPlacement) -> Box<super::placement::PodPlacement> {
        match self.spare_placements.pop() {
            Some(mut b) => {
                *b = pl;
                b
            }
            None => Box::new(pl),
        }
    }

    /// Keeps a removed pod's placement box for reuse (up to `SPARE_PLACEMENTS`; else it is freed).
    pub(super) fn recycle_placement(&mut self, b: Box<super::placement::PodPlacement>) {
        if self.spare_placements.len() < SPARE_PLACEMENTS {
            self.spare_placements.push(b);
        }
    }

    /// A new pod's name: a kept name of the same length, overwritten, or a new allocation.
    pub(super) fn pod_name(&mut self, s: &str) -> Name {
        let Some(mut n) = self.spare_names.get_mut(s.len()).and_then(|b| b.pop()) else {
            return Name::from(s);
        };
        self.spare_name_count -= 1;
        let dst = Rc::get_mut(&mut n).expect("only unshared names are kept");
        // SAFETY: `s` is valid UTF-8 of exactly `dst`'s length and replaces all of its bytes.
        unsafe { dst.as_bytes_mut() }.copy_from_slice(s.as_bytes());
        n
    }

    /// Keeps a removed pod's name for reuse if nothing else holds it (else it is just dropped).
    // Always inlined (into `remove_released_pod_of`, its one caller on the engine's path):
    // LLVM left it out of line, and each pod's removal paid the call.
    #[inline(always)]
    pub(super) fn recycle_name(&mut self, mut n: Name) {
        let len = n.len();
        if self.spare_name_count >= SPARE_NAMES || len > SPARE_NAME_MAX_LEN || Rc::get_mut(&mut n).is_none() {
            return;
        }
        if self.spare_names.len() <= len {
            self.spare_names.resize_with(len + 1, Vec::new);
        }
        self.spare_names[len].push(n);
        self.spare_name_count += 1;
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Re-indexes a node after its allocation or readiness changed.
    #[inline(always)]
    pub fn node_changed(&mut self, id: NodeId, n: &NodeObj) {
        let key = (n.ready && !n.cordoned).then(|| node_score(n));
        self.rekey(id, n, key);
    }

    /// `node_changed` for a node whose last pod left: with nothing allocated (bind and
    /// release are the only writers of `allocated`), its score is 0, not computed.
    // Always inlined: inside the inlined `release_node` LLVM otherwise left it out of line.
    #[inline(always)]
    pub fn node_emptied(&mut self, id: NodeId, n: &NodeObj) {
        debug_assert!(n.pods.is_empty() && n.allocated.iter().all(|a| *a == 0));
        self.rekey(id, n, (n.ready && !n.cordoned).then_some(0));
    }

    /// Files node `id` under index key `key` (None: not schedulable).
    #[inline(always)]
    fn rekey(&mut self, id: NodeId, n: &NodeObj, key: Option<u64>) {
        let slot = &mut self.node_key[id];
        let (before, pos) = (std::mem::replace(&mut slot.0, key), slot.1);
        if key != before {
            let pool = &mut self.pools[n.pool];
            if let Some(old) = before {
                pool.remove(old, pos);
            }
            if let Some(score) = key {
                pool.insert(score, pos);
            }
        }
        // (Called even when the key stays: it files a domain it had not seen yet.)
        if !self.topo.keys.is_empty() {
            self.topo.node_moved(id, n.pool, before, key);
        }
    }
}

/// The sum over a node's resources (except `pods`) of allocated/allocatable in ppm.
#[inline(always)]
fn node_score(n: &NodeObj) -> u64 {
    let mut score = 0u64;
    for (i, (a, c)) in n.allocated.iter().zip(&n.allocatable).enumerate() {
        if i != 2 && *c > 0 && *a != 0 {
            // allocated/allocatable in ppm; i128 only when the product overflows i64.
            score += match a.checked_mul(1_000_000) {
                Some(x) => (x / *c).max(0) as u64,
                None => ((*a as i128 * 1_000_000) / *c as i128).max(0) as u64,
            };
        }
    }
    score
}

/// The schedulable nodes of one pool in scoring order. Nodes sharing a score
/// share a bucket, a bitset over the pool's members (numbered in node order),
/// so a node whose score changes moves between two buckets of a list with one
/// entry per distinct score rather than one per node (a big pool of identical
/// nodes has a handful of scores, so the list, sorted by score, is searched in
/// a few steps and rarely changes length). Iteration yields exactly the order of
/// a set of (score, node id) pairs.
#[derive(Debug, Default, Clone)]
pub struct PoolIndex {
    /// Node id of each member, by position; ascending.
    ids: Vec<NodeId>,
    /// The non-empty buckets, ascending by score.
    buckets: Vec<(u64, ScoreBucket)>,
    /// Cleared bitsets of emptied buckets, for reuse.
    spare: Vec<Vec<u64>>,
}

#[derive(Debug, Clone)]
struct ScoreBucket {
    bits: Vec<u64>,
    len: usize,
    /// No word before this one has a bit set (iteration starts here: a pool filled
    /// in node order does not scan its full nodes' words in the free nodes' bucket).
    lo: usize,
}

impl PoolIndex {
    /// Adds a member (ids must come in ascending order); returns its position.
    fn add_member(&mut self, id: NodeId) -> usize {
        debug_assert!(self.buckets.is_empty() && self.ids.last().is_none_or(|l| *l < id));
        self.ids.push(id);
        self.ids.len() - 1
    }

    /// The bucket of `score`: Ok(index) if present, else Err(where it would go).
    // Always inlined: inside the inlined `release_node` LLVM otherwise left it out of line.
    #[inline(always)]
    fn find(&self, score: u64) -> Result<usize, usize> {
        // Mostly one or two buckets: a short linear scan beats a binary search.
        if self.buckets.len() <= 8 {
            for (i, (s, _)) in self.buckets.iter().enumerate() {
                if *s >= score {
                    return if *s == score { Ok(i) } else { Err(i) };
                }
            }
            return Err(self.buckets.len());
        }
        self.buckets.binary_search_by_key(&score, |(s, _)| *s)
    }

    #[inline(always)]
    fn insert(&mut self, score: u64, pos: usize) {
        let (w, m) = (pos / 64, 1u64 << (pos % 64));
        let i = match self.find(score) {
            Ok(i) => i,
            Err(i) => self.new_bucket(i, score, w),
        };
        let b = &mut self.buckets[i].1;
        debug_assert!(b.bits[w] & m == 0, "indexed twice");
        b.bits[w] |= m;
        b.len += 1;
        b.lo = b.lo.min(w);
    }

    /// Adds an empty bucket for `score` at index `i` (its first member in word `w`).
    // Out of line, as the drop of a bucket below: rare, and kept out of the hot path's registers.
    #[inline(never)]
    fn new_bucket(&mut self, i: usize, score: u64, w: usize) -> usize {
        let words = self.ids.len().div_ceil(64);
        let bits = self.spare.pop().unwrap_or_else(|| vec![0; words]);
        self.buckets.insert(i, (score, ScoreBucket { bits, len: 0, lo: w }));
        i
    }

    #[inline(never)]
    fn drop_bucket(&mut self, i: usize) {
        let (_, b) = self.buckets.remove(i);
        self.spare.push(b.bits);
    }

    #[inline(always)]
    fn remove(&mut self, score: u64, pos: usize) {
        let i = self.find(score).expect("indexed under its score");
        let b = &mut self.buckets[i].1;
        let (w, m) = (pos / 64, 1u64 << (pos % 64));
        debug_assert!(b.bits[w] & m != 0, "not indexed");
        b.bits[w] &= !m;
        b.len -= 1;
        if b.len == 0 {
            self.drop_bucket(i);
        } else if w == b.lo && b.bits[w] == 0 {
            // Some later word has a bit (len > 0).
            while b.bits[b.lo] == 0 {
                b.lo += 1;
            }
        }
    }

    /// The indexed nodes by (score, node id).
    pub fn iter(&self) -> PoolIter<'_> {
        PoolIter {
            ids: &self.ids,
            buckets: self.buckets.iter(),
            score: 0,
            bits: &[],
            word: 0,
            rest: 0,
        }
    }
}

/// Iterator of [`PoolIndex::iter`].
pub struct PoolIter<'a> {
    ids: &'a [NodeId],
    buckets: std::slice::Iter<'a, (u64, ScoreBucket)>,
    score: u64,
    /// The current bucket's words after the current one.
    bits: &'a [u64],
    /// Index in the bucket's bitset of `bits[0]`, the next word to load.
    word: usize,
    /// The unvisited bits of the current word (number `word - 1`).
    rest: u64,
}

impl Iterator for PoolIter<'_> {
    type Item = (u64, NodeId);

    #[inline]
    fn next(&mut self) -> Option<(u64, NodeId)> {
        loop {
            if self.rest != 0 {
                let bit = self.rest.trailing_zeros() as usize;
                self.rest &= self.rest - 1;
                return Some((self.score, self.ids[(self.word - 1) * 64 + bit]));
            }
            if let Some((&w, tail)) = self.bits.split_first() {
                self.rest = w;
                self.bits = tail;
                self.word += 1;
                continue;
            }
            let (score, b) = self.buckets.next()?;
            self.score = *score;
            self.bits = &b.bits[b.lo..];
            self.word = b.lo;
        }
    }
}

/// Preemption candidate order: highest victim priority, sum of priorities, victim count, node.
type PreemptionKey = (i64, i64, usize, NodeId);

impl World {
    pub(super) fn scheduler_add(&mut self, pid: PodId) {
        let p = self.pods.get(pid).expect("exists");
        self.scheduler_queue(pid, p.priority, p.seq);
    }

    /// `scheduler_add` for pod `pid` of the given priority and sequence number (its own).
    #[inline(always)]
    pub(super) fn scheduler_queue(&mut self, pid: PodId, priority: i32, seq: u64) {
        let due = self.now + self.sc.timing.scheduler_delay;
        debug_assert!(
            self.pods
                .get(pid)
                .is_some_and(|p| (p.priority, p.seq) == (priority, seq))
        );
        let key = (due, -i64::from(priority), seq);
        debug_assert!(!self.sched.active_keys.contains_key(pid), "queued twice");
        self.sched.active.push((key, pid));
        self.sched.active_keys.insert(pid, key);
        if self.sched.wake_at.is_none_or(|w| w > due) {
            self.sched.wake_at = Some(due);
            self.push(due, Ev::SchedulerWake);
        }
    }

    pub(super) fn scheduler_remove(&mut self, pid: PodId) {
        // Its entry in `active`, if any, is stale from now on.
        self.sched.active_keys.remove(pid);
        if let Some(k) = self.sched.unsched_keys.remove(pid) {
            self.sched.unsched.remove(&k);
        }
    }

    /// Whether the pod waits in the active or the unschedulable queue.
    pub(super) fn scheduler_holds(&self, pid: PodId) -> bool {
        self.sched.active_keys.contains_key(pid) || self.sched.unsched_keys.contains_key(pid)
    }

    /// Capacity changed: unschedulable pods are retried after `schedulerDelay`.
    #[inline]
    pub(super) fn scheduler_kick(&mut self) {
        if !self.sched.unsched.is_empty() {
            self.scheduler_retry_unschedulable();
        }
    }

    #[inline(never)]
    fn scheduler_retry_unschedulable(&mut self) {
        let pods: Vec<PodId> = self.sched.unsched.values().copied().collect();
        self.sched.unsched.clear();
        self.sched.unsched_keys.clear();
        for p in pods {
            self.scheduler_add(p);
        }
    }

    pub(super) fn scheduler_wake(&mut self) {
        if self.sched.wake_at.is_some_and(|w| w > self.now) {
            return;
        }
        self.sched.wake_at = None;
        // Popped, not peeked first: the one entry not yet due goes back (entries are
        // distinct, so the queue's order is the same), rather than a peek per pod.
        while let Some((key, pid)) = self.sched.active.pop() {
            if self.sched.active_keys.get(pid) != Some(&key) {
                continue; // a removed pod's entry
            }
            if key.0 > self.now {
                self.sched.active.push((key, pid));
                self.sched.wake_at = Some(key.0);
                self.push(key.0, Ev::SchedulerWake);
                break;
            }
            self.sched.active_keys.remove(pid);
            self.try_schedule(pid);
        }
    }

    fn node_fits_static(
        &self,
        n: &NodeObj,
        spec: &crate::api::PodSpec,
        extra: &[(Name, Name)],
    ) -> Result<(), &'static str> {
        if !n.ready {
            return Err("node(s) had untolerated taint {node.kubernetes.io/unreachable: }");
        }
        if n.cordoned {
            return Err("node(s) were unschedulable");
        }
        for t in &n.taints {
            if (t.effect == "NoSchedule" || t.effect == "NoExecute")
                && !spec
                    .tolerations
                    .iter()
                    .any(|tol| tol.tolerates(&t.key, &t.value, &t.effect))
            {
                return Err("node(s) had untolerated taint");
            }
        }
        for (k, v) in &spec.node_selector {
            if n.labels.get(k) != Some(v) && !extra.iter().any(|(x, _)| **x == **k) {
                return Err("node(s) didn't match Pod's node affinity/selector");
            }
        }
        for (k, v) in extra {
            if n.labels.get(&**k).map(String::as_str) != Some(&**v) {
                return Err("node(s) didn't match Pod's node affinity/selector");
            }
        }
        if let Some(terms) = &spec.required_node_terms {
            let ok = terms.iter().any(|t| {
                t.match_expressions
                    .iter()
                    .all(|r| r.matches(n.labels.get(&r.key).map(String::as_str)))
                    && t.match_fields
                        .iter()
                        .all(|r| r.key == "metadata.name" && r.matches(Some(&n.name)))
            });
            if !ok {
                return Err("node(s) didn't match Pod's node affinity/selector");
            }
        }
        Ok(())
    }

    fn try_schedule(&mut self, pid: PodId) {
        let Some(p) = self.pods.get(pid) else { return };
        if p.node.is_some() || p.deletion.is_some() || p.phase.terminal() {
            return;
        }
        let Some(j) = self.jobs.get(p.job) else { return };
        // Borrowed, not cloned (no reference-count update per attempt): the
        // borrows end before `bind` or preemption mutate the world.
        let spec = &*j.pod_template;
        let reqs = &*j.pod_requests;
        if !spec.spec.scheduling_gates.is_empty() {
            return; // SchedulingGated: never attempted while gates remain.
        }
        let pl = p.placement.as_deref();
        let extra: &[(Name, Name)] = pl.map(|pl| pl.node_selector.as_slice()).unwrap_or(&[]);
        // No topology key in use: no inter-pod affinity term exists, every node passes
        // that filter and no domain is named (`check` and `candidate_domains` say so).
        let topo = !self.sched.topo.keys.is_empty();
        // Without a nodeSelector or required node affinity, an untainted node passes the
        // static filters when it is ready and not cordoned (as `node_fits_static` finds).
        let plain = spec.spec.node_selector.is_empty() && extra.is_empty() && spec.spec.required_node_terms.is_none();
        let fits_static = |node: &NodeObj| -> bool {
            if plain && node.taints.is_empty() {
                node.ready && !node.cordoned
            } else {
                self.node_fits_static(node, &spec.spec, extra).is_ok()
            }
        };
        // Requests against free room, then inter-pod affinity (the static filters passed).
        let fits_dynamic = |n: NodeId| -> bool {
            let node = &self.nodes[n];
            reqs.iter().all(|(r, v)| node.allocated[*r] + v <= node.allocatable[*r])
                && (!topo || self.sched.topo.check(pl, n).is_ok())
        };
        let fits = |n: NodeId| -> bool { fits_static(&self.nodes[n]) && fits_dynamic(n) };
        let mut chosen = None;
        if let Some((key, domains)) = topo
            .then(|| self.sched.topo.candidate_domains(pl, &spec.spec.node_selector))
            .flatten()
        {
            // Only the named domains can hold the pod: look at their nodes only, each
            // domain's in scoring order, and keep the best (pool, score, node) overall.
            let ki = &self.sched.topo.keys[&key];
            let mut best: Option<(usize, u64, NodeId)> = None;
            for d in &domains {
                if pl.is_some_and(|pl| self.sched.topo.domain_blocked(pl, &key, d)) {
                    continue;
                }
                let Some(set) = ki.nodes.get(d) else { continue };
                if let Some(&c) = set.iter().find(|(_, _, n)| fits(*n))
                    && best.is_none_or(|b| c < b)
                {
                    best = Some(c);
                }
            }
            chosen = best.map(|(_, _, n)| n);
        } else {
            'pools: for pool in 0..self.sched.pools.len() {
                for (_, n) in self.sched.pools[pool].iter() {
                    let node = &self.nodes[n];
                    if !fits_static(node) {
                        // Pool-wide properties (taints, pool labels) fail for every node alike.
                        if node.taints.iter().any(|t| {
                            (t.effect == "NoSchedule" || t.effect == "NoExecute")
                                && !spec
                                    .spec
                                    .tolerations
                                    .iter()
                                    .any(|tol| tol.tolerates(&t.key, &t.value, &t.effect))
                        }) {
                            continue 'pools;
                        }
                        continue;
                    }
                    if fits_dynamic(n) {
                        chosen = Some(n);
                        break 'pools;
                    }
                }
            }
        }
        match chosen {
            Some(n) => self.bind(pid, n),
            None => {
                self.try_preempt(pid);
                self.mark_unschedulable(pid);
            }
        }
    }

    /// Preemption (`../shared/spec/kubernetes-job.md` §3.5): find one node where
    /// deleting strictly lower-priority pods lets the pod fit; prefer the node
    /// whose highest victim priority is lowest, then the smallest sum of victim
    /// priorities, then the fewest victims, then node order. Victims get
    /// `DisruptionTarget`/`PreemptionByScheduler` and a graceful delete; the
    /// preemptor is nominated to the node and binds once the room is free.
    fn try_preempt(&mut self, pid: PodId) {
        let p = self.pods.get(pid).expect("exists");
        let prio = p.priority;
        let Some(j) = self.jobs.get(p.job) else { return };
        if j.pod_template.spec.preemption_policy.as_deref() == Some("Never") {
            return;
        }
        // Already nominated and its victims still terminating: wait.
        if let Some(n) = p.nominated {
            let waiting = self.nodes[n]
                .pods
                .iter()
                .any(|v| self.pods.get(*v).is_some_and(|v| v.deletion.is_some()));
            if waiting {
                return;
            }
        }
        let spec = j.pod_template.clone();
        let reqs = j.pod_requests.clone();
        let pl = p.placement.as_deref();
        let extra: &[(Name, Name)] = pl.map(|pl| pl.node_selector.as_slice()).unwrap_or(&[]);
        let mut best: Option<(PreemptionKey, Vec<PodId>)> = None;
        for (n, node) in self.nodes.iter().enumerate() {
            // Inter-pod (anti-)affinity is taken as it stands: JobSet's terms only match
            // pods of the same priority, which preemption never removes.
            if node.cordoned
                || self.node_fits_static(node, &spec.spec, extra).is_err()
                || self.sched.topo.check(pl, n).is_err()
            {
                continue;
            }
            let mut lower: Vec<(i32, PodId)> = node
                .pods
                .iter()
                .filter_map(|v| self.pods.get(*v).map(|vp| (*v, vp)))
                .filter(|(_, vp)| vp.priority < prio && vp.deletion.is_none() && !vp.phase.terminal())
                .map(|(v, vp)| (vp.priority, v))
                .collect();
            if lower.is_empty() {
                continue;
            }
            let req_of =
                |v: PodId| -> Vec<(usize, i64)> { self.pods.get(v).map(|vp| vp.requests.to_vec()).unwrap_or_default() };
            let mut free: Vec<i64> = node
                .allocatable
                .iter()
                .zip(&node.allocated)
                .map(|(a, b)| a - b)
                .collect();
            for (_, v) in &lower {
                for (r, q) in req_of(*v) {
                    free[r] += q;
                }
            }
            if !reqs.iter().all(|(r, q)| *q <= free[*r]) {
                continue;
            }
            // Reprieve as many victims as possible, highest priority first.
            lower.sort_by_key(|(pr, v)| (std::cmp::Reverse(*pr), *v));
            let mut victims = Vec::new();
            for (pr, v) in lower {
                let r = req_of(v);
                let fits_without = reqs.iter().all(|(res, q)| {
                    let taken = r.iter().filter(|(x, _)| x == res).map(|(_, y)| *y).sum::<i64>();
                    *q <= free[*res] - taken
                });
                if fits_without {
                    for (res, q) in &r {
                        free[*res] -= q;
                    }
                } else {
                    victims.push((pr, v));
                }
            }
            let key = (
                victims.iter().map(|(p, _)| i64::from(*p)).max().unwrap_or(i64::MIN),
                victims.iter().map(|(p, _)| i64::from(*p)).sum::<i64>(),
                victims.len(),
                n,
            );
            if best.as_ref().is_none_or(|(k, _)| key < *k) {
                best = Some((key, victims.into_iter().map(|(_, v)| v).collect()));
            }
        }
        let Some(((_, _, _, n), victims)) = best else { return };
        self.pods.get_mut(pid).expect("exists").nominated = Some(n);
        for v in victims {
            if let Some(vp) = self.pods.get_mut(v) {
                vp.disruption = Some(Box::new((
                    "PreemptionByScheduler".into(),
                    "default-scheduler: preempting to accommodate a higher priority pod".into(),
                )));
            }
            let mut ev = self.pod_event("PodPreempted", v);
            ev.reason = Some("PreemptionByScheduler".into());
            ev.message = Some(format!(
                "preempted by {}",
                self.pods.get(pid).map(|p| p.name.to_string()).unwrap_or_default()
            ));
            self.emit(ev);
            self.delete_pod(v);
        }
    }

    fn bind(&mut self, pid: PodId, n: NodeId) {
        let p = self.pods.get_mut(pid).expect("exists");
        p.node = Some(n);
        p.unschedulable_reported = false;
        let (job, epoch) = (p.job, p.epoch);
        // The pod's requests are its Job's (`pod_requests`, shared when the pod was made):
        // read from the pod, no Job lookup.
        let node = &mut self.nodes[n];
        for (r, v) in p.requests.iter() {
            node.allocated[*r] += v;
        }
        node.pods.insert(pid);
        // `node_changed`, without its readiness test: the pod passed the filters on this
        // node, so it is ready and not cordoned (its index key is its score).
        debug_assert!(node.ready && !node.cordoned);
        self.sched.rekey(n, node, Some(node_score(node)));
        if !self.sched.topo.keys.is_empty()
            && let Some(pl) = p.placement.as_deref()
        {
            self.sched.topo.pod_moved(pl, n, 1);
        }
        self.emit_pod_at("PodScheduled", pid, Some(n), job);
        self.kubelet_bound(pid, epoch);
        // `pod_changed`: the Job exists (`try_schedule`, the one caller, found it).
        self.pod_changed_live(job);
        self.podctl_watch(pid);
    }

    fn mark_unschedulable(&mut self, pid: PodId) {
        let p = self.pods.get(pid).expect("exists");
        let key = (-i64::from(p.priority), p.seq);
        self.sched.unsched.insert(key, pid);
        self.sched.unsched_keys.insert(pid, key);
        if p.unschedulable_reported {
            return;
        }
        let message = self.unschedulable_message(pid);
        self.pods.get_mut(pid).expect("exists").unschedulable_reported = true;
        let mut ev = self.pod_event("PodUnschedulable", pid);
        ev.reason = Some("Unschedulable".into());
        ev.message = Some(message);
        self.emit(ev);
    }

    /// `0/N nodes are available: ...` with a count per first failing filter
    /// (filter order: static, resources, inter-pod affinity), sorted as
    /// kube-scheduler sorts them (by the rendered `<count> <reason>` text).
    fn unschedulable_message(&self, pid: PodId) -> String {
        let p = self.pods.get(pid).expect("exists");
        let j = self.jobs.get(p.job).expect("exists");
        let pl = p.placement.as_deref();
        let extra: &[(Name, Name)] = pl.map(|pl| pl.node_selector.as_slice()).unwrap_or(&[]);
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for (id, node) in self.nodes.iter().enumerate() {
            let reason = match self.node_fits_static(node, &j.pod_template.spec, extra) {
                Err(r) => r.to_string(),
                Ok(()) => match j
                    .pod_requests
                    .iter()
                    .find(|(r, v)| node.allocated[*r] + v > node.allocatable[*r])
                {
                    Some((r, _)) if *r == 2 => "Too many pods".to_string(),
                    Some((r, _)) => format!("Insufficient {}", self.resources[*r]),
                    None => match self.sched.topo.check(pl, id) {
                        Err(r) => r.to_string(),
                        Ok(()) => "node(s) were busy".to_string(),
                    },
                },
            };
            *counts.entry(reason).or_default() += 1;
        }
        let mut parts: Vec<String> = counts.iter().map(|(r, c)| format!("{c} {r}")).collect();
        parts.sort();
        format!("0/{} nodes are available: {}.", self.nodes.len(), parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A removed pod's placement box is handed to the next pod (same allocation, new
    /// contents), and no more than `SPARE_PLACEMENTS` boxes are kept.
    #[test]
    fn placement_boxes_are_reused_and_bounded() {
        use super::super::placement::PodPlacement;
        let mut s = SchedState::default();
        let b = s.box_placement(PodPlacement {
            priority_label: Some(1),
            ..Default::default()
        });
        let addr: *const PodPlacement = &*b;
        s.recycle_placement(b);
        let b = s.box_placement(PodPlacement {
            priority_label: Some(2),
            leader_terms: true,
            ..Default::default()
        });
        assert!(std::ptr::eq(&*b, addr), "the kept box is reused");
        assert_eq!((b.priority_label, b.leader_terms), (Some(2), true));
        assert!(s.spare_placements.is_empty());
        for _ in 0..SPARE_PLACEMENTS + 10 {
            s.recycle_placement(Box::default());
        }
        assert_eq!(s.spare_placements.len(), SPARE_PLACEMENTS, "the pool is bounded");
    }

    /// A removed pod's unshared name is rewritten for a new pod of the same name length;
    /// a shared name is not kept, and no more than `SPARE_NAMES` are.
    #[test]
    fn pod_names_are_reused_only_when_unshared_and_of_the_same_length() {
        let mut s = SchedState::default();
        let a = s.pod_name("js-w-0-0-abcde");
        assert_eq!(&*a, "js-w-0-0-abcde");
        let addr = a.as_ptr();
        s.recycle_name(a);
        let b = s.pod_name("js-w-0-0-vwxyz1");
        assert_eq!(&*b, "js-w-0-0-vwxyz1");
        assert_ne!(b.as_ptr(), addr, "another length: a new allocation");
        let c = s.pod_name("js-w-1-0-fghjk");
        assert_eq!(&*c, "js-w-1-0-fghjk");
        assert_eq!(c.as_ptr(), addr, "the kept name is rewritten");
        let held = c.clone();
        s.recycle_name(c);
        let d = s.pod_name("js-w-2-0-lmnpq");
        assert_eq!(
            (&*d, &*held),
            ("js-w-2-0-lmnpq", "js-w-1-0-fghjk"),
            "a shared name is left alone"
        );
        assert_ne!(d.as_ptr(), addr);
        for i in 0..SPARE_NAMES + 10 {
            s.recycle_name(Name::from(format!("name-{:05}", i % 100_000).as_str()));
        }
        assert_eq!(s.spare_name_count, SPARE_NAMES, "the pool is bounded");
        let mut s = SchedState::default();
        s.recycle_name(Name::from("x".repeat(SPARE_NAME_MAX_LEN + 1).as_str()));
        assert_eq!(s.spare_name_count, 0, "overlong names are not kept");
    }

    /// A node re-indexed as emptied sits where `node_changed` files it (score 0), in
    /// and out of service.
    #[test]
    fn an_emptied_node_is_indexed_as_node_changed_indexes_it() {
        let node = |pool: usize| NodeObj {
            name: "n".into(),
            pool,
            labels: Default::default(),
            taints: Vec::new(),
            allocatable: vec![4000, 1 << 30, 110, 8],
            allocated: vec![0; 4],
            ready: true,
            alive: true,
            cordoned: false,
            pods: Default::default(),
            epoch: 0,
        };
        let mut nodes: Vec<NodeObj> = (0..5).map(|i| node(i % 2)).collect();
        let (mut a, mut b) = (SchedState::default(), SchedState::default());
        a.init(&nodes, 2);
        b.init(&nodes, 2);
        let order =
            |s: &SchedState| -> Vec<Vec<(u64, NodeId)>> { s.pools.iter().map(|p| p.iter().collect()).collect() };
        for (i, cordon) in [(2, false), (3, true), (2, false)] {
            nodes[i].allocated = vec![1000, 0, 1, 8];
            nodes[i].pods.insert(7);
            a.node_changed(i, &nodes[i]);
            b.node_changed(i, &nodes[i]);
            assert_ne!(a.node_key[i].0, Some(0));
            nodes[i].allocated = vec![0; 4];
            nodes[i].pods = Default::default();
            nodes[i].cordoned = cordon;
            a.node_changed(i, &nodes[i]);
            b.node_emptied(i, &nodes[i]);
            assert_eq!(a.node_key, b.node_key);
            assert_eq!(order(&a), order(&b));
        }
        assert_eq!(b.node_key[2].0, Some(0));
        assert_eq!(b.node_key[3].0, None);
    }

    /// The bucketed pool index iterates exactly like a set of (score, node id) pairs
    /// under random moves of nodes between scores and in and out of the index, with
    /// few distinct scores (the list scanned) and many (the list searched); no bucket
    /// has a bit before its first word `lo`.
    #[test]
    fn pool_index_matches_a_sorted_set() {
        use rand::{Rng, SeedableRng};
        for (seed, scores) in [(5, 7u32), (6, 40), (7, 2)] {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut ix = PoolIndex::default();
            // Members with gaps in their ids (another pool's nodes sit between).
            let ids: Vec<NodeId> = (0..150).map(|i| 3 + i * 2 + usize::from(i > 70) * 40).collect();
            let pos: Vec<usize> = ids.iter().map(|id| ix.add_member(*id)).collect();
            let mut key: Vec<Option<u64>> = vec![None; ids.len()];
            let mut reference: BTreeSet<(u64, NodeId)> = BTreeSet::new();
            let check = |ix: &PoolIndex, reference: &BTreeSet<(u64, NodeId)>| {
                assert!(ix.iter().eq(reference.iter().copied()));
                for (_, b) in &ix.buckets {
                    assert!(b.len > 0 && b.bits[..b.lo].iter().all(|w| *w == 0) && b.bits[b.lo] != 0);
                }
            };
            for step in 0..20_000 {
                // Now and then a pass in node order (a wave of binds fills the pool front to back).
                let i = if step % 1000 < 150 {
                    step % 1000
                } else {
                    (rng.next_u32() % ids.len() as u32) as usize
                };
                if let Some(old) = key[i].take() {
                    ix.remove(old, pos[i]);
                    reference.remove(&(old, ids[i]));
                }
                if rng.next_u32() % 4 != 0 {
                    let score = u64::from(rng.next_u32() % scores) * 250_000;
                    ix.insert(score, pos[i]);
                    reference.insert((score, ids[i]));
                    key[i] = Some(score);
                }
                if rng.next_u32() % 50 == 0 {
                    check(&ix, &reference);
                }
            }
            check(&ix, &reference);
            assert_eq!(
                ix.buckets.len(),
                reference.iter().map(|(s, _)| s).collect::<BTreeSet<_>>().len()
            );
        }
    }
}
