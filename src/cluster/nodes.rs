//! Node-level resources: every node's free cores, memory, whole GPUs and MIG slices, and
//! the placement of a request on nodes.
//!
//! # The free-resource index
//!
//! A scheduling pass asks "does this request fit now, and where?" many times, mostly for
//! requests that do not fit. On a 10,000-node cluster that question must not cost a walk
//! over the nodes. Nodes are grouped by node type (identical hardware); within a type, each
//! node has a *key*: its free amount of the type's scarce resource (MIG slices on sliced
//! types, GPUs on GPU types, cores otherwise). Per type the index keeps
//! - a histogram `nodes_with_key[k]`: how many nodes have key `k` (keys are small: at most
//!   the cores or GPUs of one node), so "how many nodes of this type could give `k`?" is a
//!   suffix sum over at most a node's capacity, independent of the node count;
//! - an ordered set of `(key, node)`: best-fit walks it upwards from the smallest key that
//!   suffices, spread walks it downwards from the largest, so a placement touches only nodes
//!   that can hold the request (the other resources, memory and cores on GPU types, are then
//!   checked node by node, and rarely reject).
//!
//! Allocation and release update one node's entries: O(log nodes).

use super::spec::ClusterSpec;
pub use super::spec::Placement;

/// A node type, resolved from its spec.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeType {
    /// Its name in the scenario.
    pub name: String,
    /// Nodes of this type.
    pub count: u32,
    /// Cores per node that jobs may be given: its physical cores × its partition's
    /// `oversubscribe` factor.
    pub cores: u32,
    /// Cores per node in the hardware (`cores` without oversubscription).
    pub physical_cores: u32,
    /// Memory per node, MB.
    pub memory_mb: u64,
    /// Whole GPUs per node (0 when sliced by MIG).
    pub gpus: u32,
    /// MIG slices per node (0 without MIG), of profile `mig_profile`.
    pub mig_slices: u32,
    /// The MIG profile of the slices, e.g. `1g.10gb`.
    pub mig_profile: Option<String>,
    /// Relative GPU speed.
    pub gpu_speed: f64,
}

impl NodeType {
    /// The type's scarce resource: the one its index is keyed by.
    fn key_of(&self, free: &NodeFree) -> u32 {
        if self.mig_slices > 0 {
            free.mig_slices
        } else if self.gpus > 0 {
            free.gpus
        } else {
            free.cores
        }
    }

    /// How much of the scarce resource one node must have free for `r`: all of it for an
    /// exclusive job (whole nodes), else the request's share.
    fn key_of_request(&self, r: &NodeRequest) -> u32 {
        if r.exclusive {
            self.key_of(&self.capacity())
        } else if self.mig_slices > 0 {
            r.mig_slices_per_node
        } else if self.gpus > 0 {
            r.gpus_per_node
        } else {
            r.cores_per_node
        }
    }

    /// Everything on one empty node.
    pub fn capacity(&self) -> NodeFree {
        NodeFree {
            cores: self.cores,
            memory_mb: self.memory_mb,
            gpus: self.gpus,
            mig_slices: self.mig_slices,
        }
    }
}

/// What is free on a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeFree {
    /// Free cores.
    pub cores: u32,
    /// Free memory, MB.
    pub memory_mb: u64,
    /// Free whole GPUs.
    pub gpus: u32,
    /// Free MIG slices.
    pub mig_slices: u32,
}

impl NodeFree {
    /// What is free once `back` is given back, never above the node's capacity `cap`.
    pub fn given_back(self, back: NodeFree, cap: NodeFree) -> NodeFree {
        NodeFree {
            cores: (self.cores + back.cores).min(cap.cores),
            memory_mb: (self.memory_mb + back.memory_mb).min(cap.memory_mb),
            gpus: (self.gpus + back.gpus).min(cap.gpus),
            mig_slices: (self.mig_slices + back.mig_slices).min(cap.mig_slices),
        }
    }
}

/// A request for `nodes` nodes, each giving the per-node amounts.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct NodeRequest {
    /// Number of nodes.
    pub nodes: u32,
    /// Tasks (processes) on each node: recorded, not a resource.
    pub tasks_per_node: u32,
    /// Cores on each node.
    pub cores_per_node: u32,
    /// Memory on each node, MB.
    pub memory_mb_per_node: u64,
    /// Whole GPUs on each node.
    pub gpus_per_node: u32,
    /// MIG slices on each node (of the node type's profile).
    pub mig_slices_per_node: u32,
    /// The whole node: nothing else may run on it.
    pub exclusive: bool,
    /// Node types the request may use (bit i: type i); `u64::MAX` for any.
    pub allowed_types: u64,
}

impl std::fmt::Display for NodeRequest {
    /// `2 nodes × (16 cores, 8192 MB, 4 GPUs)`, for messages (what is asked of each node).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = if self.nodes == 1 { "" } else { "s" };
        write!(
            f,
            "{} node{plural} × ({} cores, {} MB",
            self.nodes, self.cores_per_node, self.memory_mb_per_node
        )?;
        if self.gpus_per_node > 0 {
            write!(f, ", {} GPUs", self.gpus_per_node)?;
        }
        if self.mig_slices_per_node > 0 {
            write!(f, ", {} MIG slices", self.mig_slices_per_node)?;
        }
        if self.exclusive {
            write!(f, ", whole node")?;
        }
        write!(f, ")")
    }
}

impl NodeRequest {
    fn fits(&self, t: &NodeType, free: &NodeFree) -> bool {
        if self.exclusive {
            return *free == t.capacity();
        }
        free.cores >= self.cores_per_node
            && free.memory_mb >= self.memory_mb_per_node
            && free.gpus >= self.gpus_per_node
            && free.mig_slices >= self.mig_slices_per_node
    }

    /// Whether one share fits in `free` on a node of type `t`.
    pub fn fits_free(&self, t: &NodeType, free: &NodeFree) -> bool {
        self.fits(t, free)
    }

    /// Whether a node of type `t`, empty, could ever hold one node's share.
    pub fn could_ever_fit(&self, t: &NodeType) -> bool {
        self.fits(t, &t.capacity())
    }

    /// What one node's share takes from a node of type `t` (all of it when exclusive).
    pub fn taken(&self, t: &NodeType) -> NodeFree {
        if self.exclusive {
            t.capacity()
        } else {
            NodeFree {
                cores: self.cores_per_node,
                memory_mb: self.memory_mb_per_node,
                gpus: self.gpus_per_node,
                mig_slices: self.mig_slices_per_node,
            }
        }
    }
}

/// The nodes a request got, in the order placed.
pub type NodeSet = Vec<u32>;

/// Nodes of one type by key: a two-level bit set per key value (keys are small: at most one
/// node's cores or GPUs), so that moving a node between keys is O(1) and walking a key's
/// nodes in node order skips empty stretches 4,096 nodes at a time.
#[derive(Clone, Debug)]
struct KeyIndex {
    first_node: u32,
    /// Per key: bits of the type's nodes (by node − first_node).
    words: Vec<Vec<u64>>,
    /// Per key: one bit per non-zero word.
    summary: Vec<Vec<u64>>,
}

impl KeyIndex {
    fn new(max_key: u32, count: u32) -> KeyIndex {
        let words = (count as usize).div_ceil(64);
        let summary = words.div_ceil(64);
        KeyIndex {
            first_node: 0,
            words: vec![vec![0; words]; max_key as usize + 1],
            summary: vec![vec![0; summary]; max_key as usize + 1],
        }
    }

    fn insert(&mut self, key: u32, node: u32) {
        let i = (node - self.first_node) as usize;
        let (k, w) = (key as usize, i / 64);
        self.words[k][w] |= 1 << (i % 64);
        self.summary[k][w / 64] |= 1 << (w % 64);
    }

    fn remove(&mut self, key: u32, node: u32) {
        let i = (node - self.first_node) as usize;
        let (k, w) = (key as usize, i / 64);
        self.words[k][w] &= !(1 << (i % 64));
        if self.words[k][w] == 0 {
            self.summary[k][w / 64] &= !(1 << (w % 64));
        }
    }

    /// (key, node) for keys from `from` upwards (or from the largest down to `from`),
    /// nodes ascending within a key.
    fn iter(&self, from: u32, ascending: bool) -> impl Iterator<Item = (u32, u32)> + '_ {
        let top = self.words.len() as u32;
        let keys: Box<dyn Iterator<Item = u32>> = if ascending {
            Box::new(from..top)
        } else {
            Box::new((from..top).rev())
        };
        keys.flat_map(move |k| {
            let words = &self.words[k as usize];
            self.summary[k as usize]
                .iter()
                .enumerate()
                .flat_map(move |(si, &s)| bits(s).map(move |b| si * 64 + b))
                .flat_map(move |w| bits(words[w]).map(move |b| w * 64 + b))
                .map(move |i| (k, self.first_node + i as u32))
        })
    }
}

/// The set bits of `word`, lowest first.
fn bits(mut word: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if word == 0 {
            None
        } else {
            let b = word.trailing_zeros() as usize;
            word &= word - 1;
            Some(b)
        }
    })
}

/// A node that fits, for sorting: (penalty, key left after placement, node).
type Candidate = (u32, u32, u32);

/// Hypothetical free resources of some nodes.
type Overlay = std::collections::BTreeMap<u32, NodeFree>;

/// Every node's free resources, with the index.
#[derive(Clone, Debug)]
pub struct Nodes {
    types: Vec<NodeType>,
    node_type: Vec<u16>,
    leaf: Vec<u32>,
    free: Vec<NodeFree>,
    /// Per node: whether it is down (failed, in repair). A down node is out of the index and
    /// never fits; its free resources are kept as they were.
    down: Vec<bool>,
    /// Nodes down.
    down_count: usize,
    /// Per type: how many nodes have each key value.
    histogram: Vec<Vec<u32>>,
    /// Per type: the nodes of each key value, in node order.
    by_key: Vec<KeyIndex>,
    /// Whether the index is kept (a copy that only checks and applies placements, as the
    /// engine's does, needs none).
    indexed: bool,
}

impl Nodes {
    /// The nodes of a cluster spec, numbered type by type in file order; `nodes_per_leaf`
    /// assigns consecutive nodes to leaf switches (`None`: one leaf).
    pub fn new(spec: &ClusterSpec) -> Nodes {
        let nodes_per_leaf = spec
            .fabric
            .as_ref()
            .map_or(u32::MAX, |f| f.nodes_per_leaf.max(1));
        let mut types = Vec::new();
        for (name, t) in &spec.node_types {
            let mig_slices = t.mig.as_ref().map_or(0, |m| m.slices_per_gpu * t.gpus);
            types.push(NodeType {
                name: name.clone(),
                count: t.count,
                cores: t.cores.saturating_mul(spec.oversubscribe_of(name)),
                physical_cores: t.cores,
                memory_mb: t.memory_gb.saturating_mul(1024),
                gpus: if mig_slices > 0 { 0 } else { t.gpus },
                mig_slices,
                mig_profile: t.mig.as_ref().map(|m| m.profile.clone()),
                gpu_speed: t.gpu_speed,
            });
        }
        Nodes::from_types(types, nodes_per_leaf)
    }

    /// Nodes from resolved types.
    pub fn from_types(types: Vec<NodeType>, nodes_per_leaf: u32) -> Nodes {
        let mut nodes = Nodes {
            histogram: types
                .iter()
                .map(|t| {
                    let cap = t.key_of(&t.capacity()) as usize;
                    let mut h = vec![0; cap + 1];
                    h[cap] = t.count;
                    h
                })
                .collect(),
            by_key: types
                .iter()
                .map(|t| KeyIndex::new(t.key_of(&t.capacity()), t.count))
                .collect(),
            indexed: true,
            node_type: Vec::new(),
            leaf: Vec::new(),
            free: Vec::new(),
            down: Vec::new(),
            down_count: 0,
            types,
        };
        for (ti, t) in nodes.types.iter().enumerate() {
            nodes.by_key[ti].first_node = nodes.free.len() as u32;
            for _ in 0..t.count {
                let id = nodes.free.len() as u32;
                nodes.node_type.push(ti as u16);
                nodes.leaf.push(id / nodes_per_leaf);
                nodes.free.push(t.capacity());
                nodes.down.push(false);
                nodes.by_key[ti].insert(t.key_of(&t.capacity()), id);
            }
        }
        nodes
    }

    /// This state without the free-resource index: allocation, release and
    /// [`Nodes::check_placement`] work, the placement searches must not be used.
    pub fn without_index(mut self) -> Nodes {
        self.indexed = false;
        self.by_key = Vec::new();
        self
    }

    /// The node types.
    pub fn types(&self) -> &[NodeType] {
        &self.types
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.free.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.free.is_empty()
    }

    /// What is free on `node`.
    pub fn free(&self, node: u32) -> NodeFree {
        self.free[node as usize]
    }

    /// The type of `node`.
    pub fn type_of(&self, node: u32) -> &NodeType {
        &self.types[self.node_type[node as usize] as usize]
    }

    /// The type index of `node`.
    pub fn type_index(&self, node: u32) -> usize {
        self.node_type[node as usize] as usize
    }

    /// Whether `node` is up (not failed).
    pub fn is_up(&self, node: u32) -> bool {
        !self.down[node as usize]
    }

    /// Nodes down now.
    pub fn down_count(&self) -> usize {
        self.down_count
    }

    /// Takes `node` out of service (it failed): it leaves the index and nothing fits on it
    /// until [`Nodes::set_up`]. Whatever jobs hold on it is the caller's to give back.
    pub fn set_down(&mut self, node: u32) {
        if self.down[node as usize] {
            return;
        }
        self.index_out(node);
        self.down[node as usize] = true;
        self.down_count += 1;
    }

    /// Puts `node` back in service with the free resources it has.
    pub fn set_up(&mut self, node: u32) {
        if !self.down[node as usize] {
            return;
        }
        self.down[node as usize] = false;
        self.down_count -= 1;
        self.index_in(node);
    }

    fn index_out(&mut self, node: u32) {
        if self.indexed {
            let ti = self.node_type[node as usize] as usize;
            let key = self.types[ti].key_of(&self.free[node as usize]);
            self.histogram[ti][key as usize] -= 1;
            self.by_key[ti].remove(key, node);
        }
    }

    fn index_in(&mut self, node: u32) {
        if self.indexed {
            let ti = self.node_type[node as usize] as usize;
            let key = self.types[ti].key_of(&self.free[node as usize]);
            self.histogram[ti][key as usize] += 1;
            self.by_key[ti].insert(key, node);
        }
    }

    /// The leaf switch of `node`.
    pub fn leaf_of(&self, node: u32) -> u32 {
        self.leaf[node as usize]
    }

    /// Whether `r` may use nodes of type index `ti` (below
    /// [`crate::cluster::spec::MAX_NODE_TYPES`], which validation guarantees).
    pub fn allowed(r: &NodeRequest, ti: usize) -> bool {
        debug_assert!(ti < crate::cluster::spec::MAX_NODE_TYPES);
        r.allowed_types & (1u64 << ti) != 0
    }

    /// An upper bound on the nodes that could hold one node's share now, from the
    /// histograms alone: O(types × node capacity), whatever the number of nodes.
    pub fn candidates_bound(&self, r: &NodeRequest) -> u64 {
        let mut total = 0u64;
        for (ti, t) in self.types.iter().enumerate() {
            if !Self::allowed(r, ti) || !r.could_ever_fit(t) {
                continue;
            }
            let need = t.key_of_request(r) as usize;
            let h = &self.histogram[ti];
            if need < h.len() {
                total += h[need..].iter().map(|&c| u64::from(c)).sum::<u64>();
            }
        }
        total
    }

    /// Where `r` would go now under `placement`, without allocating; `None` if it does not
    /// fit. `avoid` lists nodes not to use (a reservation's), sorted.
    pub fn place(&self, r: &NodeRequest, placement: Placement, avoid: &[u32]) -> Option<NodeSet> {
        debug_assert!(
            self.indexed,
            "placement search on a state without its index"
        );
        if r.nodes == 0 || self.candidates_bound(r) < u64::from(r.nodes) {
            return None;
        }
        self.place_over(r, placement, avoid, &Overlay::new())
    }

    /// [`Nodes::place`] on a hypothetical state: the nodes in `overlay` have the free
    /// resources it gives instead of their own (the index still orders the others).
    fn place_over(
        &self,
        r: &NodeRequest,
        placement: Placement,
        avoid: &[u32],
        overlay: &Overlay,
    ) -> Option<NodeSet> {
        let want = r.nodes as usize;
        if want == 0 {
            return None;
        }
        let free_of = |n: u32| overlay.get(&n).copied().unwrap_or(self.free[n as usize]);
        let usable = |n: u32| avoid.binary_search(&n).is_err();
        let fits = |n: u32| {
            let ti = self.node_type[n as usize] as usize;
            Self::allowed(r, ti)
                && !self.down[n as usize]
                && r.fits(&self.types[ti], &free_of(n))
                && usable(n)
        };
        let need_of = |t: &NodeType| t.key_of_request(r);
        // A job that uses no GPUs goes to nodes without GPUs first: a GPU node's scarce
        // resource is its GPUs, and filling its cores would strand them.
        let penalty = |t: &NodeType| {
            u32::from(
                r.gpus_per_node == 0
                    && r.mig_slices_per_node == 0
                    && (t.gpus > 0 || t.mig_slices > 0),
            )
        };
        // Nodes of the overlay that fit, as (penalty, key left after placement, node).
        let overlay_fitting = || {
            overlay
                .keys()
                .copied()
                .filter(|&n| fits(n))
                .map(|n| {
                    let t = self.type_of(n);
                    (penalty(t), t.key_of(&free_of(n)) - need_of(t), n)
                })
                .collect::<Vec<(u32, u32, u32)>>()
        };
        match placement {
            Placement::FirstFit => {
                let chosen: Vec<u32> = (0..self.free.len() as u32)
                    .filter(|&n| fits(n))
                    .take(want)
                    .collect();
                (chosen.len() == want).then_some(chosen)
            }
            Placement::BestFit | Placement::Spread => {
                // Candidates by (key after placement, node): the smallest first for best-fit,
                // the largest first for spread; merged across types and with the overlay.
                let mut cands: Vec<(u32, u32, u32)> = overlay_fitting();
                for (ti, t) in self.types.iter().enumerate() {
                    if !Self::allowed(r, ti) || !r.could_ever_fit(t) {
                        continue;
                    }
                    let need = need_of(t);
                    let pen = penalty(t);
                    let index = &self.by_key[ti];
                    let own = |&(_, n): &(u32, u32)| !overlay.contains_key(&n) && fits(n);
                    // Best-fit: the smallest keys first; spread: the largest. Within one key
                    // the lower numbers.
                    let ascending = placement == Placement::BestFit;
                    cands.extend(
                        index
                            .iter(need, ascending)
                            .filter(own)
                            .take(want)
                            .map(|(k, n)| (pen, k - need, n)),
                    );
                }
                if cands.len() < want {
                    return None;
                }
                if placement == Placement::BestFit {
                    cands.sort_unstable();
                } else {
                    cands.sort_unstable_by(|a, b| {
                        a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2))
                    });
                }
                Some(cands.into_iter().take(want).map(|(_, _, n)| n).collect())
            }
            Placement::Topology => {
                // All fitting nodes, grouped by leaf; one leaf that can hold the whole
                // request if any (the one with the fewest fitting nodes: keep big leaves
                // whole), else the leaves with the most fitting nodes first.
                let mut all: Vec<(u32, u32, u32)> = overlay_fitting();
                for (ti, t) in self.types.iter().enumerate() {
                    if !Self::allowed(r, ti) || !r.could_ever_fit(t) {
                        continue;
                    }
                    let need = need_of(t);
                    let pen = penalty(t);
                    all.extend(
                        self.by_key[ti]
                            .iter(need, true)
                            .filter(|&(_, n)| !overlay.contains_key(&n) && fits(n))
                            .map(|(k, n)| (pen, k - need, n)),
                    );
                }
                if all.len() < want {
                    return None;
                }
                let mut by_leaf: Vec<(u32, Vec<Candidate>)> = Vec::new();
                all.sort_unstable_by_key(|&(p, k, n)| (self.leaf[n as usize], p, k, n));
                for e in all {
                    let leaf = self.leaf[e.2 as usize];
                    match by_leaf.last_mut() {
                        Some(l) if l.0 == leaf => l.1.push(e),
                        _ => by_leaf.push((leaf, vec![e])),
                    }
                }
                if let Some(leaf) = by_leaf
                    .iter()
                    .filter(|e| e.1.len() >= want)
                    .min_by_key(|e| (e.1.len(), e.0))
                {
                    return Some(leaf.1.iter().take(want).map(|&(_, _, n)| n).collect());
                }
                by_leaf.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
                Some(
                    by_leaf
                        .iter()
                        .flat_map(|e| e.1.iter().map(|&(_, _, n)| n))
                        .take(want)
                        .collect(),
                )
            }
        }
    }

    /// Chooses `r.nodes` nodes among `cands` (nodes with the free resources to use for them,
    /// all holding one share) by the placement rule, as [`Nodes::place`] would on that
    /// state.
    pub fn choose_among(
        &self,
        r: &NodeRequest,
        placement: Placement,
        cands: &[(u32, NodeFree)],
    ) -> Option<NodeSet> {
        let want = r.nodes as usize;
        if cands.len() < want || want == 0 {
            return None;
        }
        let overlay: Overlay = cands.iter().copied().collect();
        // Every other node is avoided: the choice is among the candidates alone.
        let avoid: Vec<u32> = (0..self.free.len() as u32)
            .filter(|n| !overlay.contains_key(n))
            .collect();
        self.place_over(r, placement, &avoid, &overlay)
    }

    /// Places `r` on nodes of at most `max_leaves` leaf switches (Slurm's `--switches`),
    /// avoiding `avoid`. The placement rule's own choice is kept if it is within the limit.
    /// Otherwise the leaves are chosen by how many nodes able to hold a share now they
    /// have: for one leaf, the one with the fewest that are enough (packing; ties to the
    /// lower leaf); for several, the ones with the most, most first, until they hold enough;
    /// the placement rule then chooses among their nodes. `None` if no `max_leaves` leaves
    /// hold enough. Costs a look at every node when the rule's choice spans too many.
    pub fn place_within_leaves(
        &self,
        r: &NodeRequest,
        placement: Placement,
        avoid: &[u32],
        max_leaves: u32,
    ) -> Option<NodeSet> {
        let set = self.place(r, placement, avoid)?;
        let spanned: std::collections::BTreeSet<u32> =
            set.iter().map(|&n| self.leaf[n as usize]).collect();
        if spanned.len() <= max_leaves as usize {
            return Some(set);
        }
        let avoided: std::collections::BTreeSet<u32> = avoid.iter().copied().collect();
        let mut per_leaf: std::collections::BTreeMap<u32, u64> = std::collections::BTreeMap::new();
        for n in 0..self.free.len() as u32 {
            let ti = self.node_type[n as usize] as usize;
            if !avoided.contains(&n)
                && !self.down[n as usize]
                && Self::allowed(r, ti)
                && r.fits(&self.types[ti], &self.free[n as usize])
            {
                *per_leaf.entry(self.leaf[n as usize]).or_default() += 1;
            }
        }
        let want = u64::from(r.nodes);
        let mut leaves: Vec<(u64, u32)> = per_leaf.into_iter().map(|(l, c)| (c, l)).collect();
        if max_leaves == 1 {
            // The fullest leaf that is enough, as best-fit packs nodes.
            leaves.retain(|&(count, _)| count >= want);
            leaves.sort();
        } else {
            leaves.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        }
        let (mut held, mut chosen) = (0u64, std::collections::BTreeSet::new());
        for &(count, leaf) in leaves.iter().take(max_leaves as usize) {
            if held >= u64::from(r.nodes) {
                break;
            }
            held += count;
            chosen.insert(leaf);
        }
        if held < u64::from(r.nodes) {
            return None;
        }
        let outside: Vec<u32> = (0..self.free.len() as u32)
            .filter(|&n| avoided.contains(&n) || !chosen.contains(&self.leaf[n as usize]))
            .collect();
        self.place(r, placement, &outside)
    }

    /// The earliest instant at which `r` can be placed, and where, if the jobs in
    /// `releases` give back the part of their share they name on their nodes at their
    /// instants (in order; ties released together before trying). Preemption uses it too,
    /// with the victims' ranks as instants. Nothing is changed: the releases are applied to an overlay
    /// of the nodes they touch, and a node's transition from not fitting to fitting is
    /// counted as it happens, so the placement is tried only once enough nodes fit.
    /// `None` if the request cannot be placed even after every release.
    pub fn earliest_placement<'a, T: Copy + PartialEq>(
        &self,
        r: &NodeRequest,
        placement: Placement,
        releases: impl Iterator<Item = (T, &'a NodeRequest, SharePart, &'a [u32])>,
    ) -> Option<(T, NodeSet)> {
        let want = u64::from(r.nodes);
        let fits_free = |n: u32, f: &NodeFree| {
            let ti = self.node_type[n as usize] as usize;
            Self::allowed(r, ti) && !self.down[n as usize] && r.fits(&self.types[ti], f)
        };
        // Nodes that fit now, counted exactly up to `want` (the index's range holds every
        // node with enough of its type's scarce resource; the others cannot fit).
        let mut fitting = 0u64;
        'types: for (ti, t) in self.types.iter().enumerate() {
            if !Self::allowed(r, ti) || !r.could_ever_fit(t) {
                continue;
            }
            let need = t.key_of_request(r);
            for (_, n) in self.by_key[ti].iter(need, true) {
                if fits_free(n, &self.free[n as usize]) {
                    fitting += 1;
                    if fitting >= want {
                        break 'types;
                    }
                }
            }
        }
        let mut overlay = Overlay::new();
        let mut releases = releases.peekable();
        while let Some((at, job, part, set)) = releases.next() {
            for &n in set {
                let before = *overlay.get(&n).unwrap_or(&self.free[n as usize]);
                let t = self.type_of(n);
                let take = part.of(job.taken(t));
                let cap = t.capacity();
                let after = before.given_back(take, cap);
                if !fits_free(n, &before) && fits_free(n, &after) {
                    fitting += 1;
                }
                overlay.insert(n, after);
            }
            if releases.peek().is_some_and(|next| next.0 == at) || fitting < want {
                continue;
            }
            if let Some(set) = self.place_over(r, placement, &[], &overlay) {
                return Some((at, set));
            }
        }
        None
    }

    /// Checks that `set` is a valid placement of `r` now: as many distinct nodes as it asks
    /// for, each of a type it may use, each holding one node's share.
    pub fn check_placement(&self, r: &NodeRequest, set: &[u32]) -> Result<(), String> {
        if set.len() != r.nodes as usize {
            return Err(format!(
                "{} nodes given, the request is for {}",
                set.len(),
                r.nodes
            ));
        }
        let mut sorted = set.to_vec();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return Err("a node is given twice".to_string());
        }
        for &n in set {
            if n as usize >= self.free.len() {
                return Err(format!("no node {n}"));
            }
            let ti = self.node_type[n as usize] as usize;
            if !Self::allowed(r, ti) {
                return Err(format!(
                    "node {n} is of type {}, outside the job's partition",
                    self.types[ti].name
                ));
            }
            if self.down[n as usize] {
                return Err(format!("node {n} is down"));
            }
            if !r.fits(&self.types[ti], &self.free[n as usize]) {
                return Err(format!(
                    "node {n} lacks the request: free {:?}",
                    self.free[n as usize]
                ));
            }
        }
        Ok(())
    }

    fn set_free(&mut self, node: u32, new: NodeFree) {
        let ti = self.node_type[node as usize] as usize;
        let t = &self.types[ti];
        let old_key = t.key_of(&self.free[node as usize]);
        let new_key = t.key_of(&new);
        self.free[node as usize] = new;
        if old_key != new_key && self.indexed && !self.down[node as usize] {
            self.histogram[ti][old_key as usize] -= 1;
            self.histogram[ti][new_key as usize] += 1;
            self.by_key[ti].remove(old_key, node);
            self.by_key[ti].insert(new_key, node);
        }
    }

    /// Takes one node's share of `r` on each node of `set` (which `place` returned).
    /// Panics in debug builds if a node lacks it; callers check with `place` first.
    pub fn allocate(&mut self, r: &NodeRequest, set: &[u32]) {
        self.take(r, set, SharePart::Whole);
    }

    /// Gives back what `allocate(r, set)` took.
    pub fn release(&mut self, r: &NodeRequest, set: &[u32]) {
        self.give(r, set, SharePart::Whole);
    }

    /// Takes `part` of one node's share of `r` on each node of `set`.
    pub fn take(&mut self, r: &NodeRequest, set: &[u32], part: SharePart) {
        for &n in set {
            let t = &self.types[self.node_type[n as usize] as usize];
            let take = part.of(r.taken(t));
            let f = self.free[n as usize];
            debug_assert!(
                f.cores >= take.cores
                    && f.memory_mb >= take.memory_mb
                    && f.gpus >= take.gpus
                    && f.mig_slices >= take.mig_slices,
                "node {n} lacks the request"
            );
            self.set_free(
                n,
                NodeFree {
                    cores: f.cores.saturating_sub(take.cores),
                    memory_mb: f.memory_mb.saturating_sub(take.memory_mb),
                    gpus: f.gpus.saturating_sub(take.gpus),
                    mig_slices: f.mig_slices.saturating_sub(take.mig_slices),
                },
            );
        }
    }

    /// Gives back `part` of one node's share of `r` on each node of `set`.
    pub fn give(&mut self, r: &NodeRequest, set: &[u32], part: SharePart) {
        for &n in set {
            let t = &self.types[self.node_type[n as usize] as usize];
            let cap = t.capacity();
            let take = part.of(r.taken(t));
            let f = self.free[n as usize];
            self.set_free(n, f.given_back(take, cap));
        }
    }

    /// Checks that `part` of one node's share of `r` is free on each node of `set` (a
    /// suspended job resuming on its own nodes takes back its cores, GPUs and slices).
    pub fn check_part(&self, r: &NodeRequest, set: &[u32], part: SharePart) -> Result<(), String> {
        for &n in set {
            let Some(f) = self.free.get(n as usize) else {
                return Err(format!("no node {n}"));
            };
            let take = part.of(r.taken(&self.types[self.node_type[n as usize] as usize]));
            if f.cores < take.cores
                || f.memory_mb < take.memory_mb
                || f.gpus < take.gpus
                || f.mig_slices < take.mig_slices
            {
                return Err(format!("node {n} lacks the request: free {f:?}"));
            }
        }
        Ok(())
    }
}

/// Whether a node is in service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeState {
    /// In service.
    Up,
    /// Failed: out of service until repaired.
    Down,
}

impl NodeState {
    /// The name in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Up => "up",
            NodeState::Down => "down",
        }
    }
}

/// Which part of a node's share an allocation change concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SharePart {
    /// Everything: a job starting or ending.
    Whole,
    /// Cores, GPUs and MIG slices: what a suspended job gives back and takes again.
    Compute,
    /// Memory: what a suspended job keeps.
    Memory,
}

impl SharePart {
    /// The part of `share`.
    pub fn of(self, share: NodeFree) -> NodeFree {
        match self {
            SharePart::Whole => share,
            SharePart::Compute => NodeFree {
                memory_mb: 0,
                ..share
            },
            SharePart::Memory => NodeFree {
                memory_mb: share.memory_mb,
                cores: 0,
                gpus: 0,
                mig_slices: 0,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpu_type(count: u32) -> NodeType {
        NodeType {
            name: "gpu".into(),
            count,
            cores: 32,
            physical_cores: 32,
            memory_mb: 256 * 1024,
            gpus: 8,
            mig_slices: 0,
            mig_profile: None,
            gpu_speed: 1.0,
        }
    }

    fn gpus(nodes: u32, per_node: u32) -> NodeRequest {
        NodeRequest {
            nodes,
            cores_per_node: 4 * per_node,
            memory_mb_per_node: 1024,
            gpus_per_node: per_node,
            allowed_types: u64::MAX,
            ..NodeRequest::default()
        }
    }

    #[test]
    fn best_fit_packs_and_spread_spreads() {
        let mut nodes = Nodes::from_types(vec![gpu_type(4)], 2);
        let six = gpus(1, 6);
        let a = nodes.place(&six, Placement::BestFit, &[]).unwrap();
        assert_eq!(a, vec![0]);
        nodes.allocate(&six, &a);
        // Node 0 has 2 GPUs left: best-fit packs a 2-GPU job there, spread does not.
        let two = gpus(1, 2);
        assert_eq!(nodes.place(&two, Placement::BestFit, &[]), Some(vec![0]));
        assert_eq!(nodes.place(&two, Placement::Spread, &[]), Some(vec![1]));
        assert_eq!(nodes.place(&two, Placement::FirstFit, &[]), Some(vec![0]));
        // Avoiding node 0 (a reservation's) moves best-fit to node 1.
        assert_eq!(nodes.place(&two, Placement::BestFit, &[0]), Some(vec![1]));
        // Four nodes with 8 GPUs: only three are whole.
        assert_eq!(nodes.place(&gpus(4, 8), Placement::BestFit, &[]), None);
        assert_eq!(nodes.candidates_bound(&gpus(1, 8)), 3);
        nodes.release(&six, &a);
        assert_eq!(
            nodes.free(0),
            NodeFree {
                cores: 32,
                memory_mb: 256 * 1024,
                gpus: 8,
                mig_slices: 0
            }
        );
        assert_eq!(nodes.candidates_bound(&gpus(1, 8)), 4);
    }

    #[test]
    fn topology_uses_one_leaf_when_it_can() {
        let mut nodes = Nodes::from_types(vec![gpu_type(8)], 4);
        // Leaf 0 = nodes 0-3, leaf 1 = nodes 4-7. Fill node 1 so leaf 0 has 3 free nodes.
        let full = gpus(1, 8);
        nodes.allocate(&full, &[1]);
        let three = gpus(3, 8);
        // Leaf 0 holds exactly three: the smallest leaf that suffices.
        assert_eq!(
            nodes.place(&three, Placement::Topology, &[]),
            Some(vec![0, 2, 3])
        );
        let four = gpus(4, 8);
        assert_eq!(
            nodes.place(&four, Placement::Topology, &[]),
            Some(vec![4, 5, 6, 7])
        );
        let six = gpus(6, 8);
        let set = nodes.place(&six, Placement::Topology, &[]).unwrap();
        assert_eq!(set.len(), 6);
        assert_eq!(&set[..4], &[4, 5, 6, 7]);
    }

    #[test]
    fn exclusive_needs_an_empty_node() {
        let mut nodes = Nodes::from_types(vec![gpu_type(2)], 2);
        nodes.allocate(&gpus(1, 1), &[0]);
        let excl = NodeRequest {
            nodes: 1,
            exclusive: true,
            allowed_types: u64::MAX,
            ..NodeRequest::default()
        };
        assert_eq!(nodes.place(&excl, Placement::BestFit, &[]), Some(vec![1]));
        nodes.allocate(&excl, &[1]);
        assert_eq!(nodes.free(1).gpus, 0);
        assert_eq!(
            nodes.place(&gpus(1, 1), Placement::BestFit, &[]),
            Some(vec![0])
        );
        nodes.release(&excl, &[1]);
        assert_eq!(nodes.free(1).gpus, 8);
    }
}
