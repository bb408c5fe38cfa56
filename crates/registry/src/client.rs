//! The HTTP side of the registry API: picking http or https, attaching
//! credentials (basic, or bearer tokens from the registry's token service),
//! renewing short-lived credentials (ECR tokens) when the registry stops
//! accepting them, and retrying transient failures with bounded exponential
//! backoff.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{RequestBuilder, Response, StatusCode};

use crate::credentials::{CredentialSource, Credentials, DockerConfig};
use crate::error::RegistryError;
use crate::progress;
use imagedeploy_reference::api_host;

/// How often and how patiently to retry transient failures.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Total attempts per operation, including the first. Default 5.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubles each time. Default 250 ms.
    pub initial_backoff: Duration,
    /// Upper bound for one wait. Default 8 s.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
        }
    }
}

/// Settings for a [`RegistryClient`].
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Registries (`host[:port]`) spoken to over plain HTTP. Loopback
    /// registries (`localhost`, `127.x.x.x`, `[::1]`) always are.
    pub insecure_registries: Vec<String>,
    pub docker_config: DockerConfig,
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    /// Longest silence while reading a response.
    pub read_timeout: Duration,
    /// Host names connected to at a fixed address instead of through DNS (like
    /// `curl --resolve`). The address's port is used when the URL names none.
    pub resolve: Vec<(String, SocketAddr)>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            insecure_registries: Vec::new(),
            docker_config: DockerConfig::default(),
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(120),
            resolve: Vec::new(),
        }
    }
}

/// Which permissions a request needs; bearer tokens are scoped by them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Access {
    Pull,
    Push,
}

/// Fetches fresh credentials for a registry whose credentials expire (an ECR
/// token). The error text is shown to the user; it must not contain secrets.
pub type CredentialRefresher = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<Credentials, String>> + Send>> + Send + Sync,
>;

/// Explicit credentials of one registry, and how to renew them.
struct Explicit {
    credentials: Credentials,
    refresher: Option<CredentialRefresher>,
    /// Bumped on every renewal, so concurrent requests that all met the
    /// expired credentials renew them once.
    generation: u64,
}

/// Talks to OCI distribution registries. Cheap to share (`&self` everywhere).
pub struct RegistryClient {
    http: reqwest::Client,
    options: ClientOptions,
    explicit: Mutex<HashMap<String, Explicit>>,
    /// Serialises renewals.
    renewing: tokio::sync::Mutex<()>,
    /// Authorization header values by (registry, repository, access).
    auth_cache: Mutex<HashMap<(String, String, Access), HeaderValue>>,
}

impl RegistryClient {
    /// TLS trusts the public web roots and the system's certificate store;
    /// `SSL_CERT_FILE` / `SSL_CERT_DIR` replace the system store (a registry
    /// with a private CA).
    pub fn new(options: ClientOptions) -> Result<Self, RegistryError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .user_agent(concat!("imagedeploy/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::limited(5));
        for (host, address) in &options.resolve {
            builder = builder.resolve(host, *address);
        }
        let http = builder
            .build()
            .map_err(|e| RegistryError::Client(e.to_string()))?;
        Ok(Self {
            http,
            options,
            explicit: Mutex::new(HashMap::new()),
            renewing: tokio::sync::Mutex::new(()),
            auth_cache: Mutex::new(HashMap::new()),
        })
    }

    /// Uses `credentials` for `registry` (as written in references, e.g.
    /// `123456789012.dkr.ecr.us-east-1.amazonaws.com`), ahead of any Docker config file.
    pub fn with_credentials(mut self, registry: &str, credentials: Credentials) -> Self {
        self.set_credentials(registry, credentials);
        self
    }

    pub fn set_credentials(&mut self, registry: &str, credentials: Credentials) {
        self.store(registry, credentials, None);
    }

    /// Uses `credentials` for `registry`, and `refresher` to renew them when
    /// the registry rejects credentials it accepted before (a token that
    /// expired mid-push); the failed request is then sent again once.
    pub fn set_expiring_credentials(
        &mut self,
        registry: &str,
        credentials: Credentials,
        refresher: CredentialRefresher,
    ) {
        self.store(registry, credentials, Some(refresher));
    }

    fn store(
        &self,
        registry: &str,
        credentials: Credentials,
        refresher: Option<CredentialRefresher>,
    ) {
        let key = canonical_registry(registry);
        if let Ok(mut explicit) = self.explicit.lock() {
            let generation = explicit.get(&key).map_or(0, |e| e.generation + 1);
            explicit.insert(
                key.clone(),
                Explicit {
                    credentials,
                    refresher,
                    generation,
                },
            );
        }
        // After the new credentials are in place, so no header made from the
        // old ones is cached again.
        self.forget_authorizations(&key);
    }

    fn forget_authorizations(&self, key: &str) {
        if let Ok(mut cache) = self.auth_cache.lock() {
            cache.retain(|(r, _, _), _| r != key);
        }
    }

    /// The renewal generation of `registry`'s credentials, when they can be renewed.
    fn renewable(&self, key: &str) -> Option<u64> {
        let explicit = self.explicit.lock().ok()?;
        let entry = explicit.get(key)?;
        entry.refresher.as_ref().map(|_| entry.generation)
    }

    /// Renews `registry`'s credentials unless another request already did
    /// since generation `seen`.
    async fn renew(&self, registry: &str, key: &str, seen: u64) -> Result<(), RegistryError> {
        let _one_at_a_time = self.renewing.lock().await;
        let refresher = {
            let explicit = self.explicit.lock().ok();
            match explicit.as_ref().and_then(|e| e.get(key)) {
                Some(entry) if entry.generation == seen => entry.refresher.clone(),
                _ => None,
            }
        };
        let Some(refresher) = refresher else {
            return Ok(());
        };
        tracing::info!(%registry, "the registry rejected credentials it accepted before; renewing them");
        let credentials = refresher().await.map_err(|detail| {
            let source = self
                .credentials_for(registry)
                .map(|(_, s)| s)
                .unwrap_or(CredentialSource::Anonymous);
            RegistryError::AuthFailed {
                registry: registry.to_string(),
                credential_source: source,
                detail: format!(
                    "the registry stopped accepting them (expired?) and renewing them failed: {detail}"
                ),
            }
        })?;
        self.store(registry, credentials, Some(refresher));
        Ok(())
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `http://host/v2/` or `https://host/v2/` for a registry.
    pub(crate) fn base_url(&self, registry: &str) -> String {
        let host = api_host(registry);
        let scheme = if is_loopback(host)
            || self
                .options
                .insecure_registries
                .iter()
                .any(|r| r == registry || r == host)
        {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{host}/v2/")
    }

    /// The credentials to use for `registry` and where they came from.
    pub fn credentials_for(
        &self,
        registry: &str,
    ) -> Result<(Credentials, CredentialSource), RegistryError> {
        let key = canonical_registry(registry);
        let explicit = self
            .explicit
            .lock()
            .ok()
            .and_then(|e| e.get(&key).map(|e| e.credentials.clone()));
        if let Some(credentials) = explicit {
            let source = match &credentials {
                Credentials::Basic { username, .. } => CredentialSource::Explicit {
                    username: username.clone(),
                },
                Credentials::Anonymous => CredentialSource::Anonymous,
            };
            return Ok((credentials, source));
        }
        if let Some(found) = self.options.docker_config.lookup(&key)? {
            return Ok(found);
        }
        Ok((Credentials::Anonymous, CredentialSource::Anonymous))
    }

    /// Runs `operation` until it succeeds, fails permanently, or the retry
    /// budget is spent. Each retry is a progress line.
    pub(crate) async fn retrying<T, F, Fut>(
        &self,
        registry: &str,
        operation: &str,
        mut attempt_once: F,
    ) -> Result<T, RegistryError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, RegistryError>>,
    {
        let policy = &self.options.retry;
        let max_attempts = policy.max_attempts.max(1);
        let mut delay = policy.initial_backoff;
        let mut attempt = 1;
        loop {
            match attempt_once().await {
                Ok(value) => return Ok(value),
                Err(error) if error.is_transient() && attempt < max_attempts => {
                    progress(&format!(
                        "{operation} on {registry} failed ({error}); retrying in {} ms (attempt {}/{max_attempts})",
                        delay.as_millis(),
                        attempt + 1
                    ));
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(policy.max_backoff);
                    attempt += 1;
                }
                Err(error) if error.is_transient() => {
                    return Err(RegistryError::RetriesExhausted {
                        registry: registry.to_string(),
                        operation: operation.to_string(),
                        attempts: attempt,
                        last: Box::new(error),
                    })
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Sends one request with authentication, answering a 401 challenge once.
    /// Server errors (5xx, 429) come back as transient `Status` errors; other
    /// statuses are left to the caller.
    pub(crate) async fn send(
        &self,
        registry: &str,
        repository: &str,
        access: Access,
        operation: &str,
        build: &(dyn Fn() -> Result<RequestBuilder, RegistryError> + Send + Sync),
    ) -> Result<Response, RegistryError> {
        let key = (canonical_registry(registry), repository.to_string(), access);
        let generation = self.renewable(&key.0);
        let cached = self
            .auth_cache
            .lock()
            .ok()
            .and_then(|c| c.get(&key).cloned());
        let mut response = self
            .send_with(registry, operation, build, cached.as_ref())
            .await?;
        // A 401 to a request without credentials is the registry's challenge.
        // A 401 to credentials that were sent means they stopped working:
        // renewable ones (an expired token) are renewed before answering it.
        let mut credentials_rejected = cached.is_some();
        let mut renewed = false;
        while response.status() == StatusCode::UNAUTHORIZED {
            if let (true, false, Some(seen)) = (credentials_rejected, renewed, generation) {
                self.renew(registry, &key.0, seen).await?;
                renewed = true;
            }
            let challenge = response
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let header = self
                .authenticate(registry, repository, access, challenge.as_deref())
                .await?;
            if let Ok(mut cache) = self.auth_cache.lock() {
                cache.insert(key.clone(), header.clone());
            }
            response = self
                .send_with(registry, operation, build, Some(&header))
                .await?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && !renewed && generation.is_some() {
                // Rejected right away: the credentials were stale from the start.
                credentials_rejected = true;
                continue;
            }
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                let (_, source) = self.credentials_for(registry)?;
                return Err(RegistryError::AuthFailed {
                    registry: registry.to_string(),
                    credential_source: source,
                    detail: format!(
                        "the registry rejected them for {operation} (HTTP {})",
                        status.as_u16()
                    ),
                });
            }
        }
        let status = response.status();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(status_error(registry, operation, response).await);
        }
        Ok(response)
    }

    async fn send_with(
        &self,
        registry: &str,
        operation: &str,
        build: &(dyn Fn() -> Result<RequestBuilder, RegistryError> + Send + Sync),
        authorization: Option<&HeaderValue>,
    ) -> Result<Response, RegistryError> {
        let mut request = build()?;
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value.clone());
        }
        request
            .send()
            .await
            .map_err(|e| RegistryError::transport(registry, operation, &e))
    }

    /// Turns a 401 challenge into an Authorization header value.
    async fn authenticate(
        &self,
        registry: &str,
        repository: &str,
        access: Access,
        challenge: Option<&str>,
    ) -> Result<HeaderValue, RegistryError> {
        let (credentials, source) = self.credentials_for(registry)?;
        let fail = |detail: String| RegistryError::AuthFailed {
            registry: registry.to_string(),
            credential_source: source.clone(),
            detail,
        };
        let Some(challenge) = challenge.and_then(Challenge::parse) else {
            return Err(fail(
                "the registry answered HTTP 401 without a usable WWW-Authenticate challenge".into(),
            ));
        };
        match challenge.scheme.as_str() {
            "basic" => match &credentials {
                Credentials::Basic { username, password } => {
                    basic_header(username, password.expose()).ok_or_else(|| {
                        fail(
                            "the username or password contains characters not allowed in a header"
                                .into(),
                        )
                    })
                }
                Credentials::Anonymous => {
                    Err(fail("the registry requires a username and password".into()))
                }
            },
            "bearer" => {
                let realm = challenge
                    .param("realm")
                    .ok_or_else(|| fail("the bearer challenge names no token realm".into()))?;
                let actions = match access {
                    Access::Pull => "pull",
                    Access::Push => "pull,push",
                };
                let scope = format!("repository:{repository}:{actions}");
                let mut query: Vec<(&str, &str)> = vec![("scope", &scope)];
                if let Some(service) = challenge.param("service") {
                    query.push(("service", service));
                }
                let mut request = self.http.get(realm).query(&query);
                if let Credentials::Basic { username, password } = &credentials {
                    request = request.basic_auth(username, Some(password.expose()));
                }
                let operation = "token request";
                let response = request
                    .send()
                    .await
                    .map_err(|e| RegistryError::transport(registry, operation, &e))?;
                let status = response.status();
                if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                    return Err(fail(format!(
                        "the token service {realm} rejected them (HTTP {})",
                        status.as_u16()
                    )));
                }
                if !status.is_success() {
                    return Err(status_error(registry, operation, response).await);
                }
                let bytes = response
                    .bytes()
                    .await
                    .map_err(|e| RegistryError::transport(registry, operation, &e))?;
                let body: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
                    fail(format!(
                        "the token service {realm} returned invalid JSON: {e}"
                    ))
                })?;
                let token = body
                    .get("token")
                    .or_else(|| body.get("access_token"))
                    .and_then(|t| t.as_str())
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| fail(format!("the token service {realm} returned no token")))?;
                HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                    fail(format!(
                        "the token service {realm} returned a malformed token"
                    ))
                })
            }
            other => Err(fail(format!("unsupported authentication scheme {other:?}"))),
        }
    }
}

/// A `Status` error carrying the start of the response body.
pub(crate) async fn status_error(
    registry: &str,
    operation: &str,
    response: Response,
) -> RegistryError {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    let body: String = body.trim().chars().take(300).collect();
    RegistryError::Status {
        registry: registry.to_string(),
        operation: operation.to_string(),
        status,
        body,
    }
}

fn basic_header(username: &str, password: &str) -> Option<HeaderValue> {
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

fn canonical_registry(registry: &str) -> String {
    match registry {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".to_string(),
        other => other.to_string(),
    }
}

fn is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    name == "localhost" || name == "::1" || name.starts_with("127.")
}

/// A parsed `WWW-Authenticate` header: scheme plus `key="value"` parameters.
struct Challenge {
    scheme: String,
    params: Vec<(String, String)>,
}

impl Challenge {
    fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.is_empty() {
            return None;
        }
        let mut params = Vec::new();
        let mut chars = rest.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
                chars.next();
            }
            let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
            if key.is_empty() {
                break;
            }
            let mut value = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(c) = chars.peek().copied() {
                    if c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
            params.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        Some(Self {
            scheme: scheme.to_ascii_lowercase(),
            params,
        })
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_challenge() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        );
        let c = c.expect("parsed");
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.param("realm"), Some("https://auth.example/token"));
        assert_eq!(c.param("service"), Some("registry.example"));
        assert_eq!(c.param("scope"), Some("repository:a/b:pull,push"));
    }

    #[test]
    fn loopback_is_plain_http() {
        let client = RegistryClient::new(ClientOptions {
            insecure_registries: vec!["10.0.0.5:5000".into()],
            ..ClientOptions::default()
        })
        .expect("client");
        assert_eq!(
            client.base_url("127.0.0.1:5000"),
            "http://127.0.0.1:5000/v2/"
        );
        assert_eq!(client.base_url("localhost"), "http://localhost/v2/");
        assert_eq!(client.base_url("10.0.0.5:5000"), "http://10.0.0.5:5000/v2/");
        assert_eq!(
            client.base_url("docker.io"),
            "https://registry-1.docker.io/v2/"
        );
        assert_eq!(client.base_url("ghcr.io"), "https://ghcr.io/v2/");
    }
}
