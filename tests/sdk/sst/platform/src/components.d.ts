// The SST components examples/sst uses, with the signatures of SST 4.17.1's platform sources:
// `Vpc` (components/aws/vpc.ts), `Cluster` (components/aws/cluster.ts) and `Service`
// (components/aws/service.ts, whose args extend `FargateBaseArgs` in components/aws/fargate.ts).
// Only the members the examples use, plus `image` and `containers` as SST types them, so that
// handing SST something other than an image reference fails the check. Test-only, never run.
import { ComponentResource, ComponentResourceOptions, Input, Output } from "@pulumi/pulumi";
import * as awsClassic from "@pulumi/aws";

type Port = `${number}/${"http" | "https" | "tcp" | "udp" | "tcp_udp" | "tls"}`;

type ImageArgs =
  | string
  | {
      context?: Input<string>;
      dockerfile?: Input<string>;
      args?: Input<Record<string, Input<string>>>;
      secrets?: Input<Record<string, Input<string>>>;
      tags?: Input<Input<string>[]>;
      target?: Input<string>;
      cache?: Input<boolean>;
    };

export namespace aws {
  interface VpcArgs {
    az?: Input<number>;
  }
  class Vpc extends ComponentResource {
    constructor(name: string, args?: VpcArgs, opts?: ComponentResourceOptions);
    readonly id: Output<string>;
    readonly publicSubnets: Output<string[]>;
    readonly privateSubnets: Output<string[]>;
    readonly securityGroups: Output<string>[];
  }

  interface ClusterArgs {
    vpc: Vpc;
  }
  class Cluster extends ComponentResource {
    constructor(name: string, args: ClusterArgs, opts?: ComponentResourceOptions);
    readonly id: Output<string>;
    readonly nodes: { cluster: Output<awsClassic.ecs.Cluster> };
  }

  interface ServiceRules {
    listen: Input<Port>;
    forward?: Input<Port>;
    container?: Input<string>;
    path?: Input<string>;
  }
  interface ServiceContainerArgs {
    name: Input<string>;
    image?: Input<ImageArgs>;
    environment?: Input<Record<string, Input<string>>>;
  }
  interface ServiceArgs {
    cluster: Cluster;
    architecture?: Input<"x86_64" | "arm64">;
    cpu?: "0.25 vCPU" | "0.5 vCPU" | "1 vCPU" | "2 vCPU" | "4 vCPU" | "8 vCPU" | "16 vCPU";
    memory?: `${number} GB`;
    image?: Input<ImageArgs>;
    command?: Input<Input<string>[]>;
    environment?: Input<Record<string, Input<string>>>;
    loadBalancer?: Input<{
      public?: Input<boolean>;
      ports?: Input<ServiceRules[]>;
      rules?: Input<ServiceRules[]>;
    }>;
    scaling?: Input<{ min?: Input<number>; max?: Input<number> }>;
    containers?: Input<ServiceContainerArgs>[];
    wait?: Input<boolean>;
  }
  class Service extends ComponentResource {
    constructor(name: string, args: ServiceArgs, opts?: ComponentResourceOptions);
    readonly url: Output<string>;
  }
}
