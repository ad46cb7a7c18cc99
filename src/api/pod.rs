//! batch/v1 JobTemplateSpec and core/v1 PodTemplateSpec: the modelled subset,
//! with every other valid Kubernetes field kept verbatim.

use super::meta::ObjectMeta;
use super::probe::{Probe, container_ready_after};
use crate::input::{Diags, Obj, describe};
use crate::units::{Quantity, parse_quantity};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// JobSpec fields that are valid but not simulated.
pub const JOB_SPEC_KEPT: &[&str] = &["selector", "manualSelector"];
/// PodTemplateSpec keys besides metadata/spec: none.
/// PodSpec fields that are valid Kubernetes (1.36) but not simulated.
pub const POD_SPEC_KEPT: &[&str] = &[
    "volumes",
    "ephemeralContainers",
    "activeDeadlineSeconds",
    "dnsPolicy",
    "serviceAccountName",
    "serviceAccount",
    "automountServiceAccountToken",
    "nodeName",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "shareProcessNamespace",
    "securityContext",
    "imagePullSecrets",
    "schedulerName",
    "hostAliases",
    "dnsConfig",
    "readinessGates",
    "runtimeClassName",
    "enableServiceLinks",
    "overhead",
    "topologySpreadConstraints",
    "setHostnameAsFQDN",
    "os",
    "hostUsers",
    "resourceClaims",
    "resources",
    "hostnameOverride",
    "schedulingGroup",
    "workloadRef",
];
/// Container fields that are valid but not simulated.
pub const CONTAINER_KEPT: &[&str] = &[
    "image",
    "command",
    "args",
    "workingDir",
    "ports",
    "envFrom",
    "env",
    "resizePolicy",
    "restartPolicyRules",
    "volumeDevices",
    "livenessProbe",
    "lifecycle",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "imagePullPolicy",
    "securityContext",
    "stdin",
    "stdinOnce",
    "tty",
];

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JobTemplateSpec {
    #[serde(skip_serializing_if = "meta_is_empty")]
    pub metadata: ObjectMeta,
    pub spec: JobSpec,
}

fn meta_is_empty(m: &ObjectMeta) -> bool {
    *m == ObjectMeta::default()
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completions: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_limit: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_limit_per_index: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_failed_indexes: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_failure_policy: Option<PodFailurePolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_replacement_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_policy: Option<JobSuccessPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
    pub template: PodTemplateSpec,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl JobSpec {
    pub fn is_indexed(&self) -> bool {
        self.completion_mode.as_deref() == Some("Indexed")
    }
    /// `parallelism` as the Job API defaults it (1).
    pub fn parallelism_or_default(&self) -> i32 {
        self.parallelism.unwrap_or(1)
    }
    /// `completions` as the Job API defaults it: 1 when both are unset.
    pub fn completions_defaulted(&self) -> Option<i32> {
        match (self.completions, self.parallelism) {
            (Some(c), _) => Some(c),
            (None, None) => Some(1),
            (None, Some(_)) => None,
        }
    }
    /// `backoffLimit` as the Job API defaults it.
    pub fn backoff_limit_or_default(&self) -> i32 {
        self.backoff_limit.unwrap_or(if self.backoff_limit_per_index.is_some() {
            i32::MAX
        } else {
            6
        })
    }
    /// Effective pod replacement policy (Kubernetes defaulting).
    pub fn replacement_policy_failed(&self) -> bool {
        match self.pod_replacement_policy.as_deref() {
            Some(p) => p == "Failed",
            None => self.pod_failure_policy.is_some(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PodFailurePolicy {
    pub rules: Vec<PodFailurePolicyRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodFailurePolicyRule {
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_exit_codes: Option<OnExitCodes>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub on_pod_conditions: Vec<OnPodCondition>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OnExitCodes {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    pub operator: String,
    pub values: Vec<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OnPodCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JobSuccessPolicy {
    pub rules: Vec<JobSuccessPolicyRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSuccessPolicyRule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub succeeded_indexes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub succeeded_count: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PodTemplateSpec {
    #[serde(skip_serializing_if = "meta_is_empty")]
    pub metadata: ObjectMeta,
    pub spec: PodSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<Container>,
    pub containers: Vec<Container>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preemption_policy: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scheduling_gates: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subdomain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<i64>,
    /// Parsed `affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`.
    #[serde(skip)]
    pub required_node_terms: Option<Vec<NodeSelectorTerm>>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl PodSpec {
    /// Names of pod volumes (for admission checks).
    pub fn volume_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(Value::Array(vols)) = self.extra.get("volumes") {
            for v in vols {
                if let Some(n) = v.get("name").and_then(Value::as_str) {
                    out.push(n.to_string());
                }
            }
        }
        out
    }

    /// The pod's effective resource requests, as the scheduler computes them:
    /// When the pod becomes Ready, in ms after its containers started, as its probes decide:
    /// the latest of its app containers and sidecars (0 without probes; see `probe.rs`).
    #[inline(always)]
    pub fn probes_ready_after(&self) -> crate::units::Millis {
        // A container without probes is ready at start (as `container_ready_after` finds):
        // the common case, answered without the call. (Plain loops, always inlined: inside the
        // kubelet's inlined pod start LLVM left the function, then its iterator adapters, out of line.)
        let ready_after = |c: &Container| match (&c.readiness_probe, &c.startup_probe) {
            (None, None) => 0,
            (r, s) => container_ready_after(r.as_ref(), s.as_ref()),
        };
        let mut latest = 0;
        for c in &self.containers {
            latest = latest.max(ready_after(c));
        }
        for c in &self.init_containers {
            if c.restart_policy.as_deref() == Some("Always") {
                latest = latest.max(ready_after(c)); // a sidecar
            }
        }
        latest
    }

    /// max(sum over app containers + sidecars, max over init containers).
    /// A limit without a request counts as the request.
    pub fn effective_requests(&self) -> BTreeMap<String, i128> {
        let mut apps: BTreeMap<String, i128> = BTreeMap::new();
        for c in &self.containers {
            for (k, v) in c.requests() {
                *apps.entry(k).or_default() += v;
            }
        }
        let mut sidecars: BTreeMap<String, i128> = BTreeMap::new();
        let mut init_max: BTreeMap<String, i128> = BTreeMap::new();
        for c in &self.init_containers {
            let is_sidecar = c.restart_policy.as_deref() == Some("Always");
            for (k, v) in c.requests() {
                if is_sidecar {
                    *sidecars.entry(k).or_default() += v;
                } else {
                    let with_sidecars = v + sidecars.get(&k).copied().unwrap_or(0);
                    let e = init_max.entry(k).or_default();
                    *e = (*e).max(with_sidecars);
                }
            }
        }
        for (k, v) in sidecars {
            *apps.entry(k).or_default() += v;
        }
        for (k, v) in init_max {
            let e = apps.entry(k).or_default();
            *e = (*e).max(v);
        }
        apps
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    #[serde(skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
    /// Readiness and startup probes: their timing decides when the container is ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<Probe>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_probe: Option<Probe>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Container {
    pub fn volume_mount_names(&self) -> Vec<String> {
        self.volume_mounts
            .iter()
            .filter_map(|v| v.get("name").and_then(Value::as_str).map(String::from))
            .collect()
    }
    /// Requests in milli-units, with limits filling missing requests.
    pub fn requests(&self) -> BTreeMap<String, i128> {
        let mut out: BTreeMap<String, i128> = BTreeMap::new();
        for (k, v) in &self.resources.limits {
            if let Ok(q) = parse_quantity(v) {
                out.insert(k.clone(), q.milli());
            }
        }
        for (k, v) in &self.resources.requests {
            if let Ok(q) = parse_quantity(v) {
                out.insert(k.clone(), q.milli());
            }
        }
        out
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Resources {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, String>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Resources {
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty() && self.limits.is_empty() && self.extra.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Toleration {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub operator: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub effect: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toleration_seconds: Option<i64>,
}

impl Toleration {
    /// Whether this toleration tolerates a taint (Kubernetes matching rules).
    pub fn tolerates(&self, key: &str, value: &str, effect: &str) -> bool {
        if !self.effect.is_empty() && self.effect != effect {
            return false;
        }
        if self.key.is_empty() {
            return self.operator == "Exists";
        }
        if self.key != key {
            return false;
        }
        match self.operator.as_str() {
            "Exists" => true,
            _ => self.value == value,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeSelectorTerm {
    pub match_expressions: Vec<NodeSelectorRequirement>,
    pub match_fields: Vec<NodeSelectorRequirement>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeSelectorRequirement {
    pub key: String,
    pub operator: String,
    pub values: Vec<String>,
}

impl NodeSelectorRequirement {
    /// Evaluates the requirement against a label value (`None`: label absent).
    pub fn matches(&self, value: Option<&str>) -> bool {
        match self.operator.as_str() {
            "In" => value.is_some_and(|v| self.values.iter().any(|x| x == v)),
            "NotIn" => value.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            "Gt" | "Lt" => {
                let (Some(v), Some(bound)) = (
                    value.and_then(|v| v.parse::<i64>().ok()),
                    self.values.first().and_then(|b| b.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.operator == "Gt" { v > bound } else { v < bound }
            }
            _ => false,
        }
    }
}

// ---------------------------------------------------------------- parsing

impl JobTemplateSpec {
    pub fn parse(o: Obj<'_>, d: &mut Diags) -> JobTemplateSpec {
        let mut o = o;
        let metadata = ObjectMeta::parse(o.obj("metadata", d), d);
        let spec = match o.obj("spec", d) {
            Some(s) => JobSpec::parse(s, d),
            None => {
                if !o.has("spec") {
                    d.error(o.at("spec"), "required field is missing");
                }
                JobSpec::default()
            }
        };
        o.finish(d, &[]);
        JobTemplateSpec { metadata, spec }
    }
}

impl JobSpec {
    pub fn parse(mut o: Obj<'_>, d: &mut Diags) -> JobSpec {
        let mut s = JobSpec {
            parallelism: o.i32("parallelism", d),
            completions: o.i32("completions", d),
            completion_mode: o.str("completionMode", d),
            backoff_limit: o.i32("backoffLimit", d),
            backoff_limit_per_index: o.i32("backoffLimitPerIndex", d),
            max_failed_indexes: o.i32("maxFailedIndexes", d),
            active_deadline_seconds: o.i64("activeDeadlineSeconds", d),
            pod_failure_policy: o.obj("podFailurePolicy", d).map(|p| PodFailurePolicy::parse(p, d)),
            pod_replacement_policy: o.str("podReplacementPolicy", d),
            success_policy: o.obj("successPolicy", d).map(|p| JobSuccessPolicy::parse(p, d)),
            suspend: o.bool("suspend", d),
            ttl_seconds_after_finished: o.i32("ttlSecondsAfterFinished", d),
            managed_by: o.str("managedBy", d),
            template: PodTemplateSpec::default(),
            extra: BTreeMap::new(),
        };
        match o.obj("template", d) {
            Some(t) => s.template = PodTemplateSpec::parse(t, d),
            None => {
                if !o.has("template") {
                    d.error(o.at("template"), "required field is missing");
                }
            }
        }
        check_enum(
            &o.at("completionMode"),
            s.completion_mode.as_deref(),
            &["Indexed", "NonIndexed"],
            d,
        );
        check_enum(
            &o.at("podReplacementPolicy"),
            s.pod_replacement_policy.as_deref(),
            &["TerminatingOrFailed", "Failed"],
            d,
        );
        s.extra = o.finish(d, JOB_SPEC_KEPT);
        s
    }
}

/// Reports a value outside an enum, naming the allowed values.
pub fn check_enum(path: &str, v: Option<&str>, allowed: &[&str], d: &mut Diags) {
    if let Some(v) = v
        && !allowed.contains(&v)
    {
        let quoted: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
        d.error(
            path,
            format!("Unsupported value: \"{v}\": supported values: {}", quoted.join(", ")),
        );
    }
}

impl PodFailurePolicy {
    fn parse(mut o: Obj<'_>, d: &mut Diags) -> PodFailurePolicy {
        let mut rules = Vec::new();
        for (p, v) in o.list("rules", d) {
            let Some(mut r) = Obj::new(p, v, d) else {
                continue;
            };
            let action = r.req_str("action", d).unwrap_or_default();
            check_enum(
                &r.at("action"),
                Some(&action),
                &["FailJob", "FailIndex", "Ignore", "Count"],
                d,
            );
            let on_exit_codes = r.obj("onExitCodes", d).map(|mut e| {
                let oc = OnExitCodes {
                    container_name: e.str("containerName", d),
                    operator: e.req_str("operator", d).unwrap_or_default(),
                    values: e
                        .list("values", d)
                        .into_iter()
                        .filter_map(|(p, v)| crate::input::value_i64(&p, v, d).map(|n| n as i32))
                        .collect(),
                };
                check_enum(&e.at("operator"), Some(&oc.operator), &["In", "NotIn"], d);
                e.finish(d, &[]);
                oc
            });
            let mut on_pod_conditions = Vec::new();
            for (p, v) in r.list("onPodConditions", d) {
                let Some(mut c) = Obj::new(p, v, d) else {
                    continue;
                };
                on_pod_conditions.push(OnPodCondition {
                    type_: c.req_str("type", d).unwrap_or_default(),
                    status: c.str("status", d).unwrap_or_else(|| "True".into()),
                });
                c.finish(d, &[]);
            }
            r.finish(d, &[]);
            rules.push(PodFailurePolicyRule {
                action,
                on_exit_codes,
                on_pod_conditions,
            });
        }
        o.finish(d, &[]);
        PodFailurePolicy { rules }
    }
}

impl JobSuccessPolicy {
    fn parse(mut o: Obj<'_>, d: &mut Diags) -> JobSuccessPolicy {
        let mut rules = Vec::new();
        for (p, v) in o.list("rules", d) {
            let Some(mut r) = Obj::new(p, v, d) else {
                continue;
            };
            rules.push(JobSuccessPolicyRule {
                succeeded_indexes: r.str("succeededIndexes", d),
                succeeded_count: r.i32("succeededCount", d),
            });
            r.finish(d, &[]);
        }
        o.finish(d, &[]);
        JobSuccessPolicy { rules }
    }
}

impl PodTemplateSpec {
    pub fn parse(mut o: Obj<'_>, d: &mut Diags) -> PodTemplateSpec {
        let metadata = ObjectMeta::parse(o.obj("metadata", d), d);
        let spec = match o.obj("spec", d) {
            Some(s) => PodSpec::parse(s, d),
            None => {
                d.error(o.at("spec"), "required field is missing");
                PodSpec::default()
            }
        };
        o.finish(d, &[]);
        PodTemplateSpec { metadata, spec }
    }
}

impl PodSpec {
    pub fn parse(mut o: Obj<'_>, d: &mut Diags) -> PodSpec {
        let mut s = PodSpec::default();
        for (p, v) in o.list("initContainers", d) {
            if let Some(c) = Obj::new(p, v, d) {
                s.init_containers.push(Container::parse(c, d));
            }
        }
        if !o.has("containers") {
            d.error(o.at("containers"), "required field is missing");
        }
        for (p, v) in o.list("containers", d) {
            if let Some(c) = Obj::new(p, v, d) {
                s.containers.push(Container::parse(c, d));
            }
        }
        s.restart_policy = o.str("restartPolicy", d);
        check_enum(
            &o.at("restartPolicy"),
            s.restart_policy.as_deref(),
            &["Always", "OnFailure", "Never"],
            d,
        );
        s.node_selector = o.str_map("nodeSelector", d);
        if let Some(a) = o.get("affinity") {
            s.required_node_terms = parse_affinity(&o.at("affinity"), a, d);
            s.affinity = Some(a.clone());
        }
        for (p, v) in o.list("tolerations", d) {
            let Some(mut t) = Obj::new(p, v, d) else {
                continue;
            };
            let tol = Toleration {
                key: t.str("key", d).unwrap_or_default(),
                operator: t.str("operator", d).unwrap_or_default(),
                value: t.scalar_str("value", d).unwrap_or_default(),
                effect: t.str("effect", d).unwrap_or_default(),
                toleration_seconds: t.i64("tolerationSeconds", d),
            };
            check_enum(
                &t.at("operator"),
                Some(tol.operator.as_str()).filter(|o| !o.is_empty()),
                &["Exists", "Equal"],
                d,
            );
            check_enum(
                &t.at("effect"),
                Some(tol.effect.as_str()).filter(|o| !o.is_empty()),
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
                d,
            );
            t.finish(d, &[]);
            s.tolerations.push(tol);
        }
        s.priority_class_name = o.str("priorityClassName", d);
        s.priority = o.i32("priority", d);
        s.preemption_policy = o.str("preemptionPolicy", d);
        s.scheduling_gates = o
            .list("schedulingGates", d)
            .into_iter()
            .map(|(_, v)| v.clone())
            .collect();
        s.hostname = o.str("hostname", d);
        s.subdomain = o.str("subdomain", d);
        s.termination_grace_period_seconds = o.i64("terminationGracePeriodSeconds", d);
        s.extra = o.finish(d, POD_SPEC_KEPT);
        s
    }
}

/// Parses the required node-affinity terms; other affinity kinds are kept and noted.
fn parse_affinity(path: &str, v: &Value, d: &mut Diags) -> Option<Vec<NodeSelectorTerm>> {
    let mut a = Obj::new(path, v, d)?;
    let mut terms = None;
    if let Some(mut na) = a.obj("nodeAffinity", d) {
        if let Some(mut req) = na.obj("requiredDuringSchedulingIgnoredDuringExecution", d) {
            let mut list = Vec::new();
            for (p, tv) in req.list("nodeSelectorTerms", d) {
                let Some(mut t) = Obj::new(p, tv, d) else {
                    continue;
                };
                let mut term = NodeSelectorTerm::default();
                for (key, out) in [("matchExpressions", 0), ("matchFields", 1)] {
                    for (rp, rv) in t.list(key, d) {
                        let Some(mut r) = Obj::new(rp, rv, d) else {
                            continue;
                        };
                        let req = NodeSelectorRequirement {
                            key: r.req_str("key", d).unwrap_or_default(),
                            operator: r.req_str("operator", d).unwrap_or_default(),
                            values: r
                                .list("values", d)
                                .into_iter()
                                .filter_map(|(_, v)| crate::input::scalar_to_string(v))
                                .collect(),
                        };
                        check_enum(
                            &r.at("operator"),
                            Some(&req.operator),
                            &["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"],
                            d,
                        );
                        r.finish(d, &[]);
                        if out == 0 {
                            term.match_expressions.push(req)
                        } else {
                            term.match_fields.push(req)
                        }
                    }
                }
                t.finish(d, &[]);
                list.push(term);
            }
            req.finish(d, &[]);
            terms = Some(list);
        }
        na.finish(d, &["preferredDuringSchedulingIgnoredDuringExecution"]);
    }
    a.finish(d, &["podAffinity", "podAntiAffinity"]);
    terms
}

impl Container {
    pub fn parse(mut o: Obj<'_>, d: &mut Diags) -> Container {
        let name = o.req_str("name", d).unwrap_or_default();
        let mut resources = Resources::default();
        if let Some(mut r) = o.obj("resources", d) {
            for (key, slot) in [("requests", 0), ("limits", 1)] {
                let m = r.str_map(key, d);
                for (k, v) in &m {
                    if let Err(e) = parse_quantity(v) {
                        d.error(crate::input::join(&r.at(key), k), e);
                    }
                }
                if slot == 0 {
                    resources.requests = m
                } else {
                    resources.limits = m
                }
            }
            resources.extra = r.finish(d, &["claims"]);
        }
        for (k, v) in &resources.limits {
            let extended = k.contains('/') && !k.starts_with("kubernetes.io/") && !k.starts_with("requests.");
            if extended
                && let Ok(q) = parse_quantity(v)
                && q.milli() % 1000 != 0
            {
                d.error(
                    format!("{}.resources.limits.{k}", o.path),
                    format!("must be an integer, found {}", describe(&Value::String(v.clone()))),
                );
            }
        }
        let volume_mounts = o.list("volumeMounts", d).into_iter().map(|(_, v)| v.clone()).collect();
        let restart_policy = o.str("restartPolicy", d);
        let readiness_probe = o.obj("readinessProbe", d).map(|p| Probe::parse(p, false, d));
        let startup_probe = o.obj("startupProbe", d).map(|p| Probe::parse(p, true, d));
        let extra = o.finish(d, CONTAINER_KEPT);
        Container {
            name,
            resources,
            volume_mounts,
            restart_policy,
            readiness_probe,
            startup_probe,
            extra,
        }
    }
}

/// Quantity helper used by the cluster model.
pub fn quantity_milli(s: &str) -> Option<i128> {
    parse_quantity(s).ok().map(Quantity::milli)
}
