//! `regcred edit`: username, e-mail and name change; the password is always asked again;
//! the address and the addition order never change. With `--verify` the registry is asked
//! first, and nothing changes when it rejects the new credential.

use regcred_core::validate_name;

use crate::cli::EditArgs;
use crate::commands::add::{check_email, check_username};
use crate::commands::{describe, select, verify};
use crate::context::{Context, secret_failure, secret_key};
use crate::exit::{Failure, input_error};
use crate::prompt;
use crate::store::now;

pub fn run(args: EditArgs, ctx: &Context) -> Result<(), Failure> {
    if let Some(username) = &args.username {
        check_username(username)?;
    }
    let email = args.email.as_deref().map(|e| check_email(Some(e))).transpose()?;
    let name = match args.name.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(name) => {
            validate_name("credential name", name).map_err(|e| input_error!("{e}"))?;
            Some(Some(name.to_owned()))
        }
    };

    let registries = ctx.store.load()?;
    let environment = ctx.environment(&registries)?;
    let id = select(&registries, &environment, &args.selector)?.id;
    let check_name = |registries: &crate::store::Registries| -> Result<(), Failure> {
        if let Some(Some(name)) = &name
            && let Some(other) =
                registries.credentials_in(&environment).find(|c| c.name.as_ref() == Some(name) && c.id != id)
        {
            return Err(input_error!(
                "the name {name:?} is already used by credential {} in environment {environment:?}",
                other.id
            ));
        }
        Ok(())
    };
    check_name(&registries)?;
    let current = registries.credential(id).map(|c| (c.username.clone(), c.address.clone())).unwrap_or_default();
    let label = format!("{} @ {}", args.username.as_deref().unwrap_or(&current.0), current.1);
    let from_env = args.password.secret_from_env.clone();
    if let Some(var) = &from_env {
        crate::secret_env::check_name(var)?;
    }
    // With --secret-from-env nothing is stored: the variable is read here only to verify.
    let secret = match &from_env {
        None => Some(prompt::password(&args.password, &label)?),
        Some(_) => None,
    };
    if args.verify {
        let address = regcred_core::Scope::parse(&current.1)
            .map_err(|e| Failure::operational(format!("credential {id} in the store has a bad address: {e}")))?;
        let trusts = verify::trusts(&registries, &environment)?;
        let username = args.username.as_deref().unwrap_or(&current.0);
        let from_variable;
        let secret = match (&secret, &from_env) {
            (Some(secret), _) => secret,
            (None, var) => {
                let args = crate::cli::PasswordArgs {
                    password_stdin: false,
                    password_env: var.clone(),
                    secret_from_env: None,
                };
                from_variable = prompt::password(&args, &label)?;
                &from_variable
            }
        };
        verify::check_before_storing(ctx, &trusts, address.address(), username, secret)
            .map_err(|f| Failure { message: f.message.replace("nothing was stored", "nothing was changed"), ..f })?;
    }

    let lock = ctx.store.lock()?;
    let mut registries = ctx.store.load()?;
    check_name(&registries)?;
    let Some(credential) = registries.credential_mut(id).filter(|c| c.environment == environment) else {
        return Err(input_error!("credential {id} was deleted while regcred waited for the password"));
    };
    let before = credential.clone();
    if let Some(username) = &args.username {
        credential.username = username.clone();
    }
    if let Some(email) = email {
        credential.email = email;
    }
    if let Some(name) = name {
        credential.name = name;
    }
    credential.updated = now();
    if before.secret_env.is_some() && from_env.is_none() {
        // A secret entered again after a variable goes where new secrets go now.
        credential.secret_store = ctx.secret_store;
    }
    credential.secret_env = from_env.clone();
    let after = credential.clone();

    let Some(secret) = secret else {
        return switch_to_variable(ctx, &registries, &before, &after, lock);
    };
    let secrets = ctx.secrets(after.secret_store);
    let old_secret = match before.secret_env {
        Some(_) => None,
        None => secrets.get(&secret_key(&registries.store_id, &before)).map_err(secret_failure)?,
    };
    // `set` replaces the secret of the same credential id, even when the username changed.
    secrets.set(&secret_key(&registries.store_id, &after), &secret).map_err(secret_failure)?;
    if let Err(failure) = ctx.store.save(&registries, &lock) {
        match old_secret {
            Some(old) => {
                let _ = secrets.set(&secret_key(&registries.store_id, &before), &old);
            }
            None => {
                let _ = secrets.delete(&secret_key(&registries.store_id, &after));
            }
        }
        return Err(failure);
    }
    drop(lock);
    ctx.out.info(format!("Updated credential {}.", describe(&after)));
    Ok(())
}

/// `edit --secret-from-env`: the metadata first, then the stored secret, no longer used, is
/// removed (if that fails, `regcred doctor --fix` removes it later).
fn switch_to_variable(
    ctx: &Context,
    registries: &crate::store::Registries,
    before: &crate::store::Credential,
    after: &crate::store::Credential,
    lock: crate::store::StoreLock,
) -> Result<(), Failure> {
    ctx.store.save(registries, &lock)?;
    if before.secret_env.is_none() {
        let removed = ctx.secrets(before.secret_store).delete(&secret_key(&registries.store_id, before));
        if let Err(e) = removed {
            ctx.out.warn(format!(
                "the secret credential {} kept before could not be removed ({e}); `regcred doctor --fix` removes it",
                after.id
            ));
        }
    }
    drop(lock);
    let var = after.secret_env.as_deref().unwrap_or_default();
    ctx.out.info(format!(
        "Updated credential {}; its secret is read from the environment variable {var} each time it is used.",
        describe(after)
    ));
    Ok(())
}
