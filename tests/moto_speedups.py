"""Patches that make the test moto server (``cloud.py moto``) cheaper per request.

Each replaces one moto internal by one that gives the same answers for less CPU, and says why
that holds. They run only in the moto server process; ``apply`` takes the setter so a test can
apply them with ``monkeypatch.setattr`` and compare against moto's own code in one process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Patch = Callable[[Any, str, Any], None]


WIRE_SCALARS = {"S": str, "N": str, "BOOL": bool, "NULL": bool, "SS": list, "NS": list}


def wire_form(value) -> bool:
    """Whether ``value`` is a DynamoDB attribute value that moto's model walk (parsing a request or
    serialising an answer) would copy unchanged: one kind, not binary (B, BS: base64 on the wire)."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    ((kind, inner),) = value.items()
    if kind in WIRE_SCALARS:
        return isinstance(inner, WIRE_SCALARS[kind])
    if kind == "M":
        return isinstance(inner, dict) and all(wire_form(v) for v in inner.values())
    if kind == "L":
        return isinstance(inner, list) and all(wire_form(v) for v in inner)
    return False


def apply(patch: Patch = setattr) -> None:
    back_up_only_transactions_that_fail(patch)
    remember_what_moto_looks_up_per_request(patch)
    send_attribute_values_as_they_are(patch)
    take_attribute_values_as_they_come(patch)
    read_attribute_values_by_kind(patch)
    walk_expression_trees_with_one_map(patch)
    sort_items_by_plain_keys(patch)


def remember_what_moto_looks_up_per_request(patch: Patch) -> None:
    """moto's server lists its own package folder (~100 stat calls) to route every request and
    lists a response class's methods by reflection to answer it: a quarter of its CPU per request
    in these tests. Neither changes while it runs, so each is looked up once."""
    import functools

    from moto import backends
    from moto.core import responses

    modules = tuple(backends.list_of_moto_modules())
    patch(backends, "list_of_moto_modules", lambda: modules)
    patch(responses, "method_names_from_class", functools.cache(responses.method_names_from_class))


def send_attribute_values_as_they_are(patch: Patch) -> None:
    """moto turns each answer into JSON by walking botocore's model of it, member by member: for a
    DynamoDB item that is ten members tried per attribute value, a quarter of its CPU here. An
    attribute value moto holds is already in its wire form ({"S": ...}, {"N": ...}, {"M": {...}},
    ...), which that walk would copy unchanged; only binary values (B, BS: base64 on the wire)
    take the walk."""
    from moto.core import serialize

    walk = serialize.BaseJSONSerializer._serialize_type_structure

    def serialize_structure(self, serialized, value, shape, key):
        if shape.name == "AttributeValue" and key and wire_form(value):
            serialized[key] = value
            return
        walk(self, serialized, value, shape, key)

    patch(serialize.BaseJSONSerializer, "_serialize_type_structure", serialize_structure)


def back_up_only_transactions_that_fail(patch: Patch) -> None:
    """moto backs every transaction up by deep-copying its table once per action (~100 ms for a
    10-action write on a 600-item table), to roll back if an action fails. Here each action's
    condition is checked first, on the state before the transaction (as DynamoDB does; moto's
    order gives the same answer, since no two actions may touch one item): a transaction whose
    conditions all hold runs without the copies, and one whose conditions fail is cancelled with
    moto's own answer, having changed nothing. Anything else (a repeated item, an unknown table
    or action) takes moto's own path, rollback included."""
    import copy
    import types

    from moto.dynamodb import models
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import ConditionalCheckFailed, TransactionCanceledException

    transact = models.DynamoDBBackend.transact_write_items

    def keep_tables(obj, memo=None):
        return obj if isinstance(obj, models.Table) else copy.deepcopy(obj, memo)

    def failed_conditions(backend, transact_items) -> list | None:
        """Each action's cancellation reason as moto gives it ((None, None, None) when its
        condition holds), or None when the transaction must take moto's own path."""
        seen, reasons = set(), []
        for item in transact_items:
            if len(item) != 1:
                return None
            op_type, op = next(iter(item.items()))
            table = backend.tables.get(op.get("TableName"))
            if table is None or op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                return None
            if op_type == "Put":
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            marker = (op["TableName"], str(sorted(key.items())))
            if marker in seen:
                return None
            seen.add(marker)
            reason = (None, None, None)
            if op.get("ConditionExpression") is not None:
                condition = get_filter_expression(
                    op["ConditionExpression"], op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                )
                current = backend.get_item(op["TableName"], key)
                if not condition.expr(current):
                    old = None
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        old = current.to_json()["Attributes"]
                    reason = ("ConditionalCheckFailed", str(ConditionalCheckFailed(item=old).message), old)
            reasons.append(reason)
        return reasons

    def transact_write_items(self, transact_items):
        reasons = failed_conditions(self, transact_items) if len(transact_items) <= 100 else None
        if reasons is None:
            return transact(self, transact_items)
        if any(code is not None for code, _, _ in reasons):
            raise TransactionCanceledException(reasons)
        models.copy = types.SimpleNamespace(deepcopy=keep_tables)
        try:
            return transact(self, transact_items)
        finally:
            models.copy = copy

    patch(models.DynamoDBBackend, "transact_write_items", transact_write_items)


def read_attribute_values_by_kind(patch: Patch) -> None:
    """Comparing, hashing or sizing a DynamoDB attribute value reads its Python form
    (``DynamoType.cast_value``: a str, a Decimal, ...) or its size by asking up to six questions of
    its kind in turn, each a method call; a Query compares key values millions of times over a run.
    The scalar kinds moto answers by the same expressions are answered here by one test of the kind
    (S, B, BOOL: the value itself; N: Decimal of it; NULL: None; sizes of S and N); sets, lists and
    maps take moto's own code."""
    from decimal import Decimal

    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import bytesize

    cast_value = DynamoType.cast_value.fget
    size = DynamoType.size

    def scalar_cast_value(self):
        kind = self.type
        if kind == "S" or kind == "B" or kind == "BOOL":
            return self.value
        if kind == "N":
            return Decimal(self.value)
        if kind == "NULL":
            return None
        return cast_value(self)

    def scalar_size(self) -> int:
        kind = self.type
        if kind == "N":
            return len(str(self.value))
        if kind == "S" and not isinstance(self.value, bool):
            return bytesize(self.value)
        return size(self)

    patch(DynamoType, "cast_value", property(scalar_cast_value))
    patch(DynamoType, "size", scalar_size)


def sort_items_by_plain_keys(patch: Patch) -> None:
    """Every Query sorts the whole table by key (``Table.all_items``), then an index's matches by
    the index's keys (``Table.sorted_items``), comparing DynamoType objects: a Python call and two
    conversions per comparison, the largest cost of this server in these tests. Here, when each key
    position holds values of one kind, S, N or B (a table's key attributes have one declared kind),
    items are sorted by the keys' Python values (str, Decimal, bytes) instead: for values of one kind
    DynamoType's ``==`` and ``<`` are those of its Python value, so every comparison the sort makes
    has the same answer and the order is the same. Anything else takes moto's own sort."""
    import operator
    from decimal import Decimal

    from moto.dynamodb.models.table import Table

    all_items = Table.all_items
    sorted_items = Table.sorted_items

    kind_of, value_of = operator.attrgetter("type"), operator.attrgetter("value")

    def plain_order(items: list, columns: list[list]) -> list | None:
        """``items`` sorted by ``columns`` (the key values of every item, one list per key
        position), or None when a position holds values of more than one kind, or of a kind other
        than S, N and B. Column by column, so that the work per item is done by C loops."""
        plain_columns = []
        if not columns:
            return None
        for column in columns:
            kinds = set(map(kind_of, column))
            if len(kinds) > 1 or not kinds <= {"S", "N", "B"}:
                return None
            values = list(map(value_of, column))
            plain_columns.append(list(map(Decimal, values)) if kinds == {"N"} else values)
        keys = list(zip(*plain_columns, strict=True))
        return [items[i] for i in sorted(range(len(items)), key=keys.__getitem__)]

    def table_items(self) -> list:
        items = [
            item
            for hash_set in self.items.values()
            for item in (hash_set.values() if self.range_key_attr else [hash_set])
        ]
        hash_keys = list(map(operator.attrgetter("hash_key"), items))
        range_keys = list(map(operator.attrgetter("range_key"), items))
        # moto's sort key: (hash, range) when the item has a range key, else the hash key alone
        unranged = sum(key is None for key in range_keys)  # not `in`: DynamoType == None raises
        if unranged == 0:
            order = plain_order(items, [hash_keys, range_keys])
        elif unranged == len(items):
            order = plain_order(items, [hash_keys])
        else:
            order = None
        return all_items(self) if order is None else order

    def index_items(self, hash_key_attrs, range_key_attrs, items):
        names = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
        try:
            columns = [[item.attrs[name] for item in items] for name in names]
        except KeyError:
            columns = None  # moto's sort raises it
        order = None if columns is None else plain_order(items, columns)
        if order is None:
            return sorted_items(self, hash_key_attrs, range_key_attrs, items)
        items[:] = order  # moto sorts the list it is given in place and returns it
        return items

    patch(Table, "all_items", table_items)
    patch(Table, "sorted_items", index_items)


def take_attribute_values_as_they_come(patch: Patch) -> None:
    """moto reads each request by walking botocore's model of it, as it writes answers (above): for
    an attribute value, ten members tried and a new dict built holding the same values. A value in
    its wire form is taken as json.loads gave it (a fresh object nobody else holds); binary values
    and anything unusual take the walk."""
    from moto.core import parse

    walk = parse.BaseJSONParser._parse_structure

    def parse_structure(self, shape, value):
        if shape.name == "AttributeValue" and wire_form(value):
            return value
        return walk(self, shape, value)

    patch(parse.BaseJSONParser, "_parse_structure", parse_structure)


def walk_expression_trees_with_one_map(patch: Patch) -> None:
    """moto checks and applies an update or condition expression by walking its tree once per
    processor, and at every node builds the processor's map of node types to handlers twice (the
    map is a literal of the processor's bound methods, the same every time). Here it is built once
    per walk; the walk is moto's: depth first, children left to right, each node handed to the
    first matching handler. A processor overriding any step of the walk keeps moto's own."""
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node

    own_steps = ("traverse_node_recursively", "nodes_to_be_processed", "process")

    def traverse(self, node):
        if any(getattr(type(self), step) is not getattr(DepthFirstTraverser, step) for step in own_steps):
            return self.traverse_node_recursively(node)
        handlers = tuple(self._processing_map().items())
        kinds = tuple(kind for kind, _ in handlers)
        before_child = self.pre_processing_of_child

        def walk(node, child_id=-1):
            if isinstance(node, Node):
                parent_node = node.parent
                if node.children is not None:
                    for i, child_node in enumerate(node.children):
                        before_child(node, i)
                        walk(child_node, i)
                if isinstance(node, kinds):
                    node = next(handler for kind, handler in handlers if isinstance(node, kind))(node)
                    node.parent = parent_node
                    if parent_node:
                        parent_node.children[child_id] = node
            return node

        return walk(node)

    patch(DepthFirstTraverser, "traverse", traverse)
