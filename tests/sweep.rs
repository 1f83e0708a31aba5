//! `clustersim sweep` and `clustersim merge` as a user runs them: the same bytes at any
//! thread count, shards that merge into the unsharded sweep, resuming, clear errors before
//! anything runs, the example sweep of scenarios/, and the Slurm script.

mod common;

use common::{arg as s, clustersim, scratch, text};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A small sweep: 3 policies × 2 loads × 4 seeds of a generated workload.
const SWEEP: &str = r#"
name = "small-sweep"
seed = 1

[workload.generator]
jobs = 400
procs = 64
load = 0.9

[policy]
name = "easy"

[sweep]
metrics = ["all.wait_mean_s", "utilization"]

[sweep.grid]
"policy.name" = ["fcfs", "easy", "conservative"]
"workload.load_factor" = [1.0, 1.3]
seed = { from = 1, to = 4 }
"#;

fn write_scenario(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("sweep.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Every result file of a sweep folder (not its manifest), by relative path.
fn results(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for name in [
        "sweep.csv",
        "sweep.parquet",
        "points.csv",
        "points.parquet",
        "sweep.html",
    ] {
        out.insert(name.to_string(), std::fs::read(dir.join(name)).unwrap());
    }
    for sub in ["plots", "runs"] {
        let mut entries: Vec<_> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let name = format!("{sub}/{}", p.file_name().unwrap().to_string_lossy());
            out.insert(name, std::fs::read(&p).unwrap());
        }
    }
    out
}

fn assert_same(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>, what: &str) {
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "{what}: different files"
    );
    for (name, bytes) in a {
        assert!(bytes == &b[name], "{what}: {name} differs");
    }
}

fn sweep(scenario: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["sweep", s(scenario), "--out", s(out)];
    args.extend_from_slice(extra);
    clustersim(&args)
}

#[test]
fn results_are_the_same_bytes_at_any_thread_count() {
    let dir = scratch("sweep-threads");
    let scenario = write_scenario(&dir, SWEEP);
    let one = sweep(&scenario, &dir.join("one"), &["--threads", "1"]);
    assert!(one.status.success(), "{}", text(&one));
    let two = sweep(&scenario, &dir.join("two"), &["--threads", "2"]);
    assert!(two.status.success(), "{}", text(&two));
    let a = results(&dir.join("one"));
    assert_same(&a, &results(&dir.join("two")), "1 vs 2 threads");
    // 24 runs, 6 points of 4 seeds; progress was reported.
    let csv = String::from_utf8_lossy(&a["sweep.csv"]).into_owned();
    assert_eq!(csv.lines().count(), 1 + 24);
    assert!(csv.starts_with("run,point,policy.name,workload.load_factor,seed,jobs.simulated,"));
    assert!(csv.contains("\n5,1,fcfs,1.3,2,"), "{csv}");
    let points = String::from_utf8_lossy(&a["points.csv"]).into_owned();
    assert_eq!(points.lines().count(), 1 + 6);
    let header: Vec<&str> = points.lines().next().unwrap().split(',').collect();
    assert_eq!(
        &header[..4],
        ["point", "runs", "policy.name", "workload.load_factor"]
    );
    assert!(header.contains(&"all.wait_mean_s.mean") && header.contains(&"all.wait_mean_s.ci95"));
    let second: Vec<&str> = points.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(second[1], "4", "four seeds per point");
    let ci = header
        .iter()
        .position(|h| *h == "all.wait_mean_s.ci95")
        .unwrap();
    assert!(second[ci].parse::<f64>().unwrap() > 0.0, "{points}");
    assert!(
        text(&two).contains("24/24 runs done, 0 left"),
        "{}",
        text(&two)
    );
    let page = String::from_utf8_lossy(&a["sweep.html"]).into_owned();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("clustersim sweep: sweep"));
    assert_eq!(page.matches("<figure").count(), 2, "one figure per plot");
    assert!(
        page.contains("<td>conservative</td>") && page.contains(" ± "),
        "points table"
    );
    assert!(!page.contains("<script"), "self-contained and script-free");
    for plot in [
        "all_wait_mean_s_vs_workload_load_factor",
        "utilization_vs_workload_load_factor",
    ] {
        let svg = String::from_utf8_lossy(&a[&format!("plots/{plot}.svg")]).into_owned();
        for policy in ["fcfs", "easy", "conservative"] {
            assert!(svg.contains(policy), "{plot} has no line for {policy}");
        }
        assert!(a[&format!("plots/{plot}.png")].len() > 5_000);
    }
}

#[test]
fn shards_merge_into_the_unsharded_sweep_byte_for_byte() {
    let dir = scratch("sweep-shards");
    let scenario = write_scenario(&dir, SWEEP);
    let whole = sweep(&scenario, &dir.join("whole"), &[]);
    assert!(whole.status.success(), "{}", text(&whole));
    let mut shard_dirs = Vec::new();
    for i in 0..3 {
        let d = dir.join(format!("shard-{i}"));
        let o = sweep(
            &scenario,
            &d,
            &["--shard", &format!("{i}/3"), "--threads", "1"],
        );
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("8 of them"), "{}", text(&o));
        assert!(!d.join("sweep.csv").exists(), "a shard writes records only");
        shard_dirs.push(d);
    }
    // Two of three shards: the merge names what is missing and writes no table.
    let partial = dir.join("partial");
    let o = clustersim(&[
        "merge",
        "--out",
        s(&partial),
        s(&shard_dirs[0]),
        s(&shard_dirs[2]),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("8 of 24 runs have no results (runs 1, 4, 7"),
        "{}",
        text(&o)
    );
    assert!(!partial.join("sweep.csv").exists());
    let merged = dir.join("merged");
    let mut args = vec!["merge", "--out", s(&merged)];
    args.extend(shard_dirs.iter().map(|d| s(d)));
    let o = clustersim(&args);
    assert!(o.status.success(), "{}", text(&o));
    assert_same(
        &results(&dir.join("whole")),
        &results(&merged),
        "merged vs unsharded",
    );
    // A shard folder without one of its own runs (an interrupted shard) is refused, and
    // the shard and the run named.
    let cut = dir.join("cut");
    std::fs::create_dir_all(cut.join("runs")).unwrap();
    std::fs::copy(shard_dirs[1].join("sweep.json"), cut.join("sweep.json")).unwrap();
    for entry in std::fs::read_dir(shard_dirs[1].join("runs"))
        .unwrap()
        .flatten()
    {
        if entry.file_name() != "run-000004.json" {
            std::fs::copy(entry.path(), cut.join("runs").join(entry.file_name())).unwrap();
        }
    }
    let o = clustersim(&[
        "merge",
        "--out",
        s(&dir.join("m1")),
        s(&shard_dirs[0]),
        s(&cut),
        s(&shard_dirs[2]),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("shard 1/3 is not finished: 1 of its runs have no results (runs 4)"),
        "{}",
        text(&o)
    );
    // A damaged manifest claiming more runs than any sweep may have is refused before
    // anything is allocated for them.
    let damaged = dir.join("damaged");
    std::fs::create_dir_all(&damaged).unwrap();
    let manifest = std::fs::read_to_string(shard_dirs[0].join("sweep.json")).unwrap();
    let runs = manifest.lines().find(|l| l.contains("\"runs\"")).unwrap();
    let manifest = manifest.replace(runs, "  \"runs\": 1000000000000,");
    std::fs::write(damaged.join("sweep.json"), manifest).unwrap();
    let o = clustersim(&["merge", "--out", s(&dir.join("m2")), s(&damaged)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("more than a sweep may have"),
        "{}",
        text(&o)
    );
}

#[test]
fn an_interrupted_sweep_resumes_to_the_same_results() {
    let dir = scratch("sweep-resume");
    let scenario = write_scenario(&dir, SWEEP);
    let full = dir.join("full");
    assert!(sweep(&scenario, &full, &[]).status.success());
    let expected = results(&full);
    // An interrupted sweep: some run records, no tables, a temporary file of a run that
    // was being written.
    let cut = dir.join("cut");
    std::fs::create_dir_all(cut.join("runs")).unwrap();
    std::fs::copy(full.join("sweep.json"), cut.join("sweep.json")).unwrap();
    for r in [0, 3, 4, 17] {
        let name = format!("runs/run-{r:06}.json");
        std::fs::copy(full.join(&name), cut.join(&name)).unwrap();
    }
    std::fs::write(cut.join("runs/.run-000005.json.partial-999"), "{\"swe").unwrap();
    let o = sweep(&scenario, &cut, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("already holds 4 finished runs of this sweep: add --resume"));
    let o = sweep(&scenario, &cut, &["--resume"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("20 run now, 4 already done"),
        "{}",
        text(&o)
    );
    assert_same(&expected, &results(&cut), "resumed vs uninterrupted");
    // Another sweep's folder is refused, whatever the flags.
    let other = write_scenario(&dir, &SWEEP.replace("jobs = 400", "jobs = 300"));
    let o = sweep(&other, &cut, &["--resume"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("holds another sweep"), "{}", text(&o));
}

#[test]
fn bad_sweeps_are_errors_before_anything_runs() {
    let dir = scratch("sweep-bad");
    let cases: [(&str, &str, &str); 5] = [
        (
            "\"policy.nmae\" = [\"easy\"]",
            "sweep.toml:14: sweep.grid.policy.nmae:",
            "unknown field `nmae`",
        ),
        (
            "\"cluster.node_types.gpu.count\" = [8, 16]",
            "sweep.grid.cluster.node_types.gpu.count",
            "the scenario has no `cluster.node_types.gpu`",
        ),
        (
            "\"workload.load_factor\" = [1.0, \"more\"]",
            "workload.load_factor = \"more\"",
            "invalid type: string \"more\", expected f64",
        ),
        ("seed = []", "sweep.grid.seed", "no values"),
        (
            "\"workload.generator.jobs\" = [100, 0]",
            "workload.generator.jobs",
            "at least 1 job",
        ),
    ];
    for (line, place, message) in cases {
        let text_ = format!(
            "{}[sweep.grid]\n{line}\n",
            &SWEEP[..SWEEP.find("[sweep]").unwrap()]
        );
        let scenario = write_scenario(&dir, &text_);
        let out = dir.join("out");
        let o = sweep(&scenario, &out, &[]);
        assert_eq!(o.status.code(), Some(2), "{line}: {}", text(&o));
        let t = text(&o);
        assert!(t.contains(place) && t.contains(message), "{line}:\n{t}");
        assert!(!out.exists(), "{line}: something ran");
    }
    let scenario = write_scenario(&dir, &SWEEP.replace("[sweep.grid]", "[sweep.nothing]"));
    let o = sweep(&scenario, &dir.join("out"), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("unknown field `nothing`"), "{}", text(&o));
    let scenario = write_scenario(&dir, &SWEEP[..SWEEP.find("[sweep.grid]").unwrap()]);
    let o = sweep(&scenario, &dir.join("out"), &[]);
    assert!(text(&o).contains("the sweep is empty"), "{}", text(&o));
    let scenario = write_scenario(&dir, SWEEP);
    let o = sweep(&scenario, &dir.join("out"), &["--shard", "3/2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("shard index 3 is not below the count 2"),
        "{}",
        text(&o)
    );
    assert!(!dir.join("out").exists());
}

#[test]
fn the_example_sweep_writes_its_table_and_plots() {
    let dir = scratch("sweep-example");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/gpu-sweep.toml");
    let out = dir.join("gpu-sweep");
    let o = sweep(&scenario, &out, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 135);
    assert!(csv.starts_with(
        "run,point,cluster.node_types.h100.count,policy.name,workload.load_factor,seed,"
    ));
    let points = std::fs::read_to_string(out.join("points.csv")).unwrap();
    assert_eq!(points.lines().count(), 1 + 27);
    for plot in [
        "all_wait_mean_s_vs_cluster_node_types_h100_count",
        "resources_gpus_utilization_vs_workload_load_factor",
    ] {
        for ext in ["png", "svg"] {
            let p = out.join(format!("plots/{plot}.{ext}"));
            assert!(
                std::fs::metadata(&p)
                    .map(|m| m.len() > 5_000)
                    .unwrap_or(false),
                "{}",
                p.display()
            );
        }
    }
    // More training nodes, shorter waits: the question the sweep asks has its answer.
    let header: Vec<&str> = points.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (nodes, policy, load, wait) = (
        col("cluster.node_types.h100.count"),
        col("policy.name"),
        col("workload.load_factor"),
        col("all.wait_mean_s.mean"),
    );
    let wait_of = |n: &str| -> f64 {
        points
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect::<Vec<_>>())
            .find(|r| r[nodes] == n && r[policy] == "easy" && r[load] == "1.4")
            .map(|r| r[wait].parse().unwrap())
            .unwrap()
    };
    assert!(wait_of("16") > wait_of("32"), "{points}");
}

#[test]
fn emit_slurm_writes_an_array_script_with_a_dependent_merge() {
    let dir = scratch("sweep-slurm-script");
    let scenario = write_scenario(&dir, SWEEP);
    let script = dir.join("sweep.sbatch");
    let out = dir.join("results");
    let o = sweep(
        &scenario,
        &out,
        &[
            "--emit-slurm",
            s(&script),
            "--shards",
            "5",
            "--sbatch-option=--time=00:10:00",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("24 runs as a Slurm array of 5 tasks"),
        "{}",
        text(&o)
    );
    let body = std::fs::read_to_string(&script).unwrap();
    assert!(body.contains("#SBATCH --array=0-4\n"), "{body}");
    assert!(body.contains("#SBATCH --time=00:10:00\n"), "{body}");
    assert!(body.contains(&format!("OUT='{}'", out.display())), "{body}");
    assert!(
        body.contains("--dependency=\"afterok:$SLURM_ARRAY_JOB_ID\""),
        "{body}"
    );
    assert!(
        out.join("slurm").is_dir(),
        "the tasks' log folder exists before submission"
    );
    assert!(!out.join("runs").exists(), "emitting runs nothing");
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(syntax.status.success(), "{}", text(&syntax));
    // No tasks, or an option that would add lines of its own to the script: errors.
    for (flag, message) in [
        ("--shards=0", "--shards must be at least 1"),
        (
            "--sbatch-option=--time=1\nrm -rf /",
            "holds a control character",
        ),
    ] {
        let other = dir.join("other.sbatch");
        let o = sweep(&scenario, &out, &["--emit-slurm", s(&other), flag]);
        assert_eq!(o.status.code(), Some(2), "{flag}: {}", text(&o));
        assert!(text(&o).contains(message), "{flag}: {}", text(&o));
        assert!(!other.exists());
    }
}

/// Names that a shell would expand or split if they were not quoted: spaces, both quotes,
/// `$(…)`, backticks, `#`, `\`, `;`, `*`.
const HOSTILE: &str = "it's a \"dir\" $(touch PWNED) `touch PWNED2` #x\\y; *";

/// The value sbatch reads from an `#SBATCH --opt=VALUE` line, by sbatch's rule for these
/// lines (they are not read by a shell): white space ends the value, `#` starts a comment,
/// quotes are removed, `\` makes the next character literal.
fn sbatch_value(line: &str) -> String {
    let (mut out, mut escaped, mut quote) = (String::new(), false, None);
    for c in line.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
            continue;
        } else if let Some(q) = quote {
            if c == q {
                quote = None;
                continue;
            }
        } else if c == '"' || c == '\'' {
            quote = Some(c);
            continue;
        } else if c == '#' || c.is_whitespace() {
            break;
        }
        out.push(c);
    }
    out
}

/// A program that writes its arguments, one per line, to the file named by `$ARGS_FILE`.
fn argument_recorder(dir: &Path, name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, "#!/bin/sh\nprintf '%s\\n' \"$@\" >> \"$ARGS_FILE\"\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn emit_slurm_quotes_hostile_paths_and_refuses_control_characters() {
    let dir = scratch("sweep-slurm-hostile");
    let hostile = dir.join(HOSTILE);
    std::fs::create_dir_all(&hostile).unwrap();
    let scenario = hostile.join(format!("{HOSTILE}.toml"));
    std::fs::write(&scenario, SWEEP.replace("name = \"small-sweep\"\n", "")).unwrap();
    let out = hostile.join("out dir");
    let script = dir.join("sweep.sbatch");
    let o = sweep(
        &scenario,
        &out,
        &["--emit-slurm", s(&script), "--shards", "2"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let body = std::fs::read_to_string(&script).unwrap();
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(syntax.status.success(), "{}\n{body}", text(&syntax));

    // sbatch reads the #SBATCH lines: the log path and the job name come through unchanged.
    let sbatch_line = |opt: &str| {
        let line = body
            .lines()
            .find_map(|l| l.strip_prefix(&format!("#SBATCH --{opt}=")))
            .unwrap_or_else(|| panic!("no #SBATCH --{opt}: {body}"));
        sbatch_value(line)
    };
    assert_eq!(
        sbatch_line("output"),
        format!("{}/slurm/%A_%a.out", out.display())
    );
    assert_eq!(sbatch_line("job-name"), format!("clustersim-{HOSTILE}"));

    // Run the script as array task 0 of 2, with clustersim and sbatch replaced by programs
    // that record their arguments: each path reaches them unchanged, and nothing else runs.
    let tools = dir.join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    let fake_clustersim = argument_recorder(&tools, "clustersim");
    argument_recorder(&tools, "sbatch");
    let echoed = body
        .lines()
        .map(|l| {
            if l.starts_with("CLUSTERSIM=") {
                format!("CLUSTERSIM='{}'", fake_clustersim.display())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let echoed_script = dir.join("echoed.sbatch");
    std::fs::write(&echoed_script, echoed).unwrap();
    let cwd = dir.join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let args_file = dir.join("args");
    let path = format!("{}:{}", tools.display(), std::env::var("PATH").unwrap());
    let run = |command: &mut Command| {
        let _ = std::fs::remove_file(&args_file);
        let o = command
            .current_dir(&cwd)
            .env("PATH", &path)
            .env("ARGS_FILE", &args_file)
            .env("SLURM_ARRAY_TASK_ID", "0")
            .env("SLURM_ARRAY_TASK_COUNT", "2")
            .env("SLURM_ARRAY_JOB_ID", "77")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        let args = std::fs::read_to_string(&args_file).unwrap();
        args.lines().map(str::to_string).collect::<Vec<String>>()
    };
    let args = run(Command::new("bash").arg(&echoed_script));
    // First the merge's submission (its output went to merge-job-id), then the shard.
    let shard_at = args.iter().position(|a| a == "sweep").unwrap();
    let (submit, shard) = args.split_at(shard_at);
    let o = |p: &Path| p.display().to_string();
    assert_eq!(
        shard,
        [
            "sweep",
            &o(&scenario),
            "--quiet",
            "--threads",
            "1",
            "--resume",
            "--out",
            &o(&out.join("shards/0")),
            "--shard",
            "0/2"
        ]
    );
    assert!(
        submit.contains(&format!("--job-name=clustersim-{HOSTILE}-merge")),
        "{submit:?}"
    );
    assert!(
        submit.contains(&format!("--output={}/slurm/merge-%j.out", out.display())),
        "{submit:?}"
    );
    // The merge job's command line, as the shell that Slurm starts for --wrap reads it.
    let wrap = submit
        .iter()
        .find_map(|a| a.strip_prefix("--wrap="))
        .unwrap();
    let merge = run(Command::new("bash").arg("-c").arg(wrap));
    assert_eq!(
        merge,
        [
            "merge",
            "--quiet",
            "--out",
            &o(&out),
            &o(&out.join("shards/0")),
            &o(&out.join("shards/1"))
        ]
    );
    let pwned: Vec<_> = std::fs::read_dir(&cwd).unwrap().collect();
    assert!(pwned.is_empty(), "the script ran something: {pwned:?}");

    // A control character in --out or in the scenario's path: refused, nothing written.
    let broken = dir.join("nl\ntouch PWNED\n#");
    std::fs::create_dir_all(&broken).unwrap();
    let scenario_in_broken = broken.join("s.toml");
    std::fs::write(&scenario_in_broken, SWEEP).unwrap();
    for (scenario, out, what) in [
        (&scenario, broken.join("out"), "--out"),
        (&scenario, hostile.join("tab\there"), "--out"),
        (&scenario, hostile.join("cr\rhere"), "--out"),
        (&scenario_in_broken, dir.join("fine"), "the scenario"),
    ] {
        let refused = dir.join("refused.sbatch");
        let o = sweep(scenario, &out, &["--emit-slurm", s(&refused)]);
        assert_eq!(o.status.code(), Some(2), "{out:?}: {}", text(&o));
        let t = text(&o);
        assert!(
            t.contains(what) && t.contains("holds a control character"),
            "{out:?}: {t}"
        );
        assert!(
            !refused.exists() && !out.exists(),
            "{out:?}: written anyway"
        );
    }
}

#[test]
fn a_sweep_too_large_is_refused_before_it_is_expanded() {
    let dir = scratch("sweep-bounded");
    let base = &SWEEP[..SWEEP.find("[sweep]").unwrap()];
    for (grid, message) in [
        // 10^7 runs: counted, not expanded (expanding them took 4.8 GB).
        (
            "seed = { from = 1, to = 10000 }\n\"workload.generator.jobs\" = { from = 1, to = 1000 }\n",
            "sweep.toml:13: sweep: the sweep has 10000 x 1000 runs, more than the 100000 one \
             sweep may have",
        ),
        // 10^9 runs.
        (
            "seed = { from = 1, to = 1000 }\n\"workload.generator.jobs\" = { from = 1, to = 1000 }\n\
             \"workload.generator.load\" = { from = 0.001, to = 1.0, step = 0.001 }\n",
            "sweep.toml:13: sweep: the sweep has 1000 x 1000 x 1000 runs",
        ),
        // One range whose step yields too many values.
        (
            "\"workload.load_factor\" = { from = 0.5, to = 2.0, step = 0.000001 }\n",
            "sweep.toml:14: sweep.grid.workload.load_factor: from 0.5 to 2 by step 0.000001 \
             gives 1500001 values, more than the 100000 runs",
        ),
        (
            "seed = { from = -9223372036854775808, to = 9223372036854775807 }\n",
            "sweep.toml:14: sweep.grid.seed: from -9223372036854775808 to 9223372036854775807 \
             by step 1 gives 18446744073709551616 values",
        ),
    ] {
        let scenario = write_scenario(&dir, &format!("{base}[sweep.grid]\n{grid}"));
        let out = dir.join("out");
        let started = std::time::Instant::now();
        let o = sweep(&scenario, &out, &[]);
        assert_eq!(o.status.code(), Some(2), "{grid}: {}", text(&o));
        assert!(text(&o).contains(message), "{grid}: {}", text(&o));
        assert!(
            started.elapsed().as_secs() < 10,
            "{grid}: {:?}",
            started.elapsed()
        );
        assert!(!out.exists(), "{grid}: something ran");
    }
}

#[test]
fn threads_beyond_the_cores_are_capped_with_a_warning() {
    let dir = scratch("sweep-threads-capped");
    let scenario = write_scenario(&dir, SWEEP);
    let started = std::time::Instant::now();
    let o = sweep(
        &scenario,
        &dir.join("out"),
        &["--threads", "10000", "--quiet"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 10_000 {
        let warning = format!(
            "warning: --threads 10000 is more than the {cores} cores of this machine; using {cores}"
        );
        assert!(text(&o).contains(&warning), "{}", text(&o));
    }
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
}
