//! Service behaviour 1 through the engine's life cycle: images given by tag
//! are pinned to the digest the registry serves, a moved tag is a change
//! whose reason says so, an unmoved tag is no change.

mod service_support;

use imagedeploy_tests::promise::images::push_tiny_image;
use imagedeploy_tests::Op;
use serde_json::json;
use service_support::{diff_changes, messages, World, NAME};

#[tokio::test]
async fn tags_are_pinned_and_a_moved_tag_is_one_new_revision_with_its_reason() {
    let w = World::start().await;
    let r = w.up_ok(w.inputs()).await;
    assert_eq!(r.op(NAME), Some(Op::Create));
    let st = w.state();
    let repo = w.app_tag.trim_end_matches(":latest");
    let pinned_a = format!("{repo}@{}", w.first_digest);
    assert_eq!(st.outputs["images"]["web"], json!(pinned_a));
    let td = st.outputs["taskDefinitionArn"].as_str().unwrap().to_string();
    assert_eq!(w.env.images_of(&td).await.unwrap(), vec![pinned_a.clone()]);
    assert_eq!(w.registered().await, 1);
    eprintln!("{}", r.render());
}
