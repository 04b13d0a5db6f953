"""Turning a ``Steps`` list of a workflow document into step models, with located problems.

Steps are ``- StepName: {spec}`` single-key maps. A step's kind comes from the first of its
keys found in :data:`KIND_KEYS`. Each step is validated on its own so that every broken step is
reported; rules spanning several fields or steps (``next`` targets, unique names and symbols,
choosers, nested scatters) are checked here with the positions of the keys involved.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ValidationError

from specs.source import Loc, Problem, SourceDoc
from specs.suggest import closest
from specs.workflow.paths import step_path_problems
from specs.workflow.steps import (
    Branch,
    ChooserStep,
    CommandStep,
    NativeStep,
    ParallelStep,
    ScatterStep,
    Step,
    SubpipeStep,
)

# (key that marks the kind, kind, model), in BayerCLAW's detection order
KIND_KEYS: tuple[tuple[str, str, type[BaseModel]], ...] = (
    ("scatter", "scatter", ScatterStep),
    ("commands", "command", CommandStep),
    ("subpipe", "subpipe", SubpipeStep),
    ("Type", "native", NativeStep),
    ("choices", "chooser", ChooserStep),
    ("branches", "parallel", ParallelStep),
)
_FLOW_KEYS = {"next": "next", "Next": "next", "end": "end", "End": "end"}
_RESERVED = ("name", "kind")  # model fields that are not YAML keys
# where users put keys by mistake (the BayerCLAW docs show some of these)
_HINTS = {
    "filesystems": "filesystems belongs to the step itself, not under compute",
    "timeout": "timeout belongs to the step itself, not under retry",
    "consumes": "consumes belongs under compute",
}


@dataclass
class StepParser:
    """Parses nested step lists of one document, collecting every problem."""

    doc: SourceDoc
    problems: list[Problem] = field(default_factory=list)
    seen_names: dict[str, Loc] = field(default_factory=dict)

    def problem(self, loc: Loc, message: str, *, key: bool = False) -> None:
        """Record a problem at ``loc``."""
        self.problems.append(self.doc.problem(loc, message, key=key))

    # ---- lists ----------------------------------------------------------------------------
    def steps(self, raw: Any, loc: Loc, *, in_scatter: bool = False) -> tuple[list[Step], bool]:
        """The steps of the list at ``loc``; the flag is False when any problem was found in it."""
        before = len(self.problems)
        if not isinstance(raw, list) or not raw:
            self.problem(loc, "must be a non-empty list of steps like '- StepName: {...}'")
            return [], False
        built: list[tuple[Step, Loc]] = []
        names: list[str] = []
        for i, item in enumerate(raw):
            if not isinstance(item, dict) or len(item) != 1:
                self.problem((*loc, i), "each step must be a single-key map: '- StepName: {spec}'")
                continue
            (raw_name, spec), = item.items()
            name = str(raw_name)
            names.append(name)
            step_loc = (*loc, i, raw_name)
            self._claim_name(name, step_loc)
            step = self.step(name, spec, step_loc, in_scatter=in_scatter)
            if step is not None:
                built.append((step, step_loc))
        last = raw[-1]
        last_name = str(next(iter(last))) if isinstance(last, dict) and len(last) == 1 else None
        self._check_flow(built, names, last_name)
        return [s for s, _ in built], len(self.problems) == before

    def _claim_name(self, name: str, loc: Loc) -> None:
        if name in self.seen_names:
            where = self.doc.spelled(self.seen_names[name])
            self.problem(loc, f"duplicate step name {name!r} (also at {where})", key=True)
        else:
            self.seen_names[name] = loc

    def _check_flow(self, built: list[tuple[Step, Loc]], names: list[str], last_name: str | None) -> None:
        """``next`` targets exist in the same list; a simple chooser has somewhere to fall through to."""
        known = set(names)
        choices = ", ".join(names)
        for step, loc in built:
            if step.next is not None and step.next not in known:
                self.problem((*loc, "next"), f"no step named {step.next!r} in this list ({choices})")
            if isinstance(step, ChooserStep):
                for j, choice in enumerate(step.choices):
                    if choice.next not in known:
                        self.problem((*loc, "choices", j, "next"),
                                     f"no step named {choice.next!r} in this list ({choices})")
                if step.name == last_name and step.next is None:
                    self.problem(loc, "a simple chooser cannot be the last step: add a step after it "
                                      "(taken when no condition holds) or give it 'next'", key=True)

    # ---- one step -------------------------------------------------------------------------
    def step(self, name: str, spec: Any, loc: Loc, *, in_scatter: bool) -> Step | None:
        """One step's model, or None when it has problems (recorded)."""
        if not isinstance(spec, dict):
            self.problem(loc, f"a step must be a map of keys like 'commands:', not {_what(spec)}")
            return None
        found = next(((key, kind, model) for key, kind, model in KIND_KEYS if key in spec), None)
        if found is None:
            kind_keys = [key for key, _kind, _model in KIND_KEYS]
            typo = next(((k, m) for k in spec if (m := closest(str(k), kind_keys))), None)
            hint = f": did you mean {typo[1]!r} (not {typo[0]!r})?" if typo else ""
            self.problem(loc, "step has no 'commands' (nor scatter, subpipe, Type, choices or "
                              f"branches, which mark the other step kinds){hint}", key=True)
            return None
        _, kind, model = found
        if kind == "scatter" and in_scatter:
            self.problem(loc, "nested scatter is not supported: a scatter step cannot run inside "
                              "another scatter step", key=True)
            return None
        before = len(self.problems)
        data = self._native_data(spec, loc) if kind == "native" else self._fields(spec, loc)
        if data is None:
            return None
        self._check_exclusive(spec, loc, kind)
        nested_ok = self._nested(kind, data, loc, in_scatter=in_scatter or kind == "scatter")
        step = self._validate(model, {**data, "name": name, "kind": kind}, loc, skip_nested=not nested_ok)
        if step is not None:
            self._check_symbols(step, loc)
            self._check_paths(step, loc)
        return step if len(self.problems) == before else None

    def _fields(self, spec: dict, loc: Loc) -> dict | None:
        """The spec with Next/End spelled as model fields; reserved or repeated keys are problems."""
        data: dict[str, Any] = {}
        ok = True
        for key, value in spec.items():
            field_name = _FLOW_KEYS.get(key, key)
            if key in _RESERVED:
                self.problem((*loc, key), "unknown key", key=True)
                ok = False
            elif field_name in data:
                self.problem((*loc, key), f"{field_name!r} is given twice ({field_name} and {key})", key=True)
                ok = False
            else:
                data[field_name] = value
        return data if ok else None

    def _native_data(self, spec: dict, loc: Loc) -> dict | None:
        data: dict[str, Any] = {"type": spec["Type"], "spec": {}}
        for key, value in spec.items():
            if key == "Type":
                continue
            if key in _FLOW_KEYS:
                if _FLOW_KEYS[key] in data:
                    self.problem((*loc, key), f"{_FLOW_KEYS[key]!r} is given twice", key=True)
                    return None
                data[_FLOW_KEYS[key]] = value
            else:
                data["spec"][key] = value
        return data

    def _check_exclusive(self, spec: dict, loc: Loc, kind: str) -> None:
        present = {_FLOW_KEYS.get(k, k): k for k in spec}
        if "next" in present and "end" in present and spec[present["end"]] is True:
            self.problem((*loc, present["end"]), "a step cannot have both 'next' and 'end'", key=True)
        if kind == "chooser" and "end" in present:
            self.problem((*loc, present["end"]), "a simple chooser cannot end its steps: branch to a "
                                                 "native Succeed or Fail step instead", key=True)
        if "skip_on_rerun" in present and "skip_if_output_exists" in present:
            second = max(("skip_on_rerun", "skip_if_output_exists"), key=list(spec).index)
            self.problem((*loc, second), "only one of 'skip_on_rerun' or 'skip_if_output_exists' "
                                         "is allowed", key=True)

    def _nested(self, kind: str, data: dict, loc: Loc, *, in_scatter: bool) -> bool:
        """Replace nested step lists in ``data`` by models; False when any of them had problems."""
        if kind == "scatter" and "steps" in data:
            data["steps"], ok = self.steps(data["steps"], (*loc, "steps"), in_scatter=True)
            return ok
        if kind == "parallel" and "branches" in data:
            data["branches"], ok = self._branches(data["branches"], (*loc, "branches"),
                                                  in_scatter=in_scatter, native=False)
            return ok
        if kind == "native" and data["type"] == "Parallel":
            key = next((k for k in data["spec"] if str(k).lower() == "branches"), None)
            if key is None:
                self.problem(loc, "a native Parallel step needs Branches: [{steps: [...]}, ...]", key=True)
                return False
            branches, ok = self._branches(data["spec"][key], (*loc, key), in_scatter=in_scatter, native=True)
            data["branches"] = [Branch(steps=b["steps"]) for b in branches] if ok else []
            return ok
        return True

    def _branches(self, raw: Any, loc: Loc, *, in_scatter: bool, native: bool) -> tuple[list, bool]:
        """Branches (``{if?, steps}``; native: ``{steps}``) with their steps parsed."""
        if native and not isinstance(raw, list):
            self.problem(loc, "Branches must be a list of {steps: [...]} maps")
            return [], False
        is_list = isinstance(raw, list)
        out: list[Any] = []
        ok = True
        for j, branch in enumerate(raw if is_list else [raw]):
            where = (*loc, j) if is_list else loc
            if not isinstance(branch, dict):
                self.problem(where, "a branch must be a map with 'steps' (and an optional 'if')")
                ok = False
                continue
            for extra in (k for k in branch if k != "steps") if native else ():
                self.problem((*where, extra), "unknown key (a native Parallel branch has only steps)",
                             key=True)
                ok = False
            if "steps" not in branch:
                if native:
                    self.problem(where, "a branch needs 'steps'")
                    ok = False
                out.append(branch)  # a chooser branch: the model reports the missing key
                continue
            steps, steps_ok = self.steps(branch["steps"], (*where, "steps"), in_scatter=in_scatter)
            ok = ok and steps_ok
            out.append({**branch, "steps": steps})
        return out, ok

    def _validate(self, model: type[BaseModel], data: dict, loc: Loc, *, skip_nested: bool) -> Any:
        try:
            return model.model_validate(data)
        except ValidationError as err:
            problems = self.doc.problems_from(err, loc, model)
        if skip_nested:  # nested steps already reported their own problems
            nested = [self.doc.spelled((*loc, k)) for k in ("steps", "branches")]
            problems = [p for p in problems if not any(p.path.startswith(n) for n in nested)]
        self.problems.extend(_with_hint(p) for p in problems)
        return None

    def _check_paths(self, step: Step, loc: Loc) -> None:
        """Names that become folders and paths that become files or keys stay inside their roots."""
        for sub, kind, message in step_path_problems(step):
            self.problem((*loc, *sub), message, key=kind == "folder")

    def _check_symbols(self, step: Step, loc: Loc) -> None:
        """Symbols are unique across inputs, outputs and references (a scatter: inputs, outputs)."""
        if isinstance(step, CommandStep):
            declared = step.symbols()
        elif isinstance(step, ScatterStep):
            declared = {}
            for f in ("inputs", "outputs"):
                for sym in getattr(step, f) or {}:
                    declared.setdefault(sym.rstrip("?"), []).append(f)
        else:
            return
        dupes = sorted(s for s, fields in declared.items() if len(fields) > 1)
        if dupes:
            self.problem(loc, f"duplicated keys: {', '.join(dupes)} (symbols must be unique across "
                              f"inputs, outputs and references)", key=True)


def _what(value: Any) -> str:
    return "nothing" if value is None else f"a {type(value).__name__}"


def _with_hint(p: Problem) -> Problem:
    last = p.path.rsplit(".", 1)[-1]
    if p.message == "unknown key" and last in _HINTS:
        return replace(p, message=f"unknown key: {_HINTS[last]}")
    return p


def step_order(steps: list[Step]) -> dict[str, str | None]:
    """Each step's successor (None: the end), as BayerCLAW orders steps.

    An explicit ``next`` wins; ``end`` ends; otherwise the following step; the last step ends.
    """
    order: dict[str, str | None] = {}
    for i, step in enumerate(steps):
        if step.next is not None:
            order[step.name] = step.next
        elif step.end or i + 1 == len(steps):
            order[step.name] = None
        else:
            order[step.name] = steps[i + 1].name
    return order
