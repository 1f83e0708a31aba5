//! Self-contained HTML pages: `report.html` for one run and `compare.html` for several.
//!
//! A page is one file: plots are inline SVG, styles an inline `<style>`, and there is no
//! script and no reference to anything outside the file, so it opens from disk on a
//! machine without network access. Every string that comes from an input (file names,
//! trace header fields, run directory names) goes through [`escape`], so that no trace or
//! scenario can put markup or script into the page.

use super::DrawnPlot;
use crate::run::{RunOutcome, Summary, PROGRAM};
use crate::workload::Workload;
use std::fmt::Write as _;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, Ubuntu, sans-serif;
       margin: 0; color: #1d2430; background: #f6f7f9; }
header { background: #1d3557; color: #fff; padding: 20px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 24px; }
header p { margin: 0; opacity: 0.85; }
main { padding: 16px 32px 48px 32px; max-width: 1100px; }
section { background: #fff; border: 1px solid #dde1e7; border-radius: 6px;
          padding: 12px 20px; margin: 16px 0; }
h2 { font-size: 19px; margin: 6px 0 12px 0; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 12px; border-bottom: 1px solid #e6e9ee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #eef1f5; }
dl { display: grid; grid-template-columns: max-content auto; gap: 4px 16px; margin: 0; }
dt { font-weight: 600; } dd { margin: 0; word-break: break-all; }
figure { margin: 12px 0 24px 0; }
figure svg { max-width: 100%; height: auto; border: 1px solid #e6e9ee; }
figcaption { color: #4a5568; font-size: 14px; margin-top: 4px; }
.better { color: #1b7f3b; } .worse { color: #b42318; }
footer { color: #6b7280; font-size: 13px; padding: 0 32px 24px 32px; }
";

fn page_start(out: &mut String, title: &str, subtitle: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header><h1>{}</h1><p>{}</p></header>\n<main>\n",
        escape(title),
        escape(title),
        escape(subtitle)
    );
}

fn page_end(out: &mut String) {
    let _ = write!(
        out,
        "</main>\n<footer>Made by {} {}: a deterministic discrete-event simulator of HPC and GPU \
         clusters. The same inputs and seed give the same page.</footer>\n</body>\n</html>\n",
        PROGRAM.name, PROGRAM.version
    );
}

fn definition(out: &mut String, term: &str, value: &str) {
    let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", escape(term), escape(value));
}

/// A table: header cells, then rows of cells; every cell is escaped.
fn table(out: &mut String, header: &[String], rows: &[Vec<String>]) {
    out.push_str("<table>\n<thead><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// Inline SVG as plotters wrote it. Its text was escaped by plotters' SVG backend; the
/// document's XML declaration, if any, does not belong inside HTML.
fn inline_svg(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => "",
    }
}

fn figures(out: &mut String, plots: &[DrawnPlot]) {
    for p in plots {
        let _ = write!(
            out,
            "<figure id=\"plot-{}\" class=\"plot\">\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
            p.name,
            inline_svg(&p.svg),
            escape(&p.caption)
        );
    }
}

/// The metric rows of the per-class table: label and value by class.
fn class_rows(s: &Summary) -> Vec<Vec<String>> {
    let m = &s.metrics;
    let classes = [&m.all, &m.interactive, &m.batch];
    let row = |label: &str, f: &dyn Fn(&crate::metrics::ClassMetrics) -> String| {
        let mut r = vec![label.to_string()];
        r.extend(classes.iter().map(|c| f(c)));
        r
    };
    vec![
        row("jobs", &|c| c.jobs.to_string()),
        row("wait mean (s)", &|c| format!("{:.1}", c.wait_mean_s)),
        row("wait median (s)", &|c| format!("{:.0}", c.wait_p50_s)),
        row("wait p95 (s)", &|c| format!("{:.0}", c.wait_p95_s)),
        row("wait p99 (s)", &|c| format!("{:.0}", c.wait_p99_s)),
        row("wait max (s)", &|c| format!("{:.0}", c.wait_max_s)),
        row("bounded slowdown mean", &|c| format!("{:.2}", c.bsld_mean)),
        row("bounded slowdown p95", &|c| format!("{:.2}", c.bsld_p95)),
        row("bounded slowdown max", &|c| format!("{:.1}", c.bsld_max)),
        row("slowdown mean", &|c| format!("{:.2}", c.slowdown_mean)),
        row("response mean (s)", &|c| {
            format!("{:.1}", c.response_mean_s)
        }),
    ]
}

/// `report.html` of one run.
pub fn run_report(
    label: &str,
    workload: &Workload,
    outcome: &RunOutcome,
    plots: &[DrawnPlot],
) -> String {
    let s = &outcome.summary;
    let mut out = String::with_capacity(256 * 1024);
    page_start(
        &mut out,
        &format!("clustersim report: {label}"),
        &format!("{} under {}", s.workload, s.policy),
    );

    out.push_str("<section id=\"run\"><h2>Run</h2>\n<dl>\n");
    if let Some(name) = &s.options.scenario_name {
        let file = s.options.scenario.as_deref().unwrap_or_default();
        definition(&mut out, "scenario", &format!("{name} ({file})"));
    }
    definition(&mut out, "workload", &s.workload);
    definition(&mut out, "format", &s.format);
    if let Some(c) = &workload.meta.computer {
        definition(&mut out, "computer", c);
    }
    definition(
        &mut out,
        "machine",
        &format!("{} processors", s.machine_procs),
    );
    definition(&mut out, "policy", &s.policy);
    definition(&mut out, "seed", &s.seed.to_string());
    definition(
        &mut out,
        "options",
        &format!(
            "bounded-slowdown threshold {} s; kill at walltime: {}; lenient: {}",
            s.options.bsld_tau_s,
            if s.options.kill_at_walltime {
                "yes"
            } else {
                "no"
            },
            if s.options.lenient { "yes" } else { "no" }
        ),
    );
    definition(
        &mut out,
        "program",
        &format!("{} {}", s.program.name, s.program.version),
    );
    out.push_str("</dl>\n</section>\n");

    out.push_str("<section id=\"headline\"><h2>Headline metrics</h2>\n<dl>\n");
    definition(
        &mut out,
        "jobs",
        &format!(
            "{} in the input, {} simulated, {} dropped",
            s.jobs.input, s.jobs.simulated, s.jobs.dropped
        ),
    );
    definition(
        &mut out,
        "utilization",
        &format!("{:.2} %", s.metrics.utilization * 100.0),
    );
    definition(
        &mut out,
        "makespan",
        &format!(
            "{:.0} s ({:.2} days)",
            s.metrics.makespan_s,
            s.metrics.makespan_s / 86_400.0
        ),
    );
    definition(
        &mut out,
        "killed at walltime",
        &s.metrics.killed_jobs.to_string(),
    );
    if let Some(m) = &s.metrics.switches {
        definition(
            &mut out,
            "leaf-switch limits",
            &format!(
                "{} jobs with a limit started: {} within it, {} on more leaves after their wait",
                m.jobs, m.within_limit, m.beyond_limit
            ),
        );
    }
    out.push_str("</dl>\n<h2>By job class</h2>\n");
    table(
        &mut out,
        &[
            "metric".into(),
            "all jobs".into(),
            "interactive".into(),
            "batch".into(),
        ],
        &class_rows(s),
    );
    out.push_str("</section>\n");

    if let Some(r) = &s.metrics.resources {
        out.push_str("<section id=\"resources\"><h2>Cluster resources</h2>\n");
        let pct = |v: f64| format!("{:.2} %", v * 100.0);
        let rows = vec![
            vec!["nodes".to_string(), r.nodes.to_string(), String::new()],
            vec![
                "cores".to_string(),
                r.cores.capacity.to_string(),
                pct(r.cores.utilization),
            ],
            vec![
                "memory (GB)".to_string(),
                (r.memory_mb.capacity / 1024).to_string(),
                pct(r.memory_mb.utilization),
            ],
            vec![
                "GPUs".to_string(),
                r.gpus.capacity.to_string(),
                pct(r.gpus.utilization),
            ],
            vec![
                "MIG slices".to_string(),
                r.mig_slices.capacity.to_string(),
                pct(r.mig_slices.utilization),
            ],
        ];
        table(
            &mut out,
            &["resource".into(), "capacity".into(), "utilization".into()],
            &rows,
        );
        let _ = writeln!(
            out,
            "<p>GPU fragmentation: {} of the GPU-time was idle while a waiting job asked for no \
             more GPUs than were idle.</p>",
            escape(&pct(r.gpu_fragmentation))
        );
        let rows: Vec<Vec<String>> = r
            .partitions
            .iter()
            .map(|p| {
                vec![
                    p.name.clone(),
                    p.jobs.to_string(),
                    format!("{:.1}", p.wait_mean_s),
                    pct(p.cores_utilization),
                    pct(p.gpus_utilization),
                    pct(p.mig_slices_utilization),
                ]
            })
            .collect();
        table(
            &mut out,
            &[
                "partition".into(),
                "jobs".into(),
                "wait mean (s)".into(),
                "cores".into(),
                "GPUs".into(),
                "MIG slices".into(),
            ],
            &rows,
        );
        out.push_str("</section>\n");
    }

    let sessions = &s.metrics.session_start;
    if sessions.requests > 0 {
        session_section(&mut out, s);
    }
    if let Some(p) = &s.metrics.preemption {
        preemption_section(&mut out, p);
    }
    if let Some(o) = &s.metrics.oversubscription {
        oversubscription_section(&mut out, o);
    }
    if let Some(d) = &s.metrics.dynamic_backfill {
        dynamic_backfill_section(&mut out, d);
    }
    if let Some(c) = &s.metrics.controller {
        controller_section(&mut out, c);
    }
    if let Some(f) = &s.metrics.failures {
        failure_section(&mut out, f);
    }
    if let Some(c) = &s.metrics.credits {
        credit_section(&mut out, c);
    }
    if let Some(r) = &s.metrics.rates {
        rates_section(&mut out, r);
    }
    if let (Some(f), Some(settings)) = (&s.metrics.filesystem, &s.options.filesystem) {
        filesystem_section(&mut out, f, settings);
    }

    out.push_str("<section id=\"plots\"><h2>Plots</h2>\n");
    figures(&mut out, plots);
    out.push_str("</section>\n");

    out.push_str("<section id=\"dropped\"><h2>Dropped jobs</h2>\n");
    let dropped: Vec<Vec<String>> = s
        .jobs
        .dropped_by_reason
        .iter()
        .filter(|(_, &n)| n > 0)
        .map(|(reason, n)| vec![reason.to_string(), n.to_string()])
        .collect();
    if dropped.is_empty() {
        out.push_str("<p>No input job was dropped.</p>\n");
    } else {
        let _ = writeln!(
            out,
            "<p>{} of {} input jobs were not simulated; <code>dropped.csv</code> lists each \
             with its line and reason.</p>",
            s.jobs.dropped, s.jobs.input
        );
        table(&mut out, &["reason".into(), "jobs".into()], &dropped);
    }
    out.push_str("</section>\n");

    if !s.header.is_empty() {
        out.push_str("<section id=\"header\"><h2>Trace header</h2>\n");
        let rows: Vec<Vec<String>> = s
            .header
            .iter()
            .map(|(k, v)| vec![k.clone(), v.clone()])
            .collect();
        table(&mut out, &["field".into(), "value".into()], &rows);
        out.push_str("</section>\n");
    }
    page_end(&mut out);
    out
}

/// The sessions (interactive jobs): how fast they started against the target, in all and
/// per generator class.
fn session_section(out: &mut String, s: &Summary) {
    let m = &s.metrics;
    out.push_str("<section id=\"sessions\"><h2>Sessions</h2>\n");
    let _ = writeln!(
        out,
        "<p>Time to start: first start − request + start-up latency. On target: started within {} s, as a share of \
         every session requested (one given up on counts as missed).</p>",
        m.session_start.target_s
    );
    let row = |name: &str, x: &crate::metrics::SessionStartMetrics| {
        vec![
            name.to_string(),
            x.requests.to_string(),
            x.started.to_string(),
            x.abandoned.to_string(),
            x.timeouts.to_string(),
            format!("{:.0}", x.time_to_start_p50_s),
            format!("{:.0}", x.time_to_start_p95_s),
            format!("{:.0}", x.time_to_start_p99_s),
            format!("{:.1} %", x.on_target_share * 100.0),
        ]
    };
    let mut rows = vec![row("all sessions", &m.session_start)];
    rows.extend(
        m.session_start_by_class
            .iter()
            .map(|(class, x)| row(class, x)),
    );
    table(
        out,
        &[
            "sessions".into(),
            "requested".into(),
            "started".into(),
            "abandoned".into(),
            "timeouts".into(),
            "to start p50 (s)".into(),
            "p95 (s)".into(),
            "p99 (s)".into(),
            "on target".into(),
        ],
        &rows,
    );
    // Idle waste, and what the culler did when it was on.
    if let Some(r) = &m.resources {
        let x = &r.sessions;
        let _ = writeln!(
            out,
            "<p>Held while idle (waste): {:.1} of {:.1} core-hours, {:.1} of {:.1} GPU-hours, \
             {:.1} of {:.1} MIG-slice-hours.</p>",
            x.idle_core_hours,
            x.held_core_hours,
            x.idle_gpu_hours,
            x.held_gpu_hours,
            x.idle_mig_slice_hours,
            x.held_mig_slice_hours
        );
    }
    if let Some(c) = &m.culler {
        let _ = writeln!(
            out,
            "<p>The idle culler ended {} sessions ({} idle for its timeout, {} at their maximum \
             age): {} while their user was away (busy again before the session's natural end), \
             {} while they were gone, {} while busy. Reclaimed: {:.1} core-hours, {:.1} \
             GPU-hours, {:.1} MIG-slice-hours.</p>",
            c.sessions_culled,
            c.culled_idle,
            c.culled_max_age,
            c.culled_user_away,
            c.culled_user_gone,
            c.culled_user_active,
            c.reclaimed_core_hours,
            c.reclaimed_gpu_hours,
            c.reclaimed_mig_slice_hours
        );
    }
    out.push_str("</section>\n");
}

/// Each account's charges, month by month.
fn credit_section(out: &mut String, c: &crate::credits::CreditMetrics) {
    out.push_str("<section id=\"credits\"><h2>Credits</h2>\n");
    let _ = writeln!(
        out,
        "<p>{} accounts charged {:.2} in all; {:.2} billed beyond their allowances; {} \
         account-months ran out of credit (<code>chargeback.*</code> has the table).</p>",
        c.accounts, c.total_cost, c.total_overage, c.months_exhausted
    );
    if let Some(n) = c.deprioritized {
        let _ = writeln!(
            out,
            "<p>{n} jobs admitted with their account's credit spent were deprioritized \
             (queued after every job not deprioritized).</p>"
        );
    }
    let rows: Vec<Vec<String>> = c
        .chargeback
        .iter()
        .map(|r| {
            vec![
                r.account.clone(),
                r.month.to_string(),
                format!("{:.1}", r.core_hours),
                format!("{:.1}", r.gpu_hours),
                format!("{:.1}", r.mig_slice_hours),
                format!("{:.2}", r.cost),
                format!("{:.2}", r.allowance),
                format!("{:.2}", r.overage),
                r.exhausted_at_s
                    .map_or("-".to_string(), |t| format!("day {:.1}", t / 86_400.0)),
            ]
        })
        .collect();
    table(
        out,
        &[
            "account".into(),
            "month".into(),
            "core-h".into(),
            "GPU-h".into(),
            "MIG-slice-h".into(),
            "cost".into(),
            "allowance".into(),
            "overage".into(),
            "ran out".into(),
        ],
        &rows,
    );
    out.push_str("</section>\n");
}

/// What preemption did to the batch work it made room against.
fn preemption_section(out: &mut String, p: &crate::metrics::PreemptionMetrics) {
    let rows = vec![
        vec!["preemptions".into(), p.preemptions.to_string()],
        vec!["suspended".into(), p.suspended.to_string()],
        vec!["requeued".into(), p.requeued.to_string()],
        vec!["cancelled".into(), p.cancelled.to_string()],
        vec!["jobs preempted".into(), p.jobs_preempted.to_string()],
        vec![
            "jobs started by preempting".into(),
            p.jobs_started_by_preemption.to_string(),
        ],
        vec![
            "work lost (h at rate 1)".into(),
            format!("{:.1}", p.work_lost_s / 3600.0),
        ],
        vec![
            "time suspended (h)".into(),
            format!("{:.1}", p.suspended_s / 3600.0),
        ],
    ];
    facts_section(
        out,
        "preemption",
        "Preemption",
        "Jobs of a higher partition tier that could not start made running jobs of \
         preemptible lower tiers let go of their nodes: suspended (memory held, resumed on \
         the same nodes), requeued (losing the work since their last checkpoint) or \
         cancelled, after their partition's grace time.",
        rows,
    );
}

/// The controller's loops, in the style of Slurm's `sdiag`.
fn controller_section(out: &mut String, c: &crate::controller::ControllerMetrics) {
    let rows = vec![
        vec![
            "main cycles (over the whole queue)".into(),
            format!("{} ({})", c.main_cycles, c.main_full_cycles),
        ],
        vec![
            "main depth mean / max".into(),
            format!("{:.1} / {}", c.main_depth_mean, c.main_depth_max),
        ],
        vec![
            "main cycles at their depth / at max_sched_time".into(),
            format!("{} / {}", c.main_cycles_at_depth, c.main_cycles_at_time),
        ],
        vec![
            "main cycle mean / max (µs)".into(),
            format!("{:.0} / {}", c.main_cycle_mean_us, c.main_cycle_max_us),
        ],
        vec![
            "jobs started by the main loop".into(),
            c.main_started.to_string(),
        ],
        vec!["backfill cycles".into(), c.backfill_cycles.to_string()],
        vec![
            "backfill depth mean / max".into(),
            format!("{:.1} / {}", c.backfill_depth_mean, c.backfill_depth_max),
        ],
        vec![
            "backfill cycles at bf_max_job_test / at bf_max_time".into(),
            format!(
                "{} / {}",
                c.backfill_cycles_at_limit, c.backfill_cycles_at_time
            ),
        ],
        vec![
            "backfill cycle mean / max, yields included (µs)".into(),
            format!(
                "{:.0} / {}",
                c.backfill_cycle_mean_us, c.backfill_cycle_max_us
            ),
        ],
        vec![
            "starts dropped before their launch".into(),
            c.launches_dropped.to_string(),
        ],
        vec![
            "jobs started by the backfill loop".into(),
            c.backfill_started.to_string(),
        ],
        vec![
            "backfill passes deferred for max_rpc_cnt".into(),
            c.backfill_deferred.to_string(),
        ],
        vec![
            "acknowledgement latency p50 / p99 / max (s)".into(),
            format!(
                "{:.3} / {:.3} / {:.3}",
                c.ack_latency_p50_s, c.ack_latency_p99_s, c.ack_latency_max_s
            ),
        ],
        vec![
            "longest backlog of submissions".into(),
            c.longest_backlog.to_string(),
        ],
        vec![
            "wait before acknowledgement, mean (s)".into(),
            format!("{:.3}", c.wait_before_ack_mean_s),
        ],
        vec![
            "then before first consideration, mean / max (s)".into(),
            format!(
                "{:.1} / {:.1}",
                c.wait_before_consideration_mean_s, c.wait_before_consideration_max_s
            ),
        ],
        vec![
            "then to the start, mean (s)".into(),
            format!("{:.1}", c.wait_after_consideration_mean_s),
        ],
        vec![
            "controller outages (total length, s)".into(),
            format!("{} ({:.0})", c.outages, c.outage_s),
        ],
        vec![
            "submissions lost after their retries".into(),
            c.submissions_lost.to_string(),
        ],
    ];
    let mut rows = rows;
    for o in &c.outage_reports {
        rows.push(vec![
            format!("outage at {:.0} s", o.down_s),
            format!(
                "{:.0} s down; {} submissions delayed, {} lost; {} jobs delayed by {:.0} s \
                 in all; {:.0} core-hours idle",
                o.length_s,
                o.submissions_delayed,
                o.submissions_lost,
                o.jobs_delayed,
                o.delay_added_s,
                o.idle_core_hours
            ),
        ]);
    }
    facts_section(
        out,
        "controller",
        "Controller",
        "The head node's two scheduling loops, as Slurm runs them: main passes on \
         changes (to <code>default_queue_depth</code> jobs) and over the whole queue every \
         <code>sched_interval</code>; backfill passes every <code>bf_interval</code> (to \
         <code>bf_max_job_test</code> jobs). A pass holds the controller for its cost and \
         launches each job it starts once it has tested it. Each job's first consideration \
         is the <code>first_considered_s</code> column of <code>jobs.csv</code>.",
        rows,
    );
}

/// What suspending idle sessions did, and what it cost returning users.
fn dynamic_backfill_section(out: &mut String, d: &crate::metrics::IdleSuspensionMetrics) {
    let rows = vec![
        vec!["idle sessions suspended".into(), d.suspended.to_string()],
        vec!["jobs started by it".into(), d.jobs_started.to_string()],
        vec![
            "time suspended (h)".into(),
            format!("{:.1}", d.suspended_s / 3600.0),
        ],
        vec![
            "core-hours / GPU-hours freed".into(),
            format!("{:.1} / {:.1}", d.freed_core_hours, d.freed_gpu_hours),
        ],
        vec![
            "users back while suspended (resumed at once)".into(),
            format!("{} ({})", d.users_back, d.resumed_at_once),
        ],
        vec![
            "returning users' wait mean / max (s)".into(),
            format!("{:.1} / {:.1}", d.resume_wait_mean_s, d.resume_wait_max_s),
        ],
        vec![
            "sessions ended while suspended".into(),
            d.ended_suspended.to_string(),
        ],
    ];
    facts_section(
        out,
        "dynamic-backfill",
        "Dynamic backfill",
        "Waiting jobs suspended sessions whose users had been idle for the pool's \
         threshold (memory held); a session resumed when its user came back, preempting \
         what had taken its place if it had to, and its idle time suspended counted as \
         session time.",
        rows,
    );
}

/// What sessions on an oversubscribed pool felt.
fn oversubscription_section(
    out: &mut String,
    o: &crate::metrics::contention::OversubscriptionMetrics,
) {
    let rows = vec![
        vec!["sessions on the pool".into(), o.sessions.to_string()],
        vec!["sessions slowed".into(), o.sessions_slowed.to_string()],
        vec![
            "busy core-hours demanded".into(),
            format!("{:.1}", o.busy_core_hours),
        ],
        vec![
            "of which contended".into(),
            format!("{:.1}", o.contended_core_hours),
        ],
        vec![
            "slowdown of busy work (demanded / served)".into(),
            format!("{:.3}", o.slowdown_mean),
        ],
        vec![
            "session busy slowdown p95 / max".into(),
            format!("{:.3} / {:.3}", o.slowdown_p95, o.slowdown_max),
        ],
        vec![
            "peak busy demand per core".into(),
            format!("{:.2}", o.peak_demand_per_core),
        ],
    ];
    facts_section(
        out,
        "oversubscription",
        "Oversubscribed pool",
        "The pool's nodes offer more cores than they have; while the sessions whose users \
         are busy on a node ask for more cores than it has, they share them and each runs \
         that many times slower. Sessions still end when their users leave. A session's busy \
         slowdown is the <code>busy_slowdown</code> column of <code>jobs.csv</code>.",
        rows,
    );
}

/// What node failures cost.
fn failure_section(out: &mut String, f: &crate::metrics::FailureMetrics) {
    let rows = vec![
        vec!["node failures".into(), f.node_failures.to_string()],
        vec![
            "node availability".into(),
            format!("{:.2} %", f.availability * 100.0),
        ],
        vec![
            "node-hours down".into(),
            format!("{:.1}", f.node_hours_down),
        ],
        vec!["GPU-hours down".into(), format!("{:.1}", f.gpu_hours_down)],
        vec!["jobs hit".into(), f.jobs_hit.to_string()],
        vec!["requeued by a failure".into(), f.requeued.to_string()],
        vec!["jobs failed".into(), f.jobs_failed.to_string()],
        vec![
            "work lost (h at rate 1)".into(),
            format!("{:.1}", f.work_lost_s / 3600.0),
        ],
        vec![
            "node-hours of lost work".into(),
            format!("{:.1}", f.node_hours_lost),
        ],
        vec![
            "GPU-hours of lost work".into(),
            format!("{:.1}", f.gpu_hours_lost),
        ],
    ];
    facts_section(
        out,
        "failures",
        "Node failures",
        "Outages within the run; a job hit by a failure is requeued or ends failed, by its \
         class, and loses what it did since it last started afresh.",
        rows,
    );
}

/// What the shared file system did: staging time, busy time, stagers.
fn filesystem_section(
    out: &mut String,
    f: &crate::filesystem::FileSystemMetrics,
    settings: &crate::filesystem::FileSystemSettings,
) {
    let rows = vec![
        vec![
            "aggregate bandwidth (GB/s)".into(),
            format!("{}", settings.bandwidth_gb_s),
        ],
        vec!["jobs that staged".into(), f.jobs_staging.to_string()],
        vec![
            "time staging in (h)".into(),
            format!("{:.2}", f.stage_in_s / 3600.0),
        ],
        vec![
            "time staging out (h)".into(),
            format!("{:.2}", f.stage_out_s / 3600.0),
        ],
        vec![
            "node-hours held while staging".into(),
            format!("{:.2}", f.staging_node_hours),
        ],
        vec!["busy time (h)".into(), format!("{:.2}", f.busy_s / 3600.0)],
        vec![
            "busy share of the makespan (%)".into(),
            format!("{:.1}", f.busy_fraction * 100.0),
        ],
        vec![
            "data moved (GB)".into(),
            format!("{:.1}", f.volume_moved_gb),
        ],
        vec![
            "mean jobs staging while busy".into(),
            format!("{:.2}", f.stagers_mean),
        ],
        vec![
            "most jobs staging at once".into(),
            f.stagers_max.to_string(),
        ],
    ];
    facts_section(
        out,
        "filesystem",
        "Shared file system",
        "Jobs stage their input in at the start of a segment and their output out once \
         their work is done, holding their nodes; the jobs staging at one time share the \
         aggregate bandwidth equally (see the README, Shared file system). Each job's \
         staging time is the <code>staging_s</code> column of <code>jobs.csv</code>.",
        rows,
    );
}

/// What GPU speed and the fabric did to the jobs' rates.
fn rates_section(out: &mut String, r: &crate::rates::RateMetrics) {
    let rows = vec![
        vec!["GPU speed counted".into(), r.gpu_speed.to_string()],
        vec![
            "fabric coefficient c".into(),
            format!("{}", r.fabric_slowdown),
        ],
        vec![
            "mean rate (time-weighted)".into(),
            format!("{:.3}", r.rate_mean),
        ],
        vec![
            "jobs slowed by the fabric".into(),
            r.jobs_slowed_by_fabric.to_string(),
        ],
        vec![
            "jobs on several leaves".into(),
            r.jobs_on_several_leaves.to_string(),
        ],
        vec![
            "time added by the fabric (h)".into(),
            format!("{:.1}", r.fabric_time_added_s / 3600.0),
        ],
        vec![
            "node-hours added by the fabric".into(),
            format!("{:.1}", r.fabric_node_hours_added),
        ],
        vec![
            "time saved by GPU speed (h)".into(),
            format!("{:.1}", r.gpu_time_saved_s / 3600.0),
        ],
    ];
    facts_section(
        out,
        "rates",
        "Rates",
        "A segment's rate is its GPU factor (Amdahl over the job's GPU-bound share, at the \
         slowest GPU among its nodes) times its fabric factor (the share of its node pairs \
         across leaf switches); see docs/semantics.md.",
        rows,
    );
}

/// A report section: a title, an introduction (HTML) and a table of (what, value) rows.
fn facts_section(out: &mut String, id: &str, title: &str, intro: &str, rows: Vec<Vec<String>>) {
    out.push_str(&format!(
        "<section id=\"{id}\"><h2>{title}</h2>\n<p>{intro}</p>\n"
    ));
    table(out, &["what".into(), "value".into()], &rows);
    out.push_str("</section>\n");
}

/// `compare.html`: the comparison table (each metric's change relative to the first run)
/// and the side-by-side plot.
pub fn compare_page(table_header: &[String], rows: &[Vec<String>], plots: &[DrawnPlot]) -> String {
    let mut out = String::with_capacity(128 * 1024);
    page_start(
        &mut out,
        "clustersim comparison",
        &format!("{} runs side by side", table_header.len().saturating_sub(1)),
    );
    out.push_str(
        "<section id=\"table\"><h2>Metrics</h2>\n<p>Changes are relative to the \
                  first run.</p>\n",
    );
    table(&mut out, table_header, rows);
    out.push_str("</section>\n<section id=\"plots\"><h2>Plots</h2>\n");
    figures(&mut out, plots);
    out.push_str("</section>\n");
    page_end(&mut out);
    out
}

/// `sweep.html`: a sweep's points (each chosen metric's mean and 95 % interval) and its
/// plots, from `(id, caption, SVG)` figures.
pub fn sweep_page(
    title: &str,
    subtitle: &str,
    header: &[String],
    rows: &[Vec<String>],
    plots: &[(String, String, String)],
) -> String {
    let mut out = String::with_capacity(256 * 1024);
    page_start(&mut out, title, subtitle);
    out.push_str(
        "<section id=\"points\"><h2>Points</h2>\n<p>Each point is a combination of the swept \
         values other than the seed; a metric is its mean over the point's runs ± the half-width \
         of a 95 % confidence interval (Student's t).</p>\n",
    );
    table(&mut out, header, rows);
    out.push_str("</section>\n<section id=\"plots\"><h2>Plots</h2>\n");
    for (id, caption, svg) in plots {
        let _ = write!(
            out,
            "<figure id=\"plot-{}\" class=\"plot\">\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
            escape(id),
            inline_svg(svg),
            escape(caption)
        );
    }
    out.push_str("</section>\n");
    page_end(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_inputs_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn inline_svg_drops_anything_before_the_element() {
        assert_eq!(
            inline_svg("<?xml version=\"1.0\"?>\n<svg a>x</svg>"),
            "<svg a>x</svg>"
        );
        assert_eq!(inline_svg("no svg"), "");
    }
}
