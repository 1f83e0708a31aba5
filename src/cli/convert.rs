//! `clustersim convert` (a trace or a scenario's workload to SWF or the input job table)
//! and `clustersim generate` (the demo's generator to an SWF file).

use super::input::{load_workload, WorkloadArgs};
use crate::outdir::{check_target, write_file, TargetKind};
use crate::workload::synthetic::{generate, SyntheticSpec};
use crate::workload::{JobKind, Workload};
use anyhow::Result;
use clap::Args;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Arguments of `clustersim convert`.
#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// The trace to convert (any format `run --workload` reads), or a scenario file (.toml)
    /// whose workload (generated, composed, any format) is written.
    pub file: PathBuf,
    /// The format to write.
    #[arg(long, value_enum, default_value_t = ConvertTo::Swf)]
    pub to: ConvertTo,
    /// The file to write (gzip-compressed if it ends in .gz); never the input itself.
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// Overwrite --out if it exists (it is replaced only once the new file is complete).
    #[arg(long)]
    pub force: bool,
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
    /// Overwrite --out if it exists (it is replaced only once the new file is complete).
    #[arg(long)]
    pub force: bool,
}

pub(super) fn convert_command(args: &ConvertArgs) -> Result<()> {
    let inputs = convert_inputs(&args.file);
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    // Checked before reading, so a refusal is immediate; checked again when writing.
    check_target(&args.out, TargetKind::File, &inputs, args.force)?;
    let w = load_workload(&args.file, &args.input)?;
    let comment = format!(
        "converted by clustersim from {} ({})",
        w.meta.source, w.meta.format
    );
    write_file(&args.out, &inputs, args.force, |file| {
        write_maybe_gzipped(&args.out, file, |out| match args.to {
            ConvertTo::Swf => crate::workload::swf::write_swf_workload(out, &w, &comment),
            ConvertTo::Jobs => write_input_jobs(out, &w),
        })
    })?;
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

/// The files `convert` reads: the trace, or the scenario and the traces it names.
fn convert_inputs(file: &Path) -> Vec<PathBuf> {
    let mut inputs = vec![file.to_path_buf()];
    if file.extension().is_some_and(|e| e == "toml") {
        if let Ok(l) = crate::scenario::load(file) {
            inputs.extend(l.trace_paths());
        }
    }
    inputs
}

/// Runs `write` on `file`, through gzip when `path` ends in `.gz`, and flushes it all.
fn write_maybe_gzipped(
    path: &Path,
    file: std::fs::File,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let buffered = std::io::BufWriter::new(file);
    if path.extension().is_some_and(|e| e == "gz") {
        let mut gz = flate2::write::GzEncoder::new(buffered, flate2::Compression::fast());
        write(&mut gz)?;
        gz.finish()?.flush()
    } else {
        let mut out = buffered;
        write(&mut out)?;
        out.flush()
    }
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
    check_target(&args.out, TargetKind::File, &[], args.force)?;
    let w = generate(&spec);
    let computer = format!("clustersim generator ({})", w.meta.source);
    write_file(&args.out, &[], args.force, |file| {
        write_maybe_gzipped(&args.out, file, |out| {
            crate::workload::swf::write_swf(out, &w.jobs, w.machine_procs, &computer)
        })
    })?;
    say!("wrote {} jobs to {}", w.jobs.len(), args.out.display());
    Ok(())
}
