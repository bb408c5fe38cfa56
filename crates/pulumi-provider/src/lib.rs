//! A typed framework for Pulumi resource provider plugins.

pub mod dispatch;
pub mod launch;
pub mod log;
pub mod resource;
pub mod schema;
pub mod server;
pub mod wire;
