//! What the provider's resources look like to the engine and to users.

pub mod package;
pub mod secrets;
pub mod shape;
pub mod typed;
pub mod validate;

#[cfg(test)]
mod tests;

pub use shape::{object_shape_of, ObjectShape, Property, Shape};
pub use validate::Failure;
