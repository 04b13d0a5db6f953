"""A local stand-in for a B-Fabric instance, enough for the real ``bfabric`` client and the app runner.

B-Fabric has no public test instance. :class:`standin.server.StandinServer` answers the SOAP
web service (``read``, ``save``, ``delete``) of the endpoints the app runner touches, keeping
entities as generic JSON rows in SQLite. Modules: :mod:`standin.schema` (declared fields),
:mod:`standin.wsdl`, :mod:`standin.soap`, :mod:`standin.store`, :mod:`standin.entities`,
:mod:`standin.service`, :mod:`standin.seed`, :mod:`standin.server`.
"""

from standin.server import DEFAULT_LOGIN, DEFAULT_PASSWORD, StandinServer

__all__ = ["DEFAULT_LOGIN", "DEFAULT_PASSWORD", "StandinServer"]
