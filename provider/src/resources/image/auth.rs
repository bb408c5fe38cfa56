//! Registry credentials for an Image: the `registries` input, ECR tokens
//! from GetAuthorizationToken for ECR hosts (renewed when the registry stops
//! accepting one mid-push), then the Docker config file and anonymous access
//! (the registry client's own fallbacks).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use imagedeploy_registry::{
    ClientOptions, CredentialRefresher, Credentials, Reference, RegistryClient,
};

use super::args::ImageArgs;
use super::ImageError;
use crate::resource::Ctx;

/// `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`
pub fn is_ecr_host(host: &str) -> bool {
    let host = host.split(':').next().unwrap_or(host);
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() >= 6
        && parts[0].len() == 12
        && parts[0].bytes().all(|b| b.is_ascii_digit())
        && parts[1] == "dkr"
        && (parts[2] == "ecr" || parts[2] == "ecr-fips")
        && parts[4] == "amazonaws"
        && parts[5] == "com"
}

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
        .filter(|h| is_ecr_host(h) && !explicit.iter().any(|e| e == h))
        .collect();
    ecr_hosts.sort_unstable();
    ecr_hosts.dedup();
    for host in ecr_hosts {
        let Some((account, region)) = ecr_account_and_region(host) else {
            continue;
        };
        let credentials = ecr_credentials_for(ctx, account, region).await?;
        ctx.progress(&format!(
            "using ECR credentials for {host} from GetAuthorizationToken (account {account}, region {region})"
        ));
        let renew = ecr_refresher(regional_ecr(ctx, region).await?, account, region);
        client.set_expiring_credentials(host, credentials, renew);
    }
    Ok(client)
}

/// Renews an ECR token that the registry stopped accepting (they expire
/// after 12 hours, and a cached one may be older than the push): a fresh
/// GetAuthorizationToken, which also replaces the cached token.
fn ecr_refresher(ecr: aws_sdk_ecr::Client, account: &str, region: &str) -> CredentialRefresher {
    let (account, region) = (account.to_string(), region.to_string());
    Arc::new(move || {
        let (ecr, account, region) = (ecr.clone(), account.clone(), region.clone());
        Box::pin(async move {
            tracing::info!(%account, %region, "renewing the ECR token");
            let credentials = token(ecr.get_authorization_token())
                .await
                .map_err(|e| format!("account {account} in {region}: {e}"))?;
            if let Ok(mut cache) = token_cache().lock() {
                cache.insert(region, (Instant::now(), credentials.clone()));
            }
            Ok(credentials)
        })
    })
}

/// Account id and region of an ECR host.
fn ecr_account_and_region(host: &str) -> Option<(&str, &str)> {
    let host = host.split(':').next().unwrap_or(host);
    let mut parts = host.split('.');
    let account = parts.next()?;
    let region = parts.nth(2)?;
    Some((account, region))
}

/// Credentials for the caller's default ECR registry in the provider's region.
pub async fn ecr_credentials(ctx: &Ctx) -> Result<Credentials, ImageError> {
    let ecr = ctx
        .provider
        .ecr()
        .await
        .map_err(|e| ImageError::EcrAuth(e.to_string()))?;
    token(ecr.get_authorization_token())
        .await
        .map_err(ImageError::EcrAuth)
}

/// Sends GetAuthorizationToken and decodes its `user:password` token.
async fn token(
    request: aws_sdk_ecr::operation::get_authorization_token::builders::GetAuthorizationTokenFluentBuilder,
) -> Result<Credentials, String> {
    let response = request.send().await.map_err(|e| {
        format!(
            "GetAuthorizationToken: {}",
            aws_sdk_ecr::error::DisplayErrorContext(&e)
        )
    })?;
    let token = response
        .authorization_data()
        .first()
        .and_then(|d| d.authorization_token())
        .ok_or("GetAuthorizationToken returned no token")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| "GetAuthorizationToken returned a token that is not base64")?;
    let text = String::from_utf8(decoded)
        .map_err(|_| "GetAuthorizationToken returned a token that is not text")?;
    let (user, password) = text
        .split_once(':')
        .ok_or("GetAuthorizationToken returned a token without a user name")?;
    Ok(Credentials::basic(user, password))
}

/// Tokens are valid for 12 hours; reuse one for an hour within a process so
/// a stack of many images asks ECR once, not once per image and call.
const TOKEN_REUSE: Duration = Duration::from_secs(3600);

type TokenCache = Mutex<HashMap<String, (Instant, Credentials)>>;

fn token_cache() -> &'static TokenCache {
    static CACHE: OnceLock<TokenCache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Basic credentials from ECR's GetAuthorizationToken in `region` (tokens
/// are regional; one serves every registry the caller may use there),
/// honouring `endpoints.ecr`.
pub async fn ecr_credentials_for(
    ctx: &Ctx,
    account: &str,
    region: &str,
) -> Result<Credentials, ImageError> {
    let key = region.to_string();
    if let Ok(cache) = token_cache().lock() {
        if let Some((at, credentials)) = cache.get(&key) {
            if at.elapsed() < TOKEN_REUSE {
                return Ok(credentials.clone());
            }
        }
    }
    let ecr = regional_ecr(ctx, region).await?;
    let credentials = token(ecr.get_authorization_token())
        .await
        .map_err(|e| ImageError::EcrAuth(format!("account {account} in {region}: {e}")))?;
    if let Ok(mut cache) = token_cache().lock() {
        cache.insert(key, (Instant::now(), credentials.clone()));
    }
    Ok(credentials)
}

/// The provider's ECR client (honouring `endpoints.ecr`) in `region`.
async fn regional_ecr(ctx: &Ctx, region: &str) -> Result<aws_sdk_ecr::Client, ImageError> {
    let base = ctx
        .provider
        .ecr()
        .await
        .map_err(|e| ImageError::EcrAuth(e.to_string()))?;
    let config = base
        .config()
        .to_builder()
        .region(aws_sdk_ecr::config::Region::new(region.to_string()))
        .build();
    Ok(aws_sdk_ecr::Client::from_conf(config))
}

#[cfg(test)]
mod tests {
    use super::{
        ecr_account_and_region, ecr_refresher, is_ecr_host, parse_resolve, token_cache, Credentials,
    };
    use std::time::Instant;

    fn ecr_at(endpoint: &str) -> aws_sdk_ecr::Client {
        let config = aws_sdk_ecr::Config::builder()
            .behavior_version(aws_sdk_ecr::config::BehaviorVersion::latest())
            .region(aws_sdk_ecr::config::Region::new("eu-west-3"))
            .credentials_provider(aws_sdk_ecr::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .endpoint_url(endpoint)
            .build();
        aws_sdk_ecr::Client::from_conf(config)
    }

    /// The renewal the registry client runs when ECR rejects a token: a new
    /// GetAuthorizationToken (moto's), which also replaces the cached token.
    #[tokio::test]
    async fn renewing_an_ecr_token_fetches_a_new_one_and_replaces_the_cached_one() {
        let moto = imagedeploy_testsupport::Moto::start()
            .unwrap_or_else(|e| panic!("moto is needed for this test: {e}"));
        if let Ok(mut cache) = token_cache().lock() {
            cache.insert(
                "eu-west-3".into(),
                (Instant::now(), Credentials::basic("AWS", "expired-token")),
            );
        }
        let renew = ecr_refresher(ecr_at(&moto.endpoint()), "123456789012", "eu-west-3");
        let fresh = renew().await.expect("renewed");
        assert_eq!(fresh, Credentials::basic("AWS", "123456789012-auth-token"));
        let cached = token_cache()
            .lock()
            .ok()
            .and_then(|c| c.get("eu-west-3").map(|(_, c)| c.clone()));
        assert_eq!(cached, Some(fresh));
    }

    #[tokio::test]
    async fn a_failed_renewal_names_account_and_region() {
        let dead = format!("http://127.0.0.1:{}", imagedeploy_testsupport::free_port());
        let renew = ecr_refresher(ecr_at(&dead), "123456789012", "eu-west-3");
        let error = renew().await.expect_err("no ECR there");
        assert!(
            error.contains("123456789012") && error.contains("eu-west-3"),
            "{error}"
        );
        assert!(error.contains("GetAuthorizationToken"), "{error}");
    }

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

    #[test]
    fn reads_account_and_region() {
        assert_eq!(
            ecr_account_and_region("123456789012.dkr.ecr.eu-west-3.amazonaws.com"),
            Some(("123456789012", "eu-west-3"))
        );
    }

    #[test]
    fn recognises_ecr_hosts() {
        assert!(is_ecr_host("123456789012.dkr.ecr.us-east-1.amazonaws.com"));
        assert!(is_ecr_host(
            "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com"
        ));
        assert!(is_ecr_host(
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"
        ));
        assert!(!is_ecr_host("ghcr.io"));
        assert!(!is_ecr_host("127.0.0.1:5000"));
        assert!(!is_ecr_host("12345.dkr.ecr.us-east-1.amazonaws.com"));
    }
}
