//! Facts both generators derive from the schema: which nested types inputs
//! and outputs reach, the replaceOnChanges paths, where nested secrets sit
//! and where local filesystem paths sit.

use std::collections::BTreeSet;

use crate::schema::{Package, Property, TypeDef, TypeRef};

/// Tokens of every named type reachable from `props`, in token order.
pub fn reachable_types<'a>(
    package: &Package,
    props: impl IntoIterator<Item = &'a Property>,
) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&TypeRef> = props.into_iter().map(|p| &p.ty).collect();
    while let Some(ty) = stack.pop() {
        match ty {
            TypeRef::Array(inner) | TypeRef::Map(inner) => stack.push(inner),
            TypeRef::Named(token) if seen.insert(token.clone()) => {
                if let Some(TypeDef::Object(o)) = package.types.get(token) {
                    stack.extend(o.properties.iter().map(|p| &p.ty));
                }
            }
            _ => {}
        }
    }
    seen
}

/// Property paths whose change replaces the resource, in the engine's path
/// syntax: `name`, `nested.field`, `list[*].field`, `map.*.field`.
pub fn replace_on_changes(package: &Package, props: &[Property]) -> Vec<String> {
    let mut out = Vec::new();
    let mut visiting = Vec::new();
    for p in props {
        collect_replace(package, p, &p.name, &mut visiting, &mut out);
    }
    out
}

fn collect_replace(
    package: &Package,
    p: &Property,
    path: &str,
    visiting: &mut Vec<String>,
    out: &mut Vec<String>,
) {
    if p.replace_on_changes {
        out.push(path.to_string());
    }
    let mut ty = &p.ty;
    let mut path = path.to_string();
    loop {
        match ty {
            TypeRef::Array(inner) => {
                path.push_str("[*]");
                ty = inner;
            }
            TypeRef::Map(inner) => {
                path.push_str(".*");
                ty = inner;
            }
            TypeRef::Named(token) => {
                if let Some(object) = package.object(token) {
                    if visiting.contains(token) {
                        return;
                    }
                    visiting.push(token.clone());
                    for sub in &object.properties {
                        collect_replace(
                            package,
                            sub,
                            &format!("{path}.{}", sub.name),
                            visiting,
                            out,
                        );
                    }
                    visiting.pop();
                }
                return;
            }
            _ => return,
        }
    }
}

/// One step of a path into a value: a property name, or every element of a list or map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Field(String),
    Each,
}

/// Paths below a property to the nested fields marked secret (the property's
/// own `secret` flag is handled separately). A field under a secret field is
/// covered by that field, so the search stops there.
pub fn nested_secret_paths(package: &Package, ty: &TypeRef) -> Vec<Vec<Step>> {
    let mut out = Vec::new();
    collect_secrets(package, ty, &mut Vec::new(), &mut Vec::new(), &mut out);
    out
}

fn collect_secrets(
    package: &Package,
    ty: &TypeRef,
    prefix: &mut Vec<Step>,
    visiting: &mut Vec<String>,
    out: &mut Vec<Vec<Step>>,
) {
    match ty {
        TypeRef::Array(inner) | TypeRef::Map(inner) => {
            prefix.push(Step::Each);
            collect_secrets(package, inner, prefix, visiting, out);
            prefix.pop();
        }
        TypeRef::Named(token) => {
            let Some(object) = package.object(token) else {
                return;
            };
            if visiting.contains(token) {
                return;
            }
            visiting.push(token.clone());
            for sub in &object.properties {
                prefix.push(Step::Field(sub.name.clone()));
                if sub.secret {
                    out.push(prefix.clone());
                } else {
                    collect_secrets(package, &sub.ty, prefix, visiting, out);
                }
                prefix.pop();
            }
            visiting.pop();
        }
        _ => {}
    }
}

/// Paths inside property `p` to the fields marked `localPath` (filesystem
/// paths on the machine that runs the program); an empty path when `p`
/// itself is one. The SDKs make relative ones absolute where the program
/// runs, so they mean the same under `pulumi` and under SST.
pub fn local_paths(package: &Package, p: &Property) -> Vec<Vec<Step>> {
    let mut out = Vec::new();
    if p.local_path {
        out.push(Vec::new());
    } else {
        collect_local(package, &p.ty, &mut Vec::new(), &mut Vec::new(), &mut out);
    }
    out
}

fn collect_local(
    package: &Package,
    ty: &TypeRef,
    prefix: &mut Vec<Step>,
    visiting: &mut Vec<String>,
    out: &mut Vec<Vec<Step>>,
) {
    match ty {
        TypeRef::Array(inner) | TypeRef::Map(inner) => {
            prefix.push(Step::Each);
            collect_local(package, inner, prefix, visiting, out);
            prefix.pop();
        }
        TypeRef::Named(token) => {
            let Some(object) = package.object(token) else {
                return;
            };
            if visiting.contains(token) {
                return;
            }
            visiting.push(token.clone());
            for sub in &object.properties {
                prefix.push(Step::Field(sub.name.clone()));
                if sub.local_path {
                    out.push(prefix.clone());
                } else {
                    collect_local(package, &sub.ty, prefix, visiting, out);
                }
                prefix.pop();
            }
            visiting.pop();
        }
        _ => {}
    }
}

/// Output-only properties: in `properties` but not in `inputProperties`.
pub fn output_only(resource: &crate::schema::Resource) -> impl Iterator<Item = &Property> {
    resource
        .properties
        .iter()
        .filter(|p| resource.input(&p.name).is_none())
}
