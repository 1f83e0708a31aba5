//! The flags that say how to read a workload (shared by `run`, `inspect` and `convert`),
//! and reading one with them.

use crate::plan::{plan_run, RunRequest, WorkloadRequest};
use crate::scenario;
use crate::workload::swf::SwfOptions;
use crate::workload::Workload;
use anyhow::Result;
use clap::Args;
use std::path::{Path, PathBuf};

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
    /// The trace's format: swf, sacct (Slurm `sacct -P` output), openb, dlrm, or auto
    /// (recognised from the first line: a sacct, DLRM or openb pod list header, else SWF)
    /// [default: auto].
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
    // An openb pod list is recognised from its header, as sacct and DLRM are.
    let format = crate::workload::detect_format(path, args.trace_format.unwrap_or_default());
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
    // Beside any other trace a node list would be silently ignored.
    if let Some(list) = &args.node_list {
        anyhow::bail!(
            "--node-list {}: only an openb pod list runs on a node list, and {} is not one",
            list.display(),
            path.display()
        );
    }
    Ok(crate::workload::read_trace_file(
        path,
        format,
        &swf_options(args),
    )?)
}
