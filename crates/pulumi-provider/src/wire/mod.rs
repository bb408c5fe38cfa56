//! The engine's wire format: Struct values, unknowns, secrets, paths and
//! error statuses. Knows nothing of Docker or ECS.

pub mod depth;
pub mod path;
pub mod status;
pub mod value;

/// The engine raises gRPC message limits to 400 MiB; so does the provider,
/// for its server and for its connection to the engine's Log service.
pub const MAX_MESSAGE: usize = 400 * 1024 * 1024;
