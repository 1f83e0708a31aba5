//! Node-level jobs: a generator of jobs that ask for nodes, cores, memory, GPUs and MIG
//! slices (`[[workload.generator.classes]]` in a scenario), and their resolution against a
//! cluster: each job gets one partition, the node types it may use, and is dropped with a
//! reason if no node could ever hold it or it asks for more than the partition allows.
//!
//! The generator: a job's class is drawn by `share`; its node count and GPUs (or MIG
//! slices) per node from the class's lists (weights optional, uniform by default) or its
//! size distribution; its runtime from the class's distribution (lognormal, gamma, Weibull,
//! histogram; see [`super::distributions`]) capped at the class's `max_runtime_s`, the
//! partition's walltime limit, or 2 hours for an interactive session in a pool without one;
//! its estimate as runtime × a lognormal overestimation factor (by default median 2, σ 0.6,
//! at least 1) rounded up to a common walltime (15 min, 1 h, …) and capped at the limit.
//! Arrivals form a Poisson process whose rate makes the offered load on the cluster's most
//! demanded resource (cores, GPUs or MIG slices: Σ amount × runtime / (capacity × span))
//! equal `load`, each class's arrivals modulated by its daily and weekly cycles.

use super::activity::{Activity, MAX_PERIODS_PER_SESSION};
use super::distributions::{EstimateSpec, IdleFraction, RuntimeDist, SizeDist};
use super::{DropReason, DroppedJob, Job, JobKind, Workload, WorkloadMeta};
use crate::cluster::nodes::{NodeRequest, Nodes, Placement};
use crate::cluster::spec::{ClusterSpec, JobKinds, PreemptMode, MAX_NODE_TYPES};
use crate::engine::rng::RandomStreams;
use crate::engine::time::{SimDuration, SimTime};
use rand::Rng;
use rand_distr::{Distribution, Exp};
use serde::Deserialize;

/// `[[workload.generator.classes]]`: one kind of job.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JobClassSpec {
    /// A name for reports.
    pub name: String,
    /// Relative frequency (the shares need not add up to 1).
    pub share: f64,
    /// Batch jobs or interactive sessions.
    #[serde(default = "batch")]
    pub kind: ClassKind,
    /// The partition (default: the highest-priority one that takes this kind and fits).
    #[serde(default)]
    pub partition: Option<String>,
    /// Node counts to draw from.
    #[serde(default = "one_node")]
    pub nodes: Vec<u32>,
    /// Weights of `nodes` (default: equal).
    #[serde(default)]
    pub node_weights: Option<Vec<f64>>,
    /// Tasks (processes) per node, recorded with the job (default 1).
    #[serde(default = "one_task")]
    pub tasks_per_node: u32,
    /// Cores per node.
    #[serde(default = "one_core")]
    pub cores_per_node: u32,
    /// Memory per node, GB.
    #[serde(default)]
    pub memory_gb_per_node: u64,
    /// Whole GPUs per node, to draw from (default: none).
    #[serde(default)]
    pub gpus_per_node: Vec<u32>,
    /// Weights of `gpus_per_node` (default: equal).
    #[serde(default)]
    pub gpu_weights: Option<Vec<f64>>,
    /// Total whole GPUs, to draw from, instead of `nodes` and `gpus_per_node`: the job is
    /// packed on as few nodes as can hold it (the GPUs of the largest GPU node type of its
    /// partition, or of the cluster), with its GPUs spread evenly over them.
    #[serde(default)]
    pub gpus: Vec<u32>,
    /// Weights of `gpus` (default: equal).
    #[serde(default)]
    pub gpus_weights: Option<Vec<f64>>,
    /// MIG slices per node (of the node type's profile).
    #[serde(default)]
    pub mig_slices_per_node: u32,
    /// The MIG profile the slices must be (e.g. `1g.10gb`): only node types sliced so.
    #[serde(default)]
    pub mig_profile: Option<String>,
    /// Whole nodes only.
    #[serde(default)]
    pub exclusive: bool,
    /// Median runtime, s: a lognormal runtime with `runtime_sigma` (a shorthand for
    /// `runtime = { dist = "lognormal", ... }`; give one of the two).
    #[serde(default)]
    pub runtime_median_s: Option<f64>,
    /// σ of the runtime's logarithm, with `runtime_median_s`.
    #[serde(default = "default_sigma")]
    pub runtime_sigma: f64,
    /// The runtime distribution: lognormal, gamma, Weibull or a histogram.
    #[serde(default)]
    pub runtime: Option<RuntimeDist>,
    /// Longest runtime, s (default: the partition's limit; for interactive sessions
    /// without one, 2 hours; with `time_limit_s`, none).
    #[serde(default)]
    pub max_runtime_s: Option<u64>,
    /// The time limit every job of the class asks for (Slurm's `--time`), s, instead of a
    /// drawn estimate: runtimes are drawn uncapped by it, and a job that would run longer
    /// is stopped at it with outcome `timeout` (sessions: the site's session limit, e.g.
    /// 2 hours). At most the partition's limit. Default: none.
    #[serde(default)]
    pub time_limit_s: Option<u64>,
    /// The account (team) the class's jobs are charged to under `[credits]` (default: the
    /// job's group).
    #[serde(default)]
    pub account: Option<String>,
    /// The users submitting the class's jobs: each job is drawn uniformly from this many
    /// (numbered after the users of the classes before it; stream `users`). Default: none
    /// (user -1, unknown).
    #[serde(default)]
    pub users: Option<u32>,
    /// Node counts drawn from a serial share, log-uniform sizes and a power-of-two
    /// preference, instead of the `nodes` list.
    #[serde(default)]
    pub nodes_dist: Option<SizeDist>,
    /// Users' walltime estimates (default: factor median 2, σ 0.6, rounded up to common
    /// values).
    #[serde(default)]
    pub estimate: Option<EstimateSpec>,
    /// The share of a session's length it sits idle (a notebook open but unused): a
    /// number, or `{ min, max }` drawn uniformly per session. Resources stay held; the
    /// metrics report the held and idle resource-hours of sessions.
    #[serde(default)]
    pub idle_fraction: Option<IdleFraction>,
    /// Sessions' activity: the lengths of their busy periods, s (a distribution, as
    /// `runtime`). With `idle`, a session alternates busy and idle periods from its first
    /// start (see [`super::activity`]); the idle ones are reported as waste and are what
    /// the idle culler measures. Interactive classes only; not with `idle_fraction`.
    #[serde(default)]
    pub busy: Option<RuntimeDist>,
    /// The lengths of sessions' idle periods, s (with `busy`).
    #[serde(default)]
    pub idle: Option<RuntimeDist>,
    /// How long users wait for a job of this class to start before giving up (a
    /// distribution, s, as `runtime`): a job not started strictly before its submit time
    /// plus its patience leaves the queue, outcome `abandoned`. Default: forever.
    #[serde(default)]
    pub patience: Option<RuntimeDist>,
    /// Start-up latency (provisioning, loading the environment), s: a distribution, as
    /// `runtime`, drawn per job. Every fresh start of the job (its first, and after a
    /// requeue) spends it before any work, holding its resources and using its time limit,
    /// at any rate. Default: none.
    #[serde(default)]
    pub startup: Option<RuntimeDist>,
    /// Relative arrival rate in each hour of the day (24 weights, hour 0 first), e.g.
    /// peaking in working hours for interactive sessions. Default: flat.
    #[serde(default)]
    pub daily_cycle: Option<Vec<f64>>,
    /// Relative arrival rate on each day of the week (7 weights, the trace's first day
    /// first). Default: flat.
    #[serde(default)]
    pub weekly_cycle: Option<Vec<f64>>,
    /// What happens to a job of this class when a node it runs on fails: `requeue` (it
    /// waits again, losing the work since its last checkpoint) or `fail` (it ends as
    /// `failed`). Default: batch jobs are requeued (Slurm's `JobRequeue=1`), sessions fail.
    #[serde(default)]
    pub on_node_failure: Option<FailureAction>,
    /// Work between two checkpoints, s (default: none): a job requeued after a failure
    /// resumes from its last checkpoint instead of from scratch.
    #[serde(default)]
    pub checkpoint_interval_s: Option<f64>,
    /// Wall time one checkpoint takes, s (default 0), during which the job makes no
    /// progress.
    #[serde(default)]
    pub checkpoint_cost_s: f64,
    /// The share of the class's work bound by its GPUs, 0 to 1 (default: 1 for jobs that
    /// ask for GPUs or MIG slices, 0 for the others): how much of it runs faster on a
    /// faster GPU when `[rates] gpu_speed` is on.
    #[serde(default)]
    pub gpu_bound_share: Option<f64>,
    /// The share of the class's time spent communicating between its nodes, 0 to 1
    /// (default: 0 on one node, 0.3 on several): how much the fabric slows it when its
    /// nodes span leaf switches and `[rates] fabric_slowdown` is above 0.
    #[serde(default)]
    pub communication_share: Option<f64>,
    /// Data each job reads from the shared file system before its work, GB (default 0),
    /// at every fresh start (its first, and after a requeue); needs a `[filesystem]`.
    #[serde(default)]
    pub stage_in_gb: f64,
    /// Data each job writes to the shared file system once its work is done, GB (default
    /// 0); needs a `[filesystem]`.
    #[serde(default)]
    pub stage_out_gb: f64,
    /// The most leaf switches a job's nodes may span (Slurm's `--switches`; default: any):
    /// it waits for such a placement up to `max_switch_wait_s`; needs a `[cluster.fabric]`.
    #[serde(default)]
    pub switches: Option<u32>,
    /// How long a job with `switches` waits for a placement within them, from its
    /// submission, before it takes any (Slurm's `max_switch_wait`, default 300 s).
    #[serde(default)]
    pub max_switch_wait_s: Option<u64>,
}

/// A class's limit on the leaf switches its jobs span (Slurm's `--switches`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwitchLimit {
    /// The most leaf switches.
    pub leaves: u32,
    /// How long a job waits for it from its submission, ms.
    pub max_wait_ms: u64,
}

/// Slurm's default `max_switch_wait`, s.
pub const DEFAULT_MAX_SWITCH_WAIT_S: u64 = 300;

impl JobClassSpec {
    /// The class's shares for the rate model, where it gives them.
    pub fn rate_shares(&self) -> ClassShares {
        ClassShares {
            gpu_bound: self.gpu_bound_share,
            communication: self.communication_share,
        }
    }

    /// What each job of the class stages (validated: 0 to [`crate::filesystem::MAX_STAGE_GB`]).
    pub fn staging(&self) -> Staging {
        Staging {
            in_bytes: gb_to_bytes(self.stage_in_gb),
            out_bytes: gb_to_bytes(self.stage_out_gb),
        }
    }

    /// The class's leaf-switch limit, if it has one.
    pub fn switch_limit(&self) -> Option<SwitchLimit> {
        Some(SwitchLimit {
            leaves: self.switches?,
            max_wait_ms: self
                .max_switch_wait_s
                .unwrap_or(DEFAULT_MAX_SWITCH_WAIT_S)
                .saturating_mul(1000),
        })
    }

    /// The class's checkpoints, from its keys (validated: an interval of at least 1 ms).
    pub fn checkpointing(&self) -> Option<Checkpointing> {
        let interval_s = self.checkpoint_interval_s?;
        Some(Checkpointing {
            interval_ms: ((interval_s * 1000.0).round() as u64).max(1),
            cost_ms: (self.checkpoint_cost_s * 1000.0).round() as u64,
        })
    }
}

/// Bytes in one GB (decimal, as storage vendors and file systems quote bandwidth).
pub const BYTES_PER_GB: f64 = 1e9;

/// A volume in GB as bytes, rounded to the nearest byte.
pub fn gb_to_bytes(gb: f64) -> u64 {
    (gb * BYTES_PER_GB).round() as u64
}

/// How much one job stages through the shared file system (see [`crate::filesystem`]):
/// bytes in at a fresh start, bytes out when its work is done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Staging {
    /// Read before the work, bytes.
    pub in_bytes: u64,
    /// Written after the work, bytes.
    pub out_bytes: u64,
}

impl Staging {
    /// Whether the job stages anything.
    pub fn any(self) -> bool {
        self.in_bytes > 0 || self.out_bytes > 0
    }
}

/// A job's checkpoints: each time its progress reaches a multiple of `interval_ms` of work
/// (before its end), it stops for `cost_ms` of wall time, at any rate, to save its state.
/// A requeued job resumes from the last checkpoint saved; one cut short while saving has
/// not saved it. Times of compute stretches round up to the millisecond each, as a
/// segment's length does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpointing {
    /// Work between two checkpoints, ms at rate 1 (at least 1).
    pub interval_ms: u64,
    /// Wall time one checkpoint takes, ms.
    pub cost_ms: u64,
}

/// A class's shares for the rate model (`gpu_bound_share`, `communication_share`), where
/// it gives them; `None`: the default for the job's request (see [`crate::rates`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ClassShares {
    /// The GPU-bound share of its work.
    pub gpu_bound: Option<f64>,
    /// The share of its time spent communicating.
    pub communication: Option<f64>,
}

/// What happens to a job when a node it runs on (or is suspended on) fails.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FailureAction {
    /// It goes back to the queue, losing the work since its last checkpoint.
    Requeue,
    /// It ends with outcome `failed`.
    Fail,
}

impl FailureAction {
    /// The default for a job of `kind`: batch jobs are requeued, as Slurm does with
    /// `JobRequeue=1`; an interactive session cannot be rerun without its user, so it fails.
    pub fn default_for(kind: JobKind) -> FailureAction {
        match kind {
            JobKind::Batch => FailureAction::Requeue,
            JobKind::Interactive => FailureAction::Fail,
        }
    }
}

/// A class's arrival-rate cycle over a week, hour by hour, with mean 1: arrivals are a
/// Poisson process whose rate follows it. Times from a homogeneous process are mapped
/// through the inverse of the cycle's cumulative intensity (a time change that turns a
/// rate-λ process into one of rate λ × cycle(t)).
#[derive(Clone, Debug)]
struct Cycle {
    /// Rate multiplier of each hour of the week (168), mean 1.
    rate: Vec<f64>,
    /// Cumulative intensity at the start of each hour, in hours (169 entries).
    cumulative: Vec<f64>,
}

impl Cycle {
    fn new(daily: Option<&[f64]>, weekly: Option<&[f64]>) -> Option<Cycle> {
        if daily.is_none() && weekly.is_none() {
            return None;
        }
        let mut rate: Vec<f64> = (0..168)
            .map(|h| daily.map_or(1.0, |d| d[h % 24]) * weekly.map_or(1.0, |w| w[h / 24]))
            .collect();
        let mean = rate.iter().sum::<f64>() / 168.0;
        for r in &mut rate {
            *r /= mean;
        }
        let mut cumulative = vec![0.0];
        for r in &rate {
            cumulative.push(cumulative.last().unwrap_or(&0.0) + r);
        }
        Some(Cycle { rate, cumulative })
    }

    /// The time (ms) at which the modulated process reaches the homogeneous time `t_ms`.
    fn warp(&self, t_ms: u64) -> u64 {
        const HOUR_MS: f64 = 3_600_000.0;
        const WEEK_MS: u64 = 168 * 3_600_000;
        let weeks = t_ms / WEEK_MS;
        let r = (t_ms % WEEK_MS) as f64 / HOUR_MS; // intensity-hours into the week
        let i = self
            .cumulative
            .partition_point(|&c| c <= r)
            .saturating_sub(1)
            .min(167);
        // Hours of zero rate are skipped: the next hour with a rate takes the arrival.
        let mut i = i;
        while self.rate[i] == 0.0 && i < 167 {
            i += 1;
        }
        let within = ((r - self.cumulative[i]) / self.rate[i].max(1e-12)).clamp(0.0, 1.0);
        weeks * WEEK_MS + ((i as f64 + within) * HOUR_MS).round() as u64
    }
}

/// Kinds of generated job.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ClassKind {
    /// A batch job.
    Batch,
    /// An interactive session.
    Interactive,
}

fn batch() -> ClassKind {
    ClassKind::Batch
}
fn one_node() -> Vec<u32> {
    vec![1]
}
fn one_core() -> u32 {
    1
}
fn one_task() -> u32 {
    1
}
fn default_sigma() -> f64 {
    1.0
}

/// The node-level side of a workload: each job's request and partition, the cluster it was
/// resolved against, and the placement rule.
#[derive(Clone, Debug)]
pub struct NodeWorkload {
    /// Per job (aligned with `Workload::jobs`): what it asks for.
    pub requests: Vec<NodeRequest>,
    /// Per job: index into `partitions`.
    pub partition_of: Vec<u16>,
    /// Partition names, in file order (`all` when the scenario names none).
    pub partitions: Vec<String>,
    /// Per job: index into the generator's classes.
    pub class_of: Vec<u16>,
    /// Class names.
    pub classes: Vec<String>,
    /// Per job, how its user behaves ([`UserBehaviour`]; empty when no class says, which
    /// means the default for all: never idle, never giving up).
    pub users: Vec<UserBehaviour>,
    /// Per job, its session's busy and idle periods, for jobs of classes with an
    /// activity profile (empty when no class has one).
    pub activity: Activity,
    /// The cluster, all free.
    pub cluster: Nodes,
    /// How jobs are placed on nodes (the policy's rule).
    pub placement: Placement,
    /// Per partition (aligned with `partitions`), its own placement rule where the scenario
    /// gives one; empty: every partition uses `placement`.
    pub partition_placement: Vec<Option<Placement>>,
    /// Per class (aligned with `classes`), what its jobs do when a node fails under them,
    /// where the class says (`None`: [`FailureAction::default_for`] its kind); empty: the
    /// default for every class.
    pub class_on_failure: Vec<Option<FailureAction>>,
    /// Per class (aligned with `classes`), its checkpoints, if it takes any; empty: none.
    pub class_checkpoints: Vec<Option<Checkpointing>>,
    /// Per class (aligned with `classes`), the account its jobs are charged to, where the
    /// class names one; empty: none does.
    pub class_accounts: Vec<Option<String>>,
    /// Per class (aligned with `classes`), its shares for the rate model; empty: the
    /// defaults for every class.
    pub class_rates: Vec<ClassShares>,
    /// Per class (aligned with `classes`), its leaf-switch limit where it has one; empty:
    /// no class has one.
    pub class_switches: Vec<Option<SwitchLimit>>,
    /// Per partition (aligned with `partitions`), its tier and preemption mode; empty when
    /// no partition's jobs may be preempted (preemption off).
    pub partition_preemption: Vec<PartitionPreemption>,
    /// Per class (aligned with `classes`), what its jobs stage through the shared file
    /// system; empty: nothing.
    pub class_staging: Vec<Staging>,
}

/// A partition's part in preemption (Slurm's `preempt/partition_prio`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionPreemption {
    /// Its tier: the partition's priority. Jobs of a higher tier may preempt.
    pub tier: i32,
    /// What its jobs do when preempted.
    pub mode: PreemptMode,
    /// How long a cancelled or requeued victim keeps running once told, ms.
    pub grace_ms: u64,
    /// Dynamic backfill: its sessions idle this long, ms, may be suspended for waiting jobs
    /// of other partitions (`None`: never).
    pub suspend_idle_after_ms: Option<u64>,
}

impl PartitionPreemption {
    /// Each partition's preemption, or nothing if no partition's jobs may be preempted
    /// (nor its idle sessions suspended).
    fn of_partitions(parts: &[Partition]) -> Vec<PartitionPreemption> {
        if parts
            .iter()
            .all(|p| p.preempt_mode == PreemptMode::Off && p.suspend_idle_after_s == 0)
        {
            return Vec::new();
        }
        parts
            .iter()
            .map(|p| PartitionPreemption {
                tier: p.priority,
                mode: p.preempt_mode,
                grace_ms: p.grace_time_s.saturating_mul(1000),
                suspend_idle_after_ms: (p.suspend_idle_after_s > 0)
                    .then(|| p.suspend_idle_after_s.saturating_mul(1000)),
            })
            .collect()
    }
}

/// How a job's user behaves: what interactive sessions model beyond their request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UserBehaviour {
    /// The share of the job's run it sits idle (a notebook open but unused).
    pub idle_fraction: f32,
    /// How long the user waits for the job to start before giving up, s ([`u64::MAX`]:
    /// forever). A job not started strictly before `submit + patience_s` leaves the queue
    /// with outcome `abandoned`.
    pub patience_s: u64,
    /// The start-up latency of each fresh start of the job, ms (0: none).
    pub startup_ms: u64,
}

impl Default for UserBehaviour {
    fn default() -> Self {
        UserBehaviour {
            idle_fraction: 0.0,
            patience_s: u64::MAX,
            startup_ms: 0,
        }
    }
}

impl NodeWorkload {
    /// No jobs yet, on `cluster` with `placement`: one partition `all`, no classes, every
    /// per-job and per-class list empty (so every user and class behaves by default).
    /// Readers and tests fill in what they know with struct update syntax.
    pub fn empty(cluster: Nodes, placement: Placement) -> NodeWorkload {
        NodeWorkload {
            requests: Vec::new(),
            partition_of: Vec::new(),
            partitions: vec!["all".to_string()],
            class_of: Vec::new(),
            classes: Vec::new(),
            users: Vec::new(),
            activity: Activity::default(),
            cluster,
            placement,
            partition_placement: Vec::new(),
            partition_preemption: Vec::new(),
            class_switches: Vec::new(),
            class_on_failure: Vec::new(),
            class_checkpoints: Vec::new(),
            class_accounts: Vec::new(),
            class_rates: Vec::new(),
            class_staging: Vec::new(),
        }
    }

    /// How job `i` is placed: its partition's rule, else the policy's.
    pub fn placement_of(&self, i: usize) -> Placement {
        self.partition_placement
            .get(self.partition_of[i] as usize)
            .copied()
            .flatten()
            .unwrap_or(self.placement)
    }

    /// Job `i`'s leaf-switch limit, if its class has one.
    pub fn switch_limit_of(&self, i: usize) -> Option<SwitchLimit> {
        self.class_switches
            .get(*self.class_of.get(i)? as usize)
            .copied()
            .flatten()
    }

    /// The preemption settings of job `i`'s partition; `None` when preemption is off.
    pub fn preemption_of(&self, i: usize) -> Option<PartitionPreemption> {
        self.partition_preemption
            .get(*self.partition_of.get(i)? as usize)
            .copied()
    }

    /// What job `i` (of `kind`) does when a node fails under it.
    pub fn on_node_failure(&self, i: usize, kind: JobKind) -> FailureAction {
        self.class_on_failure
            .get(self.class_of[i] as usize)
            .copied()
            .flatten()
            .unwrap_or_else(|| FailureAction::default_for(kind))
    }

    /// Job `i`'s checkpoints, if its class takes any.
    pub fn checkpointing(&self, i: usize) -> Option<Checkpointing> {
        self.class_checkpoints
            .get(*self.class_of.get(i)? as usize)
            .copied()
            .flatten()
    }

    /// Job `i`'s class's shares for the rate model.
    pub fn rate_shares(&self, i: usize) -> ClassShares {
        self.class_of
            .get(i)
            .and_then(|&c| self.class_rates.get(c as usize))
            .copied()
            .unwrap_or_default()
    }

    /// What job `i` stages through the shared file system.
    pub fn staging(&self, i: usize) -> Staging {
        self.class_of
            .get(i)
            .and_then(|&c| self.class_staging.get(c as usize))
            .copied()
            .unwrap_or_default()
    }

    /// How the user of job `i` behaves.
    pub fn user(&self, i: usize) -> UserBehaviour {
        self.users.get(i).copied().unwrap_or_default()
    }
}

/// A partition resolved: its node types as a bit mask, what it takes, its limit.
#[derive(Clone, Debug)]
struct Partition {
    name: String,
    types: u64,
    kinds: JobKinds,
    priority: i32,
    max_walltime_s: Option<u64>,
    placement: Option<Placement>,
    preempt_mode: PreemptMode,
    grace_time_s: u64,
    suspend_idle_after_s: u64,
}

fn partitions(spec: &ClusterSpec) -> Vec<Partition> {
    // Validation keeps node types below 64, so each has a bit.
    let type_bit = |name: &str| -> u64 {
        spec.node_types
            .get_index_of(name)
            .filter(|&i| i < MAX_NODE_TYPES)
            .map_or(0, |i| 1u64 << i)
    };
    if spec.partitions.is_empty() {
        return vec![Partition {
            name: "all".to_string(),
            types: u64::MAX,
            kinds: JobKinds::Both,
            priority: 0,
            max_walltime_s: None,
            placement: None,
            preempt_mode: PreemptMode::Off,
            grace_time_s: 0,
            suspend_idle_after_s: 0,
        }];
    }
    spec.partitions
        .iter()
        .map(|(name, p)| Partition {
            name: name.clone(),
            types: p
                .node_types
                .iter()
                .map(|t| type_bit(t))
                .fold(0, |a, b| a | b),
            kinds: p.kinds,
            priority: p.priority,
            max_walltime_s: p.max_walltime_s,
            placement: p.placement,
            preempt_mode: p.preempt_mode,
            grace_time_s: p.grace_time_s,
            suspend_idle_after_s: p.suspend_idle_after_s,
        })
        .collect()
}

fn takes(kinds: JobKinds, kind: JobKind) -> bool {
    match kinds {
        JobKinds::Both => true,
        JobKinds::Batch => kind == JobKind::Batch,
        JobKinds::Interactive => kind == JobKind::Interactive,
    }
}

/// Parameters of the node-level generator.
#[derive(Clone, Debug)]
pub struct ClassGenerator<'a> {
    /// Number of jobs.
    pub jobs: usize,
    /// Offered load on the most demanded resource.
    pub load: f64,
    /// The classes.
    pub classes: &'a [JobClassSpec],
    /// The cluster.
    pub cluster: &'a ClusterSpec,
    /// How to place jobs.
    pub placement: Placement,
    /// The run's seed.
    pub seed: u64,
    /// How the jobs arrive (default: a Poisson stream at `load`, one job at a time).
    pub arrivals: Arrivals,
}

/// How generated jobs arrive, beyond the Poisson stream that gives `load`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Arrivals {
    /// A burst: every job submitted within this many seconds of the first, evenly spaced
    /// (submission `k` of `n` at `⌊k × within / n⌋` ms), whatever `load` says.
    pub within_s: Option<f64>,
    /// Job arrays: jobs come in arrays of this many tasks, each array's tasks submitted at
    /// one instant (the Poisson gaps, K times longer so that the load holds, or the
    /// burst's spacing, are between arrays). 0 or 1: no arrays.
    pub array_tasks: u32,
}

/// Problems with the classes that the scenario reader reports with their key.
pub fn check_classes(
    classes: &[JobClassSpec],
    cluster: &ClusterSpec,
) -> Result<(), (String, String)> {
    for (i, c) in classes.iter().enumerate() {
        let key = |f: &str| format!("workload.generator.classes[{i}].{f}");
        if !(c.share > 0.0 && c.share.is_finite()) {
            return Err((
                key("share"),
                format!("expected a positive number, got {}", c.share),
            ));
        }
        if c.nodes.is_empty() || c.nodes.contains(&0) {
            return Err((key("nodes"), "expected node counts of at least 1".into()));
        }
        if !c.gpus.is_empty() {
            if c.nodes != [1] || !c.gpus_per_node.is_empty() {
                return Err((
                    key("gpus"),
                    "give either total gpus or nodes and gpus_per_node, not both".into(),
                ));
            }
            if c.gpus.contains(&0) {
                return Err((key("gpus"), "expected GPU counts of at least 1".into()));
            }
            if cluster
                .node_types
                .values()
                .all(|t| t.gpus == 0 || t.mig.is_some())
            {
                return Err((
                    key("gpus"),
                    "the cluster has no node type with whole GPUs".into(),
                ));
            }
        }
        for (list, weights, name) in [
            (c.nodes.len(), &c.node_weights, "node_weights"),
            (c.gpus_per_node.len(), &c.gpu_weights, "gpu_weights"),
            (c.gpus.len(), &c.gpus_weights, "gpus_weights"),
        ] {
            if let Some(w) = weights {
                let sum: f64 = w.iter().sum();
                if w.len() != list
                    || w.iter().any(|x| !(*x >= 0.0 && x.is_finite()))
                    || !(sum > 0.0 && sum.is_finite())
                {
                    return Err((
                        key(name),
                        format!("expected {list} non-negative weights, not all zero"),
                    ));
                }
            }
        }
        for (cycle, len, name) in [
            (&c.daily_cycle, 24, "daily_cycle"),
            (&c.weekly_cycle, 7, "weekly_cycle"),
        ] {
            if let Some(w) = cycle {
                let sum: f64 = w.iter().sum();
                if w.len() != len
                    || w.iter().any(|x| !(*x >= 0.0 && x.is_finite()))
                    || !(sum > 0.0 && sum.is_finite())
                {
                    return Err((
                        key(name),
                        format!("expected {len} non-negative weights, not all zero"),
                    ));
                }
            }
        }
        // Hourly rates are products of the two lists, normalised by their mean: weights
        // far from 1 can overflow or vanish there.
        if let Some(cycle) = Cycle::new(c.daily_cycle.as_deref(), c.weekly_cycle.as_deref()) {
            let total = cycle.cumulative.last().copied().unwrap_or(0.0);
            if !(total.is_finite() && total > 0.0) {
                let name = if c.daily_cycle.is_some() {
                    "daily_cycle"
                } else {
                    "weekly_cycle"
                };
                return Err((
                    key(name),
                    "the hourly rates (daily × weekly weights) are out of range: scale the \
                     weights to around 1"
                        .into(),
                ));
            }
        }
        if c.tasks_per_node == 0 {
            return Err((key("tasks_per_node"), "expected at least 1 task".into()));
        }
        if let Some(profile) = &c.mig_profile {
            if c.mig_slices_per_node == 0 {
                return Err((
                    key("mig_profile"),
                    "a MIG profile without mig_slices_per_node: ask for slices".into(),
                ));
            }
            let profiles: Vec<&str> = cluster
                .node_types
                .values()
                .filter_map(|t| t.mig.as_ref().map(|m| m.profile.as_str()))
                .collect();
            if !profiles.contains(&profile.as_str()) {
                return Err((
                    key("mig_profile"),
                    format!(
                        "no node type is sliced as {profile:?} (profiles: {})",
                        if profiles.is_empty() {
                            "none".to_string()
                        } else {
                            profiles.join(", ")
                        }
                    ),
                ));
            }
        }
        match (&c.runtime_median_s, &c.runtime) {
            (None, None) => {
                return Err((
                    key("runtime_median_s"),
                    "give the runtimes: runtime_median_s (lognormal) or runtime = { dist = ... }"
                        .into(),
                ))
            }
            (Some(_), Some(_)) => {
                return Err((
                    key("runtime"),
                    "give runtime_median_s or runtime, not both".into(),
                ))
            }
            (Some(m), None) if !(*m >= 1.0 && m.is_finite()) => {
                return Err((key("runtime_median_s"), "expected at least 1 second".into()));
            }
            (None, Some(d)) => d
                .check()
                .map_err(|(f, m)| (key(&format!("runtime.{f}")), m))?,
            _ => {}
        }
        if let Some(d) = &c.nodes_dist {
            if c.nodes != [1] || !c.gpus.is_empty() {
                return Err((
                    key("nodes_dist"),
                    "give either nodes_dist or a nodes / gpus list, not both".into(),
                ));
            }
            d.check()
                .map_err(|(f, m)| (key(&format!("nodes_dist.{f}")), m))?;
        }
        if let Some(e) = &c.estimate {
            e.check()
                .map_err(|(f, m)| (key(&format!("estimate.{f}")), m))?;
        }
        if let Some(idle) = &c.idle_fraction {
            idle.check().map_err(|m| (key("idle_fraction"), m))?;
        }
        if let Some(p) = &c.patience {
            p.check()
                .map_err(|(f, m)| (key(&format!("patience.{f}")), m))?;
        }
        if let Some(d) = &c.startup {
            d.check()
                .map_err(|(f, m)| (key(&format!("startup.{f}")), m))?;
        }
        if let Some(interval_s) = c.checkpoint_interval_s {
            if !(interval_s >= 0.001 && interval_s.is_finite()) {
                return Err((
                    key("checkpoint_interval_s"),
                    format!(
                        "expected at least 0.001 s of work between checkpoints, got {interval_s}"
                    ),
                ));
            }
        }
        if !(c.checkpoint_cost_s >= 0.0 && c.checkpoint_cost_s.is_finite()) {
            return Err((
                key("checkpoint_cost_s"),
                format!("expected 0 s or more, got {}", c.checkpoint_cost_s),
            ));
        }
        for (field, share) in [
            ("gpu_bound_share", c.gpu_bound_share),
            ("communication_share", c.communication_share),
        ] {
            if let Some(v) = share {
                if !(0.0..=1.0).contains(&v) {
                    return Err((key(field), format!("expected a share from 0 to 1, got {v}")));
                }
            }
        }
        if c.switches == Some(0) {
            return Err((
                key("switches"),
                "expected at least 1 leaf switch".to_string(),
            ));
        }
        if c.max_switch_wait_s.is_some() && c.switches.is_none() {
            return Err((
                key("max_switch_wait_s"),
                "a wait without switches: say how many leaf switches the class's jobs may span"
                    .to_string(),
            ));
        }
        if c.switches.is_some() && cluster.fabric.is_none() {
            return Err((
                key("switches"),
                "leaf switches need a [cluster.fabric]".to_string(),
            ));
        }
        if c.checkpoint_cost_s > 0.0 && c.checkpoint_interval_s.is_none() {
            return Err((
                key("checkpoint_cost_s"),
                "a checkpoint cost without checkpoint_interval_s: say how often the class \
                 checkpoints"
                    .to_string(),
            ));
        }
        match (&c.busy, &c.idle) {
            (None, None) => {}
            // Named at the key written, so that the error points at its line.
            (Some(_), None) => {
                return Err((
                    key("busy"),
                    "busy periods without idle ones: an activity profile needs both".into(),
                ))
            }
            (None, Some(_)) => {
                return Err((
                    key("idle"),
                    "idle periods without busy ones: an activity profile needs both".into(),
                ))
            }
            (Some(busy), Some(idle)) => {
                if c.kind != ClassKind::Interactive {
                    return Err((
                        key("busy"),
                        "busy and idle periods describe interactive sessions: this class is \
                         batch (kind = \"interactive\")"
                            .into(),
                    ));
                }
                if c.idle_fraction.is_some() {
                    return Err((
                        key("idle_fraction"),
                        "give idle_fraction (one idle tail) or busy and idle periods, not both"
                            .into(),
                    ));
                }
                busy.check()
                    .map_err(|(f, m)| (key(&format!("busy.{f}")), m))?;
                idle.check()
                    .map_err(|(f, m)| (key(&format!("idle.{f}")), m))?;
            }
        }
        if c.users == Some(0) {
            return Err((key("users"), "expected at least 1 user".into()));
        }
        if c.time_limit_s == Some(0) {
            return Err((key("time_limit_s"), "expected at least 1 second".into()));
        }
        if c.max_runtime_s == Some(0) {
            return Err((key("max_runtime_s"), "expected at least 1 second".into()));
        }
        if !(c.runtime_sigma >= 0.0 && c.runtime_sigma.is_finite()) {
            return Err((
                key("runtime_sigma"),
                "expected a non-negative number".into(),
            ));
        }
        if let Some(p) = &c.partition {
            if !cluster.partitions.is_empty() && !cluster.partitions.contains_key(p) {
                let known: Vec<&str> = cluster.partitions.keys().map(String::as_str).collect();
                return Err((
                    key("partition"),
                    format!(
                        "partition {p:?} does not exist (partitions: {})",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn pick<R: Rng>(rng: &mut R, values: &[u32], weights: &Option<Vec<f64>>) -> u32 {
    match weights {
        Some(w) => {
            let total: f64 = w.iter().sum();
            let mut x = rng.gen::<f64>() * total;
            for (v, &wi) in values.iter().zip(w) {
                if x < wi {
                    return *v;
                }
                x -= wi;
            }
            *values.last().unwrap_or(&1)
        }
        None => values[rng.gen_range(0..values.len())],
    }
}

/// The longest interactive session where neither the class nor its pool says (2 hours).
pub const DEFAULT_SESSION_CAP_S: u64 = 7_200;

/// Generates node-level jobs and resolves them against the cluster.
pub fn generate(g: &ClassGenerator) -> Workload {
    let streams = RandomStreams::new(g.seed);
    let mut class_rng = streams.stream("classes");
    let mut size_rng = streams.stream("sizes");
    let mut runtime_rng = streams.stream("runtimes");
    let mut estimate_rng = streams.stream("estimates");
    let mut arrival_rng = streams.stream("arrivals");
    let mut idle_rng = streams.stream("idle");
    let mut patience_rng = streams.stream("patience");
    let mut startup_rng = streams.stream("startup");
    // Users, drawn only for classes that have a population: other streams are untouched.
    let mut users_rng = streams.stream("users");
    let first_user: Vec<u32> = g
        .classes
        .iter()
        .scan(0u32, |next, c| {
            let first = *next;
            *next = next.saturating_add(c.users.unwrap_or(0));
            Some(first)
        })
        .collect();
    // Its own stream, drawn only for classes with a profile: every other stream, and so
    // every schedule, is the same with or without profiles.
    let mut activity_rng = streams.stream("activity");
    let any_activity = g.classes.iter().any(|c| c.busy.is_some());
    let any_user_behaviour = g
        .classes
        .iter()
        .any(|c| c.idle_fraction.is_some() || c.patience.is_some() || c.startup.is_some());
    let parts = partitions(g.cluster);
    let share_total: f64 = g.classes.iter().map(|c| c.share).sum();
    let runtimes: Vec<RuntimeDist> = g
        .classes
        .iter()
        .map(|c| match (&c.runtime, c.runtime_median_s) {
            (Some(d), _) => d.clone(),
            (None, m) => RuntimeDist::Lognormal {
                median_s: m.unwrap_or(1.0),
                sigma: c.runtime_sigma,
            },
        })
        .collect();
    let estimates: Vec<EstimateSpec> = g
        .classes
        .iter()
        .map(|c| c.estimate.clone().unwrap_or_default())
        .collect();

    struct Drawn {
        class: u16,
        kind: JobKind,
        request: NodeRequest,
        partition: Option<usize>,
        run_s: u64,
        estimate_s: u64,
        user: UserBehaviour,
        /// The submitting user's number (-1: unknown).
        user_id: i32,
        /// The session's period ends, ms since its first start (empty: no profile).
        periods: Vec<u64>,
    }
    let nodes_all = Nodes::new(g.cluster);
    // Per class, the node types its MIG profile allows (all without one).
    let profile_types: Vec<u64> = g
        .classes
        .iter()
        .map(|c| match &c.mig_profile {
            None => u64::MAX,
            Some(p) => nodes_all
                .types()
                .iter()
                .enumerate()
                .filter(|(ti, t)| *ti < 64 && t.mig_profile.as_deref() == Some(p.as_str()))
                .fold(0u64, |m, (ti, _)| m | (1 << ti)),
        })
        .collect();
    let mut drawn = Vec::with_capacity(g.jobs);
    // Demand of each resource: Σ amount × runtime (core-s, GPU-s, slice-s).
    let mut demand = [0f64; 3];
    for _ in 0..g.jobs {
        let mut x = class_rng.gen::<f64>() * share_total;
        let mut ci = g.classes.len() - 1;
        for (i, c) in g.classes.iter().enumerate() {
            if x < c.share {
                ci = i;
                break;
            }
            x -= c.share;
        }
        let c = &g.classes[ci];
        let kind = match c.kind {
            ClassKind::Batch => JobKind::Batch,
            ClassKind::Interactive => JobKind::Interactive,
        };
        let (nodes, gpus) = if !c.gpus.is_empty() {
            // Packed: as few nodes as the largest GPU node type needs, GPUs spread evenly.
            let total = pick(&mut size_rng, &c.gpus, &c.gpus_weights);
            let per_node_max = largest_gpu_node(g.cluster, c.partition.as_deref()).max(1);
            let nodes = total.div_ceil(per_node_max);
            (nodes, total.div_ceil(nodes))
        } else {
            let nodes = match &c.nodes_dist {
                Some(d) => d.sample(&mut size_rng),
                None => pick(&mut size_rng, &c.nodes, &c.node_weights),
            };
            let gpus = if c.gpus_per_node.is_empty() {
                0
            } else {
                pick(&mut size_rng, &c.gpus_per_node, &c.gpu_weights)
            };
            (nodes, gpus)
        };
        let mut request = NodeRequest {
            nodes,
            tasks_per_node: c.tasks_per_node,
            cores_per_node: c.cores_per_node,
            memory_mb_per_node: c.memory_gb_per_node.saturating_mul(1024),
            gpus_per_node: gpus,
            mig_slices_per_node: c.mig_slices_per_node,
            exclusive: c.exclusive,
            allowed_types: 0,
        };
        // The partition: the one named, else the highest-priority one that takes the kind
        // and has a node type that could hold one node's share (ties: file order).
        let partition = match &c.partition {
            Some(name) => parts.iter().position(|p| &p.name == name),
            None => {
                // Rank: takes the kind and could hold the job, then priority, then file
                // order. A job no partition could hold still gets one that takes its kind,
                // so that it is dropped for the right reason (no node fits).
                let mut best: Option<(bool, i32, usize)> = None;
                for (pi, p) in parts.iter().enumerate() {
                    if !takes(p.kinds, kind) {
                        continue;
                    }
                    let types = p.types & profile_types[ci];
                    let rank = (could_fit_in(&request, &nodes_all, types), p.priority, pi);
                    if best.is_none_or(|b| (rank.0, rank.1) > (b.0, b.1)) {
                        best = Some(rank);
                    }
                }
                best.map(|b| b.2)
            }
        };
        request.allowed_types = partition.map_or(0, |p| parts[p].types) & profile_types[ci];
        let limit_s = partition.and_then(|p| parts[p].max_walltime_s);
        // Sessions are capped by their pool's limit, 2 hours where the pool sets none.
        let cap_s = match (c.max_runtime_s, limit_s, kind) {
            // A time limit set by the class stops the longer jobs (`timeout`): only
            // `max_runtime_s` caps what they would run.
            (m, _, _) if c.time_limit_s.is_some() => m,
            (Some(m), l, _) => Some(l.map_or(m, |l| m.min(l))),
            (None, Some(l), _) => Some(l),
            (None, None, JobKind::Interactive) => Some(DEFAULT_SESSION_CAP_S),
            (None, None, JobKind::Batch) => None,
        };
        let mut run_s = runtimes[ci].sample(&mut runtime_rng);
        if let Some(l) = cap_s {
            run_s = run_s.min(l);
        }
        // Drawn even under a class time limit, so that the stream stays aligned.
        let estimate_s = estimates[ci].sample(&mut estimate_rng, run_s, limit_s);
        let (estimate_s, used_s) = match c.time_limit_s {
            Some(l) => {
                // A partition's limit is the most a job in it may ask for.
                let l = limit_s.map_or(l, |p| l.min(p));
                (l, run_s.min(l))
            }
            None => (estimate_s, run_s),
        };
        let per_node_gpu = if request.mig_slices_per_node > 0 {
            0.0
        } else {
            f64::from(gpus)
        };
        demand[0] += f64::from(nodes) * f64::from(c.cores_per_node) * used_s as f64;
        demand[1] += f64::from(nodes) * per_node_gpu * used_s as f64;
        demand[2] += f64::from(nodes) * f64::from(c.mig_slices_per_node) * used_s as f64;
        let user = UserBehaviour {
            idle_fraction: c
                .idle_fraction
                .as_ref()
                .map_or(0.0, |f| f.sample(&mut idle_rng)),
            patience_s: c
                .patience
                .as_ref()
                .map_or(u64::MAX, |p| p.sample(&mut patience_rng)),
            startup_ms: c
                .startup
                .as_ref()
                .map_or(0, |d| d.sample(&mut startup_rng).saturating_mul(1000)),
        };
        let mut periods = Vec::new();
        if let (Some(busy), Some(idle)) = (&c.busy, &c.idle) {
            // Busy, idle, busy, … until they cover the runtime (see `activity`).
            let run_ms = run_s.saturating_mul(1000);
            let mut at_ms = 0u64;
            while at_ms < run_ms && periods.len() < MAX_PERIODS_PER_SESSION {
                let dist = if periods.len() % 2 == 0 { busy } else { idle };
                at_ms = at_ms.saturating_add(dist.sample(&mut activity_rng).saturating_mul(1000));
                periods.push(at_ms);
            }
        }
        drawn.push(Drawn {
            class: ci as u16,
            kind,
            request,
            partition,
            run_s,
            estimate_s,
            user,
            user_id: match c.users {
                Some(n) if n > 0 => {
                    i32::try_from(first_user[ci] + users_rng.gen_range(0..n)).unwrap_or(i32::MAX)
                }
                _ => -1,
            },
            periods,
        });
    }
    let capacity = [
        g.cluster.total_cores() as f64,
        nodes_all
            .types()
            .iter()
            .map(|t| f64::from(t.gpus) * f64::from(t.count))
            .sum::<f64>(),
        nodes_all
            .types()
            .iter()
            .map(|t| f64::from(t.mig_slices) * f64::from(t.count))
            .sum::<f64>(),
    ];
    // The span that gives the load on the busiest resource; the mean inter-arrival time
    // follows.
    let span_s = (0..3)
        .filter(|&r| capacity[r] > 0.0)
        .map(|r| demand[r] / (capacity[r] * g.load.max(super::synthetic::MIN_LOAD)))
        .fold(0.0f64, f64::max);
    let mean_gap = (span_s / g.jobs.max(1) as f64).max(1e-3);
    let gaps = Exp::new(1.0 / mean_gap).expect("positive rate");

    let mut w = Workload {
        machine_procs: u32::try_from(g.cluster.schedulable_cores()).unwrap_or(u32::MAX),
        meta: WorkloadMeta {
            source: format!(
                "generated(classes={}, jobs={}, load={}, seed={})",
                g.classes
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join("+"),
                g.jobs,
                g.load,
                g.seed
            ),
            format: "generated".to_string(),
            ..WorkloadMeta::default()
        },
        input_jobs: g.jobs as u64,
        ..Workload::default()
    };
    let mut nw = NodeWorkload {
        requests: Vec::with_capacity(g.jobs),
        partition_of: Vec::with_capacity(g.jobs),
        partitions: parts.iter().map(|p| p.name.clone()).collect(),
        class_of: Vec::with_capacity(g.jobs),
        classes: g.classes.iter().map(|c| c.name.clone()).collect(),
        users: Vec::new(),
        activity: Activity::default(),
        cluster: nodes_all,
        placement: g.placement,
        partition_placement: parts.iter().map(|p| p.placement).collect(),
        partition_preemption: PartitionPreemption::of_partitions(&parts),
        class_on_failure: if g.classes.iter().any(|c| c.on_node_failure.is_some()) {
            g.classes.iter().map(|c| c.on_node_failure).collect()
        } else {
            Vec::new()
        },
        class_accounts: if g.classes.iter().any(|c| c.account.is_some()) {
            g.classes.iter().map(|c| c.account.clone()).collect()
        } else {
            Vec::new()
        },
        class_checkpoints: if g.classes.iter().any(|c| c.checkpoint_interval_s.is_some()) {
            g.classes.iter().map(JobClassSpec::checkpointing).collect()
        } else {
            Vec::new()
        },
        class_switches: if g.classes.iter().any(|c| c.switches.is_some()) {
            g.classes.iter().map(JobClassSpec::switch_limit).collect()
        } else {
            Vec::new()
        },
        class_rates: if g
            .classes
            .iter()
            .any(|c| c.rate_shares() != ClassShares::default())
        {
            g.classes.iter().map(JobClassSpec::rate_shares).collect()
        } else {
            Vec::new()
        },
        class_staging: if g.classes.iter().any(|c| c.staging().any()) {
            g.classes.iter().map(JobClassSpec::staging).collect()
        } else {
            Vec::new()
        },
    };
    let cycles: Vec<Option<Cycle>> = g
        .classes
        .iter()
        .map(|c| Cycle::new(c.daily_cycle.as_deref(), c.weekly_cycle.as_deref()))
        .collect();
    // Homogeneous arrival times, then each class's cycle; jobs are numbered in drawing
    // order and kept sorted by (submit, number). Job arrays share their first task's
    // time; a burst spaces its submissions evenly instead of drawing gaps.
    let tasks = g.arrivals.array_tasks.max(1) as usize;
    let submissions = g.jobs.div_ceil(tasks).max(1);
    let mut t_ms = 0u64;
    let mut timed: Vec<(u64, usize, Drawn)> = drawn
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            if i % tasks == 0 {
                t_ms = match g.arrivals.within_s {
                    Some(within_s) => {
                        let k = (i / tasks) as u128;
                        let within_ms = (within_s * 1000.0).round() as u128;
                        (k * within_ms / submissions as u128) as u64
                    }
                    // An array of K tasks per draw, K times further apart: the load holds.
                    None => {
                        let gap_s = gaps.sample(&mut arrival_rng) * tasks as f64;
                        t_ms + (gap_s * 1000.0).round() as u64
                    }
                };
            }
            let at = match &cycles[d.class as usize] {
                Some(c) => c.warp(t_ms),
                None => t_ms,
            };
            (at, i, d)
        })
        .collect();
    timed.sort_by_key(|&(at, i, _)| (at, i));
    // Per class: jobs drawn, jobs dropped, and the first dropped job's reason.
    let mut drawn_per_class = vec![0u64; g.classes.len()];
    let mut dropped_per_class: Vec<(u64, Option<String>)> = vec![(0, None); g.classes.len()];
    for (t_ms, i, d) in timed {
        let trace_id = i as u64 + 1;
        let reason = match d.partition {
            None => Some((
                DropReason::NoPartition,
                "no partition takes this kind of job".to_string(),
            )),
            Some(p) if !could_fit_in(&d.request, &nw.cluster, d.request.allowed_types) => Some((
                DropReason::NoNodeFits,
                format!(
                    "no node of partition {} could hold {}",
                    parts[p].name, d.request
                ),
            )),
            Some(_) => None,
        };
        drawn_per_class[d.class as usize] += 1;
        if let Some((reason, detail)) = reason {
            let per_class = &mut dropped_per_class[d.class as usize];
            per_class.0 += 1;
            per_class.1.get_or_insert_with(|| detail.clone());
            w.dropped.push(DroppedJob {
                line: 0,
                trace_id: Some(trace_id),
                reason,
                detail,
            });
            continue;
        }
        let r = &d.request;
        let procs = r.nodes.saturating_mul(r.cores_per_node);
        w.jobs.push(Job {
            trace_id,
            submit: SimTime::from_ms(t_ms),
            work: SimDuration::from_secs(d.run_s),
            estimate: SimDuration::from_secs(d.estimate_s),
            procs,
            kind: d.kind,
            user: d.user_id,
            group: -1,
            queue: if d.kind == JobKind::Interactive { 0 } else { 1 },
            partition: i32::from(d.partition.map_or(0, |p| p as u16)),
        });
        nw.requests.push(d.request);
        nw.partition_of.push(d.partition.map_or(0, |p| p as u16));
        nw.class_of.push(d.class);
        if any_user_behaviour {
            nw.users.push(d.user);
        }
        if any_activity {
            nw.activity.push(&d.periods);
        }
    }
    w.meta.never_placed_classes = dropped_per_class
        .into_iter()
        .enumerate()
        .filter(|&(k, (dropped, _))| dropped > 0 && dropped == drawn_per_class[k])
        .map(|(k, (_, detail))| (k, detail.unwrap_or_default()))
        .collect();
    w.nodes = Some(Box::new(nw));
    w
}

/// Turns a workload of processors anywhere into node-level jobs on `cluster`: each job's
/// request (and the partition it names, if the cluster has one by that name; otherwise the
/// highest-priority partition that takes its kind and could hold it). Jobs that cannot run
/// are moved to the dropped list (`no_partition`, `no_node_fits`).
pub fn attach_requests(
    w: &mut Workload,
    requests: Vec<(NodeRequest, Option<String>)>,
    cluster: &ClusterSpec,
    placement: Placement,
) {
    let parts = partitions(cluster);
    let nodes_all = Nodes::new(cluster);
    let mut nw = NodeWorkload {
        requests: Vec::with_capacity(w.jobs.len()),
        partition_of: Vec::with_capacity(w.jobs.len()),
        partitions: parts.iter().map(|p| p.name.clone()).collect(),
        class_of: Vec::with_capacity(w.jobs.len()),
        classes: vec!["batch".to_string(), "interactive".to_string()],
        partition_placement: parts.iter().map(|p| p.placement).collect(),
        partition_preemption: PartitionPreemption::of_partitions(&parts),
        ..NodeWorkload::empty(nodes_all.clone(), placement)
    };
    let mut kept = Vec::with_capacity(w.jobs.len());
    for (job, (mut request, wanted)) in std::mem::take(&mut w.jobs).into_iter().zip(requests) {
        let named = wanted
            .as_deref()
            .and_then(|name| parts.iter().position(|p| p.name == name));
        let partition = named.or_else(|| {
            let mut best: Option<(bool, i32, usize)> = None;
            for (pi, p) in parts.iter().enumerate() {
                if !takes(p.kinds, job.kind) {
                    continue;
                }
                let rank = (could_fit_in(&request, &nodes_all, p.types), p.priority, pi);
                if best.is_none_or(|b| (rank.0, rank.1) > (b.0, b.1)) {
                    best = Some(rank);
                }
            }
            best.map(|b| b.2)
        });
        let drop = |reason: DropReason, detail: String| DroppedJob {
            line: 0,
            trace_id: Some(job.trace_id),
            reason,
            detail,
        };
        let Some(p) = partition else {
            w.dropped.push(drop(
                DropReason::NoPartition,
                "no partition takes this kind of job".to_string(),
            ));
            continue;
        };
        request.allowed_types = parts[p].types;
        if !could_fit_in(&request, &nodes_all, request.allowed_types) {
            w.dropped.push(drop(
                DropReason::NoNodeFits,
                format!(
                    "no node of partition {} could hold {request}",
                    parts[p].name
                ),
            ));
            continue;
        }
        nw.requests.push(request);
        nw.partition_of.push(p as u16);
        nw.class_of
            .push(u16::from(job.kind == JobKind::Interactive));
        kept.push(job);
    }
    w.jobs = kept;
    w.machine_procs = u32::try_from(cluster.schedulable_cores()).unwrap_or(u32::MAX);
    w.nodes = Some(Box::new(nw));
}

/// Whole GPUs of the largest GPU node type (of `partition`'s types if named).
fn largest_gpu_node(cluster: &ClusterSpec, partition: Option<&str>) -> u32 {
    let allowed = |name: &str| match partition.and_then(|p| cluster.partitions.get(p)) {
        Some(p) => p.node_types.iter().any(|t| t == name),
        None => true,
    };
    cluster
        .node_types
        .iter()
        .filter(|(name, t)| allowed(name) && t.mig.is_none())
        .map(|(_, t)| t.gpus)
        .max()
        .unwrap_or(0)
}

/// Whether `r` could ever run on the nodes of the types in `types`: one node's share fits
/// an empty node of an allowed type, and there are enough such nodes.
fn could_fit_in(r: &NodeRequest, nodes: &Nodes, types: u64) -> bool {
    let count: u64 = nodes
        .types()
        .iter()
        .enumerate()
        .filter(|&(ti, t)| ti < 64 && types & (1 << ti) != 0 && r.could_ever_fit(t))
        .map(|(_, t)| u64::from(t.count))
        .sum();
    count >= u64::from(r.nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_cycle_changes_nothing_and_a_working_day_keeps_nights_empty() {
        let flat = Cycle::new(Some(&[1.0; 24]), None).unwrap();
        for t in [0, 1_000, 3_599_999, 86_400_000, 700_000_000] {
            assert_eq!(flat.warp(t), t);
        }
        // Arrivals only from 8:00 to 18:00, Monday to Friday.
        let mut daily = [0.0; 24];
        daily[8..18].fill(1.0);
        let mut weekly = [1.0; 7];
        weekly[5] = 0.0;
        weekly[6] = 0.0;
        let work = Cycle::new(Some(&daily), Some(&weekly)).unwrap();
        let mut last = 0;
        for k in 0..5_000u64 {
            let t = work.warp(k * 3_600_000 / 7);
            assert!(t >= last, "monotone");
            last = t;
            let hour = (t / 3_600_000) % 24;
            let day = (t / 86_400_000) % 7;
            assert!(
                (8..18).contains(&hour) && day < 5,
                "arrival at day {day} hour {hour}"
            );
        }
        // The mean rate is kept: a week of homogeneous time maps to a week (to the first
        // hour of the next week with a rate: Monday, 8:00).
        assert_eq!(work.warp(168 * 3_600_000), (168 + 8) * 3_600_000);
        assert!(work.warp(168 * 3_600_000 - 1) < 5 * 86_400_000);
    }
}
