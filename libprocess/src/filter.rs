//! Test filters on message delivery, in the spirit of upstream's
//! `FUTURE_PROTOBUF` / `DROP_PROTOBUF(S)` (src/tests/mesos.hpp:3533-3612,
//! 3rdparty/libprocess/include/process/gmock.hpp). Both runtimes consult the
//! installed [`Filters`] for every message before delivering it, local or
//! remote, so a test can drop or observe a message by name, sender and receiver.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use bytes::Bytes;

use crate::Upid;

/// Which messages a rule applies to. `None` matches anything. Pids match on
/// the id, and on the address too when the pattern's port is not zero.
#[derive(Clone, Debug, Default)]
pub struct Matcher {
    pub name: Option<String>,
    pub from: Option<Upid>,
    pub to: Option<Upid>,
}

impl Matcher {
    /// Matches messages of protobuf type `M`.
    pub fn message<M: prost::Name>() -> Matcher {
        Matcher {
            name: Some(M::full_name()),
            ..Matcher::default()
        }
    }

    pub fn named(name: &str) -> Matcher {
        Matcher {
            name: Some(name.to_string()),
            ..Matcher::default()
        }
    }

    pub fn from(mut self, pid: &Upid) -> Matcher {
        self.from = Some(pid.clone());
        self
    }

    pub fn to(mut self, pid: &Upid) -> Matcher {
        self.to = Some(pid.clone());
        self
    }

    pub fn matches(&self, name: &str, from: &Upid, to: &Upid) -> bool {
        fn pid_ok(pat: &Option<Upid>, p: &Upid) -> bool {
            match pat {
                None => true,
                Some(pat) => pat.id() == p.id() && (pat.port() == 0 || pat.addr() == p.addr()),
            }
        }
        self.name.as_deref().is_none_or(|n| n == name)
            && pid_ok(&self.from, from)
            && pid_ok(&self.to, to)
    }
}

/// What happens to a matching message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Deliver it, and record it (`FUTURE_PROTOBUF`).
    Observe,
    /// Do not deliver it, and record it (`DROP_PROTOBUF`).
    Drop,
}

/// A message a rule matched.
#[derive(Clone, Debug)]
pub struct Seen {
    pub name: String,
    pub from: Upid,
    pub to: Upid,
    pub body: Bytes,
}

#[derive(Debug, Default)]
struct Record {
    seen: Vec<Seen>,
}

/// The test's view of one rule: what it matched so far.
#[derive(Clone, Debug)]
pub struct RuleHandle {
    state: Arc<(Mutex<Record>, Condvar)>,
}

impl RuleHandle {
    pub fn count(&self) -> usize {
        self.state
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .seen
            .len()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .seen
            .clone()
    }

    /// The first matched message decoded as `M`.
    pub fn first<M: prost::Message + Default>(&self) -> Option<M> {
        self.seen()
            .first()
            .and_then(|s| M::decode(s.body.clone()).ok())
    }

    /// Blocks until at least `n` messages matched or `timeout` passed (for
    /// tests against real-time runtimes; the simulator never needs it).
    pub fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let (lock, cv) = &*self.state;
        let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        let (g, _) = cv
            .wait_timeout_while(guard, timeout, |r| r.seen.len() < n)
            .unwrap_or_else(|e| e.into_inner());
        g.seen.len() >= n
    }
}

struct Rule {
    matcher: Matcher,
    action: Action,
    /// How many more messages this rule may match; `None` = unlimited.
    remaining: Option<usize>,
    handle: RuleHandle,
}

/// The set of installed rules. Cheap to clone; all clones share the rules.
#[derive(Clone, Default)]
pub struct Filters {
    rules: Arc<Mutex<Vec<Rule>>>,
}

impl std::fmt::Debug for Filters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Filters")
    }
}

impl Filters {
    pub fn new() -> Filters {
        Filters::default()
    }

    fn add(&self, matcher: Matcher, action: Action, remaining: Option<usize>) -> RuleHandle {
        let handle = RuleHandle {
            state: Arc::new((Mutex::new(Record::default()), Condvar::new())),
        };
        self.rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Rule {
                matcher,
                action,
                remaining,
                handle: handle.clone(),
            });
        handle
    }

    /// Records the next matching message and lets it through (`FUTURE_PROTOBUF`).
    pub fn future(&self, m: Matcher) -> RuleHandle {
        self.add(m, Action::Observe, Some(1))
    }

    /// Records every matching message and lets them through.
    pub fn observe_all(&self, m: Matcher) -> RuleHandle {
        self.add(m, Action::Observe, None)
    }

    /// Drops the next matching message (`DROP_PROTOBUF`).
    pub fn drop_one(&self, m: Matcher) -> RuleHandle {
        self.add(m, Action::Drop, Some(1))
    }

    /// Drops every matching message until cleared (`DROP_PROTOBUFS`).
    pub fn drop_all(&self, m: Matcher) -> RuleHandle {
        self.add(m, Action::Drop, None)
    }

    pub fn clear(&self) {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Called by runtimes before delivering a message: `true` = deliver.
    /// Rules are tried in installation order; an exhausted rule no longer
    /// matches, so `drop_one` followed by `future` sees the second message.
    pub fn admit(&self, name: &str, from: &Upid, to: &Upid, body: &Bytes) -> bool {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        if rules.is_empty() {
            return true;
        }
        let mut deliver = true;
        for r in rules.iter_mut() {
            if r.remaining == Some(0) || !r.matcher.matches(name, from, to) {
                continue;
            }
            if let Some(n) = r.remaining.as_mut() {
                *n -= 1;
            }
            let (lock, cv) = &*r.handle.state;
            lock.lock()
                .unwrap_or_else(|e| e.into_inner())
                .seen
                .push(Seen {
                    name: name.to_string(),
                    from: from.clone(),
                    to: to.clone(),
                    body: body.clone(),
                });
            cv.notify_all();
            if r.action == Action::Drop {
                deliver = false;
                break;
            }
        }
        deliver
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(s: &str) -> Upid {
        Upid::parse_literal(s).unwrap()
    }

    #[test]
    fn drop_one_then_pass() {
        let f = Filters::new();
        let d = f.drop_one(Matcher::named("a.B"));
        let (x, y) = (pid("x@127.0.0.1:1"), pid("y@127.0.0.1:2"));
        assert!(!f.admit("a.B", &x, &y, &Bytes::new()));
        assert!(f.admit("a.B", &x, &y, &Bytes::new()));
        assert_eq!(d.count(), 1);
    }

    #[test]
    fn matchers_filter_by_sender_and_receiver() {
        let f = Filters::new();
        let (x, y) = (pid("x@127.0.0.1:1"), pid("y@127.0.0.1:2"));
        let d = f.drop_all(Matcher::named("a.B").to(&pid("y@0.0.0.0:0")));
        assert!(f.admit("a.B", &y, &x, &Bytes::new()));
        assert!(!f.admit("a.B", &x, &y, &Bytes::new()));
        assert!(!f.admit("a.B", &x, &y, &Bytes::new()));
        assert!(f.admit("a.C", &x, &y, &Bytes::new()));
        assert_eq!(d.count(), 2);
    }

    #[test]
    fn future_observes_without_dropping() {
        let f = Filters::new();
        let h = f.future(Matcher::named("a.B"));
        let (x, y) = (pid("x@127.0.0.1:1"), pid("y@127.0.0.1:2"));
        assert!(f.admit("a.B", &x, &y, &Bytes::from_static(b"hi")));
        assert!(h.wait_for(1, Duration::from_millis(1)));
        assert_eq!(h.seen()[0].body, Bytes::from_static(b"hi"));
    }
}
