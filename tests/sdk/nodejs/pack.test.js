// Checks the Node SDK as npm packs it, i.e. what `sst add imagedeploy` and the engine receive.
// SST (`FindProvider` in sst/sst pkg/project/install.go) reads the published package.json's
// `pulumi` block; the engine's Node language host (`getPackageInfo` in pulumi/pulumi
// sdk/nodejs/cmd/pulumi-language-nodejs/main.go) reads the same block to know which plugin,
// version and download server the program needs. That the package name is one SST looks up is
// checked against SST's rule in sdk-gen's tests; here the packed name must be the schema's.
//
// Usage: PACK_TARBALL=<npm pack output> PACK_SCHEMA=<schema.json> NODE_PATH=<node_modules with
// @pulumi/pulumi> node --test pack.test.js
// (scripts/test-sdks builds the SDK and packs it first).
"use strict";
const { test } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

const tarball = process.env.PACK_TARBALL;
const schema = JSON.parse(fs.readFileSync(process.env.PACK_SCHEMA, "utf8"));
const unpacked = fs.mkdtempSync(path.join(os.tmpdir(), "sdk-pack-"));
execFileSync("tar", ["-xzf", tarball, "-C", unpacked]);
const pkgDir = path.join(unpacked, "package");
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"));
const listing = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.replace(/^package\//, ""));

test("the packed name is the schema's Node package name", () => {
    assert.equal(pkg.name, schema.language.nodejs.packageName);
    assert.equal(pkg.version, schema.version);
});

test("the pulumi block names the plugin, its version and download server", () => {
    assert.deepEqual(pkg.pulumi, {
        resource: true,
        name: schema.name,
        version: schema.version,
        server: schema.pluginDownloadURL,
    });
});

test("the tarball holds the compiled entry points and no TypeScript sources", () => {
    for (const f of ["package.json", "README.md", pkg.main, pkg.types, "bin/image.js", "bin/service.js"]) {
        assert.ok(listing.includes(f), `${f} missing from ${tarball}: ${listing.join(", ")}`);
    }
    const sources = listing.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
    assert.deepEqual(sources, []);
});

test("the packed main loads and exports the resources", () => {
    // @pulumi/pulumi resolves through NODE_PATH (the test dependencies), as it would from the
    // app's node_modules.
    const sdk = require(path.join(pkgDir, pkg.main));
    assert.equal(typeof sdk.Image, "function");
    assert.equal(typeof sdk.Service, "function");
    assert.equal(typeof sdk.Provider, "function");
});
