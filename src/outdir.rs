//! Output folders and files that appear whole or not at all, and the rule every command
//! follows before it writes.
//!
//! A result folder (`run --out DIR`, `compare --out DIR`) is written into a hidden sibling,
//! `.DIR.partial-PID`, and renamed into place once complete; its last file is
//! `manifest.json`, which lists every other file under the folder with its size and a
//! 64-bit FNV-1a hash. A reader therefore sees the previous folder whole, the new one whole,
//! or nothing at `DIR`; a killed run leaves only the hidden `.partial-` folder. A folder is
//! a *finished* result iff its manifest exists and every file it lists has the listed size
//! and hash ([`verify`]). The hash guards against truncation and mix-ups, not tampering: it
//! is no cryptographic hash.
//!
//! Ctrl-C (SIGINT) while a folder is being written removes it and exits with 130
//! ([`Staged::begin`] installs the handler).
//!
//! The overwrite rule ([`check_target`]): an existing target is refused unless `--force`,
//! and a target that is (or, for a folder, holds) an input of the same command is always
//! refused.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";

/// The manifest's `format` field.
pub const MANIFEST_FORMAT: &str = "clustersim-manifest/1";

/// One file of a finished folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Path relative to the folder, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// 64-bit FNV-1a hash of the contents, 16 hex digits.
    pub fnv1a64: String,
}

/// `manifest.json`: every file of a finished folder but itself, sorted by path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: String,
    /// The program's version.
    pub clustersim: String,
    /// The files.
    pub files: Vec<ManifestEntry>,
}

/// The 64-bit FNV-1a hash: simple and dependency-free; for integrity checks only.
#[derive(Clone, Copy, Debug)]
pub struct Fnv1a64(u64);

impl Default for Fnv1a64 {
    fn default() -> Self {
        Fnv1a64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a64 {
    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    /// The hash so far as 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// Size and hash of a file.
fn size_and_hash(path: &Path) -> Result<(u64, String)> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hash = Fnv1a64::default();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hash.hex()))
}

/// Every file under `dir` (recursively), as `/`-separated relative paths, sorted.
fn files_under(dir: &Path) -> Result<Vec<String>> {
    fn walk(root: &Path, rel: &str, out: &mut Vec<String>) -> Result<()> {
        let here = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(rel)
        };
        let entries =
            std::fs::read_dir(&here).with_context(|| format!("reading {}", here.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("reading {}", here.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if entry.file_type()?.is_dir() {
                walk(root, &path, out)?;
            } else {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    out.sort();
    Ok(out)
}

/// Writes `dir/manifest.json` listing every other file under `dir`. Call it last.
pub fn write_manifest(dir: &Path) -> Result<Manifest> {
    let mut files = Vec::new();
    for path in files_under(dir)? {
        if path == MANIFEST {
            continue;
        }
        let (bytes, fnv1a64) = size_and_hash(&dir.join(&path))?;
        files.push(ManifestEntry {
            path,
            bytes,
            fnv1a64,
        });
    }
    let manifest = Manifest {
        format: MANIFEST_FORMAT.to_string(),
        clustersim: crate::run::PROGRAM.version.to_string(),
        files,
    };
    let mut text = serde_json::to_string_pretty(&manifest).context("encoding manifest.json")?;
    text.push('\n');
    write_atomically(&dir.join(MANIFEST), text.as_bytes())?;
    Ok(manifest)
}

/// Checks that `dir` is a finished folder: its manifest exists and every file it lists has
/// the listed size and hash. The error names the folder and what is missing or differs.
pub fn verify(dir: &Path) -> Result<Manifest> {
    if !dir.is_dir() {
        bail!("{}: no such folder", dir.display());
    }
    let path = dir.join(MANIFEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "{}: not a finished result: {MANIFEST} is missing (the run was interrupted, is \
             still running, or was written by an older clustersim; run it again)",
            dir.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a clustersim manifest", path.display()))?;
    if manifest.format != MANIFEST_FORMAT {
        bail!(
            "{}: unknown manifest format {:?} (expected {MANIFEST_FORMAT:?})",
            path.display(),
            manifest.format
        );
    }
    let mut missing = Vec::new();
    let mut differ = Vec::new();
    for entry in &manifest.files {
        let file = dir.join(&entry.path);
        match std::fs::metadata(&file) {
            Err(_) => missing.push(entry.path.clone()),
            Ok(m) if m.len() != entry.bytes => differ.push(format!(
                "{} ({} bytes, the manifest says {})",
                entry.path,
                m.len(),
                entry.bytes
            )),
            Ok(_) => {
                if size_and_hash(&file)?.1 != entry.fnv1a64 {
                    differ.push(format!("{} (its contents changed)", entry.path));
                }
            }
        }
    }
    if !missing.is_empty() || !differ.is_empty() {
        let mut parts = Vec::new();
        if !missing.is_empty() {
            parts.push(format!("missing: {}", missing.join(", ")));
        }
        if !differ.is_empty() {
            parts.push(format!("not as written: {}", differ.join(", ")));
        }
        bail!(
            "{}: not a finished result: {}",
            dir.display(),
            parts.join("; ")
        );
    }
    Ok(manifest)
}

/// Whether two paths name the same file: the same device and inode, or the same canonical
/// path where inodes are unknown.
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// What a command is about to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    /// One file.
    File,
    /// A folder replaced whole.
    Folder,
}

/// The overwrite rule, checked before any work: `target` must not be (nor, for a folder,
/// hold) one of `inputs`, whatever `force` says; an existing file, or an existing folder
/// that is not empty, is refused unless `force`; a folder target that is an existing file
/// (or the reverse) is always refused.
pub fn check_target(target: &Path, kind: TargetKind, inputs: &[&Path], force: bool) -> Result<()> {
    for input in inputs {
        if same_file(target, input) {
            bail!(
                "{}: is an input of this command ({}); write the output elsewhere",
                target.display(),
                input.display()
            );
        }
        if kind == TargetKind::Folder {
            if let (Ok(dir), Ok(file)) = (target.canonicalize(), input.canonicalize()) {
                if file.starts_with(&dir) {
                    bail!(
                        "{}: holds {}, an input of this command; replacing the folder would \
                         remove it: write the output elsewhere",
                        target.display(),
                        input.display()
                    );
                }
            }
        }
    }
    let Ok(meta) = std::fs::symlink_metadata(target) else {
        return Ok(());
    };
    match kind {
        TargetKind::File => {
            if meta.is_dir() {
                bail!("{}: is a folder; give a file name", target.display());
            }
            if !force {
                bail!(
                    "{}: already exists; add --force to overwrite it",
                    target.display()
                );
            }
        }
        TargetKind::Folder => {
            if !meta.is_dir() {
                bail!("{}: exists and is not a folder", target.display());
            }
            let empty = std::fs::read_dir(target)
                .with_context(|| format!("reading {}", target.display()))?
                .next()
                .is_none();
            if !empty && !force {
                bail!(
                    "{}: already exists and is not empty; add --force to replace it whole, or \
                     choose another folder",
                    target.display()
                );
            }
            if !empty && !looks_like_our_output(target) {
                bail!(
                    "{}: does not look like a folder clustersim wrote (no manifest.json, \
                     summary.json or compare.html); refusing to replace it even with --force",
                    target.display()
                );
            }
        }
    }
    Ok(())
}

/// Whether a folder holds what clustersim writes (a run, the demo, a comparison): the guard
/// that keeps `--force` from removing an unrelated folder given by mistake.
fn looks_like_our_output(dir: &Path) -> bool {
    let marks = [MANIFEST, "summary.json", "compare.html", "compare.md"];
    marks.iter().any(|m| dir.join(m).is_file())
        || ["fcfs", "easy", "conservative"]
            .iter()
            .any(|p| dir.join(p).join("summary.json").is_file())
}

/// A sibling of `path` named `.NAME.TAG-PID`.
fn sibling(path: &Path, tag: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_string());
    path.with_file_name(format!(".{name}.{tag}-{}", std::process::id()))
}

/// Folders being written, for the SIGINT handler to remove; `None` once interrupted, so
/// that no folder is renamed into place after Ctrl-C.
static IN_PROGRESS: Mutex<Option<Vec<PathBuf>>> = Mutex::new(Some(Vec::new()));

/// A folder being written under a temporary name, renamed into place by [`Staged::finish`].
/// Dropped unfinished (an error), it removes what it wrote.
pub struct Staged {
    target: PathBuf,
    partial: PathBuf,
    finished: bool,
}

impl Staged {
    /// Checks `target` with [`check_target`] (a folder), then creates `.NAME.partial-PID`
    /// beside it (and its parents). Leftover partial folders of processes that no longer
    /// run are removed first.
    pub fn begin(target: &Path, inputs: &[&Path], force: bool) -> Result<Staged> {
        // The temporary folder is a sibling renamed onto the target: `.`, `..` or `/` have
        // no siblings of their own, so a named folder is needed.
        let named = target
            .components()
            .next_back()
            .is_some_and(|c| matches!(c, std::path::Component::Normal(_)));
        if !named {
            bail!(
                "{}: give the output folder a name (e.g. {}/out)",
                target.display(),
                target.display()
            );
        }
        check_target(target, TargetKind::Folder, inputs, force)?;
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        remove_abandoned_partials(target);
        let partial = sibling(target, "partial");
        if partial.exists() {
            std::fs::remove_dir_all(&partial)
                .with_context(|| format!("removing {}", partial.display()))?;
        }
        install_interrupt_handler();
        {
            let mut guard = IN_PROGRESS.lock().unwrap_or_else(|e| e.into_inner());
            match guard.as_mut() {
                Some(list) => list.push(partial.clone()),
                None => bail!("interrupted"),
            }
        }
        std::fs::create_dir(&partial).with_context(|| format!("creating {}", partial.display()))?;
        Ok(Staged {
            target: target.to_path_buf(),
            partial,
            finished: false,
        })
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.partial
    }

    /// Writes the manifest, then puts the folder in place: an existing target (allowed by
    /// `--force` in [`Staged::begin`]) is renamed away first and removed after.
    pub fn finish(mut self) -> Result<()> {
        write_manifest(&self.partial)?;
        let mut guard = IN_PROGRESS.lock().unwrap_or_else(|e| e.into_inner());
        let Some(list) = guard.as_mut() else {
            bail!("interrupted");
        };
        let old = sibling(&self.target, "replaced");
        let had_old = self.target.exists();
        if had_old {
            std::fs::rename(&self.target, &old).with_context(|| {
                format!(
                    "moving {} aside to {}",
                    self.target.display(),
                    old.display()
                )
            })?;
        }
        if let Err(e) = std::fs::rename(&self.partial, &self.target) {
            if had_old {
                let _ = std::fs::rename(&old, &self.target);
            }
            return Err(e).with_context(|| {
                format!(
                    "renaming {} to {}",
                    self.partial.display(),
                    self.target.display()
                )
            });
        }
        list.retain(|p| p != &self.partial);
        drop(guard);
        self.finished = true;
        if had_old {
            std::fs::remove_dir_all(&old)
                .with_context(|| format!("removing the replaced {}", old.display()))?;
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_dir_all(&self.partial);
            let mut guard = IN_PROGRESS.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(list) = guard.as_mut() {
                list.retain(|p| p != &self.partial);
            }
        }
    }
}

/// Removes `.NAME.partial-PID` and `.NAME.replaced-PID` siblings of `target` whose process
/// is gone (Linux: no `/proc/PID`); elsewhere, nothing is removed.
fn remove_abandoned_partials(target: &Path) {
    let Some(name) = target.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    if !Path::new("/proc/self").exists() {
        return;
    }
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Ok(entries) = std::fs::read_dir(&parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        for tag in ["partial", "replaced"] {
            let prefix = format!(".{name}.{tag}-");
            if let Some(pid) = file.strip_prefix(&prefix) {
                if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
    }
}

/// Writes one file whole or not at all (a temporary sibling renamed over it), after
/// [`check_target`]; `write` fills the temporary file.
pub fn write_file(
    target: &Path,
    inputs: &[&Path],
    force: bool,
    write: impl FnOnce(std::fs::File) -> std::io::Result<()>,
) -> Result<()> {
    check_target(target, TargetKind::File, inputs, force)?;
    let tmp = sibling(target, "partial");
    let result = std::fs::File::create(&tmp)
        .and_then(write)
        .with_context(|| format!("writing {}", target.display()))
        .and_then(|()| {
            std::fs::rename(&tmp, target)
                .with_context(|| format!("renaming {} to {}", tmp.display(), target.display()))
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Installs (once) the SIGINT handler: it removes every folder being written and exits
/// with 130. The signal handler itself only writes a byte to a pipe (all a handler may
/// safely do); a thread waiting on the pipe does the rest.
#[cfg(unix)]
fn install_interrupt_handler() {
    use std::os::fd::FromRawFd;
    static ONCE: std::sync::Once = std::sync::Once::new();
    static WRITE_END: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

    extern "C" fn on_sigint(_: libc::c_int) {
        let fd = WRITE_END.load(std::sync::atomic::Ordering::Relaxed);
        if fd >= 0 {
            // SAFETY: write(2) is async-signal-safe; the buffer is a valid byte.
            unsafe {
                libc::write(fd, [1u8].as_ptr().cast(), 1);
            }
        }
    }

    ONCE.call_once(|| {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return;
        }
        WRITE_END.store(fds[1], std::sync::atomic::Ordering::Relaxed);
        // SAFETY: the read end is ours alone from here on.
        let mut read_end = unsafe { std::fs::File::from_raw_fd(fds[0]) };
        let spawned = std::thread::Builder::new()
            .name("sigint".to_string())
            .spawn(move || {
                let mut byte = [0u8; 1];
                if read_end.read(&mut byte).unwrap_or(0) == 0 {
                    return;
                }
                let folders = IN_PROGRESS
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                    .unwrap_or_default();
                for dir in &folders {
                    // The main thread may still be adding files: retry until it is gone.
                    for _ in 0..20 {
                        match std::fs::remove_dir_all(dir) {
                            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                            _ if !dir.exists() => break,
                            _ => {}
                        }
                    }
                }
                eprintln!("interrupted: removed the unfinished output");
                std::process::exit(130);
            });
        if spawned.is_ok() {
            let handler: extern "C" fn(libc::c_int) = on_sigint;
            // SAFETY: the handler only calls write(2), which is async-signal-safe.
            unsafe {
                libc::signal(libc::SIGINT, handler as libc::sighandler_t);
            }
        }
    });
}

#[cfg(not(unix))]
fn install_interrupt_handler() {}

/// Writes `bytes` to `path` whole or not at all: to a temporary file beside it, then
/// renamed over it (a rename within a folder is atomic).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_its_reference_values() {
        let hash = |s: &str| {
            let mut h = Fnv1a64::default();
            h.update(s.as_bytes());
            h.hex()
        };
        assert_eq!(hash(""), "cbf29ce484222325");
        assert_eq!(hash("a"), "af63dc4c8601ec8c");
        assert_eq!(hash("foobar"), "85944171f73967e8");
    }
}
