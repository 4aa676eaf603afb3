//! Mesos resource arithmetic on `mesos_proto::mesos::Resource` values
//! (mirrors `include/mesos/resources.hpp`, `src/common/resources.cpp`,
//! `src/common/values.cpp`, `src/common/resource_quantities.cpp`).
//!
//! [`Resources`] is a normalized collection: every entry is valid and non-empty,
//! and no two entries could be merged into one. Shared resources carry a
//! count, exactly like upstream's `Resource_::sharedCount`.

#![allow(deprecated)]

pub mod conversions;
pub mod parse;
pub mod quantities;
pub mod resource;
pub mod roles;
pub mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::sync::{Arc, OnceLock};

use mesos_proto::mesos::resource::AllocationInfo;
use mesos_proto::mesos::resource::ReservationInfo;
use mesos_proto::mesos::value::{Range, Ranges, Type as ValueType};
use mesos_proto::mesos::Resource;

pub use quantities::{ResourceLimits, ResourceQuantities};

use crate::error::{Error, Result};
use resource as r;

#[derive(Clone, Debug)]
struct Item {
    /// The resource *without* `allocation_info` (that lives in `alloc`).
    /// Shared copy-on-write, like upstream's `shared_ptr<Resource_>`: copying
    /// a `Resources` only bumps reference counts.
    res: Arc<Resource>,
    /// Number of copies of a shared resource; always 1 for non-shared ones.
    count: i64,
    /// `Resource.allocation_info`, kept beside the protobuf so that
    /// allocating or unallocating never copies the (1000-byte) message.
    alloc: Option<Arc<AllocationInfo>>,
    /// `res` with `alloc` applied, built the first time someone reads it.
    full: OnceLock<Arc<Resource>>,
}

impl Item {
    fn new(mut res: Resource, count: i64) -> Item {
        let alloc = res.allocation_info.take().map(Arc::new);
        Item {
            res: Arc::new(res),
            count,
            alloc,
            full: OnceLock::new(),
        }
    }

    /// The resource as protobuf users see it (with allocation info).
    fn view(&self) -> &Resource {
        match &self.alloc {
            None => &self.res,
            Some(a) => self.full.get_or_init(|| {
                let mut x = (*self.res).clone();
                x.allocation_info = Some((**a).clone());
                Arc::new(x)
            }),
        }
    }

    fn res_mut(&mut self) -> &mut Resource {
        self.full = OnceLock::new();
        Arc::make_mut(&mut self.res)
    }

    fn set_alloc(&mut self, alloc: Option<Arc<AllocationInfo>>) {
        let same = match (&self.alloc, &alloc) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        if !same {
            self.alloc = alloc;
            self.full = OnceLock::new();
        }
    }

    /// Allocation infos are shared `Arc`s along the allocation path: compare
    /// pointers before contents.
    fn same_alloc(&self, that: &Item) -> bool {
        match (&self.alloc, &that.alloc) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
            _ => false,
        }
    }

    fn addable(&self, that: &Item) -> bool {
        // Names differ for most pairs tried: reject those before the full
        // metadata comparison.
        self.res.name == that.res.name && self.same_alloc(that) && r::addable(&self.res, &that.res)
    }

    fn subtractable(&self, that: &Item) -> bool {
        self.res.name == that.res.name
            && self.same_alloc(that)
            && r::subtractable(&self.res, &that.res)
    }

    fn same(&self, that: &Item) -> bool {
        self.same_alloc(that) && r::resource_eq(&self.res, &that.res)
    }
}

/// The entry vector of a [`Resources`], itself shared copy-on-write: a copy
/// of a `Resources` (an offer recorded on the agent, on the framework and in
/// the cycle's result) is one reference count, and only the copy that is
/// changed later pays for the vector. Empty sets hold no allocation.
#[derive(Clone, Debug, Default)]
struct Items(Option<Arc<Vec<Item>>>);

impl std::ops::Deref for Items {
    type Target = [Item];
    fn deref(&self) -> &[Item] {
        match &self.0 {
            Some(v) => v,
            None => &[],
        }
    }
}

impl From<Vec<Item>> for Items {
    fn from(v: Vec<Item>) -> Items {
        if v.is_empty() {
            Items(None)
        } else {
            Items(Some(Arc::new(v)))
        }
    }
}

impl FromIterator<Item> for Items {
    fn from_iter<T: IntoIterator<Item = Item>>(iter: T) -> Items {
        iter.into_iter().collect::<Vec<Item>>().into()
    }
}

impl Items {
    /// The vector for changing, copied first if someone else holds it.
    fn make_mut(&mut self) -> &mut Vec<Item> {
        Arc::make_mut(self.0.get_or_insert_with(Default::default))
    }

    /// The vector by value (copied only if shared).
    fn into_vec(self) -> Vec<Item> {
        match self.0 {
            None => Vec::new(),
            Some(a) => Arc::try_unwrap(a).unwrap_or_else(|a| (*a).clone()),
        }
    }
}

/// A normalized multiset of `Resource` objects with Mesos arithmetic.
#[derive(Clone, Debug, Default)]
pub struct Resources {
    items: Items,
}

impl Resources {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds from wire resources: upgrades each to the post-refinement format
    /// and skips invalid or empty ones, as upstream's constructors do.
    pub fn from_vec<I: IntoIterator<Item = Resource>>(rs: I) -> Self {
        let mut out = Self::new();
        for mut res in rs {
            r::upgrade(&mut res);
            if r::validate(&res).is_ok() {
                out.add_item(Item::new(res, 1));
            }
        }
        out
    }

    /// Like [`Resources::from_vec`] but fails on the first invalid resource.
    pub fn try_from_vec<I: IntoIterator<Item = Resource>>(rs: I) -> Result<Self> {
        let mut out = Self::new();
        for mut res in rs {
            r::upgrade(&mut res);
            r::validate(&res)?;
            out.add_item(Item::new(res, 1));
        }
        Ok(out)
    }

    /// Parses `cpus:2;mem:1024;ports:[31000-32000]` or the JSON array form,
    /// unreserved resources going to `default_role` (mirrors `Resources::parse`).
    pub fn parse(text: &str, default_role: &str) -> Result<Self> {
        parse::parse(text, default_role)
    }

    /// Validates one resource (mirrors `Resources::validate`).
    pub fn validate(res: &Resource) -> Result<()> {
        r::validate(res)
    }

    /// Number of distinct entries.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there is nothing in the set.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The entries (each shared resource once, regardless of its count).
    pub fn iter(&self) -> impl Iterator<Item = &Resource> + '_ {
        self.items.iter().map(Item::view)
    }

    /// The entries as protobufs (each shared resource once).
    pub fn to_vec(&self) -> Vec<Resource> {
        self.iter().cloned().collect()
    }

    /// The entries in the pre-refinement ("endpoint") format for old agents
    /// and v0 JSON endpoints.
    pub fn to_endpoint_vec(&self) -> Vec<Resource> {
        self.iter()
            .cloned()
            .map(|mut x| {
                r::to_endpoint_format(&mut x);
                x
            })
            .collect()
    }

    /// How many copies of `res` are held (shared count, or 1/0).
    pub fn count(&self, res: &Resource) -> i64 {
        let that = Item::new(res.clone(), 1);
        self.items
            .iter()
            .find(|i| i.same(&that))
            .map(|i| i.count)
            .unwrap_or(0)
    }

    fn item_is_empty(i: &Item) -> bool {
        (i.res.shared.is_some() && i.count == 0) || r::is_empty_value(&i.res)
    }

    fn add_item(&mut self, that: Item) {
        if Self::item_is_empty(&that) {
            return;
        }
        let items = self.items.make_mut();
        for i in items.iter_mut() {
            if i.addable(&that) {
                if i.res.shared.is_some() {
                    i.count += that.count;
                } else {
                    r::add_value(i.res_mut(), &that.res);
                }
                return;
            }
        }
        items.push(that);
    }

    fn sub_item(&mut self, that: &Item) {
        if Self::item_is_empty(that) {
            return;
        }
        // The allocation path subtracts entries that are handles to the very
        // entries held here: `x - x` is empty, whatever the value type.
        if that.res.shared.is_none() && that.res.disk.is_none() {
            if let Some(idx) = self
                .items
                .iter()
                .position(|i| Arc::ptr_eq(&i.res, &that.res) && i.same_alloc(that))
            {
                self.items.make_mut().swap_remove(idx);
                return;
            }
        }
        let Some(idx) = self.items.iter().position(|i| i.subtractable(that)) else {
            return;
        };
        let items = self.items.make_mut();
        {
            let i = &mut items[idx];
            if i.res.shared.is_some() {
                i.count -= that.count;
            } else if Arc::ptr_eq(&i.res, &that.res)
                || (r::is_scalar(&i.res)
                    && values::to_fixed(r::scalar(&that.res))
                        >= values::to_fixed(r::scalar(&i.res)))
            {
                // Everything goes: drop the entry without copying it first.
                items.swap_remove(idx);
                return;
            } else {
                r::sub_value(i.res_mut(), &that.res);
            }
            let negative = (i.res.shared.is_some() && i.count < 0)
                || (r::is_scalar(&i.res) && values::to_fixed(r::scalar(&i.res)) < 0);
            if negative || Self::item_is_empty(i) {
                items.swap_remove(idx);
            }
        }
    }

    /// Adds one (valid) resource; invalid ones are ignored like upstream.
    pub fn add_resource(&mut self, res: &Resource) {
        let mut res = res.clone();
        r::upgrade(&mut res);
        if r::validate(&res).is_ok() {
            self.add_item(Item::new(res, 1));
        }
    }

    /// Subtracts one (valid) resource; invalid ones are ignored.
    pub fn sub_resource(&mut self, res: &Resource) {
        let mut res = res.clone();
        r::upgrade(&mut res);
        if r::validate(&res).is_ok() {
            self.sub_item(&Item::new(res, 1));
        }
    }

    fn contains_item(&self, that: &Item) -> bool {
        self.items.iter().any(|i| {
            if i.res.name != that.res.name {
                false
            } else if i.res.shared.is_none()
                && i.res.disk.is_none()
                && Arc::ptr_eq(&i.res, &that.res)
                && i.same_alloc(that)
            {
                // The very same (non-shared) resource: contained.
                true
            } else if i.res.shared.is_some() != that.res.shared.is_some() {
                false
            } else if i.res.shared.is_some() {
                i.count >= that.count && i.same(that)
            } else {
                i.same_alloc(that) && r::contains(&i.res, &that.res)
            }
        })
    }

    /// `self ⊇ that` (mirrors `Resources::contains(const Resources&)`).
    pub fn contains(&self, that: &Resources) -> bool {
        // Fast path for the common (non persistent volume) case: no copy.
        if !that.items.iter().any(|i| r::is_persistent_volume(&i.res)) {
            return that.items.iter().all(|i| self.contains_item(i));
        }
        let mut remaining = self.clone();
        for i in that.items.iter() {
            if !remaining.contains_item(i) {
                return false;
            }
            if r::is_persistent_volume(&i.res) {
                remaining.sub_item(i);
            }
        }
        true
    }

    /// `self ⊇ {res}`; invalid resources are never contained.
    pub fn contains_resource(&self, res: &Resource) -> bool {
        let mut res = res.clone();
        r::upgrade(&mut res);
        r::validate(&res).is_ok() && self.contains_item(&Item::new(res, 1))
    }

    /// Whether these resources cover the given quantities (ranges and sets
    /// counted by size), mirroring `Resources::contains(ResourceQuantities)`.
    pub fn contains_quantities(&self, q: &ResourceQuantities) -> bool {
        q.iter().all(|(name, want)| {
            let mut have: i64 = 0;
            for i in self.items.iter().filter(|i| i.res.name == name) {
                have += match r::value_type(&i.res) {
                    Some(ValueType::Scalar) => values::to_fixed(r::scalar(&i.res)),
                    Some(ValueType::Set) => {
                        i.res.set.as_ref().map_or(0, |s| s.item.len() as i64) * 1000
                    }
                    Some(ValueType::Ranges) => {
                        i.res
                            .ranges
                            .as_ref()
                            .map_or(0, |x| values::ranges_count(x) as i64)
                            * 1000
                    }
                    _ => 0,
                };
            }
            have >= want
        })
    }

    /// Entries matching `pred`.
    pub fn filter(&self, pred: impl Fn(&Resource) -> bool) -> Resources {
        Resources {
            items: self
                .items
                .iter()
                .filter(|i| pred(i.view()))
                .cloned()
                .collect(),
        }
    }

    /// Keeps only the entries matching `pred`, in place (no copy, and a
    /// shared entry vector stays shared when everything is kept).
    pub fn retain(&mut self, mut pred: impl FnMut(&Resource) -> bool) {
        let Some(first_out) = self.items.iter().position(|i| !pred(i.view())) else {
            return;
        };
        let mut k = 0;
        self.items.make_mut().retain(|i| {
            // Entries before `first_out` were kept already; the predicate
            // sees every other entry exactly once.
            let keep = k < first_out || (k > first_out && pred(i.view()));
            k += 1;
            keep
        });
    }

    /// Splits into (matching, not matching) without copying entries.
    pub fn partition(self, mut pred: impl FnMut(&Resource) -> bool) -> (Resources, Resources) {
        let (a, b): (Vec<Item>, Vec<Item>) = self
            .items
            .into_vec()
            .into_iter()
            .partition(|i| pred(i.view()));
        (Resources { items: a.into() }, Resources { items: b.into() })
    }

    /// Moves the entries matching `pred` out into the returned set; both
    /// keep their order (the first half of [`Resources::partition`], in
    /// place: one allocation instead of two). `pred` may be called more
    /// than once per entry.
    pub(crate) fn split_off_where(&mut self, mut pred: impl FnMut(&Resource) -> bool) -> Resources {
        if !self.items.iter().any(|i| pred(i.view())) {
            return Resources::new();
        }
        let unique = self
            .items
            .0
            .as_ref()
            .is_some_and(|a| Arc::strong_count(a) == 1);
        if unique {
            let out: Vec<Item> = self
                .items
                .make_mut()
                .extract_if(.., |i| pred(i.view()))
                .collect();
            return Resources { items: out.into() };
        }
        // Shared with someone: build both sides from the shared vector
        // (copying it first only to move half of it out would copy twice).
        let n = self.items.iter().filter(|i| pred(i.view())).count();
        let (mut a, mut b) = (
            Vec::with_capacity(n),
            Vec::with_capacity(self.items.len() - n),
        );
        for i in self.items.iter() {
            if pred(i.view()) {
                a.push(i.clone());
            } else {
                b.push(i.clone());
            }
        }
        self.items = b.into();
        Resources { items: a.into() }
    }

    /// The entries not matching `pred`, then those matching, each side in
    /// stored order: what [`Resources::split_off_where`] followed by
    /// [`Resources::append_disjoint`] of the two sides yields, built as one
    /// vector (or shared, when the order does not change).
    pub(crate) fn reordered_where(&self, mut pred: impl FnMut(&Resource) -> bool) -> Resources {
        let n = self.items.len();
        if n > 64 {
            let (mut a, b) = self.clone().partition(|x| !pred(x));
            a.append_disjoint(b);
            return a;
        }
        // Bit k: entry k matches (a set has a handful of entries).
        let mut mask: u64 = 0;
        for (k, i) in self.items.iter().enumerate() {
            if pred(i.view()) {
                mask |= 1 << k;
            }
        }
        // Already in that order (the matching entries are the last ones):
        // share the vector.
        // (bits `trailing_zeros..n` all set, nothing else).
        if mask == 0 || mask.count_ones() as usize == n - mask.trailing_zeros() as usize {
            return self.clone();
        }
        let mut out = Vec::with_capacity(n);
        for want in [false, true] {
            for (k, i) in self.items.iter().enumerate() {
                if (mask >> k) & 1 == u64::from(want) {
                    out.push(i.clone());
                }
            }
        }
        Resources { items: out.into() }
    }

    /// True if any entry matches `pred`.
    pub fn any(&self, mut pred: impl FnMut(&Resource) -> bool) -> bool {
        self.items.iter().any(|i| pred(i.view()))
    }

    /// Scalar quantities of the entries matching `pred`, without copying.
    /// The predicate sees each resource *without* its allocation info
    /// (quantities never depend on it).
    pub fn scalar_quantities_where(
        &self,
        mut pred: impl FnMut(&Resource) -> bool,
    ) -> ResourceQuantities {
        let mut out = ResourceQuantities::with_capacity(self.items.len());
        for i in self
            .items
            .iter()
            .filter(|i| r::is_scalar(&i.res) && pred(&i.res))
        {
            out.add_fixed_value(&i.res.name, values::to_fixed(r::scalar(&i.res)));
        }
        out
    }

    /// `(self.scalar_quantities(), self.scalar_quantities_where(pred))` in
    /// one pass (the allocation cycle needs both for every offer); the
    /// second is `None` when every scalar matches (it equals the first).
    pub(crate) fn scalar_quantities_and_where(
        &self,
        mut pred: impl FnMut(&Resource) -> bool,
    ) -> (ResourceQuantities, Option<ResourceQuantities>) {
        let scalars = || self.items.iter().filter(|i| r::is_scalar(&i.res));
        let mut all = ResourceQuantities::with_capacity(self.items.len());
        for i in scalars() {
            all.add_fixed_value(&i.res.name, values::to_fixed(r::scalar(&i.res)));
        }
        if scalars().all(|i| pred(&i.res)) {
            return (all, None);
        }
        let mut matching = ResourceQuantities::with_capacity(self.items.len());
        for i in scalars().filter(|i| pred(&i.res)) {
            matching.add_fixed_value(&i.res.name, values::to_fixed(r::scalar(&i.res)));
        }
        (all, Some(matching))
    }

    /// Reserved resources; with `Some(role)` only those reserved to exactly `role`.
    pub fn reserved(&self, role: Option<&str>) -> Resources {
        self.filter(|x| r::is_reserved(x, role))
    }

    /// Unreserved resources.
    pub fn unreserved(&self) -> Resources {
        self.filter(r::is_unreserved)
    }

    /// Resources a framework in `role` may use: unreserved, or reserved to
    /// `role` or an ancestor of it.
    pub fn allocatable_to(&self, role: &str) -> Resources {
        self.filter(|x| r::is_allocatable_to(x, role))
    }

    /// Resources allocated to `role` or its descendants.
    pub fn allocated_to_role_subtree(&self, role: &str) -> Resources {
        Resources {
            items: self
                .items
                .iter()
                .filter(|i| {
                    let a = i
                        .alloc
                        .as_ref()
                        .and_then(|a| a.role.as_deref())
                        .unwrap_or("");
                    a == role || roles::is_strict_subrole_of(a, role)
                })
                .cloned()
                .collect(),
        }
    }

    /// The entries that carry no allocation info (no protobuf is built).
    pub(crate) fn entries_without_allocation(&self) -> Resources {
        Resources {
            items: self
                .items
                .iter()
                .filter(|i| i.alloc.is_none())
                .cloned()
                .collect(),
        }
    }

    /// The entries as stored, without allocation info (crate-internal fast
    /// path for quantities).
    pub(crate) fn iter_unallocated(&self) -> impl Iterator<Item = &Resource> + '_ {
        self.items.iter().map(|i| &*i.res)
    }

    /// Resources reserved to `role` or its descendants.
    pub fn reserved_to_role_subtree(&self, role: &str) -> Resources {
        self.filter(|x| r::is_reserved_to_role_subtree(x, role))
    }

    /// Persistent volumes.
    pub fn persistent_volumes(&self) -> Resources {
        self.filter(r::is_persistent_volume)
    }

    /// Revocable resources.
    pub fn revocable(&self) -> Resources {
        self.filter(r::is_revocable)
    }

    /// Non-revocable resources.
    pub fn non_revocable(&self) -> Resources {
        self.filter(|x| !r::is_revocable(x))
    }

    /// Shared resources.
    pub fn shared(&self) -> Resources {
        self.filter(r::is_shared)
    }

    /// Non-shared resources.
    pub fn non_shared(&self) -> Resources {
        self.filter(|x| !r::is_shared(x))
    }

    /// Scalar resources.
    pub fn scalars(&self) -> Resources {
        self.filter(r::is_scalar)
    }

    /// Resources with the given name.
    pub fn get(&self, name: &str) -> Resources {
        self.filter(|x| x.name == name)
    }

    /// Sum of scalar values with this name, `None` when absent.
    pub fn get_scalar(&self, name: &str) -> Option<f64> {
        let mut total: Option<i64> = None;
        for i in self
            .items
            .iter()
            .filter(|i| i.res.name == name && r::is_scalar(&i.res))
        {
            *total.get_or_insert(0) += values::to_fixed(r::scalar(&i.res));
        }
        total.map(values::from_fixed)
    }

    /// Union of all ranges with this name.
    pub fn get_ranges(&self, name: &str) -> Option<Ranges> {
        let mut out: Option<Ranges> = None;
        for i in self.items.iter().filter(|i| i.res.name == name) {
            if let Some(x) = &i.res.ranges {
                let cur = out.get_or_insert_with(Ranges::default);
                *cur = values::ranges_add(cur, x);
            }
        }
        out
    }

    /// Total `cpus`.
    pub fn cpus(&self) -> Option<f64> {
        self.get_scalar("cpus")
    }

    /// Total `gpus`.
    pub fn gpus(&self) -> Option<f64> {
        self.get_scalar("gpus")
    }

    /// Total `mem` in MB.
    pub fn mem(&self) -> Option<f64> {
        self.get_scalar("mem")
    }

    /// Total `disk` in MB.
    pub fn disk(&self) -> Option<f64> {
        self.get_scalar("disk")
    }

    /// All `ports` ranges.
    pub fn ports(&self) -> Option<Ranges> {
        self.get_ranges("ports")
    }

    /// Distinct resource names.
    pub fn names(&self) -> BTreeSet<String> {
        self.items.iter().map(|i| i.res.name.clone()).collect()
    }

    /// Sets `allocation_info.role` on every entry (mirrors `Resources::allocate`).
    pub fn allocate(&mut self, role: &str) {
        let info = AllocationInfo {
            role: Some(role.to_string()),
        };
        self.set_allocation_info(Some(Arc::new(info)));
    }

    /// [`Resources::allocate`] with a shared allocation info (the cycle
    /// makes one per role, so equal infos are also pointer-equal).
    pub(crate) fn allocate_shared(&mut self, info: &Arc<AllocationInfo>) {
        self.set_allocation_info(Some(info.clone()));
    }

    /// Appends entries known to be distinct from (not mergeable with) every
    /// entry here: the two sides of a [`Resources::partition`], each possibly
    /// shrunk. Skips the pairwise merge checks of `+=`.
    pub(crate) fn append_disjoint(&mut self, other: Resources) {
        debug_assert!(other
            .items
            .iter()
            .all(|o| !self.items.iter().any(|i| i.addable(o))));
        if self.items.is_empty() {
            self.items = other.items;
            return;
        }
        self.items.make_mut().extend(other.items.into_vec());
    }

    /// Sets the allocation info of every entry. When all entries agreed on it
    /// before, entries stay distinct (they differ elsewhere), so no merging is
    /// needed; otherwise the set is re-normalized.
    fn set_allocation_info(&mut self, info: Option<Arc<AllocationInfo>>) {
        let uniform = self.items.windows(2).all(|w| w[0].same_alloc(&w[1]));
        if uniform {
            if self.items.iter().all(|i| {
                matches!((&i.alloc, &info), (None, None))
                    || matches!((&i.alloc, &info), (Some(a), Some(b)) if Arc::ptr_eq(a, b))
            }) {
                return;
            }
            for i in self.items.make_mut().iter_mut() {
                i.set_alloc(info.clone());
            }
            return;
        }
        let old = std::mem::take(&mut self.items).into_vec();
        for mut i in old {
            i.set_alloc(info.clone());
            self.add_item(i);
        }
    }

    /// Clears allocation info (mirrors `Resources::unallocate`).
    pub fn unallocate(&mut self) {
        if self.items.iter().all(|i| i.alloc.is_none()) {
            return;
        }
        self.set_allocation_info(None);
    }

    /// Copy with allocation info cleared.
    pub fn unallocated(&self) -> Resources {
        let mut c = self.clone();
        c.unallocate();
        c
    }

    /// Copy allocated to `role`.
    pub fn allocated_to(&self, role: &str) -> Resources {
        let mut c = self.clone();
        c.allocate(role);
        c
    }

    /// Allocation role -> resources (entries without allocation info are skipped).
    pub fn allocations(&self) -> BTreeMap<String, Resources> {
        let mut out: BTreeMap<String, Resources> = BTreeMap::new();
        for i in self.items.iter() {
            if let Some(role) = i.alloc.as_ref().and_then(|a| a.role.clone()) {
                out.entry(role).or_default().add_item(i.clone());
            }
        }
        out
    }

    /// Reservation role -> reserved resources.
    pub fn reservations(&self) -> BTreeMap<String, Resources> {
        let mut out: BTreeMap<String, Resources> = BTreeMap::new();
        for i in self.items.iter() {
            if let Some(role) = r::reservation_role(&i.res) {
                out.entry(role.to_string()).or_default().add_item(i.clone());
            }
        }
        out
    }

    /// Pushes a reservation onto every entry (a RESERVE operation's result).
    pub fn push_reservation(&self, info: &ReservationInfo) -> Resources {
        let mut out = Resources::new();
        for i in self.items.iter() {
            let mut i = i.clone();
            i.res_mut().reservations.push(info.clone());
            out.add_item(i);
        }
        out
    }

    /// Pops the innermost reservation from every entry (UNRESERVE).
    pub fn pop_reservation(&self) -> Resources {
        let mut out = Resources::new();
        for i in self.items.iter() {
            let mut i = i.clone();
            i.res_mut().reservations.pop();
            out.add_item(i);
        }
        out
    }

    /// All reservations removed.
    pub fn to_unreserved(&self) -> Resources {
        let mut out = Resources::new();
        for i in self.items.iter() {
            let mut i = i.clone();
            i.res_mut().reservations.clear();
            out.add_item(i);
        }
        out
    }

    /// Scalar quantities (name -> amount) of the scalar entries, counting
    /// shared resources once (mirrors `ResourceQuantities::fromScalarResources`).
    pub fn scalar_quantities(&self) -> ResourceQuantities {
        ResourceQuantities::from_scalar_resources(self)
    }

    /// Scalars stripped of all metadata, one entry per name (mirrors
    /// `createStrippedScalarQuantity`).
    pub fn create_stripped_scalar_quantity(&self) -> Resources {
        let mut out = Resources::new();
        for i in self.items.iter().filter(|i| r::is_scalar(&i.res)) {
            let res = Resource {
                name: i.res.name.clone(),
                r#type: i.res.r#type,
                scalar: i.res.scalar,
                ..Default::default()
            };
            out.add_item(Item::new(res, 1));
        }
        out
    }

    /// Applies `consumed -> converted` conversions in order (mirrors
    /// `ResourceConversion::apply`), failing if something consumed is missing.
    pub fn apply(&self, conversions: &[ResourceConversion]) -> Result<Resources> {
        let mut out = self.clone();
        for c in conversions {
            if !out.contains(&c.consumed) {
                return Err(Error::NotContained {
                    have: out.to_string(),
                    want: c.consumed.to_string(),
                });
            }
            out -= &c.consumed;
            out += &c.converted;
            if let Some(f) = &c.forbid_after {
                if out.contains(f) {
                    return Err(Error::InvalidOperation(format!(
                        "Persistent volume {f} cannot be removed due to additional shared copies"
                    )));
                }
            }
        }
        Ok(out)
    }

    /// Entries that hold a single port or a range of ports: convenience used by
    /// tests and benchmarks.
    pub fn ports_range(begin: u64, end: u64) -> Resource {
        Resource {
            name: "ports".into(),
            r#type: ValueType::Ranges as i32,
            ranges: Some(Ranges {
                range: vec![Range { begin, end }],
            }),
            ..Default::default()
        }
    }

    /// A scalar resource, unreserved.
    pub fn scalar(name: &str, value: f64) -> Resource {
        Resource {
            name: name.into(),
            r#type: ValueType::Scalar as i32,
            scalar: Some(mesos_proto::mesos::value::Scalar { value }),
            ..Default::default()
        }
    }

    /// Sum of many.
    pub fn sum<'a>(it: impl IntoIterator<Item = &'a Resources>) -> Resources {
        let mut out = Resources::new();
        for x in it {
            out += x;
        }
        out
    }
}

/// A resource conversion (`consumed` becomes `converted`), as produced by
/// applying an offer operation (mirrors `ResourceConversion`).
#[derive(Clone, Debug, Default)]
pub struct ResourceConversion {
    /// Resources that disappear.
    pub consumed: Resources,
    /// Resources that appear.
    pub converted: Resources,
    /// Post-validation (upstream's `postValidation` for DESTROY): the result
    /// must not still contain these (e.g. another copy of a shared volume).
    pub forbid_after: Option<Resources>,
}

impl ResourceConversion {
    /// A plain conversion.
    pub fn new(consumed: Resources, converted: Resources) -> Self {
        ResourceConversion {
            consumed,
            converted,
            forbid_after: None,
        }
    }
}

impl PartialEq for Resources {
    /// Upstream defines equality as mutual containment.
    fn eq(&self, other: &Self) -> bool {
        self.contains(other) && other.contains(self)
    }
}

impl From<Resource> for Resources {
    fn from(r: Resource) -> Self {
        Resources::from_vec([r])
    }
}

impl From<Vec<Resource>> for Resources {
    fn from(v: Vec<Resource>) -> Self {
        Resources::from_vec(v)
    }
}

impl FromIterator<Resource> for Resources {
    fn from_iter<T: IntoIterator<Item = Resource>>(iter: T) -> Self {
        Resources::from_vec(iter)
    }
}

impl AddAssign<&Resources> for Resources {
    fn add_assign(&mut self, rhs: &Resources) {
        if self.items.is_empty() {
            // Already normalized: one exact-size copy of the entry handles.
            self.items = rhs.items.clone();
            return;
        }
        self.items.make_mut().reserve(rhs.items.len());
        for i in rhs.items.iter() {
            self.add_item(i.clone());
        }
    }
}

impl AddAssign<Resources> for Resources {
    fn add_assign(&mut self, rhs: Resources) {
        if self.items.is_empty() {
            *self = rhs;
            return;
        }
        for i in rhs.items.into_vec() {
            self.add_item(i);
        }
    }
}

impl SubAssign<&Resources> for Resources {
    fn sub_assign(&mut self, rhs: &Resources) {
        // Taking away all of it (the allocation path subtracts an offer that
        // is the agent's whole `available`, entry handle by entry handle):
        // each such entry would be removed whole by `sub_item`.
        if !self.items.is_empty()
            && self.items.len() == rhs.items.len()
            && rhs.items.iter().all(|t| {
                t.res.shared.is_none()
                    && t.res.disk.is_none()
                    && self
                        .items
                        .iter()
                        .any(|i| Arc::ptr_eq(&i.res, &t.res) && i.same_alloc(t))
            })
        {
            self.items = Items::default();
            return;
        }
        for i in rhs.items.iter() {
            self.sub_item(i);
        }
    }
}

impl SubAssign<Resources> for Resources {
    fn sub_assign(&mut self, rhs: Resources) {
        *self -= &rhs;
    }
}

impl Add<&Resources> for &Resources {
    type Output = Resources;
    fn add(self, rhs: &Resources) -> Resources {
        let mut out = self.clone();
        out += rhs;
        out
    }
}

impl Add<Resources> for Resources {
    type Output = Resources;
    fn add(mut self, rhs: Resources) -> Resources {
        self += rhs;
        self
    }
}

impl Add<&Resources> for Resources {
    type Output = Resources;
    fn add(mut self, rhs: &Resources) -> Resources {
        self += rhs;
        self
    }
}

impl Sub<&Resources> for &Resources {
    type Output = Resources;
    fn sub(self, rhs: &Resources) -> Resources {
        let mut out = self.clone();
        out -= rhs;
        out
    }
}

impl Sub<Resources> for Resources {
    type Output = Resources;
    fn sub(mut self, rhs: Resources) -> Resources {
        self -= &rhs;
        self
    }
}

impl Sub<&Resources> for Resources {
    type Output = Resources;
    fn sub(mut self, rhs: &Resources) -> Resources {
        self -= rhs;
        self
    }
}

impl fmt::Display for Resources {
    /// `cpus:2; mem:1024; ports:[31000-32000]`, `{}` when empty; a shared
    /// resource is followed by `<count>` as upstream prints `Resource_`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.items.is_empty() {
            return f.write_str("{}");
        }
        for (n, i) in self.items.iter().enumerate() {
            if n > 0 {
                f.write_str("; ")?;
            }
            f.write_str(&r::format_resource(i.view()))?;
            if i.res.shared.is_some() {
                write!(f, "<{}>", i.count)?;
            }
        }
        Ok(())
    }
}
