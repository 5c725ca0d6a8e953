//! Evaluation of IAM identity policies, for when `SimulatePrincipalPolicy` is not available
//! (the caller may not call it): which of a principal's policy documents allow, deny or say
//! nothing about one action on one resource. Pure: no I/O.
//!
//! What it understands: `Effect`, `Action` / `NotAction` (case-insensitive, `*` and `?`
//! wildcards), `Resource` / `NotResource` (case-sensitive wildcards), and `Condition` blocks
//! with the string and ARN operators (`StringEquals`, `StringNotEquals`,
//! `StringEqualsIgnoreCase`, `StringLike`, `StringNotLike`, `ArnEquals`, `ArnLike`,
//! `ArnNotEquals`, `ArnNotLike`, each also `...IfExists`). Anything else it cannot decide is
//! read conservatively: an `Allow` it cannot prove does not allow, a `Deny` it cannot rule out
//! denies. It does not see permission boundaries, session policies or SCPs (the simulation
//! does); an explicit deny wins over any allow, as in AWS's evaluation logic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The outcome for one action on one resource, named as `SimulatePrincipalPolicy` names it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// An `Allow` statement applies and no `Deny` does.
    Allowed,
    /// No statement applies.
    ImplicitDeny,
    /// A `Deny` statement applies.
    ExplicitDeny,
}

/// A policy document that is not JSON, or not a policy.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy document {name}: {reason}")]
pub struct PolicyDocumentError {
    /// The policy's name (or ARN).
    pub name: String,
    /// What is wrong.
    pub reason: String,
}

/// A principal's policy documents, parsed once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicySet {
    statements: Vec<Value>,
}

impl PolicySet {
    /// Parses `(name, document)` pairs; a document may be URL-encoded, as IAM returns them.
    ///
    /// # Errors
    /// [`PolicyDocumentError`] for a document that is not JSON or has no `Statement`.
    pub fn parse<'a>(documents: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, PolicyDocumentError> {
        let mut statements = Vec::new();
        for (name, doc) in documents {
            let decoded = url_decode(doc);
            let value: Value = serde_json::from_str(&decoded)
                .map_err(|e| PolicyDocumentError { name: name.to_owned(), reason: format!("not JSON: {e}") })?;
            match value.get("Statement") {
                Some(Value::Array(list)) => statements.extend(list.iter().cloned()),
                Some(one @ Value::Object(_)) => statements.push(one.clone()),
                _ => return Err(PolicyDocumentError { name: name.to_owned(), reason: "it has no Statement".to_owned() }),
            }
        }
        Ok(Self { statements })
    }

    /// The decision for `action` on `resource`, with the request's condition context
    /// (`iam:PassedToService` → `ecs-tasks.amazonaws.com`, ...; keys are case-insensitive).
    pub fn evaluate(&self, action: &str, resource: &str, context: &BTreeMap<String, String>) -> Decision {
        let context: BTreeMap<String, &str> = context.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.as_str())).collect();
        let mut allowed = false;
        for s in &self.statements {
            let deny = s.get("Effect").and_then(Value::as_str) == Some("Deny");
            let applies = element_matches(s, "Action", "NotAction", action, true).and_then(|a| {
                if !a {
                    return Some(false);
                }
                let r = element_matches(s, "Resource", "NotResource", resource, false)?;
                if !r {
                    return Some(false);
                }
                conditions_hold(s.get("Condition"), &context)
            });
            match (deny, applies) {
                // A Deny that applies, or that might (unknown), wins.
                (true, Some(true) | None) => return Decision::ExplicitDeny,
                (false, Some(true)) => allowed = true,
                _ => {}
            }
        }
        if allowed { Decision::Allowed } else { Decision::ImplicitDeny }
    }
}

/// Whether `value` matches the statement's `key` element (or is excluded by `not_key`);
/// `None` when the statement has neither (malformed for an identity policy).
fn element_matches(s: &Value, key: &str, not_key: &str, value: &str, ignore_case: bool) -> Option<bool> {
    let any = |patterns: &Value| strings(patterns).iter().any(|p| glob(p, value, ignore_case));
    match (s.get(key), s.get(not_key)) {
        (Some(p), _) => Some(any(p)),
        (None, Some(p)) => Some(!any(p)),
        (None, None) => None,
    }
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// `Some(true)` when every condition holds, `Some(false)` when one does not, `None` when one
/// cannot be decided here (an operator this module does not know).
fn conditions_hold(conditions: Option<&Value>, context: &BTreeMap<String, &str>) -> Option<bool> {
    let Some(Value::Object(ops)) = conditions else { return Some(true) };
    let mut undecided = false;
    for (op, keys) in ops {
        let Value::Object(keys) = keys else { return Some(false) };
        for (key, expected) in keys {
            match condition_holds(op, context.get(&key.to_ascii_lowercase()).copied(), &strings(expected)) {
                Some(true) => {}
                Some(false) => return Some(false),
                None => undecided = true,
            }
        }
    }
    if undecided { None } else { Some(true) }
}

fn condition_holds(op: &str, actual: Option<&str>, expected: &[&str]) -> Option<bool> {
    let (op, if_exists) = op.strip_suffix("IfExists").map_or((op, false), |o| (o, true));
    const KNOWN: [&str; 10] = [
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "ArnEquals",
        "ArnNotEquals",
        "ArnLike",
        "ArnNotLike",
    ];
    if !KNOWN.contains(&op) {
        return None;
    }
    let Some(actual) = actual else {
        // A key missing from the request: `...IfExists` holds, a negated operator holds, a
        // positive one does not (IAM's condition operator rules).
        return Some(if_exists || op.contains("Not"));
    };
    let any = |f: &dyn Fn(&str) -> bool| expected.iter().any(|e| f(e));
    let result = match op {
        "StringEquals" | "ArnEquals" => any(&|e| e == actual),
        "StringNotEquals" | "ArnNotEquals" => !any(&|e| e == actual),
        "StringEqualsIgnoreCase" => any(&|e| e.eq_ignore_ascii_case(actual)),
        "StringNotEqualsIgnoreCase" => !any(&|e| e.eq_ignore_ascii_case(actual)),
        "StringLike" | "ArnLike" => any(&|e| glob(e, actual, false)),
        "StringNotLike" | "ArnNotLike" => !any(&|e| glob(e, actual, false)),
        _ => return None,
    };
    Some(result)
}

/// IAM's wildcard match: `*` any run of characters, `?` one character.
pub fn glob(pattern: &str, value: &str, ignore_case: bool) -> bool {
    let eq = |a: char, b: char| if ignore_case { a.eq_ignore_ascii_case(&b) } else { a == b };
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    // Iterative matcher with one backtrack point for the last `*`.
    let (mut pi, mut vi, mut star, mut mark) = (0, 0, None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && eq(p[pi], v[vi]))) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Decodes the `%XX` escapes of a URL-encoded policy document (IAM returns them so); a
/// document that is already JSON (starts with `{`) is returned as it is.
pub fn url_decode(s: &str) -> String {
    if s.trim_start().starts_with('{') || !s.contains('%') {
        return s.to_owned();
    }
    percent_decode(s)
}

/// `%XX` escapes decoded (IAM URL-encodes policy documents); anything else kept as it is.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(docs: &[&str]) -> PolicySet {
        PolicySet::parse(docs.iter().map(|d| ("p", *d))).unwrap()
    }

    fn none() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    const APP: &str = "arn:aws:codedeploy:us-east-1:123456789012:application:prod-web";

    #[test]
    fn an_allow_on_the_exact_resource_allows() {
        let p = set(&[r#"{"Statement":[{"Effect":"Allow","Action":"codedeploy:GetApplication","Resource":"arn:aws:codedeploy:us-east-1:123456789012:application:prod-web"}]}"#]);
        assert_eq!(p.evaluate("codedeploy:GetApplication", APP, &none()), Decision::Allowed);
        assert_eq!(p.evaluate("codedeploy:GetApplicationRevision", APP, &none()), Decision::ImplicitDeny);
        assert_eq!(p.evaluate("codedeploy:GetApplication", &APP.replace("prod-web", "other"), &none()), Decision::ImplicitDeny);
    }

    #[test]
    fn wildcards_match_actions_without_case_and_resources_with_it() {
        let p = set(&[r#"{"Statement":{"Effect":"Allow","Action":["CodeDeploy:Get*"],"Resource":"arn:aws:codedeploy:*:123456789012:application:prod-???"}}"#]);
        assert_eq!(p.evaluate("codedeploy:GetApplication", APP, &none()), Decision::Allowed);
        assert_eq!(p.evaluate("codedeploy:CreateDeployment", APP, &none()), Decision::ImplicitDeny);
        assert_eq!(p.evaluate("codedeploy:GetApplication", &APP.replace("prod-web", "PROD-web"), &none()), Decision::ImplicitDeny);
        assert_eq!(p.evaluate("codedeploy:GetApplication", &APP.replace("prod-web", "prod-webx"), &none()), Decision::ImplicitDeny);
        assert!(set(&[r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#]).evaluate("ecs:RegisterTaskDefinition", "x", &none()) == Decision::Allowed);
    }

    #[test]
    fn an_explicit_deny_wins_over_any_allow() {
        let p = set(&[
            r#"{"Statement":[{"Effect":"Allow","Action":"codedeploy:*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Deny","Action":"codedeploy:CreateDeployment","Resource":"*"}]}"#,
        ]);
        assert_eq!(p.evaluate("codedeploy:CreateDeployment", APP, &none()), Decision::ExplicitDeny);
        assert_eq!(p.evaluate("codedeploy:GetDeployment", APP, &none()), Decision::Allowed);
    }

    #[test]
    fn not_action_and_not_resource_exclude() {
        let p = set(&[r#"{"Statement":[{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:codedeploy:*:*:application:secret"}]}"#]);
        assert_eq!(p.evaluate("codedeploy:GetApplication", APP, &none()), Decision::Allowed);
        assert_eq!(p.evaluate("iam:PassRole", APP, &none()), Decision::ImplicitDeny);
        assert_eq!(p.evaluate("codedeploy:GetApplication", "arn:aws:codedeploy:us-east-1:1:application:secret", &none()), Decision::ImplicitDeny);
    }

    #[test]
    fn pass_role_conditions_need_the_service_in_the_context() {
        let p = set(&[r#"{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::123456789012:role/web-*",
            "Condition":{"StringEquals":{"iam:PassedToService":"ecs-tasks.amazonaws.com"}}}]}"#]);
        let ecs: BTreeMap<String, String> = [("iam:PassedToService".to_owned(), "ecs-tasks.amazonaws.com".to_owned())].into();
        let lambda: BTreeMap<String, String> = [("IAM:passedtoservice".to_owned(), "lambda.amazonaws.com".to_owned())].into();
        let role = "arn:aws:iam::123456789012:role/web-task-role";
        assert_eq!(p.evaluate("iam:PassRole", role, &ecs), Decision::Allowed);
        assert_eq!(p.evaluate("iam:PassRole", role, &lambda), Decision::ImplicitDeny);
        assert_eq!(p.evaluate("iam:PassRole", role, &none()), Decision::ImplicitDeny, "a missing key fails a positive operator");
        let like = set(&[r#"{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringLike":{"iam:PassedToService":"ecs-*"}}}]}"#]);
        assert_eq!(like.evaluate("iam:PassRole", role, &ecs), Decision::Allowed);
        let if_exists = set(&[r#"{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEqualsIfExists":{"iam:PassedToService":"x"}}}]}"#]);
        assert_eq!(if_exists.evaluate("iam:PassRole", role, &none()), Decision::Allowed);
    }

    #[test]
    fn an_operator_it_cannot_decide_never_allows_and_always_denies() {
        let allow = set(&[r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#]);
        assert_eq!(allow.evaluate("codedeploy:GetApplication", APP, &none()), Decision::ImplicitDeny);
        let deny = set(&[
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}}]}"#,
        ]);
        assert_eq!(deny.evaluate("codedeploy:GetApplication", APP, &none()), Decision::ExplicitDeny);
    }

    #[test]
    fn url_encoded_documents_are_read_and_bad_ones_refused() {
        let encoded = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22ecs%3A%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
        assert_eq!(set(&[encoded]).evaluate("ecs:RegisterTaskDefinition", "x", &none()), Decision::Allowed);
        assert!(PolicySet::parse([("bad", "{not json")]).is_err());
        assert!(PolicySet::parse([("empty", "{}")]).unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn glob_backtracks() {
        assert!(glob("a*b*c", "aXbYbZc", false));
        assert!(!glob("a*b*c", "aXbYbZ", false));
        assert!(glob("*", "", false));
        assert!(glob("task-definition/web:*", "task-definition/web:*", false));
        assert!(!glob("task-definition/web:1", "task-definition/web:*", false));
    }
}
