//! A certificate authority made for one test, and a server certificate it
//! signs, so a loopback registry can serve TLS under a real-looking host name
//! (an ECR host) and the client under test can be told to trust that CA only.
//! Made with the `openssl` command line tool.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::process::{find_program, ServerError};

/// The CA certificate and a server certificate + key for some DNS names
/// (and 127.0.0.1), all PEM files in a temporary directory.
pub struct TestCa {
    dir: tempfile::TempDir,
}

impl TestCa {
    /// A new CA and a server certificate for `dns_names`, valid for a day.
    pub fn new(dns_names: &[&str]) -> Result<Self, ServerError> {
        let openssl =
            find_program("openssl", &["/usr/bin/openssl"]).ok_or_else(|| ServerError::Missing {
                program: "openssl".into(),
                hint: "apt-get install openssl".into(),
            })?;
        let dir = tempfile::tempdir().map_err(|source| ServerError::Setup {
            what: "CA directory".into(),
            source,
        })?;
        let d = dir.path();
        let mut san: Vec<String> = dns_names.iter().map(|n| format!("DNS:{n}")).collect();
        san.push("IP:127.0.0.1".into());
        std::fs::write(
            d.join("server.ext"),
            format!(
                "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName={}\n",
                san.join(",")
            ),
        )
        .map_err(|source| ServerError::Setup {
            what: "certificate extensions".into(),
            source,
        })?;
        let steps: [&[&str]; 3] = [
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "1",
                "-subj",
                "/CN=imagedeploy test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=registry",
            ],
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-days",
                "1",
                "-extfile",
                "server.ext",
            ],
        ];
        for args in steps {
            let output = Command::new(&openssl)
                .args(args)
                .current_dir(d)
                .stdin(Stdio::null())
                .output()
                .map_err(|source| ServerError::Spawn {
                    program: "openssl".into(),
                    source,
                })?;
            if !output.status.success() {
                return Err(ServerError::Setup {
                    what: format!("test certificates (openssl {})", args[0]),
                    source: std::io::Error::other(
                        String::from_utf8_lossy(&output.stderr).into_owned(),
                    ),
                });
            }
        }
        Ok(Self { dir })
    }

    /// The CA certificate (PEM): what the client must trust.
    pub fn ca_pem(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server certificate (PEM), signed by the CA.
    pub fn server_cert(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }

    /// The server certificate's private key (PEM).
    pub fn server_key(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
