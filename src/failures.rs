//! Node failures: when each node goes down and when it is back.
//!
//! A scenario's `[failures]` gives them one of two ways:
//! - **draws**, per node type: the time between failures (from the node coming up, at the
//!   run's start or after a repair, to its next failure) and the repair time, each a
//!   distribution (exponential, Weibull, lognormal, gamma, histogram). Every node draws from
//!   its own named stream `failures/node/N`, time between failures then repair, so a node's
//!   history depends on nothing but the seed and its number: never on the schedule, on
//!   other nodes or on the policy.
//! - a **log**: rows `node,down_s,up_s` in a CSV file (read by the outer layer, parsed
//!   here), the outages that happened.
//!
//! The engine asks lazily ([`FailureTimeline`]): when a node comes up, when it next fails;
//! when it fails, when it is up again. So the model costs nothing per node beyond its
//! stream, however long the run.

use crate::engine::rng::{RandomStreams, StreamRng};
use crate::engine::time::{SimDuration, SimTime, CLOCK_LIMIT};
use crate::workload::distributions::RuntimeDist;
use serde::Deserialize;
use std::path::PathBuf;

/// `[failures]` in a scenario.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FailureSpec {
    /// A failure log: a CSV file with the header `node,down_s,up_s`, one outage per row
    /// (path relative to the scenario's folder). Not together with `node_types`.
    #[serde(default)]
    pub log: Option<PathBuf>,
    /// `[failures.node_types.NAME]`: failure and repair draws for the nodes of a type (types
    /// not listed never fail).
    #[serde(default)]
    pub node_types: indexmap::IndexMap<String, NodeTypeFailures>,
    /// `[failures.leaf_switches]`: failures of whole leaf switches (`[cluster.fabric]`'s
    /// leaves), each taking every node under it down until its repair; on top of the
    /// nodes' own failures. Each leaf draws from its own stream `failures/leaf/L`.
    #[serde(default)]
    pub leaf_switches: Option<NodeTypeFailures>,
}

/// How the nodes of one type (or the leaf switches) fail and are repaired.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NodeTypeFailures {
    /// Time from a node coming up (the run's start, or the end of a repair) to its next
    /// failure, s: a distribution, as a class's `runtime`.
    pub time_between: RuntimeDist,
    /// Time from a failure until the node is up again, s.
    pub repair: RuntimeDist,
}

/// One outage: `node` down from `down` until `up`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outage {
    /// The node's number (nodes are numbered type by type, in the scenario's order).
    pub node: u32,
    /// When it failed.
    pub down: SimTime,
    /// When it was up again.
    pub up: SimTime,
}

/// The failure model of a run, resolved against its cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Failures {
    source: Source,
    /// Leaf switch failures: their draws, the seed, and each leaf's nodes (ascending).
    leaves: Option<LeafFailures>,
}

#[derive(Clone, Debug, PartialEq)]
struct LeafFailures {
    draws: NodeTypeFailures,
    seed: u64,
    nodes_of: Vec<Vec<u32>>,
}

#[derive(Clone, Debug, PartialEq)]
enum Source {
    /// Per node: its type's draws (`None`: it never fails), and the seed of the streams.
    Draws {
        per_node: Vec<Option<u16>>,
        types: Vec<NodeTypeFailures>,
        seed: u64,
    },
    /// Per node: its outages in time order, none overlapping.
    Log(Vec<Vec<(SimTime, SimTime)>>),
}

impl Failures {
    /// Draws for every node whose type is in `types` (`node_type_names[i]` is node `i`'s
    /// type), from streams seeded by `seed`.
    pub fn from_draws(
        node_type_names: &[&str],
        types: &indexmap::IndexMap<String, NodeTypeFailures>,
        seed: u64,
    ) -> Failures {
        let per_node = node_type_names
            .iter()
            .map(|name| types.get_index_of(*name).map(|i| i as u16))
            .collect();
        Failures {
            source: Source::Draws {
                per_node,
                types: types.values().cloned().collect(),
                seed,
            },
            leaves: None,
        }
    }

    /// Adds failures of whole leaf switches: `leaf_of[n]` is node `n`'s leaf; leaf `L` draws
    /// from the stream `failures/leaf/L` seeded by `seed`.
    pub fn with_leaf_failures(
        mut self,
        leaf_of: &[u32],
        draws: &NodeTypeFailures,
        seed: u64,
    ) -> Failures {
        let leaves = leaf_of.iter().copied().max().map_or(0, |l| l as usize + 1);
        let mut nodes_of = vec![Vec::new(); leaves];
        for (n, &l) in leaf_of.iter().enumerate() {
            nodes_of[l as usize].push(n as u32);
        }
        self.leaves = Some(LeafFailures {
            draws: draws.clone(),
            seed,
            nodes_of,
        });
        self
    }

    /// The nodes under leaf switch `leaf` (empty without leaf failures).
    pub fn nodes_of_leaf(&self, leaf: u32) -> &[u32] {
        self.leaves
            .as_ref()
            .and_then(|l| l.nodes_of.get(leaf as usize))
            .map_or(&[], Vec::as_slice)
    }

    /// The outages of a log, on a cluster of `nodes` nodes. Outages of one node must not
    /// overlap (checked by [`parse_log`]).
    pub fn from_log(outages: &[Outage], nodes: usize) -> Failures {
        let mut per_node = vec![Vec::new(); nodes];
        for o in outages {
            if let Some(list) = per_node.get_mut(o.node as usize) {
                list.push((o.down, o.up));
            }
        }
        for list in &mut per_node {
            list.sort_unstable();
        }
        Failures {
            source: Source::Log(per_node),
            leaves: None,
        }
    }

    /// A fresh timeline of this model, from the run's start.
    pub fn timeline(&self) -> FailureTimeline<'_> {
        let streams = match &self.source {
            Source::Draws { per_node, seed, .. } => {
                let streams = RandomStreams::new(*seed);
                per_node
                    .iter()
                    .enumerate()
                    .map(|(n, t)| t.map(|_| streams.stream(&format!("failures/node/{n}"))))
                    .collect()
            }
            Source::Log(_) => Vec::new(),
        };
        let next_outage = match &self.source {
            Source::Log(per_node) => vec![0; per_node.len()],
            Source::Draws { .. } => Vec::new(),
        };
        let leaf_streams = self.leaves.as_ref().map_or(Vec::new(), |l| {
            let streams = RandomStreams::new(l.seed);
            (0..l.nodes_of.len())
                .map(|leaf| streams.stream(&format!("failures/leaf/{leaf}")))
                .collect()
        });
        FailureTimeline {
            failures: self,
            streams,
            next_outage,
            leaf_streams,
        }
    }
}

/// A failure model being followed through a run: each node's next failure and repair.
pub struct FailureTimeline<'a> {
    failures: &'a Failures,
    /// Per node with draws: its stream.
    streams: Vec<Option<StreamRng>>,
    /// Per node of a log: the index of its next outage.
    next_outage: Vec<u32>,
    /// Per leaf switch, with leaf failures: its stream.
    leaf_streams: Vec<StreamRng>,
}

fn after(t: SimTime, s: u64) -> Option<SimTime> {
    let ms = t.as_ms().saturating_add(s.saturating_mul(1000));
    (ms < CLOCK_LIMIT.as_ms()).then(|| SimTime::from_ms(ms))
}

impl FailureTimeline<'_> {
    /// The nodes that may fail.
    pub fn nodes(&self) -> usize {
        match &self.failures.source {
            Source::Draws { per_node, .. } => per_node.len(),
            Source::Log(per_node) => per_node.len(),
        }
    }

    /// When `node`, up since `since`, next fails; `None`: never.
    pub fn next_down(&mut self, node: u32, since: SimTime) -> Option<SimTime> {
        let n = node as usize;
        match &self.failures.source {
            Source::Draws {
                per_node, types, ..
            } => {
                let t = per_node.get(n).copied().flatten()?;
                let rng = self.streams[n].as_mut()?;
                after(since, types[t as usize].time_between.sample(rng))
            }
            Source::Log(per_node) => {
                let k = self.next_outage[n] as usize;
                let &(down, _) = per_node.get(n)?.get(k)?;
                Some(down.max(since))
            }
        }
    }

    /// Leaf switches that may fail (0 without leaf failures).
    pub fn leaves(&self) -> usize {
        self.leaf_streams.len()
    }

    /// When leaf switch `leaf`, up since `since`, next fails.
    pub fn next_leaf_down(&mut self, leaf: u32, since: SimTime) -> Option<SimTime> {
        let draws = &self.failures.leaves.as_ref()?.draws;
        let rng = self.leaf_streams.get_mut(leaf as usize)?;
        after(since, draws.time_between.sample(rng))
    }

    /// When leaf switch `leaf`, down since `down`, is up again.
    pub fn leaf_up_again(&mut self, leaf: u32, down: SimTime) -> SimTime {
        let (Some(l), Some(rng)) = (
            self.failures.leaves.as_ref(),
            self.leaf_streams.get_mut(leaf as usize),
        ) else {
            return down;
        };
        after(down, l.draws.repair.sample(rng)).unwrap_or(CLOCK_LIMIT)
    }

    /// When `node`, down since `down`, is up again (the clock's limit if never).
    pub fn up_again(&mut self, node: u32, down: SimTime) -> SimTime {
        let n = node as usize;
        match &self.failures.source {
            Source::Draws {
                per_node, types, ..
            } => {
                let (Some(t), Some(rng)) = (per_node[n], self.streams[n].as_mut()) else {
                    return down;
                };
                after(down, types[t as usize].repair.sample(rng)).unwrap_or(CLOCK_LIMIT)
            }
            Source::Log(per_node) => {
                let k = self.next_outage[n] as usize;
                self.next_outage[n] += 1;
                per_node[n]
                    .get(k)
                    .map_or(down, |&(_, up)| up.max(down + SimDuration::from_ms(1)))
            }
        }
    }
}

/// Reads a failure log (see [`parse_log`]) from `path`, for a cluster of `nodes` nodes.
pub fn read_log(path: &std::path::Path, nodes: usize) -> Result<Vec<Outage>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read the failure log: {e}", path.display()))?;
    parse_log(&text, &path.display().to_string(), nodes)
}

/// Reads a failure log's text (`file` names it in errors): a header `node,down_s,up_s`
/// (columns in any order, others ignored), then one outage per row, times in seconds from
/// the workload's origin (decimals allowed, to the millisecond). Every node must be below
/// `nodes`, `up_s` after `down_s`, and a node's outages must not overlap.
pub fn parse_log(text: &str, file: &str, nodes: usize) -> Result<Vec<Outage>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(format!("{file}: empty: expected a header node,down_s,up_s"));
    };
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let column = |name: &str| {
        names.iter().position(|c| *c == name).ok_or_else(|| {
            format!("{file}:1: no column `{name}` in the header (expected node,down_s,up_s)")
        })
    };
    let (node_col, down_col, up_col) = (column("node")?, column("down_s")?, column("up_s")?);
    let mut outages = Vec::new();
    for (i, line) in lines {
        let line_no = i + 1;
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let field = |col: usize, name: &str| {
            fields.get(col).copied().ok_or_else(|| {
                format!(
                    "{file}:{line_no}: {name}: missing (the row has {} fields)",
                    fields.len()
                )
            })
        };
        let raw = field(node_col, "node")?;
        let node: u32 = raw
            .parse()
            .map_err(|_| format!("{file}:{line_no}: node: expected a node number, got `{raw}`"))?;
        if node as usize >= nodes {
            return Err(format!(
                "{file}:{line_no}: node: no node {node}: the cluster has {nodes} (numbered from 0)"
            ));
        }
        let time = |name: &str, col: usize| -> Result<SimTime, String> {
            let raw = field(col, name)?;
            let s: f64 = raw
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                .ok_or_else(|| {
                    format!("{file}:{line_no}: {name}: expected seconds (0 or more), got `{raw}`")
                })?;
            let ms = (s * 1000.0).round();
            if ms >= CLOCK_LIMIT.as_ms() as f64 {
                return Err(format!(
                    "{file}:{line_no}: {name}: {raw} s is past the clock's limit"
                ));
            }
            Ok(SimTime::from_ms(ms as u64))
        };
        let (down, up) = (time("down_s", down_col)?, time("up_s", up_col)?);
        if up <= down {
            return Err(format!(
                "{file}:{line_no}: up_s: the node is up again at {up} s, not after it went down \
                 at {down} s"
            ));
        }
        outages.push((Outage { node, down, up }, line_no));
    }
    outages.sort_by_key(|(o, _)| (o.node, o.down));
    for w in outages.windows(2) {
        let ((a, _), (b, line_no)) = (&w[0], &w[1]);
        if a.node == b.node && b.down < a.up {
            return Err(format!(
                "{file}:{line_no}: down_s: node {} fails at {} s while it is down from {} s to \
                 {} s (outages of a node must not overlap)",
                b.node, b.down, a.down, a.up
            ));
        }
    }
    Ok(outages.into_iter().map(|(o, _)| o).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(mean_s: f64) -> RuntimeDist {
        RuntimeDist::Exponential { mean_s }
    }

    #[test]
    fn a_node_draws_from_its_own_stream() {
        let mut types = indexmap::IndexMap::new();
        types.insert(
            "gpu".to_string(),
            NodeTypeFailures {
                time_between: exp(1000.0),
                repair: exp(100.0),
            },
        );
        let f = Failures::from_draws(&["cpu", "gpu", "gpu"], &types, 7);
        let mut a = f.timeline();
        assert_eq!(a.next_down(0, SimTime::ZERO), None, "cpu nodes never fail");
        let first = a.next_down(2, SimTime::ZERO).unwrap();
        // Node 2's draws do not depend on whether node 1 drew before.
        let mut b = f.timeline();
        let _ = b.next_down(1, SimTime::ZERO);
        assert_eq!(b.next_down(2, SimTime::ZERO), Some(first));
        let up = a.up_again(2, first);
        assert!(up > first);
    }

    #[test]
    fn a_log_is_followed_outage_by_outage() {
        let text = "node,down_s,up_s\n1,10,20\n1,30.5,40\n0,5,6\n";
        let outages = parse_log(text, "f.csv", 2).unwrap();
        let f = Failures::from_log(&outages, 2);
        let mut t = f.timeline();
        let s = SimTime::from_secs;
        assert_eq!(t.next_down(1, SimTime::ZERO), Some(s(10)));
        assert_eq!(t.up_again(1, s(10)), s(20));
        assert_eq!(t.next_down(1, s(20)), Some(SimTime::from_ms(30_500)));
        assert_eq!(t.up_again(1, SimTime::from_ms(30_500)), s(40));
        assert_eq!(t.next_down(1, s(40)), None);
        assert_eq!(t.next_down(0, SimTime::ZERO), Some(s(5)));
    }

    #[test]
    fn a_bad_log_is_an_error_naming_line_and_column() {
        let err = |text: &str| parse_log(text, "f.csv", 2).unwrap_err();
        assert!(err("node,down_s\n").contains("no column `up_s`"));
        assert!(err("node,down_s,up_s\n5,1,2\n").starts_with("f.csv:2: node: no node 5"));
        assert!(err("node,down_s,up_s\n0,x,2\n").starts_with("f.csv:2: down_s"));
        assert!(err("node,down_s,up_s\n0,3,2\n").starts_with("f.csv:2: up_s"));
        let overlap = err("node,down_s,up_s\n0,1,10\n0,5,12\n");
        assert!(overlap.starts_with("f.csv:3: down_s"), "{overlap}");
    }
}
