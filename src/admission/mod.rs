//! TEMPORARY stand-in for the admission layer (replaced by the full webhook port).
use crate::api::JobSet;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeatureGates {
    pub restart_job: bool,
    pub in_place_restart: bool,
    pub elastic_jobset: bool,
}

#[derive(Debug, Clone)]
pub struct Rejection {
    pub message: String,
}

pub fn admit_create(
    js: &mut JobSet,
    _gates: &FeatureGates,
    _existing_pvc: &dyn Fn(&str, &str) -> Option<serde_json::Value>,
) -> Result<(), Rejection> {
    for rj in &mut js.spec.replicated_jobs {
        rj.replicas.get_or_insert(1);
        rj.group_name.get_or_insert_with(|| "default".into());
        rj.template.spec.completion_mode.get_or_insert_with(|| "Indexed".into());
        rj.template
            .spec
            .template
            .spec
            .restart_policy
            .get_or_insert_with(|| "OnFailure".into());
    }
    js.spec.success_policy.get_or_insert_with(|| crate::api::SuccessPolicy {
        operator: "All".into(),
        target_replicated_jobs: vec![],
    });
    js.spec.startup_policy.get_or_insert_with(|| crate::api::StartupPolicy {
        startup_policy_order: "AnyOrder".into(),
    });
    let n = js.spec.network.get_or_insert_with(Default::default);
    n.enable_dns_hostnames.get_or_insert(true);
    n.publish_not_ready_addresses.get_or_insert(true);
    if let Some(fp) = &mut js.spec.failure_policy {
        fp.restart_strategy.get_or_insert_with(|| "Recreate".into());
        for (i, r) in fp.rules.iter_mut().enumerate() {
            if r.name.is_empty() {
                r.name = format!("failurePolicyRule{i}");
            }
        }
    }
    Ok(())
}

pub fn admit_update(_old: &JobSet, _new: &mut JobSet, _gates: &FeatureGates) -> Result<(), Rejection> {
    Ok(())
}
