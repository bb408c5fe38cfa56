//! The multi-platform busybox fixture: an OCI index with an amd64 and an
//! arm64 child, the same digest on every push.

use imagedeploy_testsupport::{
    emulation_available, multi_platform::MULTI_PLATFORMS, push_multi_platform_busybox, Registry,
};
use std::process::Command;

fn skopeo_raw(reference: &str, extra: &[&str]) -> serde_json::Value {
    let out = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw"])
        .args(extra)
        .arg(format!("docker://{reference}"))
        .output()
        .expect("skopeo is needed (apt-get install skopeo)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn pushes_an_index_of_amd64_and_arm64() {
    let registry = Registry::start().expect("registry");
    let first = push_multi_platform_busybox(&registry).expect("multi-platform image");
    let index = skopeo_raw(&first.reference, &[]);
    assert_eq!(
        index["mediaType"], "application/vnd.oci.image.index.v1+json",
        "{index}"
    );
    let platforms: Vec<String> = index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap_or_default(),
                m["platform"]["architecture"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(platforms, MULTI_PLATFORMS);
    for platform in MULTI_PLATFORMS {
        let arch = platform.split('/').nth(1).unwrap();
        let config = skopeo_raw(
            &first.reference,
            &[
                "--config",
                "--override-arch",
                arch,
                "--override-os",
                "linux",
            ],
        );
        assert_eq!(config["architecture"], arch, "{config}");
    }
    // Made once per process; pushed again, the same digest.
    let other = Registry::start().expect("registry");
    let second = push_multi_platform_busybox(&other).expect("second push");
    assert_eq!(first.digest, second.digest);
}

#[test]
fn emulation_of_arm64_is_known() {
    // On the CI machines scripts/setup registers qemu-aarch64; elsewhere the
    // reason is printed.
    match emulation_available("linux/arm64") {
        Ok(()) => println!("linux/arm64 runs here"),
        Err(why) => println!("linux/arm64 does not run here: {why}"),
    }
    assert_eq!(emulation_available(&imagedeploy_host()), Ok(()));
    assert!(emulation_available("linux/sparc64").is_err());
}

fn imagedeploy_host() -> String {
    match std::env::consts::ARCH {
        "aarch64" => "linux/arm64".into(),
        _ => "linux/amd64".into(),
    }
}
