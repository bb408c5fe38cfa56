//! Registry credentials for an Image: the `registries` input, ECR tokens
//! for ECR hosts (see [`crate::ecr`]), then the Docker config file and
//! anonymous access (the registry client's own fallbacks).

use std::net::SocketAddr;

use imagedeploy_registry::{ClientOptions, Credentials, Reference, RegistryClient};

use super::args::ImageArgs;
use super::ImageError;
use crate::ecr;
use crate::resource::Ctx;

/// Test-only (honoured with `IMAGEDEPLOY_TEST_RESOURCES=1`): registry host
/// names to connect to at a fixed address, `host=ip:port[,host=ip:port]`, so
/// tests can serve an ECR host name from a loopback registry without DNS.
pub const TEST_REGISTRY_RESOLVE_ENV: &str = "IMAGEDEPLOY_TEST_REGISTRY_RESOLVE";

/// Registry client settings for this process: the defaults, plus the test
/// host overrides when the test resources are on.
pub fn registry_options() -> Result<ClientOptions, String> {
    let mut options = ClientOptions::default();
    let test_mode = std::env::var(crate::resources::TEST_RESOURCES_ENV).is_ok_and(|v| v == "1");
    if let (true, Ok(spec)) = (test_mode, std::env::var(TEST_REGISTRY_RESOLVE_ENV)) {
        options.resolve = parse_resolve(&spec)?;
    }
    Ok(options)
}

fn parse_resolve(spec: &str) -> Result<Vec<(String, SocketAddr)>, String> {
    spec.split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(|entry| {
            let bad = || format!("{TEST_REGISTRY_RESOLVE_ENV}: {entry:?} is not host=ip:port");
            let (host, address) = entry.trim().split_once('=').ok_or_else(bad)?;
            let address: SocketAddr = address.parse().map_err(|_| bad())?;
            Ok((host.to_string(), address))
        })
        .collect()
}

/// A client with every credential this image's registries need.
pub async fn client_for(
    ctx: &Ctx,
    args: &ImageArgs,
    refs: &[Reference],
) -> Result<RegistryClient, ImageError> {
    let options = registry_options().map_err(ImageError::RegistrySettings)?;
    let mut client = RegistryClient::new(options).map_err(ImageError::Registry)?;
    let mut explicit = Vec::new();
    for r in args.registries.iter().flatten() {
        if let Some(username) = &r.username {
            let password = r.password.clone().unwrap_or_default();
            client.set_credentials(&r.address, Credentials::basic(username.clone(), password));
            explicit.push(r.address.clone());
        }
    }
    let mut ecr_hosts: Vec<&str> = refs
        .iter()
        .map(|r| r.registry())
        .filter(|h| ecr::is_ecr_host(h) && !explicit.iter().any(|e| e == h))
        .collect();
    ecr_hosts.sort_unstable();
    ecr_hosts.dedup();
    for host in ecr_hosts {
        let Some((account, region)) = ecr::account_and_region(host) else {
            continue;
        };
        let credentials = ecr::credentials(ctx, account, region)
            .await
            .map_err(ImageError::EcrAuth)?;
        ctx.progress(&format!(
            "using ECR credentials for {host} from GetAuthorizationToken (account {account}, region {region})"
        ));
        let regional = ecr::regional_client(ctx, region)
            .await
            .map_err(ImageError::EcrAuth)?;
        let renew = ecr::refresher(regional, account, region);
        client.set_expiring_credentials(host, credentials, renew);
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::parse_resolve;

    #[test]
    fn reads_host_overrides() {
        let parsed = parse_resolve("a.example=127.0.0.1:5000, b.example=127.0.0.2:443");
        assert_eq!(
            parsed,
            Ok(vec![
                ("a.example".to_string(), "127.0.0.1:5000".parse().unwrap()),
                ("b.example".to_string(), "127.0.0.2:443".parse().unwrap()),
            ])
        );
        let bad = parse_resolve("a.example").unwrap_err();
        assert!(
            bad.contains("a.example") && bad.contains("host=ip:port"),
            "{bad}"
        );
    }
}
