//! `regcred verify`: the registry v2 handshake with the credential that would be used, as
//! `docker login` does it without the daemon; and the same check for `add --verify` and
//! `edit --verify`. The only commands that reach the network.

use regcred_core::{Reference, RegistryAddress, Scope};

use crate::cli::VerifyArgs;
use crate::commands::{describe, select};
use crate::context::{Context, EnvCredentials};
use crate::exit::{ExitCode, Failure, input_error};
use crate::output::{CredentialView, Verification};
use crate::registry::{self, Check, Login, RegistryError, Report, Trust, Trusts, Verdict};
use crate::secrets::Secret;
use crate::store::{Credential, Registries, TlsSetting};

pub fn run(args: VerifyArgs, ctx: &Context) -> Result<(), Failure> {
    let registries = ctx.store.load()?;
    let environment = ctx.environment(&registries)?;
    let (credential, reference) = target(&registries, &environment, &args.target)?;
    let address = registry_address(credential)?;
    let secret = crate::context::secret_of(ctx, &registries.store_id, credential)?;
    let trusts = trusts(&registries, &environment)?;
    let reference_part = reference.as_ref().map(|r| r.digest().or(r.tag()).unwrap_or("latest"));
    let check = Check {
        address: &address,
        image: reference.as_ref().zip(reference_part).map(|(r, part)| (r.repository(), part)),
        login: Login { username: &credential.username, secret: &secret },
    };
    let outcome = registry::verify(&check, &trusts);

    let status = EnvCredentials::new(&registries, &environment)?.status_of(credential.id);
    let view = Verification {
        target: &args.target,
        environment: &environment,
        registry: address.as_str(),
        image: reference.as_ref().map(Reference::canonical),
        credential: CredentialView {
            credential,
            status: status.unwrap_or(regcred_core::Status::Active),
            password: None,
        },
        trust: trust_word(&trusts.get(address.as_str())),
        outcome: &outcome,
    };
    ctx.out.verification(&view, ctx.out.format(args.output));
    match outcome {
        Ok(report) => match report.verdict {
            Verdict::Valid | Verdict::NotRequired => Ok(()),
            Verdict::Rejected(why) => Err(rejected(&address, &format!("credential {}", describe(credential)), &why)
                .hint(format!(
                    "check the username and the password (or token) and its permissions; re-enter them with: regcred edit {} --password-stdin",
                    credential.id
                ))),
        },
        Err(error) => Err(registry_failure(&error)),
    }
}

/// The check behind `add --verify` and `edit --verify`: Ok when the registry accepts the
/// credential (or asks for none), exit 5 when it rejects it, exit 1 when it cannot be asked.
pub fn check_before_storing(
    ctx: &Context,
    trusts: &Trusts,
    address: &RegistryAddress,
    username: &str,
    secret: &Secret,
) -> Result<Report, Failure> {
    let check = Check { address, image: None, login: Login { username, secret } };
    let report = registry::verify(&check, trusts).map_err(|e| {
        let failure = registry_failure(&e);
        Failure { message: format!("{}; nothing was stored", failure.message), ..failure }
    })?;
    match &report.verdict {
        Verdict::Valid => {
            ctx.out.info(format!("Verified: {address} accepts {username}: {}.", crate::output::how_words(&report)));
        }
        Verdict::NotRequired => ctx.out.warn(format!(
            "{address} asks for no credential ({} answered without one), so {username}'s could not be checked",
            report.url
        )),
        Verdict::Rejected(why) => {
            let failure = rejected(address, username, why);
            return Err(Failure { message: format!("{}; nothing was stored", failure.message), ..failure });
        }
    }
    Ok(report)
}

fn rejected(address: &RegistryAddress, who: &str, why: &str) -> Failure {
    Failure::new(ExitCode::Rejected, format!("{address} rejected {who}: {why}"))
        .hint("check the username and the password (or token) and its permissions, then try again")
}

/// The error and hint for a registry that could not be asked (exit 1): which of network,
/// TLS or HTTP failed, and what to do about it.
pub fn registry_failure(error: &RegistryError) -> Failure {
    let hint = match error {
        RegistryError::Untrusted { address, .. } => Some(format!(
            "if you trust this registry, pin the certificate it presents with `regcred tls fetch {address}` \
             (compare the fingerprint), or trust its CA with `regcred tls set {address} --ca-cert FILE`"
        )),
        RegistryError::InvalidCertificate { address, .. } => Some(format!(
            "see what it presents with `regcred tls fetch {address}` (nothing is pinned without confirmation); \
             the registry's certificate must be current and name the address used"
        )),
        RegistryError::NotTls { address, .. } => {
            Some(format!("if the registry serves plain HTTP, mark it insecure: regcred tls set {address} --insecure"))
        }
        RegistryError::Tls { .. } => None,
        RegistryError::Dns { .. } => Some("check the host name of the address".into()),
        RegistryError::Refused { .. } => Some("check the port, and that the registry is running".into()),
        RegistryError::Timeout { .. } | RegistryError::Connect { .. } => {
            Some("check the network path to the registry (firewall; HTTPS_PROXY and NO_PROXY)".into())
        }
        RegistryError::Protocol { .. } => {
            Some("is this a container registry? it must serve the registry HTTP API v2 at /v2/".into())
        }
    };
    Failure::operational(error.to_string()).maybe_hint(hint)
}

/// The trust of every registry with a TLS setting in `environment`.
pub fn trusts(registries: &Registries, environment: &str) -> Result<Trusts, Failure> {
    let mut trusts = Trusts::default();
    for setting in registries.tls_in(environment) {
        trusts.insert(setting.address.clone(), trust_of(setting)?);
    }
    Ok(trusts)
}

pub fn trust_of(setting: &TlsSetting) -> Result<Trust, Failure> {
    if setting.insecure {
        return Ok(Trust::Insecure);
    }
    match &setting.ca_cert {
        None => Ok(Trust::System),
        Some(pem) => registry::certificates_from_pem(pem).map(Trust::Pinned).map_err(|e| {
            Failure::operational(format!("the CA certificate stored for {} cannot be used: {e}", setting.address)).hint(
                format!("replace it: regcred tls fetch {0}, or regcred tls set {0} --ca-cert FILE", setting.address),
            )
        }),
    }
}

fn trust_word(trust: &Trust) -> &'static str {
    match trust {
        Trust::System => "system",
        Trust::Pinned(_) => "pinned",
        Trust::Insecure => "insecure",
    }
}

/// The registry of a credential (its address without the scope path).
fn registry_address(credential: &Credential) -> Result<RegistryAddress, Failure> {
    Scope::parse(&credential.address)
        .map(|s| s.address().clone())
        .map_err(|e| Failure::operational(format!("credential {} in the store has a bad address: {e}", credential.id)))
}

/// What `verify`'s argument means: a credential (id, name, address), or else an image
/// whose pull credential is checked together with its repository.
fn target<'a>(
    registries: &'a Registries,
    environment: &'a str,
    input: &str,
) -> Result<(&'a Credential, Option<Reference>), Failure> {
    let selected = select(registries, environment, input);
    let input = input.trim();
    let plainly_a_selector = input.chars().all(|c| c.is_ascii_digit())
        || (!input.contains('/')
            && RegistryAddress::parse(input).is_ok()
            && (input.contains('.') || input.contains(':') || input.eq_ignore_ascii_case("localhost")));
    match selected {
        Ok(credential) => return Ok((credential, None)),
        Err(failure) if plainly_a_selector => return Err(failure),
        Err(_) => {}
    }
    let reference = Reference::parse(input).map_err(|e| {
        input_error!("{input:?} is neither a credential (id, name or address) nor an image reference: {e}")
            .hint("see the credentials with: regcred list")
    })?;
    let env_credentials = EnvCredentials::new(registries, environment)?;
    let chosen =
        regcred_core::select_chosen(&env_credentials.candidates(), &reference).and_then(|id| registries.credential(id));
    match chosen {
        Some(credential) => Ok((credential, Some(reference))),
        None => Err(input_error!(
            "no active credential in environment {environment:?} would be used to pull {}",
            reference.canonical()
        )
        .hint(format!("add one with: regcred add {} -u USER", reference.registry()))),
    }
}
