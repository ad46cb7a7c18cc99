//! Child object names, labels and annotations (`placement.go`, `labelAndAnnotateObject`).

use crate::api::constants::*;
use crate::api::{JobSet, Labels};

/// `<jobset>-<replicatedJob>-<jobIndex>` (`placement.GenJobName`).
pub fn job_name(jobset: &str, rj: &str, job_index: i32) -> String {
    let mut s = String::with_capacity(jobset.len() + rj.len() + 13);
    s.push_str(jobset);
    s.push('-');
    s.push_str(rj);
    s.push('-');
    push_decimal(&mut s, i64::from(job_index));
    s
}

/// Appends `n` in decimal, as `write!(s, "{n}")` would (names are built on hot paths).
pub fn push_decimal(s: &mut String, n: i64) {
    s.push_str(itoa::Buffer::new().format(n));
}

/// Lowercase hex SHA-1 of `<namespace>/<jobName>` (`jobset.sigs.k8s.io/job-key`).
pub fn job_key(namespace: &str, job_name: &str) -> String {
    let mut h = sha1_smol::Sha1::new();
    h.update(namespace.as_bytes());
    h.update(b"/");
    h.update(job_name.as_bytes());
    let digest = h.digest().bytes();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(40);
    for b in digest {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

/// `<jobset>-<rj>-<jobIndex>-<podIndex>.<subdomain>` (`CoordinatorEndpoint`).
pub fn coordinator_endpoint(js: &JobSet) -> Option<String> {
    let c = js.spec.coordinator.as_ref()?;
    Some(format!(
        "{}-{}-{}-{}.{}",
        js.metadata.name,
        c.replicated_job,
        c.job_index,
        c.pod_index,
        js.subdomain()
    ))
}

/// Per-replicated-Job numbers that every child Job's labels need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RjNumbers {
    pub replicas: i32,
    pub global_offset: i32,
    pub group_replicas: i32,
    pub group_offset: i32,
}

/// Computes global and group offsets for each replicated Job, in spec order.
pub fn rj_numbers(js: &JobSet) -> (i32, Vec<RjNumbers>) {
    let rjs = &js.spec.replicated_jobs;
    let global: i32 = rjs.iter().map(|r| r.replicas()).sum();
    let mut out = Vec::with_capacity(rjs.len());
    let mut offset = 0;
    for (i, rj) in rjs.iter().enumerate() {
        let group = rj.group();
        let group_replicas = rjs.iter().filter(|r| r.group() == group).map(|r| r.replicas()).sum();
        let group_offset = rjs[..i]
            .iter()
            .filter(|r| r.group() == group)
            .map(|r| r.replicas())
            .sum();
        out.push(RjNumbers {
            replicas: rj.replicas(),
            global_offset: offset,
            group_replicas,
            group_offset,
        });
        offset += rj.replicas();
    }
    (global, out)
}

/// What every child Job's JobSet keys are computed from, taken once per
/// reconcile (the coordinator is mutable, so Jobs keep the value they were
/// created with).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyContext {
    pub jobset: String,
    pub uid: String,
    pub namespace: String,
    pub coordinator: Option<String>,
    pub global_replicas: i32,
    /// Per replicated Job: (name, group name, numbers).
    pub rjs: Vec<(String, String, RjNumbers)>,
}

impl KeyContext {
    pub fn new(js: &JobSet, uid: &str) -> KeyContext {
        let (global_replicas, nums) = rj_numbers(js);
        KeyContext {
            jobset: js.metadata.name.clone(),
            uid: uid.to_string(),
            namespace: js.namespace().to_string(),
            coordinator: coordinator_endpoint(js),
            global_replicas,
            rjs: js
                .spec
                .replicated_jobs
                .iter()
                .zip(nums)
                .map(|(rj, n)| (rj.name.clone(), rj.group().to_string(), n))
                .collect(),
        }
    }

    /// The keys JobSet stamps on a child Job and its pod template (labels *and*
    /// annotations with the same values), in upstream's table order.
    pub fn keys(
        &self,
        rj_index: usize,
        job_index: i32,
        restart_attempt: i32,
        job_restart_attempt: Option<i32>,
    ) -> Vec<(&'static str, String)> {
        let (rj, group, nums) = &self.rjs[rj_index];
        let name = job_name(&self.jobset, rj, job_index);
        let mut keys = vec![
            (JOBSET_NAME_KEY, self.jobset.clone()),
            (JOBSET_UID_KEY, self.uid.clone()),
            (REPLICATED_JOB_NAME_KEY, rj.clone()),
            (RESTART_ATTEMPT_KEY, restart_attempt.to_string()),
        ];
        if let Some(a) = job_restart_attempt {
            keys.push((JOB_RESTART_ATTEMPT_KEY, a.to_string()));
        }
        keys.extend([
            (REPLICATED_JOB_REPLICAS_KEY, nums.replicas.to_string()),
            (GLOBAL_REPLICAS_KEY, self.global_replicas.to_string()),
            (JOB_INDEX_KEY, job_index.to_string()),
            (JOB_KEY_KEY, job_key(&self.namespace, &name)),
            (JOB_GLOBAL_INDEX_KEY, (nums.global_offset + job_index).to_string()),
            (GROUP_NAME_KEY, group.clone()),
            (GROUP_REPLICAS_KEY, nums.group_replicas.to_string()),
            (JOB_GROUP_INDEX_KEY, (nums.group_offset + job_index).to_string()),
        ]);
        if let Some(ep) = &self.coordinator {
            keys.push((COORDINATOR_KEY, ep.clone()));
        }
        keys
    }
}

/// A child Job's template labels and annotations, with the exclusive-placement
/// annotations stamped; the JobSet keys are added on top (`KeyContext::keys`).
pub fn job_metadata(js: &JobSet, rj_index: usize) -> (Labels, Labels) {
    let rj = &js.spec.replicated_jobs[rj_index];
    let labels = rj.template.metadata.labels.clone();
    let mut annotations = rj.template.metadata.annotations.clone();
    stamp_exclusive(js, rj_index, &mut annotations);
    (labels, annotations)
}

/// Pod-template labels and annotations, with the exclusive-placement annotations stamped.
pub fn pod_template_metadata(js: &JobSet, rj_index: usize) -> (Labels, Labels) {
    let rj = &js.spec.replicated_jobs[rj_index];
    let labels = rj.template.spec.template.metadata.labels.clone();
    let mut annotations = rj.template.spec.template.metadata.annotations.clone();
    stamp_exclusive(js, rj_index, &mut annotations);
    (labels, annotations)
}

/// The exclusive-placement annotations: JobSet level first, replicated-Job template overrides.
fn stamp_exclusive(js: &JobSet, rj_index: usize, annotations: &mut Labels) {
    let levels = [
        &js.metadata.annotations,
        &js.spec.replicated_jobs[rj_index].template.metadata.annotations,
    ];
    for a in levels {
        if let Some(t) = a.get(EXCLUSIVE_KEY) {
            annotations.insert(EXCLUSIVE_KEY.into(), t.clone());
            if let Some(ns) = a.get(NODE_SELECTOR_STRATEGY_KEY) {
                annotations.insert(NODE_SELECTOR_STRATEGY_KEY.into(), ns.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_key_is_sha1_of_namespace_slash_name() {
        // sha1("default/js-rj-0")
        let k = job_key("default", "js-rj-0");
        assert_eq!(k.len(), 40);
        let mut h = sha1_smol::Sha1::new();
        h.update(b"default/js-rj-0");
        assert_eq!(k, h.digest().to_string());
    }

    #[test]
    fn push_decimal_matches_display() {
        for n in [
            0,
            7,
            10,
            99,
            100,
            12345,
            -1,
            -90,
            i64::from(i32::MAX),
            i64::MIN,
            i64::MAX,
        ] {
            let mut s = String::from("x-");
            push_decimal(&mut s, n);
            assert_eq!(s, format!("x-{n}"));
        }
    }

    #[test]
    fn names_follow_placement_helpers() {
        assert_eq!(job_name("js", "workers", 3), "js-workers-3");
    }
}
