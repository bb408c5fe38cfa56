//! One Python module per resource (and the provider): its Args class and the
//! resource class with `__init__` overloads, `_internal_init`, `get` and getters.

use std::fmt::Write as _;

use super::types::{args_class, param_docs};
use super::{getter, header, kwarg_hint, output_hint, py_literal, IMPORTS};
use crate::error::GenError;
use crate::model::{local_paths, nested_secret_paths, output_only, replace_on_changes, Step};
use crate::names::python_name;
use crate::schema::{token_name, Package, Property, Resource, TypeRef};
use crate::text::{py_doc_lines, quote};

/// Names a property must not take: members of `pulumi.Resource` and the
/// constructor's own parameters.
const RESERVED: &[&str] = &[
    "id",
    "urn",
    "get",
    "opts",
    "resource_name",
    "args",
    "__props__",
];

fn check_names(resource: &Resource) -> Result<(), GenError> {
    for p in resource.properties.iter().chain(&resource.input_properties) {
        let py = python_name(&p.name);
        if RESERVED.contains(&py.as_str()) {
            return Err(GenError::NameClash {
                at: format!("{}.{}", resource.token, p.name),
                name: py,
                what: "a member of pulumi.Resource or a constructor parameter".into(),
                language: "Python",
            });
        }
    }
    Ok(())
}

/// A list of paths as a Python literal of `(python_name, schema_name)` steps.
fn paths_literal(paths: &[Vec<Step>]) -> String {
    let paths: Vec<String> = paths
        .iter()
        .map(|path| {
            let steps: Vec<String> = path
                .iter()
                .map(|s| match s {
                    Step::Field(f) => format!("({}, {})", quote(&python_name(f)), quote(f)),
                    Step::Each => "(\"*\", \"*\")".into(),
                })
                .collect();
            format!("[{}]", steps.join(", "))
        })
        .collect();
    format!("[{}]", paths.join(", "))
}

/// The value stored for input `p`: provider JSON encoding, local paths made
/// absolute (resources only), nested secret marking and secret wrapping, in
/// that order (defaults were applied before).
fn input_expression(package: &Package, p: &Property, provider: bool) -> String {
    let py = python_name(&p.name);
    let mut expr = py.clone();
    if provider && !matches!(p.ty, TypeRef::String) {
        // Provider inputs travel as strings: JSON-encode everything else.
        expr = format!("pulumi.Output.from_input({py}).apply(pulumi.runtime.to_json) if {py} is not None else None");
    }
    let local = local_paths(package, p);
    if !provider && !local.is_empty() {
        expr = format!(
            "_utilities.resolve_local_paths({expr}, {})",
            paths_literal(&local)
        );
    }
    let nested = nested_secret_paths(package, &p.ty);
    if !nested.is_empty() {
        expr = format!(
            "_utilities.secret_paths({expr}, {})",
            paths_literal(&nested)
        );
    }
    if p.secret {
        expr = format!("_utilities.secret({expr})");
    }
    expr
}

fn doc_block(description: Option<&str>, params: &[(String, String, Option<String>)]) -> String {
    let mut out = String::from("        \"\"\"\n");
    if let Some(d) = description {
        for line in py_doc_lines(d) {
            if line.is_empty() {
                out.push('\n');
            } else {
                let _ = writeln!(out, "        {line}");
            }
        }
        out.push('\n');
    }
    out.push_str(&param_docs(params, "        "));
    out.push_str("        \"\"\"\n");
    out
}

struct ClassSpec<'a> {
    class: &'a str,
    token_literal: String,
    base: &'a str,
    outputs: Vec<&'a Property>,
    provider: bool,
}

/// The Python class of one resource: the two `__init__` overloads, the
/// dispatching `__init__` and `_internal_init`, `get`, and the output getters.
fn class_body(package: &Package, resource: &Resource, spec: &ClassSpec<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n\nclass {}({}):", spec.class, spec.base);
    out.push_str(&overloads(package, resource, spec.class));
    out.push_str(&init_methods(package, resource, spec));
    if !spec.provider {
        out.push_str(&get_method(resource, spec.class));
    }
    out.push_str(&output_getters(package, resource, spec));
    out
}

/// The two typed `__init__` overloads: keyword arguments, or an Args object.
fn overloads(package: &Package, resource: &Resource, class: &str) -> String {
    let inputs = &resource.input_properties;
    let mut out = String::new();
    // Overload 1: keyword arguments.
    out.push_str("    @overload\n    def __init__(__self__,\n                 resource_name: str,\n                 opts: Optional[pulumi.ResourceOptions] = None");
    for p in inputs {
        let _ = write!(
            out,
            ",\n                 {}: Optional[{}] = None",
            python_name(&p.name),
            kwarg_hint(package, &p.ty)
        );
    }
    out.push_str(",\n                 __props__=None):\n");
    let mut params = vec![
        (
            "resource_name".to_string(),
            "str".to_string(),
            Some("The name of the resource.".to_string()),
        ),
        (
            "opts".to_string(),
            "pulumi.ResourceOptions".to_string(),
            Some("Options for the resource.".to_string()),
        ),
    ];
    params.extend(inputs.iter().map(|p| {
        (
            python_name(&p.name),
            kwarg_hint(package, &p.ty),
            p.description.clone(),
        )
    }));
    out.push_str(&doc_block(resource.description.as_deref(), &params));
    out.push_str("        ...\n\n");

    // Overload 2: an Args object.
    let args_hint = if resource.required_inputs.is_empty() {
        format!("Optional[{class}Args] = None")
    } else {
        format!("{class}Args")
    };
    let _ = writeln!(
        out,
        "    @overload\n    def __init__(__self__,\n                 resource_name: str,\n                 args: {args_hint},\n                 opts: Optional[pulumi.ResourceOptions] = None):"
    );
    let params = vec![
        (
            "resource_name".to_string(),
            "str".to_string(),
            Some("The name of the resource.".to_string()),
        ),
        (
            "args".to_string(),
            format!("{class}Args"),
            Some("The arguments to use to populate this resource's properties.".to_string()),
        ),
        (
            "opts".to_string(),
            "pulumi.ResourceOptions".to_string(),
            Some("Options for the resource.".to_string()),
        ),
    ];
    out.push_str(&doc_block(resource.description.as_deref(), &params));
    out.push_str("        ...\n\n");

    out
}

/// `__init__`, which dispatches on the overload, and `_internal_init`.
fn init_methods(package: &Package, resource: &Resource, spec: &ClassSpec<'_>) -> String {
    let class = spec.class;
    let inputs = &resource.input_properties;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "    def __init__(__self__, resource_name: str, *args, **kwargs):\n        resource_args, opts = _utilities.get_resource_args_opts({class}Args, pulumi.ResourceOptions, *args, **kwargs)\n        if resource_args is not None:\n            __self__._internal_init(resource_name, opts, **resource_args.__dict__)\n        else:\n            __self__._internal_init(resource_name, *args, **kwargs)\n"
    );

    out.push_str("    def _internal_init(__self__,\n                 resource_name: str,\n                 opts: Optional[pulumi.ResourceOptions] = None");
    for p in inputs {
        let _ = write!(
            out,
            ",\n                 {}: Optional[{}] = None",
            python_name(&p.name),
            kwarg_hint(package, &p.ty)
        );
    }
    out.push_str(",\n                 __props__=None):\n");
    let _ = writeln!(
        out,
        "        opts = pulumi.ResourceOptions.merge(_utilities.get_resource_opts_defaults(), opts)\n        if not isinstance(opts, pulumi.ResourceOptions):\n            raise TypeError('Expected resource options to be a ResourceOptions instance')\n        if opts.id is None:\n            if __props__ is not None:\n                raise TypeError('__props__ is only valid when passed in combination with a valid opts.id to get an existing resource')\n            __props__ = {class}Args.__new__({class}Args)\n"
    );
    for p in inputs {
        let py = python_name(&p.name);
        if let Some(default) = &p.default {
            let _ = writeln!(
                out,
                "            if {py} is None:\n                {py} = {}",
                py_literal(default)
            );
        }
        if resource.is_required_input(&p.name) && p.default.is_none() {
            let _ = writeln!(
                out,
                "            if {py} is None and not opts.urn:\n                raise TypeError(\"Missing required property '{py}'\")"
            );
        }
        let _ = writeln!(
            out,
            "            __props__.__dict__[\"{py}\"] = {}",
            input_expression(package, p, spec.provider)
        );
    }
    if !spec.provider {
        for p in output_only(resource) {
            let _ = writeln!(
                out,
                "            __props__.__dict__[\"{}\"] = None",
                python_name(&p.name)
            );
        }
    }
    if inputs.is_empty() && (spec.provider || output_only(resource).next().is_none()) {
        out.push_str("            pass\n");
    }
    let secrets: Vec<String> = if spec.provider {
        Vec::new()
    } else {
        resource
            .properties
            .iter()
            .filter(|p| p.secret)
            .map(|p| quote(&p.name))
            .collect()
    };
    if !secrets.is_empty() {
        let _ = writeln!(
            out,
            "        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=[{}])\n        opts = pulumi.ResourceOptions.merge(opts, secret_opts)",
            secrets.join(", ")
        );
    }
    let replaces: Vec<String> = if spec.provider {
        Vec::new()
    } else {
        replace_on_changes(package, inputs)
            .iter()
            .map(|p| quote(p))
            .collect()
    };
    if !replaces.is_empty() {
        let _ = writeln!(
            out,
            "        replace_on_changes = pulumi.ResourceOptions(replace_on_changes=[{}])\n        opts = pulumi.ResourceOptions.merge(opts, replace_on_changes)",
            replaces.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "        super({class}, __self__).__init__(\n            {},\n            resource_name,\n            __props__,\n            opts)",
        spec.token_literal
    );
    out
}

/// `get`: the resource's state by id.
fn get_method(resource: &Resource, class: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
            out,
            "\n    @staticmethod\n    def get(resource_name: str,\n            id: pulumi.Input[str],\n            opts: Optional[pulumi.ResourceOptions] = None) -> '{class}':\n        \"\"\"\n        Get an existing {class} resource's state with the given name and id.\n\n        :param str resource_name: The unique name of the resulting resource.\n        :param pulumi.Input[str] id: The unique provider ID of the resource to look up.\n        :param pulumi.ResourceOptions opts: Options for the resource.\n        \"\"\"\n        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id))\n\n        __props__ = {class}Args.__new__({class}Args)\n"
        );
    for p in &resource.properties {
        let _ = writeln!(
            out,
            "        __props__.__dict__[\"{}\"] = None",
            python_name(&p.name)
        );
    }
    let _ = writeln!(
        out,
        "        return {class}(resource_name, opts=opts, __props__=__props__)"
    );
    out
}

/// One `@property` per output.
fn output_getters(package: &Package, resource: &Resource, spec: &ClassSpec<'_>) -> String {
    let mut out = String::new();
    for p in &spec.outputs {
        let py = python_name(&p.name);
        let hint = output_hint(package, &p.ty);
        let hint = if resource.is_required_output(&p.name) {
            hint
        } else {
            format!("Optional[{hint}]")
        };
        let _ = writeln!(
            out,
            "\n    @property\n    {}\n    def {py}(self) -> pulumi.Output[{hint}]:",
            getter(&p.name, &py)
        );
        out.push_str(&crate::text::py_docstring(
            p.description.as_deref(),
            "        ",
        ));
        let _ = writeln!(out, "        return pulumi.get(self, \"{py}\")");
    }
    out
}

pub fn resource_file(package: &Package, resource: &Resource) -> Result<String, GenError> {
    check_names(resource)?;
    let class = token_name(&resource.token);
    let mut out = header()
        + IMPORTS
        + "from . import outputs\nfrom ._enums import *\nfrom ._inputs import *\n\n";
    let _ = writeln!(out, "__all__ = ['{class}Args', '{class}']\n\n");
    let props: Vec<&Property> = resource.input_properties.iter().collect();
    let required = |n: &str| resource.is_required_input(n);
    out.push_str(&args_class(
        package,
        &format!("{class}Args"),
        Some(&format!(
            "The set of arguments for constructing a {class} resource."
        )),
        &props,
        &required,
    ));
    out.push_str(&class_body(
        package,
        resource,
        &ClassSpec {
            class,
            token_literal: quote(&resource.token),
            base: "pulumi.CustomResource",
            outputs: resource.properties.iter().collect(),
            provider: false,
        },
    ));
    Ok(out)
}

pub fn provider_file(package: &Package) -> Result<String, GenError> {
    let provider = &package.provider;
    check_names(provider)?;
    let mut out = header()
        + IMPORTS
        + "from . import outputs\nfrom ._enums import *\nfrom ._inputs import *\n\n";
    out.push_str("__all__ = ['ProviderArgs', 'Provider']\n\n\n");
    let props: Vec<&Property> = provider.input_properties.iter().collect();
    let required = |n: &str| provider.is_required_input(n);
    out.push_str(&args_class(
        package,
        "ProviderArgs",
        Some("The set of arguments for constructing a Provider resource."),
        &props,
        &required,
    ));
    // A provider's outputs are its string inputs (Pulumi's convention).
    let as_outputs = Resource {
        properties: provider.input_properties.clone(),
        ..provider.clone()
    };
    out.push_str(&class_body(
        package,
        &as_outputs,
        &ClassSpec {
            class: "Provider",
            token_literal: quote(&package.name),
            base: "pulumi.ProviderResource",
            outputs: as_outputs
                .properties
                .iter()
                .filter(|p| p.ty == TypeRef::String)
                .collect(),
            provider: true,
        },
    ));
    Ok(out)
}
