//! Role names: validation and hierarchy helpers (mirrors `src/common/roles.cpp`).

use crate::error::{Error, Result};

/// True if `left` is a strict descendant of `right` (`a/b` of `a`, not `ab` of `a`).
pub fn is_strict_subrole_of(left: &str, right: &str) -> bool {
    left.len() > right.len() && left.as_bytes()[right.len()] == b'/' && left.starts_with(right)
}

/// Ancestors of `role`, nearest first (`a/b/c` -> `a/b`, `a`).
pub fn ancestors(role: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for (i, b) in role.bytes().enumerate().rev() {
        if b == b'/' {
            out.push(&role[..i]);
        }
    }
    out
}

/// The top-level component of `role` (`a/b/c` -> `a`).
pub fn top_level(role: &str) -> &str {
    match role.find('/') {
        Some(i) => &role[..i],
        None => role,
    }
}

/// Validates a role name with the same rules as upstream `roles::validate`.
pub fn validate(role: &str) -> Result<()> {
    if role == "*" {
        return Ok(());
    }
    let err = |m: String| Err(Error::InvalidRole(m));
    if role.starts_with('/') {
        return err(format!("Role '{role}' cannot start with a slash"));
    }
    if role.ends_with('/') {
        return err(format!("Role '{role}' cannot end with a slash"));
    }
    if role.contains("//") {
        return err(format!("Role '{role}' cannot contain two adjacent slashes"));
    }
    if role.is_empty() {
        return err("Role names cannot be the empty string".into());
    }
    for c in role.split('/') {
        match c {
            "." => return err(format!("Role '{role}' cannot include '.' as a component")),
            ".." => return err(format!("Role '{role}' cannot include '..' as a component")),
            "*" => return err(format!("Role '{role}' cannot include '*' as a component")),
            _ => {}
        }
        if c.starts_with('-') {
            return err(format!(
                "Role component '{c}' is invalid because it starts with a dash"
            ));
        }
        if c.bytes().any(|b| matches!(b, 0x09..=0x0d | 0x20 | 0x7f)) {
            return err(format!(
                "Role component '{c}' is invalid because it contains backspace or whitespace"
            ));
        }
    }
    Ok(())
}

/// Parses a comma separated role list (`--roles`), validating each.
pub fn parse_list(text: &str) -> Result<Vec<String>> {
    let roles: Vec<String> = text
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    for r in &roles {
        validate(r)?;
    }
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subroles_and_ancestors() {
        assert!(is_strict_subrole_of("a/b", "a"));
        assert!(!is_strict_subrole_of("ab", "a"));
        assert!(!is_strict_subrole_of("a", "a"));
        assert_eq!(ancestors("a/b/c"), vec!["a/b", "a"]);
        assert_eq!(top_level("a/b/c"), "a");
    }

    #[test]
    fn validation_matches_upstream_rules() {
        for ok in ["*", "a", "a/b", "role-1", "a.b"] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "/a", "a/", "a//b", ".", "a/..", "a/*", "-a", "a b", "a/\x7f",
        ] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
    }
}
