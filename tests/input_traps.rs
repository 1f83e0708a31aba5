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
