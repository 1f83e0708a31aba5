//! Oversubscribed interactive nodes (a partition's `oversubscribe = K`): what sessions
//! feel when their busy periods overlap on the same physical cores.
//!
//! **The model.** A node of an oversubscribed pool offers `K × cores` cores to sessions; a
//! session holds its cores for its whole run, but uses them only while its user is busy
//! (its activity timeline, [`crate::workload::activity`]). At each instant a node's busy
//! demand `D` is the sum of the cores of the running sessions on it whose users are busy.
//! While `D ≤ C` (its physical cores) every busy session runs at full speed; while
//! `D > C` the busy sessions share the `C` cores in proportion to their demand, so each
//! runs `D / C` times slower. Sessions are user-paced: a session still ends when its user
//! leaves (its length is the user's, not the work's), so contention changes no event and
//! no schedule; it is what the users feel, and is reported:
//!
//! - a session's *busy slowdown* = its busy time weighted by `max(1, D / C)` over its busy
//!   time, on every oversubscribed node it holds (1: never contended);
//! - `slowdown_mean` = `∫ D dt / ∫ min(D, C) dt` over the pool's nodes: how much longer the
//!   busy work demanded took to serve;
//! - the busy and contended core-hours (contended: demanded while `D > C`).
//!
//! Integer arithmetic: spans in ms, demand in cores, integrals in core-ms (u128); floats
//! only in the final ratios, summed in node and time order.

use super::nearest_rank;
use crate::simulation::RunResult;
use crate::workload::activity::Timeline;
use crate::workload::{JobKind, Workload};
use serde::Serialize;

/// What oversubscription did (`summary.json` `metrics.oversubscription`, present when
/// some partition oversubscribes its cores).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct OversubscriptionMetrics {
    /// Sessions that ran on oversubscribed nodes.
    pub sessions: u64,
    /// Of them, sessions whose users were busy at some instant when their node's busy
    /// demand exceeded its cores.
    pub sessions_slowed: u64,
    /// Core-hours that busy users demanded on oversubscribed nodes.
    pub busy_core_hours: f64,
    /// Of them, demanded while the node's busy demand exceeded its physical cores.
    pub contended_core_hours: f64,
    /// Busy core-hours demanded over busy core-hours served (≥ 1; 1 without contention).
    pub slowdown_mean: f64,
    /// The 95th percentile (nearest rank) of the sessions' busy slowdowns.
    pub slowdown_p95: f64,
    /// The largest session busy slowdown.
    pub slowdown_max: f64,
    /// The most busy demand a node saw, per physical core.
    pub peak_demand_per_core: f64,
}

/// The metrics and each job's busy slowdown (`None`: not a session on an oversubscribed
/// node, or never busy there).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Contention {
    /// The run's totals.
    pub metrics: OversubscriptionMetrics,
    /// Per job, its busy slowdown.
    pub busy_slowdown: Vec<Option<f64>>,
}

/// One session's busy span on one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct BusySpan {
    node: u32,
    from_ms: u64,
    to_ms: u64,
    job: u32,
    cores: u32,
}

/// The contention on the run's oversubscribed nodes; `None` when no node is oversubscribed.
pub fn compute(workload: &Workload, result: &RunResult) -> Option<Contention> {
    let nw = workload.nodes.as_deref()?;
    let oversubscribed = |n: u32| {
        let t = nw.cluster.type_of(n);
        t.cores > t.physical_cores
    };
    if nw
        .cluster
        .types()
        .iter()
        .all(|t| t.cores == t.physical_cores)
    {
        return None;
    }
    let jobs = workload.jobs.len();
    let mut spans: Vec<BusySpan> = Vec::new();
    let mut on_pool = vec![false; jobs];
    for s in &result.segments {
        let i = s.job.get();
        let j = &workload.jobs[i];
        if j.kind != JobKind::Interactive {
            continue;
        }
        let first = result.start[i];
        let timeline = Timeline::of(nw, i, j);
        for &n in result.nodes_of(s).iter().filter(|&&n| oversubscribed(n)) {
            on_pool[i] = true;
            let cores = nw.requests[i].taken(nw.cluster.type_of(n)).cores;
            timeline.busy_spans_in(
                s.start.saturating_since(first).as_ms(),
                s.end.saturating_since(first).as_ms(),
                |a, b| {
                    spans.push(BusySpan {
                        node: n,
                        from_ms: first.as_ms() + a,
                        to_ms: first.as_ms() + b,
                        job: i as u32,
                        cores,
                    })
                },
            );
        }
    }
    spans.sort_unstable();
    let mut m = OversubscriptionMetrics {
        sessions: on_pool.iter().filter(|&&b| b).count() as u64,
        ..Default::default()
    };
    // Per job: Σ over its spans of ∫ max(1, D / C) dt (ms) and of its busy time (ms).
    let mut weighted_ms = vec![0f64; jobs];
    let mut busy_ms = vec![0u64; jobs];
    let mut contended = vec![false; jobs];
    let (mut demanded, mut served, mut contended_demand) = (0u128, 0u128, 0u128);
    for group in spans.chunk_by(|a, b| a.node == b.node) {
        let c = u64::from(nw.cluster.type_of(group[0].node).physical_cores);
        let steps = demand_steps(group);
        for w in steps.windows(2) {
            let (t, d) = (w[0].0, w[0].1);
            let len = u128::from(w[1].0 - t);
            demanded += u128::from(d) * len;
            served += u128::from(d.min(c)) * len;
            if d > c {
                contended_demand += u128::from(d) * len;
            }
            m.peak_demand_per_core = m.peak_demand_per_core.max(d as f64 / c as f64);
        }
        // ∫ max(C, D) dt from the first step to each step, core-ms.
        let mut stretched = Vec::with_capacity(steps.len());
        let mut acc = 0u128;
        for (k, &(t, d)) in steps.iter().enumerate() {
            stretched.push(acc);
            if let Some(&(next, _)) = steps.get(k + 1) {
                acc += u128::from(d.max(c)) * u128::from(next - t);
            }
        }
        let at = |t: u64| stretched[steps.partition_point(|s| s.0 < t)];
        for s in group {
            let i = s.job as usize;
            let area = at(s.to_ms) - at(s.from_ms);
            weighted_ms[i] += area as f64 / c as f64;
            busy_ms[i] += s.to_ms - s.from_ms;
            contended[i] |= area > u128::from(c) * u128::from(s.to_ms - s.from_ms);
        }
    }
    let core_hours = |core_ms: u128| core_ms as f64 / 3_600_000.0;
    m.busy_core_hours = core_hours(demanded);
    m.contended_core_hours = core_hours(contended_demand);
    m.slowdown_mean = if served == 0 {
        1.0
    } else {
        demanded as f64 / served as f64
    };
    m.sessions_slowed = contended.iter().filter(|&&b| b).count() as u64;
    let busy_slowdown: Vec<Option<f64>> = (0..jobs)
        .map(|i| (busy_ms[i] > 0).then(|| (weighted_ms[i] / busy_ms[i] as f64).max(1.0)))
        .collect();
    let mut sorted: Vec<f64> = busy_slowdown.iter().flatten().copied().collect();
    sorted.sort_by(f64::total_cmp);
    if !sorted.is_empty() {
        m.slowdown_p95 = nearest_rank(&sorted, 95.0);
        m.slowdown_max = sorted[sorted.len() - 1];
    }
    Some(Contention {
        metrics: m,
        busy_slowdown,
    })
}

/// A node's busy demand as steps `(from_ms, cores)`, each lasting to the next step's time;
/// the last step (demand 0) ends the node's busy time.
fn demand_steps(spans: &[BusySpan]) -> Vec<(u64, u64)> {
    let mut changes: Vec<(u64, i64)> = Vec::with_capacity(2 * spans.len());
    for s in spans {
        changes.push((s.from_ms, i64::from(s.cores)));
        changes.push((s.to_ms, -i64::from(s.cores)));
    }
    changes.sort_unstable();
    let mut steps: Vec<(u64, u64)> = Vec::new();
    let mut demand = 0i64;
    for group in changes.chunk_by(|a, b| a.0 == b.0) {
        demand += group.iter().map(|c| c.1).sum::<i64>();
        steps.push((group[0].0, demand as u64));
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demand_steps_merge_changes_at_one_instant() {
        let span = |from_ms, to_ms, cores| BusySpan {
            node: 0,
            from_ms,
            to_ms,
            job: 0,
            cores,
        };
        let steps = demand_steps(&[span(0, 100, 4), span(50, 150, 4), span(100, 200, 2)]);
        assert_eq!(steps, vec![(0, 4), (50, 8), (100, 6), (150, 2), (200, 0)]);
    }
}
