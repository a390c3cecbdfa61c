"""Fake vendor routers for `httpx.MockTransport`: small in-memory APIs, not function mocks."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class Recorder:
    """Wraps a handler; keeps every request it saw."""

    handler: Handler
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def scripted(*responses: httpx.Response | Exception) -> Recorder:
    """Answers with the given responses in turn (the last one repeats)."""
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return Recorder(handler)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )


class FakeSitoo:
    """Account-level orders plus site-level resources, `{totalcount, items}` with start/num."""

    def __init__(
        self, collections: dict[str, list[dict[str, Any]]], *, max_num: int | None = None
    ) -> None:
        self.collections = collections
        self.max_num = max_num  # a server that caps `num` below what was asked
        self.put_bodies: list[Any] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "PUT" and path.endswith("/warehouseitems.json"):
            body = json.loads(request.content)
            self.put_bodies.append(body)
            answers = [
                {"statuscode": 400 if item["sku"].startswith("BAD") else 200, "return": True}
                for item in body
            ]
            return json_response(200, answers)
        if request.method == "PUT" and path.endswith("/products.json"):
            body = json.loads(request.content)
            self.put_bodies.append(body)
            if len(body) == 1:  # Sitoo answers a one-product update with a bare `true`
                return json_response(200, True)
            answers = [
                {"statuscode": 404 if item["productid"] >= 900 else 200, "return": True}
                for item in body
            ]
            return json_response(200, answers)
        for suffix, items in self.collections.items():
            if path.endswith(suffix):
                start = int(request.url.params.get("start", "0"))
                num = int(request.url.params.get("num", "10"))
                num = min(num, self.max_num or num)
                page = items[start : start + num]
                return json_response(200, {"totalcount": len(items), "items": page})
        return json_response(404, {"statuscode": 404, "errortext": f"No route {path}"})


class FakeSage:
    """OData collections as bare arrays; `$skip` without `$orderby` is refused like Sage."""

    def __init__(self, collections: dict[str, list[dict[str, Any]]]) -> None:
        self.collections = collections
        self.posted: list[tuple[str, bytes]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        resource = request.url.path.rsplit("/", 1)[-1]
        if request.method == "POST":
            self.posted.append((resource, request.content))
            if resource == "sop_orders":
                body = json.loads(request.content)
                return json_response(200, {"id": 9001, "document_no": "0000000001", **body})
            return json_response(200, {"urn": "118842"})
        if resource not in self.collections:
            return json_response(404, {"message": f"Unknown resource {resource}"})
        params = request.url.params
        if "$skip" in params and "$orderby" not in params:
            return json_response(400, {"message": "$skip requires $orderby"})
        rows = self.collections[resource]
        after = re.search(r"\b(\w+) gt (\d+)$", params.get("$filter", ""))  # keyset paging
        if after:
            rows = [r for r in rows if r[after[1]] > int(after[2])]
        skip = int(params.get("$skip", "0"))
        top = int(params.get("$top", "500"))
        return json_response(200, rows[skip : skip + top])
