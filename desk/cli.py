"""Command-line interface: `flask --app wsgi <command>`. Each command is a thin wrapper over a service."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask_migrate import upgrade

from desk.audit.services import Actor, verify_chain
from desk.errors import DeskError

CLI = Actor.system("cli")


def fail(exc: DeskError) -> None:
    click.echo(f"error: {exc.message}", err=True)
    for line in exc.errors:
        if line != exc.message:
            click.echo(f"  {line}", err=True)
    sys.exit(1)


def register_cli(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db():
        """Create the database schema or upgrade it to the latest migration (safe to run twice)."""
        upgrade(directory=current_app.extensions["migrate"].directory)
        click.echo("database is at the latest schema")

    @app.cli.command("load-contracts")
    @click.argument("paths", nargs=-1, required=True, type=click.Path())
    def load_contracts_command(paths):
        """Load contract files (*.toml) or folders of them; re-loading a code updates that contract."""
        from desk.contracts.services import load_contracts

        try:
            contracts = load_contracts(list(paths), CLI)
        except DeskError as exc:
            fail(exc)
        for c in contracts:
            click.echo(f"loaded {c.code}: {c.customer} ({len(c.clauses)} clauses, {len(c.units)} units)")

    @app.cli.command("import-incidents")
    @click.argument("code")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    def import_incidents_command(code, file):
        """Import historic incidents from CSV (spec §6); all or nothing, re-import updates by external_id."""
        from desk.incidents.imports import import_incidents

        data = Path(file).read_bytes()
        with click.progressbar(length=1, label="importing", file=sys.stderr) as bar:
            def progress(done, total):
                bar.length = total
                if done % 500 == 0 or done == total:
                    bar.update(done - bar.pos)

            try:
                result = import_incidents(code, data, CLI, progress)
            except DeskError as exc:
                fail(exc)
        click.echo(f"{code}: {result.created} created, {result.updated} updated, {result.unchanged} unchanged")

    @app.cli.command("import-payments")
    @click.argument("code")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    def import_payments_command(code, file):
        """Import payments into the ledger from CSV with columns paid_at, amount, note."""
        from desk.incidents.imports import import_payments

        try:
            result = import_payments(code, Path(file).read_bytes(), CLI)
        except DeskError as exc:
            fail(exc)
        click.echo(f"{code}: {result.created} payments recorded, {result.updated} updated, "
                   f"{result.unchanged} unchanged")

    @app.cli.command("sla-report")
    @click.argument("code")
    @click.argument("month")
    @click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx", "pdf"]), default="json",
                  show_default=True)
    @click.option("--as-of", "as_of", help="ISO 8601 instant; without an offset, in the contract's time zone")
    @click.option("-o", "--output", type=click.Path(dir_okay=False), help="write to FILE instead of stdout")
    @click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
    def sla_report_command(code, month, fmt, as_of, output, lang):
        """The monthly SLA report of a contract (spec §5)."""
        from desk.contracts.services import get_contract
        from desk.reports.services import monthly_report, render_report
        from desk.timeparse import parse_instant

        try:
            contract = get_contract(code)
            instant = None
            if as_of:
                try:
                    instant = parse_instant(as_of, contract.timezone)
                except ValueError as exc:
                    raise DeskError(f"--as-of: {exc}")
            report = monthly_report(code, month, instant)
            if fmt == "json":
                data = (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
            else:
                data = render_report(contract, report, fmt, lang=lang)
        except DeskError as exc:
            fail(exc)
        if output:
            Path(output).write_bytes(data)
            click.echo(f"wrote {output}", err=True)
        elif fmt in ("json", "csv"):
            sys.stdout.buffer.write(data)
        else:
            click.echo("error: binary formats need -o FILE", err=True)
            sys.exit(1)

    @app.cli.command("create-user")
    @click.option("--username", required=True)
    @click.option("--role", required=True,
                  type=click.Choice(["unit_reporter", "unit_manager", "carrier_engineer", "carrier_manager", "admin"]))
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option("--name", "display_name", default="")
    @click.option("--unit", "unit_code", help="unit code (required for unit_reporter)")
    @click.option("--contract", "contract_codes", multiple=True, help="contract code the user works on (repeatable)")
    @click.option("--phone", default="", help="mobile number for SMS alerts")
    @click.option("--on-duty/--off-duty", default=False, help="engineers on duty get new-ticket SMS")
    def create_user_command(username, role, password, display_name, unit_code, contract_codes, phone, on_duty):
        """Create a user of the desk."""
        from desk.auth.services import create_user

        try:
            user = create_user(CLI, username=username, password=password, role=role, display_name=display_name,
                               unit_code=unit_code, contract_codes=list(contract_codes), phone=phone,
                               on_duty=on_duty)
        except DeskError as exc:
            fail(exc)
        click.echo(f"created {user.role} {user.username}")

    @app.cli.command("create-api-token")
    @click.argument("name")
    @click.option("--contract", "contract_codes", multiple=True, required=True,
                  help="contract code the token may use (repeatable)")
    def create_api_token_command(name, contract_codes):
        """Create an API token; it is printed once and stored only as a hash."""
        from desk.auth.services import create_api_token

        try:
            token, plaintext = create_api_token(CLI, name, list(contract_codes))
        except DeskError as exc:
            fail(exc)
        click.echo(plaintext)
        click.echo(f"token {token.prefix}… for {', '.join(contract_codes)}: keep it now, it is not shown again",
                   err=True)

    @app.cli.command("revoke-api-token")
    @click.argument("prefix")
    def revoke_api_token_command(prefix):
        """Revoke an API token by the first 12 characters shown when it was created."""
        from desk.auth.services import revoke_api_token

        try:
            revoke_api_token(CLI, prefix)
        except DeskError as exc:
            fail(exc)
        click.echo(f"revoked {prefix}")

    @app.cli.command("clock-tick")
    @click.option("--now", "now_text", help="ISO 8601 instant to tick at (default: now)")
    def clock_tick_command(now_text):
        """Record every SLA clock event that has come due (once each, at its due instant)."""
        from desk.clock.month_end import ensure_freeze_events
        from desk.clock.tick import tick
        from desk.models import utcnow
        from desk.timeparse import CLOCK_SKEW, parse_instant

        try:
            now = parse_instant(now_text, current_app.config["DESK_TIMEZONE"]) if now_text else utcnow()
        except ValueError as exc:
            fail(DeskError(f"--now: {exc}"))
        if now > utcnow() + CLOCK_SKEW:
            # Events are recorded once, at the instant they fell due: a tick ahead of the real clock
            # would record deadlines missed (and text the engineers) before they could be met.
            fail(DeskError(f"--now: {now_text} is later than the current time; the clock only records what has come due"))
        ensure_freeze_events(now)
        result = tick(now)
        click.echo(f"{result.recorded} events recorded, {result.cancelled} cancelled")

    @app.cli.command("scheduler")
    def scheduler_command():
        """Run the SLA clock: record events as they come due and send the outbox (one active per database)."""
        import logging

        from desk.clock.scheduler import run_forever

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        for noisy in ("apscheduler", "twilio.http_client"):  # not lines per beat and per request
            logging.getLogger(noisy).setLevel(logging.WARNING)
        run_forever(current_app._get_current_object())
    @app.cli.command("outbox-dispatch")
    @click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1),
                  help="send at most this many messages")
    def outbox_dispatch_command(limit):
        """Send the outbound SMS that are due, once (for cron; the scheduler does the same every few seconds)."""
        from desk.models import utcnow
        from desk.outbox.dispatcher import dispatch_due

        result = dispatch_due(utcnow(), limit=limit)
        click.echo(f"{result.sent} sent, {result.retrying} to retry, {result.failed} failed, "
                   f"{result.not_sent} not sent (no Twilio credentials), {result.recovered} found already sent")

    @app.cli.command("set-unit-pin")
    @click.argument("code")
    @click.option("--pin", prompt="PIN (6 to 8 digits)", hide_input=True, confirmation_prompt=True,
                  help="the PIN; asked for without echo when not given")
    def set_unit_pin_command(code, pin):
        """Set the hotline PIN of a unit, for its people calling from a number not registered for it."""
        from desk.hotline.services import keypad_digits, set_unit_pin

        try:
            unit = set_unit_pin(CLI, code, pin)
        except DeskError as exc:
            fail(exc)
        click.echo(f"PIN set for {unit.code}; callers key the unit code as {keypad_digits(unit.code)}")

    @app.cli.command("audit-verify")
    def audit_verify_command():
        """Check the audit log's hash chain; report the first altered entry."""
        broken = verify_chain()
        if broken is None:
            click.echo("audit log intact")
            return
        click.echo(f"audit log altered at entry {broken.entry_id}: {broken.reason}", err=True)
        sys.exit(1)

    @app.cli.command("backup")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--force", is_flag=True, help="overwrite FILE if it exists")
    def backup_command(file, force):
        """A consistent copy of the database while the desk runs (SQLite file, or pg_dump custom format)."""
        from desk.backup import backup_database

        try:
            result = backup_database(current_app.config["SQLALCHEMY_DATABASE_URI"], file, force=force)
        except DeskError as exc:
            fail(exc)
        click.echo(f"wrote {result.path} ({result.size} bytes, {result.method})")
