//! The event queue (total order by time, class, sequence) and Kubernetes-style workqueues.

use crate::units::Millis;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

/// One scheduled event. Ordered by (time, class, seq): `class` 1 runs after
/// every class-0 event at the same instant (used for expectation checkpoints).
#[derive(Debug)]
pub struct Entry<E> {
    pub t: Millis,
    pub class: u8,
    pub seq: u64,
    pub ev: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, o: &Self) -> bool {
        (self.t, self.class, self.seq) == (o.t, o.class, o.seq)
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.t, self.class, self.seq).cmp(&(o.t, o.class, o.seq))
    }
}

/// A min-heap of events with a global insertion counter, so ties run FIFO.
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Entry<E>>>,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    pub fn push(&mut self, t: Millis, class: u8, ev: E) {
        self.seq += 1;
        self.heap.push(Reverse(Entry {
            t,
            class,
            seq: self.seq,
            ev,
        }));
    }
    pub fn pop(&mut self) -> Option<Entry<E>> {
        self.heap.pop().map(|Reverse(e)| e)
    }
    pub fn peek(&self) -> Option<&E> {
        self.heap.peek().map(|Reverse(e)| &e.ev)
    }
    pub fn peek_time(&self) -> Option<Millis> {
        self.heap.peek().map(|Reverse(e)| e.t)
    }
    pub fn len(&self) -> usize {
        self.heap.len()
    }
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

/// Workqueue semantics of client-go: one slot per key; adding a key that is
/// already queued keeps the earlier due time (dedup); the popped slot must
/// match the generation handed out (lazy cancellation of superseded events).
#[derive(Debug)]
pub struct WorkQueue<K: Ord + Copy> {
    pending: BTreeMap<K, (Millis, u64)>,
    epoch: u64,
    /// Consecutive reconcile errors per key (for backoff).
    pub failures: BTreeMap<K, u32>,
}

impl<K: Ord + Copy> Default for WorkQueue<K> {
    fn default() -> Self {
        WorkQueue {
            pending: BTreeMap::new(),
            epoch: 0,
            failures: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Copy> WorkQueue<K> {
    /// Queues `key` at `due`; returns the (due, generation) of a new event to schedule, if any.
    pub fn add(&mut self, key: K, due: Millis) -> Option<(Millis, u64)> {
        if let Some((d, _)) = self.pending.get(&key)
            && *d <= due
        {
            return None;
        }
        self.epoch += 1;
        self.pending.insert(key, (due, self.epoch));
        Some((due, self.epoch))
    }
    /// Takes the key if `epoch` is its current generation.
    pub fn take(&mut self, key: K, epoch: u64) -> bool {
        match self.pending.get(&key) {
            Some((_, g)) if *g == epoch => {
                self.pending.remove(&key);
                true
            }
            _ => false,
        }
    }
    /// The key is queued and not yet processed.
    pub fn is_pending(&self, key: K) -> bool {
        self.pending.contains_key(&key)
    }
    pub fn forget(&mut self, key: K) {
        self.pending.remove(&key);
        self.failures.remove(&key);
    }
    /// Drops every queued key and retry counter (a controller restart); returns how many keys were queued.
    /// Generations keep counting, so events already scheduled for dropped keys are stale.
    pub fn clear(&mut self) -> usize {
        let n = self.pending.len();
        self.pending.clear();
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
}
