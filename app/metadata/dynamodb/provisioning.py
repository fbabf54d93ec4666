"""Provisioning (``flask gallery init``): the table, its indexes, backups and deletion protection,
and the index items of images written before an index existed."""

from __future__ import annotations

import json
import time

from botocore.exceptions import BotoCoreError, ClientError

from ...core.errors import BackendUnavailable
from ..base import ImageRecord
from .digests import Digests
from .indexes import IndexItems
from .layout import _ATTRIBUTES, _INDEXES, INDEX_VERSION, PAIRS_PENDING, _gsi
from .pairs import PairItems
from .records import ImageItems


class Provisioning(IndexItems, PairItems, ImageItems, Digests):
    def provision(self, wait: bool = True) -> list[str]:
        """Create the table and its indexes if missing, add indexes a newer version needs, and keep
        point-in-time recovery and deletion protection on; say what was done."""
        done = self._provision_table(wait)
        return done + self._provision_safety()

    def _provision_safety(self) -> list[str]:
        """Backups for 35 days to the second, and no deleting the table by mistake."""
        done = []
        backups = self._call("describe backups", "describe_continuous_backups", TableName=self.table)
        status = backups["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
        if status.get("PointInTimeRecoveryStatus") == "ENABLED":
            done.append("point-in-time recovery: already on")
        else:
            self._call(
                "enable point-in-time recovery",
                "update_continuous_backups",
                TableName=self.table,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
            done.append("point-in-time recovery: on (restore to any second of the last 35 days)")
        table = self._call("describe", "describe_table", TableName=self.table)["Table"]
        if table.get("DeletionProtectionEnabled"):
            done.append("deletion protection: already on")
        else:
            self._call("protect", "update_table", TableName=self.table, DeletionProtectionEnabled=True)
            done.append("deletion protection: on")
        return done

    def _provision_table(self, wait: bool) -> list[str]:
        try:
            table = self.client.describe_table(TableName=self.table)["Table"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise self._unavailable("describe", exc) from exc
            table = None
        except BotoCoreError as exc:
            raise self._unavailable("describe", exc) from exc
        attributes = [{"AttributeName": name, "AttributeType": "S"} for name in _ATTRIBUTES]
        if table is None:
            self._call(
                "create table",
                "create_table",
                TableName=self.table,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=attributes,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                GlobalSecondaryIndexes=[_gsi(*spec) for spec in _INDEXES],
            )
            if wait:
                self.client.get_waiter("table_exists").wait(TableName=self.table, WaiterConfig={"Delay": 1})
            names = ", ".join(spec[0] for spec in _INDEXES)
            return [f"created DynamoDB table {self.table} (on-demand, indexes {names})"]
        done = [f"DynamoDB table {self.table} already exists"]
        present = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
        for spec in _INDEXES:  # DynamoDB adds one index per update
            if spec[0] in present:
                continue
            self._call(
                "add index",
                "update_table",
                TableName=self.table,
                AttributeDefinitions=attributes,
                GlobalSecondaryIndexUpdates=[{"Create": _gsi(*spec)}],
            )
            if wait:
                self._wait_for_indexes()
            done.append(f"added index {spec[0]} to {self.table}")
        counted = self._count_older_months()  # before the re-indexing below, which writes ``mon``
        if counted:
            done.append(f"counted {counted} image(s) by month taken, written before the month counters")
        indexed = self._index_older_items()
        if indexed:
            done.append(
                f"indexed {indexed} image(s) written before the current search and labelling indexes, "
                "or whose word pairs a stopped write left pending"
            )
        digested = self._index_older_digests()
        if digested:
            done.append(f"indexed {digested} image(s) by content (SHA-256), written before that index existed")
        return done

    def _index_older_items(self) -> int:
        """Bring images written by an earlier version up to this one's indexes, once: search items
        and unlabelled status (no ``ix``), search items in the date-taken order (``ix`` below 2),
        word pairs (``ix`` below 3: written before pairs existed, or left pending by a write
        stopped between its transaction and its pairs, see ``pairs``)."""
        items = self._query_feed(
            IndexName="newest",
            KeyConditionExpression="feed = :f",
            FilterExpression="attribute_not_exists(ix) OR ix < :ix",
            ExpressionAttributeValues={":ix": {"N": INDEX_VERSION}},
        )
        done = 0
        for item in items:
            record = ImageRecord.from_dict(json.loads(item["record"]["S"]))
            ver = int(item["ver"]["N"])
            if item.get("ix", {}).get("N") == PAIRS_PENDING:  # its other indexes are whole
                self._settle(record.key, None, record, ver)
                done += 1
                continue
            put = self._image_put(record, ver)  # conditioned on its version: not changed meanwhile
            actions = [put, *self._word_actions(None, record)]
            if "ix" not in item and not record.labelled:
                actions.append(self._counter("count#unlabelled", 1))
            try:
                self.client.transact_write_items(TransactItems=actions)
                self._settle(record.key, None, record, ver + 1)
                done += 1
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise self._unavailable("index", exc) from exc
            except BotoCoreError as exc:
                raise self._unavailable("index", exc) from exc
        return done

    def _wait_for_indexes(self, seconds: float = 600) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            table = self._call("describe", "describe_table", TableName=self.table)["Table"]
            indexes = table.get("GlobalSecondaryIndexes", [])
            if table.get("TableStatus") == "ACTIVE" and all(i.get("IndexStatus") == "ACTIVE" for i in indexes):
                return
            time.sleep(2)
        raise BackendUnavailable(f"DynamoDB table {self.table} is still building its indexes; run init again later.")
