//! The command line: argument definitions (clap) and the commands they run. This is the
//! outer layer: it reads files, draws progress, prints and writes results.

use crate::output;
use crate::plan::{plan_run, RunRequest, WorkloadRequest};
use crate::policy::PolicyKind;
use crate::report::{self, compare, ReportOptions, TableFormat};
use crate::run::{self, RunOptions, RunOutcome};
use crate::scenario;
use crate::simulation::Progress;
use crate::workload::swf::SwfOptions;
use crate::workload::synthetic::{generate, SyntheticSpec};
use crate::workload::{JobKind, Workload};
use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// clustersim: a deterministic discrete-event simulator of HPC and GPU clusters and their
/// schedulers.
///
/// Run `clustersim run` with no arguments for the built-in demo.
#[derive(Parser, Debug)]
#[command(name = "clustersim", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Replay a workload under a policy (with no --workload: the built-in demo, which
    /// generates a workload and compares fcfs, easy and conservative on it).
    Run(RunArgs),
    /// Print a trace's statistics: jobs, time span, machine size, offered load, and what
    /// would be dropped and why (a scenario file: the workload it runs).
    Inspect(InspectArgs),
    /// Write a generated workload to an SWF file (the demo's generator, at any size).
    Generate(GenerateArgs),
    /// Convert a trace, or a scenario's workload (generated, composed, any format), to
    /// another format: SWF (jobs as processors anywhere) or the project's input job table
    /// (CSV).
    Convert(ConvertArgs),
    /// Compare runs side by side: each metric of each run's summary.json, with its change
    /// relative to the first run.
    Compare(CompareArgs),
    /// Check a scenario file without running it: syntax, unknown keys, contradictions,
    /// and that its trace can be read.
    Validate(ValidateArgs),
    /// Run a scenario's [sweep]: every combination of the swept values, in parallel, into
    /// one table (sweep.parquet, sweep.csv), per-point means with 95% confidence intervals
    /// (points.*) and plots; or a shard of it (--shard), or a Slurm script (--emit-slurm).
    Sweep(SweepArgs),
    /// Join the folders of a sweep's shards into the sweep's table and plots (the same bytes
    /// as the unsharded sweep).
    Merge(MergeArgs),
    /// For CI pipelines: run scenarios and compare their metrics with a baseline file.
    /// Exits 0 when every metric is within its tolerance, 1 when some regressed (with a
    /// table of them), 2 on usage or input errors.
    Check(CheckArgs),
}

/// Arguments of `clustersim check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Scenario files (a scenario with a [sweep] is checked run by run).
    #[arg(required = true, value_name = "SCENARIO")]
    pub scenarios: Vec<PathBuf>,
    /// The baseline file (JSON).
    #[arg(long, short, value_name = "FILE")]
    pub baseline: PathBuf,
    /// Write the baseline from these runs instead of checking (keeping the file's
    /// tolerances, if it has some).
    #[arg(long)]
    pub update_baseline: bool,
    /// Print the result as Markdown (for a pull-request comment).
    #[arg(long)]
    pub markdown: bool,
    /// Also write the result as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Worker threads [default: one per core].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Arguments of `clustersim sweep`.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// The scenario file, with a [sweep] section.
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
    /// The output folder: runs/ (one record per finished run), sweep.json, the tables and
    /// plots/.
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,
    /// Worker threads (each run is single-threaded) [default: one per core].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Run only shard INDEX of COUNT (runs whose number is INDEX modulo COUNT), for
    /// `clustersim merge` to join; e.g. 0/4.
    #[arg(long, value_name = "INDEX/COUNT")]
    pub shard: Option<crate::sweep::Shard>,
    /// Skip runs whose results are already in DIR (continue an interrupted sweep).
    #[arg(long)]
    pub resume: bool,
    /// Do not run: write an sbatch script that runs the sweep as a Slurm job array with
    /// --shards tasks, then merges them into DIR.
    #[arg(long, value_name = "FILE")]
    pub emit_slurm: Option<PathBuf>,
    /// Array tasks for --emit-slurm, at least 1 (more than the runs: one a run) [default: the
    /// number of runs, at most 64].
    #[arg(long, value_name = "N")]
    pub shards: Option<usize>,
    /// An extra #SBATCH option for --emit-slurm (repeatable), e.g. --sbatch-option=--partition=batch.
    #[arg(long, value_name = "OPTION", allow_hyphen_values = true)]
    pub sbatch_option: Vec<String>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Arguments of `clustersim merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The shards' output folders.
    #[arg(required = true, value_name = "SHARD_DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where to write the merged sweep.
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The arguments of a bare `clustersim run`, as clap gives them: every flag at its default.
fn bare_run_args() -> Result<RunArgs> {
    match Cli::try_parse_from(["clustersim", "run"])?.command {
        Some(Command::Run(args)) => Ok(args),
        _ => anyhow::bail!("internal error: `run` did not parse as the run command"),
    }
}

/// The request of a bare `clustersim run`: every flag at its default, so that a scenario
/// run through it means what its file says. The same as [`RunRequest::default`], which is
/// what the library uses; a test holds the two equal.
pub fn default_run_args() -> Result<RunRequest> {
    Ok(RunRequest::from(&bare_run_args()?))
}

/// Arguments of `clustersim validate`.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The scenario file.
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
}

/// Arguments of `clustersim convert`.
#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// The trace to convert (any format `run --workload` reads), or a scenario file (.toml)
    /// whose workload (generated, composed, any format) is written.
    pub file: PathBuf,
    /// The format to write.
    #[arg(long, value_enum, default_value_t = ConvertTo::Swf)]
    pub to: ConvertTo,
    /// The file to write (gzip-compressed if it ends in .gz).
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// How to read the input.
    #[command(flatten)]
    pub input: WorkloadArgs,
}

/// Formats `convert` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ConvertTo {
    /// Standard Workload Format: jobs as processors anywhere (node structure, memory and
    /// GPUs cannot be expressed and are left out).
    Swf,
    /// The input job table: job_id, submit_s, run_s, estimate_s, procs, user, group,
    /// queue, partition, interactive (CSV).
    Jobs,
}

/// Arguments of `clustersim compare`.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Run directories (written by `clustersim run --out DIR`); the first is the reference.
    #[arg(required = true, value_name = "RUN_DIR")]
    pub runs: Vec<PathBuf>,
    /// Print the table as Markdown (for a pull-request comment) instead of plain text.
    #[arg(long)]
    pub markdown: bool,
    /// Also write compare.html (with the comparison plot), compare.md and plots/runs.png
    /// and .svg into this directory.
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Arguments of `clustersim generate`.
#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Number of jobs.
    #[arg(long, default_value_t = 10_000)]
    pub jobs: usize,
    /// Machine size in processors.
    #[arg(long, default_value_t = 128)]
    pub procs: u32,
    /// Offered load (Σ size × runtime / (machine × span)).
    #[arg(long, default_value_t = 0.85)]
    pub load: f64,
    /// Seed of the generator's random streams.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The SWF file to write (gzip-compressed if it ends in .gz).
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
}

/// How to read a workload file.
#[derive(Args, Debug, Clone)]
pub struct WorkloadArgs {
    /// Machine size in processors; overrides the trace header's MaxProcs / MaxNodes.
    #[arg(long, value_name = "N")]
    pub procs: Option<u32>,
    /// Skip malformed lines (counting them as dropped) instead of stopping at the first.
    #[arg(long)]
    pub lenient: bool,
    /// Multiply the arrival rate by this factor, compressing inter-arrival times (1.2:
    /// demand grows 20 %).
    #[arg(long, value_name = "FACTOR")]
    pub load_factor: Option<f64>,
    /// Keep jobs submitted at least this many seconds after the first submission.
    #[arg(long, value_name = "SECONDS")]
    pub window_start: Option<u64>,
    /// Keep jobs submitted before this many seconds after the first submission.
    #[arg(long, value_name = "SECONDS")]
    pub window_end: Option<u64>,
    /// Keep jobs submitted at or after this date, UTC (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS;
    /// needs a trace that says when it starts: SWF UnixStartTime, sacct).
    #[arg(long, value_name = "DATE")]
    pub from_date: Option<String>,
    /// Keep jobs submitted before this date, UTC.
    #[arg(long, value_name = "DATE")]
    pub to_date: Option<String>,
    /// Keep only these users (comma-separated numbers, as in the trace).
    #[arg(long, value_delimiter = ',', value_name = "N,...")]
    pub users: Vec<i32>,
    /// Keep only these queues (comma-separated numbers; SWF queue 0 is interactive).
    #[arg(long, value_delimiter = ',', value_name = "N,...")]
    pub queues: Vec<i32>,
    /// Keep only these partitions (comma-separated numbers, as in the trace).
    #[arg(long, value_delimiter = ',', value_name = "N,...")]
    pub partitions: Vec<i32>,
    /// For an openb pod list (--trace-format openb): the openb node list whose nodes form
    /// the cluster.
    #[arg(long, value_name = "FILE")]
    pub node_list: Option<PathBuf>,
    /// For an openb pod list: a fractional GPU takes a whole GPU, or MIG slices
    /// [default: whole].
    #[arg(long, value_enum)]
    pub fractional: Option<crate::workload::openb::Fractional>,
    /// The trace's format: swf, sacct (Slurm `sacct -P` output), or auto (sacct when the
    /// first line is a sacct header) [default: auto].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub trace_format: Option<crate::workload::TraceFormat>,
    /// End jobs whose runtime exceeds their walltime estimate at the estimate, counting them
    /// as killed (default: raise the estimate to the runtime).
    #[arg(long)]
    pub kill_at_walltime: bool,
}

impl From<&WorkloadArgs> for WorkloadRequest {
    fn from(args: &WorkloadArgs) -> WorkloadRequest {
        // Taken apart field by field, so that a new flag cannot be forgotten here.
        let WorkloadArgs {
            procs,
            lenient,
            load_factor,
            window_start,
            window_end,
            from_date,
            to_date,
            users,
            queues,
            partitions,
            node_list,
            fractional,
            trace_format,
            kill_at_walltime,
        } = args;
        WorkloadRequest {
            procs: *procs,
            lenient: *lenient,
            load_factor: *load_factor,
            window_start_s: *window_start,
            window_end_s: *window_end,
            from_date: from_date.clone(),
            to_date: to_date.clone(),
            users: users.clone(),
            queues: queues.clone(),
            partitions: partitions.clone(),
            node_list: node_list.clone(),
            fractional: *fractional,
            trace_format: *trace_format,
            kill_at_walltime: *kill_at_walltime,
        }
    }
}

/// Arguments of `clustersim run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// A scenario file (TOML: cluster, workload, policy, seed, output; see README). Flags
    /// given on the command line override what it says.
    #[arg(value_name = "SCENARIO")]
    pub scenario: Option<PathBuf>,
    /// The workload: an SWF trace (.swf or .swf.gz). Without it and without a scenario, the
    /// built-in demo runs.
    #[arg(long, short, value_name = "FILE")]
    pub workload: Option<PathBuf>,
    /// Scheduling policy. Default: easy for a trace; all three for the demo.
    #[arg(long, short, value_enum)]
    pub policy: Option<PolicyKind>,
    /// Write the run's results to this directory: jobs.csv, dropped.csv, summary.json,
    /// timing.json, the tables (see --format), plots/ (PNG and SVG) and report.html. The demo
    /// writes one subdirectory per policy and compare.html beside them.
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
    /// How to read the workload.
    #[command(flatten)]
    pub input: WorkloadArgs,
    /// Print nothing on standard output.
    #[arg(long, short)]
    pub quiet: bool,
}

impl From<&RunArgs> for RunRequest {
    fn from(args: &RunArgs) -> RunRequest {
        // Taken apart field by field, so that a new flag cannot be forgotten here.
        let RunArgs {
            // The scenario is loaded and `quiet` obeyed by the command, not by the plan.
            scenario: _,
            workload,
            policy,
            out,
            format,
            timeseries_step,
            no_plots,
            seed,
            bsld_tau,
            input,
            quiet: _,
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
            input: WorkloadRequest::from(input),
        }
    }
}

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

/// Writes to standard output. A reader that went away (`clustersim ... | head`) is not an
/// error worth a message, and must never be a panic as `println!` would make it: the rest
/// of the output is dropped quietly.
fn emit(text: &str) -> Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// `println!` through [`emit`].
macro_rules! say {
    () => { emit("\n")? };
    ($($arg:tt)*) => { emit(&format!("{}\n", format_args!($($arg)*)))? };
}

/// `print!` through [`emit`].
macro_rules! say_raw {
    ($($arg:tt)*) => { emit(&format!($($arg)*))? };
}

/// Runs the parsed command line; the exit code on success (`check` exits 1 on a
/// regression).
pub fn main(cli: Cli) -> Result<std::process::ExitCode> {
    let success = |r: Result<()>| r.map(|()| std::process::ExitCode::SUCCESS);
    match cli.command {
        // No subcommand means `run` with its defaults: let clap supply them, so the bare
        // command can never drift from `clustersim run`.
        None => success(run_command(bare_run_args()?)),
        Some(Command::Run(args)) => success(run_command(args)),
        Some(Command::Inspect(args)) => success(inspect_command(&args)),
        Some(Command::Generate(args)) => success(generate_command(&args)),
        Some(Command::Compare(args)) => success(compare_command(&args)),
        Some(Command::Convert(args)) => success(convert_command(&args)),
        Some(Command::Validate(args)) => success(validate_command(&args)),
        Some(Command::Sweep(args)) => success(sweep_command(&args)),
        Some(Command::Merge(args)) => success(merge_command(&args)),
        Some(Command::Check(args)) => check_command(&args),
    }
}

fn check_command(args: &CheckArgs) -> Result<std::process::ExitCode> {
    use crate::baseline;
    let runs = baseline::runs_of(&args.scenarios)?;
    let existing = if args.baseline.exists() {
        Some(baseline::read(&args.baseline)?)
    } else {
        None
    };
    if existing.is_none() && !args.update_baseline {
        anyhow::bail!(
            "{}: no such baseline; write it with --update-baseline",
            args.baseline.display()
        );
    }
    let tolerances = existing
        .as_ref()
        .map(|b| b.tolerances.clone())
        .unwrap_or_else(baseline::default_tolerances);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .context("starting worker threads")?;
    let measured = pool.install(|| baseline::measure(&runs, &tolerances))?;
    if args.update_baseline {
        let file = baseline::Baseline {
            format: baseline::FORMAT.to_string(),
            tolerances,
            runs: measured,
        };
        baseline::write(&args.baseline, &file)?;
        say!(
            "baseline written to {}: {} runs, {} metrics each",
            args.baseline.display(),
            file.runs.len(),
            file.tolerances.len()
        );
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let Some(base) = existing else {
        anyhow::bail!("{}: no such baseline", args.baseline.display());
    };
    let comparisons = baseline::compare(&base, &measured, &args.baseline)?;
    if let Some(path) = &args.junit {
        std::fs::write(path, baseline::junit(&comparisons))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let regressed: Vec<&baseline::Comparison> = comparisons
        .iter()
        .filter(|c| c.status == baseline::Status::Regressed)
        .collect();
    let notable: Vec<&baseline::Comparison> = comparisons
        .iter()
        .filter(|c| c.status != baseline::Status::Ok)
        .collect();
    let improved = notable.len() - regressed.len();
    let headline = if regressed.is_empty() && improved > 0 {
        format!(
            "clustersim check: no regressions in {} metrics of {} runs; {improved} improved \
             beyond their tolerance of {}",
            comparisons.len(),
            measured.len(),
            args.baseline.display()
        )
    } else if regressed.is_empty() {
        format!(
            "clustersim check: all {} metrics of {} runs within tolerance of {}",
            comparisons.len(),
            measured.len(),
            args.baseline.display()
        )
    } else {
        format!(
            "clustersim check: {} of {} metrics regressed ({} runs, baseline {})",
            regressed.len(),
            comparisons.len(),
            measured.len(),
            args.baseline.display()
        )
    };
    let (header, rows) = baseline::rows(&notable);
    if args.markdown {
        say!("### {headline}\n");
        if !rows.is_empty() {
            say_raw!("{}", compare::markdown_table(&header, &rows));
        }
    } else {
        say!("{headline}");
        if !rows.is_empty() {
            say!();
            say_raw!("{}", compare::text_table(&header, &rows));
        }
    }
    if notable
        .iter()
        .any(|c| c.status == baseline::Status::Improved)
    {
        say!("\nSome metrics improved beyond their tolerance: accept them with --update-baseline.");
    }
    Ok(if regressed.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    })
}

fn sweep_command(args: &SweepArgs) -> Result<()> {
    let loaded = scenario::load(&args.scenario)?;
    let sweep = crate::sweep::spec::Sweep::from_scenario(&loaded)?;
    let total = sweep.runs.len();
    if let Some(file) = &args.emit_slurm {
        if args.shards == Some(0) {
            anyhow::bail!("--shards must be at least 1");
        }
        // An option is one #SBATCH line: a line break would smuggle others into the script.
        if let Some(bad) = args.sbatch_option.iter().find(|o| o.contains(['\n', '\r'])) {
            anyhow::bail!("--sbatch-option {bad:?} holds a line break; give one option per flag");
        }
        // More tasks than runs would leave some with nothing to do.
        let shards = args.shards.unwrap_or(total.min(64)).clamp(1, total);
        let absolute = |p: &Path| -> Result<PathBuf> {
            std::path::absolute(p).with_context(|| format!("resolving {}", p.display()))
        };
        let program = std::env::current_exe().context("finding the clustersim program")?;
        let out = absolute(&args.out)?;
        let script = crate::sweep::slurm::SlurmScript {
            program: &program,
            scenario: &absolute(&args.scenario)?,
            out: &out,
            shards,
            runs: total,
            name: &format!("clustersim-{}", loaded.name()),
            sbatch_options: &args.sbatch_option,
        }
        .render();
        // Slurm opens the tasks' output files in this folder: it must exist before they start.
        std::fs::create_dir_all(out.join("slurm"))
            .with_context(|| format!("creating {}", out.join("slurm").display()))?;
        std::fs::write(file, script).with_context(|| format!("writing {}", file.display()))?;
        if !args.quiet {
            say!(
                "{}: {total} runs as a Slurm array of {shards} tasks and a merge into {}",
                file.display(),
                out.display()
            );
            say!("submit it with: sbatch {}", file.display());
        }
        return Ok(());
    }
    let options = crate::sweep::SweepOptions {
        out: args.out.clone(),
        threads: args.threads,
        shard: args.shard,
        resume: args.resume,
    };
    let started = Instant::now();
    let reporter = SweepProgress::new(args.quiet);
    let outcome = crate::sweep::run_sweep(&sweep, &options, &|done, to_do| {
        reporter.update(done, to_do, started)
    })?;
    if !args.quiet {
        let share = match args.shard {
            Some(s) => format!(
                " (shard {}/{}: {} of them)",
                s.index, s.count, outcome.my_runs
            ),
            None => String::new(),
        };
        say!(
            "sweep {:?}: {} runs{share}, {} run now, {} already done, in {:.1} s",
            loaded.name(),
            outcome.total_runs,
            outcome.my_runs - outcome.skipped,
            outcome.skipped,
            started.elapsed().as_secs_f64()
        );
        if outcome.written.is_empty() {
            say!(
                "run records written to {}; join the shards with: clustersim merge --out DIR SHARD_DIR...",
                crate::sweep::record::runs_dir(&args.out).display()
            );
        } else {
            say!(
                "results written to {}: {}",
                args.out.display(),
                outcome.written.join(", ")
            );
        }
    }
    Ok(())
}

/// A sweep's progress on standard error: a line rewritten in place on a terminal, else a
/// line per tenth of the runs.
struct SweepProgress {
    quiet: bool,
    terminal: bool,
    last_tenth: std::sync::atomic::AtomicUsize,
}

impl SweepProgress {
    fn new(quiet: bool) -> SweepProgress {
        SweepProgress {
            quiet,
            terminal: std::io::stderr().is_terminal(),
            last_tenth: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// After a run: `done` of `to_do` runs finished, the first `started`.
    fn update(&self, done: usize, to_do: usize, started: Instant) {
        if self.quiet {
            return;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let left = to_do - done;
        // Runs so far predict the rest: a fair guess for a shuffled grid, and the sweep's
        // runs are spread over the grid by the pool's work stealing.
        let eta = elapsed / done.max(1) as f64 * left as f64;
        let line = format!(
            "sweep: {done}/{to_do} runs done, {left} left, about {} to finish",
            crate::report::plots::human_seconds(eta.round())
        );
        if self.terminal {
            eprint!("\r{line}    ");
            if done == to_do {
                eprintln!();
            }
        } else {
            let tenth = done * 10 / to_do.max(1);
            let last = self
                .last_tenth
                .fetch_max(tenth, std::sync::atomic::Ordering::Relaxed);
            if tenth > last {
                eprintln!("{line}");
            }
        }
    }
}

fn merge_command(args: &MergeArgs) -> Result<()> {
    let written = crate::sweep::merge(&args.dirs, &args.out)?;
    if !args.quiet {
        say!(
            "merged {} folders into {}: {}",
            args.dirs.len(),
            args.out.display(),
            written.join(", ")
        );
    }
    Ok(())
}

fn swf_options(args: &WorkloadArgs) -> SwfOptions {
    SwfOptions {
        procs: args.procs,
        kill_at_walltime: args.kill_at_walltime,
        lenient: args.lenient,
    }
}

/// Reads a workload file in any format (an openb pod list needs `--node-list`), shaped by
/// the flags' window, filters and load factor.
pub fn load_workload(path: &Path, args: &WorkloadArgs) -> Result<Workload> {
    // A scenario file: its workload as `run` would simulate it (any format, generated or
    // composed, on the scenario's cluster), shaped by the flags on top of the file.
    if path.extension().is_some_and(|e| e == "toml") {
        let loaded = scenario::load(path)?;
        let request = RunRequest {
            input: WorkloadRequest::from(args),
            ..RunRequest::default()
        };
        return Ok(plan_run(&request, Some(&loaded), None)?.workload);
    }
    let mut w = read_workload(path, args)?;
    crate::plan::shape_workload(&mut w, &WorkloadRequest::from(args), None)?;
    Ok(w)
}

fn read_workload(path: &Path, args: &WorkloadArgs) -> Result<Workload> {
    let format = args.trace_format.unwrap_or_default();
    if format == crate::workload::TraceFormat::Openb {
        let Some(list) = &args.node_list else {
            anyhow::bail!("an openb pod list needs its cluster: give --node-list FILE");
        };
        let cluster = crate::workload::openb::read_node_list(list)?;
        return Ok(crate::workload::openb::read_pod_list(
            path,
            &cluster,
            args.fractional.unwrap_or_default(),
            crate::cluster::nodes::Placement::default(),
        )?);
    }
    Ok(crate::workload::read_trace_file(
        path,
        format,
        &swf_options(args),
    )?)
}

fn run_command(args: RunArgs) -> Result<()> {
    let loaded = match &args.scenario {
        Some(path) => Some(scenario::load(path)?),
        None => None,
    };
    let plan = plan_run(&RunRequest::from(&args), loaded.as_ref(), None)?;
    if let (Some(spec), false) = (&plan.demo, args.quiet) {
        say!(
            "clustersim demo: {} generated jobs on {} processors, offered load {} (seed {})",
            spec.jobs,
            spec.procs,
            spec.load,
            spec.seed
        );
        say!("Replay a real trace with: clustersim run --workload TRACE.swf --policy easy --out DIR\n");
    }
    let (workload, policies, options) = (&plan.workload, &plan.policies, &plan.options);
    let mut outcomes: Vec<RunOutcome> = Vec::new();
    let mut run_dirs: Vec<PathBuf> = Vec::new();
    for &policy in policies {
        let mut outcome = run_with_progress(workload, policy, options)?;
        debug_checks(policy, workload, &outcome)?;
        outcome.timing.peak_memory_mib = output::peak_memory_mib();
        if let Some(out) = &plan.out {
            let dir = if plan.per_policy_dirs {
                out.join(policy.as_str())
            } else {
                out.clone()
            };
            output::write_run_dir(&dir, workload, &outcome)
                .with_context(|| format!("writing results to {}", dir.display()))?;
            let report_options = ReportOptions {
                format: plan.format,
                timeseries_step_s: plan.timeseries_step_s,
                plots: plan.plots,
                label: policy.as_str().to_string(),
            };
            report::write_report(&dir, workload, &outcome, &report_options)
                .with_context(|| format!("writing the report to {}", dir.display()))?;
            run_dirs.push(dir);
        }
        outcomes.push(outcome);
    }
    if let (Some(out), true) = (&plan.out, run_dirs.len() > 1 && plan.plots) {
        let runs = compare::load_runs(&run_dirs)?;
        compare::write_compare_dir(out, &runs)?;
    }
    if !args.quiet {
        let first = &outcomes[0].summary;
        say!(
            "workload: {} ({} processors)",
            first.workload,
            first.machine_procs
        );
        say!(
            "jobs: {} in input, {} simulated, dropped: {}",
            first.jobs.input,
            first.jobs.simulated,
            output::dropped_line(first)
        );
        say!();
        let runs: Vec<_> = outcomes.iter().map(|o| (&o.summary, &o.timing)).collect();
        say_raw!("{}", output::comparison_table(&runs));
        if let Some(out) = &plan.out {
            let page = if run_dirs.len() > 1 && plan.plots {
                out.join("compare.html")
            } else {
                out.join("report.html")
            };
            say!("\nresults written to {}", out.display());
            if plan.plots {
                say!("open {} in a browser", page.display());
            }
        } else if plan.demo.is_some() {
            say!("\nAdd --out DIR to write tables, plots and an HTML report.");
        }
    }
    Ok(())
}

/// In debug builds, every run checks its schedule's invariants.
fn debug_checks(policy: PolicyKind, workload: &Workload, outcome: &RunOutcome) -> Result<()> {
    if cfg!(debug_assertions) {
        crate::check::check_schedule(workload, &outcome.result)?;
        crate::check::check_policy(policy, workload, &outcome.result)?;
        crate::check::check_nodes(workload, &outcome.result)?;
    }
    Ok(())
}

/// Runs with a progress bar on standard error when it is a terminal and the run lasts
/// longer than a second.
fn run_with_progress(
    workload: &Workload,
    policy: PolicyKind,
    options: &RunOptions,
) -> Result<RunOutcome> {
    let started = Instant::now();
    let interactive = std::io::stderr().is_terminal();
    let mut bar: Option<ProgressBar> = None;
    let mut on_progress = |p: &Progress| {
        if !interactive || started.elapsed() < Duration::from_secs(1) {
            return;
        }
        let bar = bar.get_or_insert_with(|| {
            let b = ProgressBar::new(p.jobs_total as u64);
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} jobs done  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        let rate = p.events as f64 / started.elapsed().as_secs_f64().max(1e-9);
        bar.set_position(p.jobs_done as u64);
        bar.set_message(format!(
            "{policy}: simulated time {:.1} d, {:.2} M events/s",
            p.now.as_secs_f64() / 86_400.0,
            rate / 1e6
        ));
    };
    let outcome = run::run(workload, policy, options, &mut on_progress)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(outcome)
}

fn inspect_command(args: &InspectArgs) -> Result<()> {
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
            .map(|j| f64::from(j.procs) * j.run.as_secs_f64())
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
            w.jobs.iter().map(|j| j.run.as_secs_f64()).sum::<f64>() / n,
            w.jobs.iter().map(|j| j.estimate.as_secs_f64()).sum::<f64>() / n,
        );
        say!(
            "killed at walltime (with --kill-at-walltime): {}",
            w.killed_jobs()
        );
    }
    Ok(())
}

fn generate_command(args: &GenerateArgs) -> Result<()> {
    let min_load = crate::workload::synthetic::MIN_LOAD;
    if !(args.load >= min_load && args.load.is_finite()) {
        anyhow::bail!(
            "--load must be a number of at least {min_load}, got {}",
            args.load
        );
    }
    if args.procs == 0 {
        anyhow::bail!("--procs must be at least 1");
    }
    if args.jobs > crate::workload::synthetic::MAX_GENERATED_JOBS {
        anyhow::bail!(
            "--jobs must be at most {}, got {}",
            crate::workload::synthetic::MAX_GENERATED_JOBS,
            args.jobs
        );
    }
    let spec = SyntheticSpec {
        jobs: args.jobs,
        procs: args.procs,
        load: args.load,
        seed: args.seed,
    };
    let w = generate(&spec);
    let file = std::fs::File::create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let computer = format!("clustersim generator ({})", w.meta.source);
    let write = |out: Box<dyn std::io::Write>| {
        crate::workload::swf::write_swf(out, &w.jobs, w.machine_procs, &computer)
    };
    let result = if args.out.extension().is_some_and(|e| e == "gz") {
        write(Box::new(flate2::write::GzEncoder::new(
            std::io::BufWriter::new(file),
            flate2::Compression::fast(),
        )))
    } else {
        write(Box::new(std::io::BufWriter::new(file)))
    };
    result.with_context(|| format!("writing {}", args.out.display()))?;
    say!("wrote {} jobs to {}", w.jobs.len(), args.out.display());
    Ok(())
}

fn compare_command(args: &CompareArgs) -> Result<()> {
    let runs = compare::load_runs(&args.runs)?;
    let (header, rows) = compare::comparison(&runs);
    if args.markdown {
        say_raw!("{}", compare::markdown_table(&header, &rows));
    } else {
        say_raw!("{}", compare::text_table(&header, &rows));
    }
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        compare::write_compare_dir(out, &runs)?;
        if !args.markdown {
            say!(
                "\ncomparison written to {}",
                out.join("compare.html").display()
            );
        }
    }
    Ok(())
}

fn validate_command(args: &ValidateArgs) -> Result<()> {
    let loaded = scenario::load(&args.scenario)?;
    let f = &loaded.scenario;
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
            // Read as `run` would (any format, on the scenario's cluster, shaped).
            let plan = plan_run(&RunRequest::default(), Some(&loaded), None)?;
            let w = &plan.workload;
            say!(
                "workload: {} ({} jobs to simulate, {} dropped)",
                loaded.resolve(trace).display(),
                w.jobs.len(),
                w.dropped.len()
            );
        }
        (None, Some(g)) => say!("workload: generated, {} jobs at load {}", g.jobs, g.load),
        (None, None) if !f.workload.sources.is_empty() => {
            let plan = plan_run(&RunRequest::default(), Some(&loaded), None)?;
            let w = &plan.workload;
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
    Ok(())
}

fn convert_command(args: &ConvertArgs) -> Result<()> {
    let w = load_workload(&args.file, &args.input)?;
    let file = std::fs::File::create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut out: Box<dyn std::io::Write> = if args.out.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::write::GzEncoder::new(
            std::io::BufWriter::new(file),
            flate2::Compression::fast(),
        ))
    } else {
        Box::new(std::io::BufWriter::new(file))
    };
    let result = match args.to {
        ConvertTo::Swf => crate::workload::swf::write_swf(
            &mut out,
            &w.jobs,
            w.machine_procs,
            &format!(
                "converted by clustersim from {} ({})",
                w.meta.source, w.meta.format
            ),
        ),
        ConvertTo::Jobs => write_input_jobs(&mut out, &w),
    };
    result
        .and_then(|_| out.flush())
        .with_context(|| format!("writing {}", args.out.display()))?;
    let reasons: Vec<String> = w
        .dropped_by_reason()
        .iter()
        .filter(|(_, &n)| n > 0)
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    say!(
        "wrote {} jobs to {}; input jobs not converted: {}",
        w.jobs.len(),
        args.out.display(),
        if reasons.is_empty() {
            "none".to_string()
        } else {
            reasons.join(", ")
        }
    );
    Ok(())
}

/// The input job table: what a workload asks for, before any simulation.
fn write_input_jobs(out: &mut dyn std::io::Write, w: &Workload) -> std::io::Result<()> {
    writeln!(
        out,
        "job_id,submit_s,run_s,estimate_s,procs,user,group,queue,partition,interactive"
    )?;
    let opt = |v: i32| if v >= 0 { v.to_string() } else { String::new() };
    for j in &w.jobs {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            j.trace_id,
            crate::engine::time::fmt_seconds(j.submit.as_ms()),
            crate::engine::time::fmt_seconds(j.run.as_ms()),
            crate::engine::time::fmt_seconds(j.estimate.as_ms()),
            j.procs,
            opt(j.user),
            opt(j.group),
            opt(j.queue),
            opt(j.partition),
            u8::from(j.kind == JobKind::Interactive)
        )?;
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
        assert_eq!(default_run_args().unwrap(), RunRequest::default());
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
