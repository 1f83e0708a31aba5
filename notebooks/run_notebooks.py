#!/usr/bin/env python3
"""Execute a clustersim notebook headless against given run directories.

    python notebooks/run_notebooks.py NOTEBOOK.ipynb RUN_DIR [RUN_DIR...]
        [--timeout SECONDS] [--save-executed PATH] [--mpl-backend inline|Agg]

Refuses (exit 2) a run directory that is not a finished run: its manifest.json missing, or a
file it lists missing or changed. Sets CLUSTERSIM_RUNS (the run directories, ":"-separated, made absolute) and MPLBACKEND for
the kernel, executes every cell with nbclient, and exits 1 with the failing cell's error if
one fails (2 for bad arguments). Both backends are headless (no display needed); the default,
matplotlib-inline's backend (Agg rendering), draws every figure when its cell ends, so an
error while drawing fails that cell, and the saved copy keeps the figures; with plain Agg,
plt.show() does nothing and figures are never drawn.

The kernel is the interpreter running this script (it needs ipykernel and the packages of
requirements.txt): a kernelspec for it is written to a temporary directory, so no Jupyter
kernel has to be registered on the machine. Nothing is written into the repository; the
executed notebook is discarded unless --save-executed is given.
"""

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

KERNEL_NAME = "clustersim-nb"
# Files up to this size are checked against their manifest hash, larger ones by size.
HASHED_BYTES = 16 << 20


def fnv1a64(path: Path) -> str:
    """The 64-bit FNV-1a hash of a file, as manifest.json writes it (for integrity only)."""
    h = 0xCBF29CE484222325
    with open(path, "rb") as f:
        while chunk := f.read(1 << 16):
            for b in chunk:
                h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def unfinished_run(run: Path) -> str | None:
    """Why `run` is not a finished run folder (None if it is): clustersim writes
    manifest.json last, listing every file with its size and hash; a folder without it, or
    whose files differ from it, is an interrupted or damaged run."""
    manifest = run / "manifest.json"
    if not manifest.is_file():
        return (f"{run}: not a finished run: manifest.json is missing (interrupted, still "
                f"running, or written by an older clustersim; run it again)")
    try:
        files = json.loads(manifest.read_text())["files"]
    except (ValueError, KeyError, TypeError) as e:
        return f"{manifest}: not a clustersim manifest ({e})"
    missing, differ = [], []
    for entry in files:
        path = run / entry["path"]
        if not path.is_file():
            missing.append(entry["path"])
        elif path.stat().st_size != entry["bytes"]:
            differ.append(entry["path"])
        # Hashing in pure Python runs at tens of MB/s: files of the size a notebook run
        # uses are hashed, larger ones checked by size (which catches a truncated file).
        elif path.stat().st_size <= HASHED_BYTES and fnv1a64(path) != entry["fnv1a64"]:
            differ.append(entry["path"])
    if missing or differ:
        parts = ([f"missing: {', '.join(missing)}"] if missing else []) + \
                ([f"not as written: {', '.join(differ)}"] if differ else [])
        return f"{run}: not a finished run: {'; '.join(parts)}"
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebook", type=Path, help="the .ipynb to execute")
    ap.add_argument("runs", type=Path, nargs="+", metavar="RUN_DIR",
                    help="a directory written by `clustersim run --out`")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    ap.add_argument("--save-executed", type=Path, metavar="PATH",
                    help="write the executed notebook (with outputs) here")
    ap.add_argument("--mpl-backend", choices=("inline", "Agg"), default="inline",
                    help="matplotlib backend of the kernel (default inline; both headless)")
    args = ap.parse_args()

    if not args.notebook.is_file():
        print(f"error: no notebook at {args.notebook}", file=sys.stderr)
        return 2
    runs = [p.resolve() for p in args.runs]
    bad = [str(p) for p in runs if not p.is_dir()]
    if bad:
        print(f"error: not a directory: {', '.join(bad)}", file=sys.stderr)
        return 2
    unfinished = [problem for p in runs if (problem := unfinished_run(p))]
    if unfinished:
        print("error: " + "\nerror: ".join(unfinished), file=sys.stderr)
        return 2

    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    except ImportError as e:
        print(f"error: {e}; install notebooks/requirements.txt into this interpreter "
              f"({sys.executable})", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="clustersim-nb-") as tmp:
        tmp = Path(tmp)
        # A kernelspec for this very interpreter, found through JUPYTER_PATH: no global
        # registration needed, and a differently configured global "python3" cannot win.
        spec_dir = tmp / "share" / "kernels" / KERNEL_NAME
        spec_dir.mkdir(parents=True)
        (spec_dir / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"Python ({sys.executable})",
            "language": "python",
        }))
        os.environ["JUPYTER_PATH"] = str(tmp / "share")
        os.environ["JUPYTER_RUNTIME_DIR"] = str(tmp / "runtime")
        os.environ["IPYTHONDIR"] = str(tmp / "ipython")
        os.environ["MPLBACKEND"] = ("module://matplotlib_inline.backend_inline"
                                    if args.mpl_backend == "inline" else "Agg")
        os.environ["CLUSTERSIM_RUNS"] = os.pathsep.join(str(p) for p in runs)

        nb = nbformat.read(args.notebook, as_version=4)
        client = NotebookClient(
            nb,
            timeout=args.timeout,
            kernel_name=KERNEL_NAME,
            # Relative paths inside the notebook resolve against its own folder.
            resources={"metadata": {"path": str(args.notebook.resolve().parent)}},
        )
        print(f"executing {args.notebook} on {len(runs)} run(s) ...", flush=True)
        try:
            client.execute()
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
            failed = next((i for i, c in enumerate(nb.cells)
                           if c.cell_type == "code"
                           and any(o.get("output_type") == "error" for o in c.get("outputs", []))),
                          None)
            where = f"cell {failed + 1} of {len(nb.cells)}" if failed is not None else "a cell"
            text = re.sub(r"\x1b\[[0-9;]*m", "", str(e))  # drop the traceback's colours
            print(f"FAILED: {args.notebook}: {where}: {type(e).__name__}\n{text}", file=sys.stderr)
            return 1
        except Exception as e:  # the kernel did not start, or nbclient itself failed
            print(f"FAILED: {args.notebook}: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        finally:
            if args.save_executed:
                nbformat.write(nb, args.save_executed)
                print(f"executed notebook written to {args.save_executed}")
        print(f"ok: {args.notebook} ({sum(c.cell_type == 'code' for c in nb.cells)} code cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
