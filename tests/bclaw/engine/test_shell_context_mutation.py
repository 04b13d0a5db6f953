"""tasks/bclaw/shell_context.py: the scanner's edges, written for the survivors of ``make mutate``.

Pure calls of :func:`places` (no shell, no conftest): the fast first pass of shell_context's
mutants; test_substitution.py runs the same places through sh and bash.
"""

from __future__ import annotations

import dataclasses
import re
import threading

import pytest

from tasks.bclaw.shell_context import Place, places

SUB = re.compile(r"\$\{(.+?)\}")


def found(script: str) -> list[Place]:
    spans = [m.span() for m in SUB.finditer(script)]
    where = places(script, spans)
    assert sorted(where) == [start for start, _ in spans]
    return [where[start] for start, _ in spans]


def kinds(script: str) -> list[str]:
    return [p.kind for p in found(script)]


@pytest.mark.parametrize("script, expected", [
    # a quoted here-doc word ends its quote only at the same quote character
    ("cat <<'E\"F'\n${x}\nE\"F\n${x}", ["quoted_heredoc", "unquoted"]),
    ("cat <<\"E'F\"\n${x}\nE'F\n${x}", ["quoted_heredoc", "unquoted"]),
    ("cat <<'A&B'\n${x}\nA&B\n${x}", ["quoted_heredoc", "unquoted"]),
    # an empty here-doc body, then a second one
    ("cat <<A <<B\nA\n${x}\nB\n${x}", ["heredoc", "unquoted"]),
    ("cat <<A <<B\nA\nB\n${x} '${x}'", ["unquoted", "single"]),
    ("cat <<A\nA\ncat <<B\n${x}\nB\n${x}", ["heredoc", "unquoted"]),
    # only a newline starts the body: a tab (or other control character) is a blank
    ("cat <<EOF\t'${x}'\x01'${x}'\n${x}\nEOF", ["single", "single", "heredoc"]),
    # $# is no comment, but $ before anything else is no escape of '#'
    ("echo $#'${x}'", ["single"]),
    # '$' before anything but '#', "'" or '(' skips nothing: $"…" is a double-quoted string
    ("echo $\"${x}\" '${x}'", ["double", "single"]),
    ("echo $`echo ${x}` '${x}'", ["unquoted", "single"]),
    ("echo $## ${x}", ["unquoted"]),
    ("echo $\\'${x} '${x}'", ["unquoted", "single"]),  # '$' then an escaped quote: the backslash still counts
    ("x=$#'${x}'", ["single"]),  # at any position (a wrong skip there scans backwards for ever)
    ("echo $a#'${x}'", ["single"]),
    ("echo $ #'${x}'\n${x}", ["comment", "unquoted"]),
    ("#${x}\n${x}", ["comment", "unquoted"]),
    ("x=1;#'${x}'\n${x}", ["comment", "unquoted"]),
    ("x=1|#'${x}'\n${x}", ["comment", "unquoted"]),
    ("(#'${x}'\n${x})", ["comment", "unquoted"]),
    ("a\t#'${x}'\n'${x}'", ["comment", "single"]),
    # $( … ) counts its parentheses: only the matching one closes it
    ("echo $(f (a) (b) ${x}) '${x}'", ["unquoted", "single"]),
    ("echo $(case a in (a) echo ${x};; esac) '${x}'", ["unquoted", "single"]),
    ("echo \"$(echo ((1)) ${x})${x}\"", ["unquoted", "double"]),
    ("echo $(echo ${x}))'${x}'", ["unquoted", "single"]),
    # ANSI-C quotes: a backslash escapes the next character, a quote closes
    ("echo $'a\\\\' '${x}'", ["single"]),
    ("echo $'\\'${x}\\'' ${x}", ["ansi", "unquoted"]),
    ("echo $'x' \"${x}\"", ["double"]),
    # double quotes: an escaped backslash then a quote closes; $( inside opens code
    ("echo \"a\\\\\" ${x}", ["unquoted"]),
    ("echo \"a\\$(\" ${x}", ["unquoted"]),
    ("echo \"$(echo \")\" ${x}\")\" '${x}'", ["unquoted", "single"]),
    # quotes and here-docs nested in $( … ) close as they do at the top
    ("echo $(echo \"a\" '${x}')", ["single"]),
    ("x=$(cat <<E\n${x}\nE\n) '${x}'", ["heredoc", "single"]),
    ("x=\"$(echo \"a\" '${x}')\" ${x}", ["single", "unquoted"]),
    # $( in double quotes or a here-doc starts code right after the parenthesis
    ("echo \"$('${x}')\" ${x}", ["single", "unquoted"]),
    ("cat <<E\n$(\"${x}\")\nE", ["double"]),
    # backticks in code close themselves
    ("echo `echo ${x}` '${x}' `'${x}'`", ["unquoted", "single", "single"]),
    ("echo \"`echo '${x}'`\"", ["single"]),
])
def test_more_kinds(script, expected):
    assert kinds(script) == expected


# the characters next to each one the scanner tests for (a comparison that admitted them too,
# `<=` or `>=` for `==`, is a different scanner): each case has its neighbour where it matters
@pytest.mark.parametrize("script, expected", [
    # a newline inside quotes is no line break: a pending here-doc body starts after the quote
    ("cat <<E; echo 'a\n${x}'\nE\n${x}", ["single", "unquoted"]),
    ("cat <<E; echo \"a\n${x}\"\nE\n${x}", ["double", "unquoted"]),
    # only a whole line ends a here-doc, not the end word at the end of a longer line
    ("cat <<'E'\n\tE\n${x}\nE\n${x}", ["quoted_heredoc", "unquoted"]),  # nor after a tab without '<<-'
    ("cat <<'E'\nxE\n${x}\nE\n${x}", ["quoted_heredoc", "unquoted"]),
    ("cat <<E\nxE\n${x}\nE\n${x}", ["heredoc", "unquoted"]),
    # quotes in a here-doc body are text: neither ' nor " ends the body
    ("cat <<'E'\nit's ${x}\nE\n${x}", ["quoted_heredoc", "unquoted"]),
    ("cat <<E\n\"${x}\nE\n${x}", ["heredoc", "unquoted"]),
    # the scan goes on after the end line, not at its last character (here a quote); at odd and even offsets
    ("cat <<\"E'\"\nE'\n'${x}'", ["single"]),
    ("cat <<\"E'\"\n${x}y\nE'\n'${x}'", ["quoted_heredoc", "single"]),
    ("cat <<\"E'\"\n${x}\nE'\n'${x}'", ["quoted_heredoc", "single"]),
    # lower-case and '_' end words are plain words, not quoted ones
    ("cat <<eof\n${x}\neof\n${x}", ["heredoc", "unquoted"]),
    ("cat <<_e\n${x}\n_e\n${x}", ["heredoc", "unquoted"]),
    # a tab or other control character does not end a comment (its '<<' stays comment text)
    ("# a\t<<'E'\necho ${x}\nE", ["unquoted"]),
    ("# a\x01<<'E'\necho ${x}\nE", ["unquoted"]),
    # a blank after a blank starts no comment; '!' is no '#'
    ("echo  '${x}'", ["single"]),
    ("x;\t'${x}' !'${x}'", ["single", "single"]),
    # in double quotes only '$(' opens code: not ' (', 'f(', "$'" nor '$a'
    ("echo \"a ('${x}') f('${x}')\"", ["double", "double"]),
    ("echo \"$'${x}'\" \"$a '${x}'\"", ["double", "double"]),
    # in backticks a ')' closes nothing (only $( … ) counts parentheses)
    ("echo \"`case a in a) echo;; esac` '${x}'\"", ["double"]),
])
def test_each_test_admits_only_its_character(script, expected):
    assert kinds(script) == expected


@pytest.mark.parametrize("script, expected", [
    ("echo \"A ${x}\" B${x}", [Place("double"), Place("unquoted")]),
    ("echo \"A\" '${x}' A'${x}'", [Place("single"), Place("single")]),
    ("cat <<E\nA ${x}\nE", [Place("heredoc", False, "E")]),
])
def test_only_a_backslash_escapes(script, expected):
    assert found(script) == expected


def test_the_ends_of_a_script_longer_than_the_small_int_cache():
    # positions above 256 are distinct int objects: `is` in place of `<` would read past the end
    pad = "echo " + "a" * 300 + "\n"
    assert kinds(pad + "cat <<\\") == []
    assert kinds(pad + "echo ${x} <<") == ["unquoted"]
    assert kinds(pad + "echo ${x} <<  ") == ["unquoted"]
    assert kinds(pad + "cat <<E") == []
    assert kinds(pad + "cat <<'E'\n${x}\nE") == ["quoted_heredoc"]
    assert kinds(pad + "echo ${x} '${x}'") == ["unquoted", "single"]


def test_a_last_line_without_a_newline_is_read_to_its_end():
    # "Ex" is not the end word "E": a scanner that cut the last character off the last line would
    # end the body there and (with no newline to go on after) start over; a hang guard, not a timing
    got: dict[str, list[str]] = {}
    scan = threading.Thread(target=lambda: got.update(kinds=kinds("cat <<E\n${x}\nEx")), daemon=True)
    scan.start()
    scan.join(timeout=10)
    assert got.get("kinds") == ["heredoc"]


def test_heredoc_delimiters_and_the_strip_tabs_rule():
    assert found("cat <<- EOF\n\t${x}\n\t\tEOF\n${x}") == [Place("heredoc", False, "EOF"), Place("unquoted")]
    # without '-', a tab-indented end word does not end the here-doc
    assert found("cat <<EOF\n\tEOF\n${x}\nEOF\n${x}") == [Place("heredoc", False, "EOF"), Place("unquoted")]
    assert found("cat <<\\E\\ND\n${x}\nEND\n${x}") == [Place("quoted_heredoc", False, "END"), Place("unquoted")]
    assert found("cat <<  'X Y'\n${x}\nX Y\n") == [Place("quoted_heredoc", False, "X Y")]
    assert found("cat <<E;echo '${x}'\n${x}\nE") == [Place("single"), Place("heredoc", False, "E")]
    assert found("cat <<E\n${x}") == [Place("heredoc", False, "E")]  # never ended: still inside
    # a backslash late in a long script still quotes the word
    long = "echo " + "a" * 40 + "; cat <<\\E\n${x}\nE\n${x}"
    assert found(long) == [Place("quoted_heredoc", False, "E"), Place("unquoted")]


def test_an_operator_without_a_word_opens_no_heredoc():
    assert kinds("cat << \n'${x}'") == ["single"]
    assert kinds("cat <<\\") == []
    assert kinds("cat << \\") == []  # a backslash last at an odd position too
    assert kinds("echo ${x} <<") == ["unquoted"] and kinds("echo ${x} <<- \t") == ["unquoted"]
    assert kinds("echo x <<<'${x}' ${x}") == ["single", "unquoted"]
    assert kinds("cat <'${x}' ${x}") == ["single", "unquoted"]  # a plain redirection skips nothing


@pytest.mark.parametrize("script, expected", [
    ("echo \\${x}", [Place("unquoted", True)]),
    ("echo \\\\${x}", [Place("unquoted", False)]),
    ("echo \\\\\\${x}", [Place("unquoted", True)]),
    ("echo \"\\${x}\"", [Place("double", True)]),
    ("echo $'\\${x}'", [Place("ansi", True)]),
    ("# \\${x}\n\\${x}", [Place("comment", False), Place("unquoted", True)]),
    ("cat <<'E'\n\\${x}\nE", [Place("quoted_heredoc", False, "E")]),
    ("cat <<E\n\\${x}\nE", [Place("heredoc", True, "E")]),
    ("echo \\a${x}", [Place("unquoted", False)]),
    ("echo \\${x}${x}", [Place("unquoted", True), Place("unquoted", False)]),
    ("echo `\\${x}`", [Place("unquoted", True)]),
    ("echo $(\\${x})", [Place("unquoted", True)]),
])
def test_the_backslash_flag(script, expected):
    assert found(script) == expected


def test_a_span_in_a_heredocs_end_word_or_end_line_is_a_heredoc_word():
    # the scan steps over the operator's word and its end line: every span still gets a place
    assert found("cat <<${x}\n${x} '\n${x}\necho '${x}'") == [
        Place("heredoc_word"), Place("heredoc", False, "${x}"), Place("heredoc_word"), Place("single")]
    assert found("cat <<'a${x}'\n${x}\na${x}\n${x}") == [
        Place("heredoc_word"), Place("quoted_heredoc", False, "a${x}"), Place("heredoc_word"), Place("unquoted")]
    assert found("cat <<${x}\n${x}\n${x}") == [Place("heredoc_word"), Place("heredoc_word"), Place("unquoted")]


def test_a_place_is_a_frozen_value():
    place = Place("heredoc", False, "E")
    with pytest.raises(dataclasses.FrozenInstanceError):
        place.kind = "single"  # type: ignore[misc]
    assert {place, Place("heredoc", False, "E")} == {place}


def test_no_spans_no_places_and_a_script_of_only_a_span():
    assert places("echo 'a' \"b\" # c", []) == {}
    assert places("${x}", [(0, 4)]) == {0: Place("unquoted")}
