//! What a sweep keeps of each run: its swept values and its summary metrics, one small
//! JSON file per run (`runs/run-000017.json`), plus the sweep's manifest (`sweep.json`).
//!
//! One file per run is what makes a sweep resumable and shardable: a run's file appears
//! whole (written to a temporary name, then renamed) once the run is done, so an
//! interrupted sweep leaves only finished runs behind, and shards written on different
//! machines are merged by reading their files. Floats are written in the shortest form
//! that reads back to the same bits, so a merged table is identical to an unsharded one.

use crate::run::Summary;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One finished run of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The sweep's hash (see [`super::spec::Sweep::hash`]).
    pub sweep: String,
    /// The run's index in the sweep's order.
    pub run: usize,
    /// Every swept key's value in this run (the base scenario's where the run sets none).
    pub params: Vec<(String, serde_json::Value)>,
    /// Summary metrics by name (None where a metric is undefined).
    pub metrics: Vec<(String, Option<f64>)>,
}

/// A sweep folder's manifest, `sweep.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The program's version.
    pub clustersim: String,
    /// The scenario file.
    pub scenario: String,
    /// The sweep's hash.
    pub sweep: String,
    /// Runs in the whole sweep.
    pub runs: usize,
    /// Swept keys.
    pub keys: Vec<String>,
    /// Metrics to plot.
    pub plot_metrics: Vec<String>,
    /// The two metrics whose Pareto front is marked, if the sweep names them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pareto: Option<crate::scenario::ParetoSpec>,
    /// `[index, count]` for a shard's folder.
    pub shard: Option<[usize; 2]>,
}

/// A run's metrics, flattened to dotted names: `jobs.simulated`, `utilization`,
/// `all.wait_mean_s`, `batch.bsld_mean`, `resources.gpus.utilization`,
/// `resources.partitions.gpu.wait_mean_s`, … in the order of `summary.json`.
pub fn flatten_metrics(summary: &Summary) -> Vec<(String, Option<f64>)> {
    let mut out = vec![
        (
            "jobs.simulated".to_string(),
            Some(summary.jobs.simulated as f64),
        ),
        (
            "jobs.dropped".to_string(),
            Some(summary.jobs.dropped as f64),
        ),
    ];
    let value = serde_json::to_value(&summary.metrics).unwrap_or(serde_json::Value::Null);
    flatten("", &value, &mut out);
    out
}

fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, Option<f64>)>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        serde_json::Value::Object(map) => {
            for (k, x) in map {
                flatten(&join(k), x, out);
            }
        }
        // Lists of named things (partitions) are keyed by name.
        serde_json::Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                let name = x
                    .get("name")
                    .and_then(|n| n.as_str())
                    .map(str::to_string)
                    .unwrap_or_else(|| i.to_string());
                flatten(&join(&name), x, out);
            }
        }
        serde_json::Value::Number(n) => out.push((prefix.to_string(), n.as_f64())),
        serde_json::Value::Null => out.push((prefix.to_string(), None)),
        _ => {}
    }
}

/// Whether `name` is a metric every run has (or a node-level one, `resources.…`, which
/// runs on a cluster have).
pub fn is_metric_name(name: &str) -> bool {
    const TOP: [&str; 5] = [
        "jobs.simulated",
        "jobs.dropped",
        "makespan_s",
        "utilization",
        "killed_jobs",
    ];
    if TOP.contains(&name) || name.starts_with("resources.") {
        return true;
    }
    let Some((block, field)) = name.split_once('.') else {
        return false;
    };
    // The block's fields, read from its default; the culler, failure, rate, QOS,
    // preemption, credit, file system, oversubscription, dynamic backfill and controller
    // blocks are only in runs that turn them on (the others have empty cells).
    let fields = match block {
        "all" | "batch" | "interactive" => fields_of::<crate::metrics::ClassMetrics>(),
        "lifecycle" => fields_of::<crate::metrics::LifecycleMetrics>(),
        "session_start" => fields_of::<crate::metrics::SessionStartMetrics>(),
        "culler" => fields_of::<crate::metrics::resources::CullerMetrics>(),
        "failures" => fields_of::<crate::metrics::FailureMetrics>(),
        "rates" => fields_of::<crate::rates::RateMetrics>(),
        "qos" => fields_of::<crate::metrics::QosMetrics>(),
        "preemption" => fields_of::<crate::metrics::PreemptionMetrics>(),
        "switches" => fields_of::<crate::metrics::SwitchMetrics>(),
        "credits" => fields_of::<crate::credits::CreditMetrics>(),
        "filesystem" => fields_of::<crate::filesystem::FileSystemMetrics>(),
        "oversubscription" => fields_of::<crate::metrics::contention::OversubscriptionMetrics>(),
        "dynamic_backfill" => fields_of::<crate::metrics::IdleSuspensionMetrics>(),
        "controller" => fields_of::<crate::controller::ControllerMetrics>(),
        _ => return false,
    };
    // Written only by runs whose credits deprioritize, so absent from the default.
    if block == "credits" && field == "deprioritized" {
        return true;
    }
    // A list (the chargeback rows) is no single number.
    fields.get(field).is_some_and(|v| !v.is_array())
}

/// A metrics block's fields, as `summary.json` writes them.
fn fields_of<T: Default + serde::Serialize>() -> serde_json::Value {
    serde_json::to_value(T::default()).unwrap_or(serde_json::Value::Null)
}

/// A TOML value as JSON, for a run's parameters: numbers, strings and booleans as
/// themselves, anything else as its TOML text.
pub fn json_of(v: &toml::Value) -> serde_json::Value {
    match v {
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        other => serde_json::Value::String(other.to_string()),
    }
}

/// The folder holding a sweep folder's run files.
pub fn runs_dir(dir: &Path) -> PathBuf {
    dir.join("runs")
}

/// Run `i`'s file.
pub fn record_path(dir: &Path, run: usize) -> PathBuf {
    runs_dir(dir).join(format!("run-{run:06}.json"))
}

pub use crate::outdir::write_atomically;

/// Removes the temporary files an interrupted sweep left in `dir` and its `runs/` (a run
/// killed while its record was being written is simply run again).
pub fn remove_partial_files(dir: &Path) -> Result<()> {
    for folder in [dir.to_path_buf(), runs_dir(dir)] {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.contains(".partial-") {
                std::fs::remove_file(entry.path())
                    .with_context(|| format!("removing {}", entry.path().display()))?;
            }
        }
    }
    Ok(())
}

/// Writes a run's file.
pub fn write_record(dir: &Path, record: &RunRecord) -> Result<()> {
    let text = serde_json::to_string(record).context("encoding a run record")?;
    write_atomically(&record_path(dir, record.run), text.as_bytes())
}

/// Reads a folder's manifest.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join("sweep.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{}: not a sweep folder (cannot read sweep.json)",
            dir.display()
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a sweep manifest", path.display()))?;
    // No sweep this program writes has more runs; a larger count is a damaged manifest.
    if manifest.runs > super::spec::MAX_RUNS {
        anyhow::bail!(
            "{}: not a sweep manifest: {} runs, more than a sweep may have ({})",
            path.display(),
            manifest.runs,
            super::spec::MAX_RUNS
        );
    }
    Ok(manifest)
}

/// Writes a folder's manifest.
pub fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
    let text = serde_json::to_string_pretty(manifest).context("encoding sweep.json")?;
    write_atomically(&dir.join("sweep.json"), format!("{text}\n").as_bytes())
}

/// Every run file in a sweep folder, by run index. Files of another sweep (another hash)
/// are an error, as is a run index outside the sweep; leftover temporary files are ignored.
pub fn read_records(dir: &Path, hash: &str, runs: usize) -> Result<BTreeMap<usize, RunRecord>> {
    let mut out = BTreeMap::new();
    let folder = runs_dir(dir);
    let entries = match std::fs::read_dir(&folder) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("reading {}", folder.display())),
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("reading {}", folder.display()))?
            .path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with("run-") && name.ends_with(".json") {
            paths.push(path);
        }
    }
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let record: RunRecord = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a run record", path.display()))?;
        if record.sweep != hash {
            anyhow::bail!(
                "{} belongs to another sweep (hash {}, this sweep's is {hash}): the scenario \
                 changed since it was written; use a new output folder",
                path.display(),
                record.sweep
            );
        }
        if record.run >= runs {
            anyhow::bail!(
                "{}: run {} is outside this sweep's {runs} runs",
                path.display(),
                record.run
            );
        }
        out.insert(record.run, record);
    }
    Ok(out)
}
