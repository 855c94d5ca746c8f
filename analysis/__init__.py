"""rad3d: revenue impact and LCD-threshold screening of 3D rendering (CPT 76376/76377).

Import the package as ``analysis``; the public functions are re-exported here.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from analysis.errors import InputError

try:
    __version__ = version("rad3d")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = ["InputError", "__version__"]
