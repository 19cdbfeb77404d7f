"""Seeding, so a CPU run is repeatable bit for bit."""
from __future__ import annotations

import random

import numpy as np


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) with one number."""
    import torch  # lazy: utils is imported by torch-free code (data, preprocessing); `import tsfmicro_lite` stays fast

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
