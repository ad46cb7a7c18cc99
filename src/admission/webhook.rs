//! The validating webhook `vjobset.kb.io` (`pkg/webhooks/jobset_webhook.go`):
//! `ValidateCreate` (C1–C9) and `ValidateUpdate` (U1–U8), with upstream's evaluation order,
//! messages and quirks. Like upstream's unit tests, these functions see the object exactly as
//! given (no defaulting); [`super::admit_create`] / [`super::admit_update`] run the full pipeline.

use super::FeatureGates;
use super::dns::{is_dns1035_label, is_dns1123_subdomain, is_domain_prefixed_path, is_valid_label_value};
use super::errors::{FieldError, idx};
use crate::api::constants::{COND_COMPLETED, COND_FAILED, COORDINATOR_KEY, JOB_FAILURE_REASONS};
use crate::api::{JobSet, ReplicatedJob, condition_true};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const MAX_MANAGED_BY_LENGTH: i64 = 63;
const MAX_VOLUME_CLAIM_LENGTH: usize = 63;
const MAX_REPLICAS_PER_REPLICATED_JOB: i32 = 1024;
const MIN_RULE_NAME_LENGTH: usize = 1;
const MAX_RULE_NAME_LENGTH: usize = 128;

/// What `IsDNS1035Label` says for a too-long value; upstream swaps it for its own messages.
const DNS1035_MAX_LENGTH_EXCEEDED: &str = "must be no more than 63 characters";
pub const GROUP_NAME_TOO_LONG: &str = ".spec.replicatedJob[].groupName is too long, must be less than 63 characters";
pub const JOB_NAME_TOO_LONG: &str =
    "JobSet name is too long, job names generated for this JobSet will exceed 63 characters";
pub const POD_NAME_TOO_LONG: &str =
    "JobSet name is too long, pod names generated for this JobSet will exceed 63 characters";
pub const SUBDOMAIN_TOO_LONG: &str = ".spec.network.subdomain is too long, must be less than 63 characters";
pub const FIELD_IMMUTABLE: &str = "field is immutable";

/// apiserver name generator limits (`names.SimpleNameGenerator`).
pub const MAX_GENERATED_NAME_PREFIX: usize = 58;
/// The simulator's stand-in for the apiserver's 5 random characters when a JobSet uses
/// `generateName` and the caller has not assigned a name yet. Upstream draws them at random from
/// `bcdfghjklmnpqrstvwxz2456789`; only the length matters to every check that uses it.
pub const GENERATED_NAME_SUFFIX: &str = "abcde";

/// `getJobSetNameForValidation`: `metadata.name`; else `generateName` cut to 58 bytes plus a
/// 5-character suffix ([`GENERATED_NAME_SUFFIX`]); else `""`.
pub fn validation_name(js: &JobSet) -> String {
    if !js.metadata.name.is_empty() {
        return js.metadata.name.clone();
    }
    let g = &js.metadata.generate_name;
    if g.is_empty() {
        return String::new();
    }
    let mut cut = g.len().min(MAX_GENERATED_NAME_PREFIX);
    while !g.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{GENERATED_NAME_SUFFIX}", &g[..cut])
}

/// `placement.GenJobName`: `<jobset>-<replicatedJob>-<jobIndex>`.
pub fn gen_job_name(jobset: &str, rj: &str, job_index: i64) -> String {
    format!("{jobset}-{rj}-{job_index}")
}

/// The coordinator endpoint `<jobset>-<rj>-<jobIndex>-<podIndex>.<subdomain or jobset name>`.
pub fn coordinator_endpoint(js: &JobSet, jobset_name: &str) -> Option<String> {
    let c = js.spec.coordinator.as_ref()?;
    let sub = match js.spec.network.as_ref().and_then(|n| n.subdomain.as_deref()) {
        Some(s) if !s.is_empty() => s,
        _ => jobset_name,
    };
    Some(format!(
        "{jobset_name}-{}-{}-{}.{sub}",
        c.replicated_job, c.job_index, c.pod_index
    ))
}

/// `controllers.GeneratePVCName`: `<template name>-<jobset name>`.
pub fn pvc_name(jobset_name: &str, template_name: &str) -> String {
    format!("{template_name}-{jobset_name}")
}

fn rj_path(i: usize) -> String {
    idx("spec.replicatedJobs", i)
}

/// `ValidateCreate`. `existing_pvc(namespace, name)` returns an existing PVC's `spec`.
pub fn validate_create(
    js: &JobSet,
    gates: &FeatureGates,
    existing_pvc: &dyn Fn(&str, &str) -> Option<Value>,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = validation_name(js);
    let spec = &js.spec;
    let in_place = spec
        .failure_policy
        .as_ref()
        .is_some_and(|fp| fp.restart_strategy.as_deref() == Some("InPlaceRestart"));

    // C1
    if !gates.in_place_restart && in_place {
        errs.push(FieldError::plain(
            "InPlaceRestart restart strategy cannot be set when InPlaceRestart feature gate is disabled",
        ));
    }

    // C2
    if spec.replicated_jobs.first().is_some_and(|rj| rj.depends_on.is_some()) {
        errs.push(FieldError::plain("DependsOn can't be set for the first ReplicatedJob"));
    }

    // C3
    if let Some(sub) = spec.network.as_ref().and_then(|n| n.subdomain.as_deref())
        && !sub.is_empty()
    {
        let path = "spec.network.subdomain";
        for m in is_dns1123_subdomain(sub) {
            errs.push(FieldError::invalid_str(path, sub, m));
        }
        for m in is_dns1035_label(sub) {
            let m = if m.contains(DNS1035_MAX_LENGTH_EXCEEDED) {
                SUBDOMAIN_TOO_LONG.to_string()
            } else {
                m
            };
            errs.push(FieldError::invalid_str(path, sub, m));
        }
    }

    // C4
    if let Some(manager) = spec.managed_by.as_deref() {
        let path = "spec.managedBy";
        errs.extend(is_domain_prefixed_path(path, manager));
        if manager.len() as i64 > MAX_MANAGED_BY_LENGTH {
            errs.push(FieldError::too_long(path, MAX_MANAGED_BY_LENGTH));
        }
    }

    // C5: per replicatedJob, its name joining the known set before its own checks.
    let mut known: BTreeSet<&str> = BTreeSet::new();
    for (i, rj) in spec.replicated_jobs.iter().enumerate() {
        let path = rj_path(i);
        known.insert(rj.name.as_str());
        let replicas = rj.replicas();
        let tspec = &rj.template.spec;

        // C5a
        let parallelism = i64::from(tspec.parallelism.unwrap_or(1));
        if parallelism * i64::from(replicas) > i64::from(i32::MAX) {
            errs.push(FieldError::plain(format!(
                "the product of replicas and parallelism must not exceed {} for replicatedJob '{}'",
                i32::MAX,
                rj.name
            )));
        }

        // C5b
        let group = rj.group();
        for m in is_dns1035_label(group) {
            let m = if m.contains(DNS1035_MAX_LENGTH_EXCEEDED) {
                GROUP_NAME_TOO_LONG.to_string()
            } else {
                m
            };
            errs.push(FieldError::invalid_str(format!("{path}.groupName"), group, m));
        }

        // C5c
        // int32 arithmetic as upstream (`Replicas-1` wraps for MinInt32).
        let longest_job = gen_job_name(&name, &rj.name, i64::from(replicas.wrapping_sub(1)));
        for m in is_dns1035_label(&longest_job) {
            let m = if m.contains(DNS1035_MAX_LENGTH_EXCEEDED) {
                JOB_NAME_TOO_LONG.to_string()
            } else {
                m
            };
            errs.push(FieldError::invalid_str(format!("{path}.name"), &longest_job, m));
        }

        // C5d (the bad value is the Job name, as upstream reports it)
        if tspec.is_indexed()
            && let Some(completions) = tspec.completions
        {
            let longest_pod = format!("{}-{}-abcde", longest_job, completions.wrapping_sub(1));
            for m in is_dns1035_label(&longest_pod) {
                let m = if m.contains(DNS1035_MAX_LENGTH_EXCEEDED) {
                    POD_NAME_TOO_LONG.to_string()
                } else {
                    m
                };
                errs.push(FieldError::invalid_str(format!("{path}.name"), &longest_job, m));
            }
        }

        // C5e (a replicatedJob may name itself: it is already in the known set)
        for dep in rj.depends_on.iter().flatten() {
            if !known.contains(dep.name.as_str()) {
                errs.push(FieldError::plain(format!(
                    "replicatedJob: {} cannot depend on replicatedJob: {}",
                    rj.name, dep.name
                )));
            }
        }

        // C5f–C5h
        if gates.in_place_restart && in_place {
            if tspec.backoff_limit != Some(i32::MAX) {
                errs.push(FieldError::invalid_json(
                    format!("{path}.template.spec.backoffLimit"),
                    &tspec.backoff_limit,
                    format!(
                        "replicatedJob {}: must be set to {} (MaxInt32) when in-place restart is enabled",
                        rj.name,
                        i32::MAX
                    ),
                ));
            }
            if tspec.pod_replacement_policy.as_deref() != Some("Failed") {
                errs.push(FieldError::invalid_json(
                    format!("{path}.template.spec.podReplacementPolicy"),
                    &tspec.pod_replacement_policy,
                    format!(
                        "replicatedJob {}: must be set to Failed when in-place restart is enabled",
                        rj.name
                    ),
                ));
            }
            let equal = matches!((tspec.completions, tspec.parallelism), (Some(c), Some(p)) if c == p);
            if !equal {
                errs.push(FieldError::invalid_json(
                    format!("{path}.template.spec.completions"),
                    &tspec.completions,
                    format!(
                        "replicatedJob {}: completions and parallelism must be set and equal to each other when \
                         in-place restart is enabled",
                        rj.name
                    ),
                ));
            }
        }
    }

    // C6 (upstream dereferences successPolicy, relying on the mutating webhook's default)
    if let Some(sp) = &spec.success_policy {
        for t in &sp.target_replicated_jobs {
            if !known.contains(t.as_str()) {
                errs.push(FieldError::plain(format!(
                    "invalid replicatedJob name '{t}' does not appear in .spec.ReplicatedJobs"
                )));
            }
        }
    }

    // C7
    if spec.failure_policy.is_some() {
        errs.extend(validate_failure_policy(js, &known, gates));
    }

    // C8
    if spec.coordinator.is_some() {
        if let Some(e) = validate_coordinator(js) {
            errs.push(e);
        }
        if let Some(e) = validate_coordinator_label_value(js, &name) {
            errs.push(e);
        }
    }

    // C9
    if !spec.volume_claim_policies.is_empty() {
        errs.extend(validate_volume_claim_policies(js, &name, existing_pvc));
    }
    errs
}

/// C7 (`validateFailurePolicy`).
fn validate_failure_policy(js: &JobSet, known: &BTreeSet<&str>, gates: &FeatureGates) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(fp) = &js.spec.failure_policy else {
        return errs;
    };
    // C7a / C7b
    let has_restart_job = fp
        .rules
        .iter()
        .any(|r| r.action == "RestartJob" || r.action == "RestartJobAndIgnoreMaxRestarts");
    if has_restart_job {
        if !gates.restart_job {
            errs.push(FieldError::plain(
                "RestartJob and RestartJobAndIgnoreMaxRestarts failure policy actions are not allowed when RestartJob \
                 feature gate is disabled",
            ));
            return errs;
        }
        if js
            .spec
            .replicated_jobs
            .iter()
            .any(|rj| rj.replicas() > MAX_REPLICAS_PER_REPLICATED_JOB)
        {
            errs.push(FieldError::plain(format!(
                "JobSet cannot have a failure policy rule with RestartJob or RestartJobAndIgnoreMaxRestarts action and \
                 a replicated job with replicas > {MAX_REPLICAS_PER_REPLICATED_JOB}"
            )));
        }
    }
    // Upstream collects names in a Go map and iterates it (random order); we report duplicated
    // names ordered by their first index, which is one of upstream's possible orders.
    let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, rule) in fp.rules.iter().enumerate() {
        // C7c
        let n = rule.name.len();
        if !(MIN_RULE_NAME_LENGTH..=MAX_RULE_NAME_LENGTH).contains(&n) {
            errs.push(FieldError::plain(format!(
                "invalid failure policy rule name of length {n}, the rule name must be at least \
                 {MIN_RULE_NAME_LENGTH} characters long and at most {MAX_RULE_NAME_LENGTH} characters long"
            )));
        }
        by_name.entry(rule.name.as_str()).or_default().push(i);
        // C7d
        if !is_valid_rule_name(&rule.name) {
            errs.push(FieldError::plain(format!(
                "invalid failure policy rule name '{}', a failure policy rule name must start with an alphabetic \
                 character, optionally followed by a string of alphanumeric characters or '_,:', and must end with \
                 an alphanumeric character or '_'",
                rule.name
            )));
        }
        // C7e
        for t in &rule.target_replicated_jobs {
            if !known.contains(t.as_str()) {
                errs.push(FieldError::plain(format!(
                    "invalid replicatedJob name '{t}' in failure policy does not appear in .spec.ReplicatedJobs"
                )));
            }
        }
        // C7f
        for r in &rule.on_job_failure_reasons {
            if !JOB_FAILURE_REASONS.contains(&r.as_str()) {
                errs.push(FieldError::plain(format!(
                    "invalid job failure reason '{r}' in failure policy is not a recognized job failure reason"
                )));
            }
        }
    }
    // C7g
    let mut dups: Vec<(&str, &Vec<usize>)> = by_name
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(k, v)| (*k, v))
        .collect();
    dups.sort_by_key(|(_, v)| v[0]);
    for (rule_name, indices) in dups {
        let list: Vec<String> = indices.iter().map(usize::to_string).collect();
        errs.push(FieldError::plain(format!(
            "rule names are not unique, rules with indices [{}] all have the same name '{rule_name}'",
            list.join(" ")
        )));
    }
    errs
}

/// `^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$` (also the Condition `reason` pattern).
pub fn is_valid_rule_name(s: &str) -> bool {
    let b = s.as_bytes();
    let last_ok = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    match b {
        [] => false,
        [only] => only.is_ascii_alphabetic(),
        [first, mid @ .., last] => {
            first.is_ascii_alphabetic()
                && last_ok(*last)
                && mid
                    .iter()
                    .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b',' || c == b':')
        }
    }
}

/// C8a–C8d (`validateCoordinator`): the first failing check only.
fn validate_coordinator(js: &JobSet) -> Option<FieldError> {
    let c = js.spec.coordinator.as_ref()?;
    let Some(rj) = js.spec.replicated_jobs.iter().find(|rj| rj.name == c.replicated_job) else {
        return Some(FieldError::plain(format!(
            "coordinator replicatedJob {} does not exist",
            c.replicated_job
        )));
    };
    if c.job_index < 0 || c.job_index >= i64::from(rj.replicas()) {
        return Some(FieldError::plain(format!(
            "coordinator job index {} is invalid for replicatedJob {}",
            c.job_index, rj.name
        )));
    }
    let tspec = &rj.template.spec;
    let completions = match (tspec.completion_mode.as_deref(), tspec.completions) {
        (Some("Indexed"), Some(n)) => n,
        _ => {
            return Some(FieldError::plain(
                "job for coordinator pod must be indexed completion mode, and completions number must be set",
            ));
        }
    };
    if c.pod_index < 0 || c.pod_index >= i64::from(completions) {
        return Some(FieldError::plain(format!(
            "coordinator pod index {} is invalid for replicatedJob {} job index {}",
            c.pod_index, c.replicated_job, c.job_index
        )));
    }
    None
}

/// C8e (`validateCoordinatorLabelValue`).
fn validate_coordinator_label_value(js: &JobSet, jobset_name: &str) -> Option<FieldError> {
    let value = coordinator_endpoint(js, jobset_name)?;
    let problems = is_valid_label_value(&value);
    if problems.is_empty() {
        return None;
    }
    Some(FieldError::plain(format!(
        "spec will lead to invalid label value {} for coordinator label {} (long JobSet / ReplicatedJob / SubDomain \
         name?): {}",
        super::errors::go_quote(&value),
        super::errors::go_quote(COORDINATOR_KEY),
        problems.join(", ")
    )))
}

/// C9 (`validateVolumeClaimPolicies`). The existing-PVC comparison (C9f) compares JSON values,
/// treating a missing template spec as `{}` (upstream compares typed Go structs with
/// `reflect.DeepEqual`, so e.g. `1Gi` and `1024Mi` differ there too). C9h (lookup errors other
/// than NotFound) cannot occur: the lookup closure has no error channel.
fn validate_volume_claim_policies(
    js: &JobSet,
    jobset_name: &str,
    existing_pvc: &dyn Fn(&str, &str) -> Option<Value>,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut claim_names: BTreeSet<&str> = BTreeSet::new();
    let namespace = js.namespace();
    for (pi, policy) in js.spec.volume_claim_policies.iter().enumerate() {
        let ppath = idx("spec.volumeClaimPolicies", pi);
        for (ti, template) in policy.templates.iter().enumerate() {
            let tpath = idx(&format!("{ppath}.template"), ti);
            let tname = template.metadata.name.as_str();
            // C9a
            if claim_names.contains(tname) {
                errs.push(FieldError::invalid_str(
                    format!("{tpath}.name"),
                    tname,
                    "names must be unique for VolumeClaimPolicies template",
                ));
            }
            // C9b
            for m in is_dns1123_subdomain(tname) {
                errs.push(FieldError::invalid_str(format!("{tpath}.name"), tname, m));
            }
            // C9c
            let pvc = pvc_name(jobset_name, tname);
            if pvc.len() > MAX_VOLUME_CLAIM_LENGTH {
                errs.push(FieldError::invalid_str(
                    format!("{tpath}.name"),
                    tname,
                    "VolumeClaimPolicies template name is too long",
                ));
            }
            // C9d / C9e
            errs.extend(validate_replicated_jobs_volume_claims(&js.spec.replicated_jobs, tname));
            // C9f / C9g
            if let Some(existing) = existing_pvc(namespace, &pvc) {
                let tspec = if template.spec.is_null() {
                    Value::Object(Default::default())
                } else {
                    template.spec.clone()
                };
                let espec = if existing.is_null() {
                    Value::Object(Default::default())
                } else {
                    existing
                };
                if espec != tspec {
                    errs.push(FieldError::invalid_json(
                        format!("{tpath}.spec"),
                        &tspec,
                        format!("spec does not match existing PVC {pvc} in namespace {namespace}"),
                    ));
                }
                if let Some(rp) = &policy.retention_policy
                    && rp.when_deleted.as_deref() != Some("Retain")
                {
                    errs.push(FieldError::invalid_json(
                        format!("{ppath}.retentionPolicy.whenDeleted"),
                        &rp.when_deleted,
                        "retentionPolicy must be retain when PVC exists",
                    ));
                }
            }
            claim_names.insert(tname);
        }
    }
    errs
}

/// C9d and C9e for one template name.
fn validate_replicated_jobs_volume_claims(rjs: &[ReplicatedJob], claim: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut has_mount = false;
    for (ri, rj) in rjs.iter().enumerate() {
        let pod = &rj.template.spec.template.spec;
        for (vi, vname) in pod.volume_names().iter().enumerate() {
            if vname == claim {
                errs.push(FieldError::invalid_str(
                    format!("{}.template.spec.template.spec.volumes[{vi}].name", rj_path(ri)),
                    vname,
                    format!("volume name conflicts with VolumeClaimPolicy template name: {claim}"),
                ));
            }
        }
        if !has_mount {
            has_mount = pod
                .init_containers
                .iter()
                .chain(pod.containers.iter())
                .any(|c| c.volume_mount_names().iter().any(|m| m == claim));
        }
    }
    if !has_mount {
        errs.push(FieldError::invalid_json(
            "spec.replicatedJobs",
            rjs,
            format!("replicatedJob containers don't have a matching volumeMount: {claim} from VolumeClaimPolicies"),
        ));
    }
    errs
}

/// `ValidateUpdate` (U1–U8). Old replicatedJobs are matched to new ones by name.
pub fn validate_update(old: &JobSet, new: &JobSet, gates: &FeatureGates) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut munged = new.spec.replicated_jobs.clone();
    // Like upstream's Go map, a later duplicate name overwrites an earlier one.
    let mut old_by_name: BTreeMap<&str, &ReplicatedJob> = BTreeMap::new();
    for rj in &old.spec.replicated_jobs {
        old_by_name.insert(rj.name.as_str(), rj);
    }

    // U1–U5
    if gates.elastic_jobset {
        let terminal = condition_true(&old.status.conditions, COND_COMPLETED)
            || condition_true(&old.status.conditions, COND_FAILED);
        for (i, nrj) in new.spec.replicated_jobs.iter().enumerate() {
            let Some(orj) = old_by_name.get(nrj.name.as_str()) else {
                continue;
            };
            let path = format!("{}.template.spec", rj_path(i));
            let (ns, os) = (&nrj.template.spec, &orj.template.spec);
            if !ns.is_indexed() {
                continue;
            }
            let par_changed = ns.parallelism != os.parallelism;
            let comp_changed = ns.completions != os.completions;
            if par_changed || comp_changed {
                if terminal {
                    errs.push(FieldError::forbidden(
                        &path,
                        "Cannot mutate parallelism or completions when JobSet is in a terminal state (Completed or \
                         Failed)",
                    ));
                } else {
                    if let (true, Some(p)) = (par_changed, ns.parallelism)
                        && p < 1
                    {
                        errs.push(FieldError::invalid_int(
                            format!("{path}.parallelism"),
                            i64::from(p),
                            "parallelism must be >= 1",
                        ));
                    }
                    if let (true, Some(c)) = (comp_changed, ns.completions)
                        && c < 1
                    {
                        errs.push(FieldError::invalid_int(
                            format!("{path}.completions"),
                            i64::from(c),
                            "completions must be >= 1",
                        ));
                    }
                    if let (Some(p), Some(c)) = (ns.parallelism, ns.completions)
                        && p != c
                    {
                        errs.push(FieldError::invalid_int(
                            format!("{path}.completions"),
                            i64::from(c),
                            "completions must be equal to parallelism for Elastic Indexed Jobs",
                        ));
                    }
                }
            }
            munged[i].template.spec.parallelism = os.parallelism;
            munged[i].template.spec.completions = os.completions;
        }
    }

    // U6
    if old.suspended() || new.suspended() {
        for (i, nrj) in new.spec.replicated_jobs.iter().enumerate() {
            let Some(orj) = old_by_name.get(nrj.name.as_str()) else {
                continue;
            };
            let (m, o) = (&mut munged[i].template.spec.template, &orj.template.spec.template);
            m.metadata.annotations = o.metadata.annotations.clone();
            m.metadata.labels = o.metadata.labels.clone();
            m.spec.node_selector = o.spec.node_selector.clone();
            m.spec.tolerations = o.spec.tolerations.clone();
            m.spec.scheduling_gates = o.spec.scheduling_gates.clone();
        }
    }

    // U7
    if !semantic_equal(&munged, &old.spec.replicated_jobs) {
        errs.push(FieldError::invalid_json(
            "spec.replicatedJobs",
            &munged,
            FIELD_IMMUTABLE,
        ));
    }
    // U8
    if new.spec.managed_by != old.spec.managed_by {
        errs.push(FieldError::invalid_json(
            "spec.managedBy",
            &new.spec.managed_by,
            FIELD_IMMUTABLE,
        ));
    }
    errs
}

/// `apiequality.Semantic.DeepEqual` for replicatedJobs: like `==`, except that an empty list
/// equals an absent one and resource quantities compare by value (`1Gi` == `1024Mi`).
fn semantic_equal(a: &[ReplicatedJob], b: &[ReplicatedJob]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let norm = |rjs: &[ReplicatedJob]| -> Vec<ReplicatedJob> {
        let mut v = rjs.to_vec();
        for rj in &mut v {
            if rj.depends_on.as_ref().is_some_and(Vec::is_empty) {
                rj.depends_on = None;
            }
            let pod = &mut rj.template.spec.template.spec;
            for c in pod.containers.iter_mut().chain(pod.init_containers.iter_mut()) {
                for q in c.resources.requests.values_mut().chain(c.resources.limits.values_mut()) {
                    if let Ok(parsed) = crate::units::parse_quantity(q) {
                        *q = format!("{}m", parsed.milli());
                    }
                }
            }
        }
        v
    };
    a == b || norm(a) == norm(b)
}
