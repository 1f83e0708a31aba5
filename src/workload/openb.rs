//! Alibaba's `openb` GPU cluster traces (`alibaba/clusterdata`, ATC'23): a pod list (the
//! jobs) and a node list (the cluster).
//!
//! # Column mapping
//!
//! Node list (`sn,cpu_milli,memory_mib,gpu,model`): nodes with equal CPUs, memory, GPUs and
//! model form one node type, named `c<cores>-m<GiB>` or `c<cores>-m<GiB>-<gpus>x<model>`,
//! in order of first appearance; cores = ⌈cpu_milli / 1000⌉, memory GB = ⌈memory_mib /
//! 1024⌉.
//!
//! Pod list (`name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,
//! creation_time,deletion_time,scheduled_time`, times in seconds): one pod is a job on one
//! node; submit = `creation_time`; run = `deletion_time − scheduled_time` (pods still
//! running when the trace ends carry the trace's end as deletion time, so their runs are
//! cut there); no walltime estimates exist, so the estimate is the run; cores =
//! ⌈cpu_milli / 1000⌉, memory MB = `memory_mib`; GPUs: `num_gpu` whole GPUs when
//! `gpu_milli` is 1000; a fractional GPU (`num_gpu` = 1, `gpu_milli` < 1000) takes a
//! whole GPU (`fractional = "whole"`, the default: the model has no GPU shared by
//! fraction) or, with `fractional = "mig"`, ⌈gpu_milli / 1000 × slices per GPU⌉ MIG slices
//! on the cluster's MIG node types. `gpu_spec` (allowed GPU models, `|`-separated)
//! restricts the node types. Pods never scheduled (no `scheduled_time`) are dropped as
//! `never_started`. `qos` `LS` (latency-sensitive) pods are interactive, the others batch.

use super::classes::NodeWorkload;
use super::swf::{open_trace, SwfError};
use super::{DropReason, DroppedJob, Job, JobKind, Workload, WorkloadMeta};
use crate::cluster::nodes::{NodeRequest, Nodes, Placement};
use crate::cluster::spec::{ClusterSpec, NodeTypeSpec, MAX_GPUS_PER_NODE};
use crate::engine::time::{SimDuration, SimTime};
use indexmap::IndexMap;
use std::path::Path;

/// How a fractional GPU request is mapped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Fractional {
    /// A whole GPU.
    #[default]
    Whole,
    /// MIG slices of the node types' profile.
    Mig,
}

fn error(file: &str, line: Option<u64>, message: String) -> SwfError {
    SwfError {
        source_name: file.to_string(),
        line,
        message,
    }
}

/// A CSV row: its line number and fields.
type Row = (u64, Vec<String>);

/// Reads a CSV file (plain or gzip) into its header and rows.
fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Row>), SwfError> {
    let name = path.display().to_string();
    let mut lines = super::swf::bounded_lines(open_trace(path)?);
    let header: Vec<String> = match lines.next() {
        Some(Ok(h)) => h
            .strip_prefix('\u{feff}')
            .unwrap_or(&h)
            .split(',')
            .map(|s| s.trim().to_string())
            .collect(),
        _ => return Err(error(&name, Some(1), "empty file: no header line".into())),
    };
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let line =
            line.map_err(|e| error(&name, Some(i as u64 + 2), format!("read error: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<String> = line.split(',').map(|s| s.trim().to_string()).collect();
        if fields.len() != header.len() {
            return Err(error(
                &name,
                Some(i as u64 + 2),
                format!(
                    "{} fields where the header has {}",
                    fields.len(),
                    header.len()
                ),
            ));
        }
        rows.push((i as u64 + 2, fields));
    }
    Ok((header, rows))
}

fn column(header: &[String], name: &str, file: &str) -> Result<usize, SwfError> {
    header.iter().position(|h| h == name).ok_or_else(|| {
        error(
            file,
            Some(1),
            format!(
                "the header has no {name} column (columns: {})",
                header.join(", ")
            ),
        )
    })
}

fn number(text: &str, file: &str, line: u64, field: &str) -> Result<u64, SwfError> {
    let t = text.trim();
    t.parse::<f64>()
        .ok()
        .filter(|v| *v >= 0.0 && v.is_finite())
        .map(|v| v.round() as u64)
        .ok_or_else(|| {
            error(
                file,
                Some(line),
                format!("field {field}: {t:?} is not a number"),
            )
        })
}

/// Whether `first_line` (a file's first line) is an openb pod list's header: comma-separated
/// names including the pod's `name`, its requests (`cpu_milli`, `memory_mib`, `num_gpu`,
/// `gpu_milli`) and `creation_time`.
pub fn looks_like_openb_pods(first_line: &str) -> bool {
    let names: Vec<&str> = first_line.trim().split(',').map(str::trim).collect();
    [
        "name",
        "cpu_milli",
        "memory_mib",
        "num_gpu",
        "gpu_milli",
        "creation_time",
    ]
    .iter()
    .all(|c| names.contains(c))
}

/// The cluster of an openb node list.
pub fn read_node_list(path: &Path) -> Result<ClusterSpec, SwfError> {
    let name = path.display().to_string();
    let (header, rows) = read_csv(path)?;
    let (cpu, mem, gpu) = (
        column(&header, "cpu_milli", &name)?,
        column(&header, "memory_mib", &name)?,
        column(&header, "gpu", &name)?,
    );
    let model = header.iter().position(|h| h == "model");
    let mut types: IndexMap<String, NodeTypeSpec> = IndexMap::new();
    for (line, f) in rows {
        let cores = u32::try_from(number(&f[cpu], &name, line, "cpu_milli")?.div_ceil(1000))
            .map_err(|_| error(&name, Some(line), "field cpu_milli: out of range".into()))?;
        let memory_gb = number(&f[mem], &name, line, "memory_mib")?.div_ceil(1024);
        let gpus = number(&f[gpu], &name, line, "gpu")?;
        let gpus = u32::try_from(gpus)
            .ok()
            .filter(|&g| g <= MAX_GPUS_PER_NODE)
            .ok_or_else(|| {
                error(
                    &name,
                    Some(line),
                    format!("field gpu: {gpus} GPUs; expected at most {MAX_GPUS_PER_NODE}"),
                )
            })?;
        let gpu_model = model.map(|m| f[m].clone()).filter(|m| !m.is_empty());
        let type_name = match (&gpu_model, gpus) {
            (Some(m), g) if g > 0 => format!("c{cores}-m{memory_gb}-{g}x{m}"),
            (None, g) if g > 0 => format!("c{cores}-m{memory_gb}-{g}xgpu"),
            _ => format!("c{cores}-m{memory_gb}"),
        };
        types
            .entry(type_name)
            .and_modify(|t| t.count += 1)
            .or_insert(NodeTypeSpec {
                count: 1,
                cores: cores.max(1),
                memory_gb: memory_gb.max(1),
                gpus,
                gpu_model: gpu_model.filter(|_| gpus > 0),
                gpu_speed: 1.0,
                mig: None,
                features: Vec::new(),
            });
    }
    if types.is_empty() {
        return Err(error(&name, None, "no nodes".into()));
    }
    let cluster = ClusterSpec {
        node_types: types,
        partitions: IndexMap::new(),
        fabric: None,
    };
    cluster
        .validate()
        .map_err(|e| error(&name, None, format!("{}: {}", e.key, e.message)))?;
    Ok(cluster)
}

/// The jobs of an openb pod list on `cluster`.
pub fn read_pod_list(
    path: &Path,
    cluster: &ClusterSpec,
    fractional: Fractional,
    placement: Placement,
) -> Result<Workload, SwfError> {
    let name = path.display().to_string();
    let (header, rows) = read_csv(path)?;
    let col = |c: &str| column(&header, c, &name);
    let (cpu, mem, num_gpu, gpu_milli) = (
        col("cpu_milli")?,
        col("memory_mib")?,
        col("num_gpu")?,
        col("gpu_milli")?,
    );
    let (created, deleted, scheduled) = (
        col("creation_time")?,
        col("deletion_time")?,
        col("scheduled_time")?,
    );
    let spec = header.iter().position(|h| h == "gpu_spec");
    let qos = header.iter().position(|h| h == "qos");
    let nodes = Nodes::new(cluster);
    let types = nodes.types();
    let mut w = Workload {
        meta: WorkloadMeta {
            source: name.clone(),
            format: "openb".to_string(),
            ..WorkloadMeta::default()
        },
        machine_procs: u32::try_from(cluster.schedulable_cores()).unwrap_or(u32::MAX),
        ..Workload::default()
    };
    let mut nw = NodeWorkload {
        classes: vec!["batch".to_string(), "latency-sensitive".to_string()],
        ..NodeWorkload::empty(nodes.clone(), placement)
    };
    let mut jobs: Vec<(Job, NodeRequest, u16)> = Vec::new();
    for (k, (line, f)) in rows.iter().enumerate() {
        w.input_jobs += 1;
        let trace_id = k as u64 + 1;
        let drop = |reason: DropReason, detail: String| DroppedJob {
            line: *line,
            trace_id: Some(trace_id),
            reason,
            detail,
        };
        let submit_s = number(&f[created], &name, *line, "creation_time")?;
        if f[scheduled].trim().is_empty() {
            w.dropped.push(drop(
                DropReason::NeverStarted,
                format!("{} never scheduled", f[0]),
            ));
            continue;
        }
        let start_s = number(&f[scheduled], &name, *line, "scheduled_time")?;
        let end_s = if f[deleted].trim().is_empty() {
            w.dropped.push(drop(
                DropReason::NoEnd,
                format!("{} has no deletion time", f[0]),
            ));
            continue;
        } else {
            number(&f[deleted], &name, *line, "deletion_time")?
        };
        if end_s < start_s {
            w.dropped.push(drop(
                DropReason::NegativeRuntime,
                format!("{} deleted at {end_s} s, before it was scheduled", f[0]),
            ));
            continue;
        }
        let run_s = end_s - start_s;
        // Counts beyond 32 bits fit no node (the pod is dropped as `no_node_fits`).
        let count = super::saturating_count;
        let cores = count(number(&f[cpu], &name, *line, "cpu_milli")?.div_ceil(1000));
        let memory_mb = number(&f[mem], &name, *line, "memory_mib")?;
        let n_gpu = count(number(&f[num_gpu], &name, *line, "num_gpu")?);
        let milli = count(number(&f[gpu_milli], &name, *line, "gpu_milli")?);
        let allowed_models: Vec<&str> = spec
            .map(|s| f[s].split('|').filter(|m| !m.is_empty()).collect())
            .unwrap_or_default();
        let fractional_gpu = n_gpu == 1 && milli > 0 && milli < 1000;
        let mut request = NodeRequest {
            nodes: 1,
            tasks_per_node: 1,
            cores_per_node: cores,
            memory_mb_per_node: memory_mb,
            gpus_per_node: n_gpu,
            ..NodeRequest::default()
        };
        let mut allowed = 0u64;
        for (ti, t) in types.iter().enumerate().take(64) {
            // The node type's GPU model (a node list's `model` column, or a scenario's
            // `gpu_model`), not a guess from its name.
            let model = cluster
                .node_types
                .get_index(ti)
                .and_then(|(_, spec)| spec.gpu_model.as_deref());
            let model_ok =
                allowed_models.is_empty() || model.is_some_and(|m| allowed_models.contains(&m));
            let kind_ok = if fractional_gpu && fractional == Fractional::Mig {
                t.mig_slices > 0
            } else {
                true
            };
            if model_ok && kind_ok {
                allowed |= 1 << ti;
            }
        }
        if fractional_gpu && fractional == Fractional::Mig {
            // Slices of the first MIG type's layout: ⌈fraction × slices per GPU⌉.
            let per_gpu = types
                .iter()
                .find(|t| t.mig_slices > 0)
                .map(|t| t.mig_slices / cluster_gpus_of(cluster, &t.name).max(1))
                .unwrap_or(0);
            request.gpus_per_node = 0;
            request.mig_slices_per_node = (milli * per_gpu).div_ceil(1000).max(1);
        }
        request.allowed_types = allowed;
        let fits = types
            .iter()
            .enumerate()
            .any(|(ti, t)| ti < 64 && allowed & (1 << ti) != 0 && request.could_ever_fit(t));
        if !fits {
            w.dropped.push(drop(
                DropReason::NoNodeFits,
                format!(
                    "no node could hold {} ({cores} cores, {memory_mb} MiB, {n_gpu} GPUs)",
                    f[0]
                ),
            ));
            continue;
        }
        let interactive = qos.is_some_and(|q| f[q] == "LS");
        jobs.push((
            Job {
                trace_id,
                submit: SimTime::from_secs(submit_s),
                work: SimDuration::from_secs(run_s),
                estimate: SimDuration::from_secs(run_s),
                procs: cores,
                kind: if interactive {
                    JobKind::Interactive
                } else {
                    JobKind::Batch
                },
                user: -1,
                group: -1,
                queue: if interactive { 0 } else { 1 },
                partition: 0,
            },
            request,
            u16::from(interactive),
        ));
    }
    jobs.sort_by_key(|(j, _, _)| (j.submit, j.trace_id));
    for (job, request, class) in jobs {
        w.jobs.push(job);
        nw.requests.push(request);
        nw.partition_of.push(0);
        nw.class_of.push(class);
    }
    w.dropped.sort_by_key(|d| d.line);
    w.nodes = Some(Box::new(nw));
    Ok(w)
}

fn cluster_gpus_of(cluster: &ClusterSpec, type_name: &str) -> u32 {
    cluster.node_types.get(type_name).map_or(0, |t| t.gpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_lists_no_run_could_hold_are_located_errors() {
        let dir = std::env::temp_dir().join(format!("clustersim-openb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let header = "sn,cpu_milli,memory_mib,gpu,model\n";
        let cases = [
            (
                "n0,32000,262144,8,V100\nn1,32000,262144,4000000000,V100\n",
                "nodes.csv:3: field gpu",
            ),
            (
                "n0,99999999999999,262144,0,\n",
                "nodes.csv:2: field cpu_milli",
            ),
        ];
        for (rows, want) in cases {
            let path = dir.join("nodes.csv");
            std::fs::write(&path, format!("{header}{rows}")).unwrap();
            let e = read_node_list(&path).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
        let path = dir.join("nodes.csv");
        std::fs::write(&path, format!("{header}n0,32000,262144,8,V100\n")).unwrap();
        let cluster = read_node_list(&path).unwrap();
        assert_eq!(cluster.total_gpus(), 8);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn pods_match_gpu_models_and_odd_values_are_dropped_not_shrunk() {
        let dir = std::env::temp_dir().join(format!("clustersim-pods-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pods.csv");
        std::fs::write(
            &path,
            "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,\
             creation_time,deletion_time,scheduled_time\n\
             ok,1000,1024,2,1000,V100,LS,Running,0,100,10\n\
             backwards,1000,1024,1,1000,,LS,Running,100,50,80\n\
             many_cores,4294967297000,1024,0,0,,LS,Running,0,100,10\n\
             many_gpus,1000,1024,4294967296,1000,,LS,Running,0,100,10\n",
        )
        .unwrap();
        // A scenario's own cluster: its GPU model is `gpu_model`, whatever the type's name.
        let cluster: ClusterSpec = toml::from_str(
            "[node_types.v100]\ncount = 1\ncores = 8\nmemory_gb = 16\ngpus = 2\n\
             gpu_model = \"V100\"\n",
        )
        .unwrap();
        let w = read_pod_list(&path, &cluster, Fractional::Whole, Placement::BestFit).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let kept: Vec<u64> = w.jobs.iter().map(|j| j.trace_id).collect();
        assert_eq!(kept.len(), 1, "{:?}", w.dropped);
        let reasons: Vec<DropReason> = w.dropped.iter().map(|d| d.reason).collect();
        assert_eq!(
            reasons,
            [
                DropReason::NegativeRuntime,
                DropReason::NoNodeFits,
                DropReason::NoNodeFits
            ]
        );
    }
}
