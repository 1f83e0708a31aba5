//! Composed workloads (`[[workload.sources]]`): a trace plus generated sessions on one
//! cluster, traces of processors anywhere merged with offsets, generators that never share
//! numbers, and located errors.

use clustersim::policy::PolicyKind;
use clustersim::scenario::{self, LoadedScenario};
use clustersim::workload::compose::ID_STRIDE;
use clustersim::workload::Workload;
use std::path::{Path, PathBuf};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn plan(loaded: &LoadedScenario) -> Workload {
    let args = clustersim::plan::RunRequest::default();
    clustersim::plan::plan_run(&args, Some(loaded), None)
        .unwrap()
        .workload
}

/// A scenario written in the repository's scenarios/ folder's place (so that relative
/// paths resolve as they do there).
fn scenario_text(name: &str, text: &str) -> LoadedScenario {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compose");
    std::fs::create_dir_all(&dir).unwrap();
    let text = text.replace(
        "DEMO",
        &repo("workloads/demo-3000-128.swf").display().to_string(),
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, &text).unwrap();
    scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_trace_plus_generated_sessions_run_together_on_one_cluster() {
    let loaded = scenario::load(&repo("scenarios/trace-plus-sessions.toml")).unwrap();
    let w = plan(&loaded);
    assert_eq!(w.input_jobs, 3_600);
    assert_eq!(w.jobs.len() + w.dropped.len(), 3_600);
    let nw = w.nodes.as_ref().expect("node-level");
    assert_eq!(
        nw.classes,
        ["trace/batch", "trace/interactive", "sessions/notebook"]
    );
    let sessions: Vec<usize> = (0..w.jobs.len()).filter(|&i| nw.class_of[i] == 2).collect();
    assert_eq!(sessions.len(), 600);
    for &i in &sessions {
        assert!(
            w.jobs[i].trace_id > ID_STRIDE,
            "sessions are numbered apart"
        );
        assert_eq!(nw.requests[i].gpus_per_node, 1);
        assert_eq!(nw.partitions[nw.partition_of[i] as usize], "notebooks");
    }
    // The trace keeps its numbers; a 64-processor job asks for 8 nodes of 8 cores.
    let trace_ids: Vec<u64> = w
        .jobs
        .iter()
        .map(|j| j.trace_id)
        .filter(|&id| id < ID_STRIDE)
        .collect();
    assert_eq!(trace_ids.len(), 3_000);
    for (i, j) in w.jobs.iter().enumerate() {
        if j.trace_id < ID_STRIDE && j.procs > 8 && nw.class_of[i] == 0 {
            let r = &nw.requests[i];
            assert_eq!(r.nodes, j.procs.div_ceil(8));
            assert!(r.cores_per_node * r.nodes >= j.procs && r.cores_per_node <= 8);
        }
    }
    // Sorted by submit; it runs, and every node-level invariant holds.
    assert!(w.jobs.windows(2).all(|p| p[0].submit <= p[1].submit));
    let outcome =
        clustersim::run::run(&w, PolicyKind::Easy, &Default::default(), &mut |_| {}).unwrap();
    clustersim::check::check_schedule(&w, &outcome.result).unwrap();
    clustersim::check::check_nodes(&w, &outcome.result).unwrap();
    // Deterministic.
    let again = plan(&loaded);
    assert!(again
        .jobs
        .iter()
        .zip(&w.jobs)
        .all(|(a, b)| a.trace_id == b.trace_id && a.submit == b.submit));
}

#[test]
fn traces_of_processors_anywhere_merge_with_offsets_and_filters() {
    let loaded = scenario_text(
        "two-traces",
        r#"
[workload]
procs = 128
load_factor = 2.0
[[workload.sources]]
trace = "DEMO"
[[workload.sources]]
trace = "DEMO"
offset_s = 86400
filter = { to_s = 3600 }
"#,
    );
    let w = plan(&loaded);
    assert!(w.nodes.is_none());
    assert_eq!(w.input_jobs, 6_000);
    let second: Vec<_> = w.jobs.iter().filter(|j| j.trace_id > ID_STRIDE).collect();
    let first_hour = w
        .dropped
        .iter()
        .filter(|d| d.trace_id.unwrap() > ID_STRIDE)
        .count();
    assert_eq!(second.len() + first_hour, 3_000);
    assert!(
        !second.is_empty() && first_hour > 2_000,
        "the source's filter kept its first hour"
    );
    // The offset (a day), then the merged workload's load factor 2: a day becomes half.
    let t0 = w.jobs[0].submit.as_ms();
    assert!(second.iter().all(|j| j.submit.as_ms() - t0 >= 43_200_000));
    assert_eq!(w.meta.format, "composite");
}

#[test]
fn two_generator_sources_draw_different_numbers() {
    let source = r#"
[[workload.sources]]
[workload.sources.generator]
jobs = 200
procs = 64
"#;
    let loaded = scenario_text(
        "two-generators",
        &format!("[workload]\nprocs = 64\n{source}{source}"),
    );
    let w = plan(&loaded);
    let runs = |first: bool| -> Vec<u64> {
        let mut v: Vec<u64> = w
            .jobs
            .iter()
            .filter(|j| (j.trace_id < ID_STRIDE) == first)
            .map(|j| j.work.as_ms())
            .collect();
        v.sort();
        v
    };
    assert_eq!(runs(true).len(), 200);
    assert_ne!(runs(true), runs(false));
}

#[test]
fn bad_sources_are_located_errors() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compose-bad");
    std::fs::create_dir_all(&dir).unwrap();
    for (text, expected) in [
        (
            "[workload]\ntrace = \"x.swf\"\n[[workload.sources]]\ntrace = \"y.swf\"\n",
            "workload.sources: give the jobs' sources either",
        ),
        (
            "[workload]\nprocs = 8\n[[workload.sources]]\ntrace = \"y.swf\"\n[[workload.sources]]\n[workload.sources.generator]\njobs = 0\n",
            "workload.sources[1].generator.jobs: expected at least 1 job",
        ),
        (
            "[workload]\nprocs = 8\n[[workload.sources]]\nname = \"a\"\ntrace = \"y.swf\"\n[[workload.sources]]\nname = \"a\"\ntrace = \"z.swf\"\n",
            "workload.sources[1].name: two sources are named \"a\"",
        ),
        (
            "[workload]\nprocs = 8\n[[workload.sources]]\ntrace = \"y.swf\"\noffset_s = 9223372036854775807\n",
            "workload.sources[0].offset_s: expected at most 9223372036854775 s",
        ),
    ] {
        let path = dir.join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let e = scenario::load(&path).unwrap_err().to_string();
        assert!(e.contains(expected), "{e}");
    }
}

#[test]
fn inspect_and_convert_read_a_scenarios_workload() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compose-convert");
    std::fs::create_dir_all(&dir).unwrap();
    let bin = env!("CARGO_BIN_EXE_clustersim");
    let scenario = repo("scenarios/trace-plus-sessions.toml");
    let o = std::process::Command::new(bin)
        .args(["inspect", scenario.to_str().unwrap()])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("job records: 3600\nwould simulate: 3600\n"),
        "{out}"
    );
    // 600 generated sessions and the trace's 326 interactive jobs.
    assert!(out.contains("interactive jobs: 926\n"), "{out}");
    // The generated and composed workload, as SWF: it reads back with every job.
    let swf = dir.join("composed.swf");
    // The folder is kept between test runs, and convert refuses an existing file.
    let _ = std::fs::remove_file(&swf);
    let o = std::process::Command::new(bin)
        .args([
            "convert",
            scenario.to_str().unwrap(),
            "--to",
            "swf",
            "--out",
            swf.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let back = clustersim::workload::read_trace_file(&swf, Default::default(), &Default::default())
        .unwrap();
    assert_eq!(back.jobs.len(), 3_600);
    assert!(back.jobs.iter().any(|j| j.trace_id > ID_STRIDE));
}

#[test]
fn a_trace_that_ignores_partitions_beside_one_that_uses_them_is_explained() {
    // A DLRM trace puts every job in one partition "all"; generated sessions on a cluster
    // with partitions use the cluster's. Composing them is refused, saying why.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compose-partitions");
    std::fs::create_dir_all(&dir).unwrap();
    let dlrm = dir.join("dlrm.csv");
    std::fs::write(
        &dlrm,
        "cpu_request,memory_request,gpu_request,creation_time,scheduled_time,deletion_time\n\
         4,16,1,10,12,500\n8,32,0,20,25,900\n",
    )
    .unwrap();
    let loaded = scenario_text(
        "partitions",
        &format!(
            "[cluster.node_types.cpu]\ncount = 4\ncores = 16\nmemory_gb = 64\n\
             [cluster.node_types.gpu]\ncount = 2\ncores = 16\nmemory_gb = 64\ngpus = 4\n\
             [cluster.partitions.batch]\nnode_types = [\"cpu\"]\nkinds = \"batch\"\n\
             [cluster.partitions.notebooks]\nnode_types = [\"gpu\"]\nkinds = \"interactive\"\n\
             [[workload.sources]]\nname = \"sessions\"\n[workload.sources.generator]\njobs = 20\n\
             [[workload.sources]]\nname = \"dlrm\"\ntrace = {:?}\nformat = \"dlrm\"\n",
            dlrm.display().to_string()
        ),
    );
    let args = clustersim::plan::RunRequest::default();
    let e = clustersim::plan::plan_run(&args, Some(&loaded), None)
        .err()
        .expect("refused")
        .to_string();
    for part in [
        "source \"dlrm\" puts its jobs in partitions (all)",
        "the first node-level source in (batch, notebooks)",
        "DLRM and openb traces ignore [cluster.partitions]",
    ] {
        assert!(e.contains(part), "{e}");
    }
}
