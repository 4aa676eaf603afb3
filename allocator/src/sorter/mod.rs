//! Role and framework sorters (mirrors `src/master/allocator/mesos/sorter/`):
//! a hierarchical DRF sorter and a weighted random sorter over the same tree.
//!
//! Clients are `/`-separated paths (`a/b/c`); a client that also has
//! descendants is represented by a virtual leaf `.` under its internal node,
//! as upstream does, so "a" competes with its own children "a/b" etc.
//!
//! The sorter only tracks scalar *quantities* (what DRF needs); the allocator
//! keeps the per-agent `Resources`.
//!
//! Performance: DRF children are kept in ordered sets keyed by
//! `(share, allocation count, path)`, so an allocation repositions a client in
//! O(depth · log n) instead of upstream's linear bubbling, and [`Sorter::sort`]
//! is a walk over those sets. A change of the cluster total marks every share
//! stale; the next sort recomputes them (one full re-sort, like upstream's
//! `dirty` flag).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::fast_hash::FastMap;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::resources::ResourceQuantities;

/// Which ordering a sorter uses (`--role_sorter` / `--framework_sorter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SorterKind {
    /// Dominant Resource Fairness, weighted (upstream `drf`).
    #[default]
    Drf,
    /// Weighted random shuffle at every level (upstream `random`).
    Random,
}

impl std::str::FromStr for SorterKind {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "drf" => Ok(SorterKind::Drf),
            "random" => Ok(SorterKind::Random),
            _ => Err(crate::Error::Parse(format!("unknown sorter '{s}'"))),
        }
    }
}

/// Where a node sits in its parent's order. `rank` orders siblings exactly
/// as their paths do (upstream's tie-break), as one integer comparison.
#[derive(Clone, Debug)]
struct Key {
    share: f64,
    count: u64,
    rank: u64,
    idx: usize,
}

impl PartialEq for Key {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o).is_eq()
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Key {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.share
            .total_cmp(&o.share)
            .then(self.count.cmp(&o.count))
            .then(self.rank.cmp(&o.rank))
            .then(self.idx.cmp(&o.idx))
    }
}

#[derive(Debug)]
struct Node {
    /// Full path of the node; for a virtual leaf, the client's path.
    path: Arc<str>,
    /// Path used for weights and tie-breaks: `a/.` for the virtual leaf of
    /// `a`, so (as upstream) it has the default weight.
    key_path: Arc<str>,
    parent: usize,
    leaf: bool,
    active: bool,
    /// Children that take part in sorting (active leaves, internal nodes).
    /// Stored in *descending* order (walked in reverse): an allocation
    /// usually takes the lowest key out and puts it back as the highest, and
    /// `BTreeSet` searches each node from its low end, so the highest key
    /// is the cheap end to insert at, and the lowest is taken with
    /// `pop_last` without a search.
    sorted: BTreeSet<Reverse<Key>>,
    /// All children by component name ("." for the virtual leaf).
    children: HashMap<String, usize>,
    alloc: Vec<i64>,
    count: u64,
    share: f64,
    /// Key under which this node currently sits in its parent's `sorted`.
    key: Option<Key>,
    /// Position among siblings in path order (see [`Key`]).
    rank: u64,
    /// Children by path, to place a new child's rank between its neighbours.
    by_path: BTreeMap<Arc<str>, usize>,
    live: bool,
}

/// A hierarchical sorter.
#[derive(Debug)]
pub struct Sorter {
    kind: SorterKind,
    nodes: Vec<Node>,
    free: Vec<usize>,
    clients: FastMap<String, usize>,
    /// Resource names (the common ones as static strings: comparing them
    /// with the quantities' names is a pointer check).
    names: Vec<crate::resources::quantities::Name>,
    /// Reused buffer for allocation deltas (no allocation per update).
    scratch: Vec<i64>,
    total: Vec<i64>,
    excluded: Vec<bool>,
    exclude_names: BTreeSet<String>,
    weights: FastMap<String, f64>,
    dirty: bool,
    rng: SmallRng,
}

const ROOT: usize = 0;

impl Sorter {
    /// A sorter of the given kind; `seed` drives the random sorter only.
    pub fn new(kind: SorterKind, seed: u64) -> Self {
        let root = Node {
            path: Arc::from(""),
            key_path: Arc::from(""),
            parent: ROOT,
            leaf: false,
            active: true,
            sorted: BTreeSet::new(),
            children: HashMap::new(),
            alloc: Vec::new(),
            count: 0,
            share: 0.0,
            key: None,
            rank: 0,
            by_path: BTreeMap::new(),
            live: true,
        };
        Sorter {
            kind,
            nodes: vec![root],
            free: Vec::new(),
            clients: FastMap::default(),
            names: Vec::new(),
            scratch: Vec::new(),
            total: Vec::new(),
            excluded: Vec::new(),
            exclude_names: BTreeSet::new(),
            weights: FastMap::default(),
            dirty: false,
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    /// Resource names ignored when computing shares
    /// (`--fair_sharing_excluded_resource_names`).
    pub fn set_fairness_exclude(&mut self, names: impl IntoIterator<Item = String>) {
        self.exclude_names = names.into_iter().collect();
        for (i, n) in self.names.iter().enumerate() {
            self.excluded[i] = self.exclude_names.contains(n.as_ref());
        }
        self.dirty = true;
    }

    fn name_idx(&mut self, name: &str) -> usize {
        if let Some(i) = self
            .names
            .iter()
            .position(|n| crate::resources::quantities::cmp_name(n, name).is_eq())
        {
            return i;
        }
        self.names.push(crate::resources::quantities::name_of(name));
        self.total.push(0);
        self.excluded.push(self.exclude_names.contains(name));
        self.names.len() - 1
    }

    /// Is `client` known?
    pub fn contains(&self, client: &str) -> bool {
        self.clients.contains_key(client)
    }

    /// Number of clients.
    pub fn count(&self) -> usize {
        self.clients.len()
    }

    /// Every client (active or not), in path order.
    pub fn clients(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.clients.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// The weighted dominant share of `client` now (what upstream's
    /// `allocator/mesos/roles/<role>/shares/dominant` gauge reports through
    /// `DRFSorter::calculateShare`).
    pub fn share(&self, client: &str) -> Option<f64> {
        self.clients
            .get(client)
            .map(|&leaf| self.calculate_share(leaf))
    }

    fn new_node(&mut self, path: Arc<str>, parent: usize, leaf: bool) -> usize {
        let virtual_leaf = leaf && self.nodes[parent].path == path && parent != ROOT;
        let key_path: Arc<str> = if virtual_leaf {
            Arc::from(format!("{path}/."))
        } else {
            path.clone()
        };
        let n = Node {
            key_path,
            path,
            parent,
            leaf,
            active: false,
            sorted: BTreeSet::new(),
            children: HashMap::new(),
            alloc: vec![0; self.names.len()],
            count: 0,
            share: 0.0,
            key: None,
            rank: 0,
            by_path: BTreeMap::new(),
            live: true,
        };
        let i = if let Some(i) = self.free.pop() {
            self.nodes[i] = n;
            i
        } else {
            self.nodes.push(n);
            self.nodes.len() - 1
        };
        self.assign_rank(parent, i);
        i
    }

    /// Gives a new child a rank between its path neighbours (appending, the
    /// usual case for generated ids, leaves a wide gap); without room, the
    /// siblings are renumbered, which keeps their relative order.
    fn assign_rank(&mut self, parent: usize, child: usize) {
        use std::ops::Bound::{Excluded, Unbounded};
        const STEP: u64 = 1 << 32;
        let path = self.nodes[child].path.clone();
        let p = &mut self.nodes[parent];
        p.by_path.insert(path.clone(), child);
        let prev = p.by_path.range(..path.clone()).next_back().map(|(_, &i)| i);
        let next = p
            .by_path
            .range((Excluded(path), Unbounded))
            .next()
            .map(|(_, &i)| i);
        let lo = prev.map(|i| self.nodes[i].rank);
        let hi = next.map(|i| self.nodes[i].rank);
        let rank = match (lo, hi) {
            (lo, None) => lo.unwrap_or(1 << 62).checked_add(STEP),
            (lo, Some(hi)) => {
                let lo = lo.unwrap_or(0);
                (hi.saturating_sub(lo) >= 2).then(|| lo + (hi - lo) / 2)
            }
        };
        match rank {
            Some(r) => self.nodes[child].rank = r,
            None => self.renumber(parent),
        }
    }

    fn renumber(&mut self, parent: usize) {
        let kids: Vec<usize> = self.nodes[parent].by_path.values().copied().collect();
        let keyed: Vec<usize> = kids
            .iter()
            .copied()
            .filter(|&k| self.nodes[k].key.is_some())
            .collect();
        for &k in &keyed {
            self.remove_sorted(k);
        }
        for (n, &k) in kids.iter().enumerate() {
            self.nodes[k].rank = (n as u64 + 1) << 32;
        }
        for k in keyed {
            self.insert_sorted(k);
        }
    }

    /// Adds a client (inactive until [`Sorter::activate`]), creating internal
    /// nodes for its ancestors as needed.
    pub fn add(&mut self, client: &str) {
        if self.contains(client) {
            return;
        }
        let mut cur = ROOT;
        let comps: Vec<&str> = client.split('/').collect();
        for (i, comp) in comps.iter().enumerate() {
            let path: Arc<str> = Arc::from(comps[..=i].join("/"));
            let last = i + 1 == comps.len();
            match self.nodes[cur].children.get(*comp).copied() {
                Some(child) => {
                    if self.nodes[child].leaf && !last {
                        // A client that gains descendants: move it under a
                        // virtual leaf, as upstream does.
                        self.convert_to_internal(child);
                    }
                    cur = child;
                }
                None => {
                    let child = self.new_node(path, cur, last);
                    self.nodes[cur].children.insert(comp.to_string(), child);
                    if !last {
                        self.insert_sorted(child);
                    }
                    cur = child;
                }
            }
        }
        let leaf = if self.nodes[cur].leaf {
            cur
        } else {
            let path = self.nodes[cur].path.clone();
            let v = self.new_node(path, cur, true);
            self.nodes[cur].children.insert(".".into(), v);
            v
        };
        self.clients.insert(client.to_string(), leaf);
    }

    fn convert_to_internal(&mut self, node: usize) {
        let path = self.nodes[node].path.clone();
        let v = self.new_node(path.clone(), node, true);
        let (active, alloc, count) = {
            let n = &self.nodes[node];
            (n.active, n.alloc.clone(), n.count)
        };
        {
            let vn = &mut self.nodes[v];
            vn.active = active;
            vn.alloc = alloc;
            vn.count = count;
        }
        self.remove_sorted(node);
        {
            let n = &mut self.nodes[node];
            n.leaf = false;
            n.active = true;
            n.children.insert(".".into(), v);
        }
        self.insert_sorted(node);
        if active {
            self.insert_sorted(v);
        }
        self.clients.insert(path.to_string(), v);
    }

    /// Removes a client; its allocation leaves the ancestors' totals.
    pub fn remove(&mut self, client: &str) {
        let Some(leaf) = self.clients.remove(client) else {
            return;
        };
        let alloc = self.nodes[leaf].alloc.clone();
        let neg: Vec<i64> = alloc.iter().map(|x| -x).collect();
        self.apply_delta(leaf, &neg, 0);
        self.remove_sorted(leaf);
        let mut cur = leaf;
        loop {
            let parent = self.nodes[cur].parent;
            let comp = self.nodes[parent]
                .children
                .iter()
                .find(|(_, &v)| v == cur)
                .map(|(k, _)| k.clone());
            if let Some(k) = comp {
                self.nodes[parent].children.remove(&k);
            }
            let path = self.nodes[cur].path.clone();
            self.nodes[parent].by_path.remove(&path);
            self.remove_sorted(cur);
            self.nodes[cur].live = false;
            self.free.push(cur);
            if parent == ROOT || !self.nodes[parent].children.is_empty() {
                break;
            }
            cur = parent;
        }
    }

    /// Makes a client eligible for [`Sorter::sort`].
    pub fn activate(&mut self, client: &str) {
        if let Some(&leaf) = self.clients.get(client) {
            if !self.nodes[leaf].active {
                self.nodes[leaf].active = true;
                self.insert_sorted(leaf);
            }
        }
    }

    /// Excludes a client from [`Sorter::sort`] (its allocation still counts).
    pub fn deactivate(&mut self, client: &str) {
        if let Some(&leaf) = self.clients.get(client) {
            if self.nodes[leaf].active {
                self.remove_sorted(leaf);
                self.nodes[leaf].active = false;
            }
        }
    }

    /// Is the client active?
    pub fn is_active(&self, client: &str) -> bool {
        self.clients
            .get(client)
            .is_some_and(|&l| self.nodes[l].active)
    }

    /// Sets a weight (applies to the node with exactly this path).
    pub fn update_weight(&mut self, path: &str, weight: f64) {
        self.weights.insert(path.to_string(), weight);
        self.dirty = true;
    }

    fn weight(&self, path: &str) -> f64 {
        if self.weights.is_empty() {
            return 1.0;
        }
        self.weights.get(path).copied().unwrap_or(1.0)
    }

    /// Adds cluster capacity (an agent's total scalar quantities).
    pub fn add_total(&mut self, q: &ResourceQuantities) {
        for (n, v) in q.iter() {
            let i = self.name_idx(n);
            self.total[i] += v;
        }
        self.dirty = true;
    }

    /// Removes cluster capacity.
    pub fn remove_total(&mut self, q: &ResourceQuantities) {
        for (n, v) in q.iter() {
            let i = self.name_idx(n);
            self.total[i] -= v;
        }
        self.dirty = true;
    }

    /// Cluster capacity known to this sorter.
    pub fn total(&self) -> ResourceQuantities {
        let mut out = ResourceQuantities::new();
        for (i, n) in self.names.iter().enumerate() {
            out.add_fixed_value(n, self.total[i]);
        }
        out
    }

    /// Records an allocation of `q` to `client`.
    pub fn allocated(&mut self, client: &str, q: &ResourceQuantities) {
        let Some(&leaf) = self.clients.get(client) else {
            return;
        };
        self.allocated_leaf(leaf, q);
    }

    /// [`Sorter::allocated`] by the leaf index [`Sorter::sort_with_leaf`]
    /// reported (valid until a client is added or removed).
    pub(crate) fn allocated_leaf(&mut self, leaf: usize, q: &ResourceQuantities) {
        let delta = self.delta_vec(q, 1);
        self.apply_delta(leaf, &delta, 1);
        self.scratch = delta;
    }

    /// Records that `q` is no longer allocated to `client`.
    pub fn unallocated(&mut self, client: &str, q: &ResourceQuantities) {
        let Some(&leaf) = self.clients.get(client) else {
            return;
        };
        let delta = self.delta_vec(q, -1);
        self.apply_delta(leaf, &delta, 0);
        self.scratch = delta;
    }

    /// A DRF sorter over just the given top-level clients, with the same
    /// totals, weights and subtree allocations. Since a top-level node's share
    /// does not depend on its siblings, the sub-sorter orders these clients
    /// exactly as this sorter's walk does. Used by the allocator's quota stage.
    pub fn top_level_subset<'a>(&self, clients: impl IntoIterator<Item = &'a str>) -> Sorter {
        let mut sub = Sorter::new(self.kind, 0);
        sub.exclude_names = self.exclude_names.clone();
        sub.names = self.names.clone();
        sub.total = self.total.clone();
        sub.excluded = self.excluded.clone();
        sub.weights = self.weights.clone();
        sub.rng = self.rng.clone();
        for c in clients {
            let Some(&node) = self.nodes[ROOT].children.get(c) else {
                continue;
            };
            sub.add(c);
            let leaf = sub.clients[c];
            let n = &self.nodes[node];
            sub.nodes[leaf].alloc = n.alloc.clone();
            sub.nodes[leaf].count = n.count;
            sub.nodes[ROOT].count += n.count;
            sub.activate(c);
        }
        sub.dirty = true;
        sub
    }

    /// Scalar quantities allocated to `client`.
    pub fn allocation(&self, client: &str) -> ResourceQuantities {
        let mut out = ResourceQuantities::new();
        if let Some(&leaf) = self.clients.get(client) {
            for (i, n) in self.names.iter().enumerate() {
                out.add_fixed_value(n, self.nodes[leaf].alloc.get(i).copied().unwrap_or(0));
            }
        }
        out
    }

    /// The per-name delta of `q`, in the reused scratch buffer (the caller
    /// puts it back).
    fn delta_vec(&mut self, q: &ResourceQuantities, sign: i64) -> Vec<i64> {
        let mut d = std::mem::take(&mut self.scratch);
        d.clear();
        d.resize(self.names.len(), 0);
        for (n, v) in q.iter() {
            let i = self.name_idx(n);
            if d.len() <= i {
                d.resize(i + 1, 0);
            }
            d[i] += sign * v;
        }
        d
    }

    fn apply_delta(&mut self, leaf: usize, delta: &[i64], count: u64) {
        let mut cur = leaf;
        loop {
            let in_set = self.nodes[cur].key.is_some();
            if in_set {
                self.remove_sorted(cur);
            }
            {
                let n = &mut self.nodes[cur];
                if n.alloc.len() < delta.len() {
                    n.alloc.resize(delta.len(), 0);
                }
                for (a, d) in n.alloc.iter_mut().zip(delta) {
                    *a += d;
                }
                n.count += count;
            }
            if in_set {
                self.insert_sorted(cur);
            }
            if cur == ROOT {
                break;
            }
            cur = self.nodes[cur].parent;
        }
    }

    fn calculate_share(&self, node: usize) -> f64 {
        let n = &self.nodes[node];
        let mut share: f64 = 0.0;
        for (i, &t) in self.total.iter().enumerate() {
            if t <= 0 || self.excluded[i] {
                continue;
            }
            let a = n.alloc.get(i).copied().unwrap_or(0);
            share = share.max(a as f64 / t as f64);
        }
        share / self.weight(&n.key_path)
    }

    fn insert_sorted(&mut self, node: usize) {
        if node == ROOT || self.nodes[node].key.is_some() {
            return;
        }
        let share = if self.kind == SorterKind::Drf && !self.dirty {
            self.calculate_share(node)
        } else {
            0.0
        };
        let n = &mut self.nodes[node];
        n.share = share;
        let key = Key {
            share,
            count: n.count,
            rank: n.rank,
            idx: node,
        };
        n.key = Some(key.clone());
        let parent = n.parent;
        self.nodes[parent].sorted.insert(Reverse(key));
    }

    fn remove_sorted(&mut self, node: usize) {
        if let Some(key) = self.nodes[node].key.take() {
            let parent = self.nodes[node].parent;
            let set = &mut self.nodes[parent].sorted;
            if set.last().is_some_and(|k| k.0.idx == key.idx) {
                set.pop_last();
            } else {
                set.remove(&Reverse(key));
            }
        }
    }

    /// Recomputes every share (after a total or weight change).
    fn resort(&mut self) {
        self.dirty = false;
        let mut members: Vec<usize> = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if i != ROOT && n.live && n.key.is_some() {
                members.push(i);
            }
        }
        for n in &mut self.nodes {
            n.sorted.clear();
            n.key = None;
        }
        for i in members {
            self.insert_sorted(i);
        }
    }

    /// Active clients in allocation order (DRF: lowest weighted dominant share
    /// first, ties by allocation count then path; random: weighted shuffle).
    pub fn sort(&mut self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.clients.len());
        self.sort_with(|p| {
            out.push(p.to_string());
            true
        });
        out
    }

    /// Walks active clients in order, calling `f` with each path until it
    /// returns `false`. No allocation-order snapshot is built, which is what
    /// keeps a 10k-agent cycle cheap.
    pub fn sort_with(&mut self, mut f: impl FnMut(&str) -> bool) {
        self.sort_with_leaf(|_, path| f(path))
    }

    /// [`Sorter::sort_with`] that also passes each client's leaf index, for
    /// [`Sorter::allocated_leaf`] (saves a lookup by name per allocation).
    pub(crate) fn sort_with_leaf(&mut self, mut f: impl FnMut(usize, &str) -> bool) {
        if self.dirty {
            self.resort();
        }
        match self.kind {
            SorterKind::Drf => {
                walk_drf(&self.nodes, ROOT, &mut f);
            }
            SorterKind::Random => {
                let order = self.random_order(ROOT);
                for (leaf, p) in order {
                    if !f(leaf, &p) {
                        return;
                    }
                }
            }
        }
    }

    fn random_order(&mut self, node: usize) -> Vec<(usize, Arc<str>)> {
        let children: Vec<usize> = self.nodes[node]
            .sorted
            .iter()
            .rev()
            .map(|k| k.0.idx)
            .collect();
        let mut keyed: Vec<(f64, usize)> = children
            .into_iter()
            .map(|c| {
                let w = self.weight(&self.nodes[c].key_path).max(f64::MIN_POSITIVE);
                let u: f64 = self.rng.gen_range(0.0..1.0);
                (-u.powf(1.0 / w), c)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut out = Vec::new();
        for (_, c) in keyed {
            if self.nodes[c].leaf {
                out.push((c, self.nodes[c].path.clone()));
            } else {
                out.extend(self.random_order(c));
            }
        }
        out
    }
}

/// Walks the DRF order below `node` depth-first (children are stored in
/// descending order, so each set is iterated in reverse), calling `f` on
/// every active leaf; returns `false` once `f` asked to stop. Recursion
/// (the tree is a few levels deep) instead of a heap-allocated stack.
fn walk_drf(nodes: &[Node], node: usize, f: &mut impl FnMut(usize, &str) -> bool) -> bool {
    for Reverse(k) in nodes[node].sorted.iter().rev() {
        let n = &nodes[k.idx];
        let go_on = if n.leaf {
            f(k.idx, &n.path)
        } else {
            walk_drf(nodes, k.idx, f)
        };
        if !go_on {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> ResourceQuantities {
        ResourceQuantities::parse(s).unwrap()
    }

    /// Ties on share and count fall back to path order, whatever the order
    /// clients were added in (ranks are placed between neighbours and
    /// renumbered when no gap is left).
    #[test]
    fn ties_break_by_path_for_any_insertion_order() {
        let mut s = Sorter::new(SorterKind::Drf, 0);
        s.add_total(&q("cpus:10"));
        let mut names: Vec<String> = (0..200).map(|i| format!("c{}", (i * 7919) % 200)).collect();
        // Force repeated halving between two neighbours (renumbering).
        names.extend((0..80).map(|i| format!("c1{}", "0".repeat(i))));
        names.extend(["a/b", "a", "a/a", "b/c/d", "b"].map(String::from));
        for n in &names {
            s.add(n);
            s.activate(n);
        }
        let mut expected: Vec<String> = s.sort();
        expected.sort();
        // Equal shares: the walk is in path order, subtrees kept together.
        let got = s.sort();
        let flat: Vec<&String> = got.iter().filter(|c| !c.contains('/')).collect();
        let mut sorted_flat = flat.clone();
        sorted_flat.sort();
        assert_eq!(flat, sorted_flat);
        assert_eq!(got.len(), expected.len());
    }

    #[test]
    fn virtual_leaf_when_client_gains_children() {
        let mut s = Sorter::new(SorterKind::Drf, 0);
        s.add_total(&q("cpus:10"));
        s.add("a");
        s.activate("a");
        s.allocated("a", &q("cpus:1"));
        s.add("a/b");
        s.activate("a/b");
        assert_eq!(s.sort(), vec!["a/b", "a"]);
        assert_eq!(s.allocation("a"), q("cpus:1"));
        s.remove("a/b");
        assert_eq!(s.sort(), vec!["a"]);
    }
}
