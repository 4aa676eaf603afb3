//! The proposer's Paxos phases (`src/log/consensus.cpp`, `src/log/catchup.cpp`).
//!
//! Each phase broadcasts one request and folds the replies exactly as upstream's
//! `ImplicitPromiseProcess`, `ExplicitPromiseProcess`, `WriteProcess` and
//! `FillProcess` do: replies are taken in arrival order until `quorum` non-ignored
//! replies (or `quorum` IGNOREDs) are in. The folds are pure functions over a reply
//! list, so an asynchronous network can reuse them; here the replies come from a
//! [`LocalNetwork`].

use mesos_proto::mesos::internal::log::{
    action, promise_response, write_response, Action, PromiseRequest, PromiseResponse,
    WriteRequest, WriteResponse,
};

use crate::error::{Error, Result};
use crate::intervals::IntervalSet;
use crate::network::LocalNetwork;
use crate::storage::is_learned;

/// How many times a fill retries after a rejection before giving up. Upstream retries
/// forever with a 100-200 ms delay; a synchronous proposer must stop somewhere.
const MAX_FILL_ATTEMPTS: usize = 64;

fn is_rejected_promise(response: &PromiseResponse) -> bool {
    match response.r#type {
        Some(t) => t == promise_response::Type::Reject as i32,
        None => !response.okay,
    }
}

fn is_rejected_write(response: &WriteResponse) -> bool {
    match response.r#type {
        Some(t) => t == write_response::Type::Reject as i32,
        None => !response.okay,
    }
}

fn promise_result(r#type: promise_response::Type, proposal: u64) -> PromiseResponse {
    PromiseResponse {
        okay: r#type == promise_response::Type::Accept,
        r#type: Some(r#type as i32),
        proposal,
        position: None,
        action: None,
    }
}

fn no_quorum(what: &str, quorum: usize, got: usize) -> Error {
    Error::NotElected(format!(
        "{what}: {got} replies, a quorum of {quorum} is needed"
    ))
}

/// Folds implicit-promise replies (`ImplicitPromiseProcess::received`): ACCEPT with
/// the highest end position, REJECT with the highest nack, or IGNORED.
pub fn fold_implicit_promise(
    quorum: usize,
    responses: &[PromiseResponse],
) -> Option<PromiseResponse> {
    let (mut received, mut ignored) = (0, 0);
    let mut nack: Option<u64> = None;
    let mut end: Option<u64> = None;
    for response in responses {
        if response.r#type == Some(promise_response::Type::Ignored as i32) {
            ignored += 1;
            if ignored >= quorum {
                return Some(promise_result(promise_response::Type::Ignored, 0));
            }
            continue;
        }
        received += 1;
        if is_rejected_promise(response) {
            nack = Some(nack.map_or(response.proposal, |n| n.max(response.proposal)));
        } else if nack.is_none() {
            let position = response.position.unwrap_or(0);
            end = Some(end.map_or(position, |e| e.max(position)));
        }
        if received >= quorum {
            return Some(match nack {
                Some(n) => promise_result(promise_response::Type::Reject, n),
                None => {
                    let mut r = promise_result(promise_response::Type::Accept, 0);
                    r.position = end;
                    r
                }
            });
        }
    }
    None
}

/// Folds explicit-promise replies for one position (`ExplicitPromiseProcess::received`):
/// a learned action wins at once; otherwise ACCEPT carries the accepted action with the
/// highest `performed`, if any.
pub fn fold_explicit_promise(
    quorum: usize,
    proposal: u64,
    responses: &[PromiseResponse],
) -> Option<PromiseResponse> {
    let (mut received, mut ignored) = (0, 0);
    let mut nack: Option<u64> = None;
    let mut highest: Option<Action> = None;
    for response in responses {
        if response.r#type == Some(promise_response::Type::Ignored as i32) {
            ignored += 1;
            if ignored >= quorum {
                return Some(promise_result(promise_response::Type::Ignored, 0));
            }
            continue;
        }
        received += 1;
        if is_rejected_promise(response) {
            nack = Some(nack.map_or(response.proposal, |n| n.max(response.proposal)));
        } else if nack.is_none() {
            if let Some(action) = &response.action {
                if is_learned(action) {
                    return Some(response.clone());
                }
                if let Some(performed) = action.performed {
                    if highest
                        .as_ref()
                        .is_none_or(|h| h.performed.unwrap_or(0) < performed)
                    {
                        highest = Some(action.clone());
                    }
                }
            }
        }
        if received >= quorum {
            return Some(match nack {
                Some(n) => promise_result(promise_response::Type::Reject, n),
                None => {
                    let mut r = promise_result(promise_response::Type::Accept, proposal);
                    r.action = highest;
                    r
                }
            });
        }
    }
    None
}

/// Folds write replies (`WriteProcess::received`).
pub fn fold_write(quorum: usize, responses: &[WriteResponse]) -> Option<WriteResponse> {
    let (mut received, mut ignored) = (0, 0);
    let mut nack: Option<u64> = None;
    let position = responses.first().map_or(0, |r| r.position);
    let result = |r#type: write_response::Type, proposal: u64| WriteResponse {
        okay: r#type == write_response::Type::Accept,
        r#type: Some(r#type as i32),
        proposal,
        position,
    };
    for response in responses {
        if response.r#type == Some(write_response::Type::Ignored as i32) {
            ignored += 1;
            if ignored >= quorum {
                return Some(result(write_response::Type::Ignored, 0));
            }
            continue;
        }
        received += 1;
        if is_rejected_write(response) {
            nack = Some(nack.map_or(response.proposal, |n| n.max(response.proposal)));
        }
        if received >= quorum {
            return Some(match nack {
                Some(n) => result(write_response::Type::Reject, n),
                None => result(write_response::Type::Accept, 0),
            });
        }
    }
    None
}

/// Runs a promise phase: implicit without `position`, explicit with one.
pub fn promise(
    quorum: usize,
    network: &mut LocalNetwork,
    proposal: u64,
    position: Option<u64>,
) -> Result<PromiseResponse> {
    let request = PromiseRequest { proposal, position };
    let responses = network.promise(&request);
    let folded = match position {
        None => fold_implicit_promise(quorum, &responses),
        Some(_) => fold_explicit_promise(quorum, proposal, &responses),
    };
    folded.ok_or_else(|| no_quorum("promise phase", quorum, responses.len()))
}

/// Runs a write phase for `action` with `proposal` (the request never carries
/// `learned`; learning is a separate broadcast).
pub fn write(
    quorum: usize,
    network: &mut LocalNetwork,
    proposal: u64,
    action: &Action,
) -> Result<WriteResponse> {
    let mut request = WriteRequest {
        proposal,
        position: action.position,
        learned: None,
        r#type: action.r#type.unwrap_or(action::Type::Nop as i32),
        ..Default::default()
    };
    match action::Type::try_from(request.r#type) {
        Ok(action::Type::Nop) => request.nop = Some(action::Nop::default()),
        Ok(action::Type::Append) => request.append = action.append.clone(),
        Ok(action::Type::Truncate) => request.truncate = action.truncate,
        Err(_) => {
            return Err(Error::BadRecord(format!(
                "unknown action type {}",
                request.r#type
            )))
        }
    }
    let responses = network.write(&request);
    fold_write(quorum, &responses).ok_or_else(|| no_quorum("write phase", quorum, responses.len()))
}

/// Broadcasts `action` as learned (`log::learn`).
pub fn learn(network: &mut LocalNetwork, action: &Action) {
    let mut action = action.clone();
    action.learned = Some(true);
    network.learned(&action);
}

/// Agrees on the value of one position, writing a NOP if nobody accepted anything
/// there (`FillProcess`). Returns the learned action.
pub fn fill(
    quorum: usize,
    network: &mut LocalNetwork,
    mut proposal: u64,
    position: u64,
) -> Result<Action> {
    for _ in 0..MAX_FILL_ATTEMPTS {
        let response = promise(quorum, network, proposal, Some(position))?;
        if response.r#type == Some(promise_response::Type::Ignored as i32) {
            return Err(Error::NotElected(format!(
                "a quorum of replicas ignored the promise for position {position}"
            )));
        }
        if !response.okay {
            proposal = response.proposal.max(proposal) + 1;
            continue;
        }
        let mut action = match response.action {
            Some(action) => action,
            None => Action {
                position,
                r#type: Some(action::Type::Nop as i32),
                nop: Some(action::Nop::default()),
                ..Default::default()
            },
        };
        action.promised = proposal;
        action.performed = Some(proposal);
        if !is_learned(&action) {
            let written = write(quorum, network, proposal, &action)?;
            if written.r#type == Some(write_response::Type::Ignored as i32) {
                return Err(Error::NotElected(format!(
                    "a quorum of replicas ignored the write for position {position}"
                )));
            }
            if !written.okay {
                proposal = written.proposal.max(proposal) + 1;
                continue;
            }
        }
        action.learned = Some(true);
        learn(network, &action);
        return Ok(action);
    }
    Err(Error::NotElected(format!(
        "gave up filling position {position} after {MAX_FILL_ATTEMPTS} rejections"
    )))
}

/// Makes the local replica learn every position in `positions` (`log::catchup`):
/// fills each position still missing locally. Returns the last proposal used.
pub fn catchup(
    quorum: usize,
    network: &mut LocalNetwork,
    mut proposal: u64,
    positions: &IntervalSet,
) -> Result<u64> {
    for position in positions.positions() {
        while network.local_ref().missing(position) {
            let action = fill(quorum, network, proposal, position)?;
            proposal = proposal.max(action.promised);
        }
    }
    Ok(proposal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(position: u64) -> PromiseResponse {
        PromiseResponse {
            okay: true,
            r#type: Some(promise_response::Type::Accept as i32),
            proposal: 1,
            position: Some(position),
            action: None,
        }
    }

    #[test]
    fn implicit_fold_takes_highest_end_or_nack() {
        let folded = fold_implicit_promise(2, &[accept(3), accept(7), accept(9)]).unwrap();
        assert!(folded.okay);
        assert_eq!(folded.position, Some(7), "stops at the quorum, as upstream");

        let reject = PromiseResponse {
            okay: false,
            r#type: Some(promise_response::Type::Reject as i32),
            proposal: 12,
            position: None,
            action: None,
        };
        let folded = fold_implicit_promise(2, &[accept(3), reject]).unwrap();
        assert_eq!(folded.r#type, Some(promise_response::Type::Reject as i32));
        assert_eq!(folded.proposal, 12);
        assert!(fold_implicit_promise(2, &[accept(1)]).is_none());
    }

    #[test]
    fn explicit_fold_prefers_learned_then_highest_performed() {
        let with_action = |performed: u64, learned: bool| PromiseResponse {
            action: Some(Action {
                position: 4,
                promised: performed,
                performed: Some(performed),
                learned: learned.then_some(true),
                r#type: Some(action::Type::Nop as i32),
                nop: Some(action::Nop::default()),
                ..Default::default()
            }),
            ..accept(4)
        };
        let folded =
            fold_explicit_promise(2, 9, &[with_action(2, false), with_action(5, false)]).unwrap();
        assert_eq!(folded.action.unwrap().performed, Some(5));
        let folded =
            fold_explicit_promise(3, 9, &[with_action(1, true), with_action(5, false)]).unwrap();
        assert!(is_learned(folded.action.as_ref().unwrap()));
    }
}
