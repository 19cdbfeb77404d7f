"""The one reference entry for the paper (tsfmicro_lite.reference): authors, title and identifier as published."""
from __future__ import annotations

from tsfmicro_lite.reference import BIBTEX, CITATION, PAPER


def test_the_entry_is_the_papers():
    assert PAPER.authors == ("Feng Liu", "Bingyu Nan", "Xuezhong Qian", "Xiaolan Fu")
    assert PAPER.title == "Temporal and Spatial Feature Fusion Framework for Dynamic Micro Expression Recognition"
    assert PAPER.arxiv == "2505.16372" and PAPER.url == "https://arxiv.org/abs/2505.16372"


def test_citation_and_bibtex_are_made_from_the_entry():
    assert CITATION.startswith("F. Liu, B. Nan, X. Qian, X. Fu. *Temporal and Spatial Feature Fusion")
    assert "arXiv:2505.16372, 2025" in CITATION and CITATION.endswith(".")
    assert "author = {Feng Liu and Bingyu Nan and Xuezhong Qian and Xiaolan Fu}" in BIBTEX
    assert "eprint = {2505.16372}" in BIBTEX
