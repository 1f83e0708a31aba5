//! Where a segment's rate comes from: the speed of the job's GPUs and the slowdown of its
//! traffic across leaf switches (`[rates]` in a scenario). The engine asks the model for a
//! [`Rate`] at every segment start and resume ([`crate::simulation::RateModel`]); the rate
//! is then fixed for the segment.
//!
//! **This project's model** (documented in `docs/semantics.md`):
//!
//! - *GPU speed* (Amdahl's law over the job's GPU-bound share `g`):
//!   `rate_gpu = 1 / ((1 − g) + g / speed)`, where `speed` is the `gpu_speed` of the
//!   slowest node type among the segment's nodes, relative to the reference GPU (1.0: a
//!   type with `gpu_speed = 2` runs GPU-bound work twice as fast). Traces carry no
//!   reference GPU; a scenario's speeds are relative to whichever GPU its runtimes were
//!   measured on. `g` is the class's `gpu_bound_share`, by default 1 for jobs that ask for
//!   GPUs or MIG slices and 0 for the others (a CPU job runs at 1 wherever it lands).
//! - *Fabric slowdown*:
//!   `rate_fabric = 1 / (1 + c × communication_share × cross_leaf_fraction × oversubscription)`,
//!   where `c` is `[rates] fabric_slowdown`, `communication_share` the class's key (by
//!   default 0 for one-node jobs, [`DEFAULT_COMMUNICATION_SHARE`] for jobs on several
//!   nodes), `cross_leaf_fraction` the share of the segment's node pairs on different
//!   leaf switches (0 on one leaf), and `oversubscription` the fabric's (1 for a
//!   non-blocking fabric, where `c` alone applies: crossing the spine still adds hops and
//!   contention).
//!
//! The segment's rate is `rate_gpu × rate_fabric`, computed in `f64` and converted once,
//! rounded to the nearest millionth (at least one millionth, at most `u32::MAX`
//! millionths).

use crate::cluster::nodes::{NodeRequest, Nodes};
use crate::lifecycle::{Rate, RunResult};
use crate::simulation::RateModel;
use crate::workload::classes::{ClassShares, NodeWorkload};
use crate::workload::{JobIdx, Workload};
use serde::{Deserialize, Serialize};

/// The communication share of a job on several nodes whose class does not give one: this
/// project's assumption. MPI codes and data-parallel training at scale both commonly spend
/// tens of percent of their time communicating; the job classes of a scenario cannot tell
/// the two apart, so one middle value serves both. A class that knows better says
/// `communication_share`.
pub const DEFAULT_COMMUNICATION_SHARE: f64 = 0.3;

/// The largest fabric coefficient `c`: beyond it the fabric would stall every job that
/// crosses a leaf rather than model a network; a larger value is more likely a typing
/// error. (Times stay bounded anyway: a segment never runs past the job's time limit.)
pub const MAX_FABRIC_SLOWDOWN: f64 = 100.0;

/// The range of `gpu_speed` a node type may have when GPU speed counts: a hundred times
/// slower or faster than the reference; beyond that a value is more likely a typing error
/// than a GPU.
pub const GPU_SPEED_RANGE: (f64, f64) = (0.01, 100.0);

/// `[rates]`: which parts of the rate model are on. Without the table, or with both off,
/// every segment runs at rate 1 (today's replay).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RatesSpec {
    /// Jobs run at their nodes' `gpu_speed` (default false).
    #[serde(default)]
    pub gpu_speed: bool,
    /// The fabric coefficient `c` (default 0: no fabric slowdown); needs a
    /// `[cluster.fabric]`.
    #[serde(default)]
    pub fabric_slowdown: f64,
}

/// The rate model's settings for a run, as `summary.json` reports them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RateSettings {
    /// Whether GPU speed counts.
    pub gpu_speed: bool,
    /// The fabric coefficient `c` (0: no fabric slowdown).
    pub fabric_slowdown: f64,
    /// The fabric's oversubscription (1 without a fabric).
    pub oversubscription: f64,
}

impl RatesSpec {
    /// The run's settings, with the fabric's oversubscription; `None` when both parts are
    /// off, so that such a run is today's replay.
    pub fn settings(&self, oversubscription: Option<f64>) -> Option<RateSettings> {
        (self.gpu_speed || self.fabric_slowdown > 0.0).then_some(RateSettings {
            gpu_speed: self.gpu_speed,
            fabric_slowdown: self.fabric_slowdown,
            oversubscription: oversubscription.unwrap_or(1.0),
        })
    }
}

/// A job's GPU-bound share: its class's, else 1 for a job that uses GPUs or MIG slices
/// and 0 for one that does not.
pub fn gpu_bound_share(class: ClassShares, request: &NodeRequest) -> f64 {
    class.gpu_bound.unwrap_or(
        if request.gpus_per_node > 0 || request.mig_slices_per_node > 0 {
            1.0
        } else {
            0.0
        },
    )
}

/// A job's communication share: its class's, else 0 on one node and
/// [`DEFAULT_COMMUNICATION_SHARE`] on several.
pub fn communication_share(class: ClassShares, request: &NodeRequest) -> f64 {
    class.communication.unwrap_or(if request.nodes > 1 {
        DEFAULT_COMMUNICATION_SHARE
    } else {
        0.0
    })
}

/// How many distinct leaf switches `nodes` span (0 for no nodes).
pub fn leaves_spanned(cluster: &Nodes, nodes: &[u32]) -> u32 {
    leaf_counts(cluster, nodes).len() as u32
}

/// Nodes per leaf switch among `nodes`, in leaf order.
fn leaf_counts(cluster: &Nodes, nodes: &[u32]) -> Vec<u64> {
    let mut leaves: Vec<u32> = nodes.iter().map(|&n| cluster.leaf_of(n)).collect();
    leaves.sort_unstable();
    let mut counts: Vec<u64> = Vec::new();
    let mut last = None;
    for l in leaves {
        if last == Some(l) {
            if let Some(c) = counts.last_mut() {
                *c += 1;
            }
        } else {
            counts.push(1);
            last = Some(l);
        }
    }
    counts
}

/// The share of the node pairs of `nodes` on different leaf switches: with `k_l` nodes on
/// leaf `l` and `n` in all, `(n² − Σ k_l²) / (n × (n − 1))`; 0 for fewer than two nodes.
pub fn cross_leaf_fraction(cluster: &Nodes, nodes: &[u32]) -> f64 {
    let n = nodes.len() as u64;
    if n < 2 {
        return 0.0;
    }
    let same: u64 = leaf_counts(cluster, nodes).iter().map(|k| k * k).sum();
    // Integers up to here: the fraction is exact before the one division.
    (n * n - same) as f64 / (n * (n - 1)) as f64
}

/// A segment's two factors, before rounding.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Factors {
    /// `rate_gpu` (1 when GPU speed is off or the job is not GPU-bound).
    pub gpu: f64,
    /// `rate_fabric` (1 when the fabric slowdown is off or the job is on one leaf).
    pub fabric: f64,
}

impl Factors {
    /// Their product as a [`Rate`], rounded to the nearest millionth.
    pub fn rate(self) -> Rate {
        let millionths = (self.gpu * self.fabric * f64::from(Rate::PER_ONE)).round();
        // `as` saturates: a rate beyond u32::MAX millionths is u32::MAX.
        Rate::from_millionths(millionths as u32)
    }
}

/// The rate model of a node-level workload: GPU speed and fabric slowdown.
pub struct Rates<'a> {
    settings: RateSettings,
    nodes: &'a NodeWorkload,
}

impl<'a> Rates<'a> {
    /// The model with `settings` for the jobs of `nodes`.
    pub fn new(settings: RateSettings, nodes: &'a NodeWorkload) -> Rates<'a> {
        Rates { settings, nodes }
    }

    /// Job `i`'s factors on `nodes`.
    pub fn factors(&self, i: usize, nodes: &[u32]) -> Factors {
        let nw = self.nodes;
        let Some(request) = nw.requests.get(i) else {
            return Factors {
                gpu: 1.0,
                fabric: 1.0,
            };
        };
        let shares = nw.rate_shares(i);
        let gpu = if self.settings.gpu_speed {
            let g = gpu_bound_share(shares, request);
            let slowest = nodes
                .iter()
                .map(|&n| nw.cluster.type_of(n).gpu_speed)
                .fold(f64::INFINITY, f64::min);
            if g > 0.0 && slowest.is_finite() {
                1.0 / ((1.0 - g) + g / slowest)
            } else {
                1.0
            }
        } else {
            1.0
        };
        let c = self.settings.fabric_slowdown;
        let fabric = if c > 0.0 && nodes.len() > 1 {
            let comm = communication_share(shares, request);
            let cross = cross_leaf_fraction(&nw.cluster, nodes);
            1.0 / (1.0 + c * comm * cross * self.settings.oversubscription)
        } else {
            1.0
        };
        Factors { gpu, fabric }
    }

    /// What the model did in a finished run.
    pub fn metrics(&self, workload: &Workload, result: &RunResult) -> RateMetrics {
        let nw = self.nodes;
        let n = workload.jobs.len();
        let (mut slowed, mut multi_leaf) = (vec![false; n], vec![false; n]);
        let (mut rate_time, mut time) = (0f64, 0u128);
        let (mut fabric_s, mut fabric_node_s, mut gpu_saved_s) = (0f64, 0f64, 0f64);
        // Summed in segment order, which is fixed.
        for s in &result.segments {
            let i = s.job.get();
            let nodes = result.nodes_of(s);
            let f = self.factors(i, nodes);
            // The start-up latency runs at no rate: only the rest of the segment counts.
            let len_ms = s
                .end
                .saturating_since(s.start)
                .as_ms()
                .saturating_sub(u64::from(s.startup_ms));
            let len_s = len_ms as f64 / 1000.0;
            time += u128::from(len_ms);
            rate_time += s.rate.as_f64() * len_s;
            if f.fabric < 1.0 {
                slowed[i] = true;
            }
            if leaves_spanned(&nw.cluster, nodes) > 1 {
                multi_leaf[i] = true;
            }
            // Without the fabric's factor the same work takes length × rate_fabric; at
            // the reference GPU, length × rate_gpu.
            fabric_s += len_s * (1.0 - f.fabric);
            fabric_node_s += nodes.len() as f64 * len_s * (1.0 - f.fabric);
            gpu_saved_s += len_s * (f.gpu - 1.0);
        }
        let count = |v: &[bool]| v.iter().filter(|&&b| b).count() as u64;
        RateMetrics {
            gpu_speed: self.settings.gpu_speed,
            fabric_slowdown: self.settings.fabric_slowdown,
            rate_mean: if time == 0 {
                1.0
            } else {
                rate_time / (time as f64 / 1000.0)
            },
            jobs_slowed_by_fabric: count(&slowed),
            jobs_on_several_leaves: count(&multi_leaf),
            fabric_time_added_s: fabric_s,
            fabric_node_hours_added: fabric_node_s / 3600.0,
            gpu_time_saved_s: gpu_saved_s,
        }
    }
}

impl RateModel for Rates<'_> {
    fn rate(&self, job: JobIdx, nodes: &[u32]) -> Rate {
        self.factors(job.get(), nodes).rate()
    }
}

/// What the rate model did (`summary.json` `metrics.rates`, present when `[rates]` turns
/// it on).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RateMetrics {
    /// Whether GPU speed counted.
    pub gpu_speed: bool,
    /// The fabric coefficient `c`.
    pub fabric_slowdown: f64,
    /// Mean rate of the segments, weighted by their length (1 when nothing ran).
    pub rate_mean: f64,
    /// Jobs with a segment the fabric slowed (some of its node pairs across leaves, with
    /// a communication share above 0).
    pub jobs_slowed_by_fabric: u64,
    /// Jobs with a segment on more than one leaf switch.
    pub jobs_on_several_leaves: u64,
    /// Wall time the fabric added, s: Σ over segments of length × (1 − rate_fabric), the
    /// time beyond what the same work takes on a fabric without slowdown.
    pub fabric_time_added_s: f64,
    /// The same in node-hours: Σ over segments of nodes × length × (1 − rate_fabric).
    pub fabric_node_hours_added: f64,
    /// Wall time GPU speed saved against the reference GPU, s: Σ over segments of length ×
    /// (rate_gpu − 1); negative when jobs ran on GPUs slower than the reference.
    pub gpu_time_saved_s: f64,
}

/// Checks `[rates]` against the cluster: an error is (key path, message).
pub fn check(
    spec: &RatesSpec,
    cluster: Option<&crate::cluster::spec::ClusterSpec>,
) -> Result<(), (String, String)> {
    let c = spec.fabric_slowdown;
    if !(0.0..=MAX_FABRIC_SLOWDOWN).contains(&c) {
        return Err((
            "rates.fabric_slowdown".into(),
            format!("expected 0 (off) to {MAX_FABRIC_SLOWDOWN}, got {c}"),
        ));
    }
    if c > 0.0 && cluster.and_then(|cl| cl.fabric.as_ref()).is_none() {
        return Err((
            "rates.fabric_slowdown".into(),
            "a fabric slowdown needs leaf switches: add a [cluster.fabric] (nodes_per_leaf, \
             leaves_per_spine, oversubscription)"
                .into(),
        ));
    }
    if spec.gpu_speed {
        let (low, high) = GPU_SPEED_RANGE;
        for (name, t) in cluster.iter().flat_map(|cl| &cl.node_types) {
            if !(low..=high).contains(&t.gpu_speed) {
                return Err((
                    format!("cluster.node_types.{name}.gpu_speed"),
                    format!(
                        "with [rates] gpu_speed on, expected {low} to {high} (relative to the \
                         reference GPU), got {}",
                        t.gpu_speed
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::nodes::NodeType;

    fn nodes(count: u32, per_leaf: u32) -> Nodes {
        let t = NodeType {
            name: "g".into(),
            count,
            cores: 8,
            physical_cores: 8,
            memory_mb: 1024,
            gpus: 4,
            mig_slices: 0,
            mig_profile: None,
            gpu_speed: 1.0,
        };
        Nodes::from_types(vec![t], per_leaf)
    }

    #[test]
    fn cross_leaf_fraction_counts_node_pairs() {
        let c = nodes(8, 4);
        assert_eq!(cross_leaf_fraction(&c, &[0]), 0.0);
        assert_eq!(cross_leaf_fraction(&c, &[0, 1, 2, 3]), 0.0);
        // 3 + 1: 3 of the 6 pairs cross.
        assert_eq!(cross_leaf_fraction(&c, &[1, 2, 3, 4]), 0.5);
        // 2 + 2: 4 of 6.
        assert_eq!(cross_leaf_fraction(&c, &[2, 3, 4, 5]), 4.0 / 6.0);
        assert_eq!(leaves_spanned(&c, &[2, 3, 4, 5]), 2);
        assert_eq!(leaves_spanned(&c, &[]), 0);
    }

    #[test]
    fn factors_round_to_the_nearest_millionth() {
        let f = Factors {
            gpu: 1.0,
            fabric: 1.0 / 1.45,
        };
        // 689,655.17… millionths.
        assert_eq!(f.rate().millionths(), 689_655);
        let f = Factors {
            gpu: 2.0,
            fabric: 1.0,
        };
        assert_eq!(f.rate(), Rate::from_millionths(2_000_000));
        let f = Factors {
            gpu: 1e-9,
            fabric: 1.0,
        };
        assert_eq!(f.rate().millionths(), 1);
    }
}
