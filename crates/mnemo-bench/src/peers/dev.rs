//! `mnemo-bench peers`: a development command that runs the peers end to
//! end on the benchmark datasets and prints their recall/QPS table, so the
//! peers can be checked (and their figures seen) before the `vector` suite
//! puts mnemo-vector beside them. It is not part of any suite and writes no
//! `bench-results` file unless `--out` asks for the runs as JSON.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};

use super::{EFS, HnswConfig, PeerRun, Sweep, VectorSet, print_table};
use crate::gauss::{self, GaussSpec};
use crate::ground_truth::{self, DEFAULT_K, Metric};
use crate::rustdocs;

/// A benchmark dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DatasetName {
    /// The rustdocs-minilm real-sentence embeddings (384-d, cosine).
    Rustdocs,
    /// The Gaussian mixture (128-d, L2): 1M vectors, or 20k with `--quick`.
    Gauss,
}

/// A peer system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum System {
    /// hnswlib through Python.
    Hnswlib,
    /// USearch through its Rust binding.
    Usearch,
}

/// Options of `mnemo-bench peers`.
#[derive(Debug, Clone, Args)]
pub struct PeersOptions {
    /// Use the 20k-vector Gaussian set instead of the 1M one.
    #[arg(long)]
    pub quick: bool,
    /// Datasets to run on.
    #[arg(long, value_enum, value_delimiter = ',', default_values = ["gauss", "rustdocs"])]
    pub datasets: Vec<DatasetName>,
    /// Systems to run.
    #[arg(long, value_enum, value_delimiter = ',', default_values = ["hnswlib", "usearch"])]
    pub systems: Vec<System>,
    /// Links per node (M).
    #[arg(long, default_value_t = 16)]
    pub m: usize,
    /// ef_construction.
    #[arg(long, default_value_t = 200)]
    pub ef_construction: usize,
    /// The ef sweep, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = EFS)]
    pub ef: Vec<usize>,
    /// Timed passes over the queries per ef (QPS is their median).
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
    /// Build threads (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Also write the runs as JSON to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs the selected peers on the selected datasets and prints the tables.
pub fn run(opts: &PeersOptions) -> Result<()> {
    let mut all: BTreeMap<String, Vec<PeerRun>> = BTreeMap::new();
    let sweep = Sweep {
        efs: opts.ef.clone(),
        reps: opts.reps,
        single_inserts: super::SINGLE_INSERTS,
    };
    for &dataset in &opts.datasets {
        let (name, dir, paths, base, queries, metric) = match dataset {
            DatasetName::Gauss => {
                let spec = GaussSpec::new(opts.quick);
                let data = gauss::ensure(&gauss::default_dir(&spec)?, &spec, false)?;
                let paths = (data.base_path(), data.queries_path());
                (
                    spec.name(),
                    data.dir,
                    paths,
                    data.base,
                    data.queries,
                    Metric::L2,
                )
            }
            DatasetName::Rustdocs => {
                let data = rustdocs::ensure(&rustdocs::default_dir()?, false)
                    .context("loading the rustdocs-minilm dataset")?;
                let paths = (data.dir.join("base.vec"), data.dir.join("queries.vec"));
                let name = data.manifest.name.clone();
                (
                    name,
                    data.dir,
                    paths,
                    data.base,
                    data.queries,
                    Metric::Cosine,
                )
            }
        };
        let truth = ground_truth::ensure(&dir, &base, &queries, metric, DEFAULT_K)?;
        let (base_path, queries_path) = paths;
        let set = VectorSet {
            name: &name,
            base_path: &base_path,
            queries_path: &queries_path,
            base: &base,
            queries: &queries,
            truth: &truth,
        };
        let mut config = HnswConfig::new(metric);
        config.m = opts.m;
        config.ef_construction = opts.ef_construction;
        if let Some(threads) = opts.threads {
            config.build_threads = threads;
        }
        let mut runs = Vec::new();
        for &system in &opts.systems {
            eprintln!("{name}: {system:?}");
            runs.push(match system {
                System::Hnswlib => super::hnswlib::run(&set, &config, &sweep)?,
                System::Usearch => super::usearch::run(&set, &config, &sweep)?,
            });
        }
        let title = format!(
            "{name}: {} × {} base, {} queries, {metric}, M {}, ef_construction {}, recall@10 vs exact",
            base.len(),
            base.dimension,
            queries.len(),
            config.m,
            config.ef_construction
        );
        print_table(&title, &runs);
        all.insert(name, runs);
    }
    if let Some(out) = &opts.out {
        let mut json = serde_json::to_string_pretty(&all)?;
        json.push('\n');
        std::fs::write(out, json).with_context(|| format!("writing {}", out.display()))?;
        println!("wrote {}", out.display());
    }
    Ok(())
}
