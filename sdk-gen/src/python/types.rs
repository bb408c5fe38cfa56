//! `_inputs.py`, `outputs.py` and `_enums.py`, plus the Args class shape the
//! resource modules reuse.

use std::fmt::Write as _;

use super::{dict_hint, getter, header, input_hint, output_hint, IMPORTS};
use crate::model::reachable_types;
use crate::names::{python_name, upper_snake};
use crate::schema::{token_name, Package, Property, TypeDef};
use crate::text::{py_doc_lines, py_docstring, quote};

pub fn type_files(package: &Package) -> Vec<(String, String)> {
    vec![
        ("_inputs.py".into(), inputs_file(package)),
        ("outputs.py".into(), outputs_file(package)),
        ("_enums.py".into(), enums_file(package)),
    ]
}

/// `:param TYPE name: description` lines for a docstring.
pub(super) fn param_docs(params: &[(String, String, Option<String>)], indent: &str) -> String {
    let mut out = String::new();
    for (name, hint, description) in params {
        let Some(d) = description else { continue };
        let lines = py_doc_lines(d);
        let mut lines = lines.iter().filter(|l| !l.is_empty());
        let first = lines.next().cloned().unwrap_or_default();
        let _ = writeln!(out, "{indent}:param {hint} {name}: {first}");
        for more in lines {
            let _ = writeln!(out, "{indent}       {more}");
        }
    }
    out
}

/// An `@pulumi.input_type` class with keyword-only `__init__`, getters and setters.
pub(super) fn args_class(
    package: &Package,
    class: &str,
    description: Option<&str>,
    props: &[&Property],
    is_required: &dyn Fn(&str) -> bool,
) -> String {
    let mut ordered: Vec<&Property> = props
        .iter()
        .copied()
        .filter(|p| is_required(&p.name))
        .collect();
    ordered.extend(props.iter().copied().filter(|p| !is_required(&p.name)));
    let mut out = format!("@pulumi.input_type\nclass {class}:\n");
    if ordered.is_empty() {
        out.push_str("    def __init__(__self__):\n");
    } else {
        out.push_str("    def __init__(__self__, *");
        for p in &ordered {
            let hint = input_hint(package, &p.ty);
            if is_required(&p.name) {
                let _ = write!(out, ",\n                 {}: {hint}", python_name(&p.name));
            } else {
                let _ = write!(
                    out,
                    ",\n                 {}: Optional[{hint}] = None",
                    python_name(&p.name)
                );
            }
        }
        out.push_str("):\n");
    }
    out.push_str("        \"\"\"\n");
    match description {
        Some(d) => {
            for line in py_doc_lines(d) {
                if line.is_empty() {
                    out.push('\n');
                } else {
                    let _ = writeln!(out, "        {line}");
                }
            }
        }
        None => {
            let _ = writeln!(out, "        The set of arguments for {class}.");
        }
    }
    let params: Vec<(String, String, Option<String>)> = ordered
        .iter()
        .map(|p| {
            (
                python_name(&p.name),
                input_hint(package, &p.ty),
                p.description.clone(),
            )
        })
        .collect();
    out.push_str(&param_docs(&params, "        "));
    out.push_str("        \"\"\"\n");
    for p in &ordered {
        let py = python_name(&p.name);
        if is_required(&p.name) {
            let _ = writeln!(out, "        pulumi.set(__self__, \"{py}\", {py})");
        } else {
            let _ = writeln!(
                out,
                "        if {py} is not None:\n            pulumi.set(__self__, \"{py}\", {py})"
            );
        }
    }
    if ordered.is_empty() {
        out.push_str("        pass\n");
    }
    for p in &ordered {
        let py = python_name(&p.name);
        let hint = input_hint(package, &p.ty);
        let hint = if is_required(&p.name) {
            hint
        } else {
            format!("Optional[{hint}]")
        };
        let _ = writeln!(
            out,
            "\n    @property\n    {}\n    def {py}(self) -> {hint}:",
            getter(&p.name, &py)
        );
        out.push_str(&py_docstring(p.description.as_deref(), "        "));
        let _ = writeln!(
            out,
            "        return pulumi.get(self, \"{py}\")\n\n    @{py}.setter\n    def {py}(self, value: {hint}):\n        pulumi.set(self, \"{py}\", value)"
        );
    }
    out
}

/// A TypedDict form of an input type: the same fields, by Python name.
fn dict_class(
    package: &Package,
    class: &str,
    description: Option<&str>,
    props: &[Property],
    is_required: &dyn Fn(&str) -> bool,
) -> String {
    let mut out = format!("class {class}(TypedDict):\n");
    out.push_str(&py_docstring(description, "    "));
    for p in props {
        let hint = dict_hint(package, &p.ty);
        let hint = if is_required(&p.name) {
            hint
        } else {
            format!("NotRequired[{hint}]")
        };
        let _ = writeln!(out, "    {}: {hint}", python_name(&p.name));
        out.push_str(&py_docstring(p.description.as_deref(), "    "));
    }
    if props.is_empty() && description.is_none() {
        out.push_str("    pass\n");
    }
    out
}

fn all_list(names: &[String]) -> String {
    let mut out = String::from("__all__ = [\n");
    for n in names {
        let _ = writeln!(out, "    {},", quote(n));
    }
    out.push_str("]\n");
    out
}

fn inputs_file(package: &Package) -> String {
    let tokens = reachable_types(
        package,
        package
            .resources
            .values()
            .chain(std::iter::once(&package.provider))
            .flat_map(|r| r.input_properties.iter()),
    );
    let objects: Vec<_> = tokens.iter().filter_map(|t| package.object(t)).collect();
    let mut names = Vec::new();
    for o in &objects {
        let name = token_name(&o.token);
        names.push(format!("{name}Args"));
        names.push(format!("{name}ArgsDict"));
    }
    let mut out = header() + IMPORTS + "from ._enums import *\n\n";
    out.push_str(&all_list(&names));
    for o in &objects {
        let name = token_name(&o.token);
        let required = |n: &str| o.is_required(n);
        out.push_str("\n\n");
        out.push_str(&dict_class(
            package,
            &format!("{name}ArgsDict"),
            o.description.as_deref(),
            &o.properties,
            &required,
        ));
        out.push_str("\n\n");
        let props: Vec<&Property> = o.properties.iter().collect();
        out.push_str(&args_class(
            package,
            &format!("{name}Args"),
            o.description.as_deref(),
            &props,
            &required,
        ));
    }
    out
}

fn outputs_file(package: &Package) -> String {
    let tokens = reachable_types(
        package,
        package.resources.values().flat_map(|r| r.properties.iter()),
    );
    let objects: Vec<_> = tokens.iter().filter_map(|t| package.object(t)).collect();
    let names: Vec<String> = objects
        .iter()
        .map(|o| token_name(&o.token).to_string())
        .collect();
    let mut out = header() + IMPORTS + "from . import outputs\nfrom ._enums import *\n\n";
    out.push_str(&all_list(&names));
    for o in &objects {
        let name = token_name(&o.token);
        let mut ordered: Vec<&Property> = o
            .properties
            .iter()
            .filter(|p| o.is_required(&p.name))
            .collect();
        ordered.extend(o.properties.iter().filter(|p| !o.is_required(&p.name)));
        let _ = writeln!(out, "\n\n@pulumi.output_type\nclass {name}(dict):");
        out.push_str(&py_docstring(o.description.as_deref(), "    "));
        if ordered.is_empty() {
            out.push_str("    def __init__(__self__):\n        pass\n");
            continue;
        }
        out.push_str("    def __init__(__self__, *");
        for p in &ordered {
            let hint = output_hint(package, &p.ty);
            if o.is_required(&p.name) {
                let _ = write!(out, ",\n                 {}: {hint}", python_name(&p.name));
            } else {
                let _ = write!(
                    out,
                    ",\n                 {}: Optional[{hint}] = None",
                    python_name(&p.name)
                );
            }
        }
        out.push_str("):\n");
        let params: Vec<(String, String, Option<String>)> = ordered
            .iter()
            .map(|p| {
                (
                    python_name(&p.name),
                    output_hint(package, &p.ty),
                    p.description.clone(),
                )
            })
            .collect();
        let docs = param_docs(&params, "        ");
        if !docs.is_empty() {
            out.push_str("        \"\"\"\n");
            out.push_str(&docs);
            out.push_str("        \"\"\"\n");
        }
        for p in &ordered {
            let py = python_name(&p.name);
            if o.is_required(&p.name) {
                let _ = writeln!(out, "        pulumi.set(__self__, \"{py}\", {py})");
            } else {
                let _ = writeln!(
                    out,
                    "        if {py} is not None:\n            pulumi.set(__self__, \"{py}\", {py})"
                );
            }
        }
        for p in &ordered {
            let py = python_name(&p.name);
            let hint = output_hint(package, &p.ty);
            let hint = if o.is_required(&p.name) {
                hint
            } else {
                format!("Optional[{hint}]")
            };
            let _ = writeln!(
                out,
                "\n    @property\n    {}\n    def {py}(self) -> {hint}:",
                getter(&p.name, &py)
            );
            out.push_str(&py_docstring(p.description.as_deref(), "        "));
            let _ = writeln!(out, "        return pulumi.get(self, \"{py}\")");
        }
    }
    out
}

fn enums_file(package: &Package) -> String {
    let enums: Vec<_> = package
        .types
        .values()
        .filter_map(|t| match t {
            TypeDef::Enum(e) => Some(e),
            TypeDef::Object(_) => None,
        })
        .collect();
    let names: Vec<String> = enums
        .iter()
        .map(|e| token_name(&e.token).to_string())
        .collect();
    let mut out = header() + "import builtins\nimport pulumi\nfrom enum import Enum\n\n";
    out.push_str(&all_list(&names));
    for e in enums {
        let base = match e.underlying.as_str() {
            "integer" => "builtins.int",
            "number" => "builtins.float",
            _ => "builtins.str",
        };
        let _ = writeln!(out, "\n\nclass {}({base}, Enum):", token_name(&e.token));
        out.push_str(&py_docstring(e.description.as_deref(), "    "));
        for v in &e.values {
            let _ = writeln!(
                out,
                "    {} = {}",
                upper_snake(&v.name),
                super::py_literal(&v.value)
            );
            out.push_str(&py_docstring(v.description.as_deref(), "    "));
        }
        if e.values.is_empty() {
            out.push_str("    pass\n");
        }
    }
    out
}
