//! Compile-time check: the registry operations' futures are `Send`, so a
//! caller can await them inside `#[async_trait]` methods and spawned tasks
//! (the provider's resource trait requires both). Nothing runs at test time
//! beyond building the futures; the check is that this file compiles.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use imagedeploy_registry::{
    ClientOptions, DockerConfig, PushReport, Reference, RegistryClient, RegistryError,
};

fn assert_send<T: Send>(_: T) {}

fn client() -> RegistryClient {
    RegistryClient::new(ClientOptions {
        docker_config: DockerConfig::Disabled,
        ..ClientOptions::default()
    })
    .expect("client")
}

fn reference() -> Reference {
    Reference::parse("127.0.0.1:5000/app:1").expect("reference")
}

#[test]
fn futures_of_push_resolve_and_exists_are_send() {
    let client = client();
    let tags = [reference()];
    // Built, never polled: dropping an unpolled future does no I/O.
    assert_send(client.push_layout(Path::new("layout"), &tags));
    assert_send(client.resolve(&tags[0]));
    assert_send(client.exists(&tags[0]));
}

/// The shape the provider uses: a trait method whose future must be `Send`
/// for every lifetime of `&self` and the arguments.
#[async_trait]
trait Publisher {
    async fn publish(&self, layout: &Path, tags: &[Reference])
        -> Result<PushReport, RegistryError>;
    async fn current(&self, reference: &Reference) -> Result<bool, RegistryError>;
}

struct Client(RegistryClient);

#[async_trait]
impl Publisher for Client {
    async fn publish(
        &self,
        layout: &Path,
        tags: &[Reference],
    ) -> Result<PushReport, RegistryError> {
        self.0.push_layout(layout, tags).await
    }

    async fn current(&self, reference: &Reference) -> Result<bool, RegistryError> {
        if self.0.resolve(reference).await?.is_none() {
            return Ok(false);
        }
        self.0.exists(reference).await
    }
}

#[test]
fn push_can_run_in_a_spawned_task() {
    let publisher = Arc::new(Client(client()));
    let tags = vec![reference()];
    let layout = PathBuf::from("layout");
    // `tokio::spawn` demands `Send + 'static`; only type-check it.
    let task = async move {
        let pushed = publisher.publish(&layout, &tags).await;
        let direct = publisher.0.push_layout(&layout, &tags).await;
        let current = publisher.current(&tags[0]).await;
        (pushed.is_ok(), direct.is_ok(), current.is_ok())
    };
    fn spawnable<F: std::future::Future + Send + 'static>(_: &F) {}
    spawnable(&task);
}
