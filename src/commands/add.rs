//! `regcred add`: asks for the password, then hands the new credential to the vault, which
//! writes the secret first and the metadata second. With `--verify` the registry is asked
//! first, and a rejected credential is never stored.

use regcred_core::{RegistryAddress, Scope};

use crate::cli::AddArgs;
use crate::commands::{describe, tls, verify};
use crate::context::Context;
use crate::exit::{Failure, input_error};
use crate::prompt;
use crate::vault::{AddRequest, NewTls, SecretSource, secret_env};

pub fn run(args: AddArgs, ctx: &Context) -> Result<(), Failure> {
    let scope = match &args.address {
        Some(address) => Scope::parse(address).map_err(|e| input_error!("{e}"))?,
        None => Scope::from_address(RegistryAddress::docker_hub()),
    };
    let mut request = AddRequest {
        name: args.name.clone(),
        address: scope.to_string(),
        username: args.username.clone(),
        email: args.email.clone(),
        tls: None,
    };
    request.validate()?;
    let ca_cert = args.ca_cert.as_deref().map(tls::read_ca_file).transpose()?;
    request.tls = (args.insecure || ca_cert.is_some()).then(|| NewTls {
        address: scope.address().to_string(),
        insecure: args.insecure,
        ca_cert: ca_cert.clone(),
    });
    let label = format!("{} @ {}", args.username, request.address);

    let from_env = args.password.secret_from_env.clone();
    if let Some(var) = &from_env {
        secret_env::check_name(var)?;
    }
    let prompting = !args.password.password_stdin && args.password.password_env.is_none() && from_env.is_none();
    if prompting {
        // Say what is wrong before asking for a password that would be thrown away.
        ctx.check_add(&request)?;
    }
    // With --secret-from-env nothing is stored; the variable is read here only to verify.
    let source = match from_env {
        None => SecretSource::Given(prompt::password(&args.password, &label)?),
        Some(var) => SecretSource::Env(var),
    };

    if args.verify {
        // Asked without holding the lock: the registry may take seconds to answer.
        let environment = ctx.check_add(&request)?;
        let registries = ctx.store.load()?;
        let mut trusts = verify::trusts(&registries, &environment)?;
        if request.tls.is_some() {
            let setting = tls::setting(&environment, scope.address(), args.insecure, ca_cert.clone());
            trusts.insert(setting.address.clone(), verify::trust_of(&setting)?);
        }
        let secret = prompt::secret_to_verify(&source, &label)?;
        verify::check_before_storing(ctx, &trusts, scope.address(), &args.username, &secret, "nothing was stored")?;
    }

    let added = ctx.add(request, &source)?;
    let id = added.credential.id;
    // Said plainly, so that nobody adds it again to get its id.
    ctx.out
        .data(&format!("{id}\n"))
        .map_err(|f| Failure { message: format!("credential {id} was added, but {}", f.message), ..f })?;
    match &added.credential.secret_env {
        Some(var) => {
            ctx.out.info(format!(
                "Added credential {id} for {label} in environment {}; its secret is read from the environment \
                 variable {var} each time it is used.",
                added.environment
            ));
            if !secret_env::is_set(var) {
                ctx.out.warn(format!("{var} is not set in this shell; set it wherever the credential is used"));
            }
        }
        None => ctx.out.info(format!(
            "Added credential {id} for {label} in environment {}; its secret is in {}.{}",
            added.environment, added.location, added.lifetime_note
        )),
    }
    if let Some(setting) = &added.tls {
        ctx.out.info(format!("{}.", tls::describe_setting(setting)));
    }
    for record in &added.overridden {
        ctx.out.info(format!(
            "Credential {} is now overridden: {id} was added later for the same address.",
            describe(record)
        ));
    }
    Ok(())
}
