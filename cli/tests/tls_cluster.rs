//! A whole cluster over TLS with 1.9's semantics: our `mesos-master` with
//! `LIBPROCESS_SSL_REQUIRE_CERT=true`, our `mesos-agent` and its executors, the
//! real libmesos 1.9.0 scheduler driver, and an operator client (curl) — every
//! connection verified against one test CA, plain HTTP refused.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{free_port, kit_bin, wait_until, Guard};
use libprocess::tls::testing::{CertSpec, Pki};

/// The `LIBPROCESS_SSL_*` settings every party uses (the master adds REQUIRE_CERT).
fn tls_env(pki: &Pki, cert: &Path, key: &Path) -> Vec<(String, String)> {
    [
        ("LIBPROCESS_SSL_ENABLED", "true".to_string()),
        ("LIBPROCESS_SSL_CERT_FILE", cert.display().to_string()),
        ("LIBPROCESS_SSL_KEY_FILE", key.display().to_string()),
        (
            "LIBPROCESS_SSL_CA_FILE",
            pki.ca_file().display().to_string(),
        ),
        ("LIBPROCESS_SSL_VERIFY_CERT", "true".to_string()),
        ("LIBPROCESS_SSL_SUPPORT_DOWNGRADE", "false".to_string()),
        (
            "LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME",
            "openssl".to_string(),
        ),
        ("LIBPROCESS_SSL_VERIFY_IPADD", "true".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// `curl` over HTTPS with our client certificate; the body, or `None`.
fn https_get(pki: &Pki, cert: &Path, key: &Path, port: u16, path: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "5", "--cacert"])
        .arg(pki.ca_file())
        .arg("--cert")
        .arg(cert)
        .arg("--key")
        .arg(key)
        .arg(format!("https://127.0.0.1:{port}{path}"))
        .output()
        .ok()?;
    (out.status.success() && !out.stdout.is_empty())
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn cluster_runs_a_driver_task_with_tls_required_on_the_master() {
    if Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!("SKIP: curl is not installed");
        return;
    }
    let pki = Pki::generate().expect("test CA");
    let cert = pki
        .issue(&CertSpec::server("localhost"))
        .expect("certificate");
    let (c, k) = (cert.cert_file.clone(), cert.key_file.clone());
    let env = tls_env(&pki, &c, &k);
    let (mport, aport) = (free_port(), free_port());
    let work = std::env::temp_dir().join(format!("mesos-tls-cluster-{mport}"));
    let _ = std::fs::remove_dir_all(&work);

    let master = Command::new(env!("CARGO_BIN_EXE_mesos-master"))
        .args([
            "--ip=127.0.0.1".to_string(),
            format!("--port={mport}"),
            "--registry=in_memory".to_string(),
        ])
        .envs(env.iter().cloned())
        .env("LIBPROCESS_SSL_REQUIRE_CERT", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mesos-master");
    let _master = Guard(Some(master));
    let agent = Command::new(env!("CARGO_BIN_EXE_mesos-agent"))
        .args([
            format!("--master=127.0.0.1:{mport}"),
            "--ip=127.0.0.1".to_string(),
            format!("--port={aport}"),
            format!("--work_dir={}", work.display()),
            "--resources=cpus:1;mem:512;disk:512;ports:[31000-31010]".to_string(),
            "--launcher=posix".to_string(),
            // As upstream, executors get the TLS settings only through this flag.
            format!(
                "--executor_environment_variables={}",
                serde_json::Value::Object(
                    env.iter()
                        .map(|(k, v)| (k.clone(), v.clone().into()))
                        .collect()
                )
            ),
        ])
        .envs(env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mesos-agent");
    let _agent = Guard(Some(agent));

    // The agent registers over TLS; the operator endpoint answers over HTTPS
    // with a client certificate.
    let active = wait_until(Duration::from_secs(30), || {
        let body = https_get(&pki, &c, &k, mport, "/master/slaves")?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        (v["slaves"].as_array()?.iter().any(|s| s["active"] == true)).then_some(())
    });
    assert!(active.is_some(), "agent did not register over TLS");

    // REQUIRE_CERT: without a client certificate, or in plain HTTP, nothing is served.
    let no_cert = Command::new("curl")
        .args(["-s", "--max-time", "5", "--cacert"])
        .arg(pki.ca_file())
        .arg(format!("https://127.0.0.1:{mport}/version"))
        .output()
        .unwrap();
    assert!(
        no_cert.stdout.is_empty(),
        "served without a client certificate"
    );
    assert!(
        common::http_get(mport, "/version").is_none(),
        "plain HTTP was served"
    );

    // The real libmesos 1.9.0 driver, over TLS, runs a task on our agent
    // (agent <-> executor over TLS too).
    let Some(framework) = kit_bin("mesos-ref-framework") else {
        return;
    };
    let out = Command::new(framework)
        .args([
            format!("127.0.0.1:{mport}"),
            "echo hello-over-tls".to_string(),
            "60".to_string(),
        ])
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "driver framework over TLS: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The driver exits 0 only on TASK_FINISHED; the output is in the sandbox.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("cat $(find {} -name stdout)", work.display()))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("hello-over-tls"));
    drop((_agent, _master));
    let _ = std::fs::remove_dir_all(&work);
}
