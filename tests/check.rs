//! `clustersim check` as a CI pipeline runs it: the committed baseline holds, a worse
//! policy fails with a table (exit 1), a changed experiment or a missing baseline is an
//! input error (exit 2), tolerances relax the check, and the Markdown and JUnit outputs.

mod common;

use common::{arg as s, clustersim_in_repo, scratch, text};
use std::path::{Path, PathBuf};

const COMMITTED: [&str; 3] = [
    "scenarios/hpc-cpu.toml",
    "scenarios/gpu-cluster.toml",
    "scenarios/mixed.toml",
];

/// A copy of scenarios/hpc-cpu.toml with `edit` applied.
fn hpc_copy(dir: &Path, file: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/hpc-cpu.toml"),
    )
    .unwrap();
    let path = dir.join(file);
    std::fs::write(&path, edit(text)).unwrap();
    path
}

#[test]
fn the_committed_baseline_holds() {
    let mut args = vec!["check"];
    args.extend(COMMITTED);
    args.extend(["--baseline", "scenarios/baseline.json"]);
    let o = clustersim_in_repo(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("all 21 metrics of 3 runs within tolerance"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_worse_policy_fails_with_a_table_of_regressions() {
    let dir = scratch("check-worse");
    let worse = hpc_copy(&dir, "worse.toml", |t| {
        t.replace("name = \"easy\"", "name = \"fcfs\"")
    });
    let junit = dir.join("check.xml");
    let o = clustersim_in_repo(&[
        "check",
        s(&worse),
        "--baseline",
        "scenarios/baseline.json",
        "--junit",
        s(&junit),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("metrics regressed"), "{out}");
    let row = out
        .lines()
        .find(|l| l.contains("all.wait_mean_s"))
        .unwrap_or_else(|| panic!("no wait row:\n{out}"));
    assert!(
        row.starts_with("hpc-cpu") && row.ends_with("REGRESSED"),
        "{row}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(
        xml.contains("<failure message=\"all.wait_mean_s regressed"),
        "{xml}"
    );
    // The report exists now: writing it again needs --force, and the scenario itself can
    // never be the report.
    let junit_args = |target: &Path, force: bool| {
        let mut args = vec![
            "check",
            s(&worse),
            "--baseline",
            "scenarios/baseline.json",
            "--junit",
            s(target),
        ];
        if force {
            args.push("--force");
        }
        clustersim_in_repo(&args)
    };
    let again = junit_args(&junit, false);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(text(&again).contains("--force"), "{}", text(&again));
    assert_eq!(junit_args(&junit, true).status.code(), Some(1));
    let over_input = junit_args(&worse, true);
    assert_eq!(over_input.status.code(), Some(2), "{}", text(&over_input));
    assert!(
        text(&over_input).contains("is an input"),
        "{}",
        text(&over_input)
    );
    let md = clustersim_in_repo(&[
        "check",
        s(&worse),
        "--baseline",
        "scenarios/baseline.json",
        "--markdown",
    ]);
    assert_eq!(md.status.code(), Some(1));
    let md = String::from_utf8_lossy(&md.stdout).into_owned();
    assert!(md.starts_with("### clustersim check:"), "{md}");
    assert!(md.contains("| scenario | run | metric |"), "{md}");
    assert!(md.contains("| REGRESSED |"), "{md}");
}

#[test]
fn tolerances_decide_and_updating_keeps_them() {
    let dir = scratch("check-tolerance");
    let baseline = dir.join("baseline.json");
    let base = hpc_copy(&dir, "base.toml", |t| t);
    let o = clustersim_in_repo(&["check", s(&base), "--baseline", s(&baseline)]);
    assert_eq!(o.status.code(), Some(2), "no baseline yet: {}", text(&o));
    assert!(text(&o).contains("--update-baseline"), "{}", text(&o));
    let o = clustersim_in_repo(&[
        "check",
        s(&base),
        "--baseline",
        s(&baseline),
        "--update-baseline",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Guard only the mean wait, allowing it to grow 30-fold.
    let relaxed = r#"{
  "format": "clustersim-baseline/1",
  "tolerances": { "all.wait_mean_s": { "worse": "higher", "relative": 30.0 } },
  "runs": RUNS
}"#;
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    let runs = serde_json::to_string(&written["runs"]).unwrap();
    std::fs::write(&baseline, relaxed.replace("RUNS", &runs)).unwrap();
    let worse = hpc_copy(&dir, "worse.toml", |t| {
        t.replace("name = \"easy\"", "name = \"fcfs\"")
    });
    let o = clustersim_in_repo(&["check", s(&worse), "--baseline", s(&baseline)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("all 1 metrics of 1 runs within tolerance"),
        "{}",
        text(&o)
    );
    // Rewriting the baseline keeps the file's tolerances.
    let o = clustersim_in_repo(&[
        "check",
        s(&worse),
        "--baseline",
        s(&baseline),
        "--update-baseline",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rewritten = std::fs::read_to_string(&baseline).unwrap();
    assert!(rewritten.contains("\"relative\": 30.0"), "{rewritten}");
    // Back to easy: within the relaxed tolerance; against an exact baseline of fcfs, a
    // reported improvement (still a pass).
    let o = clustersim_in_repo(&["check", s(&base), "--baseline", s(&baseline)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let exact = dir.join("exact.json");
    let o = clustersim_in_repo(&[
        "check",
        s(&worse),
        "--baseline",
        s(&exact),
        "--update-baseline",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = clustersim_in_repo(&["check", s(&base), "--baseline", s(&exact)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("improved beyond their tolerance"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_baseline_of_another_experiment_is_an_input_error() {
    let dir = scratch("check-other");
    let other = hpc_copy(&dir, "other.toml", |t| t.replace("seed = 1", "seed = 2"));
    let o = clustersim_in_repo(&["check", s(&other), "--baseline", "scenarios/baseline.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("was written for a different scenario \"hpc-cpu\""),
        "{}",
        text(&o)
    );
    let renamed = hpc_copy(&dir, "renamed.toml", |t| {
        t.replace("name = \"hpc-cpu\"", "name = \"elsewhere\"")
    });
    let o = clustersim_in_repo(&[
        "check",
        s(&renamed),
        "--baseline",
        "scenarios/baseline.json",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("has no baseline for scenario \"elsewhere\""),
        "{}",
        text(&o)
    );
    let garbage = dir.join("garbage.json");
    std::fs::write(&garbage, "{\"format\": 1}").unwrap();
    let o = clustersim_in_repo(&["check", s(&other), "--baseline", s(&garbage)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("not a clustersim baseline"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_sweep_is_checked_run_by_run() {
    let dir = scratch("check-sweep");
    let sweep = hpc_copy(&dir, "sweep.toml", |t| {
        format!(
            "{}\n[sweep.grid]\nseed = [1, 2]\n",
            t.replace("jobs = ", "jobs = 200 # was ")
        )
    });
    // The edit above may not parse if the file's layout changes: keep the test honest.
    let v = clustersim_in_repo(&["validate", s(&sweep)]);
    if !v.status.success() {
        panic!("the edited scenario is invalid: {}", text(&v));
    }
    let baseline = dir.join("b.json");
    let o = clustersim_in_repo(&[
        "check",
        s(&sweep),
        "--baseline",
        s(&baseline),
        "--update-baseline",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("2 runs, 7 metrics each"), "{}", text(&o));
    let written = std::fs::read_to_string(&baseline).unwrap();
    assert!(written.contains("\"run\": \"seed = 1\"") && written.contains("\"run\": \"seed = 2\""));
    let o = clustersim_in_repo(&["check", s(&sweep), "--baseline", s(&baseline)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}
