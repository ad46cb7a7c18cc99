//! Field errors and the rejection envelope, printed the way apimachinery prints them.
//!
//! Formatting follows `k8s.io/apimachinery/pkg/util/validation/field/errors.go` as of the
//! v0.35/v0.36 line (read at apimachinery commit 5db56492): `Error()` is `<field>: <body>`; the
//! body is the type text, then `: <bad value>` for the value-carrying types (Invalid,
//! Unsupported, Duplicate, Not found, Too many), then `: <detail>` when the detail is non-empty.
//! Bad values of Go kind `string` print with `%q`, int32/int64/bool with `%v`, and everything
//! else (pointers, named string types, structs, maps, slices, `nil`) as JSON. Older apimachinery
//! printed `%#v` (e.g. `map[string]interface {}{"name":"x"}`) and `"null"` instead; we follow
//! the version the spec pins (k8s.io/* v0.36).

use serde::Serialize;
use std::fmt;

/// apimachinery `field.ErrorType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldErrorKind {
    NotFound,
    Required,
    Duplicate,
    Invalid,
    NotSupported,
    Forbidden,
    TooLong,
    TooMany,
    Internal,
    TypeInvalid,
}

impl FieldErrorKind {
    /// The canonical text (`ErrorType.String()`).
    pub fn text(self) -> &'static str {
        match self {
            FieldErrorKind::NotFound => "Not found",
            FieldErrorKind::Required => "Required value",
            FieldErrorKind::Duplicate => "Duplicate value",
            FieldErrorKind::Invalid => "Invalid value",
            FieldErrorKind::NotSupported => "Unsupported value",
            FieldErrorKind::Forbidden => "Forbidden",
            FieldErrorKind::TooLong => "Too long",
            FieldErrorKind::TooMany => "Too many",
            FieldErrorKind::Internal => "Internal error",
            FieldErrorKind::TypeInvalid => "Invalid value",
        }
    }

    /// The `details.causes[].type` of the status (`metav1.CauseType`).
    pub fn cause_type(self) -> &'static str {
        match self {
            FieldErrorKind::NotFound => "FieldValueNotFound",
            FieldErrorKind::Required => "FieldValueRequired",
            FieldErrorKind::Duplicate => "FieldValueDuplicate",
            FieldErrorKind::Invalid => "FieldValueInvalid",
            FieldErrorKind::NotSupported => "FieldValueNotSupported",
            FieldErrorKind::Forbidden => "FieldValueForbidden",
            FieldErrorKind::TooLong => "FieldValueTooLong",
            FieldErrorKind::TooMany => "FieldValueTooMany",
            FieldErrorKind::Internal => "InternalError",
            FieldErrorKind::TypeInvalid => "FieldValueTypeInvalid",
        }
    }

    /// Kinds whose body never shows the bad value.
    fn omits_value(self) -> bool {
        matches!(
            self,
            FieldErrorKind::Required | FieldErrorKind::Forbidden | FieldErrorKind::TooLong | FieldErrorKind::Internal
        )
    }
}

/// One field error. `bad_value` is already rendered (`"abc"`, `-1`, `{"name":"x"}`, `null`);
/// `None` means the value is omitted from the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub kind: FieldErrorKind,
    pub bad_value: Option<String>,
    pub detail: String,
}

/// The field path apimachinery prints for a nil `*field.Path`.
pub const NIL_PATH: &str = "<nil>";

impl FieldError {
    fn new(
        field: impl Into<String>,
        kind: FieldErrorKind,
        bad_value: Option<String>,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            field: field.into(),
            kind,
            bad_value,
            detail: detail.into(),
        }
    }

    /// `field.Required(path, "")`.
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(field, FieldErrorKind::Required, None, detail)
    }

    /// `field.Invalid(path, <Go string>, detail)`: the value prints with `%q`.
    pub fn invalid_str(field: impl Into<String>, value: &str, detail: impl Into<String>) -> Self {
        Self::new(field, FieldErrorKind::Invalid, Some(go_quote(value)), detail)
    }

    /// `field.Invalid(path, <int32/int64>, detail)`.
    pub fn invalid_int(field: impl Into<String>, value: i64, detail: impl Into<String>) -> Self {
        Self::new(field, FieldErrorKind::Invalid, Some(value.to_string()), detail)
    }

    /// `field.Invalid(path, <any other Go value>, detail)`: the value prints as JSON.
    pub fn invalid_json<T: Serialize + ?Sized>(field: impl Into<String>, value: &T, detail: impl Into<String>) -> Self {
        Self::new(field, FieldErrorKind::Invalid, Some(go_json(value)), detail)
    }

    /// `field.Invalid` with a pre-rendered bad value.
    pub fn invalid_raw(field: impl Into<String>, rendered: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(field, FieldErrorKind::Invalid, Some(rendered.into()), detail)
    }

    /// `field.NotSupported(path, <Go string>, supported)`.
    pub fn not_supported(field: impl Into<String>, value: &str, supported: &[&str]) -> Self {
        let quoted: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
        let detail = if quoted.is_empty() {
            String::new()
        } else {
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(field, FieldErrorKind::NotSupported, Some(go_quote(value)), detail)
    }

    /// `field.Duplicate(path, value)` with a JSON-rendered value.
    pub fn duplicate_json<T: Serialize + ?Sized>(field: impl Into<String>, value: &T) -> Self {
        Self::new(field, FieldErrorKind::Duplicate, Some(go_json(value)), "")
    }

    /// `field.Forbidden(path, detail)`.
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(field, FieldErrorKind::Forbidden, None, detail)
    }

    /// `field.TooLong(path, value, max)` (also what the deprecated `TooLongMaxLength` returns).
    pub fn too_long(field: impl Into<String>, max: i64) -> Self {
        let detail = if max >= 0 {
            format!("may not be more than {max} {}", if max == 1 { "byte" } else { "bytes" })
        } else {
            "value is too long".to_string()
        };
        Self::new(field, FieldErrorKind::TooLong, None, detail)
    }

    /// `field.TooMany(path, actual, max)`.
    pub fn too_many(field: impl Into<String>, actual: i64, max: i64) -> Self {
        let detail = if max >= 0 {
            format!("must have at most {max} {}", if max == 1 { "item" } else { "items" })
        } else {
            "has too many items".to_string()
        };
        let bad = if actual >= 0 { Some(actual.to_string()) } else { None };
        Self::new(field, FieldErrorKind::TooMany, bad, detail)
    }

    /// `field.InternalError(path, err)`.
    pub fn internal(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(field, FieldErrorKind::Internal, None, message)
    }

    /// An untyped Go `error` returned by the webhook, which upstream wraps as
    /// `field.InternalError(nil, err)`: prints as `<nil>: Internal error: <message>`.
    pub fn plain(message: impl Into<String>) -> Self {
        Self::internal(NIL_PATH, message)
    }

    /// `ErrorBody()`: the message without the field path (also `details.causes[].message`).
    pub fn body(&self) -> String {
        let mut s = self.kind.text().to_string();
        if !self.kind.omits_value()
            && let Some(v) = &self.bad_value
        {
            s.push_str(": ");
            s.push_str(v);
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }

    /// Whether this is an untyped ("plain") webhook error.
    pub fn is_plain(&self) -> bool {
        self.field == NIL_PATH && self.kind == FieldErrorKind::Internal
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

impl std::error::Error for FieldError {}

/// Which layer refused the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// The apiserver itself: metadata, OpenAPI schema, list-map keys, CEL rules.
    Schema,
    /// The validating webhook `vjobset.kb.io`.
    Webhook,
}

/// A refused write: HTTP 422, reason `Invalid`, details group `jobset.x-k8s.io`, kind `JobSet`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The full client-facing status message.
    pub message: String,
    /// Every error (the `details.causes`), duplicates included, in emission order.
    pub errors: Vec<FieldError>,
    pub layer: Layer,
    /// `details.name`: the JobSet's `metadata.name` (may be empty with `generateName`).
    pub name: String,
}

/// HTTP status code of every rejection.
pub const STATUS_CODE: u16 = 422;
/// `status.reason` of every rejection.
pub const STATUS_REASON: &str = "Invalid";
/// The qualified kind printed in status messages.
pub const QUALIFIED_KIND: &str = "JobSet.jobset.x-k8s.io";
/// The prefix the apiserver adds to a webhook's denial.
pub const WEBHOOK_DENIED_PREFIX: &str = "admission webhook \"vjobset.kb.io\" denied the request: ";

impl Rejection {
    pub fn new(layer: Layer, name: &str, errors: Vec<FieldError>) -> Rejection {
        let status = invalid_status_message(name, &errors);
        let message = match layer {
            Layer::Schema => status,
            Layer::Webhook => format!("{WEBHOOK_DENIED_PREFIX}{status}"),
        };
        Rejection {
            message,
            errors,
            layer,
            name: name.to_string(),
        }
    }

    pub fn code(&self) -> u16 {
        STATUS_CODE
    }

    pub fn reason(&self) -> &'static str {
        STATUS_REASON
    }

    /// Whether any error's printed form contains `fragment`.
    pub fn mentions(&self, fragment: &str) -> bool {
        self.message.contains(fragment)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rejection {}

/// `apierrors.NewInvalid(...).Error()`: `JobSet.jobset.x-k8s.io "<name>" is invalid: <aggregate>`.
pub fn invalid_status_message(name: &str, errors: &[FieldError]) -> String {
    if errors.is_empty() {
        return format!("{QUALIFIED_KIND} {} is invalid", go_quote(name));
    }
    format!("{QUALIFIED_KIND} {} is invalid: {}", go_quote(name), aggregate(errors))
}

/// `ErrorList.ToAggregate().Error()`: duplicate messages collapsed (first occurrence kept), one
/// error printed bare, several as `[e1, e2, ...]`.
pub fn aggregate(errors: &[FieldError]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for e in errors {
        let s = e.to_string();
        if !seen.contains(&s) {
            seen.push(s);
        }
    }
    match seen.len() {
        0 => String::new(),
        1 => seen.remove(0),
        _ => format!("[{}]", seen.join(", ")),
    }
}

/// Go's `strconv.Quote` (what `%q` prints for a string).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => {
                let n = c as u32;
                if n < 0x10000 {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `json.Marshal` of a value: like serde_json, plus Go's HTML-safe escaping of `<`, `>`,
/// `&` and U+2028/U+2029. (Struct field order follows our Rust types, which mirror upstream's
/// JSON field order; map keys are sorted in both.)
pub fn go_json<T: Serialize + ?Sized>(value: &T) -> String {
    let s = serde_json::to_string(value).unwrap_or_else(|e| format!("\"<unrenderable: {e}>\""));
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// A Go field path with an index: `spec.replicatedJobs[0]`.
pub fn idx(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}
