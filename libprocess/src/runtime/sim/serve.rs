//! HTTP requests from simulated clients, routed as upstream's
//! `ProcessManager::handle` (3rdparty/libprocess/src/process.cpp).

use super::*;

impl Sim {
    /// A client request to the node at `addr`, delivered at the current
    /// virtual time (run [`Sim::settle`] to get the answer). The path is
    /// `/<process id>/<endpoint>[?query]`; an unknown first segment goes to
    /// the node's delegate, as upstream `ProcessManager::handle`.
    pub fn http(&mut self, addr: SocketAddr, request: Request) -> ResponseHandle {
        let handle = ResponseHandle::new(self.notices.clone());
        self.schedule(
            self.now,
            Ev::Http {
                addr,
                client: None,
                request,
                handle: handle.clone(),
            },
        );
        handle
    }

    /// A request from a client on node `client` (e.g. a framework or an
    /// executor speaking the v1 HTTP API): refused while the two nodes are
    /// partitioned, and reset when a partition or a crash of either side
    /// cuts it, which closes a streaming response (its actor gets the
    /// close notice unless the server itself died).
    pub fn http_from(
        &mut self,
        client: SocketAddr,
        addr: SocketAddr,
        mut request: Request,
    ) -> ResponseHandle {
        request.peer = Some(client);
        let handle = ResponseHandle::new(self.notices.clone());
        self.schedule(
            self.now,
            Ev::Http {
                addr,
                client: Some(client),
                request,
                handle: handle.clone(),
            },
        );
        handle
    }

    pub(super) fn reset_http(&mut self, hit: impl Fn(&HttpConn) -> bool, tell_server: bool) {
        let mut notices = Vec::new();
        self.http_open.retain(|c| {
            let Some(st) = c.state.upgrade() else {
                return false;
            };
            if !hit(c) {
                return true;
            }
            let mut st = st.lock().unwrap_or_else(|e| e.into_inner());
            if tell_server {
                notices.extend(st.reset());
            } else {
                st.fail("connection reset");
            }
            false
        });
        let mut q = self.notices.lock().unwrap_or_else(|e| e.into_inner());
        q.extend(notices);
    }

    pub(super) fn deliver_http(
        &mut self,
        addr: SocketAddr,
        client: Option<SocketAddr>,
        mut request: Request,
        handle: ResponseHandle,
    ) {
        let refused = client.is_some_and(|c| !self.reachable(c, addr));
        let Some(n) = self.nodes.get(&addr).filter(|n| n.up && !refused) else {
            handle.fail("connection refused");
            let note = format!("http {} (connection refused)", request.path);
            self.record(Kind::Dropped, None, None, &note, &[]);
            return;
        };
        let raw = std::mem::take(&mut request.path);
        let (mut path, query) = match raw.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (raw, None),
        };
        if let Some(q) = query {
            if request.query.is_empty() {
                request.query = crate::transport::decode::parse_query(&q).unwrap_or_default();
            }
        }
        let first = path.split('/').find(|t| !t.is_empty()).map(str::to_string);
        let mut target = match first {
            None => n.delegate.clone().inspect(|d| path = format!("/{d}")),
            // An undecodable id names no process (upstream logs it).
            Some(t) => crate::transport::decode::percent_decode(&t).ok(),
        };
        if !target.as_ref().is_some_and(|t| n.actors.contains_key(t)) {
            if let Some(d) = &n.delegate {
                path = format!("/{d}{path}");
                target = Some(d.clone());
            }
        }
        let pid = target.and_then(|t| n.actors.get(&t)).map(|s| s.pid.clone());
        let Some(pid) = pid else {
            let note = format!("http {path} (no process)");
            self.record(Kind::Dropped, None, None, &note, &[]);
            Responder::new(handle.sink()).respond(Response::not_found());
            return;
        };
        let mut tokens = path.split('/').filter(|t| !t.is_empty());
        tokens.next();
        request.endpoint = tokens.collect::<Vec<_>>().join("/");
        request.path = path;
        self.record(Kind::Http, None, Some(&pid), &request.path, &request.body);
        if self.http_open.len() >= 64 && self.http_open.len().is_power_of_two() {
            self.http_open.retain(|HttpConn { state: st, .. }| {
                st.upgrade()
                    .is_some_and(|s| !s.lock().unwrap_or_else(|e| e.into_inner()).finished())
            });
        }
        self.http_open.push(HttpConn {
            server: addr,
            client,
            state: Arc::downgrade(&handle.state),
        });
        let responder = Responder::new(handle.sink());
        self.run_on(&pid, None, Event::Http { request, responder });
    }
}
