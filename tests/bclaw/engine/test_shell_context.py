"""The quote-context scanner: the kind of place each ``${…}`` stands in."""

import re

import pytest

from tasks.bclaw.shell_context import Place, places

SUB = re.compile(r"\$\{(.+?)\}")


def kinds(script: str) -> list[str]:
    spans = [m.span() for m in SUB.finditer(script)]
    found = places(script, spans)
    return [found[start].kind for start, _ in spans]


@pytest.mark.parametrize("script, expected", [
    ("a ${x} '${x}' \"${x}\" ${x}", ["unquoted", "single", "double", "unquoted"]),
    # comments end at the newline and open no quote
    ("# it's ${x}\necho ${x}", ["comment", "unquoted"]),
    ("true # it's\necho ${x} '${x}'", ["unquoted", "single"]),
    ("echo a#b'${x}' ${x}", ["single", "unquoted"]),  # '#' inside a word starts no comment
    ("echo $# ${x}", ["unquoted"]),
    ("echo \"it's\" ${x}", ["unquoted"]),
    # backslashes: escaped quotes do not open or close anything
    ("echo \\' ${x}", ["unquoted"]),
    ("echo \"a\\\"b ${x}\" ${x}", ["double", "unquoted"]),
    ("echo 'a\\' ${x}", ["unquoted"]),  # no escapes inside single quotes
    ("echo 'it'\\''s ${x}' ${x}", ["single", "unquoted"]),
    ("echo \\\\\" ${x}\"", ["double"]),  # an escaped backslash escapes nothing more
    # nesting
    ("echo \"$(echo ${x} \"${x}\")\" \"${x}\"", ["unquoted", "double", "double"]),
    ("echo \"`echo ${x}`\" ${x}", ["unquoted", "unquoted"]),
    ("echo $(echo ')' ${x}) ${x}", ["unquoted", "unquoted"]),
    ("echo $((1 + (2))) '${x}'", ["single"]),
    ("echo $'it\\'s ${x}' ${x}", ["ansi", "unquoted"]),
    # opaque ${…}: quotes inside the expression count for nothing
    ("echo ${job.'a b'} '${x}'", ["unquoted", "single"]),
    # here-docs
    ("cat <<EOF\nit's ${x} \"\nEOF\necho ${x}", ["heredoc", "unquoted"]),
    ("cat <<'EOF'\n${x}\nEOF\n'${x}'", ["quoted_heredoc", "single"]),
    ("cat <<\"EOF\"\n${x}\nEOF", ["quoted_heredoc"]),
    ("cat <<\\EOF\n${x}\nEOF", ["quoted_heredoc"]),
    ("cat <<E\"O\"F\n${x}\nEOF", ["quoted_heredoc"]),
    ("cat <<-EOF\n\t${x}\n\tEOF\n${x}", ["heredoc", "unquoted"]),
    ("cat <<EOF\n  EOF\n${x}\nEOF\n${x}", ["heredoc", "unquoted"]),  # an indented line does not end it
    ("cat <<A <<'B'\n${x}\nA\n${x}\nB\n${x}", ["heredoc", "quoted_heredoc", "unquoted"]),
    ("cat <<EOF # it's\n${x}\nEOF", ["heredoc"]),
    ("cat <<EOF\nEOF\n${x}", ["unquoted"]),  # an empty here-doc
    ("cat <<EOF\n$(echo ${x})\nEOF", ["unquoted"]),
    ("cat <<< ${x}", ["unquoted"]),  # a here-string, not a here-doc
])
def test_kinds(script, expected):
    assert kinds(script) == expected


def test_heredoc_delimiter_and_backslash_flag():
    script = "cat <<'END'\n${x}\nEND\necho \\${x} \"\\${x}\" '\\${x}'"
    spans = [m.span() for m in SUB.finditer(script)]
    found = places(script, spans)
    assert [found[s] for s, _ in spans] == [
        Place("quoted_heredoc", False, "END"), Place("unquoted", True), Place("double", True),
        Place("single", False)]
