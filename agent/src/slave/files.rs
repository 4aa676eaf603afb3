//! The agent's use of the `files` process (upstream `slave.cpp`
//! `Framework::addExecutor` / `recoverExecutor` attach, `detachFile` after
//! garbage collection) and the v1 `LIST_FILES` / `READ_FILE` calls
//! (`slave/http.cpp` `Http::listFiles`, `Http::readFile`).

use std::path::{Path, PathBuf};

use libprocess::{Cx, Responder, Response};
use mesos_files::FilesError;
use mesos_proto::mesos::v1::agent::{response, Response as V1Response};

use super::Slave;
use crate::paths;

/// `paths::getExecutorVirtualPath`: `/frameworks/<fid>/executors/<eid>/runs/latest`.
pub fn executor_virtual_path(fid: &str, eid: &str) -> String {
    format!("/frameworks/{fid}/executors/{eid}/runs/latest")
}

impl Slave {
    /// The attach table this agent publishes through the `files` process.
    pub fn files(&self) -> &mesos_files::Files {
        &self.files
    }

    /// Shares another attach table (mesos-local: one `files` process for the
    /// master and every agent, as upstream's `local.cpp`).
    pub fn with_files(mut self, files: mesos_files::Files) -> Slave {
        self.files = files;
        self
    }

    /// The three paths upstream attaches an executor's sandbox at: the real
    /// `runs/latest` path under the work dir, the virtual
    /// `/frameworks/.../runs/latest`, and the sandbox's own path.
    fn sandbox_virtual_paths(&self, fid: &str, eid: &str, directory: &Path) -> [String; 3] {
        let sid = self.slave_id().unwrap_or_default();
        let latest = paths::executor_latest_run_path(&self.config.work_dir, sid, fid, eid);
        [
            latest.display().to_string(),
            executor_virtual_path(fid, eid),
            directory.display().to_string(),
        ]
    }

    /// Exposes an executor's sandbox (launch and recovery).
    pub(crate) fn attach_sandbox(&self, fid: &str, eid: &str, directory: &Path) {
        // A recovered run whose sandbox was already garbage collected.
        if !directory.exists() {
            return;
        }
        for v in self.sandbox_virtual_paths(fid, eid, directory) {
            if let Err(e) = self.files.attach(directory, &v) {
                tracing::error!(
                    "Failed to attach '{}' to virtual path '{v}': {e}",
                    directory.display()
                );
            }
        }
    }

    /// Hides a removed executor's sandbox once it is garbage collected
    /// (`--gc_delay`), unless a newer run took the paths over meanwhile.
    pub(crate) fn detach_sandbox_later(
        &self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        eid: &str,
        directory: PathBuf,
    ) {
        let virtuals = self.sandbox_virtual_paths(fid, eid, &directory);
        let files = self.files.clone();
        cx.delay(self.config.gc_delay, move |_s: &mut Slave, _cx| {
            for v in &virtuals {
                files.detach_if(v, &directory);
            }
        });
    }

    /// v1 `LIST_FILES` / `READ_FILE`: the call as JSON; answers on a
    /// blocking thread.
    pub(crate) fn files_call(
        &mut self,
        cx: &mut Cx<'_, Self>,
        call: &serde_json::Value,
        r: Responder,
    ) {
        let parsed: Result<mesos_proto::mesos::v1::agent::Call, _> =
            mesos_proto::json::from_json_value(call);
        let call = match parsed {
            Ok(c) => c,
            Err(e) => {
                return r.respond(Response::bad_request(format!(
                    "Failed to convert JSON into Call protobuf: {e}"
                )))
            }
        };
        use mesos_proto::mesos::v1::agent::call::Type;
        let missing = |field: &str| {
            Response::bad_request(format!(
                "Failed to validate agent::Call: Expecting '{field}' to be present"
            ))
        };
        let files = self.files.clone();
        match call.r#type.and_then(|t| Type::try_from(t).ok()) {
            Some(Type::ListFiles) => {
                let Some(list) = call.list_files else {
                    return r.respond(missing("list_files"));
                };
                cx.blocking(
                    move || files.browse(&list.path),
                    move |_: &mut Slave, _, result: Result<_, FilesError>| match result {
                        Ok(infos) => {
                            let file_infos = infos.iter().filter_map(to_v1_file_info).collect();
                            r.respond(v1_json(V1Response {
                                r#type: Some(response::Type::ListFiles as i32),
                                list_files: Some(response::ListFiles { file_infos }),
                                ..Default::default()
                            }))
                        }
                        Err(e) => r.respond(e.response()),
                    },
                );
            }
            Some(Type::ReadFile) => {
                let Some(read) = call.read_file else {
                    return r.respond(missing("read_file"));
                };
                cx.blocking(
                    move || files.read(read.offset, read.length, &read.path),
                    move |_: &mut Slave, _, result: Result<_, FilesError>| match result {
                        Ok((size, data)) => r.respond(v1_json(V1Response {
                            r#type: Some(response::Type::ReadFile as i32),
                            read_file: Some(response::ReadFile {
                                size,
                                data: data.into(),
                            }),
                            ..Default::default()
                        })),
                        Err(e) => r.respond(e.response()),
                    },
                );
            }
            _ => r.respond(Response::bad_request(
                "Expecting 'type' to be LIST_FILES or READ_FILE",
            )),
        }
    }
}

/// The v0 `FileInfo` as its identical v1 twin.
pub fn to_v1_file_info(
    f: &mesos_proto::mesos::FileInfo,
) -> Option<mesos_proto::mesos::v1::FileInfo> {
    use prost::Message;
    mesos_proto::mesos::v1::FileInfo::decode(f.encode_to_vec().as_slice()).ok()
}

fn v1_json(resp: V1Response) -> Response {
    match mesos_proto::json::to_json(&resp) {
        Ok(s) => Response::json(s),
        Err(e) => Response::text(http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
