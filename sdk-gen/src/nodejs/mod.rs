//! The Node.js (TypeScript) SDK, laid out the way Pulumi's own generator lays it out:
//! one file per resource, `types/input.ts`, `types/output.ts`, `types/enums`,
//! `index.ts`, `utilities.ts`, `package.json`, `tsconfig.json`.

mod package;
mod resource;
mod types;

use crate::error::GenError;
use crate::names::lower_camel;
use crate::schema::{token_name, Package, TypeRef};
use crate::text::GENERATED_NOTICE;
use crate::Files;

pub fn generate(package: &Package) -> Result<Files, GenError> {
    let mut files = Files::new();
    for r in package.resources.values() {
        files.insert(
            format!("{}.ts", lower_camel(token_name(&r.token))),
            resource::resource_file(package, r)?,
        );
    }
    files.insert("provider.ts".into(), resource::provider_file(package)?);
    files.extend(types::type_files(package));
    files.extend(package::package_files(package)?);
    Ok(files)
}

fn header() -> String {
    GENERATED_NOTICE
        .iter()
        .map(|l| format!("// {l}\n"))
        .collect::<String>()
        + "\n"
}

/// Where a type appears: decides `inputs.X` vs `outputs.X` and Input wrapping.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Input,
    Output,
}

fn named(package: &Package, token: &str, side: Side) -> String {
    let name = token_name(token);
    if package.is_enum(token) {
        format!("enums.{name}")
    } else if side == Side::Input {
        format!("inputs.{name}")
    } else {
        format!("outputs.{name}")
    }
}

/// The type of an input property, `pulumi.Input<...>` all the way down.
fn input_type(package: &Package, ty: &TypeRef) -> String {
    match ty {
        TypeRef::Any => "any".into(),
        other => format!("pulumi.Input<{}>", input_inner(package, other)),
    }
}

fn input_inner(package: &Package, ty: &TypeRef) -> String {
    match ty {
        TypeRef::String => "string".into(),
        TypeRef::Integer | TypeRef::Number => "number".into(),
        TypeRef::Boolean => "boolean".into(),
        TypeRef::Any => "any".into(),
        TypeRef::Array(inner) => format!("{}[]", input_type(package, inner)),
        TypeRef::Map(inner) => format!("{{[key: string]: {}}}", input_type(package, inner)),
        TypeRef::Named(token) => named(package, token, Side::Input),
    }
}

/// The plain type of an output value.
fn output_type(package: &Package, ty: &TypeRef) -> String {
    match ty {
        TypeRef::String => "string".into(),
        TypeRef::Integer | TypeRef::Number => "number".into(),
        TypeRef::Boolean => "boolean".into(),
        TypeRef::Any => "any".into(),
        TypeRef::Array(inner) => format!("{}[]", output_type(package, inner)),
        TypeRef::Map(inner) => format!("{{[key: string]: {}}}", output_type(package, inner)),
        TypeRef::Named(token) => named(package, token, Side::Output),
    }
}
