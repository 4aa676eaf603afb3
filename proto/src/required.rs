//! The proto2 `required`-field check libprocess applies to every protobuf message it
//! receives: `ProtobufProcess` parses the body and drops the message (with a warning)
//! unless `IsInitialized()` holds (`3rdparty/libprocess/include/process/
//! protobuf.hpp:255-272`). prost does not check `required`, so this module does, on
//! the wire bytes and without building a message.
//!
//! For each message type of the schema a table is computed once: its required fields
//! (number, wire type, valid enum numbers for enums) and the message-typed fields whose
//! types (transitively) contain required fields. The walker then only looks at those
//! fields, skipping everything else by wire type.
//!
//! What counts as present mirrors C++ parsing: a field with the wrong wire type is an
//! unknown field (so absent); an unknown number in a required enum field goes to the
//! unknown fields (so absent); several occurrences of a singular message field merge
//! (their required fields add up).

use std::collections::HashMap;
use std::sync::OnceLock;

use prost::{Message, Name};
use prost_reflect::{Kind, MessageDescriptor};

use crate::pool::{descriptor_pool, fields_in_declaration_order};

/// protobuf's default recursion limit (also prost's).
const MAX_DEPTH: u32 = 100;

/// Required fields that a message lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingRequired {
    /// Fully qualified name of the top-level message type.
    pub message: String,
    /// Paths of the missing fields, as protobuf's `InitializationErrorString()` names
    /// them (`framework_info.user`, `tasks[0].task_id`).
    pub fields: Vec<String>,
}

impl std::fmt::Display for MissingRequired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is missing required fields: {}",
            self.message,
            self.fields.join(", ")
        )
    }
}

/// Why bytes could not be accepted as a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not a valid protobuf encoding.
    #[error("malformed protobuf: {0}")]
    Malformed(String),
    /// Valid encoding, but `required` fields are missing (libprocess drops these).
    #[error("{0}")]
    MissingRequired(MissingRequired),
    /// The message type is not in this crate's schema.
    #[error("unknown message type '{0}'")]
    UnknownMessage(String),
}

impl From<prost::DecodeError> for DecodeError {
    fn from(e: prost::DecodeError) -> Self {
        DecodeError::Malformed(e.to_string())
    }
}

#[derive(Debug)]
struct FieldInfo {
    number: u32,
    name: String,
    wire_type: u8,
    /// Slot in the message's required-field bitmap.
    required_slot: Option<usize>,
    /// For a required enum: its valid numbers (sorted).
    enum_values: Option<Vec<i32>>,
    /// For a message-typed field whose type needs checking: that type's table index.
    nested: Option<usize>,
    repeated: bool,
}

#[derive(Debug)]
struct Table {
    name: String,
    /// Only the fields the walker cares about, sorted by number.
    fields: Vec<FieldInfo>,
    required_count: usize,
    /// Has required fields, directly or in a nested message type.
    needs_check: bool,
}

struct Tables {
    tables: Vec<Table>,
    by_name: HashMap<String, usize>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| build(descriptor_pool().all_messages().collect()))
}

fn wire_type_of(kind: &Kind) -> u8 {
    match kind {
        Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => 1,
        Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => 5,
        Kind::String | Kind::Bytes | Kind::Message(_) => 2,
        _ => 0,
    }
}

fn build(all: Vec<MessageDescriptor>) -> Tables {
    let by_name: HashMap<String, usize> = all
        .iter()
        .enumerate()
        .map(|(i, m)| (m.full_name().to_owned(), i))
        .collect();
    let msg_index = |k: &Kind| match k {
        Kind::Message(m) => by_name.get(m.full_name()).copied(),
        _ => None,
    };
    // Which types need checking: a fixpoint over "has required fields, or a message
    // field of a type that needs checking" (types can be recursive).
    let mut needs: Vec<bool> = all
        .iter()
        .map(|m| m.fields().any(|f| f.is_required()))
        .collect();
    loop {
        let mut changed = false;
        for (i, m) in all.iter().enumerate() {
            if needs[i] {
                continue;
            }
            if m.fields()
                .any(|f| msg_index(&f.kind()).is_some_and(|j| needs[j]))
            {
                needs[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let tables = all
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut fields = Vec::new();
            let mut required_count = 0;
            for f in fields_in_declaration_order(m) {
                let kind = f.kind();
                let nested = msg_index(&kind).filter(|&j| needs[j]);
                if !f.is_required() && nested.is_none() {
                    continue;
                }
                let required_slot = f.is_required().then(|| {
                    required_count += 1;
                    required_count - 1
                });
                let enum_values = match (&kind, f.is_required()) {
                    (Kind::Enum(e), true) => {
                        let mut v: Vec<i32> = e.values().map(|v| v.number()).collect();
                        v.sort_unstable();
                        Some(v)
                    }
                    _ => None,
                };
                fields.push(FieldInfo {
                    number: f.number(),
                    name: f.name().to_owned(),
                    wire_type: wire_type_of(&kind),
                    required_slot,
                    enum_values,
                    nested,
                    repeated: f.is_list() || f.is_map(),
                });
            }
            fields.sort_by_key(|f| f.number);
            Table {
                name: m.full_name().to_owned(),
                fields,
                required_count,
                needs_check: needs[i],
            }
        })
        .collect();
    Tables { tables, by_name }
}

/// Verifies that `bytes`, an encoded message of type `desc`, has every `required`
/// field, recursively (what `IsInitialized()` answers after parsing). Malformed bytes
/// are an error too.
pub fn check_initialized(desc: &MessageDescriptor, bytes: &[u8]) -> Result<(), DecodeError> {
    let t = tables();
    let index = *t
        .by_name
        .get(desc.full_name())
        .ok_or_else(|| DecodeError::UnknownMessage(desc.full_name().to_owned()))?;
    check_index(t, index, bytes)
}

fn check_index(t: &Tables, index: usize, bytes: &[u8]) -> Result<(), DecodeError> {
    let mut walker = Walker {
        tables: &t.tables,
        missing: None,
        pending: Vec::with_capacity(16),
    };
    match walker.walk(index, bytes, 0, &mut String::new()) {
        Ok(()) => Ok(()),
        Err(Stop::Malformed(why)) => Err(DecodeError::Malformed(why.to_owned())),
        Err(Stop::Missing) => {
            // Slow path, only on failure: walk again collecting every missing path.
            let mut walker = Walker {
                tables: &t.tables,
                missing: Some(Vec::new()),
                pending: Vec::new(),
            };
            walker
                .walk(index, bytes, 0, &mut String::new())
                .map_err(|_| DecodeError::Malformed("inconsistent walk".to_owned()))?;
            Err(DecodeError::MissingRequired(MissingRequired {
                message: t.tables[index].name.clone(),
                fields: walker.missing.unwrap_or_default(),
            }))
        }
    }
}

/// [`check_initialized`] for a message type given by its fully qualified name (the
/// name libprocess puts on the wire, e.g. `mesos.internal.RegisterSlaveMessage`).
pub fn check_initialized_by_name(full_name: &str, bytes: &[u8]) -> Result<(), DecodeError> {
    let t = tables();
    let index = *t
        .by_name
        .get(full_name)
        .ok_or_else(|| DecodeError::UnknownMessage(full_name.to_owned()))?;
    check_index(t, index, bytes)
}

/// Decodes `bytes` as `M` after checking it as libprocess would: well-formed and with
/// every `required` field present.
pub fn decode_checked<M: Message + Default + Name>(bytes: &[u8]) -> Result<M, DecodeError> {
    let t = tables();
    let name = M::full_name();
    let index = *t
        .by_name
        .get(name.as_str())
        .ok_or(DecodeError::UnknownMessage(name))?;
    // A type without required fields anywhere below it needs no walk: prost's own
    // decode rejects malformed bytes.
    if t.tables[index].needs_check {
        check_index(t, index, bytes)?;
    }
    Ok(M::decode(bytes)?)
}

enum Stop {
    Malformed(&'static str),
    /// A required field is missing (fast mode only).
    Missing,
}

struct Walker<'t, 'b> {
    tables: &'t [Table],
    /// `Some` in the slow, reporting mode.
    missing: Option<Vec<String>>,
    /// Singular nested messages waiting to be checked (first occurrence each), for
    /// every message being walked: one allocation per check instead of one per message.
    pending: Vec<(usize, &'b [u8])>,
}

fn read_varint(buf: &mut &[u8]) -> Result<u64, Stop> {
    let mut value = 0u64;
    for i in 0..10 {
        let Some((&b, rest)) = buf.split_first() else {
            return Err(Stop::Malformed("truncated varint"));
        };
        *buf = rest;
        if i == 9 && b > 1 {
            return Err(Stop::Malformed("varint overflows 64 bits"));
        }
        value |= u64::from(b & 0x7F) << (7 * i);
        if b < 0x80 {
            return Ok(value);
        }
    }
    Err(Stop::Malformed("varint too long"))
}

fn take<'b>(buf: &mut &'b [u8], n: u64) -> Result<&'b [u8], Stop> {
    let n = usize::try_from(n).map_err(|_| Stop::Malformed("length overflows"))?;
    if buf.len() < n {
        return Err(Stop::Malformed("truncated field"));
    }
    let (head, rest) = buf.split_at(n);
    *buf = rest;
    Ok(head)
}

/// Skips one field's value of `wire_type` (after its key). Groups are skipped up to
/// their matching end tag.
fn skip(buf: &mut &[u8], number: u32, wire_type: u8, depth: u32) -> Result<(), Stop> {
    match wire_type {
        0 => read_varint(buf).map(drop),
        1 => take(buf, 8).map(drop),
        2 => {
            let len = read_varint(buf)?;
            take(buf, len).map(drop)
        }
        3 => {
            if depth >= MAX_DEPTH {
                return Err(Stop::Malformed("recursion limit reached"));
            }
            loop {
                let (n, wt) = read_key(buf)?;
                if wt == 4 {
                    return if n == number {
                        Ok(())
                    } else {
                        Err(Stop::Malformed("mismatched end group"))
                    };
                }
                skip(buf, n, wt, depth + 1)?;
            }
        }
        5 => take(buf, 4).map(drop),
        _ => Err(Stop::Malformed("invalid wire type")),
    }
}

fn read_key(buf: &mut &[u8]) -> Result<(u32, u8), Stop> {
    let key = read_varint(buf)?;
    let number = u32::try_from(key >> 3).map_err(|_| Stop::Malformed("field number too large"))?;
    if number == 0 || number > 0x1FFF_FFFF {
        return Err(Stop::Malformed("invalid field number"));
    }
    Ok((number, (key & 7) as u8))
}

impl<'b> Walker<'_, 'b> {
    fn walk(
        &mut self,
        index: usize,
        mut buf: &'b [u8],
        depth: u32,
        prefix: &mut String,
    ) -> Result<(), Stop> {
        if depth >= MAX_DEPTH {
            return Err(Stop::Malformed("recursion limit reached"));
        }
        let tables = self.tables;
        let table = &tables[index];
        let mut seen = Seen::new(table.required_count);
        // Singular message fields seen more than once must be checked merged.
        let mut singular: Vec<(usize, Vec<u8>)> = Vec::new();
        let start = self.pending.len();
        // Element indices of repeated fields, for paths (reporting mode only).
        let mut counters: Vec<usize> = Vec::new();

        while !buf.is_empty() {
            let (number, wire_type) = read_key(&mut buf)?;
            if wire_type == 4 {
                return Err(Stop::Malformed("unexpected end group"));
            }
            let field = if table.needs_check {
                table
                    .fields
                    .binary_search_by_key(&number, |f| f.number)
                    .ok()
                    .map(|i| (i, &table.fields[i]))
            } else {
                None
            };
            let Some((fi, field)) = field.filter(|(_, f)| f.wire_type == wire_type) else {
                skip(&mut buf, number, wire_type, depth)?;
                continue;
            };
            if wire_type == 2 {
                let len = read_varint(&mut buf)?;
                let value = take(&mut buf, len)?;
                if let Some(slot) = field.required_slot {
                    seen.set(slot);
                }
                if let Some(nested) = field.nested {
                    if field.repeated {
                        let mark = prefix.len();
                        if self.missing.is_some() {
                            if counters.is_empty() {
                                counters = vec![0; table.fields.len()];
                            }
                            let i = counters[fi];
                            counters[fi] += 1;
                            prefix.push_str(&format!("{}[{i}].", field.name));
                        }
                        self.walk(nested, value, depth + 1, prefix)?;
                        prefix.truncate(mark);
                    } else if let Some(pos) =
                        self.pending[start..].iter().position(|(f, _)| *f == fi)
                    {
                        match singular.iter_mut().find(|(f, _)| *f == fi) {
                            Some((_, merged)) => merged.extend_from_slice(value),
                            None => {
                                let mut merged = self.pending[start + pos].1.to_vec();
                                merged.extend_from_slice(value);
                                singular.push((fi, merged));
                            }
                        }
                    } else {
                        self.pending.push((fi, value));
                    }
                }
                continue;
            }
            // A required scalar with the right wire type.
            let mut value_buf = buf;
            skip(&mut buf, number, wire_type, depth)?;
            if let Some(slot) = field.required_slot {
                let valid = match &field.enum_values {
                    Some(values) => {
                        // Enums are int32 on the wire, sign-extended to 64 bits.
                        let raw = read_varint(&mut value_buf)? as i64 as i32;
                        values.binary_search(&raw).is_ok()
                    }
                    None => true,
                };
                if valid {
                    seen.set(slot);
                }
            }
        }

        // Nested singular messages, each checked once (merged when repeated on the wire).
        let end = self.pending.len();
        for k in start..end {
            let (fi, value) = self.pending[k];
            let field = &table.fields[fi];
            let Some(nested) = field.nested else { continue };
            let mark = prefix.len();
            if self.missing.is_some() {
                prefix.push_str(&field.name);
                prefix.push('.');
            }
            match singular.iter().find(|(f, _)| *f == fi) {
                Some((_, merged)) => {
                    // The merged bytes live only here: walk them with a walker of
                    // their own lifetime.
                    let mut sub = Walker {
                        tables,
                        missing: self.missing.take(),
                        pending: Vec::new(),
                    };
                    let result = sub.walk(nested, merged, depth + 1, prefix);
                    self.missing = sub.missing;
                    result?;
                }
                None => self.walk(nested, value, depth + 1, prefix)?,
            }
            prefix.truncate(mark);
        }
        self.pending.truncate(start);

        if !seen.all(table.required_count) {
            let Some(missing) = &mut self.missing else {
                return Err(Stop::Missing);
            };
            // Reported in declaration order (slots were assigned in it).
            let mut absent: Vec<(usize, &str)> = table
                .fields
                .iter()
                .filter_map(|f| f.required_slot.map(|slot| (slot, f.name.as_str())))
                .filter(|(slot, _)| !seen.get(*slot))
                .collect();
            absent.sort_unstable();
            missing.extend(
                absent
                    .into_iter()
                    .map(|(_, name)| format!("{prefix}{name}")),
            );
        }
        Ok(())
    }
}

/// Bitmap of seen required fields.
enum Seen {
    Small(u64),
    Large(Vec<bool>),
}

impl Seen {
    fn new(n: usize) -> Self {
        if n <= 64 {
            Seen::Small(0)
        } else {
            Seen::Large(vec![false; n])
        }
    }
    fn set(&mut self, i: usize) {
        match self {
            Seen::Small(b) => *b |= 1 << i,
            Seen::Large(v) => v[i] = true,
        }
    }
    fn get(&self, i: usize) -> bool {
        match self {
            Seen::Small(b) => *b & (1 << i) != 0,
            Seen::Large(v) => v[i],
        }
    }
    fn all(&self, n: usize) -> bool {
        match self {
            Seen::Small(b) => n == 64 && *b == u64::MAX || n < 64 && *b == (1u64 << n) - 1,
            Seen::Large(v) => v.iter().all(|&x| x),
        }
    }
}
