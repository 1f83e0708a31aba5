//! `convert` keeps what the trace said: an SWF source's header lines (its start, time zone,
//! acknowledgements, the SDSC copyright notice) are carried into the SWF it writes, a sacct
//! dump's start becomes `UnixStartTime`, and SWF → SWF → SWF gives the same job lines.

mod common;

use common::{arg, clustersim, scratch, text};
use std::path::{Path, PathBuf};

fn convert(input: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = vec!["convert", arg(input), "--to", "swf", "--out", arg(out)];
    args.extend_from_slice(extra);
    let o = clustersim(&args);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    text(&o)
}

/// A file's header (comment) lines and job lines, apart.
fn split(text: &str) -> (Vec<&str>, Vec<&str>) {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .partition(|l| l.trim_start().starts_with(';'))
}

fn plain_text(path: &Path) -> String {
    let mut s = String::new();
    std::io::Read::read_to_string(
        &mut clustersim::workload::swf::open_trace(path).unwrap(),
        &mut s,
    )
    .unwrap();
    s
}

#[test]
fn swf_to_swf_to_swf_keeps_every_header_line_and_the_job_lines() {
    let Some(shared) = common::shared_dir("swf_to_swf_to_swf_keeps_every_header_line") else {
        return;
    };
    let dir = scratch("convert-round-trip");
    // Each trace with a date in its middle.
    for (name, middle) in [
        ("SDSC-SP2-1998-4.2-cln.swf.gz", "1999-01-01"),
        ("CTC-SP2-1996-3.1-cln.swf.gz", "1997-01-01"),
    ] {
        let source: PathBuf = shared.join("traces/swf").join(name);
        let once = dir.join(format!("once-{name}.swf"));
        let twice = dir.join(format!("twice-{name}.swf"));
        convert(&source, &once, &[]);
        convert(&once, &twice, &[]);
        let (original, (once_text, twice_text)) =
            (plain_text(&source), (plain_text(&once), plain_text(&twice)));
        let (source_header, _) = split(&original);
        let (once_header, once_jobs) = split(&once_text);
        let (twice_header, twice_jobs) = split(&twice_text);
        // Every header line, in order and as written, then clustersim's own note.
        assert_eq!(
            once_header[..source_header.len()],
            source_header[..],
            "{name}"
        );
        assert_eq!(twice_header[..once_header.len()], once_header[..], "{name}");
        assert!(
            once_header
                .iter()
                .any(|l| l.starts_with("; Note: converted by clustersim")),
            "{name}"
        );
        if name.starts_with("SDSC") {
            for kept in [
                "; Acknowledge: Victor Hazlewood",
                "; UnixStartTime: 893466664",
                "; TimeZoneString: US/Pacific",
                ";   provided that this copyright notice is preserved in all copies and",
            ] {
                assert!(twice_header.contains(&kept), "{name}: {kept}");
            }
        }
        assert!(once_jobs.len() > 50_000, "{name}");
        assert_eq!(once_jobs, twice_jobs, "{name}: job lines differ");
        // The date filter still places the converted trace: the same jobs as the source.
        let count = |input: &Path| {
            // convert refuses an existing file without --force: one file per input.
            let stem = input.file_name().unwrap().to_string_lossy();
            let cut = dir.join(format!("cut-{stem}.swf"));
            let said = convert(input, &cut, &["--from-date", middle]);
            let written = plain_text(&cut);
            (split(&written).1.len(), said.contains("wrote 0 jobs"))
        };
        let (from_source, none) = count(&source);
        assert!(
            !none && from_source > 0 && from_source < once_jobs.len(),
            "{name}"
        );
        assert_eq!(count(&once), (from_source, false), "{name}");
    }
}

#[test]
fn a_sacct_dump_converts_with_its_start_time() {
    let dir = scratch("convert-sacct-start");
    let dump = dir.join("dump.txt");
    std::fs::write(
        &dump,
        "JobID|JobIDRaw|Submit|Start|End|Elapsed|Timelimit|State|NCPUS\n\
         10|10|2024-01-01T00:00:05|2024-01-01T00:00:10|2024-01-01T00:01:10|01:00|00:10:00|COMPLETED|4\n",
    )
    .unwrap();
    let out = dir.join("dump.swf");
    convert(&dump, &out, &["--procs", "8"]);
    let written = std::fs::read_to_string(&out).unwrap();
    // 2024-01-01T00:00:05 UTC
    assert!(
        written.contains("; UnixStartTime: 1704067205\n"),
        "{written}"
    );
    // And the date filter places it.
    let cut = dir.join("cut.swf");
    let said = convert(&out, &cut, &["--from-date", "2024-01-01"]);
    assert!(said.contains("wrote 1 jobs"), "{said}");
}
