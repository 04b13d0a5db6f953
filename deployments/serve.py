"""``python -m deployments.serve``: serve the labflows flows from this process (no work pool).

The quickest way to the Prefect UI: this process registers the deployments ``run-workflow/
run-workflow``, ``launcher/launcher`` (every minute), ``run-app/run-app`` once ``flows/app.py``
exists and, with ``--nightly``, the ``qc-nightly`` schedule example; it then runs their flow runs
itself until stopped with Ctrl-C. It uses ``PREFECT_API_URL`` when set, otherwise the background
server of ``labflows server start`` (started here when none is running).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

DEFAULT_LIMIT = 4


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    p = argparse.ArgumentParser(prog="python -m deployments.serve", description=__doc__.splitlines()[0])
    p.add_argument("--launcher-prefix", default="./.labflows/launcher",
                   help="launcher folder the launcher deployment watches")
    p.add_argument("--workflows-dir", default="workflows", help="folder of <name>.yaml workflow files")
    p.add_argument("--storage", help="local folder standing in for S3, for launched runs")
    p.add_argument("--no-launcher-schedule", action="store_true",
                   help="serve the launcher without its every-minute schedule")
    p.add_argument("--nightly", action="store_true", help="also serve the qc-nightly schedule example")
    p.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="flow runs at once in this process")
    return p


def build_deployments(args: argparse.Namespace) -> list:
    """The deployments to serve, from the parsed options."""
    from deployments.schedules import every_minute, nightly_workflow
    from flows.launcher import launcher
    from flows.workflow import run_workflow

    launcher_params = {"prefix": args.launcher_prefix, "workflows_dir": args.workflows_dir}
    if args.storage:
        launcher_params["storage"] = args.storage
    deployments = [
        run_workflow.to_deployment(name="run-workflow", tags=["labflows"]),
        launcher.to_deployment(name="launcher", tags=["labflows"], parameters=launcher_params,
                               schedule=None if args.no_launcher_schedule else every_minute()),
    ]
    if importlib.util.find_spec("flows.app") is not None:
        from flows.app import run_app

        deployments.append(run_app.to_deployment(name="run-app", tags=["labflows", "bfabric"]))
    if args.nightly:
        deployments.append(nightly_workflow("examples/qc/workflow.yaml", "examples/qc/job.json",
                                            storage="examples/qc/storage"))
    return deployments


def main(argv: list[str] | None = None) -> int:
    """Point at a server, then serve until interrupted."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # PREFECT_API_URL (environment or profile) when set, else labflows' local server (started if needed)
    from flows.cli.api_choice import choose_api
    from flows.cli.errors import UsageError

    try:
        url = choose_api()
    except UsageError as exc:
        sys.exit(f"error: {exc}")
    print(f"using the Prefect server at {url}" if url else "using a temporary Prefect server")

    from prefect import serve

    serve(*build_deployments(args), limit=args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
