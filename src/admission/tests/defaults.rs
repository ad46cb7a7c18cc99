//! D1–D11, including upstream's `TestJobSetDefaulting` cases.

use super::*;
use crate::admission::defaults::{apply_crd_defaults, apply_webhook_defaults};
use crate::admission::{admit_create, admit_update};
use crate::api::{Network, StartupPolicy};

fn defaulted(mut js: JobSet) -> JobSet {
    apply_webhook_defaults(&mut js);
    js
}

fn bare(rjs: Vec<ReplicatedJob>) -> JobSet {
    let mut js = jobset("js", rjs);
    js.spec.success_policy = None;
    js
}

#[test]
fn d1_crd_defaults_replicas_to_one_only_when_absent() {
    let mut a = rjob("a", 0);
    a.replicas = None;
    let b = rjob("b", 0);
    let mut js = bare(vec![a, b]);
    apply_crd_defaults(&mut js);
    assert_eq!(js.spec.replicated_jobs[0].replicas, Some(1));
    assert_eq!(js.spec.replicated_jobs[1].replicas, Some(0), "explicit 0 is kept");
}

#[test]
fn d2_crd_defaults_group_name_only_when_absent() {
    let mut a = rjob("a", 1);
    a.group_name = None;
    let mut b = rjob("b", 1);
    b.group_name = Some(String::new());
    let mut js = bare(vec![a, b]);
    apply_crd_defaults(&mut js);
    assert_eq!(js.spec.replicated_jobs[0].group_name.as_deref(), Some("default"));
    assert_eq!(js.spec.replicated_jobs[1].group_name.as_deref(), Some(""));
}

#[test]
fn d3_failure_policy_gets_restart_strategy_recreate() {
    let mut js = bare(vec![]);
    js.spec.failure_policy = Some(FailurePolicy::default());
    apply_crd_defaults(&mut js);
    assert_eq!(
        js.spec.failure_policy.unwrap().restart_strategy.as_deref(),
        Some("Recreate")
    );
    let mut js = bare(vec![]);
    apply_crd_defaults(&mut js);
    assert!(
        js.spec.failure_policy.is_none(),
        "failurePolicy itself is not defaulted"
    );
}

#[test]
fn d4_retention_policy_present_gets_when_deleted_delete() {
    let mut js = bare(vec![]);
    let mut p = vcp(&["v"], None);
    p.retention_policy = Some(RetentionPolicy::default());
    js.spec.volume_claim_policies = vec![p];
    apply_crd_defaults(&mut js);
    assert_eq!(
        js.spec.volume_claim_policies[0].retention_policy,
        Some(RetentionPolicy {
            when_deleted: Some("Delete".to_string())
        })
    );
}

#[test]
fn success_policy_unset_defaults_to_all_with_no_targets() {
    let js = defaulted(bare(vec![rjob("rj", 1)]));
    assert_eq!(
        js.spec.success_policy,
        Some(SuccessPolicy {
            operator: "All".to_string(),
            target_replicated_jobs: vec![]
        })
    );
}

#[test]
fn success_policy_operator_set_replicated_job_names_unset_is_kept() {
    let mut js = bare(vec![rjob("rj", 1)]);
    js.spec.success_policy = Some(SuccessPolicy {
        operator: "Any".to_string(),
        target_replicated_jobs: vec![],
    });
    assert_eq!(defaulted(js).spec.success_policy.unwrap().operator, "Any");
}

#[test]
fn startup_policy_defaults_to_any_order_and_in_order_is_kept() {
    let js = defaulted(bare(vec![]));
    assert_eq!(js.spec.startup_policy.unwrap().startup_policy_order, "AnyOrder");
    let mut js = bare(vec![]);
    js.spec.startup_policy = Some(StartupPolicy {
        startup_policy_order: "InOrder".to_string(),
    });
    assert_eq!(
        defaulted(js).spec.startup_policy.unwrap().startup_policy_order,
        "InOrder"
    );
}

#[test]
fn job_completion_mode_is_unset_defaults_to_indexed() {
    let js = defaulted(bare(vec![rjob("rj", 1)]));
    assert_eq!(
        js.spec.replicated_jobs[0].template.spec.completion_mode.as_deref(),
        Some("Indexed")
    );
}

#[test]
fn job_completion_mode_is_set_to_non_indexed_is_kept() {
    let mut rj = rjob("rj", 1);
    rj.template.spec.completion_mode = Some("NonIndexed".to_string());
    let js = defaulted(bare(vec![rj]));
    assert_eq!(
        js.spec.replicated_jobs[0].template.spec.completion_mode.as_deref(),
        Some("NonIndexed")
    );
}

#[test]
fn pod_restart_policy_unset_defaults_to_on_failure_and_set_is_kept() {
    let mut always = rjob("b", 1);
    always.template.spec.template.spec.restart_policy = Some("Always".to_string());
    let js = defaulted(bare(vec![rjob("a", 1), always]));
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
    assert_eq!(
        js.spec.replicated_jobs[1]
            .template
            .spec
            .template
            .spec
            .restart_policy
            .as_deref(),
        Some("Always")
    );
}

#[test]
fn enable_dns_hostnames_is_unset_defaults_network_to_true_true() {
    let js = defaulted(bare(vec![]));
    assert_eq!(
        js.spec.network,
        Some(Network {
            enable_dns_hostnames: Some(true),
            subdomain: None,
            publish_not_ready_addresses: Some(true),
        })
    );
}

#[test]
fn enable_dns_hostnames_is_false_is_kept_and_publish_not_ready_addresses_defaulted() {
    let mut js = bare(vec![]);
    js.spec.network = Some(Network {
        enable_dns_hostnames: Some(false),
        ..Default::default()
    });
    let n = defaulted(js).spec.network.unwrap();
    assert_eq!(
        (n.enable_dns_hostnames, n.publish_not_ready_addresses),
        (Some(false), Some(true))
    );
}

#[test]
fn publish_not_ready_network_addresses_false_and_true_are_kept() {
    for v in [false, true] {
        let mut js = bare(vec![]);
        js.spec.network = Some(Network {
            publish_not_ready_addresses: Some(v),
            ..Default::default()
        });
        let n = defaulted(js).spec.network.unwrap();
        assert_eq!(
            (n.enable_dns_hostnames, n.publish_not_ready_addresses),
            (Some(true), Some(v))
        );
    }
}

#[test]
fn failure_policy_rule_names_are_defaulted_by_index() {
    let mut js = bare(vec![]);
    js.spec.failure_policy = failure_policy(vec![
        rule("", "FailJobSet"),
        rule("named", "FailJobSet"),
        rule("", "RestartJobSet"),
    ]);
    let names: Vec<String> = defaulted(js)
        .spec
        .failure_policy
        .unwrap()
        .rules
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["failurePolicyRule0", "named", "failurePolicyRule2"]);
}

#[test]
fn volume_claim_policy_retention_is_defaulted_to_delete() {
    let mut js = bare(vec![]);
    js.spec.volume_claim_policies = vec![vcp(&["v"], None), vcp(&["w"], Some("Retain"))];
    let js = defaulted(js);
    let wd: Vec<Option<String>> = js
        .spec
        .volume_claim_policies
        .iter()
        .map(|p| p.retention_policy.as_ref().unwrap().when_deleted.clone())
        .collect();
    assert_eq!(wd, [Some("Delete".to_string()), Some("Retain".to_string())]);
}

#[test]
fn managed_by_is_left_nil_and_preserved_when_provided() {
    assert!(defaulted(bare(vec![])).spec.managed_by.is_none());
    let mut js = bare(vec![]);
    js.spec.managed_by = Some("other-controller".to_string());
    assert_eq!(defaulted(js).spec.managed_by.as_deref(), Some("other-controller"));
}

#[test]
fn subdomain_suspend_ttl_coordinator_and_failure_policy_are_not_defaulted() {
    let js = defaulted(bare(vec![rjob("rj", 1)]));
    assert!(js.spec.network.unwrap().subdomain.is_none());
    assert!(js.spec.suspend.is_none());
    assert!(js.spec.ttl_seconds_after_finished.is_none());
    assert!(js.spec.coordinator.is_none());
    assert!(js.spec.failure_policy.is_none());
}

#[test]
fn admit_create_applies_crd_and_webhook_defaults() {
    let mut js = parse_js(
        "apiVersion: jobset.x-k8s.io/v1alpha2\nkind: JobSet\nmetadata: {name: js}\nspec:\n  failurePolicy:\n    \
         rules: [{action: FailJobSet}]\n  replicatedJobs:\n  - name: rj\n    template:\n      spec:\n        \
         template:\n          spec:\n            containers: [{name: c, image: busybox}]\n",
    );
    admit_create(&mut js, &FeatureGates::default(), &no_pvc).expect("admitted");
    let rj = &js.spec.replicated_jobs[0];
    assert_eq!((rj.replicas, rj.group_name.as_deref()), (Some(1), Some("default")));
    assert_eq!(rj.template.spec.completion_mode.as_deref(), Some("Indexed"));
    let fp = js.spec.failure_policy.as_ref().unwrap();
    assert_eq!(fp.restart_strategy.as_deref(), Some("Recreate"));
    assert_eq!(fp.rules[0].name, "failurePolicyRule0");
    assert_eq!(js.spec.success_policy.as_ref().unwrap().operator, "All");
}

#[test]
fn defaulting_on_update_is_crd_only() {
    let mut old = bare(vec![rjob("rj", 1)]);
    admit_create(&mut old, &FeatureGates::default(), &no_pvc).unwrap();
    let mut new = old.clone();
    new.spec.replicated_jobs[0].replicas = None;
    new.spec.success_policy = None;
    new.spec.startup_policy = None;
    admit_update(&old, &mut new, &FeatureGates::default()).expect("removing CEL-immutable objects is allowed");
    assert_eq!(new.spec.replicated_jobs[0].replicas, Some(1), "D1 ran");
    assert!(new.spec.success_policy.is_none(), "D5 did not run");
    assert!(new.spec.startup_policy.is_none(), "D6 did not run");
}
