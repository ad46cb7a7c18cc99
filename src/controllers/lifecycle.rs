//! Reconcile steps for the JobSet lifecycle features, kept pure like the rest
//! of the reconcile (`../shared/spec/jobset-controller.md`): volume claim
//! policies (R11, §15, `pkg/controllers/volume_claim_policy.go`), elastic
//! scaling of child Jobs (R12, §17, `syncJobScaling`) and the in-place restart
//! step (R15, §16.1, `pkg/controllers/in_place_restart.go`).

use super::jobset::{ChildJob, KEvent};
use crate::api::constants::*;
use crate::api::{JobSet, JobSetStatus, Labels, PodSpec};
use crate::units::Millis;
use serde_json::Value;

/// `GeneratePVCName`: `<template name>-<jobset name>`.
pub fn pvc_name(template: &str, jobset: &str) -> String {
    format!("{template}-{jobset}")
}

/// A PersistentVolumeClaim the controller creates for a policy template (§15).
#[derive(Debug, Clone, PartialEq)]
pub struct PvcIntent {
    pub name: String,
    /// The template's labels plus `jobset.sigs.k8s.io/jobset-name`.
    pub labels: Labels,
    pub annotations: Labels,
    pub spec: Value,
    /// A controller owner reference to the JobSet, only for `whenDeleted: Delete`.
    pub owned: bool,
}

/// Every PVC of every policy, in policy then template order (`createPVCsIfNecessary`).
pub fn desired_pvcs(js: &JobSet) -> Vec<PvcIntent> {
    let mut out = Vec::new();
    for policy in &js.spec.volume_claim_policies {
        let owned = policy
            .retention_policy
            .as_ref()
            .and_then(|r| r.when_deleted.as_deref())
            .is_none_or(|w| w == "Delete");
        for t in &policy.templates {
            let mut labels = t.metadata.labels.clone();
            labels.insert(JOBSET_NAME_KEY.into(), js.metadata.name.clone());
            out.push(PvcIntent {
                name: pvc_name(&t.metadata.name, &js.metadata.name),
                labels,
                annotations: t.metadata.annotations.clone(),
                spec: t.spec.clone(),
                owned,
            });
        }
    }
    out
}

/// `addVolumes` (§1.5 step 4): for every policy template whose name is mounted by a
/// container or init container, append a pod volume named like the template and
/// sourced from the JobSet's PVC.
pub fn add_pvc_volumes(js: &JobSet, pod: &mut PodSpec) {
    if js.spec.volume_claim_policies.is_empty() {
        return;
    }
    let mounted: std::collections::BTreeSet<String> = pod
        .containers
        .iter()
        .chain(&pod.init_containers)
        .flat_map(|c| c.volume_mount_names())
        .collect();
    let mut added = Vec::new();
    for policy in &js.spec.volume_claim_policies {
        for t in &policy.templates {
            if mounted.contains(&t.metadata.name) {
                added.push(serde_json::json!({
                    "name": t.metadata.name,
                    "persistentVolumeClaim": {"claimName": pvc_name(&t.metadata.name, &js.metadata.name)},
                }));
            }
        }
    }
    if added.is_empty() {
        return;
    }
    let vols = pod
        .extra
        .entry("volumes".to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(list) = vols {
        list.extend(added);
    }
}

/// The PVC claim names a pod template's volumes reference, by volume name.
pub fn pvc_volumes(pod: &PodSpec) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(Value::Array(vols)) = pod.extra.get("volumes") {
        for v in vols {
            if let (Some(n), Some(c)) = (
                v.get("name").and_then(Value::as_str),
                v.pointer("/persistentVolumeClaim/claimName").and_then(Value::as_str),
            ) {
                out.push((n.to_string(), c.to_string()));
            }
        }
    }
    out
}

/// One Job patch of `syncJobScaling`: (handle, parallelism, completions).
pub type ScalePatch = (usize, Option<i32>, Option<i32>);

/// `syncJobScaling` (R12, §17): every current-run unfinished Job whose replicated Job
/// template has `parallelism == completions` and whose own values differ is
/// merge-patched to the template's values. Templates with `parallelism != completions`
/// are never propagated; an unset pair is a no-op patch.
pub fn sync_job_scaling<'a, 'b>(js: &JobSet, active: impl Iterator<Item = &'b ChildJob>) -> Vec<ScalePatch>
where
    'a: 'b,
{
    let mut out = Vec::new();
    for j in active {
        let Some(rj) = js.spec.replicated_jobs.iter().find(|r| *r.name == *j.rj_name) else {
            continue;
        };
        let (p, c) = (rj.template.spec.parallelism, rj.template.spec.completions);
        if p != c || p.is_none() {
            continue;
        }
        if Some(j.parallelism) != p || j.completions != c {
            out.push((j.handle, p, c));
        }
    }
    out
}

/// What R15 reads of one pod labelled with the JobSet's name (§16.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodView {
    /// Phase `Failed`.
    pub failed: bool,
    /// Annotation `jobset.sigs.k8s.io/in-place-restart-attempt`, when present.
    pub attempt: Option<i32>,
    /// The largest `restartCount` of the pod's containers.
    pub restart_count: i32,
}

/// What the in-place restart step decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InPlaceOutcome {
    Nothing,
    /// The JobSet was marked Failed (`ReachedMaxRestarts`, no suffix).
    Failed,
    /// `currentInPlaceRestartAttempt` was set to this value (every pod reported it).
    Current(i32),
    /// `previousInPlaceRestartAttempt` was raised to this value (a restart began).
    Previous(i32),
}

/// `reconcileInPlaceRestart` (R15, §16.1). Changes the status in memory; the
/// caller persists it when the outcome is not `Nothing`.
pub fn reconcile_in_place(
    js: &JobSet,
    status: &mut JobSetStatus,
    pods: &[PodView],
    now: Millis,
    events: &mut Vec<KEvent>,
) -> Result<InPlaceOutcome, String> {
    let max_restarts = js.spec.failure_policy.as_ref().map(|f| f.max_restarts()).unwrap_or(0);
    // 1. Any container restarted more than maxRestarts times fails the JobSet.
    if pods.iter().any(|p| p.restart_count > max_restarts) {
        super::jobset::set_failed(
            status,
            REASON_REACHED_MAX_RESTARTS,
            MSG_REACHED_MAX_RESTARTS,
            now,
            events,
        );
        return Ok(InPlaceOutcome::Failed);
    }
    // 2. Attempts of pods not in phase Failed.
    let attempts: Vec<i32> = pods.iter().filter(|p| !p.failed).filter_map(|p| p.attempt).collect();
    if attempts.iter().any(|a| *a < 0) {
        return Err(format!(
            "invalid {IN_PLACE_RESTART_ATTEMPT_KEY} annotation: negative value"
        ));
    }
    let max = attempts.iter().copied().max().unwrap_or(0);
    // 3. In-place attempts beyond the budget (global restarts not counted towards max excluded).
    let uncounted = status.restarts - status.restarts_count_towards_max;
    if i64::from(max) - i64::from(uncounted) > i64::from(max_restarts) {
        super::jobset::set_failed(
            status,
            REASON_REACHED_MAX_RESTARTS,
            MSG_REACHED_MAX_RESTARTS,
            now,
            events,
        );
        return Ok(InPlaceOutcome::Failed);
    }
    // 4. Expected pods: Σ replicas × parallelism (completions == parallelism required).
    let mut expected: i64 = 0;
    for rj in &js.spec.replicated_jobs {
        let s = &rj.template.spec;
        match (s.parallelism, s.completions) {
            (Some(p), Some(c)) if p == c => expected += i64::from(rj.replicas()) * i64::from(p),
            _ => {
                return Err(format!(
                    "replicated job {} must set completions equal to parallelism for in-place restart",
                    rj.name
                ));
            }
        }
    }
    // 5. Every expected pod reports the same attempt: it becomes current.
    if attempts.len() as i64 == expected
        && let Some(&v) = attempts.first()
        && attempts.iter().all(|a| *a == v)
    {
        if status.current_in_place_restart_attempt != Some(v) {
            status.current_in_place_restart_attempt = Some(v);
            return Ok(InPlaceOutcome::Current(v));
        }
        return Ok(InPlaceOutcome::Nothing);
    }
    // 6. No attempt above 0: nothing to do.
    if max == 0 {
        return Ok(InPlaceOutcome::Nothing);
    }
    // 7. A pod is ahead: every pod at or below max - 1 must restart in place.
    let prev = max - 1;
    if status.previous_in_place_restart_attempt.is_none_or(|p| p < prev) {
        status.previous_in_place_restart_attempt = Some(prev);
        return Ok(InPlaceOutcome::Previous(prev));
    }
    Ok(InPlaceOutcome::Nothing)
}

/// Whether pods of this JobSet run the in-place restart agent's protocol (gate on,
/// strategy `InPlaceRestart`, no `disable-in-place-restart` annotation).
pub fn in_place_active(js: &JobSet, gate: bool) -> bool {
    gate && in_place_strategy(js) && !js.metadata.annotations.contains_key(DISABLE_IN_PLACE_RESTART_KEY)
}

/// `failurePolicy.restartStrategy == InPlaceRestart`.
pub fn in_place_strategy(js: &JobSet) -> bool {
    js.spec
        .failure_policy
        .as_ref()
        .is_some_and(|f| f.strategy() == RESTART_STRATEGY_IN_PLACE)
}
