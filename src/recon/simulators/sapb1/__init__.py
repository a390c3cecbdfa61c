"""An SAP Business One Service Layer simulator (Starlette), per reference/sap-b1.md.

Serves `/b1s/v1/...` (OData v3) from an in-memory `SapB1State`: `POST /Login` with the
`B1SESSION` + `ROUTEID` cookies and an idle session timeout (401 / code 301), `POST
/Logout`; collections with `$select/$filter/$orderby/$top/$skip/$inlinecount`, `/$count`,
server-side paging (20 rows by default, `Prefer: odata.maxpagesize=N` or `B1S-PageSize`,
`odata.nextLink`); single entities by key (`Invoices(1201)`, `Items('TEE-BLK-M')`); POST
creates answering 201 with the entity; PATCH with ETag / `If-Match` (412 / -2039);
`Cancel` (adding the cancellation document) / `Close` actions; `$batch` (OData v3
multipart/mixed, change sets atomic); documents cannot be deleted (400 / -5006).
Entities: Items (with `ItemWarehouseInfoCollection`), Warehouses, BusinessPartners,
Invoices, CreditNotes, IncomingPayments, VendorPayments, JournalEntries, ChartOfAccounts,
VatGroups, CreditCards.
B1 computes each line's `LineTotal` and VAT (`TaxTotal`) from net prices; invoices take
stock out of the line's warehouse and credit notes put it back. Money is a JSON number,
parsed as Decimal.

`seed_from_scenario(scenario)` builds the B1 company from the scenario's Sage 200 state
(see docs/simulators.md for how the codes translate). This package must not know recon's
sync rules; it must never talk to a real vendor.

Inferred (not read in a source; documented in docs/simulators.md): the login-failure code
(100000027), the 404 body (-2028), the desktop record-lock answer (400 / -2039), the
`Property 'X' of 'Document' is invalid` check (-1000), the -10 message texts, and the
cancellation document's date (the cancelled document's) and `Cancelled` (tNO).

Modules: `schema` (entity sets, properties, codes, value checks), `company` (state, sessions,
master data), `documents` (invoices, credit notes), `state` (`SapB1State`: payments, journals,
updates, actions), `batch` (`$batch` bodies), `app` (the HTTP app), `seed` (from a scenario).
"""

from recon.simulators.sapb1.app import create_app
from recon.simulators.sapb1.schema import (
    BASE_PATH,
    CODE_LOGIN,
    ENTITY_SETS,
    ROUTE_ID,
    B1Error,
    SapB1Credentials,
)
from recon.simulators.sapb1.seed import seed_from_scenario, truth_for_sapb1
from recon.simulators.sapb1.state import SapB1State

__all__ = [
    "BASE_PATH",
    "CODE_LOGIN",
    "ENTITY_SETS",
    "ROUTE_ID",
    "B1Error",
    "SapB1Credentials",
    "SapB1State",
    "create_app",
    "seed_from_scenario",
    "truth_for_sapb1",
]
