//! The simulated API server's object store: typed slabs with stable ids,
//! name indexes kept in storage-key (name) order, resourceVersions.

use crate::api::{Condition, JobSet, JobSpec, Labels, PodTemplateSpec};
use crate::controllers::jobset::{ChildJob, Classified, RefreshedRow};
use crate::trace::Name;
use crate::units::Millis;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::queue::IdMap;

/// A slab of boxed objects (an [`InlineSlab`] of boxes, for objects too large to
/// move in and out of a slot); ids are never reused within a run (the id is a
/// creation sequence number). Storage is a window of slots from the oldest live
/// id to the newest: objects die roughly in creation order, so the window stays
/// close to the live count while `get` is an index, not a tree search.
#[derive(Debug)]
pub struct Slab<T>(InlineSlab<Box<T>>);

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab(InlineSlab::default())
    }
}

impl<T> Slab<T> {
    pub fn insert(&mut self, v: T) -> u64 {
        self.0.insert(Box::new(v))
    }
    /// Inserts an object already boxed.
    pub fn insert_boxed(&mut self, b: Box<T>) -> u64 {
        self.0.insert(b)
    }
    pub fn get(&self, id: u64) -> Option<&T> {
        self.0.get(id).map(|b| &**b)
    }
    pub fn get_mut(&mut self, id: u64) -> Option<&mut T> {
        self.0.get_mut(id).map(|b| &mut **b)
    }
    /// Removes and returns the object, still boxed (moving it out would copy it).
    pub fn remove(&mut self, id: u64) -> Option<Box<T>> {
        self.0.remove(id)
    }
    /// Live objects in id (creation) order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> {
        self.0.iter().map(|(id, b)| (id, &**b))
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The Job store: a [`Slab`] that remembers which Jobs were handed out to be written
/// since the JobSets' kept reconcile views last caught up ([`JobSlab::sync_views`]),
/// so only those Jobs' rows are refreshed (a reconcile of a 2,048-Job JobSet then
/// costs no pass over 2,048 Job objects unless the set of Jobs changed).
#[derive(Debug, Default)]
pub struct JobSlab {
    slab: Slab<JobObj>,
    written: Vec<JobId>,
    /// Boxes of removed Jobs ([`JobSlab::recycle`]), for new Jobs: a restart attempt's
    /// Jobs replace the last one's, and a box taken here saves an allocation and a free.
    /// (The boxes are the point, so clippy's `vec_box` does not apply.)
    #[allow(clippy::vec_box)]
    spare: Vec<Box<JobObj>>,
}

/// At most this many spare Job boxes are kept (2 MiB).
const SPARE_JOBS: usize = 4096;

impl JobSlab {
    /// Stores a new Job made of `n` (with an empty status and no pods). A spare box
    /// (a removed Job's) is reset in place: its empty collections are kept rather than
    /// dropped, and the Job is written once, not built and then moved into the box.
    pub fn create(&mut self, n: NewJob) -> JobId {
        let id = match self.spare.pop() {
            Some(mut b) => {
                b.reset(n);
                self.slab.insert_boxed(b)
            }
            None => self.slab.insert(JobObj::new(n)),
        };
        self.written.push(id);
        id
    }
    /// Takes back the box of a removed Job for a later `create`.
    pub fn recycle(&mut self, j: Box<JobObj>) {
        if self.spare.len() < SPARE_JOBS {
            self.spare.push(j);
        }
    }
    pub fn get(&self, id: JobId) -> Option<&JobObj> {
        self.slab.get(id)
    }
    /// The id the next `insert` hands out.
    pub fn next_id(&self) -> JobId {
        self.slab.0.next
    }
    /// The Job, to write: its row in its JobSet's kept view is refreshed before the
    /// next reconcile reads it.
    pub fn get_mut(&mut self, id: JobId) -> Option<&mut JobObj> {
        let j = self.slab.get_mut(id)?;
        if !j.row_stale {
            j.row_stale = true;
            self.written.push(id);
        }
        Some(j)
    }
    pub fn remove(&mut self, id: JobId) -> Option<Box<JobObj>> {
        self.slab.remove(id)
    }
    pub fn iter(&self) -> impl Iterator<Item = (JobId, &JobObj)> {
        self.slab.iter()
    }
    pub fn len(&self) -> usize {
        self.slab.len()
    }
    pub fn is_empty(&self) -> bool {
        self.slab.is_empty()
    }
    /// Refreshes, in their JobSets' kept views, the rows of the Jobs written since the
    /// last call. A view whose set of Jobs changed is rebuilt whole by [`JobSlab::view`].
    #[inline]
    pub fn sync_views(&mut self, jobsets: &mut Slab<JobSetObj>) {
        if !self.written.is_empty() {
            self.sync_written(jobsets);
        }
    }
    #[inline(never)]
    fn sync_written(&mut self, jobsets: &mut Slab<JobSetObj>) {
        for id in self.written.drain(..) {
            let Some(j) = self.slab.get_mut(id) else { continue };
            j.row_stale = false;
            let Some(jso) = j.stamp.as_ref().and_then(|s| jobsets.get_mut(s.jobset)) else {
                continue;
            };
            // A Job not in a valid view (a new Job, or one the JobSet does not list)
            // has no row to refresh: the view is rebuilt or does not show it.
            if jso.jobs.view_valid
                && let Some(row) = jso.jobs.view.get_mut(j.view_row as usize)
                && row.handle == id as usize
            {
                // Noted, at its first refresh since the last reconcile, for the JobSet's
                // kept classification to follow (see `ChildJobs::refreshed`).
                if j.row_noted != jso.jobs.noted_round {
                    j.row_noted = jso.jobs.noted_round;
                    jso.jobs.refreshed.push((j.view_row, Classified::marks_of(row)));
                }
                refresh_row(row, j);
                jso.jobs.version += 1;
            }
        }
    }
    /// The reconcile's view of `jobs` (a JobSet's children) in list order, rebuilt from
    /// the Job objects if the set of Jobs changed since it was last built. Call
    /// [`JobSlab::sync_views`] first.
    pub fn view<'a>(&mut self, jobs: &'a mut ChildJobs) -> &'a [ChildJob] {
        debug_assert!(self.written.is_empty(), "sync_views first");
        if !jobs.view_valid {
            jobs.refreshed.clear();
            jobs.follow_from = None;
            jobs.view.clear();
            jobs.view.reserve(jobs.live);
            for &(_, id, _) in &jobs.slots {
                let Some(j) = id.and_then(|id| self.slab.get_mut(id)) else {
                    continue;
                };
                j.view_row = u32::try_from(jobs.view.len()).unwrap_or(u32::MAX);
                jobs.view.push(job_view(id.expect("listed"), j));
            }
            jobs.view_valid = true;
            jobs.version += 1;
        }
        &jobs.view
    }
}

/// The reconcile's view of one owned Job, read from the Job itself (the reference
/// that [`refresh_row`]'s updates must keep matching).
pub fn job_view(id: JobId, j: &JobObj) -> ChildJob {
    let s = j.stamp.as_ref().expect("owned jobs carry a stamp");
    ChildJob {
        handle: id as usize,
        name: j.name.clone(),
        rj_name: s.rj_name.clone(),
        job_index: s.job_index,
        restart_attempt: s.restart_attempt,
        job_restart_attempt: s.job_restart_attempt,
        finish: j.finished().map(|c| Rc::new(c.clone())),
        ready: j.status.ready,
        succeeded: j.status.succeeded,
        active: j.status.active,
        suspended: j.suspend,
        parallelism: j.parallelism,
        completions: j.completions,
        deleting: j.deletion.is_some(),
    }
}

/// Brings the row of Job `j` up to date: everything but its names, which a Job keeps.
#[inline(always)]
fn refresh_row(row: &mut ChildJob, j: &JobObj) {
    if let Some(s) = &j.stamp {
        row.job_index = s.job_index;
        row.restart_attempt = s.restart_attempt;
        row.job_restart_attempt = s.job_restart_attempt;
    }
    match j.finished() {
        None => row.finish = None,
        Some(c) => {
            if row.finish.as_deref() != Some(c) {
                row.finish = Some(Rc::new(c.clone()));
            }
        }
    }
    row.ready = j.status.ready;
    row.succeeded = j.status.succeeded;
    row.active = j.status.active;
    row.suspended = j.suspend;
    row.parallelism = j.parallelism;
    row.completions = j.completions;
    row.deleting = j.deletion.is_some();
}

/// Objects by id, the objects in their slots (a [`Slab`] boxes them): an [`IdMap`]
/// from ids handed out in sequence. For the pods, made and removed by the tens of
/// thousands, this saves an allocation and a free per object and a pointer to
/// follow on every lookup (a lookup is a subtraction and an index); `remove` moves
/// the object out.
#[derive(Debug)]
pub struct InlineSlab<T> {
    map: IdMap<T>,
    next: u64,
}

impl<T> Default for InlineSlab<T> {
    fn default() -> Self {
        InlineSlab {
            map: IdMap::default(),
            next: 0,
        }
    }
}

impl<T> InlineSlab<T> {
    pub fn insert(&mut self, v: T) -> u64 {
        let id = self.next;
        self.next += 1;
        self.map.insert(id, v);
        id
    }
    #[inline]
    pub fn get(&self, id: u64) -> Option<&T> {
        self.map.get(id)
    }
    #[inline]
    pub fn get_mut(&mut self, id: u64) -> Option<&mut T> {
        self.map.get_mut(id)
    }
    pub fn remove(&mut self, id: u64) -> Option<T> {
        self.map.remove(id)
    }
    /// Live objects in id (creation) order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> {
        self.map.iter()
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod inline_slab_tests {
    use super::*;

    /// `InlineSlab` and the boxed `Slab` behave as a map from creation sequence numbers
    /// (ids are never reused) across removals in and out of creation order, and the
    /// dead slots at the front are dropped so storage stays near the live span.
    #[test]
    fn inline_slabs_behave_as_a_map_of_sequence_numbers() {
        let mut a: InlineSlab<String> = InlineSlab::default();
        let mut b: Slab<String> = Slab::default();
        let mut model: BTreeMap<u64, String> = BTreeMap::new();
        let mut next = 0u64;
        for step in 0..3000u64 {
            if step % 3 != 2 || model.is_empty() {
                let v = format!("v{step}");
                assert_eq!(a.insert(v.clone()), next);
                assert_eq!(b.insert(v.clone()), next);
                model.insert(next, v);
                next += 1;
            } else {
                // Mostly the oldest first (as pods die), sometimes one from the middle,
                // sometimes an id already gone or never made.
                let ids: Vec<u64> = model.keys().copied().collect();
                let id = match step % 7 {
                    0 => ids[ids.len() / 2],
                    1 => ids[0].saturating_sub(1),
                    2 => next + 5,
                    _ => ids[0],
                };
                let want = model.remove(&id);
                assert_eq!(a.remove(id), want);
                assert_eq!(b.remove(id).map(|v| *v), want);
            }
            if step % 97 == 0 {
                // Empty it now and then: the window restarts past the last id.
                for id in model.keys().copied().collect::<Vec<_>>() {
                    let want = model.remove(&id);
                    assert_eq!(a.remove(id), want);
                    assert_eq!(b.remove(id).map(|v| *v), want);
                }
            }
            assert_eq!((a.len(), a.is_empty()), (model.len(), model.is_empty()));
            assert_eq!(b.len(), model.len());
            assert!(a.iter().map(|(k, v)| (k, v.clone())).eq(model.clone()));
            assert!(b.iter().map(|(k, v)| (k, v.clone())).eq(model.clone()));
            for id in next.saturating_sub(40)..next + 2 {
                assert_eq!(a.get(id), model.get(&id));
                assert_eq!(b.get(id), model.get(&id));
            }
            let oldest = model.keys().next().copied().unwrap_or(next);
            assert!(
                a.map.slot_count() as u64 <= 4 * (next - oldest) + 1,
                "dead slots are dropped: {} slots for ids {oldest}..{next}",
                a.map.slot_count()
            );
        }
        if let (Some(x), Some(y)) = (a.get_mut(next - 1), model.get_mut(&(next - 1))) {
            x.push('!');
            y.push('!');
        }
        assert!(a.iter().map(|(k, v)| (k, v.clone())).eq(model));
        assert!(a.get(u64::MAX).is_none() && a.remove(u64::MAX).is_none());
    }
}

/// Object ids by (namespace, name), looked up without building owned keys
/// (names are shared `Name`s). A hash index: it is only ever looked up, never
/// iterated, so its order cannot reach any output (crates-and-style.md §1.10).
///
/// Keyed by name alone, each name holding its (namespace, id) pairs: nearly every
/// name is in one namespace, so a lookup hashes one string, not two, and finds the
/// namespace by comparing a pointer (the namespace `Name`s are shared).
///
/// A removal leaves its pair in place, vacant (id [`VACANT`]): a restart attempt's
/// Jobs take the names the last attempt's just gave up, and finding the pair to write
/// the id into costs less than erasing it and inserting it again. Every read treats
/// a vacant pair as absent. (The index so keeps every name it was ever given, one
/// entry each: a few bytes per distinct Job name.)
#[derive(Debug, Default)]
pub struct NameIndex {
    by_name: rustc_hash::FxHashMap<Name, smallvec::SmallVec<[(Name, u64); 1]>>,
    /// Pairs that are not vacant.
    len: usize,
}

/// The id of a [`NameIndex`] pair whose name was removed (no object has it).
const VACANT: u64 = u64::MAX;

/// Whether the stored namespace `stored` is `ns` (the same shared string, mostly).
#[inline]
fn same_namespace(stored: &Name, ns: &str) -> bool {
    (std::ptr::eq(stored.as_ptr(), ns.as_ptr()) && stored.len() == ns.len()) || **stored == *ns
}

impl NameIndex {
    pub fn get(&self, namespace: &str, name: &str) -> Option<u64> {
        let ids = self.by_name.get(name)?;
        let id = ids.iter().find(|(ns, _)| same_namespace(ns, namespace))?.1;
        (id != VACANT).then_some(id)
    }
    pub fn contains(&self, namespace: &str, name: &str) -> bool {
        self.get(namespace, name).is_some()
    }
    pub fn insert(&mut self, namespace: Name, name: Name, id: u64) {
        debug_assert_ne!(id, VACANT);
        let ids = self.by_name.entry(name).or_default();
        match ids.iter_mut().find(|(ns, _)| same_namespace(ns, &namespace)) {
            Some(e) => {
                if e.1 == VACANT {
                    self.len += 1;
                }
                e.1 = id;
            }
            None => {
                ids.push((namespace, id));
                self.len += 1;
            }
        }
    }
    /// Inserts (namespace, name) -> id unless the name is taken in the namespace; false
    /// if it is (nothing changes). One lookup where `contains` then `insert` take two
    /// (a name the index never had takes a second, to insert it).
    pub fn insert_new(&mut self, namespace: &Name, name: &Name, id: u64) -> bool {
        debug_assert_ne!(id, VACANT);
        // Looked up by `&str` first: a name the index has (a vacant pair, mostly) is
        // not cloned just to be dropped.
        let Some(ids) = self.by_name.get_mut(&**name) else {
            self.by_name
                .insert(name.clone(), smallvec::smallvec![(namespace.clone(), id)]);
            self.len += 1;
            return true;
        };
        match ids.iter_mut().find(|(ns, _)| same_namespace(ns, namespace)) {
            Some(e) if e.1 != VACANT => return false,
            Some(e) => e.1 = id,
            None => ids.push((namespace.clone(), id)),
        }
        self.len += 1;
        true
    }
    /// Removes (namespace, name), leaving its pair vacant; its id, if it was there.
    pub fn remove(&mut self, namespace: &str, name: &str) -> Option<u64> {
        let ids = self.by_name.get_mut(name)?;
        let e = ids.iter_mut().find(|(ns, _)| same_namespace(ns, namespace))?;
        if e.1 == VACANT {
            return None;
        }
        self.len -= 1;
        Some(std::mem::replace(&mut e.1, VACANT))
    }
    /// The number of (namespace, name) pairs with an id (vacant ones not counted).
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

pub type JobSetId = u64;
pub type JobId = u64;
pub type PodId = u64;
pub type NodeId = usize;

#[derive(Debug, Clone)]
pub struct Deletion {
    pub at: Millis,
    pub foreground: bool,
}

/// A stored JobSet.
#[derive(Debug)]
pub struct JobSetObj {
    pub uid: String,
    pub js: JobSet,
    pub rv: u64,
    pub created: Millis,
    pub deletion: Option<Deletion>,
    /// Owned Jobs by name (list order = storage-key order).
    pub jobs: ChildJobs,
    /// When the JobSet became terminal (for summaries).
    pub finished_at: Option<Millis>,
    pub name: Name,
    pub namespace: Name,
    /// Per replicated Job: name as shared string.
    pub rj_names: Vec<Name>,
    /// The last reconcile's classification of the Jobs, for the next reconcile to use
    /// again if the Jobs' view has the same version ([`ChildJobs::version`]).
    pub classified: Option<crate::controllers::jobset::Classified>,
}

/// The Jobs a JobSet owns by name, in storage-key (name) order: a sorted table in
/// which a removed Job leaves an empty slot. A JobSet's Jobs of every restart attempt
/// have the same names, so the next attempt's Jobs refill the slots (found by their
/// replicated Job and index, no shifting) and take what the slot keeps for the name
/// ([`NameCache`]); the table never outgrows the distinct names the JobSet has used.
#[derive(Debug, Default)]
pub struct ChildJobs {
    slots: Vec<(ChildName, Option<JobId>, NameCache)>,
    live: usize,
    /// The reconcile's view of the listed Jobs, kept between reconciles: rows are
    /// refreshed as their Jobs are written ([`JobSlab::sync_views`]); any change to
    /// which Jobs are listed marks it for a rebuild ([`JobSlab::view`]).
    view: Vec<ChildJob>,
    view_valid: bool,
    /// Counts the changes to the view: a rebuild or a refreshed row (whether or not the
    /// Job's write changed what the row shows).
    version: u64,
    /// The rows refreshed since the last reconcile took them ([`ChildJobs::take_refreshed`]),
    /// each once (see `JobObj::row_noted`): position and what the row counted before its
    /// first refresh ([`Classified::marks_of`]), for the JobSet's kept classification to
    /// follow ([`Classified::follow_rows`]).
    refreshed: Vec<RefreshedRow>,
    /// The view's version when `refreshed` started; `None` after a rebuild (the list does
    /// not cover it).
    follow_from: Option<u64>,
    /// Counts the takes of `refreshed`: a Job whose `row_noted` is this one is listed.
    noted_round: u32,
    /// `at[rj][i]`: the slot of the name of replicated Job `rj`'s Job `i` (`NO_SLOT` if
    /// the table lacks it), so a restart attempt's Jobs find their slots without a
    /// search; rebuilt on first use after a new name moved the slots.
    at: Vec<Vec<u32>>,
    at_valid: bool,
}

const NO_SLOT: u32 = u32::MAX;

/// `JobObj::row_noted` of a Job not listed in any round (rounds stay below it).
pub const NOT_NOTED: u32 = u32::MAX;

/// What a JobSet keeps with a Job name for the next restart attempt's Job of that
/// name: its trace encoding (see [`JobStamp::trace_names`]) and its job key, once a
/// Job of the name needed them.
#[derive(Debug, Default)]
pub struct NameCache {
    trace_names: Option<Rc<[u8]>>,
    job_key: Option<JobKey>,
}

impl ChildJobs {
    /// The slot holding the name of Job `job_index` of replicated Job `rj_index`, if the
    /// table has that name under that replicated Job (a name is found by one replicated
    /// Job only, the one whose Job first used it; other lookups search by name).
    #[inline]
    pub fn slot_of(&mut self, rj_index: usize, job_index: i32) -> Option<usize> {
        if !self.at_valid {
            self.rebuild_at();
        }
        let slot = *self.at.get(rj_index)?.get(usize::try_from(job_index).ok()?)?;
        (slot != NO_SLOT).then_some(slot as usize)
    }
    #[cold]
    #[inline(never)]
    fn rebuild_at(&mut self) {
        self.at.iter_mut().for_each(Vec::clear);
        // Indexes far beyond the table's size (a foreign Job's label) are left to the
        // search, so the map stays as small as the table.
        let bound = 4 * self.slots.len() + 16;
        for (slot, (k, _, _)) in self.slots.iter().enumerate() {
            let Some((rj, i)) = k.position().filter(|(_, i)| *i < bound) else {
                continue;
            };
            if self.at.len() <= rj {
                self.at.resize_with(rj + 1, Vec::new);
            }
            let row = &mut self.at[rj];
            if row.len() <= i {
                row.resize(i + 1, NO_SLOT);
            }
            if row[i] == NO_SLOT {
                row[i] = u32::try_from(slot).unwrap_or(NO_SLOT);
            }
        }
        self.at_valid = true;
    }
    /// The name a slot holds.
    pub fn name_at(&self, slot: usize) -> &Name {
        &self.slots[slot].0.name
    }
    /// The trace encoding of the name of `slot` (`make` encodes it the first time).
    pub fn trace_names(&mut self, slot: usize, make: impl FnOnce() -> Rc<[u8]>) -> Rc<[u8]> {
        self.slots[slot].2.trace_names.get_or_insert_with(make).clone()
    }
    /// The job key of the name of `slot` (`make` makes it the first time): every
    /// restart attempt's Job of the name shares it, as it is the name's.
    pub fn job_key(&mut self, slot: usize, make: impl FnOnce() -> JobKey) -> JobKey {
        self.slots[slot].2.job_key.get_or_insert_with(make).clone()
    }
    /// Lists Job `id` under the name of `slot` (from [`ChildJobs::slot_of`]), as
    /// `insert` of that name would; returns the id it replaces.
    pub fn fill(&mut self, slot: usize, id: JobId) -> Option<JobId> {
        self.view_valid = false;
        let old = self.slots[slot].1.replace(id);
        if old.is_none() {
            self.live += 1;
        }
        old
    }
    /// Removes the Job listed under `name`, Job `job_index` of replicated Job
    /// `rj_index` (found by its slot when it has one, else by name).
    #[inline]
    pub fn remove_child(&mut self, name: &Name, rj_index: usize, job_index: i32) -> Option<JobId> {
        match self.slot_of(rj_index, job_index) {
            Some(slot) => {
                debug_assert_eq!(**self.name_at(slot), **name);
                let removed = self.slots[slot].1.take();
                if removed.is_some() {
                    self.live -= 1;
                    self.view_valid = false;
                }
                removed
            }
            None => self.remove(&ChildName::new(name.clone(), rj_index, job_index)),
        }
    }
    fn find<Q: Ord + ?Sized>(&self, name: &Q) -> Result<usize, usize>
    where
        ChildName: std::borrow::Borrow<Q>,
    {
        use std::borrow::Borrow;
        self.slots.binary_search_by(|(k, _, _)| k.borrow().cmp(name))
    }
    /// Lists Job `id` under `name` (one at a time: the engine adds a restart attempt's
    /// Jobs with `fill` and `extend`; tests use this as the plain map operation).
    #[cfg(test)]
    pub fn insert(&mut self, name: ChildName, id: JobId) -> Option<JobId> {
        self.view_valid = false;
        let old = match self.find(&name) {
            Ok(i) => self.slots[i].1.replace(id),
            Err(i) => {
                self.slots.insert(i, (name, Some(id), NameCache::default()));
                self.at_valid = false;
                None
            }
        };
        if old.is_none() {
            self.live += 1;
        }
        old
    }
    /// Removes by key, or by plain name (`&str`).
    pub fn remove<Q: Ord + ?Sized>(&mut self, name: &Q) -> Option<JobId>
    where
        ChildName: std::borrow::Borrow<Q>,
    {
        let i = self.find(name).ok()?;
        let removed = self.slots[i].1.take();
        if removed.is_some() {
            self.live -= 1;
            self.view_valid = false;
        }
        removed
    }
    /// The ids in name order.
    pub fn values(&self) -> impl Iterator<Item = &JobId> + '_ {
        self.iter().map(|(_, id)| id)
    }
    pub fn iter(&self) -> ChildJobsIter<'_> {
        ChildJobsIter(self.slots.iter())
    }
    /// The view is kept from the last [`JobSlab::view`] (no Job joined or left since).
    pub fn view_is_kept(&self) -> bool {
        self.view_valid
    }
    /// The view's version: it changes whenever a row or the set of rows changes.
    pub fn version(&self) -> u64 {
        self.version
    }
    /// For the reconcile: the kept view, the version `refreshed` started from, the view's
    /// version, and the rows refreshed since; the list starts again, empty, from this
    /// version.
    pub fn take_refreshed(&mut self) -> (&[ChildJob], Option<u64>, u64, Vec<RefreshedRow>) {
        debug_assert!(self.view_valid, "JobSlab::view first");
        let from = self.follow_from.replace(self.version);
        self.noted_round = self.noted_round.wrapping_add(1) % NOT_NOTED;
        (&self.view, from, self.version, std::mem::take(&mut self.refreshed))
    }
    /// Returns the list `take_refreshed` took, emptied, to be filled again (keeping its room).
    pub fn give_back_refreshed(&mut self, mut list: Vec<RefreshedRow>) {
        list.clear();
        self.refreshed = list;
    }
    /// The view [`JobSlab::view`] last built and kept up to date since.
    pub fn kept_view(&self) -> &[ChildJob] {
        debug_assert!(self.view_valid, "JobSlab::view first");
        &self.view
    }
    pub fn len(&self) -> usize {
        self.live
    }
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }
}

/// Adds many Jobs with one sort for the new names: a whole restart attempt's Jobs
/// added one by one would each shift the table on the JobSet's first attempt.
impl Extend<(ChildName, JobId)> for ChildJobs {
    fn extend<I: IntoIterator<Item = (ChildName, JobId)>>(&mut self, jobs: I) {
        self.view_valid = false;
        let sorted = self.slots.len();
        for (name, id) in jobs {
            match self.slots[..sorted].binary_search_by(|(k, _, _)| k.cmp(&name)) {
                Ok(i) => {
                    if self.slots[i].1.replace(id).is_none() {
                        self.live += 1;
                    }
                }
                Err(_) => {
                    self.slots.push((name, Some(id), NameCache::default()));
                    self.live += 1;
                }
            }
        }
        if self.slots.len() > sorted {
            self.at_valid = false;
            self.slots.sort_by(|a, b| a.0.cmp(&b.0));
            // A name added twice keeps its last id, as `insert` would (the sort is stable).
            let before = self.slots.len();
            self.slots.dedup_by(|later, earlier| {
                let same = later.0 == earlier.0;
                if same {
                    earlier.1 = later.1;
                }
                same
            });
            self.live -= before - self.slots.len();
        }
    }
}

/// The (name, id) pairs of a [`ChildJobs`] in name order.
pub struct ChildJobsIter<'a>(std::slice::Iter<'a, (ChildName, Option<JobId>, NameCache)>);

impl<'a> Iterator for ChildJobsIter<'a> {
    type Item = (&'a ChildName, &'a JobId);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.find_map(|(k, id, _)| id.as_ref().map(|id| (k, id)))
    }
}

impl<'a> IntoIterator for &'a ChildJobs {
    type Item = (&'a ChildName, &'a JobId);
    type IntoIter = ChildJobsIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The name of a Job a JobSet owns, `<jobset>-<replicated Job>-<index>`, as the key of
/// [`ChildJobs`] (a JobSet's `jobs`). It orders exactly as the name string does, but two Jobs of the same
/// replicated Job (the common case) compare by one integer that orders their indexes as
/// decimal strings, instead of by the long shared-prefix strings.
#[derive(Debug, Clone)]
pub struct ChildName {
    name: Name,
    /// Bits 40.. hold the replicated Job index + 1 (0: no shortcut, compare names);
    /// bits 0..40 the job index's [`decimal_string_rank`].
    rank: u64,
}

impl ChildName {
    /// `name` must be `naming::job_name` of the owning JobSet, replicated Job `rj_index`
    /// and `job_index` (every key of one map shares the JobSet).
    pub fn new(name: Name, rj_index: usize, job_index: i32) -> ChildName {
        let rank = match (u64::try_from(rj_index + 1), u32::try_from(job_index)) {
            (Ok(rj), Ok(i)) if rj < 1 << 24 => rj << 40 | decimal_string_rank(i),
            _ => 0,
        };
        ChildName { name, rank }
    }
}

impl ChildName {
    /// The (replicated Job index, job index) the name was made from, if its rank has them.
    fn position(&self) -> Option<(usize, usize)> {
        let rj = usize::try_from(self.rank >> 40).ok()?.checked_sub(1)?;
        let digits = (self.rank & 15) as u32;
        let padded = (self.rank >> 4) & ((1 << 36) - 1);
        let index = padded / 10u64.pow(10u32.checked_sub(digits)?);
        Some((rj, usize::try_from(index).ok()?))
    }
}

/// A number that orders non-negative integers as their decimal strings do ("10" < "2"):
/// the digits padded with zeros to ten places, then the digit count (a prefix sorts first).
/// Below 2^40.
fn decimal_string_rank(x: u32) -> u64 {
    let digits = x.checked_ilog10().unwrap_or(0) + 1;
    (u64::from(x) * 10u64.pow(10 - digits)) << 4 | u64::from(digits)
}

impl Ord for ChildName {
    fn cmp(&self, other: &ChildName) -> std::cmp::Ordering {
        let rj = self.rank >> 40;
        if rj != 0 && rj == other.rank >> 40 {
            // Same `<jobset>-<rj>-` prefix: the names differ in the index digits only.
            self.rank.cmp(&other.rank)
        } else {
            self.name.cmp(&other.name)
        }
    }
}
impl PartialOrd for ChildName {
    fn partial_cmp(&self, other: &ChildName) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for ChildName {
    fn eq(&self, other: &ChildName) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for ChildName {}

/// Lookups by plain name agree with the key order (it is the name's string order).
impl std::borrow::Borrow<str> for ChildName {
    fn borrow(&self) -> &str {
        &self.name
    }
}
impl std::ops::Deref for ChildName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.name
    }
}
impl std::fmt::Display for ChildName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// Stamp JobSet puts on a child Job: the typed form of its labels and
/// annotations, frozen at creation; the maps are built on demand.
#[derive(Debug, Clone)]
pub struct JobStamp {
    pub jobset: JobSetId,
    pub jobset_name: Name,
    pub rj_index: usize,
    pub rj_name: Name,
    pub job_index: i32,
    pub restart_attempt: i32,
    pub job_restart_attempt: Option<i32>,
    /// What the JobSet keys are computed from (shared by the Jobs of one reconcile).
    pub key_context: Rc<crate::controllers::naming::KeyContext>,
    /// Template metadata shared by every Job of the replicated Job.
    pub template_meta: Rc<TemplateMeta>,
    /// `jobset.sigs.k8s.io/job-key` (SHA-1 of `<namespace>/<job name>`), computed on first use.
    pub job_key: JobKey,
    /// The Job's name fields as trace records encode them, kept by the JobSet with the
    /// name for every restart attempt's Job of that name (`None`: encoded when needed).
    pub trace_names: Option<Rc<[u8]>>,
}

impl JobStamp {
    /// The JobSet keys of this Job, in upstream order (built on demand).
    pub fn keys(&self) -> Vec<(&'static str, String)> {
        self.key_context.keys(
            self.rj_index,
            self.job_index,
            self.restart_attempt,
            self.job_restart_attempt,
        )
    }
}

/// A Job's `jobset.sigs.k8s.io/job-key` label: the SHA-1 of `<namespace>/<job name>`,
/// computed the first time something reads it (only exclusive placement does) and
/// shared by the Job and its pods.
#[derive(Clone, Default)]
pub struct JobKey(Rc<JobKeyCell>);

#[derive(Default)]
struct JobKeyCell {
    namespace: Name,
    job: Name,
    key: std::cell::OnceCell<Name>,
}

impl JobKey {
    pub fn new(namespace: Name, job: Name) -> JobKey {
        JobKey(Rc::new(JobKeyCell {
            namespace,
            job,
            key: std::cell::OnceCell::new(),
        }))
    }
    /// The label value (40 lowercase hex digits).
    pub fn name(&self) -> &Name {
        self.0
            .key
            .get_or_init(|| crate::controllers::naming::job_key(&self.0.namespace, &self.0.job).into())
    }
}

/// Two keys are equal when they are of the same Job (the key is a function of its namespace and name).
impl PartialEq for JobKey {
    fn eq(&self, other: &JobKey) -> bool {
        self.0.namespace == other.0.namespace && self.0.job == other.0.job
    }
}
impl Eq for JobKey {}

impl std::fmt::Debug for JobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JobKey({}/{})", self.0.namespace, self.0.job)
    }
}

/// Labels/annotations from a replicated Job template (Job level and pod level),
/// with the exclusive-placement annotations already stamped.
#[derive(Debug, Clone, Default)]
pub struct TemplateMeta {
    pub job_labels: Labels,
    pub job_annotations: Labels,
    pub pod_labels: Labels,
    pub pod_annotations: Labels,
}

#[derive(Debug, Clone, Default)]
#[repr(C)] // the counts every Job sync reads and writes first (see `JobObj`)
pub struct JobStatus {
    pub active: i32,
    pub ready: i32,
    pub terminating: i32,
    pub succeeded: i32,
    pub failed: i32,
    pub conditions: Vec<Condition>,
    pub start_time: Option<Millis>,
    pub completion_time: Option<Millis>,
    /// Indexed: which indexes succeeded.
    pub completed_indexes: BTreeSet<i32>,
    /// With `backoffLimitPerIndex`: indexes that failed for good.
    pub failed_indexes: BTreeSet<i32>,
}

/// A stored batch/v1 Job.
#[derive(Debug)]
// Laid out in order (`repr(C)`), what the Job controller's syncs and the JobSet
// views read first, so a sync touches a few cache lines of the Job, not all eight.
#[repr(C)]
pub struct JobObj {
    pub status: JobStatus,
    pub deletion: Option<Deletion>,
    /// Owned pods by (completion index, pod id).
    pub pods: JobPods,
    pub suspend: bool,
    /// Handed out to be written since its row in its JobSet's view was refreshed
    /// (kept by [`JobSlab`]).
    pub row_stale: bool,
    /// Its row in its JobSet's view, when that view was last built.
    pub view_row: u32,
    /// The round of its JobSet's refreshed rows that lists its row ([`ChildJobs::refreshed`]),
    /// or `NOT_NOTED`.
    pub row_noted: u32,
    pub parallelism: i32,
    pub completions: Option<i32>,
    /// The `completions` the Job controller last synced against (elastic Jobs: indexes
    /// above a lowered `completions` stay until that sync removes them).
    pub synced_completions: Option<i32>,
    /// Job-controller memory: failures since last success and the last failure time.
    pub failures_since_success: u32,
    /// Consecutive syncs whose pod creations failed (API error backoff 1 s doubling to 60 s).
    pub create_failures: u32,
    pub last_failure_at: Millis,
    pub rv: u64,
    pub spec: Rc<JobSpec>,
    /// The pod template as the Job carries it (shared with the replicated Job until a resume merges changes).
    pub pod_template: Rc<PodTemplateSpec>,
    /// Effective pod requests, computed once per template.
    pub pod_requests: Rc<Vec<(usize, i64)>>,
    pub stamp: Option<JobStamp>,
    pub name: Name,
    pub namespace: Name,
    /// The uid's sequence number (`JobObj::uid` renders it).
    pub uid_seq: u64,
    pub created: Millis,
    /// Pod subdomain set by JobSet (DNS hostnames).
    pub subdomain: Option<Name>,
    /// Extra pod-template labels/annotations merged on resume (template changes while
    /// suspended); `None` until a resume merges any (most Jobs: one pointer, nothing to drop).
    pub resume_meta: Option<Box<ResumeMeta>>,
    /// Per-index counted and ignored failures and the last failure time (backoffLimitPerIndex).
    pub index_failures: BTreeMap<i32, (u32, u32, Millis)>,
}

/// A new Job's fields that are not its empty status, pods and controller memory
/// (see [`JobSlab::create`]).
pub struct NewJob {
    pub name: Name,
    pub namespace: Name,
    pub uid_seq: u64,
    pub rv: u64,
    pub created: Millis,
    pub spec: Rc<JobSpec>,
    pub pod_template: Rc<PodTemplateSpec>,
    pub subdomain: Option<Name>,
    pub pod_requests: Rc<Vec<(usize, i64)>>,
    pub suspend: bool,
    pub stamp: JobStamp,
    pub parallelism: i32,
    pub completions: Option<i32>,
}

impl JobObj {
    /// A new Job, handed out to be written (its row is refreshed before the next reconcile).
    fn new(n: NewJob) -> JobObj {
        JobObj {
            status: JobStatus::default(),
            deletion: None,
            pods: JobPods::default(),
            suspend: n.suspend,
            row_stale: true,
            view_row: u32::MAX,
            row_noted: NOT_NOTED,
            parallelism: n.parallelism,
            completions: n.completions,
            synced_completions: n.completions,
            failures_since_success: 0,
            create_failures: 0,
            last_failure_at: 0,
            rv: n.rv,
            spec: n.spec,
            pod_template: n.pod_template,
            pod_requests: n.pod_requests,
            stamp: Some(n.stamp),
            name: n.name,
            namespace: n.namespace,
            uid_seq: n.uid_seq,
            created: n.created,
            subdomain: n.subdomain,
            resume_meta: None,
            index_failures: BTreeMap::new(),
        }
    }
    /// Makes this (removed) Job `JobObj::new(n)` in place. Every field is named (no
    /// `..`), so a new field cannot be missed; the collections are emptied, not
    /// replaced, and one found empty is left alone (no drop call).
    fn reset(&mut self, n: NewJob) {
        let JobObj {
            status,
            deletion,
            pods,
            suspend,
            row_stale,
            view_row,
            row_noted,
            parallelism,
            completions,
            synced_completions,
            failures_since_success,
            create_failures,
            last_failure_at,
            rv,
            spec,
            pod_template,
            pod_requests,
            stamp,
            name,
            namespace,
            uid_seq,
            created,
            subdomain,
            resume_meta,
            index_failures,
        } = self;
        let JobStatus {
            active,
            ready,
            terminating,
            succeeded,
            failed,
            conditions,
            start_time,
            completion_time,
            completed_indexes,
            failed_indexes,
        } = status;
        (*active, *ready, *terminating, *succeeded, *failed) = (0, 0, 0, 0, 0);
        conditions.clear();
        (*start_time, *completion_time) = (None, None);
        for set in [completed_indexes, failed_indexes] {
            if !set.is_empty() {
                set.clear();
            }
        }
        *deletion = None;
        pods.clear();
        *suspend = n.suspend;
        *row_stale = true;
        *view_row = u32::MAX;
        *row_noted = NOT_NOTED;
        *parallelism = n.parallelism;
        *completions = n.completions;
        *synced_completions = n.completions;
        *failures_since_success = 0;
        *create_failures = 0;
        *last_failure_at = 0;
        *rv = n.rv;
        *spec = n.spec;
        *pod_template = n.pod_template;
        *pod_requests = n.pod_requests;
        *stamp = Some(n.stamp);
        *name = n.name;
        *namespace = n.namespace;
        *uid_seq = n.uid_seq;
        *created = n.created;
        *subdomain = n.subdomain;
        if resume_meta.is_some() {
            *resume_meta = None;
        }
        if !index_failures.is_empty() {
            index_failures.clear();
        }
    }
}

/// The pod-template labels and annotations resumes merged into a Job.
#[derive(Debug, Default)]
pub struct ResumeMeta {
    pub labels: Labels,
    pub annotations: Labels,
}

/// A small ordered set of `Copy` values: a sorted small vector (two inline, more on
/// the heap), behaving as a `BTreeSet` of them would. Values mostly come in order,
/// so an insert is mostly a push. For a Job's and a node's pods, which hold one or
/// a few and change on every pod creation, bind and release.
#[derive(Debug)]
pub struct SortedSmallSet<T: Ord + Copy>(smallvec::SmallVec<[T; 2]>);

/// A Job's pods as (completion index, pod id), in that order: inside the Job object,
/// so a sync reads them without following a pointer, and a Job with a pod or two
/// allocates nothing for them.
pub type JobPods = SortedSmallSet<(i32, PodId)>;

/// The pods bound to a node, in id order.
pub type NodePods = SortedSmallSet<PodId>;

impl<T: Ord + Copy> Default for SortedSmallSet<T> {
    fn default() -> Self {
        SortedSmallSet(smallvec::SmallVec::new())
    }
}

impl<T: Ord + Copy> SortedSmallSet<T> {
    pub fn clear(&mut self) {
        self.0.clear();
    }
    /// Adds the value; false if it was there.
    pub fn insert(&mut self, v: T) -> bool {
        if self.0.last().is_none_or(|l| *l < v) {
            self.0.push(v);
            return true;
        }
        match self.0.binary_search(&v) {
            Ok(_) => false,
            Err(i) => {
                self.0.insert(i, v);
                true
            }
        }
    }
    /// Removes the value; false if it was not there. A sole member (a node's one
    /// pod, a Job's one pod: the common case) goes without the search and shift.
    #[inline]
    pub fn remove(&mut self, v: &T) -> bool {
        if self.0.len() == 1 && self.0[0] == *v {
            *self = Self::default();
            return true;
        }
        match self.0.binary_search(v) {
            Ok(i) => {
                self.0.remove(i);
                true
            }
            Err(_) => false,
        }
    }
    pub fn contains(&self, v: &T) -> bool {
        self.0.binary_search(v).is_ok()
    }
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }
    /// The values within `range`, in order.
    pub fn range(&self, range: impl std::ops::RangeBounds<T>) -> std::slice::Iter<'_, T> {
        use std::ops::Bound::*;
        let lo = match range.start_bound() {
            Included(b) => self.0.partition_point(|x| x < b),
            Excluded(b) => self.0.partition_point(|x| x <= b),
            Unbounded => 0,
        };
        let hi = match range.end_bound() {
            Included(b) => self.0.partition_point(|x| x <= b),
            Excluded(b) => self.0.partition_point(|x| x < b),
            Unbounded => self.0.len(),
        };
        self.0[lo..hi.max(lo)].iter()
    }
    pub fn last(&self) -> Option<&T> {
        self.0.last()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a, T: Ord + Copy> IntoIterator for &'a SortedSmallSet<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl JobObj {
    /// `metadata.uid`.
    pub fn uid(&self) -> String {
        super::uid_string(self.uid_seq)
    }
    pub fn finished(&self) -> Option<&Condition> {
        self.status.conditions.iter().find(|c| {
            (c.type_ == crate::api::constants::JOB_COMPLETE || c.type_ == crate::api::constants::JOB_FAILED)
                && c.is_true()
        })
    }
    pub fn has_condition(&self, t: &str) -> bool {
        crate::api::condition_true(&self.status.conditions, t)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl Phase {
    pub fn terminal(self) -> bool {
        matches!(self, Phase::Succeeded | Phase::Failed)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Running => "Running",
            Phase::Succeeded => "Succeeded",
            Phase::Failed => "Failed",
        }
    }
}

/// A stored Pod.
#[derive(Debug)]
pub struct PodObj {
    pub name: Name,
    pub job: JobId,
    pub index: i32,
    pub created: Millis,
    pub node: Option<NodeId>,
    pub phase: Phase,
    pub ready: bool,
    /// The main container is running (false while restarting or before start).
    pub running: bool,
    pub restart_count: u32,
    pub exit_code: Option<i32>,
    pub deletion: Option<Millis>,
    /// `DisruptionTarget` condition (reason, message); boxed, as few pods get one
    /// (a smaller pod is fewer cache lines to touch).
    pub disruption: Option<Box<(String, String)>>,
    /// The Job controller has counted this pod's termination (finalizer removed).
    pub counted: bool,
    /// Generation for kubelet timers (lazy cancellation).
    pub epoch: u32,
    /// Scheduler queue sequence (FIFO within a priority).
    pub seq: u64,
    pub priority: i32,
    pub unschedulable_reported: bool,
    /// Resource requests (resource index, milli-units), shared with the Job's template.
    pub requests: Rc<Vec<(usize, i64)>>,
    /// Set by preemption: the node this pod waits for.
    pub nominated: Option<NodeId>,
    pub restart_attempt: i32,
    pub job_restart_attempt: Option<i32>,
    /// When the current container run started (for crash-loop backoff).
    pub started_at: Millis,
    /// In-place restart (src/sim/agent.rs): the pod's `in-place-restart-attempt`
    /// annotation, the attempt the running agent holds (reset when the container
    /// restarts), and whether its barrier is down (the workload runs).
    pub in_place_attempt: Option<i32>,
    pub agent_attempt: Option<i32>,
    pub barrier_down: bool,
    /// JobSet pods: the job-key and priority labels and what the pod webhook did (exclusive placement).
    pub placement: Option<Box<super::placement::PodPlacement>>,
}

/// A PersistentVolumeClaim created for a volume claim policy (§15).
#[derive(Debug, Clone)]
pub struct PvcObj {
    pub name: String,
    pub namespace: String,
    pub labels: Labels,
    pub annotations: Labels,
    pub spec: serde_json::Value,
    /// Controller owner reference: the owning JobSet's uid and name (`whenDeleted: Delete`).
    pub owner: Option<(String, String)>,
    pub created: Millis,
}

/// A headless Service.
#[derive(Debug, Clone)]
pub struct ServiceObj {
    pub name: String,
    pub namespace: String,
    pub owner: Option<JobSetId>,
    pub selector_jobset: String,
    pub publish_not_ready: bool,
}

/// A node of the simulated pool.
#[derive(Debug)]
pub struct NodeObj {
    pub name: Name,
    pub pool: usize,
    pub labels: Labels,
    pub taints: Vec<crate::scenario::Taint>,
    pub allocatable: Vec<i64>,
    pub allocated: Vec<i64>,
    /// The node's `Ready` condition as the API shows it (false after the monitor grace period).
    pub ready: bool,
    /// The kubelet is running (false from the moment of a crash).
    pub alive: bool,
    /// Cordoned for maintenance (unschedulable).
    pub cordoned: bool,
    pub pods: NodePods,
    /// Generation for recovery timers.
    pub epoch: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Job created after a removed Job's box was recycled lives in that box with its
    /// own fields only (the removed Job's reset), under a new id: it is what
    /// `JobObj::new` makes of the same fields.
    #[test]
    fn a_recycled_job_box_holds_only_the_new_job() {
        let text = "name: t\ncluster:\n  nodePools: [{name: n, count: 2, capacity: {cpu: \"8\"}}]\njobsets:\n- inline:\n    apiVersion: jobset.x-k8s.io/v1alpha2\n    kind: JobSet\n    metadata: {name: js}\n    spec:\n      replicatedJobs:\n      - name: a\n        replicas: 2\n        template: {spec: {template: {spec: {containers: [{name: c}]}}}}\n";
        let sc =
            crate::scenario::parse_scenario(text, std::path::Path::new("t.yaml")).unwrap_or_else(|e| panic!("{e}"));
        let mut w = super::super::World::new(std::sync::Arc::new(sc), Default::default());
        while w.jobs.len() < 2 {
            assert!(w.step(), "the Jobs are created");
        }
        let ids: Vec<JobId> = w.jobs.iter().map(|(id, _)| id).collect();
        let mut old = w.jobs.remove(ids[0]).expect("exists");
        // Every field the removed Job may have changed.
        old.status = JobStatus {
            active: 1,
            ready: 2,
            terminating: 3,
            succeeded: 4,
            failed: 7,
            conditions: vec![Condition {
                type_: "Failed".into(),
                status: "True".into(),
                reason: "r".into(),
                message: "m".into(),
                last_transition_time: 5,
            }],
            start_time: Some(1),
            completion_time: Some(2),
            completed_indexes: [0, 1].into(),
            failed_indexes: [2].into(),
        };
        old.status.failed_indexes.remove(&2); // empty, its root node kept
        old.deletion = Some(Deletion {
            at: 1,
            foreground: true,
        });
        old.pods.insert((0, 9));
        (old.suspend, old.row_stale, old.view_row, old.row_noted) = (true, false, 3, 4);
        (old.parallelism, old.completions, old.synced_completions) = (5, Some(6), Some(7));
        (old.failures_since_success, old.create_failures, old.last_failure_at) = (1, 2, 3);
        (old.rv, old.uid_seq, old.created) = (99, 98, 97);
        old.subdomain = Some("sub".into());
        old.resume_meta = Some(Box::default());
        old.index_failures.insert(1, (1, 2, 3));
        let old_addr: *const JobObj = &*old;
        w.jobs.recycle(old);
        let j = w.jobs.remove(ids[1]).expect("exists");
        let fields = || NewJob {
            name: j.name.clone(),
            namespace: j.namespace.clone(),
            uid_seq: 11,
            rv: 12,
            created: 13,
            spec: j.spec.clone(),
            pod_template: j.pod_template.clone(),
            subdomain: None,
            pod_requests: j.pod_requests.clone(),
            suspend: false,
            stamp: j.stamp.clone().expect("owned"),
            parallelism: 1,
            completions: None,
        };
        let id = w.jobs.create(fields());
        assert!(id > ids[1], "a new id");
        assert!(w.jobs.spare.is_empty(), "the spare box was taken");
        let new = w.jobs.get(id).expect("created");
        assert!(std::ptr::eq(new, old_addr), "the new Job lives in the recycled box");
        assert_eq!(format!("{new:?}"), format!("{:?}", JobObj::new(fields())));
        assert!(w.jobs.get(ids[0]).is_none() && w.jobs.get(ids[1]).is_none());
    }

    #[test]
    fn child_names_order_as_their_strings() {
        let names = [
            ("js-a-0", 0, 0),
            ("js-a-1", 0, 1),
            ("js-a-2", 0, 2),
            ("js-a-9", 0, 9),
            ("js-a-10", 0, 10),
            ("js-a-11", 0, 11),
            ("js-a-19", 0, 19),
            ("js-a-20", 0, 20),
            ("js-a-100", 0, 100),
            ("js-a-1000", 0, 1000),
            ("js-a-2047", 0, 2047),
            ("js-a-b-0", 1, 0),
            ("js-a-b-7", 1, 7),
            ("js-a-b-12", 1, 12),
            ("js-b-3", 2, 3),
            ("js-b-30", 2, 30),
            ("js-b-4294", 2, 4294),
            ("js-b-2147483647", 2, i32::MAX),
        ];
        let keys: Vec<ChildName> = names
            .iter()
            .map(|(n, r, i)| ChildName::new((*n).into(), *r, *i))
            .collect();
        for a in &keys {
            for b in &keys {
                assert_eq!(a.cmp(b), (**a).cmp(&**b), "{a} vs {b}");
            }
        }
        let map: BTreeMap<ChildName, u64> = keys.iter().cloned().zip(0..).collect();
        let mut sorted: Vec<&str> = names.iter().map(|(n, _, _)| *n).collect();
        sorted.sort();
        assert_eq!(map.keys().map(|k| &**k).collect::<Vec<_>>(), sorted);
        assert_eq!(map.get("js-a-10"), Some(&4));
        for (a, b) in [(0, 0), (u32::MAX, 4), (4, 40), (41, 4), (1_000_000_000, 1), (999, 1000)] {
            let cmp = decimal_string_rank(a).cmp(&decimal_string_rank(b));
            assert_eq!(cmp, a.to_string().cmp(&b.to_string()), "{a} vs {b}");
        }
    }

    /// Applies `ops` (insert when true, else remove) to a `SortedSmallSet` and a
    /// `BTreeSet`, checking after each that they hold, order, range and report the
    /// same values.
    fn check_as_ordered_set<T: Ord + Copy + std::fmt::Debug>(ops: &[(bool, T)], probes: &[T]) {
        let mut small = SortedSmallSet::default();
        let mut set = BTreeSet::new();
        for &(add, v) in ops {
            if add {
                assert_eq!(small.insert(v), set.insert(v), "insert {v:?}");
            } else {
                assert_eq!(small.remove(&v), set.remove(&v), "remove {v:?}");
            }
            assert!(small.iter().eq(set.iter()));
            assert!((&small).into_iter().eq(set.iter()));
            assert_eq!(
                (small.len(), small.is_empty(), small.last()),
                (set.len(), set.is_empty(), set.last())
            );
            for (i, p) in probes.iter().enumerate() {
                assert_eq!(small.contains(p), set.contains(p));
                assert!(small.range(*p..).eq(set.range(*p..)));
                assert!(small.range(..*p).eq(set.range(..*p)));
                for q in &probes[i..] {
                    assert!(small.range(*p..=*q).eq(set.range(*p..=*q)));
                }
            }
        }
    }

    /// A Job's pods (completion index, pod id) and a node's pods (ids) behave as
    /// ordered sets of them.
    #[test]
    fn sorted_small_sets_behave_as_ordered_sets() {
        let job_ops = [
            (true, (0, 5)),
            (true, (2, 3)),
            (true, (0, 5)),
            (true, (1, 9)),
            (true, (0, 2)),
            (true, (3, 1)),
            (false, (1, 9)),
            (false, (1, 9)),
            (true, (0, 7)),
            (false, (4, 4)),
            (true, (-1, 8)),
            (false, (0, 2)),
        ];
        let job_probes = [(-1, 0), (0, 0), (0, 6), (1, 0), (2, 3), (5, 0), (6, PodId::MAX)];
        check_as_ordered_set::<(i32, PodId)>(&job_ops, &job_probes);
        let node_ops = [
            (true, 5),
            (true, 7),
            (true, 7),
            (true, 3),
            (true, 9),
            (false, 7),
            (false, 7),
            (true, 6),
            (false, 4),
            (true, 1),
            (false, 1),
            (false, 9),
            (true, 12),
            (false, 3),
        ];
        check_as_ordered_set::<PodId>(&node_ops, &(0..14).collect::<Vec<_>>());
    }

    #[test]
    fn child_jobs_list_ids_in_name_order_across_changes() {
        let mut jobs = ChildJobs::default();
        for i in [0, 1, 2, 10] {
            jobs.insert(ChildName::new(format!("js-a-{i}").into(), 0, i), i as u64);
        }
        assert_eq!(jobs.values().copied().collect::<Vec<_>>(), [0, 1, 10, 2]);
        assert_eq!(jobs.remove("js-a-1"), Some(1));
        assert_eq!(jobs.remove("js-a-1"), None);
        assert_eq!(jobs.values().copied().collect::<Vec<_>>(), [0, 10, 2]);
        jobs.insert(ChildName::new("js-a-11".into(), 0, 11), 11);
        assert_eq!(jobs.remove(&ChildName::new("js-a-0".into(), 0, 0)), Some(0));
        assert_eq!(jobs.values().copied().collect::<Vec<_>>(), [10, 11, 2]);
        let names: Vec<&str> = (&jobs).into_iter().map(|(n, _)| &**n).collect();
        assert_eq!(names, ["js-a-10", "js-a-11", "js-a-2"]);
        assert_eq!(jobs.len(), 3);
        assert!(!jobs.is_empty());
        // Emptied slots are refilled by the same names and skipped while empty.
        for name in ["js-a-10", "js-a-11", "js-a-2"] {
            jobs.remove(name);
        }
        assert!(jobs.is_empty() && jobs.values().next().is_none());
        assert_eq!(jobs.insert(ChildName::new("js-a-2".into(), 0, 2), 20), None);
        assert_eq!(jobs.insert(ChildName::new("js-a-2".into(), 0, 2), 21), Some(20));
        assert_eq!(jobs.insert(ChildName::new("js-a-3".into(), 0, 3), 30), None);
        assert_eq!(jobs.values().copied().collect::<Vec<_>>(), [21, 30]);
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs.slots.len(), 6, "a name keeps its slot");
        let key = |i: i32| ChildName::new(format!("js-a-{i}").into(), 0, i);
        jobs.extend([(key(3), 31), (key(12), 12), (key(1), 1), (key(12), 120), (key(0), 0)]);
        assert_eq!(jobs.values().copied().collect::<Vec<_>>(), [0, 1, 120, 21, 31]);
        assert_eq!(jobs.len(), 5);
        assert_eq!(jobs.slots.len(), 7);
    }

    #[test]
    fn a_child_name_knows_its_position() {
        for (rj, i) in [(0, 0), (0, 7), (0, 10), (2, 2047), (5, 1_000_000), (0, i32::MAX)] {
            let k = ChildName::new("x".into(), rj, i);
            assert_eq!(k.position(), Some((rj, i as usize)));
        }
        assert_eq!(ChildName::new("x".into(), 0, -1).position(), None);
        assert_eq!(ChildName::new("x".into(), 1 << 24, 0).position(), None);
    }

    /// Slots found by position are the slots of the names, across the moves new names
    /// cause; removing by position removes what removing by name would.
    #[test]
    fn child_jobs_find_slots_by_position() {
        let key = |rj: usize, i: i32| ChildName::new(format!("js-{}-{i}", ["a", "b"][rj]).into(), rj, i);
        let mut jobs = ChildJobs::default();
        let mut by_name = ChildJobs::default();
        let check = |jobs: &mut ChildJobs| {
            for rj in 0..2 {
                for i in 0..25 {
                    let want = jobs.find(&key(rj, i)).ok();
                    assert_eq!(jobs.slot_of(rj, i), want, "rj {rj} index {i}");
                }
            }
        };
        jobs.extend((0..12).map(|i| (key(0, i), i as u64)));
        by_name.extend((0..12).map(|i| (key(0, i), i as u64)));
        check(&mut jobs);
        jobs.insert(key(1, 3), 103);
        by_name.insert(key(1, 3), 103);
        jobs.extend([(key(0, 20), 20), (key(1, 0), 100)]);
        by_name.extend([(key(0, 20), 20), (key(1, 0), 100)]);
        check(&mut jobs);
        for (rj, i) in [(0, 3), (1, 3), (0, 20), (0, 21), (0, 3)] {
            let name: Name = format!("js-{}-{i}", ["a", "b"][rj]).into();
            assert_eq!(jobs.remove_child(&name, rj, i), by_name.remove(&*name), "{name}");
        }
        let slot = jobs.slot_of(0, 3).expect("the name keeps its slot");
        assert_eq!(&**jobs.name_at(slot), "js-a-3");
        assert_eq!(jobs.fill(slot, 33), None);
        assert_eq!(jobs.fill(slot, 34), Some(33));
        by_name.insert(key(0, 3), 34);
        assert!(jobs.iter().eq(by_name.iter()));
        assert_eq!(jobs.len(), by_name.len());
        assert_eq!(jobs.slot_of(0, 5_000), None);
        assert_eq!(jobs.slot_of(7, 0), None);
    }

    /// A sole member empties the set, a value not there (even with one member) leaves
    /// it, and larger sets shift.
    #[test]
    fn sorted_small_set_removes_a_sole_member_and_shifts_larger_sets() {
        let mut s: SortedSmallSet<u64> = SortedSmallSet::default();
        assert!(!s.remove(&3));
        s.insert(3);
        assert!(!s.remove(&4));
        assert_eq!(s.len(), 1);
        assert!(s.remove(&3));
        assert!(s.is_empty());
        for v in [5, 1, 9, 7] {
            s.insert(v);
        }
        assert!(s.remove(&5));
        assert!(!s.remove(&5));
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), [1, 7, 9]);
        assert!(s.remove(&9) && s.remove(&1));
        assert!(s.remove(&7));
        assert!(s.is_empty());
    }

    #[test]
    fn name_index_maps_namespace_and_name_to_ids() {
        let mut ix = NameIndex::default();
        ix.insert("b".into(), "x".into(), 1);
        ix.insert("a".into(), "z".into(), 2);
        ix.insert("a".into(), "y".into(), 3);
        ix.insert("a".into(), "y".into(), 4);
        assert_eq!(ix.len(), 3);
        assert_eq!(ix.get("a", "y"), Some(4));
        assert_eq!(ix.get("a", "z"), Some(2));
        assert!(ix.contains("b", "x") && !ix.contains("b", "y") && !ix.contains("c", "x"));
        assert_eq!(ix.remove("b", "x"), Some(1));
        assert_eq!(ix.remove("b", "x"), None);
        assert_eq!(ix.len(), 2);
        assert_eq!(
            (ix.get("b", "x"), ix.contains("b", "x")),
            (None, false),
            "vacant is absent"
        );
        // One name in two namespaces: each found, each removed on its own.
        ix.insert("b".into(), "y".into(), 5);
        assert_eq!((ix.get("a", "y"), ix.get("b", "y"), ix.len()), (Some(4), Some(5), 3));
        assert_eq!(ix.remove("c", "y"), None, "another namespace's name stays");
        assert_eq!(ix.remove("a", "y"), Some(4));
        assert_eq!((ix.get("a", "y"), ix.get("b", "y"), ix.len()), (None, Some(5), 2));
        assert_eq!(ix.remove("b", "y"), Some(5));
        assert_eq!((ix.get("b", "y"), ix.remove("b", "y"), ix.len()), (None, None, 1));
        // A removed name is taken again (its vacant pair refilled), and counted again.
        ix.insert("b".into(), "x".into(), 9);
        assert_eq!((ix.get("b", "x"), ix.len()), (Some(9), 2));
        assert_eq!(ix.remove("b", "x"), Some(9));
        assert!(!ix.contains("b", "x") && ix.len() == 1);
        // insert_new takes a free name only: a taken one keeps its id.
        let (a, b, y): (Name, Name, Name) = ("a".into(), "b".into(), "y".into());
        assert!(ix.insert_new(&a, &y, 6));
        assert!(!ix.insert_new(&a, &y, 7), "taken in namespace a");
        assert!(ix.insert_new(&b, &y, 8), "free in namespace b");
        assert_eq!((ix.get("a", "y"), ix.get("b", "y"), ix.len()), (Some(6), Some(8), 3));
        // insert_new into a vacant pair: taken again, and a second insert_new refused.
        let x: Name = "x".into();
        assert_eq!(ix.remove("a", "y"), Some(6));
        assert_eq!((ix.get("a", "y"), ix.len()), (None, 2));
        assert!(ix.insert_new(&a, &y, 10));
        assert!(!ix.insert_new(&a, &y, 11));
        assert!(ix.insert_new(&b, &x, 12), "x was vacant in namespace b");
        assert_eq!((ix.get("a", "y"), ix.get("b", "x"), ix.len()), (Some(10), Some(12), 4));
    }
}
