//! `loadbuild cache …`: what the cache holds, and garbage collection.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::session::{Session, locate};
use super::{CmdResult, EXIT_OK};
use crate::loadfile;
use crate::store::{Index, Layout, Lock, remove_tree};

#[derive(Subcommand, Debug)]
pub enum CacheCommand {
    /// Print what the cache holds: objects, trees, index records, sizes
    Stats,
    /// Delete outputs no node's latest build uses, and compact the index
    Gc(GcArgs),
}

#[derive(Args, Debug)]
pub struct GcArgs {
    #[arg(long)]
    no_wait: bool,
}

fn dir_usage(dir: &Path) -> (u64, u64) {
    let mut files = 0;
    let mut bytes = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => {
                    files += 1;
                    bytes += m.len();
                }
                Err(_) => {}
            }
        }
    }
    (files, bytes)
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1 << 20) as f64)
}

pub fn run(loadfile: Option<PathBuf>, cmd: CacheCommand) -> CmdResult {
    match cmd {
        CacheCommand::Stats => {
            let lf = loadfile::load(&locate(loadfile)?)?;
            let layout = Layout::new(&lf.cache_dir);
            let index = Index::load(&layout.journal())?;
            let (objects, object_bytes) = dir_usage(&layout.objects());
            let trees = std::fs::read_dir(layout.trees()).map_or(0, |rd| rd.count());
            let journal = std::fs::metadata(layout.journal()).map_or(0, |m| m.len());
            println!("cache      {}", layout.root.display());
            println!("objects    {objects} ({})", mib(object_bytes));
            println!("trees      {trees}");
            println!("outputs    {} recorded, {} nodes with a latest build", index.outputs(), index.nodes());
            println!("journal    {}", mib(journal));
            Ok(EXIT_OK)
        }
        CacheCommand::Gc(a) => {
            let s = Session::open(None.or(Some(locate(loadfile)?)))?;
            let layout = &s.layout;
            let _lock = Lock::acquire(&layout.lock_file(), !a.no_wait).map_err(crate::store::StoreError::from)?;
            layout.prepare()?;
            let index = Index::load(&layout.journal())?;
            let live = index.latest_outputs();
            let compacted = index.compact(&layout.journal(), &|k| live.contains(k))?;
            let mut keep_trees = HashSet::new();
            let mut keep_objects = HashSet::new();
            for (_, out) in compacted.iter_outputs() {
                keep_trees.insert(out.tree.digest.to_hex());
                keep_objects.extend(out.tree.entries.iter().map(|e| e.digest.to_hex()));
            }
            let mut freed = 0u64;
            let mut removed = 0usize;
            if let Ok(rd) = std::fs::read_dir(layout.trees()) {
                for e in rd.flatten() {
                    if !keep_trees.contains(&e.file_name().to_string_lossy().into_owned()) {
                        remove_tree(&e.path())?;
                        removed += 1;
                    }
                }
            }
            for e in std::fs::read_dir(layout.objects()).into_iter().flatten().flatten() {
                if !keep_objects.contains(&e.file_name().to_string_lossy().into_owned()) {
                    freed += e.metadata().map_or(0, |m| m.len());
                    let _ = std::fs::remove_file(e.path());
                }
            }
            // Toolchain environments no kept receipt names (only in the cache's own directory:
            // one shared through LOADBUILD_TOOLCHAINS may serve other projects).
            let own = layout.root.join("toolchains");
            if std::env::var_os("LOADBUILD_TOOLCHAINS").is_none() {
                let used: HashSet<String> = keep_trees
                    .iter()
                    .filter_map(|t| crate::backend::toolchain::receipt(&layout.trees().join(t)).ok())
                    .map(|r| r.venv)
                    .collect();
                for e in std::fs::read_dir(&own).into_iter().flatten().flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if let Some(env) = name.strip_suffix(".lock") {
                        // The provisioning lock of an environment: it goes with its environment.
                        if !used.contains(env) {
                            let _ = std::fs::remove_file(e.path());
                        }
                        continue;
                    }
                    if !used.contains(&name) {
                        freed += dir_bytes(&e.path());
                        remove_tree(&e.path())?;
                        println!("removed the unused toolchain `{name}`");
                    }
                }
            }
            // Caches of older layout versions are unreadable by this version: drop them whole.
            for e in std::fs::read_dir(&s.lf.cache_dir).into_iter().flatten().flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name != crate::store::LAYOUT && name.strip_prefix('v').is_some_and(|n| n.parse::<u32>().is_ok()) {
                    remove_tree(&e.path())?;
                    println!("removed the cache of layout `{name}`");
                }
            }
            println!("removed {removed} tree(s), freed {} of objects; kept {} output(s)", mib(freed), compacted.outputs());
            Ok(EXIT_OK)
        }
    }
}

/// Bytes of the files under `dir`.
fn dir_bytes(dir: &std::path::Path) -> u64 {
    walk(dir).iter().map(|p| p.symlink_metadata().map_or(0, |m| m.len())).sum()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                _ => out.push(e.path()),
            }
        }
    }
    out
}
