//! `regcred env`: environments are independent sets of credentials (rule 4).

use regcred_core::validate_name;

use crate::cli::EnvCommand;
use crate::commands::remove::delete_secret;
use crate::context::{Context, did_you_mean, secret_failure};
use crate::exit::{Failure, input_error};
use crate::output::EnvironmentRow;
use crate::prompt;
use crate::secrets::SecretStoreKind;
use crate::store::{Environment, Registries, now};

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
            ctx.out.environments(&rows, ctx.out.format(output));
            Ok(())
        }
        EnvCommand::Create(args) => {
            validate_name("environment name", &args.name).map_err(|e| input_error!("{e}"))?;
            let lock = ctx.store.lock()?;
            let mut registries = ctx.store.load()?;
            if registries.environment(&args.name).is_some() {
                return Err(input_error!("environment {:?} already exists", args.name)
                    .hint(format!("switch to it with: regcred env use {}", args.name)));
            }
            registries.environments.push(Environment { name: args.name.clone(), created: now() });
            ctx.store.save(&registries, &lock)?;
            ctx.out.info(format!("Created environment {0}. Switch to it with: regcred env use {0}", args.name));
            Ok(())
        }
        EnvCommand::Use(args) => {
            let lock = ctx.store.lock()?;
            let mut registries = ctx.store.load()?;
            existing(&registries, &args.name)?;
            if registries.current_environment != args.name {
                registries.current_environment = args.name.clone();
                ctx.store.save(&registries, &lock)?;
            }
            let count = registries.credentials_in(&args.name).count();
            ctx.out.info(format!(
                "Now using environment {} ({count} credential{}).",
                args.name,
                if count == 1 { "" } else { "s" }
            ));
            Ok(())
        }
        EnvCommand::Delete(args) => {
            let registries = ctx.store.load()?;
            existing(&registries, &args.name)?;
            if registries.current_environment == args.name {
                return Err(input_error!("environment {:?} is the current one and cannot be deleted", args.name)
                    .hint("switch to another first: regcred env use OTHER"));
            }
            let count = registries.credentials_in(&args.name).count();
            prompt::confirm(
                &format!("Delete environment {} and its {count} credential(s), secrets included?", args.name),
                args.yes,
            )?;

            let lock = ctx.store.lock()?;
            let mut registries = ctx.store.load()?;
            existing(&registries, &args.name)?;
            let (removed, kept) =
                std::mem::take(&mut registries.credentials).into_iter().partition(|c| c.environment == args.name);
            registries.credentials = kept;
            let removed: Vec<_> = removed;
            for kind in SecretStoreKind::ALL {
                if removed.iter().any(|c| c.secret_store == kind && c.secret_env.is_none()) {
                    ctx.secrets(kind).check().map_err(secret_failure)?;
                }
            }
            registries.environments.retain(|e| e.name != args.name);
            registries.tls.retain(|t| t.environment != args.name);
            ctx.store.save(&registries, &lock)?;
            for credential in &removed {
                delete_secret(ctx, &registries.store_id, credential)?;
            }
            drop(lock);
            ctx.out.info(format!("Deleted environment {} and {} credential(s).", args.name, removed.len()));
            Ok(())
        }
    }
}

fn existing(registries: &Registries, name: &str) -> Result<(), Failure> {
    if registries.environment(name).is_some() {
        return Ok(());
    }
    let names = registries.environments.iter().map(|e| e.name.as_str());
    Err(input_error!("environment {name:?} does not exist")
        .maybe_hint(did_you_mean(name, names).or_else(|| Some("list them with: regcred env list".into()))))
}
