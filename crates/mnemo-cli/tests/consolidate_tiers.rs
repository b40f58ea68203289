//! `mnemo consolidate`, `mnemo tiers`, and the strength and tier
//! `mnemo recall` shows.

mod common;

use common::{fails, json, ok};

#[test]
fn consolidate_tiers_and_recall_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    for text in [
        "Melanie flew to Lisbon for the tile museum",
        "Melanie walked around Lisbon and the tile museum",
        "Melanie loved the tile museum in Lisbon",
        "Caroline started a pottery class downtown",
        "Caroline glazed a bowl at the pottery class",
        "Caroline finished the pottery class course",
    ] {
        ok(d, &["remember", text]);
    }
    // Bad settings are refused and write nothing.
    let err = fails(d, &["consolidate", "--min-group", "1"]);
    assert!(err.contains("min_group"), "{err}");
    let dry = json(d, &["consolidate", "--dry-run", "--similarity", "0.3"]);
    assert_eq!(dry["created"].as_array().expect("created").len(), 0);
    let groups = dry["groups"].as_array().expect("groups").len();
    assert!(groups >= 1, "{dry}");
    let done = json(d, &["consolidate", "--similarity", "0.3"]);
    let created = done["created"].as_array().expect("created");
    assert_eq!(created.len(), groups, "{done}");
    let id = created[0].as_u64().expect("id").to_string();
    let got = json(d, &["get", &id]);
    assert_eq!(got["kind"], "semantic", "{got}");
    let links = got["links_out"].as_array().expect("links");
    assert!(
        links.len() >= 2 && links.iter().all(|l| l["kind"] == "derived_from"),
        "{got}"
    );

    let tiers = json(d, &["tiers"]);
    assert_eq!(tiers["hot"].as_u64(), Some(6 + groups as u64), "{tiers}");
    assert!(tiers["budget"].is_null());
    let err = fails(d, &["tiers", "--budget", "10"]);
    assert!(err.contains("max_resident_bytes"), "{err}");
    let moved = json(d, &["tiers", "--budget", "3000"]);
    assert!(moved["moved"].as_u64().expect("moved") > 0, "{moved}");
    assert!(moved["cold"].as_u64().expect("cold") > 0, "{moved}");

    let hits = json(d, &["recall", "tile museum Lisbon", "-k", "3"]);
    let first = &hits["hits"][0];
    assert!(first["strength"].is_number(), "{hits}");
    assert!(
        ["hot", "warm", "cold"].contains(&first["tier"].as_str().expect("tier")),
        "{hits}"
    );
}
