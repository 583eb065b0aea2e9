"""Conditional hyperparameters: which values of a config its model actually uses.

A static search space declares every hyperparameter whatever the others are (the MLP's
`units_2` exists when `num_layers` is 1, and is ignored). A suite says which ones depend on
another in its `[conditions]` table, in keras-tuner's terms (`conditional_scope(parent_name,
parent_values)`): `units_2 = { num_layers = [3] }` means units_2 is used only when num_layers
is 3. Displays (tune's front, the report) leave inactive values out; stored documents keep
every sampled value and the conditions beside them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Conditions = Mapping[str, Mapping[str, list[Any]]]  # child -> {parent: values it is used for}


def check_conditions(table: Any, where: str) -> dict[str, dict[str, list[Any]]]:
    """A `[conditions]` table as {child: {parent: [values]}}; ValueError naming the entry."""
    if not isinstance(table, Mapping):
        raise ValueError(f"{where}: expected a table of {{parent = [values]}} tables")
    out: dict[str, dict[str, list[Any]]] = {}
    for child, parents in table.items():
        if not isinstance(parents, Mapping) or not parents:
            raise ValueError(f"{where}.{child}: expected {{parent = [values]}}, e.g. "
                             "units_2 = { num_layers = [3] }")
        for parent, values in parents.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"{where}.{child}.{parent}: expected a non-empty list of the "
                                 f"values of {parent} for which {child} is used")
            if parent == child:
                raise ValueError(f"{where}.{child}: a hyperparameter cannot depend on itself")
        out[str(child)] = {str(p): list(v) for p, v in parents.items()}
    return out


def is_active(name: str, params: Mapping[str, Any], conditions: Conditions) -> bool:
    """Whether `name` is used in this config: every parent it depends on takes one of the
    listed values and is itself active (a missing parent leaves it shown)."""
    parents = conditions.get(name) or {}
    for parent, values in parents.items():
        if parent not in params:
            continue
        if params[parent] not in values or not is_active(parent, params, {
                k: v for k, v in conditions.items() if k != name}):
            return False
    return True


def active_params(params: Mapping[str, Any] | None, conditions: Conditions | None
                  ) -> dict[str, Any]:
    """The config without its inactive hyperparameters."""
    params = dict(params or {})
    if not conditions:
        return params
    return {k: v for k, v in params.items() if is_active(k, params, conditions)}
