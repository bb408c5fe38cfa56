//! A typed framework for Pulumi resource provider plugins.
//!
//! It knows the Pulumi engine's protocol and nothing of any cloud: an
//! application describes its resources as Rust types and implements one
//! trait per resource; the framework derives the package schema, validates
//! and decodes what the engine sends (unknowns, secrets), answers previews
//! whose inputs are unknown, serves gRPC and forwards logs.
//!
//! # Where to start
//!
//! 1. [`resource`]: the [`Resource`](resource::Resource) trait, one request
//!    struct per operation, and [`Ctx`](resource::Ctx). This is all a
//!    resource implementation sees.
//! 2. [`launch::serve`]: give it the resources (erased with
//!    [`dispatch::Typed::erase`]), the package's name and schema, and the
//!    `tracing` targets whose events should reach the engine.
//! 3. [`schema::package`]: the package schema built from the types.
//!
//! # Layers
//!
//! Dependencies run one way, lowest first:
//! `wire` (the engine's value model) -> `schema` (shapes from Rust types,
//! validation, typed decoding) -> `resource` (the trait) -> `dispatch`
//! (typed resources behind untyped requests) -> `server` (gRPC) -> `launch`
//! (process start). `log` (the engine log as a `tracing` layer) depends only
//! on `wire` and is used by `server` and `launch`.
//!
//! # Secrets
//!
//! Every resource call collects its request's secret values once
//! (`schema::secrets`); its Check failures, diff reasons, errors and log
//! lines are masked with them before they leave, so a resource cannot leak
//! a secret input by quoting it (`Ctx::redact` masks other text).

#![warn(missing_docs)]

pub mod dispatch;
pub mod launch;
pub mod log;
pub mod resource;
pub mod schema;
pub mod server;
pub mod wire;
