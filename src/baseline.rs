//! `clustersim check`: scheduling metrics against a baseline, for CI pipelines.
//!
//! A baseline file (JSON, written by `clustersim check --update-baseline`) holds, per
//! scenario run, the metrics being guarded, and per metric a tolerance: which direction is
//! worse, and how far it may move that way (relative to the baseline value and/or
//! absolute). Runs are deterministic, so the default tolerance is zero: any change that
//! makes a guarded metric worse is a regression, and one that makes it better is reported
//! as an improvement to accept by updating the baseline.
//!
//! Each baseline entry carries a hash of what defines its experiment: the scenario's
//! cluster, workload, seed and sweep — everything but `[policy]`, which is what the check
//! judges, and `[output]`. A baseline from a different experiment is an input error, not a
//! regression.

use crate::plan::TraceCache;
use crate::scenario::LoadedScenario;
use crate::sweep::record::{flatten_metrics, is_metric_name};
use crate::sweep::spec::{canonical, describe_run, fnv1a, Sweep};
use anyhow::{Context, Result};
use indexmap::IndexMap;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

/// The format tag of baseline files.
pub const FORMAT: &str = "clustersim-baseline/1";

/// Which way a metric gets worse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Worse {
    /// A higher value is worse (waits, slowdowns, makespan).
    Higher,
    /// A lower value is worse (utilization).
    Lower,
}

/// How far a metric may move in its worse direction before it is a regression: by more
/// than `max(absolute, relative × |baseline|)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    /// Which way is worse.
    pub worse: Worse,
    /// Allowed change as a fraction of the baseline value (0.02: 2 %).
    #[serde(default)]
    pub relative: f64,
    /// Allowed change in the metric's unit.
    #[serde(default)]
    pub absolute: f64,
}

/// One run's guarded metrics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineRun {
    /// The scenario's name.
    pub scenario: String,
    /// Its file, as given when the baseline was written.
    pub file: String,
    /// The experiment's hash (see the module's documentation).
    pub scenario_hash: String,
    /// The run within the scenario: its swept values, or "(the scenario as written)".
    pub run: String,
    /// The guarded metrics' values.
    pub metrics: IndexMap<String, Option<f64>>,
}

/// A baseline file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Always [`FORMAT`].
    pub format: String,
    /// The guarded metrics and their tolerances.
    pub tolerances: IndexMap<String, Tolerance>,
    /// The runs.
    pub runs: Vec<BaselineRun>,
}

/// The metrics guarded by a new baseline, all exact.
pub fn default_tolerances() -> IndexMap<String, Tolerance> {
    let exact = |worse| Tolerance {
        worse,
        relative: 0.0,
        absolute: 0.0,
    };
    [
        ("all.wait_mean_s", Worse::Higher),
        ("all.wait_p95_s", Worse::Higher),
        ("all.bsld_mean", Worse::Higher),
        ("interactive.wait_p95_s", Worse::Higher),
        ("makespan_s", Worse::Higher),
        ("utilization", Worse::Lower),
        ("jobs.dropped", Worse::Higher),
    ]
    .into_iter()
    .map(|(m, w)| (m.to_string(), exact(w)))
    .collect()
}

/// Reads a baseline file, checking its tolerances.
pub fn read(path: &Path) -> Result<Baseline> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the baseline {}", path.display()))?;
    let baseline: Baseline = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a clustersim baseline", path.display()))?;
    if baseline.format != FORMAT {
        anyhow::bail!(
            "{}: format {:?}, expected {FORMAT:?}",
            path.display(),
            baseline.format
        );
    }
    for (m, t) in &baseline.tolerances {
        if !is_metric_name(m) {
            anyhow::bail!("{}: tolerances: unknown metric {m:?}", path.display());
        }
        if !(t.relative >= 0.0 && t.absolute >= 0.0) {
            anyhow::bail!(
                "{}: tolerances.{m}: relative and absolute must be 0 or more",
                path.display()
            );
        }
    }
    Ok(baseline)
}

/// A run to check: where it comes from, and its scenario.
pub struct CheckedRun {
    /// The scenario's name.
    pub scenario: String,
    /// Its file, as given.
    pub file: String,
    /// The experiment's hash.
    pub hash: String,
    /// The run's label within the scenario.
    pub run: String,
    /// Its scenario.
    pub loaded: LoadedScenario,
}

/// The hash of what defines a scenario's experiment: everything but `[policy]` and
/// `[output]`.
pub fn experiment_hash(loaded: &LoadedScenario) -> Result<String> {
    let mut table: toml::Table = toml::from_str(&loaded.text)
        .with_context(|| format!("{}: reading the scenario", loaded.path.display()))?;
    table.remove("policy");
    table.remove("output");
    Ok(format!("{:016x}", fnv1a(canonical(&table).as_bytes())))
}

/// The runs of the scenario files: one per file, or one per run of a file's `[sweep]`.
pub fn runs_of(files: &[std::path::PathBuf]) -> Result<Vec<CheckedRun>> {
    let mut out = Vec::new();
    for file in files {
        let loaded = crate::scenario::load(file)?;
        let hash = experiment_hash(&loaded)?;
        let name = loaded.name();
        let file_label = file.display().to_string();
        if loaded.scenario.sweep.is_some() {
            let sweep = Sweep::from_scenario(&loaded)?;
            for (i, run) in sweep.runs.iter().enumerate() {
                out.push(CheckedRun {
                    scenario: name.clone(),
                    file: file_label.clone(),
                    hash: hash.clone(),
                    run: describe_run(run),
                    loaded: sweep.scenario_of(i)?,
                });
            }
        } else {
            out.push(CheckedRun {
                scenario: name,
                file: file_label,
                hash,
                run: "as written".to_string(),
                loaded,
            });
        }
    }
    Ok(out)
}

/// Simulates every run (in parallel, each single-threaded) and keeps the guarded metrics.
pub fn measure(
    runs: &[CheckedRun],
    tolerances: &IndexMap<String, Tolerance>,
) -> Result<Vec<BaselineRun>> {
    let cache = TraceCache::default();
    runs.par_iter()
        .map(|r| {
            let summary = crate::sweep::simulate(&r.loaded, &cache, false)
                .with_context(|| format!("{}: {}", r.file, r.run))?;
            let all = flatten_metrics(&summary);
            let metrics = tolerances
                .keys()
                .map(|m| {
                    let v = all.iter().find(|(n, _)| n == m).and_then(|(_, v)| *v);
                    (m.clone(), v)
                })
                .collect();
            Ok(BaselineRun {
                scenario: r.scenario.clone(),
                file: r.file.clone(),
                scenario_hash: r.hash.clone(),
                run: r.run.clone(),
                metrics,
            })
        })
        .collect()
}

/// Writes a baseline file (pretty JSON, a trailing newline).
pub fn write(path: &Path, baseline: &Baseline) -> Result<()> {
    let text = serde_json::to_string_pretty(baseline).context("encoding the baseline")?;
    crate::outdir::write_atomically(path, format!("{text}\n").as_bytes())
}

/// The verdict on one metric of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Within tolerance.
    Ok,
    /// Worse than the tolerance allows.
    Regressed,
    /// Better by more than the tolerance: accept it by updating the baseline.
    Improved,
}

impl Status {
    /// The word shown in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Regressed => "REGRESSED",
            Status::Improved => "improved",
        }
    }
}

/// One compared metric.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Scenario name.
    pub scenario: String,
    /// Run label.
    pub run: String,
    /// Metric name.
    pub metric: String,
    /// Baseline value.
    pub baseline: Option<f64>,
    /// Current value.
    pub current: Option<f64>,
    /// The allowed change in the worse direction.
    pub allowed: f64,
    /// The verdict.
    pub status: Status,
}

/// Compares measured runs with the baseline. A run missing from the baseline, or whose
/// experiment changed, is an error (the baseline cannot judge it); so is a baseline that
/// names a run twice, or whose run lacks a metric its tolerances guard.
pub fn compare(
    baseline: &Baseline,
    current: &[BaselineRun],
    baseline_file: &Path,
) -> Result<Vec<Comparison>> {
    // A baseline that cannot judge what it guards is an input error, not a regression: a
    // run named twice (which entry would count?), or a guarded metric a run lacks.
    for (i, run) in baseline.runs.iter().enumerate() {
        if let Some(first) = baseline.runs[..i]
            .iter()
            .position(|b| b.scenario == run.scenario && b.run == run.run)
        {
            anyhow::bail!(
                "{}: runs[{i}] names scenario {:?}, run {}, as runs[{first}] does: a baseline \
                 names each run once; rewrite it with `clustersim check --update-baseline`",
                baseline_file.display(),
                run.scenario,
                run.run
            );
        }
        if let Some(metric) = baseline
            .tolerances
            .keys()
            .find(|m| !run.metrics.contains_key(*m))
        {
            anyhow::bail!(
                "{}: runs[{i}] (scenario {:?}, run {}): metrics has no {metric:?}, which the \
                 tolerances guard; add it or rewrite the baseline with `clustersim check \
                 --update-baseline`",
                baseline_file.display(),
                run.scenario,
                run.run
            );
        }
    }
    let mut out = Vec::new();
    for run in current {
        let Some(base) = baseline
            .runs
            .iter()
            .find(|b| b.scenario == run.scenario && b.run == run.run)
        else {
            anyhow::bail!(
                "{} has no baseline for scenario {:?} ({}), run {}: write one with \
                 `clustersim check --update-baseline`",
                baseline_file.display(),
                run.scenario,
                run.file,
                run.run
            );
        };
        if base.scenario_hash != run.scenario_hash {
            anyhow::bail!(
                "{} was written for a different scenario {:?}: its experiment hash is {} but \
                 {} now hashes to {} (its cluster, workload, seed or sweep changed). If the \
                 change is intended, rewrite the baseline with `clustersim check \
                 --update-baseline`",
                baseline_file.display(),
                run.scenario,
                base.scenario_hash,
                run.file,
                run.scenario_hash
            );
        }
        for (metric, tol) in &baseline.tolerances {
            let b = base.metrics.get(metric).copied().flatten();
            let c = run.metrics.get(metric).copied().flatten();
            let allowed = b.map_or(tol.absolute, |b| tol.absolute.max(tol.relative * b.abs()));
            let status = match (b, c) {
                (None, None) => Status::Ok,
                (Some(b), Some(c)) => {
                    let worse_by = match tol.worse {
                        Worse::Higher => c - b,
                        Worse::Lower => b - c,
                    };
                    if worse_by > allowed {
                        Status::Regressed
                    } else if -worse_by > allowed {
                        Status::Improved
                    } else {
                        Status::Ok
                    }
                }
                // A metric that appeared or vanished: the run is not comparable.
                _ => Status::Regressed,
            };
            out.push(Comparison {
                scenario: run.scenario.clone(),
                run: run.run.clone(),
                metric: metric.clone(),
                baseline: b,
                current: c,
                allowed,
                status,
            });
        }
    }
    Ok(out)
}

fn number(v: Option<f64>) -> String {
    match v {
        None => "n/a".to_string(),
        Some(x) if x.abs() >= 1000.0 || x == x.trunc() => format!("{x:.1}"),
        Some(x) => format!("{x:.4}"),
    }
}

fn change(c: &Comparison) -> String {
    match (c.baseline, c.current) {
        (Some(b), Some(x)) if b != 0.0 => format!("{:+.2}%", (x - b) / b.abs() * 100.0),
        (Some(b), Some(x)) => format!("{:+}", x - b),
        _ => "changed".to_string(),
    }
}

/// The rows of a table of comparisons: header, then one row each.
pub fn rows(comparisons: &[&Comparison]) -> (Vec<String>, Vec<Vec<String>>) {
    let header = [
        "scenario", "run", "metric", "baseline", "current", "change", "allowed", "status",
    ]
    .map(String::from)
    .to_vec();
    let rows = comparisons
        .iter()
        .map(|c| {
            vec![
                c.scenario.clone(),
                c.run.clone(),
                c.metric.clone(),
                number(c.baseline),
                number(c.current),
                change(c),
                number(Some(c.allowed)),
                c.status.as_str().to_string(),
            ]
        })
        .collect();
    (header, rows)
}

/// JUnit XML: one test case per run and metric, a failure for each regression.
pub fn junit(comparisons: &[Comparison]) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let failures = comparisons
        .iter()
        .filter(|c| c.status == Status::Regressed)
        .count();
    let mut s = String::new();
    let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        s,
        r#"<testsuites name="clustersim check" tests="{}" failures="{failures}">"#,
        comparisons.len()
    );
    let _ = writeln!(
        s,
        r#"  <testsuite name="clustersim check" tests="{}" failures="{failures}" errors="0" skipped="0">"#,
        comparisons.len()
    );
    for c in comparisons {
        let _ = write!(
            s,
            r#"    <testcase classname="{}" name="{}: {}""#,
            esc(&c.scenario),
            esc(&c.run),
            esc(&c.metric)
        );
        if c.status == Status::Regressed {
            let _ = writeln!(
                s,
                ">\n      <failure message=\"{} regressed: {} → {} ({}), allowed {}\"/>\n    </testcase>",
                esc(&c.metric),
                number(c.baseline),
                number(c.current),
                change(c),
                number(Some(c.allowed))
            );
        } else {
            let _ = writeln!(s, "/>");
        }
    }
    let _ = writeln!(s, "  </testsuite>\n</testsuites>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(wait: f64, util: f64) -> BaselineRun {
        BaselineRun {
            scenario: "s".into(),
            file: "s.toml".into(),
            scenario_hash: "h".into(),
            run: "r".into(),
            metrics: [
                ("all.wait_mean_s".to_string(), Some(wait)),
                ("utilization".to_string(), Some(util)),
            ]
            .into_iter()
            .collect(),
        }
    }

    fn baseline() -> Baseline {
        let mut tolerances = IndexMap::new();
        tolerances.insert(
            "all.wait_mean_s".to_string(),
            Tolerance {
                worse: Worse::Higher,
                relative: 0.1,
                absolute: 0.0,
            },
        );
        tolerances.insert(
            "utilization".to_string(),
            Tolerance {
                worse: Worse::Lower,
                relative: 0.0,
                absolute: 0.01,
            },
        );
        Baseline {
            format: FORMAT.into(),
            tolerances,
            runs: vec![run(100.0, 0.8)],
        }
    }

    fn statuses(current: BaselineRun) -> Vec<Status> {
        compare(&baseline(), &[current], Path::new("b.json"))
            .unwrap()
            .iter()
            .map(|c| c.status)
            .collect()
    }

    #[test]
    fn tolerances_have_a_direction_and_a_size() {
        assert_eq!(statuses(run(100.0, 0.8)), [Status::Ok, Status::Ok]);
        assert_eq!(statuses(run(110.0, 0.795)), [Status::Ok, Status::Ok]);
        assert_eq!(statuses(run(110.1, 0.8)), [Status::Regressed, Status::Ok]);
        assert_eq!(
            statuses(run(80.0, 0.78)),
            [Status::Improved, Status::Regressed]
        );
        assert_eq!(statuses(run(100.0, 0.9)), [Status::Ok, Status::Improved]);
    }

    #[test]
    fn a_changed_experiment_is_an_error_not_a_regression() {
        let mut other = run(100.0, 0.8);
        other.scenario_hash = "x".into();
        let e = compare(&baseline(), &[other], Path::new("b.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("different scenario"), "{e}");
        let mut missing = run(100.0, 0.8);
        missing.run = "seed = 2".into();
        let e = compare(&baseline(), &[missing], Path::new("b.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("has no baseline"), "{e}");
    }

    #[test]
    fn junit_marks_regressions_as_failures() {
        let c = compare(&baseline(), &[run(200.0, 0.8)], Path::new("b.json")).unwrap();
        let x = junit(&c);
        assert!(x.contains(r#"tests="2" failures="1""#), "{x}");
        assert!(
            x.contains("<failure message=\"all.wait_mean_s regressed"),
            "{x}"
        );
    }
}
