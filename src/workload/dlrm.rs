//! Alibaba's disaggregated DLRM inference trace (`alibaba/clusterdata`,
//! `cluster-trace-gpu-v2025`, NSDI'25 "GPU-Disaggregated Serving for Deep Learning
//! Recommendation Models at Scale"): one row per inference-service instance, replayed as a
//! node-level job on a cluster given from elsewhere (the trace describes no nodes).
//!
//! # The data
//!
//! The published `disaggregated_DLRM_trace.csv` has 23,871 instances of 156 services
//! (`app_name`), 16,485 `CN` (CPU node) and 7,386 `HN` (heterogeneous GPU node), all
//! latency-sensitive, long-running services. Per the trace's README and the values: CPUs in
//! vCPUs (whole numbers 2–192), GPUs whole (0 for `CN`, 1 for `HN`), memory and disk in GiB
//! (16–1000, some fractional such as 937.5), RDMA as a percentage of one RNIC's bandwidth,
//! times in seconds from the trace's start (up to ≈ 31 days; whole seconds written with
//! float noise, e.g. `475.00000000000006`). A time is empty (or `NaN`) when it falls outside
//! the trace: no creation/scheduling time for an instance that already existed when the
//! trace started, no deletion time for one still alive when it ended. Creation and
//! scheduling times are either both present or both empty; 12,390 rows have a creation and
//! a deletion time.
//!
//! # Column mapping
//!
//! Columns are found by their header name; other columns are ignored.
//!
//! | column | job field | unit, rule |
//! |---|---|---|
//! | `cpu_request` (required) | cores on its one node, and `procs` | vCPUs; ⌈value⌉ |
//! | `memory_request` (required) | memory on its node | GiB; ⌈value × 1024⌉ MiB (the simulator's node memory is `memory_gb` × 1024) |
//! | `gpu_request` (required) | whole GPUs on its node | GPUs; ⌈value⌉: a fractional GPU takes a whole one, as openb's `fractional = "whole"` |
//! | `creation_time` (required) | submit | s from the trace start (kept: the first submit is not moved to 0), to the ms |
//! | `scheduled_time` (required) | start of the run | s; the trace's start is ignored (the simulator schedules), only the run length uses it |
//! | `deletion_time` (required) | end of the run | s; run = deletion − scheduled, or deletion − creation when the scheduled time is empty; estimate = run (the trace has no walltimes) |
//! | `instance_sn` | drop details | — |
//! | `role` | the job's class (`HN`, `CN`, … in order of first appearance in the file; `all` without the column) | — |
//! | `app_name` | group number (0, 1, … in order of first appearance in the file, so `app_<n>` is n in the published file; −1 without the column) | — |
//!
//! Every job asks for one node (`tasks_per_node` 1) of any node type of the cluster (the
//! cluster's partitions are not used: one partition `all`), is interactive (queue 0: the
//! trace's instances are all latency-sensitive, which openb maps to interactive too), has
//! user −1 and `trace_id` = its row's position among the data rows (1-based; in the
//! published file `instance_<n>` is row n + 1). `*_limit` (equal to the requests in the
//! published file), `rdma_*`, `disk_*` and `max_instance_per_node` (an anti-affinity per
//! service) are not modelled.
//!
//! # Dropped rows
//!
//! Every data row is a job or a dropped job, checked in this order:
//! - no `creation_time` (empty or `NaN`, or negative): `negative_submit`: the instance was
//!   created before the trace started, so its submit time is below zero and unknown (7,280
//!   rows of the published file: 4,677 alive for the whole trace, 2,603 deleted during it);
//! - no `deletion_time` (empty, `NaN` or negative): `no_end`: still alive when the trace
//!   ended (4,201 rows);
//! - deletion before the start of the run: `negative_runtime` (none in the published file);
//! - `cpu_request` 0: `non_positive_size` (none in the published file);
//! - no node type of the cluster could hold it, even empty: `no_node_fits` (depends on the
//!   cluster: on nodes of 96 cores and 768 GiB, 273 rows of the published file).
//!
//! Malformed input is an error naming the file, the line and the column (name and 1-based
//! position): a resource that is empty, negative or not a number, a time that is not a
//! number, a row with a different number of fields than the header. A required column
//! missing from the header is an error before any row is read.

use super::classes::NodeWorkload;
use super::swf::{open_trace, SwfError};
use super::{DropReason, DroppedJob, Job, JobKind, Workload, WorkloadMeta};
use crate::cluster::nodes::{NodeRequest, Nodes, Placement};
use crate::cluster::spec::ClusterSpec;
use crate::engine::time::{SimDuration, SimTime};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

/// The columns a DLRM trace must have.
pub const REQUIRED_COLUMNS: [&str; 6] = [
    "cpu_request",
    "memory_request",
    "gpu_request",
    "creation_time",
    "scheduled_time",
    "deletion_time",
];

/// Whether `first_line` (a file's header) is a DLRM trace's: it names `instance_sn` and
/// every required column.
pub fn looks_like_dlrm(first_line: &str) -> bool {
    let names: Vec<&str> = first_line.trim().split(',').map(str::trim).collect();
    names.contains(&"instance_sn") && REQUIRED_COLUMNS.iter().all(|c| names.contains(c))
}

/// The jobs of a DLRM trace file (CSV, plain or gzip) on `cluster`.
pub fn read_dlrm_file(
    path: &Path,
    cluster: &ClusterSpec,
    placement: Placement,
) -> Result<Workload, SwfError> {
    read_dlrm(
        open_trace(path)?,
        &path.display().to_string(),
        cluster,
        placement,
    )
}

/// A header's columns, for locating fields and naming them in errors.
struct Header {
    names: Vec<String>,
    source: String,
}

impl Header {
    fn error(&self, line: u64, message: String) -> SwfError {
        SwfError {
            source_name: self.source.clone(),
            line: Some(line),
            message,
        }
    }

    /// The index of a column, if present (the first of that name).
    fn find(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|h| h == name)
    }

    /// `column NAME (POSITION)`, 1-based, as errors name it.
    fn column(&self, i: usize) -> String {
        format!("column {} ({})", self.names[i], i + 1)
    }

    /// A field as a number; `None` when empty or `NaN` (the trace's "outside the trace").
    fn optional(&self, fields: &[&str], i: usize, line: u64) -> Result<Option<f64>, SwfError> {
        let t = fields[i];
        if t.is_empty() || t.eq_ignore_ascii_case("nan") {
            return Ok(None);
        }
        match t.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(self.error(line, format!("{}: {t:?} is not a number", self.column(i)))),
        }
    }

    /// A resource amount in thousandths: present, a number, not negative.
    fn amount_milli(&self, fields: &[&str], i: usize, line: u64) -> Result<u64, SwfError> {
        match self.optional(fields, i, line)? {
            None => Err(self.error(
                line,
                format!("{}: empty, a request needs an amount", self.column(i)),
            )),
            Some(v) if v < 0.0 => Err(self.error(
                line,
                format!("{}: {:?} is negative", self.column(i), fields[i]),
            )),
            // Thousandths absorb float noise (8.000000000001 is 8, not 9, once rounded up).
            Some(v) => Ok((v * 1000.0).round() as u64),
        }
    }

    /// A time in ms, `None` when empty, `NaN` or negative (outside the trace).
    fn time_ms(&self, fields: &[&str], i: usize, line: u64) -> Result<Option<u64>, SwfError> {
        Ok(self
            .optional(fields, i, line)?
            .filter(|v| *v >= 0.0)
            .map(|v| (v * 1000.0).round() as u64))
    }
}

/// Number of names in order of first appearance (deterministic for a given file).
fn intern(names: &mut Vec<String>, index: &mut BTreeMap<String, usize>, name: &str) -> usize {
    if let Some(&n) = index.get(name) {
        return n;
    }
    names.push(name.to_string());
    index.insert(name.to_string(), names.len() - 1);
    names.len() - 1
}

/// The jobs of DLRM trace text from `reader` on `cluster`; `source_name` names it in errors
/// and metadata.
pub fn read_dlrm<R: BufRead>(
    reader: R,
    source_name: &str,
    cluster: &ClusterSpec,
    placement: Placement,
) -> Result<Workload, SwfError> {
    let mut lines = super::swf::bounded_lines(reader);
    let first = match lines.next() {
        Some(Ok(h)) if !h.trim().is_empty() => h,
        Some(Err(e)) => {
            return Err(SwfError {
                source_name: source_name.to_string(),
                line: Some(1),
                message: format!("read error: {e}"),
            })
        }
        _ => {
            return Err(SwfError {
                source_name: source_name.to_string(),
                line: Some(1),
                message: "empty file: no header line".into(),
            })
        }
    };
    let header = Header {
        names: first
            .trim_start_matches('\u{feff}')
            .split(',')
            .map(|s| s.trim().to_string())
            .collect(),
        source: source_name.to_string(),
    };
    let mut required = [0usize; REQUIRED_COLUMNS.len()];
    for (slot, name) in required.iter_mut().zip(REQUIRED_COLUMNS) {
        *slot = header.find(name).ok_or_else(|| {
            header.error(
                1,
                format!(
                    "the header has no {name} column (columns: {})",
                    header.names.join(", ")
                ),
            )
        })?;
    }
    let [cpu, mem, gpu, created, scheduled, deleted] = required;
    let (sn, role, app) = (
        header.find("instance_sn"),
        header.find("role"),
        header.find("app_name"),
    );

    let nodes = Nodes::new(cluster);
    let mut w = Workload {
        meta: WorkloadMeta {
            source: source_name.to_string(),
            format: "dlrm".to_string(),
            ..WorkloadMeta::default()
        },
        machine_procs: u32::try_from(cluster.schedulable_cores()).unwrap_or(u32::MAX),
        ..Workload::default()
    };
    let mut classes: Vec<String> = Vec::new();
    let mut class_index: BTreeMap<String, usize> = BTreeMap::new();
    let mut apps: Vec<String> = Vec::new();
    let mut app_index: BTreeMap<String, usize> = BTreeMap::new();
    let mut jobs: Vec<(Job, NodeRequest, u16)> = Vec::new();
    let mut row = 0u64;
    for (i, text) in lines.enumerate() {
        let line = i as u64 + 2;
        let text = text.map_err(|e| header.error(line, format!("read error: {e}")))?;
        if text.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = text.split(',').map(str::trim).collect();
        if fields.len() != header.names.len() {
            return Err(header.error(
                line,
                format!(
                    "{} fields where the header has {}",
                    fields.len(),
                    header.names.len()
                ),
            ));
        }
        row += 1;
        w.input_jobs += 1;
        let trace_id = row;
        let who = sn
            .map(|c| fields[c].to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| format!("row {row}"));
        let drop = |reason: DropReason, detail: String| DroppedJob {
            line,
            trace_id: Some(trace_id),
            reason,
            detail,
        };
        // Roles and services are numbered over every row, dropped or not, so that the
        // numbers do not depend on the cluster.
        let class = intern(
            &mut classes,
            &mut class_index,
            role.map_or("all", |c| fields[c]),
        );
        let class = u16::try_from(class)
            .map_err(|_| header.error(line, format!("more than {} distinct roles", u16::MAX)))?;
        let group = match app {
            Some(c) => {
                i32::try_from(intern(&mut apps, &mut app_index, fields[c])).unwrap_or(i32::MAX)
            }
            None => -1,
        };
        // Every field is checked before a row is dropped, so that malformed input is an
        // error whatever the row's fate.
        let cores = header.amount_milli(&fields, cpu, line)?.div_ceil(1000);
        let memory_mb = header
            .amount_milli(&fields, mem, line)?
            .saturating_mul(1024)
            .div_ceil(1000);
        let gpus = header.amount_milli(&fields, gpu, line)?.div_ceil(1000);
        let submit_ms = header.time_ms(&fields, created, line)?;
        let scheduled_ms = header.time_ms(&fields, scheduled, line)?;
        let end_ms = header.time_ms(&fields, deleted, line)?;
        let Some(submit_ms) = submit_ms else {
            w.dropped.push(drop(
                DropReason::NegativeSubmit,
                format!("{who} was created before the trace started (no creation_time)"),
            ));
            continue;
        };
        let Some(end_ms) = end_ms else {
            w.dropped.push(drop(
                DropReason::NoEnd,
                format!("{who} was still running when the trace ended (no deletion_time)"),
            ));
            continue;
        };
        let start_ms = scheduled_ms.unwrap_or(submit_ms);
        let Some(run_ms) = end_ms.checked_sub(start_ms) else {
            w.dropped.push(drop(
                DropReason::NegativeRuntime,
                format!(
                    "{who} was deleted at {} s, before it started at {} s",
                    end_ms as f64 / 1000.0,
                    start_ms as f64 / 1000.0
                ),
            ));
            continue;
        };
        if cores == 0 {
            w.dropped.push(drop(
                DropReason::NonPositiveSize,
                format!("{who} asks for no CPUs"),
            ));
            continue;
        }
        let (Ok(cores), Ok(gpus)) = (u32::try_from(cores), u32::try_from(gpus)) else {
            w.dropped.push(drop(
                DropReason::NoNodeFits,
                format!("no node could hold {who} ({cores} cores, {gpus} GPUs)"),
            ));
            continue;
        };
        let request = NodeRequest {
            nodes: 1,
            tasks_per_node: 1,
            cores_per_node: cores,
            memory_mb_per_node: memory_mb,
            gpus_per_node: gpus,
            allowed_types: u64::MAX,
            ..NodeRequest::default()
        };
        if !nodes.types().iter().any(|t| request.could_ever_fit(t)) {
            w.dropped.push(drop(
                DropReason::NoNodeFits,
                format!("no node could hold {who} ({cores} cores, {memory_mb} MiB, {gpus} GPUs)"),
            ));
            continue;
        }
        jobs.push((
            Job {
                trace_id,
                submit: SimTime::from_ms(submit_ms),
                work: SimDuration::from_ms(run_ms),
                estimate: SimDuration::from_ms(run_ms),
                procs: cores,
                kind: JobKind::Interactive,
                user: -1,
                group,
                queue: 0,
                partition: 0,
            },
            request,
            class,
        ));
    }
    if classes.is_empty() {
        classes.push("all".to_string());
    }
    jobs.sort_by_key(|(j, _, _)| (j.submit, j.trace_id));
    let mut nw = NodeWorkload {
        requests: Vec::with_capacity(jobs.len()),
        partition_of: Vec::with_capacity(jobs.len()),
        class_of: Vec::with_capacity(jobs.len()),
        classes,
        ..NodeWorkload::empty(nodes, placement)
    };
    for (job, request, class) in jobs {
        w.jobs.push(job);
        nw.requests.push(request);
        nw.partition_of.push(0);
        nw.class_of.push(class);
    }
    w.nodes = Some(Box::new(nw));
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "instance_sn,role,app_name,cpu_request,cpu_limit,gpu_request,\
                          gpu_limit,rdma_request,rdma_limit,memory_request,memory_limit,\
                          disk_request,disk_limit,max_instance_per_node,creation_time,\
                          scheduled_time,deletion_time";

    fn cluster() -> ClusterSpec {
        toml::from_str(
            "[node_types.cn]\ncount = 2\ncores = 96\nmemory_gb = 1024\n\
             [node_types.hn]\ncount = 1\ncores = 96\nmemory_gb = 768\ngpus = 8\n",
        )
        .unwrap()
    }

    fn read(text: &str) -> Result<Workload, SwfError> {
        read_dlrm(text.as_bytes(), "t.csv", &cluster(), Placement::BestFit)
    }

    fn row(
        sn: &str,
        role: &str,
        app: &str,
        cpu: &str,
        gpu: &str,
        mem: &str,
        times: &str,
    ) -> String {
        format!(
            "{sn},{role},{app},{cpu},{cpu},{gpu},{gpu},25,25,{mem},{mem},640.0,800.0,8,{times}\n"
        )
    }

    #[test]
    fn dlrm_rows_map_to_one_node_jobs() {
        let text = format!(
            "{HEADER}\n{}{}{}",
            row(
                "instance_0",
                "HN",
                "app_0",
                "12",
                "1",
                "120.0",
                "475.00000000000006,623.0,2843.0"
            ),
            row(
                "instance_1",
                "CN",
                "app_7",
                "2.5",
                "0",
                "937.5",
                "100,100,231"
            ),
            row("instance_2", "HN", "app_0", "8", "0.5", "40.0", "100,,160"),
        );
        let w = read(&text).unwrap();
        assert_eq!(w.input_jobs, 3);
        assert!(w.dropped.is_empty(), "{:?}", w.dropped);
        assert_eq!(w.meta.format, "dlrm");
        assert_eq!(w.machine_procs, 288);
        let nw = w.nodes.as_ref().unwrap();
        assert_eq!(nw.classes, ["HN", "CN"]);
        // Sorted by (submit, trace id): instance_1 and instance_2 both at 100 s.
        let ids: Vec<u64> = w.jobs.iter().map(|j| j.trace_id).collect();
        assert_eq!(ids, [2, 3, 1]);
        // instance_1: 2.5 vCPUs → 3 cores, 937.5 GiB → 960,000 MiB, run 131 s.
        let (j, r) = (&w.jobs[0], &nw.requests[0]);
        assert_eq!(j.submit, SimTime::from_secs(100));
        assert_eq!(j.work, SimDuration::from_secs(131));
        assert_eq!(j.estimate, j.work);
        assert_eq!(j.procs, 3);
        assert_eq!(j.kind, JobKind::Interactive);
        assert_eq!((j.group, j.user, j.queue), (1, -1, 0));
        assert_eq!(
            (
                r.nodes,
                r.cores_per_node,
                r.memory_mb_per_node,
                r.gpus_per_node
            ),
            (1, 3, 960_000, 0)
        );
        assert_eq!(r.allowed_types, u64::MAX);
        assert_eq!(nw.classes[nw.class_of[0] as usize], "CN");
        // instance_2: no scheduled time, so run = deletion − creation; half a GPU is one.
        let (j, r) = (&w.jobs[1], &nw.requests[1]);
        assert_eq!(j.work, SimDuration::from_secs(60));
        assert_eq!(r.gpus_per_node, 1);
        assert_eq!(j.group, 0);
        // instance_0: run = deletion − scheduled; float noise in times is rounded off.
        let (j, r) = (&w.jobs[2], &nw.requests[2]);
        assert_eq!(j.submit, SimTime::from_secs(475));
        assert_eq!(j.work, SimDuration::from_secs(2843 - 623));
        assert_eq!(
            (r.cores_per_node, r.memory_mb_per_node, r.gpus_per_node),
            (12, 122_880, 1)
        );
        assert_eq!(nw.classes[nw.class_of[2] as usize], "HN");
    }

    #[test]
    fn dlrm_rows_outside_the_trace_or_the_cluster_are_dropped_and_counted() {
        let text = format!(
            "{HEADER}\n{}{}{}{}{}{}{}",
            row("instance_0", "HN", "app_0", "12", "1", "120.0", ",,"),
            row(
                "instance_1",
                "CN",
                "app_1",
                "64",
                "0",
                "320.0",
                "NaN,NaN,85.0"
            ),
            row("instance_2", "CN", "app_1", "64", "0", "320.0", "10,12,"),
            row("instance_3", "CN", "app_1", "192", "0", "960.0", "10,12,20"),
            row("instance_4", "HN", "app_0", "8", "9", "40.0", "10,12,20"),
            row("instance_5", "CN", "app_1", "0", "0", "40.0", "10,12,20"),
            row("instance_6", "CN", "app_1", "8", "0", "40.0", "10,30,20"),
        );
        let w = read(&text).unwrap();
        assert_eq!(w.input_jobs, 7);
        assert!(w.jobs.is_empty());
        let reasons: Vec<(u64, &str)> = w
            .dropped
            .iter()
            .map(|d| (d.line, d.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                (2, "negative_submit"),
                (3, "negative_submit"),
                (4, "no_end"),
                (5, "no_node_fits"),
                (6, "no_node_fits"),
                (7, "non_positive_size"),
                (8, "negative_runtime"),
            ]
        );
        let counts = w.dropped_by_reason();
        assert_eq!(counts["negative_submit"], 2);
        assert_eq!(counts["no_node_fits"], 2);
        assert_eq!(counts.values().sum::<u64>(), w.input_jobs);
        assert!(w.dropped[3].detail.contains("instance_3"));
        assert_eq!(w.dropped[0].trace_id, Some(1));
        assert_eq!(w.nodes.as_ref().unwrap().classes, ["HN", "CN"]);
    }

    #[test]
    fn dlrm_columns_are_found_by_name_and_extra_ones_ignored() {
        let text = "deletion_time,extra,gpu_request,scheduled_time,memory_request,\
                    creation_time,cpu_request\n\
                    50,whatever,1,20,16,10,2\n";
        let w = read(text).unwrap();
        assert_eq!(w.jobs.len(), 1);
        let (j, r) = (&w.jobs[0], &w.nodes.as_ref().unwrap().requests[0]);
        assert_eq!(
            (j.submit, j.work),
            (SimTime::from_secs(10), SimDuration::from_secs(30))
        );
        assert_eq!(
            (r.cores_per_node, r.memory_mb_per_node, r.gpus_per_node),
            (2, 16_384, 1)
        );
        assert_eq!(j.group, -1);
        assert_eq!(w.nodes.as_ref().unwrap().classes, ["all"]);
    }

    #[test]
    fn a_missing_dlrm_column_is_an_error_naming_it() {
        let header = HEADER.replace(",memory_request", "");
        // The row is malformed too: the header is checked before any row is read.
        let e = read(&format!("{header}\nnot,a,row\n")).unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.to_string().starts_with("t.csv:1: "), "{e}");
        assert!(e.message.contains("no memory_request column"), "{e}");
        let e = read("").unwrap_err();
        assert!(e.message.contains("no header"), "{e}");
    }

    #[test]
    fn malformed_dlrm_fields_name_file_line_and_column() {
        let good = row("instance_0", "CN", "app_0", "8", "0", "40.0", "10,12,20");
        let bad = row(
            "instance_1",
            "CN",
            "app_0",
            "eight",
            "0",
            "40.0",
            "10,12,20",
        );
        let e = read(&format!("{HEADER}\n{good}{bad}")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv:3: column cpu_request (4): \"eight\" is not a number"
        );
        // Also in a row that would be dropped.
        let bad = row("instance_1", "CN", "app_0", "8", "0", "40.0", ",,1x");
        let e = read(&format!("{HEADER}\n{good}{bad}")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv:3: column deletion_time (17): \"1x\" is not a number"
        );
        let bad = row("instance_1", "CN", "app_0", "8", "0", "-4", "10,12,20");
        let e = read(&format!("{HEADER}\n{bad}")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv:2: column memory_request (10): \"-4\" is negative"
        );
        let bad = row("instance_1", "CN", "app_0", "8", "", "4", "10,12,20");
        let e = read(&format!("{HEADER}\n{bad}")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.csv:2: column gpu_request (6): empty"),
            "{e}"
        );
        let e = read(&format!("{HEADER}\n{good}a,b\n")).unwrap_err();
        assert_eq!(e.to_string(), "t.csv:3: 2 fields where the header has 17");
    }

    #[test]
    fn dlrm_headers_are_recognised() {
        assert!(looks_like_dlrm(HEADER));
        assert!(!looks_like_dlrm(
            "name,cpu_milli,memory_mib,num_gpu,gpu_milli"
        ));
    }

    #[test]
    fn dlrm_files_are_read_plain_or_gzip() {
        use std::io::Write;
        let text = format!(
            "{HEADER}\n{}",
            row("instance_0", "CN", "app_0", "8", "0", "40.0", "10,12,20")
        );
        let dir = std::env::temp_dir().join(format!("clustersim-dlrm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("t.csv");
        std::fs::write(&plain, &text).unwrap();
        let gz = dir.join("t.csv.gz");
        let mut e = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::default(),
        );
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap();
        for p in [&plain, &gz] {
            let w = read_dlrm_file(p, &cluster(), Placement::BestFit).unwrap();
            assert_eq!(w.jobs.len(), 1);
            assert_eq!(w.meta.source, p.display().to_string());
        }
        let missing = dir.join("absent.csv");
        let e = read_dlrm_file(&missing, &cluster(), Placement::BestFit).unwrap_err();
        assert!(
            e.to_string().starts_with(&missing.display().to_string()),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
