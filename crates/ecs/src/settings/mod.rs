//! The settings production services need beyond the basics: volumes and
//! mounts, ephemeral storage, private registry credentials, Docker labels,
//! ulimits, Linux parameters, system controls, extra hosts, FireLens,
//! start timeouts, Service Connect, service discovery, task placement, the
//! deployment controller, Availability Zone rebalancing and ECS managed tags.
//!
//! Kept in one module apart from the core fields so each concern (input
//! types, normal forms, SDK conversion, checks) stays small, and so the core
//! modules only gain one call per concern. The same rules as for the core
//! fields apply: inputs are compared in the form ECS stores them (defaults
//! filled in or dropped, order-insensitive lists sorted), bad values fail in
//! Check naming the property and the valid values, and what is compared is
//! exactly what is registered.

pub mod check;
pub(crate) mod convert;
pub(crate) mod deploy;
pub mod normal;
pub(crate) mod refresh;
pub mod types;
