//! The selection rule: the most specific matching scope wins, and among equals the most
//! recently added active credential (rules 5, 6 and 10 of PRODUCT.md §2).

use std::collections::HashMap;

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
    Overridden {
        /// The chosen credential.
        by: u64,
    },
    /// Matches, but a credential with a more specific scope wins.
    LessSpecific {
        /// The chosen credential.
        than: u64,
    },
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
    Overridden {
        /// The most recently added active credential with the same scope.
        by: u64,
    },
    /// Deactivated.
    Inactive,
}

/// The index of the winning candidate: active, matching, the most specific scope, then the
/// highest sequence; on a complete tie the first in input order.
fn best_index(candidates: &[Candidate<'_>], reference: &Reference) -> Option<usize> {
    let mut best: Option<(usize, usize, u64)> = None;
    for (index, candidate) in candidates.iter().enumerate() {
        if !candidate.active || !candidate.scope.matches(reference) {
            continue;
        }
        let key = (candidate.scope.specificity(), candidate.sequence);
        if best.is_none_or(|(_, specificity, sequence)| key > (specificity, sequence)) {
            best = Some((index, key.0, key.1));
        }
    }
    best.map(|(index, _, _)| index)
}

/// Picks the credential for `reference` and explains every candidate of its registry.
///
/// Candidates whose scope names another registry get no verdict. For the others, in input
/// order: [`Verdict::Chosen`] for the winner; [`Verdict::ScopeMismatch`] when the path scope
/// does not cover the repository (whether active or not); [`Verdict::Inactive`];
/// [`Verdict::Overridden`] for an active one with the winner's scope but added earlier;
/// [`Verdict::LessSpecific`] for an active one with a shorter matching scope.
///
/// ```
/// use regcred_core::{Candidate, Reference, Scope, Verdict, select};
///
/// let org = Scope::parse("quay.io/acme").unwrap();
/// let registry = Scope::parse("quay").unwrap();
/// let candidates = [
///     Candidate { id: 1, scope: &org, sequence: 1, active: true },
///     Candidate { id: 2, scope: &registry, sequence: 2, active: true },
/// ];
/// let selection = select(&candidates, &Reference::parse("quay.io/acme/app").unwrap());
/// assert_eq!(selection.chosen, Some(1));
/// assert_eq!(selection.verdicts, [(1, Verdict::Chosen), (2, Verdict::LessSpecific { than: 1 })]);
/// ```
pub fn select(candidates: &[Candidate<'_>], reference: &Reference) -> Selection {
    let best = best_index(candidates, reference);
    let winner = best.map(|index| (candidates[index].id, candidates[index].scope.specificity()));
    let repository = reference.repository();
    let verdicts = candidates
        .iter()
        .enumerate()
        .filter(|(_, candidate)| candidate.scope.address() == reference.registry_address())
        .map(|(index, candidate)| {
            let verdict = if Some(index) == best {
                Verdict::Chosen
            } else if !candidate.scope.covers(repository) {
                Verdict::ScopeMismatch
            } else if !candidate.active {
                Verdict::Inactive
            } else {
                match winner {
                    // An active matching candidate that lost: the winner is at least as
                    // specific, and on equal specificity it has the same scope.
                    Some((id, specificity)) if candidate.scope.specificity() == specificity => {
                        Verdict::Overridden { by: id }
                    }
                    Some((id, _)) => Verdict::LessSpecific { than: id },
                    // Unreachable: an active matching candidate means there is a winner.
                    None => Verdict::Inactive,
                }
            };
            (candidate.id, verdict)
        })
        .collect();
    Selection { chosen: winner.map(|(id, _)| id), verdicts }
}

/// Only the chosen id, without building verdicts (the hot path of `resolve` and `get`):
/// one pass, no allocation, always the same answer as `select(…).chosen`.
pub fn select_chosen(candidates: &[Candidate<'_>], reference: &Reference) -> Option<u64> {
    best_index(candidates, reference).map(|index| candidates[index].id)
}

/// The status of every candidate, in input order.
///
/// [`Status::Inactive`] when deactivated; [`Status::Overridden`] when an active candidate
/// with an equal scope has a higher sequence (`by` is the one with the highest);
/// [`Status::Active`] otherwise. Linear time: one pass builds a map from scope to its most
/// recent active candidate.
pub fn statuses(candidates: &[Candidate<'_>]) -> Vec<Status> {
    let mut newest: HashMap<&Scope, (u64, u64)> = HashMap::with_capacity(candidates.len());
    for candidate in candidates.iter().filter(|c| c.active) {
        newest
            .entry(candidate.scope)
            .and_modify(|(sequence, id)| {
                if candidate.sequence > *sequence {
                    (*sequence, *id) = (candidate.sequence, candidate.id);
                }
            })
            .or_insert((candidate.sequence, candidate.id));
    }
    candidates
        .iter()
        .map(|candidate| {
            if !candidate.active {
                return Status::Inactive;
            }
            match newest.get(candidate.scope) {
                Some(&(sequence, id)) if sequence > candidate.sequence => Status::Overridden { by: id },
                _ => Status::Active,
            }
        })
        .collect()
}
