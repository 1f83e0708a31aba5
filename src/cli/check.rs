//! `clustersim check`: scenarios run and compared with a baseline file, for CI.

use crate::outdir;
use crate::report::compare;
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

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
    /// Overwrite the --junit file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Worker threads [default: one per core].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

pub(super) fn check_command(args: &CheckArgs) -> Result<std::process::ExitCode> {
    use crate::baseline;
    if let Some(path) = &args.junit {
        // Checked before the runs, so a refusal costs nothing.
        let mut inputs: Vec<&std::path::Path> =
            args.scenarios.iter().map(PathBuf::as_path).collect();
        inputs.push(&args.baseline);
        outdir::check_target(path, outdir::TargetKind::File, &inputs, args.force)?;
    }
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
    super::sweep::warn_if_more_threads_than_cores(args.threads);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(crate::sweep::worker_threads(args.threads))
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
        let xml = baseline::junit(&comparisons);
        let mut inputs: Vec<&std::path::Path> =
            args.scenarios.iter().map(PathBuf::as_path).collect();
        inputs.push(&args.baseline);
        outdir::write_file(path, &inputs, args.force, |mut f| {
            std::io::Write::write_all(&mut f, xml.as_bytes())
        })?;
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
