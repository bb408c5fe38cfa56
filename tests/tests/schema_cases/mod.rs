//! Inputs generated from the published schema for Check tests: every leaf
//! property of a resource, with a way to set a value at its path.
#![allow(dead_code)]

use serde_json::{json, Value as Json};

/// One step of a property path.
#[derive(Clone, Debug)]
pub enum Step {
    Key(String),
    Index,
}

/// The kind of a leaf property.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Leaf {
    String,
    Integer,
    Number,
    Bool,
}

/// Every leaf path below `props` (following `$ref`s into `types`).
pub fn leaves(
    schema: &Json,
    props: &Json,
    at: Vec<Step>,
    depth: usize,
    out: &mut Vec<(Vec<Step>, Leaf)>,
) {
    let Some(props) = props.as_object() else {
        return;
    };
    for (name, prop) in props {
        let mut path = at.clone();
        path.push(Step::Key(name.clone()));
        walk(schema, prop, path, depth, out);
    }
}

fn walk(
    schema: &Json,
    prop: &Json,
    path: Vec<Step>,
    depth: usize,
    out: &mut Vec<(Vec<Step>, Leaf)>,
) {
    if depth > 6 {
        return;
    }
    if let Some(r) = prop.get("$ref").and_then(Json::as_str) {
        let Some(token) = r.strip_prefix("#/types/") else {
            return;
        };
        let ty = &schema["types"][token];
        if ty.get("enum").is_some() {
            out.push((path, Leaf::String));
        } else {
            leaves(schema, &ty["properties"], path, depth + 1, out);
        }
        return;
    }
    match prop.get("type").and_then(Json::as_str) {
        Some("string") => out.push((path, Leaf::String)),
        Some("integer") => out.push((path, Leaf::Integer)),
        Some("number") => out.push((path, Leaf::Number)),
        Some("boolean") => out.push((path, Leaf::Bool)),
        Some("array") => {
            let mut path = path;
            path.push(Step::Index);
            walk(schema, &prop["items"], path, depth + 1, out);
        }
        Some("object") => {
            if let Some(inner) = prop.get("additionalProperties") {
                let mut path = path;
                path.push(Step::Key("K1".into()));
                walk(schema, inner, path, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// Sets `value` at `path` inside `root`, creating objects and one-element
/// lists on the way (an existing first element is kept and extended).
pub fn set(root: &mut Json, path: &[Step], value: Json) {
    let Some((first, rest)) = path.split_first() else {
        *root = value;
        return;
    };
    match first {
        Step::Key(k) => {
            if !root.is_object() {
                *root = json!({});
            }
            let slot = root
                .as_object_mut()
                .unwrap()
                .entry(k.clone())
                .or_insert(Json::Null);
            set(slot, rest, value);
        }
        Step::Index => {
            if !root.is_array() || root.as_array().unwrap().is_empty() {
                *root = json!([{}]);
            }
            set(&mut root.as_array_mut().unwrap()[0], rest, value);
        }
    }
}

pub fn top(path: &[Step]) -> String {
    match path.first() {
        Some(Step::Key(k)) => k.clone(),
        _ => String::new(),
    }
}

pub fn show(path: &[Step]) -> String {
    path.iter()
        .map(|s| match s {
            Step::Key(k) => format!(".{k}"),
            Step::Index => "[0]".into(),
        })
        .collect()
}
