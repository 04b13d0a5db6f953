"""Substitution behaviours from the BayerCLAW reference (section 8: 1-3) and shell safety."""

import os
import subprocess

from tasks.bclaw.substitution import (
    job_data_resolver,
    substitute,
    substitute_image_tag,
    substitute_shell,
    symbol_resolver,
)


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
