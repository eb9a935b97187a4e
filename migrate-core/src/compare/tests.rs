//! The comparison and the plan, without a database.

use proptest::prelude::*;

use super::*;

fn spec(version: u64, checksum: &str, phase: Phase) -> Spec {
    Spec {
        version,
        name: format!("m{version}"),
        checksum: checksum.into(),
        phase,
        location: format!("src/m{version}.rs:1"),
    }
}

fn row(version: u64, checksum: &str, state: RowState) -> AppliedRow {
    AppliedRow {
        version,
        name: format!("m{version}"),
        checksum: checksum.into(),
        phase: Phase::Expand,
        state,
        applied_at: "2024-11-24T12:00:00Z".into(),
        duration_ms: Some(1),
        applied_by: "t@h".into(),
        error: None,
        failed_statement: None,
        rehearsal_skipped: false,
    }
}

#[test]
fn classifies_every_state() {
    let specs = vec![
        spec(1, "a", Phase::Expand),
        spec(2, "b2", Phase::Expand),
        spec(3, "c", Phase::Expand),
        spec(5, "e", Phase::Expand),
        spec(6, "f", Phase::Contract),
        spec(7, "g", Phase::Expand),
    ];
    let rows = vec![
        row(1, "a", RowState::Finished),
        row(2, "b1", RowState::Finished),
        row(3, "c", RowState::Started),
        row(4, "d", RowState::Finished),
    ];
    let cmp = compare(&specs, &rows);
    let states: Vec<_> = cmp
        .entries
        .iter()
        .map(|e| (e.version, e.state.clone()))
        .collect();
    assert_eq!(
        states,
        vec![
            (1, State::Applied),
            (
                2,
                State::Drifted {
                    applied: "b1".into(),
                    current: "b2".into()
                }
            ),
            (
                3,
                State::Dirty {
                    row_state: RowState::Started
                }
            ),
            (4, State::Missing),
            (
                5,
                State::Pending {
                    out_of_order: false
                }
            ),
            (6, State::HeldBack),
            (
                7,
                State::Pending {
                    out_of_order: false
                }
            ),
        ]
    );
    assert!(!cmp.is_up_to_date());
    assert_eq!(cmp.head(), Some(4));
}

#[test]
fn dirty_refuses_before_anything_else() {
    let cmp = compare(
        &[spec(1, "a", Phase::Expand)],
        &[row(1, "a", RowState::Failed)],
    );
    let err = cmp.plan(&PlanOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Dirty { version: 1, .. }));
    assert_eq!(err.exit_code(), 4);
}

#[test]
fn drift_refuses_unless_allowed() {
    let cmp = compare(
        &[spec(1, "new", Phase::Expand), spec(2, "b", Phase::Expand)],
        &[row(1, "old", RowState::Finished)],
    );
    let err = cmp.plan(&PlanOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("old") && text.contains("new") && text.contains("src/m1.rs:1"),
        "{text}"
    );
    let plan = cmp
        .plan(&PlanOptions {
            allow_drift: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(plan.versions, vec![2]);
}

#[test]
fn out_of_order_refuses_unless_allowed() {
    let cmp = compare(
        &[
            spec(1, "a", Phase::Expand),
            spec(2, "b", Phase::Expand),
            spec(3, "c", Phase::Expand),
        ],
        &[
            row(1, "a", RowState::Finished),
            row(3, "c", RowState::Finished),
        ],
    );
    assert!(matches!(
        cmp.entries[1].state,
        State::Pending { out_of_order: true }
    ));
    assert!(matches!(
        cmp.plan(&PlanOptions::default()),
        Err(Error::OutOfOrder {
            version: 2,
            newest: 3,
            ..
        })
    ));
    let plan = cmp
        .plan(&PlanOptions {
            allow_out_of_order: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(plan.versions, vec![2]);
}

#[test]
fn contract_stops_the_plan_without_skipping() {
    let specs = vec![
        spec(1, "a", Phase::Expand),
        spec(2, "b", Phase::Contract),
        spec(3, "c", Phase::Expand),
    ];
    let cmp = compare(&specs, &[]);
    let plan = cmp.plan(&PlanOptions::default()).unwrap();
    assert_eq!(
        plan,
        Plan {
            versions: vec![1],
            held_back: Some(2)
        }
    );
    let all = cmp
        .plan(&PlanOptions {
            contract: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all.versions, vec![1, 2, 3]);
}

#[test]
fn to_limits_the_plan() {
    let specs: Vec<_> = (1..=5).map(|v| spec(v, "x", Phase::Expand)).collect();
    let cmp = compare(&specs, &[]);
    let plan = cmp
        .plan(&PlanOptions {
            to: Some(3),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(plan.versions, vec![1, 2, 3]);
}

fn arb_case() -> impl Strategy<Value = (Vec<Spec>, Vec<AppliedRow>)> {
    // Each version 1..=30 is: absent, registered, applied, applied+drifted,
    // applied-but-missing, or dirty; contract phase at random.
    prop::collection::vec((0u8..6, any::<bool>()), 30).prop_map(|kinds| {
        let mut specs = Vec::new();
        let mut rows = Vec::new();
        for (i, (kind, contract)) in kinds.into_iter().enumerate() {
            let v = i as u64 + 1;
            let phase = if contract {
                Phase::Contract
            } else {
                Phase::Expand
            };
            match kind {
                1 => specs.push(spec(v, "s", phase)),
                2 => {
                    specs.push(spec(v, "s", phase));
                    rows.push(row(v, "s", RowState::Finished));
                }
                3 => {
                    specs.push(spec(v, "s2", phase));
                    rows.push(row(v, "s", RowState::Finished));
                }
                4 => rows.push(row(v, "s", RowState::Finished)),
                5 => {
                    specs.push(spec(v, "s", phase));
                    rows.push(row(v, "s", RowState::Started));
                }
                _ => {}
            }
        }
        (specs, rows)
    })
}

proptest! {
    #[test]
    fn every_version_appears_once_in_order((specs, rows) in arb_case()) {
        let cmp = compare(&specs, &rows);
        let versions: Vec<u64> = cmp.entries.iter().map(|e| e.version).collect();
        let mut expected: Vec<u64> = specs.iter().map(|s| s.version).chain(rows.iter().map(|r| r.version)).collect();
        expected.sort_unstable();
        expected.dedup();
        prop_assert_eq!(versions, expected);
    }

    #[test]
    fn plan_only_holds_pending_expand_versions_in_order((specs, rows) in arb_case(), contract in any::<bool>()) {
        let cmp = compare(&specs, &rows);
        let opts = PlanOptions { contract, allow_drift: true, allow_out_of_order: true, to: None };
        match cmp.plan(&opts) {
            Err(Error::Dirty { .. }) => prop_assert!(rows.iter().any(|r| r.state != RowState::Finished)),
            Err(e) => prop_assert!(false, "unexpected error {e}"),
            Ok(plan) => {
                prop_assert!(plan.versions.windows(2).all(|w| w[0] < w[1]));
                for v in &plan.versions {
                    prop_assert!(!rows.iter().any(|r| r.version == *v), "planned an applied version");
                    let s = specs.iter().find(|s| s.version == *v).unwrap();
                    if !contract {
                        prop_assert_eq!(s.phase, Phase::Expand);
                    }
                }
                if let Some(h) = plan.held_back {
                    prop_assert!(plan.versions.iter().all(|v| *v < h), "skipped over a held-back contract migration");
                }
            }
        }
    }

    #[test]
    fn applying_the_plan_leaves_nothing_to_do((specs, mut rows) in arb_case()) {
        rows.retain(|r| r.state == RowState::Finished);
        let opts = PlanOptions { contract: true, allow_drift: true, allow_out_of_order: true, to: None };
        let plan = compare(&specs, &rows).plan(&opts).unwrap();
        for v in plan.versions {
            let s = specs.iter().find(|s| s.version == v).unwrap();
            rows.push(row(v, &s.checksum, RowState::Finished));
        }
        let again = compare(&specs, &rows).plan(&opts).unwrap();
        prop_assert!(again.versions.is_empty());
        prop_assert_eq!(again.held_back, None);
    }
}
