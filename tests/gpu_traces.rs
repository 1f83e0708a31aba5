//! Alibaba openb GPU traces from ../shared/traces/gpu: the node list becomes the cluster,
//! pods become node-level jobs (whole GPUs, or MIG slices for fractional requests), GPU
//! model constraints restrict the nodes, and every node-level invariant holds.

mod common;

use clustersim::check::{check_nodes, check_policy, check_schedule};
use clustersim::cluster::nodes::Placement;
use clustersim::cluster::spec::ClusterSpec;
use clustersim::policy::PolicyKind;
use clustersim::run::{run, RunOptions};
use clustersim::workload::openb::{read_node_list, read_pod_list, Fractional};

#[test]
fn openb_pods_replay_on_the_openb_nodes() {
    let Some(shared) = common::shared_dir("openb_pods_replay_on_the_openb_nodes") else {
        return;
    };
    let gpu = shared.join("traces/gpu");
    let cluster = read_node_list(&gpu.join("openb_node_list_all_node.csv.gz")).unwrap();
    cluster.validate().unwrap();
    assert_eq!(cluster.total_nodes(), 1_523);
    assert_eq!(cluster.total_gpus(), 6_212);
    let w = read_pod_list(
        &gpu.join("openb_pod_list_default.csv.gz"),
        &cluster,
        Fractional::Whole,
        Placement::BestFit,
    )
    .unwrap();
    assert_eq!(w.input_jobs, 8_152);
    // 897 pods were never scheduled: dropped with that reason, nothing else lost.
    assert_eq!(w.dropped.len(), 897);
    assert!(w
        .dropped
        .iter()
        .all(|d| d.reason.as_str() == "never_started"));
    assert_eq!(w.jobs.len(), 8_152 - 897);
    for policy in [PolicyKind::Fcfs, PolicyKind::Easy] {
        let o = run(&w, policy, &RunOptions::default(), &mut |_| {}).unwrap();
        check_schedule(&w, &o.result).unwrap();
        check_policy(policy, &w, &o.result).unwrap();
        check_nodes(&w, &o.result).unwrap();
        let r = o.summary.metrics.resources.as_ref().unwrap();
        assert_eq!(r.gpus.capacity, 6_212);
        assert!(r.gpus.utilization > 0.0);
    }

    // GPU model constraints: a pod that allows only T4 runs on T4 nodes.
    let spec33 = read_pod_list(
        &gpu.join("openb_pod_list_gpuspec33.csv.gz"),
        &cluster,
        Fractional::Whole,
        Placement::BestFit,
    )
    .unwrap();
    let o = run(
        &spec33,
        PolicyKind::Easy,
        &RunOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    check_nodes(&spec33, &o.result).unwrap();
    let nw = spec33.nodes.as_ref().unwrap();
    let constrained: Vec<usize> = (0..spec33.jobs.len())
        .filter(|&i| {
            let allowed = nw.requests[i].allowed_types;
            nw.cluster
                .types()
                .iter()
                .enumerate()
                .any(|(ti, _)| allowed & (1 << ti) == 0)
        })
        .collect();
    assert!(!constrained.is_empty(), "gpuspec33 constrains some pods");
    for &i in &constrained {
        for &n in o.result.last_nodes(i) {
            let ti = nw.cluster.type_index(n);
            assert!(nw.requests[i].allowed_types & (1 << ti) != 0);
        }
    }
}

#[test]
fn fractional_gpus_become_mig_slices_when_asked() {
    let Some(shared) = common::shared_dir("fractional_gpus_become_mig_slices_when_asked") else {
        return;
    };
    let gpu = shared.join("traces/gpu");
    let cluster: ClusterSpec = toml::from_str(
        "[node_types.whole]\ncount = 400\ncores = 96\nmemory_gb = 768\ngpus = 8\ngpu_model = \"A100\"\n\
         [node_types.mig]\ncount = 200\ncores = 96\nmemory_gb = 768\ngpus = 8\ngpu_model = \"A100\"\n\
         mig = { profile = \"1g.10gb\", slices_per_gpu = 7 }\n\
         [node_types.cpu]\ncount = 400\ncores = 96\nmemory_gb = 768\n",
    )
    .unwrap();
    cluster.validate().unwrap();
    let w = read_pod_list(
        &gpu.join("openb_pod_list_default.csv.gz"),
        &cluster,
        Fractional::Mig,
        Placement::BestFit,
    )
    .unwrap();
    let nw = w.nodes.as_ref().unwrap();
    let sliced = nw
        .requests
        .iter()
        .filter(|r| r.mig_slices_per_node > 0)
        .count();
    assert!(sliced > 1_000, "fractional pods ask for slices: {sliced}");
    // A 460-milli GPU is ⌈0.46 × 7⌉ = 4 slices.
    assert!(nw.requests.iter().any(|r| r.mig_slices_per_node == 4));
    let o = run(&w, PolicyKind::Easy, &RunOptions::default(), &mut |_| {}).unwrap();
    check_nodes(&w, &o.result).unwrap();
    let r = o.summary.metrics.resources.as_ref().unwrap();
    assert!(r.mig_slices.utilization > 0.0);
}

#[test]
fn the_cli_replays_openb_with_its_node_list() {
    let Some(shared) = common::shared_dir("the_cli_replays_openb_with_its_node_list") else {
        return;
    };
    let gpu = shared.join("traces/gpu");
    let pods = gpu.join("openb_pod_list_default.csv.gz");
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("openb_cli");
    let _ = std::fs::remove_dir_all(&out);
    let cli = |extra: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_clustersim"));
        c.args([
            "run",
            "-q",
            "--no-plots",
            "--trace-format",
            "openb",
            "--workload",
        ])
        .arg(&pods)
        .args(extra);
        c.output().unwrap()
    };
    let missing = cli(&[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--node-list"));
    let nodes = gpu.join("openb_node_list_all_node.csv.gz");
    let ok = cli(&[
        "--node-list",
        nodes.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["format"], "openb");
    assert_eq!(summary["jobs"]["dropped_by_reason"]["never_started"], 897);
    assert_eq!(summary["metrics"]["resources"]["nodes"], 1523);
}
