//! The Pulumi engine's deployment rules, applied to a program and a stack file.
//!
//! `preview`, `up`, `refresh` and `destroy` each start a new provider process
//! (as every CLI run does) and drive it the way the engine's step generator
//! does: provider resource first, Check with the OLD INPUTS, Diff with the OLD
//! OUTPUTS, same steps that keep outputs, create-before-delete replacement,
//! unknowns in previews, init failures retried on the next up. The point is
//! that a provider that behaves here behaves under a real `pulumi up`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use pulumi_gestalt_proto::pulumi::pulumirpc::{
    diff_response::DiffChanges, ConfigureRequest, DiffResponse, PropertyDiff,
    ProviderHandshakeRequest,
};
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

use crate::engine::FakeEngine;
use crate::path::PropertyPath;
use crate::plugin::{provider_bin, LaunchOptions, Plugin};
use crate::program::{as_output_ref, Program, Resource};
use crate::report::{
    inverted_kind, kind_name, kind_replaces, DiffViews, Op, PropertyChange, Report, Step,
};
use crate::rpc::{CallError, Calls};
use crate::stack::{ProviderState, ResourceState, StackFile, StackState};
use crate::values::{contains_unknown, get_path, is_secret, secret, unknown, unwrap_secret};

/// The package whose provider this harness drives.
pub const PACKAGE: &str = "imagedeploy";
/// Type token of the provider resource.
pub const PROVIDER_TYPE: &str = "pulumi:providers:imagedeploy";
/// Name of the default provider resource.
pub const PROVIDER_NAME: &str = "default";
/// Type token of the test fixture resource (only with `IMAGEDEPLOY_TEST_RESOURCES=1`).
pub const FIXTURE_TYPE: &str = "imagedeploy:testing:Fixture";

/// When a test presses Ctrl-C.
type CancelTrigger = std::sync::Arc<dyn Fn() -> bool + Send + Sync>;
/// What a test does to the world after a resource's Check (by resource name).
type AfterCheck = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// A stack and the provider binary that manages it.
pub struct Deployment {
    bin: PathBuf,
    stack: StackFile,
    _dir: Option<tempfile::TempDir>,
    pub project: String,
    pub stack_name: String,
    env: Vec<(String, String)>,
    flags: Vec<String>,
    rpc_timeout: Duration,
    /// The plugin's working directory: the program's main directory.
    program_dir: Option<PathBuf>,
    autonamer: Option<crate::rpc::Autonamer>,
    /// Ctrl-C during each preview or up once this holds (see
    /// [`Self::with_cancel_when`]).
    cancel_when: Option<CancelTrigger>,
    /// The process id of the provider the running operation started.
    running: std::sync::Arc<std::sync::Mutex<Option<u32>>>,
    /// See [`Self::with_after_check`].
    after_check: Option<AfterCheck>,
}

/// What dependents of a resource see during this run.
#[derive(Debug, Clone)]
struct Live {
    outputs: Json,
    /// False when outputs missing from `outputs` are unknown (preview of a
    /// resource that is being created or updated).
    complete: bool,
    /// The resource id; unknown (None) for a resource a preview would create.
    id: Option<String>,
}

/// A step's effect on the stack.
struct Outcome {
    step: Step,
    /// The resource's new state entry (None: it does not exist any more / yet).
    state: Option<ResourceState>,
    /// An old resource to delete at the end (create-before-delete replacement).
    pending_delete: Option<ResourceState>,
    live: Option<Live>,
    failed: bool,
}

/// What one resource's steps need: a connection of their own to the
/// provider (its calls are merged into the run's log) and the run's mode.
struct Lane {
    calls: Calls,
    preview: bool,
}

/// One resource as the program registers it.
struct Registration<'a> {
    res: &'a Resource,
    urn: String,
    /// Its state from the last run, if any.
    old: Option<&'a ResourceState>,
    /// Its inputs, with the outputs of its dependencies filled in.
    inputs: Json,
    /// The URNs of the resources it depends on.
    deps: Vec<String>,
    /// DiffConfig replaced the provider: every resource is replaced.
    provider_replaced: bool,
}

/// The steps one resource ran.
struct Ran {
    /// The import step, when there was one.
    import: Vec<Step>,
    /// Why the import failed (then there is no outcome).
    error: Option<String>,
    outcome: Option<Outcome>,
}

/// One provider process plus the fake engine it logs to.
struct Session {
    engine: FakeEngine,
    plugin: Plugin,
    calls: Calls,
    version: String,
    preview: bool,
}

impl Deployment {
    /// A fresh, empty stack in a temporary directory, driving the binary found
    /// by [`provider_bin`].
    pub fn new() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut d = Deployment::with_stack_file(provider_bin()?, dir.path().join("stack.json"));
        let project = dir.path().join("project");
        std::fs::create_dir_all(&project)?;
        d.program_dir = Some(project);
        d._dir = Some(dir);
        Ok(d)
    }

    /// A stack kept at `path` (created on the first up).
    pub fn with_stack_file(bin: impl Into<PathBuf>, path: impl Into<PathBuf>) -> Self {
        Deployment {
            bin: bin.into(),
            stack: StackFile::new(path),
            _dir: None,
            project: "harness".to_string(),
            stack_name: "dev".to_string(),
            env: Vec::new(),
            flags: Vec::new(),
            rpc_timeout: Duration::from_secs(600),
            program_dir: None,
            autonamer: None,
            cancel_when: None,
            running: Default::default(),
            after_check: None,
        }
    }

    /// The stack's `pulumi:autonaming` configuration.
    pub fn with_autonaming(mut self, autonamer: crate::rpc::Autonamer) -> Self {
        self.autonamer = Some(autonamer);
        self
    }

    /// A Pulumi project whose program's main directory is `dir`: every
    /// provider process starts there, as the engine starts plugins in the
    /// directory `getPwdMain` (pkg/engine/project.go) derives from the
    /// project root and its `main`.
    pub fn with_program_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.program_dir = Some(dir.into());
        self
    }

    /// An SST app rooted at `root`: SST runs Pulumi with the project's `main`
    /// set to `.sst/platform/sst.config.<ts>.mjs` (sst `pkg/project/stack.go`,
    /// `PathPlatformDir` in `pkg/project/path/path.go`), so the engine starts
    /// plugins in `<root>/.sst/platform`, while the program itself chdirs to
    /// the app root (`platform/src/auto/run.ts`).
    pub fn with_sst_app(self, root: &Path) -> anyhow::Result<Self> {
        let platform = root.join(".sst").join("platform");
        std::fs::create_dir_all(&platform)?;
        Ok(self.with_program_dir(platform))
    }

    /// The user presses Ctrl-C during each preview or up, as soon as `when`
    /// holds (polled every 50 ms; e.g. "the builder is running"). The engine's
    /// `deploymentExecutor.Execute` (pkg/resource/deploy/deployment_executor.go)
    /// then calls `Host.SignalCancellation`, which sends Cancel to every
    /// provider (`provider.SignalCancellation`,
    /// pkg/resource/plugin/provider_plugin.go); steps already running go on
    /// until their RPC returns, and their results are recorded as usual.
    pub fn with_cancel_when(mut self, when: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        self.cancel_when = Some(std::sync::Arc::new(when));
        self
    }

    /// Runs `action` (given the resource's name) after each successful
    /// Check of a resource, before its Diff and Create or Update. Not an
    /// engine rule: the world changing while the engine works (for example a
    /// tag pushed to a registry by someone else between Check and the build).
    pub fn with_after_check(mut self, action: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.after_check = Some(std::sync::Arc::new(action));
        self
    }

    /// The directory provider processes start in (`None`: the test's own).
    pub fn program_dir(&self) -> Option<&Path> {
        self.program_dir.as_deref()
    }

    /// Registers the test fixture resource in every provider process.
    pub fn with_fixture(self) -> Self {
        self.with_env("IMAGEDEPLOY_TEST_RESOURCES", "1")
    }

    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Extra launch flags (placed before the engine address).
    pub fn with_flags(mut self, flags: &[&str]) -> Self {
        self.flags.extend(flags.iter().map(|s| s.to_string()));
        self
    }

    pub fn with_rpc_timeout(mut self, timeout: Duration) -> Self {
        self.rpc_timeout = timeout;
        self
    }

    pub fn bin(&self) -> &Path {
        &self.bin
    }

    pub fn stack_file(&self) -> &StackFile {
        &self.stack
    }

    /// The saved stack state.
    pub fn state(&self) -> anyhow::Result<StackState> {
        self.stack.load()
    }

    /// The URN the engine gives a top-level resource of this stack.
    pub fn urn(&self, type_token: &str, name: &str) -> String {
        format!(
            "urn:pulumi:{}::{}::{type_token}::{name}",
            self.stack_name, self.project
        )
    }

    fn provider_urn(&self) -> String {
        self.urn(PROVIDER_TYPE, PROVIDER_NAME)
    }

    /// SIGKILLs the provider process of the operation now running (a
    /// `kill -9` at a point the test chose, e.g. while the ECS
    /// fault-injection proxy holds a call); returns its pid. The operation
    /// then fails the way the engine's does when its plugin dies.
    pub fn kill_plugin(&self) -> Option<u32> {
        let pid = self.running.lock().ok()?.take()?;
        crate::plugin::kill_pid(pid);
        Some(pid)
    }

    /// `pulumi preview`: plans without changing anything; state is untouched.
    pub async fn preview(&self, program: &Program) -> anyhow::Result<Report> {
        self.update(program, true).await
    }

    /// `pulumi up --yes`.
    pub async fn up(&self, program: &Program) -> anyhow::Result<Report> {
        self.update(program, false).await
    }

    async fn start(&self, preview: bool, config: &Map<String, Json>) -> anyhow::Result<Session> {
        let engine = FakeEngine::start().await?;
        let mut opts = LaunchOptions::new(&self.bin);
        opts.engine_address = Some(engine.address());
        opts.flags = self.flags.clone();
        opts.env = self.env.clone();
        opts.cwd = self.program_dir.clone();
        let pulumi_config: BTreeMap<String, String> = config
            .iter()
            .map(|(k, v)| (format!("{PACKAGE}:{k}"), config_string(v)))
            .collect();
        opts.env.push((
            "PULUMI_CONFIG".to_string(),
            serde_json::to_string(&pulumi_config)?,
        ));
        opts.env
            .push(("PULUMI_PROJECT".to_string(), self.project.clone()));
        opts.env
            .push(("PULUMI_STACK".to_string(), self.stack_name.clone()));
        let plugin = Plugin::start(&opts).await?;
        if let Ok(mut running) = self.running.lock() {
            *running = plugin.pid();
        }
        let mut calls = Calls::new(plugin.client(), self.rpc_timeout);
        calls.autonamer = self.autonamer.clone();
        let root = self.bin.parent().map(|p| p.to_string_lossy().into_owned());
        let handshake = calls
            .handshake(ProviderHandshakeRequest {
                engine_address: engine.address(),
                root_directory: root.clone(),
                program_directory: root,
                configure_with_urn: true,
                supports_views: false,
                supports_refresh_before_update: false,
                invoke_with_preview: true,
            })
            .await;
        if let Err(CallError::Status { code, message }) = &handshake {
            if *code != tonic::Code::Unimplemented {
                anyhow::bail!("Handshake failed: {code:?} {message}");
            }
        }
        let version = match calls.get_plugin_info().await {
            Ok(v) => v,
            Err(e) => anyhow::bail!(
                "GetPluginInfo failed (the engine treats this as a load failure): {e}"
            ),
        };
        Ok(Session {
            engine,
            plugin,
            calls,
            version,
            preview,
        })
    }

    /// Ends a session the way the engine does and moves its records into `report`.
    async fn finish(&self, session: Session, report: &mut Report) {
        let Session {
            engine,
            mut plugin,
            calls,
            ..
        } = session;
        report.provider_pid = plugin.pid();
        match plugin.shutdown().await {
            Ok(status) if status.success() => {}
            Ok(status) => report.errors.push(format!(
                "provider exited with {status} after Cancel + SIGINT"
            )),
            Err(e) => report.errors.push(e.to_string()),
        }
        report.stderr = plugin.stderr();
        report.stdout_after_port = plugin.stdout_after_port();
        report.rpcs = calls.log;
        report.rpcs.sort_by_key(|r| r.seq);
        report.logs = engine.logs();
    }

    fn configure_request(&self, state: &ProviderState, args: &Json) -> ConfigureRequest {
        let variables = args
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            format!("{PACKAGE}:config:{k}"),
                            config_string(unwrap_secret(v)),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        ConfigureRequest {
            variables,
            args: Some(crate::values::to_struct(args)),
            accept_secrets: true,
            accept_resources: true,
            sends_old_inputs: true,
            sends_old_inputs_to_delete: true,
            id: Some(state.id.clone()),
            urn: Some(state.urn.clone()),
            name: Some(PROVIDER_NAME.to_string()),
            r#type: Some(PROVIDER_TYPE.to_string()),
        }
    }

    /// CheckConfig, DiffConfig (with old state), Configure. Returns the new
    /// provider state and whether DiffConfig asked to replace the provider.
    async fn provider_step(
        &self,
        s: &mut Session,
        program: &Program,
        old: Option<&ProviderState>,
    ) -> Result<(ProviderState, bool), String> {
        let urn = self.provider_urn();
        let mut news = Json::Object(program.config.clone());
        if let Some(m) = news.as_object_mut() {
            m.insert("version".to_string(), Json::String(s.version.clone()));
        }
        let olds = old
            .map(|o| o.inputs.clone())
            .unwrap_or_else(|| Json::Object(Map::new()));
        let checked = s
            .calls
            .check_config(
                &urn,
                PROVIDER_NAME,
                PROVIDER_TYPE,
                &olds,
                &news,
                &random_seed(),
            )
            .await
            .map_err(|e| format!("CheckConfig failed: {e}"))?;
        if !checked.failures.is_empty() {
            return Err(format!(
                "provider configuration is invalid: {}",
                failures_text(&checked.failures)
            ));
        }
        let inputs = crate::values::from_opt_struct(checked.inputs.as_ref());
        let mut replace = false;
        if let Some(old) = old {
            let diff = s
                .calls
                .diff_config(
                    &old.id,
                    &urn,
                    PROVIDER_NAME,
                    PROVIDER_TYPE,
                    &old.outputs,
                    &inputs,
                    &old.inputs,
                )
                .await
                .map_err(|e| format!("DiffConfig failed: {e}"))?;
            replace = wants_replace(&diff);
        }
        let id = match old {
            Some(o) if !replace => o.id.clone(),
            _ => hex::encode(&stable_hash(&format!("{urn}/{}", s.version))[..16]),
        };
        let state = ProviderState {
            urn,
            id,
            inputs: inputs.clone(),
            outputs: inputs.clone(),
        };
        if !(s.preview && contains_unknown(&inputs)) {
            let req = self.configure_request(&state, &inputs);
            s.calls
                .configure(req)
                .await
                .map_err(|e| format!("Configure failed: {e}"))?;
        }
        Ok((state, replace))
    }

    /// Configures a provider from stored state only (refresh, destroy).
    async fn configure_from_state(
        &self,
        s: &mut Session,
        state: &ProviderState,
    ) -> Result<(), String> {
        let req = self.configure_request(state, &state.inputs);
        s.calls
            .configure(req)
            .await
            .map(|_| ())
            .map_err(|e| format!("Configure failed: {e}"))
    }

    #[allow(clippy::too_many_lines)] // over 150 lines: split pending (issue 10)
    async fn update(&self, program: &Program, preview: bool) -> anyhow::Result<Report> {
        let old_state = self.stack.load()?;
        let order = program.ordered()?;
        let mut report = Report::new(if preview { "preview" } else { "up" });
        let mut s = self.start(preview, &program.config).await?;
        let canceller = self.cancel_when.clone().map(|when| {
            let mut client = s.plugin.client();
            tokio::spawn(async move {
                while !when() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                client.cancel(()).await.is_ok()
            })
        });

        let mut new_resources: Vec<ResourceState> = Vec::new();
        let mut to_delete: Vec<ResourceState> = old_state
            .resources
            .iter()
            .filter(|r| r.pending_delete)
            .cloned()
            .collect();
        let mut touched: BTreeSet<String> = BTreeSet::new();
        let mut live: BTreeMap<String, Live> = BTreeMap::new();
        let mut failed = false;

        let provider = match self
            .provider_step(&mut s, program, old_state.provider.as_ref())
            .await
        {
            Ok(p) => Some(p),
            Err(e) => {
                report.errors.push(e);
                failed = true;
                None
            }
        };
        let provider_replaced = provider.as_ref().map(|p| p.1).unwrap_or(false);

        // Steps of independent resources run at the same time, as the
        // engine's step executor runs them (`stepExecutor.ExecuteSerial`: its
        // workers run chains in parallel, pkg/resource/deploy/step_executor.go).
        // A resource starts once every resource it depends on has finished
        // (the program registers it when their outputs resolve). After a
        // failure nothing new starts (`stepExecutor.cancelDueToError`), and
        // the steps already running finish and are recorded.
        if !failed {
            let mut started: BTreeSet<&str> = BTreeSet::new();
            let mut finished: BTreeSet<&str> = BTreeSet::new();
            let mut running = futures::stream::FuturesUnordered::new();
            loop {
                for res in order.iter().filter(|_| !failed) {
                    let ready = res
                        .dependencies()
                        .iter()
                        .filter(|n| program.get(n).is_some())
                        .all(|n| finished.contains(n.as_str()));
                    if !ready || !started.insert(res.name.as_str()) {
                        continue;
                    }
                    let urn = self.urn(&res.type_token, &res.name);
                    touched.insert(urn.clone());
                    let deps: Vec<String> = res
                        .dependencies()
                        .iter()
                        .filter_map(|n| program.get(n))
                        .map(|r| self.urn(&r.type_token, &r.name))
                        .collect();
                    let inputs = resolve(&res.inputs, &live, preview);
                    let old = old_state.live(&urn);
                    let mut lane = Lane {
                        calls: s.calls.fork(),
                        preview,
                    };
                    let reg = Registration {
                        res,
                        urn,
                        old,
                        inputs,
                        deps,
                        provider_replaced,
                    };
                    running.push(async move {
                        let ran = self.run_resource(&mut lane, reg).await;
                        (res, ran, lane.calls.log)
                    });
                }
                let Some((res, ran, log)) = futures::StreamExt::next(&mut running).await else {
                    break;
                };
                s.calls.log.extend(log);
                report.steps.extend(ran.import);
                let Some(outcome) = ran.outcome else {
                    report.errors.extend(ran.error);
                    failed = true;
                    continue;
                };
                if let Some(e) = &outcome.step.error {
                    report
                        .errors
                        .push(format!("{} ({}): {e}", res.name, res.type_token));
                }
                report.steps.push(outcome.step);
                if let Some(st) = outcome.state {
                    new_resources.push(st);
                }
                if let Some(pd) = outcome.pending_delete {
                    to_delete.push(pd);
                }
                if let Some(l) = outcome.live {
                    live.insert(res.name.clone(), l);
                }
                if outcome.failed {
                    failed = true;
                } else {
                    finished.insert(res.name.as_str());
                }
            }
        }

        // Old resources the program no longer declares.
        let mut leftovers: Vec<ResourceState> = old_state
            .resources
            .iter()
            .filter(|r| !r.pending_delete && !touched.contains(&r.urn))
            .cloned()
            .collect();
        let mut kept_pending: Vec<ResourceState> = Vec::new();
        if !failed {
            let mut doomed: Vec<ResourceState> = std::mem::take(&mut leftovers);
            doomed.append(&mut to_delete);
            let ordered = reverse_dependency_order(&doomed);
            let mut stop = false;
            for r in ordered {
                if stop {
                    keep_undeleted(r, &mut leftovers, &mut kept_pending);
                    continue;
                }
                let op = if r.pending_delete {
                    Op::DeleteReplaced
                } else {
                    Op::Delete
                };
                let mut step = Step::new(&r.urn, &r.name, &r.type_token, op);
                step.outputs = r.outputs.clone();
                if !preview {
                    if let Err(e) = s
                        .calls
                        .delete_with_timeout(
                            &r.id,
                            &r.urn,
                            &r.name,
                            &r.type_token,
                            &r.outputs,
                            &r.inputs,
                            r.custom_timeouts.delete,
                        )
                        .await
                    {
                        step.error = Some(format!("Delete failed: {e}"));
                        report
                            .errors
                            .push(format!("{} ({}): Delete failed: {e}", r.name, r.type_token));
                        keep_undeleted(r, &mut leftovers, &mut kept_pending);
                        stop = true;
                    }
                }
                report.steps.push(step);
            }
        } else {
            kept_pending = to_delete;
        }

        if !preview {
            let mut resources = new_resources;
            resources.extend(leftovers);
            resources.extend(kept_pending);
            let provider_state = match provider {
                Some((p, _)) => Some(p),
                None => old_state.provider.clone(),
            };
            let state = StackState {
                provider: if resources.is_empty() && provider_state.is_none() {
                    None
                } else {
                    provider_state
                },
                resources,
            };
            self.stack.save(&state)?;
        }
        if let Some(c) = canceller {
            if c.is_finished() {
                report.cancelled = c.await.unwrap_or(false);
            } else {
                c.abort();
            }
        }
        self.finish(s, &mut report).await;
        Ok(report)
    }

    /// One resource's steps: the import first when the program asks for one
    /// and the stack has no such resource yet, then its register step.
    async fn run_resource(&self, s: &mut Lane, reg: Registration<'_>) -> Ran {
        let res = reg.res;
        let urn = reg.urn.as_str();
        let mut ran = Ran {
            import: Vec::new(),
            error: None,
            outcome: None,
        };
        let imported: ResourceState;
        let mut old = reg.old;
        if let (None, Some(id)) = (old, res.options.import.as_deref()) {
            let mut step = Step::new(urn, &res.name, &res.type_token, Op::Import);
            match self.import(s, res, urn, id, &reg.deps).await {
                Ok(st) => {
                    step.outputs = st.outputs.clone();
                    ran.import.push(step);
                    imported = st;
                    old = Some(&imported);
                }
                Err(e) => {
                    ran.error = Some(format!("{} ({}): {e}", res.name, res.type_token));
                    step.error = Some(e);
                    ran.import.push(step);
                    return ran;
                }
            }
        }
        let reg = Registration {
            old,
            urn: reg.urn.clone(),
            ..reg
        };
        ran.outcome = Some(self.resource_step(s, reg).await);
        ran
    }

    #[allow(clippy::too_many_lines)] // over 150 lines: split pending (issue 10)
    async fn resource_step(&self, s: &mut Lane, reg: Registration<'_>) -> Outcome {
        let Registration {
            res,
            ref urn,
            old,
            inputs,
            deps,
            provider_replaced,
        } = reg;
        let urn = urn.as_str();
        let preview = s.preview;
        let name = res.name.as_str();
        let ty = res.type_token.as_str();
        // One new seed per registration, used by its Check calls
        // (`generateSteps` in step_generator.go draws it from crypto/rand).
        let seed = random_seed();
        let empty = Json::Object(Map::new());
        let fail = |op: Op, msg: String, state: Option<ResourceState>| {
            let mut step = Step::new(urn, name, ty, op);
            step.error = Some(msg);
            Outcome {
                step,
                state,
                pending_delete: None,
                live: None,
                failed: true,
            }
        };
        let new_state =
            |id: String, inputs: Json, outputs: Json, init_failed: bool| ResourceState {
                urn: urn.to_string(),
                type_token: ty.to_string(),
                name: name.to_string(),
                id,
                inputs,
                outputs,
                dependencies: deps.clone(),
                init_failed,
                pending_delete: false,
                delete_before_replace: res.options.delete_before_replace,
                ignore_changes: res.options.ignore_changes.clone(),
                replace_on_changes: res.options.replace_on_changes.clone(),
                custom_timeouts: res.options.custom_timeouts,
            };
        let timeouts = res.options.custom_timeouts;

        let Some(old) = old else {
            // Create.
            let checked = match s.calls.check(urn, name, ty, &empty, &inputs, &seed).await {
                Ok(c) if c.failures.is_empty() => crate::values::from_opt_struct(c.inputs.as_ref()),
                Ok(c) => return fail(Op::Create, check_error(&c.failures), None),
                Err(e) => return fail(Op::Create, format!("Check failed: {e}"), None),
            };
            if let Some(action) = &self.after_check {
                action(name);
            }
            return self
                .create(
                    s,
                    urn,
                    name,
                    ty,
                    &checked,
                    Op::Create,
                    None,
                    &new_state,
                    timeouts.create,
                )
                .await;
        };

        // Existing resource: ignoreChanges, Check(olds = old inputs), Diff(olds = old outputs).
        let inputs = process_ignore_changes(inputs, &old.inputs, &res.options.ignore_changes);
        let checked = match s
            .calls
            .check(urn, name, ty, &old.inputs, &inputs, &seed)
            .await
        {
            Ok(c) if c.failures.is_empty() => crate::values::from_opt_struct(c.inputs.as_ref()),
            Ok(c) => return fail(Op::Update, check_error(&c.failures), Some(old.clone())),
            Err(e) => return fail(Op::Update, format!("Check failed: {e}"), Some(old.clone())),
        };
        if let Some(action) = &self.after_check {
            action(name);
        }
        let diff = match s
            .calls
            .diff(
                &old.id,
                urn,
                name,
                ty,
                &old.outputs,
                &checked,
                &old.inputs,
                &res.options.ignore_changes,
            )
            .await
        {
            Ok(d) => d,
            Err(e) => return fail(Op::Update, format!("Diff failed: {e}"), Some(old.clone())),
        };
        let diff = match apply_replace_on_changes(
            diff,
            &res.options.replace_on_changes,
            old.init_failed,
        ) {
            Ok(d) => d,
            Err(e) => {
                return fail(
                    Op::Update,
                    format!("the provider's diff is not valid: {e}"),
                    Some(old.clone()),
                )
            }
        };
        let decision = decide(&diff, &old.inputs, &checked);
        let mut base = Step::new(urn, name, ty, Op::Same);
        base.detailed_diff = diff
            .detailed_diff
            .iter()
            .map(|(k, v)| (k.clone(), kind_name(v.kind).to_string()))
            .collect();
        base.diffs = diff.diffs.clone();
        base.replaces = diff.replaces.clone();
        base.changes = property_changes(&diff, old, &checked);
        base.views = Some(DiffViews::new(&diff, old, &checked, None));
        if diff.changes == DiffChanges::DiffUnknown as i32 {
            for k in &decision.changed {
                base.detailed_diff
                    .entry(k.clone())
                    .or_insert_with(|| "UPDATE".to_string());
            }
        }

        let kind = if provider_replaced || decision.replace {
            Op::Replace
        } else if decision.changed.is_empty() && !diff_has_changes(&diff) {
            if old.init_failed {
                Op::Update
            } else {
                Op::Same
            }
        } else {
            Op::Update
        };

        match kind {
            Op::Same => {
                let mut st = old.clone();
                st.inputs = checked;
                st.dependencies = deps.clone();
                st.delete_before_replace = res.options.delete_before_replace;
                st.ignore_changes = res.options.ignore_changes.clone();
                st.replace_on_changes = res.options.replace_on_changes.clone();
                st.custom_timeouts = res.options.custom_timeouts;
                base.outputs = old.outputs.clone();
                Outcome {
                    step: base,
                    state: Some(st),
                    pending_delete: None,
                    live: Some(Live {
                        outputs: old.outputs.clone(),
                        complete: true,
                        id: Some(old.id.clone()),
                    }),
                    failed: false,
                }
            }
            Op::Update => {
                base.op = Op::Update;
                let result = s
                    .calls
                    .update_with_timeout(
                        &old.id,
                        urn,
                        name,
                        ty,
                        &old.outputs,
                        &checked,
                        &old.inputs,
                        &res.options.ignore_changes,
                        preview,
                        timeouts.update,
                    )
                    .await;
                match result {
                    Ok(r) => {
                        let outputs = crate::values::from_opt_struct(r.properties.as_ref());
                        if !preview && contains_unknown(&outputs) {
                            base.error =
                                Some("Update (preview=false) returned unknown outputs".to_string());
                        }
                        base.outputs = outputs.clone();
                        let failed = base.error.is_some();
                        Outcome {
                            step: base,
                            state: Some(new_state(old.id.clone(), checked, outputs.clone(), false)),
                            pending_delete: None,
                            live: Some(Live {
                                outputs,
                                complete: !preview,
                                id: Some(old.id.clone()),
                            }),
                            failed,
                        }
                    }
                    Err(CallError::InitFailed {
                        id,
                        properties,
                        reasons,
                        message,
                        ..
                    }) if !preview => {
                        let id = if id.is_empty() { old.id.clone() } else { id };
                        base.error = Some(format!(
                            "Update partially failed: {message} (reasons: {})",
                            reasons.join("; ")
                        ));
                        base.outputs = properties.clone();
                        Outcome {
                            step: base,
                            state: Some(new_state(id, checked, properties, true)),
                            pending_delete: None,
                            live: None,
                            failed: true,
                        }
                    }
                    Err(e) => {
                        base.error = Some(format!("Update failed: {e}"));
                        Outcome {
                            step: base,
                            state: Some(old.clone()),
                            pending_delete: None,
                            live: None,
                            failed: true,
                        }
                    }
                }
            }
            _ => {
                // Replace: Check again without olds, then create-before-delete
                // unless the provider or the program asks for delete-first.
                base.op = Op::Replace;
                let dbr = diff.delete_before_replace || res.options.delete_before_replace;
                base.delete_before_replace = dbr;
                let checked2 = match s.calls.check(urn, name, ty, &empty, &inputs, &seed).await {
                    Ok(c) if c.failures.is_empty() => {
                        crate::values::from_opt_struct(c.inputs.as_ref())
                    }
                    Ok(c) => return fail(Op::Replace, check_error(&c.failures), Some(old.clone())),
                    Err(e) => {
                        return fail(Op::Replace, format!("Check failed: {e}"), Some(old.clone()))
                    }
                };
                if dbr && !preview {
                    if let Err(e) = s
                        .calls
                        .delete_with_timeout(
                            &old.id,
                            urn,
                            name,
                            ty,
                            &old.outputs,
                            &old.inputs,
                            old.custom_timeouts.delete,
                        )
                        .await
                    {
                        base.error = Some(format!("Delete (before replace) failed: {e}"));
                        return Outcome {
                            step: base,
                            state: Some(old.clone()),
                            pending_delete: None,
                            live: None,
                            failed: true,
                        };
                    }
                }
                let pending = if dbr {
                    None
                } else {
                    let mut p = old.clone();
                    p.pending_delete = true;
                    Some(p)
                };
                // If a create-before-delete Create fails outright, the old one stays live.
                let keep_on_failure = if dbr { None } else { Some(old.clone()) };
                let mut out = self
                    .create(
                        s,
                        urn,
                        name,
                        ty,
                        &checked2,
                        Op::Replace,
                        keep_on_failure,
                        &new_state,
                        timeouts.create,
                    )
                    .await;
                out.step.detailed_diff = base.detailed_diff;
                out.step.views = base.views;
                out.step.changes = base.changes;
                out.step.diffs = base.diffs;
                out.step.replaces = base.replaces;
                out.step.delete_before_replace = dbr;
                // The old resource is deleted at the end only if a new one now exists.
                let created = out.state.as_ref().is_some_and(|st| st.id != old.id);
                if created && !preview {
                    out.pending_delete = pending;
                }
                out
            }
        }
    }

    /// Create (or the create half of a replace).
    #[allow(clippy::too_many_arguments)]
    async fn create(
        &self,
        s: &mut Lane,
        urn: &str,
        name: &str,
        ty: &str,
        checked: &Json,
        op: Op,
        keep_on_failure: Option<ResourceState>,
        new_state: &dyn Fn(String, Json, Json, bool) -> ResourceState,
        timeout: f64,
    ) -> Outcome {
        let preview = s.preview;
        let mut step = Step::new(urn, name, ty, op);
        match s
            .calls
            .create_with_timeout(urn, name, ty, checked, preview, timeout)
            .await
        {
            Ok(r) => {
                let outputs = crate::values::from_opt_struct(r.properties.as_ref());
                if !preview {
                    if r.id.is_empty() {
                        step.error =
                            Some("Create (preview=false) returned an empty id".to_string());
                    } else if contains_unknown(&outputs) {
                        step.error =
                            Some("Create (preview=false) returned unknown outputs".to_string());
                    }
                }
                step.outputs = outputs.clone();
                let failed = step.error.is_some();
                let state = if preview || failed {
                    keep_on_failure
                } else {
                    Some(new_state(
                        r.id.clone(),
                        checked.clone(),
                        outputs.clone(),
                        false,
                    ))
                };
                Outcome {
                    step,
                    state,
                    pending_delete: None,
                    live: Some(Live {
                        outputs,
                        complete: !preview,
                        id: if preview { None } else { Some(r.id) },
                    }),
                    failed,
                }
            }
            Err(CallError::InitFailed {
                id,
                properties,
                reasons,
                message,
                ..
            }) if !preview => {
                step.error = Some(format!(
                    "Create partially failed: {message} (reasons: {})",
                    reasons.join("; ")
                ));
                step.outputs = properties.clone();
                Outcome {
                    step,
                    state: Some(new_state(id, checked.clone(), properties, true)),
                    pending_delete: None,
                    live: None,
                    failed: true,
                }
            }
            Err(e) => {
                step.error = Some(format!("Create failed: {e}"));
                Outcome {
                    step,
                    state: keep_on_failure,
                    pending_delete: None,
                    live: None,
                    failed: true,
                }
            }
        }
    }

    /// The first half of an `import` (`ImportStep.Apply`, not planned): Read
    /// with only the id; no outputs means the resource does not exist, no
    /// inputs means the provider cannot import. The result becomes the old
    /// state, and the ordinary Check and Diff against the program follow
    /// (`continueStepsFromImport`), after the program's ignoreChanges.
    async fn import(
        &self,
        s: &mut Lane,
        res: &Resource,
        urn: &str,
        id: &str,
        deps: &[String],
    ) -> Result<ResourceState, String> {
        let resp = s
            .calls
            .read_for_import(id, urn, &res.name, &res.type_token)
            .await
            .map_err(|e| format!("Read (import of {id:?}) failed: {e}"))?;
        if resp.id.is_empty() || resp.properties.is_none() {
            return Err(format!("resource '{id}' does not exist"));
        }
        let Some(inputs) = resp.inputs.as_ref() else {
            return Err(
                "provider does not support importing resources; please try updating the 'imagedeploy' plugin"
                    .to_string(),
            );
        };
        Ok(ResourceState {
            urn: urn.to_string(),
            type_token: res.type_token.clone(),
            name: res.name.clone(),
            id: resp.id.clone(),
            inputs: crate::values::from_struct(inputs),
            outputs: crate::values::from_opt_struct(resp.properties.as_ref()),
            dependencies: deps.to_vec(),
            init_failed: false,
            pending_delete: false,
            delete_before_replace: res.options.delete_before_replace,
            ignore_changes: res.options.ignore_changes.clone(),
            replace_on_changes: res.options.replace_on_changes.clone(),
            custom_timeouts: res.options.custom_timeouts,
        })
    }

    /// `pulumi refresh --yes`: Read every resource, then Diff the other way round.
    pub async fn refresh(&self) -> anyhow::Result<Report> {
        let old_state = self.stack.load()?;
        let mut report = Report::new("refresh");
        let Some(provider) = old_state.provider.clone() else {
            return Ok(report);
        };
        let config = provider.inputs.as_object().cloned().unwrap_or_default();
        let mut s = self.start(false, &config).await?;
        if let Err(e) = self.configure_from_state(&mut s, &provider).await {
            report.errors.push(e);
            self.finish(s, &mut report).await;
            return Ok(report);
        }
        let mut resources = Vec::new();
        for r in &old_state.resources {
            if r.pending_delete {
                resources.push(r.clone());
                continue;
            }
            let mut step = Step::new(&r.urn, &r.name, &r.type_token, Op::Read);
            match s
                .calls
                .read(&r.id, &r.urn, &r.name, &r.type_token, &r.outputs, &r.inputs)
                .await
            {
                Ok(resp) if resp.id.is_empty() => {
                    step.removed = true;
                }
                Ok(resp) => {
                    let outputs = crate::values::from_opt_struct(resp.properties.as_ref());
                    let inputs = match resp.inputs.as_ref() {
                        Some(i) if !i.fields.is_empty() => crate::values::from_struct(i),
                        _ => r.inputs.clone(),
                    };
                    // The refresh diff (`RefreshStep.Apply`): the refreshed
                    // inputs and outputs as the olds, the program's last inputs
                    // as the news, the stored ignoreChanges, then inverted. A
                    // failing Diff fails the step and keeps the old state.
                    match s
                        .calls
                        .diff(
                            &resp.id,
                            &r.urn,
                            &r.name,
                            &r.type_token,
                            &outputs,
                            &r.inputs,
                            &inputs,
                            &r.ignore_changes,
                        )
                        .await
                    {
                        Ok(d) => {
                            step.detailed_diff = d
                                .detailed_diff
                                .iter()
                                .map(|(k, v)| {
                                    (k.clone(), inverted_kind(kind_name(v.kind)).to_string())
                                })
                                .collect();
                            step.diffs = d.diffs.clone();
                            let mut inverted = d.clone();
                            for pd in inverted.detailed_diff.values_mut() {
                                pd.kind = kind_value(inverted_kind(kind_name(pd.kind)));
                            }
                            step.views =
                                Some(DiffViews::new(&inverted, r, &inputs, Some(&outputs)));
                            step.outputs = outputs.clone();
                            let mut st = r.clone();
                            st.id = resp.id;
                            st.outputs = outputs;
                            st.inputs = inputs;
                            resources.push(st);
                        }
                        Err(e) => {
                            step.error = Some(format!("Diff after Read failed: {e}"));
                            resources.push(r.clone());
                        }
                    }
                }
                Err(CallError::InitFailed {
                    id,
                    properties,
                    inputs,
                    message,
                    ..
                }) => {
                    step.error = Some(format!("Read reported a partial failure: {message}"));
                    let mut st = r.clone();
                    if !id.is_empty() {
                        st.id = id;
                    }
                    st.outputs = properties;
                    if let Some(i) = inputs {
                        st.inputs = i;
                    }
                    st.init_failed = true;
                    resources.push(st);
                }
                Err(e) => {
                    step.error = Some(format!("Read failed: {e}"));
                    resources.push(r.clone());
                }
            }
            if let Some(e) = &step.error {
                report
                    .errors
                    .push(format!("{} ({}): {e}", r.name, r.type_token));
            }
            report.steps.push(step);
        }
        self.stack.save(&StackState {
            provider: Some(provider),
            resources,
        })?;
        self.finish(s, &mut report).await;
        Ok(report)
    }

    /// `pulumi destroy --yes`: Delete in reverse dependency order.
    pub async fn destroy(&self) -> anyhow::Result<Report> {
        let old_state = self.stack.load()?;
        let mut report = Report::new("destroy");
        let Some(provider) = old_state.provider.clone() else {
            self.stack.save(&StackState::default())?;
            return Ok(report);
        };
        let config = provider.inputs.as_object().cloned().unwrap_or_default();
        let mut s = self.start(false, &config).await?;
        if let Err(e) = self.configure_from_state(&mut s, &provider).await {
            report.errors.push(e);
            self.finish(s, &mut report).await;
            return Ok(report);
        }
        let mut remaining: Vec<ResourceState> = Vec::new();
        let mut stop = false;
        for r in reverse_dependency_order(&old_state.resources) {
            if stop {
                remaining.push(r.clone());
                continue;
            }
            let mut step = Step::new(&r.urn, &r.name, &r.type_token, Op::Delete);
            if let Err(e) = s
                .calls
                .delete_with_timeout(
                    &r.id,
                    &r.urn,
                    &r.name,
                    &r.type_token,
                    &r.outputs,
                    &r.inputs,
                    r.custom_timeouts.delete,
                )
                .await
            {
                step.error = Some(format!("Delete failed: {e}"));
                report
                    .errors
                    .push(format!("{} ({}): Delete failed: {e}", r.name, r.type_token));
                remaining.push(r.clone());
                stop = true;
            }
            report.steps.push(step);
        }
        let state = if remaining.is_empty() {
            StackState::default()
        } else {
            StackState {
                provider: Some(provider),
                resources: remaining,
            }
        };
        self.stack.save(&state)?;
        self.finish(s, &mut report).await;
        Ok(report)
    }
}

fn keep_undeleted(
    r: &ResourceState,
    leftovers: &mut Vec<ResourceState>,
    pending: &mut Vec<ResourceState>,
) {
    if r.pending_delete {
        pending.push(r.clone());
    } else {
        leftovers.push(r.clone());
    }
}

/// The engine's decision from a DiffResponse.
struct Decision {
    replace: bool,
    /// Top-level keys the engine considers changed (for DIFF_UNKNOWN its own diff).
    changed: Vec<String>,
}

fn diff_has_changes(d: &DiffResponse) -> bool {
    d.changes == DiffChanges::DiffSome as i32
}

fn wants_replace(d: &DiffResponse) -> bool {
    d.changes == DiffChanges::DiffSome as i32
        && (!d.replaces.is_empty()
            || d.detailed_diff
                .values()
                .any(|p| kind_replaces(kind_name(p.kind))))
}

fn decide(d: &DiffResponse, old_inputs: &Json, new_inputs: &Json) -> Decision {
    if d.changes == DiffChanges::DiffUnknown as i32 {
        // Legacy path: the engine compares old and new inputs itself.
        let changed = changed_keys(old_inputs, new_inputs);
        let replace = changed.iter().any(|k| d.replaces.contains(k));
        return Decision { replace, changed };
    }
    if d.changes == DiffChanges::DiffNone as i32 {
        return Decision {
            replace: false,
            changed: Vec::new(),
        };
    }
    Decision {
        replace: wants_replace(d),
        changed: Vec::new(),
    }
}

/// Top-level keys whose values differ (an unknown always counts as a change).
fn changed_keys(old: &Json, new: &Json) -> Vec<String> {
    let empty = Map::new();
    let o = old.as_object().unwrap_or(&empty);
    let n = new.as_object().unwrap_or(&empty);
    let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
    keys.into_iter()
        .filter(|k| {
            let (a, b) = (o.get(*k), n.get(*k));
            a != b || b.map(contains_unknown).unwrap_or(false)
        })
        .cloned()
        .collect()
}

/// ignoreChanges: each path's value in the new inputs is reset to its value
/// in the old inputs (removed where the old inputs have none). A path that
/// does not parse is skipped; one that cannot be followed leaves the inputs
/// as they are.
///
/// Mirrors `processIgnoreChanges` (pkg/resource/deploy/step_generator.go),
/// which uses `ParsePropertyPath` and `PropertyPath.Reset`.
fn process_ignore_changes(news: Json, old_inputs: &Json, ignore: &[String]) -> Json {
    let mut out = news;
    for p in ignore {
        if let Ok(path) = PropertyPath::parse(p) {
            let mut attempt = out.clone();
            if path.reset(old_inputs, &mut attempt) {
                out = attempt;
            }
        }
    }
    out
}

/// The special diff key of a resource whose last step failed to initialise.
const INIT_ERROR_KEY: &str = "#initerror";

/// Applies `replaceOnChanges` to a provider's diff: every detailedDiff key is
/// parsed as a property path (a key that does not parse fails the step), and
/// a changed path under one of the options' paths becomes a replacement.
///
/// Mirrors `applyReplaceOnChanges` (pkg/resource/deploy/step_generator.go),
/// which the step generator calls on every DIFF_SOME result.
fn apply_replace_on_changes(
    mut diff: DiffResponse,
    replace_on_changes: &[String],
    has_init_errors: bool,
) -> Result<DiffResponse, String> {
    if diff.changes != DiffChanges::DiffSome as i32 && !has_init_errors {
        return Ok(diff);
    }
    let paths: Vec<PropertyPath> = replace_on_changes
        .iter()
        .map(|p| PropertyPath::parse(p).map_err(|e| format!("replaceOnChanges path {p:?}: {e}")))
        .collect::<Result<_, _>>()?;
    for (key, pd) in diff.detailed_diff.iter_mut() {
        let path = PropertyPath::parse(key)
            .map_err(|e| format!("detailedDiff key {key:?} is not a property path: {e}"))?;
        if paths.iter().any(|p| p.contains(&path)) {
            pd.kind = kind_value(to_replace(kind_name(pd.kind)));
        }
    }
    for k in diff.diffs.clone() {
        if let Ok(kp) = PropertyPath::parse(&k) {
            if paths.iter().any(|p| p.contains(&kp)) && !diff.replaces.contains(&k) {
                diff.replaces.push(k);
            }
        }
    }
    if has_init_errors {
        let init = PropertyPath(vec![crate::path::Element::Key(INIT_ERROR_KEY.to_string())]);
        if paths.iter().any(|p| p.contains(&init)) {
            diff.replaces.push(INIT_ERROR_KEY.to_string());
            diff.detailed_diff.insert(
                INIT_ERROR_KEY.to_string(),
                PropertyDiff {
                    kind: kind_value("UPDATE_REPLACE"),
                    input_diff: false,
                },
            );
            diff.changes = DiffChanges::DiffSome as i32;
        }
    }
    Ok(diff)
}

/// `PropertyDiff.ToReplace`.
fn to_replace(kind: &str) -> &'static str {
    match kind {
        "ADD" | "ADD_REPLACE" => "ADD_REPLACE",
        "DELETE" | "DELETE_REPLACE" => "DELETE_REPLACE",
        _ => "UPDATE_REPLACE",
    }
}

/// The proto value of a `PropertyDiff.Kind` name.
fn kind_value(name: &str) -> i32 {
    match name {
        "ADD" => 0,
        "ADD_REPLACE" => 1,
        "DELETE" => 2,
        "DELETE_REPLACE" => 3,
        "UPDATE" => 4,
        "UPDATE_REPLACE" => 5,
        _ => -1,
    }
}

/// Replaces `output(res, path)` references with values (or unknowns in preview).
fn resolve(v: &Json, live: &BTreeMap<String, Live>, preview: bool) -> Json {
    resolve_opt(v, live, preview).unwrap_or(Json::Null)
}

/// `None` means "undefined": the key is dropped, as the SDKs do.
fn resolve_opt(v: &Json, live: &BTreeMap<String, Live>, preview: bool) -> Option<Json> {
    if let Some((res, path)) = as_output_ref(v) {
        let l = live.get(res)?;
        if path == "id" {
            return match &l.id {
                Some(id) => Some(Json::String(id.clone())),
                None if preview => Some(unknown()),
                None => None,
            };
        }
        return match get_path(&l.outputs, path) {
            Some((val, was_secret)) => {
                let val = val.clone();
                Some(if was_secret || is_secret(&val) {
                    secret(val)
                } else {
                    val
                })
            }
            None if preview && !l.complete => Some(unknown()),
            None => None,
        };
    }
    match v {
        Json::Array(items) => Some(Json::Array(
            items
                .iter()
                .map(|i| resolve_opt(i, live, preview).unwrap_or(Json::Null))
                .collect(),
        )),
        Json::Object(map) => Some(Json::Object(
            map.iter()
                .filter_map(|(k, i)| resolve_opt(i, live, preview).map(|r| (k.clone(), r)))
                .collect(),
        )),
        other => Some(other.clone()),
    }
}

/// Old and new values of the paths in the provider's detailed diff.
fn property_changes(d: &DiffResponse, old: &ResourceState, news: &Json) -> Vec<PropertyChange> {
    let mut paths: Vec<(&String, &PropertyDiff)> = d.detailed_diff.iter().collect();
    paths.sort_by(|a, b| a.0.cmp(b.0));
    paths
        .into_iter()
        .map(|(path, pd)| {
            let before = if pd.input_diff {
                &old.inputs
            } else {
                &old.outputs
            };
            let parsed = PropertyPath::parse(path).ok();
            let pick = |root: &Json| {
                parsed.as_ref()?.get(root).map(|(v, was_secret)| {
                    if was_secret {
                        secret(v.clone())
                    } else {
                        v.clone()
                    }
                })
            };
            PropertyChange {
                path: path.clone(),
                kind: kind_name(pd.kind).to_string(),
                old: pick(before),
                new: pick(news),
            }
        })
        .collect()
}

/// Resources ordered so that dependents come before what they depend on.
pub fn reverse_dependency_order(resources: &[ResourceState]) -> Vec<&ResourceState> {
    let mut done: BTreeSet<usize> = BTreeSet::new();
    let mut forward: Vec<&ResourceState> = Vec::new();
    let urns: BTreeSet<&str> = resources.iter().map(|r| r.urn.as_str()).collect();
    while forward.len() < resources.len() {
        let next = resources.iter().enumerate().find(|(i, r)| {
            !done.contains(i)
                && r.dependencies.iter().all(|d| {
                    !urns.contains(d.as_str())
                        || resources
                            .iter()
                            .enumerate()
                            .filter(|(_, x)| x.urn == *d)
                            .all(|(j, _)| done.contains(&j))
                })
        });
        match next {
            Some((i, r)) => {
                done.insert(i);
                forward.push(r);
            }
            None => {
                // A cycle cannot come from a program; keep the stored order for the rest.
                for (i, r) in resources.iter().enumerate() {
                    if done.insert(i) {
                        forward.push(r);
                    }
                }
            }
        }
    }
    forward.reverse();
    forward
}

/// A new 32-byte random seed, as the engine draws one from crypto/rand for
/// every registration (`generateSteps` in step_generator.go): a provider must
/// not rely on it being the same in the next run.
fn random_seed() -> Vec<u8> {
    use std::io::Read as _;
    let mut seed = vec![0u8; 32];
    let filled = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut seed));
    if filled.is_err() {
        // Still different per call: time and a counter through SHA-256.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        seed = Sha256::digest(format!("{t}/{n}/{}", std::process::id()).as_bytes()).to_vec();
    }
    seed
}

/// A hash that stays the same for the same text (provider ids).
fn stable_hash(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

/// Config values as the engine renders them in `variables`/`PULUMI_CONFIG`.
fn config_string(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn failures_text(failures: &[pulumi_gestalt_proto::pulumi::pulumirpc::CheckFailure]) -> String {
    failures
        .iter()
        .map(|f| format!("{}: {}", f.property, f.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

fn check_error(failures: &[pulumi_gestalt_proto::pulumi::pulumirpc::CheckFailure]) -> String {
    format!("Check failed: {}", failures_text(failures))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::CustomTimeouts;
    use serde_json::json;

    fn rs(name: &str, deps: &[&str]) -> ResourceState {
        ResourceState {
            urn: name.to_string(),
            type_token: "t".into(),
            name: name.into(),
            id: name.into(),
            inputs: json!({}),
            outputs: json!({}),
            dependencies: deps.iter().map(|s| s.to_string()).collect(),
            init_failed: false,
            pending_delete: false,
            delete_before_replace: false,
            ignore_changes: vec![],
            replace_on_changes: vec![],
            custom_timeouts: CustomTimeouts::default(),
        }
    }

    #[test]
    fn deletes_dependents_first() {
        let list = vec![rs("c", &["b"]), rs("a", &[]), rs("b", &["a"])];
        let names: Vec<&str> = reverse_dependency_order(&list)
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(names, ["c", "b", "a"]);
    }

    #[test]
    fn preview_references_to_unfinished_resources_are_unknown() {
        let mut live = BTreeMap::new();
        live.insert(
            "a".to_string(),
            Live {
                outputs: json!({"known": "k", "s": secret(json!("x"))}),
                complete: false,
                id: None,
            },
        );
        let v = json!({
            "k": crate::program::output("a", "known"),
            "u": crate::program::output("a", "missing"),
            "s": crate::program::output("a", "s"),
            "id": crate::program::output("a", "id"),
        });
        let r = resolve(&v, &live, true);
        assert_eq!(r["k"], json!("k"));
        assert_eq!(r["u"], unknown());
        assert_eq!(r["s"], secret(json!("x")));
        assert_eq!(r["id"], unknown());
        let up = resolve(&v, &live, false);
        assert!(up.get("u").is_none());
    }

    #[test]
    fn engine_side_diff_counts_unknowns_as_changes() {
        let changed = changed_keys(
            &json!({"a": 1, "b": 2, "gone": 1}),
            &json!({"a": 1, "b": unknown(), "new": 1}),
        );
        assert_eq!(changed, ["b", "gone", "new"]);
    }

    #[test]
    fn ignore_changes_keeps_old_values() {
        let news = process_ignore_changes(
            json!({"a": 2, "b": 2, "c": 1}),
            &json!({"a": 1}),
            &["a".to_string(), "c".to_string()],
        );
        assert_eq!(news, json!({"a": 1, "b": 2}));
    }

    #[test]
    fn ignore_changes_follows_nested_wildcard_and_quoted_paths() {
        let old =
            json!({"tags": {"team": "a", "x.y": "1"}, "list": [{"v": 1}, {"v": 2}], "n": {"k": 1}});
        let new = json!({"tags": {"team": "b", "x.y": "2"}, "list": [{"v": 5}, {"v": 6}], "n": {"k": 2, "j": 3}});
        let out = process_ignore_changes(
            new,
            &old,
            &[
                "tags[\"x.y\"]".to_string(),
                "list[*].v".to_string(),
                "n.k".to_string(),
            ],
        );
        assert_eq!(
            out,
            json!({"tags": {"team": "b", "x.y": "1"}, "list": [{"v": 1}, {"v": 2}], "n": {"k": 1, "j": 3}})
        );
        // A string prefix is not a path prefix: "tag" ignores nothing under "tags".
        let out = process_ignore_changes(
            json!({"tags": {"a": 2}}),
            &json!({"tags": {"a": 1}}),
            &["tag".to_string()],
        );
        assert_eq!(out, json!({"tags": {"a": 2}}));
    }

    fn diff_with(keys: &[(&str, i32)]) -> DiffResponse {
        DiffResponse {
            changes: DiffChanges::DiffSome as i32,
            diffs: keys
                .iter()
                .filter_map(|(k, _)| PropertyPath::parse(k).ok()?.root_key().map(str::to_string))
                .collect(),
            detailed_diff: keys
                .iter()
                .map(|(k, kind)| {
                    (
                        k.to_string(),
                        PropertyDiff {
                            kind: *kind,
                            input_diff: false,
                        },
                    )
                })
                .collect(),
            has_detailed_diff: true,
            ..Default::default()
        }
    }

    #[test]
    fn replace_on_changes_turns_matching_paths_into_replacements() {
        let d = apply_replace_on_changes(
            diff_with(&[("tags.team", 4), ("image", 4)]),
            &["tags.*".to_string()],
            false,
        )
        .unwrap();
        assert_eq!(
            kind_name(d.detailed_diff["tags.team"].kind),
            "UPDATE_REPLACE"
        );
        assert_eq!(kind_name(d.detailed_diff["image"].kind), "UPDATE");
        assert!(wants_replace(&d));
    }

    #[test]
    fn a_diff_key_that_is_not_a_property_path_fails_the_step() {
        let err = apply_replace_on_changes(diff_with(&[(r#"context["src\"]"#, 4)]), &[], false)
            .unwrap_err();
        assert!(err.contains("missing closing quote"), "{err}");
        // Without changes the engine does not look at the keys.
        let mut none = diff_with(&[(r#"context["src\"]"#, 4)]);
        none.changes = DiffChanges::DiffNone as i32;
        assert!(apply_replace_on_changes(none, &[], false).is_ok());
    }

    #[test]
    fn every_registration_gets_a_new_seed() {
        let (a, b) = (random_seed(), random_seed());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
