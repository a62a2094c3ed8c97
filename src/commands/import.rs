//! `regcred import`: credentials from docker's config.json or the containers auth.json,
//! including those held by other credential helpers, handed to the vault in one call (one
//! lock, one save, whatever the count).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use regcred_core::{RegistryAddress, Scope};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::cli::{ImportArgs, ImportSource};
use crate::context::Context;
use crate::exit::{Failure, input_error};
use crate::secrets::Secret;
use crate::vault::ImportItem as Found;
use crate::vault::clients::{docker_config_path, podman_auth_file};

mod view;
use view::ImportRow;

#[derive(Deserialize, Default)]
struct ConfigFile {
    #[serde(default)]
    auths: serde_json::Map<String, serde_json::Value>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<Zeroizing<String>>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<Zeroizing<String>>,
    #[serde(default)]
    identitytoken: Option<Zeroizing<String>>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
struct HelperCredential {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: Zeroizing<String>,
}

pub fn run(source: ImportSource, ctx: &Context) -> Result<(), Failure> {
    let (args, path) = match source {
        ImportSource::DockerConfig(args) => {
            let path = args.path.clone().or_else(docker_config_path);
            (args, path)
        }
        ImportSource::AuthJson(args) => {
            let path = args.path.clone().or_else(|| podman_auth_file().map(|(path, _)| path));
            (args, path)
        }
    };
    let path = path.ok_or_else(|| input_error!("cannot tell where the file is").hint("give its path"))?;
    let text = Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| {
        let failure = Failure::operational(format!("cannot read {}: {e}", path.display()));
        if e.kind() == std::io::ErrorKind::NotFound {
            Failure { code: crate::exit::ExitCode::Input, ..failure }
        } else {
            failure
        }
    })?);
    let config: ConfigFile = serde_json::from_str(&text).map_err(|e| {
        input_error!(
            "{} is not a docker/containers auth file: line {}, column {}: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;

    let mut found: Vec<Found> = config.auths.iter().map(|(key, value)| from_auths(key, value)).collect();
    let mut rows = Vec::new();
    let helpers = helper_sources(&config);
    if args.no_helpers {
        for (helper, servers) in &helpers {
            let what = servers.as_deref().map(|s| s.join(", ")).unwrap_or_else(|| "all its registries".into());
            rows.push(ImportRow::skipped(&format!("helper {helper}"), "-", format!("--no-helpers ({what})")));
        }
    } else {
        for (helper, servers) in &helpers {
            let shown = format!("helper {}", regcred_core::escape(helper));
            if helper == "regcred" {
                rows.push(ImportRow::skipped(&shown, "-", "already regcred".into()));
                continue;
            }
            // A name from the file decides which program runs: only a plain name, found
            // on PATH, and nothing at all in a dry run.
            let program = match helper_program(helper) {
                Ok(program) => program,
                Err(why) => {
                    rows.push(ImportRow::skipped(&shown, "-", why));
                    continue;
                }
            };
            if args.dry_run {
                rows.push(ImportRow::skipped(
                    &shown,
                    "-",
                    format!("--dry-run runs no program; would ask {}", program.display()),
                ));
                continue;
            }
            match ask_helper(&program, servers.as_deref()) {
                Ok(list) => found.extend(list),
                Err(why) => rows.push(ImportRow::skipped(&format!("helper {helper}"), "-", why)),
            }
        }
    }
    found.sort_by(|a, b| a.key.cmp(&b.key));
    import(ctx, &args, found, rows, &path)
}

fn import(
    ctx: &Context,
    args: &ImportArgs,
    found: Vec<Found>,
    mut rows: Vec<ImportRow>,
    path: &Path,
) -> Result<(), Failure> {
    let outcome = ctx.import(found, args.dry_run)?;
    for line in &outcome.items {
        rows.push(match &line.result {
            Ok(id) => ImportRow::imported(&line.address, &line.username, *id),
            Err(why) => ImportRow::skipped(&line.address, &line.username, why.clone()),
        });
    }
    view::print(&ctx.out, &rows, ctx.out.format(args.output))?;
    let count = outcome.imported;
    let skipped = rows.len() - count;
    let verb = if args.dry_run { "Would import" } else { "Imported" };
    ctx.out.info(format!(
        "{verb} {count} credential(s) from {} into environment {}; skipped {skipped}.",
        path.display(),
        outcome.environment
    ));
    Ok(())
}

fn from_auths(key: &str, value: &serde_json::Value) -> Found {
    let scope = scope_of(key);
    match read_entry(value) {
        Ok((username, email, secret)) => Found { key: key.into(), scope, username, email, secret: Ok(secret) },
        Err(why) => Found { key: key.into(), scope, username: "-".into(), email: None, secret: Err(why) },
    }
}

/// Username, e-mail and secret of one `auths` entry, whichever way it carries them.
fn read_entry(value: &serde_json::Value) -> Result<(String, Option<String>, Secret), String> {
    let entry: AuthEntry = serde_json::from_value(value.clone())
        .map_err(|e| format!("unreadable entry: {}", crate::helper::json_error_words(&e)))?;
    let email = entry.email.filter(|e| !e.is_empty());
    if let Some(token) = entry.identitytoken.filter(|t| !t.is_empty()) {
        return Ok(("<token>".into(), email, Secret::new(token.to_string())));
    }
    if let (Some(username), Some(password)) = (&entry.username, &entry.password)
        && !username.is_empty()
        && !password.is_empty()
    {
        return Ok((username.clone(), email, Secret::new(password.to_string())));
    }
    let auth = entry.auth.filter(|a| !a.is_empty()).ok_or("no auth, password or identity token")?;
    let decoded = Zeroizing::new(BASE64.decode(auth.trim()).map_err(|_| "auth is not base64")?);
    let text = std::str::from_utf8(&decoded).map_err(|_| "auth is not UTF-8")?;
    match text.split_once(':') {
        Some((user, password)) if !user.is_empty() && !password.is_empty() => {
            Ok((user.into(), email, Secret::new(password.into())))
        }
        _ => Err("auth is not user:password".into()),
    }
}

/// `https://index.docker.io/v1/`, `host:5000`, `quay.io/myorg` (auth.json namespaces).
fn scope_of(key: &str) -> Result<Scope, String> {
    if let Ok(address) = RegistryAddress::from_server_url(key) {
        let rest = key.split_once("://").map_or(key, |(_, rest)| rest);
        let path = rest.split_once('/').map(|(_, path)| path.trim_end_matches('/')).unwrap_or("");
        // docker's own keys carry the API version as a path; that is not a namespace.
        if path.is_empty() || path == "v1" || path == "v2" {
            return Ok(Scope::from_address(address));
        }
        return Scope::parse(&format!("{address}/{path}")).map_err(|e| e.to_string());
    }
    Scope::parse(key).map_err(|e| e.to_string())
}

/// The helpers the file names: credsStore for everything, credHelpers per registry.
fn helper_sources(config: &ConfigFile) -> Vec<(String, Option<Vec<String>>)> {
    let mut sources: Vec<(String, Option<Vec<String>>)> = Vec::new();
    if let Some(store) = config.creds_store.as_ref().filter(|s| !s.is_empty()) {
        sources.push((store.clone(), None));
    }
    for (server, helper) in &config.cred_helpers {
        let Some(helper) = helper.as_str() else { continue };
        match sources.iter_mut().find(|(h, servers)| h == helper && servers.is_some()) {
            Some((_, Some(servers))) => servers.push(server.clone()),
            _ => sources.push((helper.to_owned(), Some(vec![server.clone()]))),
        }
    }
    sources
}

/// The program of credential helper `helper`: `docker-credential-HELPER` where HELPER is
/// a plain name (`[A-Za-z0-9._-]+`, not `.` or `..`), found in an absolute directory of
/// PATH, never relative to the current directory.
fn helper_program(helper: &str) -> Result<PathBuf, String> {
    let plain = !helper.is_empty()
        && helper != "."
        && helper != ".."
        && helper.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !plain {
        return Err(format!(
            "not a credential helper name ({}): only letters, digits, '.', '_' and '-' are run",
            regcred_core::escape(helper)
        ));
    }
    let name = format!("docker-credential-{helper}");
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).filter(|dir| dir.is_absolute()) {
        let candidate = dir.join(&name);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    Err(format!("cannot run {name}: not found on PATH"))
}

fn is_executable(path: &Path) -> bool {
    let Ok(metadata) = std::fs::metadata(path) else { return false };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    metadata.is_file()
}

/// Asks a credential helper's program for its credentials (`list`, then `get` for each).
fn ask_helper(path: &Path, servers: Option<&[String]>) -> Result<Vec<Found>, String> {
    let program = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let servers: Vec<String> = match servers {
        Some(servers) => servers.to_vec(),
        None => {
            let listing = call(path, &program, "list", "")?;
            let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&listing)
                .map_err(|e| format!("{program} list: not JSON: {}", crate::helper::json_error_words(&e)))?;
            map.keys().cloned().collect()
        }
    };
    let mut found = Vec::new();
    for server in servers {
        let scope = scope_of(&server);
        match call(path, &program, "get", &server) {
            Ok(output) => match serde_json::from_str::<HelperCredential>(&output) {
                Ok(c) => found.push(Found {
                    key: server.clone(),
                    scope,
                    username: c.username,
                    email: None,
                    secret: if c.secret.is_empty() {
                        Err("empty secret".into())
                    } else {
                        Ok(Secret::new(c.secret.to_string()))
                    },
                }),
                Err(e) => found.push(Found {
                    key: server,
                    scope,
                    username: "-".into(),
                    email: None,
                    secret: Err(format!("{program} get: {}", crate::helper::json_error_words(&e))),
                }),
            },
            Err(why) => found.push(Found { key: server, scope, username: "-".into(), email: None, secret: Err(why) }),
        }
    }
    Ok(found)
}

fn call(path: &Path, program: &str, action: &str, input: &str) -> Result<Zeroizing<String>, String> {
    let mut child = Command::new(path)
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let output = child.wait_with_output().map_err(|e| format!("{program} {action}: {e}"))?;
    let stdout = Zeroizing::new(String::from_utf8_lossy(&output.stdout).into_owned());
    if !output.status.success() {
        return Err(format!("{program} {action} failed: {}", stdout.trim()));
    }
    Ok(stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_types_holding_a_secret_have_no_debug_output() {
        assert!(!crate::implements_debug!(Found));
        assert!(!crate::implements_debug!(AuthEntry));
        assert!(!crate::implements_debug!(HelperCredential));
        let found = from_auths("quay.io", &serde_json::json!({"username": "bob", "password": "hunter2-import"}));
        let secret = found.secret.as_ref().ok().unwrap();
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
    }
}
