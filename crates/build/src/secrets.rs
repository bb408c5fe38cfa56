//! Build secrets reach the builder as files in a private directory (0700,
//! files 0600), referenced by path; secret build args reach it through its
//! environment (`--build-arg NAME` with no value makes buildah and docker
//! read the value from there). Values never appear on a command line, where
//! any local user could read them, and the directory is removed when the
//! build ends. Every line the builder prints is masked with all of them
//! (see `imagedeploy_redact` for the rules: multi-line, short and binary
//! values).

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

use imagedeploy_redact::Redactor;

use crate::error::BuildError;
use crate::process::Invocation;
use crate::request::BuildRequest;

pub(crate) struct SecretFiles {
    dir: tempfile::TempDir,
    ids: Vec<String>,
    redactor: Redactor,
}

/// Why a secret id is not usable, or `None` when it is. The builder's
/// `--secret id=<id>,src=<file>` syntax leaves no room for these characters.
pub fn secret_id_problem(id: &str) -> Option<&'static str> {
    if id.is_empty() {
        Some("a secret id may not be empty")
    } else if id.contains('\0') {
        Some("a secret id may not contain NUL")
    } else if id.contains([',', '=', '/']) {
        Some("a secret id may not contain ',', '=' or '/'")
    } else {
        None
    }
}

/// Why a build arg name cannot carry a secret value through the builder's
/// environment, or `None` when it can: names the builder itself reads
/// (PATH, HOME, its own settings) would change how it runs.
pub fn secret_build_arg_problem(name: &str) -> Option<&'static str> {
    const OWN: [&str; 11] = [
        "PATH",
        "HOME",
        "TMPDIR",
        "USER",
        "SHELL",
        "PWD",
        "TERM",
        "LANG",
        "TZ",
        "LOGNAME",
        "STORAGE_DRIVER",
    ];
    const PREFIXES: [&str; 8] = [
        "BUILDAH_",
        "CONTAINERS_",
        "DOCKER_",
        "BUILDKIT_",
        "BUILDX_",
        "LD_",
        "XDG_",
        "LC_",
    ];
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        Some("a secret build arg name must be letters, digits and '_' (it is passed as an environment variable)")
    } else if OWN.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p)) {
        Some("the builder reads this environment variable itself; a secret build arg cannot use this name")
    } else {
        None
    }
}

impl SecretFiles {
    /// Writes `request.secrets` to private files and collects every secret
    /// value of the request (secrets, secret build args, registry
    /// passwords) for masking.
    pub fn write(request: &BuildRequest) -> Result<Self, BuildError> {
        let secrets = &request.secrets;
        let io = |what: &str| {
            let what = what.to_string();
            move |source| BuildError::Io { what, source }
        };
        for id in secrets.keys() {
            if let Some(problem) = secret_id_problem(id) {
                return Err(BuildError::InvalidSecretId {
                    id: id.escape_debug().to_string(),
                    problem,
                });
            }
        }
        for name in &request.secret_build_args {
            if let Some(problem) = secret_build_arg_problem(name) {
                return Err(BuildError::InvalidSecretBuildArg {
                    name: name.escape_debug().to_string(),
                    problem,
                });
            }
        }
        let dir = crate::scratch::tempdir("secrets").map_err(io("secrets directory"))?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .map_err(io("secrets directory permissions"))?;
        for (index, value) in secrets.values().enumerate() {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(dir.path().join(index.to_string()))
                .map_err(io("secret file"))?;
            file.write_all(value.as_bytes())
                .map_err(io("secret file"))?;
        }
        let mut redactor = Redactor::new(secrets.values());
        for (name, value) in &request.build_args {
            if request.secret_build_args.contains(name) {
                redactor.add(value);
            }
        }
        for credentials in request.registry_auth.values() {
            if let imagedeploy_registry::Credentials::Basic { password, .. } = credentials {
                redactor.add(password.expose());
            }
        }
        Ok(Self {
            dir,
            ids: secrets.keys().cloned().collect(),
            redactor,
        })
    }

    /// `--secret id=<id>,src=<file>` values for the builder.
    pub fn flags(&self) -> Vec<String> {
        self.ids
            .iter()
            .enumerate()
            .map(|(index, id)| format!("id={id},src={}", self.path(index).display()))
            .collect()
    }

    fn path(&self, index: usize) -> PathBuf {
        self.dir.path().join(index.to_string())
    }

    /// A builder output line with every secret value masked (a line holding
    /// a short one is withheld whole).
    pub fn redact(&self, line: &str) -> String {
        self.redactor.redact_output_line(line)
    }
}

/// `--build-arg` flags for `request.build_args`: plain ones as
/// `NAME=value`; secret ones as `NAME` alone, with the value in the
/// builder's environment (checked usable by [`SecretFiles::write`]).
pub(crate) fn build_arg_flags(request: &BuildRequest, invocation: &mut Invocation) {
    for (key, value) in &request.build_args {
        if request.secret_build_args.contains(key) {
            invocation.arg("--build-arg").arg(key);
            invocation.env(key, value);
        } else {
            invocation.arg("--build-arg").arg(format!("{key}={value}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn secret_build_args_go_to_the_environment_not_the_command_line() {
        let mut request = BuildRequest::new("/ctx");
        request.build_args = BTreeMap::from([
            ("PLAIN".to_string(), "open".to_string()),
            ("TOKEN".to_string(), "s3cr3t-arg-value".to_string()),
        ]);
        request.secret_build_args.insert("TOKEN".into());
        let mut invocation = Invocation::new("buildah");
        build_arg_flags(&request, &mut invocation);
        let argv: Vec<String> = invocation
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(argv, ["--build-arg", "PLAIN=open", "--build-arg", "TOKEN"]);
        assert_eq!(
            invocation.env,
            [("TOKEN".to_string(), "s3cr3t-arg-value".to_string())]
        );
    }

    #[test]
    fn unusable_ids_and_names_are_named() {
        for id in ["", "a,b", "a=b", "a/b", "a\0b"] {
            assert!(secret_id_problem(id).is_some(), "{id:?}");
        }
        assert!(secret_id_problem("npmrc").is_none());
        for name in ["PATH", "LD_PRELOAD", "BUILDAH_ISOLATION", "1X", "A-B", ""] {
            assert!(secret_build_arg_problem(name).is_some(), "{name:?}");
        }
        assert!(secret_build_arg_problem("NPM_TOKEN").is_none());
    }

    #[test]
    fn every_secret_of_the_request_is_masked_in_output() {
        let mut request = BuildRequest::new("/ctx");
        request.secrets = BTreeMap::from([
            (
                "pem".to_string(),
                "-----BEGIN-----\nMIIBlongline\nxy\n".to_string(),
            ),
            ("short".to_string(), "q7".to_string()),
            ("bin".to_string(), "\u{1}\u{0}raw\u{7f}bytes".to_string()),
        ]);
        request.build_args = BTreeMap::from([("TOKEN".to_string(), "arg-s3cr3t".to_string())]);
        request.secret_build_args.insert("TOKEN".into());
        request.registry_auth.insert(
            "r.example".into(),
            imagedeploy_registry::Credentials::basic("u", "registry-pass"),
        );
        let files = SecretFiles::write(&request).unwrap();
        for (line, hidden) in [
            ("MIIBlongline", "MIIBlongline"),
            ("xy", "xy"),
            ("value=q7!", "q7"),
            ("got \u{1}\u{0}raw\u{7f}bytes here", "raw"),
            ("TOKEN is arg-s3cr3t", "s3cr3t"),
            ("auth registry-pass", "registry-pass"),
        ] {
            let shown = files.redact(line);
            assert!(!shown.contains(hidden), "{line:?} -> {shown:?}");
        }
        assert_eq!(files.redact("plain line"), "plain line");
    }
}
