//! Property tests for scenario files with a `[sweep]`: the example sweep with its `[sweep]`
//! lines mutated (values replaced by junk, huge or empty ranges, unknown keys, lines
//! dropped or repeated, arbitrary bytes) is read and expanded into runs, or refused with an
//! error naming the file and a line; never a panic, and never an expansion past the limit.

use clustersim::scenario;
use clustersim::sweep::spec::Sweep;
use proptest::prelude::*;
use std::path::PathBuf;

const BASE: &str = include_str!("../scenarios/gpu-sweep.toml");

/// Values a mutated `[sweep]` line may take.
fn junk_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[]".to_string()),
        Just("{ from = 1, to = 9223372036854775807 }".to_string()),
        Just("{ from = -9223372036854775808, to = 9223372036854775807, step = 1 }".to_string()),
        Just("{ from = 5, to = 1 }".to_string()),
        Just("{ from = 0.0, to = 1e300, step = 1e-300 }".to_string()),
        Just("[1, \"two\", 3.0]".to_string()),
        Just("\"easy\"".to_string()),
        Just("{ nested = { deeper = [[]] } }".to_string()),
        any::<i64>().prop_map(|v| format!("[{v}]")),
        any::<f64>().prop_map(|v| format!("[{v:?}]")),
        "[a-z.\"]{0,12}".prop_map(|s| format!("[\"{s}\"]")),
        proptest::collection::vec(any::<u32>(), 0..40).prop_map(|v| format!("{v:?}")),
    ]
}

/// Keys a mutated `[sweep]` line may set.
fn junk_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"cluster.node_types.h100.count\"".to_string()),
        Just("\"cluster.node_types.h100.gpus\"".to_string()),
        Just("\"policy.name\"".to_string()),
        Just("\"workload.load_factor\"".to_string()),
        Just("seed".to_string()),
        Just("\"no.such.key\"".to_string()),
        Just("\"cluster\"".to_string()),
        "[a-z_.]{1,24}".prop_map(|s| format!("\"{s}\"")),
    ]
}

#[derive(Clone, Debug)]
enum Mutation {
    ReplaceValue(usize, String),
    Replace(usize, String, String),
    Insert(String, String),
    Drop(usize),
    Repeat(usize),
    Bytes(usize, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Mostly values replaced under their own keys, so that most files still parse and the
    // sweep's own checks are what is tested.
    prop_oneof![
        6 => (0usize..8, junk_value()).prop_map(|(i, v)| Mutation::ReplaceValue(i, v)),
        2 => (0usize..8, junk_key(), junk_value()).prop_map(|(i, k, v)| Mutation::Replace(i, k, v)),
        2 => (junk_key(), junk_value()).prop_map(|(k, v)| Mutation::Insert(k, v)),
        1 => (0usize..8).prop_map(Mutation::Drop),
        1 => (0usize..8).prop_map(Mutation::Repeat),
        1 => (0usize..8, proptest::collection::vec(any::<u8>(), 0..16))
            .prop_map(|(i, b)| Mutation::Bytes(i, b)),
    ]
}

/// The example with its `[sweep]` part (from the `[sweep]` header on) mutated.
fn mutated(mutations: &[Mutation]) -> Vec<u8> {
    let at = BASE.find("[sweep]").expect("the example has a [sweep]");
    let (head, sweep) = BASE.split_at(at);
    let mut lines: Vec<Vec<u8>> = sweep.lines().map(|l| l.as_bytes().to_vec()).collect();
    for m in mutations {
        let n = lines.len().max(1);
        match m {
            Mutation::ReplaceValue(i, v) => {
                let i = i % n;
                if let Some(eq) = lines
                    .get(i)
                    .and_then(|l| l.windows(3).position(|w| w == b" = "))
                {
                    lines[i].truncate(eq + 3);
                    lines[i].extend_from_slice(v.as_bytes());
                }
            }
            Mutation::Replace(i, k, v) => {
                let i = 1 + i % n.saturating_sub(1).max(1);
                if i < lines.len() {
                    lines[i] = format!("{k} = {v}").into_bytes();
                }
            }
            Mutation::Insert(k, v) => lines.push(format!("{k} = {v}").into_bytes()),
            Mutation::Drop(i) => {
                if !lines.is_empty() {
                    lines.remove(i % lines.len());
                }
            }
            Mutation::Repeat(i) => {
                if !lines.is_empty() {
                    let line = lines[i % lines.len()].clone();
                    lines.push(line);
                }
            }
            Mutation::Bytes(i, bytes) => {
                if !lines.is_empty() {
                    let k = i % lines.len();
                    lines[k].extend_from_slice(bytes);
                }
            }
        }
    }
    let mut text = head.as_bytes().to_vec();
    for line in lines {
        text.extend_from_slice(&line);
        text.push(b'\n');
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn mutated_sweeps_expand_or_are_refused_with_file_and_line(
        mutations in proptest::collection::vec(mutation(), 1..5),
        case in any::<u32>(),
    ) {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("scenario-fuzz");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("sweep-{case}.toml"));
        std::fs::write(&path, mutated(&mutations)).unwrap();
        match scenario::load(&path) {
            Err(e) => {
                let message = e.to_string();
                prop_assert!(message.contains("sweep-"), "no file named: {}", message);
            }
            Ok(loaded) => match Sweep::from_scenario(&loaded) {
                Ok(sweep) => { prop_assert!(sweep.runs.len() <= 100_000) }
                Err(e) => {
                    let message = e.to_string();
                    let named = format!("{}:", path.display());
                    prop_assert!(message.contains(&named), "no file and line: {}", message);
                }
            },
        }
        let _ = std::fs::remove_file(&path);
    }
}
