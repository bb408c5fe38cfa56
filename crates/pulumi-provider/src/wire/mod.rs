//! The engine's wire format: Struct values, unknowns, secrets, paths and
//! error statuses. Knows nothing of Docker or ECS.

pub mod path;
pub mod status;
pub mod typed;
pub mod value;

#[cfg(test)]
mod tests;
