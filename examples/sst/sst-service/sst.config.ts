/// <reference path="./.sst/platform/config.d.ts" />

// Build ../../app with imagedeploy, push it to ECR, and run it with SST's own Service component.
//
// `image.ref` is `<repository>@sha256:<digest>` of what was pushed, and it changes only when the
// built image's content changes; SST's Service takes it as a pre-built image, so an edit the
// image does not see (a README, a comment the build strips, a fresh checkout) deploys nothing.
export default $config({
  app(input) {
    return {
      name: "imagedeploy-sst-service",
      removal: input?.stage === "production" ? "retain" : "remove",
      home: "aws",
      providers: { imagedeploy: "0.1.0" },
    };
  },
  async run() {
    const path = await import("node:path");

    const repository = new aws.ecr.Repository("App", { forceDelete: true });
    const image = new imagedeploy.Image("App", {
      // Relative to this file, like SST's own image paths.
      context: { location: path.join($cli.paths.root, "../../app") },
      platforms: ["linux/amd64"],
      tags: [$interpolate`${repository.repositoryUrl}:latest`],
    });

    const vpc = new sst.aws.Vpc("Vpc");
    const cluster = new sst.aws.Cluster("Cluster", { vpc });
    const service = new sst.aws.Service("Web", {
      cluster,
      architecture: "x86_64",
      image: image.ref,
      environment: { PORT: "8080", GREETING: `hello from ${$app.stage}` },
      loadBalancer: { ports: [{ listen: "80/http", forward: "8080/http" }] },
    });

    return { imageRef: image.ref, contentDigest: image.contentDigest, url: service.url };
  },
});
