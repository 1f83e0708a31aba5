//! The node-level generator's distributions, checked on what it produces for a fixed seed:
//! runtime means and quantiles for each distribution, size shares (serial, powers of two),
//! estimates rounded to common values, session caps, the daily cycle of arrivals, and the
//! CTC-SP2-shaped batch class of workloads/README.md against the real trace.

mod common;

use clustersim::scenario;
use clustersim::workload::classes::{generate, ClassGenerator, DEFAULT_SESSION_CAP_S};
use clustersim::workload::distributions::common_estimates_s;
use clustersim::workload::Workload;

const JOBS: usize = 20_000;

/// The cluster of `one_class`: 512 nodes without GPUs or limits.
const PLAIN_CLUSTER: &str = "[cluster.node_types.node]\ncount = 512\ncores = 32\nmemory_gb = 256\n";

/// A workload of `JOBS` jobs of one class (given as the body of a
/// `[[workload.generator.classes]]` table) on a 512-node cluster without limits.
fn one_class(class: &str, seed: u64) -> Workload {
    generate_on(PLAIN_CLUSTER, class, seed)
}

/// A workload of `JOBS` jobs of one class on the cluster `cluster` (TOML tables).
fn generate_on(cluster: &str, class: &str, seed: u64) -> Workload {
    let text = format!(
        r#"
{cluster}
[workload.generator]
jobs = {JOBS}
load = 0.7
[[workload.generator.classes]]
name = "c"
share = 1.0
{class}
"#
    );
    let s = scenario::parse(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    s.validate().unwrap_or_else(|e| panic!("{e:?}"));
    let g = s.workload.generator.as_ref().unwrap();
    let w = generate(&ClassGenerator {
        jobs: g.jobs,
        load: g.load,
        classes: &g.classes,
        cluster: s.cluster.as_ref().unwrap(),
        placement: Default::default(),
        seed,
        arrivals: Default::default(),
    });
    assert_eq!(w.jobs.len() + w.dropped.len(), JOBS);
    w
}

fn runs_s(w: &Workload) -> Vec<f64> {
    let mut v: Vec<f64> = w
        .jobs
        .iter()
        .map(|j| j.work.as_ms() as f64 / 1000.0)
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn close(actual: f64, expected: f64, rel: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= rel * expected.abs(),
        "{what}: {actual} is not within {:.0} % of {expected}",
        rel * 100.0
    );
}

/// Standard normal quantile at 0.9.
const Z90: f64 = 1.281_551_565_5;

#[test]
fn lognormal_runtimes_have_their_median_and_spread() {
    let w = one_class("runtime_median_s = 1800\nruntime_sigma = 1.5", 1);
    let r = runs_s(&w);
    close(quantile(&r, 0.5), 1800.0, 0.04, "median");
    close(
        quantile(&r, 0.9),
        1800.0 * (1.5 * Z90).exp(),
        0.06,
        "90th percentile",
    );
    close(
        quantile(&r, 0.1),
        1800.0 * (-1.5 * Z90).exp(),
        0.06,
        "10th percentile",
    );
    // The same through the explicit form.
    let v = one_class(
        "runtime = { dist = \"lognormal\", median_s = 1800, sigma = 1.5 }",
        1,
    );
    assert_eq!(runs_s(&v), r);
}

#[test]
fn gamma_runtimes_have_their_mean_and_variance() {
    let (shape, mean_s) = (0.5, 3_600.0);
    let r = runs_s(&one_class(
        &format!("runtime = {{ dist = \"gamma\", shape = {shape}, mean_s = {mean_s} }}"),
        2,
    ));
    close(mean(&r), mean_s, 0.04, "mean");
    let m = mean(&r);
    let var = r.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / r.len() as f64;
    // Gamma(k, θ): variance k θ² = mean² / k.
    close(var, mean_s * mean_s / shape, 0.1, "variance");
}

#[test]
fn weibull_runtimes_have_their_median_and_mean() {
    let (shape, scale) = (0.7f64, 2_000.0f64);
    let r = runs_s(&one_class(
        &format!("runtime = {{ dist = \"weibull\", shape = {shape}, scale_s = {scale} }}"),
        3,
    ));
    close(
        quantile(&r, 0.5),
        scale * 2f64.ln().powf(1.0 / shape),
        0.04,
        "median",
    );
    // Mean λ Γ(1 + 1/k); Γ(1 + 1/0.7) = Γ(2.428571) = 1.265823.
    close(mean(&r), scale * 1.265_823, 0.05, "mean");
}

#[test]
fn histogram_runtimes_fill_their_bins_by_weight() {
    let r = runs_s(&one_class(
        "runtime = { dist = \"histogram\", edges_s = [0, 60, 600, 3600, 36000], weights = [1, 2, 3, 4] }",
        4,
    ));
    let share =
        |lo: f64, hi: f64| r.iter().filter(|&&x| x >= lo && x < hi).count() as f64 / r.len() as f64;
    close(share(0.0, 60.0), 0.1, 0.1, "bin 0-60 s");
    close(share(60.0, 600.0), 0.2, 0.07, "bin 60-600 s");
    close(share(600.0, 3_600.0), 0.3, 0.05, "bin 600-3600 s");
    close(share(3_600.0, 36_001.0), 0.4, 0.05, "bin 3600-36000 s");
    // Log-uniform within a bin: its geometric middle splits it in halves.
    let middle = (600f64 * 3_600.0).sqrt();
    close(
        share(600.0, middle) / share(600.0, 3_600.0),
        0.5,
        0.06,
        "log-uniform within a bin",
    );
}

#[test]
fn sizes_have_their_serial_and_power_of_two_shares() {
    let w = one_class(
        "runtime_median_s = 600\nnodes_dist = { max = 128, serial = 0.3, power_of_two = 0.7 }",
        5,
    );
    let nw = w.nodes.as_ref().unwrap();
    let sizes: Vec<u32> = nw.requests.iter().map(|r| r.nodes).collect();
    let serial = sizes.iter().filter(|&&n| n == 1).count() as f64 / sizes.len() as f64;
    close(serial, 0.3, 0.05, "serial share");
    let parallel: Vec<u32> = sizes.iter().copied().filter(|&n| n > 1).collect();
    let p2 = parallel.iter().filter(|n| n.is_power_of_two()).count() as f64 / parallel.len() as f64;
    close(p2, 0.7, 0.03, "power-of-two share among parallel jobs");
    assert!(sizes.iter().all(|&n| (1..=128).contains(&n)));
    // Log-uniform over [2, 129) without the powers of two' slices: sizes 3, 5-7 and 9-11
    // hold ln(4/3) + ln(8/5) + ln(12/9) = 1.045 of the remaining 3.306 (log units).
    let odd: Vec<u32> = parallel
        .iter()
        .copied()
        .filter(|n| !n.is_power_of_two())
        .collect();
    let low = odd.iter().filter(|&&n| n < 12).count() as f64 / odd.len() as f64;
    close(
        low,
        1.045 / 3.306,
        0.06,
        "share of 3-11 among the other parallel sizes",
    );
}

#[test]
fn estimates_are_common_walltimes_at_or_above_the_runtime() {
    let w = one_class("runtime_median_s = 3000\nruntime_sigma = 1.2", 6);
    let common = common_estimates_s();
    for j in &w.jobs {
        let (run, est) = (j.work.as_ms() / 1000, j.estimate.as_ms() / 1000);
        assert!(est >= run, "estimate {est} below runtime {run}");
        assert!(
            common.contains(&est) || est % 86_400 == 0,
            "estimate {est} s is not a common value"
        );
    }
    // The factor's median is 2: before rounding, half the estimates are within 2× the run.
    let within = w
        .jobs
        .iter()
        .filter(|j| j.estimate.as_ms() <= 2 * j.work.as_ms())
        .count() as f64
        / w.jobs.len() as f64;
    assert!(
        (0.15..0.5).contains(&within),
        "{within} of estimates within 2x (rounding raises some)"
    );
    let exact = one_class(
        "runtime_median_s = 3000\nestimate = { factor_median = 1.0, factor_sigma = 0.0, round_up_s = [] }",
        6,
    );
    assert!(exact.jobs.iter().all(|j| j.estimate == j.work));
}

#[test]
fn sessions_are_capped_at_two_hours_without_a_pool_limit() {
    let w = one_class(
        "kind = \"interactive\"\nruntime_median_s = 5400\nruntime_sigma = 0.8",
        7,
    );
    let r = runs_s(&w);
    let cap = DEFAULT_SESSION_CAP_S as f64;
    assert_eq!(*r.last().unwrap(), cap);
    let at_cap = r.iter().filter(|&&x| x == cap).count() as f64 / r.len() as f64;
    // P(lognormal(ln 5400, 0.8) > 7200) = P(Z > ln(4/3)/0.8 = 0.3596) = 0.3596.
    close(at_cap, 0.3596, 0.06, "share of sessions at the cap");
    let capped = one_class(
        "kind = \"interactive\"\nruntime_median_s = 5400\nmax_runtime_s = 3600",
        7,
    );
    assert!(capped.jobs.iter().all(|j| j.work.as_ms() <= 3_600_000));
    // Batch jobs have no default cap.
    let batch = one_class("runtime_median_s = 5400\nruntime_sigma = 0.8", 7);
    assert!(runs_s(&batch).last().unwrap() > &cap);
}

#[test]
fn arrivals_follow_the_daily_cycle() {
    // Three times the rate from 9:00 to 17:00.
    let cycle: Vec<String> = (0..24)
        .map(|h| if (9..17).contains(&h) { "3" } else { "1" }.to_string())
        .collect();
    let w = one_class(
        // Whole 16-node jobs of an hour: the 20,000 arrivals span about five weeks.
        &format!(
            "nodes = [16]\ncores_per_node = 32\nruntime_median_s = 3600\nruntime_sigma = 0.5\n\
             daily_cycle = [{}]",
            cycle.join(", ")
        ),
        8,
    );
    let mut per_hour = [0f64; 24];
    for j in &w.jobs {
        per_hour[(j.submit.as_ms() / 3_600_000 % 24) as usize] += 1.0;
    }
    let day: f64 = (9..17).map(|h| per_hour[h]).sum::<f64>() / 8.0;
    let night: f64 = (0..24)
        .filter(|h| !(9..17).contains(h))
        .map(|h| per_hour[h])
        .sum::<f64>()
        / 16.0;
    close(day / night, 3.0, 0.06, "day/night arrival ratio");
    // Within the peak, hours are alike.
    let peak: Vec<f64> = (9..17).map(|h| per_hour[h]).collect();
    let (lo, hi) = peak
        .iter()
        .fold((f64::MAX, 0f64), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(hi / lo < 1.2, "peak hours {peak:?}");
}

#[test]
fn a_seed_gives_one_workload() {
    let class =
        "runtime = { dist = \"gamma\", shape = 2.0, mean_s = 900 }\nnodes_dist = { max = 64 }";
    let key = |w: &Workload| -> Vec<(u64, u64, u64, u32)> {
        let nw = w.nodes.as_ref().unwrap();
        w.jobs
            .iter()
            .zip(&nw.requests)
            .map(|(j, r)| {
                (
                    j.submit.as_ms(),
                    j.work.as_ms(),
                    j.estimate.as_ms(),
                    r.nodes,
                )
            })
            .collect()
    };
    assert_eq!(key(&one_class(class, 11)), key(&one_class(class, 11)));
    assert_ne!(key(&one_class(class, 11)), key(&one_class(class, 12)));
}

/// The CTC-SP2-shaped batch class of workloads/README.md: the generator's size and runtime
/// shape against the real trace.
const CTC_CLASS: &str = r#"
nodes_dist = { max = 338 }     # serial 0.42, powers of two 0.70: CTC-SP2's shares
runtime = { dist = "lognormal", median_s = 1115, sigma = 3.5 }
max_runtime_s = 64800
estimate = { factor_median = 3.7, factor_sigma = 1.8 }
"#;

#[test]
fn the_ctc_shaped_class_matches_ctc_sp2() {
    let Some(shared) = common::shared_dir("the_ctc_shaped_class_matches_ctc_sp2") else {
        return;
    };
    let trace = clustersim::workload::read_trace_file(
        &shared.join("traces/swf/CTC-SP2-1996-3.1-cln.swf.gz"),
        Default::default(),
        &Default::default(),
    )
    .unwrap();
    let real: Vec<(u32, f64)> = trace
        .jobs
        .iter()
        .filter(|j| j.work.as_ms() > 0)
        .map(|j| (j.procs, j.work.as_ms() as f64 / 1000.0))
        .collect();
    let w = one_class(CTC_CLASS, 1);
    let nw = w.nodes.as_ref().unwrap();
    let generated: Vec<(u32, f64)> = w
        .jobs
        .iter()
        .zip(&nw.requests)
        .map(|(j, r)| (r.nodes, j.work.as_ms() as f64 / 1000.0))
        .collect();
    let stats = |v: &[(u32, f64)]| {
        let n = v.len() as f64;
        let serial = v.iter().filter(|(s, _)| *s == 1).count() as f64 / n;
        let par: Vec<u32> = v.iter().map(|(s, _)| *s).filter(|&s| s > 1).collect();
        let p2 = par.iter().filter(|s| s.is_power_of_two()).count() as f64 / par.len() as f64;
        let mut runs: Vec<f64> = v.iter().map(|(_, r)| *r).collect();
        runs.sort_by(f64::total_cmp);
        (
            serial,
            p2,
            quantile(&runs, 0.5),
            quantile(&runs, 0.25),
            quantile(&runs, 0.75),
        )
    };
    let (rs, rp, rm, rq1, rq3) = stats(&real);
    let (gs, gp, gm, gq1, gq3) = stats(&generated);
    close(gs, rs, 0.05, "serial share vs CTC-SP2");
    close(gp, rp, 0.05, "power-of-two share vs CTC-SP2");
    close(gm, rm, 0.2, "median runtime vs CTC-SP2");
    close(gq1, rq1, 0.35, "runtime q25 vs CTC-SP2");
    close(gq3, rq3, 0.35, "runtime q75 vs CTC-SP2");
}

#[test]
fn idle_sessions_hold_resources_and_the_metrics_say_how_much_sat_idle() {
    let run = |class: &str| {
        let w = one_class(class, 9);
        let outcome = clustersim::run::run(
            &w,
            clustersim::policy::PolicyKind::Easy,
            &Default::default(),
            &mut |_| {},
        )
        .unwrap();
        let s = outcome.summary.metrics.resources.unwrap().sessions;
        (w, s)
    };
    let base = "kind = \"interactive\"\ncores_per_node = 2\nruntime_median_s = 1800\nruntime_sigma = 0.6\n";
    let (w, s) = run(&format!("{base}idle_fraction = {{ min = 0.4, max = 0.8 }}"));
    let nw = w.nodes.as_ref().unwrap();
    let shares: Vec<f64> = nw
        .users
        .iter()
        .map(|u| f64::from(u.idle_fraction))
        .collect();
    assert_eq!(shares.len(), w.jobs.len());
    assert!(shares.iter().all(|f| (0.4..=0.8).contains(f)));
    close(mean(&shares), 0.6, 0.02, "mean idle share");
    assert_eq!(s.jobs, w.jobs.len() as u64);
    // Held core-hours: 2 cores × each session's length.
    let held: f64 = w
        .jobs
        .iter()
        .map(|j| 2.0 * j.work.as_ms() as f64 / 3_600_000.0)
        .sum();
    close(s.held_core_hours, held, 1e-9, "held core-hours");
    close(
        s.idle_core_hours / s.held_core_hours,
        0.6,
        0.03,
        "idle share of held core-hours",
    );
    // A fixed share gives exactly that share; without one, nothing is idle, and the idle
    // stream leaves every other number unchanged.
    let (_, fixed) = run(&format!("{base}idle_fraction = 0.25"));
    close(
        fixed.idle_core_hours / fixed.held_core_hours,
        0.25,
        1e-6,
        "fixed idle share",
    );
    let (plain, none) = run(base);
    assert_eq!(none.idle_core_hours, 0.0);
    assert!(plain.nodes.as_ref().unwrap().users.is_empty());
    let times = |w: &Workload| {
        w.jobs
            .iter()
            .map(|j| (j.submit, j.work))
            .collect::<Vec<_>>()
    };
    assert_eq!(times(&plain), times(&w));
}

/// The GPU-training class of workloads/README.md.
const TRAINING_CLASS: &str = r#"
gpus = [1, 2, 4, 8, 16, 32, 64]
gpus_weights = [0.981, 0.004, 0.004, 0.011, 0.0025, 0.0012, 0.0006]
cores_per_node = 8
runtime = { dist = "lognormal", median_s = 7200, sigma = 1.9 }
"#;

#[test]
fn the_training_class_has_openbs_gpu_skew() {
    let w = generate_on(
        "[cluster.node_types.gpu]\ncount = 256\ncores = 64\nmemory_gb = 1024\ngpus = 8\n",
        TRAINING_CLASS,
        1,
    );
    let nw = w.nodes.as_ref().unwrap();
    let totals: Vec<u32> = nw
        .requests
        .iter()
        .map(|r| r.nodes * r.gpus_per_node)
        .collect();
    // Packed: 64 GPUs on 8 nodes of 8.
    assert!(nw
        .requests
        .iter()
        .all(|r| r.gpus_per_node <= 8 && r.nodes <= 8));
    assert!(totals.contains(&64));
    let Some(shared) = common::shared_dir("the_training_class_has_openbs_gpu_skew") else {
        return;
    };
    // openb's whole-GPU pods (gpu_milli 1000), by GPU count, read straight from the file.
    let file =
        std::fs::File::open(shared.join("traces/gpu/openb_pod_list_default.csv.gz")).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(file), &mut text).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let (num, milli) = (
        header.iter().position(|h| *h == "num_gpu").unwrap(),
        header.iter().position(|h| *h == "gpu_milli").unwrap(),
    );
    let mut real = [0f64; 4];
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        if f[milli] == "1000" {
            if let Some(k) = [1, 2, 4, 8].iter().position(|&n| f[num] == n.to_string()) {
                real[k] += 1.0;
            }
        }
    }
    let mut generated = [0f64; 4];
    for &t in &totals {
        if let Some(k) = [1u32, 2, 4, 8].iter().position(|&n| n == t) {
            generated[k] += 1.0;
        }
    }
    let (rs, gs): (f64, f64) = (real.iter().sum(), generated.iter().sum());
    close(
        generated[0] / gs,
        real[0] / rs,
        0.01,
        "share of 1-GPU jobs among 1-8 GPUs",
    );
    close(
        generated[3] / gs,
        real[3] / rs,
        0.25,
        "share of 8-GPU jobs among 1-8 GPUs",
    );
}

/// `[workload.generator]`'s `within_s` and `array_tasks`: a burst spaces its submissions
/// evenly over its window; arrays submit their tasks at one instant, and arrive far enough
/// apart that the load holds.
#[test]
fn bursts_space_submissions_evenly_and_arrays_share_one_instant() {
    let dir = common::scratch("generator-bursts");
    let base = format!(
        "name = \"b\"\n{PLAIN_CLUSTER}[workload.generator]\njobs = 100\nwithin_s = 10\n\
         [[workload.generator.classes]]\nname = \"c\"\nshare = 1.0\ncores_per_node = 1\n\
         memory_gb_per_node = 1\nruntime_median_s = 60\n"
    );
    let plan = |name: &str, text: &str| {
        let path = common::scenario_file(&dir, name, text);
        let loaded = scenario::load(&path).unwrap();
        clustersim::plan::plan_run(&Default::default(), Some(&loaded), None)
            .unwrap()
            .workload
    };
    let submits = |w: &Workload| -> Vec<u64> { w.jobs.iter().map(|j| j.submit.as_ms()).collect() };
    // 100 submissions within 10 s: one every 100 ms from 0.
    let burst = plan("burst", &base);
    assert_eq!(
        submits(&burst),
        (0..100).map(|k| k * 100).collect::<Vec<u64>>()
    );
    // 25 arrays of 4 tasks within 10 s: one array every 400 ms.
    let arrays = plan(
        "burst-arrays",
        &base.replace("within_s = 10\n", "within_s = 10\narray_tasks = 4\n"),
    );
    assert_eq!(
        submits(&arrays),
        (0..100).map(|k| k / 4 * 400).collect::<Vec<u64>>()
    );
    // Poisson arrays of 8: 500 instants, spanning about what 4,000 single jobs span.
    let stream = base
        .replace("within_s = 10\n", "")
        .replace("jobs = 100", "jobs = 4000");
    let singles = plan("singles", &stream);
    let arrays = plan(
        "arrays",
        &stream.replace("jobs = 4000", "jobs = 4000\narray_tasks = 8"),
    );
    // Each array's 8 tasks are consecutive and share one instant (two arrays may share one
    // too: gaps are rounded to the millisecond).
    assert!(submits(&arrays)
        .chunks(8)
        .all(|tasks| tasks.iter().all(|&t| t == tasks[0])));
    let span = |w: &Workload| w.jobs.last().unwrap().submit.as_ms() as f64;
    let ratio = span(&arrays) / span(&singles);
    assert!((0.8..1.25).contains(&ratio), "span ratio {ratio}");

    common::assert_located_errors(
        &dir,
        vec![
            (
                "zero-tasks",
                base.replace("within_s = 10\n", "within_s = 10\narray_tasks = 0\n"),
                "array_tasks",
                "workload.generator.array_tasks: expected 1 to 4000001 tasks, got 0",
            ),
            (
                "negative",
                base.replace("within_s = 10", "within_s = -1"),
                "within_s",
                "workload.generator.within_s: expected 0 to 1e9 s, got -1",
            ),
        ],
    );
}
