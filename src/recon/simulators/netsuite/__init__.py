"""A NetSuite SuiteTalk REST simulator (Starlette), per /work/shared/reference/netsuite.md.

Serves the record service `/services/rest/record/v1/{recordType}` (bearer auth, `{"id"}`
references, `{"items": [...]}` sublists, `expandSubResources`, `fields`, collection paging
with `limit`/`offset`/`links`/`hasMore`, `q` filters, POST -> 204 + `Location`, upsert and
read by `eid:{externalId}`, PATCH, DELETE), SuiteQL `POST /services/rest/query/v1/suiteql`
as Oracle SQL (ROWNUM, TOP, SYSDATE arithmetic, TO_DATE/TO_CHAR, NVL; SQLite's own syntax
refused) translated onto an in-memory SQLite copy of the state, and
`GET /services/rest/system/v1/serverTime`, from an in-memory `NetSuiteState`. Fields a record
type does not have are refused in bodies, `q` and `fields` (400). Errors use NetSuite's
`type/title/status/o:errorDetails` body; an optional account concurrency limit answers
429. `seed_from_scenario` builds the state from a scenario's Sage 200 state. This package
must not know recon's posting rules or talk to a real NetSuite; the base URL is the root
before `/services/...`.

Invented or inferred (documented in docs/simulators.md): error codes and wording beyond
`INVALID_LOGIN` / `INVALID_CONTENT`, the 429 body, SuiteQL value formatting (strings,
`M/D/YYYY` dates, nulls left out), line signs and ids in `transactionline`, tranId numbers.

The package, one concern a module: `records` (record types, fields, value checks), `errors`
(the error body), `state` (`NetSuiteState`), `sqlcopy` (the SQLite copy SuiteQL reads),
`suiteql` (Oracle SQL onto SQLite), `q` (record filters), `app` (middleware, paging, routes)
and `seed` (state and mappings from a scenario).
"""

from recon.simulators.netsuite.app import NetSuiteCredentials, create_app
from recon.simulators.netsuite.errors import NetSuiteError
from recon.simulators.netsuite.records import (
    BASE_PATH,
    MAX_LIMIT,
    QUERY_PATH,
    RECORD_PATH,
)
from recon.simulators.netsuite.seed import mappings_toml, seed_from_scenario
from recon.simulators.netsuite.sqlcopy import _sql_instant as _sql_instant
from recon.simulators.netsuite.state import NetSuiteState

__all__ = [
    "BASE_PATH",
    "MAX_LIMIT",
    "QUERY_PATH",
    "RECORD_PATH",
    "NetSuiteCredentials",
    "NetSuiteError",
    "NetSuiteState",
    "create_app",
    "mappings_toml",
    "seed_from_scenario",
]
