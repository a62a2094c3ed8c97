//! The selection rule: verdicts, specificity, most-recent-wins, hand-over, statuses.

use regcred_core::{Candidate, Reference, Scope, Selection, Status, Verdict, select, select_chosen, statuses};

fn scope(s: &str) -> Scope {
    Scope::parse(s).unwrap()
}

fn image(s: &str) -> Reference {
    Reference::parse(s).unwrap()
}

fn c(id: u64, scope: &Scope, sequence: u64, active: bool) -> Candidate<'_> {
    Candidate { id, scope, sequence, active }
}

fn check(candidates: &[Candidate<'_>], reference: &Reference) -> Selection {
    let selection = select(candidates, reference);
    assert_eq!(select_chosen(candidates, reference), selection.chosen);
    selection
}

#[test]
fn no_candidates_no_choice() {
    let selection = check(&[], &image("nginx"));
    assert_eq!(selection, Selection { chosen: None, verdicts: vec![] });
}

#[test]
fn most_recently_added_wins_and_older_ones_are_overridden() {
    let hub = scope("dockerhub");
    // Input order is not addition order: sequence decides.
    let candidates = [c(1, &hub, 3, true), c(2, &hub, 1, true), c(3, &hub, 2, true)];
    let selection = check(&candidates, &image("nginx"));
    assert_eq!(selection.chosen, Some(1));
    assert_eq!(
        selection.verdicts,
        [(1, Verdict::Chosen), (2, Verdict::Overridden { by: 1 }), (3, Verdict::Overridden { by: 1 })]
    );
}

#[test]
fn every_verdict() {
    let ghcr = scope("ghcr.io");
    let acme = scope("ghcr.io/acme");
    let acme_app = scope("ghcr.io/acme/app");
    let other = scope("ghcr.io/other");
    let quay = scope("quay.io");
    let candidates = [
        c(1, &ghcr, 1, true),     // less specific
        c(2, &acme, 2, true),     // overridden by the newer acme one
        c(3, &acme, 3, true),     // chosen
        c(4, &acme_app, 4, true), // does not cover acme/tool
        c(5, &acme, 5, false),    // inactive
        c(6, &other, 6, false),   // mismatch wins over inactive
        c(7, &quay, 7, true),     // other registry: no verdict
    ];
    let selection = check(&candidates, &image("ghcr.io/acme/tool:1"));
    assert_eq!(selection.chosen, Some(3));
    assert_eq!(
        selection.verdicts,
        [
            (1, Verdict::LessSpecific { than: 3 }),
            (2, Verdict::Overridden { by: 3 }),
            (3, Verdict::Chosen),
            (4, Verdict::ScopeMismatch),
            (5, Verdict::Inactive),
            (6, Verdict::ScopeMismatch),
        ]
    );
}

#[test]
fn specificity_beats_recency() {
    let ghcr = scope("ghcr.io");
    let acme = scope("ghcr.io/acme");
    let app = scope("ghcr.io/acme/app");
    let candidates = [c(1, &app, 1, true), c(2, &acme, 2, true), c(3, &ghcr, 3, true)];
    assert_eq!(check(&candidates, &image("ghcr.io/acme/app")).chosen, Some(1));
    assert_eq!(check(&candidates, &image("ghcr.io/acme/lib")).chosen, Some(2));
    assert_eq!(check(&candidates, &image("ghcr.io/acmeco/app")).chosen, Some(3));
    let selection = check(&candidates, &image("ghcr.io/acme/app/sub"));
    assert_eq!(
        selection.verdicts,
        [(1, Verdict::Chosen), (2, Verdict::LessSpecific { than: 1 }), (3, Verdict::LessSpecific { than: 1 })]
    );
}

#[test]
fn deactivation_hands_over_and_activation_takes_back() {
    let hub = scope("dockerhub");
    let mut candidates = vec![c(1, &hub, 1, true), c(2, &hub, 2, true), c(3, &hub, 3, true)];
    let nginx = image("nginx");
    assert_eq!(check(&candidates, &nginx).chosen, Some(3));
    candidates[2].active = false;
    assert_eq!(check(&candidates, &nginx).chosen, Some(2));
    candidates[1].active = false;
    assert_eq!(check(&candidates, &nginx).chosen, Some(1));
    candidates[0].active = false;
    let selection = check(&candidates, &nginx);
    assert_eq!(selection.chosen, None);
    assert!(selection.verdicts.iter().all(|(_, v)| *v == Verdict::Inactive));
    // Activating an older one does not take over from a newer active one.
    candidates[2].active = true;
    candidates[0].active = true;
    let selection = check(&candidates, &nginx);
    assert_eq!(selection.chosen, Some(3));
    assert_eq!(selection.verdicts[0], (1, Verdict::Overridden { by: 3 }));
}

#[test]
fn scoped_credential_deactivated_hands_over_to_the_registry_wide_one() {
    let quay = scope("quay");
    let org = scope("quay.io/myorg");
    let mut candidates = vec![c(1, &quay, 1, true), c(2, &org, 2, true)];
    let app = image("quay.io/myorg/app");
    assert_eq!(check(&candidates, &app).chosen, Some(2));
    candidates[1].active = false;
    let selection = check(&candidates, &app);
    assert_eq!(selection.chosen, Some(1));
    assert_eq!(selection.verdicts, [(1, Verdict::Chosen), (2, Verdict::Inactive)]);
}

#[test]
fn only_mismatching_scopes_choose_nothing() {
    let org = scope("quay.io/myorg");
    let candidates = [c(1, &org, 1, true)];
    let selection = check(&candidates, &image("quay.io/myorgx/app"));
    assert_eq!(selection.chosen, None);
    assert_eq!(selection.verdicts, [(1, Verdict::ScopeMismatch)]);
}

#[test]
fn hub_aliases_and_references_meet() {
    let hub = scope("index.docker.io");
    let candidates = [c(1, &hub, 1, true)];
    for reference in ["nginx", "docker.io/library/nginx", "index.docker.io/bob/app", "registry-1.docker.io/x/y"] {
        assert_eq!(check(&candidates, &image(reference)).chosen, Some(1), "{reference}");
    }
    assert_eq!(check(&candidates, &image("quay.io/x")).chosen, None);
}

#[test]
fn statuses_follow_scope_and_sequence() {
    let hub = scope("dockerhub");
    let org = scope("quay.io/org");
    let quay = scope("quay");
    let candidates = [
        c(1, &hub, 1, true),  // overridden by 4 (the highest of 3 and 4)
        c(2, &org, 2, true),  // active: a different scope than quay
        c(3, &hub, 3, true),  // overridden by 4
        c(4, &hub, 4, true),  // active
        c(5, &hub, 5, false), // inactive, and overrides nobody
        c(6, &quay, 6, true), // active
        c(7, &org, 7, false), // inactive
    ];
    assert_eq!(
        statuses(&candidates),
        [
            Status::Overridden { by: 4 },
            Status::Active,
            Status::Overridden { by: 4 },
            Status::Active,
            Status::Inactive,
            Status::Active,
            Status::Inactive,
        ]
    );
    assert_eq!(statuses(&[]), []);
}

#[test]
fn statuses_of_ten_thousand_credentials() {
    let scopes: Vec<Scope> = (0..100).map(|i| scope(&format!("registry{i}.example.com/team"))).collect();
    let candidates: Vec<Candidate<'_>> =
        (0..10_000u64).map(|i| c(i, &scopes[(i % 100) as usize], i, i % 7 != 0)).collect();
    let result = statuses(&candidates);
    assert_eq!(result.len(), 10_000);
    // The newest active one of each scope is active; every other active one points at it.
    for (candidate, status) in candidates.iter().zip(&result) {
        let newest_active = (0..10_000u64)
            .rev()
            .skip_while(|i| i % 100 != candidate.id % 100)
            .step_by(100)
            .find(|i| i % 7 != 0)
            .unwrap();
        let expected = if !candidate.active {
            Status::Inactive
        } else if candidate.id == newest_active {
            Status::Active
        } else {
            Status::Overridden { by: newest_active }
        };
        assert_eq!(*status, expected, "{}", candidate.id);
    }
}

#[test]
fn on_a_complete_tie_the_first_in_input_order_wins() {
    // Same scope, same sequence (a store cannot have it, but the rule must be total).
    let quay = Scope::parse("quay.io").unwrap();
    let image = Reference::parse("quay.io/org/app").unwrap();
    let candidates = [
        Candidate { id: 7, scope: &quay, sequence: 3, active: true },
        Candidate { id: 4, scope: &quay, sequence: 3, active: true },
        Candidate { id: 9, scope: &quay, sequence: 3, active: true },
    ];
    assert_eq!(select(&candidates, &image).chosen, Some(7));
    assert_eq!(select_chosen(&candidates, &image), Some(7));
    assert_eq!(
        statuses(&candidates),
        [Status::Active, Status::Active, Status::Active],
        "equal sequences override nothing"
    );
    // With a newer one after them, the `by` of the overridden ones is the newest, and on a
    // tie for newest the first of those.
    let candidates = [
        Candidate { id: 1, scope: &quay, sequence: 1, active: true },
        Candidate { id: 2, scope: &quay, sequence: 5, active: true },
        Candidate { id: 3, scope: &quay, sequence: 5, active: true },
    ];
    assert_eq!(statuses(&candidates), [Status::Overridden { by: 2 }, Status::Active, Status::Active],);
    assert_eq!(select(&candidates, &image).chosen, Some(2));
}
