//! `mnemo consolidate`, `mnemo tiers`, and the strength and tier
//! `mnemo recall` shows.

use std::process::Command;

fn mnemo(data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mnemo"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env("MNEMO_NO_FETCH", "1")
        .output()
        .expect("run mnemo");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out.trim()).expect("JSON")
}

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
        let (ok, _, err) = mnemo(d, &["--embedder", "hash", "remember", text]);
        assert!(ok, "{err}");
    }
    // Bad settings are refused and write nothing.
    let (ok, _, err) = mnemo(d, &["consolidate", "--min-group", "1"]);
    assert!(!ok);
    assert!(err.contains("min_group"), "{err}");
    let (ok, out, err) = mnemo(
        d,
        &["--json", "consolidate", "--dry-run", "--similarity", "0.3"],
    );
    assert!(ok, "{err}");
    let dry = json(&out);
    assert_eq!(dry["created"].as_array().expect("created").len(), 0);
    let groups = dry["groups"].as_array().expect("groups").len();
    assert!(groups >= 1, "{out}");
    let (ok, out, err) = mnemo(d, &["--json", "consolidate", "--similarity", "0.3"]);
    assert!(ok, "{err}");
    let done = json(&out);
    let created = done["created"].as_array().expect("created");
    assert_eq!(created.len(), groups, "{out}");
    let id = created[0].as_u64().expect("id").to_string();
    let (ok, out, err) = mnemo(d, &["--json", "get", &id]);
    assert!(ok, "{err}");
    let got = json(&out);
    assert_eq!(got["kind"], "semantic", "{out}");
    let links = got["links_out"].as_array().expect("links");
    assert!(
        links.len() >= 2 && links.iter().all(|l| l["kind"] == "derived_from"),
        "{out}"
    );

    let (ok, out, err) = mnemo(d, &["--json", "tiers"]);
    assert!(ok, "{err}");
    let tiers = json(&out);
    assert_eq!(tiers["hot"].as_u64(), Some(6 + groups as u64), "{out}");
    assert!(tiers["budget"].is_null());
    let (ok, _, err) = mnemo(d, &["tiers", "--budget", "10"]);
    assert!(!ok);
    assert!(err.contains("max_resident_bytes"), "{err}");
    let (ok, out, err) = mnemo(d, &["--json", "tiers", "--budget", "4000"]);
    assert!(ok, "{err}");
    let moved = json(&out);
    assert!(moved["moved"].as_u64().expect("moved") > 0, "{out}");
    assert!(moved["cold"].as_u64().expect("cold") > 0, "{out}");

    let (ok, out, err) = mnemo(d, &["--json", "recall", "tile museum Lisbon", "-k", "3"]);
    assert!(ok, "{err}");
    let hits = json(&out);
    let first = &hits["hits"][0];
    assert!(first["strength"].is_number(), "{out}");
    assert!(
        ["hot", "warm", "cold"].contains(&first["tier"].as_str().expect("tier")),
        "{out}"
    );
}
