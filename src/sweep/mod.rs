//! Parameter sweeps: many runs of one scenario with some keys varied (`[sweep]` in the
//! scenario file), run in parallel with rayon, resumable, shardable across machines (a
//! Slurm job array) and merged into one table.
//!
//! Determinism: a run is a function of its own scenario (its seed is the scenario's `seed`,
//! swept or not), never of which thread ran it or when; each run is single-threaded; the
//! tables are written from the run records in run order. So the results are the same bytes
//! at any `--threads`, and the merge of a sweep's shards equals the unsharded sweep.
//!
//! ```text
//! scenario.toml ──spec::Sweep──▶ runs 0..n ──(shard i/n: run r when r % n == i)──▶
//!   rayon pool: plan (trace read once, shared) → simulate → record ──▶ DIR/runs/run-r.json
//!   all runs present ──results──▶ sweep.{parquet,csv}, points.{parquet,csv}, plots/
//! ```

pub mod record;
pub mod results;
pub mod slurm;
pub mod spec;

use crate::plan::{plan_run, RunRequest, TraceCache};
use crate::scenario::LoadedScenario;
use anyhow::{Context, Result};
use rayon::prelude::*;
use record::{Manifest, RunRecord};
use spec::Sweep;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// `--shard I/N`: this process runs the runs whose index is I modulo N.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// I, from 0.
    pub index: usize,
    /// N, at least 1.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?}: write a shard as INDEX/COUNT, e.g. 0/4"))?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: the shard index {i:?} is not a whole number"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: the shard count {n:?} is not a whole number"))?;
        if count == 0 {
            return Err(format!("{s:?}: the shard count must be at least 1"));
        }
        if index >= count {
            return Err(format!(
                "{s:?}: shard index {index} is not below the count {count} (shards are numbered \
                 0 to {})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Whether run `run` is this shard's. Round-robin, so every shard gets a mix of the
    /// grid (policies and loads), not one expensive corner.
    pub fn owns(&self, run: usize) -> bool {
        run % self.count == self.index
    }
}

/// How to run a sweep.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// The output folder.
    pub out: PathBuf,
    /// Worker threads (None: one per core).
    pub threads: Option<usize>,
    /// Only this share of the runs.
    pub shard: Option<Shard>,
    /// Skip runs whose records are already in the folder.
    pub resume: bool,
    /// Run even runs in which no job (or no job of a class) could run.
    pub allow_empty: bool,
}

/// The machine's cores (1 when they cannot be counted).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Worker threads for `requested`: one per core by default, and never more than the cores
/// (each run is single-threaded and computes without waiting, so more threads than cores only
/// add memory and switching: 10,000 threads did not finish an 81-run sweep in a minute), nor
/// fewer than one.
pub fn worker_threads(requested: Option<usize>) -> usize {
    requested.unwrap_or(usize::MAX).clamp(1, cores())
}

/// What a sweep did.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepOutcome {
    /// Runs in the whole sweep.
    pub total_runs: usize,
    /// Runs of this process's share.
    pub my_runs: usize,
    /// Of those, already done before (with `--resume`).
    pub skipped: usize,
    /// Result files written (empty for a shard: merge writes them).
    pub written: Vec<String>,
}

/// Runs `sweep` (or its shard) into `options.out`; `progress(done, to_do)` is called after
/// each run from the worker threads.
pub fn run_sweep(
    sweep: &Sweep,
    options: &SweepOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<SweepOutcome> {
    let out = &options.out;
    let total = sweep.runs.len();
    let mine: Vec<usize> = (0..total)
        .filter(|&r| options.shard.is_none_or(|s| s.owns(r)))
        .collect();
    std::fs::create_dir_all(record::runs_dir(out))
        .with_context(|| format!("creating {}", record::runs_dir(out).display()))?;
    if out.join("sweep.json").exists() {
        let m = record::read_manifest(out)?;
        if m.sweep != sweep.hash {
            anyhow::bail!(
                "{} holds another sweep (of {}, hash {}; this one's is {}): choose an empty \
                 folder",
                out.display(),
                m.scenario,
                m.sweep,
                sweep.hash
            );
        }
    }
    record::remove_partial_files(out)?;
    let done = record::read_records(out, &sweep.hash, total)?;
    let already: Vec<usize> = mine
        .iter()
        .copied()
        .filter(|r| done.contains_key(r))
        .collect();
    if !already.is_empty() && !options.resume {
        anyhow::bail!(
            "{} already holds {} finished runs of this sweep: add --resume to continue it, or \
             choose an empty folder",
            out.display(),
            already.len()
        );
    }
    record::write_manifest(out, &manifest(sweep, options.shard))?;
    let to_do: Vec<usize> = mine
        .iter()
        .copied()
        .filter(|r| !done.contains_key(r))
        .collect();
    let threads = worker_threads(options.threads).min(to_do.len().max(1));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("sweep-{i}"))
        .build()
        .context("starting the sweep's worker threads")?;
    let cache = TraceCache::default();
    let finished = AtomicUsize::new(0);
    pool.install(|| {
        to_do.par_iter().try_for_each(|&r| -> Result<()> {
            let record = run_one(sweep, r, &cache, options.allow_empty)
                .with_context(|| format!("run {r} ({})", spec::describe_run(&sweep.runs[r])))?;
            record::write_record(out, &record)?;
            progress(finished.fetch_add(1, Ordering::Relaxed) + 1, to_do.len());
            Ok(())
        })
    })?;
    let written = match options.shard {
        Some(_) => Vec::new(),
        None => {
            let records = record::read_records(out, &sweep.hash, total)?;
            write_tables(out, &manifest(sweep, None), records)?
        }
    };
    Ok(SweepOutcome {
        total_runs: total,
        my_runs: mine.len(),
        skipped: already.len(),
        written,
    })
}

fn manifest(sweep: &Sweep, shard: Option<Shard>) -> Manifest {
    Manifest {
        clustersim: crate::run::PROGRAM.version.to_string(),
        scenario: sweep.base.path.display().to_string(),
        sweep: sweep.hash.clone(),
        runs: sweep.runs.len(),
        keys: sweep.keys.clone(),
        plot_metrics: sweep.plot_metrics.clone(),
        pareto: sweep.pareto.clone(),
        shard: shard.map(|s| [s.index, s.count]),
    }
}

/// Simulates a scenario as `clustersim run SCENARIO` would (without writing anything);
/// unless `allow_empty`, a workload none of whose jobs (or none of one class's jobs) could
/// run is an error, as for `run`.
pub fn simulate(
    loaded: &LoadedScenario,
    cache: &TraceCache,
    allow_empty: bool,
) -> Result<crate::run::Summary> {
    let plan = plan_run(&RunRequest::default(), Some(loaded), Some(cache))?;
    if !allow_empty {
        crate::plan::refuse_all_dropped(&plan.workload, Some(loaded), None)?;
    }
    let policy = plan.policies[0];
    let outcome = crate::run::run(&plan.workload, policy, &plan.options, &mut |_| {})?;
    Ok(outcome.summary)
}

/// Simulates run `r` of `sweep`.
pub fn run_one(
    sweep: &Sweep,
    r: usize,
    cache: &TraceCache,
    allow_empty: bool,
) -> Result<RunRecord> {
    let summary = simulate(&sweep.scenario_of(r)?, cache, allow_empty)?;
    Ok(RunRecord {
        sweep: sweep.hash.clone(),
        run: r,
        params: sweep
            .keys
            .iter()
            .map(|k| {
                let v = sweep
                    .value_of(r, k)
                    .map(|v| record::json_of(&v))
                    .unwrap_or(serde_json::Value::Null);
                (k.clone(), v)
            })
            .collect(),
        metrics: record::flatten_metrics(&summary),
    })
}

/// Writes the tables and plots of a complete set of records.
fn write_tables(
    out: &Path,
    manifest: &Manifest,
    records: std::collections::BTreeMap<usize, RunRecord>,
) -> Result<Vec<String>> {
    let missing: Vec<usize> = (0..manifest.runs)
        .filter(|r| !records.contains_key(r))
        .collect();
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(10).map(|r| r.to_string()).collect();
        anyhow::bail!(
            "{} of {} runs have no results (runs {}{}): run the missing shards, or the sweep \
             again with --resume",
            missing.len(),
            manifest.runs,
            shown.join(", "),
            if missing.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        );
    }
    let records: Vec<RunRecord> = records.into_values().collect();
    results::write_results(out, manifest, &records)
}

/// Joins the run records of shard folders into `out` and writes the sweep's tables and
/// plots there: the same bytes as the unsharded sweep. Returns the files written.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Vec<String>> {
    let Some(first) = dirs.first() else {
        anyhow::bail!("give the shard folders to merge");
    };
    let reference = record::read_manifest(first)?;
    let mut records = std::collections::BTreeMap::new();
    for dir in dirs {
        let m = record::read_manifest(dir)?;
        if m.sweep != reference.sweep || m.runs != reference.runs {
            anyhow::bail!(
                "{} and {} hold different sweeps (hashes {} and {}): merge shards of one sweep",
                first.display(),
                dir.display(),
                reference.sweep,
                m.sweep
            );
        }
        let shard_records = record::read_records(dir, &reference.sweep, reference.runs)?;
        // A shard folder is finished when it holds every run it owns: name the missing
        // ones, so an interrupted shard is found before the merged table is short.
        if let Some([index, count]) = m.shard.filter(|[_, count]| *count > 0) {
            let shard = Shard { index, count };
            let missing: Vec<String> = (0..reference.runs)
                .filter(|&r| shard.owns(r) && !shard_records.contains_key(&r))
                .map(|r| r.to_string())
                .collect();
            if !missing.is_empty() {
                let shown = missing
                    .iter()
                    .take(10)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ");
                anyhow::bail!(
                    "{}: shard {index}/{count} is not finished: {} of its runs have no results \
                     (runs {shown}{}); run it again with --resume",
                    dir.display(),
                    missing.len(),
                    if missing.len() > 10 { ", …" } else { "" }
                );
            }
        }
        for (r, rec) in shard_records {
            if let Some(other) = records.get(&r) {
                if *other != rec {
                    anyhow::bail!("run {r} appears twice with different results");
                }
            }
            records.insert(r, rec);
        }
    }
    let manifest = Manifest {
        shard: None,
        ..reference
    };
    std::fs::create_dir_all(record::runs_dir(out))
        .with_context(|| format!("creating {}", out.display()))?;
    for rec in records.values() {
        if !record::record_path(out, rec.run).exists() {
            record::write_record(out, rec)?;
        }
    }
    record::write_manifest(out, &manifest)?;
    write_tables(out, &manifest, records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs_are_checked() {
        assert_eq!("1/4".parse::<Shard>(), Ok(Shard { index: 1, count: 4 }));
        let e = "3/2".parse::<Shard>().unwrap_err();
        assert!(e.contains("not below the count 2"), "{e}");
        assert!("2/0".parse::<Shard>().is_err());
        assert!("x/2".parse::<Shard>().is_err());
        assert!("2".parse::<Shard>().is_err());
        let s = Shard { index: 1, count: 3 };
        let owned: Vec<usize> = (0..10).filter(|&r| s.owns(r)).collect();
        assert_eq!(owned, [1, 4, 7]);
    }
}
