//! Pinning a container whose image is a multi-platform index: the child of
//! the service's platform is chosen, an index that moved only in its other
//! children pins the same child (so `diff` sees no change), and an index
//! without the service's platform is an error on the container's image
//! property that says what to do. A resolver of our own trait stands in for
//! the registry (the provider's tests use a real one).

mod common;

use std::sync::Mutex;

use async_trait::async_trait;
use common::recorded;
use imagedeploy_ecs::args::ServiceArgs;
use imagedeploy_ecs::{
    diff, oci_platform, resolve_images, ImageError, ImageResolver, Platform, PlatformManifest,
    Reference, ResolveError, ResolvedManifest,
};
use imagedeploy_reference::Digest;

const APP: &str = "127.0.0.1:5000/app";

fn digest(c: char) -> Digest {
    Digest::parse(&format!("sha256:{}", c.to_string().repeat(64))).expect("test digest")
}

fn platform(text: &str) -> Platform {
    let mut parts = text.split('/');
    Platform {
        os: parts.next().unwrap_or_default().to_string(),
        architecture: parts.next().unwrap_or_default().to_string(),
        variant: parts.next().map(str::to_string),
    }
}

/// TEST DOUBLE of our own `ImageResolver` trait: every reference names the
/// one index it holds (the test replaces it to move the tag).
struct IndexResolver(Mutex<ResolvedManifest>);

impl IndexResolver {
    fn new(index: char, children: &[(&str, char)]) -> Self {
        Self(Mutex::new(Self::index(index, children)))
    }

    fn index(index: char, children: &[(&str, char)]) -> ResolvedManifest {
        ResolvedManifest::Index {
            digest: digest(index),
            manifests: children
                .iter()
                .map(|(p, d)| PlatformManifest {
                    digest: digest(*d),
                    platform: Some(platform(p)),
                })
                .collect(),
        }
    }

    fn set(&self, index: char, children: &[(&str, char)]) {
        *self.0.lock().unwrap() = Self::index(index, children);
    }
}

#[async_trait]
impl ImageResolver for IndexResolver {
    async fn resolve(&self, _: &Reference) -> Result<ResolvedManifest, ResolveError> {
        Ok(self.0.lock().unwrap().clone())
    }
}

fn service(architecture: Option<&str>) -> ServiceArgs {
    let mut v = serde_json::json!({
        "cluster": "prod",
        "name": "web",
        "cpu": 256,
        "memory": 512,
        "containers": [{"name": "web", "image": format!("{APP}:latest")}],
    });
    if let Some(architecture) = architecture {
        v["runtimePlatform"] = serde_json::json!({"cpuArchitecture": architecture});
    }
    serde_json::from_value(v).expect("valid args JSON")
}

#[test]
fn the_ecs_architecture_maps_to_one_oci_platform() {
    assert_eq!(oci_platform(&service(None)).to_string(), "linux/amd64");
    assert_eq!(
        oci_platform(&service(Some("X86_64"))).to_string(),
        "linux/amd64"
    );
    assert_eq!(
        oci_platform(&service(Some("ARM64"))).to_string(),
        "linux/arm64"
    );
}

#[tokio::test]
async fn each_architecture_is_pinned_to_its_own_child() {
    let resolver = IndexResolver::new('1', &[("linux/amd64", 'a'), ("linux/arm64/v8", 'b')]);
    let x86 = resolve_images(&service(None), &resolver)
        .await
        .expect("x86");
    assert_eq!(x86["web"], format!("{APP}@{}", digest('a')));
    let arm = resolve_images(&service(Some("ARM64")), &resolver)
        .await
        .expect("arm");
    assert_eq!(arm["web"], format!("{APP}@{}", digest('b')));
}

#[tokio::test]
async fn the_baseline_variant_wins_over_others_of_the_same_architecture() {
    let resolver = IndexResolver::new(
        '1',
        &[
            ("unknown/unknown", 'c'),
            ("linux/arm64/v9", 'd'),
            ("linux/arm64/v8", 'e'),
        ],
    );
    let arm = resolve_images(&service(Some("ARM64")), &resolver)
        .await
        .expect("arm");
    assert_eq!(arm["web"], format!("{APP}@{}", digest('e')));
}

#[tokio::test]
async fn an_index_moved_only_in_other_children_is_no_change() {
    let resolver = IndexResolver::new('1', &[("linux/amd64", 'a'), ("linux/arm64", 'b')]);
    let x86 = service(None);
    let arm = service(Some("ARM64"));
    let old_x86 = recorded(&x86, &resolve_images(&x86, &resolver).await.unwrap());
    let old_arm = recorded(&arm, &resolve_images(&arm, &resolver).await.unwrap());

    resolver.set('2', &[("linux/amd64", 'a'), ("linux/arm64", 'f')]);
    let new_x86 = resolve_images(&x86, &resolver).await.unwrap();
    assert!(!diff(&old_x86, &x86, &new_x86).has_changes());
    let new_arm = resolve_images(&arm, &resolver).await.unwrap();
    let d = diff(&old_arm, &arm, &new_arm);
    assert!(d.new_revision_needed);
    assert!(d.changes.iter().any(|c| c.path == "containers[0].image"));
}

#[tokio::test]
async fn an_index_without_the_service_platform_names_what_it_has_and_the_fix() {
    let resolver = IndexResolver::new('1', &[("linux/arm64/v8", 'b'), ("unknown/unknown", 'c')]);
    let err = resolve_images(&service(None), &resolver)
        .await
        .expect_err("no amd64 child");
    assert_eq!(err.property(), "containers[0].image");
    assert!(matches!(err, ImageError::NoPlatform { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "containers[0].image: {APP}:latest is a multi-platform image with no linux/amd64 \
             image, the platform this service runs on (runtimePlatform.cpuArchitecture X86_64); \
             it has linux/arm64/v8. Add linux/amd64 to the Image's `platforms`, or set \
             `runtimePlatform.cpuArchitecture` to ARM64"
        )
    );

    // Nothing ECS runs: no cpuArchitecture to suggest.
    resolver.set('2', &[("linux/s390x", 'd')]);
    let err = resolve_images(&service(Some("ARM64")), &resolver)
        .await
        .expect_err("no arm64 child");
    assert!(
        err.to_string()
            .ends_with("it has linux/s390x. Add linux/arm64 to the Image's `platforms`"),
        "{err}"
    );
}
