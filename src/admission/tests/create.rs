//! `ValidateCreate` (C1–C9): upstream's `TestValidateCreate` catalogue (spec §6.1), one test per
//! rule, and the accepted controls. These call the webhook directly, without defaulting.

use super::*;
use crate::admission::webhook::{GROUP_NAME_TOO_LONG, JOB_NAME_TOO_LONG, POD_NAME_TOO_LONG, SUBDOMAIN_TOO_LONG};
use crate::api::{Coordinator, Network};

fn default_gates() -> FeatureGates {
    FeatureGates::default()
}

fn with_coordinator(mut js: JobSet, rj: &str, job_index: i64, pod_index: i64) -> JobSet {
    js.spec.coordinator = Some(Coordinator {
        replicated_job: rj.to_string(),
        job_index,
        pod_index,
    });
    js
}

fn vcp_jobset(policies: Vec<crate::api::VolumeClaimPolicy>, mounted: &[&str]) -> JobSet {
    let mut rj = rjob("rj", 1);
    for m in mounted {
        mount(&mut rj, m);
    }
    let mut js = jobset("js", vec![rj]);
    js.spec.volume_claim_policies = policies;
    js
}

fn in_place_jobset(backoff: Option<i32>, replacement: Option<&str>, par: Option<i32>, comp: Option<i32>) -> JobSet {
    let mut rj = rjob("job-1", 1);
    rj.template.spec.backoff_limit = backoff;
    rj.template.spec.pod_replacement_policy = replacement.map(str::to_string);
    rj.template.spec.parallelism = par;
    rj.template.spec.completions = comp;
    let mut js = jobset("js", vec![rj]);
    js.spec.failure_policy = Some(FailurePolicy {
        restart_strategy: Some("InPlaceRestart".to_string()),
        ..Default::default()
    });
    js
}

fn in_place_gate() -> FeatureGates {
    FeatureGates {
        in_place_restart: true,
        ..Default::default()
    }
}

// ---------------------------------------------------------------- §6.1 catalogue

#[test]
fn generate_name_that_produces_overlong_child_job_names_is_rejected() {
    let mut js = jobset("", vec![rjob("worker", 1)]);
    js.metadata.generate_name = format!("{}-", "a".repeat(49));
    let errs = create_errors(&js, default_gates());
    let job = format!("{}-abcde-worker-0", "a".repeat(49));
    assert_eq!(job.len(), 64);
    assert_eq!(
        errs,
        vec![format!(
            "spec.replicatedJobs[0].name: Invalid value: \"{job}\": {JOB_NAME_TOO_LONG}"
        )]
    );
}

#[test]
fn generate_name_that_produces_overlong_pvc_names_is_rejected() {
    let mut js = vcp_jobset(vec![vcp(&["datasets"], None)], &["datasets"]);
    js.metadata.name.clear();
    js.metadata.generate_name = format!("{}-", "a".repeat(49));
    js.spec.replicated_jobs[0].name = "worker".to_string();
    let errs = create_errors(&js, default_gates());
    assert_has(&errs, JOB_NAME_TOO_LONG);
    assert_has(
        &errs,
        "spec.volumeClaimPolicies[0].template[0].name: Invalid value: \"datasets\": VolumeClaimPolicies template name \
         is too long",
    );
}

#[test]
fn number_of_pods_exceeds_the_limit() {
    let mut rj0 = rjob("rj0", MAX_I32);
    rj0.template.spec.parallelism = Some(MAX_I32);
    let mut rj1 = rjob("rj1", i32::MIN);
    rj1.template.spec.parallelism = Some(i32::MIN);
    let errs = create_errors(&jobset("js", vec![rj0, rj1]), default_gates());
    assert_has(
        &errs,
        "<nil>: Internal error: the product of replicas and parallelism must not exceed 2147483647 for replicatedJob \
         'rj0'",
    );
    assert_has(
        &errs,
        "the product of replicas and parallelism must not exceed 2147483647 for replicatedJob 'rj1'",
    );
}

#[test]
fn number_of_pods_within_the_limit_is_accepted() {
    let mut rj = rjob("rj", 1);
    rj.template.spec.parallelism = Some(MAX_I32);
    assert!(create_errors(&jobset("js", vec![rj]), default_gates()).is_empty());
}

#[test]
fn success_policy_has_non_matching_replicated_job() {
    let mut js = jobset("js", vec![rjob("rj", 1)]);
    js.spec.success_policy = Some(SuccessPolicy {
        operator: "All".to_string(),
        target_replicated_jobs: vec!["does not exist".to_string()],
    });
    assert_eq!(
        create_errors(&js, default_gates()),
        vec![
            "<nil>: Internal error: invalid replicatedJob name 'does not exist' does not appear in .spec.ReplicatedJobs"
        ]
    );
}

#[test]
fn network_has_invalid_dns_name() {
    let sub = "a".repeat(64);
    let mut js = jobset("js", vec![rjob("rj", 1)]);
    js.spec.network = Some(Network {
        subdomain: Some(sub.clone()),
        ..Default::default()
    });
    assert_eq!(
        create_errors(&js, default_gates()),
        vec![format!(
            "spec.network.subdomain: Invalid value: \"{sub}\": {SUBDOMAIN_TOO_LONG}"
        )]
    );
}

#[test]
fn jobset_name_with_invalid_character() {
    let js = jobset("js", vec![rjob("username.llama65b", 1)]);
    assert_eq!(
        create_errors(&js, default_gates()),
        vec![
            "spec.replicatedJobs[0].name: Invalid value: \"js-username.llama65b-0\": a DNS-1035 label must consist of \
             lower case alphanumeric characters or '-', start with an alphabetic character, and end with an \
             alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is \
             '[a-z]([-a-z0-9]*[a-z0-9])?')"
        ]
    );
}

#[test]
fn group_name_is_not_dns_1035_compliant() {
    let mut rj = rjob("rj", 1);
    let g = "a".repeat(64);
    rj.group_name = Some(g.clone());
    assert_eq!(
        create_errors(&jobset("js", vec![rj]), default_gates()),
        vec![format!(
            "spec.replicatedJobs[0].groupName: Invalid value: \"{g}\": {GROUP_NAME_TOO_LONG}"
        )]
    );
}

#[test]
fn jobset_name_will_result_in_job_name_being_too_long() {
    let name = "a".repeat(62);
    let errs = create_errors(&jobset(&name, vec![rjob("rj", 101)]), default_gates());
    assert_eq!(
        errs,
        vec![format!(
            "spec.replicatedJobs[0].name: Invalid value: \"{name}-rj-100\": {JOB_NAME_TOO_LONG}"
        )]
    );
}

#[test]
fn jobset_name_will_result_in_a_pod_name_being_too_long() {
    let name = "a".repeat(56);
    let errs = create_errors(&jobset(&name, vec![indexed_rjob("rj", 1, 1, 1)]), default_gates());
    // The bad value is the Job name (upstream quirk), the message is about pod names.
    assert_eq!(
        errs,
        vec![format!(
            "spec.replicatedJobs[0].name: Invalid value: \"{name}-rj-0\": {POD_NAME_TOO_LONG}"
        )]
    );
}

#[test]
fn jobset_controller_name_is_not_a_domain_prefixed_path() {
    let mut js = jobset("js", vec![indexed_rjob("rj", 1, 1, 1)]);
    js.spec.managed_by = Some("notDomainPrefixedPathControllerName".to_string());
    assert_eq!(
        create_errors(&js, default_gates()),
        vec![
            "spec.managedBy: Invalid value: \"notDomainPrefixedPathControllerName\": must be a domain-prefixed path \
             (such as \"acme.io/foo\")"
        ]
    );
}

#[test]
fn jobset_controller_name_is_too_long() {
    let mut js = jobset("js", vec![indexed_rjob("rj", 1, 1, 1)]);
    js.spec.managed_by = Some(format!("foo.bar/{}", "a".repeat(63)));
    assert_eq!(
        create_errors(&js, default_gates()),
        vec!["spec.managedBy: Too long: may not be more than 63 bytes"]
    );
}

#[test]
fn jobset_controller_name_is_set_and_valid() {
    let mut js = jobset("js", vec![indexed_rjob("rj", 1, 1, 1)]);
    js.spec.managed_by = Some("jobset.sigs.k8s.io/jobset-controller".to_string());
    assert!(create_errors(&js, default_gates()).is_empty());
}

#[test]
fn jobset_controller_name_is_unset() {
    let js = jobset("js", vec![indexed_rjob("rj", 1, 1, 1)]);
    assert!(create_errors(&js, default_gates()).is_empty());
}

#[test]
fn jobset_failure_policy_has_an_invalid_on_job_failure_reason() {
    let mut r = rule("", "FailJobSet");
    r.on_job_failure_reasons = vec!["fakeReason".to_string()];
    let mut js = jobset("js", vec![rjob("rj", 1)]);
    js.spec.failure_policy = failure_policy(vec![r]);
    let errs = create_errors(&js, default_gates());
    assert_has(
        &errs,
        "<nil>: Internal error: invalid job failure reason 'fakeReason' in failure policy is not a recognized job \
         failure reason",
    );
    assert_has(&errs, "invalid failure policy rule name of length 0");
    assert_has(&errs, "invalid failure policy rule name ''");
}

#[test]
fn jobset_failure_policy_has_an_invalid_replicated_job() {
    let mut r = rule("ruleName", "FailJobSet");
    r.target_replicated_jobs = vec!["fakeReplicatedJob".to_string()];
    let mut js = jobset("js", vec![rjob("rj", 1)]);
    js.spec.failure_policy = failure_policy(vec![r]);
    assert_eq!(
        create_errors(&js, default_gates()),
        vec![
            "<nil>: Internal error: invalid replicatedJob name 'fakeReplicatedJob' in failure policy does not appear \
             in .spec.ReplicatedJobs"
        ]
    );
}

#[test]
fn jobset_failure_policy_rule_name_is_0_characters_long_aka_unset() {
    let mut js = jobset("js", vec![rjob("rj", 1)]);
    js.spec.failure_policy = failure_policy(vec![rule("", "FailJobSet")]);
    assert_has(
        &create_errors(&js, default_gates()),
        "<nil>: Internal error: invalid failure policy rule name of length 0, the rule name must be at least 1 \
         characters long and at most 128 characters long",
    );
}

#[test]
fn jobset_failure_policy_rule_name_is_greater_than_128_characters_long() {
    let mut js = jobset("js", vec![rjob("rj", 1)]);
    js.spec.failure_policy = failure_policy(vec![rule(&"a".repeat(129), "FailJobSet")]);
    assert_eq!(
        create_errors(&js, default_gates()),
        vec![
            "<nil>: Internal error: invalid failure policy rule name of length 129, the rule name must be at least 1 \
             characters long and at most 128 characters long"
        ]
    );
}

#[test]
fn there_are_two_failure_policy_rules_with_the_same_name() {
    let mut js = jobset("js", vec![rjob("rj", 1)]);
    js.spec.failure_policy = failure_policy(vec![
        rule("repeatedRuleName", "FailJobSet"),
        rule("repeatedRuleName", "FailJobSet"),
    ]);
    assert_eq!(
        create_errors(&js, default_gates()),
        vec![
            "<nil>: Internal error: rule names are not unique, rules with indices [0 1] all have the same name \
             'repeatedRuleName'"
        ]
    );
}

#[test]
fn failure_policy_rule_name_does_not_start_with_an_alphabetic_character() {
    let mut js = jobset("js", vec![rjob("rj", 1)]);
    js.spec.failure_policy = failure_policy(vec![rule("1ruleToRuleThemAll", "FailJobSet")]);
    assert_eq!(
        create_errors(&js, default_gates()),
        vec![
            "<nil>: Internal error: invalid failure policy rule name '1ruleToRuleThemAll', a failure policy rule name \
             must start with an alphabetic character, optionally followed by a string of alphanumeric characters or \
             '_,:', and must end with an alphanumeric character or '_'"
        ]
    );
}

#[test]
fn failure_policy_rule_name_does_not_end_with_an_alphanumeric_nor_underscore() {
    let mut js = jobset("js", vec![rjob("rj", 1)]);
    js.spec.failure_policy = failure_policy(vec![rule("ruleToRuleThemAll,", "FailJobSet")]);
    assert_has(
        &create_errors(&js, default_gates()),
        "invalid failure policy rule name 'ruleToRuleThemAll,', a failure policy rule name must start",
    );
}

#[test]
fn failure_policy_rule_name_super_awesome_failure_policy_rule_is_accepted() {
    let mut js = jobset("js", vec![rjob("rj", 1)]);
    js.spec.failure_policy = failure_policy(vec![rule("superAwesomeFailurePolicyRule", "FailJobSet")]);
    assert!(create_errors(&js, default_gates()).is_empty());
}

#[test]
fn coordinator_replicated_job_does_not_exist() {
    let js = with_coordinator(jobset("js", vec![indexed_rjob("rjob", 1, 1, 1)]), "fake-rjob", 0, 0);
    assert_eq!(
        create_errors(&js, default_gates()),
        vec!["<nil>: Internal error: coordinator replicatedJob fake-rjob does not exist"]
    );
}

#[test]
fn coordinator_replicated_job_missing_completions() {
    let mut rj = rjob("rjob", 1);
    rj.template.spec.completion_mode = Some("Indexed".to_string());
    let js = with_coordinator(jobset("js", vec![rj]), "rjob", 0, 0);
    assert_eq!(
        create_errors(&js, default_gates()),
        vec![
            "<nil>: Internal error: job for coordinator pod must be indexed completion mode, and completions number \
             must be set"
        ]
    );
}

#[test]
fn coordinator_job_index_invalid() {
    let js = with_coordinator(jobset("js", vec![indexed_rjob("rjob", 2, 2, 2)]), "rjob", 2, 0);
    assert_eq!(
        create_errors(&js, default_gates()),
        vec!["<nil>: Internal error: coordinator job index 2 is invalid for replicatedJob rjob"]
    );
}

#[test]
fn coordinator_pod_index_invalid() {
    let js = with_coordinator(jobset("js", vec![indexed_rjob("rjob", 2, 2, 2)]), "rjob", 0, 2);
    assert_eq!(
        create_errors(&js, default_gates()),
        vec!["<nil>: Internal error: coordinator pod index 2 is invalid for replicatedJob rjob job index 0"]
    );
}

#[test]
fn coordinator_label_value_is_too_long_due_to_long_jobset_name() {
    let name = "a".repeat(60);
    let js = with_coordinator(jobset(&name, vec![indexed_rjob("rjob", 1, 1, 1)]), "rjob", 0, 0);
    let errs = create_errors(&js, default_gates());
    let endpoint = format!("{name}-rjob-0-0.{name}");
    assert_has(
        &errs,
        &format!(
            "<nil>: Internal error: spec will lead to invalid label value \"{endpoint}\" for coordinator label \
             \"jobset.sigs.k8s.io/coordinator\" (long JobSet / ReplicatedJob / SubDomain name?): must be no more \
             than 63 characters"
        ),
    );
}

#[test]
fn coordinator_label_value_is_too_long_due_to_long_replicated_job_name() {
    let rj = "a".repeat(60);
    let js = with_coordinator(jobset("js", vec![indexed_rjob(&rj, 1, 1, 1)]), &rj, 0, 0);
    let errs = create_errors(&js, default_gates());
    assert_has(&errs, "spec will lead to invalid label value");
    assert_has(&errs, JOB_NAME_TOO_LONG);
}

#[test]
fn coordinator_label_value_is_too_long_due_to_long_subdomain() {
    let mut js = with_coordinator(jobset("js", vec![indexed_rjob("rjob", 1, 1, 1)]), "rjob", 0, 0);
    js.spec.network = Some(Network {
        subdomain: Some("a".repeat(60)),
        ..Default::default()
    });
    assert_eq!(create_errors(&js, default_gates()).len(), 1);
    assert_has(
        &create_errors(&js, default_gates()),
        "spec will lead to invalid label value",
    );
}

fn restart_job_jobset(action: &str, replicas: i32) -> JobSet {
    let mut js = jobset("js", vec![indexed_rjob("rj", replicas, 1, 1)]);
    js.spec.failure_policy = failure_policy(vec![rule("restartJobRule", action)]);
    js
}

const RESTART_JOB_GATE_OFF: &str = "<nil>: Internal error: RestartJob and RestartJobAndIgnoreMaxRestarts failure \
                                    policy actions are not allowed when RestartJob feature gate is disabled";
const RESTART_JOB_TOO_MANY: &str = "<nil>: Internal error: JobSet cannot have a failure policy rule with RestartJob \
                                    or RestartJobAndIgnoreMaxRestarts action and a replicated job with replicas > 1024";

#[test]
fn jobset_failure_policy_rule_has_restart_job_action_and_a_replicated_job_with_replicas_over_1024() {
    let gates = FeatureGates {
        restart_job: true,
        ..Default::default()
    };
    assert_eq!(
        create_errors(&restart_job_jobset("RestartJob", 1025), gates),
        vec![RESTART_JOB_TOO_MANY]
    );
    assert!(create_errors(&restart_job_jobset("RestartJob", 1024), gates).is_empty());
}

#[test]
fn jobset_failure_policy_rule_has_restart_job_and_ignore_max_restarts_action_and_a_replicated_job_with_replicas_over_1024()
 {
    let gates = FeatureGates {
        restart_job: true,
        ..Default::default()
    };
    assert_eq!(
        create_errors(&restart_job_jobset("RestartJobAndIgnoreMaxRestarts", 1025), gates),
        vec![RESTART_JOB_TOO_MANY]
    );
}

#[test]
fn jobset_failure_policy_rule_has_restart_job_action_and_restart_job_feature_gate_is_disabled() {
    assert_eq!(
        create_errors(&restart_job_jobset("RestartJob", 1), default_gates()),
        vec![RESTART_JOB_GATE_OFF]
    );
}

#[test]
fn jobset_failure_policy_rule_has_restart_job_and_ignore_max_restarts_action_and_restart_job_feature_gate_is_disabled()
{
    assert_eq!(
        create_errors(
            &restart_job_jobset("RestartJobAndIgnoreMaxRestarts", 1),
            default_gates()
        ),
        vec![RESTART_JOB_GATE_OFF]
    );
}

fn three_jobs(deps: [Option<Vec<DependsOn>>; 3]) -> JobSet {
    let rjs = ["job-1", "job-2", "job-3"]
        .iter()
        .zip(deps)
        .map(|(n, d)| {
            let mut rj = rjob(n, 1);
            rj.depends_on = d;
            rj
        })
        .collect();
    jobset("js", rjs)
}

#[test]
fn depends_on_is_invalid_since_job_2_depends_on_job_3() {
    let js = three_jobs([None, Some(vec![depends("job-3", "Ready")]), None]);
    assert_eq!(
        create_errors(&js, default_gates()),
        vec!["<nil>: Internal error: replicatedJob: job-2 cannot depend on replicatedJob: job-3"]
    );
}

#[test]
fn depends_on_is_invalid_since_job_2_depends_on_job_3_and_job_1() {
    let js = three_jobs([
        None,
        Some(vec![depends("job-1", "Ready"), depends("job-3", "Ready")]),
        None,
    ]);
    assert_eq!(
        create_errors(&js, default_gates()),
        vec!["<nil>: Internal error: replicatedJob: job-2 cannot depend on replicatedJob: job-3"]
    );
}

#[test]
fn job_2_depends_on_invalid_replicated_job() {
    let js = three_jobs([None, Some(vec![depends("invalid", "Ready")]), None]);
    assert_eq!(
        create_errors(&js, default_gates()),
        vec!["<nil>: Internal error: replicatedJob: job-2 cannot depend on replicatedJob: invalid"]
    );
}

#[test]
fn depends_on_cannot_be_set_for_first_replicated_job() {
    let js = three_jobs([Some(vec![depends("job-2", "Ready")]), None, None]);
    let errs = create_errors(&js, default_gates());
    assert_has(
        &errs,
        "<nil>: Internal error: DependsOn can't be set for the first ReplicatedJob",
    );
}

#[test]
fn valid_depends_on_layouts_are_accepted() {
    // Siblings on job-1.
    let js = three_jobs([
        None,
        Some(vec![depends("job-1", "Ready")]),
        Some(vec![depends("job-1", "Complete")]),
    ]);
    assert!(create_errors(&js, default_gates()).is_empty());
    // A chain.
    let js = three_jobs([
        None,
        Some(vec![depends("job-1", "Complete")]),
        Some(vec![depends("job-2", "Complete")]),
    ]);
    assert!(create_errors(&js, default_gates()).is_empty());
    // job-3 on both job-1 and job-2.
    let js = three_jobs([
        None,
        None,
        Some(vec![depends("job-1", "Complete"), depends("job-2", "Ready")]),
    ]);
    assert!(create_errors(&js, default_gates()).is_empty());
}

#[test]
fn jobset_with_no_replicated_jobs_and_nothing_else_set_is_accepted() {
    assert!(create_errors(&jobset("js", vec![]), default_gates()).is_empty());
}

#[test]
fn volume_claim_policy_is_invalid_since_template_names_are_not_unique() {
    let js = vcp_jobset(
        vec![vcp(&["duplicate-volume"], None), vcp(&["duplicate-volume"], None)],
        &["duplicate-volume"],
    );
    assert_eq!(
        create_errors(&js, default_gates()),
        vec![
            "spec.volumeClaimPolicies[1].template[0].name: Invalid value: \"duplicate-volume\": names must be unique \
             for VolumeClaimPolicies template"
        ]
    );
}

#[test]
fn volume_claim_policy_is_invalid_since_template_name_has_uppercase_letters() {
    let js = vcp_jobset(vec![vcp(&["InvalidVolumeName"], None)], &["InvalidVolumeName"]);
    let errs = create_errors(&js, default_gates());
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].starts_with(
        "spec.volumeClaimPolicies[0].template[0].name: Invalid value: \"InvalidVolumeName\": a lowercase RFC 1123 \
         subdomain must consist of"
    ));
}

#[test]
fn volume_claim_policy_is_invalid_since_template_name_is_too_long() {
    let n = "a".repeat(64);
    let js = vcp_jobset(vec![vcp(&[&n], None)], &[&n]);
    assert_eq!(
        create_errors(&js, default_gates()),
        vec![format!(
            "spec.volumeClaimPolicies[0].template[0].name: Invalid value: \"{n}\": VolumeClaimPolicies template name \
             is too long"
        )]
    );
}

#[test]
fn volume_claim_policy_is_invalid_since_no_matching_volume_mount_in_containers() {
    let js = vcp_jobset(vec![vcp(&["test-volume"], None)], &[]);
    let errs = create_errors(&js, default_gates());
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with("spec.replicatedJobs: Invalid value: [{\"name\":\"rj\""),
        "{}",
        errs[0]
    );
    assert!(errs[0].ends_with(
        ": replicatedJob containers don't have a matching volumeMount: test-volume from VolumeClaimPolicies"
    ));
}

#[test]
fn volume_claim_policy_is_invalid_since_volume_name_conflicts_with_existing_volume() {
    let mut js = vcp_jobset(vec![vcp(&["test-volume"], None)], &["test-volume"]);
    js.spec.replicated_jobs[0]
        .template
        .spec
        .template
        .spec
        .extra
        .insert("volumes".to_string(), json!([{"name": "test-volume", "emptyDir": {}}]));
    assert_eq!(
        create_errors(&js, default_gates()),
        vec![
            "spec.replicatedJobs[0].template.spec.template.spec.volumes[0].name: Invalid value: \"test-volume\": \
             volume name conflicts with VolumeClaimPolicy template name: test-volume"
        ]
    );
}

#[test]
fn volume_claim_policy_is_valid_with_volume_mounted_by_a_container() {
    let js = vcp_jobset(vec![vcp(&["test-volume"], None)], &["test-volume"]);
    assert!(create_errors(&js, default_gates()).is_empty());
}

#[test]
fn volume_claim_policy_is_valid_with_volume_mounted_only_by_an_init_container_of_another_replicated_job() {
    let mut js = vcp_jobset(vec![vcp(&["test-volume"], None)], &[]);
    let mut other = rjob("other", 1);
    let mut init = container("init");
    init.volume_mounts
        .push(json!({"name": "test-volume", "mountPath": "/p"}));
    other.template.spec.template.spec.init_containers.push(init);
    js.spec.replicated_jobs.push(other);
    assert!(create_errors(&js, default_gates()).is_empty());
}

fn existing_test_volume(spec: Value) -> impl Fn(&str, &str) -> Option<Value> {
    move |ns: &str, name: &str| (ns == "default" && name == "test-volume-js").then(|| spec.clone())
}

#[test]
fn volume_claim_policy_retention_policy_must_be_retain_for_existing_pvc() {
    let js = vcp_jobset(vec![vcp(&["test-volume"], Some("Delete"))], &["test-volume"]);
    let lookup = existing_test_volume(pvc_spec("ReadWriteOnce", "1Gi"));
    let errs = strings(&webhook::validate_create(&js, &default_gates(), &lookup));
    assert_eq!(
        errs,
        vec![
            "spec.volumeClaimPolicies[0].retentionPolicy.whenDeleted: Invalid value: \"Delete\": retentionPolicy must \
             be retain when PVC exists"
        ]
    );
}

#[test]
fn volume_claim_policy_is_invalid_when_existing_pvc_does_not_match_template_spec() {
    let mut js = vcp_jobset(vec![vcp(&["test-volume"], Some("Retain"))], &["test-volume"]);
    js.spec.volume_claim_policies[0].templates[0].spec = pvc_spec("ReadWriteMany", "1Gi");
    let lookup = existing_test_volume(pvc_spec("ReadWriteOnce", "2Gi"));
    let errs = strings(&webhook::validate_create(&js, &default_gates(), &lookup));
    assert_eq!(
        errs,
        vec![
            "spec.volumeClaimPolicies[0].template[0].spec: Invalid value: \
             {\"accessModes\":[\"ReadWriteMany\"],\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}: spec does not \
             match existing PVC test-volume-js in namespace default"
        ]
    );
}

#[test]
fn volume_claim_policy_with_existing_pvc_whose_spec_matches_and_retain_is_accepted() {
    let js = vcp_jobset(vec![vcp(&["test-volume"], Some("Retain"))], &["test-volume"]);
    let lookup = existing_test_volume(pvc_spec("ReadWriteOnce", "1Gi"));
    assert!(webhook::validate_create(&js, &default_gates(), &lookup).is_empty());
}

#[test]
fn in_place_restart_restart_strategy_cannot_be_set_when_in_place_restart_feature_gate_is_disabled() {
    let js = in_place_jobset(None, None, None, None);
    assert_eq!(
        create_errors(&js, default_gates()),
        vec![
            "<nil>: Internal error: InPlaceRestart restart strategy cannot be set when InPlaceRestart feature gate is \
             disabled"
        ]
    );
}

#[test]
fn in_place_restart_enabled_backoff_limit_is_not_max_int32() {
    let js = in_place_jobset(Some(0), Some("Failed"), Some(1), Some(1));
    assert_eq!(
        create_errors(&js, in_place_gate()),
        vec![
            "spec.replicatedJobs[0].template.spec.backoffLimit: Invalid value: 0: replicatedJob job-1: must be set to \
             2147483647 (MaxInt32) when in-place restart is enabled"
        ]
    );
}

#[test]
fn in_place_restart_enabled_pod_replacement_policy_is_not_failed() {
    let js = in_place_jobset(Some(MAX_I32), Some("TerminatingOrFailed"), Some(1), Some(1));
    assert_eq!(
        create_errors(&js, in_place_gate()),
        vec![
            "spec.replicatedJobs[0].template.spec.podReplacementPolicy: Invalid value: \"TerminatingOrFailed\": \
             replicatedJob job-1: must be set to Failed when in-place restart is enabled"
        ]
    );
}

#[test]
fn in_place_restart_enabled_completions_differ_from_parallelism() {
    let js = in_place_jobset(Some(MAX_I32), Some("Failed"), Some(1), Some(2));
    assert_eq!(
        create_errors(&js, in_place_gate()),
        vec![
            "spec.replicatedJobs[0].template.spec.completions: Invalid value: 2: replicatedJob job-1: completions and \
             parallelism must be set and equal to each other when in-place restart is enabled"
        ]
    );
}

#[test]
fn in_place_restart_enabled_completions_is_nil() {
    let js = in_place_jobset(Some(MAX_I32), Some("Failed"), Some(1), None);
    assert_eq!(
        create_errors(&js, in_place_gate()),
        vec![
            "spec.replicatedJobs[0].template.spec.completions: Invalid value: null: replicatedJob job-1: completions \
             and parallelism must be set and equal to each other when in-place restart is enabled"
        ]
    );
}

#[test]
fn in_place_restart_enabled_parallelism_is_nil() {
    let js = in_place_jobset(Some(MAX_I32), Some("Failed"), None, Some(1));
    assert_has(
        &create_errors(&js, in_place_gate()),
        "completions and parallelism must be set and equal to each other when in-place restart is enabled",
    );
}

#[test]
fn in_place_restart_enabled_with_a_valid_template_is_accepted() {
    let js = in_place_jobset(Some(MAX_I32), Some("Failed"), Some(1), Some(1));
    assert!(create_errors(&js, in_place_gate()).is_empty());
}

#[test]
fn get_jobset_name_for_validation_truncates_generate_name_to_58_characters() {
    let mut js = jobset("", vec![]);
    js.metadata.generate_name = "a".repeat(60);
    let name = webhook::validation_name(&js);
    assert_eq!(name.len(), 63);
    assert!(name.starts_with(&"a".repeat(58)));
    assert_eq!(&name[58..], "abcde");
    js.metadata.generate_name.clear();
    assert_eq!(webhook::validation_name(&js), "");
}

// ---------------------------------------------------------------- one test per C-rule

#[test]
fn c1_in_place_restart_without_gate_is_a_plain_error() {
    let js = in_place_jobset(Some(MAX_I32), Some("Failed"), Some(1), Some(1));
    let errs = webhook::validate_create(&js, &default_gates(), &no_pvc);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].is_plain());
}

#[test]
fn c2_first_replicated_job_with_empty_depends_on_list_is_rejected() {
    let mut rj = rjob("a", 1);
    rj.depends_on = Some(vec![]);
    assert_eq!(
        create_errors(&jobset("js", vec![rj]), default_gates()),
        vec!["<nil>: Internal error: DependsOn can't be set for the first ReplicatedJob"]
    );
}

#[test]
fn c3a_subdomain_with_uppercase_fails_both_dns_checks() {
    let mut js = jobset("js", vec![rjob("rj", 1)]);
    js.spec.network = Some(Network {
        subdomain: Some("Example".to_string()),
        ..Default::default()
    });
    let errs = create_errors(&js, default_gates());
    assert_eq!(errs.len(), 2);
    assert!(errs[0].starts_with("spec.network.subdomain: Invalid value: \"Example\": a lowercase RFC 1123 subdomain"));
    assert!(errs[1].starts_with("spec.network.subdomain: Invalid value: \"Example\": a DNS-1035 label"));
}

#[test]
fn c3b_subdomain_with_dots_is_a_subdomain_but_not_a_dns_1035_label_and_63_is_accepted() {
    let mut js = jobset("js", vec![rjob("rj", 1)]);
    js.spec.network = Some(Network {
        subdomain: Some("a.b".to_string()),
        ..Default::default()
    });
    let errs = create_errors(&js, default_gates());
    assert_eq!(errs.len(), 1);
    assert_has(&errs, "a DNS-1035 label must consist of");
    js.spec.network.as_mut().unwrap().subdomain = Some("a".repeat(63));
    assert!(create_errors(&js, default_gates()).is_empty());
}

#[test]
fn c4a_managed_by_empty_string_is_required() {
    let mut js = jobset("js", vec![rjob("rj", 1)]);
    js.spec.managed_by = Some(String::new());
    assert_eq!(
        create_errors(&js, default_gates()),
        vec!["spec.managedBy: Required value"]
    );
}

#[test]
fn c4a_managed_by_with_bad_host_and_bad_path_reports_both() {
    let mut js = jobset("js", vec![rjob("rj", 1)]);
    js.spec.managed_by = Some("Example.com/a b".to_string());
    let errs = create_errors(&js, default_gates());
    assert_eq!(errs.len(), 2);
    assert!(errs[0].starts_with("spec.managedBy: Invalid value: \"Example.com\": a lowercase RFC 1123 subdomain"));
    assert!(errs[1].starts_with("spec.managedBy: Invalid value: \"a b\": Invalid path"));
}

#[test]
fn c5b_explicit_empty_group_name_fails_format() {
    let mut rj = rjob("rj", 1);
    rj.group_name = Some(String::new());
    let errs = create_errors(&jobset("js", vec![rj]), default_gates());
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("spec.replicatedJobs[0].groupName: Invalid value: \"\": a DNS-1035 label"));
}

#[test]
fn c5c_jobset_name_starting_with_a_digit_fails_job_name_format() {
    let errs = create_errors(&jobset("1js", vec![rjob("rj", 1)]), default_gates());
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("spec.replicatedJobs[0].name: Invalid value: \"1js-rj-0\": a DNS-1035 label"));
}

#[test]
fn c5c_zero_replicas_uses_suffix_minus_one_and_is_valid() {
    assert!(create_errors(&jobset("js", vec![rjob("rj", 0)]), default_gates()).is_empty());
}

#[test]
fn c5d_is_skipped_without_completions_or_for_non_indexed_templates() {
    let name = "a".repeat(56);
    let mut rj = rjob("rj", 1);
    rj.template.spec.completion_mode = Some("Indexed".to_string());
    assert!(create_errors(&jobset(&name, vec![rj.clone()]), default_gates()).is_empty());
    rj.template.spec.completion_mode = Some("NonIndexed".to_string());
    rj.template.spec.completions = Some(1);
    assert!(create_errors(&jobset(&name, vec![rj]), default_gates()).is_empty());
}

#[test]
fn c5e_a_non_first_replicated_job_depending_on_itself_passes() {
    let js = three_jobs([None, Some(vec![depends("job-2", "Ready")]), None]);
    assert!(create_errors(&js, default_gates()).is_empty());
}

#[test]
fn c5f_to_c5h_are_not_checked_when_the_gate_is_off() {
    let js = in_place_jobset(Some(0), None, None, None);
    assert_eq!(create_errors(&js, default_gates()).len(), 1, "only C1");
}

#[test]
fn c6_success_policy_targets_must_exist() {
    let mut js = jobset("js", vec![rjob("a", 1)]);
    js.spec.success_policy = Some(SuccessPolicy {
        operator: "Any".to_string(),
        target_replicated_jobs: vec!["a".to_string(), "b".to_string()],
    });
    assert_eq!(
        create_errors(&js, default_gates()),
        vec!["<nil>: Internal error: invalid replicatedJob name 'b' does not appear in .spec.ReplicatedJobs"]
    );
}

#[test]
fn c7a_gate_off_skips_every_other_failure_policy_check_but_not_the_rest() {
    let mut js = jobset("js", vec![rjob("rj", 2000)]);
    let mut bad = rule("1bad", "FailJobSet");
    bad.on_job_failure_reasons = vec!["nope".to_string()];
    js.spec.failure_policy = failure_policy(vec![rule("r", "RestartJob"), bad, rule("r", "FailJobSet")]);
    js.spec.success_policy.as_mut().unwrap().target_replicated_jobs = vec!["missing".to_string()];
    let errs = create_errors(&js, default_gates());
    assert_eq!(
        errs,
        vec![
            "<nil>: Internal error: invalid replicatedJob name 'missing' does not appear in .spec.ReplicatedJobs"
                .to_string(),
            RESTART_JOB_GATE_OFF.to_string(),
        ]
    );
}

#[test]
fn c7b_only_one_error_for_several_oversized_replicated_jobs() {
    let mut js = restart_job_jobset("RestartJob", 2000);
    js.spec.replicated_jobs.push(rjob("second", 3000));
    assert_eq!(create_errors(&js, gates_all()), vec![RESTART_JOB_TOO_MANY]);
}

#[test]
fn c7c_128_character_rule_name_is_accepted() {
    let mut js = jobset("js", vec![rjob("rj", 1)]);
    js.spec.failure_policy = failure_policy(vec![rule(&"a".repeat(128), "FailJobSet")]);
    assert!(create_errors(&js, default_gates()).is_empty());
}

#[test]
fn c7d_rule_name_may_contain_commas_and_colons_inside() {
    let mut js = jobset("js", vec![rjob("rj", 1)]);
    js.spec.failure_policy = failure_policy(vec![rule("a,b:c_", "FailJobSet")]);
    assert!(create_errors(&js, default_gates()).is_empty());
}

#[test]
fn c7e_and_c7f_report_each_bad_entry() {
    let mut r = rule("r", "FailJobSet");
    r.target_replicated_jobs = vec!["x".to_string(), "rj".to_string(), "y".to_string()];
    r.on_job_failure_reasons = vec!["PodFailurePolicy".to_string(), "Evicted".to_string()];
    let mut js = jobset("js", vec![rjob("rj", 1)]);
    js.spec.failure_policy = failure_policy(vec![r]);
    let errs = create_errors(&js, default_gates());
    assert_eq!(errs.len(), 3);
    assert_has(&errs, "'x' in failure policy");
    assert_has(&errs, "'y' in failure policy");
    assert_has(&errs, "invalid job failure reason 'Evicted'");
}

#[test]
fn c7g_several_duplicated_names_are_reported_in_first_index_order() {
    let mut js = jobset("js", vec![rjob("rj", 1)]);
    js.spec.failure_policy = failure_policy(vec![
        rule("zeta", "FailJobSet"),
        rule("alpha", "FailJobSet"),
        rule("zeta", "FailJobSet"),
        rule("alpha", "FailJobSet"),
        rule("zeta", "FailJobSet"),
    ]);
    assert_eq!(
        create_errors(&js, default_gates()),
        vec![
            "<nil>: Internal error: rule names are not unique, rules with indices [0 2 4] all have the same name 'zeta'",
            "<nil>: Internal error: rule names are not unique, rules with indices [1 3] all have the same name 'alpha'",
        ]
    );
}

#[test]
fn c8_reports_only_the_first_failing_coordinator_check_plus_the_label_check() {
    // Job index and pod index both invalid and the template not Indexed: only C8b, plus C8e.
    let name = "a".repeat(60);
    let js = with_coordinator(jobset(&name, vec![rjob("rjob", 1)]), "rjob", 5, 9);
    let errs = create_errors(&js, default_gates());
    assert_has(&errs, "coordinator job index 5 is invalid for replicatedJob rjob");
    assert_none_has(&errs, "indexed completion mode");
    assert_none_has(&errs, "pod index");
    assert_has(&errs, "spec will lead to invalid label value");
}

#[test]
fn c8d_negative_pod_index_is_invalid() {
    let js = with_coordinator(jobset("js", vec![indexed_rjob("rjob", 1, 1, 1)]), "rjob", 0, -1);
    assert_has(
        &create_errors(&js, default_gates()),
        "coordinator pod index -1 is invalid for replicatedJob rjob job index 0",
    );
}

#[test]
fn c8e_uses_the_generated_validation_name() {
    let mut js = with_coordinator(jobset("", vec![indexed_rjob("rjob", 1, 1, 1)]), "rjob", 0, 0);
    js.metadata.generate_name = "gen-".to_string();
    assert!(create_errors(&js, default_gates()).is_empty());
    assert_eq!(
        webhook::coordinator_endpoint(&js, &webhook::validation_name(&js)).unwrap(),
        "gen-abcde-rjob-0-0.gen-abcde"
    );
}

#[test]
fn c9d_reports_every_conflicting_volume_across_replicated_jobs() {
    let mut js = vcp_jobset(vec![vcp(&["v"], None)], &["v"]);
    let mut other = rjob("other", 1);
    other
        .template
        .spec
        .template
        .spec
        .extra
        .insert("volumes".to_string(), json!([{"name": "x"}, {"name": "v"}]));
    js.spec.replicated_jobs.push(other);
    js.spec.replicated_jobs[0]
        .template
        .spec
        .template
        .spec
        .extra
        .insert("volumes".to_string(), json!([{"name": "v"}]));
    let errs = create_errors(&js, default_gates());
    assert_eq!(
        errs,
        vec![
            "spec.replicatedJobs[0].template.spec.template.spec.volumes[0].name: Invalid value: \"v\": volume name \
             conflicts with VolumeClaimPolicy template name: v",
            "spec.replicatedJobs[1].template.spec.template.spec.volumes[1].name: Invalid value: \"v\": volume name \
             conflicts with VolumeClaimPolicy template name: v",
        ]
    );
}

#[test]
fn c9e_ephemeral_containers_do_not_count_as_mounts() {
    let mut js = vcp_jobset(vec![vcp(&["v"], None)], &[]);
    js.spec.replicated_jobs[0].template.spec.template.spec.extra.insert(
        "ephemeralContainers".to_string(),
        json!([{"name": "e", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}]),
    );
    assert_has(
        &create_errors(&js, default_gates()),
        "don't have a matching volumeMount: v",
    );
}

#[test]
fn c9g_retention_is_not_checked_when_no_pvc_exists() {
    let js = vcp_jobset(vec![vcp(&["test-volume"], Some("Delete"))], &["test-volume"]);
    assert!(create_errors(&js, default_gates()).is_empty());
}
