//! Shaping a workload after it is read: time windows and filters (jobs left out are
//! dropped with reason `filtered_out`, never lost), and load scaling.
//!
//! Load scaling multiplies the arrival rate by a factor by compressing the inter-arrival
//! times: a job submitted `d` after the first submission is submitted `d / factor` after
//! it (rounded to the millisecond), sizes and runtimes unchanged, as in the literature's
//! "what if demand grows 20 %" (factor 1.2).

use super::{DropReason, DroppedJob, Workload};
use crate::engine::time::SimTime;
use serde::Deserialize;

/// Which jobs to keep (all given conditions must hold).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Keep jobs submitted at least this long after the trace's first submission, s.
    #[serde(default)]
    pub from_s: Option<u64>,
    /// Keep jobs submitted before this long after the first submission, s.
    #[serde(default)]
    pub to_s: Option<u64>,
    /// Keep jobs submitted at or after this date (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS`,
    /// UTC), for traces that know their start (SWF `UnixStartTime`, sacct dumps).
    #[serde(default)]
    pub from_date: Option<String>,
    /// Keep jobs submitted before this date (same forms).
    #[serde(default)]
    pub to_date: Option<String>,
    /// Keep only these users (the trace's user numbers).
    #[serde(default)]
    pub users: Vec<i32>,
    /// Keep only these queues (SWF queue numbers; 0 is interactive).
    #[serde(default)]
    pub queues: Vec<i32>,
    /// Keep only these partitions (the trace's partition numbers).
    #[serde(default)]
    pub partitions: Vec<i32>,
}

impl Filter {
    /// Whether the filter keeps everything.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }
}

/// Seconds since 1970-01-01 (UTC) of `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS`.
pub fn parse_date_s(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.contains('T') {
        super::sacct::parse_timestamp_s(t)
    } else {
        super::sacct::parse_timestamp_s(&format!("{t}T00:00:00"))
    }
}

/// Drops the jobs `filter` leaves out (reason `filtered_out`), keeping every other vector
/// of the workload aligned. An error when the filter has dates the workload cannot place
/// (a date that does not parse, or a trace that does not say when it starts).
pub fn apply_filter(w: &mut Workload, filter: &Filter) -> Result<(), String> {
    if filter.is_empty() {
        return Ok(());
    }
    // Dates become milliseconds on the workload's clock (0 = its UnixStartTime).
    let mut date_ms = [None, None];
    for (slot, (name, date)) in date_ms.iter_mut().zip([
        ("from_date", &filter.from_date),
        ("to_date", &filter.to_date),
    ]) {
        let Some(text) = date else { continue };
        let at = parse_date_s(text).ok_or_else(|| {
            format!("{name} {text:?} is not a date: write YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC)")
        })?;
        let origin = w.meta.unix_start_time.ok_or_else(|| {
            format!(
                "{name}: the workload {} does not say when it starts (no UnixStartTime), so \
                 dates cannot be placed; use from_s / to_s",
                w.meta.source
            )
        })?;
        // Saturating: a header's UnixStartTime may be any 64-bit number.
        *slot = Some(at.saturating_sub(origin).saturating_mul(1000));
    }
    if let (Some(from), Some(to)) = (&filter.from_date, &filter.to_date) {
        if parse_date_s(from) >= parse_date_s(to) {
            return Err(format!(
                "the date window is empty: to_date {to:?} is not after from_date {from:?}"
            ));
        }
    }
    let t0 = w.jobs.first().map_or(0, |j| j.submit.as_ms());
    let keep: Vec<bool> = w
        .jobs
        .iter()
        .map(|j| {
            let since_s = (j.submit.as_ms() - t0) / 1000;
            let at = j.submit.as_ms() as i64;
            filter.from_s.is_none_or(|f| since_s >= f)
                && date_ms[0].is_none_or(|d| at >= d)
                && date_ms[1].is_none_or(|d| at < d)
                && filter.to_s.is_none_or(|t| since_s < t)
                && (filter.users.is_empty() || filter.users.contains(&j.user))
                && (filter.queues.is_empty() || filter.queues.contains(&j.queue))
                && (filter.partitions.is_empty() || filter.partitions.contains(&j.partition))
        })
        .collect();
    for (j, &k) in w.jobs.iter().zip(&keep) {
        if !k {
            w.dropped.push(DroppedJob {
                line: 0,
                trace_id: Some(j.trace_id),
                reason: DropReason::FilteredOut,
                detail: "outside the workload's filter".to_string(),
            });
        }
    }
    let mut it = keep.iter();
    w.jobs.retain(|_| *it.next().unwrap_or(&true));
    if let Some(nw) = w.nodes.as_mut() {
        let retain = |v: &mut Vec<_>| {
            let mut it = keep.iter();
            v.retain(|_| *it.next().unwrap_or(&true));
        };
        retain(&mut nw.requests);
        let mut it = keep.iter();
        nw.partition_of.retain(|_| *it.next().unwrap_or(&true));
        let mut it = keep.iter();
        nw.class_of.retain(|_| *it.next().unwrap_or(&true));
        if !nw.users.is_empty() {
            let mut it = keep.iter();
            nw.users.retain(|_| *it.next().unwrap_or(&true));
        }
        nw.activity.retain(&keep);
    }
    Ok(())
}

/// Multiplies the arrival rate by `factor` (> 0) by compressing inter-arrival times; an
/// error if that stretches the submissions past the clock's limit.
pub fn scale_load(w: &mut Workload, factor: f64) -> Result<(), String> {
    if factor == 1.0 || !(factor > 0.0 && factor.is_finite()) {
        return Ok(());
    }
    let Some(t0) = w.jobs.first().map(|j| j.submit.as_ms()) else {
        return Ok(());
    };
    let limit_ms = crate::engine::time::CLOCK_LIMIT.as_ms();
    for j in &mut w.jobs {
        let d = (j.submit.as_ms() - t0) as f64;
        // Compared as floats: the cast to an integer would saturate.
        let after_ms = (d / factor).round();
        let submit_ms = t0 as f64 + after_ms;
        if submit_ms > limit_ms as f64 {
            return Err(format!(
                "load factor {factor} stretches the submissions past the clock's limit \
                 ({limit_ms} ms): job {} would arrive at {submit_ms:.0} ms",
                j.trace_id
            ));
        }
        j.submit = SimTime::from_ms(t0 + after_ms as u64);
    }
    w.meta.source = format!("{} (load x{factor})", w.meta.source);
    Ok(())
}
