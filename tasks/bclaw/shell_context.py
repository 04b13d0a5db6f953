"""Where in a shell script a ``${…}`` stands: unquoted, in quotes, a here-doc or a comment.

Substituting a value safely needs the quoting of its place. :func:`places` scans the script
once, left to right, with a stack of contexts: single and double quotes, ``$'…'``, ``$(…)``,
backticks, comments (which end at the newline, so ``# it's`` opens no quote) and here-doc
bodies (``<<EOF`` expands ``$``, ``<<'EOF'`` does not). The ``${…}`` spans themselves are
opaque: quotes inside ``${job['a b']}`` do not count.

The scan follows POSIX ``sh`` and bash closely enough for substitution; a script that confuses
it can only make a value lose its quoting, never make a value's text part of the script (see
:mod:`tasks.bclaw.substitution`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["unquoted", "comment", "double", "single", "ansi", "heredoc", "quoted_heredoc", "heredoc_word"]

# context on the stack -> the kind of place a ``${…}`` in it is
_KIND: dict[str, Kind] = {
    "top": "unquoted", "cmd": "unquoted", "bt": "unquoted", "comment": "comment",
    "dq": "double", "sq": "single", "ansi": "ansi", "hd": "heredoc", "hq": "quoted_heredoc",
}
# characters that end a word: a '#' after one starts a comment, a here-doc's end word stops at one
_WORD_BREAK = frozenset(" \t\n;&|()<>")


@dataclass(frozen=True)
class Place:
    """The shell context of one ``${…}``.

    Attributes:
        kind: the quoting around it.
        escaped: a backslash right before it escapes its first character.
        delimiter: the here-doc's end line (here-doc kinds only).
    """

    kind: Kind
    escaped: bool = False
    delimiter: str = ""


@dataclass
class _HereDoc:
    delimiter: str
    quoted: bool
    strip_tabs: bool


@dataclass
class _Frame:
    ctx: str
    depth: int = 0  # open parentheses inside ``$(…)``
    heredoc: _HereDoc | None = None


def _heredoc_word(text: str, i: int) -> tuple[_HereDoc, int]:
    """The here-doc operator's word starting at ``i`` (after ``<<`` or ``<<-``): delimiter and end."""
    strip_tabs = text.startswith("-", i)
    i += strip_tabs
    while i < len(text) and text[i] in " \t":
        i += 1
    word, quoted, quote = [], False, ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
            else:
                word.append(ch)
        elif ch in "'\"":
            quote, quoted = ch, True
        elif ch == "\\" and i + 1 < len(text):
            quoted = True
            i += 1
            word.append(text[i])
        elif ch in _WORD_BREAK:
            break
        else:
            word.append(ch)
        i += 1
    return _HereDoc("".join(word), quoted, strip_tabs), i


class _Scanner:
    def __init__(self, text: str, spans: list[tuple[int, int]]):
        self.text = text
        self.span_end = dict(spans)
        self.stack = [_Frame("top")]
        self.pending: list[_HereDoc] = []
        self.found: dict[int, Place] = {}

    def _line_end(self, pos: int) -> int:
        end = self.text.find("\n", pos)
        return len(self.text) if end < 0 else end

    def _ends_heredoc(self, pos: int, doc: _HereDoc) -> bool:
        line = self.text[pos:self._line_end(pos)]
        return (line.lstrip("\t") if doc.strip_tabs else line) == doc.delimiter

    def _enter_bodies(self, pos: int) -> int:
        """At the start of a line after a here-doc operator: open the next pending body."""
        while self.pending:
            doc = self.pending.pop(0)
            if not self._ends_heredoc(pos, doc):
                self.stack.append(_Frame("hq" if doc.quoted else "hd", heredoc=doc))
                return pos
            pos = self._line_end(pos) + 1  # an empty body
        return pos

    def _newline(self, i: int) -> int:
        """A newline at ``i`` in a code or here-doc context; returns where to go on."""
        frame = self.stack[-1]
        pos = i + 1
        if frame.heredoc is not None:
            if not self._ends_heredoc(pos, frame.heredoc):
                return pos
            self.stack.pop()
            pos = self._line_end(pos) + 1
        return self._enter_bodies(pos)

    def scan(self) -> dict[int, Place]:
        text, i, escaped = self.text, 0, False
        while i < len(text):
            frame = self.stack[-1]
            ctx = frame.ctx
            if i in self.span_end:
                self.found[i] = Place(_KIND[ctx], escaped and ctx not in ("sq", "hq", "comment"),
                                      frame.heredoc.delimiter if frame.heredoc else "")
                escaped = False
                i = self.span_end[i]
                continue
            ch, nxt = text[i], text[i + 1:i + 2]
            if escaped:
                escaped = False
                i += 1
                continue
            if ctx == "comment":
                if ch == "\n":
                    self.stack.pop()
                    continue  # the newline belongs to the code around the comment
                i += 1
            elif ctx in ("sq", "hq"):
                if ctx == "sq" and ch == "'":
                    self.stack.pop()
                i = self._newline(i) if ctx == "hq" and ch == "\n" else i + 1
            elif ctx == "ansi":
                if ch == "\\":
                    escaped = True
                elif ch == "'":
                    self.stack.pop()
                i += 1
            elif ctx in ("dq", "hd"):
                i = self._expanding(i, ch, nxt)
                escaped = ch == "\\"
            else:
                escaped = ch == "\\"
                i = self._code(i, ch, nxt)
        return self.found

    def _expanding(self, i: int, ch: str, nxt: str) -> int:
        """One character in double quotes or an unquoted here-doc body."""
        ctx = self.stack[-1].ctx
        if ch == "$" and nxt == "(":
            self.stack.append(_Frame("cmd"))
            return i + 2
        if ch == "`":
            self.stack.append(_Frame("bt"))
        elif ch == '"' and ctx == "dq":
            self.stack.pop()
        elif ch == "\n" and ctx == "hd":
            return self._newline(i)
        return i + 1

    def _code(self, i: int, ch: str, nxt: str) -> int:
        """One character of unquoted code (top level, ``$(…)`` or backticks)."""
        frame, text = self.stack[-1], self.text
        if ch == "'":
            self.stack.append(_Frame("sq"))
        elif ch == '"':
            self.stack.append(_Frame("dq"))
        elif ch == "$" and nxt in ("'", "("):
            self.stack.append(_Frame("ansi" if nxt == "'" else "cmd"))
            return i + 2
        elif ch == "$" and nxt == "#":
            return i + 2  # $# is the argument count, not a comment
        elif ch == "`":
            if frame.ctx == "bt":
                self.stack.pop()
            else:
                self.stack.append(_Frame("bt"))
        elif ch == "#" and (i == 0 or text[i - 1] in _WORD_BREAK):
            self.stack.append(_Frame("comment"))
        elif ch == "<" and text.startswith("<<", i) and not text.startswith("<<<", i):
            doc, end = _heredoc_word(text, i + 2)
            if doc.delimiter:
                self.pending.append(doc)
            return end
        elif ch == "<" and text.startswith("<<<", i):
            return i + 3
        elif frame.ctx == "cmd" and ch in "()":
            if ch == "(":
                frame.depth += 1
            elif frame.depth:
                frame.depth -= 1
            else:
                self.stack.pop()
        elif ch == "\n":
            return self._newline(i)
        return i + 1


def places(text: str, spans: list[tuple[int, int]]) -> dict[int, Place]:
    """The :class:`Place` of each ``(start, end)`` span of ``text``, keyed by start.

    Spans must not overlap; they are skipped as opaque words. A span in a here-doc operator's
    word (``cat <<${x}``) or its end line is of kind ``heredoc_word``: nothing is expanded there.
    """
    found = _Scanner(text, spans).scan()
    # the scan steps over a here-doc operator's word and its end line as plain text: a span it
    # never reached is in one of those
    return {start: found.get(start, Place("heredoc_word")) for start, _ in spans}
