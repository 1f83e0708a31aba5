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
//!   A `ReqMem` that is not a memory size (`Unknown`, empty, anything else) is no memory
//!   request; counts beyond 32 bits (CPUs, nodes, GPUs) are kept as the largest count, so
//!   that no machine or cluster holds such a job and it is dropped, never shrunk.
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
//!   file; a number that repeats an earlier job's is an error naming both lines, or with
//!   `--lenient` renumbered and counted, as for SWF.
//! - **Times**: `Submit`, `Start`, `End` are ISO local times (`2021-10-05T11:26:12`), taken
//!   as written (no time zone); the trace starts at its earliest submission. Durations:
//!   `MM:SS`, `MM:SS.mmm`, `HH:MM:SS`, `D-HH:MM:SS`; `Timelimit` may be `UNLIMITED` or
//!   `Partition_Limit` (then the estimate is the run time).
//! - **Run time** is `Elapsed` (else `End − Start`); the estimate is `Timelimit`, raised to
//!   the run time when shorter, or cut as with SWF under `--kill-at-walltime`.
//! - **Jobs that never started** (no `Start`, e.g. cancelled while pending) are dropped with
//!   reason `never_started`; jobs still running or pending at the dump (no `End` and no
//!   `Elapsed`) with reason `no_end`; sizes of 0 with `non_positive_size`. Interactive jobs
//!   (sessions) are those named `interactive`, `bash`, `sh`, `qlogin` or `jupyter*`, in a
//!   QOS or partition whose name contains `interactive`, submitted by `salloc` or `srun`
//!   (the first word of `SubmitLine`, by any path), or allocations: jobs whose steps are in
//!   the dump but include no `.batch` step, which every `sbatch` job has.
//!
//! The jobs are processors anywhere (their `NCPUS`), like SWF jobs; the machine size comes
//! from `--procs` or the scenario's cluster.

use super::swf::{open_trace, read_bounded, SwfError, SwfOptions};
use super::{DropReason, DroppedJob, Job, JobKind, Workload, WorkloadMeta};
use crate::cluster::nodes::{NodeRequest, Placement};
use crate::cluster::spec::ClusterSpec;
use crate::engine::time::{SimDuration, SimTime};
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::collections::BTreeMap;
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
    let bytes = read_bounded(open_trace(path)?, &name)?;
    // Valid UTF-8 (the usual case) is used in place rather than copied; anything else is
    // read with its invalid bytes replaced, as before.
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    read_sacct_on(&text, &name, options, on_nodes)
}

/// Whether `text` (the start of a file) looks like a sacct dump: a header line of
/// `|`-separated names including `JobID`.
pub fn looks_like_sacct(first_line: &str) -> bool {
    first_line.contains('|') && first_line.split('|').any(|c| c.trim() == "JobID")
}

/// The parts of a duration: days, hours, minutes, seconds, milliseconds, and whether the
/// hours were written (`HH:MM:SS` rather than `MM:SS`).
type DurationParts = (u64, u64, u64, u64, u64, bool);

/// A parsed duration in ms: `[D-][HH:]MM:SS[.mmm]`; `None` for `UNLIMITED`,
/// `Partition_Limit`, `INVALID`, empty or unparsable text.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    // Nearly every duration in a dump is plain digits (`[D-]HH:MM:SS`): those are read in
    // place, without the splitting, trimming and allocating of the general reader, which
    // gives the same parts for them.
    let (days, h, m, sec, ms, with_hours) = match plain_duration_parts(text.as_bytes()) {
        Some(parts) => parts,
        None => duration_parts(text)?,
    };
    if m >= 60 && with_hours || sec >= 60 {
        return None;
    }
    // Checked: a duration too long for the clock is unparsable, not a wrapped small one.
    days.checked_mul(24)?
        .checked_add(h)?
        .checked_mul(60)?
        .checked_add(m)?
        .checked_mul(60)?
        .checked_add(sec)?
        .checked_mul(1000)?
        .checked_add(ms)
}

/// The parts of a duration of the form `[D-][HH:]MM:SS` in ASCII digits only (no spaces,
/// signs or fraction), else `None`.
fn plain_duration_parts(b: &[u8]) -> Option<DurationParts> {
    // Groups of at most 18 digits: each fits a u64, as the general reader's parse needs.
    let mut groups = [0u64; 4];
    let mut n = 0;
    let mut digits = 0;
    let mut days = false;
    for &c in b {
        match c {
            b'0'..=b'9' if digits < 18 => {
                groups[n] = groups[n] * 10 + u64::from(c - b'0');
                digits += 1;
            }
            b'-' if n == 0 && digits > 0 && !days => {
                days = true;
                n = 1;
                digits = 0;
            }
            b':' if digits > 0 && n < 3 => {
                n += 1;
                digits = 0;
            }
            _ => return None,
        }
    }
    if digits == 0 {
        return None;
    }
    let d = if days { groups[0] } else { 0 };
    Some(match &groups[usize::from(days)..=n] {
        [m, s] => (d, 0, *m, *s, 0, false),
        [h, m, s] => (d, *h, *m, *s, 0, true),
        _ => return None,
    })
}

/// The parts of any duration the reader accepts (see [`parse_duration_ms`]).
fn duration_parts(text: &str) -> Option<DurationParts> {
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
    Some((days, h, m, sec, ms, parts.len() == 3))
}

/// Seconds since 1970-01-01 of an ISO date-time `YYYY-MM-DDTHH:MM:SS` (no zone); `None`
/// for `Unknown`, `None` and anything else.
pub fn parse_timestamp_s(text: &str) -> Option<i64> {
    // The exact form sacct writes is read in place; anything else (spaces, signs, other
    // widths, extra parts) goes through the general reader, which gives the same fields
    // for that form.
    let [y, mo, da, h, mi, s] = match iso_fields(text.as_bytes()) {
        Some(fields) => fields,
        None => timestamp_fields(text)?,
    };
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

/// Year, month, day, hour, minute, second of exactly `DDDD-DD-DDTDD:DD:DD` (ASCII digits).
fn iso_fields(b: &[u8]) -> Option<[i64; 6]> {
    let b: &[u8; 19] = b.try_into().ok()?;
    const DIGITS: [usize; 14] = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    if [b[4], b[7], b[10], b[13], b[16]] != *b"--T::"
        || !DIGITS.iter().all(|&i| b[i].is_ascii_digit())
    {
        return None;
    }
    let d = |i: usize| i64::from(b[i] - b'0');
    Some([
        d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3),
        d(5) * 10 + d(6),
        d(8) * 10 + d(9),
        d(11) * 10 + d(12),
        d(14) * 10 + d(15),
        d(17) * 10 + d(18),
    ])
}

/// The six numbers of any date-time the reader accepts (see [`parse_timestamp_s`]).
fn timestamp_fields(text: &str) -> Option<[i64; 6]> {
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
    Some([y, mo, da, h, mi, s])
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
    // Whole numbers (the usual form) skip the float parser: any integer of up to 15
    // digits is exactly the f64 it would give.
    let v: f64 = if (1..=15).contains(&num.len()) && num.bytes().all(|c| c.is_ascii_digit()) {
        num.parse::<u64>().ok()? as f64
    } else {
        num.parse().ok()?
    };
    let mb = match unit {
        "K" => v / 1024.0,
        "M" => v,
        "G" => v * 1024.0,
        "T" => v * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((mb.round() as u64, per_cpu))
}

/// A value of a TRES list (`billing=12,cpu=12,mem=33600M,node=1,gres/gpu=2`): of the first
/// `key=value` item whose key, trimmed, is `key`. Items are found by a plain byte scan:
/// they are too short for `split`'s searcher to pay off.
fn tres<'a>(list: &'a str, key: &str) -> Option<&'a str> {
    let mut rest = list;
    loop {
        let (item, next) = match rest.bytes().position(|c| c == b',') {
            Some(comma) => (&rest[..comma], Some(&rest[comma + 1..])),
            None => (rest, None),
        };
        if let Some(eq) = item.bytes().position(|c| c == b'=') {
            if trim(&item[..eq]) == key {
                return Some(trim(&item[eq + 1..]));
            }
        }
        rest = next?;
    }
}

/// Whether `text` contains `needle` (ASCII), ignoring ASCII case: what
/// `text.to_ascii_lowercase().contains(needle)` says, without the copy.
fn contains_ignore_ascii_case(text: &str, needle: &str) -> bool {
    text.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// `text.trim()`, without its Unicode scan when the text starts and ends with a visible
/// ASCII character (as nearly every field does): no whitespace can be trimmed then.
fn trim(text: &str) -> &str {
    let visible = |c: &u8| (b'!'..=b'~').contains(c);
    let b = text.as_bytes();
    if b.first().is_some_and(visible) && b.last().is_some_and(visible) {
        text
    } else {
        text.trim()
    }
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
    pub const SubmitLine: usize = 23;
}

/// The names of the columns in [`k`], in its order.
const USED: [&str; 24] = [
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
    "SubmitLine",
];

struct Columns {
    index: BTreeMap<String, usize>,
    count: usize,
    /// Header position of each column in [`USED`].
    at: Vec<Option<usize>>,
    /// Header positions of the free-text columns present, in the order of [`FREE_TEXT`].
    free: Vec<usize>,
}

/// The byte range of a field in its record.
type Span = (usize, usize);

/// A record: its text, and the byte range in it of each field. Fields are kept as ranges
/// so that one buffer of them serves every record, whatever text it borrows.
#[derive(Clone, Copy)]
struct Record<'r> {
    text: &'r str,
    fields: &'r [Span],
}

impl Columns {
    /// The untrimmed field of column `k` (a [`k`] constant), if the header has it.
    fn get<'r>(&self, rec: Record<'r>, k: usize) -> Option<&'r str> {
        let &(from, to) = rec.fields.get(self.at[k]?)?;
        Some(&rec.text[from..to])
    }

    /// The byte range of the trimmed field of column `k`; empty if the header lacks it.
    fn range(&self, rec: Record<'_>, k: usize) -> Span {
        let Some(&(from, to)) = self.at[k].and_then(|i| rec.fields.get(i)) else {
            return (0, 0);
        };
        let raw = &rec.text[from..to];
        let trimmed = trim(raw);
        // `trimmed` is a part of `raw`: its offset there is what was cut at the front.
        let start = from + (trimmed.as_ptr() as usize - raw.as_ptr() as usize);
        (start, start + trimmed.len())
    }

    /// The trimmed field of column `k`; empty if the header lacks it.
    fn value<'r>(&self, rec: Record<'r>, k: usize) -> &'r str {
        self.get(rec, k).map_or("", trim)
    }
}

/// The typed columns of a record (times, durations, numbers), each parsed once: for
/// checking that a way of splitting the record makes sense, then for the job.
struct Typed {
    submit_s: Option<i64>,
    start_s: Option<i64>,
    end_s: Option<i64>,
    elapsed_ms: Option<u64>,
    elapsed_raw: Option<u64>,
    timelimit_ms: Option<u64>,
    /// `NCPUS`, `AllocCPUS`, `ReqCPUS`: the sizes in the order they are looked at.
    cpus: [Option<u64>; 3],
    nnodes: Option<u64>,
}

// The typed columns' readers: `None` if the field is there and wrong, `Some(value)`
// otherwise (with a value of `None` for an absent, empty or "none" field).

fn job_id_field(v: Option<&str>) -> Option<()> {
    v.is_some_and(|v| v.as_bytes().first().is_some_and(u8::is_ascii_digit))
        .then_some(())
}

fn time_field(v: Option<&str>) -> Option<Option<i64>> {
    match v.map(trim) {
        None | Some("" | "Unknown" | "None") => Some(None),
        Some(v) => parse_timestamp_s(v).map(Some),
    }
}

fn duration_field(v: Option<&str>) -> Option<Option<u64>> {
    match v.map(trim) {
        None | Some("" | "UNLIMITED" | "Partition_Limit" | "INVALID") => Some(None),
        Some(v) => parse_duration_ms(v).map(Some),
    }
}

fn int_field(v: Option<&str>) -> Option<Option<u64>> {
    match v.map(trim) {
        None | Some("") => Some(None),
        Some(v) => v.parse::<u64>().ok().map(Some),
    }
}

/// The first typed column of `rec` that does not read, with its text (for the error of a
/// record that has the header's number of fields).
fn unreadable_column(cols: &Columns, rec: Record<'_>) -> Option<(&'static str, String)> {
    let ok = |k: usize| {
        let v = cols.get(rec, k);
        match k {
            k::JobID => job_id_field(v).is_some(),
            k::Submit | k::Start | k::End | k::Eligible => time_field(v).is_some(),
            k::Elapsed | k::Timelimit => duration_field(v).is_some(),
            _ => int_field(v).is_some(),
        }
    };
    [
        k::JobID,
        k::Submit,
        k::Start,
        k::End,
        k::Elapsed,
        k::ElapsedRaw,
        k::Timelimit,
        k::NCPUS,
        k::AllocCPUS,
        k::ReqCPUS,
        k::NNodes,
        k::Eligible,
    ]
    .into_iter()
    .find(|&k| !ok(k))
    .map(|k| {
        let text: String = cols.get(rec, k).unwrap_or("").chars().take(40).collect();
        (USED[k], text)
    })
}

/// The typed columns of a candidate row, if they all parse (or are empty, or a word sacct
/// writes for "none": `Unknown`, `None`, `UNLIMITED`, ...) and its `JobID` starts with a
/// digit; else `None`, and the row is not split that way.
fn typed(cols: &Columns, rec: Record<'_>) -> Option<Typed> {
    job_id_field(cols.get(rec, k::JobID))?;
    let time = |k: usize| time_field(cols.get(rec, k));
    let duration = |k: usize| duration_field(cols.get(rec, k));
    let int = |k: usize| int_field(cols.get(rec, k));
    let typed = Typed {
        submit_s: time(k::Submit)?,
        start_s: time(k::Start)?,
        end_s: time(k::End)?,
        elapsed_ms: duration(k::Elapsed)?,
        elapsed_raw: int(k::ElapsedRaw)?,
        timelimit_ms: duration(k::Timelimit)?,
        cpus: [int(k::NCPUS)?, int(k::AllocCPUS)?, int(k::ReqCPUS)?],
        nnodes: int(k::NNodes)?,
    };
    time(k::Eligible)?;
    Some(typed)
}

/// Splits a record (its raw `|`-separated fields) into exactly the header's number of
/// fields, with their typed columns: the extra fields are given back to the free-text
/// columns, trying every way to share them out (preferring `SubmitLine`, then the order of
/// [`FREE_TEXT`]) until the typed columns all parse.
fn split_record<'f>(
    cols: &Columns,
    text: &str,
    raw: &'f [Span],
) -> Option<(Cow<'f, [Span]>, Typed)> {
    if raw.len() < cols.count {
        return None;
    }
    let extra = raw.len() - cols.count;
    if extra == 0 {
        let typed = typed(cols, Record { text, fields: raw })?;
        return Some((Cow::Borrowed(raw), typed));
    }
    let free = &cols.free;
    if free.is_empty() || extra > 32 {
        return None;
    }
    let mut share = vec![0usize; free.len()];
    // The fields when free column `free[k]` takes `share[k]` extra raw fields.
    let build = |share: &[usize]| -> Vec<Span> {
        let mut extra_at = vec![0usize; cols.count];
        for (k, &c) in free.iter().enumerate() {
            extra_at[c] = share[k];
        }
        let mut fields = Vec::with_capacity(cols.count);
        let mut r = 0;
        for &e in extra_at.iter() {
            fields.push((raw[r].0, raw[r + e].1));
            r += e + 1;
        }
        fields
    };
    type Found = (Vec<Span>, Typed);
    // Depth-first over the ways to share `extra` among the free columns, the first
    // column taking the most first.
    fn search(
        k: usize,
        left: usize,
        share: &mut Vec<usize>,
        try_it: &mut dyn FnMut(&[usize]) -> Option<Found>,
    ) -> Option<Found> {
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
        let typed = typed(
            cols,
            Record {
                text,
                fields: &fields,
            },
        )?;
        Some((fields, typed))
    };
    let (fields, typed) = search(0, extra, &mut share, &mut try_it)?;
    Some((Cow::Owned(fields), typed))
}

/// Appends the byte ranges of the `|`-separated fields of `line` to `fields`, as ranges of
/// a text in which `line` starts at byte `at`. One pass over the bytes, no allocation once
/// `fields` has grown to a record's size.
fn split_fields(line: &str, at: usize, fields: &mut Vec<Span>) {
    let mut from = at;
    for (i, &c) in line.as_bytes().iter().enumerate() {
        if c == b'|' {
            fields.push((from, at + i));
            from = at + i + 1;
        }
    }
    fields.push((from, at + line.len()));
}

/// Names (users, accounts, partitions) to numbers in order of first appearance, so
/// deterministic for a given file. The hash map serves look-ups only; `names` gives the
/// order.
#[derive(Default)]
struct Numbering {
    numbers: FxHashMap<String, i32>,
    names: Vec<String>,
}

impl Numbering {
    /// The number of `name`; -1 for an empty one.
    fn number(&mut self, name: &str) -> i32 {
        if name.is_empty() {
            return -1;
        }
        if let Some(&n) = self.numbers.get(name) {
            return n;
        }
        let next = self.names.len() as i32;
        self.numbers.insert(name.to_string(), next);
        self.names.push(name.to_string());
        next
    }
}

/// The steps of a job seen in a dump.
#[derive(Clone, Copy, Debug, Default)]
struct StepsSeen {
    any: bool,
    batch: bool,
}

impl StepsSeen {
    fn see(&mut self, step: &str) {
        self.any = true;
        self.batch |= step == "batch";
    }

    /// An allocation (`salloc`, `srun` outside a batch script): steps, none of them the
    /// `.batch` step that every `sbatch` job has. A dump of jobs only (`sacct -X`) shows no
    /// steps at all, and says nothing this way.
    fn is_allocation(self) -> bool {
        self.any && !self.batch
    }
}

/// Whether a job's `SubmitLine` is `salloc` or `srun` (by any path): a session.
fn submitted_interactively(submit_line: &str) -> bool {
    let command = submit_line
        .split_whitespace()
        .next()
        .map(|c| c.rsplit('/').next().unwrap_or(c));
    matches!(command, Some("salloc" | "srun"))
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
    // A byte-order mark before the header would otherwise glue itself to the first
    // column's name (`\u{feff}JobID`), and the header would lack its JobID.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate();
    let header = loop {
        match lines.next() {
            Some((_, l)) if l.trim().is_empty() => continue,
            Some((_, l)) => break l,
            None => return Err(err(None, "empty file: no header line".to_string())),
        }
    };
    let names: Vec<&str> = header.split('|').map(str::trim).collect();
    let index: BTreeMap<String, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.to_string(), i))
        .collect();
    let cols = Columns {
        at: USED.iter().map(|n| index.get(*n).copied()).collect(),
        free: FREE_TEXT
            .iter()
            .filter_map(|name| index.get(*name).copied())
            .collect(),
        index,
        count: names.len(),
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

    /// A job as read, before the drops that need the whole file (its start time, the
    /// machine size). Its texts borrow from the input unless the record spanned lines.
    struct Row<'t> {
        line: u64,
        id_text: Cow<'t, str>,
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
        /// Steps seen: any, and a `.batch` one (see [`is_allocation`]).
        steps: StepsSeen,
        state: Cow<'t, str>,
        nnodes: u32,
        mem: Option<(u64, bool)>,
        gpus: u32,
    }
    let mut users = Numbering::default();
    let mut accounts = Numbering::default();
    let mut partitions = Numbering::default();
    let mut rows: Vec<Row> = Vec::new();
    let mut dropped: Vec<DroppedJob> = Vec::new();
    // Steps whose job is not the job just read, to look up once every job is known.
    let mut unmatched_steps: Vec<(u64, String)> = Vec::new();
    let mut input_jobs = 0u64;
    // The raw fields of the current record, reused from record to record.
    let mut raw: Vec<Span> = Vec::with_capacity(cols.count + 1);
    while let Some((i, first)) = lines.next() {
        if trim(first).is_empty() {
            continue;
        }
        let line = i as u64 + 1;
        raw.clear();
        split_fields(first, 0, &mut raw);
        // A record continues on the next lines while it has too few fields (newlines in
        // free-text columns); it is then copied, its lines joined by `\n`. A record on
        // one line, the usual case, is used where it is.
        let record: Cow<str> = if raw.len() >= cols.count {
            Cow::Borrowed(first)
        } else {
            let mut joined = first.to_string();
            while raw.len() < cols.count {
                let Some((_, more)) = lines.next() else {
                    break;
                };
                joined.push('\n');
                // The next line's first field continues the record's last one.
                let (last_from, _) = raw.pop().expect("a record has a field");
                let first_of_more = raw.len();
                split_fields(more, joined.len(), &mut raw);
                raw[first_of_more].0 = last_from;
                joined.push_str(more);
            }
            Cow::Owned(joined)
        };
        let Some((fields, typed)) = split_record(&cols, &record, &raw) else {
            let found = raw.len();
            let whole = Record {
                text: &record,
                fields: &raw,
            };
            let message = if found < cols.count {
                format!(
                    "the file ends inside a record: {found} of the header's {} fields",
                    cols.count
                )
            } else if let Some((column, text)) = (found == cols.count)
                .then(|| unreadable_column(&cols, whole))
                .flatten()
            {
                format!("field {column}: cannot read '{text}'")
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
        let rec = Record {
            text: &record,
            fields: &fields,
        };
        let get = |k: usize| cols.value(rec, k);
        // A text kept in the row: borrowed from the input for a one-line record.
        let keep = |(from, to): Span| -> Cow<str> {
            match &record {
                Cow::Borrowed(line) => Cow::Borrowed(&line[from..to]),
                Cow::Owned(joined) => Cow::Owned(joined[from..to].to_string()),
            }
        };
        let id = get(k::JobID);
        if let Some(dot) = id.bytes().position(|c| c == b'.') {
            let parent = &id[..dot];
            // Steps nearly always follow their job: one matching the job just read needs
            // no look-up later.
            match rows.last_mut() {
                Some(r) if r.id_text == parent => r.steps.see(&id[dot + 1..]),
                _ => unmatched_steps.push((line, id.to_string())),
            }
            continue;
        }
        input_jobs += 1;
        let Some(submit_s) = typed.submit_s else {
            dropped.push(DroppedJob {
                line,
                trace_id: get(k::JobIDRaw).parse().ok(),
                reason: DropReason::NegativeSubmit,
                detail: format!("Submit {:?} is not a time", get(k::Submit)),
            });
            continue;
        };
        let (start_s, end_s) = (typed.start_s, typed.end_s);
        let run_ms = match (typed.elapsed_raw, typed.elapsed_ms) {
            (Some(s), _) if end_s.is_some() || start_s.is_none() => Some(s * 1000),
            (_, Some(ms)) if end_s.is_some() => Some(ms),
            _ => match (start_s, end_s) {
                (Some(a), Some(b)) if b >= a => Some((b - a) as u64 * 1000),
                _ => None,
            },
        };
        let limit_ms = match get(k::TimelimitRaw).parse::<u64>() {
            Ok(minutes) => Some(minutes * 60_000),
            Err(_) => typed.timelimit_ms,
        };
        let cpus = typed
            .cpus
            .into_iter()
            .flatten()
            .find(|&v| v > 0)
            .or_else(|| {
                [k::AllocTRES, k::ReqTRES]
                    .iter()
                    .filter_map(|c| tres(get(*c), "cpu"))
                    .filter_map(|v| v.parse::<u64>().ok())
                    .find(|&v| v > 0)
            })
            .unwrap_or(0);
        // Compared ignoring ASCII case, as the lower-cased names were.
        let name = get(k::JobName);
        let partition = get(k::Partition);
        let interactive = ["interactive", "bash", "sh", "qlogin"]
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n))
            || name
                .as_bytes()
                .get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"jupyter"))
            || contains_ignore_ascii_case(get(k::QOS), "interactive")
            || contains_ignore_ascii_case(partition, "interactive")
            || submitted_interactively(get(k::SubmitLine));
        // The state's first word (`CANCELLED by 1001`): the trimmed field starts with it.
        let (state_from, state_to) = cols.range(rec, k::State);
        let state_word = record[state_from..state_to]
            .split_whitespace()
            .next()
            .unwrap_or("");
        rows.push(Row {
            line,
            raw_id: get(k::JobIDRaw).parse().ok(),
            id_text: keep(cols.range(rec, k::JobID)),
            submit_s,
            start_s,
            run_ms,
            limit_ms,
            procs: cpus,
            user: users.number(get(k::User)),
            account: accounts.number(get(k::Account)),
            partition: partitions.number(partition),
            interactive,
            steps: StepsSeen::default(),
            state: keep((state_from, state_from + state_word.len())),
            // Beyond 32 bits, no cluster could hold it (the job is dropped as `no_node_fits`).
            nnodes: typed
                .nnodes
                .map(super::saturating_count)
                .filter(|&n| n > 0)
                .unwrap_or(1),
            mem: parse_mem_mb(get(k::ReqMem)).or_else(|| {
                tres(get(k::ReqTRES), "mem")
                    .and_then(parse_mem_mb)
                    .map(|(mb, _)| (mb, false))
            }),
            gpus: [k::AllocTRES, k::ReqTRES]
                .iter()
                .filter_map(|c| tres(get(*c), "gres/gpu"))
                .filter_map(|v| v.parse::<u64>().ok())
                .map(super::saturating_count)
                .next()
                .unwrap_or(0),
        });
    }
    // Steps fold into their job; a step without one is an orphan.
    if !unmatched_steps.is_empty() {
        // A job number may repeat (requeued jobs in `sacct -D` dumps, read with
        // --lenient): a step belongs to the last job of its number before it in the file.
        let mut job_rows: FxHashMap<String, Vec<usize>> = FxHashMap::default();
        for (at, r) in rows.iter().enumerate() {
            job_rows.entry(r.id_text.to_string()).or_default().push(at);
        }
        for (line, id) in unmatched_steps {
            let (parent, step) = id.split_once('.').unwrap_or((&id, ""));
            match job_rows.get(parent) {
                Some(ats) => {
                    let before = ats.partition_point(|&at| rows[at].line < line);
                    rows[ats[before.saturating_sub(1)]].steps.see(step);
                }
                None => {
                    input_jobs += 1;
                    dropped.push(DroppedJob {
                        line,
                        trace_id: None,
                        reason: DropReason::OrphanStep,
                        detail: format!("step {id} of a job not in the file"),
                    });
                }
            }
        }
    }
    for r in &mut rows {
        r.interactive |= r.steps.is_allocation();
    }

    // Job numbers are unique: a repeat is an error naming both lines, or under
    // `--lenient` a new number (counted). Jobs dropped before becoming rows count too.
    let mut renumbered_jobs = 0u64;
    {
        let read = rows
            .iter()
            .enumerate()
            .map(|(k, r)| (r.line, r.raw_id.unwrap_or(k as u64 + 1)));
        let repeats =
            super::renumber_in_file_order(read, &dropped, options.lenient).map_err(|r| {
                err(
                    Some(r.line),
                    format!(
                        "JobIDRaw: job number {} repeats the job number on line {} (job numbers \
                     must be unique; --lenient renumbers repeats)",
                        r.number, r.first_line
                    ),
                )
            })?;
        for (whose, number) in repeats {
            match whose {
                super::Numbered::Read(k) => rows[k].raw_id = Some(number),
                super::Numbered::Dropped(i) => dropped[i].trace_id = Some(number),
            }
            renumbered_jobs += 1;
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
    let mut jobs: Vec<Job> = Vec::with_capacity(rows.len());
    // Node-level requests, only built when there is a cluster to place them on.
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
        // Beyond 32 bits no machine or cluster could hold it.
        if (r.procs > u64::from(machine_procs) && !options_node_level)
            || r.procs > u64::from(u32::MAX)
        {
            dropped.push(drop(
                DropReason::LargerThanMachine,
                format!("size {} > machine {machine_procs}", r.procs),
            ));
            continue;
        }
        let limit = r.limit_ms.unwrap_or(run_ms);
        // The limit is raised to the runtime unless such jobs are to be stopped at it.
        let estimate = if options.kill_at_walltime {
            limit
        } else {
            limit.max(run_ms)
        };
        let (user, group, partition) = (r.user, r.account, r.partition);
        jobs.push(Job {
            trace_id,
            submit: SimTime::from_ms((r.submit_s - t0).max(0) as u64 * 1000),
            work: SimDuration::from_ms(run_ms),
            estimate: SimDuration::from_ms(estimate),
            procs: r.procs as u32,
            kind: if r.interactive {
                JobKind::Interactive
            } else {
                JobKind::Batch
            },
            user,
            group,
            queue: if r.interactive { 0 } else { -1 },
            partition,
        });
        if !options_node_level {
            continue;
        }
        // Its node-level request: NNodes nodes sharing the CPUs, memory and GPUs evenly.
        let nodes = r.nnodes.max(1);
        let cores_per_node = (r.procs as u32).div_ceil(nodes);
        let memory_mb_per_node = match r.mem {
            Some((mb, true)) => mb.saturating_mul(u64::from(cores_per_node)),
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
                .map(|p| partitions.names[p].clone()),
        ));
    }
    // Queue order: by submission, then number; the sorts are stable, so ties keep file
    // order. Jobs alone are sorted in place; with requests, both follow one permutation.
    let sort_key = |j: &Job| (j.submit, j.trace_id);
    if options_node_level {
        let mut order: Vec<usize> = (0..jobs.len()).collect();
        order.sort_by_key(|&i| sort_key(&jobs[i]));
        jobs = order.iter().map(|&i| jobs[i].clone()).collect();
        requests = order.iter().map(|&i| requests[i].clone()).collect();
    } else {
        jobs.sort_by_key(sort_key);
    }
    dropped.sort_by_key(|d| d.line);
    let mut header = BTreeMap::new();
    header.insert("Columns".to_string(), cols.count.to_string());
    header.insert("UnixStartTime".to_string(), t0.to_string());
    for (name, numbering) in [("Partitions", &partitions), ("Accounts", &accounts)] {
        header.insert(
            name.to_string(),
            numbering
                .names
                .iter()
                .enumerate()
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
            renumbered_jobs,
            ..WorkloadMeta::default()
        },
        input_jobs,
        nodes: None,
    };
    if let Some((cluster, placement)) = on_nodes {
        super::classes::attach_requests(&mut w, requests, cluster, placement);
        // The drops made on the cluster know their job, not their line: look it up.
        let line_of: FxHashMap<u64, u64> = rows
            .iter()
            .enumerate()
            .map(|(k, r)| (r.raw_id.unwrap_or(k as u64 + 1), r.line))
            .collect();
        for d in w.dropped.iter_mut().filter(|d| d.line == 0) {
            if let Some(&line) = d.trace_id.and_then(|id| line_of.get(&id)) {
                d.line = line;
            }
        }
        w.dropped.sort_by_key(|d| d.line);
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    // `tres` returns a borrowed value now; the `as_deref` below predates that.
    #[allow(clippy::needless_option_as_deref)]
    #[test]
    fn slurm_durations_memory_and_times() {
        assert_eq!(parse_duration_ms("00:56"), Some(56_000));
        assert_eq!(parse_duration_ms("00:00.006"), Some(6));
        assert_eq!(parse_duration_ms("23:33:25"), Some(84_805_000));
        assert_eq!(parse_duration_ms("3-00:00:00"), Some(259_200_000));
        assert_eq!(parse_duration_ms("18-15:54:58"), Some(1_612_498_000));
        assert_eq!(parse_duration_ms("UNLIMITED"), None);
        assert_eq!(parse_duration_ms("Partition_Limit"), None);
        // Too long for the clock: refused, not wrapped round to a short one.
        assert_eq!(parse_duration_ms("5124095576031:00:00"), None);
        assert_eq!(parse_duration_ms("213503982334601-00:00:00"), None);
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
