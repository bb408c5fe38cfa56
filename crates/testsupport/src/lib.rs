//! Real servers for tests, on free loopback ports, stopped when dropped.
//!
//! Tests run against a CNCF distribution registry, moto and dockerd rather than
//! hand-written fakes; this crate is the one place that knows how to start
//! them, so every test suite finds them the same way. Where no real component
//! can behave as a test needs (an ECS rollout that rolls back, a task's exit
//! code), [`ecs_faults`] puts a named stand-in in front of moto.

pub mod base_image;
mod docker_engine;
pub mod ecs_faults;
pub mod log_capture;
mod moto;
pub mod multi_platform;
mod process;
mod registry;
mod tls;
mod tls_front;
mod token_expiry;

pub use base_image::{
    push_base_image, push_base_image_as, push_large_base_image, BaseImageError, PushedImage,
};
pub use docker_engine::DockerEngine;
pub use moto::Moto;
pub use multi_platform::{emulation_available, push_multi_platform_busybox};
pub use process::{free_port, wait_for_port, ServerError};
pub use registry::Registry;
pub use tls::TestCa;
pub use tls_front::TlsFront;
pub use token_expiry::ExpiringTokenProxy;
