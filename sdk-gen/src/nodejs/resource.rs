//! One TypeScript file per resource (and the provider): the resource class,
//! its `Args` interface and its `State` interface.

use std::fmt::Write as _;

use super::{header, input_type, output_type};
use crate::error::GenError;
use crate::model::{local_paths, nested_secret_paths, output_only, replace_on_changes, Step};
use crate::schema::{token_name, Package, Property, Resource, TypeRef};
use crate::text::{jsdoc, quote};

/// Members of `pulumi.CustomResource` a property must not shadow.
const RESERVED: &[&str] = &[
    "id",
    "urn",
    "getProvider",
    "__pulumiType",
    "isInstance",
    "get",
];

fn check_names(resource: &Resource) -> Result<(), GenError> {
    for p in resource.properties.iter().chain(&resource.input_properties) {
        if RESERVED.contains(&p.name.as_str()) {
            return Err(GenError::NameClash {
                at: format!("{}.{}", resource.token, p.name),
                name: p.name.clone(),
                what: "a member of pulumi.CustomResource".into(),
                language: "Node.js",
            });
        }
    }
    Ok(())
}

/// A list of paths as a TypeScript literal: `[["location"], ["*", "name"]]`.
fn paths_literal(paths: &[Vec<Step>]) -> String {
    let paths: Vec<String> = paths
        .iter()
        .map(|path| {
            let steps: Vec<String> = path
                .iter()
                .map(|s| match s {
                    Step::Field(f) => quote(f),
                    Step::Each => "\"*\"".into(),
                })
                .collect();
            format!("[{}]", steps.join(", "))
        })
        .collect();
    format!("[{}]", paths.join(", "))
}

/// The expression that puts `args.<p>` into `resourceInputs`: default, local
/// paths made absolute (resources only), nested secret marking and secret
/// wrapping, in that order.
fn input_expression(package: &Package, p: &Property, provider: bool) -> String {
    let mut expr = format!("args?.{}", p.name);
    if let Some(default) = &p.default {
        expr = format!("({expr} ?? {default})");
    }
    if provider && !matches!(p.ty, TypeRef::String) {
        // Provider inputs travel as strings: JSON-encode everything else.
        expr = format!("pulumi.output({expr}).apply(JSON.stringify)");
    }
    let local = local_paths(package, p);
    if !provider && !local.is_empty() {
        expr = format!(
            "utilities.resolveLocalPaths({expr}, {})",
            paths_literal(&local)
        );
    }
    let nested = nested_secret_paths(package, &p.ty);
    if !nested.is_empty() {
        expr = format!("utilities.secretPaths({expr}, {})", paths_literal(&nested));
    }
    if p.secret {
        expr = format!("utilities.secret({expr})");
    }
    expr
}

fn args_interface(package: &Package, resource: &Resource, class: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "/**\n * The set of arguments for constructing a {class} resource.\n */\nexport interface {class}Args {{"
    );
    for p in &resource.input_properties {
        out.push_str(&jsdoc(p.description.as_deref(), "    "));
        let optional = if resource.is_required_input(&p.name) {
            ""
        } else {
            "?"
        };
        let _ = writeln!(
            out,
            "    {}{optional}: {};",
            p.name,
            input_type(package, &p.ty)
        );
    }
    out.push_str("}\n");
    out
}

/// Every property a lookup may qualify: outputs first, then inputs that are not outputs.
fn state_properties(resource: &Resource) -> Vec<&Property> {
    let mut props: Vec<&Property> = resource.properties.iter().collect();
    props.extend(
        resource
            .input_properties
            .iter()
            .filter(|p| resource.output(&p.name).is_none()),
    );
    props
}

/// The state type of an output-only property: `pulumi.Input` wrapping as
/// for inputs, but object types (alone, or in lists and maps) from
/// output.ts, where the types only outputs use exist alone.
fn output_only_state_type(package: &Package, ty: &TypeRef) -> String {
    match ty {
        TypeRef::Named(token) if package.object(token).is_some() => {
            format!("pulumi.Input<outputs.{}>", token_name(token))
        }
        TypeRef::Array(inner) => {
            format!("pulumi.Input<{}[]>", output_only_state_type(package, inner))
        }
        TypeRef::Map(inner) => format!(
            "pulumi.Input<{{[key: string]: {}}}>",
            output_only_state_type(package, inner)
        ),
        other => input_type(package, other),
    }
}

fn state_interface(package: &Package, resource: &Resource, class: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "/**\n * Input properties used for looking up and filtering {class} resources.\n */\nexport interface {class}State {{"
    );
    for p in state_properties(resource) {
        out.push_str(&jsdoc(p.description.as_deref(), "    "));
        let ty = if resource.input(&p.name).is_none() {
            output_only_state_type(package, &p.ty)
        } else {
            input_type(package, &p.ty)
        };
        let _ = writeln!(out, "    {}?: {ty};", p.name);
    }
    out.push_str("}\n");
    out
}

fn output_fields(package: &Package, resource: &Resource, only_strings: bool) -> String {
    let mut out = String::new();
    for p in &resource.properties {
        if only_strings && p.ty != TypeRef::String {
            continue;
        }
        let ty = output_type(package, &p.ty);
        let ty = if resource.is_required_output(&p.name) {
            ty
        } else {
            format!("{ty} | undefined")
        };
        out.push_str(&jsdoc(p.description.as_deref(), "    "));
        let _ = writeln!(out, "    public readonly {}!: pulumi.Output<{ty}>;", p.name);
    }
    out
}

const IMPORTS: &str = "import * as pulumi from \"@pulumi/pulumi\";\n\
import * as inputs from \"./types/input\";\n\
import * as outputs from \"./types/output\";\n\
import * as enums from \"./types/enums\";\n\
import * as utilities from \"./utilities\";\n\n";

pub fn resource_file(package: &Package, resource: &Resource) -> Result<String, GenError> {
    check_names(resource)?;
    let class = token_name(&resource.token);
    let mut out = header();
    out.push_str(IMPORTS);
    out.push_str(&jsdoc(resource.description.as_deref(), ""));
    let _ = writeln!(out, "export class {class} extends pulumi.CustomResource {{");
    let _ = writeln!(
        out,
        "    /**\n     * Get an existing {class} resource's state with the given name, ID, and optional extra\n     * properties used to qualify the lookup.\n     *\n     * @param name The _unique_ name of the resulting resource.\n     * @param id The _unique_ provider ID of the resource to lookup.\n     * @param state Any extra arguments used during the lookup.\n     * @param opts Optional settings to control the behavior of the CustomResource.\n     */\n    public static get(name: string, id: pulumi.Input<pulumi.ID>, state?: {class}State, opts?: pulumi.CustomResourceOptions): {class} {{\n        return new {class}(name, <any>state, {{ ...opts, id: id }});\n    }}\n"
    );
    let _ = writeln!(
        out,
        "    /** @internal */\n    public static readonly __pulumiType = {};\n",
        quote(&resource.token)
    );
    let _ = writeln!(
        out,
        "    /**\n     * Returns true if the given object is an instance of {class}.  This is designed to work even\n     * when multiple copies of the Pulumi SDK have been loaded into the same process.\n     */\n    public static isInstance(obj: any): obj is {class} {{\n        if (obj === undefined || obj === null) {{\n            return false;\n        }}\n        return obj['__pulumiType'] === {class}.__pulumiType;\n    }}\n"
    );
    out.push_str(&output_fields(package, resource, false));
    let args_optional = if resource.required_inputs.is_empty() {
        "?"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "\n    /**\n     * Create a {class} resource with the given unique name, arguments, and options.\n     *\n     * @param name The _unique_ name of the resource.\n     * @param args The arguments to use to populate this resource's properties.\n     * @param opts A bag of options that control this resource's behavior.\n     */\n    constructor(name: string, args{args_optional}: {class}Args, opts?: pulumi.CustomResourceOptions)\n    constructor(name: string, argsOrState?: {class}Args | {class}State, opts?: pulumi.CustomResourceOptions) {{\n        let resourceInputs: pulumi.Inputs = {{}};\n        opts = opts || {{}};\n        if (opts.id) {{\n            const state = argsOrState as {class}State | undefined;"
    );
    for p in state_properties(resource) {
        let _ = writeln!(
            out,
            "            resourceInputs[\"{0}\"] = state?.{0};",
            p.name
        );
    }
    let _ = writeln!(
        out,
        "        }} else {{\n            const args = argsOrState as {class}Args | undefined;"
    );
    for p in &resource.input_properties {
        if resource.is_required_input(&p.name) && p.default.is_none() {
            let _ = writeln!(
                out,
                "            if (args?.{0} === undefined && !opts.urn) {{\n                throw new Error(\"Missing required property '{0}'\");\n            }}",
                p.name
            );
        }
    }
    for p in &resource.input_properties {
        let _ = writeln!(
            out,
            "            resourceInputs[\"{}\"] = {};",
            p.name,
            input_expression(package, p, false)
        );
    }
    for p in output_only(resource) {
        let _ = writeln!(
            out,
            "            resourceInputs[\"{}\"] = undefined /*out*/;",
            p.name
        );
    }
    out.push_str(
        "        }\n        opts = pulumi.mergeOptions(utilities.resourceOptsDefaults(), opts);\n",
    );
    let secrets: Vec<String> = resource
        .properties
        .iter()
        .filter(|p| p.secret)
        .map(|p| quote(&p.name))
        .collect();
    if !secrets.is_empty() {
        let _ = writeln!(
            out,
            "        const secretOpts = {{ additionalSecretOutputs: [{}] }};\n        opts = pulumi.mergeOptions(opts, secretOpts);",
            secrets.join(", ")
        );
    }
    let replaces: Vec<String> = replace_on_changes(package, &resource.input_properties)
        .iter()
        .map(|p| quote(p))
        .collect();
    if !replaces.is_empty() {
        let _ = writeln!(
            out,
            "        const replaceOnChanges = {{ replaceOnChanges: [{}] }};\n        opts = pulumi.mergeOptions(opts, replaceOnChanges);",
            replaces.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "        super({class}.__pulumiType, name, resourceInputs, opts);\n    }}\n}}\n"
    );
    out.push_str(&args_interface(package, resource, class));
    out.push('\n');
    out.push_str(&state_interface(package, resource, class));
    Ok(out)
}

pub fn provider_file(package: &Package) -> Result<String, GenError> {
    let provider = &package.provider;
    check_names(provider)?;
    // A provider's outputs are its string inputs (Pulumi's convention).
    let as_outputs = Resource {
        properties: provider.input_properties.clone(),
        ..provider.clone()
    };
    let mut out = header();
    out.push_str(IMPORTS);
    out.push_str(&jsdoc(provider.description.as_deref(), ""));
    let _ = writeln!(
        out,
        "export class Provider extends pulumi.ProviderResource {{\n    /** @internal */\n    public static readonly __pulumiType = {};\n",
        quote(&package.name)
    );
    out.push_str("    /**\n     * Returns true if the given object is an instance of Provider.  This is designed to work even\n     * when multiple copies of the Pulumi SDK have been loaded into the same process.\n     */\n    public static isInstance(obj: any): obj is Provider {\n        if (obj === undefined || obj === null) {\n            return false;\n        }\n        return obj['__pulumiType'] === \"pulumi:providers:\" + Provider.__pulumiType;\n    }\n\n");
    out.push_str(&output_fields(package, &as_outputs, true));
    let args_optional = if provider.required_inputs.is_empty() {
        "?"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "\n    /**\n     * Create a Provider resource with the given unique name, arguments, and options.\n     *\n     * @param name The _unique_ name of the resource.\n     * @param args The arguments to use to populate this resource's properties.\n     * @param opts A bag of options that control this resource's behavior.\n     */\n    constructor(name: string, args{args_optional}: ProviderArgs, opts?: pulumi.ResourceOptions) {{\n        let resourceInputs: pulumi.Inputs = {{}};\n        opts = opts || {{}};\n        {{"
    );
    for p in &provider.input_properties {
        if provider.is_required_input(&p.name) && p.default.is_none() {
            let _ = writeln!(
                out,
                "            if (args?.{0} === undefined && !opts.urn) {{\n                throw new Error(\"Missing required property '{0}'\");\n            }}",
                p.name
            );
        }
    }
    for p in &provider.input_properties {
        let _ = writeln!(
            out,
            "            resourceInputs[\"{}\"] = {};",
            p.name,
            input_expression(package, p, true)
        );
    }
    out.push_str(
        "        }\n        opts = pulumi.mergeOptions(utilities.resourceOptsDefaults(), opts);\n",
    );
    out.push_str("        super(Provider.__pulumiType, name, resourceInputs, opts);\n    }\n}\n\n");
    out.push_str(&args_interface(package, provider, "Provider"));
    Ok(out)
}
