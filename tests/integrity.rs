//! Results that look complete are complete: a run's folder appears whole (with its
//! manifest) or not at all, whatever interrupts it; a folder holding another result is
//! never mixed with a new one; no command writes over an existing file without --force,
//! nor ever over its own input.

mod common;

use common::{arg, clustersim, scratch, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A small trace of 400 jobs on 64 processors.
fn small_trace(dir: &Path) -> PathBuf {
    let path = dir.join("small.swf");
    let mut body = String::from("; Version: 2.2\n; MaxProcs: 64\n");
    body.push_str(&common::random_trace(3, 400, 64));
    std::fs::write(&path, body).unwrap();
    path
}

/// Hidden `.NAME.partial-PID` / `.NAME.replaced-PID` folders beside `target`.
fn leftovers(target: &Path) -> Vec<String> {
    let name = target.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".{name}.")))
        .collect()
}

/// Whether `compare` accepts `dir` as a finished run.
fn is_finished(dir: &Path) -> bool {
    clustersim(&["compare", arg(dir)]).status.success()
}

#[test]
fn a_run_folder_is_finished_only_while_its_manifest_matches() {
    let dir = scratch("integrity_manifest");
    let trace = small_trace(&dir);
    let run = dir.join("run");
    let o = clustersim(&["run", "-q", "-w", arg(&trace), "--out", arg(&run)]);
    assert!(o.status.success(), "{}", text(&o));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    let listed: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for file in [
        "jobs.csv",
        "summary.json",
        "report.html",
        "plots/utilization.png",
    ] {
        assert!(listed.contains(&file), "{file} not in the manifest");
    }
    assert!(!listed.contains(&"manifest.json"));
    assert!(leftovers(&run).is_empty(), "{:?}", leftovers(&run));
    assert!(is_finished(&run));

    // A truncated table, a missing file, a missing manifest: each refused, and named.
    let jobs = std::fs::read_to_string(run.join("jobs.csv")).unwrap();
    let cut = jobs[..jobs.len() / 2].rfind('\n').unwrap() + 1;
    std::fs::write(run.join("jobs.csv"), &jobs[..cut]).unwrap();
    let o = clustersim(&["compare", arg(&run)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("not as written: jobs.csv"),
        "{}",
        text(&o)
    );
    std::fs::remove_file(run.join("report.html")).unwrap();
    let o = clustersim(&["compare", arg(&run)]);
    assert!(text(&o).contains("missing: report.html"), "{}", text(&o));
    std::fs::remove_file(run.join("manifest.json")).unwrap();
    let o = clustersim(&["compare", arg(&run)]);
    assert!(
        text(&o).contains("manifest.json is missing"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_used_folder_is_refused_without_force_and_replaced_whole_with_it() {
    let dir = scratch("integrity_reuse");
    let trace = small_trace(&dir);
    let out = dir.join("out");
    let first = clustersim(&[
        "run",
        "-q",
        "-w",
        arg(&trace),
        "--format",
        "both",
        "--out",
        arg(&out),
    ]);
    assert!(first.status.success(), "{}", text(&first));
    assert!(out.join("summary.csv").is_file() && out.join("report.html").is_file());
    let before = std::fs::read(out.join("manifest.json")).unwrap();

    let second = [
        "run",
        "-q",
        "-w",
        arg(&trace),
        "--no-plots",
        "--out",
        arg(&out),
    ];
    let refused = clustersim(&second);
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused).contains("--force"), "{}", text(&refused));
    assert_eq!(std::fs::read(out.join("manifest.json")).unwrap(), before);

    let forced = clustersim(&[&second[..], &["--force"]].concat());
    assert!(forced.status.success(), "{}", text(&forced));
    // Nothing of the first run is left beside the second.
    assert!(!out.join("summary.csv").exists());
    assert!(!out.join("report.html").exists());
    assert!(!out.join("plots").exists());
    assert!(is_finished(&out));
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));

    // compare --out follows the same rule, and never writes into a run it compares.
    let cmp = dir.join("cmp");
    let compare = |target: &Path, extra: &[&str]| {
        clustersim(&[&["compare", arg(&out), "--out", arg(target)], extra].concat())
    };
    assert!(compare(&cmp, &[]).status.success());
    assert!(cmp.join("manifest.json").is_file() && cmp.join("compare.html").is_file());
    assert_eq!(compare(&cmp, &[]).status.code(), Some(2));
    assert!(compare(&cmp, &["--force"]).status.success());
    let o = compare(&out, &["--force"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("is an input"), "{}", text(&o));
    assert!(is_finished(&out));

    // --force never removes a folder clustersim did not write, nor one holding an input.
    let unrelated = dir.join("notes");
    std::fs::create_dir(&unrelated).unwrap();
    std::fs::write(unrelated.join("todo.txt"), "keep me").unwrap();
    let o = clustersim(&[
        "run",
        "-q",
        "-w",
        arg(&trace),
        "--force",
        "--out",
        arg(&unrelated),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(unrelated.join("todo.txt").is_file());
    let o = clustersim(&[
        "run",
        "-q",
        "-w",
        arg(&trace),
        "--force",
        "--out",
        arg(&dir),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("an input of this command"),
        "{}",
        text(&o)
    );
    assert!(trace.is_file());

    // An empty folder (mktemp -d) is fine without --force.
    let empty = dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = clustersim(&["run", "-q", "-w", arg(&trace), "--out", arg(&empty)]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(is_finished(&empty));
}

#[test]
fn file_outputs_need_force_and_never_replace_their_input() {
    let dir = scratch("integrity_files");
    let generated = dir.join("gen.swf");
    let gen = |extra: &[&str]| {
        clustersim(
            &[
                &["generate", "--jobs", "300", "--out", arg(&generated)],
                extra,
            ]
            .concat(),
        )
    };
    assert!(gen(&[]).status.success());
    let original = std::fs::read(&generated).unwrap();
    let again = gen(&["--seed", "2"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again).contains("--force"), "{}", text(&again));
    assert_eq!(std::fs::read(&generated).unwrap(), original);
    assert!(gen(&["--seed", "2", "--force"]).status.success());
    assert_ne!(std::fs::read(&generated).unwrap(), original);

    let input = std::fs::read(&generated).unwrap();
    // The input itself, by its own name, through another spelling, or through a link.
    let dotted = dir.join(".").join("gen.swf");
    let mut targets = vec![generated.clone(), dotted];
    #[cfg(unix)]
    {
        let link = dir.join("link.swf");
        std::os::unix::fs::symlink(&generated, &link).unwrap();
        targets.push(link);
    }
    for target in &targets {
        for to in ["swf", "jobs"] {
            let o = clustersim(&[
                "convert",
                arg(&generated),
                "--to",
                to,
                "--out",
                arg(target),
                "--force",
            ]);
            assert_eq!(o.status.code(), Some(2), "{}", text(&o));
            assert!(text(&o).contains("is an input"), "{}", text(&o));
        }
    }
    assert_eq!(std::fs::read(&generated).unwrap(), input);

    let converted = dir.join("jobs.csv");
    let convert = |extra: &[&str]| {
        clustersim(
            &[
                &[
                    "convert",
                    arg(&generated),
                    "--to",
                    "jobs",
                    "--out",
                    arg(&converted),
                ],
                extra,
            ]
            .concat(),
        )
    };
    assert!(convert(&[]).status.success());
    assert_eq!(convert(&[]).status.code(), Some(2));
    assert!(convert(&["--force"]).status.success());
    // Nothing temporary is left beside the outputs.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

/// A trace large enough that a run lasts a couple of seconds in release builds.
fn large_trace(dir: &Path) -> PathBuf {
    let path = dir.join("large.swf");
    let o = clustersim(&["generate", "--jobs", "300000", "--out", arg(&path)]);
    assert!(o.status.success(), "{}", text(&o));
    path
}

/// Starts `clustersim run` of `trace` into `out` (with --force).
fn start_run(trace: &Path, out: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(["run", "-q", "--policy", "easy", "--force", "-w"])
        .arg(trace)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `child`'s partial folder exists (its simulation has started), at most 60 s.
fn wait_for_partial(child: &mut std::process::Child, out: &Path) -> bool {
    let partial = out.with_file_name(format!(
        ".{}.partial-{}",
        out.file_name().unwrap().to_string_lossy(),
        child.id()
    ));
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if partial.exists() {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

fn signal(child: &std::process::Child, name: &str) {
    let o = Command::new("kill")
        .args([name, &child.id().to_string()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

#[cfg(unix)]
#[test]
fn ctrl_c_removes_the_unfinished_run() {
    let dir = scratch("integrity_sigint");
    let trace = large_trace(&dir);
    let out = dir.join("out");
    let mut interrupted = 0;
    for delay_ms in [50, 400] {
        let mut child = start_run(&trace, &out);
        assert!(wait_for_partial(&mut child, &out), "the run never started");
        std::thread::sleep(Duration::from_millis(delay_ms));
        signal(&child, "-INT");
        let o = child.wait_with_output().unwrap();
        if o.status.code() == Some(130) {
            interrupted += 1;
            assert!(!out.exists(), "an interrupted run left {}", out.display());
            assert!(text(&o).contains("interrupted"), "{}", text(&o));
        } else {
            // Finished before the signal came: then it is whole.
            assert!(o.status.success(), "{}", text(&o));
            assert!(is_finished(&out));
            std::fs::remove_dir_all(&out).unwrap();
        }
        assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
    }
    assert!(
        interrupted > 0,
        "no run was interrupted: the trace is too small"
    );
}

#[cfg(unix)]
#[test]
fn a_killed_run_leaves_the_previous_result_or_the_new_one() {
    let dir = scratch("integrity_sigkill");
    let small = small_trace(&dir);
    let trace = large_trace(&dir);
    let out = dir.join("out");
    let o = clustersim(&["run", "-q", "-w", arg(&small), "--out", arg(&out)]);
    assert!(o.status.success(), "{}", text(&o));
    let old = std::fs::read(out.join("summary.json")).unwrap();
    // Moments spread over the run, different on every test run.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    for k in 0..3u64 {
        let delay_ms = (seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(k * 1_442_695)
            >> 33)
            % 2500;
        let mut child = start_run(&trace, &out);
        if wait_for_partial(&mut child, &out) {
            std::thread::sleep(Duration::from_millis(delay_ms));
        }
        let _ = child.kill();
        let status = child.wait().unwrap();
        assert!(
            is_finished(&out),
            "after a kill at {delay_ms} ms ({status})"
        );
        let now = std::fs::read(out.join("summary.json")).unwrap();
        let new_one = String::from_utf8_lossy(&now).contains("large.swf");
        assert!(now == old || new_one, "after a kill at {delay_ms} ms");
    }
    // The next run clears what killed ones left behind.
    let o = clustersim(&[
        "run",
        "-q",
        "-w",
        arg(&small),
        "--force",
        "--out",
        arg(&out),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
}
