"""edgevid: export, benchmark and report video action-recognition models across devices.

``exporters/`` and ``runners/`` sit at the top of the repository and install as
``edgevid.exporters`` / ``edgevid.runners`` (package-dir mapping; the development install is
setuptools' strict editable mode, a tree of links that static tools follow). When Python finds
this folder in a source checkout instead -- ``python -m ...`` run from the repository root puts
the root first on ``sys.path`` -- the two packages are found beside it, under the same names.
"""

import os as _os

__version__ = "0.1.0"

_here = _os.path.dirname(_os.path.abspath(__file__))
_root = _os.path.dirname(_here)
if not _os.path.isdir(_os.path.join(_here, "runners")) and _os.path.isfile(
    _os.path.join(_root, "runners", "__init__.py")
):
    __path__.append(_root)  # noqa: F821 - edgevid.runners -> <root>/runners, same for exporters

from .runners.telemetry import off as _telemetry_off  # noqa: E402

_telemetry_off()  # before any runtime is imported: runners/telemetry.py
