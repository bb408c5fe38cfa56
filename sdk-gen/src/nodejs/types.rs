//! `types/input.ts`, `types/output.ts`, `types/enums/index.ts` and `types/index.ts`.

use std::fmt::Write as _;

use super::{header, input_type, output_type};
use crate::model::reachable_types;
use crate::names::pascal_case;
use crate::schema::{token_name, Package, TypeDef};
use crate::text::jsdoc;
use crate::Files;

const IMPORTS: &str = "import * as pulumi from \"@pulumi/pulumi\";\n\
import * as inputs from \"../types/input\";\n\
import * as outputs from \"../types/output\";\n\
import * as enums from \"../types/enums\";\n";

pub fn type_files(package: &Package) -> Files {
    let mut files = Files::new();
    files.insert("types/input.ts".into(), input_file(package));
    files.insert("types/output.ts".into(), output_file(package));
    files.insert("types/enums/index.ts".into(), enums_file(package));
    files.insert(
        "types/index.ts".into(),
        header()
            + "import * as enums from \"./enums\";\nimport * as input from \"./input\";\nimport * as output from \"./output\";\n\nexport {\n    enums,\n    input,\n    output,\n};\n",
    );
    files
}

fn input_file(package: &Package) -> String {
    let tokens = reachable_types(
        package,
        package
            .resources
            .values()
            .chain(std::iter::once(&package.provider))
            .flat_map(|r| r.input_properties.iter()),
    );
    let mut out = header() + IMPORTS;
    for token in &tokens {
        let Some(object) = package.object(token) else {
            continue;
        };
        out.push('\n');
        out.push_str(&jsdoc(object.description.as_deref(), ""));
        let _ = writeln!(out, "export interface {} {{", token_name(token));
        for p in &object.properties {
            out.push_str(&jsdoc(p.description.as_deref(), "    "));
            let optional = if object.is_required(&p.name) { "" } else { "?" };
            let _ = writeln!(
                out,
                "    {}{optional}: {};",
                p.name,
                input_type(package, &p.ty)
            );
        }
        out.push_str("}\n");
    }
    out
}

fn output_file(package: &Package) -> String {
    let tokens = reachable_types(
        package,
        package.resources.values().flat_map(|r| r.properties.iter()),
    );
    let mut out = header() + IMPORTS;
    for token in &tokens {
        let Some(object) = package.object(token) else {
            continue;
        };
        out.push('\n');
        out.push_str(&jsdoc(object.description.as_deref(), ""));
        let _ = writeln!(out, "export interface {} {{", token_name(token));
        for p in &object.properties {
            out.push_str(&jsdoc(p.description.as_deref(), "    "));
            let optional = if object.is_required(&p.name) { "" } else { "?" };
            let _ = writeln!(
                out,
                "    {}{optional}: {};",
                p.name,
                output_type(package, &p.ty)
            );
        }
        out.push_str("}\n");
    }
    out
}

fn enums_file(package: &Package) -> String {
    let mut out = header();
    let mut any = false;
    for def in package.types.values() {
        let TypeDef::Enum(e) = def else { continue };
        any = true;
        let name = token_name(&e.token);
        let _ = writeln!(out, "export const {name} = {{");
        for v in &e.values {
            out.push_str(&jsdoc(v.description.as_deref(), "    "));
            let _ = writeln!(out, "    {}: {},", pascal_case(&v.name), v.value);
        }
        out.push_str("} as const;\n\n");
        out.push_str(&jsdoc(e.description.as_deref(), ""));
        let _ = writeln!(
            out,
            "export type {name} = (typeof {name})[keyof typeof {name}];\n"
        );
    }
    if !any {
        out.push_str("export {};\n");
    }
    out
}
