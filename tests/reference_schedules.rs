//! Agreement with an independent third-party simulator: pyss (the Hebrew University's
//! parallel systems lab scheduler simulator) computed the schedules in
//! ../shared/reference; every start time must be reproduced exactly.

mod common;

use clustersim::check::{check_policy, check_schedule};
use clustersim::policy::PolicyKind;
use clustersim::run::{run, RunOptions};
use clustersim::workload::swf::{read_swf_file, SwfOptions};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

fn read_reference(path: &Path) -> BTreeMap<u64, (u64, u64, u64)> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("job_id,submit,start,end"));
    lines
        .map(|l| {
            let v: Vec<u64> = l.split(',').map(|x| x.parse().unwrap()).collect();
            (v[0], (v[1], v[2], v[3]))
        })
        .collect()
}

fn check(trace: &str, policy: PolicyKind) {
    let Some(shared) = common::shared_dir("reference_schedules") else {
        return;
    };
    let dir = shared.join("reference");
    let workload =
        read_swf_file(&dir.join(format!("{trace}.swf.gz")), &SwfOptions::default()).unwrap();
    let expected = read_reference(&dir.join(format!("pyss_{trace}_{policy}.csv.gz")));
    let outcome = run(&workload, policy, &RunOptions::default(), &mut |_| {}).unwrap();
    check_schedule(&workload, &outcome.result).unwrap();
    check_policy(policy, &workload, &outcome.result).unwrap();
    assert_eq!(
        workload.jobs.len(),
        expected.len(),
        "{trace} {policy}: job count"
    );
    let mut mismatches = Vec::new();
    for (i, job) in workload.jobs.iter().enumerate() {
        let Some(&(submit, start, end)) = expected.get(&job.trace_id) else {
            panic!(
                "{trace} {policy}: job {} is not in the reference",
                job.trace_id
            );
        };
        assert_eq!(
            job.submit.as_ms(),
            submit * 1000,
            "job {} submit",
            job.trace_id
        );
        let got = (
            outcome.result.start[i].as_ms(),
            outcome.result.end[i].as_ms(),
        );
        if got != (start * 1000, end * 1000) {
            mismatches.push(format!(
                "job {}: start {} end {} (pyss: {start} {end})",
                job.trace_id,
                got.0 / 1000,
                got.1 / 1000
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{trace} {policy}: {} of {} jobs differ from pyss, first: {:?}",
        mismatches.len(),
        expected.len(),
        &mismatches[..mismatches.len().min(5)]
    );
}

#[test]
fn sdsc_sp2_fcfs() {
    check("sdsc-sp2-5k-clean", PolicyKind::Fcfs);
}
#[test]
fn sdsc_sp2_easy() {
    check("sdsc-sp2-5k-clean", PolicyKind::Easy);
}
#[test]
fn sdsc_sp2_conservative() {
    check("sdsc-sp2-5k-clean", PolicyKind::Conservative);
}
#[test]
fn hpc2n_fcfs() {
    check("hpc2n-3k-clean", PolicyKind::Fcfs);
}
#[test]
fn hpc2n_easy() {
    check("hpc2n-3k-clean", PolicyKind::Easy);
}
#[test]
fn hpc2n_conservative() {
    check("hpc2n-3k-clean", PolicyKind::Conservative);
}
#[test]
fn synthetic_fcfs() {
    check("synth-20000-128", PolicyKind::Fcfs);
}
#[test]
fn synthetic_easy() {
    check("synth-20000-128", PolicyKind::Easy);
}
