//! Queue definitions for Kueue-style admission (`cluster.queues` and Kueue
//! `ResourceFlavor` / `ClusterQueue` / `LocalQueue` documents).
//!
//! The short scenario form `{name, nominalQuota}` is a ClusterQueue with one
//! flavor named `default` plus a LocalQueue of the same name that every
//! namespace may use; `{name, clusterQueue}` is a further LocalQueue drawing on
//! another queue's quota; `{manifest: file}` reads Kueue documents. Kueue
//! documents may also sit in a `jobsets[].manifest` file, like PriorityClasses.

use crate::input::{Diags, Obj, describe, scalar_to_string};
use crate::units::parse_quantity;
use serde_json::Value;
use std::collections::BTreeMap;

/// Kueue's two queueing strategies for a ClusterQueue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// The head of the queue blocks every later workload until it is admitted.
    #[default]
    StrictFifo,
    /// A workload that does not fit is skipped; later ones may be admitted first.
    BestEffortFifo,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::StrictFifo => "StrictFIFO",
            Strategy::BestEffortFifo => "BestEffortFIFO",
        }
    }
}

/// One flavor of a resource group with its nominal quota per resource (milli-units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlavorQuota {
    pub name: String,
    pub quota: BTreeMap<String, i128>,
}

/// A resource group: the resources it covers and its flavors, tried in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceGroup {
    pub covered: Vec<String>,
    pub flavors: Vec<FlavorQuota>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterQueue {
    pub name: String,
    pub strategy: Strategy,
    pub groups: Vec<ResourceGroup>,
    /// Where it was defined (for messages).
    pub source: String,
}

impl ClusterQueue {
    /// Nominal quota of one flavor for one resource (0 when not listed).
    pub fn nominal(&self, flavor: &str, resource: &str) -> i128 {
        self.groups
            .iter()
            .flat_map(|g| &g.flavors)
            .filter(|f| f.name == flavor)
            .filter_map(|f| f.quota.get(resource))
            .sum()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalQueue {
    pub name: String,
    /// `None`: usable from every namespace (the scenario short form).
    pub namespace: Option<String>,
    pub cluster_queue: String,
    pub source: String,
}

/// Every queue definition of a scenario. Kueue counts as installed when there is at least one queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueConfig {
    /// ResourceFlavor name → nodeLabels.
    pub flavors: BTreeMap<String, BTreeMap<String, String>>,
    pub cluster_queues: Vec<ClusterQueue>,
    pub local_queues: Vec<LocalQueue>,
}

impl QueueConfig {
    pub fn enabled(&self) -> bool {
        !self.cluster_queues.is_empty() || !self.local_queues.is_empty()
    }

    pub fn cluster_queue(&self, name: &str) -> Option<&ClusterQueue> {
        self.cluster_queues.iter().find(|c| c.name == name)
    }

    /// The LocalQueue a JobSet in `namespace` names with `queue`.
    pub fn local_queue(&self, namespace: &str, queue: &str) -> Option<&LocalQueue> {
        self.local_queues
            .iter()
            .find(|l| l.name == queue && l.namespace.as_deref().is_none_or(|n| n == namespace))
    }

    /// Cross-references: every LocalQueue's ClusterQueue and every flavor a ClusterQueue uses
    /// must exist (Kueue would report them inactive; here it is bad input). Problems as
    /// (source, message).
    pub fn check_references(&self) -> Vec<String> {
        let mut out = Vec::new();
        let cq_names: Vec<&str> = self.cluster_queues.iter().map(|c| c.name.as_str()).collect();
        for lq in &self.local_queues {
            if self.cluster_queue(&lq.cluster_queue).is_none() {
                out.push(format!(
                    "{}: LocalQueue {} names ClusterQueue \"{}\", which is not defined{}",
                    lq.source,
                    lq.name,
                    lq.cluster_queue,
                    hint(&lq.cluster_queue, cq_names.iter().copied())
                ));
            }
        }
        let has_flavor_docs = !self.flavors.is_empty();
        let flavor_names: Vec<&str> = self.flavors.keys().map(String::as_str).collect();
        for cq in &self.cluster_queues {
            for f in cq.groups.iter().flat_map(|g| &g.flavors) {
                // Short-form queues use the implicit flavor "default".
                if has_flavor_docs && f.name != "default" && !self.flavors.contains_key(&f.name) {
                    out.push(format!(
                        "{}: ClusterQueue {} uses ResourceFlavor \"{}\", which is not defined{}",
                        cq.source,
                        cq.name,
                        f.name,
                        hint(&f.name, flavor_names.iter().copied())
                    ));
                }
            }
        }
        out
    }
}

fn hint<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    match crate::input::nearest(word, known) {
        Some(s) => format!("; did you mean \"{s}\"?"),
        None => String::new(),
    }
}

/// The Kueue kinds this module reads.
pub const KUEUE_KINDS: &[&str] = &["ResourceFlavor", "ClusterQueue", "LocalQueue"];

/// Whether a document is a Kueue queue definition (by apiVersion group and kind).
pub fn is_kueue_doc(doc: &Value) -> bool {
    let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
    api.starts_with("kueue.x-k8s.io/") && KUEUE_KINDS.contains(&kind)
}

fn quantity_map(path: &str, v: &Value, d: &mut Diags) -> BTreeMap<String, i128> {
    let mut out = BTreeMap::new();
    let Some(o) = Obj::new(path, v, d) else { return out };
    for (k, v) in o.map {
        let p = crate::input::join(path, k);
        match scalar_to_string(v).map(|s| parse_quantity(&s)) {
            Some(Ok(q)) => {
                out.insert(k.clone(), q.milli());
            }
            Some(Err(e)) => d.error(p, e),
            None => d.error(p, format!("expected a quantity, found {}", describe(v))),
        }
    }
    out
}

fn parse_strategy(o: &mut Obj<'_>, d: &mut Diags) -> Strategy {
    match o.str("queueingStrategy", d).as_deref() {
        None | Some("StrictFIFO") => Strategy::StrictFifo,
        Some("BestEffortFIFO") => Strategy::BestEffortFifo,
        Some(other) => {
            d.error(
                o.at("queueingStrategy"),
                format!(
                    "Unsupported value: \"{other}\": supported values: \"BestEffortFIFO\", \"StrictFIFO\"{}",
                    hint(other, ["StrictFIFO", "BestEffortFIFO"])
                ),
            );
            Strategy::StrictFifo
        }
    }
}

/// One `cluster.queues[i]` entry in short form (`name` + `nominalQuota`, or `name` + `clusterQueue`).
pub fn parse_short_queue(p: &str, v: &Value, cfg: &mut QueueConfig, d: &mut Diags) {
    let Some(mut q) = Obj::new(p, v, d) else { return };
    let name = q.req_str("name", d).unwrap_or_default();
    let cluster_queue = q.str("clusterQueue", d);
    let quota = q
        .get("nominalQuota")
        .map(|c| quantity_map(&format!("{p}.nominalQuota"), c, d));
    let strategy = parse_strategy(&mut q, d);
    let has_strategy = q.has("queueingStrategy");
    q.finish(d, &[]);
    if !name.is_empty() && cfg.local_queues.iter().any(|l| l.name == name && l.namespace.is_none()) {
        d.error(format!("{p}.name"), format!("duplicate queue name \"{name}\""));
    }
    match (cluster_queue, quota) {
        (Some(cq), None) => {
            if has_strategy {
                d.error(
                    format!("{p}.queueingStrategy"),
                    "a queue with `clusterQueue` uses that queue's strategy; set it there",
                );
            }
            cfg.local_queues.push(LocalQueue {
                name,
                namespace: None,
                cluster_queue: cq,
                source: p.to_string(),
            });
        }
        (None, Some(quota)) => {
            if cfg.cluster_queues.iter().any(|c| c.name == name) {
                d.error(format!("{p}.name"), format!("duplicate ClusterQueue name \"{name}\""));
            }
            cfg.cluster_queues.push(ClusterQueue {
                name: name.clone(),
                strategy,
                groups: vec![ResourceGroup {
                    covered: quota.keys().cloned().collect(),
                    flavors: vec![FlavorQuota {
                        name: "default".into(),
                        quota,
                    }],
                }],
                source: p.to_string(),
            });
            cfg.local_queues.push(LocalQueue {
                name: name.clone(),
                namespace: None,
                cluster_queue: name,
                source: p.to_string(),
            });
        }
        (Some(_), Some(_)) => d.error(
            p,
            "set either `nominalQuota` (a queue of its own) or `clusterQueue`, not both",
        ),
        (None, None) => d.error(
            p,
            "expected `nominalQuota` (a queue with its own quota), `clusterQueue` (a queue sharing another's quota) \
             or `manifest` (Kueue ResourceFlavor/ClusterQueue/LocalQueue documents)",
        ),
    }
}

/// Reads one Kueue document (`is_kueue_doc` holds) into `cfg`. Problems go to `d`
/// with paths inside the document; kept-but-not-simulated fields to `d.not_simulated`.
pub fn parse_kueue_doc(source: &str, doc: &Value, cfg: &mut QueueConfig, d: &mut Diags) {
    let Some(mut o) = Obj::new("", doc, d) else { return };
    let api = o.str("apiVersion", d).unwrap_or_default();
    if api != "kueue.x-k8s.io/v1beta1" && api != "kueue.x-k8s.io/v1beta2" {
        d.error(
            "apiVersion",
            format!("unsupported apiVersion \"{api}\"; expected kueue.x-k8s.io/v1beta1 or kueue.x-k8s.io/v1beta2"),
        );
    }
    let kind = o.str("kind", d).unwrap_or_default();
    let (name, namespace) = match o.obj("metadata", d) {
        Some(mut m) => {
            let name = m.req_str("name", d).unwrap_or_default();
            let namespace = m.str("namespace", d);
            m.finish(d, &["labels", "annotations", "uid", "resourceVersion", "generation"]);
            (name, namespace)
        }
        None => {
            d.error("metadata.name", "required field is missing");
            (String::new(), None)
        }
    };
    let spec = o.obj("spec", d);
    o.finish_with(d, &["status"], false);
    let src = format!("{source} ({kind} {name})");
    match kind.as_str() {
        "ResourceFlavor" => {
            let mut labels = BTreeMap::new();
            if let Some(mut s) = spec {
                labels = s.str_map("nodeLabels", d);
                s.finish(d, &["nodeTaints", "tolerations", "topologyName"]);
            }
            if cfg.flavors.insert(name.clone(), labels).is_some() {
                d.error("metadata.name", format!("duplicate ResourceFlavor \"{name}\""));
            }
        }
        "ClusterQueue" => {
            let Some(mut s) = spec else {
                d.error("spec", "required field is missing");
                return;
            };
            let strategy = parse_strategy(&mut s, d);
            let mut groups = Vec::new();
            for (gp, gv) in s.list("resourceGroups", d) {
                let Some(mut g) = Obj::new(gp.clone(), gv, d) else {
                    continue;
                };
                let covered = g.str_list("coveredResources", d);
                let mut flavors = Vec::new();
                for (fp, fv) in g.list("flavors", d) {
                    let Some(mut f) = Obj::new(fp.clone(), fv, d) else {
                        continue;
                    };
                    let fname = f.req_str("name", d).unwrap_or_default();
                    let mut quota = BTreeMap::new();
                    for (rp, rv) in f.list("resources", d) {
                        let Some(mut r) = Obj::new(rp.clone(), rv, d) else {
                            continue;
                        };
                        let rname = r.req_str("name", d).unwrap_or_default();
                        match r.get("nominalQuota").map(|q| (scalar_to_string(q), q)) {
                            Some((Some(text), _)) => match parse_quantity(&text) {
                                Ok(q) => {
                                    if !covered.contains(&rname) {
                                        d.error(
                                            format!("{rp}.name"),
                                            format!("resource \"{rname}\" is not in coveredResources {covered:?}"),
                                        );
                                    }
                                    quota.insert(rname, q.milli());
                                }
                                Err(e) => d.error(format!("{rp}.nominalQuota"), e),
                            },
                            Some((None, q)) => d.error(
                                format!("{rp}.nominalQuota"),
                                format!("expected a quantity, found {}", describe(q)),
                            ),
                            None => d.error(format!("{rp}.nominalQuota"), "required field is missing"),
                        }
                        r.finish(d, &["borrowingLimit", "lendingLimit"]);
                    }
                    f.finish(d, &[]);
                    flavors.push(FlavorQuota { name: fname, quota });
                }
                g.finish(d, &[]);
                groups.push(ResourceGroup { covered, flavors });
            }
            s.finish(
                d,
                &[
                    "namespaceSelector",
                    "cohort",
                    "cohortName",
                    "preemption",
                    "flavorFungibility",
                    "admissionChecks",
                    "admissionChecksStrategy",
                    "stopPolicy",
                    "fairSharing",
                    "admissionScope",
                ],
            );
            if cfg.cluster_queues.iter().any(|c| c.name == name) {
                d.error("metadata.name", format!("duplicate ClusterQueue \"{name}\""));
            }
            cfg.cluster_queues.push(ClusterQueue {
                name,
                strategy,
                groups,
                source: src,
            });
        }
        "LocalQueue" => {
            let Some(mut s) = spec else {
                d.error("spec.clusterQueue", "required field is missing");
                return;
            };
            let cq = s.req_str("clusterQueue", d).unwrap_or_default();
            s.finish(d, &["stopPolicy", "fairSharing"]);
            let namespace = namespace.unwrap_or_else(|| "default".into());
            if cfg
                .local_queues
                .iter()
                .any(|l| l.name == name && l.namespace.as_deref() == Some(namespace.as_str()))
            {
                d.error("metadata.name", format!("duplicate LocalQueue \"{namespace}/{name}\""));
            }
            cfg.local_queues.push(LocalQueue {
                name,
                namespace: Some(namespace),
                cluster_queue: cq,
                source: src,
            });
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Value {
        crate::input::parse_yaml_documents(text).unwrap().remove(0)
    }

    #[test]
    fn cluster_queue_documents_load_with_flavors_and_strategy() {
        let mut cfg = QueueConfig::default();
        let mut d = Diags::default();
        let cq = doc(r#"
apiVersion: kueue.x-k8s.io/v1beta2
kind: ClusterQueue
metadata: {name: cq}
spec:
  namespaceSelector: {}
  queueingStrategy: BestEffortFIFO
  resourceGroups:
  - coveredResources: ["google.com/tpu"]
    flavors:
    - name: a
      resources: [{name: google.com/tpu, nominalQuota: "32"}]
    - name: b
      resources: [{name: google.com/tpu, nominalQuota: 16}]
"#);
        parse_kueue_doc("f.yaml#1", &cq, &mut cfg, &mut d);
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        assert_eq!(d.not_simulated, vec!["spec.namespaceSelector".to_string()]);
        let q = cfg.cluster_queue("cq").unwrap();
        assert_eq!(q.strategy, Strategy::BestEffortFifo);
        assert_eq!(q.nominal("a", "google.com/tpu"), 32_000);
        assert_eq!(q.nominal("b", "google.com/tpu"), 16_000);
        assert_eq!(q.nominal("b", "cpu"), 0);
    }

    #[test]
    fn typos_in_kueue_documents_name_the_nearest_field() {
        let mut cfg = QueueConfig::default();
        let mut d = Diags::default();
        let lq =
            doc("apiVersion: kueue.x-k8s.io/v1beta1\nkind: LocalQueue\nmetadata: {name: q}\nspec: {clusterQueu: cq}\n");
        parse_kueue_doc("f.yaml", &lq, &mut cfg, &mut d);
        let all: Vec<String> = d.errors.iter().map(|e| e.to_string()).collect();
        assert!(
            all.iter()
                .any(|e| e.contains("spec.clusterQueu") && e.contains("did you mean \"clusterQueue\"")),
            "{all:?}"
        );
    }

    #[test]
    fn unknown_cluster_queue_reference_is_reported_with_a_hint() {
        let mut cfg = QueueConfig::default();
        let mut d = Diags::default();
        let v = doc("{name: team-a, nominalQuota: {nvidia.com/gpu: 8}}");
        parse_short_queue("cluster.queues[0]", &v, &mut cfg, &mut d);
        let v = doc("{name: team-b, clusterQueue: team-aa}");
        parse_short_queue("cluster.queues[1]", &v, &mut cfg, &mut d);
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        let probs = cfg.check_references();
        assert_eq!(probs.len(), 1);
        assert!(probs[0].contains("did you mean \"team-a\""), "{probs:?}");
    }
}
