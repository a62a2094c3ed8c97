//! `regcred env`: environments are independent sets of credentials (rule 4).

use crate::cli::EnvCommand;
use crate::context::Context;
use crate::exit::Failure;
use crate::prompt;

mod view;
use view::EnvironmentRow;

pub fn run(command: EnvCommand, ctx: &Context) -> Result<(), Failure> {
    match command {
        EnvCommand::List(output) => {
            let registries = ctx.store.load()?;
            let rows: Vec<EnvironmentRow<'_>> = registries
                .environments
                .iter()
                .map(|e| EnvironmentRow {
                    name: &e.name,
                    current: e.name == registries.current_environment,
                    credentials: registries.credentials_in(&e.name).count(),
                    created: e.created,
                })
                .collect();
            view::print(&ctx.out, &rows, ctx.out.format(output))
        }
        EnvCommand::Create(args) => {
            ctx.create_env(&args.name)?;
            ctx.out.info(format!("Created environment {0}. Switch to it with: regcred env use {0}", args.name));
            Ok(())
        }
        EnvCommand::Use(args) => {
            let count = ctx.use_env(&args.name)?;
            ctx.out.info(format!(
                "Now using environment {} ({count} credential{}).",
                args.name,
                if count == 1 { "" } else { "s" }
            ));
            Ok(())
        }
        EnvCommand::Delete(args) => {
            let count = ctx.check_remove_env(&args.name)?;
            prompt::confirm(
                &format!("Delete environment {} and its {count} credential(s), secrets included?", args.name),
                args.yes,
            )?;
            let removed = ctx.remove_env(&args.name)?;
            ctx.out.info(format!("Deleted environment {} and {removed} credential(s).", args.name));
            Ok(())
        }
    }
}
