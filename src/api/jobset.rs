//! JobSet (jobset.x-k8s.io/v1alpha2): spec and status.

use super::constants::*;
use super::meta::{Condition, ObjectMeta};
use super::pod::JobTemplateSpec;
use crate::input::{Diags, Obj};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSet {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: JobSetSpec,
    #[serde(skip_serializing_if = "JobSetStatus::is_empty")]
    pub status: JobSetStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSetSpec {
    pub replicated_jobs: Vec<ReplicatedJob>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_policy: Option<SuccessPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_policy: Option<FailurePolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_policy: Option<StartupPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coordinator: Option<Coordinator>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<i32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volume_claim_policies: Vec<VolumeClaimPolicy>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicatedJob {
    pub name: String,
    /// `None` only before CRD defaulting (absent key); defaulted to "default".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    pub template: JobTemplateSpec,
    /// `None` only before CRD defaulting (absent key); defaulted to 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<DependsOn>>,
}

impl ReplicatedJob {
    pub fn replicas(&self) -> i32 {
        self.replicas.unwrap_or(1)
    }
    pub fn group(&self) -> &str {
        self.group_name.as_deref().unwrap_or("default")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DependsOn {
    pub name: String,
    pub status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    #[serde(rename = "enableDNSHostnames", skip_serializing_if = "Option::is_none")]
    pub enable_dns_hostnames: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subdomain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_not_ready_addresses: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SuccessPolicy {
    pub operator: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub target_replicated_jobs: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailurePolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_restarts: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_strategy: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<FailurePolicyRule>,
}

impl FailurePolicy {
    pub fn max_restarts(&self) -> i32 {
        self.max_restarts.unwrap_or(0)
    }
    pub fn strategy(&self) -> &str {
        self.restart_strategy.as_deref().unwrap_or("Recreate")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailurePolicyRule {
    pub name: String,
    pub action: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub on_job_failure_reasons: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub on_job_failure_message_patterns: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub target_replicated_jobs: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartupPolicy {
    pub startup_policy_order: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Coordinator {
    pub replicated_job: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub job_index: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub pod_index: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeClaimPolicy {
    pub templates: Vec<PvcTemplate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_policy: Option<RetentionPolicy>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PvcTemplate {
    pub metadata: ObjectMeta,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub spec: Value,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when_deleted: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSetStatus {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    pub restarts: i32,
    #[serde(skip_serializing_if = "is_zero32")]
    pub restarts_count_towards_max: i32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub terminal_state: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replicated_jobs_status: Vec<ReplicatedJobStatus>,
    /// In-place restart (§16): pods whose attempt is ≤ this restart in place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_in_place_restart_attempt: Option<i32>,
    /// In-place restart (§16): pods whose attempt equals this lift their barrier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_in_place_restart_attempt: Option<i32>,
}

fn is_zero32(n: &i32) -> bool {
    *n == 0
}

impl JobSetStatus {
    pub fn is_empty(&self) -> bool {
        *self == JobSetStatus::default()
    }
    pub fn rj_status(&self, name: &str) -> Option<&ReplicatedJobStatus> {
        self.replicated_jobs_status.iter().find(|s| s.name == name)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicatedJobStatus {
    pub name: String,
    pub ready: i32,
    pub succeeded: i32,
    pub failed: i32,
    pub active: i32,
    pub suspended: i32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub job_restarts: Vec<i32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub job_restarts_count_towards_max: Vec<i32>,
}

impl JobSet {
    pub fn namespace(&self) -> &str {
        if self.metadata.namespace.is_empty() {
            "default"
        } else {
            &self.metadata.namespace
        }
    }
    pub fn suspended(&self) -> bool {
        self.spec.suspend == Some(true)
    }
    pub fn dns_hostnames_enabled(&self) -> bool {
        self.spec
            .network
            .as_ref()
            .is_some_and(|n| n.enable_dns_hostnames == Some(true))
    }
    /// `spec.network.subdomain` if set, else the JobSet name (`GetSubdomain`).
    pub fn subdomain(&self) -> &str {
        match self.spec.network.as_ref().and_then(|n| n.subdomain.as_deref()) {
            Some(s) if !s.is_empty() => s,
            _ => &self.metadata.name,
        }
    }
    pub fn in_order(&self) -> bool {
        self.spec
            .startup_policy
            .as_ref()
            .is_some_and(|s| s.startup_policy_order == "InOrder")
    }
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("JobSet serializes")
    }

    /// Parses a `kind: JobSet` document. Unknown keys are errors; valid but
    /// unmodelled Kubernetes fields inside templates are kept and noted.
    pub fn parse(v: &Value, d: &mut Diags) -> Option<JobSet> {
        let mut o = Obj::new("", v, d)?;
        let api_version = o.str("apiVersion", d).unwrap_or_default();
        let kind = o.str("kind", d).unwrap_or_default();
        if api_version != GROUP_VERSION {
            d.error(
                "apiVersion",
                format!("expected \"{GROUP_VERSION}\", found \"{api_version}\""),
            );
        }
        let metadata = ObjectMeta::parse(o.obj("metadata", d), d);
        let spec = match o.obj("spec", d) {
            Some(s) => JobSetSpec::parse(s, d),
            None => JobSetSpec::default(),
        };
        // Status in a submitted manifest is ignored by the API server (status subresource).
        o.finish_with(d, &["status"], false);
        Some(JobSet {
            api_version,
            kind,
            metadata,
            spec,
            status: JobSetStatus::default(),
        })
    }
}

impl JobSetSpec {
    fn parse(mut o: Obj<'_>, d: &mut Diags) -> JobSetSpec {
        let mut s = JobSetSpec::default();
        for (p, v) in o.list("replicatedJobs", d) {
            if let Some(r) = Obj::new(p, v, d) {
                s.replicated_jobs.push(ReplicatedJob::parse(r, d));
            }
        }
        if let Some(mut n) = o.obj("network", d) {
            s.network = Some(Network {
                enable_dns_hostnames: n.bool("enableDNSHostnames", d),
                subdomain: n.str("subdomain", d),
                publish_not_ready_addresses: n.bool("publishNotReadyAddresses", d),
            });
            n.finish(d, &[]);
        }
        if let Some(mut sp) = o.obj("successPolicy", d) {
            let op = sp.req_str("operator", d).unwrap_or_default();
            s.success_policy = Some(SuccessPolicy {
                operator: op,
                target_replicated_jobs: sp.str_list("targetReplicatedJobs", d),
            });
            sp.finish(d, &[]);
        }
        if let Some(fp) = o.obj("failurePolicy", d) {
            s.failure_policy = Some(FailurePolicy::parse(fp, d));
        }
        if let Some(mut sp) = o.obj("startupPolicy", d) {
            let order = sp.req_str("startupPolicyOrder", d).unwrap_or_default();
            s.startup_policy = Some(StartupPolicy {
                startup_policy_order: order,
            });
            sp.finish(d, &[]);
        }
        s.suspend = o.bool("suspend", d);
        if let Some(mut c) = o.obj("coordinator", d) {
            s.coordinator = Some(Coordinator {
                replicated_job: c.req_str("replicatedJob", d).unwrap_or_default(),
                job_index: c.i64("jobIndex", d).unwrap_or(0),
                pod_index: c.i64("podIndex", d).unwrap_or(0),
            });
            c.finish(d, &[]);
        }
        s.managed_by = o.str("managedBy", d);
        s.ttl_seconds_after_finished = o.i32("ttlSecondsAfterFinished", d);
        for (p, v) in o.list("volumeClaimPolicies", d) {
            let Some(mut vp) = Obj::new(p, v, d) else {
                continue;
            };
            let mut pol = VolumeClaimPolicy::default();
            for (tp, tv) in vp.list("templates", d) {
                let Some(mut t) = Obj::new(tp, tv, d) else {
                    continue;
                };
                let metadata = ObjectMeta::parse(t.obj("metadata", d), d);
                let spec = t.get("spec").cloned().unwrap_or(Value::Null);
                t.finish(d, &["apiVersion", "kind", "status"]);
                pol.templates.push(PvcTemplate { metadata, spec });
            }
            if let Some(mut r) = vp.obj("retentionPolicy", d) {
                let wd = r.str("whenDeleted", d);
                pol.retention_policy = Some(RetentionPolicy { when_deleted: wd });
                r.finish(d, &[]);
            }
            vp.finish(d, &[]);
            s.volume_claim_policies.push(pol);
        }
        o.finish(d, &[]);
        s
    }
}

impl ReplicatedJob {
    fn parse(mut o: Obj<'_>, d: &mut Diags) -> ReplicatedJob {
        let name = o.req_str("name", d).unwrap_or_default();
        let group_name = o.str("groupName", d);
        let replicas = o.i32("replicas", d);
        let template = match o.obj("template", d) {
            Some(t) => JobTemplateSpec::parse(t, d),
            None => {
                if !o.has("template") {
                    d.error(o.at("template"), "required field is missing");
                }
                JobTemplateSpec::default()
            }
        };
        let mut depends_on = None;
        if o.has("dependsOn") {
            let mut list = Vec::new();
            for (p, v) in o.list("dependsOn", d) {
                let Some(mut dep) = Obj::new(p, v, d) else {
                    continue;
                };
                let name = dep.req_str("name", d).unwrap_or_default();
                let status = dep.req_str("status", d).unwrap_or_default();
                dep.finish(d, &[]);
                list.push(DependsOn { name, status });
            }
            depends_on = Some(list);
        }
        o.finish(d, &[]);
        ReplicatedJob {
            name,
            group_name,
            template,
            replicas,
            depends_on,
        }
    }
}

impl FailurePolicy {
    fn parse(mut o: Obj<'_>, d: &mut Diags) -> FailurePolicy {
        let mut fp = FailurePolicy {
            max_restarts: o.i32("maxRestarts", d),
            restart_strategy: o.str("restartStrategy", d),
            rules: Vec::new(),
        };
        for (p, v) in o.list("rules", d) {
            let Some(mut r) = Obj::new(p, v, d) else {
                continue;
            };
            let rule = FailurePolicyRule {
                name: r.str("name", d).unwrap_or_default(),
                action: r.req_str("action", d).unwrap_or_default(),
                on_job_failure_reasons: r.str_list("onJobFailureReasons", d),
                on_job_failure_message_patterns: r.str_list("onJobFailureMessagePatterns", d),
                target_replicated_jobs: r.str_list("targetReplicatedJobs", d),
            };
            r.finish(d, &[]);
            fp.rules.push(rule);
        }
        o.finish(d, &[]);
        fp
    }
}

/// The labels/annotations map type used throughout.
pub type Labels = BTreeMap<String, String>;
