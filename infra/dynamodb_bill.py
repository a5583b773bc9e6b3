"""What DynamoDB would bill for each request moto serves: the request log behind `/_requests`.

`moto_server.py` hands every DynamoDB request here with the items it touches as they were
before and after it (requests run one at a time, so nothing changes in between). Each one is
recorded with its operation, table, keys and the capacity on-demand DynamoDB bills for it, so a
test can count what a use case costs instead of counting by hand.

The rules, from the DynamoDB Developer Guide ("Item sizes and formats", "Capacity unit
consumption for writes/reads", "Global secondary indexes: write capacity", "Transactions:
capacity management"):

- An item's size is the UTF-8 length of its attribute names plus their values: a string its
  UTF-8 bytes, a number 1 byte per 2 significant digits + 1, a binary its raw bytes, a boolean or
  null 1 byte, a list or map 3 bytes + its elements, each element 1 byte more (a map's element
  also counts its name); a set is the sum of its members.
- A write costs one write unit per started 1 KB of the larger of the item before and after
  (PutItem, UpdateItem; DeleteItem: the deleted item; at least 1). A conditional write whose
  condition fails still costs them (the guide says "the larger of the existing or the new
  item"; its older text "the new item, or 1 for an item that does not exist", the same for the
  writes here) and writes no index.
- Each global secondary index the write changes costs its own units, by the size of the index
  entry (table keys, index keys, projected attributes): an entry appearing is a put, one
  disappearing a delete, one whose index key changes a delete and a put, one whose projected
  attributes change an update; an entry that stays the same costs nothing.
- TransactWriteItems costs 2 units per started KB of each item (prepare and commit); the guide
  says nothing of a cancelled transaction, so one is billed as if it had committed (an upper
  bound). Index writes are billed once, as for a plain write.
- A read costs one read unit per started 4 KB, half for an eventually consistent read, at least
  one such unit even when nothing is found: GetItem by the item's size, Query and Scan by the
  sum of the items returned (index entries for an index), BatchGetItem per item,
  TransactGetItems 2 per 4 KB of each item.
"""

import base64
import math

KB = 1024
READ_BLOCK = 4 * KB

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}


def utf8(text):
    return len(text.encode("utf-8"))


def number_size(text):
    digits = text.lstrip("+-").replace(".", "", 1)
    mantissa = digits.split("e")[0].split("E")[0]
    significant = mantissa.strip("0") or "0"
    return (len(significant) + 1) // 2 + 1


def binary_size(value):
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    return len(base64.b64decode(value))


def value_size(typed):
    """The size of one value in DynamoDB's typed JSON (`{"S": "x"}`), without its name."""
    (kind, value), = typed.items()
    if kind == "S":
        return utf8(value)
    if kind == "N":
        return number_size(str(value))
    if kind == "B":
        return binary_size(value)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(utf8(v) for v in value)
    if kind == "NS":
        return sum(number_size(str(v)) for v in value)
    if kind == "BS":
        return sum(binary_size(v) for v in value)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in value)
    if kind == "M":
        return 3 + sum(1 + utf8(k) + value_size(v) for k, v in value.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item):
    if not item:
        return 0
    return sum(utf8(name) + value_size(value) for name, value in item.items())


def write_units(size):
    return max(1, math.ceil(size / KB))


def read_units(size, consistent):
    blocks = max(1, math.ceil(size / READ_BLOCK))
    return blocks if consistent else blocks / 2


def plain_key(typed_key):
    """`{"pk": {"S": "CONV#x"}}` -> `{"pk": "CONV#x"}`, for reading the log."""
    return {name: str(next(iter(value.values()))) for name, value in typed_key.items()}


class Tables:
    """moto's tables, found by name, and their items as typed JSON."""

    def __init__(self):
        from moto.dynamodb.models import dynamodb_backends

        self.backends = dynamodb_backends

    def table(self, name):
        for account in self.backends.values():
            for backend in account.values():
                table = backend.tables.get(name)
                if table is not None:
                    return table
        return None

    def key_of(self, table_name, item):
        table = self.table(table_name)
        if table is None:
            return None
        names = [n for n in (table.hash_key_attr, table.range_key_attr) if n]
        if not all(n in item for n in names):
            return None
        return {n: item[n] for n in names}

    def get(self, table_name, key):
        from moto.dynamodb.models.dynamo_type import DynamoType

        table = self.table(table_name)
        if table is None or key is None:
            return None
        hash_value = key.get(table.hash_key_attr)
        if hash_value is None:
            return None
        range_value = key.get(table.range_key_attr) if table.range_key_attr else None
        try:
            item = table.get_item(DynamoType(hash_value), DynamoType(range_value) if range_value else None)
        except Exception:  # noqa: BLE001 - a malformed key is moto's to refuse
            return None
        return None if item is None else item.to_json()["Attributes"]

    def indexes(self, table_name):
        table = self.table(table_name)
        if table is None:
            return []
        key_names = [n for n in (table.hash_key_attr, table.range_key_attr) if n]
        return [(index, key_names) for index in table.global_indexes]


def index_entry(index, table_keys, item):
    """The entry `item` has in `index` (typed JSON), or None when it is not in the index."""
    if not item:
        return None
    index_keys = [k["AttributeName"] for k in index.schema]
    if not all(k in item and next(iter(item[k])) in ("S", "N", "B") for k in index_keys):
        return None
    projection = (index.projection or {}).get("ProjectionType", "ALL")
    if projection == "ALL":
        return dict(item)
    wanted = set(table_keys) | set(index_keys)
    if projection == "INCLUDE":
        wanted |= set(index.projection.get("NonKeyAttributes", []))
    return {name: value for name, value in item.items() if name in wanted}


def index_writes(tables, table_name, before, after):
    """What the table's global secondary indexes are billed for a write from `before` to `after`."""
    writes = []
    for index, table_keys in tables.indexes(table_name):
        old, new = index_entry(index, table_keys, before), index_entry(index, table_keys, after)
        index_keys = [k["AttributeName"] for k in index.schema]

        def add(kind, entry):
            size = item_size(entry)
            writes.append({"index": index.name, "write": kind, "size": size, "wru": write_units(size)})

        if old is None and new is None or old == new:
            continue
        if old is None:
            add("put", new)
        elif new is None:
            add("delete", old)
        elif any(old.get(k) != new.get(k) for k in index_keys):
            add("delete", old)
            add("put", new)
        else:
            size = max(item_size(old), item_size(new))
            writes.append({"index": index.name, "write": "update", "size": size, "wru": write_units(size)})
    return writes


def error_code(status, response):
    if status < 400 or not isinstance(response, dict):
        return None
    return str(response.get("__type", "")).rsplit("#", 1)[-1] or "Error"


class Plan:
    """The items one request writes, read before it runs so its bill can compare them after."""

    def __init__(self, tables, op, body):
        self.tables, self.op, self.body = tables, op, body
        self.actions = []  # (action, table, key, new item if the request carries it whole)
        if op == "PutItem":
            item = body.get("Item", {})
            self.actions.append(("Put", body.get("TableName"), tables.key_of(body.get("TableName"), item), item))
        elif op in ("UpdateItem", "DeleteItem"):
            self.actions.append((op[:-4], body.get("TableName"), body.get("Key"), None))
        elif op == "TransactWriteItems":
            for entry in body.get("TransactItems", []):
                (action, spec), = entry.items()
                table = spec.get("TableName")
                key = spec.get("Key") or tables.key_of(table, spec.get("Item", {}))
                self.actions.append((action, table, key, spec.get("Item")))
        elif op == "BatchWriteItem":
            for table, requests in body.get("RequestItems", {}).items():
                for request in requests:
                    if "PutRequest" in request:
                        item = request["PutRequest"]["Item"]
                        self.actions.append(("Put", table, tables.key_of(table, item), item))
                    else:
                        self.actions.append(("Delete", table, request["DeleteRequest"]["Key"], None))
        elif op == "GetItem":
            self.actions.append(("Get", body.get("TableName"), body.get("Key"), None))
        self.before = [tables.get(table, key) for (_, table, key, _) in self.actions]

    def bill(self, status, response):
        """The log entries of this request, now that it has run."""
        failed = error_code(status, response)
        if self.op in WRITES:
            return self.bill_writes(failed)
        if self.op in READS:
            return self.bill_reads(failed, response)
        return []

    def bill_writes(self, failed):
        if failed and failed not in ("ConditionalCheckFailedException", "TransactionCanceledException"):
            return []  # refused before anything was done (validation): not billed
        factor = 2 if self.op == "TransactWriteItems" else 1
        entries = []
        for (action, table, key, carried), before in zip(self.actions, self.before):
            after = self.tables.get(table, key)
            if action == "Delete":
                size = item_size(before)
            elif action == "ConditionCheck":
                size = item_size(before)
            elif failed:
                # Not written: what the request would have written is its Item (a Put), or, for
                # an update, at least the existing item.
                size = max(item_size(before), item_size(carried) if carried else 0)
            else:
                size = max(item_size(before), item_size(after))
            entry = {
                "op": self.op if factor == 1 else f"{self.op}.{action}",
                "table": table,
                "key": plain_key(key or {}),
                "size": size,
                "wru": factor * write_units(size),
                "rru": 0,
                "failed": failed,
                "index": None,
                "index_writes": [] if failed or action == "ConditionCheck" else index_writes(self.tables, table, before, after),
            }
            entry["wru"] += sum(w["wru"] for w in entry["index_writes"])
            entries.append(entry)
        return entries

    def bill_reads(self, failed, response):
        if failed:
            return []
        body = self.body
        consistent = bool(body.get("ConsistentRead"))
        if self.op == "GetItem":
            (_, table, key, _), before = self.actions[0], self.before[0]
            size = item_size(before)
            return [read_entry(self.op, table, key, size, read_units(size, consistent), consistent, found=int(before is not None))]
        if self.op in ("Query", "Scan"):
            items = response.get("Items", [])
            size = sum(item_size(i) for i in items)
            entry = read_entry(self.op, body.get("TableName"), None, size, read_units(size, consistent), consistent, found=len(items))
            entry["index"] = body.get("IndexName")
            entry["key"] = {"condition": body.get("KeyConditionExpression", ""), **plain_key(body.get("ExpressionAttributeValues", {}))}
            return [entry]
        if self.op == "BatchGetItem":
            entries = []
            for table, found in response.get("Responses", {}).items():
                wanted = body.get("RequestItems", {}).get(table, {})
                strong = bool(wanted.get("ConsistentRead"))
                units = sum(read_units(item_size(i), strong) for i in found)
                # Keys not found still cost the minimum each.
                units += (len(wanted.get("Keys", [])) - len(found)) * read_units(0, strong)
                entries.append(read_entry(self.op, table, None, sum(item_size(i) for i in found), units, strong, found=len(found)))
            return entries
        if self.op == "TransactGetItems":
            entries = []
            for request, found in zip(body.get("TransactItems", []), response.get("Responses", [])):
                spec = request.get("Get", {})
                size = item_size(found.get("Item"))
                entries.append(read_entry(self.op, spec.get("TableName"), spec.get("Key"), size, 2 * read_units(size, True), True, found=int("Item" in found)))
            return entries
        return []


def read_entry(op, table, key, size, rru, consistent, found):
    return {
        "op": op,
        "table": table,
        "key": plain_key(key or {}),
        "size": size,
        "wru": 0,
        "rru": rru,
        "consistent": consistent,
        "found": found,
        "failed": None,
        "index": None,
        "index_writes": [],
    }
