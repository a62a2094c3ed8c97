//! One module per subcommand, each a `run(args, ctx)`; this file dispatches and holds what
//! several commands share: finding a credential from a selector.

mod add;
mod completions;
mod doctor;
mod edit;
mod env;
mod exec;
mod export;
mod generate_assets;
mod import;
mod kube;
mod list;
mod overview;
mod remove;
mod resolve;
mod setup;
mod tls;
mod toggle;
mod verify;
pub(crate) mod view;

use crate::cli::{Cli, Command};
use crate::context::Context;
use crate::exit::Failure;

pub use crate::vault::{describe, select};

/// Runs the parsed command line; `Ok` carries the exit status of a command that succeeded
/// (0, or 3 for `resolve` with an unresolved image).
pub fn run(cli: Cli) -> Result<u8, Failure> {
    let ctx = Context::new(&cli.global)?;
    let outcome = dispatch(cli, &ctx);
    // What the vault noticed on the way (a file others can read), said once, after the
    // command's own output and before its error.
    ctx.say_warnings();
    // A reader that closed stdout (`| head -1`) has what it wanted: end quietly.
    match outcome {
        Err(_) if ctx.out.stdout_closed() => Ok(0),
        outcome => outcome,
    }
}

fn dispatch(cli: Cli, ctx: &Context) -> Result<u8, Failure> {
    let done = |()| 0;
    match cli.command {
        None => overview::run(ctx).map(done),
        Some(Command::Add(args)) => add::run(args, ctx).map(done),
        Some(Command::List(args)) => list::run(args, ctx).map(done),
        Some(Command::Show(args)) => list::show(args, ctx).map(done),
        Some(Command::Edit(args)) => edit::run(args, ctx).map(done),
        Some(Command::Activate(args)) => toggle::run(args, ctx, true).map(done),
        Some(Command::Deactivate(args)) => toggle::run(args, ctx, false).map(done),
        Some(Command::Delete(args)) => remove::run(args, ctx).map(done),
        Some(Command::Resolve(args)) => resolve::run(args, ctx),
        Some(Command::Verify(args)) => verify::run(args, ctx).map(done),
        Some(Command::Env(command)) => env::run(command, ctx).map(done),
        Some(Command::Tls(command)) => tls::run(command, ctx).map(done),
        Some(Command::Doctor(args)) => doctor::run(args, ctx).map(done),
        Some(Command::Export(format)) => export::run(format, ctx).map(done),
        Some(Command::Kube(args)) => kube::run(args, ctx),
        Some(Command::Import(source)) => import::run(source, ctx).map(done),
        Some(Command::Exec(args)) => exec::run(args, ctx),
        Some(Command::Setup(target)) => setup::run(target, ctx).map(done),
        Some(Command::CredentialHelper(args)) => Ok(crate::helper::run(args.action, ctx)),
        Some(Command::GenerateAssets(args)) => generate_assets::run(args, ctx).map(done),
        Some(Command::Completions(args)) => completions::run(args, ctx).map(done),
    }
}
