//! Patience: a user whose job has not started within their patience gives up on it, and it
//! leaves the queue with outcome `abandoned`. Hand-computed cases under every policy (the
//! tie at exactly submit + patience included), the generator's `patience` key, and the
//! run's outputs.

mod common;

use clustersim::check::{check_nodes, check_schedule};
use clustersim::cluster::nodes::Placement;
use clustersim::lifecycle::{Outcome, RunResult};
use clustersim::policy::PolicyKind;
use clustersim::simulation::simulate;
use clustersim::workload::classes::UserBehaviour;
use clustersim::workload::Workload;
use common::nodes::{cluster, workload, TWO_GPU_NODES};
use common::{clustersim_in_repo, scratch, text};

/// Job 1 holds both 8-GPU nodes from 0 to 100. One-GPU jobs wait behind it: job 2 (submit
/// 10, patience 60) gives up at 70; job 3 (submit 20, patience 80) gives up at 100, the
/// instant job 1 ends (its user leaves before the pass at 100); job 4 (submit 30,
/// patience 71) starts at 100, a second before its user would leave; job 5 (submit 40)
/// waits forever and starts at 100.
fn impatient() -> Workload {
    let spec = cluster(TWO_GPU_NODES);
    let jobs = [
        (0, 100, 100, 2, 8),
        (10, 50, 50, 1, 1),
        (20, 50, 50, 1, 1),
        (30, 50, 50, 1, 1),
        (40, 10, 10, 1, 1),
    ];
    let mut w = workload(&spec, &jobs, Placement::FirstFit);
    let patience_s = [u64::MAX, 60, 80, 71, u64::MAX];
    w.nodes.as_mut().unwrap().users = patience_s
        .iter()
        .map(|&patience_s| UserBehaviour {
            patience_s,
            ..UserBehaviour::default()
        })
        .collect();
    w
}

fn run(w: &Workload, policy: PolicyKind) -> RunResult {
    let mut p = policy.build_for(w).unwrap();
    let r = simulate(w, p.as_mut(), &mut |_| {}).expect("the run completes");
    check_schedule(w, &r).unwrap();
    check_nodes(w, &r).unwrap();
    r
}

#[test]
fn users_give_up_on_jobs_not_started_within_their_patience() {
    let w = impatient();
    for policy in PolicyKind::ALL {
        let r = run(&w, policy);
        let outcomes: Vec<Outcome> = r.log.iter().map(|l| l.outcome).collect();
        use Outcome::{Abandoned, Completed};
        assert_eq!(
            outcomes,
            [Completed, Abandoned, Abandoned, Completed, Completed],
            "{policy}"
        );
        let end_s: Vec<u64> = r.end.iter().map(|t| t.as_ms() / 1000).collect();
        assert_eq!(end_s[1..3], [70, 100], "{policy}: when they gave up");
        let start_s: Vec<u64> = r.start.iter().map(|t| t.as_ms() / 1000).collect();
        assert_eq!(start_s[3..], [100, 100], "{policy}");
        assert!(r.log[1].segments == 0 && r.log[2].segments == 0, "{policy}");
    }
}

#[test]
fn a_job_that_started_is_not_given_up_on() {
    // Job 4's patience would end at 101: it started at 100, so that event was withdrawn and
    // never fired. Events: 5 arrivals, 3 stops, 2 users giving up (fcfs and easy ask for no
    // wake-ups).
    let w = impatient();
    for policy in [PolicyKind::Fcfs, PolicyKind::Easy] {
        assert_eq!(run(&w, policy).events, 10, "{policy}");
    }
}

#[test]
fn without_patience_nobody_gives_up() {
    let mut w = impatient();
    w.nodes.as_mut().unwrap().users.clear();
    for policy in PolicyKind::ALL {
        let r = run(&w, policy);
        assert!(r.log.iter().all(|l| l.outcome == Outcome::Completed));
    }
}

const SESSIONS: &str = r#"
name = "impatient-sessions"
seed = 3

[cluster.node_types.gpu]
count = 2
cores = 16
memory_gb = 64
gpus = 2

[workload.generator]
jobs = 300
load = 1.5

[[workload.generator.classes]]
name = "notebook"
kind = "interactive"
share = 1.0
gpus_per_node = [1]
cores_per_node = 4
runtime_median_s = 1800
patience = { dist = "lognormal", median_s = 120, sigma = 1.0 }
"#;

#[test]
fn a_scenario_turns_patience_on_and_the_outputs_count_abandoned_requests() {
    let dir = scratch("patience-scenario");
    let scenario = dir.join("sessions.toml");
    std::fs::write(&scenario, SESSIONS).unwrap();
    // Runs the scenario into `out` (CSV tables, no plots unless `plots`) with `more` flags;
    // returns its summary.
    let run_into = |out: &std::path::Path, plots: bool, more: &[&str]| {
        let mut args = vec![
            "run",
            scenario.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(["--format", "csv", "--force"]);
        if !plots {
            args.push("--no-plots");
        }
        args.extend(more);
        let o = clustersim_in_repo(&args);
        assert!(o.status.success(), "{}", text(&o));
        let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
        serde_json::from_str::<serde_json::Value>(&summary).unwrap()
    };
    let out = dir.join("out");
    let summary = run_into(&out, false, &[]);
    let abandoned = summary["metrics"]["lifecycle"]["outcomes"]["abandoned"]
        .as_u64()
        .unwrap();
    let jobs = std::fs::read_to_string(out.join("jobs.csv")).unwrap();
    let rows = jobs.lines().filter(|l| l.contains(",abandoned,")).count() as u64;
    assert!(abandoned > 0, "at load 1.5 some users give up");
    assert_eq!(rows, abandoned, "jobs.csv says which");
    let s = &summary["metrics"]["session_start"];
    assert_eq!(s["abandoned"].as_u64(), Some(abandoned));
    assert_eq!(s["requests"].as_u64(), Some(300));
    assert_eq!(summary["metrics"]["session_start_by_class"]["notebook"], *s);
    // Same scenario, same bytes; the target only changes the metrics.
    let again_dir = dir.join("again");
    let again = run_into(&again_dir, false, &["--session-start-target", "30"]);
    assert_eq!(
        jobs,
        std::fs::read_to_string(again_dir.join("jobs.csv")).unwrap()
    );
    assert_eq!(again["metrics"]["session_start"]["target_s"], 30.0);
    assert_eq!(summary["metrics"]["session_start"]["target_s"], 60.0);
    // `compare` shows the sessions' rows, here where there were sessions.
    let o = clustersim_in_repo(&[
        "compare",
        out.to_str().unwrap(),
        again_dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let table = text(&o);
    assert!(table.contains("sessions started on target (%)"), "{table}");
    assert!(table.contains("sessions abandoned"), "{table}");
    // The report has a sessions section: all sessions, then each class.
    let report = dir.join("report");
    run_into(&report, true, &[]);
    let page = std::fs::read_to_string(report.join("report.html")).unwrap();
    let section = &page[page
        .find("<section id=\"sessions\">")
        .expect("a sessions section")..];
    let section = &section[..section.find("</section>").unwrap()];
    assert!(
        section.contains("<td>all sessions</td><td>300</td>"),
        "{section}"
    );
    assert!(
        section.contains("<td>notebook</td><td>300</td>"),
        "{section}"
    );
    assert!(
        section.contains(&format!("<td>{abandoned}</td>")),
        "{section}"
    );
    // And the time-to-start plot, with the target marked.
    let svg = std::fs::read_to_string(report.join("plots/session_start.svg")).unwrap();
    assert!(svg.contains("target (1 min)"), "the target's legend");
    assert!(page.contains("Session time to start"));
}

#[test]
fn a_bad_patience_is_an_error_naming_its_key() {
    let dir = scratch("patience-bad");
    let scenario = dir.join("bad.toml");
    std::fs::write(
        &scenario,
        SESSIONS.replace("median_s = 120", "median_s = -5"),
    )
    .unwrap();
    let o = clustersim_in_repo(&["validate", scenario.to_str().unwrap()]);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(t.contains("patience.median_s"), "{t}");
    assert!(t.contains("bad.toml"), "{t}");
}

#[test]
fn session_start_metrics_count_waits_against_the_target_and_those_given_up_on() {
    use clustersim::engine::time::SimDuration;
    use clustersim::metrics::{compute, MetricOptions};
    use clustersim::workload::JobKind;
    let mut w = impatient();
    // Jobs 2 to 5 are sessions; job 1 is the batch job that holds the nodes.
    for j in &mut w.jobs[1..] {
        j.kind = JobKind::Interactive;
    }
    let r = run(&w, PolicyKind::Easy);
    let options = MetricOptions {
        bsld_tau: SimDuration::from_secs(10),
        session_start_target: SimDuration::from_secs(60),
    };
    let m = compute(&w, &r, &options);
    let s = &m.session_start;
    // Job 2 and job 3 given up on; job 4 waited 70 s, job 5 60 s (on target: at most 60).
    assert_eq!(
        (s.requests, s.started, s.abandoned, s.timeouts),
        (4, 2, 2, 0)
    );
    assert_eq!(s.abandoned_share, 0.5);
    assert_eq!(s.on_target_share, 0.25);
    // Nearest rank of [60, 70]: p50 is the first, p95 and p99 the second.
    assert_eq!(
        (
            s.time_to_start_p50_s,
            s.time_to_start_p95_s,
            s.time_to_start_p99_s,
            s.time_to_start_max_s
        ),
        (60.0, 70.0, 70.0, 70.0)
    );
    assert_eq!(s.target_s, 60.0);
    // One class, "test": the same figures.
    assert_eq!(m.session_start_by_class.len(), 1);
    assert_eq!(&m.session_start_by_class["test"], s);
    // A target of 59 s: nobody on target.
    let strict = MetricOptions {
        session_start_target: SimDuration::from_secs(59),
        ..options
    };
    assert_eq!(compute(&w, &r, &strict).session_start.on_target_share, 0.0);
}

/// Start-up latency: every fresh start spends it first, holding the nodes and using the
/// limit, before any work. Job 1 (a session, 100 s of work, limit 200 s, start-up 10 s)
/// runs 0–110 on node 0 and is usable at 10 s. Job 2 (batch, 100 s, limit 105 s, start-up
/// 10 s) times out at 105 s on node 1 with 95 s done.
#[test]
fn a_start_up_latency_comes_before_the_work_and_uses_the_limit() {
    use clustersim::engine::time::SimDuration;
    use clustersim::metrics::{compute, MetricOptions};
    use clustersim::workload::JobKind;
    let spec = cluster(TWO_GPU_NODES);
    let mut w = workload(
        &spec,
        &[(0, 100, 200, 1, 8), (0, 100, 105, 1, 8)],
        Placement::FirstFit,
    );
    w.jobs[0].kind = JobKind::Interactive;
    w.nodes.as_mut().unwrap().users = vec![
        UserBehaviour {
            startup_ms: 10_000,
            ..UserBehaviour::default()
        };
        2
    ];
    for policy in PolicyKind::ALL {
        let r = run(&w, policy);
        let ends: Vec<(u64, Outcome)> = (0..2)
            .map(|i| (r.end[i].as_ms() / 1000, r.log[i].outcome))
            .collect();
        assert_eq!(
            ends,
            [(110, Outcome::Completed), (105, Outcome::Timeout)],
            "{policy}"
        );
        assert_eq!(r.log[1].work_done.as_ms(), 95_000, "{policy}");
        assert!(r.segments.iter().all(|s| s.startup_ms == 10_000));
        let m = compute(
            &w,
            &r,
            &MetricOptions {
                bsld_tau: SimDuration::from_secs(10),
                session_start_target: SimDuration::from_secs(10),
            },
        );
        assert_eq!(m.session_start.time_to_start_max_s, 10.0, "{policy}");
        assert_eq!(m.session_start.on_target_share, 1.0, "{policy}");
    }
}

/// Idle waste by hour of the day: a session of 8 GPUs running 1,800–9,000 s, idle for the
/// second half of its run (an idle share of 0.5: 5,400–9,000 s), wastes 4 GPU-hours in
/// hour 1 and 4 in hour 2, as much as the run's total says; `report.html` draws it.
#[test]
fn idle_waste_is_binned_by_hour_of_the_day() {
    use clustersim::metrics::resources::idle_by_hour_of_day;
    use clustersim::workload::JobKind;
    let spec = cluster(TWO_GPU_NODES);
    let mut w = workload(&spec, &[(1800, 7200, 7200, 1, 8)], Placement::FirstFit);
    w.jobs[0].kind = JobKind::Interactive;
    w.nodes.as_mut().unwrap().users = vec![UserBehaviour {
        idle_fraction: 0.5,
        ..UserBehaviour::default()
    }];
    let r = run(&w, PolicyKind::Easy);
    let by_hour = idle_by_hour_of_day(&w, &r);
    let gpu_hours: Vec<f64> = by_hour.iter().map(|h| h[1]).collect();
    let mut expected = vec![0.0; 24];
    expected[1] = 4.0;
    expected[2] = 4.0;
    assert_eq!(gpu_hours, expected);
    assert!(by_hour.iter().all(|h| h[2] == 0.0), "no MIG slices");
}

/// A class's time limit: every session asks for 3,600 s and runs 5,000 s (σ 0), so each
/// is stopped at 3,600 s with outcome `timeout`; without the key the same class completes
/// (its runtime capped at the default session cap of 2 hours).
#[test]
fn sessions_longer_than_their_class_time_limit_end_as_timeout() {
    use clustersim::workload::classes::{generate, ClassGenerator, JobClassSpec};
    let classes = |limit: &str| -> Vec<JobClassSpec> {
        #[derive(serde::Deserialize)]
        struct C {
            c: Vec<JobClassSpec>,
        }
        let text = format!(
            "[[c]]\nname = \"shell\"\nshare = 1\nkind = \"interactive\"\ncores_per_node = 2\n\
             runtime_median_s = 5000\nruntime_sigma = 0\n{limit}"
        );
        toml::from_str::<C>(&text).unwrap().c
    };
    let spec = cluster(TWO_GPU_NODES);
    for (limit, outcome, run_ms) in [
        ("time_limit_s = 3600\n", Outcome::Timeout, 3_600_000),
        ("", Outcome::Completed, 5_000_000),
    ] {
        let classes = classes(limit);
        let w = generate(&ClassGenerator {
            jobs: 20,
            load: 0.3,
            classes: &classes,
            cluster: &spec,
            placement: Placement::FirstFit,
            seed: 3,
            arrivals: Default::default(),
        });
        for policy in PolicyKind::ALL {
            let r = run(&w, policy);
            for (i, log) in r.log.iter().enumerate() {
                assert_eq!(log.outcome, outcome, "{policy} job {i} ({limit:?})");
                assert_eq!(log.ran.as_ms(), run_ms, "{policy} job {i}");
            }
        }
    }
}

/// The sessions' example scenarios run from a clean checkout and show what their
/// paragraphs in scenarios/README.md say.
#[test]
fn the_session_examples_run_and_show_what_they_claim() {
    let dir = scratch("session-examples");
    let out = dir.join("facility");
    let (_, summary) = common::run_scenario("scenarios/research-facility.toml", &out, &[]);
    let m = &summary["metrics"];
    assert!(m["session_start"]["on_target_share"].as_f64().unwrap() > 0.95);
    assert!(
        m["session_start"]["timeouts"].as_u64().unwrap() > 0,
        "the 2-hour limit"
    );
    let pool = &m["resources"]["partitions"][1];
    assert_eq!(pool["name"], "interactive");
    assert!(pool["cores_utilization"].as_f64().unwrap() < 0.1, "{pool}");
    assert!(out.join("plots/idle_by_hour.svg").is_file());

    let out = dir.join("mig");
    let o = clustersim_in_repo(&[
        "sweep",
        "scenarios/mig-notebooks.toml",
        "--out",
        out.to_str().unwrap(),
        "--force",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let points = std::fs::read_to_string(out.join("points.csv")).unwrap();
    let mut lines = points.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (on, idle, culled) = (
        col("policy.culler.enabled"),
        col("resources.sessions.idle_mig_slice_hours.mean"),
        col("culler.sessions_culled.mean"),
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let row = |enabled: &str| rows.iter().find(|r| r[on] == enabled).unwrap();
    let idle_of = |r: &Vec<&str>| r[idle].parse::<f64>().unwrap();
    assert!(
        idle_of(row("true")) < idle_of(row("false")) / 2.0,
        "{points}"
    );
    assert!(
        row("true")[culled].parse::<f64>().unwrap() > 100.0,
        "{points}"
    );

    let out = dir.join("credits");
    let (table, _) = common::run_scenario(
        "scenarios/enterprise-credits.toml",
        &out,
        &["--format", "csv"],
    );
    assert!(table.contains("credits billed beyond allowances"));
    let table = std::fs::read_to_string(out.join("chargeback.csv")).unwrap();
    let teams: Vec<&str> = table
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(teams, ["nlp", "speech", "vision"], "{table}");
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("<h2>Credits</h2>"));
}

/// Credits: a session of 8 GPUs running 10 hours from 0, at $2 per GPU-hour ($16 an hour),
/// against a $100 monthly allowance, costs $160: $60 billed beyond it, the credit running
/// out at 6.25 h (22,500 s). A batch job beside it is not charged (interactive credits).
#[test]
fn a_credit_runs_out_at_a_known_instant_and_the_overage_is_billed() {
    use clustersim::credits::{chargeback, Credits, Prices};
    use clustersim::workload::JobKind;
    let spec = cluster(TWO_GPU_NODES);
    let mut w = workload(
        &spec,
        &[(0, 36_000, 36_000, 1, 8), (0, 36_000, 36_000, 1, 8)],
        Placement::FirstFit,
    );
    w.jobs[0].kind = JobKind::Interactive;
    w.jobs[0].group = 7;
    let credits = Credits {
        monthly_allowance: 100.0,
        month_s: 30 * 86_400,
        interactive_only: true,
        charge_idle: true,
        prices: vec![Prices {
            gpu_hour: 2.0,
            ..Prices::default()
        }],
        when_exhausted: clustersim::credits::WhenExhausted::Bill,
    };
    for policy in PolicyKind::ALL {
        let r = run(&w, policy);
        let m = chargeback(&w, &r, &credits);
        assert_eq!(m.accounts, 1, "{policy}");
        let row = &m.chargeback[0];
        assert_eq!(row.account, "group 7");
        assert!((row.gpu_hours - 80.0).abs() < 1e-9, "{row:?}");
        assert!((row.cost - 160.0).abs() < 1e-9, "{row:?}");
        assert!((row.overage - 60.0).abs() < 1e-9, "{row:?}");
        assert_eq!(row.exhausted_at_s, Some(22_500.0), "{policy}");
    }
}

/// Credits that deny: sessions of account `group 7`, 8 GPUs at $2 per GPU-hour ($16 an
/// hour), against $100 a month of 40,000 s. Session 0 runs 0–36,000 s; session 1 arrives at
/// 20,000 s ($88.89 accrued: admitted) and runs 1,000 s on the other node; session 2
/// arrives at 23,000 s ($102.22 + $4.44 accrued: rejected, cancelled, never queued); session
/// 3 arrives at 40,100 s, in the next month (nothing accrued: admitted).
#[test]
fn a_spent_credit_rejects_the_accounts_next_session_until_the_next_month() {
    use clustersim::credits::{Credits, Prices, WhenExhausted};
    use clustersim::lifecycle::QosLimit;
    use clustersim::workload::{JobIdx, JobKind};
    let spec = cluster(TWO_GPU_NODES);
    let mut w = workload(
        &spec,
        &[
            (0, 36_000, 36_000, 1, 8),
            (20_000, 1_000, 1_000, 1, 8),
            (23_000, 1_000, 1_000, 1, 8),
            (40_100, 1_000, 1_000, 1, 8),
        ],
        Placement::FirstFit,
    );
    for j in &mut w.jobs {
        j.kind = JobKind::Interactive;
        j.group = 7;
    }
    let credits = |when_exhausted| Credits {
        monthly_allowance: 100.0,
        month_s: 40_000,
        interactive_only: true,
        charge_idle: true,
        prices: vec![Prices {
            gpu_hour: 2.0,
            ..Prices::default()
        }],
        when_exhausted,
    };
    for policy in PolicyKind::ALL {
        let options = clustersim::run::RunOptions {
            credits: Some(credits(WhenExhausted::Deny)),
            ..clustersim::run::RunOptions::default()
        };
        let o = clustersim::run::run(&w, policy, &options, &mut |_| {}).unwrap();
        let r = &o.result;
        check_schedule(&w, r).unwrap();
        let rejected = r.rejected.as_ref().unwrap();
        assert_eq!(rejected.len(), 1, "{policy}");
        assert_eq!(
            (rejected[0].job, rejected[0].limit),
            (JobIdx(2), QosLimit::Credit)
        );
        assert_eq!(r.log[2].outcome, Outcome::Cancelled);
        assert_eq!(r.log[2].segments, 0);
        for j in [0, 1, 3] {
            assert_eq!(r.log[j].outcome, Outcome::Completed, "{policy}: job {j}");
        }
        let qos = o.summary.metrics.qos.as_ref().unwrap();
        assert_eq!((qos.rejected, qos.by_credit), (1, 1));
        // Billing instead: every session runs.
        let options = clustersim::run::RunOptions {
            credits: Some(credits(WhenExhausted::Bill)),
            ..clustersim::run::RunOptions::default()
        };
        let o = clustersim::run::run(&w, policy, &options, &mut |_| {}).unwrap();
        assert!(o.result.rejected.is_none());
        assert!(o.result.log.iter().all(|l| l.outcome == Outcome::Completed));
    }
}

/// Credits that deprioritize, on the two 8-GPU nodes ($2 per GPU-hour, $100 a month of
/// 100,000 s). Session 0 (account `group 7`, 8 GPUs: $16 an hour) and batch job 1 (`group
/// 8`, not charged) hold one node each from 0 to 30,000 s, each with a 40,000 s limit.
/// Session 2 (`group 7`, both nodes, 1,000 s) arrives at 23,000 s, with $102.22 accrued:
/// admitted, demoted. Session 3 (`group 8`, nothing accrued; both nodes, 1,000 s) arrives
/// at 24,000 s, not demoted. Both wait until 30,000 s, when 0 and 1 end; 3 is ahead in the
/// queue: it starts at 30,000 and 2 at 31,000, under every policy (conservative planned 2
/// at 40,000 and 3 at 41,000; compression, in queue order, moves 3 to 30,000 first, then
/// 2 to 31,000). Billing instead, arrival order: 2 at 30,000, 3 at 31,000.
fn deprioritize_workload() -> Workload {
    use clustersim::workload::JobKind;
    let spec = cluster(TWO_GPU_NODES);
    let mut w = workload(
        &spec,
        &[
            (0, 30_000, 40_000, 1, 8),
            (0, 30_000, 40_000, 1, 8),
            (23_000, 1_000, 1_000, 2, 8),
            (24_000, 1_000, 1_000, 2, 8),
        ],
        Placement::FirstFit,
    );
    for (j, (kind, group)) in w.jobs.iter_mut().zip([
        (JobKind::Interactive, 7),
        (JobKind::Batch, 8),
        (JobKind::Interactive, 7),
        (JobKind::Interactive, 8),
    ]) {
        j.kind = kind;
        j.group = group;
    }
    w
}

fn deprioritize_credits(
    monthly_allowance: f64,
    when_exhausted: clustersim::credits::WhenExhausted,
) -> clustersim::credits::Credits {
    clustersim::credits::Credits {
        monthly_allowance,
        month_s: 100_000,
        interactive_only: true,
        charge_idle: true,
        prices: vec![clustersim::credits::Prices {
            gpu_hour: 2.0,
            ..clustersim::credits::Prices::default()
        }],
        when_exhausted,
    }
}

fn run_with_credits(
    w: &Workload,
    policy: PolicyKind,
    credits: clustersim::credits::Credits,
) -> clustersim::run::RunOutcome {
    let options = clustersim::run::RunOptions {
        credits: Some(credits),
        ..clustersim::run::RunOptions::default()
    };
    let o = clustersim::run::run(w, policy, &options, &mut |_| {}).unwrap();
    check_schedule(w, &o.result).unwrap();
    check_nodes(w, &o.result).unwrap();
    clustersim::check::check_policy(policy, w, &o.result).unwrap();
    o
}

#[test]
fn a_demoted_session_that_arrived_first_starts_after_one_that_was_not() {
    use clustersim::credits::WhenExhausted;
    use clustersim::engine::time::SimTime;
    use clustersim::workload::JobIdx;
    let w = deprioritize_workload();
    for policy in PolicyKind::ALL {
        let o = run_with_credits(
            &w,
            policy,
            deprioritize_credits(100.0, WhenExhausted::Deprioritize),
        );
        let r = &o.result;
        assert_eq!(r.demoted, Some(vec![JobIdx(2)]), "{policy}");
        assert_eq!(starts_s_of(r), [0, 0, 31_000, 30_000], "{policy}");
        assert!(r.log.iter().all(|l| l.outcome == Outcome::Completed));
        // Admitted, not rejected: no QOS block, and the credits count it.
        assert!(r.rejected.is_none() && o.summary.metrics.qos.is_none());
        let credits = o.summary.metrics.credits.as_ref().unwrap();
        assert_eq!(credits.deprioritized, Some(1), "{policy}");
        let json = serde_json::to_value(&o.summary).unwrap();
        assert_eq!(json["metrics"]["credits"]["deprioritized"], 1);
        // Both planned the demoted session at the limits' end first (EASY as the head
        // before 3 arrived); it started earlier, so the promise held anyway.
        if policy != PolicyKind::Fcfs {
            assert_eq!(r.first_reservation[2], Some(SimTime::from_secs(40_000)));
        }
        // The checker allows it only because the run says 2 was demoted: read as a plain
        // queue, FCFS started 3 before 2, ahead of it.
        if policy == PolicyKind::Fcfs {
            let mut plain = r.clone();
            plain.demoted = None;
            assert!(clustersim::check::check_policy(policy, &w, &plain).is_err());
        }

        // Billing: arrival order, nothing demoted, no new key in the summary.
        let o = run_with_credits(&w, policy, deprioritize_credits(100.0, WhenExhausted::Bill));
        assert!(o.result.demoted.is_none());
        assert_eq!(starts_s_of(&o.result), [0, 0, 30_000, 31_000], "{policy}");
        let json = serde_json::to_value(&o.summary).unwrap();
        assert!(json["metrics"]["credits"].get("deprioritized").is_none());
    }
}

/// With an allowance never spent, deprioritizing changes nothing: the same schedule as
/// billing, to every segment.
#[test]
fn deprioritize_with_an_allowance_never_spent_schedules_as_bill() {
    use clustersim::credits::WhenExhausted;
    let w = deprioritize_workload();
    for policy in PolicyKind::ALL {
        let a = run_with_credits(&w, policy, deprioritize_credits(1e12, WhenExhausted::Bill));
        let b = run_with_credits(
            &w,
            policy,
            deprioritize_credits(1e12, WhenExhausted::Deprioritize),
        );
        let (a, b) = (&a.result, &b.result);
        assert_eq!(b.demoted, Some(Vec::new()), "{policy}");
        assert_eq!(
            (&a.start, &a.end, &a.segments, &a.log, &a.first_reservation),
            (&b.start, &b.end, &b.segments, &b.log, &b.first_reservation),
            "{policy}"
        );
        assert_eq!(starts_s_of(a), [0, 0, 30_000, 31_000], "{policy}");
    }
}

/// A demoted job stays demoted after a requeue, even in a month whose allowance it has not
/// spent: the demotion is decided once, at submission. Every job charged ($2 per GPU-hour,
/// $100 a month of 23,550 s). Job 0 (`group 7`, 8 GPUs) runs on node 0 from 0 to 22,600
/// ($100.44); job 1 (`group 8`) holds node 1 from 0 to 30,000. Job 2 (`group 7`, 8 GPUs,
/// 1,000 s, limit 2,000) arrives at 23,000, demoted, and starts on node 0; node 0 fails at
/// 23,500 and requeues it. Job 3 (`group 9`, 8 GPUs, 1,000 s, limit 2,000) arrives at
/// 23,600, in the next month, not demoted. Node 0 is back at 24,000: job 3 starts there
/// first (24,000 to 25,000), then job 2 (25,000), under every policy; billing instead, 2
/// then 3.
#[test]
fn a_demoted_job_stays_demoted_after_a_requeue() {
    use clustersim::check::check_policy;
    use clustersim::credits::WhenExhausted;
    use clustersim::failures::{parse_log, Failures};
    use clustersim::simulation::{simulate_with, SimOptions};
    use clustersim::workload::JobIdx;
    let spec = cluster(TWO_GPU_NODES);
    let mut w = workload(
        &spec,
        &[
            (0, 22_600, 22_600, 1, 8),
            (0, 30_000, 30_000, 1, 8),
            (23_000, 1_000, 2_000, 1, 8),
            (23_600, 1_000, 2_000, 1, 8),
        ],
        Placement::FirstFit,
    );
    for (j, group) in w.jobs.iter_mut().zip([7, 8, 7, 9]) {
        j.group = group;
    }
    let outages = parse_log("node,down_s,up_s\n0,23500,24000\n", "log.csv", 2).unwrap();
    let failures = Failures::from_log(&outages, 2);
    for (when_exhausted, starts) in [
        (WhenExhausted::Deprioritize, [25_000, 24_000]),
        (WhenExhausted::Bill, [24_000, 25_000]),
    ] {
        let credits = clustersim::credits::Credits {
            interactive_only: false,
            month_s: 23_550,
            ..deprioritize_credits(100.0, when_exhausted)
        };
        for policy in PolicyKind::ALL {
            let mut p = policy.build_for(&w).unwrap();
            let options = SimOptions {
                failures: Some(&failures),
                credit_limit: (when_exhausted != WhenExhausted::Bill).then_some(&credits),
                ..SimOptions::default()
            };
            let r = simulate_with(&w, p.as_mut(), options, &mut |_| {}).unwrap();
            check_schedule(&w, &r).unwrap();
            check_nodes(&w, &r).unwrap();
            check_policy(policy, &w, &r).unwrap();
            assert_eq!(r.log[2].requeues, 1, "{policy}");
            let last_start_s = |i: usize| {
                r.segments
                    .iter()
                    .rev()
                    .find(|s| s.job.get() == i)
                    .unwrap()
                    .start
                    .as_ms()
                    / 1000
            };
            assert_eq!(
                [last_start_s(2), last_start_s(3)],
                starts,
                "{policy} {when_exhausted:?}"
            );
            if when_exhausted == WhenExhausted::Deprioritize {
                assert_eq!(r.demoted, Some(vec![JobIdx(2)]), "{policy}");
            }
        }
    }
}

fn starts_s_of(r: &RunResult) -> Vec<u64> {
    r.start.iter().map(|t| t.as_ms() / 1000).collect()
}

/// `when_exhausted` takes `bill`, `deny` or `deprioritize`; anything else is an error on
/// its line. The enterprise scenario deprioritizing runs, counts the jobs it demoted in
/// `metrics.credits.deprioritized`, and shows the count in the run's table and report.
#[test]
fn when_exhausted_values_are_checked_and_deprioritize_is_reported() {
    let dir = scratch("credits-when-exhausted");
    let base = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/enterprise-credits.toml"),
    )
    .unwrap();
    let with = |value: &str| {
        base.replace(
            "charge_idle = true\n",
            &format!("charge_idle = true\nwhen_exhausted = \"{value}\"\n"),
        )
    };
    common::assert_located_errors(
        &dir,
        vec![(
            "lower",
            with("lower"),
            "when_exhausted",
            "credits.when_exhausted: unknown variant `lower`, expected one of `bill`, `deny`, \
             `deprioritize`",
        )],
    );
    let scenario = dir.join("deprioritize.toml");
    std::fs::write(&scenario, with("deprioritize")).unwrap();
    let out = dir.join("out");
    let o = clustersim_in_repo(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--force",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("jobs deprioritized (credits)"),
        "{}",
        text(&o)
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let n = summary["metrics"]["credits"]["deprioritized"]
        .as_u64()
        .unwrap();
    assert!(n > 0, "the teams' credits run out within the month");
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains(&format!(
        "{n} jobs admitted with their account's credit spent"
    )));
    // The job table's last column but two says which.
    let jobs = std::fs::read_to_string(out.join("jobs.csv")).unwrap();
    assert!(jobs
        .lines()
        .next()
        .unwrap()
        .ends_with(",deprioritized,first_considered_s,acknowledged_s"));
    let flagged = jobs.lines().skip(1).filter(|l| l.ends_with(",1,,")).count();
    assert_eq!(flagged as u64, n, "jobs.csv flags the demoted jobs");
    assert!(jobs
        .lines()
        .skip(1)
        .all(|l| l.ends_with(",1,,") || l.ends_with(",0,,")));
}

#[test]
fn bad_credit_keys_are_errors_naming_their_key() {
    let dir = scratch("credits-bad");
    let text_of = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/enterprise-credits.toml"),
    )
    .unwrap();
    for (name, bad, key) in [
        (
            "unknown-type",
            text_of.replace("[credits.prices.h100]", "[credits.prices.a100]"),
            "credits.prices.a100",
        ),
        (
            "negative",
            text_of.replace("monthly_allowance = 100.0", "monthly_allowance = -1.0"),
            "credits.monthly_allowance",
        ),
        (
            "qos-empty",
            text_of.replace(
                "[policy]\nname = \"easy\"",
                "[policy]\nname = \"easy\"\n[policy.qos]",
            ),
            "policy.qos",
        ),
        (
            "qos-zero",
            text_of.replace(
                "[policy]\nname = \"easy\"",
                "[policy]\nname = \"easy\"\n[policy.qos]\nmax_sessions_per_user = 0",
            ),
            "policy.qos.max_sessions_per_user",
        ),
    ] {
        let scenario = dir.join(format!("{name}.toml"));
        std::fs::write(&scenario, bad).unwrap();
        let o = clustersim_in_repo(&["validate", scenario.to_str().unwrap()]);
        assert!(!o.status.success(), "{name}");
        let t = text(&o);
        assert!(
            t.contains(key) && t.contains(&format!("{name}.toml:")),
            "{name}: {t}"
        );
    }
}

/// QOS limits per user, checked at submission: user 5's sessions (1 GPU, 100 s each) at
/// 0, 10 and 20 s with at most two at once: the third is rejected at 20 s (`cancelled`,
/// never queued); one at 150 s is admitted, the first two having ended. A 3-GPU session
/// of user 6 passes the 2-GPU limit and is rejected; user 7's 1-GPU session is not; a
/// batch job and a session of an unknown user are never limited.
#[test]
fn qos_limits_reject_sessions_that_would_pass_them_at_submission() {
    use clustersim::lifecycle::{QosLimit, Rejection};
    use clustersim::simulation::{simulate_with, Qos, SimOptions};
    use clustersim::workload::JobIdx;
    use clustersim::workload::JobKind;
    let spec = cluster(TWO_GPU_NODES);
    let jobs = [
        (0, 100, 100, 1, 1),
        (10, 100, 100, 1, 1),
        (20, 100, 100, 1, 1),
        (150, 100, 100, 1, 1),
        (30, 100, 100, 1, 3),
        (40, 100, 100, 1, 1),
        (50, 100, 100, 1, 4),
        (60, 100, 100, 1, 4),
    ];
    let mut w = workload(&spec, &jobs, Placement::FirstFit);
    let users = [5, 5, 5, 5, 6, 7, 8, -1];
    for (j, &user) in w.jobs.iter_mut().zip(&users) {
        j.user = user;
        j.kind = JobKind::Interactive;
    }
    w.jobs[6].kind = JobKind::Batch;
    let qos = Qos {
        max_sessions_per_user: Some(2),
        max_cores_per_user: None,
        max_gpus_per_user: Some(2),
    };
    for policy in PolicyKind::ALL {
        let mut p = policy.build_for(&w).unwrap();
        let options = SimOptions {
            qos: Some(qos),
            ..SimOptions::default()
        };
        let r = simulate_with(&w, p.as_mut(), options, &mut |_| {}).unwrap();
        check_schedule(&w, &r).unwrap();
        check_nodes(&w, &r).unwrap();
        clustersim::check::check_policy(policy, &w, &r).unwrap();
        assert_eq!(
            r.rejected.as_deref().unwrap(),
            [
                Rejection {
                    job: JobIdx(2),
                    limit: QosLimit::Sessions
                },
                Rejection {
                    job: JobIdx(4),
                    limit: QosLimit::Gpus
                },
            ],
            "{policy}"
        );
        let outcomes: Vec<Outcome> = r.log.iter().map(|l| l.outcome).collect();
        use Outcome::{Cancelled, Completed};
        assert_eq!(
            outcomes,
            [
                Completed, Completed, Cancelled, Completed, Cancelled, Completed, Completed,
                Completed
            ],
            "{policy}"
        );
        assert_eq!(r.end[2].as_ms(), 20_000, "{policy}");
        assert_eq!(r.log[2].segments, 0);
    }
}

/// User populations: each class's jobs come from its own users, numbered after the
/// previous classes'.
#[test]
fn generated_jobs_come_from_their_class_users() {
    use clustersim::workload::classes::{generate, ClassGenerator, JobClassSpec};
    #[derive(serde::Deserialize)]
    struct C {
        c: Vec<JobClassSpec>,
    }
    let text = "[[c]]\nname = \"a\"\nshare = 1\nusers = 3\nruntime_median_s = 100\n\
                [[c]]\nname = \"b\"\nshare = 1\nusers = 2\nruntime_median_s = 100\n\
                [[c]]\nname = \"c\"\nshare = 1\nruntime_median_s = 100\n";
    let classes = toml::from_str::<C>(text).unwrap().c;
    let w = generate(&ClassGenerator {
        jobs: 300,
        load: 0.5,
        classes: &classes,
        cluster: &cluster(TWO_GPU_NODES),
        placement: Placement::FirstFit,
        seed: 1,
        arrivals: Default::default(),
    });
    let nw = w.nodes.as_ref().unwrap();
    let mut seen = [
        std::collections::BTreeSet::new(),
        Default::default(),
        Default::default(),
    ];
    for (j, &c) in w.jobs.iter().zip(&nw.class_of) {
        seen[c as usize].insert(j.user);
    }
    assert_eq!(seen[0].iter().copied().collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(seen[1].iter().copied().collect::<Vec<_>>(), [3, 4]);
    assert_eq!(seen[2].iter().copied().collect::<Vec<_>>(), [-1]);
}
