//! Alibaba's disaggregated DLRM trace from ../shared/traces/gpu: every instance becomes a
//! one-node job or a counted drop, known rows map as documented, and the jobs replay under
//! EASY with every node-level invariant holding.

mod common;

use clustersim::check::{check_nodes, check_schedule};
use clustersim::cluster::nodes::Placement;
use clustersim::cluster::spec::ClusterSpec;
use clustersim::engine::time::{SimDuration, SimTime};
use clustersim::policy::PolicyKind;
use clustersim::run::{run, RunOptions};
use clustersim::workload::dlrm::read_dlrm_file;
use clustersim::workload::JobKind;

/// CPU nodes and 8-GPU nodes of 96 cores and 768 GiB: the 192-vCPU instances and those
/// asking for more than 768 GiB fit no node.
const CLUSTER: &str = "[node_types.cn]\ncount = 600\ncores = 96\nmemory_gb = 768\n\
                       [node_types.hn]\ncount = 40\ncores = 96\nmemory_gb = 768\ngpus = 8\n\
                       gpu_model = \"A10\"\n";

#[test]
fn dlrm_instances_replay_as_one_node_jobs() {
    let Some(shared) = common::shared_dir("dlrm_instances_replay_as_one_node_jobs") else {
        return;
    };
    let path = shared.join("traces/gpu/disaggregated_DLRM_trace.csv.gz");
    let cluster: ClusterSpec = toml::from_str(CLUSTER).unwrap();
    cluster.validate().unwrap();
    let w = read_dlrm_file(&path, &cluster, Placement::BestFit).unwrap();

    // Every row is a job or a counted drop.
    assert_eq!(w.input_jobs, 23_871);
    assert_eq!(w.jobs.len() + w.dropped.len(), 23_871);
    let by_reason = w.dropped_by_reason();
    // Created before the trace started (4,677 alive throughout, 2,603 deleted during it).
    assert_eq!(by_reason["negative_submit"], 7_280);
    // Still alive when the trace ended.
    assert_eq!(by_reason["no_end"], 4_201);
    // 271 instances of 192 vCPUs and 2 of 800 GiB on 96-core, 768-GiB nodes.
    assert_eq!(by_reason["no_node_fits"], 273);
    assert_eq!(by_reason.values().sum::<u64>(), 7_280 + 4_201 + 273);
    assert_eq!(w.jobs.len(), 12_390 - 273);
    assert_eq!(w.meta.format, "dlrm");
    assert_eq!(w.machine_procs, 640 * 96);

    // Known drops, by line (the header is line 1; instance_<n> is on line n + 2).
    let dropped = |line: u64| w.dropped.iter().find(|d| d.line == line).unwrap();
    assert_eq!(dropped(2).reason.as_str(), "negative_submit"); // instance_0, no times
    assert_eq!(dropped(2456).reason.as_str(), "negative_submit"); // instance_2454, deleted at 85 s
    assert_eq!(dropped(7282).reason.as_str(), "no_end"); // instance_7280
    let big = dropped(7288); // instance_7286: 192 vCPUs, 937.5 GiB
    assert_eq!(big.reason.as_str(), "no_node_fits");
    assert!(big
        .detail
        .contains("instance_7286 (192 cores, 960000 MiB, 0 GPUs)"));
    assert!(w.dropped.windows(2).all(|p| p[0].line < p[1].line));

    // Jobs in queue order, and known rows' values (trace id n + 1 for instance_<n>).
    assert!(w
        .jobs
        .windows(2)
        .all(|p| (p[0].submit, p[0].trace_id) < (p[1].submit, p[1].trace_id)));
    let nw = w.nodes.as_ref().unwrap();
    assert_eq!(nw.classes, ["HN", "CN"]);
    assert_eq!(nw.partitions, ["all"]);
    let job = |instance: u64| {
        let i = w
            .jobs
            .iter()
            .position(|j| j.trace_id == instance + 1)
            .unwrap();
        (
            &w.jobs[i],
            &nw.requests[i],
            nw.classes[nw.class_of[i] as usize].as_str(),
        )
    };
    // instance_7281: CN app_88, 64 vCPUs, 320 GiB; created 610, scheduled 683, deleted 91,730.
    let (j, r, class) = job(7281);
    assert_eq!(j.submit, SimTime::from_secs(610));
    assert_eq!(j.work, SimDuration::from_secs(91_730 - 683));
    assert_eq!(j.estimate, j.work);
    assert_eq!((j.procs, j.group, j.kind), (64, 88, JobKind::Interactive));
    assert_eq!(
        (
            r.nodes,
            r.cores_per_node,
            r.memory_mb_per_node,
            r.gpus_per_node
        ),
        (1, 64, 320 * 1024, 0)
    );
    assert_eq!(class, "CN");
    // instance_7284: created and scheduled at 475.00000000000006, deleted at 2,843.
    let (j, r, _) = job(7284);
    assert_eq!(j.submit, SimTime::from_secs(475));
    assert_eq!(j.work, SimDuration::from_secs(2_843 - 475));
    assert_eq!((r.cores_per_node, r.memory_mb_per_node), (96, 480 * 1024));
    // instance_13574 (the README's example): 1,435,629 to 1,435,760.
    let (j, _, _) = job(13574);
    assert_eq!(j.submit, SimTime::from_secs(1_435_629));
    assert_eq!(j.work, SimDuration::from_secs(131));
    assert_eq!(j.group, 130);
    // instance_10857: HN app_129, 8 vCPUs, 1 GPU, 400 GiB.
    let (j, r, class) = job(10857);
    assert_eq!(j.submit, SimTime::from_secs(989_980));
    assert_eq!(j.work, SimDuration::from_secs(1_104_224 - 989_980));
    assert_eq!(
        (r.cores_per_node, r.memory_mb_per_node, r.gpus_per_node),
        (8, 400 * 1024, 1)
    );
    assert_eq!((class, j.group), ("HN", 129));
    let gpu_jobs = nw.requests.iter().filter(|r| r.gpus_per_node == 1).count();
    assert_eq!(gpu_jobs, 3_218);

    // The replay: every job runs, on nodes that hold it.
    let o = run(&w, PolicyKind::Easy, &RunOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(o.result.end.len(), w.jobs.len());
    check_schedule(&w, &o.result).unwrap();
    check_nodes(&w, &o.result).unwrap();
    for (i, j) in w.jobs.iter().enumerate() {
        assert!(o.result.start[i] >= j.submit);
        assert_eq!(o.result.end[i], o.result.start[i] + j.work);
        assert_eq!(o.result.last_nodes(i).len(), 1);
    }
    // The cluster is smaller than the trace's peak demand (≈ 63,000 vCPUs): jobs queue.
    assert!(o.result.max_waiting > 0);
    let res = o.summary.metrics.resources.as_ref().unwrap();
    assert_eq!(res.gpus.capacity, 320);
    assert!(res.gpus.utilization > 0.0);
}

#[test]
fn dlrm_instances_all_fit_nodes_of_192_cores_and_1_tib() {
    let Some(shared) = common::shared_dir("dlrm_instances_all_fit_nodes_of_192_cores_and_1_tib")
    else {
        return;
    };
    let path = shared.join("traces/gpu/disaggregated_DLRM_trace.csv.gz");
    let cluster: ClusterSpec = toml::from_str(
        "[node_types.cn]\ncount = 10\ncores = 192\nmemory_gb = 1024\n\
         [node_types.hn]\ncount = 10\ncores = 96\nmemory_gb = 512\ngpus = 8\n",
    )
    .unwrap();
    let w = read_dlrm_file(&path, &cluster, Placement::BestFit).unwrap();
    assert_eq!(w.input_jobs, 23_871);
    assert_eq!(w.jobs.len(), 12_390);
    let by_reason = w.dropped_by_reason();
    assert_eq!(by_reason["no_node_fits"], 0);
    assert_eq!(
        by_reason["negative_submit"] + by_reason["no_end"],
        23_871 - 12_390
    );
    // Reading is deterministic.
    let again = read_dlrm_file(&path, &cluster, Placement::BestFit).unwrap();
    assert_eq!(w.jobs, again.jobs);
    assert_eq!(w.dropped, again.dropped);
    assert_eq!(
        w.nodes.as_ref().unwrap().requests,
        again.nodes.as_ref().unwrap().requests
    );
}
