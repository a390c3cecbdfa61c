"""The vendors' OpenAPI schemas (cut into tests/simulators/specs/) as validators.

`Spec.problems(...)` lists, for one answer or request body, each place it breaks the
schema as `JSON-pointer: message`; an empty list means it validates. OpenAPI 3.0 schema
objects are JSON Schema draft 4 plus a few keywords: `nullable: true` admits `null` on top
of `type`; `readOnly`, `writeOnly`, `format` (e.g. Sage's `decimal 2dp`) and the `x-`
extensions say nothing a validator checks.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, validators
from jsonschema.exceptions import ValidationError

SPECS = Path(__file__).parent / "specs"


def _type(validator: Any, types: Any, instance: Any, schema: dict[str, Any]) -> Any:
    if instance is None and schema.get("nullable") is True:
        return
    yield from Draft4Validator.VALIDATORS["type"](validator, types, instance, schema)


OAS30Validator = validators.extend(Draft4Validator, {"type": _type})

# Sage's schemas give its enum-valued fields (`document_status`, `account_type`, ...) a
# `maxLength` shorter than the enum names Sage documents for them (`EnumDocumentStatusLive`,
# `TradingAccountEntryTypeCreditNote`): the spec contradicts itself (reference sage200.md,
# "Fields the spec marks required"). An enum name is exempt from `maxLength`; any other
# string is held to it.
_ENUM_NAME = re.compile(r"(?:[A-Z][a-z0-9]+){3,}")


def _max_length(validator: Any, limit: Any, instance: Any, schema: dict[str, Any]) -> Any:
    if isinstance(instance, str) and _ENUM_NAME.fullmatch(instance):
        return
    yield from Draft4Validator.VALIDATORS["maxLength"](validator, limit, instance, schema)


SageValidator = validators.extend(OAS30Validator, {"maxLength": _max_length})


class Spec:
    def __init__(self, name: str, validator: Any = OAS30Validator) -> None:
        self.doc: dict[str, Any] = json.loads((SPECS / f"{name}.json").read_text())
        self.validator = validator

    def schema(self, name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}

    def response(self, method: str, path: str, status: int = 200) -> dict[str, Any] | None:
        """The schema the spec gives the answer to `method path` with `status`, if any."""
        answer = self.doc["paths"][path][method.lower()]["responses"].get(str(status), {})
        content = answer.get("content", {}).get("application/json")
        return content.get("schema") if content else None

    def request(self, method: str, path: str) -> dict[str, Any]:
        body = self.doc["paths"][path][method.lower()]["requestBody"]
        schema: dict[str, Any] = body["content"]["application/json"]["schema"]
        return schema

    def problems(self, schema: dict[str, Any], instance: Any) -> list[str]:
        return [_describe(e) for e in _validator(self, json.dumps(schema))(instance)]


@cache
def _validator(spec: Spec, schema: str) -> Any:
    root = {**json.loads(schema), "components": spec.doc["components"]}
    checker = spec.validator(root)
    return lambda instance: sorted(checker.iter_errors(instance), key=lambda e: e.json_path)


def _describe(error: ValidationError) -> str:
    pointer = "/" + "/".join(str(p) for p in error.absolute_path)
    return f"{pointer}: {error.message[:200]}"


SITOO_SPEC = Spec("sitoo")
SAGE200_SPEC = Spec("sage200", SageValidator)
