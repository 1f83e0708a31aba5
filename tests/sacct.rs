//! Slurm accounting dumps (`sacct -P`): the real fixtures in ../shared/traces/slurm (pipes
//! and newlines inside free-text columns, steps, arrays, a truncated record) and a
//! hand-written file with every quirk the reader documents.

mod common;

use clustersim::workload::sacct::read_sacct;
use clustersim::workload::swf::SwfOptions;
use clustersim::workload::{read_trace_file, JobKind, TraceFormat, Workload};
use std::path::PathBuf;

fn options(procs: u32) -> SwfOptions {
    SwfOptions {
        procs: Some(procs),
        ..SwfOptions::default()
    }
}

fn by_id(w: &Workload, id: u64) -> &clustersim::workload::Job {
    w.jobs
        .iter()
        .find(|j| j.trace_id == id)
        .unwrap_or_else(|| panic!("job {id} missing"))
}

fn reasons(w: &Workload) -> Vec<&'static str> {
    w.dropped.iter().map(|d| d.reason.as_str()).collect()
}

#[test]
fn the_real_dumps_read_with_their_quirks() {
    let Some(shared) = common::shared_dir("the_real_dumps_read_with_their_quirks") else {
        return;
    };
    let dir = shared.join("traces/slurm");
    let read = |name: &str, lenient: bool| {
        read_trace_file(
            &dir.join(name),
            TraceFormat::Auto,
            &SwfOptions {
                procs: Some(4096),
                lenient,
                ..SwfOptions::default()
            },
        )
    };
    // 26 columns, `|` inside a JobName.
    let simple = read("sacct_simple.log.gz", false).unwrap();
    assert_eq!(simple.meta.format, "sacct");
    assert_eq!(simple.jobs.len(), 4);
    let first = by_id(&simple, 1);
    assert_eq!(first.work.as_ms(), 84_805_000); // Elapsed 23:33:25
    assert_eq!(first.estimate.as_ms(), 259_200_000); // Timelimit 3-00:00:00
    assert_eq!(first.procs, 32);
    // 109 columns, `.batch` and `.extern` steps folded into their jobs. The fixture repeats
    // one job (7957382, with more and more `|` in Constraints) on lines 2, 5, 6, 7 and 8:
    // a repeated job number is an error naming both lines; --lenient renumbers the repeats.
    let err = read("sacct_dump2110.log.gz", false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "sacct_dump2110.log.gz:5: JobIDRaw: job number 7957382 repeats the job \
                      number on line 2"
        ),
        "{err}"
    );
    let d2110 = read("sacct_dump2110.log.gz", true).unwrap();
    assert_eq!(
        d2110.jobs.len() as u64 + d2110.dropped.len() as u64,
        d2110.input_jobs
    );
    let mut numbers: Vec<u64> = d2110.jobs.iter().map(|j| j.trace_id).collect();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        vec![7_957_382, 7_957_383, 7_957_384, 7_957_385, 7_957_386]
    );
    assert_eq!(d2110.meta.renumbered_jobs, 4);
    // SubmitLine with `|` and newlines, Constraints with `|`. This fixture too repeats job
    // 7957382 (lines 2 and 15, and more): read with --lenient, which renumbers the repeats.
    let err = read("sacct_submitline_multiline.log.gz", false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("log.gz:15: JobIDRaw: job number 7957382 repeats"),
        "{err}"
    );
    let multi = read("sacct_submitline_multiline.log.gz", true).unwrap();
    assert!(multi.meta.renumbered_jobs > 0);
    assert_eq!(multi.jobs.len(), 6);
    let big = by_id(&multi, 9_067_954);
    assert_eq!((big.procs, big.work.as_ms()), (576, 9_600_000));
    assert_eq!(
        multi
            .jobs
            .iter()
            .filter(|j| j.kind == JobKind::Interactive)
            .count(),
        2,
        "the two qlogin jobs"
    );
    // 107 columns; the file ends inside a record: an error naming the line, or a drop.
    let err = read("sacct_dump2101.log.gz", false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sacct_dump2101.log.gz:16:") && err.contains("ends inside a record"),
        "{err}"
    );
    let d2101 = read("sacct_dump2101.log.gz", true).unwrap();
    assert_eq!(reasons(&d2101), vec!["malformed_line"]);
    // Array tasks are jobs, numbered by JobIDRaw; JobName with pipes splits back.
    assert!(d2101.jobs.iter().any(|j| j.trace_id == 4_745_200));
    assert!(d2101.jobs.iter().any(|j| j.trace_id == 4_830_977));
    assert_eq!(
        d2101.jobs.len() + d2101.dropped.len(),
        d2101.input_jobs as usize
    );
}

const QUIRKS: &str = "\
JobID|JobIDRaw|JobName|Partition|QOS|User|Account|Submit|Start|End|Elapsed|Timelimit|State|NNodes|NCPUS|ReqMem|ReqTRES
100|100|train|gpu|normal|alice|acct1|2024-01-01T00:00:00|2024-01-01T00:00:10|2024-01-01T00:01:10|01:00|UNLIMITED|COMPLETED|1|8|64Gn|cpu=8,mem=64G,node=1,gres/gpu=2
100.batch|100.batch|batch|||||2024-01-01T00:00:10|2024-01-01T00:00:10|2024-01-01T00:01:10|01:00||COMPLETED|1|8||
100.extern|100.extern|extern|||||2024-01-01T00:00:10|2024-01-01T00:00:10|2024-01-01T00:01:10|01:00||COMPLETED|1|8||
100.0|100.0|python|||||2024-01-01T00:00:11|2024-01-01T00:00:11|2024-01-01T00:01:09|00:58||COMPLETED|1|8||
200_1|201|arr|cpu|normal|bob|acct2|2024-01-01T00:00:05|2024-01-01T00:00:05|2024-01-02T01:00:05|1-01:00:00|2-00:00:00|TIMEOUT|1|4|4000M|cpu=4,mem=4000M,node=1
200_2|202|arr|cpu|normal|bob|acct2|2024-01-01T00:00:05|Unknown|Unknown|00:00:00|2-00:00:00|CANCELLED by 1001|1|4|4000M|cpu=4,mem=4000M,node=1
300+0|300|het|cpu|normal|carol|acct1|2024-01-01T00:00:20|2024-01-01T00:00:20|2024-01-01T00:10:20|10:00|Partition_Limit|COMPLETED|1|2|2800Mc|cpu=2,node=1
300+1|301|het|cpu|normal|carol|acct1|2024-01-01T00:00:20|2024-01-01T00:00:20|2024-01-01T00:10:20|10:00|00:30:00|COMPLETED|1|2|2800Mc|cpu=2,node=1
400|400|interactive|cpu|normal|dave|acct1|2024-01-01T00:01:00|2024-01-01T00:01:00|Unknown||08:00:00|RUNNING|1|1|1G|cpu=1,node=1
500|500|big|cpu|normal|erin|acct2|2024-01-01T00:02:00|2024-01-01T00:02:00|2024-01-01T03:02:00|03:00:00|01:00:00|COMPLETED|2||8G|cpu=16,mem=8G,node=2
999.batch|999.batch|batch|||||2024-01-01T00:03:00|2024-01-01T00:03:00|2024-01-01T00:04:00|01:00||COMPLETED|1|1||
";

#[test]
fn every_documented_quirk() {
    let w = read_sacct(QUIRKS, "quirks.txt", &options(64)).unwrap();
    // Jobs: 100, 201 (array task), 300 and 301 (heterogeneous components), 500.
    let ids: Vec<u64> = w.jobs.iter().map(|j| j.trace_id).collect();
    assert_eq!(ids, vec![100, 201, 300, 301, 500]);
    // Steps folded; a step without its job, a cancelled pending task and a running job
    // dropped with their reasons.
    let mut r = reasons(&w);
    r.sort_unstable();
    assert_eq!(r, vec!["never_started", "no_end", "orphan_step"]);
    assert_eq!(w.input_jobs, 8);
    // Durations and limits.
    let j100 = by_id(&w, 100);
    assert_eq!(j100.submit.as_ms(), 0);
    assert_eq!(j100.work.as_ms(), 60_000); // MM:SS
    assert_eq!(j100.estimate.as_ms(), 60_000); // UNLIMITED: the run time
    let j201 = by_id(&w, 201);
    assert_eq!(j201.work.as_ms(), 90_000_000); // 1-01:00:00
    assert_eq!(j201.estimate.as_ms(), 172_800_000); // 2-00:00:00
    assert_eq!(by_id(&w, 300).estimate.as_ms(), 600_000); // Partition_Limit: the run
    assert_eq!(by_id(&w, 301).estimate.as_ms(), 1_800_000);
    // Sizes: NCPUS, else the TRES's cpu.
    assert_eq!(by_id(&w, 500).procs, 16);
    // A run above the limit raises the estimate, or is stopped at it with --kill-at-walltime.
    assert_eq!(by_id(&w, 500).estimate.as_ms(), 10_800_000);
    let killed = read_sacct(
        QUIRKS,
        "quirks.txt",
        &SwfOptions {
            procs: Some(64),
            kill_at_walltime: true,
            ..SwfOptions::default()
        },
    )
    .unwrap();
    let j500 = by_id(&killed, 500);
    // The work stays the runtime; the limit is what the engine stops it at.
    assert!(j500.exceeds_limit());
    assert_eq!(j500.work.as_ms(), 10_800_000);
    assert_eq!(j500.estimate.as_ms(), 3_600_000);
    // Users, accounts and partitions as numbers in order of first appearance.
    assert_eq!((j100.user, j100.group, j100.partition), (0, 0, 0));
    assert_eq!((j201.user, j201.group, j201.partition), (1, 1, 1));
    assert_eq!(w.meta.header["Partitions"], "0=gpu 1=cpu");
    // A machine too small drops with the SWF reason.
    let small = read_sacct(QUIRKS, "quirks.txt", &options(8)).unwrap();
    assert!(reasons(&small).contains(&"larger_than_machine"));
}

#[test]
fn missing_columns_and_bad_rows_are_clear_errors() {
    let minimal = "JobID|Submit|Start|End|State|NCPUS\n\
                   7|2024-01-01T00:00:00|2024-01-01T00:00:00|2024-01-01T00:00:30|COMPLETED|4\n";
    let w = read_sacct(minimal, "min.txt", &options(4)).unwrap();
    assert_eq!(w.jobs[0].work.as_ms(), 30_000);
    assert_eq!(w.jobs[0].estimate.as_ms(), 30_000);

    let no_id = "Submit|Start|End|State\n";
    let e = read_sacct(no_id, "noid.txt", &options(4))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("noid.txt:1: the header has no JobID column"),
        "{e}"
    );

    let no_size = "JobID|Submit|State|Elapsed\n1|2024-01-01T00:00:00|COMPLETED|00:10\n";
    let e = read_sacct(no_size, "nosize.txt", &SwfOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("machine size unknown"), "{e}");

    let bad_time = "JobID|Submit|Start|End|State|NCPUS\n\
                    7|2024-01-01T00:00:00|yesterday|2024-01-01T00:00:30|COMPLETED|4\n";
    let e = read_sacct(bad_time, "bad.txt", &options(4))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "bad.txt:2: field Start: cannot read 'yesterday'");

    // A duration too long for the clock is refused, not wrapped round to a short one.
    let huge = "JobID|Submit|Start|End|Elapsed|State|NCPUS\n\
                1|2021-01-01T00:00:00|2021-01-01T00:00:00|2021-01-01T00:10:00|\
                5124095576031:00:00|COMPLETED|4\n";
    let e = read_sacct(huge, "huge.txt", &options(4))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "huge.txt:2: field Elapsed: cannot read '5124095576031:00:00'"
    );
}

#[test]
fn the_cli_detects_sacct_and_replays_it() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sacct_cli");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("quirks.txt");
    std::fs::write(&trace, QUIRKS).unwrap();
    let out = dir.join("run");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(["run", "--policy", "easy", "--procs", "64", "--out"])
        .arg(&out)
        .arg("--workload")
        .arg(&trace)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["format"], "sacct");
    assert_eq!(summary["jobs"]["simulated"], 5);
    assert_eq!(summary["jobs"]["dropped_by_reason"]["orphan_step"], 1);
    let dropped = std::fs::read_to_string(out.join("dropped.csv")).unwrap();
    assert!(dropped.contains("never_started") && dropped.contains("no_end"));
}

#[test]
fn on_a_scenario_cluster_sacct_jobs_ask_for_nodes() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sacct_nodes");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("quirks.txt"), QUIRKS).unwrap();
    let scenario = dir.join("cluster.toml");
    std::fs::write(
        &scenario,
        "[cluster.node_types.cpu]\ncount = 4\ncores = 16\nmemory_gb = 64\n\
         [cluster.node_types.gpu]\ncount = 2\ncores = 16\nmemory_gb = 128\ngpus = 4\n\
         [cluster.partitions.cpu]\nnode_types = [\"cpu\"]\n\
         [cluster.partitions.gpu]\nnode_types = [\"gpu\"]\n\
         [workload]\ntrace = \"quirks.txt\"\n",
    )
    .unwrap();
    let out = dir.join("run");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(["run", "-q", "--no-plots", "--out"])
        .arg(&out)
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let jobs = std::fs::read_to_string(out.join("jobs.csv")).unwrap();
    let header: Vec<&str> = jobs.lines().next().unwrap().split(',').collect();
    let col = |c: &str| header.iter().position(|h| *h == c).unwrap();
    let row = |id: &str| -> Vec<String> {
        jobs.lines()
            .find(|l| l.starts_with(&format!("{id},")))
            .unwrap()
            .split(',')
            .map(str::to_string)
            .collect()
    };
    // Job 100 asked for 2 GPUs in partition gpu: nodes 4 or 5 (the GPU nodes).
    let j100 = row("100");
    assert_eq!(j100[col("gpus")], "2");
    assert_eq!(j100[col("partition_name")], "gpu");
    assert!(
        ["4", "5"].contains(&j100[col("nodes")].as_str()),
        "{j100:?}"
    );
    // Job 500: 16 CPUs on 2 nodes, 8 GB per node.
    let j500 = row("500");
    assert_eq!(j500[col("nodes")].split(';').count(), 2);
    assert_eq!(j500[col("cores")], "16");
    assert_eq!(j500[col("memory_mb")], (2 * 8192).to_string());
    // Job 300 (2800 MB per CPU, 2 CPUs): 5600 MB.
    assert_eq!(row("300")[col("memory_mb")], "5600");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["metrics"]["resources"]["gpus"]["capacity"], 8);
}

#[test]
fn counts_beyond_32_bits_are_dropped_not_shrunk() {
    use clustersim::cluster::nodes::Placement;
    use clustersim::workload::sacct::read_sacct_on;
    let cluster: clustersim::cluster::spec::ClusterSpec = toml::from_str(
        "[node_types.cpn]\ncount = 4\ncores = 40\nmemory_gb = 192\n\
         [node_types.gpu]\ncount = 2\ncores = 40\nmemory_gb = 192\ngpus = 4\n",
    )
    .unwrap();
    let row = |id: u32, nnodes: &str, ncpus: &str, mem: &str, tres: &str| {
        format!(
            "{id}|2024-01-01T00:00:00|2024-01-01T00:00:00|2024-01-01T01:00:00|01:00:00|\
             COMPLETED|{nnodes}|{ncpus}|{mem}|{tres}\n"
        )
    };
    let text = format!(
        "JobID|Submit|Start|End|Elapsed|State|NNodes|NCPUS|ReqMem|AllocTRES\n{}{}{}{}{}",
        row(1, "1", "2", "9223372036854775808Mc", "cpu=2"),
        row(2, "1", "4294967297", "4G", "cpu=1"),
        row(3, "4294967296", "2", "4G", "cpu=2"),
        row(4, "1", "2", "4G", "cpu=2,gres/gpu=99999999999"),
        row(5, "1", "2", "4G", "cpu=2,gres/gpu=2"),
    );
    let options = SwfOptions {
        procs: Some(240),
        ..SwfOptions::default()
    };
    let w = read_sacct_on(
        &text,
        "big.txt",
        &options,
        Some((&cluster, Placement::BestFit)),
    )
    .unwrap();
    let kept: Vec<u64> = w.jobs.iter().map(|j| j.trace_id).collect();
    assert_eq!(kept, [5], "only the job that fits runs: {:?}", w.dropped);
    assert_eq!(w.dropped.len(), 4);
    assert_eq!(w.input_jobs, 5);
    // Drops made on the cluster name the record's line and what it asked for, readably.
    let lines: Vec<u64> = w.dropped.iter().map(|d| d.line).collect();
    assert_eq!(lines, [2, 3, 4, 5]);
    assert!(
        w.dropped[0]
            .detail
            .contains("could hold 1 node × (2 cores, 18446744073709551615 MB)"),
        "{}",
        w.dropped[0].detail
    );
}

#[test]
fn convert_writes_swf_that_replays_like_the_source() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sacct_convert");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("quirks.txt");
    std::fs::write(&trace, QUIRKS).unwrap();
    let cli = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_clustersim"))
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let swf = dir.join("quirks.swf");
    let said = cli(&[
        "convert",
        trace.to_str().unwrap(),
        "--procs",
        "64",
        "-o",
        swf.to_str().unwrap(),
    ]);
    assert!(
        said.contains("wrote 5 jobs") && said.contains("orphan_step 1"),
        "{said}"
    );
    let jobs = |input: &PathBuf, name: &str| {
        let out = dir.join(name);
        cli(&[
            "run",
            "-q",
            "--no-plots",
            "--policy",
            "conservative",
            "--procs",
            "64",
            "--workload",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        std::fs::read_to_string(out.join("jobs.csv")).unwrap()
    };
    // The same schedule from the dump and from its SWF (users etc. carried over).
    assert_eq!(jobs(&trace, "from-sacct"), jobs(&swf, "from-swf"));
    let table = dir.join("jobs.csv");
    cli(&[
        "convert",
        swf.to_str().unwrap(),
        "--to",
        "jobs",
        "-o",
        table.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&table).unwrap();
    assert!(text.starts_with("job_id,submit_s,run_s,estimate_s,procs,"));
    assert_eq!(text.lines().count(), 6);
}

#[test]
fn sessions_are_recognised_by_their_submit_line_and_by_a_missing_batch_step() {
    // Job 1: sbatch, with a batch step: batch. Job 2: salloc, whose allocation has an
    // interactive step and an srun step but no batch step: interactive. Job 3: srun given
    // by its path. Job 4: no submit line, steps without a batch step (an allocation):
    // interactive. Job 5: no submit line and no steps (a dump of jobs only, `sacct -X`):
    // batch, as nothing says otherwise.
    let text = "\
JobID|JobIDRaw|JobName|Partition|Submit|Start|End|Elapsed|NCPUS|State|SubmitLine
1|1|train|cpu|2024-01-01T00:00:00|2024-01-01T00:00:00|2024-01-01T01:00:00|01:00:00|4|COMPLETED|sbatch run.sh
1.batch|1|batch||2024-01-01T00:00:00|2024-01-01T00:00:00|2024-01-01T01:00:00|01:00:00|4|COMPLETED|
2|2|work|cpu|2024-01-01T00:00:10|2024-01-01T00:00:10|2024-01-01T00:30:10|00:30:00|2|COMPLETED|salloc -n 2 --time=1:00:00
2.interactive|2|interactive||2024-01-01T00:00:10|2024-01-01T00:00:10|2024-01-01T00:30:10|00:30:00|2|COMPLETED|
2.0|2|python||2024-01-01T00:01:00|2024-01-01T00:01:00|2024-01-01T00:20:00|00:19:00|2|COMPLETED|srun python
3|3|shell|cpu|2024-01-01T00:00:20|2024-01-01T00:00:20|2024-01-01T00:10:20|00:10:00|1|COMPLETED|/usr/bin/srun --pty bash
4|4|alloc|cpu|2024-01-01T00:00:30|2024-01-01T00:00:30|2024-01-01T00:05:30|00:05:00|1|COMPLETED|
4.extern|4|extern||2024-01-01T00:00:30|2024-01-01T00:00:30|2024-01-01T00:05:30|00:05:00|1|COMPLETED|
5|5|solver|cpu|2024-01-01T00:00:40|2024-01-01T00:00:40|2024-01-01T00:05:40|00:05:00|1|COMPLETED|
";
    let w = read_sacct(text, "sessions.txt", &options(8)).unwrap();
    let kinds: Vec<JobKind> = (1..=5).map(|id| by_id(&w, id).kind).collect();
    use JobKind::{Batch, Interactive};
    assert_eq!(kinds, [Batch, Interactive, Interactive, Interactive, Batch]);
    // Interactive jobs are queue 0, as SWF's.
    assert_eq!(by_id(&w, 2).queue, 0);
    assert_eq!(by_id(&w, 1).queue, -1);
}
