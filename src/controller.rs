//! The head node's scheduler (`[controller]` in a scenario): Slurm's two scheduling loops,
//! each pass testing a bounded number of jobs.
//!
//! **This project's model** (documented in the README and docs/semantics.md, *The
//! controller*), with Slurm's names and defaults (`slurm.conf` `SchedulerParameters`):
//!
//! - *The main loop.* At an instant where something changed (a submission, a job's end, a
//!   node failure or repair), a main pass runs if at least `sched_min_interval_s` has passed
//!   since the previous one (else one runs once it has). It tests at most
//!   `default_queue_depth` jobs in queue order, starting each that fits now; a job that does
//!   not fit blocks the jobs behind it in its partition, as Slurm's main scheduler skips a
//!   partition once one of its jobs cannot start. It never backfills. Every
//!   `sched_interval_s`, from time 0, a main pass tests the whole queue.
//! - *The backfill loop* (policies that backfill: `easy`): `bf_interval_s` after the
//!   previous one ended, a backfill pass runs the policy's own pass (start from the head,
//!   the head's reservation, backfilling behind it), testing at most `bf_max_job_test`
//!   jobs: a job beyond that waits for a later pass.
//! - A job is *considered* when a pass tests it (tries to place it); each job's first
//!   consideration is recorded, and the passes' counts and depths reported.
//! - *Passes take time.* A pass holds the controller for its length: a fixed cost plus, per
//!   job tested, a cost per job and a cost per node examined (every node of the cluster,
//!   or every processor of a processor pool). The backfill pass yields for
//!   `bf_yield_sleep_s` after every `bf_yield_interval_s` of work. A main pass stops testing
//!   once the next test would take it past `max_sched_time_s`, a backfill pass past
//!   `bf_max_time_s`. As in Slurm, a pass starts jobs as it goes: a job it starts is
//!   launched when the pass has finished testing it (pass start + cost so far, rounded up to
//!   the clock's millisecond). A decision no longer valid by then (the job's user gave up,
//!   one of its nodes failed) is dropped, counted and told to the policy, never applied.
//!   While a pass holds the controller no other pass starts: a pass due then runs when it
//!   ends (a main pass first).
//!
//! Without the section every pass is the instant one of a controller that costs nothing:
//! today's replays, unchanged.

use crate::engine::time::SimDuration;
use serde::{Deserialize, Serialize};

/// The longest interval a loop may have, s (a day: a scheduler idle longer is a typing
/// error).
pub const MAX_INTERVAL_S: u64 = 86_400;

/// `[controller]`: the scheduling loops' parameters (Slurm's `SchedulerParameters`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ControllerSpec {
    /// Jobs a main pass tests when something changed (Slurm's `default_queue_depth`,
    /// default 100).
    #[serde(default = "default_queue_depth")]
    pub default_queue_depth: u32,
    /// Time between main passes that test the whole queue, s (Slurm's `sched_interval`,
    /// default 60).
    #[serde(default = "sixty")]
    pub sched_interval_s: u64,
    /// The least time between two main passes, s (Slurm's `sched_min_interval`, default 2
    /// microseconds: 0 at this model's millisecond resolution).
    #[serde(default)]
    pub sched_min_interval_s: f64,
    /// Time between backfill passes, s (Slurm's `bf_interval`, default 30).
    #[serde(default = "thirty")]
    pub bf_interval_s: u64,
    /// Jobs a backfill pass tests (Slurm's `bf_max_job_test`, default 500).
    #[serde(default = "five_hundred")]
    pub bf_max_job_test: u32,
    /// The resolution of the backfill plan, s: the head's reservation is rounded up to it
    /// (Slurm's `bf_resolution`, default 60).
    #[serde(default = "sixty")]
    pub bf_resolution_s: u64,
    /// How far ahead the backfill plan looks, s: a head that cannot start within it gets no
    /// reservation (Slurm's `bf_window`, default 1 day).
    #[serde(default = "one_day")]
    pub bf_window_s: u64,
    /// The longest a main pass holds the controller, s (Slurm's `max_sched_time`, default
    /// 2).
    #[serde(default = "two")]
    pub max_sched_time_s: f64,
    /// The longest a backfill pass runs, yields included, s (Slurm's `bf_max_time`, default
    /// `bf_interval_s`).
    #[serde(default)]
    pub bf_max_time_s: Option<f64>,
    /// Work between two yields of a backfill pass, s (Slurm's `bf_yield_interval`, default
    /// 2 s; 0: it never yields).
    #[serde(default = "two")]
    pub bf_yield_interval_s: f64,
    /// How long a backfill pass yields, s (Slurm's `bf_yield_sleep`, default 0.5 s).
    #[serde(default = "half")]
    pub bf_yield_sleep_s: f64,
    /// A pass's fixed cost, microseconds (default 160: the mean main cycle sdiag reported
    /// on a Slurm with an empty queue; see docs/semantics.md).
    #[serde(default = "fixed_cost_us")]
    pub pass_cost_us: u64,
    /// A main pass's cost per job tested, microseconds (default 55: a production cluster's
    /// sdiag, mean cycle 17,276 µs at mean depth 314).
    #[serde(default = "main_cost_per_job_us")]
    pub main_cost_per_job_us: u64,
    /// A backfill pass's cost per job tested, microseconds (default 1,900: the same
    /// sdiag's backfill, mean cycle 7.32 s at mean depth 3,024, less its yields).
    #[serde(default = "bf_cost_per_job_us")]
    pub bf_cost_per_job_us: u64,
    /// A pass's cost per node examined for each job tested, microseconds (default 0: the
    /// samples above do not separate it from the cost per job).
    #[serde(default)]
    pub cost_per_node_us: f64,
    /// The time to serve one submission, microseconds, rounded up to the clock's
    /// millisecond (default 1,000: the order of the request times sdiag reports on a
    /// quiet Slurm; 0: submissions are acknowledged at once, no RPC path).
    #[serde(default = "rpc_service_us")]
    pub rpc_service_us: u64,
    /// Requests served at once (Slurm's `MAX_SERVER_THREADS`, 256).
    #[serde(default = "rpc_threads")]
    pub rpc_threads: u32,
    /// A backfill pass due while this many submissions wait or are being served is
    /// deferred until fewer do (Slurm's `max_rpc_cnt`; default 0: never).
    #[serde(default)]
    pub max_rpc_cnt: u32,
    /// Scheduled outages of the (primary) controller, `[[down_s, up_s], …]`.
    #[serde(default)]
    pub outages: Vec<[f64; 2]>,
    /// Mean time between the controller's failures, s (exponential draws from the run's
    /// `controller` stream; default 0: it fails only as `outages` say).
    #[serde(default)]
    pub mtbf_s: f64,
    /// Mean time to repair a failed controller, s (exponential; default 1,800).
    #[serde(default = "mttr_s")]
    pub mttr_s: f64,
    /// A backup controller (Slurm's `SlurmctldHost` given twice): it takes over
    /// `slurmctld_timeout_s` after the primary fails, then recovers the state.
    #[serde(default)]
    pub backup: bool,
    /// How long the backup waits for the primary before taking over, s (Slurm's
    /// `SlurmctldTimeout`, default 120).
    #[serde(default = "slurmctld_timeout_s")]
    pub slurmctld_timeout_s: u64,
    /// State recovery when a controller (re)starts: a fixed time, s (default 5) ...
    #[serde(default = "recovery_s")]
    pub recovery_s: f64,
    /// ... plus this per job it holds (waiting, running or suspended), microseconds
    /// (default 200).
    #[serde(default = "recovery_per_job_us")]
    pub recovery_per_job_us: u64,
    /// A client whose submission finds the controller down retries after this, s, doubling
    /// at each retry (default 10) ...
    #[serde(default = "submit_retry_s")]
    pub submit_retry_s: f64,
    /// ... at most this many times; then the submission is lost, counted (default 5).
    #[serde(default = "submit_retries")]
    pub submit_retries: u32,
}

fn mttr_s() -> f64 {
    1_800.0
}
fn slurmctld_timeout_s() -> u64 {
    120
}
fn recovery_s() -> f64 {
    5.0
}
fn recovery_per_job_us() -> u64 {
    200
}
fn submit_retry_s() -> f64 {
    10.0
}
fn submit_retries() -> u32 {
    5
}

fn rpc_service_us() -> u64 {
    1_000
}
fn rpc_threads() -> u32 {
    256
}

fn two() -> f64 {
    2.0
}
fn half() -> f64 {
    0.5
}
fn fixed_cost_us() -> u64 {
    160
}
fn main_cost_per_job_us() -> u64 {
    55
}
fn bf_cost_per_job_us() -> u64 {
    1_900
}

fn default_queue_depth() -> u32 {
    100
}
fn sixty() -> u64 {
    60
}
fn one_day() -> u64 {
    86_400
}
fn thirty() -> u64 {
    30
}
fn five_hundred() -> u32 {
    500
}

impl Default for ControllerSpec {
    fn default() -> Self {
        ControllerSpec {
            default_queue_depth: default_queue_depth(),
            sched_interval_s: sixty(),
            sched_min_interval_s: 0.0,
            bf_interval_s: thirty(),
            bf_max_job_test: five_hundred(),
            bf_resolution_s: sixty(),
            bf_window_s: one_day(),
            max_sched_time_s: two(),
            bf_max_time_s: None,
            bf_yield_interval_s: two(),
            bf_yield_sleep_s: half(),
            pass_cost_us: fixed_cost_us(),
            main_cost_per_job_us: main_cost_per_job_us(),
            bf_cost_per_job_us: bf_cost_per_job_us(),
            cost_per_node_us: 0.0,
            rpc_service_us: rpc_service_us(),
            rpc_threads: rpc_threads(),
            max_rpc_cnt: 0,
            outages: Vec::new(),
            mtbf_s: 0.0,
            mttr_s: mttr_s(),
            backup: false,
            slurmctld_timeout_s: slurmctld_timeout_s(),
            recovery_s: recovery_s(),
            recovery_per_job_us: recovery_per_job_us(),
            submit_retry_s: submit_retry_s(),
            submit_retries: submit_retries(),
        }
    }
}

/// Seconds as whole microseconds.
fn us_of(s: f64) -> u64 {
    (s * 1e6).round() as u64
}

impl ControllerSpec {
    /// Checks the values; an error is (key under `controller`, message).
    pub fn check(&self) -> Result<(), (String, String)> {
        let interval = |key: &str, v: u64| {
            if v == 0 || v > MAX_INTERVAL_S {
                Err((
                    key.to_string(),
                    format!("expected 1 to {MAX_INTERVAL_S} s, got {v}"),
                ))
            } else {
                Ok(())
            }
        };
        interval("sched_interval_s", self.sched_interval_s)?;
        interval("bf_interval_s", self.bf_interval_s)?;
        interval("bf_resolution_s", self.bf_resolution_s)?;
        if self.bf_window_s == 0 || self.bf_window_s > 30 * MAX_INTERVAL_S {
            return Err((
                "bf_window_s".into(),
                format!(
                    "expected 1 to {} s, got {}",
                    30 * MAX_INTERVAL_S,
                    self.bf_window_s
                ),
            ));
        }
        if !(self.sched_min_interval_s >= 0.0 && self.sched_min_interval_s <= MAX_INTERVAL_S as f64)
        {
            return Err((
                "sched_min_interval_s".into(),
                format!(
                    "expected 0 to {MAX_INTERVAL_S} s, got {}",
                    self.sched_min_interval_s
                ),
            ));
        }
        let bf_max_time_s = self.bf_max_time_s.unwrap_or(self.bf_interval_s as f64);
        for (key, v, least) in [
            ("max_sched_time_s", self.max_sched_time_s, 0.001),
            ("bf_max_time_s", bf_max_time_s, 0.001),
            ("bf_yield_interval_s", self.bf_yield_interval_s, 0.0),
            ("bf_yield_sleep_s", self.bf_yield_sleep_s, 0.0),
        ] {
            if !(v >= least && v <= MAX_INTERVAL_S as f64) {
                return Err((
                    key.into(),
                    format!("expected {least} to {MAX_INTERVAL_S} s, got {v}"),
                ));
            }
        }
        if !(self.cost_per_node_us >= 0.0 && self.cost_per_node_us <= 1e6) {
            return Err((
                "cost_per_node_us".into(),
                format!(
                    "expected 0 to 1000000 microseconds, got {}",
                    self.cost_per_node_us
                ),
            ));
        }
        for (k, [down, up]) in self.outages.iter().enumerate() {
            if !(*down >= 0.0
                && up > down
                && *up <= (crate::engine::time::CLOCK_LIMIT.as_ms() / 1000) as f64)
            {
                return Err((
                    format!("outages[{k}]"),
                    format!("expected [down_s, up_s] with 0 <= down_s < up_s, got [{down}, {up}]"),
                ));
            }
        }
        for (key, v) in [
            ("mtbf_s", self.mtbf_s),
            ("mttr_s", self.mttr_s),
            ("recovery_s", self.recovery_s),
            ("submit_retry_s", self.submit_retry_s),
        ] {
            if !(0.0..=1e9).contains(&v) {
                return Err((key.into(), format!("expected 0 to 1e9 s, got {v}")));
            }
        }
        if self.mtbf_s > 0.0 && self.mttr_s <= 0.0 {
            return Err(("mttr_s".into(), "expected more than 0 s with mtbf_s".into()));
        }
        if self.submit_retry_s <= 0.0 {
            return Err(("submit_retry_s".into(), "expected more than 0 s".into()));
        }
        if self.submit_retries > 30 {
            return Err((
                "submit_retries".into(),
                format!("expected at most 30, got {}", self.submit_retries),
            ));
        }
        if self.rpc_threads == 0 {
            return Err(("rpc_threads".into(), "expected at least 1 thread".into()));
        }
        for (key, v) in [
            ("rpc_service_us", self.rpc_service_us),
            ("pass_cost_us", self.pass_cost_us),
            ("main_cost_per_job_us", self.main_cost_per_job_us),
            ("bf_cost_per_job_us", self.bf_cost_per_job_us),
        ] {
            if v > MAX_INTERVAL_S * 1_000_000 {
                return Err((key.into(), format!("expected at most a day, got {v} µs")));
            }
        }
        for (key, limit_s) in [
            ("max_sched_time_s", self.max_sched_time_s),
            ("bf_max_time_s", bf_max_time_s),
        ] {
            if self.pass_cost_us > us_of(limit_s) {
                return Err((
                    key.into(),
                    format!(
                        "a pass's fixed cost ({} µs, pass_cost_us) leaves it no time to \
                         test a job",
                        self.pass_cost_us
                    ),
                ));
            }
        }
        for (key, v) in [
            ("default_queue_depth", self.default_queue_depth),
            ("bf_max_job_test", self.bf_max_job_test),
        ] {
            if v == 0 {
                return Err((key.into(), "expected at least 1 job".into()));
            }
        }
        Ok(())
    }

    /// The run's settings.
    pub fn settings(&self) -> Controller {
        Controller {
            default_queue_depth: self.default_queue_depth,
            sched_interval: SimDuration::from_secs(self.sched_interval_s),
            sched_min_interval: SimDuration::from_ms(
                (self.sched_min_interval_s * 1000.0).round() as u64
            ),
            bf_interval: SimDuration::from_secs(self.bf_interval_s),
            bf_max_job_test: self.bf_max_job_test,
            bf_resolution: SimDuration::from_secs(self.bf_resolution_s),
            bf_window: SimDuration::from_secs(self.bf_window_s),
            main_costs: PassCosts {
                fixed_us: self.pass_cost_us,
                per_job_us: self.main_cost_per_job_us,
                per_node_us: self.cost_per_node_us,
                max_time_us: us_of(self.max_sched_time_s),
                yield_interval_us: 0,
                yield_sleep_us: 0,
            },
            failover: Failover {
                backup: self.backup,
                timeout: SimDuration::from_secs(self.slurmctld_timeout_s),
                recovery: ms_ceil(us_of(self.recovery_s)),
                recovery_per_job_us: self.recovery_per_job_us,
                retry: ms_ceil(us_of(self.submit_retry_s)).max(SimDuration::from_ms(1)),
                retries: self.submit_retries,
            },
            rpc: (self.rpc_service_us > 0).then(|| Rpc {
                service: ms_ceil(self.rpc_service_us),
                threads: self.rpc_threads,
                max_rpc_cnt: self.max_rpc_cnt,
            }),
            backfill_costs: PassCosts {
                fixed_us: self.pass_cost_us,
                per_job_us: self.bf_cost_per_job_us,
                per_node_us: self.cost_per_node_us,
                max_time_us: us_of(self.bf_max_time_s.unwrap_or(self.bf_interval_s as f64)),
                yield_interval_us: us_of(self.bf_yield_interval_s),
                yield_sleep_us: us_of(self.bf_yield_sleep_s),
            },
        }
    }
}

/// What a loop's passes cost and how long they may run, microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PassCosts {
    /// Once per pass.
    pub fixed_us: u64,
    /// Per job tested.
    pub per_job_us: u64,
    /// Per node examined, for each job tested.
    pub per_node_us: f64,
    /// The longest a pass runs (yields included).
    pub max_time_us: u64,
    /// Work between two yields (0: never yields).
    pub yield_interval_us: u64,
    /// A yield's length.
    pub yield_sleep_us: u64,
}

impl PassCosts {
    /// Whether a pass costs nothing (it then runs at an instant, as without costs).
    pub fn free(&self) -> bool {
        self.fixed_us == 0 && self.per_job_us == 0 && self.per_node_us == 0.0
    }

    /// A test's cost when each examines `nodes` nodes, microseconds.
    fn per_test_us(&self, nodes: u64) -> u64 {
        self.per_job_us + (self.per_node_us * nodes as f64).round() as u64
    }

    /// The time from a pass's start to the end of its `tests`-th test (its yields
    /// included), microseconds; for 0, its fixed cost.
    pub fn after_tests_us(&self, tests: u64, nodes: u64) -> u64 {
        let work = self
            .fixed_us
            .saturating_add(tests.saturating_mul(self.per_test_us(nodes)));
        if self.yield_interval_us == 0 {
            return work;
        }
        // A yield after every whole interval of work that more work follows.
        let yields = work.saturating_sub(1) / self.yield_interval_us;
        work.saturating_add(yields.saturating_mul(self.yield_sleep_us))
    }

    /// The yields of a pass that tested `tests` jobs: (start, end) from the pass's start,
    /// microseconds.
    pub fn yields_us(&self, tests: u64, nodes: u64) -> impl Iterator<Item = (u64, u64)> {
        let work = self
            .fixed_us
            .saturating_add(tests.saturating_mul(self.per_test_us(nodes)));
        let (interval, sleep) = (self.yield_interval_us, self.yield_sleep_us);
        let yields = if interval == 0 || sleep == 0 {
            0
        } else {
            work.saturating_sub(1) / interval
        };
        (1..=yields).map(move |k| {
            let start = k * interval + (k - 1) * sleep;
            (start, start + sleep)
        })
    }

    /// The most jobs a pass may test within its time limit.
    pub fn test_budget(&self, nodes: u64) -> u32 {
        if self.after_tests_us(0, nodes) > self.max_time_us {
            return 0;
        }
        if self.per_test_us(nodes) == 0 {
            return u32::MAX;
        }
        // The largest k whose tests end within the limit (the time is monotone in k).
        let (mut lo, mut hi) = (0u64, u64::from(u32::MAX));
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if self.after_tests_us(mid, nodes) <= self.max_time_us {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo as u32
    }
}

/// Microseconds as the clock's milliseconds, rounded up (an event happens at the first
/// millisecond at or after it).
pub fn ms_ceil(us: u64) -> SimDuration {
    SimDuration::from_ms(us.div_ceil(1000))
}

/// The controller of a run, as the engine follows it (`summary.json` reports its spec).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Controller {
    /// Jobs a main pass tests when something changed.
    pub default_queue_depth: u32,
    /// Time between main passes over the whole queue.
    pub sched_interval: SimDuration,
    /// The least time between two main passes.
    pub sched_min_interval: SimDuration,
    /// Time between backfill passes.
    pub bf_interval: SimDuration,
    /// Jobs a backfill pass tests.
    pub bf_max_job_test: u32,
    /// The backfill plan's resolution.
    pub bf_resolution: SimDuration,
    /// How far ahead the backfill plan looks.
    pub bf_window: SimDuration,
    /// What a main pass costs.
    pub main_costs: PassCosts,
    /// What a backfill pass costs.
    pub backfill_costs: PassCosts,
    /// The submission path (`None`: submissions are acknowledged at once).
    pub rpc: Option<Rpc>,
    /// What an outage costs and how clients retry.
    pub failover: Failover,
}

/// How the controller comes back from an outage, and how clients retry meanwhile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failover {
    /// A backup controller.
    pub backup: bool,
    /// How long the backup waits before taking over (`SlurmctldTimeout`).
    pub timeout: SimDuration,
    /// State recovery's fixed time.
    pub recovery: SimDuration,
    /// State recovery per job held, microseconds.
    pub recovery_per_job_us: u64,
    /// The first retry's wait (doubling).
    pub retry: SimDuration,
    /// Retries before a submission is lost.
    pub retries: u32,
}

impl Failover {
    /// When the controller serves again after the primary fails at `down` and is back at
    /// `up`, holding `jobs` jobs: with a backup, `SlurmctldTimeout` after the failure (or
    /// at the primary's return, if sooner); without, at the primary's return; then the
    /// state's recovery.
    pub fn serving_again(
        &self,
        down: crate::engine::time::SimTime,
        up: crate::engine::time::SimTime,
        jobs: u64,
    ) -> crate::engine::time::SimTime {
        let back = if self.backup {
            up.min(down + self.timeout)
        } else {
            up
        };
        back + self.recovery + ms_ceil(jobs.saturating_mul(self.recovery_per_job_us))
    }

    /// The wait before retry `k` (1 for the first): `retry` × 2^(k−1).
    pub fn retry_wait(&self, k: u32) -> SimDuration {
        SimDuration::from_ms(
            self.retry
                .as_ms()
                .saturating_mul(1u64 << k.saturating_sub(1).min(40)),
        )
    }
}

/// The primary controller's outages, in order, merged where they overlap: the scheduled
/// windows and, with `mtbf_s`, failures drawn from the run's `controller` stream (up to
/// `horizon`), as (down, up).
pub fn outage_windows(
    spec: &ControllerSpec,
    seed: u64,
    horizon: crate::engine::time::SimTime,
) -> Vec<(crate::engine::time::SimTime, crate::engine::time::SimTime)> {
    use crate::engine::time::SimTime;
    use rand::Rng;
    let at = |s: f64| SimTime::from_ms(us_of(s).div_ceil(1000));
    let mut windows: Vec<(SimTime, SimTime)> = spec
        .outages
        .iter()
        .map(|[down, up]| (at(*down), at(*up)))
        .collect();
    if spec.mtbf_s > 0.0 {
        let mut rng = crate::engine::rng::RandomStreams::new(seed).stream("controller");
        let mut exp = |mean_s: f64| -> u64 {
            let u: f64 = rng.gen::<f64>();
            ((-(1.0 - u).ln() * mean_s) * 1000.0).round().max(1.0) as u64
        };
        let mut t_ms = 0u64;
        loop {
            let down = t_ms.saturating_add(exp(spec.mtbf_s));
            if down >= horizon.as_ms() {
                break;
            }
            let up = down.saturating_add(exp(spec.mttr_s));
            windows.push((SimTime::from_ms(down), SimTime::from_ms(up)));
            t_ms = up;
        }
    }
    windows.sort_unstable();
    let mut merged: Vec<(SimTime, SimTime)> = Vec::with_capacity(windows.len());
    for (down, up) in windows {
        match merged.last_mut() {
            Some(last) if down <= last.1 => last.1 = last.1.max(up),
            _ => merged.push((down, up)),
        }
    }
    merged
}

/// One outage as the engine followed it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutageLog {
    /// When the primary failed.
    pub down: crate::engine::time::SimTime,
    /// When the controller served again.
    pub serving: crate::engine::time::SimTime,
    /// Submissions that found it down.
    pub submissions_delayed: u64,
    /// Of them, lost after their last retry.
    pub submissions_lost: u64,
}

/// What one outage of the controller cost.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct OutageReport {
    /// When the primary failed, s.
    pub down_s: f64,
    /// When the controller served again (the primary back, or the backup after
    /// `SlurmctldTimeout`, plus the state's recovery), s.
    pub serving_s: f64,
    /// Its length, s.
    pub length_s: f64,
    /// Submissions that found it down (they retried).
    pub submissions_delayed: u64,
    /// Of them, lost after their last retry.
    pub submissions_lost: u64,
    /// Jobs waiting during it (submitted before it ended, started after it began, or never).
    pub jobs_delayed: u64,
    /// Their time waiting within it, s (the delay it added at most).
    pub delay_added_s: f64,
    /// Processor-hours left idle within it.
    pub idle_core_hours: f64,
}

/// The controller's RPC service for submissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rpc {
    /// The time to serve one request.
    pub service: SimDuration,
    /// Requests served at once.
    pub threads: u32,
    /// Backfill defers while this many requests wait or are served (0: never).
    pub max_rpc_cnt: u32,
}

/// The submissions waiting for the controller's RPC service and those it serves: a
/// first-come, first-served queue with `threads` servers that start a request only while
/// no pass holds the controller.
#[derive(Clone, Debug, Default)]
pub struct RpcQueue {
    /// Waiting, in order of submission.
    pub waiting: std::collections::VecDeque<crate::workload::JobIdx>,
    /// Being served.
    pub in_service: u32,
    /// The most that waited at once.
    pub longest_backlog: u64,
}

impl RpcQueue {
    /// A submission arrives.
    pub fn submit(&mut self, job: crate::workload::JobIdx) {
        self.waiting.push_back(job);
        self.longest_backlog = self.longest_backlog.max(self.waiting.len() as u64);
    }

    /// Requests waiting or served.
    pub fn load(&self) -> u64 {
        self.waiting.len() as u64 + u64::from(self.in_service)
    }
}

/// Which loop a pass belongs to, and how many jobs it may test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassKind {
    /// The main loop: start from the head, each partition until one of its jobs does not
    /// fit, at most this many jobs tested.
    Main {
        /// The most jobs tested.
        depth: u32,
    },
    /// The backfill loop: the policy's own pass, at most this many jobs tested.
    Backfill {
        /// The most jobs tested.
        max_job_test: u32,
        /// The plan's resolution: the head's reservation is rounded up to a multiple of it
        /// from the pass's start.
        resolution: SimDuration,
        /// How far ahead the plan looks: a head that cannot start within it gets no
        /// reservation.
        window: SimDuration,
    },
}

/// What one controller pass did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cycle {
    /// When it ran.
    pub at: crate::engine::time::SimTime,
    /// Main or backfill.
    pub backfill: bool,
    /// Whether it could test the whole queue (a main pass every `sched_interval`).
    pub full: bool,
    /// Jobs it tested.
    pub tested: u32,
    /// Whether it stopped at its limit with jobs left untested.
    pub hit_limit: bool,
    /// Whether that limit was its time (`max_sched_time`, `bf_max_time`), not its depth.
    pub hit_time: bool,
    /// Jobs it started (launched as it went; those dropped before their launch included).
    pub started: u32,
    /// How long it held the controller, microseconds (yields included).
    pub length_us: u64,
}

/// The controller's own report, in the style of Slurm's `sdiag` (`summary.json`
/// `metrics.controller`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ControllerMetrics {
    /// Main passes.
    pub main_cycles: u64,
    /// Of them, over the whole queue (every `sched_interval`).
    pub main_full_cycles: u64,
    /// Mean and most jobs a main pass tested.
    pub main_depth_mean: f64,
    /// The most.
    pub main_depth_max: u64,
    /// Main passes that stopped at `default_queue_depth` with jobs left.
    pub main_cycles_at_depth: u64,
    /// Main passes that stopped at `max_sched_time` with jobs left.
    pub main_cycles_at_time: u64,
    /// Mean and longest main pass, microseconds (sdiag's *Mean cycle*, *Max cycle*).
    pub main_cycle_mean_us: f64,
    /// The longest.
    pub main_cycle_max_us: u64,
    /// Jobs the main loop started.
    pub main_started: u64,
    /// Backfill passes.
    pub backfill_cycles: u64,
    /// Mean and most jobs a backfill pass tested.
    pub backfill_depth_mean: f64,
    /// The most.
    pub backfill_depth_max: u64,
    /// Backfill passes that stopped at `bf_max_job_test` with jobs left.
    pub backfill_cycles_at_limit: u64,
    /// Backfill passes that stopped at `bf_max_time` with jobs left.
    pub backfill_cycles_at_time: u64,
    /// Mean and longest backfill pass, yields included, microseconds.
    pub backfill_cycle_mean_us: f64,
    /// The longest.
    pub backfill_cycle_max_us: u64,
    /// Jobs the backfill loop started.
    pub backfill_started: u64,
    /// Starts a pass decided that were no longer valid at their launch (the job's user
    /// gave up, one of its nodes failed): dropped, never applied.
    pub launches_dropped: u64,
    /// Backfill passes deferred because `max_rpc_cnt` submissions waited or were served.
    pub backfill_deferred: u64,
    /// Submissions' acknowledgement latency (from submission to acknowledgement), s:
    /// median, 99th percentile (nearest rank), longest. Zeros without an RPC path.
    pub ack_latency_p50_s: f64,
    /// The 99th percentile.
    pub ack_latency_p99_s: f64,
    /// The longest.
    pub ack_latency_max_s: f64,
    /// The most submissions that waited for the RPC service at once.
    pub longest_backlog: u64,
    /// Each started job's wait split in three, means over the jobs that started, s: before
    /// its acknowledgement,
    pub wait_before_ack_mean_s: f64,
    /// then before a pass first tested it (from its acknowledgement; over every job
    /// considered),
    pub wait_before_consideration_mean_s: f64,
    /// the longest of those,
    pub wait_before_consideration_max_s: f64,
    /// and from its first consideration to its start.
    pub wait_after_consideration_mean_s: f64,
    /// The controller's outages (none unless `outages` or `mtbf_s` say).
    pub outages: u64,
    /// Their total length, s.
    pub outage_s: f64,
    /// Submissions lost after their retries, over all outages.
    pub submissions_lost: u64,
    /// Each outage and what it cost.
    pub outage_reports: Vec<OutageReport>,
}

/// What a run recorded of its controller, per job in job order.
pub struct ControllerRecord<'a> {
    /// Every pass.
    pub cycles: &'a [Cycle],
    /// Starts dropped before their launch.
    pub launches_dropped: u64,
    /// Backfill passes deferred for `max_rpc_cnt`.
    pub backfill_deferred: u64,
    /// The most submissions waiting at once.
    pub longest_backlog: u64,
    /// Submission times.
    pub submits: &'a [crate::engine::time::SimTime],
    /// Acknowledgements (empty: each at its submission).
    pub acknowledged: &'a [Option<crate::engine::time::SimTime>],
    /// First considerations.
    pub first_considered: &'a [Option<crate::engine::time::SimTime>],
    /// First starts (`None`: never started).
    pub starts: &'a [Option<crate::engine::time::SimTime>],
    /// Each outage.
    pub outages: &'a [OutageLog],
    /// Per outage, the processor-milliseconds busy within it.
    pub busy_core_ms: &'a [u128],
    /// The processors of the machine.
    pub capacity_cores: u64,
}

/// The report of a run's cycles and its jobs' first considerations.
pub fn metrics(record: &ControllerRecord) -> ControllerMetrics {
    let ControllerRecord {
        cycles,
        submits,
        first_considered,
        ..
    } = *record;
    let mut m = ControllerMetrics {
        launches_dropped: record.launches_dropped,
        backfill_deferred: record.backfill_deferred,
        longest_backlog: record.longest_backlog,
        ..ControllerMetrics::default()
    };
    let (mut main_tested, mut backfill_tested) = (0u64, 0u64);
    let (mut main_us, mut backfill_us) = (0u64, 0u64);
    for c in cycles {
        let tested = u64::from(c.tested);
        let timed_out = u64::from(c.hit_limit && c.hit_time);
        if c.backfill {
            m.backfill_cycles += 1;
            backfill_tested += tested;
            backfill_us += c.length_us;
            m.backfill_cycle_max_us = m.backfill_cycle_max_us.max(c.length_us);
            m.backfill_cycles_at_time += timed_out;
            m.backfill_depth_max = m.backfill_depth_max.max(tested);
            m.backfill_cycles_at_limit += u64::from(c.hit_limit) - timed_out;
            m.backfill_started += u64::from(c.started);
        } else {
            m.main_cycles += 1;
            m.main_full_cycles += u64::from(c.full);
            main_tested += tested;
            main_us += c.length_us;
            m.main_cycle_max_us = m.main_cycle_max_us.max(c.length_us);
            m.main_cycles_at_time += timed_out;
            m.main_depth_max = m.main_depth_max.max(tested);
            m.main_cycles_at_depth += u64::from(c.hit_limit) - timed_out;
            m.main_started += u64::from(c.started);
        }
    }
    let mean = |sum: u64, n: u64| if n == 0 { 0.0 } else { sum as f64 / n as f64 };
    m.main_depth_mean = mean(main_tested, m.main_cycles);
    m.backfill_depth_mean = mean(backfill_tested, m.backfill_cycles);
    m.main_cycle_mean_us = mean(main_us, m.main_cycles);
    m.backfill_cycle_mean_us = mean(backfill_us, m.backfill_cycles);
    let acknowledged = |i: usize| {
        record
            .acknowledged
            .get(i)
            .copied()
            .flatten()
            .unwrap_or(submits[i])
    };
    let (mut sum_ms, mut max_ms, mut n) = (0u128, 0u64, 0u64);
    for (i, first) in first_considered.iter().enumerate() {
        if let Some(at) = first {
            let ms = at.saturating_since(acknowledged(i)).as_ms();
            sum_ms += u128::from(ms);
            max_ms = max_ms.max(ms);
            n += 1;
        }
    }
    if n > 0 {
        m.wait_before_consideration_mean_s = sum_ms as f64 / n as f64 / 1000.0;
        m.wait_before_consideration_max_s = max_ms as f64 / 1000.0;
    }
    let mut latencies_ms: Vec<u64> = record
        .acknowledged
        .iter()
        .enumerate()
        .filter_map(|(i, ack)| ack.map(|at| at.saturating_since(submits[i]).as_ms()))
        .collect();
    latencies_ms.sort_unstable();
    let rank = |q: f64| {
        let k = ((q * latencies_ms.len() as f64).ceil() as usize).clamp(1, latencies_ms.len());
        latencies_ms[k - 1] as f64 / 1000.0
    };
    if !latencies_ms.is_empty() {
        m.ack_latency_p50_s = rank(0.5);
        m.ack_latency_p99_s = rank(0.99);
        m.ack_latency_max_s = rank(1.0);
    }
    let (mut before_ack_ms, mut after_ms, mut started) = (0u128, 0u128, 0u64);
    for (i, start) in record.starts.iter().enumerate() {
        let (Some(start), Some(first)) = (start, first_considered.get(i).copied().flatten()) else {
            continue;
        };
        before_ack_ms += u128::from(acknowledged(i).saturating_since(submits[i]).as_ms());
        after_ms += u128::from(start.saturating_since(first).as_ms());
        started += 1;
    }
    if started > 0 {
        m.wait_before_ack_mean_s = before_ack_ms as f64 / started as f64 / 1000.0;
        m.wait_after_consideration_mean_s = after_ms as f64 / started as f64 / 1000.0;
    }
    for (k, o) in record.outages.iter().enumerate() {
        let length_ms = o.serving.saturating_since(o.down).as_ms();
        let (mut jobs_delayed, mut delay_ms) = (0u64, 0u64);
        for (i, submit) in submits.iter().enumerate() {
            let start = record.starts[i].unwrap_or(crate::engine::time::SimTime::MAX);
            if *submit < o.serving && start > o.down {
                jobs_delayed += 1;
                delay_ms += start
                    .min(o.serving)
                    .saturating_since((*submit).max(o.down))
                    .as_ms();
            }
        }
        let capacity_ms = u128::from(record.capacity_cores) * u128::from(length_ms);
        let busy = record.busy_core_ms.get(k).copied().unwrap_or(0);
        m.outage_reports.push(OutageReport {
            down_s: o.down.as_ms() as f64 / 1000.0,
            serving_s: o.serving.as_ms() as f64 / 1000.0,
            length_s: length_ms as f64 / 1000.0,
            submissions_delayed: o.submissions_delayed,
            submissions_lost: o.submissions_lost,
            jobs_delayed,
            delay_added_s: delay_ms as f64 / 1000.0,
            idle_core_hours: capacity_ms.saturating_sub(busy) as f64 / 3_600_000.0,
        });
        m.outages += 1;
        m.outage_s += length_ms as f64 / 1000.0;
        m.submissions_lost += o.submissions_lost;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_slurms() {
        let spec: ControllerSpec = toml::from_str("").unwrap();
        assert_eq!(spec, ControllerSpec::default());
        let c = spec.settings();
        assert_eq!(c.default_queue_depth, 100);
        assert_eq!(c.sched_interval, SimDuration::from_secs(60));
        assert_eq!(c.sched_min_interval, SimDuration::ZERO);
        assert_eq!(c.bf_interval, SimDuration::from_secs(30));
        assert_eq!(c.bf_max_job_test, 500);
        assert_eq!(c.main_costs.max_time_us, 2_000_000);
        assert_eq!(c.backfill_costs.max_time_us, 30_000_000);
        assert_eq!(c.backfill_costs.yield_interval_us, 2_000_000);
        assert_eq!(c.backfill_costs.yield_sleep_us, 500_000);
        assert!(spec.check().is_ok());
        let bad = ControllerSpec {
            bf_max_job_test: 0,
            ..spec
        };
        assert_eq!(bad.check().unwrap_err().0, "bf_max_job_test");
    }

    #[test]
    fn pass_costs_by_hand() {
        let costs = PassCosts {
            fixed_us: 500,
            per_job_us: 1_000,
            per_node_us: 0.5,
            max_time_us: 10_000,
            yield_interval_us: 0,
            yield_sleep_us: 0,
        };
        // 4 nodes: a test costs 1,000 + 2 µs.
        assert_eq!(costs.after_tests_us(0, 4), 500);
        assert_eq!(costs.after_tests_us(3, 4), 500 + 3 * 1_002);
        // 500 + 9 × 1,002 = 9,518 ≤ 10,000 < 10,520.
        assert_eq!(costs.test_budget(4), 9);
        assert_eq!(ms_ceil(3_506), SimDuration::from_ms(4));
        assert_eq!(ms_ceil(3_000), SimDuration::from_ms(3));
        // Yields: 0.5 ms after every whole 2 ms of work that more work follows.
        let yielding = PassCosts {
            fixed_us: 0,
            yield_interval_us: 2_000,
            yield_sleep_us: 500,
            per_node_us: 0.0,
            ..costs
        };
        assert_eq!(yielding.after_tests_us(2, 0), 2_000);
        assert_eq!(yielding.after_tests_us(3, 0), 3_500);
        assert_eq!(yielding.after_tests_us(5, 0), 6_000);
        // 4 tests end at 4,500; 5 at 6,000; ... 8 at 9,500 + 0 (8,000 work, 3 yields).
        assert_eq!(yielding.after_tests_us(8, 0), 9_500);
        assert_eq!(yielding.test_budget(0), 8);
        let free = PassCosts {
            fixed_us: 0,
            per_job_us: 0,
            per_node_us: 0.0,
            ..costs
        };
        assert!(free.free());
        assert_eq!(free.test_budget(1_000), u32::MAX);
    }
}
