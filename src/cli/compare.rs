//! `clustersim compare`: runs side by side.

use crate::outdir::Staged;
use crate::report::compare;
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

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
    /// and .svg into this directory (written whole, with a manifest.json).
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace --out DIR if it already holds a result (without it, a folder that is not
    /// empty is refused).
    #[arg(long)]
    pub force: bool,
}

pub(super) fn compare_command(args: &CompareArgs) -> Result<()> {
    let runs = compare::load_runs(&args.runs)?;
    // Checked before anything is printed; the runs compared are its inputs.
    let inputs: Vec<&std::path::Path> = args.runs.iter().map(PathBuf::as_path).collect();
    let staged = match &args.out {
        Some(out) => Some(Staged::begin(out, &inputs, args.force)?),
        None => None,
    };
    let (header, rows) = compare::comparison(&runs);
    if args.markdown {
        say_raw!("{}", compare::markdown_table(&header, &rows));
    } else {
        say_raw!("{}", compare::text_table(&header, &rows));
    }
    if let (Some(out), Some(staged)) = (&args.out, staged) {
        compare::write_compare_dir(staged.path(), &runs)?;
        staged
            .finish()
            .with_context(|| format!("putting the comparison in place at {}", out.display()))?;
        if !args.markdown {
            say!(
                "\ncomparison written to {}",
                out.join("compare.html").display()
            );
        }
    }
    Ok(())
}
