//! A small deterministic workload generator: the built-in demo's workload and the benches'
//! million-job traces. (The full family of generators is the workloads roadmap.)
//!
//! Shape, chosen to resemble the classic parallel traces (SDSC-SP2, CTC-SP2):
//! - sizes, after Lublin & Feitelson's model of parallel workloads (2003): a quarter of the
//!   batch jobs are serial; the others have log2(size) drawn from a two-stage uniform
//!   distribution (with probability 0.86 between 0.8 and log2(machine) − 2.5, else up to
//!   log2(machine)), rounded to a power of two with probability 3/4; 10 % of jobs are
//!   interactive sessions of 1–4 processors with an SWF queue number of 0;
//! - runtimes: lognormal (median 10 min, σ = 1.6) for batch, (median 5 min, σ = 1) for
//!   interactive, capped at 36 h, whole seconds, at least 1 s;
//! - estimates: the runtime times a lognormal overestimation factor (median 2.5, σ = 0.8,
//!   at least 1), rounded up to the next of the walltimes users pick (5, 15, 30 min, 1, 2,
//!   4, 8, 12, 24, 36, 48 h);
//! - arrivals: a Poisson process whose rate is set so the offered load
//!   (Σ size × runtime / (machine × span)) equals `load`.
//!
//! Each quantity draws from its own named stream of the run's seed (see
//! [`RandomStreams`](crate::engine::rng::RandomStreams)).

use super::{Job, JobKind, Workload, WorkloadMeta};
use crate::engine::rng::RandomStreams;
use crate::engine::time::{SimDuration, SimTime};
use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal};

/// Parameters of the generated workload.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticSpec {
    /// Number of jobs.
    pub jobs: usize,
    /// Machine size in processors.
    pub procs: u32,
    /// Offered load (1.0 = the machine is exactly busy if perfectly packed).
    pub load: f64,
    /// The run's seed.
    pub seed: u64,
}

impl SyntheticSpec {
    /// The built-in demo: 3,000 jobs on a 128-processor machine at load 0.85.
    pub fn demo(seed: u64) -> Self {
        SyntheticSpec {
            jobs: 3_000,
            procs: 128,
            load: 0.85,
            seed,
        }
    }
}

/// The lowest offered load a generator takes: lower loads spread arrivals over ages (and
/// would be clamped here rather than honoured).
pub const MIN_LOAD: f64 = 1e-6;

/// The most jobs a generator makes in one workload: a hundred times the longest traces
/// this simulator is built for, and a guard against a mistyped count asking for more memory
/// than the run could get.
pub const MAX_GENERATED_JOBS: usize = 100_000_000;

const WALLTIME_CHOICES_S: [u64; 11] = [
    300, 900, 1_800, 3_600, 7_200, 14_400, 28_800, 43_200, 86_400, 129_600, 172_800,
];
const MAX_RUNTIME_S: f64 = 129_600.0;

/// Generates the workload described by `spec`.
pub fn generate(spec: &SyntheticSpec) -> Workload {
    let streams = RandomStreams::new(spec.seed);
    let mut kinds = streams.stream("kinds");
    let mut sizes = streams.stream("sizes");
    let mut runtimes = streams.stream("runtimes");
    let mut estimates = streams.stream("estimates");
    let mut users = streams.stream("users");
    let mut arrivals = streams.stream("arrivals");

    let procs = spec.procs.max(1);
    let batch_runtime = LogNormal::new((600.0f64).ln(), 1.6).expect("valid lognormal");
    let session_runtime = LogNormal::new((300.0f64).ln(), 1.0).expect("valid lognormal");
    let overestimate = LogNormal::new((2.5f64).ln(), 0.8).expect("valid lognormal");

    let mut jobs = Vec::with_capacity(spec.jobs);
    let mut area = 0f64;
    for i in 0..spec.jobs {
        let interactive = kinds.gen_bool(0.1);
        let size = if interactive {
            sizes.gen_range(1..=4.min(procs))
        } else {
            lublin_size(&mut sizes, procs)
        }
        .min(procs);
        let dist = if interactive {
            &session_runtime
        } else {
            &batch_runtime
        };
        let run_s = dist.sample(&mut runtimes).clamp(1.0, MAX_RUNTIME_S).round() as u64;
        let wanted_s = (run_s as f64 * overestimate.sample(&mut estimates).max(1.0)).ceil() as u64;
        let estimate_s = WALLTIME_CHOICES_S
            .iter()
            .copied()
            .find(|&w| w >= wanted_s)
            .unwrap_or(run_s);
        area += size as f64 * run_s as f64;
        jobs.push(Job {
            trace_id: i as u64 + 1,
            submit: SimTime::ZERO,
            work: SimDuration::from_secs(run_s),
            estimate: SimDuration::from_secs(estimate_s),
            procs: size,
            kind: if interactive {
                JobKind::Interactive
            } else {
                JobKind::Batch
            },
            user: users.gen_range(1..=64),
            group: 1,
            queue: if interactive { 0 } else { 1 },
            partition: 1,
        });
    }
    // Mean inter-arrival time that makes the offered load equal `load`.
    let span_s = area / (f64::from(procs) * spec.load.max(MIN_LOAD));
    let mean_gap_s = span_s / spec.jobs.max(1) as f64;
    let gaps = Exp::new(1.0 / mean_gap_s.max(1e-9)).expect("positive rate");
    let mut t_s = 0f64;
    for job in &mut jobs {
        job.submit = SimTime::from_secs(t_s.round() as u64);
        t_s += gaps.sample(&mut arrivals);
    }
    Workload {
        input_jobs: jobs.len() as u64,
        nodes: None,
        jobs,
        dropped: Vec::new(),
        machine_procs: procs,
        meta: WorkloadMeta {
            source: format!(
                "synthetic(jobs={}, procs={}, load={}, seed={})",
                spec.jobs, procs, spec.load, spec.seed
            ),
            format: "synthetic".to_string(),
            max_procs: Some(u64::from(procs)),
            unix_start_time: Some(0),
            ..WorkloadMeta::default()
        },
    }
}

/// A batch job's size after Lublin & Feitelson (2003), simplified as described above.
fn lublin_size(rng: &mut impl Rng, procs: u32) -> u32 {
    if procs == 1 || rng.gen_bool(0.24) {
        return 1;
    }
    let top = f64::from(procs).log2();
    let low = 0.8f64.min(top);
    let medium = (top - 2.5).max(low);
    let log2 = if rng.gen_bool(0.86) || medium >= top {
        rng.gen_range(low..=medium)
    } else {
        rng.gen_range(medium..=top)
    };
    let size = if rng.gen_bool(0.75) {
        2f64.powf(log2.round())
    } else {
        2f64.powf(log2).round()
    };
    (size as u32).clamp(1, procs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_hits_the_load() {
        let spec = SyntheticSpec {
            jobs: 20_000,
            procs: 256,
            load: 0.9,
            seed: 3,
        };
        let a = generate(&spec);
        let b = generate(&spec);
        assert_eq!(a.jobs, b.jobs);
        let area: f64 = a
            .jobs
            .iter()
            .map(|j| j.procs as f64 * j.work.as_secs_f64())
            .sum();
        let span = a.jobs.last().unwrap().submit.as_secs_f64();
        let load = area / (256.0 * span);
        assert!((load - 0.9).abs() < 0.05, "offered load {load}");
        assert!(a
            .jobs
            .iter()
            .all(|j| j.estimate >= j.work && j.procs >= 1 && j.procs <= 256));
        assert!(a.jobs.windows(2).all(|w| w[0].submit <= w[1].submit));
    }
}
