//! `clustersim calibrate`: a `[controller]` section fitted to a real Slurm's `sdiag`.

use crate::sdiag;
use anyhow::{anyhow, Context, Result};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `clustersim calibrate`.
#[derive(Args, Debug)]
pub struct CalibrateArgs {
    /// The text `sdiag` printed.
    #[arg(long, value_name = "FILE")]
    pub sdiag: PathBuf,
    /// A `slurm.conf`, or what `scontrol show config` printed: its `SchedulerParameters`,
    /// `SlurmctldTimeout` and `SlurmctldHost` lines set the loops and the failover.
    #[arg(long, value_name = "FILE")]
    pub slurm_conf: Option<PathBuf>,
}

pub(super) fn calibrate_command(args: &CalibrateArgs) -> Result<()> {
    let read = |path: &PathBuf| {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    };
    let text = read(&args.sdiag)?;
    let stats = sdiag::parse_sdiag(&text).map_err(|e| anyhow!("{}: {e}", args.sdiag.display()))?;
    let config = match &args.slurm_conf {
        Some(path) => sdiag::parse_slurm_config(&read(path)?),
        None => sdiag::SlurmConfig::default(),
    };
    let (spec, notes) = sdiag::calibrate(&stats, &config).map_err(|e| {
        let file = args.slurm_conf.as_ref().unwrap_or(&args.sdiag);
        anyhow!("{}: {e}", file.display())
    })?;
    let mut table = toml::Table::new();
    table.insert(
        "controller".into(),
        toml::Value::try_from(&spec).context("writing the section")?,
    );
    let mut out = String::from("# Fitted by `clustersim calibrate`:\n");
    for note in &notes {
        out.push_str(&format!("#   {note}\n"));
    }
    out.push_str(&toml::to_string(&table).context("writing the section")?);
    say_raw!("{out}");
    Ok(())
}
