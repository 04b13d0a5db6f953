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

_NAMES_A_REGISTRY = re.compile(r"^.*[.:].*/")  # upstream's test: a '.' or ':' somewhere before a '/'


def names_a_registry(image: str) -> bool:
    """True when ``image`` names its registry host (BayerCLAW leaves such names as written)."""
    return bool(_NAMES_A_REGISTRY.match(image))


def registry_image(image: str, registry: str | None) -> str:
    """``image`` in ``registry`` when a registry is configured and the name has none of its own."""
    if not registry or names_a_registry(image):
        return image
    return f"{registry.strip().rstrip('/')}/{image}"
