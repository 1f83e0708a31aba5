//! From a scenario (if any) and a [`RunRequest`] to everything one `run` needs: the
//! workload read and shaped, the policies, the options and where results go. `run`,
//! `sweep` and `check` all plan their runs here, so a scenario means the same thing to
//! each of them.
//!
//! A request is plain data: the command line converts its flags into one, and a library
//! caller builds one directly (usually [`RunRequest::default`]: the scenario as its file
//! says).

use crate::failures::Failures;
use crate::policy::PolicyKind;
use crate::report::TableFormat;
use crate::run::RunOptions;
use crate::scenario::{self, LoadedScenario};
use crate::workload::swf::SwfOptions;
use crate::workload::synthetic::{generate, SyntheticSpec};
use crate::workload::Workload;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The seed of a run whose request and scenario name none.
pub const DEFAULT_SEED: u64 = 1;

/// What a caller asks of a run on top of its scenario. An unset field means "what the
/// scenario says, else the built-in default", so [`RunRequest::default`] runs a scenario
/// exactly as its file says (and, without a scenario, the demo).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunRequest {
    /// The workload to replay (a trace file) instead of the scenario's. Without it and
    /// without a scenario, the demo runs.
    pub workload: Option<PathBuf>,
    /// The scheduling policy (default: the scenario's, else EASY for a trace and all three
    /// for the demo).
    pub policy: Option<PolicyKind>,
    /// The results folder (default: the scenario's, else none: print only).
    pub out: Option<PathBuf>,
    /// Format of the tables (default: the scenario's, else parquet).
    pub format: Option<TableFormat>,
    /// Step of the time series' fixed samples, s; 0: only rows at changes (default: the
    /// scenario's, else 3600).
    pub timeseries_step_s: Option<u64>,
    /// Write no plots and no report.html, whatever the scenario says.
    pub no_plots: bool,
    /// Seed of the run's random streams (default: the scenario's, else [`DEFAULT_SEED`]).
    pub seed: Option<u64>,
    /// Bounded-slowdown threshold τ, s, at least 1 (default: the scenario's, else 10).
    pub bsld_tau_s: Option<u64>,
    /// The time to start within which a session counts as on target, s (default: the
    /// scenario's, else 60).
    pub session_start_target_s: Option<u64>,
    /// How to read and shape the workload.
    pub input: WorkloadRequest,
}

/// How to read a workload and which part of it to keep, on top of the scenario's
/// `[workload]`. An unset field means "what the scenario says, else the default".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkloadRequest {
    /// Machine size in processors; overrides the cluster's cores and the trace header.
    pub procs: Option<u32>,
    /// Skip malformed lines (counting them as dropped) instead of stopping at the first.
    pub lenient: bool,
    /// Multiply the arrival rate by this factor (default: the scenario's, else 1).
    pub load_factor: Option<f64>,
    /// Keep jobs submitted at least this many seconds after the first submission.
    pub window_start_s: Option<u64>,
    /// Keep jobs submitted before this many seconds after the first submission.
    pub window_end_s: Option<u64>,
    /// Keep jobs submitted at or after this date, UTC (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS).
    pub from_date: Option<String>,
    /// Keep jobs submitted before this date, UTC.
    pub to_date: Option<String>,
    /// Keep only these users (empty: the scenario's filter, else all).
    pub users: Vec<i32>,
    /// Keep only these queues (empty: the scenario's filter, else all).
    pub queues: Vec<i32>,
    /// Keep only these partitions (empty: the scenario's filter, else all).
    pub partitions: Vec<i32>,
    /// For an openb pod list: the openb node list whose nodes form the cluster.
    pub node_list: Option<PathBuf>,
    /// For an openb pod list: how a fractional GPU is mapped (default: the scenario's,
    /// else a whole GPU).
    pub fractional: Option<crate::workload::openb::Fractional>,
    /// The trace's format (default: the scenario's, else auto-detected).
    pub trace_format: Option<crate::workload::TraceFormat>,
    /// End jobs whose runtime exceeds their walltime estimate at the estimate.
    pub kill_at_walltime: bool,
}

/// Everything a `run` needs, from the scenario file (if any) with the request on top.
pub struct RunPlan {
    /// The workload, read and shaped (filters, load factor).
    pub workload: Workload,
    /// The policies to run it under (the demo runs all three).
    pub policies: Vec<PolicyKind>,
    /// The run's options.
    pub options: RunOptions,
    /// The results folder, if any.
    pub out: Option<PathBuf>,
    /// Format of the tables.
    pub format: TableFormat,
    /// Step of the time series' fixed samples, s.
    pub timeseries_step_s: u64,
    /// Whether to draw plots and write report.html.
    pub plots: bool,
    /// One subdirectory per policy (the demo).
    pub per_policy_dirs: bool,
    /// The demo's generator, when this is the demo.
    pub demo: Option<SyntheticSpec>,
}

/// Traces read once and shared by every run that reads the same file the same way (a
/// sweep's runs differ in load factor, policy or seed far more often than in their trace).
#[derive(Default)]
pub struct TraceCache {
    entries: Mutex<BTreeMap<String, CachedRead>>,
}

/// One read, done once: the workload, or the error message to repeat to every run.
type CachedRead = Arc<OnceLock<Result<Workload, String>>>;

impl TraceCache {
    /// The workload read by `read` under `key`, reading it on first use only. Runs that
    /// ask for one key at once wait for one read.
    fn get(&self, key: String, read: impl FnOnce() -> Result<Workload>) -> Result<Workload> {
        let cell = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.entry(key).or_default().clone()
        };
        cell.get_or_init(|| read().map_err(|e| format!("{e:#}")))
            .clone()
            .map_err(anyhow::Error::msg)
    }
}

/// The parts of a run plan every kind of workload shares.
struct Common {
    options: RunOptions,
    out: Option<PathBuf>,
    format: TableFormat,
    timeseries_step_s: u64,
    plots: bool,
}

/// The plan, once the workload is read: shaped by the filters and load factor.
fn finish(
    common: Common,
    mut workload: Workload,
    policies: Vec<PolicyKind>,
    demo: Option<SyntheticSpec>,
    request: &RunRequest,
    file: Option<&scenario::Scenario>,
) -> Result<RunPlan> {
    shape_workload(&mut workload, &request.input, file)?;
    Ok(RunPlan {
        workload,
        per_policy_dirs: demo.is_some() && policies.len() > 1,
        policies,
        options: common.options,
        out: common.out,
        format: common.format,
        timeseries_step_s: common.timeseries_step_s,
        plots: common.plots,
        demo,
    })
}

/// Plans a run of `loaded` (or of the demo, or of the request's workload) with `request`
/// on top. `cache`, when given, shares trace reads between plans.
pub fn plan_run(
    request: &RunRequest,
    loaded: Option<&LoadedScenario>,
    cache: Option<&TraceCache>,
) -> Result<RunPlan> {
    let mut plan = plan_workload(request, loaded, cache)?;
    if let Some(l) = loaded {
        plan.options.failures = failures_of(l, &plan.workload, plan.options.seed)?.map(Arc::new);
        if plan.options.rates.is_some() && plan.workload.nodes.is_none() {
            return Err(loaded_error_rates(l).into());
        }
        if plan.options.filesystem.is_some() && plan.workload.nodes.is_none() {
            return Err(l
                .error_at(
                    "filesystem",
                    "staging needs jobs of node-level classes (stage_in_gb, stage_out_gb): \
                     the workload has none",
                )
                .into());
        }
    }
    Ok(plan)
}

/// `[rates]` on a workload of processors anywhere: rates depend on nodes.
fn loaded_error_rates(loaded: &LoadedScenario) -> scenario::ScenarioError {
    loaded.error_at(
        "rates",
        "the rate model needs jobs that ask for nodes (job classes, a Slurm dump, or sources \
         turned into node requests on the [cluster])",
    )
}

/// The scenario's failure model on the workload's cluster: its log read, or its draws
/// seeded by the run's seed.
fn failures_of(
    loaded: &LoadedScenario,
    workload: &Workload,
    seed: u64,
) -> Result<Option<Failures>> {
    let Some(spec) = &loaded.scenario.failures else {
        return Ok(None);
    };
    let Some(nw) = workload.nodes.as_deref() else {
        return Err(loaded
            .error_at(
                "failures",
                "node failures need jobs that ask for nodes (job classes, a Slurm dump, or \
                 sources turned into node requests on the [cluster])",
            )
            .into());
    };
    let nodes = &nw.cluster;
    let failures = if let Some(log) = &spec.log {
        let path = loaded.resolve(log);
        // The log's own errors name its file, line and column.
        let outages = crate::failures::read_log(&path, nodes.len()).map_err(anyhow::Error::msg)?;
        Failures::from_log(&outages, nodes.len())
    } else {
        let type_names: Vec<&str> = (0..nodes.len() as u32)
            .map(|n| nodes.type_of(n).name.as_str())
            .collect();
        Failures::from_draws(&type_names, &spec.node_types, seed)
    };
    Ok(Some(match &spec.leaf_switches {
        Some(draws) => {
            let leaf_of: Vec<u32> = (0..nodes.len() as u32).map(|n| nodes.leaf_of(n)).collect();
            failures.with_leaf_failures(&leaf_of, draws, seed)
        }
        None => failures,
    }))
}

fn plan_workload(
    request: &RunRequest,
    loaded: Option<&LoadedScenario>,
    cache: Option<&TraceCache>,
) -> Result<RunPlan> {
    let file = loaded.map(|l| &l.scenario);
    let seed = request
        .seed
        .or(file.and_then(|f| f.seed))
        .unwrap_or(DEFAULT_SEED);
    let options = RunOptions {
        seed,
        bsld_tau_s: request
            .bsld_tau_s
            .or(file.map(|f| f.policy.bsld_tau_s))
            .unwrap_or_else(|| scenario::PolicySpec::default().bsld_tau_s),
        session_start_target_s: request
            .session_start_target_s
            .or(file.map(|f| f.policy.session_start_target_s))
            .unwrap_or_else(|| scenario::PolicySpec::default().session_start_target_s),
        kill_at_walltime: request.input.kill_at_walltime
            || file.is_some_and(|f| f.workload.kill_at_walltime),
        lenient: request.input.lenient || file.is_some_and(|f| f.workload.lenient),
        scenario: loaded.map(|l| l.path.display().to_string()),
        scenario_name: loaded.map(LoadedScenario::name),
        failures: None,
        culler: file
            .and_then(|f| f.policy.culler.as_ref())
            .and_then(|c| c.culler()),
        qos: file.and_then(|f| f.policy.qos),
        credits: file.and_then(|f| {
            let types: Vec<&str> = f
                .cluster
                .as_ref()?
                .node_types
                .keys()
                .map(String::as_str)
                .collect();
            Some(f.credits.as_ref()?.resolve(&types))
        }),
        filesystem: file.and_then(|f| Some(f.filesystem?.settings())),
        controller: file.and_then(|f| f.controller.clone()),
        rates: file.and_then(|f| {
            let oversubscription = f
                .cluster
                .as_ref()
                .and_then(|c| c.fabric.as_ref())
                .map(|fabric| fabric.oversubscription);
            f.rates.as_ref()?.settings(oversubscription)
        }),
    };
    let output = file.map(|f| f.output.clone()).unwrap_or_default();
    let out = request.out.clone().or(output.dir.clone());
    let format = request.format.unwrap_or(output.format);
    let timeseries_step_s = request
        .timeseries_step_s
        .unwrap_or(output.timeseries_step_s);
    let plots = !request.no_plots && output.plots;
    // The machine: the requested procs, else the cluster's cores, else the trace's header.
    let cluster_cores = match file.and_then(|f| f.cluster.as_ref()) {
        Some(c) => Some(u32::try_from(c.schedulable_cores()).map_err(|_| {
            anyhow::anyhow!(
                "{}: the cluster has more than 4,294,967,295 cores",
                options.scenario.clone().unwrap_or_default()
            )
        })?),
        None => None,
    };
    let procs = request
        .input
        .procs
        .or(cluster_cores)
        .or(file.and_then(|f| f.workload.procs));
    let swf = SwfOptions {
        procs,
        kill_at_walltime: options.kill_at_walltime,
        lenient: options.lenient,
    };
    let common = Common {
        options,
        out,
        format,
        timeseries_step_s,
        plots,
    };
    let trace_format = request
        .input
        .trace_format
        .or(file.map(|f| f.workload.format))
        .unwrap_or_default();
    // A trace's policy: the requested one, else the scenario's, else EASY.
    let policy = || {
        request
            .policy
            .or(file.map(|f| f.policy.name))
            .unwrap_or(PolicyKind::Easy)
    };
    let cached = |key: String, read: &dyn Fn() -> Result<Workload>| match cache {
        Some(c) => c.get(key, read),
        None => read(),
    };
    // An openb pod list runs on node types: the scenario's cluster or an openb node list.
    let trace_path = match (&request.workload, loaded) {
        (Some(path), _) => Some(path.clone()),
        (None, Some(l)) => l.scenario.workload.trace.as_ref().map(|t| l.resolve(t)),
        _ => None,
    };
    // Recognised from its header too, as sacct and DLRM are.
    let openb_pods = trace_path.clone().filter(|p| {
        crate::workload::detect_format(p, trace_format) == crate::workload::TraceFormat::Openb
    });
    if let Some(pods) = openb_pods {
        let node_list = request.input.node_list.clone().or_else(|| {
            loaded.and_then(|l| l.scenario.workload.node_list.as_ref().map(|p| l.resolve(p)))
        });
        let cluster = match (file.and_then(|f| f.cluster.clone()), node_list) {
            (Some(_), Some(list)) => anyhow::bail!(
                "--node-list {}: the scenario has a [cluster] for the pods to run on; give one \
                 or the other",
                list.display()
            ),
            (Some(c), None) => c,
            (None, Some(list)) => crate::workload::openb::read_node_list(&list)?,
            (None, None) => anyhow::bail!(
                "an openb pod list needs a cluster: give --node-list FILE (an openb node list) \
                 or a scenario with a [cluster]"
            ),
        };
        let fractional = request
            .input
            .fractional
            .or(file.map(|f| f.workload.fractional))
            .unwrap_or_default();
        let placement = file.map(|f| f.policy.placement).unwrap_or_default();
        let key = format!("openb|{pods:?}|{cluster:?}|{fractional:?}|{placement:?}");
        let workload = cached(key, &|| {
            Ok(crate::workload::openb::read_pod_list(
                &pods, &cluster, fractional, placement,
            )?)
        })?;
        return finish(common, workload, vec![policy()], None, request, file);
    }
    // A node list only makes an openb pod list's cluster: beside any other workload it would
    // be silently ignored.
    if let Some(list) = &request.input.node_list {
        anyhow::bail!(
            "--node-list {}: only an openb pod list runs on a node list, and {}",
            list.display(),
            match &trace_path {
                Some(p) => format!("{} is not one", p.display()),
                None => "this run has no trace".to_string(),
            }
        );
    }
    if let (Some(l), Some(list)) = (loaded, file.and_then(|f| f.workload.node_list.as_ref())) {
        anyhow::bail!(
            "{}:{}: workload.node_list: {}: only an openb pod list runs on a node list, and \
             the scenario's workload is not one",
            l.path.display(),
            scenario::locate::line_of_key(&l.text, "workload.node_list"),
            list.display()
        );
    }
    // A DLRM trace runs on the scenario's cluster.
    if let Some(path) = trace_path.filter(|p| {
        crate::workload::detect_format(p, trace_format) == crate::workload::TraceFormat::Dlrm
    }) {
        let Some(cluster) = file.and_then(|f| f.cluster.clone()) else {
            anyhow::bail!(
                "{}: a DLRM trace runs on a cluster: use a scenario with a [cluster] (see \
                 scenarios/dlrm.toml)",
                path.display()
            );
        };
        let placement = file.map(|f| f.policy.placement).unwrap_or_default();
        let key = format!("dlrm|{path:?}|{cluster:?}|{placement:?}");
        let workload = cached(key, &|| {
            Ok(crate::workload::dlrm::read_dlrm_file(
                &path, &cluster, placement,
            )?)
        })?;
        return finish(common, workload, vec![policy()], None, request, file);
    }
    if let Some(path) = &request.workload {
        let key = format!("trace|{path:?}|{trace_format:?}|{swf:?}");
        let workload = cached(key, &|| {
            Ok(crate::workload::read_trace_file(path, trace_format, &swf)?)
        })?;
        return finish(common, workload, vec![policy()], None, request, file);
    }
    if let Some(loaded) = loaded {
        let f = &loaded.scenario;
        if !f.workload.sources.is_empty() {
            let workload = compose_sources(loaded, seed, cache)?;
            let policies = vec![request.policy.unwrap_or(f.policy.name)];
            return finish(common, workload, policies, None, request, file);
        }
        let workload = match (&f.workload.trace, &f.workload.generator) {
            (Some(trace), _) => {
                let path = loaded.resolve(trace);
                let key = format!(
                    "scenario-trace|{path:?}|{trace_format:?}|{swf:?}|{:?}|{:?}",
                    f.cluster, f.policy.placement
                );
                cached(key, &|| {
                    read_scenario_trace(loaded, &path, trace_format, &swf)
                })?
            }
            (None, Some(g)) if !g.classes.is_empty() => {
                let cluster = f
                    .cluster
                    .as_ref()
                    .expect("validated: classes need a cluster");
                crate::workload::classes::generate(&crate::workload::classes::ClassGenerator {
                    jobs: g.jobs,
                    load: g.load,
                    classes: &g.classes,
                    cluster,
                    placement: f.policy.placement,
                    seed,
                    arrivals: crate::workload::classes::Arrivals {
                        within_s: g.within_s,
                        array_tasks: g.array_tasks,
                    },
                })
            }
            (None, Some(g)) => {
                let gen_procs = request
                    .input
                    .procs
                    .or(g.procs)
                    .or(cluster_cores)
                    .unwrap_or(1);
                let mut w = generate(&SyntheticSpec {
                    jobs: g.jobs,
                    procs: gen_procs,
                    load: g.load,
                    seed,
                });
                if let Some(p) = procs {
                    w.machine_procs = p;
                    w.drop_jobs_larger_than_machine();
                }
                w
            }
            (None, None) => unreachable!("validated: a workload has a trace or a generator"),
        };
        let policies = vec![request.policy.unwrap_or(f.policy.name)];
        return finish(common, workload, policies, None, request, file);
    }
    let mut spec = SyntheticSpec::demo(seed);
    if let Some(p) = request.input.procs {
        spec.procs = p;
    }
    let policies = match request.policy {
        Some(p) => vec![p],
        None => PolicyKind::ALL.to_vec(),
    };
    let workload = generate(&spec);
    finish(common, workload, policies, Some(spec), request, file)
}

/// The sources of a composed workload, each planned as a scenario of its own, merged.
/// Source k ≥ 1 generates from the seed plus k × 0x9E3779B97F4A7C15, so that two generators
/// never draw the same numbers.
fn compose_sources(
    loaded: &LoadedScenario,
    seed: u64,
    cache: Option<&TraceCache>,
) -> Result<Workload> {
    let f = &loaded.scenario;
    // Each source alone, as its own file would run it: nothing asked on top.
    let request = RunRequest::default();
    let mut sources = Vec::with_capacity(f.workload.sources.len());
    for (k, source) in f.workload.sources.iter().enumerate() {
        let mut alone = loaded.clone();
        alone.scenario.workload = source.as_workload(&f.workload);
        alone.scenario.seed =
            Some(seed.wrapping_add((k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        let plan = plan_run(&request, Some(&alone), cache)
            .with_context(|| format!("workload source {:?}", source.label(k)))?;
        sources.push(crate::workload::compose::Source {
            name: source.label(k),
            workload: plan.workload,
            offset_s: source.offset_s,
        });
    }
    crate::workload::compose::merge(sources, f.cluster.as_ref(), f.policy.placement)
        .map_err(|e| anyhow::anyhow!("{}: workload.sources: {e}", loaded.path.display()))
}

/// A scenario's trace: a Slurm dump on a scenario's cluster becomes node-level jobs.
fn read_scenario_trace(
    loaded: &LoadedScenario,
    path: &Path,
    trace_format: crate::workload::TraceFormat,
    swf: &SwfOptions,
) -> Result<Workload> {
    let f = &loaded.scenario;
    match (
        crate::workload::detect_format(path, trace_format),
        &f.cluster,
    ) {
        (crate::workload::TraceFormat::Sacct, Some(cluster)) => {
            crate::workload::sacct::read_sacct_file_on(
                path,
                swf,
                Some((cluster, f.policy.placement)),
            )
        }
        _ => crate::workload::read_trace_file(path, trace_format, swf),
    }
    .map_err(anyhow::Error::from)
    .with_context(|| {
        format!(
            "{}:{}: workload.trace",
            loaded.path.display(),
            scenario::locate::line_of_key(&loaded.text, "workload.trace")
        )
    })
}

/// The workload's filter and load factor: the request's, else the scenario's.
pub fn shape_workload(
    w: &mut Workload,
    request: &WorkloadRequest,
    file: Option<&scenario::Scenario>,
) -> Result<()> {
    let mut filter = file.map(|f| f.workload.filter.clone()).unwrap_or_default();
    if request.window_start_s.is_some() {
        filter.from_s = request.window_start_s;
    }
    if request.window_end_s.is_some() {
        filter.to_s = request.window_end_s;
    }
    if request.from_date.is_some() {
        filter.from_date = request.from_date.clone();
    }
    if request.to_date.is_some() {
        filter.to_date = request.to_date.clone();
    }
    for (asked, target) in [
        (&request.users, &mut filter.users),
        (&request.queues, &mut filter.queues),
        (&request.partitions, &mut filter.partitions),
    ] {
        if !asked.is_empty() {
            *target = asked.clone();
        }
    }
    if let (Some(a), Some(b)) = (filter.from_s, filter.to_s) {
        if a >= b {
            anyhow::bail!(
                "the time window is empty: --window-end {b} is not after --window-start {a}"
            );
        }
    }
    crate::workload::transform::apply_filter(w, &filter).map_err(anyhow::Error::msg)?;
    let factor = request
        .load_factor
        .or(file.and_then(|f| f.workload.load_factor))
        .unwrap_or(1.0);
    if !(factor > 0.0 && factor.is_finite()) {
        anyhow::bail!("--load-factor must be a positive number, got {factor}");
    }
    crate::workload::transform::scale_load(w, factor).map_err(anyhow::Error::msg)?;
    Ok(())
}

/// An error when every job of `workload` is dropped (none would run): in a scenario, at
/// its job classes (or its workload), naming the reasons and one dropped job's detail; or
/// when a generated class can never be placed though others can, at that class.
pub fn refuse_all_dropped(
    workload: &Workload,
    loaded: Option<&LoadedScenario>,
    trace: Option<&std::path::Path>,
) -> Result<()> {
    // A generated class none of whose jobs could be placed can never run, even when other
    // classes can: refused at the class's own line. (When no job at all would run, the
    // message below says so for the whole workload.)
    let never_placed = workload.meta.never_placed_classes.first();
    if let (false, Some(l), Some((k, detail))) = (workload.jobs.is_empty(), loaded, never_placed) {
        let name = l
            .scenario
            .workload
            .generator
            .as_ref()
            .and_then(|g| g.classes.get(*k))
            .map_or(String::new(), |c| c.name.clone());
        return Err(l
            .error_at(
                &format!("workload.generator.classes[{k}]"),
                format!(
                    "none of the jobs of class {name:?} could ever be placed ({detail}), so the \
                     class would never run: make it fit the cluster, or pass --allow-empty to \
                     run anyway"
                ),
            )
            .into());
    }
    if !workload.jobs.is_empty() || workload.dropped.is_empty() {
        return Ok(());
    }
    let reasons: Vec<String> = workload
        .dropped_by_reason()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(reason, n)| format!("{reason}: {n}"))
        .collect();
    let message = format!(
        "every one of the {} jobs would be dropped ({}; e.g. {}), so nothing would run: \
         make the jobs fit the cluster, or pass --allow-empty to run anyway",
        workload.dropped.len(),
        reasons.join(", "),
        workload.dropped[0].detail
    );
    match loaded {
        Some(l) => {
            let classes = l
                .scenario
                .workload
                .generator
                .as_ref()
                .is_some_and(|g| !g.classes.is_empty());
            let key = if classes {
                "workload.generator.classes"
            } else {
                "workload"
            };
            Err(l.error_at(key, message).into())
        }
        None => {
            let file = trace.map_or("the workload".to_string(), |p| p.display().to_string());
            anyhow::bail!("{file}: {message}")
        }
    }
}
