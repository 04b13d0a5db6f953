"""tasks/bclaw/substitution.py and shell_context.py: the edges the shell-level tests leave open.

Written for the survivors of ``make mutate`` (bench/mutation.md); with test_substitution.py and
test_shell_context.py they are the tests the two modules' mutants are judged by (no conftest).
"""

from __future__ import annotations

import string

import pytest

from tasks.bclaw.substitution import (
    SubstitutionError,
    ShellText,
    is_plain,
    is_word,
    job_data_resolver,
    pastes_as_text,
    substitute_all,
    substitute_shell,
    symbol_resolver,
)

EVERY_WORD_CHARACTER = string.ascii_letters + string.digits + "_./:@%+,-"


def test_substitute_all_goes_through_dicts_and_lists_and_leaves_keys_and_other_values():
    resolve = job_data_resolver({"job": {"a": "A", "n": 3}})
    value = {"${job.a}": ["x${job.a}", {"k": "${job.n}"}, 7, None], "s": "${job.a}", "t": True}
    assert substitute_all(value, resolve) == {"${job.a}": ["xA", {"k": "3"}, 7, None], "s": "A", "t": True}
    assert substitute_all("${job.a}", resolve) == "A"
    assert substitute_all(5, resolve) == 5


def test_a_word_may_use_every_safe_character_at_once_and_nothing_else():
    assert is_word(EVERY_WORD_CHARACTER)
    assert is_word(EVERY_WORD_CHARACTER + "*?[]", globs=True)
    assert not is_word("")
    for ch in " \t\n*?[]{}~=#!$`'\"\\;&|<>()^":
        assert not is_word(f"a{ch}b"), ch


def test_globs_are_words_only_when_asked_for():
    for pattern in ("*.fq", "r?.txt", "a[12].txt"):
        assert not is_word(pattern)
        assert is_word(pattern, globs=True)
        assert not pastes_as_text(pattern, "word")
        assert pastes_as_text(pattern, "word", globs=True)
    assert not is_word("a b*", globs=True)


def test_globs_is_keyword_only():
    with pytest.raises(TypeError):
        is_word("*", True)  # type: ignore[misc]
    with pytest.raises(TypeError):
        pastes_as_text("*", "word", True)  # type: ignore[misc]


def test_raw_mode_pastes_whatever_has_no_metacharacter():
    assert pastes_as_text("a b *.txt ~ {x,y}", "raw")
    assert not pastes_as_text("a b", "word")
    for ch in "$`;&|<>()\"'\\\n\r":
        assert not is_plain(f"a{ch}b"), repr(ch)
        assert not pastes_as_text(f"a{ch}b", "raw"), repr(ch)


def test_an_unresolved_expression_stays_as_written_and_the_next_one_is_still_substituted():
    out = substitute_shell("echo ${HOME} ${job.missing} ${job.a} '${job.b}' ${job.a}",
                           job_data_resolver({"job": {"a": "A", "b": "b c"}}))
    assert out.text == "echo ${HOME} ${job.missing} A ''\"${BC_VALUE_1}\"'' A"
    assert out.env == {"BC_VALUE_1": "b c"}


def test_a_second_pass_keeps_the_first_passes_variables_and_numbers_on():
    first = substitute_shell("cp ${job.a} ${out}", job_data_resolver({"job": {"a": "x y"}}))
    assert first.text == 'cp "${BC_VALUE_1}" ${out}'
    second = substitute_shell(first, symbol_resolver({"out": "o p"}), env_prefix="BC_SYMBOL_")
    assert second.text == 'cp "${BC_VALUE_1}" "${BC_SYMBOL_2}"'
    assert second.env == {"BC_VALUE_1": "x y", "BC_SYMBOL_2": "o p"}
    assert first.env == {"BC_VALUE_1": "x y"}  # not changed by the second pass
    assert substitute_shell(ShellText("t"), symbol_resolver({})) == ShellText("t", {})


def test_a_quoted_heredoc_value_is_text_and_needs_no_variable():
    out = substitute_shell("cat <<'EOF'\n${job.a}\nEOF\nprintf %s \"${job.a}\"",
                           job_data_resolver({"job": {"a": "a b $x"}}))
    assert out.text == "cat <<'EOF'\na b $x\nEOF\nprintf %s \"${BC_VALUE_1}\""
    assert out.env == {"BC_VALUE_1": "a b $x"}


def test_the_mode_is_compared_by_value_not_identity():
    raw = "".join(["r", "aw"])  # equal to "raw", another object (as read from a file or a parameter)
    out = substitute_shell("ls ${job.p}", job_data_resolver({"job": {"p": "*.txt"}}), mode=raw)  # type: ignore[arg-type]
    assert out.text == "ls *.txt" and out.env == {}
    assert pastes_as_text("a b", raw)  # type: ignore[arg-type]


def test_a_refusal_names_the_expression_as_written():
    resolve = job_data_resolver({"job": {"a": "x\ny", "b": "b c"}})
    with pytest.raises(SubstitutionError) as info:
        substitute_shell("cat <<'EOF'\n${job.a}\nEOF", resolve)
    assert str(info.value) == ("${job.a}: a value with a line break (or the here-doc's end word 'EOF') "
                               "cannot go into a quoted here-doc")
    with pytest.raises(SubstitutionError) as info:
        substitute_shell("echo \\${job.b}", resolve)
    assert str(info.value) == ("${job.b}: a backslash right before it would escape the quoting of its value; "
                               "remove the backslash")


def test_a_heredoc_end_word_takes_a_plain_word_as_text_and_refuses_anything_else():
    script = "cat <<${job.end}\n${job.end} x\n${job.end}\necho done"
    out = substitute_shell(script, job_data_resolver({"job": {"end": "END"}}))
    assert out == ShellText("cat <<END\nEND x\nEND\necho done", {})  # the same word in both places
    for value in ("E F", "$(touch c)", "E\nF", "*"):
        with pytest.raises(SubstitutionError) as info:
            substitute_shell(script, job_data_resolver({"job": {"end": value}}))
        assert str(info.value) == ("${job.end}: in a here-doc's end word the shell expands nothing; only a "
                                   "value that is one plain word can go there")
    with pytest.raises(SubstitutionError):
        substitute_shell("cat <<'${job.end}'\nx\n'${job.end}'", job_data_resolver({"job": {"end": "a b"}}))
