//! Writing a run's results: `jobs.csv`, `dropped.csv`, `summary.json`, `timing.json`, and
//! the tables printed on standard output.
//!
//! `jobs.csv`, `dropped.csv` and `summary.json` are deterministic: the same inputs and seed
//! give the same bytes. Wall-clock time and memory go to `timing.json` alone.

use crate::engine::time::push_seconds;
use crate::lifecycle::{Outcome, Rate, RunResult};
use crate::run::{RunOutcome, Summary, Timing};
use crate::workload::{JobKind, Workload};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// The header of `jobs.csv`.
pub const JOBS_CSV_HEADER: &str = "job_id,submit_s,start_s,end_s,wait_s,run_s,procs,estimate_s,\
user,group,queue,partition,interactive,killed,first_reservation_s,cores,memory_mb,gpus,\
mig_slices,tasks,partition_name,class,nodes,outcome,segments,suspended_s,requeues,work_lost_s,\
culled,leaves,rate,staging_s,busy_slowdown,deprioritized,first_considered_s,acknowledged_s";

/// The header of `segments.csv`.
pub const SEGMENTS_CSV_HEADER: &str =
    "job_id,segment,start_s,end_s,released_s,rate,ended,nodes,stage_in_s,stage_out_s";

/// Writes `jobs.csv`: one row per simulated job, in queue order; times in seconds.
pub fn write_jobs_csv<W: Write>(
    out: W,
    workload: &Workload,
    outcome: &RunOutcome,
) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, out);
    writeln!(out, "{JOBS_CSV_HEADER}")?;
    let r = &outcome.result;
    let culled = r.cull_reasons();
    // Empty without a file system, as `leaves` and `rate` are where they do not apply.
    let staging_ms = outcome
        .summary
        .options
        .filesystem
        .map(|_| crate::filesystem::staging_ms_by_job(r, workload.jobs.len()));
    // Empty unless the job is a session that was busy on an oversubscribed node.
    let busy_slowdown = crate::metrics::contention::compute(workload, r)
        .map(|c| c.busy_slowdown)
        .unwrap_or_default();
    // With credits that deprioritize: whether each job was demoted (empty otherwise).
    let demoted = r.demoted.as_ref().map(|d| {
        let mut flags = vec![false; workload.jobs.len()];
        for j in d {
            flags[j.get()] = true;
        }
        flags
    });
    let mut line = String::with_capacity(160);
    let mut int = itoa::Buffer::new();
    for (i, j) in workload.jobs.iter().enumerate() {
        line.clear();
        let (start, end) = (r.start[i], r.end[i]);
        line.push_str(int.format(j.trace_id));
        line.push(',');
        push_seconds(&mut line, j.submit.as_ms());
        line.push(',');
        push_seconds(&mut line, start.as_ms());
        line.push(',');
        push_seconds(&mut line, end.as_ms());
        line.push(',');
        push_seconds(&mut line, start.saturating_since(j.submit).as_ms());
        line.push(',');
        push_seconds(&mut line, r.run_time(i).as_ms());
        line.push(',');
        line.push_str(int.format(j.procs));
        line.push(',');
        push_seconds(&mut line, j.estimate.as_ms());
        for id in [j.user, j.group, j.queue, j.partition] {
            line.push(',');
            if id >= 0 {
                line.push_str(int.format(id));
            }
        }
        line.push_str(if j.kind == JobKind::Interactive {
            ",1"
        } else {
            ",0"
        });
        let log = &r.log[i];
        line.push_str(if log.outcome == Outcome::Timeout {
            ",1,"
        } else {
            ",0,"
        });
        if let Some(at) = r.first_reservation[i] {
            push_seconds(&mut line, at.as_ms());
        }
        for v in crate::metrics::resources::job_totals(workload, r, i) {
            line.push(',');
            line.push_str(int.format(v));
        }
        line.push(',');
        line.push_str(int.format(job_tasks(workload, i)));
        line.push(',');
        if let Some(nw) = &workload.nodes {
            line.push_str(&csv_field(&nw.partitions[nw.partition_of[i] as usize]));
            line.push(',');
            line.push_str(&csv_field(&nw.classes[nw.class_of[i] as usize]));
            line.push(',');
            push_nodes(&mut line, r.last_nodes(i));
        } else {
            line.push_str(",,");
        }
        line.push(',');
        line.push_str(log.outcome.as_str());
        line.push(',');
        line.push_str(int.format(log.segments));
        line.push(',');
        push_seconds(&mut line, log.suspended.as_ms());
        line.push(',');
        line.push_str(int.format(log.requeues));
        line.push(',');
        push_seconds(&mut line, log.work_lost.as_ms());
        line.push(',');
        if let Some(why) = culled[i] {
            line.push_str(why.as_str());
        }
        line.push(',');
        if let Some(leaves) = job_leaves(workload, r, i) {
            line.push_str(int.format(leaves));
        }
        line.push(',');
        if let Some(rate) = job_rate(r, i) {
            push_rate(&mut line, rate);
        }
        line.push(',');
        if let Some(ms) = &staging_ms {
            push_seconds(&mut line, ms[i]);
        }
        line.push(',');
        if let Some(Some(slowdown)) = busy_slowdown.get(i) {
            // Six decimals, as rates are written: enough for a ratio, and stable bytes.
            let _ = write!(line, "{slowdown:.6}");
        }
        line.push(',');
        if let Some(flags) = &demoted {
            line.push(if flags[i] { '1' } else { '0' });
        }
        line.push(',');
        if let Some(Some(at)) = r.first_considered.get(i) {
            push_seconds(&mut line, at.as_ms());
        }
        line.push(',');
        if let Some(Some(at)) = r.acknowledged.get(i) {
            push_seconds(&mut line, at.as_ms());
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    out.flush()
}

/// Appends node numbers separated by `;`.
fn push_nodes(line: &mut String, nodes: &[u32]) {
    let mut int = itoa::Buffer::new();
    for (k, n) in nodes.iter().enumerate() {
        if k > 0 {
            line.push(';');
        }
        line.push_str(int.format(*n));
    }
}

/// Writes `segments.csv`: every segment of every job, in the order they started; times in
/// seconds, the rate as a decimal, the nodes (node-level jobs) separated by `;`.
pub fn write_segments_csv<W: Write>(
    out: W,
    workload: &Workload,
    outcome: &RunOutcome,
) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, out);
    writeln!(out, "{SEGMENTS_CSV_HEADER}")?;
    let r = &outcome.result;
    let mut line = String::with_capacity(96);
    let mut int = itoa::Buffer::new();
    let mut ordinal = vec![0u32; workload.jobs.len()];
    for (k, s) in r.segments.iter().enumerate() {
        line.clear();
        let i = s.job.get();
        ordinal[i] += 1;
        line.push_str(int.format(workload.jobs[i].trace_id));
        line.push(',');
        line.push_str(int.format(ordinal[i]));
        for t in [s.start, s.end, s.released] {
            line.push(',');
            push_seconds(&mut line, t.as_ms());
        }
        line.push(',');
        push_rate(&mut line, s.rate);
        line.push(',');
        line.push_str(s.ended.as_str());
        line.push(',');
        push_nodes(&mut line, r.nodes_of(s));
        let stages = r.stages_of(k);
        for ms in [stages.in_ms, stages.out_ms] {
            line.push(',');
            push_seconds(&mut line, ms);
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    out.flush()
}

/// A rate as a decimal with no trailing zeros (`1`, `0.5`, `0.333333`): exact, since rates
/// are millionths.
fn push_rate(line: &mut String, rate: Rate) {
    let m = rate.millionths();
    let mut int = itoa::Buffer::new();
    line.push_str(int.format(m / Rate::PER_ONE));
    let frac = m % Rate::PER_ONE;
    if frac != 0 {
        let digits = format!("{frac:06}");
        line.push('.');
        line.push_str(digits.trim_end_matches('0'));
    }
}

/// The leaf switches job `i`'s last segment spanned (`None` for a job of processors
/// anywhere or one that never ran).
pub fn job_leaves(workload: &Workload, r: &RunResult, i: usize) -> Option<u32> {
    let nw = workload.nodes.as_deref()?;
    r.started(i)
        .then(|| crate::rates::leaves_spanned(&nw.cluster, r.last_nodes(i)))
}

/// The rate of job `i`'s last segment (`None` if it never ran).
pub fn job_rate(r: &RunResult, i: usize) -> Option<Rate> {
    r.log[i].last_segment.map(|s| r.segments[s as usize].rate)
}

/// A job's tasks: nodes × tasks per node for node-level jobs, its processors otherwise.
pub fn job_tasks(workload: &Workload, i: usize) -> u64 {
    match &workload.nodes {
        Some(nw) => {
            let r = &nw.requests[i];
            u64::from(r.nodes) * u64::from(r.tasks_per_node)
        }
        None => u64::from(workload.jobs[i].procs),
    }
}

/// Writes `dropped.csv`: every input job that was not simulated, with its reason.
pub fn write_dropped_csv<W: Write>(out: W, workload: &Workload) -> io::Result<()> {
    let mut out = BufWriter::new(out);
    writeln!(out, "line,job_id,reason,detail")?;
    for d in &workload.dropped {
        let id = d.trace_id.map(|i| i.to_string()).unwrap_or_default();
        writeln!(
            out,
            "{},{},{},{}",
            d.line,
            id,
            d.reason.as_str(),
            csv_field(&d.detail)
        )?;
    }
    out.flush()
}

/// Quotes a CSV field if it needs it.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Peak resident memory of this process, MiB (Linux; `None` elsewhere).
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Writes every output file of a run into `dir` (created if needed), in place.
/// `clustersim run` calls it on a temporary folder that becomes the result only once
/// complete ([`crate::outdir::Staged`]).
pub fn write_run_dir(dir: &Path, workload: &Workload, outcome: &RunOutcome) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let with_name = |name: &str, e: io::Error| {
        io::Error::new(e.kind(), format!("{}: {e}", dir.join(name).display()))
    };
    write_jobs_csv(File::create(dir.join("jobs.csv"))?, workload, outcome)
        .map_err(|e| with_name("jobs.csv", e))?;
    write_segments_csv(File::create(dir.join("segments.csv"))?, workload, outcome)
        .map_err(|e| with_name("segments.csv", e))?;
    write_dropped_csv(File::create(dir.join("dropped.csv"))?, workload)
        .map_err(|e| with_name("dropped.csv", e))?;
    write_json(&dir.join("summary.json"), &outcome.summary)?;
    write_json(&dir.join("timing.json"), &outcome.timing)?;
    Ok(())
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    text.push('\n');
    std::fs::write(path, text)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// The metric rows of the summary tables: label and how to read it from a summary.
type Row = (&'static str, fn(&Summary) -> String);

fn rows() -> Vec<Row> {
    vec![
        ("jobs simulated", |s| s.jobs.simulated.to_string()),
        ("jobs dropped", |s| s.jobs.dropped.to_string()),
        ("utilization", |s| format!("{:.4}", s.metrics.utilization)),
        ("makespan (s)", |s| format!("{:.0}", s.metrics.makespan_s)),
        ("wait mean (s)", |s| {
            format!("{:.1}", s.metrics.all.wait_mean_s)
        }),
        ("wait p50 (s)", |s| {
            format!("{:.0}", s.metrics.all.wait_p50_s)
        }),
        ("wait p95 (s)", |s| {
            format!("{:.0}", s.metrics.all.wait_p95_s)
        }),
        ("wait p99 (s)", |s| {
            format!("{:.0}", s.metrics.all.wait_p99_s)
        }),
        ("wait max (s)", |s| {
            format!("{:.0}", s.metrics.all.wait_max_s)
        }),
        ("bounded slowdown mean", |s| {
            format!("{:.2}", s.metrics.all.bsld_mean)
        }),
        ("bounded slowdown p95", |s| {
            format!("{:.2}", s.metrics.all.bsld_p95)
        }),
        ("bounded slowdown max", |s| {
            format!("{:.1}", s.metrics.all.bsld_max)
        }),
        ("slowdown mean", |s| {
            format!("{:.2}", s.metrics.all.slowdown_mean)
        }),
        ("response mean (s)", |s| {
            format!("{:.1}", s.metrics.all.response_mean_s)
        }),
        ("interactive wait mean (s)", |s| {
            format!("{:.1}", s.metrics.interactive.wait_mean_s)
        }),
        ("batch wait mean (s)", |s| {
            format!("{:.1}", s.metrics.batch.wait_mean_s)
        }),
        ("killed at walltime", |s| s.metrics.killed_jobs.to_string()),
    ]
}

/// Rows shown only when some run has what they measure (sessions, failures, the culler,
/// rates): label and how to read it, `None` when the run has none of it.
type OptionalRow = (&'static str, fn(&Summary) -> Option<String>);

/// The session-start metrics of a run that had sessions.
fn sessions(s: &Summary) -> Option<&crate::metrics::SessionStartMetrics> {
    (s.metrics.session_start.requests > 0).then_some(&s.metrics.session_start)
}

fn optional_rows() -> Vec<OptionalRow> {
    vec![
        ("sessions on target (%)", |s| {
            sessions(s).map(|x| format!("{:.1}", x.on_target_share * 100.0))
        }),
        ("session time to start p95 (s)", |s| {
            sessions(s).map(|x| format!("{:.0}", x.time_to_start_p95_s))
        }),
        ("sessions abandoned", |s| {
            sessions(s).map(|x| x.abandoned.to_string())
        }),
        ("sessions rejected (QOS)", |s| {
            s.metrics.qos.as_ref().map(|q| q.rejected.to_string())
        }),
        ("sessions culled", |s| {
            s.metrics
                .culler
                .as_ref()
                .map(|c| c.sessions_culled.to_string())
        }),
        ("jobs beyond their switch limit", |s| {
            s.metrics
                .switches
                .as_ref()
                .map(|m| format!("{} of {}", m.beyond_limit, m.jobs))
        }),
        ("preemptions", |s| {
            s.metrics
                .preemption
                .as_ref()
                .map(|p| p.preemptions.to_string())
        }),
        ("work lost to preemption (h)", |s| {
            s.metrics
                .preemption
                .as_ref()
                .map(|p| format!("{:.1}", p.work_lost_s / 3600.0))
        }),
        ("node failures", |s| {
            s.metrics
                .failures
                .as_ref()
                .map(|f| f.node_failures.to_string())
        }),
        ("node availability (%)", |s| {
            s.metrics
                .failures
                .as_ref()
                .map(|f| format!("{:.2}", f.availability * 100.0))
        }),
        ("work lost to failures (h)", |s| {
            s.metrics
                .failures
                .as_ref()
                .map(|f| format!("{:.1}", f.work_lost_s / 3600.0))
        }),
        ("goodput", |s| {
            s.metrics
                .failures
                .as_ref()
                .map(|_| format!("{:.3}", s.metrics.lifecycle.goodput))
        }),
        ("credits billed beyond allowances", |s| {
            s.metrics
                .credits
                .as_ref()
                .map(|c| format!("{:.2}", c.total_overage))
        }),
        ("jobs deprioritized (credits)", |s| {
            s.metrics
                .credits
                .as_ref()
                .and_then(|c| c.deprioritized)
                .map(|n| n.to_string())
        }),
        ("mean rate", |s| {
            s.metrics
                .rates
                .as_ref()
                .map(|r| format!("{:.3}", r.rate_mean))
        }),
        ("fabric time added (s)", |s| {
            s.metrics
                .rates
                .as_ref()
                .map(|r| format!("{:.0}", r.fabric_time_added_s))
        }),
        ("file system busy (%)", |s| {
            s.metrics
                .filesystem
                .as_ref()
                .map(|f| format!("{:.1}", f.busy_fraction * 100.0))
        }),
        ("time staging (s)", |s| {
            s.metrics
                .filesystem
                .as_ref()
                .map(|f| format!("{:.0}", f.stage_in_s + f.stage_out_s))
        }),
    ]
}

/// A table of runs side by side: one column per run (headed by its label), one row per metric.
pub fn comparison_table(runs: &[(&str, &Summary, &Timing)]) -> String {
    let mut header = vec!["metric".to_string()];
    header.extend(runs.iter().map(|(label, _, _)| label.to_string()));
    let mut table: Vec<Vec<String>> = vec![header];
    for (label, get) in rows() {
        let mut row = vec![label.to_string()];
        row.extend(runs.iter().map(|(_, s, _)| get(s)));
        table.push(row);
    }
    for (label, get) in optional_rows() {
        let cells: Vec<Option<String>> = runs.iter().map(|(_, s, _)| get(s)).collect();
        if cells.iter().any(Option::is_some) {
            let mut row = vec![label.to_string()];
            row.extend(
                cells
                    .into_iter()
                    .map(|c| c.unwrap_or_else(|| "-".to_string())),
            );
            table.push(row);
        }
    }
    let mut wall = vec!["simulation wall time (s)".to_string()];
    wall.extend(
        runs.iter()
            .map(|(_, _, t)| format!("{:.3}", t.simulation_wall_s)),
    );
    table.push(wall);
    let widths: Vec<usize> = (0..table[0].len())
        .map(|c| {
            table
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (i, row) in table.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if c == 0 {
                let _ = write!(out, "{cell:<w$}", w = widths[c]);
            } else {
                let _ = write!(out, "  {cell:>w$}", w = widths[c]);
            }
        }
        out.push('\n');
        if i == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
            out.push('\n');
        }
    }
    out
}

/// The dropped-job counts as a short text, e.g. `negative_runtime 3, larger_than_machine 1`.
pub fn dropped_line(summary: &Summary) -> String {
    let parts: Vec<String> = summary
        .jobs
        .dropped_by_reason
        .iter()
        .filter(|(_, &n)| n > 0)
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(", ")
    }
}
