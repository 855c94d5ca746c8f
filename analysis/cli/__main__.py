"""``python -m analysis.cli``: the same as the ``rad3d`` command."""

import sys

from analysis.cli import main

sys.exit(main())
