//! Slurm's `--switches` with `max_switch_wait`: a job waits for nodes within a number of
//! leaf switches, up to a bound, then takes any (FCFS and EASY).

mod common;

use clustersim::cluster::nodes::Placement;
use clustersim::lifecycle::RunResult;
use clustersim::policy::PolicyKind;
use clustersim::workload::classes::SwitchLimit;
use clustersim::workload::{JobIdx, Workload};
use common::nodes::{cluster, run_checked, workload};

/// Four 8-GPU nodes, two per leaf switch.
const TWO_LEAVES: &str = "[node_types.gpu]\ncount = 4\ncores = 16\nmemory_gb = 64\ngpus = 8\n\
                          [fabric]\nnodes_per_leaf = 2\nleaves_per_spine = 2\n";

/// Jobs 0–3 fill nodes 0–3 from 0 and end at 200, 50, 1000 and 60; job 4 (submit 10) asks
/// for two whole nodes. Nodes 1 and 3 are free from 60, on two leaves; nodes 0 and 1, one
/// leaf, from 200.
fn case(limit: Option<SwitchLimit>) -> Workload {
    let spec = cluster(TWO_LEAVES);
    let jobs = [
        (0, 200, 200, 1, 8),
        (0, 50, 50, 1, 8),
        (0, 1000, 1000, 1, 8),
        (0, 60, 60, 1, 8),
        (10, 100, 100, 2, 8),
    ];
    let mut w = workload(&spec, &jobs, Placement::FirstFit);
    w.nodes.as_mut().unwrap().class_switches = vec![limit];
    w
}

/// Job 4's start, s, and its nodes; the metrics count it within or beyond its limit.
fn job4(r: &RunResult) -> (u64, Vec<u32>) {
    let s = r.segments.iter().find(|s| s.job == JobIdx(4)).unwrap();
    (s.start.as_ms() / 1000, r.nodes_of(s).to_vec())
}

#[test]
fn a_job_waits_for_one_leaf_switch_up_to_its_bound() {
    for policy in [PolicyKind::Fcfs, PolicyKind::Easy] {
        // Without a limit it takes nodes 1 and 3 at 60.
        assert_eq!(
            job4(&run_checked(&case(None), policy)),
            (60, vec![1, 3]),
            "{policy}"
        );
        // One leaf, waiting up to 300 s (to 310): nodes 0 and 1 at 200.
        let one_leaf = SwitchLimit {
            leaves: 1,
            max_wait_ms: 300_000,
        };
        assert_eq!(
            job4(&run_checked(&case(Some(one_leaf)), policy)),
            (200, vec![0, 1]),
            "{policy}"
        );
        // Waiting up to 100 s (to 110): then any nodes, at 110.
        let short = SwitchLimit {
            leaves: 1,
            max_wait_ms: 100_000,
        };
        assert_eq!(
            job4(&run_checked(&case(Some(short)), policy)),
            (110, vec![1, 3]),
            "{policy}"
        );
        // Two leaves are allowed: as without a limit.
        let two = SwitchLimit {
            leaves: 2,
            max_wait_ms: 300_000,
        };
        assert_eq!(
            job4(&run_checked(&case(Some(two)), policy)),
            (60, vec![1, 3]),
            "{policy}"
        );
    }
}

#[test]
fn switches_keys_are_checked() {
    use common::{clustersim, scratch, text};
    let dir = scratch("switches-keys");
    let base = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/fabric-oversubscribed.toml"),
    )
    .unwrap();
    let at = base.find("[[workload.generator.classes]]").unwrap();
    let with = |extra: &str| {
        let mut s = base.clone();
        let end = s[at..].find('\n').unwrap() + at + 1;
        s.insert_str(end, extra);
        s
    };
    for (i, (text_of_file, message)) in [
        (with("switches = 0\n"), "at least 1 leaf switch"),
        (with("max_switch_wait_s = 60\n"), "a wait without switches"),
    ]
    .iter()
    .enumerate()
    {
        let file = dir.join(format!("case{i}.toml"));
        std::fs::write(&file, text_of_file).unwrap();
        let o = clustersim(&["validate", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(message), "{}", text(&o));
        assert!(text(&o).contains(&format!("case{i}.toml:")), "{}", text(&o));
        assert!(text(&o).contains(".switches") || text(&o).contains(".max_switch_wait_s"));
    }
    // A valid limit runs, and its jobs start.
    let file = dir.join("ok.toml");
    std::fs::write(&file, with("switches = 1\nmax_switch_wait_s = 600\n")).unwrap();
    let out = dir.join("out");
    let (_, summary) = common::run_scenario(file.to_str().unwrap(), &out, &[]);
    let m = &summary["metrics"]["switches"];
    let jobs = m["jobs"].as_u64().unwrap();
    assert!(jobs > 0, "{m}");
    assert_eq!(
        jobs,
        m["within_limit"].as_u64().unwrap() + m["beyond_limit"].as_u64().unwrap()
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("leaf-switch limits"));
}
