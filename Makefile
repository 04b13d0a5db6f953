# Two entry points: `make demo` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

MUTATE_STAMP := $(VENV)/.installed-mutate

.PHONY: demo test mutate install clean container-deps

# uv installs the packages (about 23 s into an empty venv with a cold cache, pip about 70 s); it is
# installed into the venv by pip (its download cache is ~/.cache/uv, as pip's is ~/.cache/pip).
# --compile-bytecode as pip does: with PYTHONDONTWRITEBYTECODE=1 (set on CI machines) nothing writes
# the .pyc files later, and every process would compile Prefect anew (import 8 s instead of 4.7 s).
# uv reads no pip.conf: where it cannot install (e.g. only a pip-configured mirror), pip does.
UV := $(VENV)/bin/uv
INSTALL = $(UV) pip install -q --compile-bytecode --python $(PY) $(1) || $(PY) -m pip install -q $(1)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(UV): | $(PY)
	$(PY) -m pip install -q uv

$(STAMP): pyproject.toml | $(UV)
	$(call INSTALL,-e .)
	touch $@

$(TEST_STAMP): pyproject.toml | $(UV)
	$(call INSTALL,-e '.[test]')
	touch $@ $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m flows.run workflow examples/hello/workflow.yaml --job examples/hello/job.json

# podman, runc, busybox-static for tests/runtime (real containers); quick no-op when present.
container-deps:
	@sh tests/support/install_podman.sh

test: $(TEST_STAMP) container-deps
	$(PY) -m pytest -q -n 4 --dist loadscope --durations=15

$(MUTATE_STAMP): pyproject.toml | $(UV)
	$(call INSTALL,-e '.[mutate]')
	touch $@ $(TEST_STAMP) $(STAMP)

# mutation testing of the safety-critical modules (not part of `make test`; see bench/mutation.md);
# MODULES="blocks/s3_errors.py tasks/runtime/repo_ops.py" for some of them
mutate: $(MUTATE_STAMP)
	$(PY) bench/mutate.py $(MODULES)

clean:
	rm -rf .labflows examples/*/storage/*/runs
