//! The local backend: commands run as `sh -c` in their own process group on this machine.
//!
//! The process group lets a timeout or Ctrl-C stop the whole tree a command started (a
//! `spark-submit` leaves a JVM behind otherwise). Output goes to the node's log file.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{Backend, CommandJob, Exit};

pub struct Local;

/// Waits for a child to exit without a blocking `wait`, which could not notice a timeout or
/// Ctrl-C: a pidfd becomes readable the moment the child exits, so short commands add no
/// polling latency. Where pidfds are unavailable it falls back to sleeping.
struct ExitWatch {
    fd: i32,
}

impl ExitWatch {
    fn new(pid: u32) -> ExitWatch {
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) } as i32;
        ExitWatch { fd }
    }

    /// Returns when the child may have exited or `output` has data, or after `at_most`.
    fn wait(&self, output: i32, at_most: Duration) {
        let mut fds =
            [libc::pollfd { fd: output, events: libc::POLLIN, revents: 0 }, libc::pollfd { fd: self.fd, events: libc::POLLIN, revents: 0 }];
        let (n, timeout) = if self.fd < 0 { (1, at_most.min(Duration::from_millis(5))) } else { (2, at_most) };
        // SAFETY: `n` valid pollfds, owned by this frame.
        unsafe { libc::poll(fds.as_mut_ptr(), n, timeout.as_millis() as i32) };
    }
}

/// The read end of a command's output, copied to its log file, which is created on the
/// first byte.
struct LazyLog<'a> {
    reader: std::io::PipeReader,
    path: &'a std::path::Path,
    file: Option<std::fs::File>,
    open: bool,
}

impl<'a> LazyLog<'a> {
    fn new(reader: std::io::PipeReader, path: &'a std::path::Path) -> LazyLog<'a> {
        let fd = std::os::fd::AsRawFd::as_raw_fd(&reader);
        // SAFETY: fcntl on a descriptor we own; O_NONBLOCK so draining never waits for
        // grandchildren that keep the pipe open.
        unsafe { libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK) };
        LazyLog { reader, path, file: None, open: true }
    }

    fn fd(&self) -> i32 {
        if self.open { std::os::fd::AsRawFd::as_raw_fd(&self.reader) } else { -1 }
    }

    /// Copies whatever output is waiting into the log.
    fn drain(&mut self) {
        use std::io::{Read, Write};
        let mut buf = [0u8; 64 * 1024];
        while self.open {
            match self.reader.read(&mut buf) {
                Ok(0) => self.open = false,
                Ok(n) => {
                    if self.file.is_none() {
                        self.file = std::fs::File::create(self.path).ok();
                    }
                    if let Some(f) = &mut self.file {
                        let _ = f.write_all(&buf[..n]);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return, // WouldBlock: nothing more for now
            }
        }
    }
}

impl Drop for ExitWatch {
    fn drop(&mut self) {
        if self.fd >= 0 {
            // SAFETY: the descriptor is ours and closed once.
            unsafe { libc::close(self.fd) };
        }
    }
}

/// Sends `signal` to the process group led by `pid`.
fn kill_group(pid: u32, signal: i32) {
    // SAFETY: killpg has no memory effects; a stale pid only yields ESRCH.
    unsafe { libc::killpg(pid as i32, signal) };
}

impl Backend for Local {
    fn name(&self) -> &'static str {
        "local"
    }

    fn run(&self, job: &CommandJob, cancel: &AtomicBool) -> Exit {
        // Output goes through a pipe, and the log file is created only when there is output:
        // on a full build of short, quiet commands, allocating an inode per log was a quarter
        // of the time. A stale log from an earlier run must not pass for this run's.
        let _ = std::fs::remove_file(&job.log);
        let (reader, writer) = match std::io::pipe() {
            Ok(p) => p,
            Err(e) => return Exit::SpawnFailed { error: format!("cannot create a pipe: {e}"), transient: true },
        };
        let writer2 = match writer.try_clone() {
            Ok(w) => w,
            Err(e) => return Exit::SpawnFailed { error: e.to_string(), transient: true },
        };
        let mut log = LazyLog::new(reader, &job.log);
        // An absolute path: searching PATH for every command costs a failed execve per entry.
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(&job.script).current_dir(&job.cwd).env("OUT", &job.out).env("LOADBUILD_NODE", &job.node);
        cmd.envs(job.env.iter().map(|(k, v)| (k, v)));
        cmd.stdin(Stdio::null()).stdout(writer).stderr(writer2).process_group(0);
        let spawned = cmd.spawn();
        drop(cmd); // closes our copies of the pipe's write end, so EOF comes when the child's do
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                let transient = matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::ENOMEM));
                return Exit::SpawnFailed { error: format!("cannot start `sh`: {e}"), transient };
            }
        };
        let pid = child.id();
        let started = Instant::now();
        let exited = ExitWatch::new(pid);
        let mut stop: Option<(Exit, Instant)> = None;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    // Whatever the command left running in its group goes with it.
                    kill_group(pid, libc::SIGKILL);
                    log.drain();
                    if let Some((why, _)) = stop {
                        return why;
                    }
                    return match (status.code(), status.signal()) {
                        (Some(0), _) => Exit::Success,
                        (Some(c), _) => Exit::Code(c),
                        (None, Some(s)) => Exit::Signal(s),
                        (None, None) => Exit::Code(-1),
                    };
                }
                Ok(None) => {}
                Err(e) => return Exit::SpawnFailed { error: format!("waiting for the command: {e}"), transient: false },
            }
            match &stop {
                None => {
                    let why = if cancel.load(Ordering::Relaxed) {
                        Some(Exit::Cancelled)
                    } else {
                        job.timeout.filter(|t| started.elapsed() >= *t).map(Exit::TimedOut)
                    };
                    if let Some(why) = why {
                        kill_group(pid, libc::SIGTERM);
                        stop = Some((why, Instant::now()));
                    }
                }
                Some((_, since)) if since.elapsed() > Duration::from_secs(5) => kill_group(pid, libc::SIGKILL),
                Some(_) => {}
            }
            exited.wait(log.fd(), Duration::from_millis(50));
            log.drain();
        }
    }
}
