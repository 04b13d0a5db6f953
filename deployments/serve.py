"""``python -m deployments.serve``: serve the labflows flows from this process (no work pool).

The quickest way to the Prefect UI: this process registers the deployments ``run-workflow/
run-workflow``, ``launcher/launcher`` (its hourly sweep paused), ``run-app/run-app`` once
``flows/app.py`` exists and, with ``--nightly``, the ``qc-nightly`` schedule example; it then runs
their flow runs itself until stopped with Ctrl-C, and watches the launcher folder in a thread
(as ``labflows launch --watch``: a launcher run only when a job file is new). It uses ``PREFECT_API_URL`` when set, otherwise the background
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
    p.add_argument("--no-watch", action="store_true",
                   help="do not watch the launcher folder (launch with `prefect deployment run launcher/launcher`)")
    p.add_argument("--nightly", action="store_true", help="also serve the qc-nightly schedule example")
    p.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="flow runs at once in this process")
    return p


def build_deployments(args: argparse.Namespace) -> list:
    """The deployments to serve, from the parsed options."""
    from deployments.schedules import launcher_sweep, nightly_workflow
    from flows.launcher import launcher
    from flows.workflow import run_workflow

    launcher_params = {"prefix": args.launcher_prefix, "workflows_dir": args.workflows_dir}
    if args.storage:
        launcher_params["storage"] = args.storage
    deployments = [
        run_workflow.to_deployment(name="run-workflow", tags=["labflows"]),
        launcher.to_deployment(name="launcher", tags=["labflows"], parameters=launcher_params,
                               schedule=launcher_sweep()),
    ]
    if importlib.util.find_spec("flows.app") is not None:
        from flows.app import run_app

        deployments.append(run_app.to_deployment(name="run-app", tags=["labflows", "bfabric"]))
    if args.nightly:
        deployments.append(nightly_workflow("examples/qc/workflow.yaml", "examples/qc/job.json",
                                            storage="examples/qc/storage"))
    return deployments


def _start_watcher(args: argparse.Namespace) -> None:
    """Watch the launcher folder in a daemon thread (it ends with the process)."""
    import threading

    from flows.launcher import watch_launcher

    watcher = watch_launcher(args.launcher_prefix, workflows_dir=args.workflows_dir, storage=args.storage)
    threading.Thread(target=watcher.run, name="launcher-watch", daemon=True).start()
    print(f"watching {args.launcher_prefix} for job files")


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

    if not args.no_watch:
        _start_watcher(args)
    serve(*build_deployments(args), limit=args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
