"""The one error type of the stand-in's service: a request B-Fabric would refuse."""

from __future__ import annotations


class ServiceError(Exception):
    """A request B-Fabric would refuse; answered with an ``errorreport`` the client raises as an error."""
