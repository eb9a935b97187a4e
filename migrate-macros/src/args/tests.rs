//! Parsing the attribute's arguments.
use super::*;

fn parse(src: &str) -> (MigrationArgs, Vec<String>) {
    let mut errors = Errors::default();
    let args = parse_migration(src.parse().expect("tokens"), "up", &mut errors);
    (args, errors.messages())
}

#[test]
fn parses_every_argument() {
    let (args, errors) = parse(
        "20241124_120000, reversible, down = self::drop_users, transaction = false, \
         phase = contract, allow(add_column_default = \"small table\", \"set-not-null\" = \"new\", ban-drop = \"ok\"), name = \"Users\",",
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(args.version.map(|v| v.value), Some(20_241_124_120_000));
    assert!(args.reversible.is_some());
    assert_eq!(
        args.down.as_ref().map(path_text).as_deref(),
        Some("self::drop_users")
    );
    assert_eq!(args.transaction.map(|b| b.value), Some(false));
    assert_eq!(args.phase, Some(Phase::Contract));
    let rules: Vec<_> = args.allow.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(rules, ["add_column_default", "set-not-null", "ban-drop"]);
    assert_eq!(args.name.map(|n| n.value()).as_deref(), Some("Users"));
}

#[test]
fn version_can_be_named() {
    let (args, errors) = parse("irreversible = \"drops data\", version = 7");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(args.version.map(|v| v.value), Some(7));
}

#[test]
fn reports_every_mistake_at_once() {
    let (_, errors) = parse("0, revesible, down = 1, phase = sideways, reversible, reversible");
    assert_eq!(errors.len(), 5, "{errors:?}");
    assert!(errors[0].contains("must be positive"));
    assert!(errors[1].contains("did you mean `reversible`"));
    assert!(errors[2].contains("path of the down function"));
    assert!(errors[3].contains("`expand` or `contract`"));
    assert!(errors[4].contains("duplicate argument `reversible`"));
}

#[test]
fn rejects_both_reversible_and_irreversible() {
    let (_, errors) = parse("1, reversible, irreversible = \"x\"");
    assert!(
        errors[0].contains("conflicts with `reversible`"),
        "{errors:?}"
    );
}

#[test]
fn rejects_empty_reason_and_overflow() {
    let (_, errors) = parse("99999999999999999999, irreversible = \"  \"");
    assert!(errors[0].contains("does not fit in u64"), "{errors:?}");
    assert!(errors[1].contains("must not be empty"), "{errors:?}");
}

#[test]
fn rejects_down_on_irreversible() {
    let (_, errors) = parse("1, irreversible = \"x\", down = undo");
    assert!(
        errors[0].contains("irreversible migration has no down function"),
        "{errors:?}"
    );
}

#[test]
fn suggests_aliases() {
    let (_, errors) = parse("1, reversible, no_transaction, contract, transactoin = false");
    assert!(errors[0].contains("`transaction = false`"), "{errors:?}");
    assert!(errors[1].contains("`phase = contract`"), "{errors:?}");
    assert!(errors[2].contains("`transaction = false`"), "{errors:?}");
}

#[test]
fn rejects_unknown_argument_without_near_match() {
    let (_, errors) = parse("1, reversible, frobnicate");
    assert!(
        errors[0].starts_with("unknown argument `frobnicate`: expected the version"),
        "{errors:?}"
    );
}

#[test]
fn allow_rules_need_reasons() {
    let (_, errors) = parse("1, reversible, allow(a = \"\", b, a-b = \"x\", a-b = \"y\")");
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].contains("reason must not be empty"));
    assert!(errors[1].contains("expected `=` and a reason"));
    assert!(errors[2].contains("allowed twice"));
}

#[test]
fn health_check_takes_only_a_name() {
    let mut errors = Errors::default();
    let args = parse_health_check("name = \"orders\"".parse().expect("tokens"), &mut errors);
    assert!(errors.is_empty());
    assert_eq!(args.name.map(|n| n.value()).as_deref(), Some("orders"));
    parse_health_check("nmae = \"x\", 3".parse().expect("tokens"), &mut errors);
    let messages = errors.messages();
    assert!(
        messages[0].contains("did you mean `name = \"...\"`"),
        "{messages:?}"
    );
    assert!(
        messages[1].contains("takes no other argument"),
        "{messages:?}"
    );
}

#[test]
fn edit_distance_counts_swaps_once() {
    assert_eq!(edit_distance("verison", "version"), 1);
    assert_eq!(edit_distance("down", "down"), 0);
    assert_eq!(edit_distance("", "abc"), 3);
}
