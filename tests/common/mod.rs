//! Helpers shared by the integration tests: where ../shared is, and deliberately simple,
//! obviously correct reference implementations of the three policies (quadratic, written
//! straight from the semantics in docs/semantics.md, sharing no code with the engine).

#![allow(dead_code)]

pub mod nodes;

use clustersim::engine::time::{SimDuration, SimTime};
use clustersim::workload::swf::{read_swf, SwfOptions};
use clustersim::workload::Workload;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `path` in the checkout, as a string.
pub fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

/// Plans scenario file `path` at each of `seeds` and runs it under each of `policies`
/// twice: checks the schedule, the nodes and the policy's promises, and that the two runs
/// are equal; then calls `each` with a label naming the run, its workload and its outcome.
pub fn checked_runs_at_seeds(
    path: &Path,
    seeds: &[u64],
    policies: &[clustersim::policy::PolicyKind],
    mut each: impl FnMut(&str, &Workload, &clustersim::run::RunOutcome),
) {
    use clustersim::check::{check_nodes, check_policy, check_schedule};
    let loaded = clustersim::scenario::load(path).unwrap();
    for &seed in seeds {
        let request = clustersim::plan::RunRequest {
            seed: Some(seed),
            ..Default::default()
        };
        let plan = clustersim::plan::plan_run(&request, Some(&loaded), None).unwrap();
        let w = &plan.workload;
        for &policy in policies {
            let at = format!("{}, seed {seed}, {policy}", path.display());
            let run = || {
                clustersim::run::run(w, policy, &plan.options, &mut |_| {})
                    .unwrap_or_else(|e| panic!("{at}: {e}"))
            };
            let a = run();
            check_schedule(w, &a.result).unwrap_or_else(|v| panic!("{at}: {v}"));
            check_nodes(w, &a.result).unwrap_or_else(|v| panic!("{at}: {v}"));
            check_policy(policy, w, &a.result).unwrap_or_else(|v| panic!("{at}: {v}"));
            assert_eq!(a.result, run().result, "{at}");
            each(&at, w, &a);
        }
    }
}

/// Runs the `clustersim` binary with `args`.
pub fn clustersim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Runs the `clustersim` binary with `args` from the repository's root (for relative
/// paths such as `scenarios/baseline.json`).
pub fn clustersim_in_repo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Runs `clustersim run SCENARIO --out OUT --force` (and `extra`) from the repository's
/// root, asserts it succeeded, and returns its standard output and `summary.json`.
pub fn run_scenario(scenario: &str, out: &Path, extra: &[&str]) -> (String, serde_json::Value) {
    let mut args = vec!["run", scenario, "--out", arg(out), "--force"];
    args.extend_from_slice(extra);
    let o = clustersim_in_repo(&args);
    assert!(o.status.success(), "{scenario}: {}", text(&o));
    let summary = std::fs::read_to_string(out.join("summary.json")).expect("summary.json");
    (
        text(&o),
        serde_json::from_str(&summary).expect("summary.json parses"),
    )
}

/// Writes scenario `body` as `dir/NAME.toml`.
pub fn scenario_file(dir: &Path, name: &str, body: &str) -> PathBuf {
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, body).unwrap();
    file
}

/// Runs `validate` on scenario `body` (as `dir/NAME.toml`), expects exit status 2 and
/// returns standard error.
pub fn validate_error(dir: &Path, name: &str, body: &str) -> String {
    let file = scenario_file(dir, name, body);
    let v = clustersim(&["validate", file.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(2), "{name}: {}", text(&v));
    String::from_utf8_lossy(&v.stderr).into_owned()
}

/// Checks that each case `(name, body, at, message)` fails `validate` with
/// `NAME.toml:LINE: MESSAGE`, LINE the first line of `body` starting with `at`.
pub fn assert_located_errors(dir: &Path, cases: Vec<(&str, String, &str, &str)>) {
    for (name, body, at, message) in cases {
        let err = validate_error(dir, name, &body);
        let line = body
            .lines()
            .position(|l| l.starts_with(at))
            .map(|i| i + 1)
            .unwrap_or_else(|| panic!("{name}: no line starts with {at:?}"));
        assert!(
            err.contains(&format!("{name}.toml:{line}: {message}")),
            "{name}: expected line {line}: {message}\n got: {err}"
        );
    }
}

/// Sweeps `scenario` at 1 and 2 threads into `dir/sweep1` and `dir/sweep2`, checks that
/// both write the same `sweep.csv` bytes, and returns its text.
pub fn sweep_csv_at_any_thread_count(scenario: &str, dir: &Path) -> String {
    let mut tables = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.join(format!("sweep{threads}"));
        let o = clustersim(&[
            "sweep",
            scenario,
            "--out",
            out.to_str().unwrap(),
            "--threads",
            threads,
        ]);
        assert!(o.status.success(), "{}", text(&o));
        tables.push(std::fs::read(out.join("sweep.csv")).unwrap());
    }
    assert!(tables[0] == tables[1], "1 and 2 threads differ");
    String::from_utf8(tables.remove(0)).unwrap()
}

/// A fresh, empty folder for a test's files.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A run's standard output and error, together.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A path as a command-line argument.
pub fn arg(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// `../shared` beside the checkout, if present. When it is absent the caller skips, unless
/// `CLUSTERSIM_REQUIRE_SHARED=1`, in which case this panics (CI sets it).
pub fn shared_dir(test: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("shared");
    if dir.join("traces").is_dir() && dir.join("reference").is_dir() {
        return Some(dir);
    }
    if std::env::var("CLUSTERSIM_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!("{test}: ../shared is missing and CLUSTERSIM_REQUIRE_SHARED=1");
    }
    eprintln!("{test}: skipped, ../shared is not beside the checkout");
    None
}

/// Reads SWF text (as the tests build it).
pub fn swf(text: &str, procs: u32) -> Workload {
    read_swf(
        text.as_bytes(),
        "test.swf",
        &SwfOptions {
            procs: Some(procs),
            ..SwfOptions::default()
        },
    )
    .expect("test trace reads")
}

/// One SWF line: job id, submit, runtime, processors, requested time (all seconds).
pub fn line(id: u64, submit: u64, run: u64, procs: u32, estimate: u64) -> String {
    format!("{id} {submit} -1 {run} {procs} -1 -1 {procs} {estimate} -1 1 1 1 -1 1 1 -1 -1\n")
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RefPolicy {
    Fcfs,
    Easy,
    Conservative,
}

/// A job as the reference simulator sees it.
#[derive(Clone, Copy, Debug)]
struct RefJob {
    submit: u64,
    work: u64,
    estimate: u64,
    procs: u64,
}

/// Simulates `workload` with the reference policy; returns each job's start time (ms).
///
/// The loop follows the semantics literally: at each instant, ends, then arrivals, then one
/// pass; if the pass started zero-length jobs, another round at the same instant.
pub fn reference_starts(workload: &Workload, policy: RefPolicy) -> Vec<u64> {
    let jobs: Vec<RefJob> = workload
        .jobs
        .iter()
        .map(|j| RefJob {
            submit: j.submit.as_ms(),
            // A job holds its processors until its work is done or its limit reached.
            work: j.work.min(j.estimate).as_ms(),
            estimate: j.estimate.as_ms(),
            procs: u64::from(j.procs),
        })
        .collect();
    let total = u64::from(workload.machine_procs);
    let n = jobs.len();
    let mut start: Vec<Option<u64>> = vec![None; n];
    let mut reservation: Vec<Option<u64>> = vec![None; n]; // conservative only
    let mut arrived = vec![false; n];
    let mut ended = vec![false; n];
    let mut now;
    loop {
        // Next instant: the earliest pending arrival or end.
        let next_arrival = (0..n)
            .filter(|&i| !arrived[i])
            .map(|i| jobs[i].submit)
            .min();
        let next_end = (0..n)
            .filter(|&i| start[i].is_some() && !ended[i])
            .map(|i| start[i].unwrap() + jobs[i].work)
            .min();
        let next_reservation = (0..n)
            .filter(|&i| start[i].is_none() && arrived[i])
            .filter_map(|i| reservation[i])
            .min();
        now = match [next_arrival, next_end, next_reservation]
            .iter()
            .flatten()
            .min()
        {
            Some(&t) => t,
            None => break,
        };
        let mut first_round = true;
        loop {
            let mut any_end = false;
            for i in 0..n {
                if start[i].is_some() && !ended[i] && start[i].unwrap() + jobs[i].work == now {
                    ended[i] = true;
                    any_end = true;
                }
            }
            let mut arrivals = Vec::new();
            if first_round {
                for i in 0..n {
                    if !arrived[i] && jobs[i].submit == now {
                        arrived[i] = true;
                        arrivals.push(i);
                    }
                }
            }
            first_round = false;
            let waiting: Vec<usize> = (0..n)
                .filter(|&i| arrived[i] && start[i].is_none())
                .collect();
            let running: Vec<usize> = (0..n)
                .filter(|&i| start[i].is_some() && !ended[i])
                .collect();
            let used: u64 = running.iter().map(|&i| jobs[i].procs).sum();
            let mut free = total - used;
            let mut started_now = Vec::new();
            match policy {
                RefPolicy::Fcfs => {
                    for &i in &waiting {
                        if jobs[i].procs > free {
                            break;
                        }
                        free -= jobs[i].procs;
                        started_now.push(i);
                    }
                }
                RefPolicy::Easy => {
                    let mut queue = waiting.clone();
                    while let Some(&h) = queue.first() {
                        if jobs[h].procs > free {
                            break;
                        }
                        free -= jobs[h].procs;
                        started_now.push(h);
                        queue.remove(0);
                    }
                    if let Some(&h) = queue.first() {
                        // Running jobs (including those just started) by estimated end.
                        let mut ends: Vec<(u64, u64)> = running
                            .iter()
                            .map(|&i| (start[i].unwrap() + jobs[i].estimate, jobs[i].procs))
                            .chain(
                                started_now
                                    .iter()
                                    .map(|&i| (now + jobs[i].estimate, jobs[i].procs)),
                            )
                            .collect();
                        ends.sort();
                        let mut avail = free;
                        let mut shadow = None;
                        for &(e, p) in &ends {
                            avail += p;
                            if avail >= jobs[h].procs {
                                shadow = Some(e);
                                break;
                            }
                        }
                        let shadow = shadow.expect("head fits once all running jobs end");
                        // Everything free at the shadow time, counting every job ending by then.
                        let at_shadow: u64 = free
                            + ends
                                .iter()
                                .filter(|&&(e, _)| e <= shadow)
                                .map(|&(_, p)| p)
                                .sum::<u64>();
                        let mut extra = at_shadow - jobs[h].procs;
                        for &i in &queue[1..] {
                            let j = jobs[i];
                            if j.procs > free {
                                continue;
                            }
                            if now + j.estimate <= shadow {
                                free -= j.procs;
                                started_now.push(i);
                            } else if j.procs <= extra {
                                free -= j.procs;
                                extra -= j.procs;
                                started_now.push(i);
                            }
                        }
                    }
                }
                RefPolicy::Conservative => {
                    let planned = |i: usize| jobs[i].estimate.max(1);
                    // Busy intervals [from, to) with processors: running jobs until their
                    // planned ends, waiting jobs at their reservations, except job `skip`.
                    let busy =
                        |reservation: &Vec<Option<u64>>, skip: usize| -> Vec<(u64, u64, u64)> {
                            let mut v = Vec::new();
                            for &k in running.iter().chain(waiting.iter()) {
                                if k == skip {
                                    continue;
                                }
                                let from = match start[k] {
                                    Some(s) => s,
                                    None => match reservation[k] {
                                        Some(r) => r,
                                        None => continue,
                                    },
                                };
                                v.push((from, from + planned(k), jobs[k].procs));
                            }
                            v
                        };
                    let earliest = |i: usize, reservation: &Vec<Option<u64>>| -> u64 {
                        let intervals = busy(reservation, i);
                        let used_at = |t: u64| -> u64 {
                            intervals
                                .iter()
                                .filter(|&&(a, b, _)| a <= t && t < b)
                                .map(|&(_, _, p)| p)
                                .sum()
                        };
                        // Candidate starts: now and every instant at which something ends.
                        let mut candidates: Vec<u64> = std::iter::once(now)
                            .chain(intervals.iter().map(|&(_, b, _)| b))
                            .filter(|&t| t >= now)
                            .collect();
                        candidates.sort();
                        candidates.dedup();
                        for &t in &candidates {
                            // Usage only rises where an interval starts: check those instants.
                            let fits = std::iter::once(t)
                                .chain(
                                    intervals
                                        .iter()
                                        .map(|&(a, _, _)| a)
                                        .filter(|&a| a > t && a < t + planned(i)),
                                )
                                .all(|q| used_at(q) + jobs[i].procs <= total);
                            if fits {
                                return t;
                            }
                        }
                        unreachable!("a job no larger than the machine always fits eventually")
                    };
                    if any_end {
                        for &i in &waiting {
                            if arrivals.contains(&i) {
                                continue;
                            }
                            let new = earliest(i, &reservation);
                            assert!(
                                new <= reservation[i].unwrap(),
                                "compression moved a job later"
                            );
                            reservation[i] = Some(new);
                        }
                    }
                    for &i in &arrivals {
                        reservation[i] = None;
                        let at = earliest(i, &reservation);
                        reservation[i] = Some(at);
                    }
                    for &i in &waiting {
                        if reservation[i] == Some(now) {
                            started_now.push(i);
                        }
                    }
                }
            }
            for &i in &started_now {
                start[i] = Some(now);
            }
            let zero_length_started = started_now.iter().any(|&i| jobs[i].work == 0);
            if !zero_length_started {
                break;
            }
        }
    }
    start
        .into_iter()
        .map(|s| s.expect("every job starts"))
        .collect()
}

/// A random SWF trace that stresses the tie rules: many equal submit times, some zero
/// runtimes, runtimes above estimates, estimates missing.
pub fn random_trace(seed: u64, jobs: usize, procs: u32) -> String {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut text = String::new();
    let mut t = 0u64;
    for id in 1..=jobs as u64 {
        if rng.gen_bool(0.7) {
            t += rng.gen_range(0..1_000);
        }
        let size = if rng.gen_bool(0.3) {
            rng.gen_range(1..=procs)
        } else {
            rng.gen_range(1..=(procs / 4).max(1))
        };
        let run = if rng.gen_bool(0.05) {
            0
        } else {
            rng.gen_range(1..2000)
        };
        let estimate = match rng.gen_range(0..10) {
            0 => 0,                            // unknown: falls back to the runtime
            1 => run / 2,                      // runtime above the estimate
            _ => run + rng.gen_range(0..3000), // the usual overestimate
        };
        text.push_str(&line(id, t, run, size, estimate));
    }
    text
}

/// Shorthand for whole seconds.
pub fn secs(s: u64) -> SimTime {
    SimTime::from_secs(s)
}

/// Shorthand for a duration in whole seconds.
pub fn dur(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}
