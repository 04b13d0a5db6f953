"""A small, safe evaluator for the Python expressions of choosers and QC checks.

BayerCLAW ``eval``s chooser conditions and ``stop_early_if`` lines. labflows never evaluates
user text as code: the text is parsed with :func:`ast.parse` and the tree is walked here,
allowing only literals, names, comparisons, arithmetic, boolean logic, conditional expressions,
subscripts, attribute access *as dictionary-key access* (``job.sample.kind``), container
literals, calls to a fixed list of functions and string methods (``x.startswith('w')``), plus
``math.*`` and a few ``re.*`` functions when the caller allows them. Everything else is refused
when the expression is compiled, so a workflow's validation reports it.

Bounds: arithmetic made of constants is worked out when the expression is compiled, so
``10**10**10`` (or a constant exponent no integer result could survive) is refused by
``validate``; at run time every power, repetition and result is checked against the same
bounds before it is built. ``re.*`` runs on RE2 (:mod:`specs.workflow.regex`), in linear time.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass
from typing import Any, Callable

from specs.workflow import regex

MAX_EXPRESSION_LENGTH = 10_000
MAX_SEQUENCE_LENGTH = 1_000_000  # longest string/list an expression may build
MAX_INT_BITS = 100_000  # largest integer an expression may build
MAX_FACTORIAL = 1_000
MAX_NESTED_REPEAT = 10_000  # items when repeating a sequence of containers

_BUILTINS: dict[str, Callable[..., Any]] = {
    f.__name__: f for f in (len, min, max, abs, round, int, float, str, bool, sum, any, all, sorted)
}
# str methods BayerCLAW's eval'd conditions use ("x.startswith('w')"); each runs in linear time and
# returns at most its input's size (no replace/join/center: those can build huge strings).
_STR_METHODS = frozenset({
    "startswith", "endswith", "lower", "upper", "casefold", "strip", "lstrip", "rstrip", "split", "rsplit",
    "find", "rfind", "count", "isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper", "title",
    "capitalize",
})
_RE_FUNCTIONS = {name: getattr(regex, name) for name in ("match", "search", "fullmatch", "findall")}
_RE_FLAGS = {name: getattr(re, name) for name in
             ("I", "IGNORECASE", "M", "MULTILINE", "S", "DOTALL", "X", "VERBOSE", "A", "ASCII")}
_MATH_MEMBERS = {name: getattr(math, name) for name in dir(math) if not name.startswith("_")}

_BIN_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY_OPS: dict[type, Callable[[Any], Any]] = {
    ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_,
}
_COMPARE_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_CONSTANT_TYPES = (str, int, float, bool, type(None))


class ExpressionError(ValueError):
    """An expression is malformed, uses something not allowed, or failed to evaluate."""


@dataclass(frozen=True)
class _Namespace:
    """``math`` or ``re`` as seen by expressions: a fixed set of members."""

    name: str
    members: dict[str, Any]


_MATH = _Namespace("math", _MATH_MEMBERS)
_RE = _Namespace("re", {**_RE_FUNCTIONS, **_RE_FLAGS})


def _check_tree(node: ast.AST) -> None:
    """Refuse, at compile time, every construct outside the allow-list."""
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Expression, ast.Load, ast.boolop, ast.cmpop, ast.keyword)):
            continue
        if isinstance(sub, (ast.operator, ast.unaryop)):
            if type(sub) not in _BIN_OPS and type(sub) not in _UNARY_OPS:
                raise ExpressionError(f"operator {type(sub).__name__} is not allowed")
            continue
        if isinstance(sub, ast.Constant):
            if not isinstance(sub.value, _CONSTANT_TYPES):
                raise ExpressionError(f"constant {sub.value!r} is not allowed")
        elif isinstance(sub, ast.Name):
            if sub.id.startswith("_"):
                raise ExpressionError(f"name {sub.id!r} is not allowed (starts with '_')")
        elif isinstance(sub, ast.Attribute):
            if sub.attr.startswith("_"):
                raise ExpressionError(f"attribute {sub.attr!r} is not allowed (starts with '_')")
        elif isinstance(sub, ast.Call):
            _check_call(sub)
        elif not isinstance(sub, (ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp,
                                  ast.Subscript, ast.Slice, ast.List, ast.Tuple, ast.Dict)):
            raise ExpressionError(f"{_describe(sub)} is not allowed in an expression")
        if isinstance(sub, ast.Call) and any(k.arg is None for k in sub.keywords):
            raise ExpressionError("'**' arguments are not allowed")
        if isinstance(sub, ast.Dict) and any(k is None for k in sub.keys):
            raise ExpressionError("'**' in a dict literal is not allowed")


def _check_call(call: ast.Call) -> None:
    func = call.func
    if isinstance(func, ast.Name) and func.id in _BUILTINS:
        pass
    elif (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
          and func.value.id in ("math", "re")):
        members = _MATH_MEMBERS if func.value.id == "math" else _RE_FUNCTIONS
        if func.attr not in members or not callable(members[func.attr]):
            raise ExpressionError(f"{func.value.id}.{func.attr}() is not allowed")
    elif isinstance(func, ast.Attribute) and func.attr in _STR_METHODS:
        pass  # a string method; the evaluator checks that the value is a string
    else:
        allowed = ", ".join(sorted(_BUILTINS))
        raise ExpressionError(f"{ast.unparse(func)}() is not allowed: only {allowed}, math.*, "
                              f"re.match/search/fullmatch/findall and string methods may be called")


def _describe(node: ast.AST) -> str:
    names = {"Lambda": "lambda", "ListComp": "a comprehension", "SetComp": "a comprehension",
             "DictComp": "a comprehension", "GeneratorExp": "a generator expression",
             "NamedExpr": "':='", "JoinedStr": "an f-string", "Await": "await",
             "Yield": "yield", "YieldFrom": "yield", "Starred": "'*'", "Set": "a set literal"}
    return names.get(type(node).__name__, type(node).__name__)


class Expression:
    """A checked expression, ready to be evaluated any number of times."""

    def __init__(self, text: str, tree: ast.Expression):
        self.text = text
        self._tree = tree

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def variables(self) -> list[str]:
        """The names the expression reads, in order of first use (``a < b and a > 0``: ``a``, ``b``)."""
        return list(dict.fromkeys(n.id for n in ast.walk(self._tree) if isinstance(n, ast.Name)))

    def evaluate(self, names: dict[str, Any], *, with_math_re: bool = False) -> Any:
        """The expression's value with ``names`` as variables; ``math``/``re`` when allowed.

        Raises :class:`ExpressionError` for unknown names, missing keys, type errors and the like.
        """
        scope = dict(names)
        if with_math_re:
            scope.setdefault("math", _MATH)
            scope.setdefault("re", _RE)
        try:
            result = _Evaluator(scope).eval(self._tree.body)
        except ExpressionError:
            raise
        except RecursionError:
            raise ExpressionError(f"{self.text}: expression is nested too deeply") from None
        except Exception as exc:  # TypeError, ZeroDivisionError, re.error, OverflowError, …
            raise ExpressionError(f"{self.text}: {type(exc).__name__}: {exc}") from None
        if isinstance(result, _Namespace):
            raise ExpressionError(f"{self.text}: '{result.name}' is not a value")
        return result


def compile_expression(text: str) -> Expression:
    """Parse and check ``text``; raises :class:`ExpressionError` when it is malformed or not allowed."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be a string, not {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ExpressionError("empty expression")
    if len(stripped) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"invalid expression: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"invalid expression: {exc}") from None
    try:
        _check_tree(tree)
        _check_constants(tree)
    except RecursionError:
        raise ExpressionError("expression is nested too deeply") from None
    return Expression(stripped, tree)


def _check_constants(tree: ast.Expression) -> None:
    """Work out the constant parts of a checked tree now, so their errors show at validation.

    Refuses ``10**10**10``, ``'a' * 10**9`` and the like, constant exponents too large for any
    integer base but 0 and ±1 (``job.n ** 10**6``), and constant patterns RE2 cannot compile.
    Each largest constant sub-tree is evaluated once (children are visited before parents).
    """
    nodes = list(ast.walk(tree))
    constant: dict[int, bool] = {}
    for node in reversed(nodes):  # breadth-first order reversed: children first
        operands = [c for c in ast.iter_child_nodes(node) if not isinstance(c, (ast.operator, ast.unaryop))]
        constant[id(node)] = isinstance(node, ast.Constant) or (
            isinstance(node, (ast.BinOp, ast.UnaryOp)) and all(constant[id(c)] for c in operands))
    values: dict[int, Any] = {}
    for node in nodes:
        for child in ast.iter_child_nodes(node):
            if constant.get(id(child)) and not constant[id(node)]:
                values[id(child)] = _fold(child)
    if constant[id(tree.body)]:
        values[id(tree.body)] = _fold(tree.body)
    for node in nodes:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and id(node.right) in values:
            exponent = values[id(node.right)]
            if _is_int(exponent) and exponent > MAX_INT_BITS:
                raise ExpressionError(f"invalid expression: exponent {exponent} is too large "
                                      f"(at most {MAX_INT_BITS})")
        if _is_re_call(node) and node.args and isinstance(node.args[0], ast.Constant):
            try:
                regex.match(node.args[0].value, "")
            except regex.RegexError as exc:
                raise ExpressionError(f"invalid expression: {exc}") from None


def _fold(node: ast.AST) -> Any:
    """The value of a constant sub-tree, or None when it fails in a way that may never be reached.

    Exceeding a size bound is a compile error whatever the branch; other failures (``1/0`` in
    ``0 and 1/0``) are left to evaluation, where short-circuiting may skip them.
    """
    try:
        return _Evaluator({}).eval(node)
    except ExpressionError as exc:
        raise ExpressionError(f"invalid expression: {exc}") from None
    except OverflowError:
        raise ExpressionError("invalid expression: a number in it is too large (overflow)") from None
    except (ArithmeticError, TypeError, ValueError, IndexError, KeyError):
        return None


def _is_re_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "re")


class _Evaluator:
    """Walks a checked tree; every node type handled here was allowed by :func:`_check_tree`."""

    def __init__(self, scope: dict[str, Any]):
        self.scope = scope

    def eval(self, node: ast.AST) -> Any:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:  # cannot happen for checked trees
            raise ExpressionError(f"{_describe(node)} is not allowed in an expression")
        return method(node)

    def _Constant(self, node: ast.Constant) -> Any:
        return node.value

    def _Name(self, node: ast.Name) -> Any:
        if node.id not in self.scope:
            raise ExpressionError(f"unknown name {node.id!r}")
        return self.scope[node.id]

    def _Attribute(self, node: ast.Attribute) -> Any:
        base = self.eval(node.value)
        if isinstance(base, dict):
            if node.attr not in base:
                raise ExpressionError(f"no key {node.attr!r} (keys: {', '.join(map(str, base)) or 'none'})")
            return base[node.attr]
        if isinstance(base, _Namespace):
            if node.attr not in base.members:
                raise ExpressionError(f"{base.name}.{node.attr} is not allowed")
            member = base.members[node.attr]
            if callable(member):
                raise ExpressionError(f"{base.name}.{node.attr} can only be called")
            return member
        raise ExpressionError(f"cannot read .{node.attr} of a {type(base).__name__} "
                              f"(attribute access works on mappings only)")

    def _Subscript(self, node: ast.Subscript) -> Any:
        base = self.eval(node.value)
        if not isinstance(base, (dict, list, tuple, str)):
            raise ExpressionError(f"cannot index a {type(base).__name__}")
        return base[self.eval(node.slice)]

    def _Slice(self, node: ast.Slice) -> slice:
        parts = (None if p is None else self.eval(p) for p in (node.lower, node.upper, node.step))
        return slice(*parts)

    def _List(self, node: ast.List) -> list:
        return [self.eval(e) for e in node.elts]

    def _Tuple(self, node: ast.Tuple) -> tuple:
        return tuple(self.eval(e) for e in node.elts)

    def _Dict(self, node: ast.Dict) -> dict:
        return {self.eval(k): self.eval(v) for k, v in zip(node.keys, node.values)}

    def _BoolOp(self, node: ast.BoolOp) -> Any:
        is_and = isinstance(node.op, ast.And)
        value: Any = None
        for sub in node.values:
            value = self.eval(sub)
            if bool(value) != is_and:  # and: stop at the first falsy; or: at the first truthy
                return value
        return value

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        return _UNARY_OPS[type(node.op)](self.eval(node.operand))

    def _BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.eval(node.left), self.eval(node.right)
        op = type(node.op)
        if op is ast.Pow:
            _check_power(left, right)
        elif op is ast.Mult:
            _check_repeat(left, right)
            _check_repeat(right, left)
        return _check_size(_BIN_OPS[op](left, right))

    def _Compare(self, node: ast.Compare) -> bool:
        left = self.eval(node.left)
        for op, comp in zip(node.ops, node.comparators):
            right = self.eval(comp)
            if not _COMPARE_OPS[type(op)](left, right):
                return False
            left = right
        return True

    def _IfExp(self, node: ast.IfExp) -> Any:
        return self.eval(node.body) if self.eval(node.test) else self.eval(node.orelse)

    def _Call(self, node: ast.Call) -> Any:
        func = node.func
        if isinstance(func, ast.Name):
            fn = _BUILTINS[func.id]
        else:
            assert isinstance(func, ast.Attribute)
            base = self.eval(func.value)
            if isinstance(base, str) and func.attr in _STR_METHODS:
                fn = getattr(base, func.attr)
            elif not isinstance(base, _Namespace) or func.attr not in base.members:
                raise ExpressionError(f"{ast.unparse(func)}() is not allowed")
            else:
                fn = base.members[func.attr]
        args = [self.eval(a) for a in node.args]
        kwargs = {k.arg: self.eval(k.value) for k in node.keywords}
        _check_call_args(fn, args)
        return _check_size(fn(*args, **kwargs))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_power(base: Any, exponent: Any) -> None:
    if _is_int(base) and _is_int(exponent) and exponent > 0:
        if max(abs(base).bit_length(), 1) * exponent > MAX_INT_BITS and abs(base) > 1:
            raise ExpressionError(f"{base} ** {exponent} is too large")


def _check_repeat(seq: Any, count: Any) -> None:
    if isinstance(seq, (str, list, tuple)) and _is_int(count):
        limit = MAX_SEQUENCE_LENGTH
        if not isinstance(seq, str) and any(isinstance(x, (list, tuple, dict)) for x in seq):
            limit = MAX_NESTED_REPEAT  # repeated containers multiply the size of everything built on them
        if len(seq) * count > limit:
            raise ExpressionError(f"repetition would build {len(seq) * count} items (at most {limit})")


def _check_size(value: Any) -> Any:
    if _is_int(value) and value.bit_length() > MAX_INT_BITS:
        raise ExpressionError("integer result is too large")
    if isinstance(value, (str, list, tuple)) and len(value) > MAX_SEQUENCE_LENGTH:
        raise ExpressionError(f"result is longer than {MAX_SEQUENCE_LENGTH}")
    return value


def _check_call_args(fn: Callable[..., Any], args: list[Any]) -> None:
    """Guard the few math functions whose cost grows without bound with their arguments."""
    if fn is sum:
        items = list(args[0]) if args and isinstance(args[0], (list, tuple)) else []
        if any(not isinstance(x, (int, float)) for x in items + args[1:]):
            raise ExpressionError("sum() adds numbers only")
    elif fn in (math.factorial, math.comb, math.perm):
        if any(_is_int(a) and abs(a) > MAX_FACTORIAL for a in args):
            raise ExpressionError(f"math.{fn.__name__}() arguments must be at most {MAX_FACTORIAL}")
    elif fn is math.prod and args and isinstance(args[0], (list, tuple)):
        if sum(abs(a).bit_length() for a in args[0] if _is_int(a)) > MAX_INT_BITS:
            raise ExpressionError("math.prod() result would be too large")
