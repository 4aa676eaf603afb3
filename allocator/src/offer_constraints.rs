//! Offer constraints on agent (pseudo)attributes: a feature upstream added
//! after 1.9 (Mesos 1.11; `src/master/allocator/mesos/offer_constraints_filter.cpp`,
//! `OfferConstraintsFilter` in `include/mesos/allocator/allocator.hpp`).
//!
//! A framework gives, per role, a list of groups of `AttributeConstraint`s.
//! An agent passes the role's constraints when *some* group has *all* of its
//! constraints true for the agent; an agent that fails them is excluded from
//! offers to that framework in that role. Roles without constraints exclude
//! nothing.
//!
//! Regexes are compiled once, when the filter is created, with the regex
//! crate instead of RE2 (see [`compile_regex`] for how RE2's syntax and the
//! two size limits are mapped).

use std::collections::BTreeMap;

use mesos_proto::mesos::scheduler::attribute_constraint::{
    predicate::Predicate as PredicateKind, selector::PseudoattributeType,
    selector::Selector as SelectorKind, Predicate,
};
use mesos_proto::mesos::scheduler::{AttributeConstraint, OfferConstraints};
use mesos_proto::mesos::{value, Attribute, SlaveInfo};
use regex_automata::nfa::thompson;

use crate::{Error, Result};

/// Upstream's `DEFAULT_OFFER_CONSTRAINTS_RE2_MAX_MEM` (4 KiB).
pub const DEFAULT_RE2_MAX_MEM: u64 = 4096;
/// Upstream's `DEFAULT_OFFER_CONSTRAINTS_RE2_MAX_PROGRAM_SIZE`.
pub const DEFAULT_RE2_MAX_PROGRAM_SIZE: usize = 100;

/// Limits on each regex of a framework's constraints (mirrors
/// `OfferConstraintsFilter::Options::RE2Limits`; the master's
/// `--offer_constraints_re2_max_mem` and `--offer_constraints_re2_max_program_size`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfferConstraintsOptions {
    /// Memory budget of one compiled regex, in bytes.
    pub re2_max_mem: u64,
    /// Largest accepted program size of one regex.
    pub re2_max_program_size: usize,
}

impl Default for OfferConstraintsOptions {
    fn default() -> Self {
        OfferConstraintsOptions {
            re2_max_mem: DEFAULT_RE2_MAX_MEM,
            re2_max_program_size: DEFAULT_RE2_MAX_PROGRAM_SIZE,
        }
    }
}

/// A predicate with its regex compiled.
#[derive(Clone, Debug)]
enum Check {
    Exists,
    NotExists,
    TextEquals(String),
    TextNotEquals(String),
    TextMatches(regex::Regex),
    TextNotMatches(regex::Regex),
}

/// What a selector found on an agent.
enum Found<'a> {
    /// No such (pseudo)attribute.
    Missing,
    /// A pseudoattribute (always a string).
    Text(&'a str),
    /// A named attribute of any type.
    Attribute(&'a Attribute),
}

impl Check {
    /// Applies the predicate as upstream's `AttributeConstraintPredicate`:
    /// text predicates are true for any existing non-TEXT attribute, so a
    /// scheduler still sees such agents and filters them itself.
    fn apply(&self, found: &Found<'_>) -> bool {
        let text = match found {
            Found::Missing => None,
            Found::Text(s) => Some(*s),
            Found::Attribute(a) => {
                if a.r#type != value::Type::Text as i32 {
                    return !matches!(self, Check::NotExists);
                }
                Some(a.text.as_ref().map_or("", |t| t.value.as_str()))
            }
        };
        match (self, text) {
            (Check::Exists, t) => t.is_some(),
            (Check::NotExists, t) => t.is_none(),
            (Check::TextEquals(v), Some(t)) => t == v,
            (Check::TextEquals(_), None) => false,
            (Check::TextNotEquals(v), Some(t)) => t != v,
            (Check::TextNotEquals(_), None) => true,
            (Check::TextMatches(re), Some(t)) => re.is_match(t),
            (Check::TextMatches(_), None) => false,
            (Check::TextNotMatches(re), Some(t)) => !re.is_match(t),
            (Check::TextNotMatches(_), None) => true,
        }
    }
}

/// Which (pseudo)attribute a constraint looks at.
#[derive(Clone, Debug)]
enum Select {
    Hostname,
    Region,
    Zone,
    /// The first attribute with this name (upstream keeps the agent's order).
    Attribute(String),
}

impl Select {
    fn find<'a>(&self, info: &'a SlaveInfo) -> Found<'a> {
        let fault_domain = || info.domain.as_ref().and_then(|d| d.fault_domain.as_ref());
        match self {
            Select::Hostname => Found::Text(&info.hostname),
            Select::Region => {
                fault_domain().map_or(Found::Missing, |f| Found::Text(&f.region.name))
            }
            Select::Zone => fault_domain().map_or(Found::Missing, |f| Found::Text(&f.zone.name)),
            Select::Attribute(name) => info
                .attributes
                .iter()
                .find(|a| &a.name == name)
                .map_or(Found::Missing, Found::Attribute),
        }
    }
}

#[derive(Clone, Debug)]
struct Evaluator {
    select: Select,
    check: Check,
}

impl Evaluator {
    /// Mirrors `AttributeConstraintEvaluator::create` (selector validated first).
    fn create(options: &OfferConstraintsOptions, c: &AttributeConstraint) -> Result<Self> {
        let select = match &c.selector.selector {
            Some(SelectorKind::PseudoattributeType(t)) => match PseudoattributeType::try_from(*t) {
                Ok(PseudoattributeType::Hostname) => Select::Hostname,
                Ok(PseudoattributeType::Region) => Select::Region,
                Ok(PseudoattributeType::Zone) => Select::Zone,
                Ok(PseudoattributeType::Unknown) | Err(_) => {
                    return Err(invalid("Unknown pseudoattribute type"));
                }
            },
            Some(SelectorKind::AttributeName(name)) => Select::Attribute(name.clone()),
            None => {
                return Err(invalid(
                    "Exactly one of 'AttributeConstraint::Selector::name' or \
                     'AttributeConstraint::Selector::pseudoattribute_type' must be set",
                ));
            }
        };
        let check = create_check(options, &c.predicate)?;
        Ok(Evaluator { select, check })
    }

    fn evaluate(&self, info: &SlaveInfo) -> bool {
        self.check.apply(&self.select.find(info))
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidOfferConstraints(message.into())
}

fn create_check(options: &OfferConstraintsOptions, p: &Predicate) -> Result<Check> {
    Ok(match &p.predicate {
        Some(PredicateKind::Exists(_)) => Check::Exists,
        Some(PredicateKind::NotExists(_)) => Check::NotExists,
        Some(PredicateKind::TextEquals(t)) => Check::TextEquals(t.value.clone()),
        Some(PredicateKind::TextNotEquals(t)) => Check::TextNotEquals(t.value.clone()),
        Some(PredicateKind::TextMatches(t)) => {
            Check::TextMatches(compile_regex(options, &t.regex)?)
        }
        Some(PredicateKind::TextNotMatches(t)) => {
            Check::TextNotMatches(compile_regex(options, &t.regex)?)
        }
        None => return Err(invalid("Unknown predicate type")),
    })
}

/// Rewrites the RE2 constructs the regex crate reads differently:
/// - `\d \D \s \S \w \W` are ASCII classes in RE2 but Unicode in the regex
///   crate: replaced by the explicit ASCII classes (nested classes are legal
///   inside `[...]` in the regex crate, so this works there too);
/// - `\Q...\E` (a literal span in RE2) is unknown to the regex crate:
///   replaced by the escaped text.
fn re2_to_regex_syntax(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str("[0-9]"),
            Some('D') => out.push_str("[^0-9]"),
            Some('s') => out.push_str("[\\t\\n\\f\\r ]"),
            Some('S') => out.push_str("[^\\t\\n\\f\\r ]"),
            Some('w') => out.push_str("[0-9A-Za-z_]"),
            Some('W') => out.push_str("[^0-9A-Za-z_]"),
            Some('Q') => {
                let rest = chars.as_str();
                let (literal, tail) = match rest.find("\\E") {
                    Some(end) => (&rest[..end], &rest[end + 2..]),
                    None => (rest, ""),
                };
                out.push_str(&regex::escape(literal));
                chars = tail.chars();
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Compiles a constraint's regex for a full match (RE2's `FullMatch`, as
/// upstream's `createRE2`), refusing patterns over the limits. Both limits are
/// checked on the pattern's forward Thompson NFA (regex-automata), the
/// counterpart of RE2's compiled program:
/// - `re2_max_mem` bounds the NFA's heap size; over it the error is RE2's
///   "pattern too large - compile failed";
/// - `re2_max_program_size` bounds its number of states, the counterpart of
///   `RE2::ProgramSize()`'s instruction count. The counts are close to RE2's
///   for literals, classes and repetitions (`(a+){10}` is 23, `(a+){50}` 103)
///   but not identical.
///
/// The matcher itself is then built with the regex crate's default limits:
/// the checks above already bound the pattern.
fn compile_regex(options: &OfferConstraintsOptions, pattern: &str) -> Result<regex::Regex> {
    let anchored = format!(r"\A(?:{})\z", re2_to_regex_syntax(pattern));
    let mem = usize::try_from(options.re2_max_mem).unwrap_or(usize::MAX);
    let failed = |reason: String| {
        invalid(format!(
            "Failed to construct regex from pattern '{pattern}': {reason}"
        ))
    };
    let nfa = thompson::Compiler::new()
        .configure(
            thompson::Config::new()
                .which_captures(thompson::WhichCaptures::None)
                .nfa_size_limit(Some(mem)),
        )
        .build(&anchored)
        .map_err(|e| {
            if e.size_limit().is_some() {
                failed("pattern too large - compile failed".to_string())
            } else {
                failed(one_line(&e))
            }
        })?;
    let size = nfa.states().len();
    if size > options.re2_max_program_size {
        return Err(invalid(format!(
            "Regex '{pattern}' is too complex: program size of {size} is larger than \
             maximum of {} allowed",
            options.re2_max_program_size
        )));
    }
    regex::Regex::new(&anchored).map_err(|e| failed(one_line(&e)))
}

/// The regex crate's errors are multi-line drawings; keep the last line.
fn one_line(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .trim_start_matches("error: ")
        .to_string()
}

/// A framework's compiled offer constraints (mirrors `OfferConstraintsFilter`).
///
/// The default filter excludes nothing (a framework without constraints).
#[derive(Clone, Debug, Default)]
pub struct OfferConstraintsFilter {
    /// role -> groups (OR) of constraints (AND).
    roles: BTreeMap<String, Vec<Vec<Evaluator>>>,
}

impl OfferConstraintsFilter {
    /// Validates and compiles `constraints` (mirrors `OfferConstraintsFilter::create`).
    /// Errors carry upstream's messages; the master prefixes them with
    /// "Offer constraints are not valid: ".
    pub fn create(
        options: &OfferConstraintsOptions,
        constraints: &OfferConstraints,
    ) -> Result<Self> {
        let mut roles = BTreeMap::new();
        for (role, role_constraints) in &constraints.role_constraints {
            if role_constraints.groups.is_empty() {
                return Err(invalid(format!(
                    "'OfferConstraints::role_constraints' has an empty \
                     'RoleConstraints::groups' for role {role}"
                )));
            }
            let mut groups = Vec::with_capacity(role_constraints.groups.len());
            for group in &role_constraints.groups {
                if group.attribute_constraints.is_empty() {
                    // Upstream's text, missing space included.
                    return Err(invalid(format!(
                        "'OfferConstraints::RoleConstraints::groups' for role {role}\
                         contains an empty RoleConstraints::Group"
                    )));
                }
                let mut evaluators = Vec::with_capacity(group.attribute_constraints.len());
                for c in &group.attribute_constraints {
                    let e = Evaluator::create(options, c).map_err(|e| {
                        let inner = match e {
                            Error::InvalidOfferConstraints(m) => m,
                            other => other.to_string(),
                        };
                        invalid(format!(
                            "A role {role} has an invalid 'AttributeConstraint': {inner}"
                        ))
                    })?;
                    evaluators.push(e);
                }
                groups.push(evaluators);
            }
            roles.insert(role.clone(), groups);
        }
        Ok(OfferConstraintsFilter { roles })
    }

    /// Whether the agent fails the role's constraints (mirrors `isAgentExcluded`):
    /// true when the role has constraints and no group holds entirely.
    pub fn is_agent_excluded(&self, role: &str, info: &SlaveInfo) -> bool {
        let Some(groups) = self.roles.get(role) else {
            return false;
        };
        !groups.iter().any(|g| g.iter().all(|e| e.evaluate(info)))
    }

    /// Whether no role has constraints.
    pub fn is_empty(&self) -> bool {
        self.roles.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn re2_classes_become_ascii() {
        assert_eq!(re2_to_regex_syntax(r"\w+"), "[0-9A-Za-z_]+");
        assert_eq!(re2_to_regex_syntax(r"[\d-]"), "[[0-9]-]");
        assert_eq!(re2_to_regex_syntax(r"\Qa.b\E+"), r"a\.b+");
        assert_eq!(re2_to_regex_syntax(r"\\w"), r"\\w");
        assert_eq!(re2_to_regex_syntax(r"\."), r"\.");
    }

    #[test]
    fn full_match_and_ascii_word() {
        let o = OfferConstraintsOptions::default();
        let re = compile_regex(&o, r"rack-\d+").unwrap();
        assert!(re.is_match("rack-12"));
        assert!(!re.is_match("xrack-12"));
        assert!(!re.is_match("rack-12x"));
        let w = compile_regex(&o, r"\w+").unwrap();
        assert!(w.is_match("abc_1"));
        assert!(!w.is_match("é"), "RE2's \\w is ASCII");
        assert!(compile_regex(&o, "a|").is_ok());
        assert!(compile_regex(&o, "(").is_err());
    }
}
