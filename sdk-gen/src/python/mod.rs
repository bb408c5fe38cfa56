//! The Python SDK, laid out the way Pulumi's own generator lays it out: a
//! package with one module per resource, `_inputs.py` (`@pulumi.input_type`
//! Args classes and TypedDicts), `outputs.py` (`@pulumi.output_type`),
//! `_enums.py`, `_utilities.py`, `pulumi-plugin.json` and `pyproject.toml`.

mod package;
mod resource;
mod types;

use serde_json::Value as Json;

use crate::error::GenError;
use crate::names::snake_case;
use crate::schema::{token_name, Package, TypeRef};
use crate::text::{quote, GENERATED_NOTICE};
use crate::Files;

pub fn generate(package: &Package) -> Result<Files, GenError> {
    let module = package::module_name(package);
    let mut files = Files::new();
    for r in package.resources.values() {
        files.insert(
            format!("{module}/{}.py", snake_case(token_name(&r.token))),
            resource::resource_file(package, r)?,
        );
    }
    files.insert(
        format!("{module}/provider.py"),
        resource::provider_file(package)?,
    );
    for (name, text) in types::type_files(package) {
        files.insert(format!("{module}/{name}"), text);
    }
    files.extend(package::package_files(package, &module));
    Ok(files)
}

fn header() -> String {
    let mut out = String::from("# coding=utf-8\n");
    for line in GENERATED_NOTICE {
        out.push_str(&format!("# {line}\n"));
    }
    out.push('\n');
    out
}

/// Imports every module of the package starts with.
const IMPORTS: &str = "import builtins\nimport copy\nimport warnings\nimport sys\nimport pulumi\nimport pulumi.runtime\nfrom typing import Any, Mapping, Optional, Sequence, Union, overload\nif sys.version_info >= (3, 11):\n    from typing import NotRequired, TypedDict, TypeAlias\nelse:\n    from typing_extensions import NotRequired, TypedDict, TypeAlias\nfrom . import _utilities\n";

/// Type hint of an input value: `pulumi.Input[...]` all the way down, nested
/// objects as their Args class. The runtime reads these hints (on Args
/// classes) to translate dict keys from Python names to schema names, so they
/// must name exactly one input type.
fn input_hint(package: &Package, ty: &TypeRef) -> String {
    hint(package, ty, false)
}

/// Like [`input_hint`], but nested objects also accept a plain dict
/// (`Union['XArgs', 'XArgsDict']`): for resource constructor keyword arguments.
fn kwarg_hint(package: &Package, ty: &TypeRef) -> String {
    hint(package, ty, true)
}

fn hint(package: &Package, ty: &TypeRef, dicts: bool) -> String {
    match ty {
        TypeRef::Any => "Any".into(),
        other => format!("pulumi.Input[{}]", input_inner(package, other, dicts)),
    }
}

fn input_inner(package: &Package, ty: &TypeRef, dicts: bool) -> String {
    match ty {
        TypeRef::String => "builtins.str".into(),
        TypeRef::Integer => "builtins.int".into(),
        TypeRef::Number => "builtins.float".into(),
        TypeRef::Boolean => "builtins.bool".into(),
        TypeRef::Any => "Any".into(),
        TypeRef::Array(inner) => format!("Sequence[{}]", hint(package, inner, dicts)),
        TypeRef::Map(inner) => format!("Mapping[str, {}]", hint(package, inner, dicts)),
        TypeRef::Named(token) => {
            let name = token_name(token);
            if package.is_enum(token) {
                format!("'{name}'")
            } else if dicts {
                format!("Union['{name}Args', '{name}ArgsDict']")
            } else {
                format!("'{name}Args'")
            }
        }
    }
}

/// Type hint of a nested input inside a TypedDict (plain dicts all the way).
fn dict_hint(package: &Package, ty: &TypeRef) -> String {
    match ty {
        TypeRef::Any => "Any".into(),
        TypeRef::Array(inner) => format!("pulumi.Input[Sequence[{}]]", dict_hint(package, inner)),
        TypeRef::Map(inner) => format!("pulumi.Input[Mapping[str, {}]]", dict_hint(package, inner)),
        TypeRef::Named(token) if !package.is_enum(token) => {
            format!("pulumi.Input['{}ArgsDict']", token_name(token))
        }
        other => input_hint(package, other),
    }
}

/// Type hint of an output value.
fn output_hint(package: &Package, ty: &TypeRef) -> String {
    match ty {
        TypeRef::String => "builtins.str".into(),
        TypeRef::Integer => "builtins.int".into(),
        TypeRef::Number => "builtins.float".into(),
        TypeRef::Boolean => "builtins.bool".into(),
        TypeRef::Any => "Any".into(),
        TypeRef::Array(inner) => format!("Sequence[{}]", output_hint(package, inner)),
        TypeRef::Map(inner) => format!("Mapping[str, {}]", output_hint(package, inner)),
        TypeRef::Named(token) => {
            let name = token_name(token);
            if package.is_enum(token) {
                format!("'{name}'")
            } else {
                format!("'outputs.{name}'")
            }
        }
    }
}

/// A schema default as a Python literal.
fn py_literal(value: &Json) -> String {
    match value {
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Null => "None".into(),
        Json::String(s) => quote(s),
        other => other.to_string(),
    }
}

/// `@pulumi.getter` or `@pulumi.getter(name="camelName")` when the names differ.
fn getter(schema_name: &str, py_name: &str) -> String {
    if schema_name == py_name {
        "@pulumi.getter".into()
    } else {
        format!("@pulumi.getter(name={})", quote(schema_name))
    }
}
