"""Text renderings of configuration: device CLI, NSO's curly-brace CLI, diffs and XML."""

from __future__ import annotations

import difflib
from typing import Any
from xml.sax.saxutils import escape

from adapters.nso_restconf.simulator.tree import keys_of, local_name

Context = tuple[str, ...]


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _entry_header(list_name: str, entry: dict[str, Any]) -> str:
    keys = keys_of(list_name)
    return " ".join([local_name(list_name), *(_scalar(entry.get(k, "")) for k in keys)])


def flatten(value: Any, ctx: Context = ()) -> list[tuple[Context, str]]:
    """Device-CLI lines with their parent context, in order.

    A container or list entry gives a header line in its parent's context and
    its children in a context extended by that header.
    """
    lines: list[tuple[Context, str]] = []
    if not isinstance(value, dict):
        return lines
    for qualified, child in value.items():
        name = local_name(qualified)
        if isinstance(child, dict):
            lines.append((ctx, name))
            lines.extend(flatten(child, (*ctx, name)))
        elif isinstance(child, list) and child and all(isinstance(e, dict) for e in child):
            keys = keys_of(name)
            for entry in child:
                header = _entry_header(name, entry)
                lines.append((ctx, header))
                rest = {k: v for k, v in entry.items() if k not in keys}
                lines.extend(flatten(rest, (*ctx, header)))
        elif isinstance(child, list):
            lines.extend((ctx, f"{name} {_scalar(item)}") for item in child)
        else:
            lines.append((ctx, f"{name} {_scalar(child)}"))
    return lines


def device_cli(config: Any) -> str:
    """The configuration as indented device commands."""
    return "\n".join(" " * len(ctx) + line for ctx, line in flatten(config))


def native_diff(old: Any, new: Any) -> str:
    """The device commands turning ``old`` into ``new`` (``no ...`` for removals)."""
    before, after = flatten(old), flatten(new)
    before_set, after_set = set(before), set(after)
    removed = [(c, line) for c, line in before if (c, line) not in after_set]
    removed_blocks = {(*c, line) for c, line in removed}
    removed = [
        (c, line)
        for c, line in removed
        if not any(c[:i] in removed_blocks for i in range(1, len(c) + 1))
    ]
    changes = [(c, f"no {line}") for c, line in removed]
    changes += [(c, line) for c, line in after if (c, line) not in before_set]
    out: list[str] = []
    shown: Context = ()
    for ctx, line in sorted(changes, key=lambda item: item[0]):
        common = 0
        while common < min(len(ctx), len(shown)) and ctx[common] == shown[common]:
            common += 1
        out.extend(" " * depth + ctx[depth] for depth in range(common, len(ctx)))
        out.append(" " * len(ctx) + line)
        shown = (*ctx, line)
    return "\n".join(out) + ("\n" if out else "")


def curly_lines(name: str, value: Any, indent: int = 0) -> list[str]:
    """NSO CLI (C-style) rendering of one node: ``name { ... }``."""
    pad = " " * indent
    if isinstance(value, dict):
        lines = [f"{pad}{name} {{"]
        for child_name, child in value.items():
            lines.extend(curly_lines(local_name(child_name), child, indent + 4))
        return [*lines, f"{pad}}}"]
    if isinstance(value, list) and value and all(isinstance(e, dict) for e in value):
        lines = []
        keys = keys_of(name)
        for entry in value:
            lines.append(f"{pad}{_entry_header(name, entry)} {{")
            for child_name, child in entry.items():
                if child_name not in keys:
                    lines.extend(curly_lines(local_name(child_name), child, indent + 4))
            lines.append(f"{pad}}}")
        return lines
    if isinstance(value, list):
        return [f"{pad}{name} [ {' '.join(_scalar(v) for v in value)} ];"]
    return [f"{pad}{name} {_scalar(value)};"]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def cli_diff(old_lines: list[str], new_lines: list[str]) -> str:
    """A ``+``/``-`` diff of two curly renderings, like NSO's dry-run cli output.

    Changed lines are shown with the blocks that enclose them (``devices {``,
    ``device pe0 {`` ...) and their closing braces, so each change reads in place.
    """
    merged: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for opcode, i1, i2, j1, j2 in matcher.get_opcodes():
        if opcode == "equal":
            merged += [(" ", line) for line in old_lines[i1:i2]]
        else:
            merged += [("-", line) for line in old_lines[i1:i2]]
            merged += [("+", line) for line in new_lines[j1:j2]]
    shown: set[int] = set()
    for index, (tag, line) in enumerate(merged):
        if tag == " ":
            continue
        shown.add(index)
        level = _indent(line)
        for back in range(index - 1, -1, -1):
            back_tag, back_line = merged[back]
            if back_tag != " " or not back_line.endswith("{") or _indent(back_line) >= level:
                continue
            shown.add(back)
            level = _indent(back_line)
            for forward in range(index + 1, len(merged)):
                fwd_tag, fwd_line = merged[forward]
                if fwd_tag == " " and fwd_line.strip() == "}" and _indent(fwd_line) == level:
                    shown.add(forward)
                    break
            if level == 0:
                break
    out = [merged[i][0] + merged[i][1] for i in sorted(shown)]
    return "\n".join(out) + ("\n" if out else "")


def to_xml(name: str, value: Any, indent: int = 0) -> str:
    pad = " " * indent
    tag = local_name(name)
    if isinstance(value, dict):
        inner = "".join(to_xml(k, v, indent + 2) for k, v in value.items())
        return f"{pad}<{tag}>\n{inner}{pad}</{tag}>\n"
    if isinstance(value, list):
        return "".join(to_xml(name, item, indent) for item in value)
    return f"{pad}<{tag}>{escape(_scalar(value))}</{tag}>\n"
