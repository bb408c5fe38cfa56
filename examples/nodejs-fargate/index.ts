// Build ../app, push it to a new ECR repository and run it on Fargate.
//
// The Image resource decides whether to build from a fingerprint of exactly what
// the Dockerfile reads, and its `ref` (repository@digest) changes only when the
// built image's content changes. The Service pins that ref in its task
// definition, so a `pulumi up` after an unrelated edit registers no new revision
// and deploys nothing.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as imagedeploy from "pulumi-imagedeploy";

const config = new pulumi.Config();
const desiredCount = config.getNumber("desiredCount") ?? 1;
const greeting = config.get("greeting") ?? "hello from imagedeploy";
const region = new pulumi.Config("aws").require("region");

// Where the image goes.
const repository = new aws.ecr.Repository("app", { forceDelete: true });

// Build and push. ECR credentials come from the provider's AWS settings.
const image = new imagedeploy.Image("app", {
    context: { location: "../app" },
    platforms: ["linux/amd64"],
    tags: [pulumi.interpolate`${repository.repositoryUrl}:latest`],
});

// Networking: the account's default VPC, a security group open on the app's port.
const vpc = aws.ec2.getVpcOutput({ default: true });
const subnets = aws.ec2.getSubnetsOutput({ filters: [{ name: "vpc-id", values: [vpc.id] }] });
const securityGroup = new aws.ec2.SecurityGroup("app", {
    vpcId: vpc.id,
    description: "imagedeploy example: HTTP on 8080",
    ingress: [{ protocol: "tcp", fromPort: 8080, toPort: 8080, cidrBlocks: ["0.0.0.0/0"] }],
    egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
});

const cluster = new aws.ecs.Cluster("app");
const logs = new aws.cloudwatch.LogGroup("app", { retentionInDays: 7 });

// The role ECS uses to pull from ECR and write logs.
const executionRole = new aws.iam.Role("app-execution", {
    assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
    }),
});
const executionPolicy = new aws.iam.RolePolicyAttachment("app-execution", {
    role: executionRole.name,
    policyArn: "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
});

const service = new imagedeploy.Service("app", {
    cluster: cluster.arn,
    launchType: imagedeploy.types.enums.LaunchType.Fargate,
    cpu: 256,
    memory: 512,
    executionRoleArn: executionRole.arn,
    desiredCount,
    networkConfiguration: {
        subnets: subnets.ids,
        securityGroups: [securityGroup.id],
        assignPublicIp: true,
    },
    containers: [{
        name: "web",
        image: image.ref,
        portMappings: [{ containerPort: 8080, protocol: imagedeploy.types.enums.Protocol.Tcp }],
        environment: { PORT: "8080", GREETING: greeting },
        logConfiguration: {
            logDriver: "awslogs",
            options: {
                "awslogs-group": logs.name,
                "awslogs-region": region,
                "awslogs-stream-prefix": "web",
            },
        },
    }],
    wait: { forSteadyState: true },
}, { dependsOn: [executionPolicy] });

export const imageRef = image.ref;
export const contentDigest = image.contentDigest;
export const taskDefinitionArn = service.taskDefinitionArn;
export const serviceArn = service.arn;
