//! The event queue (total order by time, class, sequence) and Kubernetes-style workqueues.

use crate::units::Millis;
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

/// One scheduled event. Ordered by (time, class, seq): `class` 1 runs after
/// every class-0 event at the same instant (used for expectation checkpoints).
#[derive(Debug)]
pub struct Entry<E> {
    pub t: Millis,
    pub class: u8,
    pub ev: E,
}

/// A FIFO bucket: the entries not yet popped are `items[head..]` (popping moves
/// `head`; a drained bucket is cleared as a whole).
struct Bucket<E> {
    items: Vec<E>,
    head: usize,
}

impl<E> Default for Bucket<E> {
    fn default() -> Self {
        Bucket {
            items: Vec::new(),
            head: 0,
        }
    }
}

/// The event queue: a bucket queue. Events with the same (time, class) share
/// one FIFO bucket, so ties run in insertion order; the buckets are ordered by
/// (time, class) in a map that only sees one entry per distinct instant. Most
/// pushes land in the bucket of one of the last few pushes (a wave of Jobs or
/// pods all due at the same instant, each notifying its watchers with a few
/// fixed delays) and skip the map; the others find their bucket through a
/// hash index. The order is exactly that of a heap ordered by
/// (time, class, insertion sequence).
pub struct EventQueue<E> {
    /// Bucket by (time, class) in order, for every bucket except `front`.
    keys: BTreeMap<(Millis, u8), usize>,
    /// The same buckets as `keys`, for lookups.
    index: FxHashMap<(Millis, u8), usize>,
    /// Bucket storage; `free` lists the reusable slots. Slot `NONE` is never
    /// used: it stays empty and stands for "no front bucket".
    buckets: Vec<Bucket<E>>,
    free: Vec<usize>,
    /// Emptied large buckets (at most `SPARE`), handed to a bucket about to grow
    /// past `SMALL` entries, so a wave's bucket does not regrow from nothing.
    spare: Vec<Vec<E>>,
    /// The bucket being drained (`NONE` if none) and its key: no bucket of
    /// `keys` has a smaller key.
    front: usize,
    front_key: (Millis, u8),
    /// The times and buckets of the last few distinct class-0 push keys, latest
    /// first (a cache that skips the map; class-1 pushes are rare and never use
    /// it); a freed bucket leaves it. Unused entries hold time `Millis::MAX`,
    /// which pushes at that time never look up.
    recent_t: [Millis; RECENT],
    recent_b: [usize; RECENT],
    len: usize,
}

/// How many recent push keys `EventQueue` remembers.
const RECENT: usize = 4;
/// A freed bucket keeps its room up to this capacity (thousands of free buckets stay small).
const SMALL: usize = 64;
/// How many emptied large buckets `EventQueue` keeps for reuse.
const SPARE: usize = 4;
/// The bucket slot that stands for "no bucket" (always empty).
const NONE: usize = 0;
/// The key of no bucket; pushes never use class `u8::MAX`.
const NO_KEY: (Millis, u8) = (Millis::MAX, u8::MAX);

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            keys: BTreeMap::new(),
            index: FxHashMap::default(),
            buckets: vec![Bucket::default()],
            free: Vec::new(),
            spare: Vec::new(),
            front: NONE,
            front_key: NO_KEY,
            recent_t: [Millis::MAX; RECENT],
            recent_b: [NONE; RECENT],
            len: 0,
        }
    }
}

impl<E: Copy> EventQueue<E> {
    #[inline]
    pub fn push(&mut self, t: Millis, class: u8, ev: E) {
        debug_assert!(class != u8::MAX, "class u8::MAX is reserved");
        self.len += 1;
        if class == 0 && t != Millis::MAX {
            for i in 0..RECENT {
                if self.recent_t[i] == t {
                    return self.push_to(self.recent_b[i], ev);
                }
            }
        }
        self.push_slow(t, class, ev);
    }

    /// `push` for a key outside the recent-key cache: the front bucket, a bucket
    /// found through the index, or a new bucket.
    #[inline(never)]
    fn push_slow(&mut self, t: Millis, class: u8, ev: E) {
        let key = (t, class);
        let b = if self.front != NONE && self.front_key == key {
            self.front
        } else if let Some(&b) = self.index.get(&key) {
            b
        } else {
            self.new_bucket(key)
        };
        if class == 0 && t != Millis::MAX {
            self.recent_t.copy_within(0..RECENT - 1, 1);
            self.recent_b.copy_within(0..RECENT - 1, 1);
            self.recent_t[0] = t;
            self.recent_b[0] = b;
        }
        self.push_to(b, ev);
    }

    /// A new, empty bucket for `key`: the front if it comes before the current
    /// front (which goes back to the map), else a bucket of the map.
    fn new_bucket(&mut self, key: (Millis, u8)) -> usize {
        let b = match self.free.pop() {
            Some(b) => b,
            None => {
                self.buckets.push(Bucket::default());
                self.buckets.len() - 1
            }
        };
        if self.front != NONE && key < self.front_key {
            let (fk, fb) = (self.front_key, self.front);
            if self.live(fb) {
                self.keys.insert(fk, fb);
                self.index.insert(fk, fb);
            } else {
                self.release(fb);
            }
            self.front = b;
            self.front_key = key;
        } else {
            self.keys.insert(key, b);
            self.index.insert(key, b);
        }
        b
    }

    /// Bucket `b` holds entries not yet popped.
    #[inline]
    fn live(&self, b: usize) -> bool {
        let q = &self.buckets[b];
        q.head < q.items.len()
    }

    /// Appends to bucket `b`; a full bucket goes the out-of-line way.
    #[inline]
    fn push_to(&mut self, b: usize, ev: E) {
        let q = &mut self.buckets[b].items;
        if q.len() == q.capacity() {
            return self.push_full(b, ev);
        }
        q.push(ev);
    }

    /// Appends to a full bucket: popped entries are dropped first (the front
    /// bucket, pushed to at its own instant); a bucket about to grow past `SMALL`
    /// takes a spare large bucket (its entries move over; the small one is
    /// dropped), if one is larger.
    #[cold]
    #[inline(never)]
    fn push_full(&mut self, b: usize, ev: E) {
        let Bucket { items: q, head } = &mut self.buckets[b];
        if *head > 0 {
            q.drain(..*head);
            *head = 0;
        }
        if q.len() == q.capacity()
            && q.capacity() >= SMALL
            && let Some(i) = self.spare.iter().rposition(|s| s.capacity() > q.len())
        {
            let mut big = self.spare.swap_remove(i);
            big.extend_from_slice(q);
            *q = big;
        }
        q.push(ev);
    }

    /// Makes `front` the bucket with the smallest key; false when the queue is empty.
    #[inline]
    fn settle(&mut self) -> bool {
        self.live(self.front) || self.settle_slow()
    }

    /// `settle` when the front bucket is drained: it is freed and the smallest
    /// bucket of the map becomes the front.
    #[cold]
    #[inline(never)]
    fn settle_slow(&mut self) -> bool {
        loop {
            if self.front != NONE {
                if self.live(self.front) {
                    return true;
                }
                self.release(self.front);
                self.front = NONE;
                self.front_key = NO_KEY;
            }
            let Some((k, b)) = self.keys.pop_first() else {
                return false;
            };
            self.index.remove(&k);
            self.front = b;
            self.front_key = k;
        }
    }

    /// Frees drained bucket `b` (not in the map): it leaves the push cache, and
    /// gives its room back (thousands of buckets are reused) unless it is small;
    /// a few large ones are kept as spares for the next waves.
    fn release(&mut self, b: usize) {
        for i in 0..RECENT {
            if self.recent_b[i] == b {
                self.recent_t[i] = Millis::MAX;
                self.recent_b[i] = NONE;
            }
        }
        let q = &mut self.buckets[b];
        q.items.clear();
        q.head = 0;
        if q.items.capacity() > SMALL {
            let big = std::mem::take(&mut q.items);
            if self.spare.len() < SPARE {
                self.spare.push(big);
            }
        }
        self.free.push(b);
    }

    #[inline]
    pub fn pop(&mut self) -> Option<Entry<E>> {
        let (t, ev) = self.front()?;
        let class = self.front_key.1;
        self.skip_front();
        Some(Entry { t, class, ev })
    }

    /// The next event and its time, left in the queue (`skip_front` drops it).
    #[inline]
    pub fn front(&mut self) -> Option<(Millis, E)> {
        if !self.settle() {
            return None;
        }
        let q = &self.buckets[self.front];
        Some((self.front_key.0, q.items[q.head]))
    }

    /// Drops the event `front` returned (nothing if `front` has not settled on one).
    #[inline]
    pub fn skip_front(&mut self) {
        let q = &mut self.buckets[self.front];
        if q.head < q.items.len() {
            q.head += 1;
            self.len -= 1;
        }
    }

    #[inline]
    pub fn peek(&mut self) -> Option<&E> {
        if !self.settle() {
            return None;
        }
        let q = &self.buckets[self.front];
        q.items.get(q.head)
    }
    #[inline]
    pub fn peek_time(&mut self) -> Option<Millis> {
        self.settle().then_some(self.front_key.0)
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A min-queue for values that mostly arrive in ascending order (keys that
/// start with a due time `now + delay`): values not below the last of the
/// ascending run are appended to it; the others go to a heap. Pops yield the
/// smallest value of either, so the order is that of any min-queue.
#[derive(Debug)]
pub struct RunQueue<T: Ord> {
    run: VecDeque<T>,
    rest: BinaryHeap<Reverse<T>>,
}

impl<T: Ord> Default for RunQueue<T> {
    fn default() -> Self {
        RunQueue {
            run: VecDeque::new(),
            rest: BinaryHeap::new(),
        }
    }
}

impl<T: Ord> RunQueue<T> {
    pub fn push(&mut self, v: T) {
        if self.run.back().is_none_or(|b| *b <= v) {
            self.run.push_back(v);
        } else {
            self.rest.push(Reverse(v));
        }
    }

    /// Whether the smallest value is the run's front (else the heap's top).
    fn run_first(&self) -> bool {
        match (self.run.front(), self.rest.peek()) {
            (Some(a), Some(Reverse(b))) => a <= b,
            (a, _) => a.is_some(),
        }
    }

    pub fn peek(&self) -> Option<&T> {
        if self.run_first() {
            self.run.front()
        } else {
            self.rest.peek().map(|Reverse(v)| v)
        }
    }

    pub fn pop(&mut self) -> Option<T> {
        if self.run_first() {
            self.run.pop_front()
        } else {
            self.rest.pop().map(|Reverse(v)| v)
        }
    }
}

/// A map from object ids (creation sequence numbers) to values: a window of
/// slots from the smallest key present to the largest, so a lookup is an index.
/// Keys in use are ids of live objects, which sit close together (objects die
/// roughly in creation order), so the window stays near the number of keys.
#[derive(Debug)]
pub struct IdMap<V> {
    /// Slot `i` holds key `base + i`. The window is `slots[start..]`: its first
    /// and last slots are occupied; the slots before `start` are empty, given
    /// back in one go once they are three quarters of the vector (moving the
    /// window costs a third of a slot per slot freed; the vector stays within
    /// four times the window).
    slots: Vec<Option<V>>,
    start: usize,
    base: u64,
    len: usize,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap {
            slots: Vec::new(),
            start: 0,
            base: 0,
            len: 0,
        }
    }
}

impl<V> IdMap<V> {
    #[inline]
    fn slot(&self, key: u64) -> Option<usize> {
        key.checked_sub(self.base).and_then(|i| usize::try_from(i).ok())
    }
    #[inline]
    pub fn get(&self, key: u64) -> Option<&V> {
        self.slots.get(self.slot(key)?)?.as_ref()
    }
    #[inline]
    pub fn get_mut(&mut self, key: u64) -> Option<&mut V> {
        let i = self.slot(key)?;
        self.slots.get_mut(i)?.as_mut()
    }
    #[inline]
    pub fn insert(&mut self, key: u64, v: V) {
        if self.len == 0 {
            self.slots.clear();
            self.start = 0;
            self.base = key;
        }
        if key < self.base {
            self.grow_below(key);
        }
        let i = usize::try_from(key - self.base).expect("an id window fits in memory");
        self.start = self.start.min(i);
        if self.slots.len() == i {
            // The next id (the common case): the value goes straight into a new slot.
            self.slots.push(Some(v));
            self.len += 1;
            return;
        }
        if self.slots.len() < i {
            self.grow_above(i);
        }
        if self.slots[i].replace(v).is_none() {
            self.len += 1;
        }
    }
    /// Extends the window down to `key` (below `base`); out of line, as it is rare.
    #[cold]
    fn grow_below(&mut self, key: u64) {
        let n = usize::try_from(self.base - key).expect("an id window fits in memory");
        self.slots.splice(0..0, std::iter::repeat_with(|| None).take(n));
        self.start += n;
        self.base = key;
    }
    /// Extends the window up to slot `i` (past the next); out of line, as it is rare.
    #[cold]
    fn grow_above(&mut self, i: usize) {
        self.slots.resize_with(i + 1, || None);
    }
    #[inline]
    pub fn remove(&mut self, key: u64) -> Option<V> {
        let i = self.slot(key)?;
        let v = self.slots.get_mut(i)?.take()?;
        self.len -= 1;
        while self.slots.last().is_some_and(|s| s.is_none()) {
            self.slots.pop();
        }
        self.start = self.start.min(self.slots.len());
        while self.slots.get(self.start).is_some_and(|s| s.is_none()) {
            self.start += 1;
        }
        if self.start > 3 * (self.slots.len() - self.start) {
            self.give_back_head();
        }
        Some(v)
    }
    /// Drops the empty slots before `start`; out of line, as it is rare.
    #[cold]
    fn give_back_head(&mut self) {
        self.slots.drain(..self.start);
        self.base += self.start as u64;
        self.start = 0;
    }
    pub fn contains_key(&self, key: u64) -> bool {
        self.get(key).is_some()
    }
    /// The entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &V)> {
        let first = self.base + self.start as u64;
        self.slots[self.start..]
            .iter()
            .enumerate()
            .filter_map(move |(i, s)| s.as_ref().map(|v| (first + i as u64, v)))
    }
    /// Slots held, live or not (tests of the storage bound).
    #[cfg(test)]
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn clear(&mut self) {
        self.slots.clear();
        self.start = 0;
        self.len = 0;
    }
}

/// Workqueue semantics of client-go: one slot per key; adding a key that is
/// already queued keeps the earlier due time (dedup); the popped slot must
/// match the generation handed out (lazy cancellation of superseded events).
/// Keys are object ids; the queued set is an `IdMap` (never iterated). A key
/// taken for processing keeps its slot, marked idle, until it is queued again
/// or forgotten (its object is gone): the next add overwrites it in place.
#[derive(Debug)]
pub struct WorkQueue<K: Ord + Copy + Into<u64>> {
    /// (due, generation) of queued keys; generation `IDLE` for idle slots.
    pending: IdMap<(Millis, u64)>,
    /// How many slots of `pending` are idle.
    idle: usize,
    epoch: u64,
    /// Consecutive reconcile errors per key (for backoff).
    pub failures: BTreeMap<K, u32>,
}

/// The generation of an idle `WorkQueue` slot (handed-out generations start at 1).
const IDLE: u64 = 0;

impl<K: Ord + Copy + Into<u64>> Default for WorkQueue<K> {
    fn default() -> Self {
        WorkQueue {
            pending: IdMap::default(),
            idle: 0,
            epoch: 0,
            failures: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Copy + Into<u64>> WorkQueue<K> {
    /// Queues `key` at `due`; returns the (due, generation) of a new event to schedule, if any.
    #[inline]
    pub fn add(&mut self, key: K, due: Millis) -> Option<(Millis, u64)> {
        let Some(slot) = self.pending.get_mut(key.into()) else {
            return self.add_new(key.into(), due);
        };
        if slot.1 != IDLE && slot.0 <= due {
            return None;
        }
        self.idle -= usize::from(slot.1 == IDLE);
        self.epoch += 1;
        *slot = (due, self.epoch);
        Some((due, self.epoch))
    }
    /// `add` for a key without a slot; out of line, so `add` stays small.
    #[inline(never)]
    fn add_new(&mut self, k: u64, due: Millis) -> Option<(Millis, u64)> {
        self.epoch += 1;
        self.pending.insert(k, (due, self.epoch));
        Some((due, self.epoch))
    }
    /// Takes the key if `epoch` is its current generation (its slot turns idle).
    #[inline]
    pub fn take(&mut self, key: K, epoch: u64) -> bool {
        match self.pending.get_mut(key.into()) {
            Some(slot) if slot.1 == epoch && epoch != IDLE => {
                *slot = (0, IDLE);
                self.idle += 1;
                true
            }
            _ => false,
        }
    }
    /// The key is queued and not yet processed.
    pub fn is_pending(&self, key: K) -> bool {
        self.pending.get(key.into()).is_some_and(|s| s.1 != IDLE)
    }
    /// Drops the key's slot, queued or idle, and its retry counter (its object is gone).
    pub fn forget(&mut self, key: K) {
        if self.pending.remove(key.into()).is_some_and(|s| s.1 == IDLE) {
            self.idle -= 1;
        }
        if !self.failures.is_empty() {
            self.failures.remove(&key);
        }
    }
    /// Drops every queued key and retry counter (a controller restart); returns how many keys were queued.
    /// Generations keep counting, so events already scheduled for dropped keys are stale.
    pub fn clear(&mut self) -> usize {
        let n = self.pending.len() - self.idle;
        self.pending.clear();
        self.idle = 0;
        self.failures.clear();
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_orders_by_time_then_class_then_fifo() {
        let mut q = EventQueue::default();
        q.push(5, 0, "b");
        q.push(5, 1, "check");
        q.push(5, 0, "c");
        q.push(1, 0, "a");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|e| e.ev)).collect();
        assert_eq!(order, vec!["a", "b", "c", "check"]);
    }

    /// A drained bucket leaves the recent-key cache: a later push with its key gets a live bucket.
    #[test]
    fn freed_bucket_leaves_the_push_cache() {
        let mut q = EventQueue::default();
        q.push(5, 0, "a");
        assert_eq!(q.pop().map(|e| e.ev), Some("a"));
        q.push(7, 0, "b");
        assert_eq!(q.peek_time(), Some(7), "the drained bucket of 5 is freed");
        q.push(5, 0, "c");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|e| (e.t, e.ev))).collect();
        assert_eq!(order, vec![(5, "c"), (7, "b")]);
    }

    /// The front bucket takes pushes at its own instant while it drains (its popped
    /// entries are dropped when it fills up, so it does not grow), a key before the
    /// front's becomes the front at once (the partly drained front goes back to the
    /// map), and pushes at `Millis::MAX` skip the push cache and never reach slot `NONE`.
    #[test]
    fn front_bucket_refills_and_yields_to_an_earlier_key() {
        let mut q = EventQueue::default();
        for i in 0..4u32 {
            q.push(10, 1, i);
        }
        let e = q.pop().unwrap();
        assert_eq!((e.t, e.class, e.ev), (10, 1, 0));
        q.push(10, 0, 100);
        assert_eq!(q.front_key, (10, 0), "the earlier key is the front at once");
        assert_eq!(q.keys.get(&(10, 1)).copied(), q.index.get(&(10, 1)).copied());
        assert!(q.keys.contains_key(&(10, 1)), "the old front is back in the map");
        let e = q.pop().unwrap();
        assert_eq!((e.t, e.class, e.ev), (10, 0, 100));
        for i in 0..300u32 {
            q.push(10, 0, 1000 + i);
            assert_eq!(q.peek_time(), Some(10));
            let e = q.pop().unwrap();
            assert_eq!((e.t, e.class, e.ev), (10, 0, 1000 + i));
            assert!(
                q.buckets[q.front].items.capacity() < 16,
                "popped entries make room: the front bucket does not grow"
            );
        }
        q.push(Millis::MAX, 0, 7);
        q.push(20, 0, 5);
        q.push(Millis::MAX, 0, 8);
        assert!(
            q.recent_t
                .iter()
                .zip(&q.recent_b)
                .all(|(&t, &b)| (t == Millis::MAX) == (b == NONE)),
            "only unused cache entries hold time Millis::MAX"
        );
        assert_eq!(q.len(), 6);
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|e| (e.t, e.class, e.ev))).collect();
        assert_eq!(
            order,
            vec![
                (10, 1, 1),
                (10, 1, 2),
                (10, 1, 3),
                (20, 0, 5),
                (Millis::MAX, 0, 7),
                (Millis::MAX, 0, 8)
            ]
        );
        assert!(q.is_empty() && q.buckets[NONE].items.is_empty());
        assert_eq!(q.front, NONE, "the drained front was freed");
        q.skip_front();
        assert!(q.is_empty(), "skipping with nothing settled does nothing");
    }

    /// Drained large buckets are kept (a few) and handed to the next bucket that
    /// outgrows `SMALL`, so a later wave of the same size never regrows its bucket.
    #[test]
    fn large_drained_buckets_are_reused_and_bounded() {
        let mut q = EventQueue::default();
        let wave = 1000u64;
        let mut caps = Vec::new();
        for w in 0..10u64 {
            // Several waves in flight at once: more large buckets than the pool keeps.
            for k in 0..SPARE as u64 + 2 {
                for i in 0..wave {
                    q.push(w * 100 + k, 0, i);
                }
            }
            caps.push(q.buckets.iter().map(|b| b.items.capacity()).max().unwrap());
            for k in 0..SPARE as u64 + 2 {
                for i in 0..wave {
                    let e = q.pop().unwrap();
                    assert_eq!((e.t, e.ev), (w * 100 + k, i));
                }
            }
            assert!(q.is_empty());
            assert_eq!(q.peek_time(), None);
            assert!(q.spare.len() <= SPARE, "the pool stays bounded");
            assert!(
                q.buckets.iter().all(|b| b.items.capacity() <= SMALL),
                "freed buckets are small"
            );
        }
        assert_eq!(q.spare.len(), SPARE);
        assert!(q.spare.iter().all(|s| s.capacity() >= wave as usize));
        // A bucket that adopts a spare keeps its entries in order and does not grow.
        let cap = q.spare.last().unwrap().capacity();
        for i in 0..wave {
            q.push(5000, 0, i);
        }
        let b = q.recent_b[0];
        assert_eq!(
            q.buckets[b].items.capacity(),
            cap,
            "the spare's room is used, not regrown"
        );
        assert_eq!(q.spare.len(), SPARE - 1);
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|e| e.ev)).collect();
        assert_eq!(order, (0..wave).collect::<Vec<_>>());
        assert!(caps.iter().all(|c| *c >= wave as usize));
    }

    /// The bucket queue pops in exactly the order of a heap keyed by (time, class, insertion
    /// sequence), under interleaved pushes and pops that never go back in time.
    #[test]
    fn bucket_queue_matches_a_sorted_reference() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut q = EventQueue::default();
        let mut reference: std::collections::BTreeSet<(Millis, u8, u64)> = Default::default();
        let mut now = 0;
        let mut seq = 0u64;
        for _ in 0..20_000 {
            if rng.next_u32() % 3 != 0 || reference.is_empty() {
                let t = now + [0, 0, 1, 5, 1000][(rng.next_u32() % 5) as usize] + u64::from(rng.next_u32() % 3);
                let class = (rng.next_u32() % 4 == 0) as u8;
                seq += 1;
                q.push(t, class, seq);
                reference.insert((t, class, seq));
            } else {
                let want = reference.pop_first().unwrap();
                assert_eq!(q.peek_time(), Some(want.0));
                assert_eq!(q.peek().copied(), Some(want.2));
                let e = q.pop().unwrap();
                assert_eq!((e.t, e.class, e.ev), want);
                now = e.t;
            }
            assert_eq!(q.len(), reference.len());
        }
        while let Some(want) = reference.pop_first() {
            let e = q.pop().unwrap();
            assert_eq!((e.t, e.class, e.ev), want);
        }
        assert!(q.pop().is_none() && q.is_empty());
    }

    /// The run queue pops every value in ascending order, whatever the push order.
    #[test]
    fn run_queue_matches_a_sorted_reference() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut q = RunQueue::default();
        let mut reference: std::collections::BTreeMap<(u64, u64), usize> = Default::default();
        let mut now = 0u64;
        for i in 0..20_000u64 {
            if rng.next_u32() % 3 != 0 || reference.is_empty() {
                // Mostly ascending (now + a delay), sometimes out of order.
                let v = if rng.next_u32() % 5 == 0 {
                    (now + u64::from(rng.next_u32() % 50), i % 7)
                } else {
                    (now + 20, i)
                };
                q.push(v);
                *reference.entry(v).or_default() += 1;
            } else {
                let (&want, n) = reference.iter_mut().next().unwrap();
                *n -= 1;
                if *n == 0 {
                    reference.remove(&want);
                }
                assert_eq!(q.peek(), Some(&want));
                assert_eq!(q.pop(), Some(want));
                now = want.0;
            }
        }
        while let Some((&want, _)) = reference.iter().next() {
            let n = reference.get_mut(&want).unwrap();
            *n -= 1;
            if *n == 0 {
                reference.remove(&want);
            }
            assert_eq!(q.pop(), Some(want));
        }
        assert!(q.pop().is_none() && q.peek().is_none());
    }

    #[test]
    fn workqueue_dedups_and_keeps_the_earlier_due_time() {
        let mut w = WorkQueue::default();
        let (t1, g1) = w.add(7u64, 100).unwrap();
        assert_eq!(t1, 100);
        assert!(w.add(7, 150).is_none(), "a later add while queued is absorbed");
        let (t2, g2) = w.add(7, 50).unwrap();
        assert_eq!(t2, 50);
        assert!(!w.take(7, g1), "the superseded event is stale");
        assert!(w.take(7, g2));
        assert!(w.add(7, 200).is_some(), "after processing, the key can be queued again");
    }

    /// A taken key keeps an idle slot: it is not pending, a later add (even with a later
    /// due time) queues it with a new generation, and forget or clear drop it.
    #[test]
    fn workqueue_idle_slots_are_reused_and_not_counted() {
        let mut w = WorkQueue::default();
        let (_, g1) = w.add(3u64, 100).unwrap();
        let (_, g2) = w.add(4u64, 100).unwrap();
        assert!(w.take(3, g1));
        assert!(!w.is_pending(3) && w.is_pending(4));
        assert_eq!((w.pending.len(), w.idle), (2, 1), "the taken key's slot stays, idle");
        assert!(!w.take(3, g1), "an idle slot is taken once");
        assert!(!w.take(3, IDLE), "the idle generation never matches");
        let (t, g3) = w.add(3, 500).unwrap();
        assert!(t == 500 && g3 > g2, "an idle key is queued again whatever its due time");
        assert_eq!(w.idle, 0);
        assert!(w.add(3, 600).is_none(), "and dedups as before");
        assert!(w.take(3, g3) && w.take(4, g2));
        assert_eq!(w.clear(), 0, "idle slots are not queued keys");
        assert!(w.pending.is_empty() && w.idle == 0);
        let (_, g4) = w.add(9u64, 1).unwrap();
        w.add(10u64, 1).unwrap();
        assert!(w.take(9, g4));
        w.forget(9);
        w.forget(10);
        assert!(
            w.pending.is_empty() && w.idle == 0,
            "forget drops idle and queued slots"
        );
        w.add(11u64, 1).unwrap();
        assert_eq!(w.clear(), 1);
    }

    /// A window of live keys sliding over many ids keeps the vector within four times
    /// its width (and then some slack): it does not grow with the ids seen.
    #[test]
    fn id_map_sliding_window_stays_bounded() {
        let mut m = IdMap::default();
        let width = 100u64;
        for k in 0..100_000u64 {
            m.insert(k, k);
            if k >= width {
                assert_eq!(m.remove(k - width), Some(k - width));
            }
            assert!(m.start <= 3 * width as usize, "the head is given back at {k}");
            assert!(
                m.slots.capacity() <= 8 * width as usize,
                "capacity {} at {k}",
                m.slots.capacity()
            );
            assert_eq!(m.slots.len() - m.start, (k.min(width - 1) + 1) as usize);
        }
        for k in 100_000 - width..100_000 {
            assert_eq!(m.get(k), Some(&k));
        }
        assert_eq!((m.get(100_000 - width - 1), m.len()), (None, width as usize));
    }

    /// The id window behaves as a map under random inserts and removes around a moving range.
    #[test]
    fn id_map_matches_a_btree_map() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut m = IdMap::default();
        let mut reference = BTreeMap::new();
        for step in 0..50_000u64 {
            let k = step / 8 + u64::from(rng.next_u32() % 64);
            if rng.next_u32() % 2 == 0 {
                m.insert(k, step);
                reference.insert(k, step);
            } else {
                assert_eq!(m.remove(k), reference.remove(&k));
            }
            let probe = step / 8 + u64::from(rng.next_u32() % 80);
            assert_eq!(m.get(probe), reference.get(&probe));
            assert_eq!(m.len(), reference.len());
        }
        let (lo, hi) = (reference.keys().next().unwrap(), reference.keys().last().unwrap());
        assert_eq!(
            (m.slots.len() - m.start) as u64,
            hi - lo + 1,
            "the window spans the smallest to the largest key"
        );
        assert!(
            m.start <= 3 * (m.slots.len() - m.start),
            "the emptied head is given back"
        );
        m.clear();
        assert!(m.is_empty() && m.get(3).is_none());
        // Emptied by removes, then refilled below and above the old window.
        for k in [40, 50, 45] {
            m.insert(k, k);
        }
        for k in [40, 50, 45] {
            assert_eq!(m.remove(k), Some(k));
        }
        assert!(m.is_empty() && m.slots.is_empty());
        m.insert(30, 1);
        m.insert(20, 2);
        m.insert(60, 3);
        assert_eq!(
            (m.get(20), m.get(30), m.get(60), m.get(40)),
            (Some(&2), Some(&1), Some(&3), None)
        );
        assert_eq!(m.remove(20), Some(2));
        assert_eq!(m.remove(30), Some(1));
        assert_eq!((m.get(60), m.len()), (Some(&3), 1));
    }
}
