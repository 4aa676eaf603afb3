//! Value arithmetic: scalars with upstream's fixed-point rounding, ranges and sets
//! (mirrors `src/common/values.cpp`).

use mesos_proto::mesos::value::{Range, Ranges, Set};

/// Converts a scalar to upstream's fixed-point form (three decimal places,
/// rounded half away from zero like `std::llround`).
pub fn to_fixed(v: f64) -> i64 {
    (v * 1000.0).round() as i64
}

/// Converts a fixed-point value back to a double the way upstream does
/// (integral part and remainder computed separately so that e.g. 0.1 + 0.2
/// prints as 0.3).
pub fn from_fixed(f: i64) -> f64 {
    (f / 1000) as f64 + (f % 1000) as f64 / 1000.0
}

/// `left + right` with fixed-point rounding.
pub fn scalar_add(l: f64, r: f64) -> f64 {
    from_fixed(to_fixed(l) + to_fixed(r))
}

/// `left - right` with fixed-point rounding.
pub fn scalar_sub(l: f64, r: f64) -> f64 {
    from_fixed(to_fixed(l) - to_fixed(r))
}

/// Scalar equality after rounding to three decimals.
pub fn scalar_eq(l: f64, r: f64) -> bool {
    to_fixed(l) == to_fixed(r)
}

/// Formats a double like C++ `ostream` with precision 15 (`%.15g`) after
/// fixed-point rounding: `1024`, `0.1`, `1e+20`.
pub fn format_scalar(v: f64) -> String {
    format_g15(from_fixed(to_fixed(v)))
}

/// `%.15g` formatting.
pub fn format_g15(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let sci = format!("{:.14e}", v);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..15).contains(&exp) {
        let mant = trim_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (14 - exp).max(0) as usize;
        trim_zeros(&format!("{:.*}", decimals, v)).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Sorts and merges overlapping or adjacent intervals.
pub fn coalesce(ranges: &mut Vec<Range>) {
    if ranges.len() <= 1 {
        return;
    }
    ranges.sort_by_key(|r| (r.begin, r.end));
    let mut out: Vec<Range> = Vec::with_capacity(ranges.len());
    for r in ranges.drain(..) {
        match out.last_mut() {
            Some(last) if r.begin <= last.end.saturating_add(1) => {
                last.end = last.end.max(r.end);
            }
            _ => out.push(r),
        }
    }
    *ranges = out;
}

/// Coalesced copy of `ranges`.
pub fn coalesced(ranges: &Ranges) -> Vec<Range> {
    let mut v = ranges.range.clone();
    coalesce(&mut v);
    v
}

/// `left + right` (union).
pub fn ranges_add(left: &Ranges, right: &Ranges) -> Ranges {
    let mut v = Vec::with_capacity(left.range.len() + right.range.len());
    v.extend_from_slice(&left.range);
    v.extend_from_slice(&right.range);
    coalesce(&mut v);
    Ranges { range: v }
}

/// `left - right` (difference; `right` need not be contained in `left`).
pub fn ranges_sub(left: &Ranges, right: &Ranges) -> Ranges {
    if left.range.is_empty() || right.range.is_empty() {
        return left.clone();
    }
    let l = coalesced(left);
    let r = coalesced(right);
    let mut out = Vec::new();
    let mut j = 0;
    for mut cur in l {
        let mut done = false;
        while j < r.len() && r[j].end < cur.begin {
            j += 1;
        }
        let mut k = j;
        while k < r.len() && r[k].begin <= cur.end {
            if r[k].begin > cur.begin {
                out.push(Range {
                    begin: cur.begin,
                    end: r[k].begin - 1,
                });
            }
            if r[k].end >= cur.end {
                done = true;
                break;
            }
            cur.begin = r[k].end + 1;
            k += 1;
        }
        if !done {
            out.push(cur);
        }
    }
    Ranges { range: out }
}

/// `left <= right`: every interval of `left` lies inside one of `right`.
pub fn ranges_le(left: &Ranges, right: &Ranges) -> bool {
    let l = coalesced(left);
    let r = coalesced(right);
    l.iter().all(|a| {
        // `r` is sorted and disjoint: binary search the candidate interval.
        let idx = r.partition_point(|b| b.end < a.begin);
        idx < r.len() && r[idx].begin <= a.begin && a.end <= r[idx].end
    })
}

/// Range equality after coalescing.
pub fn ranges_eq(left: &Ranges, right: &Ranges) -> bool {
    coalesced(left) == coalesced(right)
}

/// Number of values covered (e.g. number of ports).
pub fn ranges_count(ranges: &Ranges) -> u64 {
    ranges
        .range
        .iter()
        .map(|r| r.end.saturating_sub(r.begin).saturating_add(1))
        .sum()
}

/// `left + right` for sets (union, order of first appearance).
pub fn set_add(left: &Set, right: &Set) -> Set {
    let mut out = left.clone();
    for i in &right.item {
        if !out.item.contains(i) {
            out.item.push(i.clone());
        }
    }
    out
}

/// `left - right` for sets.
pub fn set_sub(left: &Set, right: &Set) -> Set {
    Set {
        item: left
            .item
            .iter()
            .filter(|i| !right.item.contains(i))
            .cloned()
            .collect(),
    }
}

/// `left <= right` for sets.
pub fn set_le(left: &Set, right: &Set) -> bool {
    left.item.len() <= right.item.len() && left.item.iter().all(|i| right.item.contains(i))
}

/// Set equality regardless of order.
pub fn set_eq(left: &Set, right: &Set) -> bool {
    left.item.len() == right.item.len() && set_le(left, right)
}

/// Formats ranges as upstream: `[31000-32000, 33000-33001]`.
pub fn format_ranges(r: &Ranges) -> String {
    let parts: Vec<String> = r
        .range
        .iter()
        .map(|r| format!("{}-{}", r.begin, r.end))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// Formats a set as upstream: `{a, b}`.
pub fn format_set(s: &Set) -> String {
    format!("{{{}}}", s.item.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(v: &[(u64, u64)]) -> Ranges {
        Ranges {
            range: v.iter().map(|&(begin, end)| Range { begin, end }).collect(),
        }
    }

    #[test]
    fn fixed_point_rounding() {
        assert_eq!(format_scalar(scalar_add(0.1, 0.2)), "0.3");
        assert!(scalar_eq(0.0001, 0.0));
        assert!(!scalar_eq(0.001, 0.0));
        assert_eq!(format_scalar(1024.0), "1024");
        assert_eq!(format_scalar(0.5), "0.5");
        assert_eq!(format_scalar(1e12), "1000000000000");
        assert_eq!(format_scalar(1e15), "1e+15");
        assert_eq!(format_g15(0.00001), "1e-05");
        assert_eq!(format_scalar(123456.789), "123456.789");
        assert_eq!(format_scalar(2.0004), "2");
        assert_eq!(format_scalar(2.0005), "2.001");
    }

    #[test]
    fn ranges_arithmetic() {
        assert_eq!(ranges_add(&rs(&[(1, 3)]), &rs(&[(4, 6)])), rs(&[(1, 6)]));
        assert_eq!(
            ranges_add(&rs(&[(5, 6)]), &rs(&[(1, 2)])),
            rs(&[(1, 2), (5, 6)])
        );
        assert_eq!(
            ranges_sub(&rs(&[(1, 10)]), &rs(&[(3, 4), (8, 12)])),
            rs(&[(1, 2), (5, 7)])
        );
        assert_eq!(ranges_sub(&rs(&[(1, 10)]), &rs(&[(0, 20)])), rs(&[]));
        assert_eq!(
            ranges_sub(&rs(&[(1, 5), (7, 9)]), &rs(&[(5, 7)])),
            rs(&[(1, 4), (8, 9)])
        );
        assert!(ranges_le(&rs(&[(2, 3), (7, 7)]), &rs(&[(1, 5), (7, 9)])));
        assert!(!ranges_le(&rs(&[(4, 7)]), &rs(&[(1, 5), (7, 9)])));
        assert!(ranges_le(&rs(&[(4, 7)]), &rs(&[(1, 5), (6, 9)])));
        assert_eq!(ranges_count(&rs(&[(31000, 32000)])), 1001);
        assert_eq!(format_ranges(&rs(&[(1, 2), (5, 6)])), "[1-2, 5-6]");
    }

    #[test]
    fn set_arithmetic() {
        let a = Set {
            item: vec!["a".into(), "b".into()],
        };
        let b = Set {
            item: vec!["b".into(), "c".into()],
        };
        assert_eq!(set_add(&a, &b).item, vec!["a", "b", "c"]);
        assert_eq!(set_sub(&a, &b).item, vec!["a"]);
        assert!(!set_le(&a, &b));
        assert!(set_le(&set_sub(&a, &b), &a));
        assert_eq!(format_set(&a), "{a, b}");
    }
}
