//! Invariant checkers, kept apart from the model (as TigerBeetle keeps its `*_checker`s):
//! they look only at the workload and the finished schedule, never at policy internals.
//! The tests run them on every replay; debug builds of `clustersim run` run them too.

use crate::engine::time::SimTime;
use crate::policy::PolicyKind;
use crate::simulation::RunResult;
use crate::workload::Workload;

/// A broken invariant, described for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invariant violated: {0}")]
pub struct Violation(pub String);

/// Checks what holds for every policy: each job starts at or after its submission, ends
/// exactly `run` after its start, and no instant uses more processors than the machine has.
pub fn check_schedule(workload: &Workload, result: &RunResult) -> Result<(), Violation> {
    let jobs = &workload.jobs;
    let mut changes: Vec<(SimTime, i64)> = Vec::with_capacity(2 * jobs.len());
    for (i, j) in jobs.iter().enumerate() {
        let (start, end) = (result.start[i], result.end[i]);
        if start < j.submit {
            return Err(Violation(format!(
                "job {} starts at {start} before its submission at {}",
                j.trace_id, j.submit
            )));
        }
        if end != start + j.run {
            return Err(Violation(format!(
                "job {} ends at {end}, not start {start} + run {}",
                j.trace_id, j.run
            )));
        }
        if j.run.as_ms() > 0 {
            changes.push((start, i64::from(j.procs)));
            changes.push((end, -i64::from(j.procs)));
        }
    }
    // Ends before starts at the same instant: a job ending at t frees its processors for t.
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

/// Checks what the policy promises:
/// - `fcfs`: jobs start in queue order (start times never decrease along the queue);
/// - `easy` and `conservative`: no job starts later than the first reservation it was
///   given (for EASY, the reservation it got as the queue's head).
pub fn check_policy(
    policy: PolicyKind,
    workload: &Workload,
    result: &RunResult,
) -> Result<(), Violation> {
    let jobs = &workload.jobs;
    match policy {
        PolicyKind::Fcfs => {
            for i in 1..jobs.len() {
                if result.start[i] < result.start[i - 1] {
                    return Err(Violation(format!(
                        "fcfs started job {} at {} before job {} ahead of it in the queue (at {})",
                        jobs[i].trace_id,
                        result.start[i],
                        jobs[i - 1].trace_id,
                        result.start[i - 1]
                    )));
                }
            }
        }
        PolicyKind::Easy | PolicyKind::Conservative => {
            for (i, j) in jobs.iter().enumerate() {
                if let Some(at) = result.first_reservation[i] {
                    if result.start[i] > at {
                        return Err(Violation(format!(
                            "{policy}: job {} started at {} after its reservation at {at}",
                            j.trace_id, result.start[i]
                        )));
                    }
                }
            }
            if policy == PolicyKind::Conservative {
                if let Some(i) = (0..jobs.len()).find(|&i| result.first_reservation[i].is_none()) {
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

/// Node-level invariants of a finished run of a node-level workload: every job ran on as
/// many distinct nodes as it asked for, all of types its partition allows, and no node ever
/// had more cores, memory, GPUs or MIG slices in use than it has (a job ending at t frees
/// its share for t).
pub fn check_nodes(workload: &Workload, result: &RunResult) -> Result<(), Violation> {
    let Some(nw) = &workload.nodes else {
        return Ok(());
    };
    let nodes = &nw.cluster;
    if result.nodes.len() != workload.jobs.len() {
        return Err(Violation(format!(
            "{} jobs but {} node sets",
            workload.jobs.len(),
            result.nodes.len()
        )));
    }
    // (node, time, +1 start / −1 end, job)
    let mut changes: Vec<(u32, SimTime, i8, usize)> = Vec::new();
    for (i, j) in workload.jobs.iter().enumerate() {
        let set = &result.nodes[i];
        let r = &nw.requests[i];
        let mut sorted = set.clone();
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
            if result.end[i] > result.start[i] {
                changes.push((n, result.start[i], 1, i));
                changes.push((n, result.end[i], -1, i));
            }
        }
    }
    changes.sort_unstable_by_key(|&(n, t, d, i)| (n, t, d, i));
    let mut k = 0;
    while k < changes.len() {
        let node = changes[k].0;
        let t = nodes.type_of(node);
        let cap = t.capacity();
        let (mut cores, mut mem, mut gpus, mut mig) = (0u64, 0u64, 0u64, 0u64);
        while k < changes.len() && changes[k].0 == node {
            let (_, time, d, i) = changes[k];
            let take = nw.requests[i].taken(t);
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
