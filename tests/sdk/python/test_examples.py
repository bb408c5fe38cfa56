"""
Static checks of the YAML and Python examples against schema.json and the
generated SDK. No Pulumi CLI or AWS account exists where these tests run, so
the examples are not deployed here; what is checked:

- examples/yaml/Pulumi.yaml parses; every `imagedeploy:` resource type exists in
  schema.json, every property it sets (at any depth, through nested types,
  lists and maps) is an input of that type, literal values have the schema's
  type (enums: one of the values), required inputs are present, every
  `${resource.output}` reference to an imagedeploy resource names an output
  the schema declares, and `imagedeploy:` config keys exist.
  `aws:` resources are NOT checked (their schema is not available here).
- examples/python-fargate/__main__.py compiles, and every `imagedeploy.X(...)`
  call and `imagedeploy.Enum.MEMBER` it uses exists in the generated SDK with
  those keyword arguments. `pulumi_aws` calls are NOT checked.
"""

import ast
import inspect
import json
import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "schema.json").read_text())
PACKAGE = SCHEMA["name"]
REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_-]*)\.([A-Za-z_][A-Za-z0-9_]*)")


def canonical_token(token: str) -> str:
    """`pkg:Image` is YAML shorthand for `pkg:index:Image`."""
    parts = token.split(":")
    return f"{parts[0]}:index:{parts[1]}" if len(parts) == 2 else token


def is_expression(value) -> bool:
    if isinstance(value, str):
        return value.startswith("${") and value.endswith("}") and value.count("${") == 1
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith("fn::")


def check_value(value, spec: dict, where: str, problems: list):
    """Checks a literal YAML value against a schema property spec."""
    if is_expression(value):
        return  # computed at deploy time; only its shape around it can be checked
    if "$ref" in spec:
        ref = spec["$ref"]
        if not ref.startswith("#/types/"):
            return
        typ = SCHEMA["types"].get(ref[len("#/types/"):])
        if typ is None:
            problems.append(f"{where}: schema refers to a missing type {ref}")
            return
        if "enum" in typ:
            allowed = [e["value"] for e in typ["enum"]]
            if value not in allowed:
                problems.append(f"{where}: {value!r} is not one of {allowed}")
            return
        check_object(value, typ.get("properties", {}), typ.get("required", []), where, problems)
        return
    kind = spec.get("type")
    if kind == "string":
        if not isinstance(value, str):
            problems.append(f"{where}: expected a string, got {value!r}")
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{where}: expected an integer, got {value!r}")
    elif kind == "number":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append(f"{where}: expected a number, got {value!r}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{where}: expected a boolean, got {value!r}")
    elif kind == "array":
        if not isinstance(value, list):
            problems.append(f"{where}: expected a list, got {value!r}")
            return
        for i, item in enumerate(value):
            check_value(item, spec["items"], f"{where}[{i}]", problems)
    elif kind == "object":
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a map, got {value!r}")
            return
        for k, v in value.items():
            check_value(v, spec.get("additionalProperties", {}), f"{where}.{k}", problems)


def check_object(value, properties: dict, required: list, where: str, problems: list):
    if not isinstance(value, dict):
        problems.append(f"{where}: expected an object, got {value!r}")
        return
    for name in required:
        if name not in value:
            problems.append(f"{where}: required property {name!r} is missing")
    for name, v in value.items():
        if name not in properties:
            problems.append(f"{where}.{name}: no such property (known: {sorted(properties)})")
            continue
        check_value(v, properties[name], f"{where}.{name}", problems)


def yaml_problems(program: dict) -> list:
    problems = []
    resources = program.get("resources") or {}
    ours = {}
    for name, res in resources.items():
        token = canonical_token(res.get("type", ""))
        if not token.startswith(PACKAGE + ":"):
            continue
        spec = SCHEMA["resources"].get(token)
        if spec is None:
            problems.append(f"resources.{name}: type {res['type']!r} is not in schema.json")
            continue
        ours[name] = spec
        check_object(
            res.get("properties") or {},
            spec.get("inputProperties", {}),
            spec.get("requiredInputs", []),
            f"resources.{name}.properties",
            problems,
        )
    # `${name.prop}` anywhere: prop must be an output (or input) of an imagedeploy resource.
    text = yaml.safe_dump(program)
    for name, prop in REFERENCE.findall(text):
        if name in ours:
            spec = ours[name]
            if prop not in spec.get("properties", {}) and prop not in ("id", "urn"):
                problems.append(f"${{{name}.{prop}}}: {name} has no output {prop!r}")
    for key in program.get("config") or {}:
        if key.startswith(PACKAGE + ":"):
            var = key.split(":", 1)[1]
            if var not in SCHEMA["config"]["variables"]:
                problems.append(f"config {key}: not a config variable of {PACKAGE}")
    return problems


def test_yaml_example_uses_only_what_the_schema_declares():
    program = yaml.safe_load((ROOT / "examples" / "yaml" / "Pulumi.yaml").read_text())
    assert program["runtime"] == "yaml"
    used = {canonical_token(r["type"]) for r in program["resources"].values()}
    assert {f"{PACKAGE}:index:Image", f"{PACKAGE}:index:Service"} <= used
    assert yaml_problems(program) == []


def test_the_yaml_checker_catches_mistakes():
    """The checker above must be able to fail: feed it a broken program."""
    broken = {
        "config": {"imagedeploy:regoin": {"value": "x"}},
        "resources": {
            "image": {"type": "imagedeploy:Image", "properties": {"contxt": {"location": "."}}},
            "svc": {
                "type": "imagedeploy:index:Service",
                "properties": {
                    "cluster": "c",
                    "launchType": "FARGATE_SPOT",
                    "containers": [{"name": "web", "image": "${image.digets}", "cpu": "lots"}],
                },
            },
            "nope": {"type": "imagedeploy:index:Nope"},
        },
    }
    problems = "\n".join(yaml_problems(broken))
    for expected in [
        "resources.image.properties: required property 'context' is missing",
        "resources.image.properties.contxt: no such property",
        "launchType: 'FARGATE_SPOT' is not one of",
        "containers[0].cpu: expected an integer",
        "${image.digets}: image has no output 'digets'",
        "type 'imagedeploy:index:Nope' is not in schema.json",
        "config imagedeploy:regoin",
    ]:
        assert expected in problems, f"{expected!r} not reported in:\n{problems}"


def python_example_problems(source: str) -> list:
    import pulumi_imagedeploy as imagedeploy

    tree = ast.parse(source)
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "imagedeploy":
            if not hasattr(imagedeploy, node.attr):
                problems.append(f"line {node.lineno}: imagedeploy.{node.attr} does not exist")
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and isinstance(node.value.value, ast.Name)
            and node.value.value.id == "imagedeploy"
        ):
            owner = getattr(imagedeploy, node.value.attr, None)
            if owner is not None and not hasattr(owner, node.attr):
                problems.append(f"line {node.lineno}: imagedeploy.{node.value.attr}.{node.attr} does not exist")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "imagedeploy"
        ):
            target = getattr(imagedeploy, node.func.attr, None)
            if target is None:
                continue
            if inspect.isclass(target) and issubclass(target, __import__("pulumi").Resource):
                params = inspect.signature(target._internal_init).parameters
            else:
                params = inspect.signature(target).parameters
            for kw in node.keywords:
                if kw.arg is not None and kw.arg not in params:
                    problems.append(f"line {node.lineno}: imagedeploy.{node.func.attr} has no argument {kw.arg!r}")
    return problems


def test_python_example_uses_only_what_the_sdk_declares():
    source = (ROOT / "examples" / "python-fargate" / "__main__.py").read_text()
    compile(source, "__main__.py", "exec")
    assert python_example_problems(source) == []
    assert "imagedeploy.Image(" in source and "imagedeploy.Service(" in source


def test_the_python_example_checker_catches_mistakes():
    broken = (
        "import pulumi_imagedeploy as imagedeploy\n"
        "imagedeploy.Image('x', contxt=imagedeploy.BuildContextArgs(location='.'))\n"
        "imagedeploy.Service('s', launch_type=imagedeploy.LaunchType.FARGATE_SPOT)\n"
        "imagedeploy.Imagee('y')\n"
    )
    problems = "\n".join(python_example_problems(broken))
    assert "imagedeploy.Image has no argument 'contxt'" in problems
    assert "imagedeploy.LaunchType.FARGATE_SPOT does not exist" in problems
    assert "imagedeploy.Imagee does not exist" in problems
