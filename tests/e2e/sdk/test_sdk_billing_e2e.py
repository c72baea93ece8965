"""The SDK's and the CLI's invoice and ledger reads over real HTTP, on a tenant that generates and
finalizes its own invoice (the shared cloud's business time is never moved)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meterplex_client import ConflictError, Meterplex
from meterplex_client.cli.app import app
from tests.support.sdk_tenants import SdkPlan, SdkTenant
from tests.support.waiting import wait_for


def test_sdk_and_cli_read_invoices_the_ledger_and_the_balance(
    new_tenant: Callable[[], SdkTenant],
    sdk_plan: SdkPlan,
    sdk_owner: Meterplex,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a subscribed tenant that invoices its current period by hand
    tenant = new_tenant()
    member = tenant.member()
    draft = member.invoices.generate()
    assert draft.status == "DRAFT" and draft.invoice_number is None and draft.source == "MANUAL"
    with pytest.raises(ConflictError) as again:
        member.invoices.generate()  # one invoice per (subscription, period)
    assert again.value.code == "INVOICE_ALREADY_EXISTS"

    # WHEN it is finalized
    final = member.invoices.finalize(draft.id)

    # THEN every read shows the same invoice: list (by cursor), get, line items
    assert final.status == "FINALIZED" and final.invoice_number and final.invoice_number.startswith("INV-")
    page = member.invoices.list(limit=10)
    assert [i.id for i in page.data] == [final.id] and page.meta.next_cursor is None
    fetched = member.invoices.get(final.id)
    assert fetched.total == final.total == 1900 and fetched.line_items[0].kind == "BASE_FEE"
    assert [li.amount for li in member.invoices.line_items(final.id).data] == [
        li.amount for li in fetched.line_items
    ]
    # AND the ledger CHARGE and the balance, once the billing topic has reached the ledger writer
    wait_for(lambda: bool(member.billing.ledger().data), timeout=30, interval=0.2)
    assert [(e.type, e.debit, e.invoice_id) for e in member.billing.ledger().data] == [
        ("CHARGE", 1900, final.id)
    ]
    (balance,) = member.billing.balance().balances
    assert (balance.currency, balance.balance, balance.total_charged) == ("usd", 1900, 1900)

    # AND the CLI shows the same (with --output json), logged in as the tenant's owner
    monkeypatch.setenv("MP_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("MP_BASE_URL", sdk_plan.url)
    monkeypatch.delenv("MP_API_KEY", raising=False)
    slug = member.tenants.get(tenant.tenant_id).slug

    def cli(*args: str) -> object:
        result = CliRunner().invoke(app, [*args, "--output", "json"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    cli("login", "--email", sdk_owner.auth.me().email, "--password", "DevPass123", "--tenant", slug)
    listed = cli("invoices", "list")
    shown = cli("invoices", "show", final.id)
    assert isinstance(listed, dict) and [i["id"] for i in listed["data"]] == [final.id]
    assert isinstance(shown, dict) and shown["invoiceNumber"] == final.invoice_number
