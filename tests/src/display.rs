//! What `pulumi preview --diff` prints for a step with a detailed diff.
//!
//! The CLI never prints a provider's diff keys or reasons as such: it parses
//! every key as a property path, looks the path up in the old outputs (old
//! inputs for an input diff) and the new inputs (new outputs for a refresh),
//! builds one tree of adds, deletes and updates from all keys, and prints that
//! tree. The row shows only the tree's top-level keys. So a key that does not
//! name a real property shows nothing useful (an update from nothing to
//! nothing prints no line at all), and a provider whose reasons exist only in
//! its logs shows no reason. Rendering the same way here lets tests assert on
//! what a user actually sees.
//!
//! Mirrors pulumi/pulumi: `TranslateDetailedDiff`, `addDiff` and `getProperty`
//! (pkg/engine/detailedDiff.go), `getDiffInfo`, `writeShortDiff` and
//! `writePropertyKeys` (pkg/backend/display/rows.go), `printObjectDiff`,
//! `printPropertyValueDiff`, `shouldPrintPropertyValue` and
//! `printPrimitivePropertyValue` (pkg/backend/display/object_diff.go).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value as Json;

use crate::path::{Element, PropertyPath};
use crate::values::{is_secret, is_unknown, unknown};

/// One node of the translated diff (`resource.ValueDiff` / `ObjectDiff` / `ArrayDiff`).
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Add(Json),
    Delete(Json),
    /// A leaf update (both sides, `Null` where absent).
    Update(Json, Json),
    /// An unchanged element inside an updated object or array.
    Same(Json),
    Object(BTreeMap<String, Node>),
    Array(BTreeMap<i64, Node>),
}

/// The value of one path element (`getProperty`): secrets and unknowns are
/// returned whole, so a path through a secret yields the secret itself.
fn get_property<'a>(e: &Element, v: &'a Json) -> Option<&'a Json> {
    if is_secret(v) || is_unknown(v) {
        return Some(v);
    }
    match (e, v) {
        (Element::Index(i), Json::Array(items)) => items.get(usize::try_from(*i).ok()?),
        (Element::Key(k), Json::Object(map)) => map.get(k),
        _ => None,
    }
}

fn value_or_unknown(v: Option<&Json>) -> Json {
    v.cloned().unwrap_or_else(unknown)
}

fn leaf(kind: &str, old: Option<&Json>, new: Option<&Json>) -> Node {
    match kind {
        "ADD" | "ADD_REPLACE" => Node::Add(value_or_unknown(new)),
        "DELETE" | "DELETE_REPLACE" => Node::Delete(value_or_unknown(old)),
        _ => value_diff(
            old.cloned().unwrap_or(Json::Null),
            new.cloned().unwrap_or(Json::Null),
        ),
    }
}

/// An updated value, broken down the way `PropertyValue.Diff` does: objects
/// and arrays (not secrets) by element, anything else as old => new.
fn value_diff(old: Json, new: Json) -> Node {
    if is_secret(&old) || is_secret(&new) || is_unknown(&old) || is_unknown(&new) {
        return Node::Update(old, new);
    }
    match (old, new) {
        (Json::Object(o), Json::Object(n)) => {
            let mut out = BTreeMap::new();
            for k in o.keys().chain(n.keys()) {
                if out.contains_key(k) {
                    continue;
                }
                let node = match (o.get(k), n.get(k)) {
                    (Some(a), Some(b)) if a == b => Node::Same(a.clone()),
                    (Some(a), Some(b)) => value_diff(a.clone(), b.clone()),
                    (Some(a), None) => Node::Delete(a.clone()),
                    (None, Some(b)) => Node::Add(b.clone()),
                    (None, None) => continue,
                };
                out.insert(k.clone(), node);
            }
            Node::Object(out)
        }
        (Json::Array(o), Json::Array(n)) => {
            let mut out = BTreeMap::new();
            for i in 0..o.len().max(n.len()) {
                let node = match (o.get(i), n.get(i)) {
                    (Some(a), Some(b)) if a == b => Node::Same(a.clone()),
                    (Some(a), Some(b)) => value_diff(a.clone(), b.clone()),
                    (Some(a), None) => Node::Delete(a.clone()),
                    (None, Some(b)) => Node::Add(b.clone()),
                    (None, None) => continue,
                };
                out.insert(i as i64, node);
            }
            Node::Array(out)
        }
        (old, new) => Node::Update(old, new),
    }
}

/// Adds one parsed path to the tree under `parent` (`addDiff`).
fn add_diff(path: &[Element], kind: &str, parent: &mut Node, old_parent: &Json, new_parent: &Json) {
    let Some(e) = path.first() else {
        return;
    };
    let old = get_property(e, old_parent);
    let new = get_property(e, new_parent);
    let is_null = |v: Option<&Json>| v.map(Json::is_null).unwrap_or(true);
    let child = if path.len() == 1 {
        leaf(kind, old, new)
    } else if is_null(old) && !is_null(new) {
        Node::Add(new.cloned().unwrap_or(Json::Null))
    } else if !is_null(old) && is_null(new) {
        Node::Delete(old.cloned().unwrap_or(Json::Null))
    } else {
        let mut sub = existing(parent, e).unwrap_or(Node::Object(BTreeMap::new()));
        if !matches!(sub, Node::Object(_) | Node::Array(_)) {
            sub = Node::Object(BTreeMap::new());
        }
        add_diff(
            &path[1..],
            kind,
            &mut sub,
            old.unwrap_or(&Json::Null),
            new.unwrap_or(&Json::Null),
        );
        sub
    };
    insert(parent, e, child);
}

fn existing(parent: &Node, e: &Element) -> Option<Node> {
    match (parent, e) {
        (Node::Object(m), Element::Key(k)) => m.get(k).cloned(),
        (Node::Array(m), Element::Index(i)) => m.get(i).cloned(),
        _ => None,
    }
}

fn insert(parent: &mut Node, e: &Element, child: Node) {
    match e {
        Element::Key(k) => {
            if !matches!(parent, Node::Object(_)) {
                *parent = Node::Object(BTreeMap::new());
            }
            if let Node::Object(m) = parent {
                m.insert(k.clone(), child);
            }
        }
        Element::Index(i) => {
            if !matches!(parent, Node::Array(_)) {
                *parent = Node::Array(BTreeMap::new());
            }
            if let Node::Array(m) = parent {
                m.insert(*i, child);
            }
        }
    }
}

/// One detailed-diff entry as the CLI receives it.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub path: &'a str,
    pub kind: &'a str,
    pub input_diff: bool,
}

/// The translated diff of a step (`TranslateDetailedDiff`): the top-level
/// object diff. A key that does not parse becomes a single top-level key, as
/// in the CLI.
pub fn translate(
    entries: &[Entry<'_>],
    old_inputs: &Json,
    old_outputs: &Json,
    new_inputs: &Json,
    new_outputs: Option<&Json>,
) -> BTreeMap<String, Node> {
    let mut root = Node::Object(BTreeMap::new());
    for e in entries {
        let elements = PropertyPath::parse(e.path)
            .map(|p| p.0)
            .unwrap_or_else(|_| vec![Element::Key(e.path.to_string())]);
        let olds = if e.input_diff {
            old_inputs
        } else {
            old_outputs
        };
        let news = match new_outputs {
            Some(outs) if !e.input_diff => outs,
            _ => new_inputs,
        };
        add_diff(&elements, e.kind, &mut root, olds, news);
    }
    match root {
        Node::Object(m) => m,
        _ => BTreeMap::new(),
    }
}

/// The row's `diff: ...` text (`writeShortDiff`): top-level added, deleted and
/// updated keys, each group sorted, limited to `include` when the provider
/// named its changed keys. `None` when there is nothing to show.
pub fn row_summary(diff: &BTreeMap<String, Node>, include: &[String]) -> Option<String> {
    let keep = |k: &String| include.is_empty() || include.contains(k);
    let group = |pred: fn(&Node) -> bool| -> Vec<&str> {
        diff.iter()
            .filter(|(k, n)| pred(n) && keep(k))
            .map(|(k, _)| k.as_str())
            .collect()
    };
    let adds = group(|n| matches!(n, Node::Add(_)));
    let deletes = group(|n| matches!(n, Node::Delete(_)));
    let updates = group(|n| !matches!(n, Node::Add(_) | Node::Delete(_) | Node::Same(_)));
    let mut out = String::from("diff: ");
    for (sym, keys) in [("+", adds), ("-", deletes), ("~", updates)] {
        if !keys.is_empty() {
            out.push_str(sym);
            out.push_str(&keys.join(","));
        }
    }
    Some(out)
}

/// `shouldPrintPropertyValue` for diffs: nulls, empty strings, empty arrays and
/// empty objects are not printed.
fn printable(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(m) => !m.is_empty(),
        _ => true,
    }
}

/// `printPrimitivePropertyValue` and `printPropertyValue` in one.
pub fn value_text(v: &Json, indent: usize) -> String {
    if is_secret(v) {
        return "[secret]".to_string();
    }
    if is_unknown(v) {
        return "[unknown]".to_string();
    }
    match v {
        Json::Null => "<null>".to_string(),
        Json::String(s) => format!("{s:?}"),
        Json::Number(n) => match n.as_f64() {
            Some(f) if f.trunc() == f && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        Json::Bool(b) => b.to_string(),
        Json::Array(items) if items.is_empty() => "[]".to_string(),
        Json::Array(items) => {
            let pad = " ".repeat(indent + 4);
            let mut s = String::from("[\n");
            for (i, item) in items.iter().enumerate() {
                let _ = writeln!(s, "{pad}[{i}]: {}", value_text(item, indent + 4));
            }
            s.push_str(&format!("{}]", " ".repeat(indent)));
            s
        }
        Json::Object(m) if m.is_empty() => "{}".to_string(),
        Json::Object(m) => {
            let pad = " ".repeat(indent + 4);
            let width = m
                .keys()
                .filter(|k| !k.starts_with("__"))
                .map(|k| k.chars().count())
                .max()
                .unwrap_or(0);
            let mut s = String::from("{\n");
            for (k, v) in m.iter().filter(|(k, _)| !k.starts_with("__")) {
                let _ = writeln!(s, "{pad}{k:<width$}: {}", value_text(v, indent + 4));
            }
            s.push_str(&format!("{}}}", " ".repeat(indent)));
            s
        }
    }
}

/// The detail lines under a step's row (`printObjectDiff`), one per printed
/// property, indented by `indent` spaces.
pub fn detail_lines(diff: &BTreeMap<String, Node>, indent: usize) -> Vec<String> {
    let mut out = Vec::new();
    print_object(diff, indent, &mut out);
    out
}

fn print_object(diff: &BTreeMap<String, Node>, indent: usize, out: &mut Vec<String>) {
    let width = diff.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    for (k, node) in diff {
        let title = format!("{k:<width$}: ");
        print_node(&title, node, indent, out);
    }
}

fn print_node(title: &str, node: &Node, indent: usize, out: &mut Vec<String>) {
    let pad = " ".repeat(indent);
    match node {
        Node::Add(v) => out.push(format!("{pad}+ {title}{}", value_text(v, indent + 2))),
        Node::Delete(v) => out.push(format!("{pad}- {title}{}", value_text(v, indent + 2))),
        Node::Same(v) => {
            if printable(v) {
                out.push(format!("{pad}  {title}{}", value_text(v, indent + 2)));
            }
        }
        Node::Object(m) => {
            out.push(format!("{pad}~ {title}{{"));
            print_object(m, indent + 4, out);
            out.push(format!("{pad}  }}"));
        }
        Node::Array(m) => {
            out.push(format!("{pad}~ {title}["));
            for (i, n) in m {
                print_node(&format!("[{i}]: "), n, indent + 4, out);
            }
            out.push(format!("{pad}  ]"));
        }
        Node::Update(old, new) => {
            let (po, pn) = (printable(old), printable(new));
            let scalar = |v: &Json| !v.is_array() && !v.is_object() || is_secret(v);
            if po && pn && scalar(old) && scalar(new) {
                out.push(format!(
                    "{pad}~ {title}{} => {}",
                    value_text(old, indent + 2),
                    value_text(new, indent + 2)
                ));
                return;
            }
            if po {
                out.push(format!("{pad}- {title}{}", value_text(old, indent + 2)));
            }
            if pn {
                out.push(format!("{pad}+ {title}{}", value_text(new, indent + 2)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::secret;
    use serde_json::json;

    fn e<'a>(path: &'a str, kind: &'a str) -> Entry<'a> {
        Entry {
            path,
            kind,
            input_diff: false,
        }
    }

    #[test]
    fn nested_keys_render_under_their_top_level_key() {
        let old = json!({"files": {"a.txt": "h1", "gone": "h3"}, "tag": "v1"});
        let new = json!({"files": {"a.txt": "h2", "new file": "h4"}, "tag": "v2"});
        let diff = translate(
            &[
                e("files[\"a.txt\"]", "UPDATE"),
                e("files.gone", "DELETE"),
                e("files[\"new file\"]", "ADD"),
                e("tag", "UPDATE_REPLACE"),
            ],
            &old,
            &old,
            &new,
            None,
        );
        assert_eq!(row_summary(&diff, &[]).unwrap(), "diff: ~files,tag");
        let lines = detail_lines(&diff, 4);
        assert_eq!(
            lines,
            [
                "    ~ files: {",
                "        ~ a.txt   : \"h1\" => \"h2\"",
                "        - gone    : \"h3\"",
                "        + new file: \"h4\"",
                "      }",
                "    ~ tag  : \"v1\" => \"v2\"",
            ]
        );
    }

    #[test]
    fn a_key_that_names_no_property_prints_nothing() {
        let old = json!({"context": {"location": "./app"}});
        let diff = translate(
            &[e("context[\"src/app.sh\"]", "UPDATE")],
            &old,
            &old,
            &old,
            None,
        );
        assert!(detail_lines(&diff, 0)
            .iter()
            .all(|l| !l.contains("src/app.sh:")));
    }

    #[test]
    fn secrets_stay_masked_and_adds_of_missing_values_are_unknown() {
        let old = json!({"env": secret(json!({"K": "old"}))});
        let new = json!({"env": secret(json!({"K": "new"}))});
        let diff = translate(
            &[e("env.K", "UPDATE"), e("x", "ADD")],
            &old,
            &old,
            &new,
            None,
        );
        let text = detail_lines(&diff, 0).join("\n");
        assert!(!text.contains("old") && !text.contains("new"), "{text}");
        assert!(text.contains("[secret] => [secret]"), "{text}");
        assert!(text.contains("+ x  : [unknown]"), "{text}");
    }
}
