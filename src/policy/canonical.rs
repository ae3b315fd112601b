//! The semantic form of a policy statement: the ways ECR and people write the same grant compare
//! equal (a string or a one-element list, any order of actions, principals and condition values,
//! `"*"` or `{"AWS": "*"}`, action names in any case).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The canonical form of one statement.
pub(crate) fn canonical(v: &Value) -> Value {
    let Value::Object(map) = v else {
        return v.clone();
    };
    let out: Map<String, Value> = map
        .iter()
        .map(|(key, value)| {
            let value = match key.as_str() {
                "Action" | "NotAction" => actions(value),
                "Principal" | "NotPrincipal" => principal(value),
                "Condition" => condition(value),
                _ => value.clone(),
            };
            (key.clone(), value)
        })
        .collect();
    sort_keys(Value::Object(out))
}

fn actions(value: &Value) -> Value {
    sorted(
        string_list(value)
            .into_iter()
            .map(|a| a.to_ascii_lowercase())
            .collect(),
    )
}

fn principal(value: &Value) -> Value {
    match value {
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
    }
}

fn condition(value: &Value) -> Value {
    let Value::Object(ops) = value else {
        return value.clone();
    };
    Value::Object(
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
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_shape_order_and_action_case_do_not_matter() {
        let a = json!({"Sid":"s","Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage",
            "Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}});
        let b = json!({"Condition":{"StringEquals":{"aws:PrincipalOrgID":["o-1"]}},
            "Action":["ECR:batchgetimage"],"Principal":{"AWS":["*"]},"Effect":"Allow","Sid":"s"});
        assert_eq!(canonical(&a), canonical(&b));
    }

    #[test]
    fn a_different_effect_is_a_different_statement() {
        let a = json!({"Effect":"Allow","Action":"ecr:ListImages"});
        let b = json!({"Effect":"Deny","Action":"ecr:ListImages"});
        assert_ne!(canonical(&a), canonical(&b));
    }
}
