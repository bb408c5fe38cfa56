//! Provider configuration and the AWS clients built from it.
//!
//! GetSchema and Check run without credentials (and often without network),
//! so AWS clients are built on first use, and credentials are validated then,
//! with an error that says what to set.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use pulumi_provider::resource::{AppContext, Failure};

/// Settings that select where resources live (account, region, API
/// endpoint): DiffConfig asks the engine to replace the provider, and with it
/// every resource it manages, when one of them changes.
pub const MOVES_RESOURCES: [&str; 3] = ["region", "profile", "endpoints"];

/// Configuration of the imagedeploy provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderConfig {
    /// AWS region for ECS and ECR calls. Default: the AWS SDK's usual chain
    /// (`AWS_REGION`, the profile's region). Example: `eu-west-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Named AWS profile from the shared config files. Default: `AWS_PROFILE` or `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Endpoint URL overrides per AWS service, for emulators and VPC endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Endpoints>,
    /// Skip checking that AWS credentials can be found before the first AWS
    /// call. Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_credentials_validation: Option<bool>,
    /// A file each Image build adds its figures to (build steps cached and
    /// rebuilt, build seconds, bytes pushed, cache export seconds), labelled
    /// by the Image's name, in the OpenMetrics text format: for a
    /// node_exporter textfile collector or a CI step. Best given as an
    /// absolute path (a relative one is read from the directory the plugin
    /// runs in). Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_file: Option<String>,
}

/// Endpoint URL overrides.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    /// ECS API endpoint, e.g. `http://127.0.0.1:5000` for an emulator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecs: Option<String>,
    /// ECR API endpoint (used for GetAuthorizationToken and DescribeImages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecr: Option<String>,
    /// CloudWatch Logs API endpoint (pre-deploy and Task log lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<String>,
}

impl ProviderConfig {
    /// Checks beyond types: endpoint URLs must be absolute http(s) URLs.
    pub fn check(&self) -> Vec<Failure> {
        let mut failures = Vec::new();
        if let Some(endpoints) = &self.endpoints {
            for (name, url) in [
                ("ecs", &endpoints.ecs),
                ("ecr", &endpoints.ecr),
                ("logs", &endpoints.logs),
            ] {
                if let Some(url) = url {
                    if !(url.starts_with("http://") || url.starts_with("https://"))
                        || url.len() < 10
                    {
                        failures.push(Failure::new(
                            format!("endpoints.{name}"),
                            format!(
                                "\"{url}\" is not an http(s) URL; example: http://127.0.0.1:5000"
                            ),
                        ));
                    }
                }
            }
        }
        if let Some(region) = &self.region {
            if region.is_empty()
                || !region
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                failures.push(Failure::new(
                    "region",
                    format!("\"{region}\" is not an AWS region name; example: us-east-1"),
                ));
            }
        }
        failures
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AwsSetupError {
    #[error(
        "no AWS region is set: set the provider's `region` (imagedeploy:region) or AWS_REGION"
    )]
    NoRegion,
    #[error("no AWS credentials were found ({0}); set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or set the provider's `skipCredentialsValidation` to true")]
    NoCredentials(String),
}

/// Configuration plus lazily built AWS SDK configuration.
#[derive(Default)]
pub struct ProviderContext {
    pub config: ProviderConfig,
    sdk: OnceCell<aws_config::SdkConfig>,
    /// Multi-platform indexes an Image built in this process but did not
    /// push (preview): a Service that names one by digest learns its
    /// children here, as it would from the registry after `up`.
    pub previewed_indexes: PreviewedIndexes,
}

/// Index digest -> its children, for indexes built and not pushed.
#[derive(Default)]
pub struct PreviewedIndexes(
    std::sync::Mutex<
        std::collections::HashMap<
            imagedeploy_registry::Digest,
            Vec<imagedeploy_registry::PlatformManifest>,
        >,
    >,
);

impl PreviewedIndexes {
    /// Records an index built and not pushed.
    pub fn record(
        &self,
        digest: imagedeploy_registry::Digest,
        children: Vec<imagedeploy_registry::PlatformManifest>,
    ) {
        if let Ok(mut known) = self.0.lock() {
            known.insert(digest, children);
        }
    }

    /// The index `digest` names, when this process built it.
    pub fn get(
        &self,
        digest: &imagedeploy_registry::Digest,
    ) -> Option<imagedeploy_registry::ResolvedManifest> {
        let known = self.0.lock().ok()?;
        known
            .get(digest)
            .map(|children| imagedeploy_registry::ResolvedManifest::Index {
                digest: digest.clone(),
                manifests: children.clone(),
            })
    }
}

impl ProviderContext {
    pub fn new(config: ProviderConfig) -> Self {
        ProviderContext {
            config,
            sdk: OnceCell::new(),
            previewed_indexes: PreviewedIndexes::default(),
        }
    }

    async fn sdk(&self) -> Result<&aws_config::SdkConfig, AwsSetupError> {
        self.sdk
            .get_or_try_init(|| async {
                let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .retry_config(
                        aws_config::retry::RetryConfig::adaptive()
                            .with_max_attempts(8)
                            .with_max_backoff(Duration::from_secs(5)),
                    );
                if let Some(region) = &self.config.region {
                    loader = loader.region(aws_config::Region::new(region.clone()));
                }
                if let Some(profile) = &self.config.profile {
                    loader = loader.profile_name(profile);
                }
                let sdk = loader.load().await;
                if sdk.region().is_none() {
                    return Err(AwsSetupError::NoRegion);
                }
                if !self.config.skip_credentials_validation.unwrap_or(false) {
                    validate_credentials(&sdk).await?;
                }
                Ok(sdk)
            })
            .await
    }

    pub async fn ecs(&self) -> Result<aws_sdk_ecs::Client, AwsSetupError> {
        let sdk = self.sdk().await?;
        let mut builder = aws_sdk_ecs::config::Builder::from(sdk);
        if let Some(url) = self.config.endpoints.as_ref().and_then(|e| e.ecs.clone()) {
            builder = builder.endpoint_url(url);
        }
        Ok(aws_sdk_ecs::Client::from_conf(builder.build()))
    }

    pub async fn logs(&self) -> Result<aws_sdk_cloudwatchlogs::Client, AwsSetupError> {
        let sdk = self.sdk().await?;
        let mut builder = aws_sdk_cloudwatchlogs::config::Builder::from(sdk);
        if let Some(url) = self.config.endpoints.as_ref().and_then(|e| e.logs.clone()) {
            builder = builder.endpoint_url(url);
        }
        Ok(aws_sdk_cloudwatchlogs::Client::from_conf(builder.build()))
    }

    pub async fn ecr(&self) -> Result<aws_sdk_ecr::Client, AwsSetupError> {
        let sdk = self.sdk().await?;
        let mut builder = aws_sdk_ecr::config::Builder::from(sdk);
        if let Some(url) = self.config.endpoints.as_ref().and_then(|e| e.ecr.clone()) {
            builder = builder.endpoint_url(url);
        }
        Ok(aws_sdk_ecr::Client::from_conf(builder.build()))
    }
}

async fn validate_credentials(sdk: &aws_config::SdkConfig) -> Result<(), AwsSetupError> {
    use aws_credential_types::provider::ProvideCredentials;
    let provider = sdk.credentials_provider().ok_or_else(|| {
        AwsSetupError::NoCredentials("no credentials provider is configured".into())
    })?;
    match tokio::time::timeout(Duration::from_secs(15), provider.provide_credentials()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(AwsSetupError::NoCredentials(e.to_string())),
        Err(_) => Err(AwsSetupError::NoCredentials(
            "timed out looking for credentials".into(),
        )),
    }
}

impl AppContext for ProviderContext {
    type Config = ProviderConfig;

    fn check(config: &ProviderConfig) -> Vec<Failure> {
        config.check()
    }

    fn new(config: ProviderConfig) -> Self {
        ProviderContext::new(config)
    }

    fn replacing_keys() -> &'static [&'static str] {
        &MOVES_RESOURCES
    }
}

#[cfg(test)]
mod tests {
    use pulumi_provider::schema::object_shape_of;
    use pulumi_provider::schema::typed::{decode, from_json};
    use pulumi_provider::schema::validate::{self, validate};
    use pulumi_provider::wire::value::Value;

    #[test]
    fn json_encoded_config_strings_are_accepted() {
        let shape = object_shape_of::<crate::config::ProviderConfig>();
        let mut input = [
            ("skipCredentialsValidation", "true"),
            ("endpoints", "{\"ecs\":\"http://127.0.0.1:5000\"}"),
            ("region", "us-east-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
        validate::coerce_json_strings(&mut input, &shape);
        assert!(validate(&input, &shape).is_empty());
        let (json, _) = decode(&input, &shape);
        let config: crate::config::ProviderConfig = from_json(json).expect("decodes");
        assert_eq!(config.skip_credentials_validation, Some(true));
        assert_eq!(
            config.endpoints.and_then(|e| e.ecs).as_deref(),
            Some("http://127.0.0.1:5000")
        );
    }
}
