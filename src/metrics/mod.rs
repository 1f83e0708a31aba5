//! Metrics computed from a finished run.
//!
//! Definitions (all times in seconds):
//! - wait = first start − submit; response = end − submit; run = time running, over all
//!   the job's segments (end − start for a job that ran once); jobs that never started
//!   (cancelled or abandoned while waiting) are counted by outcome, not in these;
//! - bounded slowdown = max(1, (wait + run) / max(run, τ)), τ = 10 s by default;
//! - slowdown = (wait + run) / run, over jobs with run > 0 only (it is undefined otherwise);
//! - utilization = Σ over segments of size × length / (machine processors × (last end −
//!   first submit));
//! - makespan = last end − first submit;
//! - a session's time to start = its first start − its submit + its start-up latency; a
//!   session is on target if it started with a time to start at most the target (default
//!   60 s); the share on target is over every session requested, so one
//!   given up on (`abandoned`) or never started counts as missed;
//! - percentiles use the nearest-rank method: the p-th percentile of n sorted values is
//!   the value at rank ⌈p/100 × n⌉ (1-based), so it is always one of the observed values.

pub mod contention;
pub mod resources;

use crate::cluster::nodes::NodeState;
use crate::cluster::spec::PreemptMode;
use crate::engine::time::{SimDuration, SimTime};
use crate::lifecycle::{Outcome, SegmentEnd};
use crate::simulation::RunResult;
use crate::workload::{JobKind, Workload};
use serde::Serialize;
use std::collections::BTreeMap;

/// Statistics of one class of jobs.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ClassMetrics {
    /// Jobs in the class.
    pub jobs: u64,
    /// Mean wait, s.
    pub wait_mean_s: f64,
    /// Median wait, s.
    pub wait_p50_s: f64,
    /// 95th percentile wait, s.
    pub wait_p95_s: f64,
    /// 99th percentile wait, s.
    pub wait_p99_s: f64,
    /// Longest wait, s.
    pub wait_max_s: f64,
    /// Mean bounded slowdown.
    pub bsld_mean: f64,
    /// 95th percentile bounded slowdown.
    pub bsld_p95: f64,
    /// Largest bounded slowdown.
    pub bsld_max: f64,
    /// Mean (unbounded) slowdown over jobs with run > 0.
    pub slowdown_mean: f64,
    /// Mean response time (end − submit), s.
    pub response_mean_s: f64,
}

/// How jobs' lives went: outcomes, segments, suspensions and requeues.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LifecycleMetrics {
    /// Jobs by outcome (every outcome listed, in a fixed order).
    pub outcomes: BTreeMap<&'static str, u64>,
    /// Segments run (one per job when nothing suspends or requeues).
    pub segments: u64,
    /// Requeues.
    pub requeues: u64,
    /// Time jobs spent suspended, s.
    pub suspended_s: f64,
    /// Work lost to requeues and failures, s (at rate 1).
    pub work_lost_s: f64,
    /// Useful work over resource time: Σ over completed jobs of work × processors, over Σ
    /// over all segments of length × processors (1 when every job completes at rate 1
    /// without checkpoints; lower with lost work, checkpoints, slow segments, timeouts).
    pub goodput: f64,
}

/// How fast interactive jobs (sessions) started, against a target.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SessionStartMetrics {
    /// Sessions requested (interactive jobs submitted).
    pub requests: u64,
    /// Sessions that started.
    pub started: u64,
    /// Sessions their users gave up on before they started (outcome `abandoned`).
    pub abandoned: u64,
    /// `abandoned / requests` (0 without requests).
    pub abandoned_share: f64,
    /// Sessions stopped at their time limit.
    pub timeouts: u64,
    /// Median time to start of the sessions that started, s.
    pub time_to_start_p50_s: f64,
    /// 95th percentile time to start, s.
    pub time_to_start_p95_s: f64,
    /// 99th percentile time to start, s.
    pub time_to_start_p99_s: f64,
    /// Longest time to start, s.
    pub time_to_start_max_s: f64,
    /// The target, s.
    pub target_s: f64,
    /// Share of the sessions requested that started within the target (0 without
    /// requests).
    pub on_target_share: f64,
}

/// What node failures cost (all zero without failures). Outages count within the run
/// (first submission to last end); an outage still under way at the end counts up to it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FailureMetrics {
    /// Nodes that went down within the run.
    pub node_failures: u64,
    /// Node-hours the nodes were down.
    pub node_hours_down: f64,
    /// GPU-hours of the nodes down (whole GPUs).
    pub gpu_hours_down: f64,
    /// MIG-slice-hours of the nodes down.
    pub mig_slice_hours_down: f64,
    /// Share of node-time the nodes were up (1 without failures).
    pub availability: f64,
    /// Jobs a failure hit (running or suspended on a node that went down), once each.
    pub jobs_hit: u64,
    /// Times a failure requeued a job.
    pub requeued: u64,
    /// Jobs that ended `failed`.
    pub jobs_failed: u64,
    /// Work lost to failures, s at rate 1: what a job had done since its last checkpoint
    /// (or its last fresh start).
    pub work_lost_s: f64,
    /// Node-hours that jobs spent on work a failure threw away.
    pub node_hours_lost: f64,
    /// GPU-hours (whole GPUs) that jobs spent on work a failure threw away.
    pub gpu_hours_lost: f64,
}

/// What the metrics are computed with.
#[derive(Clone, Copy, Debug)]
pub struct MetricOptions {
    /// Bounded-slowdown threshold τ.
    pub bsld_tau: SimDuration,
    /// The time to start within which a session is on target.
    pub session_start_target: SimDuration,
}

/// The summary of a run's schedule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScheduleMetrics {
    /// Last end − first submit, s.
    pub makespan_s: f64,
    /// Processor utilization over the makespan (0 to 1).
    pub utilization: f64,
    /// Jobs stopped at their time limit (outcome `timeout`; with `--kill-at-walltime`).
    pub killed_jobs: u64,
    /// Outcomes, segments and what suspensions and requeues cost.
    pub lifecycle: LifecycleMetrics,
    /// All simulated jobs.
    pub all: ClassMetrics,
    /// Interactive jobs only.
    pub interactive: ClassMetrics,
    /// Batch jobs only.
    pub batch: ClassMetrics,
    /// Interactive jobs as sessions: how fast they started, how many were given up on.
    pub session_start: SessionStartMetrics,
    /// The same per generator class of interactive jobs (node-level workloads), by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub session_start_by_class: BTreeMap<String, SessionStartMetrics>,
    /// Node-level workloads: each resource's utilization, per partition, GPU fragmentation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<resources::ResourceMetrics>,
    /// Runs with node failures: what they cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<FailureMetrics>,
    /// The idle culler's sessions ended and resource-hours reclaimed, when it was on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub culler: Option<resources::CullerMetrics>,
    /// Runs with the rate model on (`[rates]`): what GPU speed and the fabric did. Set by
    /// [`crate::run::run`], which holds the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rates: Option<crate::rates::RateMetrics>,
    /// Runs with `[credits]`: each account's charges and overage. Set by
    /// [`crate::run::run`], which holds the prices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credits: Option<crate::credits::CreditMetrics>,
    /// Runs with per-user QOS limits: the sessions they rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qos: Option<QosMetrics>,
    /// Runs with a class limiting its jobs' leaf switches (`switches`): how many got it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub switches: Option<SwitchMetrics>,
    /// Runs where some partition's jobs may be preempted: what preemption cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preemption: Option<PreemptionMetrics>,
    /// Runs with a shared file system (`[filesystem]`): staging time, busy time, stagers.
    /// Set by [`crate::run::run`], which holds the settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<crate::filesystem::FileSystemMetrics>,
    /// Runs with an oversubscribed interactive pool (`oversubscribe` > 1): how much its
    /// sessions' busy periods slowed each other.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oversubscription: Option<contention::OversubscriptionMetrics>,
    /// Runs where a pool suspends idle sessions (dynamic backfill): what that did and cost
    /// returning users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic_backfill: Option<IdleSuspensionMetrics>,
    /// Runs with a `[controller]`: its loops' cycles, depths and starts, in the style of
    /// Slurm's `sdiag`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<crate::controller::ControllerMetrics>,
}

/// Jobs of classes with a leaf-switch limit (Slurm's `--switches`), by whether their first
/// start was within it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SwitchMetrics {
    /// Jobs with a limit that started.
    pub jobs: u64,
    /// Of them, started on nodes within their limit.
    pub within_limit: u64,
    /// Started on more leaves, once their wait had passed.
    pub beyond_limit: u64,
}

/// See [`SwitchMetrics`]; `None` when no class has a limit.
fn switch_metrics(workload: &Workload, result: &RunResult) -> Option<SwitchMetrics> {
    let nw = workload.nodes.as_deref()?;
    if nw.class_switches.is_empty() {
        return None;
    }
    let mut m = SwitchMetrics::default();
    // Each job's first segment (segments are in start order).
    let mut first_segment: Vec<Option<usize>> = vec![None; result.log.len()];
    for (k, seg) in result.segments.iter().enumerate() {
        first_segment[seg.job.get()].get_or_insert(k);
    }
    for (i, first) in first_segment.iter().enumerate() {
        let (Some(limit), Some(k)) = (nw.switch_limit_of(i), *first) else {
            continue;
        };
        let first = &result.segments[k];
        let leaves: std::collections::BTreeSet<u32> = result
            .nodes_of(first)
            .iter()
            .map(|&n| nw.cluster.leaf_of(n))
            .collect();
        m.jobs += 1;
        if leaves.len() as u32 <= limit.leaves {
            m.within_limit += 1;
        } else {
            m.beyond_limit += 1;
        }
    }
    Some(m)
}

/// What preemption did and cost (runs where a partition's `preempt_mode` is not `off`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PreemptionMetrics {
    /// Preemptions (a job preempted twice counts twice).
    pub preemptions: u64,
    /// By mode: suspended.
    pub suspended: u64,
    /// Requeued.
    pub requeued: u64,
    /// Cancelled.
    pub cancelled: u64,
    /// Distinct jobs preempted at least once.
    pub jobs_preempted: u64,
    /// Distinct jobs that started by preempting.
    pub jobs_started_by_preemption: u64,
    /// Work the victims lost, s at rate 1 (since their last checkpoint when requeued, all
    /// of it when cancelled).
    pub work_lost_s: f64,
    /// Time jobs spent suspended, s (victims and idle sessions alike).
    pub suspended_s: f64,
}

/// Sessions suspended while their users were idle, to let waiting jobs start, and what it
/// cost their users when they came back.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct IdleSuspensionMetrics {
    /// Suspensions of idle sessions (a session suspended twice counts twice).
    pub suspended: u64,
    /// Distinct jobs started by suspending idle sessions.
    pub jobs_started: u64,
    /// Time idle sessions spent suspended, s.
    pub suspended_s: f64,
    /// Core-hours the suspensions freed (cores × time suspended).
    pub freed_core_hours: f64,
    /// GPU-hours the suspensions freed (whole GPUs × time suspended).
    pub freed_gpu_hours: f64,
    /// Suspensions whose user came back while the session was suspended.
    pub users_back: u64,
    /// Of them, resumed at the instant their user came back.
    pub resumed_at_once: u64,
    /// How long a returning user waited for their session, s: mean and max over the users
    /// who came back (to the resumption, or the session's end or requeue).
    pub resume_wait_mean_s: f64,
    /// The longest such wait, s.
    pub resume_wait_max_s: f64,
    /// Sessions that ended while suspended: their users left without coming back.
    pub ended_suspended: u64,
}

/// See [`PreemptionMetrics`]; `None` when preemption was off.
fn preemption_metrics(workload: &Workload, result: &RunResult) -> Option<PreemptionMetrics> {
    let nw = workload.nodes.as_deref()?;
    if nw.partition_preemption.is_empty() {
        return None;
    }
    let seconds = |ms: u64| SimDuration::from_ms(ms).as_secs_f64();
    let p = &result.preemptions;
    let count = |m: PreemptMode| p.iter().filter(|x| x.mode == m).count() as u64;
    let distinct = |of: &dyn Fn(&crate::lifecycle::Preemption) -> u32| {
        p.iter()
            .map(of)
            .collect::<std::collections::BTreeSet<u32>>()
            .len() as u64
    };
    Some(PreemptionMetrics {
        preemptions: p.len() as u64,
        suspended: count(PreemptMode::Suspend),
        requeued: count(PreemptMode::Requeue),
        cancelled: count(PreemptMode::Cancel),
        jobs_preempted: distinct(&|x| x.victim.0),
        jobs_started_by_preemption: distinct(&|x| x.by.0),
        work_lost_s: seconds(p.iter().map(|x| x.work_lost.as_ms()).sum()),
        // Only preemption and dynamic backfill suspend jobs.
        suspended_s: seconds(result.log.iter().map(|l| l.suspended.as_ms()).sum()),
    })
}

/// See [`IdleSuspensionMetrics`]; `None` unless a pool suspends idle sessions.
fn idle_suspension_metrics(
    workload: &Workload,
    result: &RunResult,
) -> Option<IdleSuspensionMetrics> {
    let nw = workload.nodes.as_deref()?;
    if !nw
        .partition_preemption
        .iter()
        .any(|p| p.suspend_idle_after_ms.is_some())
    {
        return None;
    }
    let seconds = |ms: u64| SimDuration::from_ms(ms).as_secs_f64();
    let mut m = IdleSuspensionMetrics::default();
    let mut suspended_ms = 0u64;
    let (mut core_ms, mut gpu_ms) = (0u128, 0u128);
    let mut waits_ms: Vec<u64> = Vec::new();
    // Each suspension's segment: the one of its session that ended then, held beyond.
    let sessions: std::collections::BTreeSet<crate::workload::JobIdx> =
        result.idle_suspensions.iter().map(|p| p.session).collect();
    let held: BTreeMap<(crate::workload::JobIdx, SimTime), usize> = result
        .segments
        .iter()
        .enumerate()
        .filter(|(_, s)| s.released > s.end && sessions.contains(&s.job))
        .map(|(k, s)| ((s.job, s.end), k))
        .collect();
    for p in &result.idle_suspensions {
        let i = p.session.get();
        let seg = held.get(&(p.session, p.at)).map(|&k| &result.segments[k]);
        let released = seg.map_or(p.at, |s| s.released);
        let held_ms = released.saturating_since(p.at).as_ms();
        suspended_ms += held_ms;
        if let Some(s) = seg {
            let [cores, _, gpus, _] = resources::totals_on(workload, i, result.nodes_of(s));
            core_ms += u128::from(cores) * u128::from(held_ms);
            gpu_ms += u128::from(gpus) * u128::from(held_ms);
            if s.ended == crate::lifecycle::SegmentEnd::Completed {
                m.ended_suspended += 1;
            }
        }
        m.suspended += 1;
        if let Some(back) = p.user_back {
            m.users_back += 1;
            let until = p.resumed.unwrap_or(released);
            if until == back {
                m.resumed_at_once += 1;
            }
            waits_ms.push(until.saturating_since(back).as_ms());
        }
    }
    m.jobs_started = result
        .idle_suspensions
        .iter()
        .map(|p| p.by.0)
        .collect::<std::collections::BTreeSet<u32>>()
        .len() as u64;
    m.suspended_s = seconds(suspended_ms);
    m.freed_core_hours = core_ms as f64 / 3_600_000.0;
    m.freed_gpu_hours = gpu_ms as f64 / 3_600_000.0;
    if !waits_ms.is_empty() {
        m.resume_wait_mean_s = seconds(waits_ms.iter().sum::<u64>()) / waits_ms.len() as f64;
        m.resume_wait_max_s = seconds(waits_ms.iter().copied().max().unwrap_or(0));
    }
    Some(m)
}

/// Sessions rejected at submission by per-user QOS limits, by the limit they would have
/// passed (each also counts as a request that never started in `session_start`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct QosMetrics {
    /// Sessions rejected.
    pub rejected: u64,
    /// By `max_sessions_per_user`.
    pub by_sessions: u64,
    /// By `max_cores_per_user`.
    pub by_cores: u64,
    /// By `max_gpus_per_user`.
    pub by_gpus: u64,
    /// By a spent credit (`[credits] when_exhausted = "deny"`).
    pub by_credit: u64,
}

/// Computes the schedule's metrics.
pub fn compute(
    workload: &Workload,
    result: &RunResult,
    options: &MetricOptions,
) -> ScheduleMetrics {
    let bsld_tau = options.bsld_tau;
    let jobs = &workload.jobs;
    let first_submit = jobs.iter().map(|j| j.submit).min().unwrap_or(SimTime::ZERO);
    let last_end = result.end.iter().copied().max().unwrap_or(SimTime::ZERO);
    let makespan = last_end.saturating_since(first_submit);
    // Integer processor-milliseconds: exact, and u128 cannot overflow.
    let area: u128 = result
        .segments
        .iter()
        .map(|s| {
            u128::from(jobs[s.job.get()].procs)
                * u128::from(s.end.saturating_since(s.start).as_ms())
        })
        .sum();
    // The capacity that was up: processors × makespan, less the cores of nodes while down.
    let down_ms = down_ms_by_node(workload, result, first_submit, last_end);
    let cores_down: u128 = match workload.nodes.as_deref() {
        Some(nw) => down_ms
            .iter()
            .enumerate()
            .map(|(n, &ms)| u128::from(nw.cluster.type_of(n as u32).cores) * u128::from(ms))
            .sum(),
        None => 0,
    };
    let capacity = (u128::from(workload.machine_procs) * u128::from(makespan.as_ms()))
        .saturating_sub(cores_down);
    let utilization = if capacity == 0 {
        0.0
    } else {
        area as f64 / capacity as f64
    };
    let class = |filter: &dyn Fn(JobKind) -> bool| {
        let mut waits = Vec::new();
        let mut bslds = Vec::new();
        let mut slowdown_sum = 0f64;
        let mut slowdown_n = 0u64;
        let mut response_sum = 0f64;
        for (i, j) in jobs.iter().enumerate() {
            // Jobs that never started (cancelled or abandoned while waiting) have no wait or
            // slowdown; they are counted by outcome.
            if !filter(j.kind) || !result.started(i) {
                continue;
            }
            let wait = result.start[i].saturating_since(j.submit);
            let run = result.run_time(i);
            // Suspended time and waits after a requeue are part of the response.
            let response = result.end[i].saturating_since(j.submit);
            waits.push(wait.as_ms());
            let bsld = (response.as_secs_f64() / run.max(bsld_tau).as_secs_f64()).max(1.0);
            bslds.push(bsld);
            if run > SimDuration::ZERO {
                slowdown_sum += response.as_secs_f64() / run.as_secs_f64();
                slowdown_n += 1;
            }
            response_sum += response.as_secs_f64();
        }
        class_metrics(waits, bslds, slowdown_sum, slowdown_n, response_sum)
    };
    let count = |o: Outcome| result.log.iter().filter(|l| l.outcome == o).count() as u64;
    let seconds = |ms: u64| SimDuration::from_ms(ms).as_secs_f64();
    ScheduleMetrics {
        makespan_s: makespan.as_secs_f64(),
        utilization,
        killed_jobs: count(Outcome::Timeout),
        lifecycle: LifecycleMetrics {
            outcomes: Outcome::ALL
                .iter()
                .map(|&o| (o.as_str(), count(o)))
                .collect(),
            segments: result.segments.len() as u64,
            requeues: result.log.iter().map(|l| u64::from(l.requeues)).sum(),
            suspended_s: seconds(result.log.iter().map(|l| l.suspended.as_ms()).sum()),
            work_lost_s: seconds(result.log.iter().map(|l| l.work_lost.as_ms()).sum()),
            goodput: goodput(workload, result, area),
        },
        all: class(&|_| true),
        interactive: class(&|k| k == JobKind::Interactive),
        batch: class(&|k| k == JobKind::Batch),
        session_start: session_start(workload, result, options.session_start_target, &|_| true),
        session_start_by_class: session_start_by_class(
            workload,
            result,
            options.session_start_target,
        ),
        resources: resources::compute(workload, result, makespan.as_ms(), &down_ms),
        failures: failure_metrics(workload, result, &down_ms, (first_submit, last_end)),
        culler: resources::culler(workload, result),
        rates: None,
        credits: None,
        filesystem: None,
        qos: result.rejected.as_ref().map(|rejected| {
            let count = |l: crate::lifecycle::QosLimit| {
                rejected.iter().filter(|r| r.limit == l).count() as u64
            };
            QosMetrics {
                rejected: rejected.len() as u64,
                by_sessions: count(crate::lifecycle::QosLimit::Sessions),
                by_cores: count(crate::lifecycle::QosLimit::Cores),
                by_gpus: count(crate::lifecycle::QosLimit::Gpus),
                by_credit: count(crate::lifecycle::QosLimit::Credit),
            }
        }),
        preemption: preemption_metrics(workload, result),
        switches: switch_metrics(workload, result),
        oversubscription: contention::compute(workload, result).map(|c| c.metrics),
        dynamic_backfill: idle_suspension_metrics(workload, result),
        controller: result.cycles.as_ref().map(|cycles| {
            let submits: Vec<SimTime> = workload.jobs.iter().map(|j| j.submit).collect();
            let starts: Vec<Option<SimTime>> = (0..workload.jobs.len())
                .map(|i| result.started(i).then(|| result.start[i]))
                .collect();
            // Per outage, the processor-time busy within it.
            let busy_core_ms: Vec<u128> = result
                .outages
                .iter()
                .map(|o| {
                    result
                        .segments
                        .iter()
                        .map(|seg| {
                            let from = seg.start.max(o.down);
                            let to = seg.end.min(o.serving);
                            u128::from(to.saturating_since(from).as_ms())
                                * u128::from(jobs[seg.job.get()].procs)
                        })
                        .sum()
                })
                .collect();
            crate::controller::metrics(&crate::controller::ControllerRecord {
                outages: &result.outages,
                busy_core_ms: &busy_core_ms,
                capacity_cores: u64::from(workload.machine_procs),
                cycles,
                launches_dropped: result.launches_dropped,
                backfill_deferred: result.backfill_deferred,
                longest_backlog: result.longest_backlog,
                submits: &submits,
                acknowledged: &result.acknowledged,
                first_considered: &result.first_considered,
                starts: &starts,
            })
        }),
    }
}

/// See [`LifecycleMetrics::goodput`]; `area` is Σ over segments of length × processors.
fn goodput(workload: &Workload, result: &RunResult, area: u128) -> f64 {
    let useful: u128 = workload
        .jobs
        .iter()
        .zip(&result.log)
        .filter(|(_, l)| l.outcome == Outcome::Completed)
        .map(|(j, _)| u128::from(j.procs) * u128::from(j.work.as_ms()))
        .sum();
    if area == 0 {
        1.0
    } else {
        useful as f64 / area as f64
    }
}

/// Per node, how long it was down within `[from, to)`, ms (empty without failures).
pub fn down_ms_by_node(
    workload: &Workload,
    result: &RunResult,
    from: SimTime,
    to: SimTime,
) -> Vec<u64> {
    let Some(nw) = workload.nodes.as_deref() else {
        return Vec::new();
    };
    if result.node_changes.is_empty() {
        return Vec::new();
    }
    let mut down_since: Vec<Option<SimTime>> = vec![None; nw.cluster.len()];
    let mut down_ms = vec![0u64; nw.cluster.len()];
    let clipped = |a: SimTime, b: SimTime| b.min(to).saturating_since(a.max(from)).as_ms();
    for c in &result.node_changes {
        let n = c.node as usize;
        match c.state {
            NodeState::Down => down_since[n] = Some(c.at),
            NodeState::Up => {
                if let Some(since) = down_since[n].take() {
                    down_ms[n] += clipped(since, c.at);
                }
            }
        }
    }
    for (n, since) in down_since.iter().enumerate() {
        if let Some(since) = since {
            down_ms[n] += clipped(*since, to);
        }
    }
    down_ms
}

/// See [`FailureMetrics`]; `None` without failures.
fn failure_metrics(
    workload: &Workload,
    result: &RunResult,
    down_ms: &[u64],
    (from, to): (SimTime, SimTime),
) -> Option<FailureMetrics> {
    let makespan_ms = to.saturating_since(from).as_ms();
    let nw = workload.nodes.as_deref()?;
    if result.node_changes.is_empty() {
        return None;
    }
    let hours = |ms: u128| ms as f64 / 3_600_000.0;
    let mut m = FailureMetrics {
        node_failures: result
            .node_changes
            .iter()
            .filter(|c| c.state == NodeState::Down && c.at >= from && c.at < to)
            .count() as u64,
        jobs_failed: result
            .log
            .iter()
            .filter(|l| l.outcome == Outcome::Failed)
            .count() as u64,
        ..FailureMetrics::default()
    };
    let (mut gpu_down, mut mig_down, mut all_down) = (0u128, 0u128, 0u128);
    for (n, &ms) in down_ms.iter().enumerate() {
        let t = nw.cluster.type_of(n as u32);
        all_down += u128::from(ms);
        gpu_down += u128::from(t.gpus) * u128::from(ms);
        mig_down += u128::from(t.mig_slices) * u128::from(ms);
    }
    m.node_hours_down = hours(all_down);
    m.gpu_hours_down = hours(gpu_down);
    m.mig_slice_hours_down = hours(mig_down);
    let node_time = nw.cluster.len() as u128 * u128::from(makespan_ms);
    m.availability = if node_time == 0 {
        1.0
    } else {
        1.0 - all_down as f64 / node_time as f64
    };
    // Each job's segments in order, replaying its progress and checkpoints: what it did
    // since its last checkpoint (or fresh start) is lost when a failure ends a segment; the
    // node- and GPU-time of that work is its time at the failed segment's rate.
    let mut progress: Vec<(u64, u64)> = vec![(0, 0); workload.jobs.len()]; // (done, saved)
    let mut hit = vec![false; workload.jobs.len()];
    let (mut work_lost, mut node_lost, mut gpu_lost) = (0u64, 0u128, 0u128);
    for s in &result.segments {
        let i = s.job.get();
        let work_ms = workload.jobs[i].work.as_ms();
        let len = s.end.saturating_since(s.start).as_ms();
        let (done, saved) = &mut progress[i];
        match (s.ended, nw.checkpointing(i)) {
            (SegmentEnd::Completed, _) => *done = work_ms,
            (_, None) => *done = (*done + s.rate.work_in(len)).min(work_ms),
            (_, Some(c)) => {
                let p = c.progress(*done, work_ms, s.rate, len);
                *done = p.done_ms;
                if let Some(at) = p.saved_ms {
                    *saved = at;
                }
            }
        }
        match s.ended {
            SegmentEnd::Failed => {
                hit[i] = true;
                let lost = done.saturating_sub(*saved);
                work_lost += lost;
                let lost_time = u128::from(s.rate.time_for(lost).min(len));
                let nodes = result.nodes_of(s);
                let gpus: u64 = nodes
                    .iter()
                    .map(|&n| u64::from(nw.requests[i].taken(nw.cluster.type_of(n)).gpus))
                    .sum();
                node_lost += nodes.len() as u128 * lost_time;
                gpu_lost += u128::from(gpus) * lost_time;
                *done = *saved;
            }
            SegmentEnd::Requeued => *done = *saved,
            _ => {}
        }
    }
    m.jobs_hit = hit.iter().filter(|&&h| h).count() as u64;
    m.requeued = result
        .segments
        .iter()
        .filter(|s| s.ended == SegmentEnd::Failed)
        .count() as u64
        - m.jobs_failed;
    m.work_lost_s = work_lost as f64 / 1000.0;
    m.node_hours_lost = hours(node_lost);
    m.gpu_hours_lost = hours(gpu_lost);
    Some(m)
}

/// Job `i`'s time to start, if it started: from its submission until it was usable (its
/// first start plus its start-up latency).
pub fn time_to_start(workload: &Workload, result: &RunResult, i: usize) -> Option<SimDuration> {
    if !result.started(i) {
        return None;
    }
    let startup_ms = workload
        .nodes
        .as_deref()
        .map_or(0, |nw| nw.user(i).startup_ms);
    Some(
        result.start[i].saturating_since(workload.jobs[i].submit)
            + SimDuration::from_ms(startup_ms),
    )
}

/// Session start metrics of the interactive jobs `i` for which `in_group(i)` holds.
fn session_start(
    workload: &Workload,
    result: &RunResult,
    target: SimDuration,
    in_group: &dyn Fn(usize) -> bool,
) -> SessionStartMetrics {
    let mut m = SessionStartMetrics {
        target_s: target.as_secs_f64(),
        ..SessionStartMetrics::default()
    };
    let mut to_start_ms = Vec::new();
    let mut on_target = 0u64;
    for (i, j) in workload.jobs.iter().enumerate() {
        if j.kind != JobKind::Interactive || !in_group(i) {
            continue;
        }
        m.requests += 1;
        match result.log[i].outcome {
            Outcome::Abandoned => m.abandoned += 1,
            Outcome::Timeout => m.timeouts += 1,
            _ => {}
        }
        if let Some(wait) = time_to_start(workload, result, i) {
            on_target += u64::from(wait <= target);
            to_start_ms.push(wait.as_ms());
        }
    }
    m.started = to_start_ms.len() as u64;
    if m.requests > 0 {
        m.abandoned_share = m.abandoned as f64 / m.requests as f64;
        m.on_target_share = on_target as f64 / m.requests as f64;
    }
    if !to_start_ms.is_empty() {
        let secs = |ms: u64| ms as f64 / 1000.0;
        m.time_to_start_max_s = secs(to_start_ms.iter().copied().max().unwrap_or(0));
        m.time_to_start_p50_s = secs(select_rank(&mut to_start_ms, 50.0, Ord::cmp));
        m.time_to_start_p95_s = secs(select_rank(&mut to_start_ms, 95.0, Ord::cmp));
        m.time_to_start_p99_s = secs(select_rank(&mut to_start_ms, 99.0, Ord::cmp));
    }
    m
}

/// [`session_start`] per generator class that has interactive jobs, by class name.
fn session_start_by_class(
    workload: &Workload,
    result: &RunResult,
    target: SimDuration,
) -> BTreeMap<String, SessionStartMetrics> {
    let Some(nw) = workload.nodes.as_deref() else {
        return BTreeMap::new();
    };
    let mut interactive = vec![false; nw.classes.len()];
    for (i, j) in workload.jobs.iter().enumerate() {
        if j.kind == JobKind::Interactive {
            interactive[nw.class_of[i] as usize] = true;
        }
    }
    nw.classes
        .iter()
        .enumerate()
        .filter(|&(c, _)| interactive[c])
        .map(|(c, name)| {
            let in_class = |i: usize| nw.class_of[i] as usize == c;
            (
                name.clone(),
                session_start(workload, result, target, &in_class),
            )
        })
        .collect()
}

/// The nearest-rank percentile of non-empty `values`, found by selection (O(n)) rather than
/// by sorting; reorders `values`.
fn select_rank<T: Copy>(
    values: &mut [T],
    percent: f64,
    cmp: impl FnMut(&T, &T) -> std::cmp::Ordering,
) -> T {
    let n = values.len();
    let rank = ((percent / 100.0) * n as f64).ceil() as usize;
    let (_, value, _) = values.select_nth_unstable_by(rank.clamp(1, n) - 1, cmp);
    *value
}

fn class_metrics(
    mut waits_ms: Vec<u64>,
    mut bslds: Vec<f64>,
    slowdown_sum: f64,
    slowdown_n: u64,
    response_sum_s: f64,
) -> ClassMetrics {
    let n = waits_ms.len();
    if n == 0 {
        return ClassMetrics::default();
    }
    let secs = |ms: u64| ms as f64 / 1000.0;
    let wait_sum: u128 = waits_ms.iter().map(|&w| u128::from(w)).sum();
    // Summed in job order, which is fixed: the result does not depend on anything else.
    let bsld_sum: f64 = bslds.iter().sum();
    let wait_max = waits_ms.iter().copied().max().unwrap_or(0);
    let bsld_max = bslds.iter().copied().fold(f64::MIN, f64::max);
    ClassMetrics {
        jobs: n as u64,
        wait_mean_s: wait_sum as f64 / 1000.0 / n as f64,
        wait_p50_s: secs(select_rank(&mut waits_ms, 50.0, Ord::cmp)),
        wait_p95_s: secs(select_rank(&mut waits_ms, 95.0, Ord::cmp)),
        wait_p99_s: secs(select_rank(&mut waits_ms, 99.0, Ord::cmp)),
        wait_max_s: secs(wait_max),
        bsld_mean: bsld_sum / n as f64,
        bsld_p95: select_rank(&mut bslds, 95.0, f64::total_cmp),
        bsld_max,
        slowdown_mean: if slowdown_n == 0 {
            0.0
        } else {
            slowdown_sum / slowdown_n as f64
        },
        response_mean_s: response_sum_s / n as f64,
    }
}

/// The nearest-rank percentile of sorted, non-empty `values`.
pub fn nearest_rank<T: Copy>(sorted: &[T], percent: f64) -> T {
    let n = sorted.len();
    let rank = ((percent / 100.0) * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=10).collect();
        assert_eq!(nearest_rank(&v, 50.0), 5);
        assert_eq!(nearest_rank(&v, 95.0), 10);
        assert_eq!(nearest_rank(&v, 0.0), 1);
        assert_eq!(nearest_rank(&[7u64], 99.0), 7);
        let mut shuffled = vec![4u64, 9, 1, 10, 3, 7, 2, 8, 6, 5];
        assert_eq!(select_rank(&mut shuffled, 50.0, Ord::cmp), 5);
        assert_eq!(select_rank(&mut shuffled, 95.0, Ord::cmp), 10);
    }
}
