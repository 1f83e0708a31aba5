//! Node-level workloads built by hand: a cluster from TOML, and GPU jobs on it.

use clustersim::check::{check_nodes, check_policy, check_schedule};
use clustersim::cluster::nodes::{NodeRequest, Nodes, Placement};
use clustersim::cluster::spec::ClusterSpec;
use clustersim::engine::time::{SimDuration, SimTime};
use clustersim::lifecycle::RunResult;
use clustersim::policy::PolicyKind;
use clustersim::workload::classes::NodeWorkload;
use clustersim::workload::{Job, JobKind, Workload};

pub fn cluster(text: &str) -> ClusterSpec {
    let spec: ClusterSpec = toml::from_str(text).unwrap();
    spec.validate().unwrap();
    spec
}

/// Two nodes with 8 GPUs each, on one leaf.
pub const TWO_GPU_NODES: &str =
    "[node_types.gpu]\ncount = 2\ncores = 16\nmemory_gb = 64\ngpus = 8\n";

/// A job: (submit s, run s, estimate s, nodes, GPUs per node).
pub type Spec = (u64, u64, u64, u32, u32);

pub fn workload(spec: &ClusterSpec, jobs: &[Spec], placement: Placement) -> Workload {
    let mut w = Workload {
        machine_procs: spec.schedulable_cores() as u32,
        input_jobs: jobs.len() as u64,
        ..Workload::default()
    };
    let mut requests = Vec::new();
    for (i, &(submit, run_s, est, nodes, gpus)) in jobs.iter().enumerate() {
        w.jobs.push(Job {
            trace_id: i as u64 + 1,
            submit: SimTime::from_secs(submit),
            work: SimDuration::from_secs(run_s),
            estimate: SimDuration::from_secs(est),
            procs: nodes * 2 * gpus.max(1),
            kind: JobKind::Batch,
            user: -1,
            group: -1,
            queue: 1,
            partition: 0,
        });
        requests.push(NodeRequest {
            nodes,
            cores_per_node: 2 * gpus.max(1),
            memory_mb_per_node: 1024,
            gpus_per_node: gpus,
            allowed_types: u64::MAX,
            ..NodeRequest::default()
        });
    }
    put_on_nodes(&mut w, spec, requests, placement);
    w
}

/// Makes `w` a node-level workload on `spec`: one request per job, one partition and one
/// class, every user behaving by default.
pub fn put_on_nodes(
    w: &mut Workload,
    spec: &ClusterSpec,
    requests: Vec<NodeRequest>,
    placement: Placement,
) {
    w.nodes = Some(Box::new(NodeWorkload {
        partition_of: vec![0; requests.len()],
        class_of: vec![0; requests.len()],
        requests,
        classes: vec!["test".into()],
        ..NodeWorkload::empty(Nodes::new(spec), placement)
    }));
}

/// Runs `w` under `policy` and checks every invariant: the schedule, the nodes, the
/// policy's promises.
pub fn run_checked(w: &Workload, policy: PolicyKind) -> RunResult {
    let mut p = policy.build_for(w).unwrap();
    let r =
        clustersim::simulation::simulate(w, p.as_mut(), &mut |_| {}).expect("the run completes");
    check_schedule(w, &r).unwrap();
    check_nodes(w, &r).unwrap();
    check_policy(policy, w, &r).unwrap();
    r
}
