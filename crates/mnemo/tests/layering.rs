//! The engine's modules form layers: the map in `src/lib.rs` lists them
//! from the ground floor up, and no module names (`crate::module`) one
//! listed below it — so there is no import circle inside the crate, and
//! the map stays true as the code changes.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The top-level modules in the order the map of `lib.rs` lists them.
fn map_order(lib: &str) -> Vec<String> {
    let mut order = Vec::new();
    for line in lib.lines() {
        let Some(row) = line.strip_prefix("//! | `") else {
            continue;
        };
        let first_cell = row.split(" |").next().unwrap_or_default();
        for name in first_cell.split('`') {
            let module = name
                .strip_suffix(".rs")
                .or_else(|| name.strip_suffix('/'))
                .filter(|m| {
                    !m.is_empty()
                        && m.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                });
            if let Some(m) = module {
                order.push(m.to_owned());
            }
        }
    }
    order
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `crate::name` paths a file names, as top-level module names.
fn named_modules(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let name: String = text[at + "crate::".len()..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

#[test]
fn no_module_imports_one_above_it_in_the_map() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let order = map_order(&lib);
    let rank: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();

    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut modules = BTreeSet::new();
    let mut upward = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let first = relative
            .components()
            .next()
            .expect("a file")
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        if module == "lib" {
            continue;
        }
        modules.insert(module.clone());
        let Some(&own) = rank.get(module.as_str()) else {
            continue;
        };
        let text = fs::read_to_string(file).expect("source");
        for named in named_modules(&text) {
            if let Some(&other) = rank.get(named.as_str())
                && other > own
            {
                upward.push(format!("{} names crate::{named}", relative.display()));
            }
        }
    }
    let unmapped: Vec<&String> = modules
        .iter()
        .filter(|m| !rank.contains_key(m.as_str()))
        .collect();
    assert!(
        unmapped.is_empty(),
        "modules missing from the map in lib.rs: {unmapped:?}"
    );
    assert!(
        upward.is_empty(),
        "imports against the layering in lib.rs:\n{}",
        upward.join("\n")
    );
}
