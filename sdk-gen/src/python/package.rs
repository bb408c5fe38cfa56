//! `__init__.py`, `_utilities.py`, `pulumi-plugin.json`, `py.typed`,
//! `pyproject.toml` and the README.

use std::fmt::Write as _;

use serde_json::json;

use super::header;
use crate::names::snake_case;
use crate::schema::{token_name, Package};
use crate::text::quote;
use crate::Files;

pub fn module_name(package: &Package) -> String {
    package
        .python
        .package_name
        .clone()
        .unwrap_or_else(|| format!("pulumi_{}", package.name))
}

pub fn package_files(package: &Package, module: &str) -> Files {
    let mut files = Files::new();
    files.insert(format!("{module}/__init__.py"), init(package));
    files.insert(format!("{module}/_utilities.py"), utilities(package));
    files.insert(format!("{module}/pulumi-plugin.json"), plugin_json(package));
    files.insert(format!("{module}/py.typed"), String::new());
    files.insert("pyproject.toml".into(), pyproject(package, module));
    files.insert("README.md".into(), readme(package, module));
    files
}

fn plugin_json(package: &Package) -> String {
    let mut doc = serde_json::Map::new();
    doc.insert("resource".into(), json!(true));
    doc.insert("name".into(), json!(package.name));
    doc.insert("version".into(), json!(package.version));
    if let Some(server) = &package.plugin_download_url {
        doc.insert("server".into(), json!(server));
    }
    serde_json::to_string_pretty(&serde_json::Value::Object(doc)).unwrap_or_default() + "\n"
}

fn init(package: &Package) -> String {
    let mut out = header();
    out.push_str("import builtins\nimport pulumi\nfrom . import _utilities\n\n# Export this package's modules as members:\nfrom ._enums import *\n");
    let mut modules: Vec<String> = package
        .resources
        .keys()
        .map(|t| snake_case(token_name(t)))
        .collect();
    modules.push("provider".into());
    modules.sort();
    for m in &modules {
        let _ = writeln!(out, "from .{m} import *");
    }
    out.push_str("from ._inputs import *\nfrom . import outputs\n\n");
    out.push_str("from .provider import Provider as _Provider\n");
    for token in package.resources.keys() {
        let name = token_name(token);
        let _ = writeln!(out, "from .{} import {name} as _{name}", snake_case(name));
    }
    out.push_str("\n\nclass _Module(pulumi.runtime.ResourceModule):\n    def version(self):\n        return _utilities.get_semver_version()\n\n    def construct(self, name: str, typ: str, urn: str) -> pulumi.Resource:\n");
    for token in package.resources.keys() {
        let name = token_name(token);
        let _ = writeln!(
            out,
            "        if typ == {}:\n            return _{name}(name, pulumi.ResourceOptions(urn=urn))",
            quote(token)
        );
    }
    out.push_str("        raise Exception(f\"unknown resource type {typ}\")\n\n\n");
    let _ = writeln!(
        out,
        "class _Package(pulumi.runtime.ResourcePackage):\n    def version(self):\n        return _utilities.get_semver_version()\n\n    def construct_provider(self, name: str, typ: str, urn: str) -> pulumi.ProviderResource:\n        if typ != {provider}:\n            raise Exception(f\"unknown provider type {{typ}}\")\n        return _Provider(name, pulumi.ResourceOptions(urn=urn))\n\n\npulumi.runtime.register_resource_module({pkg}, \"index\", _Module())\npulumi.runtime.register_resource_package({pkg}, _Package())",
        provider = quote(&format!("pulumi:providers:{}", package.name)),
        pkg = quote(&package.name),
    );
    out
}

fn utilities(package: &Package) -> String {
    let mut out = header();
    let _ = write!(
        out,
        r#"import copy
import inspect
import os
from collections.abc import Mapping, Sequence
from typing import Any, Optional

import pulumi
from semver import VersionInfo as SemverVersion

_VERSION = {version}
_PLUGIN_DOWNLOAD_URL = {server}


def get_version() -> str:
    """The version of this SDK, which is also the provider plugin version it asks the engine for."""
    return _VERSION


def get_semver_version() -> SemverVersion:
    return SemverVersion.parse(_VERSION)


def get_plugin_download_url() -> Optional[str]:
    """Where the engine downloads the provider plugin from when it is not installed."""
    return _PLUGIN_DOWNLOAD_URL or None


def get_resource_opts_defaults() -> pulumi.ResourceOptions:
    """Resource options every resource of this package starts from."""
    return pulumi.ResourceOptions(
        version=get_version(),
        plugin_download_url=get_plugin_download_url(),
    )


def get_resource_args_opts(resource_args_type, resource_options_type, *args, **kwargs):
    """
    Finds the Args object and the options among a resource constructor's arguments:
    `Res(name, args, opts)`, `Res(name, args=..., opts=...)` or `Res(name, opts, **props)`.
    Returns `(None, opts)` when the properties were passed as keyword arguments.
    """
    resource_args, opts = None, None
    if args and isinstance(args[0], resource_args_type):
        resource_args, args = args[0], args[1:]
    if args and isinstance(args[0], resource_options_type):
        opts = args[0]
    if resource_args is None and isinstance(kwargs.get("args"), resource_args_type):
        resource_args = kwargs.get("args")
    if opts is None and isinstance(kwargs.get("opts"), resource_options_type):
        opts = kwargs.get("opts")
    return resource_args, opts


def secret(value: Any) -> Any:
    """Marks a value secret, leaving "not set" as it is."""
    return None if value is None else pulumi.Output.secret(value)


def secret_paths(value: Any, paths: list) -> Any:
    """
    Marks the fields at `paths` inside a value secret, so nested secrets (a password inside a
    list of credentials) are encrypted in state while the rest stays readable. A path step is a
    `(python_name, schema_name)` pair, or `("*", "*")` for every element of a list or map. Where a
    value is only known later (an Output or an awaitable) its inside cannot be reached, so the
    whole value is made secret: secrecy is never lost, at worst widened.
    """
    for path in paths:
        value = _mark_secret(value, path)
    return value


def _mark_secret(value: Any, path: list) -> Any:
    if value is None:
        return None
    if not path or isinstance(value, pulumi.Output) or inspect.isawaitable(value):
        return pulumi.Output.secret(value)
    (py_name, schema_name), rest = path[0], path[1:]
    if py_name == "*":
        if isinstance(value, Mapping):
            return {{k: _mark_secret(v, rest) for k, v in value.items()}}
        if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
            return [_mark_secret(v, rest) for v in value]
        return value
    if isinstance(value, Mapping):
        marked = dict(value)
        for key in {{py_name, schema_name}}:
            if key in marked:
                marked[key] = _mark_secret(marked[key], rest)
        return marked
    fields = getattr(value, "__dict__", None)
    if isinstance(fields, dict) and py_name in fields:
        marked = copy.copy(value)
        marked.__dict__[py_name] = _mark_secret(fields[py_name], rest)
        return marked
    return value

def resolve_local_paths(value: Any, paths: list) -> Any:
    """
    Makes the local filesystem paths at `paths` inside a value absolute, resolved against the
    directory the program runs in (`os.getcwd()`), so a relative path means that directory
    wherever the provider plugin runs. A path step is a `(python_name, schema_name)` pair, or
    `("*", "*")` for every element of a list or map; an empty path is the value itself. Outputs
    and awaitables are resolved when their value is known (secrecy is kept); absolute paths,
    empty strings and values that are not strings are left as they are.
    """
    for path in paths:
        value = _resolve_at(value, path)
    return value


def _resolve_at(value: Any, path: list) -> Any:
    if value is None:
        return None
    if isinstance(value, pulumi.Output) or inspect.isawaitable(value):
        return pulumi.Output.from_input(value).apply(lambda v: _resolve_at(v, path))
    if not path:
        if isinstance(value, str) and value and not os.path.isabs(value):
            return os.path.abspath(value)
        return value
    (py_name, schema_name), rest = path[0], path[1:]
    if py_name == "*":
        if isinstance(value, Mapping):
            return {{k: _resolve_at(v, rest) for k, v in value.items()}}
        if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
            return [_resolve_at(v, rest) for v in value]
        return value
    if isinstance(value, Mapping):
        resolved = dict(value)
        for key in {{py_name, schema_name}}:
            if key in resolved:
                resolved[key] = _resolve_at(resolved[key], rest)
        return resolved
    fields = getattr(value, "__dict__", None)
    if isinstance(fields, dict) and py_name in fields:
        resolved = copy.copy(value)
        resolved.__dict__[py_name] = _resolve_at(fields[py_name], rest)
        return resolved
    return value
"#,
        version = quote(&package.version),
        server = quote(package.plugin_download_url.as_deref().unwrap_or_default()),
    );
    out
}

fn pyproject(package: &Package, module: &str) -> String {
    let mut deps: Vec<String> = package
        .python
        .requires
        .iter()
        .map(|(name, spec)| format!("{name}{spec}"))
        .collect();
    if !package.python.requires.iter().any(|(n, _)| n == "pulumi") {
        deps.push("pulumi>=3.0.0,<4.0.0".into());
    }
    deps.push("semver>=2.8.1".into());
    deps.push("typing-extensions>=4.11; python_version < \"3.11\"".into());
    let mut out = String::new();
    let _ = writeln!(out, "[project]\nname = {}", quote(module));
    let _ = writeln!(out, "version = {}", quote(&package.version));
    if let Some(d) = &package.description {
        let _ = writeln!(out, "description = {}", quote(d));
    }
    out.push_str("readme = \"README.md\"\nrequires-python = \">=3.9\"\n");
    let _ = writeln!(
        out,
        "keywords = [{}]",
        package
            .keywords
            .iter()
            .map(|k| quote(k))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "dependencies = [{}]",
        deps.iter().map(|d| quote(d)).collect::<Vec<_>>().join(", ")
    );
    if let Some(l) = &package.license {
        let _ = writeln!(out, "license = {}", quote(l));
    }
    if package.homepage.is_some() || package.repository.is_some() {
        out.push_str("\n[project.urls]\n");
        if let Some(h) = &package.homepage {
            let _ = writeln!(out, "Homepage = {}", quote(h));
        }
        if let Some(r) = &package.repository {
            let _ = writeln!(out, "Repository = {}", quote(r));
        }
    }
    let _ = writeln!(
        out,
        "\n[build-system]\nrequires = [\"setuptools>=77.0\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[tool.setuptools]\npackages = [{m}]\n\n[tool.setuptools.package-data]\n{m} = [\"py.typed\", \"pulumi-plugin.json\"]",
        m = quote(module)
    );
    out
}

fn readme(package: &Package, module: &str) -> String {
    let mut out = format!("# {module}\n\n");
    if let Some(d) = &package.description {
        let _ = writeln!(out, "{d}\n");
    }
    let _ = writeln!(
        out,
        "The Python SDK of the `{pkg}` Pulumi provider, generated by `sdk-gen` from `schema.json`: do not edit it by hand.\n\nResources: {resources}.\n\nInstall it with `pip install ./sdk/python` (or from a built wheel). The provider plugin `pulumi-resource-{pkg}` v{version} is downloaded by the engine from `{server}`, or installed by hand with `pulumi plugin install resource {pkg} {version} --file <tarball>`.",
        pkg = package.name,
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
