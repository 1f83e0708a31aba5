//! The run as a time series: the state of the machine and the queue after every instant at
//! which it changed, plus samples at a fixed step (`timeseries.parquet`), and time-weighted
//! averages over bins for the plots.
//!
//! The series is computed from the finished schedule (submit, start and end of every job),
//! not recorded by the engine: the engine stays free of reporting concerns, and the series
//! is exact because between two changes nothing changes.

use crate::cluster::nodes::NodeState;
use crate::engine::time::SimTime;
use crate::lifecycle::{Outcome, SegmentEnd};
use crate::simulation::RunResult;
use crate::workload::{JobKind, Workload};

/// The state after each change, column by column (times in ms).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimeSeries {
    /// The instant, ms.
    pub time_ms: Vec<u64>,
    /// Processors busy.
    pub busy_procs: Vec<u64>,
    /// Jobs running.
    pub running_jobs: Vec<u64>,
    /// Jobs submitted and not yet started.
    pub queued_jobs: Vec<u64>,
    /// Interactive jobs submitted and not yet started.
    pub queued_interactive: Vec<u64>,
    /// Whether the row is at a multiple of the sampling step (a change at such an instant
    /// is that step's sample; no instant appears twice).
    pub step_sample: Vec<bool>,
    /// Memory in use, MB (node-level workloads; 0 otherwise).
    pub busy_memory_mb: Vec<u64>,
    /// Whole GPUs in use (node-level workloads).
    pub busy_gpus: Vec<u64>,
    /// MIG slices in use (node-level workloads).
    pub busy_mig_slices: Vec<u64>,
    /// Processors (cores) of the machine.
    pub machine_procs: u64,
    /// Whole GPUs of the cluster (0 without).
    pub machine_gpus: u64,
    /// MIG slices of the cluster (0 without).
    pub machine_mig_slices: u64,
    /// Nodes down (failed, in repair; 0 without node failures).
    pub nodes_down: Vec<u64>,
    /// Nodes of the cluster (0 for processors anywhere).
    pub machine_nodes: u64,
}

/// One change: the instant and what it adds to each counter.
#[derive(Clone, Copy)]
struct Delta {
    time_ms: u64,
    /// Cores, memory MB, GPUs, MIG slices.
    busy: [i64; 4],
    running: i64,
    queued: i64,
    queued_interactive: i64,
    nodes_down: i64,
}

/// The counters after a change.
#[derive(Clone, Copy, Default)]
struct State {
    busy: [i64; 4],
    running: i64,
    queued: i64,
    queued_interactive: i64,
    nodes_down: i64,
}

/// The most fixed-step samples a series holds: a wider span widens the step to the
/// smallest whole number of seconds that keeps within it (a trace with one job of a
/// thousand years would otherwise ask for gigabytes of hourly rows).
pub const MAX_STEP_SAMPLES: u64 = 1_000_000;

/// `step_ms`, or the smallest multiple of a second that keeps the samples between the first
/// and the last change within [`MAX_STEP_SAMPLES`].
fn widened_step_ms(step_ms: u64, sorted: &[Delta]) -> u64 {
    let (Some(first), Some(last)) = (sorted.first(), sorted.last()) else {
        return step_ms;
    };
    let span_ms = last.time_ms - first.time_ms;
    // Samples at the step's multiples from the first change to the last: at most
    // span / step + 1 of them.
    if step_ms == 0 || span_ms / step_ms < MAX_STEP_SAMPLES {
        return step_ms;
    }
    step_ms.max(span_ms.div_ceil(MAX_STEP_SAMPLES - 1).div_ceil(1000) * 1000)
}

impl TimeSeries {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.time_ms.len()
    }

    /// Whether there are no rows (a workload with no jobs).
    pub fn is_empty(&self) -> bool {
        self.time_ms.is_empty()
    }

    /// Utilization (busy / machine processors) of row `i`, 0 to 1.
    pub fn utilization(&self, i: usize) -> f64 {
        self.busy_procs[i] as f64 / self.machine_procs.max(1) as f64
    }

    /// GPU utilization of row `i`, 0 to 1 (0 without GPUs).
    pub fn gpu_utilization(&self, i: usize) -> f64 {
        if self.machine_gpus == 0 {
            0.0
        } else {
            self.busy_gpus[i] as f64 / self.machine_gpus as f64
        }
    }

    /// MIG slice utilization of row `i`, 0 to 1 (0 without MIG).
    pub fn mig_utilization(&self, i: usize) -> f64 {
        if self.machine_mig_slices == 0 {
            0.0
        } else {
            self.busy_mig_slices[i] as f64 / self.machine_mig_slices as f64
        }
    }

    /// Builds the series of a finished run, with samples every `step_ms` (0: no samples)
    /// at the multiples of the step from the first change to the last; the step is widened
    /// (see [`MAX_STEP_SAMPLES`]) when it would give more samples than that.
    pub fn from_run(workload: &Workload, result: &RunResult, step_ms: u64) -> TimeSeries {
        let mut deltas: Vec<Delta> = Vec::with_capacity(workload.jobs.len() * 3);
        let queue_change = |time: SimTime, i: usize, sign: i64| Delta {
            time_ms: time.as_ms(),
            busy: [0; 4],
            running: 0,
            queued: sign,
            queued_interactive: sign * i64::from(workload.jobs[i].kind == JobKind::Interactive),
            nodes_down: 0,
        };
        // A job is queued from its submission to its first start, and again from each
        // requeue to its next start; a job that leaves the queue without starting (again)
        // is queued until its end.
        let mut queued = vec![true; workload.jobs.len()];
        for (i, job) in workload.jobs.iter().enumerate() {
            deltas.push(queue_change(job.submit, i, 1));
        }
        for (k, s) in result.segments.iter().enumerate() {
            let i = s.job.get();
            if std::mem::replace(&mut queued[i], false) {
                deltas.push(queue_change(s.start, i, -1));
            }
            // Each segment holds its share while it runs; a suspended one keeps its memory
            // until it is released.
            let took = crate::metrics::resources::totals_on(workload, i, result.nodes_of(s))
                .map(|v| i64::try_from(v).unwrap_or(i64::MAX));
            let kept = [0, took[1], 0, 0];
            deltas.push(Delta {
                time_ms: s.start.as_ms(),
                busy: took,
                running: 1,
                queued: 0,
                queued_interactive: 0,
                nodes_down: 0,
            });
            deltas.push(Delta {
                time_ms: s.end.as_ms(),
                busy: if s.released > s.end {
                    [-took[0], 0, -took[2], -took[3]]
                } else {
                    took.map(|v| -v)
                },
                running: -1,
                queued: 0,
                queued_interactive: 0,
                nodes_down: 0,
            });
            if s.released > s.end {
                deltas.push(Delta {
                    time_ms: s.released.as_ms(),
                    busy: kept.map(|v| -v),
                    running: 0,
                    queued: 0,
                    queued_interactive: 0,
                    nodes_down: 0,
                });
            }
            // A segment a node failure ended was requeued unless it was the job's end.
            let log = &result.log[i];
            let final_failure = log.outcome == Outcome::Failed
                && log.last_segment.is_some_and(|last| last as usize == k);
            if s.ended == SegmentEnd::Requeued || (s.ended == SegmentEnd::Failed && !final_failure)
            {
                queued[i] = true;
                deltas.push(queue_change(s.released, i, 1));
            }
        }
        for (i, &still) in queued.iter().enumerate() {
            if still {
                deltas.push(queue_change(result.end[i], i, -1));
            }
        }
        for c in &result.node_changes {
            deltas.push(Delta {
                time_ms: c.at.as_ms(),
                busy: [0; 4],
                running: 0,
                queued: 0,
                queued_interactive: 0,
                nodes_down: if c.state == NodeState::Down { 1 } else { -1 },
            });
        }
        // The sum of the deltas at one instant does not depend on their order, so an
        // unstable sort cannot change the output.
        deltas.sort_unstable_by_key(|d| d.time_ms);

        let (gpus, mig) = match &workload.nodes {
            Some(nw) => nw.cluster.types().iter().fold((0u64, 0u64), |(g, m), t| {
                (
                    g + u64::from(t.count) * u64::from(t.gpus),
                    m + u64::from(t.count) * u64::from(t.mig_slices),
                )
            }),
            None => (0, 0),
        };
        let mut series = TimeSeries {
            machine_procs: u64::from(workload.machine_procs),
            machine_gpus: gpus,
            machine_mig_slices: mig,
            machine_nodes: workload
                .nodes
                .as_ref()
                .map_or(0, |nw| nw.cluster.len() as u64),
            ..TimeSeries::default()
        };
        let mut state = State::default();
        let step_ms = widened_step_ms(step_ms, &deltas);
        let mut next_step: Option<u64> = match (step_ms, deltas.first()) {
            (0, _) | (_, None) => None,
            (step, Some(first)) => Some(first.time_ms.div_ceil(step) * step),
        };
        let mut k = 0;
        while k < deltas.len() {
            let t = deltas[k].time_ms;
            // Samples strictly before this change see the state of the previous one.
            while let Some(s) = next_step.filter(|&s| s < t) {
                series.push(s, &state, true);
                next_step = Some(s + step_ms);
            }
            while k < deltas.len() && deltas[k].time_ms == t {
                let d = deltas[k];
                for r in 0..4 {
                    state.busy[r] += d.busy[r];
                }
                state.running += d.running;
                state.queued += d.queued;
                state.queued_interactive += d.queued_interactive;
                state.nodes_down += d.nodes_down;
                k += 1;
            }
            let on_step = next_step == Some(t);
            if on_step {
                next_step = Some(t + step_ms);
            }
            series.push(t, &state, on_step);
        }
        series
    }

    fn push(&mut self, t: u64, state: &State, step: bool) {
        // The counters are sums of +/− pairs in time order, so they never go negative;
        // clamp rather than wrap if a broken schedule ever got here.
        let c = |v: i64| v.max(0) as u64;
        self.time_ms.push(t);
        self.busy_procs.push(c(state.busy[0]));
        self.busy_memory_mb.push(c(state.busy[1]));
        self.busy_gpus.push(c(state.busy[2]));
        self.busy_mig_slices.push(c(state.busy[3]));
        self.running_jobs.push(c(state.running));
        self.queued_jobs.push(c(state.queued));
        self.queued_interactive.push(c(state.queued_interactive));
        self.nodes_down.push(c(state.nodes_down));
        self.step_sample.push(step);
    }

    /// Time-weighted means over `bins` equal bins between the first and the last row.
    pub fn binned(&self, bins: usize) -> Binned {
        let mut out = Binned {
            has_gpus: self.machine_gpus > 0,
            has_mig: self.machine_mig_slices > 0,
            has_outages: self.nodes_down.iter().any(|&d| d > 0),
            ..Binned::default()
        };
        if self.len() < 2 || bins == 0 {
            return out;
        }
        let t0 = self.time_ms[0];
        let t1 = *self.time_ms.last().unwrap_or(&t0);
        let width = ((t1 - t0) as f64 / bins as f64).max(1.0);
        let mut acc = vec![[0.0f64; 7]; bins];
        let mut peak_queued = vec![0u64; bins];
        for i in 0..self.len() - 1 {
            // Row i holds from its instant to the next row's.
            let (a, b) = (
                (self.time_ms[i] - t0) as f64,
                (self.time_ms[i + 1] - t0) as f64,
            );
            let values = [
                self.utilization(i),
                self.running_jobs[i] as f64,
                self.queued_jobs[i] as f64,
                self.queued_interactive[i] as f64,
                self.gpu_utilization(i),
                self.mig_utilization(i),
                1.0 - self.nodes_down[i] as f64 / self.machine_nodes.max(1) as f64,
            ];
            let first = ((a / width) as usize).min(bins - 1);
            let last = ((b / width) as usize).min(bins - 1);
            for (bin, bin_acc) in acc.iter_mut().enumerate().take(last + 1).skip(first) {
                let lo = a.max(bin as f64 * width);
                let hi = b.min((bin + 1) as f64 * width);
                if hi > lo {
                    for (slot, v) in bin_acc.iter_mut().zip(values) {
                        *slot += v * (hi - lo);
                    }
                }
                peak_queued[bin] = peak_queued[bin].max(self.queued_jobs[i]);
            }
        }
        for (bin, sums) in acc.iter().enumerate() {
            out.mid_s
                .push((t0 as f64 + (bin as f64 + 0.5) * width) / 1000.0);
            out.utilization.push(sums[0] / width);
            out.running.push(sums[1] / width);
            out.queued.push(sums[2] / width);
            out.queued_interactive.push(sums[3] / width);
            out.gpu_utilization.push(sums[4] / width);
            out.mig_utilization.push(sums[5] / width);
            out.nodes_in_service.push(sums[6] / width);
            out.queued_peak.push(peak_queued[bin]);
        }
        out
    }
}

/// Time-weighted means per bin.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Binned {
    /// Middle of each bin, s.
    pub mid_s: Vec<f64>,
    /// Mean utilization, 0 to 1.
    pub utilization: Vec<f64>,
    /// Mean running jobs.
    pub running: Vec<f64>,
    /// Mean queued jobs.
    pub queued: Vec<f64>,
    /// Mean queued interactive jobs.
    pub queued_interactive: Vec<f64>,
    /// Most jobs queued at once in the bin.
    pub queued_peak: Vec<u64>,
    /// Mean GPU utilization (empty or zeros without GPUs).
    pub gpu_utilization: Vec<f64>,
    /// Mean MIG slice utilization.
    pub mig_utilization: Vec<f64>,
    /// Whether the cluster has whole GPUs.
    pub has_gpus: bool,
    /// Whether the cluster has MIG slices.
    pub has_mig: bool,
    /// Mean share of the nodes in service (1 without node failures).
    pub nodes_in_service: Vec<f64>,
    /// Whether any node was ever down.
    pub has_outages: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::{SimDuration, SimTime};
    use crate::workload::job::Job;

    fn job(id: u64, submit_s: u64, procs: u32, kind: JobKind) -> Job {
        Job {
            trace_id: id,
            submit: SimTime::from_secs(submit_s),
            work: SimDuration::from_secs(10),
            estimate: SimDuration::from_secs(10),
            procs,
            kind,
            user: -1,
            group: -1,
            queue: -1,
            partition: -1,
        }
    }

    fn workload(jobs: Vec<Job>, machine_procs: u32) -> Workload {
        Workload {
            jobs,
            machine_procs,
            ..Workload::default()
        }
    }

    fn result(start_s: &[u64], end_s: &[u64]) -> RunResult {
        RunResult::ran_once(
            &start_s
                .iter()
                .map(|&s| SimTime::from_secs(s))
                .collect::<Vec<_>>(),
            &end_s
                .iter()
                .map(|&s| SimTime::from_secs(s))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn series_follows_the_schedule_with_samples_between_changes() {
        let workload = workload(
            vec![
                job(1, 0, 4, JobKind::Batch),
                job(2, 0, 4, JobKind::Interactive),
            ],
            4,
        );
        // Job 1 runs 0–10 s, job 2 waits and runs 10–20 s.
        let result = result(&[0, 10], &[10, 20]);
        let s = TimeSeries::from_run(&workload, &result, 4_000);
        assert_eq!(
            s.time_ms,
            vec![0, 4_000, 8_000, 10_000, 12_000, 16_000, 20_000]
        );
        assert_eq!(s.busy_procs, vec![4, 4, 4, 4, 4, 4, 0]);
        assert_eq!(s.running_jobs, vec![1, 1, 1, 1, 1, 1, 0]);
        assert_eq!(s.queued_jobs, vec![1, 1, 1, 0, 0, 0, 0]);
        assert_eq!(s.queued_interactive, vec![1, 1, 1, 0, 0, 0, 0]);
        assert_eq!(
            s.step_sample,
            vec![true, true, true, false, true, true, true]
        );
        let b = s.binned(2);
        assert_eq!(b.mid_s, vec![5.0, 15.0]);
        assert_eq!(b.utilization, vec![1.0, 1.0]);
        assert_eq!(b.queued, vec![1.0, 0.0]);
        assert_eq!(b.queued_peak, vec![1, 1]);
    }

    #[test]
    fn a_span_too_long_for_the_step_widens_it() {
        // One job of ten million hours: hourly samples would be ten million rows.
        let workload = workload(vec![job(1, 0, 2, JobKind::Batch)], 4);
        let end_s = 36_000_000_000;
        let far = result(&[0], &[end_s]);
        let s = TimeSeries::from_run(&workload, &far, 3_600_000);
        let samples = s.step_sample.iter().filter(|&&on| on).count() as u64;
        assert!(samples <= MAX_STEP_SAMPLES, "{samples} samples");
        assert!(samples > MAX_STEP_SAMPLES * 99 / 100, "{samples} samples");
        // The widened step is a whole number of seconds: ⌈36e9 s / 999,999⌉ = 36,001 s.
        assert_eq!(s.time_ms[1], 36_001_000);
        // A step that already fits is kept.
        let s = TimeSeries::from_run(&workload, &result(&[0], &[36_000]), 3_600_000);
        assert_eq!(s.time_ms.len(), 11);
    }

    #[test]
    fn without_a_step_only_changes_are_rows() {
        let workload = workload(vec![job(1, 5, 2, JobKind::Batch)], 4);
        let result = result(&[5], &[15]);
        let s = TimeSeries::from_run(&workload, &result, 0);
        assert_eq!(s.time_ms, vec![5_000, 15_000]);
        assert_eq!(s.busy_procs, vec![2, 0]);
        assert!((s.utilization(0) - 0.5).abs() < 1e-12);
        assert_eq!(s.step_sample, vec![false, false]);
    }
}
