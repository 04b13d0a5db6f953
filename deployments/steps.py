"""Deployment steps of ``prefect.yaml`` that Prefect does not ship.

:func:`checkout` is the build step: it notes where the checkout is (the pull step works there) and
the command that starts a flow run's engine with this checkout's Python. Given that command, a
process worker starts the engine directly (which runs the pull steps); without one, Prefect 3.8's
worker starts a workspace supervisor process that imports Prefect and runs the pull steps, then the
engine in a second process that imports Prefect again (bench/README.md, "Deployment runs").
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


def checkout() -> dict[str, str]:
    """Build step: the checkout and the engine command of the Python that runs ``prefect deploy``.

    Returns:
        ``directory`` (the working directory, the checkout) and ``engine_command``
        (``<python> -m prefect.engine``, shell-quoted) for the work pool's ``command`` job variable.
    """
    return {"directory": str(Path.cwd()), "engine_command": shlex.join([sys.executable, "-m", "prefect.engine"])}
