//! S1–S13 (CRD OpenAPI schema, list-map keys, CEL) and apiserver metadata checks, through the
//! full pipeline.

use super::*;
use crate::admission::errors::{FieldErrorKind, Layer, Rejection};
use crate::admission::schema::validate_status;
use crate::admission::{admit_create, admit_update};
use crate::api::{Coordinator, Network, ReplicatedJobStatus, StartupPolicy};

/// A valid JobSet before defaulting (no success policy, so D5 fills it).
pub(super) fn base(rjs: Vec<ReplicatedJob>) -> JobSet {
    let mut js = jobset("js", rjs);
    js.spec.success_policy = None;
    js
}

pub(super) fn admit(mut js: JobSet) -> Result<JobSet, Rejection> {
    admit_create(&mut js, &FeatureGates::default(), &no_pvc).map(|()| js)
}

#[track_caller]
fn schema_rejection(js: JobSet) -> Rejection {
    let r = admit(js).expect_err("rejected");
    assert_eq!(r.layer, Layer::Schema, "{}", r.message);
    assert!(!r.message.starts_with("admission webhook"));
    r
}

#[track_caller]
pub(super) fn admitted(js: JobSet) -> JobSet {
    match admit(js) {
        Ok(js) => js,
        Err(r) => panic!("unexpected rejection: {}", r.message),
    }
}

/// A created (defaulted, admitted) JobSet to update.
pub(super) fn stored(js: JobSet) -> JobSet {
    admitted(js)
}

#[track_caller]
fn update_rejection(old: &JobSet, mut new: JobSet) -> Rejection {
    admit_update(old, &mut new, &FeatureGates::default()).expect_err("update rejected")
}

const CEL_NOTE: &str = "<nil>: Invalid value: null: some validation rules were not checked because the object was \
                        invalid; correct the existing errors to complete validation";

#[test]
fn s1_duplicate_replicated_job_names_are_rejected_by_the_list_map_key() {
    let r = schema_rejection(base(vec![rjob("a", 1), rjob("b", 1), rjob("a", 1), rjob("a", 1)]));
    assert_eq!(
        r.message,
        "JobSet.jobset.x-k8s.io \"js\" is invalid: spec.replicatedJobs[2]: Duplicate value: {\"name\":\"a\"}"
    );
}

#[test]
fn s1_replicated_job_name_is_required() {
    let r = schema_rejection(base(vec![rjob("", 1)]));
    assert_eq!(
        r.message,
        format!("JobSet.jobset.x-k8s.io \"js\" is invalid: [spec.replicatedJobs[0].name: Required value, {CEL_NOTE}]")
    );
}

#[test]
fn s2_negative_replicated_job_replicas_are_rejected() {
    let r = schema_rejection(base(vec![rjob("rj", -1)]));
    assert_eq!(
        r.message,
        "JobSet.jobset.x-k8s.io \"js\" is invalid: spec.replicatedJobs[0].replicas: Invalid value: -1: \
         spec.replicatedJobs[0].replicas in body should be greater than or equal to 0"
    );
    assert_eq!(r.errors[0].kind, FieldErrorKind::Invalid);
}

#[test]
fn s2_zero_replicas_are_accepted() {
    admitted(base(vec![rjob("rj", 0)]));
}

#[test]
fn s3_depends_on_list_must_contain_valid_replicated_job_status() {
    let mut b = rjob("b", 1);
    b.depends_on = Some(vec![depends("a", "Failed")]);
    let r = schema_rejection(base(vec![rjob("a", 1), b]));
    assert_eq!(
        r.errors[0].to_string(),
        "spec.replicatedJobs[1].dependsOn[0].status: Unsupported value: \"Failed\": supported values: \"Ready\", \
         \"Complete\""
    );
    assert_eq!(r.errors[1].to_string(), CEL_NOTE);
}

#[test]
fn s3_depends_on_has_at_most_5_items() {
    let mut last = rjob("g", 1);
    last.depends_on = Some(
        ["a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|n| depends(n, "Ready"))
            .collect(),
    );
    let mut rjs: Vec<ReplicatedJob> = ["a", "b", "c", "d", "e", "f"].iter().map(|n| rjob(n, 1)).collect();
    rjs.push(last);
    let r = schema_rejection(base(rjs));
    assert_eq!(
        r.errors[0].to_string(),
        "spec.replicatedJobs[6].dependsOn: Too many: 6: must have at most 5 items"
    );
}

#[test]
fn s3_depends_on_names_are_a_list_map_key_and_name_and_status_are_required() {
    let mut b = rjob("b", 1);
    b.depends_on = Some(vec![depends("a", "Ready"), depends("a", "Complete")]);
    let r = schema_rejection(base(vec![rjob("a", 1), b]));
    assert_eq!(
        r.errors[0].to_string(),
        "spec.replicatedJobs[1].dependsOn[1]: Duplicate value: {\"name\":\"a\"}"
    );
    let mut b = rjob("b", 1);
    b.depends_on = Some(vec![depends("", "")]);
    let r = schema_rejection(base(vec![rjob("a", 1), b]));
    let e = strings(&r.errors);
    assert_has(&e, "spec.replicatedJobs[1].dependsOn[0].name: Required value");
    assert_has(&e, "spec.replicatedJobs[1].dependsOn[0].status: Required value");
}

#[test]
fn s3_depends_on_must_be_immutable() {
    let mut b = rjob("b", 1);
    b.depends_on = Some(vec![depends("a", "Ready")]);
    let old = stored(base(vec![rjob("a", 1), b]));
    let mut new = old.clone();
    new.spec.replicated_jobs[1].depends_on = Some(vec![depends("a", "Complete")]);
    let r = update_rejection(&old, new);
    assert_eq!(r.layer, Layer::Schema, "CEL runs before the webhook");
    assert_eq!(
        r.message,
        "JobSet.jobset.x-k8s.io \"js\" is invalid: spec.replicatedJobs[1].dependsOn: Invalid value: \"array\": Value \
         is immutable"
    );
}

#[test]
fn s3_depends_on_cel_equality_ignores_list_map_order() {
    let mut c = rjob("c", 1);
    c.depends_on = Some(vec![depends("a", "Ready"), depends("b", "Ready")]);
    let old = stored(base(vec![rjob("a", 1), rjob("b", 1), c]));
    let mut new = old.clone();
    new.spec.replicated_jobs[2].depends_on.as_mut().unwrap().reverse();
    let errs = crate::admission::schema::validate_cel(&new, Some(&old));
    assert!(errs.is_empty(), "{errs:?}");
}

#[test]
fn s4_success_policy_operator_is_an_enum_and_required() {
    let mut js = base(vec![rjob("rj", 1)]);
    js.spec.success_policy = Some(SuccessPolicy {
        operator: "Some".to_string(),
        target_replicated_jobs: vec![],
    });
    assert_eq!(
        schema_rejection(js).errors[0].to_string(),
        "spec.successPolicy.operator: Unsupported value: \"Some\": supported values: \"All\", \"Any\""
    );
    let mut js = base(vec![rjob("rj", 1)]);
    js.spec.success_policy = Some(SuccessPolicy::default());
    assert_eq!(
        schema_rejection(js).errors[0].to_string(),
        "spec.successPolicy.operator: Required value"
    );
}

#[test]
fn s4_success_policy_should_be_immutable() {
    let old = stored(base(vec![rjob("a", 1), rjob("b", 1)]));
    let mut new = old.clone();
    new.spec.success_policy.as_mut().unwrap().target_replicated_jobs = vec!["a".to_string()];
    assert_eq!(
        update_rejection(&old, new).message,
        "JobSet.jobset.x-k8s.io \"js\" is invalid: spec.successPolicy: Invalid value: \"object\": Value is immutable"
    );
}

#[test]
fn s5_failure_policy_restart_strategy_is_an_enum() {
    let mut js = base(vec![rjob("rj", 1)]);
    js.spec.failure_policy = Some(FailurePolicy {
        restart_strategy: Some("Foo".to_string()),
        ..Default::default()
    });
    assert_eq!(
        schema_rejection(js).errors[0].to_string(),
        "spec.failurePolicy.restartStrategy: Unsupported value: \"Foo\": supported values: \"Recreate\", \
         \"BlockingRecreate\", \"InPlaceRestart\""
    );
}

#[test]
fn s5_failure_policy_rule_action_is_a_required_enum() {
    let mut js = base(vec![rjob("rj", 1)]);
    js.spec.failure_policy = failure_policy(vec![rule("a", "Explode"), rule("b", "")]);
    let e = strings(&schema_rejection(js).errors);
    assert_eq!(
        e[0],
        "spec.failurePolicy.rules[0].action: Unsupported value: \"Explode\": supported values: \"FailJobSet\", \
         \"RestartJobSet\", \"RestartJobSetAndIgnoreMaxRestarts\", \"RestartJob\", \"RestartJobAndIgnoreMaxRestarts\""
    );
    assert_eq!(e[1], "spec.failurePolicy.rules[1].action: Required value");
}

#[test]
fn s5_failure_policy_rule_name_is_required_after_defaulting() {
    // On CREATE the mutating webhook names rules first, so only UPDATE can miss a name.
    let mut js = base(vec![rjob("rj", 1)]);
    js.spec.failure_policy = failure_policy(vec![rule("", "FailJobSet")]);
    let old = stored(js);
    let mut new = old.clone();
    new.spec.failure_policy.as_mut().unwrap().rules[0].name.clear();
    let r = update_rejection(&old, new);
    assert_eq!(
        strings(&r.errors),
        vec![
            "spec.failurePolicy.rules[0].name: Required value".to_string(),
            CEL_NOTE.to_string()
        ]
    );
}

#[test]
fn s5_failure_policy_should_be_immutable() {
    let mut js = base(vec![rjob("rj", 1)]);
    js.spec.failure_policy = Some(FailurePolicy {
        max_restarts: Some(3),
        ..Default::default()
    });
    let old = stored(js);
    let mut new = old.clone();
    new.spec.failure_policy.as_mut().unwrap().max_restarts = Some(21);
    let r = update_rejection(&old, new);
    assert_eq!(
        r.errors[0].to_string(),
        "spec.failurePolicy: Invalid value: \"object\": Value is immutable"
    );
}

#[test]
fn s5_failure_policy_added_or_removed_on_update_is_not_rejected() {
    // Transition-rule semantics (spec §1.13 caveat): nothing to compare against.
    let old = stored(base(vec![rjob("rj", 1)]));
    let mut new = old.clone();
    new.spec.failure_policy = Some(FailurePolicy::default());
    admit_update(&old, &mut new, &FeatureGates::default()).expect("adding is allowed");
    let old = new;
    let mut new = old.clone();
    new.spec.failure_policy = None;
    admit_update(&old, &mut new, &FeatureGates::default()).expect("removing is allowed");
}

#[test]
fn s6_startup_policy_order_is_a_required_enum_and_immutable() {
    let mut js = base(vec![rjob("rj", 1)]);
    js.spec.startup_policy = Some(StartupPolicy {
        startup_policy_order: "Sometimes".to_string(),
    });
    assert_eq!(
        schema_rejection(js).errors[0].to_string(),
        "spec.startupPolicy.startupPolicyOrder: Unsupported value: \"Sometimes\": supported values: \"AnyOrder\", \
         \"InOrder\""
    );
    let old = stored(base(vec![rjob("rj", 1)]));
    let mut new = old.clone();
    new.spec.startup_policy.as_mut().unwrap().startup_policy_order = "InOrder".to_string();
    assert_eq!(
        update_rejection(&old, new).errors[0].to_string(),
        "spec.startupPolicy: Invalid value: \"object\": Value is immutable"
    );
}

#[test]
fn s7_network_is_immutable_but_removing_it_is_not_rejected() {
    let old = stored(base(vec![rjob("rj", 1)]));
    let mut new = old.clone();
    new.spec.network = Some(Network {
        enable_dns_hostnames: Some(false),
        ..old.spec.network.clone().unwrap()
    });
    assert_eq!(
        update_rejection(&old, new).errors[0].to_string(),
        "spec.network: Invalid value: \"object\": Value is immutable"
    );
    let mut new = old.clone();
    new.spec.network = None;
    admit_update(&old, &mut new, &FeatureGates::default()).expect("removal is not checked");
}

#[test]
fn s8_depends_on_and_startup_policy_in_order_cannot_be_set_together() {
    let mut b = rjob("b", 1);
    b.depends_on = Some(vec![depends("a", "Ready")]);
    let mut js = base(vec![rjob("a", 1), b]);
    js.spec.startup_policy = Some(StartupPolicy {
        startup_policy_order: "InOrder".to_string(),
    });
    assert_eq!(
        schema_rejection(js).message,
        "JobSet.jobset.x-k8s.io \"js\" is invalid: spec: Invalid value: \"object\": StartupPolicy and DependsOn APIs \
         are mutually exclusive"
    );
}

#[test]
fn s8_depends_on_with_any_order_startup_policy_is_accepted() {
    let mut b = rjob("b", 1);
    b.depends_on = Some(vec![depends("a", "Ready")]);
    let mut js = base(vec![rjob("a", 1), b]);
    js.spec.startup_policy = Some(StartupPolicy {
        startup_policy_order: "AnyOrder".to_string(),
    });
    admitted(js);
}

#[test]
fn s9_coordinator_replicated_job_is_required() {
    let mut js = base(vec![indexed_rjob("rj", 1, 1, 1)]);
    js.spec.coordinator = Some(Coordinator::default());
    assert_eq!(
        schema_rejection(js).errors[0].to_string(),
        "spec.coordinator.replicatedJob: Required value"
    );
}

#[test]
fn s10_ttl_seconds_after_finished_has_minimum_zero() {
    let mut js = base(vec![rjob("rj", 1)]);
    js.spec.ttl_seconds_after_finished = Some(-5);
    assert_eq!(
        schema_rejection(js).errors[0].to_string(),
        "spec.ttlSecondsAfterFinished: Invalid value: -5: spec.ttlSecondsAfterFinished in body should be greater than \
         or equal to 0"
    );
    let mut js = base(vec![rjob("rj", 1)]);
    js.spec.ttl_seconds_after_finished = Some(0);
    admitted(js);
}

fn vcp_base(policies: Vec<crate::api::VolumeClaimPolicy>) -> JobSet {
    let mut rj = rjob("rj", 1);
    for p in &policies {
        for t in &p.templates {
            mount(&mut rj, &t.metadata.name);
        }
    }
    let mut js = base(vec![rj]);
    js.spec.volume_claim_policies = policies;
    js
}

#[test]
fn s11_volume_claim_policies_template_with_namespace_should_be_rejected() {
    let mut p = vcp(&["v"], None);
    p.templates[0].metadata.namespace = "invalid-namespace".to_string();
    assert_eq!(
        schema_rejection(vcp_base(vec![p])).message,
        "JobSet.jobset.x-k8s.io \"js\" is invalid: spec.volumeClaimPolicies[0]: Invalid value: \"object\": namespace \
         cannot be set for VolumeClaimPolicies templates"
    );
}

#[test]
fn s11_volume_claim_policies_exceeding_max_items_50_should_be_rejected() {
    let policies: Vec<_> = (0..51).map(|i| vcp(&[&format!("v{i}")], None)).collect();
    let r = schema_rejection(vcp_base(policies));
    assert_eq!(
        r.errors[0].to_string(),
        "spec.volumeClaimPolicies: Too many: 51: must have at most 50 items"
    );
}

#[test]
fn s11_volume_claim_policies_templates_exceeding_max_items_50_should_be_rejected() {
    let names: Vec<String> = (0..51).map(|i| format!("v{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let r = schema_rejection(vcp_base(vec![vcp(&refs, None)]));
    assert_eq!(
        r.errors[0].to_string(),
        "spec.volumeClaimPolicies[0].templates: Too many: 51: must have at most 50 items"
    );
}

#[test]
fn s11_when_deleted_is_an_enum() {
    let r = schema_rejection(vcp_base(vec![vcp(&["v"], Some("Keep"))]));
    assert_eq!(
        r.errors[0].to_string(),
        "spec.volumeClaimPolicies[0].retentionPolicy.whenDeleted: Unsupported value: \"Keep\": supported values: \
         \"Delete\", \"Retain\""
    );
}

#[test]
fn s11_volume_claim_policies_must_be_immutable() {
    let old = stored(vcp_base(vec![vcp(&["v"], Some("Delete"))]));
    let mut new = old.clone();
    new.spec.volume_claim_policies[0]
        .retention_policy
        .as_mut()
        .unwrap()
        .when_deleted = Some("Retain".to_string());
    assert_eq!(
        update_rejection(&old, new).errors[0].to_string(),
        "spec.volumeClaimPolicies: Invalid value: \"array\": Value is immutable"
    );
}

#[test]
fn s11_adding_volume_claim_policies_on_update_is_not_rejected_by_cel() {
    let old = stored(base(vec![rjob("rj", 1)]));
    let mut new = old.clone();
    new.spec.volume_claim_policies = vec![vcp(&["v"], None)];
    let errs = crate::admission::schema::validate(&new, Some(&old));
    assert!(errs.is_empty(), "{errs:?}");
}

#[test]
fn s12_template_structure_is_checked_by_the_manifest_parser() {
    let docs = parse_yaml_documents(
        "apiVersion: jobset.x-k8s.io/v1alpha2\nkind: JobSet\nmetadata: {name: js}\nspec:\n  replicatedJobs:\n  - \
         name: rj\n    template:\n      spec:\n        template:\n          spec: {}\n",
    )
    .unwrap();
    let mut d = Diags::default();
    JobSet::parse(&docs[0], &mut d);
    assert!(
        d.errors.iter().any(|e| e.path.ends_with("spec.containers")),
        "{:?}",
        d.errors
    );
}

#[test]
fn s13_status_conditions_and_job_restarts_follow_the_schema() {
    let mut status = crate::api::JobSetStatus::default();
    assert!(validate_status(&status).is_empty());
    let mut good = condition("RestartingJobSet", "True");
    good.reason = "FailurePolicy_failurePolicyRule0".to_string();
    status.conditions.push(good);
    assert!(validate_status(&status).is_empty());
    let mut bad = condition("Completed", "Maybe");
    bad.reason = "FailurePolicy_rule-1".to_string();
    status.conditions.push(bad);
    status.conditions.push(condition("Completed", "True"));
    status.replicated_jobs_status.push(ReplicatedJobStatus {
        name: "rj".to_string(),
        job_restarts: vec![0; 1025],
        ..Default::default()
    });
    let e = strings(&validate_status(&status));
    assert_eq!(
        e,
        vec![
            "status.conditions[1].status: Unsupported value: \"Maybe\": supported values: \"True\", \"False\", \
             \"Unknown\"",
            "status.conditions[1].reason: Invalid value: \"FailurePolicy_rule-1\": status.conditions[1].reason in \
             body should match '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$'",
            "status.replicatedJobsStatus[0].jobRestarts: Too many: 1025: must have at most 1024 items",
            "status.conditions[2]: Duplicate value: {\"type\":\"Completed\"}",
        ]
    );
}

#[test]
fn s13_condition_type_pattern_allows_a_domain_prefix() {
    let mut status = crate::api::JobSetStatus::default();
    status.conditions.push(condition("example.com/Ready", "True"));
    assert!(validate_status(&status).is_empty());
    status.conditions[0].type_ = "Bad Type".to_string();
    assert_has(
        &strings(&validate_status(&status)),
        "status.conditions[0].type in body should match",
    );
}

#[test]
fn blocking_schema_errors_skip_the_cel_rules() {
    // An enum error and a CEL violation: the CEL rule is replaced by the "not checked" note.
    let mut b = rjob("b", 1);
    b.depends_on = Some(vec![depends("a", "Ready")]);
    let mut js = base(vec![rjob("a", 1), b]);
    js.spec.startup_policy = Some(StartupPolicy {
        startup_policy_order: "InOrder".to_string(),
    });
    js.spec.failure_policy = Some(FailurePolicy {
        restart_strategy: Some("Foo".to_string()),
        ..Default::default()
    });
    let e = strings(&schema_rejection(js).errors);
    assert_eq!(e.len(), 2);
    assert_has(&e, "Unsupported value: \"Foo\"");
    assert_eq!(e[1], CEL_NOTE);
    // A minimum violation does not block CEL.
    let mut b = rjob("b", 1);
    b.depends_on = Some(vec![depends("a", "Ready")]);
    let mut js = base(vec![rjob("a", -1), b]);
    js.spec.startup_policy = Some(StartupPolicy {
        startup_policy_order: "InOrder".to_string(),
    });
    let e = strings(&schema_rejection(js).errors);
    assert_eq!(e.len(), 2);
    assert_has(&e, "StartupPolicy and DependsOn APIs are mutually exclusive");
}

#[test]
fn schema_errors_stop_before_the_webhook() {
    // Negative replicas plus a webhook-level problem: only the schema error is reported.
    let mut js = base(vec![rjob("rj", -1)]);
    js.spec.managed_by = Some("bad".to_string());
    let r = schema_rejection(js);
    assert_eq!(r.errors.len(), 1);
}

#[test]
fn metadata_name_must_be_a_dns_subdomain() {
    let mut js = base(vec![]);
    js.metadata.name = "Bad_Name".to_string();
    let r = schema_rejection(js);
    assert!(
        r.errors[0]
            .to_string()
            .starts_with("metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of"),
        "{}",
        r.message
    );
}

#[test]
fn metadata_name_or_generate_name_is_required() {
    let mut js = base(vec![]);
    js.metadata.name.clear();
    let r = schema_rejection(js.clone());
    assert_eq!(
        r.errors[0].to_string(),
        "metadata.name: Required value: name or generateName is required"
    );
    js.metadata.generate_name = "gen-".to_string();
    admitted(js);
}
