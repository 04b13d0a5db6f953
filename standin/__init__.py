"""A local stand-in for a B-Fabric instance, enough for the real ``bfabric`` client, bfabric-scripts and the app runner.

B-Fabric has no public test instance. :class:`standin.server.StandinServer` answers the SOAP
web service (``read``, ``save``, ``delete``) of the endpoints the app runner touches, keeping
entities as generic JSON rows in SQLite. It behaves like B-Fabric where the client's code and docs
show how: ``%`` wildcards, ``createdafter``/``createdbefore``/``modifiedafter``/``modifiedbefore``,
``status`` and ``parentclassname`` in any case (workunit statuses shown upper case), an error for an
unknown query field; saves refused for unknown fields, missing required fields, references to
entities that do not exist and statuses outside the endpoint's set.

Modules: :mod:`standin.schema` (declared fields, required fields, statuses), :mod:`standin.wsdl`,
:mod:`standin.soap`, :mod:`standin.store`, :mod:`standin.entities`, :mod:`standin.query` (read
queries), :mod:`standin.checks` (save checks), :mod:`standin.errors`, :mod:`standin.service`,
:mod:`standin.seed`, :mod:`standin.server`.
"""

from standin.server import DEFAULT_LOGIN, DEFAULT_PASSWORD, StandinServer

__all__ = ["DEFAULT_LOGIN", "DEFAULT_PASSWORD", "StandinServer"]
