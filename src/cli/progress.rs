//! Progress on standard error: a bar for a long run, a line for a sweep.

use crate::policy::PolicyKind;
use crate::run::{self, RunOptions, RunOutcome};
use crate::simulation::Progress;
use crate::workload::Workload;
use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Runs with a progress bar on standard error when it is a terminal and the run lasts
/// longer than a second.
pub(super) fn run_with_progress(
    workload: &Workload,
    policy: PolicyKind,
    options: &RunOptions,
) -> Result<RunOutcome> {
    let started = Instant::now();
    let interactive = std::io::stderr().is_terminal();
    let mut bar: Option<ProgressBar> = None;
    let mut on_progress = |p: &Progress| {
        if !interactive || started.elapsed() < Duration::from_secs(1) {
            return;
        }
        let bar = bar.get_or_insert_with(|| {
            let b = ProgressBar::new(p.jobs_total as u64);
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} jobs done  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        let rate = p.events as f64 / started.elapsed().as_secs_f64().max(1e-9);
        bar.set_position(p.jobs_done as u64);
        bar.set_message(format!(
            "{policy}: simulated time {:.1} d, {:.2} M events/s",
            p.now.as_secs_f64() / 86_400.0,
            rate / 1e6
        ));
    };
    let outcome = run::run(workload, policy, options, &mut on_progress)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(outcome)
}

/// A sweep's progress on standard error: a line rewritten in place on a terminal, else a
/// line per tenth of the runs.
pub(super) struct SweepProgress {
    quiet: bool,
    terminal: bool,
    last_tenth: std::sync::atomic::AtomicUsize,
}

impl SweepProgress {
    pub(super) fn new(quiet: bool) -> SweepProgress {
        SweepProgress {
            quiet,
            terminal: std::io::stderr().is_terminal(),
            last_tenth: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// After a run: `done` of `to_do` runs finished, the first `started`.
    pub(super) fn update(&self, done: usize, to_do: usize, started: Instant) {
        if self.quiet {
            return;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let left = to_do - done;
        // Runs so far predict the rest: a fair guess for a shuffled grid, and the sweep's
        // runs are spread over the grid by the pool's work stealing.
        let eta = elapsed / done.max(1) as f64 * left as f64;
        let line = format!(
            "sweep: {done}/{to_do} runs done, {left} left, about {} to finish",
            crate::report::plots::human_seconds(eta.round())
        );
        if self.terminal {
            eprint!("\r{line}    ");
            if done == to_do {
                eprintln!();
            }
        } else {
            let tenth = done * 10 / to_do.max(1);
            let last = self
                .last_tenth
                .fetch_max(tenth, std::sync::atomic::Ordering::Relaxed);
            if tenth > last {
                eprintln!("{line}");
            }
        }
    }
}
