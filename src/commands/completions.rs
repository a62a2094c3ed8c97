//! `regcred completions SHELL`: the completion script, generated from the clap definition.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::context::Context;
use crate::exit::Failure;

pub fn run(args: CompletionsArgs, ctx: &Context) -> Result<(), Failure> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "regcred", &mut script);
    ctx.out.data(&String::from_utf8_lossy(&script));
    Ok(())
}
