//! Our schema against the real Mesos 1.9.0 one: every message, field and enum value of
//! upstream must exist in ours with the same name, number, type, label, type name,
//! default, oneof membership, proto3_optional and packed option (the rules of
//! `shared/ref-mesos/tools/compare_descriptors.py`; Google's well-known types and the
//! CSI spec are skipped, extras in ours are allowed).
//!
//! The upstream descriptor set is found at `$MESOS_REF_DESCRIPTORS`, else at
//! `../../shared/ref-mesos/mesos-1.9.0-descriptors.pb` from this crate; without it the
//! test prints why and passes vacuously.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use prost::Message;
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorSet};

const SKIP: [&str; 3] = ["google.protobuf", "csi.v0", "csi.v1"];

type Index = (
    BTreeMap<String, DescriptorProto>,
    BTreeMap<String, EnumDescriptorProto>,
);

fn index(set: &FileDescriptorSet) -> Index {
    fn add(
        prefix: &str,
        m: &DescriptorProto,
        msgs: &mut BTreeMap<String, DescriptorProto>,
        enums: &mut BTreeMap<String, EnumDescriptorProto>,
    ) {
        let name = format!("{prefix}.{}", m.name());
        for n in &m.nested_type {
            add(&name, n, msgs, enums);
        }
        for e in &m.enum_type {
            enums.insert(format!("{name}.{}", e.name()), e.clone());
        }
        msgs.insert(name, m.clone());
    }
    let (mut msgs, mut enums) = (BTreeMap::new(), BTreeMap::new());
    for f in &set.file {
        if SKIP.iter().any(|s| f.package().starts_with(s)) {
            continue;
        }
        let prefix = if f.package().is_empty() {
            String::new()
        } else {
            format!(".{}", f.package())
        };
        for m in &f.message_type {
            add(&prefix, m, &mut msgs, &mut enums);
        }
        for e in &f.enum_type {
            enums.insert(format!("{prefix}.{}", e.name()), e.clone());
        }
    }
    (msgs, enums)
}

/// Every difference between upstream and ours, one line each.
fn differences(upstream: &FileDescriptorSet, ours: &FileDescriptorSet) -> (Vec<String>, usize) {
    let (up_m, up_e) = index(upstream);
    let (our_m, our_e) = index(ours);
    let mut problems = Vec::new();
    let mut fields_checked = 0;
    for (name, m) in &up_m {
        let Some(o) = our_m.get(name) else {
            problems.push(format!("missing message {name}"));
            continue;
        };
        let ours_by_number: BTreeMap<i32, _> = o.field.iter().map(|f| (f.number(), f)).collect();
        for f in &m.field {
            fields_checked += 1;
            let Some(g) = ours_by_number.get(&f.number()) else {
                problems.push(format!(
                    "missing field {name}.{} = {}",
                    f.name(),
                    f.number()
                ));
                continue;
            };
            let mut check = |attr: &str, a: String, b: String| {
                if a != b {
                    problems.push(format!(
                        "field {name}.{} = {}: {attr} {a:?} != ours {b:?}",
                        f.name(),
                        f.number()
                    ));
                }
            };
            check("name", f.name().into(), g.name().into());
            check(
                "type",
                format!("{:?}", f.r#type()),
                format!("{:?}", g.r#type()),
            );
            check(
                "label",
                format!("{:?}", f.label()),
                format!("{:?}", g.label()),
            );
            check("type_name", f.type_name().into(), g.type_name().into());
            check(
                "default_value",
                f.default_value().into(),
                g.default_value().into(),
            );
            check(
                "oneof membership",
                f.oneof_index.is_some().to_string(),
                g.oneof_index.is_some().to_string(),
            );
            check(
                "proto3_optional",
                f.proto3_optional().to_string(),
                g.proto3_optional().to_string(),
            );
            let packed = |d: &prost_types::FieldDescriptorProto| {
                d.options.as_ref().and_then(|o| o.packed).unwrap_or(false)
            };
            check("packed", packed(f).to_string(), packed(g).to_string());
        }
    }
    for (name, e) in &up_e {
        let Some(o) = our_e.get(name) else {
            problems.push(format!("missing enum {name}"));
            continue;
        };
        let ours: BTreeSet<(&str, i32)> = o.value.iter().map(|v| (v.name(), v.number())).collect();
        for v in &e.value {
            if !ours.contains(&(v.name(), v.number())) {
                problems.push(format!(
                    "enum {name}: value {} = {} missing or renumbered in ours",
                    v.name(),
                    v.number()
                ));
            }
        }
    }
    (problems, fields_checked)
}

fn upstream_path() -> PathBuf {
    match std::env::var_os("MESOS_REF_DESCRIPTORS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/ref-mesos/mesos-1.9.0-descriptors.pb"),
    }
}

#[test]
fn schema_matches_upstream_1_9_0() {
    let path = upstream_path();
    let Ok(bytes) = std::fs::read(&path) else {
        println!(
            "SKIPPED schema_matches_upstream_1_9_0: no upstream descriptor set at {} \
             (set MESOS_REF_DESCRIPTORS)",
            path.display()
        );
        return;
    };
    let upstream = FileDescriptorSet::decode(bytes.as_slice()).expect("upstream set decodes");
    let ours = FileDescriptorSet::decode(mesos_proto::pool::DESCRIPTOR_SET_BYTES).unwrap();
    let (problems, fields) = differences(&upstream, &ours);
    println!(
        "schema: {} differences over {fields} upstream fields",
        problems.len()
    );
    assert!(fields > 1000, "suspiciously few fields compared: {fields}");
    assert!(
        problems.is_empty(),
        "schema differences:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_comparison_notices_a_changed_field() {
    // Guard against a comparison that can never fail: alter our own set and compare.
    let ours = FileDescriptorSet::decode(mesos_proto::pool::DESCRIPTOR_SET_BYTES).unwrap();
    let mut altered = ours.clone();
    let file = altered
        .file
        .iter_mut()
        .find(|f| f.package() == "mesos.v1" && !f.message_type.is_empty())
        .unwrap();
    let field = &mut file.message_type[0].field[0];
    field.number = Some(field.number() + 1000);
    let (problems, _) = differences(&ours, &altered);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("missing field"), "{problems:?}");
}
