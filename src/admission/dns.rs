//! Kubernetes name and label checks with apimachinery's exact messages
//! (`k8s.io/apimachinery/pkg/util/validation/validation.go` and
//! `k8s.io/apimachinery/pkg/api/validate/content`, v0.36 line). Each `is_*` function returns the
//! list of problems, empty when the value is valid, exactly like its Go counterpart.
//!
//! The regular expressions are implemented by hand (same language as the Go regexps, which are
//! anchored with `^...$`), so no regex engine is needed on these hot paths.

use super::errors::FieldError;

pub const DNS1123_LABEL_MAX_LENGTH: usize = 63;
pub const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;
pub const DNS1035_LABEL_MAX_LENGTH: usize = 63;
pub const LABEL_VALUE_MAX_LENGTH: usize = 63;

pub const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
pub const DNS1123_LABEL_ERR_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
pub const DNS1123_SUBDOMAIN_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
pub const DNS1123_SUBDOMAIN_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
pub const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
pub const DNS1035_LABEL_ERR_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
pub const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
pub const LABEL_VALUE_ERR_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
pub const HTTP_PATH_FMT: &str = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+";

/// `validation.MaxLenError`.
pub fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

/// `validation.RegexError` (note upstream's double space before `or`).
pub fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let mut s = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            s.push_str(" or ");
        }
        s.push('\'');
        s.push_str(e);
        s.push_str("', ");
    }
    s.push_str("regex used for validation is '");
    s.push_str(fmt);
    s.push_str("')");
    s
}

fn lower_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
fn matches_dns1123_label(v: &str) -> bool {
    let b = v.as_bytes();
    match b {
        [] => false,
        [only] => lower_alnum(*only),
        [first, mid @ .., last] => {
            lower_alnum(*first) && lower_alnum(*last) && mid.iter().all(|&c| lower_alnum(c) || c == b'-')
        }
    }
}

/// `^<label>(\.<label>)*$`
pub(crate) fn matches_dns1123_subdomain(v: &str) -> bool {
    !v.is_empty() && v.split('.').all(matches_dns1123_label)
}

/// `^[a-z]([-a-z0-9]*[a-z0-9])?$`
fn matches_dns1035_label(v: &str) -> bool {
    let b = v.as_bytes();
    match b {
        [] => false,
        [only] => only.is_ascii_lowercase(),
        [first, mid @ .., last] => {
            first.is_ascii_lowercase() && lower_alnum(*last) && mid.iter().all(|&c| lower_alnum(c) || c == b'-')
        }
    }
}

/// `^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$` (a label key's name part; non-empty).
pub(crate) fn matches_label_key_name(v: &str) -> bool {
    let b = v.as_bytes();
    let alnum = |c: u8| c.is_ascii_alphanumeric();
    match b {
        [] => false,
        [only] => alnum(*only),
        [first, mid @ .., last] => {
            alnum(*first) && alnum(*last) && mid.iter().all(|&c| alnum(c) || c == b'-' || c == b'_' || c == b'.')
        }
    }
}

/// `^[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$`
fn matches_http_path(v: &str) -> bool {
    !v.is_empty()
        && v.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"/-._~%!$&'()*+,;=:".contains(&c))
}

/// `validation.IsDNS1123Label`.
pub fn is_dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    if !matches_dns1123_label(value) {
        if matches_dns1123_subdomain(value) {
            errs.push("must not contain dots".to_string());
        } else {
            errs.push(regex_error(
                DNS1123_LABEL_ERR_MSG,
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

/// `validation.IsDNS1123Subdomain`.
pub fn is_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !matches_dns1123_subdomain(value) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_ERR_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// `validation.IsDNS1035Label`.
pub fn is_dns1035_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1035_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1035_LABEL_MAX_LENGTH));
    }
    if !matches_dns1035_label(value) {
        errs.push(regex_error(
            DNS1035_LABEL_ERR_MSG,
            DNS1035_LABEL_FMT,
            &["my-name", "abc-123"],
        ));
    }
    errs
}

/// `validation.IsValidLabelValue` (= `content.IsLabelValue`).
pub fn is_valid_label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LENGTH {
        errs.push(max_len_error(LABEL_VALUE_MAX_LENGTH));
    }
    if !value.is_empty() && !matches_label_key_name(value) {
        errs.push(regex_error(
            LABEL_VALUE_ERR_MSG,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// `validation.IsDomainPrefixedPath(fldPath, value)`.
pub fn is_domain_prefixed_path(field: &str, value: &str) -> Vec<FieldError> {
    if value.is_empty() {
        return vec![FieldError::required(field, "")];
    }
    let (host, path) = match value.split_once('/') {
        Some((h, p)) if !h.is_empty() && !p.is_empty() => (h, p),
        _ => {
            return vec![FieldError::invalid_str(
                field,
                value,
                "must be a domain-prefixed path (such as \"acme.io/foo\")",
            )];
        }
    };
    let mut errs: Vec<FieldError> = is_dns1123_subdomain(host)
        .into_iter()
        .map(|m| FieldError::invalid_str(field, host, m))
        .collect();
    if !matches_http_path(path) {
        errs.push(FieldError::invalid_str(
            field,
            path,
            regex_error("Invalid path", HTTP_PATH_FMT, &[]),
        ));
    }
    errs
}

/// apimachinery `api/validation.NameIsDNSSubdomain(name, prefix)`: the check the apiserver applies
/// to a custom resource's `metadata.name` (and, with `prefix`, to `generateName`, whose trailing
/// dash is masked first).
pub fn name_is_dns_subdomain(name: &str, prefix: bool) -> Vec<String> {
    if prefix {
        is_dns1123_subdomain(&mask_trailing_dash(name))
    } else {
        is_dns1123_subdomain(name)
    }
}

/// apimachinery's `maskTrailingDash` (which, as upstream does, drops the character before the
/// dash too: `name[:len(name)-2] + "a"`).
fn mask_trailing_dash(name: &str) -> String {
    if name.len() > 1 && name.ends_with('-') {
        let cut = name.len() - 2;
        if name.is_char_boundary(cut) {
            return format!("{}a", &name[..cut]);
        }
    }
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns1035_messages_match_apimachinery() {
        assert!(is_dns1035_label("my-name").is_empty());
        assert!(is_dns1035_label("a").is_empty());
        assert_eq!(
            is_dns1035_label("username.llama65b"),
            vec![
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic \
                 character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for \
                 validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
                    .to_string()
            ]
        );
        assert_eq!(
            is_dns1035_label(&"a".repeat(64)),
            vec!["must be no more than 63 characters".to_string()]
        );
        assert!(is_dns1035_label(&"a".repeat(63)).is_empty());
        assert_eq!(is_dns1035_label("1abc").len(), 1);
        assert_eq!(is_dns1035_label("").len(), 1);
        assert_eq!(is_dns1035_label("abc-").len(), 1);
        assert!(is_dns1035_label("js-rj--1").is_empty(), "double dash is fine");
    }

    #[test]
    fn dns1123_messages_match_apimachinery() {
        assert!(is_dns1123_subdomain("example.com").is_empty());
        assert_eq!(
            is_dns1123_subdomain("InvalidVolumeName"),
            vec![
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and \
                 must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is \
                 '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                    .to_string()
            ]
        );
        assert_eq!(is_dns1123_subdomain(&"a".repeat(254)), vec![max_len_error(253)]);
        assert!(is_dns1123_subdomain("a..b").len() == 1);
        assert_eq!(is_dns1123_label("a.b"), vec!["must not contain dots".to_string()]);
        assert!(is_dns1123_label("Ab")[0].contains("(e.g. 'my-name',  or '123-abc'"));
    }

    #[test]
    fn label_values() {
        assert!(is_valid_label_value("").is_empty());
        assert!(is_valid_label_value("a-b_c.d").is_empty());
        assert_eq!(is_valid_label_value(&"a".repeat(64)), vec![max_len_error(63)]);
        assert!(is_valid_label_value("-a")[0].starts_with("a valid label must be an empty string"));
        assert!(is_valid_label_value("x.y-0-0.z").is_empty());
    }

    #[test]
    fn domain_prefixed_paths() {
        assert!(is_domain_prefixed_path("spec.managedBy", "jobset.sigs.k8s.io/jobset-controller").is_empty());
        let e = is_domain_prefixed_path("spec.managedBy", "notDomainPrefixedPathControllerName");
        assert_eq!(e.len(), 1);
        assert_eq!(
            e[0].to_string(),
            "spec.managedBy: Invalid value: \"notDomainPrefixedPathControllerName\": must be a domain-prefixed path \
             (such as \"acme.io/foo\")"
        );
        assert_eq!(is_domain_prefixed_path("f", "")[0].to_string(), "f: Required value");
        let e = is_domain_prefixed_path("f", "Foo.com/a b");
        assert_eq!(e.len(), 2);
        assert!(
            e[0].to_string()
                .starts_with("f: Invalid value: \"Foo.com\": a lowercase RFC 1123 subdomain")
        );
        assert_eq!(
            e[1].to_string(),
            "f: Invalid value: \"a b\": Invalid path (regex used for validation is '[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+')"
        );
    }

    #[test]
    fn generate_name_prefix_is_masked() {
        assert!(name_is_dns_subdomain("pytorch-", true).is_empty());
        assert!(!name_is_dns_subdomain("pytorch-", false).is_empty());
    }
}
