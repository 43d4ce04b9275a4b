//! Scheduling: which ready nodes may start now, under a budget of cores, memory and mutexes.
//!
//! Pure bookkeeping. Among ready nodes that fit, the longest expected (from the last recorded
//! duration) starts first, so long poles are not left for the end. A node asking for more
//! than the whole budget is clamped to it, or it could never start.

use std::collections::HashSet;

use crate::graph::NodeIx;

/// What the build may use at once.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub cores: u32,
    /// Bytes; 0 means "not limited".
    pub memory: u64,
}

/// What one node needs while it runs.
#[derive(Debug, Clone, Default)]
pub struct Need {
    pub cores: u32,
    pub memory: u64,
    pub mutex: Vec<String>,
}

#[derive(Debug)]
pub struct Pool {
    budget: Budget,
    cores: u32,
    memory: u64,
    held: HashSet<String>,
}

impl Pool {
    pub fn new(budget: Budget) -> Pool {
        Pool { budget, cores: 0, memory: 0, held: HashSet::new() }
    }

    /// `need`, clamped to what the budget can ever give.
    pub fn clamp(&self, mut need: Need) -> Need {
        need.cores = need.cores.clamp(1, self.budget.cores.max(1));
        if self.budget.memory > 0 {
            need.memory = need.memory.min(self.budget.memory);
        }
        need
    }

    pub fn fits(&self, need: &Need) -> bool {
        self.cores + need.cores <= self.budget.cores.max(1)
            && (self.budget.memory == 0 || self.memory + need.memory <= self.budget.memory)
            && need.mutex.iter().all(|m| !self.held.contains(m))
    }

    pub fn take(&mut self, need: &Need) {
        self.cores += need.cores;
        self.memory += need.memory;
        self.held.extend(need.mutex.iter().cloned());
    }

    pub fn give(&mut self, need: &Need) {
        self.cores -= need.cores;
        self.memory -= need.memory;
        for m in &need.mutex {
            self.held.remove(m);
        }
    }

    /// A running node that no longer computes (it waits for a verdict) gives back its cores
    /// and memory; its mutexes stay held until [`Self::give`].
    pub fn park(&mut self, need: &mut Need) {
        self.cores -= need.cores;
        self.memory -= need.memory;
        need.cores = 0;
        need.memory = 0;
    }

    pub fn idle(&self) -> bool {
        self.cores == 0
    }
}

/// A node waiting to start.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub node: NodeIx,
    pub expected_ms: u64,
    pub need: Need,
}

/// Takes from `ready` every node that fits, longest expected first; ties go to the earlier node.
pub fn pick(ready: &mut Vec<Waiting>, pool: &mut Pool) -> Vec<Waiting> {
    ready.sort_by(|a, b| b.expected_ms.cmp(&a.expected_ms).then(a.node.cmp(&b.node)));
    let mut started = Vec::new();
    let mut i = 0;
    while i < ready.len() {
        if pool.fits(&ready[i].need) {
            let w = ready.remove(i);
            pool.take(&w.need);
            started.push(w);
        } else {
            i += 1;
        }
    }
    started
}
