//! `regcred delete` (rule 7): asks for confirmation, then the vault removes the metadata
//! first and the secret second, so an interruption leaves at worst an orphaned secret that
//! `regcred doctor --fix` removes.

use crate::cli::DeleteArgs;
use crate::commands::describe;
use crate::context::Context;
use crate::exit::Failure;
use crate::prompt;
use crate::vault::wants_for;

pub fn run(args: DeleteArgs, ctx: &Context) -> Result<(), Failure> {
    let wants = wants_for(ctx.env_override(), &args.selector, None);
    let registries = ctx.store.load_for(&wants)?;
    let environment = ctx.environment(&registries)?;
    let chosen = ctx.select_wanted(&registries, &environment, &args.selector)?;
    prompt::confirm(&format!("Delete credential {} and its secret?", describe(&chosen)), args.yes)?;
    let removed = ctx.remove(chosen.id, &environment, &wants)?;
    ctx.out.info(format!("Deleted credential {} and its secret.", describe(&removed)));
    Ok(())
}
