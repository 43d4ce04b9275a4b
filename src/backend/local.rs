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

    /// Returns when the child may have exited, or after `at_most`.
    fn wait(&self, at_most: Duration) {
        if self.fd < 0 {
            std::thread::sleep(at_most.min(Duration::from_millis(5)));
            return;
        }
        let mut pfd = libc::pollfd { fd: self.fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd, owned by this frame.
        unsafe { libc::poll(&mut pfd, 1, at_most.as_millis() as i32) };
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
        let log = match std::fs::File::create(&job.log) {
            Ok(f) => f,
            Err(e) => return Exit::SpawnFailed { error: format!("cannot create log `{}`: {e}", job.log.display()), transient: false },
        };
        let log2 = match log.try_clone() {
            Ok(f) => f,
            Err(e) => return Exit::SpawnFailed { error: e.to_string(), transient: true },
        };
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(&job.script).current_dir(&job.cwd).env("OUT", &job.out).env("LOADBUILD_NODE", &job.node);
        cmd.envs(job.env.iter().map(|(k, v)| (k, v)));
        cmd.stdin(Stdio::null()).stdout(log).stderr(log2).process_group(0);
        let mut child = match cmd.spawn() {
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
            exited.wait(Duration::from_millis(50));
        }
    }
}
