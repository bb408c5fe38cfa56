//! Test support shared with the end-to-end tests (feature `fault-injection`).
//!
//! moto does not progress ECS deployments and never throttles, so rollout
//! waiting, rollback detection and retries can only be exercised through a
//! fault-injection layer placed in front of it: [`fault_proxy`]. Everything
//! here is for tests; nothing in the library depends on it.

pub mod fault_proxy;
mod http;
pub mod moto_network;
mod task_fate;

pub use fault_proxy::{Call, Fault, FaultProxy, Rollout, TaskFate};
pub use moto_network::{create_network, MotoNetwork, NetworkSetupError};
