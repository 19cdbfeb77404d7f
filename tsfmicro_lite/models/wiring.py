"""Look inside a variant: its wiring graph with tensor shapes, read from the model itself, and its cost.

``trace_wiring(model)`` traces the model symbolically with ``torch.fx`` (branch stages, ViT blocks,
fusion ops and the head are kept whole), runs one real input through it to record every shape,
and keeps only the nodes a diagram needs: inputs, modules and the additions where streams meet.
``variant_stages(variant)`` is the plain list (stage name, shape) the notebook-05 explorer uses;
``viz.models.draw_wiring`` draws the graph.
"""
from __future__ import annotations

import operator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
import torch.fx
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp
from torch.utils.flop_counter import FlopCounterMode

from .factory import build_model, count_parameters
from .fusion import AddFuse, ConcatFuse, CrossAttentionFuse, FusionHead, GateFuse, TSFModel, Upsample
from .rmt import ConvStem, RMTStage
from .sequence import FrameRetention
from .vit import Block, PatchEmbed, Thumbnail

LEAVES = (ConvStem, RMTStage, Thumbnail, PatchEmbed, Block, nn.LayerNorm, FusionHead, Upsample,
          AddFuse, ConcatFuse, GateFuse, CrossAttentionFuse, FrameRetention)
_MERGES = {operator.add: "+", torch.add: "+", operator.mul: "×", torch.cat: "concat"}


@dataclass
class WiringNode:
    name: str                      # module path ("temporal.stages.0") or op name ("add_1")
    label: str                     # short human label ("RMT stage 1", "+")
    lane: str                      # "spatial" | "temporal" | "fusion"
    shape: tuple[int, ...]         # output shape for the traced input
    depth: int = 0                 # longest path from an input (x position in the diagram)


@dataclass
class Wiring:
    variant: str
    nodes: list[WiringNode] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)

    def stages(self) -> list[tuple[str, tuple[int, ...]]]:
        """(label, shape) in execution order."""
        return [(n.label, n.shape) for n in self.nodes]


class _Tracer(torch.fx.Tracer):
    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, LEAVES) or super().is_leaf_module(m, qualname)


class _Whole(nn.Module):
    """forward = head(forward_features(...)["fused"]) without the input check (not symbolically traceable)."""

    def __init__(self, model: TSFModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, onset: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
        return self.model.head(self.model.forward_features(onset, motion)["fused"])


def _label(name: str) -> str:
    parts = name.split(".")
    if parts[0] in ("onset", "motion"):
        return {"onset": "onset frame", "motion": "motion (apex − onset)"}[parts[0]]
    if "stages" in parts:
        k = int(parts[parts.index("stages") + 1]) + 1
        return f"RMT stage {k}" + (" + down" if k < 4 else "")
    if parts[-1] == "stem" or parts[0].startswith("stem_"):
        return {"stem_onset": "conv stem (onset)", "stem_motion": "conv stem (motion)"}.get(parts[0], "conv stem")
    if "blocks" in parts:
        return f"ViT block {int(parts[-1]) + 1}"
    return {"thumbnail": "resize to thumbnail", "patch_embed": "patch embed (k1)", "pos_embed": "pos-emb",
            "norm": "ViT final LN", "head": "fusion head (b)", "fuse": "fuse op", "upsample": "3× ConvTranspose",
            "temporal_mixer": "retention over frames"}.get(parts[-1], name)


def _lane(name: str, input_lanes: set[str]) -> str:
    if name.startswith(("temporal", "stem_motion", "motion")):
        return "temporal"
    if name.startswith(("spatial", "stem_onset", "onset", "upsample")):
        return "spatial"
    if len(input_lanes) == 1 and name.startswith(("add", "mul", "cat")):
        return next(iter(input_lanes))
    return "fusion"


def trace_wiring(model: TSFModel, onset: torch.Tensor | None = None, motion: torch.Tensor | None = None) -> Wiring:
    """The data-flow graph of ``model`` with the shape of every kept node, for one (default random) input."""
    c = model.config
    if onset is None:
        onset = torch.randn(1, c.onset_channels, c.img_size, c.img_size)
    if motion is None:
        motion = torch.randn(1, c.motion_channels, c.img_size, c.img_size)
    root = _Whole(model)
    graph = _Tracer().trace(root)
    gm = torch.fx.GraphModule(root, graph)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        ShapeProp(gm).propagate(onset, motion)
    model.train(was_training)

    wiring = Wiring(c.variant)
    keyed: dict[str, list[str]] = {}     # fx node -> kept nodes feeding it (glue ops are see-through)
    by_name: dict[str, WiringNode] = {}
    for node in gm.graph.nodes:
        inputs = [a for a in node.all_input_nodes]
        sources = sorted({s for a in inputs for s in keyed.get(a.name, [])}, key=list(by_name).index)
        target = str(node.target).removeprefix("model.")
        keep = (node.op == "placeholder" or node.op == "call_module"
                or (node.op == "get_attr" and "pos_embed" in target)
                or (node.op == "call_function" and node.target in _MERGES and len(sources) > 1))
        if not keep:
            keyed[node.name] = sources
            continue
        meta = node.meta.get("tensor_meta")
        shape = tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else ()
        name = target if node.op != "call_function" else node.name
        label = _MERGES[node.target] if node.op == "call_function" else _label(name)
        lane = _lane(name, {by_name[s].lane for s in sources})
        depth = 1 + max((by_name[s].depth for s in sources), default=-1)
        wn = WiringNode(name, label, lane, shape, depth)
        by_name[name] = wn
        wiring.nodes.append(wn)
        wiring.edges += [(s, name) for s in sources]
        keyed[node.name] = [name]
    used = {a for a, _ in wiring.edges}
    wiring.nodes = [n for n in wiring.nodes if n.name in used or n.name == "head"]  # drop unused inputs
    for n in wiring.nodes:  # parameters (pos-emb) sit just before the node that consumes them
        if n.depth == 0 and n.name not in ("onset", "motion"):
            n.depth = min(by_name[b].depth for a, b in wiring.edges if a == n.name) - 1
        if n.name == "fuse":
            n.label = f"fuse: {c.fusion_op}"
    return wiring


def variant_stages(variant: str, preset: str = "tiny", num_classes: int = 5, **overrides
                   ) -> list[tuple[str, tuple[int, ...]]]:
    """(stage name, tensor shape) in execution order for one variant, traced from a freshly built model."""
    return trace_wiring(build_model(variant, num_classes, preset=preset, **overrides)).stages()


def model_cost(model: TSFModel, batch_size: int = 1) -> dict[str, float]:
    """Parameters and forward GFLOPs per sample (matmuls and convolutions, 2 FLOPs per multiply-add).

    Counted by PyTorch's ``FlopCounterMode``, which does not see inside the CPU flash-attention kernel
    that ``F.scaled_dot_product_attention`` uses without a mask; so the count runs the written-out
    attention paths (same arithmetic) and restores the fused ones afterwards.
    """
    c = model.config
    onset = torch.randn(batch_size, c.onset_channels, c.img_size, c.img_size)
    motion = torch.randn(batch_size, c.motion_channels, c.img_size, c.img_size)
    with _written_out(model), FlopCounterMode(display=False) as counter:
        model(onset, motion)
    return {"params": count_parameters(model), "gflops_fwd": counter.get_total_flops() / batch_size / 1e9}


@contextmanager
def _written_out(model: nn.Module):
    """Eval mode, no grad, and the written-out attention paths (which ``FlopCounterMode`` sees); restored after."""
    switches = [(m, name, getattr(m, name)) for m in model.modules() for name in ("fused", "use_sdpa")
                if isinstance(getattr(m, name, None), bool)]
    was_training = model.training
    model.eval()
    try:
        for m, name, _ in switches:
            setattr(m, name, False)
        with torch.no_grad():
            yield model
    finally:
        for m, name, value in switches:
            setattr(m, name, value)
        model.train(was_training)


def rmt_parts(rmt: nn.Module) -> dict[str, nn.Module]:
    """An RMT branch's parts in execution order: ``"stem"``, ``"stage i blocks"`` and ``"downsample i"``
    (stages without one have none), the rows of notebook 03's budget table and of :func:`rmt_part_cost`."""
    parts: dict[str, nn.Module] = {"stem": rmt.stem}
    for i, stage in enumerate(rmt.stages, start=1):
        parts[f"stage {i} blocks"] = stage.blocks
        if not isinstance(stage.downsample, nn.Identity):
            parts[f"downsample {i}"] = stage.downsample
    return parts


def rmt_part_cost(rmt: nn.Module, x: torch.Tensor) -> dict[str, float]:
    """Forward GFLOPs per sample of each of :func:`rmt_parts` on input ``x`` (B, C, S, S), counted like
    :func:`model_cost`, in execution order.

    Used in notebooks/03_temporal_branch.ipynb, section "4. The parameter budget" (where the compute sits).
    """
    cost: dict[str, float] = {}
    with _written_out(rmt):
        h = x
        for name, part in rmt_parts(rmt).items():
            with FlopCounterMode(display=False) as counter:
                for module in (part if isinstance(part, nn.ModuleList) else [part]):
                    h = module(h)
            cost[name] = counter.get_total_flops() / x.shape[0] / 1e9
    return cost
