"""A safe YAML loader that refuses, while composing, documents too big, too deep or too clever.

PyYAML's composer builds a graph in which an alias is the anchored node itself, so a
"billion laughs" file composes quickly and small; it is the walk over the *expanded* tree (by
the constructor, by position indexing, by pydantic) that explodes. :class:`BoundedLoader`
therefore counts, at each alias, the size and height the anchored node has once expanded, and
stops as soon as the document would exceed its :class:`~specs.limits.Limits`. It also refuses
aliases to an anchor that is still open (a recursive structure), over-deep nesting (before
Python's recursion limit is reached) and integers with too many digits.

Events come from libyaml when it is available (about three times faster than the pure-Python
parser); composition is always PyYAML's Python composer, extended here.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.resolver import Resolver

from specs.limits import Limits

try:  # libyaml's event parser, if PyYAML was built with it
    from yaml._yaml import CParser as _EventSource
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _EventSource(Reader, Scanner, Parser):  # type: ignore[no-redef]
        """The pure-Python event parser."""

        def __init__(self, stream: str):
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)

INT_TAG = "tag:yaml.org,2002:int"
MERGE_TAG = "tag:yaml.org,2002:merge"


class LimitError(yaml.YAMLError):
    """A document exceeds a limit; ``mark`` is where, ``path`` the parts leading there."""

    def __init__(self, message: str, mark: Any, path: tuple[str | int, ...]):
        super().__init__(message)
        self.message = message
        self.line = mark.line + 1 if mark is not None else 1
        self.col = mark.column + 1 if mark is not None else 1
        self.path = path


class BoundedComposer(Composer):
    """PyYAML's composer with limits on items, depth, alias expansion and integer digits."""

    limits: Limits

    def _init_bounds(self, limits: Limits) -> None:
        self.limits = limits
        self._items = 0
        self._depth = 0
        self._open_anchors: set[str] = set()
        self._measured: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded items, height)
        self._path: list[str | int] = []
        self.duplicates: list[tuple[Any, tuple[str | int, ...], Any, Any]] = []

    def compose_mapping_node(self, anchor: Any) -> Any:
        """A mapping node; keys given twice are recorded in :attr:`duplicates`.

        Checked here, before construction: the constructor merges ``<<: *base`` keys into the
        node, where overriding a merged key is allowed.
        """
        node = super().compose_mapping_node(anchor)
        seen: dict[tuple[str, str], Any] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == MERGE_TAG:
                continue
            marker = (key_node.tag, key_node.value)
            if marker in seen:
                self.duplicates.append((key_node.start_mark, (*self._path, key_node.value),
                                        key_node.value, seen[marker]))
            else:
                seen[marker] = key_node.start_mark
        return node

    def _refuse(self, message: str, mark: Any) -> LimitError:
        return LimitError(message, mark, tuple(self._path))

    def _count(self, items: int, mark: Any) -> None:
        self._items += items
        if self._items > self.limits.max_items:
            raise self._refuse(f"more than {self.limits.max_items} items (counting alias expansions; "
                               f"the limit is LABFLOWS_MAX_SPEC_ITEMS)", mark)

    def compose_node(self, parent: Any, index: Any) -> Any:
        part = index.value if isinstance(index, yaml.ScalarNode) else index
        pushed = isinstance(part, (str, int)) and not isinstance(part, bool)
        if pushed:
            self._path.append(part)
        try:
            return self._compose_counted(parent, index)
        finally:
            if pushed:
                self._path.pop()

    def _compose_counted(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if self.check_event(AliasEvent):
            if event.anchor in self._open_anchors:
                raise self._refuse(f"alias *{event.anchor} refers to a value that contains it "
                                   f"(recursive structures are not allowed)", event.start_mark)
            if event.anchor in self.anchors:
                items, height = self._measure(self.anchors[event.anchor])
                self._check_depth(self._depth + height, event.start_mark)
                self._count(items, event.start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        self._check_depth(self._depth, event.start_mark)
        self._count(1, event.start_mark)
        if event.anchor is not None:
            self._open_anchors.add(event.anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open_anchors.discard(event.anchor)

    def _check_depth(self, depth: int, mark: Any) -> None:
        if depth > self.limits.max_depth:
            raise self._refuse(f"nested deeper than {self.limits.max_depth} levels "
                               f"(the limit is LABFLOWS_MAX_SPEC_DEPTH)", mark)

    def _measure(self, node: Any) -> tuple[int, int]:
        """Items and height of ``node`` once every alias in it is expanded (memoised per node).

        Recursion is bounded: an anchored node was itself composed within the depth limit.
        """
        known = self._measured.get(id(node))
        if known is not None:
            return known
        if isinstance(node, yaml.ScalarNode):
            result = (1, 1)
        else:
            children = ([c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode)
                        else node.value)
            measured = [self._measure(c) for c in children]
            result = (1 + sum(m[0] for m in measured), 1 + max((m[1] for m in measured), default=0))
        self._measured[id(node)] = result
        return result

    def compose_scalar_node(self, anchor: Any) -> Any:
        node = super().compose_scalar_node(anchor)
        if node.tag == INT_TAG and len(node.value) > self.limits.max_int_digits:
            raise self._refuse(f"integer with {len(node.value)} digits (at most {self.limits.max_int_digits}; "
                               f"the limit is LABFLOWS_MAX_INT_DIGITS)", node.start_mark)
        return node


class BoundedLoader(BoundedComposer, _EventSource, SafeConstructor, Resolver):
    """Safe loading (plain data only) within :class:`Limits`."""

    def __init__(self, text: str, limits: Limits):
        _EventSource.__init__(self, text)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._init_bounds(limits)


def compose_and_construct(text: str, limits: Limits) -> tuple[Any, Any, list]:
    """``(root node, data, duplicates)`` of a single-document YAML text (node and data None when empty).

    ``duplicates`` lists ``(mark, path, key, mark of the first)`` for each key given twice in a
    mapping, in document order.

    Raises:
        LimitError: a limit is exceeded.
        yaml.YAMLError: the text is not valid YAML.
    """
    loader = BoundedLoader(text, limits)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data, loader.duplicates
