//! Several workload sources merged into one run (`[[workload.sources]]`): e.g. a real batch
//! trace plus generated interactive sessions.
//!
//! Each source is read (and shaped by its own filter and load factor) as if it were the
//! scenario's only workload; the merge then:
//! - shifts each source by its `offset_s`;
//! - numbers jobs apart: source k's job and drop numbers are its own plus k × 10⁹ (the
//!   first source keeps its numbers), so `jobs.csv` names every job once and a job can be
//!   traced back to its source;
//! - if any source asks for nodes (a scenario cluster's generator classes, sacct, openb,
//!   DLRM), turns the others' jobs of processors anywhere into node-level requests on the
//!   same cluster: a job of P processors asks for ⌈P / C⌉ nodes of ⌈P / nodes⌉ cores each
//!   (one node of P cores when P ≤ C), C being the most cores of a node type in the
//!   partitions that take its kind (batch or interactive), and goes to the partition the
//!   usual rule picks; classes are named `SOURCE/CLASS`;
//! - orders the jobs by (submit, source, position in the source), so ties between sources
//!   are broken by the order the sources are written in.

use super::activity::Activity;
use super::classes::{attach_requests, ClassShares, NodeWorkload, UserBehaviour};
use super::{DroppedJob, Job, JobKind, Workload};
use crate::cluster::nodes::{NodeRequest, Placement};
use crate::cluster::spec::{ClusterSpec, JobKinds};
use crate::engine::time::SimDuration;

/// How far apart the sources' job numbers are.
pub const ID_STRIDE: u64 = 1_000_000_000;

/// One source, read: its name, its workload, its time offset.
pub struct Source {
    /// A name for reports and class names.
    pub name: String,
    /// The workload as read and shaped.
    pub workload: Workload,
    /// Added to every submit time, s.
    pub offset_s: u64,
}

/// The most cores of a node type in a partition that takes jobs of `kind` (any node type
/// when the cluster has no partitions).
fn most_cores_for(cluster: &ClusterSpec, kind: JobKind) -> u32 {
    let cores_of = |name: &String| cluster.node_types.get(name).map_or(0, |t| t.cores);
    if cluster.partitions.is_empty() {
        return cluster
            .node_types
            .values()
            .map(|t| t.cores)
            .max()
            .unwrap_or(1);
    }
    cluster
        .partitions
        .values()
        .filter(|p| match p.kinds {
            JobKinds::Both => true,
            JobKinds::Batch => kind == JobKind::Batch,
            JobKinds::Interactive => kind == JobKind::Interactive,
        })
        .flat_map(|p| p.node_types.iter().map(cores_of))
        .max()
        .unwrap_or(1)
}

/// A job of processors anywhere as a node-level request: one node when `most_cores`
/// (the largest node its partition could give) holds it, else the fewest nodes that do.
fn request_for_processors(job: &Job, most_cores: u32) -> NodeRequest {
    let procs = job.procs.max(1);
    let nodes = procs.div_ceil(most_cores.max(1));
    NodeRequest {
        nodes,
        tasks_per_node: 1,
        cores_per_node: procs.div_ceil(nodes),
        memory_mb_per_node: 0,
        gpus_per_node: 0,
        mig_slices_per_node: 0,
        exclusive: false,
        allowed_types: 0,
    }
}

/// Merges the sources into one workload (see the module's documentation). `cluster` is
/// the scenario's, needed when some source is node-level.
pub fn merge(
    mut sources: Vec<Source>,
    cluster: Option<&ClusterSpec>,
    placement: Placement,
) -> Result<Workload, String> {
    let node_level = sources.iter().any(|s| s.workload.nodes.is_some());
    if node_level {
        let Some(cluster) = cluster else {
            return Err(
                "sources of node-level jobs are merged on the scenario's [cluster]: add one"
                    .to_string(),
            );
        };
        let most_cores = |kind| most_cores_for(cluster, kind);
        let (batch, interactive) = (most_cores(JobKind::Batch), most_cores(JobKind::Interactive));
        for s in sources.iter_mut().filter(|s| s.workload.nodes.is_none()) {
            let requests = s
                .workload
                .jobs
                .iter()
                .map(|j| {
                    let most = match j.kind {
                        JobKind::Batch => batch,
                        JobKind::Interactive => interactive,
                    };
                    (request_for_processors(j, most), None)
                })
                .collect();
            attach_requests(&mut s.workload, requests, cluster, placement);
        }
    }
    let mut out = Workload {
        machine_procs: sources
            .iter()
            .map(|s| s.workload.machine_procs)
            .max()
            .unwrap_or(0),
        ..Workload::default()
    };
    out.meta = sources
        .first()
        .map(|s| s.workload.meta.clone())
        .unwrap_or_default();
    out.meta.source = sources
        .iter()
        .map(|s| format!("{}: {}", s.name, s.workload.meta.source))
        .collect::<Vec<_>>()
        .join(" + ");
    out.meta.format = "composite".to_string();
    // One source's header lines do not describe the composition.
    out.meta.header_lines.clear();
    out.meta.renumbered_jobs = sources
        .iter()
        .map(|s| s.workload.meta.renumbered_jobs)
        .sum();
    // (submit, source, position) → the job and its node-level parts.
    struct Entry {
        job: Job,
        /// Request, partition, class, idle share.
        node: Option<(NodeRequest, u16, u16, UserBehaviour)>,
    }
    let mut entries: Vec<(u64, usize, usize, Entry)> = Vec::new();
    let mut merged_nodes: Option<NodeWorkload> = None;
    // Each source's activity profiles, by source, read back by (source, position) below.
    let mut activities: Vec<Activity> = Vec::new();
    for (k, s) in sources.into_iter().enumerate() {
        let stride = k as u64 * ID_STRIDE;
        let offset = SimDuration::from_secs(s.offset_s);
        out.input_jobs += s.workload.input_jobs;
        out.dropped
            .extend(s.workload.dropped.into_iter().map(|d| DroppedJob {
                trace_id: d.trace_id.map(|id| id + stride),
                detail: format!("{}: {}", s.name, d.detail),
                ..d
            }));
        let class_base = merged_nodes.as_ref().map_or(0, |m| m.classes.len()) as u16;
        let mut nodes = s.workload.nodes.map(|b| *b);
        activities.push(
            nodes
                .as_mut()
                .map(|nw| std::mem::take(&mut nw.activity))
                .unwrap_or_default(),
        );
        if let Some(nw) = &nodes {
            let m = merged_nodes.get_or_insert_with(|| NodeWorkload {
                partitions: nw.partitions.clone(),
                partition_placement: nw.partition_placement.clone(),
                partition_preemption: nw.partition_preemption.clone(),
                ..NodeWorkload::empty(nw.cluster.clone(), nw.placement)
            });
            if m.partitions != nw.partitions {
                // Both usually run on the scenario's cluster: what differs is whether the
                // reader uses its partitions (DLRM and openb traces do not).
                return Err(format!(
                    "source {:?} puts its jobs in partitions ({}), the first node-level source \
                     in ({}): node-level sources composed in one run must use the same \
                     partitions (DLRM and openb traces ignore [cluster.partitions] and use one \
                     partition \"all\": compose them only on a cluster without partitions)",
                    s.name,
                    nw.partitions.join(", "),
                    m.partitions.join(", ")
                ));
            }
            m.classes
                .extend(nw.classes.iter().map(|c| format!("{}/{c}", s.name)));
            m.class_on_failure.extend(
                (0..nw.classes.len()).map(|c| nw.class_on_failure.get(c).copied().flatten()),
            );
            m.class_checkpoints.extend(
                (0..nw.classes.len()).map(|c| nw.class_checkpoints.get(c).copied().flatten()),
            );
            m.class_switches
                .extend((0..nw.classes.len()).map(|c| nw.class_switches.get(c).copied().flatten()));
            m.class_accounts
                .extend((0..nw.classes.len()).map(|c| nw.class_accounts.get(c).cloned().flatten()));
            m.class_rates.extend(
                (0..nw.classes.len()).map(|c| nw.class_rates.get(c).copied().unwrap_or_default()),
            );
            m.class_staging.extend(
                (0..nw.classes.len()).map(|c| nw.class_staging.get(c).copied().unwrap_or_default()),
            );
        }
        for (i, mut job) in s.workload.jobs.into_iter().enumerate() {
            job.trace_id += stride;
            job.submit = job.submit + offset;
            let node = nodes.as_ref().map(|nw| {
                (
                    nw.requests[i].clone(),
                    nw.partition_of[i],
                    nw.class_of[i] + class_base,
                    nw.user(i),
                )
            });
            entries.push((job.submit.as_ms(), k, i, Entry { job, node }));
        }
    }
    entries.sort_by_key(|&(t, k, i, _)| (t, k, i));
    let any_activity = activities.iter().any(|a| !a.is_empty());
    for (_, k, i, e) in entries {
        out.jobs.push(e.job);
        if let (Some(m), true) = (merged_nodes.as_mut(), any_activity) {
            if e.node.is_some() {
                m.activity.push(activities[k].periods(i));
            }
        }
        if let (Some(m), Some((request, partition, class, user))) = (merged_nodes.as_mut(), e.node)
        {
            m.requests.push(request);
            m.partition_of.push(partition);
            m.class_of.push(class);
            m.users.push(user);
        }
    }
    // Every user behaving by default is said by an empty list.
    if let Some(m) = merged_nodes.as_mut() {
        if m.users.iter().all(|u| *u == UserBehaviour::default()) {
            m.users.clear();
        }
        if m.class_on_failure.iter().all(Option::is_none) {
            m.class_on_failure.clear();
        }
        if m.class_checkpoints.iter().all(Option::is_none) {
            m.class_checkpoints.clear();
        }
        if m.class_switches.iter().all(Option::is_none) {
            m.class_switches.clear();
        }
        if m.class_accounts.iter().all(Option::is_none) {
            m.class_accounts.clear();
        }
        if m.class_rates.iter().all(|r| *r == ClassShares::default()) {
            m.class_rates.clear();
        }
        if m.class_staging.iter().all(|s| !s.any()) {
            m.class_staging.clear();
        }
    }
    out.nodes = merged_nodes.map(Box::new);
    Ok(out)
}
