"""
Runs the generated Python SDK against the `pulumi` package's own mock monitor
(`pulumi.runtime.set_mocks`): the real SDK serialisation path, with the engine
replaced by the mock Pulumi ships for exactly this purpose. Checks what the
engine would receive: type tokens, input names (camelCase on the wire) and
values, secret marking, resource options, and the required-property errors.
"""

import os

import pulumi
import pytest

SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
DIGEST = "sha256:" + "a" * 64
REF = "registry.example.com/app@" + DIGEST


class Mocks(pulumi.runtime.Mocks):
    def __init__(self):
        self.registered = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.registered.append(args)
        state = dict(args.inputs)
        if args.typ == "imagedeploy:index:Image":
            state.update(digest=DIGEST, ref=REF, sizeBytes=2000, layers=[{"digest": "sha256:" + "b" * 64, "sizeBytes": 1234, "new": True}])
        if args.typ == "imagedeploy:index:Service":
            state.update(taskDefinitionArn="arn:aws:ecs:us-east-1:123456789012:task-definition/web:1", revision=1)
        return [args.resource_id or f"{args.name}-id", state]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}

    def find(self, typ, name):
        found = [r for r in self.registered if r.typ == typ and r.name == name]
        assert len(found) == 1, f"expected one registration of {typ} {name}, saw {len(found)}"
        return found[0]


MOCKS = Mocks()
pulumi.runtime.set_mocks(MOCKS, project="sdk-test", stack="dev", preview=False)

import pulumi_imagedeploy as imagedeploy  # noqa: E402  (after set_mocks, as Pulumi documents)


def is_secret(value):
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def capture_opts(into):
    def transformation(args: pulumi.ResourceTransformationArgs):
        into.append(args.opts)
        return None

    return pulumi.ResourceOptions(transformations=[transformation])


@pulumi.runtime.test
def test_image_inputs_names_values_and_secrets():
    captured = []
    image = imagedeploy.Image(
        "web-image",
        context=imagedeploy.BuildContextArgs(location="./app"),
        dockerfile={"location": "./app/Dockerfile.prod"},
        build_args={"NODE_VERSION": "20"},
        platforms=["linux/amd64"],
        tags=["registry.example.com/app:latest"],
        push=True,
        registries=[
            imagedeploy.RegistryAuthArgs(address="registry.example.com", username="ci", password="hunter2"),
            {"address": "ghcr.io"},
        ],
        secrets={"npmrc": "//registry.npmjs.org/:_authToken=xyz"},
        build_timeout_seconds=600,
        builder=imagedeploy.BuilderSpecArgs(kind=imagedeploy.BuilderKind.BUILDAH),
        base_images=imagedeploy.BaseImagePolicy.PINNED,
        opts=capture_opts(captured),
    )

    def check(_):
        i = MOCKS.find("imagedeploy:index:Image", "web-image").inputs
        # Relative paths arrive absolute, resolved where the program runs.
        assert i["context"] == {"location": os.path.join(os.getcwd(), "app")}
        assert i["dockerfile"] == {"location": os.path.join(os.getcwd(), "app", "Dockerfile.prod")}
        assert i["buildArgs"] == {"NODE_VERSION": "20"}
        assert i["platforms"] == ["linux/amd64"]
        assert i["tags"] == ["registry.example.com/app:latest"]
        assert i["push"] is True
        assert i["buildTimeoutSeconds"] == 600
        assert i["builder"] == {"kind": "buildah"}
        assert i["baseImages"] == "pinned"
        for out in ["digest", "ref", "contentDigest", "contextHash", "sizeBytes", "layers", "platform"]:
            assert out not in i, f"output-only {out} must not be sent"
        # No Python spellings leak onto the wire.
        assert not [k for k in i if "_" in k], sorted(i)

        assert is_secret(i["secrets"]), i["secrets"]
        assert i["secrets"]["value"] == {"npmrc": "//registry.npmjs.org/:_authToken=xyz"}

        # registries[].password is marked secret by the SDK. The pulumi runtime lifts a nested
        # secret to the top-level property it sits in when it registers a resource, so the
        # engine receives `registries` as one secret value: secrecy is kept, never lost.
        assert is_secret(i["registries"]), i["registries"]
        assert i["registries"]["value"] == [
            {"address": "registry.example.com", "username": "ci", "password": "hunter2"},
            {"address": "ghcr.io"},
        ]

        opts = captured[0]
        assert opts.version == "0.1.0"
        assert opts.plugin_download_url == "github://api.github.com/imagedeploy/imagedeploy"
        assert opts.additional_secret_outputs == ["secrets"]

    def check_outputs(values):
        ref, layers, ref_secret, secrets_secret = values
        assert ref == REF
        assert len(layers) == 1
        assert layers[0]["size_bytes"] == 1234
        assert layers[0]["new"] is True
        assert ref_secret is False
        assert secrets_secret is True

    return pulumi.Output.all(
        image.urn.apply(check),
        pulumi.Output.all(
            image.ref,
            image.layers,
            image.ref.is_secret(),
            image.secrets.is_secret(),
        ).apply(check_outputs),
    )


@pulumi.runtime.test
def test_image_from_args_object_and_dict_registries():
    image = imagedeploy.Image(
        "args-object",
        imagedeploy.ImageArgs(
            context={"location": "."},
            registries=[{"address": "r.example.com", "password": "p"}],
        ),
    )

    def check(_):
        i = MOCKS.find("imagedeploy:index:Image", "args-object").inputs
        assert i["context"] == {"location": os.getcwd()}
        assert is_secret(i["registries"]), i["registries"]
        assert i["registries"]["value"] == [{"address": "r.example.com", "password": "p"}]

    return image.urn.apply(check)


@pulumi.runtime.test
def test_registries_without_a_password_are_not_secret():
    image = imagedeploy.Image(
        "public-registries",
        context={"location": "."},
        registries=[{"address": "ghcr.io", "username": "anonymous"}],
    )

    def check(_):
        i = MOCKS.find("imagedeploy:index:Image", "public-registries").inputs
        assert i["registries"] == [{"address": "ghcr.io", "username": "anonymous"}]
        assert "secrets" not in i

    return image.urn.apply(check)


@pulumi.runtime.test
def test_registries_inside_an_output_become_secret_as_a_whole():
    image = imagedeploy.Image(
        "output-registries",
        context={"location": "."},
        registries=pulumi.Output.from_input([{"address": "r.example.com", "password": "p"}]),
    )

    def check(_):
        i = MOCKS.find("imagedeploy:index:Image", "output-registries").inputs
        assert is_secret(i["registries"]), i["registries"]

    return image.urn.apply(check)


def test_image_without_context_raises():
    with pytest.raises(TypeError, match="Missing required property 'context'"):
        imagedeploy.Image("no-context")
    with pytest.raises(TypeError, match="Missing required property 'context'"):
        imagedeploy.Image("no-context-2", tags=["x"])


def test_service_without_required_inputs_raises():
    with pytest.raises(TypeError, match="Missing required property 'cluster'"):
        imagedeploy.Service("no-cluster", containers=[])
    with pytest.raises(TypeError, match="Missing required property 'containers'"):
        imagedeploy.Service("no-containers", cluster="prod")


@pulumi.runtime.test
def test_service_nested_inputs_enums_and_replace_on_changes():
    captured = []
    image = imagedeploy.Image("svc-image", context={"location": "./app"})
    service = imagedeploy.Service(
        "web",
        cluster="prod",
        launch_type=imagedeploy.LaunchType.FARGATE,
        cpu=256,
        memory=512,
        desired_count=2,
        network_configuration=imagedeploy.NetworkConfigurationArgs(
            subnets=["subnet-1", "subnet-2"], security_groups=["sg-1"], assign_public_ip=True
        ),
        containers=[
            imagedeploy.ContainerArgs(
                name="web",
                image=image.ref,
                essential=True,
                port_mappings=[imagedeploy.PortMappingArgs(container_port=8080, protocol=imagedeploy.Protocol.TCP)],
                environment={"PORT": "8080"},
                health_check={"command": ["CMD-SHELL", "wget -qO- localhost:8080/health"], "interval": 15},
                log_configuration={"log_driver": "awslogs", "options": {"awslogs-group": "/ecs/web"}},
            )
        ],
        runtime_platform={"cpu_architecture": imagedeploy.CpuArchitecture.ARM64},
        wait=imagedeploy.WaitOptionsArgs(for_steady_state=True, timeout_seconds=600),
        opts=capture_opts(captured),
    )

    def check(_):
        i = MOCKS.find("imagedeploy:index:Service", "web").inputs
        assert i["cluster"] == "prod"
        assert i["launchType"] == "FARGATE"
        assert i["cpu"] == 256
        assert i["memory"] == 512
        assert i["desiredCount"] == 2
        assert i["networkConfiguration"] == {
            "subnets": ["subnet-1", "subnet-2"],
            "securityGroups": ["sg-1"],
            "assignPublicIp": True,
        }
        (c,) = i["containers"]
        assert c["name"] == "web"
        assert c["image"] == REF
        assert c["portMappings"] == [{"containerPort": 8080, "protocol": "tcp"}]
        assert c["healthCheck"] == {"command": ["CMD-SHELL", "wget -qO- localhost:8080/health"], "interval": 15}
        assert c["logConfiguration"] == {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}}
        assert i["runtimePlatform"] == {"cpuArchitecture": "ARM64"}
        assert i["wait"] == {"forSteadyState": True, "timeoutSeconds": 600}
        for out in ["arn", "taskDefinitionArn", "revision", "images"]:
            assert out not in i, f"output-only {out} must not be sent"
        assert captured[0].replace_on_changes == ["cluster", "name", "deploymentController"]

    def check_outputs(values):
        arn, revision = values
        assert arn == "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
        assert revision == 1

    return pulumi.Output.all(
        service.urn.apply(check),
        pulumi.Output.all(service.task_definition_arn, service.revision).apply(check_outputs),
    )


@pulumi.runtime.test
def test_image_get_reads_by_id():
    image = imagedeploy.Image.get("existing", "existing-id")

    def check(id_):
        assert id_ == "existing-id"
        reg = MOCKS.find("imagedeploy:index:Image", "existing")
        assert reg.resource_id == "existing-id"

    return image.id.apply(check)


@pulumi.runtime.test
def test_provider_json_encodes_non_string_config():
    provider = imagedeploy.Provider(
        "explicit",
        region="eu-west-1",
        endpoints=imagedeploy.EndpointsArgs(ecs="http://127.0.0.1:5000"),
        skip_credentials_validation=True,
    )

    def check(_):
        i = MOCKS.find("pulumi:providers:imagedeploy", "explicit").inputs
        assert i["region"] == "eu-west-1"
        assert i["endpoints"] == '{"ecs": "http://127.0.0.1:5000"}'
        assert i["skipCredentialsValidation"] == "true"

    return provider.urn.apply(check)


@pulumi.runtime.test
def test_relative_locations_mean_the_programs_working_directory(tmp_path, monkeypatch):
    # The program runs in D (under SST: the app root), the plugin elsewhere (`.sst/platform`).
    d = os.path.realpath(tmp_path)
    monkeypatch.chdir(d)
    plain = imagedeploy.Image(
        "rel-plain",
        context=imagedeploy.BuildContextArgs(location="./app"),
        dockerfile={"location": "docker/Dockerfile.prod"},
    )
    # Outputs (one of them secret, one a whole Args object) resolve when known, still in D.
    outputs = imagedeploy.Image(
        "rel-outputs",
        context={"location": pulumi.Output.secret("./app")},
        dockerfile=pulumi.Output.from_input(
            imagedeploy.DockerfileArgs(location=pulumi.Output.from_input("../shared/Dockerfile"))
        ),
    )

    def check(_):
        p = MOCKS.find("imagedeploy:index:Image", "rel-plain").inputs
        assert p["context"] == {"location": os.path.join(d, "app")}
        assert p["dockerfile"] == {"location": os.path.join(d, "docker", "Dockerfile.prod")}
        o = MOCKS.find("imagedeploy:index:Image", "rel-outputs").inputs
        assert is_secret(o["context"]), o["context"]
        assert o["context"]["value"] == {"location": os.path.join(d, "app")}
        assert o["dockerfile"] == {"location": os.path.join(os.path.dirname(d), "shared", "Dockerfile")}

    return pulumi.Output.all(plain.urn, outputs.urn).apply(check)


@pulumi.runtime.test
def test_absolute_locations_and_inline_dockerfiles_are_sent_as_written():
    image = imagedeploy.Image(
        "abs-inline",
        # Not normalised either: an absolute path is the user's, exactly.
        context={"location": "/srv/checkout/../app"},
        dockerfile=imagedeploy.DockerfileArgs(inline="FROM scratch\nCOPY . /\n"),
    )
    other = imagedeploy.Image(
        "abs-dockerfile",
        context={"location": "/srv/app"},
        dockerfile=pulumi.Output.from_input({"location": "/srv/app/Dockerfile"}),
    )

    def check(_):
        i = MOCKS.find("imagedeploy:index:Image", "abs-inline").inputs
        assert i["context"] == {"location": "/srv/checkout/../app"}
        assert i["dockerfile"] == {"inline": "FROM scratch\nCOPY . /\n"}
        j = MOCKS.find("imagedeploy:index:Image", "abs-dockerfile").inputs
        assert j["dockerfile"] == {"location": "/srv/app/Dockerfile"}

    return pulumi.Output.all(image.urn, other.urn).apply(check)
