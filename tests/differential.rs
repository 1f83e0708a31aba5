//! Differential tests: the engine against the simple reference implementations in
//! `common`, job by job, on random traces built to stress ties (equal submit times,
//! zero-length jobs, runtimes above estimates).

mod common;

use clustersim::check::{check_policy, check_schedule};
use clustersim::policy::PolicyKind;
use clustersim::run::{run, RunOptions};
use clustersim::workload::swf::{read_swf, SwfOptions};
use common::{random_trace, reference_starts, RefPolicy};

fn compare(
    policy: PolicyKind,
    reference: RefPolicy,
    seeds: std::ops::Range<u64>,
    jobs: usize,
    kill: bool,
) {
    for seed in seeds {
        let text = random_trace(seed, jobs, 64);
        let options = SwfOptions {
            procs: Some(64),
            kill_at_walltime: kill,
            ..SwfOptions::default()
        };
        let workload = read_swf(text.as_bytes(), "random.swf", &options).unwrap();
        let outcome = run(&workload, policy, &RunOptions::default(), &mut |_| {}).unwrap();
        check_schedule(&workload, &outcome.result).unwrap();
        check_policy(policy, &workload, &outcome.result).unwrap();
        let expected = reference_starts(&workload, reference);
        for (i, job) in workload.jobs.iter().enumerate() {
            assert_eq!(
                outcome.result.start[i].as_ms(),
                expected[i],
                "{policy} seed {seed} (kill_at_walltime={kill}): job {} starts at {} ms, reference says {} ms",
                job.trace_id,
                outcome.result.start[i].as_ms(),
                expected[i]
            );
        }
    }
}

#[test]
fn fcfs_matches_the_reference() {
    compare(PolicyKind::Fcfs, RefPolicy::Fcfs, 0..6, 2_000, false);
    compare(PolicyKind::Fcfs, RefPolicy::Fcfs, 100..102, 2_000, true);
}

#[test]
fn easy_matches_the_reference() {
    compare(PolicyKind::Easy, RefPolicy::Easy, 0..6, 2_000, false);
    compare(PolicyKind::Easy, RefPolicy::Easy, 100..102, 2_000, true);
}

#[test]
fn conservative_matches_the_reference() {
    compare(
        PolicyKind::Conservative,
        RefPolicy::Conservative,
        0..4,
        2_000,
        false,
    );
    compare(
        PolicyKind::Conservative,
        RefPolicy::Conservative,
        100..102,
        2_000,
        true,
    );
}
