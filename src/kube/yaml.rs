//! YAML as kubectl reads and writes it: a multi-document stream parsed into key-ordered JSON
//! values with YAML 1.1 scalar resolution (what go-yaml v2 under `sigs.k8s.io/yaml` does,
//! so `0644` is 420 and `yes` is true), and values written back as YAML that both YAML 1.1
//! and 1.2 readers take to mean the same thing. Comments are not kept. This is the full
//! path: `fast.rs` copies the documents it understands without it.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use std::borrow::Cow;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, StrInput, Tag};

/// What is wrong with a YAML stream, with the line and column where it was found.
#[derive(Debug, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl YamlError {
    fn at(mark: Marker, message: impl Into<String>) -> Self {
        YamlError { line: mark.line(), column: mark.col() + 1, message: message.into() }
    }
}

/// Values an alias may expand to in one stream before it is refused: a bound on what a
/// "billion laughs" document can make regcred allocate.
const NODE_BUDGET: usize = 5_000_000;

enum Frame {
    Sequence {
        items: Vec<Value>,
        anchor: usize,
    },
    Mapping {
        map: Map<String, Value>,
        key: Option<(String, bool)>,
        anchor: usize,
        start: Marker,
        /// Keys a merge (`<<`) set, which an explicit key may override.
        merged: Vec<String>,
    },
}

/// The documents of a YAML stream, in order. An empty document (only comments, or nothing
/// between two `---`) is `Value::Null`. The tests' whole-stream form of [`Documents`].
#[cfg(test)]
pub fn parse_stream(text: &str) -> Result<Vec<Value>, YamlError> {
    Documents::new(text).collect()
}

/// The documents of a YAML stream, one at a time, so a long stream is never held whole.
pub struct Documents<'a> {
    parser: Parser<'a, StrInput<'a>>,
    budget: usize,
    done: bool,
    /// Lines of the stream before `text`, added to every line an error names.
    lines_before: usize,
}

impl<'a> Documents<'a> {
    pub fn new(text: &'a str) -> Self {
        Self::after_lines(text, 0)
    }

    /// The documents of `text`, which starts after `lines_before` lines of a longer stream.
    pub fn after_lines(text: &'a str, lines_before: usize) -> Self {
        Documents { parser: Parser::new_from_str(text), budget: NODE_BUDGET, done: false, lines_before }
    }

    fn next_document(&mut self) -> Result<Option<Value>, YamlError> {
        let mut stack: Vec<Frame> = Vec::new();
        let mut anchors: HashMap<usize, Value> = HashMap::new();
        let mut root: Option<Value> = None;
        loop {
            let (event, span) = match self.parser.next_event() {
                None => return Ok(None),
                Some(Err(e)) => return Err(YamlError::at(*e.marker(), e.info().to_owned())),
                Some(Ok(next)) => next,
            };
            let mark = span.start;
            let value = match event {
                Event::StreamEnd => return Ok(None),
                Event::DocumentStart(_) => {
                    anchors.clear();
                    root = None;
                    continue;
                }
                Event::DocumentEnd => return Ok(Some(root.take().unwrap_or(Value::Null))),
                Event::SequenceStart(anchor, _) => {
                    stack.push(Frame::Sequence { items: Vec::new(), anchor });
                    continue;
                }
                Event::MappingStart(anchor, _) => {
                    stack.push(Frame::Mapping { map: Map::new(), key: None, anchor, start: mark, merged: Vec::new() });
                    continue;
                }
                Event::SequenceEnd => match stack.pop() {
                    Some(Frame::Sequence { items, anchor }) => remember(&mut anchors, anchor, Value::Array(items)),
                    _ => return Err(YamlError::at(mark, "unbalanced sequence")),
                },
                Event::MappingEnd => match stack.pop() {
                    Some(Frame::Mapping { map, key: None, anchor, .. }) => {
                        remember(&mut anchors, anchor, Value::Object(map))
                    }
                    _ => return Err(YamlError::at(mark, "unbalanced mapping")),
                },
                Event::Scalar(text, style, anchor, tag) => {
                    // A mapping key keeps its text: keys are strings in JSON.
                    if let Some(Frame::Mapping { key, .. }) = stack.last_mut()
                        && key.is_none()
                    {
                        let plain = style == ScalarStyle::Plain && tag.is_none();
                        let merge = plain && text == "<<";
                        let text = if plain { key_text(text).into_owned() } else { text.into_owned() };
                        *key = Some((text, merge));
                        continue;
                    }
                    let value = scalar(text, style, tag.as_deref()).map_err(|m| YamlError::at(mark, m))?;
                    remember(&mut anchors, anchor, value)
                }
                Event::Alias(id) => {
                    let Some(value) = anchors.get(&id) else {
                        return Err(YamlError::at(mark, "alias to an unknown anchor"));
                    };
                    let size = count_nodes(value);
                    if size > self.budget {
                        return Err(YamlError::at(mark, "aliases expand to too many values"));
                    }
                    self.budget -= size;
                    value.clone()
                }
                Event::StreamStart | Event::Nothing => continue,
            };
            // Attach the finished value to its parent.
            match stack.last_mut() {
                None => root = Some(value),
                Some(Frame::Sequence { items, .. }) => items.push(value),
                Some(Frame::Mapping { map, key, start, merged, .. }) => match key.take() {
                    None => {
                        return Err(YamlError::at(
                            mark,
                            "a mapping key must be a plain value (string, number or boolean)",
                        ));
                    }
                    Some((_, true)) => merge_into(map, value, merged).map_err(|m| YamlError::at(mark, m))?,
                    Some((name, false)) => {
                        if let Some(at) = merged.iter().position(|k| *k == name) {
                            merged.swap_remove(at);
                        } else if map.contains_key(&name) {
                            return Err(YamlError::at(
                                mark,
                                format!(
                                    "duplicate key {name:?} in the mapping that starts at line {}",
                                    start.line() + self.lines_before
                                ),
                            ));
                        }
                        map.insert(name, value);
                    }
                },
            }
        }
    }
}

impl Iterator for Documents<'_> {
    type Item = Result<Value, YamlError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_document().transpose().map(|r| {
            r.map_err(|mut e| {
                e.line += self.lines_before;
                e
            })
        });
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

fn remember(anchors: &mut HashMap<usize, Value>, anchor: usize, value: Value) -> Value {
    if anchor > 0 {
        anchors.insert(anchor, value.clone());
    }
    value
}

fn count_nodes(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Object(map) => 1 + map.values().map(count_nodes).sum::<usize>(),
        _ => 1,
    }
}

/// `<<: *base` (or a list of them): the keys of the merged mappings that are not set
/// explicitly; a key set later overrides a merged one.
fn merge_into(map: &mut Map<String, Value>, value: Value, merged: &mut Vec<String>) -> Result<(), String> {
    let sources = match value {
        Value::Object(source) => vec![source],
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::Object(source) => Ok(source),
                _ => Err("a merge key (<<) takes mappings".to_owned()),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err("a merge key (<<) takes a mapping or a list of mappings".to_owned()),
    };
    for source in sources {
        for (k, v) in source {
            if !map.contains_key(&k) {
                merged.push(k.clone());
                map.insert(k, v);
            }
        }
    }
    Ok(())
}

/// A plain key as `sigs.k8s.io/yaml` turns it into a JSON key: booleans and null spelled
/// as JSON spells them, everything else as written.
pub(super) fn key_text(text: Cow<'_, str>) -> Cow<'_, str> {
    match resolved_kind(&text) {
        Some(Value::Bool(b)) => Cow::Owned(b.to_string()),
        Some(Value::Null) => Cow::Borrowed("null"),
        Some(Value::Number(n)) => Cow::Owned(n.to_string()),
        _ => text,
    }
}

fn scalar(text: Cow<'_, str>, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    if let Some(tag) = tag {
        let known = tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!";
        return match (known, tag.suffix.as_str()) {
            (true, "str" | "binary") => Ok(Value::String(text.into_owned())),
            (true, "null" | "bool" | "int" | "float") => match resolved_kind(&text) {
                None => Err(format!("{text:?} is not a valid !!{}", tag.suffix)),
                Some(value) => Ok(value),
            },
            _ => Err(format!("unsupported tag {}{}", tag.handle, tag.suffix)),
        };
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.into_owned()));
    }
    match resolved_kind(&text) {
        Some(value) => Ok(value),
        None if is_non_finite(&text) => {
            Err(format!("{text} is not a number JSON can hold, and Kubernetes objects are JSON"))
        }
        None => Ok(Value::String(text.into_owned())),
    }
}

pub(super) fn is_non_finite(text: &str) -> bool {
    let t = text.trim_start_matches(['+', '-']);
    [".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN"].contains(&t)
}

/// go-yaml v2's resolution of a plain scalar (resolve.go): the YAML 1.1 booleans and nulls,
/// integers in the bases Go's `strconv.ParseInt(s, 0, 64)` takes (so a leading 0 is
/// octal), `0b` binary, and floats of the YAML form; `None` for a string.
pub(super) fn resolved_kind(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Some(Value::Bool(true));
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Some(Value::Bool(false));
        }
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'+' || first == b'-' || first == b'.') {
        return None;
    }
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    if let Some(n) = parse_go_int(&plain) {
        return Some(Value::Number(n));
    }
    if is_yaml_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return Some(Value::Number(n));
    }
    None
}

/// `strconv.ParseInt(s, 0, 64)`, then `ParseUint`, then go-yaml's `0b` form.
fn parse_go_int(s: &str) -> Option<Number> {
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
        (8, d)
    } else if let Some(d) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
        (2, d)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        let value = 0i64.checked_sub_unsigned(magnitude)?;
        Some(Number::from(value))
    } else {
        Some(Number::from(magnitude))
    }
}

/// go-yaml v2's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(at) => (&s[..at], Some(&s[at + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// One document as YAML, in kubectl's layout (two-space indentation, sequences at their
/// key's indentation). A string is written plain only when every YAML reader takes it for
/// that string; otherwise as a literal block (multi-line text) or double-quoted.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_mapping(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_sequence(&mut out, items, 0),
        scalar => {
            write_scalar(&mut out, scalar, 0);
            out.push('\n');
        }
    }
    out
}

/// One string as a YAML scalar on one line: plain when every reader takes it for that
/// string, else double-quoted.
pub(super) fn scalar_text(s: &str) -> String {
    let mut out = String::new();
    write_string(&mut out, s, 0, true);
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn write_mapping(out: &mut String, map: &Map<String, Value>, level: usize) {
    for (i, (key, value)) in map.iter().enumerate() {
        // The first key of a mapping inside a sequence item follows its "- ".
        if i > 0 || !out.ends_with("- ") {
            indent(out, level);
        }
        write_string(out, key, level, true);
        out.push(':');
        write_value_after(out, value, level, true);
    }
}

fn write_sequence(out: &mut String, items: &[Value], level: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !out.ends_with("- ") {
            indent(out, level);
        }
        out.push('-');
        write_value_after(out, item, level, false);
    }
}

/// A value after `key:` or `-`.
fn write_value_after(out: &mut String, value: &Value, level: usize, in_mapping: bool) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            if in_mapping {
                out.push('\n');
                write_mapping(out, map, level + 2);
            } else {
                out.push(' ');
                write_mapping(out, map, level + 2);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            if in_mapping {
                out.push('\n');
                write_sequence(out, items, level);
            } else {
                out.push(' ');
                write_sequence(out, items, level + 2);
            }
        }
        scalar => {
            out.push(' ');
            write_scalar(out, scalar, level + 2);
            out.push('\n');
        }
    }
}

fn write_scalar(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s, level, false),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
    }
}

fn write_string(out: &mut String, s: &str, level: usize, key: bool) {
    if is_safe_plain(s) {
        out.push_str(s);
    } else if !key && fits_literal_block(s) {
        let body = s.trim_end_matches('\n');
        let chomp = match s.len() - body.len() {
            0 => "-",
            1 => "",
            _ => "+",
        };
        out.push('|');
        out.push_str(chomp);
        // Under `|` and `|+` the last newline is the block's own line end.
        for line in s[..s.len() - usize::from(chomp != "-")].split('\n') {
            out.push('\n');
            if !line.is_empty() {
                indent(out, level);
                out.push_str(line);
            }
        }
    } else {
        // A JSON string is a valid YAML double-quoted scalar, with the same escapes.
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    }
}

/// Text every YAML reader (1.1 and 1.2) reads back as this same string when plain.
fn is_safe_plain(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else { return false };
    if !(first.is_ascii_alphabetic() || first == b'/' || first == b'_') {
        return false;
    }
    // One pass: only these characters, and no ": " (`#` is not among them at all).
    let mut previous = 0u8;
    for &b in bytes {
        let allowed = b.is_ascii_alphanumeric()
            || matches!(b, b' ' | b'.' | b'_' | b'/' | b'-' | b':' | b'@' | b'=' | b'+' | b',' | b'(' | b')');
        if !allowed || (previous == b':' && b == b' ') {
            return false;
        }
        previous = b;
    }
    if matches!(previous, b' ' | b':') {
        return false;
    }
    // Words YAML 1.1 or 1.2 reads as booleans or null, in any case.
    !(s.len() <= 5
        && ["true", "false", "null", "yes", "no", "on", "off", "y", "n"].iter().any(|w| w.eq_ignore_ascii_case(s)))
}

/// Multi-line text a literal block (`|`) holds exactly: no carriage returns or other
/// control characters, and a first line that does not start with a space (which would
/// change the block's indentation).
fn fits_literal_block(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\n', '\t'])
        && !s.trim_end_matches('\n').is_empty()
        && !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
        && !s.chars().any(|c| matches!(c, '\u{feff}' | '\u{85}' | '\u{2028}' | '\u{2029}'))
        && !s.split('\n').any(|l| l.ends_with([' ', '\t']))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(text: &str) -> Value {
        let mut docs = parse_stream(text).expect("parses");
        assert_eq!(docs.len(), 1, "{docs:?}");
        docs.remove(0)
    }

    #[test]
    fn plain_scalars_resolve_as_kubectl_reads_them() {
        let v = one(
            "mode: 0644\nhex: 0x1F\nbool: yes\noff: off\nq: '0644'\ndq: \"yes\"\nf: 1.5\ne: 1e3\nnul: ~\ns: nginx:1.25\nneg: -3\nbig: 18446744073709551615\nver: 1.2.3\n",
        );
        assert_eq!(
            v,
            json!({"mode": 420, "hex": 31, "bool": true, "false": false, "q": "0644", "dq": "yes", "f": 1.5, "e": 1000.0,
                   "nul": null, "s": "nginx:1.25", "neg": -3, "big": 18446744073709551615u64, "ver": "1.2.3"})
        );
    }

    #[test]
    fn key_order_anchors_and_merges_are_kept() {
        let v = one("b: 1\na: &x {z: 1, w: 2}\nc: *x\nd:\n  <<: *x\n  w: 3\n");
        assert_eq!(v, json!({"b": 1, "a": {"z": 1, "w": 2}, "c": {"z": 1, "w": 2}, "d": {"z": 1, "w": 3}}));
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["b", "a", "c", "d"]);
    }

    #[test]
    fn documents_split_on_separators_and_empty_ones_are_null() {
        let docs = parse_stream("a: 1\n---\n# only a comment\n---\nb: 2\n").unwrap();
        assert_eq!(docs, vec![json!({"a": 1}), Value::Null, json!({"b": 2})]);
    }

    #[test]
    fn errors_carry_line_and_column() {
        let e = parse_stream("a: 1\nb: [1, 2\n").unwrap_err();
        assert!(e.line >= 2, "{e}");
        let e = parse_stream("a: 1\na: 2\n").unwrap_err();
        assert!(e.message.contains("duplicate key"), "{e}");
        let e = parse_stream("a: &a [*a]\n").unwrap_err();
        assert!(e.message.contains("unknown anchor"), "{e}");
    }

    fn arb_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e12f64..1e12).prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::String),
            "[ -~\n\t]{0,30}".prop_map(Value::String),
            prop::sample::select(vec!["yes", "No", "on", "0644", "1e3", "~", "null", "- x", "a: b", "#c", "|", "x\n"])
                .prop_map(|s| Value::String(s.to_owned())),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec(("[a-zA-Z0-9 ._:/-]{0,10}", inner), 0..5)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn any_written_value_reads_back_the_same(value in arb_value()) {
            let text = to_string(&value);
            let back = parse_stream(&text).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}\n{text}")))?;
            proptest::prop_assert_eq!(back.len(), 1, "{}", text);
            proptest::prop_assert_eq!(&back[0], &value, "{}", text);
        }

        #[test]
        fn any_text_parses_or_is_refused_without_panicking(text in "[a-z0-9:{}\\[\\],'\"|>&*!#<~. \n-]{0,300}") {
            let _ = crate::kube::manifest::parse("fuzz", &text);
        }
    }

    #[test]
    fn written_yaml_reads_back_as_the_same_value() {
        let v = json!({
            "s": ["yes", "on", "0644", "1.0", "", " lead", "trail ", "a: b", "#x", "-", "x\ny\n", "x\ny", "x\n\n",
                  "tab\tin", "é", "line\r\n", "  indented\nblock\n", "null", "~", "a #b", "key:", "@at", "*star"],
            "n": [1, -2, 1.5, 1e300, 0, null, true, false],
            "empty": {}, "none": [],
            "nested": [{"a": [1, {"b": []}]}, [[1], []]],
            "multi": "#!/bin/sh\necho hi\n\nexit 0\n",
        });
        let text = to_string(&v);
        assert_eq!(one(&text), v, "{text}");
        assert!(text.contains("multi: |\n  #!/bin/sh\n  echo hi\n\n  exit 0\n"), "{text}");
        assert!(text.contains("- \"yes\"\n"), "{text}");
    }
}
