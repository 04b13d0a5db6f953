"""Pieces shared by the B-Fabric spec formats (inputs, outputs, chunks, workunit definitions)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from specs.source import Loc, Problem, SourceDoc, SpecError, load_yaml_file

ModelT = TypeVar("ModelT", bound=BaseModel)


class StrictModel(BaseModel):
    """A spec model whose unknown keys are errors (they are usually typos)."""

    model_config = ConfigDict(extra="forbid")


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
    """Read a YAML file and validate it with ``model``; raises SpecError."""
    return model_from_doc(load_yaml_file(path), model)
