//! The API-server side of the lifecycle features: PersistentVolumeClaims for
//! volume claim policies (§15; created by the JobSet controller, garbage
//! collected with the JobSet only when owned) and elastic Job scaling (§17;
//! the JobSet controller patches `parallelism`/`completions`, the Job
//! controller creates or removes pods for the new range of indexes).

use super::*;
use crate::controllers::lifecycle::desired_pvcs;

impl World {
    /// R11: Create every policy PVC; `AlreadyExists` is ignored (the existing PVC is left as is).
    pub(super) fn create_pvcs(&mut self, id: JobSetId) {
        let Some(jso) = self.jobsets.get(id) else { return };
        let ns = jso.js.namespace().to_string();
        let owner = (jso.uid.clone(), jso.js.metadata.name.clone());
        for intent in desired_pvcs(&jso.js) {
            let key = (ns.clone(), intent.name.clone());
            if self.pvcs.contains_key(&key) {
                continue;
            }
            let pvc = PvcObj {
                name: intent.name.clone(),
                namespace: ns.clone(),
                labels: intent.labels,
                annotations: intent.annotations,
                spec: intent.spec,
                owner: intent.owned.then(|| owner.clone()),
                created: self.now,
            };
            self.pvcs.insert(key, pvc);
            self.next_rv();
            let mut ev = self.jobset_event("PersistentVolumeClaimCreated", id);
            ev.object = Some(format!("PersistentVolumeClaim/{}", intent.name));
            self.emit(ev);
        }
    }

    /// Garbage collection when the JobSet object goes: PVCs with its controller
    /// owner reference (`whenDeleted: Delete`) go with it; `Retain` PVCs stay.
    /// Every pod of the JobSet is gone by then (foreground deletion), so the
    /// `kubernetes.io/pvc-protection` finalizer does not hold them.
    pub(super) fn collect_owned_pvcs(&mut self, id: JobSetId) {
        let Some(jso) = self.jobsets.get(id) else { return };
        let uid = jso.uid.clone();
        let jobset: Name = jso.name.clone();
        let owned: Vec<(String, String)> = self
            .pvcs
            .iter()
            .filter(|(_, p)| p.owner.as_ref().is_some_and(|(u, _)| *u == uid))
            .map(|(k, _)| k.clone())
            .collect();
        for k in owned {
            self.pvcs.remove(&k);
            self.next_rv();
            let mut ev = TraceEvent {
                event: "PersistentVolumeClaimDeleted",
                ..Default::default()
            };
            ev.namespace = Some(k.0.as_str().into());
            ev.jobset = Some(jobset.clone());
            ev.object = Some(format!("PersistentVolumeClaim/{}", k.1));
            self.emit(ev);
        }
    }

    /// R12: merge-patch a child Job's `parallelism`/`completions` (ElasticJobSet).
    pub(super) fn scale_job(&mut self, jid: JobId, parallelism: Option<i32>, completions: Option<i32>) {
        let rv = self.next_rv();
        let Some(j) = self.jobs.get_mut(jid) else { return };
        let before = (j.parallelism, j.completions);
        let spec = Rc::make_mut(&mut j.spec);
        if parallelism.is_some() {
            spec.parallelism = parallelism;
        }
        if completions.is_some() {
            spec.completions = completions;
        }
        j.parallelism = spec.parallelism_or_default();
        j.completions = spec.completions_defaulted();
        j.rv = rv;
        let after = (j.parallelism, j.completions);
        let mut ev = self.job_event("JobScaled", jid);
        ev.message = Some(format!(
            "parallelism {} -> {}, completions {} -> {}",
            before.0,
            after.0,
            fmt_opt(before.1),
            fmt_opt(after.1)
        ));
        self.emit(ev);
        self.job_changed(jid, true);
    }

    /// Job controller, elastic Indexed Jobs: after `completions` shrank, indexes at or
    /// above it leave `completedIndexes`/`failedIndexes` (so `succeeded` may drop) and
    /// their live pods are deleted without being counted as failures.
    pub(super) fn drop_out_of_range_indexes(&mut self, jid: JobId) {
        let Some(j) = self.jobs.get_mut(jid) else { return };
        // Fast path: `completions` unchanged since the last sync (every non-elastic Job).
        if j.synced_completions == j.completions || !j.spec.is_indexed() {
            return;
        }
        let Some(c) = j.completions else { return };
        let dropped = j.status.completed_indexes.split_off(&c);
        if !dropped.is_empty() {
            j.status.succeeded = j.status.completed_indexes.len() as i32;
        }
        let _ = j.status.failed_indexes.split_off(&c);
        let doomed: Vec<PodId> = j.pods.range((c, 0)..).map(|(_, p)| *p).collect();
        for pid in doomed {
            let Some(p) = self.pods.get_mut(pid) else { continue };
            if p.phase.terminal() || p.deletion.is_some() {
                continue;
            }
            p.counted = true;
            self.delete_pod(pid);
        }
    }

    /// R15's view of the JobSet's pods (only when the in-place step will run).
    pub(super) fn in_place_pod_views(&self, id: JobSetId) -> Vec<crate::controllers::lifecycle::PodView> {
        let Some(jso) = self.jobsets.get(id) else {
            return Vec::new();
        };
        if !self.sc.gates.in_place_restart || !crate::controllers::lifecycle::in_place_strategy(&jso.js) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for jid in jso.jobs.values() {
            let Some(j) = self.jobs.get(*jid) else { continue };
            for (_, pid) in &j.pods {
                let Some(p) = self.pods.get(*pid) else { continue };
                out.push(crate::controllers::lifecycle::PodView {
                    failed: p.phase == Phase::Failed,
                    attempt: p.in_place_attempt,
                    restart_count: p.restart_count.min(i32::MAX as u32) as i32,
                });
            }
        }
        out
    }
}

fn fmt_opt(v: Option<i32>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "unset".into())
}
