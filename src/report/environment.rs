//! Facts about where a report is made: the machine's description for baselines, and the
//! commit and time a history record carries.

/// `Linux 6.1.0-x86_64, AMD EPYC 7B13, 2 cores, 24 GiB`: what decides how fast a local run is.
pub fn machine() -> String {
    let os = uname().unwrap_or_else(|| std::env::consts::OS.to_string());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| t.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split_once(':')).map(|(_, v)| v.trim().to_string()))
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| t.lines().find(|l| l.starts_with("MemTotal:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()))
        .map(|kib| format!(", {} GiB", (kib as f64 / 1024.0 / 1024.0).round()))
        .unwrap_or_default();
    format!("{os}, {cpu}, {cores} cores{mem}")
}

fn uname() -> Option<String> {
    // SAFETY: `uname` fills the zeroed struct; its fields are NUL-terminated C strings.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return None;
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Some(format!("{} {} {}", field(&u.sysname), field(&u.release), field(&u.machine)))
}

/// The commit being tested: `GITHUB_SHA` in GitHub Actions, else `git rev-parse HEAD` in `root`.
pub fn commit(root: &std::path::Path) -> Option<String> {
    if let Ok(sha) = std::env::var("GITHUB_SHA")
        && !sha.trim().is_empty()
    {
        return Some(sha.trim().to_string());
    }
    let out = std::process::Command::new("git").arg("-C").arg(root).args(["rev-parse", "HEAD"]).output().ok()?;
    let sha = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !sha.is_empty()).then_some(sha)
}

/// Now, as RFC 3339 UTC to the second.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
