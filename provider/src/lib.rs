//! imagedeploy: a Pulumi resource provider for container images decided by
//! their content and ECS services that redeploy only when a container
//! really changes.
//!
//! Layers, outermost first: `launch` (process start), `server` (gRPC),
//! `dispatch` (typed resources behind untyped requests), `wire` (the
//! engine's value model), `schema` (shapes from Rust types), `resources`.

pub mod config;
pub mod dispatch;
pub mod launch;
pub mod log;
pub mod resource;
pub mod resources;
pub mod schema;
pub mod server;
pub mod wire;

/// The `fingerprint` subcommand: what the Image resource will see of a context.
pub fn fingerprint_cli(args: &[String]) -> std::process::ExitCode {
    imagedeploy_fingerprint::cli::run(args)
}

/// The package schema, as GetSchema serves it (used to write schema.json).
pub fn package_schema() -> String {
    schema::package::render(&schema::package::PackageSpec {
        version: env!("CARGO_PKG_VERSION"),
        config: schema::object_shape_of::<config::ProviderConfig>(),
        resources: &resources::all(),
    })
}
