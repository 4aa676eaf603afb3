//! The wire-level `required` check (libprocess drops messages failing
//! `IsInitialized()`), against hand-made bytes and against an oracle built on
//! prost-reflect's full decode.

use mesos_proto::mesos::internal::StatusUpdateMessage;
use mesos_proto::mesos::v1::{Offer, TaskStatus};
use mesos_proto::pool::{fields_in_declaration_order, message_descriptor};
use mesos_proto::required::{check_initialized, decode_checked, DecodeError};
use proptest::prelude::*;
use prost::Message;
use prost_reflect::{DynamicMessage, Kind, MessageDescriptor, Value};

fn missing(desc: &MessageDescriptor, bytes: &[u8]) -> Vec<String> {
    match check_initialized(desc, bytes) {
        Ok(()) => vec![],
        Err(DecodeError::MissingRequired(m)) => m.fields,
        Err(e) => panic!("unexpected {e}"),
    }
}

fn task_status() -> MessageDescriptor {
    message_descriptor::<TaskStatus>().unwrap()
}

#[test]
fn present_required_fields_pass() {
    // task_id { value: "x" }, state: TASK_RUNNING (1)
    let ok = [0x0A, 0x03, 0x0A, 0x01, b'x', 0x10, 0x01];
    assert!(check_initialized(&task_status(), &ok).is_ok());
    let s: TaskStatus = decode_checked(&ok).unwrap();
    assert_eq!(s.task_id.value, "x");
}

#[test]
fn missing_fields_are_named_with_paths() {
    assert_eq!(missing(&task_status(), &[0x10, 0x01]), ["task_id"]);
    assert_eq!(
        missing(&task_status(), &[0x0A, 0x00, 0x10, 0x01]),
        ["task_id.value"]
    );
    assert_eq!(missing(&task_status(), &[]), ["task_id", "state"]);
    let e = decode_checked::<TaskStatus>(&[0x10, 0x01]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "mesos.v1.TaskStatus is missing required fields: task_id"
    );
}

#[test]
fn presence_follows_cpp_parsing() {
    // state with the wrong wire type (fixed32) is an unknown field: absent.
    let wrong_wire = [0x0A, 0x03, 0x0A, 0x01, b'x', 0x15, 1, 0, 0, 0];
    assert_eq!(missing(&task_status(), &wrong_wire), ["state"]);
    // An enum number the schema lacks goes to the unknown fields: absent.
    let unknown_enum = [0x0A, 0x03, 0x0A, 0x01, b'x', 0x10, 0x63];
    assert_eq!(missing(&task_status(), &unknown_enum), ["state"]);
    // A singular message given twice is merged: value arrives in the second half.
    let split = [0x0A, 0x00, 0x10, 0x01, 0x0A, 0x03, 0x0A, 0x01, b'x'];
    assert!(check_initialized(&task_status(), &split).is_ok());
    let both_empty = [0x0A, 0x00, 0x10, 0x01, 0x0A, 0x00];
    assert_eq!(missing(&task_status(), &both_empty), ["task_id.value"]);
    // Unknown fields of every wire type are skipped.
    let unknown = [
        0x0A, 0x03, 0x0A, 0x01, b'x', 0x10, 0x01, 0xF8, 0x07, 0x05, 0xF9, 0x07, 1, 2, 3, 4, 5, 6,
        7, 8, 0xFB, 0x07, 0x08, 0x01, 0xFC, 0x07,
    ];
    assert!(check_initialized(&task_status(), &unknown).is_ok());
}

#[test]
fn repeated_and_nested_messages_are_checked() {
    let offer = Offer {
        hostname: "h".into(),
        resources: vec![
            mesos_proto::mesos::v1::Resource {
                name: "cpus".into(),
                ..Default::default()
            };
            2
        ],
        ..Default::default()
    };
    let desc = message_descriptor::<Offer>().unwrap();
    // prost writes every required field (with default values), so this passes ...
    assert!(check_initialized(&desc, &offer.encode_to_vec()).is_ok());
    // ... and removing the second resource's name (field 1 of the element) fails.
    let mut bytes = Vec::new();
    for (i, r) in offer.resources.iter().enumerate() {
        let mut r = r.encode_to_vec();
        if i == 1 {
            r.drain(..2 + "cpus".len());
        }
        bytes.push(0x2A);
        bytes.push(r.len() as u8);
        bytes.extend(r);
    }
    let rest: Vec<u8> = Offer {
        resources: vec![],
        ..offer
    }
    .encode_to_vec();
    bytes.extend(rest);
    assert_eq!(missing(&desc, &bytes), ["resources[1].name"]);
}

#[test]
fn malformed_bytes_are_errors() {
    let d = task_status();
    for bad in [
        &[0x0A][..],             // key without value
        &[0x0A, 0x05, 0x0A][..], // length past the end
        &[0x10, 0xFF][..],       // truncated varint
        &[0x0F][..],             // wire type 7
        &[0x00, 0x01][..],       // field number 0
        &[0x0C][..],             // end group without start
        &[0x0B, 0x10, 0x01][..], // unterminated group
        &[
            0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F,
        ][..], // varint overflow
    ] {
        assert!(
            matches!(check_initialized(&d, bad), Err(DecodeError::Malformed(_))),
            "{bad:?}"
        );
    }
    assert!(matches!(
        decode_checked::<TaskStatus>(&[0x0A]),
        Err(DecodeError::Malformed(_))
    ));
}

/// Oracle: decode fully, then look for absent required fields (unknown enum numbers
/// count as absent, as in C++).
fn oracle(desc: &MessageDescriptor, bytes: &[u8]) -> Option<bool> {
    fn complete(m: &DynamicMessage) -> bool {
        fields_in_declaration_order(&m.descriptor()).all(|f| {
            if f.is_required() && !m.has_field(&f) {
                return false;
            }
            let v = m.get_field(&f);
            match (f.kind(), v.as_ref()) {
                (Kind::Enum(e), Value::EnumNumber(n)) if f.is_required() => {
                    e.get_value(*n).is_some()
                }
                (_, Value::Message(n)) if m.has_field(&f) => complete(n),
                (_, Value::List(items)) => items.iter().all(|i| match i {
                    Value::Message(n) => complete(n),
                    _ => true,
                }),
                (_, Value::Map(map)) => map.values().all(|i| match i {
                    Value::Message(n) => complete(n),
                    _ => true,
                }),
                _ => true,
            }
        })
    }
    use prost_reflect::ReflectMessage;
    let m = DynamicMessage::decode(desc.clone(), bytes).ok()?;
    Some(complete(&m))
}

fn golden_status_update() -> Vec<u8> {
    use mesos_proto::mesos::internal::StatusUpdate;
    use mesos_proto::mesos::{FrameworkId, TaskId, TaskState, TaskStatus as V0Status};
    StatusUpdateMessage {
        update: StatusUpdate {
            framework_id: FrameworkId { value: "f".into() },
            status: V0Status {
                task_id: TaskId { value: "t".into() },
                state: TaskState::TaskRunning as i32,
                message: Some("hello".into()),
                ..Default::default()
            },
            timestamp: 1.5,
            ..Default::default()
        },
        pid: Some("slave(1)@127.0.0.1:5051".into()),
    }
    .encode_to_vec()
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let d = task_status();
        let _ = check_initialized(&d, &bytes);
        let _ = decode_checked::<TaskStatus>(&bytes);
        let _ = decode_checked::<StatusUpdateMessage>(&bytes);
    }

    #[test]
    fn agrees_with_a_full_decode_on_mutated_messages(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..4)
    ) {
        let mut bytes = golden_status_update();
        for (at, byte, kind) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                _ => bytes.insert(i, byte),
            }
        }
        let desc = message_descriptor::<StatusUpdateMessage>().unwrap();
        if let Some(complete) = oracle(&desc, &bytes) {
            let ours = check_initialized(&desc, &bytes);
            prop_assert_eq!(ours.is_ok(), complete, "{:?}", ours);
        }
    }
}

#[test]
fn check_by_wire_name() {
    use mesos_proto::required::check_initialized_by_name;
    assert!(check_initialized_by_name("mesos.v1.TaskStatus", &[0x0A, 0x00, 0x10, 0x01]).is_err());
    assert!(check_initialized_by_name(
        "mesos.internal.StatusUpdateMessage",
        &golden_status_update()
    )
    .is_ok());
    assert!(matches!(
        check_initialized_by_name("mesos.internal.NoSuchMessage", &[]),
        Err(DecodeError::UnknownMessage(_))
    ));
}

#[test]
fn status_update_message_passes() {
    let desc = message_descriptor::<StatusUpdateMessage>().unwrap();
    assert!(check_initialized(&desc, &golden_status_update()).is_ok());
}
