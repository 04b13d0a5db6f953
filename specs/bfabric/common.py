"""Pieces shared by the B-Fabric spec formats (inputs, outputs, chunks, workunit definitions)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from specs.source import Loc, Problem, SourceDoc, SpecError, load_yaml_file
from specs.suggest import closest, did_you_mean

ModelT = TypeVar("ModelT", bound=BaseModel)


class SpecModel(BaseModel):
    """Base of every B-Fabric spec model that maps a part of a file."""


class StrictModel(SpecModel):
    """A spec model whose unknown keys are errors (they are usually typos).

    Used where bfabric-app-runner's own model forbids extra keys (``extra="forbid"``).
    """

    model_config = ConfigDict(extra="forbid")


class LenientModel(SpecModel):
    """A spec model whose unknown keys are accepted and ignored.

    Used where bfabric-app-runner's model keeps pydantic's default (``extra="ignore"``), so that
    files written for it (``submitter:`` under ``versions[]``, ``reuse_default_resource``) load
    unchanged; :func:`ignored_keys_notice` tells the user which keys had no effect.
    """

    model_config = ConfigDict(extra="ignore")


def _relative_file_path(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    if value.startswith("/"):
        raise ValueError(f"must be a relative path, not {value!r}")
    if ":" in value:
        raise ValueError(f"must not contain ':' ({value!r})")
    if ".." in Path(value).parts:
        raise ValueError(f"must not leave the target directory ('..' in {value!r})")
    return value


RelativeFilePath = Annotated[str, AfterValidator(_relative_file_path)]
"""A path below the target directory: not absolute, no ``..``, no ``:``."""


def _absolute_file_path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"must be an absolute path, not {value!r}")
    return value


AbsoluteFilePath = Annotated[str, AfterValidator(_absolute_file_path)]
"""An absolute path (``/…``)."""


def _data_loc(data: Any, loc: Loc, missing: bool) -> Loc:
    """``loc`` without the parts pydantic adds that are not in the document (union and discriminator tags).

    A string part is kept when it is a key of the mapping reached so far, or, for a ``missing``
    error, when it is the last part; any other string part is a tag.
    """
    kept: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        if isinstance(part, int):
            kept.append(part)
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            continue
        keys = {str(k).lower(): k for k in node} if isinstance(node, dict) else None
        if keys is not None and part.lower() in keys:
            kept.append(part)
            node = node[keys[part.lower()]]
        elif keys is not None and missing and i == len(loc) - 1:
            kept.append(part)
    return tuple(kept)


def problems_from(doc: SourceDoc, exc: ValidationError, prefix: Loc = (), model: type | None = None) -> list[Problem]:
    """Like :meth:`SourceDoc.problems_from`, but located by the document's own keys.

    pydantic puts the tag of a discriminated union (``inputs[0].file.source``) into error
    locations; those parts are dropped so that the line, column and path point at the YAML.
    """
    out = []
    for err, problem in zip(exc.errors(include_url=False), doc.problems_from(exc, prefix, model)):
        loc = _data_loc(doc.data, prefix + tuple(err["loc"]), missing=err["type"] == "missing")
        message = problem.message
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            # point at the discriminator key itself ('type' of a list entry)
            tag_key = str(err.get("ctx", {}).get("discriminator", "")).strip("'")
            expected = err.get("ctx", {}).get("expected_tags", "")
            if err["type"] == "union_tag_invalid":
                loc += (tag_key,)
                message = f"unknown {tag_key} {err['ctx'].get('tag')!r}; expected one of: {expected}"
            else:
                message = f"required key '{tag_key}' is missing"
        elif err["type"] == "missing" and loc:
            message += _misspelt_as(doc.data, loc)
        line, col = doc.position(loc, key=err["type"] == "extra_forbidden")
        out.append(Problem(problem.file, line, col, doc.spelled(loc), message))
    return out


def model_from_doc(doc: SourceDoc, model: type[ModelT]) -> ModelT:
    """Validate a whole document with ``model``; pydantic errors become a located SpecError."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise SpecError(problems_from(doc, exc, model=model)) from None


def load_model(path: str | Path, model: type[ModelT]) -> ModelT:
    """Read a YAML file and validate it with ``model``; raises SpecError. Ignored keys are warned about."""
    doc = load_yaml_file(path)
    spec = model_from_doc(doc, model)
    warn_ignored_keys(doc, spec)
    return spec


_log = logging.getLogger("labflows")
_warned: set[str] = set()


def _field_keys(model: type[BaseModel]) -> dict[str, str]:
    """Document key -> field name of ``model`` (names and aliases)."""
    fields = model.model_fields
    return {name: name for name in fields} | {f.alias: name for name, f in fields.items() if f.alias}


def ignored_key_locs(data: Any, value: Any, loc: Loc = ()) -> list[tuple[Loc, str]]:
    """Keys of ``data`` (the document) that a :class:`LenientModel` in ``value`` ignored.

    Each as ``(location, hint)``, the hint naming a close field name (`` (did you mean 'x'?)``) or empty.
    """
    if isinstance(value, BaseModel) and isinstance(data, dict):
        by_key = _field_keys(type(value))
        found: list[tuple[Loc, str]] = []
        for key, sub in data.items():
            name = by_key.get(key) if isinstance(key, str) else None
            if name is None:
                if isinstance(value, LenientModel):
                    found.append((loc + (key,), did_you_mean(str(key), by_key)))
                continue
            found += ignored_key_locs(sub, getattr(value, name), loc + (key,))
        return found
    if isinstance(value, (list, tuple)) and isinstance(data, list):
        return [x for i, (d, v) in enumerate(zip(data, value)) for x in ignored_key_locs(d, v, loc + (i,))]
    if isinstance(value, dict) and isinstance(data, dict):
        return [x for k, v in value.items() if k in data for x in ignored_key_locs(data[k], v, loc + (k,))]
    return []


def ignored_keys_notice(doc: SourceDoc, model: BaseModel) -> str | None:
    """One line naming every key of ``doc`` that labflows accepts (as bfabric-app-runner does) but ignores.

    Located at the first such key: ``FILE:LINE:COL: path: notice: ...``; None when there is none.
    """
    found = ignored_key_locs(doc.data, model)
    if not found:
        return None
    first = found[0][0]
    line, col = doc.position(first, key=True)
    names = ", ".join(doc.spelled(loc) + hint for loc, hint in found)
    return (f"{doc.file}:{line}:{col}: {doc.spelled(first)}: notice: accepted as bfabric-app-runner does, "
            f"but labflows ignores: {names}")


def _misspelt_as(data: Any, loc: Loc) -> str:
    """For a missing key at ``loc``: `` (is 'x' a misspelling?)`` when its mapping has a close unknown key."""
    parent = data
    for part in loc[:-1]:
        parent = parent[part] if isinstance(parent, (dict, list)) and _has(parent, part) else None
    if not isinstance(parent, dict) or not isinstance(loc[-1], str):
        return ""
    match = closest(loc[-1], [str(k) for k in parent])
    return f" (is {match!r} a misspelling?)" if match else ""


def _has(node: dict | list, part: str | int) -> bool:
    return part in node if isinstance(node, dict) else isinstance(part, int) and 0 <= part < len(node)


def warn_ignored_keys(doc: SourceDoc, model: BaseModel) -> None:
    """Log :func:`ignored_keys_notice` as a warning, once per file and notice in this process."""
    notice = ignored_keys_notice(doc, model)
    if notice is not None and notice not in _warned:
        _warned.add(notice)
        _log.warning("%s", notice)
