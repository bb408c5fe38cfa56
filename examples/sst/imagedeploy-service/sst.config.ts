/// <reference path="./.sst/platform/config.d.ts" />

// Build ../../app with imagedeploy and run it with imagedeploy's own Service, in an SST app:
// SST makes the VPC and the ECS cluster, imagedeploy registers a task definition revision only
// when a container really changes (preview says which field and why) and waits for the rollout.
export default $config({
  app(input) {
    return {
      name: "imagedeploy-service",
      removal: input?.stage === "production" ? "retain" : "remove",
      home: "aws",
      providers: { imagedeploy: "0.1.0" },
    };
  },
  async run() {
    const path = await import("node:path");

    const repository = new aws.ecr.Repository("App", { forceDelete: true });
    const image = new imagedeploy.Image("App", {
      context: { location: path.join($cli.paths.root, "../../app") },
      platforms: ["linux/amd64"],
      tags: [$interpolate`${repository.repositoryUrl}:latest`],
    });

    const vpc = new sst.aws.Vpc("Vpc");
    const cluster = new sst.aws.Cluster("Cluster", { vpc });
    const logs = new aws.cloudwatch.LogGroup("Web", { retentionInDays: 7 });
    const executionRole = new aws.iam.Role("WebExecution", {
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{
          Effect: "Allow",
          Principal: { Service: "ecs-tasks.amazonaws.com" },
          Action: "sts:AssumeRole",
        }],
      }),
    });
    const executionPolicy = new aws.iam.RolePolicyAttachment("WebExecution", {
      role: executionRole.name,
      policyArn: "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
    });

    const service = new imagedeploy.Service("Web", {
      cluster: cluster.nodes.cluster.arn,
      launchType: imagedeploy.types.enums.LaunchType.Fargate,
      cpu: 256,
      memory: 512,
      executionRoleArn: executionRole.arn,
      networkConfiguration: {
        subnets: vpc.privateSubnets,
        securityGroups: vpc.securityGroups,
      },
      containers: [{
        name: "web",
        image: image.ref,
        portMappings: [{ containerPort: 8080 }],
        environment: { PORT: "8080", GREETING: `hello from ${$app.stage}` },
        logConfiguration: {
          logDriver: "awslogs",
          options: {
            "awslogs-group": logs.name,
            "awslogs-region": aws.config.region ?? "us-east-1",
            "awslogs-stream-prefix": "web",
          },
        },
      }],
      wait: { forSteadyState: true },
    }, { dependsOn: [executionPolicy] });

    return { imageRef: image.ref, taskDefinitionArn: service.taskDefinitionArn };
  },
});
