//! The ownership mark of a Service (`imagedeploy_ecs::ownership`): a token
//! from the URN, plus the service names the engine recorded for the URN.
//!
//! A replacement's old service carries the same mark as the new one, but it
//! is recorded: the engine sends its inputs as the olds of the first Check
//! of this run (`Check` with olds, then a second Check without them for the
//! replacement). Names seen that way are remembered for the life of the
//! plugin process, which is one engine operation, so a create never takes
//! the recorded service for an orphan of a killed run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use imagedeploy_ecs::Owner;

use crate::resource::Ctx;

static RECORDED: Mutex<BTreeMap<String, BTreeSet<String>>> = Mutex::new(BTreeMap::new());

/// Remembers that the engine recorded a service called `name` for `urn`.
pub(super) fn recorded(urn: &str, name: &str) {
    let mut map = RECORDED.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(urn.to_string())
        .or_default()
        .insert(name.to_string());
}

/// The owner of what the resource of `ctx` registers and creates.
pub(super) fn of(ctx: &Ctx) -> Owner {
    let names = RECORDED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&ctx.urn)
        .cloned()
        .unwrap_or_default();
    Owner::of_urn(&ctx.urn)
        .with_recorded(names)
        .with_family_prefix(imagedeploy_ecs::validate::autoname_base(&ctx.name))
}
