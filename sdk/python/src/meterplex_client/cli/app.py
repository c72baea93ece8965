"""The `meterplex` CLI: log in, pick a tenant, manage API keys, send usage files, check features,
read invoices, and move the local cloud's test clock. `--output json` on every command."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from meterplex_client import Meterplex, MeterplexError, RetryPolicy
from meterplex_client.cli import profiles
from meterplex_client.cli.usage_send import SendReport, count_lines, send_file
from meterplex_client.client import API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL
from meterplex_client.errors import APIStatusError
from meterplex_client.models.base import Model
from meterplex_client.models.usage import UsageBatchResult
from meterplex_client.usage.journal import Event

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    help="Meterplex from the command line: usage, entitlements, invoices, the local test clock.",
    no_args_is_help=True,
    add_completion=False,
)
tenants_app = typer.Typer(help="The tenants you belong to; `tenants use` picks the current one.")
api_keys_app = typer.Typer(help="API keys of the current tenant (OWNER/ADMIN).", no_args_is_help=True)
usage_app = typer.Typer(help="Send usage events.", no_args_is_help=True)
invoices_app = typer.Typer(help="The current tenant's invoices.", no_args_is_help=True)
clock_app = typer.Typer(help="The business clock of the local cloud (platform admin).", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")
app.add_typer(api_keys_app, name="api-keys")
app.add_typer(usage_app, name="usage")
app.add_typer(invoices_app, name="invoices")
app.add_typer(clock_app, name="clock")

out = Console()
err = Console(stderr=True)


class Output(StrEnum):
    table = "table"
    json = "json"


OutputOption = Annotated[Output, typer.Option("--output", "-o", help="table (default) or json")]


@dataclass
class Settings:
    profile: str
    base_url: str | None
    api_key: str | None


@app.callback()
def _settings(
    ctx: typer.Context,
    profile: Annotated[str, typer.Option(envvar="MP_PROFILE", help="credentials profile")] = "default",
    base_url: Annotated[str | None, typer.Option(envvar=BASE_URL_ENV, help="API base URL")] = None,
    api_key: Annotated[str | None, typer.Option(envvar=API_KEY_ENV, help="an API key (mp_live_…)")] = None,
) -> None:
    ctx.obj = Settings(profile, base_url, api_key)


def _settings_of(ctx: typer.Context) -> Settings:
    settings = ctx.find_object(Settings)
    return settings if settings is not None else Settings("default", None, None)


def _base_url(ctx: typer.Context) -> str:
    return _settings_of(ctx).base_url or profiles.load(_settings_of(ctx).profile).base_url or DEFAULT_BASE_URL


def client(ctx: typer.Context, *, api_key: bool = True, timeout: float = 10.0) -> Meterplex:
    """An API-key client when a key is at hand (and allowed), else the logged-in session."""
    settings = _settings_of(ctx)
    profile = profiles.load(settings.profile)
    base = _base_url(ctx)
    key = settings.api_key or profile.api_key
    if api_key and key:
        return Meterplex(api_key=key, base_url=base, timeout=timeout)
    if profile.refresh_token:

        def keep(access: str, refresh: str) -> None:
            profile.access_token, profile.refresh_token = access, refresh
            profiles.save(settings.profile, profile)

        return Meterplex(
            base_url=base,
            access_token=profile.access_token,
            refresh_token=profile.refresh_token,
            tenant_id=profile.tenant_id,
            on_tokens=keep,
            timeout=timeout,
        )
    raise typer.BadParameter("not logged in: run `meterplex login` (or pass --api-key)")


def reports_errors(command: F) -> F:
    """API errors become one line on stderr (code, message, correlation id) and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except APIStatusError as error:
            err.print(f"[red]error[/red] {error.status_code} {error.code}: {error.message}")
            if error.correlation_id:
                err.print(f"correlation id: {error.correlation_id}")
            raise typer.Exit(1) from error
        except MeterplexError as error:
            err.print(f"[red]error[/red] {error}")
            raise typer.Exit(1) from error

    return wrapper  # type: ignore[return-value]


def emit(output: Output, data: Any, columns: Sequence[str] = (), title: str | None = None) -> None:
    """JSON on stdout, or a table (a list of rows) / key-value table (one object)."""
    if isinstance(data, Model):
        data = data.to_json()
    elif isinstance(data, list):
        data = [d.to_json() if isinstance(d, Model) else d for d in data]
    if output is Output.json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    table = Table(title=title)
    if isinstance(data, list):
        for column in columns:
            table.add_column(column)
        for row in data:
            table.add_row(*(_cell(row.get(c)) for c in columns))
    else:
        table.add_column("field")
        table.add_column("value")
        for name in columns or list(data):
            table.add_row(name, _cell(data.get(name)))
    out.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


# ---------------------------------------------------------------------- session
@app.command()
@reports_errors
def login(
    ctx: typer.Context,
    email: Annotated[str, typer.Option(prompt=True, envvar="MP_EMAIL")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, envvar="MP_PASSWORD")],
    tenant: Annotated[str | None, typer.Option(help="slug or id (default: your first tenant)")] = None,
    output: OutputOption = Output.table,
) -> None:
    """Log in with email and password; the session is kept in the profile (mode 0600)."""
    settings = _settings_of(ctx)
    base = _base_url(ctx)
    with Meterplex(base_url=base) as mp:
        session = mp.auth.login(email, password)
        mine = mp.tenants.list(limit=100).data
    chosen = (
        next((t for t in mine if tenant in (t.slug, t.id)), None) if tenant else (mine[0] if mine else None)
    )
    if tenant and chosen is None:
        raise typer.BadParameter(f"you are not a member of tenant {tenant!r}")
    previous = profiles.load(settings.profile)
    profile = profiles.Profile(
        base_url=base,
        email=session.user.email,
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        tenant_id=chosen.id if chosen else None,
        tenant_slug=chosen.slug if chosen else None,
        api_key=previous.api_key if previous.base_url == base else None,
    )
    path = profiles.save(settings.profile, profile)
    summary = {"email": profile.email, "tenant": profile.tenant_slug, "baseUrl": base, "profile": str(path)}
    emit(output, summary, title="logged in")


@app.command()
@reports_errors
def logout(ctx: typer.Context, output: OutputOption = Output.table) -> None:
    """Revoke the session's refresh token and forget it."""
    settings = _settings_of(ctx)
    profile = profiles.load(settings.profile)
    if profile.refresh_token:
        with client(ctx, api_key=False) as mp:
            mp.auth.logout(profile.refresh_token)
    profile.access_token = profile.refresh_token = None
    profiles.save(settings.profile, profile)
    emit(output, {"loggedOut": True})


# ---------------------------------------------------------------------- tenants
@tenants_app.callback(invoke_without_command=True)
@reports_errors
def tenants(ctx: typer.Context, output: OutputOption = Output.table) -> None:
    """List your tenants (the current one is marked)."""
    if ctx.invoked_subcommand is not None:
        return
    current = profiles.load(_settings_of(ctx).profile).tenant_id
    with client(ctx, api_key=False) as mp:
        rows = [{**t.to_json(), "current": t.id == current} for t in mp.tenants.list(limit=100).data]
    emit(output, rows, ["current", "slug", "name", "role", "status", "id"], title="tenants")


@tenants_app.command("use")
@reports_errors
def tenants_use(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="slug or id")],
    output: OutputOption = Output.table,
) -> None:
    """Make a tenant the current one (the x-tenant-id of later commands)."""
    settings = _settings_of(ctx)
    with client(ctx, api_key=False) as mp:
        found = next((t for t in mp.tenants.list(limit=100).data if tenant in (t.slug, t.id)), None)
    if found is None:
        raise typer.BadParameter(f"you are not a member of tenant {tenant!r}")
    profile = profiles.load(settings.profile)
    profile.tenant_id, profile.tenant_slug, profile.api_key = found.id, found.slug, None
    profiles.save(settings.profile, profile)
    emit(output, {"tenant": found.slug, "id": found.id})


# ---------------------------------------------------------------------- API keys
BATCH_TIMEOUT_S = 60.0  # 1,000 events per request: a slow answer is waited for, not retried as a duplicate
KEY_COLUMNS = ["id", "name", "prefix", "status", "createdAt", "expiresAt"]


@api_keys_app.command("create")
@reports_errors
def api_keys_create(
    ctx: typer.Context,
    name: str,
    expires_in_days: Annotated[int | None, typer.Option(min=1, max=365)] = None,
    save: Annotated[bool, typer.Option("--save", help="keep the key in the profile for usage/check")] = False,
    output: OutputOption = Output.table,
) -> None:
    """Create an API key; the secret is shown once (and kept in the profile with --save)."""
    settings = _settings_of(ctx)
    with client(ctx, api_key=False) as mp:
        created = mp.api_keys.create(name, expires_in_days=expires_in_days)
    if save:
        profile = profiles.load(settings.profile)
        profile.api_key = created.key
        profiles.save(settings.profile, profile)
    emit(output, created, [*KEY_COLUMNS, "key"], title="API key (the key is shown only once)")


@api_keys_app.command("list")
@reports_errors
def api_keys_list(ctx: typer.Context, output: OutputOption = Output.table) -> None:
    with client(ctx, api_key=False) as mp:
        keys = mp.api_keys.list(limit=100).data
    emit(output, keys, KEY_COLUMNS, title="API keys")


@api_keys_app.command("revoke")
@reports_errors
def api_keys_revoke(ctx: typer.Context, key_id: str, output: OutputOption = Output.table) -> None:
    with client(ctx, api_key=False) as mp:
        revoked = mp.api_keys.revoke(key_id)
    emit(output, revoked, KEY_COLUMNS, title="revoked")


# ---------------------------------------------------------------------- usage and checks
@usage_app.command("send")
@reports_errors
def usage_send(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    format: Annotated[str, typer.Option("--format", help="auto | jsonl | csv")] = "auto",
    batch_size: Annotated[int, typer.Option(min=1, max=1000)] = 1000,
    restart: Annotated[
        bool, typer.Option("--restart", help="ignore the checkpoint of an earlier run")
    ] = False,
    output: OutputOption = Output.table,
) -> None:
    """Send a JSON Lines or CSV file of usage events; resumable; prints accepted/duplicate/rejected."""
    if format not in ("auto", "jsonl", "csv"):
        raise typer.BadParameter("--format is auto, jsonl or csv")
    mp = client(ctx, timeout=BATCH_TIMEOUT_S)
    if not mp.session.api_key:
        raise typer.BadParameter("usage is sent with an API key: `meterplex api-keys create NAME --save`")
    mp.session.retry = RetryPolicy(max_retries=8)

    def send(events: list[Event]) -> UsageBatchResult:
        return mp.usage.send(events)

    total = count_lines(file)
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    try:
        with Progress(*columns, console=err, transient=output is Output.json) as bar:
            task = bar.add_task(file.name, total=total)
            report = send_file(
                file,
                send,
                fmt=format,
                batch_size=batch_size,
                resume=not restart,
                progress=lambda n: bar.advance(task, n),
            )
    except MeterplexError:
        err.print("[yellow]interrupted[/yellow]: run the same command again to resume where it stopped")
        raise
    finally:
        mp.close()
    _report(output, report)


def _report(output: Output, report: SendReport) -> None:
    if output is Output.json:
        emit(output, report.to_json())
        return
    counts = {
        "accepted": report.accepted,
        "duplicates": report.duplicates,
        "rejected": report.rejected,
        "invalid lines (not sent)": report.invalid,
        "lines": report.lines,
    }
    if report.resumed_from:
        counts["resumed from line"] = report.resumed_from
    emit(output, counts, title=f"usage send {report.file}")
    for reason, number in sorted(report.rejected_reasons.items()):
        out.print(f"  rejected {number:>7,}  {reason}")
    for example in report.examples:
        out.print(f"  line {example['line']}: {example['reason']}")


@app.command()
@reports_errors
def check(
    ctx: typer.Context,
    feature: str,
    amount: Annotated[int, typer.Option(min=1)] = 1,
    output: OutputOption = Output.table,
) -> None:
    """May the current tenant use FEATURE (for AMOUNT units)?"""
    with client(ctx) as mp:
        answer = mp.entitlements.check(feature, amount)
    emit(output, answer.model_dump(by_alias=True, mode="json", exclude_none=True), title=feature)
    if output is Output.table and not answer.allowed:
        raise typer.Exit(2)  # scripts can branch on the exit code


# ---------------------------------------------------------------------- invoices
INVOICE_COLUMNS = ["invoiceNumber", "status", "total", "currency", "periodStart", "periodEnd", "id"]


@invoices_app.command("list")
@reports_errors
def invoices_list(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="DRAFT | FINALIZED | PAID | VOID")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    cursor: Annotated[str | None, typer.Option(help="meta.nextCursor of the previous page")] = None,
    output: OutputOption = Output.table,
) -> None:
    with client(ctx, api_key=False) as mp:
        page = mp.invoices.list(status=status, limit=limit, cursor=cursor)
    if output is Output.json:
        emit(output, page)
        return
    emit(output, page.data, INVOICE_COLUMNS, title="invoices (amounts in cents)")
    if page.meta.next_cursor:
        out.print(f"next page: --cursor {page.meta.next_cursor}")


@invoices_app.command("show")
@reports_errors
def invoices_show(ctx: typer.Context, invoice_id: str, output: OutputOption = Output.table) -> None:
    with client(ctx, api_key=False) as mp:
        invoice = mp.invoices.get(invoice_id)
    if output is Output.json:
        emit(output, invoice)
        return
    emit(output, invoice.to_json(), [*INVOICE_COLUMNS, "subtotal", "dueDate", "finalizedAt", "paidAt"])
    lines = [line.to_json() for line in invoice.line_items]
    emit(output, lines, ["description", "quantity", "unitPriceMicroCents", "amount"], title="line items")


# ---------------------------------------------------------------------- test clock
@clock_app.command("show")
@reports_errors
def clock_show(ctx: typer.Context, output: OutputOption = Output.table) -> None:
    with client(ctx, api_key=False) as mp:
        emit(output, mp.clock.get(), title="business clock")


@clock_app.command("advance")
@reports_errors
def clock_advance(
    ctx: typer.Context,
    days: Annotated[int | None, typer.Option(min=0)] = None,
    hours: Annotated[int | None, typer.Option(min=0)] = None,
    to: Annotated[datetime | None, typer.Option(help="ISO 8601 instant (forward only)")] = None,
    output: OutputOption = Output.table,
) -> None:
    """Move business time forward; the schedules passed run before it answers."""
    if days is None and hours is None and to is None:
        raise typer.BadParameter("give --days, --hours or --to")
    with client(ctx, api_key=False) as mp:
        answer = mp.clock.advance(to=to, days=days, hours=hours)
        fired = list(answer.fired)
        while not answer.complete:  # the server's time budget ran out between firings: go on
            answer = mp.clock.advance(to=answer.target)
            fired += answer.fired
        emit(output, answer.model_copy(update={"fired": fired}), title="business clock")


@clock_app.command("reset")
@reports_errors
def clock_reset(ctx: typer.Context, output: OutputOption = Output.table) -> None:
    """Back to real time."""
    with client(ctx, api_key=False) as mp:
        emit(output, mp.clock.reset(), title="business clock")
