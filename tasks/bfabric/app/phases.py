"""The phases of a B-Fabric app run (bfabric-app-runner's ``action`` commands) and the chunk steps of each.

Kept free of heavy imports: the command line reads these names while it builds its parser.
"""

from __future__ import annotations

__all__ = ["ACTIONS", "CHUNK_STEPS", "PHASE_STEPS", "PHASE_STATUS"]

#: The steps of a chunk, in order; the app-runner's ``outputs`` phase is collect + register.
CHUNK_STEPS: tuple[str, ...] = ("inputs", "process", "collect", "register")

#: The actions, in the order a workunit goes through them (``run-all`` is all of them).
ACTIONS: tuple[str, ...] = ("dispatch", "inputs", "process", "outputs", "run-all")

#: The chunk steps of each action (dispatch has none: it makes the chunks).
PHASE_STEPS: dict[str, tuple[str, ...]] = {
    "dispatch": (),
    "inputs": ("inputs",),
    "process": ("process",),
    "outputs": ("collect", "register"),
    "run-all": CHUNK_STEPS,
}

#: The workunit status an action writes (unless read-only or limited to one chunk); none writes ``failed``.
PHASE_STATUS: dict[str, str | None] = {
    "dispatch": "processing",
    "inputs": None,
    "process": None,
    "outputs": "available",
    "run-all": "available",
}
