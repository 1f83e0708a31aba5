//! `clustersim inspect` (a trace's statistics) and `clustersim validate` (a scenario
//! checked without running it).

use super::input::{load_workload, WorkloadArgs};
use crate::plan::{plan_run, RunRequest};
use crate::scenario;
use crate::workload::JobKind;
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `clustersim inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The trace to inspect (any format `run --workload` reads), or a scenario file (.toml):
    /// the workload it runs.
    pub file: PathBuf,
    /// How to read it.
    #[command(flatten)]
    pub input: WorkloadArgs,
}

/// Arguments of `clustersim validate`.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The scenario file.
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
    /// Accept a workload whose every job would be dropped (as `run --allow-empty` runs it).
    #[arg(long)]
    pub allow_empty: bool,
}

pub(super) fn inspect_command(args: &InspectArgs) -> Result<()> {
    let w = load_workload(&args.file, &args.input)?;
    say!("file: {}", args.file.display());
    if let Some(c) = &w.meta.computer {
        say!("computer: {c}");
    }
    for key in [
        "Version",
        "Installation",
        "MaxProcs",
        "MaxNodes",
        "UnixStartTime",
        "TimeZoneString",
        "StartTime",
        "EndTime",
        "MaxJobs",
    ] {
        if let Some(v) = w.meta.header.get(key) {
            say!("header {key}: {v}");
        }
    }
    say!("machine size used: {} processors", w.machine_procs);
    say!("job records: {}", w.input_jobs);
    say!("would simulate: {}", w.jobs.len());
    say!("would drop: {}", w.dropped.len());
    for (reason, n) in w.dropped_by_reason() {
        if n > 0 {
            say!("  {reason}: {n}");
        }
    }
    if let (Some(first), Some(last)) = (w.jobs.first(), w.jobs.last()) {
        let span = last.submit.saturating_since(first.submit);
        say!(
            "submit span: {} s ({:.1} days), first at {} s, last at {} s",
            span,
            span.as_secs_f64() / 86_400.0,
            first.submit,
            last.submit
        );
        let area: f64 = w
            .jobs
            .iter()
            .map(|j| f64::from(j.procs) * j.work.as_secs_f64())
            .sum();
        if span.as_ms() > 0 {
            say!(
                "offered load: {:.3} (sum of size x runtime / (machine x submit span))",
                area / (f64::from(w.machine_procs) * span.as_secs_f64())
            );
        }
        let n = w.jobs.len() as f64;
        let interactive = w
            .jobs
            .iter()
            .filter(|j| j.kind == JobKind::Interactive)
            .count();
        say!("interactive jobs: {interactive}");
        say!(
            "mean size: {:.1} processors, mean runtime: {:.0} s, mean estimate: {:.0} s",
            w.jobs.iter().map(|j| f64::from(j.procs)).sum::<f64>() / n,
            w.jobs.iter().map(|j| j.work.as_secs_f64()).sum::<f64>() / n,
            w.jobs.iter().map(|j| j.estimate.as_secs_f64()).sum::<f64>() / n,
        );
        say!(
            "killed at walltime (with --kill-at-walltime): {}",
            w.killed_jobs()
        );
    }
    Ok(())
}

pub(super) fn validate_command(args: &ValidateArgs) -> Result<()> {
    let loaded = scenario::load(&args.scenario)?;
    let f = &loaded.scenario;
    // Everything `run` and `sweep` would check, before a word is printed: the workload read
    // (or generated) and placed on the cluster as `run` would, and the sweep's every run.
    let plan = plan_run(&RunRequest::default(), Some(&loaded), None)?;
    if !args.allow_empty {
        crate::plan::refuse_all_dropped(&plan.workload, Some(&loaded), None)?;
    }
    let sweep = match &f.sweep {
        Some(_) => Some(crate::sweep::spec::Sweep::from_scenario(&loaded)?),
        None => None,
    };
    // Each run of the sweep planned as `sweep` would: a run none of whose jobs (or of one
    // class's jobs) could run is an error here too.
    if let (Some(sweep), false) = (&sweep, args.allow_empty) {
        let cache = crate::plan::TraceCache::default();
        for r in 0..sweep.runs.len() {
            let run = sweep.scenario_of(r)?;
            let plan = plan_run(&RunRequest::default(), Some(&run), Some(&cache))?;
            crate::plan::refuse_all_dropped(&plan.workload, Some(&run), None).with_context(
                || {
                    format!(
                        "in the sweep's run {r} ({})",
                        crate::sweep::spec::describe_run(&sweep.runs[r])
                    )
                },
            )?;
        }
    }
    let w = &plan.workload;
    say!(
        "{}: valid scenario {:?}",
        args.scenario.display(),
        loaded.name()
    );
    if let Some(c) = &f.cluster {
        say!(
            "cluster: {} nodes, {} cores, {} GPUs",
            c.total_nodes(),
            c.total_cores(),
            c.total_gpus()
        );
        for (name, t) in &c.node_types {
            let mut gpus = String::new();
            if t.gpus > 0 {
                gpus = format!(", {} GPUs", t.gpus);
                if let Some(m) = &t.gpu_model {
                    gpus.push_str(&format!(" {m}"));
                }
                if let Some(mig) = &t.mig {
                    gpus.push_str(&format!(
                        " as {} x {} MIG slices each",
                        mig.slices_per_gpu, mig.profile
                    ));
                }
            }
            say!(
                "  node type {name}: {} x ({} cores, {} GB{gpus})",
                t.count,
                t.cores,
                t.memory_gb
            );
        }
        for (name, p) in &c.partitions {
            say!(
                "  partition {name}: {} ({} jobs, priority {}{})",
                p.node_types.join(", "),
                format!("{:?}", p.kinds).to_lowercase(),
                p.priority,
                p.max_walltime_s
                    .map(|s| format!(", max walltime {s} s"))
                    .unwrap_or_default()
            );
        }
        if let Some(fab) = &c.fabric {
            say!(
                "  fabric: fat-tree, {} nodes per leaf, {} leaves per spine, oversubscription {}",
                fab.nodes_per_leaf,
                fab.leaves_per_spine,
                fab.oversubscription
            );
        }
    }
    match (&f.workload.trace, &f.workload.generator) {
        (Some(trace), _) => {
            say!(
                "workload: {} ({} jobs to simulate, {} dropped)",
                loaded.resolve(trace).display(),
                w.jobs.len(),
                w.dropped.len()
            );
        }
        (None, Some(g)) => say!(
            "workload: generated, {} jobs at load {} ({} to simulate, {} dropped)",
            g.jobs,
            g.load,
            w.jobs.len(),
            w.dropped.len()
        ),
        (None, None) if !f.workload.sources.is_empty() => {
            say!(
                "workload: {} sources ({} jobs to simulate, {} dropped)",
                f.workload.sources.len(),
                w.jobs.len(),
                w.dropped.len()
            );
        }
        (None, None) => {}
    }
    say!("policy: {}", f.policy.name);
    if let Some(r) = plan.options.rates {
        say!(
            "rates: GPU speed {}, fabric slowdown c = {} (oversubscription {})",
            if r.gpu_speed { "on" } else { "off" },
            r.fabric_slowdown,
            r.oversubscription
        );
    }
    if let Some(fs) = plan.options.filesystem {
        say!(
            "file system: {} GB/s shared by the jobs staging",
            fs.bandwidth_gb_s
        );
    }
    if let Some(sweep) = &sweep {
        say!(
            "sweep: {} runs over {}, each run's scenario valid",
            sweep.runs.len(),
            sweep.keys.join(", ")
        );
    }
    Ok(())
}
