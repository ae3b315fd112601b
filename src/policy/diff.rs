//! A policy's statements by name, and which of them a change added, removed or changed: the
//! audit line's view of a change. The command line prints the same statements as a diff.

use serde_json::Value;

use crate::policy::Change;

/// A policy's `Version`, and its statements by name (`Sid`, or `#N` for one without), in
/// document order.
pub(crate) type Named = (Option<Value>, Vec<(String, Value)>);

/// The statements of a policy; `None` when the text is not a policy document.
pub fn named_statements(text: &str) -> Option<Named> {
    let doc: Value = serde_json::from_str(text).ok()?;
    let list = match doc.get("Statement")? {
        Value::Array(list) => list.clone(),
        one @ Value::Object(_) => vec![one.clone()],
        _ => return None,
    };
    let named = list
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let name = s
                .get("Sid")
                .and_then(Value::as_str)
                .map_or_else(|| format!("#{}", i + 1), str::to_string);
            (name, s)
        })
        .collect();
    Some((doc.get("Version").cloned(), named))
}

/// The Sids added, removed and changed between two policy texts (`None`: no policy): the audit
/// line of a document whose change was not planned statement by statement (a template).
pub(crate) fn sid_changes(before: Option<&str>, after: Option<&str>) -> Change {
    let parse = |t: Option<&str>| {
        t.and_then(named_statements)
            .map(|(_, s)| s)
            .unwrap_or_default()
    };
    let (old, new) = (parse(before), parse(after));
    let find = |list: &[(String, Value)], name: &str| {
        list.iter().find(|(n, _)| n == name).map(|(_, s)| s.clone())
    };
    let mut change = Change::default();
    for (name, statement) in &new {
        match find(&old, name) {
            None => change.added.push(name.clone()),
            Some(previous) if previous != *statement => change.changed.push(name.clone()),
            Some(_) => {}
        }
    }
    change.removed = old
        .iter()
        .filter(|(n, _)| find(&new, n).is_none())
        .map(|(n, _)| n.clone())
        .collect();
    change
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"Keep","Effect":"Allow","Principal":"*","Action":"ecr:ListImages"},
        {"Sid":"Narrow","Effect":"Allow","Principal":{"AWS":["a","b"]},"Action":"ecr:BatchGetImage"},
        {"Sid":"Gone","Effect":"Allow","Principal":"*","Action":"ecr:DescribeImages"}]}"#;
    const AFTER: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"Keep","Effect":"Allow","Principal":"*","Action":"ecr:ListImages"},
        {"Sid":"Narrow","Effect":"Allow","Principal":{"AWS":["a"]},"Action":"ecr:BatchGetImage"},
        {"Sid":"New","Effect":"Allow","Principal":"*","Action":"ecr:PutImage"}]}"#;

    #[test]
    fn sid_changes_name_what_came_went_and_changed() {
        let c = sid_changes(Some(BEFORE), Some(AFTER));
        assert_eq!(
            (c.added, c.removed, c.changed),
            (
                vec!["New".to_string()],
                vec!["Gone".to_string()],
                vec!["Narrow".to_string()]
            )
        );
        assert_eq!(sid_changes(Some(BEFORE), None).removed.len(), 3);
    }
}
