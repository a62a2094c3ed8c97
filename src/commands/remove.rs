//! `regcred delete` (rule 7): metadata goes first, then the secret, so an interruption leaves
//! at worst an orphaned secret that `regcred doctor --fix` removes.

use crate::cli::DeleteArgs;
use crate::commands::{describe, select};
use crate::context::{Context, secret_failure, secret_key};
use crate::exit::{Failure, input_error};
use crate::prompt;
use crate::store::Credential;

pub fn run(args: DeleteArgs, ctx: &Context) -> Result<(), Failure> {
    let registries = ctx.store.load()?;
    let environment = ctx.environment(&registries)?;
    let chosen = select(&registries, &environment, &args.selector)?;
    let id = chosen.id;
    prompt::confirm(&format!("Delete credential {} and its secret?", describe(chosen)), args.yes)?;

    let lock = ctx.store.lock()?;
    let mut registries = ctx.store.load()?;
    let Some(index) = registries.credentials.iter().position(|c| c.id == id && c.environment == environment) else {
        return Err(input_error!("credential {id} was deleted meanwhile"));
    };
    let secrets = ctx.secrets(registries.credentials[index].secret_store);
    // Refuse up front rather than leave a secret behind that the user cannot see.
    if registries.credentials[index].secret_env.is_none() {
        secrets.check().map_err(secret_failure)?;
    }
    let removed = registries.credentials.remove(index);
    ctx.store.save(&registries, &lock)?;
    delete_secret(ctx, &registries.store_id, &removed)?;
    drop(lock);
    ctx.out.info(format!("Deleted credential {} and its secret.", describe(&removed)));
    Ok(())
}

/// Removes the secret of a credential whose metadata is already gone.
pub fn delete_secret(ctx: &Context, store_id: &str, credential: &Credential) -> Result<(), Failure> {
    if credential.secret_env.is_some() {
        // Its secret was never stored (`--secret-from-env`).
        return Ok(());
    }
    let key = secret_key(store_id, credential);
    ctx.secrets(credential.secret_store).delete(&key).map(|_| ()).map_err(|e| {
        let failure = secret_failure(e);
        Failure::operational(format!(
            "credential {} was deleted, but its secret could not be removed: {}",
            credential.id, failure.message
        ))
        .hint("run `regcred doctor --fix` once the secret store is reachable")
    })
}
