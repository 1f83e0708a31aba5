//! Calibration of `[controller]` from a real Slurm: the text `sdiag` prints and the
//! `SchedulerParameters` line of a `slurm.conf` (or of `scontrol show config`).
//!
//! **What is read.** From `sdiag`: the main scheduler's *Mean cycle* and *Mean depth cycle*
//! (microseconds, jobs), the backfill scheduler's *Total cycles*, *Mean cycle* and *Depth
//! Mean*, and `REQUEST_SUBMIT_BATCH_JOB`'s count and *ave_time* among the RPC statistics.
//! From the configuration: `SchedulerParameters` (`default_queue_depth`, `sched_interval`,
//! `sched_min_interval` in µs, `bf_interval`, `bf_max_job_test`, `bf_resolution`,
//! `bf_window` in minutes, `max_sched_time`,
//! `bf_max_time`, `bf_yield_interval` and `bf_yield_sleep` in µs, `max_rpc_cnt`; other
//! options are listed as ignored), `SlurmctldTimeout`, and `SlurmctldHost` (given twice: a
//! backup).
//!
//! **How the costs are fitted.** A main cycle of mean length `C` at mean depth `D` is
//! `pass_cost_us + D × main_cost_per_job_us`: with `D` > 0, the per-job cost is
//! `(C − pass_cost_us) / D` (the fixed cost kept at its default, or `C` if smaller); with `D`
//! = 0, the fixed cost is `C`. A backfill cycle's mean length includes its yields: its work
//! is taken as `C × I / (I + S)` when `C` is longer than the yield interval `I` (sleep
//! `S`), and the per-job cost is `(work − pass_cost_us) / depth mean`. The submission
//! service time is `REQUEST_SUBMIT_BATCH_JOB`'s mean. A figure that sdiag does not give
//! (no backfill cycle yet, no submission) leaves its default, and the notes say so.

use crate::controller::ControllerSpec;

/// A line of the input that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {key}: {message}")]
pub struct SdiagError {
    /// 1-based.
    pub line: usize,
    /// The field or option.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// What `sdiag` says of the scheduler (`None`: not printed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sdiag {
    /// Main scheduler cycles.
    pub main_cycles: Option<u64>,
    /// Their mean length, µs.
    pub main_mean_cycle_us: Option<u64>,
    /// Their mean depth, jobs.
    pub main_mean_depth: Option<u64>,
    /// Backfill cycles.
    pub backfill_cycles: Option<u64>,
    /// Their mean length, µs.
    pub backfill_mean_cycle_us: Option<u64>,
    /// Their mean depth, jobs.
    pub backfill_depth_mean: Option<u64>,
    /// Batch submissions served.
    pub submit_count: Option<u64>,
    /// Their mean service time, µs.
    pub submit_ave_us: Option<u64>,
}

/// Reads `sdiag`'s text.
pub fn parse_sdiag(text: &str) -> Result<Sdiag, SdiagError> {
    #[derive(PartialEq)]
    enum Block {
        Top,
        Main,
        Backfill,
        Rpc,
    }
    let mut block = Block::Top;
    let mut s = Sdiag::default();
    let mut seen_block = false;
    for (k, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let number = |key: &str, value: &str| -> Result<u64, SdiagError> {
            value.trim().parse::<u64>().map_err(|_| SdiagError {
                line: k + 1,
                key: key.to_string(),
                message: format!("expected a whole number, got {:?}", value.trim()),
            })
        };
        if line.starts_with("Main schedule statistics") {
            block = Block::Main;
            seen_block = true;
            continue;
        }
        if line.starts_with("Backfilling stats") {
            block = Block::Backfill;
            seen_block = true;
            continue;
        }
        if line.starts_with("Remote Procedure Call statistics by message type") {
            block = Block::Rpc;
            continue;
        }
        if line.starts_with("Remote Procedure Call statistics by user")
            || line.starts_with("Pending RPC statistics")
        {
            block = Block::Top;
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match block {
            Block::Main => match key.trim() {
                "Total cycles" => s.main_cycles = Some(number(key, value)?),
                "Mean cycle" => s.main_mean_cycle_us = Some(number(key, value)?),
                "Mean depth cycle" => s.main_mean_depth = Some(number(key, value)?),
                _ => {}
            },
            Block::Backfill => match key.trim() {
                "Total cycles" => s.backfill_cycles = Some(number(key, value)?),
                "Mean cycle" => s.backfill_mean_cycle_us = Some(number(key, value)?),
                "Depth Mean" => s.backfill_depth_mean = Some(number(key, value)?),
                _ => {}
            },
            Block::Rpc if line.starts_with("REQUEST_SUBMIT_BATCH_JOB") => {
                // `REQUEST_SUBMIT_BATCH_JOB ( 4003) count:2 ave_time:5008815 total_time:…`
                for field in line.split_whitespace() {
                    if let Some(v) = field.strip_prefix("count:") {
                        s.submit_count = Some(number("count", v)?);
                    }
                    if let Some(v) = field.strip_prefix("ave_time:") {
                        s.submit_ave_us = Some(number("ave_time", v)?);
                    }
                }
            }
            _ => {}
        }
    }
    if !seen_block {
        return Err(SdiagError {
            line: text.lines().count().max(1),
            key: "Main schedule statistics".into(),
            message: "not found: is this sdiag's output?".into(),
        });
    }
    Ok(s)
}

/// The options of a Slurm configuration that calibration reads: `SchedulerParameters`'
/// `key=value` pairs, `SlurmctldTimeout` and the number of `SlurmctldHost` lines, each with
/// its line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlurmConfig {
    /// `SchedulerParameters` options: (line, key, value; empty for a flag).
    pub scheduler_parameters: Vec<(usize, String, String)>,
    /// `SlurmctldTimeout`, s, and its line.
    pub slurmctld_timeout: Option<(usize, String)>,
    /// Controller hosts named.
    pub controller_hosts: usize,
}

/// Reads a `slurm.conf`, or `scontrol show config`'s output (`Key = value` lines).
pub fn parse_slurm_config(text: &str) -> SlurmConfig {
    let mut c = SlurmConfig::default();
    for (k, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key.to_ascii_lowercase().as_str() {
            "schedulerparameters" => {
                for option in value
                    .split(',')
                    .filter(|o| !o.trim().is_empty() && *o != "(null)")
                {
                    let (name, v) = option.split_once('=').unwrap_or((option, ""));
                    c.scheduler_parameters.push((
                        k + 1,
                        name.trim().to_string(),
                        v.trim().to_string(),
                    ));
                }
            }
            "slurmctldtimeout" => {
                // `scontrol show config` writes "120 sec".
                let v = value.split_whitespace().next().unwrap_or("").to_string();
                c.slurmctld_timeout = Some((k + 1, v));
            }
            "slurmctldhost" | "controlmachine" | "backupcontroller" => c.controller_hosts += 1,
            key if key.starts_with("slurmctldhost[") => c.controller_hosts += 1,
            _ => {}
        }
    }
    c
}

/// A `[controller]` section fitted to `sdiag` and a configuration, and notes on what was
/// taken from where (or left at its default).
pub fn calibrate(
    sdiag: &Sdiag,
    config: &SlurmConfig,
) -> Result<(ControllerSpec, Vec<String>), SdiagError> {
    let mut spec = ControllerSpec::default();
    let mut notes = Vec::new();
    for (line, key, value) in &config.scheduler_parameters {
        let bad = |message: String| SdiagError {
            line: *line,
            key: format!("SchedulerParameters {key}"),
            message,
        };
        let whole = || {
            value
                .parse::<u64>()
                .map_err(|_| bad(format!("expected a whole number, got {value:?}")))
        };
        let narrow = |v: u64| u32::try_from(v).map_err(|_| bad(format!("{v} is too large")));
        match key.as_str() {
            "default_queue_depth" => spec.default_queue_depth = narrow(whole()?)?,
            "sched_interval" => spec.sched_interval_s = whole()?,
            "sched_min_interval" => spec.sched_min_interval_s = whole()? as f64 / 1e6,
            "bf_interval" => spec.bf_interval_s = whole()?,
            "bf_max_job_test" => spec.bf_max_job_test = narrow(whole()?)?,
            "bf_resolution" => spec.bf_resolution_s = whole()?,
            // Slurm's bf_window is in minutes.
            "bf_window" => spec.bf_window_s = whole()?.saturating_mul(60),
            "max_sched_time" => spec.max_sched_time_s = whole()? as f64,
            "bf_max_time" => spec.bf_max_time_s = Some(whole()? as f64),
            "bf_yield_interval" => spec.bf_yield_interval_s = whole()? as f64 / 1e6,
            "bf_yield_sleep" => spec.bf_yield_sleep_s = whole()? as f64 / 1e6,
            "max_rpc_cnt" => spec.max_rpc_cnt = narrow(whole()?)?,
            _ => {
                notes.push(format!(
                    "SchedulerParameters {key} (line {line}) is not modelled: ignored"
                ));
                continue;
            }
        }
        notes.push(format!("{key} from SchedulerParameters (line {line})"));
    }
    if let Some((line, value)) = &config.slurmctld_timeout {
        spec.slurmctld_timeout_s = value.parse::<u64>().map_err(|_| SdiagError {
            line: *line,
            key: "SlurmctldTimeout".into(),
            message: format!("expected whole seconds, got {value:?}"),
        })?;
        notes.push(format!(
            "slurmctld_timeout_s from SlurmctldTimeout (line {line})"
        ));
    }
    if config.controller_hosts >= 2 {
        spec.backup = true;
        notes.push("backup: SlurmctldHost is given twice".into());
    }
    match (sdiag.main_mean_cycle_us, sdiag.main_mean_depth) {
        (Some(cycle), Some(0)) | (Some(cycle), None) => {
            spec.pass_cost_us = cycle;
            notes.push(format!(
                "pass_cost_us = {cycle}: sdiag's mean main cycle at depth 0 (the cost per job \
                 is left at its default)"
            ));
        }
        (Some(cycle), Some(depth)) => {
            spec.pass_cost_us = spec.pass_cost_us.min(cycle);
            spec.main_cost_per_job_us = (cycle - spec.pass_cost_us) / depth;
            notes.push(format!(
                "main_cost_per_job_us = ({cycle} - {}) / {depth}: sdiag's mean main cycle and \
                 depth",
                spec.pass_cost_us
            ));
        }
        (None, _) => notes.push("no main cycle in sdiag: main costs left at their defaults".into()),
    }
    match (
        sdiag.backfill_cycles,
        sdiag.backfill_mean_cycle_us,
        sdiag.backfill_depth_mean,
    ) {
        (Some(n), Some(cycle), Some(depth)) if n > 0 && depth > 0 => {
            let interval = (spec.bf_yield_interval_s * 1e6) as u64;
            let sleep = (spec.bf_yield_sleep_s * 1e6) as u64;
            let work = if interval > 0 && cycle > interval {
                cycle * interval / (interval + sleep)
            } else {
                cycle
            };
            spec.bf_cost_per_job_us = work.saturating_sub(spec.pass_cost_us) / depth;
            notes.push(format!(
                "bf_cost_per_job_us = ({work} - {}) / {depth}: sdiag's mean backfill cycle \
                 (less its yields) and depth",
                spec.pass_cost_us
            ));
        }
        _ => notes.push(
            "no backfill cycle with a depth in sdiag: bf_cost_per_job_us left at its default"
                .into(),
        ),
    }
    match (sdiag.submit_count, sdiag.submit_ave_us) {
        (Some(n), Some(ave)) if n > 0 => {
            spec.rpc_service_us = ave.max(1);
            notes.push(format!(
                "rpc_service_us = {}: REQUEST_SUBMIT_BATCH_JOB's mean over {n} requests",
                spec.rpc_service_us
            ));
        }
        _ => notes.push("no batch submission in sdiag: rpc_service_us left at its default".into()),
    }
    spec.check().map_err(|(key, message)| SdiagError {
        line: 0,
        key: format!("controller.{key}"),
        message: format!("the fitted value is out of range: {message}"),
    })?;
    Ok((spec, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A production cluster's sdiag, as quoted in a public sdiag parser's comments, with a
    /// submission line in the format sdiag prints.
    const SAMPLE: &str = "\
Main schedule statistics (microseconds):
\tLast cycle:   11079
\tMax cycle:    123872
\tTotal cycles: 2724
\tMean cycle:   17276
\tMean depth cycle:  314
\tCycles per minute: 13
\tLast queue length: 2176

Backfilling stats
\tTotal backfilled jobs (since last slurm start): 3310
\tTotal cycles: 289
\tLast cycle: 2513675
\tMean cycle: 7318652
\tLast depth cycle: 2534
\tDepth Mean: 3024
\tLast queue length: 2713

Remote Procedure Call statistics by message type
\tREQUEST_PARTITION_INFO                  ( 2009) count:11     ave_time:307    total_time:3377
\tREQUEST_SUBMIT_BATCH_JOB                ( 4003) count:2      ave_time:1500   total_time:3000
";

    #[test]
    fn a_sample_is_fitted_by_hand() {
        let s = parse_sdiag(SAMPLE).unwrap();
        assert_eq!(s.main_mean_cycle_us, Some(17_276));
        assert_eq!(s.backfill_depth_mean, Some(3_024));
        assert_eq!(s.submit_ave_us, Some(1_500));
        let conf = parse_slurm_config(
            "SlurmctldHost=head1\nSlurmctldHost=head2\nSlurmctldTimeout=60\n\
             SchedulerParameters=bf_interval=60,bf_max_job_test=1000,defer,sched_min_interval=2000000,\
             bf_window=2880\n",
        );
        let (spec, notes) = calibrate(&s, &conf).unwrap();
        // (17,276 − 160) / 314 = 54.5: 54 µs a job.
        assert_eq!((spec.pass_cost_us, spec.main_cost_per_job_us), (160, 54));
        // 7,318,652 µs with a 0.5 s yield every 2 s: 5,854,921 µs of work; (5,854,921 −
        // 160) / 3,024 = 1,936.
        assert_eq!(spec.bf_cost_per_job_us, 1_936);
        assert_eq!(spec.rpc_service_us, 1_500);
        assert_eq!((spec.bf_interval_s, spec.bf_max_job_test), (60, 1_000));
        assert_eq!(spec.sched_min_interval_s, 2.0);
        assert_eq!(spec.bf_window_s, 2 * 86_400);
        assert_eq!(spec.slurmctld_timeout_s, 60);
        assert!(spec.backup);
        assert!(notes
            .iter()
            .any(|n| n.contains("defer") && n.contains("ignored")));
    }

    #[test]
    fn bad_input_names_its_line_and_key() {
        let e =
            parse_sdiag("Main schedule statistics (microseconds):\n\tMean cycle: x\n").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "Mean cycle"));
        assert!(parse_sdiag("hello\n").is_err());
        let conf = parse_slurm_config("SchedulerParameters=bf_interval=soon\n");
        let e = calibrate(&Sdiag::default(), &conf).unwrap_err();
        assert_eq!(
            (e.line, e.key.as_str()),
            (1, "SchedulerParameters bf_interval")
        );
    }
}
