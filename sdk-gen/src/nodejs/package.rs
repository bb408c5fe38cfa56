//! `package.json`, `tsconfig.json`, `utilities.ts`, `index.ts` and the README.

use std::fmt::Write as _;

use serde_json::{json, Map, Value as Json};

use super::header;
use crate::error::GenError;
use crate::names::lower_camel;
use crate::schema::{token_name, Package};
use crate::sst::{sst_global_name, sst_lookup_names};
use crate::text::quote;
use crate::Files;

pub fn package_files(package: &Package) -> Result<Files, GenError> {
    let mut files = Files::new();
    files.insert("package.json".into(), package_json(package));
    files.insert("tsconfig.json".into(), tsconfig(package));
    files.insert("utilities.ts".into(), utilities(package));
    files.insert("index.ts".into(), index(package));
    files.insert("README.md".into(), readme(package));
    Ok(files)
}

pub fn node_package_name(package: &Package) -> String {
    package
        .nodejs
        .package_name
        .clone()
        .unwrap_or_else(|| format!("@pulumi/{}", package.name))
}

fn package_json(package: &Package) -> String {
    let mut dependencies = Map::new();
    for (name, version) in &package.nodejs.dependencies {
        dependencies.insert(name.clone(), Json::String(version.clone()));
    }
    if !dependencies.contains_key("@pulumi/pulumi") {
        dependencies.insert("@pulumi/pulumi".into(), json!("^3.0.0"));
    }
    let mut pulumi = Map::new();
    pulumi.insert("resource".into(), json!(true));
    pulumi.insert("name".into(), json!(package.name));
    pulumi.insert("version".into(), json!(package.version));
    if let Some(server) = &package.plugin_download_url {
        pulumi.insert("server".into(), json!(server));
    }
    let mut doc = Map::new();
    doc.insert("name".into(), json!(node_package_name(package)));
    doc.insert("version".into(), json!(package.version));
    let description = package
        .nodejs
        .package_description
        .clone()
        .or_else(|| package.description.clone());
    if let Some(d) = description {
        doc.insert("description".into(), json!(d));
    }
    doc.insert("keywords".into(), json!(package.keywords));
    if let Some(h) = &package.homepage {
        doc.insert("homepage".into(), json!(h));
    }
    if let Some(r) = &package.repository {
        doc.insert("repository".into(), json!(r));
    }
    if let Some(l) = &package.license {
        doc.insert("license".into(), json!(l));
    }
    doc.insert("main".into(), json!("bin/index.js"));
    doc.insert("types".into(), json!("bin/index.d.ts"));
    // The published tarball holds the compiled SDK, not its TypeScript sources (a bundler such as
    // SST's esbuild step then resolves `main`/`types` only).
    doc.insert("files".into(), json!(["bin/", "README.md"]));
    doc.insert("scripts".into(), json!({ "build": "tsc" }));
    doc.insert("dependencies".into(), Json::Object(dependencies));
    doc.insert(
        "devDependencies".into(),
        json!({ "@types/node": "^20", "typescript": "^5" }),
    );
    doc.insert("pulumi".into(), Json::Object(pulumi));
    serde_json::to_string_pretty(&Json::Object(doc)).unwrap_or_default() + "\n"
}

fn tsconfig(package: &Package) -> String {
    let mut files: Vec<String> = package
        .resources
        .keys()
        .map(|t| format!("{}.ts", lower_camel(token_name(t))))
        .collect();
    files.extend(
        [
            "index.ts",
            "provider.ts",
            "types/enums/index.ts",
            "types/index.ts",
            "types/input.ts",
            "types/output.ts",
            "utilities.ts",
        ]
        .map(str::to_owned),
    );
    files.sort();
    let doc = json!({
        "compilerOptions": {
            "outDir": "bin",
            "target": "es2020",
            "module": "commonjs",
            "moduleResolution": "node",
            "declaration": true,
            "sourceMap": true,
            "stripInternal": true,
            "experimentalDecorators": true,
            "noFallthroughCasesInSwitch": true,
            "forceConsistentCasingInFileNames": true,
            "strict": true,
        },
        "files": files,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

fn utilities(package: &Package) -> String {
    let server = package.plugin_download_url.as_deref().unwrap_or_default();
    let mut out = header();
    let _ = write!(
        out,
        r#"import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

/** The version of this SDK, which is also the provider plugin version it asks the engine for. */
export const version = {version};

/** Where the engine downloads the provider plugin from when it is not installed. */
export const pluginDownloadURL = {server};

export function getVersion(): string {{
    return version;
}}

/** Resource options every resource of this package starts from. */
export function resourceOptsDefaults(): any {{
    return {{ version: getVersion(), pluginDownloadURL: pluginDownloadURL }};
}}

/** Marks a value secret, leaving "not set" as it is. */
export function secret(value: any): any {{
    return value === undefined || value === null ? value : pulumi.secret(value);
}}

/**
 * Marks the fields at `paths` inside a value secret, so nested secrets (a password inside a
 * list of credentials) are encrypted in state while the rest stays readable. A path step is a
 * property name, or "*" for every element of a list or map. Where a value is only known later
 * (an Output or a Promise) its inside cannot be reached, so the whole value is made secret:
 * secrecy is never lost, at worst widened.
 */
export function secretPaths<T>(value: T, paths: string[][]): T {{
    let result: any = value;
    for (const path of paths) {{
        result = markSecret(result, path);
    }}
    return result;
}}

function markSecret(value: any, path: string[]): any {{
    if (value === undefined || value === null) {{
        return value;
    }}
    if (path.length === 0 || pulumi.Output.isInstance(value) || value instanceof Promise) {{
        return pulumi.secret(value);
    }}
    const [step, ...rest] = path;
    if (step === "*") {{
        if (Array.isArray(value)) {{
            return value.map((v) => markSecret(v, rest));
        }}
        if (typeof value === "object") {{
            const out: {{[key: string]: any}} = {{}};
            for (const [k, v] of Object.entries(value)) {{
                out[k] = markSecret(v, rest);
            }}
            return out;
        }}
        return value;
    }}
    if (typeof value === "object" && step in value) {{
        return {{ ...value, [step]: markSecret(value[step], rest) }};
    }}
    return value;
}}
/**
 * Makes the local filesystem paths at `paths` inside a value absolute, resolved against the
 * directory the program runs in (`process.cwd()`), so a relative path means that directory
 * wherever the provider plugin runs (under SST the plugin runs in `.sst/platform`). A path
 * step is a property name, or "*" for every element of a list or map; an empty path is the
 * value itself. Outputs and Promises are resolved when their value is known (secrecy is kept);
 * absolute paths, empty strings and values that are not strings are left as they are.
 */
export function resolveLocalPaths<T>(value: T, paths: string[][]): T {{
    let result: any = value;
    for (const p of paths) {{
        result = resolveAt(result, p);
    }}
    return result;
}}

function resolveAt(value: any, steps: string[]): any {{
    if (value === undefined || value === null) {{
        return value;
    }}
    if (pulumi.Output.isInstance(value) || value instanceof Promise) {{
        return pulumi.output(value).apply((v: any) => resolveAt(v, steps));
    }}
    if (steps.length === 0) {{
        return typeof value === "string" && value !== "" && !path.isAbsolute(value)
            ? path.resolve(value)
            : value;
    }}
    const [step, ...rest] = steps;
    if (step === "*") {{
        if (Array.isArray(value)) {{
            return value.map((v) => resolveAt(v, rest));
        }}
        if (typeof value === "object") {{
            const out: {{[key: string]: any}} = {{}};
            for (const [k, v] of Object.entries(value)) {{
                out[k] = resolveAt(v, rest);
            }}
            return out;
        }}
        return value;
    }}
    if (typeof value === "object" && step in value) {{
        return {{ ...value, [step]: resolveAt(value[step], rest) }};
    }}
    return value;
}}
"#,
        version = quote(&package.version),
        server = quote(server),
    );
    out
}

fn index(package: &Package) -> String {
    let mut out = header();
    out.push_str("import * as pulumi from \"@pulumi/pulumi\";\nimport * as utilities from \"./utilities\";\n\n// Export members:\n");
    let mut modules: Vec<String> = package
        .resources
        .keys()
        .map(|t| lower_camel(token_name(t)))
        .collect();
    modules.push("provider".into());
    modules.sort();
    for m in &modules {
        let _ = writeln!(out, "export * from \"./{m}\";");
    }
    out.push_str("\n// Export sub-modules:\nimport * as types from \"./types\";\n\nexport {\n    types,\n};\n\n");
    for token in package.resources.keys() {
        let name = token_name(token);
        let _ = writeln!(out, "import {{ {name} }} from \"./{}\";", lower_camel(name));
    }
    out.push_str("import { Provider } from \"./provider\";\n\n");
    out.push_str("const _module = {\n    version: utilities.getVersion(),\n    construct: (name: string, type: string, urn: string): pulumi.Resource => {\n        switch (type) {\n");
    for token in package.resources.keys() {
        let _ = writeln!(
            out,
            "            case {}:\n                return new {}(name, <any>undefined, {{ urn }});",
            quote(token),
            token_name(token)
        );
    }
    out.push_str("            default:\n                throw new Error(`unknown resource type ${type}`);\n        }\n    },\n};\n");
    let _ = writeln!(
        out,
        "pulumi.runtime.registerResourceModule({pkg}, \"index\", _module);\npulumi.runtime.registerResourcePackage({pkg}, {{\n    version: utilities.getVersion(),\n    constructProvider: (name: string, type: string, urn: string): pulumi.ProviderResource => {{\n        if (type !== {provider}) {{\n            throw new Error(`unknown provider type ${{type}}`);\n        }}\n        return new Provider(name, <any>undefined, {{ urn }});\n    }},\n}});",
        pkg = quote(&package.name),
        provider = quote(&format!("pulumi:providers:{}", package.name)),
    );
    out
}

fn readme(package: &Package) -> String {
    let name = node_package_name(package);
    let mut out = format!("# {name}\n\n");
    if let Some(d) = &package.description {
        let _ = writeln!(out, "{d}\n");
    }
    let _ = writeln!(
        out,
        "The Node.js SDK of the `{pkg}` Pulumi provider, generated by `sdk-gen` from `schema.json`: do not edit it by hand.\n\nResources: {resources}.{sst}\n\nBuild it with `npm install && npm run build` (TypeScript compiles to `bin/`). The provider plugin `pulumi-resource-{pkg}` v{version} is downloaded by the engine from `{server}`, or installed by hand with `pulumi plugin install resource {pkg} {version} --file <tarball>`.",
        pkg = package.name,
        sst = sst_note(package, &name),
        version = package.version,
        server = package.plugin_download_url.as_deref().unwrap_or("(no download URL)"),
        resources = package
            .resources
            .keys()
            .map(|t| format!("`{}`", token_name(t)))
            .collect::<Vec<_>>()
            .join(", "),
    );
    out
}

/// A README paragraph saying how SST finds the package, when `sst add` can find it by the
/// plugin's name; empty otherwise.
fn sst_note(package: &Package, node_name: &str) -> String {
    if !sst_lookup_names(&package.name)
        .iter()
        .any(|n| n == node_name)
    {
        return String::new();
    }
    format!(
        "\n\nWith SST: `sst add {pkg}` finds this package on npm and makes it the global `{global}` in `sst.config.ts`.",
        pkg = package.name,
        global = sst_global_name(node_name, &package.name),
    )
}
