//! Workloads: the jobs of a run, where they came from, and the jobs left out and why.
//!
//! A workload is built by a reader ([`swf`]) or a generator ([`synthetic`]) and is then
//! immutable during the simulation. Every input job ends up either in [`Workload::jobs`] or
//! in [`Workload::dropped`], with its reason: nothing is silently lost.

pub mod activity;
pub mod classes;
pub mod compose;
pub mod distributions;
pub mod dlrm;
pub mod job;
pub mod openb;
pub mod sacct;
pub mod swf;
pub mod synthetic;
pub mod transform;

pub use job::{Job, JobIdx, JobKind};

use serde::Serialize;
use std::collections::BTreeMap;

/// Why an input job was not simulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Submit time below zero (unknown).
    NegativeSubmit,
    /// Runtime below zero (unknown).
    NegativeRuntime,
    /// Neither requested nor allocated processors is above zero.
    NonPositiveSize,
    /// Asks for more processors than the machine has.
    LargerThanMachine,
    /// The line could not be read and `--lenient` skipped it.
    MalformedLine,
    /// No partition of the cluster takes this kind of job.
    NoPartition,
    /// No node of its partition could ever hold the job (or there are too few).
    NoNodeFits,
    /// A Slurm job that never started (cancelled while pending, held).
    NeverStarted,
    /// A Slurm job with no end: still running or pending when the dump was taken.
    NoEnd,
    /// A Slurm job step whose job is not in the file.
    OrphanStep,
    /// Left out by the workload's time window or filters.
    FilteredOut,
}

impl DropReason {
    /// Every reason, in the order reports list them.
    pub const ALL: [DropReason; 11] = [
        DropReason::NegativeSubmit,
        DropReason::NegativeRuntime,
        DropReason::NonPositiveSize,
        DropReason::LargerThanMachine,
        DropReason::MalformedLine,
        DropReason::NoPartition,
        DropReason::NoNodeFits,
        DropReason::NeverStarted,
        DropReason::NoEnd,
        DropReason::OrphanStep,
        DropReason::FilteredOut,
    ];

    /// The reason's name in outputs (`dropped.csv`, `summary.json`).
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::NegativeSubmit => "negative_submit",
            DropReason::NegativeRuntime => "negative_runtime",
            DropReason::NonPositiveSize => "non_positive_size",
            DropReason::LargerThanMachine => "larger_than_machine",
            DropReason::MalformedLine => "malformed_line",
            DropReason::NoPartition => "no_partition",
            DropReason::NoNodeFits => "no_node_fits",
            DropReason::NeverStarted => "never_started",
            DropReason::NoEnd => "no_end",
            DropReason::OrphanStep => "orphan_step",
            DropReason::FilteredOut => "filtered_out",
        }
    }
}

/// An input job that is not simulated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DroppedJob {
    /// Line number in the input file (1-based; 0 for generated jobs).
    pub line: u64,
    /// The job's number in the trace, if it could be read.
    pub trace_id: Option<u64>,
    /// Why it was dropped.
    pub reason: DropReason,
    /// A short human-readable detail (e.g. "size 512 > machine 338").
    pub detail: String,
}

/// Where a workload came from and what its header said.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WorkloadMeta {
    /// File name, or a description of the generator.
    pub source: String,
    /// Input format (`swf`, `synthetic`, …).
    pub format: String,
    /// Header fields as written (`MaxProcs`, `UnixStartTime`, …), sorted by key.
    pub header: BTreeMap<String, String>,
    /// `MaxProcs` from the header, if it had a number.
    pub max_procs: Option<u64>,
    /// `MaxNodes` from the header, if it had a number.
    pub max_nodes: Option<u64>,
    /// `UnixStartTime` from the header: the wall-clock time of the trace's origin.
    pub unix_start_time: Option<i64>,
    /// `TimeZoneString` from the header.
    pub time_zone: Option<String>,
    /// `MaxRuntime` from the header, in seconds.
    pub max_runtime_s: Option<u64>,
    /// `Computer` from the header.
    pub computer: Option<String>,
    /// The comment lines of an SWF source as written (without their line breaks), in file
    /// order: `convert` carries them into the SWF it writes, so that nothing the trace
    /// said (its start time, acknowledgements, copyright notice) is lost. Empty for other
    /// sources.
    #[serde(skip)]
    pub header_lines: Vec<String>,
    /// Jobs whose number repeated an earlier job's and were given a new one (`--lenient`;
    /// without it a repeated number is an error).
    pub renumbered_jobs: u64,
    /// Generated job classes of which jobs were drawn but none could be placed (no
    /// partition takes them, or no node of theirs could ever hold them), by index, with one
    /// job's reason: `run` and `validate` refuse such a class unless `--allow-empty`.
    #[serde(skip)]
    pub never_placed_classes: Vec<(usize, String)>,
}

/// A job number that occurs twice in a trace: `number` on `line`, first seen on
/// `first_line`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RepeatedJobNumber {
    pub number: u64,
    pub first_line: u64,
    pub line: u64,
}

/// Job numbers as read, `(line, number)` in file order: the first repeated number, or with
/// `renumber` the new numbers of the repeats, as `(position in numbers, new number)`. New
/// numbers count up from one past the largest number of the trace, in file order, so that
/// they collide with none and the renumbering is the same on every read.
pub(crate) fn renumber_repeats(
    numbers: &[(u64, u64)],
    renumber: bool,
) -> Result<Vec<(usize, u64)>, RepeatedJobNumber> {
    let mut first_line: rustc_hash::FxHashMap<u64, u64> = rustc_hash::FxHashMap::default();
    first_line.reserve(numbers.len());
    let mut next = numbers.iter().map(|&(_, n)| n).max().unwrap_or(0);
    let mut renumbered = Vec::new();
    for (at, &(line, number)) in numbers.iter().enumerate() {
        match first_line.entry(number) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(line);
            }
            std::collections::hash_map::Entry::Occupied(e) if !renumber => {
                return Err(RepeatedJobNumber {
                    number,
                    first_line: *e.get(),
                    line,
                })
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                next = next.saturating_add(1);
                renumbered.push((at, next));
            }
        }
    }
    Ok(renumbered)
}

/// Whose number a renumbering changes: a job read (by its index among them) or a dropped job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Numbered {
    /// The job at this index of the jobs read.
    Read(usize),
    /// The dropped job at this index.
    Dropped(usize),
}

/// The numbers of the jobs read (`(line, number)`, in file order) and of the dropped jobs,
/// merged into file order, checked for repeats as by [`renumber_repeats`]: the first
/// repeat, or with `renumber` the new number of each repeat and whose it is.
pub(crate) fn renumber_in_file_order(
    read: impl Iterator<Item = (u64, u64)>,
    dropped: &[DroppedJob],
    renumber: bool,
) -> Result<Vec<(Numbered, u64)>, RepeatedJobNumber> {
    let mut numbered: Vec<(u64, u64, Numbered)> = read
        .enumerate()
        .map(|(k, (line, number))| (line, number, Numbered::Read(k)))
        .chain(
            dropped
                .iter()
                .enumerate()
                .filter_map(|(i, d)| Some((d.line, d.trace_id?, Numbered::Dropped(i)))),
        )
        .collect();
    // Each list is in file order already; a stable sort by line merges them.
    numbered.sort_by_key(|&(line, _, _)| line);
    let numbers: Vec<(u64, u64)> = numbered.iter().map(|&(l, n, _)| (l, n)).collect();
    Ok(renumber_repeats(&numbers, renumber)?
        .into_iter()
        .map(|(at, number)| (numbered[at].2, number))
        .collect())
}

/// The jobs of one run, sorted by `(submit, trace_id)`, plus everything left out.
#[derive(Clone, Debug, Default)]
pub struct Workload {
    /// Jobs to simulate, in queue order.
    pub jobs: Vec<Job>,
    /// Input jobs that are not simulated, in input order.
    pub dropped: Vec<DroppedJob>,
    /// Processors of the machine the workload runs on.
    pub machine_procs: u32,
    /// Where it came from.
    pub meta: WorkloadMeta,
    /// Number of job records read from the input (simulated plus dropped).
    pub input_jobs: u64,
    /// Node-level requests, when the jobs ask for nodes rather than "processors anywhere"
    /// (then the simulation places them on this cluster's nodes).
    pub nodes: Option<Box<classes::NodeWorkload>>,
}

/// Trace formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TraceFormat {
    /// Recognised from the file's first line: sacct, DLRM or openb pod list headers, else
    /// SWF (see [`detect_format`]).
    #[default]
    Auto,
    /// The Standard Workload Format (plain or gzip).
    Swf,
    /// Slurm accounting: `sacct -P` output (plain or gzip).
    Sacct,
    /// Alibaba openb pod list (CSV, plain or gzip); needs a cluster (a scenario's, or an
    /// openb node list).
    Openb,
    /// Alibaba's disaggregated DLRM inference trace (CSV, plain or gzip); needs a
    /// scenario's [cluster].
    Dlrm,
}

/// The format of a trace file: `format` itself, or for `Auto` sacct if the first line (of
/// the decompressed file) is a sacct header, DLRM if it is the DLRM trace's header, openb
/// if it is an openb pod list's header, else SWF.
pub fn detect_format(path: &std::path::Path, format: TraceFormat) -> TraceFormat {
    if format != TraceFormat::Auto {
        return format;
    }
    let first = std::fs::File::open(path)
        .ok()
        // Bounded: an endless first line is no header (and the SWF reader then says why).
        .and_then(|f| swf::bounded_lines(swf::open_maybe_gzip(f)).next()?.ok())
        .unwrap_or_default();
    // A header after a byte-order mark is still the header.
    let first = first.strip_prefix('\u{feff}').unwrap_or(&first);
    if sacct::looks_like_sacct(first) {
        TraceFormat::Sacct
    } else if dlrm::looks_like_dlrm(first) {
        TraceFormat::Dlrm
    } else if openb::looks_like_openb_pods(first) {
        TraceFormat::Openb
    } else {
        TraceFormat::Swf
    }
}

/// Reads a trace file in `format` (`Auto`: see [`detect_format`]) as jobs of processors
/// anywhere.
pub fn read_trace_file(
    path: &std::path::Path,
    format: TraceFormat,
    options: &swf::SwfOptions,
) -> Result<Workload, swf::SwfError> {
    match detect_format(path, format) {
        TraceFormat::Sacct => sacct::read_sacct_file(path, options),
        TraceFormat::Openb => Err(swf::SwfError {
            source_name: path.display().to_string(),
            line: None,
            message: "an openb pod list needs a cluster: give --node-list FILE (an openb node \
                      list) or a scenario with a [cluster]"
                .to_string(),
        }),
        TraceFormat::Dlrm => Err(swf::SwfError {
            source_name: path.display().to_string(),
            line: None,
            message: "a DLRM trace runs on a cluster: use a scenario with a [cluster] \
                      (see scenarios/dlrm.toml)"
                .to_string(),
        }),
        TraceFormat::Auto | TraceFormat::Swf => swf::read_swf_file(path, options),
    }
}

impl Workload {
    /// Dropped jobs counted by reason, every reason listed (zero counts included).
    pub fn dropped_by_reason(&self) -> BTreeMap<&'static str, u64> {
        let mut counts: BTreeMap<&'static str, u64> =
            DropReason::ALL.iter().map(|r| (r.as_str(), 0)).collect();
        for d in &self.dropped {
            *counts.entry(d.reason.as_str()).or_default() += 1;
        }
        counts
    }

    /// Moves jobs that ask for more processors than `machine_procs` to the dropped list
    /// (a generated workload put on a smaller machine than it was made for).
    pub fn drop_jobs_larger_than_machine(&mut self) {
        let machine = self.machine_procs;
        let (keep, drop): (Vec<Job>, Vec<Job>) =
            self.jobs.drain(..).partition(|j| j.procs <= machine);
        self.jobs = keep;
        for j in drop {
            self.dropped.push(DroppedJob {
                line: 0,
                trace_id: Some(j.trace_id),
                reason: DropReason::LargerThanMachine,
                detail: format!("size {} > machine {machine}", j.procs),
            });
        }
    }

    /// Number of jobs whose work exceeds their time limit (stopped there at rate 1).
    pub fn killed_jobs(&self) -> usize {
        self.jobs.iter().filter(|j| j.exceeds_limit()).count()
    }
}

/// A count read as 64 bits, as the 32 bits jobs hold: beyond 32 bits no node or machine
/// could hold it, so it becomes the largest count (the job is then dropped as too large),
/// never cut to a small one.
pub(crate) fn saturating_count(count: u64) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}
