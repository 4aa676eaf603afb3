//! protobuf bytes -> Mesos JSON without building a message: the fast path behind
//! [`to_json`](super::to_json) and [`bytes_to_json`](super::bytes_to_json).
//!
//! Each message's bytes are scanned once into a list of field occurrences (kept in a
//! scratch arena shared by the whole walk), which is then visited in declaration order
//! with the same write plans as the `DynamicMessage` writer. What is printed is what C++
//! would print after `ParseFromString`:
//! - a singular scalar takes its last occurrence; occurrences of a singular message
//!   merge (their bytes are concatenated and read as one message);
//! - a field whose wire type does not fit its type is an unknown field (ignored), except
//!   packed encodings of repeated scalars, which are always accepted;
//! - enum numbers the schema does not know are unknown fields (a singular enum keeps the
//!   last known value; a map entry holding one is dropped);
//! - in a `oneof` only the member that came last is set, built from its occurrences
//!   after the last occurrence of any other member;
//! - map entries: a missing key or value is the type's default, a later duplicate key
//!   replaces an earlier one; keys are printed sorted (upstream: hash order).

use super::write::{
    plans, write_double, write_str, FieldPlan, MessagePlan, Prim, Shape, ValueKind,
};
use super::JsonError;

/// protobuf's default recursion limit.
const MAX_DEPTH: u32 = 100;

#[derive(Clone, Copy)]
enum Raw<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Len(&'a [u8]),
}

#[derive(Clone, Copy)]
struct Occ<'a> {
    /// Index into the message plan's `fields`.
    field: usize,
    /// Position among the message's occurrences, in wire order.
    seq: u32,
    raw: Raw<'a>,
}

fn malformed(why: &str) -> JsonError {
    JsonError::Malformed(why.to_owned())
}

fn read_varint(buf: &mut &[u8]) -> Result<u64, JsonError> {
    let mut value = 0u64;
    for i in 0..10 {
        let Some((&b, rest)) = buf.split_first() else {
            return Err(malformed("truncated varint"));
        };
        *buf = rest;
        if i == 9 && b > 1 {
            return Err(malformed("varint overflows 64 bits"));
        }
        value |= u64::from(b & 0x7F) << (7 * i);
        if b < 0x80 {
            return Ok(value);
        }
    }
    Err(malformed("varint too long"))
}

fn take<'a>(buf: &mut &'a [u8], n: u64) -> Result<&'a [u8], JsonError> {
    let n = usize::try_from(n).map_err(|_| malformed("length overflows"))?;
    if buf.len() < n {
        return Err(malformed("truncated field"));
    }
    let (head, rest) = buf.split_at(n);
    *buf = rest;
    Ok(head)
}

fn read_key(buf: &mut &[u8]) -> Result<(u32, u8), JsonError> {
    let key = read_varint(buf)?;
    let number = u32::try_from(key >> 3).map_err(|_| malformed("field number too large"))?;
    if number == 0 || number > 0x1FFF_FFFF {
        return Err(malformed("invalid field number"));
    }
    Ok((number, (key & 7) as u8))
}

/// Reads one value of `wire_type`. Groups are skipped (`None`): our schema has none,
/// so a group is always an unknown field.
fn read_value<'a>(
    buf: &mut &'a [u8],
    number: u32,
    wire_type: u8,
    depth: u32,
) -> Result<Option<Raw<'a>>, JsonError> {
    Ok(Some(match wire_type {
        0 => Raw::Varint(read_varint(buf)?),
        1 => {
            let b = take(buf, 8)?;
            Raw::Fixed64(u64::from_le_bytes(b.try_into().unwrap_or_default()))
        }
        2 => {
            let len = read_varint(buf)?;
            Raw::Len(take(buf, len)?)
        }
        3 => {
            if depth >= MAX_DEPTH {
                return Err(malformed("recursion limit reached"));
            }
            loop {
                let (n, wt) = read_key(buf)?;
                if wt == 4 {
                    if n != number {
                        return Err(malformed("mismatched end group"));
                    }
                    return Ok(None);
                }
                read_value(buf, n, wt, depth + 1)?;
            }
        }
        5 => {
            let b = take(buf, 4)?;
            Raw::Fixed32(u32::from_le_bytes(b.try_into().unwrap_or_default()))
        }
        _ => return Err(malformed("invalid wire type")),
    }))
}

fn is_packable(p: Prim) -> bool {
    !matches!(p, Prim::String | Prim::Bytes | Prim::Message)
}

/// Writes the message of plan `index` encoded in `bytes` onto `out`.
pub(super) fn write_bytes(out: &mut String, index: usize, bytes: &[u8]) -> Result<(), JsonError> {
    let plans = &plans().messages;
    let mut w = Walk {
        plans,
        arena: Vec::with_capacity(256),
        out,
    };
    w.message(index, bytes, 0)
}

struct Walk<'p, 'a, 'o> {
    plans: &'p [MessagePlan],
    arena: Vec<Occ<'a>>,
    out: &'o mut String,
}

impl<'p, 'a> Walk<'p, 'a, '_> {
    fn message(&mut self, index: usize, mut buf: &'a [u8], depth: u32) -> Result<(), JsonError> {
        if depth >= MAX_DEPTH {
            return Err(malformed("recursion limit reached"));
        }
        let plans = self.plans;
        let plan = &plans[index];
        let start = self.arena.len();
        let mut sorted = true;
        let mut last_field = 0;
        while !buf.is_empty() {
            let (number, wire_type) = read_key(&mut buf)?;
            if wire_type == 4 {
                return Err(malformed("unexpected end group"));
            }
            let Some(raw) = read_value(&mut buf, number, wire_type, depth)? else {
                continue;
            };
            let Ok(at) = plan.by_number.binary_search_by_key(&number, |&(n, _)| n) else {
                continue; // unknown field
            };
            let field = plan.by_number[at].1;
            let fp = &plan.fields[field];
            let fits = match fp.shape {
                Shape::Map { .. } => wire_type == 2,
                // Repeated scalars are accepted packed or not, whatever was declared.
                Shape::List(_) => {
                    wire_type == fp.prim.wire_type() || (wire_type == 2 && is_packable(fp.prim))
                }
                Shape::Singular(_) => wire_type == fp.prim.wire_type(),
            };
            if !fits {
                continue; // C++ keeps it as an unknown field
            }
            sorted &= field >= last_field;
            last_field = field;
            let seq = u32::try_from(self.arena.len() - start).unwrap_or(u32::MAX);
            self.arena.push(Occ { field, seq, raw });
        }
        if !sorted {
            // Stable: occurrences of one field keep their wire order.
            self.arena[start..].sort_by_key(|o| o.field);
        }
        let end = self.arena.len();
        let result = self.emit(plan, start, end, depth);
        self.arena.truncate(start);
        result
    }

    /// Writes the object for the occurrences `arena[start..end]` (sorted by field).
    fn emit(
        &mut self,
        plan: &'p MessagePlan,
        start: usize,
        end: usize,
        depth: u32,
    ) -> Result<(), JsonError> {
        self.out.push('{');
        let mut first = true;
        let mut i = start;
        for (fi, fp) in plan.fields.iter().enumerate() {
            let from = i;
            while i < end && self.arena[i].field == fi {
                i += 1;
            }
            let (mut lo, hi) = (from, i);
            if lo < hi && plan.has_oneof {
                if let Some(oneof) = fp.oneof {
                    match self.oneof_start(plan, oneof, fi, start, end, lo, hi) {
                        Some(s) => lo = s,
                        None => lo = hi,
                    }
                }
            }
            let mark = self.out.len();
            if !first {
                self.out.push(',');
            }
            self.out.push_str(&fp.key);
            let written = if lo == hi {
                false
            } else {
                match &fp.shape {
                    Shape::Singular(kind) => self.singular(fp, kind, lo, hi, depth)?,
                    Shape::List(kind) => self.list(fp, kind, lo, hi, depth)?,
                    Shape::Map { value } => self.map(fp, value, lo, hi, depth)?,
                }
            };
            if written {
                first = false;
            } else if let (Shape::Singular(_), Some(default)) = (&fp.shape, &fp.default_json) {
                self.out.push_str(default);
                first = false;
            } else {
                self.out.truncate(mark);
            }
        }
        self.out.push('}');
        Ok(())
    }

    /// For a oneof member with occurrences `lo..hi`: `None` if another member of the
    /// oneof came later on the wire, else where its relevant occurrences start (after
    /// the last occurrence of any other member, which cleared it).
    #[allow(clippy::too_many_arguments)]
    fn oneof_start(
        &self,
        plan: &MessagePlan,
        oneof: u32,
        fi: usize,
        start: usize,
        end: usize,
        lo: usize,
        hi: usize,
    ) -> Option<usize> {
        let mine_last = self.arena[lo..hi].iter().map(|o| o.seq).max().unwrap_or(0);
        let others_last = self.arena[start..end]
            .iter()
            .filter(|o| o.field != fi && plan.fields[o.field].oneof == Some(oneof))
            .map(|o| o.seq)
            .max();
        match others_last {
            None => Some(lo),
            Some(other) if other > mine_last => None,
            Some(other) => (lo..hi).find(|&k| self.arena[k].seq > other),
        }
    }

    fn singular(
        &mut self,
        fp: &FieldPlan,
        kind: &ValueKind,
        lo: usize,
        hi: usize,
        depth: u32,
    ) -> Result<bool, JsonError> {
        match kind {
            ValueKind::Message(index) => {
                if hi - lo == 1 {
                    let Raw::Len(b) = self.arena[lo].raw else {
                        return Err(JsonError::Internal(
                            "message occurrence not length-delimited",
                        ));
                    };
                    self.message(*index, b, depth + 1)?;
                } else {
                    // Several occurrences merge: read their concatenation.
                    let mut merged = Vec::new();
                    for o in &self.arena[lo..hi] {
                        if let Raw::Len(b) = o.raw {
                            merged.extend_from_slice(b);
                        }
                    }
                    // The merged bytes outlive nothing but this call.
                    let mut sub = Walk {
                        plans: self.plans,
                        arena: Vec::new(),
                        out: &mut *self.out,
                    };
                    sub.message(*index, &merged, depth + 1)?;
                }
                Ok(true)
            }
            ValueKind::Enum(e) => {
                // The last occurrence whose number the enum knows.
                if fp.implicit_presence && matches!(self.arena[hi - 1].raw, Raw::Varint(0)) {
                    return Ok(false);
                }
                for o in self.arena[lo..hi].iter().rev() {
                    if let Raw::Varint(v) = o.raw {
                        if let Some(value) = e.get_value(v as i32) {
                            write_str(self.out, value.name());
                            return Ok(true);
                        }
                    }
                }
                Ok(false)
            }
            _ => {
                let raw = self.arena[hi - 1].raw;
                if fp.implicit_presence && is_zero(fp.prim, raw) {
                    return Ok(false);
                }
                scalar(self.out, fp.prim, raw)?;
                Ok(true)
            }
        }
    }

    fn list(
        &mut self,
        fp: &FieldPlan,
        kind: &ValueKind,
        lo: usize,
        hi: usize,
        depth: u32,
    ) -> Result<bool, JsonError> {
        let mark = self.out.len();
        self.out.push('[');
        let mut n = 0usize;
        for k in lo..hi {
            let raw = self.arena[k].raw;
            match (kind, raw) {
                (ValueKind::Message(index), Raw::Len(b)) => {
                    if n > 0 {
                        self.out.push(',');
                    }
                    self.message(*index, b, depth + 1)?;
                    n += 1;
                }
                (_, Raw::Len(b)) if is_packable(fp.prim) => {
                    let mut packed = b;
                    while !packed.is_empty() {
                        let v = match fp.prim.wire_type() {
                            0 => Raw::Varint(read_varint(&mut packed)?),
                            1 => Raw::Fixed64(u64::from_le_bytes(
                                take(&mut packed, 8)?.try_into().unwrap_or_default(),
                            )),
                            _ => Raw::Fixed32(u32::from_le_bytes(
                                take(&mut packed, 4)?.try_into().unwrap_or_default(),
                            )),
                        };
                        n += self.element(fp, kind, v, n)?;
                    }
                }
                _ => n += self.element(fp, kind, raw, n)?,
            }
        }
        if n == 0 {
            self.out.truncate(mark);
            return Ok(false);
        }
        self.out.push(']');
        Ok(true)
    }

    /// One non-message list element; returns how many were written (0 or 1).
    fn element(
        &mut self,
        fp: &FieldPlan,
        kind: &ValueKind,
        raw: Raw,
        n: usize,
    ) -> Result<usize, JsonError> {
        if let (ValueKind::Enum(e), Raw::Varint(v)) = (kind, raw) {
            let Some(value) = e.get_value(v as i32) else {
                return Ok(0);
            };
            if n > 0 {
                self.out.push(',');
            }
            write_str(self.out, value.name());
            return Ok(1);
        }
        if n > 0 {
            self.out.push(',');
        }
        scalar(self.out, fp.prim, raw)?;
        Ok(1)
    }

    fn map(
        &mut self,
        fp: &FieldPlan,
        value_kind: &ValueKind,
        lo: usize,
        hi: usize,
        depth: u32,
    ) -> Result<bool, JsonError> {
        // (key, value occurrences) per entry; later entries win on duplicate keys.
        let mut entries: Vec<(Key, Vec<Raw<'a>>)> = Vec::with_capacity(hi - lo);
        for k in lo..hi {
            let Raw::Len(mut b) = self.arena[k].raw else {
                continue;
            };
            let mut key = None;
            let mut values = Vec::new();
            while !b.is_empty() {
                let (number, wt) = read_key(&mut b)?;
                let Some(raw) = read_value(&mut b, number, wt, depth)? else {
                    continue;
                };
                match number {
                    1 if wt == fp.map_key.wire_type() => key = Some(raw),
                    2 if wt == fp.prim.wire_type() => values.push(raw),
                    _ => {}
                }
            }
            let key = match key {
                Some(raw) => Key::from_raw(fp.map_key, raw)?,
                None => Key::default_for(fp.map_key),
            };
            if let ValueKind::Enum(e) = value_kind {
                // An entry whose enum value is unknown is an unknown field in C++.
                if let Some(Raw::Varint(v)) = values.last() {
                    if e.get_value(*v as i32).is_none() {
                        continue;
                    }
                }
            }
            entries.push((key, values));
        }
        // Sort by key keeping wire order among equal keys, then keep the last of each.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut deduped: Vec<(Key, Vec<Raw<'a>>)> = Vec::with_capacity(entries.len());
        for e in entries {
            match deduped.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => deduped.push(e),
            }
        }
        self.out.push('{');
        for (n, (key, values)) in deduped.iter().enumerate() {
            if n > 0 {
                self.out.push(',');
            }
            key.write(self.out);
            self.out.push(':');
            match (value_kind, values.last()) {
                (ValueKind::Message(index), _) => {
                    let mut merged = Vec::new();
                    for v in values {
                        if let Raw::Len(b) = v {
                            merged.extend_from_slice(b);
                        }
                    }
                    let mut sub = Walk {
                        plans: self.plans,
                        arena: Vec::new(),
                        out: &mut *self.out,
                    };
                    sub.message(*index, &merged, depth + 1)?;
                }
                (ValueKind::Enum(e), Some(Raw::Varint(v))) => match e.get_value(*v as i32) {
                    Some(value) => write_str(self.out, value.name()),
                    None => write_str(self.out, e.default_value().name()),
                },
                (ValueKind::Enum(e), _) => write_str(self.out, e.default_value().name()),
                (_, Some(raw)) => scalar(self.out, fp.prim, *raw)?,
                (_, None) => scalar_default(self.out, fp.prim),
            }
        }
        self.out.push('}');
        Ok(true)
    }
}

/// Writes one scalar (non-enum, non-message) wire value of type `prim`.
fn scalar(out: &mut String, prim: Prim, raw: Raw) -> Result<(), JsonError> {
    let mut ib = itoa::Buffer::new();
    match (prim, raw) {
        (Prim::Int32, Raw::Varint(v)) => out.push_str(ib.format(v as i32)),
        (Prim::Int64, Raw::Varint(v)) => out.push_str(ib.format(v as i64)),
        (Prim::Uint32, Raw::Varint(v)) => out.push_str(ib.format(v as u32)),
        (Prim::Uint64, Raw::Varint(v)) => out.push_str(ib.format(v)),
        (Prim::Sint32, Raw::Varint(v)) => {
            let v = v as u32;
            out.push_str(ib.format(((v >> 1) as i32) ^ -((v & 1) as i32)))
        }
        (Prim::Sint64, Raw::Varint(v)) => {
            out.push_str(ib.format(((v >> 1) as i64) ^ -((v & 1) as i64)))
        }
        (Prim::Bool, Raw::Varint(v)) => out.push_str(if v != 0 { "true" } else { "false" }),
        (Prim::Fixed32, Raw::Fixed32(v)) => out.push_str(ib.format(v)),
        (Prim::Sfixed32, Raw::Fixed32(v)) => out.push_str(ib.format(v as i32)),
        (Prim::Float, Raw::Fixed32(v)) => write_double(out, f64::from(f32::from_bits(v)))?,
        (Prim::Fixed64, Raw::Fixed64(v)) => out.push_str(ib.format(v)),
        (Prim::Sfixed64, Raw::Fixed64(v)) => out.push_str(ib.format(v as i64)),
        (Prim::Double, Raw::Fixed64(v)) => write_double(out, f64::from_bits(v))?,
        (Prim::String, Raw::Len(b)) => match std::str::from_utf8(b) {
            Ok(s) => write_str(out, s),
            // prost rejects these too; C++ would pass the bytes through unchecked.
            Err(_) => return Err(malformed("invalid UTF-8 in a string field")),
        },
        (Prim::Bytes, Raw::Len(b)) => {
            use base64::Engine as _;
            out.push('"');
            base64::engine::general_purpose::STANDARD.encode_string(b, out);
            out.push('"');
        }
        _ => {
            return Err(JsonError::Internal(
                "wire value does not fit the field type",
            ))
        }
    }
    Ok(())
}

/// Whether a proto3 implicit-presence scalar holds its zero value (not "set").
fn is_zero(prim: Prim, raw: Raw) -> bool {
    match raw {
        Raw::Varint(v) => v == 0,
        Raw::Fixed32(v) if prim == Prim::Float => f32::from_bits(v) == 0.0,
        Raw::Fixed32(v) => v == 0,
        Raw::Fixed64(v) if prim == Prim::Double => f64::from_bits(v) == 0.0,
        Raw::Fixed64(v) => v == 0,
        Raw::Len(b) => b.is_empty(),
    }
}

/// The printed default of a map value that was absent from its entry.
fn scalar_default(out: &mut String, prim: Prim) {
    out.push_str(match prim {
        Prim::Double | Prim::Float => "0.0",
        Prim::Bool => "false",
        Prim::String | Prim::Bytes => "\"\"",
        _ => "0",
    });
}

/// A map key, ordered as the `DynamicMessage` writer orders `MapKey`s.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Bool(bool),
    Signed(i64),
    Unsigned(u64),
    Str(String),
}

impl Key {
    fn from_raw(prim: Prim, raw: Raw) -> Result<Key, JsonError> {
        Ok(match (prim, raw) {
            (Prim::Bool, Raw::Varint(v)) => Key::Bool(v != 0),
            (Prim::Int32, Raw::Varint(v)) => Key::Signed(i64::from(v as i32)),
            (Prim::Int64, Raw::Varint(v)) => Key::Signed(v as i64),
            (Prim::Sint32, Raw::Varint(v)) => {
                let v = v as u32;
                Key::Signed(i64::from(((v >> 1) as i32) ^ -((v & 1) as i32)))
            }
            (Prim::Sint64, Raw::Varint(v)) => Key::Signed(((v >> 1) as i64) ^ -((v & 1) as i64)),
            (Prim::Sfixed32, Raw::Fixed32(v)) => Key::Signed(i64::from(v as i32)),
            (Prim::Sfixed64, Raw::Fixed64(v)) => Key::Signed(v as i64),
            (Prim::Uint32, Raw::Varint(v)) => Key::Unsigned(u64::from(v as u32)),
            (Prim::Uint64, Raw::Varint(v)) => Key::Unsigned(v),
            (Prim::Fixed32, Raw::Fixed32(v)) => Key::Unsigned(u64::from(v)),
            (Prim::Fixed64, Raw::Fixed64(v)) => Key::Unsigned(v),
            (Prim::String, Raw::Len(b)) => Key::Str(
                String::from_utf8(b.to_vec())
                    .map_err(|_| malformed("invalid UTF-8 in a map key"))?,
            ),
            _ => return Err(JsonError::Internal("unsupported map key type")),
        })
    }

    fn default_for(prim: Prim) -> Key {
        match prim {
            Prim::Bool => Key::Bool(false),
            Prim::String => Key::Str(String::new()),
            Prim::Uint32 | Prim::Uint64 | Prim::Fixed32 | Prim::Fixed64 => Key::Unsigned(0),
            _ => Key::Signed(0),
        }
    }

    fn write(&self, out: &mut String) {
        let mut ib = itoa::Buffer::new();
        match self {
            Key::Bool(b) => out.push_str(if *b { "\"true\"" } else { "\"false\"" }),
            Key::Signed(v) => {
                out.push('"');
                out.push_str(ib.format(*v));
                out.push('"');
            }
            Key::Unsigned(v) => {
                out.push('"');
                out.push_str(ib.format(*v));
                out.push('"');
            }
            Key::Str(s) => write_str(out, s),
        }
    }
}
