//! Expectations: trace expectations (`event`, `order`) are matched while the
//! trace streams by; state expectations are checked at their `at` time or at
//! the end of the run; each failure says what was expected and what was seen.

use super::*;
use crate::api::Labels;
use crate::scenario::{EventFilter, ExpectKind, Expectation, StateExpect};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Outcome {
    pub path: String,
    pub ok: bool,
    pub message: String,
}

#[derive(Debug)]
enum W {
    Other,
    Event {
        filter: EventFilter,
        from: Option<Millis>,
        to: Option<Millis>,
        count: u64,
    },
    Order {
        first: EventFilter,
        then: EventFilter,
        from: Option<Millis>,
        to: Option<Millis>,
        firsts: u64,
        thens: u64,
        first_then: Option<(u64, Millis)>,
        violation: Option<String>,
    },
}

#[derive(Debug)]
pub struct Watchers {
    items: Vec<W>,
    /// Some item watches trace events (fixed at creation: every emit asks).
    watches: bool,
    pub outcomes: Vec<Outcome>,
}

fn in_window(t: Millis, from: Option<Millis>, to: Option<Millis>) -> bool {
    from.is_none_or(|f| t >= f) && to.is_none_or(|x| t <= x)
}

pub fn filter_matches(f: &EventFilter, ev: &TraceEvent) -> bool {
    if f.event.as_deref().is_some_and(|e| e != ev.event) {
        return false;
    }
    f.fields.iter().all(|(k, v)| match ev.field(k) {
        Some(x) => &x == v || (v.as_str().is_some() && x.as_i64().map(|n| n.to_string()).as_deref() == v.as_str()),
        None => false,
    })
}

fn describe_filter(f: &EventFilter) -> String {
    let mut parts = Vec::new();
    if let Some(e) = &f.event {
        parts.push(format!("event: {e}"));
    }
    for (k, v) in &f.fields {
        parts.push(format!("{k}: {v}"));
    }
    format!("{{{}}}", parts.join(", "))
}

impl Watchers {
    /// Whether any expectation watches trace events (`event` and `order` expectations).
    #[inline]
    pub fn watches_events(&self) -> bool {
        self.watches
    }

    pub fn new(expect: &[Expectation]) -> Watchers {
        let items = expect
            .iter()
            .map(|e| match &e.kind {
                ExpectKind::Event { filter, from, to, .. } => W::Event {
                    filter: filter.clone(),
                    from: *from,
                    to: *to,
                    count: 0,
                },
                ExpectKind::Order { first, then, from, to } => W::Order {
                    first: first.clone(),
                    then: then.clone(),
                    from: *from,
                    to: *to,
                    firsts: 0,
                    thens: 0,
                    first_then: None,
                    violation: None,
                },
                _ => W::Other,
            })
            .collect::<Vec<_>>();
        Watchers {
            watches: items.iter().any(|w| !matches!(w, W::Other)),
            items,
            outcomes: Vec::new(),
        }
    }

    pub fn observe(&mut self, ev: &TraceEvent) {
        for w in &mut self.items {
            match w {
                W::Other => {}
                W::Event {
                    filter,
                    from,
                    to,
                    count,
                } => {
                    if in_window(ev.t, *from, *to) && filter_matches(filter, ev) {
                        *count += 1;
                    }
                }
                W::Order {
                    first,
                    then,
                    from,
                    to,
                    firsts,
                    thens,
                    first_then,
                    violation,
                } => {
                    if !in_window(ev.t, *from, *to) {
                        continue;
                    }
                    if filter_matches(then, ev) {
                        *thens += 1;
                        if first_then.is_none() {
                            *first_then = Some((ev.seq, ev.t));
                        }
                    }
                    if filter_matches(first, ev) {
                        *firsts += 1;
                        if let (Some((_, t)), None) = (*first_then, violation.as_ref()) {
                            *violation = Some(format!(
                                "a `first` event ({} at {}) came after a `then` event (at {})",
                                ev.event,
                                crate::units::format_duration(ev.t),
                                crate::units::format_duration(t)
                            ));
                        }
                    }
                }
            }
        }
    }

    /// Final outcomes of trace and validation expectations (call once, after the run).
    pub fn finalize(&mut self, expect: &[Expectation], rejections: &[(Millis, String, String)]) {
        for (e, w) in expect.iter().zip(&self.items) {
            match (&e.kind, w) {
                (
                    ExpectKind::Event {
                        filter,
                        count,
                        min,
                        max,
                        ..
                    },
                    W::Event { count: seen, .. },
                ) => {
                    let seen = *seen;
                    let mut problems = Vec::new();
                    if count.is_some_and(|c| c != seen) {
                        problems.push(format!(
                            "expected exactly {} matching event(s), saw {seen}",
                            count.unwrap_or(0)
                        ));
                    }
                    if min.is_some_and(|m| seen < m) {
                        problems.push(format!(
                            "expected at least {} matching event(s), saw {seen}",
                            min.unwrap_or(0)
                        ));
                    }
                    if max.is_some_and(|m| seen > m) {
                        problems.push(format!(
                            "expected at most {} matching event(s), saw {seen}",
                            max.unwrap_or(0)
                        ));
                    }
                    let ok = problems.is_empty();
                    let message = format!(
                        "event {}: {}",
                        describe_filter(filter),
                        if ok {
                            format!("{seen} matching, as expected")
                        } else {
                            problems.join("; ")
                        }
                    );
                    self.outcomes.push(Outcome {
                        path: e.path.clone(),
                        ok,
                        message,
                    });
                }
                (
                    ExpectKind::Order { first, then, .. },
                    W::Order {
                        firsts,
                        thens,
                        violation,
                        ..
                    },
                ) => {
                    let (ok, why) = if *firsts == 0 {
                        (false, "no event matched `first`".to_string())
                    } else if *thens == 0 {
                        (false, "no event matched `then`".to_string())
                    } else if let Some(v) = violation {
                        (false, v.clone())
                    } else {
                        (
                            true,
                            format!("all {firsts} `first` event(s) precede all {thens} `then` event(s)"),
                        )
                    };
                    let message = format!(
                        "order {} before {}: {why}",
                        describe_filter(first),
                        describe_filter(then)
                    );
                    self.outcomes.push(Outcome {
                        path: e.path.clone(),
                        ok,
                        message,
                    });
                }
                (ExpectKind::ValidationError { contains, jobset }, _) => {
                    let hit = rejections.iter().find(|(_, js, msg)| {
                        msg.contains(contains.as_str()) && jobset.as_deref().is_none_or(|j| j == js)
                    });
                    let (ok, message) = match hit {
                        Some((_, js, msg)) => (true, format!("{js} was rejected: {msg}")),
                        None if rejections.is_empty() => (
                            false,
                            format!("expected a rejection containing \"{contains}\", but nothing was rejected"),
                        ),
                        None => (
                            false,
                            format!(
                                "expected a rejection containing \"{contains}\"; rejections seen: {}",
                                rejections
                                    .iter()
                                    .map(|(_, j, m)| format!("{j}: {m}"))
                                    .collect::<Vec<_>>()
                                    .join(" | ")
                            ),
                        ),
                    };
                    self.outcomes.push(Outcome {
                        path: e.path.clone(),
                        ok,
                        message,
                    });
                }
                _ => {}
            }
        }
        self.outcomes.sort_by_key(|o| path_index(&o.path));
    }
}

/// Evaluates a state expectation against the world now.
pub fn state_outcome(e: &Expectation, w: &World) -> Option<Outcome> {
    let ExpectKind::State(s) = &e.kind else { return None };
    let problems = check_state(s, w);
    let ok = problems.is_empty();
    let at =
        s.at.map(crate::units::format_duration)
            .unwrap_or_else(|| "end of run".into());
    let message = if ok {
        format!("jobset {} at {at}: as expected", s.jobset)
    } else {
        format!("jobset {} at {at}: {}", s.jobset, problems.join("; "))
    };
    Some(Outcome {
        path: e.path.clone(),
        ok,
        message,
    })
}

fn path_index(p: &str) -> usize {
    p.trim_start_matches("expect[")
        .trim_end_matches(']')
        .parse()
        .unwrap_or(usize::MAX)
}

fn check_labels(what: &str, expected: &Labels, seen: &Labels, out: &mut Vec<String>) {
    for (k, v) in expected {
        match seen.get(k) {
            Some(x) if x == v => {}
            Some(x) => out.push(format!("{what} {k}: expected \"{v}\", saw \"{x}\"")),
            None => out.push(format!("{what} {k}: expected \"{v}\", but it is not set")),
        }
    }
}

/// Subset match: every key in `expected` must equal the same key in `seen`.
pub fn subset_matches(expected: &Value, seen: &Value, path: &str, out: &mut Vec<String>) {
    match (expected, seen) {
        (Value::Object(e), Value::Object(s)) => {
            for (k, v) in e {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match s.get(k) {
                    Some(x) => subset_matches(v, x, &p, out),
                    None if v.is_null() => {}
                    None => out.push(format!("spec.{p}: expected {v}, but it is not set")),
                }
            }
        }
        (e, s) => {
            let same = e == s || matches!((e.as_f64(), s.as_f64()), (Some(a), Some(b)) if a == b);
            if !same {
                out.push(format!("spec.{path}: expected {e}, saw {s}"));
            }
        }
    }
}

fn check_state(s: &StateExpect, w: &World) -> Vec<String> {
    let mut out = Vec::new();
    let id = w.jobset_id(&s.namespace, &s.jobset);
    if let Some(exists) = s.exists
        && exists != id.is_some()
    {
        out.push(if exists {
            "expected the JobSet to exist, but it is gone".into()
        } else {
            "expected the JobSet to be gone, but it exists".into()
        });
        return out;
    }
    let hist = w.history.get(&(s.namespace.clone(), s.jobset.clone()));
    if let Some(within) = s.finished_within {
        match hist.and_then(|h| h.finished_at) {
            Some(t) if t <= within => {}
            Some(t) => out.push(format!(
                "expected to finish within {}, finished at {}",
                crate::units::format_duration(within),
                crate::units::format_duration(t)
            )),
            None => out.push(format!(
                "expected to finish within {}, but it did not finish",
                crate::units::format_duration(within)
            )),
        }
    }
    check_pvcs(s, w, &mut out);
    let Some(id) = id else {
        let needs_object = s.terminal_state.is_some()
            || s.current_in_place_restart_attempt.is_some()
            || s.previous_in_place_restart_attempt.is_some()
            || s.restarts.is_some()
            || !s.conditions.is_empty()
            || !s.replicated_jobs_status.is_empty()
            || !s.jobs.is_empty()
            || !s.pods.is_empty()
            || s.spec.is_some();
        if needs_object {
            let why = match hist {
                None => "it was never created".to_string(),
                Some(h) if h.rejected.is_some() => {
                    format!("it was rejected: {}", h.rejected.clone().unwrap_or_default())
                }
                Some(h) if h.deleted_at.is_some() => format!(
                    "it was deleted at {}",
                    crate::units::format_duration(h.deleted_at.unwrap_or(0))
                ),
                Some(_) => "it does not exist".to_string(),
            };
            out.push(format!("JobSet {}/{} not found: {why}", s.namespace, s.jobset));
        }
        return out;
    };
    let jso = w.jobsets.get(id).expect("indexed");
    let st = &jso.js.status;
    if let Some(ts) = &s.terminal_state {
        let seen = if st.terminal_state.is_empty() {
            "None"
        } else {
            st.terminal_state.as_str()
        };
        if ts != seen {
            out.push(format!("terminalState: expected {ts}, saw {seen}"));
        }
    }
    if let Some(r) = s.restarts
        && r != i64::from(st.restarts)
    {
        out.push(format!("restarts: expected {r}, saw {}", st.restarts));
    }
    for (what, exp, seen) in [
        (
            "currentInPlaceRestartAttempt",
            s.current_in_place_restart_attempt,
            st.current_in_place_restart_attempt,
        ),
        (
            "previousInPlaceRestartAttempt",
            s.previous_in_place_restart_attempt,
            st.previous_in_place_restart_attempt,
        ),
    ] {
        if let Some(e) = exp
            && Some(e) != seen.map(i64::from)
        {
            let seen = seen.map(|v| v.to_string()).unwrap_or_else(|| "unset".into());
            out.push(format!("{what}: expected {e}, saw {seen}"));
        }
    }
    if let Some(r) = s.restarts_count_towards_max
        && r != i64::from(st.restarts_count_towards_max)
    {
        out.push(format!(
            "restartsCountTowardsMax: expected {r}, saw {}",
            st.restarts_count_towards_max
        ));
    }
    for c in &s.conditions {
        match crate::api::find_condition(&st.conditions, &c.type_) {
            None => out.push(format!(
                "condition {}: expected present, but the JobSet has [{}]",
                c.type_,
                st.conditions
                    .iter()
                    .map(|c| format!("{}={}", c.type_, c.status))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(x) => {
                for (field, exp, seen) in [
                    ("status", &c.status, &x.status),
                    ("reason", &c.reason, &x.reason),
                    ("message", &c.message, &x.message),
                ] {
                    if let Some(e) = exp
                        && e != seen
                    {
                        out.push(format!(
                            "condition {} {field}: expected \"{e}\", saw \"{seen}\"",
                            c.type_
                        ));
                    }
                }
            }
        }
    }
    for t in &s.absent_conditions {
        if let Some(x) = crate::api::find_condition(&st.conditions, t) {
            out.push(format!(
                "condition {t}: expected absent, saw status {} reason {}",
                x.status, x.reason
            ));
        }
    }
    for (rj, fields) in &s.replicated_jobs_status {
        let Some(rs) = st.rj_status(rj) else {
            out.push(format!("replicatedJobsStatus {rj}: no such entry"));
            continue;
        };
        let seen = serde_json::to_value(rs).expect("serializes");
        for (k, v) in fields {
            let x = seen.get(k).cloned().unwrap_or(Value::Array(vec![]));
            if &x != v {
                out.push(format!("replicatedJobsStatus {rj}.{k}: expected {v}, saw {x}"));
            }
        }
    }
    let ns = jso.js.namespace().to_string();
    for je in &s.jobs {
        match w.job_names.get(&ns, &je.name) {
            None => out.push(format!("job {}: expected to exist, but it does not", je.name)),
            Some(jid) => {
                let (labels, annotations) = w.job_labels(jid);
                check_labels(&format!("job {} label", je.name), &je.labels, &labels, &mut out);
                check_labels(
                    &format!("job {} annotation", je.name),
                    &je.annotations,
                    &annotations,
                    &mut out,
                );
                if let Some(sus) = je.suspended {
                    let seen = w.jobs.get(jid).is_some_and(|j| j.suspend);
                    if sus != seen {
                        out.push(format!("job {} suspended: expected {sus}, saw {seen}", je.name));
                    }
                }
                if let Some(j) = w.jobs.get(jid) {
                    for (field, exp, seen) in [
                        ("parallelism", je.parallelism, Some(j.parallelism)),
                        ("completions", je.completions, j.completions),
                    ] {
                        if let Some(e) = exp
                            && Some(e) != seen.map(i64::from)
                        {
                            let seen = seen.map(|v| v.to_string()).unwrap_or_else(|| "unset".into());
                            out.push(format!("job {} {field}: expected {e}, saw {seen}", je.name));
                        }
                    }
                }
            }
        }
    }
    for name in &s.absent_jobs {
        if w.job_names.contains(&ns, name) {
            out.push(format!("job {name}: expected absent, but it exists"));
        }
    }
    for pe in &s.pods {
        let Some(jid) = w.job_names.get(&ns, &pe.job) else {
            out.push(format!("pod of job {}: the job does not exist", pe.job));
            continue;
        };
        let j = w.jobs.get(jid).expect("indexed");
        let idx = pe.pod_index.unwrap_or(0) as i32;
        let pid = j
            .pods
            .range((idx, 0)..=(idx, u64::MAX))
            .map(|(_, p)| *p)
            .rfind(|p| w.pods.get(*p).is_some_and(|p| p.deletion.is_none()));
        let Some(pid) = pid else {
            out.push(format!("pod {}-{idx}: no such pod", pe.job));
            continue;
        };
        let p = w.pods.get(pid).expect("exists");
        let (labels, annotations) = w.pod_labels(pid);
        let what = format!("pod {}-{idx}", pe.job);
        if let Some(h) = &pe.hostname {
            let seen = w.pod_hostname(pid);
            if h != &seen {
                out.push(format!("{what} hostname: expected \"{h}\", saw \"{seen}\""));
            }
        }
        if let Some(sd) = &pe.subdomain {
            let seen = j
                .subdomain
                .as_deref()
                .map(str::to_string)
                .or_else(|| j.pod_template.spec.subdomain.clone())
                .unwrap_or_default();
            if sd != &seen {
                out.push(format!("{what} subdomain: expected \"{sd}\", saw \"{seen}\""));
            }
        }
        check_labels(&format!("{what} label"), &pe.labels, &labels, &mut out);
        check_labels(&format!("{what} annotation"), &pe.annotations, &annotations, &mut out);
        if let Some(n) = &pe.node {
            let seen = p.node.map(|n| w.nodes[n].name.to_string()).unwrap_or_default();
            if n != &seen {
                out.push(format!("{what} node: expected \"{n}\", saw \"{seen}\""));
            }
        }
        if let Some(ph) = &pe.phase
            && ph != p.phase.as_str()
        {
            out.push(format!("{what} phase: expected {ph}, saw {}", p.phase.as_str()));
        }
        if let Some(rc) = pe.restart_count
            && rc != i64::from(p.restart_count)
        {
            out.push(format!("{what} restartCount: expected {rc}, saw {}", p.restart_count));
        }
        if !pe.volumes.is_empty() {
            let seen: Labels = crate::controllers::lifecycle::pvc_volumes(&j.pod_template.spec)
                .into_iter()
                .collect();
            check_labels(&format!("{what} volume"), &pe.volumes, &seen, &mut out);
        }
    }
    for svc in &s.services {
        if !w.services.contains_key(&(ns.clone(), svc.clone())) {
            out.push(format!("service {svc}: expected to exist, but it does not"));
        }
    }
    for svc in &s.absent_services {
        if w.services.contains_key(&(ns.clone(), svc.clone())) {
            out.push(format!("service {svc}: expected absent, but it exists"));
        }
    }
    if let Some(spec) = &s.spec {
        let seen = jso.js.to_value();
        subset_matches(spec, seen.get("spec").unwrap_or(&Value::Null), "", &mut out);
    }
    out
}

/// `pvcs` / `absentPvcs` (format addition): PVCs outlive their JobSet under `Retain`.
fn check_pvcs(s: &StateExpect, w: &World, out: &mut Vec<String>) {
    for pe in &s.pvcs {
        let Some(pvc) = w.pvcs.get(&(s.namespace.clone(), pe.name.clone())) else {
            out.push(format!("pvc {}: expected to exist, but it does not", pe.name));
            continue;
        };
        check_labels(&format!("pvc {} label", pe.name), &pe.labels, &pvc.labels, out);
        if let Some(o) = pe.owner_reference
            && o != pvc.owner.is_some()
        {
            out.push(format!(
                "pvc {} ownerReference: expected {}, saw {}",
                pe.name,
                if o { "one" } else { "none" },
                match &pvc.owner {
                    Some((_, js)) => format!("JobSet {js}"),
                    None => "none".into(),
                }
            ));
        }
    }
    for name in &s.absent_pvcs {
        if w.pvcs.contains_key(&(s.namespace.clone(), name.clone())) {
            out.push(format!("pvc {name}: expected absent, but it exists"));
        }
    }
}

impl World {
    /// A child Job's labels and annotations, as the API server would show them.
    pub fn job_labels(&self, jid: JobId) -> (Labels, Labels) {
        let j = self.jobs.get(jid).expect("exists");
        let Some(s) = &j.stamp else { return Default::default() };
        let mut labels = s.template_meta.job_labels.clone();
        let mut annotations = s.template_meta.job_annotations.clone();
        for (k, v) in s.keys() {
            labels.insert(k.into(), v.clone());
            annotations.insert(k.into(), v);
        }
        (labels, annotations)
    }

    /// A pod's labels and annotations: pod template + JobSet keys + Job-controller keys.
    pub fn pod_labels(&self, pid: PodId) -> (Labels, Labels) {
        use crate::api::constants::*;
        let p = self.pods.get(pid).expect("exists");
        let j = self.jobs.get(p.job).expect("exists");
        let (mut labels, mut annotations) = match &j.stamp {
            Some(s) => (
                s.template_meta.pod_labels.clone(),
                s.template_meta.pod_annotations.clone(),
            ),
            None => Default::default(),
        };
        if let Some(m) = &j.resume_meta {
            labels.extend(m.labels.clone());
            annotations.extend(m.annotations.clone());
        }
        if let Some(s) = &j.stamp {
            for (k, v) in s.keys() {
                labels.insert(k.into(), v.clone());
                annotations.insert(k.into(), v);
            }
        }
        labels.insert(CONTROLLER_UID_LABEL.into(), j.uid());
        labels.insert(JOB_NAME_LABEL.into(), j.name.to_string());
        labels.insert("controller-uid".into(), j.uid());
        labels.insert("job-name".into(), j.name.to_string());
        if p.index >= 0 {
            labels.insert(JOB_COMPLETION_INDEX_KEY.into(), p.index.to_string());
            annotations.insert(JOB_COMPLETION_INDEX_KEY.into(), p.index.to_string());
        }
        if let Some(a) = p.in_place_attempt {
            annotations.insert(IN_PLACE_RESTART_ATTEMPT_KEY.into(), a.to_string());
        }
        // Set by the pod webhook from spec.priority (every JobSet pod but node-selector-strategy ones).
        if let Some(prio) = p.placement.as_ref().and_then(|pl| pl.priority_label) {
            labels.insert(PRIORITY_KEY.into(), super::placement::priority_label_value(prio));
        }
        (labels, annotations)
    }

    /// `<job>-<index>` for Indexed pods (set by the Job controller), else the template's.
    pub fn pod_hostname(&self, pid: PodId) -> String {
        let p = self.pods.get(pid).expect("exists");
        let j = self.jobs.get(p.job).expect("exists");
        if p.index >= 0 {
            format!("{}-{}", j.name, p.index)
        } else {
            j.pod_template.spec.hostname.clone().unwrap_or_default()
        }
    }
}
