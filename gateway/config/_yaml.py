"""Reading a profile's YAML: safe types only, and each key at most once per mapping.

PyYAML keeps the last of two equal keys without a word, so a profile with `pci: 1` and further down
`pci: 7` would run a cell its author did not read. Here the composed node tree is checked before it
is constructed, and a repeated key is a ConfigError naming its key path and both lines. Merge keys
(`<<: *defaults`) may still be overridden by an explicit key, as YAML intends.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ._schema import ConfigError

__all__ = ["load_yaml"]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when built with it
_MERGE_TAG = "tag:yaml.org,2002:merge"


def _key_path(path: str, key: Any) -> str:
    text = key if isinstance(key, str) else repr(key)
    return f"{path}.{text}" if path else text


def _check_unique_keys(loader: yaml.SafeLoader, root: Node) -> None:
    """Walk the node graph (aliases visited once) and raise ConfigError on a key given twice in a mapping."""
    seen_nodes: set[int] = set()
    stack: list[tuple[Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, MappingNode):
            first_line: dict[Any, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    stack.append((value_node, path))
                    continue
                key: Any = None
                if isinstance(key_node, ScalarNode):
                    key = loader.construct_object(key_node)
                    line = key_node.start_mark.line + 1
                    try:
                        first = first_line.get(key)
                    except TypeError:  # an unhashable key: construction reports it
                        first = None
                    if first is not None:
                        raise ConfigError(
                            f"{_key_path(path, key)}: key given twice (lines {first} and {line}); "
                            "keep one (YAML would silently use the last)"
                        )
                    first_line[key] = line
                stack.append((value_node, _key_path(path, key) if isinstance(key_node, ScalarNode) else path))
        elif isinstance(node, SequenceNode):
            stack.extend((item, f"{path}[{i}]") for i, item in enumerate(node.value))


def load_yaml(text: str, source: str) -> Any:
    """Parse YAML `text` (from `source`, for messages) with the safe loader; duplicate keys are errors."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            _check_unique_keys(loader, node)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}: not valid YAML: nested too deeply for a profile") from None
    finally:
        loader.dispose()
