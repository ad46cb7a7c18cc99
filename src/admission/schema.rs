//! What the apiserver itself checks for a JobSet write, before any webhook sees it
//! (`customResourceStrategy.Validate`/`ValidateUpdate`): object metadata, the CRD's OpenAPI schema
//! (S1–S13: required fields, enums, minimums, maxItems), list-map key uniqueness, and the
//! `x-kubernetes-validations` CEL rules (S8, S11 and the `self == oldSelf` immutability rules).
//!
//! Message formats, from apiextensions-apiserver `ValidateCustomResource` and kube-openapi:
//! required → `Required value`; enum → `Unsupported value: "x": supported values: "a", "b"`;
//! minimum → `Invalid value: -1: <path> in body should be greater than or equal to 0`;
//! maxItems → `Too many: 6: must have at most 5 items`; list-map duplicate →
//! `Duplicate value: {"name":"x"}` (only the second occurrence of a key is reported); a CEL rule →
//! `Invalid value: "object": <message>`. Any Required/Unsupported/TooLong/TooMany error blocks the
//! CEL rules, which are then replaced by one `<nil>: Invalid value: null: some validation rules were
//! not checked ...` error.
//!
//! Ordering caveat: the apiserver walks object properties in Go map order, so the relative order
//! of schema errors on different fields is not fixed upstream. We walk fields in declaration order.
//! Not modelled: validation ratcheting (errors on unchanged fields are tolerated on UPDATE since
//! Kubernetes 1.30) — an old object always passed these rules in the simulator, so only a rule
//! whose outcome depends on a changed field can differ; and CEL `no such key` runtime errors for
//! absent lists (e.g. an `InOrder` JobSet without any `replicatedJobs` key), which the typed model
//! cannot tell from empty lists.

use super::dns::name_is_dns_subdomain;
use super::errors::{FieldError, FieldErrorKind, idx};
use super::webhook::is_valid_rule_name;
use crate::api::{JobSet, JobSetStatus};
use serde_json::json;
use std::collections::BTreeMap;

pub const DEPENDS_ON_STATUSES: [&str; 2] = ["Ready", "Complete"];
pub const SUCCESS_OPERATORS: [&str; 2] = ["All", "Any"];
pub const RESTART_STRATEGIES: [&str; 3] = ["Recreate", "BlockingRecreate", "InPlaceRestart"];
pub const FAILURE_ACTIONS: [&str; 5] = [
    "FailJobSet",
    "RestartJobSet",
    "RestartJobSetAndIgnoreMaxRestarts",
    "RestartJob",
    "RestartJobAndIgnoreMaxRestarts",
];
pub const STARTUP_ORDERS: [&str; 2] = ["AnyOrder", "InOrder"];
pub const RETENTION_POLICIES: [&str; 2] = ["Delete", "Retain"];
pub const CONDITION_STATUSES: [&str; 3] = ["True", "False", "Unknown"];

pub const MAX_DEPENDS_ON: usize = 5;
pub const MAX_VOLUME_CLAIM_POLICIES: usize = 50;
pub const MAX_VCP_TEMPLATES: usize = 50;
pub const MAX_JOB_RESTARTS_ITEMS: usize = 1024;

pub const IMMUTABLE: &str = "Value is immutable";
pub const STARTUP_DEPENDS_ON_EXCLUSIVE: &str = "StartupPolicy and DependsOn APIs are mutually exclusive";
pub const VCP_NAMESPACE_SET: &str = "namespace cannot be set for VolumeClaimPolicies templates";
pub const CEL_SKIPPED: &str = "some validation rules were not checked because the object was invalid; correct the \
                               existing errors to complete validation";

/// The reason pattern of `metav1.Condition` (same as the failure-policy rule name pattern).
pub const CONDITION_REASON_PATTERN: &str = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";
/// The type pattern of `metav1.Condition`.
pub const CONDITION_TYPE_PATTERN: &str =
    "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$";

fn minimum_error(path: &str, value: i64, min: i64) -> FieldError {
    FieldError::invalid_int(
        path,
        value,
        format!("{path} in body should be greater than or equal to {min}"),
    )
}

/// A CEL rule failure: the bad value is the schema type of the node.
fn cel_error(path: &str, schema_type: &str, message: &str) -> FieldError {
    FieldError::invalid_raw(path, format!("\"{schema_type}\""), message)
}

/// A required enum-typed string: empty is reported as missing (the typed model cannot tell an
/// absent key from `""`; the manifest parser already reports absent keys), else the enum.
fn required_enum(errs: &mut Vec<FieldError>, path: &str, value: &str, allowed: &[&str]) {
    if value.is_empty() {
        errs.push(FieldError::required(path, ""));
    } else if !allowed.contains(&value) {
        errs.push(FieldError::not_supported(path, value, allowed));
    }
}

fn optional_enum(errs: &mut Vec<FieldError>, path: &str, value: Option<&str>, allowed: &[&str]) {
    if let Some(v) = value
        && !allowed.contains(&v)
    {
        errs.push(FieldError::not_supported(path, v, allowed));
    }
}

fn required_str(errs: &mut Vec<FieldError>, path: &str, value: &str) {
    if value.is_empty() {
        errs.push(FieldError::required(path, ""));
    }
}

/// `ValidateObjectMeta` with `NameIsDNSSubdomain`, as the apiserver applies it to custom
/// resources on CREATE. (`namespace` is filled from the request and not checked here.)
pub fn validate_metadata(js: &JobSet) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let m = &js.metadata;
    if !m.generate_name.is_empty() {
        for msg in name_is_dns_subdomain(&m.generate_name, true) {
            errs.push(FieldError::invalid_str("metadata.generateName", &m.generate_name, msg));
        }
    }
    if m.name.is_empty() {
        // With generateName the apiserver has assigned a name before validation runs.
        if m.generate_name.is_empty() {
            errs.push(FieldError::required(
                "metadata.name",
                "name or generateName is required",
            ));
        }
    } else {
        for msg in name_is_dns_subdomain(&m.name, false) {
            errs.push(FieldError::invalid_str("metadata.name", &m.name, msg));
        }
    }
    errs
}

/// The OpenAPI part of the CRD schema over `spec` (S1–S7, S9–S11 without CEL).
pub fn validate_openapi(js: &JobSet) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let spec = &js.spec;
    for (i, rj) in spec.replicated_jobs.iter().enumerate() {
        let p = idx("spec.replicatedJobs", i);
        // S1
        required_str(&mut errs, &format!("{p}.name"), &rj.name);
        // S2
        if let Some(r) = rj.replicas
            && r < 0
        {
            errs.push(minimum_error(&format!("{p}.replicas"), i64::from(r), 0));
        }
        // S3
        if let Some(deps) = &rj.depends_on {
            let dp = format!("{p}.dependsOn");
            if deps.len() > MAX_DEPENDS_ON {
                errs.push(FieldError::too_many(&dp, deps.len() as i64, MAX_DEPENDS_ON as i64));
            }
            for (k, d) in deps.iter().enumerate() {
                let ip = idx(&dp, k);
                required_str(&mut errs, &format!("{ip}.name"), &d.name);
                required_enum(&mut errs, &format!("{ip}.status"), &d.status, &DEPENDS_ON_STATUSES);
            }
        }
    }
    // S4
    if let Some(sp) = &spec.success_policy {
        required_enum(
            &mut errs,
            "spec.successPolicy.operator",
            &sp.operator,
            &SUCCESS_OPERATORS,
        );
    }
    // S5
    if let Some(fp) = &spec.failure_policy {
        optional_enum(
            &mut errs,
            "spec.failurePolicy.restartStrategy",
            fp.restart_strategy.as_deref(),
            &RESTART_STRATEGIES,
        );
        for (k, rule) in fp.rules.iter().enumerate() {
            let rp = idx("spec.failurePolicy.rules", k);
            required_str(&mut errs, &format!("{rp}.name"), &rule.name);
            required_enum(&mut errs, &format!("{rp}.action"), &rule.action, &FAILURE_ACTIONS);
        }
    }
    // S6
    if let Some(sp) = &spec.startup_policy {
        required_enum(
            &mut errs,
            "spec.startupPolicy.startupPolicyOrder",
            &sp.startup_policy_order,
            &STARTUP_ORDERS,
        );
    }
    // S9
    if let Some(c) = &spec.coordinator {
        required_str(&mut errs, "spec.coordinator.replicatedJob", &c.replicated_job);
    }
    // S10
    if let Some(ttl) = spec.ttl_seconds_after_finished
        && ttl < 0
    {
        errs.push(minimum_error("spec.ttlSecondsAfterFinished", i64::from(ttl), 0));
    }
    // S11 (schema part)
    let vcps = &spec.volume_claim_policies;
    if vcps.len() > MAX_VOLUME_CLAIM_POLICIES {
        errs.push(FieldError::too_many(
            "spec.volumeClaimPolicies",
            vcps.len() as i64,
            MAX_VOLUME_CLAIM_POLICIES as i64,
        ));
    }
    for (i, vcp) in vcps.iter().enumerate() {
        let p = idx("spec.volumeClaimPolicies", i);
        if vcp.templates.len() > MAX_VCP_TEMPLATES {
            errs.push(FieldError::too_many(
                format!("{p}.templates"),
                vcp.templates.len() as i64,
                MAX_VCP_TEMPLATES as i64,
            ));
        }
        if let Some(rp) = &vcp.retention_policy {
            optional_enum(
                &mut errs,
                &format!("{p}.retentionPolicy.whenDeleted"),
                rp.when_deleted.as_deref(),
                &RETENTION_POLICIES,
            );
        }
    }
    errs
}

/// apiextensions `validateListSet` over one key: the index of each key's second occurrence.
fn second_occurrences<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<(usize, &'a str)> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, k) in keys.enumerate() {
        let n = seen.entry(k).or_insert(0);
        *n += 1;
        if *n == 2 {
            out.push((i, k));
        }
    }
    out
}

/// `x-kubernetes-list-type: map` key uniqueness (S1 replicatedJobs by name, S3 dependsOn by name).
pub fn validate_list_maps(js: &JobSet) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let rjs = &js.spec.replicated_jobs;
    for (i, name) in second_occurrences(rjs.iter().map(|r| r.name.as_str())) {
        errs.push(FieldError::duplicate_json(
            idx("spec.replicatedJobs", i),
            &json!({ "name": name }),
        ));
    }
    for (ri, rj) in rjs.iter().enumerate() {
        if let Some(deps) = &rj.depends_on {
            for (i, name) in second_occurrences(deps.iter().map(|d| d.name.as_str())) {
                let p = idx(&format!("{}.dependsOn", idx("spec.replicatedJobs", ri)), i);
                errs.push(FieldError::duplicate_json(p, &json!({ "name": name })));
            }
        }
    }
    errs
}

/// Equality of two `dependsOn` lists as CEL sees them: a list-type map compares without order.
fn depends_on_equal(a: &[crate::api::DependsOn], b: &[crate::api::DependsOn]) -> bool {
    let key = |v: &[crate::api::DependsOn]| {
        let mut k: Vec<(String, String)> = v.iter().map(|d| (d.name.clone(), d.status.clone())).collect();
        k.sort();
        k
    };
    a.len() == b.len() && key(a) == key(b)
}

/// The CEL rules. `old` is the stored object on UPDATE: transition rules (`self == oldSelf`) run
/// only where both the old and the new object have the field, so adding a previously absent
/// object or removing one is not caught (spec §1.13 caveat, reproduced on purpose).
pub fn validate_cel(js: &JobSet, old: Option<&JobSet>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let spec = &js.spec;
    // S8 (rule on `spec`)
    if js.in_order() && spec.replicated_jobs.iter().any(|rj| rj.depends_on.is_some()) {
        errs.push(cel_error("spec", "object", STARTUP_DEPENDS_ON_EXCLUSIVE));
    }
    if let Some(old) = old {
        let os = &old.spec;
        // S7, S4, S5, S6
        if matches!((&spec.network, &os.network), (Some(n), Some(o)) if n != o) {
            errs.push(cel_error("spec.network", "object", IMMUTABLE));
        }
        if matches!((&spec.success_policy, &os.success_policy), (Some(n), Some(o)) if n != o) {
            errs.push(cel_error("spec.successPolicy", "object", IMMUTABLE));
        }
        if matches!((&spec.failure_policy, &os.failure_policy), (Some(n), Some(o)) if n != o) {
            errs.push(cel_error("spec.failurePolicy", "object", IMMUTABLE));
        }
        if matches!((&spec.startup_policy, &os.startup_policy), (Some(n), Some(o)) if n != o) {
            errs.push(cel_error("spec.startupPolicy", "object", IMMUTABLE));
        }
        // S11 (immutability of the whole atomic list)
        let (nv, ov) = (&spec.volume_claim_policies, &os.volume_claim_policies);
        if !nv.is_empty() && !ov.is_empty() && nv != ov {
            errs.push(cel_error("spec.volumeClaimPolicies", "array", IMMUTABLE));
        }
    }
    // S11 (rule on each policy)
    for (i, vcp) in spec.volume_claim_policies.iter().enumerate() {
        if vcp.templates.iter().any(|t| !t.metadata.namespace.is_empty()) {
            errs.push(cel_error(
                &idx("spec.volumeClaimPolicies", i),
                "object",
                VCP_NAMESPACE_SET,
            ));
        }
    }
    // S3 immutability, items correlated by the list-map key `name`.
    if let Some(old) = old {
        for (i, rj) in spec.replicated_jobs.iter().enumerate() {
            let Some(new_deps) = &rj.depends_on else {
                continue;
            };
            let old_rj = old.spec.replicated_jobs.iter().find(|o| o.name == rj.name);
            if let Some(old_deps) = old_rj.and_then(|o| o.depends_on.as_ref())
                && !depends_on_equal(new_deps, old_deps)
            {
                let p = format!("{}.dependsOn", idx("spec.replicatedJobs", i));
                errs.push(cel_error(&p, "array", IMMUTABLE));
            }
        }
    }
    errs
}

/// Whether an OpenAPI error keeps the CEL rules from running (`hasBlockingErr`).
fn is_blocking(e: &FieldError) -> bool {
    matches!(
        e.kind,
        FieldErrorKind::NotSupported
            | FieldErrorKind::Required
            | FieldErrorKind::TooLong
            | FieldErrorKind::TooMany
            | FieldErrorKind::TypeInvalid
    )
}

/// Everything the apiserver checks: metadata (CREATE only), OpenAPI, list maps, then CEL unless
/// blocked.
pub fn validate(js: &JobSet, old: Option<&JobSet>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if old.is_none() {
        errs.extend(validate_metadata(js));
    }
    errs.extend(validate_openapi(js));
    errs.extend(validate_list_maps(js));
    if errs.iter().any(is_blocking) {
        errs.push(FieldError::invalid_raw(super::errors::NIL_PATH, "null", CEL_SKIPPED));
    } else {
        errs.extend(validate_cel(js, old));
    }
    errs
}

fn matches_condition_type(s: &str) -> bool {
    match s.split_once('/') {
        Some((prefix, name)) => {
            super::dns::matches_dns1123_subdomain(prefix) && super::dns::matches_label_key_name(name)
        }
        None => super::dns::matches_label_key_name(s),
    }
}

/// S13: the status schema (written by the controller through the status subresource):
/// `metav1.Condition` fields, list-map keys, and the `jobRestarts*` maxItems. The core can run
/// this on the status it is about to write (e.g. to catch a `FailurePolicy_<rule>` reason that
/// breaks the reason pattern).
pub fn validate_status(status: &JobSetStatus) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, c) in status.conditions.iter().enumerate() {
        let p = idx("status.conditions", i);
        let tp = format!("{p}.type");
        if c.type_.is_empty() {
            errs.push(FieldError::required(&tp, ""));
        } else {
            if c.type_.len() > 316 {
                errs.push(FieldError::too_long(&tp, 316));
            }
            if !matches_condition_type(&c.type_) {
                errs.push(FieldError::invalid_str(
                    &tp,
                    &c.type_,
                    format!("{tp} in body should match '{CONDITION_TYPE_PATTERN}'"),
                ));
            }
        }
        required_enum(&mut errs, &format!("{p}.status"), &c.status, &CONDITION_STATUSES);
        let rp = format!("{p}.reason");
        if c.reason.is_empty() {
            errs.push(FieldError::invalid_str(
                &rp,
                "",
                format!("{rp} in body should be at least 1 chars long"),
            ));
        } else if c.reason.len() > 1024 {
            errs.push(FieldError::too_long(&rp, 1024));
        }
        if !c.reason.is_empty() && !is_valid_rule_name(&c.reason) {
            errs.push(FieldError::invalid_str(
                &rp,
                &c.reason,
                format!("{rp} in body should match '{CONDITION_REASON_PATTERN}'"),
            ));
        }
        if c.message.len() > 32768 {
            errs.push(FieldError::too_long(format!("{p}.message"), 32768));
        }
    }
    for (i, rs) in status.replicated_jobs_status.iter().enumerate() {
        let p = idx("status.replicatedJobsStatus", i);
        for (key, list) in [
            ("jobRestarts", &rs.job_restarts),
            ("jobRestartsCountTowardsMax", &rs.job_restarts_count_towards_max),
        ] {
            if list.len() > MAX_JOB_RESTARTS_ITEMS {
                errs.push(FieldError::too_many(
                    format!("{p}.{key}"),
                    list.len() as i64,
                    MAX_JOB_RESTARTS_ITEMS as i64,
                ));
            }
        }
    }
    for (i, t) in second_occurrences(status.conditions.iter().map(|c| c.type_.as_str())) {
        errs.push(FieldError::duplicate_json(
            idx("status.conditions", i),
            &json!({ "type": t }),
        ));
    }
    for (i, n) in second_occurrences(status.replicated_jobs_status.iter().map(|s| s.name.as_str())) {
        errs.push(FieldError::duplicate_json(
            idx("status.replicatedJobsStatus", i),
            &json!({ "name": n }),
        ));
    }
    errs
}
