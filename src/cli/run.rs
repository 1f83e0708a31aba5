//! `clustersim run`: a scenario, a trace or the built-in demo, under one policy or all
//! three, printed and (with --out) written with its report.

use super::input::WorkloadArgs;
use super::progress::run_with_progress;
use super::{Cli, Command};
use crate::outdir::{self, Staged};
use crate::output;
use crate::plan::{plan_run, RunPlan, RunRequest, WorkloadRequest};
use crate::policy::PolicyKind;
use crate::report::{self, compare, ReportOptions, TableFormat};
use crate::run::RunOutcome;
use crate::scenario;
use crate::workload::Workload;
use anyhow::{Context, Result};
use clap::{Args, Parser};
use std::path::PathBuf;

/// Arguments of `clustersim run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// A scenario file (TOML: cluster, workload, policy, seed, output; see docs/scenarios.md). Flags
    /// given on the command line override what it says.
    #[arg(value_name = "SCENARIO")]
    pub scenario: Option<PathBuf>,
    /// The workload: an SWF trace (.swf or .swf.gz). Without it and without a scenario, the
    /// built-in demo runs.
    #[arg(long, short, value_name = "FILE")]
    pub workload: Option<PathBuf>,
    /// Scheduling policy. Default: easy for a trace; all three for the policies demo.
    #[arg(long, short, value_enum)]
    pub policy: Option<PolicyKind>,
    /// Write the run's results to this directory: jobs.csv, dropped.csv, summary.json,
    /// timing.json, the tables (see --format), plots/ (PNG and SVG) and report.html. The demos
    /// write one subdirectory per run and compare.html beside them.
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Format of the tables jobs, summary and timeseries (jobs.csv is always written)
    /// [default: parquet].
    #[arg(long, value_enum)]
    pub format: Option<TableFormat>,
    /// Step of the time series' fixed samples in seconds (0: only rows at changes)
    /// [default: 3600].
    #[arg(long, value_name = "SECONDS")]
    pub timeseries_step: Option<u64>,
    /// Write no plots and no report.html (tables only).
    #[arg(long)]
    pub no_plots: bool,
    /// Seed of the run's random streams (the demo's workload is generated from it)
    /// [default: 1].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Bounded-slowdown threshold τ in seconds, at least 1: bsld = max(1, (wait + run) /
    /// max(run, τ)) [default: 10].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub bsld_tau: Option<u64>,
    /// The time to start within which a session (an interactive job) counts as started on
    /// target, in seconds [default: 60].
    #[arg(long, value_name = "SECONDS")]
    pub session_start_target: Option<u64>,
    /// How to read the workload.
    #[command(flatten)]
    pub input: WorkloadArgs,
    /// Replace --out DIR if it already holds a result (it is replaced whole, only once the
    /// new result is complete). Without it, a folder that is not empty is refused.
    #[arg(long)]
    pub force: bool,
    /// Print nothing on standard output.
    #[arg(long, short)]
    pub quiet: bool,
    /// Without a scenario or --workload, which demo runs: the sessions-and-batch trade-off
    /// (no pool, a pool, a pool with preemption) or the comparison of the three policies
    /// [default: tradeoff].
    #[arg(long, value_enum)]
    pub demo: Option<DemoKind>,
    /// Run even when every job of the workload, or every job of one generated class, is
    /// dropped (by default that is an error: such a run is almost always a scenario that
    /// cannot be placed).
    #[arg(long)]
    pub allow_empty: bool,
}

impl From<&RunArgs> for RunRequest {
    fn from(args: &RunArgs) -> RunRequest {
        // Taken apart field by field, so that a new flag cannot be forgotten here.
        let RunArgs {
            // The scenario is loaded and `quiet` and `allow_empty` obeyed by the command, not
            // by the plan.
            scenario: _,
            workload,
            policy,
            out,
            format,
            timeseries_step,
            no_plots,
            seed,
            bsld_tau,
            session_start_target,
            input,
            quiet: _,
            // Obeyed by the command when it writes, not by the plan.
            force: _,
            // Which demo: the command plans it.
            demo: _,
            allow_empty: _,
        } = args;
        RunRequest {
            workload: workload.clone(),
            policy: *policy,
            out: out.clone(),
            format: *format,
            timeseries_step_s: *timeseries_step,
            no_plots: *no_plots,
            seed: *seed,
            bsld_tau_s: *bsld_tau,
            session_start_target_s: *session_start_target,
            input: WorkloadRequest::from(input),
        }
    }
}

/// The arguments of a bare `clustersim run`, as clap gives them: every flag at its default.
pub(super) fn bare_run_args() -> Result<RunArgs> {
    match Cli::try_parse_from(["clustersim", "run"])?.command {
        Some(Command::Run(args)) => Ok(args),
        _ => anyhow::bail!("internal error: `run` did not parse as the run command"),
    }
}

/// The built-in demo's scenario (`scenarios/demo.toml`, compiled in): its points are the
/// demo's runs.
const DEMO_SCENARIO: &str = include_str!("../../scenarios/demo.toml");
const DEMO_PATH: &str = "scenarios/demo.toml";

/// Which built-in demo a bare `clustersim run` shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoKind {
    /// Sessions and batch on a GPU cluster: no pool, a pool, a pool with preemption
    /// (`scenarios/demo.toml`).
    Tradeoff,
    /// The three policies (fcfs, easy, conservative) on a generated batch workload.
    Policies,
}

/// What `run` runs: labelled plans (one per demo point; else one), each under its policies.
fn plans(
    args: &RunArgs,
    loaded: Option<&scenario::LoadedScenario>,
) -> Result<Vec<(String, RunPlan)>> {
    let request = RunRequest::from(args);
    let tradeoff = args.scenario.is_none()
        && args.workload.is_none()
        && args.demo.unwrap_or(DemoKind::Tradeoff) == DemoKind::Tradeoff;
    if !tradeoff {
        return Ok(vec![(String::new(), plan_run(&request, loaded, None)?)]);
    }
    let demo = scenario::from_text(std::path::Path::new(DEMO_PATH), DEMO_SCENARIO.to_string())?;
    let sweep = crate::sweep::spec::Sweep::from_scenario(&demo)?;
    (0..sweep.runs.len())
        .map(|i| {
            let point = sweep.scenario_of(i)?;
            let label = point
                .scenario
                .name
                .clone()
                .unwrap_or_else(|| format!("point-{i}"));
            Ok((label, plan_run(&request, Some(&point), None)?))
        })
        .collect()
}

pub(super) fn run_command(args: RunArgs) -> Result<()> {
    let loaded = match &args.scenario {
        Some(path) => Some(scenario::load(path)?),
        None => None,
    };
    let plans = plans(&args, loaded.as_ref())?;
    if !args.allow_empty {
        for (_, plan) in &plans {
            crate::plan::refuse_all_dropped(
                &plan.workload,
                loaded.as_ref(),
                args.workload.as_deref(),
            )?;
        }
    }
    let tradeoff_demo = plans.len() > 1;
    if !args.quiet {
        if tradeoff_demo {
            let labels: Vec<&str> = plans.iter().map(|(l, _)| l.as_str()).collect();
            say!(
                "clustersim demo: GPU notebooks and batch training on 16 nodes of 8 GPUs, {} \
                 ways: {} ({DEMO_PATH})",
                plans.len(),
                labels.join(", ")
            );
            say!("The policy comparison of earlier versions: clustersim run --demo policies\n");
        } else if let Some(spec) = &plans[0].1.demo {
            say!(
                "clustersim demo: {} generated jobs on {} processors, offered load {} (seed {})",
                spec.jobs,
                spec.procs,
                spec.load,
                spec.seed
            );
            say!("Replay a real trace with: clustersim run --workload TRACE.swf --policy easy --out DIR\n");
        }
    }
    // Each run: its label (folder and column), its plan and its policy.
    let runs: Vec<(String, &RunPlan, PolicyKind)> = plans
        .iter()
        .flat_map(|(label, plan)| {
            plan.policies.iter().map(move |&policy| {
                let name = if plan.policies.len() > 1 || label.is_empty() {
                    policy.as_str().to_string()
                } else {
                    label.clone()
                };
                (name, plan, policy)
            })
        })
        .collect();
    let first = &plans[0].1;
    // The output folder is checked before the simulation, so a refusal costs nothing; it is
    // written under a temporary name and renamed into place when complete.
    let input_files = run_inputs(&args, loaded.as_ref());
    let inputs: Vec<&std::path::Path> = input_files.iter().map(PathBuf::as_path).collect();
    let staged = match &first.out {
        Some(out) => Some(Staged::begin(out, &inputs, args.force)?),
        None => None,
    };
    let per_run_dirs = runs.len() > 1;
    let mut outcomes: Vec<RunOutcome> = Vec::new();
    let mut run_dirs: Vec<PathBuf> = Vec::new();
    for (label, plan, policy) in &runs {
        let (workload, policy) = (&plan.workload, *policy);
        let mut outcome = run_with_progress(workload, policy, &plan.options)?;
        debug_checks(policy, workload, &outcome)?;
        outcome.timing.peak_memory_mib = output::peak_memory_mib();
        if let Some(staged) = &staged {
            let dir = if per_run_dirs {
                staged.path().join(label)
            } else {
                staged.path().to_path_buf()
            };
            output::write_run_dir(&dir, workload, &outcome)
                .with_context(|| format!("writing results to {}", dir.display()))?;
            let report_options = ReportOptions {
                format: plan.format,
                timeseries_step_s: plan.timeseries_step_s,
                plots: plan.plots,
                label: label.clone(),
            };
            report::write_report(&dir, workload, &outcome, &report_options)
                .with_context(|| format!("writing the report to {}", dir.display()))?;
            if per_run_dirs {
                // Each run's folder is a finished run of its own (the notebooks read one).
                outdir::write_manifest(&dir)?;
            }
            run_dirs.push(dir);
        }
        outcomes.push(outcome);
    }
    if let (Some(staged), true) = (&staged, run_dirs.len() > 1 && first.plots) {
        let runs = compare::load_runs(&run_dirs)?;
        compare::write_compare_dir(staged.path(), &runs)?;
    }
    if let (Some(staged), Some(out)) = (staged, &first.out) {
        staged
            .finish()
            .with_context(|| format!("putting the results in place at {}", out.display()))?;
    }
    if !args.quiet {
        let summary = &outcomes[0].summary;
        if tradeoff_demo {
            say!("workload: {}", summary.workload);
        } else {
            say!(
                "workload: {} ({} processors)",
                summary.workload,
                summary.machine_procs
            );
        }
        say!(
            "jobs: {} in input, {} simulated, dropped: {}",
            summary.jobs.input,
            summary.jobs.simulated,
            output::dropped_line(summary)
        );
        say!();
        let table: Vec<_> = runs
            .iter()
            .zip(&outcomes)
            .map(|((label, _, _), o)| (label.as_str(), &o.summary, &o.timing))
            .collect();
        say_raw!("{}", output::comparison_table(&table));
        if let Some(out) = &first.out {
            let page = if run_dirs.len() > 1 && first.plots {
                out.join("compare.html")
            } else {
                out.join("report.html")
            };
            say!("\nresults written to {}", out.display());
            if first.plots {
                say!("open {} in a browser", page.display());
            }
        } else if tradeoff_demo || first.demo.is_some() {
            say!("\nAdd --out DIR to write tables, plots and HTML reports.");
        }
    }
    Ok(())
}

/// The files a run reads: the scenario, the --workload trace and the scenario's traces.
/// `--out` may never be one of them, nor hold one (replacing it would remove them).
fn run_inputs(args: &RunArgs, loaded: Option<&scenario::LoadedScenario>) -> Vec<PathBuf> {
    let mut inputs: Vec<PathBuf> = args
        .scenario
        .iter()
        .chain(&args.workload)
        .cloned()
        .collect();
    if let Some(l) = loaded {
        inputs.extend(l.trace_paths());
    }
    inputs
}

/// In debug builds, every run checks its schedule's invariants.
fn debug_checks(policy: PolicyKind, workload: &Workload, outcome: &RunOutcome) -> Result<()> {
    if cfg!(debug_assertions) {
        crate::check::check_schedule(workload, &outcome.result)?;
        crate::check::check_policy(policy, workload, &outcome.result)?;
        crate::check::check_nodes(workload, &outcome.result)?;
        let fs = outcome.summary.options.filesystem;
        crate::check::check_filesystem(workload, &outcome.result, fs)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The library's defaults and the command line's must be one: a bare `clustersim run`
    /// asks for nothing on top of the scenario.
    #[test]
    fn a_bare_run_requests_the_library_defaults() {
        let bare = RunRequest::from(&bare_run_args().unwrap());
        assert_eq!(bare, RunRequest::default());
    }
}
