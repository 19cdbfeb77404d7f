"""The one reference entry for the TSFmicro paper, used by every notebook's References, the README and docs.

Notebooks cite the paper with :data:`CITATION` verbatim (``tests/integration/test_notebooks.py`` checks it,
and fails on author lists seen wrong before, such as "Z. Liu, Y. Nan"); :data:`BIBTEX` is for papers.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Reference", "PAPER", "CITATION", "BIBTEX"]


@dataclass(frozen=True)
class Reference:
    """One bibliographic entry: authors as written in the paper, title, arXiv identifier, year, official code."""

    authors: tuple[str, ...]
    title: str
    arxiv: str
    year: int
    code: str = ""
    short: str = ""

    @property
    def url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv}"

    def initials(self) -> str:
        """``"F. Liu, B. Nan, X. Qian, X. Fu"``: each first name cut to its initial."""
        return ", ".join(f"{first[0]}. {last}" for first, last in (a.rsplit(" ", 1) for a in self.authors))

    def markdown(self) -> str:
        """The one-line Markdown citation the notebooks use (their References list)."""
        short = f" ({self.short})" if self.short else ""
        code = f"; official code {self.code}" if self.code else ""
        return f"{self.initials()}. *{self.title}*{short}, arXiv:{self.arxiv}, {self.year}{code}."

    def bibtex(self, key: str = "liu2025tsfmicro") -> str:
        return (f"@misc{{{key},\n  author = {{{' and '.join(self.authors)}}},\n  title = {{{self.title}}},\n"
                f"  year = {{{self.year}}},\n  eprint = {{{self.arxiv}}},\n  archivePrefix = {{arXiv}},\n}}")


PAPER = Reference(
    authors=("Feng Liu", "Bingyu Nan", "Xuezhong Qian", "Xiaolan Fu"),
    title="Temporal and Spatial Feature Fusion Framework for Dynamic Micro Expression Recognition",
    arxiv="2505.16372",
    year=2025,
    code="Cross-Innovation-Lab/TSFmicro",
    short="TSFmicro",
)
CITATION = PAPER.markdown()
BIBTEX = PAPER.bibtex()
