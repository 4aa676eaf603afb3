//! In-memory sizes that the master's per-agent memory depends on: every
//! agent's resources are held several times (agent, allocator, offers), so
//! a `Resource` must not carry its rare `DiskInfo` inline (proto/build.rs
//! boxes it).

#[test]
fn a_resource_keeps_its_disk_info_boxed() {
    let v0 = std::mem::size_of::<mesos_proto::mesos::Resource>();
    let v1 = std::mem::size_of::<mesos_proto::mesos::v1::Resource>();
    let disk = std::mem::size_of::<mesos_proto::mesos::resource::DiskInfo>();
    assert!(disk > 500, "DiskInfo is {disk} bytes");
    assert!(v0 < 400, "Resource is {v0} bytes");
    assert!(v1 < 400, "v1 Resource is {v1} bytes");
}
