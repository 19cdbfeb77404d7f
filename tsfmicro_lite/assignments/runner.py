"""Execute one notebook headlessly; the grader starts this in its own process and temp folder.

``python -m tsfmicro_lite.assignments.runner IN.ipynb OUT.ipynb --cell-timeout S``: every student cell
gets ``S`` seconds (the grader's serving cell, tagged ``tsfmicro_grading``, gets ``--serve-timeout``),
after which the kernel is interrupted and execution goes on with the next cell (so an
endless loop in one exercise costs only that exercise). Errors do not stop the run. The executed
notebook is written even when the kernel dies, with ``metadata.tsfmicro_run`` saying what happened
and which cells hit the time limit. A loop that ignores interrupts is the grader's job: it kills
this whole process group at its wall-clock limit.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from ..utils.io import atomic_write_text


def execute(src: Path, dst: Path, cell_timeout: float, serve_timeout: float = 3600.0) -> int:
    nb = nbformat.read(src, as_version=4)
    starts: dict[int, float] = {}
    slow: list[int] = []

    def on_start(cell, cell_index):
        starts[cell_index] = time.monotonic()

    def on_done(cell, cell_index, execute_reply):
        if cell.metadata.get("tsfmicro_grading"):                 # the grader's serving cell: not a student cell
            return
        if time.monotonic() - starts.get(cell_index, time.monotonic()) >= cell_timeout:
            slow.append(cell_index)
        # after every student cell: what ran so far survives a kill at the grader's wall-clock limit
        nb.metadata["tsfmicro_run"] = {"status": "cut off (incomplete run)", "timed_out_cells": slow}
        atomic_write_text(dst, nbformat.writes(nb))

    client = NotebookClient(
        nb, timeout=int(max(1, cell_timeout)), interrupt_on_timeout=True, allow_errors=True,
        timeout_func=lambda cell: int(max(1, serve_timeout if cell.metadata.get("tsfmicro_grading")
                                          else cell_timeout)),
        kernel_name="python3", resources={"metadata": {"path": str(Path.cwd())}},
        on_cell_start=on_start, on_cell_executed=on_done,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": f"cell ran past {cell_timeout:g} s",
                          "traceback": []},
    )
    status = "ok"
    try:
        client.execute()
    except DeadKernelError as exc:
        status = f"kernel died ({exc})"
    except Exception as exc:  # noqa: BLE001 - anything else is reported, never raised to the grader
        status = f"execution failed: {type(exc).__name__}: {exc}"
    nb.metadata["tsfmicro_run"] = {"status": status, "timed_out_cells": slow}
    atomic_write_text(dst, nbformat.writes(nb))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument("--cell-timeout", type=float, default=60.0)
    parser.add_argument("--serve-timeout", type=float, default=3600.0)
    args = parser.parse_args(argv)
    return execute(args.src, args.dst, args.cell_timeout, args.serve_timeout)


if __name__ == "__main__":
    sys.exit(main())
