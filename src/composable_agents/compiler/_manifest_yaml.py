"""Strict YAML for capability manifests (SPEC §22.8): duplicate keys, depth and crashes.

``yaml.safe_load`` keeps the *last* of two equal keys, so a manifest with two
``tools:`` sections (or a grant with two ``effect:`` keys) silently widens a
grant; it raises ``RecursionError`` on a deeply nested list and ``ValueError``
on an integer past Python's digit limit. :func:`load_yaml_strict` rejects a
duplicate key anywhere, bounds nesting before construction and turns every
parser fault into one message, so the manifest parser can fail closed with a
``CAP_MANIFEST_INVALID`` problem instead of crashing.

Rejected alternative: parsing with ``safe_load`` and checking the resulting
dict — by then the duplicate is gone.
"""

from __future__ import annotations

from typing import Any, Final

import yaml

__all__ = ["MAX_YAML_DEPTH", "load_yaml_strict"]

MAX_YAML_DEPTH: Final = 64
"""Deepest nesting of mappings/sequences a manifest may have (real ones use 3)."""


class _Duplicate(yaml.YAMLError):
    """A mapping repeats a key."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                fresh = key not in seen
            except TypeError:  # an unhashable key: SafeLoader reports it below
                continue
            if not fresh:
                mark = key_node.start_mark
                msg = f"duplicate key {key!r} (line {mark.line + 1}, column {mark.column + 1})"
                raise _Duplicate(msg)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _depth_ok(node: yaml.Node) -> bool:
    """Iteratively check the composed tree's nesting (composition itself is bounded below)."""
    stack: list[tuple[yaml.Node, int]] = [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_YAML_DEPTH:
            return False
        if isinstance(item, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in item.value)
        elif isinstance(item, yaml.MappingNode):
            for k, v in item.value:
                stack.append((k, depth + 1))
                stack.append((v, depth + 1))
    return True


def _flow_depth(text: str) -> int:
    """An upper bound of the bracket nesting of ``text`` (flow collections recurse in the composer)."""
    depth = best = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
    return best


def load_yaml_strict(text: str) -> tuple[object, str | None]:
    """``(document, None)`` for good YAML, else ``(None, message)``; never raises."""
    if _flow_depth(text) > MAX_YAML_DEPTH:
        return None, f"the manifest nests deeper than {MAX_YAML_DEPTH} levels"
    loader: _StrictLoader | None = None
    try:
        loader = _StrictLoader(text)  # the reader already rejects control characters
        node = loader.get_single_node()
        if node is None:
            return None, None
        if not _depth_ok(node):
            return None, f"the manifest nests deeper than {MAX_YAML_DEPTH} levels"
        return loader.construct_document(node), None
    except _Duplicate as exc:
        return None, f"the manifest repeats a key: {exc}"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
        return None, f"the manifest is not valid YAML{where}: {problem}"
    except RecursionError:
        return None, "the manifest nests too deeply to parse"
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. an integer past the digit limit
        return None, f"the manifest holds a value that cannot be read: {str(exc)[:120]}"
    finally:
        if loader is not None:
            loader.dispose()
