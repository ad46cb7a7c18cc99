//! Admission tests. Webhook tests that port upstream unit tests call the webhook functions
//! directly on hand-built objects (as upstream's `TestValidateCreate`/`TestValidateUpdate` do,
//! without defaulting); the others run the whole pipeline through `admit_create`/`admit_update`.

mod create;
mod defaults;
mod envelope;
mod examples;
mod integration;
mod schema;
mod update;

use super::errors::FieldError;
use super::{FeatureGates, webhook};
use crate::api::{
    Condition, Container, DependsOn, FailurePolicy, FailurePolicyRule, JobSet, PvcTemplate, ReplicatedJob,
    RetentionPolicy, SuccessPolicy, VolumeClaimPolicy,
};
use crate::input::{Diags, parse_yaml_documents};
use serde_json::{Value, json};

pub(super) const MAX_I32: i32 = i32::MAX;

/// Parses one `kind: JobSet` YAML document, failing the test on any parse error.
pub(super) fn parse_js(yaml: &str) -> JobSet {
    let docs = parse_yaml_documents(yaml).expect("valid YAML");
    let mut d = Diags::default();
    let js = JobSet::parse(&docs[0], &mut d).expect("a JobSet");
    assert!(d.errors.is_empty(), "parse errors: {:?}", d.errors);
    js
}

/// A container named `test` (image kept verbatim as an unmodelled field).
pub(super) fn container(name: &str) -> Container {
    let mut c = Container {
        name: name.to_string(),
        ..Default::default()
    };
    c.extra.insert("image".to_string(), json!("bash:latest"));
    c
}

/// A replicatedJob as upstream's unit tests write them: `groupName: default`, the given
/// replicas, one container, no defaulting applied.
pub(super) fn rjob(name: &str, replicas: i32) -> ReplicatedJob {
    let mut rj = ReplicatedJob {
        name: name.to_string(),
        group_name: Some("default".to_string()),
        replicas: Some(replicas),
        ..Default::default()
    };
    rj.template.spec.template.spec.containers.push(container("test"));
    rj
}

/// An Indexed replicatedJob with explicit parallelism and completions.
pub(super) fn indexed_rjob(name: &str, replicas: i32, parallelism: i32, completions: i32) -> ReplicatedJob {
    let mut rj = rjob(name, replicas);
    rj.template.spec.completion_mode = Some("Indexed".to_string());
    rj.template.spec.parallelism = Some(parallelism);
    rj.template.spec.completions = Some(completions);
    rj
}

/// A JobSet named `name` with an empty success policy (upstream's `SuccessPolicy: &{}`).
pub(super) fn jobset(name: &str, rjs: Vec<ReplicatedJob>) -> JobSet {
    let mut js = JobSet {
        api_version: "jobset.x-k8s.io/v1alpha2".to_string(),
        kind: "JobSet".to_string(),
        ..Default::default()
    };
    js.metadata.name = name.to_string();
    js.spec.replicated_jobs = rjs;
    js.spec.success_policy = Some(SuccessPolicy::default());
    js
}

pub(super) fn rule(name: &str, action: &str) -> FailurePolicyRule {
    FailurePolicyRule {
        name: name.to_string(),
        action: action.to_string(),
        ..Default::default()
    }
}

pub(super) fn failure_policy(rules: Vec<FailurePolicyRule>) -> Option<FailurePolicy> {
    Some(FailurePolicy {
        rules,
        ..Default::default()
    })
}

pub(super) fn depends(name: &str, status: &str) -> DependsOn {
    DependsOn {
        name: name.to_string(),
        status: status.to_string(),
    }
}

pub(super) fn pvc_spec(access: &str, storage: &str) -> Value {
    json!({"accessModes": [access], "resources": {"requests": {"storage": storage}}})
}

pub(super) fn vcp(names: &[&str], retention: Option<&str>) -> VolumeClaimPolicy {
    VolumeClaimPolicy {
        templates: names
            .iter()
            .map(|n| {
                let mut t = PvcTemplate {
                    spec: pvc_spec("ReadWriteOnce", "1Gi"),
                    ..Default::default()
                };
                t.metadata.name = n.to_string();
                t
            })
            .collect(),
        retention_policy: retention.map(|r| RetentionPolicy {
            when_deleted: Some(r.to_string()),
        }),
    }
}

pub(super) fn mount(rj: &mut ReplicatedJob, volume: &str) {
    rj.template.spec.template.spec.containers[0]
        .volume_mounts
        .push(json!({"name": volume, "mountPath": "/test/path"}));
}

pub(super) fn condition(type_: &str, status: &str) -> Condition {
    Condition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: "Reason".to_string(),
        message: String::new(),
        last_transition_time: 0,
    }
}

pub(super) fn no_pvc(_: &str, _: &str) -> Option<Value> {
    None
}

pub(super) fn gates_all() -> FeatureGates {
    FeatureGates {
        restart_job: true,
        in_place_restart: true,
        elastic_jobset: true,
    }
}

/// `ValidateCreate` as printed errors.
pub(super) fn create_errors(js: &JobSet, gates: FeatureGates) -> Vec<String> {
    strings(&webhook::validate_create(js, &gates, &no_pvc))
}

/// `ValidateUpdate` as printed errors.
pub(super) fn update_errors(old: &JobSet, new: &JobSet, gates: FeatureGates) -> Vec<String> {
    strings(&webhook::validate_update(old, new, &gates))
}

pub(super) fn strings(errs: &[FieldError]) -> Vec<String> {
    errs.iter().map(ToString::to_string).collect()
}

/// Asserts that some error contains `fragment`.
#[track_caller]
pub(super) fn assert_has(errs: &[String], fragment: &str) {
    assert!(
        errs.iter().any(|e| e.contains(fragment)),
        "expected an error containing {fragment:?}, got {errs:#?}"
    );
}

#[track_caller]
pub(super) fn assert_none_has(errs: &[String], fragment: &str) {
    assert!(
        !errs.iter().any(|e| e.contains(fragment)),
        "expected no error containing {fragment:?}, got {errs:#?}"
    );
}
