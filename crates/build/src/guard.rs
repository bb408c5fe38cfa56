//! Builder processes die with the plugin.
//!
//! Every builder command already runs in its own process group, which a
//! timeout or cancel stops as a whole. A plugin killed with SIGKILL stops
//! nothing, though: buildah and its RUN steps would run on. So, once the
//! plugin [`install`]s itself as the guard program, each builder command is
//! started as `<plugin> __imagedeploy-builder-guard <program> <args>...`:
//! the guard is the group's leader, runs the command as its child, and
//! watches its own parent. When the plugin is gone (the guard is re-parented)
//! it stops the builder with SIGTERM (buildah then removes its working
//! container, which may hold a step's mounted secrets), waits up to ten
//! seconds, and kills the whole group, itself included. No `prctl`: a poll of
//! `getppid` every 100 ms. The guard outlives SIGTERM, SIGINT and SIGHUP
//! sent to the group (the plugin's own stop sends SIGTERM, then SIGKILL
//! after a grace period): were it to die first, a builder that ignores
//! them would be orphaned, and nothing would be left to stop it should
//! the plugin exit before its SIGKILL.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use rustix::process::{getpgrp, getppid, kill_process_group, Signal};
use tokio::signal::unix::{signal, SignalKind};

/// The first argument that makes the plugin binary act as the guard.
pub const GUARD_ARG: &str = "__imagedeploy-builder-guard";

static GUARD: OnceLock<PathBuf> = OnceLock::new();

/// Runs every later builder command under `program` (the plugin's own
/// binary, which must call [`main`] when started with [`GUARD_ARG`]).
pub fn install(program: PathBuf) {
    let _ = GUARD.set(program);
}

/// `(program, args)` to spawn for `program args`: behind the guard when
/// one is installed.
pub(crate) fn wrap(program: &Path, args: &[OsString]) -> (PathBuf, Vec<OsString>) {
    match GUARD.get() {
        Some(guard) => {
            let mut all = vec![OsString::from(GUARD_ARG), program.as_os_str().to_owned()];
            all.extend(args.iter().cloned());
            (guard.clone(), all)
        }
        None => (program.to_path_buf(), args.to_vec()),
    }
}

/// The guard: runs `args[0]` with `args[1..]` and returns its exit code;
/// kills its own process group when its parent goes away first.
pub fn main(args: &[OsString]) -> u8 {
    let parent = getppid();
    // Registered signals no longer terminate the process; nothing needs to
    // read them (the builder, in the same group, gets them as well).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let _signals: Vec<_> = runtime
        .as_ref()
        .map(|rt| {
            let _entered = rt.enter();
            [
                SignalKind::terminate(),
                SignalKind::interrupt(),
                SignalKind::hangup(),
            ]
            .into_iter()
            .filter_map(|kind| signal(kind).ok())
            .collect()
        })
        .unwrap_or_default();
    let Some((program, rest)) = args.split_first() else {
        eprintln!("{GUARD_ARG}: no command");
        return 2;
    };
    let mut child = match std::process::Command::new(program).args(rest).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot start {}: {e}", PathBuf::from(program).display());
            return 127;
        }
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return match (status.code(), status.signal()) {
                    (Some(code), _) => u8::try_from(code).unwrap_or(1),
                    (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(1),
                    (None, None) => 1,
                };
            }
            Ok(None) => {}
            Err(_) => return 1,
        }
        if getppid() != parent {
            // The plugin died without stopping us: nothing must outlive it.
            stop(&mut child);
            return 137;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// How long a builder has, after SIGTERM, to remove its working container.
const GRACE: Duration = Duration::from_secs(10);

/// Stops the builder the way a user's Ctrl-C would, so that it removes its
/// working containers itself (buildah does on SIGTERM; under SIGKILL it
/// would leave a container holding the step's mounted secrets), then kills
/// whatever is left of the group, this guard included.
fn stop(child: &mut std::process::Child) {
    let pid = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    if let Some(pid) = pid {
        let _ = rustix::process::kill_process(pid, Signal::TERM);
        let deadline = std::time::Instant::now() + GRACE;
        while std::time::Instant::now() < deadline {
            if !matches!(child.try_wait(), Ok(None)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let _ = kill_process_group(getpgrp(), Signal::KILL);
}
