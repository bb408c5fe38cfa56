// What `sst install` writes to .sst/platform/config.d.ts for an app whose providers are `aws`
// and `imagedeploy` (the layout of `writeTypes` in SST's pkg/project/install.go): each provider
// package becomes a global named by its alias, and `$config` is typed with the app's providers.
// Test-only: examples/sst's sst.config.ts files are type-checked against it (scripts/test-sdks).
import "./src/global.d.ts";
import { AppInput, App, Config } from "./src/config";
import * as _aws from "@pulumi/aws";
import * as _imagedeploy from "pulumi-imagedeploy";

declare global {
  // @ts-expect-error
  export import aws = _aws;
  // @ts-expect-error
  export import imagedeploy = _imagedeploy;
  interface Providers {
    providers?: {
      "aws"?: (Record<string, unknown> & { version?: string }) | boolean | string;
      "imagedeploy"?: (_imagedeploy.ProviderArgs & { version?: string }) | boolean | string;
    }
  }
  export const $config: (
    input: Omit<Config, "app"> & {
      app(input: AppInput): Omit<App, "providers"> & Providers;
    },
  ) => Config;
}
