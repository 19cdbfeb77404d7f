"""``DatasetError``: the one error the data readers raise for bad input.

It subclasses ``ValueError`` so callers that catch ``ValueError`` keep working, and so the CLI
(``tsfmicro data check``) can print it without a traceback. Messages follow the kit's rule: name the
file, the sheet row (as Excel numbers it) with subject/clip, what is wrong, and the fix.
"""
from __future__ import annotations


class DatasetError(ValueError):
    """A dataset folder or annotation sheet the reader cannot use as it is."""
