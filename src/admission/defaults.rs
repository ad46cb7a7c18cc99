//! Defaulting: the CRD's structural defaults (D1–D4, every write) and the mutating webhook
//! `mjobset.kb.io` `Default()` (D5–D11, CREATE only).

use crate::api::{FailurePolicy, JobSet, Network, RetentionPolicy, StartupPolicy, SuccessPolicy};

/// `failurePolicy.rules[i].name` default format (`failurePolicyRule%v`).
pub fn default_rule_name(i: usize) -> String {
    format!("failurePolicyRule{i}")
}

/// D1–D4: OpenAPI `default:` values, applied by the apiserver only where the key is absent.
pub fn apply_crd_defaults(js: &mut JobSet) {
    for rj in &mut js.spec.replicated_jobs {
        // D1
        if rj.replicas.is_none() {
            rj.replicas = Some(1);
        }
        // D2
        if rj.group_name.is_none() {
            rj.group_name = Some("default".to_string());
        }
    }
    // D3
    if let Some(FailurePolicy {
        restart_strategy: rs @ None,
        ..
    }) = js.spec.failure_policy.as_mut()
    {
        *rs = Some("Recreate".to_string());
    }
    // D4
    for vcp in &mut js.spec.volume_claim_policies {
        if let Some(RetentionPolicy {
            when_deleted: wd @ None,
        }) = vcp.retention_policy.as_mut()
        {
            *wd = Some("Delete".to_string());
        }
    }
}

/// D5–D11: the mutating webhook's `Default()`, in upstream's order.
pub fn apply_webhook_defaults(js: &mut JobSet) {
    let spec = &mut js.spec;
    // D5
    if spec.success_policy.is_none() {
        spec.success_policy = Some(SuccessPolicy {
            operator: "All".to_string(),
            target_replicated_jobs: Vec::new(),
        });
    }
    // D6
    if spec.startup_policy.is_none() {
        spec.startup_policy = Some(StartupPolicy {
            startup_policy_order: "AnyOrder".to_string(),
        });
    }
    for rj in &mut spec.replicated_jobs {
        // D7
        if rj.template.spec.completion_mode.is_none() {
            rj.template.spec.completion_mode = Some("Indexed".to_string());
        }
        // D8
        let rp = &mut rj.template.spec.template.spec.restart_policy;
        if rp.as_deref().is_none_or(str::is_empty) {
            *rp = Some("OnFailure".to_string());
        }
    }
    // D9
    let net = spec.network.get_or_insert_with(Network::default);
    if net.enable_dns_hostnames.is_none() {
        net.enable_dns_hostnames = Some(true);
    }
    if net.publish_not_ready_addresses.is_none() {
        net.publish_not_ready_addresses = Some(true);
    }
    // D10
    if let Some(fp) = spec.failure_policy.as_mut() {
        for (i, rule) in fp.rules.iter_mut().enumerate() {
            if rule.name.is_empty() {
                rule.name = default_rule_name(i);
            }
        }
    }
    // D11
    for vcp in &mut spec.volume_claim_policies {
        if vcp.retention_policy.is_none() {
            vcp.retention_policy = Some(RetentionPolicy {
                when_deleted: Some("Delete".to_string()),
            });
        }
    }
}
