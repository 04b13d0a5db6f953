"""Registering a chunk's outputs in B-Fabric (outputs.yml), and setting a workunit's status.

Plain functions over a real ``bfabric.Bfabric`` client; flows wrap them as Prefect tasks.
Behaviour follows bfabric-app-runner's ``outputs register``:

- ``bfabric_copy_resource``: copy the file to the workunit's storage, then save the resource
  ``{name, workunitid, storageid, relativepath, filechecksum, status: available, size}``;
- ``bfabric_dataset``: create the workunit's dataset from a CSV/parquet table, update it when the
  table changed, leave it alone when it did not;
- ``bfabric_link``: a named URL on the workunit (or ``entity_type``/``entity_id``);
- with a ``workflow_template_step_id``: the workflow and workflow step of the workunit.

Every output is looked up before it is saved, so registering twice, or again after a failure
half-way, never creates a second resource, dataset or link. ``update_existing`` decides what an
existing entity means: ``no`` -> error, ``if_exists`` (default) -> update, ``required`` -> error
when there is none. Differences from the app runner, on purpose:

- the resource lookup also runs for ``no`` (which then fails before copying, instead of creating
  a duplicate); the dataset lookup is by workunit *and* name, so two dataset outputs of one
  workunit do not overwrite each other;
- ``ssh_user`` is used for the ``ssh … mkdir`` as well as for ``scp``;
- storages with ``protocol: file``/``local`` (a local folder) are supported besides ``scp``;
- unchanged resources and links are not saved again (reported ``unchanged``).

Registration does not set the workunit's status: call :func:`set_workunit_status` afterwards.
Both functions keep suds' DEBUG logging (which prints whole SOAP envelopes) switched off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from blocks.bfabric import quiet_suds_logging
from specs.bfabric.outputs import OutputSpec
from tasks.bfabric.register.common import RegistrationError
from tasks.bfabric.register.dataset import check_table, register_dataset
from tasks.bfabric.register.link import link_parent, register_link
from tasks.bfabric.register.resource import check_copy_resource, register_resource
from tasks.bfabric.register.storage import load_storage
from tasks.bfabric.register.workflow import register_workflow_step
from tasks.runtime.logs import run_logger

if TYPE_CHECKING:
    from bfabric import Bfabric

__all__ = [
    "REGISTRARS",
    "RegistrationError",
    "WORKUNIT_STATUSES",
    "register_outputs",
    "register_workflow_step",
    "set_workunit_status",
]

#: Statuses a workunit can have; the app runner itself writes processing, available and failed.
WORKUNIT_STATUSES = ("pending", "processing", "available", "failed")


def _outputs(outputs_spec: Any) -> list[Any]:
    """The list of outputs of an ``OutputsSpec``, an outputs.yml path, or a list of outputs (models or dicts)."""
    if isinstance(outputs_spec, (str, Path)):
        from specs.bfabric.outputs import load_outputs

        return list(load_outputs(outputs_spec).outputs)
    outputs = getattr(outputs_spec, "outputs", outputs_spec)
    if not isinstance(outputs, Iterable):
        raise RegistrationError("outputs_spec has no list of outputs")
    outputs = list(outputs)
    if any(isinstance(o, Mapping) for o in outputs):
        from specs.bfabric.outputs import OutputsSpec

        outputs = list(OutputsSpec.model_validate({"outputs": outputs}).outputs)
    return outputs


@dataclass
class _Context:
    """What the registrars of one ``register_outputs`` call share."""

    client: Bfabric
    registration: Any
    ssh_user: str | None
    force_storage: str | Path | Mapping[str, Any] | None
    reuse_placeholder: bool  # fill the pending placeholder resource (the first copied file only)
    storage_loader: Callable[[], Mapping[str, Any]] | None = None
    _storage: dict[str, Any] | None = None

    def storage(self) -> dict[str, Any]:
        """The storage files are copied to (read once, on first use)."""
        if self._storage is None:
            if self.storage_loader is not None:
                self._storage = dict(self.storage_loader())
            else:
                self._storage = load_storage(self.client, int(self.registration.storage_id), self.force_storage)
        return self._storage


def _resource(ctx: _Context, output: Any) -> dict[str, Any]:
    entry = register_resource(ctx.client, output, ctx.registration, ctx.storage(), ssh_user=ctx.ssh_user,
                              reuse_placeholder=ctx.reuse_placeholder)
    ctx.reuse_placeholder = False
    return entry


@dataclass(frozen=True)
class Registrar:
    """How one output type is checked before anything is written, then registered.

    Attributes:
        check: ``(output, registration)``; raises RegistrationError for an output that can't be registered.
        register: ``(context, output) -> record`` of the entity created, updated or left unchanged.
    """

    check: Callable[[Any, Any], object]
    register: Callable[[_Context, Any], dict[str, Any]]


#: Every output type of outputs.yml (by its ``type``), and how it is registered.
REGISTRARS: dict[str, Registrar] = {
    "bfabric_copy_resource": Registrar(lambda output, _reg: check_copy_resource(output), _resource),
    "bfabric_dataset": Registrar(lambda output, _reg: check_table(output),
                                 lambda ctx, output: register_dataset(ctx.client, output, ctx.registration)),
    "bfabric_link": Registrar(link_parent, lambda ctx, output: register_link(ctx.client, output, ctx.registration)),
}

_spec_types = {get_args(m.model_fields["type"].annotation)[0] for m in get_args(get_args(OutputSpec)[0])}
if _spec_types != set(REGISTRARS):
    raise ImportError(f"outputs.yml types without a registrar: {sorted(_spec_types - set(REGISTRARS))}")


def _preflight(outputs: list[Any], registration: Any) -> None:
    """Refuse unknown types, missing files and unsupported protocols before anything is written."""
    for output in outputs:
        kind = getattr(output, "type", None)
        if kind not in REGISTRARS:
            raise RegistrationError(f"unknown output type {kind!r}")
        REGISTRARS[kind].check(output, registration)


def register_outputs(
    client: Bfabric,
    outputs_spec: Any,
    workunit_definition: Any,
    *,
    ssh_user: str | None = None,
    force_storage: str | Path | Mapping[str, Any] | None = None,
    reuse_default_resource: bool = False,
    workflow_template_step_id: int | None = None,
    storage_loader: Callable[[], Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Register every output of ``outputs_spec`` for the workunit of ``workunit_definition``.

    Args:
        client: a real B-Fabric client.
        outputs_spec: a ``specs.bfabric.outputs.OutputsSpec``, the path of an outputs.yml, or a list of
            output entries (spec models, plain dicts, or any objects with the same attributes).
        workunit_definition: a ``specs.bfabric.workunit.WorkunitDefinition``; its ``registration`` is required.
        ssh_user: user for ``ssh``/``scp`` to the storage host.
        force_storage: storage fields (a YAML file or mapping with host, basepath, protocol) to copy
            to instead of the workunit's storage ``registration.storage_id``.
        reuse_default_resource: fill in the workunit's single ``pending`` placeholder resource with
            the first new copied file, as app runners before 0.8 did (off by default, like 0.8+).
        workflow_template_step_id: the app's ``bfabric.workflow_template_step_id``, if any.
        storage_loader: called for the storage to copy to, when a file is copied (default: read
            it, or ``force_storage``, with :func:`~tasks.bfabric.register.storage.load_storage`);
            an app run hands every chunk one loader, so the storage is read once per run.

    Returns:
        One record per entity touched: ``{"entity_type", "id", "name", "action"}`` with action
        ``created``, ``updated`` or ``unchanged``.
    """
    quiet_suds_logging()  # suds would log every envelope, password included, at DEBUG
    registration = getattr(workunit_definition, "registration", None)
    if registration is None:
        raise RegistrationError("the workunit definition has no registration section: nothing can be registered")
    outputs = _outputs(outputs_spec)
    _preflight(outputs, registration)

    ctx = _Context(client, registration, ssh_user, force_storage, reuse_default_resource, storage_loader)
    results = [REGISTRARS[output.type].register(ctx, output) for output in outputs]

    if workflow_template_step_id is not None:
        dataset_id = getattr(getattr(workunit_definition, "execution", None), "dataset", None)
        results += register_workflow_step(client, registration, workflow_template_step_id, dataset_id)
    counts = {a: sum(r["action"] == a for r in results) for a in ("created", "updated", "unchanged")}
    run_logger().info("registered outputs of workunit %s: %s", registration.workunit_id, counts)
    return results


def set_workunit_status(client: Bfabric, workunit_id: int, status: str) -> None:
    """Set the status of workunit ``workunit_id`` (one of :data:`WORKUNIT_STATUSES`)."""
    if status not in WORKUNIT_STATUSES:
        raise ValueError(f"unknown workunit status {status!r} (expected one of {', '.join(WORKUNIT_STATUSES)})")
    quiet_suds_logging()
    client.save("workunit", {"id": int(workunit_id), "status": status})
    run_logger().info("workunit %s is now %s", workunit_id, status)
