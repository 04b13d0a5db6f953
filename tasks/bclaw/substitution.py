"""``${…}`` substitution, BayerCLAW style, with job data kept away from the shell.

The inner text of ``${…}`` is a JMESPath expression over the job data (``job``, ``parent``,
``scatter``), so ``${job.a.b}`` and ``${job.l[0]}`` work. A null or missing value leaves the
``${…}`` as written, which is how ``${HOME}`` and output symbols survive the first pass.

Job data is text users control. In commands, a value that contains shell metacharacters is
never pasted into the script: it is passed in an environment variable and referenced with the
quoting its place needs (``"${V}"`` outside quotes, ``${V}`` in double quotes, ``'"${V}"'``
inside single quotes). Plain values are pasted as they are, as BayerCLAW does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

import jmespath
from jmespath.exceptions import JMESPathError

_SUB = re.compile(r"\$\{(.+?)\}")
# Characters that can make a shell do something other than read a word.
_UNSAFE = set("$`;&|<>()\"'\\\n\r")

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


@dataclass
class ShellText:
    """A shell script with unsafe values moved into environment variables."""

    text: str
    env: dict[str, str] = field(default_factory=dict)


def is_plain(value: str) -> bool:
    """True when pasting ``value`` into a shell script cannot run anything."""
    return not (_UNSAFE & set(value))


def _quote_states(text: str) -> list[str]:
    """For each character, the shell quoting state before it: ``''``, ``"'"`` or ``'"'``."""
    states, state, escaped = [], "", False
    for ch in text:
        states.append(state)
        if escaped:
            escaped = False
        elif ch == "\\" and state != "'":
            escaped = True
        elif state == "" and ch in "'\"":
            state = ch
        elif state == ch:
            state = ""
    return states


def substitute_shell(script: ShellText | str, resolve: Resolver, env_prefix: str = "BC_VALUE_") -> ShellText:
    """Substitute into a shell script; unsafe values go through environment variables."""
    script = script if isinstance(script, ShellText) else ShellText(script)
    env = dict(script.env)
    text = script.text
    states = _quote_states(text)
    out: list[str] = []
    pos = 0
    for m in _SUB.finditer(text):
        value = resolve(m.group(1))
        out.append(text[pos:m.start()])
        pos = m.end()
        if value is None:
            out.append(m.group(0))
            continue
        rendered = to_text(value)
        if is_plain(rendered):
            out.append(rendered)
            continue
        name = f"{env_prefix}{len(env) + 1}"
        env[name] = rendered
        state = states[m.start()]
        out.append({"": f'"${{{name}}}"', '"': f"${{{name}}}", "'": f"'\"${{{name}}}\"'"}[state])
    out.append(text[pos:])
    return ShellText("".join(out), env)
