"""PynamoDB base model bound to the core table. Only repositories import this module.

The table name comes from validated settings at import (cold start); the endpoint comes from the
standard `AWS_ENDPOINT_URL*` variables, so the same code talks to moto server or to AWS.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from meterplex.platform.settings import CoreTableSettings, load

# DynamoDB's TransactWriteItems limit: a transaction touches at most this many items.
MAX_TRANSACT_ITEMS = 100


class CoreItem(Model):
    """Base of every item of the core table (single-table design: see docs/data-model.md)."""

    class Meta:
        table_name = load(CoreTableSettings).core_table

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    expiresAt = NumberAttribute(null=True)  # noqa: N815 - the table's TTL attribute
