//! What a client's login (`store`) and logout (`erase`) change among the credentials of one
//! registry address: pure decisions over the credentials of that address, which the
//! vault's helper operations apply to the store (PRODUCT.md §6, rules 5 and 6 of §2).

use time::OffsetDateTime;

use super::secrets::SecretStoreKind;
use super::store::Credential;

/// One credential for the address as these rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Held {
    pub(crate) id: u64,
    /// Addition sequence: larger is more recent.
    pub(crate) sequence: u64,
    pub(crate) active: bool,
}

impl From<&Credential> for Held {
    fn from(c: &Credential) -> Self {
        Held { id: c.id, sequence: c.sequence, active: c.active }
    }
}

/// What a logout changes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Erasure {
    /// The credential `get` would have returned: deleted with its secret.
    pub(crate) delete: Option<u64>,
    /// The other active credentials, each of which would take over in turn: deactivated, so
    /// their secrets are kept (a logout must not destroy what `deactivate` promised to keep).
    pub(crate) deactivate: Vec<u64>,
}

impl Erasure {
    /// Nothing to erase: no credential of the address is in use. Not an error (podman treats
    /// a failed `erase` as fatal).
    pub(crate) fn is_empty(&self) -> bool {
        self.delete.is_none() && self.deactivate.is_empty()
    }
}

/// The logout rule for the registry-wide credentials of one address: the newest active one is
/// deleted, every other active one is deactivated, inactive ones are left as they are. After
/// it, no credential of the address is active, so `get` answers not found.
pub(crate) fn erasure(held: &[Held]) -> Erasure {
    let Some(newest) = held.iter().filter(|h| h.active).max_by_key(|h| h.sequence) else {
        return Erasure::default();
    };
    Erasure {
        delete: Some(newest.id),
        deactivate: held.iter().filter(|h| h.active && h.id != newest.id).map(|h| h.id).collect(),
    }
}

/// What a login with a username that the address already has changes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Relogin {
    /// The credential that is added again (it keeps its id and name): the most recent one.
    pub(crate) readd: Option<u64>,
    /// Older duplicates with the same username, dropped.
    pub(crate) drop: Vec<u64>,
}

/// The re-login rule for the credentials of one address with the login's username.
pub(crate) fn relogin(same_user: &[Held]) -> Relogin {
    let Some(newest) = same_user.iter().max_by_key(|h| h.sequence) else {
        return Relogin::default();
    };
    Relogin { readd: Some(newest.id), drop: same_user.iter().filter(|h| h.id != newest.id).map(|h| h.id).collect() }
}

/// A login replacing `old` is a re-addition: it takes the new `sequence` and is added `now`,
/// so `list`, `--explain` ("added later") and JSON `added` all agree on the order the
/// selection rule uses. It is active again and keeps its id, name and e-mail; its secret is
/// the one the login gave, kept in `secret_store` (no longer read from a variable).
pub(crate) fn readded(
    old: &Credential,
    sequence: u64,
    now: OffsetDateTime,
    secret_store: SecretStoreKind,
) -> Credential {
    Credential { sequence, active: true, added: now, updated: now, secret_store, secret_env: None, ..old.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(id: u64, sequence: u64, active: bool) -> Held {
        Held { id, sequence, active }
    }

    #[test]
    fn erase_deletes_the_one_in_use_and_deactivates_those_that_would_take_over() {
        // bob (active, newest), alice (overridden), mallory (deactivated).
        let plan = erasure(&[held(1, 1, true), held(2, 3, true), held(3, 2, false)]);
        assert_eq!(plan, Erasure { delete: Some(2), deactivate: vec![1] });
    }

    #[test]
    fn erase_with_nothing_active_changes_nothing() {
        assert!(erasure(&[]).is_empty());
        assert!(erasure(&[held(3, 2, false)]).is_empty());
    }

    #[test]
    fn erase_of_a_single_active_credential_deletes_it() {
        assert_eq!(erasure(&[held(7, 9, true)]), Erasure { delete: Some(7), deactivate: vec![] });
    }

    #[test]
    fn a_readded_credential_is_new_active_and_keeps_who_it_is() {
        let day = |d: u8| time::Date::from_calendar_date(2026, time::Month::March, d).unwrap().midnight().assume_utc();
        let old = Credential {
            id: 7,
            environment: "staging".into(),
            name: Some("hub-bob".into()),
            address: "docker.io".into(),
            username: "bob".into(),
            email: Some("bob@example.com".into()),
            active: false,
            sequence: 3,
            secret_store: SecretStoreKind::Keyring,
            secret_env: Some("BOB_TOKEN".into()),
            added: day(1),
            updated: day(2),
        };
        let new = readded(&old, 12, day(9), SecretStoreKind::File);
        // Added again now, with the new sequence, active, its secret in the login's store
        // and no longer read from a variable.
        assert_eq!((new.sequence, new.added, new.updated), (12, day(9), day(9)));
        assert!(new.active);
        assert_eq!(new.secret_store, SecretStoreKind::File);
        assert_eq!(new.secret_env, None);
        // Still the same credential: id, environment, name, address, username, e-mail.
        assert_eq!(
            (new.id, &*new.environment, new.name.as_deref(), &*new.address, &*new.username, new.email.as_deref()),
            (7, "staging", Some("hub-bob"), "docker.io", "bob", Some("bob@example.com"))
        );
    }

    #[test]
    fn relogin_readds_the_newest_and_drops_older_duplicates() {
        assert_eq!(relogin(&[]), Relogin::default());
        assert_eq!(relogin(&[held(4, 8, false), held(2, 3, true)]), Relogin { readd: Some(4), drop: vec![2] });
    }
}
