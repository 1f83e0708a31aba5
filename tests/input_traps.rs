//! Small input traps, each written as its reproduction: a byte-order mark before a trace,
//! duplicate job numbers, an openb pod list without `--trace-format`, a `--node-list` that
//! the trace does not use, baselines that miss a metric or name a run twice, and the
//! scenario's name in the run's outputs.

mod common;

use clustersim::workload::swf::{read_swf, SwfOptions};
use clustersim::workload::{read_trace_file, TraceFormat};

const SWF: &str = "; Version: 2.2\n; MaxProcs: 8\n; UnixStartTime: 1000\n\
                   1 0 -1 50 4 -1 -1 4 60 -1 1 7 3 -1 1 2 -1 -1\n\
                   2 5 -1 10 2 -1 -1 2 20 -1 1 7 3 -1 1 2 -1 -1\n";

const SACCT: &str = "JobID|JobIDRaw|Submit|Start|End|Elapsed|Timelimit|State|NCPUS\n\
                     10|10|2024-01-01T00:00:00|2024-01-01T00:00:10|2024-01-01T00:01:10|01:00|00:10:00|COMPLETED|4\n\
                     11|11|2024-01-01T00:00:05|2024-01-01T00:00:10|2024-01-01T00:02:10|02:00|00:10:00|COMPLETED|2\n";

fn lenient() -> SwfOptions {
    SwfOptions {
        lenient: true,
        ..SwfOptions::default()
    }
}

#[test]
fn a_byte_order_mark_before_an_swf_header_is_skipped() {
    let with_bom = format!("\u{feff}{SWF}");
    for options in [SwfOptions::default(), lenient()] {
        let w = read_swf(with_bom.as_bytes(), "bom.swf", &options).unwrap();
        // The first header line keeps its key, and no job is lost or invented.
        assert_eq!(
            w.meta.header.get("Version").map(String::as_str),
            Some("2.2")
        );
        assert_eq!(w.meta.unix_start_time, Some(1000));
        assert_eq!((w.jobs.len(), w.input_jobs), (2, 2));
        assert!(w.dropped.is_empty(), "{:?}", w.dropped);
    }
    // A mark before a job line (a trace without a header) is skipped too.
    let jobs_only = "\u{feff}1 0 -1 50 4 -1 -1 4 60 -1 1 7 3 -1 1 2 -1 -1\n";
    let options = SwfOptions {
        procs: Some(8),
        ..SwfOptions::default()
    };
    let w = read_swf(jobs_only.as_bytes(), "bom.swf", &options).unwrap();
    assert_eq!(w.jobs.len(), 1);
}

#[test]
fn a_byte_order_mark_before_a_sacct_header_is_skipped() {
    let dir = common::scratch("bom_sacct");
    let path = dir.join("dump.txt");
    std::fs::write(&path, format!("\u{feff}{SACCT}")).unwrap();
    let options = SwfOptions {
        procs: Some(16),
        ..SwfOptions::default()
    };
    // Recognised as sacct from its header, and read with its JobID column.
    let w = read_trace_file(&path, TraceFormat::Auto, &options).unwrap();
    assert_eq!(w.meta.format, "sacct");
    assert_eq!(w.jobs.len(), 2);
    let w = read_trace_file(&path, TraceFormat::Sacct, &options).unwrap();
    assert_eq!(w.jobs.len(), 2);
}

#[test]
fn a_repeated_swf_job_number_is_an_error_naming_both_lines() {
    let dir = common::scratch("repeated_swf_job_number");
    let trace = dir.join("repeat.swf");
    // Job 1 on lines 2 and 4; job 3 (line 5) asks for too many processors and is dropped,
    // but its number still counts.
    std::fs::write(
        &trace,
        "; MaxProcs: 8\n\
         1 0 -1 50 4 -1 -1 4 60 -1 1 7 3 -1 1 2 -1 -1\n\
         2 5 -1 10 2 -1 -1 2 20 -1 1 7 3 -1 1 2 -1 -1\n\
         1 7 -1 10 2 -1 -1 2 20 -1 1 7 3 -1 1 2 -1 -1\n\
         3 9 -1 10 64 -1 -1 64 20 -1 1 7 3 -1 1 2 -1 -1\n\
         3 9 -1 10 2 -1 -1 2 20 -1 1 7 3 -1 1 2 -1 -1\n",
    )
    .unwrap();
    let out = common::clustersim(&["inspect", common::arg(&trace)]);
    let said = common::text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("repeat.swf:4: field 1 (job number): 1 repeats the job number on line 2"),
        "{said}"
    );
    // --lenient: the repeats get numbers past the trace's largest, in file order, counted.
    let w = clustersim::workload::swf::read_swf_file(&trace, &lenient()).unwrap();
    let mut numbers: Vec<u64> = w.jobs.iter().map(|j| j.trace_id).collect();
    numbers.extend(w.dropped.iter().filter_map(|d| d.trace_id));
    numbers.sort_unstable();
    assert_eq!(numbers, vec![1, 2, 3, 4, 5]);
    assert_eq!(w.meta.renumbered_jobs, 2);
    let line_of_4 = w.jobs.iter().find(|j| j.trace_id == 4).unwrap();
    assert_eq!(line_of_4.submit.as_ms(), 7_000, "line 4's job is number 4");
    // The count reaches summary.json.
    let run = dir.join("run");
    let out = common::clustersim(&[
        "run",
        "--workload",
        common::arg(&trace),
        "--lenient",
        "--out",
        common::arg(&run),
    ]);
    assert!(out.status.success(), "{}", common::text(&out));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["jobs"]["renumbered"], 2);
}

#[test]
fn a_repeated_sacct_job_number_is_an_error_naming_both_lines() {
    let repeated = format!(
        "{SACCT}10|10|2024-01-01T00:00:07|2024-01-01T00:00:10|2024-01-01T00:01:10|01:00|00:10:00|COMPLETED|1\n"
    );
    let options = SwfOptions {
        procs: Some(16),
        ..SwfOptions::default()
    };
    let e = clustersim::workload::sacct::read_sacct(&repeated, "dump.txt", &options)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "dump.txt:4: JobIDRaw: job number 10 repeats the job number on line 2 (job numbers \
         must be unique; --lenient renumbers repeats)"
    );
    let options = SwfOptions {
        lenient: true,
        ..options
    };
    let w = clustersim::workload::sacct::read_sacct(&repeated, "dump.txt", &options).unwrap();
    let mut numbers: Vec<u64> = w.jobs.iter().map(|j| j.trace_id).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, vec![10, 11, 12]);
    assert_eq!(w.meta.renumbered_jobs, 1);
}

/// A tiny openb node list and pod list, in `dir`.
fn openb_files(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let nodes = dir.join("nodes.csv");
    let pods = dir.join("pods.csv");
    std::fs::write(
        &nodes,
        "sn,cpu_milli,memory_mib,gpu,model\nn0,32000,262144,2,V100\n",
    )
    .unwrap();
    std::fs::write(
        &pods,
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,\
         deletion_time,scheduled_time\n\
         p0,1000,1024,1,1000,,LS,Succeeded,0,100,10\n\
         p1,1000,1024,1,500,,LS,Succeeded,5,100,10\n",
    )
    .unwrap();
    (nodes, pods)
}

#[test]
fn an_openb_pod_list_is_recognised_from_its_header() {
    let dir = common::scratch("openb_recognised");
    let (nodes, pods) = openb_files(&dir);
    // No --trace-format: inspect, convert and run all read it as pods on the node list.
    let out = common::clustersim(&[
        "inspect",
        common::arg(&pods),
        "--node-list",
        common::arg(&nodes),
    ]);
    assert!(out.status.success(), "{}", common::text(&out));
    assert!(common::text(&out).contains("job records: 2\n"));
    let run = dir.join("run");
    let out = common::clustersim(&[
        "run",
        "--workload",
        common::arg(&pods),
        "--node-list",
        common::arg(&nodes),
        "--no-plots",
        "--out",
        common::arg(&run),
    ]);
    assert!(out.status.success(), "{}", common::text(&out));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["format"], "openb");
    assert_eq!(summary["jobs"]["simulated"], 2);
    // Without its node list, the error says what it needs (not an SWF parse error).
    let out = common::clustersim(&["inspect", common::arg(&pods)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::text(&out).contains("--node-list"),
        "{}",
        common::text(&out)
    );
}

#[test]
fn a_node_list_beside_a_trace_that_does_not_use_it_is_an_error() {
    let dir = common::scratch("node_list_unused");
    let (nodes, _) = openb_files(&dir);
    let trace = dir.join("trace.swf");
    std::fs::write(&trace, SWF).unwrap();
    for command in ["run", "inspect"] {
        let mut args = vec![command];
        if command == "run" {
            args.push("--workload");
        }
        args.extend([common::arg(&trace), "--node-list", common::arg(&nodes)]);
        let out = common::clustersim(&args);
        let said = common::text(&out);
        assert_eq!(out.status.code(), Some(2), "{command}: {said}");
        assert!(
            said.contains("only an openb pod list runs on a node list")
                && said.contains("trace.swf is not one"),
            "{command}: {said}"
        );
    }
    // In a scenario: the key's file and line.
    let scenario = dir.join("s.toml");
    std::fs::write(
        &scenario,
        "name = \"s\"\n[workload]\ntrace = \"trace.swf\"\nnode_list = \"nodes.csv\"\n",
    )
    .unwrap();
    let out = common::clustersim(&["run", common::arg(&scenario), "--no-plots"]);
    let said = common::text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("s.toml:4: workload.node_list"), "{said}");
}

/// `check` of scenarios/hpc-cpu.toml against the committed baseline after `edit`.
fn check_against_edited_baseline(name: &str, edit: impl Fn(&mut serde_json::Value)) -> String {
    let dir = common::scratch(name);
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut baseline: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo.join("scenarios/baseline.json")).unwrap(),
    )
    .unwrap();
    edit(&mut baseline);
    let file = dir.join("baseline.json");
    std::fs::write(&file, serde_json::to_string_pretty(&baseline).unwrap()).unwrap();
    let out = common::clustersim_in_repo(&[
        "check",
        "scenarios/hpc-cpu.toml",
        "--baseline",
        common::arg(&file),
    ]);
    let said = common::text(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an input error, not a regression: {said}"
    );
    said
}

#[test]
fn a_metric_missing_from_a_baseline_is_an_input_error() {
    let said = check_against_edited_baseline("baseline_missing_metric", |b| {
        b["runs"][0]["metrics"]
            .as_object_mut()
            .unwrap()
            .shift_remove("all.wait_p95_s");
    });
    assert!(
        said.contains(
            "runs[0] (scenario \"hpc-cpu\", run as written): metrics has no \"all.wait_p95_s\""
        ),
        "{said}"
    );
    assert!(!said.contains("REGRESSED"), "{said}");
}

#[test]
fn a_baseline_naming_a_run_twice_is_an_error() {
    let said = check_against_edited_baseline("baseline_run_twice", |b| {
        let runs = b["runs"].as_array_mut().unwrap();
        let again = runs[0].clone();
        runs.push(again);
    });
    assert!(
        said.contains("runs[3] names scenario \"hpc-cpu\", run as written, as runs[0] does"),
        "{said}"
    );
}

#[test]
fn the_scenario_name_appears_in_summary_and_report() {
    let dir = common::scratch("scenario_name_in_outputs");
    std::fs::write(dir.join("trace.swf"), SWF).unwrap();
    let scenario = dir.join("named.toml");
    std::fs::write(
        &scenario,
        "name = \"night <shift>\"\n[workload]\ntrace = \"trace.swf\"\n",
    )
    .unwrap();
    let run = dir.join("run");
    let out = common::clustersim(&["run", common::arg(&scenario), "--out", common::arg(&run)]);
    assert!(out.status.success(), "{}", common::text(&out));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["options"]["scenario_name"], "night <shift>");
    let report = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(
        report.contains("<dt>scenario</dt><dd>night &lt;shift&gt; ("),
        "{report}"
    );
}
