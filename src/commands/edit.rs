//! `regcred edit`: username, e-mail and name change; the password is always asked again;
//! the address and the addition order never change. With `--verify` the registry is asked
//! first, and nothing changes when it rejects the new credential.

use crate::cli::EditArgs;
use crate::commands::{describe, verify};
use crate::context::Context;
use crate::exit::Failure;
use crate::prompt;
use crate::vault::{Changes, SecretSource, check_name_free, secret_env, wants_for};

pub fn run(args: EditArgs, ctx: &Context) -> Result<(), Failure> {
    let changes = Changes::new(args.username.clone(), args.email.as_deref(), args.name.as_deref())?;

    let new_name = changes.name.as_ref().and_then(|n| n.as_deref());
    let wants = wants_for(ctx.env_override(), &args.selector, new_name);
    let registries = ctx.store.load_for(&wants)?;
    let environment = ctx.environment(&registries)?;
    let current = ctx.select_wanted(&registries, &environment, &args.selector)?;
    let id = current.id;
    check_name_free(&registries, &environment, new_name, Some(id))?;
    let username = args.username.as_deref().unwrap_or(&current.username);
    let label = format!("{username} @ {}", current.address);
    if let Some(var) = &args.password.secret_from_env {
        secret_env::check_name(var)?;
    }
    // With --secret-from-env nothing is stored: the variable is read here only to verify.
    let source = match args.password.secret_from_env.clone() {
        None => SecretSource::Given(prompt::password(&args.password, &label)?),
        Some(var) => SecretSource::Env(var),
    };
    if args.verify {
        let address = regcred_core::Scope::parse(&current.address)
            .map_err(|e| Failure::operational(format!("credential {id} in the store has a bad address: {e}")))?;
        let trusts = verify::trusts(&registries, &environment)?;
        let secret = prompt::secret_to_verify(&source, &label)?;
        verify::check_before_storing(ctx, &trusts, address.address(), username, &secret, "nothing was changed")?;
    }

    let after = ctx.edit(id, &environment, &changes, &source, &wants)?;
    match &after.secret_env {
        Some(var) => ctx.out.info(format!(
            "Updated credential {}; its secret is read from the environment variable {var} each time it is used.",
            describe(&after)
        )),
        None => ctx.out.info(format!("Updated credential {}.", describe(&after))),
    }
    Ok(())
}
