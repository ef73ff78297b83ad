"""``python -m fusion``: see :mod:`fusion.cli`."""

import sys

from fusion.cli import main

sys.exit(main())
