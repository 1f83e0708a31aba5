//! Replays of the real traces in ../shared/traces/swf with every policy: the invariant
//! checkers must hold, and the dropped counts must match an independent count made here
//! with a naive reading of the rules (split on whitespace, parse floats).

mod common;

use clustersim::check::{check_policy, check_schedule};
use clustersim::policy::PolicyKind;
use clustersim::run::{run, RunOptions};
use clustersim::workload::swf::{open_maybe_gzip, read_swf_file, SwfOptions};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

/// Counts the drops by reason the slow, obvious way.
fn naive_drop_counts(path: &Path) -> (u64, BTreeMap<&'static str, u64>) {
    let reader = open_maybe_gzip(std::fs::File::open(path).unwrap());
    let mut max_procs = None;
    let mut max_nodes = None;
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for line in reader.lines() {
        let line = line.unwrap();
        let t = line.trim();
        if let Some(h) = t.strip_prefix(';') {
            let h = h.trim();
            let num = |rest: &str| {
                rest.split_whitespace()
                    .next()
                    .and_then(|x| x.parse::<u64>().ok())
            };
            if let Some(rest) = h.strip_prefix("MaxProcs:") {
                max_procs = num(rest);
            } else if let Some(rest) = h.strip_prefix("MaxNodes:") {
                max_nodes = num(rest);
            }
        } else if !t.is_empty() {
            rows.push(t.split_whitespace().map(|x| x.parse().unwrap()).collect());
        }
    }
    let machine = max_procs.or(max_nodes).unwrap() as f64;
    let mut counts = BTreeMap::new();
    for f in &rows {
        let size = if f[7].round() > 0.0 {
            f[7].round()
        } else {
            f[4].round()
        };
        let reason = if f[1] < 0.0 {
            "negative_submit"
        } else if f[3] < 0.0 {
            "negative_runtime"
        } else if size <= 0.0 {
            "non_positive_size"
        } else if size > machine {
            "larger_than_machine"
        } else {
            continue;
        };
        *counts.entry(reason).or_insert(0) += 1;
    }
    (rows.len() as u64, counts)
}

/// Replays `file` with every policy, checking the invariants and the dropped counts.
fn replay(file: &str) {
    let Some(shared) = common::shared_dir("real_traces") else {
        return;
    };
    let path = shared.join("traces").join("swf").join(file);
    let workload = read_swf_file(&path, &SwfOptions::default()).unwrap();
    let (records, expected) = naive_drop_counts(&path);
    assert_eq!(workload.input_jobs, records, "{file}: job records");
    let got: BTreeMap<&str, u64> = workload
        .dropped_by_reason()
        .into_iter()
        .filter(|&(_, n)| n > 0)
        .collect();
    assert_eq!(got, expected, "{file}: dropped by reason");
    assert_eq!(
        workload.jobs.len() as u64 + workload.dropped.len() as u64,
        records,
        "{file}: every job accounted for"
    );
    for policy in PolicyKind::ALL {
        let outcome = run(&workload, policy, &RunOptions::default(), &mut |_| {}).unwrap();
        check_schedule(&workload, &outcome.result)
            .unwrap_or_else(|e| panic!("{file} {policy}: {e}"));
        check_policy(policy, &workload, &outcome.result)
            .unwrap_or_else(|e| panic!("{file} {policy}: {e}"));
    }
}

#[test]
fn kth_sp2() {
    replay("KTH-SP2-1996-2.1-cln.swf.gz");
}
#[test]
fn sdsc_sp2() {
    replay("SDSC-SP2-1998-4.2-cln.swf.gz");
}
#[test]
fn ctc_sp2() {
    replay("CTC-SP2-1996-3.1-cln.swf.gz");
}
#[test]
fn lanl_cm5() {
    replay("LANL-CM5-1994-4.1-cln.swf.gz");
}
#[test]
fn llnl_thunder() {
    replay("LLNL-Thunder-2007-1.1-cln.swf.gz");
}
#[test]
fn sandia_ross() {
    replay("Sandia-Ross-2001-1.1-cln.swf.gz");
}
#[test]
fn hpc2n() {
    replay("HPC2N-2002-2.2-cln.swf.gz");
}
#[test]
fn lpc_egee() {
    replay("LPC-EGEE-2004-1.2-cln.swf.gz");
}
#[test]
fn cea_curie() {
    replay("CEA-Curie-2011-2.1-cln.swf.gz");
}
#[test]
fn ricc() {
    // The slowest test by far (about six minutes): under conservative backfilling RICC's
    // queue passes 10,000 jobs and every completion's compression moves many reservations.
    replay("RICC-2010-2.swf.gz");
}

#[test]
fn llnl_thunder_submit_times_of_minus_one_are_dropped() {
    // The traces' README: 1,190 jobs have submit time -1.
    let Some(shared) = common::shared_dir("real_traces") else {
        return;
    };
    let path = shared.join("traces/swf/LLNL-Thunder-2007-1.1-cln.swf.gz");
    let w = read_swf_file(&path, &SwfOptions::default()).unwrap();
    assert_eq!(w.dropped_by_reason()["negative_submit"], 1_190);
}

#[test]
fn ctc_machine_size_reads_the_leading_number() {
    let Some(shared) = common::shared_dir("real_traces") else {
        return;
    };
    let w = read_swf_file(
        &shared.join("traces/swf/CTC-SP2-1996-3.1-cln.swf.gz"),
        &SwfOptions::default(),
    )
    .unwrap();
    assert_eq!(w.machine_procs, 338);
    assert_eq!(w.meta.max_nodes, Some(338));
}
