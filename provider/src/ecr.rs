//! Amazon ECR in one place: recognising ECR hosts and their account and
//! region, registry credentials from GetAuthorizationToken (cached, renewed
//! when a registry stops accepting one), and image digests from
//! DescribeImages (with the manifest's media type, which says whether it is a
//! multi-platform index). Image pushes and Service image lookups both come here, so
//! an ECR host in another region is asked in its own region by both.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use imagedeploy_registry::{CredentialRefresher, Credentials, Reference};

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

/// Renews an ECR token that the registry stopped accepting (they expire
/// after 12 hours, and a cached one may be older than the push): a fresh
/// GetAuthorizationToken, which also replaces the cached token.
pub fn refresher(ecr: aws_sdk_ecr::Client, account: &str, region: &str) -> CredentialRefresher {
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
pub fn account_and_region(host: &str) -> Option<(&str, &str)> {
    let host = host.split(':').next().unwrap_or(host);
    let mut parts = host.split('.');
    let account = parts.next()?;
    let region = parts.nth(2)?;
    Some((account, region))
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
pub async fn credentials(ctx: &Ctx, account: &str, region: &str) -> Result<Credentials, String> {
    let key = region.to_string();
    if let Ok(cache) = token_cache().lock() {
        if let Some((at, credentials)) = cache.get(&key) {
            if at.elapsed() < TOKEN_REUSE {
                return Ok(credentials.clone());
            }
        }
    }
    let ecr = regional_client(ctx, region).await?;
    let credentials = token(ecr.get_authorization_token())
        .await
        .map_err(|e| format!("account {account} in {region}: {e}"))?;
    if let Ok(mut cache) = token_cache().lock() {
        cache.insert(key, (Instant::now(), credentials.clone()));
    }
    Ok(credentials)
}

/// The provider's ECR client (honouring `endpoints.ecr`) in `region`.
pub async fn regional_client(ctx: &Ctx, region: &str) -> Result<aws_sdk_ecr::Client, String> {
    let base = ctx.provider.ecr().await.map_err(|e| e.to_string())?;
    let config = base
        .config()
        .to_builder()
        .region(aws_sdk_ecr::config::Region::new(region.to_string()))
        .build();
    Ok(aws_sdk_ecr::Client::from_conf(config))
}

/// What DescribeImages says of one image.
pub struct DescribedImage {
    /// The manifest digest, as ECR spells it.
    pub digest: String,
    /// The manifest's media type (an index's says so), when ECR gives one.
    pub media_type: Option<String>,
}

/// What ECR's DescribeImages gives for `reference` (by its digest, else its
/// tag, else `latest`), asked of the host's own account and region; `None`
/// when the image or repository does not exist.
pub async fn describe_image(
    ctx: &Ctx,
    reference: &Reference,
) -> Result<Option<DescribedImage>, String> {
    let host = reference.registry();
    let (account, region) =
        account_and_region(host).ok_or_else(|| format!("{host} is not an ECR registry host"))?;
    let ecr = regional_client(ctx, region).await?;
    let mut id = aws_sdk_ecr::types::ImageIdentifier::builder();
    if let Some(digest) = reference.digest() {
        id = id.image_digest(digest.as_str());
    } else {
        id = id.image_tag(reference.tag().unwrap_or("latest"));
    }
    let result = ecr
        .describe_images()
        .registry_id(account)
        .repository_name(reference.path())
        .image_ids(id.build())
        .send()
        .await;
    match result {
        Ok(out) => Ok(out.image_details().first().and_then(|d| {
            Some(DescribedImage {
                digest: d.image_digest()?.to_owned(),
                media_type: d.image_manifest_media_type().map(str::to_owned),
            })
        })),
        Err(e) => {
            use aws_sdk_ecr::error::ProvideErrorMetadata;
            let code = e
                .as_service_error()
                .and_then(|s| s.code())
                .unwrap_or_default()
                .to_string();
            if code == "ImageNotFoundException" || code == "RepositoryNotFoundException" {
                Ok(None)
            } else {
                Err(aws_sdk_ecr::error::DisplayErrorContext(&e).to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{account_and_region, is_ecr_host, refresher, token_cache, Credentials};
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
        let renew = refresher(ecr_at(&moto.endpoint()), "123456789012", "eu-west-3");
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
        let renew = refresher(ecr_at(&dead), "123456789012", "eu-west-3");
        let error = renew().await.expect_err("no ECR there");
        assert!(
            error.contains("123456789012") && error.contains("eu-west-3"),
            "{error}"
        );
        assert!(error.contains("GetAuthorizationToken"), "{error}");
    }

    #[test]
    fn reads_account_and_region() {
        assert_eq!(
            account_and_region("123456789012.dkr.ecr.eu-west-3.amazonaws.com"),
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
