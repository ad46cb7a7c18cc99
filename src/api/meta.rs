//! ObjectMeta and conditions.

use crate::input::{Diags, Obj};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Keys of ObjectMeta that are valid in a manifest but not modelled.
pub const META_KEPT: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "finalizers",
    "managedFields",
    "selfLink",
];

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub generate_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl ObjectMeta {
    pub fn parse(o: Option<Obj<'_>>, d: &mut Diags) -> ObjectMeta {
        let Some(mut o) = o else {
            return ObjectMeta::default();
        };
        let mut m = ObjectMeta {
            name: o.str("name", d).unwrap_or_default(),
            generate_name: o.str("generateName", d).unwrap_or_default(),
            namespace: o.str("namespace", d).unwrap_or_default(),
            labels: o.str_map("labels", d),
            annotations: o.str_map("annotations", d),
            extra: BTreeMap::new(),
        };
        m.extra = o.finish(d, META_KEPT);
        m
    }
}

/// A `metav1.Condition` (JobSet) or Job/Pod condition; times are simulated milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
    /// Simulated milliseconds (serialized as such; Kubernetes stores RFC 3339 seconds).
    pub last_transition_time: u64,
}

impl Condition {
    pub fn is_true(&self) -> bool {
        self.status == "True"
    }
}

pub fn find_condition<'a>(conds: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conds.iter().find(|c| c.type_ == type_)
}

pub fn condition_true(conds: &[Condition], type_: &str) -> bool {
    find_condition(conds, type_).is_some_and(Condition::is_true)
}
