//! Pulumi programs written as data.
//!
//! A test declares the provider config and the resources it wants, with inputs
//! as JSON in which `output("db", "endpoint")` stands for another resource's
//! output, just as `db.endpoint` would in a TypeScript program. The deployment
//! engine resolves those references (or sends unknowns during preview) and
//! derives the dependency order from them, like the language SDKs do.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::bail;
use serde_json::{json, Map, Value as Json};

/// Marker key of an output reference inside program inputs (never sent to a provider).
pub const OUTPUT_MARKER: &str = "__harnessOutputRef";

/// `resource.path` of another resource in the same program. The path `id`
/// means the resource's id (unknown in a preview that would create it).
pub fn output(resource: &str, path: &str) -> Json {
    json!({ OUTPUT_MARKER: { "resource": resource, "path": path } })
}

/// The (resource, path) pair when `v` is an output reference.
pub fn as_output_ref(v: &Json) -> Option<(&str, &str)> {
    let inner = v.as_object()?.get(OUTPUT_MARKER)?;
    Some((
        inner.get("resource")?.as_str()?,
        inner.get("path")?.as_str()?,
    ))
}

/// Resource options the harness honours.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub delete_before_replace: bool,
    /// Names of resources in the same program.
    pub depends_on: Vec<String>,
    /// Property paths (engine grammar) whose changes are ignored.
    pub ignore_changes: Vec<String>,
    /// Property paths whose changes force a replacement.
    pub replace_on_changes: Vec<String>,
    /// `customTimeouts`, sent as the `timeout` of Create, Update and Delete.
    pub custom_timeouts: CustomTimeouts,
    /// `import`: adopt the existing resource with this id instead of creating it.
    pub import: Option<String>,
}

/// The `customTimeouts` resource option, in seconds (0: none), as the engine
/// keeps it in state and sends it in each request.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CustomTimeouts {
    pub create: f64,
    pub update: f64,
    pub delete: f64,
}

impl CustomTimeouts {
    pub fn is_zero(&self) -> bool {
        *self == CustomTimeouts::default()
    }
}

/// One resource registration.
#[derive(Debug, Clone)]
pub struct Resource {
    pub type_token: String,
    pub name: String,
    pub inputs: Json,
    pub options: Options,
}

impl Resource {
    pub fn new(type_token: &str, name: &str, inputs: Json) -> Self {
        Resource {
            type_token: type_token.to_string(),
            name: name.to_string(),
            inputs,
            options: Options::default(),
        }
    }

    pub fn delete_before_replace(mut self) -> Self {
        self.options.delete_before_replace = true;
        self
    }

    pub fn depends_on(mut self, names: &[&str]) -> Self {
        self.options
            .depends_on
            .extend(names.iter().map(|s| s.to_string()));
        self
    }

    pub fn ignore_changes(mut self, paths: &[&str]) -> Self {
        self.options
            .ignore_changes
            .extend(paths.iter().map(|s| s.to_string()));
        self
    }

    pub fn replace_on_changes(mut self, paths: &[&str]) -> Self {
        self.options
            .replace_on_changes
            .extend(paths.iter().map(|s| s.to_string()));
        self
    }

    /// `customTimeouts: {create, update, delete}` in seconds.
    pub fn custom_timeouts(mut self, create: f64, update: f64, delete: f64) -> Self {
        self.options.custom_timeouts = CustomTimeouts {
            create,
            update,
            delete,
        };
        self
    }

    /// The `import` option: adopt the existing resource with this id.
    pub fn import(mut self, id: &str) -> Self {
        self.options.import = Some(id.to_string());
        self
    }

    /// Names of the resources this one waits for (output references + dependsOn).
    pub fn dependencies(&self) -> BTreeSet<String> {
        let mut deps: BTreeSet<String> = self.options.depends_on.iter().cloned().collect();
        collect_refs(&self.inputs, &mut deps);
        deps
    }
}

fn collect_refs(v: &Json, out: &mut BTreeSet<String>) {
    if let Some((res, _)) = as_output_ref(v) {
        out.insert(res.to_string());
        return;
    }
    match v {
        Json::Array(items) => items.iter().for_each(|i| collect_refs(i, out)),
        Json::Object(map) => map.values().for_each(|i| collect_refs(i, out)),
        _ => {}
    }
}

/// A whole program: provider configuration and resources.
#[derive(Debug, Clone, Default)]
pub struct Program {
    /// The `imagedeploy:*` stack configuration (keys without the package prefix).
    pub config: Map<String, Json>,
    pub resources: Vec<Resource>,
}

impl Program {
    pub fn new() -> Self {
        Program::default()
    }

    /// Sets provider configuration from a JSON object.
    pub fn config(mut self, config: Json) -> Self {
        if let Json::Object(map) = config {
            self.config = map;
        }
        self
    }

    pub fn resource(mut self, r: Resource) -> Self {
        self.resources.push(r);
        self
    }

    pub fn get(&self, name: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.name == name)
    }

    /// Resources in an order where each comes after everything it depends on;
    /// ties keep declaration order (as a program registering them would).
    pub fn ordered(&self) -> anyhow::Result<Vec<&Resource>> {
        let mut names = BTreeSet::new();
        for r in &self.resources {
            if !names.insert(r.name.as_str()) {
                bail!("resource name {:?} is declared twice", r.name);
            }
        }
        let deps: BTreeMap<&str, BTreeSet<String>> = self
            .resources
            .iter()
            .map(|r| (r.name.as_str(), r.dependencies()))
            .collect();
        for (name, ds) in &deps {
            for d in ds {
                if !names.contains(d.as_str()) {
                    bail!("{name} refers to {d:?}, which is not in the program");
                }
            }
        }
        let mut done: BTreeSet<&str> = BTreeSet::new();
        let mut out = Vec::new();
        while out.len() < self.resources.len() {
            let next = self.resources.iter().find(|r| {
                !done.contains(r.name.as_str())
                    && deps[r.name.as_str()]
                        .iter()
                        .all(|d| done.contains(d.as_str()))
            });
            match next {
                Some(r) => {
                    done.insert(r.name.as_str());
                    out.push(r);
                }
                None => bail!("the program's dependencies form a cycle"),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_references_and_depends_on() {
        let p = Program::new()
            .resource(Resource::new("t", "c", json!({"x": output("b", "result")})))
            .resource(Resource::new("t", "b", json!({})).depends_on(&["a"]))
            .resource(Resource::new("t", "a", json!({})));
        let names: Vec<&str> = p
            .ordered()
            .unwrap()
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn rejects_cycles_and_dangling_references() {
        let cyc = Program::new()
            .resource(Resource::new("t", "a", json!({"x": output("b", "y")})))
            .resource(Resource::new("t", "b", json!({"x": output("a", "y")})));
        assert!(cyc.ordered().is_err());
        let dangling =
            Program::new().resource(Resource::new("t", "a", json!({"x": output("zz", "y")})));
        assert!(dangling.ordered().is_err());
    }
}
