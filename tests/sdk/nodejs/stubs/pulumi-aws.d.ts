// A MINIMAL, HAND-WRITTEN declaration of the few @pulumi/aws members that
// examples/nodejs-fargate and examples/sst use, so `tsc --strict` can check the example without
// installing @pulumi/aws (hundreds of MB). The signatures copy the shape of
// @pulumi/aws 6.x/7.x for these members only; this file is a type stub for the
// type check and is never executed. What it cannot catch: a member renamed or
// retyped in a newer @pulumi/aws release.
import * as pulumi from "@pulumi/pulumi";

export namespace config {
    const region: string | undefined;
}

export namespace ecr {
    interface RepositoryArgs {
        forceDelete?: pulumi.Input<boolean>;
        imageTagMutability?: pulumi.Input<string>;
        name?: pulumi.Input<string>;
    }
    class Repository extends pulumi.CustomResource {
        constructor(name: string, args?: RepositoryArgs, opts?: pulumi.CustomResourceOptions);
        readonly arn: pulumi.Output<string>;
        readonly name: pulumi.Output<string>;
        readonly repositoryUrl: pulumi.Output<string>;
    }
}

export namespace ecs {
    interface ClusterArgs {
        name?: pulumi.Input<string>;
    }
    class Cluster extends pulumi.CustomResource {
        constructor(name: string, args?: ClusterArgs, opts?: pulumi.CustomResourceOptions);
        readonly arn: pulumi.Output<string>;
        readonly name: pulumi.Output<string>;
    }
}

export namespace ec2 {
    interface GetVpcOutputArgs {
        default?: pulumi.Input<boolean>;
    }
    interface GetVpcResult {
        readonly id: string;
        readonly cidrBlock: string;
    }
    function getVpcOutput(args?: GetVpcOutputArgs, opts?: pulumi.InvokeOptions): pulumi.Output<GetVpcResult>;

    interface GetSubnetsFilterArgs {
        name: pulumi.Input<string>;
        values: pulumi.Input<pulumi.Input<string>[]>;
    }
    interface GetSubnetsOutputArgs {
        filters?: pulumi.Input<pulumi.Input<GetSubnetsFilterArgs>[]>;
    }
    interface GetSubnetsResult {
        readonly id: string;
        readonly ids: string[];
    }
    function getSubnetsOutput(args?: GetSubnetsOutputArgs, opts?: pulumi.InvokeOptions): pulumi.Output<GetSubnetsResult>;

    interface SecurityGroupRule {
        protocol: pulumi.Input<string>;
        fromPort: pulumi.Input<number>;
        toPort: pulumi.Input<number>;
        cidrBlocks?: pulumi.Input<pulumi.Input<string>[]>;
    }
    interface SecurityGroupArgs {
        vpcId?: pulumi.Input<string>;
        description?: pulumi.Input<string>;
        ingress?: pulumi.Input<pulumi.Input<SecurityGroupRule>[]>;
        egress?: pulumi.Input<pulumi.Input<SecurityGroupRule>[]>;
    }
    class SecurityGroup extends pulumi.CustomResource {
        constructor(name: string, args?: SecurityGroupArgs, opts?: pulumi.CustomResourceOptions);
        readonly arn: pulumi.Output<string>;
    }
}

export namespace cloudwatch {
    interface LogGroupArgs {
        retentionInDays?: pulumi.Input<number>;
    }
    class LogGroup extends pulumi.CustomResource {
        constructor(name: string, args?: LogGroupArgs, opts?: pulumi.CustomResourceOptions);
        readonly arn: pulumi.Output<string>;
        readonly name: pulumi.Output<string>;
    }
}

export namespace iam {
    interface RoleArgs {
        assumeRolePolicy: pulumi.Input<string>;
    }
    class Role extends pulumi.CustomResource {
        constructor(name: string, args: RoleArgs, opts?: pulumi.CustomResourceOptions);
        readonly arn: pulumi.Output<string>;
        readonly name: pulumi.Output<string>;
    }
    interface RolePolicyAttachmentArgs {
        role: pulumi.Input<string>;
        policyArn: pulumi.Input<string>;
    }
    class RolePolicyAttachment extends pulumi.CustomResource {
        constructor(name: string, args: RolePolicyAttachmentArgs, opts?: pulumi.CustomResourceOptions);
    }
}
