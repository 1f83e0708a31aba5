//! Sessions' activity (busy and idle periods), the idle waste it gives, and the idle
//! culler: hand-computed culls under every policy (the timeout, `max_age`, a user back
//! before the timeout, a session ending by itself at the culler's instant), the generator's
//! `busy` / `idle` keys and `[policy.culler]`, and what a run reports.

mod common;

use clustersim::check::{check_nodes, check_schedule};
use clustersim::cluster::nodes::Placement;
use clustersim::engine::time::SimDuration;
use clustersim::lifecycle::{CullReason, Outcome, RunResult, UserPresence};
use clustersim::metrics::{compute, MetricOptions, ScheduleMetrics};
use clustersim::policy::PolicyKind;
use clustersim::simulation::{simulate_with, Culler, SimOptions};
use clustersim::workload::activity::{Activity, State, Timeline};
use clustersim::workload::{JobKind, Workload};
use common::nodes::{cluster, workload};
use common::{clustersim_in_repo, scratch, text};

const THREE_GPU_NODES: &str = "[node_types.gpu]\ncount = 3\ncores = 16\nmemory_gb = 64\ngpus = 8\n";

const S: u64 = 1000;

/// Job 1, a session on two whole nodes from 0 (runtime 20,000 s): busy to 1,000 s, idle to
/// 6,000, busy to its end. Job 2, a session on the third node from 0 (runtime 9,000 s):
/// busy to 1,000, idle to 4,000, busy to 5,000, then gone. Job 3, a batch job of one node
/// (1,000 s), submitted at 100, waits for a node.
fn sessions() -> Workload {
    let spec = cluster(THREE_GPU_NODES);
    let jobs = [
        (0, 20_000, 20_000, 2, 8),
        (0, 9_000, 9_000, 1, 8),
        (100, 1_000, 2_000, 1, 8),
    ];
    let mut w = workload(&spec, &jobs, Placement::FirstFit);
    w.jobs[0].kind = JobKind::Interactive;
    w.jobs[1].kind = JobKind::Interactive;
    let mut activity = Activity::default();
    activity.push(&[1_000 * S, 6_000 * S, 20_000 * S]);
    activity.push(&[1_000 * S, 4_000 * S, 5_000 * S]);
    activity.push(&[]);
    w.nodes.as_mut().unwrap().activity = activity;
    w
}

fn run(w: &Workload, policy: PolicyKind, culler: Option<Culler>) -> RunResult {
    let mut p = policy.build_for(w).unwrap();
    let options = SimOptions {
        culler,
        ..SimOptions::default()
    };
    let r = simulate_with(w, p.as_mut(), options, &mut |_| {}).expect("the run completes");
    check_schedule(w, &r).unwrap();
    check_nodes(w, &r).unwrap();
    r
}

fn metrics(w: &Workload, r: &RunResult) -> ScheduleMetrics {
    let options = MetricOptions {
        bsld_tau: SimDuration::from_secs(10),
        session_start_target: SimDuration::from_secs(60),
    };
    compute(w, r, &options)
}

fn secs(r: &RunResult) -> (Vec<u64>, Vec<u64>) {
    let s = |t: &[clustersim::engine::time::SimTime]| t.iter().map(|t| t.as_ms() / S).collect();
    (s(&r.start), s(&r.end))
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

#[test]
fn the_culler_ends_a_session_idle_for_its_timeout_at_its_next_run() {
    // Job 1 is idle from 1,000 s: 3,600 s later is 4,600; the culler runs every 600 s, so
    // at 4,200 it has been idle 3,200 s and at 4,800 3,800 s: culled at 4,800, its user
    // away (busy again at 6,000, before its natural end at 20,000). Job 3 starts on the
    // freed node then. Job 2's idle period (1,000 to 4,000) is shorter than the timeout;
    // its last one starts at 5,000, so it would be culled at 9,000, the instant it ends by
    // itself: its stop comes first, and it completes.
    let w = sessions();
    for policy in PolicyKind::ALL {
        let r = run(&w, policy, Some(Culler::default()));
        let (start, end) = secs(&r);
        assert_eq!(start, [0, 0, 4_800], "{policy}");
        assert_eq!(end, [4_800, 9_000, 5_800], "{policy}");
        let outcomes: Vec<Outcome> = r.log.iter().map(|l| l.outcome).collect();
        use Outcome::{Cancelled, Completed};
        assert_eq!(outcomes, [Cancelled, Completed, Completed], "{policy}");
        let culls = r.culls.as_ref().expect("the culler was on");
        assert_eq!(culls.len(), 1, "{policy}");
        let c = culls[0];
        assert_eq!(c.job.get(), 0);
        assert_eq!(c.at.as_ms(), 4_800 * S);
        assert_eq!(c.reason, CullReason::Idle);
        assert_eq!(c.user, UserPresence::Away);
        assert_eq!(c.reclaimed_ms, (20_000 - 4_800) * S);

        let m = metrics(&w, &r);
        let c = m.culler.expect("culler metrics");
        assert_eq!(
            (c.sessions_culled, c.culled_idle, c.culled_max_age),
            (1, 1, 0)
        );
        assert_eq!(
            (c.culled_user_away, c.culled_user_gone, c.culled_user_active),
            (1, 0, 0)
        );
        // 32 cores and 16 GPUs for the 15,200 s it would still have run.
        close(c.reclaimed_core_hours, 32.0 * 15_200.0 / 3_600.0);
        close(c.reclaimed_gpu_hours, 16.0 * 15_200.0 / 3_600.0);
        close(c.reclaimed_mig_slice_hours, 0.0);
        assert_eq!(m.lifecycle.outcomes["cancelled"], 1);
    }
    // Fcfs and EASY ask for no wake-ups: 3 arrivals, 2 stops (job 1's was withdrawn) and
    // the culler's 16 runs (0, 600, …, 9,000; none after, nothing else being queued).
    for policy in [PolicyKind::Fcfs, PolicyKind::Easy] {
        assert_eq!(run(&w, policy, Some(Culler::default())).events, 21);
    }
}

#[test]
fn idle_waste_is_the_held_time_the_timelines_say_was_idle() {
    let w = sessions();
    // Culled: job 1 held 32 cores and 16 GPUs idle from 1,000 to 4,800 s; job 2 16 cores
    // and 8 GPUs from 1,000 to 4,000 and from 5,000 to 9,000.
    let r = run(&w, PolicyKind::Easy, Some(Culler::default()));
    let s = metrics(&w, &r).resources.unwrap().sessions;
    assert_eq!(s.jobs, 2);
    close(
        s.held_core_hours,
        (32.0 * 4_800.0 + 16.0 * 9_000.0) / 3_600.0,
    );
    close(
        s.idle_core_hours,
        (32.0 * 3_800.0 + 16.0 * 7_000.0) / 3_600.0,
    );
    close(s.idle_gpu_hours, (16.0 * 3_800.0 + 8.0 * 7_000.0) / 3_600.0);
    close(s.idle_mig_slice_hours, 0.0);
    // Without the culler job 1 runs to 20,000: idle from 1,000 to 6,000 only.
    let r = run(&w, PolicyKind::Easy, None);
    assert!(r.culls.is_none());
    let m = metrics(&w, &r);
    assert!(m.culler.is_none());
    let s = m.resources.unwrap().sessions;
    close(
        s.idle_core_hours,
        (32.0 * 5_000.0 + 16.0 * 7_000.0) / 3_600.0,
    );
    // An idle share is one idle tail: job 2 at 0.25 of its 9,000 s is busy to 6,750 s.
    let mut w = sessions();
    let nw = w.nodes.as_mut().unwrap();
    nw.activity = Activity::default();
    nw.users = vec![Default::default(); 3];
    nw.users[1].idle_fraction = 0.25;
    let tail = Timeline::of(nw, 1, &w.jobs[1]);
    assert_eq!(tail, Timeline::IdleTail { busy_ms: 6_750 * S });
    let r = run(&w, PolicyKind::Easy, None);
    let s = metrics(&w, &r).resources.unwrap().sessions;
    close(s.idle_core_hours, 16.0 * 2_250.0 / 3_600.0);
    close(
        s.idle_core_hours / s.held_core_hours,
        16.0 * 2_250.0 / (16.0 * 9_000.0 + 32.0 * 20_000.0),
    );
}

#[test]
fn max_age_ends_sessions_busy_or_not() {
    // At 4,800 s job 1 has been idle 3,800 s (the timeout says first) and job 2, busy since
    // 4,000, is 4,800 s old, past a max_age of 4,500: both culled, job 2 with its user
    // active; job 3 starts then.
    let w = sessions();
    let culler = Culler {
        max_age_s: 4_500,
        ..Culler::default()
    };
    for policy in PolicyKind::ALL {
        let r = run(&w, policy, Some(culler));
        let (start, end) = secs(&r);
        assert_eq!(start, [0, 0, 4_800], "{policy}");
        assert_eq!(end, [4_800, 4_800, 5_800], "{policy}");
        let culls = r.culls.as_ref().unwrap();
        let seen: Vec<(usize, CullReason, UserPresence, u64)> = culls
            .iter()
            .map(|c| (c.job.get(), c.reason, c.user, c.reclaimed_ms / S))
            .collect();
        assert_eq!(
            seen,
            [
                (0, CullReason::Idle, UserPresence::Away, 15_200),
                (1, CullReason::MaxAge, UserPresence::Active, 4_200),
            ],
            "{policy}"
        );
        let c = metrics(&w, &r).culler.unwrap();
        assert_eq!((c.culled_idle, c.culled_max_age), (1, 1));
        assert_eq!(c.culled_user_active, 1);
        close(
            c.reclaimed_core_hours,
            (32.0 * 15_200.0 + 16.0 * 4_200.0) / 3_600.0,
        );
    }
    // With a long timeout, max_age alone: both at the first run past 4,500 s.
    let culler = Culler {
        timeout_s: 100_000,
        max_age_s: 4_500,
        ..Culler::default()
    };
    let r = run(&w, PolicyKind::Easy, Some(culler));
    let reasons: Vec<CullReason> = r.culls.unwrap().iter().map(|c| c.reason).collect();
    assert_eq!(reasons, [CullReason::MaxAge, CullReason::MaxAge]);
}

#[test]
fn a_session_whose_user_is_gone_is_culled_as_gone_and_a_busy_user_is_not_culled() {
    // A timeout of 3,001 s. Job 1 is gone after 1,000 s (its only period): idle for the
    // timeout at 4,001, culled at the run at 4,200, gone. Job 2's idle period of 3,000 s
    // stays under it; its last one (from 5,000) reaches it at 8,001: culled at 8,400, gone
    // too (its natural end is 9,000).
    let mut w = sessions();
    let mut activity = Activity::default();
    activity.push(&[1_000 * S]);
    activity.push(&[1_000 * S, 4_000 * S, 5_000 * S]);
    activity.push(&[]);
    w.nodes.as_mut().unwrap().activity = activity;
    let culler = Culler {
        timeout_s: 3_001,
        ..Culler::default()
    };
    let r = run(&w, PolicyKind::Conservative, Some(culler));
    let seen: Vec<(usize, u64, UserPresence)> = r
        .culls
        .unwrap()
        .iter()
        .map(|c| (c.job.get(), c.at.as_ms() / S, c.user))
        .collect();
    assert_eq!(
        seen,
        [
            (0, 4_200, UserPresence::Gone),
            (1, 8_400, UserPresence::Gone)
        ]
    );
    // Never idle (no profile): never culled for idleness.
    let mut w = sessions();
    w.nodes.as_mut().unwrap().activity = Activity::default();
    let r = run(&w, PolicyKind::Easy, Some(Culler::default()));
    assert_eq!(r.culls.as_deref(), Some(&[][..]));
    assert_eq!(secs(&r).1, [20_000, 9_000, 10_000]);
}

#[test]
fn timelines_start_busy_alternate_and_end_idle() {
    let ends = [10, 30, 60];
    let t = Timeline::Periods(&ends);
    let state = |at| t.state_at(at);
    let busy = |since_ms| State {
        idle: false,
        since_ms,
        back_ms: None,
    };
    assert_eq!(state(0), busy(0));
    assert_eq!(state(9), busy(0));
    assert_eq!(
        state(10),
        State {
            idle: true,
            since_ms: 10,
            back_ms: Some(30)
        }
    );
    assert_eq!(state(30), busy(30));
    assert_eq!(
        state(60),
        State {
            idle: true,
            since_ms: 60,
            back_ms: None
        }
    );
    assert_eq!(t.idle_ms_in(0, 100), 20 + 40);
    assert_eq!(t.idle_ms_in(15, 65), 15 + 5);
    assert_eq!(t.idle_ms_in(30, 60), 0);
    let spans = |from, to| {
        let mut v = Vec::new();
        t.busy_spans_in(from, to, |a, b| v.push((a, b)));
        v
    };
    assert_eq!(spans(0, 100), [(0, 10), (30, 60)]);
    assert_eq!(spans(5, 40), [(5, 10), (30, 40)]);
    assert_eq!(spans(10, 30), []);
    // Idle [10, 30) and from 60 on: 15 ms of idleness is reached at 25, then at 75.
    assert_eq!(t.idle_reaches(0, 15), Some(25));
    assert_eq!(t.idle_reaches(27, 15), Some(27));
    assert_eq!(t.idle_reaches(30, 15), Some(75));
    assert_eq!(t.idle_reaches(0, 25), Some(85));
    assert_eq!(Timeline::Busy.idle_reaches(0, 1), None);
    // A last idle period drawn lasts forever from where it began.
    let ends = [10, 30];
    let t = Timeline::Periods(&ends);
    assert_eq!(t.state_at(50).since_ms, 10);
    assert_eq!(t.state_at(20).back_ms, None);
    assert_eq!(t.idle_ms_in(0, 100), 90);
    assert_eq!(Timeline::Busy.idle_ms_in(0, 100), 0);
    assert_eq!(Timeline::IdleTail { busy_ms: 0 }.idle_ms_in(5, 10), 5);
}

const SCENARIO: &str = r#"
name = "idle-sessions"
seed = 5

[cluster.node_types.gpu]
count = 4
cores = 32
memory_gb = 256
gpus = 4

[workload.generator]
jobs = 400
load = 1.2

[[workload.generator.classes]]
name = "train"
share = 0.5
gpus_per_node = [2]
cores_per_node = 8
runtime_median_s = 3600

[[workload.generator.classes]]
name = "notebook"
kind = "interactive"
share = 0.5
gpus_per_node = [1]
cores_per_node = 4
runtime_median_s = 5400
runtime_sigma = 0.5
max_runtime_s = 28800
busy = { dist = "lognormal", median_s = 600, sigma = 1.0 }
idle = { dist = "lognormal", median_s = 1800, sigma = 1.0 }
"#;

const PROFILE: &str = "busy = { dist = \"lognormal\", median_s = 600, sigma = 1.0 }\n\
                       idle = { dist = \"lognormal\", median_s = 1800, sigma = 1.0 }\n";

/// Runs scenario `text` into a fresh folder named `name`; returns (jobs.csv, summary).
fn run_scenario(name: &str, scenario_text: &str) -> (String, serde_json::Value) {
    let dir = scratch(&format!("activity-{name}"));
    let scenario = dir.join("s.toml");
    std::fs::write(&scenario, scenario_text).unwrap();
    let out = dir.join("out");
    let o = clustersim_in_repo(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--format",
        "csv",
        "--no-plots",
        "--force",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let jobs = std::fs::read_to_string(out.join("jobs.csv")).unwrap();
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    (jobs, serde_json::from_str(&summary).unwrap())
}

#[test]
fn without_the_culler_a_profile_changes_no_schedule_and_with_it_sessions_are_culled() {
    let (with_profile, summary) = run_scenario("profile", SCENARIO);
    let (without, plain) = run_scenario("plain", &SCENARIO.replace(PROFILE, ""));
    assert_eq!(
        with_profile, without,
        "the activity stream is a stream apart"
    );
    assert!(summary["metrics"].get("culler").is_none());
    let sessions = &summary["metrics"]["resources"]["sessions"];
    let idle = sessions["idle_core_hours"].as_f64().unwrap();
    let held = sessions["held_core_hours"].as_f64().unwrap();
    assert!(idle > 0.3 * held && idle < held, "{idle} of {held}");
    assert_eq!(
        plain["metrics"]["resources"]["sessions"]["idle_core_hours"],
        0.0
    );
    // A culler turned off, or one that never finds a session idle long enough, changes
    // nothing either.
    let (off, _) = run_scenario(
        "off",
        &format!("{SCENARIO}\n[policy.culler]\nenabled = false\n"),
    );
    assert_eq!(off, without);
    let (patient, s) = run_scenario(
        "patient",
        &format!("{SCENARIO}\n[policy.culler]\ntimeout_s = 10000000\n"),
    );
    assert_eq!(patient, without);
    assert_eq!(s["metrics"]["culler"]["sessions_culled"], 0);
    assert_eq!(s["options"]["culler"]["timeout_s"], 10_000_000);

    // The default culler: an hour of idleness, every 10 minutes.
    let (culled, s) = run_scenario("culled", &format!("{SCENARIO}\n[policy.culler]\n"));
    let c = &s["metrics"]["culler"];
    let n = c["sessions_culled"].as_u64().unwrap();
    assert!(n > 0, "{c}");
    assert_eq!(c["culled_idle"].as_u64(), Some(n));
    let away = c["culled_user_away"].as_u64().unwrap();
    let gone = c["culled_user_gone"].as_u64().unwrap();
    assert_eq!(away + gone, n);
    assert!(away > 0 && gone > 0, "{c}");
    assert!(c["reclaimed_gpu_hours"].as_f64().unwrap() > 0.0);
    assert_eq!(
        s["options"]["culler"],
        serde_json::json!({ "timeout_s": 3600, "cull_every_s": 600, "max_age_s": 0 })
    );
    // jobs.csv says which: the `culled` column, on cancelled sessions.
    let header: Vec<&str> = culled.lines().next().unwrap().split(',').collect();
    let column = header.iter().position(|h| *h == "culled").unwrap();
    let rows: Vec<&str> = culled
        .lines()
        .filter(|l| l.split(',').nth(column) == Some("idle"))
        .collect();
    assert_eq!(rows.len() as u64, n);
    assert!(rows.iter().all(|l| l.contains(",cancelled,")));
    assert_eq!(
        s["metrics"]["lifecycle"]["outcomes"]["cancelled"].as_u64(),
        Some(n)
    );
    // Idle waste falls: culled sessions stop holding.
    let idle_culled = s["metrics"]["resources"]["sessions"]["idle_core_hours"]
        .as_f64()
        .unwrap();
    assert!(idle_culled < idle, "{idle_culled} vs {idle}");
}

#[test]
fn culled_generated_runs_keep_every_invariant_under_every_policy() {
    let dir = scratch("activity-invariants");
    let path = dir.join("s.toml");
    std::fs::write(
        &path,
        format!("{SCENARIO}\n[policy.culler]\nmax_age_s = 14400\n"),
    )
    .unwrap();
    let loaded = clustersim::scenario::load(&path).unwrap();
    let plan = clustersim::plan::plan_run(&Default::default(), Some(&loaded), None).unwrap();
    let culler = plan.options.culler;
    assert_eq!(
        culler,
        Some(Culler {
            timeout_s: 3_600,
            cull_every_s: 600,
            max_age_s: 14_400
        })
    );
    let w = &plan.workload;
    for policy in PolicyKind::ALL {
        let r = run(w, policy, culler);
        let culls = r.culls.as_ref().unwrap();
        assert!(!culls.is_empty(), "{policy}");
        assert!(
            culls.iter().any(|c| c.reason == CullReason::MaxAge),
            "{policy}"
        );
        // Every culled session, at that instant, was idle for the timeout or that old.
        for c in culls {
            let i = c.job.get();
            let age = c.at.as_ms() - r.start[i].as_ms();
            let t = Timeline::of(w.nodes.as_ref().unwrap(), i, &w.jobs[i]);
            let st = t.state_at(age);
            match c.reason {
                CullReason::Idle => assert!(st.idle && age - st.since_ms >= 3_600 * S),
                CullReason::MaxAge => assert!(age >= 14_400 * S),
            }
            assert_eq!(c.at.as_ms() % (600 * S), 0);
        }
    }
}

/// Writes `text` as bad.toml and validates it: the error's text.
fn validate(name: &str, scenario_text: &str) -> String {
    let dir = scratch(&format!("activity-bad-{name}"));
    let path = dir.join("bad.toml");
    std::fs::write(&path, scenario_text).unwrap();
    let o = clustersim_in_repo(&["validate", path.to_str().unwrap()]);
    assert!(!o.status.success(), "{name}: accepted");
    text(&o)
}

/// The 1-based line of the first line of `text` that starts with `prefix`.
fn line_of(text: &str, prefix: &str) -> usize {
    text.lines().position(|l| l.starts_with(prefix)).unwrap() + 1
}

#[test]
fn bad_activity_and_culler_keys_are_errors_naming_file_line_and_key() {
    // Busy without idle.
    let t = SCENARIO.replace("idle = { dist", "# idle = { dist");
    let e = validate("busy-only", &t);
    assert!(e.contains("workload.generator.classes[1].busy"), "{e}");
    assert!(e.contains("without idle"), "{e}");
    assert!(
        e.contains(&format!("bad.toml:{}:", line_of(&t, "busy = "))),
        "{e}"
    );
    // A bad distribution.
    let t = SCENARIO.replace("median_s = 1800", "median_s = -1");
    let e = validate("idle-median", &t);
    assert!(
        e.contains("workload.generator.classes[1].idle.median_s"),
        "{e}"
    );
    assert!(
        e.contains(&format!("bad.toml:{}:", line_of(&t, "idle = "))),
        "{e}"
    );
    // Both an idle share and periods.
    let t = SCENARIO.replace(
        "max_runtime_s = 28800\n",
        "max_runtime_s = 28800\nidle_fraction = 0.5\n",
    );
    let e = validate("both", &t);
    assert!(e.contains("classes[1].idle_fraction"), "{e}");
    assert!(
        e.contains(&format!("bad.toml:{}:", line_of(&t, "idle_fraction"))),
        "{e}"
    );
    // Periods on a batch class.
    let t = SCENARIO.replace("runtime_median_s = 3600\n", "runtime_median_s = 3600\nbusy = { dist = \"lognormal\", median_s = 60, sigma = 1.0 }\nidle = { dist = \"lognormal\", median_s = 60, sigma = 1.0 }\n");
    let e = validate("batch", &t);
    assert!(e.contains("classes[0].busy"), "{e}");
    assert!(e.contains("interactive"), "{e}");
    // The culler: a zero timeout, a zero interval, an unknown key.
    for (name, body, key) in [
        ("timeout", "timeout_s = 0", "policy.culler.timeout_s"),
        ("every", "cull_every_s = 0", "policy.culler.cull_every_s"),
        ("unknown", "timeout = 60", "timeout"),
    ] {
        let t = format!("{SCENARIO}\n[policy.culler]\n{body}\n");
        let e = validate(name, &t);
        assert!(e.contains(key), "{name}: {e}");
        let line = t.lines().count();
        assert!(e.contains(&format!("bad.toml:{line}:")), "{name}: {e}");
    }
}

#[test]
fn the_report_compare_and_sweeps_show_what_the_culler_did() {
    let dir = scratch("activity-report");
    let scenario = dir.join("s.toml");
    std::fs::write(&scenario, format!("{SCENARIO}\n[policy.culler]\n")).unwrap();
    let plain = dir.join("plain.toml");
    std::fs::write(&plain, SCENARIO).unwrap();
    let (out, plain_out) = (dir.join("out"), dir.join("plain-out"));
    for (s, o, plots) in [(&scenario, &out, true), (&plain, &plain_out, false)] {
        let mut args = vec!["run", s.to_str().unwrap(), "--out", o.to_str().unwrap()];
        args.extend(["--format", "csv", "--force"]);
        if !plots {
            args.push("--no-plots");
        }
        let r = clustersim_in_repo(&args);
        assert!(r.status.success(), "{}", text(&r));
    }
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    let section = &page[page.find("<section id=\"sessions\">").unwrap()..];
    let section = &section[..section.find("</section>").unwrap()];
    assert!(section.contains("Held while idle (waste)"), "{section}");
    assert!(
        section.contains("The idle culler ended 40 sessions"),
        "{section}"
    );
    let o = clustersim_in_repo(&[
        "compare",
        plain_out.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let table = text(&o);
    assert!(table.contains("sessions culled"), "{table}");
    assert!(table.contains("culled core-hours reclaimed"), "{table}");
    // Sweeps and check name the culler's metrics as summary.json does.
    use clustersim::sweep::record::is_metric_name;
    assert!(is_metric_name("culler.sessions_culled"));
    assert!(is_metric_name("culler.reclaimed_gpu_hours"));
    assert!(!is_metric_name("culler.sessions"));
}

#[test]
fn profiles_follow_their_sessions_through_composition_and_filters() {
    // A batch trace plus generated sessions with a profile, the merged workload cut to a
    // window: every session still has the periods drawn for it (they cover its runtime),
    // and the trace's jobs have none.
    let dir = scratch("activity-compose");
    let path = dir.join("s.toml");
    let trace =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/demo-3000-128.swf");
    std::fs::write(
        &path,
        format!(
            r#"
[cluster.node_types.cpu]
count = 16
cores = 8
memory_gb = 64

[cluster.node_types.gpu]
count = 4
cores = 16
memory_gb = 256
gpus = 4

[workload.filter]
to_s = 200000

[[workload.sources]]
name = "trace"
trace = "{}"

[[workload.sources]]
name = "sessions"
[workload.sources.generator]
jobs = 300
load = 0.3
[[workload.sources.generator.classes]]
name = "notebook"
share = 1.0
kind = "interactive"
gpus_per_node = [1]
cores_per_node = 4
runtime_median_s = 3600
{PROFILE}
[policy.culler]
"#,
            trace.display()
        ),
    )
    .unwrap();
    let loaded = clustersim::scenario::load(&path).unwrap();
    let plan = clustersim::plan::plan_run(&Default::default(), Some(&loaded), None).unwrap();
    let w = &plan.workload;
    let nw = w.nodes.as_ref().unwrap();
    assert!(w.jobs.len() < 3_300, "the window dropped some jobs");
    let mut sessions = 0;
    for (i, j) in w.jobs.iter().enumerate() {
        let periods = nw.activity.periods(i);
        if nw.classes[nw.class_of[i] as usize] == "sessions/notebook" {
            sessions += 1;
            assert!(
                *periods.last().unwrap() >= j.work.as_ms(),
                "job {}",
                j.trace_id
            );
            assert!(periods.windows(2).all(|p| p[0] < p[1]));
        } else {
            assert!(periods.is_empty(), "job {}", j.trace_id);
        }
    }
    assert!(sessions > 0);
    let r = run(w, PolicyKind::Easy, plan.options.culler);
    assert!(!r.culls.unwrap().is_empty());
}
