//! Importing a Service: the id (`<cluster>/<service>` or the service's
//! ARN) names the service; the ECS crate reads it back as adoptable state.

use imagedeploy_ecs::ServiceState;

use crate::resource::{BoxError, Ctx};

/// The id forms a Service import will take.
pub(super) const ID_FORMS: &str =
    "<cluster>/<service> or arn:aws:ecs:<region>:<account>:service/<cluster>/<service>";

/// `(cluster, service)` named by `id`, or an error naming the forms.
pub(super) fn parse_id(id: &str) -> Result<(String, String), BoxError> {
    let path = match id.strip_prefix("arn:") {
        Some(rest) => {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            match parts.as_slice() {
                [_, "ecs", _, _, resource] => {
                    resource.strip_prefix("service/").ok_or_else(|| wrong(id))?
                }
                _ => return Err(wrong(id)),
            }
        }
        None => id,
    };
    match path.split('/').collect::<Vec<_>>().as_slice() {
        [cluster, service] if !cluster.is_empty() && !service.is_empty() => {
            Ok((cluster.to_string(), service.to_string()))
        }
        _ => Err(wrong(id)),
    }
}

fn wrong(id: &str) -> BoxError {
    format!("cannot import Service {id:?}: expected {ID_FORMS}").into()
}

/// The service `id` names, as state whose inputs a program can adopt;
/// `None` when it does not exist.
pub(super) async fn adopt(ctx: &Ctx, id: &str) -> Result<Option<ServiceState>, BoxError> {
    let (cluster, service) = parse_id(id)?;
    let deployer = super::deployer(ctx).await?;
    Ok(deployer.adopt(&cluster, &service).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_forms() {
        assert_eq!(
            parse_id("prod/web").unwrap(),
            ("prod".to_string(), "web".to_string())
        );
        assert_eq!(
            parse_id("arn:aws:ecs:us-east-1:123456789012:service/prod/web").unwrap(),
            ("prod".to_string(), "web".to_string())
        );
        for bad in [
            "web",
            "a/b/c",
            "/web",
            "arn:aws:ecs:us-east-1:1:task/prod/x",
            "arn:aws:s3:::b",
        ] {
            assert!(
                parse_id(bad).unwrap_err().to_string().contains(ID_FORMS),
                "{bad}"
            );
        }
    }
}
