// The globals of SST's platform/src/global.d.ts (SST 4.17.1) that examples/sst uses: `sst`,
// `$interpolate`, `$app`, `$cli`. A hand-written, test-only transcription: see
// examples/sst/README.md.
import * as util from "@pulumi/pulumi";
import * as _sst from "./components";

declare global {
  // @ts-expect-error
  export import sst = _sst;
  export const $interpolate: typeof util.interpolate;
  export const $app: {
    name: string;
    stage: string;
  };
  export const $cli: {
    command: string;
    paths: {
      home: string;
      root: string;
      work: string;
      platform: string;
    };
  };
}

export {};
