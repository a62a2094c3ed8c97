//! `regcred edit`: username, e-mail and name change; the password is always asked again;
//! the address and the addition order never change. With `--verify` the registry is asked
//! first, and nothing changes when it rejects the new credential.

use regcred_core::validate_credential_name;

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
            validate_credential_name(name).map_err(|e| input_error!("{e}"))?;
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
    let secret = prompt::password(&args.password, &label)?;
    if args.verify {
        let address = regcred_core::Scope::parse(&current.1)
            .map_err(|e| Failure::operational(format!("credential {id} in the store has a bad address: {e}")))?;
        let trusts = verify::trusts(&registries, &environment)?;
        let username = args.username.as_deref().unwrap_or(&current.0);
        verify::check_before_storing(ctx, &trusts, address.address(), username, &secret)
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
    let after = credential.clone();

    let secrets = ctx.secrets(after.secret_store);
    let old_secret = secrets.get(&secret_key(&registries.store_id, &before)).map_err(secret_failure)?;
    // `set` replaces the secret of the same credential id, even when the username changed.
    secrets.set(&secret_key(&registries.store_id, &after), &secret).map_err(secret_failure)?;
    if let Err(failure) = ctx.store.save(&registries, &lock) {
        if let Some(old) = old_secret {
            let _ = secrets.set(&secret_key(&registries.store_id, &before), &old);
        }
        return Err(failure);
    }
    drop(lock);
    ctx.out.info(format!("Updated credential {}.", describe(&after)));
    Ok(())
}
