//! Reports of a run that people look at and notebooks load: polars tables (Parquet/CSV),
//! the time series, plots (PNG and SVG) and a self-contained `report.html`; and the
//! comparison of several runs (`clustersim compare`).
//!
//! This is the outer layer: it reads a finished run ([`RunOutcome`]) and writes files. It
//! never feeds anything back into a simulation.

pub mod compare;
pub mod html;
pub mod plots;
pub mod tables;
pub mod timeseries;

use crate::engine::time::SimDuration;
use crate::run::RunOutcome;
use crate::workload::{JobKind, Workload};
use plots::{
    AckLatencyPlot, CdfPlot, CdfSeries, CycleTimePlot, GanttBar, GanttPlot, IdleByHourPlot,
    PreemptionPlot, QueuePlot, SlowdownHeatMap, TimeAxis, UtilizationPlot,
};
pub use tables::TableFormat;
use timeseries::TimeSeries;

use std::path::Path;

/// What to write besides the foundation's files (`jobs.csv`, `dropped.csv`,
/// `summary.json`, `timing.json`).
#[derive(Clone, Debug)]
pub struct ReportOptions {
    /// Table formats.
    pub format: TableFormat,
    /// Step of the time series' fixed samples, s (0: changes only).
    pub timeseries_step_s: u64,
    /// Whether to draw the plots (and with them `report.html`).
    pub plots: bool,
    /// The run's name in tables and titles (e.g. the policy).
    pub label: String,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            format: TableFormat::Parquet,
            timeseries_step_s: 3_600,
            plots: true,
            label: String::new(),
        }
    }
}

/// Bins of the over-time plots.
const TIME_BINS: usize = 400;

/// Most rows of the Gantt chart.
const GANTT_MAX_JOBS: usize = 40;

/// A drawn plot: its file stem, caption and SVG text.
pub struct DrawnPlot {
    /// File stem under `plots/` (`utilization` → `plots/utilization.png` and `.svg`).
    pub name: &'static str,
    /// What the plot shows, one sentence.
    pub caption: String,
    /// The SVG document.
    pub svg: String,
}

/// Writes the report files of a finished run into `dir` (which must exist); returns the
/// files written, relative to `dir`.
pub fn write_report(
    dir: &Path,
    workload: &Workload,
    outcome: &RunOutcome,
    options: &ReportOptions,
) -> anyhow::Result<Vec<String>> {
    let mut written = Vec::new();
    let series = TimeSeries::from_run(
        workload,
        &outcome.result,
        options.timeseries_step_s.saturating_mul(1000),
    );
    let label = if options.label.is_empty() {
        outcome.summary.policy.clone()
    } else {
        options.label.clone()
    };

    if options.format != TableFormat::Csv {
        // jobs.csv is the foundation's file, always written; Parquet adds the same table.
        let mut jobs = tables::jobs_frame(workload, outcome)?;
        written.extend(tables::write_frame(
            dir,
            "jobs",
            &mut jobs,
            TableFormat::Parquet,
        )?);
        // segments.csv likewise.
        let mut segments = tables::segments_frame(workload, outcome)?;
        written.extend(tables::write_frame(
            dir,
            "segments",
            &mut segments,
            TableFormat::Parquet,
        )?);
    }
    let mut summary = tables::summary_frame(&label, &outcome.summary)?;
    written.extend(tables::write_frame(
        dir,
        "summary",
        &mut summary,
        options.format,
    )?);
    if let Some(credits) = &outcome.summary.metrics.credits {
        let mut chargeback = tables::chargeback_frame(&credits.chargeback)?;
        written.extend(tables::write_frame(
            dir,
            "chargeback",
            &mut chargeback,
            options.format,
        )?);
    }
    let mut ts = tables::timeseries_frame(&series)?;
    written.extend(tables::write_frame(
        dir,
        "timeseries",
        &mut ts,
        options.format,
    )?);

    if options.plots {
        let plots_dir = dir.join("plots");
        std::fs::create_dir_all(&plots_dir)
            .map_err(|e| anyhow::anyhow!("creating {}: {e}", plots_dir.display()))?;
        let drawn = draw_run_plots(&plots_dir, workload, outcome, &series)?;
        for p in &drawn {
            written.push(format!("plots/{}.png", p.name));
            written.push(format!("plots/{}.svg", p.name));
        }
        let page = html::run_report(&label, workload, outcome, &drawn);
        let path = dir.join("report.html");
        std::fs::write(&path, page)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
        written.push("report.html".to_string());
    }
    Ok(written)
}

/// Draws every plot of one run into `plots_dir` (PNG and SVG) and returns them.
pub fn draw_run_plots(
    plots_dir: &Path,
    workload: &Workload,
    outcome: &RunOutcome,
    series: &TimeSeries,
) -> anyhow::Result<Vec<DrawnPlot>> {
    let binned = series.binned(TIME_BINS);
    let origin_s = series.time_ms.first().map_or(0.0, |&t| t as f64 / 1000.0);
    let last_s = series.time_ms.last().map_or(0.0, |&t| t as f64 / 1000.0);
    let axis = TimeAxis::for_span(origin_s, last_s - origin_s);
    let mut drawn = Vec::new();
    let mut save = |name: &'static str, caption: String, svg: String| -> anyhow::Result<()> {
        let path = plots_dir.join(format!("{name}.svg"));
        std::fs::write(&path, &svg)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
        drawn.push(DrawnPlot { name, caption, svg });
        Ok(())
    };
    let png = |name: &str| plots_dir.join(format!("{name}.png"));

    let svg = plots::render(
        &UtilizationPlot {
            binned: &binned,
            axis,
        },
        Some(&png("utilization")),
    )?;
    save(
        "utilization",
        format!(
            "Busy processors as a share of the machine's {}, time-weighted mean over {} equal bins.",
            workload.machine_procs, TIME_BINS
        ),
        svg,
    )?;

    let svg = plots::render(
        &QueuePlot {
            binned: &binned,
            axis,
        },
        Some(&png("queue")),
    )?;
    save(
        "queue",
        "Jobs submitted and not yet started: time-weighted mean and peak per bin.".to_string(),
        svg,
    )?;

    let svg = plots::render(&wait_cdf(workload, outcome), Some(&png("wait_cdf")))?;
    save(
        "wait_cdf",
        "Share of jobs that waited at most a given time, per job class (waits under 1 s are \
         drawn at 1 s)."
            .to_string(),
        svg,
    )?;

    if let Some(plot) = session_start_cdf(workload, outcome) {
        let svg = plots::render(&plot, Some(&png("session_start")))?;
        save(
            "session_start",
            format!(
                "Share of session requests started within a given time, per session class; \
                 the dashed line is the target ({} s). Requests given up on never start, so a \
                 line can end below 1.",
                outcome.summary.metrics.session_start.target_s
            ),
            svg,
        )?;
    }

    if let Some(plot) = idle_by_hour(workload, outcome) {
        let svg = plots::render(&plot, Some(&png("idle_by_hour")))?;
        save(
            "idle_by_hour",
            format!(
                "{}-hours that running sessions held while their users were idle, by hour of \
                 the day, summed over the run: the waste an idle culler or a smaller pool \
                 could reclaim, and when.",
                plot.resource
            ),
            svg,
        )?;
    }

    if outcome.summary.metrics.preemption.is_some() {
        let plot = preemption_plot(outcome, &binned.mid_s, axis);
        let svg = plots::render(&plot, Some(&png("preemptions")))?;
        save(
            "preemptions",
            "Running jobs preempted for jobs of a higher partition tier, per time bin, by how \
             they let go (suspended, requeued, cancelled)."
                .to_string(),
            svg,
        )?;
    }

    if let Some(cycles) = &outcome.result.cycles {
        let plot = cycle_time_plot(cycles, &binned.mid_s, axis);
        let svg = plots::render(&plot, Some(&png("controller_cycles")))?;
        save(
            "controller_cycles",
            "The controller's passes: the longest main and backfill pass in each time bin \
             (their cost, backfill yields included)."
                .to_string(),
            svg,
        )?;
        if !outcome.result.acknowledged.is_empty() {
            let plot = ack_latency_plot(workload, outcome, &binned.mid_s);
            let svg = plots::render(&plot, Some(&png("ack_latency")))?;
            save(
                "ack_latency",
                "Each time bin's submissions: their rate against their mean acknowledgement \
                 latency (the RPC service's queue, and the passes that hold it)."
                    .to_string(),
                svg,
            )?;
        }
    }

    let tau = SimDuration::from_secs(outcome.summary.options.bsld_tau_s);
    let svg = plots::render(
        &slowdown_heat_map(workload, outcome, tau),
        Some(&png("slowdown_heatmap")),
    )?;
    save(
        "slowdown_heatmap",
        format!(
            "Mean bounded slowdown max(1, (wait + run) / max(run, {} s)) of the jobs in each \
             size and runtime bin; grey cells have no jobs.",
            outcome.summary.options.bsld_tau_s
        ),
        svg,
    )?;

    let hours = TimeAxis {
        unit_s: 3_600.0,
        unit: "hours",
        ..axis
    };
    let gantt = gantt(workload, outcome, hours);
    let caption = format!(
        "The {} jobs that ran in a window around the median start time, one row each: a thin \
         grey line while waiting, a bar while running (blue: batch, green: interactive; \
         darker: more processors).",
        gantt.bars.len()
    );
    let svg = plots::render(&gantt, Some(&png("gantt")))?;
    save("gantt", caption, svg)?;
    Ok(drawn)
}

/// The preemptions in each of the bins centred on `mid_s` (equal widths), by mode.
/// The bin of `t_s` among bins of equal width centred on `mid_s`.
fn bin_of(mid_s: &[f64], t_s: f64) -> Option<usize> {
    let [first, second, ..] = mid_s else {
        return (!mid_s.is_empty()).then_some(0);
    };
    let width = second - first;
    let origin = first - width / 2.0;
    Some((((t_s - origin) / width).max(0.0) as usize).min(mid_s.len() - 1))
}

/// The longest main and backfill pass in each bin, ms.
fn cycle_time_plot<'a>(
    cycles: &[crate::controller::Cycle],
    mid_s: &'a [f64],
    axis: TimeAxis,
) -> CycleTimePlot<'a> {
    let mut main = vec![0.0; mid_s.len()];
    let mut backfill = vec![0.0; mid_s.len()];
    for c in cycles {
        if let Some(b) = bin_of(mid_s, c.at.as_ms() as f64 / 1000.0) {
            let slot = if c.backfill {
                &mut backfill[b]
            } else {
                &mut main[b]
            };
            *slot = f64::max(*slot, c.length_us as f64 / 1000.0);
        }
    }
    CycleTimePlot {
        mid_s,
        lines: vec![("main", main), ("backfill", backfill)],
        axis,
    }
}

/// Per bin with submissions: their rate and mean acknowledgement latency.
fn ack_latency_plot(workload: &Workload, outcome: &RunOutcome, mid_s: &[f64]) -> AckLatencyPlot {
    let mut count = vec![0u64; mid_s.len()];
    let mut latency_ms = vec![0u64; mid_s.len()];
    for (i, j) in workload.jobs.iter().enumerate() {
        let Some(Some(ack)) = outcome.result.acknowledged.get(i) else {
            continue;
        };
        if let Some(b) = bin_of(mid_s, j.submit.as_ms() as f64 / 1000.0) {
            count[b] += 1;
            latency_ms[b] += ack.saturating_since(j.submit).as_ms();
        }
    }
    let width_s = match mid_s {
        [first, second, ..] => second - first,
        _ => 1.0,
    };
    AckLatencyPlot {
        points: count
            .iter()
            .zip(&latency_ms)
            .filter(|(&n, _)| n > 0)
            .map(|(&n, &ms)| (n as f64 / width_s, ms as f64 / n as f64))
            .collect(),
    }
}

fn preemption_plot<'a>(
    outcome: &RunOutcome,
    mid_s: &'a [f64],
    axis: TimeAxis,
) -> PreemptionPlot<'a> {
    use crate::cluster::spec::PreemptMode;
    let modes = [
        (PreemptMode::Suspend, "suspended"),
        (PreemptMode::Requeue, "requeued"),
        (PreemptMode::Cancel, "cancelled"),
    ];
    let mut counts: Vec<(&'static str, Vec<u64>)> =
        modes.iter().map(|m| (m.1, vec![0; mid_s.len()])).collect();
    if mid_s.len() > 1 {
        for p in &outcome.result.preemptions {
            let bin = bin_of(mid_s, p.at.as_ms() as f64 / 1000.0);
            if let (Some(bin), Some(k)) = (bin, modes.iter().position(|m| m.0 == p.mode)) {
                counts[k].1[bin] += 1;
            }
        }
    }
    PreemptionPlot {
        mid_s,
        counts,
        axis,
    }
}

/// Wait CDFs of the batch and interactive jobs.
fn wait_cdf(workload: &Workload, outcome: &RunOutcome) -> CdfPlot {
    let mut batch = Vec::new();
    let mut interactive = Vec::new();
    for (i, j) in workload.jobs.iter().enumerate() {
        if !outcome.result.started(i) {
            continue;
        }
        let wait = outcome.result.start[i]
            .saturating_since(j.submit)
            .as_secs_f64();
        match j.kind {
            JobKind::Interactive => interactive.push(wait),
            JobKind::Batch => batch.push(wait),
        }
    }
    let mut series = Vec::new();
    for (name, mut v) in [("batch", batch), ("interactive", interactive)] {
        if v.is_empty() {
            continue;
        }
        v.sort_unstable_by(f64::total_cmp);
        series.push(CdfSeries {
            label: format!("{name} ({} jobs)", v.len()),
            total: v.len(),
            sorted: v,
        });
    }
    CdfPlot {
        title: "Wait time distribution".to_string(),
        x_desc: "wait (log scale)".to_string(),
        y_desc: "fraction of jobs".to_string(),
        series,
        marker: None,
    }
}

/// Time-to-start CDFs of the sessions, per generator class of interactive jobs (else one
/// line for all), over every request, with the target marked; `None` without sessions.
/// Idle waste by hour of the day, in the scarcest resource the sessions hold (MIG slices,
/// else GPUs, else cores); `None` when no session sat idle.
fn idle_by_hour(workload: &Workload, outcome: &RunOutcome) -> Option<IdleByHourPlot> {
    let hours = crate::metrics::resources::idle_by_hour_of_day(workload, &outcome.result);
    let total = |r: usize| hours.iter().map(|h| h[r]).sum::<f64>();
    let (r, resource) = [(2, "MIG-slice"), (1, "GPU"), (0, "core")]
        .into_iter()
        .find(|&(r, _)| total(r) > 0.0)?;
    Some(IdleByHourPlot {
        hours: hours.iter().map(|h| h[r]).collect(),
        resource,
    })
}

fn session_start_cdf(workload: &Workload, outcome: &RunOutcome) -> Option<CdfPlot> {
    let metrics = &outcome.summary.metrics;
    if metrics.session_start.requests == 0 {
        return None;
    }
    let nodes = workload.nodes.as_deref();
    // Per class: (times to start of those that started, requests).
    let mut by_class: std::collections::BTreeMap<String, (Vec<f64>, usize)> =
        std::collections::BTreeMap::new();
    for (i, j) in workload.jobs.iter().enumerate() {
        if j.kind != JobKind::Interactive {
            continue;
        }
        let class = nodes.map_or_else(
            || "sessions".to_string(),
            |nw| nw.classes[nw.class_of[i] as usize].clone(),
        );
        let entry = by_class.entry(class).or_default();
        entry.1 += 1;
        if let Some(wait) = crate::metrics::time_to_start(workload, &outcome.result, i) {
            entry.0.push(wait.as_secs_f64());
        }
    }
    let series = by_class
        .into_iter()
        .map(|(class, (mut v, requests))| {
            v.sort_unstable_by(f64::total_cmp);
            CdfSeries {
                label: format!("{class} ({requests} requests)"),
                sorted: v,
                total: requests,
            }
        })
        .collect();
    let target_s = metrics.session_start.target_s;
    Some(CdfPlot {
        title: "Session time to start".to_string(),
        x_desc: "time to start (log scale)".to_string(),
        y_desc: "fraction of requests".to_string(),
        series,
        marker: Some((
            target_s,
            format!("target ({})", plots::human_seconds(target_s)),
        )),
    })
}

/// Upper ends of the runtime bins, s (the last bin is open).
const RUNTIME_EDGES_S: [u64; 6] = [60, 600, 3_600, 4 * 3_600, 12 * 3_600, 86_400];
const RUNTIME_LABELS: [&str; 7] = [
    "< 1 min",
    "1-10 min",
    "10 min-1 h",
    "1-4 h",
    "4-12 h",
    "12-24 h",
    "> 1 d",
];

/// The size bin of a job: 0 for 1 processor, k for 2^(k−1) < procs ≤ 2^k.
fn size_bin(procs: u32) -> usize {
    procs.max(1).next_power_of_two().trailing_zeros() as usize
}

fn size_label(bin: usize) -> String {
    match bin {
        0 => "1".to_string(),
        1 => "2".to_string(),
        _ => format!("{}-{}", (1u64 << (bin - 1)) + 1, 1u64 << bin),
    }
}

/// Mean bounded slowdown per (size bin, runtime bin).
fn slowdown_heat_map(
    workload: &Workload,
    outcome: &RunOutcome,
    tau: SimDuration,
) -> SlowdownHeatMap {
    let max_bin = workload
        .jobs
        .iter()
        .map(|j| size_bin(j.procs))
        .max()
        .unwrap_or(0);
    let mut sums = vec![vec![(0u64, 0.0f64); RUNTIME_LABELS.len()]; max_bin + 1];
    let tau_s = tau.as_secs_f64();
    for (i, j) in workload.jobs.iter().enumerate() {
        if !outcome.result.started(i) {
            continue;
        }
        // As in the metrics: response = end − submit, run = time running.
        let response = outcome.result.end[i]
            .saturating_since(j.submit)
            .as_secs_f64();
        let ran = outcome.result.run_time(i);
        let run = ran.as_secs_f64();
        let bsld = (response / run.max(tau_s)).max(1.0);
        let run_s = ran.as_ms() / 1000;
        let r = RUNTIME_EDGES_S.partition_point(|&edge| edge <= run_s);
        let cell = &mut sums[size_bin(j.procs)][r];
        cell.0 += 1;
        cell.1 += bsld;
    }
    SlowdownHeatMap {
        size_labels: (0..=max_bin).map(size_label).collect(),
        runtime_labels: RUNTIME_LABELS.iter().map(|s| s.to_string()).collect(),
        cells: sums
            .into_iter()
            .map(|col| {
                col.into_iter()
                    .map(|(n, sum)| (n, if n > 0 { sum / n as f64 } else { 0.0 }))
                    .collect()
            })
            .collect(),
    }
}

/// The Gantt chart of a window in the middle of the run (centred on the median segment
/// start), narrowed until at most [`GANTT_MAX_JOBS`] segments run in it: one bar per
/// segment, the first of each job drawn from its submission.
fn gantt(workload: &Workload, outcome: &RunOutcome, axis: TimeAxis) -> GanttPlot {
    let r = &outcome.result;
    let title = "Jobs running in a window in the middle of the run".to_string();
    let segs = &r.segments;
    let mut starts: Vec<f64> = segs.iter().map(|s| s.start.as_secs_f64()).collect();
    if starts.is_empty() {
        return GanttPlot {
            title,
            axis,
            window: (0.0, 1.0),
            bars: Vec::new(),
        };
    }
    starts.sort_unstable_by(f64::total_cmp);
    let centre_s = starts[starts.len() / 2];
    let span_s = starts[starts.len() - 1] - starts[0];
    let mut width_s = (span_s / 20.0).clamp(3_600.0f64.min(span_s).max(1.0), 86_400.0);
    let overlapping = |w0: f64, w1: f64| -> Vec<usize> {
        (0..segs.len())
            .filter(|&k| {
                let (s, e) = (segs[k].start.as_secs_f64(), segs[k].end.as_secs_f64());
                s < w1 && (e > w0 || (e == s && s >= w0))
            })
            .collect()
    };
    let mut window = (centre_s - width_s / 2.0, centre_s + width_s / 2.0);
    let mut jobs = overlapping(window.0, window.1);
    // Halving converges quickly; a burst of zero-length jobs at one instant may still
    // exceed the cap, which the truncation below handles.
    for _ in 0..24 {
        if jobs.len() <= GANTT_MAX_JOBS {
            break;
        }
        width_s /= 2.0;
        window = (centre_s - width_s / 2.0, centre_s + width_s / 2.0);
        jobs = overlapping(window.0, window.1);
    }
    jobs.sort_by_key(|&k| (segs[k].start, workload.jobs[segs[k].job.get()].trace_id, k));
    jobs.truncate(GANTT_MAX_JOBS);
    let bars = jobs
        .iter()
        .map(|&k| {
            let s = &segs[k];
            let i = s.job.get();
            let j = &workload.jobs[i];
            let first = r.start[i] == s.start;
            GanttBar {
                job_id: j.trace_id,
                submit: axis.at(if first { j.submit } else { s.start }.as_secs_f64()),
                start: axis.at(s.start.as_secs_f64()),
                end: axis.at(s.end.as_secs_f64()),
                procs: j.procs,
                interactive: j.kind == JobKind::Interactive,
            }
        })
        .collect();
    GanttPlot {
        title,
        axis,
        window: (axis.at(window.0), axis.at(window.1)),
        bars,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_bins_are_powers_of_two() {
        assert_eq!(size_bin(1), 0);
        assert_eq!(size_bin(2), 1);
        assert_eq!(size_bin(3), 2);
        assert_eq!(size_bin(4), 2);
        assert_eq!(size_bin(5), 3);
        assert_eq!(size_label(0), "1");
        assert_eq!(size_label(3), "5-8");
    }
}
