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
