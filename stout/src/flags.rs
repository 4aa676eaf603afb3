//! [`FlagsBase`]: a registry of flags loaded from the environment and the
//! command line exactly as stout's `flags::FlagsBase::load`
//! (`3rdparty/stout/include/stout/flags/flags.hpp`).
//!
//! Rules mirrored:
//! - Arguments are trimmed; `--` stops parsing; anything not starting with
//!   `--` is ignored. `--name=value`, `--name` and `--no-name` (booleans only).
//!   Names are lower-cased.
//! - With a prefix (Mesos uses `MESOS_`), `PREFIX_NAME` environment variables
//!   are taken for *known* flags (or aliases) only, name lower-cased; a name
//!   given on the command line wins over the environment.
//! - Values are applied in name order (upstream keeps them in a `std::multimap`),
//!   so the first error reported is the one upstream reports.
//! - A flag loaded twice (twice on the command line, or by its name and its
//!   alias) is an error; loading through a deprecated alias adds a warning.
//! - `file://` values are read (except for `Path` flags); contents are parsed
//!   as they are, without trimming, as upstream does.
//! - After loading, missing required flags and each flag's validator are checked.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{Error, Result};
use crate::flag::{fetch, FlagSpec, FlagType, FlagValue};

/// Warnings produced by a successful load (e.g. "Loaded deprecated flag 'x'").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Warnings {
    /// The messages, in the order they were produced.
    pub messages: Vec<String>,
}

/// How strict a load is (upstream's `unknowns` and `duplicates` arguments).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Skip unknown flags instead of failing.
    pub unknowns: bool,
    /// Allow a flag to be given more than once (last one wins).
    pub duplicates: bool,
}

#[derive(Debug, Clone)]
struct Entry {
    spec: FlagSpec,
    value: Option<FlagValue>,
    /// The name the flag was loaded by (its name or its alias), if loaded.
    loaded_name: Option<String>,
}

/// A set of flags, as upstream's `flags::FlagsBase`.
#[derive(Debug, Clone)]
pub struct FlagsBase {
    flags: BTreeMap<String, Entry>,
    aliases: BTreeMap<String, String>,
    program_name: String,
    usage_message: Option<String>,
}

impl Default for FlagsBase {
    fn default() -> Self {
        FlagsBase::new()
    }
}

impl FlagsBase {
    /// An empty registry holding only `--help`, as upstream's constructor.
    pub fn new() -> FlagsBase {
        let mut base = FlagsBase {
            flags: BTreeMap::new(),
            aliases: BTreeMap::new(),
            program_name: String::new(),
            usage_message: None,
        };
        base.add(FlagSpec::with_default(
            "help",
            FlagType::Bool,
            FlagValue::Bool(false),
            "Print this help text and exit.",
        ));
        base
    }

    /// Registers a flag. Panics on a duplicate name, an alias equal to the
    /// name, a `no-` prefix or a default of the wrong type: these are
    /// programming errors in a flag table (upstream exits the same way).
    pub fn add(&mut self, spec: FlagSpec) {
        let mut names = vec![spec.name];
        if let Some(alias) = spec.alias {
            assert_ne!(
                alias, spec.name,
                "flag '{}' has an alias equal to its name",
                spec.name
            );
            names.push(alias);
        }
        for name in &names {
            assert!(
                !self.flags.contains_key(*name) && !self.aliases.contains_key(*name),
                "duplicate flag '{name}'"
            );
            assert!(
                !name.starts_with("no-"),
                "flag '{name}' starts with reserved 'no-'"
            );
        }
        if let Some(d) = &spec.default {
            assert!(
                d.is_type(spec.ty),
                "default of flag '{}' has the wrong type",
                spec.name
            );
        }
        if let Some(alias) = spec.alias {
            self.aliases
                .insert(alias.to_string(), spec.name.to_string());
        }
        let value = spec.default.clone();
        self.flags.insert(
            spec.name.to_string(),
            Entry {
                spec,
                value,
                loaded_name: None,
            },
        );
    }

    /// Sets the first line of `--help` (default `Usage: <program> [options]`).
    pub fn set_usage_message(&mut self, message: impl Into<String>) {
        self.usage_message = Some(message.into());
    }

    /// The program name taken from `argv[0]` by the last load.
    pub fn program_name(&self) -> &str {
        &self.program_name
    }

    /// Loads `PREFIX_*` environment variables and the command line `argv`
    /// (whose first element is the program name, as `std::env::args()`).
    ///
    /// Mesos daemons call `load(Some("MESOS_"), std::env::vars(), std::env::args())`.
    pub fn load<E, K, V, A, S>(&mut self, prefix: Option<&str>, env: E, argv: A) -> Result<Warnings>
    where
        E: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
        A: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.load_with(prefix, env, argv, LoadOptions::default())
    }

    /// [`FlagsBase::load`] with explicit [`LoadOptions`].
    pub fn load_with<E, K, V, A, S>(
        &mut self,
        prefix: Option<&str>,
        env: E,
        argv: A,
        options: LoadOptions,
    ) -> Result<Warnings>
    where
        E: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
        A: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut argv = argv.into_iter();
        if let Some(program) = argv.next() {
            let program = program.as_ref().trim_end_matches('/');
            self.program_name = program.rsplit('/').next().unwrap_or(program).to_string();
        }
        let mut values: Vec<(String, Option<String>)> = Vec::new();
        for arg in argv {
            let arg = arg.as_ref().trim_matches([' ', '\t', '\n', '\r']);
            if arg == "--" {
                break;
            }
            let Some(rest) = arg.strip_prefix("--") else {
                continue;
            };
            let (name, value) = match rest.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (rest, None),
            };
            values.push((name.to_lowercase(), value));
        }
        let env: Vec<(String, String)> = env
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
            .collect();
        self.load_values(values, prefix.map(|p| (p, env.as_slice())), options)
    }

    /// Loads `name -> value` pairs (names without `--`), plus the environment
    /// under `prefix` if given; upstream's `load(map, unknowns, prefix)`.
    pub fn load_map<'a, I>(&mut self, values: I, options: LoadOptions) -> Result<Warnings>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let values = values
            .into_iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect();
        self.load_values(
            values,
            None,
            LoadOptions {
                duplicates: false,
                ..options
            },
        )
    }

    /// The `PREFIX_NAME` variables that name a known flag, keyed by the
    /// lower-cased name (upstream `FlagsBase::extract`).
    pub fn extract(&self, prefix: &str, env: &[(String, String)]) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (key, value) in env {
            let Some(name) = key.strip_prefix(prefix) else {
                continue;
            };
            let name = name.to_lowercase();
            let flag_name = name.strip_prefix("no-").unwrap_or(&name);
            if self.flags.contains_key(flag_name) || self.aliases.contains_key(flag_name) {
                out.insert(name.clone(), value.clone());
            }
        }
        out
    }

    fn load_values(
        &mut self,
        mut values: Vec<(String, Option<String>)>,
        env: Option<(&str, &[(String, String)])>,
        options: LoadOptions,
    ) -> Result<Warnings> {
        if let Some((prefix, env)) = env {
            for (name, value) in self.extract(prefix, env) {
                if !values.iter().any(|(n, _)| *n == name) {
                    values.push((name, Some(value)));
                }
            }
        }
        // A multimap iterates in key order, equal keys in insertion order.
        values.sort_by(|a, b| a.0.cmp(&b.0));

        let mut warnings = Warnings::default();
        for (name, value) in values {
            let negated = name.starts_with("no-");
            let flag_name = if negated { &name[3..] } else { name.as_str() };
            let via_alias = self.aliases.contains_key(flag_name);
            let key = if via_alias {
                self.aliases[flag_name].clone()
            } else {
                flag_name.to_string()
            };
            let Some(entry) = self.flags.get_mut(&key) else {
                if options.unknowns {
                    continue;
                }
                return Err(Error::UnknownFlag {
                    name: flag_name.to_string(),
                    via: negated.then(|| name.clone()),
                });
            };
            if !options.duplicates {
                if let Some(loaded) = &entry.loaded_name {
                    return Err(Error::AlreadyLoaded {
                        name: flag_name.to_string(),
                        loaded_name: loaded.clone(),
                    });
                }
            }
            let raw = if !entry.spec.ty.is_bool() {
                if negated {
                    return Err(Error::NegatedNonBoolean {
                        name: flag_name.to_string(),
                        given: name.clone(),
                    });
                }
                match value {
                    Some(v) => v,
                    None => {
                        return Err(Error::MissingValue {
                            name: flag_name.to_string(),
                        })
                    }
                }
            } else {
                match value {
                    None => (if negated { "false" } else { "true" }).to_string(),
                    Some(v) if v.is_empty() => (if negated { "false" } else { "true" }).to_string(),
                    Some(v) if !negated => v,
                    Some(v) => {
                        return Err(Error::NegatedBooleanWithValue {
                            name: flag_name.to_string(),
                            given: name.clone(),
                            value: v,
                        })
                    }
                }
            };
            let parsed = fetch(entry.spec.ty, &raw).map_err(|reason| Error::LoadValue {
                name: flag_name.to_string(),
                value: raw.clone(),
                reason,
            })?;
            entry.value = Some(parsed);
            let (loaded, deprecated) = match (via_alias, entry.spec.alias) {
                (true, Some(alias)) => (alias, entry.spec.alias_deprecated),
                _ => (entry.spec.name, false),
            };
            entry.loaded_name = Some(loaded.to_string());
            if deprecated {
                warnings
                    .messages
                    .push(format!("Loaded deprecated flag '{}'", flag_name));
            }
        }
        self.check()?;
        Ok(warnings)
    }

    /// Checks required flags and runs every validator, in name order.
    pub fn check(&self) -> Result<()> {
        for entry in self.flags.values() {
            if entry.spec.required && entry.loaded_name.is_none() {
                return Err(Error::Required(entry.spec.name.to_string()));
            }
            if let Some(validate) = entry.spec.validate {
                validate(entry.value.as_ref()).map_err(Error::Validation)?;
            }
        }
        Ok(())
    }

    /// Sets one flag from its textual form (with `file://` fetching), as if
    /// it had been loaded by its name. For programs and tests that build flags
    /// in code; unlike `load`, setting a flag twice is allowed.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let key = self
            .aliases
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string());
        let entry = self
            .flags
            .get_mut(&key)
            .ok_or_else(|| Error::NoSuchFlag(name.to_string()))?;
        let parsed = fetch(entry.spec.ty, value).map_err(|reason| Error::LoadValue {
            name: name.to_string(),
            value: value.to_string(),
            reason,
        })?;
        entry.value = Some(parsed);
        entry.loaded_name = Some(name.to_string());
        Ok(())
    }

    /// Replaces a flag's default (for defaults only known at run time, such as
    /// the agent's `--launcher`); a flag already loaded keeps its value.
    pub fn set_default(&mut self, name: &str, value: FlagValue) -> Result<()> {
        let entry = self
            .flags
            .get_mut(name)
            .ok_or_else(|| Error::NoSuchFlag(name.to_string()))?;
        if !value.is_type(entry.spec.ty) {
            return Err(Error::Validation(format!(
                "Default for flag '{}' has the wrong type",
                name
            )));
        }
        entry.spec.default = Some(value.clone());
        if entry.loaded_name.is_none() {
            entry.value = Some(value);
        }
        Ok(())
    }

    /// The current value of a flag (given or default); `None` when unset or unknown.
    pub fn get(&self, name: &str) -> Option<&FlagValue> {
        self.flags.get(name).and_then(|e| e.value.as_ref())
    }

    /// Whether the flag was given (command line, environment or [`FlagsBase::set`]).
    pub fn is_loaded(&self, name: &str) -> bool {
        self.flags
            .get(name)
            .is_some_and(|e| e.loaded_name.is_some())
    }

    /// The name a flag was loaded by (its name or its alias), if loaded.
    pub fn loaded_name(&self, name: &str) -> Option<&str> {
        self.flags.get(name).and_then(|e| e.loaded_name.as_deref())
    }

    /// The declaration of a flag by name or alias.
    pub fn spec(&self, name: &str) -> Option<&FlagSpec> {
        let key = self.aliases.get(name).map(String::as_str).unwrap_or(name);
        self.flags.get(key).map(|e| &e.spec)
    }

    /// Every declaration, in name order.
    pub fn specs(&self) -> impl Iterator<Item = &FlagSpec> {
        self.flags.values().map(|e| &e.spec)
    }

    /// Whether `--help` was given.
    pub fn help(&self) -> bool {
        self.get_bool("help").unwrap_or(false)
    }

    /// A boolean flag's value.
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some(FlagValue::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// A string-like flag's value: `String`, `Path` and `SecurePathOrValue`
    /// (its value, i.e. file contents for `file://`).
    pub fn get_str(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(FlagValue::String(s)) | Some(FlagValue::Path(s)) => Some(s),
            Some(FlagValue::SecurePathOrValue { value, .. }) => Some(value),
            _ => None,
        }
    }

    /// A `Duration` flag's value.
    pub fn get_duration(&self, name: &str) -> Option<crate::Duration> {
        match self.get(name) {
            Some(FlagValue::Duration(d)) => Some(*d),
            _ => None,
        }
    }

    /// A `Bytes` flag's value.
    pub fn get_bytes(&self, name: &str) -> Option<crate::Bytes> {
        match self.get(name) {
            Some(FlagValue::Bytes(b)) => Some(*b),
            _ => None,
        }
    }

    /// A `size_t` flag's value.
    pub fn get_size(&self, name: &str) -> Option<u64> {
        match self.get(name) {
            Some(FlagValue::Size(n)) => Some(*n),
            _ => None,
        }
    }

    /// An `int` flag's value.
    pub fn get_int(&self, name: &str) -> Option<i32> {
        match self.get(name) {
            Some(FlagValue::Int(n)) => Some(*n),
            _ => None,
        }
    }

    /// A port flag's value.
    pub fn get_port(&self, name: &str) -> Option<u16> {
        match self.get(name) {
            Some(FlagValue::Port(n)) => Some(*n),
            _ => None,
        }
    }

    /// A `double` flag's value.
    pub fn get_double(&self, name: &str) -> Option<f64> {
        match self.get(name) {
            Some(FlagValue::Double(n)) => Some(*n),
            _ => None,
        }
    }

    /// A JSON / protobuf-typed flag's value (always an object).
    pub fn get_json(&self, name: &str) -> Option<&serde_json::Value> {
        match self.get(name) {
            Some(FlagValue::Json(v)) => Some(v),
            _ => None,
        }
    }

    /// Every flag that has a value, as `(name, rendered value)` in name order:
    /// what upstream's `/flags` endpoint and `GET_FLAGS` list. A flag loaded
    /// through its alias is listed under the alias, as upstream does
    /// (`Flag::effective_name`).
    pub fn flags(&self) -> Vec<(String, String)> {
        self.flags
            .values()
            .filter_map(|e| {
                let v = e.value.as_ref()?;
                let name = e
                    .loaded_name
                    .clone()
                    .unwrap_or_else(|| e.spec.name.to_string());
                Some((name, v.render_as(e.spec.ty)))
            })
            .collect()
    }

    /// Upstream's `buildEnvironment`: `PREFIX` + upper-cased name -> value,
    /// for every flag with a value (used to pass flags to child processes).
    pub fn build_environment(&self, prefix: Option<&str>) -> BTreeMap<String, String> {
        self.flags()
            .into_iter()
            .map(|(n, v)| (format!("{}{}", prefix.unwrap_or(""), n.to_uppercase()), v))
            .collect()
    }

    /// The `--help` text, laid out as upstream's `FlagsBase::usage`.
    pub fn usage(&self, message: Option<&str>) -> String {
        const PAD: usize = 5;
        let mut usage = String::new();
        if let Some(m) = message {
            usage.push_str(m);
            usage.push_str("\n\n");
        }
        match &self.usage_message {
            Some(m) => {
                usage.push_str(m);
                usage.push_str("\n\n");
            }
            None => usage.push_str(&format!("Usage: {} [options]\n\n", self.program_name)),
        }
        let col1: Vec<String> = self
            .flags
            .values()
            .map(|e| {
                let s = &e.spec;
                if s.ty.is_bool() {
                    let mut c = format!("  --[no-]{}", s.name);
                    if let Some(a) = s.alias {
                        c.push_str(&format!(", --[no-]{}", a));
                    }
                    c
                } else {
                    let mut c = format!("  --{}=VALUE", s.name);
                    if let Some(a) = s.alias {
                        c.push_str(&format!(", --{}=VALUE", a));
                    }
                    c
                }
            })
            .collect();
        let width = col1.iter().map(String::len).max().unwrap_or(0);
        for (c, e) in col1.iter().zip(self.flags.values()) {
            let help = e.spec.full_help();
            let mut lines = help.split(['\n', '\r']);
            let first = lines.next().unwrap_or("");
            usage.push_str(&format!(
                "{}{}{}\n",
                c,
                " ".repeat(PAD + width - c.len()),
                first
            ));
            for line in lines {
                usage.push_str(&format!("{}{}\n", " ".repeat(PAD + width), line));
            }
        }
        usage
    }
}

impl fmt::Display for FlagsBase {
    /// Upstream's `operator<<(ostream&, const FlagsBase&)`: `--name="value"` ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .flags()
            .into_iter()
            .map(|(n, v)| format!("--{}=\"{}\"", n, v))
            .collect();
        f.write_str(&parts.join(" "))
    }
}
