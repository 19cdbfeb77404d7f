"""``tsfmicro doctor`` and the console script that runs it (tsfmicro_lite.doctor)."""
from __future__ import annotations

import io
import subprocess
import sys

from tsfmicro_lite import doctor


def test_doctor_passes_on_a_set_up_machine():
    out = io.StringIO()
    assert doctor.run_doctor(out) == 0, out.getvalue()
    text = out.getvalue()
    for needle in ("torch", "dlib", "opencv", "68-point landmark model loads", "data cache"):
        assert needle in text


def test_doctor_reports_each_broken_piece(monkeypatch):
    def broken():
        raise RuntimeError("landmark file truncated")

    monkeypatch.setattr(doctor, "CHECKS", [("landmarks", broken), ("cache", doctor._check_cache)])
    out = io.StringIO()
    assert doctor.run_doctor(out) == 1
    assert "FAIL  landmarks" in out.getvalue() and "landmark file truncated" in out.getvalue()
    assert "1 check(s) failed" in out.getvalue()


def test_console_script_runs_doctor():
    proc = subprocess.run([sys.executable, "-m", "tsfmicro_lite.cli", "doctor"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "all checks passed" in proc.stdout
