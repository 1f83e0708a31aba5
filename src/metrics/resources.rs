//! Node-level metrics: utilization of each resource (cores, memory, GPUs, MIG slices), per
//! partition, and GPU fragmentation.
//!
//! Definitions (makespan as in the module above):
//! - utilization of a resource = Σ over jobs of (amount taken × run) / (capacity ×
//!   makespan − what nodes down held of it × their time down); an exclusive job takes its
//!   nodes whole;
//! - a partition's utilization counts its jobs against the capacity of its node types;
//! - GPU fragmentation = the share of the cluster's GPU-time (GPUs × makespan) during which
//!   GPUs sat idle while some waiting job asked, in all, for no more whole GPUs than were
//!   idle: GPUs free in total but not where a waiting job could use them (or held back for
//!   a reservation);
//! - sessions' held resource-hours = Σ over interactive jobs of amount taken × run, and
//!   their idle part (the waste) Σ amount × the time its segments held while its user was
//!   idle, by its activity timeline ([`crate::workload::activity`]: drawn busy and idle
//!   periods, or `idle_fraction` as one idle tail — for a session run once to completion,
//!   amount × run × the idle share);
//! - what the idle culler reclaimed = Σ over the sessions it ended of amount × the running
//!   time each had left before it would have stopped by itself.

use crate::cluster::nodes::NodeFree;
use crate::engine::time::SimTime;
use crate::lifecycle::{CullReason, UserPresence};
use crate::simulation::RunResult;
use crate::workload::activity::Timeline;
use crate::workload::{JobKind, Workload};
use serde::Serialize;
use std::collections::BTreeSet;

/// Totals of one resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ResourceUse {
    /// What the cluster has.
    pub capacity: u64,
    /// Busy share over the makespan, 0 to 1.
    pub utilization: f64,
}

/// One partition's metrics.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PartitionMetrics {
    /// The partition's name.
    pub name: String,
    /// Jobs that ran in it.
    pub jobs: u64,
    /// Their mean wait, s.
    pub wait_mean_s: f64,
    /// Its cores' utilization.
    pub cores_utilization: f64,
    /// Its GPUs' utilization (0 without GPUs).
    pub gpus_utilization: f64,
    /// Its MIG slices' utilization (0 without MIG).
    pub mig_slices_utilization: f64,
}

/// The node-level metrics of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ResourceMetrics {
    /// Nodes in the cluster.
    pub nodes: u64,
    /// Cores.
    pub cores: ResourceUse,
    /// Memory, MB.
    pub memory_mb: ResourceUse,
    /// Whole GPUs (GPUs split by MIG are counted as slices instead).
    pub gpus: ResourceUse,
    /// MIG slices.
    pub mig_slices: ResourceUse,
    /// Share of GPU-time idle while a waiting job's whole-GPU request would have fit in the
    /// idle count.
    pub gpu_fragmentation: f64,
    /// Per partition, in the scenario's order.
    pub partitions: Vec<PartitionMetrics>,
    /// Interactive sessions: what they held and how much of it sat idle.
    pub sessions: SessionMetrics,
}

/// What interactive sessions held over their runs, and the idle part of it (each
/// session's holding × its idle share).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SessionMetrics {
    /// Sessions run.
    pub jobs: u64,
    /// Core-hours held.
    pub held_core_hours: f64,
    /// Core-hours held while idle.
    pub idle_core_hours: f64,
    /// GPU-hours held (whole GPUs).
    pub held_gpu_hours: f64,
    /// GPU-hours held while idle.
    pub idle_gpu_hours: f64,
    /// MIG-slice-hours held.
    pub held_mig_slice_hours: f64,
    /// MIG-slice-hours held while idle.
    pub idle_mig_slice_hours: f64,
}

/// What the idle culler did: the sessions it ended, why, where their users were, and the
/// resource-hours it gave back (what they would still have held).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CullerMetrics {
    /// Sessions ended by the culler (outcome `cancelled`).
    pub sessions_culled: u64,
    /// Of which, idle for the timeout.
    pub culled_idle: u64,
    /// Of which, at `max_age` (and not idle for the timeout).
    pub culled_max_age: u64,
    /// Culled while their user was away: a busy period would have begun before the
    /// session's natural end.
    pub culled_user_away: u64,
    /// Culled while their user was gone: idle to the session's natural end.
    pub culled_user_gone: u64,
    /// Culled while busy (by `max_age` only).
    pub culled_user_active: u64,
    /// Core-hours reclaimed.
    pub reclaimed_core_hours: f64,
    /// GPU-hours reclaimed (whole GPUs).
    pub reclaimed_gpu_hours: f64,
    /// MIG-slice-hours reclaimed.
    pub reclaimed_mig_slice_hours: f64,
}

/// The culler's metrics; `None` when it was off.
pub fn culler(workload: &Workload, result: &RunResult) -> Option<CullerMetrics> {
    let culls = result.culls.as_ref()?;
    let mut m = CullerMetrics::default();
    // In the order of the culls: f64 sums taken in one fixed order.
    for c in culls {
        m.sessions_culled += 1;
        match c.reason {
            CullReason::Idle => m.culled_idle += 1,
            CullReason::MaxAge => m.culled_max_age += 1,
        }
        match c.user {
            UserPresence::Away => m.culled_user_away += 1,
            UserPresence::Gone => m.culled_user_gone += 1,
            UserPresence::Active => m.culled_user_active += 1,
        }
        let hours = c.reclaimed_ms as f64 / 3_600_000.0;
        let [cores, _, gpus, slices] = job_totals(workload, result, c.job.get());
        m.reclaimed_core_hours += cores as f64 * hours;
        m.reclaimed_gpu_hours += gpus as f64 * hours;
        m.reclaimed_mig_slice_hours += slices as f64 * hours;
    }
    Some(m)
}

/// What job `i` took in its last segment, summed over its nodes.
pub fn job_totals(workload: &Workload, result: &RunResult, i: usize) -> [u64; 4] {
    totals_on(workload, i, result.last_nodes(i))
}

/// What job `i` takes on `nodes`, summed over them (cores, memory MB, GPUs, MIG slices).
pub fn totals_on(workload: &Workload, i: usize, nodes: &[u32]) -> [u64; 4] {
    let Some(nw) = &workload.nodes else {
        return [u64::from(workload.jobs[i].procs), 0, 0, 0];
    };
    let mut t = [0u64; 4];
    for &n in nodes {
        let take: NodeFree = nw.requests[i].taken(nw.cluster.type_of(n));
        t[0] += u64::from(take.cores);
        t[1] += take.memory_mb;
        t[2] += u64::from(take.gpus);
        t[3] += u64::from(take.mig_slices);
    }
    t
}

/// The node-level metrics, for a node-level workload.
/// `down_ms` gives each node's time down within the makespan (empty without failures):
/// utilization is over the capacity that was up.
pub fn compute(
    workload: &Workload,
    result: &RunResult,
    makespan_ms: u64,
    down_ms: &[u64],
) -> Option<ResourceMetrics> {
    let nw = workload.nodes.as_ref()?;
    let types = nw.cluster.types();
    // Per node type: each resource's amount × time down.
    let mut down_by_type = vec![[0u128; 4]; types.len()];
    for (n, &ms) in down_ms.iter().enumerate() {
        let ti = nw.cluster.type_index(n as u32);
        let cap = types[ti].capacity();
        let amounts = [
            u64::from(cap.cores),
            cap.memory_mb,
            u64::from(cap.gpus),
            u64::from(cap.mig_slices),
        ];
        for r in 0..4 {
            down_by_type[ti][r] += u128::from(amounts[r]) * u128::from(ms);
        }
    }
    let down_of = |mask: u64| -> [u128; 4] {
        let mut d = [0u128; 4];
        for (ti, down) in down_by_type.iter().enumerate() {
            if ti < 64 && mask & (1 << ti) == 0 {
                continue;
            }
            for r in 0..4 {
                d[r] += down[r];
            }
        }
        d
    };
    let capacity_of = |mask: u64| -> [u64; 4] {
        let mut c = [0u64; 4];
        for (ti, t) in types.iter().enumerate() {
            if ti < 64 && mask & (1 << ti) == 0 {
                continue;
            }
            let n = u64::from(t.count);
            c[0] += n * u64::from(t.cores);
            c[1] += n * t.memory_mb;
            c[2] += n * u64::from(t.gpus);
            c[3] += n * u64::from(t.mig_slices);
        }
        c
    };
    let capacity = capacity_of(u64::MAX);
    let totals: Vec<[u64; 4]> = (0..workload.jobs.len())
        .map(|i| job_totals(workload, result, i))
        .collect();
    let share = |area: u128, cap: u64, down: u128| {
        let denom = (u128::from(cap) * u128::from(makespan_ms)).saturating_sub(down);
        if denom == 0 {
            0.0
        } else {
            area as f64 / denom as f64
        }
    };
    let np = nw.partitions.len();
    let mut area = [0u128; 4];
    let mut part_area = vec![[0u128; 4]; np];
    let mut part_jobs = vec![0u64; np];
    let mut part_wait_ms = vec![0u128; np];
    let mut part_mask = vec![0u64; np];
    for s in &result.segments {
        let i = s.job.get();
        let totals = totals_on(workload, i, result.nodes_of(s));
        let run = u128::from(s.end.saturating_since(s.start).as_ms());
        let p = nw.partition_of[i] as usize;
        for r in 0..4 {
            area[r] += u128::from(totals[r]) * run;
            part_area[p][r] += u128::from(totals[r]) * run;
        }
    }
    for (i, j) in workload.jobs.iter().enumerate() {
        if !result.started(i) {
            continue;
        }
        let p = nw.partition_of[i] as usize;
        part_jobs[p] += 1;
        part_wait_ms[p] += u128::from(result.start[i].saturating_since(j.submit).as_ms());
        part_mask[p] |= nw.requests[i].allowed_types;
    }
    // The time each session's segments held while its user was idle (its timeline is
    // measured from its first start).
    let mut idle_ms = vec![0u64; workload.jobs.len()];
    for s in &result.segments {
        let i = s.job.get();
        let j = &workload.jobs[i];
        if j.kind != JobKind::Interactive {
            continue;
        }
        let first = result.start[i];
        idle_ms[i] += Timeline::of(nw, i, j).idle_ms_in(
            s.start.saturating_since(first).as_ms(),
            s.end.saturating_since(first).as_ms(),
        );
    }
    // Sessions, in job order: f64 sums taken in one fixed order.
    let mut sessions = SessionMetrics::default();
    for (i, j) in workload.jobs.iter().enumerate() {
        if j.kind != JobKind::Interactive {
            continue;
        }
        let hours = result.run_time(i).as_ms() as f64 / 3_600_000.0;
        let idle_hours = idle_ms[i] as f64 / 3_600_000.0;
        let [cores, _, gpus, slices] = totals[i];
        sessions.jobs += 1;
        for (amount, held, idle_sum) in [
            (
                cores,
                &mut sessions.held_core_hours,
                &mut sessions.idle_core_hours,
            ),
            (
                gpus,
                &mut sessions.held_gpu_hours,
                &mut sessions.idle_gpu_hours,
            ),
            (
                slices,
                &mut sessions.held_mig_slice_hours,
                &mut sessions.idle_mig_slice_hours,
            ),
        ] {
            *held += amount as f64 * hours;
            *idle_sum += amount as f64 * idle_hours;
        }
    }
    let partitions = (0..np)
        .map(|p| {
            let cap = capacity_of(part_mask[p]);
            let down = down_of(part_mask[p]);
            PartitionMetrics {
                name: nw.partitions[p].clone(),
                jobs: part_jobs[p],
                wait_mean_s: if part_jobs[p] == 0 {
                    0.0
                } else {
                    part_wait_ms[p] as f64 / 1000.0 / part_jobs[p] as f64
                },
                cores_utilization: share(part_area[p][0], cap[0], down[0]),
                gpus_utilization: share(part_area[p][2], cap[2], down[2]),
                mig_slices_utilization: share(part_area[p][3], cap[3], down[3]),
            }
        })
        .collect();
    // Resource r: 0 cores, 1 memory, 2 GPUs, 3 MIG slices.
    let down = down_of(u64::MAX);
    let use_of = |r: usize| ResourceUse {
        capacity: capacity[r],
        utilization: share(area[r], capacity[r], down[r]),
    };
    Some(ResourceMetrics {
        nodes: nw.cluster.len() as u64,
        cores: use_of(0),
        memory_mb: use_of(1),
        gpus: use_of(2),
        mig_slices: use_of(3),
        gpu_fragmentation: gpu_fragmentation(workload, result, capacity[2], makespan_ms),
        partitions,
        sessions,
    })
}

/// See the module docs.
fn gpu_fragmentation(workload: &Workload, result: &RunResult, gpus: u64, makespan_ms: u64) -> f64 {
    let Some(nw) = &workload.nodes else {
        return 0.0;
    };
    if gpus == 0 || makespan_ms == 0 {
        return 0.0;
    }
    // (time, order, job): ends, then submissions, then starts (a job submitted and started
    // at one instant must be added before it is removed); the interval after an instant
    // sees the state after all its changes.
    // A job waits from its submission to its first start (or its end, if it never
    // started); each segment holds its GPUs from its start to its end.
    let mut events: Vec<(SimTime, u8, usize, u64)> = Vec::new();
    let mut asks = vec![0u64; workload.jobs.len()];
    for (i, j) in workload.jobs.iter().enumerate() {
        let r = &nw.requests[i];
        asks[i] = u64::from(r.nodes) * u64::from(r.gpus_per_node);
        if asks[i] == 0 {
            continue;
        }
        events.push((j.submit, 1, i, 0));
        events.push((result.start[i], 2, i, 0));
    }
    for s in &result.segments {
        let i = s.job.get();
        if asks[i] == 0 {
            continue;
        }
        let took = totals_on(workload, i, result.nodes_of(s))[2];
        events.push((s.start, 3, i, took));
        events.push((s.end, 0, i, took));
    }
    events.sort_unstable();
    let mut waiting: BTreeSet<(u64, usize)> = BTreeSet::new();
    let mut busy = 0u64;
    let mut idle_ms: u128 = 0;
    for k in 0..events.len() {
        let (t, kind, i, took) = events[k];
        match kind {
            0 => busy = busy.saturating_sub(took),
            1 => {
                waiting.insert((asks[i], i));
            }
            2 => {
                waiting.remove(&(asks[i], i));
            }
            _ => busy += took,
        }
        let next = events.get(k + 1).map_or(t, |e| e.0);
        let idle = gpus.saturating_sub(busy);
        if let Some(&(smallest, _)) = waiting.first() {
            if smallest <= idle {
                idle_ms += u128::from(idle) * u128::from(next.saturating_since(t).as_ms());
            }
        }
    }
    idle_ms as f64 / (u128::from(gpus) * u128::from(makespan_ms)) as f64
}

/// Idle sessions' waste by hour of the day: per hour (0 to 23, from the workload's origin,
/// which is the hour 0 of generated daily cycles), the core-, GPU- and MIG-slice-hours that
/// running sessions held while their users were idle, summed over the run. Each segment is
/// cut at the hour boundaries and each piece's idle time taken from the session's timeline,
/// as the totals in [`SessionMetrics`] are. Empty for workloads of processors anywhere.
pub fn idle_by_hour_of_day(workload: &Workload, result: &RunResult) -> Vec<[f64; 3]> {
    const HOUR_MS: u64 = 3_600_000;
    let Some(nw) = workload.nodes.as_ref() else {
        return Vec::new();
    };
    let mut idle_ms = vec![[0u128; 3]; 24];
    for s in &result.segments {
        let i = s.job.get();
        let j = &workload.jobs[i];
        if j.kind != JobKind::Interactive || s.end <= s.start {
            continue;
        }
        let timeline = Timeline::of(nw, i, j);
        let first = result.start[i].as_ms();
        let [cores, _, gpus, slices] = totals_on(workload, i, result.nodes_of(s));
        let mut at = s.start.as_ms();
        while at < s.end.as_ms() {
            let hour_end = (at / HOUR_MS + 1) * HOUR_MS;
            let to = hour_end.min(s.end.as_ms());
            let idle = u128::from(timeline.idle_ms_in(at - first, to - first));
            let hour = ((at / HOUR_MS) % 24) as usize;
            for (r, amount) in [cores, gpus, slices].into_iter().enumerate() {
                idle_ms[hour][r] += u128::from(amount) * idle;
            }
            at = to;
        }
    }
    idle_ms
        .iter()
        .map(|h| h.map(|ms| ms as f64 / HOUR_MS as f64))
        .collect()
}
