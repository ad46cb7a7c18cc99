//! The error envelope (spec §3.5) and feature-gate parsing.

use super::schema::base;
use super::*;
use crate::admission::errors::{FieldErrorKind, Layer, Rejection, aggregate, go_quote};
use crate::admission::{KNOWN_GATES, admit_create};
use std::collections::BTreeMap;

#[test]
fn one_error_prints_bare_and_several_in_brackets() {
    let one = vec![FieldError::plain("a")];
    assert_eq!(aggregate(&one), "<nil>: Internal error: a");
    let two = vec![FieldError::plain("a"), FieldError::required("spec.x", "")];
    assert_eq!(aggregate(&two), "[<nil>: Internal error: a, spec.x: Required value]");
}

#[test]
fn duplicate_messages_are_collapsed_in_the_message_but_kept_as_causes() {
    let errs = vec![FieldError::plain("a"), FieldError::plain("b"), FieldError::plain("a")];
    let r = Rejection::new(Layer::Webhook, "js", errs);
    assert_eq!(
        r.message,
        "admission webhook \"vjobset.kb.io\" denied the request: JobSet.jobset.x-k8s.io \"js\" is invalid: [<nil>: \
         Internal error: a, <nil>: Internal error: b]"
    );
    assert_eq!(r.errors.len(), 3);
    let r = Rejection::new(
        Layer::Webhook,
        "js",
        vec![FieldError::plain("a"), FieldError::plain("a")],
    );
    assert!(
        r.message.ends_with("is invalid: <nil>: Internal error: a"),
        "{}",
        r.message
    );
}

#[test]
fn rejection_status_is_422_invalid() {
    let r = Rejection::new(Layer::Schema, "js", vec![FieldError::required("spec.x", "")]);
    assert_eq!((r.code(), r.reason()), (422, "Invalid"));
    assert_eq!(
        r.to_string(),
        "JobSet.jobset.x-k8s.io \"js\" is invalid: spec.x: Required value"
    );
    assert_eq!(r.errors[0].kind.cause_type(), "FieldValueRequired");
    assert_eq!(r.errors[0].body(), "Required value");
}

#[test]
fn plain_errors_are_internal_errors_with_a_nil_field() {
    let e = FieldError::plain("boom");
    assert_eq!(e.field, "<nil>");
    assert_eq!(e.kind, FieldErrorKind::Internal);
    assert_eq!(e.kind.cause_type(), "InternalError");
    assert_eq!(e.body(), "Internal error: boom");
}

#[test]
fn generate_name_rejections_carry_an_empty_name() {
    let mut js = base(vec![rjob("worker", 1)]);
    js.metadata.name.clear();
    js.metadata.generate_name = format!("{}-", "a".repeat(49));
    let r = admit_create(&mut js, &FeatureGates::default(), &no_pvc).unwrap_err();
    assert!(r.message.starts_with(
        "admission webhook \"vjobset.kb.io\" denied the request: JobSet.jobset.x-k8s.io \"\" is invalid: "
    ));
    assert_eq!(r.name, "");
}

#[test]
fn go_quoting_escapes_like_strconv_quote() {
    assert_eq!(go_quote("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\x01\"");
    assert_eq!(go_quote("héllo"), "\"héllo\"");
}

#[test]
fn feature_gates_parse_known_names() {
    let m = BTreeMap::from([
        ("RestartJob".to_string(), true),
        ("InPlaceRestart".to_string(), false),
        ("ElasticJobSet".to_string(), true),
        ("TLSOptions".to_string(), true),
    ]);
    assert_eq!(
        FeatureGates::from_map(&m),
        Ok(FeatureGates {
            restart_job: true,
            in_place_restart: false,
            elastic_jobset: true,
        })
    );
    assert_eq!(FeatureGates::from_map(&BTreeMap::new()), Ok(FeatureGates::default()));
    let g = gates_all();
    assert_eq!(FeatureGates::from_map(&g.to_map()), Ok(g));
    assert_eq!(KNOWN_GATES.len(), g.to_map().len());
}

#[test]
fn unknown_feature_gate_names_the_nearest_known_gate() {
    let m = BTreeMap::from([("ElasticJobsets".to_string(), true)]);
    assert_eq!(
        FeatureGates::from_map(&m),
        Err("unrecognized feature gate: ElasticJobsets; did you mean \"ElasticJobSet\"?".to_string())
    );
    let m = BTreeMap::from([("restartjob".to_string(), true)]);
    assert!(
        FeatureGates::from_map(&m)
            .unwrap_err()
            .contains("did you mean \"RestartJob\"?")
    );
    let m = BTreeMap::from([("ExecutionAttemptsTracking".to_string(), true)]);
    let e = FeatureGates::from_map(&m).unwrap_err();
    assert!(
        e.starts_with("unrecognized feature gate: ExecutionAttemptsTracking"),
        "{e}"
    );
}

#[test]
fn tls_options_is_locked_true() {
    let m = BTreeMap::from([("TLSOptions".to_string(), false)]);
    assert_eq!(
        FeatureGates::from_map(&m),
        Err("cannot set feature gate TLSOptions to false, feature is locked to true".to_string())
    );
}
