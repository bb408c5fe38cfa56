//! How SST's `sst add <name>` finds a Pulumi provider's Node.js package on npm, so the generated
//! `package.json` can be named to be found, and tests can say whether it is.
//!
//! This mirrors `FindProvider` in SST's `pkg/project/install.go`: it asks the npm registry for
//! each candidate name in order and takes the first package whose `package.json` has a `pulumi`
//! block; the block's `name` (with `-` removed) becomes the global the package is bound to in
//! `sst.config.ts`, falling back to a name derived from the package name when it is empty.

/// The npm names `sst add <plugin>` tries, in its order (`FindProvider`'s prefix list).
pub fn sst_lookup_names(plugin: &str) -> Vec<String> {
    [
        "@sst-provider/",
        "@pulumi/",
        "@pulumiverse/",
        "pulumi-",
        "@",
        "",
    ]
    .iter()
    .map(|prefix| format!("{prefix}{plugin}"))
    .collect()
}

/// The global name SST binds the package to (`FindProvider`'s alias rule), given the package
/// name and the `name` of its `pulumi` block.
pub fn sst_global_name(package_name: &str, pulumi_name: &str) -> String {
    let alias = if pulumi_name.is_empty() || pulumi_name == "terraform-provider" {
        package_name
            .replace("@sst-provider", "")
            .replace(['/', '@'], "")
            .replace("pulumi", "")
    } else {
        pulumi_name.to_owned()
    };
    alias.replace('-', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_in_sst_order() {
        assert_eq!(
            sst_lookup_names("x"),
            [
                "@sst-provider/x",
                "@pulumi/x",
                "@pulumiverse/x",
                "pulumi-x",
                "@x",
                "x"
            ]
        );
    }

    #[test]
    fn global_name_prefers_the_pulumi_block() {
        assert_eq!(
            sst_global_name("pulumi-image-deploy", "image-deploy"),
            "imagedeploy"
        );
        assert_eq!(
            sst_global_name("@sst-provider/planetscale", ""),
            "planetscale"
        );
        assert_eq!(sst_global_name("pulumi-foo", "terraform-provider"), "foo");
    }
}
