//! A partition may place its jobs by its own rule (`[cluster.partitions.X] placement`): an
//! interactive pool that spreads sessions over its nodes beside batch partitions that pack.

mod common;

use clustersim::check::{check_nodes, check_schedule};
use clustersim::cluster::nodes::Placement;
use clustersim::policy::PolicyKind;
use clustersim::simulation::simulate;
use common::nodes::{cluster, workload, TWO_GPU_NODES};
use common::{clustersim_in_repo, scratch, text};

/// Two one-GPU sessions on two 8-GPU nodes, the second arriving while the first runs.
fn two_sessions(partition_rule: Option<Placement>) -> Vec<Vec<u32>> {
    let spec = cluster(TWO_GPU_NODES);
    let mut w = workload(
        &spec,
        &[(0, 100, 100, 1, 1), (1, 100, 100, 1, 1)],
        Placement::BestFit,
    );
    w.nodes.as_mut().unwrap().partition_placement = vec![partition_rule];
    let mut nodes_of = Vec::new();
    for policy in PolicyKind::ALL {
        let mut p = policy.build_for(&w).unwrap();
        let r = simulate(&w, p.as_mut(), &mut |_| {}).unwrap();
        check_schedule(&w, &r).unwrap();
        check_nodes(&w, &r).unwrap();
        let placed: Vec<u32> = (0..2).map(|i| r.last_nodes(i)[0]).collect();
        nodes_of.push(placed);
    }
    nodes_of
}

#[test]
fn a_partition_rule_overrides_the_policy_rule() {
    // Best-fit packs both sessions on node 0, under every policy.
    assert!(two_sessions(None).iter().all(|n| n == &[0, 0]));
    // The partition's spread puts the second on the emptier node 1.
    assert!(two_sessions(Some(Placement::Spread))
        .iter()
        .all(|n| n == &[0, 1]));
    // A partition that names the policy's rule changes nothing.
    assert_eq!(two_sessions(Some(Placement::BestFit)), two_sessions(None));
}

#[test]
fn a_scenario_gives_a_pool_its_own_rule_and_a_bad_one_is_an_error() {
    let dir = scratch("pool-placement");
    let text_of = |rule: &str| {
        format!(
            r#"
[cluster.node_types.gpu]
count = 4
cores = 16
memory_gb = 64
gpus = 4

[cluster.partitions.batch]
node_types = ["gpu"]
kinds = "batch"

[cluster.partitions.pool]
node_types = ["gpu"]
kinds = "interactive"
placement = "{rule}"

[workload.generator]
jobs = 200
load = 0.5

[[workload.generator.classes]]
name = "notebook"
kind = "interactive"
share = 1.0
gpus_per_node = [1]
cores_per_node = 2
runtime_median_s = 600
"#
        )
    };
    let good = dir.join("spread.toml");
    std::fs::write(&good, text_of("spread")).unwrap();
    let o = clustersim_in_repo(&["validate", good.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let o = clustersim_in_repo(&["run", good.to_str().unwrap(), "--no-plots"]);
    assert!(o.status.success(), "{}", text(&o));
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, text_of("scatter")).unwrap();
    let o = clustersim_in_repo(&["validate", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(
        t.contains("bad.toml") && t.contains("cluster.partitions.pool.placement"),
        "{t}"
    );
}
