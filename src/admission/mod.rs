//! JobSet admission: defaulting and validation, as a real cluster applies them to a JobSet write.
//!
//! CREATE: CRD structural defaults (D1–D4) → mutating webhook `Default()` (D5–D11) → apiserver
//! checks (metadata, OpenAPI schema, list-map keys, CEL; a failure stops here) → validating webhook
//! `ValidateCreate` (C1–C9, all errors aggregated).
//! UPDATE: CRD defaults only (the mutating webhook is CREATE-only) → apiserver checks including the
//! CEL immutability rules → `ValidateUpdate` (U1–U8).
//!
//! Rejections carry the client-facing message (`admission webhook "vjobset.kb.io" denied the
//! request: JobSet.jobset.x-k8s.io "js" is invalid: ...` for the webhook, the same without the
//! prefix for apiserver checks) and the individual field errors.
//!
//! Module map: [`defaults`] (D-rules), [`schema`] (S-rules), [`webhook`] (C- and U-rules),
//! [`dns`] (apimachinery name checks), [`errors`] (field errors and the envelope).
//!
//! Fidelity notes (where the simulator knowingly differs from a real cluster):
//! - Upstream walks schema properties and groups duplicated rule names in Go map order; we use
//!   declaration order and first-index order, which are among upstream's possible orders.
//! - The typed model cannot tell an absent key from `""`, so an empty required string is reported
//!   as `Required value` (the manifest parser already reports absent keys).
//! - Bad values of composite type (the replicatedJobs list of U7/C9e, a PVC spec) are rendered as
//!   JSON of our Rust types, close to but not byte-identical with Go's JSON of its structs.
//! - Validation ratcheting on UPDATE and CEL runtime errors (`no such key`) are not modelled.
//! - C9h (PVC lookup errors other than NotFound) cannot happen: the lookup has no error channel.
//! - `generateName` uses the fixed suffix [`GENERATED_NAME_SUFFIX`] instead of random characters.

pub mod defaults;
pub mod dns;
pub mod errors;
pub mod schema;
pub mod webhook;

#[cfg(test)]
mod tests;

pub use errors::{FieldError, FieldErrorKind, Layer, Rejection};
pub use webhook::{GENERATED_NAME_SUFFIX, validation_name};

use crate::api::{JobSet, JobSetStatus};
use std::collections::BTreeMap;

/// The JobSet controller's feature gates (`pkg/features/features.go`) that change admission or
/// controller behaviour. `TLSOptions` exists upstream too but is GA and locked to true.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeatureGates {
    pub restart_job: bool,
    pub in_place_restart: bool,
    pub elastic_jobset: bool,
}

/// Every gate name the JobSet controller knows at the pinned commit.
pub const KNOWN_GATES: [&str; 4] = ["ElasticJobSet", "InPlaceRestart", "RestartJob", "TLSOptions"];

impl FeatureGates {
    /// Parses a `name -> enabled` map. An unknown name is an error naming the nearest known gate;
    /// `TLSOptions: false` is an error (the gate is locked to true), as component-base reports it.
    pub fn from_map(m: &BTreeMap<String, bool>) -> Result<FeatureGates, String> {
        let mut g = FeatureGates::default();
        for (name, &on) in m {
            match name.as_str() {
                "RestartJob" => g.restart_job = on,
                "InPlaceRestart" => g.in_place_restart = on,
                "ElasticJobSet" => g.elastic_jobset = on,
                "TLSOptions" => {
                    if !on {
                        return Err(
                            "cannot set feature gate TLSOptions to false, feature is locked to true".to_string()
                        );
                    }
                }
                other => {
                    let hint = match crate::input::nearest(other, KNOWN_GATES) {
                        Some(s) => format!("; did you mean \"{s}\"?"),
                        None => format!("; known gates: {}", KNOWN_GATES.join(", ")),
                    };
                    return Err(format!("unrecognized feature gate: {other}{hint}"));
                }
            }
        }
        Ok(g)
    }

    /// The gates as a `name -> enabled` map (all known gates, for run headers).
    pub fn to_map(&self) -> BTreeMap<String, bool> {
        BTreeMap::from([
            ("ElasticJobSet".to_string(), self.elastic_jobset),
            ("InPlaceRestart".to_string(), self.in_place_restart),
            ("RestartJob".to_string(), self.restart_job),
            ("TLSOptions".to_string(), true),
        ])
    }
}

/// Admits a JobSet CREATE, defaulting `js` in place. `existing_pvc(namespace, name)` returns the
/// `spec` of an existing PersistentVolumeClaim (for C9f/C9g).
///
/// With an empty `metadata.name` and a `generateName`, the name-length checks use
/// [`validation_name`] (`generateName` cut to 58 bytes + [`GENERATED_NAME_SUFFIX`]); the caller
/// assigns the real name. Any `status` in the request is dropped (status subresource).
pub fn admit_create(
    js: &mut JobSet,
    gates: &FeatureGates,
    existing_pvc: &dyn Fn(&str, &str) -> Option<serde_json::Value>,
) -> Result<(), Rejection> {
    js.status = JobSetStatus::default();
    defaults::apply_crd_defaults(js);
    defaults::apply_webhook_defaults(js);
    // The webhook's patch is decoded (and structurally defaulted) again by the apiserver.
    defaults::apply_crd_defaults(js);
    let errs = schema::validate(js, None);
    if !errs.is_empty() {
        return Err(Rejection::new(Layer::Schema, &js.metadata.name, errs));
    }
    let errs = webhook::validate_create(js, gates, existing_pvc);
    if !errs.is_empty() {
        return Err(Rejection::new(Layer::Webhook, &js.metadata.name, errs));
    }
    Ok(())
}

/// Admits a JobSet UPDATE of the main resource (not the status subresource): `new.status` is
/// replaced by `old.status` as the apiserver does, CRD defaults are applied to `new`, then the
/// apiserver checks (with the CEL transition rules against `old`) and `ValidateUpdate` run.
pub fn admit_update(old: &JobSet, new: &mut JobSet, gates: &FeatureGates) -> Result<(), Rejection> {
    new.status = old.status.clone();
    defaults::apply_crd_defaults(new);
    let errs = schema::validate(new, Some(old));
    if !errs.is_empty() {
        return Err(Rejection::new(Layer::Schema, &new.metadata.name, errs));
    }
    let errs = webhook::validate_update(old, new, gates);
    if !errs.is_empty() {
        return Err(Rejection::new(Layer::Webhook, &new.metadata.name, errs));
    }
    Ok(())
}

/// Admission warnings for an admitted JobSet (printed by `validate`, never a rejection). The
/// upstream webhook returns none at the pinned commit; this is the hook for simulator-specific
/// notes.
pub fn warnings(js: &JobSet) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(fp) = &js.spec.failure_policy {
        for (i, rule) in fp.rules.iter().enumerate() {
            for (j, p) in rule.on_job_failure_message_patterns.iter().enumerate() {
                if let Some(reason) = crate::pattern::compile_go_pattern(p).invalid_reason() {
                    out.push(format!(
                        "spec.failurePolicy.rules[{i}].onJobFailureMessagePatterns[{j}]: {p:?} is not a valid Go \
                         regular expression ({reason}); the JobSet controller skips it, so it never matches"
                    ));
                }
            }
        }
    }
    out
}
