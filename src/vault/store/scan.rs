//! The fast path for `registries.toml`: a borrowing scanner for exactly the TOML that
//! regcred itself writes, and a direct writer of that same text.
//!
//! The scanner accepts only: lines of `key = value` (bare keys; decimal integers, `true` /
//! `false`, basic strings without escapes or control characters), the headers
//! `[[environments]]` and `[[credentials]]`, and empty lines. Anything else — a comment,
//! an escape, a literal string, an unknown key or section (a newer schema's `[[tls]]`), a
//! duplicate or missing field, a timestamp it does not read itself — makes it answer `None`,
//! and the caller parses the file with the `toml` crate instead, which gives the same value
//! or the same error (with line and column) as before. So this module changes speed, never
//! meaning: `tests::scanner_agrees_with_toml` checks that on random stores. A reading of a
//! text the journal vouches for ([`parse_vouched`]) passes over the credentials it does not
//! need unchecked, and keeps the same ones (`tests::a_vouched_reading_keeps_what_a_checked_one_keeps`).
//!
//! Why: `toml` + serde takes ~27,000 instructions per credential (a 10,000-credential store
//! took 270 M instructions to load, 85% of a `resolve`); this takes a few hundred.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::{Credential, Environment, Registries};
use crate::vault::secrets::SecretStoreKind;

/// Which credentials a command needs. Everything else is skipped before it is copied.
pub struct Need<'a> {
    /// Keep only this environment's credentials (`None`: the store's current environment).
    pub environment: Option<&'a str>,
    /// Keep a credential when this says its address text may be wanted…
    pub address: &'a dyn Fn(&str) -> bool,
    /// …or, when given, this says so of its id and name (a write's selector or new name).
    pub id_or_name: Option<&'a IdOrName<'a>>,
}

/// Whether a credential of this id and name is wanted.
pub type IdOrName<'a> = dyn Fn(u64, Option<&str>) -> bool + 'a;

impl Need<'_> {
    /// Whether a credential of the wanted environment is kept.
    pub fn keeps(&self, id: u64, name: Option<&str>, address: &str) -> bool {
        (self.address)(address) || self.id_or_name.is_some_and(|wanted| wanted(id, name))
    }
}

/// Parses `text` if it is in the subset regcred writes; `None` means "ask the `toml` crate".
/// With `need`, only the credentials it asks for are returned.
pub fn parse(text: &str, need: Option<&Need<'_>>) -> Option<Registries> {
    scan(text, need, false)
}

/// [`parse`] for a text whose exact bytes are in this scanner's subset, every line of them:
/// [`render`] wrote them, or this scanner read them before and found them good (the
/// journal's [`super::journal::Sum`] says so). A credential `need` does not ask for is
/// passed over once its id, environment, name and address are read, instead of being
/// checked field by field so that a file `toml` would refuse is never accepted: these bytes
/// were accepted already. The credentials returned are the same as [`parse`]'s.
pub fn parse_vouched(text: &str, need: Option<&Need<'_>>) -> Option<Registries> {
    scan(text, need, true)
}

fn scan(text: &str, need: Option<&Need<'_>>, vouched: bool) -> Option<Registries> {
    // No line of the subset holds one of these anywhere, so a file with one goes to `toml`
    // at once, and the blocks read by `canonical_block` need only look for their quotes. A
    // vouched text is in the subset: it has none.
    if !vouched && spoilt(text.as_bytes()) {
        return None;
    }
    let mut top = Top::default();
    let mut environments = Vec::new();
    let mut credentials = Vec::new();
    let mut section = Section::Top;
    let mut env = EnvFields::default();
    let mut cred = CredFields::default();
    // The environment whose credentials `need` keeps, once the top-level keys are read.
    let mut wanted: Option<&str> = need.and_then(|n| n.environment);

    let mut lines = Lines { bytes: text.as_bytes(), text, at: 0 };
    while let Some(line) = lines.next()? {
        let (key, value) = match line {
            Line::Header(header) => {
                match section {
                    Section::Top => {
                        if wanted.is_none() && need.is_some() {
                            wanted = Some(top.current_environment?);
                        }
                    }
                    Section::Environment => environments.push(std::mem::take(&mut env).finish()?),
                    Section::Credential => {
                        if let Some(c) = std::mem::take(&mut cred).finish(need, wanted)? {
                            credentials.push(c);
                        }
                    }
                    Section::Passed => {}
                }
                section = match header {
                    "[[environments]]" => Section::Environment,
                    "[[credentials]]" => Section::Credential,
                    _ => return None,
                };
                if let Section::Credential = section {
                    if vouched
                        && let (Some(need), Some(wanted)) = (need, wanted)
                        && let Some(end) = pass_over(text, lines.at + 1, need, wanted)
                    {
                        section = Section::Passed;
                        lines.at = end;
                    } else if let Some((fields, end)) = canonical_block(text, lines.at + 1) {
                        cred = fields;
                        lines.at = end;
                    }
                }
                continue;
            }
            Line::KeyValue(key, value) => (key, value),
        };
        match section {
            Section::Top => top.set(key, value)?,
            Section::Environment => env.set(key, value)?,
            Section::Credential => cred.set(key, value)?,
            // Not reached: a passed-over block is skipped to its end.
            Section::Passed => return None,
        }
    }
    match section {
        Section::Top => {
            if wanted.is_none() && need.is_some() {
                top.current_environment?;
            }
        }
        Section::Environment => environments.push(env.finish()?),
        Section::Credential => {
            if let Some(c) = cred.finish(need, wanted)? {
                credentials.push(c);
            }
        }
        Section::Passed => {}
    }
    Some(Registries {
        version: u32::try_from(top.version?).ok()?,
        store_id: top.store_id?.to_owned(),
        current_environment: top.current_environment?.to_owned(),
        next_id: top.next_id?,
        next_sequence: top.next_sequence?,
        journal: top.journal,
        environments,
        credentials,
        // A `[[tls]]` table is not in the subset this scanner reads: such stores go to `toml`.
        tls: Vec::new(),
    })
}

#[derive(Clone, Copy)]
enum Section {
    Top,
    Environment,
    Credential,
    /// A credential block of a vouched text that is not needed (see [`pass_over`]).
    Passed,
}

#[derive(Clone, Copy)]
enum Value<'a> {
    Int(u64),
    Bool(bool),
    Str(&'a str),
}

enum Line<'a> {
    /// `[[…]]` or any other line starting with `[`.
    Header(&'a str),
    KeyValue(&'a str, Value<'a>),
}

/// Bytes that end or spoil a basic string of the subset: the closing quote, a backslash
/// (an escape), control characters (the line's end among them) and DEL. The secrets file's
/// scanner reads its strings by the same rule.
pub(in crate::vault) static STRING_STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table[0x7f] = true;
    table
};

/// Bytes of a bare key.
static KEY: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
        b += 1;
    }
    table
};

/// One pass over the bytes, each looked at once: the file is mostly strings, and splitting
/// lines first and then fields costs twice the reading.
struct Lines<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Lines<'a> {
    /// The next non-empty line; `Some(None)` at the end; `None` for anything outside the
    /// subset. Only ever slices `text` next to ASCII bytes, so always on char boundaries.
    fn next(&mut self) -> Option<Option<Line<'a>>> {
        let b = self.bytes;
        let mut i = self.at;
        while i < b.len() && b[i] == b'\n' {
            i += 1;
        }
        if i == b.len() {
            self.at = i;
            return Some(None);
        }
        let start = i;
        if b[i] == b'[' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            self.at = i;
            return Some(Some(Line::Header(&self.text[start..i])));
        }
        while i < b.len() && KEY[usize::from(b[i])] {
            i += 1;
        }
        if i == start || b.get(i..i + 3) != Some(b" = ") {
            return None;
        }
        let key = &self.text[start..i];
        i += 3;
        let value_start = i;
        let value = match b.get(i)? {
            b'"' => {
                i += 1;
                // No escapes, no control characters (TOML forbids most of them bare).
                while i < b.len() && !STRING_STOP[usize::from(b[i])] {
                    i += 1;
                }
                if i == b.len() || b[i] != b'"' {
                    return None;
                }
                i += 1;
                Value::Str(&self.text[value_start + 1..i - 1])
            }
            _ => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                match &b[value_start..i] {
                    b"true" => Value::Bool(true),
                    b"false" => Value::Bool(false),
                    digits => Value::Int(integer(digits)?),
                }
            }
        };
        if i < b.len() && b[i] != b'\n' {
            return None;
        }
        self.at = i;
        Some(Some(Line::KeyValue(key, value)))
    }
}

/// Whether `bytes` hold a control character other than a newline, DEL or a backslash.
/// Arithmetic on bytes rather than `STRING_STOP`, in chunks, so that the compiler checks
/// many bytes at a time: this pass is over every byte of a 2.3 MB store.
fn spoilt(bytes: &[u8]) -> bool {
    bytes.chunks(256).any(|chunk| {
        let bad = |b: u8| (u8::from(b < 0x20) & u8::from(b != b'\n')) | u8::from(b == 0x7f) | u8::from(b == b'\\');
        chunk.iter().fold(0u8, |seen, &b| seen | bad(b)) != 0
    })
}

/// A decimal integer as the subset writes it: `0`, or up to 18 digits without a leading zero.
/// Longer numbers may pass i64::MAX, where TOML itself stops; `toml` decides those.
fn integer(digits: &[u8]) -> Option<u64> {
    match digits {
        b"0" => Some(0),
        [b'1'..=b'9', ..] if digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit) => {
            Some(digits.iter().fold(0, |n, &d| n * 10 + u64::from(d - b'0')))
        }
        _ => None,
    }
}

/// A `[[credentials]]` block's lines from `at`, exactly as [`render`] writes them, read by
/// expecting each key in its turn instead of parsing each line in general (a fraction of
/// the instructions, which is most of reading 10,000 credentials). Anything else (another
/// order, a key missing or added, another form of value) answers `None`, and the block is
/// read line by line from its start: the result is always the general path's. Only for a
/// text without control characters or backslashes (checked by [`parse`]).
fn canonical_block(text: &str, at: usize) -> Option<(CredFields<'_>, usize)> {
    let mut block = Block { text, at };
    let fields = CredFields {
        id: Some(block.integer("id = ")?),
        environment: Some(block.string("environment = \"")?),
        name: block.optional_string("name = \""),
        address: Some(block.string("address = \"")?),
        username: Some(block.string("username = \"")?),
        email: block.optional_string("email = \""),
        active: Some(if block.literal("active = true\n") {
            true
        } else if block.literal("active = false\n") {
            false
        } else {
            return None;
        }),
        sequence: Some(block.integer("sequence = ")?),
        secret_store: Some(block.string("secret_store = \"")?),
        secret_env: block.optional_string("secret_from_env = \""),
        added: Some(block.string("added = \"")?),
        updated: Some(block.string("updated = \"")?),
    };
    Some((fields, block.at))
}

/// Where the `[[credentials]]` block whose lines start at `at` ends, when its first lines
/// are in written order and say that `need` does not want it; `None`: read it as usual.
/// Only for a vouched text (see [`parse_vouched`]): its values were read and found good
/// before, so nothing is checked again and nothing after the address is looked at.
fn pass_over(text: &str, at: usize, need: &Need<'_>, wanted: &str) -> Option<usize> {
    let mut block = Block { text, at };
    let id = integer(block.rest("id = ")?.as_bytes())?;
    let environment = block.rest("environment = \"")?.strip_suffix('"')?;
    let name = match block.rest("name = \"") {
        Some(name) => Some(name.strip_suffix('"')?),
        None => None,
    };
    let address = block.rest("address = \"")?.strip_suffix('"')?;
    if environment == wanted && need.keeps(id, name, address) {
        return None;
    }
    // The next line that starts with `[` (a `[` inside a value, an IPv6 address, is not at
    // a line's start: no value holds a newline).
    let bytes = text.as_bytes();
    let mut from = block.at;
    loop {
        match memchr::memchr(b'[', &bytes[from..]) {
            Some(n) if bytes[from + n - 1] == b'\n' => return Some(from + n - 1),
            Some(n) => from += n + 1,
            None => return Some(bytes.len()),
        }
    }
}

/// The reading position of [`canonical_block`].
struct Block<'a> {
    text: &'a str,
    at: usize,
}

// Inlined into `canonical_block`, where each prefix is a constant the comparisons unroll.
impl<'a> Block<'a> {
    /// Takes `line` (which ends in its newline) if it comes next.
    #[inline(always)]
    fn literal(&mut self, line: &str) -> bool {
        let found = self.text.as_bytes()[self.at.min(self.text.len())..].starts_with(line.as_bytes());
        if found {
            self.at += line.len();
        }
        found
    }

    /// The rest of a line that starts with `prefix`, without its newline.
    #[inline(always)]
    fn rest(&mut self, prefix: &str) -> Option<&'a str> {
        let bytes = self.text.as_bytes().get(self.at..)?;
        if !bytes.starts_with(prefix.as_bytes()) {
            return None;
        }
        let start = self.at + prefix.len();
        let end = start + memchr::memchr(b'\n', &self.text.as_bytes()[start..])?;
        self.at = end + 1;
        // ASCII on both sides: char boundaries.
        Some(&self.text[start..end])
    }

    #[inline(always)]
    fn integer(&mut self, prefix: &str) -> Option<u64> {
        integer(self.rest(prefix)?.as_bytes())
    }

    /// A basic string: `prefix` ends with its opening quote; the line ends at the closing one.
    #[inline(always)]
    fn string(&mut self, prefix: &str) -> Option<&'a str> {
        let value = self.rest(prefix)?.strip_suffix('"')?;
        (!value.contains('"')).then_some(value)
    }

    #[inline(always)]
    fn optional_string(&mut self, prefix: &str) -> Option<&'a str> {
        let at = self.at;
        let value = self.string(prefix);
        if value.is_none() {
            self.at = at;
        }
        value
    }
}

/// Sets `slot` once; a second value for the same key is a duplicate, which `toml` reports.
fn once<T>(slot: &mut Option<T>, value: Option<T>) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value?);
    Some(())
}

fn int(value: Value<'_>) -> Option<u64> {
    match value {
        Value::Int(n) => Some(n),
        _ => None,
    }
}

fn string(value: Value<'_>) -> Option<&str> {
    match value {
        Value::Str(s) => Some(s),
        _ => None,
    }
}

fn boolean(value: Value<'_>) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(b),
        _ => None,
    }
}

#[derive(Default)]
struct Top<'a> {
    version: Option<u64>,
    store_id: Option<&'a str>,
    current_environment: Option<&'a str>,
    next_id: Option<u64>,
    next_sequence: Option<u64>,
    journal: Option<u64>,
}

impl<'a> Top<'a> {
    fn set(&mut self, key: &str, value: Value<'a>) -> Option<()> {
        match key {
            "version" => once(&mut self.version, int(value)),
            "store_id" => once(&mut self.store_id, string(value)),
            "current_environment" => once(&mut self.current_environment, string(value)),
            "next_id" => once(&mut self.next_id, int(value)),
            "next_sequence" => once(&mut self.next_sequence, int(value)),
            "journal" => once(&mut self.journal, int(value)),
            _ => None,
        }
    }
}

#[derive(Default)]
struct EnvFields<'a> {
    name: Option<&'a str>,
    created: Option<&'a str>,
}

impl<'a> EnvFields<'a> {
    fn set(&mut self, key: &str, value: Value<'a>) -> Option<()> {
        match key {
            "name" => once(&mut self.name, string(value)),
            "created" => once(&mut self.created, string(value)),
            _ => None,
        }
    }

    fn finish(self) -> Option<Environment> {
        Some(Environment { name: self.name?.to_owned(), created: timestamp(self.created?)? })
    }
}

#[derive(Default)]
struct CredFields<'a> {
    id: Option<u64>,
    environment: Option<&'a str>,
    name: Option<&'a str>,
    address: Option<&'a str>,
    username: Option<&'a str>,
    email: Option<&'a str>,
    active: Option<bool>,
    sequence: Option<u64>,
    secret_store: Option<&'a str>,
    secret_env: Option<&'a str>,
    added: Option<&'a str>,
    updated: Option<&'a str>,
}

impl<'a> CredFields<'a> {
    fn set(&mut self, key: &str, value: Value<'a>) -> Option<()> {
        match key {
            "id" => once(&mut self.id, int(value)),
            "environment" => once(&mut self.environment, string(value)),
            "name" => once(&mut self.name, string(value)),
            "address" => once(&mut self.address, string(value)),
            "username" => once(&mut self.username, string(value)),
            "email" => once(&mut self.email, string(value)),
            "active" => once(&mut self.active, boolean(value)),
            "sequence" => once(&mut self.sequence, int(value)),
            "secret_store" => once(&mut self.secret_store, string(value)),
            "secret_from_env" => once(&mut self.secret_env, string(value)),
            "added" => once(&mut self.added, string(value)),
            "updated" => once(&mut self.updated, string(value)),
            _ => None,
        }
    }

    /// `Some(None)`: complete, but not needed. A skipped credential is still checked for
    /// completeness so that the fast path never accepts a file `toml` + serde would refuse;
    /// its timestamps and secret store, which only cost time, are checked by shape only when
    /// they are in the form regcred writes, else the whole file goes to `toml`.
    fn finish(self, need: Option<&Need<'_>>, wanted: Option<&str>) -> Option<Option<Credential>> {
        let environment = self.environment?;
        let address = self.address?;
        let (username, id, active, sequence) = (self.username?, self.id?, self.active?, self.sequence?);
        let secret_store: SecretStoreKind = self.secret_store?.parse().ok()?;
        let keep = match need {
            None => true,
            Some(need) => wanted == Some(environment) && need.keeps(id, self.name, address),
        };
        if !keep {
            if !(plain_timestamp(self.added?) && plain_timestamp(self.updated?)) {
                return None;
            }
            return Some(None);
        }
        Some(Some(Credential {
            id,
            environment: environment.to_owned(),
            name: self.name.map(str::to_owned),
            address: address.to_owned(),
            username: username.to_owned(),
            email: self.email.map(str::to_owned),
            active,
            sequence,
            secret_store,
            secret_env: self.secret_env.map(str::to_owned),
            added: timestamp(self.added?)?,
            updated: timestamp(self.updated?)?,
        }))
    }
}

/// Whether `s` is a valid `YYYY-MM-DDTHH:MM:SSZ`, the only form regcred writes.
/// (Checked for every credential a reading skips, so it builds no date.)
fn plain_timestamp(s: &str) -> bool {
    timestamp_parts(s).is_some()
}

/// An RFC 3339 timestamp: the form regcred writes by hand, any other through `time` (as the
/// serde path does).
fn timestamp(s: &str) -> Option<OffsetDateTime> {
    fast_timestamp(s).or_else(|| OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok())
}

fn fast_timestamp(s: &str) -> Option<OffsetDateTime> {
    let (year, month, day, hour, minute, second) = timestamp_parts(s)?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms(hour, minute, second).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(UtcOffset::UTC))
}

/// The fields of a `YYYY-MM-DDTHH:MM:SSZ` that names a real second: the days of its month,
/// hours below 24, minutes and seconds below 60. A leap second (`:60`) is left to `time`,
/// whose RFC 3339 parser has its own rule for it.
fn timestamp_parts(s: &str) -> Option<(i32, Month, u8, u8, u8, u8)> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z'
    {
        return None;
    }
    // Each digit's value; a byte that is no digit wraps to more than 9.
    let digit = |i: usize| b[i].wrapping_sub(b'0');
    let two = |i: usize| (digit(i), digit(i + 1));
    let pairs = [two(0), two(2), two(5), two(8), two(11), two(14), two(17)];
    if pairs.iter().any(|&(tens, ones)| tens > 9 || ones > 9) {
        return None;
    }
    let [century, years, month, day, hour, minute, second] = pairs.map(|(tens, ones)| tens * 10 + ones);
    let year = i32::from(century) * 100 + i32::from(years);
    let month = Month::try_from(month).ok()?;
    if day == 0 || day > month.length(year) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some((year, month, day, hour, minute, second))
}

/// Writes `registries` as `toml::to_string` does, when every string in it is plain (no
/// quote, backslash or control character), both lists are non-empty and there are no TLS
/// settings; else `None` and the caller uses `toml`. `tests::writer_agrees_with_toml` holds it to that.
pub fn render(registries: &Registries) -> Option<String> {
    fn plain(s: &str) -> bool {
        !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20 || b == 0x7f)
    }
    let Registries {
        version,
        store_id,
        current_environment,
        next_id,
        next_sequence,
        journal,
        environments,
        credentials,
        tls,
    } = registries;
    if !tls.is_empty()
        || environments.is_empty()
        || credentials.is_empty()
        || !plain(store_id)
        || !plain(current_environment)
    {
        return None;
    }
    if [Some(next_id), Some(next_sequence), journal.as_ref()].into_iter().flatten().any(|n| i64::try_from(*n).is_err())
    {
        return None;
    }
    use std::fmt::Write;
    let mut out = String::with_capacity(200 + 90 * environments.len() + 260 * credentials.len());
    let _ = write!(
        out,
        "version = {version}\nstore_id = \"{store_id}\"\ncurrent_environment = \"{current_environment}\"\nnext_id = {next_id}\nnext_sequence = {next_sequence}\n"
    );
    if let Some(generation) = journal {
        let _ = writeln!(out, "journal = {generation}");
    }
    for e in environments {
        if !plain(&e.name) {
            return None;
        }
        let _ = write!(out, "\n[[environments]]\nname = \"{}\"\ncreated = \"{}\"\n", e.name, rfc3339(e.created)?);
    }
    // Pieces pushed one by one: `write!` costs ~2,000 instructions per credential.
    fn number(out: &mut String, n: u64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut n = n;
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        out.extend(digits[at..].iter().map(|&d| char::from(d)));
    }
    fn field(out: &mut String, key: &str, value: &str) {
        out.push_str(key);
        out.push_str(" = \"");
        out.push_str(value);
        out.push_str("\"\n");
    }
    for c in credentials {
        let strings = [
            Some(&c.environment),
            c.name.as_ref(),
            Some(&c.address),
            Some(&c.username),
            c.email.as_ref(),
            c.secret_env.as_ref(),
        ];
        if !strings.into_iter().flatten().all(|s| plain(s))
            || i64::try_from(c.id).is_err()
            || i64::try_from(c.sequence).is_err()
        {
            return None;
        }
        let (added, updated) = (rfc3339(c.added)?, rfc3339(c.updated)?);
        out.push_str("\n[[credentials]]\nid = ");
        number(&mut out, c.id);
        out.push('\n');
        field(&mut out, "environment", &c.environment);
        if let Some(name) = &c.name {
            field(&mut out, "name", name);
        }
        field(&mut out, "address", &c.address);
        field(&mut out, "username", &c.username);
        if let Some(email) = &c.email {
            field(&mut out, "email", email);
        }
        out.push_str(if c.active { "active = true\nsequence = " } else { "active = false\nsequence = " });
        number(&mut out, c.sequence);
        out.push('\n');
        field(&mut out, "secret_store", c.secret_store.as_str());
        if let Some(var) = &c.secret_env {
            field(&mut out, "secret_from_env", var);
        }
        field(&mut out, "added", &added);
        field(&mut out, "updated", &updated);
    }
    Some(out)
}

/// What `time::serde::rfc3339` writes, for the whole-second UTC times regcred keeps; other
/// times go through `toml`.
fn rfc3339(t: OffsetDateTime) -> Option<String> {
    if t.offset() != UtcOffset::UTC || t.nanosecond() != 0 || !(0..=9999).contains(&t.year()) {
        return None;
    }
    // Digits by hand: `format!` with padding costs thousands of instructions per stamp.
    fn digits(out: &mut String, n: u32, width: u32, after: char) {
        for place in (0..width).rev() {
            let digit = (n / 10u32.pow(place) % 10) as u8;
            out.push(char::from(b'0' + digit));
        }
        out.push(after);
    }
    let (year, month, day) = t.to_calendar_date();
    let (hour, minute, second) = t.to_hms();
    let mut out = String::with_capacity(20);
    digits(&mut out, u32::try_from(year).ok()?, 4, '-');
    digits(&mut out, u32::from(u8::from(month)), 2, '-');
    digits(&mut out, u32::from(day), 2, 'T');
    digits(&mut out, u32::from(hour), 2, ':');
    digits(&mut out, u32::from(minute), 2, ':');
    digits(&mut out, u32::from(second), 2, 'Z');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn time_strategy() -> impl Strategy<Value = OffsetDateTime> {
        (0i64..4_102_444_800, prop::bool::weighted(0.03), -50_000i32..50_000).prop_map(|(secs, odd, offset)| {
            let t = OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH);
            if odd {
                t.to_offset(UtcOffset::from_whole_seconds(offset / 60 * 60).unwrap_or(UtcOffset::UTC))
                    .replace_nanosecond(1234)
                    .unwrap_or(t)
            } else {
                t
            }
        })
    }

    /// Mostly plain text like regcred writes, sometimes characters that need escapes. A
    /// store holds some 30 strings: rare enough that about half the stores are all plain and
    /// take the fast paths, whose mistakes the properties can then see.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            50 => "[a-z0-9.:/_+@-]{0,20}",
            1 => "[a-z\"\\\\'#= \t\u{e9}\u{1F600}\u{7f}\u{1}]{0,8}",
        ]
    }

    /// Ids and sequences: mostly of the size stores have, sometimes of 19 digits, which the
    /// scanner leaves to `toml` (i64 ends there).
    fn number() -> impl Strategy<Value = u64> {
        prop_oneof![8 => 0u64..1_000_000, 1 => 0u64..(1 << 62)]
    }

    fn credential() -> impl Strategy<Value = Credential> {
        (
            (number(), text(), prop::option::of(text()), text(), text(), prop::option::of(text())),
            (any::<bool>(), number(), any::<bool>(), prop::option::of(text()), time_strategy(), time_strategy()),
        )
            .prop_map(
                |(
                    (id, environment, name, address, username, email),
                    (active, sequence, file, secret_env, added, updated),
                )| {
                    Credential {
                        id,
                        environment,
                        name,
                        address,
                        username,
                        email,
                        active,
                        sequence,
                        secret_store: if file { SecretStoreKind::File } else { SecretStoreKind::Keyring },
                        secret_env,
                        added,
                        updated,
                    }
                },
            )
    }

    fn registries() -> impl Strategy<Value = Registries> {
        (
            (0u32..4, text(), text(), number(), number(), prop::option::of(number())),
            prop::collection::vec((text(), time_strategy()), 0..4),
            prop::collection::vec(credential(), 0..6),
        )
            .prop_map(
                |((version, store_id, current_environment, next_id, next_sequence, journal), envs, credentials)| {
                    Registries {
                        version,
                        store_id,
                        current_environment,
                        next_id,
                        next_sequence,
                        journal,
                        environments: envs.into_iter().map(|(name, created)| Environment { name, created }).collect(),
                        credentials,
                        tls: Vec::new(),
                    }
                },
            )
    }

    /// Everything, for comparison (the structs have no `PartialEq`; `Debug` shows all fields).
    fn shown(r: &Registries) -> String {
        format!("{r:?}")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn scanner_agrees_with_toml(r in registries()) {
            let text = toml::to_string(&r).unwrap();
            let slow: Registries = toml::from_str(&text).unwrap();
            let fast = parse(&text, None);
            // What the writer writes itself, the scanner reads itself, but for numbers of 19
            // digits.
            let numbers = [r.next_id, r.next_sequence]
                .into_iter()
                .chain(r.journal)
                .chain(r.credentials.iter().flat_map(|c| [c.id, c.sequence]));
            let short = numbers.into_iter().all(|n| n < 1_000_000_000_000_000_000);
            prop_assert!(render(&r).is_none() || !short || fast.is_some(), "the scanner stepped aside for:\n{}", text);
            if let Some(fast) = fast {
                prop_assert_eq!(shown(&fast), shown(&slow));
            }
        }

        #[test]
        fn an_edited_store_is_read_as_toml_reads_it(
            r in registries(),
            edit in (any::<prop::sample::Index>(), "[\\[\\]\"#=:. \t\n\r\\\\a-z0-9]{0,3}", 0usize..4),
        ) {
            // A few bytes cut or put anywhere in a written store: the scanner may step aside,
            // but what it reads, `toml` reads the same.
            let mut edited = toml::to_string(&r).unwrap();
            let (at, insert, remove) = edit;
            let mut cut = at.index(edited.len() + 1);
            while !edited.is_char_boundary(cut) { cut -= 1; }
            let mut end = (cut + remove).min(edited.len());
            while !edited.is_char_boundary(end) { end += 1; }
            edited.replace_range(cut..end, &insert);
            if let Some(fast) = parse(&edited, None) {
                let slow = toml::from_str::<Registries>(&edited);
                prop_assert!(slow.is_ok(), "the scanner reads what toml refuses:\n{}", edited);
                prop_assert_eq!(shown(&fast), shown(&slow.unwrap()));
            }
        }

        #[test]
        fn a_store_with_a_line_moved_or_repeated_is_read_as_toml_reads_it(
            r in registries(),
            from in any::<prop::sample::Index>(),
            to in any::<prop::sample::Index>(),
            repeat in any::<bool>(),
        ) {
            // Whole lines out of the order regcred writes them, or twice: the blocks the
            // scanner reads by their written order must fall back to reading line by line.
            let text = toml::to_string(&r).unwrap();
            let mut lines: Vec<&str> = text.lines().collect();
            let line = lines[from.index(lines.len())];
            if !repeat {
                lines.remove(from.index(lines.len()));
            }
            lines.insert(to.index(lines.len() + 1), line);
            let edited = lines.join("\n") + "\n";
            if let Some(fast) = parse(&edited, None) {
                let slow = toml::from_str::<Registries>(&edited);
                prop_assert!(slow.is_ok(), "the scanner reads what toml refuses:\n{}", edited);
                prop_assert_eq!(shown(&fast), shown(&slow.unwrap()));
            }
        }

        #[test]
        fn writer_agrees_with_toml(r in registries()) {
            if let Some(fast) = render(&r) {
                prop_assert_eq!(fast, toml::to_string(&r).unwrap());
            }
        }

        #[test]
        fn a_vouched_reading_keeps_what_a_checked_one_keeps(r in registries(), pick in any::<u8>()) {
            // What `render` writes is vouched for.
            let Some(text) = render(&r) else { return Ok(()) };
            let given = r.credentials.first().filter(|_| pick % 2 == 0).map(|c| c.environment.clone());
            let want = |address: &str| address.len() % 3 != usize::from(pick % 3);
            let by_id_or_name = |id: u64, name: Option<&str>| id % 2 == 1 || name.is_some_and(|n| n.len() == 1);
            let id_or_name: Option<&IdOrName<'_>> = (pick % 4 < 2).then_some(&by_id_or_name);
            let need = Need { environment: given.as_deref(), address: &want, id_or_name };
            let checked = parse(&text, Some(&need)).map(|r| format!("{r:?}"));
            let vouched = parse_vouched(&text, Some(&need)).map(|r| format!("{r:?}"));
            if checked.is_some() {
                prop_assert_eq!(vouched, checked);
            } else if let Some(vouched) = vouched {
                // The scanner declined the text (a number past its 18 digits): what the
                // vouched reading keeps is what `toml` reads, filtered.
                let mut all: Registries = toml::from_str(&text).unwrap();
                let env = given.clone().unwrap_or_else(|| all.current_environment.clone());
                all.credentials.retain(|c| c.environment == env && need.keeps(c.id, c.name.as_deref(), &c.address));
                prop_assert_eq!(vouched, format!("{all:?}"));
            }
        }

        #[test]
        fn needed_credentials_are_the_filtered_full_load(r in registries(), pick in any::<u8>()) {
            let text = toml::to_string(&r).unwrap();
            // The first credential's environment, or (no `-e`) the store's current one.
            let given = r.credentials.first().filter(|_| pick % 2 == 0).map(|c| c.environment.clone());
            let env = given.clone().unwrap_or_else(|| r.current_environment.clone());
            let want = |address: &str| address.len() % 3 != usize::from(pick % 3);
            // Half the time also by id or name, as a write's selector asks.
            let by_id_or_name = |id: u64, name: Option<&str>| id % 2 == 1 || name.is_some_and(|n| n.len() == 1);
            let id_or_name: Option<&IdOrName<'_>> = (pick % 4 < 2).then_some(&by_id_or_name);
            let need = Need { environment: given.as_deref(), address: &want, id_or_name };
            if let (Some(all), Some(some)) = (parse(&text, None), parse(&text, Some(&need))) {
                let expected: Vec<String> = all
                    .credentials
                    .iter()
                    .filter(|c| c.environment == env && need.keeps(c.id, c.name.as_deref(), &c.address))
                    .map(|c| format!("{c:?}"))
                    .collect();
                let got: Vec<String> = some.credentials.iter().map(|c| format!("{c:?}")).collect();
                prop_assert_eq!(got, expected);
            }
        }
    }

    #[test]
    fn what_regcred_writes_takes_the_fast_path() {
        let mut r = Registries::fresh();
        let stamp = super::super::now();
        for i in 1..=3 {
            r.credentials.push(Credential {
                id: i,
                environment: "default".into(),
                name: (i == 2).then(|| "hub-bob".into()),
                address: format!("registry{i}.example.com:5000/team"),
                username: "bob".into(),
                email: (i == 3).then(|| "bob@example.com".into()),
                active: i != 1,
                sequence: i,
                secret_store: SecretStoreKind::File,
                secret_env: (i == 3).then(|| "REGISTRY3_TOKEN".into()),
                added: stamp,
                updated: stamp,
            });
        }
        let text = render(&r).expect("plain store renders directly");
        assert!(text.contains("secret_from_env = \"REGISTRY3_TOKEN\""), "{text}");
        assert_eq!(text, toml::to_string(&r).unwrap());
        let back = parse(&text, None).expect("own output scans");
        assert_eq!(shown(&back), shown(&r));
    }

    #[test]
    fn the_writer_writes_spaces_itself() {
        let mut r = Registries::fresh();
        let stamp = super::super::now();
        r.credentials.push(Credential {
            id: 1,
            environment: "default".into(),
            name: None,
            address: "quay.io".into(),
            username: "bob the builder".into(),
            email: None,
            active: true,
            sequence: 1,
            secret_store: SecretStoreKind::File,
            secret_env: None,
            added: stamp,
            updated: stamp,
        });
        assert_eq!(render(&r), Some(toml::to_string(&r).unwrap()), "a space needs no escape");
        // A fraction of a second, even in UTC, is `toml`'s to write.
        r.credentials[0].updated = stamp.replace_nanosecond(5).unwrap();
        assert!(render(&r).is_none_or(|text| text == toml::to_string(&r).unwrap()));
    }

    #[test]
    fn anything_unusual_goes_to_toml() {
        let base = "version = 1\nstore_id = \"x\"\ncurrent_environment = \"default\"\nnext_id = 1\nnext_sequence = 1\n";
        assert!(parse(base, None).is_some());
        for odd in [
            "# a comment\n",
            "[[tls]]\nhost = \"x\"\n",
            "extra = 1\n",
            "version = 2\n",
            "[[environments]]\nname = \"a\\u0041\"\ncreated = \"2026-01-01T00:00:00Z\"\n",
            "[[environments]]\nname = 'a'\ncreated = \"2026-01-01T00:00:00Z\"\n",
            "[[environments]]\nname = \"a\"\n",
            "[environments]\n",
        ] {
            assert!(parse(&format!("{base}{odd}"), None).is_none(), "{odd:?}");
        }
        assert!(parse(&base.replace("next_id = 1", "next_id = 99999999999999999999"), None).is_none());
        assert!(parse(&base.replace(" = ", "="), None).is_none());
        assert!(parse(&base.replace("version = 1", "version:= 1"), None).is_none());
        assert!(parse(&base.replace("\"default\"\n", "\"default\""), None).is_none(), "two keys on a line");
        assert!(parse(&base.replace('\n', "\r\n"), None).is_none());
    }

    #[test]
    fn a_given_environment_is_kept_over_the_current_one() {
        let mut r = Registries::fresh();
        let stamp = super::super::now();
        r.environments.push(Environment { name: "ci".into(), created: stamp });
        for (id, environment) in [(1, "default"), (2, "ci"), (3, "default"), (4, "ci")] {
            r.credentials.push(Credential::for_test(id, environment, "quay.io"));
        }
        let text = render(&r).expect("plain store renders directly");
        let ids = |environment: Option<&str>| {
            let need = Need { environment, address: &|_| true, id_or_name: None };
            parse(&text, Some(&need)).expect("own output scans").credentials.iter().map(|c| c.id).collect::<Vec<_>>()
        };
        assert_eq!(ids(Some("ci")), [2, 4]);
        assert_eq!(ids(None), [1, 3], "no environment given: the current one");
    }

    #[test]
    fn strings_with_bare_control_characters_go_to_toml() {
        let base = "version = 1\nstore_id = \"x\"\ncurrent_environment = \"default\"\nnext_id = 1\nnext_sequence = 1\n";
        let env =
            |name: &str| format!("{base}\n[[environments]]\nname = \"{name}\"\ncreated = \"2026-01-01T00:00:00Z\"\n");
        assert!(parse(&env("a b"), None).is_some());
        // TOML refuses a bare U+0001 or DEL, and a basic string ends at its line; a tab it
        // allows, but regcred never writes one bare.
        for odd in ["a\u{1}b", "a\u{7f}b", "a\tb", "a\nb"] {
            assert!(parse(&env(odd), None).is_none(), "{odd:?}");
        }
    }

    #[test]
    fn a_store_may_end_anywhere_without_its_last_newline() {
        let base = "version = 1\nstore_id = \"x\"\ncurrent_environment = \"default\"\nnext_id = 1\nnext_sequence = 1";
        assert!(parse(base, None).is_some(), "a number at the very end");
        let env = "\n[[environments]]\nname = \"a\"\ncreated = \"2026-01-01T00:00:00Z\"";
        assert_eq!(parse(&format!("{base}{env}"), None).map(|r| r.environments.len()), Some(1), "a string at the end");
        // Cut inside a header, a key, a string or a word: not a store, never a panic.
        for end in ["\n[[environments]]", "\n[[environ", "\nextra", "\nstore_id = \"y", "\nactive = tru"] {
            assert!(parse(&format!("{base}{end}"), None).is_none(), "{end:?}");
        }
    }

    /// A store in regcred's written form, by hand: the environment `default` and `blocks`.
    fn hand_written(blocks: &[String]) -> String {
        let next = blocks.len() + 1;
        let mut text = format!(
            "version = 1\nstore_id = \"x\"\ncurrent_environment = \"default\"\nnext_id = {next}\nnext_sequence = {next}\n\n\
             [[environments]]\nname = \"default\"\ncreated = \"2026-01-01T00:00:00Z\"\n"
        );
        text.extend(blocks.iter().map(String::as_str));
        text
    }

    /// A `[[credentials]]` block of `default` in written order; `email` is left out when empty.
    fn block(id: u64, address: &str, username: &str, email: &str, updated: &str) -> String {
        let email = if email.is_empty() { String::new() } else { format!("email = \"{email}\"\n") };
        format!(
            "\n[[credentials]]\nid = {id}\nenvironment = \"default\"\naddress = \"{address}\"\nusername = \"{username}\"\n\
             {email}active = true\nsequence = {id}\nsecret_store = \"file\"\nadded = \"2026-01-01T00:00:00Z\"\nupdated = \"{updated}\"\n"
        )
    }

    const DAY: &str = "2026-01-02T00:00:00Z";

    #[test]
    fn a_skipped_credential_with_a_bad_timestamp_sends_the_store_to_toml() {
        let quay = |address: &str| address == "quay.io";
        let need = Need { environment: None, address: &quay, id_or_name: None };
        let good = hand_written(&[block(1, "quay.io", "bob", "", DAY), block(2, "ghcr.io", "bob", "", DAY)]);
        assert_eq!(parse(&good, Some(&need)).map(|r| r.credentials.len()), Some(1));
        // ghcr.io's credential is not needed, but `toml` would refuse the file for it.
        let bad = hand_written(&[block(1, "quay.io", "bob", "", DAY), block(2, "ghcr.io", "bob", "", "yesterday")]);
        assert!(toml::from_str::<Registries>(&bad).is_err());
        assert!(parse(&bad, Some(&need)).is_none());
    }

    #[test]
    fn a_vouched_reading_passes_over_what_it_does_not_need_without_checking_it() {
        let quay = |address: &str| address == "quay.io";
        let need = Need { environment: None, address: &quay, id_or_name: None };
        // An IPv6 address holds a `[` that starts no header; the credential after it is found.
        let text = hand_written(&[
            block(1, "[fd00::1]:5000", "bob", "", "yesterday"),
            block(2, "ghcr.io", "bob", "", DAY),
            block(3, "quay.io", "bob", "", "2026-01-03T00:00:00Z"),
        ]);
        // Checked, the file is refused for a credential it does not need (as `toml` refuses it)…
        assert!(parse(&text, Some(&need)).is_none());
        // …vouched for, that credential is passed over unread.
        let vouched = parse_vouched(&text, Some(&need)).expect("vouched text scans");
        assert_eq!(vouched.credentials.iter().map(|c| c.id).collect::<Vec<_>>(), [3]);
        // What it keeps is checked as always, and a whole reading checks everything.
        assert!(parse_vouched(&text.replace("2026-01-03T00:00:00Z", "tomorrow"), Some(&need)).is_none());
        assert!(parse_vouched(&text, None).is_none());
    }

    #[test]
    fn a_vouched_reading_looks_past_brackets_inside_values_for_the_next_header() {
        // A block passed over is read no further than its address; the next header is the
        // next `[` at a line's start, so a `[` inside a later value (a username, an e-mail)
        // is stepped over, wherever it stands in the value and however many there are.
        let quay = |address: &str| address == "quay.io";
        let need = Need { environment: None, address: &quay, id_or_name: None };
        for (username, email) in [("[ops]", "a@b.c"), ("o[p", "a@b.c"), ("bob", "a[1]@b.c"), ("[", "[[x]]")] {
            let text = hand_written(&[
                block(1, "ghcr.io", username, email, DAY),
                block(2, "docker.io", username, email, DAY),
                block(3, "quay.io", "bob", "a@b.c", DAY),
            ]);
            let checked = parse(&text, Some(&need)).expect("the text is in the subset");
            let vouched = parse_vouched(&text, Some(&need)).expect("a vouched text scans");
            assert_eq!(vouched.credentials.iter().map(|c| c.id).collect::<Vec<_>>(), [3], "{username} {email}");
            assert_eq!(format!("{vouched:?}"), format!("{checked:?}"));
        }
    }

    #[test]
    fn timestamps_read_by_hand_equal_times_reading() {
        for s in ["2026-11-23T10:00:00Z", "1970-01-01T00:00:00Z", "2024-02-29T23:59:59Z"] {
            let slow = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap();
            assert_eq!(fast_timestamp(s), Some(slow));
        }
        // Impossible dates and times, and each separator wrong in turn.
        for s in [
            "2023-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-23T24:00:00Z",
            "2026/11-23T10:00:00Z",
            "2026-11/23T10:00:00Z",
            "2026-11-23 10:00:00Z",
            "2026-11-23T10-00:00Z",
            "2026-11-23T10:00-00Z",
            "2026-11-23T10:00:00X",
        ] {
            assert_eq!(fast_timestamp(s), None, "{s}");
        }
    }

    /// A small store as regcred writes it: three credentials covering each optional field
    /// present and absent and both values of `active`.
    fn written_store() -> (Registries, String) {
        let mut r = Registries::fresh();
        let stamp = super::super::now();
        for i in 1..=3u64 {
            r.credentials.push(Credential {
                id: i * 10,
                environment: "default".into(),
                name: (i != 1).then(|| format!("name{i}")),
                address: format!("registry{i}.example.com:5000/team"),
                username: format!("user{i}"),
                email: (i == 3).then(|| "bob@example.com".into()),
                active: i != 2,
                sequence: i + 100,
                secret_store: if i == 1 { SecretStoreKind::Keyring } else { SecretStoreKind::File },
                secret_env: (i == 3).then(|| "REGISTRY3_TOKEN".into()),
                added: stamp,
                updated: stamp,
            });
        }
        let text = render(&r).expect("plain store renders directly");
        (r, text)
    }

    #[test]
    fn a_credential_is_kept_for_its_address_or_its_id_or_name() {
        let quay = |address: &str| address == "quay.io";
        let by_address = Need { environment: None, address: &quay, id_or_name: None };
        assert!(by_address.keeps(1, None, "quay.io"));
        assert!(!by_address.keeps(7, Some("ci"), "ghcr.io"), "no id or name asked for");
        let ci = |id: u64, name: Option<&str>| id == 7 || name == Some("ci");
        let either = Need { environment: None, address: &quay, id_or_name: Some(&ci) };
        assert!(either.keeps(1, None, "quay.io"), "its address alone");
        assert!(either.keeps(7, None, "ghcr.io"), "its id alone");
        assert!(either.keeps(2, Some("ci"), "ghcr.io"), "its name alone");
        assert!(!either.keeps(2, Some("cd"), "ghcr.io"), "neither");
    }

    #[test]
    fn integers_are_read_as_regcred_writes_them() {
        assert_eq!(integer(b"0"), Some(0));
        assert_eq!(integer(b"7"), Some(7));
        assert_eq!(integer(b"1234567890"), Some(1_234_567_890));
        assert_eq!(integer(b"999999999999999999"), Some(999_999_999_999_999_999), "18 digits");
        // A leading zero, a sign, a separator, a letter anywhere, 19 digits: `toml` decides.
        for odd in [&b""[..], b"00", b"07", b"-1", b"+1", b"1_000", b"1.5", b"12a", b"1a2", b"1000000000000000000"] {
            assert_eq!(integer(odd), None, "{:?}", String::from_utf8_lossy(odd));
        }
    }

    #[test]
    fn a_block_in_written_order_is_read_by_expecting_each_key() {
        let (r, text) = written_store();
        let header = "[[credentials]]\n";
        let starts: Vec<usize> = text.match_indices(header).map(|(at, _)| at + header.len()).collect();
        assert_eq!(starts.len(), r.credentials.len());
        for (n, (&at, credential)) in starts.iter().zip(&r.credentials).enumerate() {
            let (fields, end) = canonical_block(&text, at).expect("a written block takes the fast path");
            // The block ends before the empty line of the next one, or at the end of the file.
            let next = starts.get(n + 1).map_or(text.len(), |&s| s - header.len() - 1);
            assert_eq!(end, next, "block {n}");
            let read = fields.finish(None, None).expect("complete").expect("kept");
            assert_eq!(format!("{read:?}"), format!("{credential:?}"));
        }
    }

    #[test]
    fn a_block_out_of_written_order_falls_back_to_reading_each_line() {
        let (_, text) = written_store();
        // Each change makes the block something `canonical_block` does not take; the whole
        // store is then read as `toml` reads it, or left to `toml`.
        let moved = "name = \"name2\"\naddress = \"registry2.example.com:5000/team\"\n";
        for (from, to) in [
            ("id = 10\nenvironment = \"default\"\n", "environment = \"default\"\nid = 10\n"),
            (moved, "address = \"registry2.example.com:5000/team\"\nname = \"name2\"\n"),
            ("sequence = 101\n", "sequence = 0101\n"),
            ("active = false\n", "active = no\n"),
            ("active = false\n", "active = 0\n"),
            ("username = \"user1\"\n", "username = \"user1\" \n"),
            ("username = \"user1\"\n", "username = \"us\"er1\"\n"),
            ("username = \"user1\"\n", "username = \"user1\"\nextra = 1\n"),
            ("username = \"user1\"\n", "username = 'user1'\n"),
            ("id = 20\n", "id = 20\nid = 20\n"),
            ("sequence = 102\n", ""),
        ] {
            let changed = text.find(from).unwrap_or_else(|| panic!("{from:?}"));
            let edited = text.replacen(from, to, 1);
            let header = "[[credentials]]\n";
            let at = edited[..changed].rfind(header).unwrap() + header.len();
            assert!(canonical_block(&edited, at).is_none(), "{to:?}");
            let slow = toml::from_str::<Registries>(&edited).ok();
            if let Some(fast) = parse(&edited, None) {
                assert_eq!(Some(shown(&fast)), slow.as_ref().map(shown), "{to:?}");
            }
        }
        // The last line without its newline: read line by line, as `toml` reads it.
        let cut = text.trim_end_matches('\n');
        assert_eq!(parse(cut, None).map(|r| shown(&r)), toml::from_str::<Registries>(cut).ok().map(|r| shown(&r)));
    }

    #[test]
    fn control_characters_and_backslashes_in_a_credential_go_to_toml() {
        let (_, text) = written_store();
        // Into each string of the blocks read by expecting each key, once and twice (an even
        // count must not cancel out).
        for value in
            ["\"default\"", "\"name2\"", "\"registry1.example.com:5000/team\"", "\"user3\"", "\"bob@example.com\""]
        {
            assert!(text.contains(value), "{value}");
            for odd in ["\u{1}", "\u{7f}", "\\\\", "\t", "\r", "\u{1}\u{1}", "\u{7f}\u{7f}", "\\\\\\\\", "\t\t"] {
                let edited = text.replacen(value, &format!("\"a{odd}{}", &value[1..]), 1);
                assert!(parse(&edited, None).is_none(), "{odd:?} in {value}");
            }
        }
    }

    #[test]
    fn only_a_real_second_in_written_form_is_read_by_hand() {
        for s in ["1999-12-31T23:59:59Z", "2026-01-31T00:00:00Z", "2024-02-29T12:30:45Z", "2000-02-29T09:09:09Z"] {
            let slow = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap();
            assert_eq!(fast_timestamp(s), Some(slow), "{s}");
            assert!(plain_timestamp(s), "{s}");
        }
        // Each bound of each field crossed, a non-digit in each place of a pair; a leap second
        // is `time`'s to decide.
        for s in [
            "2026-01-00T00:00:00Z",
            "2026-01-32T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-23T24:00:00Z",
            "2026-11-23T23:60:00Z",
            "2026-11-23T23:59:60Z",
            "2026-12-31T23:59:60Z",
            "2x26-11-23T10:00:00Z",
            "20x6-11-23T10:00:00Z",
            "2026-1x-23T10:00:00Z",
            "2026-11-x3T10:00:00Z",
            "2026-11-23T1x:00:00Z",
            "2026-11-23Tx0:00:00Z",
            "2026-11-23T10:0x:00Z",
            "2026-11-23T10:x0:00Z",
            "2026-11-23T10:00:0x",
            "2026-11-23T10:00:0xZ",
            "2026-11-23T10:00:x0Z",
            "2026-11-23T10:00:00.5Z",
            "2026-11-23T10:00:00+00:00",
        ] {
            assert!(!plain_timestamp(s), "{s}");
            assert_eq!(fast_timestamp(s), None, "{s}");
        }
    }
}
