//! `regcred delete` (rule 7): asks for confirmation, then the vault removes the metadata
//! first and the secret second, so an interruption leaves at worst an orphaned secret that
//! `regcred doctor --fix` removes.

use crate::cli::DeleteArgs;
use crate::commands::{describe, select};
use crate::context::Context;
use crate::exit::Failure;
use crate::prompt;

pub fn run(args: DeleteArgs, ctx: &Context) -> Result<(), Failure> {
    let registries = ctx.store.load()?;
    let environment = ctx.environment(&registries)?;
    let chosen = select(&registries, &environment, &args.selector)?;
    prompt::confirm(&format!("Delete credential {} and its secret?", describe(chosen)), args.yes)?;
    let removed = ctx.remove(chosen.id, &environment)?;
    ctx.out.info(format!("Deleted credential {} and its secret.", describe(&removed)));
    Ok(())
}
