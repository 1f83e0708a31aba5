//! `clustersim convert` (a trace or a scenario's workload to SWF or the input job table)
//! and `clustersim generate` (the demo's generator to an SWF file).

use super::input::{load_workload, WorkloadArgs};
use crate::workload::synthetic::{generate, SyntheticSpec};
use crate::workload::{JobKind, Workload};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

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

pub(super) fn convert_command(args: &ConvertArgs) -> Result<()> {
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
        ConvertTo::Swf => crate::workload::swf::write_swf_workload(
            &mut out,
            &w,
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
    let mut reasons: Vec<String> = w
        .dropped_by_reason()
        .iter()
        .filter(|(_, &n)| n > 0)
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    let renumbered = w.meta.renumbered_jobs;
    let renumbered = if renumbered > 0 {
        format!("; {renumbered} jobs renumbered (their number repeated an earlier job's)")
    } else {
        String::new()
    };
    if reasons.is_empty() {
        reasons.push("none".to_string());
    }
    say!(
        "wrote {} jobs to {}; input jobs not converted: {}{renumbered}",
        w.jobs.len(),
        args.out.display(),
        reasons.join(", ")
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
            crate::engine::time::fmt_seconds(j.work.as_ms()),
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

pub(super) fn generate_command(args: &GenerateArgs) -> Result<()> {
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
