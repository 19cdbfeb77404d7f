"""tsfmicro-lite: a teaching and reproduction kit for TSFmicro (arXiv 2505.16372)."""

__version__ = "0.1.0"
