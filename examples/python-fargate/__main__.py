"""Build ../app, push it to a new ECR repository and run it on Fargate.

The Image resource decides whether to build from a fingerprint of exactly what
the Dockerfile reads, and its `ref` (repository@digest) changes only when the
built image's content changes. The Service pins that ref in its task
definition, so a `pulumi up` after an unrelated edit registers no new revision
and deploys nothing.
"""

import json

import pulumi
import pulumi_aws as aws
import pulumi_imagedeploy as imagedeploy

config = pulumi.Config()
desired_count = config.get_int("desiredCount") or 1
greeting = config.get("greeting") or "hello from imagedeploy"
region = pulumi.Config("aws").require("region")

# Where the image goes.
repository = aws.ecr.Repository("app", force_delete=True)

# Build and push. ECR credentials come from the provider's AWS settings.
image = imagedeploy.Image(
    "app",
    context=imagedeploy.BuildContextArgs(location="../app"),
    platforms=["linux/amd64"],
    tags=[repository.repository_url.apply(lambda url: f"{url}:latest")],
)

# Networking: the account's default VPC, a security group open on the app's port.
vpc = aws.ec2.get_vpc_output(default=True)
subnets = aws.ec2.get_subnets_output(filters=[{"name": "vpc-id", "values": [vpc.id]}])
security_group = aws.ec2.SecurityGroup(
    "app",
    vpc_id=vpc.id,
    description="imagedeploy example: HTTP on 8080",
    ingress=[{"protocol": "tcp", "from_port": 8080, "to_port": 8080, "cidr_blocks": ["0.0.0.0/0"]}],
    egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}],
)

cluster = aws.ecs.Cluster("app")
logs = aws.cloudwatch.LogGroup("app", retention_in_days=7)

# The role ECS uses to pull from ECR and write logs.
execution_role = aws.iam.Role(
    "app-execution",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    ),
)
execution_policy = aws.iam.RolePolicyAttachment(
    "app-execution",
    role=execution_role.name,
    policy_arn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
)

service = imagedeploy.Service(
    "app",
    cluster=cluster.arn,
    launch_type=imagedeploy.LaunchType.FARGATE,
    cpu=256,
    memory=512,
    execution_role_arn=execution_role.arn,
    desired_count=desired_count,
    network_configuration=imagedeploy.NetworkConfigurationArgs(
        subnets=subnets.ids,
        security_groups=[security_group.id],
        assign_public_ip=True,
    ),
    containers=[
        imagedeploy.ContainerArgs(
            name="web",
            image=image.ref,
            port_mappings=[imagedeploy.PortMappingArgs(container_port=8080, protocol=imagedeploy.Protocol.TCP)],
            environment={"PORT": "8080", "GREETING": greeting},
            log_configuration=imagedeploy.LogConfigurationArgs(
                log_driver="awslogs",
                options={
                    "awslogs-group": logs.name,
                    "awslogs-region": region,
                    "awslogs-stream-prefix": "web",
                },
            ),
        )
    ],
    wait=imagedeploy.WaitOptionsArgs(for_steady_state=True),
    opts=pulumi.ResourceOptions(depends_on=[execution_policy]),
)

pulumi.export("imageRef", image.ref)
pulumi.export("contentDigest", image.content_digest)
pulumi.export("taskDefinitionArn", service.task_definition_arn)
pulumi.export("serviceArn", service.arn)
