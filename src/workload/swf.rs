//! Reader and writer for the Standard Workload Format (SWF v2.2) of the Parallel Workloads
//! Archive, plain or gzip-compressed.
//!
//! # What is read
//! - Header comments (`; Key: value`) are kept in [`WorkloadMeta::header`]; `MaxProcs`,
//!   `MaxNodes`, `UnixStartTime`, `TimeZoneString`, `MaxRuntime` and `Computer` are also
//!   parsed (a number is its leading integer, so `MaxNodes: 338 (batch partition; 512 total)`
//!   reads as 338). A key that occurs more than once keeps every value, joined by `" | "`.
//!   Every comment line is also kept as written ([`WorkloadMeta::header_lines`]), for
//!   `convert` to carry into the SWF it writes. A UTF-8 byte-order mark before the first
//!   line is skipped.
//! - Every other non-blank line is a job: exactly 18 whitespace-separated numbers, `-1` for
//!   unknown. Numbers may be written as decimals (`552.21`): times keep millisecond precision
//!   (rounded half away from zero), counts are rounded to the nearest integer.
//!
//! # How a line becomes a job
//! - size = field 8 (requested processors) if > 0, else field 5 (allocated processors);
//! - runtime = field 4; estimate = field 9 (requested time) if > 0, else the runtime;
//! - runtime above estimate: the estimate is raised to the runtime, or with
//!   `kill_at_walltime` the job runs only for its estimate and is marked killed;
//! - kind = interactive if field 15 (queue) is 0, else batch;
//! - dropped, with a reason, when submit < 0, runtime < 0, size ≤ 0 or size > machine
//!   (checked in that order; the first that applies is the reason);
//! - job numbers are unique: a repeat is an error naming both lines, or with `lenient` it
//!   gets a new number past the trace's largest (counted in
//!   [`WorkloadMeta::renumbered_jobs`]);
//! - jobs are sorted by `(submit, job number)`, a stable sort.
//!
//! The machine size is `--procs` if given, else `MaxProcs`, else `MaxNodes`.
//!
//! A line that is not 18 numbers (or whose job number is negative, or a number too large
//! to hold) is an error naming the file, line and field, unless `lenient` is set, in which
//! case it is counted as a dropped [`DropReason::MalformedLine`].
//! No input makes the reader panic (a property test feeds it arbitrary bytes).

use super::{DropReason, DroppedJob, Job, JobKind, Workload, WorkloadMeta};
use crate::engine::time::{SimDuration, SimTime};
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

/// How to turn an SWF file into a workload.
#[derive(Clone, Debug, Default)]
pub struct SwfOptions {
    /// Machine size in processors; overrides the header.
    pub procs: Option<u32>,
    /// End jobs whose runtime exceeds their estimate at the estimate (counted as killed),
    /// instead of raising the estimate to the runtime.
    pub kill_at_walltime: bool,
    /// Skip malformed lines (counting them) instead of stopping with an error.
    pub lenient: bool,
}

/// An SWF input that cannot be read.
#[derive(Debug, thiserror::Error)]
pub struct SwfError {
    /// The file (or stream name).
    pub source_name: String,
    /// 1-based line number, when the problem is on a line.
    pub line: Option<u64>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SwfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.source_name, line, self.message),
            None => write!(f, "{}: {}", self.source_name, self.message),
        }
    }
}

/// The 18 SWF fields' names, for error messages.
pub const FIELD_NAMES: [&str; 18] = [
    "job number",
    "submit time",
    "wait time",
    "run time",
    "allocated processors",
    "average CPU time",
    "used memory",
    "requested processors",
    "requested time",
    "requested memory",
    "status",
    "user id",
    "group id",
    "executable number",
    "queue number",
    "partition number",
    "preceding job number",
    "think time",
];

/// Reads an SWF file (gzip-compressed or not, recognised by its first bytes).
pub fn read_swf_file(path: &Path, options: &SwfOptions) -> Result<Workload, SwfError> {
    read_swf(open_trace(path)?, &path.display().to_string(), options)
}

/// Opens a trace file of any format for reading, decompressing gzip; an error names it.
pub fn open_trace(path: &Path) -> Result<Box<dyn BufRead>, SwfError> {
    let file = std::fs::File::open(path).map_err(|e| SwfError {
        source_name: path.display().to_string(),
        line: None,
        message: format!("cannot open: {e}"),
    })?;
    Ok(open_maybe_gzip(file))
}

/// Wraps a reader so that gzip input is decompressed transparently.
pub fn open_maybe_gzip<R: Read + 'static>(inner: R) -> Box<dyn BufRead> {
    let mut buffered = BufReader::with_capacity(1 << 16, inner);
    let is_gzip = matches!(buffered.fill_buf(), Ok(b) if b.starts_with(&[0x1f, 0x8b]));
    if is_gzip {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(buffered),
        ))
    } else {
        Box::new(buffered)
    }
}

/// Reads SWF text from `reader`; `source_name` names it in errors and metadata.
pub fn read_swf<R: BufRead>(
    mut reader: R,
    source_name: &str,
    options: &SwfOptions,
) -> Result<Workload, SwfError> {
    let err = |line: Option<u64>, message: String| SwfError {
        source_name: source_name.to_string(),
        line,
        message,
    };
    let mut meta = WorkloadMeta {
        source: source_name.to_string(),
        format: "swf".to_string(),
        ..WorkloadMeta::default()
    };
    // Jobs as read, with their line numbers; those larger than the machine are moved to
    // `dropped` once the header has told the machine size.
    let mut jobs: Vec<Job> = Vec::new();
    let mut lines: Vec<u64> = Vec::new();
    let mut dropped: Vec<DroppedJob> = Vec::new();
    let mut input_jobs = 0u64;
    let mut buf: Vec<u8> = Vec::with_capacity(256);
    let mut line_no = 0u64;
    loop {
        buf.clear();
        // Bounded: a file with no line breaks (or an endless one) is an error, not a line
        // that grows until memory runs out.
        let read = read_bounded_line(&mut reader, &mut buf)
            .map_err(|e| err(Some(line_no + 1), format!("read error: {e}")))?;
        line_no += 1;
        match read {
            LineRead::End => break,
            LineRead::TooLong => {
                return Err(err(
                    Some(line_no),
                    format!("a line longer than {MAX_LINE_BYTES} bytes: not an SWF trace"),
                ))
            }
            LineRead::Line => {}
        }
        let mut text = trim_ascii(&buf);
        if line_no == 1 {
            // A byte-order mark (as some editors on Windows write) is not part of the
            // first line: left there, it would turn the header into a malformed job.
            text = trim_ascii(strip_bom(text));
        }
        if text.is_empty() {
            continue;
        }
        if text[0] == b';' {
            parse_header_line(&text[1..], &mut meta);
            // Kept as written (trailing spaces included), without the line break.
            let mut written = &buf[..];
            written = written.strip_suffix(b"\n").unwrap_or(written);
            written = written.strip_suffix(b"\r").unwrap_or(written);
            if line_no == 1 {
                written = strip_bom(written);
            }
            meta.header_lines
                .push(String::from_utf8_lossy(written).into_owned());
            continue;
        }
        input_jobs += 1;
        match parse_job_line(text) {
            Ok(fields) => match job_from_fields(&fields, options) {
                Ok(job) => {
                    jobs.push(job);
                    lines.push(line_no);
                }
                // A line with no valid job number is malformed: an error unless lenient.
                Err((DropReason::MalformedLine, detail)) if !options.lenient => {
                    return Err(err(Some(line_no), detail))
                }
                Err((reason, detail)) => dropped.push(DroppedJob {
                    line: line_no,
                    trace_id: u64::try_from(round_count(fields[0])).ok(),
                    reason,
                    detail,
                }),
            },
            Err(message) if options.lenient => dropped.push(DroppedJob {
                line: line_no,
                trace_id: None,
                reason: DropReason::MalformedLine,
                detail: message,
            }),
            Err(message) => return Err(err(Some(line_no), message)),
        }
    }

    renumber_repeated_job_numbers(&mut jobs, &lines, &mut dropped, &mut meta, options).map_err(
        |r| {
            err(
                Some(r.line),
                format!(
                    "field 1 (job number): {} repeats the job number on line {} (job numbers \
                     must be unique; --lenient renumbers repeats)",
                    r.number, r.first_line
                ),
            )
        },
    )?;

    let machine_procs = match options.procs {
        Some(p) => u64::from(p),
        None => match meta.max_procs.or(meta.max_nodes) {
            Some(p) => p,
            None => {
                // Name what the header says, if anything: a value too large or not a number
                // is not the same mistake as a missing field.
                let written: Vec<String> = ["MaxProcs", "MaxNodes"]
                    .iter()
                    .filter_map(|key| meta.header.get(*key).map(|v| format!("{key} '{v}'")))
                    .collect();
                let found = if written.is_empty() {
                    "the header has no MaxProcs or MaxNodes".to_string()
                } else {
                    let verb = if written.len() == 1 { "is" } else { "are" };
                    format!(
                        "the header's {} {verb} not a positive integer of at most 64 bits",
                        written.join(" and ")
                    )
                };
                return Err(err(
                    None,
                    format!("machine size unknown: {found}; pass --procs N"),
                ));
            }
        },
    };
    let machine_procs = u32::try_from(machine_procs)
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| {
            err(
                None,
                format!(
                    "machine size {machine_procs} is out of range (1 to {})",
                    u32::MAX
                ),
            )
        })?;

    let mut line = lines.iter();
    jobs.retain(|job| {
        let line = line.next().copied().unwrap_or(0);
        if job.procs > machine_procs {
            dropped.push(DroppedJob {
                line,
                trace_id: Some(job.trace_id),
                reason: DropReason::LargerThanMachine,
                detail: format!("size {} > machine {}", job.procs, machine_procs),
            });
            false
        } else {
            true
        }
    });
    // Stable: equal (submit, id) pairs keep file order.
    jobs.sort_by_key(|j| (j.submit, j.trace_id));
    dropped.sort_by_key(|d| d.line);

    Ok(Workload {
        jobs,
        dropped,
        machine_procs,
        meta,
        input_jobs,
        nodes: None,
    })
}

/// The UTF-8 encoding of U+FEFF, the byte-order mark some tools put before a text file.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// `bytes` without a leading UTF-8 byte-order mark.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes)
}

/// Checks that no two lines give the same job number (dropped jobs included), or under
/// `lenient` gives the repeats new numbers and counts them in `meta`.
fn renumber_repeated_job_numbers(
    jobs: &mut [Job],
    lines: &[u64],
    dropped: &mut [DroppedJob],
    meta: &mut WorkloadMeta,
    options: &SwfOptions,
) -> Result<(), super::RepeatedJobNumber> {
    let read = jobs.iter().zip(lines).map(|(j, &line)| (line, j.trace_id));
    for (whose, number) in super::renumber_in_file_order(read, dropped, options.lenient)? {
        match whose {
            super::Numbered::Read(i) => jobs[i].trace_id = number,
            super::Numbered::Dropped(i) => dropped[i].trace_id = Some(number),
        }
        meta.renumbered_jobs += 1;
    }
    Ok(())
}

fn trim_ascii(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

fn parse_header_line(body: &[u8], meta: &mut WorkloadMeta) {
    let text = String::from_utf8_lossy(body);
    let Some((key, value)) = text.split_once(':') else {
        return;
    };
    let key = key.trim();
    let value = value.trim();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return; // free-text comment, not a header field
    }
    meta.header
        .entry(key.to_string())
        .and_modify(|v| {
            v.push_str(" | ");
            v.push_str(value)
        })
        .or_insert_with(|| value.to_string());
    let positive = || leading_integer(value).and_then(|v| u64::try_from(v).ok().filter(|&v| v > 0));
    match key {
        "MaxProcs" => meta.max_procs = positive(),
        "MaxNodes" => meta.max_nodes = positive(),
        "MaxRuntime" => meta.max_runtime_s = positive(),
        "UnixStartTime" => meta.unix_start_time = leading_integer(value),
        "TimeZoneString" => meta.time_zone = Some(value.to_string()),
        "Computer" => meta.computer = Some(value.to_string()),
        _ => {}
    }
}

fn leading_integer(value: &str) -> Option<i64> {
    let end = value
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
        .map_or(value.len(), |(i, _)| i);
    value[..end].parse().ok()
}

/// The longest line the reader takes (an SWF job line is well under 200 bytes; header
/// comments are free text, so the bound is generous).
const MAX_LINE_BYTES: u64 = 1 << 20;

/// The lines of `reader`, as [`BufRead::lines`] gives them (without `\n` or `\r\n`), but a
/// line longer than the reader's bound is an `InvalidData` error instead of a string that
/// grows until memory runs out. For the line-based readers of other formats.
pub fn bounded_lines<R: BufRead>(reader: R) -> impl Iterator<Item = std::io::Result<String>> {
    BoundedLines {
        reader,
        buf: Vec::new(),
    }
}

/// All of `reader` as bytes, read line by line so that a line longer than the readers'
/// bound (an endless stream without line breaks) is an error naming `source_name` and the
/// line, instead of a buffer that grows until memory runs out. For readers that work on the
/// whole text at once.
pub fn read_bounded<R: BufRead>(mut reader: R, source_name: &str) -> Result<Vec<u8>, SwfError> {
    let mut bytes = Vec::new();
    let mut line = 0u64;
    loop {
        line += 1;
        let err = |message: String| SwfError {
            source_name: source_name.to_string(),
            line: Some(line),
            message,
        };
        match read_bounded_line(&mut reader, &mut bytes)
            .map_err(|e| err(format!("read error: {e}")))?
        {
            LineRead::End => return Ok(bytes),
            LineRead::TooLong => {
                return Err(err(format!("a line longer than {MAX_LINE_BYTES} bytes")))
            }
            LineRead::Line => {}
        }
    }
}

/// What [`read_bounded_line`] found.
enum LineRead {
    /// The end of the input: nothing was read.
    End,
    /// A line, appended with its line break (if it had one).
    Line,
    /// More than [`MAX_LINE_BYTES`] bytes without a line break (they were appended).
    TooLong,
}

/// Appends the next line of `reader` to `buf`, reading at most one byte past the bound.
fn read_bounded_line<R: BufRead>(reader: &mut R, buf: &mut Vec<u8>) -> std::io::Result<LineRead> {
    let n = std::io::Read::take(reader, MAX_LINE_BYTES + 1).read_until(b'\n', buf)?;
    Ok(if n == 0 {
        LineRead::End
    } else if n as u64 > MAX_LINE_BYTES {
        LineRead::TooLong
    } else {
        LineRead::Line
    })
}

struct BoundedLines<R> {
    reader: R,
    buf: Vec<u8>,
}

impl<R: BufRead> Iterator for BoundedLines<R> {
    type Item = std::io::Result<String>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::io::{Error, ErrorKind};
        self.buf.clear();
        match read_bounded_line(&mut self.reader, &mut self.buf) {
            Err(e) => return Some(Err(e)),
            Ok(LineRead::End) => return None,
            Ok(LineRead::TooLong) => {
                return Some(Err(Error::new(
                    ErrorKind::InvalidData,
                    format!("a line longer than {MAX_LINE_BYTES} bytes"),
                )))
            }
            Ok(LineRead::Line) => {}
        }
        let mut line = &self.buf[..];
        line = line.strip_suffix(b"\n").unwrap_or(line);
        line = line.strip_suffix(b"\r").unwrap_or(line);
        Some(
            String::from_utf8(line.to_vec()).map_err(|_| {
                Error::new(ErrorKind::InvalidData, "stream did not contain valid UTF-8")
            }),
        )
    }
}

/// Splits a job line into 18 numbers in thousandths (fixed point, `1.5` → 1500).
fn parse_job_line(text: &[u8]) -> Result<[i64; 18], String> {
    // Nearly every line of a real trace is 18 plain integers: read those in one pass over
    // the bytes, and leave everything else (decimals, signs, overflow, errors to explain)
    // to the general parser, which gives the same numbers for the lines both accept.
    match parse_plain_job_line(text) {
        Some(fields) => Ok(fields),
        None => parse_job_line_general(text),
    }
}

/// A line of exactly 18 integers (`digits` or `-digits`, at most 15 digits each, so that
/// thousandths cannot overflow) separated by ASCII whitespace; `None` for any other line.
fn parse_plain_job_line(text: &[u8]) -> Option<[i64; 18]> {
    const MAX_DIGITS: usize = 15;
    let mut fields = [0i64; 18];
    let mut at = 0;
    let skip_space = |mut at: usize| {
        while text.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        at
    };
    for field in &mut fields {
        at = skip_space(at);
        let negative = text.get(at) == Some(&b'-');
        if negative {
            at += 1;
        }
        let digits_from = at;
        let mut value = 0i64;
        while let Some(&b) = text.get(at).filter(|b| b.is_ascii_digit()) {
            if at - digits_from == MAX_DIGITS {
                return None;
            }
            value = value * 10 + i64::from(b - b'0');
            at += 1;
        }
        let ends_well = text.get(at).is_none_or(u8::is_ascii_whitespace);
        if at == digits_from || !ends_well {
            return None;
        }
        *field = if negative { -value } else { value } * 1000;
    }
    (skip_space(at) == text.len()).then_some(fields)
}

/// [`parse_job_line`] for any line: decimals, signs, and errors that say what is wrong.
fn parse_job_line_general(text: &[u8]) -> Result<[i64; 18], String> {
    let mut fields = [0i64; 18];
    let mut count = 0usize;
    for token in text
        .split(|b| b.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
    {
        if count < 18 {
            fields[count] = parse_milli(token).ok_or_else(|| {
                // A well-formed decimal that does not parse is too large to hold.
                let what = if looks_decimal(token) {
                    format!("number out of range (at most {} allowed)", i64::MAX / 1000)
                } else {
                    "expected a number".to_string()
                };
                format!(
                    "field {} ({}): {what}, found '{}'",
                    count + 1,
                    FIELD_NAMES[count],
                    String::from_utf8_lossy(token)
                        .chars()
                        .take(40)
                        .collect::<String>()
                )
            })?;
        }
        count += 1;
    }
    if count != 18 {
        return Err(format!("expected 18 fields, found {count}"));
    }
    Ok(fields)
}

/// Whether `token` has the shape `[-+]digits[.digits]` (or `[-+].digits`).
fn looks_decimal(token: &[u8]) -> bool {
    let digits = token
        .strip_prefix(b"-")
        .or(token.strip_prefix(b"+"))
        .unwrap_or(token);
    let mut parts = digits.splitn(2, |&b| b == b'.');
    let int_part = parts.next().unwrap_or_default();
    let frac_part = parts.next().unwrap_or_default();
    (!int_part.is_empty() || !frac_part.is_empty())
        && int_part.iter().chain(frac_part).all(u8::is_ascii_digit)
}

/// Parses `[-+]digits[.digits]` into thousandths, rounding half away from zero.
fn parse_milli(token: &[u8]) -> Option<i64> {
    let (negative, digits) = match token {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, token),
    };
    let (int_part, frac_part) = match digits.iter().position(|&b| b == b'.') {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &digits[..0]),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    for &b in int_part {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    value = value.checked_mul(1000)?;
    let mut scale = 100;
    let mut round_up = false;
    for (i, &b) in frac_part.iter().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = i64::from(b - b'0');
        match i {
            0..=2 => {
                value = value.checked_add(d * scale)?;
                scale /= 10;
            }
            3 => round_up = d >= 5,
            _ => {}
        }
    }
    if round_up {
        value = value.checked_add(1)?;
    }
    Some(if negative { -value } else { value })
}

/// A count field (processors, ids) from thousandths, rounded to the nearest integer.
fn round_count(milli: i64) -> i64 {
    if milli >= 0 {
        milli.saturating_add(500) / 1000
    } else {
        milli.saturating_sub(500) / 1000
    }
}

/// An id field (user, group, queue, partition); values beyond `i32` read as unknown (-1).
fn id_field(milli: i64) -> i32 {
    i32::try_from(round_count(milli)).unwrap_or(-1)
}

fn job_from_fields(f: &[i64; 18], options: &SwfOptions) -> Result<Job, (DropReason, String)> {
    let id = round_count(f[0]);
    let trace_id = u64::try_from(id).map_err(|_| {
        (
            DropReason::MalformedLine,
            format!("field 1 (job number): {id} is negative"),
        )
    })?;
    let submit_ms = f[1];
    let runtime_ms = f[3];
    if submit_ms < 0 {
        return Err((
            DropReason::NegativeSubmit,
            format!("submit {}", f[1] as f64 / 1e3),
        ));
    }
    if runtime_ms < 0 {
        return Err((
            DropReason::NegativeRuntime,
            format!("runtime {}", f[3] as f64 / 1e3),
        ));
    }
    let requested = round_count(f[7]);
    let size = if requested > 0 {
        requested
    } else {
        round_count(f[4])
    };
    if size <= 0 {
        return Err((
            DropReason::NonPositiveSize,
            format!(
                "requested {} and allocated {} processors",
                round_count(f[7]),
                round_count(f[4])
            ),
        ));
    }
    let procs = u32::try_from(size).unwrap_or(u32::MAX);
    let runtime = SimDuration::from_ms(runtime_ms as u64);
    let requested_time = f[8];
    let mut estimate = if requested_time > 0 {
        SimDuration::from_ms(requested_time as u64)
    } else {
        runtime
    };
    // The estimate is the time limit: raised to the runtime unless such jobs are to be
    // stopped at their limit.
    if runtime > estimate && !options.kill_at_walltime {
        estimate = runtime;
    }
    let queue = round_count(f[14]);
    Ok(Job {
        trace_id,
        submit: SimTime::from_ms(submit_ms as u64),
        work: runtime,
        estimate,
        procs,
        kind: if queue == 0 {
            JobKind::Interactive
        } else {
            JobKind::Batch
        },
        user: id_field(f[11]),
        group: id_field(f[12]),
        queue: id_field(f[14]),
        partition: id_field(f[15]),
    })
}

/// Writes `jobs` as SWF v2.2 with a header; fields the model does not know are `-1`.
/// Used by the generator (`clustersim generate`, the benches) to write traces that any
/// SWF-reading simulator can replay.
pub fn write_swf<W: Write>(
    mut out: W,
    jobs: &[Job],
    machine_procs: u32,
    computer: &str,
) -> std::io::Result<()> {
    writeln!(out, "; Version: 2.2")?;
    writeln!(out, "; Computer: {computer}")?;
    writeln!(out, "; MaxJobs: {}", jobs.len())?;
    writeln!(out, "; MaxRecords: {}", jobs.len())?;
    writeln!(out, "; UnixStartTime: 0")?;
    writeln!(out, "; MaxNodes: {machine_procs}")?;
    writeln!(out, "; MaxProcs: {machine_procs}")?;
    write_job_lines(&mut out, jobs)?;
    out.flush()
}

/// Writes a workload as SWF v2.2, keeping what its source said: an SWF source's header
/// lines are written first, as they were (a `MaxProcs` line is added after them when the
/// machine size is not theirs, and a note says what was converted); any other source gets
/// a header of its own with its start (`UnixStartTime`, as a sacct dump's earliest
/// submission) and time zone when known. `note` names the conversion.
pub fn write_swf_workload<W: Write>(mut out: W, w: &Workload, note: &str) -> std::io::Result<()> {
    let meta = &w.meta;
    if meta.header_lines.is_empty() {
        writeln!(out, "; Version: 2.2")?;
        writeln!(out, "; Computer: {note}")?;
        writeln!(out, "; MaxJobs: {}", w.jobs.len())?;
        writeln!(out, "; MaxRecords: {}", w.jobs.len())?;
        if let Some(start) = meta.unix_start_time {
            writeln!(out, "; UnixStartTime: {start}")?;
        }
        if let Some(zone) = &meta.time_zone {
            writeln!(out, "; TimeZoneString: {zone}")?;
        }
        writeln!(out, "; MaxNodes: {}", w.machine_procs)?;
        writeln!(out, "; MaxProcs: {}", w.machine_procs)?;
    } else {
        for line in &meta.header_lines {
            writeln!(out, "{line}")?;
        }
        writeln!(out, "; Note: {note}: {} jobs", w.jobs.len())?;
        // The reader takes the last MaxProcs: one added here wins over the source's.
        if meta.max_procs != Some(u64::from(w.machine_procs)) {
            writeln!(out, "; MaxProcs: {}", w.machine_procs)?;
        }
    }
    write_job_lines(&mut out, &w.jobs)?;
    out.flush()
}

/// The jobs as SWF job lines; fields the model does not know are `-1`.
fn write_job_lines<W: Write>(mut out: W, jobs: &[Job]) -> std::io::Result<()> {
    let mut line = String::with_capacity(128);
    for j in jobs {
        line.clear();
        let s = |x: SimDuration| crate::engine::time::fmt_seconds(x.as_ms());
        use std::fmt::Write as _;
        let _ = write!(
            line,
            "{} {} -1 {} {} -1 -1 {} {} -1 1 {} {} -1 {} {} -1 -1",
            j.trace_id,
            crate::engine::time::fmt_seconds(j.submit.as_ms()),
            s(j.work),
            j.procs,
            j.procs,
            s(j.estimate),
            j.user,
            j.group,
            j.queue,
            j.partition
        );
        writeln!(out, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, options: &SwfOptions) -> Result<Workload, SwfError> {
        read_swf(text.as_bytes(), "test.swf", options)
    }

    #[test]
    fn numbers_parse_as_fixed_point_thousandths() {
        assert_eq!(parse_milli(b"552.21"), Some(552_210));
        assert_eq!(parse_milli(b"-1"), Some(-1000));
        assert_eq!(parse_milli(b"0.0005"), Some(1));
        assert_eq!(parse_milli(b"7."), Some(7000));
        assert_eq!(parse_milli(b".5"), Some(500));
        assert_eq!(parse_milli(b"1e5"), None);
        assert_eq!(parse_milli(b"-"), None);
        assert_eq!(parse_milli(b"99999999999999999999"), None);
    }

    #[test]
    fn header_fields_and_job_rules() {
        let text = "; Version: 2.2\n; MaxNodes: 338 (batch partition; 512 total)\n\
                    ; TimeZoneString: US/Eastern\n; UnixStartTime: 100\n\
                    2 10 -1 50 4 -1 -1 -1 40 -1 1 7 3 -1 0 2 -1 -1\n\
                    1 10 -1 30 0 -1 -1 8 -1 -1 1 7 3 -1 1 1 -1 -1\n\
                    3 5 -1 30 0 -1 -1 0 60 -1 1 7 3 -1 1 1 -1 -1\n\
                    4 20 -1 30.5 500 -1 -1 -1 60 -1 1 7 3 -1 1 1 -1 -1\n";
        let w = read(text, &SwfOptions::default()).unwrap();
        assert_eq!(w.machine_procs, 338);
        assert_eq!(w.meta.unix_start_time, Some(100));
        assert_eq!(w.meta.time_zone.as_deref(), Some("US/Eastern"));
        let ids: Vec<u64> = w.jobs.iter().map(|j| j.trace_id).collect();
        assert_eq!(ids, vec![1, 2]);
        // job 1: size from field 8, estimate falls back to the runtime
        assert_eq!(w.jobs[0].procs, 8);
        assert_eq!(w.jobs[0].estimate, SimDuration::from_secs(30));
        // job 2: size from field 5, interactive, estimate raised to the runtime
        assert_eq!(w.jobs[1].procs, 4);
        assert_eq!(w.jobs[1].kind, JobKind::Interactive);
        assert_eq!(w.jobs[1].estimate, SimDuration::from_secs(50));
        assert!(!w.jobs[1].exceeds_limit());
        assert_eq!(w.input_jobs, 4);
        let reasons: Vec<DropReason> = w.dropped.iter().map(|d| d.reason).collect();
        assert_eq!(
            reasons,
            vec![DropReason::NonPositiveSize, DropReason::LargerThanMachine]
        );
    }

    #[test]
    fn kill_at_walltime_caps_the_run() {
        let text = "1 0 -1 50 4 -1 -1 4 40 -1 1 7 3 -1 1 2 -1 -1\n";
        let opts = SwfOptions {
            procs: Some(8),
            kill_at_walltime: true,
            ..SwfOptions::default()
        };
        let w = read(text, &opts).unwrap();
        assert!(w.jobs[0].exceeds_limit());
        assert_eq!(w.jobs[0].work, SimDuration::from_secs(50));
        assert_eq!(w.jobs[0].estimate, SimDuration::from_secs(40));
    }

    #[test]
    fn malformed_lines_name_file_line_and_field() {
        let text = "; MaxProcs: 8\n1 0 -1 50 4 -1 -1 4 40 -1 1 7 3 -1 1 2 -1 -1\n2 0 -1 abc 4\n";
        let e = read(text, &SwfOptions::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "test.swf:3: field 4 (run time): expected a number, found 'abc'"
        );
        let text =
            "; MaxProcs: 8\n1 0 -1 99999999999999999999 4 -1 -1 4 40 -1 1 7 3 -1 1 2 -1 -1\n";
        let e = read(text, &SwfOptions::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "test.swf:2: field 4 (run time): number out of range (at most 9223372036854775 \
             allowed), found '99999999999999999999'"
        );
        let text = "; MaxProcs: 8\n1 0 -1 50 4 -1 -1 4 40\n";
        let e = read(text, &SwfOptions::default()).unwrap_err();
        assert_eq!(e.to_string(), "test.swf:2: expected 18 fields, found 9");
        let lenient = SwfOptions {
            lenient: true,
            ..SwfOptions::default()
        };
        let w = read(text, &lenient).unwrap();
        assert_eq!(w.jobs.len(), 0);
        assert_eq!(w.dropped[0].reason, DropReason::MalformedLine);
        assert_eq!(w.input_jobs, 1);
        // A line with no end (a binary file, or a device that never stops) is refused
        // once it passes the bound, not read until memory runs out.
        let endless = format!("; MaxProcs: 8\n{}", "0".repeat(2 << 20));
        let e = read(&endless, &SwfOptions::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "test.swf:2: a line longer than 1048576 bytes: not an SWF trace"
        );
        // Eighteen numbers but no valid job number: malformed too.
        let text = "; MaxProcs: 8\n-1 0 -1 50 4 -1 -1 4 40 -1 1 7 3 -1 1 2 -1 -1\n";
        let e = read(text, &SwfOptions::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "test.swf:2: field 1 (job number): -1 is negative"
        );
        let w = read(text, &lenient).unwrap();
        assert_eq!(w.dropped[0].reason, DropReason::MalformedLine);
    }

    #[test]
    fn an_unknown_machine_size_names_what_the_header_says() {
        let job = "1 0 -1 50 4 -1 -1 4 40 -1 1 7 3 -1 1 2 -1 -1\n";
        let missing = read(job, &SwfOptions::default()).unwrap_err().message;
        assert!(missing.contains("has no MaxProcs or MaxNodes"), "{missing}");
        let huge = format!("; MaxProcs: 99999999999999999999999\n{job}");
        let message = read(&huge, &SwfOptions::default()).unwrap_err().message;
        assert!(
            message.contains("MaxProcs '99999999999999999999999' is not a positive integer"),
            "{message}"
        );
        let zero = format!("; MaxProcs: 0\n; MaxNodes: many\n{job}");
        let message = read(&zero, &SwfOptions::default()).unwrap_err().message;
        assert!(
            message.contains("MaxProcs '0' and MaxNodes 'many' are not a positive"),
            "{message}"
        );
    }

    #[test]
    fn a_whole_read_refuses_an_endless_line_naming_it() {
        let text = b"JobID|Start\n1|2\r\nlast line without a break";
        assert_eq!(read_bounded(&text[..], "t").unwrap(), text.to_vec());
        // A header, then bytes without a line break that never end (as /dev/zero gives).
        let endless = b"JobID|Start\n".chain(std::io::repeat(0));
        let err = read_bounded(std::io::BufReader::new(endless), "dump.txt").unwrap_err();
        assert_eq!((err.source_name.as_str(), err.line), ("dump.txt", Some(2)));
        assert!(err.message.contains("longer than"), "{}", err.message);
    }

    #[test]
    fn bounded_lines_read_like_lines_and_refuse_endless_ones() {
        let text = b"a\r\nb\n\nc";
        let lines: Vec<String> = bounded_lines(&text[..]).map(Result::unwrap).collect();
        assert_eq!(lines, ["a", "b", "", "c"]);
        let long = format!("header\n{}", "x".repeat(2 << 20));
        let mut it = bounded_lines(long.as_bytes());
        assert_eq!(it.next().unwrap().unwrap(), "header");
        let e = it.next().unwrap().unwrap_err();
        assert!(e.to_string().contains("a line longer than"), "{e}");
        assert!(bounded_lines(&b"\xff\n"[..]).next().unwrap().is_err());
    }

    #[test]
    fn machine_size_needs_a_source() {
        let e = read(
            "1 0 -1 50 4 -1 -1 4 40 -1 1 7 3 -1 1 2 -1 -1\n",
            &SwfOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("pass --procs N"), "{e}");
        let w = read(
            "; MaxProcs: 2\n1 0 -1 50 4 -1 -1 4 40 -1 1 7 3 -1 1 2 -1 -1\n",
            &SwfOptions {
                procs: Some(16),
                ..SwfOptions::default()
            },
        )
        .unwrap();
        assert_eq!(w.machine_procs, 16);
        assert_eq!(w.jobs.len(), 1);
    }

    #[test]
    fn written_traces_read_back_identically() {
        let text = "; MaxProcs: 64\n1 0 -1 50.5 4 -1 -1 4 60 -1 1 7 3 -1 1 2 -1 -1\n\
                    2 3 -1 10 8 -1 -1 8 10 -1 1 8 3 -1 0 2 -1 -1\n";
        let w = read(text, &SwfOptions::default()).unwrap();
        let mut out = Vec::new();
        write_swf(&mut out, &w.jobs, w.machine_procs, "test").unwrap();
        let again = read_swf(&out[..], "again", &SwfOptions::default()).unwrap();
        assert_eq!(again.jobs, w.jobs);
    }

    #[test]
    fn the_plain_line_reader_agrees_with_the_general_one() {
        // Tokens of every shape the general parser meets, short and long, in lines of 17 to
        // 19 fields: wherever the one-pass reader accepts a line, the numbers must agree.
        let tokens: [&[u8]; 14] = [
            b"0",
            b"-1",
            b"42",
            b"007",
            b"-0",
            b"1.5",
            b"+3",
            b"999999999999999",
            b"9999999999999999",
            b"-123456789012345",
            b"12a",
            b"-",
            b"1e5",
            b"\xc3\xa9",
        ];
        let mut x = 5u64;
        let mut plain = 0;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let fields = 17 + (x >> 60) % 3;
            let mut line = Vec::new();
            for k in 0..fields {
                let pick = (x >> (k % 16 * 4)) as usize;
                // Lines of plain tokens half the time, mixed lines otherwise.
                let token = if x % 2 == 0 || pick % 8 < 6 {
                    tokens[pick % 5]
                } else {
                    tokens[pick % tokens.len()]
                };
                line.extend_from_slice(token);
                line.extend_from_slice(if k % 5 == 4 { b" \t " } else { b" " });
            }
            if let Some(fields) = parse_plain_job_line(&line) {
                plain += 1;
                assert_eq!(Ok(fields), parse_job_line_general(&line), "{line:?}");
            }
            assert_eq!(
                parse_job_line(&line),
                parse_job_line_general(&line),
                "{line:?}"
            );
        }
        assert!(
            plain > 1_000,
            "the plain reader was exercised ({plain} lines)"
        );
    }
}
