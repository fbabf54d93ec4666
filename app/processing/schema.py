"""JSON Schema of a pipeline step, generated from the registered operations (plain dicts, for
whatever declares the API: a ``oneOf`` with one object per operation, its bounds and defaults)."""

from __future__ import annotations

from .params import Param
from .steps import OPS


def param_schema(p: Param) -> dict:
    """One parameter, as ``Param.parse`` accepts it."""
    schema = {
        "int": {"type": "integer"},
        "float": {"type": "number"},
        "choice": {"type": "string", "enum": list(p.choices)},
        "bool": {"type": "boolean"},
        "color": {"type": "string", "description": "#rgb, #rrggbb, #rrggbbaa or transparent"},
    }[p.kind]
    if p.lo is not None:
        schema.update(minimum=p.lo, maximum=p.hi)
    if p.default is not None:
        schema["default"] = p.default
    if p.help:
        schema["description"] = p.help + (" Odd." if p.odd else "")
    return schema


def step_schema() -> dict:
    """One pipeline step: one of the registered operations, each with its parameters."""
    return {
        "oneOf": [
            {
                "type": "object",
                "description": op.help,
                "required": ["op"],
                "additionalProperties": False,
                "properties": {"op": {"const": op.name}, **{p.name: param_schema(p) for p in op.params}},
            }
            for op in OPS.values()
        ]
    }
