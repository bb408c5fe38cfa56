//! imagedeploy: a Pulumi resource provider for container images decided by
//! their content and ECS services that redeploy only when a container
//! really changes.
//!
//! Layers, outermost first: `launch` (process start), `server` (gRPC),
//! `dispatch` (typed resources behind untyped requests), `wire` (the
//! engine's value model), `schema` (shapes from Rust types), `resources`.

pub mod config;
pub mod resources;

pub use pulumi_provider::{dispatch, launch, log, schema, server, wire};

/// The framework's resource interface, with this provider's context.
pub mod resource {
    pub use pulumi_provider::resource::*;

    /// Everything a resource call may use besides its own values.
    pub type Ctx = pulumi_provider::resource::Ctx<crate::config::ProviderContext>;
}

/// The `fingerprint` subcommand: what the Image resource will see of a context.
pub fn fingerprint_cli(args: &[String]) -> std::process::ExitCode {
    imagedeploy_fingerprint::cli::run(args)
}

/// Name, version and schema of the package.
pub const INFO: server::ProviderInfo = server::ProviderInfo {
    name: "imagedeploy",
    version: env!("CARGO_PKG_VERSION"),
    schema: package_schema,
};

/// The package schema, as GetSchema serves it (used to write schema.json).
pub fn package_schema() -> String {
    schema::package::render(&schema::package::PackageSpec {
        version: env!("CARGO_PKG_VERSION"),
        config: schema::object_shape_of::<config::ProviderConfig>(),
        resources: &resources::all(),
    })
}
