"""BayerCLAW's ``image: NAME +auth: SECRET``: log the container engine in to the image's registry.

The credentials come from a Prefect ``Secret`` block named SECRET whose value is
``{"username": …, "password": …}`` (a dict or its JSON text), the shape of the AWS secret
BayerCLAW reads. The password reaches the engine on stdin only.
"""

from __future__ import annotations

import json
from typing import Any

from tasks.runtime.executors import ContainerExecutor, get_executor

DOCKER_HUB = "docker.io"


def registry_of(image: str) -> str:
    """The registry host of an image reference (``docker.io`` when the first part is no host)."""
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return DOCKER_HUB


def credentials(value: Any, secret_name: str) -> tuple[str, str]:
    """``(username, password)`` from a Secret block's value.

    Raises:
        ValueError: The value is not ``{"username": str, "password": str}`` (the message names the
            secret, never its content).
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not (isinstance(value, dict) and isinstance(value.get("username"), str)
            and isinstance(value.get("password"), str)):
        raise ValueError(f'secret {secret_name!r}: expected {{"username": …, "password": …}}')
    return value["username"], value["password"]


def login_for_image(image: str, secret_name: str, executor: str) -> None:
    """Log ``executor``'s engine in to ``image``'s registry with the Secret block ``secret_name``.

    Nothing happens for executors that run no container (``local``).
    """
    engine = get_executor(executor)
    if not isinstance(engine, ContainerExecutor):
        return
    from prefect.blocks.system import Secret

    username, password = credentials(Secret.load(secret_name).get(), secret_name)
    engine.login(registry_of(image), username, password)
