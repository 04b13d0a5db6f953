"""Substitution behaviours from the BayerCLAW reference (section 8: 1-3) and shell safety."""

import os
import subprocess

import pytest

from tasks.bclaw.substitution import (
    SubstitutionError,
    job_data_resolver,
    substitute,
    substitute_image_tag,
    substitute_shell,
    symbol_resolver,
)
from tests.support.hostile import HOSTILE, hostile_values


def test_jmespath_lists_and_missing_values_follow_bclaw():
    data = {"x": "am", "y": {"z": "very"}, "p": [{}, {"what": "model"}], "q": ["modern", "major"]}
    text = "I ${x} the ${y.z} ${p[1].what} of a ${q} ${general}"
    assert substitute(text, job_data_resolver(data)) == "I am the very model of a ['modern', 'major'] ${general}"


def test_booleans_null_zero_empty_and_missing():
    job = {"job": {"boolean_T": True, "boolean_F": False, "null": None, "zero": 0, "empty_string": ""}}
    text = "${job.boolean_T} ${job.boolean_F} ${job.null} ${job.zero} <${job.empty_string}> ${job.not_found}"
    assert substitute(text, job_data_resolver(job)) == "True False ${job.null} 0 <> ${job.not_found}"


def test_image_substitution_touches_only_the_last_component():
    resolve = job_data_resolver({"a": "A", "b": "B", "c": "sea", "sub": "tag"})
    assert substitute_image_tag("probably:${a}/highly/${b}/illegal/${c}:${sub}", resolve) == \
        "probably:${a}/highly/${b}/illegal/sea:tag"


def test_invalid_jmespath_is_left_as_written():
    assert substitute("${HOME} ${1bad[}", job_data_resolver({})) == "${HOME} ${1bad[}"


def test_plain_values_substitute_textually_even_inside_single_quotes():
    out = substitute_shell("echo '${job.a}' \"${job.a}\" ${job.a}", job_data_resolver({"job": {"a": "plain-1.txt"}}))
    assert out.text == "echo 'plain-1.txt' \"plain-1.txt\" plain-1.txt"
    assert out.env == {}


def test_metacharacter_values_never_execute_in_any_quoting(tmp_path):
    evil = "$(touch PWNED1); `touch PWNED2`; touch PWNED3 'x\" \\"
    out = substitute_shell("echo ${job.e}; echo \"${job.e}\"; echo '${job.e}'",
                           job_data_resolver({"job": {"e": evil}}))
    assert evil not in out.text and "touch" not in out.text
    result = subprocess.run(["sh", "-eu", "-c", out.text], cwd=tmp_path, env={**os.environ, **out.env},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [evil, evil, evil]
    assert list(tmp_path.iterdir()) == []


def test_symbol_pass_uses_the_same_safety():
    out = substitute_shell("cat ${reads}", symbol_resolver({"reads": "a;b.txt"}), env_prefix="BC_SYMBOL_")
    assert out.text == 'cat "${BC_SYMBOL_1}"' and out.env == {"BC_SYMBOL_1": "a;b.txt"}


# ---- every value one word, in every quoting context, under sh (dash) and bash ---------------------------

# context -> (script template for one value ``${job.K}`` writing K.out, expected bytes from the value)
CONTEXTS = {
    "unquoted": ("printf '%s' ${job.K} > K.out", lambda v: v),
    "double": ("printf '%s' \"${job.K}\" > K.out", lambda v: v),
    "single": ("printf '%s' '${job.K}' > K.out", lambda v: v),
    "single_after_text": ("printf '%s' 'pre ${job.K} post' > K.out", lambda v: f"pre {v} post"),
    "heredoc": ("cat > K.out <<EOF\n${job.K}\nEOF", lambda v: v + "\n"),
    "heredoc_strip_tabs": ("cat > K.out <<-EOF\n\t${job.K}\n\tEOF", lambda v: v + "\n"),
    "after_comment": ("# it's a comment; ${job.K} too\nprintf '%s' ${job.K} > K.out", lambda v: v),
    "command_substitution": ("v=\"$(printf '%s.' ${job.K})\"\nprintf '%s' \"$v\" > K.out", lambda v: v + "."),
    "backticks": ("v=`printf '%s.' ${job.K}`\nprintf '%s' \"$v\" > K.out", lambda v: v + "."),
    "escaped_quote_before": ("printf '%s' \"\\\"\" ${job.K} > K.out", lambda v: '"' + v),
    "joined": ("printf '%s' x${job.K}y > K.out", lambda v: f"x{v}y"),
}


def _run_all(tmp_path, template: str, shell: str, keys, mode: str = "word"):
    """One script with ``template`` once per hostile value; returns (result, shell text, values, out dir, canaries)."""
    work = tmp_path / "work"
    work.mkdir()
    job = {k: v for k, v in hostile_values(tmp_path).items() if k in keys}
    script = "\n".join(template.replace("K", key) for key in job)
    out = substitute_shell(script, job_data_resolver({"job": job}), mode=mode)
    result = subprocess.run([shell, "-eu", "-c", out.text], cwd=work, env={**os.environ, **out.env},
                            capture_output=True, timeout=60)
    return result, out, job, work, tmp_path / "canaries"


@pytest.mark.parametrize("shell", ["sh", "bash"])
@pytest.mark.parametrize("context", sorted(CONTEXTS))
def test_every_value_is_one_word_in_every_context(tmp_path, context, shell):
    template, expected = CONTEXTS[context]
    result, out, job, work, canaries = _run_all(tmp_path, template, shell, HOSTILE)
    assert result.returncode == 0, result.stderr.decode()
    assert list(canaries.iterdir()) == []
    for key, value in job.items():
        assert (work / f"{key}.out").read_bytes() == expected(value).encode(), key
        assert value in out.env.values(), key  # passed as data, not pasted as text


def test_ansi_c_quotes_in_bash(tmp_path):
    result, _, job, work, canaries = _run_all(tmp_path, "printf '%s' $'a\\'${job.K}b' > K.out", "bash", HOSTILE)
    assert result.returncode == 0, result.stderr.decode()
    assert list(canaries.iterdir()) == []
    for key, value in job.items():
        assert (work / f"{key}.out").read_bytes() == f"a'{value}b".encode(), key


def test_star_in_rm_removes_nothing_else(tmp_path):
    (tmp_path / "keep.txt").write_text("k")
    out = substitute_shell("rm -f ${job.g} ${job.g}.txt", job_data_resolver({"job": {"g": "*"}}))
    subprocess.run(["sh", "-eu", "-c", out.text], cwd=tmp_path, env={**os.environ, **out.env}, check=True)
    assert (tmp_path / "keep.txt").read_text() == "k"


def test_safe_values_are_pasted_as_text_and_others_never():
    resolve = job_data_resolver({"job": {"ok": "S1_a-b.2/x:y@z%+,", "sp": "a b", "empty": "", "til": "~x",
                                         "eq": "A=1", "hash": "#1", "star": "*"}})
    out = substitute_shell("t ${job.ok} ${job.sp} ${job.empty} ${job.til} ${job.eq} ${job.hash} ${job.star}",
                           resolve)
    assert out.text == ('t S1_a-b.2/x:y@z%+, "${BC_VALUE_1}" "${BC_VALUE_2}" "${BC_VALUE_3}" "${BC_VALUE_4}" '
                        '"${BC_VALUE_5}" "${BC_VALUE_6}"')
    assert out.env == {"BC_VALUE_1": "a b", "BC_VALUE_2": "", "BC_VALUE_3": "~x", "BC_VALUE_4": "A=1",
                       "BC_VALUE_5": "#1", "BC_VALUE_6": "*"}


def test_quoted_heredoc_gets_the_text_and_refuses_line_breaks():
    script = "cat <<'EOF'\n${job.a} it's\nEOF\necho ${job.a}"
    out = substitute_shell(script, job_data_resolver({"job": {"a": "$(x) `y` a b"}}))
    assert out.text == "cat <<'EOF'\n$(x) `y` a b it's\nEOF\necho \"${BC_VALUE_1}\""
    for bad in ("x\ntouch C", "x\rEOF", "EOF"):
        with pytest.raises(SubstitutionError, match="quoted here-doc"):
            substitute_shell(script, job_data_resolver({"job": {"a": bad}}))


def test_value_after_a_backslash_is_refused_unless_plain():
    resolve = job_data_resolver({"job": {"a": "a b", "p": "plain"}})
    assert substitute_shell("echo \\${job.p}", resolve).text == "echo \\plain"
    with pytest.raises(SubstitutionError, match="backslash"):
        substitute_shell("echo \\${job.a}", resolve)


def test_symbols_keep_globs_but_not_spaces():
    resolve = symbol_resolver({"reads": "*.fq", "named": "my file.txt", "odd": "a[1].txt"})
    out = substitute_shell("cat ${reads} ${named} ${odd}", resolve, env_prefix="BC_SYMBOL_", globs=True)
    assert out.text == 'cat *.fq "${BC_SYMBOL_1}" a[1].txt' and out.env == {"BC_SYMBOL_1": "my file.txt"}


# ---- raw mode: BayerCLAW's textual pasting, metacharacters still data ------------------------------------

def test_raw_mode_pastes_plain_values_as_text_so_they_split_and_glob(tmp_path):
    (tmp_path / "a.txt").write_text("")
    (tmp_path / "b.txt").write_text("")
    resolve = job_data_resolver({"job": {"flags": "-x  -y", "pattern": "*.txt"}})
    out = substitute_shell("printf '[%s]' ${job.flags} ${job.pattern} \"${job.flags}\"", resolve, mode="raw")
    assert out.text == "printf '[%s]' -x  -y *.txt \"-x  -y\"" and out.env == {}
    result = subprocess.run(["sh", "-eu", "-c", out.text], cwd=tmp_path, capture_output=True, text=True)
    assert result.stdout == "[-x][-y][a.txt][b.txt][-x  -y]"


UNSAFE_IN_RAW = {k for k, v in HOSTILE.items() if any(c in v for c in "$`;&|<>()\"'\\\n")}


@pytest.mark.parametrize("context", ["unquoted", "double", "single", "heredoc", "after_comment",
                                     "command_substitution"])
def test_raw_mode_still_never_runs_metacharacters(tmp_path, context):
    template, expected = CONTEXTS[context]
    result, out, job, work, canaries = _run_all(tmp_path, template, "sh", UNSAFE_IN_RAW, mode="raw")
    assert result.returncode == 0, result.stderr.decode()
    assert list(canaries.iterdir()) == []
    for key, value in job.items():
        assert (work / f"{key}.out").read_bytes() == expected(value).encode(), key
    assert {"only_newline", "only_ampersand", "only_backtick", "only_redirect"} <= UNSAFE_IN_RAW


def test_quotes_inside_an_expression_do_not_count(tmp_path):
    out = substitute_shell("printf '[%s]' ${job.\"it's\"} ${job.none || 'it\\'s'} ${job.x} > out",
                           job_data_resolver({"job": {"it's": "q", "x": "a b"}}))
    subprocess.run(["sh", "-eu", "-c", out.text], cwd=tmp_path, env={**os.environ, **out.env}, check=True)
    assert (tmp_path / "out").read_text() == "[q][it's][a b]"


def test_an_assignment_value_in_command_position_is_not_an_assignment(tmp_path):
    out = substitute_shell("${job.a} sh -c 'printf %s \"$A\"' > out",
                           job_data_resolver({"job": {"a": "A=1"}}))
    result = subprocess.run(["sh", "-u", "-c", out.text], cwd=tmp_path, env={**os.environ, **out.env})
    assert result.returncode == 127 and (tmp_path / "out").read_text() == ""  # "A=1": command not found


def test_raw_mode_find_exec_runs_as_bclaw_would(tmp_path):
    """Why raw is opt-in: a plain-looking value becomes several arguments."""
    canary = tmp_path / "canary"
    out = substitute_shell("find . -name ${job.p} > /dev/null",
                           job_data_resolver({"job": {"p": f"nomatch -o -exec touch {canary} {{}} +"}}), mode="raw")
    subprocess.run(["sh", "-eu", "-c", out.text], cwd=tmp_path, check=True)
    assert canary.exists()
    word = substitute_shell("find . -name ${job.p} > /dev/null",
                            job_data_resolver({"job": {"p": f"nomatch -o -exec touch {canary}2 {{}} +"}}))
    subprocess.run(["sh", "-eu", "-c", word.text], cwd=tmp_path, env={**os.environ, **word.env}, check=True)
    assert not (tmp_path / "canary2").exists()


@pytest.mark.parametrize("mode", ["word", "raw"])
def test_a_plain_value_equal_to_the_heredoc_end_word_stays_in_the_heredoc(tmp_path, mode):
    script = "cat > out <<EOF\n${job.a}\nEOF\ncat > out2 <<'END'\n${job.b}\nEND"
    with pytest.raises(SubstitutionError, match="END"):
        substitute_shell(script, job_data_resolver({"job": {"a": "EOF", "b": "END"}}), mode=mode)
    out = substitute_shell(script, job_data_resolver({"job": {"a": "EOF", "b": "x"}}), mode=mode)
    subprocess.run(["sh", "-eu", "-c", out.text], cwd=tmp_path, env={**os.environ, **out.env}, check=True)
    assert (tmp_path / "out").read_text() == "EOF\n" and (tmp_path / "out2").read_text() == "x\n"
