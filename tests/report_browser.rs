//! `report.html` in a real browser: headless Chromium opens the page from disk and must
//! render it (title, every plot present with a real size, a screenshot that is not
//! blank), and a trace whose file name and header try to inject markup must not get any
//! into the page.
//!
//! Needs Chromium (Debian's `chromium`, which `.ci/run` installs). Without it the test
//! says it is skipped, and fails when `CLUSTERSIM_REQUIRE_BROWSER=1` (set by `.ci/run`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("CLUSTERSIM_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .find(|p| p.is_file())
            })
        })
}

fn browser_or_skip(test: &str) -> Option<PathBuf> {
    match chromium() {
        Some(path) => Some(path),
        None if std::env::var("CLUSTERSIM_REQUIRE_BROWSER").as_deref() == Ok("1") => {
            panic!("{test}: Chromium is required (CLUSTERSIM_REQUIRE_BROWSER=1) but not found")
        }
        None => {
            eprintln!("{test}: skipped, no chromium on PATH (apt-get install chromium)");
            None
        }
    }
}

/// Runs headless Chromium on `page` with extra arguments; returns standard output.
fn headless(browser: &Path, profile: &Path, args: &[&str], page: &Path) -> String {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium starts");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const HOSTILE_NAME: &str = "trace<img src=x onerror=alert(1)>.swf";

fn hostile_trace(dir: &Path) -> PathBuf {
    let path = dir.join(HOSTILE_NAME);
    let mut text = String::from(
        "; Version: 2.2\n; MaxProcs: 64\n\
         ; Computer: <script>document.title='pwned'</script>\n\
         ; Installation: </td></table><iframe src=\"https://example.invalid\"></iframe>\n\
         ; Note: \"><svg onload=alert(3)>\n",
    );
    text.push_str(&common::random_trace(11, 400, 64));
    // One interactive job, so that both classes appear in the plots.
    text.push_str("9001 5 -1 100 4 -1 -1 4 200 -1 1 1 1 -1 0 1 -1 -1\n");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn report_renders_in_chromium_and_inputs_cannot_inject_markup() {
    let Some(browser) = browser_or_skip("report_renders_in_chromium") else {
        return;
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report_browser");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let trace = hostile_trace(&dir);
    let out_dir = dir.join("run");
    let run = Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(["run", "--policy", "easy", "--workload"])
        .arg(&trace)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report = out_dir.join("report.html");
    let html = std::fs::read_to_string(&report).unwrap();

    // Nothing from the inputs became markup: the page has no script, no frame, no image
    // element and no event handler attribute; the hostile strings are there as text.
    let lower = html.to_lowercase();
    for forbidden in ["<script", "<iframe", "<img", "onload=\"", "<svg onload"] {
        assert!(
            !lower.contains(forbidden),
            "report.html contains {forbidden}"
        );
    }
    assert!(html.contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;"));
    assert!(html.contains("trace&lt;img src=x onerror=alert(1)&gt;.swf"));
    // Self-contained: no reference to anything outside the file.
    for external in ["src=\"http", "href=\"http", "url(http", "<link"] {
        assert!(
            !lower.contains(external),
            "report.html refers out: {external}"
        );
    }

    // The DOM as Chromium built it, with a probe (in a copy of the page, so the report
    // itself stays script-free) that records the rendered size of every plot.
    let probe = html.replace(
        "</body>",
        "<script>\n\
         const sizes = [...document.querySelectorAll('figure.plot svg')].map(s => {\n\
           const r = s.getBoundingClientRect();\n\
           return `${s.closest('figure').id}:${Math.round(r.width)}x${Math.round(r.height)}:${s.querySelectorAll('*').length}`;\n\
         });\n\
         document.body.setAttribute('data-plot-sizes', sizes.join(' '));\n\
         </script>\n</body>",
    );
    let probe_page = dir.join("probe.html");
    std::fs::write(&probe_page, probe).unwrap();
    let dom = headless(
        &browser,
        &dir.join("profile-dom"),
        &["--dump-dom", "--virtual-time-budget=5000"],
        &probe_page,
    );
    assert!(
        dom.contains("<title>clustersim report: easy</title>"),
        "title missing from the rendered DOM"
    );
    assert!(!dom.contains("pwned</title>"));
    let sizes = dom
        .split("data-plot-sizes=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the probe ran and recorded the plot sizes");
    let plots: Vec<&str> = sizes.split_whitespace().collect();
    for name in [
        "utilization",
        "queue",
        "wait_cdf",
        "slowdown_heatmap",
        "gantt",
    ] {
        let entry = plots
            .iter()
            .find(|p| p.starts_with(&format!("plot-{name}:")))
            .unwrap_or_else(|| panic!("plot {name} is not on the page: {sizes}"));
        let mut parts = entry.split(':').skip(1);
        let (w, h) = parts.next().unwrap().split_once('x').unwrap();
        let elements: usize = parts.next().unwrap().parse().unwrap();
        let (w, h): (u32, u32) = (w.parse().unwrap(), h.parse().unwrap());
        assert!(
            w >= 400 && h >= 200,
            "plot {name} renders at {w}x{h}: {sizes}"
        );
        assert!(elements >= 20, "plot {name} has only {elements} elements");
    }

    // A screenshot of the report itself is a picture, not a blank page.
    let shot = dir.join("report.png");
    headless(
        &browser,
        &dir.join("profile-screenshot"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,2400",
        ],
        &report,
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&shot).expect("screenshot written"),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let bytes = &buf[..info.buffer_size()];
    let channels = info.color_type.samples();
    let mut colours = std::collections::BTreeSet::new();
    let mut non_background = 0usize;
    for px in bytes.chunks(channels) {
        let rgb = (px[0], px[1], px[2]);
        colours.insert(rgb);
        if rgb != (255, 255, 255) && rgb != (246, 247, 249) {
            non_background += 1;
        }
    }
    let pixels = bytes.len() / channels;
    assert!(
        colours.len() > 200,
        "screenshot has only {} colours",
        colours.len()
    );
    assert!(
        non_background * 10 > pixels,
        "screenshot is mostly blank: {non_background} of {pixels} pixels drawn"
    );
}
