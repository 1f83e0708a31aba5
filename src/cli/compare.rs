//! `clustersim compare`: runs side by side.

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
    /// and .svg into this directory.
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub(super) fn compare_command(args: &CompareArgs) -> Result<()> {
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
