//! `loadbuild render`: builds the render nodes of the selection (every cell's scenario and the
//! tier's workflows) and publishes their files to `--out`.
//!
//! Files come from the cache: a fresh node is not rendered again, and publishing is
//! incremental — `DIR/.loadbuild-render.json` records which node wrote which files from which
//! output, so a re-run rewrites only what changed and removes what is no longer selected. A
//! per-cell node's files go to `DIR/<cell-id>/`, a tier node's to `DIR/`. A re-run checks that
//! each published file is still there (one `stat` each), or, for a cell directory stamped by
//! an earlier run and unchanged since, only the directory (its mtime moves when a file in it
//! is added, removed or renamed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::{Deserialize, Serialize};

use super::build::{RunOpts, print_outcomes, run_build_on};
use super::session::Session;
use super::{CmdResult, EXIT_FAILED, Failure};
use crate::graph::{Graph, NodeIx};
use crate::hash::Digest;
use crate::rules::Action;

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// Directory to publish to: `DIR/<cell-id>/…` per cell, the tier's files in `DIR/`
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// (`--backend` defaults to `kubernetes` here: scenarios describe a cluster, so no local skip rule applies)
    #[command(flatten)]
    run: RunOpts,
}

const MANIFEST: &str = ".loadbuild-render.json";

/// A node's entry in the manifest: (output digest, directory relative to DIR, files).
type Entry = (String, String, Vec<String>);

/// What a previous `render` published into the directory.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Published {
    /// Node id → (output digest, directory relative to DIR, files relative to it).
    nodes: BTreeMap<String, Entry>,
    /// A cell's directory → its `(mtime in ns, inode)` when all its files were last found in
    /// place. While the directory still has that stamp, no file was added, removed or renamed
    /// in it, so a re-run need not stat its files. Recorded only for a directory last changed
    /// at least [`TRUST_AFTER_NS`] before it was stamped: a change within the same timestamp tick
    /// would leave the stamp as it was (the stat cache's racy-timestamp rule).
    #[serde(default)]
    dirs: BTreeMap<String, (i64, u64)>,
}

/// How long ago a directory must have last changed for its stamp to be trusted.
const TRUST_AFTER_NS: i64 = 2_000_000_000;

pub fn render(loadfile: Option<PathBuf>, mut a: RenderArgs) -> CmdResult {
    let s = Session::open(loadfile)?;
    if a.run.scope.backend.is_none() {
        a.run.scope.backend = Some("kubernetes".into());
    }
    let backend = a.run.scope.backend.clone().unwrap_or_default();
    let graph = s.graph(&a.run.scope.sel, &backend)?;
    let targets: Vec<NodeIx> = (0..graph.nodes.len()).filter(|&n| s.rules.rules[graph.nodes[n].rule].action == Action::Render).collect();
    if targets.is_empty() {
        return Err(Failure::input(format!("no rule in `{}` has `action = \"render\"`: nothing to render", s.lf.rules_dir.display())));
    }
    // Only built-in actions run here, whatever the graph's backend: refuse a command upstream.
    if let Some(n) =
        graph.closure(&targets).into_iter().find(|&n| matches!(s.rules.rules[graph.nodes[n].rule].action, Action::Command { .. }))
    {
        return Err(Failure::input(format!(
            "`render` runs only built-in actions, but `{}` (rule `{}`) is a command the render nodes depend on",
            graph.nodes[n].id, s.rules.rules[graph.nodes[n].rule].name
        )));
    }
    let (ex, plan) = run_build_on(&s, &graph, &targets, &a.run, &crate::backend::local::Local)?;
    let code = print_outcomes(&graph, &plan, &ex);
    let out = if a.out.is_absolute() { a.out.clone() } else { std::env::current_dir().unwrap_or_default().join(&a.out) };
    let built: Vec<(NodeIx, Digest)> = targets.iter().filter_map(|n| ex.outputs.get(n).map(|d| (*n, *d))).collect();
    let (written, kept, removed) = publish(&s, &graph, &built, &out)
        .map_err(|e| Failure::with_code(EXIT_FAILED, format!("publishing to `{}`: {e}", out.display())))?;
    eprintln!(
        "loadbuild: {} node(s) published to `{}`: {written} written, {kept} unchanged, {removed} removed",
        built.len(),
        out.display()
    );
    // A skipped cell (a `[[skip]]` rule for this backend) has no files, and that is no failure.
    let skipped = targets.iter().filter(|n| matches!(ex.outcomes.get(n), Some(crate::exec::Outcome::Skipped(_)))).count();
    let code = if built.len() + skipped < targets.len() {
        eprintln!("loadbuild: {} node(s) failed or were not built; their files were not published", targets.len() - built.len() - skipped);
        code.max(EXIT_FAILED)
    } else {
        code
    };
    // The process ends here: freeing the graph, plan and compiled templates piece by piece
    // would be a tenth of a no-op render.
    std::mem::forget((s, graph, plan, ex));
    Ok(code)
}

/// The directory (relative to DIR) a node's files go to.
fn node_dir(s: &Session, graph: &Graph, n: NodeIx) -> String {
    let node = &graph.nodes[n];
    if node.cells.len() == 1 && node.binding.len() >= s.lf.matrix.dims.len() {
        s.lf.matrix.id(&graph.cells[node.cells[0] as usize]).0
    } else {
        String::new()
    }
}

fn publish(s: &Session, graph: &Graph, built: &[(NodeIx, Digest)], out: &Path) -> std::io::Result<(usize, usize, usize)> {
    std::fs::create_dir_all(out)?;
    let manifest_path = out.join(MANIFEST);
    let old_bytes = std::fs::read(&manifest_path).unwrap_or_default();
    let old: Published = serde_json::from_slice(&old_bytes).unwrap_or_default();
    // Files are checked relative to DIR: a no-op stats every published file, or only the
    // directory of a cell whose stamp is trusted.
    let dir_fd = crate::store::Dir::open(out)?;
    let now_ns = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64);
    // Right after a publish nothing can be trusted yet: no directory is stamped (no extra stat).
    let manifest_ns = dir_fd.stat(MANIFEST).map_or(0, |st| st.mtime_ns);
    let stamping = now_ns - manifest_ns >= TRUST_AFTER_NS;
    // Each node's files are its own: two threads share the nodes.
    // (node id, its entry, whether its files were written, its directory's trusted stamp)
    type One = (String, Entry, bool, Option<(i64, u64)>);
    let one = |&(n, digest): &(NodeIx, Digest)| -> std::io::Result<One> {
        let id = graph.nodes[n].id.clone();
        let dir = node_dir(s, graph, n);
        let hex = digest.to_hex();
        let present = |f: &str| {
            let rel = if dir.is_empty() { f.to_string() } else { format!("{dir}/{f}") };
            dir_fd.stat(&rel).is_ok_and(|st| st.is_file)
        };
        if let Some((d, old_dir, files)) = old.nodes.get(&id)
            && *d == hex
            && *old_dir == dir
        {
            // A cell's own directory holding its files directly can be vouched for by its stamp.
            let stampable = !dir.is_empty() && files.iter().all(|f| !f.contains('/'));
            let stamp = || dir_fd.stat(&dir).ok().filter(|st| !st.is_file).map(|st| (st.mtime_ns, st.ino));
            if stampable
                && let Some(recorded) = old.dirs.get(&dir)
                && stamp() == Some(*recorded)
            {
                return Ok((id, (hex, dir, files.clone()), false, Some(*recorded)));
            }
            if files.iter().all(|f| present(f)) {
                let trusted = if stampable && stamping { stamp().filter(|st| now_ns - st.0 >= TRUST_AFTER_NS) } else { None };
                return Ok((id, (hex, dir, files.clone()), false, trusted));
            }
        }
        if let Some((_, old_dir, files)) = old.nodes.get(&id) {
            remove_files(&out.join(old_dir), files);
        }
        let files = publish_tree(&s.layout.tree(&digest), &out.join(&dir))?;
        Ok((id, (hex, dir, files), true, None))
    };
    let (first, second) = built.split_at(built.len() / 2);
    let done: Vec<_> = std::thread::scope(|scope| {
        let other = scope.spawn(|| second.iter().map(one).collect::<Vec<_>>());
        let mut all: Vec<_> = first.iter().map(one).collect();
        all.extend(other.join().expect("publishing does not panic"));
        all
    });
    let mut new = Published::default();
    let (mut written, mut kept, mut removed) = (0, 0, 0);
    for r in done {
        let (id, entry, wrote, stamp) = r?;
        if wrote {
            written += 1;
        } else {
            kept += 1;
        }
        if let Some(stamp) = stamp {
            new.dirs.insert(entry.1.clone(), stamp);
        }
        new.nodes.insert(id, entry);
    }
    for (id, (_, dir, files)) in &old.nodes {
        if !new.nodes.contains_key(id) {
            remove_files(&out.join(dir), files);
            removed += 1;
        }
    }
    let bytes = serde_json::to_vec(&new).expect("the manifest serializes");
    if bytes != old_bytes {
        let tmp = out.join(format!("{MANIFEST}.tmp"));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &manifest_path)?;
    }
    Ok((written, kept, removed))
}

/// Removes a node's published files, and its directory when that leaves it empty.
fn remove_files(dir: &Path, files: &[String]) {
    for f in files {
        let _ = std::fs::remove_file(dir.join(f));
        // Subdirectories a node wrote (`argo/`), when empty now.
        let mut parent = dir.join(f).parent().map(Path::to_path_buf);
        while let Some(p) = parent {
            if p.as_path() == dir || std::fs::remove_dir(&p).is_err() {
                break;
            }
            parent = p.parent().map(Path::to_path_buf);
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// Publishes a cache tree into `dest` as hard links to the cache's files: no new inode, no
/// copy. They are read-only (the cache's files are shared: never edit them in place; a
/// re-render replaces what changed). Where the directory cannot hold links to the cache (another
/// file system), writable copies. Returns the files, relative to `dest`.
fn publish_tree(tree: &Path, dest: &Path) -> std::io::Result<Vec<String>> {
    let mut files = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        std::fs::create_dir_all(dest.join(&rel))?;
        for e in std::fs::read_dir(tree.join(&rel))? {
            let e = e?;
            let r = rel.join(e.file_name());
            if e.file_type()?.is_dir() {
                stack.push(r);
                continue;
            }
            let target = dest.join(&r);
            let linked = match std::fs::hard_link(e.path(), &target) {
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    std::fs::remove_file(&target)?;
                    std::fs::hard_link(e.path(), &target)
                }
                other => other,
            };
            if linked.is_err() {
                copy_file(&e.path(), &target)?;
            }
            files.push(r.to_string_lossy().into_owned());
        }
    }
    files.sort();
    Ok(files)
}

/// A writable copy, executable if the cache's file is.
fn copy_file(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_file(to);
    std::fs::copy(from, to)?;
    let mode = if std::fs::metadata(from)?.permissions().mode() & 0o111 != 0 { 0o755 } else { 0o644 };
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode))
}
