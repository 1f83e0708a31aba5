//! The cluster as a scenario file describes it: node types, partitions (and interactive
//! pools), and the fabric. [`ClusterSpec::validate`] finds contradictions before a run
//! starts; [`ClusterSpec::build`] numbers the nodes.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// `[cluster]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// Node types by name, in file order.
    pub node_types: IndexMap<String, NodeTypeSpec>,
    /// Partitions and pools by name, in file order. Without any, one partition `all`
    /// holds every node and takes every kind of job.
    #[serde(default)]
    pub partitions: IndexMap<String, PartitionSpec>,
    /// The network between the nodes.
    #[serde(default)]
    pub fabric: Option<FabricSpec>,
}

/// `[cluster.node_types.NAME]`: `count` identical nodes.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NodeTypeSpec {
    /// How many nodes of this type.
    pub count: u32,
    /// Cores per node.
    pub cores: u32,
    /// Memory per node, GB (GiB).
    pub memory_gb: u64,
    /// Whole GPUs per node.
    #[serde(default)]
    pub gpus: u32,
    /// The GPU model (e.g. `H100`), for reports.
    #[serde(default)]
    pub gpu_model: Option<String>,
    /// GPU speed relative to the reference GPU (1.0).
    #[serde(default = "one")]
    pub gpu_speed: f64,
    /// MIG layout: every GPU of these nodes is split into slices.
    #[serde(default)]
    pub mig: Option<MigSpec>,
    /// Features (tags) jobs can ask for.
    #[serde(default)]
    pub features: Vec<String>,
}

fn one() -> f64 {
    1.0
}

/// `mig = { profile = "1g.10gb", slices_per_gpu = 7 }`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MigSpec {
    /// The slice profile, `<compute>g.<memory>gb` as NVIDIA names them.
    pub profile: String,
    /// Slices per GPU.
    pub slices_per_gpu: u32,
}

/// Compute units of one GPU that MIG can hand out (A100 and H100: seven).
pub const MIG_COMPUTE_UNITS_PER_GPU: u32 = 7;

/// The most nodes a cluster may have: six times the largest machines built so far, and a
/// guard against a mistyped count asking for more memory than the run could get.
pub const MAX_NODES: u64 = 1_000_000;

/// The most node types a cluster may have: a job's allowed types are a 64-bit mask.
pub const MAX_NODE_TYPES: usize = 64;

/// The most memory a node may have, GB (1 PiB, sixteen times the largest nodes): the
/// cluster's total in MB then always fits the counters.
pub const MAX_MEMORY_GB_PER_NODE: u64 = 1 << 20;

/// The most GPUs a node may have (nodes hold 4 to 16): each GPU is tracked on its own.
pub const MAX_GPUS_PER_NODE: u32 = 64;

impl MigSpec {
    /// (compute units, memory GB) of one slice, from a profile like `3g.40gb`.
    pub fn parse_profile(&self) -> Option<(u32, u32)> {
        let (compute, memory) = self.profile.split_once('.')?;
        let compute: u32 = compute.strip_suffix('g')?.parse().ok()?;
        let memory: u32 = memory.strip_suffix("gb")?.parse().ok()?;
        (compute > 0 && memory > 0).then_some((compute, memory))
    }
}

/// Which kinds of job a partition takes.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JobKinds {
    /// Batch jobs only.
    Batch,
    /// Interactive sessions only (an interactive pool).
    Interactive,
    /// Both.
    #[default]
    Both,
}

/// How a partition's running jobs let go of their nodes for a job of a higher-priority
/// partition (Slurm's `PreemptMode`).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum PreemptMode {
    /// Never preempted.
    #[default]
    Off,
    /// Cancelled: the job ends as `cancelled`.
    Cancel,
    /// Requeued: it waits again, losing the work since its last checkpoint.
    Requeue,
    /// Suspended: its cores, GPUs and slices are freed, its memory stays held; it resumes
    /// on the same nodes once they are free again.
    Suspend,
}

impl PreemptMode {
    /// The name in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            PreemptMode::Off => "off",
            PreemptMode::Cancel => "cancel",
            PreemptMode::Requeue => "requeue",
            PreemptMode::Suspend => "suspend",
        }
    }
}

/// `[cluster.partitions.NAME]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PartitionSpec {
    /// The node types whose nodes belong to the partition (a node may be in several).
    pub node_types: Vec<String>,
    /// Longest walltime a job may ask for here, s (default: no limit).
    #[serde(default)]
    pub max_walltime_s: Option<u64>,
    /// Which kinds of job it takes.
    #[serde(default)]
    pub kinds: JobKinds,
    /// Higher goes first when a job could use several partitions. It is also the
    /// partition's tier for preemption (Slurm's `PriorityTier` under
    /// `PreemptType=preempt/partition_prio`): a job here may preempt running jobs of
    /// partitions of a lower priority whose `preempt_mode` is not `off`.
    #[serde(default)]
    pub priority: i32,
    /// What happens to this partition's running jobs when a job of a higher-priority
    /// partition needs their nodes (Slurm's partition `PreemptMode`; default `off`: they
    /// are never preempted).
    #[serde(default)]
    pub preempt_mode: PreemptMode,
    /// Time a cancelled or requeued victim from this partition keeps running after it is
    /// told to let go, s (Slurm's `GraceTime`; default 0). Suspension is immediate.
    #[serde(default)]
    pub grace_time_s: u64,
    /// How this partition's jobs are placed (default: the policy's `placement`), e.g.
    /// `spread` for an interactive pool, so that sessions do not pile onto a few nodes.
    #[serde(default)]
    pub placement: Option<Placement>,
    /// How many sessions' cores one physical core may hold (Slurm's
    /// `OverSubscribe=FORCE:K`; default 1: none). Only for a partition of interactive
    /// sessions whose node types no other partition uses: its nodes offer `cores × K`
    /// cores, and sessions whose busy periods overlap share the physical ones (the
    /// slowdown is reported, see `metrics::oversubscription`).
    #[serde(default = "one_u32")]
    pub oversubscribe: u32,
    /// Dynamic backfill: a running session of this pool whose user has been idle this
    /// long, s, may be suspended to let a waiting job of another partition start, and
    /// resumes when its user is back (default 0: never). Only for an interactive pool.
    #[serde(default)]
    pub suspend_idle_after_s: u64,
}

fn one_u32() -> u32 {
    1
}

/// The largest `oversubscribe` factor (Slurm allows up to 32767; 64 sessions per core is
/// already far past any interactive pool's practice).
pub const MAX_OVERSUBSCRIBE: u32 = 64;

/// How to choose among nodes that fit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// The lowest-numbered nodes that fit.
    FirstFit,
    /// The nodes left with the least of their type's scarce resource (packing), ties to
    /// the lower number; jobs that use no GPUs go to nodes without GPUs first.
    #[default]
    BestFit,
    /// The nodes with the most free, ties to the lower number (nodes without GPUs first for
    /// jobs that use none).
    Spread,
    /// The fewest leaf switches, then best-fit within them.
    Topology,
}

/// `[cluster.fabric]`: a two-level fat-tree.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FabricSpec {
    /// The topology; only `fat-tree` so far.
    #[serde(default)]
    pub kind: FabricKind,
    /// Nodes per leaf switch.
    pub nodes_per_leaf: u32,
    /// Leaf switches per spine (pod).
    pub leaves_per_spine: u32,
    /// Leaf oversubscription (down-link to up-link bandwidth), ≥ 1.
    #[serde(default = "one")]
    pub oversubscription: f64,
}

/// Fabric topologies.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FabricKind {
    /// Two-level fat-tree: leaves under spines.
    #[default]
    FatTree,
}

/// A value that parsed but makes no sense: the key path and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    /// Dotted key path.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl ValidationError {
    /// An error at `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl ClusterSpec {
    /// Checks the cluster for impossible values and contradictions.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.node_types.is_empty() {
            return Err(ValidationError::new(
                "cluster.node_types",
                "expected at least one node type, e.g. [cluster.node_types.cpu]",
            ));
        }
        if self.node_types.len() > MAX_NODE_TYPES {
            return Err(ValidationError::new(
                "cluster.node_types",
                format!(
                    "{} node types; expected at most {MAX_NODE_TYPES}",
                    self.node_types.len()
                ),
            ));
        }
        let mut total_nodes: u64 = 0;
        for (name, t) in &self.node_types {
            let key = |field: &str| format!("cluster.node_types.{name}.{field}");
            if t.count == 0 {
                return Err(ValidationError::new(
                    key("count"),
                    "expected at least 1 node",
                ));
            }
            if t.cores == 0 {
                return Err(ValidationError::new(
                    key("cores"),
                    "expected at least 1 core",
                ));
            }
            if t.memory_gb == 0 || t.memory_gb > MAX_MEMORY_GB_PER_NODE {
                return Err(ValidationError::new(
                    key("memory_gb"),
                    format!(
                        "expected 1 to {MAX_MEMORY_GB_PER_NODE} GB, got {}",
                        t.memory_gb
                    ),
                ));
            }
            if !(t.gpu_speed > 0.0 && t.gpu_speed.is_finite()) {
                return Err(ValidationError::new(
                    key("gpu_speed"),
                    format!("expected a positive number, got {}", t.gpu_speed),
                ));
            }
            if t.gpus > MAX_GPUS_PER_NODE {
                return Err(ValidationError::new(
                    key("gpus"),
                    format!(
                        "expected at most {MAX_GPUS_PER_NODE} GPUs per node, got {}",
                        t.gpus
                    ),
                ));
            }
            if t.gpus == 0 && t.gpu_model.is_some() {
                return Err(ValidationError::new(
                    key("gpu_model"),
                    "a GPU model on a node type without GPUs: set gpus",
                ));
            }
            if let Some(mig) = &t.mig {
                if t.gpus == 0 {
                    return Err(ValidationError::new(
                        key("mig"),
                        "MIG slices on a node type without GPUs: set gpus > 0 or drop mig",
                    ));
                }
                let Some((compute, _memory_gb)) = mig.parse_profile() else {
                    return Err(ValidationError::new(
                        key("mig.profile"),
                        format!(
                            "expected a profile like \"1g.10gb\" (<compute>g.<memory>gb), got {:?}",
                            mig.profile
                        ),
                    ));
                };
                if compute > MIG_COMPUTE_UNITS_PER_GPU {
                    return Err(ValidationError::new(
                        key("mig.profile"),
                        format!(
                            "a {} slice needs {compute} compute units; a GPU has \
                             {MIG_COMPUTE_UNITS_PER_GPU}",
                            mig.profile
                        ),
                    ));
                }
                if mig.slices_per_gpu == 0
                    || u64::from(compute) * u64::from(mig.slices_per_gpu)
                        > u64::from(MIG_COMPUTE_UNITS_PER_GPU)
                {
                    return Err(ValidationError::new(
                        key("mig.slices_per_gpu"),
                        format!(
                            "a GPU has {MIG_COMPUTE_UNITS_PER_GPU} compute units: {} slices of \
                             {} use {}; expected 1 to {}",
                            mig.slices_per_gpu,
                            mig.profile,
                            u64::from(compute) * u64::from(mig.slices_per_gpu),
                            MIG_COMPUTE_UNITS_PER_GPU / compute
                        ),
                    ));
                }
            }
            total_nodes += u64::from(t.count);
        }
        if total_nodes > MAX_NODES {
            return Err(ValidationError::new(
                "cluster.node_types",
                format!("{total_nodes} nodes in all; expected at most {MAX_NODES}"),
            ));
        }
        for (name, p) in &self.partitions {
            let key = |field: &str| format!("cluster.partitions.{name}.{field}");
            if p.node_types.is_empty() {
                return Err(ValidationError::new(
                    key("node_types"),
                    "expected at least one node type",
                ));
            }
            for t in &p.node_types {
                if !self.node_types.contains_key(t) {
                    let known: Vec<&str> = self.node_types.keys().map(String::as_str).collect();
                    return Err(ValidationError::new(
                        key("node_types"),
                        format!(
                            "node type {t:?} does not exist (node types: {})",
                            known.join(", ")
                        ),
                    ));
                }
            }
            if p.oversubscribe == 0 || p.oversubscribe > MAX_OVERSUBSCRIBE {
                return Err(ValidationError::new(
                    key("oversubscribe"),
                    format!(
                        "expected 1 to {MAX_OVERSUBSCRIBE} (sessions per physical core), got {}",
                        p.oversubscribe
                    ),
                ));
            }
            if p.suspend_idle_after_s > 0 && p.kinds != JobKinds::Interactive {
                return Err(ValidationError::new(
                    key("suspend_idle_after_s"),
                    "only an interactive pool's idle sessions may be suspended: set \
                     kinds = \"interactive\"",
                ));
            }
            if p.oversubscribe > 1 {
                if p.kinds != JobKinds::Interactive {
                    return Err(ValidationError::new(
                        key("oversubscribe"),
                        "only an interactive pool's cores may be oversubscribed: set \
                         kinds = \"interactive\"",
                    ));
                }
                if let Some((other, t)) = self.partitions.iter().find_map(|(other, q)| {
                    (other != name)
                        .then(|| q.node_types.iter().find(|t| p.node_types.contains(t)))
                        .flatten()
                        .map(|t| (other, t))
                }) {
                    return Err(ValidationError::new(
                        key("oversubscribe"),
                        format!(
                            "node type {t:?} is also in partition {other:?}: an \
                             oversubscribed pool's nodes must be its own"
                        ),
                    ));
                }
            }
            if p.max_walltime_s == Some(0) {
                return Err(ValidationError::new(
                    key("max_walltime_s"),
                    "expected a positive number of seconds",
                ));
            }
        }
        if let Some(f) = &self.fabric {
            if f.nodes_per_leaf == 0 {
                return Err(ValidationError::new(
                    "cluster.fabric.nodes_per_leaf",
                    "expected at least 1 node per leaf switch",
                ));
            }
            if f.leaves_per_spine == 0 {
                return Err(ValidationError::new(
                    "cluster.fabric.leaves_per_spine",
                    "expected at least 1 leaf per spine",
                ));
            }
            if !(f.oversubscription >= 1.0 && f.oversubscription.is_finite()) {
                return Err(ValidationError::new(
                    "cluster.fabric.oversubscription",
                    format!("expected a number ≥ 1, got {}", f.oversubscription),
                ));
            }
        }
        Ok(())
    }

    /// Cores of all nodes.
    pub fn total_cores(&self) -> u64 {
        self.node_types
            .values()
            .map(|t| u64::from(t.count) * u64::from(t.cores))
            .sum()
    }

    /// Cores jobs may be given on all nodes: each type's cores × its partition's
    /// `oversubscribe` factor (the engine's processor count; [`Self::total_cores`] without
    /// oversubscription).
    pub fn schedulable_cores(&self) -> u64 {
        self.node_types
            .iter()
            .map(|(name, t)| {
                u64::from(t.count) * u64::from(t.cores) * u64::from(self.oversubscribe_of(name))
            })
            .sum()
    }

    /// Whole GPUs of all nodes (MIG-sliced GPUs included).
    pub fn total_gpus(&self) -> u64 {
        self.node_types
            .values()
            .map(|t| u64::from(t.count) * u64::from(t.gpus))
            .sum()
    }

    /// How many sessions' cores one core of node type `name` may hold: its partition's
    /// `oversubscribe` (1 when no partition oversubscribes it).
    pub fn oversubscribe_of(&self, name: &str) -> u32 {
        self.partitions
            .values()
            .filter(|p| p.node_types.iter().any(|t| t == name))
            .map(|p| p.oversubscribe)
            .max()
            .unwrap_or(1)
    }

    /// Nodes of all types.
    pub fn total_nodes(&self) -> u64 {
        self.node_types.values().map(|t| u64::from(t.count)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> ClusterSpec {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn contradictions_are_found_with_their_key() {
        let s = spec(
            "[node_types.cpu]\ncount = 2\ncores = 8\nmemory_gb = 16\nmig = { profile = \"1g.10gb\", slices_per_gpu = 7 }\n",
        );
        assert_eq!(s.validate().unwrap_err().key, "cluster.node_types.cpu.mig");
        let s = spec(
            "[node_types.cpu]\ncount = 2\ncores = 8\nmemory_gb = 16\n[partitions.batch]\nnode_types = [\"gpu\"]\n",
        );
        let e = s.validate().unwrap_err();
        assert_eq!(e.key, "cluster.partitions.batch.node_types");
        assert!(
            e.message.contains("\"gpu\" does not exist"),
            "{}",
            e.message
        );
        let s = spec(
            "[node_types.g]\ncount = 1\ncores = 8\nmemory_gb = 16\ngpus = 8\nmig = { profile = \"3g.40gb\", slices_per_gpu = 3 }\n",
        );
        assert_eq!(
            s.validate().unwrap_err().key,
            "cluster.node_types.g.mig.slices_per_gpu"
        );
    }

    #[test]
    fn sizes_no_run_could_hold_are_refused_before_it_starts() {
        let key_of = |text: &str| spec(text).validate().unwrap_err().key;
        assert_eq!(
            key_of("[node_types.g]\ncount = 1\ncores = 8\nmemory_gb = 16\ngpus = 4000000000\n"),
            "cluster.node_types.g.gpus"
        );
        assert_eq!(
            key_of(
                "[node_types.a]\ncount = 600000\ncores = 1\nmemory_gb = 1\n\
                 [node_types.b]\ncount = 600000\ncores = 1\nmemory_gb = 1\n"
            ),
            "cluster.node_types"
        );
        // Products of huge values must not overflow into something that passes.
        for profile in ["4294967295g.1gb", "8g.80gb"] {
            let text = format!(
                "[node_types.g]\ncount = 1\ncores = 8\nmemory_gb = 16\ngpus = 8\n\
                 mig = {{ profile = \"{profile}\", slices_per_gpu = 1 }}\n"
            );
            assert_eq!(key_of(&text), "cluster.node_types.g.mig.profile");
        }
        let text = "[node_types.g]\ncount = 1\ncores = 8\nmemory_gb = 16\ngpus = 8\n\
                    mig = { profile = \"2g.20gb\", slices_per_gpu = 2147483649 }\n";
        assert_eq!(key_of(text), "cluster.node_types.g.mig.slices_per_gpu");
        assert_eq!(
            key_of("[node_types.g]\ncount = 2\ncores = 4\nmemory_gb = 9007199254740993\n"),
            "cluster.node_types.g.memory_gb"
        );
        let many_types: String = (0..65)
            .map(|i| format!("[node_types.t{i}]\ncount = 1\ncores = 8\nmemory_gb = 16\n"))
            .collect();
        assert_eq!(key_of(&many_types), "cluster.node_types");
        assert!(
            spec("[node_types.g]\ncount = 1000000\ncores = 8\nmemory_gb = 16\ngpus = 64\n")
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn totals_and_profiles() {
        let s = spec(
            "[node_types.cpu]\ncount = 2\ncores = 8\nmemory_gb = 16\n[node_types.gpu]\ncount = 3\ncores = 32\nmemory_gb = 256\ngpus = 4\nmig = { profile = \"1g.10gb\", slices_per_gpu = 7 }\n",
        );
        s.validate().unwrap();
        assert_eq!(s.total_cores(), 2 * 8 + 3 * 32);
        assert_eq!(s.total_gpus(), 12);
        assert_eq!(s.total_nodes(), 5);
        let mig = s.node_types["gpu"].mig.as_ref().unwrap();
        assert_eq!(mig.parse_profile(), Some((1, 10)));
        // File order is kept.
        assert_eq!(s.node_types.keys().collect::<Vec<_>>(), ["cpu", "gpu"]);
    }
}
