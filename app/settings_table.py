"""The README's configuration table, generated from the settings declared in ``app.config``
(``make docs``, or ``python -m app.settings_table``)."""

from __future__ import annotations

from .config import OPTIONS, Option


def accepted(option: Option) -> str:
    """What the README says an option takes beyond its description: its choices or its bounds."""
    if option.choices:
        return " One of " + ", ".join(f"`{choice}`" for choice in option.choices) + "."
    if option.type == "bool":
        return " `1`/`0` (or true/false, yes/no, on/off)."
    return ""


def markdown_table() -> str:
    """The configuration table for the README."""
    lines = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    group = None
    for option in OPTIONS:
        if option.group != group:
            group = option.group
            lines.append(f"| **{group}** | | |")
        default = option.default
        shown = f"`{default:g}`" if isinstance(default, float) else f"`{default}`" if default != "" else "—"
        lines.append(f"| `{option.name}` | {shown} | {option.description}{accepted(option)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
