//! Image references (`registry/repository[:tag][@digest]`) and content
//! digests (`sha256:<hex>`): the one definition every crate uses.
//!
//! Start at [`Reference::parse`]. A reference keeps two views of its name:
//! the normalised one registries need (`nginx` is `docker.io/library/nginx`,
//! [`Reference::registry`] and [`Reference::repository`]) and the one the
//! user wrote ([`Reference::written_name`], [`Reference::pinned`]), which task
//! definitions keep so a pinned image stays recognisable. Digests are
//! validated once, at the edge ([`Digest::parse`]), so the rest of the code
//! passes them around without re-checking.
//!
//! What a reference resolves to in its registry, one image or an index of
//! per-platform images ([`ResolvedManifest`], [`Platform`]), is defined here
//! too: the registry crate reads it and the ECS crate chooses from it.

#![warn(missing_docs)]

mod digest;
mod platform;
mod reference;

pub use digest::{Digest, DigestError};
pub use platform::{platform_child, Platform, PlatformManifest, ResolvedManifest};
pub use reference::{api_host, digest_of, Reference, ReferenceError, DOCKER_HUB};
