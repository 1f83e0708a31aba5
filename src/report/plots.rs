//! The run's plots, drawn with plotters, each as SVG (inlined in `report.html`) and PNG.
//!
//! Every plot is a [`Plot`]: it draws itself on any plotters backend, so one drawing
//! routine makes both the SVG and the PNG. Text in PNGs uses a font compiled into the
//! program (Ubuntu Light, from the `epaint_default_fonts` crate), so a machine without
//! system fonts draws the same pictures; SVGs name the generic `sans-serif` family.

use super::timeseries::Binned;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// The font family every plot uses.
pub(crate) const FONT: &str = "sans-serif";

/// Series colours (colour-blind-safe, after Okabe and Ito).
pub const COLORS: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
];

/// Drawing errors of a backend.
pub type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A picture that can be drawn on any backend.
pub trait Plot {
    /// Width and height, pixels.
    fn size(&self) -> (u32, u32) {
        (900, 480)
    }
    /// Draws the picture on `area`.
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

static FONT_ONCE: Once = Once::new();

fn register_font() {
    FONT_ONCE.call_once(|| {
        // The bytes are a valid TrueType font compiled into the program; should they ever
        // fail to parse, PNG text is missing but nothing else is wrong.
        let _ = plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        );
    });
}

/// Draws `plot` as an SVG document (returned) and, when `png` is given, as a PNG file.
pub fn render<P: Plot>(plot: &P, png: Option<&Path>) -> anyhow::Result<String> {
    register_font();
    let size = plot.size();
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        plot.draw(&area)
            .map_err(|e| anyhow::anyhow!("drawing an SVG plot: {e}"))?;
        area.present()
            .map_err(|e| anyhow::anyhow!("drawing an SVG plot: {e}"))?;
    }
    if let Some(path) = png {
        let area = BitMapBackend::new(path, size).into_drawing_area();
        plot.draw(&area)
            .map_err(|e| anyhow::anyhow!("drawing {}: {e}", path.display()))?;
        area.present()
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    }
    Ok(svg)
}

/// How to show a span of simulated time: in hours for short runs, days for long ones.
#[derive(Clone, Copy, Debug)]
pub struct TimeAxis {
    /// The origin (first submission), s.
    pub origin_s: f64,
    /// Seconds per axis unit.
    pub unit_s: f64,
    /// The unit's name.
    pub unit: &'static str,
}

impl TimeAxis {
    /// Hours when the span is under three days, else days.
    pub fn for_span(origin_s: f64, span_s: f64) -> TimeAxis {
        if span_s < 3.0 * 86_400.0 {
            TimeAxis {
                origin_s,
                unit_s: 3_600.0,
                unit: "hours",
            }
        } else {
            TimeAxis {
                origin_s,
                unit_s: 86_400.0,
                unit: "days",
            }
        }
    }

    /// Axis coordinate of an absolute time in seconds.
    pub fn at(&self, t_s: f64) -> f64 {
        (t_s - self.origin_s) / self.unit_s
    }

    fn label(&self) -> String {
        format!("time since the first submission ({})", self.unit)
    }
}

pub(crate) fn caption_style() -> TextStyle<'static> {
    (FONT, 22).into_font().into()
}

pub(crate) fn label_font() -> (&'static str, u32) {
    (FONT, 14)
}

pub(crate) fn axis_font() -> (&'static str, u32) {
    (FONT, 16)
}

/// Writes "no data" in the middle of an empty plot.
pub fn no_data<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, title: &str) -> DrawResult<DB> {
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(title.to_string(), (20, 20), caption_style()))?;
    area.draw(&Text::new(
        "no jobs to show".to_string(),
        (w as i32 / 2 - 60, h as i32 / 2),
        (FONT, 18).into_font(),
    ))
}

pub(crate) fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> DrawResult<DB> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(label_font())
        .draw()
}

/// What drawing gives back: `T`, or the backend's error.
type Drawn<T, DB> = Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A chart whose x axis is time (in the unit of a [`TimeAxis`]).
type TimeChart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// The frame the plots over time share: bin positions on the time axis, and a chart over
/// them from 0 to `y_max` with its mesh drawn.
fn over_time_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    axis: TimeAxis,
    mid_s: &[f64],
    y_max: f64,
    y_desc: &str,
) -> Drawn<(Vec<f64>, TimeChart<'a, DB>), DB> {
    let xs: Vec<f64> = mid_s.iter().map(|&t| axis.at(t)).collect();
    let x_max = xs.last().copied().unwrap_or(1.0).max(xs[0] + 1e-9);
    let x_min = xs[0].min(0.0);
    let mut chart = ChartBuilder::on(area)
        .caption(title, caption_style())
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(x_min..x_max, 0f64..y_max)?;
    chart
        .configure_mesh()
        .x_desc(axis.label())
        .y_desc(y_desc)
        .label_style(label_font())
        .axis_desc_style(axis_font())
        .x_labels(10)
        .y_labels(8)
        .y_label_formatter(&|v| format!("{v:.0}"))
        .light_line_style(BLACK.mix(0.04))
        .draw()?;
    Ok((xs, chart))
}

/// A legend key: a short line in the series' style.
fn line_key(style: ShapeStyle) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style)
}

/// Utilization over time (time-weighted mean per bin).
pub struct UtilizationPlot<'a> {
    /// The binned series.
    pub binned: &'a Binned,
    /// The time axis.
    pub axis: TimeAxis,
}

impl Plot for UtilizationPlot<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let b = self.binned;
        let title = if b.has_gpus || b.has_mig {
            "Utilization over time: cores and GPUs"
        } else {
            "Processor utilization over time"
        };
        if b.mid_s.is_empty() {
            return no_data(area, title);
        }
        let (xs, mut chart) =
            over_time_chart(area, title, self.axis, &b.mid_s, 105.0, "utilization (%)")?;
        let points: Vec<(f64, f64)> = xs
            .iter()
            .zip(&b.utilization)
            .map(|(&x, &u)| (x, u * 100.0))
            .collect();
        chart.draw_series(AreaSeries::new(
            points.iter().copied(),
            0.0,
            COLORS[0].mix(0.25),
        ))?;
        let several = b.has_gpus || b.has_mig || b.has_outages;
        let cores = chart.draw_series(LineSeries::new(points, COLORS[0].stroke_width(2)))?;
        if !several {
            return Ok(());
        }
        cores
            .label("cores")
            .legend(line_key(COLORS[0].stroke_width(2)));
        for (on, values, label, color) in [
            (b.has_gpus, &b.gpu_utilization, "GPUs", COLORS[1]),
            (b.has_mig, &b.mig_utilization, "MIG slices", COLORS[2]),
        ] {
            if !on {
                continue;
            }
            let line: Vec<(f64, f64)> = xs
                .iter()
                .zip(values)
                .map(|(&x, &u)| (x, u * 100.0))
                .collect();
            chart
                .draw_series(LineSeries::new(line, color.stroke_width(2)))?
                .label(label)
                .legend(line_key(color.stroke_width(2)));
        }
        if b.has_outages {
            // Availability over time: what share of the nodes was in service.
            let in_service: Vec<(f64, f64)> = xs
                .iter()
                .zip(&b.nodes_in_service)
                .map(|(&x, &u)| (x, u * 100.0))
                .collect();
            chart
                .draw_series(LineSeries::new(in_service, COLORS[3].stroke_width(2)))?
                .label("nodes in service")
                .legend(line_key(COLORS[3].stroke_width(2)));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    }
}

/// Idle sessions' waste by hour of the day, in the cluster's scarcest resource they hold.
pub struct IdleByHourPlot {
    /// Per hour of the day, the idle resource-hours summed over the run.
    pub hours: Vec<f64>,
    /// The resource: "core", "GPU" or "MIG-slice".
    pub resource: &'static str,
}

impl Plot for IdleByHourPlot {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let title = format!("Idle sessions' {}-hours by hour of the day", self.resource);
        if self.hours.iter().all(|&h| h == 0.0) {
            return no_data(area, &title);
        }
        let y_max = self.hours.iter().copied().fold(0.0, f64::max) * 1.1;
        let mut chart = ChartBuilder::on(area)
            .caption(&title, caption_style())
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..24f64, 0f64..y_max)?;
        chart
            .configure_mesh()
            .x_desc("hour of the day (from the workload's origin)")
            .y_desc(format!("idle {}-hours, whole run", self.resource))
            .label_style(label_font())
            .axis_desc_style(axis_font())
            .x_labels(13)
            .y_labels(8)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .light_line_style(BLACK.mix(0.04))
            .draw()?;
        // One bar per hour.
        chart.draw_series(self.hours.iter().enumerate().map(|(h, &v)| {
            let x = h as f64;
            Rectangle::new([(x + 0.1, 0.0), (x + 0.9, v)], COLORS[3].mix(0.8).filled())
        }))?;
        Ok(())
    }
}

/// The controller's passes over the run: per time bin, the longest main and backfill pass.
pub struct CycleTimePlot<'a> {
    /// Middle of each bin, s.
    pub mid_s: &'a [f64],
    /// Per loop (label), the longest pass in each bin, ms (0 where none ran).
    pub lines: Vec<(&'static str, Vec<f64>)>,
    /// The time axis.
    pub axis: TimeAxis,
}

impl Plot for CycleTimePlot<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let title = "Controller cycle time over the run";
        let y_max = self
            .lines
            .iter()
            .flat_map(|l| l.1.iter().copied())
            .fold(0.0, f64::max);
        if self.mid_s.is_empty() || y_max <= 0.0 {
            return no_data(area, title);
        }
        let (xs, mut chart) = over_time_chart(
            area,
            title,
            self.axis,
            self.mid_s,
            y_max * 1.1,
            "longest pass in the bin (ms)",
        )?;
        for (k, (label, ys)) in self.lines.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            let line: Vec<(f64, f64)> = xs.iter().copied().zip(ys.iter().copied()).collect();
            chart
                .draw_series(LineSeries::new(line, color.stroke_width(2)))?
                .label(*label)
                .legend(line_key(color.stroke_width(2)));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    }
}

/// Submissions' acknowledgement latency against the rate they came at: one point per time
/// bin with submissions.
pub struct AckLatencyPlot {
    /// (submissions per second, mean acknowledgement latency in ms) per bin.
    pub points: Vec<(f64, f64)>,
}

impl Plot for AckLatencyPlot {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let title = "Acknowledgement latency against submission rate";
        if self.points.is_empty() {
            return no_data(area, title);
        }
        let x_max = self.points.iter().map(|p| p.0).fold(0.0, f64::max) * 1.1 + 1e-9;
        let y_max = self.points.iter().map(|p| p.1).fold(0.0, f64::max) * 1.1 + 1e-9;
        let mut chart = ChartBuilder::on(area)
            .caption(title, caption_style())
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
        chart
            .configure_mesh()
            .x_desc("submissions per second in the bin")
            .y_desc("mean acknowledgement latency (ms)")
            .label_style(label_font())
            .axis_desc_style(axis_font())
            .y_labels(8)
            .light_line_style(BLACK.mix(0.04))
            .draw()?;
        chart.draw_series(
            self.points
                .iter()
                .map(|&(x, y)| Circle::new((x, y), 3, COLORS[0].mix(0.6).filled())),
        )?;
        Ok(())
    }
}

/// Preemptions over time, by mode, per bin (the run's time bins).
pub struct PreemptionPlot<'a> {
    /// Middle of each bin, s.
    pub mid_s: &'a [f64],
    /// Per mode (label), preemptions in each bin.
    pub counts: Vec<(&'static str, Vec<u64>)>,
    /// The time axis.
    pub axis: TimeAxis,
}

impl Plot for PreemptionPlot<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let title = "Preemptions over time";
        let per_bin = |b: usize| self.counts.iter().map(|c| c.1[b]).sum::<u64>();
        if self.mid_s.is_empty() || (0..self.mid_s.len()).all(|b| per_bin(b) == 0) {
            return no_data(area, title);
        }
        let y_max = (0..self.mid_s.len()).map(per_bin).max().unwrap_or(1) as f64 * 1.1;
        let (xs, mut chart) = over_time_chart(
            area,
            title,
            self.axis,
            self.mid_s,
            y_max,
            "preemptions per bin",
        )?;
        let half = if xs.len() > 1 {
            (xs[1] - xs[0]) * 0.4
        } else {
            0.5
        };
        // Stacked bars: each mode on top of the ones before it.
        let mut base = vec![0u64; xs.len()];
        for (k, (label, counts)) in self.counts.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            let bars: Vec<_> = xs
                .iter()
                .zip(counts)
                .zip(&base)
                .filter(|((_, &c), _)| c > 0)
                .map(|((&x, &c), &b)| {
                    Rectangle::new(
                        [(x - half, b as f64), (x + half, (b + c) as f64)],
                        color.mix(0.8).filled(),
                    )
                })
                .collect();
            chart
                .draw_series(bars)?
                .label(*label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
            for (b, c) in base.iter_mut().zip(counts) {
                *b += c;
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .label_font(label_font())
            .draw()?;
        Ok(())
    }
}

/// Queue length over time.
pub struct QueuePlot<'a> {
    /// The binned series.
    pub binned: &'a Binned,
    /// The time axis.
    pub axis: TimeAxis,
}

impl Plot for QueuePlot<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let title = "Jobs waiting in the queue over time";
        let b = self.binned;
        if b.mid_s.is_empty() {
            return no_data(area, title);
        }
        let y_max = b.queued_peak.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.08;
        let (xs, mut chart) =
            over_time_chart(area, title, self.axis, &b.mid_s, y_max, "jobs waiting")?;
        let line =
            |values: Vec<f64>| -> Vec<(f64, f64)> { xs.iter().copied().zip(values).collect() };
        chart
            .draw_series(LineSeries::new(
                line(b.queued_peak.iter().map(|&q| q as f64).collect()),
                COLORS[1].mix(0.6).stroke_width(1),
            ))?
            .label("most waiting at once in the bin")
            .legend(line_key(COLORS[1].stroke_width(1)));
        chart
            .draw_series(LineSeries::new(
                line(b.queued.clone()),
                COLORS[0].stroke_width(2),
            ))?
            .label("mean waiting (all jobs)")
            .legend(line_key(COLORS[0].stroke_width(2)));
        if b.queued_interactive.iter().any(|&q| q > 0.0) {
            chart
                .draw_series(LineSeries::new(
                    line(b.queued_interactive.clone()),
                    COLORS[2].stroke_width(2),
                ))?
                .label("mean waiting (interactive)")
                .legend(line_key(COLORS[2].stroke_width(2)));
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}

/// One empirical distribution for [`CdfPlot`].
pub struct CdfSeries {
    /// Legend text.
    pub label: String,
    /// The values, sorted ascending.
    pub sorted: Vec<f64>,
    /// What the fractions are of: at least `sorted.len()`; more when some members have no
    /// value (sessions given up on before they started), so the line ends below 1.
    pub total: usize,
}

/// Empirical CDFs of waits (one line per class), on a logarithmic time axis.
pub struct CdfPlot {
    /// Title.
    pub title: String,
    /// X axis description.
    pub x_desc: String,
    /// The distributions.
    pub series: Vec<CdfSeries>,
    /// Y axis description.
    pub y_desc: String,
    /// A value to mark with a dashed vertical line (a target), s, and its legend text.
    pub marker: Option<(f64, String)>,
}

/// At most this many points per CDF line: enough for a smooth curve at plot resolution.
const CDF_POINTS: usize = 600;

/// Lower end of the logarithmic wait axis, s: waits shorter than this are drawn at it.
const CDF_MIN_S: f64 = 1.0;

impl Plot for CdfPlot {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let series: Vec<&CdfSeries> = self
            .series
            .iter()
            .filter(|s| !s.sorted.is_empty())
            .collect();
        if series.is_empty() {
            return no_data(area, &self.title);
        }
        let max = series
            .iter()
            .filter_map(|s| s.sorted.last().copied())
            .fold(10.0f64, f64::max);
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, caption_style())
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(
                (CDF_MIN_S..max * 1.2)
                    .log_scale()
                    .with_key_points(duration_ticks(max * 1.2)),
                0f64..1.02f64,
            )?;
        chart
            .configure_mesh()
            .x_desc(self.x_desc.as_str())
            .y_desc(self.y_desc.as_str())
            .label_style(label_font())
            .axis_desc_style(axis_font())
            .y_labels(6)
            .x_label_formatter(&|v| human_seconds(*v))
            .light_line_style(BLACK.mix(0.04))
            .draw()?;
        for (k, s) in series.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            let n = s.sorted.len();
            let total = s.total.max(n) as f64;
            let step = n.div_ceil(CDF_POINTS).max(1);
            let mut points: Vec<(f64, f64)> = Vec::with_capacity(n / step + 2);
            // Fraction of jobs at or below the axis' lower end, then one point per rank.
            let below = s.sorted.partition_point(|&v| v <= CDF_MIN_S);
            points.push((CDF_MIN_S, below as f64 / total));
            let mut i = below;
            while i < n {
                points.push((s.sorted[i], (i + 1) as f64 / total));
                i += step;
            }
            points.push((s.sorted[n - 1].max(CDF_MIN_S), n as f64 / total));
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))?
                .label(s.label.as_str())
                .legend(line_key(color.stroke_width(2)));
        }
        if let Some((at, label)) = &self.marker {
            let at = at.max(CDF_MIN_S);
            let style = BLACK.mix(0.6).stroke_width(1);
            chart
                .draw_series(DashedLineSeries::new([(at, 0.0), (at, 1.02)], 6, 4, style))?
                .label(label.as_str())
                .legend(line_key(style));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    }
}

/// Durations people think in, up to `max` seconds: the ticks of a logarithmic time axis.
fn duration_ticks(max: f64) -> Vec<f64> {
    const TICKS_S: [f64; 11] = [
        1.0,
        10.0,
        60.0,
        600.0,
        3_600.0,
        21_600.0,
        86_400.0,
        604_800.0,
        2_592_000.0,
        31_536_000.0,
        315_360_000.0,
    ];
    TICKS_S.iter().copied().filter(|&t| t <= max).collect()
}

/// A duration in seconds as a short label (`30 s`, `5 min`, `2 h`, `3 d`).
pub fn human_seconds(s: f64) -> String {
    let fmt = |v: f64, unit: &str| {
        if (v - v.round()).abs() < 1e-6 {
            format!("{v:.0} {unit}")
        } else {
            format!("{v:.1} {unit}")
        }
    };
    if s < 60.0 {
        fmt(s, "s")
    } else if s < 3_600.0 {
        fmt(s / 60.0, "min")
    } else if s < 86_400.0 {
        fmt(s / 3_600.0, "h")
    } else if s < 604_800.0 {
        fmt(s / 86_400.0, "d")
    } else if s < 2_592_000.0 {
        fmt(s / 604_800.0, "w")
    } else if s < 31_536_000.0 {
        fmt(s / 2_592_000.0, "mo")
    } else {
        fmt(s / 31_536_000.0, "y")
    }
}

/// Mean bounded slowdown by job size and runtime bins.
pub struct SlowdownHeatMap {
    /// Labels of the size bins (x).
    pub size_labels: Vec<String>,
    /// Labels of the runtime bins (y).
    pub runtime_labels: Vec<String>,
    /// `cells[size][runtime]`: (jobs, mean bounded slowdown).
    pub cells: Vec<Vec<(u64, f64)>>,
}

/// A colour on a viridis-like ramp, `t` in 0..=1.
pub fn ramp(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 5] = [
        (68, 1, 84),
        (59, 82, 139),
        (33, 145, 140),
        (94, 201, 98),
        (253, 231, 37),
    ];
    let t = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

impl Plot for SlowdownHeatMap {
    fn size(&self) -> (u32, u32) {
        (960, 520)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let title = "Mean bounded slowdown by job size and runtime";
        let max = self
            .cells
            .iter()
            .flatten()
            .filter(|c| c.0 > 0)
            .map(|c| c.1)
            .fold(1.0f64, f64::max);
        if self.cells.iter().flatten().all(|c| c.0 == 0) {
            return no_data(area, title);
        }
        let (plot_area, bar_area) = area.split_horizontally(area.dim_in_pixel().0 - 110);
        let nx = self.size_labels.len();
        let ny = self.runtime_labels.len();
        let mut chart = ChartBuilder::on(&plot_area)
            .caption(title, caption_style())
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(96)
            .build_cartesian_2d(0f64..nx as f64, 0f64..ny as f64)?;
        let sizes = self.size_labels.clone();
        let runtimes = self.runtime_labels.clone();
        let x_fmt = move |v: &f64| {
            let i = (v - 0.5).round();
            if (v - 0.5 - i).abs() < 1e-6 && i >= 0.0 {
                sizes.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        let y_fmt = move |v: &f64| {
            let i = (v - 0.5).round();
            if (v - 0.5 - i).abs() < 1e-6 && i >= 0.0 {
                runtimes.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("job size (processors)")
            .y_desc("runtime")
            .label_style(label_font())
            .axis_desc_style(axis_font())
            .x_labels(nx * 2 + 1)
            .y_labels(ny * 2 + 1)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .draw()?;
        let log_max = max.ln().max(1e-9);
        for (x, column) in self.cells.iter().enumerate() {
            for (y, &(jobs, mean)) in column.iter().enumerate() {
                let (x0, y0) = (x as f64, y as f64);
                if jobs == 0 {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(x0, y0), (x0 + 1.0, y0 + 1.0)],
                        RGBColor(240, 240, 240).filled(),
                    )))?;
                    continue;
                }
                let t = mean.ln() / log_max;
                let color = ramp(t);
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x0, y0), (x0 + 1.0, y0 + 1.0)],
                    color.filled(),
                )))?;
                let text_color = if t > 0.6 { BLACK } else { WHITE };
                let label = if mean < 10.0 {
                    format!("{mean:.1}")
                } else {
                    format!("{mean:.0}")
                };
                let style = TextStyle::from((FONT, 12).into_font())
                    .color(&text_color)
                    .pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Center,
                    ));
                chart.draw_series(std::iter::once(Text::new(
                    label,
                    (x0 + 0.5, y0 + 0.5),
                    style,
                )))?;
            }
        }
        // The colour scale, logarithmic like the cells.
        let mut bar = ChartBuilder::on(&bar_area)
            .margin_top(50)
            .margin_bottom(60)
            .margin_right(12)
            .y_label_area_size(52)
            .build_cartesian_2d(0f64..1f64, (1f64..max.max(1.0001)).log_scale())?;
        bar.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc("mean bounded slowdown")
            .label_style(label_font())
            .axis_desc_style((FONT, 13))
            .y_labels(6)
            .y_label_formatter(&|v| {
                if *v < 10.0 {
                    format!("{v:.1}")
                } else {
                    format!("{v:.0}")
                }
            })
            .draw()?;
        const STEPS: usize = 64;
        bar.draw_series((0..STEPS).map(|k| {
            let lo = (log_max * k as f64 / STEPS as f64).exp();
            let hi = (log_max * (k + 1) as f64 / STEPS as f64).exp();
            Rectangle::new(
                [(0.0, lo), (1.0, hi)],
                ramp(k as f64 / (STEPS - 1) as f64).filled(),
            )
        }))?;
        Ok(())
    }
}

/// One bar of the Gantt chart.
pub struct GanttBar {
    /// The job's number.
    pub job_id: u64,
    /// Submit, start and end, axis units.
    pub submit: f64,
    /// Start, axis units.
    pub start: f64,
    /// End, axis units.
    pub end: f64,
    /// Processors.
    pub procs: u32,
    /// Whether the job is interactive.
    pub interactive: bool,
}

/// A Gantt chart of the jobs running in a window: one row per job, its wait drawn thin
/// from submission to start, its run drawn thick.
pub struct GanttPlot {
    /// Title.
    pub title: String,
    /// The time axis.
    pub axis: TimeAxis,
    /// The window, axis units.
    pub window: (f64, f64),
    /// The bars, top to bottom.
    pub bars: Vec<GanttBar>,
}

impl Plot for GanttPlot {
    fn size(&self) -> (u32, u32) {
        (960, 620)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        if self.bars.is_empty() {
            return no_data(area, &self.title);
        }
        let n = self.bars.len();
        let (w0, w1) = (self.window.0, self.window.1.max(self.window.0 + 1e-9));
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, caption_style())
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(w0..w1, 0f64..n as f64)?;
        let ids: Vec<u64> = self.bars.iter().map(|b| b.job_id).collect();
        let y_fmt = move |v: &f64| {
            // Labels sit in the middle of each row; rows count from the top.
            let row = (v - 0.5).round();
            if (v - 0.5 - row).abs() < 1e-6 && row >= 0.0 && (row as usize) < ids.len() {
                format!("job {}", ids[ids.len() - 1 - row as usize])
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .x_desc(self.axis.label())
            .y_desc("")
            .label_style((FONT, 10))
            .axis_desc_style(axis_font())
            .x_labels(10)
            .y_labels(2 * n + 1)
            .y_label_formatter(&y_fmt)
            .disable_y_mesh()
            .light_line_style(BLACK.mix(0.04))
            .draw()?;
        let max_procs = self.bars.iter().map(|b| b.procs).max().unwrap_or(1).max(1);
        for (i, b) in self.bars.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let clip = |v: f64| v.clamp(w0, w1);
            if b.start > b.submit {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(clip(b.submit), y + 0.45), (clip(b.start), y + 0.55)],
                    BLACK.mix(0.35).filled(),
                )))?;
            }
            let base = if b.interactive { COLORS[2] } else { COLORS[0] };
            // Darker for wider jobs, so that size shows without a second axis.
            let shade =
                0.35 + 0.65 * (f64::from(b.procs).ln() / f64::from(max_procs).ln().max(1e-9));
            chart.draw_series(std::iter::once(Rectangle::new(
                [
                    (clip(b.start), y + 0.15),
                    (clip(b.end.max(b.start)), y + 0.85),
                ],
                base.mix(shade.clamp(0.35, 1.0)).filled(),
            )))?;
        }
        Ok(())
    }
}

/// Several runs side by side: one panel per metric, one bar per run.
pub struct RunsPlot {
    /// Run names, in order.
    pub runs: Vec<String>,
    /// Panels: (title with unit, one value per run).
    pub panels: Vec<(String, Vec<f64>)>,
}

impl Plot for RunsPlot {
    fn size(&self) -> (u32, u32) {
        (960, 640)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let (title_area, body) = area.split_vertically(40);
        title_area.draw(&Text::new(
            "Runs side by side".to_string(),
            (12, 8),
            caption_style(),
        ))?;
        let cols = 2;
        let rows = self.panels.len().div_ceil(cols).max(1);
        let panels = body.split_evenly((rows, cols));
        let names: Vec<String> = self.runs.iter().map(|r| shorten(r, 16)).collect();
        for (panel, (title, values)) in panels.iter().zip(&self.panels) {
            let top = values
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .fold(0.0f64, f64::max);
            let top = if top > 0.0 { top * 1.18 } else { 1.0 };
            let n = values.len().max(1);
            let mut chart = ChartBuilder::on(panel)
                .caption(title.as_str(), (FONT, 16))
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(56)
                .build_cartesian_2d(0f64..n as f64, 0f64..top)?;
            let names = names.clone();
            let x_fmt = move |v: &f64| {
                let i = (v - 0.5).round();
                if (v - 0.5 - i).abs() < 1e-6 && i >= 0.0 {
                    names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            };
            let y_fmt = move |v: &f64| {
                if top >= 10.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v:.1}")
                }
            };
            chart
                .configure_mesh()
                .disable_x_mesh()
                .label_style((FONT, 12))
                .x_labels(2 * n + 1)
                .y_labels(5)
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .light_line_style(BLACK.mix(0.04))
                .draw()?;
            for (i, &v) in values.iter().enumerate() {
                let color = COLORS[i % COLORS.len()];
                let x0 = i as f64;
                let height = if v.is_finite() { v } else { 0.0 };
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x0 + 0.15, 0.0), (x0 + 0.85, height)],
                    color.filled(),
                )))?;
                let label = if !v.is_finite() {
                    "n/a".to_string()
                } else if v >= 100.0 {
                    format!("{v:.0}")
                } else if v >= 10.0 {
                    format!("{v:.1}")
                } else {
                    format!("{v:.2}")
                };
                let style = TextStyle::from((FONT, 12).into_font()).pos(
                    plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Bottom,
                    ),
                );
                chart.draw_series(std::iter::once(Text::new(
                    label,
                    (x0 + 0.5, height + top * 0.02),
                    style,
                )))?;
            }
        }
        Ok(())
    }
}

/// `s` cut to at most `max` characters, with an ellipsis when cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human_seconds(1.0), "1 s");
        assert_eq!(human_seconds(90.0), "1.5 min");
        assert_eq!(human_seconds(3_600.0), "1 h");
        assert_eq!(human_seconds(2.0 * 86_400.0), "2 d");
    }

    #[test]
    fn ramp_runs_from_dark_to_bright() {
        assert_eq!(ramp(0.0), RGBColor(68, 1, 84));
        assert_eq!(ramp(1.0), RGBColor(253, 231, 37));
        assert_eq!(shorten("conservative-backfilling", 8), "conserv…");
    }
}
