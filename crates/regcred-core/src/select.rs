//! The selection rule: the most specific matching scope wins, and among equals the most
//! recently added active credential (rules 5, 6 and 10 of PRODUCT.md §2).

use crate::{Reference, Scope};

/// One credential as the selection rule sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The credential id.
    pub id: u64,
    /// Where it applies.
    pub scope: &'a Scope,
    /// Addition sequence: larger is more recent.
    pub sequence: u64,
    /// Deactivated credentials are never chosen.
    pub active: bool,
}

/// Why a candidate was or was not chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// This is the credential a pull would use.
    Chosen,
    /// Deactivated.
    Inactive,
    /// Active with the same scope, but a more recently added one wins.
    Overridden { by: u64 },
    /// Matches, but a credential with a more specific scope wins.
    LessSpecific { than: u64 },
    /// Same registry, but its path scope does not cover the repository.
    ScopeMismatch,
}

/// The outcome of [`select`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The chosen credential id, if any.
    pub chosen: Option<u64>,
    /// A verdict for every candidate of the reference's registry, in input order.
    pub verdicts: Vec<(u64, Verdict)>,
}

/// The status `list` shows for a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Would be chosen for its own scope.
    Active,
    /// Active, but a more recently added active credential has the same scope.
    Overridden { by: u64 },
    /// Deactivated.
    Inactive,
}

/// Picks the credential for `reference` and explains every candidate of its registry.
pub fn select(candidates: &[Candidate<'_>], reference: &Reference) -> Selection {
    todo!("{candidates:?} {reference}")
}

/// Only the chosen id, without building verdicts (the hot path of `resolve` and `get`).
pub fn select_chosen(candidates: &[Candidate<'_>], reference: &Reference) -> Option<u64> {
    todo!("{candidates:?} {reference}")
}

/// The status of every candidate, in input order.
pub fn statuses(candidates: &[Candidate<'_>]) -> Vec<Status> {
    todo!("{candidates:?}")
}
