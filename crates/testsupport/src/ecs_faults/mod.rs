//! The ECS fault-injection proxy and moto network set-up, for the ECS
//! crate's tests and the end-to-end tests.
//!
//! moto does not progress ECS deployments and never throttles, so rollout
//! waiting, rollback detection and retries can only be exercised through a
//! fault-injection layer placed in front of it: [`fault_proxy`]. It lives
//! here, in test support, so the production ECS crate holds none of it.

pub mod fault_proxy;
mod http;
pub mod moto_network;
mod task_fate;

pub use fault_proxy::{Call, Fault, FaultProxy, Rollout, TaskFate};
pub use moto_network::{create_network, MotoNetwork, NetworkSetupError};
