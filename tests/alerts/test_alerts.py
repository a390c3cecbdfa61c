"""Alerts against a local webhook receiver (http.server on 127.0.0.1) and a local SMTP server
(aiosmtpd): one digest per owner and channel, nothing sent twice for the same reason,
thresholds per kind, and a receiver that is down retried next run.

Each test writes a small exceptions table (id, kind, owner, status, hours since first seen)
and states beside it what each receiver must get.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import Engine, select

from recon.alerts import AgeThresholds, send_alerts
from recon.config import ConfigError, Settings
from recon.config.mappings import MapSettings
from recon.reconcile.describe import SEVERITY
from recon.warehouse import signoff
from recon.warehouse.db import open_warehouse, table, upsert
from recon.warehouse.models import ExceptionEvent
from recon.warehouse.runs import RunLog, record_run

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
TOKEN = "T000/B000/s3cr3t-hook-token"


# ----------------------------------------------------------------- receivers
class Webhook:
    """A JSON receiver on 127.0.0.1:0; `status` is what it answers."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(size))
                if outer.status == 200:
                    outer.bodies.append(body)
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{TOKEN}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def items(self) -> list[list[tuple[str, str]]]:
        """Per received digest: (exception id, reason) of each item."""
        return [[(i["id"], i["reason"]) for i in b["items"]] for b in self.bodies]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def finance_hook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def ops_hook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_warehouse(f"sqlite:///{tmp_path}/w.db").engine


# ----------------------------------------------------------------- helpers
OWNER = {"missing_in_erp": "finance", "amount_mismatch": "finance", "vat_rounding": "finance"}
OWNER |= {"stock_variance": "ops", "price_mismatch": "ops", "unknown_sku": "ops"}


def exceptions(
    engine: Engine, rows: list[tuple[str, str, str, float]], now: datetime = NOW
) -> None:
    """Write (id, kind, status, hours since first seen) rows; owner and severity by kind."""
    values = []
    for exc_id, kind, status, hours in rows:
        first = now - timedelta(hours=hours)
        values.append(
            {
                "id": exc_id,
                "kind": kind,
                "cause": "not_posted",
                "store": "1",
                "business_day": first.date(),
                "pos_ref": exc_id.removeprefix("x"),
                "erp_ref": None,
                "sku": None,
                "tender": None,
                "account": None,
                "pos_value": None,
                "erp_value": None,
                "difference": None,
                "currency": "GBP",
                "severity": SEVERITY[kind],
                "owner": OWNER[kind],
                "status": status,
                "first_seen": first,
                "last_seen": now,
            }
        )
    with engine.begin() as conn:
        upsert(conn, table("exceptions"), values)


def settings(**kw: object) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


def send(
    engine: Engine,
    alert_settings: Settings,
    thresholds: AgeThresholds | None = None,
    now: datetime = NOW,
) -> RunLog:
    with record_run(engine, "alerts") as run:
        send_alerts(engine, alert_settings, thresholds or AgeThresholds(), run, now=now)
    return run


def sent_events(engine: Engine) -> set[tuple[str, str, str | None]]:
    query = select(ExceptionEvent.exception_id, ExceptionEvent.action, ExceptionEvent.note)
    with engine.connect() as conn:
        return {
            (i, a, n) for i, a, n in conn.execute(query.where(ExceptionEvent.actor == "alerts"))
        }


# ----------------------------------------------------------------- tests
def test_one_digest_per_owner_and_channel(
    engine: Engine, finance_hook: Webhook, ops_hook: Webhook, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    exceptions(
        engine,
        [
            ("x5120", "missing_in_erp", "new", 1),
            ("x5121", "amount_mismatch", "persisting", 2),
            ("x5122", "vat_rounding", "resolved", 3),  # not open: never alerted
            ("xSKU1", "price_mismatch", "new", 1),
        ],
    )
    alert_settings = settings(
        recon_alert_webhook_finance=finance_hook.url,
        recon_alert_webhook_ops=ops_hook.url,
        recon_alert_email_ops="ops@example.com, lead@example.com",
        recon_smtp_host="127.0.0.1",
        recon_smtp_port=port,
    )
    run = send(engine, alert_settings)

    # severity error before warning, then kind
    assert finance_hook.items() == [[("x5121", "new"), ("x5120", "new")]]
    assert ops_hook.items() == [[("xSKU1", "new")]]
    [body] = finance_hook.bodies
    assert body["owner"] == "finance"
    assert body["counts"] == {"new": 2, "aged": 0}
    assert body["text"].splitlines()[0] == (
        "recon: 2 new and 0 ageing exceptions for finance (2026-03-14 12:00 UTC)"
    )
    assert body["text"].splitlines()[1] == (
        "- [NEW] Document total differs (amount_mismatch, not_posted): store 1 day 2026-03-14 "
        "POS 5121"
    )
    assert body["items"][0]["fix"].startswith("Finance: correct or re-post")
    [mail] = box.messages
    assert mail["To"] == "ops@example.com, lead@example.com"
    assert mail["Subject"] == "recon: 1 new and 0 ageing exceptions for ops (2026-03-14 12:00 UTC)"
    assert "[NEW] Price differs (price_mismatch, not_posted): store 1" in mail.get_payload()
    assert run.problems == []
    assert dict(run.counts) == {"finance_webhook_new": 2, "ops_webhook_new": 1, "ops_email_new": 1}
    assert sent_events(engine) == {
        ("x5120", "alerted_new", "webhook"),
        ("x5121", "alerted_new", "webhook"),
        ("xSKU1", "alerted_new", "webhook"),
        ("xSKU1", "alerted_new", "email"),
    }


def test_nothing_is_sent_twice_for_the_same_reason(engine: Engine, finance_hook: Webhook) -> None:
    exceptions(engine, [("x5120", "missing_in_erp", "new", 1)])
    alert_settings = settings(recon_alert_webhook_finance=finance_hook.url)
    thresholds = AgeThresholds(default=timedelta(hours=24))

    send(engine, alert_settings, thresholds, NOW)  # new
    send(engine, alert_settings, thresholds, NOW + timedelta(hours=1))  # nothing
    send(engine, alert_settings, thresholds, NOW + timedelta(hours=23))  # 24h old: aged
    last = send(engine, alert_settings, thresholds, NOW + timedelta(days=9))  # nothing

    assert finance_hook.items() == [[("x5120", "new")], [("x5120", "aged")]]
    assert dict(last.counts) == {}


def test_age_thresholds_per_kind(engine: Engine, finance_hook: Webhook, ops_hook: Webhook) -> None:
    exceptions(
        engine,
        [
            ("x5120", "missing_in_erp", "persisting", 30),  # default 24h: aged
            ("x5121", "amount_mismatch", "persisting", 20),  # default 24h: not yet
            ("x5122", "vat_rounding", "persisting", 1000),  # off: never aged
            ("xSKU1", "stock_variance", "persisting", 30),  # 72h: not yet
            ("xSKU2", "unknown_sku", "persisting", 13),  # 12h: aged
        ],
    )
    thresholds = AgeThresholds.from_settings(
        MapSettings.parse(
            {
                "posting_mode": "per_order",
                "alert_age_hours": "24",
                "alert_age_hours_vat_rounding": "off",
                "alert_age_hours_stock_variance": "72",
                "alert_age_hours_unknown_sku": "12",
            }
        )
    )
    alert_settings = settings(
        recon_alert_webhook_finance=finance_hook.url, recon_alert_webhook_ops=ops_hook.url
    )
    send(engine, alert_settings, thresholds)

    assert finance_hook.items() == [[("x5121", "new"), ("x5122", "new"), ("x5120", "aged")]]
    assert ops_hook.items() == [[("xSKU1", "new"), ("xSKU2", "aged")]]
    # first told when already aged: sent once, as aged, and never again as new
    assert ("x5120", "alerted_new", "webhook") in sent_events(engine)
    send(engine, alert_settings, thresholds, NOW + timedelta(hours=1))
    assert len(finance_hook.bodies) == 1


@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_a_bad_threshold_names_the_setting(value: str) -> None:
    with pytest.raises(ConfigError, match="alert_age_hours_stock_variance"):
        AgeThresholds.from_settings(MapSettings.parse({"alert_age_hours_stock_variance": value}))


def test_a_receiver_that_is_down_is_reported_and_retried_next_run(
    engine: Engine, finance_hook: Webhook, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    exceptions(engine, [("x5120", "missing_in_erp", "new", 1)])
    alert_settings = settings(
        recon_alert_webhook_finance=finance_hook.url,
        recon_alert_email_finance="finance@example.com",
        recon_smtp_host="127.0.0.1",
        recon_smtp_port=port,
    )
    finance_hook.status = 503
    first = send(engine, alert_settings)

    assert first.problems == [
        "alerts: webhook for finance answered HTTP 503; 1 alerts will be sent next run"
    ]
    assert TOKEN not in "\n".join(first.problems)
    assert len(box.messages) == 1  # the other channel still went
    assert sent_events(engine) == {("x5120", "alerted_new", "email")}

    finance_hook.status = 200
    second = send(engine, alert_settings)

    assert second.problems == []
    assert finance_hook.items() == [[("x5120", "new")]]
    assert len(box.messages) == 1  # not sent again by e-mail


def test_an_unreachable_receiver_is_reported_without_its_url(engine: Engine) -> None:
    exceptions(engine, [("x5120", "missing_in_erp", "new", 1)])
    url = f"http://127.0.0.1:{free_port()}/hooks/{TOKEN}"
    run = send(engine, settings(recon_alert_webhook_finance=url))

    [line] = run.problems
    assert line.startswith("alerts: webhook for finance unreachable (ConnectError)")
    assert TOKEN not in line and "127.0.0.1" not in line
    assert sent_events(engine) == set()


def test_an_owner_without_a_channel_is_named_not_alerted(
    engine: Engine, finance_hook: Webhook
) -> None:
    exceptions(engine, [("x5120", "missing_in_erp", "new", 1), ("xSKU1", "unknown_sku", "new", 1)])
    with record_run(engine, "alerts") as run:
        unrouted = send_alerts(
            engine,
            settings(recon_alert_webhook_finance=finance_hook.url),
            AgeThresholds(),
            run,
            now=NOW,
        )

    assert unrouted == [
        "1 open ops exceptions are not alerted: set RECON_ALERT_WEBHOOK_OPS or "
        "RECON_ALERT_EMAIL_OPS"
    ]
    assert finance_hook.items() == [[("x5120", "new")]]


def test_email_without_a_server_is_a_config_error(engine: Engine) -> None:
    with pytest.raises(ConfigError, match="RECON_SMTP_HOST"):
        send(engine, settings(recon_alert_email_ops="ops@example.com"))


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECON_ALERT_WEBHOOK_OPS", f"https://hooks.example.com/{TOKEN}")
    monkeypatch.setenv("RECON_ALERT_EMAIL_FINANCE", "a@example.com,b@example.com")
    monkeypatch.setenv("RECON_SMTP_PORT", "2525")
    loaded = settings()

    assert loaded.alert_channels("finance") == ["email"]
    assert loaded.alert_channels("ops") == ["webhook"]
    assert loaded.alert_emails("finance") == ["a@example.com", "b@example.com"]
    assert loaded.recon_smtp_port == 2525
    assert TOKEN not in repr(loaded)


def test_recon_alerts_send_without_a_channel_exits_2_naming_the_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from recon.cli.main import main

    for name in ["WEBHOOK_FINANCE", "WEBHOOK_OPS", "EMAIL_FINANCE", "EMAIL_OPS"]:
        monkeypatch.delenv(f"RECON_ALERT_{name}", raising=False)
    monkeypatch.setenv("RECON_WAREHOUSE_URL", f"sqlite:///{tmp_path}/w.db")

    assert main(["alerts", "send"]) == 2
    assert capsys.readouterr().err == (
        "recon alerts: no alert channel: set RECON_ALERT_WEBHOOK_FINANCE / "
        "RECON_ALERT_WEBHOOK_OPS or RECON_ALERT_EMAIL_FINANCE / RECON_ALERT_EMAIL_OPS "
        "(with RECON_SMTP_HOST)\n"
    )


def test_recon_alerts_send_posts_the_digest(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    finance_hook: Webhook,
) -> None:
    from recon.cli.main import main

    url = f"sqlite:///{tmp_path}/w.db"
    exceptions(
        open_warehouse(url).engine, [("x5120", "missing_in_erp", "new", 1)], datetime.now(UTC)
    )
    for name in ["WEBHOOK_OPS", "EMAIL_FINANCE", "EMAIL_OPS"]:
        monkeypatch.delenv(f"RECON_ALERT_{name}", raising=False)
    monkeypatch.setenv("RECON_WAREHOUSE_URL", url)
    monkeypatch.setenv("RECON_ALERT_WEBHOOK_FINANCE", finance_hook.url)

    assert main(["alerts", "send"]) == 0
    assert capsys.readouterr().out == "alerts: finance_webhook_new=1\n"
    assert finance_hook.items() == [[("x5120", "new")]]


def test_recon_v_alerts_send_never_logs_the_webhook_url(
    engine: Engine,
    finance_hook: Webhook,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from recon.cli.main import main

    exceptions(engine, [("x5120", "missing_in_erp", "new", 1)])
    monkeypatch.setenv("RECON_WAREHOUSE_URL", f"sqlite:///{tmp_path}/w.db")
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RECON_ALERT_WEBHOOK_FINANCE", finance_hook.url)
    with caplog.at_level(logging.DEBUG):
        code = main(["-v", "alerts", "send"])

    assert (code, len(finance_hook.bodies)) == (0, 1)  # sent (aged by now: NOW is past)
    assert TOKEN not in caplog.text + "".join(map(str, capsys.readouterr()))


# ----------------------------------------------------------------- reopened sign-offs
DAY = NOW.date()


def sign_off(engine: Engine, store: str, *, review: bool = True) -> None:
    with engine.begin() as conn:
        signoff.prepare(conn, store, DAY, "ann", "", NOW - timedelta(hours=3))
        if review:
            signoff.review(conn, store, DAY, "bob", "", NOW - timedelta(hours=2))


def reopen(engine: Engine, run_id: int) -> None:
    with engine.begin() as conn:
        signoff.reopen_changed(conn, NOW - timedelta(hours=1), run_id=run_id)


def reopens_of(hook: Webhook) -> list[list[tuple[str, str, str]]]:
    """Per reopen message: (store, day, was) of each reopened sign-off."""
    return [
        [(r["store"], r["business_day"], r["was"]) for r in b["reopens"]]
        for b in hook.bodies
        if "reopens" in b
    ]


def test_a_run_reopening_sign_offs_tells_finance_once_which_days_and_why(
    engine: Engine, finance_hook: Webhook, ops_hook: Webhook, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    exceptions(engine, [("x5120", "missing_in_erp", "persisting", 1)])
    sign_off(engine, "1")  # signed by bob
    sign_off(engine, signoff.ALL_STORES, review=False)  # prepared, not signed yet
    exceptions(engine, [("x5120", "missing_in_erp", "resolved", 1)])  # a run changes the day
    reopen(engine, run_id=7)
    alert_settings = settings(
        recon_alert_webhook_finance=finance_hook.url,
        recon_alert_webhook_ops=ops_hook.url,
        recon_alert_email_finance="controller@example.com",
        recon_smtp_host="127.0.0.1",
        recon_smtp_port=port,
    )
    first = send(engine, alert_settings)
    again = send(engine, alert_settings)

    #                       store  day           was
    assert reopens_of(finance_hook) == [[
        ("*", "2026-03-14", "prepared"),
        ("1", "2026-03-14", "signed"),
    ]]  # fmt: skip
    assert ops_hook.bodies == []  # sign-offs are finance's
    [body] = finance_hook.bodies
    assert body["text"].splitlines() == [
        "recon: 2 sign-offs reopened (1 signed) for finance (2026-03-14 12:00 UTC)",
        "- [REOPENED, was prepared] all stores on 2026-03-14: reconcile run 7 changed all "
        "stores on 2026-03-14: missing_in_erp 5120 at store 1 no longer open (difference "
        "was none)",
        "- [REOPENED, was signed] store 1 on 2026-03-14: reconcile run 7 changed store 1 on "
        "2026-03-14: missing_in_erp 5120 no longer open (difference was none)",
    ]
    [mail] = box.messages
    assert mail["To"] == "controller@example.com"
    assert " ".join(mail["Subject"].split()) == body["text"].splitlines()[0]  # unfolded
    assert "[REOPENED, was signed] store 1 on 2026-03-14: reconcile run 7" in mail.get_payload()
    assert dict(first.counts) == {"finance_webhook_reopened": 2, "finance_email_reopened": 2}
    assert dict(again.counts) == {}  # told once per channel

    exceptions(engine, [("x5120", "missing_in_erp", "persisting", 1)])  # open again
    sign_off(engine, "1")  # prepared and signed again, then another run changes it
    exceptions(engine, [("x5120", "missing_in_erp", "resolved", 1)])
    reopen(engine, run_id=8)
    send(engine, alert_settings)
    assert reopens_of(finance_hook)[1:] == [[("1", "2026-03-14", "signed")]]


def test_a_reopen_message_the_receiver_refused_is_sent_next_run(
    engine: Engine, finance_hook: Webhook
) -> None:
    exceptions(engine, [("x5120", "missing_in_erp", "persisting", 1)])
    sign_off(engine, "1")
    exceptions(engine, [("x5120", "missing_in_erp", "resolved", 1)])
    reopen(engine, run_id=7)
    alert_settings = settings(recon_alert_webhook_finance=finance_hook.url)
    finance_hook.status = 503
    down = send(engine, alert_settings)
    finance_hook.status = 200
    up = send(engine, alert_settings)

    assert down.problems == [
        "alerts: webhook for finance answered HTTP 503; 1 reopened sign-offs will be sent next run"
    ]
    assert reopens_of(finance_hook) == [[("1", "2026-03-14", "signed")]]
    assert up.problems == []
