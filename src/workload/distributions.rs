//! The distributions a job class draws from: runtimes (exponential, lognormal, gamma, Weibull
//! or a histogram; node failures and repairs draw from the same), sizes (a list with
//! weights, or the log-uniform model with a serial share and a preference for powers of two
//! seen in real traces), and users' walltime estimates (the runtime times an overestimation
//! factor, rounded up to the values users type).
//!
//! Every sampler takes the random stream it is given: the generator owns the named streams
//! (`sizes`, `runtimes`, `estimates`), so adding a distribution never shifts another's
//! numbers.

use rand::Rng;
use rand_distr::{Distribution, Exp, Gamma, LogNormal, Weibull};
use serde::Deserialize;

/// A runtime distribution (`runtime = { dist = "...", ... }` in a class).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum RuntimeDist {
    /// Exponential with the given mean (memoryless: times between failures at a constant
    /// rate).
    Exponential {
        /// Mean, s.
        mean_s: f64,
    },
    /// exp(N(ln median, σ²)).
    Lognormal {
        /// Median, s.
        median_s: f64,
        /// σ of the logarithm.
        sigma: f64,
    },
    /// Gamma with the given shape k and mean (scale = mean / k).
    Gamma {
        /// Shape k (> 0); below 1 the distribution is skewed toward short jobs.
        shape: f64,
        /// Mean, s.
        mean_s: f64,
    },
    /// Weibull with shape k and scale λ: median λ (ln 2)^(1/k).
    Weibull {
        /// Shape k (> 0).
        shape: f64,
        /// Scale λ, s.
        scale_s: f64,
    },
    /// A histogram: bin i spans `edges_s[i]..edges_s[i+1]` with weight `weights[i]`; within
    /// a bin, runtimes are log-uniform (uniform in a bin starting at 0).
    Histogram {
        /// Bin edges, s, increasing (n + 1 of them).
        edges_s: Vec<f64>,
        /// Bin weights (n of them, not all zero).
        weights: Vec<f64>,
    },
}

impl RuntimeDist {
    /// Checks the parameters; an error is (field, message).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let positive = |v: f64, name: &'static str| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err((name, format!("expected a positive number, got {v}")))
            }
        };
        match self {
            RuntimeDist::Exponential { mean_s } => positive(*mean_s, "mean_s"),
            RuntimeDist::Lognormal { median_s, sigma } => {
                positive(*median_s, "median_s")?;
                if !(*sigma >= 0.0 && sigma.is_finite()) {
                    return Err(("sigma", format!("expected 0 or more, got {sigma}")));
                }
                Ok(())
            }
            RuntimeDist::Gamma { shape, mean_s } => {
                positive(*shape, "shape")?;
                positive(*mean_s, "mean_s")
            }
            RuntimeDist::Weibull { shape, scale_s } => {
                positive(*shape, "shape")?;
                positive(*scale_s, "scale_s")
            }
            RuntimeDist::Histogram { edges_s, weights } => {
                if edges_s.len() < 2 || weights.len() + 1 != edges_s.len() {
                    return Err((
                        "weights",
                        format!(
                            "expected one weight per bin: {} edges make {} bins, got {} weights",
                            edges_s.len(),
                            edges_s.len().saturating_sub(1),
                            weights.len()
                        ),
                    ));
                }
                if edges_s[0] < 0.0
                    || edges_s
                        .windows(2)
                        .any(|w| !(w[1] > w[0] && w[1].is_finite()))
                {
                    return Err(("edges_s", "expected increasing edges from 0 or more".into()));
                }
                if weights.iter().any(|w| !(*w >= 0.0 && w.is_finite()))
                    || weights.iter().sum::<f64>() <= 0.0
                {
                    return Err((
                        "weights",
                        "expected non-negative weights, not all zero".into(),
                    ));
                }
                Ok(())
            }
        }
    }

    /// Draws a runtime, s (at least 1).
    pub fn sample<R: Rng>(&self, rng: &mut R) -> u64 {
        let x = match self {
            RuntimeDist::Exponential { mean_s } => Exp::new(1.0 / mean_s)
                .map(|d| d.sample(rng))
                .unwrap_or(*mean_s),
            RuntimeDist::Lognormal { median_s, sigma } => LogNormal::new(median_s.ln(), *sigma)
                .map(|d| d.sample(rng))
                .unwrap_or(*median_s),
            RuntimeDist::Gamma { shape, mean_s } => Gamma::new(*shape, mean_s / shape)
                .map(|d| d.sample(rng))
                .unwrap_or(*mean_s),
            RuntimeDist::Weibull { shape, scale_s } => Weibull::new(*scale_s, *shape)
                .map(|d| d.sample(rng))
                .unwrap_or(*scale_s),
            RuntimeDist::Histogram { edges_s, weights } => {
                let bin = pick_weighted(rng, weights);
                let (lo, hi) = (edges_s[bin], edges_s[bin + 1]);
                let u: f64 = rng.gen();
                if lo > 0.0 {
                    (lo.ln() + u * (hi.ln() - lo.ln())).exp()
                } else {
                    lo + u * (hi - lo)
                }
            }
        };
        (x.round() as u64).max(1)
    }
}

/// An index drawn with probability proportional to `weights` (not all zero).
pub fn pick_weighted<R: Rng>(rng: &mut R, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.gen::<f64>() * total;
    for (i, &w) in weights.iter().enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    weights.iter().rposition(|&w| w > 0.0).unwrap_or(0)
}

/// Job sizes in nodes as parallel workload models draw them (after Lublin and Feitelson,
/// 2003): a share of serial jobs; the others log-uniform between 2 and `max`, a given share
/// of them powers of two.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SizeDist {
    /// The largest size, nodes.
    pub max: u32,
    /// Share of serial (1-node) jobs.
    #[serde(default = "default_serial")]
    pub serial: f64,
    /// Share of the parallel jobs whose size is a power of two.
    #[serde(default = "default_power_of_two")]
    pub power_of_two: f64,
}

/// CTC-SP2's share of serial jobs (see `workloads/README.md`).
fn default_serial() -> f64 {
    0.42
}

/// CTC-SP2's share of powers of two among its parallel jobs.
fn default_power_of_two() -> f64 {
    0.70
}

impl SizeDist {
    /// Checks the parameters; an error is (field, message).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.max == 0 {
            return Err(("max", "expected at least 1 node".into()));
        }
        for (v, name) in [(self.serial, "serial"), (self.power_of_two, "power_of_two")] {
            if !(0.0..=1.0).contains(&v) {
                return Err((name, format!("expected a share from 0 to 1, got {v}")));
            }
        }
        Ok(())
    }

    /// Draws a size, nodes. A parallel job is a power of two with probability
    /// `power_of_two` (log-uniform over the powers of two from 2 to `max`), else a
    /// log-uniform size from 2 to `max` that is not one, so `power_of_two` is exactly the
    /// share a trace shows.
    pub fn sample<R: Rng>(&self, rng: &mut R) -> u32 {
        if self.max == 1 || rng.gen::<f64>() < self.serial {
            return 1;
        }
        let (lo, hi) = (2f64.ln(), (f64::from(self.max) + 1.0).ln());
        let log_uniform = |rng: &mut R| {
            ((lo + rng.gen::<f64>() * (hi - lo)).exp().floor() as u32).clamp(2, self.max)
        };
        let top_power = 31 - self.max.leading_zeros(); // 2^top_power <= max
        let power = |rng: &mut R| 1u32 << rng.gen_range(1..=top_power);
        if self.max < 3 || rng.gen::<f64>() < self.power_of_two {
            return power(rng);
        }
        // Rejection: log-uniform sizes that are powers of two are drawn again (at most a
        // fifth of draws are, for any max above 2).
        for _ in 0..64 {
            let n = log_uniform(rng);
            if !n.is_power_of_two() {
                return n;
            }
        }
        3.min(self.max)
    }
}

/// The share of a session it sits idle: a fixed number, or uniform in `[min, max]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged, deny_unknown_fields)]
pub enum IdleFraction {
    /// Every session the same.
    Fixed(f64),
    /// Uniform per session.
    Range {
        /// Lowest share.
        min: f64,
        /// Highest share.
        max: f64,
    },
}

impl IdleFraction {
    /// Checks the shares are in [0, 1] and ordered.
    pub fn check(&self) -> Result<(), String> {
        let (lo, hi) = match *self {
            IdleFraction::Fixed(f) => (f, f),
            IdleFraction::Range { min, max } => (min, max),
        };
        if !((0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi) && lo <= hi) {
            return Err(format!(
                "expected a share from 0 to 1 (or {{ min, max }} with min <= max), got {lo}..{hi}"
            ));
        }
        Ok(())
    }

    /// Draws a session's idle share.
    pub fn sample<R: Rng>(&self, rng: &mut R) -> f32 {
        match *self {
            IdleFraction::Fixed(f) => f as f32,
            IdleFraction::Range { min, max } => (min + rng.gen::<f64>() * (max - min)) as f32,
        }
    }
}

/// Users' walltime estimates: the runtime times a lognormal overestimation factor (at
/// least 1), rounded up to the first of `round_up_s` at or above it (past the last, to a
/// multiple of a day), then capped at the partition's limit.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EstimateSpec {
    /// Median of the overestimation factor.
    #[serde(default = "default_factor_median")]
    pub factor_median: f64,
    /// σ of the factor's logarithm.
    #[serde(default = "default_factor_sigma")]
    pub factor_sigma: f64,
    /// The values users round up to, s (empty: no rounding).
    #[serde(default = "common_estimates_s")]
    pub round_up_s: Vec<u64>,
}

fn default_factor_median() -> f64 {
    2.0
}

fn default_factor_sigma() -> f64 {
    0.6
}

/// The walltimes users type: 5, 10, 15, 30 min, 1, 2, 3, 4, 6, 8, 12, 18 h, 1, 1.5, 2, 3 d
/// (CTC-SP2's ten most common estimates are all among them).
pub fn common_estimates_s() -> Vec<u64> {
    const M: u64 = 60;
    const H: u64 = 3_600;
    vec![
        5 * M,
        10 * M,
        15 * M,
        30 * M,
        H,
        2 * H,
        3 * H,
        4 * H,
        6 * H,
        8 * H,
        12 * H,
        18 * H,
        24 * H,
        36 * H,
        48 * H,
        72 * H,
    ]
}

impl Default for EstimateSpec {
    fn default() -> Self {
        EstimateSpec {
            factor_median: default_factor_median(),
            factor_sigma: default_factor_sigma(),
            round_up_s: common_estimates_s(),
        }
    }
}

impl EstimateSpec {
    /// Checks the parameters; an error is (field, message).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !(self.factor_median >= 1.0 && self.factor_median.is_finite()) {
            return Err((
                "factor_median",
                format!(
                    "expected 1 or more (users overestimate), got {}",
                    self.factor_median
                ),
            ));
        }
        if !(self.factor_sigma >= 0.0 && self.factor_sigma.is_finite()) {
            return Err((
                "factor_sigma",
                format!("expected 0 or more, got {}", self.factor_sigma),
            ));
        }
        if self.round_up_s.contains(&0) || self.round_up_s.windows(2).any(|w| w[1] <= w[0]) {
            return Err((
                "round_up_s",
                "expected increasing values of at least 1 s".into(),
            ));
        }
        Ok(())
    }

    /// The estimate of a job running `run_s`, with `limit_s` its partition's limit.
    pub fn sample<R: Rng>(&self, rng: &mut R, run_s: u64, limit_s: Option<u64>) -> u64 {
        let factor = LogNormal::new(self.factor_median.ln(), self.factor_sigma)
            .map(|d| d.sample(rng))
            .unwrap_or(self.factor_median)
            .max(1.0);
        let raw = (run_s as f64 * factor).ceil() as u64;
        let rounded = match self.round_up_s.iter().find(|&&v| v >= raw) {
            Some(&v) => v,
            None if self.round_up_s.is_empty() => raw,
            None => raw.div_ceil(86_400) * 86_400,
        };
        let capped = limit_s.map_or(rounded, |l| rounded.min(l));
        capped.max(run_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn estimates_round_up_to_common_values_and_respect_limits() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let exact = EstimateSpec {
            factor_median: 1.0,
            factor_sigma: 0.0,
            ..EstimateSpec::default()
        };
        assert_eq!(exact.sample(&mut rng, 301, None), 600);
        assert_eq!(exact.sample(&mut rng, 3_600, None), 3_600);
        assert_eq!(exact.sample(&mut rng, 70_000, None), 86_400);
        assert_eq!(exact.sample(&mut rng, 300_000, None), 4 * 86_400);
        assert_eq!(exact.sample(&mut rng, 5_000, Some(6_000)), 6_000);
        // Never below the runtime, even past the limit (the runtime is capped before).
        assert_eq!(exact.sample(&mut rng, 7_000, Some(6_000)), 7_000);
        let none = EstimateSpec {
            round_up_s: vec![],
            ..exact
        };
        assert_eq!(none.sample(&mut rng, 1_234, None), 1_234);
    }

    #[test]
    fn bad_parameters_name_their_field() {
        let h = RuntimeDist::Histogram {
            edges_s: vec![0.0, 60.0],
            weights: vec![1.0, 2.0],
        };
        assert_eq!(h.check().unwrap_err().0, "weights");
        let g = RuntimeDist::Gamma {
            shape: 0.0,
            mean_s: 10.0,
        };
        assert_eq!(g.check().unwrap_err().0, "shape");
        let s = SizeDist {
            max: 8,
            serial: 1.5,
            power_of_two: 0.5,
        };
        assert_eq!(s.check().unwrap_err().0, "serial");
    }
}
