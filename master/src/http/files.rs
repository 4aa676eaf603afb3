//! v1 operator `LIST_FILES` / `READ_FILE` over the master's attach table
//! (upstream `Master::Http::listFiles` / `readFile`, master/http.cpp), and
//! how the master shares that table with the `files` process.

use libprocess::{Cx, Responder};
use mesos_files::FilesError;
use mesos_proto::mesos::master::call::{ListFiles, ReadFile};
use mesos_proto::mesos::master::response::{self, Type};
use mesos_proto::mesos::master::Response as OpResponse;

use super::operator::encode_response;
use crate::actor::Master;

impl Master {
    /// What the master publishes through the `files` process (its log).
    pub fn files(&self) -> &mesos_files::Files {
        &self.files
    }

    /// Shares another attach table (mesos-local: one `files` process).
    pub fn with_files(mut self, files: mesos_files::Files) -> Master {
        self.files = files;
        self
    }

    pub(crate) fn list_files_call(
        &mut self,
        cx: &mut Cx<'_, Self>,
        call: ListFiles,
        json: bool,
        r: Responder,
    ) {
        let files = self.files.clone();
        cx.blocking(
            move || files.browse(&call.path),
            move |_: &mut Master, _, result: Result<_, FilesError>| match result {
                Ok(file_infos) => r.respond(encode_response(
                    &OpResponse {
                        r#type: Some(Type::ListFiles as i32),
                        list_files: Some(response::ListFiles { file_infos }),
                        ..Default::default()
                    },
                    json,
                )),
                Err(e) => r.respond(e.response()),
            },
        );
    }

    pub(crate) fn read_file_call(
        &mut self,
        cx: &mut Cx<'_, Self>,
        call: ReadFile,
        json: bool,
        r: Responder,
    ) {
        let files = self.files.clone();
        cx.blocking(
            move || files.read(call.offset, call.length, &call.path),
            move |_: &mut Master, _, result: Result<_, FilesError>| match result {
                Ok((size, data)) => r.respond(encode_response(
                    &OpResponse {
                        r#type: Some(Type::ReadFile as i32),
                        read_file: Some(response::ReadFile {
                            size,
                            data: data.into(),
                        }),
                        ..Default::default()
                    },
                    json,
                )),
                Err(e) => r.respond(e.response()),
            },
        );
    }
}
