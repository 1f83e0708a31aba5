//! The machine the jobs run on.
//!
//! The foundation model is a pool of identical processors: an SWF job asks for "this many
//! processors anywhere". Node-level resources (cores, memory, GPUs and MIG slices,
//! partitions, fabric) extend this module; the engine only ever asks it whether a job fits
//! and tells it when a job starts and ends.

pub mod nodes;
pub mod spec;

/// A pool of identical processors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessorPool {
    total: u32,
    free: u32,
}

/// Why the cluster refused an allocation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("needs {needed} processors, {free} free of {total}")]
pub struct DoesNotFit {
    /// Processors asked for.
    pub needed: u32,
    /// Processors free.
    pub free: u32,
    /// Processors in the machine.
    pub total: u32,
}

impl ProcessorPool {
    /// A machine of `total` processors, all free.
    pub fn new(total: u32) -> Self {
        ProcessorPool { total, free: total }
    }
    /// Processors in the machine.
    pub fn total(&self) -> u32 {
        self.total
    }
    /// Processors not allocated to a running job.
    pub fn free(&self) -> u32 {
        self.free
    }
    /// Allocates `procs` processors.
    pub fn allocate(&mut self, procs: u32) -> Result<(), DoesNotFit> {
        if procs > self.free {
            return Err(DoesNotFit {
                needed: procs,
                free: self.free,
                total: self.total,
            });
        }
        self.free -= procs;
        Ok(())
    }
    /// Returns `procs` processors.
    pub fn release(&mut self, procs: u32) {
        debug_assert!(
            self.free + procs <= self.total,
            "released more than allocated"
        );
        self.free = (self.free + procs).min(self.total);
    }
}
