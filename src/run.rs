//! One run: a workload, a policy, the simulation and its metrics. No file IO here except
//! reading the workload through its reader; writing results is [`crate::output`]'s job.

use crate::engine::time::{SimDuration, SimTime};
use crate::failures::Failures;
use crate::metrics::{self, ScheduleMetrics};
use crate::policy::PolicyKind;
use crate::rates::Rates;
use crate::simulation::{self, Progress, RunResult, SimError, SimOptions};
use crate::workload::Workload;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// Options that shape a run (beyond the workload and the policy).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunOptions {
    /// Seed of the run's random streams.
    pub seed: u64,
    /// Bounded-slowdown threshold τ, s.
    pub bsld_tau_s: u64,
    /// The time to start within which a session (an interactive job) counts as started
    /// on target, s.
    pub session_start_target_s: u64,
    /// Whether runtimes above the estimate were cut at the estimate.
    pub kill_at_walltime: bool,
    /// Whether malformed lines were skipped.
    pub lenient: bool,
    /// The scenario file the run came from, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// That scenario's `name` (default: its file's name), as reports show it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario_name: Option<String>,
    /// When nodes fail and are repaired (`None`: never). In `summary.json`, the metrics
    /// say what the failures did; the scenario says how they were drawn.
    #[serde(skip)]
    pub failures: Option<std::sync::Arc<Failures>>,
    /// The idle culler, when the scenario turns it on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub culler: Option<crate::simulation::Culler>,
    /// The rate model (GPU speed, fabric slowdown), when the scenario turns it on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rates: Option<crate::rates::RateSettings>,
    /// The credit accounting, when the scenario asks for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credits: Option<crate::credits::Credits>,
    /// Per-user limits on sessions, when the scenario sets them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qos: Option<crate::simulation::Qos>,
    /// The shared file system jobs stage through, when the scenario has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<crate::filesystem::FileSystemSettings>,
    /// The head node's scheduling loops, when the scenario models them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<crate::controller::ControllerSpec>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            seed: 0,
            bsld_tau_s: 10,
            session_start_target_s: 60,
            kill_at_walltime: false,
            lenient: false,
            scenario: None,
            scenario_name: None,
            failures: None,
            culler: None,
            rates: None,
            credits: None,
            qos: None,
            filesystem: None,
            controller: None,
        }
    }
}

/// The program that made a result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProgramInfo {
    /// Always `clustersim`.
    pub name: &'static str,
    /// The crate version.
    pub version: &'static str,
}

/// The program's name and version.
pub const PROGRAM: ProgramInfo = ProgramInfo {
    name: "clustersim",
    version: env!("CARGO_PKG_VERSION"),
};

/// Counts of the input's jobs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobCounts {
    /// Job records in the input.
    pub input: u64,
    /// Jobs simulated.
    pub simulated: u64,
    /// Jobs not simulated.
    pub dropped: u64,
    /// Jobs not simulated, by reason.
    pub dropped_by_reason: BTreeMap<&'static str, u64>,
    /// Jobs whose number repeated an earlier one's in the trace and were given a new one
    /// (`--lenient`); left out of `summary.json` when there are none.
    #[serde(skip_serializing_if = "is_zero")]
    pub renumbered: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Engine counters (deterministic).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EngineCounters {
    /// Events processed.
    pub events: u64,
    /// Scheduling passes.
    pub passes: u64,
    /// Most jobs waiting at once.
    pub max_waiting: u64,
}

/// Everything deterministic about a run: `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// The program.
    pub program: ProgramInfo,
    /// The workload's source.
    pub workload: String,
    /// The workload's format.
    pub format: String,
    /// The workload's header fields.
    pub header: BTreeMap<String, String>,
    /// Machine size in processors.
    pub machine_procs: u32,
    /// The policy's label.
    pub policy: String,
    /// The run's seed.
    pub seed: u64,
    /// The run's options.
    pub options: RunOptions,
    /// Job counts.
    pub jobs: JobCounts,
    /// The schedule's metrics.
    pub metrics: ScheduleMetrics,
    /// Engine counters.
    pub engine: EngineCounters,
}

/// What varies from one execution to the next: `timing.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Timing {
    /// Wall-clock time of the simulation (not reading or writing), s.
    pub simulation_wall_s: f64,
    /// Events per wall-clock second.
    pub events_per_s: f64,
    /// Peak resident memory of the process so far, MiB (None where unknown).
    pub peak_memory_mib: Option<f64>,
}

/// A finished run.
pub struct RunOutcome {
    /// The simulated schedule.
    pub result: RunResult,
    /// The deterministic summary.
    pub summary: Summary,
    /// Wall-clock measurements.
    pub timing: Timing,
}

/// Simulates `workload` under `policy`.
pub fn run(
    workload: &Workload,
    policy: PolicyKind,
    options: &RunOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<RunOutcome, SimError> {
    if options.controller.is_some() {
        if policy == PolicyKind::Conservative {
            return Err(SimError::Unsupported(
                "the [controller] loops are modelled for the fcfs and easy policies; \
                 conservative plans every job at every pass"
                    .to_string(),
            ));
        }
        if workload
            .nodes
            .as_deref()
            .is_some_and(|nw| !nw.partition_preemption.is_empty())
        {
            return Err(SimError::Unsupported(
                "the [controller] loops do not model preemption yet (a partition's \
                 preempt_mode or suspend_idle_after_s)"
                    .to_string(),
            ));
        }
    }
    let mut p = policy.build_for(workload).map_err(SimError::Unsupported)?;
    let started = Instant::now();
    let rates = match (options.rates, workload.nodes.as_deref()) {
        (Some(settings), Some(nw)) => Some(Rates::new(settings, nw)),
        (Some(_), None) => {
            return Err(SimError::Unsupported(
                "the rate model ([rates]) needs jobs that ask for nodes (a scenario with a \
                 [cluster])"
                    .to_string(),
            ))
        }
        (None, _) => None,
    };
    // The controller's outages, drawn up to when the run must have ended (every job's
    // limit, one after another, after the last submission).
    let controller_outages = options.controller.as_ref().map_or(Vec::new(), |spec| {
        let last_submit = workload.jobs.iter().map(|j| j.submit).max();
        let horizon_ms = workload
            .jobs
            .iter()
            .fold(last_submit.map_or(0, |t| t.as_ms()), |acc, j| {
                acc.saturating_add(j.estimate.as_ms().max(j.work.as_ms()))
            });
        crate::controller::outage_windows(
            spec,
            options.seed,
            SimTime::from_ms(horizon_ms.min(crate::engine::time::CLOCK_LIMIT.as_ms())),
        )
    });
    let sim_options = SimOptions {
        rates: rates.as_ref().map(|r| r as &dyn simulation::RateModel),
        failures: options.failures.as_deref(),
        culler: options.culler,
        qos: options.qos,
        filesystem: options.filesystem,
        controller: options.controller.as_ref().map(|c| c.settings()),
        controller_outages: &controller_outages,
        // Credits that only bill change no schedule: the engine is not told of them.
        credit_limit: options
            .credits
            .as_ref()
            .filter(|c| c.when_exhausted != crate::credits::WhenExhausted::Bill),
        ..SimOptions::default()
    };
    let result = simulation::simulate_with(workload, p.as_mut(), sim_options, progress)?;
    let wall = started.elapsed().as_secs_f64();
    let mut metrics = metrics::compute(
        workload,
        &result,
        &metrics::MetricOptions {
            bsld_tau: SimDuration::from_secs(options.bsld_tau_s),
            session_start_target: SimDuration::from_secs(options.session_start_target_s),
        },
    );
    metrics.rates = rates.map(|r| r.metrics(workload, &result));
    metrics.filesystem = options
        .filesystem
        .map(|fs| crate::filesystem::metrics(fs, workload, &result, metrics.makespan_s));
    metrics.credits = options
        .credits
        .as_ref()
        .map(|c| crate::credits::chargeback(workload, &result, c));
    let summary = Summary {
        program: crate::run::PROGRAM,
        workload: workload.meta.source.clone(),
        format: workload.meta.format.clone(),
        header: workload.meta.header.clone(),
        machine_procs: workload.machine_procs,
        policy: p.label(),
        seed: options.seed,
        options: options.clone(),
        jobs: JobCounts {
            input: workload.input_jobs,
            simulated: workload.jobs.len() as u64,
            dropped: workload.dropped.len() as u64,
            dropped_by_reason: workload.dropped_by_reason(),
            renumbered: workload.meta.renumbered_jobs,
        },
        metrics,
        engine: EngineCounters {
            events: result.events,
            passes: result.passes,
            max_waiting: result.max_waiting as u64,
        },
    };
    let timing = Timing {
        simulation_wall_s: wall,
        events_per_s: if wall > 0.0 {
            result.events as f64 / wall
        } else {
            0.0
        },
        peak_memory_mib: None,
    };
    Ok(RunOutcome {
        result,
        summary,
        timing,
    })
}
