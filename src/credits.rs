//! Credits: what each account's use of the cluster costs, against a monthly allowance.
//!
//! A scenario's `[credits]` gives each account a monthly allowance and prices per node type
//! (per core-hour, GPU-hour, MIG-slice-hour). Every segment is charged to its job's account
//! for the resources it held on each node, month by month (months of `month_s` from the
//! workload's origin), idle time of sessions included or not (`charge_idle`); by default
//! only interactive jobs are charged (interactive credits). Each account-month reports its
//! use, its cost, the overage billed beyond the allowance, and the instant the allowance
//! ran out, if it did. This is accounting after the run: it changes no schedule.
//!
//! Accounts: a generator class's `account`; otherwise the job's group (SWF's group number,
//! a Slurm dump's account, numbered), as `group N`.

use crate::cluster::nodes::NodeFree;
use crate::engine::time::SimTime;
use crate::lifecycle::RunResult;
use crate::workload::activity::Timeline;
use crate::workload::{JobKind, Workload};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `[credits]` in a scenario.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CreditsSpec {
    /// Each account's allowance per month, in the prices' currency.
    pub monthly_allowance: f64,
    /// The length of a month, s (default 30 days).
    #[serde(default = "thirty_days")]
    pub month_s: u64,
    /// Charge only interactive jobs (default: true, interactive credits).
    #[serde(default = "yes")]
    pub interactive_only: bool,
    /// Charge the time sessions sit idle (default: true).
    #[serde(default = "yes")]
    pub charge_idle: bool,
    /// `[credits.prices.NODE_TYPE]`: prices on the nodes of each type (types not listed
    /// cost nothing).
    #[serde(default)]
    pub prices: indexmap::IndexMap<String, Prices>,
    /// What happens once an account's allowance for the month is spent (default `bill`).
    #[serde(default)]
    pub when_exhausted: WhenExhausted,
}

/// What happens once an account has spent its month's allowance.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WhenExhausted {
    /// Its jobs run on; the overage is billed (accounting after the run only).
    #[default]
    Bill,
    /// Its new charged jobs are rejected at submission until the next month (the engine
    /// checks the cost accrued up to that instant).
    Deny,
    /// Its new charged jobs are admitted but demoted (Slurm's lower-priority QOS): queued
    /// after every job of their tier that is not demoted. Decided at submission, with the
    /// cost accrued up to that instant; the job stays demoted for its whole life.
    Deprioritize,
}

/// Prices on one node type.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    /// Per core-hour.
    #[serde(default)]
    pub core_hour: f64,
    /// Per whole GPU-hour.
    #[serde(default)]
    pub gpu_hour: f64,
    /// Per MIG-slice-hour.
    #[serde(default)]
    pub mig_slice_hour: f64,
}

fn thirty_days() -> u64 {
    30 * 86_400
}

fn yes() -> bool {
    true
}

/// The credit model of a run, resolved against its cluster's node types.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Credits {
    /// Each account's monthly allowance.
    pub monthly_allowance: f64,
    /// A month, s.
    pub month_s: u64,
    /// Only interactive jobs are charged.
    pub interactive_only: bool,
    /// Idle session time is charged.
    pub charge_idle: bool,
    /// Per node type index: its prices.
    #[serde(skip)]
    pub prices: Vec<Prices>,
    /// What happens once an allowance is spent.
    pub when_exhausted: WhenExhausted,
}

impl CreditsSpec {
    /// Checks the values; an error is (key under `credits`, message).
    pub fn check(&self, node_types: &[&str]) -> Result<(), (String, String)> {
        let non_negative = |v: f64| v >= 0.0 && v.is_finite();
        if !non_negative(self.monthly_allowance) {
            return Err((
                "monthly_allowance".into(),
                format!("expected 0 or more, got {}", self.monthly_allowance),
            ));
        }
        if self.month_s == 0 {
            return Err(("month_s".into(), "expected at least 1 s".into()));
        }
        for (name, p) in &self.prices {
            if !node_types.contains(&name.as_str()) {
                return Err((
                    format!("prices.{name}"),
                    format!(
                        "no node type {name:?} in the cluster ({})",
                        node_types.join(", ")
                    ),
                ));
            }
            for (key, v) in [
                ("core_hour", p.core_hour),
                ("gpu_hour", p.gpu_hour),
                ("mig_slice_hour", p.mig_slice_hour),
            ] {
                if !non_negative(v) {
                    return Err((
                        format!("prices.{name}.{key}"),
                        format!("expected 0 or more, got {v}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The model for a cluster whose node types are `node_types`, in order.
    pub fn resolve(&self, node_types: &[&str]) -> Credits {
        Credits {
            monthly_allowance: self.monthly_allowance,
            month_s: self.month_s,
            interactive_only: self.interactive_only,
            charge_idle: self.charge_idle,
            prices: node_types
                .iter()
                .map(|t| self.prices.get(*t).copied().unwrap_or_default())
                .collect(),
            when_exhausted: self.when_exhausted,
        }
    }
}

impl Credits {
    /// Whether job `i` is charged at all.
    pub fn charges(&self, workload: &Workload, i: usize) -> bool {
        !(self.interactive_only && workload.jobs[i].kind != JobKind::Interactive)
    }

    /// What job `i` holds on `nodes` (cores, GPUs, MIG slices, summed) and its price per
    /// hour there.
    fn held_and_price(&self, workload: &Workload, i: usize, nodes: &[u32]) -> ([f64; 3], f64) {
        let (mut held, mut price_per_hour) = ([0f64; 3], 0f64);
        let Some(nw) = workload.nodes.as_deref() else {
            return (held, price_per_hour);
        };
        for &n in nodes {
            let t = nw.cluster.type_index(n);
            let take: NodeFree = nw.requests[i].taken(nw.cluster.type_of(n));
            let p = self.prices.get(t).copied().unwrap_or_default();
            let amounts = [
                f64::from(take.cores),
                f64::from(take.gpus),
                f64::from(take.mig_slices),
            ];
            for r in 0..3 {
                held[r] += amounts[r];
            }
            price_per_hour +=
                amounts[0] * p.core_hour + amounts[1] * p.gpu_hour + amounts[2] * p.mig_slice_hour;
        }
        (held, price_per_hour)
    }

    /// The start of the month holding `at`.
    pub fn month_start(&self, at: SimTime) -> SimTime {
        let month_ms = self.month_s.saturating_mul(1000).max(1);
        SimTime::from_ms(at.as_ms() / month_ms * month_ms)
    }

    /// What segment `s` of job `i` (first started at `first_start`) costs between `from`
    /// and `to`, if it holds its nodes until `end` (its end, or now while it runs): the
    /// same charge as [`chargeback`]'s, idle time excluded unless charged.
    #[allow(clippy::too_many_arguments)]
    pub fn cost_between(
        &self,
        workload: &Workload,
        i: usize,
        nodes: &[u32],
        first_start: SimTime,
        (start, end): (SimTime, SimTime),
        (from, to): (SimTime, SimTime),
    ) -> f64 {
        let (a, b) = (start.max(from).as_ms(), end.min(to).as_ms());
        if b <= a || !self.charges(workload, i) {
            return 0.0;
        }
        let (_, price_per_hour) = self.held_and_price(workload, i, nodes);
        let job = &workload.jobs[i];
        let idle = match workload.nodes.as_deref() {
            Some(nw) if !self.charge_idle && job.kind == JobKind::Interactive => {
                let first = first_start.as_ms();
                Timeline::of(nw, i, job).idle_ms_in(a - first, b - first)
            }
            _ => 0,
        };
        price_per_hour * (b - a - idle) as f64 / 3_600_000.0
    }
}

/// One account's month.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AccountMonth {
    /// The account.
    pub account: String,
    /// The month, from 0 at the workload's origin.
    pub month: u64,
    /// Core-hours charged.
    pub core_hours: f64,
    /// GPU-hours charged.
    pub gpu_hours: f64,
    /// MIG-slice-hours charged.
    pub mig_slice_hours: f64,
    /// Their cost.
    pub cost: f64,
    /// The allowance.
    pub allowance: f64,
    /// The cost beyond the allowance, billed.
    pub overage: f64,
    /// When the month's cost reached the allowance, s (`None`: it did not).
    pub exhausted_at_s: Option<f64>,
}

/// What credits say of a run (`summary.json` `metrics.credits`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CreditMetrics {
    /// Accounts charged.
    pub accounts: u64,
    /// The cost of everything charged.
    pub total_cost: f64,
    /// Overage billed, over every account-month.
    pub total_overage: f64,
    /// Account-months whose allowance ran out.
    pub months_exhausted: u64,
    /// Every account-month charged, by account then month.
    pub chargeback: Vec<AccountMonth>,
    /// Jobs admitted demoted because their account's allowance was spent
    /// (`when_exhausted = "deprioritize"` only; absent otherwise, so other runs' summaries
    /// keep their keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprioritized: Option<u64>,
}

/// The account of job `i`.
pub fn account_of(workload: &Workload, i: usize) -> String {
    let class_account = workload.nodes.as_deref().and_then(|nw| {
        nw.class_accounts
            .get(nw.class_of[i] as usize)
            .cloned()
            .flatten()
    });
    class_account.unwrap_or_else(|| match workload.jobs[i].group {
        g if g < 0 => "unknown".to_string(),
        g => format!("group {g}"),
    })
}

/// Charges every segment of `result` under `credits`.
pub fn chargeback(workload: &Workload, result: &RunResult, credits: &Credits) -> CreditMetrics {
    const HOUR_MS: f64 = 3_600_000.0;
    let month_ms = credits.month_s.saturating_mul(1000).max(1);
    // Per (account, month): usage and cost, and the instants the account's charging rate
    // changes, to find when the allowance ran out.
    let mut months: BTreeMap<(String, u64), AccountMonth> = BTreeMap::new();
    let mut rate_changes: BTreeMap<(String, u64), Vec<(u64, f64)>> = BTreeMap::new();
    for s in &result.segments {
        let i = s.job.get();
        let job = &workload.jobs[i];
        if (credits.interactive_only && job.kind != JobKind::Interactive) || s.end <= s.start {
            continue;
        }
        let Some(nw) = workload.nodes.as_deref() else {
            continue;
        };
        let (held, price_per_hour) = credits.held_and_price(workload, i, result.nodes_of(s));
        let timeline = (!credits.charge_idle && job.kind == JobKind::Interactive)
            .then(|| Timeline::of(nw, i, job));
        let first = result.start[i].as_ms();
        let account = account_of(workload, i);
        // The segment month by month.
        let mut at = s.start.as_ms();
        while at < s.end.as_ms() {
            let month = at / month_ms;
            let to = ((month + 1) * month_ms).min(s.end.as_ms());
            let idle = timeline
                .as_ref()
                .map_or(0, |tl| tl.idle_ms_in(at - first, to - first));
            let charged_hours = (to - at - idle) as f64 / HOUR_MS;
            let m = months
                .entry((account.clone(), month))
                .or_insert_with(|| AccountMonth {
                    account: account.clone(),
                    month,
                    allowance: credits.monthly_allowance,
                    ..AccountMonth::default()
                });
            m.core_hours += held[0] * charged_hours;
            m.gpu_hours += held[1] * charged_hours;
            m.mig_slice_hours += held[2] * charged_hours;
            m.cost += price_per_hour * charged_hours;
            // Charged at a steady rate over the piece (idle time spread evenly over it:
            // exact for the month's total, close for the day the allowance runs out).
            let rate = price_per_hour * charged_hours / ((to - at) as f64 / HOUR_MS).max(1e-12);
            let changes = rate_changes.entry((account.clone(), month)).or_default();
            changes.push((at, rate));
            changes.push((to, -rate));
            at = to;
        }
    }
    let mut metrics = CreditMetrics::default();
    let mut accounts = std::collections::BTreeSet::new();
    for (key, mut m) in months {
        m.overage = (m.cost - m.allowance).max(0.0);
        if let Some(changes) = rate_changes.get_mut(&key) {
            m.exhausted_at_s = exhausted_at(changes, m.allowance).map(|t| t.as_secs_f64());
        }
        accounts.insert(m.account.clone());
        metrics.total_cost += m.cost;
        metrics.total_overage += m.overage;
        metrics.months_exhausted += u64::from(m.exhausted_at_s.is_some());
        metrics.chargeback.push(m);
    }
    metrics.accounts = accounts.len() as u64;
    metrics.deprioritized = result.demoted.as_ref().map(|d| d.len() as u64);
    metrics
}

/// The first instant at which the cost accrued by `changes` (instant, change of the cost
/// per hour) reaches `allowance`.
fn exhausted_at(changes: &mut [(u64, f64)], allowance: f64) -> Option<SimTime> {
    changes.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let (mut cost, mut rate, mut at) = (0f64, 0f64, changes.first()?.0);
    if allowance <= 0.0 {
        return Some(SimTime::from_ms(at));
    }
    for &(t, delta) in changes.iter() {
        let hours = (t - at) as f64 / 3_600_000.0;
        if rate > 0.0 && cost + rate * hours >= allowance {
            let needed_ms = ((allowance - cost) / rate * 3_600_000.0).ceil() as u64;
            return Some(SimTime::from_ms(at + needed_ms));
        }
        cost += rate * hours;
        rate = (rate + delta).max(0.0);
        at = t;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowance_runs_out_when_the_accrued_cost_reaches_it() {
        // $2 an hour from hour 1 to hour 11, then $4 an hour to hour 21: $10 reached at hour
        // 6, $30 at hour 13.5.
        let h = |x: f64| (x * 3_600_000.0) as u64;
        let mut changes = vec![
            (h(1.0), 2.0),
            (h(11.0), -2.0),
            (h(11.0), 4.0),
            (h(21.0), -4.0),
        ];
        assert_eq!(
            exhausted_at(&mut changes.clone(), 10.0),
            Some(SimTime::from_ms(h(6.0)))
        );
        assert_eq!(
            exhausted_at(&mut changes, 30.0),
            Some(SimTime::from_ms(h(13.5)))
        );
        let mut small = vec![(0, 1.0), (h(1.0), -1.0)];
        assert_eq!(exhausted_at(&mut small, 2.0), None);
    }
}
