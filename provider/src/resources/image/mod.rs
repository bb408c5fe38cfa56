//! `imagedeploy:index:Image`.

use async_trait::async_trait;

use crate::resource::{BoxError, CheckInput, Ctx, DiffInput, DiffOutcome, Failure, OpError, Outputs, Resource};

pub mod args;

pub use args::{ImageArgs, ImageState};

pub struct Image;

pub(crate) const DESCRIPTION: &str = "Builds an image from a Dockerfile, pushes it to a registry and outputs its digest.\n\nWhether to build is decided by a fingerprint of exactly what the Dockerfile can see (only the files its COPY and ADD instructions read, after .dockerignore); whether anything downstream changes is decided by the built image's content: a rebuild that produces the same content keeps `digest` and `ref` as they were.\n\nDelete leaves pushed images in the registry: older task definitions may still use them.";

#[async_trait]
impl Resource for Image {
    type Args = ImageArgs;
    type State = ImageState;

    fn token(&self) -> &'static str {
        "imagedeploy:index:Image"
    }

    fn description(&self) -> &'static str {
        DESCRIPTION
    }

    async fn check(&self, _ctx: &Ctx, input: CheckInput<ImageArgs>) -> Result<ImageArgs, Vec<Failure>> {
        Ok(input.news)
    }

    async fn diff(&self, _ctx: &Ctx, _input: DiffInput<ImageArgs, ImageState>) -> Result<DiffOutcome, BoxError> {
        Err("imagedeploy:index:Image is not implemented yet".into())
    }

    async fn create(
        &self,
        _ctx: &Ctx,
        _args: ImageArgs,
        _preview: bool,
    ) -> Result<(String, Outputs<ImageState>), OpError<ImageState>> {
        Err(OpError::msg("imagedeploy:index:Image is not implemented yet"))
    }

    async fn read(&self, _ctx: &Ctx, _id: &str, _state: ImageState) -> Result<Option<ImageState>, BoxError> {
        Err("imagedeploy:index:Image is not implemented yet".into())
    }

    async fn update(
        &self,
        _ctx: &Ctx,
        _id: &str,
        _olds: ImageState,
        _news: ImageArgs,
        _preview: bool,
    ) -> Result<Outputs<ImageState>, OpError<ImageState>> {
        Err(OpError::msg("imagedeploy:index:Image is not implemented yet"))
    }

    async fn delete(&self, _ctx: &Ctx, _id: &str, _state: ImageState) -> Result<(), BoxError> {
        Ok(())
    }
}
