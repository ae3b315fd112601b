//! The house rules of the code's shape, checked on the source itself. A file is classified by the
//! folder it sits in, so a new file is checked without editing this test:
//!
//! - `config/`, `event/`, `names/`, `policy/`, `desired/` are pure: they decide without talking to
//!   AWS, and never import the adapter, the engine, the command line or an SDK;
//! - `ecr/` is the adapter: every ECR call, never the engine or the command line;
//! - `engine/` drives the adapter and never the command line;
//! - `cli/` (with `main.rs`) is the command line, a binary of its own; `bin/lambda.rs` the Lambda.
//!
//! Folders import one another in one direction only, the library never links what only the
//! command line needs, and no file or function grows past what a reader can hold.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const PURE: &[&str] = &["config", "event", "names", "policy", "desired"];
const ADAPTER: &str = "ecr";
const ENGINE: &str = "engine";
const CLI: &str = "cli";
/// Crates that talk to AWS or to a runtime: pure code names none of them.
const SDK: &[&str] = &[
    "aws_sdk_",
    "aws_config",
    "aws_smithy",
    "lambda_runtime",
    "tokio::",
];
/// What only the command line may link: the Lambda's bootstrap must not carry them.
const CLI_ONLY: &[&str] = &[
    "clap::",
    "indicatif",
    "aws_sdk_cloudtrail",
    "aws_sdk_eventbridge",
    "aws_sdk_lambda",
    "similar::",
];
const MAX_FILE_LINES: usize = 400;
const MAX_FUNCTION_LINES: usize = 60;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/`, by its path relative to `src/`.
fn sources() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src()).unwrap().to_string_lossy();
                out.insert(
                    rel.replace('\\', "/"),
                    std::fs::read_to_string(&path).unwrap(),
                );
            }
        }
    }
    out
}

/// The folder a file belongs to: its first path component, `main.rs` with the command line, and
/// `lib.rs` as the crate root.
fn folder(path: &str) -> &str {
    match path.split_once('/') {
        Some((dir, _)) => dir,
        None if path == "main.rs" => CLI,
        None => path.trim_end_matches(".rs"),
    }
}

/// Lines of code, without comments (doc comments name modules freely).
fn code(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .take_while(|l| !l.starts_with("#[cfg(test)]"))
}

/// The folders a file's code names through `crate::` (or, in the binaries, through the library).
fn imports(path: &str, text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let prefixes: &[&str] = if folder(path) == CLI || path.starts_with("bin/") {
        &["ecr_policy_remediator::", "crate::"]
    } else {
        &["crate::"]
    };
    for line in code(text) {
        for prefix in prefixes {
            for (i, _) in line.match_indices(prefix) {
                let rest = &line[i + prefix.len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !name.is_empty() && name != folder(path) {
                    out.insert(name);
                }
            }
        }
    }
    out
}

fn names(text: &str, crates: &[&str]) -> Vec<String> {
    let mut found = BTreeSet::new();
    for line in code(text) {
        for c in crates {
            if line.contains(c) {
                found.insert(c.to_string());
            }
        }
    }
    found.into_iter().collect()
}

#[test]
fn pure_folders_never_reach_the_adapter_the_engine_the_cli_or_an_sdk() {
    let mut wrong = Vec::new();
    for (path, text) in sources() {
        if !PURE.contains(&folder(&path)) {
            continue;
        }
        let bad: Vec<_> = imports(&path, &text)
            .into_iter()
            .filter(|i| [ADAPTER, ENGINE, CLI].contains(&i.as_str()))
            .collect();
        if !bad.is_empty() {
            wrong.push(format!("{path} is pure but imports {bad:?}"));
        }
        let sdk = names(&text, SDK);
        if !sdk.is_empty() {
            wrong.push(format!("{path} is pure but names {sdk:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_adapter_never_imports_the_engine_and_the_library_never_the_cli() {
    let mut wrong = Vec::new();
    for (path, text) in sources() {
        let f = folder(&path);
        let imported = imports(&path, &text);
        if f == ADAPTER && imported.contains(ENGINE) {
            wrong.push(format!("{path} imports the engine"));
        }
        if f != CLI && imported.contains(CLI) {
            wrong.push(format!("{path} imports the command line"));
        }
        let linked = names(&text, CLI_ONLY);
        if f != CLI && !linked.is_empty() {
            wrong.push(format!("{path} links {linked:?}, which only the CLI may"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_cycle_is_found_by_the_folder_check() {
    let graph = BTreeMap::from([
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["a".to_string()])),
    ]);
    assert!(cycle(&graph).is_some());
    let graph = BTreeMap::from([("a".to_string(), BTreeSet::from(["b".to_string()]))]);
    assert!(cycle(&graph).is_none());
}

fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<String> {
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<String> {
        if done.contains(m) {
            return None;
        }
        if let Some(i) = path.iter().position(|p| p == m) {
            return Some(path[i..].join(" -> ") + " -> " + m);
        }
        path.push(m.to_string());
        for next in graph.get(m).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|m| visit(m, graph, &mut Vec::new(), &mut done))
}

#[test]
fn folders_import_one_another_in_one_direction() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in sources() {
        let f = folder(&path);
        if f == "lib" || f == "bin" {
            continue;
        }
        let known = |i: &String| i != "lib";
        let edges = imports(&path, &text).into_iter().filter(known);
        graph.entry(f.to_string()).or_default().extend(edges);
    }
    assert!(graph.contains_key(ENGINE) && graph.contains_key("policy"));
    if let Some(found) = cycle(&graph) {
        panic!("import circle between folders: {found}");
    }
}

/// The length of the function starting on line `i`, or `None` if it is not a function's start.
fn function_length(lines: &[&str], i: usize) -> Option<usize> {
    let line = lines[i];
    let trimmed = line.trim_start();
    let head = trimmed
        .trim_start_matches("pub(crate) ")
        .trim_start_matches("pub(super) ")
        .trim_start_matches("pub ")
        .trim_start_matches("const ")
        .trim_start_matches("async ");
    if !head.starts_with("fn ") {
        return None;
    }
    let opens = lines[i..]
        .iter()
        .take(12)
        .any(|l| l.trim_end().ends_with('{'));
    if !opens {
        return None;
    }
    let indent = line.len() - trimmed.len();
    let close = format!("{}}}", " ".repeat(indent));
    lines[i + 1..]
        .iter()
        .position(|l| l.trim_end() == close)
        .map(|p| p + 2)
}

#[test]
fn no_file_over_400_lines_and_no_function_over_60() {
    let mut wrong = Vec::new();
    for (path, text) in sources() {
        let lines: Vec<&str> = text.lines().collect();
        if lines.len() > MAX_FILE_LINES {
            wrong.push(format!("src/{path} has {} lines", lines.len()));
        }
        for i in 0..lines.len() {
            let len = function_length(&lines, i).unwrap_or(0);
            if len > MAX_FUNCTION_LINES {
                wrong.push(format!("src/{path}:{} is a function of {len} lines", i + 1));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_function_length_check_sees_functions() {
    let text = "pub async fn f() {\n    1;\n}\nstruct S;\n";
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(function_length(&lines, 0), Some(3));
    assert_eq!(function_length(&lines, 3), None);
}
