//! A sweep's runs, from the `[sweep]` section of a scenario file: which keys vary, the
//! values each run gives them, and each run's scenario, checked before anything runs.
//!
//! Keys are dotted paths into the scenario (`cluster.node_types.gpu.count`, `policy.name`,
//! `workload.load_factor`, `seed`; an element of an array of tables is `name[i]`, as in
//! `workload.generator.classes[0].share`). A node type or partition on a key's path must
//! exist in the scenario, so a misspelt node type is an error, not a new node type; every
//! other part must be a key the scenario's schema knows, and each value must have its
//! type: both are found by reading each run's scenario the way `run` reads a file, before
//! the first run starts.

use crate::scenario::{locate, LoadedScenario, Scenario, ScenarioError, SweepSection};
use std::fmt::Write as _;

/// The most runs one sweep may have, checked before any run is expanded in memory. Each run
/// is held (its values) and checked (its scenario read) before the first one starts: at this
/// limit that is tens of megabytes and seconds; a grid beyond it is a mistake (a range with a
/// tiny step) or several sweeps.
pub const MAX_RUNS: usize = 100_000;

/// The value a key takes in one run.
pub type Assignment = (String, toml::Value);

/// A sweep: the base scenario and the runs, in a fixed order.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// The scenario file as read (with its `[sweep]` section).
    pub base: LoadedScenario,
    /// The base scenario as a TOML table (without `[sweep]`), which runs modify.
    base_table: toml::Table,
    /// Swept keys, in order of first appearance (listed points' keys, then the grid's).
    pub keys: Vec<String>,
    /// Per run, the values of the swept keys it sets (a listed point may set only some).
    pub runs: Vec<Vec<Assignment>>,
    /// Metrics to plot.
    pub plot_metrics: Vec<String>,
    /// The two metrics whose Pareto front is marked, if any.
    pub pareto: Option<crate::scenario::ParetoSpec>,
    /// A hash of the scenario and its sweep: runs of one sweep carry it, so results of
    /// different sweeps are never mixed.
    pub hash: String,
}

/// Metrics plotted when the scenario names none.
pub const DEFAULT_PLOT_METRICS: [&str; 3] = ["all.wait_mean_s", "all.bsld_mean", "utilization"];

impl Sweep {
    /// Reads the sweep of `loaded` (an error when it has none) and checks every run.
    pub fn from_scenario(loaded: &LoadedScenario) -> Result<Sweep, ScenarioError> {
        let Some(section) = loaded.scenario.sweep.clone() else {
            return Err(loaded.error_at(
                "sweep",
                "this scenario has no [sweep] section: add [sweep.grid] with the keys to vary \
                 (see scenarios/sweep-ctc.toml)",
            ));
        };
        let mut base_table: toml::Table = toml::from_str(&loaded.text)
            .map_err(|e| loaded.error_at("(syntax)", e.message().to_string()))?;
        base_table.remove("sweep");
        let base = loaded.clone();
        let (keys, runs) = expand(&section, loaded)?;
        let plot_metrics = if section.metrics.is_empty() {
            DEFAULT_PLOT_METRICS.iter().map(|s| s.to_string()).collect()
        } else {
            for m in &section.metrics {
                if !crate::sweep::record::is_metric_name(m) {
                    return Err(loaded.error_at(
                        "sweep.metrics",
                        format!(
                            "unknown metric {m:?}; metrics are named as in summary.json's \
                             \"metrics\", e.g. {}",
                            DEFAULT_PLOT_METRICS.join(", ")
                        ),
                    ));
                }
            }
            section.metrics.clone()
        };
        if let Some(p) = &section.pareto {
            for (key, m) in [("x", &p.x), ("y", &p.y)] {
                if !crate::sweep::record::is_metric_name(m) {
                    return Err(loaded.error_at(
                        &format!("sweep.pareto.{key}"),
                        format!(
                            "unknown metric {m:?}; metrics are named as in summary.json's \
                             \"metrics\", e.g. {}",
                            DEFAULT_PLOT_METRICS.join(", ")
                        ),
                    ));
                }
            }
        }
        let mut full_table: toml::Table = toml::from_str(&loaded.text)
            .map_err(|e| loaded.error_at("(syntax)", e.message().to_string()))?;
        full_table.remove("output");
        let hash = format!("{:016x}", fnv1a(canonical(&full_table).as_bytes()));
        let sweep = Sweep {
            base,
            base_table,
            keys,
            runs,
            plot_metrics,
            pareto: section.pareto.clone(),
            hash,
        };
        for i in 0..sweep.runs.len() {
            sweep.scenario_of(i)?;
        }
        Ok(sweep)
    }

    /// Run `i`'s scenario: the base with the run's values set, read and validated.
    pub fn scenario_of(&self, i: usize) -> Result<LoadedScenario, ScenarioError> {
        let assignments = &self.runs[i];
        let mut table = self.base_table.clone();
        let at = |key: &str, message: String| {
            let describe = describe_run(assignments);
            self.base.error_at(
                &self.sweep_key_path(key),
                format!("in the run {describe}: {message}"),
            )
        };
        for (key, value) in assignments {
            set_path(&mut table, key, value.clone()).map_err(|m| at(key, m))?;
        }
        let scenario: Scenario = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| {
                let path = e.path().to_string();
                let culprit = assignments
                    .iter()
                    .map(|(k, _)| k)
                    .find(|k| path == **k || path.starts_with(&format!("{k}.")))
                    .or_else(|| assignments.first().map(|(k, _)| k))
                    .cloned()
                    .unwrap_or_default();
                at(
                    &culprit,
                    format!("{path}: {}", e.into_inner().message().trim()),
                )
            })?;
        scenario.validate().map_err(|e| {
            let culprit = assignments
                .iter()
                .map(|(k, _)| k.clone())
                .find(|k| e.key == *k || e.key.starts_with(&format!("{k}.")))
                .unwrap_or_else(|| e.key.clone());
            at(&culprit, format!("{}: {}", e.key, e.message))
        })?;
        Ok(LoadedScenario {
            scenario,
            path: self.base.path.clone(),
            text: self.base.text.clone(),
        })
    }

    /// Where `key` is set in the `[sweep]` section (for error lines).
    fn sweep_key_path(&self, key: &str) -> String {
        let text = &self.base.text;
        let grid = format!("sweep.grid.{key}");
        if locate::line_of_key(text, &grid) != locate::line_of_key(text, "sweep.grid") {
            return grid;
        }
        let points = self.base.scenario.sweep.as_ref().map(|s| &s.points);
        match points.and_then(|p| p.iter().position(|point| point.contains_key(key))) {
            Some(i) => format!("sweep.points[{i}].{key}"),
            None => "sweep".to_string(),
        }
    }

    /// The effective value of `key` in run `i`: the run's own, else the base scenario's.
    pub fn value_of(&self, i: usize, key: &str) -> Option<toml::Value> {
        self.runs[i]
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .or_else(|| get_path(&self.base_table, key).cloned())
    }
}

/// `key = value, …` of a run, for messages.
pub fn describe_run(assignments: &[Assignment]) -> String {
    let mut s = String::new();
    for (i, (k, v)) in assignments.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "{k} = {v}");
    }
    if s.is_empty() {
        s.push_str("(the scenario as written)");
    }
    s
}

/// The grid's keys and values and the listed points, crossed into runs.
fn expand(
    section: &SweepSection,
    loaded: &LoadedScenario,
) -> Result<(Vec<String>, Vec<Vec<Assignment>>), ScenarioError> {
    let mut grid: Vec<(String, Vec<toml::Value>)> = Vec::new();
    for (key, value) in &section.grid {
        flatten_grid(key, value, &mut grid)
            .map_err(|(k, m)| loaded.error_at(&format!("sweep.grid.{k}"), m))?;
    }
    let mut keys: Vec<String> = Vec::new();
    for point in &section.points {
        for k in point.keys() {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    for (k, values) in &grid {
        if keys.contains(k) {
            return Err(loaded.error_at(
                &format!("sweep.grid.{k}"),
                "this key is set by [[sweep.points]] too; set it in one place",
            ));
        }
        if values.is_empty() {
            return Err(loaded.error_at(
                &format!("sweep.grid.{k}"),
                "no values: give a non-empty list or range",
            ));
        }
        keys.push(k.clone());
    }
    for (i, point) in section.points.iter().enumerate() {
        if point.is_empty() {
            return Err(loaded.error_at(
                &format!("sweep.points[{i}]"),
                "an empty point: set at least one key",
            ));
        }
    }
    if keys.is_empty() {
        return Err(loaded.error_at(
            "sweep",
            "the sweep is empty: give [sweep.grid] keys with lists of values, or \
             [[sweep.points]]",
        ));
    }
    let points: Vec<Vec<Assignment>> = if section.points.is_empty() {
        vec![Vec::new()]
    } else {
        section
            .points
            .iter()
            .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .collect()
    };
    // The count, from the values' counts alone: nothing is expanded before it is known.
    let total = grid
        .iter()
        .try_fold(points.len(), |n, (_, v)| n.checked_mul(v.len()))
        .filter(|&n| n <= MAX_RUNS)
        .ok_or_else(|| {
            let counts: Vec<String> = std::iter::once(points.len())
                .filter(|_| !section.points.is_empty())
                .chain(grid.iter().map(|(_, v)| v.len()))
                .map(|n| n.to_string())
                .collect();
            loaded.error_at(
                "sweep",
                format!(
                    "the sweep has {} runs, more than the {MAX_RUNS} one sweep may have; \
                     vary fewer values, or split it into several sweeps",
                    counts.join(" x ")
                ),
            )
        })?;
    let grid_runs = total / points.len();
    let mut runs = Vec::with_capacity(total);
    for point in &points {
        for flat in 0..grid_runs {
            // `flat` in mixed radix, the last key turning fastest.
            let mut rest = flat;
            let mut index = vec![0usize; grid.len()];
            for g in (0..grid.len()).rev() {
                index[g] = rest % grid[g].1.len();
                rest /= grid[g].1.len();
            }
            let mut run = point.clone();
            for (g, (k, values)) in grid.iter().enumerate() {
                run.push((k.clone(), values[index[g]].clone()));
            }
            runs.push(run);
        }
    }
    Ok((keys, runs))
}

/// One grid entry: a list, a `{ from, to, step }` range, or (for unquoted dotted keys) a
/// table of further entries.
fn flatten_grid(
    key: &str,
    value: &toml::Value,
    out: &mut Vec<(String, Vec<toml::Value>)>,
) -> Result<(), (String, String)> {
    match value {
        toml::Value::Array(values) => {
            out.push((key.to_string(), values.clone()));
            Ok(())
        }
        toml::Value::Table(t) if is_range(t) => {
            out.push((
                key.to_string(),
                range_values(t).map_err(|m| (key.to_string(), m))?,
            ));
            Ok(())
        }
        toml::Value::Table(t) => {
            for (k, v) in t {
                flatten_grid(&format!("{key}.{k}"), v, out)?;
            }
            Ok(())
        }
        other => Err((
            key.to_string(),
            format!(
                "expected a list of values or a range {{ from = A, to = B, step = S }}, got \
                 {other}"
            ),
        )),
    }
}

fn is_range(t: &toml::Table) -> bool {
    t.contains_key("from")
        && t.contains_key("to")
        && t.keys()
            .all(|k| matches!(k.as_str(), "from" | "to" | "step"))
}

/// The values of an inclusive range: integers when `from`, `to` and `step` are integers.
fn range_values(t: &toml::Table) -> Result<Vec<toml::Value>, String> {
    let (from, to) = (&t["from"], &t["to"]);
    let step = t.get("step").cloned().unwrap_or(toml::Value::Integer(1));
    match (from, to, &step) {
        (toml::Value::Integer(a), toml::Value::Integer(b), toml::Value::Integer(s)) => {
            if *s <= 0 {
                return Err(format!("step must be positive, got {s}"));
            }
            if a > b {
                return Err(format!("the range is empty: from {a} is above to {b}"));
            }
            // In i128: `to - from` of two i64 can overflow an i64.
            let n = (i128::from(*b) - i128::from(*a)) / i128::from(*s) + 1;
            if n > MAX_RUNS as i128 {
                return Err(too_many_values(n as f64, &a, &b, &s));
            }
            let n = n as usize;
            Ok((0..n as i64)
                .map(|i| toml::Value::Integer(a + i * s))
                .collect())
        }
        _ => {
            let number = |v: &toml::Value, name: &str| match v {
                toml::Value::Integer(i) => Ok(*i as f64),
                toml::Value::Float(f) if f.is_finite() => Ok(*f),
                other => Err(format!("{name} must be a number, got {other}")),
            };
            let (a, b, s) = (
                number(from, "from")?,
                number(to, "to")?,
                number(&step, "step")?,
            );
            if s <= 0.0 {
                return Err(format!("step must be positive, got {s}"));
            }
            if a > b {
                return Err(format!("the range is empty: from {a} is above to {b}"));
            }
            // A little slack so that 1.0 to 1.4 by 0.2 includes 1.4 despite rounding.
            let n = ((b - a) / s + 1e-9).floor() + 1.0;
            if n.is_nan() || n > MAX_RUNS as f64 {
                return Err(too_many_values(n, &a, &b, &s));
            }
            let n = n as usize;
            Ok((0..n)
                .map(|i| {
                    let x = a + i as f64 * s;
                    // Twelve significant digits: 1.2, not 1.2000000000000002.
                    toml::Value::Float(format!("{x:.12e}").parse().unwrap_or(x))
                })
                .collect())
        }
    }
}

/// The error of a range with more values than a sweep may have runs.
fn too_many_values(
    n: f64,
    from: &dyn std::fmt::Display,
    to: &dyn std::fmt::Display,
    step: &dyn std::fmt::Display,
) -> String {
    format!(
        "from {from} to {to} by step {step} gives {n:.0} values, more than the {MAX_RUNS} runs \
         one sweep may have; use a larger step"
    )
}

/// One part of a key path: a name, and an index for an element of an array of tables.
fn parse_part(part: &str) -> Result<(&str, Option<usize>), String> {
    match part.find('[') {
        None => Ok((part, None)),
        Some(open) => {
            let index = part[open + 1..]
                .strip_suffix(']')
                .and_then(|i| i.parse().ok())
                .ok_or_else(|| format!("{part:?}: write an array element as name[0]"))?;
            Ok((&part[..open], Some(index)))
        }
    }
}

/// The value at `key` in `table`, if it is there.
pub fn get_path<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let mut current: Option<&toml::Value> = None;
    let mut t = table;
    for part in key.split('.') {
        let (name, index) = parse_part(part).ok()?;
        let mut v = t.get(name)?;
        if let Some(i) = index {
            v = v.as_array()?.get(i)?;
        }
        current = Some(v);
        if let Some(next) = v.as_table() {
            t = next;
        }
    }
    current
}

/// Tables whose keys are names the user chose: a sweep may change their entries but not
/// invent new ones.
const NAMED_ENTRIES: [&str; 2] = ["cluster.node_types", "cluster.partitions"];

/// Sets `key` in `table`, creating the schema's tables on the way but not named entries.
fn set_path(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), String> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("{key:?} is not a key path (empty part)"));
    }
    let mut t = table;
    let mut walked = String::new();
    for (depth, part) in parts.iter().enumerate() {
        let (name, index) = parse_part(part)?;
        let last = depth + 1 == parts.len();
        let here = if walked.is_empty() {
            name.to_string()
        } else {
            format!("{walked}.{name}")
        };
        if last && index.is_none() {
            t.insert(name.to_string(), value);
            return Ok(());
        }
        if !t.contains_key(name) {
            // Entries of tables keyed by the user's names must exist (a misspelt node type
            // is an error, not a new node type); a missing table of the schema, such as an
            // unwritten [policy], is created, and the schema judges the keys set in it.
            if NAMED_ENTRIES.contains(&walked.as_str()) {
                let known: Vec<&str> = t.keys().map(String::as_str).collect();
                return Err(format!(
                    "the scenario has no `{here}` (it has: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ));
            }
            let fresh = if index.is_some() {
                toml::Value::Array(Vec::new())
            } else {
                toml::Value::Table(toml::Table::new())
            };
            t.insert(name.to_string(), fresh);
        }
        let Some(entry) = t.get_mut(name) else {
            return Err(format!("the scenario has no `{here}`"));
        };
        let entry = match index {
            Some(i) => {
                let Some(array) = entry.as_array_mut() else {
                    return Err(format!("`{here}` is not an array of tables"));
                };
                let len = array.len();
                let Some(element) = array.get_mut(i) else {
                    return Err(format!("`{here}` has {len} elements; [{i}] is not one"));
                };
                if last {
                    *element = value;
                    return Ok(());
                }
                element
            }
            None => entry,
        };
        let Some(next) = entry.as_table_mut() else {
            return Err(format!("`{here}` is a value, not a table"));
        };
        t = next;
        walked = match index {
            Some(i) => format!("{here}[{i}]"),
            None => here,
        };
    }
    Ok(())
}

/// A canonical text of a TOML table: keys sorted at every level, so the same settings hash
/// the same however the file orders or formats them.
pub fn canonical(table: &toml::Table) -> String {
    fn value(v: &toml::Value, out: &mut String) {
        match v {
            toml::Value::Table(t) => {
                let mut keys: Vec<&String> = t.keys().collect();
                keys.sort();
                out.push('{');
                for k in keys {
                    let _ = write!(out, "{k:?}=");
                    value(&t[k], out);
                    out.push(',');
                }
                out.push('}');
            }
            toml::Value::Array(a) => {
                out.push('[');
                for x in a {
                    value(x, out);
                    out.push(',');
                }
                out.push(']');
            }
            toml::Value::String(s) => {
                let _ = write!(out, "{s:?}");
            }
            other => {
                let _ = write!(out, "{other}");
            }
        }
    }
    let mut out = String::new();
    value(&toml::Value::Table(table.clone()), &mut out);
    out
}

/// 64-bit FNV-1a: a small, stable hash (the same on every machine and version).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn loaded(text: &str) -> LoadedScenario {
        LoadedScenario {
            scenario: crate::scenario::parse(text).expect("parses"),
            path: PathBuf::from("s.toml"),
            text: text.to_string(),
        }
    }

    const BASE: &str = r#"
seed = 3
[workload.generator]
jobs = 50
procs = 16
[policy]
name = "easy"
"#;

    #[test]
    fn grid_is_a_cartesian_product_first_key_slowest() {
        let text = format!(
            "{BASE}[sweep.grid]\n\"policy.name\" = [\"fcfs\", \"easy\"]\nseed = {{ from = 1, to = 3 }}\n"
        );
        let s = Sweep::from_scenario(&loaded(&text)).unwrap();
        assert_eq!(s.keys, ["policy.name", "seed"]);
        assert_eq!(s.runs.len(), 6);
        assert_eq!(describe_run(&s.runs[0]), "policy.name = \"fcfs\", seed = 1");
        assert_eq!(describe_run(&s.runs[5]), "policy.name = \"easy\", seed = 3");
        let third = s.scenario_of(2).unwrap();
        assert_eq!(third.scenario.seed, Some(3));
        assert_eq!(third.scenario.policy.name, crate::policy::PolicyKind::Fcfs);
        assert!(third.scenario.sweep.is_none());
    }

    #[test]
    fn points_cross_the_grid_and_unquoted_keys_nest() {
        let text = format!(
            "{BASE}[sweep.grid]\nworkload.load_factor = [1.0, 1.5]\n\
             [[sweep.points]]\n\"workload.generator.jobs\" = 20\n\
             [[sweep.points]]\n\"workload.generator.jobs\" = 30\n"
        );
        let s = Sweep::from_scenario(&loaded(&text)).unwrap();
        assert_eq!(s.keys, ["workload.generator.jobs", "workload.load_factor"]);
        assert_eq!(s.runs.len(), 4);
        let last = s.scenario_of(3).unwrap().scenario;
        assert_eq!(last.workload.generator.unwrap().jobs, 30);
        assert_eq!(last.workload.load_factor, Some(1.5));
    }

    #[test]
    fn float_ranges_land_on_round_values() {
        let mut t = toml::Table::new();
        t.insert("from".into(), toml::Value::Float(1.0));
        t.insert("to".into(), toml::Value::Float(1.4));
        t.insert("step".into(), toml::Value::Float(0.2));
        let v: Vec<String> = range_values(&t)
            .unwrap()
            .iter()
            .map(|v| v.to_string())
            .collect();
        assert_eq!(v, ["1.0", "1.2", "1.4"]);
    }

    fn error_of(sweep: &str) -> String {
        let text = format!("{BASE}{sweep}");
        Sweep::from_scenario(&loaded(&text))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_sweeps_are_located_errors() {
        let e = error_of("[sweep.grid]\n\"policy.nmae\" = [\"easy\"]\n");
        assert!(e.starts_with("s.toml:9: sweep.grid.policy.nmae:"), "{e}");
        assert!(e.contains("unknown field `nmae`"), "{e}");
        let e = error_of("[sweep.grid]\n\"cluster.node_types.gpu.count\" = [1]\n");
        assert!(
            e.contains("the scenario has no `cluster.node_types.gpu` (it has: none)"),
            "{e}"
        );
        let e = error_of("[sweep.grid]\n\"polcy.name\" = [\"easy\"]\n");
        assert!(e.contains("unknown field `polcy`"), "{e}");
        let e = error_of("[sweep.grid]\n\"workload.load_factor\" = [1.0, \"high\"]\n");
        assert!(e.contains("load_factor = \"high\""), "{e}");
        assert!(e.contains("invalid type"), "{e}");
        let e = error_of("[sweep.grid]\n\"workload.load_factor\" = [-1.0]\n");
        assert!(e.contains("expected a positive number"), "{e}");
        let e = error_of("[sweep]\nmetrics = []\n");
        assert!(e.contains("the sweep is empty"), "{e}");
        let e = error_of("[sweep.grid]\nseed = []\n");
        assert!(e.contains("no values"), "{e}");
        let e = error_of("[sweep]\nmetrics = [\"speed\"]\n[sweep.grid]\nseed = [1]\n");
        assert!(e.contains("unknown metric \"speed\""), "{e}");
    }

    #[test]
    fn the_hash_ignores_layout_and_output_but_not_settings() {
        let a = loaded(&format!("{BASE}[sweep.grid]\nseed = [1, 2]\n"));
        let b = loaded(&format!(
            "# a comment\n{BASE}\n[output]\ndir = \"x\"\n[sweep.grid]\nseed = [1,2]\n"
        ));
        let c = loaded(&format!("{BASE}[sweep.grid]\nseed = [1, 3]\n"));
        let h = |l: &LoadedScenario| Sweep::from_scenario(l).unwrap().hash;
        assert_eq!(h(&a), h(&b));
        assert_ne!(h(&a), h(&c));
    }
}
