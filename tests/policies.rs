//! Hand-made traces whose exact schedules are asserted for each policy. The first fixture
//! is built so that the three policies give three different schedules; the others pin down
//! the tie rules.

mod common;

use clustersim::check::{check_policy, check_schedule};
use clustersim::policy::PolicyKind;
use clustersim::run::{run, RunOptions};
use clustersim::workload::Workload;
use common::{line, secs, swf};

fn starts(workload: &Workload, policy: PolicyKind) -> Vec<u64> {
    let outcome = run(workload, policy, &RunOptions::default(), &mut |_| {}).unwrap();
    check_schedule(workload, &outcome.result).unwrap();
    check_policy(policy, workload, &outcome.result).unwrap();
    outcome
        .result
        .start
        .iter()
        .map(|t| t.as_ms() / 1000)
        .collect()
}

/// 10 processors. J1 runs; J2 (8 procs) waits for it; J3 (9 procs) waits behind J2;
/// J4 (2 procs, 300 s) fits in EASY's extra processors but would delay J3; J5 is short.
fn three_way() -> Workload {
    let text = [
        line(1, 0, 100, 6, 100),
        line(2, 1, 50, 8, 50),
        line(3, 2, 100, 9, 100),
        line(4, 3, 300, 2, 300),
        line(5, 4, 40, 2, 40),
    ]
    .concat();
    swf(&text, 10)
}

#[test]
fn fcfs_never_overtakes() {
    // J3 waits for J2's end, J4 and J5 for J3's.
    assert_eq!(
        starts(&three_way(), PolicyKind::Fcfs),
        vec![0, 100, 150, 250, 250]
    );
}

#[test]
fn easy_backfills_into_the_extra_processors_and_may_delay_the_second_job() {
    // J4 uses the 2 extra processors (free at the shadow time 100 beyond J2's 8) and so
    // delays J3 until it ends at 303; J5 ends before the shadow time.
    assert_eq!(
        starts(&three_way(), PolicyKind::Easy),
        vec![0, 100, 303, 3, 4]
    );
}

#[test]
fn conservative_protects_every_reservation() {
    // J3 is reserved at 150, so J4 gets the first slot that does not delay it: 250.
    assert_eq!(
        starts(&three_way(), PolicyKind::Conservative),
        vec![0, 100, 150, 250, 4]
    );
}

#[test]
fn easy_backfill_may_end_exactly_at_the_shadow_time() {
    // J2 (8 procs) is reserved at 100, extra = 2. J3 (4 procs) submitted at the same
    // instant backfills only if it ends by 100.
    let ends_at_shadow = swf(
        &[
            line(1, 0, 100, 6, 100),
            line(2, 1, 50, 8, 50),
            line(3, 1, 99, 4, 99),
        ]
        .concat(),
        10,
    );
    assert_eq!(starts(&ends_at_shadow, PolicyKind::Easy), vec![0, 100, 1]);
    let one_second_late = swf(
        &[
            line(1, 0, 100, 6, 100),
            line(2, 1, 50, 8, 50),
            line(3, 1, 99, 4, 100),
        ]
        .concat(),
        10,
    );
    assert_eq!(
        starts(&one_second_late, PolicyKind::Easy),
        vec![0, 100, 150]
    );
}

#[test]
fn extra_processors_count_every_job_ending_by_the_shadow_time() {
    // Two jobs end at 100: the shadow time is 100 and both count towards the extra
    // processors (10 free at 100 - 5 for J3 = 5), so J4 (4 procs, long) backfills.
    let text = [
        line(1, 0, 100, 3, 100),
        line(2, 0, 100, 3, 100),
        line(3, 1, 50, 5, 50),
        line(4, 2, 500, 4, 500),
    ]
    .concat();
    assert_eq!(
        starts(&swf(&text, 10), PolicyKind::Easy),
        vec![0, 0, 100, 2]
    );
}

#[test]
fn completions_come_before_arrivals_at_one_instant() {
    let text = [line(1, 0, 10, 10, 10), line(2, 10, 5, 10, 5)].concat();
    for policy in PolicyKind::ALL {
        assert_eq!(starts(&swf(&text, 10), policy), vec![0, 10], "{policy}");
    }
}

#[test]
fn zero_length_jobs_end_in_a_new_round_at_the_same_instant() {
    // J1 takes the whole machine for no time; J2 starts in the second round at t=0.
    let text = [line(1, 0, 0, 10, 0), line(2, 0, 5, 10, 5)].concat();
    for policy in PolicyKind::ALL {
        let w = swf(&text, 10);
        assert_eq!(starts(&w, policy), vec![0, 0], "{policy}");
        let outcome = run(&w, policy, &RunOptions::default(), &mut |_| {}).unwrap();
        assert_eq!(outcome.result.end, vec![secs(0), secs(5)]);
    }
}

#[test]
fn equal_submit_times_keep_job_number_order() {
    // Submitted at the same instant, listed out of order: the queue is (submit, job number).
    let text = [line(2, 0, 10, 6, 10), line(1, 0, 10, 6, 10)].concat();
    let w = swf(&text, 10);
    assert_eq!(w.jobs[0].trace_id, 1);
    assert_eq!(starts(&w, PolicyKind::Fcfs), vec![0, 10]);
}

#[test]
fn conservative_compression_moves_reservations_earlier_when_a_job_ends_early() {
    // J1 is planned for 100 s but ends at 10; J2, reserved at 100, moves to 10.
    let text = [line(1, 0, 10, 10, 100), line(2, 1, 10, 10, 10)].concat();
    let w = swf(&text, 10);
    let outcome = run(
        &w,
        PolicyKind::Conservative,
        &RunOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(outcome.result.first_reservation[1], Some(secs(100)));
    assert_eq!(outcome.result.start[1], secs(10));
}

#[test]
fn kill_at_walltime_ends_jobs_at_their_estimate() {
    use clustersim::workload::swf::{read_swf, SwfOptions};
    let text = [line(1, 0, 500, 10, 100), line(2, 1, 10, 10, 10)].concat();
    let options = SwfOptions {
        procs: Some(10),
        kill_at_walltime: true,
        ..SwfOptions::default()
    };
    let w = read_swf(text.as_bytes(), "kill.swf", &options).unwrap();
    let outcome = run(&w, PolicyKind::Easy, &RunOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(outcome.result.end[0], secs(100));
    assert_eq!(outcome.result.start[1], secs(100));
    assert_eq!(outcome.summary.metrics.killed_jobs, 1);
    // Without the flag, the estimate is raised to the runtime instead.
    assert_eq!(starts(&swf(&text, 10), PolicyKind::Easy), vec![0, 500]);
}
