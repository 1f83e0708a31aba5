//! The queue order is one pluggable priority: the same algorithms (FCFS, EASY,
//! conservative), given another `Priority`, start jobs in its order, on hand-computed cases;
//! arrival order reproduces the built-in policies exactly.

mod common;

use clustersim::check::check_schedule;
use clustersim::policy::availability::ProcessorAvailability;
use clustersim::policy::backfill::{Backfilling, QueuePolicy};
use clustersim::policy::conservative::Conservative;
use clustersim::policy::machine::ProcessorMachine;
use clustersim::policy::priority::{ArrivalOrder, Priority, QueueKey};
use clustersim::policy::{JobInfo, Policy, PolicyKind};
use clustersim::simulation::simulate;
use clustersim::workload::{JobIdx, Workload};
use common::{line, swf};

/// Fewest processors first (ties in arrival order): a priority no built-in policy uses.
struct SmallestFirst;

impl Priority for SmallestFirst {
    fn label(&self) -> &'static str {
        "smallest-first"
    }
    fn key(&self, job: JobIdx, info: JobInfo) -> QueueKey {
        QueueKey::ranked(u64::from(info.procs()), job)
    }
}

fn starts_s(workload: &Workload, policy: &mut dyn Policy) -> Vec<u64> {
    let r = simulate(workload, policy, &mut |_| {}).expect("the run completes");
    check_schedule(workload, &r).expect("every invariant holds");
    r.start.iter().map(|t| t.as_ms() / 1000).collect()
}

/// Four processors. Job 1 holds them all from 0 to 10; jobs 2 (3 processors), 3 (1) and 4
/// (2) arrive meanwhile, each running 10 s.
fn four_jobs() -> Workload {
    let text = [
        line(1, 0, 10, 4, 10),
        line(2, 1, 10, 3, 10),
        line(3, 2, 10, 1, 10),
        line(4, 3, 10, 2, 10),
    ]
    .concat();
    swf(&text, 4)
}

#[test]
fn fcfs_in_another_order_starts_jobs_in_that_order() {
    let w = four_jobs();
    // Arrival order at 10: job 2 (3) and job 3 (1) fit; job 4 waits for 20.
    let mut arrival = QueuePolicy::new(Backfilling::Off, ProcessorMachine::new());
    assert_eq!(starts_s(&w, &mut arrival), [0, 10, 10, 20]);
    // Fewest processors first at 10: job 3 (1), then job 4 (2); job 2 (3) waits for 20.
    let mut smallest =
        QueuePolicy::with_priority(Backfilling::Off, ProcessorMachine::new(), SmallestFirst);
    assert_eq!(starts_s(&w, &mut smallest), [0, 20, 10, 10]);
}

#[test]
fn easy_reserves_for_the_head_of_its_own_order() {
    // Four processors. Job 1 (2 procs) runs 0–10. Waiting at 1: job 2 (4 procs, 10 s),
    // job 3 (3 procs, 10 s), job 4 (1 proc, 100 s).
    let text = [
        line(1, 0, 10, 2, 10),
        line(2, 1, 10, 4, 10),
        line(3, 1, 10, 3, 10),
        line(4, 1, 100, 1, 100),
    ]
    .concat();
    let w = swf(&text, 4);
    // Arrival order: head job 2 reserved at 10 with no extra processor; job 4 would run
    // past 10, so it waits. At 10 job 2 runs to 20, then job 3 (3) and job 4 (1) together.
    let mut arrival = QueuePolicy::new(Backfilling::Easy, ProcessorMachine::new());
    assert_eq!(starts_s(&w, &mut arrival), [0, 10, 20, 20]);
    // Fewest processors first: job 4 (1 proc) is the head and starts at 1 on the 2 free
    // processors; the new head, job 3 (3 procs), is reserved at 10 (job 1 ends, 3 free),
    // job 2 (4) runs once job 4 ends by its estimate, at 101.
    let mut smallest =
        QueuePolicy::with_priority(Backfilling::Easy, ProcessorMachine::new(), SmallestFirst);
    assert_eq!(starts_s(&w, &mut smallest), [0, 101, 10, 1]);
}

#[test]
fn conservative_reserves_in_its_own_order() {
    // Four processors. Job 1 holds them all from 0 to 10; jobs 2 (3 procs), 3 (1) and 4 (2)
    // arrive together at 1, each running 10 s: they are reserved in queue order.
    let text = [
        line(1, 0, 10, 4, 10),
        line(2, 1, 10, 3, 10),
        line(3, 1, 10, 1, 10),
        line(4, 1, 10, 2, 10),
    ]
    .concat();
    let w = swf(&text, 4);
    // Arrival order: job 2 at 10, job 3 beside it at 10, job 4 (2) only at 20.
    let mut arrival = Conservative::new(ProcessorAvailability::new(4), ArrivalOrder);
    assert_eq!(starts_s(&w, &mut arrival), [0, 10, 10, 20]);
    // Fewest processors first: job 3 and job 4 at 10, job 2 (3) at 20.
    let mut smallest = Conservative::new(ProcessorAvailability::new(4), SmallestFirst);
    assert_eq!(starts_s(&w, &mut smallest), [0, 20, 10, 10]);
}

#[test]
fn arrival_order_is_the_built_in_order() {
    let w = swf(&common::random_trace(5, 400, 64), 64);
    let explicit: [(PolicyKind, Box<dyn Policy>); 3] = [
        (
            PolicyKind::Fcfs,
            Box::new(QueuePolicy::with_priority(
                Backfilling::Off,
                ProcessorMachine::new(),
                ArrivalOrder,
            )),
        ),
        (
            PolicyKind::Easy,
            Box::new(QueuePolicy::with_priority(
                Backfilling::Easy,
                ProcessorMachine::new(),
                ArrivalOrder,
            )),
        ),
        (
            PolicyKind::Conservative,
            Box::new(Conservative::new(
                ProcessorAvailability::new(w.machine_procs),
                ArrivalOrder,
            )),
        ),
    ];
    for (kind, mut policy) in explicit {
        let mut built_in = kind.build(w.machine_procs);
        assert_eq!(
            starts_s(&w, built_in.as_mut()),
            starts_s(&w, policy.as_mut()),
            "{kind}"
        );
    }
}
