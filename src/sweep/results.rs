//! A sweep's results from its run records: `sweep.parquet` / `sweep.csv` (one row per run),
//! `points.parquet` / `points.csv` (per point — the swept values other than the seed — the
//! mean of each metric over its runs and the half-width of a 95 % confidence interval),
//! plots of each chosen metric against each swept key, one line per policy, and
//! `sweep.html` showing the points and the plots in one self-contained page.
//!
//! Everything here is a function of the records alone, in run order: a sweep and the merge
//! of its shards write the same bytes.

use super::record::{write_atomically, Manifest, RunRecord};
use crate::report::plots::{self, render, DrawResult, Plot, COLORS};
use crate::scenario::{Better, ParetoSpec};
use anyhow::{Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use polars::prelude::*;
use std::path::Path;

/// The key whose values are the runs' policies.
const POLICY_KEY: &str = "policy.name";
/// The key whose values are the runs' seeds (runs that differ only in it form a point).
const SEED_KEY: &str = "seed";

/// Writes the tables and plots of a complete sweep into `dir`; returns the files written.
pub fn write_results(
    dir: &Path,
    manifest: &Manifest,
    records: &[RunRecord],
) -> Result<Vec<String>> {
    let table = Table::of(manifest, records);
    let mut written = Vec::new();
    let mut runs = table.runs_frame()?;
    written.extend(write_frame_atomically(dir, "sweep", &mut runs)?);
    let mut points = table.points_frame(manifest)?;
    written.extend(write_frame_atomically(dir, "points", &mut points)?);
    let plot_dir = dir.join("plots");
    std::fs::create_dir_all(&plot_dir)
        .with_context(|| format!("creating {}", plot_dir.display()))?;
    let mut figures = Vec::new();
    for plot in table.plots(manifest) {
        let stem = format!("{}_vs_{}", file_safe(&plot.metric), file_safe(&plot.key));
        let svg = write_plot(&plot_dir, &stem, &plot, &mut written)?;
        let caption = format!(
            "{} against {}: the mean over the runs with each value{}, with its 95 % interval.",
            plot.metric,
            plot.key,
            if plot.series.len() > 1 {
                ", one line per policy"
            } else {
                ""
            }
        );
        figures.push((stem, caption, svg));
    }
    if let Some(spec) = &manifest.pareto {
        let plot = table.pareto_plot(spec);
        let stem = "pareto";
        let svg = write_plot(&plot_dir, stem, &plot, &mut written)?;
        let caption = format!(
            "{} ({} is better) against {} ({} is better), each point's mean over its runs; \
             the points that no other point beats on both (the Pareto front) are joined and \
             numbered as in the points table: {}.",
            spec.y,
            better_word(spec.y_better),
            spec.x,
            better_word(spec.x_better),
            plot.front_labels().join("; ")
        );
        figures.insert(0, (stem.to_string(), caption, svg));
    }
    let (header, rows) = table.points_rows(manifest);
    let name = std::path::Path::new(&manifest.scenario)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let page = crate::report::html::sweep_page(
        &format!("clustersim sweep: {name}"),
        &format!(
            "{} runs, {} points; swept: {}",
            records.len(),
            table.points.len(),
            manifest.keys.join(", ")
        ),
        &header,
        &rows,
        &figures,
    );
    write_atomically(&dir.join("sweep.html"), page.as_bytes())?;
    written.push("sweep.html".to_string());
    Ok(written)
}

/// Draws `plot` as `plots/STEM.png` and `.svg` in `plot_dir`, noting both in `written`;
/// returns the SVG text (for `sweep.html`).
fn write_plot<P: Plot>(
    plot_dir: &Path,
    stem: &str,
    plot: &P,
    written: &mut Vec<String>,
) -> Result<String> {
    let svg = render(plot, Some(&plot_dir.join(format!("{stem}.png"))))?;
    write_atomically(&plot_dir.join(format!("{stem}.svg")), svg.as_bytes())?;
    written.push(format!("plots/{stem}.png"));
    written.push(format!("plots/{stem}.svg"));
    Ok(svg)
}

fn better_word(b: Better) -> &'static str {
    match b {
        Better::Lower => "lower",
        Better::Higher => "higher",
    }
}

/// Which of `points` (x, y; `None` where a metric is undefined) are on the Pareto front:
/// no other point is at least as good on both metrics and better on one. Points with an
/// undefined metric are never on it. Equal points are all on it.
pub fn pareto_front(points: &[Option<(f64, f64)>], x: Better, y: Better) -> Vec<bool> {
    // Both as "higher is better".
    let signed = |v: f64, b: Better| match b {
        Better::Higher => v,
        Better::Lower => -v,
    };
    let p: Vec<Option<(f64, f64)>> = points
        .iter()
        .map(|q| q.map(|(a, b)| (signed(a, x), signed(b, y))))
        .collect();
    p.iter()
        .map(|&me| {
            let Some((mx, my)) = me else { return false };
            !p.iter()
                .flatten()
                .any(|&(ox, oy)| ox >= mx && oy >= my && (ox > mx || oy > my))
        })
        .collect()
}

/// A number for a table cell: integers as such, others with four significant digits.
fn cell(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{x:.0}")
    } else if x.abs() >= 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.4}")
    }
}

fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes `frame` as NAME.parquet and NAME.csv, each whole or not at all.
fn write_frame_atomically(dir: &Path, name: &str, frame: &mut DataFrame) -> Result<Vec<String>> {
    let mut parquet = Vec::new();
    ParquetWriter::new(&mut parquet)
        .finish(frame)
        .map_err(|e| anyhow::anyhow!("encoding {name}.parquet: {e}"))?;
    write_atomically(&dir.join(format!("{name}.parquet")), &parquet)?;
    let mut csv = Vec::new();
    CsvWriter::new(&mut csv)
        .finish(frame)
        .map_err(|e| anyhow::anyhow!("encoding {name}.csv: {e}"))?;
    write_atomically(&dir.join(format!("{name}.csv")), &csv)?;
    Ok(vec![format!("{name}.parquet"), format!("{name}.csv")])
}

/// The records as columns.
struct Table<'a> {
    records: &'a [RunRecord],
    keys: Vec<String>,
    metrics: Vec<String>,
    /// Each run's point (index into `points`).
    point_of: Vec<usize>,
    /// Distinct points in order of first appearance: the runs of each.
    points: Vec<Vec<usize>>,
}

impl<'a> Table<'a> {
    fn of(manifest: &Manifest, records: &'a [RunRecord]) -> Table<'a> {
        let mut metrics: Vec<String> = Vec::new();
        // A metric that repeats a swept setting under its own name (`rates.fabric_slowdown`)
        // is that key's column already.
        let mut seen: std::collections::BTreeSet<String> = manifest.keys.iter().cloned().collect();
        for r in records {
            for (m, _) in &r.metrics {
                if seen.insert(m.clone()) {
                    metrics.push(m.clone());
                }
            }
        }
        let mut point_keys: std::collections::BTreeMap<String, usize> = Default::default();
        let mut point_of = Vec::with_capacity(records.len());
        let mut points: Vec<Vec<usize>> = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let key: String = r
                .params
                .iter()
                .filter(|(k, _)| k != SEED_KEY)
                .map(|(k, v)| format!("{k}={v};"))
                .collect();
            let next = points.len();
            let p = *point_keys.entry(key).or_insert(next);
            if p == next {
                points.push(Vec::new());
            }
            points[p].push(i);
            point_of.push(p);
        }
        Table {
            records,
            keys: manifest.keys.clone(),
            metrics,
            point_of,
            points,
        }
    }

    fn param(&self, run: usize, key: &str) -> &serde_json::Value {
        self.records[run]
            .params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .unwrap_or(&serde_json::Value::Null)
    }

    fn metric(&self, run: usize, name: &str) -> Option<f64> {
        self.records[run]
            .metrics
            .iter()
            .find(|(m, _)| m == name)
            .and_then(|(_, v)| *v)
    }

    /// A column of a key's values over `runs`: integers, floats, booleans or text,
    /// whichever holds all of them.
    fn param_column(&self, key: &str, runs: &[usize]) -> Column {
        let values: Vec<&serde_json::Value> = runs.iter().map(|&i| self.param(i, key)).collect();
        let present = || values.iter().filter(|v| !v.is_null());
        let name = PlSmallStr::from(key);
        if present().all(|v| v.is_i64()) {
            Column::new(name, values.iter().map(|v| v.as_i64()).collect::<Vec<_>>())
        } else if present().all(|v| v.is_number()) {
            Column::new(name, values.iter().map(|v| v.as_f64()).collect::<Vec<_>>())
        } else if present().all(|v| v.is_boolean()) {
            Column::new(name, values.iter().map(|v| v.as_bool()).collect::<Vec<_>>())
        } else {
            let text: Vec<Option<String>> = values
                .iter()
                .map(|v| match v {
                    serde_json::Value::Null => None,
                    serde_json::Value::String(s) => Some(s.clone()),
                    other => Some(other.to_string()),
                })
                .collect();
            Column::new(name, text)
        }
    }

    fn runs_frame(&self) -> Result<DataFrame> {
        let all: Vec<usize> = (0..self.records.len()).collect();
        let mut columns = vec![
            Column::new(
                "run".into(),
                self.records
                    .iter()
                    .map(|r| r.run as i64)
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "point".into(),
                self.point_of.iter().map(|&p| p as i64).collect::<Vec<_>>(),
            ),
        ];
        for k in &self.keys {
            columns.push(self.param_column(k, &all));
        }
        for m in &self.metrics {
            let values: Vec<Option<f64>> = all.iter().map(|&i| self.metric(i, m)).collect();
            columns.push(Column::new(m.as_str().into(), values));
        }
        DataFrame::new(self.records.len(), columns)
            .map_err(|e| anyhow::anyhow!("building the sweep table: {e}"))
    }

    /// The points for `sweep.html`: swept values and each plotted metric's mean ± CI.
    fn points_rows(&self, manifest: &Manifest) -> (Vec<String>, Vec<Vec<String>>) {
        let keys: Vec<&String> = self.keys.iter().filter(|k| *k != SEED_KEY).collect();
        let mut header = vec!["point".to_string(), "runs".to_string()];
        header.extend(keys.iter().map(|k| k.to_string()));
        header.extend(manifest.plot_metrics.iter().cloned());
        let front = manifest.pareto.as_ref().map(|spec| self.front(spec));
        if front.is_some() {
            header.push("Pareto front".to_string());
        }
        let rows = self
            .points
            .iter()
            .enumerate()
            .map(|(p, runs)| {
                let mut row = vec![p.to_string(), runs.len().to_string()];
                for k in &keys {
                    row.push(match self.param(runs[0], k) {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => String::new(),
                        other => other.to_string(),
                    });
                }
                for m in &manifest.plot_metrics {
                    let s = mean_ci(runs.iter().filter_map(|&i| self.metric(i, m)));
                    row.push(match (s.mean, s.ci95) {
                        (Some(mean), Some(ci)) => format!("{} ± {}", cell(mean), cell(ci)),
                        (Some(mean), None) => cell(mean),
                        _ => "n/a".to_string(),
                    });
                }
                if let Some(front) = &front {
                    row.push(if front[p] { "yes" } else { "" }.to_string());
                }
                row
            })
            .collect();
        (header, rows)
    }

    /// Each point's means of the Pareto metrics.
    fn pareto_means(&self, spec: &ParetoSpec) -> Vec<Option<(f64, f64)>> {
        let mean = |runs: &Vec<usize>, m: &str| {
            mean_ci(runs.iter().filter_map(|&i| self.metric(i, m))).mean
        };
        self.points
            .iter()
            .map(|runs| Some((mean(runs, &spec.x)?, mean(runs, &spec.y)?)))
            .collect()
    }

    /// Whether each point is on the Pareto front of `spec`'s metrics.
    fn front(&self, spec: &ParetoSpec) -> Vec<bool> {
        pareto_front(&self.pareto_means(spec), spec.x_better, spec.y_better)
    }

    /// The Pareto plot: every point, the front joined.
    fn pareto_plot(&self, spec: &ParetoSpec) -> ParetoPlot {
        let means = self.pareto_means(spec);
        let front = self.front(spec);
        let keys: Vec<&String> = self.keys.iter().filter(|k| *k != SEED_KEY).collect();
        let points = means
            .iter()
            .enumerate()
            .filter_map(|(p, m)| {
                let (x, y) = (*m)?;
                let values: Vec<String> = keys
                    .iter()
                    .map(|k| {
                        let v = match self.param(self.points[p][0], k) {
                            serde_json::Value::String(s) => s.clone(),
                            serde_json::Value::Null => "(base)".to_string(),
                            other => other.to_string(),
                        };
                        format!("{k} = {v}")
                    })
                    .collect();
                Some(ParetoPoint {
                    point: p,
                    x,
                    y,
                    on_front: front[p],
                    label: values.join(", "),
                })
            })
            .collect();
        ParetoPlot {
            x: spec.x.clone(),
            y: spec.y.clone(),
            points,
        }
    }

    fn points_frame(&self, manifest: &Manifest) -> Result<DataFrame> {
        let firsts: Vec<usize> = self.points.iter().map(|runs| runs[0]).collect();
        let mut columns = vec![
            Column::new(
                "point".into(),
                (0..self.points.len() as i64).collect::<Vec<_>>(),
            ),
            Column::new(
                "runs".into(),
                self.points
                    .iter()
                    .map(|r| r.len() as i64)
                    .collect::<Vec<_>>(),
            ),
        ];
        for k in self.keys.iter().filter(|k| *k != SEED_KEY) {
            columns.push(self.param_column(k, &firsts));
        }
        for m in &self.metrics {
            let stats: Vec<MeanCi> = self
                .points
                .iter()
                .map(|runs| mean_ci(runs.iter().filter_map(|&i| self.metric(i, m))))
                .collect();
            columns.push(Column::new(
                format!("{m}.mean").into(),
                stats.iter().map(|s| s.mean).collect::<Vec<_>>(),
            ));
            columns.push(Column::new(
                format!("{m}.ci95").into(),
                stats.iter().map(|s| s.ci95).collect::<Vec<_>>(),
            ));
        }
        if let Some(spec) = &manifest.pareto {
            columns.push(Column::new("pareto_front".into(), self.front(spec)));
        }
        DataFrame::new(self.points.len(), columns)
            .map_err(|e| anyhow::anyhow!("building the points table: {e}"))
    }

    /// One plot per chosen metric and swept key (other than the policy and the seed; the
    /// policy itself when nothing else is swept).
    fn plots(&self, manifest: &Manifest) -> Vec<SweepPlot> {
        let mut x_keys: Vec<&String> = self
            .keys
            .iter()
            .filter(|k| *k != POLICY_KEY && *k != SEED_KEY)
            .collect();
        if x_keys.is_empty() {
            x_keys.push(if self.keys.iter().any(|k| k == POLICY_KEY) {
                &self.keys[self.keys.iter().position(|k| k == POLICY_KEY).unwrap_or(0)]
            } else {
                &self.keys[0]
            });
        }
        let mut out = Vec::new();
        for metric in &manifest.plot_metrics {
            for key in &x_keys {
                out.push(self.plot(metric, key));
            }
        }
        out
    }

    fn plot(&self, metric: &str, key: &str) -> SweepPlot {
        let all: Vec<usize> = (0..self.records.len()).collect();
        // The x values, in order of first appearance (numbers sorted).
        let mut xs: Vec<serde_json::Value> = Vec::new();
        for &i in &all {
            let v = self.param(i, key).clone();
            if !xs.contains(&v) {
                xs.push(v);
            }
        }
        let numeric = xs.iter().all(|v| v.is_number());
        if numeric {
            xs.sort_by(|a, b| {
                a.as_f64()
                    .unwrap_or(0.0)
                    .total_cmp(&b.as_f64().unwrap_or(0.0))
            });
        }
        let label = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "(base)".to_string(),
            other => other.to_string(),
        };
        let x_of = |k: usize| -> f64 {
            if numeric {
                xs[k].as_f64().unwrap_or(0.0)
            } else {
                k as f64
            }
        };
        let mut policies: Vec<String> = Vec::new();
        for &i in &all {
            let p = label(self.param(i, POLICY_KEY));
            if !policies.contains(&p) {
                policies.push(p);
            }
        }
        let by_policy = key != POLICY_KEY && self.keys.iter().any(|k| k == POLICY_KEY);
        if !by_policy {
            policies = vec![String::new()];
        }
        let series = policies
            .iter()
            .map(|policy| {
                let points = xs
                    .iter()
                    .enumerate()
                    .filter_map(|(k, x)| {
                        let values = all
                            .iter()
                            .filter(|&&i| self.param(i, key) == x)
                            .filter(|&&i| !by_policy || label(self.param(i, POLICY_KEY)) == *policy)
                            .filter_map(|&i| self.metric(i, metric));
                        let s = mean_ci(values);
                        s.mean.map(|m| (x_of(k), m, s.ci95.unwrap_or(0.0)))
                    })
                    .collect();
                (policy.clone(), points)
            })
            .collect();
        SweepPlot {
            metric: metric.to_string(),
            key: key.to_string(),
            categories: if numeric {
                None
            } else {
                Some(xs.iter().map(label).collect())
            },
            series,
        }
    }
}

/// A mean and the half-width of its 95 % confidence interval (Student's t; None for
/// fewer than two values).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeanCi {
    /// The mean (None without values).
    pub mean: Option<f64>,
    /// Half-width of the 95 % interval.
    pub ci95: Option<f64>,
}

/// Mean and 95 % confidence half-width of `values`, summed in their order.
pub fn mean_ci(values: impl Iterator<Item = f64>) -> MeanCi {
    let v: Vec<f64> = values.collect();
    let n = v.len();
    if n == 0 {
        return MeanCi {
            mean: None,
            ci95: None,
        };
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return MeanCi {
            mean: Some(mean),
            ci95: None,
        };
    }
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
    MeanCi {
        mean: Some(mean),
        ci95: Some(t_975(n - 1) * (var / n as f64).sqrt()),
    }
}

/// The 97.5th percentile of Student's t with `df` degrees of freedom.
pub fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => TABLE[df - 1],
        // Cornish–Fisher: z + (z³ + z) / (4 df), within 0.001 of the exact value past 30.
        _ => {
            let z = 1.959_964f64;
            z + (z * z * z + z) / (4.0 * df as f64)
        }
    }
}

/// A plotted point: (x, mean, 95 % confidence half-width).
pub type PlotPoint = (f64, f64, f64);

/// One point of a Pareto plot.
pub struct ParetoPoint {
    /// Its number in the points table.
    pub point: usize,
    /// Its mean x and y.
    pub x: f64,
    /// See `x`.
    pub y: f64,
    /// Whether no other point beats it on both.
    pub on_front: bool,
    /// Its swept values, `key = value, …`.
    pub label: String,
}

/// Two metrics of every point, the Pareto front joined and numbered.
pub struct ParetoPlot {
    /// The x metric.
    pub x: String,
    /// The y metric.
    pub y: String,
    /// The points with both metrics defined.
    pub points: Vec<ParetoPoint>,
}

impl ParetoPlot {
    /// The front's points as `#N (key = value, …)`, in x order.
    pub fn front_labels(&self) -> Vec<String> {
        self.front()
            .iter()
            .map(|p| format!("#{} ({})", p.point, p.label))
            .collect()
    }

    fn front(&self) -> Vec<&ParetoPoint> {
        let mut f: Vec<&ParetoPoint> = self.points.iter().filter(|p| p.on_front).collect();
        f.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.point.cmp(&b.point)));
        f
    }
}

impl Plot for ParetoPlot {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let title = format!("{} against {}", self.y, self.x);
        if self.points.is_empty() {
            return plots::no_data(area, &title);
        }
        let span = |v: &mut dyn Iterator<Item = f64>| {
            let (lo, hi) = v.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
                (l.min(x), h.max(x))
            });
            let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.02).max(1e-6);
            (lo - pad, hi + pad)
        };
        let (x0, x1) = span(&mut self.points.iter().map(|p| p.x));
        let (y0, y1) = span(&mut self.points.iter().map(|p| p.y));
        let mut chart = ChartBuilder::on(area)
            .caption(&title, plots::caption_style())
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc(self.x.as_str())
            .y_desc(self.y.as_str())
            .label_style(plots::label_font())
            .axis_desc_style(plots::axis_font())
            .y_labels(8)
            .light_line_style(BLACK.mix(0.04))
            .draw()?;
        chart.draw_series(
            self.points
                .iter()
                .filter(|p| !p.on_front)
                .map(|p| Circle::new((p.x, p.y), 4, BLACK.mix(0.35).filled())),
        )?;
        let front = self.front();
        let color = COLORS[1];
        chart
            .draw_series(LineSeries::new(
                front.iter().map(|p| (p.x, p.y)),
                color.stroke_width(2),
            ))?
            .label("Pareto front")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart.draw_series(
            front
                .iter()
                .map(|p| Circle::new((p.x, p.y), 5, color.filled())),
        )?;
        chart.draw_series(front.iter().map(|p| {
            Text::new(
                format!("#{}", p.point),
                (p.x, p.y),
                plots::label_font().into_font(),
            )
        }))?;
        plots::legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    }
}

/// A metric against a swept key: per series (policy), (x, mean, CI half-width) points.
pub struct SweepPlot {
    /// The metric's name.
    pub metric: String,
    /// The swept key on the x axis.
    pub key: String,
    /// Labels when the key's values are not numbers (x is then 0, 1, …).
    pub categories: Option<Vec<String>>,
    /// (series name, points).
    pub series: Vec<(String, Vec<PlotPoint>)>,
}

impl Plot for SweepPlot {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let points = self.series.iter().flat_map(|(_, p)| p.iter());
        let (mut x0, mut x1, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, 0f64);
        for &(x, m, ci) in points {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y1 = y1.max(m + ci);
        }
        if !x0.is_finite() {
            x0 = 0.0;
            x1 = 1.0;
        }
        let pad = ((x1 - x0) * 0.08).max(0.3);
        let (x0, x1) = (x0 - pad, x1 + pad);
        let y1 = if y1 > 0.0 { y1 * 1.12 } else { 1.0 };
        let title = format!("{} against {}", self.metric, self.key);
        let mut chart = ChartBuilder::on(area)
            .caption(title, plots::caption_style())
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(x0..x1, 0f64..y1)?;
        let categories = self.categories.clone();
        let x_fmt = move |v: &f64| match &categories {
            Some(c) => {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    c.get(i as usize)
                        .map(|s| plots::shorten(s, 18))
                        .unwrap_or_default()
                } else {
                    String::new()
                }
            }
            None => format!("{v}"),
        };
        let y_fmt = move |v: &f64| {
            if y1 >= 100.0 {
                format!("{v:.0}")
            } else if y1 >= 1.0 {
                format!("{v:.2}")
            } else {
                format!("{v:.3}")
            }
        };
        let n_categories = self.categories.as_ref().map(|c| c.len());
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(self.key.as_str())
            .y_desc(format!("{} (mean, 95% CI)", self.metric))
            .label_style(plots::label_font())
            .axis_desc_style(plots::axis_font())
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .y_labels(8)
            .light_line_style(BLACK.mix(0.04));
        if let Some(n) = n_categories {
            // Ticks at every whole number, so each category gets its label.
            mesh.x_labels(((x1 - x0).ceil() as usize + 1).max(n));
        }
        mesh.draw()?;
        let named = self.series.iter().any(|(name, _)| !name.is_empty());
        for (k, (name, pts)) in self.series.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            let line = chart.draw_series(LineSeries::new(
                pts.iter().map(|&(x, m, _)| (x, m)),
                color.stroke_width(2),
            ))?;
            if named {
                line.label(name.as_str()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            }
            chart.draw_series(
                pts.iter()
                    .map(|&(x, m, _)| Circle::new((x, m), 4, color.filled())),
            )?;
            // Whiskers: the 95 % interval, with caps a fixed share of the x range wide.
            let cap = (x1 - x0) * 0.01;
            for &(x, m, ci) in pts.iter().filter(|p| p.2 > 0.0) {
                let style = color.stroke_width(1);
                chart.draw_series([
                    PathElement::new(vec![(x, m - ci), (x, m + ci)], style),
                    PathElement::new(vec![(x - cap, m - ci), (x + cap, m - ci)], style),
                    PathElement::new(vec![(x - cap, m + ci), (x + cap, m + ci)], style),
                ])?;
            }
        }
        if named {
            plots::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pareto_front_keeps_the_points_nothing_beats_on_both() {
        // Lower x and higher y are better. (3, 0.9) is beaten by (2, 0.9); (5, 0.5) by
        // (4, 0.8); a point without metrics is never on the front; equal points both are.
        let points = [
            Some((1.0, 0.5)),
            Some((2.0, 0.9)),
            Some((3.0, 0.9)),
            Some((4.0, 0.8)),
            Some((5.0, 0.5)),
            None,
            Some((1.0, 0.5)),
        ];
        assert_eq!(
            pareto_front(&points, Better::Lower, Better::Higher),
            [true, true, false, false, false, false, true]
        );
        // Higher x better: (5, 0.5) leads on x, (4, 0.8) and (3, 0.9) trade x for y;
        // (3, 0.9) now beats (2, 0.9).
        assert_eq!(
            pareto_front(&points, Better::Higher, Better::Higher),
            [false, false, true, true, true, false, false]
        );
    }

    #[test]
    fn confidence_intervals_use_student_t() {
        let s = mean_ci([1.0, 2.0, 3.0].into_iter());
        assert_eq!(s.mean, Some(2.0));
        // s = 1, n = 3: 4.303 / √3.
        assert!((s.ci95.unwrap() - 4.303 / 3f64.sqrt()).abs() < 1e-12);
        assert_eq!(mean_ci([5.0].into_iter()).ci95, None);
        assert_eq!(mean_ci(std::iter::empty()).mean, None);
        assert!((t_975(60) - 2.000).abs() < 2e-3);
        assert!((t_975(120) - 1.980).abs() < 2e-3);
    }
}
