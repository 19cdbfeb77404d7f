"""Every interactive explorer of the course, in one module (ipywidgets).

- :func:`preprocessing_explorer` (notebook 01): scrub a clip, move the onset/apex markers, see the
  frame with its landmarks, the apex − onset difference and the optical flow update.
- :func:`retention_explorer` (notebook 02): sliders for the decay γ and the sequence length redraw
  the decay mask and the parallel / recurrent outputs (and how far apart they are).
- :func:`fusion_explorer` (notebook 05): pick a variant, see its wiring diagram and the tensor shape
  at every stage, traced from the model itself.
- :func:`training_explorer` (notebooks 06/07): pick a fold, see its confusion matrix and the samples
  the model got wrong.

Why pictures are PNG bytes in an ``ipywidgets.Image`` (not ``plt.show()`` in an ``Output``): the same
code then works in JupyterLab, in a headless papermill run and in tests, which drive the callbacks
from Python and check that the picture and the text changed. Each explorer keeps its last drawn
numbers in ``.state`` for that reason.
"""
from __future__ import annotations

import html
import io
from typing import Any, Callable, Mapping, Sequence

import ipywidgets as W

import numpy as np

__all__ = ["Explorer", "PreprocessingExplorer", "RetentionExplorer", "FusionExplorer", "TrainingExplorer",
           "preprocessing_explorer", "retention_explorer", "fusion_explorer", "training_explorer"]


def _png(fig) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it (no figure leaks across redraws)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _figure(*args, **kwargs):
    """A figure that never opens a GUI window, whatever the backend."""
    from matplotlib.figure import Figure

    fig = Figure(*args, **kwargs)
    return fig


class Explorer:
    """Base: a ``widget`` (VBox of controls, a picture and a status line), ``redraw()``, ``state``."""

    def __init__(self, controls: Sequence[W.Widget], title: str) -> None:
        self.image = W.Image(format="png", layout=W.Layout(max_width="100%"))
        self.status = W.HTML()
        self.state: dict[str, Any] = {}
        self.redraws = 0
        header = W.HTML(f"<b>{html.escape(title)}</b>")
        self.widget = W.VBox([header, W.HBox(list(controls), layout=W.Layout(flex_flow="row wrap")),
                              self.image, self.status])
        self.widget.add_class("tsfmicro-explorer")
        for c in controls:
            if hasattr(c, "value"):
                c.observe(self._on_change, names="value")

    def _on_change(self, change: Mapping[str, Any]) -> None:
        self.redraw()

    def redraw(self) -> None:
        fig, status = self.draw()
        self.image.value = _png(fig)
        self.status.value = status
        self.redraws += 1

    def draw(self):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


# ----------------------------------------------------------------------------------- notebook 01
class PreprocessingExplorer(Explorer):
    """Scrub frames, move onset/apex, see the difference image, the optical flow and the landmarks."""

    def __init__(self, frames: Sequence[np.ndarray], onset: int, apex: int,
                 landmarks: np.ndarray | None = None, frame_numbers: Sequence[int] | None = None,
                 flow_method: str = "farneback") -> None:
        if len(frames) < 2:
            raise ValueError(f"preprocessing explorer: a clip needs at least 2 frames, got {len(frames)}.")
        if not (0 <= onset < len(frames) and 0 <= apex < len(frames)):
            raise ValueError(f"onset index {onset} / apex index {apex} are outside the clip's {len(frames)} frames "
                             "(they are positions in `frames`, not frame numbers).")
        if landmarks is not None and len(landmarks) != len(frames):
            raise ValueError(f"landmarks has {len(landmarks)} entries for {len(frames)} frames; pass one (68, 2) "
                             "array per frame.")
        self.frames = [np.asarray(f) for f in frames]
        self.landmarks = landmarks
        self.numbers = list(frame_numbers) if frame_numbers is not None else list(range(len(frames)))
        self.flow_method = flow_method
        self._flow_cache: dict[tuple[int, int], np.ndarray] = {}
        n = len(frames) - 1
        self.frame = W.IntSlider(value=apex, min=0, max=n, description="frame", continuous_update=False)
        self.markers = W.IntRangeSlider(value=(min(onset, apex), max(onset, apex)), min=0, max=n,
                                        description="onset→apex", continuous_update=False)
        self.show_landmarks = W.Checkbox(value=landmarks is not None, description="landmarks",
                                         disabled=landmarks is None)
        super().__init__([self.frame, self.markers, self.show_landmarks],
                         "Preprocessing explorer: frame, apex − onset, optical flow")
        self.redraw()

    def flow(self, onset: int, apex: int) -> np.ndarray:
        from .preprocess.inputs import optical_flow

        key = (onset, apex)
        if key not in self._flow_cache:
            self._flow_cache[key] = optical_flow(self.frames[onset], self.frames[apex], self.flow_method)
        return self._flow_cache[key]

    def draw(self):
        from .preprocess.inputs import difference
        from .viz.preprocess import flow_to_rgb, signed_image

        i = self.frame.value
        onset, apex = self.markers.value
        diff = difference(self.frames[onset], self.frames[apex])
        flow = self.flow(onset, apex)
        mag = np.linalg.norm(flow, axis=-1)
        fig = _figure(figsize=(10, 3.2))
        axes = fig.subplots(1, 3)
        axes[0].imshow(self.frames[i], cmap="gray")
        if self.show_landmarks.value and self.landmarks is not None:
            axes[0].scatter(self.landmarks[i][:, 0], self.landmarks[i][:, 1], s=4, c="lime")
        axes[0].set_title(f"frame {self.numbers[i]}" + (" (onset)" if i == onset else " (apex)" if i == apex else ""))
        lim = float(np.abs(signed_image(diff)).max()) or 1e-6
        axes[1].imshow(signed_image(diff), cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[1].set_title(f"apex − onset ({self.numbers[apex]} − {self.numbers[onset]})")
        axes[2].imshow(flow_to_rgb(flow))
        axes[2].set_title(f"optical flow ({self.flow_method})")
        for ax in axes:
            ax.axis("off")
        self.state = {"frame": i, "onset": onset, "apex": apex, "mean_abs_diff": float(np.abs(diff).mean()),
                      "max_flow": float(mag.max())}
        status = (f"mean |apex − onset| = {self.state['mean_abs_diff']:.4f} (of 1), largest flow "
                  f"{self.state['max_flow']:.2f} px. Move the apex marker away from the true apex and watch both shrink.")
        return fig, status


def preprocessing_explorer(sample: Mapping[str, Any], max_frames: int = 40,
                           flow_method: str = "farneback") -> PreprocessingExplorer:
    """Explorer for one row of ``load_dataset(...)`` (its ``frame_paths``, onset/apex, and the
    ground-truth ``landmarks_path`` when the data set has one, as SynthME does). Long clips are
    subsampled to ``max_frames`` frames, always keeping the onset and the apex."""
    paths = list(sample["frame_paths"])
    given = sample.get("frame_numbers")
    numbers = (list(given) if isinstance(given, (list, tuple, np.ndarray)) and len(given) == len(paths)
               else list(range(int(sample["onset"]), int(sample["onset"]) + len(paths))))
    onset_i = numbers.index(int(sample["onset"])) if int(sample["onset"]) in numbers else 0
    apex_i = numbers.index(int(sample["apex"])) if int(sample["apex"]) in numbers else len(paths) // 2
    keep = sorted(set(np.linspace(0, len(paths) - 1, min(max_frames, len(paths))).round().astype(int).tolist())
                  | {onset_i, apex_i})
    landmarks = None
    lm_path = sample.get("landmarks_path")
    if isinstance(lm_path, str) and lm_path:
        landmarks = np.load(lm_path)[keep]
    from .preprocess.faces import read_frame

    frames = [read_frame(paths[k]) for k in keep]
    return PreprocessingExplorer(frames, keep.index(onset_i), keep.index(apex_i), landmarks,
                                 [numbers[k] for k in keep], flow_method)


# ----------------------------------------------------------------------------------- notebook 02
class RetentionExplorer(Explorer):
    """γ and length sliders: the decay mask and the parallel vs recurrent outputs of one head."""

    def __init__(self, gamma: float = 0.9, length: int = 32, dim: int = 8, seed: int = 0) -> None:
        self.gamma = W.FloatSlider(value=gamma, min=0.5, max=0.995, step=0.005, description="γ",
                                   readout_format=".3f", continuous_update=False)
        self.length = W.IntSlider(value=length, min=4, max=128, description="length", continuous_update=False)
        self.precision = W.ToggleButtons(options=["float64", "float32"], value="float64", description="dtype")
        self.dim, self.seed = dim, seed
        super().__init__([self.gamma, self.length, self.precision],
                         "Retention explorer: decay mask, parallel = recurrent")
        self.redraw()

    def draw(self):
        import torch

        from .models.retention import decay_mask, retention_parallel, retention_recurrent

        n, g = self.length.value, self.gamma.value
        dtype = torch.float64 if self.precision.value == "float64" else torch.float32
        gen = torch.Generator().manual_seed(self.seed)
        q, k, v = (torch.randn(1, 1, n, self.dim, generator=gen, dtype=torch.float64).to(dtype) for _ in range(3))
        par, _ = retention_parallel(q, k, v, [g])
        rec, _ = retention_recurrent(q, k, v, [g])
        diff = float((par - rec).abs().max() / par.abs().max())
        fig = _figure(figsize=(10, 3.2))
        ax0, ax1 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.6]})
        ax0.imshow(decay_mask(n, [g], dtype=torch.float64)[0].numpy(), cmap="viridis", vmin=0, vmax=1)
        ax0.set_title(f"decay mask D[n, m] = γ^(n−m), γ = {g:.3f}")
        ax0.set_xlabel("key m")
        ax0.set_ylabel("query n")
        pos = np.arange(n)
        ax1.plot(pos, par[0, 0, :, 0].double().numpy(), "o-", ms=3, label="parallel (QKᵀ ⊙ D) V")
        ax1.plot(pos, rec[0, 0, :, 0].double().numpy(), "x--", ms=4, label="recurrent: S ← γ S + kᵀ v, out = q S")
        ax1.set_xlabel("position n")
        ax1.set_ylabel("output, channel 0")
        ax1.legend(fontsize=8)
        ax1.set_title(f"memory ≈ 1/(1−γ) = {1 / (1 - g):.0f} tokens")
        self.state = {"gamma": g, "length": n, "dtype": self.precision.value, "max_rel_diff": diff}
        status = (f"max |parallel − recurrent| / max |parallel| = <b>{diff:.1e}</b> in {self.precision.value} "
                  f"(length {n}): the two forms compute the same sum.")
        return fig, status


def retention_explorer(gamma: float = 0.9, length: int = 32) -> RetentionExplorer:
    """The notebook-02 explorer (see :class:`RetentionExplorer`)."""
    return RetentionExplorer(gamma=gamma, length=length)


# ----------------------------------------------------------------------------------- notebook 05
class FusionExplorer(Explorer):
    """Pick a variant: its wiring diagram and the tensor shape at each stage, traced from the model."""

    def __init__(self, preset: str = "tiny", variant: str = "late", num_classes: int = 3) -> None:
        from .models import list_variants

        variants = list_variants()
        if variant not in variants:
            raise ValueError(f"fusion explorer: unknown variant {variant!r}; choose one of {variants}.")
        self.preset, self.num_classes = preset, num_classes
        self._cache: dict[str, Any] = {}
        self.variant = W.ToggleButtons(options=variants, value=variant, description="variant")
        self.table = W.HTML()
        super().__init__([self.variant], f"Fusion explorer: wiring and shapes (preset {preset})")
        self.widget.children = (*self.widget.children, self.table)
        self.redraw()

    def wiring(self, variant: str):
        from .models import build_model, count_parameters
        from .models.wiring import trace_wiring

        if variant not in self._cache:
            model = build_model(variant, self.num_classes, preset=self.preset)
            self._cache[variant] = (trace_wiring(model), count_parameters(model))
        return self._cache[variant]

    def draw(self):
        from .viz.models import draw_wiring

        variant = self.variant.value
        wiring, params = self.wiring(variant)
        fig = _figure(figsize=(15, 4.5))
        ax = fig.subplots()
        draw_wiring(wiring, ax=ax, title=f"{variant} ({params:,} parameters, preset {self.preset})")
        stages = wiring.stages()
        rows = "".join(f"<tr><td>{html.escape(label)}</td><td><code>{'×'.join(map(str, shape))}</code></td></tr>"
                       for label, shape in stages)
        self.table.value = (f"<table><tr><th>stage</th><th>output shape (batch first)</th></tr>{rows}</table>")
        self.state = {"variant": variant, "params": params, "stages": stages}
        return fig, f"<b>{variant}</b>: {len(stages)} stages, {params:,} parameters."


def fusion_explorer(preset: str = "tiny", variant: str = "late") -> FusionExplorer:
    """The notebook-05 explorer (see :class:`FusionExplorer`)."""
    return FusionExplorer(preset=preset, variant=variant)


# ----------------------------------------------------------------------------------- notebooks 06/07
class TrainingExplorer(Explorer):
    """Pick a fold (and protocol): its confusion matrix and the samples the model got wrong.

    ``predictions`` is the tidy table of a LOSO run (columns ``fold``, ``subject``, ``sample``,
    ``y_true``, ``y_pred``, optionally ``protocol`` / ``criterion``); ``images(sample) -> array``
    returns a picture of a sample (e.g. its onset crop) for the gallery of mistakes.
    """

    def __init__(self, predictions, class_names: Sequence[str],
                 images: Callable[[int], np.ndarray] | None = None, max_mistakes: int = 8) -> None:
        needed = {"fold", "y_true", "y_pred"}
        missing = needed - set(predictions.columns)
        if missing:
            raise ValueError(f"training explorer: predictions lacks columns {sorted(missing)}; it has "
                             f"{list(predictions.columns)} (use LosoResult.predictions).")
        self.predictions = predictions
        self.class_names = list(class_names)
        self.images, self.max_mistakes = images, max_mistakes
        folds = sorted(predictions["fold"].unique().tolist())
        subjects = (predictions.groupby("fold")["subject"].first().to_dict() if "subject" in predictions else {})
        options = [("all folds (pooled)", "all")] + [(f"fold {f}: {subjects.get(f, '')}".strip(": "), f) for f in folds]
        self.fold = W.Dropdown(options=options, value="all", description="fold")
        protocols = sorted(predictions["protocol"].unique().tolist()) if "protocol" in predictions else []
        self.protocol = W.Dropdown(options=protocols or ["-"], value=(protocols or ["-"])[0], description="protocol",
                                   disabled=len(protocols) < 2)
        super().__init__([self.fold, self.protocol], "Training explorer: confusion matrix and mistakes per fold")
        self.redraw()

    def _rows(self):
        p = self.predictions
        if "protocol" in p and self.protocol.value != "-":
            p = p[p["protocol"] == self.protocol.value]
        if "criterion" in p:                                  # the paper protocol has one row per criterion
            first = p["criterion"].iloc[0] if len(p) else None
            p = p[p["criterion"] == first]
        if self.fold.value != "all":
            p = p[p["fold"] == self.fold.value]
        return p

    def draw(self):
        from . import metrics

        p = self._rows()
        k = len(self.class_names)
        cm = metrics.confusion(p["y_true"].to_numpy(), p["y_pred"].to_numpy(), num_classes=k)
        wrong = p[p["y_true"] != p["y_pred"]]
        shown = wrong.head(self.max_mistakes) if self.images is not None else wrong.iloc[:0]
        cols = max(1, len(shown))
        fig = _figure(figsize=(4 + 1.6 * cols, 3.6))
        grid = fig.add_gridspec(2, 1 + cols, width_ratios=[2.5] + [1] * cols)
        ax = fig.add_subplot(grid[:, 0])
        ax.imshow(cm, cmap="Blues")
        for (i, j), c in np.ndenumerate(cm):
            ax.text(j, i, str(c), ha="center", va="center", color="black" if c < cm.max() / 2 else "white")
        ax.set_xticks(range(k), self.class_names, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(k), self.class_names, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        label = "all folds" if self.fold.value == "all" else f"fold {self.fold.value}"
        ax.set_title(label)
        for n, (_, r) in enumerate(shown.iterrows()):
            a = fig.add_subplot(grid[0, 1 + n])
            a.imshow(self.images(int(r["sample"])))
            a.set_title(f"{self.class_names[int(r['y_true'])]}\n→ {self.class_names[int(r['y_pred'])]}", fontsize=7)
            a.axis("off")
        s = metrics.score(p["y_true"].to_numpy(), p["y_pred"].to_numpy()) if len(p) else {"n": 0}
        self.state = {"fold": self.fold.value, "confusion": cm, "n": int(len(p)), "mistakes": int(len(wrong)),
                      **{m: s.get(m) for m in ("accuracy", "uf1", "uar")}}
        status = (f"{label}: {len(p)} test samples, {len(wrong)} wrong; accuracy {s.get('accuracy', 0):.3f}, "
                  f"UF1 {s.get('uf1', 0):.3f}, UAR {s.get('uar', 0):.3f}. "
                  + ("" if self.images is not None else "(pass images=... to see the mistakes)"))
        return fig, status


def training_explorer(predictions, class_names: Sequence[str], images: Callable[[int], np.ndarray] | None = None
                      ) -> TrainingExplorer:
    """The notebook-06/07 explorer (see :class:`TrainingExplorer`)."""
    return TrainingExplorer(predictions, class_names, images)
