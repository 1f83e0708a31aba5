//! Slurm accounting dumps: `sacct -a -P -o ...` output (`|`-separated, a header line of
//! column names), plain or gzip.
//!
//! # Semantics
//!
//! - **Columns** are found by name in the header; only `JobID`, `Submit`, `State` and a run
//!   time (`Elapsed`/`ElapsedRaw`, or `Start` and `End`) are required. Sizes come from
//!   `NCPUS`, else `AllocCPUS`, else `ReqCPUS`, else the `cpu=` of `AllocTRES`/`ReqTRES`;
//!   `NNodes`, `ReqMem` (`4000M`, `4G`, `500G`, with `n` per node or `c` per CPU),
//!   `gres/gpu=` of the TRES, `Partition`, `QOS`, `User`, `Account` are kept when present.
//! - **Rows**: free-text columns (`SubmitLine`, `JobName`, `Comment`, `AdminComment`,
//!   `SystemComment`, `WorkDir`, `Constraints`) may hold `|` and newlines, which `sacct -P`
//!   does not escape. A record is read line by line until it has at least as many fields as
//!   the header; extra fields are given back to the first free-text column for which every
//!   typed column then parses (times, durations, numbers). A row that no such split
//!   explains is an error naming the line (or, with `--lenient`, a `malformed_line` drop).
//! - **Job ids**: `123`, array tasks `123_4` and heterogeneous components `123+0` are jobs;
//!   steps (`123.batch`, `123.extern`, `123.0`, `123_4.batch`) are folded into their job
//!   (dropped silently as rows, never as jobs; a step whose job is absent is dropped with
//!   reason `orphan_step`). A job's number is `JobIDRaw` when present, else its order in the
//!   file.
//! - **Times**: `Submit`, `Start`, `End` are ISO local times (`2021-10-05T11:26:12`), taken
//!   as written (no time zone); the trace starts at its earliest submission. Durations:
//!   `MM:SS`, `MM:SS.mmm`, `HH:MM:SS`, `D-HH:MM:SS`; `Timelimit` may be `UNLIMITED` or
//!   `Partition_Limit` (then the estimate is the run time).
//! - **Run time** is `Elapsed` (else `End − Start`); the estimate is `Timelimit`, raised to
//!   the run time when shorter, or cut as with SWF under `--kill-at-walltime`.
//! - **Jobs that never started** (no `Start`, e.g. cancelled while pending) are dropped with
//!   reason `never_started`; jobs still running or pending at the dump (no `End` and no
//!   `Elapsed`) with reason `no_end`; sizes of 0 with `non_positive_size`. Interactive jobs
//!   are those named `interactive`, `bash`, `sh`, `qlogin` or `jupyter*`, or in a QOS or
//!   partition whose name contains `interactive`.
//!
//! The jobs are processors anywhere (their `NCPUS`), like SWF jobs; the machine size comes
//! from `--procs` or the scenario's cluster.

use super::swf::{open_trace, SwfError, SwfOptions};
use super::{DropReason, DroppedJob, Job, JobKind, Workload, WorkloadMeta};
use crate::cluster::nodes::{NodeRequest, Placement};
use crate::cluster::spec::ClusterSpec;
use crate::engine::time::{SimDuration, SimTime};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Columns that may contain `|` and newlines, in the order extra fields are given to them.
const FREE_TEXT: [&str; 7] = [
    "SubmitLine",
    "JobName",
    "Comment",
    "AdminComment",
    "SystemComment",
    "WorkDir",
    "Constraints",
];

/// Reads a sacct dump file as jobs of processors anywhere.
pub fn read_sacct_file(path: &Path, options: &SwfOptions) -> Result<Workload, SwfError> {
    read_sacct_file_on(path, options, None)
}

/// Reads a sacct dump file, as node-level jobs on a cluster when one is given.
pub fn read_sacct_file_on(
    path: &Path,
    options: &SwfOptions,
    on_nodes: Option<(&ClusterSpec, Placement)>,
) -> Result<Workload, SwfError> {
    let name = path.display().to_string();
    let mut text = String::new();
    let mut bytes = Vec::new();
    open_trace(path)?
        .read_to_end(&mut bytes)
        .map_err(|e| SwfError {
            source_name: name.clone(),
            line: None,
            message: format!("read error: {e}"),
        })?;
    text.push_str(&String::from_utf8_lossy(&bytes));
    read_sacct_on(&text, &name, options, on_nodes)
}

/// Whether `text` (the start of a file) looks like a sacct dump: a header line of
/// `|`-separated names including `JobID`.
pub fn looks_like_sacct(first_line: &str) -> bool {
    first_line.contains('|') && first_line.split('|').any(|c| c.trim() == "JobID")
}

/// A parsed duration in ms: `[D-][HH:]MM:SS[.mmm]`; `None` for `UNLIMITED`,
/// `Partition_Limit`, `INVALID`, empty or unparsable text.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (d.parse::<u64>().ok()?, r),
        None => (0, t),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (h, m, s) = match parts.as_slice() {
        [m, s] => ("0", *m, *s),
        [h, m, s] => (*h, *m, *s),
        _ => return None,
    };
    let h: u64 = h.parse().ok()?;
    let m: u64 = m.parse().ok()?;
    let (sec, ms) = match s.split_once('.') {
        Some((sec, frac)) => {
            let frac3: String = frac.chars().chain("000".chars()).take(3).collect();
            (sec.parse::<u64>().ok()?, frac3.parse::<u64>().ok()?)
        }
        None => (s.parse::<u64>().ok()?, 0),
    };
    if m >= 60 && parts.len() == 3 || sec >= 60 {
        return None;
    }
    Some((((days * 24 + h) * 60 + m) * 60 + sec) * 1000 + ms)
}

/// Seconds since 1970-01-01 of an ISO date-time `YYYY-MM-DDTHH:MM:SS` (no zone); `None`
/// for `Unknown`, `None` and anything else.
pub fn parse_timestamp_s(text: &str) -> Option<i64> {
    let t = text.trim();
    let (date, time) = t.split_once('T')?;
    let mut d = date.split('-');
    let (y, mo, da): (i64, i64, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let mut tm = time.split(':');
    let (h, mi, s): (i64, i64, i64) = (
        tm.next()?.parse().ok()?,
        tm.next()?.parse().ok()?,
        tm.next()?.parse().ok()?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    // Days from the civil date (H. Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + da - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3_600 + mi * 60 + s)
}

/// Memory in MB from `ReqMem` (`4000M`, `4G`, `2800Mc`, `64Gn`, `512K`, `1T`, plain MB),
/// with whether it is per CPU (`c`) rather than per node.
pub fn parse_mem_mb(text: &str) -> Option<(u64, bool)> {
    let mut t = text.trim();
    if t.is_empty() {
        return None;
    }
    let mut per_cpu = false;
    if let Some(r) = t.strip_suffix('c') {
        per_cpu = true;
        t = r;
    } else if let Some(r) = t.strip_suffix('n') {
        t = r;
    }
    let (num, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&t[..i], &t[i..]),
        None => (t, "M"),
    };
    let v: f64 = num.parse().ok()?;
    let mb = match unit {
        "K" => v / 1024.0,
        "M" => v,
        "G" => v * 1024.0,
        "T" => v * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((mb.round() as u64, per_cpu))
}

/// A value of a TRES list (`billing=12,cpu=12,mem=33600M,node=1,gres/gpu=2`).
fn tres(list: &str, key: &str) -> Option<String> {
    list.split(',').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

/// Column numbers of the fields the reader uses, into its table of header positions.
#[allow(non_upper_case_globals)]
mod k {
    pub const Eligible: usize = 22;
    pub const Account: usize = 0;
    pub const AllocCPUS: usize = 1;
    pub const AllocTRES: usize = 2;
    pub const Elapsed: usize = 3;
    pub const ElapsedRaw: usize = 4;
    pub const End: usize = 5;
    pub const JobID: usize = 6;
    pub const JobIDRaw: usize = 7;
    pub const JobName: usize = 8;
    pub const NCPUS: usize = 9;
    pub const NNodes: usize = 10;
    pub const Partition: usize = 11;
    pub const QOS: usize = 12;
    pub const ReqCPUS: usize = 13;
    pub const ReqMem: usize = 14;
    pub const ReqTRES: usize = 15;
    pub const Start: usize = 16;
    pub const State: usize = 17;
    pub const Submit: usize = 18;
    pub const Timelimit: usize = 19;
    pub const TimelimitRaw: usize = 20;
    pub const User: usize = 21;
}

/// The names of the columns in [`k`], in its order.
const USED: [&str; 23] = [
    "Account",
    "AllocCPUS",
    "AllocTRES",
    "Elapsed",
    "ElapsedRaw",
    "End",
    "JobID",
    "JobIDRaw",
    "JobName",
    "NCPUS",
    "NNodes",
    "Partition",
    "QOS",
    "ReqCPUS",
    "ReqMem",
    "ReqTRES",
    "Start",
    "State",
    "Submit",
    "Timelimit",
    "TimelimitRaw",
    "User",
    "Eligible",
];

struct Columns {
    index: BTreeMap<String, usize>,
    count: usize,
    /// Header position of each column in [`USED`].
    at: Vec<Option<usize>>,
}

impl Columns {
    /// The field of column `k` (a [`k`] constant), if the header has it.
    fn get<'a>(&self, fields: &[&'a str], k: usize) -> Option<&'a str> {
        self.at[k].and_then(|i| fields.get(i).copied())
    }
}

/// Whether the typed columns of a candidate row parse.
fn plausible(cols: &Columns, fields: &[&str]) -> bool {
    let time_ok = |name: usize| match cols.get(fields, name) {
        None => true,
        Some(v) => {
            let v = v.trim();
            v.is_empty() || v == "Unknown" || v == "None" || parse_timestamp_s(v).is_some()
        }
    };
    let dur_ok = |name: usize| match cols.get(fields, name) {
        None => true,
        Some(v) => {
            let v = v.trim();
            v.is_empty()
                || matches!(v, "UNLIMITED" | "Partition_Limit" | "INVALID")
                || parse_duration_ms(v).is_some()
        }
    };
    let int_ok = |name: usize| match cols.get(fields, name) {
        None => true,
        Some(v) => v.trim().is_empty() || v.trim().parse::<u64>().is_ok(),
    };
    let id_ok = match cols.get(fields, k::JobID) {
        Some(v) => v.chars().next().is_some_and(|c| c.is_ascii_digit()),
        None => false,
    };
    id_ok
        && [k::Submit, k::Start, k::End, k::Eligible]
            .iter()
            .all(|&c| time_ok(c))
        && [k::Elapsed, k::Timelimit].iter().all(|&c| dur_ok(c))
        && [k::NCPUS, k::NNodes, k::AllocCPUS, k::ReqCPUS, k::ElapsedRaw]
            .iter()
            .all(|&c| int_ok(c))
}

/// Splits a record into exactly the header's number of fields: the extra fields are given
/// back to the free-text columns, trying every way to share them out (preferring
/// `SubmitLine`, then the order of [`FREE_TEXT`]) until the typed columns all parse.
fn split_record<'a>(cols: &Columns, record: &'a str) -> Option<Vec<&'a str>> {
    let raw: Vec<&str> = record.split('|').collect();
    if raw.len() < cols.count {
        return None;
    }
    let extra = raw.len() - cols.count;
    if extra == 0 {
        return plausible(cols, &raw).then_some(raw);
    }
    // Byte offset of each raw field in the record.
    let mut offsets = Vec::with_capacity(raw.len());
    let mut at = 0;
    for f in &raw {
        offsets.push(at);
        at += f.len() + 1;
    }
    let free: Vec<usize> = FREE_TEXT
        .iter()
        .filter_map(|name| cols.index.get(*name).copied())
        .collect();
    if free.is_empty() || extra > 32 {
        return None;
    }
    let mut share = vec![0usize; free.len()];
    let build = |share: &[usize]| -> Vec<&'a str> {
        let mut extra_at = vec![0usize; cols.count];
        for (k, &c) in free.iter().enumerate() {
            extra_at[c] = share[k];
        }
        let mut fields = Vec::with_capacity(cols.count);
        let mut r = 0;
        for &e in extra_at.iter() {
            let start = offsets[r];
            let end = offsets[r + e] + raw[r + e].len();
            fields.push(&record[start..end]);
            r += e + 1;
        }
        fields
    };
    // Depth-first over the ways to share `extra` among the free columns, the first
    // column taking the most first.
    fn search<'a>(
        k: usize,
        left: usize,
        share: &mut Vec<usize>,
        try_it: &mut dyn FnMut(&[usize]) -> Option<Vec<&'a str>>,
    ) -> Option<Vec<&'a str>> {
        if k + 1 == share.len() {
            share[k] = left;
            return try_it(share);
        }
        for take in (0..=left).rev() {
            share[k] = take;
            if let Some(found) = search(k + 1, left - take, share, try_it) {
                return Some(found);
            }
        }
        share[k] = 0;
        None
    }
    let mut try_it = |share: &[usize]| {
        let fields = build(share);
        plausible(cols, &fields).then_some(fields)
    };
    search(0, extra, &mut share, &mut try_it)
}

/// Reads sacct text (see the module docs) as jobs of processors anywhere.
pub fn read_sacct(
    text: &str,
    source_name: &str,
    options: &SwfOptions,
) -> Result<Workload, SwfError> {
    read_sacct_on(text, source_name, options, None)
}

/// Reads sacct text; with a cluster, the jobs become node-level requests on it: `NNodes`
/// nodes sharing the job's CPUs, memory (`ReqMem`, per node or per CPU) and GPUs
/// (`gres/gpu` of the TRES) evenly, in the partition of the same name when the cluster has
/// one (else the highest-priority one that takes the job).
pub fn read_sacct_on(
    text: &str,
    source_name: &str,
    options: &SwfOptions,
    on_nodes: Option<(&ClusterSpec, Placement)>,
) -> Result<Workload, SwfError> {
    let options_node_level = on_nodes.is_some();
    let err = |line: Option<u64>, message: String| SwfError {
        source_name: source_name.to_string(),
        line,
        message,
    };
    let mut lines = text.lines().enumerate().peekable();
    let header = loop {
        match lines.next() {
            Some((_, l)) if l.trim().is_empty() => continue,
            Some((_, l)) => break l,
            None => return Err(err(None, "empty file: no header line".to_string())),
        }
    };
    let names: Vec<&str> = header.split('|').map(str::trim).collect();
    let cols = Columns {
        index: names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.to_string(), i))
            .collect(),
        count: names.len(),
        at: Vec::new(),
    };
    let cols = Columns {
        at: USED.iter().map(|n| cols.index.get(*n).copied()).collect(),
        ..cols
    };
    for required in ["JobID", "Submit", "State"] {
        if !cols.index.contains_key(required) {
            return Err(err(
                Some(1),
                format!(
                    "the header has no {required} column (columns: {})",
                    names.join(", ")
                ),
            ));
        }
    }
    let has = |c: &str| cols.index.contains_key(c);
    let has_run_time = has("Elapsed") || has("ElapsedRaw") || (has("Start") && has("End"));
    if !has_run_time {
        return Err(err(
            Some(1),
            "the header has no run time: expected Elapsed, ElapsedRaw or Start and End".into(),
        ));
    }

    struct Row {
        line: u64,
        id_text: String,
        raw_id: Option<u64>,
        submit_s: i64,
        start_s: Option<i64>,
        run_ms: Option<u64>,
        limit_ms: Option<u64>,
        procs: u64,
        user: i32,
        account: i32,
        partition: i32,
        interactive: bool,
        state: String,
        nnodes: u32,
        mem: Option<(u64, bool)>,
        gpus: u32,
    }
    let at = &cols.at;
    // Names to numbers in order of first appearance (deterministic for a given file).
    let mut users: BTreeMap<String, i32> = BTreeMap::new();
    let mut accounts: BTreeMap<String, i32> = BTreeMap::new();
    let mut partitions: BTreeMap<String, i32> = BTreeMap::new();
    let number = |map: &mut BTreeMap<String, i32>, key: &str| -> i32 {
        if key.is_empty() {
            return -1;
        }
        if let Some(&n) = map.get(key) {
            return n;
        }
        let next = map.len() as i32;
        map.insert(key.to_string(), next);
        next
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut dropped: Vec<DroppedJob> = Vec::new();
    let mut steps: Vec<(u64, String)> = Vec::new();
    let mut input_jobs = 0u64;
    while let Some((i, first)) = lines.next() {
        if first.trim().is_empty() {
            continue;
        }
        let line = i as u64 + 1;
        // A record continues on the next lines while it has too few fields (newlines in
        // free-text columns).
        let mut record = first.to_string();
        while record.split('|').count() < cols.count {
            match lines.next() {
                Some((_, more)) => {
                    record.push('\n');
                    record.push_str(more);
                }
                None => break,
            }
        }
        let Some(fields) = split_record(&cols, &record) else {
            let found = record.split('|').count();
            let message = if found < cols.count {
                format!(
                    "the file ends inside a record: {found} of the header's {} fields",
                    cols.count
                )
            } else {
                format!(
                    "{found} fields where the header has {}, and no way of giving the extra \
                     ones to the free-text columns ({}) makes the times, durations and \
                     numbers parse",
                    cols.count,
                    FREE_TEXT.join(", ")
                )
            };
            if options.lenient {
                input_jobs += 1;
                dropped.push(DroppedJob {
                    line,
                    trace_id: None,
                    reason: DropReason::MalformedLine,
                    detail: message,
                });
                continue;
            }
            return Err(err(Some(line), message));
        };
        let get = |k: usize| {
            at[k]
                .and_then(|i| fields.get(i))
                .map(|f| f.trim())
                .unwrap_or("")
        };
        let id_text = get(k::JobID).to_string();
        if id_text.contains('.') {
            steps.push((line, id_text));
            continue;
        }
        input_jobs += 1;
        let Some(submit_s) = parse_timestamp_s(get(k::Submit)) else {
            dropped.push(DroppedJob {
                line,
                trace_id: get(k::JobIDRaw).parse().ok(),
                reason: DropReason::NegativeSubmit,
                detail: format!("Submit {:?} is not a time", get(k::Submit)),
            });
            continue;
        };
        let start_s = parse_timestamp_s(get(k::Start));
        let end_s = parse_timestamp_s(get(k::End));
        let run_ms = match (
            get(k::ElapsedRaw).parse::<u64>().ok(),
            parse_duration_ms(get(k::Elapsed)),
        ) {
            (Some(s), _) if end_s.is_some() || start_s.is_none() => Some(s * 1000),
            (_, Some(ms)) if end_s.is_some() => Some(ms),
            _ => match (start_s, end_s) {
                (Some(a), Some(b)) if b >= a => Some((b - a) as u64 * 1000),
                _ => None,
            },
        };
        let limit_ms = match get(k::TimelimitRaw).parse::<u64>() {
            Ok(minutes) => Some(minutes * 60_000),
            Err(_) => parse_duration_ms(get(k::Timelimit)),
        };
        let cpus = [k::NCPUS, k::AllocCPUS, k::ReqCPUS]
            .iter()
            .filter_map(|c| get(*c).parse::<u64>().ok())
            .find(|&v| v > 0)
            .or_else(|| {
                [k::AllocTRES, k::ReqTRES]
                    .iter()
                    .filter_map(|c| tres(get(*c), "cpu"))
                    .filter_map(|v| v.parse::<u64>().ok())
                    .find(|&v| v > 0)
            })
            .unwrap_or(0);
        let name = get(k::JobName).to_ascii_lowercase();
        let qos = get(k::QOS).to_ascii_lowercase();
        let partition = get(k::Partition);
        let interactive = matches!(name.as_str(), "interactive" | "bash" | "sh" | "qlogin")
            || name.starts_with("jupyter")
            || qos.contains("interactive")
            || partition.to_ascii_lowercase().contains("interactive");
        rows.push(Row {
            line,
            raw_id: get(k::JobIDRaw).parse().ok(),
            id_text,
            submit_s,
            start_s,
            run_ms,
            limit_ms,
            procs: cpus,
            user: number(&mut users, get(k::User)),
            account: number(&mut accounts, get(k::Account)),
            partition: number(&mut partitions, partition),
            interactive,
            state: get(k::State)
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string(),
            nnodes: get(k::NNodes)
                .parse::<u32>()
                .ok()
                .filter(|&n| n > 0)
                .unwrap_or(1),
            mem: parse_mem_mb(get(k::ReqMem)).or_else(|| {
                tres(get(k::ReqTRES), "mem")
                    .and_then(|m| parse_mem_mb(&m))
                    .map(|(mb, _)| (mb, false))
            }),
            gpus: [k::AllocTRES, k::ReqTRES]
                .iter()
                .filter_map(|c| tres(get(*c), "gres/gpu"))
                .filter_map(|v| v.parse::<u32>().ok())
                .next()
                .unwrap_or(0),
        });
    }
    // Steps fold into their job; a step without one is an orphan.
    let job_ids: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r.id_text.as_str()).collect();
    for (line, id) in steps {
        let parent = id.split('.').next().unwrap_or("");
        if !job_ids.contains(parent) {
            input_jobs += 1;
            dropped.push(DroppedJob {
                line,
                trace_id: None,
                reason: DropReason::OrphanStep,
                detail: format!("step {id} of a job not in the file"),
            });
        }
    }

    let t0 = rows.iter().map(|r| r.submit_s).min().unwrap_or(0);
    let machine_procs = options.procs.ok_or_else(|| {
        err(
            None,
            "machine size unknown: a sacct dump does not say it; pass --procs N or use a \
             scenario with a [cluster]"
                .to_string(),
        )
    })?;
    let mut partition_names = vec![String::new(); partitions.len()];
    for (name, &n) in &partitions {
        partition_names[n as usize] = name.clone();
    }
    let mut jobs: Vec<Job> = Vec::new();
    let mut requests: Vec<(NodeRequest, Option<String>)> = Vec::new();
    for (k, r) in rows.iter().enumerate() {
        let trace_id = r.raw_id.unwrap_or(k as u64 + 1);
        let drop = |reason: DropReason, detail: String| DroppedJob {
            line: r.line,
            trace_id: Some(trace_id),
            reason,
            detail,
        };
        if r.start_s.is_none() {
            dropped.push(drop(
                DropReason::NeverStarted,
                format!("{} never started ({})", r.id_text, r.state),
            ));
            continue;
        }
        let Some(run_ms) = r.run_ms else {
            dropped.push(drop(
                DropReason::NoEnd,
                format!("{} has no end ({})", r.id_text, r.state),
            ));
            continue;
        };
        if r.procs == 0 {
            dropped.push(drop(DropReason::NonPositiveSize, "no CPUs".to_string()));
            continue;
        }
        if r.procs > u64::from(machine_procs) && !options_node_level {
            dropped.push(drop(
                DropReason::LargerThanMachine,
                format!("size {} > machine {machine_procs}", r.procs),
            ));
            continue;
        }
        let limit = r.limit_ms.unwrap_or(run_ms);
        let (run, estimate, killed) = if run_ms > limit && options.kill_at_walltime {
            (limit, limit, true)
        } else {
            (run_ms, limit.max(run_ms), false)
        };
        let (user, group, partition) = (r.user, r.account, r.partition);
        jobs.push(Job {
            trace_id,
            submit: SimTime::from_ms((r.submit_s - t0).max(0) as u64 * 1000),
            run: SimDuration::from_ms(run),
            estimate: SimDuration::from_ms(estimate),
            procs: r.procs as u32,
            kind: if r.interactive {
                JobKind::Interactive
            } else {
                JobKind::Batch
            },
            killed,
            user,
            group,
            queue: if r.interactive { 0 } else { -1 },
            partition,
        });
        // Its node-level request: NNodes nodes sharing the CPUs, memory and GPUs evenly.
        let nodes = r.nnodes.max(1);
        let cores_per_node = (r.procs as u32).div_ceil(nodes);
        let memory_mb_per_node = match r.mem {
            Some((mb, true)) => mb * u64::from(cores_per_node),
            Some((mb, false)) => mb,
            None => 0,
        };
        requests.push((
            NodeRequest {
                nodes,
                tasks_per_node: cores_per_node,
                cores_per_node,
                memory_mb_per_node,
                gpus_per_node: r.gpus.div_ceil(nodes),
                ..NodeRequest::default()
            },
            usize::try_from(r.partition)
                .ok()
                .map(|p| partition_names[p].clone()),
        ));
    }
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| (jobs[i].submit, jobs[i].trace_id));
    let jobs: Vec<Job> = order.iter().map(|&i| jobs[i].clone()).collect();
    let requests: Vec<(NodeRequest, Option<String>)> =
        order.iter().map(|&i| requests[i].clone()).collect();
    dropped.sort_by_key(|d| d.line);
    let mut header = BTreeMap::new();
    header.insert("Columns".to_string(), cols.count.to_string());
    header.insert("UnixStartTime".to_string(), t0.to_string());
    for (name, map) in [("Partitions", &partitions), ("Accounts", &accounts)] {
        let mut by_number: Vec<(&i32, &String)> = map.iter().map(|(k, v)| (v, k)).collect();
        by_number.sort();
        header.insert(
            name.to_string(),
            by_number
                .iter()
                .map(|(n, k)| format!("{n}={k}"))
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    let mut w = Workload {
        jobs,
        dropped,
        machine_procs,
        meta: WorkloadMeta {
            source: source_name.to_string(),
            format: "sacct".to_string(),
            header,
            unix_start_time: Some(t0),
            ..WorkloadMeta::default()
        },
        input_jobs,
        nodes: None,
    };
    if let Some((cluster, placement)) = on_nodes {
        super::classes::attach_requests(&mut w, requests, cluster, placement);
        w.dropped.sort_by_key(|d| d.line);
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slurm_durations_memory_and_times() {
        assert_eq!(parse_duration_ms("00:56"), Some(56_000));
        assert_eq!(parse_duration_ms("00:00.006"), Some(6));
        assert_eq!(parse_duration_ms("23:33:25"), Some(84_805_000));
        assert_eq!(parse_duration_ms("3-00:00:00"), Some(259_200_000));
        assert_eq!(parse_duration_ms("18-15:54:58"), Some(1_612_498_000));
        assert_eq!(parse_duration_ms("UNLIMITED"), None);
        assert_eq!(parse_duration_ms("Partition_Limit"), None);
        assert_eq!(parse_mem_mb("4000M"), Some((4000, false)));
        assert_eq!(parse_mem_mb("4G"), Some((4096, false)));
        assert_eq!(parse_mem_mb("2800Mc"), Some((2800, true)));
        assert_eq!(parse_mem_mb("64Gn"), Some((65536, false)));
        assert_eq!(parse_timestamp_s("1970-01-02T00:00:01"), Some(86_401));
        assert_eq!(
            parse_timestamp_s("2021-10-05T11:26:12"),
            Some(1_633_433_172)
        );
        assert_eq!(parse_timestamp_s("Unknown"), None);
        assert_eq!(
            tres("billing=2,cpu=2,gres/gpu=4,mem=4000M", "gres/gpu").as_deref(),
            Some("4")
        );
    }
}
