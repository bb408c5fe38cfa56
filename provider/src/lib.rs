//! imagedeploy: a Pulumi resource provider for container images decided by
//! their content and ECS services that redeploy only when a container
//! really changes.
//!
//! The plugin is the provider framework (`pulumi_provider`: protocol,
//! schema, server) plus this crate: `config` (provider configuration and the
//! AWS clients built from it) and `resources` (Image, Service and the test
//! fixture, each an adapter from the framework's `Resource` trait to a domain
//! crate). `main.rs` starts it.

use pulumi_provider::schema::package::{PackageMeta, PackageSpec};
use pulumi_provider::{launch, schema, server};

pub mod config;
pub mod ecr;
pub mod housekeeping;
pub mod resources;

/// The framework's resource interface, with this provider's context: what
/// every adapter in `resources` imports.
pub mod resource {
    pub use pulumi_provider::resource::*;
    pub use pulumi_provider::unknown_outputs;

    /// Everything a resource call may use besides its own values.
    pub type Ctx = pulumi_provider::resource::Ctx<crate::config::ProviderContext>;
}

/// What the package says about itself in its schema.
pub const PACKAGE: PackageMeta = PackageMeta {
    name: "imagedeploy",
    display_name: "imagedeploy",
    description: "Container images decided by their content, and ECS services that redeploy only when a container really changes.",
    keywords: &["pulumi", "docker", "oci", "ecs", "ecr", "aws", "category/cloud", "kind/native"],
    homepage: "https://github.com/imagedeploy/imagedeploy",
    license: "Apache-2.0",
    repository: "https://github.com/imagedeploy/imagedeploy",
    publisher: "imagedeploy",
    plugin_download_url: "github://api.github.com/imagedeploy/imagedeploy",
    node_package: "pulumi-imagedeploy",
    python_package: "pulumi_imagedeploy",
};

/// Crates whose `tracing` events reach the engine's log (`imagedeploy`
/// also covers `imagedeploy_build`, `imagedeploy_ecs`, ...).
pub const LOG_TARGETS: &[&str] = &["imagedeploy"];

/// The `fingerprint` subcommand: what the Image resource will see of a context.
pub fn fingerprint_cli(args: &[String]) -> std::process::ExitCode {
    imagedeploy_fingerprint::cli::run(args)
}

/// Name, version and schema of the package.
pub const INFO: server::ProviderInfo = server::ProviderInfo {
    name: PACKAGE.name,
    version: env!("CARGO_PKG_VERSION"),
    schema: package_schema,
};

/// The package schema, as GetSchema serves it (used to write schema.json).
pub fn package_schema() -> String {
    let resources: Vec<_> = resources::all().iter().map(|r| r.schema()).collect();
    schema::package::render(&PackageSpec {
        meta: &PACKAGE,
        version: env!("CARGO_PKG_VERSION"),
        config: schema::object_shape_of::<config::ProviderConfig>(),
        resources: &resources,
    })
}

/// The plugin as the framework serves it.
pub fn plugin() -> launch::Plugin<config::ProviderContext> {
    launch::Plugin {
        info: INFO,
        resources: resources::all(),
        log_targets: LOG_TARGETS,
    }
}
