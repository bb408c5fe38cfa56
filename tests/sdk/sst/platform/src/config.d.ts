// The part of SST's platform/src/config.ts (SST 4.17.1) that sst.config.ts files touch.
// A hand-written, test-only transcription: see examples/sst/README.md.
export interface AppInput {
  stage: string;
}

export interface App {
  version?: string;
  name: string;
  removal?: "remove" | "retain" | "retain-all";
  providers?: Record<string, any>;
  home: "aws" | "cloudflare" | "local";
  protect?: boolean;
}

export interface Config {
  app(input: AppInput): App | Promise<App>;
  run(): Promise<Record<string, any> | void>;
}
