//! `check --junit FILE`: the results of `check` as JUnit XML, the format CI systems (GitHub
//! Actions reporters, GitLab, Jenkins) read. One `<testsuite>` per scenario file, one
//! `<testcase>` per expectation; an invariant violation is a failing case named `invariants`,
//! a scenario that does not load is an `<error>`. Every suite carries its seed, trace hash and
//! one-line repro as properties, so a red CI run can be replayed from the report alone.

/// One expectation's outcome.
#[derive(Debug, Clone, Default)]
pub struct Case {
    pub name: String,
    pub message: String,
    pub ok: bool,
}

/// One scenario file's results.
#[derive(Debug, Clone, Default)]
pub struct Suite {
    pub name: String,
    pub seed: u64,
    pub trace_hash: String,
    pub repro: String,
    pub cases: Vec<Case>,
    /// The violated invariant, when the run stopped on one.
    pub invariant: Option<String>,
    /// The loader's error, when the file is not a valid scenario.
    pub load_error: Option<String>,
}

impl Suite {
    /// True when an expectation failed or an invariant broke (a load error is not a failure but an error).
    pub fn failed(&self) -> bool {
        self.invariant.is_some() || self.cases.iter().any(|c| !c.ok)
    }
}

/// Renders the suites (each with its wall time in seconds) as a JUnit XML document.
pub fn render(suites: &[(Suite, f64)]) -> String {
    let mut tests = 0;
    let mut failures = 0;
    let mut errors = 0;
    let mut body = String::new();
    for (s, secs) in suites {
        let (t, f, e) = render_suite(&mut body, s, *secs);
        tests += t;
        failures += f;
        errors += e;
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"jobset-sim check\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">\n{body}</testsuites>\n"
    )
}

/// Appends one `<testsuite>`; returns its (tests, failures, errors).
fn render_suite(out: &mut String, s: &Suite, secs: f64) -> (usize, usize, usize) {
    let name = escape(&s.name);
    let mut cases = String::new();
    let (mut tests, mut failures, mut errors) = (0, 0, 0);
    if let Some(e) = &s.load_error {
        tests += 1;
        errors += 1;
        cases.push_str(&format!(
            "    <testcase classname=\"{name}\" name=\"load\">\n      <error message=\"the scenario does not load\">{}</error>\n    </testcase>\n",
            escape(e)
        ));
    }
    for c in &s.cases {
        tests += 1;
        let case_name = escape(&c.name);
        if c.ok {
            cases.push_str(&format!("    <testcase classname=\"{name}\" name=\"{case_name}\"/>\n"));
        } else {
            failures += 1;
            cases.push_str(&format!(
                "    <testcase classname=\"{name}\" name=\"{case_name}\">\n      <failure message=\"{}\">{}\nrepro: {}</failure>\n    </testcase>\n",
                escape(&c.message),
                escape(&c.message),
                escape(&s.repro)
            ));
        }
    }
    if s.load_error.is_none() {
        tests += 1;
        match &s.invariant {
            None => cases.push_str(&format!("    <testcase classname=\"{name}\" name=\"invariants\"/>\n")),
            Some(v) => {
                failures += 1;
                cases.push_str(&format!(
                    "    <testcase classname=\"{name}\" name=\"invariants\">\n      <failure message=\"invariant violated\">{}\nrepro: {}</failure>\n    </testcase>\n",
                    escape(v),
                    escape(&s.repro)
                ));
            }
        }
    }
    let props = if s.load_error.is_some() {
        String::new()
    } else {
        format!(
            "    <properties>\n      <property name=\"seed\" value=\"{}\"/>\n      <property name=\"traceHash\" value=\"{}\"/>\n      <property name=\"repro\" value=\"{}\"/>\n    </properties>\n",
            s.seed,
            escape(&s.trace_hash),
            escape(&s.repro)
        )
    };
    out.push_str(&format!(
        "  <testsuite name=\"{name}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{secs:.3}\">\n{props}{cases}  </testsuite>\n"
    ));
    (tests, failures, errors)
}

/// XML-escapes text for both attributes and element content; drops characters XML 1.0 forbids.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\n' | '\t' | '\r' => o.push(c),
            c if (c as u32) < 0x20 => {}
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suite(cases: &[(&str, bool)]) -> Suite {
        Suite {
            name: "scenarios/a.yaml".into(),
            seed: 4,
            trace_hash: "00ff".into(),
            repro: "jobset-sim run scenarios/a.yaml --seed 4".into(),
            cases: cases
                .iter()
                .map(|(n, ok)| Case {
                    name: n.to_string(),
                    message: format!("{n} <was> \"x\" & y"),
                    ok: *ok,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn counts_tests_failures_and_errors_over_all_suites() {
        let mut broken = Suite {
            name: "b.yaml".into(),
            ..Default::default()
        };
        broken.load_error = Some("b.yaml: bad".into());
        let xml = render(&[
            (suite(&[("expect[0]", true), ("expect[1]", false)]), 0.5),
            (broken, 0.0),
        ]);
        assert!(xml.contains("<testsuites name=\"jobset-sim check\" tests=\"4\" failures=\"1\" errors=\"1\">"));
        assert!(
            xml.contains("tests=\"3\" failures=\"1\" errors=\"0\" time=\"0.500\""),
            "{xml}"
        );
        assert!(xml.contains("<property name=\"repro\" value=\"jobset-sim run scenarios/a.yaml --seed 4\"/>"));
        assert!(xml.contains("<error message=\"the scenario does not load\">b.yaml: bad</error>"));
    }

    #[test]
    fn failure_messages_are_escaped_and_carry_the_repro() {
        let xml = render(&[(suite(&[("expect[1]", false)]), 0.0)]);
        assert!(
            xml.contains("message=\"expect[1] &lt;was&gt; &quot;x&quot; &amp; y\""),
            "{xml}"
        );
        assert!(xml.contains("\nrepro: jobset-sim run scenarios/a.yaml --seed 4</failure>"));
    }

    #[test]
    fn an_invariant_violation_is_a_failing_case() {
        let mut s = suite(&[]);
        s.invariant = Some("invariant time-monotonic violated".into());
        assert!(s.failed());
        let xml = render(&[(s, 0.0)]);
        assert!(xml.contains("<testcase classname=\"scenarios/a.yaml\" name=\"invariants\">\n      <failure"));
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(escape("a\u{1}b\tc"), "ab\tc");
    }
}
