//! # clustersim
//!
//! A deterministic discrete-event simulator of HPC and GPU clusters and their schedulers.
//!
//! ```text
//!  workload (SWF reader, generator) ──jobs──▶ simulation loop ◀──decisions── policy
//!                                               │    ▲                 (fcfs, easy,
//!                                   events (engine::queue)  view        conservative)
//!                                               ▼    │
//!                                            cluster (processors)
//!                                               │
//!                                  RunResult ──▶ metrics ──▶ output (csv, json, tables)
//! ```
//!
//! ## The determinism contract
//! The same inputs and seed give byte-identical `jobs.csv`, `dropped.csv` and
//! `summary.json`:
//! - time is an integer ([`engine::time::SimTime`], milliseconds);
//! - events at one instant pop in a fixed order: completions, then arrivals, then policy
//!   wake-ups, then push order ([`engine::queue`]);
//! - every random number comes from a named stream of the run's seed ([`engine::rng`]);
//! - no hash map is iterated into a decision or an output.
//!
//! ## Layers
//! [`engine`] knows events and time only; [`cluster`] and [`workload`] know nothing of
//! policies; [`policy`] reads a view and returns decisions that [`simulation`] checks and
//! applies; only [`cli`], [`output`] and the workload readers do IO.
#![warn(missing_docs)]

pub mod check;
pub mod cli;
pub mod cluster;
pub mod engine;
pub mod metrics;
pub mod output;
pub mod policy;
pub mod run;
pub mod simulation;
pub mod workload;
