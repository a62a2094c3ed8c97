//! The bodies of the fuzz targets in `fuzz/` (cargo fuzz, libFuzzer), kept in the library so
//! that every `cargo test` on stable also runs them over the committed seed corpus and
//! over each input a fuzzer ever crashed on.
//!
//! Each target feeds arbitrary bytes to one parser that meets the outside world and checks
//! more than "no panic": what parses must normalize to a fixed point, a corrected form
//! offered in an error must itself be accepted, a store that loads must survive the
//! commands that read it and round-trip through a save, and no error may quote a secret.

use regcred_core::{Reference, RegistryAddress, Scope, select_chosen, validate_name};

use crate::context::EnvCredentials;

/// One fuzz target's body.
pub type Target = fn(&[u8]);

/// The fuzz targets, by the name of their file in `fuzz/fuzz_targets/` and their corpus.
pub const TARGETS: [(&str, Target); 4] =
    [("reference", reference), ("address", address), ("helper_input", helper_input), ("store_file", store_file)];

/// Image references (`regcred resolve IMAGE`).
pub fn reference(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Reference::parse(text) {
        Ok(reference) => {
            let canonical = reference.canonical();
            let again = Reference::parse(&canonical)
                .unwrap_or_else(|e| panic!("canonical {canonical:?} of {text:?} does not parse: {e}"));
            assert_eq!(again.canonical(), canonical, "canonical form of {text:?} is not a fixed point");
            let familiar = reference.familiar();
            let back = Reference::parse(&familiar)
                .unwrap_or_else(|e| panic!("familiar {familiar:?} of {text:?} does not parse: {e}"));
            assert_eq!(back.canonical(), canonical, "familiar form {familiar:?} of {text:?} changes the meaning");
            assert!(canonical.starts_with(&format!("{}/{}", reference.registry(), reference.repository())));
            let whole_registry = Scope::from_address(reference.registry_address().clone());
            assert!(whole_registry.matches(&reference), "{text:?} is not matched by its own registry");
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

/// Registry addresses and scopes as a person types them (`add ADDRESS`, selectors) and server
/// URLs as docker sends them to the credential helper.
pub fn address(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match RegistryAddress::parse(text) {
        Ok(address) => {
            let canonical = address.as_str();
            assert_eq!(RegistryAddress::parse(canonical).as_ref(), Ok(&address), "{text:?} → {canonical:?}");
            assert_eq!(RegistryAddress::from_server_url(canonical).as_ref(), Ok(&address), "{text:?}");
            assert!(!canonical.bytes().any(|b| b.is_ascii_uppercase()), "{canonical:?} is not lower case");
            let rebuilt = match address.port() {
                Some(port) => format!("{}:{port}", address.host()),
                None => address.host().to_owned(),
            };
            assert_eq!(rebuilt, canonical);
        }
        Err(error) => {
            if let Some(suggestion) = error.suggestion() {
                let fixed = RegistryAddress::parse(suggestion);
                assert!(fixed.is_ok(), "{text:?}: the suggested {suggestion:?} is refused too: {fixed:?}");
            }
        }
    }
    match Scope::parse(text) {
        Ok(scope) => {
            let canonical = scope.to_string();
            assert_eq!(Scope::parse(&canonical).as_ref(), Ok(&scope), "{text:?} → {canonical:?}");
        }
        Err(error) => {
            if let Some(suggestion) = error.suggestion() {
                let fixed = Scope::parse(suggestion);
                assert!(fixed.is_ok(), "{text:?}: the suggested {suggestion:?} is refused too: {fixed:?}");
            }
        }
    }
    if let Ok(address) = RegistryAddress::from_server_url(text) {
        let canonical = address.as_str();
        assert_eq!(RegistryAddress::from_server_url(canonical).as_ref(), Ok(&address), "{text:?}");
    }
    let _ = validate_name("credential name", text);
}

/// What a credential helper reads on stdin: a `store` request (JSON) or, for `get` and
/// `erase`, a server URL. A refused `store` request never echoes its secret: the message
/// is the same when the secret is replaced by other characters of the same length.
pub fn helper_input(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(failure) = crate::helper::parse_store_request(text) {
        assert!(!failure.message.is_empty());
        if let Some(masked) = mask_secret(text) {
            let again = crate::helper::parse_store_request(&masked).err().map(|f| f.message);
            assert_eq!(
                again.as_deref(),
                Some(failure.message.as_str()),
                "the error depends on the secret's value, so it may show it:\n{text}\n{masked}"
            );
        }
    }
    if let Ok((asked, address)) = crate::helper::parse_server(text) {
        assert_eq!(asked, text.trim());
        assert_eq!(RegistryAddress::from_server_url(address.as_str()).as_ref(), Ok(&address));
    }
}

/// The request with the value that stands for its secret (its `Secret` field, or the whole
/// request when that is a bare JSON string or number) replaced by other characters of the
/// same byte length; `None` when there is no such value, or it is short, needs escaping in
/// JSON, or is not found verbatim exactly once.
fn mask_secret(text: &str) -> Option<String> {
    let value = serde_json::from_str::<serde_json::Value>(text.trim()).ok()?;
    let candidate = match &value {
        serde_json::Value::Object(fields) => fields.get("Secret")?,
        other => other,
    };
    // The literal as it stands in the raw text, and its mask: a string only when written
    // without escapes (masking `\/` would leave `\Z`), a number only without an exponent
    // (8e+195 would become 7e+777, out of range).
    let (literal, mask) = match candidate {
        serde_json::Value::String(s) if !s.contains(['\\', '"']) && !s.chars().any(char::is_control) => {
            let mask: String = s.chars().map(|c| "Z".repeat(c.len_utf8())).collect();
            (format!("\"{s}\""), format!("\"{mask}\""))
        }
        serde_json::Value::Number(n) if !n.to_string().contains(['e', 'E']) => {
            let word = n.to_string();
            let mask = word.chars().map(|c| if c.is_ascii_digit() { '7' } else { c }).collect();
            (word, mask)
        }
        _ => return None,
    };
    if literal.chars().count() < 4 || literal == mask || text.matches(literal.as_str()).count() != 1 {
        return None;
    }
    // The whole token, not the start of a longer one (`-0.0` of `-0.0e13505`).
    let at = text.find(literal.as_str())?;
    let number_char = |c: char| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-');
    let before = text[..at].chars().next_back();
    let after = text[at + literal.len()..].chars().next();
    if before.is_some_and(number_char) || after.is_some_and(number_char) {
        return None;
    }
    Some(text.replacen(&literal, &mask, 1))
}

/// `registries.toml` and `secrets.toml` as a person may have edited them. A store that loads
/// must be usable by every reading command and survive a save unchanged, and the fast
/// scanner must agree with the `toml` crate wherever it accepts a text; a secrets file that
/// loads must survive a rewrite unchanged.
pub fn store_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(registries) = crate::store::parse(text, std::path::Path::new("registries.toml"), None, false) {
        let digest = format!("localhost:5000/a/b@sha256:{}", "0".repeat(64));
        let images: Vec<Reference> =
            ["nginx", "quay.io/acme/app:1", &digest].iter().filter_map(|image| Reference::parse(image).ok()).collect();
        for environment in &registries.environments {
            // Addresses edited by hand may be refused; that is an error, never a panic.
            if let Ok(credentials) = EnvCredentials::new(&registries, &environment.name) {
                let statuses = credentials.statuses();
                assert_eq!(statuses.len(), credentials.records.len());
                let candidates = credentials.candidates();
                for image in &images {
                    if let Some(id) = select_chosen(&candidates, image) {
                        assert!(credentials.records.iter().any(|c| c.id == id));
                    }
                }
            }
        }
        // A save writes what `toml` renders; when it renders, it must load back the same.
        if let Ok(saved) = toml::to_string(&registries) {
            let back = crate::store::parse(&saved, std::path::Path::new("registries.toml"), None, false)
                .unwrap_or_else(|f| panic!("a saved store does not load: {f}\n{saved}"));
            assert_eq!(toml::to_string(&back).ok().as_deref(), Some(saved.as_str()), "save is not stable");
        }
    }
    crate::store::check_scanner_agrees(text);
    crate::secrets::check_file_round_trip(text);
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// `fuzz/seeds/TARGET/` (committed seeds) and `fuzz/regressions/TARGET/` (inputs a
    /// fuzzer once crashed on).
    fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut inputs = Vec::new();
        for kind in ["seeds", "regressions"] {
            let Ok(entries) = std::fs::read_dir(fuzz.join(kind).join(target)) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_file() {
                    inputs.push((path.clone(), std::fs::read(&path).unwrap()));
                }
            }
        }
        inputs.sort();
        inputs
    }

    #[test]
    fn every_fuzz_target_passes_on_its_committed_corpus() {
        for (target, run) in TARGETS {
            let inputs = inputs(target);
            assert!(inputs.len() >= 10, "fuzz/seeds/{target} has only {} seeds", inputs.len());
            for (path, data) in inputs {
                if let Err(panic) = std::panic::catch_unwind(|| run(&data)) {
                    let why = panic.downcast_ref::<String>().map(String::as_str).unwrap_or("(no message)");
                    panic!("fuzz target {target} fails on {}: {why}", path.display());
                }
            }
        }
    }

    #[test]
    fn a_store_request_error_never_quotes_the_secret() {
        for request in [
            r#""hunter2-bare-string""#,
            r#"{"ServerURL":"quay.io","Username":"bob","Secret":987654321}"#,
            r#"{"ServerURL":"quay.io","Username":["bob"],"Secret":"hunter2-in-object"}"#,
            r#"["quay.io","bob",12345678987654321]"#,
        ] {
            let failure = crate::helper::parse_store_request(request).err().expect(request);
            assert!(!failure.message.contains("hunter2"), "{}", failure.message);
            assert!(!failure.message.contains("987654321"), "{}", failure.message);
            assert!(failure.message.contains("line 1 column"), "{}", failure.message);
            helper_input(request.as_bytes());
        }
        let missing = crate::helper::parse_store_request(r#"{"ServerURL":"quay.io"}"#).err().unwrap();
        assert!(missing.message.contains("missing field `Username`"), "{}", missing.message);
    }
}
