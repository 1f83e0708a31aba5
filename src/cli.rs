//! The command line: argument definitions (clap) and the commands they run. This is the
//! outer layer: it reads files, draws progress, prints and writes results.

use crate::output;
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
    /// would be dropped and why.
    Inspect(InspectArgs),
    /// Write a generated workload to an SWF file (the demo's generator, at any size).
    Generate(GenerateArgs),
    /// Convert a trace to another format: SWF (from swf, sacct, or openb as processors
    /// anywhere) or the project's input job table (CSV).
    Convert(ConvertArgs),
    /// Compare runs side by side: each metric of each run's summary.json, with its change
    /// relative to the first run.
    Compare(CompareArgs),
    /// Check a scenario file without running it: syntax, unknown keys, contradictions,
    /// and that its trace can be read.
    Validate(ValidateArgs),
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
    /// The trace to convert (any format `run --workload` reads).
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
    /// Bounded-slowdown threshold τ in seconds: bsld = max(1, (wait + run) / max(run, τ))
    /// [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub bsld_tau: Option<u64>,
    /// How to read the workload.
    #[command(flatten)]
    pub input: WorkloadArgs,
    /// Print nothing on standard output.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Arguments of `clustersim inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The trace to inspect (.swf or .swf.gz).
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

/// Runs the parsed command line.
pub fn main(cli: Cli) -> Result<()> {
    match cli.command {
        // No subcommand means `run` with its defaults: let clap supply them, so the bare
        // command can never drift from `clustersim run`.
        None => match Cli::try_parse_from(["clustersim", "run"])?.command {
            Some(Command::Run(args)) => run_command(args),
            _ => anyhow::bail!("internal error: `run` did not parse as the run command"),
        },
        Some(Command::Run(args)) => run_command(args),
        Some(Command::Inspect(args)) => inspect_command(&args),
        Some(Command::Generate(args)) => generate_command(&args),
        Some(Command::Compare(args)) => compare_command(&args),
        Some(Command::Convert(args)) => convert_command(&args),
        Some(Command::Validate(args)) => validate_command(&args),
    }
}

fn swf_options(args: &WorkloadArgs) -> SwfOptions {
    SwfOptions {
        procs: args.procs,
        kill_at_walltime: args.kill_at_walltime,
        lenient: args.lenient,
    }
}

/// Reads a workload file in any format (an openb pod list needs `--node-list`).
pub fn load_workload(path: &Path, args: &WorkloadArgs) -> Result<Workload> {
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

/// The parts of a run plan every kind of workload shares.
struct Common {
    options: RunOptions,
    out: Option<PathBuf>,
    format: TableFormat,
    timeseries_step_s: u64,
    plots: bool,
}

/// The plan, once the workload is read: shaped by the filters and load factor.
fn finish(
    common: Common,
    mut workload: Workload,
    policies: Vec<PolicyKind>,
    demo: bool,
    args: &RunArgs,
    file: Option<&scenario::Scenario>,
) -> Result<RunPlan> {
    shape_workload(&mut workload, &args.input, file)?;
    Ok(RunPlan {
        workload,
        per_policy_dirs: demo && policies.len() > 1,
        policies,
        options: common.options,
        out: common.out,
        format: common.format,
        timeseries_step_s: common.timeseries_step_s,
        plots: common.plots,
        demo,
    })
}

/// Everything a `run` needs, from the scenario file (if any) with the flags on top.
struct RunPlan {
    workload: Workload,
    policies: Vec<PolicyKind>,
    options: RunOptions,
    out: Option<PathBuf>,
    format: TableFormat,
    timeseries_step_s: u64,
    plots: bool,
    /// One subdirectory per policy (the demo).
    per_policy_dirs: bool,
    demo: bool,
}

fn plan_run(args: &RunArgs) -> Result<RunPlan> {
    let loaded = match &args.scenario {
        Some(path) => Some(scenario::load(path)?),
        None => None,
    };
    let file = loaded.as_ref().map(|l| &l.scenario);
    let seed = args.seed.or(file.and_then(|f| f.seed)).unwrap_or(1);
    let options = RunOptions {
        seed,
        bsld_tau_s: args
            .bsld_tau
            .or(file.map(|f| f.policy.bsld_tau_s))
            .unwrap_or(10),
        kill_at_walltime: args.input.kill_at_walltime
            || file.is_some_and(|f| f.workload.kill_at_walltime),
        lenient: args.input.lenient || file.is_some_and(|f| f.workload.lenient),
        scenario: loaded.as_ref().map(|l| l.path.display().to_string()),
    };
    let output = file.map(|f| f.output.clone()).unwrap_or_default();
    let out = args.out.clone().or(output.dir.clone());
    let format = args.format.unwrap_or(output.format);
    let timeseries_step_s = args.timeseries_step.unwrap_or(output.timeseries_step_s);
    let plots = !args.no_plots && output.plots;
    // The machine: --procs, else the cluster's cores, else the trace's header.
    let cluster_cores = match file.and_then(|f| f.cluster.as_ref()) {
        Some(c) => Some(u32::try_from(c.total_cores()).map_err(|_| {
            anyhow::anyhow!(
                "{}: the cluster has more than 4,294,967,295 cores",
                options.scenario.clone().unwrap_or_default()
            )
        })?),
        None => None,
    };
    let procs = args
        .input
        .procs
        .or(cluster_cores)
        .or(file.and_then(|f| f.workload.procs));
    let swf = SwfOptions {
        procs,
        kill_at_walltime: options.kill_at_walltime,
        lenient: options.lenient,
    };
    let common = Common {
        options,
        out,
        format,
        timeseries_step_s,
        plots,
    };
    let trace_format = args
        .input
        .trace_format
        .or(file.map(|f| f.workload.format))
        .unwrap_or_default();
    // An openb pod list runs on node types: the scenario's cluster or an openb node list.
    let openb_trace = match (&args.workload, &loaded) {
        (Some(path), _) => Some(path.clone()),
        (None, Some(l)) => l.scenario.workload.trace.as_ref().map(|t| l.resolve(t)),
        _ => None,
    };
    if let (crate::workload::TraceFormat::Openb, Some(pods)) = (trace_format, openb_trace) {
        let node_list = args.input.node_list.clone().or_else(|| {
            loaded
                .as_ref()
                .and_then(|l| l.scenario.workload.node_list.as_ref().map(|p| l.resolve(p)))
        });
        let cluster = match (file.and_then(|f| f.cluster.clone()), node_list) {
            (Some(c), _) => c,
            (None, Some(list)) => crate::workload::openb::read_node_list(&list)?,
            (None, None) => anyhow::bail!(
                "an openb pod list needs a cluster: give --node-list FILE (an openb node list) \
                 or a scenario with a [cluster]"
            ),
        };
        let fractional = args
            .input
            .fractional
            .or(file.map(|f| f.workload.fractional))
            .unwrap_or_default();
        let placement = file.map(|f| f.policy.placement).unwrap_or_default();
        let workload =
            crate::workload::openb::read_pod_list(&pods, &cluster, fractional, placement)?;
        let policy = args
            .policy
            .or(file.map(|f| f.policy.name))
            .unwrap_or(PolicyKind::Easy);
        return finish(common, workload, vec![policy], false, args, file);
    }
    if let Some(path) = &args.workload {
        let workload = crate::workload::read_trace_file(path, trace_format, &swf)?;
        let policy = args
            .policy
            .or(file.map(|f| f.policy.name))
            .unwrap_or(PolicyKind::Easy);
        return finish(common, workload, vec![policy], false, args, file);
    }
    if let Some(loaded) = &loaded {
        let f = &loaded.scenario;
        let workload = match (&f.workload.trace, &f.workload.generator) {
            (Some(trace), _) => {
                let path = loaded.resolve(trace);
                // A Slurm dump on a scenario's cluster becomes node-level jobs.
                match (
                    crate::workload::detect_format(&path, trace_format),
                    &f.cluster,
                ) {
                    (crate::workload::TraceFormat::Sacct, Some(cluster)) => {
                        crate::workload::sacct::read_sacct_file_on(
                            &path,
                            &swf,
                            Some((cluster, f.policy.placement)),
                        )
                    }
                    _ => crate::workload::read_trace_file(&path, trace_format, &swf),
                }
                .map_err(anyhow::Error::from)
                .with_context(|| {
                    format!(
                        "{}:{}: workload.trace",
                        loaded.path.display(),
                        scenario::locate::line_of_key(&loaded.text, "workload.trace")
                    )
                })?
            }
            (None, Some(g)) if !g.classes.is_empty() => {
                let cluster = f
                    .cluster
                    .as_ref()
                    .expect("validated: classes need a cluster");
                crate::workload::classes::generate(&crate::workload::classes::ClassGenerator {
                    jobs: g.jobs,
                    load: g.load,
                    classes: &g.classes,
                    cluster,
                    placement: f.policy.placement,
                    seed,
                })
            }
            (None, Some(g)) => {
                let gen_procs = args.input.procs.or(g.procs).or(cluster_cores).unwrap_or(1);
                let mut w = generate(&SyntheticSpec {
                    jobs: g.jobs,
                    procs: gen_procs,
                    load: g.load,
                    seed,
                });
                if let Some(p) = procs {
                    w.machine_procs = p;
                    w.drop_jobs_larger_than_machine();
                }
                w
            }
            (None, None) => unreachable!("validated: a workload has a trace or a generator"),
        };
        let policies = vec![args.policy.unwrap_or(f.policy.name)];
        return finish(common, workload, policies, false, args, file);
    }
    let mut spec = SyntheticSpec::demo(seed);
    if let Some(p) = args.input.procs {
        spec.procs = p;
    }
    let policies = match args.policy {
        Some(p) => vec![p],
        None => PolicyKind::ALL.to_vec(),
    };
    if !args.quiet {
        say!(
            "clustersim demo: {} generated jobs on {} processors, offered load {} (seed {})",
            spec.jobs,
            spec.procs,
            spec.load,
            spec.seed
        );
        say!("Replay a real trace with: clustersim run --workload TRACE.swf --policy easy --out DIR\n");
    }
    let workload = generate(&spec);
    finish(common, workload, policies, true, args, file)
}

/// The workload's filter and load factor: the flags, else the scenario's.
fn shape_workload(
    w: &mut Workload,
    args: &WorkloadArgs,
    file: Option<&scenario::Scenario>,
) -> Result<()> {
    let mut filter = file.map(|f| f.workload.filter.clone()).unwrap_or_default();
    if args.window_start.is_some() {
        filter.from_s = args.window_start;
    }
    if args.window_end.is_some() {
        filter.to_s = args.window_end;
    }
    for (flag, target) in [
        (&args.users, &mut filter.users),
        (&args.queues, &mut filter.queues),
        (&args.partitions, &mut filter.partitions),
    ] {
        if !flag.is_empty() {
            *target = flag.clone();
        }
    }
    if let (Some(a), Some(b)) = (filter.from_s, filter.to_s) {
        if a >= b {
            anyhow::bail!(
                "the time window is empty: --window-end {b} is not after --window-start {a}"
            );
        }
    }
    crate::workload::transform::apply_filter(w, &filter);
    let factor = args
        .load_factor
        .or(file.and_then(|f| f.workload.load_factor))
        .unwrap_or(1.0);
    if !(factor > 0.0 && factor.is_finite()) {
        anyhow::bail!("--load-factor must be a positive number, got {factor}");
    }
    crate::workload::transform::scale_load(w, factor);
    Ok(())
}

fn run_command(args: RunArgs) -> Result<()> {
    let plan = plan_run(&args)?;
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
        } else if plan.demo {
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
    if !(args.load > 0.0 && args.load.is_finite()) {
        anyhow::bail!("--load must be a positive number, got {}", args.load);
    }
    if args.procs == 0 {
        anyhow::bail!("--procs must be at least 1");
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
            let path = loaded.resolve(trace);
            let w = crate::workload::read_trace_file(
                &path,
                f.workload.format,
                &SwfOptions {
                    procs: f
                        .cluster
                        .as_ref()
                        .and_then(|c| u32::try_from(c.total_cores()).ok())
                        .or(f.workload.procs),
                    kill_at_walltime: f.workload.kill_at_walltime,
                    lenient: f.workload.lenient,
                },
            )
            .with_context(|| {
                format!(
                    "{}:{}: workload.trace",
                    loaded.path.display(),
                    scenario::locate::line_of_key(&loaded.text, "workload.trace")
                )
            })?;
            say!(
                "workload: {} ({} jobs to simulate, {} dropped)",
                path.display(),
                w.jobs.len(),
                w.dropped.len()
            );
        }
        (None, Some(g)) => say!("workload: generated, {} jobs at load {}", g.jobs, g.load),
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
