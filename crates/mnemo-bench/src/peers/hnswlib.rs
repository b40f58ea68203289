//! hnswlib, the reference HNSW implementation (C++, PyPI `hnswlib`), driven
//! by `scripts/peers/hnswlib_peer.py` over the dataset's own vector files.
//!
//! [`run`] makes sure the virtual environment `hnswlib-peer` exists with
//! [`REQUIREMENTS`] (see [`crate::pyvenv`]; hnswlib 0.8.0 is an sdist, so
//! the first run compiles it, with `-march=native`, in about a minute), runs
//! the script with the same M, ef_construction, build threads and ef sweep as
//! the other systems, and scores the ids it reports against the ground truth.
//!
//! Metrics map to hnswlib spaces: L2 → `l2` (squared distance), dot → `ip`,
//! cosine → `cosine` (hnswlib normalises copies of the vectors and searches
//! by inner product; the normalisation is inside its build time).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;

use super::{CurvePoint, HnswConfig, K, PeerRun, Sweep, VectorSet, mean_recall_at_k};
use crate::ground_truth::{GroundTruth, Metric};
use crate::harness;

/// The venv's pinned packages.
pub const REQUIREMENTS: &[&str] = &["hnswlib==0.8.0", "numpy==2.4.6"];
/// The venv's name under `~/.cache/mnemo/venvs`.
pub const VENV: &str = "hnswlib-peer";

/// `scripts/peers/hnswlib_peer.py` in the workspace.
pub fn script() -> PathBuf {
    harness::workspace_root().join("scripts/peers/hnswlib_peer.py")
}

/// The hnswlib space of a metric.
pub fn space(metric: Metric) -> &'static str {
    match metric {
        Metric::Cosine => "cosine",
        Metric::Dot => "ip",
        Metric::L2 => "l2",
    }
}

/// What the script prints.
#[derive(Debug, Deserialize)]
struct Report {
    hnswlib: String,
    numpy: String,
    space: String,
    m: usize,
    ef_construction: usize,
    build_threads: usize,
    elements: usize,
    build_seconds: f64,
    index_bytes: Option<u64>,
    /// Growth of the script's resident set during the build.
    #[serde(default)]
    resident_growth_bytes: Option<u64>,
    points: Vec<ReportPoint>,
    /// Single inserts after the sweep (absent when none were asked).
    #[serde(default)]
    single_inserts: Option<super::InsertTimes>,
}

/// One ef of the script's sweep.
#[derive(Debug, Deserialize)]
struct ReportPoint {
    ef: usize,
    qps: f64,
    batch_qps: f64,
    p50_us: f64,
    p99_us: f64,
    ids: Vec<Vec<u64>>,
}

/// Builds hnswlib over `set` with `config` and measures it over `sweep`
/// (one query per call, one thread).
pub fn run(set: &VectorSet<'_>, config: &HnswConfig, sweep: &Sweep) -> Result<PeerRun> {
    set.check(config.metric)?;
    let python = crate::pyvenv::ensure(VENV, REQUIREMENTS)?;
    let script = script();
    let efs_arg = sweep
        .efs
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let out = Command::new(&python)
        .arg(&script)
        .arg("--base")
        .arg(set.base_path)
        .arg("--queries")
        .arg(set.queries_path)
        .args(["--space", space(config.metric)])
        .args(["--m", &config.m.to_string()])
        .args(["--ef-construction", &config.ef_construction.to_string()])
        .args(["--threads", &config.build_threads.to_string()])
        .args(["--ef", &efs_arg])
        .args(["--k", &K.to_string()])
        .args(["--seed", &config.seed.to_string()])
        .args(["--warmup", &super::WARMUP_QUERIES.to_string()])
        .args(["--reps", &sweep.reps.max(1).to_string()])
        .args(["--single-inserts", &sweep.single_inserts.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {} {}", python.display(), script.display()))?;
    if !out.status.success() {
        bail!("{} failed ({})", script.display(), out.status);
    }
    let report: Report = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "parsing the report of {}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stdout)
                .chars()
                .take(500)
                .collect::<String>()
        )
    })?;
    to_peer_run(report, config, set.truth, &sweep.efs)
}

/// Checks the script's report against what was asked and scores it.
fn to_peer_run(
    report: Report,
    config: &HnswConfig,
    truth: &GroundTruth,
    efs: &[usize],
) -> Result<PeerRun> {
    ensure!(
        report.m == config.m
            && report.ef_construction == config.ef_construction
            && report.space == space(config.metric),
        "the script built with M {}, ef_construction {}, space {} instead of {}, {}, {}",
        report.m,
        report.ef_construction,
        report.space,
        config.m,
        config.ef_construction,
        space(config.metric)
    );
    ensure!(
        report.elements == truth.base,
        "hnswlib indexed {} vectors, the dataset has {}",
        report.elements,
        truth.base
    );
    let got: Vec<usize> = report.points.iter().map(|p| p.ef).collect();
    ensure!(got == efs, "the script swept ef {got:?} instead of {efs:?}");
    let points = report
        .points
        .iter()
        .map(|p| {
            Ok(CurvePoint {
                ef: p.ef,
                recall_at_10: mean_recall_at_k(&p.ids, truth, K)?,
                qps: p.qps,
                p50_us: p.p50_us,
                p99_us: p.p99_us,
                batch_qps: Some(p.batch_qps),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(PeerRun {
        name: "hnswlib".to_owned(),
        version: format!("{} (numpy {}, Python)", report.hnswlib, report.numpy),
        settings: format!(
            "M {}, ef_construction {}, space {}",
            report.m, report.ef_construction, report.space
        ),
        build_seconds: report.build_seconds,
        build_threads: report.build_threads,
        vectors: report.elements,
        points,
        memory_bytes: report.resident_growth_bytes.or(report.index_bytes),
        memory_note: match (report.resident_growth_bytes, report.index_bytes) {
            (Some(_), Some(file)) => format!(
                "resident-set growth of the build (index_file_size(), without locks and \
                 label map: {file} bytes)"
            ),
            (Some(_), None) => "resident-set growth of the build".to_owned(),
            _ => "index_file_size(): level-0 block, vectors and upper links".to_owned(),
        },
        single_inserts: report.single_inserts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ground_truth;
    use crate::vecfile::Vectors;

    #[test]
    fn reads_the_script_report() {
        let base = Vectors {
            dimension: 2,
            data: (0..40).map(|i| i as f32).collect(),
        };
        let queries = Vectors {
            dimension: 2,
            data: vec![0.0, 1.0],
        };
        let truth = ground_truth::compute(&base, &queries, Metric::L2, 10, 1).expect("truth");
        let config = HnswConfig::new(Metric::L2);
        let json = r#"{"hnswlib": "0.8.0", "numpy": "2.4.6", "space": "l2", "m": 16,
            "ef_construction": 200, "build_threads": 2, "elements": 20,
            "build_seconds": 0.5, "index_bytes": 4000,
            "points": [{"ef": 10, "qps": 1000.0, "batch_qps": 2000.0, "p50_us": 900.0,
                        "p99_us": 1500.0, "ids": [[0,1,2,3,4,5,6,7,8,9]]}],
            "single_inserts": {"count": 5, "p50_us": 150.0, "p99_us": 400.0}}"#;
        let report: Report = serde_json::from_str(json).expect("parse");
        let run = to_peer_run(report, &config, &truth, &[10]).expect("run");
        assert_eq!(run.points[0].recall_at_10, 1.0);
        assert_eq!(run.points[0].batch_qps, Some(2000.0));
        assert_eq!(run.bytes_per_vector(), Some(200.0));
        assert_eq!(run.build_rate(), 40.0);
        assert_eq!(run.single_inserts.map(|t| t.p50_us), Some(150.0));

        let other_m = json.replace("\"m\": 16", "\"m\": 8");
        let report: Report = serde_json::from_str(&other_m).expect("parse");
        assert!(to_peer_run(report, &config, &truth, &[10]).is_err());
        let report: Report = serde_json::from_str(json).expect("parse");
        assert!(to_peer_run(report, &config, &truth, &[10, 20]).is_err());
        assert!(serde_json::from_str::<Report>("{\"hnswlib\": 1}").is_err());
    }
}
