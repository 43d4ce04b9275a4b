//! The history in a real PostgreSQL, started by this test: `initdb` into a temporary directory
//! and `postgres` on a free loopback port (binaries from `pg_config --bindir`), stopped by PID.
//! One server for the file, one test function using it. As root, the server runs as the
//! `postgres` system user, since PostgreSQL refuses to run as root.

mod common;

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Project;
use common::report::{CELLS, Noise, cell, metric_of, project, results, write_cell};

struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGINT is PostgreSQL's fast shutdown: it ends sessions and exits cleanly.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let _ = self.child.wait();
    }
}

fn bindir() -> PathBuf {
    let out = Command::new("pg_config").arg("--bindir").output().unwrap_or_else(|e| {
        panic!("`pg_config` is missing ({e}): install PostgreSQL's server (Debian `postgresql`, which .ci/run installs)")
    });
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The uid and gid to run PostgreSQL as: ours, or the `postgres` user's when we are root.
fn run_as() -> Option<(u32, u32)> {
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let name = std::ffi::CString::new("postgres").unwrap();
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(!pw.is_null(), "running as root and there is no `postgres` user to run PostgreSQL as (install Debian `postgresql`)");
    Some(unsafe { ((*pw).pw_uid, (*pw).pw_gid) })
}

fn start() -> Server {
    let bin = bindir();
    let dir = tempfile::tempdir().unwrap();
    let ids = run_as();
    if let Some((uid, gid)) = ids {
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
    }
    let as_user = |c: &mut Command| {
        if let Some((uid, gid)) = ids {
            c.uid(uid).gid(gid);
        }
    };
    let data = dir.path().join("data");
    let mut initdb = Command::new(bin.join("initdb"));
    initdb.arg("-D").arg(&data).args(["-U", "loadbuild", "--auth=trust", "-E", "UTF8", "--no-sync"]);
    as_user(&mut initdb);
    let out = initdb.output().unwrap();
    assert!(out.status.success(), "initdb failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut pg = Command::new(bin.join("postgres"));
    pg.arg("-D").arg(&data).arg("-p").arg(port.to_string()).arg("-k").arg(dir.path());
    pg.args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off"]);
    pg.stdout(Stdio::null()).stderr(Stdio::null());
    as_user(&mut pg);
    let child = pg.spawn().unwrap();
    let server = Server { child, port, _dir: dir };
    let deadline = Instant::now() + Duration::from_secs(30);
    while postgres::Client::connect(&server.url(), postgres::NoTls).is_err() {
        assert!(Instant::now() < deadline, "PostgreSQL did not accept connections on port {port} within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

impl Server {
    fn url(&self) -> String {
        format!("postgresql://loadbuild@127.0.0.1:{}/postgres", self.port)
    }
}

fn report(p: &Project, url: &str) -> common::Run {
    common::Run::from(p.cmd(&["report"]).env("LOADBUILD_HISTORY_URL", url).output().unwrap())
}

#[test]
fn issue_7_history_in_postgresql_gives_trends_and_change_points() {
    let server = start();
    let url = server.url();
    let p = project("");
    let mut noise = Noise::new(23);
    // Eight reports at ~10 s, then four at ~12.5 s on read-s: the shift is at the ninth.
    for i in 0..12 {
        for c in CELLS {
            let mean = if i >= 8 && c == "read-s" { 12.5 } else { 10.0 };
            write_cell(&p, c, &noise.samples(5, mean, 0.01), Some(&noise.samples(5, 1000.0, 0.01)));
        }
        let run = report(&p, &url).ok();
        assert!(
            run.stderr.contains(&format!(
                "recorded run `{}` in the history (postgresql 127.0.0.1:{}/postgres)",
                results(&p)["run"]["id"].as_str().unwrap(),
                server.port
            )),
            "{}",
            run.stderr
        );
    }
    let again = report(&p, &url).ok();
    assert!(again.stderr.contains("is already in the history"), "{}", again.stderr);
    assert!(!p.path().join("cache/history.jsonl").exists(), "with a URL, the file is not used");

    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let runs: i64 = db.query_one("SELECT count(*) FROM loadbuild_runs", &[]).unwrap().get(0);
    let rows: i64 = db.query_one("SELECT count(*) FROM loadbuild_results", &[]).unwrap().get(0);
    assert_eq!((runs, rows), (12, 12 * 5 * 2), "one run per report, one row per measured cell × metric");

    let r = results(&p);
    assert_eq!(r["history"]["source"], format!("postgresql 127.0.0.1:{}/postgres", server.port));
    let history = r["history"]["runs"].as_array().unwrap();
    assert_eq!(history.len(), 11);
    let trend = &metric_of(cell(&r, "read-s"), "wall_time_s")["trend"];
    assert_eq!(trend["points"], 12);
    let cps = trend["change_points"].as_array().unwrap();
    assert_eq!(cps.len(), 1, "{trend:#}");
    assert_eq!(cps[0]["run"], history[8]["run"], "the shift is found at the ninth report: {trend:#}");
    let change = cps[0]["relative_change"].as_f64().unwrap();
    assert!((0.2..0.3).contains(&change), "about +25%: {change}");
    assert_eq!(metric_of(cell(&r, "join-s"), "wall_time_s")["trend"]["change_points"], serde_json::json!([]));

    // An unreachable database fails the report, naming the target and never the password.
    write_cell(&p, "join-s", &noise.samples(5, 10.0, 0.01), Some(&noise.samples(5, 1000.0, 0.01)));
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bad = format!("postgresql://loadbuild:hunter2@127.0.0.1:{dead}/postgres?connect_timeout=5");
    let run = report(&p, &bad).code(3);
    assert!(run.stderr.contains(&format!("history database 127.0.0.1:{dead}/postgres")), "{}", run.stderr);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);

    // Issue 16: tables someone made with other column types are an error naming the database,
    // never a panic (exit 101).
    db.batch_execute("ALTER TABLE loadbuild_results ALTER COLUMN n TYPE text").unwrap();
    let run = report(&p, &url).code(3);
    assert!(run.stderr.contains(&format!("history database 127.0.0.1:{}/postgres", server.port)), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    drop(server);
}
