//! The readiness probes of `loadbuild infra verify` against real servers on loopback: S3 on
//! SeaweedFS `weed mini`, PostgreSQL `SELECT 1` on a private server with password
//! authentication, TCP and HTTP on listeners of this test; each failure names the component.
#![cfg(feature = "kubernetes")]

#[path = "common/local_servers.rs"]
mod local_servers;

use std::io::{Read, Write};
use std::net::TcpListener;

use loadbuild::infra::probe;

#[tokio::test]
async fn s3_probe_puts_lists_and_deletes_on_seaweedfs_and_names_the_component_on_failure() {
    let weed = local_servers::weed("loadbuild", "probe-key", "probe-secret");
    let endpoint = format!("http://127.0.0.1:{}", weed.s3_port);
    probe::s3("seaweedfs", &endpoint, "loadbuild", "probe-key", "probe-secret").await.unwrap();
    // The probe object is gone again: a second run finds nothing left over and passes too.
    probe::s3("seaweedfs", &endpoint, "loadbuild", "probe-key", "probe-secret").await.unwrap();

    let err = probe::s3("seaweedfs", &endpoint, "loadbuild", "probe-key", "wrong-secret").await.unwrap_err();
    assert_eq!(err.component, "seaweedfs");
    assert!(err.to_string().starts_with(&format!("seaweedfs: bucket loadbuild at {endpoint}")), "{err}");
    assert!(err.command.contains("kubectl -n loadbuild logs deployment/seaweedfs"), "{err}");
}

#[test]
fn postgres_probe_selects_one_and_a_wrong_password_names_the_component() {
    let pg = local_servers::postgres("loadbuild", "s3cret-pw");
    probe::postgres("postgres", "127.0.0.1", pg.port, "loadbuild", "s3cret-pw", "postgres").unwrap();
    let err = probe::postgres("postgres", "127.0.0.1", pg.port, "loadbuild", "wrong", "postgres").unwrap_err();
    assert_eq!(err.component, "postgres");
    assert_eq!(err.object, format!("PostgreSQL at 127.0.0.1:{}", pg.port));
    assert!(err.error.contains("password"), "{err}");
    assert!(!err.to_string().contains("s3cret-pw"), "the password is never printed");
}

#[test]
fn tcp_probe_connects_or_names_the_port() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    probe::tcp("hive-metastore", &addr).unwrap();
    drop(l);
    let err = probe::tcp("hive-metastore", &addr).unwrap_err();
    assert_eq!(err.object, format!("port {addr}"));
}

/// Answers each connection with `status` (one request per connection), `n` times.
fn http_server(status: &'static str, n: usize) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/v1/applications", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for _ in 0..n {
            let Ok((mut s, _)) = l.accept() else { return };
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = write!(s, "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n[]");
        }
    });
    url
}

#[tokio::test]
async fn http_probe_wants_200() {
    let ok = http_server("200 OK", 1);
    probe::http_ok("history-server", &ok).await.unwrap();
    let missing = http_server("404 Not Found", 1);
    let err = probe::http_ok("history-server", &missing).await.unwrap_err();
    assert_eq!(err.error, "answered HTTP 404, not 200");
    assert_eq!(err.object, missing);
}
