"""PynamoDB base model bound to the core table. Only repositories import this module.

The table name comes from validated settings at import (cold start); the endpoint comes from the
standard `AWS_ENDPOINT_URL*` variables, so the same code talks to moto server or to AWS.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from meterplex.platform.dynamodb_errors import condition_failed
from meterplex.platform.settings import CoreTableSettings, load
from meterplex.platform.transactions import Transaction

# `condition_failed` is re-exported: repositories long imported it from here.
__all__ = [
    "GSI1",
    "GSI2",
    "GSI3",
    "GSI4",
    "MAX_TRANSACT_ITEMS",
    "CoreItem",
    "Gsi1",
    "condition_failed",
    "core_connection",
    "core_transaction",
]

GSI1 = "gsi1"  # query it by name through the model family's base class (see Gsi1)
GSI2, GSI3, GSI4 = "gsi2", "gsi3", "gsi4"  # more overloaded lookups (the audit trail's filters)

# DynamoDB's TransactWriteItems limit: a transaction touches at most this many items.
MAX_TRANSACT_ITEMS = 100


class Gsi1(GlobalSecondaryIndex):
    """The core table's one GSI (`gsi1pk`/`gsi1sk`, all attributes projected): secondary lookups.

    Query it by name (`Family.query(pk, index_name=GSI1)`), not through `CoreItem.gsi1`: PynamoDB
    binds the shared Index object to the last model class defined, so `SomeModel.gsi1.query`
    may hydrate another model's class.
    """

    class Meta:
        index_name = GSI1
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class Gsi2(GlobalSecondaryIndex):
    class Meta:
        index_name = GSI2
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class Gsi3(GlobalSecondaryIndex):
    class Meta:
        index_name = GSI3
        projection = AllProjection()

    gsi3pk = UnicodeAttribute(hash_key=True)
    gsi3sk = UnicodeAttribute(range_key=True)


class Gsi4(GlobalSecondaryIndex):
    class Meta:
        index_name = GSI4
        projection = AllProjection()

    gsi4pk = UnicodeAttribute(hash_key=True)
    gsi4sk = UnicodeAttribute(range_key=True)


class _TableNameFromSettings(type):
    """`Meta.table_name` read from the settings when PynamoDB first needs it (a connection), not
    at import: `docs_api` and `python -m infra.local openapi` import every route module to build
    the OpenAPI document, and have no table."""

    @property
    def table_name(cls) -> str:
        return load(CoreTableSettings).core_table


class CoreItem(Model):
    """Base of every item of the core table (single-table design: see docs/data-model.md)."""

    class Meta(metaclass=_TableNameFromSettings):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    expiresAt = NumberAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    gsi4pk = UnicodeAttribute(null=True)
    gsi4sk = UnicodeAttribute(null=True)
    # Declared on the base so every model shares one table schema (and one cached connection).
    gsi1 = Gsi1()
    gsi2 = Gsi2()
    gsi3 = Gsi3()
    gsi4 = Gsi4()


def core_connection() -> Connection:
    """The low-level connection transactions need (same endpoint and region as the models)."""
    return CoreItem._get_connection().connection


def core_transaction() -> Transaction:
    """A transaction on the core table that resends itself on conflicts (platform.transactions)."""
    return Transaction(connection=core_connection())
