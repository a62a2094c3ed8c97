//! The Docker credential-helper protocol (PRODUCT.md §6), spoken by
//! `docker-credential-regcred ACTION` and `regcred credential-helper ACTION`.
//!
//! Output follows docker-credential-helpers byte for byte where docker parses it: JSON with
//! `ServerURL`/`Username`/`Secret`, and on failure the message on stdout with exit 1.

use std::io::{Read, Write};

use regcred_core::{RegistryAddress, Scope};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::cli::Action;
use crate::context::{Context, EnvCredentials};
use crate::exit::Failure;
use crate::secrets::Secret;
use crate::store::Need;
use crate::vault::{self, check_username};

/// What docker-credential-helpers print when there is nothing for a server; docker matches
/// this text (it is the message of `vault::Error::NotFound`).
pub use crate::vault::NOT_FOUND;

/// Helpers read one small JSON object or URL; anything larger is refused.
const MAX_INPUT: u64 = 64 * 1024;

/// Set by `regcred exec --image` for the commands it runs: the ids of the credentials the
/// images resolve to (one per registry, scoped ones included), the only ones `get` answers
/// with.
pub const SELECTION_VAR: &str = "REGCRED_EXEC_SELECTION";

/// What `store` reads. No `Debug`: it holds the secret.
#[derive(Deserialize)]
pub(crate) struct StoreRequest {
    #[serde(rename = "ServerURL")]
    server_url: String,
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: Zeroizing<String>,
}

#[derive(Serialize)]
struct GetResponse<'a> {
    #[serde(rename = "ServerURL")]
    server_url: &'a str,
    #[serde(rename = "Username")]
    username: &'a str,
    #[serde(rename = "Secret")]
    secret: &'a str,
}

/// Entry point of `docker-credential-regcred`: the action is the only argument; settings
/// come from `REGCRED_*` variables.
pub fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let action = match args.as_slice() {
        [word] => <Action as clap::ValueEnum>::from_str(word, false).ok(),
        _ => None,
    };
    let Some(action) = action else {
        eprintln!(
            "Usage: docker-credential-regcred <store|get|erase|list|version>\n\n\
             A Docker credential helper backed by regcred. Configure it in ~/.docker/config.json\n\
             with \"credsStore\": \"regcred\" (see `regcred setup docker`). Settings come from\n\
             REGCRED_ENV, REGCRED_CONFIG_DIR and REGCRED_SECRET_STORE."
        );
        return std::process::ExitCode::from(if args.iter().any(|a| a == "--help" || a == "-h") { 0 } else { 2 });
    };
    let code = match crate::cli::GlobalArgs::from_env().map_err(Failure::input).and_then(|g| Context::new(&g)) {
        Ok(ctx) => run(action, &ctx),
        Err(failure) => fail(&failure.message),
    };
    std::process::ExitCode::from(code)
}

/// Runs one action and returns the exit code. Errors are reported on stdout, where docker
/// reads them.
pub fn run(action: Action, ctx: &Context) -> u8 {
    let outcome = match action {
        Action::Version => respond(&format!("docker-credential-regcred (regcred) {}\n", env!("CARGO_PKG_VERSION"))),
        Action::List => list(ctx),
        Action::Get => read_input().and_then(|input| get(ctx, &input)),
        Action::Erase => read_input().and_then(|input| erase(ctx, &input)),
        Action::Store => read_input().and_then(|input| store(ctx, &input)),
    };
    // The vault's warnings go to stderr; stdout is docker's.
    ctx.say_warnings();
    match outcome {
        Ok(()) => 0,
        Err(failure) => fail(&failure.message),
    }
}

/// The message on stdout, one line and escaped (it may quote what the client sent); on
/// stderr when stdout cannot be written.
fn fail(message: &str) -> u8 {
    if respond(&format!("{}\n", regcred_core::escape(message))).is_err() {
        crate::shell::report(&Failure::operational(message));
    }
    1
}

/// A failed write is an error: the client must not take a cut answer for a whole one.
fn respond(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::operational(format!("cannot write to stdout: {e}")))
}

fn read_input() -> Result<Zeroizing<String>, Failure> {
    let mut input = Zeroizing::new(String::new());
    let read = std::io::stdin()
        .lock()
        .take(MAX_INPUT + 1)
        .read_to_string(&mut input)
        .map_err(|e| Failure::input(format!("cannot read the request on stdin: {e}")))?;
    if read as u64 > MAX_INPUT {
        return Err(Failure::input(format!("the request on stdin is larger than {MAX_INPUT} bytes")));
    }
    Ok(input)
}

/// The server URL of a `get` or `erase` request, as asked and as a canonical address.
pub(crate) fn parse_server(input: &str) -> Result<(String, RegistryAddress), Failure> {
    let server = input.trim();
    if server.is_empty() {
        return Err(Failure::input("no server URL on stdin"));
    }
    let address =
        RegistryAddress::from_server_url(server).map_err(|e| Failure::input(format!("bad server URL: {e}")))?;
    Ok((server.to_owned(), address))
}

/// Checks a `store` request: a JSON object with a valid server URL, a username registries
/// accept and a non-empty secret. No message quotes a value from the request, since the
/// one that fails to parse might be the secret.
pub(crate) fn parse_store_request(input: &str) -> Result<(StoreRequest, RegistryAddress), Failure> {
    let request: StoreRequest = serde_json::from_str(input.trim()).map_err(|e| {
        Failure::input(format!(
            "the request is not a credential-helper store request ({{\"ServerURL\",\"Username\",\"Secret\"}}, all strings): {}",
            json_error_words(&e)
        ))
    })?;
    let (_, address) = parse_server(&request.server_url)?;
    check_username(&request.username)?;
    if request.secret.is_empty() {
        return Err(Failure::input("the secret is empty"));
    }
    Ok((request, address))
}

/// serde_json's words for an error, minus any value it would quote (`invalid type: string
/// "…"` may be a secret): field names and the position are kept.
pub(crate) fn json_error_words(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let names_only = ["missing field", "duplicate field", "unknown field"];
    match error.classify() {
        serde_json::error::Category::Data if !names_only.iter().any(|p| message.starts_with(p)) => {
            match error.line() {
                // Errors from an already parsed value have no position.
                0 => "a value has the wrong type".to_owned(),
                line => format!("a value has the wrong type at line {line} column {}", error.column()),
            }
        }
        _ => message,
    }
}

fn get(ctx: &Context, input: &str) -> Result<(), Failure> {
    let (server, address) = parse_server(input)?;
    let may_be_wanted = |text: &str| Scope::may_have_address(text, &address);
    let registries =
        ctx.store.load_only(&Need { environment: ctx.env_override(), address: &may_be_wanted, id_or_name: None })?;
    let environment = ctx.environment(&registries)?;
    let credentials = EnvCredentials::new(&registries, &environment)?;
    let credential = match exec_selection()? {
        Some(ids) => credentials.selected_for(&address, &ids),
        None => credentials.in_use_for_docker(&address),
    };
    let credential = credential.ok_or(vault::Error::NotFound)?;
    let secret = ctx.secret_of(&registries.store_id, credential)?;
    let body = GetResponse { server_url: &server, username: &credential.username, secret: secret.expose() };
    let json = Zeroizing::new(serde_json::to_string(&body).unwrap_or_default());
    respond(&json)?;
    respond("\n")
}

/// Under `regcred exec --image`: the ids of [`SELECTION_VAR`]; `None` outside such an `exec`.
fn exec_selection() -> Result<Option<Vec<u64>>, Failure> {
    let Some(value) = std::env::var_os(SELECTION_VAR) else { return Ok(None) };
    let bad = || Failure::operational(format!("{SELECTION_VAR} is not a list of credential ids"));
    let text = value.to_str().ok_or_else(bad)?;
    text.split(',')
        .filter(|id| !id.is_empty())
        .map(|id| id.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()
        .map(Some)
}

fn list(ctx: &Context) -> Result<(), Failure> {
    let registries = ctx.store.load()?;
    let environment = ctx.environment(&registries)?;
    let credentials = EnvCredentials::new(&registries, &environment)?;
    let mut listing = serde_json::Map::new();
    for (c, scope) in credentials.records.iter().zip(&credentials.scopes) {
        if scope.path().is_none()
            && credentials.in_use_for_docker(scope.address()).is_some_and(|chosen| chosen.id == c.id)
        {
            listing.insert(scope.address().docker_config_key().to_owned(), c.username.clone().into());
        }
    }
    respond(&format!("{}\n", serde_json::Value::Object(listing)))
}

fn erase(ctx: &Context, input: &str) -> Result<(), Failure> {
    let (_, address) = parse_server(input)?;
    Ok(ctx.erase_login(&address)?)
}

fn store(ctx: &Context, input: &str) -> Result<(), Failure> {
    let (request, address) = parse_store_request(input)?;
    let secret = Secret::new(request.secret.to_string());
    Ok(ctx.store_login(&address, &request.username, &secret)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_types_holding_a_secret_have_no_debug_output() {
        assert!(!crate::implements_debug!(StoreRequest));
        assert!(!crate::implements_debug!(GetResponse<'static>));
        // The probe itself works: these do implement Debug.
        assert!(crate::implements_debug!(Action));
        assert!(crate::implements_debug!(Secret));
        let secret = Secret::new("hunter2-debug".to_owned());
        let failure = parse_store_request(r#"{"ServerURL":"quay.io","Username":"a","Secret":""}"#).err().unwrap();
        for shown in [format!("{secret:?}"), format!("{secret:#?}"), format!("{failure:?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }
}
