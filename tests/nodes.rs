//! Node-level scheduling: exact schedules on hand-made GPU workloads (a backfilled job never
//! touches the nodes reserved for the head unless it ends in time), placement rules, the
//! node-level invariants on random workloads under every placement, drops with reasons, and
//! determinism.

mod common;

use clustersim::check::{check_nodes, check_policy, check_schedule};
use clustersim::cluster::nodes::Placement;
use clustersim::engine::time::SimTime;
use clustersim::policy::PolicyKind;
use clustersim::run::{run, RunOptions, RunOutcome};
use clustersim::workload::classes::{generate, ClassGenerator, JobClassSpec};
use clustersim::workload::{JobKind, Workload};
use common::nodes::{cluster, workload, TWO_GPU_NODES};

fn simulate(w: &Workload, policy: PolicyKind) -> RunOutcome {
    let outcome = run(w, policy, &RunOptions::default(), &mut |_| {}).expect("run completes");
    check_schedule(w, &outcome.result).unwrap();
    check_policy(policy, w, &outcome.result).unwrap();
    check_nodes(w, &outcome.result).unwrap();
    outcome
}

fn starts(o: &RunOutcome) -> Vec<u64> {
    o.result.start.iter().map(|t| t.as_ms() / 1000).collect()
}

#[test]
fn easy_backfills_only_around_the_reserved_nodes() {
    let spec = cluster(TWO_GPU_NODES);
    let jobs = [
        (0, 100, 100, 1, 4), // 1: half of a node until 100
        (1, 50, 50, 1, 8),   // 2: a whole node: starts on the other node at 1
        (2, 100, 100, 2, 8), // 3: both nodes: the head, reserved for 100 on nodes 0 and 1
        (3, 40, 40, 1, 4),   // 4: fits now (node with job 1) and ends by 100: backfilled
        (4, 500, 500, 1, 2), // 5: would still run at 100 on a reserved node: waits
        (200, 10, 10, 1, 8), // 6: beside job 5 once the head is done
    ];
    let w = workload(&spec, &jobs, Placement::BestFit);
    let easy = simulate(&w, PolicyKind::Easy);
    assert_eq!(starts(&easy), vec![0, 1, 100, 3, 200, 200]);
    assert_eq!(
        easy.result.first_reservation[2],
        Some(SimTime::from_secs(100))
    );
    // Job 4 packed beside job 1 (best-fit), job 3 on both nodes.
    assert_eq!(easy.result.last_nodes(3), easy.result.last_nodes(0));
    let mut both = easy.result.last_nodes(2).to_vec();
    both.sort_unstable();
    assert_eq!(both, vec![0, 1]);
    // FCFS starts nothing behind the blocked head.
    let fcfs = simulate(&w, PolicyKind::Fcfs);
    assert_eq!(starts(&fcfs), vec![0, 1, 100, 200, 200, 200]);
}

#[test]
fn a_job_may_backfill_on_unreserved_nodes_even_if_it_runs_long() {
    // Three nodes; the head needs one whole node and gets the first to free up; a long job
    // fits on another node and is started there, away from the reserved one.
    let spec = cluster("[node_types.gpu]\ncount = 3\ncores = 16\nmemory_gb = 64\ngpus = 8\n");
    let jobs = [
        (0, 100, 100, 1, 8),   // node A until 100
        (0, 200, 200, 1, 8),   // node B until 200
        (0, 300, 300, 1, 4),   // half of node C until 300
        (1, 10, 10, 1, 8),     // head: a whole node: reserved at 100 on node A
        (2, 1000, 1000, 1, 4), // long, fits beside job 3 on node C: backfilled now
    ];
    let w = workload(&spec, &jobs, Placement::BestFit);
    let easy = simulate(&w, PolicyKind::Easy);
    assert_eq!(starts(&easy), vec![0, 0, 0, 100, 2]);
    assert_eq!(easy.result.last_nodes(4), easy.result.last_nodes(2));
    assert_eq!(easy.result.last_nodes(3), easy.result.last_nodes(0));
}

#[test]
fn placements_choose_different_nodes() {
    let spec = cluster("[node_types.gpu]\ncount = 4\ncores = 16\nmemory_gb = 64\ngpus = 8\n[fabric]\nnodes_per_leaf = 2\nleaves_per_spine = 2\n");
    let jobs = [
        (0, 100, 100, 1, 6),
        (1, 100, 100, 1, 2),
        (2, 100, 100, 2, 8),
    ];
    let nodes_of = |p: Placement| {
        let o = simulate(&workload(&spec, &jobs, p), PolicyKind::Fcfs);
        (0..o.result.log.len())
            .map(|i| o.result.last_nodes(i).to_vec())
            .collect::<Vec<_>>()
    };
    // Best-fit packs the 2-GPU job beside the 6-GPU one; spread puts it on an empty node.
    assert_eq!(nodes_of(Placement::BestFit)[1], vec![0]);
    assert_eq!(nodes_of(Placement::Spread)[1], vec![1]);
    assert_eq!(nodes_of(Placement::FirstFit)[1], vec![0]);
    // Topology keeps the 2-node job on one leaf (nodes 2 and 3).
    let mut topo = nodes_of(Placement::Topology)[2].clone();
    topo.sort_unstable();
    assert_eq!(topo, vec![2, 3]);
}

const GPU_CLUSTER: &str = "
[node_types.cpu]
count = 6
cores = 32
memory_gb = 128
[node_types.gpu]
count = 6
cores = 48
memory_gb = 512
gpus = 8
[node_types.mig]
count = 2
cores = 48
memory_gb = 512
gpus = 4
mig = { profile = \"1g.10gb\", slices_per_gpu = 7 }
[partitions.batch]
node_types = [\"cpu\", \"gpu\"]
kinds = \"batch\"
max_walltime_s = 86400
[partitions.interactive]
node_types = [\"mig\"]
kinds = \"interactive\"
max_walltime_s = 14400
[fabric]
nodes_per_leaf = 4
leaves_per_spine = 2
";

fn classes() -> Vec<JobClassSpec> {
    let text = r#"
[[c]]
name = "train"
share = 0.4
nodes = [1, 2, 3]
gpus_per_node = [1, 2, 4, 8]
cores_per_node = 16
memory_gb_per_node = 64
runtime_median_s = 3000
runtime_sigma = 1.0
[[c]]
name = "notebook"
share = 0.4
kind = "interactive"
mig_slices_per_node = 2
cores_per_node = 2
memory_gb_per_node = 8
runtime_median_s = 1200
[[c]]
name = "cpu"
share = 0.2
nodes = [1, 2, 4]
cores_per_node = 24
memory_gb_per_node = 100
runtime_median_s = 600
exclusive = false
[[c]]
name = "huge"
share = 0.01
nodes = [64]
cores_per_node = 1
runtime_median_s = 100
"#;
    #[derive(serde::Deserialize)]
    struct C {
        c: Vec<JobClassSpec>,
    }
    toml::from_str::<C>(text).unwrap().c
}

fn generated(seed: u64, placement: Placement) -> Workload {
    let spec = cluster(GPU_CLUSTER);
    let classes = classes();
    generate(&ClassGenerator {
        jobs: 1500,
        load: 0.9,
        classes: &classes,
        cluster: &spec,
        placement,
        seed,
        arrivals: Default::default(),
    })
}

#[test]
fn random_gpu_workloads_keep_every_node_level_invariant() {
    for seed in 1..=4 {
        for placement in [
            Placement::FirstFit,
            Placement::BestFit,
            Placement::Spread,
            Placement::Topology,
        ] {
            let w = generated(seed, placement);
            // 64-node jobs can never run on 14 nodes: dropped, counted, with a reason.
            assert!(w
                .dropped
                .iter()
                .all(|d| d.reason.as_str() == "no_node_fits"));
            assert!(!w.dropped.is_empty());
            assert_eq!(w.jobs.len() + w.dropped.len(), 1500);
            let nw = w.nodes.as_ref().unwrap();
            // Interactive sessions went to the MIG pool, the others to batch.
            for (j, p) in w.jobs.iter().zip(&nw.partition_of) {
                let expected = if j.kind == JobKind::Interactive { 1 } else { 0 };
                assert_eq!(*p, expected);
            }
            for policy in [PolicyKind::Fcfs, PolicyKind::Easy] {
                let a = simulate(&w, policy);
                let b = simulate(&w, policy);
                assert_eq!(a.result, b.result, "seed {seed} {placement:?} {policy}");
            }
        }
    }
}

#[test]
fn conservative_reserves_node_sets_for_every_job() {
    let spec = cluster(TWO_GPU_NODES);
    let jobs = [
        (0, 100, 100, 1, 4), // 1: node 0, half, until 100
        (1, 50, 50, 1, 8),   // 2: node 1 until 51
        (2, 100, 100, 2, 8), // 3: both nodes: reserved at 100
        (3, 40, 40, 1, 4),   // 4: beside job 1 until 43, before the reservation
        (4, 500, 500, 1, 2), // 5: no 500 s window before 200: reserved at 200
        (5, 30, 300, 1, 8),  // 6: estimate 300: after job 5's reservation? no: node 1 at 200
        (6, 10, 20, 1, 2),   // 7: fits node 1 in [51, 100): starts at 51
    ];
    let w = workload(&spec, &jobs, Placement::BestFit);
    let c = simulate(&w, PolicyKind::Conservative);
    assert_eq!(starts(&c), vec![0, 1, 100, 3, 200, 200, 43]);
    // Every job got a reservation, and none started after it.
    for (i, r) in c.result.first_reservation.iter().enumerate() {
        let at = r.expect("a reservation");
        assert!(c.result.start[i] <= at);
    }
    // Job 5 reserved 2 GPUs at 200 on node 0 (best-fit over two empty nodes: the lower),
    // job 6 the whole of node 1.
    assert_eq!(c.result.last_nodes(4), vec![0]);
    assert_eq!(c.result.last_nodes(5), vec![1]);
}

#[test]
fn conservative_compresses_when_jobs_end_early() {
    let spec = cluster(TWO_GPU_NODES);
    let jobs = [
        (0, 10, 100, 2, 8), // both nodes; estimated until 100, really until 10
        (1, 50, 50, 2, 8),  // reserved at 100, compressed to 10
        (2, 30, 30, 1, 8),  // reserved at 150, compressed to 60
    ];
    let w = workload(&spec, &jobs, Placement::BestFit);
    let c = simulate(&w, PolicyKind::Conservative);
    assert_eq!(starts(&c), vec![0, 10, 60]);
    assert_eq!(c.result.first_reservation[1], Some(SimTime::from_secs(100)));
    assert_eq!(c.result.first_reservation[2], Some(SimTime::from_secs(150)));
}

#[test]
fn conservative_on_random_gpu_workloads_keeps_every_invariant() {
    for seed in 1..=2 {
        for placement in [Placement::BestFit, Placement::Topology] {
            let w = generated(seed, placement);
            let a = simulate(&w, PolicyKind::Conservative);
            let b = simulate(&w, PolicyKind::Conservative);
            assert_eq!(a.result, b.result);
        }
    }
}
