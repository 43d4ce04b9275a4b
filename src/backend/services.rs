//! Servers the local backend starts for the nodes that need them: a private PostgreSQL, a Spark
//! standalone master + worker, a Spark Connect server.
//!
//! A `service` node only *declares* a server: its output is the specification (`service.json`:
//! kind, settings, the toolchain it runs from), so its dependents' keys cover what the server
//! is, never the port it happened to get. The server starts when the first dependent is about
//! to run, is shared by every dependent of the build, and stops when the last one has finished
//! (or when the build ends). A build that runs nothing starts nothing.
//!
//! Every process is started in its own process group, listening on 127.0.0.1 on a port picked
//! here, and written down in `cache/v2/services/<service>.pids` with its start time. The next
//! build (which holds the cache lock) stops whatever a crashed build left behind, after checking
//! the start time, so a recycled pid is never killed.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::toolchain::Receipt;
use super::{file_name, tail};

/// The implementation's version: part of service nodes' keys.
pub const VERSION: u32 = 1;

/// Params a service rule may give besides `kind`.
pub const PARAMS: &[&str] = &["cores", "memory", "jars"];

/// The specification a service node writes (`service.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spec {
    pub kind: Kind,
    /// Cores the server may use (`local[N]` for Connect, the worker's cores for standalone).
    #[serde(default)]
    pub cores: Option<u32>,
    /// Memory of the server's JVM (Connect: driver; standalone: the worker offers this).
    #[serde(default)]
    pub memory: Option<String>,
    /// Extra jars on the server's classpath (comma-separated paths), e.g. the JDBC driver.
    #[serde(default)]
    pub jars: Option<String>,
    /// The Spark toolchain the server runs from (Spark kinds).
    #[serde(default)]
    pub toolchain: Option<Receipt>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Postgres,
    SparkStandalone,
    SparkConnect,
}

pub const SPEC: &str = "service.json";

impl Spec {
    /// The specification from a service rule's params and its toolchain dependency, if any.
    pub fn from_params(params: &BTreeMap<String, String>, toolchain: Option<Receipt>) -> Result<Spec, String> {
        let kind = match params.get("kind").map(String::as_str) {
            Some("postgres") => Kind::Postgres,
            Some("spark-standalone") => Kind::SparkStandalone,
            Some("spark-connect") => Kind::SparkConnect,
            other => {
                return Err(format!(
                    "unknown service kind `{}`; known kinds: postgres, spark-standalone, spark-connect",
                    other.unwrap_or_default()
                ));
            }
        };
        if kind != Kind::Postgres && toolchain.is_none() {
            return Err("a Spark service needs a dependency on a `toolchain` rule (the Spark it runs)".into());
        }
        let cores = match params.get("cores").filter(|c| !c.is_empty()) {
            Some(c) => Some(c.parse().map_err(|_| format!("param `cores` = `{c}` is not a number"))?),
            None => None,
        };
        let nonempty = |k: &str| params.get(k).filter(|v| !v.trim().is_empty()).cloned();
        Ok(Spec { kind, cores, memory: nonempty("memory"), jars: nonempty("jars"), toolchain })
    }

    pub fn write(&self, out: &Path) -> Result<(), String> {
        let json = serde_json::to_string_pretty(self).expect("a spec serializes");
        std::fs::write(out.join(SPEC), json + "\n").map_err(|e| format!("writing {SPEC}: {e}"))
    }

    pub fn read(output: &Path) -> Result<Spec, String> {
        let path = output.join(SPEC);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("reading `{}`: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("`{}`: {e}", path.display()))
    }
}

/// One started process, as written down for crash cleanup.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pid {
    pid: u32,
    /// Field 22 of `/proc/<pid>/stat`: tells this process from a later one with the same pid.
    start: u64,
    what: String,
}

/// A running server: its processes (stopped in reverse order) and what dependents are told.
struct Running {
    children: Vec<(Child, String)>,
    env: Vec<(String, String)>,
    record: PathBuf,
}

/// The servers of one build.
pub struct Services {
    dir: PathBuf,
    toolchains: PathBuf,
    slots: Mutex<HashMap<String, Arc<Mutex<Option<Running>>>>>,
}

impl Services {
    /// `cache` is the layout root (`cache/v2`). Stops what an earlier, crashed build left running.
    pub fn new(cache: &Path) -> Services {
        let dir = cache.join("services");
        let services = Services { dir, toolchains: super::toolchain::base(cache), slots: Mutex::new(HashMap::new()) };
        services.clean_leftovers();
        services
    }

    fn clean_leftovers(&self) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else { return };
        for entry in rd.filter_map(Result::ok) {
            let path = entry.path();
            if path.extension().is_none_or(|x| x != "pids") {
                continue;
            }
            let pids: Vec<Pid> = std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
            for p in pids.iter().rev() {
                if start_time(p.pid) == Some(p.start) {
                    eprintln!("loadbuild: stopping {} (pid {}) left running by an earlier build", p.what, p.pid);
                    stop_group(p.pid, Duration::from_secs(10));
                }
            }
            let _ = std::fs::remove_file(&path);
        }
    }

    /// Starts service `id` (the node id) from the spec in its output directory, unless it runs
    /// already, and returns the environment its dependents get.
    pub fn ensure(&self, id: &str, output: &Path) -> Result<Vec<(String, String)>, String> {
        let slot = Arc::clone(self.slots.lock().expect("no panic holding the slots").entry(id.to_string()).or_default());
        let mut running = slot.lock().expect("no panic while starting a service");
        if let Some(r) = running.as_ref() {
            return Ok(r.env.clone());
        }
        let spec = Spec::read(output)?;
        let name = file_name(id);
        let state = self.dir.join(&name);
        std::fs::create_dir_all(&state).map_err(|e| format!("creating `{}`: {e}", state.display()))?;
        let mut starter =
            Starter { state, record: self.dir.join(format!("{name}.pids")), toolchains: self.toolchains.clone(), children: Vec::new() };
        let t0 = Instant::now();
        let env = match spec.kind {
            Kind::Postgres => starter.postgres(),
            Kind::SparkStandalone => starter.standalone(&spec),
            Kind::SparkConnect => starter.connect(&spec),
        };
        let env = match env {
            Ok(env) => env,
            Err(e) => {
                starter.stop();
                return Err(format!("starting `{id}`: {e}"));
            }
        };
        eprintln!("loadbuild: started {id} in {:.1} s", t0.elapsed().as_secs_f64());
        let Starter { children, record, .. } = starter;
        *running = Some(Running { children, env: env.clone(), record });
        Ok(env)
    }

    /// Stops service `id` if it runs.
    pub fn stop(&self, id: &str) {
        let slot = self.slots.lock().expect("no panic holding the slots").get(id).cloned();
        if let Some(slot) = slot
            && let Some(r) = slot.lock().expect("no panic while stopping a service").take()
        {
            shut_down(r);
            eprintln!("loadbuild: stopped {id}");
        }
    }

    /// Stops every service still running.
    pub fn stop_all(&self) {
        let ids: Vec<String> = self.slots.lock().expect("no panic holding the slots").keys().cloned().collect();
        for id in ids {
            self.stop(&id);
        }
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        self.stop_all();
    }
}

fn shut_down(mut r: Running) {
    stop_children(&mut r.children, Duration::from_secs(10));
    let _ = std::fs::remove_file(&r.record);
}

/// Stops our own children, last started first: SIGTERM to each process group, then SIGKILL
/// after `grace`. An exited child is reaped here, since until then a zombie leader keeps its
/// group "alive".
fn stop_children(children: &mut [(Child, String)], grace: Duration) {
    for (child, _) in children.iter_mut().rev() {
        let pid = child.id() as i32;
        // SAFETY: killpg has no memory effects; a stale group only yields ESRCH.
        unsafe { libc::killpg(pid, libc::SIGTERM) };
        let t0 = Instant::now();
        // SAFETY: signal 0 only checks whether any member is left.
        while !(matches!(child.try_wait(), Ok(Some(_))) && unsafe { libc::killpg(pid, 0) } != 0) && t0.elapsed() < grace {
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above; harmless when the group is gone.
        unsafe { libc::killpg(pid, libc::SIGKILL) };
        let _ = child.wait();
    }
}

/// SIGTERM to the process group of a process that is not our child (reaped by init), then
/// SIGKILL if it is still there after `grace`.
fn stop_group(pid: u32, grace: Duration) {
    // SAFETY: killpg has no memory effects; a stale group only yields ESRCH.
    unsafe { libc::killpg(pid as i32, libc::SIGTERM) };
    let t0 = Instant::now();
    while t0.elapsed() < grace {
        // SAFETY: signal 0 only checks for existence.
        if unsafe { libc::killpg(pid as i32, 0) } != 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: as above.
    unsafe { libc::killpg(pid as i32, libc::SIGKILL) };
}

fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces: fields resume after its closing paren.
    stat.rsplit_once(')')?.1.split_whitespace().nth(19)?.parse().ok()
}

/// A free TCP port on the loopback interface.
fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// Starts the processes of one service, writing each down as it starts.
struct Starter {
    state: PathBuf,
    record: PathBuf,
    toolchains: PathBuf,
    children: Vec<(Child, String)>,
}

impl Starter {
    fn spawn(&mut self, mut cmd: Command, what: &str, log: &str) -> Result<(), String> {
        let log_path = self.state.join(log);
        let log = std::fs::File::create(&log_path).map_err(|e| format!("creating `{}`: {e}", log_path.display()))?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        cmd.stdin(Stdio::null()).stdout(log).stderr(err).process_group(0);
        let child = cmd.spawn().map_err(|e| format!("cannot start {what} (`{}`): {e}", cmd.get_program().to_string_lossy()))?;
        self.children.push((child, what.to_string()));
        let pids: Vec<Pid> =
            self.children.iter().map(|(c, w)| Pid { pid: c.id(), start: start_time(c.id()).unwrap_or(0), what: w.clone() }).collect();
        let _ =
            std::fs::File::create(&self.record).and_then(|mut f| f.write_all(serde_json::to_string(&pids).unwrap_or_default().as_bytes()));
        Ok(())
    }

    /// Waits until `ready` says so, failing early (with the log's tail) if the last process exits.
    fn wait_until(&mut self, what: &str, log: &str, timeout: Duration, mut ready: impl FnMut() -> bool) -> Result<(), String> {
        let t0 = Instant::now();
        loop {
            if ready() {
                return Ok(());
            }
            let (child, _) = self.children.last_mut().expect("a process was started");
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("{what} exited ({status}) before it was ready:\n{}", tail(&self.state.join(log), 20)));
            }
            if t0.elapsed() > timeout {
                return Err(format!("{what} was not ready after {} s:\n{}", timeout.as_secs(), tail(&self.state.join(log), 20)));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(&mut self) {
        stop_children(&mut self.children, Duration::from_secs(5));
        let _ = std::fs::remove_file(&self.record);
    }

    fn spark_home(&self, spec: &Spec) -> PathBuf {
        spec.toolchain.as_ref().expect("checked by Spec::from_params").spark_home(&self.toolchains)
    }

    /// Spark's own scripts, with logs and temporary files kept in the service's directory.
    fn spark_command(&self, spec: &Spec, script: &str) -> Command {
        let home = self.spark_home(spec);
        let mut cmd = Command::new(home.join("bin").join(script));
        cmd.env("SPARK_HOME", &home)
            .env("SPARK_LOCAL_IP", "127.0.0.1")
            .env("SPARK_LOG_DIR", self.state.join("logs"))
            .env("SPARK_LOCAL_DIRS", self.state.join("tmp"))
            .env_remove("SPARK_CONF_DIR")
            .current_dir(&self.state);
        cmd
    }

    fn standalone(&mut self, spec: &Spec) -> Result<Vec<(String, String)>, String> {
        let (port, ui) = (free_port()?, free_port()?);
        let mut master = self.spark_command(spec, "spark-class");
        master.args([
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--webui-port",
            &ui.to_string(),
        ]);
        self.spawn(master, "the Spark standalone master", "master.log")?;
        self.wait_until("the Spark standalone master", "master.log", Duration::from_secs(90), || port_open(port))?;
        let url = format!("spark://127.0.0.1:{port}");
        let work = self.state.join("work");
        let _ = std::fs::remove_dir_all(&work);
        let mut worker = self.spark_command(spec, "spark-class");
        worker.args(["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--webui-port", &free_port()?.to_string()]);
        if let Some(c) = spec.cores {
            worker.args(["--cores", &c.to_string()]);
        }
        if let Some(m) = &spec.memory {
            worker.args(["--memory", m]);
        }
        worker.arg("--work-dir").arg(&work).arg(&url);
        self.spawn(worker, "the Spark standalone worker", "worker.log")?;
        let log = self.state.join("worker.log");
        self.wait_until("the Spark standalone worker", "worker.log", Duration::from_secs(90), || {
            std::fs::read_to_string(&log).is_ok_and(|t| t.contains("Successfully registered with master"))
        })?;
        Ok(vec![("LOADBUILD_SPARK_MASTER".into(), url)])
    }

    fn connect(&mut self, spec: &Spec) -> Result<Vec<(String, String)>, String> {
        let port = free_port()?;
        let events = self.state.join("eventlog");
        let _ = std::fs::remove_dir_all(&events);
        std::fs::create_dir_all(&events).map_err(|e| format!("creating `{}`: {e}", events.display()))?;
        let events = std::path::absolute(&events).map_err(|e| e.to_string())?;
        let mut cmd = self.spark_command(spec, "spark-submit");
        cmd.args(["--class", "org.apache.spark.sql.connect.service.SparkConnectServer", "--name", "loadbuild-connect"]);
        cmd.arg("--master").arg(format!("local[{}]", spec.cores.unwrap_or(2)));
        if let Some(m) = &spec.memory {
            cmd.args(["--driver-memory", m]);
        }
        if let Some(j) = &spec.jars {
            cmd.args(["--jars", j]);
        }
        for conf in [
            format!("spark.connect.grpc.binding.port={port}"),
            "spark.connect.grpc.binding.address=127.0.0.1".into(),
            "spark.eventLog.enabled=true".into(),
            format!("spark.eventLog.dir=file://{}", events.display()),
            // Plain and in one file, so each cell can copy its part while the server runs.
            "spark.eventLog.compress=false".into(),
            "spark.eventLog.rolling.enabled=false".into(),
            "spark.ui.enabled=false".into(),
        ] {
            cmd.args(["--conf", &conf]);
        }
        cmd.arg("spark-internal");
        self.spawn(cmd, "the Spark Connect server", "connect.log")?;
        self.wait_until("the Spark Connect server", "connect.log", Duration::from_secs(120), || port_open(port))?;
        Ok(vec![
            ("LOADBUILD_SPARK_REMOTE".into(), format!("sc://127.0.0.1:{port}")),
            ("LOADBUILD_CONNECT_EVENTLOG_DIR".into(), events.to_string_lossy().into_owned()),
        ])
    }

    fn postgres(&mut self) -> Result<Vec<(String, String)>, String> {
        if let Ok(url) = std::env::var("LOADBUILD_JDBC_URL") {
            // An existing server: passed through as given.
            let mut env = vec![("LOADBUILD_JDBC_URL".to_string(), url)];
            for k in ["LOADBUILD_JDBC_USER", "LOADBUILD_JDBC_PASSWORD"] {
                env.push((k.into(), std::env::var(k).map_err(|_| format!("LOADBUILD_JDBC_URL is set, so {k} must be set too"))?));
            }
            return Ok(env);
        }
        let bin = pg_bindir()?;
        // PostgreSQL refuses to run as root: as root, it runs as the `postgres` user (or
        // `nobody`), from a directory under the system's temporary directory, since that user
        // may not be able to reach into the project (a private temporary directory, a home).
        // SAFETY: geteuid has no preconditions.
        let user = if unsafe { libc::geteuid() } == 0 { Some(unprivileged_user()?) } else { None };
        let home = match user {
            None => self.state.clone(),
            Some(_) => {
                let abs = std::path::absolute(&self.state).map_err(|e| e.to_string())?;
                let tag = &crate::hash::Digest::of("loadbuild postgres home", &abs.to_string_lossy().into_owned()).to_hex()[..16];
                std::env::temp_dir().join(format!("loadbuild-postgres-{tag}"))
            }
        };
        let data = home.join("data");
        let sockets = home.join("sockets");
        let password_file = home.join("password");
        std::fs::create_dir_all(&home).map_err(|e| format!("creating `{}`: {e}", home.display()))?;
        if !data.join("PG_VERSION").exists() {
            let _ = std::fs::remove_dir_all(&data);
            let password = random_hex();
            write_private(&password_file, &password)?;
            for d in [&data, &sockets] {
                std::fs::create_dir_all(d).map_err(|e| format!("creating `{}`: {e}", d.display()))?;
            }
            chown_for(user, &[&home, &data, &sockets, &password_file])?;
            let mut initdb = Command::new(bin.join("initdb"));
            initdb.arg("-D").arg(&data).args(["-U", "loadbuild", "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"]);
            initdb.arg(format!("--pwfile={}", password_file.display()));
            as_user(&mut initdb, user);
            let out = initdb.output().map_err(|e| format!("cannot run initdb: {e}"))?;
            if !out.status.success() {
                let _ = std::fs::remove_dir_all(&data);
                return Err(format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
            }
        }
        std::fs::create_dir_all(&sockets).map_err(|e| e.to_string())?;
        chown_for(user, &[&sockets])?;
        let password = std::fs::read_to_string(&password_file).map_err(|e| format!("reading `{}`: {e}", password_file.display()))?;
        let port = free_port()?;
        let mut server = Command::new(bin.join("postgres"));
        server.arg("-D").arg(&data).args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"]).arg("-k").arg(&sockets);
        as_user(&mut server, user);
        self.spawn(server, "PostgreSQL", "postgres.log")?;
        let isready = bin.join("pg_isready");
        self.wait_until("PostgreSQL", "postgres.log", Duration::from_secs(60), || {
            Command::new(&isready).args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()]).status().is_ok_and(|s| s.success())
        })?;
        Ok(vec![
            ("LOADBUILD_JDBC_URL".into(), format!("jdbc:postgresql://127.0.0.1:{port}/postgres")),
            ("LOADBUILD_JDBC_USER".into(), "loadbuild".into()),
            ("LOADBUILD_JDBC_PASSWORD".into(), password.trim().to_string()),
        ])
    }
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&std::net::SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_millis(200)).is_ok()
}

/// PostgreSQL's server binaries: `LOADBUILD_PG_BINDIR`, `pg_config --bindir`, or Debian's layout.
fn pg_bindir() -> Result<PathBuf, String> {
    if let Some(d) = std::env::var_os("LOADBUILD_PG_BINDIR") {
        return Ok(PathBuf::from(d));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if d.join("initdb").exists() {
            return Ok(d);
        }
    }
    let mut found: Vec<PathBuf> = glob::glob("/usr/lib/postgresql/*/bin").into_iter().flatten().filter_map(Result::ok).collect();
    found.sort();
    found.into_iter().rev().find(|d| d.join("initdb").exists()).ok_or_else(|| {
        "PostgreSQL server binaries not found: install them (e.g. `apt-get install postgresql-15`), set LOADBUILD_PG_BINDIR, \
         or point LOADBUILD_JDBC_URL/USER/PASSWORD at an existing server"
            .to_string()
    })
}

fn unprivileged_user() -> Result<(u32, u32), String> {
    for name in [c"postgres", c"nobody"] {
        // SAFETY: getpwnam returns a pointer to static storage or null; we copy out at once.
        let pw = unsafe { libc::getpwnam(name.as_ptr()) };
        if !pw.is_null() {
            // SAFETY: non-null, valid until the next getpw* call.
            return Ok(unsafe { ((*pw).pw_uid, (*pw).pw_gid) });
        }
    }
    Err("running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL as".into())
}

fn as_user(cmd: &mut Command, user: Option<(u32, u32)>) {
    if let Some((uid, gid)) = user {
        cmd.uid(uid).gid(gid);
    }
}

fn chown_for(user: Option<(u32, u32)>, paths: &[&Path]) -> Result<(), String> {
    if let Some((uid, gid)) = user {
        for p in paths {
            std::os::unix::fs::chown(p, Some(uid), Some(gid)).map_err(|e| format!("chown `{}`: {e}", p.display()))?;
        }
    }
    Ok(())
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("writing `{}`: {e}", path.display()))?;
    f.write_all(text.as_bytes()).map_err(|e| e.to_string())
}

/// A fresh password: 128 random bits from the kernel.
fn random_hex() -> String {
    let mut buf = [0u8; 16];
    // SAFETY: getrandom writes at most `len` bytes into the buffer we own.
    unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    buf.iter().map(|b| format!("{b:02x}")).collect()
}
