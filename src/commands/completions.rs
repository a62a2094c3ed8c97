//! `regcred completions SHELL`: the completion script, the same bytes as completions/ holds.
//! The script asks `regcred` for candidates on every TAB (see `crate::complete`).

use crate::cli::CompletionsArgs;
use crate::context::Context;
use crate::exit::Failure;

pub fn run(args: CompletionsArgs, ctx: &Context) -> Result<(), Failure> {
    ctx.out.data(&String::from_utf8_lossy(&crate::complete::script(args.shell)))
}
