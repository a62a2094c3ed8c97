//! One module per subcommand, each a `run(args, ctx)`; this file dispatches and holds what
//! several commands share: finding a credential from a selector.

mod add;
mod completions;
mod doctor;
mod edit;
mod env;
mod export;
mod generate_assets;
mod import;
mod kube;
mod list;
mod nodes;
mod overview;
mod remove;
mod resolve;
mod setup;
mod tls;
mod toggle;
mod verify;

use regcred_core::Scope;

pub use add::check_username;
pub use remove::delete_secret;

use crate::cli::{Cli, Command};
use crate::context::{Context, did_you_mean};
use crate::exit::{Failure, input_error};
use crate::store::{Credential, Registries};

/// Runs the parsed command line; `Ok` carries the exit status of a command that succeeded
/// (0, or 3 for `resolve` with an unresolved image).
pub fn run(cli: Cli) -> Result<u8, Failure> {
    let ctx = Context::new(&cli.global)?;
    let done = |()| 0;
    match cli.command {
        None => overview::run(&ctx).map(done),
        Some(Command::Add(args)) => add::run(args, &ctx).map(done),
        Some(Command::List(args)) => list::run(args, &ctx).map(done),
        Some(Command::Show(args)) => list::show(args, &ctx).map(done),
        Some(Command::Edit(args)) => edit::run(args, &ctx).map(done),
        Some(Command::Activate(args)) => toggle::run(args, &ctx, true).map(done),
        Some(Command::Deactivate(args)) => toggle::run(args, &ctx, false).map(done),
        Some(Command::Delete(args)) => remove::run(args, &ctx).map(done),
        Some(Command::Resolve(args)) => resolve::run(args, &ctx),
        Some(Command::Verify(args)) => verify::run(args, &ctx).map(done),
        Some(Command::Env(command)) => env::run(command, &ctx).map(done),
        Some(Command::Tls(command)) => tls::run(command, &ctx).map(done),
        Some(Command::Doctor(args)) => doctor::run(args, &ctx).map(done),
        Some(Command::Export(format)) => export::run(format, &ctx).map(done),
        Some(Command::Kube(args)) => kube::run(args, &ctx),
        Some(Command::Import(source)) => import::run(source, &ctx).map(done),
        Some(Command::Setup(target)) => setup::run(target, &ctx).map(done),
        Some(Command::CredentialHelper(args)) => Ok(crate::helper::run(args.action, &ctx)),
        Some(Command::GenerateAssets(args)) => generate_assets::run(args, &ctx).map(done),
        Some(Command::Completions(args)) => completions::run(args, &ctx).map(done),
    }
}

/// Finds the credential a SELECTOR means in `environment`: an id, a name, or an address
/// (the most recently added credential for exactly that address).
pub fn select<'a>(registries: &'a Registries, environment: &'a str, selector: &str) -> Result<&'a Credential, Failure> {
    let selector = selector.trim();
    if let Ok(id) = selector.parse::<u64>() {
        return match registries.credential(id) {
            Some(c) if c.environment == environment => Ok(c),
            Some(c) => Err(input_error!("credential {id} is in environment {:?}, not {environment:?}", c.environment)
                .hint(format!("add -e {} to work in that environment", c.environment))),
            None => Err(input_error!("no credential with id {id} in environment {environment:?}")
                .hint("see the ids with: regcred list")),
        };
    }
    let mut in_env = registries.credentials_in(environment);
    if let Some(c) = in_env.find(|c| c.name.as_deref() == Some(selector)) {
        return Ok(c);
    }
    let unknown = || {
        let known: Vec<&str> = registries
            .credentials_in(environment)
            .flat_map(|c| c.name.as_deref().into_iter().chain(std::iter::once(c.address.as_str())))
            .collect();
        input_error!("no credential {selector:?} in environment {environment:?}").maybe_hint(
            did_you_mean(selector, known.into_iter())
                .or_else(|| Some("a selector is an id, a name or an address; see them with: regcred list".into())),
        )
    };
    let Ok(scope) = Scope::parse(selector) else { return Err(unknown()) };
    let scope = scope.to_string();
    registries.credentials_in(environment).filter(|c| c.address == scope).max_by_key(|c| c.sequence).ok_or_else(unknown)
}

/// `bob @ docker.io`: how messages name a credential.
pub fn describe(c: &Credential) -> String {
    match &c.name {
        Some(name) => format!("{} ({name}: {} @ {})", c.id, c.username, c.address),
        None => format!("{} ({} @ {})", c.id, c.username, c.address),
    }
}
