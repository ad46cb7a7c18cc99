//! Exclusive placement (`../shared/spec/jobset-controller.md` §13): the pod
//! webhook (`podwebhook`: priority label, leader affinities, follower
//! nodeSelector and rejection), the scheduler's inter-pod affinity index by
//! topology key, and the pod controller (`podctl`) that evicts followers
//! placed outside their leader's topology domain.
//!
//! The scheduler never scans pods: for every topology key some pod's terms
//! use, [`TopoIndex`] keeps, per domain (node label value), the schedulable
//! nodes in scoring order, the bound pods by job-key, by priority label and
//! job-key, and the bound leaders whose anti-affinity term uses that key.
//! Only the terms the JobSet pod webhook writes exist in the simulator, so
//! the label selectors are evaluated in this closed form:
//! affinity `job-key In [own]`; anti-affinity `job-key Exists, job-key NotIn
//! [own], priority In [own]`; namespaceSelector `{}` (all namespaces).

use super::*;
use crate::api::Labels;
use crate::api::constants::*;

/// `kube-scheduler` InterPodAffinity filter reasons, in its filter order.
pub const REASON_AFFINITY: &str = "node(s) didn't match pod affinity rules";
pub const REASON_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";
pub const REASON_EXISTING_ANTI_AFFINITY: &str = "node(s) didn't satisfy existing pods anti-affinity rules";

/// Pod-controller condition on evicted followers.
pub const REASON_PLACEMENT_VIOLATION: &str = "ExclusivePlacementViolation";
pub const MSG_PLACEMENT_VIOLATION: &str = "Pod violated JobSet exclusive placement policy";

/// Validating webhook messages (`podWebhook.ValidateCreate`).
pub const MSG_FOLLOWER_SELECTOR_NOT_SET: &str = "follower pod node selector not set";
pub const MSG_LEADER_NOT_SCHEDULED: &str =
    "leader pod not yet scheduled, not creating follower pod. this is an expected, transient error";

/// What a JobSet pod carries for placement: its job-key and priority labels,
/// the exclusive-topology annotation, and what the pod webhook added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodPlacement {
    /// `jobset.sigs.k8s.io/job-key`.
    pub job_key: super::store::JobKey,
    /// `jobset.sigs.k8s.io/priority`, set by the pod webhook from `spec.priority`
    /// (absent on node-selector-strategy pods, which the webhook skips).
    pub priority_label: Option<i32>,
    /// `alpha.jobset.sigs.k8s.io/exclusive-topology`: the topology key `T`.
    pub exclusive: Option<Name>,
    /// Leader (completion index 0): the webhook appended the required pod
    /// affinity and anti-affinity terms on `T`.
    pub leader_terms: bool,
    /// nodeSelector entries beyond the pod template's: a follower's
    /// `T = <leader's domain>` (webhook) and the node-selector strategy's
    /// `alpha.jobset.sigs.k8s.io/namespaced-job = <ns>_<job>` (constructJob).
    pub node_selector: Vec<(Name, Name)>,
}

/// The `jobset.sigs.k8s.io/priority` label value: negative priorities as `n<abs>`.
pub fn priority_label_value(p: i32) -> String {
    if p < 0 {
        format!("n{}", -i64::from(p))
    } else {
        p.to_string()
    }
}

type Counts = BTreeMap<Name, u32>;

fn bump(m: &mut Counts, k: &Name, delta: i32) {
    let e = m.entry(k.clone()).or_default();
    *e = (i64::from(*e) + i64::from(delta)).max(0) as u32;
    if *e == 0 {
        m.remove(k);
    }
}

/// True when `m` holds a key other than `own`.
fn has_other(m: Option<&Counts>, own: &Name) -> bool {
    m.is_some_and(|m| m.len() > 1 || (m.len() == 1 && !m.contains_key(own)))
}

/// Per-topology-key index (see the module comment).
#[derive(Debug, Default)]
pub struct KeyIndex {
    /// The node's value of the key (None: the node lacks the label).
    pub node_domain: Vec<Option<Name>>,
    /// Schedulable nodes per domain, ordered as the scheduler prefers them: (pool, score, node).
    pub nodes: BTreeMap<Name, BTreeSet<(usize, u64, NodeId)>>,
    /// job-key -> domain -> bound pods carrying it.
    pub job_domains: BTreeMap<Name, Counts>,
    /// domain -> priority label -> job-key -> bound pods.
    pub prio_jobs: BTreeMap<Name, BTreeMap<i32, Counts>>,
    /// domain -> priority label -> job-key -> bound leaders whose anti-affinity term uses this key.
    pub holders: BTreeMap<Name, BTreeMap<i32, Counts>>,
    pub holder_count: u64,
}

/// Topology keys in use, each with its [`KeyIndex`].
#[derive(Debug, Default)]
pub struct TopoIndex {
    pub keys: BTreeMap<Name, KeyIndex>,
    /// The pod webhook's reading of the template metadata it last saw, held so its
    /// pointer identifies it (the Jobs of a replicated Job created together share one).
    webhook_meta: Option<(Rc<super::store::TemplateMeta>, MetaReading)>,
}

/// What the pod webhook reads from a Job's annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MetaReading {
    /// The pod annotation `alpha.jobset.sigs.k8s.io/exclusive-topology`.
    exclusive: Option<Name>,
    /// The pod annotation `alpha.jobset.sigs.k8s.io/node-selector-strategy` is present.
    node_selector_strategy: bool,
    /// Both annotations are on the Job: constructJob adds the namespaced-job nodeSelector.
    namespaced_job: bool,
}

impl MetaReading {
    /// The pod annotations are the Job's resume annotations over its template's.
    fn read(resume: &Labels, meta: &super::store::TemplateMeta) -> MetaReading {
        let ann = |k: &str| resume.get(k).or_else(|| meta.pod_annotations.get(k));
        MetaReading {
            exclusive: ann(EXCLUSIVE_KEY).map(|t| t.as_str().into()),
            node_selector_strategy: ann(NODE_SELECTOR_STRATEGY_KEY).is_some(),
            namespaced_job: meta.job_annotations.contains_key(EXCLUSIVE_KEY)
                && meta.job_annotations.contains_key(NODE_SELECTOR_STRATEGY_KEY),
        }
    }
}

impl TopoIndex {
    /// `MetaReading::read` for a Job without resume annotations, remembered for the
    /// last template metadata seen (the same for every pod of a wave of Jobs).
    fn webhook_reading(&mut self, meta: &Rc<super::store::TemplateMeta>) -> MetaReading {
        if let Some((m, r)) = &self.webhook_meta
            && Rc::ptr_eq(m, meta)
        {
            return r.clone();
        }
        let r = MetaReading::read(&Labels::new(), meta);
        self.webhook_meta = Some((meta.clone(), r.clone()));
        r
    }

    /// Starts indexing `key` (once): nodes by domain and the bound pods already there.
    pub fn ensure_key(
        &mut self,
        key: &Name,
        nodes: &[NodeObj],
        node_key: &[(Option<u64>, usize)],
        pods: &InlineSlab<PodObj>,
    ) {
        if self.keys.contains_key(key) {
            return;
        }
        let mut ki = KeyIndex::default();
        for (id, n) in nodes.iter().enumerate() {
            let d: Option<Name> = n.labels.get(&**key).map(|v| v.as_str().into());
            if let (Some(d), Some(score)) = (&d, node_key[id].0) {
                ki.nodes.entry(d.clone()).or_default().insert((n.pool, score, id));
            }
            ki.node_domain.push(d);
        }
        for (id, n) in nodes.iter().enumerate() {
            for pid in &n.pods {
                if let Some(pl) = pods.get(*pid).and_then(|p| p.placement.as_deref()) {
                    ki.add_pod(key, pl, id, 1);
                }
            }
        }
        self.keys.insert(key.clone(), ki);
    }

    /// A node's score or schedulability changed.
    // Out of line: `SchedState::node_changed` calls it only while a topology key is in use.
    #[inline(never)]
    pub fn node_moved(&mut self, id: NodeId, pool: usize, old: Option<u64>, new: Option<u64>) {
        for ki in self.keys.values_mut() {
            let Some(d) = ki.node_domain.get(id).cloned().flatten() else {
                continue;
            };
            let set = ki.nodes.entry(d).or_default();
            if let Some(o) = old {
                set.remove(&(pool, o, id));
            }
            if let Some(n) = new {
                set.insert((pool, n, id));
            }
        }
    }

    /// A pod was bound to (delta 1) or released from (delta -1) node `id`.
    pub fn pod_moved(&mut self, pl: &PodPlacement, id: NodeId, delta: i32) {
        for (key, ki) in self.keys.iter_mut() {
            ki.add_pod(key, pl, id, delta);
        }
    }

    /// The InterPodAffinity filter for `pl` on node `id`, in kube-scheduler's order.
    pub fn check(&self, pl: Option<&PodPlacement>, id: NodeId) -> Result<(), &'static str> {
        let Some(pl) = pl else { return Ok(()) };
        if pl.leader_terms
            && let Some(t) = &pl.exclusive
            && let Some(ki) = self.keys.get(t)
        {
            let Some(d) = ki.node_domain.get(id).cloned().flatten() else {
                return Err(REASON_AFFINITY);
            };
            // Affinity: where pods of this Job exist, only there; if none exist anywhere,
            // the pod matches its own term and any node with the key will do.
            if let Some(doms) = ki.job_domains.get(pl.job_key.name())
                && !doms.is_empty()
                && !doms.contains_key(&d)
            {
                return Err(REASON_AFFINITY);
            }
            if let Some(p) = pl.priority_label
                && has_other(ki.prio_jobs.get(&d).and_then(|m| m.get(&p)), pl.job_key.name())
            {
                return Err(REASON_ANTI_AFFINITY);
            }
        }
        if let Some(p) = pl.priority_label {
            for ki in self.keys.values() {
                if ki.holder_count == 0 {
                    continue;
                }
                let Some(d) = ki.node_domain.get(id).cloned().flatten() else {
                    continue;
                };
                if has_other(ki.holders.get(&d).and_then(|m| m.get(&p)), pl.job_key.name()) {
                    return Err(REASON_EXISTING_ANTI_AFFINITY);
                }
            }
        }
        Ok(())
    }

    /// A whole domain of the leader's key fails its anti-affinity (another Job of its priority is there).
    pub fn domain_blocked(&self, pl: &PodPlacement, key: &Name, d: &Name) -> bool {
        let Some(ki) = self.keys.get(key) else { return false };
        pl.leader_terms
            && pl.exclusive.as_ref() == Some(key)
            && pl
                .priority_label
                .is_some_and(|p| has_other(ki.prio_jobs.get(d).and_then(|m| m.get(&p)), pl.job_key.name()))
    }

    /// The domains a pod may only use, when they can be named without scanning nodes:
    /// a nodeSelector on an indexed key pins one; a leader goes where its Job's pods
    /// are, or, if there are none, to any domain of its key.
    pub fn candidate_domains(
        &self,
        pl: Option<&PodPlacement>,
        template_selector: &BTreeMap<String, String>,
    ) -> Option<(Name, Vec<Name>)> {
        if let Some(pl) = pl {
            for (k, v) in &pl.node_selector {
                if self.keys.contains_key(k) {
                    return Some((k.clone(), vec![v.clone()]));
                }
            }
        }
        for (k, v) in template_selector {
            if let Some((key, _)) = self.keys.get_key_value(k.as_str())
                && !pl.is_some_and(|pl| pl.node_selector.iter().any(|(x, _)| &**x == k.as_str()))
            {
                return Some((key.clone(), vec![v.as_str().into()]));
            }
        }
        let pl = pl?;
        if !pl.leader_terms {
            return None;
        }
        let t = pl.exclusive.as_ref()?;
        let ki = self.keys.get(t)?;
        let doms: Vec<Name> = match ki.job_domains.get(pl.job_key.name()) {
            Some(d) if !d.is_empty() => d.keys().cloned().collect(),
            _ => ki.nodes.keys().cloned().collect(),
        };
        Some((t.clone(), doms))
    }
}

impl KeyIndex {
    fn add_pod(&mut self, key: &Name, pl: &PodPlacement, id: NodeId, delta: i32) {
        let Some(d) = self.node_domain.get(id).cloned().flatten() else {
            return;
        };
        bump(
            self.job_domains.entry(pl.job_key.name().clone()).or_default(),
            &d,
            delta,
        );
        if self.job_domains.get(pl.job_key.name()).is_some_and(|m| m.is_empty()) {
            self.job_domains.remove(pl.job_key.name());
        }
        if let Some(p) = pl.priority_label {
            bump(
                self.prio_jobs.entry(d.clone()).or_default().entry(p).or_default(),
                pl.job_key.name(),
                delta,
            );
            if pl.leader_terms && pl.exclusive.as_ref() == Some(key) {
                bump(
                    self.holders.entry(d).or_default().entry(p).or_default(),
                    pl.job_key.name(),
                    delta,
                );
                self.holder_count = (self.holder_count as i64 + i64::from(delta)).max(0) as u64;
            }
        }
    }
}

impl World {
    /// The pod's effective nodeSelector value for `key` (the webhook's entries win over the template's).
    pub fn pod_selector_value(&self, pid: PodId, key: &str) -> Option<String> {
        let p = self.pods.get(pid)?;
        if let Some(pl) = p.placement.as_deref()
            && let Some((_, v)) = pl.node_selector.iter().find(|(k, _)| &**k == key)
        {
            return Some(v.to_string());
        }
        let j = self.jobs.get(p.job)?;
        j.pod_template.spec.node_selector.get(key).cloned()
    }

    /// The pod webhook on Pod CREATE (mutation, then validation), plus the
    /// node-selector strategy's nodeSelector from `constructJob`. `Err` is the
    /// API error the Job controller sees. The placement comes boxed as the pod holds it
    /// (`SchedState::box_placement`), boxed where it is returned: one move, not two.
    pub(super) fn pod_webhook(
        &mut self,
        jid: JobId,
        index: i32,
        priority: i32,
    ) -> Result<Option<Box<PodPlacement>>, String> {
        let Some(j) = self.jobs.get(jid) else { return Ok(None) };
        let Some(s) = &j.stamp else { return Ok(None) };
        let MetaReading {
            exclusive,
            node_selector_strategy,
            namespaced_job,
        } = match &j.resume_meta {
            Some(m) if !m.annotations.is_empty() => MetaReading::read(&m.annotations, &s.template_meta),
            _ => self.sched.topo.webhook_reading(&s.template_meta),
        };
        let mut pl = PodPlacement {
            job_key: s.job_key.clone(),
            priority_label: None,
            exclusive: exclusive.clone(),
            leader_terms: false,
            node_selector: Vec::new(),
        };
        // constructJob §1.5: both annotations on the Job => namespaced-job nodeSelector.
        if namespaced_job {
            pl.node_selector
                .push((NAMESPACED_JOB_KEY.into(), format!("{}_{}", j.namespace, j.name).into()));
        }
        if let Some(t) = &exclusive {
            // Also with the node-selector strategy: the index doubles as "exclusive pods exist".
            self.sched
                .topo
                .ensure_key(t, &self.nodes, &self.sched.node_key, &self.pods);
        }
        if node_selector_strategy {
            return Ok(Some(self.sched.box_placement(pl)));
        }
        // The Priority admission plugin always sets spec.priority, so every such pod gets the label.
        pl.priority_label = Some(priority);
        let Some(t) = exclusive else {
            return Ok(Some(self.sched.box_placement(pl)));
        };
        if index == 0 {
            pl.leader_terms = true;
            return Ok(Some(self.sched.box_placement(pl)));
        }
        // Follower: mutation sets nodeSelector[T] from the scheduled leader's node.
        let j = self.jobs.get(jid).expect("exists");
        let leader = self.leader_for_follower(jid);
        if let Ok(l) = &leader
            && let Some(n) = self.pods.get(*l).and_then(|p| p.node)
        {
            match self.nodes[n].labels.get(&*t) {
                Some(v) => pl.node_selector.push((t.clone(), v.as_str().into())),
                None => {
                    return Err(format!(
                        "admission webhook \"mpod.kb.io\" denied the request: node does not have topology label: {t}"
                    ));
                }
            }
        }
        // Validation.
        let denied = |m: String| format!("admission webhook \"vpod.kb.io\" denied the request: {m}");
        let template = &j.pod_template.spec.node_selector;
        if template.is_empty() && pl.node_selector.is_empty() {
            return Err(denied(MSG_FOLLOWER_SELECTOR_NOT_SET.into()));
        }
        if !template.contains_key(&*t) && !pl.node_selector.iter().any(|(k, _)| *k == t) {
            return Err(denied(format!(
                "follower pod node selector for topology domain not found. missing selector: {t}"
            )));
        }
        match leader {
            Err(e) => Err(denied(e)),
            Ok(l) if self.pods.get(l).is_some_and(|p| p.node.is_none()) => Err(denied(MSG_LEADER_NOT_SCHEDULED.into())),
            Ok(_) => Ok(Some(self.sched.box_placement(pl))),
        }
    }

    /// The follower's leader: the one live (not terminating, not finished) pod
    /// named `<jobset>-<rj>-<jobIndex>-0-*`, owned by the same Job.
    fn leader_for_follower(&self, jid: JobId) -> Result<PodId, String> {
        let j = self.jobs.get(jid).expect("exists");
        // NonIndexed pods are named `<job>-<suffix>`: none is ever named like a leader.
        let indexed = j.spec.is_indexed();
        let live: Vec<PodId> = j
            .pods
            .range((0, 0)..=(0, u64::MAX))
            .map(|(_, p)| *p)
            .filter(|p| {
                indexed
                    && self
                        .pods
                        .get(*p)
                        .is_some_and(|p| p.deletion.is_none() && !p.phase.terminal())
            })
            .collect();
        if live.len() != 1 {
            return Err(format!(
                "expected 1 leader pod ({}-0), but got {}. this is an expected, transient error",
                j.name,
                live.len()
            ));
        }
        Ok(live[0])
    }

    // ---------------------------------------------------------------- pod controller

    /// Watch filter of the pod controller: scheduled, live leaders of exclusive-placement Jobs.
    #[inline]
    pub(super) fn podctl_watch(&mut self, pid: PodId) {
        if !self.sched.topo.keys.is_empty() {
            self.podctl_watch_leader(pid);
        } // else no exclusive-placement pod was ever created
    }

    #[inline(never)]
    fn podctl_watch_leader(&mut self, pid: PodId) {
        let Some(p) = self.pods.get(pid) else { return };
        if p.index != 0
            || p.node.is_none()
            || p.deletion.is_some()
            || p.placement.as_ref().is_none_or(|pl| pl.exclusive.is_none())
        {
            return;
        }
        let due = self.now + self.sc.timing.controller_delay;
        if let Some((due, epoch)) = self.pod_queue.add(pid, due) {
            self.push(due, Ev::PodReconcile(pid, epoch));
        }
    }

    /// `(*PodReconciler).Reconcile` for one leader (§13.3).
    pub(super) fn podctl_reconcile(&mut self, pid: PodId) {
        let Some(p) = self.pods.get(pid) else { return };
        let (Some(n), Some(t)) = (p.node, p.placement.as_ref().and_then(|pl| pl.exclusive.clone())) else {
            return;
        };
        let Some(leader_topology) = self.nodes[n].labels.get(&*t).cloned() else {
            // "node does not have topology label": an error, retried with the
            // controller-runtime rate limiter (5 ms doubling, capped at 1000 s).
            let f = self.pod_queue.failures.entry(pid).or_default();
            let delay = (5u64 << (*f).min(20)).min(1_000_000);
            *f += 1;
            if let Some((due, epoch)) = self.pod_queue.add(pid, self.now + delay) {
                self.push(due, Ev::PodReconcile(pid, epoch));
            }
            return;
        };
        self.pod_queue.failures.remove(&pid);
        let Some(j) = self.jobs.get(p.job) else { return };
        let followers: Vec<PodId> = j.pods.iter().filter(|(i, _)| *i != 0).map(|(_, f)| *f).collect();
        let invalid = followers
            .iter()
            .any(|f| self.pod_selector_value(*f, &t).as_deref() != Some(leader_topology.as_str()));
        if !invalid {
            return;
        }
        for f in followers {
            let Some(fp) = self.pods.get_mut(f) else { continue };
            if fp.disruption.is_none() {
                fp.disruption = Some(Box::new((
                    REASON_PLACEMENT_VIOLATION.into(),
                    MSG_PLACEMENT_VIOLATION.into(),
                )));
            }
            if fp.deletion.is_none() {
                let mut ev = self.pod_event("PodEvicted", f);
                ev.reason = Some(REASON_PLACEMENT_VIOLATION.into());
                ev.message = Some(MSG_PLACEMENT_VIOLATION.into());
                self.emit(ev);
            }
            self.delete_pod(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_priorities_are_written_as_valid_label_values() {
        assert_eq!(priority_label_value(0), "0");
        assert_eq!(priority_label_value(100), "100");
        assert_eq!(priority_label_value(-5), "n5");
        assert_eq!(priority_label_value(i32::MIN), "n2147483648");
    }

    /// The webhook's remembered reading is the one of the metadata it is asked about:
    /// another template's (even at a reused address) is read afresh.
    #[test]
    fn webhook_reading_follows_the_template_metadata() {
        use super::super::store::TemplateMeta;
        let meta = |pod: &[(&str, &str)], job: &[&str]| {
            Rc::new(TemplateMeta {
                pod_annotations: pod.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                job_annotations: job.iter().map(|k| (k.to_string(), String::new())).collect(),
                ..Default::default()
            })
        };
        let mut ix = TopoIndex::default();
        let metas = [
            meta(&[(EXCLUSIVE_KEY, "rack")], &[]),
            meta(&[], &[]),
            meta(
                &[(EXCLUSIVE_KEY, "zone"), (NODE_SELECTOR_STRATEGY_KEY, "true")],
                &[EXCLUSIVE_KEY, NODE_SELECTOR_STRATEGY_KEY],
            ),
        ];
        for m in metas.iter().chain(&metas).chain([&metas[2], &metas[2], &metas[0]]) {
            let want = MetaReading::read(&Labels::new(), m);
            assert_eq!(ix.webhook_reading(m), want);
        }
        assert_eq!(ix.webhook_reading(&metas[2]).exclusive.as_deref(), Some("zone"));
        assert!(ix.webhook_reading(&metas[2]).namespaced_job);
        // A freed template's address may be reused by another: the held Rc prevents it.
        drop(ix.webhook_reading(&meta(&[(EXCLUSIVE_KEY, "a")], &[])));
        let other = meta(&[], &[]);
        assert_eq!(ix.webhook_reading(&other).exclusive, None);
        // Resume annotations win over the template's.
        let resume: Labels = [(EXCLUSIVE_KEY.to_string(), "host".to_string())].into_iter().collect();
        assert_eq!(MetaReading::read(&resume, &metas[0]).exclusive.as_deref(), Some("host"));
    }

    #[test]
    fn has_other_sees_only_foreign_job_keys() {
        let own: Name = "a".into();
        let mut m = Counts::new();
        assert!(!has_other(Some(&m), &own));
        bump(&mut m, &own, 1);
        assert!(!has_other(Some(&m), &own), "only the pod's own Job");
        bump(&mut m, &"b".into(), 1);
        assert!(has_other(Some(&m), &own));
        bump(&mut m, &"b".into(), -1);
        assert!(!has_other(Some(&m), &own), "counts drop to zero and leave the map");
        assert_eq!(m.len(), 1);
    }
}
