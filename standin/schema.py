"""What the stand-in declares for each endpoint: the fields its WSDL announces and how they are stored.

Rows are stored as free-form JSON, so a ``save`` may carry any field; but the real client (suds)
only accepts response elements declared in the XSD, so only the fields listed here are ever sent
back. Field kinds:

- ``string`` / ``long``: a scalar (``long`` comes back as a Python int);
- ``strings``: a list of strings (e.g. an application's ``technology``);
- ``ref``: a reference, stored as ``{"classname": ..., "id": ...}`` and sent back as
  ``<workunit><classname>workunit</classname><id>5</id></workunit>``; a save may give it as
  ``workunitid: 5``, ``workunit: 5`` or ``workunit: {id: 5}``;
- ``nested``: a structure with its own fields (a dataset's ``attribute`` and ``item``).

Fields a *seed* gives that are not declared here (plain text or lists of text) are declared from then
on as well (see :mod:`standin.seed`); a *save* with a field that is not declared is refused, as
B-Fabric refuses it (see :mod:`standin.checks`).

``many=True`` declares ``maxOccurs="unbounded"``. A ``backref`` on a list reference adds, when a
row is read, every row of the target endpoint whose ``backref`` field points at it (so a
workunit lists the resources saved with ``workunitid``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["string", "long", "strings", "ref", "nested"]


@dataclass(frozen=True)
class Field:
    """One declared field of an endpoint's entity type."""

    name: str
    kind: Kind = "string"
    many: bool = False
    targets: tuple[str, ...] = ()
    children: tuple[Field, ...] = ()
    backref: str | None = None

    @property
    def is_list(self) -> bool:
        """Whether the field holds a list (``maxOccurs="unbounded"``)."""
        return self.many or self.kind == "strings"


def s(*names: str) -> list[Field]:
    """String fields."""
    return [Field(n) for n in names]


def n(*names: str) -> list[Field]:
    """Integer (``xs:long``) fields."""
    return [Field(n, "long") for n in names]


def ref(name: str, *targets: str) -> Field:
    """A reference to one entity of ``targets`` (default: the endpoint named like the field)."""
    return Field(name, "ref", targets=targets or (name,))


def refs(name: str, target: str | None = None, backref: str | None = None) -> Field:
    """A list of references, optionally completed by rows of ``target`` pointing back via ``backref``."""
    return Field(name, "ref", many=True, targets=(target or name,), backref=backref)


def nested(name: str, *children: Field, many: bool = True) -> Field:
    """A nested structure."""
    return Field(name, "nested", many=many, children=tuple(children))


CONTAINER = ("project", "order")

#: Fields every entity carries (``errorreport``/``deletionreport`` appear in save/delete answers).
COMMON: list[Field] = [
    *n("id"),
    *s("classname", "name", "description", "status", "created", "createdby", "modified", "modifiedby"),
    nested("customattribute", *s("name", "value")),
    *s("errorreport", "deletionreport"),
]

ENDPOINT_FIELDS: dict[str, list[Field]] = {
    "workunit": [
        ref("application"),
        ref("container", *CONTAINER),
        refs("inputresource", "resource"),
        ref("inputdataset", "dataset"),
        refs("resource", backref="workunit"),
        refs("parameter", backref="workunit"),
        refs("externaljob"),
        ref("storage"),
        *s("applicationversion", "exportable"),
    ],
    "parameter": [
        ref("workunit"),
        ref("executable"),
        *s("key", "label", "value", "context", "type", "required", "modifiable", "enumeration"),
    ],
    "application": [
        ref("storage"),
        ref("executable"),
        Field("technology", "strings"),
        *s("type", "hidden"),
    ],
    "executable": [
        ref("storage"),
        ref("application"),
        refs("parameter", backref="executable"),
        *s("program", "context", "base64", "version", "type", "enabled"),
    ],
    "storage": [*s("host", "basepath", "protocol", "projectfolderprefix", "url", "type")],
    "project": [Field("technology", "strings")],
    "order": [ref("project"), *s("fastasequence")],
    "user": [*s("login", "firstname", "lastname", "email", "empdegree")],
    "resource": [
        ref("workunit"),
        ref("storage"),
        ref("sample"),
        *s("relativepath", "filechecksum", "url", "base64", "type"),
        *n("size"),
    ],
    "dataset": [
        ref("container", *CONTAINER),
        ref("workunit"),
        nested("attribute", *s("name"), *n("position"), *s("type")),
        nested("item", nested("field", *n("attributeposition"), *s("value")), *n("position")),
    ],
    "sample": [ref("container", *CONTAINER), *s("type", "groupingvar", "species")],
    "link": [*s("url", "parentclassname"), *n("parentid")],
    "access": [ref("storage"), ref("user"), *s("type", "url", "protocol", "host", "basepath", "token")],
    "workflow": [
        ref("container", *CONTAINER),
        ref("workflowtemplate"),
        refs("workflowstep", backref="workflow"),
    ],
    "workflowstep": [
        ref("workflow"),
        ref("workflowtemplatestep"),
        ref("supervisor", "user"),
        ref("workunit"),
        ref("dataset"),
        ref("container", *CONTAINER),
    ],
    "workflowtemplatestep": [ref("workflowtemplate")],
    "externaljob": [
        ref("executable"),
        *s("cliententityclassname", "action", "logthis"),
        *n("cliententityid"),
    ],
    "plate": [ref("container", *CONTAINER), refs("sample"), *s("type", "platetype", "barcode")],
    "instrument": [ref("storage"), *s("type", "serialnumber", "manufacturer", "model", "technology")],
    # read-only: the projects and orders together (B-Fabric's common superclass of both)
    "container": [ref("project"), Field("technology", "strings"), *s("type")],
}

#: The endpoints the stand-in serves.
ENDPOINTS: tuple[str, ...] = tuple(ENDPOINT_FIELDS)

#: Endpoints answered from the rows of others (read only): ``container`` lists projects and orders.
VIEWS: dict[str, tuple[str, ...]] = {"container": CONTAINER}

#: Fields a new entity must carry (a reference counts under its field name: ``workunitid`` fills ``workunit``).
#: Taken from what the bfabric client and its scripts always send when they create one.
REQUIRED: dict[str, tuple[str, ...]] = {
    "workunit": ("name", "application", "container"),
    "resource": ("name", "workunit"),
    "sample": ("name", "container"),
    "dataset": ("name", "container"),
    "link": ("name", "url", "parentclassname", "parentid"),
    "parameter": ("key",),
    "project": ("name",),
    "order": ("name",),
    "workflow": ("container", "workflowtemplate"),
    "workflowstep": ("workflow", "workflowtemplatestep"),
    "plate": ("name", "container"),
    "instrument": ("name",),
}

#: The statuses an endpoint accepts (any case on save and in queries; stored as written here).
STATUSES: dict[str, tuple[str, ...]] = {
    "workunit": ("pending", "processing", "importing", "waiting", "available", "failed"),
    "resource": ("pending", "processing", "importing", "available", "failed", "archived"),
    "externaljob": ("new", "pending", "processing", "running", "done", "failed", "cancelled"),
}

#: Endpoints whose status B-Fabric sends back in upper case (``PENDING``), as bfabric-scripts expect.
UPPER_CASE_STATUS: frozenset[str] = frozenset({"workunit"})

#: Query and save fields compared without regard to case (``parentclassname: workunit`` finds ``Workunit``).
CASE_INSENSITIVE: frozenset[str] = frozenset({"status", "parentclassname", "cliententityclassname"})


@dataclass(frozen=True)
class EntityType:
    """All declared fields of one endpoint, by name."""

    endpoint: str
    fields: tuple[Field, ...] = field(default_factory=tuple)

    def get(self, name: str) -> Field | None:
        """The declared field ``name``, if any."""
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def ref_field_for(self, key: str) -> Field | None:
        """The reference field a save key such as ``workunitid`` (or ``workunit``) stands for."""
        f = self.get(key)
        if f is not None and f.kind == "ref":
            return f
        if key.endswith("id"):
            f = self.get(key[:-2])
            if f is not None and f.kind == "ref":
                return f
        return None


def entity_type(endpoint: str, extra: dict[str, bool] | None = None) -> EntityType:
    """The declared type of ``endpoint`` (common fields first), plus ``extra`` text fields (name -> is a list)."""
    if endpoint not in ENDPOINT_FIELDS:
        raise KeyError(f"unknown endpoint {endpoint!r}")
    fields = COMMON + ENDPOINT_FIELDS[endpoint]
    known = {f.name for f in fields}
    added = [Field(name, many=many) for name, many in sorted((extra or {}).items()) if name not in known]
    return EntityType(endpoint, tuple(fields + added))


def extra_field_kind(value: object) -> bool | None:
    """For an undeclared seeded value: None if it cannot be declared (a structure), else whether it is a list."""
    scalars = (str, int, float, bool)
    if isinstance(value, scalars):
        return False
    if isinstance(value, list) and all(isinstance(v, scalars) for v in value):
        return True
    return None
