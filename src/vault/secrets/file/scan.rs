//! The fast path for `secrets.toml`: a scanner for exactly the text [`super::render_file`]
//! writes. It accepts only: the file's two comment lines at the very start, `version = 1`
//! before any table, `[secret.ID]` headers (ID a canonical decimal, each once), the five
//! keys `store`, `environment`, `address`, `username`, `secret` (each once per table, all
//! of them) with basic strings that hold no escape and no control character, and empty
//! lines. Anything else — another comment, an escape, a newer version, CRLF line ends, a
//! duplicate — makes it answer `None`, and the caller parses with the `toml` crate as
//! before, with the same result or the same error. So this changes speed, never meaning
//! (`tests::scanner_agrees_with_toml` checks that on random files and random edits).
//!
//! Why: the `toml` crate takes ~20,000 instructions per secret (207 M for a 10,000-secret
//! file, half of an `add` at that size); this takes a few hundred.

use std::collections::BTreeMap;
use std::ops::Range;

use super::{FileEntry, FileSecrets, HEADER};
use crate::vault::store::STRING_STOP;

/// The fields of a `[secret.ID]` table, in the order they are written.
const FIELDS: [&str; 5] = ["store", "environment", "address", "username", "secret"];

/// Where each table of a file in the subset is: from the start of its `[secret.ID]` line
/// to the start of the next table's (or the end). Cutting, replacing or adding one such
/// span leaves a file in the subset, so a change of one secret never parses the others.
pub(super) type Tables = BTreeMap<u64, Range<usize>>;

/// Parses `text` if it is in the form regcred writes; `None` means "ask the `toml` crate".
pub(super) fn parse(text: &str) -> Option<FileSecrets> {
    let tables = index(text)?;
    let mut secrets = FileSecrets::default();
    for (id, span) in tables {
        secrets.entries.insert(id, entry(text, span)?);
    }
    Some(secrets)
}

/// Checks that `text` is in the subset and finds its tables, copying nothing.
pub(super) fn index(text: &str) -> Option<Tables> {
    let start = if text.starts_with(HEADER) { HEADER.len() } else { 0 };
    let mut tables = Tables::new();
    let mut seen_version = false;
    // The table being read: its id, where it starts, and which fields it has had.
    let mut table: Option<(u64, usize, [bool; 5])> = None;
    let b = text.as_bytes();
    let mut at = start;
    while at < text.len() {
        if b[at] == b'\n' {
            at += 1;
            continue;
        }
        // A field of a table (nearly every line): read byte by byte in one pass, the
        // string's bytes each looked at once.
        if let Some((_, _, fields)) = &mut table
            && b[at] != b'['
        {
            let mut i = at;
            while i < b.len() && b[i].is_ascii_lowercase() {
                i += 1;
            }
            let index = FIELDS.iter().position(|f| f.as_bytes() == &b[at..i])?;
            if b.get(i..i + 4) != Some(b" = \"") {
                return None;
            }
            i += 4;
            while i < b.len() && !STRING_STOP[usize::from(b[i])] {
                i += 1;
            }
            if b.get(i) != Some(&b'"') {
                return None;
            }
            i += 1;
            match b.get(i) {
                None => {}
                Some(b'\n') => i += 1,
                Some(_) => return None,
            }
            if std::mem::replace(&mut fields[index], true) {
                return None;
            }
            at = i;
            continue;
        }
        let end = text[at..].find('\n').map_or(text.len(), |n| at + n);
        let line = &text[at..end];
        let line_start = at;
        at = end + 1;
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("[secret.") {
            let id = canonical_id(rest.strip_suffix(']')?)?;
            if let Some((id, from, fields)) = table.take() {
                close(&mut tables, id, from..line_start, fields)?;
            }
            if tables.contains_key(&id) {
                return None;
            }
            table = Some((id, line_start, [false; 5]));
            continue;
        }
        // Before the first table: only the version. In a table, the fields took the fast
        // path above, so a line here starts with `[` and is not a `[secret.ID]` header.
        let (key, value) = key_value(line)?;
        match table {
            None if key == "version" && value == "1" && !seen_version => seen_version = true,
            _ => return None,
        }
    }
    if let Some((id, from, fields)) = table {
        close(&mut tables, id, from..text.len(), fields)?;
    }
    Some(tables)
}

/// A table with all its fields is recorded; a missing field is for `toml` to report.
fn close(tables: &mut Tables, id: u64, span: Range<usize>, fields: [bool; 5]) -> Option<()> {
    fields.iter().all(|f| *f).then(|| {
        tables.insert(id, span);
    })
}

/// `key = value` with exactly one space either side of `=` and a bare key.
fn key_value(line: &str) -> Option<(&str, &str)> {
    let space = line.bytes().position(|b| b == b' ')?;
    let value = line[space..].strip_prefix(" = ")?;
    Some((&line[..space], value))
}

/// The entry of one table that [`index`] found. `index` has checked every line of it (a
/// known key, one basic string with no escape, quote or control character), so each value
/// is only taken out of its quotes here.
pub(super) fn entry(text: &str, span: Range<usize>) -> Option<FileEntry> {
    let mut values: [&str; 5] = [""; 5];
    for line in text.get(span)?.split('\n').skip(1).filter(|l| !l.is_empty()) {
        let (key, value) = key_value(line)?;
        values[FIELDS.iter().position(|f| *f == key)?] = value.strip_prefix('"')?.strip_suffix('"')?;
    }
    let [store, environment, address, username, secret] = values.map(str::to_owned);
    Some(FileEntry { store, environment, address, username, secret })
}

/// `0`, or digits without a leading zero that fit a u64.
fn canonical_id(digits: &str) -> Option<u64> {
    let ok =
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && (digits == "0" || !digits.starts_with('0'));
    if ok { digits.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::{Parsed, parse_file_with_toml, render_file};
    use super::*;

    /// The entries of a parse as plain tuples, to compare.
    fn flat(secrets: &FileSecrets) -> Vec<(u64, [String; 5])> {
        secrets
            .entries
            .iter()
            .map(|(id, e)| {
                (*id, [e.store.clone(), e.environment.clone(), e.address.clone(), e.username.clone(), e.secret.clone()])
            })
            .collect()
    }

    /// Wherever the scanner accepts a text, `toml` reads the same entries from it.
    fn agrees(text: &str) {
        let Some(fast) = parse(text) else { return };
        match parse_file_with_toml(text) {
            Ok(Parsed::Secrets(slow)) => assert_eq!(flat(&fast), flat(&slow), "they disagree on:\n{text}"),
            Ok(Parsed::TooNew(v)) => panic!("the scanner accepts a version {v} file:\n{text}"),
            Err((_, message)) => panic!("the scanner accepts what toml refuses ({message}):\n{text}"),
        }
    }

    fn entries() -> impl Strategy<Value = Vec<(u64, [String; 5])>> {
        // Mostly plain text, sometimes what needs an escape or is not in the subset.
        let text = prop_oneof![
            8 => "[a-zA-Z0-9 ._:/@=-]{0,12}",
            1 => "[\"\\\\\t\n\r\u{1}\u{7f}\u{85}é#\\[\\] =]{0,4}",
        ];
        prop::collection::vec((0u64..1_000, [text.clone(), text.clone(), text.clone(), text.clone(), text]), 0..6)
    }

    fn secrets_of(list: &[(u64, [String; 5])]) -> FileSecrets {
        let mut secrets = FileSecrets::default();
        for (id, [store, environment, address, username, secret]) in list.iter().cloned() {
            secrets.entries.insert(id, FileEntry { store, environment, address, username, secret });
        }
        secrets
    }

    proptest! {
        #[test]
        fn scanner_agrees_with_toml(list in entries(), edit in (any::<prop::sample::Index>(), "[\\[\\]\"#=. \n\r\\\\a0-9]{0,3}", 0usize..4)) {
            let secrets = secrets_of(&list);
            let text = render_file(&secrets);
            // What regcred writes, in the subset: read by the scanner exactly.
            if let Some(fast) = parse(&text) {
                prop_assert_eq!(flat(&fast), flat(&secrets));
            } else {
                // Only a value that needs an escape sends a written file to `toml`.
                prop_assert!(list.iter().any(|(_, f)| f.iter().any(|s| s.chars().any(|c| c.is_control() || c == '"' || c == '\\'))));
            }
            agrees(&text);
            // And any edit of it: accepted only where `toml` reads the same.
            let (at, insert, remove) = edit;
            let mut edited = text.to_string();
            let mut cut = at.index(edited.len() + 1);
            while !edited.is_char_boundary(cut) { cut -= 1; }
            let mut end = (cut + remove).min(edited.len());
            while !edited.is_char_boundary(end) { end += 1; }
            edited.replace_range(cut..end, &insert);
            agrees(&edited);
        }
    }

    #[test]
    fn hand_made_files_outside_the_subset_go_to_toml() {
        let entry = "store = \"s\"\nenvironment = \"e\"\naddress = \"a\"\nusername = \"u\"\nsecret = \"x\"\n";
        for text in [
            format!("version = 1\n[secret.03]\n{entry}"),
            format!("version = 2\n[secret.3]\n{entry}"),
            format!("[secret.3]\n{entry}[secret.3]\n{entry}"),
            format!("# mine\n[secret.3]\n{entry}"),
            format!("[secret.3]\n{entry}version = 1\n"),
            format!("[secret.3]\r\n{entry}"),
            format!("[secret.3]\n{entry}store = \"again\"\n"),
            "[secret.3]\nstore = \"s\"\n".to_string(),
            format!("[secret.\"3\"]\n{entry}"),
            format!("[secret.3]\n{}", entry.replace("\"x\"", "'x'")),
            // A line of a table that starts with `[` and is no header, written as a field.
            format!("[secret.3]\n{entry}[store = \"s\"\n"),
            format!("[secret.3]\n{entry}[secret.4\n"),
        ] {
            assert!(parse(&text).is_none(), "the scanner should step aside for:\n{text}");
            agrees(&text);
        }
        let fine = format!("{HEADER}version = 1\n\n[secret.0]\n{entry}\n[secret.18446744073709551615]\n{entry}");
        // A file cut anywhere, even inside a key or a string of its last table, is refused
        // (never read past its end); cut right after a closing quote it is whole.
        let first_table = fine.find("\n[secret.").unwrap() + 1;
        for cut in 0..=fine.len() {
            let text = &fine[..cut];
            if cut > first_table {
                let whole = text.trim_end_matches('\n').ends_with("secret = \"x\"");
                assert_eq!(parse(text).is_some(), whole, "cut at {cut}:\n{text}");
            }
            agrees(text);
        }
        assert_eq!(parse(&fine).map(|s| s.entries.len()), Some(2));
        agrees(&fine);
    }
}
