"""Sphinx configuration of the course website (``make site``): MyST-NB renders the executed notebooks.

``tools/build_site.py`` stages this file, ``index.md``, the README and its figures, the executed
quick-profile notebooks and the assignments' student copies into ``build/site-src`` and runs
``sphinx-build`` there; nothing is executed by Sphinx itself (``nb_execution_mode = "off"``).
"""
project = "tsfmicro-lite: the course"
author = "tsfmicro-lite"
copyright = "tsfmicro-lite contributors (MIT); results shown are on SynthME, synthetic data"

extensions = ["myst_nb"]
nb_execution_mode = "off"          # the notebooks arrive executed (papermill, quick profile)
nb_output_stderr = "remove-warn"   # keep stdout and figures; drop warnings' stderr noise
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]

html_theme = "sphinx_book_theme"
html_title = "tsfmicro-lite course"
html_theme_options = {"show_toc_level": 2, "use_download_button": False, "use_fullscreen_button": False}
html_static_path: list[str] = []
html_last_updated_fmt = ""
