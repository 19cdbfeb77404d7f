"""Broken frames and a broken cache are named, recomputed or refused (issue 14): truncated / corrupt JPEGs,
frames of different sizes in one clip, corrupt cache entries, stale ``.tmp`` files, and ``tsfmicro prepare``
against an unwritable cache and a file-size limit."""
from __future__ import annotations

import csv
import io
import os
import re
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from tsfmicro_lite.data import DatasetError
from tsfmicro_lite.preprocess.demo import face_photo, write_clip
from tsfmicro_lite.preprocess.faces import FrameReadError, read_frame
from tsfmicro_lite.preprocess.official import official_resize
from tsfmicro_lite.preprocess.pipeline import STALE_TMP_S, PrepConfig, prepare

REPO = Path(__file__).resolve().parents[2]


def _jpeg(path: Path, image: np.ndarray) -> bytes:
    data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))[1].tobytes()
    path.write_bytes(data)
    return data


def test_truncated_jpeg_is_refused_although_opencv_decodes_it(tmp_path):
    photo = face_photo("astronaut", 128)
    data = _jpeg(tmp_path / "img10.jpg", photo)
    (tmp_path / "img11.jpg").write_bytes(data[: int(len(data) * 0.8)])
    # the real case: OpenCV returns an image (grey band, anonymous libjpeg warning) for the truncated file
    assert cv2.imread(str(tmp_path / "img11.jpg")) is not None
    assert read_frame(tmp_path / "img10.jpg").shape == (128, 128, 3)
    with pytest.raises(FrameReadError, match=r"img11\.jpg: frame is truncated or corrupt \(JPEG end-of-image "):
        read_frame(tmp_path / "img11.jpg")


def test_jpeg_with_a_broken_data_stream_is_refused(tmp_path):
    # 20 flipped bytes in scikit-image's 512 px astronaut: OpenCV decodes it with a libjpeg warning, Pillow's full
    # decode raises "broken data stream" (measured). Flips that libjpeg only warns about: the tests below.
    from skimage import data as samples  # lazy: only this test needs scikit-image's sample photo

    raw = bytearray(_jpeg(tmp_path / "ok.jpg", samples.astronaut()))
    for i in np.random.default_rng(0).integers(2000, len(raw) - 100, 20):
        raw[i] ^= 0xFF
    (tmp_path / "img14.jpg").write_bytes(bytes(raw))
    assert cv2.imread(str(tmp_path / "img14.jpg")) is not None
    with pytest.raises(FrameReadError, match=r"img14\.jpg: frame is truncated or corrupt \(broken data stream"):
        read_frame(tmp_path / "img14.jpg")


def test_jpeg_cut_short_and_zero_padded_is_refused(tmp_path):
    # an interrupted copy into a preallocated file: the second half is zeros. OpenCV and Pillow both decode it.
    data = _jpeg(tmp_path / "ok.jpg", face_photo("astronaut", 128))
    (tmp_path / "img12.jpg").write_bytes(data[: len(data) // 2] + bytes(len(data) - len(data) // 2))
    assert cv2.imread(str(tmp_path / "img12.jpg")) is not None
    with pytest.raises(FrameReadError, match=r"img12\.jpg: frame is truncated or corrupt \(JPEG end-of-image marker"):
        read_frame(tmp_path / "img12.jpg")
    (tmp_path / "img13.jpg").write_bytes(data + bytes(64))  # zero padding after the marker is fine
    assert read_frame(tmp_path / "img13.jpg").shape == (128, 128, 3)


def _scan(data: bytes) -> tuple[int, int]:
    """(start, end) of a baseline JPEG's entropy-coded data: after the SOS segment, up to the EOI marker."""
    sos = data.index(b"\xff\xda")
    return sos + 2 + int.from_bytes(data[sos + 2:sos + 4], "big"), data.rindex(b"\xff\xd9")


def _decodes_silently_before(data: bytes) -> bool:
    """The checks read_frame had before libjpeg's warnings were read: Pillow's full decode, the EOI marker, OpenCV."""
    from PIL import Image  # lazy: only this helper needs Pillow

    with Image.open(io.BytesIO(data)) as im:
        im.load()
    return data.rstrip(b"\x00").endswith(b"\xff\xd9") and cv2.imdecode(np.frombuffer(data, np.uint8), 1) is not None


@pytest.mark.parametrize("damage, warning", [
    ("extraneous", r"Corrupt JPEG data: \d+ extraneous bytes before marker 0xd9"),
    ("marker", r"Corrupt JPEG data: premature end of data segment"),
], ids=["bytes-before-EOI", "marker-inside-scan"])
def test_jpeg_that_libjpeg_only_warns_about_is_refused(tmp_path, capfd, damage, warning):
    data = _jpeg(tmp_path / "ok.jpg", face_photo("astronaut", 128))
    start, end = _scan(data)
    if damage == "extraneous":  # stray bytes after the last block, as when a flipped bit ends the scan early
        # (libjpeg-turbo does not see the first ~5: its bit buffer reads ahead; measured in issue 14)
        bad = data[:end] + bytes(range(1, 17)) + data[end:]
    else:  # an RST marker in the middle of a scan without restart intervals: the blocks after it are lost
        mid = (start + end) // 2
        while data[mid - 1] == 0xFF or data[mid] == 0xFF or data[mid + 1] == 0xFF:
            mid += 1
        bad = data[:mid] + b"\xff\xd3" + data[mid + 2:]
    (tmp_path / "img16.jpg").write_bytes(bad)
    assert _decodes_silently_before(bad)  # Pillow, the EOI check and OpenCV all accept it
    capfd.readouterr()
    with pytest.raises(FrameReadError, match=rf"img16\.jpg: frame is corrupt \(libjpeg: {warning}"):
        read_frame(tmp_path / "img16.jpg")
    assert "Corrupt JPEG data" not in capfd.readouterr().err  # said once, in the error, not also on stderr
    assert read_frame(tmp_path / "ok.jpg").shape == (128, 128, 3)


def test_libjpeg_warnings_are_caught_per_frame_with_two_threads_and_other_stderr_passes(tmp_path, capfd,
                                                                                        monkeypatch):
    data = _jpeg(tmp_path / "ok.jpg", face_photo("astronaut", 96))
    end = _scan(data)[1]
    (tmp_path / "bad.jpg").write_bytes(data[:end] + bytes(range(1, 17)) + data[end:])
    paths = [tmp_path / ("bad.jpg" if k % 3 == 0 else "ok.jpg") for k in range(30)]

    def outcome(path):
        try:
            return read_frame(path).shape
        except FrameReadError as exc:
            return "refused" if str(path) in str(exc) else str(exc)

    with ThreadPoolExecutor(2) as pool:  # prepare's two worker threads: fd 2 is redirected one decode at a time
        got = list(pool.map(outcome, paths))
    assert got == ["refused" if p.name == "bad.jpg" else (96, 96, 3) for p in paths]
    real = cv2.imdecode

    def chatty(buf, flags):  # what other code prints to fd 2 during a decode is passed on, not swallowed
        os.write(2, b"[ WARN:0] some OpenCV log line\n")
        return real(buf, flags)

    monkeypatch.setattr(cv2, "imdecode", chatty)
    capfd.readouterr()
    assert read_frame(tmp_path / "ok.jpg").shape == (96, 96, 3)
    assert "some OpenCV log line" in capfd.readouterr().err


def test_unreadable_frame_is_said_to_be_unreadable(tmp_path, monkeypatch):
    # Tests run as root, where chmod 000 does not stop reading: reading the file is made to raise PermissionError
    # as it does for a normal user (what is exercised is the message, not the OS permission check).
    path = tmp_path / "img15.jpg"
    _jpeg(path, face_photo("astronaut", 64))
    real = Path.read_bytes

    def read_bytes(self):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with pytest.raises(FrameReadError, match=r"img15\.jpg: frame cannot be read \(PermissionError: Permission "
                                             r"denied\); check its permissions"):
        read_frame(path)


def _clip_table(root: Path, n_clips: int = 2) -> pd.DataFrame:
    photo = face_photo("astronaut", 128)
    rows = [write_clip(root, [photo] * 3, subject=f"sub0{k + 1}", clip=f"EP0{k}", onset=10, apex=11, label=k % 2)
            for k in range(n_clips)]
    df = pd.DataFrame(rows)
    df.attrs["classes"] = ["a", "b"]
    return df


def test_frames_of_different_sizes_in_one_clip_are_refused(tmp_path):
    df = _clip_table(tmp_path / "data", 1)
    apex = Path(df.apex_path[0])
    _jpeg(apex, cv2.resize(read_frame(apex), (120, 100)))
    with pytest.raises(DatasetError, match=r"clip sub01/EP00: frame .*img11\.jpg is 120x100 px but the onset "
                                           r"frame .*img10\.jpg is 128x128 px"):
        prepare(df, PrepConfig(size=32), cache_dir=tmp_path / "cache", workers=1)


def test_a_k_frame_of_another_size_is_refused_on_the_align_path(tmp_path):
    df = _clip_table(tmp_path / "data", 1)
    last = Path(df.frame_paths[0][-1])  # img12: neither the onset nor the apex, one of the K=3 frames
    _jpeg(last, cv2.resize(read_frame(last), (120, 100)))
    with pytest.raises(DatasetError, match=r"clip sub01/EP00: frame .*img12\.jpg is 120x100 px but the onset "
                                           r"frame .*img10\.jpg is 128x128 px"):
        prepare(df, PrepConfig(size=32, frames=3), cache_dir=tmp_path / "cache", workers=1)


def test_frames_of_different_sizes_under_faces_dataset_are_resized_and_named(tmp_path):
    # the release's crops (a folder named Cropped): each frame is resized on its own, as the official transform
    df = _clip_table(tmp_path / "Cropped", 2)
    apex, last = Path(df.apex_path[0]), Path(df.frame_paths[0][-1])
    _jpeg(apex, cv2.resize(read_frame(apex), (120, 100)))
    _jpeg(last, cv2.resize(read_frame(last), (64, 80)))
    config, cache = PrepConfig(size=32, faces="dataset", frames=3), tmp_path / "cache"
    note = "sub01/EP00 (onset img10.jpg 128x128 px; img11.jpg 120x100, img12.jpg 64x80)"
    with pytest.warns(UserWarning, match=r"1 clips have frames of another size than their onset frame; each frame "
                                         r"was resized to 32x32 on its own .*" + re.escape(note)):
        prepared = prepare(df, config, cache_dir=cache, workers=1)
    assert prepared.report["resized"] == [note]
    assert f"each resized to 32×32 on its own (as the official transform): 1 clips ({note})" in prepared.summary()
    assert np.array_equal(prepared.apex[0], official_resize(read_frame(apex), 32))
    assert prepared.frames.shape == (2, 3, 32, 32, 3)
    with pytest.warns(UserWarning, match=re.escape(note)):  # read back from the cache, still named
        again = prepare(df, config, cache_dir=cache, workers=1)
    assert again.report["cache"]["clip_hits"] == 2 and again.report["resized"] == [note]


def test_corrupt_cache_entries_are_named_deleted_and_recomputed_and_stale_tmp_removed(tmp_path):
    df = _clip_table(tmp_path / "data")
    cache = tmp_path / "cache"
    first = prepare(df, PrepConfig(size=32), cache_dir=cache, workers=1)
    clip_files = sorted((cache / "v1" / "clips").glob("*.npz"))
    align_files = sorted((cache / "v1" / "align").glob("*.json"))
    clip_files[0].write_bytes(clip_files[0].read_bytes()[:40])  # a truncated npz (zip)
    align_files[1].write_text("{")  # and a broken JSON of the other clip, whose npz is deleted too
    clip_files[1].unlink()
    stale = cache / "v1" / "clips" / ".abc.npz.k1lld.tmp"
    fresh = cache / "v1" / "clips" / ".def.npz.live1.tmp"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    old = time.time() - STALE_TMP_S - 60
    os.utime(stale, (old, old))
    again = prepare(df, PrepConfig(size=32), cache_dir=cache, workers=1)
    c = again.report["cache"]
    assert c["computed"] == 2 and len(c["corrupt"]) == 2
    named = {entry.split(" (")[0]: entry for entry in c["corrupt"]}  # in row order, not file order
    assert "BadZipFile" in named[str(clip_files[0])]
    assert "JSONDecodeError" in named[str(align_files[1])]
    assert "2 corrupt entries deleted and recomputed" in again.summary()
    assert np.array_equal(first.onset, again.onset) and np.array_equal(first.apex, again.apex)
    assert c["stale_tmp_removed"] == 1 and not stale.exists() and fresh.exists()
    assert prepare(df, PrepConfig(size=32), cache_dir=cache, workers=1).report["cache"]["corrupt"] == []


# -------------------------------------------------------------------------------- the CLI, as a user runs it
def _casme2_tree(root: Path) -> None:
    df = _clip_table(root)
    with (root / "CASME2-coding-test.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units",
                    "Estimated Emotion"])
        for row, emotion in zip(df.to_dict("records"), ("happiness", "surprise")):
            w.writerow([row["subject"], row["clip"], 10, 11, 12, "12", emotion])


def _prepare_cli(root: Path, cache: Path, fsize: int | None = None) -> subprocess.CompletedProcess:
    def limit() -> None:  # runs in the child: files it writes may not grow past fsize bytes (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    cmd = [sys.executable, "-m", "tsfmicro_lite.cli", *_prepare_argv(root, cache)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**os.environ, "TSFMICRO_QUIET": "1"}, preexec_fn=limit if fsize else None)


def _prepare_argv(root: Path, cache: Path) -> list[str]:
    return ["prepare", "--dataset", "casme2", "--root", str(root), "--classes", "3", "--size", "32",
            "--workers", "1", "--cache-dir", str(cache)]


@pytest.mark.slow
def test_prepare_cli_with_corrupt_entry_unwritable_cache_and_file_size_limit(tmp_path, capsys):
    from tsfmicro_lite.cli import main as cli  # lazy: the CLI imports every registry (torch); only this test needs it

    root = tmp_path / "CASME2"
    _casme2_tree(root)
    cache = tmp_path / "cache"
    assert cli(_prepare_argv(root, cache)) == 0
    entry = sorted((cache / "v1" / "clips").glob("*.npz"))[0]
    entry.write_bytes(b"PK\x03\x04 not a zip")
    capsys.readouterr()
    assert cli(_prepare_argv(root, cache)) == 0
    out = capsys.readouterr().out
    assert "1 corrupt entries deleted and recomputed" in out and str(entry) in out

    # An unwritable cache folder. Tests run as root (here and in CI), so chmod cannot make a folder read-only;
    # a cache path under a regular file fails the same write (mkdir raises NotADirectoryError), so this checks the
    # message and the exit code, not the EACCES errno itself.
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert cli(_prepare_argv(root, blocker / "cache")) == 1
    out = capsys.readouterr().out
    assert f"cannot write the preprocessing cache entry {blocker / 'cache'}" in out
    assert "--cache-dir DIR" in out and "$TSFMICRO_CACHE" in out

    # A full disk, as a file-size limit in a child process: every cache write past 1 KiB fails with EFBIG.
    out = _prepare_cli(root, tmp_path / "small-cache", fsize=1024)
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr
    assert "File too large" in out.stdout and str(tmp_path / "small-cache" / "v1") in out.stdout
