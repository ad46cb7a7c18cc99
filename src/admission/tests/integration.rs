//! Upstream's envtest integration catalogue (spec §6.3): the whole pipeline, real CRD + webhook.
//! `ElasticJobSet` is off unless a test turns it on.

use super::schema::{admitted, base, stored};
use super::*;
use crate::admission::errors::Layer;
use crate::admission::{Rejection, admit_create, admit_update};
use crate::api::{Coordinator, StartupPolicy};

fn update(old: &JobSet, mut new: JobSet, gates: FeatureGates) -> Result<JobSet, Rejection> {
    admit_update(old, &mut new, &gates).map(|()| new)
}

#[track_caller]
fn webhook_rejection(r: Result<JobSet, Rejection>) -> Rejection {
    let r = r.expect_err("rejected");
    assert_eq!(r.layer, Layer::Webhook, "{}", r.message);
    assert!(
        r.message
            .starts_with("admission webhook \"vjobset.kb.io\" denied the request: ")
    );
    r
}

#[track_caller]
fn schema_rejection(r: Result<JobSet, Rejection>) -> Rejection {
    let r = r.expect_err("rejected");
    assert_eq!(r.layer, Layer::Schema, "{}", r.message);
    r
}

fn create(mut js: JobSet, gates: FeatureGates) -> Result<JobSet, Rejection> {
    admit_create(&mut js, &gates, &no_pvc).map(|()| js)
}

fn off() -> FeatureGates {
    FeatureGates::default()
}

#[test]
fn validate_jobset_should_fail_on_node_selectors_update() {
    let old = stored(base(vec![rjob("rj", 1)]));
    let mut new = old.clone();
    new.spec.replicated_jobs[0]
        .template
        .spec
        .template
        .spec
        .node_selector
        .insert("zone".to_string(), "a".to_string());
    let r = webhook_rejection(update(&old, new, off()));
    assert!(r.message.ends_with("]: field is immutable"), "{}", r.message);
    assert!(r.message.contains("is invalid: spec.replicatedJobs: Invalid value: [{"));
}

#[test]
fn validate_jobset_immutable_for_fields_over_than_node_selector_when_jobset_is_not_suspended() {
    let old = stored(base(vec![rjob("rj", 1)]));
    let mut new = old.clone();
    let pod = &mut new.spec.replicated_jobs[0].template.spec.template.spec;
    pod.hostname = Some("new-host".to_string());
    pod.subdomain = Some("new-sub".to_string());
    webhook_rejection(update(&old, new, off()));
}

#[test]
fn success_policy_with_invalid_replicated_job_name_is_rejected() {
    let mut js = base(vec![rjob("rj", 1)]);
    js.spec.success_policy = Some(SuccessPolicy {
        operator: "All".to_string(),
        target_replicated_jobs: vec!["does-not-exist".to_string()],
    });
    let r = webhook_rejection(create(js, off()));
    assert_eq!(
        r.message,
        "admission webhook \"vjobset.kb.io\" denied the request: JobSet.jobset.x-k8s.io \"js\" is invalid: <nil>: \
         Internal error: invalid replicatedJob name 'does-not-exist' does not appear in .spec.ReplicatedJobs"
    );
}

#[test]
fn negative_replicated_job_replicas_are_rejected() {
    let r = schema_rejection(create(base(vec![rjob("rj", -1)]), off()));
    assert!(
        r.message
            .contains("spec.replicatedJobs[0].replicas in body should be greater than or equal to 0")
    );
}

#[test]
fn success_policy_should_be_immutable() {
    let old = stored(base(vec![rjob("a", 1), rjob("b", 1)]));
    let mut new = old.clone();
    new.spec.success_policy.as_mut().unwrap().target_replicated_jobs = vec!["b".to_string()];
    let r = schema_rejection(update(&old, new, off()));
    assert!(
        r.message
            .contains("spec.successPolicy: Invalid value: \"object\": Value is immutable")
    );
}

#[test]
fn failure_policy_should_be_immutable() {
    let mut js = base(vec![rjob("rj", 1)]);
    js.spec.failure_policy = Some(FailurePolicy {
        max_restarts: Some(3),
        ..Default::default()
    });
    let old = stored(js);
    let mut new = old.clone();
    new.spec.failure_policy.as_mut().unwrap().max_restarts = Some(21);
    schema_rejection(update(&old, new, off()));
}

#[test]
fn validate_jobset_immutable_for_managed_by_field() {
    let mut js = base(vec![rjob("rj", 1)]);
    js.spec.suspend = Some(true);
    let old = stored(js);
    let mut new = old.clone();
    new.spec.managed_by = Some("new-manager".to_string());
    let r = webhook_rejection(update(&old, new, off()));
    assert!(
        r.message
            .ends_with("spec.managedBy: Invalid value: \"new-manager\": field is immutable")
    );
}

#[test]
fn updating_pod_template_in_running_jobset_is_not_allowed() {
    let old = stored(base(vec![rjob("rj", 1)]));
    let mut new = old.clone();
    new.spec.replicated_jobs[0]
        .template
        .spec
        .template
        .metadata
        .annotations
        .insert("a".to_string(), "b".to_string());
    webhook_rejection(update(&old, new, off()));
}

fn two_with_depends(status: &str) -> JobSet {
    let mut b = rjob("rjob-2", 1);
    b.depends_on = Some(vec![depends("rjob-1", status)]);
    base(vec![rjob("rjob-1", 1), b])
}

#[test]
fn depends_on_and_startup_policy_in_order_cant_be_set_together() {
    let mut js = two_with_depends("Ready");
    js.spec.startup_policy = Some(StartupPolicy {
        startup_policy_order: "InOrder".to_string(),
    });
    let r = schema_rejection(create(js, off()));
    assert!(
        r.message
            .contains("StartupPolicy and DependsOn APIs are mutually exclusive")
    );
}

#[test]
fn depends_on_cant_be_set_for_the_first_replicated_job() {
    let mut js = base(vec![rjob("rjob-1", 1), rjob("rjob-2", 1)]);
    js.spec.replicated_jobs[0].depends_on = Some(vec![depends("rjob-1", "Ready")]);
    let r = webhook_rejection(create(js, off()));
    assert!(
        r.message
            .ends_with("<nil>: Internal error: DependsOn can't be set for the first ReplicatedJob")
    );
}

#[test]
fn depends_on_list_must_contain_valid_replicated_job_status() {
    let r = schema_rejection(create(two_with_depends("Failed"), off()));
    assert!(
        r.message
            .contains("Unsupported value: \"Failed\": supported values: \"Ready\", \"Complete\"")
    );
}

#[test]
fn depends_on_must_be_immutable() {
    let old = stored(two_with_depends("Ready"));
    let mut new = old.clone();
    new.spec.replicated_jobs[1].depends_on = Some(vec![depends("rjob-1", "Complete")]);
    let r = schema_rejection(update(&old, new, off()));
    assert!(
        r.message
            .contains("spec.replicatedJobs[1].dependsOn: Invalid value: \"array\": Value is immutable")
    );
}

#[test]
fn spec_that_will_lead_to_invalid_coordinator_label_value_long_jobset_name_should_be_rejected() {
    let mut js = base(vec![rjob("rjob", 1)]);
    js.metadata.name = "a".repeat(60);
    js.spec.coordinator = Some(Coordinator {
        replicated_job: "rjob".to_string(),
        ..Default::default()
    });
    let r = webhook_rejection(create(js, off()));
    let e = strings(&r.errors);
    assert_has(
        &e,
        "job for coordinator pod must be indexed completion mode, and completions number must be set",
    );
    assert_has(&e, "spec will lead to invalid label value");
    assert_has(&e, "job names generated for this JobSet will exceed 63 characters");
}

#[test]
fn volume_claim_policies_must_be_immutable() {
    let mut rj = rjob("rj", 1);
    mount(&mut rj, "v");
    let mut js = base(vec![rj]);
    js.spec.volume_claim_policies = vec![vcp(&["v"], Some("Delete"))];
    let old = stored(js);
    let mut new = old.clone();
    new.spec.volume_claim_policies[0]
        .retention_policy
        .as_mut()
        .unwrap()
        .when_deleted = Some("Retain".to_string());
    schema_rejection(update(&old, new, off()));
}

#[test]
fn volume_claim_policies_template_with_namespace_should_be_rejected() {
    let mut rj = rjob("rj", 1);
    mount(&mut rj, "v");
    let mut js = base(vec![rj]);
    let mut p = vcp(&["v"], None);
    p.templates[0].metadata.namespace = "invalid-namespace".to_string();
    js.spec.volume_claim_policies = vec![p];
    let r = schema_rejection(create(js, off()));
    assert!(
        r.message
            .contains("namespace cannot be set for VolumeClaimPolicies templates")
    );
}

#[test]
fn volume_claim_policies_exceeding_max_items_50_should_be_rejected() {
    let mut js = base(vec![rjob("rj", 1)]);
    js.spec.volume_claim_policies = (0..51).map(|i| vcp(&[&format!("v{i}")], None)).collect();
    let r = schema_rejection(create(js, off()));
    assert!(
        r.message
            .contains("spec.volumeClaimPolicies: Too many: 51: must have at most 50 items")
    );
}

#[test]
fn volume_claim_policies_templates_exceeding_max_items_50_should_be_rejected() {
    let mut js = base(vec![rjob("rj", 1)]);
    let names: Vec<String> = (0..51).map(|i| format!("v{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    js.spec.volume_claim_policies = vec![vcp(&refs, None)];
    let r = schema_rejection(create(js, off()));
    assert!(
        r.message
            .contains("spec.volumeClaimPolicies[0].templates: Too many: 51: must have at most 50 items")
    );
}

fn elastic_stored(par: i32, comp: i32, mode: &str) -> JobSet {
    let mut rj = indexed_rjob("rj", 1, par, comp);
    rj.template.spec.completion_mode = Some(mode.to_string());
    stored(base(vec![rj]))
}

fn scaled(old: &JobSet, par: i32, comp: i32) -> JobSet {
    let mut new = old.clone();
    new.spec.replicated_jobs[0].template.spec.parallelism = Some(par);
    new.spec.replicated_jobs[0].template.spec.completions = Some(comp);
    new
}

fn elastic_on() -> FeatureGates {
    FeatureGates {
        elastic_jobset: true,
        ..Default::default()
    }
}

#[test]
fn validate_updating_parallelism_and_completions_fails_when_values_are_not_equal() {
    let old = elastic_stored(2, 2, "Indexed");
    let r = webhook_rejection(update(&old, scaled(&old, 4, 5), elastic_on()));
    assert!(
        r.message
            .contains("completions must be equal to parallelism for Elastic Indexed Jobs")
    );
}

#[test]
fn validate_updating_parallelism_and_completions_fails_for_non_indexed_jobs() {
    let old = elastic_stored(2, 2, "NonIndexed");
    let r = webhook_rejection(update(&old, scaled(&old, 4, 4), elastic_on()));
    assert!(r.message.contains("field is immutable"));
}

#[test]
fn validate_updating_parallelism_and_completions_fails_when_scaling_to_less_than_1() {
    let old = elastic_stored(2, 2, "Indexed");
    let r = webhook_rejection(update(&old, scaled(&old, 0, 0), elastic_on()));
    assert!(r.message.contains("parallelism must be >= 1"));
}

#[test]
fn validate_updating_parallelism_and_completions_fails_when_elastic_jobset_is_disabled() {
    let old = elastic_stored(2, 2, "Indexed");
    let r = webhook_rejection(update(&old, scaled(&old, 4, 4), off()));
    assert!(r.message.contains("field is immutable"));
}

// ---------------------------------------------------------------- accepted controls

#[test]
fn completion_mode_defaulted_to_indexed_and_explicit_non_indexed_kept() {
    let mut non = rjob("b", 1);
    non.template.spec.completion_mode = Some("NonIndexed".to_string());
    let js = admitted(base(vec![rjob("a", 1), non]));
    assert_eq!(
        js.spec.replicated_jobs[0].template.spec.completion_mode.as_deref(),
        Some("Indexed")
    );
    assert_eq!(
        js.spec.replicated_jobs[1].template.spec.completion_mode.as_deref(),
        Some("NonIndexed")
    );
}

#[test]
fn network_and_restart_policy_and_success_policy_are_defaulted() {
    let js = admitted(base(vec![rjob("a", 1)]));
    let n = js.spec.network.as_ref().unwrap();
    assert_eq!(
        (n.enable_dns_hostnames, n.publish_not_ready_addresses),
        (Some(true), Some(true))
    );
    assert_eq!(
        js.spec.replicated_jobs[0]
            .template
            .spec
            .template
            .spec
            .restart_policy
            .as_deref(),
        Some("OnFailure")
    );
    let sp = js.spec.success_policy.as_ref().unwrap();
    assert_eq!((sp.operator.as_str(), sp.target_replicated_jobs.len()), ("All", 0));
}

#[test]
fn node_selector_update_while_suspended_is_accepted() {
    let mut js = base(vec![rjob("rj", 1)]);
    js.spec.suspend = Some(true);
    let old = stored(js);
    let mut new = old.clone();
    new.spec.replicated_jobs[0]
        .template
        .spec
        .template
        .spec
        .node_selector
        .insert("zone".to_string(), "a".to_string());
    update(&old, new, off()).expect("accepted");
}

#[test]
fn replicas_zero_is_accepted() {
    admitted(base(vec![rjob("rj", 0)]));
}

#[test]
fn suspend_and_resume_are_accepted() {
    let old = stored(base(vec![rjob("rj", 1)]));
    let suspended = update(
        &old,
        JobSet {
            spec: crate::api::JobSetSpec {
                suspend: Some(true),
                ..old.spec.clone()
            },
            ..old.clone()
        },
        off(),
    )
    .expect("suspend");
    let mut resumed = suspended.clone();
    resumed.spec.suspend = Some(false);
    update(&suspended, resumed, off()).expect("resume");
}

#[test]
fn failure_policy_empty_gets_restart_strategy_recreate() {
    let mut js = base(vec![rjob("rj", 1)]);
    js.spec.failure_policy = Some(FailurePolicy::default());
    let js = admitted(js);
    assert_eq!(
        js.spec.failure_policy.unwrap().restart_strategy.as_deref(),
        Some("Recreate")
    );
}

#[test]
fn pod_template_annotation_and_scheduling_gate_update_while_suspended_is_accepted() {
    let mut js = base(vec![rjob("rj", 1)]);
    js.spec.suspend = Some(true);
    let old = stored(js);
    let mut new = old.clone();
    let pod = &mut new.spec.replicated_jobs[0].template.spec.template;
    pod.metadata.annotations.insert("a".to_string(), "b".to_string());
    pod.spec.scheduling_gates.push(json!({"name": "g"}));
    update(&old, new, off()).expect("accepted");
}

#[test]
fn depends_on_with_any_order_startup_policy_is_accepted() {
    let mut js = two_with_depends("Complete");
    js.spec.startup_policy = Some(StartupPolicy {
        startup_policy_order: "AnyOrder".to_string(),
    });
    admitted(js);
}

#[test]
fn jobset_with_no_replicated_jobs_is_accepted() {
    admitted(base(vec![]));
}

#[test]
fn volume_claim_policy_retention_defaulted_to_delete() {
    let mut rj = rjob("rj", 1);
    mount(&mut rj, "v");
    let mut js = base(vec![rj]);
    js.spec.volume_claim_policies = vec![vcp(&["v"], None)];
    let js = admitted(js);
    assert_eq!(
        js.spec.volume_claim_policies[0]
            .retention_policy
            .as_ref()
            .unwrap()
            .when_deleted
            .as_deref(),
        Some("Delete")
    );
}

#[test]
fn elastic_scaling_2_to_4_with_the_gate_on_is_accepted() {
    let old = elastic_stored(2, 2, "Indexed");
    update(&old, scaled(&old, 4, 4), elastic_on()).expect("accepted");
}

#[test]
fn update_ignores_status_in_the_request() {
    let mut old = stored(base(vec![rjob("rj", 1)]));
    old.status.restarts = 2;
    let mut new = old.clone();
    new.status.restarts = 9;
    let new = update(&old, new, off()).unwrap();
    assert_eq!(new.status.restarts, 2);
}
