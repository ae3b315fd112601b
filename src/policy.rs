//! Merging the desired statements into a repository's current policy.
//!
//! `SetRepositoryPolicy` replaces the whole document, so the merge must carry every statement it
//! does not own across unchanged. Foreign statements are kept as the raw JSON text they arrived
//! in (never parsed and re-serialized), which is the only way to be sure that nothing in them
//! (key order, number formatting, escapes) changes.

use std::collections::BTreeMap;

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::rules::SID_PREFIX;

/// ECR refuses larger policies.
pub const MAX_POLICY_CHARS: usize = 10_240;

/// The `Version` of a policy we create from nothing.
pub const DEFAULT_VERSION: &str = "2012-10-17";

/// A statement the remediator owns. Always `Allow`; never has `Resource` (ECR rejects it in a
/// repository policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: String,
    pub principal: Principal,
    pub actions: Vec<String>,
    /// `(operator, key, values)`, e.g. `("StringEquals", "aws:PrincipalOrgID", ["o-..."])`.
    pub condition: Option<(&'static str, &'static str, Vec<String>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// `"*"`, only ever written together with an organization condition.
    Any,
    /// `{"AWS": [...]}`: account roots and IAM ARNs.
    Aws(Vec<String>),
}

impl Serialize for Principal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Principal::Any => s.serialize_str("*"),
            Principal::Aws(arns) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("AWS", arns)?;
                m.end()
            }
        }
    }
}

impl Serialize for Statement {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Condition<'a>(&'a (&'static str, &'static str, Vec<String>));
        impl Serialize for Condition<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let (op, key, values) = self.0;
                let inner: BTreeMap<&str, &Vec<String>> = [(*key, values)].into();
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(op, &inner)?;
                m.end()
            }
        }
        let mut st = s.serialize_struct("Statement", 5)?;
        st.serialize_field("Sid", &self.sid)?;
        st.serialize_field("Effect", "Allow")?;
        st.serialize_field("Principal", &self.principal)?;
        st.serialize_field("Action", &self.actions)?;
        if let Some(c) = &self.condition {
            st.serialize_field("Condition", &Condition(c))?;
        }
        st.end()
    }
}

impl Statement {
    fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Why a policy cannot be written. The repository keeps what it had in every case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the current repository policy cannot be parsed ({0}); refusing to overwrite it")]
    Unparseable(String),
    #[error("the merged policy would be {chars} characters, over ECR's limit of {MAX_POLICY_CHARS}; the policy was left as it is")]
    TooLarge { chars: usize },
    #[error("statement {sid:?} contains a {element} element, which ECR rejects in a repository policy; refusing to write")]
    ResourceElement { sid: String, element: &'static str },
    #[error("the merged policy would have no statement left")]
    Empty,
}

/// What to do with a repository's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The policy already grants exactly what the rules say.
    Unchanged,
    /// Write this policy text.
    Write(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document<'a> {
    #[serde(rename = "Version")]
    version: Option<String>,
    #[serde(rename = "Id")]
    id: Option<String>,
    #[serde(rename = "Statement", borrow)]
    statement: Option<&'a RawValue>,
}

/// One statement of the current policy: its raw text, and its parsed form for inspection.
struct Existing<'a> {
    raw: &'a RawValue,
    value: Value,
}

impl Existing<'_> {
    fn sid(&self) -> Option<&str> {
        self.value.get("Sid").and_then(Value::as_str)
    }
    fn is_owned(&self) -> bool {
        self.sid().is_some_and(|s| s.starts_with(SID_PREFIX))
    }
}

/// Compares `current` (`None`: the repository has no policy) with the statements the rules want,
/// and says whether to write, and what.
///
/// Statements whose `Sid` starts with [`SID_PREFIX`] are ours: they are replaced by `desired`.
/// Every other statement is kept verbatim and in place; ours follow them, sorted by `Sid`.
pub fn plan(current: Option<&str>, desired: &[Statement]) -> Result<Plan, PolicyError> {
    let (version, id, existing) = match current {
        Some(text) => parse(text)?,
        None => (None, None, Vec::new()),
    };
    let (owned, foreign): (Vec<_>, Vec<_>) = existing.into_iter().partition(Existing::is_owned);

    let mut have: Vec<Value> = owned.iter().map(|s| canonical(&s.value)).collect();
    let mut want: Vec<Value> = desired.iter().map(|s| canonical(&s.to_value())).collect();
    have.sort_by_key(Value::to_string);
    want.sort_by_key(Value::to_string);
    if current.is_some() && have == want {
        return Ok(Plan::Unchanged);
    }

    if foreign.is_empty() && desired.is_empty() {
        return Err(PolicyError::Empty);
    }
    for s in &foreign {
        for element in ["Resource", "NotResource"] {
            if s.value.get(element).is_some() {
                return Err(PolicyError::ResourceElement {
                    sid: s.sid().unwrap_or("(no Sid)").to_string(),
                    element,
                });
            }
        }
    }

    let mut statements: Vec<String> = foreign.iter().map(|s| s.raw.get().to_string()).collect();
    let mut ours = desired.to_vec();
    ours.sort_by(|a, b| a.sid.cmp(&b.sid));
    statements.extend(
        ours.iter()
            .map(|s| serde_json::to_string(s).unwrap_or_default()),
    );
    let version = version.unwrap_or_else(|| DEFAULT_VERSION.to_string());
    let mut text = format!("{{\"Version\":{}", json_string(&version));
    if let Some(id) = id {
        text.push_str(&format!(",\"Id\":{}", json_string(&id)));
    }
    text.push_str(",\"Statement\":[");
    text.push_str(&statements.join(","));
    text.push_str("]}");

    let chars = text.chars().count();
    if chars > MAX_POLICY_CHARS {
        return Err(PolicyError::TooLarge { chars });
    }
    Ok(Plan::Write(text))
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

type Parsed<'a> = (Option<String>, Option<String>, Vec<Existing<'a>>);

fn parse(text: &str) -> Result<Parsed<'_>, PolicyError> {
    let unparseable = |m: String| PolicyError::Unparseable(m);
    let doc: Document = serde_json::from_str(text).map_err(|e| unparseable(e.to_string()))?;
    let raw = doc
        .statement
        .ok_or_else(|| unparseable("it has no Statement".into()))?;
    // A single statement object is as valid as an array of them.
    let raws: Vec<&RawValue> = if raw.get().trim_start().starts_with('[') {
        serde_json::from_str(raw.get()).map_err(|e| unparseable(e.to_string()))?
    } else {
        vec![raw]
    };
    let mut out = Vec::with_capacity(raws.len());
    for (i, raw) in raws.into_iter().enumerate() {
        let value: Value =
            serde_json::from_str(raw.get()).map_err(|e| unparseable(e.to_string()))?;
        if !value.is_object() {
            return Err(unparseable(format!("Statement[{i}] is not an object")));
        }
        out.push(Existing { raw, value });
    }
    Ok((doc.version, doc.id, out))
}

/// A form of a statement in which the ways ECR and people may write the same grant compare
/// equal: a string or a one-element list, any order of actions, principals and condition values,
/// `"*"` or `{"AWS": "*"}`, action names in any case.
fn canonical(v: &Value) -> Value {
    let Value::Object(map) = v else {
        return v.clone();
    };
    let mut out = serde_json::Map::new();
    for (key, value) in map {
        let value = match key.as_str() {
            "Action" | "NotAction" => {
                let mut list = string_list(value);
                for a in &mut list {
                    *a = a.to_ascii_lowercase();
                }
                sorted(list)
            }
            "Principal" | "NotPrincipal" => match value {
                Value::String(s) if s == "*" => Value::Object(
                    [("AWS".to_string(), sorted(vec!["*".into()]))]
                        .into_iter()
                        .collect(),
                ),
                Value::Object(types) => Value::Object(
                    types
                        .iter()
                        .map(|(t, ids)| (t.clone(), sorted(string_list(ids))))
                        .collect(),
                ),
                other => other.clone(),
            },
            "Condition" => match value {
                Value::Object(ops) => Value::Object(
                    ops.iter()
                        .map(|(op, keys)| {
                            let keys = match keys {
                                Value::Object(k) => Value::Object(
                                    k.iter()
                                        .map(|(k, vals)| (k.clone(), sorted(string_list(vals))))
                                        .collect(),
                                ),
                                other => other.clone(),
                            };
                            (op.clone(), keys)
                        })
                        .collect(),
                ),
                other => other.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    sort_keys(Value::Object(out))
}

/// Rebuilds objects with their keys in sorted order, so that the text of a canonical value does
/// not depend on whether serde_json preserves insertion order (a feature any dependency may turn
/// on).
fn sort_keys(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let sorted: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, sort_keys(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

fn string_list(v: &Value) -> Vec<String> {
    let scalar = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match v {
        Value::Array(items) => items.iter().map(scalar).collect(),
        other => vec![scalar(other)],
    }
}

fn sorted(mut list: Vec<String>) -> Value {
    list.sort();
    list.dedup();
    Value::Array(list.into_iter().map(Value::String).collect())
}

/// Pretty-prints a policy for people; text that is not JSON is shown as it is.
pub fn pretty(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(name: &str, arns: &[&str]) -> Statement {
        Statement {
            sid: format!("{SID_PREFIX}{name}-Principals"),
            principal: Principal::Aws(arns.iter().map(|s| s.to_string()).collect()),
            actions: vec![
                "ecr:BatchGetImage".into(),
                "ecr:GetDownloadUrlForLayer".into(),
            ],
            condition: None,
        }
    }

    fn org(name: &str) -> Statement {
        Statement {
            sid: format!("{SID_PREFIX}{name}-Org"),
            principal: Principal::Any,
            actions: vec!["ecr:BatchGetImage".into()],
            condition: Some((
                "StringEquals",
                "aws:PrincipalOrgID",
                vec!["o-a1b2c3d4e5".into()],
            )),
        }
    }

    fn write(plan: Result<Plan, PolicyError>) -> String {
        match plan {
            Ok(Plan::Write(text)) => text,
            other => panic!("expected a write, got {other:?}"),
        }
    }

    fn statements(text: &str) -> Vec<Value> {
        let v: Value = serde_json::from_str(text).unwrap();
        v["Statement"].as_array().unwrap().clone()
    }

    const ROOT: &str = "arn:aws:iam::222222222222:root";

    #[test]
    fn no_policy_yields_a_fresh_document() {
        let text = write(plan(None, &[ours("k8s", &[ROOT])]));
        assert_eq!(
            text,
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"EcrPolicyRemediator-k8s-Principals","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:root"]},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}"#
        );
    }

    #[test]
    fn organization_statement_uses_star_and_a_condition() {
        let text = write(plan(None, &[org("k8s")]));
        let s = &statements(&text)[0];
        assert_eq!(s["Principal"], "*");
        assert_eq!(
            s["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
            serde_json::json!(["o-a1b2c3d4e5"])
        );
    }

    #[test]
    fn foreign_statements_are_kept_byte_for_byte_and_in_order() {
        let foreign_a = "{\n    \"Sid\" : \"allow public pull\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : \"*\",\n    \"Action\" : [ \"ecr:BatchGetImage\" ],\n    \"Condition\" : { \"NumericLessThan\" : { \"aws:MultiFactorAuthAge\" : 3600.50 } }\n  }";
        let foreign_b = r#"{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"ecr:*","Sid":"b\u00e9"}"#;
        let current = format!(
            "{{\n  \"Version\" : \"2008-10-17\",\n  \"Statement\" : [ {foreign_a}, {{\"Sid\":\"{SID_PREFIX}old-Principals\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"ecr:*\"}}, {foreign_b} ]\n}}"
        );
        let text = write(plan(Some(&current), &[ours("k8s", &[ROOT])]));
        assert!(text.starts_with(r#"{"Version":"2008-10-17","Statement":["#));
        let a = text
            .find(foreign_a)
            .expect("first foreign statement verbatim");
        let b = text
            .find(foreign_b)
            .expect("second foreign statement verbatim");
        assert!(a < b);
        assert!(
            !text.contains("old-Principals"),
            "stale owned statement removed"
        );
        let list = statements(&text);
        assert_eq!(list.len(), 3);
        assert_eq!(list[2]["Sid"], "EcrPolicyRemediator-k8s-Principals");
    }

    #[test]
    fn owned_statements_are_replaced() {
        let current = write(plan(None, &[ours("k8s", &[ROOT])]));
        let desired = [ours("k8s", &[ROOT, "arn:aws:iam::333333333333:root"])];
        let text = write(plan(Some(&current), &desired));
        let list = statements(&text);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["Principal"]["AWS"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn id_is_kept() {
        let current = r#"{"Version":"2012-10-17","Id":"my-policy","Statement":[]}"#;
        let text = write(plan(Some(current), &[ours("k8s", &[ROOT])]));
        assert!(text.starts_with(r#"{"Version":"2012-10-17","Id":"my-policy","#));
    }

    #[test]
    fn a_single_statement_object_is_a_valid_policy() {
        let current = r#"{"Version":"2012-10-17","Statement":{"Sid":"Theirs","Effect":"Allow","Principal":"*","Action":"ecr:ListImages"}}"#;
        let text = write(plan(Some(current), &[ours("k8s", &[ROOT])]));
        let list = statements(&text);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["Sid"], "Theirs");
        let owned_single = format!(
            r#"{{"Version":"2012-10-17","Statement":{}}}"#,
            serde_json::to_string(&ours("k8s", &[ROOT])).unwrap()
        );
        assert_eq!(
            plan(Some(&owned_single), &[ours("k8s", &[ROOT])]),
            Ok(Plan::Unchanged)
        );
    }

    #[test]
    fn semantic_equality_ignores_order_case_and_list_shape() {
        let current = format!(
            r#"{{"Version":"2012-10-17","Statement":[
              {{"Action":["ecr:getdownloadurlforlayer","ecr:BatchGetImage"],"Principal":{{"AWS":"{ROOT}"}},"Effect":"Allow","Sid":"{SID_PREFIX}k8s-Principals"}},
              {{"Sid":"{SID_PREFIX}k8s-Org","Effect":"Allow","Principal":{{"AWS":"*"}},"Action":"ecr:BatchGetImage",
                "Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}}}}]}}"#
        );
        assert_eq!(
            plan(Some(&current), &[org("k8s"), ours("k8s", &[ROOT])]),
            Ok(Plan::Unchanged)
        );
    }

    #[test]
    fn a_different_effect_or_extra_action_is_not_equal() {
        let mut s = serde_json::to_value(ours("k8s", &[ROOT])).unwrap();
        s["Effect"] = "Deny".into();
        let current = format!(r#"{{"Version":"2012-10-17","Statement":[{s}]}}"#);
        assert!(matches!(
            plan(Some(&current), &[ours("k8s", &[ROOT])]),
            Ok(Plan::Write(_))
        ));
        let mut s = serde_json::to_value(ours("k8s", &[ROOT])).unwrap();
        s["Action"]
            .as_array_mut()
            .unwrap()
            .push("ecr:PutImage".into());
        let current = format!(r#"{{"Version":"2012-10-17","Statement":[{s}]}}"#);
        assert!(matches!(
            plan(Some(&current), &[ours("k8s", &[ROOT])]),
            Ok(Plan::Write(_))
        ));
    }

    #[test]
    fn our_own_output_is_unchanged_on_the_next_pass() {
        let desired = [ours("a", &[ROOT]), org("b")];
        let first = write(plan(
            Some(
                r#"{"Version":"2012-10-17","Statement":[{"Sid":"x","Effect":"Allow","Principal":"*","Action":"ecr:ListImages"}]}"#,
            ),
            &desired,
        ));
        assert_eq!(plan(Some(&first), &desired), Ok(Plan::Unchanged));
        let pretty_printed = pretty(&first);
        assert_eq!(plan(Some(&pretty_printed), &desired), Ok(Plan::Unchanged));
    }

    #[test]
    fn unparseable_policies_are_never_overwritten() {
        for bad in [
            "",
            "not json",
            "{\"Version\":\"2012-10-17\",\"Statement\":[",
            "[]",
            "{\"Version\":\"2012-10-17\"}",
            "{\"Version\":\"2012-10-17\",\"Statement\":[1]}",
            "{\"Version\":\"2012-10-17\",\"Statement\":\"x\"}",
            "{\"Version\":\"2012-10-17\",\"Statement\":[],\"Extra\":1}",
            "{\"Version\":\"2012-10-17\",\"Version\":\"2008-10-17\",\"Statement\":[]}",
        ] {
            assert!(
                matches!(
                    plan(Some(bad), &[ours("k8s", &[ROOT])]),
                    Err(PolicyError::Unparseable(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_size_guard_refuses_policies_over_the_limit() {
        let big_sid = "x".repeat(MAX_POLICY_CHARS);
        let current = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{big_sid}","Effect":"Allow","Principal":"*","Action":"ecr:ListImages"}}]}}"#
        );
        match plan(Some(&current), &[ours("k8s", &[ROOT])]) {
            Err(PolicyError::TooLarge { chars }) => assert!(chars > MAX_POLICY_CHARS),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_size_guard_counts_characters_not_bytes() {
        // 3,500 three-byte characters: 10,500 bytes but well under the character limit.
        let sid = "\u{20AC}".repeat(3_500);
        let current = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{sid}","Effect":"Allow","Principal":"*","Action":"ecr:ListImages"}}]}}"#
        );
        let text = write(plan(Some(&current), &[ours("k8s", &[ROOT])]));
        assert!(text.len() > MAX_POLICY_CHARS && text.chars().count() <= MAX_POLICY_CHARS);
    }

    #[test]
    fn a_resource_element_is_never_written() {
        let current = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Bad","Effect":"Allow","Principal":"*","Action":"ecr:ListImages","Resource":"*"}]}"#;
        assert_eq!(
            plan(Some(current), &[ours("k8s", &[ROOT])]),
            Err(PolicyError::ResourceElement {
                sid: "Bad".into(),
                element: "Resource"
            })
        );
    }

    #[test]
    fn an_owned_statement_no_rule_wants_is_removed_even_if_all_else_is_right() {
        let desired = [ours("a", &[ROOT])];
        let current = write(plan(None, &[ours("a", &[ROOT]), ours("gone", &[ROOT])]));
        let text = write(plan(Some(&current), &desired));
        assert_eq!(statements(&text).len(), 1);
    }

    #[test]
    fn nothing_left_is_an_error_not_an_empty_write() {
        assert_eq!(
            plan(Some(&write(plan(None, &[org("a")]))), &[]),
            Err(PolicyError::Empty)
        );
    }
}
