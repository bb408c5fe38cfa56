//! Can this machine run programs of a given platform?
//!
//! A `RUN` step executes the image's own binaries. For a foreign platform
//! (`linux/arm64` on an amd64 machine) that only works when the kernel hands
//! such binaries to an emulator: a `qemu-<arch>` entry in binfmt_misc, as
//! `qemu-user-static` (or `tonistiigi/binfmt --install`) registers. Without
//! one, buildah and BuildKit fail in the middle of the build with `exec
//! format error`; asking here lets Check say so, with the fix, at preview.
//!
//! binfmt_misc is read from `/proc/sys/fs/binfmt_misc`, or from the
//! directory `IMAGEDEPLOY_BINFMT_MISC_DIR` names (a container that mounts
//! the host's elsewhere; tests simulate a machine without the emulator).

use std::path::{Path, PathBuf};

/// The environment variable naming another binfmt_misc directory.
pub const BINFMT_MISC_DIR_ENV: &str = "IMAGEDEPLOY_BINFMT_MISC_DIR";

/// Where the kernel's binfmt_misc entries are normally mounted.
pub const DEFAULT_BINFMT_MISC_DIR: &str = "/proc/sys/fs/binfmt_misc";

/// How a machine runs programs of a platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    /// The builder's own architecture, or one its CPU runs directly.
    Native,
    /// An enabled binfmt_misc entry hands them to this interpreter.
    Emulated {
        /// The entry's name, e.g. `qemu-aarch64`.
        entry: String,
    },
}

/// Why a machine cannot run programs of a platform.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsupported {
    /// No enabled entry for the platform's emulator.
    #[error("no {entry} is registered in binfmt_misc ({dir}{detail})")]
    NoEmulator {
        /// The qemu binfmt_misc entry it would need, e.g. `qemu-aarch64`.
        entry: String,
        /// The binfmt_misc directory looked at.
        dir: PathBuf,
        /// What was found there, e.g. `: the entry is disabled`.
        detail: String,
    },
    /// An architecture no qemu entry is known for.
    #[error("no emulator is known for architecture {arch:?}")]
    UnknownArchitecture {
        /// The architecture part of the platform.
        arch: String,
    },
}

impl Unsupported {
    /// The fix, in a sentence: packages to install or a command to run.
    pub fn fix(&self, platform: &str) -> String {
        let arch = architecture(platform).unwrap_or(platform);
        match self {
            Unsupported::NoEmulator { .. } => format!(
                "install qemu-user-static (apt-get install qemu-user-static binfmt-support, then update-binfmts --enable; or docker run --privileged tonistiigi/binfmt --install {})",
                arch.split('/').next().unwrap_or(arch)
            ),
            Unsupported::UnknownArchitecture { .. } => {
                "build on a machine of that architecture".to_string()
            }
        }
    }
}

/// The binfmt_misc directory this process reads (see the module docs).
pub fn binfmt_misc_dir() -> PathBuf {
    std::env::var_os(BINFMT_MISC_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_BINFMT_MISC_DIR), PathBuf::from)
}

/// Whether a builder whose native platform is `native` runs programs of
/// `platform` here (binfmt_misc from [`binfmt_misc_dir`]).
pub fn support(platform: &str, native: &str) -> Result<Support, Unsupported> {
    support_in(&binfmt_misc_dir(), platform, native)
}

/// [`support`] with an explicit binfmt_misc directory.
pub fn support_in(dir: &Path, platform: &str, native: &str) -> Result<Support, Unsupported> {
    let arch = architecture(platform).unwrap_or_default();
    let native_arch = architecture(native).unwrap_or_default();
    if same_arch(arch, native_arch) || runs_directly(native_arch, arch) {
        return Ok(Support::Native);
    }
    let Some(entry) = qemu_entry(arch) else {
        return Err(Unsupported::UnknownArchitecture {
            arch: arch.to_string(),
        });
    };
    let file = dir.join(entry);
    match std::fs::read_to_string(&file) {
        Ok(text) if text.lines().next().map(str::trim) == Some("enabled") => {
            Ok(Support::Emulated {
                entry: entry.to_string(),
            })
        }
        Ok(_) => Err(Unsupported::NoEmulator {
            entry: entry.to_string(),
            dir: dir.to_path_buf(),
            detail: ": the entry is disabled".to_string(),
        }),
        Err(e) => Err(Unsupported::NoEmulator {
            entry: entry.to_string(),
            dir: dir.to_path_buf(),
            detail: if e.kind() == std::io::ErrorKind::NotFound {
                if dir.join("register").exists() {
                    String::new()
                } else {
                    ": binfmt_misc is not mounted there".to_string()
                }
            } else {
                format!(": {e}")
            },
        }),
    }
}

/// `arch[/variant]` of `os/arch[/variant]`, lower-cased by the caller's
/// spelling; `None` when there is no `/`.
fn architecture(platform: &str) -> Option<&str> {
    platform.trim().split_once('/').map(|(_, arch)| arch)
}

/// Same architecture, ignoring the variants that do not change the
/// instruction set a binary needs (`arm64/v8` is `arm64`).
fn same_arch(a: &str, b: &str) -> bool {
    normalise(a) == normalise(b)
}

fn normalise(arch: &str) -> String {
    let lower = arch.to_ascii_lowercase();
    match lower.as_str() {
        "arm64/v8" | "aarch64" => "arm64".to_string(),
        "x86_64" | "x86-64" | "amd64/v1" => "amd64".to_string(),
        "arm" => "arm/v7".to_string(),
        "i386" | "i686" => "386".to_string(),
        _ => lower,
    }
}

/// CPUs that run another architecture's binaries without emulation. Most
/// arm64 CPUs run 32-bit arm too (some do not, and then the build still
/// fails as before): refusing a build that would work is the worse error.
fn runs_directly(native: &str, arch: &str) -> bool {
    let (native, arch) = (normalise(native), normalise(arch));
    let base = arch.split('/').next().unwrap_or_default();
    matches!(
        (native.as_str(), base),
        ("amd64", "amd64") | ("amd64", "386") | ("arm64", "arm64") | ("arm64", "arm")
    )
}

/// The qemu binfmt_misc entry (as qemu-user-static names it) for an
/// architecture.
fn qemu_entry(arch: &str) -> Option<&'static str> {
    let arch = normalise(arch);
    let base = arch.split('/').next().unwrap_or_default();
    Some(match base {
        "arm64" => "qemu-aarch64",
        "arm" => "qemu-arm",
        "amd64" => "qemu-x86_64",
        "386" => "qemu-i386",
        "ppc64le" => "qemu-ppc64le",
        "s390x" => "qemu-s390x",
        "riscv64" => "qemu-riscv64",
        "mips64le" => "qemu-mips64el",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(entries: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("register"), "").unwrap();
        for (name, text) in entries {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    const AARCH64: &str =
        "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\n";

    #[test]
    fn native_and_compatible_platforms_need_no_emulator() {
        let empty = dir_with(&[]);
        for (platform, native) in [
            ("linux/amd64", "linux/amd64"),
            ("linux/386", "linux/amd64"),
            ("linux/arm64/v8", "linux/arm64"),
            ("linux/arm64", "linux/arm64/v8"),
            ("linux/arm/v7", "linux/arm64"),
        ] {
            assert_eq!(
                support_in(empty.path(), platform, native),
                Ok(Support::Native),
                "{platform} on {native}"
            );
        }
    }

    #[test]
    fn a_foreign_platform_needs_an_enabled_entry() {
        let registered = dir_with(&[("qemu-aarch64", AARCH64)]);
        assert_eq!(
            support_in(registered.path(), "linux/arm64", "linux/amd64"),
            Ok(Support::Emulated {
                entry: "qemu-aarch64".into()
            })
        );
        let empty = dir_with(&[]);
        let missing = support_in(empty.path(), "linux/arm64", "linux/amd64").unwrap_err();
        assert!(
            matches!(&missing, Unsupported::NoEmulator { entry, detail, .. } if entry == "qemu-aarch64" && detail.is_empty()),
            "{missing:?}"
        );
        assert!(missing.fix("linux/arm64").contains("qemu-user-static"));
        assert!(missing.fix("linux/arm64").contains("--install arm64"));

        let disabled = dir_with(&[("qemu-aarch64", &AARCH64.replacen("enabled", "disabled", 1))]);
        let e = support_in(disabled.path(), "linux/arm64", "linux/amd64").unwrap_err();
        assert!(e.to_string().contains("disabled"), "{e}");

        let unmounted = tempfile::tempdir().unwrap();
        let e = support_in(unmounted.path(), "linux/arm64", "linux/amd64").unwrap_err();
        assert!(e.to_string().contains("not mounted"), "{e}");
    }

    #[test]
    fn each_architecture_has_its_qemu_entry() {
        for (platform, entry) in [
            ("linux/ppc64le", "qemu-ppc64le"),
            ("linux/s390x", "qemu-s390x"),
            ("linux/riscv64", "qemu-riscv64"),
            ("linux/mips64le", "qemu-mips64el"),
            ("linux/386", "qemu-i386"),
        ] {
            let dir = dir_with(&[(entry, "enabled\n")]);
            assert_eq!(
                support_in(dir.path(), platform, "linux/arm64"),
                Ok(Support::Emulated {
                    entry: entry.into()
                }),
                "{platform}"
            );
        }
        for platform in ["linux/arm/v7", "linux/arm/v6"] {
            let dir = dir_with(&[("qemu-arm", "enabled\n")]);
            assert_eq!(
                support_in(dir.path(), platform, "linux/amd64"),
                Ok(Support::Emulated {
                    entry: "qemu-arm".into()
                }),
                "{platform}"
            );
        }
        let dir = dir_with(&[("qemu-x86_64", "enabled\n")]);
        assert!(support_in(dir.path(), "linux/amd64", "linux/arm64").is_ok());
        assert!(matches!(
            support_in(dir.path(), "linux/sparc64", "linux/amd64"),
            Err(Unsupported::UnknownArchitecture { .. })
        ));
        // No panic on input that is not a platform.
        assert!(support_in(dir.path(), "", "").is_ok());
    }
}
