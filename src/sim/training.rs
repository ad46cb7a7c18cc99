//! The gang-progress training model (`training:` in the scenario).
//!
//! Progress accrues only while every pod of the JobSet's current attempt is
//! Ready (a gang: one slow or failed rank stops everyone). Every
//! `checkpointEvery` of progress a checkpoint is taken, committed at once and
//! followed by a `checkpointCost` stall. A whole-JobSet restart falls back to
//! the last checkpoint (the rest is lost work). After the gang is ready again,
//! `restoreCost` passes before progress resumes (not on the very first start).
//! When `work` is done, every running pod of the JobSet exits 0, so the Jobs
//! and the JobSet complete the usual way. Pods of a training JobSet ignore
//! workload rules: they run until the work is done (faults still apply).

use super::*;

#[derive(Debug, Clone, Default)]
pub struct TrainState {
    pub spec: usize,
    pub progress: Millis,
    pub checkpoint: Millis,
    pub lost: Millis,
    pub accruing_since: Option<Millis>,
    pub epoch: u32,
    pub done: bool,
    /// Ready pods by JobSet restart attempt, in attempt order (mostly the newest is counted).
    pub ready: Vec<(i32, u32)>,
    pub checkpoints: u64,
    /// The JobSet object last found under this state's name: its pods find the state
    /// without a name lookup while it is the only training state.
    pub jobset_id: Option<JobSetId>,
    /// `expected_pods` of the JobSet (id, resource version) last asked about: its pods ask
    /// on every Ready change, and the spec only changes with a write, which bumps the
    /// version (resource versions are never reused).
    pub expected: Option<(JobSetId, u64, u32)>,
}

impl TrainState {
    /// The ready count of an attempt (0 when first counted).
    // Always inlined into `training_ready_changed_of` (which LLVM otherwise calls it from).
    #[inline(always)]
    fn ready_mut(&mut self, attempt: i32) -> &mut u32 {
        let i = match self.ready.last() {
            Some((a, _)) if *a == attempt => self.ready.len() - 1,
            _ => match self.ready.binary_search_by_key(&attempt, |(a, _)| *a) {
                Ok(i) => i,
                Err(i) => {
                    self.ready.insert(i, (attempt, 0));
                    i
                }
            },
        };
        &mut self.ready[i].1
    }

    /// `expected_pods(js)` for JobSet `id` at resource version `rv`, computed once per version.
    // Always inlined into `training_ready_changed_of` (which LLVM otherwise calls it from).
    #[inline(always)]
    fn expected_pods_of(&mut self, id: JobSetId, rv: u64, js: &crate::api::JobSet) -> u32 {
        match self.expected {
            Some((i, r, n)) if i == id && r == rv => n,
            _ => {
                let n = expected_pods(js);
                self.expected = Some((id, rv, n));
                n
            }
        }
    }
}

/// The training state of JobSet `id`, named `name`.
// Always inlined into `training_ready_changed_of` (which LLVM otherwise calls it from).
#[inline(always)]
fn state_mut<'a>(states: &'a mut BTreeMap<String, TrainState>, id: JobSetId, name: &str) -> Option<&'a mut TrainState> {
    if states.len() == 1 {
        // The only state: found by the id it remembers, else by its name (one descent).
        let e = states.first_entry()?;
        if e.get().jobset_id != Some(id) {
            if e.key() != name {
                return None;
            }
            let ts = e.into_mut();
            ts.jobset_id = Some(id);
            return Some(ts);
        }
        return Some(e.into_mut());
    }
    let ts = states.get_mut(name)?;
    ts.jobset_id = Some(id);
    Some(ts)
}

impl World {
    /// Whether a pod belongs to a JobSet that has a training model.
    pub(super) fn is_training_pod(&self, pid: PodId) -> bool {
        !self.training.is_empty() && self.is_training_job(self.pods.get(pid).and_then(|p| self.jobs.get(p.job)))
    }

    /// Whether a Job (a pod's) belongs to a JobSet that has a training model.
    #[inline]
    pub(super) fn is_training_job(&self, j: Option<&JobObj>) -> bool {
        !self.training.is_empty()
            && j.and_then(|j| j.stamp.as_ref()).is_some_and(|s| {
                (self.training.len() == 1
                    && self
                        .training
                        .first_key_value()
                        .is_some_and(|(_, t)| t.jobset_id == Some(s.jobset)))
                    || self.training.contains_key(&*s.jobset_name)
            })
    }

    /// A pod's Ready condition changed.
    pub(super) fn training_ready_changed(&mut self, pid: PodId, ready: bool) {
        if self.training.is_empty() {
            return;
        }
        let Some(p) = self.pods.get(pid) else { return };
        self.training_ready_changed_of(p.job, p.restart_attempt, ready);
    }

    /// `training_ready_changed` for a pod of Job `job` and JobSet restart attempt
    /// `attempt`, for callers that hold the pod already (no second lookup). True when
    /// it found the Job and the gang's state did not change (the Job still exists: the
    /// caller's `pod_changed` need not look it up); false is no answer.
    // Always inlined, as are the helpers it calls: with three callers LLVM kept it out of
    // line, and each pod's Ready change and deletion paid the call frame. (An `if`, not
    // `bool::then` below: that closure was left out of line.)
    #[inline(always)]
    pub(super) fn training_ready_changed_of(&mut self, job: JobId, attempt: i32, ready: bool) -> bool {
        if self.training.is_empty() {
            return false;
        }
        let Some(stamp) = self.jobs.get(job).and_then(|j| j.stamp.as_ref()) else {
            return false;
        };
        let Some(jso) = self.jobsets.get(stamp.jobset) else {
            return true;
        };
        let Some(ts) = state_mut(&mut self.training, stamp.jobset, &stamp.jobset_name) else {
            return true;
        };
        // Only the current attempt's gang is compared with the expected size (a pod of an
        // earlier attempt, deleted by the restart, only updates its attempt's count).
        let expected = if attempt == jso.js.status.restarts {
            Some(ts.expected_pods_of(stamp.jobset, jso.rv, &jso.js))
        } else {
            None
        };
        let c = ts.ready_mut(attempt);
        let before = *c;
        if ready {
            *c += 1;
        } else {
            *c = c.saturating_sub(1);
        }
        let after = *c;
        let Some(expected) = expected else { return true };
        let (was_full, full) = (before == expected, after == expected);
        if full == was_full {
            return true;
        }
        let done = ts.done;
        let name = stamp.jobset_name.clone();
        if done {
            // The work was done but a restart came before every pod could exit (e.g. a rank
            // on a crashed node): the new gang restores the final checkpoint and exits.
            if full {
                self.finish_training(&name);
            }
        } else if full {
            self.gang_ready(&name);
        } else {
            self.gang_broken(&name);
        }
        false
    }

    fn gang_ready(&mut self, name: &str) {
        let now = self.now;
        let sc = self.sc.clone();
        let Some(ts) = self.training.get_mut(name) else { return };
        let spec = &sc.training[ts.spec];
        let resume = ts.progress > 0 || ts.checkpoint > 0 || ts.lost > 0;
        ts.accruing_since = Some(now + if resume { spec.restore_cost } else { 0 });
        self.schedule_milestone(name);
    }

    fn gang_broken(&mut self, name: &str) {
        let now = self.now;
        let every = self
            .training
            .get(name)
            .map(|t| self.sc.training[t.spec].checkpoint_every)
            .unwrap_or(0);
        let Some(ts) = self.training.get_mut(name) else { return };
        if let Some(s) = ts.accruing_since.take() {
            if now > s {
                ts.progress += now - s;
            }
            // A checkpoint whose instant is reached is saved, even when the gang breaks
            // in the same millisecond.
            if every > 0 && ts.progress > ts.checkpoint && ts.progress % every == 0 {
                ts.checkpoint = ts.progress;
                ts.checkpoints += 1;
            }
        }
        ts.epoch += 1;
    }

    fn schedule_milestone(&mut self, name: &str) {
        let sc = self.sc.clone();
        let Some(ts) = self.training.get(name) else { return };
        let Some(since) = ts.accruing_since else { return };
        let spec = &sc.training[ts.spec];
        let next = match ts.progress.checked_div(spec.checkpoint_every) {
            Some(k) => ((k + 1) * spec.checkpoint_every).min(spec.work),
            None => spec.work,
        };
        let at = since + (next - ts.progress);
        let (idx, epoch) = (ts.spec, ts.epoch);
        self.push(at, Ev::TrainingMilestone(idx, epoch));
    }

    /// A checkpoint or the end of the work is reached.
    pub(super) fn training_milestone(&mut self, idx: usize, epoch: u32) {
        let now = self.now;
        let sc = self.sc.clone();
        let spec = &sc.training[idx];
        let Some(ts) = self.training.get_mut(&spec.jobset) else {
            return;
        };
        if ts.epoch != epoch || ts.done {
            return;
        }
        let Some(since) = ts.accruing_since else { return };
        ts.progress += now.saturating_sub(since);
        if ts.progress >= spec.work {
            ts.progress = spec.work;
            // The final state is saved: a later restart resumes from the end.
            ts.checkpoint = spec.work;
            ts.done = true;
            ts.accruing_since = None;
            let mut ev = TraceEvent {
                event: "TrainingCompleted",
                ..Default::default()
            };
            ev.jobset = Some(spec.jobset.as_str().into());
            self.emit(ev);
            self.finish_training(&spec.jobset);
            return;
        }
        ts.checkpoint = ts.progress;
        ts.checkpoints += 1;
        ts.accruing_since = Some(now + spec.checkpoint_cost);
        self.schedule_milestone(&spec.jobset);
    }

    /// The work is done: every running pod of the JobSet exits 0.
    fn finish_training(&mut self, name: &str) {
        let Some(id) = self.jobsets.iter().find(|(_, j)| &*j.name == name).map(|(id, _)| id) else {
            return;
        };
        let jobs: Vec<JobId> = self
            .jobsets
            .get(id)
            .map(|j| j.jobs.values().copied().collect())
            .unwrap_or_default();
        for jid in jobs {
            let pods: Vec<PodId> = self
                .jobs
                .get(jid)
                .map(|j| j.pods.iter().map(|(_, p)| *p).collect())
                .unwrap_or_default();
            for pid in pods {
                if self
                    .pods
                    .get(pid)
                    .is_some_and(|p| p.running && p.deletion.is_none() && !p.phase.terminal())
                {
                    self.container_exit(pid, 0, Some("training complete"));
                }
            }
        }
    }

    /// A whole-JobSet restart: progress falls back to the last checkpoint.
    pub(super) fn training_restart(&mut self, name: &str) {
        self.gang_broken(name);
        let Some(ts) = self.training.get_mut(name) else { return };
        ts.lost += ts.progress - ts.checkpoint;
        ts.progress = ts.checkpoint;
    }
}

/// Pods a JobSet runs at once: Σ replicas × min(parallelism, completions).
pub fn expected_pods(js: &crate::api::JobSet) -> u32 {
    js.spec
        .replicated_jobs
        .iter()
        .map(|rj| {
            let s = &rj.template.spec;
            let per = s
                .parallelism_or_default()
                .min(s.completions_defaulted().unwrap_or(i32::MAX))
                .max(0);
            (rj.replicas().max(0) as u32) * per as u32
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ready_mut` counts as a map from attempt to count would, in any order of attempts.
    #[test]
    fn ready_counts_behave_as_a_map_by_attempt() {
        let mut ts = TrainState::default();
        let mut map: BTreeMap<i32, u32> = BTreeMap::new();
        for (attempt, up) in [
            (0, true),
            (0, true),
            (1, true),
            (0, false),
            (3, true),
            (2, true),
            (1, false),
            (3, true),
        ] {
            for c in [ts.ready_mut(attempt), map.entry(attempt).or_default()] {
                *c = if up { *c + 1 } else { c.saturating_sub(1) };
            }
            assert_eq!(ts.ready, map.iter().map(|(a, c)| (*a, *c)).collect::<Vec<_>>());
        }
    }

    /// The expected gang size is computed again when the JobSet's version or id changes.
    #[test]
    fn expected_pods_are_kept_per_jobset_version() {
        let doc = serde_json::json!({
            "apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet",
            "metadata": {"name": "js", "namespace": "default"},
            "spec": {"replicatedJobs": [{"name": "w", "replicas": 3, "template": {"spec": {
                "parallelism": 2, "completions": 2,
                "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}}]}
        });
        let mut d = crate::input::Diags::default();
        let mut js = crate::api::JobSet::parse(&doc, &mut d).expect("parses");
        let mut ts = TrainState::default();
        assert_eq!(ts.expected_pods_of(1, 10, &js), 6);
        js.spec.replicated_jobs[0].replicas = Some(5);
        assert_eq!(ts.expected_pods_of(1, 10, &js), 6, "same version: kept");
        assert_eq!(ts.expected_pods_of(1, 11, &js), 10, "new version: computed");
        js.spec.replicated_jobs[0].replicas = Some(1);
        assert_eq!(ts.expected_pods_of(2, 11, &js), 2, "another JobSet: computed");
    }

    /// A state is found by its JobSet's name, then also by the JobSet's id while it is the only one.
    #[test]
    fn training_state_is_found_by_name_and_remembers_the_jobset() {
        let mut states: BTreeMap<String, TrainState> = BTreeMap::new();
        states.insert("train".into(), TrainState::default());
        assert!(state_mut(&mut states, 7, "other").is_none());
        state_mut(&mut states, 7, "train").expect("by name").checkpoints = 1;
        assert_eq!(states["train"].jobset_id, Some(7));
        assert_eq!(state_mut(&mut states, 7, "train").map(|t| t.checkpoints), Some(1));
        // A recreated JobSet of the same name (a new id) is found by name again.
        assert!(state_mut(&mut states, 9, "train").is_some());
        assert_eq!(states["train"].jobset_id, Some(9));
        states.insert("second".into(), TrainState::default());
        assert!(state_mut(&mut states, 9, "second").is_some());
        assert_eq!(state_mut(&mut states, 9, "train").map(|t| t.checkpoints), Some(1));
    }
}
