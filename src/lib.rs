//! # clustersim
//!
//! A deterministic discrete-event simulator of HPC and GPU clusters and their schedulers.
//!
//! ```text
//!  workload (SWF reader, generator) ──jobs──▶ simulation loop ◀──decisions── policy
//!                                               │    ▲                 (fcfs, easy,
//!                                   events (engine::queue)  view        conservative)
//!                                               ▼    │
//!                                  cluster (processors, nodes), lifecycle (segments)
//!                                               │
//!                                  RunResult ──▶ metrics ──▶ output (csv, json, tables)
//! ```
//!
//! A job runs in one or more segments and ends with one outcome; policies may start,
//! suspend, resume, requeue and cancel jobs ([`lifecycle`], [`policy`]).
//!
//! ## The determinism contract
//! The same inputs and seed give byte-identical `jobs.csv`, `segments.csv`, `dropped.csv`
//! and `summary.json`:
//! - time is an integer ([`engine::time::SimTime`], milliseconds), rates are integer
//!   millionths ([`lifecycle::Rate`]);
//! - events at one instant pop in a fixed order: segment stops, then arrivals, then policy
//!   wake-ups, then push order ([`engine::queue`]);
//! - every random number comes from a named stream of the run's seed ([`engine::rng`]);
//! - no hash map is iterated into a decision or an output.
//!
//! ## Using the library
//! ```
//! use clustersim::policy::PolicyKind;
//! use clustersim::run::{run, RunOptions};
//! use clustersim::workload::synthetic::{generate, SyntheticSpec};
//!
//! let workload = generate(&SyntheticSpec { jobs: 500, procs: 64, load: 0.8, seed: 1 });
//! let outcome = run(&workload, PolicyKind::Easy, &RunOptions::default(), &mut |_| {}).unwrap();
//! assert_eq!(outcome.summary.jobs.simulated, 500);
//! assert!(outcome.summary.metrics.utilization > 0.5);
//! ```
//!
//! ## Layers
//! [`engine`] knows events and time only; [`cluster`], [`workload`] and [`lifecycle`] know
//! nothing of policies; [`policy`] reads a view and returns decisions that [`simulation`]
//! checks and applies; only [`cli`], [`output`], [`report`] and the workload readers do IO;
//! the library never depends on [`cli`].
#![warn(missing_docs)]

pub mod baseline;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod controller;
pub mod credits;
pub mod engine;
pub mod failures;
pub mod filesystem;
pub mod lifecycle;
pub mod metrics;
pub mod outdir;
pub mod output;
pub mod plan;
pub mod policy;
pub mod rates;
pub mod report;
pub mod run;
pub mod scenario;
pub mod sdiag;
pub mod simulation;
pub mod sweep;
pub mod workload;
