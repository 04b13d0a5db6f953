"""``${…}`` substitution, BayerCLAW style, with job data kept away from the shell.

The inner text of ``${…}`` is a JMESPath expression over the job data (``job``, ``parent``,
``scatter``), so ``${job.a.b}`` and ``${job.l[0]}`` work. A null or missing value leaves the
``${…}`` as written, which is how ``${HOME}`` and output symbols survive the first pass.

Job data is text users control. In commands (:func:`substitute_shell`) a value is pasted as
text only when that cannot change the script; otherwise it is passed in an environment variable
and referenced with the quoting its place needs (see :mod:`tasks.bclaw.shell_context`):

- ``"${V}"`` unquoted (and in comments, ``$(…)``, backticks),
- ``${V}`` inside double quotes and unquoted here-docs,
- ``'"${V}"'`` inside single quotes, ``'"${V}"$'`` inside ``$'…'``,
- the text itself in a quoted here-doc (``<<'EOF'`` expands nothing), refused if it has a line break.

Two modes (the workflow's ``Options: substitution``):

- ``word`` (default): every value is exactly one shell word, whatever it contains. Only values of
  letters, digits and ``_./:@%+,-`` are pasted as text (they mean the same quoted or not).
- ``raw``: BayerCLAW's textual pasting, so ``tool ${job.flags}`` can mean several arguments and
  ``*`` globs; values with shell metacharacters (``$`;&|<>()"'`` a backslash and line breaks) still go
  through a variable, so no value ever runs as code.

The second (symbol) pass treats file names the same way, except that glob characters stay
unquoted in ``word`` mode: an input ``reads: "*.fq"`` is expanded by the shell, as in BayerCLAW.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Literal

import jmespath
from jmespath.exceptions import JMESPathError

from tasks.bclaw.shell_context import Place, places

_SUB = re.compile(r"\$\{(.+?)\}")
Mode = Literal["word", "raw"]
# raw mode: characters that can make a shell do something other than read words.
_UNSAFE = frozenset("$`;&|<>()\"'\\\n\r")
# word mode: characters that read as one literal word in every context (no space, glob, quote,
# expansion, comment, tilde or assignment).
_WORD_SAFE = frozenset(string.ascii_letters + string.digits + "_./:@%+,-")
_GLOB = frozenset("*?[]")

Resolver = Callable[[str], Any]


def to_text(value: Any) -> str:
    """A value as BayerCLAW renders it: Python's ``str()`` (``True``, ``['a', 'b']``)."""
    return str(value)


def job_data_resolver(data: dict) -> Resolver:
    """Resolve ``${expr}`` as a JMESPath expression over ``data``; None when missing or invalid."""

    def resolve(expr: str) -> Any:
        try:
            return jmespath.search(expr, data)
        except (JMESPathError, TypeError, ValueError):
            return None

    return resolve


def symbol_resolver(symbols: dict[str, str]) -> Resolver:
    """Resolve ``${name}`` from a flat mapping (inputs, outputs, references)."""
    return symbols.get


def substitute(text: str, resolve: Resolver) -> str:
    """Replace every resolvable ``${…}`` in plain (non-shell) text."""

    def repl(m: re.Match) -> str:
        value = resolve(m.group(1))
        return m.group(0) if value is None else to_text(value)

    return _SUB.sub(repl, text)


def substitute_all(value: Any, resolve: Resolver) -> Any:
    """:func:`substitute` through strings nested in dicts and lists (keys untouched)."""
    if isinstance(value, str):
        return substitute(value, resolve)
    if isinstance(value, dict):
        return {k: substitute_all(v, resolve) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_all(v, resolve) for v in value]
    return value


def substitute_image_tag(image: str, resolve: Resolver) -> str:
    """Substitute only in the image's last path component (BayerCLAW's runtime rule)."""
    head, sep, last = image.rpartition("/")
    return head + sep + substitute(last, resolve)


class SubstitutionError(ValueError):
    """A value cannot be substituted into its place in a script without changing the script."""


@dataclass
class ShellText:
    """A shell script with values moved into environment variables."""

    text: str
    env: dict[str, str] = field(default_factory=dict)


def is_plain(value: str) -> bool:
    """True when pasting ``value`` into a shell script cannot run anything (``raw`` mode's test)."""
    return not (_UNSAFE & set(value))


def is_word(value: str, *, globs: bool = False) -> bool:
    """True when ``value`` pasted as text is exactly one literal word (``word`` mode's test).

    With ``globs``, ``*?[]`` are allowed too: the shell expands them, as a file pattern wants.
    """
    allowed = _WORD_SAFE | _GLOB if globs else _WORD_SAFE
    return value != "" and set(value) <= allowed


def pastes_as_text(value: str, mode: Mode, *, globs: bool = False) -> bool:
    """Whether ``value`` goes into the script as text in ``mode`` (else through a variable)."""
    return is_plain(value) if mode == "raw" else is_word(value, globs=globs)


def _reference(name: str, value: str, place: Place, expr: str) -> str:
    """The text standing for variable ``name`` (holding ``value``) at ``place``."""
    if place.kind == "quoted_heredoc":
        # nothing expands here: the text itself is inert unless it could end the here-doc
        if "\n" in value or "\r" in value or (place.delimiter and place.delimiter in value):
            raise SubstitutionError(f"${{{expr}}}: a value with a line break (or the here-doc's end "
                                    f"word {place.delimiter!r}) cannot go into a quoted here-doc")
        return value
    if place.kind == "heredoc_word":  # `cat <<${x}`: a reference would be the end word's text
        raise SubstitutionError(f"${{{expr}}}: in a here-doc's end word the shell expands nothing; only "
                                f"a value that is one plain word can go there")
    if place.escaped:
        raise SubstitutionError(f"${{{expr}}}: a backslash right before it would escape the quoting "
                                f"of its value; remove the backslash")
    return {
        "unquoted": f'"${{{name}}}"',
        "comment": f'"${{{name}}}"',
        "double": f"${{{name}}}",
        "heredoc": f"${{{name}}}",
        "single": f"'\"${{{name}}}\"'",
        "ansi": f"'\"${{{name}}}\"$'",
    }[place.kind]


@lru_cache(maxsize=64)
def _scanned(text: str) -> tuple[tuple[re.Match, ...], dict[int, Place]]:
    """The ``${…}`` of ``text`` and their places (read, never changed, by the caller). Kept per
    text: every branch of a scatter substitutes into the same commands, and the scan is most of
    a substitution's time."""
    matches = tuple(_SUB.finditer(text))
    return matches, places(text, [m.span() for m in matches])


def substitute_shell(script: ShellText | str, resolve: Resolver, env_prefix: str = "BC_VALUE_",
                     mode: Mode = "word", *, globs: bool = False) -> ShellText:
    """Substitute into a shell script; values that are not safe as text go through variables.

    Args:
        script: the commands (or the result of an earlier pass, whose variables are kept).
        resolve: maps the text inside ``${…}`` to a value; None leaves it as written.
        env_prefix: names of the new variables (``BC_VALUE_1``, …).
        mode: ``word`` (each value one word) or ``raw`` (BayerCLAW's pasting); see the module.
        globs: keep ``*?[]`` unquoted in ``word`` mode (file name symbols).

    Raises:
        SubstitutionError: a value cannot be placed safely (a line break into a quoted here-doc).
    """
    script = script if isinstance(script, ShellText) else ShellText(script)
    env = dict(script.env)
    text = script.text
    matches, where = _scanned(text)
    out: list[str] = []
    pos = 0
    for m in matches:
        value = resolve(m.group(1))
        out.append(text[pos:m.start()])
        pos = m.end()
        if value is None:
            out.append(m.group(0))
            continue
        rendered = to_text(value)
        place = where[m.start()]
        # as text, a here-doc's end word would end it early
        ends_heredoc = bool(place.delimiter) and place.delimiter in rendered
        if pastes_as_text(rendered, mode, globs=globs) and not ends_heredoc:
            out.append(rendered)
            continue
        name = f"{env_prefix}{len(env) + 1}"
        out.append(_reference(name, rendered, place, m.group(1)))
        if place.kind != "quoted_heredoc":
            env[name] = rendered
    out.append(text[pos:])
    return ShellText("".join(out), env)
