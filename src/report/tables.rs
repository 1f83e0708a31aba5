//! The run's tables as polars DataFrames, written to Parquet and/or CSV: the job table
//! (`jobs.parquet`), the summary in one flat row (`summary.parquet` / `summary.csv`), and
//! the time series (`timeseries.parquet` / `timeseries.csv`). Column names carry their
//! units (`_s` seconds); docs/outputs.md documents every column.

use super::timeseries::TimeSeries;
use crate::engine::time::SimTime;
use crate::lifecycle::Outcome;
use crate::run::{RunOutcome, Summary};
use crate::workload::{JobKind, Workload};
use polars::prelude::*;
use std::fs::File;
use std::path::Path;

/// Which table formats to write.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum TableFormat {
    /// Parquet files (`*.parquet`); the default.
    #[default]
    Parquet,
    /// CSV files (`*.csv`).
    Csv,
    /// Both.
    Both,
}

impl TableFormat {
    fn parquet(self) -> bool {
        matches!(self, TableFormat::Parquet | TableFormat::Both)
    }

    fn csv(self) -> bool {
        matches!(self, TableFormat::Csv | TableFormat::Both)
    }
}

/// A value of the flat summary row.
#[derive(Clone, Debug, PartialEq)]
pub enum SummaryValue {
    /// Text.
    Text(String),
    /// A count or an identifier.
    Int(i64),
    /// A measurement.
    Float(f64),
}

/// The summary as one flat row: `(column, value)` in a fixed order. The metrics of all
/// jobs come unprefixed, those of interactive and batch jobs prefixed `interactive_` and
/// `batch_`.
pub fn summary_row(label: &str, s: &Summary) -> Vec<(String, SummaryValue)> {
    use SummaryValue::{Float, Int, Text};
    let int = |v: u64| Int(i64::try_from(v).unwrap_or(i64::MAX));
    let mut row: Vec<(String, SummaryValue)> = vec![
        ("label".into(), Text(label.to_string())),
        ("policy".into(), Text(s.policy.clone())),
        ("workload".into(), Text(s.workload.clone())),
        ("seed".into(), int(s.seed)),
        ("machine_procs".into(), Int(i64::from(s.machine_procs))),
        ("jobs_input".into(), int(s.jobs.input)),
        ("jobs_simulated".into(), int(s.jobs.simulated)),
        ("jobs_dropped".into(), int(s.jobs.dropped)),
        ("utilization".into(), Float(s.metrics.utilization)),
        ("makespan_s".into(), Float(s.metrics.makespan_s)),
        ("killed_jobs".into(), int(s.metrics.killed_jobs)),
    ];
    // Node-level resources (for processors anywhere: cores are the processors, no GPUs).
    let r = s.metrics.resources.as_ref();
    for (name, v) in [
        (
            "cores_utilization",
            r.map_or(s.metrics.utilization, |r| r.cores.utilization),
        ),
        (
            "memory_utilization",
            r.map_or(0.0, |r| r.memory_mb.utilization),
        ),
        ("gpus_utilization", r.map_or(0.0, |r| r.gpus.utilization)),
        (
            "mig_slices_utilization",
            r.map_or(0.0, |r| r.mig_slices.utilization),
        ),
        ("gpu_fragmentation", r.map_or(0.0, |r| r.gpu_fragmentation)),
    ] {
        row.push((name.to_string(), Float(v)));
    }
    for (prefix, c) in [
        ("", &s.metrics.all),
        ("interactive_", &s.metrics.interactive),
        ("batch_", &s.metrics.batch),
    ] {
        row.push((format!("{prefix}jobs"), int(c.jobs)));
        for (name, v) in [
            ("wait_mean_s", c.wait_mean_s),
            ("wait_p50_s", c.wait_p50_s),
            ("wait_p95_s", c.wait_p95_s),
            ("wait_p99_s", c.wait_p99_s),
            ("wait_max_s", c.wait_max_s),
            ("bsld_mean", c.bsld_mean),
            ("bsld_p95", c.bsld_p95),
            ("bsld_max", c.bsld_max),
            ("slowdown_mean", c.slowdown_mean),
            ("response_mean_s", c.response_mean_s),
        ] {
            row.push((format!("{prefix}{name}"), Float(v)));
        }
    }
    // The lifecycle: jobs by outcome, segments, what suspensions and requeues cost.
    let life = &s.metrics.lifecycle;
    for (outcome, &count) in &life.outcomes {
        row.push((format!("jobs_{outcome}"), int(count)));
    }
    row.push(("segments".into(), int(life.segments)));
    row.push(("requeues".into(), int(life.requeues)));
    row.push(("suspended_s".into(), Float(life.suspended_s)));
    row.push(("work_lost_s".into(), Float(life.work_lost_s)));
    row.push(("goodput".into(), Float(life.goodput)));
    // Sessions: how fast they started, against the target.
    let ss = &s.metrics.session_start;
    row.push(("session_requests".into(), int(ss.requests)));
    row.push(("session_abandoned".into(), int(ss.abandoned)));
    for (name, v) in [
        ("session_abandoned_share", ss.abandoned_share),
        ("session_time_to_start_p50_s", ss.time_to_start_p50_s),
        ("session_time_to_start_p95_s", ss.time_to_start_p95_s),
        ("session_time_to_start_p99_s", ss.time_to_start_p99_s),
        ("session_start_target_s", ss.target_s),
        ("session_on_target_share", ss.on_target_share),
    ] {
        row.push((name.into(), Float(v)));
    }
    // Node failures (zeros, and availability 1, without them: every run has the columns).
    let f = s
        .metrics
        .failures
        .clone()
        .unwrap_or(crate::metrics::FailureMetrics {
            availability: 1.0,
            ..Default::default()
        });
    row.push(("node_failures".into(), int(f.node_failures)));
    row.push(("failure_jobs_hit".into(), int(f.jobs_hit)));
    for (name, v) in [
        ("node_availability", f.availability),
        ("node_hours_down", f.node_hours_down),
        ("failure_work_lost_s", f.work_lost_s),
        ("failure_gpu_hours_lost", f.gpu_hours_lost),
    ] {
        row.push((name.into(), Float(v)));
    }
    // The rate model (rate 1 and zeros when it was off: every run has the columns).
    let rates = s
        .metrics
        .rates
        .clone()
        .unwrap_or(crate::rates::RateMetrics {
            rate_mean: 1.0,
            ..Default::default()
        });
    row.push(("rate_mean".into(), Float(rates.rate_mean)));
    row.push((
        "fabric_jobs_slowed".into(),
        int(rates.jobs_slowed_by_fabric),
    ));
    for (name, v) in [
        ("fabric_time_added_s", rates.fabric_time_added_s),
        ("fabric_node_hours_added", rates.fabric_node_hours_added),
        ("gpu_time_saved_s", rates.gpu_time_saved_s),
    ] {
        row.push((name.into(), Float(v)));
    }
    // The shared file system (zeros when there was none: every run has the columns).
    let fs = s.metrics.filesystem.clone().unwrap_or_default();
    row.push(("fs_jobs_staging".into(), int(fs.jobs_staging)));
    row.push(("fs_stagers_max".into(), int(fs.stagers_max)));
    for (name, v) in [
        ("fs_stage_in_s", fs.stage_in_s),
        ("fs_stage_out_s", fs.stage_out_s),
        ("fs_staging_node_hours", fs.staging_node_hours),
        ("fs_busy_s", fs.busy_s),
        ("fs_busy_fraction", fs.busy_fraction),
        ("fs_stagers_mean", fs.stagers_mean),
    ] {
        row.push((name.into(), Float(v)));
    }
    // Idle waste (node-level sessions) and what the culler did (zeros when it was off).
    let sessions = r.map(|r| &r.sessions);
    for (name, v) in [
        (
            "session_idle_core_hours",
            sessions.map_or(0.0, |s| s.idle_core_hours),
        ),
        (
            "session_idle_gpu_hours",
            sessions.map_or(0.0, |s| s.idle_gpu_hours),
        ),
        (
            "session_idle_mig_slice_hours",
            sessions.map_or(0.0, |s| s.idle_mig_slice_hours),
        ),
    ] {
        row.push((name.into(), Float(v)));
    }
    // Preemption (zeros when it was off).
    let p = s.metrics.preemption.clone().unwrap_or_default();
    row.push(("preemptions".into(), int(p.preemptions)));
    row.push(("jobs_preempted".into(), int(p.jobs_preempted)));
    row.push(("preemption_work_lost_s".into(), Float(p.work_lost_s)));
    // Oversubscription (the sessions slowed: 0, and a slowdown of 1, when it was off).
    let o = s.metrics.oversubscription.clone();
    row.push((
        "oversub_sessions_slowed".into(),
        int(o.as_ref().map_or(0, |o| o.sessions_slowed)),
    ));
    row.push((
        "oversub_slowdown_mean".into(),
        Float(o.map_or(1.0, |o| o.slowdown_mean)),
    ));
    // The controller (zeros without one).
    let ctl = s.metrics.controller.clone().unwrap_or_default();
    row.push(("main_cycles".into(), int(ctl.main_cycles)));
    row.push(("backfill_cycles".into(), int(ctl.backfill_cycles)));
    row.push((
        "backfill_cycle_mean_us".into(),
        Float(ctl.backfill_cycle_mean_us),
    ));
    row.push((
        "wait_before_consideration_mean_s".into(),
        Float(ctl.wait_before_consideration_mean_s),
    ));
    row.push(("ack_latency_p99_s".into(), Float(ctl.ack_latency_p99_s)));
    // Dynamic backfill (zeros when it was off).
    let d = s.metrics.dynamic_backfill.clone().unwrap_or_default();
    row.push(("idle_sessions_suspended".into(), int(d.suspended)));
    row.push(("resume_wait_mean_s".into(), Float(d.resume_wait_mean_s)));
    let c = s.metrics.culler.clone().unwrap_or_default();
    row.push(("sessions_culled".into(), int(c.sessions_culled)));
    row.push(("culled_user_away".into(), int(c.culled_user_away)));
    row.push(("culled_user_gone".into(), int(c.culled_user_gone)));
    for (name, v) in [
        ("culled_reclaimed_core_hours", c.reclaimed_core_hours),
        ("culled_reclaimed_gpu_hours", c.reclaimed_gpu_hours),
        (
            "culled_reclaimed_mig_slice_hours",
            c.reclaimed_mig_slice_hours,
        ),
    ] {
        row.push((name.into(), Float(v)));
    }
    row
}

/// The summary row as a one-row DataFrame.
pub fn summary_frame(label: &str, summary: &Summary) -> PolarsResult<DataFrame> {
    let columns = summary_row(label, summary)
        .into_iter()
        .map(|(name, value)| match value {
            SummaryValue::Text(t) => Column::new(name.into(), [t]),
            SummaryValue::Int(i) => Column::new(name.into(), [i]),
            SummaryValue::Float(f) => Column::new(name.into(), [f]),
        })
        .collect();
    DataFrame::new(1, columns)
}

fn seconds(t: SimTime) -> f64 {
    t.as_ms() as f64 / 1000.0
}

fn known(id: i32) -> Option<i64> {
    (id >= 0).then_some(i64::from(id))
}

/// The job table: one row per simulated job, in queue order, with the columns of
/// `jobs.csv`.
pub fn jobs_frame(workload: &Workload, outcome: &RunOutcome) -> PolarsResult<DataFrame> {
    let jobs = &workload.jobs;
    let r = &outcome.result;
    let n = jobs.len();
    let f64_col = |name: &str, f: &dyn Fn(usize) -> f64| {
        Column::new(name.into(), (0..n).map(f).collect::<Vec<f64>>())
    };
    let id_col = |name: &str, f: &dyn Fn(usize) -> i32| {
        Column::new(
            name.into(),
            (0..n).map(|i| known(f(i))).collect::<Vec<Option<i64>>>(),
        )
    };
    let columns = vec![
        Column::new(
            "job_id".into(),
            jobs.iter()
                .map(|j| i64::try_from(j.trace_id).unwrap_or(i64::MAX))
                .collect::<Vec<i64>>(),
        ),
        f64_col("submit_s", &|i| seconds(jobs[i].submit)),
        f64_col("start_s", &|i| seconds(r.start[i])),
        f64_col("end_s", &|i| seconds(r.end[i])),
        f64_col("wait_s", &|i| {
            r.start[i].saturating_since(jobs[i].submit).as_secs_f64()
        }),
        f64_col("run_s", &|i| r.run_time(i).as_secs_f64()),
        Column::new(
            "procs".into(),
            jobs.iter()
                .map(|j| i64::from(j.procs))
                .collect::<Vec<i64>>(),
        ),
        f64_col("estimate_s", &|i| jobs[i].estimate.as_secs_f64()),
        id_col("user", &|i| jobs[i].user),
        id_col("group", &|i| jobs[i].group),
        id_col("queue", &|i| jobs[i].queue),
        id_col("partition", &|i| jobs[i].partition),
        Column::new(
            "interactive".into(),
            jobs.iter()
                .map(|j| j.kind == JobKind::Interactive)
                .collect::<Vec<bool>>(),
        ),
        Column::new(
            "killed".into(),
            r.log
                .iter()
                .map(|l| l.outcome == Outcome::Timeout)
                .collect::<Vec<bool>>(),
        ),
        Column::new(
            "first_reservation_s".into(),
            r.first_reservation
                .iter()
                .map(|t| t.map(seconds))
                .collect::<Vec<Option<f64>>>(),
        ),
    ];
    let totals: Vec<[u64; 4]> = (0..n)
        .map(|i| crate::metrics::resources::job_totals(workload, r, i))
        .collect();
    let mut columns = columns;
    for (k, name) in ["cores", "memory_mb", "gpus", "mig_slices"]
        .iter()
        .enumerate()
    {
        columns.push(Column::new(
            (*name).into(),
            totals
                .iter()
                .map(|t| i64::try_from(t[k]).unwrap_or(i64::MAX))
                .collect::<Vec<i64>>(),
        ));
    }
    columns.push(Column::new(
        "tasks".into(),
        (0..n)
            .map(|i| i64::try_from(crate::output::job_tasks(workload, i)).unwrap_or(i64::MAX))
            .collect::<Vec<i64>>(),
    ));
    let text = |f: &dyn Fn(usize) -> String| (0..n).map(f).collect::<Vec<String>>();
    match &workload.nodes {
        Some(nw) => {
            columns.push(Column::new(
                "partition_name".into(),
                text(&|i| nw.partitions[nw.partition_of[i] as usize].clone()),
            ));
            columns.push(Column::new(
                "class".into(),
                text(&|i| nw.classes[nw.class_of[i] as usize].clone()),
            ));
            columns.push(Column::new(
                "nodes".into(),
                text(&|i| {
                    r.last_nodes(i)
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(";")
                }),
            ));
        }
        None => {
            for name in ["partition_name", "class", "nodes"] {
                columns.push(Column::new(name.into(), text(&|_| String::new())));
            }
        }
    }
    columns.push(Column::new(
        "outcome".into(),
        r.log
            .iter()
            .map(|l| l.outcome.as_str())
            .collect::<Vec<&str>>(),
    ));
    columns.push(Column::new(
        "segments".into(),
        r.log
            .iter()
            .map(|l| i64::from(l.segments))
            .collect::<Vec<i64>>(),
    ));
    columns.push(f64_col("suspended_s", &|i| {
        r.log[i].suspended.as_secs_f64()
    }));
    columns.push(Column::new(
        "requeues".into(),
        r.log
            .iter()
            .map(|l| i64::from(l.requeues))
            .collect::<Vec<i64>>(),
    ));
    columns.push(f64_col("work_lost_s", &|i| {
        r.log[i].work_lost.as_secs_f64()
    }));
    columns.push(Column::new(
        "culled".into(),
        r.cull_reasons()
            .iter()
            .map(|c| c.map_or("", |c| c.as_str()))
            .collect::<Vec<&str>>(),
    ));
    columns.push(Column::new(
        "leaves".into(),
        (0..n)
            .map(|i| crate::output::job_leaves(workload, r, i).map(i64::from))
            .collect::<Vec<Option<i64>>>(),
    ));
    columns.push(Column::new(
        "rate".into(),
        (0..n)
            .map(|i| crate::output::job_rate(r, i).map(|rate| rate.as_f64()))
            .collect::<Vec<Option<f64>>>(),
    ));
    let staging_ms = outcome
        .summary
        .options
        .filesystem
        .map(|_| crate::filesystem::staging_ms_by_job(r, n));
    columns.push(Column::new(
        "staging_s".into(),
        (0..n)
            .map(|i| staging_ms.as_ref().map(|ms| ms[i] as f64 / 1000.0))
            .collect::<Vec<Option<f64>>>(),
    ));
    let busy_slowdown = crate::metrics::contention::compute(workload, r)
        .map(|c| c.busy_slowdown)
        .unwrap_or_else(|| vec![None; n]);
    columns.push(Column::new("busy_slowdown".into(), busy_slowdown));
    let mut demoted: Vec<Option<bool>> = vec![r.demoted.as_ref().map(|_| false); n];
    for j in r.demoted.iter().flatten() {
        demoted[j.get()] = Some(true);
    }
    columns.push(Column::new("deprioritized".into(), demoted));
    columns.push(Column::new(
        "first_considered_s".into(),
        (0..n)
            .map(|i| r.first_considered.get(i).copied().flatten().map(seconds))
            .collect::<Vec<Option<f64>>>(),
    ));
    columns.push(Column::new(
        "acknowledged_s".into(),
        (0..n)
            .map(|i| r.acknowledged.get(i).copied().flatten().map(seconds))
            .collect::<Vec<Option<f64>>>(),
    ));
    DataFrame::new(n, columns)
}

/// The segment table: one row per segment of every job, in the order they started, with
/// the columns of `segments.csv`.
pub fn segments_frame(workload: &Workload, outcome: &RunOutcome) -> PolarsResult<DataFrame> {
    let r = &outcome.result;
    let segs = &r.segments;
    let mut ordinal = vec![0i64; workload.jobs.len()];
    let numbers: Vec<i64> = segs
        .iter()
        .map(|s| {
            ordinal[s.job.get()] += 1;
            ordinal[s.job.get()]
        })
        .collect();
    let time = |f: &dyn Fn(&crate::lifecycle::Segment) -> SimTime| {
        segs.iter().map(|s| seconds(f(s))).collect::<Vec<f64>>()
    };
    let columns = vec![
        Column::new(
            "job_id".into(),
            segs.iter()
                .map(|s| i64::try_from(workload.jobs[s.job.get()].trace_id).unwrap_or(i64::MAX))
                .collect::<Vec<i64>>(),
        ),
        Column::new("segment".into(), numbers),
        Column::new("start_s".into(), time(&|s| s.start)),
        Column::new("end_s".into(), time(&|s| s.end)),
        Column::new("released_s".into(), time(&|s| s.released)),
        Column::new(
            "rate".into(),
            segs.iter().map(|s| s.rate.as_f64()).collect::<Vec<f64>>(),
        ),
        Column::new(
            "ended".into(),
            segs.iter().map(|s| s.ended.as_str()).collect::<Vec<&str>>(),
        ),
        Column::new(
            "nodes".into(),
            segs.iter()
                .map(|s| {
                    r.nodes_of(s)
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(";")
                })
                .collect::<Vec<String>>(),
        ),
        Column::new(
            "stage_in_s".into(),
            (0..segs.len())
                .map(|k| r.stages_of(k).in_ms as f64 / 1000.0)
                .collect::<Vec<f64>>(),
        ),
        Column::new(
            "stage_out_s".into(),
            (0..segs.len())
                .map(|k| r.stages_of(k).out_ms as f64 / 1000.0)
                .collect::<Vec<f64>>(),
        ),
    ];
    DataFrame::new(segs.len(), columns)
}

/// The chargeback table: one row per account and month (see [`crate::credits`]).
pub fn chargeback_frame(rows: &[crate::credits::AccountMonth]) -> PolarsResult<DataFrame> {
    let f =
        |get: fn(&crate::credits::AccountMonth) -> f64| rows.iter().map(get).collect::<Vec<f64>>();
    let columns = vec![
        Column::new(
            "account".into(),
            rows.iter()
                .map(|r| r.account.as_str())
                .collect::<Vec<&str>>(),
        ),
        Column::new(
            "month".into(),
            rows.iter().map(|r| r.month as i64).collect::<Vec<i64>>(),
        ),
        Column::new("core_hours".into(), f(|r| r.core_hours)),
        Column::new("gpu_hours".into(), f(|r| r.gpu_hours)),
        Column::new("mig_slice_hours".into(), f(|r| r.mig_slice_hours)),
        Column::new("cost".into(), f(|r| r.cost)),
        Column::new("allowance".into(), f(|r| r.allowance)),
        Column::new("overage".into(), f(|r| r.overage)),
        Column::new(
            "exhausted_at_s".into(),
            rows.iter()
                .map(|r| r.exhausted_at_s)
                .collect::<Vec<Option<f64>>>(),
        ),
    ];
    DataFrame::new(rows.len(), columns)
}

/// The time series as a DataFrame.
pub fn timeseries_frame(series: &TimeSeries) -> PolarsResult<DataFrame> {
    let n = series.len();
    let ints = |name: &str, v: &[u64]| {
        Column::new(
            name.into(),
            v.iter()
                .map(|&x| i64::try_from(x).unwrap_or(i64::MAX))
                .collect::<Vec<i64>>(),
        )
    };
    let columns = vec![
        Column::new(
            "time_s".into(),
            series
                .time_ms
                .iter()
                .map(|&t| t as f64 / 1000.0)
                .collect::<Vec<f64>>(),
        ),
        ints("busy_procs", &series.busy_procs),
        Column::new(
            "utilization".into(),
            (0..n).map(|i| series.utilization(i)).collect::<Vec<f64>>(),
        ),
        ints("running_jobs", &series.running_jobs),
        ints("queued_jobs", &series.queued_jobs),
        ints("queued_interactive", &series.queued_interactive),
        Column::new("step_sample".into(), series.step_sample.clone()),
        ints("busy_memory_mb", &series.busy_memory_mb),
        ints("busy_gpus", &series.busy_gpus),
        ints("busy_mig_slices", &series.busy_mig_slices),
        ints("nodes_down", &series.nodes_down),
    ];
    DataFrame::new(n, columns)
}

/// Writes `frame` as `dir/NAME.parquet` and/or `dir/NAME.csv`; returns the files written.
pub fn write_frame(
    dir: &Path,
    name: &str,
    frame: &mut DataFrame,
    format: TableFormat,
) -> anyhow::Result<Vec<String>> {
    let mut written = Vec::new();
    if format.parquet() {
        let file_name = format!("{name}.parquet");
        let path = dir.join(&file_name);
        let file =
            File::create(&path).map_err(|e| anyhow::anyhow!("creating {}: {e}", path.display()))?;
        ParquetWriter::new(file)
            .finish(frame)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
        written.push(file_name);
    }
    if format.csv() {
        let file_name = format!("{name}.csv");
        let path = dir.join(&file_name);
        let mut file =
            File::create(&path).map_err(|e| anyhow::anyhow!("creating {}: {e}", path.display()))?;
        CsvWriter::new(&mut file)
            .finish(frame)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
        written.push(file_name);
    }
    Ok(written)
}
