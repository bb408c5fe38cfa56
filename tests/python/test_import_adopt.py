"""Import through the official `pulumi` Python stubs, with real parts.

`pulumi import` (and the `import` resource option) runs `ImportStep.Apply`:
Read with only an id, then `continueStepsFromImport` checks the program's
inputs against what Read answered and diffs them with the imported outputs.
Here the program is the inputs Read answered, so the Diff must find no
change and the provider must write nothing. The ECS service is made by hand
with boto3 against a real moto server (not by this provider), and the image
is pushed with plain HTTP calls to a real docker-registry.
"""

import hashlib
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import grpc
import pytest
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from test_conformance import (  # noqa: F401  (engine: the Log service fixture)
    PROVIDER_URN,
    engine,
    from_struct,
    provider_binary,
    to_struct,
)

REGION = "us-east-1"
SERVICE = "imagedeploy:index:Service"
IMAGE = "imagedeploy:index:Image"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def urn(ty, name):
    return f"urn:pulumi:dev::adopt::{ty}::{name}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, what, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{what} did not listen on {port} within {seconds}s")


def serve(argv, port):
    """Starts a server and waits until it listens on `port`."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, proc, pathlib.Path(argv[0]).name)
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def program(name):
    venv = pathlib.Path(__file__).resolve().parents[2] / ".venv" / "bin" / name
    found = venv if venv.is_file() else shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (scripts/setup installs it)")
    return str(found)


@pytest.fixture(scope="module")
def moto():
    port = free_port()
    proc = serve([program("moto_server"), "-H", "127.0.0.1", "-p", str(port)], port)
    yield f"http://127.0.0.1:{port}"
    stop(proc)


@pytest.fixture(scope="module")
def registry():
    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    if not os.path.exists(binary):
        pytest.skip("docker-registry is not installed (scripts/setup installs it)")
    port = free_port()
    with tempfile.TemporaryDirectory() as root:
        config = pathlib.Path(root) / "config.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: warn\n"
            f"storage:\n  filesystem:\n    rootdirectory: {root}/data\n"
            f"http:\n  addr: 127.0.0.1:{port}\n"
        )
        proc = serve([binary, "serve", str(config)], port)
        yield f"127.0.0.1:{port}"
        stop(proc)


@pytest.fixture(scope="module")
def adopter(engine, moto):
    """A provider process configured for moto, as the engine would start it."""
    address, _ = engine
    proc = subprocess.Popen(
        [str(provider_binary()), address],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, **AWS_ENV),
    )
    port = proc.stdout.readline().decode().strip()
    assert port.isdigit(), f"first stdout line must be the port, got {port!r}"
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    grpc.channel_ready_future(channel).result(timeout=10)
    stub = provider_pb2_grpc.ResourceProviderStub(channel)
    # Config as the engine sends it from the stack's settings (strings),
    # through CheckConfig, then Configure with what CheckConfig answered.
    config = {
        "region": REGION,
        "endpoints": json.dumps({"ecs": moto, "ecr": moto, "logs": moto}),
        "skipCredentialsValidation": "true",
    }
    checked = stub.CheckConfig(
        provider_pb2.CheckRequest(
            urn=PROVIDER_URN, olds=to_struct({}), news=to_struct(config),
            name="default", type="pulumi:providers:imagedeploy",
        )
    )
    assert list(checked.failures) == [], list(checked.failures)
    stub.Configure(
        provider_pb2.ConfigureRequest(
            args=checked.inputs, acceptSecrets=True, acceptResources=True
        )
    )
    yield stub
    channel.close()
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()


def aws(service, moto):
    import boto3

    return boto3.client(
        service,
        endpoint_url=moto,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def push_image(registry, repository):
    """Pushes a one-layer image with the registry's HTTP API; returns its digest."""
    base = f"http://{registry}/v2/{repository}"

    def blob(data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        start = urllib.request.urlopen(
            urllib.request.Request(f"{base}/blobs/uploads/", method="POST")
        )
        location = start.headers["Location"]
        if location.startswith("/"):
            location = f"http://{registry}{location}"
        sep = "&" if "?" in location else "?"
        urllib.request.urlopen(
            urllib.request.Request(
                f"{location}{sep}digest={digest}", data=data, method="PUT",
                headers={"Content-Type": "application/octet-stream"},
            )
        )
        return {"digest": digest, "size": len(data)}

    import gzip
    import io
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        body = b"adopted\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(body)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(body))
    layer_bytes = gzip.compress(raw.getvalue(), mtime=0)
    diff_id = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
    config_bytes = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/hello.txt"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    ).encode()
    layer = blob(layer_bytes)
    config = blob(config_bytes)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": dict(config, mediaType="application/vnd.oci.image.config.v1+json"),
            "layers": [dict(layer, mediaType="application/vnd.oci.image.layer.v1.tar+gzip")],
        }
    ).encode()
    urllib.request.urlopen(
        urllib.request.Request(
            f"{base}/manifests/v1", data=manifest, method="PUT",
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        )
    )
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


def import_then_check_and_diff(stub, ty, name, id):
    """`ImportStep.Apply` then `continueStepsFromImport`, with the program
    being exactly the inputs Read answered."""
    read = stub.Read(provider_pb2.ReadRequest(id=id, urn=urn(ty, name), name=name, type=ty))
    assert read.id, f"{ty} {id} was not found"
    inputs = from_struct(read.inputs)
    checked = stub.Check(
        provider_pb2.CheckRequest(
            urn=urn(ty, name), olds=read.inputs, news=read.inputs,
            randomSeed=os.urandom(32), name=name, type=ty,
        )
    )
    assert list(checked.failures) == [], list(checked.failures)
    diff = stub.Diff(
        provider_pb2.DiffRequest(
            id=read.id, urn=urn(ty, name), olds=read.properties, news=checked.inputs,
            old_inputs=read.inputs, name=name, type=ty,
        )
    )
    return read, inputs, from_struct(read.properties), diff


def test_a_service_made_by_hand_is_imported_and_shows_no_change(adopter, moto, registry):
    ec2 = aws("ec2", moto)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    ecs = aws("ecs", moto)
    ecs.create_cluster(clusterName="prod")
    digest = push_image(registry, "team/web")
    image = f"{registry}/team/web@{digest}"
    task = ecs.register_task_definition(
        family="web",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "web",
                "image": image,
                "essential": True,
                "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                "environment": [{"name": "MODE", "value": "prod"}],
            }
        ],
    )["taskDefinition"]
    ecs.create_service(
        cluster="prod",
        serviceName="web",
        taskDefinition=task["taskDefinitionArn"],
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": [subnet],
                "securityGroups": [group],
                "assignPublicIp": "DISABLED",
            }
        },
    )

    read, inputs, outputs, diff = import_then_check_and_diff(adopter, SERVICE, "web", "prod/web")
    assert read.id == "prod/web"
    assert inputs["cluster"] == "prod" and inputs["name"] == "web", inputs
    assert inputs["launchType"] == "FARGATE", inputs
    assert inputs["containers"][0]["image"] == image, inputs
    assert inputs["containers"][0]["environment"] == {"MODE": "prod"}, inputs
    assert inputs["networkConfiguration"]["subnets"] == [subnet], inputs
    assert outputs["taskDefinitionArn"] == task["taskDefinitionArn"], outputs
    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE, (
        list(diff.diffs), dict(diff.detailedDiff)
    )
    # Importing wrote nothing: still one revision, one service.
    revisions = ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"]
    assert revisions == [task["taskDefinitionArn"]], revisions
    assert len(ecs.list_services(cluster="prod")["serviceArns"]) == 1

    # A service that does not exist is not found (the engine reports it).
    missing = adopter.Read(
        provider_pb2.ReadRequest(
            id="prod/nothing", urn=urn(SERVICE, "nothing"), name="nothing", type=SERVICE
        )
    )
    assert missing.id == ""


def test_an_image_is_imported_by_its_pinned_ref(adopter, registry):
    digest = push_image(registry, "team/api")
    ref = f"{registry}/team/api@{digest}"
    read = adopter.Read(
        provider_pb2.ReadRequest(id=ref, urn=urn(IMAGE, "api"), name="api", type=IMAGE)
    )
    outputs = from_struct(read.properties)
    assert read.id == ref
    assert outputs["digest"] == digest, outputs
    assert outputs["ref"] == ref, outputs
    # Gone from the registry: not found, never a made-up state.
    gone = f"{registry}/team/api@sha256:{'0' * 64}"
    missing = adopter.Read(
        provider_pb2.ReadRequest(id=gone, urn=urn(IMAGE, "gone"), name="gone", type=IMAGE)
    )
    assert missing.id == ""
