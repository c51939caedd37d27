"""YAML from the operator (recipes, drafts, inventories), read with limits, and YAML we write, without aliases.

Why limits: PyYAML's safe loader keeps an alias as a reference, so `b: &b [*a, *a, ...]` nested nine levels
deep loads in microseconds, but everything that walks the result (validation, the line map of error messages,
a dump) meets a billion values: a 1 KiB file hangs the program ("billion laughs"). Deep nesting (`[[[[...`)
ends in a RecursionError instead. A recipe needs neither, so:

- at most MAX_ALIASES aliases per file. Aliases are ordinary YAML and a hand-written file may reuse a list or
  two (the same keys, the same hosts), so a few are allowed rather than none; an alias bomb needs dozens and
  is refused at the first one over the limit, while the file is still being read;
- at most MAX_NODES values once aliases are counted as what they stand for, which caps even a handful of
  aliases (each of them doubling the document) long before anything slow runs; recursive aliases are refused;
- at most MAX_DEPTH levels of nesting (a recipe has four or five);
- at most MAX_TEXT characters in all (a recipe is a few KiB; tens of MB took PyYAML half a minute to read);
- no key twice in one mapping. PyYAML keeps the last one without a word, so a second `host:` further down a
  file would silently dial another server; the refusal names both lines.

Every refusal is a `yaml.MarkedYAMLError` that names the line, so callers report it like any YAML error.
What we write (`dump`) never uses anchors, so a file or draft written by us always reads back within the limits.
"""

from __future__ import annotations

from typing import Any

import yaml

from wizard.engine.i18n import _

MAX_ALIASES = 10
MAX_NODES = 100_000
MAX_DEPTH = 64
MAX_TEXT = 1024 * 1024
_MERGE = "tag:yaml.org,2002:merge"


class YAMLLimitError(yaml.MarkedYAMLError):
    """A document refused by a limit (aliases, expanded size, depth); `problem` says which, `problem_mark` where."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class DuplicateKeyError(YAMLLimitError):
    """A key given twice in one mapping: `problem_mark` is the second, `context_mark` the first."""

    def __init__(self, problem: str, first: yaml.Mark, second: yaml.Mark) -> None:
        super().__init__(problem, second)
        self.context_mark = first


class BadCharacter(yaml.MarkedYAMLError):
    """A character YAML does not allow in a file as it is (NUL, ESC and other controls, a lone surrogate): PyYAML's
    ReaderError gives only a position in the stream, this names the line."""

    def __init__(self, text: str, error: yaml.reader.ReaderError) -> None:
        line = text.count("\n", 0, error.position)
        column = error.position - (text.rfind("\n", 0, error.position) + 1)
        super().__init__(problem=_("the character {char} cannot stand in a YAML file as it is").format(
            char=repr(chr(error.character))[1:-1] if isinstance(error.character, int) else error.character),
            problem_mark=yaml.Mark("<recipe>", error.position, line, column, None, None))


def _size_check(text: str) -> None:
    if len(text) > MAX_TEXT:
        raise YAMLLimitError(_("the document is larger than {kib} KiB; a recipe is a few KiB").format(
            kib=MAX_TEXT // 1024), None)


class LimitedLoader(yaml.SafeLoader):
    """The safe loader, counting aliases and nesting and refusing duplicate keys while it composes the document."""

    def __init__(self, stream: str) -> None:
        _size_check(stream)
        super().__init__(stream)
        self.aliases = 0
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise YAMLLimitError(_(
                    "more than {limit} aliases (*{name}): a recipe needs few or none, and aliases nested in "
                    "aliases can expand into billions of values ('billion laughs'); write the values out").format(
                        limit=MAX_ALIASES, name=event.anchor), event.start_mark)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise YAMLLimitError(_("nested more than {limit} levels deep").format(limit=MAX_DEPTH),
                                     event.start_mark)
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        if isinstance(node, yaml.MappingNode) and not isinstance(event, yaml.AliasEvent):
            self._unique_keys(node)
        return node  # type: ignore[no-any-return]

    def _unique_keys(self, node: yaml.MappingNode) -> None:
        """DuplicateKeyError for a scalar key given twice: compared as the values they stand for, so `1` and
        `"1"` differ but `yes` and `true` are the same key (both read as True), as they would be in the result."""
        seen: dict[Any, yaml.Node] = {}
        for key, _value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            value = (_MERGE,) if key.tag == _MERGE else self.construct_object(key)
            try:
                first = seen.setdefault(value, key)
            except TypeError:  # not hashable: construction refuses it later, naming the line
                continue
            if first is not key:
                raise DuplicateKeyError(_(
                    "the key '{key}' is given twice (line {first} and line {second}); YAML would keep only the "
                    "last one without a word, so write it once").format(
                        key=key.value, first=first.start_mark.line + 1, second=key.start_mark.line + 1),
                    first.start_mark, key.start_mark)


def expanded_size(node: yaml.Node, aliases: int = 1) -> int:
    """How many values the document holds once every alias stands for its anchor (each node counted once per
    use, computed once per node); YAMLLimitError over MAX_NODES or for an alias that contains itself. `aliases`:
    how many the document uses, so that a long file without any is not told about aliases."""
    sizes: dict[int, int] = {}
    busy: set[int] = set()

    def size(current: yaml.Node) -> int:
        key = id(current)
        if key in sizes:
            return sizes[key]
        if key in busy:
            raise YAMLLimitError(_("an alias refers to a value that contains it (a recursive alias)"),
                                 current.start_mark)
        busy.add(key)
        total = 1
        if isinstance(current, yaml.SequenceNode):
            total += sum(size(item) for item in current.value)
        elif isinstance(current, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in current.value)
        busy.discard(key)
        if total > MAX_NODES and not aliases:
            raise YAMLLimitError(_("the document holds more than {limit} values; a recipe holds a few "
                                   "hundred").format(limit=MAX_NODES), current.start_mark)
        if total > MAX_NODES:
            raise YAMLLimitError(_("through its aliases the document expands to more than {limit} values; "
                                   "refused ('billion laughs')").format(limit=MAX_NODES), current.start_mark)
        sizes[key] = total
        return total

    return size(node)


def _loader(text: str) -> LimitedLoader:
    """A loader for the text; the reader refuses a bad character here already (it checks the whole text)."""
    try:
        return LimitedLoader(text)
    except yaml.reader.ReaderError as exc:
        raise BadCharacter(text, exc) from None


def compose(text: str) -> yaml.Node | None:
    """The document's node tree (with line marks), within the limits."""
    loader = _loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            expanded_size(node, loader.aliases)
        return node  # type: ignore[no-any-return]
    except yaml.reader.ReaderError as exc:
        raise BadCharacter(text, exc) from None
    finally:
        loader.dispose()


def load(text: str) -> Any:
    """The document as plain Python data (like yaml.safe_load), within the limits."""
    loader = _loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        expanded_size(node, loader.aliases)
        return loader.construct_document(node)
    except yaml.reader.ReaderError as exc:
        raise BadCharacter(text, exc) from None
    finally:
        loader.dispose()


class _NoAliasDumper(yaml.SafeDumper):
    """Writes a value shared by two places twice, never as an anchor and an alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(data: Any) -> str:
    """Block-style YAML in the given key order, Unicode as is, without anchors."""
    return yaml.dump(data, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, default_flow_style=False)


def where(exc: yaml.YAMLError) -> tuple[int | None, str]:
    """The 1-based line and the reason of a YAML error, for messages that name the line."""
    mark = getattr(exc, "problem_mark", None)
    return (mark.line + 1 if mark else None), str(getattr(exc, "problem", None) or exc)


__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_NODES", "MAX_TEXT", "DuplicateKeyError", "YAMLLimitError", "compose",
           "dump", "load", "where"]
