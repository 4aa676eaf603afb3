//! The reflection view of our schema: one [`DescriptorPool`] decoded lazily from the
//! FileDescriptorSet that `build.rs` writes next to the generated code.
//!
//! Every prost type in this crate implements [`prost::Name`], so its fully qualified
//! name finds its descriptor here. This is the Rust analogue of the C++ generated
//! `GetDescriptor()` that stout's JSON code (`stout/protobuf.hpp`) and libprocess'
//! `IsInitialized()` check rely on.

use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, FieldDescriptor, MessageDescriptor};

/// The encoded FileDescriptorSet of every `.proto` file compiled into this crate.
pub static DESCRIPTOR_SET_BYTES: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/mesos_descriptors.bin"));

/// The descriptor pool of the whole schema, decoded on first use.
pub fn descriptor_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        // The bytes are produced by our own build script from our own schema: failing to
        // decode them is a build defect, not an input error.
        DescriptorPool::decode(DESCRIPTOR_SET_BYTES)
            .expect("the build script's descriptor set decodes")
    })
}

/// The descriptor of message `M`, found by its fully qualified protobuf name.
///
/// Returns `None` only for a type that is not part of this crate's schema (a
/// `prost::Name` implemented elsewhere).
pub fn message_descriptor<M: prost::Name>() -> Option<MessageDescriptor> {
    descriptor_pool().get_message_by_name(&M::full_name())
}

/// The descriptor of a message by its fully qualified name (`mesos.v1.master.Call`).
pub fn message_descriptor_by_name(full_name: &str) -> Option<MessageDescriptor> {
    descriptor_pool().get_message_by_name(full_name)
}

/// The fields of `desc` in declaration order, as C++'s `descriptor->field(i)` lists
/// them (prost-reflect's `MessageDescriptor::fields()` iterates by field number). stout
/// writes JSON in this order, and protobuf names missing required fields in it.
pub fn fields_in_declaration_order(
    desc: &MessageDescriptor,
) -> impl Iterator<Item = FieldDescriptor> + '_ {
    desc.descriptor_proto()
        .field
        .iter()
        .filter_map(|f| desc.get_field(f.number.and_then(|n| u32::try_from(n).ok())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_types_have_descriptors() {
        let d = message_descriptor::<crate::mesos::internal::RegisterSlaveMessage>().unwrap();
        assert_eq!(d.full_name(), "mesos.internal.RegisterSlaveMessage");
        let d = message_descriptor::<crate::mesos::v1::master::Response>().unwrap();
        assert_eq!(d.full_name(), "mesos.v1.master.Response");
        assert!(message_descriptor_by_name("no.such.Message").is_none());
    }

    #[test]
    fn declaration_order_is_not_number_order() {
        // TaskStatus declares `source = 9` right after `state = 2`.
        let d = message_descriptor::<crate::mesos::v1::TaskStatus>().unwrap();
        let names: Vec<String> = fields_in_declaration_order(&d)
            .take(4)
            .map(|f| f.name().to_owned())
            .collect();
        assert_eq!(names, ["task_id", "state", "message", "source"]);
        assert_eq!(fields_in_declaration_order(&d).count(), d.fields().len());
    }

    #[test]
    fn pool_has_every_mesos_package() {
        let pool = descriptor_pool();
        for pkg in [
            "mesos",
            "mesos.v1",
            "mesos.internal",
            "mesos.v1.scheduler",
            "mesos.master",
        ] {
            assert!(
                pool.files().any(|f| f.package_name() == pkg),
                "package {pkg} missing"
            );
        }
    }
}
