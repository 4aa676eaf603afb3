//! The wire-level JSON writer (`bytes_to_json`, behind `to_json`) against the
//! `DynamicMessage` writer and against C++ parsing rules.

mod common;

use mesos_proto::json::{bytes_to_json, dynamic_to_json, to_json, JsonError};
use mesos_proto::mesos::slave::ContainerFileOperation;
use mesos_proto::mesos::v1::master::Response;
use mesos_proto::mesos::v1::{FrameworkInfo, TaskStatus};
use mesos_proto::pool::message_descriptor;
use proptest::prelude::*;
use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor};

use common::{assert_same, golden_dir};

fn json_of<M: prost::Name>(bytes: &[u8]) -> Result<String, JsonError> {
    bytes_to_json(&message_descriptor::<M>().unwrap(), bytes)
}

fn dynamic_json(desc: &MessageDescriptor, bytes: &[u8]) -> Option<Result<String, JsonError>> {
    let msg = DynamicMessage::decode(desc.clone(), bytes).ok()?;
    Some(dynamic_to_json(&msg))
}

#[test]
fn both_writers_print_every_golden_response_identically() {
    let desc = message_descriptor::<Response>().unwrap();
    for call in [
        "GET_STATE",
        "GET_AGENTS",
        "GET_FRAMEWORKS",
        "GET_FLAGS",
        "GET_VERSION",
        "GET_TASKS",
    ] {
        let pb = std::fs::read(golden_dir().join(format!("operator/{call}.pb"))).unwrap();
        let wire = bytes_to_json(&desc, &pb).unwrap();
        let dynamic = dynamic_json(&desc, &pb).unwrap().unwrap();
        assert_same(&wire, &dynamic, call);
    }
}

#[test]
fn singular_message_occurrences_merge_and_scalars_take_the_last() {
    // task_id {value:"a"} state=1, task_id {} again, message "x", message "y"
    let bytes = [
        0x0A, 0x03, 0x0A, 0x01, b'a', 0x10, 0x01, 0x0A, 0x00, 0x22, 0x01, b'x', 0x22, 0x01, b'y',
    ];
    assert_eq!(
        json_of::<TaskStatus>(&bytes).unwrap(),
        r#"{"task_id":{"value":"a"},"state":"TASK_RUNNING","message":"y"}"#
    );
}

#[test]
fn wrong_wire_types_are_unknown_fields() {
    // state as fixed32 (ignored), message as varint (ignored)
    let bytes = [0x0A, 0x03, 0x0A, 0x01, b'a', 0x15, 1, 0, 0, 0, 0x20, 0x05];
    assert_eq!(
        json_of::<TaskStatus>(&bytes).unwrap(),
        r#"{"task_id":{"value":"a"}}"#
    );
}

#[test]
fn unknown_enum_numbers_keep_the_last_known_value() {
    // state = RUNNING, then state = 99 (unknown): C++ keeps RUNNING.
    let bytes = [0x0A, 0x00, 0x10, 0x01, 0x10, 0x63];
    assert_eq!(
        json_of::<TaskStatus>(&bytes).unwrap(),
        r#"{"task_id":{},"state":"TASK_RUNNING"}"#
    );
}

#[test]
fn repeated_scalars_are_read_packed_or_not() {
    // ContainerLaunchInfo's `repeated int32 enter_namespaces = 9` (declared unpacked).
    use mesos_proto::mesos::slave::ContainerLaunchInfo;
    let unpacked = [0x48, 0x01, 0x48, 0x02];
    let packed = [0x4A, 0x02, 0x03, 0x04];
    let mut both = unpacked.to_vec();
    both.extend_from_slice(&packed);
    assert_eq!(
        json_of::<ContainerLaunchInfo>(&both).unwrap(),
        r#"{"enter_namespaces":[1,2,3,4]}"#
    );
}

#[test]
fn oneof_keeps_only_the_member_seen_last() {
    // mkdir {target:"m"} (3), symlink {source:"s"} (2), mkdir again {recursive:true}.
    let bytes = [
        0x1A, 0x03, 0x0A, 0x01, b'm', 0x12, 0x03, 0x0A, 0x01, b's', 0x1A, 0x02, 0x10, 0x01,
    ];
    // The second mkdir clears symlink and starts a fresh mkdir (no target).
    assert_eq!(
        json_of::<ContainerFileOperation>(&bytes).unwrap(),
        r#"{"mkdir":{"recursive":true}}"#
    );
    let desc = message_descriptor::<ContainerFileOperation>().unwrap();
    assert_eq!(
        dynamic_json(&desc, &bytes).unwrap().unwrap(),
        r#"{"mkdir":{"recursive":true}}"#
    );
}

#[test]
fn map_entries_default_dedupe_and_sort() {
    // offer_filters entries: "b" -> {}, "a" -> {} , "b" again, an entry with no key.
    let entry = |key: &[u8]| {
        let mut e = vec![];
        if !key.is_empty() {
            e.push(0x0A);
            e.push(key.len() as u8);
            e.extend_from_slice(key);
        }
        e.extend_from_slice(&[0x12, 0x00]);
        let mut f = vec![0x6A, e.len() as u8];
        f.extend(e);
        f
    };
    let mut bytes = vec![0x0A, 0x01, b'u', 0x12, 0x01, b'n'];
    for k in [&b"b"[..], b"a", b"b", b""] {
        bytes.extend(entry(k));
    }
    assert_eq!(
        json_of::<FrameworkInfo>(&bytes).unwrap(),
        r#"{"user":"u","name":"n","failover_timeout":0.0,"checkpoint":false,"offer_filters":{"":{},"a":{},"b":{}}}"#
    );
    let desc = message_descriptor::<FrameworkInfo>().unwrap();
    assert_eq!(
        dynamic_json(&desc, &bytes).unwrap().unwrap(),
        json_of::<FrameworkInfo>(&bytes).unwrap()
    );
}

#[test]
fn malformed_bytes_are_errors_not_panics() {
    for bad in [
        &[0x0A][..],
        &[0x0A, 0x05],
        &[0x0F],
        &[0x00],
        &[0x0C],
        &[0x0B],
    ] {
        assert!(json_of::<TaskStatus>(bad).is_err(), "{bad:?}");
    }
    // Invalid UTF-8 in a string field (prost rejects it too).
    assert!(json_of::<TaskStatus>(&[0x22, 0x01, 0xFF]).is_err());
}

#[test]
fn to_json_matches_the_dynamic_writer_for_a_typical_message() {
    let f = FrameworkInfo {
        user: "root".into(),
        name: "n\"\n".into(),
        roles: vec!["a".into(), "b".into()],
        failover_timeout: Some(0.1 + 0.2),
        ..Default::default()
    };
    let desc = message_descriptor::<FrameworkInfo>().unwrap();
    let bytes = f.encode_to_vec();
    assert_eq!(
        to_json(&f).unwrap(),
        dynamic_json(&desc, &bytes).unwrap().unwrap()
    );
}

#[test]
fn proto3_zero_scalars_are_not_printed() {
    // mesos.csi.types.VolumeCapability.MountVolume (proto3): fs_type = 1 (string),
    // mount_flags = 2. An explicitly encoded empty fs_type is "not set" in proto3.
    let desc = mesos_proto::pool::message_descriptor_by_name(
        "mesos.csi.types.VolumeCapability.MountVolume",
    )
    .unwrap();
    let bytes = [0x0A, 0x00, 0x12, 0x01, b'r'];
    let wire = bytes_to_json(&desc, &bytes).unwrap();
    assert_eq!(wire, r#"{"mount_flags":["r"]}"#);
    assert_eq!(dynamic_json(&desc, &bytes).unwrap().unwrap(), wire);
}

#[test]
fn write_json_appends() {
    let f = FrameworkInfo {
        user: "u".into(),
        name: "n".into(),
        ..Default::default()
    };
    let mut out = String::from("[");
    mesos_proto::json::write_json(&f, &mut out).unwrap();
    out.push(']');
    assert_eq!(out, format!("[{}]", to_json(&f).unwrap()));
}

fn golden_state() -> Vec<u8> {
    std::fs::read(golden_dir().join("operator/GET_STATE.pb")).unwrap()
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = json_of::<Response>(&bytes);
        let _ = json_of::<TaskStatus>(&bytes);
        let _ = json_of::<FrameworkInfo>(&bytes);
    }

    /// Wherever prost-reflect can decode the bytes at all, both writers agree.
    #[test]
    fn agrees_with_the_dynamic_writer_on_mutated_state(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..6)
    ) {
        let mut bytes = golden_state();
        for (at, byte, kind) in edits {
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                _ => bytes.insert(i, byte),
            }
        }
        let desc = message_descriptor::<Response>().unwrap();
        if let Some(Ok(dynamic)) = dynamic_json(&desc, &bytes) {
            let wire = bytes_to_json(&desc, &bytes);
            prop_assert_eq!(wire.ok(), Some(dynamic));
        }
    }
}
