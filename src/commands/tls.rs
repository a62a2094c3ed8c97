//! `regcred tls`: the TLS settings of an environment's registries (insecure, or trusting a
//! CA or a pinned self-signed certificate), pinning what a registry presents, and writing
//! the trusted certificates in the certs.d layout docker and the containers tools read.

use std::fs;
use std::path::Path;

use regcred_core::RegistryAddress;
use time::OffsetDateTime;

use crate::cli::{TlsAddressArgs, TlsCommand, TlsFetchArgs, TlsInstallArgs, TlsSetArgs, TlsShowArgs};
use crate::commands::verify::registry_failure;
use crate::context::Context;
use crate::exit::{Failure, input_error};
use crate::prompt;
use crate::registry::{self, CertificateInfo, PemError, PinnedSetting};
use crate::store::{TlsSetting, now};
use crate::vault::fs::{PrivateFile, ensure_public_dir};

mod view;
use view::TlsView;

pub fn run(command: TlsCommand, ctx: &Context) -> Result<(), Failure> {
    match command {
        TlsCommand::Set(args) => set(args, ctx),
        TlsCommand::Unset(args) => unset(args, ctx),
        TlsCommand::Show(args) => show(args, ctx),
        TlsCommand::Fetch(args) => fetch(args, ctx),
        TlsCommand::Install(args) => install(args, ctx),
    }
}

/// A registry address as TLS settings take it: `host[:port]`, never a scope.
pub fn parse_address(input: &str) -> Result<RegistryAddress, Failure> {
    RegistryAddress::parse(input).map_err(|e| input_error!("{e}"))
}

/// The certificates of a PEM file, rewritten as openssl writes PEM (so the store holds
/// certificates and nothing else). Each must be valid now: an expired CA is refused here,
/// where it would be trusted.
pub fn read_ca_file(path: &Path) -> Result<String, Failure> {
    let text = fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("cannot read the CA certificate {}: {e}", path.display())))?;
    let certs = registry::current_certificates_from_pem(&text, OffsetDateTime::now_utc()).map_err(|e| {
        let hint = match e {
            PemError::Expired { .. } | PemError::NotYetValid { .. } => {
                "use the CA's current certificate (a renewed CA certificate keeps its name and key)"
            }
            _ => "give the PEM file of the CA that issued the registry's certificate, or pin what the registry presents with `regcred tls fetch ADDRESS`",
        };
        input_error!("{} cannot be used as a CA certificate: {e}", path.display()).hint(hint)
    })?;
    Ok(registry::to_pem(&certs))
}

/// The setting `add --insecure` / `add --ca-cert` and `tls set` store.
pub fn setting(environment: &str, address: &RegistryAddress, insecure: bool, ca_cert: Option<String>) -> TlsSetting {
    TlsSetting { environment: environment.to_owned(), address: address.to_string(), insecure, ca_cert, updated: now() }
}

/// What a setting means, for the messages of `set` and `add`.
pub fn describe_setting(setting: &TlsSetting) -> String {
    if setting.insecure {
        format!(
            "{} is insecure in environment {}: HTTPS without certificate checks, then plain HTTP",
            setting.address, setting.environment
        )
    } else {
        let certs = certificates(setting);
        let names: Vec<String> = certs.iter().map(|c| format!("{} (SHA-256 {})", c.subject, c.sha256)).collect();
        format!(
            "{} in environment {} trusts {} besides the system's CA certificates",
            setting.address,
            setting.environment,
            names.join(", ")
        )
    }
}

fn certificates(setting: &TlsSetting) -> Vec<CertificateInfo> {
    let Some(pem) = &setting.ca_cert else { return Vec::new() };
    registry::certificates_from_pem(pem)
        .map(|certs| certs.iter().filter_map(|c| CertificateInfo::parse(c).ok()).collect())
        .unwrap_or_default()
}

/// Pinned certificates of `settings` that are expired, not yet valid, or expire within
/// [`registry::EXPIRY_WARNING`]: for `tls show` and `doctor`.
pub fn pin_findings<'a>(settings: impl IntoIterator<Item = &'a TlsSetting>) -> Vec<registry::PinFinding> {
    let pinned = settings.into_iter().filter_map(|t| {
        let pem = t.ca_cert.as_deref()?;
        Some(PinnedSetting { environment: &t.environment, address: &t.address, pem })
    });
    registry::pin_findings(pinned, OffsetDateTime::now_utc())
}

fn set(args: TlsSetArgs, ctx: &Context) -> Result<(), Failure> {
    let address = parse_address(&args.address)?;
    let ca_cert = args.ca_cert.as_deref().map(read_ca_file).transpose()?;
    let mut tx = ctx.store.transaction()?;
    let environment = ctx.environment(&tx)?;
    let setting = setting(&environment, &address, args.insecure, ca_cert);
    let message = describe_setting(&setting);
    tx.set_tls(setting);
    tx.commit()?;
    ctx.out.info(format!("{message}."));
    if args.insecure {
        ctx.out.info(
            "docker and podman need to be told too: see `regcred export docker-daemon` and `regcred export registries-conf`.",
        );
    } else {
        ctx.out.info("docker and podman read CA certificates from certs.d: see `regcred tls install`.");
    }
    Ok(())
}

fn unset(args: TlsAddressArgs, ctx: &Context) -> Result<(), Failure> {
    let address = parse_address(&args.address)?;
    let mut tx = ctx.store.transaction()?;
    let environment = ctx.environment(&tx)?;
    if !tx.unset_tls(&environment, address.as_str()) {
        return Err(input_error!("{address} has no TLS setting in environment {environment:?}")
            .hint("see them with: regcred tls show"));
    }
    tx.commit()?;
    ctx.out.info(format!(
        "Removed the TLS setting of {address} in environment {environment}: it is verified against the system's CA certificates again."
    ));
    Ok(())
}

fn show(args: TlsShowArgs, ctx: &Context) -> Result<(), Failure> {
    let address = args.address.as_deref().map(parse_address).transpose()?;
    let registries = ctx.store.load()?;
    let environment = ctx.environment(&registries)?;
    let views: Vec<TlsView<'_>> = registries
        .tls_in(&environment)
        .filter(|t| address.as_ref().is_none_or(|a| a.as_str() == t.address))
        .map(|setting| TlsView { setting, certificates: certificates(setting) })
        .collect();
    if let Some(address) = &address
        && views.is_empty()
    {
        let elsewhere: Vec<&str> =
            registries.tls.iter().filter(|t| t.address == address.as_str()).map(|t| t.environment.as_str()).collect();
        let hint = match elsewhere.first() {
            Some(first) => format!(
                "environment {} has one (TLS settings belong to one environment): see it with \
                 `regcred -e {first} tls show {address}`; pin it here with: regcred tls fetch {address}",
                elsewhere.join(", ")
            ),
            None => format!("pin what it presents with: regcred tls fetch {address}"),
        };
        return Err(input_error!(
            "{address} has no TLS setting in environment {environment:?}: it is verified against the system's CA certificates"
        )
        .hint(hint));
    }
    view::print_settings(&ctx.out, &views, ctx.out.format(args.output), address.is_some())?;
    for finding in pin_findings(views.iter().map(|v| v.setting)) {
        ctx.out.warn(finding.to_string());
    }
    Ok(())
}

fn fetch(args: TlsFetchArgs, ctx: &Context) -> Result<(), Failure> {
    let address = parse_address(&args.address)?;
    // Say what is wrong with the environment before connecting anywhere.
    let environment = ctx.environment(&ctx.store.load()?)?;
    let presented = registry::presented_chain(&address).map_err(|e| registry_failure(&e))?;
    view::print_chain(&ctx.out, address.as_str(), &presented.chain, ctx.out.format(args.output))?;
    if presented.trusted_by_system {
        ctx.out.info(format!(
            "The system's CA certificates already trust {address}; nothing to pin. Check a credential with: regcred verify {address}"
        ));
        return Ok(());
    }
    // The topmost certificate presented: the self-signed certificate itself, or the CA
    // (or intermediate) that issued the server's.
    let Some(anchor) = presented.chain.last() else {
        return Err(Failure::operational(format!("{address} presented no certificate")));
    };
    // Pinning a certificate outside its validity would trust nothing: verification
    // refuses it (and webpki would not check an anchor's dates, so regcred does).
    if !anchor.is_current(OffsetDateTime::now_utc()) {
        return Err(Failure::operational(format!(
            "{address} presents {} (SHA-256 {}), valid only from {} to {}: not pinned",
            anchor.subject,
            anchor.sha256,
            anchor.not_before.date(),
            anchor.not_after.date()
        ))
        .hint("the registry's administrator must renew its certificate; then run `regcred tls fetch` again"));
    }
    prompt::confirm(
        &format!("Trust {} (SHA-256 {}) for {address} in environment {environment}?", anchor.subject, anchor.sha256),
        args.yes,
    )?;

    let mut tx = ctx.store.transaction()?;
    let environment = ctx.environment(&tx)?;
    tx.set_tls(setting(&environment, &address, false, Some(registry::to_pem(std::slice::from_ref(&anchor.der)))));
    tx.commit()?;
    // One line per message: the shell escapes a newline inside one.
    ctx.out.info(format!(
        "Pinned {} (SHA-256 {}) as the CA of {address} in environment {environment}.",
        anchor.subject, anchor.sha256
    ));
    ctx.out.info(format!("Check a credential with: regcred verify {address}"));
    ctx.out.info("Let docker and podman trust it too with: regcred tls install --certs-dir /etc/docker/certs.d");
    Ok(())
}

fn install(args: TlsInstallArgs, ctx: &Context) -> Result<(), Failure> {
    let filters = args.registries.iter().map(|r| parse_address(r)).collect::<Result<Vec<_>, _>>()?;
    if let Some(failure) = crate::sudo::no_store_of_roots_own(&ctx.store.file(), "no certificate to install") {
        return Err(failure);
    }
    let registries = ctx.store.load()?;
    let environment = ctx.environment(&registries)?;
    let chosen: Vec<&TlsSetting> = registries
        .tls_in(&environment)
        .filter(|t| t.ca_cert.is_some())
        .filter(|t| filters.is_empty() || filters.iter().any(|f| f.as_str() == t.address))
        .collect();
    for filter in &filters {
        if !chosen.iter().any(|t| t.address == filter.as_str()) {
            ctx.out.warn(format!("{filter} has no trusted CA certificate in environment {environment}"));
        }
    }
    if chosen.is_empty() {
        // Nothing written is not a success: a script installing certificates must notice.
        return Err(Failure::operational(format!(
            "no trusted CA certificates to install in environment {environment}"
        ))
        .hint("add them with `regcred tls fetch ADDRESS` or `regcred tls set ADDRESS --ca-cert FILE`"));
    }
    // Addresses come from the store, which may have been edited by hand: each must be a
    // plain `host[:port]` before it is joined to --certs-dir (`../../x` or `/etc` must not).
    for setting in &chosen {
        if !parse_address(&setting.address).is_ok_and(|a| a.as_str() == setting.address) {
            return Err(Failure::operational(format!(
                "the TLS setting {:?} in environment {environment} is not a registry address; nothing was written under {}",
                regcred_core::escape(&setting.address),
                args.certs_dir.display()
            ))
            .hint("fix registries.toml by hand, or remove the setting with: regcred tls unset ADDRESS"));
        }
    }
    ensure_public_dir(&args.certs_dir, true)?;
    for setting in chosen {
        let Some(pem) = &setting.ca_cert else { continue };
        let dir = args.certs_dir.join(&setting.address);
        ensure_public_dir(&dir, false)?;
        let file = dir.join("ca.crt");
        PrivateFile::public(&file).replace(pem.as_bytes())?;
        ctx.out.info(format!("Wrote {}", file.display()));
    }
    Ok(())
}
