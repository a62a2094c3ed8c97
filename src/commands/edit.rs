//! `regcred edit`: username, e-mail and name change; the password is always asked again;
//! the address and the addition order never change. With `--verify` the registry is asked
//! first, and nothing changes when it rejects the new credential.

use crate::cli::EditArgs;
use crate::commands::{describe, select, verify};
use crate::context::Context;
use crate::exit::Failure;
use crate::prompt;
use crate::vault::{Changes, check_name_free};

pub fn run(args: EditArgs, ctx: &Context) -> Result<(), Failure> {
    let changes = Changes::new(args.username.clone(), args.email.as_deref(), args.name.as_deref())?;

    let registries = ctx.store.load()?;
    let environment = ctx.environment(&registries)?;
    let current = select(&registries, &environment, &args.selector)?;
    let id = current.id;
    let new_name = changes.name.as_ref().and_then(|n| n.as_deref());
    check_name_free(&registries, &environment, new_name, Some(id))?;
    let username = args.username.as_deref().unwrap_or(&current.username);
    let label = format!("{username} @ {}", current.address);
    let secret = prompt::password(&args.password, &label)?;
    if args.verify {
        let address = regcred_core::Scope::parse(&current.address)
            .map_err(|e| Failure::operational(format!("credential {id} in the store has a bad address: {e}")))?;
        let trusts = verify::trusts(&registries, &environment)?;
        verify::check_before_storing(ctx, &trusts, address.address(), username, &secret, "nothing was changed")?;
    }

    let after = ctx.edit(id, &environment, &changes, &secret)?;
    ctx.out.info(format!("Updated credential {}.", describe(&after)));
    Ok(())
}
