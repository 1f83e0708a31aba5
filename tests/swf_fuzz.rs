//! Property tests: arbitrary input to the SWF reader gives an error or a workload, never a
//! panic; and any workload it accepts simulates under every policy with the invariants
//! holding.

use clustersim::check::{check_policy, check_schedule};
use clustersim::policy::PolicyKind;
use clustersim::run::{run, RunOptions};
use clustersim::workload::swf::{read_swf, SwfOptions};
use proptest::prelude::*;

fn options(lenient: bool) -> SwfOptions {
    SwfOptions {
        procs: Some(16),
        lenient,
        ..SwfOptions::default()
    }
}

/// Text that looks like SWF: headers, numbers, signs, decimals, junk.
fn swf_like() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        (-5i64..5000).prop_map(|n| n.to_string()),
        (0u32..100, 0u32..1000).prop_map(|(a, b)| format!("{a}.{b}")),
        Just("-1".to_string()),
        Just("; MaxProcs: 8".to_string()),
        Just(";".to_string()),
        Just("x".to_string()),
        Just("1e3".to_string()),
        Just("99999999999999999999".to_string()),
    ];
    prop::collection::vec(prop::collection::vec(token, 0..20), 0..30)
        .prop_map(|lines| lines.into_iter().map(|l| l.join(" ") + "\n").collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let _ = read_swf(&bytes[..], "fuzz.swf", &options(false));
        let _ = read_swf(&bytes[..], "fuzz.swf", &options(true));
    }

    #[test]
    fn swf_like_text_reads_or_errors_and_simulates(text in swf_like()) {
        for lenient in [false, true] {
            if let Ok(w) = read_swf(text.as_bytes(), "fuzz.swf", &options(lenient)) {
                prop_assert_eq!(w.jobs.len() as u64 + w.dropped.len() as u64, w.input_jobs);
                for policy in PolicyKind::ALL {
                    let outcome = run(&w, policy, &RunOptions::default(), &mut |_| {}).unwrap();
                    check_schedule(&w, &outcome.result).unwrap();
                    check_policy(policy, &w, &outcome.result).unwrap();
                }
            }
        }
    }

    #[test]
    fn well_formed_jobs_are_never_lost(rows in prop::collection::vec(
        (0u64..10_000, -2i64..3000, -2i64..40, -2i64..40, -2i64..5000, -2i64..3), 1..60)) {
        let text: String = rows
            .iter()
            .enumerate()
            .map(|(i, (submit, run, alloc, req, est, queue))| {
                format!("{} {submit} -1 {run} {alloc} -1 -1 {req} {est} -1 1 1 1 -1 {queue} 1 -1 -1\n", i + 1)
            })
            .collect();
        let w = read_swf(text.as_bytes(), "rows.swf", &options(false)).unwrap();
        prop_assert_eq!(w.input_jobs, rows.len() as u64);
        prop_assert_eq!(w.jobs.len() + w.dropped.len(), rows.len());
        prop_assert!(w.jobs.windows(2).all(|p| (p[0].submit, p[0].trace_id) <= (p[1].submit, p[1].trace_id)));
        prop_assert!(w.jobs.iter().all(|j| j.procs >= 1 && j.procs <= 16 && j.estimate >= j.work));
    }
}
