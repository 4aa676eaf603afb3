//! Name -> amount maps used by quota and the sorters (mirrors
//! `src/common/resource_quantities.{hpp,cpp}`). Amounts are kept in upstream's
//! fixed-point form (thousandths) so sums never drift.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use mesos_proto::mesos::value::Scalar;

use super::resource as r;
use super::values::{format_scalar, from_fixed, to_fixed};
use super::Resources;

/// A resource name; the common ones are static so that quantities on the
/// allocation path do not allocate strings.
pub(crate) type Name = std::borrow::Cow<'static, str>;

pub(crate) fn name_of(s: &str) -> Name {
    match s {
        "cpus" => Name::Borrowed("cpus"),
        "mem" => Name::Borrowed("mem"),
        "disk" => Name::Borrowed("disk"),
        "gpus" => Name::Borrowed("gpus"),
        "ports" => Name::Borrowed("ports"),
        other => Name::Owned(other.to_string()),
    }
}

/// Orders resource names as `str::cmp` does, cheaply for the usual case:
/// names mostly differ in their first byte (`cpus`, `disk`, `mem`, ...), and
/// equal names are often the same static string.
#[inline]
pub(crate) fn cmp_name(a: &str, b: &str) -> Ordering {
    match (a.as_bytes().first(), b.as_bytes().first()) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ if a.len() == b.len() && std::ptr::eq(a.as_ptr(), b.as_ptr()) => Ordering::Equal,
        _ => a.cmp(b),
    }
}

/// Non-negative quantities; absent names mean zero, and subtraction saturates
/// at zero (zero entries are dropped), exactly like upstream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceQuantities {
    /// Sorted by name, no zero entries (a handful of names: a vector beats a map).
    q: Vec<(Name, i64)>,
}

impl ResourceQuantities {
    /// Empty quantities.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empty quantities with room for `n` names (no regrowth on the
    /// allocation path).
    pub(crate) fn with_capacity(n: usize) -> Self {
        ResourceQuantities {
            q: Vec::with_capacity(n),
        }
    }

    /// Sums the scalar entries of `res` by name; shared resources count once.
    pub fn from_scalar_resources(res: &Resources) -> Self {
        let mut out = Self::with_capacity(res.len());
        for x in res.iter_unallocated().filter(|x| r::is_scalar(x)) {
            out.add_fixed(&x.name, to_fixed(r::scalar(x)));
        }
        out
    }

    /// From a map of scalars (e.g. `QuotaConfig.guarantees`).
    pub fn from_map(m: &BTreeMap<String, Scalar>) -> Self {
        let mut out = Self::new();
        for (k, v) in m {
            out.add_fixed(k, to_fixed(v.value));
        }
        out
    }

    /// From `(name, value)` pairs.
    pub fn from_pairs<'a>(it: impl IntoIterator<Item = (&'a str, f64)>) -> Self {
        let mut out = Self::new();
        for (k, v) in it {
            out.add_fixed(k, to_fixed(v));
        }
        out
    }

    /// Parses `cpus:1;mem:32` (used by `--min_allocatable_resources`).
    pub fn parse(text: &str) -> crate::Result<Self> {
        let mut out = Self::new();
        for tok in text.split(';').map(str::trim).filter(|t| !t.is_empty()) {
            let (k, v) = tok
                .split_once(':')
                .ok_or_else(|| crate::Error::Parse(format!("Bad quantity '{tok}'")))?;
            let v: f64 = v
                .trim()
                .parse()
                .map_err(|_| crate::Error::Parse(format!("Bad quantity value in '{tok}'")))?;
            if !v.is_finite() || v < 0.0 {
                return Err(crate::Error::Parse(format!(
                    "Bad quantity value in '{tok}'"
                )));
            }
            out.add_fixed(k.trim(), to_fixed(v));
        }
        Ok(out)
    }

    /// Adds `v` thousandths of `name` (ignored unless positive).
    pub fn add_fixed_value(&mut self, name: &str, v: i64) {
        self.add_fixed(name, v)
    }

    /// Position of `name` (or where it would go). A handful of names:
    /// a linear scan with [`cmp_name`] beats a binary search of `memcmp`s.
    fn find(&self, name: &str) -> Result<usize, usize> {
        for (i, (k, _)) in self.q.iter().enumerate() {
            match cmp_name(k, name) {
                Ordering::Equal => return Ok(i),
                Ordering::Greater => return Err(i),
                Ordering::Less => {}
            }
        }
        Err(self.q.len())
    }

    fn add_fixed(&mut self, name: &str, v: i64) {
        if v <= 0 {
            return;
        }
        match self.find(name) {
            Ok(i) => self.q[i].1 += v,
            Err(i) if i == self.q.len() => self.q.push((name_of(name), v)),
            Err(i) => self.q.insert(i, (name_of(name), v)),
        }
    }

    /// Amount of `name` (0 if absent).
    pub fn get(&self, name: &str) -> f64 {
        from_fixed(self.get_fixed(name))
    }

    /// Amount of `name` in thousandths.
    pub fn get_fixed(&self, name: &str) -> i64 {
        self.find(name).map(|i| self.q[i].1).unwrap_or(0)
    }

    /// True when every amount is zero.
    pub fn is_empty(&self) -> bool {
        self.q.is_empty()
    }

    /// `(name, thousandths)` pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, i64)> + '_ {
        self.q.iter().map(|(k, v)| (k.as_ref(), *v))
    }

    /// `self >= other` for every name.
    pub fn contains(&self, other: &ResourceQuantities) -> bool {
        other.q.iter().all(|(k, v)| self.get_fixed(k) >= *v)
    }

    /// Saturating subtraction.
    pub fn sub(&self, other: &ResourceQuantities) -> ResourceQuantities {
        let mut out = self.clone();
        out.sub_assign(other);
        out
    }

    /// In-place saturating subtraction.
    pub fn sub_assign(&mut self, other: &ResourceQuantities) {
        for (k, v) in &other.q {
            if let Ok(i) = self.find(k) {
                self.q[i].1 -= v;
                if self.q[i].1 <= 0 {
                    self.q.remove(i);
                }
            }
        }
    }

    /// In-place addition.
    pub fn add_assign(&mut self, other: &ResourceQuantities) {
        for (k, v) in &other.q {
            self.add_fixed(k, *v);
        }
    }
}

impl fmt::Display for ResourceQuantities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.q.is_empty() {
            return f.write_str("{}");
        }
        let parts: Vec<String> = self
            .q
            .iter()
            .map(|(k, v)| format!("{k}:{}", format_scalar(from_fixed(*v))))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

/// Upper limits by name; an absent name is unlimited (mirrors `ResourceLimits`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceLimits {
    l: BTreeMap<String, i64>,
}

impl ResourceLimits {
    /// No limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// From a map of scalars (e.g. `QuotaConfig.limits`).
    pub fn from_map(m: &BTreeMap<String, Scalar>) -> Self {
        Self {
            l: m.iter()
                .map(|(k, v)| (k.clone(), to_fixed(v.value).max(0)))
                .collect(),
        }
    }

    /// From `(name, value)` pairs.
    pub fn from_pairs<'a>(it: impl IntoIterator<Item = (&'a str, f64)>) -> Self {
        Self {
            l: it
                .into_iter()
                .map(|(k, v)| (k.to_string(), to_fixed(v).max(0)))
                .collect(),
        }
    }

    /// True when nothing is limited.
    pub fn is_empty(&self) -> bool {
        self.l.is_empty()
    }

    /// Limit for `name` in thousandths.
    pub fn get_fixed(&self, name: &str) -> Option<i64> {
        self.l.get(name).copied()
    }

    /// `(name, thousandths)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, i64)> + '_ {
        self.l.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// Headroom under each limit (`limit - used`, floored at 0); names stay present.
    pub fn minus(&self, used: &ResourceQuantities) -> ResourceLimits {
        Self {
            l: self
                .l
                .iter()
                .map(|(k, v)| (k.clone(), (v - used.get_fixed(k)).max(0)))
                .collect(),
        }
    }

    /// Does `q` stay within every limit?
    pub fn contains(&self, q: &ResourceQuantities) -> bool {
        self.l.iter().all(|(k, v)| q.get_fixed(k) <= *v)
    }
}

impl fmt::Display for ResourceLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.l.is_empty() {
            return f.write_str("{}");
        }
        let parts: Vec<String> = self
            .l
            .iter()
            .map(|(k, v)| format!("{k}:{}", format_scalar(from_fixed(*v))))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

/// Shrinks scalar resources to fit `target` quantities; names absent from
/// `target` are dropped (mirrors `shrinkResources(Resources, ResourceQuantities)`).
/// Upstream shuffles the entries first; we walk them in stored order so the
/// result is deterministic.
pub fn shrink_to_quantities(res: &Resources, target: &ResourceQuantities) -> Resources {
    let mut target = target.clone();
    let mut out = Resources::new();
    if target.is_empty() {
        return out;
    }
    for x in res.iter() {
        let t = target.get_fixed(&x.name);
        if t == 0 || !r::is_scalar(x) {
            continue;
        }
        if let Some(s) = shrink(x, t) {
            let q = ResourceQuantities::from_pairs([(s.name.as_str(), r::scalar(&s))]);
            target.sub_assign(&q);
            out.add_resource(&s);
        }
    }
    out
}

/// Shrinks scalar resources to stay within `limits`; unlimited names pass
/// through (mirrors `shrinkResources(Resources, ResourceLimits)`).
pub fn shrink_to_limits(res: &Resources, limits: &ResourceLimits) -> Resources {
    if limits.is_empty() {
        return res.clone();
    }
    let mut left = limits.clone();
    let mut out = Resources::new();
    for x in res.iter() {
        match left.l.get_mut(&x.name) {
            None => out.add_resource(x),
            Some(l) => {
                if *l == 0 || !r::is_scalar(x) {
                    continue;
                }
                if let Some(s) = shrink(x, *l) {
                    *l -= to_fixed(r::scalar(&s));
                    out.add_resource(&s);
                }
            }
        }
    }
    out
}

/// Shrinks one scalar resource to at most `target` thousandths; a disk that
/// cannot be split (mount, persistent volume) is kept whole only if it fits
/// (mirrors `Resources::shrink`).
fn shrink(x: &mesos_proto::mesos::Resource, target: i64) -> Option<mesos_proto::mesos::Resource> {
    if to_fixed(r::scalar(x)) <= target {
        return Some(x.clone());
    }
    let mut s = x.clone();
    s.scalar = Some(Scalar {
        value: from_fixed(target),
    });
    if x.disk.is_some() && !r::contains(x, &s) {
        return None;
    }
    Some(s)
}
