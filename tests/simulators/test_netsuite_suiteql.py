"""SuiteQL is Oracle SQL: the simulator runs the Oracle forms clients use (ROWNUM, TOP, NVL,
SYSDATE arithmetic, TO_DATE / TO_CHAR / TRUNC) with Oracle's answers, and refuses SQLite's
own syntax (LIMIT, IFNULL, date('now'), ...) with NetSuite's 400 error body."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from recon.simulators.netsuite import NetSuiteState, create_app
from tests.simulators.test_netsuite import CREDS, R, invoice, ql, seeded

JUNE_30_NOON = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def client() -> TestClient:
    return three_invoices(seeded())


def three_invoices(state: NetSuiteState) -> TestClient:
    """Three invoices, last changed on June 1, 20 and 25 (09:00 UTC); SYSDATE is June 30,
    noon."""
    c = TestClient(create_app(state, CREDS))
    c.headers["Authorization"] = f"Bearer {CREDS.token}"
    for eid, day in (("5120", 1), ("5121", 20), ("5122", 25)):
        state.frozen_now = datetime(2024, 6, day, 9, 0, tzinfo=UTC)
        assert c.post(f"{R}/invoice", json=invoice(eid, tranDate=f"2024-06-{day:02d}")).is_success
    state.frozen_now = JUNE_30_NOON
    return c


def column(client: TestClient, q: str, name: str = "externalid") -> list[str]:
    response = ql(client, q)
    assert response.status_code == 200, response.text
    return [row.get(name, "") for row in response.json()["items"]]


INVOICES = "SELECT externalid FROM transaction WHERE type = 'CustInvc'"


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("lastmodifieddate >= SYSDATE - 7", ["5122"]),  # since June 23, noon
        ("lastmodifieddate >= SYSDATE - 10.5", ["5121", "5122"]),  # since June 20, 00:00
        ("trandate >= TRUNC(SYSDATE) - 29", ["5120", "5121", "5122"]),  # since June 1
        ("trandate < TO_DATE('2024-06-20', 'YYYY-MM-DD')", ["5120"]),
        ("trandate + 11 > SYSDATE", ["5121", "5122"]),  # July 1 and July 6
        ("SYSDATE - trandate > 20", ["5120"]),  # 29.5 days old (the others 10.5, 5.5)
        ("trandate >= ADD_MONTHS(TRUNC(SYSDATE, 'MM'), 0)", ["5120", "5121", "5122"]),
        ("TO_CHAR(trandate, 'YYYY-MM-DD') = '2024-06-25'", ["5122"]),
        ("NVL(memo, 'none') = 'none'", ["5120", "5121", "5122"]),
    ],
)
def test_oracle_date_arithmetic_and_functions(
    client: TestClient, condition: str, expected: list[str]
) -> None:
    assert column(client, f"{INVOICES} AND {condition} ORDER BY id") == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"{INVOICES} AND ROWNUM <= 2 ORDER BY id", ["5120", "5121"]),
        (f"{INVOICES} AND ROWNUM < 2", ["5120"]),
        (f"{INVOICES} AND 1 >= ROWNUM", ["5120"]),
        (f"{INVOICES} AND ROWNUM = 1", ["5120"]),
        (f"{INVOICES} AND ROWNUM = 2", []),  # Oracle: ROWNUM = 2 never holds
        ("SELECT TOP 2 externalid FROM transaction ORDER BY id", ["5120", "5121"]),
        # the classic Oracle page: rows 2..3 of the ordered query
        (
            "SELECT externalid FROM (SELECT a.*, ROWNUM rnum FROM (SELECT externalid, id FROM "
            "transaction ORDER BY id) a WHERE ROWNUM <= 3) WHERE rnum > 1",
            ["5121", "5122"],
        ),
        (
            f"{INVOICES} AND id IN (SELECT transaction FROM transactionline WHERE ROWNUM = 1)",
            ["5120"],
        ),
    ],
)
def test_rownum_and_top_keep_the_rows_oracle_keeps(
    client: TestClient, query: str, expected: list[str]
) -> None:
    assert column(client, query) == expected


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("SELECT id FROM transaction ORDER BY id LIMIT 2", "LIMIT"),
        ("SELECT id FROM transaction ORDER BY id LIMIT 2 OFFSET 1", "LIMIT"),
        ("SELECT IFNULL(memo, '') AS m FROM transaction", "IFNULL"),
        ("SELECT id FROM transaction WHERE trandate > date('now', '-30 days')", "DATE"),
        ("SELECT datetime(lastmodifieddate) AS d FROM transaction", "DATETIME"),
        ("SELECT strftime('%Y', trandate) AS y FROM transaction", "STRFTIME"),
        ("SELECT julianday(trandate) AS j FROM transaction", "JULIANDAY"),
        ("SELECT id FROM transaction WHERE id == 1", "=="),
        ("SELECT GROUP_CONCAT(id) AS ids FROM transaction", "GROUP_CONCAT"),
    ],
)
def test_sqlite_syntax_is_refused_with_netsuites_error_body(
    client: TestClient, query: str, word: str
) -> None:
    response = ql(client, query)
    assert response.status_code == 400
    body = response.json()
    assert (body["title"], body["status"]) == ("Bad Request", 400)
    detail = body["o:errorDetails"][0]
    assert (detail["o:errorCode"], detail["o:errorQueryParam"]) == ("INVALID_PARAMETER", "q")
    assert detail["detail"].startswith("Invalid search query.")
    assert f"{word} is not SuiteQL" in detail["detail"]


def test_sqlite_words_inside_string_literals_are_data(client: TestClient) -> None:
    q = f"{INVOICES} AND NVL(memo, 'LIMIT 1; date(''now'')') <> 'x' ORDER BY id"
    assert column(client, q) == ["5120", "5121", "5122"]


def test_double_quotes_name_identifiers_not_strings(client: TestClient) -> None:
    response = ql(client, f'{INVOICES} AND externalid = "5120"')
    detail = response.json()["o:errorDetails"][0]
    assert (response.status_code, detail["o:errorCode"]) == (400, "INVALID_PARAMETER")
    assert '"5120" is an identifier' in detail["detail"]
    assert column(client, f"{INVOICES} AND \"externalid\" = '5120'") == ["5120"]


def test_unknown_columns_are_refused(client: TestClient) -> None:
    response = ql(client, "SELECT t.nosuchcolumn FROM transaction t")
    assert response.status_code == 400
    assert response.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"


def test_only_the_first_rows_of_a_query_can_be_paged() -> None:
    state = seeded()
    state.max_query_rows = 2  # NetSuite: 100,000
    client = three_invoices(state)
    q = "SELECT id, externalid FROM transaction WHERE type = 'CustInvc' ORDER BY id"
    first = ql(client, q, limit=1).json()
    assert (first["totalResults"], first["hasMore"]) == (3, True)  # the query is not refused
    assert ql(client, q, limit=1, offset=1).status_code == 200
    past = ql(client, q, limit=1, offset=2)
    assert past.status_code == 400
    assert past.json()["o:errorDetails"][0]["o:errorQueryParam"] == "offset"
    # paging by key (a new query per page) reads every row
    after = ql(client, f"{INVOICES} AND id > {first['items'][0]['id']} ORDER BY id", limit=2)
    assert [row["externalid"] for row in after.json()["items"]] == ["5121", "5122"]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(op=st.sampled_from(["<=", "<", "=", ">", ">="]), n=st.integers(0, 5), flip=st.booleans())
def test_rownum_keeps_what_oracle_keeps_for_any_bound(
    client: TestClient, op: str, n: int, flip: bool
) -> None:
    every = column(client, f"{INVOICES} ORDER BY id")  # ["5120", "5121", "5122"]
    # Oracle numbers the rows that pass the other conditions 1, 2, ...; a row is kept when
    # its number passes the test, and numbering stops at the first row that fails it
    kept: list[str] = []
    for number, row in enumerate(every, start=1):
        if not {"<=": number <= n, "<": number < n, "=": number == n, ">": number > n,
                ">=": number >= n}[op]:  # fmt: skip
            break
        kept.append(row)
    mirrored = {"<=": ">=", "<": ">", "=": "=", ">": "<", ">=": "<="}[op]
    condition = f"{n} {mirrored} ROWNUM" if flip else f"ROWNUM {op} {n}"
    assert column(client, f"{INVOICES} AND {condition} ORDER BY id") == kept
