//! Invariant checkers, kept apart from the model (as TigerBeetle keeps its `*_checker`s):
//! they look only at the workload and the finished schedule, never at policy internals.
//! The tests run them on every replay; debug builds of `clustersim run` run them too.

use crate::cluster::nodes::NodeState;
use crate::cluster::nodes::SharePart;
use crate::engine::time::SimTime;
use crate::lifecycle::{JobLog, Outcome, RunResult, Segment, SegmentEnd};
use crate::policy::PolicyKind;
use crate::workload::classes::Checkpointing;
use crate::workload::{Job, Workload};
use std::collections::BTreeMap;

/// A broken invariant, described for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invariant violated: {0}")]
pub struct Violation(pub String);

/// Checks what holds for every run, from the workload and the recorded segments alone
/// (never from the engine's bookkeeping):
/// - every job ends with exactly one outcome, and its record agrees with its segments
///   (count, first start, last end, time run, time suspended, requeues);
/// - a job's segments never overlap, start at or after its submission, and each follows
///   from the one before (a resumed segment runs on the nodes it was suspended on);
/// - work and limits, replayed segment by segment: a segment ending `completed` lasts exactly
///   the time its remaining work needs at its rate, one ending `timeout` exactly the limit
///   left, and a completed job received exactly its work (work lost to requeues aside);
/// - no instant uses more processors than the machine has.
pub fn check_schedule(workload: &Workload, result: &RunResult) -> Result<(), Violation> {
    let jobs = &workload.jobs;
    let n = jobs.len();
    if result.log.len() != n || result.start.len() != n || result.end.len() != n {
        return Err(Violation(format!(
            "{n} jobs but {} records",
            result.log.len()
        )));
    }
    // Each job's segments, in order (segments are recorded in start order).
    let mut by_job: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (k, s) in result.segments.iter().enumerate() {
        let Some(list) = by_job.get_mut(s.job.get()) else {
            return Err(Violation(format!(
                "segment {k} of a missing job {}",
                s.job.0
            )));
        };
        list.push(k as u32);
    }
    // Dynamic backfill: per job, when it was suspended while idle.
    let mut parked_at: Vec<Vec<SimTime>> = vec![Vec::new(); n];
    for p in &result.idle_suspensions {
        if let Some(list) = parked_at.get_mut(p.session.get()) {
            list.push(p.at);
        }
    }
    for (i, j) in jobs.iter().enumerate() {
        let checkpoints = workload.nodes.as_ref().and_then(|nw| nw.checkpointing(i));
        let stages = workload
            .nodes
            .as_ref()
            .is_some_and(|nw| nw.staging(i).any());
        let job = JobModel {
            checkpoints,
            stages,
            parked_at: &parked_at[i],
        };
        check_life(j, &result.log[i], result, &by_job[i], i, job)?;
    }
    // The idle culler ends running sessions, once each: cancelled at the cull, in a segment
    // that ended then.
    let mut culled = vec![false; n];
    for c in result.culls.iter().flatten() {
        let i = c.job.get();
        let fail = |what: &str| {
            Err(Violation(format!(
                "job {}: culled at {}, but {what}",
                jobs.get(i).map_or(u64::from(c.job.0), |j| j.trace_id),
                c.at
            )))
        };
        if i >= n || std::mem::replace(&mut culled[i], true) {
            return fail("it is missing or culled twice");
        }
        let last = result.log[i]
            .last_segment
            .map(|s| &result.segments[s as usize]);
        if jobs[i].kind != crate::workload::JobKind::Interactive
            || result.log[i].outcome != Outcome::Cancelled
            || result.end[i] != c.at
            || !last.is_some_and(|s| s.ended == SegmentEnd::Cancelled && s.end == c.at)
        {
            return fail("it is not an interactive session cancelled then while running");
        }
    }
    let mut changes: Vec<(SimTime, i64)> = Vec::with_capacity(2 * result.segments.len());
    for s in &result.segments {
        if s.end > s.start {
            let procs = i64::from(jobs[s.job.get()].procs);
            changes.push((s.start, procs));
            changes.push((s.end, -procs));
        }
    }
    // Ends before starts at the same instant: a segment ending at t frees its processors for t.
    changes.sort_unstable_by_key(|&(t, delta)| (t, delta));
    let mut used = 0i64;
    for (t, delta) in changes {
        used += delta;
        if used > i64::from(workload.machine_procs) {
            return Err(Violation(format!(
                "{used} processors in use at {t}, machine has {}",
                workload.machine_procs
            )));
        }
    }
    Ok(())
}

/// What a job's class says of its life beyond its work and limit.
#[derive(Clone, Copy)]
struct JobModel<'a> {
    /// Its checkpoints, if it takes any.
    checkpoints: Option<Checkpointing>,
    /// Whether it stages data through the shared file system.
    stages: bool,
    /// When it was suspended while its user was idle (dynamic backfill): such a
    /// suspension counts as session time, and ends it (completed) at its natural end.
    parked_at: &'a [SimTime],
}

/// One job's life, replayed from its segments.
fn check_life(
    j: &Job,
    log: &JobLog,
    result: &RunResult,
    segments: &[u32],
    i: usize,
    model: JobModel<'_>,
) -> Result<(), Violation> {
    let checkpoints = model.checkpoints;
    let id = j.trace_id;
    let fail = |what: String| Err(Violation(format!("job {id}: {what}")));
    if log.segments as usize != segments.len() {
        return fail(format!(
            "recorded {} segments, ran {}",
            log.segments,
            segments.len()
        ));
    }
    let work = j.work.as_ms();
    let limit = j.estimate.as_ms();
    let (mut remaining, mut limit_left) = (work, limit);
    let (mut ran, mut suspended, mut requeues, mut lost) = (0u64, 0u64, 0u32, 0u64);
    // The work saved by the job's last checkpoint.
    let mut saved = 0u64;
    let mut previous: Option<&Segment> = None;
    // A segment ended by a node failure is the job's end if it failed, else a requeue.
    let final_failure = (log.outcome == Outcome::Failed)
        .then(|| segments.last().copied())
        .flatten();
    for &k in segments {
        let s = &result.segments[k as usize];
        if s.end < s.start || s.released < s.end {
            return fail(format!(
                "a segment runs {}..{} and releases its allocation at {}",
                s.start, s.end, s.released
            ));
        }
        suspended += (s.released - s.end).as_ms();
        if s.start < j.submit {
            return fail(format!(
                "starts at {} before its submission at {}",
                s.start, j.submit
            ));
        }
        if let Some(p) = previous {
            if s.start < p.end {
                return fail(format!(
                    "segments overlap: one ends at {}, the next starts at {}",
                    p.end, s.start
                ));
            }
            match p.ended {
                SegmentEnd::Suspended => {
                    if result.nodes_of(s) != result.nodes_of(p) || s.start != p.released {
                        return fail(format!(
                            "resumed at {} on {:?}, suspended until {} on {:?}",
                            s.start,
                            result.nodes_of(s),
                            p.released,
                            result.nodes_of(p)
                        ));
                    }
                }
                SegmentEnd::Requeued | SegmentEnd::Failed if s.start >= p.released => {}
                other => {
                    return fail(format!(
                        "runs again after a segment that ended {}",
                        other.as_str()
                    ))
                }
            }
        }
        let len = (s.end - s.start).as_ms();
        ran += len;
        // Stages: in at the start, out at the end, never overlapping, only for jobs that
        // stage.
        let stages = result.stages_of(k as usize);
        let staging = stages.total_ms();
        if staging > len || (staging > 0 && !model.stages) {
            return fail(format!(
                "a segment of {len} ms staged {} ms in and {} ms out{}",
                stages.in_ms,
                stages.out_ms,
                if model.stages {
                    ""
                } else {
                    " though the job stages nothing"
                }
            ));
        }
        // The time the work left needs at this rate (checkpoints included), and the work
        // left (and the checkpoint saved) after `len` of it.
        // A fresh start's start-up latency (after its stage in) and the stages: no work, but
        // time and limit.
        let startup = u64::from(s.startup_ms);
        let need = startup
            .saturating_add(staging)
            .saturating_add(match checkpoints {
                None => s.rate.time_for(remaining),
                Some(c) => c.time_to_finish(work - remaining, work, s.rate),
            });
        let before = remaining;
        let after = |len: u64| match checkpoints {
            None => (before - s.rate.work_in(len).min(before), None),
            Some(c) => {
                let p = c.progress(work - before, work, s.rate, len);
                (work - p.done_ms, p.saved_ms)
            }
        };
        // Suspended while idle: its running part is checked as a suspension's, then the
        // time suspended counts as session time (ending it, completed, at its natural end).
        let parked = s.released > s.end && model.parked_at.contains(&s.end);
        let ended = if parked {
            SegmentEnd::Suspended
        } else {
            s.ended
        };
        match ended {
            SegmentEnd::Completed => {
                if len != need || need > limit_left {
                    return fail(format!(
                        "a segment completed after {len} ms; its {remaining} ms of work left \
                         needed {need} ms at rate {} (limit left {limit_left} ms)",
                        s.rate.as_f64()
                    ));
                }
                remaining = 0;
            }
            SegmentEnd::Timeout => {
                // A job that stages may time out with its work done (while it stages out),
                // or while staging in with no start-up or work to follow: then its stages'
                // times fill the segment exactly.
                let staging_cut = model.stages && need == len;
                if len != limit_left || (need <= limit_left && !staging_cut) {
                    return fail(format!(
                        "a segment timed out after {len} ms with {limit_left} ms of limit and \
                         {remaining} ms of work left"
                    ));
                }
            }
            SegmentEnd::Suspended
            | SegmentEnd::Cancelled
            | SegmentEnd::Failed
            | SegmentEnd::Requeued => {
                if len > limit_left || need < len {
                    return fail(format!(
                        "a segment ran {len} ms, past its stop (limit left {limit_left} ms, \
                         work left {remaining} ms)"
                    ));
                }
            }
        }
        if ended != SegmentEnd::Completed {
            let (left, saved_now) = after(len.saturating_sub(startup).saturating_sub(staging));
            remaining = left;
            if let Some(at) = saved_now {
                saved = at;
            }
        }
        if parked {
            let idle_ms = (s.released - s.end).as_ms();
            if s.ended == SegmentEnd::Completed && idle_ms != remaining {
                return fail(format!(
                    "suspended while idle at {} with {remaining} ms of session left, it \
                     ended at {} rather than at its natural end",
                    s.end, s.released
                ));
            }
            remaining -= idle_ms.min(remaining);
        }
        limit_left -= len.min(limit_left);
        let requeued = s.ended == SegmentEnd::Requeued
            || (s.ended == SegmentEnd::Failed && final_failure != Some(k));
        if requeued {
            // What was done since the last checkpoint is lost, and the limit starts again.
            lost += (work - remaining).saturating_sub(saved);
            remaining = work - saved.min(work);
            limit_left = limit;
            requeues += 1;
        }
        previous = Some(s);
    }
    // A job suspended and then requeued from the queue of suspended jobs: its requeue is in
    // the record, not in a segment.
    let last_end = previous.map(|p| p.ended);
    let expected = match (log.outcome, last_end) {
        (Outcome::Completed, Some(SegmentEnd::Completed)) => remaining == 0,
        (Outcome::Timeout, Some(SegmentEnd::Timeout)) => true,
        (Outcome::Failed, Some(SegmentEnd::Failed)) => true,
        (
            Outcome::Cancelled,
            None | Some(SegmentEnd::Cancelled | SegmentEnd::Requeued | SegmentEnd::Failed),
        ) => true,
        (Outcome::Abandoned, None | Some(SegmentEnd::Requeued | SegmentEnd::Failed)) => true,
        _ => false,
    };
    if !expected {
        return fail(format!(
            "outcome {} does not follow from its last segment ({})",
            log.outcome.as_str(),
            last_end.map_or("none", |e| e.as_str())
        ));
    }
    if log.outcome == Outcome::Completed && log.work_done.as_ms() - log.work_lost.as_ms() != work {
        return fail(format!(
            "completed with {} ms of work done and {} ms lost, not its {work} ms",
            log.work_done.as_ms(),
            log.work_lost.as_ms()
        ));
    }
    if log.ran.as_ms() != ran || log.suspended.as_ms() != suspended {
        return fail(format!(
            "record says {} ms run and {} ms suspended, its segments {ran} ms and {suspended} ms",
            log.ran.as_ms(),
            log.suspended.as_ms()
        ));
    }
    if log.requeues != requeues || log.work_lost.as_ms() != lost {
        return fail(format!(
            "record says {} requeues and {} ms lost, its segments {requeues} and {lost} ms",
            log.requeues,
            log.work_lost.as_ms()
        ));
    }
    let first = segments.first().map(|&k| result.segments[k as usize].start);
    let last = previous.map(|p| p.released);
    if let (Some(first), Some(last)) = (first, last) {
        if result.start[i] != first || result.end[i] < last {
            return fail(format!(
                "record says {}..{}, its segments {first}..{last}",
                result.start[i], result.end[i]
            ));
        }
    }
    Ok(())
}

/// Checks what the policy promises:
/// - `fcfs`: jobs start in queue order (first start times never decrease along the queue,
///   over the jobs that started) within each group of jobs the queue orders by arrival:
///   the same partition tier (all one tier without preemption) and the same demotion for a
///   spent credit (`[credits] when_exhausted = "deprioritize"`). Across groups the queue is
///   not in arrival order: a higher tier, or a job not demoted, goes ahead of earlier
///   arrivals;
/// - `easy` and `conservative`: no job starts later than the first reservation it was
///   given (for EASY, the reservation it got as the queue's head), unless it starts after
///   a node failed (a failure voids the plans made before it); for the jobs of the highest
///   tier that are not demoted only (a job of a higher tier, or a later arrival that is
///   not demoted, may go ahead of a lower or demoted job and take what its plan counted
///   on); not under a `[controller]` whose passes take time (a reservation is then a plan:
///   the head starts when a later pass has tested it).
pub fn check_policy(
    policy: PolicyKind,
    workload: &Workload,
    result: &RunResult,
) -> Result<(), Violation> {
    let jobs = &workload.jobs;
    // Preemption's tiers (all 0 without preemption).
    let tier = |i: usize| {
        workload
            .nodes
            .as_deref()
            .and_then(|nw| nw.preemption_of(i))
            .map_or(0, |p| p.tier)
    };
    let top_tier = (0..jobs.len()).map(tier).max().unwrap_or(0);
    // Demoted for a spent credit (none unless the run's credits deprioritize).
    let mut demoted = vec![false; jobs.len()];
    for &j in result.demoted.iter().flatten() {
        if let Some(d) = demoted.get_mut(j.get()) {
            *d = true;
        }
    }
    match policy {
        PolicyKind::Fcfs => {
            // Among the jobs that started: a job that left the queue without starting
            // (abandoned, cancelled) never held it up.
            // With preemption the queue is ordered by tier first, and within a tier jobs
            // not demoted go before demoted ones: the order holds within each (tier,
            // demotion) group (a job of a higher tier may start before any of a lower one,
            // a job not demoted before any demoted one).
            // Under a `[controller]`, the main loop blocks a partition, not the queue: the
            // order holds within each partition.
            let partition = |i: usize| match (&result.cycles, workload.nodes.as_deref()) {
                (Some(_), Some(nw)) => nw.partition_of.get(i).copied().unwrap_or(0),
                _ => 0,
            };
            let mut ahead: BTreeMap<(i32, bool, u16), usize> = BTreeMap::new();
            for i in (0..jobs.len()).filter(|&i| result.started(i)) {
                let slot = ahead
                    .entry((tier(i), demoted[i], partition(i)))
                    .or_insert(i);
                let a = *slot;
                if result.start[i] < result.start[a] {
                    return Err(Violation(format!(
                        "fcfs started job {} at {} before job {} ahead of it in the queue \
                         (at {})",
                        jobs[i].trace_id, result.start[i], jobs[a].trace_id, result.start[a]
                    )));
                }
                *slot = i;
            }
        }
        PolicyKind::Easy | PolicyKind::Conservative => {
            // A node failure voids the promises made before it: the reservations on the
            // node are planned again, and the jobs it requeued wait again.
            let first_failure = result
                .node_changes
                .iter()
                .find(|c| c.state == NodeState::Down)
                .map_or(SimTime::MAX, |c| c.at);
            // Under a `[controller]` whose passes take time, a reservation is a plan, not
            // a promise: the head starts at the first pass at or after it, launched when
            // that pass has tested it.
            let costed = result
                .cycles
                .as_ref()
                .is_some_and(|cycles| cycles.iter().any(|c| c.length_us > 0));
            for (i, j) in jobs.iter().enumerate().filter(|_| !costed) {
                if tier(i) < top_tier || demoted[i] {
                    // A job of a higher tier may take what a lower one's plan counted on, and
                    // a later arrival not demoted what a demoted one's did.
                    continue;
                }
                if let Some(at) = result.first_reservation[i] {
                    if result.start[i] > at && result.start[i] < first_failure {
                        return Err(Violation(format!(
                            "{policy}: job {} started at {} after its reservation at {at}",
                            j.trace_id, result.start[i]
                        )));
                    }
                }
            }
            if policy == PolicyKind::Conservative {
                // Every job that started had been planned (a session rejected at submission
                // never entered the queue).
                if let Some(i) = (0..jobs.len()).find(|&i| {
                    result.started(i)
                        && result.first_reservation[i].is_none()
                        && result.start[i] < first_failure
                }) {
                    return Err(Violation(format!(
                        "conservative: job {} never got a reservation",
                        jobs[i].trace_id
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Node-level invariants of a finished run of a node-level workload: every segment ran on
/// as many distinct nodes as its job asked for, all of types its partition allows, and no
/// node ever had more cores, memory, GPUs or MIG slices in use than it has, counting the
/// memory a suspended job keeps (a segment ending at t frees its share for t).
pub fn check_nodes(workload: &Workload, result: &RunResult) -> Result<(), Violation> {
    let Some(nw) = &workload.nodes else {
        return Ok(());
    };
    let nodes = &nw.cluster;
    // (node, time, +1 take / −1 give, job, part: 0 whole share, 1 memory only)
    let mut changes: Vec<(u32, SimTime, i8, usize, u8)> = Vec::new();
    for s in &result.segments {
        let i = s.job.get();
        let j = &workload.jobs[i];
        let set = result.nodes_of(s);
        let r = &nw.requests[i];
        let mut sorted = set.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != set.len() || set.len() != r.nodes as usize {
            return Err(Violation(format!(
                "job {} asked for {} distinct nodes and ran on {:?}",
                j.trace_id, r.nodes, set
            )));
        }
        for &n in set {
            if n as usize >= nodes.len() {
                return Err(Violation(format!(
                    "job {} ran on missing node {n}",
                    j.trace_id
                )));
            }
            if !crate::cluster::nodes::Nodes::allowed(r, nodes.type_index(n)) {
                return Err(Violation(format!(
                    "job {} ran on node {n} outside its partition",
                    j.trace_id
                )));
            }
            if s.end > s.start {
                changes.push((n, s.start, 1, i, 0));
                changes.push((n, s.end, -1, i, 0));
            }
            if s.released > s.end {
                changes.push((n, s.end, 1, i, 1));
                changes.push((n, s.released, -1, i, 1));
            }
        }
    }
    check_down_nodes(workload, result)?;
    changes.sort_unstable_by_key(|&(n, t, d, i, part)| (n, t, d, i, part));
    let mut k = 0;
    while k < changes.len() {
        let node = changes[k].0;
        let t = nodes.type_of(node);
        let cap = t.capacity();
        let (mut cores, mut mem, mut gpus, mut mig) = (0u64, 0u64, 0u64, 0u64);
        while k < changes.len() && changes[k].0 == node {
            let (_, time, d, i, part) = changes[k];
            let whole = nw.requests[i].taken(t);
            let take = if part == 0 {
                whole
            } else {
                SharePart::Memory.of(whole)
            };
            let apply = |v: &mut u64, x: u64| {
                if d > 0 {
                    *v += x
                } else {
                    *v -= x
                }
            };
            apply(&mut cores, u64::from(take.cores));
            apply(&mut mem, take.memory_mb);
            apply(&mut gpus, u64::from(take.gpus));
            apply(&mut mig, u64::from(take.mig_slices));
            if cores > u64::from(cap.cores)
                || mem > cap.memory_mb
                || gpus > u64::from(cap.gpus)
                || mig > u64::from(cap.mig_slices)
            {
                return Err(Violation(format!(
                    "node {node} over capacity at {time}: {cores} cores, {mem} MB, {gpus} GPUs, \
                     {mig} MIG slices in use"
                )));
            }
            k += 1;
        }
    }
    Ok(())
}

/// No job holds anything on a node while it is down: every segment (and a suspended job's
/// memory) on a node ends by the instant it fails and starts no earlier than its repair.
fn check_down_nodes(workload: &Workload, result: &RunResult) -> Result<(), Violation> {
    if result.node_changes.is_empty() {
        return Ok(());
    }
    let node_count = workload.nodes.as_ref().map_or(0, |nw| nw.cluster.len());
    // Per node, its outages [down, up) in time order (the last may never end).
    let mut outages: Vec<Vec<(SimTime, SimTime)>> = vec![Vec::new(); node_count];
    for c in &result.node_changes {
        let Some(list) = outages.get_mut(c.node as usize) else {
            return Err(Violation(format!(
                "node {} changed state but does not exist",
                c.node
            )));
        };
        match c.state {
            NodeState::Down => list.push((c.at, SimTime::MAX)),
            NodeState::Up => match list.last_mut() {
                Some(last) if last.1 == SimTime::MAX => last.1 = c.at,
                _ => {
                    return Err(Violation(format!(
                        "node {} came up at {} without having gone down",
                        c.node, c.at
                    )))
                }
            },
        }
    }
    for s in &result.segments {
        for &n in result.nodes_of(s) {
            let Some(list) = outages.get(n as usize) else {
                continue;
            };
            // The first outage ending after the segment starts must begin at or after the
            // segment lets go of everything.
            let k = list.partition_point(|o| o.1 <= s.start);
            if let Some(&(down, up)) = list.get(k) {
                if down < s.released {
                    return Err(Violation(format!(
                        "job {} held node {n} from {} to {} while it was down from {down} to {up}",
                        workload.jobs[s.job.get()].trace_id,
                        s.start,
                        s.released
                    )));
                }
            }
        }
    }
    Ok(())
}

/// With a shared file system: the stages recorded in the segments, replayed against the
/// bandwidth apart from the engine's bookkeeping. While `n` jobs stage, each has
/// received `⌊T × B / n⌋` bytes after `T` ms (the remainder carried between stretches
/// while `n` stays the same); then:
/// - a fresh segment (a job's first, or after a requeue) stages all of the job's input,
///   a resumed one what a suspension left of it; a stage moves more than nothing;
/// - a stage ends exactly the millisecond its data is all moved (not a millisecond later)
///   or, with data left, when its segment is cut short there;
/// - a stage out is done if and only if its segment completed, and a segment that
///   completed wrote all of the job's output.
pub fn check_filesystem(
    workload: &Workload,
    result: &RunResult,
    settings: Option<crate::filesystem::FileSystemSettings>,
) -> Result<(), Violation> {
    let Some(settings) = settings else {
        return Ok(());
    };
    let Some(nw) = workload.nodes.as_deref() else {
        return Ok(());
    };
    let b = u128::from(settings.bytes_per_ms());
    let segs = &result.segments;
    let name = |k: usize| workload.jobs[segs[k].job.get()].trace_id;
    // (time, what: 0 stage ends, 1 segment ends, 2 segment starts, 3 stage starts, segment,
    // stage out)
    let mut events: Vec<(SimTime, u8, usize, bool)> = Vec::new();
    if !result.stages.is_empty() && result.stages.len() != segs.len() {
        return Err(Violation(format!(
            "{} segments but {} stage records",
            segs.len(),
            result.stages.len()
        )));
    }
    for (k, s) in segs.iter().enumerate() {
        events.push((s.start, 2, k, false));
        events.push((s.end, 1, k, false));
    }
    for (from, to, k, out) in crate::filesystem::stage_intervals(result) {
        events.push((from, 3, k, out));
        events.push((to, 0, k, out));
    }
    events.sort_unstable();
    // Per job: (input left, output left), bytes; the previous segment's end.
    let mut left: Vec<(u64, u64)> = vec![(0, 0); workload.jobs.len()];
    let mut previous: Vec<Option<SegmentEnd>> = vec![None; workload.jobs.len()];
    // Stagers by (segment, out): bytes left.
    let mut active: std::collections::BTreeMap<(usize, bool), u64> = Default::default();
    let mut last = SimTime::ZERO;
    // The share's remainder carried while the number of stagers stays the same.
    let (mut carry, mut carry_n) = (0u128, 0u128);
    let mut e = 0;
    while e < events.len() {
        let t = events[e].0;
        // Progress is brought up to date only when a stage begins or ends (as the engine
        // does: rounding down per stretch, the stretches must be the same).
        let stages_change = events[e..]
            .iter()
            .take_while(|ev| ev.0 == t)
            .any(|ev| ev.1 == 0 || ev.1 == 3);
        let dt = u128::from(t.saturating_since(last).as_ms());
        let n = active.len() as u128;
        if stages_change && dt > 0 && n > 0 {
            if n != carry_n {
                (carry, carry_n) = (0, n);
            }
            let each = (dt * b + carry) / n;
            let by_last_ms = ((dt - 1) * b + carry) / n;
            carry = (dt * b + carry) % n;
            for (&(k, _), bytes) in active.iter_mut() {
                if u128::from(*bytes) <= by_last_ms {
                    return Err(Violation(format!(
                        "job {}: a stage of its segment at {} had moved all its data by {}, \
                         yet went on to {t}",
                        name(k),
                        segs[k].start,
                        SimTime::from_ms(t.as_ms() - 1)
                    )));
                }
                *bytes = u64::try_from(u128::from(*bytes).saturating_sub(each)).unwrap_or(0);
            }
        }
        if stages_change {
            last = t;
        }
        while e < events.len() && events[e].0 == t {
            let (_, what, k, out) = events[e];
            let s = &segs[k];
            let i = s.job.get();
            let fail = |what: String| Err(Violation(format!("job {}: {what}", name(k))));
            match what {
                0 => {
                    let bytes = active.remove(&(k, out)).unwrap_or(0);
                    if out {
                        left[i].1 = bytes;
                        if (bytes == 0) != (s.ended == SegmentEnd::Completed) {
                            return fail(format!(
                                "a stage out ended at {t} with {bytes} bytes left, its segment {}",
                                s.ended.as_str()
                            ));
                        }
                    } else {
                        left[i].0 = bytes;
                        if bytes > 0 && (s.end != t || s.ended == SegmentEnd::Completed) {
                            return fail(format!(
                                "a stage in ended at {t} with {bytes} bytes left, its segment \
                                 not cut short then"
                            ));
                        }
                    }
                }
                1 => {
                    if s.ended == SegmentEnd::Completed && left[i].1 > 0 {
                        return fail(format!(
                            "completed at {t} with {} bytes of output not written",
                            left[i].1
                        ));
                    }
                    previous[i] = Some(s.ended);
                }
                2 => {
                    let fresh = previous[i].is_none_or(|p| p != SegmentEnd::Suspended);
                    if fresh {
                        let st = nw.staging(i);
                        left[i] = (st.in_bytes, st.out_bytes);
                    }
                    if left[i].0 > 0 && result.stages_of(k).in_ms == 0 && s.end > s.start {
                        return fail(format!(
                            "a segment at {t} ran without staging in its {} bytes",
                            left[i].0
                        ));
                    }
                }
                _ => {
                    let bytes = if out { left[i].1 } else { left[i].0 };
                    if bytes == 0 || (out && left[i].0 > 0) {
                        return fail(format!(
                            "a stage {} at {t} with {bytes} bytes to move",
                            if out { "out" } else { "in" }
                        ));
                    }
                    active.insert((k, out), bytes);
                }
            }
            e += 1;
        }
        if let Some((&(k, _), _)) = active.iter().find(|(_, &bytes)| bytes == 0) {
            return Err(Violation(format!(
                "job {}: a stage had moved all its data at {t} but did not end",
                name(k)
            )));
        }
    }
    Ok(())
}
