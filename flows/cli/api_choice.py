"""Which Prefect API a command that runs flows talks to, chosen once before it starts.

1. ``PREFECT_API_URL`` configured anywhere Prefect reads settings (environment, profile, ``.env``,
   ``prefect.toml``): that server, never one of ours; when it doesn't answer, one line naming the
   setting, where it points and the fix (``UsageError``, exit 2).
2. ``--no-server`` or ``LABFLOWS_EPHEMERAL=1``: Prefect's temporary server in this process (its
   database set-up skipped when the local server recorded it as done, ``flows.cli.server_setup``).
3. Otherwise the local server of ``flows.cli.local_server``, started on first use.
"""

from __future__ import annotations

import os
import sys

from flows.cli import local_server, server_setup
from flows.cli.errors import UsageError


def import_while_the_server_starts() -> None:
    """Import what a run will need while the local server this command started is still starting.

    The server's start (seconds of CPU on one core) is the longest part of a first run; the other
    core would otherwise idle while this process waits. Stops as soon as the server answers.
    """
    import importlib

    from flows.cli.warm_runner import WARM_MODULES

    for name in WARM_MODULES:
        if local_server.early_server_answers():
            return
        importlib.import_module(name)


def configured_api_url() -> str | None:
    """The ``PREFECT_API_URL`` Prefect's settings hold (from any source), or None."""
    from prefect.settings import get_current_settings

    return get_current_settings().api.url or None


def api_url_setting() -> tuple[str, str]:
    """Where the configured ``PREFECT_API_URL`` comes from, and how to remove it (``run `…```)."""
    from prefect.settings import get_current_settings
    from prefect.settings.profiles import load_current_profile

    if os.environ.get("PREFECT_API_URL"):
        return "the environment variable PREFECT_API_URL", "run `unset PREFECT_API_URL`"
    profile = load_current_profile()
    if any(getattr(key, "name", key) == "PREFECT_API_URL" for key in profile.settings):
        path = get_current_settings().profiles_path
        return f"PREFECT_API_URL in Prefect profile {profile.name!r} ({path})", "run `prefect config unset PREFECT_API_URL`"
    return ("PREFECT_API_URL (from a .env, prefect.toml or pyproject.toml in the current directory)",
            "remove it from that file")


def api_url_problem() -> str | None:
    """One line when the configured ``PREFECT_API_URL`` does not answer: which setting, where, the fix.

    Without it, every command that talks to Prefect ends in a long ``Failed to reach API`` traceback.
    None when no URL is configured or the server answers.
    """
    url = configured_api_url()
    if not url or local_server.is_healthy(url, timeout=2.0):
        return None
    where, fix = api_url_setting()
    return (f"{where} points to {url}, which does not answer: start that server (prefect server start) "
            f"or {fix} so that labflows starts its own")


def choose_api(no_server: bool = False, start_warm_runner: bool = False) -> str | None:
    """Point this process (and its children) at the API to use; the URL, or None for a temporary server.

    Args:
        no_server: the command's ``--no-server``: Prefect's temporary server, as ``LABFLOWS_EPHEMERAL=1``.
        start_warm_runner: with the local server, also start a warm runner in the background
            (``flows.cli.warm_runner``) so that the next run skips the imports.

    Raises:
        UsageError: the configured API does not answer.
    """
    problem = api_url_problem()
    if problem:
        raise UsageError(problem)
    url = configured_api_url()
    if url:
        return url
    if no_server or local_server.ephemeral_requested():
        # the temporary server uses the home's database too: a start the local server recorded as set up
        # need not repeat the migrations' check and block registration (seconds of CPU the run waits for)
        server_setup.skip_setup_of_temporary_server(local_server.prefect_home())
        return None
    if local_server.starting_early():
        import_while_the_server_starts()
    try:
        state = local_server.ensure_server()
    except RuntimeError as exc:  # a run should not fail because the shared server could not start
        print(f"warning: {exc}; this run uses a temporary Prefect server", file=sys.stderr)
        return None
    if start_warm_runner:
        from flows.cli.warm_client import spawn_runner

        spawn_runner()  # before PREFECT_API_URL is set: the runner's children choose their API themselves
    os.environ["PREFECT_API_URL"] = state["url"]  # inherited by subprocesses (steps, Dask workers)
    from prefect.context import refresh_global_settings_context

    refresh_global_settings_context()  # settings were read when Prefect was imported
    return state["url"]
