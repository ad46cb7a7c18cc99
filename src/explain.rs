//! `explain`: why a JobSet ended the way it did, in plain words.
//!
//! A pure function of a finished run (kept trace, failure-policy decisions and
//! summaries): for each failure-policy decision of one JobSet, in time order,
//! the failed Job and its `Failed` condition, the pod failures behind it (from
//! the kept trace), the rules that did not match and why, the rule that did
//! (or the default), the action and the resulting counters; then the terminal
//! state. No I/O.

use crate::api::JobSet;
use crate::api::constants::*;
use crate::sim::{DecisionRecord, StopReason, World};
use crate::trace::TraceEvent;
use crate::units::{Millis, format_duration as fd};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Why no explanation could be produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExplainError {
    /// No JobSet with that name was submitted in the run; `known` lists the ones
    /// that were, the nearest first.
    UnknownJobSet { name: String, known: Vec<String> },
    /// The name exists in several namespaces; `candidates` are `namespace/name`.
    Ambiguous { name: String, candidates: Vec<String> },
    /// The run did not keep its trace (`RunOptions { keep_trace: true, .. }`).
    NoTrace,
}

impl std::fmt::Display for ExplainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExplainError::UnknownJobSet { name, known } if known.is_empty() => {
                write!(f, "no JobSet \"{name}\" in this run (it has no JobSets)")
            }
            ExplainError::UnknownJobSet { name, known } => {
                write!(
                    f,
                    "no JobSet \"{name}\" in this run; JobSets in this run: {}",
                    known.join(", ")
                )
            }
            ExplainError::Ambiguous { name, candidates } => write!(
                f,
                "JobSet \"{name}\" exists in several namespaces; pass one of: {}",
                candidates.join(", ")
            ),
            ExplainError::NoTrace => write!(f, "explain needs a run with keep_trace: true"),
        }
    }
}

impl std::error::Error for ExplainError {}

/// Explains the failures and the end of JobSet `jobset` (`NAME` or `NAMESPACE/NAME`)
/// in the finished run `w`, which must have kept its trace.
pub fn explain(w: &World, jobset: &str) -> Result<String, ExplainError> {
    let trace: &[TraceEvent] = w.trace.keep.as_deref().ok_or(ExplainError::NoTrace)?;
    let (ns, name) = resolve(w, jobset)?;
    let rec = &w.history[&(ns.clone(), name.clone())];
    let js = find_jobset(w, &ns, &name);
    let fp = js.and_then(|j| j.spec.failure_policy.as_ref());
    let mut out = String::new();

    let shown = if ns == "default" && w.history.keys().filter(|(_, n)| *n == name).count() == 1 {
        name.clone()
    } else {
        format!("{ns}/{name}")
    };
    match fp {
        None => {
            let _ = writeln!(
                out,
                "JobSet {shown} (no failurePolicy: the first Job failure fails the JobSet)"
            );
        }
        Some(fp) => {
            let rules = match fp.rules.len() {
                0 => "no rules".to_string(),
                1 => "1 rule".to_string(),
                n => format!("{n} rules"),
            };
            let _ = writeln!(
                out,
                "JobSet {shown} (failurePolicy: maxRestarts {}, restartStrategy {}, {rules})",
                fp.max_restarts(),
                fp.strategy()
            );
        }
    }

    let created = trace
        .iter()
        .any(|e| e.event == "JobSetCreated" && is_jobset(e, &ns, &name));
    if !created {
        let why = rec.rejected.as_deref().unwrap_or("it was never created");
        let _ = writeln!(out, "rejected at admission: {why}");
        return Ok(out);
    }

    if let Some(q) = w.kueue.records.get(&(ns.clone(), name.clone())) {
        let cq = q
            .cluster_queue
            .as_deref()
            .map(|c| format!(" (ClusterQueue {c})"))
            .unwrap_or_default();
        let waiting = q.waited + q.waiting_since.map(|s| w.now.saturating_sub(s)).unwrap_or(0);
        match q.first_admitted {
            Some(t) => {
                let _ = writeln!(
                    out,
                    "queue {}{cq}: admitted at {} after waiting {} for quota; admissions {}, evictions {}",
                    q.queue,
                    fd(t),
                    fd(waiting),
                    q.admissions,
                    q.evictions
                );
            }
            None => {
                let _ = writeln!(out, "queue {}{cq}: never admitted (waited {})", q.queue, fd(waiting));
            }
        }
        if let Some((reason, msg)) = &q.pending {
            let _ = writeln!(out, "queue pending: {reason}: {msg}");
        }
    }

    let decisions = locate_decisions(w, trace, &ns, &name);
    if decisions.is_empty() {
        let _ = writeln!(out, "no Job failure reached the JobSet");
    }
    let width = decisions.iter().map(|d| fd(d.rec.t).len()).max().unwrap_or(0) + 2;
    let pad = " ".repeat(width);
    // Per-Job restarts (RestartJob actions), derived from earlier decisions: (rj, index) -> (all, counted).
    let mut job_restarts: BTreeMap<(String, i64), (i32, i32)> = BTreeMap::new();
    for (k, d) in decisions.iter().enumerate() {
        let dec = &d.rec.decision;
        let failed_at = failed_job_index(trace, d.at, &ns, &dec.job);
        let failed = failed_at.map(|i| &trace[i]);
        let attempt = failed.and_then(|f| f.restart_attempt).unwrap_or(0);
        let time = fd(d.rec.t);
        let mut notes = Vec::new();
        if attempt > 0 {
            notes.push(format!("restart attempt {attempt}"));
        }
        if let Some(n) = failed.and_then(|f| f.job_restart_attempt).filter(|n| *n > 0) {
            notes.push(format!("job restart attempt {n}"));
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join(", "))
        };
        // The engine reads the condition when it records the decision; the trace has it too.
        let (reason, message) = if d.rec.failure_reason.is_empty() {
            (
                failed.and_then(|f| f.reason.as_deref()).unwrap_or("?"),
                failed.and_then(|f| f.message.as_deref()).unwrap_or(""),
            )
        } else {
            (d.rec.failure_reason.as_str(), d.rec.failure_message.as_str())
        };
        let _ = writeln!(out, "{time:<width$}Job {}{notes} failed: {reason}: {message}", dec.job);
        match failed_at {
            Some(i) => {
                for line in causes(trace, i, &ns, w.sc.timing.pod_termination) {
                    let _ = writeln!(out, "{pad}{line}");
                }
            }
            None => {
                let _ = writeln!(out, "{pad}(the Job's failure is not in the trace)");
            }
        }
        let others = other_failed_jobs(trace, d, &decisions[..k], &ns, &name, attempt);
        if !others.is_empty() {
            let _ = writeln!(
                out,
                "{pad}also failed by then: {}; the policy acts once per reconcile, on {}",
                others.join(", "),
                dec.job
            );
        }

        // Rules.
        let rule_index = |rule: &str| {
            fp.and_then(|fp| fp.rules.iter().position(|r| r.name == rule))
                .map(|i| format!(" (#{i})"))
                .unwrap_or_default()
        };
        for (rule, why) in &dec.skipped_rules {
            let single = format!("{}: ", dec.job);
            match why.strip_prefix(&single).filter(|_| others.is_empty()) {
                Some(why) => {
                    let _ = writeln!(out, "{pad}rule {rule}{} did not match: {why}", rule_index(rule));
                }
                None => {
                    let _ = writeln!(
                        out,
                        "{pad}rule {rule}{} did not match any failed Job: {why}",
                        rule_index(rule)
                    );
                }
            }
        }
        match (&dec.rule, fp) {
            (Some(rule), _) => {
                let _ = writeln!(out, "{pad}rule {rule}{} matched -> {}", rule_index(rule), dec.action);
            }
            (None, Some(_)) => {
                let _ = writeln!(out, "{pad}no rule matched: the default action {}", dec.action);
            }
            (None, None) => {
                let _ = writeln!(out, "{pad}no failurePolicy: the JobSet fails (FailedJobs)");
            }
        }

        // Counters.
        let max = fp.map(|f| f.max_restarts()).unwrap_or(0);
        let per_job_counted: i32 = job_restarts.values().map(|(_, c)| c).sum();
        let counted_before = if w.sc.gates.restart_job {
            counted_before_decision(d.rec) + per_job_counted
        } else {
            counted_before_decision(d.rec)
        };
        let counters = |per_job: i32| {
            let mut s = format!(
                "restarts {}, restartsCountTowardsMax {}",
                d.rec.restarts, d.rec.restarts_count_towards_max
            );
            if per_job > 0 {
                let _ = write!(s, ", jobRestartsCountTowardsMax {per_job} in total");
            }
            s
        };
        let line = match (dec.failed_reason, dec.action.as_str()) {
            (Some(REASON_REACHED_MAX_RESTARTS), _) => format!(
                "not restarted: {counted_before} counted restart(s) already reached maxRestarts {max}, so the JobSet \
                 fails (ReachedMaxRestarts); {}",
                counters(per_job_counted)
            ),
            (Some(REASON_FAILED_JOBS), _) => format!("no restart ({})", counters(per_job_counted)),
            (Some(reason), _) => format!("the JobSet fails ({reason}); {}", counters(per_job_counted)),
            (None, "RestartJobSet") => format!(
                "restart {} of at most {max} counted ({})",
                d.rec.restarts_count_towards_max + per_job_counted,
                counters(per_job_counted)
            ),
            (None, "RestartJobSetAndIgnoreMaxRestarts") => format!(
                "restart {} not counted towards maxRestarts {max} ({})",
                d.rec.restarts,
                counters(per_job_counted)
            ),
            (None, action @ ("RestartJob" | "RestartJobAndIgnoreMaxRestarts")) => {
                let counts = action == "RestartJob";
                let rj = failed
                    .and_then(|f| f.replicated_job.as_deref())
                    .unwrap_or_default()
                    .to_string();
                let index = failed.and_then(|f| f.job_index).unwrap_or(0);
                let e = job_restarts.entry((rj.clone(), index)).or_default();
                e.0 += 1;
                if counts {
                    e.1 += 1;
                }
                let n = e.0;
                let per_job: i32 = job_restarts.values().map(|(_, c)| c).sum();
                let counted = d.rec.restarts_count_towards_max + per_job;
                let what = format!(
                    "only Job {} is recreated (jobRestarts[{index}] of {rj} is now {n})",
                    dec.job
                );
                if counts {
                    format!(
                        "{what}; restart {counted} of at most {max} counted ({})",
                        counters(per_job)
                    )
                } else {
                    format!("{what}; not counted towards maxRestarts {max} ({})", counters(per_job))
                }
            }
            (None, other) => format!("action {other} ({})", counters(per_job_counted)),
        };
        let _ = writeln!(out, "{pad}{line}");
    }

    // In-place restarts (§16) never reach the failure policy: they come from the trace.
    for e in trace.iter().filter(|e| is_jobset(e, &ns, &name)) {
        let a = e.attempt.unwrap_or(0);
        match e.event {
            "InPlaceRestartStarted" => {
                let _ = writeln!(
                    out,
                    "{}  in-place restart: a pod reported attempt {a}, so every pod at attempt {} or below restarts in place (restarts unchanged)",
                    fd(e.t),
                    a - 1
                );
            }
            "InPlaceAttemptCurrent" if a > 0 => {
                let _ = writeln!(out, "{}  every pod reached attempt {a}: barriers lifted", fd(e.t));
            }
            _ => {}
        }
    }
    let decided_failure = decisions.iter().any(|d| d.rec.decision.failed_reason.is_some());
    if rec.terminal_state == "Failed"
        && !decided_failure
        && rec
            .cause
            .as_deref()
            .is_some_and(|c| c.starts_with("ReachedMaxRestarts"))
    {
        let _ = writeln!(
            out,
            "the in-place restart step failed the JobSet: a container restarted more than maxRestarts times, or the pods' in-place attempts exceeded it"
        );
    }

    // The end.
    let (end, stop) = match w.stop {
        Some(StopReason::Horizon) => (w.sc.horizon, ", the run's horizon"),
        Some(StopReason::MaxEvents) => (w.now, " (the run hit its event budget)"),
        _ => (w.now, ""),
    };
    match (rec.terminal_state.as_str(), rec.finished_at) {
        ("Failed", Some(t)) => match &rec.cause {
            Some(c) => {
                let _ = writeln!(out, "Failed at {}: {c}", fd(t));
            }
            None => {
                let _ = writeln!(out, "Failed at {}", fd(t));
            }
        },
        (state, Some(t)) if !state.is_empty() => {
            let _ = writeln!(out, "{state} at {}", fd(t));
        }
        _ => match rec.deleted_at {
            Some(t) => {
                let _ = writeln!(out, "deleted at {} before reaching a terminal state", fd(t));
            }
            None => {
                let suspended = js.is_some_and(|j| crate::api::condition_true(&j.status.conditions, COND_SUSPENDED));
                let how = if suspended {
                    "still running (suspended)"
                } else {
                    "still running"
                };
                let _ = writeln!(out, "{how} at {}{stop}", fd(end));
            }
        },
    }
    if let (Some(t), true) = (rec.deleted_at, rec.finished_at.is_some()) {
        let _ = writeln!(out, "deleted at {}", fd(t));
    }
    if let Some(r) = &rec.rejected {
        let _ = writeln!(out, "note: another submission named {name} was rejected: {r}");
    }
    Ok(out)
}

/// A decision of the explained JobSet with the index of its first trace event.
struct Located<'a> {
    rec: &'a DecisionRecord,
    at: usize,
}

fn is_jobset(e: &TraceEvent, ns: &str, name: &str) -> bool {
    e.jobset.as_deref() == Some(name) && e.namespace.as_deref() == Some(ns)
}

/// Resolves `NAME` or `NAMESPACE/NAME` against every JobSet submitted in the run.
fn resolve(w: &World, jobset: &str) -> Result<(String, String), ExplainError> {
    if let Some((ns, name)) = jobset.split_once('/')
        && w.history.contains_key(&(ns.to_string(), name.to_string()))
    {
        return Ok((ns.to_string(), name.to_string()));
    }
    let matches: Vec<&(String, String)> = w.history.keys().filter(|(_, n)| n == jobset).collect();
    match matches.len() {
        1 => return Ok(matches[0].clone()),
        n if n > 1 => {
            return Err(ExplainError::Ambiguous {
                name: jobset.to_string(),
                candidates: matches.iter().map(|(ns, n)| format!("{ns}/{n}")).collect(),
            });
        }
        _ => {}
    }
    // Unknown: list the names (namespace/name where a name is in several namespaces), nearest first.
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, n) in w.history.keys() {
        *count.entry(n.as_str()).or_default() += 1;
    }
    let mut known: Vec<String> = w
        .history
        .keys()
        .map(|(ns, n)| {
            if count[n.as_str()] > 1 {
                format!("{ns}/{n}")
            } else {
                n.clone()
            }
        })
        .collect();
    known.sort();
    known.dedup();
    if let Some(near) = crate::input::nearest(jobset, known.iter().map(String::as_str)).map(str::to_string) {
        known.retain(|k| *k != near);
        known.insert(0, near);
    }
    Err(ExplainError::UnknownJobSet {
        name: jobset.to_string(),
        known,
    })
}

/// The JobSet as stored at the end of the run, or (deleted) as submitted.
fn find_jobset<'a>(w: &'a World, ns: &str, name: &str) -> Option<&'a JobSet> {
    if let Some(id) = w.jobset_id(ns, name) {
        return w.jobsets.get(id).map(|o| &o.js);
    }
    let sub_ns = |j: &JobSet| {
        if j.metadata.namespace.is_empty() {
            "default".to_string()
        } else {
            j.metadata.namespace.clone()
        }
    };
    w.sc.submissions
        .iter()
        .map(|s| &s.jobset)
        .filter(|j| sub_ns(j) == ns)
        .find(|j| {
            j.metadata.name == name
                || (j.metadata.name.is_empty()
                    && !j.metadata.generate_name.is_empty()
                    && name.len() == j.metadata.generate_name.chars().take(58).count() + 5
                    && name.starts_with(&j.metadata.generate_name.chars().take(58).collect::<String>()))
        })
}

/// Matches each decision of JobSets named `name` (any namespace) to the trace
/// events it produced, in order, and keeps those of namespace `ns`. Every
/// decision emits, at its time, `FailurePolicyRuleMatched` (a rule matched),
/// else `JobSetRestarting` (default restart), else `JobSetFailed`.
fn locate_decisions<'a>(w: &'a World, trace: &[TraceEvent], ns: &str, name: &str) -> Vec<Located<'a>> {
    let mut out = Vec::new();
    let mut cursor = 0usize;
    for rec in w.decisions.iter().filter(|d| d.jobset == name) {
        let d = &rec.decision;
        let first = |e: &TraceEvent| {
            e.t == rec.t
                && e.jobset.as_deref() == Some(name)
                && if d.rule.is_some() {
                    e.event == "FailurePolicyRuleMatched"
                        && e.rule == d.rule
                        && e.job.as_deref() == Some(d.job.as_str())
                } else if let Some(a) = d.restart_attempt {
                    e.event == "JobSetRestarting"
                        && e.rule.is_none()
                        && e.attempt == Some(i64::from(a))
                        && e.job.as_deref() == Some(d.job.as_str())
                } else {
                    e.event == "JobSetFailed" && e.reason.as_deref() == d.failed_reason
                }
        };
        let Some(off) = trace.get(cursor..).and_then(|s| s.iter().position(first)) else {
            continue;
        };
        let at = cursor + off;
        let ev_ns = trace[at].namespace.clone();
        let mut end = at;
        // The same decision's later lifecycle events (restart, failure) are skipped too.
        let extras = [
            ("JobSetRestarting", d.rule.is_some() && d.restart_attempt.is_some()),
            (
                "JobSetFailed",
                d.failed_reason.is_some() && (d.rule.is_some() || d.restart_attempt.is_some()),
            ),
        ];
        for (event, wanted) in extras {
            if !wanted {
                continue;
            }
            if let Some(off) = trace[end + 1..].iter().position(|e| {
                e.t == rec.t && e.event == event && e.jobset.as_deref() == Some(name) && e.namespace == ev_ns
            }) {
                end = end + 1 + off;
            }
        }
        cursor = end + 1;
        if ev_ns.as_deref() == Some(ns) {
            out.push(Located { rec, at });
        }
    }
    out
}

/// The trace index of the `JobFailed` event the decision at trace index `at` acted on.
fn failed_job_index(trace: &[TraceEvent], at: usize, ns: &str, job: &str) -> Option<usize> {
    trace[..at]
        .iter()
        .rposition(|e| e.event == "JobFailed" && e.job.as_deref() == Some(job) && e.namespace.as_deref() == Some(ns))
}

/// Same Job object incarnation: name, namespace and attempt labels.
fn same_job(e: &TraceEvent, f: &TraceEvent) -> bool {
    e.job == f.job
        && e.namespace == f.namespace
        && e.restart_attempt == f.restart_attempt
        && e.job_restart_attempt == f.job_restart_attempt
}

/// At most this many pod failures are listed per Job failure (the last ones).
const MAX_CAUSES: usize = 4;

/// Plain-words lines for what made the Job of the `JobFailed` event at `failed_at` fail.
fn causes(trace: &[TraceEvent], failed_at: usize, ns: &str, pod_termination: Millis) -> Vec<String> {
    let f = &trace[failed_at];
    // This incarnation of the Job starts at its latest JobCreated before the failure.
    let created_at = trace[..failed_at]
        .iter()
        .rposition(|e| e.event == "JobCreated" && same_job(e, f))
        .unwrap_or(0);
    let window = &trace[created_at..failed_at];
    let job = f.job.as_deref().unwrap_or_default();
    // Pod names and hostnames of this Job, for deleteObject faults.
    let mut pods: Vec<String> = Vec::new();
    for e in window.iter().filter(|e| e.event == "PodCreated" && same_job(e, f)) {
        if let Some(p) = &e.pod {
            pods.push(p.to_string());
        }
        if let Some(i) = e.pod_index {
            pods.push(format!("{job}-{i}"));
        }
    }
    // (is a pod failure, text)
    let mut items: Vec<(bool, String)> = Vec::new();
    for e in window {
        let pod = || {
            let mut s = format!("pod {}", e.pod.as_deref().unwrap_or("?"));
            if let Some(n) = &e.node {
                let _ = write!(s, " on node {n}");
            }
            s
        };
        match e.event {
            "PodFailed" if same_job(e, f) => {
                let code = e.exit_code.unwrap_or(0);
                let node = e.node.as_deref().unwrap_or("?");
                let t = fd(e.t);
                let what = match e.cause.as_deref() {
                    None => format!("container exited with code {code} at {t}"),
                    Some("podFailure") => {
                        format!("container exited with code {code} at {t} (injected podFailure fault)")
                    }
                    Some("NodeFailed") => {
                        format!("node {node} crashed at {t} (nodeFailure fault); the pod failed with exit code {code}")
                    }
                    Some("NodeFailure") => format!(
                        "a device of node {node} failed at {t} (nodeFailure fault, mode fail); the container was \
                         killed with exit code {code}"
                    ),
                    Some("ContainerStatusUnknown") => format!(
                        "node {node} came back at {t} without the pod's container (ContainerStatusUnknown, exit \
                         code {code})"
                    ),
                    Some("NodeDrain") => format!(
                        "node {node} was drained at {t} (nodeFailure fault, drain); the pod was terminated with \
                         exit code {code}"
                    ),
                    Some(other) => format!("the pod failed at {t} with exit code {code} ({other})"),
                };
                items.push((true, format!("{}: {what}", pod())));
            }
            "PodEvicted" if same_job(e, f) => {
                let node = e.node.as_deref().unwrap_or("?");
                let what = match e.reason.as_deref() {
                    Some("DeletionByTaintManager") => {
                        let crashed = window
                            .iter()
                            .rev()
                            .find(|g| g.event == "NodeFailed" && g.node.as_deref() == Some(node) && g.t <= e.t)
                            .map(|g| format!("node {node} crashed at {} and turned NotReady; ", fd(g.t)))
                            .unwrap_or_default();
                        format!(
                            "{crashed}the taint manager evicted the pod at {} (DisruptionTarget/\
                             DeletionByTaintManager); a deleted pod counts as failed",
                            fd(e.t)
                        )
                    }
                    Some("EvictionByEvictionAPI") => format!(
                        "node {node} was drained at {} and the pod evicted (DisruptionTarget/EvictionByEvictionAPI)",
                        fd(e.t)
                    ),
                    Some("ExclusivePlacementViolation") => format!(
                        "the JobSet pod controller evicted the pod at {} because its nodeSelector did not pin its \
                         leader's topology domain (DisruptionTarget/ExclusivePlacementViolation); a deleted pod counts \
                         as failed",
                        fd(e.t)
                    ),
                    other => format!("evicted at {} ({})", fd(e.t), other.unwrap_or("unknown reason")),
                };
                items.push((true, format!("{}: {what}", pod())));
            }
            "PodPreempted" if same_job(e, f) => {
                items.push((
                    true,
                    format!(
                        "{}: preempted at {} by a higher-priority pod (DisruptionTarget/PreemptionByScheduler)",
                        pod(),
                        fd(e.t)
                    ),
                ));
            }
            "ContainerRestarted" if same_job(e, f) => {
                let n = e.attempt.unwrap_or(0);
                items.push((
                    true,
                    format!(
                        "{}: its container failed and was restarted in place at {} (restart {n}; under restartPolicy \
                         OnFailure restarts count against backoffLimit)",
                        pod(),
                        fd(e.t)
                    ),
                ));
            }
            // Forced by a jobFailure fault: the Job controller's own FailureTarget carries a reason.
            "JobFailureTarget" if same_job(e, f) && e.reason.is_none() => {
                items.push((
                    false,
                    format!("an injected jobFailure fault at {} (no pod failed)", fd(e.t)),
                ));
            }
            "JobFailureTarget" if same_job(e, f) && e.reason.as_deref() == Some(JOB_REASON_DEADLINE) => {
                items.push((
                    false,
                    format!(
                        "activeDeadlineSeconds: the Job was active longer than its deadline (found at {})",
                        fd(e.t)
                    ),
                ));
            }
            "FaultInjected" if e.namespace.as_deref() == Some(ns) => {
                // A deleteObject fault on a pod of this Job, confirmed by that pod's PodDeleted
                // at once (unbound or finished) or after podTermination.
                let deleted = |target: &str| {
                    trace[created_at..]
                        .iter()
                        .take_while(|g| g.t <= e.t + pod_termination)
                        .find(|g| {
                            g.event == "PodDeleted"
                                && same_job(g, f)
                                && (g.t == e.t || g.t == e.t + pod_termination)
                                && (g.pod.as_deref() == Some(target)
                                    || g.pod_index.is_some_and(|i| format!("{job}-{i}") == target))
                        })
                };
                if let Some(target) = e.cause.as_deref().and_then(|c| c.strip_prefix("deleteObject Pod/"))
                    && pods.iter().any(|p| p == target)
                    && let Some(g) = deleted(target)
                {
                    let mut who = format!("pod {}", g.pod.as_deref().unwrap_or(target));
                    if let Some(n) = &g.node {
                        let _ = write!(who, " on node {n}");
                    }
                    items.push((
                        true,
                        format!(
                            "{who}: deleted at {} (deleteObject fault); a deleted running pod counts as failed",
                            fd(e.t)
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    match items.len() {
        0 => vec!["no pod failure of this Job is in the trace".to_string()],
        1 => vec![format!("caused by {}", items[0].1)],
        n => {
            let what = if items.iter().all(|(p, _)| *p) {
                "pod failures"
            } else {
                "failures"
            };
            let mut lines = vec![if n > MAX_CAUSES {
                format!("caused by {n} {what}, the last {MAX_CAUSES} of them:")
            } else {
                format!("caused by {n} {what}:")
            }];
            lines.extend(
                items
                    .split_off(n.saturating_sub(MAX_CAUSES))
                    .into_iter()
                    .map(|(_, t)| format!("  {t}")),
            );
            lines
        }
    }
}

/// Other Jobs of the same attempt that had failed when the decision was made
/// and were not acted on before (the policy acts once per reconcile).
fn other_failed_jobs(
    trace: &[TraceEvent],
    d: &Located<'_>,
    earlier: &[Located<'_>],
    ns: &str,
    name: &str,
    attempt: i64,
) -> Vec<String> {
    // This attempt began at the JobSet's creation or its restart to `attempt`.
    let start = trace[..d.at]
        .iter()
        .rposition(|e| {
            is_jobset(e, ns, name)
                && (e.event == "JobSetCreated" || (e.event == "JobSetRestarting" && e.attempt == Some(attempt)))
        })
        .unwrap_or(0);
    let window = &trace[start..d.at];
    let mut latest: BTreeMap<&str, (usize, &TraceEvent)> = BTreeMap::new();
    for (i, e) in window.iter().enumerate() {
        if e.event == "JobFailed"
            && is_jobset(e, ns, name)
            && e.restart_attempt == Some(attempt)
            && e.job.as_deref() != Some(d.rec.decision.job.as_str())
            && let Some(j) = e.job.as_deref()
        {
            latest.insert(j, (i, e));
        }
    }
    let mut out = Vec::new();
    for (job, (i, f)) in latest {
        // Gone (deleted or recreated) since it failed?
        let gone = window[i + 1..].iter().any(|e| {
            (e.event == "JobDeleted" || e.event == "JobCreated") && e.job == f.job && e.namespace == f.namespace
        });
        // Already acted on by an earlier decision (a per-Job restart)?
        let acted = earlier.iter().any(|x| {
            x.at >= start
                && x.rec.decision.job == job
                && failed_job_index(trace, x.at, ns, job).is_some_and(|g| same_job(&trace[g], f))
        });
        if !gone && !acted {
            out.push(format!("{job} ({})", f.reason.as_deref().unwrap_or("?")));
        }
    }
    out
}

/// `restartsCountTowardsMax` as it was when the decision was made.
fn counted_before_decision(rec: &DecisionRecord) -> i32 {
    let counted_now = rec.decision.action == "RestartJobSet" && rec.decision.restart_attempt.is_some();
    rec.restarts_count_towards_max - i32::from(counted_now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::RunOptions;
    use std::path::Path;
    use std::sync::Arc;

    /// A scenario with one JobSet `js` (replicated Jobs `a` x1 and `w` x2, one pod each,
    /// backoffLimit 0, restartPolicy Never), `spec_extra` under its spec, and `rest`
    /// (workload, faults) appended.
    fn scenario(spec_extra: &str, rest: &str) -> String {
        let rj = |name: &str, replicas: u32| {
            [
                format!("      - name: {name}"),
                format!("        replicas: {replicas}"),
                "        template:".into(),
                "          spec:".into(),
                "            backoffLimit: 0".into(),
                "            template:".into(),
                "              spec:".into(),
                "                restartPolicy: Never".into(),
                "                containers: [{name: c, image: x}]\n".into(),
            ]
            .join("\n")
        };
        format!(
            "name: t\ncluster:\n  nodePools: [{{name: n, count: 4, capacity: {{cpu: \"8\", memory: 32Gi}}}}]\n\
             timing: {{podStartup: 2s, podReady: 1s, podTermination: 3s}}\njobsets:\n- inline:\n    apiVersion: \
             jobset.x-k8s.io/v1alpha2\n    kind: JobSet\n    metadata: {{name: js}}\n    spec:\n{spec_extra}\n      \
             replicatedJobs:\n{}{}{rest}",
            rj("a", 1),
            rj("w", 2)
        )
    }

    fn run(text: &str) -> World {
        let sc = crate::scenario::parse_scenario(text, Path::new("x.yaml")).unwrap_or_else(|e| panic!("{e}"));
        let mut w = World::new(
            Arc::new(sc),
            RunOptions {
                keep_trace: true,
                ..Default::default()
            },
        );
        w.run();
        w
    }

    fn explained(text: &str) -> String {
        explain(&run(text), "js").unwrap_or_else(|e| panic!("{e}"))
    }

    fn has(out: &str, phrase: &str) {
        assert!(out.contains(phrase), "missing {phrase:?} in:\n{out}");
    }

    /// Job `js-w-1` exits with code 1 after 1 minute in attempt 0; everything else runs 10 minutes.
    const W1_CRASHES_ONCE: &str = "workload:\n- {match: {replicatedJob: w, jobIndex: 1, restartAttempt: 0}, runFor: \
                                   1m, exitCode: 1}\n- {runFor: 10m}\n";

    #[test]
    fn a_jobset_without_failures_says_so_in_one_line() {
        let out = explained(&scenario("", "workload:\n- {runFor: 1m}\n"));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert_eq!(
            lines[0],
            "JobSet js (no failurePolicy: the first Job failure fails the JobSet)"
        );
        assert_eq!(lines[1], "no Job failure reached the JobSet");
        assert!(lines[2].starts_with("Completed at 1m"), "{out}");
    }

    #[test]
    fn no_failure_policy_fails_the_jobset_with_failed_jobs() {
        let out = explained(&scenario("", W1_CRASHES_ONCE));
        has(
            &out,
            "Job js-w-1 failed: BackoffLimitExceeded: Job has reached the specified backoff limit",
        );
        has(&out, "caused by pod js-w-1-0-");
        has(&out, ": container exited with code 1 at 1m2.03s");
        has(&out, "no failurePolicy: the JobSet fails (FailedJobs)");
        has(&out, "no restart (restarts 0, restartsCountTowardsMax 0)");
        let last = out.lines().last().unwrap();
        assert!(last.starts_with("Failed at 1m3.04s: "), "{out}");
        assert!(
            last.ends_with("FailedJobs: jobset failed due to one or more job failures (first failed job: js-w-1)"),
            "{out}"
        );
    }

    #[test]
    fn a_default_restart_is_counted_and_the_jobset_later_completes() {
        let out = explained(&scenario("      failurePolicy: {maxRestarts: 2}", W1_CRASHES_ONCE));
        has(
            &out,
            "JobSet js (failurePolicy: maxRestarts 2, restartStrategy Recreate, no rules)",
        );
        has(&out, "no rule matched: the default action RestartJobSet");
        has(
            &out,
            "restart 1 of at most 2 counted (restarts 1, restartsCountTowardsMax 1)",
        );
        assert!(out.lines().last().unwrap().starts_with("Completed at "), "{out}");
        assert_eq!(out.matches(" failed: ").count(), 1, "{out}");
    }

    #[test]
    fn a_rule_that_does_not_match_says_why_and_the_next_one_matches() {
        let policy = "      failurePolicy:\n        maxRestarts: 3\n        rules:\n        - {name: onDeadline, \
                      action: FailJobSet, onJobFailureReasons: [DeadlineExceeded]}\n        - {name: onlyLeader, \
                      action: FailJobSet, targetReplicatedJobs: [a]}\n        - {name: restartOnCrash, action: \
                      RestartJobSet, onJobFailureReasons: [BackoffLimitExceeded]}";
        let out = explained(&scenario(policy, W1_CRASHES_ONCE));
        has(
            &out,
            "(failurePolicy: maxRestarts 3, restartStrategy Recreate, 3 rules)",
        );
        has(
            &out,
            "rule onDeadline (#0) did not match: reason BackoffLimitExceeded is not in onJobFailureReasons [\"DeadlineExceeded\"]",
        );
        has(
            &out,
            "rule onlyLeader (#1) did not match: replicated Job w is not in targetReplicatedJobs [\"a\"]",
        );
        has(&out, "rule restartOnCrash (#2) matched -> RestartJobSet");
        has(
            &out,
            "restart 1 of at most 3 counted (restarts 1, restartsCountTowardsMax 1)",
        );
        // Rules are listed in order, before the counters.
        let i0 = out.find("onDeadline (#0)").unwrap();
        let i2 = out.find("restartOnCrash (#2) matched").unwrap();
        assert!(i0 < i2);
    }

    #[test]
    fn exhausting_max_restarts_fails_the_jobset_with_reached_max_restarts() {
        let text = scenario(
            "      failurePolicy: {maxRestarts: 1}",
            "workload:\n- {match: {replicatedJob: w, jobIndex: 0}, runFor: 1m, exitCode: 1}\n- {runFor: 10m}\n",
        );
        let out = explained(&text);
        assert_eq!(out.matches("Job js-w-0").count(), 2, "{out}");
        has(
            &out,
            "restart 1 of at most 1 counted (restarts 1, restartsCountTowardsMax 1)",
        );
        has(&out, "Job js-w-0 (restart attempt 1) failed: BackoffLimitExceeded");
        has(
            &out,
            "not restarted: 1 counted restart(s) already reached maxRestarts 1, so the JobSet fails \
             (ReachedMaxRestarts); restarts 1, restartsCountTowardsMax 1",
        );
        let last = out.lines().last().unwrap();
        assert!(last.starts_with("Failed at "), "{out}");
        assert!(
            last.ends_with(
                "ReachedMaxRestarts: jobset failed due to reaching max number of restarts (first failed job: js-w-0)"
            ),
            "{out}"
        );
    }

    #[test]
    fn ignore_max_restarts_is_not_counted_and_faults_are_named() {
        let policy = "      failurePolicy:\n        maxRestarts: 0\n        rules:\n        - {name: always, action: \
                      RestartJobSetAndIgnoreMaxRestarts}";
        let rest = "workload:\n- {runFor: 10m}\nfaults:\n- at: 1m\n  podFailure: {replicatedJob: w, jobIndex: 0, \
                    restartAttempt: 0, exitCode: 42}\n- at: 3m\n  jobFailure: {replicatedJob: a, restartAttempt: 1, \
                    reason: DeadlineExceeded}\n";
        let out = explained(&scenario(policy, rest));
        has(&out, "container exited with code 42 at 1m (injected podFailure fault)");
        has(
            &out,
            "restart 1 not counted towards maxRestarts 0 (restarts 1, restartsCountTowardsMax 0)",
        );
        has(&out, "Job js-a-0 (restart attempt 1) failed: DeadlineExceeded");
        has(&out, "caused by an injected jobFailure fault at 3m (no pod failed)");
        has(
            &out,
            "restart 2 not counted towards maxRestarts 0 (restarts 2, restartsCountTowardsMax 0)",
        );
        assert!(out.lines().last().unwrap().starts_with("Completed at "), "{out}");
    }

    #[test]
    fn container_restarts_under_on_failure_are_the_cause() {
        let text = scenario("", W1_CRASHES_ONCE).replace("restartPolicy: Never", "restartPolicy: OnFailure");
        let out = explained(&text);
        has(&out, "Job js-w-1 failed: BackoffLimitExceeded");
        has(
            &out,
            ": its container failed and was restarted in place at 1m2.03s (restart 1;",
        );
    }

    #[test]
    fn a_jobset_still_running_at_the_horizon_says_so() {
        let out = explained(&format!("horizon: 5m\n{}", scenario("", "workload:\n- {runFor: 1h}\n")));
        has(
            &out,
            "no Job failure reached the JobSet\nstill running at 5m, the run's horizon\n",
        );
    }

    #[test]
    fn per_job_restarts_share_the_max_restarts_budget() {
        let policy = "      failurePolicy:\n        maxRestarts: 1\n        rules:\n        - {name: perJob, action: \
                      RestartJob, targetReplicatedJobs: [w]}";
        let rest = "workload:\n- {match: {replicatedJob: w, jobIndex: 1}, runFor: 1m, exitCode: 1}\n- {runFor: 10m}\n";
        let text = format!("featureGates: {{RestartJob: true}}\n{}", scenario(policy, rest));
        let out = explained(&text);
        has(
            &out,
            "only Job js-w-1 is recreated (jobRestarts[1] of w is now 1); restart 1 of at most 1 counted (restarts 0, \
             restartsCountTowardsMax 0, jobRestartsCountTowardsMax 1 in total)",
        );
        has(&out, "Job js-w-1 (job restart attempt 1) failed: BackoffLimitExceeded");
        has(
            &out,
            "not restarted: 1 counted restart(s) already reached maxRestarts 1, so the JobSet fails \
             (ReachedMaxRestarts); restarts 0, restartsCountTowardsMax 0, jobRestartsCountTowardsMax 1 in total",
        );
    }

    #[test]
    fn jobs_that_failed_together_are_named() {
        let rest = "workload:\n- {match: {replicatedJob: w}, runFor: 1m, exitCode: 1}\n- {runFor: 10m}\n";
        let out = explained(&scenario("", rest));
        has(&out, "Job js-w-0 failed: BackoffLimitExceeded");
        has(
            &out,
            "also failed by then: js-w-1 (BackoffLimitExceeded); the policy acts once per reconcile, on js-w-0",
        );
    }

    #[test]
    fn an_unknown_name_lists_the_jobsets_nearest_first() {
        let w = run(&scenario("", "workload:\n- {runFor: 1m}\n"));
        let e = explain(&w, "nope").unwrap_err();
        assert_eq!(
            e,
            ExplainError::UnknownJobSet {
                name: "nope".into(),
                known: vec!["js".into()]
            }
        );
        assert_eq!(e.to_string(), "no JobSet \"nope\" in this run; JobSets in this run: js");
        // Two JobSets: the nearest comes first even when it sorts last.
        let text = scenario("", "workload:\n- {runFor: 1m}\n").replace(
            "jobsets:\n",
            "jobsets:\n- inline: {apiVersion: jobset.x-k8s.io/v1alpha2, kind: JobSet, metadata: {name: aaaa}, spec: \
             {replicatedJobs: [{name: r, template: {spec: {template: {spec: {containers: [{name: c, image: \
             x}]}}}}}]}}\n",
        );
        let w = run(&text);
        match explain(&w, "jx").unwrap_err() {
            ExplainError::UnknownJobSet { known, .. } => assert_eq!(known, vec!["js", "aaaa"]),
            other => panic!("{other:?}"),
        }
        match explain(&w, "zzzzzzzz").unwrap_err() {
            ExplainError::UnknownJobSet { known, .. } => assert_eq!(known, vec!["aaaa", "js"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_run_without_a_kept_trace_is_an_error() {
        let sc = crate::scenario::parse_scenario(&scenario("", ""), Path::new("x.yaml")).unwrap();
        let mut w = World::new(Arc::new(sc), RunOptions::default());
        w.run();
        assert_eq!(explain(&w, "js").unwrap_err(), ExplainError::NoTrace);
    }
}
