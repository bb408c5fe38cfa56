// Runs the generated Node.js SDK against @pulumi/pulumi's own mock monitor
// (`pulumi.runtime.setMocks`): the real SDK serialisation path, with the engine
// replaced by the mock Pulumi ships for exactly this purpose. Checks what the
// engine would receive: type tokens, input names and values, secret marking,
// resource options, and the required-property errors.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

import * as imagedeploy from "../../../sdk/nodejs";

// The mock monitor hands secrets to newResource as this envelope.
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

interface Registered {
    type: string;
    name: string;
    id?: string;
    inputs: any;
}
const registered: Registered[] = [];

pulumi.runtime.setMocks(
    {
        newResource(args: pulumi.runtime.MockResourceArgs) {
            registered.push({ type: args.type, name: args.name, id: args.id, inputs: args.inputs });
            const outputs: { [key: string]: any } = {};
            if (args.type === "imagedeploy:index:Image") {
                outputs.digest = "sha256:" + "a".repeat(64);
                outputs.ref = "registry.example.com/app@sha256:" + "a".repeat(64);
                outputs.layers = [{ digest: "sha256:" + "b".repeat(64), sizeBytes: 1234, new: true }];
                outputs.sizeBytes = 2000;
            }
            if (args.type === "imagedeploy:index:Service") {
                outputs.taskDefinitionArn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1";
                outputs.revision = 1;
            }
            return { id: args.id || `${args.name}-id`, state: { ...args.inputs, ...outputs } };
        },
        call(args: pulumi.runtime.MockCallArgs) {
            return args.inputs;
        },
    },
    "sdk-test",
    "dev",
    false,
);

function isSecretEnvelope(v: any): boolean {
    return v !== null && typeof v === "object" && v[SIG_KEY] === SECRET_SIG;
}

function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

/** Waits for the resource's registration and returns what the mock engine received. */
async function registration(resource: pulumi.CustomResource, type: string, name: string): Promise<Registered> {
    await valueOf(resource.urn);
    const found = registered.filter((r) => r.type === type && r.name === name);
    assert.equal(found.length, 1, `expected one registration of ${type} ${name}, saw ${found.length}`);
    return found[0];
}

/** Captures the options the SDK passed to the Resource constructor. */
function capturingOptions(into: { opts?: pulumi.ResourceOptions }): pulumi.CustomResourceOptions {
    return {
        transformations: [
            (args) => {
                into.opts = args.opts;
                return undefined;
            },
        ],
    };
}

test("Image sends its type token, inputs by schema name, and marks secrets", async () => {
    const captured: { opts?: pulumi.ResourceOptions } = {};
    const image = new imagedeploy.Image(
        "web-image",
        {
            context: { location: "./app" },
            dockerfile: { location: "./app/Dockerfile.prod" },
            buildArgs: { NODE_VERSION: "20" },
            platforms: ["linux/amd64"],
            tags: ["registry.example.com/app:latest"],
            push: true,
            registries: [
                { address: "registry.example.com", username: "ci", password: "hunter2" },
                { address: "ghcr.io" },
            ],
            secrets: { npmrc: "//registry.npmjs.org/:_authToken=xyz" },
            buildTimeoutSeconds: 600,
            builder: { kind: imagedeploy.types.enums.BuilderKind.Buildah },
            baseImages: imagedeploy.types.enums.BaseImagePolicy.Pinned,
        },
        capturingOptions(captured),
    );
    const reg = await registration(image, "imagedeploy:index:Image", "web-image");
    const i = reg.inputs;

    // Relative paths arrive absolute, resolved where the program runs.
    assert.deepEqual(i.context, { location: path.join(process.cwd(), "app") });
    assert.deepEqual(i.dockerfile, { location: path.join(process.cwd(), "app", "Dockerfile.prod") });
    assert.deepEqual(i.buildArgs, { NODE_VERSION: "20" });
    assert.deepEqual(i.platforms, ["linux/amd64"]);
    assert.deepEqual(i.tags, ["registry.example.com/app:latest"]);
    assert.equal(i.push, true);
    assert.equal(i.buildTimeoutSeconds, 600);
    assert.deepEqual(i.builder, { kind: "buildah" });
    assert.equal(i.baseImages, "pinned");
    // No output-only property is sent as an input.
    for (const out of ["digest", "ref", "contentDigest", "contextHash", "sizeBytes", "layers", "platform"]) {
        assert.equal(i[out], undefined, `output-only ${out} must not be sent`);
    }

    // `secrets` is secret as a whole.
    assert.ok(isSecretEnvelope(i.secrets), `secrets should arrive as a secret, got ${JSON.stringify(i.secrets)}`);
    assert.deepEqual(i.secrets.value, { npmrc: "//registry.npmjs.org/:_authToken=xyz" });
    // registries[].password is marked secret by the SDK. @pulumi/pulumi lifts a nested secret to
    // the top-level property it sits in when it registers a resource, so the engine receives
    // `registries` as one secret value (state encrypts it whole): secrecy is kept, never lost.
    assert.ok(isSecretEnvelope(i.registries), `registries should arrive as a secret, got ${JSON.stringify(i.registries)}`);
    assert.deepEqual(i.registries.value, [
        { address: "registry.example.com", username: "ci", password: "hunter2" },
        { address: "ghcr.io" },
    ]);

    // Resource options the engine needs: the plugin version and where to get it, secret outputs.
    const opts = captured.opts as pulumi.CustomResourceOptions;
    assert.ok(opts, "transformation saw the options");
    assert.equal(opts.version, "0.1.0");
    assert.equal(opts.pluginDownloadURL, "github://api.github.com/imagedeploy/imagedeploy");
    assert.deepEqual(opts.additionalSecretOutputs, ["secrets"]);

    // Outputs come back typed, and the secret input stays secret as an output.
    assert.equal(await valueOf(image.ref), "registry.example.com/app@sha256:" + "a".repeat(64));
    const layers = await valueOf(image.layers);
    assert.ok(layers);
    assert.equal(layers.length, 1);
    assert.equal(layers[0].sizeBytes, 1234);
    assert.equal(layers[0].new, true);
    assert.equal(await pulumi.isSecret(image.secrets), true);
    assert.equal(await pulumi.isSecret(image.ref), false);
    assert.ok(imagedeploy.Image.isInstance(image));
    assert.ok(!imagedeploy.Service.isInstance(image));
});

test("registries without a password are not made secret", async () => {
    const image = new imagedeploy.Image("public-registries", {
        context: { location: "." },
        registries: [{ address: "ghcr.io", username: "anonymous" }],
    });
    const reg = await registration(image, "imagedeploy:index:Image", "public-registries");
    assert.deepEqual(reg.inputs.registries, [{ address: "ghcr.io", username: "anonymous" }]);
    assert.equal(reg.inputs.secrets, undefined);
});

test("a nested secret inside an Output makes the whole value secret (never less)", async () => {
    const image = new imagedeploy.Image("output-registries", {
        context: { location: "." },
        registries: pulumi.output([{ address: "r.example.com", password: "p" }]),
    });
    const reg = await registration(image, "imagedeploy:index:Image", "output-registries");
    assert.ok(isSecretEnvelope(reg.inputs.registries), JSON.stringify(reg.inputs.registries));
    assert.equal(reg.inputs.registries.value[0].address, "r.example.com");
});

test("relative locations mean the program's working directory, not the plugin's", async () => {
    // The program runs in D (under SST: the app root), the plugin elsewhere (`.sst/platform`).
    const before = process.cwd();
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "imagedeploy-sdk-")));
    process.chdir(dir);
    try {
        const plain = new imagedeploy.Image("rel-plain", {
            context: { location: "./app" },
            dockerfile: { location: "docker/Dockerfile.prod" },
        });
        // Outputs (one of them secret, one a whole object) resolve when known, still in D.
        const outputs = new imagedeploy.Image("rel-outputs", {
            context: { location: pulumi.secret("./app") },
            dockerfile: pulumi.output({ location: pulumi.output("../shared/Dockerfile") }),
        });
        const p = (await registration(plain, "imagedeploy:index:Image", "rel-plain")).inputs;
        assert.deepEqual(p.context, { location: path.join(dir, "app") });
        assert.deepEqual(p.dockerfile, { location: path.join(dir, "docker", "Dockerfile.prod") });
        const o = (await registration(outputs, "imagedeploy:index:Image", "rel-outputs")).inputs;
        assert.ok(isSecretEnvelope(o.context), `context stays secret, got ${JSON.stringify(o.context)}`);
        assert.deepEqual(o.context.value, { location: path.join(dir, "app") });
        assert.deepEqual(o.dockerfile, { location: path.join(path.dirname(dir), "shared", "Dockerfile") });
    } finally {
        process.chdir(before);
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test("absolute locations and inline Dockerfiles are sent as written", async () => {
    const image = new imagedeploy.Image("abs-inline", {
        // Not normalised either: an absolute path is the user's, exactly.
        context: { location: "/srv/checkout/../app" },
        dockerfile: { inline: "FROM scratch\nCOPY . /\n" },
    });
    const other = new imagedeploy.Image("abs-dockerfile", {
        context: { location: "/srv/app" },
        dockerfile: pulumi.output({ location: "/srv/app/Dockerfile" }),
    });
    const i = (await registration(image, "imagedeploy:index:Image", "abs-inline")).inputs;
    assert.deepEqual(i.context, { location: "/srv/checkout/../app" });
    assert.deepEqual(i.dockerfile, { inline: "FROM scratch\nCOPY . /\n" });
    const j = (await registration(other, "imagedeploy:index:Image", "abs-dockerfile")).inputs;
    assert.deepEqual(j.dockerfile, { location: "/srv/app/Dockerfile" });
});

test("Image without its required context throws before registering", () => {
    assert.throws(
        () => new imagedeploy.Image("no-context", {} as imagedeploy.ImageArgs),
        /Missing required property 'context'/,
    );
    assert.equal(registered.filter((r) => r.name === "no-context").length, 0);
});

test("Service sends nested containers, enums and replaceOnChanges", async () => {
    const captured: { opts?: pulumi.ResourceOptions } = {};
    const image = new imagedeploy.Image("svc-image", { context: { location: "./app" } });
    const service = new imagedeploy.Service(
        "web",
        {
            cluster: "prod",
            launchType: imagedeploy.types.enums.LaunchType.Fargate,
            cpu: 256,
            memory: 512,
            desiredCount: 2,
            networkConfiguration: { subnets: ["subnet-1", "subnet-2"], securityGroups: ["sg-1"], assignPublicIp: true },
            containers: [
                {
                    name: "web",
                    image: image.ref,
                    essential: true,
                    portMappings: [{ containerPort: 8080, protocol: imagedeploy.types.enums.Protocol.Tcp }],
                    environment: { PORT: "8080" },
                    healthCheck: { command: ["CMD-SHELL", "wget -qO- localhost:8080/health"], interval: 15 },
                    logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/ecs/web" } },
                },
            ],
            runtimePlatform: { cpuArchitecture: imagedeploy.types.enums.CpuArchitecture.Arm64 },
            wait: { forSteadyState: true, timeoutSeconds: 600 },
        },
        capturingOptions(captured),
    );
    const reg = await registration(service, "imagedeploy:index:Service", "web");
    const i = reg.inputs;
    assert.equal(i.cluster, "prod");
    assert.equal(i.launchType, "FARGATE");
    assert.equal(i.cpu, 256);
    assert.equal(i.memory, 512);
    assert.equal(i.desiredCount, 2);
    assert.deepEqual(i.networkConfiguration, {
        subnets: ["subnet-1", "subnet-2"],
        securityGroups: ["sg-1"],
        assignPublicIp: true,
    });
    assert.equal(i.containers.length, 1);
    const c = i.containers[0];
    assert.equal(c.name, "web");
    // The image's output flows into the container definition.
    assert.equal(c.image, "registry.example.com/app@sha256:" + "a".repeat(64));
    assert.deepEqual(c.portMappings, [{ containerPort: 8080, protocol: "tcp" }]);
    assert.deepEqual(c.healthCheck, { command: ["CMD-SHELL", "wget -qO- localhost:8080/health"], interval: 15 });
    assert.deepEqual(c.logConfiguration, { logDriver: "awslogs", options: { "awslogs-group": "/ecs/web" } });
    assert.deepEqual(i.runtimePlatform, { cpuArchitecture: "ARM64" });
    assert.deepEqual(i.wait, { forSteadyState: true, timeoutSeconds: 600 });
    for (const out of ["arn", "taskDefinitionArn", "revision", "images"]) {
        assert.equal(i[out], undefined, `output-only ${out} must not be sent`);
    }

    const opts = captured.opts as pulumi.CustomResourceOptions;
    assert.deepEqual(opts.replaceOnChanges, ["cluster", "name", "deploymentController"]);
    assert.equal(await valueOf(service.taskDefinitionArn), "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1");
});

test("Service without cluster or containers throws", () => {
    assert.throws(
        () => new imagedeploy.Service("no-cluster", { containers: [] } as unknown as imagedeploy.ServiceArgs),
        /Missing required property 'cluster'/,
    );
    assert.throws(
        () => new imagedeploy.Service("no-containers", { cluster: "c" } as unknown as imagedeploy.ServiceArgs),
        /Missing required property 'containers'/,
    );
});

test("Image.get reads by id with the Image type token", async () => {
    const image = imagedeploy.Image.get("existing", "existing-id");
    assert.equal(await valueOf(image.id), "existing-id");
    const reg = registered.find((r) => r.name === "existing");
    assert.ok(reg, "the read reached the mock monitor");
    assert.equal(reg.type, "imagedeploy:index:Image");
});

test("Provider JSON-encodes non-string config and registers as pulumi:providers:imagedeploy", async () => {
    const provider = new imagedeploy.Provider("explicit", {
        region: "eu-west-1",
        endpoints: { ecs: "http://127.0.0.1:5000" },
        skipCredentialsValidation: true,
    });
    const reg = await registration(provider, "pulumi:providers:imagedeploy", "explicit");
    assert.equal(reg.inputs.region, "eu-west-1");
    assert.equal(reg.inputs.endpoints, JSON.stringify({ ecs: "http://127.0.0.1:5000" }));
    assert.equal(reg.inputs.skipCredentialsValidation, "true");
    assert.ok(imagedeploy.Provider.isInstance(provider));
});
