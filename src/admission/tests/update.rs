//! `ValidateUpdate` (U1–U8): upstream's `TestValidateUpdate` catalogue (spec §6.2) and one test
//! per rule. Like upstream, these call the webhook directly.

use super::*;
use crate::api::Toleration;

fn elastic() -> FeatureGates {
    FeatureGates {
        elastic_jobset: true,
        ..Default::default()
    }
}

fn off() -> FeatureGates {
    FeatureGates::default()
}

fn suspended(mut js: JobSet, s: bool) -> JobSet {
    js.spec.suspend = Some(s);
    js
}

fn elastic_js(par: i32, comp: i32) -> JobSet {
    jobset("js", vec![indexed_rjob("rj", 1, par, comp)])
}

const IMMUTABLE_PREFIX: &str = "spec.replicatedJobs: Invalid value: [";
const IMMUTABLE_SUFFIX: &str = "]: field is immutable";

#[track_caller]
fn assert_only_immutable(errs: &[String]) {
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].starts_with(IMMUTABLE_PREFIX) && errs[0].ends_with(IMMUTABLE_SUFFIX),
        "{}",
        errs[0]
    );
}

fn annotate(js: &mut JobSet) {
    js.spec.replicated_jobs[0]
        .template
        .spec
        .template
        .metadata
        .annotations
        .insert("key".to_string(), "value".to_string());
}

fn gate(js: &mut JobSet) {
    js.spec.replicated_jobs[0]
        .template
        .spec
        .template
        .spec
        .scheduling_gates
        .push(json!({"name": "example.com/gate"}));
}

// ---------------------------------------------------------------- §6.2 catalogue

#[test]
fn managed_by_is_immutable() {
    let mut old = jobset("js", vec![rjob("rj", 1)]);
    old.spec.managed_by = Some("example.com/old".to_string());
    let mut new = old.clone();
    new.spec.managed_by = Some("example.com/new".to_string());
    assert_eq!(
        update_errors(&old, &new, off()),
        vec!["spec.managedBy: Invalid value: \"example.com/new\": field is immutable"]
    );
}

#[test]
fn replicated_job_pod_template_cannot_be_updated_for_running_jobset() {
    let old = jobset("js", vec![rjob("rj", 1)]);
    let mut new = old.clone();
    annotate(&mut new);
    assert_only_immutable(&update_errors(&old, &new, off()));
}

#[test]
fn scheduling_gates_for_pod_template_cannot_be_updated_for_unsuspended_jobset() {
    let old = suspended(jobset("js", vec![rjob("rj", 1)]), false);
    let mut new = old.clone();
    gate(&mut new);
    assert_only_immutable(&update_errors(&old, &new, off()));
}

#[test]
fn replicated_job_name_cannot_be_updated() {
    let old = suspended(jobset("js", vec![rjob("rj", 1)]), true);
    let mut new = old.clone();
    new.spec.replicated_jobs[0].name = "other".to_string();
    assert_only_immutable(&update_errors(&old, &new, off()));
}

#[test]
fn invalid_scaling_of_parallelism_to_less_than_1() {
    let old = elastic_js(2, 2);
    let mut new = old.clone();
    new.spec.replicated_jobs[0].template.spec.parallelism = Some(0);
    let errs = update_errors(&old, &new, elastic());
    assert_eq!(
        errs[0],
        "spec.replicatedJobs[0].template.spec.parallelism: Invalid value: 0: parallelism must be >= 1"
    );
}

#[test]
fn invalid_scaling_of_completions_to_less_than_1() {
    let old = elastic_js(2, 2);
    let mut new = old.clone();
    new.spec.replicated_jobs[0].template.spec.completions = Some(0);
    let errs = update_errors(&old, &new, elastic());
    assert_eq!(
        errs,
        vec![
            "spec.replicatedJobs[0].template.spec.completions: Invalid value: 0: completions must be >= 1",
            "spec.replicatedJobs[0].template.spec.completions: Invalid value: 0: completions must be equal to \
             parallelism for Elastic Indexed Jobs",
        ]
    );
}

const TERMINAL: &str = "spec.replicatedJobs[0].template.spec: Forbidden: Cannot mutate parallelism or completions \
                        when JobSet is in a terminal state (Completed or Failed)";

#[test]
fn cannot_scale_parallelism_if_jobset_is_completed() {
    let mut old = elastic_js(2, 2);
    old.status.conditions.push(condition("Completed", "True"));
    let mut new = old.clone();
    new.spec.replicated_jobs[0].template.spec.parallelism = Some(4);
    new.spec.replicated_jobs[0].template.spec.completions = Some(4);
    assert_eq!(update_errors(&old, &new, elastic()), vec![TERMINAL]);
}

#[test]
fn cannot_scale_completions_if_jobset_is_failed() {
    let mut old = elastic_js(2, 2);
    old.status.conditions.push(condition("Failed", "True"));
    let mut new = old.clone();
    new.spec.replicated_jobs[0].template.spec.completions = Some(4);
    assert_eq!(update_errors(&old, &new, elastic()), vec![TERMINAL]);
}

#[test]
fn immutability_still_enforced_for_other_fields_during_valid_scale() {
    let old = elastic_js(2, 2);
    let mut new = old.clone();
    let t = &mut new.spec.replicated_jobs[0];
    t.replicas = Some(2);
    t.template.spec.parallelism = Some(4);
    t.template.spec.completions = Some(4);
    assert_only_immutable(&update_errors(&old, &new, elastic()));
}

#[test]
fn invalid_scaling_of_parallelism_and_completions_when_feature_gate_is_disabled() {
    let old = elastic_js(2, 2);
    let mut new = old.clone();
    new.spec.replicated_jobs[0].template.spec.parallelism = Some(8);
    new.spec.replicated_jobs[0].template.spec.completions = Some(8);
    assert_only_immutable(&update_errors(&old, &new, off()));
}

#[test]
fn invalid_scaling_parallelism_and_completions_must_be_equal() {
    let old = elastic_js(2, 2);
    let mut new = old.clone();
    new.spec.replicated_jobs[0].template.spec.parallelism = Some(4);
    new.spec.replicated_jobs[0].template.spec.completions = Some(5);
    assert_eq!(
        update_errors(&old, &new, elastic()),
        vec![
            "spec.replicatedJobs[0].template.spec.completions: Invalid value: 5: completions must be equal to \
             parallelism for Elastic Indexed Jobs"
        ]
    );
}

#[test]
fn adding_a_new_replicated_job_while_suspended_does_not_panic_and_is_rejected() {
    let old = suspended(elastic_js(2, 2), true);
    let mut new = old.clone();
    new.spec.replicated_jobs.push(indexed_rjob("extra", 1, 1, 1));
    assert_only_immutable(&update_errors(&old, &new, elastic()));
}

#[test]
fn reordering_replicated_jobs_evaluates_elastic_jobset_scaling_correctly_by_name() {
    let mut a = rjob("a", 1);
    a.template.spec.parallelism = Some(2);
    let mut b = rjob("b", 1);
    b.template.spec.parallelism = Some(3);
    let old = jobset("js", vec![a, b]);
    let mut new = old.clone();
    new.spec.replicated_jobs.reverse();
    new.spec.replicated_jobs[0].template.spec.parallelism = Some(5);
    assert_only_immutable(&update_errors(&old, &new, elastic()));
}

#[test]
fn invalid_scaling_immutability_enforced_for_non_indexed_jobs_even_when_elastic_jobset_is_enabled() {
    let mut old = elastic_js(2, 2);
    old.spec.replicated_jobs[0].template.spec.completion_mode = Some("NonIndexed".to_string());
    let mut new = old.clone();
    new.spec.replicated_jobs[0].template.spec.parallelism = Some(4);
    new.spec.replicated_jobs[0].template.spec.completions = Some(4);
    assert_only_immutable(&update_errors(&old, &new, elastic()));
}

#[test]
fn accepted_update_controls() {
    let base = jobset("js", vec![rjob("rj", 1)]);
    // Update suspend.
    let new = suspended(base.clone(), true);
    assert!(update_errors(&base, &new, off()).is_empty());
    // Update metadata labels.
    let mut new = base.clone();
    new.metadata.labels.insert("a".to_string(), "b".to_string());
    assert!(update_errors(&base, &new, off()).is_empty());
    // Pod-template annotation change when the old object is suspended.
    let old = suspended(base.clone(), true);
    let mut new = old.clone();
    annotate(&mut new);
    assert!(update_errors(&old, &new, off()).is_empty());
    // The same change in the update that suspends it.
    let mut new = suspended(base.clone(), true);
    annotate(&mut new);
    assert!(update_errors(&base, &new, off()).is_empty());
    // A scheduling gate added while suspended.
    let mut new = old.clone();
    gate(&mut new);
    assert!(update_errors(&old, &new, off()).is_empty());
    // Valid elastic scaling 2 -> 8.
    let old = elastic_js(2, 2);
    let mut new = old.clone();
    new.spec.replicated_jobs[0].template.spec.parallelism = Some(8);
    new.spec.replicated_jobs[0].template.spec.completions = Some(8);
    assert!(update_errors(&old, &new, elastic()).is_empty());
}

// ---------------------------------------------------------------- one test per U-rule

#[test]
fn u1_terminal_check_uses_the_old_object_and_skips_unchanged_templates() {
    let mut old = elastic_js(2, 2);
    old.status.conditions.push(condition("Completed", "False"));
    let mut new = old.clone();
    new.spec.replicated_jobs[0].template.spec.parallelism = Some(3);
    new.spec.replicated_jobs[0].template.spec.completions = Some(3);
    assert!(
        update_errors(&old, &new, elastic()).is_empty(),
        "Completed=False is not terminal"
    );
    let mut old = elastic_js(2, 2);
    old.status.conditions.push(condition("Failed", "True"));
    assert!(
        update_errors(&old, &old.clone(), elastic()).is_empty(),
        "no change, no error"
    );
}

#[test]
fn u2_and_u3_only_check_the_field_that_changed() {
    let old = elastic_js(0, 2);
    let mut new = old.clone();
    new.spec.replicated_jobs[0].template.spec.completions = Some(0);
    // parallelism 0 did not change: only the completions check (and equality holds: 0 == 0).
    assert_eq!(
        update_errors(&old, &new, elastic()),
        vec!["spec.replicatedJobs[0].template.spec.completions: Invalid value: 0: completions must be >= 1"]
    );
}

#[test]
fn u4_nil_parallelism_skips_the_equality_check() {
    let mut old = elastic_js(2, 2);
    old.spec.replicated_jobs[0].template.spec.parallelism = None;
    let mut new = old.clone();
    new.spec.replicated_jobs[0].template.spec.completions = Some(7);
    assert!(update_errors(&old, &new, elastic()).is_empty());
}

#[test]
fn u5_terminal_elastic_changes_are_masked_from_the_immutability_check() {
    let mut old = elastic_js(2, 2);
    old.status.conditions.push(condition("Failed", "True"));
    let mut new = old.clone();
    new.spec.replicated_jobs[0].template.spec.parallelism = Some(4);
    new.spec.replicated_jobs[0].template.spec.completions = Some(4);
    let errs = update_errors(&old, &new, elastic());
    assert_eq!(errs, vec![TERMINAL], "U1 only, no U7");
}

#[test]
fn u6_suspended_masks_labels_node_selector_and_tolerations_but_not_other_pod_fields() {
    let old = suspended(jobset("js", vec![rjob("rj", 1)]), true);
    let mut new = old.clone();
    let pod = &mut new.spec.replicated_jobs[0].template.spec.template;
    pod.metadata.labels.insert("l".to_string(), "v".to_string());
    pod.spec.node_selector.insert("zone".to_string(), "a".to_string());
    pod.spec.tolerations.push(Toleration {
        key: "k".to_string(),
        operator: "Exists".to_string(),
        ..Default::default()
    });
    assert!(update_errors(&old, &new, off()).is_empty());
    pod_hostname(&mut new);
    assert_only_immutable(&update_errors(&old, &new, off()));
}

fn pod_hostname(js: &mut JobSet) {
    js.spec.replicated_jobs[0].template.spec.template.spec.hostname = Some("h".to_string());
}

#[test]
fn u7_replicas_have_no_exemption_and_the_bad_value_is_the_new_list() {
    let old = suspended(jobset("js", vec![rjob("rj", 1)]), true);
    let mut new = old.clone();
    new.spec.replicated_jobs[0].replicas = Some(3);
    let errs = update_errors(&old, &new, gates_all());
    assert_only_immutable(&errs);
    assert!(errs[0].contains("\"replicas\":3"), "{}", errs[0]);
}

#[test]
fn u7_semantic_equality_ignores_quantity_spelling_and_empty_depends_on() {
    let mut old = jobset("js", vec![rjob("a", 1), rjob("b", 1)]);
    old.spec.replicated_jobs[0].template.spec.template.spec.containers[0]
        .resources
        .requests
        .insert("memory".to_string(), "1Gi".to_string());
    let mut new = old.clone();
    new.spec.replicated_jobs[0].template.spec.template.spec.containers[0]
        .resources
        .requests
        .insert("memory".to_string(), "1024Mi".to_string());
    new.spec.replicated_jobs[1].depends_on = Some(vec![]);
    assert!(update_errors(&old, &new, off()).is_empty());
}

#[test]
fn u8_managed_by_set_from_nil_and_unset_are_rejected() {
    let old = jobset("js", vec![rjob("rj", 1)]);
    let mut new = old.clone();
    new.spec.managed_by = Some("new-manager".to_string());
    assert_eq!(
        update_errors(&old, &new, off()),
        vec!["spec.managedBy: Invalid value: \"new-manager\": field is immutable"]
    );
    assert_eq!(
        update_errors(&new, &old, off()),
        vec!["spec.managedBy: Invalid value: null: field is immutable"]
    );
}

#[test]
fn update_errors_are_emitted_elastic_first_then_replicated_jobs_then_managed_by() {
    let old = elastic_js(2, 2);
    let mut new = old.clone();
    new.spec.replicated_jobs[0].template.spec.parallelism = Some(0);
    new.spec.replicated_jobs[0].template.spec.completions = Some(0);
    new.spec.replicated_jobs[0].replicas = Some(5);
    new.spec.managed_by = Some("example.com/x".to_string());
    let errs = update_errors(&old, &new, elastic());
    assert_eq!(errs.len(), 4, "{errs:#?}");
    assert!(errs[0].contains("parallelism must be >= 1"));
    assert!(errs[1].contains("completions must be >= 1"));
    assert!(errs[2].starts_with(IMMUTABLE_PREFIX));
    assert!(errs[3].starts_with("spec.managedBy"));
}
