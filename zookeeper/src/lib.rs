//! ZooKeeper support as Mesos 1.9 uses it.
//!
//! - [`url`]: `zk://[user:pass@]host:port[,host:port...]/path` parsing
//!   (upstream src/zookeeper/url.hpp).
//! - [`client`]: a minimal asynchronous client of the ZooKeeper wire
//!   protocol (sessions, create, delete, exists, getData, getChildren with
//!   watches, pings), enough for group membership.
//! - [`group`]: the leader contender and leader detector recipes
//!   (upstream src/zookeeper/{group,contender,detector}.cpp): members are
//!   `<label>_<10-digit sequence>` ephemeral sequential znodes; the leader
//!   is the member with the lowest sequence.
//! - [`master`]: the Mesos master flavour: `json.info_` znodes holding the
//!   `MasterInfo` as JSON, and decoding of the older `info_` (protobuf) and
//!   unlabelled (pid) formats (src/master/{contender,detector}/zookeeper.cpp).

pub mod client;
pub mod group;
pub mod master;
pub mod testing;
pub mod url;

pub use client::{ZkClient, ZkError, ZkEvent};
pub use url::ZkUrl;
