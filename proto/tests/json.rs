//! Mesos JSON behaviour, rule by rule (stout/protobuf.hpp), plus properties.

use mesos_proto::json::{from_json, to_json, JsonError};
use mesos_proto::mesos::slave::{container_file_operation, ContainerFileOperation};
use mesos_proto::mesos::v1::scheduler::Call;
use mesos_proto::mesos::v1::{
    value, CheckInfo, FrameworkInfo, Offer, Resource, TaskId, TaskState, TaskStatus,
};
use proptest::prelude::*;

fn status(json: &str) -> Result<TaskStatus, JsonError> {
    from_json(json)
}

#[test]
fn unknown_keys_are_ignored_and_null_means_unset() {
    let s = status(
        r#"{"task_id":{"value":"t","bogus":1},"state":"TASK_RUNNING","zzz":[1,{}],"message":null}"#,
    )
    .unwrap();
    assert_eq!(s.task_id.value, "t");
    assert_eq!(s.state, TaskState::TaskRunning as i32);
    assert_eq!(s.message, None);
}

#[test]
fn strings_are_accepted_for_numbers_and_bools() {
    let s = status(
        r#"{"task_id":{"value":"t"},"state":"TASK_RUNNING","timestamp":" 1.5e3 ","healthy":"true"}"#,
    )
    .unwrap();
    assert_eq!(s.timestamp, Some(1500.0));
    assert_eq!(s.healthy, Some(true));
    let e = status(r#"{"task_id":{"value":"t"},"state":"TASK_RUNNING","timestamp":"12abc"}"#)
        .unwrap_err();
    assert!(
        matches!(e, JsonError::InvalidNumber { ref field, .. } if field == "timestamp"),
        "{e}"
    );
    let e =
        status(r#"{"task_id":{"value":"t"},"state":"TASK_RUNNING","healthy":"yes"}"#).unwrap_err();
    assert!(matches!(e, JsonError::InvalidBool { .. }), "{e}");
}

#[test]
fn numbers_are_not_accepted_for_strings_enums_or_messages() {
    for bad in [
        r#"{"task_id":{"value":5},"state":"TASK_RUNNING"}"#,
        r#"{"task_id":{"value":"t"},"state":1}"#,
        r#"{"task_id":7,"state":"TASK_RUNNING"}"#,
        r#"{"task_id":{"value":"t"},"state":"TASK_RUNNING","healthy":1}"#,
        r#"{"task_id":{"value":"t"},"state":"TASK_RUNNING","message":true}"#,
    ] {
        assert!(
            matches!(status(bad), Err(JsonError::UnexpectedType { .. })),
            "{bad}"
        );
    }
    let e = status(r#"{"task_id":{"value":5},"state":"TASK_RUNNING"}"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Not expecting a JSON number for field 'task_id.value'"
    );
}

#[test]
fn integers_convert_like_static_cast() {
    // Doubles truncate; integers wrap into narrower/unsigned types.
    let r: value::Range = from_json(r#"{"begin":1.9,"end":-1}"#).unwrap();
    assert_eq!((r.begin, r.end), (1, u64::MAX));
    let r: value::Range = from_json(r#"{"begin":"31000","end":"32000"}"#).unwrap();
    assert_eq!((r.begin, r.end), (31000, 32000));
    assert!(matches!(
        from_json::<value::Range>(r#"{"begin":1e30,"end":0}"#),
        Err(JsonError::OutOfRange { .. })
    ));
    let r: value::Range = from_json(r#"{"begin":18446744073709551615,"end":0}"#).unwrap();
    assert_eq!(r.begin, u64::MAX);
}

#[test]
fn bytes_are_base64() {
    let s = status(r#"{"task_id":{"value":"t"},"state":"TASK_RUNNING","data":"AAH/"}"#).unwrap();
    assert_eq!(s.data.as_deref(), Some(&[0u8, 1, 255][..]));
    let e =
        status(r#"{"task_id":{"value":"t"},"state":"TASK_RUNNING","data":"A*=="}"#).unwrap_err();
    assert!(matches!(e, JsonError::Base64 { .. }), "{e}");
    assert!(to_json(&s).unwrap().contains(r#""data":"AAH/""#));
}

#[test]
fn unknown_enum_names_are_dropped_unless_required() {
    let s = status(r#"{"task_id":{"value":"t"},"state":"TASK_RUNNING","source":"NOPE"}"#).unwrap();
    assert_eq!(s.source, None);
    let e = status(r#"{"task_id":{"value":"t"},"state":"TASK_NOPE"}"#).unwrap_err();
    assert!(
        matches!(e, JsonError::UnknownEnum { ref name, .. } if name == "TASK_NOPE"),
        "{e}"
    );
    let f: FrameworkInfo = from_json(
        r#"{"user":"u","name":"n","capabilities":[{"type":"NOPE"},{"type":"MULTI_ROLE"}]}"#,
    )
    .unwrap();
    assert_eq!(f.capabilities.len(), 2);
    assert_eq!(f.capabilities[0].r#type, None);
}

#[test]
fn arrays_only_for_repeated_fields_and_single_values_append() {
    let e = status(r#"{"task_id":[{"value":"t"}],"state":"TASK_RUNNING"}"#).unwrap_err();
    assert!(
        matches!(e, JsonError::UnexpectedType { kind: "array", .. }),
        "{e}"
    );
    // A bare object or scalar for a repeated field is one element; nested arrays flatten.
    let f: FrameworkInfo =
        from_json(r#"{"user":"u","name":"n","roles":"a","capabilities":{"type":"MULTI_ROLE"}}"#)
            .unwrap();
    assert_eq!(f.roles, ["a"]);
    assert_eq!(f.capabilities.len(), 1);
    let f: FrameworkInfo =
        from_json(r#"{"user":"u","name":"n","roles":["a",["b",["c"]],null]}"#).unwrap();
    assert_eq!(f.roles, ["a", "b", "c"]);
}

#[test]
fn maps_come_from_objects() {
    let f: FrameworkInfo = from_json(
        r#"{"user":"u","name":"n","offer_filters":{"b":{},"a":{"min_allocatable_resources":
            {"quantities":[{"quantities":{"cpus":{"value":1},"mem":{"value":"2.5"}}}]}}}}"#,
    )
    .unwrap();
    assert_eq!(f.offer_filters.keys().collect::<Vec<_>>(), ["a", "b"]);
    let q = &f.offer_filters["a"]
        .min_allocatable_resources
        .as_ref()
        .unwrap()
        .quantities[0];
    assert_eq!(q.quantities["mem"].value, 2.5);
    // Printed sorted, entries as objects.
    let json = to_json(&f).unwrap();
    assert!(
        json.contains(r#""offer_filters":{"a":{"min_allocatable_resources":{"quantities":[{"quantities":{"cpus":{"value":1.0},"mem":{"value":2.5}}}]}},"b":{}}"#),
        "{json}"
    );
    let e = from_json::<FrameworkInfo>(r#"{"user":"u","name":"n","offer_filters":"x"}"#);
    assert!(matches!(e, Err(JsonError::UnexpectedType { .. })));
}

#[test]
fn missing_required_fields_are_named_by_path() {
    let e = from_json::<Call>(
        r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"x","capabilities":[{}]}}}"#,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Missing required fields: subscribe.framework_info.user"
    );
    let e = from_json::<Offer>(r#"{"resources":[{"name":"cpus"},{}]}"#).unwrap_err();
    let JsonError::MissingRequired(paths) = e else {
        panic!("{e}")
    };
    assert_eq!(
        paths,
        [
            "id",
            "framework_id",
            "agent_id",
            "hostname",
            "resources[0].type",
            "resources[1].name",
            "resources[1].type"
        ]
    );
}

#[test]
fn top_level_must_be_a_json_object() {
    assert!(matches!(status("[1]"), Err(JsonError::NotAnObject)));
    assert!(matches!(status("\"x\""), Err(JsonError::NotAnObject)));
    assert!(matches!(status("{"), Err(JsonError::Syntax(_))));
    assert!(matches!(status(""), Err(JsonError::Syntax(_))));
}

#[test]
fn oneof_members_are_applied_in_sorted_key_order() {
    // stout's JSON::Object is a std::map: "symlink" comes after "mkdir" and wins.
    let op: ContainerFileOperation =
        from_json(r#"{"symlink":{"source":"s"},"mkdir":{"target":"m"}}"#).unwrap();
    assert!(matches!(
        op.parameters,
        Some(container_file_operation::Parameters::Symlink(_))
    ));
}

#[test]
fn defaults_are_printed_unless_deprecated() {
    // CheckInfo: delay/interval/timeout declare defaults and are printed when unset.
    let c = CheckInfo::default();
    assert_eq!(
        to_json(&c).unwrap(),
        r#"{"delay_seconds":15.0,"interval_seconds":10.0,"timeout_seconds":20.0}"#
    );
    // FrameworkInfo.role has a default but is deprecated: not printed.
    let f = FrameworkInfo {
        user: "u".into(),
        name: "n".into(),
        ..Default::default()
    };
    assert_eq!(
        to_json(&f).unwrap(),
        r#"{"user":"u","name":"n","failover_timeout":0.0,"checkpoint":false}"#
    );
    // Resource.role: deprecated with a default: printed only when set.
    let r = Resource {
        name: "cpus".into(),
        r#type: 0,
        ..Default::default()
    };
    assert!(!to_json(&r).unwrap().contains("\"role\""));
}

#[test]
fn non_finite_doubles_are_an_error() {
    let s = TaskStatus {
        task_id: TaskId { value: "t".into() },
        state: TaskState::TaskRunning as i32,
        timestamp: Some(f64::NAN),
        ..Default::default()
    };
    assert!(matches!(to_json(&s), Err(JsonError::NonFinite(_))));
}

#[test]
fn unknown_enum_numbers_are_not_printed() {
    let s = TaskStatus {
        task_id: TaskId { value: "t".into() },
        state: TaskState::TaskRunning as i32,
        source: Some(999),
        ..Default::default()
    };
    assert_eq!(
        to_json(&s).unwrap(),
        r#"{"task_id":{"value":"t"},"state":"TASK_RUNNING"}"#
    );
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| serde_json::json!(x)),
        "[a-zA-Z0-9_ .=+/-]{0,12}".prop_map(serde_json::Value::String),
        prop::sample::select(vec![
            "TASK_RUNNING",
            "SCALAR",
            "value",
            "1e3",
            "true",
            "AAAA",
            "-1",
            "18446744073709551616"
        ])
        .prop_map(|s| serde_json::Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        let names = prop::sample::select(vec![
            "task_id",
            "state",
            "value",
            "name",
            "type",
            "scalar",
            "ranges",
            "range",
            "begin",
            "end",
            "resources",
            "labels",
            "data",
            "uuid",
            "timestamp",
            "healthy",
            "source",
            "offer_filters",
            "quantities",
            "roles",
            "capabilities",
            "id",
            "agent_id",
            "x",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::vec((names, inner), 0..5).prop_map(|kv| {
                serde_json::Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #[test]
    fn parsing_any_json_never_panics(v in arb_json()) {
        let _ = mesos_proto::json::from_json_value::<TaskStatus>(&v);
        let _ = mesos_proto::json::from_json_value::<Resource>(&v);
        let _ = mesos_proto::json::from_json_value::<FrameworkInfo>(&v);
        if let Ok(offer) = mesos_proto::json::from_json_value::<Offer>(&v) {
            // Whatever parses prints, and the print parses back to the same message.
            let text = to_json(&offer).unwrap();
            let back: Offer = from_json(&text).unwrap();
            prop_assert_eq!(to_json(&back).unwrap(), text);
        }
    }

    #[test]
    fn parsing_any_text_never_panics(s in "\\PC{0,64}") {
        let _ = from_json::<TaskStatus>(&s);
    }

    #[test]
    fn printing_decoded_bytes_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        use prost::Message;
        if let Ok(r) = Resource::decode(bytes.as_slice()) {
            if let Ok(text) = to_json(&r) {
                let back: Result<Resource, _> = from_json(&text);
                // Missing required fields are fine to reject; anything else must come back
                // printing the same.
                if let Ok(back) = back {
                    prop_assert_eq!(to_json(&back).unwrap(), text);
                }
            }
        }
    }
}
