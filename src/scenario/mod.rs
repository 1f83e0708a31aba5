//! Scenario files: a cluster, a workload, a policy, a seed and output settings in one TOML
//! file (`clustersim run SCENARIO.toml`, `clustersim validate SCENARIO.toml`).
//!
//! Reading is strict: unknown keys are errors, and every error names the file, the line and
//! the key path (`cluster.node_types.gpu.mig.profile`) and says what was expected.
//! Contradictions (a partition naming a node type that does not exist, MIG slices on a node
//! type without GPUs, …) are found by [`Scenario::validate`] before anything runs.
//!
//! Tables keyed by name (`[cluster.node_types.gpu]`, `[cluster.partitions.batch]`) keep the
//! order they are written in: nodes are numbered in that order, node type by node type, and
//! the fabric assigns them to leaf switches in that order.

pub mod locate;

use crate::cluster::nodes::Placement;
use crate::cluster::spec::{ClusterSpec, ValidationError};
use crate::failures::FailureSpec;
use crate::policy::PolicyKind;
use crate::report::TableFormat;
use crate::workload::classes::{check_classes, JobClassSpec};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A scenario as written in its file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A name for reports (default: the file's stem).
    #[serde(default)]
    pub name: Option<String>,
    /// Seed of the run's random streams (default 1).
    #[serde(default)]
    pub seed: Option<u64>,
    /// The cluster. Without it, the machine is a pool of processors sized by the trace
    /// (`MaxProcs`, `MaxNodes`) or `workload.procs`.
    #[serde(default)]
    pub cluster: Option<ClusterSpec>,
    /// Where the jobs come from.
    pub workload: WorkloadSpec,
    /// The scheduling policy.
    #[serde(default)]
    pub policy: PolicySpec,
    /// Node failures and repairs (default: nodes never fail).
    #[serde(default)]
    pub failures: Option<FailureSpec>,
    /// Where segments' rates come from: GPU speed and fabric slowdown (default: every
    /// segment at rate 1).
    #[serde(default)]
    pub rates: Option<crate::rates::RatesSpec>,
    /// Credits: each account's monthly allowance and the prices it is charged (default:
    /// no accounting).
    #[serde(default)]
    pub credits: Option<crate::credits::CreditsSpec>,
    /// The shared file system jobs stage their data through (default: none; nothing
    /// stages).
    #[serde(default)]
    pub filesystem: Option<crate::filesystem::FileSystemSpec>,
    /// The head node's scheduling loops (default: none; a pass at every instant where
    /// something changed, costing nothing).
    #[serde(default)]
    pub controller: Option<crate::controller::ControllerSpec>,
    /// What to write.
    #[serde(default)]
    pub output: OutputSpec,
    /// A parameter sweep over this scenario (`clustersim sweep`); `run` ignores it and runs
    /// the scenario as written.
    #[serde(default)]
    pub sweep: Option<SweepSection>,
}

/// `[sweep]`: the runs of a sweep, as a grid of values per key and/or listed points (see
/// [`crate::sweep`]).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SweepSection {
    /// `[sweep.grid]`: scenario key path → list of values, or `{ from, to, step }`. The runs
    /// are the cartesian product, the first key varying slowest.
    #[serde(default)]
    pub grid: indexmap::IndexMap<String, toml::Value>,
    /// `[[sweep.points]]`: listed points (key path → one value each), each crossed with
    /// the grid.
    #[serde(default)]
    pub points: Vec<indexmap::IndexMap<String, toml::Value>>,
    /// Metrics to plot against each swept key (default: mean wait, mean bounded slowdown,
    /// utilization).
    #[serde(default)]
    pub metrics: Vec<String>,
    /// `[sweep.pareto]`: two metrics to trade off; the points that no other point beats on
    /// both are marked (the Pareto front) in `points.*`, a plot and `sweep.html`.
    #[serde(default)]
    pub pareto: Option<ParetoSpec>,
}

/// `[sweep.pareto]`: the x and y metrics, and which way each is better.
#[derive(Clone, Debug, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ParetoSpec {
    /// The metric on the x axis (a name as in `[sweep] metrics`).
    pub x: String,
    /// Whether lower or higher x is better.
    pub x_better: Better,
    /// The metric on the y axis.
    pub y: String,
    /// Whether lower or higher y is better.
    pub y_better: Better,
}

/// Which way a metric is better.
#[derive(Clone, Copy, Debug, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Smaller values are better (waits, work lost).
    Lower,
    /// Larger values are better (utilization, sessions on target).
    Higher,
}

/// `[workload]`: a trace file or a generator.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// A trace file, relative to the scenario file's folder.
    #[serde(default)]
    pub trace: Option<PathBuf>,
    /// The trace's format.
    #[serde(default)]
    pub format: TraceFormat,
    /// A generated workload instead of a trace.
    #[serde(default)]
    pub generator: Option<GeneratorSpec>,
    /// Machine size in processors for a trace without a cluster (overrides the header).
    #[serde(default)]
    pub procs: Option<u32>,
    /// Skip malformed trace lines, counting them as dropped.
    #[serde(default)]
    pub lenient: bool,
    /// End jobs at their walltime estimate, counting them as killed.
    #[serde(default)]
    pub kill_at_walltime: bool,
    /// For an openb pod list: the openb node list that becomes the cluster (when the
    /// scenario has no [cluster]), relative to this file.
    #[serde(default)]
    pub node_list: Option<PathBuf>,
    /// For an openb pod list: how a fractional GPU maps (`whole` or `mig`).
    #[serde(default)]
    pub fractional: crate::workload::openb::Fractional,
    /// Multiply the arrival rate by this factor (compressing inter-arrival times).
    #[serde(default)]
    pub load_factor: Option<f64>,
    /// Time window and filters (`[workload.filter]`).
    #[serde(default)]
    pub filter: Filter,
    /// Several sources merged into one run (`[[workload.sources]]`), instead of `trace` or
    /// `generator`; `load_factor` and `filter` above then apply to the merged workload.
    #[serde(default)]
    pub sources: Vec<SourceSpec>,
}

/// `[[workload.sources]]`: one source of a composed workload (see
/// [`crate::workload::compose`]).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// A name for reports and class names (default `source1`, `source2`, …).
    #[serde(default)]
    pub name: Option<String>,
    /// A trace file, relative to the scenario file's folder.
    #[serde(default)]
    pub trace: Option<PathBuf>,
    /// The trace's format.
    #[serde(default)]
    pub format: TraceFormat,
    /// A generated workload instead of a trace.
    #[serde(default)]
    pub generator: Option<GeneratorSpec>,
    /// For an openb pod list without a [cluster]: its node list.
    #[serde(default)]
    pub node_list: Option<PathBuf>,
    /// For an openb pod list: how a fractional GPU maps.
    #[serde(default)]
    pub fractional: crate::workload::openb::Fractional,
    /// Skip malformed trace lines, counting them as dropped.
    #[serde(default)]
    pub lenient: bool,
    /// This source's load factor.
    #[serde(default)]
    pub load_factor: Option<f64>,
    /// This source's window and filters.
    #[serde(default)]
    pub filter: Filter,
    /// Seconds added to every submit time of this source.
    #[serde(default)]
    pub offset_s: u64,
}

impl SourceSpec {
    /// The source as the workload of a scenario of its own (with the parent's machine
    /// size and walltime rule).
    pub fn as_workload(&self, parent: &WorkloadSpec) -> WorkloadSpec {
        WorkloadSpec {
            trace: self.trace.clone(),
            format: self.format,
            generator: self.generator.clone(),
            procs: parent.procs,
            lenient: self.lenient || parent.lenient,
            kill_at_walltime: parent.kill_at_walltime,
            node_list: self.node_list.clone(),
            fractional: self.fractional,
            load_factor: self.load_factor,
            filter: self.filter.clone(),
            sources: Vec::new(),
        }
    }

    /// The source's name: its `name`, else `source<k+1>`.
    pub fn label(&self, k: usize) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("source{}", k + 1))
    }
}

use crate::workload::synthetic::{MAX_GENERATED_JOBS, MIN_LOAD};
use crate::workload::transform::Filter;
pub use crate::workload::TraceFormat;

/// `[workload.generator]`: the built-in generator (see `workloads/README.md`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GeneratorSpec {
    /// Number of jobs.
    pub jobs: usize,
    /// Offered load of the generated stream on the machine (0 < load).
    #[serde(default = "default_load")]
    pub load: f64,
    /// Processors the sizes and the load are computed for (default: the cluster's cores).
    /// Only for jobs of processors anywhere (no `classes`).
    #[serde(default)]
    pub procs: Option<u32>,
    /// Node-level job classes (`[[workload.generator.classes]]`): jobs that ask for nodes,
    /// cores, memory, GPUs or MIG slices. Without classes, the generator makes jobs of
    /// processors anywhere (the demo's generator).
    #[serde(default)]
    pub classes: Vec<JobClassSpec>,
    /// A burst: every job submitted within this many seconds, evenly spaced, instead of
    /// the stream `load` gives (node-level classes only).
    #[serde(default)]
    pub within_s: Option<f64>,
    /// Job arrays of this many tasks, each array submitted at one instant (default 1: no
    /// arrays; node-level classes only).
    #[serde(default = "one_task")]
    pub array_tasks: u32,
}

fn one_task() -> u32 {
    1
}

/// The most tasks one generated job array may have (Slurm's `MaxArraySize` tops at
/// 4,000,001).
pub const MAX_ARRAY_TASKS: u32 = 4_000_001;

fn default_load() -> f64 {
    0.85
}

/// `[policy]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// `fcfs`, `easy` or `conservative`.
    #[serde(default = "default_policy")]
    pub name: PolicyKind,
    /// Bounded-slowdown threshold τ, s (at least 1).
    #[serde(default = "default_tau")]
    pub bsld_tau_s: u64,
    /// The time to start within which a session (an interactive job) counts as started
    /// on target, s (default 60).
    #[serde(default = "default_session_start_target")]
    pub session_start_target_s: u64,
    /// How node-level jobs are placed: `first-fit`, `best-fit`, `spread`, `topology`.
    #[serde(default)]
    pub placement: Placement,
    /// `[policy.culler]`: the idle culler, on when the table is written (and `enabled` is
    /// not false). Site policy, like the scheduler: `check` judges it rather than hashing
    /// it.
    #[serde(default)]
    pub culler: Option<CullerSpec>,
    /// `[policy.qos]`: per-user limits on interactive sessions, rejecting at submission a
    /// session that would pass one (default: none).
    #[serde(default)]
    pub qos: Option<crate::simulation::Qos>,
}

/// `[policy.culler]`: JupyterHub's idle culler (see [`crate::simulation::Culler`]).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CullerSpec {
    /// Whether it runs (default true: writing the table turns it on; false turns it off,
    /// e.g. in one run of a sweep).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// A session idle this long is ended, s (default 3600).
    #[serde(default = "default_cull_timeout")]
    pub timeout_s: u64,
    /// Time between the culler's runs, s (default 600).
    #[serde(default = "default_cull_every")]
    pub cull_every_s: u64,
    /// A session this old is ended, busy or not, s (default 0: no limit).
    #[serde(default)]
    pub max_age_s: u64,
}

fn default_cull_timeout() -> u64 {
    crate::simulation::Culler::default().timeout_s
}

fn default_cull_every() -> u64 {
    crate::simulation::Culler::default().cull_every_s
}

impl CullerSpec {
    /// The engine's culler, if on.
    pub fn culler(&self) -> Option<crate::simulation::Culler> {
        self.enabled.then_some(crate::simulation::Culler {
            timeout_s: self.timeout_s,
            cull_every_s: self.cull_every_s,
            max_age_s: self.max_age_s,
        })
    }
}

fn default_policy() -> PolicyKind {
    PolicyKind::Easy
}

fn default_tau() -> u64 {
    10
}

fn default_session_start_target() -> u64 {
    60
}

impl Default for PolicySpec {
    fn default() -> Self {
        PolicySpec {
            name: default_policy(),
            bsld_tau_s: default_tau(),
            session_start_target_s: default_session_start_target(),
            placement: Placement::default(),
            culler: None,
            qos: None,
        }
    }
}

/// `[output]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// The results folder, relative to the scenario file's folder (default: print only).
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Table format.
    #[serde(default)]
    pub format: TableFormat,
    /// Step of the time series' fixed samples, s.
    #[serde(default = "default_step")]
    pub timeseries_step_s: u64,
    /// Whether to draw plots and write `report.html`.
    #[serde(default = "default_true")]
    pub plots: bool,
}

fn default_step() -> u64 {
    3_600
}

fn default_true() -> bool {
    true
}

impl Default for OutputSpec {
    fn default() -> Self {
        OutputSpec {
            dir: None,
            format: TableFormat::default(),
            timeseries_step_s: default_step(),
            plots: true,
        }
    }
}

/// A scenario file that could not be used: where and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {key}: {message}")]
pub struct ScenarioError {
    /// The scenario file.
    pub file: String,
    /// 1-based line (of the key, or of its table when the key is absent).
    pub line: usize,
    /// Dotted key path, e.g. `cluster.partitions.gpu.node_types`.
    pub key: String,
    /// What is wrong and what was expected.
    pub message: String,
}

/// A scenario read from a file, with the folder its relative paths are relative to.
#[derive(Clone, Debug)]
pub struct LoadedScenario {
    /// The scenario.
    pub scenario: Scenario,
    /// The file.
    pub path: PathBuf,
    /// Its text (kept to locate keys in later errors).
    pub text: String,
}

impl LoadedScenario {
    /// A path from the file, relative to the scenario's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.path.parent().unwrap_or_else(|| Path::new(".")).join(p)
        }
    }

    /// Every trace file the workload reads (its trace and its sources' traces), resolved.
    pub fn trace_paths(&self) -> Vec<PathBuf> {
        let w = &self.scenario.workload;
        w.trace
            .iter()
            .chain(w.sources.iter().filter_map(|s| s.trace.as_ref()))
            .map(|t| self.resolve(t))
            .collect()
    }

    /// The scenario's name: `name`, else the file's stem.
    pub fn name(&self) -> String {
        self.scenario.name.clone().unwrap_or_else(|| {
            self.path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "scenario".to_string())
        })
    }

    /// An error at `key`, located in the file.
    pub fn error_at(&self, key: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: self.path.display().to_string(),
            line: locate::line_of_key(&self.text, key),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// Reads and validates a scenario file.
pub fn load(path: &Path) -> Result<LoadedScenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.display().to_string(),
        line: 0,
        key: "(file)".to_string(),
        message: format!("cannot read the file: {e}"),
    })?;
    from_text(path, text)
}

/// Reads and validates scenario `text`, as if read from `path` (a built-in scenario names
/// the repository file it was compiled from).
pub fn from_text(path: &Path, text: String) -> Result<LoadedScenario, ScenarioError> {
    let scenario = parse(&text).map_err(|(key, line, message)| ScenarioError {
        file: path.display().to_string(),
        line,
        key,
        message,
    })?;
    let loaded = LoadedScenario {
        scenario,
        path: path.to_path_buf(),
        text,
    };
    loaded
        .scenario
        .validate()
        .map_err(|e| loaded.error_at(&e.key, e.message))?;
    Ok(loaded)
}

/// Parses scenario text; an error is (key path, line, message).
pub fn parse(text: &str) -> Result<Scenario, (String, usize, String)> {
    let deserializer = toml::Deserializer::parse(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| locate::line_at(text, s.start))
            .unwrap_or(1);
        ("(syntax)".to_string(), line, e.message().trim().to_string())
    })?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let line = inner
            .span()
            .map(|s| locate::line_at(text, s.start))
            .unwrap_or_else(|| locate::line_of_key(text, &key));
        let key = if key == "." {
            "(top level)".to_string()
        } else {
            key
        };
        (key, line, inner.message().trim().to_string())
    })
}

impl Scenario {
    /// The generator's classes' stage volumes: (key path, stage_in_gb, stage_out_gb).
    /// (Sources are validated one by one as scenarios of their own.)
    fn stage_volumes(&self) -> Vec<(String, f64, f64)> {
        let classes = self.workload.generator.iter().flat_map(|g| &g.classes);
        classes
            .enumerate()
            .map(|(i, c)| {
                let key = format!("workload.generator.classes[{i}]");
                (key, c.stage_in_gb, c.stage_out_gb)
            })
            .collect()
    }

    /// Checks what the types cannot: contradictions and impossible values.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.policy.bsld_tau_s == 0 {
            // max(run, 0) is 0 for a job of no runtime: its slowdown would be infinite.
            return Err(ValidationError::new(
                "policy.bsld_tau_s",
                "expected at least 1 s (the unbounded slowdown is reported as slowdown_mean)",
            ));
        }
        if let Some(q) = &self.policy.qos {
            let limits = [
                (
                    "max_sessions_per_user",
                    q.max_sessions_per_user.map(u64::from),
                ),
                ("max_cores_per_user", q.max_cores_per_user),
                ("max_gpus_per_user", q.max_gpus_per_user),
            ];
            if limits.iter().all(|(_, v)| v.is_none()) {
                return Err(ValidationError::new(
                    "policy.qos",
                    "give at least one limit: max_sessions_per_user, max_cores_per_user or \
                     max_gpus_per_user",
                ));
            }
            if let Some((key, _)) = limits.iter().find(|(_, v)| *v == Some(0)) {
                return Err(ValidationError::new(
                    format!("policy.qos.{key}"),
                    "expected at least 1 (a limit of 0 would reject every session)",
                ));
            }
        }
        if let Some(c) = &self.policy.culler {
            // Seconds past the clock's limit could never be reached.
            let max_s = crate::engine::time::CLOCK_LIMIT.as_ms() / 1000;
            for (key, value, least) in [
                ("timeout_s", c.timeout_s, 1),
                ("cull_every_s", c.cull_every_s, 1),
                ("max_age_s", c.max_age_s, 0),
            ] {
                if value < least || value > max_s {
                    return Err(ValidationError::new(
                        format!("policy.culler.{key}"),
                        format!("expected {least} to {max_s} s, got {value}"),
                    ));
                }
            }
        }
        if let Some(cluster) = &self.cluster {
            cluster.validate()?;
        }
        if let Some(failures) = &self.failures {
            validate_failures(failures, self.cluster.as_ref())?;
        }
        if let Some(rates) = &self.rates {
            crate::rates::check(rates, self.cluster.as_ref())
                .map_err(|(key, message)| ValidationError::new(key, message))?;
        }
        crate::filesystem::check(self.filesystem.as_ref(), &self.stage_volumes())
            .map_err(|(key, message)| ValidationError::new(key, message))?;
        if let Some(controller) = &self.controller {
            controller.check().map_err(|(key, message)| {
                ValidationError::new(format!("controller.{key}"), message)
            })?;
        }
        if let Some(credits) = &self.credits {
            let Some(cluster) = &self.cluster else {
                return Err(ValidationError::new(
                    "credits",
                    "credits price the resources of a [cluster]'s node types",
                ));
            };
            let types: Vec<&str> = cluster.node_types.keys().map(String::as_str).collect();
            credits.check(&types).map_err(|(key, message)| {
                ValidationError::new(format!("credits.{key}"), message)
            })?;
        }
        let w = &self.workload;
        if !w.sources.is_empty() {
            if w.trace.is_some() || w.generator.is_some() {
                return Err(ValidationError::new(
                    "workload.sources",
                    "give the jobs' sources either as trace / generator or as \
                     [[workload.sources]], not both",
                ));
            }
            let mut names = std::collections::BTreeSet::new();
            for (k, source) in w.sources.iter().enumerate() {
                if !names.insert(source.label(k)) {
                    return Err(ValidationError::new(
                        format!("workload.sources[{k}].name"),
                        format!("two sources are named {:?}", source.label(k)),
                    ));
                }
                let max_offset_s = crate::engine::time::CLOCK_LIMIT.as_ms() / 1000;
                if source.offset_s > max_offset_s {
                    return Err(ValidationError::new(
                        format!("workload.sources[{k}].offset_s"),
                        format!("expected at most {max_offset_s} s (the clock's limit)"),
                    ));
                }
                let mut alone = self.clone();
                alone.workload = source.as_workload(w);
                alone.validate().map_err(|e| {
                    ValidationError::new(
                        e.key
                            .replacen("workload", &format!("workload.sources[{k}]"), 1),
                        e.message,
                    )
                })?;
            }
            return self.validate_shaping();
        }
        match (&w.trace, &w.generator) {
            (None, None) => {
                return Err(ValidationError::new(
                    "workload",
                    "say where the jobs come from: `trace = \"FILE\"` or a [workload.generator]",
                ))
            }
            (Some(_), Some(_)) => {
                return Err(ValidationError::new(
                    "workload.generator",
                    "a workload is either a trace or a generator, not both",
                ))
            }
            _ => {}
        }
        if let Some(g) = &w.generator {
            if g.jobs == 0 {
                return Err(ValidationError::new(
                    "workload.generator.jobs",
                    "expected at least 1 job",
                ));
            }
            if let Some(within_s) = g.within_s {
                if !(0.0..=1e9).contains(&within_s) {
                    return Err(ValidationError::new(
                        "workload.generator.within_s",
                        format!("expected 0 to 1e9 s, got {within_s}"),
                    ));
                }
            }
            if g.array_tasks == 0 || g.array_tasks > MAX_ARRAY_TASKS {
                return Err(ValidationError::new(
                    "workload.generator.array_tasks",
                    format!(
                        "expected 1 to {MAX_ARRAY_TASKS} tasks, got {}",
                        g.array_tasks
                    ),
                ));
            }
            if (g.within_s.is_some() || g.array_tasks > 1) && g.classes.is_empty() {
                return Err(ValidationError::new(
                    if g.within_s.is_some() {
                        "workload.generator.within_s"
                    } else {
                        "workload.generator.array_tasks"
                    },
                    "bursts and job arrays are generated for node-level classes \
                     ([[workload.generator.classes]])",
                ));
            }
            if g.jobs > MAX_GENERATED_JOBS {
                return Err(ValidationError::new(
                    "workload.generator.jobs",
                    format!("expected at most {MAX_GENERATED_JOBS} jobs, got {}", g.jobs),
                ));
            }
            if !(g.load >= MIN_LOAD && g.load.is_finite()) {
                return Err(ValidationError::new(
                    "workload.generator.load",
                    format!("expected a number of at least {MIN_LOAD}, got {}", g.load),
                ));
            }
            if g.procs == Some(0) {
                return Err(ValidationError::new(
                    "workload.generator.procs",
                    "expected at least 1 processor",
                ));
            }
            if !g.classes.is_empty() {
                let Some(cluster) = &self.cluster else {
                    return Err(ValidationError::new(
                        "workload.generator.classes",
                        "node-level job classes need a [cluster] to run on",
                    ));
                };
                if g.procs.is_some() {
                    return Err(ValidationError::new(
                        "workload.generator.procs",
                        "procs sizes jobs of processors anywhere; classes size their own jobs",
                    ));
                }
                check_classes(&g.classes, cluster).map_err(|(k, m)| ValidationError::new(k, m))?;
            }
            if g.procs.is_none() && self.cluster.is_none() {
                return Err(ValidationError::new(
                    "workload.generator.procs",
                    "without a [cluster], say how many processors the generator targets",
                ));
            }
        }
        self.validate_shaping()
    }

    /// The load factor, window, dates and machine size of the workload.
    fn validate_shaping(&self) -> Result<(), ValidationError> {
        let w = &self.workload;
        if w.node_list.is_some() && self.cluster.is_some() {
            // The pods would run on [cluster]; a node list beside it would be ignored.
            return Err(ValidationError::new(
                "workload.node_list",
                "the scenario has a [cluster]: give the node list or the [cluster], not both",
            ));
        }
        if let Some(f) = w.load_factor {
            if !(f > 0.0 && f.is_finite()) {
                return Err(ValidationError::new(
                    "workload.load_factor",
                    format!("expected a positive number, got {f}"),
                ));
            }
        }
        if let (Some(a), Some(b)) = (w.filter.from_s, w.filter.to_s) {
            if a >= b {
                return Err(ValidationError::new(
                    "workload.filter.to_s",
                    format!("the window is empty: to_s {b} is not after from_s {a}"),
                ));
            }
        }
        for (key, date) in [
            ("workload.filter.from_date", &w.filter.from_date),
            ("workload.filter.to_date", &w.filter.to_date),
        ] {
            if let Some(d) = date {
                if crate::workload::transform::parse_date_s(d).is_none() {
                    return Err(ValidationError::new(
                        key,
                        format!(
                            "{d:?} is not a date: write YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC)"
                        ),
                    ));
                }
            }
        }
        if w.procs == Some(0) {
            return Err(ValidationError::new(
                "workload.procs",
                "expected at least 1 processor",
            ));
        }
        if w.procs.is_some() && self.cluster.is_some() {
            return Err(ValidationError::new(
                "workload.procs",
                "the [cluster] sets the machine's size; drop workload.procs",
            ));
        }
        Ok(())
    }
}

/// `[failures]`: a log or draws, on node types of the cluster.
fn validate_failures(
    failures: &FailureSpec,
    cluster: Option<&ClusterSpec>,
) -> Result<(), ValidationError> {
    let Some(cluster) = cluster else {
        return Err(ValidationError::new(
            "failures",
            "node failures need a [cluster] whose nodes fail",
        ));
    };
    match (&failures.log, failures.node_types.is_empty()) {
        (Some(_), false) => {
            return Err(ValidationError::new(
                "failures.log",
                "give a failure log or [failures.node_types.NAME] draws, not both",
            ))
        }
        (None, true) if failures.leaf_switches.is_none() => {
            return Err(ValidationError::new(
                "failures",
                "say how nodes fail: `log = \"FILE\"` (node,down_s,up_s), \
                 [failures.node_types.NAME] or [failures.leaf_switches], with time_between \
                 and repair",
            ))
        }
        _ => {}
    }
    if let Some(leaf) = &failures.leaf_switches {
        if cluster.fabric.is_none() {
            return Err(ValidationError::new(
                "failures.leaf_switches",
                "leaf switch failures need a [cluster.fabric] saying which nodes share a leaf",
            ));
        }
        for (key, dist) in [
            ("time_between", &leaf.time_between),
            ("repair", &leaf.repair),
        ] {
            dist.check().map_err(|(field, message)| {
                ValidationError::new(format!("failures.leaf_switches.{key}.{field}"), message)
            })?;
        }
    }
    for (name, t) in &failures.node_types {
        if !cluster.node_types.contains_key(name) {
            let known: Vec<&str> = cluster.node_types.keys().map(String::as_str).collect();
            return Err(ValidationError::new(
                format!("failures.node_types.{name}"),
                format!(
                    "no node type {name:?} in the cluster ({})",
                    known.join(", ")
                ),
            ));
        }
        for (key, dist) in [("time_between", &t.time_between), ("repair", &t.repair)] {
            dist.check().map_err(|(field, message)| {
                ValidationError::new(format!("failures.node_types.{name}.{key}.{field}"), message)
            })?;
        }
    }
    Ok(())
}
