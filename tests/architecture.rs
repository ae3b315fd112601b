//! The house rules of the code's shape, checked on the source itself: imports point one way, the
//! pure decision never reaches the SDK adapter, and no file or function grows past what a reader
//! can hold.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Modules that decide without talking to AWS.
const PURE: &[&str] = &[
    "canonical",
    "cloudtrail",
    "config_error",
    "coverage",
    "diff",
    "doctor",
    "event",
    "grants",
    "identity",
    "locate",
    "names",
    "policy",
    "rules",
    "settings",
    "validate",
];
const ADAPTER_SIDE: &[&str] = &[
    "access",
    "deployment",
    "ecr",
    "converge",
    "handler",
    "sweep",
    "commands",
    "cli",
    "reconcile",
];

fn sources() -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            out.insert(name, std::fs::read_to_string(&path).unwrap());
        }
    }
    out
}

/// The crate modules a module's code (not its comments) names.
fn imports(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (i, _) in line.match_indices("crate::") {
            let rest = &line[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if modules.contains(&name) {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn imports_point_one_way() {
    let sources = sources();
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    let graph: BTreeMap<&str, BTreeSet<String>> = sources
        .iter()
        .filter(|(m, _)| *m != "lib" && *m != "main")
        .map(|(m, text)| (m.as_str(), imports(text, &modules)))
        .collect();
    // Depth-first search for a cycle.
    fn visit<'a>(
        m: &'a str,
        graph: &'a BTreeMap<&str, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if done.contains(m) {
            return;
        }
        if let Some(i) = path.iter().position(|p| *p == m) {
            panic!("import circle: {}", path[i..].join(" -> ") + " -> " + m);
        }
        path.push(m);
        for next in graph.get(m).into_iter().flatten() {
            visit(next, graph, path, done);
        }
        path.pop();
        done.insert(m);
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        visit(m, &graph, &mut Vec::new(), &mut done);
    }
    for pure in PURE {
        let bad: Vec<_> = graph[pure]
            .iter()
            .filter(|i| ADAPTER_SIDE.contains(&i.as_str()))
            .collect();
        assert!(bad.is_empty(), "{pure} is pure but imports {bad:?}");
    }
}

#[test]
fn no_file_over_500_lines_and_no_function_over_80() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines.len() <= 500,
            "{} has {} lines",
            path.display(),
            lines.len()
        );
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let is_fn = [
                "fn ",
                "pub fn ",
                "pub(crate) fn ",
                "async fn ",
                "pub async fn ",
                "pub(crate) async fn ",
            ]
            .iter()
            .any(|p| trimmed.starts_with(p));
            if !is_fn
                || !line.trim_end().ends_with('{')
                    && !lines[i..]
                        .iter()
                        .take(12)
                        .any(|l| l.trim_end().ends_with('{'))
            {
                continue;
            }
            let indent = line.len() - trimmed.len();
            let close = format!("{}}}", " ".repeat(indent));
            let len = lines[i + 1..]
                .iter()
                .position(|l| l.trim_end() == close)
                .map(|p| p + 2)
                .unwrap_or(0);
            assert!(
                len <= 80,
                "{}:{} is a function of {len} lines",
                path.display(),
                i + 1
            );
        }
    }
}
