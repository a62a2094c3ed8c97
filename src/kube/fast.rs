//! The fast path of `regcred kube`: a line scanner for the block-YAML subset kubectl and
//! Helm write, which finds what attaching needs (kind, name, namespace, each pod spec's
//! images and `imagePullSecrets`) without building values, so a document can be copied
//! out byte for byte with only its new `imagePullSecrets` lines inserted. Whatever it does
//! not understand with certainty (flow collections beyond one line, anchors, tags,
//! multi-line flow or quoted scalars, tabs, CR, `...`, directives, odd indentation) it
//! hands back as text for the full parser in `yaml.rs`, one document or the rest of the
//! stream at a time.

use std::borrow::Cow;

use super::yaml;

/// One piece of a YAML stream.
pub enum Piece<'a> {
    /// A document the scanner understood.
    Scanned(Scanned<'a>),
    /// Text for the full parser, from a document's start (its `---` line, if any) to the
    /// end of the stream: only that document, or all of it when `whole`. `first_line` is
    /// the number of lines before it, for error positions.
    Slow { text: &'a str, first_line: usize, whole: bool },
}

/// What the scanner found in one document.
pub struct Scanned<'a> {
    /// The document's text after its `---` line, comments included.
    pub text: &'a str,
    pub api_version: &'a str,
    pub kind: &'a str,
    pub name: Option<&'a str>,
    pub namespace: Option<&'a str>,
    /// The pod spec of the kind's template, for kinds that have one.
    pub spec: Option<PodSpec<'a>>,
}

/// A pod spec: its images in the order the kubelet pulls them, the Secrets it already
/// names, and where new ones go.
pub struct PodSpec<'a> {
    /// (field, index, image): `initContainers`, `containers`, `ephemeralContainers`.
    pub images: Vec<(&'static str, usize, &'a str)>,
    /// The names already under `imagePullSecrets`, in order.
    pub existing: Vec<&'a str>,
    insert: Insert,
}

/// Where new `imagePullSecrets` entries go.
#[derive(Clone, Copy)]
enum Insert {
    /// No `imagePullSecrets` key: a new one before the spec's first key line (at `at`),
    /// in the spec's indentation.
    NewKey { at: usize, col: usize },
    /// A block list: new items after its last line (at `at`), at its dash column.
    Append { at: usize, col: usize },
    /// `imagePullSecrets: []`: the `[]` (`start..end`) goes, items follow the line (`at`)
    /// at the key's column.
    ReplaceEmpty { start: usize, end: usize, at: usize, col: usize },
}

impl<'a> Scanned<'a> {
    /// The document as it was, with `names` added to its pod spec's `imagePullSecrets`.
    pub fn render(&self, names: &[String]) -> Copied<'a> {
        let text = self.text;
        let Some(spec) = self.spec.as_ref().filter(|_| !names.is_empty()) else {
            return Copied { before: text, inserted: String::new(), after: "" };
        };
        let items = |mut inserted: String, col: usize| -> String {
            for name in names {
                inserted.extend(std::iter::repeat_n(' ', col));
                inserted.push_str("- name: ");
                inserted.push_str(&yaml::scalar_text(name));
                inserted.push('\n');
            }
            inserted
        };
        let (before, inserted, after) = match spec.insert {
            Insert::NewKey { at, col } => {
                let mut key = " ".repeat(col);
                key.push_str("imagePullSecrets:\n");
                (&text[..at], items(key, col), &text[at..])
            }
            Insert::Append { at, col } => {
                // After a last line without a newline, one first.
                let newline = if text[..at].ends_with('\n') || at == 0 { "" } else { "\n" };
                (&text[..at], items(newline.to_owned(), col), &text[at..])
            }
            // The rest of the `[]` line is copied into the insertion: it is short.
            Insert::ReplaceEmpty { start, end, at, col } => {
                let mut rest = text[end..at].to_owned();
                if !rest.ends_with('\n') {
                    rest.push('\n');
                }
                (&text[..start], items(rest, col), &text[at..])
            }
        };
        Copied { before, inserted, after }
    }
}

/// A scanned document as it is written: the input's text around the lines inserted, so
/// the output holds no second copy of the input.
pub struct Copied<'a> {
    before: &'a str,
    inserted: String,
    after: &'a str,
}

impl<'a> Copied<'a> {
    /// The text in order, ending in a newline.
    pub fn parts(&self) -> [&str; 4] {
        let last = [self.after, self.inserted.as_str(), self.before].into_iter().find(|p| !p.is_empty());
        let newline = if last.is_some_and(|p| !p.ends_with('\n')) { "\n" } else { "" };
        [self.before, &self.inserted, self.after, newline]
    }
}

/// The pieces of a YAML stream, one document at a time.
pub struct Pieces<'a> {
    text: &'a str,
    /// Where the next document starts (its `---` line, if any).
    pos: usize,
    /// Lines before `pos`.
    line: usize,
    done: bool,
}

impl<'a> Pieces<'a> {
    pub fn new(text: &'a str) -> Self {
        Pieces { text, pos: 0, line: 0, done: false }
    }
}

/// How a line at column 0 bears on document boundaries.
enum Marker {
    None,
    /// `---`, alone or with a comment.
    Start,
    /// Anything else the scanner leaves to the full parser: `...`, a directive, `---`
    /// with content.
    Other,
}

fn marker(line: &[u8]) -> Marker {
    match line.first() {
        Some(b'%') => return Marker::Other,
        Some(b'-' | b'.') => {}
        _ => return Marker::None,
    }
    let (three, rest) = line.split_at(line.len().min(3));
    if !(three == b"---" || three == b"...") || !(rest.is_empty() || matches!(rest[0], b' ' | b'\t' | b'\r')) {
        return Marker::None;
    }
    let rest = trim_spaces(rest);
    if three == b"---" && (rest.is_empty() || rest[0] == b'#') { Marker::Start } else { Marker::Other }
}

fn trim_spaces(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ').unwrap_or(s.len());
    &s[start..]
}

/// The line starting at `pos` (without its newline) and where the next one starts.
fn line_at(text: &str, pos: usize) -> (&str, usize) {
    match memchr::memchr(b'\n', &text.as_bytes()[pos..]) {
        Some(n) => (&text[pos..pos + n], pos + n + 1),
        None => (&text[pos..], text.len()),
    }
}

impl<'a> Iterator for Pieces<'a> {
    type Item = Piece<'a>;

    fn next(&mut self) -> Option<Piece<'a>> {
        let bytes = self.text.as_bytes();
        while !self.done && self.pos < bytes.len() {
            let start = self.pos;
            let start_line = self.line;
            // The document's own `---` line, then its body up to the next marker.
            let mut body = start;
            let (first, after) = line_at(self.text, start);
            match marker(first.as_bytes()) {
                Marker::Start => {
                    body = after;
                    self.line += 1;
                }
                Marker::Other => {
                    self.done = true;
                    return Some(Piece::Slow { text: &self.text[start..], first_line: start_line, whole: true });
                }
                Marker::None => {}
            }
            let (scanned, end, lines, other) = Scanner::new(&self.text[body..]).scan();
            if other {
                self.done = true;
                return Some(Piece::Slow { text: &self.text[start..], first_line: start_line, whole: true });
            }
            self.pos = body + end;
            self.line += lines;
            match scanned {
                Ok(None) => continue,
                Ok(Some(scanned)) => return Some(Piece::Scanned(scanned)),
                // The full parser reads on from the document's start (so its messages are
                // those it gives for the whole stream) and takes this one document.
                Err(StepAside) => {
                    return Some(Piece::Slow { text: &self.text[start..], first_line: start_line, whole: false });
                }
            }
        }
        None
    }
}

/// The scanner does not understand this document with certainty.
#[derive(Debug)]
pub struct StepAside;

type Scan<T> = Result<T, StepAside>;

/// What a node is, on the paths the scanner follows; everything else is `Other`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Other,
    Root,
    ApiVersion,
    Kind,
    Metadata,
    Name,
    Namespace,
    /// `template` at the top (a PodTemplate).
    Template,
    SpecTemplate,
    JobTemplate,
    JobTemplateSpec,
    JobTemplateSpecTemplate,
    /// A candidate pod spec: 0 `spec` (Pod, and the parent of the others), 1
    /// `template.spec`, 2 `spec.template.spec`, 3 `spec.jobTemplate.spec.template.spec`.
    PodSpec(u8),
    /// `containers` (0 init, 1 containers, 2 ephemeral) of candidate k, its items, their
    /// `image`.
    Containers(u8, u8),
    Container(u8, u8),
    Image(u8, u8),
    PullSecrets(u8),
    PullSecret(u8),
    PullSecretName(u8),
    /// Any other key of a `imagePullSecrets` item: scalars only.
    PullSecretOther(u8),
}

const FIELDS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

fn child_role(parent: Role, key: &str) -> Role {
    match (parent, key) {
        (Role::Root, "apiVersion") => Role::ApiVersion,
        (Role::Root, "kind") => Role::Kind,
        (Role::Root, "metadata") => Role::Metadata,
        (Role::Root, "spec") => Role::PodSpec(0),
        (Role::Root, "template") => Role::Template,
        (Role::Metadata, "name") => Role::Name,
        (Role::Metadata, "namespace") => Role::Namespace,
        (Role::PodSpec(0), "template") => Role::SpecTemplate,
        (Role::PodSpec(0), "jobTemplate") => Role::JobTemplate,
        (Role::Template, "spec") => Role::PodSpec(1),
        (Role::SpecTemplate, "spec") => Role::PodSpec(2),
        (Role::JobTemplate, "spec") => Role::JobTemplateSpec,
        (Role::JobTemplateSpec, "template") => Role::JobTemplateSpecTemplate,
        (Role::JobTemplateSpecTemplate, "spec") => Role::PodSpec(3),
        (Role::PodSpec(k), "initContainers") => Role::Containers(k, 0),
        (Role::PodSpec(k), "containers") => Role::Containers(k, 1),
        (Role::PodSpec(k), "ephemeralContainers") => Role::Containers(k, 2),
        (Role::PodSpec(k), "imagePullSecrets") => Role::PullSecrets(k),
        (Role::Container(k, f), "image") => Role::Image(k, f),
        (Role::PullSecret(k), "name") => Role::PullSecretName(k),
        (Role::PullSecret(k), _) => Role::PullSecretOther(k),
        _ => Role::Other,
    }
}

fn item_role(sequence: Role) -> Role {
    match sequence {
        Role::Containers(k, f) => Role::Container(k, f),
        Role::PullSecrets(k) => Role::PullSecret(k),
        _ => Role::Other,
    }
}

/// The form of a value, as far as roles care.
enum Form<'a> {
    BlockMapping {
        first_line: usize,
        col: usize,
    },
    BlockSequence,
    /// `[]`, with the bytes of the brackets and the end of its line.
    EmptySequence {
        start: usize,
        end: usize,
        line_end: usize,
        key_col: usize,
    },
    EmptyMapping,
    /// A scalar that reads as a string.
    Text(&'a str),
    /// Anything else: null, another scalar, a flow collection, a block scalar.
    Opaque,
}

/// What the scanner gathered for one candidate pod spec.
#[derive(Default)]
struct Candidate<'a> {
    /// A block mapping was found at its path.
    seen: bool,
    /// Something on it is outside the subset: if the kind needs it, the document steps aside.
    broken: bool,
    col: usize,
    first_line: usize,
    fields_seen: [bool; 3],
    images: [Vec<Option<&'a str>>; 3],
    pull_seen: bool,
    pull_items: usize,
    existing: Vec<&'a str>,
    pull_insert: Option<Insert>,
}

struct Open {
    col: usize,
    sequence: bool,
    role: Role,
    /// Where this mapping's keys start in `Scanner::keys`.
    keys_from: usize,
}

/// A key (or `-`) whose value starts on a later line.
struct Pending {
    /// Column of the key, or of the `-`.
    col: usize,
    in_sequence: bool,
    role: Role,
}

/// Keys in one mapping the scanner checks for duplicates one by one; more than this many and it steps
/// aside, so a huge mapping costs no quadratic time.
const MAX_KEYS: usize = 256;

/// Implicit keys longer than this are outside the subset (YAML caps them at 1024).
const MAX_KEY_LEN: usize = 1000;

struct Scanner<'a> {
    text: &'a str,
    stack: Vec<Open>,
    keys: Vec<Cow<'a, str>>,
    pending: Option<Pending>,
    /// End of the last line with content (not blank, not a comment).
    last_content_end: usize,
    api_version: Option<&'a str>,
    kind: Option<&'a str>,
    name: Option<&'a str>,
    namespace: Option<&'a str>,
    candidates: [Candidate<'a>; 4],
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner {
            text,
            stack: Vec::with_capacity(16),
            keys: Vec::with_capacity(32),
            pending: None,
            last_content_end: 0,
            api_version: None,
            kind: None,
            name: None,
            namespace: None,
            candidates: Default::default(),
        }
    }

    /// The document at the start of the text, up to the next marker line: the document
    /// (`None` when it has no content, or `StepAside`), its length and lines, and whether
    /// the marker that ends it is one the scanner leaves to the full parser.
    fn scan(mut self) -> (Scan<Option<Scanned<'a>>>, usize, usize, bool) {
        let mut pos = 0;
        let mut lines = 0;
        let mut other = false;
        let mut failed = false;
        // A block scalar being skipped: the indentation its parent node has, and that of
        // its content once known; the longest all-space line before its content.
        let mut block: (Option<(usize, Option<usize>)>, usize) = (None, 0);
        while pos < self.text.len() {
            let (text, next) = line_at(self.text, pos);
            match marker(text.as_bytes()) {
                Marker::None => {}
                Marker::Start => break,
                Marker::Other => {
                    other = true;
                    break;
                }
            }
            lines += 1;
            // After stepping aside only the document's end is looked for.
            failed = failed || self.scan_line(text, pos, next, &mut block).is_err();
            pos = next;
        }
        self.text = &self.text[..pos];
        let scanned = if failed { Err(StepAside) } else { self.finish_document() };
        (scanned, pos, lines, other)
    }

    fn scan_line(
        &mut self,
        text: &'a str,
        start: usize,
        next: usize,
        block: &mut (Option<(usize, Option<usize>)>, usize),
    ) -> Scan<()> {
        let line = text.as_bytes();
        check_characters(line)?;
        let indent = line.iter().position(|&b| b != b' ').unwrap_or(line.len());
        let blank = indent == line.len();
        if let (Some((parent, content)), blank_before) = *block {
            if blank {
                block.1 = blank_before.max(line.len());
                return Ok(());
            }
            match content {
                Some(content) if indent >= content => {
                    self.last_content_end = next;
                    return Ok(());
                }
                None if indent > parent => {
                    // A first line less indented than an all-space line before it.
                    if blank_before > indent {
                        return Err(StepAside);
                    }
                    block.0 = Some((parent, Some(indent)));
                    self.last_content_end = next;
                    return Ok(());
                }
                _ => block.0 = None,
            }
        }
        if blank || line[indent] == b'#' {
            return Ok(());
        }
        if let Some(parent) = self.line(text, indent, start, next)? {
            *block = (Some((parent, None)), 0);
        }
        self.last_content_end = next;
        Ok(())
    }

    fn finish_document(mut self) -> Scan<Option<Scanned<'a>>> {
        if self.stack.is_empty() && self.pending.is_none() {
            return Ok(None);
        }
        self.resolve_pending_as_null()?;
        while !self.stack.is_empty() {
            self.pop()?;
        }
        self.finish().map(Some)
    }

    /// One line with content. Returns the parent indentation of a block scalar that
    /// starts on it.
    fn line(&mut self, line: &'a str, indent: usize, start: usize, end: usize) -> Scan<Option<usize>> {
        let bytes = line.as_bytes();
        let dash = bytes[indent] == b'-' && (indent + 1 == line.len() || bytes[indent + 1] == b' ');
        if self.stack.is_empty() && self.pending.is_none() {
            // The document's top: a block mapping at column 0.
            if indent != 0 || dash {
                return Err(StepAside);
            }
            self.stack.push(Open { col: 0, sequence: false, role: Role::Root, keys_from: 0 });
        }
        // A value that starts on this line, for a key or `-` before it.
        if let Some(pending) = self.pending.take() {
            let nested = indent > pending.col || (dash && !pending.in_sequence && indent == pending.col);
            if nested {
                let form =
                    if dash { Form::BlockSequence } else { Form::BlockMapping { first_line: start, col: indent } };
                let role = self.value(pending.role, form)?;
                self.stack.push(Open { col: indent, sequence: dash, role, keys_from: self.keys.len() });
            } else {
                self.value(pending.role, Form::Opaque)?;
            }
        }
        while self.stack.last().is_some_and(|top| top.col > indent) {
            self.pop()?;
        }
        let Some(top) = self.stack.last() else { return Err(StepAside) };
        if top.col < indent {
            // More indented than any open node: a continued scalar, or a mistake.
            return Err(StepAside);
        }
        if top.sequence && !dash {
            // A key after a list at its key's column (kubectl's layout) ends the list.
            self.pop()?;
        }
        let Some(top) = self.stack.last() else { return Err(StepAside) };
        if top.col != indent || top.sequence != dash {
            return Err(StepAside);
        }
        if dash {
            let role = item_role(top.role);
            self.item_started(role);
            let mut at = indent + 1;
            while at < line.len() && bytes[at] == b' ' {
                at += 1;
            }
            if at == line.len() || bytes[at] == b'#' {
                self.pending = Some(Pending { col: indent, in_sequence: true, role });
                return Ok(None);
            }
            if bytes[at] == b'-' && (at + 1 == line.len() || bytes[at + 1] == b' ') {
                return Err(StepAside);
            }
            if matches!(bytes[at], b'[' | b'{' | b'|' | b'>') {
                return self.inline_value(line, at, indent, role, start, end);
            }
            // `- key: value` opens a mapping at the key's column.
            if let Some((key, after)) = self.key(line, at)? {
                let role = self.value(role, Form::BlockMapping { first_line: start, col: at })?;
                self.stack.push(Open { col: at, sequence: false, role, keys_from: self.keys.len() });
                return self.entry(line, key, at, after, start, end);
            }
            return self.inline_value(line, at, indent, role, start, end);
        }
        let Some((key, after)) = self.key(line, indent)? else { return Err(StepAside) };
        self.entry(line, key, indent, after, start, end)
    }

    /// A `key:` at column `col` of the mapping on top, its value from `after` on.
    fn entry(
        &mut self,
        line: &'a str,
        key: Cow<'a, str>,
        col: usize,
        after: usize,
        start: usize,
        end: usize,
    ) -> Scan<Option<usize>> {
        let bytes = line.as_bytes();
        let Some(top) = self.stack.last() else { return Err(StepAside) };
        let parent = top.role;
        let mine = &self.keys[top.keys_from..];
        if mine.len() >= MAX_KEYS || mine.contains(&key) {
            return Err(StepAside);
        }
        let role = child_role(parent, &key);
        self.keys.push(key);
        let mut at = after;
        while at < line.len() && bytes[at] == b' ' {
            at += 1;
        }
        if at == line.len() || bytes[at] == b'#' {
            self.pending = Some(Pending { col, in_sequence: false, role });
            return Ok(None);
        }
        self.inline_value(line, at, col, role, start, end)
    }

    /// A value on the same line as its key or `-`, starting at `at`; `col` is that key's
    /// or dash's column.
    fn inline_value(
        &mut self,
        line: &'a str,
        at: usize,
        col: usize,
        role: Role,
        start: usize,
        end: usize,
    ) -> Scan<Option<usize>> {
        let bytes = line.as_bytes();
        let form = match bytes[at] {
            b'|' | b'>' => {
                block_header(&bytes[at + 1..])?;
                self.value(role, Form::Opaque)?;
                return Ok(Some(col));
            }
            b'[' | b'{' => {
                let (stop, empty, pairs) = flow(line, at, 0)?;
                rest_is_comment(line, stop)?;
                match (empty, bytes[at]) {
                    (true, b'[') => {
                        Form::EmptySequence { start: start + at, end: start + stop, line_end: end, key_col: col }
                    }
                    (true, _) => Form::EmptyMapping,
                    // `metadata: {name: web, namespace: shop}`, as hand-written manifests have it.
                    (false, b'{') if role == Role::Metadata => {
                        for (key, text) in pairs {
                            let child = child_role(Role::Metadata, &key);
                            if child != Role::Other {
                                self.value(child, text.map_or(Form::Opaque, Form::Text))?;
                            }
                        }
                        Form::EmptyMapping
                    }
                    _ => Form::Opaque,
                }
            }
            b'"' | b'\'' => {
                let (text, stop) = quoted(line, at)?;
                rest_is_comment(line, stop)?;
                match text {
                    Some(text) => Form::Text(text),
                    None => Form::Opaque,
                }
            }
            _ => {
                let (text, stop) = plain(line, at)?;
                if stop != Stop::End {
                    // `a: b: c`: not valid YAML.
                    return Err(StepAside);
                }
                match yaml::resolved_kind(text) {
                    None if yaml::is_non_finite(text) => return Err(StepAside),
                    None => Form::Text(text),
                    Some(_) => Form::Opaque,
                }
            }
        };
        self.value(role, form)?;
        Ok(None)
    }

    /// A key at `at`: its text (as `sigs.k8s.io/yaml` makes a JSON key of it) and where
    /// its value starts, or `None` when the line holds no key there.
    fn key(&self, line: &'a str, at: usize) -> Scan<Option<(Cow<'a, str>, usize)>> {
        let bytes = line.as_bytes();
        let (key, stop, plain_key) = match bytes[at] {
            b'"' | b'\'' => {
                let (text, stop) = quoted(line, at)?;
                let Some(text) = text else { return Err(StepAside) };
                let mut colon = stop;
                while colon < line.len() && bytes[colon] == b' ' {
                    colon += 1;
                }
                if colon < line.len() && bytes[colon] == b':' {
                    if bytes.get(colon + 1).is_some_and(|&b| b != b' ') {
                        return Err(StepAside);
                    }
                    (text, Stop::Colon(colon), false)
                } else {
                    rest_is_comment(line, stop)?;
                    return Ok(None);
                }
            }
            b'[' | b'{' | b'?' | b':' => return Err(StepAside),
            _ => {
                let (text, stop) = plain(line, at)?;
                (text, stop, true)
            }
        };
        let Stop::Colon(colon) = stop else { return Ok(None) };
        if key.is_empty() || key.len() > MAX_KEY_LEN || (plain_key && key == "<<") {
            return Err(StepAside);
        }
        let key = if plain_key { yaml::key_text(Cow::Borrowed(key)) } else { Cow::Borrowed(key) };
        Ok(Some((key, colon + 1)))
    }

    /// A new item of the sequence on top.
    fn item_started(&mut self, role: Role) {
        match role {
            Role::Container(k, f) => self.candidates[k as usize].images[f as usize].push(None),
            Role::PullSecret(k) => self.candidates[k as usize].pull_items += 1,
            _ => {}
        }
    }

    /// Records a value of `role` in `form`; the role its children get.
    fn value(&mut self, role: Role, form: Form<'a>) -> Scan<Role> {
        let mapping = matches!(form, Form::BlockMapping { .. });
        let sequence = matches!(form, Form::BlockSequence);
        match role {
            Role::Other | Role::Root => {}
            Role::ApiVersion | Role::Kind | Role::Name | Role::Namespace => {
                let Form::Text(text) = form else { return Err(StepAside) };
                let slot = match role {
                    Role::ApiVersion => &mut self.api_version,
                    Role::Kind => &mut self.kind,
                    Role::Name => &mut self.name,
                    _ => &mut self.namespace,
                };
                *slot = Some(text);
            }
            Role::Metadata => {
                if !(mapping || matches!(form, Form::EmptyMapping)) {
                    return Err(StepAside);
                }
            }
            Role::Template
            | Role::SpecTemplate
            | Role::JobTemplate
            | Role::JobTemplateSpec
            | Role::JobTemplateSpecTemplate => {
                // Not a block mapping: the candidates below are never seen.
                if !mapping {
                    return Ok(Role::Other);
                }
            }
            Role::PodSpec(k) => {
                let Form::BlockMapping { first_line, col } = form else { return Ok(Role::Other) };
                let candidate = &mut self.candidates[k as usize];
                candidate.seen = true;
                candidate.first_line = first_line;
                candidate.col = col;
            }
            Role::Containers(k, f) => {
                let candidate = &mut self.candidates[k as usize];
                candidate.fields_seen[f as usize] = true;
                if !(sequence || matches!(form, Form::EmptySequence { .. })) {
                    candidate.broken = true;
                    return Ok(Role::Other);
                }
            }
            Role::Container(k, _) | Role::PullSecret(k) => {
                if !mapping {
                    self.candidates[k as usize].broken = true;
                    return Ok(Role::Other);
                }
            }
            Role::Image(k, f) => {
                let candidate = &mut self.candidates[k as usize];
                match (form, candidate.images[f as usize].last_mut()) {
                    (Form::Text(image), Some(slot)) => *slot = Some(image),
                    _ => candidate.broken = true,
                }
            }
            Role::PullSecrets(k) => {
                let candidate = &mut self.candidates[k as usize];
                candidate.pull_seen = true;
                match form {
                    // Its end is known when it closes.
                    Form::BlockSequence => {}
                    Form::EmptySequence { start, end, line_end, key_col } => {
                        candidate.pull_insert = Some(Insert::ReplaceEmpty { start, end, at: line_end, col: key_col });
                    }
                    _ => {
                        candidate.broken = true;
                        return Ok(Role::Other);
                    }
                }
            }
            Role::PullSecretName(k) => {
                let candidate = &mut self.candidates[k as usize];
                match form {
                    Form::Text(name) => candidate.existing.push(name),
                    _ => candidate.broken = true,
                }
            }
            Role::PullSecretOther(k) => {
                if !matches!(form, Form::Text(_)) {
                    self.candidates[k as usize].broken = true;
                    return Ok(Role::Other);
                }
            }
        }
        Ok(role)
    }

    /// A key or `-` with nothing after it was followed by no nested node: null.
    fn resolve_pending_as_null(&mut self) -> Scan<()> {
        if let Some(pending) = self.pending.take() {
            self.value(pending.role, Form::Opaque)?;
        }
        Ok(())
    }

    fn pop(&mut self) -> Scan<()> {
        let Some(open) = self.stack.pop() else { return Err(StepAside) };
        if !open.sequence {
            self.keys.truncate(open.keys_from);
        }
        match open.role {
            Role::PullSecrets(k) if open.sequence => {
                self.candidates[k as usize].pull_insert =
                    Some(Insert::Append { at: self.last_content_end, col: open.col });
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Scan<Scanned<'a>> {
        let (Some(api_version), Some(kind)) = (self.api_version, self.kind) else { return Err(StepAside) };
        if api_version.is_empty() || kind.is_empty() || kind == "List" || (api_version == "v1" && kind == "Secret") {
            // Lists and the Secrets the output may replace are values' work.
            return Err(StepAside);
        }
        let spec = match super::manifest::pod_spec_path(api_version, kind) {
            None => None,
            Some(path) => {
                let k = match path.len() {
                    1 => 0,
                    2 => 1,
                    3 => 2,
                    _ => 3,
                };
                Some(pod_spec(self.candidates.into_iter().nth(k).ok_or(StepAside)?)?)
            }
        };
        Ok(Scanned { text: self.text, api_version, kind, name: self.name, namespace: self.namespace, spec })
    }
}

/// The chosen candidate as a pod spec, or `StepAside` when the full parser should judge it.
fn pod_spec(candidate: Candidate<'_>) -> Scan<PodSpec<'_>> {
    if !candidate.seen || candidate.broken || !candidate.fields_seen[1] {
        return Err(StepAside);
    }
    let mut images = Vec::new();
    for (f, list) in candidate.images.iter().enumerate() {
        for (i, image) in list.iter().enumerate() {
            images.push((FIELDS[f], i, image.ok_or(StepAside)?));
        }
    }
    if images.is_empty() || candidate.existing.len() != candidate.pull_items {
        // No images: the values' path writes an empty `imagePullSecrets: []`.
        return Err(StepAside);
    }
    let insert = if candidate.pull_seen {
        candidate.pull_insert.ok_or(StepAside)?
    } else {
        Insert::NewKey { at: candidate.first_line, col: candidate.col }
    };
    Ok(PodSpec { images, existing: candidate.existing, insert })
}

/// Characters the full parser may treat differently: control characters (tab and CR
/// among them), DEL, C1 controls, byte-order marks, non-characters.
fn check_characters(line: &[u8]) -> Scan<()> {
    // Without early exit, so it runs over whole vectors: any byte outside printable ASCII.
    let outside = line.iter().fold(false, |outside, &b| outside | !(0x20..0x7f).contains(&b));
    if !outside {
        return Ok(());
    }
    if line.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(StepAside);
    }
    let text = std::str::from_utf8(line).map_err(|_| StepAside)?;
    if text
        .chars()
        .any(|c| matches!(c, '\u{80}'..='\u{9f}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}' | '\u{2028}' | '\u{2029}'))
    {
        return Err(StepAside);
    }
    Ok(())
}

/// After a value: nothing, or spaces and a comment.
fn rest_is_comment(line: &str, at: usize) -> Scan<()> {
    let rest = &line.as_bytes()[at..];
    let trimmed = trim_spaces(rest);
    if trimmed.is_empty() || (trimmed[0] == b'#' && trimmed.len() < rest.len()) { Ok(()) } else { Err(StepAside) }
}

/// `|` or `>`, an optional chomping indicator, then nothing or a comment.
fn block_header(rest: &[u8]) -> Scan<()> {
    let rest = match rest.first() {
        Some(b'+' | b'-') => &rest[1..],
        _ => rest,
    };
    let trimmed = trim_spaces(rest);
    if trimmed.is_empty() || (trimmed[0] == b'#' && trimmed.len() < rest.len()) { Ok(()) } else { Err(StepAside) }
}

#[derive(PartialEq, Eq, Debug)]
enum Stop {
    End,
    /// A `:` followed by a space or the end of the line, at this byte.
    Colon(usize),
}

/// A plain scalar on one line from `at`: its text without trailing spaces, and what ends
/// it (a comment counts as the end).
fn plain(line: &str, at: usize) -> Scan<(&str, Stop)> {
    let bytes = line.as_bytes();
    let first = bytes[at];
    let next_is_space = bytes.get(at + 1).is_none_or(|&b| b == b' ');
    if matches!(first, b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\'' | b'"')
        || matches!(first, b'%' | b'@' | b'`')
        || (matches!(first, b'-' | b'?' | b':') && next_is_space)
    {
        return Err(StepAside);
    }
    let mut end = line.len();
    let mut stop = Stop::End;
    let mut from = at;
    while let Some(n) = memchr::memchr2(b':', b'#', &bytes[from..]) {
        let i = from + n;
        match bytes[i] {
            b':' if i + 1 == line.len() || bytes[i + 1] == b' ' => {
                end = i;
                stop = Stop::Colon(i);
                break;
            }
            b'#' if bytes[i - 1] == b' ' => {
                end = i;
                break;
            }
            _ => {}
        }
        from = i + 1;
    }
    let mut trimmed = end;
    while trimmed > at && bytes[trimmed - 1] == b' ' {
        trimmed -= 1;
    }
    let text = &line[at..trimmed];
    Ok((text, stop))
}

/// A quoted scalar closed on this line, from its quote at `at`: its text when it has no
/// escapes (`None` when it has), and the byte after the closing quote.
fn quoted(line: &str, at: usize) -> Scan<(Option<&str>, usize)> {
    let bytes = line.as_bytes();
    let quote = bytes[at];
    let mut escaped = false;
    let mut from = at + 1;
    while let Some(n) = memchr::memchr2(quote, b'\\', &bytes[from..]) {
        let i = from + n;
        if bytes[i] == quote {
            if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                escaped = true;
                from = i + 2;
                continue;
            }
            let text = if escaped { None } else { Some(&line[at + 1..i]) };
            return Ok((text, i + 1));
        }
        if quote == b'"' {
            // Only the one-character escapes; `\x`, `\u`, `\U` and line continuations
            // are the full parser's.
            match bytes.get(i + 1) {
                Some(b'0' | b'a' | b'b' | b't' | b'n' | b'v' | b'f' | b'r' | b'e' | b' ' | b'"' | b'/' | b'\\')
                | Some(b'N' | b'_' | b'L' | b'P') => {
                    escaped = true;
                    from = i + 2;
                    continue;
                }
                _ => return Err(StepAside),
            }
        }
        // A backslash in single quotes is itself.
        from = i + 1;
    }
    // Closed on a later line.
    Err(StepAside)
}

/// A flow collection that closes on this line, from its bracket at `at`: the byte after
/// it, whether it is empty, and a mapping's keys with their values where those are
/// strings. Nested collections, quoted scalars and plain scalars without `:` or `#`, keys
/// unique; anything else steps aside.
fn flow(line: &str, at: usize, depth: usize) -> Scan<(usize, bool, Pairs<'_>)> {
    let bytes = line.as_bytes();
    if depth > 16 {
        return Err(StepAside);
    }
    let mapping = bytes[at] == b'{';
    let close = if mapping { b'}' } else { b']' };
    let mut pairs: Pairs<'_> = Vec::new();
    let mut i = skip_spaces(line, at + 1);
    if bytes.get(i) == Some(&close) {
        return Ok((i + 1, true, pairs));
    }
    loop {
        let mut key = None;
        if mapping {
            let (name, _, after) = flow_node(line, i, depth)?;
            let Some(name) = name else { return Err(StepAside) };
            if name == "<<" || pairs.len() >= MAX_KEYS || pairs.iter().any(|(k, _)| *k == name) {
                return Err(StepAside);
            }
            key = Some(name);
            i = skip_spaces(line, after);
            if !(bytes.get(i) == Some(&b':') && bytes.get(i + 1) == Some(&b' ')) {
                return Err(StepAside);
            }
            i = skip_spaces(line, i + 1);
        }
        let (_, text, after) = flow_node(line, i, depth)?;
        if let Some(key) = key {
            pairs.push((key, text));
        }
        i = skip_spaces(line, after);
        match bytes.get(i) {
            Some(b',') => {
                i = skip_spaces(line, i + 1);
                if matches!(bytes.get(i), Some(b']' | b'}' | b',')) {
                    return Err(StepAside);
                }
            }
            Some(&b) if b == close => return Ok((i + 1, false, pairs)),
            _ => return Err(StepAside),
        }
    }
}

/// A flow node: its text as a key, as a string value, and the byte after it.
type FlowNode<'a> = (Option<Cow<'a, str>>, Option<&'a str>, usize);

/// A flow mapping's keys, each with its value when that is a string.
type Pairs<'a> = Vec<(Cow<'a, str>, Option<&'a str>)>;

fn skip_spaces(line: &str, mut i: usize) -> usize {
    let line = line.as_bytes();
    while i < line.len() && line[i] == b' ' {
        i += 1;
    }
    i
}

/// One node inside a flow collection: its text as a key (`None` for a collection), its
/// text as a string value (`None` unless it reads as a string), and the byte after it.
fn flow_node(line: &str, at: usize, depth: usize) -> Scan<FlowNode<'_>> {
    let bytes = line.as_bytes();
    match bytes.get(at) {
        None => Err(StepAside),
        Some(b'[' | b'{') => flow(line, at, depth + 1).map(|(end, _, _)| (None, None, end)),
        Some(b'"' | b'\'') => {
            // With escapes it is no key the scanner can compare, and no string it records.
            let (text, end) = quoted(line, at)?;
            Ok((text.map(Cow::Borrowed), text, end))
        }
        Some(&first) => {
            if matches!(first, b'-' | b'?' | b':' | b',' | b']' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>')
                || matches!(first, b'%' | b'@' | b'`')
            {
                return Err(StepAside);
            }
            let mut end = at;
            while end < line.len() && !matches!(bytes[end], b',' | b'[' | b']' | b'{' | b'}' | b':' | b'#') {
                end += 1;
            }
            if matches!(bytes.get(end), Some(b'#')) {
                return Err(StepAside);
            }
            if bytes.get(end) == Some(&b':') && bytes.get(end + 1) != Some(&b' ') {
                return Err(StepAside);
            }
            let mut trimmed = end;
            while trimmed > at && bytes[trimmed - 1] == b' ' {
                trimmed -= 1;
            }
            let text = &line[at..trimmed];
            if yaml::is_non_finite(text) {
                return Err(StepAside);
            }
            let string = yaml::resolved_kind(text).is_none().then_some(text);
            Ok((Some(yaml::key_text(Cow::Borrowed(text))), string, end))
        }
    }
}

#[cfg(test)]
mod tests {
    //! The fast path against the full parser: for any stream, the output re-read, the
    //! Secrets and the unresolved images are the same either way, and so is any error.

    use proptest::prelude::*;
    use serde_json::Value;

    use crate::kube::manifest::tests::resolver;
    use crate::kube::manifest::{self, Attacher, Format, Object};
    use crate::kube::yaml;

    /// What a run makes of a stream: the output's documents re-read, the Secrets
    /// (namespace, name) and the unresolved images (where, path, image); or the error.
    type Run = Result<(Vec<Value>, Vec<(String, String)>, Vec<(String, String, String)>), String>;

    /// The whole of `regcred kube` but the store: attach, hold back replaceable Secrets,
    /// render. Also how many documents the fast path took.
    fn run(text: &str, fast: bool) -> (Run, usize) {
        let mut scanned = 0;
        let mut attach = || -> Result<_, manifest::ManifestError> {
            let mut attacher = Attacher::new("default", resolver);
            let mut texts = Vec::new();
            let mut held = Vec::new();
            for object in manifest::objects("t.yaml", text, fast) {
                match object? {
                    Object::Value(mut document) => {
                        attacher.add(&mut document)?;
                        if manifest::may_be_replaced(&document) {
                            held.push(document);
                        } else {
                            texts.push(manifest::render_one(&document, Format::Yaml));
                        }
                    }
                    Object::Scanned(document) => {
                        scanned += 1;
                        texts.push(attacher.add_scanned(&document)?.parts().concat());
                    }
                }
            }
            for mut document in held {
                if !attacher.drop_replaced(&mut document)? {
                    texts.push(manifest::render_one(&document, Format::Yaml));
                }
            }
            Ok((texts, attacher.finish()))
        };
        let run = attach().map_err(|e| e.to_string()).and_then(|(texts, outcome)| {
            let output = texts.join("---\n");
            let values = yaml::parse_stream(&output).map_err(|e| format!("output does not parse: {e}\n{output}"))?;
            let secrets = outcome.secrets.into_iter().map(|s| (s.namespace, s.name)).collect();
            let unresolved = outcome.unresolved.into_iter().map(|u| (u.at, u.path, u.image)).collect();
            Ok((values.into_iter().filter(|v| !v.is_null()).collect(), secrets, unresolved))
        });
        (run, scanned)
    }

    /// (apiVersion, kind, where the pod spec is).
    const KINDS: [(&str, &str, &[&str]); 9] = [
        ("apps/v1", "Deployment", &["spec", "template", "spec"]),
        ("v1", "Pod", &["spec"]),
        ("batch/v1", "CronJob", &["spec", "jobTemplate", "spec", "template", "spec"]),
        ("batch/v1", "Job", &["spec", "template", "spec"]),
        ("v1", "PodTemplate", &["template", "spec"]),
        ("apps/v1", "StatefulSet", &["spec", "template", "spec"]),
        // Not workloads, however they look.
        ("example.com/v1", "Widget", &["spec", "template", "spec"]),
        ("v1", "ConfigMap", &["data"]),
        ("v1", "Secret", &["data"]),
    ];

    const IMAGES: [&str; 6] =
        ["quay.io/a:1", "ghcr.io/x/y", "registry.lan:5000/z@sha256:0", "nginx", "quay.io/b", "bad image"];

    /// Values as they are written: plain, quoted, YAML 1.1 words and numbers, block
    /// scalars, and forms the fast path leaves to the full parser.
    const VALUES: [&str; 16] = [
        "plain text",
        "\"double # quoted\"",
        "'single: quoted'",
        "0644",
        "yes",
        "|\n  line one\n\n  line: two # kept\n",
        ">-\n  folded\n  text\n",
        "\"esc \\\" \\n \\t\"",
        "[a, 'b', {c: d}]",
        "first\n  continued",
        "!!str 5",
        "&anchor x",
        "{}",
        "~",
        "'it''s'",
        ".inf",
    ];

    #[derive(Debug, Clone)]
    struct Shape {
        kind: usize,
        kind_last: bool,
        compact: bool,
        comments: u16,
        quoted_keys: bool,
        namespace: Option<u8>,
        images: Vec<(usize, u8)>,
        init: Vec<(usize, u8)>,
        env: Vec<usize>,
        pull: u8,
        pull_names: Vec<u8>,
        extra: bool,
    }

    fn shape() -> impl Strategy<Value = Shape> {
        (
            (0..KINDS.len(), any::<bool>(), any::<bool>(), any::<u16>(), any::<bool>(), prop::option::of(0u8..3)),
            (
                prop::collection::vec((0..IMAGES.len(), 0u8..4), 0..3),
                prop::collection::vec((0..IMAGES.len(), 0u8..4), 0..2),
                prop::collection::vec(0..VALUES.len(), 0..3),
                0u8..7,
                prop::collection::vec(0u8..3, 0..3),
                any::<bool>(),
            ),
        )
            .prop_map(|((kind, kind_last, compact, comments, quoted_keys, namespace), rest)| {
                let (images, init, env, pull, pull_names, extra) = rest;
                Shape {
                    kind,
                    kind_last,
                    compact,
                    comments,
                    quoted_keys,
                    namespace,
                    images,
                    init,
                    env,
                    pull,
                    pull_names,
                    extra,
                }
            })
    }

    /// Lines (indentation, text) of one document of this shape.
    fn document(s: &Shape, number: usize) -> String {
        let (api_version, kind, path) = KINDS[s.kind];
        let key = |name: &str| {
            if s.quoted_keys && name.len().is_multiple_of(3) { format!("\"{name}\"") } else { name.to_owned() }
        };
        let mut lines: Vec<(usize, String)> = Vec::new();
        let head = vec![(0, format!("{}: {api_version}", key("apiVersion"))), (0, format!("{}: {kind}", key("kind")))];
        let mut meta = vec![(0, format!("{}:", key("metadata"))), (2, format!("name: d{number}"))];
        if let Some(ns) = s.namespace {
            meta.push((2, format!("namespace: ns{ns}")));
        }
        meta.push((2, "annotations:".into()));
        meta.push((4, "note: |\n      kept: as text\n      - not a list".into()));
        if !s.kind_last {
            lines.extend(head.clone());
        }
        lines.extend(meta);
        let seq = |col: usize| if s.compact { col } else { col + 2 };
        let mut col = 0;
        if kind == "ConfigMap" || kind == "Secret" {
            if kind == "Secret" {
                lines.push((0, "type: kubernetes.io/dockerconfigjson".into()));
                if let Some(line) = lines.iter_mut().find(|(_, l)| l.starts_with("name: d")) {
                    *line = (2, format!("name: cred-{}", 1 + number % 3));
                }
            }
            lines.push((0, "data:".into()));
            for (i, v) in s.env.iter().enumerate() {
                lines.push((2, format!("k{i}: {}", VALUES[*v].replace("\n  ", "\n    "))));
            }
        } else {
            for step in path {
                lines.push((col, format!("{}:", key(step))));
                col += 2;
                if s.extra {
                    lines.push((col, "specVersion: 2".into()));
                }
            }
            let containers = |lines: &mut Vec<(usize, String)>, field: &str, list: &[(usize, u8)]| {
                lines.push((col, format!("{field}:{}", if list.is_empty() { " []" } else { "" })));
                let dash = seq(col);
                for (i, (image, style)) in list.iter().enumerate() {
                    let image = IMAGES[*image];
                    let image = match style {
                        0 => image.to_owned(),
                        1 => format!("\"{image}\""),
                        2 => format!("'{image}'"),
                        _ => format!("{image} # pinned"),
                    };
                    lines.push((dash, format!("- name: c{i}")));
                    lines.push((dash + 2, format!("{}: {image}", key("image"))));
                    lines.push((dash + 2, "env:".into()));
                    for (j, v) in s.env.iter().enumerate() {
                        let value = VALUES[*v].replace('\n', &format!("\n{}", " ".repeat(seq(dash + 2) + 4)));
                        lines.push((seq(dash + 2), format!("- name: E{j}")));
                        lines.push((seq(dash + 2) + 2, format!("value: {value}")));
                    }
                }
            };
            if !s.init.is_empty() {
                containers(&mut lines, "initContainers", &s.init);
            }
            if !s.images.is_empty() || s.pull != 6 {
                containers(&mut lines, "containers", &s.images);
            }
            let names: Vec<String> =
                s.pull_names.iter().map(|n| ["cred-2", "other", "cred-3"][*n as usize].to_owned()).collect();
            match s.pull {
                1 => lines.push((col, "imagePullSecrets: []".into())),
                2 | 3 => {
                    lines.push((col, "imagePullSecrets:".into()));
                    for name in &names {
                        let item = if s.pull == 2 { format!("- name: {name}") } else { format!("- {{name: {name}}}") };
                        lines.push((seq(col), item));
                    }
                    if names.is_empty() {
                        lines.push((seq(col), "- name: only".into()));
                    }
                }
                4 => lines.push((
                    col,
                    format!(
                        "imagePullSecrets: [{}]",
                        names.iter().map(|n| format!("{{name: {n}}}")).collect::<Vec<_>>().join(", ")
                    ),
                )),
                5 => lines.push((col, "imagePullSecrets:".into())),
                _ => {}
            }
            lines.push((col, "restartPolicy: Always".into()));
        }
        if s.kind_last {
            lines.extend(head);
        }
        let mut text = String::new();
        for (i, (indent, line)) in lines.iter().enumerate() {
            if s.comments & (1 << (i % 16)) != 0 && i.is_multiple_of(3) {
                text.push_str(&" ".repeat(*indent));
                text.push_str("# a comment\n");
            }
            text.push_str(&" ".repeat(*indent));
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    const SEPARATORS: [&str; 5] = ["---\n", "--- # next\n", "\n---\n", "...\n---\n", "---\n# only a comment\n---\n"];

    fn stream(shapes: &[Shape], separators: &[usize], lead: bool) -> String {
        let mut text = String::new();
        if lead {
            text.push_str("---\n");
        }
        for (i, s) in shapes.iter().enumerate() {
            if i > 0 {
                text.push_str(SEPARATORS[separators.get(i).copied().unwrap_or(0) % SEPARATORS.len()]);
            }
            text.push_str(&document(s, i));
        }
        text
    }

    /// One small edit of a stream: a byte deleted or inserted, a line repeated or shifted.
    fn perturb(text: &str, at: usize, op: u8, insert: char) -> String {
        let mut text = text.to_owned();
        if text.is_empty() {
            return text;
        }
        let mut at = at % text.len();
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
        let line_end = text[at..].find('\n').map_or(text.len(), |n| at + n + 1);
        match op {
            0 => {
                text.remove(at);
            }
            1 => text.insert(at, insert),
            2 => {
                let line = text[line_start..line_end].to_owned();
                text.insert_str(line_start, &line);
            }
            3 => text.insert(line_start, ' '),
            _ => {
                if text[line_start..].starts_with(' ') {
                    text.remove(line_start);
                }
            }
        }
        text
    }

    fn check(text: &str) -> Result<usize, TestCaseError> {
        let (slow, _) = run(text, false);
        let (fast, scanned) = run(text, true);
        prop_assert_eq!(&fast, &slow, "fast and full paths differ on:\n{}", text);
        Ok(scanned)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(600))]

        #[test]
        fn the_fast_path_means_what_the_full_parser_means(
            shapes in prop::collection::vec(shape(), 1..4),
            separators in prop::collection::vec(0usize..5, 4),
            lead in any::<bool>(),
            crlf in prop::bool::weighted(0.1),
        ) {
            let mut text = stream(&shapes, &separators, lead);
            if crlf {
                text = text.replace('\n', "\r\n");
            }
            check(&text)?;
        }

        #[test]
        fn perturbed_manifests_mean_the_same_on_both_paths(
            shapes in prop::collection::vec(shape(), 1..3),
            edits in prop::collection::vec((any::<usize>(), 0u8..5, prop::sample::select(
                vec![':', ' ', '-', '#', '\'', '"', '{', '}', '[', ']', '\n', '\t', '|', '>', '&', '*', '!', '?', ',', 'x', '\\', '%', '.']
            )), 1..3),
        ) {
            let mut text = stream(&shapes, &[0, 1, 2], false);
            for (at, op, c) in edits {
                text = perturb(&text, at, op, c);
            }
            check(&text)?;
        }
    }

    /// Inputs at the edges of the subset, each with how many documents the fast path
    /// should take: the rest step aside, and the outcome is the full parser's either way.
    #[test]
    fn tricky_inputs_mean_the_same_on_both_paths() {
        const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n";
        let cases: Vec<(String, usize)> = vec![
            // Comments between keys, at any indentation, and after values.
            (format!("{POD}  # c\n  containers: # c\n# c\n  - name: a # c\n      # c\n    image: quay.io/a # c\n"), 1),
            // Quoted keys, and an image quoted either way.
            (format!("{POD}  \"containers\":\n  - 'image': \"quay.io/a\"\n  - image: 'ghcr.io/b'\n"), 1),
            // `imagePullSecrets: []`, with and without a comment, and at the end without a newline.
            (format!("{POD}  imagePullSecrets: [] # none\n  containers:\n  - image: quay.io/a\n"), 1),
            (format!("{POD}  containers:\n  - image: quay.io/a\n  imagePullSecrets: []"), 1),
            // Existing entries as `- name: x` (kept, none twice) and `- {name: x}` (full parser).
            (format!("{POD}  imagePullSecrets:\n    - name: cred-1\n    - name: other\n  containers:\n  - image: quay.io/a\n  - image: ghcr.io/b\n"), 1),
            (format!("{POD}  imagePullSecrets:\n  - {{name: cred-1}}\n  containers:\n  - image: quay.io/a\n"), 0),
            (format!("{POD}  imagePullSecrets: [{{name: cred-1}}]\n  containers:\n  - image: quay.io/a\n"), 0),
            // The last entry at the end of the text without a newline.
            (format!("{POD}  containers:\n  - image: quay.io/a\n  imagePullSecrets:\n  - name: other"), 1),
            // Flow containers: the full parser.
            (format!("{POD}  containers: [{{name: a, image: quay.io/a}}]\n"), 0),
            // CRLF: the full parser, for the whole stream.
            (format!("{POD}  containers:\n  - image: quay.io/a\n").replace('\n', "\r\n"), 0),
            // `...` ends a document: the full parser from there on.
            (format!("{POD}  containers:\n  - image: quay.io/a\n---\n{POD}  containers:\n  - image: ghcr.io/b\n...\n"), 1),
            // `---` with a comment, an empty document, a document without `---`.
            (format!("{POD}  containers:\n  - image: quay.io/a\n--- # next\n\n---\n{}", POD.replace("name: p", "name: q") + "  containers:\n  - image: quay.io/a\n"), 2),
            // Keys that merely contain "spec", and a template under a kind that is not a workload.
            ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspecial: 1\nspec:\n  inspect: 2\n  containers:\n  - image: quay.io/a\n".to_owned(), 1),
            ("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  template:\n    spec:\n      containers:\n      - image: quay.io/a\n".to_owned(), 1),
            // Block scalars in env values and annotations, with lines that look like keys and `---`-like text.
            ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    a: |\n      key: value\n      - item\n     # less indented comment\nspec:\n  containers:\n  - image: quay.io/a\n    env:\n    - name: X\n      value: >-\n        folded\n         --- not a marker\n\n    - name: Y\n      value: |+\n        kept\n\n".to_owned(), 1),
            // YAML 1.1 values stay as written; they mean what they meant.
            (format!("{POD}  containers:\n  - image: quay.io/a\n    env:\n    - {{name: A, value: 0644}}\n    - name: B\n      value: yes\n  volumes:\n  - configMap: {{defaultMode: 0644}}\n"), 1),
            // Anchors, tags, aliases and merges: the full parser.
            (format!("{POD}  containers:\n  - &c\n    image: quay.io/a\n  initContainers:\n  - *c\n"), 0),
            (format!("{POD}  containers:\n  - image: !!str quay.io/a\n"), 0),
            // A multi-line plain scalar: the full parser.
            (format!("{POD}  containers:\n  - image: quay.io/a\n    args:\n    - one\n      two\n"), 0),
            // Tabs, odd indentation, a top-level list, a `List`, JSON: the full parser.
            (format!("{POD}  containers:\n  - image: quay.io/a\n    args: [\"\\t\"]\n"), 1),
            (format!("{POD}  containers:\n  - image:\tquay.io/a\n"), 0),
            (format!("{POD}  containers:\n  - image: quay.io/a\n   name: x\n"), 0),
            ("- apiVersion: v1\n".to_owned(), 0),
            ("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec:\n    containers:\n    - image: quay.io/a\n".to_owned(), 0),
            ("{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"spec\": {\"containers\": [{\"image\": \"quay.io/a\"}]}}".to_owned(), 0),
            // Duplicate keys, errors after a scanned document: the full parser's message and line.
            (format!("{POD}  containers:\n  - image: quay.io/a\n---\n{POD}  containers: []\n  containers: []\n"), 1),
            (format!("{POD}  containers:\n  - image: quay.io/a\n---\n{POD}  containers: [\n"), 1),
            // A flow collection or quoted scalar left open across `---`.
            (format!("{POD}  containers: [\n---\n{POD}  containers:\n  - image: quay.io/a\n"), 0),
            (format!("{POD}  containers:\n  - image: \"quay.io/a\n---\n{POD}  containers:\n  - image: quay.io/a\n"), 0),
            (format!("{POD}  containers:\n  - image: quay.io/a\n    args:\n    - one\n---\n  two\n"), 1),
            // Many keys in one mapping: the full parser.
            (format!("{POD}  containers:\n  - image: quay.io/a\n    env: {{{}}}\n", (0..300).map(|i| format!("k{i}: v")).collect::<Vec<_>>().join(", ")), 0),
            // Nothing to add: the document comes out byte for byte.
            (format!("# head\n{POD}  containers:\n  - image: nginx   # no credential\n"), 1),
            // A Secret the output replaces waits as a value.
            ("apiVersion: v1\nkind: Secret\nmetadata: {name: cred-1}\ntype: kubernetes.io/dockerconfigjson\n---\n".to_owned() + POD + "  containers:\n  - image: quay.io/a\n", 1),
        ];
        for (text, fast) in cases {
            let scanned = check(&text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(scanned, fast, "documents the fast path took in:\n{text}");
        }
    }

    #[test]
    fn a_document_that_needs_nothing_is_copied_byte_for_byte() {
        let text = "# head\napiVersion: v1\nkind: Pod\nmetadata:   {name: p}   # odd spacing\nspec:\n    containers:\n      -   image: \"nginx\"\n          args: ['a', \"b\"]\n";
        let mut attacher = Attacher::new("default", resolver);
        let mut out = String::new();
        for object in manifest::objects("t.yaml", text, true) {
            let Ok(Object::Scanned(document)) = object else { panic!("not scanned") };
            out.push_str(&attacher.add_scanned(&document).unwrap().parts().concat());
        }
        assert_eq!(out, text);
    }

    /// Lines a pod spec may hold, right or wrong, for documents of random structure.
    const LINES: [&str; 32] = [
        "containers:",
        "initContainers:",
        "imagePullSecrets:",
        "imagePullSecrets: []",
        "- name: cred-1",
        "- name: other",
        "- image: quay.io/a",
        "- image: ghcr.io/b",
        "image: quay.io/c",
        "image: nginx",
        "- name: c",
        "-",
        "- - x",
        "spec:",
        "template:",
        "name: x",
        "value: |",
        "value: >-",
        "text in a block",
        "key: value # comment",
        "# comment",
        "",
        "args: [a, \"b\", {c: d}]",
        "resources: {}",
        "'quoted': \"value\"",
        "key: 'it''s'",
        "key:value",
        "key: a: b",
        "? complex",
        "- {name: cred-2}",
        "env:",
        "restartPolicy: Always",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn random_structures_mean_the_same_on_both_paths(
            kind in 0usize..4,
            lines in prop::collection::vec((0usize..5, 0..LINES.len()), 1..24),
        ) {
            let head = [
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n",
                "apiVersion: v1\nkind: PodTemplate\nmetadata:\n  name: t\ntemplate:\n",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n",
            ][kind];
            let mut text = head.to_owned();
            // Each line two columns left or right of the one before, or at its column.
            let mut indent = 2usize;
            for (step, line) in lines {
                indent = match step {
                    0 => indent.saturating_sub(4),
                    1 => indent.saturating_sub(2),
                    2 | 3 => indent,
                    _ => indent + 2,
                }
                .max(2);
                text.push_str(&" ".repeat(indent));
                text.push_str(LINES[line]);
                text.push('\n');
            }
            // Most are not valid YAML: the fast path must step aside from each of those.
            check(&text)?;
        }
    }

    #[test]
    fn plain_workloads_take_the_fast_path() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: quay.io/a\n        resources: {limits: {cpu: 1}}\n---\n# c\napiVersion: v1\nkind: Pod\nmetadata: {}\nspec:\n  imagePullSecrets: []\n  containers:\n    - image: \"ghcr.io/b\"\n      args: ['x', \"y\"]\n";
        let (fast, scanned) = run(text, true);
        assert_eq!(scanned, 2);
        assert_eq!(fast, run(text, false).0);
    }
}
