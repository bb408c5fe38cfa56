//! The product's promise, end to end: the ECS task definition changes if and
//! only if the image content really changes, and preview says so.
pub mod ecs;
pub mod images;
