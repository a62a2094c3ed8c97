//! `regcred add`: secret first, metadata second, and the secret undone if the metadata
//! cannot be written. With `--verify` the registry is asked first, and a rejected
//! credential is never stored.

use regcred_core::{RegistryAddress, Scope, validate_name};

use crate::cli::AddArgs;
use crate::commands::{describe, tls, verify};
use crate::context::{Context, secret_failure, secret_key};
use crate::exit::{Failure, input_error};
use crate::prompt;
use crate::store::{NewCredential, Registries};

pub fn run(args: AddArgs, ctx: &Context) -> Result<(), Failure> {
    let scope = match &args.address {
        Some(address) => Scope::parse(address).map_err(|e| input_error!("{e}"))?,
        None => Scope::from_address(RegistryAddress::docker_hub()),
    };
    let address = scope.to_string();
    check_username(&args.username)?;
    let email = check_email(args.email.as_deref())?;
    if let Some(name) = &args.name {
        validate_name("credential name", name).map_err(|e| input_error!("{e}"))?;
    }
    let label = format!("{} @ {address}", args.username);
    let ca_cert = args.ca_cert.as_deref().map(tls::read_ca_file).transpose()?;

    let from_env = args.password.secret_from_env.clone();
    if let Some(var) = &from_env {
        crate::secret_env::check_name(var)?;
    }
    let prompting = !args.password.password_stdin && args.password.password_env.is_none() && from_env.is_none();
    if prompting {
        // Say what is wrong before asking for a password that would be thrown away.
        let registries = ctx.store.load()?;
        let environment = ctx.environment(&registries)?;
        check_name_free(&registries, &environment, args.name.as_deref())?;
    }
    // With --secret-from-env nothing is stored; the variable is read here only to verify.
    let secret = match &from_env {
        None => Some(prompt::password(&args.password, &label)?),
        Some(_) => None,
    };

    if args.verify {
        // Asked without holding the lock: the registry may take seconds to answer.
        let registries = ctx.store.load()?;
        let environment = ctx.environment(&registries)?;
        check_name_free(&registries, &environment, args.name.as_deref())?;
        let mut trusts = verify::trusts(&registries, &environment)?;
        if let Some(setting) = tls_setting(&args, &environment, scope.address(), &ca_cert) {
            trusts.insert(setting.address.clone(), verify::trust_of(&setting)?);
        }
        let from_variable;
        let secret = match &secret {
            Some(secret) => secret,
            None => {
                from_variable = prompt::password(&from_env_args(from_env.as_deref().unwrap_or_default()), &label)?;
                &from_variable
            }
        };
        verify::check_before_storing(ctx, &trusts, scope.address(), &args.username, secret)?;
    }

    let lock = ctx.store.lock()?;
    let mut registries = ctx.store.load()?;
    let environment = ctx.environment(&registries)?;
    check_name_free(&registries, &environment, args.name.as_deref())?;
    let tls_change = tls_setting(&args, &environment, scope.address(), &ca_cert);
    if let Some(setting) = &tls_change {
        registries.set_tls(setting.clone());
    }
    let mut credential = registries.new_credential(NewCredential {
        environment: environment.clone(),
        name: args.name.clone(),
        address,
        username: args.username.clone(),
        email,
        secret_store: ctx.secret_store,
    });
    credential.secret_env = from_env.clone();
    let id = credential.id;
    let secrets = ctx.secrets(ctx.secret_store);
    if let Some(secret) = &secret {
        secrets.set(&secret_key(&registries.store_id, &credential), secret).map_err(secret_failure)?;
    }
    registries.credentials.push(credential);
    if let Err(failure) = ctx.store.save(&registries, &lock) {
        if let Some(credential) = registries.credentials.pop()
            && secret.is_some()
        {
            let _ = secrets.delete(&secret_key(&registries.store_id, &credential));
        }
        return Err(failure);
    }
    drop(lock);

    ctx.out.data(&format!("{id}\n"));
    match &from_env {
        Some(var) => {
            ctx.out.info(format!(
                "Added credential {id} for {label} in environment {environment}; its secret is read from the \
                 environment variable {var} each time it is used."
            ));
            if !crate::secret_env::is_set(var) {
                ctx.out.warn(format!("{var} is not set in this shell; set it wherever the credential is used"));
            }
        }
        None => ctx.out.info(format!(
            "Added credential {id} for {label} in environment {environment}; its secret is in {}.{}",
            secrets.location(),
            secrets.lifetime_note()
        )),
    }
    if let Some(setting) = &tls_change {
        ctx.out.info(format!("{}.", tls::describe_setting(setting)));
    }
    // The newest credential for an address overrides every other active one with exactly
    // that address (rule 5); comparing the canonical text spares parsing every scope.
    let added = registries.credential(id).map(|c| c.address.as_str()).unwrap_or_default();
    for record in registries.credentials_in(&environment).filter(|c| c.id != id && c.active && c.address == added) {
        ctx.out.info(format!(
            "Credential {} is now overridden: {id} was added later for the same address.",
            describe(record)
        ));
    }
    Ok(())
}

/// Password options that read `var`, to get the secret of `--secret-from-env` for `--verify`.
fn from_env_args(var: &str) -> crate::cli::PasswordArgs {
    crate::cli::PasswordArgs { password_stdin: false, password_env: Some(var.to_owned()), secret_from_env: None }
}

/// The TLS setting `--insecure` or `--ca-cert` asks for, if any.
fn tls_setting(
    args: &AddArgs,
    environment: &str,
    address: &regcred_core::RegistryAddress,
    ca_cert: &Option<String>,
) -> Option<crate::store::TlsSetting> {
    (args.insecure || ca_cert.is_some()).then(|| tls::setting(environment, address, args.insecure, ca_cert.clone()))
}

fn check_name_free(registries: &Registries, environment: &str, name: Option<&str>) -> Result<(), Failure> {
    let Some(name) = name else { return Ok(()) };
    match registries.credentials_in(environment).find(|c| c.name.as_deref() == Some(name)) {
        Some(taken) => Err(input_error!(
            "the name {name:?} is already used by credential {} in environment {environment:?}",
            taken.id
        )
        .hint("choose another name, or rename the other one with: regcred edit ID --name NEW")),
        None => Ok(()),
    }
}

/// A username must be usable in HTTP Basic authentication.
pub fn check_username(username: &str) -> Result<(), Failure> {
    if username.is_empty() {
        return Err(input_error!("the username is empty").hint("give it with -u USER"));
    }
    if username.contains(':') {
        return Err(input_error!(
            "the username {username:?} contains ':', which registries cannot accept (HTTP Basic authentication)"
        ));
    }
    if username.chars().any(char::is_control) || username.trim() != username {
        return Err(input_error!("the username {username:?} has spaces at its ends or control characters"));
    }
    Ok(())
}

/// An empty e-mail means none; anything else must look like an address.
pub fn check_email(email: Option<&str>) -> Result<Option<String>, Failure> {
    match email {
        None | Some("") => Ok(None),
        Some(e)
            if e.contains('@')
                && !e.starts_with('@')
                && !e.ends_with('@')
                && !e.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(Some(e.to_owned()))
        }
        Some(e) => {
            Err(input_error!("{e:?} is not an e-mail address")
                .hint("use the form name@example.com, or leave --email out"))
        }
    }
}
