//! Newest version first: a preference restated with a new value is
//! recalled before its older statements, however often those were made;
//! the same statement about someone else, and events, are left alone.

use mnemo::lifecycle::{DuplicateMode, Duplicates};
use mnemo::{Kind, MemoryId, Mnemo, Namespace, NewMemory, Options, RecallOptions, Timestamp};

const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// Day `d` of 2024 (from 2024-01-01, UTC).
fn day(d: i64) -> Timestamp {
    Timestamp(1_704_067_200 * 1_000_000_000 + d * DAY_NS)
}

fn known(ns: &Namespace, text: &str, d: i64) -> MemoryId {
    ns.remember(NewMemory::new(text).kind(Kind::Semantic).at(day(d)))
        .expect("remember")
}

fn first(ns: &Namespace, question: &str, options: &RecallOptions) -> MemoryId {
    ns.recall_with(question, options).expect("recall").hits[0]
        .memory
        .id
}

fn ids(ns: &Namespace, question: &str, options: &RecallOptions) -> Vec<MemoryId> {
    ns.recall_with(question, options)
        .expect("recall")
        .hits
        .iter()
        .map(|h| h.memory.id)
        .collect()
}

/// The old value said five times in different words, the new one once.
fn preference_history(ns: &Namespace) -> (Vec<MemoryId>, MemoryId) {
    let old = vec![
        known(ns, "Maya Fischer prefers dark mode in the editor", 3),
        known(ns, "In the editor, Maya Fischer prefers dark mode", 40),
        known(
            ns,
            "Actually, Maya Fischer prefers dark mode in the editor!",
            71,
        ),
        known(
            ns,
            "maya Fischer prefers dark mode in the editor as usual",
            90,
        ),
        known(
            ns,
            "By the way, in the editor, Maya Fischer prefers dark mode",
            120,
        ),
    ];
    let new = known(ns, "In the editor, Maya Fischer prefers high contrast", 200);
    (old, new)
}

#[test]
fn the_newest_value_of_a_restated_preference_comes_first() {
    let mnemo = Mnemo::in_memory();
    let ns = mnemo.namespace("assistant").expect("namespace");
    let (old, new) = preference_history(&ns);
    // Another user's preference, stated later still, is another statement.
    let other = known(&ns, "Omar Haddad prefers light mode in the editor", 300);
    known(&ns, "Maya Fischer books aisle seats on flights", 250);
    let question = "what theme does Maya Fischer prefer in the editor?";

    assert_eq!(first(&ns, question, &RecallOptions::k(1)), new);
    let five = ids(&ns, question, &RecallOptions::k(5));
    assert_eq!(five[0], new);
    assert!(five[1..].iter().all(|id| old.contains(id)), "{five:?}");
    assert!(!five.contains(&other));

    // Without it the hits keep their fused order: an older statement first.
    let mut plain = RecallOptions::k(1);
    plain.newest_first = false;
    assert!(old.contains(&first(&ns, question, &plain)));
}

#[test]
fn the_same_statement_about_two_people_is_not_one_statement() {
    let mnemo = Mnemo::in_memory();
    let ns = mnemo.namespace("assistant").expect("namespace");
    let maya = known(&ns, "Maya Fischer lives in Porto", 10);
    let omar = known(&ns, "Omar Haddad lives in Porto", 20);
    let question = "where does Maya Fischer live?";
    assert_eq!(first(&ns, question, &RecallOptions::k(1)), maya);
    assert_eq!(ids(&ns, question, &RecallOptions::k(2)), [maya, omar]);
}

#[test]
fn events_are_not_versions_of_each_other() {
    let question = "Maya Fischer ran in the morning";
    let order = |kind: Kind| {
        let mnemo = Mnemo::in_memory();
        let ns = mnemo.namespace("assistant").expect("namespace");
        let write = |text: &str, d: i64| {
            ns.remember(NewMemory::new(text).kind(kind).at(day(d)))
                .expect("remember")
        };
        let older = write("Maya Fischer ran 5 km in the morning", 5);
        let newer = write("Maya Fischer ran 10 km by the river in the morning", 9);
        let mut plain = RecallOptions::k(2);
        plain.newest_first = false;
        // The shorter, older memory ranks first on its own.
        assert_eq!(ids(&ns, question, &plain), [older, newer]);
        (ids(&ns, question, &RecallOptions::k(2)), older, newer)
    };
    // Two things that happened stay in their ranked order ...
    let (episodic, older, newer) = order(Kind::Episodic);
    assert_eq!(episodic, [older, newer]);
    // ... while two statements of what is known are versions.
    let (semantic, older, newer) = order(Kind::Semantic);
    assert_eq!(semantic, [newer, older]);
}

#[test]
fn a_merged_restatement_makes_the_old_value_current_again() {
    let options = Options::default().duplicates(Duplicates {
        mode: DuplicateMode::Merge,
        ..Duplicates::default()
    });
    let mnemo = Mnemo::in_memory_with(options);
    let ns = mnemo.namespace("assistant").expect("namespace");
    let dark = known(&ns, "Maya Fischer prefers dark mode in the editor", 3);
    let contrast = known(&ns, "Maya Fischer prefers high contrast in the editor", 50);
    let question = "what theme does Maya Fischer prefer in the editor?";
    assert_eq!(first(&ns, question, &RecallOptions::k(1)), contrast);
    // Dark mode again, in nearly the same words: merged into the first
    // memory, which is now the newest statement.
    let again = known(
        &ns,
        "Actually, Maya Fischer prefers dark mode in the editor",
        90,
    );
    assert_eq!(again, dark);
    assert_eq!(first(&ns, question, &RecallOptions::k(1)), dark);
}
