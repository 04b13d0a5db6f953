"""The podman fixture never lets a container test pass without a container: skip or fail, one line."""

from __future__ import annotations

import os

import pytest

from tests.support import podman as podman_support


@pytest.mark.parametrize(("root", "apt", "required", "outcome"), [
    (False, None, None, pytest.skip.Exception),  # cannot install here: skip, saying why
    (True, None, None, pytest.skip.Exception),
    (True, "/usr/bin/apt-get", None, pytest.fail.Exception),  # should have been installed: fail
    (False, None, "1", pytest.fail.Exception),  # required: fail
])
def test_no_podman_skips_or_fails_with_one_line(monkeypatch, tmp_path, root, apt, required, outcome):
    monkeypatch.setattr(os, "geteuid", lambda: 0 if root else 1000)
    monkeypatch.setattr(podman_support.shutil, "which", lambda name: apt if name == "apt-get" else None)
    if required:
        monkeypatch.setenv("LABFLOWS_REQUIRE_CONTAINERS", required)
    else:
        monkeypatch.delenv("LABFLOWS_REQUIRE_CONTAINERS", raising=False)
    with pytest.raises(outcome) as info:
        podman_support.build_podman(tmp_path)
    message = str(info.value)
    assert message.startswith("real containers: no `podman` on PATH") and "\n" not in message
