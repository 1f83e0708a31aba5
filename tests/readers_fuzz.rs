//! Property tests for the readers other than SWF (see `swf_fuzz.rs`): a Slurm accounting
//! dump, a DLRM trace and an openb pod list, fed arbitrary bytes or rows that look like
//! theirs with junk mixed in, give an error or a workload, never a panic; every job of an
//! accepted workload is simulated or dropped; and an accepted sacct dump simulates under
//! every policy with the invariants holding.

use clustersim::check::{check_policy, check_schedule};
use clustersim::cluster::nodes::Placement;
use clustersim::cluster::spec::ClusterSpec;
use clustersim::policy::PolicyKind;
use clustersim::run::{run, RunOptions};
use clustersim::workload::dlrm::read_dlrm;
use clustersim::workload::openb::{read_pod_list, Fractional};
use clustersim::workload::sacct::{
    parse_duration_ms, parse_mem_mb, parse_timestamp_s, read_sacct, read_sacct_on,
};
use clustersim::workload::swf::SwfOptions;
use clustersim::workload::Workload;
use proptest::prelude::*;

fn cluster() -> ClusterSpec {
    toml::from_str(
        "[node_types.cn]\ncount = 2\ncores = 96\nmemory_gb = 1024\n\
         [node_types.hn]\ncount = 2\ncores = 96\nmemory_gb = 768\ngpus = 8\n\
         [partitions.general-compute]\nnode_types = [\"cn\", \"hn\"]\n",
    )
    .unwrap()
}

fn options(lenient: bool) -> SwfOptions {
    SwfOptions {
        procs: Some(64),
        lenient,
        ..SwfOptions::default()
    }
}

/// Every input job is simulated or counted as dropped.
fn accounted(w: &Workload) -> bool {
    w.jobs.len() as u64 + w.dropped.len() as u64 == w.input_jobs
}

/// A field value: well-formed ones of every kind the readers parse, and junk.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..200).prop_map(|n| n.to_string()),
        Just("-1".to_string()),
        Just("".to_string()),
        Just("2021-10-05T11:26:12".to_string()),
        Just("2021-02-30T25:61:61".to_string()),
        Just("Unknown".to_string()),
        Just("1-02:03:04".to_string()),
        Just("99:59".to_string()),
        Just("00:00:00.5".to_string()),
        Just("UNLIMITED".to_string()),
        Just("4000M".to_string()),
        Just("2Gn".to_string()),
        Just("500Gc".to_string()),
        Just("billing=12,cpu=12,mem=33600M,node=1,gres/gpu=2".to_string()),
        Just("123_4".to_string()),
        Just("123.batch".to_string()),
        Just("123+0".to_string()),
        Just("COMPLETED".to_string()),
        Just("interactive".to_string()),
        Just("1.5".to_string()),
        Just("99999999999999999999".to_string()),
        Just("a|b".to_string()),
        Just("x\ny".to_string()),
        Just("ü".to_string()),
    ]
}

const SACCT_HEADER: &str = "JobID|JobIDRaw|JobName|Submit|Start|End|Elapsed|Timelimit|\
                            State|NCPUS|NNodes|ReqMem|AllocTRES|Partition|QOS|User";

/// Rows: valid ones from `valid` (given a row number and two small numbers) with some
/// fields replaced by others, and rows of junk of any width.
fn rows(
    header: &str,
    separator: char,
    valid: fn(u32, u32, u32) -> Vec<String>,
) -> impl Strategy<Value = Vec<Vec<String>>> {
    let width = header.split(separator).count();
    let mutated = (
        0u32..1000,
        1u32..100,
        1u32..100,
        prop::collection::vec((prop::bool::weighted(0.02), field()), width..=width),
    )
        .prop_map(move |(row, a, b, swaps)| {
            let mut fields = valid(row, a, b);
            for (k, (swap, other)) in swaps.into_iter().enumerate() {
                if swap {
                    fields[k] = other;
                }
            }
            fields
        });
    let row = prop_oneof![
        20 => mutated,
        1 => prop::collection::vec(field(), 0..width + 3),
    ];
    prop::collection::vec(row, 0..25)
}

fn strings<const N: usize>(fields: [String; N]) -> Vec<String> {
    fields.to_vec()
}

fn valid_sacct(row: u32, a: u32, b: u32) -> Vec<String> {
    let id = (row + 1).to_string();
    strings([
        id.clone(),
        id,
        if a % 5 == 0 { "bash" } else { "job" }.to_string(),
        format!("2021-10-05T11:{:02}:12", a % 60),
        format!("2021-10-05T12:{:02}:00", b % 60),
        format!("2021-10-05T13:{:02}:00", b % 60),
        format!("01:{:02}:00", a % 60),
        "02:00:00".to_string(),
        "COMPLETED".to_string(),
        (b % 16 + 1).to_string(),
        (a % 2 + 1).to_string(),
        "4000M".to_string(),
        format!("cpu={},gres/gpu={}", b % 16 + 1, a % 3),
        "general-compute".to_string(),
        "normal".to_string(),
        format!("user{}", a % 4),
    ])
}

fn valid_dlrm(row: u32, a: u32, b: u32) -> Vec<String> {
    let created = u64::from(row) * 10 + u64::from(a);
    strings([
        format!("instance_{row}"),
        if a % 2 == 0 { "CN" } else { "HN" }.to_string(),
        format!("app_{}", b % 5),
        (a % 16 + 1).to_string(),
        (a % 16 + 1).to_string(),
        (b % 3).to_string(),
        (b % 3).to_string(),
        "25".to_string(),
        "25".to_string(),
        "40.0".to_string(),
        "40.0".to_string(),
        "640.0".to_string(),
        "800.0".to_string(),
        "8".to_string(),
        created.to_string(),
        (created + u64::from(b)).to_string(),
        (created + u64::from(b) + 100).to_string(),
    ])
}

fn valid_openb(row: u32, a: u32, b: u32) -> Vec<String> {
    let created = u64::from(row) * 10 + u64::from(a);
    strings([
        format!("openb-pod-{row}"),
        (u64::from(a) * 1000).to_string(),
        "16384".to_string(),
        (b % 3).to_string(),
        if b % 4 == 0 { "500" } else { "1000" }.to_string(),
        String::new(),
        "LS".to_string(),
        "Running".to_string(),
        created.to_string(),
        (created + 100 + u64::from(b)).to_string(),
        created.to_string(),
    ])
}

fn sacct_like() -> impl Strategy<Value = String> {
    rows(SACCT_HEADER, '|', valid_sacct).prop_map(|rows| {
        let mut text = format!("{SACCT_HEADER}\n");
        for row in rows {
            text.push_str(&row.join("|"));
            text.push('\n');
        }
        text
    })
}

const DLRM_HEADER: &str = "instance_sn,role,app_name,cpu_request,cpu_limit,gpu_request,\
                           gpu_limit,rdma_request,rdma_limit,memory_request,memory_limit,\
                           disk_request,disk_limit,max_instance_per_node,creation_time,\
                           scheduled_time,deletion_time";

fn csv_like(
    header: &'static str,
    valid: fn(u32, u32, u32) -> Vec<String>,
) -> impl Strategy<Value = String> {
    rows(header, ',', valid).prop_map(move |rows| {
        let mut text = format!("{header}\n");
        for row in rows {
            text.push_str(&row.join(","));
            text.push('\n');
        }
        text
    })
}

const OPENB_HEADER: &str =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,\
     deletion_time,scheduled_time";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn sacct_field_parsers_never_panic(text in ".{0,40}") {
        let _ = parse_duration_ms(&text);
        let _ = parse_timestamp_s(&text);
        let _ = parse_mem_mb(&text);
    }

    #[test]
    fn sacct_dumps_read_or_error(text in sacct_like(), bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        for lenient in [false, true] {
            if let Ok(w) = read_sacct(&text, "fuzz.sacct", &options(lenient)) {
                prop_assert!(accounted(&w));
                for policy in PolicyKind::ALL {
                    let outcome = run(&w, policy, &RunOptions::default(), &mut |_| {}).unwrap();
                    check_schedule(&w, &outcome.result).unwrap();
                    check_policy(policy, &w, &outcome.result).unwrap();
                }
            }
            if let Ok(w) = read_sacct_on(&text, "fuzz.sacct", &options(lenient), Some((&cluster(), Placement::BestFit))) {
                prop_assert!(accounted(&w));
            }
            let junk = format!("{SACCT_HEADER}\n{}", String::from_utf8_lossy(&bytes));
            let _ = read_sacct(&junk, "fuzz.sacct", &options(lenient));
        }
    }

    #[test]
    fn dlrm_traces_read_or_error(text in csv_like(DLRM_HEADER, valid_dlrm), bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(w) = read_dlrm(text.as_bytes(), "fuzz.csv", &cluster(), Placement::BestFit) {
            prop_assert!(accounted(&w));
        }
        let _ = read_dlrm(&bytes[..], "fuzz.csv", &cluster(), Placement::BestFit);
    }

    #[test]
    fn openb_pod_lists_read_or_error(text in csv_like(OPENB_HEADER, valid_openb)) {
        let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("openb-fuzz");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("pods-{:?}.csv", std::thread::current().id()));
        std::fs::write(&path, &text).unwrap();
        for fractional in [Fractional::Whole, Fractional::Mig] {
            if let Ok(w) = read_pod_list(&path, &cluster(), fractional, Placement::BestFit) {
                prop_assert!(accounted(&w));
            }
        }
    }
}
