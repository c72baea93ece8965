"""Ledger entries and balances in the core table (ADR 0041): `TENANT#<t>#LEDGER`.

An entry and its balance's `ADD` are one transaction, the entry conditional on its absence: a
replayed message writes nothing, and Σ entries = balance at every commit.
"""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError

from meterplex.billing.ledger import Balance, EntryType, LedgerEntry
from meterplex.platform.clock import iso, parse_iso
from meterplex.platform.core_table import CoreItem, core_connection
from meterplex.platform.pagination import Key, exclusive_start, sort_key_cursor
from meterplex.platform.transactions import failed_keys, transaction

ENTRY_PREFIX = "ENTRY#"
BALANCE_PREFIX = "BALANCE#"


def ledger_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#LEDGER"


def entry_sk(entry: LedgerEntry) -> str:
    return f"{ENTRY_PREFIX}{iso(entry.created_at)}#{entry.id}"


class LedgerEntryRecord(CoreItem):
    entryId = UnicodeAttribute()
    type = UnicodeAttribute()
    description = UnicodeAttribute()
    debit = NumberAttribute()
    credit = NumberAttribute()
    currency = UnicodeAttribute()
    invoiceId = UnicodeAttribute(null=True)
    invoiceNumber = UnicodeAttribute(null=True)
    createdAt = UnicodeAttribute()


class BalanceRecord(CoreItem):
    currency = UnicodeAttribute()
    debit = NumberAttribute(default=0)
    credit = NumberAttribute(default=0)
    charged = NumberAttribute(default=0)
    paid = NumberAttribute(default=0)


def _entry_of(record: LedgerEntryRecord, tenant_id: str) -> LedgerEntry:
    return LedgerEntry(
        id=record.entryId,
        tenant_id=tenant_id,
        type=EntryType(record.type),
        description=record.description,
        debit=int(record.debit),
        credit=int(record.credit),
        currency=record.currency,
        invoice_id=record.invoiceId,
        invoice_number=record.invoiceNumber,
        created_at=parse_iso(record.createdAt),
    )


def _paid_by(entry: LedgerEntry) -> int:
    """What an entry adds to `totalPaid`: payments add, refunds take back (ADR 0060)."""
    if entry.type is EntryType.PAYMENT:
        return entry.credit
    return -entry.debit if entry.type is EntryType.REFUND else 0


class LedgerRepository:
    def __init__(self) -> None:
        self._connection = core_connection()

    def record(self, entry: LedgerEntry) -> bool:
        """Append `entry` and add it to its currency's balance; False when it was already there."""
        pk = ledger_pk(entry.tenant_id)
        item = LedgerEntryRecord(
            pk,
            entry_sk(entry),
            entryId=entry.id,
            type=entry.type.value,
            description=entry.description,
            debit=entry.debit,
            credit=entry.credit,
            currency=entry.currency,
            invoiceId=entry.invoice_id,
            invoiceNumber=entry.invoice_number,
            createdAt=iso(entry.created_at),
        )
        tx = transaction(self._connection)
        try:
            with tx:
                tx.save(item, condition=LedgerEntryRecord.pk.does_not_exist())
                tx.update(
                    BalanceRecord(pk, f"{BALANCE_PREFIX}{entry.currency}"),
                    actions=[
                        BalanceRecord.currency.set(entry.currency),
                        BalanceRecord.debit.add(entry.debit),
                        BalanceRecord.credit.add(entry.credit),
                        BalanceRecord.charged.add(entry.debit if entry.type is EntryType.CHARGE else 0),
                        BalanceRecord.paid.add(_paid_by(entry)),
                    ],
                )
        except TransactWriteError as error:
            if (pk, entry_sk(entry)) in failed_keys(tx, error):
                return False
            raise
        return True

    def entries(self, tenant_id: str, start: Key | None, limit: int) -> tuple[list[LedgerEntry], Key | None]:
        """A page of the tenant's entries, newest first."""
        pk = ledger_pk(tenant_id)
        result = LedgerEntryRecord.query(
            pk,
            LedgerEntryRecord.sk.startswith(ENTRY_PREFIX),
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=exclusive_start(pk, start, ENTRY_PREFIX),
        )
        return [_entry_of(r, tenant_id) for r in result], sort_key_cursor(result.last_evaluated_key)

    def balances(self, tenant_id: str) -> list[Balance]:
        records = BalanceRecord.query(ledger_pk(tenant_id), BalanceRecord.sk.startswith(BALANCE_PREFIX))
        return _balances_of(records)

    def statement(self, tenant_id: str) -> tuple[list[LedgerEntry], list[Balance]]:
        """Every entry (newest first) and every balance of the tenant, read together: they share
        its ledger partition, so one Query (paged by DynamoDB's 1 MB) reads both — the
        reconciliation run's read of a ledger (ADR 0111)."""
        pk, start = ledger_pk(tenant_id), None
        entries: list[LedgerEntry] = []
        balances: list[BalanceRecord] = []
        while True:
            page = self._connection.query(
                LedgerEntryRecord.Meta.table_name, pk, scan_index_forward=False, exclusive_start_key=start
            )
            for item in page.get("Items", []):
                sk = item["sk"]["S"]
                if sk.startswith(ENTRY_PREFIX):
                    entries.append(_entry_of(LedgerEntryRecord.from_raw_data(item), tenant_id))
                elif sk.startswith(BALANCE_PREFIX):
                    balances.append(BalanceRecord.from_raw_data(item))
            start = page.get("LastEvaluatedKey")
            if not start:
                return entries, _balances_of(balances)


def _balances_of(records: Iterable[BalanceRecord]) -> list[Balance]:
    return [
        Balance(r.currency, int(r.debit), int(r.credit), int(r.charged), int(r.paid))
        for r in sorted(records, key=lambda r: r.currency)
    ]
