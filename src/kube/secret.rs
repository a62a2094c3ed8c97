//! The names of the Secrets `regcred kube` makes: a credential's own name, else
//! `regcred-<slug of its address>` (PRODUCT.md §9).

/// The Secret name for a credential: its name when it has one (already a DNS label), else
/// `regcred-` and its address lower-cased with every run of characters outside `[a-z0-9]`
/// made one `-` (`regcred-docker-io`, `regcred-127-0-0-1-5000`, `regcred-ghcr-io-acme`).
/// A run at either end of the address is dropped, as a DNS name cannot end in `-`.
pub fn secret_name(name: Option<&str>, address: &str) -> String {
    if let Some(name) = name {
        return name.to_owned();
    }
    let mut slug = String::with_capacity(address.len());
    for c in address.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    format!("regcred-{slug}")
}

#[cfg(test)]
mod tests {
    use super::secret_name;

    #[test]
    fn names_follow_the_contract() {
        assert_eq!(secret_name(None, "docker.io"), "regcred-docker-io");
        assert_eq!(secret_name(None, "127.0.0.1:5000"), "regcred-127-0-0-1-5000");
        assert_eq!(secret_name(None, "ghcr.io/acme"), "regcred-ghcr-io-acme");
        assert_eq!(secret_name(None, "[fd00::1]:5000"), "regcred-fd00-1-5000");
        assert_eq!(secret_name(None, "Registry.Example.com/a__b"), "regcred-registry-example-com-a-b");
        assert_eq!(secret_name(Some("ghcr-bob"), "ghcr.io"), "ghcr-bob");
    }
}
