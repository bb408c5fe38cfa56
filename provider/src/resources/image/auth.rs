//! Registry credentials for an Image: the `registries` input, ECR tokens
//! from GetAuthorizationToken for ECR hosts, then the Docker config file and
//! anonymous access (the registry client's own fallbacks).

use base64::Engine as _;
use imagedeploy_registry::{ClientOptions, Credentials, Reference, RegistryClient};

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

/// A client with every credential this image's registries need.
pub async fn client_for(ctx: &Ctx, args: &ImageArgs, refs: &[Reference]) -> Result<RegistryClient, ImageError> {
    let mut client = RegistryClient::new(ClientOptions::default()).map_err(ImageError::Registry)?;
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
    if !ecr_hosts.is_empty() {
        let credentials = ecr_credentials(ctx).await?;
        for host in ecr_hosts {
            client.set_credentials(host, credentials.clone());
        }
    }
    Ok(client)
}

/// Basic credentials from ECR's GetAuthorizationToken (honours `endpoints.ecr`).
pub async fn ecr_credentials(ctx: &Ctx) -> Result<Credentials, ImageError> {
    let ecr = ctx.provider.ecr().await.map_err(|e| ImageError::EcrAuth(e.to_string()))?;
    let response = ecr
        .get_authorization_token()
        .send()
        .await
        .map_err(|e| ImageError::EcrAuth(aws_sdk_ecr::error::DisplayErrorContext(&e).to_string()))?;
    let token = response
        .authorization_data()
        .first()
        .and_then(|d| d.authorization_token())
        .ok_or_else(|| ImageError::EcrAuth("GetAuthorizationToken returned no token".into()))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| ImageError::EcrAuth("GetAuthorizationToken returned a token that is not base64".into()))?;
    let text = String::from_utf8(decoded)
        .map_err(|_| ImageError::EcrAuth("GetAuthorizationToken returned a token that is not text".into()))?;
    let (user, password) = text
        .split_once(':')
        .ok_or_else(|| ImageError::EcrAuth("GetAuthorizationToken returned a token without a user name".into()))?;
    Ok(Credentials::basic(user, password))
}

#[cfg(test)]
mod tests {
    use super::is_ecr_host;

    #[test]
    fn recognises_ecr_hosts() {
        assert!(is_ecr_host("123456789012.dkr.ecr.us-east-1.amazonaws.com"));
        assert!(is_ecr_host("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com"));
        assert!(is_ecr_host("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"));
        assert!(!is_ecr_host("ghcr.io"));
        assert!(!is_ecr_host("127.0.0.1:5000"));
        assert!(!is_ecr_host("12345.dkr.ecr.us-east-1.amazonaws.com"));
    }
}
