//! A set of `u64` positions kept as disjoint closed intervals.
//!
//! Upstream keeps the replica's learned/unlearned positions and holes in stout's
//! `IntervalSet<uint64_t>` (`src/log/storage.hpp`, `src/log/replica.cpp`) so a log with
//! millions of contiguous learned positions costs a few words. This is the small subset
//! of that type the log needs.

use std::collections::BTreeMap;

/// Disjoint, non-adjacent closed intervals `[start, end]`, keyed by `start`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntervalSet {
    ranges: BTreeMap<u64, u64>,
}

impl IntervalSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The set holding `[start, end]` (empty when `start > end`).
    pub fn closed(start: u64, end: u64) -> Self {
        let mut set = Self::new();
        set.insert_range(start, end);
        set
    }

    /// Whether no position is in the set.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Number of disjoint intervals (what stout's `IntervalSet::size()` reports).
    pub fn intervals(&self) -> usize {
        self.ranges.len()
    }

    /// Number of positions in the set.
    pub fn count(&self) -> u64 {
        self.ranges.iter().map(|(s, e)| e - s + 1).sum()
    }

    /// Whether `position` is in the set.
    pub fn contains(&self, position: u64) -> bool {
        self.ranges
            .range(..=position)
            .next_back()
            .is_some_and(|(_, &end)| end >= position)
    }

    /// Adds one position.
    pub fn insert(&mut self, position: u64) {
        self.insert_range(position, position);
    }

    /// Adds `[start, end]`; a no-op when `start > end`.
    pub fn insert_range(&mut self, mut start: u64, mut end: u64) {
        if start > end {
            return;
        }
        // Merge with an interval that overlaps or touches on the left.
        if let Some((&s, &e)) = self.ranges.range(..=start).next_back() {
            if e.saturating_add(1) >= start {
                start = s;
                end = end.max(e);
                self.ranges.remove(&s);
            }
        }
        // Swallow every interval starting inside or right after `[start, end]`.
        loop {
            let next = self
                .ranges
                .range(start..)
                .next()
                .map(|(&s, &e)| (s, e))
                .filter(|&(s, _)| s <= end.saturating_add(1));
            match next {
                Some((s, e)) => {
                    end = end.max(e);
                    self.ranges.remove(&s);
                }
                None => break,
            }
        }
        self.ranges.insert(start, end);
    }

    /// Removes one position.
    pub fn remove(&mut self, position: u64) {
        self.remove_range(position, position);
    }

    /// Removes `[start, end]`; a no-op when `start > end`.
    pub fn remove_range(&mut self, start: u64, end: u64) {
        if start > end {
            return;
        }
        let overlapping: Vec<(u64, u64)> = self
            .ranges
            .range(..=end)
            .filter(|&(_, &e)| e >= start)
            .map(|(&s, &e)| (s, e))
            .collect();
        for (s, e) in overlapping {
            self.ranges.remove(&s);
            if s < start {
                self.ranges.insert(s, start - 1);
            }
            if e > end {
                self.ranges.insert(end + 1, e);
            }
        }
    }

    /// Adds every position of `other`.
    pub fn union_with(&mut self, other: &IntervalSet) {
        for (s, e) in other.iter() {
            self.insert_range(s, e);
        }
    }

    /// Removes every position of `other`.
    pub fn subtract(&mut self, other: &IntervalSet) {
        for (s, e) in other.iter() {
            self.remove_range(s, e);
        }
    }

    /// Keeps only positions inside `[start, end]`.
    pub fn intersect_range(&mut self, start: u64, end: u64) {
        if start > end {
            self.ranges.clear();
            return;
        }
        if start > 0 {
            self.remove_range(0, start - 1);
        }
        if end < u64::MAX {
            self.remove_range(end + 1, u64::MAX);
        }
    }

    /// The intervals in ascending order, as closed `(start, end)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ranges.iter().map(|(&s, &e)| (s, e))
    }

    /// Every position in ascending order.
    pub fn positions(&self) -> impl Iterator<Item = u64> + '_ {
        self.iter().flat_map(|(s, e)| s..=e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_merges_adjacent_and_overlapping() {
        let mut set = IntervalSet::new();
        set.insert(3);
        set.insert(5);
        assert_eq!(set.intervals(), 2);
        set.insert(4);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![(3, 5)]);
        set.insert_range(10, 20);
        set.insert_range(0, 12);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![(0, 20)]);
        assert_eq!(set.count(), 21);
    }

    #[test]
    fn remove_splits_intervals() {
        let mut set = IntervalSet::closed(0, 10);
        set.remove(5);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![(0, 4), (6, 10)]);
        assert!(!set.contains(5));
        assert!(set.contains(6));
        set.remove_range(0, 7);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![(8, 10)]);
        set.intersect_range(9, 100);
        assert_eq!(set.positions().collect::<Vec<_>>(), vec![9, 10]);
    }

    #[test]
    fn subtract_and_union() {
        let mut holes = IntervalSet::closed(0, 9);
        let mut learned = IntervalSet::closed(0, 3);
        learned.insert(7);
        holes.subtract(&learned);
        assert_eq!(holes.iter().collect::<Vec<_>>(), vec![(4, 6), (8, 9)]);
        holes.union_with(&IntervalSet::closed(7, 7));
        assert_eq!(holes.iter().collect::<Vec<_>>(), vec![(4, 9)]);
        assert!(IntervalSet::closed(5, 4).is_empty());
    }
}
