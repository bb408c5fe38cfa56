//! A multi-platform busybox base image, and whether this machine can run
//! its foreign half.
//!
//! Multi-platform tests need a `FROM` image with a child per platform, and
//! there is no Docker Hub: the image is made here from this machine's
//! `/bin/busybox` (busybox-static) and Debian's `busybox-static` package of
//! the other architecture (`apt-get download busybox-static:arm64`; setup
//! caches it in [`DEB_CACHE_DIR`] so tests need no apt). Each child is
//! committed with buildah (`--timestamp 0`: same inputs, same digests), and
//! the two make an OCI index. It is built once per test process and pushed
//! to each registry a test asks for.
//!
//! [`emulation_available`] says, with a reason, whether RUN steps of a
//! platform can run here, so tests skip visibly where the machine refuses.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::base_image::{write_rootfs, BaseImageError, PushedImage, Storage};
use crate::process::find_program;
use crate::registry::Registry;

/// Repository and tag the multi-platform base image is pushed as.
pub const MULTI_PLATFORM_BASE: &str = "testbase/busybox:1";

/// The platforms of the multi-platform base image, in index order.
pub const MULTI_PLATFORMS: [&str; 2] = ["linux/amd64", "linux/arm64"];

/// Where `scripts/setup-emulation` leaves Debian packages of foreign
/// architectures (`IMAGEDEPLOY_TEST_DEB_DIR` names another).
pub const DEB_CACHE_DIR: &str = "/var/cache/imagedeploy/debs";

/// Applets besides the base image's, for looking at the platform.
const EXTRA_APPLETS: &[&str] = &["uname", "arch"];

/// The buildah store holding the two images and their index.
struct Prepared {
    storage: Storage,
    list: String,
}

static PREPARED: OnceLock<Result<Prepared, String>> = OnceLock::new();

/// Pushes the multi-platform busybox image (an OCI index of `linux/amd64`
/// and `linux/arm64` children, `/bin/sh` and the usual applets, `uname`
/// included) to `registry` as `<registry>/testbase/busybox:1`. The images
/// are made on the first call of the process; the digest is the same on
/// every call and in every process.
pub fn push_multi_platform_busybox(registry: &Registry) -> Result<PushedImage, BaseImageError> {
    let prepared = PREPARED
        .get_or_init(|| prepare().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| BaseImageError::Prepare(e.clone()))?;
    let reference = format!("{}/{MULTI_PLATFORM_BASE}", registry.address());
    let digest_file = tempfile::NamedTempFile::new().map_err(|source| BaseImageError::Io {
        what: "a digest file".into(),
        source,
    })?;
    let digest_arg = digest_file.path().to_string_lossy().into_owned();
    let destination = format!("docker://{reference}");
    prepared.storage.run(&[
        "manifest",
        "push",
        "--all",
        "--format",
        "oci",
        "--tls-verify=false",
        "--digestfile",
        &digest_arg,
        &prepared.list,
        &destination,
    ])?;
    let digest = std::fs::read_to_string(digest_file.path())
        .map(|d| d.trim().to_string())
        .ok()
        .filter(|d| d.starts_with("sha256:"))
        .ok_or_else(|| BaseImageError::NoDigest {
            reference: reference.clone(),
        })?;
    Ok(PushedImage { reference, digest })
}

/// Whether RUN steps of `platform` (`linux/arm64`) can run on this machine
/// under buildah: natively, or through a qemu entry in binfmt_misc that is
/// enabled, has the F flag (buildah's chroot has no interpreter inside) and
/// really runs the arm64 busybox. `Err` says why not, for a visible skip.
pub fn emulation_available(platform: &str) -> Result<(), String> {
    let arch = platform.split('/').nth(1).unwrap_or_default();
    if arch == host_arch() {
        return Ok(());
    }
    if arch != "arm64" {
        return Err(format!(
            "the test fixtures can only check emulation of linux/arm64, not {platform}"
        ));
    }
    let entry = Path::new("/proc/sys/fs/binfmt_misc/qemu-aarch64");
    let text = std::fs::read_to_string(entry).map_err(|e| {
        format!(
            "{} cannot be read ({e}): qemu-user-static is not registered; run scripts/setup-emulation as root",
            entry.display()
        )
    })?;
    if text.lines().next() != Some("enabled") {
        return Err(format!("{} is disabled", entry.display()));
    }
    let flags = text
        .lines()
        .find_map(|l| l.strip_prefix("flags: "))
        .unwrap_or_default();
    if !flags.contains('F') {
        return Err(format!(
            "{} has flags {flags:?} without F: buildah's chroot cannot find the interpreter; run scripts/setup-emulation as root",
            entry.display()
        ));
    }
    let dir = tempfile::tempdir().map_err(|e| format!("a temp dir: {e}"))?;
    let busybox = foreign_busybox("arm64", dir.path()).map_err(|e| e.to_string())?;
    let out = Command::new(&busybox)
        .args(["uname", "-m"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running the arm64 busybox under qemu: {e}"))?;
    let machine = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || machine != "aarch64" {
        return Err(format!(
            "the arm64 busybox did not run under qemu (uname -m said {machine:?}, {})",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// The BuildKit architecture of this machine.
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn prepare() -> Result<Prepared, BaseImageError> {
    let buildah =
        find_program("buildah", &["/usr/bin/buildah"]).ok_or_else(|| BaseImageError::Missing {
            program: "buildah".into(),
            hint: "apt-get install buildah".into(),
        })?;
    let work = work_dir().map_err(io("the multi-platform image's work directory"))?;
    let storage = Storage {
        buildah,
        root: work.join("root"),
        runroot: work.join("run"),
    };
    let list = "localhost/imagedeploy-test-multi:latest".to_string();
    storage.run(&["manifest", "create", &list])?;
    for platform in MULTI_PLATFORMS {
        let arch = platform.split('/').nth(1).unwrap_or_default();
        let busybox = if arch == host_arch() {
            host_busybox()?
        } else {
            foreign_busybox(arch, &work)?
        };
        let rootfs = work.join(format!("rootfs-{arch}"));
        write_rootfs(&rootfs, &busybox, "multi").map_err(io("a root filesystem"))?;
        for applet in EXTRA_APPLETS {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet))
                .map_err(io("an applet link"))?;
        }
        let image = format!("localhost/imagedeploy-test-multi-{arch}:latest");
        let container = storage.run(&["from", "--arch", arch, "scratch"])?;
        let rootfs_arg = rootfs.to_string_lossy().into_owned();
        storage.run(&["copy", &container, &rootfs_arg, "/"])?;
        storage.run(&[
            "config",
            "--cmd",
            "/bin/sh",
            "--env",
            "PATH=/bin",
            "--os",
            "linux",
            "--arch",
            arch,
            &container,
        ])?;
        storage.run(&["commit", "--timestamp", "0", &container, &image])?;
        storage.run(&[
            "manifest",
            "add",
            &list,
            &format!("containers-storage:{image}"),
        ])?;
    }
    Ok(Prepared { storage, list })
}

fn io(what: &str) -> impl FnOnce(std::io::Error) -> BaseImageError {
    let what = what.to_string();
    move |source| BaseImageError::Io { what, source }
}

fn host_busybox() -> Result<PathBuf, BaseImageError> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| BaseImageError::Missing {
            program: "busybox".into(),
            hint: "apt-get install busybox-static".into(),
        })
}

/// `<temp>/imagedeploy-multibase-<pid>`, after removing those of processes
/// that are gone (the store outlives each test: it is made once).
fn work_dir() -> std::io::Result<PathBuf> {
    let temp = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&temp) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = name.strip_prefix("imagedeploy-multibase-") else {
                continue;
            };
            if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = temp.join(format!("imagedeploy-multibase-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Debian's busybox-static for `arch`, unpacked under `into`: the binary.
fn foreign_busybox(arch: &str, into: &Path) -> Result<PathBuf, BaseImageError> {
    let deb = busybox_deb(arch)?;
    let unpacked = into.join(format!("deb-{arch}"));
    let _ = std::fs::remove_dir_all(&unpacked);
    std::fs::create_dir_all(&unpacked).map_err(io("a directory to unpack into"))?;
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(&unpacked)
        .stdin(Stdio::null())
        .output()
        .map_err(io("dpkg-deb"))?;
    let busybox = unpacked.join("bin").join("busybox");
    if !out.status.success() || !busybox.is_file() {
        return Err(BaseImageError::Prepare(format!(
            "dpkg-deb -x {} gave no bin/busybox: {}",
            deb.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(busybox)
}

/// The cached `busybox-static_*_<arch>.deb`, downloaded once when no cache
/// has it.
fn busybox_deb(arch: &str) -> Result<PathBuf, BaseImageError> {
    let own_cache = std::env::temp_dir().join("imagedeploy-test-debs");
    let dirs: Vec<PathBuf> = std::env::var_os("IMAGEDEPLOY_TEST_DEB_DIR")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from(DEB_CACHE_DIR), own_cache.clone()])
        .collect();
    let find = |dir: &Path| -> Option<PathBuf> {
        let suffix = format!("_{arch}.deb");
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .is_some_and(|n| n.starts_with("busybox-static_") && n.ends_with(&suffix))
            })
            .collect();
        found.sort();
        found.pop()
    };
    if let Some(deb) = dirs.iter().find_map(|d| find(d)) {
        return Ok(deb);
    }
    // Not cached: download it now (once: the next call finds it).
    std::fs::create_dir_all(&own_cache).map_err(io("the .deb cache"))?;
    let package = format!("busybox-static:{arch}");
    let download = || {
        Command::new("apt-get")
            .args(["download", "-qq", &package])
            .current_dir(&own_cache)
            .stdin(Stdio::null())
            .output()
    };
    let mut out = download().map_err(io("apt-get download"))?;
    if !out.status.success() && rustix::process::geteuid().is_root() {
        // dpkg may not know the architecture yet.
        let _ = Command::new("dpkg")
            .args(["--add-architecture", arch])
            .status();
        let _ = Command::new("apt-get")
            .args(["update", "-qq"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        out = download().map_err(io("apt-get download"))?;
    }
    find(&own_cache).ok_or_else(|| {
        BaseImageError::Prepare(format!(
            "no {package} package: none cached in {} and `apt-get download {package}` failed ({}); run scripts/setup-emulation as root",
            dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    })
}
