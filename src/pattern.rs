//! Failure-policy message patterns (`onJobFailureMessagePatterns`) with Go RE2 semantics.
//!
//! The JobSet controller calls Go's `regexp.MatchString(pattern, message)` for each pattern: an
//! unanchored search, where a pattern that does not compile is logged and skipped. The simulator runs
//! the same patterns through the `regex` crate, whose syntax and semantics differ from Go's in many small
//! ways (design §1.11). Parsing with `regex_syntax` and patching its AST is not enough, because the two
//! parsers tokenize differently before any AST exists: `[a--b]` is a class difference in Rust but an
//! invalid range `a`–`-` in Go, `a{,5}` and `a{01}` are repetitions in Rust but literal text in Go,
//! `(?ii)` is valid Go but rejected by Rust, `\b{start}` is a Rust boundary but `\b` plus literal text
//! in Go. So this module is a port of the Go parser's front end (`regexp/syntax/parse.go`, Go 1.25,
//! with `regexp.Compile`'s `Perl` flags): it walks the pattern exactly as Go does, reports the errors Go
//! reports (same wording), and emits an equivalent pattern that uses only constructs whose meaning is
//! identical in both engines:
//!
//! * every literal is escaped or written `\x{..}`, and case-insensitive atoms are wrapped in `(?i:..)`;
//! * every Perl, POSIX and Unicode class is written as an explicit bracket class (`\d` → `[0-9]`,
//!   `\s` → `[\t\n\f\r ]`, `\w` → `[0-9A-Za-z_]`, `\pL` → `[\p{gc=L}]`, `\p{Greek}` → `[\p{sc=Greek}]`);
//! * `\b` / `\B` become the ASCII `(?-u:\b)` / `(?-u:\B)`; `^`, `$`, `.` carry their flags explicitly;
//! * flag groups are applied while parsing, so the emitted pattern has no flag state of its own;
//! * groups are emitted as non-capturing groups (captures do not affect a match/no-match answer).
//!
//! Go's limits are enforced: repeat counts above 1000, nested repeat products above 1000
//! (`(?:\w{100}){100}` is rejected), parse-tree height above 1000 and program size above about 3.3M
//! instructions (the last two are estimated on the emitted tree, not on Go's factored tree).
//!
//! Known residual differences, none of which affect ASCII messages: Unicode tables (Go 1.25 ships
//! Unicode 15.0, `regex-syntax` 0.8 ships 16.0, so characters assigned in 15.1/16.0 differ in
//! `\p{..}` classes and case folding), and Go's limit on the total number of class runes (about 26k
//! `\pL` classes), which is not modelled. The `\p{..}` names follow Go 1.25, which matches names
//! case-insensitively ignoring spaces, underscores and hyphens and accepts `Any`, `ASCII`, `Assigned`,
//! `Cn`, `LC` and the general-category aliases (`Letter`, `Uppercase_Letter`, …); Go 1.24 and older
//! only accept exact category and script names.

use std::fmt;

use regex::{Regex, RegexBuilder};

/// A failure-policy message pattern compiled with Go RE2 semantics.
#[derive(Clone, Debug)]
pub enum GoPattern {
    /// The pattern compiles in Go; this is an equivalent `regex` for an unanchored search.
    Compiled(Regex),
    /// Go's `regexp.Compile` rejects the pattern (the reason is Go's error text where possible).
    InvalidInGo(String),
}

/// Compiles `pattern` the way Go's `regexp.Compile` would, for use as a JobSet message pattern.
pub fn compile_go_pattern(pattern: &str) -> GoPattern {
    match translate(pattern) {
        Err(e) => GoPattern::InvalidInGo(e.to_string()),
        Ok(t) => match build(t) {
            Ok(re) => GoPattern::Compiled(re),
            Err(reason) => GoPattern::InvalidInGo(reason),
        },
    }
}

impl GoPattern {
    /// Unanchored search like Go's regexp.MatchString; an invalid pattern never matches (JobSet logs and skips it).
    pub fn is_match(&self, message: &str) -> bool {
        match self {
            GoPattern::Compiled(re) => re.is_match(message),
            GoPattern::InvalidInGo(_) => false,
        }
    }

    /// Why Go rejects the pattern, or `None` if it compiles.
    pub fn invalid_reason(&self) -> Option<&str> {
        match self {
            GoPattern::Compiled(_) => None,
            GoPattern::InvalidInGo(reason) => Some(reason),
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Go's limits and error codes (regexp/syntax/parse.go).

const MAX_REPEAT: i32 = 1000;
const MAX_HEIGHT: u32 = 1000;
const MAX_SIZE: i64 = (128 << 20) / 40;
/// Heap the `regex` crate may use for one compiled pattern. Go-valid patterns such as `\pL{1000}` need
/// far more than the default 10 MiB.
const RUST_SIZE_LIMIT: usize = 256 << 20;
const RUST_NEST_LIMIT: u32 = 10_000;
/// Above this nesting depth the pattern is compiled on a helper thread with a large stack: `regex`'s
/// compiler recurses once per nesting level, and Go allows a parse-tree height of 1000.
const DEEP_NESTING: usize = 64;
const DEEP_STACK: usize = 256 << 20;

const ERR_INVALID_CHAR_RANGE: &str = "invalid character class range";
const ERR_INVALID_ESCAPE: &str = "invalid escape sequence";
const ERR_INVALID_NAMED_CAPTURE: &str = "invalid named capture";
const ERR_INVALID_PERL_OP: &str = "invalid or unsupported Perl syntax";
const ERR_INVALID_REPEAT_OP: &str = "invalid nested repetition operator";
const ERR_INVALID_REPEAT_SIZE: &str = "invalid repeat count";
const ERR_MISSING_BRACKET: &str = "missing closing ]";
const ERR_MISSING_PAREN: &str = "missing closing )";
const ERR_MISSING_REPEAT_ARGUMENT: &str = "missing argument to repetition operator";
const ERR_TRAILING_BACKSLASH: &str = "trailing backslash at end of expression";
const ERR_UNEXPECTED_PAREN: &str = "unexpected )";
const ERR_NESTING_DEPTH: &str = "expression nests too deeply";
const ERR_LARGE: &str = "expression too large";

/// A Go `*syntax.Error`.
#[derive(Debug, PartialEq)]
struct GoError {
    code: &'static str,
    expr: String,
}

impl GoError {
    fn new(code: &'static str, expr: &str) -> GoError {
        GoError {
            code,
            expr: expr.to_owned(),
        }
    }
}

impl fmt::Display for GoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error parsing regexp: {}: `{}`", self.code, self.expr)
    }
}

type GoResult<T> = Result<T, GoError>;

// ---------------------------------------------------------------------------------------------------
// Compiling the translation.

struct Translation {
    rust: String,
}

/// The deepest nesting of groups and classes in a pattern this module emitted (every literal `(`,
/// `)`, `[` or `]` in it is escaped).
fn nesting_depth(rust: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut chars = rust.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '(' | '[' => {
                depth += 1;
                max = max.max(depth);
            }
            ')' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

fn build(t: Translation) -> Result<Regex, String> {
    let compile = |rust: &str| {
        RegexBuilder::new(rust)
            .size_limit(RUST_SIZE_LIMIT)
            .nest_limit(RUST_NEST_LIMIT)
            .build()
    };
    let result = if nesting_depth(&t.rust) <= DEEP_NESTING {
        compile(&t.rust)
    } else {
        let rust = t.rust;
        std::thread::Builder::new()
            .name("go-pattern-compile".to_owned())
            .stack_size(DEEP_STACK)
            .spawn(move || compile(&rust))
            .map_err(|e| format!("cannot start the compiler thread for a deeply nested pattern: {e}"))?
            .join()
            .map_err(|_| "the regex compiler panicked on a deeply nested pattern".to_owned())?
    };
    result.map_err(|e| match e {
        regex::Error::CompiledTooBig(limit) => format!(
            "{ERR_LARGE}: the pattern is valid in Go but its compiled form exceeds the simulator's {limit}-byte regex size limit"
        ),
        other => format!("internal error: the Go-compatible translation was rejected by the regex crate: {other}"),
    })
}

// ---------------------------------------------------------------------------------------------------
// Parser state.

/// The subset of Go's parse flags that can change while parsing a `Perl` pattern.
#[derive(Clone, Copy, Debug)]
struct Flags {
    fold_case: bool,
    one_line: bool,
    dot_nl: bool,
    non_greedy: bool,
}

/// `regexp.Compile` parses with `syntax.Perl` = ClassNL | OneLine | PerlX | UnicodeGroups.
const PERL: Flags = Flags {
    fold_case: false,
    one_line: true,
    dot_nl: false,
    non_greedy: false,
};

/// A counted repetition `{min,max}` (max = -1 when open), with the counted repetitions inside it.
#[derive(Clone, Debug)]
struct Rep {
    min: i32,
    max: i32,
    inner: Vec<Rep>,
}

/// Go's `repeatIsValid`: the product of nested counted repetitions must not exceed `n`.
fn reps_valid(reps: &[Rep], n: i32) -> bool {
    reps.iter().all(|r| rep_valid(r, n))
}

fn rep_valid(r: &Rep, mut n: i32) -> bool {
    if r.max == 0 {
        return true;
    }
    let m = if r.max < 0 { r.min } else { r.max };
    if m > n {
        return false;
    }
    if m > 0 {
        n /= m;
    }
    reps_valid(&r.inner, n)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    /// A single atom: a postfix operator applies to all of it.
    Atom,
    /// Ends in a repetition operator; must be wrapped before another one is applied.
    Repeat,
    /// An assertion; wrapped before a repetition operator to keep the `regex` parser happy.
    Assertion,
}

/// How an item sits in Go's parse tree, for the height estimate. Go elides non-capturing groups and
/// flattens a concatenation inside a concatenation (merging adjacent literals into one string node)
/// and an alternation inside an alternation.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Node {
    /// A single literal character (merges with neighbouring literals).
    Literal,
    /// Any other single node.
    Other,
    /// A concatenation of `units` nodes (after literal merging), the tallest of height `child`.
    Concat {
        units: u32,
        child: u32,
        first_literal: bool,
        last_literal: bool,
    },
    /// An alternation of `branches` nodes, the tallest of height `child`.
    Alternate { branches: u32, child: u32 },
}

/// One element of a concatenation, already in Rust syntax.
#[derive(Debug)]
struct Item {
    text: String,
    shape: Shape,
    node: Node,
    reps: Vec<Rep>,
    /// Go's `calcSize` estimate.
    size: i64,
    /// Go's parse-tree height estimate.
    height: u32,
}

impl Item {
    fn leaf(text: String, shape: Shape) -> Item {
        Item {
            text,
            shape,
            node: Node::Other,
            reps: Vec::new(),
            size: 1,
            height: 1,
        }
    }
}

struct Frame {
    /// Flags to restore when the group closes.
    saved: Flags,
    capture: bool,
    alternatives: Vec<Vec<Item>>,
    current: Vec<Item>,
}

impl Frame {
    fn new(saved: Flags, capture: bool) -> Frame {
        Frame {
            saved,
            capture,
            alternatives: Vec::new(),
            current: Vec::new(),
        }
    }
}

#[derive(Clone, Copy)]
enum RepeatOp {
    Star,
    Plus,
    Quest,
    Counted(i32, i32),
}

struct Parser<'a> {
    whole: &'a str,
    flags: Flags,
    stack: Vec<Frame>,
}

/// Translates a Go pattern into an equivalent Rust pattern, or returns Go's parse error.
fn translate(s: &str) -> GoResult<Translation> {
    let mut p = Parser {
        whole: s,
        flags: PERL,
        stack: vec![Frame::new(PERL, false)],
    };
    let b = s.as_bytes();
    let mut i = 0;
    let mut last_repeat: Option<usize> = None;
    while i < b.len() {
        let mut repeat = None;
        match b[i] {
            b'(' => {
                if b.get(i + 1) == Some(&b'?') {
                    i = p.parse_perl_flags(i)?;
                } else {
                    p.open(true);
                    i += 1;
                }
            }
            b'|' => {
                p.vertical_bar();
                i += 1;
            }
            b')' => {
                p.right_paren()?;
                i += 1;
            }
            b'^' => {
                let text = if p.flags.one_line { r"\A" } else { "(?m:^)" };
                p.push(Item::leaf(text.to_owned(), Shape::Assertion))?;
                i += 1;
            }
            b'$' => {
                let text = if p.flags.one_line { r"\z" } else { "(?m:$)" };
                p.push(Item::leaf(text.to_owned(), Shape::Assertion))?;
                i += 1;
            }
            b'.' => {
                let text = if p.flags.dot_nl { "(?s:.)" } else { "." };
                p.push(Item::leaf(text.to_owned(), Shape::Atom))?;
                i += 1;
            }
            b'[' => i = p.parse_class(i)?,
            op @ (b'*' | b'+' | b'?') => {
                let op = match op {
                    b'*' => RepeatOp::Star,
                    b'+' => RepeatOp::Plus,
                    _ => RepeatOp::Quest,
                };
                let after = p.repeat(op, i, i + 1, last_repeat)?;
                repeat = Some(i);
                i = after;
            }
            b'{' => match parse_repeat(&s[i..]) {
                None => {
                    // If the repeat cannot be parsed, { is a literal.
                    p.literal('{' as u32)?;
                    i += 1;
                }
                Some((min, max, len)) => {
                    let after = i + len;
                    if !(0..=MAX_REPEAT).contains(&min) || max > MAX_REPEAT || (max >= 0 && min > max) {
                        return Err(GoError::new(ERR_INVALID_REPEAT_SIZE, &s[i..after]));
                    }
                    let after = p.repeat(RepeatOp::Counted(min, max), i, after, last_repeat)?;
                    repeat = Some(i);
                    i = after;
                }
            },
            b'\\' => i = p.parse_backslash(i)?,
            _ => {
                let c = s[i..].chars().next().expect("index is on a char boundary");
                p.literal(c as u32)?;
                i += c.len_utf8();
            }
        }
        last_repeat = repeat;
    }
    p.finish()
}

impl Parser<'_> {
    fn err(&self, code: &'static str) -> GoError {
        GoError::new(code, self.whole)
    }

    fn top(&mut self) -> &mut Frame {
        self.stack.last_mut().expect("the top-level frame is never popped")
    }

    /// Go's `checkLimits` for a newly built node.
    fn check_limits(&self, item: &Item) -> GoResult<()> {
        if item.size > MAX_SIZE {
            return Err(self.err(ERR_LARGE));
        }
        if item.height > MAX_HEIGHT {
            return Err(self.err(ERR_NESTING_DEPTH));
        }
        Ok(())
    }

    fn push(&mut self, item: Item) -> GoResult<()> {
        self.check_limits(&item)?;
        self.top().current.push(item);
        Ok(())
    }

    fn literal(&mut self, r: u32) -> GoResult<()> {
        let mut item = match char::from_u32(r) {
            // A surrogate code point never occurs in a Rust string (Go decodes bad UTF-8 as U+FFFD).
            None => Item::leaf(NEVER.to_owned(), Shape::Atom),
            Some(c) => {
                let text = literal_text(c);
                if self.flags.fold_case && (c.is_alphabetic() || !c.is_ascii()) {
                    Item::leaf(format!("(?i:{text})"), Shape::Atom)
                } else {
                    Item::leaf(text, Shape::Atom)
                }
            }
        };
        item.node = Node::Literal;
        self.push(item)
    }

    fn open(&mut self, capture: bool) {
        let saved = self.flags;
        self.stack.push(Frame::new(saved, capture));
    }

    fn vertical_bar(&mut self) {
        let top = self.top();
        let current = std::mem::take(&mut top.current);
        top.alternatives.push(current);
    }

    fn right_paren(&mut self) -> GoResult<()> {
        if self.stack.len() < 2 {
            return Err(self.err(ERR_UNEXPECTED_PAREN));
        }
        let frame = self.stack.pop().expect("checked above");
        self.flags = frame.saved;
        let item = close_frame(frame);
        self.push(item)
    }

    fn finish(mut self) -> GoResult<Translation> {
        if self.stack.len() != 1 {
            return Err(self.err(ERR_MISSING_PAREN));
        }
        let frame = self.stack.pop().expect("checked above");
        let item = close_frame(frame);
        self.check_limits(&item)?;
        Ok(Translation { rust: item.text })
    }

    /// Go's `repeat`: applies `op` to the last item. `before..after` is the operator text.
    fn repeat(&mut self, op: RepeatOp, before: usize, after: usize, last_repeat: Option<usize>) -> GoResult<usize> {
        let s = self.whole;
        let mut after = after;
        let mut non_greedy = self.flags.non_greedy;
        if s.as_bytes().get(after) == Some(&b'?') {
            after += 1;
            non_greedy = !non_greedy;
        }
        if let Some(last) = last_repeat {
            // In Perl it is not allowed to stack repetition operators: a** is a syntax error.
            return Err(GoError::new(ERR_INVALID_REPEAT_OP, &s[last..after]));
        }
        let Some(sub) = self.top().current.pop() else {
            return Err(GoError::new(ERR_MISSING_REPEAT_ARGUMENT, &s[before..after]));
        };
        let base = match sub.shape {
            Shape::Atom => sub.text,
            Shape::Repeat | Shape::Assertion => format!("(?:{})", sub.text),
        };
        let lazy = if non_greedy { "?" } else { "" };
        let (text, size, reps) = match op {
            RepeatOp::Star => (format!("{base}*{lazy}"), 2 + sub.size, sub.reps),
            RepeatOp::Plus => (format!("{base}+{lazy}"), 1 + sub.size, sub.reps),
            RepeatOp::Quest => (format!("{base}?{lazy}"), 1 + sub.size, sub.reps),
            RepeatOp::Counted(min, max) => {
                let count = match max {
                    -1 => format!("{{{min},}}"),
                    _ if max == min => format!("{{{min}}}"),
                    _ => format!("{{{min},{max}}}"),
                };
                let (min64, max64) = (i64::from(min), i64::from(max));
                let size = if max < 0 {
                    if min == 0 { 2 + sub.size } else { 1 + min64 * sub.size }
                } else {
                    max64 * sub.size + (max64 - min64)
                };
                (
                    format!("{base}{count}{lazy}"),
                    size,
                    vec![Rep {
                        min,
                        max,
                        inner: sub.reps,
                    }],
                )
            }
        };
        let item = Item {
            text,
            shape: Shape::Repeat,
            node: Node::Other,
            reps,
            size: size.max(1),
            height: sub.height + 1,
        };
        self.check_limits(&item)?;
        if let RepeatOp::Counted(min, max) = op
            && (min >= 2 || max >= 2)
            && !reps_valid(&item.reps, MAX_REPEAT)
        {
            return Err(GoError::new(ERR_INVALID_REPEAT_SIZE, &s[before..after]));
        }
        self.top().current.push(item);
        Ok(after)
    }

    /// Go's `parsePerlFlags`: `(?flags)`, `(?flags:`, `(?P<name>` and `(?<name>`. `start` is at `(`.
    fn parse_perl_flags(&mut self, start: usize) -> GoResult<usize> {
        let s = self.whole;
        let t = &s[start..];
        let tb = t.as_bytes();
        let starts_with_p = tb.len() > 4 && tb[2] == b'P' && tb[3] == b'<';
        let starts_with_name = tb.len() > 3 && tb[2] == b'<';
        if starts_with_p || starts_with_name {
            let expr_start = if starts_with_name { 3 } else { 4 };
            let Some(end) = t.find('>') else {
                return Err(GoError::new(ERR_INVALID_NAMED_CAPTURE, t));
            };
            let capture = &t[..=end];
            let name = &t[expr_start..end];
            if name.is_empty() || !name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()) {
                return Err(GoError::new(ERR_INVALID_NAMED_CAPTURE, capture));
            }
            self.open(true);
            return Ok(start + end + 1);
        }

        // Non-capturing group. Might also twiddle Perl flags.
        let mut flags = self.flags;
        let mut negated = false;
        let mut saw_flag = false;
        let mut pos = start + 2;
        while let Some(c) = s[pos..].chars().next() {
            pos += c.len_utf8();
            match c {
                'i' => flags.fold_case = !negated,
                'm' => flags.one_line = negated,
                's' => flags.dot_nl = !negated,
                'U' => flags.non_greedy = !negated,
                '-' => {
                    if negated {
                        break;
                    }
                    negated = true;
                    saw_flag = false;
                    continue;
                }
                ':' | ')' => {
                    if negated && !saw_flag {
                        break;
                    }
                    if c == ':' {
                        self.open(false);
                    }
                    self.flags = flags;
                    return Ok(pos);
                }
                _ => break,
            }
            saw_flag = true;
        }
        Err(GoError::new(ERR_INVALID_PERL_OP, &s[start..pos]))
    }

    /// A backslash outside a class. `start` is at `\`.
    fn parse_backslash(&mut self, start: usize) -> GoResult<usize> {
        let t = &self.whole[start..];
        let tb = t.as_bytes();
        if tb.len() >= 2 {
            let assertion = match tb[1] {
                b'A' => Some(r"\A"),
                b'b' => Some(r"(?-u:\b)"),
                b'B' => Some(r"(?-u:\B)"),
                b'z' => Some(r"\z"),
                b'C' => return Err(GoError::new(ERR_INVALID_ESCAPE, &t[..2])),
                b'Q' => {
                    // \Q ... \E: the ... is always literals.
                    let rest = &t[2..];
                    let (lit, len) = match rest.find(r"\E") {
                        Some(k) => (&rest[..k], 2 + k + 2),
                        None => (rest, t.len()),
                    };
                    for c in lit.chars() {
                        self.literal(c as u32)?;
                    }
                    return Ok(start + len);
                }
                _ => None,
            };
            if let Some(text) = assertion {
                self.push(Item::leaf(text.to_owned(), Shape::Assertion))?;
                return Ok(start + 2);
            }
        }
        if let Some((class, negated, len)) = parse_unicode_class(t)? {
            let mut buf = ClassBuf::default();
            buf.add_unicode(class, false);
            let item = Item::leaf(buf.finish(negated, self.flags.fold_case), Shape::Atom);
            self.push(item)?;
            return Ok(start + len);
        }
        if let Some((perl, len)) = parse_perl_class(t) {
            let mut buf = ClassBuf::default();
            buf.add_perl(perl);
            let item = Item::leaf(buf.finish(false, self.flags.fold_case), Shape::Atom);
            self.push(item)?;
            return Ok(start + len);
        }
        let (r, len) = parse_escape(t)?;
        self.literal(r)?;
        Ok(start + len)
    }

    /// Go's `parseClass`. `start` is at `[`.
    fn parse_class(&mut self, start: usize) -> GoResult<usize> {
        let s = self.whole;
        let whole_class = &s[start..];
        let b = s.as_bytes();
        let mut i = start + 1;
        let mut negated = false;
        if b.get(i) == Some(&b'^') {
            negated = true;
            i += 1;
        }
        let mut buf = ClassBuf::default();
        let mut first = true; // ] and - are okay as first char in class
        while i >= b.len() || b[i] != b']' || first {
            first = false;
            let t = &s[i..];
            // Look for POSIX [:alnum:] etc.
            if t.len() > 2
                && t.starts_with("[:")
                && let Some((ranges, neg, len)) = parse_named_class(t)?
            {
                buf.add_ranges(ranges, neg);
                i += len;
                continue;
            }
            // Look for Unicode character group like \p{Han}.
            if let Some((class, neg, len)) = parse_unicode_class(t)? {
                buf.add_unicode(class, neg);
                i += len;
                continue;
            }
            // Look for Perl character class symbols (extension).
            if let Some((perl, len)) = parse_perl_class(t) {
                buf.add_perl(perl);
                i += len;
                continue;
            }
            // Single character or simple range.
            let range_start = i;
            let (lo, len) = parse_class_char(t, whole_class)?;
            i += len;
            let mut hi = lo;
            // [a-] means (a|-) so check for final ].
            if b.len() >= i + 2 && b[i] == b'-' && b[i + 1] != b']' {
                i += 1;
                let (h, len) = parse_class_char(&s[i..], whole_class)?;
                i += len;
                hi = h;
                if hi < lo {
                    return Err(GoError::new(ERR_INVALID_CHAR_RANGE, &s[range_start..i]));
                }
            }
            buf.add_range(lo, hi);
        }
        let item = Item::leaf(buf.finish(negated, self.flags.fold_case), Shape::Atom);
        self.push(item)?;
        Ok(i + 1)
    }
}

/// Builds the item for a closed group (or the whole pattern).
fn close_frame(frame: Frame) -> Item {
    let mut alternatives = frame.alternatives;
    alternatives.push(frame.current);
    let branches: Vec<Item> = alternatives.into_iter().map(concat).collect();
    let mut item = alternate(branches);
    item.text = format!("(?:{})", item.text);
    item.shape = Shape::Atom;
    if frame.capture {
        item.node = Node::Other;
        item.size += 2;
        item.height += 1;
    }
    item
}

/// An alternation (Go's `alternate` + `collapse`, without prefix factoring).
fn alternate(mut branches: Vec<Item>) -> Item {
    if branches.len() == 1 {
        return branches.pop().expect("one branch");
    }
    let (mut count, mut child) = (0, 0);
    for b in &branches {
        match b.node {
            Node::Alternate { branches, child: c } => {
                count += branches;
                child = child.max(c);
            }
            _ => {
                count += 1;
                child = child.max(b.height);
            }
        }
    }
    let text = branches.iter().map(|b| b.text.as_str()).collect::<Vec<_>>().join("|");
    let size = branches.iter().map(|b| b.size).sum::<i64>() + branches.len() as i64 - 1;
    let reps = branches.into_iter().flat_map(|b| b.reps).collect();
    let node = Node::Alternate { branches: count, child };
    Item {
        text,
        shape: Shape::Atom,
        node,
        reps,
        size,
        height: 1 + child,
    }
}

/// A concatenation (Go's `concat` + `collapse`): nested concatenations are flattened and runs of
/// literals count as one string node.
fn concat(items: Vec<Item>) -> Item {
    if items.len() == 1 {
        return items.into_iter().next().expect("one item");
    }
    if items.is_empty() {
        return Item::leaf(String::new(), Shape::Atom);
    }
    let (mut units, mut child) = (0, 0);
    let (mut first_literal, mut last_literal) = (None, false);
    for it in &items {
        let (u, c, first, last) = match it.node {
            Node::Literal => (1, 1, true, true),
            Node::Other | Node::Alternate { .. } => (1, it.height, false, false),
            Node::Concat {
                units,
                child,
                first_literal,
                last_literal,
            } => (units, child, first_literal, last_literal),
        };
        units += u;
        if last_literal && first {
            units -= 1;
        }
        first_literal.get_or_insert(first);
        last_literal = last;
        child = child.max(c);
    }
    let (node, height) = match units {
        1 if last_literal => (Node::Literal, 1),
        1 => (Node::Other, child),
        _ => {
            let first_literal = first_literal.unwrap_or(false);
            (
                Node::Concat {
                    units,
                    child,
                    first_literal,
                    last_literal,
                },
                1 + child,
            )
        }
    };
    let size = items.iter().map(|it| it.size).sum::<i64>().max(1);
    let text = items.iter().map(|it| it.text.as_str()).collect();
    let reps = items.into_iter().flat_map(|it| it.reps).collect();
    Item {
        text,
        shape: Shape::Atom,
        node,
        reps,
        size,
        height,
    }
}

// ---------------------------------------------------------------------------------------------------
// Lexical helpers, ported from Go.

/// Go's `parseRepeat`: `{min}`, `{min,}` or `{min,max}`; min = -1 when a number is too big.
fn parse_repeat(s: &str) -> Option<(i32, i32, usize)> {
    let b = s.as_bytes();
    if b.first() != Some(&b'{') {
        return None;
    }
    let mut i = 1;
    let (mut min, len) = parse_int(&b[i..])?;
    i += len;
    let max;
    match b.get(i) {
        None => return None,
        Some(b',') => {
            i += 1;
            match b.get(i) {
                None => return None,
                Some(b'}') => max = -1,
                Some(_) => {
                    let (m, len) = parse_int(&b[i..])?;
                    i += len;
                    max = m;
                    if max < 0 {
                        min = -1;
                    }
                }
            }
        }
        Some(_) => max = min,
    }
    if b.get(i) != Some(&b'}') {
        return None;
    }
    Some((min, max, i + 1))
}

/// Go's `parseInt`: decimal digits without leading zeros; -1 when the value reaches 1e8.
fn parse_int(b: &[u8]) -> Option<(i32, usize)> {
    if !b.first()?.is_ascii_digit() {
        return None;
    }
    if b.len() >= 2 && b[0] == b'0' && b[1].is_ascii_digit() {
        return None;
    }
    let len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut n: i32 = 0;
    for &d in &b[..len] {
        if n >= 100_000_000 {
            n = -1;
            break;
        }
        n = n * 10 + i32::from(d - b'0');
    }
    Some((n, len))
}

fn unhex(c: Option<char>) -> Option<u32> {
    c.and_then(|c| c.to_digit(16))
}

/// Go's `parseEscape`: a single-character escape at the start of `t` (which starts with `\`).
/// Returns the code point (possibly a surrogate, as Go allows) and the escape's length.
fn parse_escape(t: &str) -> GoResult<(u32, usize)> {
    let rest = &t[1..];
    let Some(c) = rest.chars().next() else {
        return Err(GoError::new(ERR_TRAILING_BACKSLASH, ""));
    };
    let mut pos = 1 + c.len_utf8();
    let next = |pos: usize| t[pos..].chars().next();
    let is_octal = |c: Option<char>| matches!(c, Some('0'..='7'));
    match c {
        // Octal; a single non-zero digit would be a backreference, which is not supported.
        '0'..='7' if c == '0' || is_octal(next(pos)) => {
            let mut r = c as u32 - '0' as u32;
            for _ in 1..3 {
                match next(pos) {
                    Some(d @ '0'..='7') => {
                        r = r * 8 + (d as u32 - '0' as u32);
                        pos += 1;
                    }
                    _ => break,
                }
            }
            return Ok((r, pos));
        }
        'x' => {
            if let Some(c2) = next(pos) {
                pos += c2.len_utf8();
                if c2 == '{' {
                    // Any number of hex digits in braces, at least one.
                    let mut nhex = 0;
                    let mut r: u32 = 0;
                    while let Some(c3) = next(pos) {
                        pos += c3.len_utf8();
                        if c3 == '}' {
                            if nhex > 0 {
                                return Ok((r, pos));
                            }
                            break;
                        }
                        let Some(v) = unhex(Some(c3)) else { break };
                        r = r * 16 + v;
                        if r > 0x10FFFF {
                            break;
                        }
                        nhex += 1;
                    }
                } else {
                    // Easy case: two hex digits.
                    let x = unhex(Some(c2));
                    let c3 = next(pos);
                    if let Some(c3) = c3 {
                        pos += c3.len_utf8();
                    }
                    if let (Some(x), Some(y)) = (x, unhex(c3)) {
                        return Ok((x * 16 + y, pos));
                    }
                }
            }
        }
        'a' => return Ok((7, pos)),
        'f' => return Ok((12, pos)),
        'n' => return Ok((10, pos)),
        'r' => return Ok((13, pos)),
        't' => return Ok((9, pos)),
        'v' => return Ok((11, pos)),
        // Escaped non-word characters are always themselves.
        _ if c.is_ascii() && !c.is_ascii_alphanumeric() => return Ok((c as u32, pos)),
        _ => {}
    }
    Err(GoError::new(ERR_INVALID_ESCAPE, &t[..pos]))
}

/// Go's `parseClassChar`.
fn parse_class_char(t: &str, whole_class: &str) -> GoResult<(u32, usize)> {
    match t.chars().next() {
        None => Err(GoError::new(ERR_MISSING_BRACKET, whole_class)),
        Some('\\') => parse_escape(t),
        Some(c) => Ok((c as u32, c.len_utf8())),
    }
}

#[derive(Clone, Copy, Debug)]
enum Perl {
    Digit(bool),
    Space(bool),
    Word(bool),
}

/// Go's `parsePerlClassEscape`: `\d \D \s \S \w \W`, all ASCII.
fn parse_perl_class(t: &str) -> Option<(Perl, usize)> {
    let b = t.as_bytes();
    if b.len() < 2 || b[0] != b'\\' {
        return None;
    }
    let class = match b[1] {
        b'd' => Perl::Digit(false),
        b'D' => Perl::Digit(true),
        b's' => Perl::Space(false),
        b'S' => Perl::Space(true),
        b'w' => Perl::Word(false),
        b'W' => Perl::Word(true),
        _ => return None,
    };
    Some((class, 2))
}

const DIGIT: &[(u32, u32)] = &[(0x30, 0x39)];
/// Go's `\s` is `[\t\n\f\r ]`: no `\v`, unlike `[[:space:]]` and unlike Rust's `\s`.
const PERL_SPACE: &[(u32, u32)] = &[(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)];
const WORD: &[(u32, u32)] = &[(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)];

/// Go's POSIX classes (`perl_groups.go`), all ASCII.
const POSIX_CLASSES: &[(&str, &[(u32, u32)])] = &[
    ("alnum", &[(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)]),
    ("alpha", &[(0x41, 0x5A), (0x61, 0x7A)]),
    ("ascii", &[(0x00, 0x7F)]),
    ("blank", &[(0x09, 0x09), (0x20, 0x20)]),
    ("cntrl", &[(0x00, 0x1F), (0x7F, 0x7F)]),
    ("digit", DIGIT),
    ("graph", &[(0x21, 0x7E)]),
    ("lower", &[(0x61, 0x7A)]),
    ("print", &[(0x20, 0x7E)]),
    ("punct", &[(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)]),
    ("space", &[(0x09, 0x0D), (0x20, 0x20)]),
    ("upper", &[(0x41, 0x5A)]),
    ("word", WORD),
    ("xdigit", &[(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)]),
];

type NamedClass = (&'static [(u32, u32)], bool, usize);

/// Go's `parseNamedClass`: `[:alpha:]` or `[:^alpha:]` at the start of `t`.
fn parse_named_class(t: &str) -> GoResult<Option<NamedClass>> {
    let Some(k) = t[2..].find(":]") else {
        return Ok(None);
    };
    let len = k + 4;
    let name = &t[..len];
    let inner = &name[2..name.len() - 2];
    let (negated, inner) = match inner.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, inner),
    };
    match POSIX_CLASSES.iter().find(|(n, _)| *n == inner) {
        Some((_, ranges)) => Ok(Some((ranges, negated, len))),
        None => Err(GoError::new(ERR_INVALID_CHAR_RANGE, name)),
    }
}

/// A Unicode class Go knows by name.
#[derive(Clone, Copy, Debug, PartialEq)]
enum UnicodeClass {
    Any,
    Ascii,
    Assigned,
    Category(&'static str),
    Script(&'static str),
}

/// Go's `parseUnicodeClass`: `\pL`, `\p{Name}`, `\P{Name}`, `\p{^Name}` at the start of `t`.
/// Returns the class, whether it is negated, and the length consumed.
fn parse_unicode_class(t: &str) -> GoResult<Option<(UnicodeClass, bool, usize)>> {
    let b = t.as_bytes();
    if b.len() < 2 || b[0] != b'\\' || (b[1] != b'p' && b[1] != b'P') {
        return Ok(None);
    }
    let mut negated = b[1] == b'P';
    let (seq, mut name) = match t[2..].chars().next() {
        Some('{') => {
            let Some(end) = t.find('}') else {
                return Err(GoError::new(ERR_INVALID_CHAR_RANGE, t));
            };
            (&t[..=end], &t[3..end])
        }
        // Single-letter name (an empty name when the pattern ends after \p).
        Some(c) => (&t[..2 + c.len_utf8()], &t[2..2 + c.len_utf8()]),
        None => (&t[..2], ""),
    };
    // Group can have leading negation too. \p{^Han} == \P{Han}, \P{^Han} == \p{Han}.
    if let Some(rest) = name.strip_prefix('^') {
        negated = !negated;
        name = rest;
    }
    match lookup_unicode_class(name) {
        Some(class) => Ok(Some((class, negated, seq.len()))),
        None => Err(GoError::new(ERR_INVALID_CHAR_RANGE, seq)),
    }
}

/// Go 1.25's `canonicalName`: drop spaces, underscores and hyphens; first letter upper case, the rest
/// lower case (ASCII only).
fn canonical_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().filter(|c| !matches!(c, '_' | '-' | ' ')) {
        if out.is_empty() {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The keys of Go's `unicode.Categories` (Go 1.25 added `Cn`; `LC` is special-cased by the parser).
const GO_CATEGORIES: &[&str] = &[
    "C", "Cc", "Cf", "Cn", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn", "N", "Nd", "Nl", "No",
    "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm", "So", "Z", "Zl", "Zp", "Zs",
];

/// General-category aliases from Unicode's PropertyValueAliases.txt (Go 1.25 `unicode.CategoryAliases`).
const GO_CATEGORY_ALIASES: &[(&str, &str)] = &[
    ("Other", "C"),
    ("Control", "Cc"),
    ("cntrl", "Cc"),
    ("Format", "Cf"),
    ("Unassigned", "Cn"),
    ("Private_Use", "Co"),
    ("Surrogate", "Cs"),
    ("Letter", "L"),
    ("Cased_Letter", "LC"),
    ("Lowercase_Letter", "Ll"),
    ("Modifier_Letter", "Lm"),
    ("Other_Letter", "Lo"),
    ("Titlecase_Letter", "Lt"),
    ("Uppercase_Letter", "Lu"),
    ("Mark", "M"),
    ("Combining_Mark", "M"),
    ("Spacing_Mark", "Mc"),
    ("Enclosing_Mark", "Me"),
    ("Nonspacing_Mark", "Mn"),
    ("Number", "N"),
    ("Decimal_Number", "Nd"),
    ("digit", "Nd"),
    ("Letter_Number", "Nl"),
    ("Other_Number", "No"),
    ("Punctuation", "P"),
    ("punct", "P"),
    ("Connector_Punctuation", "Pc"),
    ("Dash_Punctuation", "Pd"),
    ("Close_Punctuation", "Pe"),
    ("Final_Punctuation", "Pf"),
    ("Initial_Punctuation", "Pi"),
    ("Other_Punctuation", "Po"),
    ("Open_Punctuation", "Ps"),
    ("Symbol", "S"),
    ("Currency_Symbol", "Sc"),
    ("Modifier_Symbol", "Sk"),
    ("Math_Symbol", "Sm"),
    ("Other_Symbol", "So"),
    ("Separator", "Z"),
    ("Line_Separator", "Zl"),
    ("Paragraph_Separator", "Zp"),
    ("Space_Separator", "Zs"),
];

/// The keys of Go's `unicode.Scripts` (Unicode 15.0.0, as shipped by Go 1.21 to 1.25).
const GO_SCRIPTS: &[&str] = &[
    "Adlam",
    "Ahom",
    "Anatolian_Hieroglyphs",
    "Arabic",
    "Armenian",
    "Avestan",
    "Balinese",
    "Bamum",
    "Bassa_Vah",
    "Batak",
    "Bengali",
    "Bhaiksuki",
    "Bopomofo",
    "Brahmi",
    "Braille",
    "Buginese",
    "Buhid",
    "Canadian_Aboriginal",
    "Carian",
    "Caucasian_Albanian",
    "Chakma",
    "Cham",
    "Cherokee",
    "Chorasmian",
    "Common",
    "Coptic",
    "Cuneiform",
    "Cypriot",
    "Cypro_Minoan",
    "Cyrillic",
    "Deseret",
    "Devanagari",
    "Dives_Akuru",
    "Dogra",
    "Duployan",
    "Egyptian_Hieroglyphs",
    "Elbasan",
    "Elymaic",
    "Ethiopic",
    "Georgian",
    "Glagolitic",
    "Gothic",
    "Grantha",
    "Greek",
    "Gujarati",
    "Gunjala_Gondi",
    "Gurmukhi",
    "Han",
    "Hangul",
    "Hanifi_Rohingya",
    "Hanunoo",
    "Hatran",
    "Hebrew",
    "Hiragana",
    "Imperial_Aramaic",
    "Inherited",
    "Inscriptional_Pahlavi",
    "Inscriptional_Parthian",
    "Javanese",
    "Kaithi",
    "Kannada",
    "Katakana",
    "Kawi",
    "Kayah_Li",
    "Kharoshthi",
    "Khitan_Small_Script",
    "Khmer",
    "Khojki",
    "Khudawadi",
    "Lao",
    "Latin",
    "Lepcha",
    "Limbu",
    "Linear_A",
    "Linear_B",
    "Lisu",
    "Lycian",
    "Lydian",
    "Mahajani",
    "Makasar",
    "Malayalam",
    "Mandaic",
    "Manichaean",
    "Marchen",
    "Masaram_Gondi",
    "Medefaidrin",
    "Meetei_Mayek",
    "Mende_Kikakui",
    "Meroitic_Cursive",
    "Meroitic_Hieroglyphs",
    "Miao",
    "Modi",
    "Mongolian",
    "Mro",
    "Multani",
    "Myanmar",
    "Nabataean",
    "Nag_Mundari",
    "Nandinagari",
    "New_Tai_Lue",
    "Newa",
    "Nko",
    "Nushu",
    "Nyiakeng_Puachue_Hmong",
    "Ogham",
    "Ol_Chiki",
    "Old_Hungarian",
    "Old_Italic",
    "Old_North_Arabian",
    "Old_Permic",
    "Old_Persian",
    "Old_Sogdian",
    "Old_South_Arabian",
    "Old_Turkic",
    "Old_Uyghur",
    "Oriya",
    "Osage",
    "Osmanya",
    "Pahawh_Hmong",
    "Palmyrene",
    "Pau_Cin_Hau",
    "Phags_Pa",
    "Phoenician",
    "Psalter_Pahlavi",
    "Rejang",
    "Runic",
    "Samaritan",
    "Saurashtra",
    "Sharada",
    "Shavian",
    "Siddham",
    "SignWriting",
    "Sinhala",
    "Sogdian",
    "Sora_Sompeng",
    "Soyombo",
    "Sundanese",
    "Syloti_Nagri",
    "Syriac",
    "Tagalog",
    "Tagbanwa",
    "Tai_Le",
    "Tai_Tham",
    "Tai_Viet",
    "Takri",
    "Tamil",
    "Tangsa",
    "Tangut",
    "Telugu",
    "Thaana",
    "Thai",
    "Tibetan",
    "Tifinagh",
    "Tirhuta",
    "Toto",
    "Ugaritic",
    "Vai",
    "Vithkuqi",
    "Wancho",
    "Warang_Citi",
    "Yezidi",
    "Yi",
    "Zanabazar_Square",
];

/// Go 1.25's `unicodeTable` name lookup: special names, general categories, scripts, category aliases,
/// all compared after `canonicalName`. Names only other engines know (`Alphabetic`, `Greek` as `Grek`,
/// `Script=Greek`, `White_Space`, …) are unknown to Go.
fn lookup_unicode_class(name: &str) -> Option<UnicodeClass> {
    let canon = canonical_name(name);
    match canon.as_str() {
        "Any" => return Some(UnicodeClass::Any),
        "Assigned" => return Some(UnicodeClass::Assigned),
        "Ascii" => return Some(UnicodeClass::Ascii),
        "Lc" => return Some(UnicodeClass::Category("LC")),
        _ => {}
    }
    if let Some(cat) = GO_CATEGORIES.iter().find(|c| **c == canon) {
        return Some(UnicodeClass::Category(cat));
    }
    if let Some(script) = GO_SCRIPTS.iter().find(|s| canonical_name(s) == canon) {
        return Some(UnicodeClass::Script(script));
    }
    GO_CATEGORY_ALIASES
        .iter()
        .find(|(alias, _)| canonical_name(alias) == canon)
        .map(|(_, cat)| UnicodeClass::Category(cat))
}

// ---------------------------------------------------------------------------------------------------
// Emitting Rust syntax.

/// A class that matches nothing (used for Go's surrogate code points, which never occur in a `&str`).
const NEVER: &str = r"[^\x{0}-\x{10FFFF}]";
const FULL_RANGE: &str = r"\x{0}-\x{10FFFF}";

/// A literal outside a class.
fn literal_text(c: char) -> String {
    if c.is_ascii_alphanumeric() || c == ' ' || (!c.is_ascii() && !c.is_whitespace() && !c.is_control()) {
        c.to_string()
    } else if c.is_ascii_punctuation() {
        if regex_syntax::is_meta_character(c) {
            format!("\\{c}")
        } else {
            c.to_string()
        }
    } else {
        format!("\\x{{{:X}}}", c as u32)
    }
}

/// A code point inside a class: alphanumerics as themselves, everything else as `\x{..}`, so no
/// character can form a Rust class operator (`&&`, `--`, `~~`, `[`) or close the class.
fn class_char(c: u32) -> String {
    match char::from_u32(c) {
        Some(ch) if ch.is_ascii_alphanumeric() => ch.to_string(),
        _ => format!("\\x{{{c:X}}}"),
    }
}

fn ranges_text(ranges: &[(u32, u32)]) -> String {
    let mut out = String::new();
    for &(lo, hi) in ranges {
        // Go allows surrogates in classes; they never match valid UTF-8, so clip them away.
        let mut parts = Vec::with_capacity(2);
        if lo < 0xD800 {
            parts.push((lo, hi.min(0xD7FF)));
        }
        if hi > 0xDFFF {
            parts.push((lo.max(0xE000), hi));
        }
        for (lo, hi) in parts {
            out.push_str(&class_char(lo));
            if hi > lo {
                out.push('-');
                out.push_str(&class_char(hi));
            }
        }
    }
    out
}

/// The body of a Rust class matching exactly what Go's table matches (possibly empty).
fn unicode_body(class: UnicodeClass) -> String {
    match class {
        UnicodeClass::Any => FULL_RANGE.to_owned(),
        UnicodeClass::Ascii => r"\x{0}-\x{7F}".to_owned(),
        UnicodeClass::Assigned => r"\P{gc=Cn}".to_owned(),
        // Go's C is Cc|Cf|Co|Cs (assigned code points only), while Rust's C also includes Cn.
        UnicodeClass::Category("C") => r"\p{gc=Cc}\p{gc=Cf}\p{gc=Co}".to_owned(),
        // Surrogates never occur in a Rust string, and `regex` has no Cs table.
        UnicodeClass::Category("Cs") => String::new(),
        UnicodeClass::Category(cat) => format!(r"\p{{gc={cat}}}"),
        UnicodeClass::Script(script) => format!(r"\p{{sc={script}}}"),
    }
}

/// The items of one bracket class, in Rust syntax.
#[derive(Default)]
struct ClassBuf {
    body: String,
}

impl ClassBuf {
    fn add_body(&mut self, body: &str, negated: bool) {
        match (negated, body.is_empty()) {
            (false, _) => self.body.push_str(body),
            (true, true) => self.body.push_str(FULL_RANGE),
            (true, false) => {
                self.body.push_str("[^");
                self.body.push_str(body);
                self.body.push(']');
            }
        }
    }

    fn add_range(&mut self, lo: u32, hi: u32) {
        self.body.push_str(&ranges_text(&[(lo, hi)]));
    }

    fn add_ranges(&mut self, ranges: &[(u32, u32)], negated: bool) {
        self.add_body(&ranges_text(ranges), negated);
    }

    fn add_perl(&mut self, perl: Perl) {
        match perl {
            Perl::Digit(neg) => self.add_ranges(DIGIT, neg),
            Perl::Space(neg) => self.add_ranges(PERL_SPACE, neg),
            Perl::Word(neg) => self.add_ranges(WORD, neg),
        }
    }

    fn add_unicode(&mut self, class: UnicodeClass, negated: bool) {
        self.add_body(&unicode_body(class), negated);
    }

    /// The finished class. Under `(?i)` Rust folds each (nested) class before negating it, as Go
    /// does for each class item, so wrapping the whole class in `(?i:..)` gives Go's set.
    fn finish(self, negated: bool, fold_case: bool) -> String {
        let class = match (self.body.is_empty(), negated) {
            (true, false) => NEVER.to_owned(),
            (true, true) => format!("[{FULL_RANGE}]"),
            (false, false) => format!("[{}]", self.body),
            (false, true) => format!("[^{}]", self.body),
        };
        if fold_case { format!("(?i:{class})") } else { class }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn go(pattern: &str) -> GoPattern {
        compile_go_pattern(pattern)
    }

    #[track_caller]
    fn assert_matches(pattern: &str, yes: &[&str], no: &[&str]) {
        let p = go(pattern);
        assert!(
            p.invalid_reason().is_none(),
            "{pattern:?} should compile in Go, got {p:?}"
        );
        for m in yes {
            assert!(p.is_match(m), "{pattern:?} should match {m:?} (translated: {p:?})");
        }
        for m in no {
            assert!(!p.is_match(m), "{pattern:?} should not match {m:?} (translated: {p:?})");
        }
    }

    #[track_caller]
    fn assert_invalid(pattern: &str, go_error: &str) {
        let p = go(pattern);
        assert_eq!(p.invalid_reason(), Some(go_error), "{pattern:?}");
        assert!(!p.is_match(""), "an invalid pattern never matches");
        assert!(!p.is_match(pattern), "an invalid pattern never matches");
    }

    // --- Common JobSet patterns -------------------------------------------------------------------

    #[test]
    fn a_rule_index_suffix_pattern_matches_only_at_the_end_of_the_message() {
        assert_matches(
            "matching FailJob rule at index 0$",
            &["Pod default/x-0 has condition DisruptionTarget matching FailJob rule at index 0"],
            &[
                "matching FailJob rule at index 0 (first)",
                "matching FailJob rule at index 10",
            ],
        );
    }

    #[test]
    fn an_anchored_backoff_limit_pattern_matches_the_whole_message_only() {
        assert_matches(
            "^Job has reached the specified backoff limit$",
            &["Job has reached the specified backoff limit"],
            &[
                "Job has reached the specified backoff limit\n",
                "The Job has reached the specified backoff limit",
            ],
        );
    }

    #[test]
    fn an_alternation_in_a_group_matches_either_exit_code() {
        assert_matches(
            "exit code (1|2)",
            &["container exited with exit code 1", "exit code 2: OOM", "exit code 12"],
            &["exit code 3", "Exit code 1"],
        );
    }

    #[test]
    fn dot_star_matches_every_message_including_the_empty_one() {
        assert_matches(".*", &["", "anything", "line1\nline2"], &[]);
    }

    #[test]
    fn the_empty_pattern_matches_every_message() {
        assert_matches("", &["", "anything at all"], &[]);
    }

    #[test]
    fn a_case_insensitive_flag_matches_any_case() {
        assert_matches("(?i)oom", &["OOMKilled", "container oom", "Oom"], &["o o m"]);
    }

    #[test]
    fn matching_is_an_unanchored_search() {
        assert_matches(
            "backoff",
            &["Job has reached the specified backoff limit"],
            &["Back off"],
        );
    }

    // --- §1.11 row: \d \w \s \b are ASCII in Go ----------------------------------------------------

    #[test]
    fn perl_digit_is_ascii_only() {
        assert_matches(r"\d", &["7"], &["٣", "७"]);
        assert_matches(r"^\D$", &["٣", "x"], &["7"]);
        assert_matches(r"[\d]", &["0"], &["٣"]);
    }

    #[test]
    fn perl_word_is_ascii_only() {
        assert_matches(r"^\w+$", &["node_1"], &["énode", "ñ"]);
        assert_matches(r"^\W$", &["é", "-"], &["a", "_"]);
    }

    #[test]
    fn perl_space_is_tab_newline_formfeed_return_and_space_only() {
        assert_matches(
            r"a\sb",
            &["a b", "a\tb", "a\nb", "a\x0cb", "a\rb"],
            &["a\x0bb", "a\u{a0}b", "a\u{2003}b"],
        );
        assert_matches(r"^\S$", &["\x0b", "\u{a0}", "x"], &[" ", "\t"]);
        assert_matches(r"^[\S]$", &["\x0b"], &["\n"]);
    }

    #[test]
    fn posix_space_includes_vertical_tab_unlike_perl_space() {
        assert_matches(r"a[[:space:]]b", &["a\x0bb", "a b"], &["a\u{a0}b"]);
    }

    #[test]
    fn word_boundary_is_ascii_only() {
        assert_matches(r"\bnode\b", &["node", "a node here", "énode"], &["nodes", "_node"]);
        assert_matches(r"é\bn", &["én"], &[]);
        assert_matches(r"é\Bn", &[], &["én"]);
        assert_matches(r"a\Bb", &["ab"], &["a b"]);
    }

    #[test]
    fn case_folded_word_class_includes_kelvin_and_long_s_like_go() {
        assert_matches(r"(?i)^\w$", &["K", "ſ", "k"], &["é"]);
        assert_matches(r"(?i)^\W$", &["é", "-"], &["K", "ſ", "s"]);
        assert_matches(r"(?i)^[^\W]$", &["K"], &["é"]);
    }

    #[test]
    fn nested_ascii_word_repetition_within_go_limits_compiles() {
        assert_matches(r"^(?:\w{10}){100}$", &[&"a".repeat(1000)], &[&"a".repeat(999)]);
    }

    #[test]
    fn nested_repeat_counts_whose_product_exceeds_1000_are_invalid() {
        assert_invalid(
            r"(?:\w{100}){100}",
            "error parsing regexp: invalid repeat count: `{100}`",
        );
        assert_invalid(
            r"(?:[a-z]{4}){0,251}",
            "error parsing regexp: invalid repeat count: `{0,251}`",
        );
        assert_matches(r"(?:[a-z]{4}){0,250}", &["abcd"], &[]);
        assert_invalid(
            "((((((((((x{2}){2}){2}){2}){2}){2}){2}){2}){2}){2})",
            "error parsing regexp: invalid repeat count: `{2}`",
        );
    }

    // --- §1.11 row: \Q...\E -----------------------------------------------------------------------

    #[test]
    fn quoted_text_is_literal() {
        assert_matches(r"\Q+|*?{[\E", &["a+|*?{[b"], &["a"]);
        assert_matches(r"^\Qa.b\E$", &["a.b"], &["axb"]);
        assert_matches(r"\Q\d", &[r"x\d"], &["5"]);
    }

    #[test]
    fn a_repetition_after_quoted_text_applies_to_its_last_character() {
        assert_matches(r"^\Qab\E+$", &["abbb"], &["abab"]);
    }

    #[test]
    fn quoted_text_honours_case_folding() {
        assert_matches(r"(?i)\QOOM\E", &["oomkilled"], &[]);
    }

    #[test]
    fn an_empty_quote_with_a_repetition_has_nothing_to_repeat() {
        assert_invalid(
            r"\Q\E*",
            "error parsing regexp: missing argument to repetition operator: `*`",
        );
    }

    // --- §1.11 row: \< and \> ---------------------------------------------------------------------

    #[test]
    fn escaped_angle_brackets_are_literals() {
        assert_matches(r"\<abc\>", &["<abc>"], &["x abc y", "abc"]);
    }

    #[test]
    fn boundary_braces_are_literal_text_after_a_word_boundary() {
        assert_matches(r"\b{start}", &["x{start}"], &["{start}", "start"]);
    }

    // --- §1.11 row: class set operations and nested classes ---------------------------------------

    #[test]
    fn ampersands_and_tildes_in_a_class_are_literals() {
        assert_matches(r"^[a&&b]+$", &["a&b", "&&"], &["c"]);
        assert_matches(r"^[a~~b]+$", &["~", "ab"], &["c"]);
    }

    #[test]
    fn a_double_hyphen_in_a_class_is_a_range_and_can_be_inverted() {
        assert_invalid("[a--b]", "error parsing regexp: invalid character class range: `a--`");
        // '%'..'-' is a valid range, then 'b'.
        assert_matches(r"^[%--b]+$", &["%", "+", "-", "b"], &["a", "."]);
    }

    #[test]
    fn an_open_bracket_inside_a_class_is_a_literal() {
        assert_matches(r"^[a[bc]]$", &["a]", "[]", "b]"], &["a", "d]"]);
    }

    #[test]
    fn a_class_may_start_with_a_closing_bracket_or_a_hyphen() {
        assert_matches(r"^[]a]$", &["]", "a"], &["b"]);
        assert_matches(r"^[^]a]$", &["b"], &["]", "a"]);
        assert_matches(r"^[-a]$", &["-"], &["b"]);
        assert_matches(r"^[a-]$", &["-"], &["b"]);
        assert_matches(r"^[a-b-c]+$", &["a-c"], &["d"]);
    }

    #[test]
    fn an_unknown_posix_class_name_is_invalid() {
        assert_invalid(
            "[[:foo:]]",
            "error parsing regexp: invalid character class range: `[:foo:]`",
        );
        assert_matches(r"^[[:^alpha:]]$", &["1", "é"], &["a"]);
    }

    #[test]
    fn an_unterminated_class_is_invalid() {
        assert_invalid("[a", "error parsing regexp: missing closing ]: `[a`");
        assert_invalid("x[]", "error parsing regexp: missing closing ]: `[]`");
    }

    #[test]
    fn a_backspace_escape_is_invalid_in_a_class() {
        assert_invalid(r"[\b]", r"error parsing regexp: invalid escape sequence: `\b`");
    }

    // --- §1.11 row: flags -------------------------------------------------------------------------

    #[test]
    fn flags_unknown_to_go_are_invalid() {
        assert_invalid(
            "(?x)a b",
            "error parsing regexp: invalid or unsupported Perl syntax: `(?x`",
        );
        assert_invalid(
            "(?u)a",
            "error parsing regexp: invalid or unsupported Perl syntax: `(?u`",
        );
        assert_invalid(
            "(?R)a",
            "error parsing regexp: invalid or unsupported Perl syntax: `(?R`",
        );
        assert_invalid(
            "(?ix:a)",
            "error parsing regexp: invalid or unsupported Perl syntax: `(?ix`",
        );
    }

    #[test]
    fn lookaround_and_comments_are_invalid() {
        assert_invalid(
            "a(?=b)",
            "error parsing regexp: invalid or unsupported Perl syntax: `(?=`",
        );
        assert_invalid(
            "a(?!b)",
            "error parsing regexp: invalid or unsupported Perl syntax: `(?!`",
        );
        assert_invalid("a(?<=b)", "error parsing regexp: invalid named capture: `(?<=b)`");
        assert_invalid(
            "(?#x)",
            "error parsing regexp: invalid or unsupported Perl syntax: `(?#`",
        );
    }

    #[test]
    fn a_dangling_flag_negation_is_invalid() {
        assert_invalid(
            "(?i-)a",
            "error parsing regexp: invalid or unsupported Perl syntax: `(?i-)`",
        );
        assert_invalid(
            "(?-)a",
            "error parsing regexp: invalid or unsupported Perl syntax: `(?-)`",
        );
        assert_invalid(
            "(?i-m-s)a",
            "error parsing regexp: invalid or unsupported Perl syntax: `(?i-m-`",
        );
    }

    #[test]
    fn repeated_flags_and_empty_flag_groups_are_valid_in_go() {
        assert_matches("(?ii)a", &["A"], &[]);
        assert_matches("(?i-i)a", &["a"], &["A"]);
        assert_matches("a(?)b", &["ab"], &[]);
    }

    #[test]
    fn multi_line_dot_all_and_ungreedy_flags_work() {
        assert_matches("(?m)^b$", &["a\nb\nc"], &["ab"]);
        assert_matches("^b$", &["b"], &["a\nb"]);
        assert_matches("(?s)a.b", &["a\nb"], &[]);
        assert_matches("a.b", &["axb"], &["a\nb"]);
        assert_matches("^(?U)a+?$", &["aaa"], &[]);
        assert_matches("(?m)^$", &["a\n"], &[]);
        assert_matches("(?m)a$", &["a\nb"], &[]);
        assert_matches("a$", &[], &["a\n"]);
    }

    #[test]
    fn flags_last_until_the_end_of_the_enclosing_group() {
        assert_matches("(a(?i)b)c", &["aBc"], &["aBC"]);
        assert_matches("a(?i)b|c", &["aB", "C"], &["AB"]);
        assert_matches("(?i:a)b", &["Ab"], &["AB"]);
    }

    #[test]
    fn a_repetition_after_a_flag_group_applies_to_the_preceding_item() {
        assert_matches("^a(?i)*$", &["", "aaa"], &["b"]);
        assert_invalid(
            "(?i)*",
            "error parsing regexp: missing argument to repetition operator: `*`",
        );
    }

    #[test]
    fn the_kelvin_sign_folds_to_k_in_both_engines() {
        assert_matches("(?i)k", &["K", "k", "\u{212a}"], &[]);
        assert_matches("K", &[], &["\u{212a}"]);
    }

    // --- §1.11 row: repeat counts -----------------------------------------------------------------

    #[test]
    fn repeat_counts_above_1000_are_invalid() {
        assert_invalid("a{1001}", "error parsing regexp: invalid repeat count: `{1001}`");
        assert_invalid("a{2,1001}", "error parsing regexp: invalid repeat count: `{2,1001}`");
        assert_invalid("a{2,1}", "error parsing regexp: invalid repeat count: `{2,1}`");
        assert_invalid(
            "x{9876543210}",
            "error parsing regexp: invalid repeat count: `{9876543210}`",
        );
        assert_matches("^a{1000}$", &[&"a".repeat(1000)], &[&"a".repeat(999)]);
    }

    #[test]
    fn malformed_braces_are_literal_text() {
        assert_matches("^a{,5}$", &["a{,5}"], &["a"]);
        assert_matches("^a{01}$", &["a{01}"], &["a"]);
        assert_matches("^a{1, 2}$", &["a{1, 2}"], &["a"]);
        assert_matches("^x{1001$", &["x{1001"], &[]);
        assert_matches("^a{$", &["a{"], &[]);
        assert_matches("^{$", &["{"], &[]);
        assert_matches("^a}$", &["a}"], &[]);
    }

    #[test]
    fn stacked_repetition_operators_are_invalid() {
        assert_invalid("a**", "error parsing regexp: invalid nested repetition operator: `**`");
        assert_invalid(
            "a*?*",
            "error parsing regexp: invalid nested repetition operator: `*?*`",
        );
        assert_invalid(
            "a{2}{3}",
            "error parsing regexp: invalid nested repetition operator: `{2}{3}`",
        );
        assert_invalid(
            "a+?+?",
            "error parsing regexp: invalid nested repetition operator: `+?+?`",
        );
        assert_matches("^(?:a*)*$", &["aaa"], &["b"]);
    }

    #[test]
    fn a_repetition_without_an_operand_is_invalid() {
        assert_invalid(
            "*a",
            "error parsing regexp: missing argument to repetition operator: `*`",
        );
        assert_invalid(
            "a|*",
            "error parsing regexp: missing argument to repetition operator: `*`",
        );
        assert_invalid(
            "(+)",
            "error parsing regexp: missing argument to repetition operator: `+`",
        );
        assert_invalid(
            "{2}",
            "error parsing regexp: missing argument to repetition operator: `{2}`",
        );
        assert_invalid(
            "??",
            "error parsing regexp: missing argument to repetition operator: `??`",
        );
    }

    #[test]
    fn assertions_and_empty_groups_can_be_repeated() {
        assert_matches("^*a", &["a"], &[]);
        assert_matches(r"x\b+", &["x"], &[]);
        assert_matches("()*a", &["a"], &[]);
        assert_matches("a(){3}b", &["ab"], &[]);
    }

    #[test]
    fn non_greedy_repetitions_do_not_change_whether_a_message_matches() {
        assert_matches("a{2,3}?b", &["aab"], &["ab"]);
        assert_matches("a+?$", &["ba"], &["b"]);
    }

    // --- §1.11 row: octal escapes and backreferences ----------------------------------------------

    #[test]
    fn octal_escapes_are_characters() {
        assert_matches(r"\123", &["S"], &["123"]);
        assert_matches(r"^\0$", &["\0"], &[]);
        assert_matches(r"^\08$", &["\x008"], &[]);
        assert_matches(r"^\12$", &["\n"], &[]);
        assert_matches(r"^\400$", &["\u{100}"], &[]);
        assert_matches(r"^[\012-\015]+$", &["\n\r"], &["a"]);
    }

    #[test]
    fn single_digit_backreferences_are_invalid() {
        assert_invalid(r"(a)\1", r"error parsing regexp: invalid escape sequence: `\1`");
        assert_invalid(r"\7", r"error parsing regexp: invalid escape sequence: `\7`");
        assert_invalid(r"\18", r"error parsing regexp: invalid escape sequence: `\1`");
        assert_invalid(r"\8", r"error parsing regexp: invalid escape sequence: `\8`");
    }

    #[test]
    fn hex_escapes_follow_go_rules() {
        assert_matches(r"^\x41\x{42}\x{000043}$", &["ABC"], &[]);
        assert_invalid(
            r"\x{110000}",
            r"error parsing regexp: invalid escape sequence: `\x{110000`",
        );
        assert_invalid(r"\x{}", r"error parsing regexp: invalid escape sequence: `\x{}`");
        assert_invalid(r"\x4", r"error parsing regexp: invalid escape sequence: `\x4`");
        assert_invalid(r"\xg1", r"error parsing regexp: invalid escape sequence: `\xg1`");
    }

    #[test]
    fn a_surrogate_code_point_never_matches() {
        assert_matches(r"a|\x{D800}", &["a"], &["b"]);
        assert_matches(r"^[\x{D7FF}-\x{E000}]$", &["\u{d7ff}", "\u{e000}"], &["a"]);
        assert_matches(r"^[^\x{D800}]$", &["a", "\u{fffd}"], &[]);
    }

    #[test]
    fn escapes_go_does_not_know_are_invalid() {
        assert_invalid(r"\e", r"error parsing regexp: invalid escape sequence: `\e`");
        assert_invalid(r"\Z", r"error parsing regexp: invalid escape sequence: `\Z`");
        assert_invalid(r"\C", r"error parsing regexp: invalid escape sequence: `\C`");
        assert_invalid(r"\E", r"error parsing regexp: invalid escape sequence: `\E`");
        assert_invalid(r"\é", r"error parsing regexp: invalid escape sequence: `\é`");
        assert_invalid(
            "a\\",
            "error parsing regexp: trailing backslash at end of expression: ``",
        );
    }

    #[test]
    fn escaped_punctuation_and_c_escapes_are_characters() {
        assert_matches(r"^\_\-\#\ \&\~$", &["_-# &~"], &[]);
        assert_matches(r"^\a\f\t\v$", &["\x07\x0c\t\x0b"], &[]);
        assert_matches(r"\A\z", &[""], &["a"]);
    }

    // --- §1.11 row: Unicode classes ---------------------------------------------------------------

    #[test]
    fn general_categories_and_scripts_are_valid() {
        assert_matches(r"^\pL+$", &["héllo"], &["1"]);
        assert_matches(r"^\p{Lu}$", &["É"], &["é"]);
        assert_matches(r"^\p{Greek}+$", &["αβγ"], &["abc"]);
        assert_matches(r"^\p{Han}$", &["中"], &["a"]);
        assert_matches(r"^\PL$", &["1"], &["a"]);
        assert_matches(r"^\p{^Greek}$", &["a"], &["α"]);
        assert_matches(r"^\P{^Greek}$", &["α"], &["a"]);
        assert_matches(r"^[\p{Nd}x]+$", &["x٣"], &["y"]);
        assert_matches(r"^\p{Old_Italic}$", &["\u{10300}"], &["a"]);
    }

    #[test]
    fn property_names_go_does_not_know_are_invalid() {
        assert_invalid(
            r"\p{Alphabetic}",
            r"error parsing regexp: invalid character class range: `\p{Alphabetic}`",
        );
        assert_invalid(
            r"\p{White_Space}",
            r"error parsing regexp: invalid character class range: `\p{White_Space}`",
        );
        assert_invalid(
            r"\p{Grek}",
            r"error parsing regexp: invalid character class range: `\p{Grek}`",
        );
        assert_invalid(
            r"\p{Script=Greek}",
            r"error parsing regexp: invalid character class range: `\p{Script=Greek}`",
        );
        assert_invalid(
            r"\p{sc=Greek}",
            r"error parsing regexp: invalid character class range: `\p{sc=Greek}`",
        );
        assert_invalid(
            r"\p{Emoji}",
            r"error parsing regexp: invalid character class range: `\p{Emoji}`",
        );
        assert_invalid(r"\pX", r"error parsing regexp: invalid character class range: `\pX`");
        assert_invalid(r"\p{}", r"error parsing regexp: invalid character class range: `\p{}`");
        assert_invalid(r"\p{L", r"error parsing regexp: invalid character class range: `\p{L`");
        assert_invalid(r"a\p", r"error parsing regexp: invalid character class range: `\p`");
        // A script that exists only since Unicode 16.0, which Go does not ship.
        assert_invalid(
            r"\p{Garay}",
            r"error parsing regexp: invalid character class range: `\p{Garay}`",
        );
    }

    #[test]
    fn go_1_25_accepts_loose_names_aliases_and_special_classes() {
        assert_matches(r"^\p{greek}$", &["α"], &["a"]);
        assert_matches(r"^\p{Uppercase_Letter}$", &["A"], &["a"]);
        assert_matches(r"^\p{upper case-let ter}$", &["A"], &["a"]);
        assert_matches(r"^\p{Any}$", &["\n"], &[]);
        assert_matches(r"^\p{ASCII}+$", &["abc"], &["é"]);
        assert_matches(r"^\p{Assigned}$", &["a"], &["\u{378}"]);
        assert_matches(r"^\p{Cn}$", &["\u{378}"], &["a"]);
        assert_matches(r"^\p{LC}+$", &["aB"], &["1"]);
    }

    #[test]
    fn the_other_category_excludes_unassigned_code_points_like_go() {
        assert_matches(r"^\p{C}$", &["\u{7f}", "\u{ad}", "\u{e000}"], &["\u{378}", "a"]);
        assert_matches(r"^\p{Cs}$", &[], &["a", "\u{fffd}"]);
    }

    #[test]
    fn case_folding_applies_to_unicode_classes() {
        assert_matches(r"(?i)^\p{Lu}$", &["a", "A"], &["1"]);
        assert_matches(r"(?i)^[^\p{Lu}]$", &["1"], &["a"]);
    }

    // --- §1.11 row: everything else is the same ---------------------------------------------------

    #[test]
    fn named_groups_in_both_spellings_are_valid() {
        assert_matches("(?P<code>1|2)$", &["exit 1"], &["exit 3"]);
        assert_matches("(?<code>1|2)$", &["exit 2"], &["exit 3"]);
        assert_matches("(?P<1a>x)", &["x"], &[]);
    }

    #[test]
    fn malformed_group_names_are_invalid() {
        assert_invalid("(?P<>a)", "error parsing regexp: invalid named capture: `(?P<>`");
        assert_invalid("(?P<x y>a)", "error parsing regexp: invalid named capture: `(?P<x y>`");
        assert_invalid("(?P<name>a", "error parsing regexp: missing closing ): `(?P<name>a`");
        assert_invalid("(?P<name", "error parsing regexp: invalid named capture: `(?P<name`");
        assert_invalid(
            "(?P=name)",
            "error parsing regexp: invalid or unsupported Perl syntax: `(?P`",
        );
    }

    #[test]
    fn unbalanced_parentheses_are_invalid() {
        assert_invalid("(a", "error parsing regexp: missing closing ): `(a`");
        assert_invalid("a)", "error parsing regexp: unexpected ): `a)`");
        assert_invalid("(a|b))", "error parsing regexp: unexpected ): `(a|b))`");
    }

    #[test]
    fn empty_alternatives_match_the_empty_string() {
        assert_matches("a|", &["b"], &[]);
        assert_matches("^(|a)$", &["", "a"], &["b"]);
        assert_matches("^(?:)$", &[""], &["a"]);
    }

    #[test]
    fn non_ascii_literals_and_case_folding_match() {
        assert_matches("(?i)δ", &["Δ"], &["d"]);
        assert_matches("é", &["café"], &["cafe"]);
    }

    #[test]
    fn patterns_nested_up_to_go_s_height_limit_compile() {
        let ok = format!("{}{}", "(".repeat(999), ")".repeat(999));
        assert_matches(&ok, &[""], &[]);
        let ok_star = format!("{}{}", "(?:".repeat(999), ")*".repeat(999));
        assert_matches(&ok_star, &[""], &[]);
        // Go flattens nested non-capturing concatenations and alternations, so these stay shallow.
        let flat = format!("{}{}", "(?:a".repeat(2000), ")".repeat(2000));
        assert_matches(&flat, &[&"a".repeat(2000)], &[&"a".repeat(1999)]);
        let flat_alt = format!("{}{}", "(?:a|".repeat(2000), ")".repeat(2000));
        assert_matches(&flat_alt, &["a", ""], &[]);
    }

    #[test]
    fn patterns_nested_beyond_go_s_height_limit_are_invalid() {
        let deep = format!("{}{}", "(".repeat(1000), ")".repeat(1000));
        assert_eq!(
            go(&deep).invalid_reason(),
            Some(format!("error parsing regexp: expression nests too deeply: `{deep}`").as_str())
        );
    }

    #[test]
    fn patterns_larger_than_go_s_program_limit_are_invalid() {
        let big = "(xx?){1000}".repeat(1000);
        assert_eq!(
            go(&big).invalid_reason(),
            Some(format!("error parsing regexp: expression too large: `{big}`").as_str())
        );
    }

    #[test]
    fn a_large_unicode_repetition_valid_in_go_compiles() {
        assert_matches(r"^\pL{1000}$", &[&"é".repeat(1000)], &[&"é".repeat(999)]);
    }

    // --- The common subset is unchanged -----------------------------------------------------------

    /// Random patterns from a grammar whose meaning is identical in Go and Rust.
    fn safe_pattern() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("a".to_owned()),
            Just("b".to_owned()),
            Just("c".to_owned()),
            Just("x".to_owned()),
            Just(".".to_owned()),
            Just("[a-c]".to_owned()),
        ];
        let atom = leaf.prop_recursive(3, 24, 4, |inner| {
            let concat = prop::collection::vec(inner, 0..4).prop_map(|v| v.concat());
            let alt = prop::collection::vec(concat, 1..3).prop_map(|v| v.join("|"));
            prop_oneof![
                alt.clone().prop_map(|a| format!("({a})")),
                alt.prop_map(|a| format!("(?:{a})"))
            ]
        });
        let piece = (atom, prop_oneof![Just(""), Just("*"), Just("+"), Just("?")]).prop_map(|(a, q)| a + q);
        let concat = prop::collection::vec(piece, 0..5).prop_map(|v| v.concat());
        prop::collection::vec(concat, 1..3).prop_map(|v| v.join("|"))
    }

    proptest! {
        #[test]
        fn the_rewrite_does_not_change_the_common_subset(
            pattern in safe_pattern(),
            haystacks in prop::collection::vec("[abcx\n]{0,8}", 1..6),
        ) {
            let direct = Regex::new(&pattern).expect("the safe grammar is valid in Rust");
            let go = compile_go_pattern(&pattern);
            prop_assert!(go.invalid_reason().is_none(), "{} rejected: {:?}", pattern, go);
            for h in &haystacks {
                prop_assert_eq!(go.is_match(h), direct.is_match(h), "pattern {:?} on {:?}", pattern, h);
            }
        }
    }
}
