"""The parts of a BayerCLAW step: image, outputs, QC checks, retry, compute, filesystems, retrieve.

Each model accepts the shorthand forms workflows use (``"name +auth: secret"`` images,
``"file -> s3://b/dir/ +k: v"`` outputs, ``"3s"`` intervals, ``"4 Gb"`` memory, …) and holds the
parsed values the engine needs.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

from specs.workflow.expressions import ExpressionError, compile_expression
from specs.workflow.units import parse_duration_s, parse_memory_mib

DEFAULT_IMAGE = "public.ecr.aws/ubuntu/ubuntu:latest"
Shell = Literal["sh", "bash", "sh-pipefail"]

_GLOB = re.compile(r"[*?\[]")
_SUBSTITUTION = re.compile(r"\$\{.+\}")


class Strict(BaseModel):
    """Base of every spec model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def listify(value: Any) -> Any:
    """BayerCLAW's "one or a list": a single item becomes a one-item list; None stays None."""
    return value if isinstance(value, list) or value is None else [value]


def _tag_value(value: Any) -> Any:
    """Tag values are text; YAML numbers and booleans are written as BayerCLAW writes them."""
    if isinstance(value, (int, float, bool)):
        return str(value)
    return value


def _tags(value: Any) -> Any:
    return {k: _tag_value(v) for k, v in value.items()} if isinstance(value, dict) else value


Tags = Annotated[dict[str, str], BeforeValidator(_tags)]
ListOf = BeforeValidator(listify)


def check_expression(text: str) -> str:
    """Compile an expression (chooser condition, QC check) so that malformed ones fail at load."""
    try:
        compile_expression(text)
    except ExpressionError as exc:
        raise ValueError(str(exc)) from None
    return text


ExpressionText = Annotated[str, AfterValidator(check_expression)]


# ---- image ------------------------------------------------------------------------------------
# BayerCLAW's rule: a name not starting with "+", then optionally " +auth: " (the space is required)
# and a secret name of letters, digits and /_+=.@-
_IMAGE = re.compile(r"(?!\+)(\S+?)(?:\s+\+auth:\s+([A-Za-z0-9/_+=.@-]+))?")


class Image(Strict):
    """A container image, optionally with the name of a secret holding registry credentials."""

    name: str = DEFAULT_IMAGE
    auth: str | None = None

    @classmethod
    def parse(cls, text: str) -> dict[str, Any]:
        """``"name"`` or ``"name +auth: secret"`` (also over two lines) as ``{name, auth}``."""
        m = _IMAGE.fullmatch(text.strip())
        if not m:
            raise ValueError(f'image must look like "name" or "name +auth: secret" (a space after "+auth:", '
                             f'a secret name of letters, digits and /_+=.@-), not {text!r}')
        return {"name": m.group(1), "auth": m.group(2)}

    @classmethod
    def coerce(cls, value: Any) -> Any:
        """Accept the string forms wherever an Image is expected; the map form needs a ``name``."""
        if isinstance(value, str):
            return cls.parse(value)
        if isinstance(value, dict) and "name" not in value:
            raise ValueError(f"image name not found in {value!r}: write {{name: NAME, auth: SECRET}}")
        if not isinstance(value, (dict, Image)):
            raise ValueError(f'image must be a name, "name +auth: secret" or {{name, auth}}, not {value!r}')
        return value


ImageField = Annotated[Image, BeforeValidator(Image.coerce)]


# ---- outputs ----------------------------------------------------------------------------------
# BayerCLAW's rules: tags are " +word: value" (space before "+" and after ":"); the file name does not
# end in ">" or "/"; a destination follows "->" with spaces around the arrow. That it is an s3://
# folder ending in "/" is checked on the dest field (OutputSpec, the loader's path check), whose
# messages say which rule it breaks.
_TAG_SPLIT = re.compile(r"(?<=\s)\+(\w+):\s+")
_FILE_DEST = re.compile(r"(\S+?(?<![>/]))(?:\s+->\s+(\S+))?")


def parse_output_shorthand(text: str) -> dict[str, Any]:
    """``"file -> s3://b/dir/ +k: v +k2: v2"`` as ``{name, dest, s3_tags}``; ValueError if malformed."""
    file, *tags = _TAG_SPLIT.split(text)
    m = _FILE_DEST.fullmatch(file.strip())
    if not m:
        raise ValueError(f'output must look like "file", "file -> s3://bucket/folder/" '
                         f'or "file +tag: value" (a space after the colon), not {text!r}')
    s3_tags = {key: value.strip() for key, value in zip(tags[::2], tags[1::2])}
    return {"name": m.group(1), "dest": m.group(2), "s3_tags": s3_tags}


class OutputSpec(Strict):
    """One output file (name may be a glob), with an optional destination folder and S3 tags."""

    name: str
    dest: str | None = None
    s3_tags: Tags = {}

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip() or any(c.isspace() for c in v):
            raise ValueError(f"output name must be a file name without spaces, not {v!r}")
        return v

    @field_validator("dest")
    @classmethod
    def _dest(cls, v: str | None) -> str | None:
        if v is not None and (not v.endswith("/") or any(c.isspace() for c in v)):
            raise ValueError(f"dest must be a folder ending in '/', not {v!r}")
        return v

    @classmethod
    def coerce(cls, value: Any) -> Any:
        """Accept the string shorthand wherever an OutputSpec is expected."""
        if isinstance(value, str):
            return parse_output_shorthand(value)
        if not isinstance(value, (dict, OutputSpec)):
            raise ValueError(f"an output must be a file name or a map {{name, dest, s3_tags}}, not {value!r}")
        return value


OutputField = Annotated[OutputSpec, BeforeValidator(OutputSpec.coerce)]


# ---- QC, retry, compute, filesystems ----------------------------------------------------------
class QCCheck(Strict):
    """Stop the workflow when any ``stop_early_if`` expression holds over the JSON result file."""

    qc_result_file: str
    stop_early_if: Annotated[list[ExpressionText], ListOf, Field(min_length=1)]


def _duration(value: Any) -> Any:
    return parse_duration_s(value) if isinstance(value, str) else value


class Retry(Strict):
    """How failed command steps are retried: attempts after the first run, wait, backoff."""

    attempts: int = Field(3, ge=0)
    interval: Annotated[int, BeforeValidator(_duration), Field(ge=0)] = 3
    backoff_rate: float = 1.5

    @field_validator("backoff_rate")
    @classmethod
    def _backoff(cls, v: float) -> float:
        if v < 1.0:
            raise ValueError(f"backoff_rate must be at least 1.0, not {v}")
        return v


def _gpu(value: Any) -> Any:
    if value == "all" or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise ValueError(f"gpu must be a whole number >= 0 or \"all\", not {value!r}")


def _memory(value: Any) -> Any:
    return parse_memory_mib(value) if isinstance(value, (str, int, float)) else value


class Compute(Strict):
    """Resources of a command step; ``memory`` in MiB."""

    cpus: int = Field(1, ge=1)
    memory: Annotated[int, BeforeValidator(_memory)] = 1024
    spot: bool = True
    gpu: Annotated[int | Literal["all"], BeforeValidator(_gpu)] = 0
    queue_name: str | None = None
    shell: Shell | None = None
    consumes: dict[str, Annotated[int, Field(ge=1)]] = {}


def _no_substitution(v: str) -> str:
    if _SUBSTITUTION.search(v):
        raise ValueError("string substitutions (${...}) are not allowed in filesystems")
    return v


def _absolute(v: str) -> str:
    if not v.startswith("/"):
        raise ValueError(f"must be an absolute path starting with '/', not {v!r}")
    return v


AbsPath = Annotated[str, AfterValidator(_no_substitution), AfterValidator(_absolute)]


class Filesystem(Strict):
    """An EFS file system mounted into a command step's container."""

    efs_id: Annotated[str, AfterValidator(_no_substitution), Field(pattern=r"^fs-[0-9a-fA-F]+$")]
    host_path: AbsPath
    root_dir: AbsPath = "/"


# ---- subpipe retrieve -------------------------------------------------------------------------
_RETRIEVE = re.compile(r"^\s*(\S+?)(?:\s*->\s*(\S+))?\s*$")  # BayerCLAW splits on \s*->\s*


class Retrieve(Strict):
    """A file copied from a subpipe's repository into the parent's (``src -> dst``), or, for the
    deprecated ``submit``, from the parent's into the subpipe's."""

    src: str
    dst: str

    @classmethod
    def coerce(cls, value: Any) -> Any:
        """``"src -> dst"`` or ``"name"`` (src == dst); globs are refused."""
        if not isinstance(value, str):
            return value
        m = _RETRIEVE.match(value)
        if not m:
            raise ValueError(f'retrieve entries look like "name" or "src -> dst", not {value!r}')
        src, dst = m.group(1), m.group(2) or m.group(1)
        if _GLOB.search(src) or _GLOB.search(dst):
            raise ValueError(f"globs are not allowed in retrieve: {value!r}")
        return {"src": src, "dst": dst}


RetrieveField = Annotated[Retrieve, BeforeValidator(Retrieve.coerce)]


def has_glob(text: str) -> bool:
    """True when ``text`` has glob characters (``*``, ``?``, ``[``)."""
    return bool(_GLOB.search(text))
