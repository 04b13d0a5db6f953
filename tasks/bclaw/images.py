"""BayerCLAW's image names: a bare name means an image in the account's own ECR registry.

BayerCLAW's compiler rewrites an image name that names no registry host to
``<account>.dkr.ecr.<region>.amazonaws.com/<name>``. Its rule (``expand_image_uri`` upstream): a
name in which a ``.`` or ``:`` comes before a ``/`` names a registry (``docker.io/library/ubuntu``,
``host:5000/tool``) and stays as written; anything else (``ubuntu``, ``tool:${job.version}``,
``myorg/tool:1.0``) is prefixed. labflows runs on machines without an account's ECR, so it rewrites
only when ``Options: ecr_registry:`` names the registry; without it every name is used as written.
"""

from __future__ import annotations

import re
from typing import Any

from tasks.bclaw.substitution import Resolver, substitute_image_tag

_NAMES_A_REGISTRY = re.compile(r"^.*[.:].*/")  # upstream's test: a '.' or ':' somewhere before a '/'


def names_a_registry(image: str) -> bool:
    """True when ``image`` names its registry host (BayerCLAW leaves such names as written)."""
    return bool(_NAMES_A_REGISTRY.match(image))


def registry_image(image: str, registry: str | None) -> str:
    """``image`` in ``registry`` when a registry is configured and the name has none of its own."""
    if not registry or names_a_registry(image):
        return image
    return f"{registry.strip().rstrip('/')}/{image}"


# a registry host with an optional port and path prefix: what may go in front of an image name
_REGISTRY = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._/-][a-z0-9]+)*)?/?$")


class RegistryNameError(ValueError):
    """A registry (``--image-registry``) that is not ``HOST[:PORT][/PATH]``."""


def check_registry(registry: str) -> str:
    """``registry`` when it is ``HOST[:PORT][/PATH]``; else :class:`RegistryNameError` naming it."""
    if len(registry) > 255 or not _REGISTRY.match(registry):
        raise RegistryNameError(f"image registry {registry!r}: use HOST[:PORT][/PATH], e.g. "
                                "123456789012.dkr.ecr.eu-central-1.amazonaws.com")
    return registry


def step_image(image: str, registry: str | None, resolve: Resolver) -> str:
    """The image a step runs: rewritten into ``registry`` by the name as written, then job data in
    its tag (BayerCLAW's order)."""
    return substitute_image_tag(registry_image(image, registry), resolve)


def with_registry(wf: Any, registry: str | None) -> Any:
    """``wf`` with ``Options.ecr_registry`` replaced by ``registry`` (``--image-registry``); as it is
    without one."""
    if not registry:
        return wf
    return wf.model_copy(update={"options": wf.options.model_copy(update={"ecr_registry": registry})})
