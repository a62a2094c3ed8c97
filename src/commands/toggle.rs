//! `regcred activate` and `regcred deactivate` (rule 6): the secret stays where it is.

use regcred_core::Status;

use crate::cli::SelectorArgs;
use crate::commands::describe;
use crate::context::{Context, EnvCredentials};
use crate::exit::Failure;

pub fn run(args: SelectorArgs, ctx: &Context, active: bool) -> Result<(), Failure> {
    let toggled = ctx.set_active(&args.selector, active)?;
    let (registries, environment, id, changed, before) =
        (&toggled.registries, &toggled.environment, toggled.id, toggled.changed, &toggled.before);

    let Some(toggled_one) = registries.credential(id) else { return Ok(()) };
    let scope = crate::vault::scope_of(toggled_one)?;
    let env_credentials = EnvCredentials::on_registry(registries, environment, scope.address())?;
    let after = env_credentials.statuses();
    let this = env_credentials.records.iter().position(|c| c.id == id).map(|i| (env_credentials.records[i], after[i]));
    let Some((credential, status)) = this else { return Ok(()) };
    let what = describe(credential);
    match (active, changed, status) {
        (true, _, Status::Overridden { by }) => {
            let newer = registries.credential(by).map(describe).unwrap_or_else(|| by.to_string());
            ctx.out.info(format!(
                "Credential {what} is {}active but overridden: credential {newer} was added later for the same address and is used instead.",
                if changed { "" } else { "already " }
            ));
        }
        (true, true, _) => ctx.out.info(format!("Activated credential {what}; it is used for {}.", credential.address)),
        (true, false, _) => ctx.out.info(format!("Credential {what} is already active.")),
        (false, true, _) => {
            ctx.out.info(format!("Deactivated credential {what}; its secret is kept."));
            // Whoever this one was overriding takes over.
            for ((record, old), new) in env_credentials.records.iter().zip(before).zip(&after) {
                if *old == (Status::Overridden { by: id }) && *new == Status::Active {
                    ctx.out.info(format!("Credential {} is used for {} again.", describe(record), record.address));
                }
            }
        }
        (false, false, _) => ctx.out.info(format!("Credential {what} is already inactive.")),
    }
    Ok(())
}
