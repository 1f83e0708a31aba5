//! `clustersim compare RUN_DIR...`: the summaries of several runs side by side, each
//! metric with its change relative to the first run, as a terminal table, Markdown, or an
//! HTML page with the comparison plot.
//!
//! Runs are read from their `summary.json`, so any run directory written by any version
//! that keeps that file's layout can be compared.

use super::plots::{self, RunsPlot};
use super::{html, DrawnPlot};
use anyhow::{anyhow, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One run to compare.
#[derive(Clone, Debug)]
pub struct ComparedRun {
    /// The run's name: its directory's name (its whole path when two names collide).
    pub name: String,
    /// Its `summary.json`.
    pub summary: Value,
}

/// A compared metric: label, JSON pointer into `summary.json`, decimals.
struct Metric {
    label: &'static str,
    pointer: &'static str,
    decimals: usize,
    /// Multiplies the stored value for display (utilization as a percentage).
    scale: f64,
}

const METRICS: &[Metric] = &[
    Metric {
        label: "policy",
        pointer: "/policy",
        decimals: 0,
        scale: 1.0,
    },
    Metric {
        label: "machine (processors)",
        pointer: "/machine_procs",
        decimals: 0,
        scale: 1.0,
    },
    Metric {
        label: "jobs simulated",
        pointer: "/jobs/simulated",
        decimals: 0,
        scale: 1.0,
    },
    Metric {
        label: "jobs dropped",
        pointer: "/jobs/dropped",
        decimals: 0,
        scale: 1.0,
    },
    Metric {
        label: "utilization (%)",
        pointer: "/metrics/utilization",
        decimals: 2,
        scale: 100.0,
    },
    Metric {
        label: "makespan (s)",
        pointer: "/metrics/makespan_s",
        decimals: 0,
        scale: 1.0,
    },
    Metric {
        label: "wait mean (s)",
        pointer: "/metrics/all/wait_mean_s",
        decimals: 1,
        scale: 1.0,
    },
    Metric {
        label: "wait p50 (s)",
        pointer: "/metrics/all/wait_p50_s",
        decimals: 0,
        scale: 1.0,
    },
    Metric {
        label: "wait p95 (s)",
        pointer: "/metrics/all/wait_p95_s",
        decimals: 0,
        scale: 1.0,
    },
    Metric {
        label: "wait p99 (s)",
        pointer: "/metrics/all/wait_p99_s",
        decimals: 0,
        scale: 1.0,
    },
    Metric {
        label: "wait max (s)",
        pointer: "/metrics/all/wait_max_s",
        decimals: 0,
        scale: 1.0,
    },
    Metric {
        label: "bounded slowdown mean",
        pointer: "/metrics/all/bsld_mean",
        decimals: 2,
        scale: 1.0,
    },
    Metric {
        label: "bounded slowdown p95",
        pointer: "/metrics/all/bsld_p95",
        decimals: 2,
        scale: 1.0,
    },
    Metric {
        label: "bounded slowdown max",
        pointer: "/metrics/all/bsld_max",
        decimals: 1,
        scale: 1.0,
    },
    Metric {
        label: "slowdown mean",
        pointer: "/metrics/all/slowdown_mean",
        decimals: 2,
        scale: 1.0,
    },
    Metric {
        label: "response mean (s)",
        pointer: "/metrics/all/response_mean_s",
        decimals: 1,
        scale: 1.0,
    },
    Metric {
        label: "interactive wait mean (s)",
        pointer: "/metrics/interactive/wait_mean_s",
        decimals: 1,
        scale: 1.0,
    },
    Metric {
        label: "batch wait mean (s)",
        pointer: "/metrics/batch/wait_mean_s",
        decimals: 1,
        scale: 1.0,
    },
    Metric {
        label: "killed at walltime",
        pointer: "/metrics/killed_jobs",
        decimals: 0,
        scale: 1.0,
    },
    Metric {
        label: "sessions started on target (%)",
        pointer: "/metrics/session_start/on_target_share",
        decimals: 1,
        scale: 100.0,
    },
    Metric {
        label: "session time to start p95 (s)",
        pointer: "/metrics/session_start/time_to_start_p95_s",
        decimals: 0,
        scale: 1.0,
    },
    Metric {
        label: "sessions abandoned",
        pointer: "/metrics/session_start/abandoned",
        decimals: 0,
        scale: 1.0,
    },
    Metric {
        label: "sessions culled",
        pointer: "/metrics/culler/sessions_culled",
        decimals: 0,
        scale: 1.0,
    },
    Metric {
        label: "culled core-hours reclaimed",
        pointer: "/metrics/culler/reclaimed_core_hours",
        decimals: 1,
        scale: 1.0,
    },
    Metric {
        label: "preemptions",
        pointer: "/metrics/preemption/preemptions",
        decimals: 0,
        scale: 1.0,
    },
    Metric {
        label: "work lost to preemption (h)",
        pointer: "/metrics/preemption/work_lost_s",
        decimals: 1,
        scale: 1.0 / 3600.0,
    },
    Metric {
        label: "backfill cycles",
        pointer: "/metrics/controller/backfill_cycles",
        decimals: 0,
        scale: 1.0,
    },
    Metric {
        label: "backfill cycle mean (ms)",
        pointer: "/metrics/controller/backfill_cycle_mean_us",
        decimals: 1,
        scale: 1.0 / 1000.0,
    },
    Metric {
        label: "acknowledgement latency p99 (s)",
        pointer: "/metrics/controller/ack_latency_p99_s",
        decimals: 3,
        scale: 1.0,
    },
    Metric {
        label: "wait before first consideration (s)",
        pointer: "/metrics/controller/wait_before_consideration_mean_s",
        decimals: 1,
        scale: 1.0,
    },
    Metric {
        label: "idle sessions suspended",
        pointer: "/metrics/dynamic_backfill/suspended",
        decimals: 0,
        scale: 1.0,
    },
    Metric {
        label: "returning users' wait mean (s)",
        pointer: "/metrics/dynamic_backfill/resume_wait_mean_s",
        decimals: 1,
        scale: 1.0,
    },
    Metric {
        label: "oversubscribed sessions slowed",
        pointer: "/metrics/oversubscription/sessions_slowed",
        decimals: 0,
        scale: 1.0,
    },
    Metric {
        label: "oversubscribed busy slowdown",
        pointer: "/metrics/oversubscription/slowdown_mean",
        decimals: 3,
        scale: 1.0,
    },
    Metric {
        label: "node failures",
        pointer: "/metrics/failures/node_failures",
        decimals: 0,
        scale: 1.0,
    },
    Metric {
        label: "node availability (%)",
        pointer: "/metrics/failures/availability",
        decimals: 2,
        scale: 100.0,
    },
    Metric {
        label: "work lost to failures (h)",
        pointer: "/metrics/failures/work_lost_s",
        decimals: 1,
        scale: 1.0 / 3600.0,
    },
    Metric {
        label: "mean rate",
        pointer: "/metrics/rates/rate_mean",
        decimals: 3,
        scale: 1.0,
    },
    Metric {
        label: "jobs slowed by the fabric",
        pointer: "/metrics/rates/jobs_slowed_by_fabric",
        decimals: 0,
        scale: 1.0,
    },
    Metric {
        label: "time added by the fabric (h)",
        pointer: "/metrics/rates/fabric_time_added_s",
        decimals: 1,
        scale: 1.0 / 3600.0,
    },
    Metric {
        label: "time saved by GPU speed (h)",
        pointer: "/metrics/rates/gpu_time_saved_s",
        decimals: 1,
        scale: 1.0 / 3600.0,
    },
    Metric {
        label: "file system busy (%)",
        pointer: "/metrics/filesystem/busy_fraction",
        decimals: 1,
        scale: 100.0,
    },
    Metric {
        label: "time staging in (h)",
        pointer: "/metrics/filesystem/stage_in_s",
        decimals: 1,
        scale: 1.0 / 3600.0,
    },
    Metric {
        label: "time staging out (h)",
        pointer: "/metrics/filesystem/stage_out_s",
        decimals: 1,
        scale: 1.0 / 3600.0,
    },
    Metric {
        label: "mean jobs staging while busy",
        pointer: "/metrics/filesystem/stagers_mean",
        decimals: 2,
        scale: 1.0,
    },
];

/// Reads `summary.json` from each directory.
pub fn load_runs(dirs: &[PathBuf]) -> Result<Vec<ComparedRun>> {
    let mut runs = Vec::with_capacity(dirs.len());
    for dir in dirs {
        // Only a finished run is compared: an interrupted one could hold a stale summary.
        crate::outdir::verify(dir)?;
        let path = dir.join("summary.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} (is {} a run directory written by `clustersim run --out`?)",
                path.display(),
                dir.display()
            )
        })?;
        let summary: Value = serde_json::from_str(&text)
            .with_context(|| format!("{}: not valid JSON", path.display()))?;
        if summary.pointer("/metrics/all/wait_mean_s").is_none() {
            return Err(anyhow!(
                "{}: field metrics.all.wait_mean_s: missing; not a clustersim summary",
                path.display()
            ));
        }
        runs.push(ComparedRun {
            name: dir_name(dir),
            summary,
        });
    }
    // Names must tell runs apart: fall back to the paths as given when they collide.
    let mut names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        for (run, dir) in runs.iter_mut().zip(dirs) {
            run.name = dir.display().to_string();
        }
    }
    Ok(runs)
}

fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

fn number(run: &ComparedRun, m: &Metric) -> Option<f64> {
    run.summary
        .pointer(m.pointer)
        .and_then(Value::as_f64)
        .map(|v| v * m.scale)
}

/// The change of `value` relative to `base`, as text.
fn change(base: f64, value: f64) -> String {
    if base == value {
        "±0 %".to_string()
    } else if base == 0.0 {
        "new".to_string()
    } else {
        format!("{:+.1} %", (value - base) / base.abs() * 100.0)
    }
}

/// The comparison as a header and rows of cells: one row per metric, one column per run;
/// from the second run on, each cell carries the change relative to the first run.
pub fn comparison(runs: &[ComparedRun]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header = vec!["metric".to_string()];
    header.extend(runs.iter().map(|r| r.name.clone()));
    let mut rows = Vec::new();
    // Session rows only where some run had sessions: a share of none says nothing.
    let any_sessions = runs.iter().any(|r| {
        r.summary
            .pointer("/metrics/session_start/requests")
            .and_then(Value::as_u64)
            .is_some_and(|n| n > 0)
    });
    // The rows of an optional model (failures, rates, the file system, the culler,
    // preemption, oversubscription, dynamic backfill, the controller) only where some run
    // had it on.
    let present = |block: &str| {
        runs.iter()
            .any(|r| r.summary.pointer(&format!("/metrics/{block}")).is_some())
    };
    let optional: Vec<(&str, bool)> = [
        "failures",
        "rates",
        "filesystem",
        "culler",
        "preemption",
        "oversubscription",
        "dynamic_backfill",
        "controller",
    ]
    .into_iter()
    .map(|b| (b, present(b)))
    .collect();
    for m in METRICS {
        if m.pointer.starts_with("/metrics/session_start/") && !any_sessions {
            continue;
        }
        let block = m.pointer.split('/').nth(2).unwrap_or("");
        if optional.iter().any(|&(b, on)| b == block && !on) {
            continue;
        }
        let mut row = vec![m.label.to_string()];
        let base = runs.first().and_then(|r| number(r, m));
        for (i, run) in runs.iter().enumerate() {
            let cell = match run.summary.pointer(m.pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(v) if v.is_number() => {
                    let value = number(run, m).unwrap_or(f64::NAN);
                    let text = format!("{value:.prec$}", prec = m.decimals);
                    match base {
                        Some(b) if i > 0 => format!("{text} ({})", change(b, value)),
                        _ => text,
                    }
                }
                _ => "-".to_string(),
            };
            row.push(cell);
        }
        rows.push(row);
    }
    (header, rows)
}

/// A plain-text table, columns aligned.
pub fn text_table(header: &[String], rows: &[Vec<String>]) -> String {
    let mut all = vec![header.to_vec()];
    all.extend(rows.iter().cloned());
    let widths: Vec<usize> = (0..header.len())
        .map(|c| all.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in all.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            if c == 0 {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str("  ");
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
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

/// A Markdown (GitHub) table; `|` in cells is escaped.
pub fn markdown_table(header: &[String], rows: &[Vec<String>]) -> String {
    let cell = |s: &String| s.replace('|', "\\|");
    let mut out = String::new();
    out.push_str(&format!(
        "| {} |\n",
        header.iter().map(cell).collect::<Vec<_>>().join(" | ")
    ));
    let separators: Vec<&str> = (0..header.len())
        .map(|c| if c == 0 { "---" } else { "---:" })
        .collect();
    out.push_str(&format!("| {} |\n", separators.join(" | ")));
    for row in rows {
        out.push_str(&format!(
            "| {} |\n",
            row.iter().map(cell).collect::<Vec<_>>().join(" | ")
        ));
    }
    out
}

/// The side-by-side plot of the headline metrics.
pub fn runs_plot(runs: &[ComparedRun]) -> RunsPlot {
    let pick = |pointer: &str, scale: f64| -> Vec<f64> {
        runs.iter()
            .map(|r| {
                r.summary
                    .pointer(pointer)
                    .and_then(Value::as_f64)
                    .map_or(f64::NAN, |v| v * scale)
            })
            .collect()
    };
    // Runs with sessions show what they trade: sessions on target against batch wait.
    let sessions = runs.iter().any(|r| {
        r.summary
            .pointer("/metrics/session_start/requests")
            .and_then(Value::as_u64)
            .is_some_and(|n| n > 0)
    });
    let panels = if sessions {
        vec![
            (
                "sessions on target (%)".to_string(),
                pick("/metrics/session_start/on_target_share", 100.0),
            ),
            (
                "session time to start p95 (s)".to_string(),
                pick("/metrics/session_start/time_to_start_p95_s", 1.0),
            ),
            (
                "batch mean wait (hours)".to_string(),
                pick("/metrics/batch/wait_mean_s", 1.0 / 3_600.0),
            ),
            (
                "utilization (%)".to_string(),
                pick("/metrics/utilization", 100.0),
            ),
        ]
    } else {
        vec![
            (
                "mean wait (hours)".to_string(),
                pick("/metrics/all/wait_mean_s", 1.0 / 3_600.0),
            ),
            (
                "95th percentile wait (hours)".to_string(),
                pick("/metrics/all/wait_p95_s", 1.0 / 3_600.0),
            ),
            (
                "mean bounded slowdown".to_string(),
                pick("/metrics/all/bsld_mean", 1.0),
            ),
            (
                "utilization (%)".to_string(),
                pick("/metrics/utilization", 100.0),
            ),
        ]
    };
    RunsPlot {
        runs: runs.iter().map(|r| r.name.clone()).collect(),
        panels,
    }
}

/// Writes `compare.html`, `compare.md` and `plots/runs.{png,svg}` into `dir`.
pub fn write_compare_dir(dir: &Path, runs: &[ComparedRun]) -> Result<Vec<String>> {
    let plots_dir = dir.join("plots");
    std::fs::create_dir_all(&plots_dir)
        .with_context(|| format!("creating {}", plots_dir.display()))?;
    let svg = plots::render(&runs_plot(runs), Some(&plots_dir.join("runs.png")))?;
    std::fs::write(plots_dir.join("runs.svg"), &svg)
        .with_context(|| format!("writing {}", plots_dir.join("runs.svg").display()))?;
    let drawn = [DrawnPlot {
        name: "runs",
        caption: "Headline metrics of each run; the first run is the reference for the \
                  changes in the table."
            .to_string(),
        svg,
    }];
    let (header, rows) = comparison(runs);
    let page = html::compare_page(&header, &rows, &drawn);
    std::fs::write(dir.join("compare.html"), page)
        .with_context(|| format!("writing {}", dir.join("compare.html").display()))?;
    std::fs::write(dir.join("compare.md"), markdown_table(&header, &rows))
        .with_context(|| format!("writing {}", dir.join("compare.md").display()))?;
    Ok(vec![
        "compare.html".into(),
        "compare.md".into(),
        "plots/runs.png".into(),
        "plots/runs.svg".into(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(name: &str, wait: f64, util: f64) -> ComparedRun {
        ComparedRun {
            name: name.into(),
            summary: json!({
                "policy": name, "machine_procs": 128,
                "jobs": {"simulated": 10, "dropped": 0},
                "metrics": {"utilization": util, "makespan_s": 100.0, "killed_jobs": 0,
                            "all": {"wait_mean_s": wait}}
            }),
        }
    }

    #[test]
    fn changes_are_relative_to_the_first_run() {
        let (header, rows) = comparison(&[run("fcfs", 200.0, 0.5), run("easy", 150.0, 0.6)]);
        assert_eq!(header, vec!["metric", "fcfs", "easy"]);
        let wait = rows.iter().find(|r| r[0] == "wait mean (s)").unwrap();
        assert_eq!(wait[1], "200.0");
        assert_eq!(wait[2], "150.0 (-25.0 %)");
        let util = rows.iter().find(|r| r[0] == "utilization (%)").unwrap();
        assert_eq!(util[2], "60.00 (+20.0 %)");
        let policy = rows.iter().find(|r| r[0] == "policy").unwrap();
        assert_eq!(policy[1..], ["fcfs", "easy"]);
        let missing = rows.iter().find(|r| r[0] == "wait p95 (s)").unwrap();
        assert_eq!(missing[1], "-");
        let md = markdown_table(&header, &rows);
        assert!(md.starts_with("| metric | fcfs | easy |\n| --- | ---: | ---: |\n"));
    }
}
