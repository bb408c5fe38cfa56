//! Secret in, secret out for outputs the Service derives from its inputs.
//!
//! `images.<container>` is the digest-pinned form of `containers[i].image`:
//! when that image (or the container, or all containers) was a secret input,
//! the pinned reference is as secret as the input it came from.

use std::collections::BTreeSet;

use imagedeploy_ecs::ServiceState;

use pulumi_provider::wire::path::Path;

/// The output paths to keep secret, given the secret input paths.
pub(super) fn derived(secret_inputs: &BTreeSet<Path>, state: &ServiceState) -> Vec<Path> {
    state
        .args
        .containers
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            let image = Path::root().key("containers").index(*i).key("image");
            secret_inputs.iter().any(|s| s.contains(&image))
        })
        .map(|(_, c)| Path::root().key("images").key(&c.name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(names: &[&str]) -> ServiceState {
        let mut s = ServiceState::default();
        s.args.containers = names
            .iter()
            .map(|n| {
                serde_json::from_value(serde_json::json!({"name": n, "image": "r/app:1"})).unwrap()
            })
            .collect();
        s
    }

    #[test]
    fn a_secret_image_makes_its_pinned_image_secret() {
        let st = state(&["web", "side"]);
        let secret: BTreeSet<Path> = [Path::root().key("containers").index(1).key("image")].into();
        assert_eq!(
            derived(&secret, &st),
            [Path::root().key("images").key("side")]
        );
        let all: BTreeSet<Path> = [Path::root().key("containers")].into();
        assert_eq!(derived(&all, &st).len(), 2);
        let other: BTreeSet<Path> =
            [Path::root().key("containers").index(0).key("environment")].into();
        assert!(derived(&other, &st).is_empty());
    }
}
