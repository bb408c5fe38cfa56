"""Conformance: drive the provider with the official Pulumi Python gRPC client.

The Rust harness and the provider share one set of protobuf bindings, so a
mistake in those bindings would go unnoticed there. This test uses the stubs
and messages shipped in the official ``pulumi`` PyPI package instead, a client
nobody on this project wrote, and checks the answers the engine relies on.
"""

import json
import os
import pathlib
import signal
import subprocess
import threading
from concurrent import futures

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import (
    engine_pb2_grpc,
    provider_pb2,
    provider_pb2_grpc,
)

REPO = pathlib.Path(__file__).resolve().parents[2]
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SIG = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
FIXTURE = "imagedeploy:testing:Fixture"
MAX_MESSAGE = 400 * 1024 * 1024
PROVIDER_URN = "urn:pulumi:dev::conformance::pulumi:providers:imagedeploy::default"


def fixture_urn(name):
    return f"urn:pulumi:dev::conformance::{FIXTURE}::{name}"


def provider_binary():
    explicit = os.environ.get("IMAGEDEPLOY_PROVIDER_BIN")
    if explicit:
        return pathlib.Path(explicit)
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    if not target.is_absolute():
        target = REPO / target
    return target / "debug" / "pulumi-resource-imagedeploy"


class RecordingEngine(engine_pb2_grpc.EngineServicer):
    """Stand-in for the engine's Log service (mock: no Pulumi CLI here)."""

    def __init__(self):
        self.logs = []
        self.lock = threading.Lock()

    def Log(self, request, context):
        with self.lock:
            self.logs.append(
                (request.severity, request.message, request.urn, request.ephemeral)
            )
        return empty_pb2.Empty()


@pytest.fixture(scope="module")
def engine():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = RecordingEngine()
    engine_pb2_grpc.add_EngineServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", servicer
    server.stop(grace=None)


@pytest.fixture(scope="module")
def provider(engine):
    binary = provider_binary()
    if not binary.is_file():
        pytest.fail(
            f"provider binary not found at {binary}: run `cargo build -p imagedeploy` first "
            "or set IMAGEDEPLOY_PROVIDER_BIN"
        )
    address, _ = engine
    env = dict(os.environ, IMAGEDEPLOY_TEST_RESOURCES="1")
    proc = subprocess.Popen(
        [str(binary), "--logtostderr", "-v=3", address],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        line = proc.stdout.readline().decode()
        assert line.endswith("\n") and line.strip().isdigit(), (
            f"first stdout line must be the port, got {line!r}; "
            f"stderr: {proc.stderr.read1(65536).decode(errors='replace') if proc.poll() is not None else ''}"
        )
        channel = grpc.insecure_channel(
            f"127.0.0.1:{line.strip()}",
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE),
                ("grpc.max_send_message_length", MAX_MESSAGE),
            ],
        )
        grpc.channel_ready_future(channel).result(timeout=10)
        yield provider_pb2_grpc.ResourceProviderStub(channel), proc
        channel.close()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def to_struct(obj):
    s = struct_pb2.Struct()
    s.update(obj)
    return s


def from_struct(s):
    return json_format.MessageToDict(s)


def test_handshake_accepts_secrets_and_resources(provider, engine):
    stub, _ = provider
    address, _ = engine
    resp = stub.Handshake(
        provider_pb2.ProviderHandshakeRequest(
            engine_address=address, configure_with_urn=True
        )
    )
    assert resp.accept_secrets
    assert resp.accept_resources
    info = stub.GetPluginInfo(empty_pb2.Empty())
    assert info.version, "GetPluginInfo must carry a semver version"


def test_get_schema_without_configure(provider):
    stub, _ = provider
    resp = stub.GetSchema(provider_pb2.GetSchemaRequest(version=0))
    schema = json.loads(resp.schema)
    assert schema["name"] == "imagedeploy"
    assert "imagedeploy:index:Image" in schema["resources"]
    assert "imagedeploy:index:Service" in schema["resources"]


def test_check_config_and_configure(provider):
    stub, _ = provider
    news = {"region": "us-east-1", "skipCredentialsValidation": "true", "version": "0.1.0"}
    checked = stub.CheckConfig(
        provider_pb2.CheckRequest(
            urn=PROVIDER_URN,
            olds=to_struct({}),
            news=to_struct(news),
            name="default",
            type="pulumi:providers:imagedeploy",
        )
    )
    assert list(checked.failures) == []
    bad = stub.CheckConfig(
        provider_pb2.CheckRequest(
            urn=PROVIDER_URN,
            olds=to_struct({}),
            news=to_struct({"region": 12, "wrongKey": "x"}),
            name="default",
            type="pulumi:providers:imagedeploy",
        )
    )
    named = {f.property for f in bad.failures}
    assert "region" in named and "wrongKey" in named, list(bad.failures)

    resp = stub.Configure(
        provider_pb2.ConfigureRequest(
            args=checked.inputs,
            acceptSecrets=True,
            acceptResources=True,
            sends_old_inputs=True,
            sends_old_inputs_to_delete=True,
        )
    )
    assert resp.acceptSecrets
    assert resp.supportsPreview


def test_check_passes_an_unknown_through(provider):
    stub, _ = provider
    news = {
        "value": UNKNOWN,
        "secretValue": {SIG: SECRET_SIG, "value": UNKNOWN},
    }
    resp = stub.Check(
        provider_pb2.CheckRequest(
            urn=fixture_urn("a"),
            olds=to_struct({}),
            news=to_struct(news),
            randomSeed=b"\x01" * 32,
            name="a",
            type=FIXTURE,
        )
    )
    assert list(resp.failures) == []
    inputs = from_struct(resp.inputs)
    assert inputs["value"] == UNKNOWN
    assert inputs["secretValue"][SIG] == SECRET_SIG
    assert inputs["secretValue"]["value"] == UNKNOWN


def test_check_garbage_names_each_property(provider):
    stub, _ = provider
    resp = stub.Check(
        provider_pb2.CheckRequest(
            urn=fixture_urn("g"),
            olds=to_struct({}),
            news=to_struct({"value": 3, "tags": "x", "nope": True}),
            name="g",
            type=FIXTURE,
        )
    )
    named = {f.property.split(".")[0].split("[")[0] for f in resp.failures}
    assert {"value", "tags", "nope"} <= named, list(resp.failures)


def test_diff_reports_update_and_replace_with_detailed_diff(provider):
    stub, _ = provider
    olds_in = {"value": "one", "replaceKey": "k1"}
    olds_out = dict(olds_in, result="value=one", generation=1)

    def diff(news):
        return stub.Diff(
            provider_pb2.DiffRequest(
                id="fixture-00000001",
                urn=fixture_urn("d"),
                olds=to_struct(olds_out),
                news=to_struct(news),
                old_inputs=to_struct(olds_in),
                name="d",
                type=FIXTURE,
            )
        )

    none = diff(olds_in)
    assert none.changes == provider_pb2.DiffResponse.DIFF_NONE

    upd = diff({"value": "two", "replaceKey": "k1"})
    assert upd.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert upd.detailedDiff["value"].kind == provider_pb2.PropertyDiff.UPDATE
    assert "value" in upd.diffs
    assert list(upd.replaces) == []

    rep = diff({"value": "one", "replaceKey": "k2"})
    assert rep.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert rep.detailedDiff["replaceKey"].kind == provider_pb2.PropertyDiff.UPDATE_REPLACE
    assert "replaceKey" in rep.replaces

    unknown = diff({"value": UNKNOWN, "replaceKey": "k1"})
    assert unknown.changes == provider_pb2.DiffResponse.DIFF_SOME, "an unknown counts as a change"


def test_create_preview_and_real_create(provider):
    stub, _ = provider
    props = to_struct({"value": "v"})
    preview = stub.Create(
        provider_pb2.CreateRequest(
            urn=fixture_urn("c"), properties=props, preview=True, name="c", type=FIXTURE
        )
    )
    assert from_struct(preview.properties).get("result") in ("value=v", UNKNOWN, None)
    real = stub.Create(
        provider_pb2.CreateRequest(
            urn=fixture_urn("c"), properties=props, preview=False, name="c", type=FIXTURE
        )
    )
    assert real.id.startswith("fixture-")
    out = from_struct(real.properties)
    assert out["result"] == "value=v"
    assert UNKNOWN not in json.dumps(out)


def test_unimplemented_rpcs_say_so(provider):
    stub, _ = provider
    with pytest.raises(grpc.RpcError) as err:
        stub.Invoke(provider_pb2.InvokeRequest(tok="imagedeploy:index:none"))
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_refresh_reads_then_diffs_the_engine_way_round(provider):
    """Refresh as `RefreshStep.Apply` does it: Read with the recorded state,
    then Diff with the refreshed outputs and inputs as the olds and the
    program's last inputs as the news. Nothing changed outside: no diff."""
    stub, _ = provider
    inputs = {"value": "r", "tags": {"team.x": "a"}}
    created = stub.Create(
        provider_pb2.CreateRequest(
            urn=fixture_urn("r"), properties=to_struct(inputs), preview=False, name="r", type=FIXTURE
        )
    )
    outputs = from_struct(created.properties)
    read = stub.Read(
        provider_pb2.ReadRequest(
            id=created.id,
            urn=fixture_urn("r"),
            properties=to_struct(outputs),
            inputs=to_struct(inputs),
            name="r",
            type=FIXTURE,
        )
    )
    assert read.id == created.id
    refreshed_inputs = from_struct(read.inputs)
    assert refreshed_inputs["value"] == "r"
    diff = stub.Diff(
        provider_pb2.DiffRequest(
            id=read.id,
            urn=fixture_urn("r"),
            olds=read.properties,
            news=to_struct(inputs),
            old_inputs=read.inputs,
            ignoreChanges=['tags["team.x"]'],
            name="r",
            type=FIXTURE,
        )
    )
    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE


def test_import_reads_with_only_an_id_and_a_wrong_id_names_the_form(provider):
    """`ImportStep.Apply` calls Read with only an id: no properties, no
    inputs. An Image id that is not a pinned reference gets an error naming
    the expected form; a resource that cannot be imported says so."""
    stub, _ = provider
    image_urn = "urn:pulumi:dev::conformance::imagedeploy:index:Image::imp"
    with pytest.raises(grpc.RpcError) as err:
        stub.Read(
            provider_pb2.ReadRequest(
                id="127.0.0.1:5000/app:latest",
                urn=image_urn,
                name="imp",
                type="imagedeploy:index:Image",
            )
        )
    assert "registry/repository@sha256:" in err.value.details()
    assert "refresh" not in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        stub.Read(
            provider_pb2.ReadRequest(
                id="fixture-00000001", urn=fixture_urn("imp"), name="imp", type=FIXTURE
            )
        )
    assert "cannot be imported" in err.value.details()


def test_cancel_then_sigint_exits_cleanly(provider):
    stub, proc = provider
    try:
        stub.Cancel(empty_pb2.Empty())
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.UNIMPLEMENTED
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=5) == 0
    rest = proc.stdout.read().decode()
    assert rest == "", f"stdout must hold only the port line, also got {rest!r}"
