"""The labflows command line: ``python -m flows.run COMMAND …`` (also installed as ``labflows``).

The commands live in :mod:`flows.cli`; this module is the stable entry point.
"""

import sys

from flows.cli.main import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
