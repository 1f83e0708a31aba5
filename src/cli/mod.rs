//! The command line: argument definitions (clap) and the commands they run. This is the
//! outer layer: it reads files, draws progress, prints and writes results. It turns its
//! flags into the library's plain requests ([`crate::plan::RunRequest`]), so nothing
//! below it knows of clap's types.
//!
//! Here: the commands and their dispatch. One file per command group: `run`, `inspect`
//! (and `validate`), `convert` (and `generate`), `compare`, `sweep` (and `merge`), `check`;
//! `input` holds the flags that say how to read a workload, `progress` what is drawn on
//! standard error.

use anyhow::Result;
use clap::{Parser, Subcommand};

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
    () => { $crate::cli::emit("\n")? };
    ($($arg:tt)*) => { $crate::cli::emit(&format!("{}\n", format_args!($($arg)*)))? };
}

/// `print!` through [`emit`].
macro_rules! say_raw {
    ($($arg:tt)*) => { $crate::cli::emit(&format!($($arg)*))? };
}

// After the macros: a `macro_rules!` macro is visible only in the modules declared after it.
mod calibrate;
mod check;
mod compare;
mod convert;
mod input;
mod inspect;
mod progress;
mod run;
mod sweep;

pub use check::CheckArgs;
pub use compare::CompareArgs;
pub use convert::{ConvertArgs, ConvertTo, GenerateArgs};
pub use input::{load_workload, WorkloadArgs};
pub use inspect::{InspectArgs, ValidateArgs};
pub use run::RunArgs;
pub use sweep::{MergeArgs, SweepArgs};

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
    /// Print a `[controller]` section fitted to a real Slurm: the loops' parameters from its
    /// configuration, the passes' costs and the submission service time from `sdiag`.
    Calibrate(calibrate::CalibrateArgs),
    /// For CI pipelines: run scenarios and compare their metrics with a baseline file.
    /// Exits 0 when every metric is within its tolerance, 1 when some regressed (with a
    /// table of them), 2 on usage or input errors.
    Check(CheckArgs),
}

/// Runs the parsed command line; the exit code on success (`check` exits 1 on a
/// regression).
pub fn main(cli: Cli) -> Result<std::process::ExitCode> {
    let success = |r: Result<()>| r.map(|()| std::process::ExitCode::SUCCESS);
    match cli.command {
        // No subcommand means `run` with its defaults: let clap supply them, so the bare
        // command can never drift from `clustersim run`.
        None => success(run::run_command(run::bare_run_args()?)),
        Some(Command::Run(args)) => success(run::run_command(args)),
        Some(Command::Inspect(args)) => success(inspect::inspect_command(&args)),
        Some(Command::Generate(args)) => success(convert::generate_command(&args)),
        Some(Command::Compare(args)) => success(compare::compare_command(&args)),
        Some(Command::Convert(args)) => success(convert::convert_command(&args)),
        Some(Command::Validate(args)) => success(inspect::validate_command(&args)),
        Some(Command::Sweep(args)) => success(sweep::sweep_command(&args)),
        Some(Command::Merge(args)) => success(sweep::merge_command(&args)),
        Some(Command::Check(args)) => check::check_command(&args),
        Some(Command::Calibrate(args)) => success(calibrate::calibrate_command(&args)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
