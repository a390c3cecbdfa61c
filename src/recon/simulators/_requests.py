"""The types of the request bodies the Sitoo and Sage 200 simulators accept, as the vendors'
OpenAPI schemas give them (cut from tests/simulators/specs/, which name the repository and
commit; read-only fields left out, a server ignores them).

A body maps each field to its JSON type: `s` a string (`s20`: at most 20 characters), `n` a
number, `i` an integer, `b` a boolean, `o` an object, a nested body for an object with
known fields, and a one-element list for an array of that. No field may be null: neither
vendor's schema has a nullable field. `first_problem` names the first field that breaks
its type, as Sage describes only the first error it finds.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = [
    "SAGE_BANK_RECEIPT",
    "SAGE_SALES_CREDIT_NOTE",
    "SAGE_SALES_INVOICE",
    "SAGE_SALES_PAYMENT",
    "SAGE_SALES_RECEIPT",
    "SAGE_SOP_ORDER",
    "SITOO_PRODUCT",
    "SITOO_WAREHOUSE_ITEM",
    "SITOO_WAREHOUSE_TRANSACTION",
    "first_problem",
]

# Sage 200 gives an order and each of its lines the same user-defined fields.
_ANALYSIS_AND_SPARE: dict[str, str] = {
    **{f"analysis_code_{n}": "s60" for n in range(1, 21)},
    **{f"spare_text_{n}": "s100" for n in range(1, 11)},
    **{f"spare_number_{n}": "n" for n in range(1, 11)},
    **{f"spare_date_{n}": "s" for n in range(1, 6)},
    **{f"spare_bool_{n}": "b" for n in range(1, 6)},
}

Body = Mapping[str, Any]

SAGE_SOP_ORDER: Body = {
    "customer_id": "i",
    "is_editing": "b",
    "is_to_sequence_lines": "b",
    "override_on_hold": "b",
    "recalculate_prices": "b",
    "apply_available_document_discount_percent": "b",
    "customer_delivery_address_id": "i",
    "suppress_warnings": "b",
    "document_no": "s20",
    "customer_type": "s50",
    "document_date": "s",
    "exchange_rate": "n",
    "customer_document_no": "s30",
    "use_invoice_address": "b",
    "is_triangulated": "b",
    "settlement_discount_days": "i",
    "settlement_discount_percent": "n",
    "document_discount_percent": "n",
    "document_created_by": "s30",
    "requested_delivery_date": "s",
    "promised_delivery_date": "s",
    "quotation_expiry_date": "s",
    "order_priority": "s1",
    "payment_with_order": "b",
    "payment_type": "s20",
    "invoice_payment_with_order_immediately": "b",
    "payment_value": "n",
    "payment_reference": "s20",
    "payment_method_id": "i",
    **_ANALYSIS_AND_SPARE,
    "cash_account_invoice_address": {
        "postal_name": "s60",
        "address_1": "s60",
        "address_2": "s60",
        "address_3": "s60",
        "address_4": "s60",
        "city": "s60",
        "county": "s60",
        "country": "s60",
        "postcode": "s10",
    },
    "delivery_address": {
        "postal_name": "s60",
        "address_1": "s60",
        "address_2": "s60",
        "address_3": "s60",
        "address_4": "s60",
        "city": "s60",
        "county": "s60",
        "country": "s60",
        "postcode": "s10",
        "contact": "s235",
        "telephone_number": "s30",
        "fax_number": "s30",
        "email_address": "s255",
        "tax_number": "s30",
        "tax_code_id": "i",
        "country_code_id": "i",
        "tax_code": "o",
        "country_code": "o",
    },
    "profitability": {
        "sop_order_return_id": "i",
        "estimated_cost_value": "n",
        "estimated_profit_percent_on_revenue": "n",
        "estimated_profit_percent_on_cost": "n",
        "estimated_profit_value": "n",
        "issue_value": "n",
        "realised_cost_value": "n",
        "realised_issue_value": "n",
        "realised_profit_percent_on_revenue": "n",
        "realised_profit_percent_on_cost": "n",
        "realised_profit_value": "n",
        "simple_profit_calculation_only": "b",
        "stock_item_order_lines": [
            {
                "sop_order_profit_analysis_id": "i",
                "sop_order_return_line_id": "i",
                "line_type": "s20",
                "estimated_cost_rate": "n",
                "estimated_profit_percent_on_revenue": "n",
                "estimated_profit_percent_on_cost": "n",
                "estimated_profit_value": "n",
                "issue_rate": "n",
                "line_quantity": "n",
                "realised_cost_rate": "n",
                "realised_cost_value": "n",
                "realised_profit_percent_on_revenue": "n",
                "realised_profit_percent_on_cost": "n",
                "realised_profit_value": "n",
                "realised_quantity": "n",
            }
        ],
        "other_order_lines": [
            {
                "sop_order_profit_analysis_id": "i",
                "sop_order_return_line_id": "i",
                "line_type": "s20",
                "estimated_cost_rate": "n",
                "estimated_profit_percent_on_revenue": "n",
                "estimated_profit_percent_on_cost": "n",
                "estimated_profit_value": "n",
                "issue_rate": "n",
                "line_quantity": "n",
                "realised_cost_rate": "n",
                "realised_cost_value": "n",
                "realised_profit_percent_on_revenue": "n",
                "realised_profit_percent_on_cost": "n",
                "realised_profit_value": "n",
                "realised_quantity": "n",
            }
        ],
    },
    "lines": [
        {
            "line_type": "s20",
            "product_id": "i",
            "warehouse_id": "i",
            "create_cancelled_line": "b",
            "is_to_split_line": "b",
            "code": "s30",
            "use_description": "b",
            "description": "s6000",
            "line_quantity": "n",
            "to_allocate_quantity": "n",
            "tax_code_id": "i",
            "nominal_reference": "s8",
            "nominal_cost_centre": "s3",
            "nominal_department": "s3",
            "allocated_quantity": "n",
            "selling_unit_id": "i",
            "selling_unit_description": "s20",
            "selling_unit_price": "n",
            "selling_unit_price_overridden": "b",
            "pricing_unit_id": "i",
            "pricing_unit_description": "s20",
            "unit_discount_percent": "n",
            "discount_percent_specified": "b",
            "unit_discount_value": "n",
            "unit_discount_overridden": "b",
            "discounted_unit_price": "n",
            "cost_price": "n",
            "retain_manual_prices": "b",
            "fulfilment_method": "s50",
            "confirmation_intent_type": "s50",
            "mark_as_preferred": "b",
            "requested_delivery_date": "s",
            "promised_delivery_date": "s",
            "picking_list_comment": "s160",
            "despatch_note_comment": "s160",
            "show_on_customer_docs": "b",
            "show_on_picking_list_type": "s20",
            **_ANALYSIS_AND_SPARE,
            "discount": "o",
            "profitability": {
                "sop_order_profit_analysis_id": "i",
                "sop_order_return_line_id": "i",
                "line_type": "s20",
                "estimated_cost_rate": "n",
                "estimated_profit_percent_on_revenue": "n",
                "estimated_profit_percent_on_cost": "n",
                "estimated_profit_value": "n",
                "issue_rate": "n",
                "line_quantity": "n",
                "realised_cost_rate": "n",
                "realised_cost_value": "n",
                "realised_profit_percent_on_revenue": "n",
                "realised_profit_percent_on_cost": "n",
                "realised_profit_value": "n",
                "realised_quantity": "n",
            },
            "traceable_adjustment_items": [{"quantity": "n", "is_selected": "b"}],
            "is_to_delete": "b",
        }
    ],
    "memos": [{"sop_order_return_id": "i", "is_active": "b", "note": "s1000", "is_to_delete": "b"}],
}

SAGE_SALES_INVOICE: Body = {
    "customer_id": "i",
    "transaction_date": "s",
    "due_date": "s",
    "exchange_rate": "n",
    "reference": "s20",
    "second_reference": "s20",
    "settled_immediately": "b",
    "document_goods_value": "n",
    "document_tax_value": "n",
    "document_discount_value": "n",
    "document_tax_discount_value": "n",
    "discount_percent": "n",
    "discount_days": "i",
    "triangular_transaction": "b",
    "tax_analysis_items": [
        {
            "id": "i",
            "goods_amount": "n",
            "discount_amount": "n",
            "tax_amount": "n",
            "tax_discount_amount": "n",
        }
    ],
    "nominal_analysis_items": [
        {
            "code": "s8",
            "cost_centre": "s3",
            "department": "s3",
            "narrative": "s6000",
            "value": "n",
            "transaction_analysis_code": "s20",
        }
    ],
}

SAGE_SALES_CREDIT_NOTE: Body = {
    "customer_id": "i",
    "transaction_date": "s",
    "exchange_rate": "n",
    "reference": "s20",
    "second_reference": "s20",
    "settled_immediately": "b",
    "document_goods_value": "n",
    "document_tax_value": "n",
    "document_discount_value": "n",
    "document_tax_discount_value": "n",
    "discount_percent": "n",
    "discount_days": "i",
    "triangular_transaction": "b",
    "tax_analysis_items": [
        {
            "id": "i",
            "goods_amount": "n",
            "discount_amount": "n",
            "tax_amount": "n",
            "tax_discount_amount": "n",
        }
    ],
    "nominal_analysis_items": [
        {
            "code": "s8",
            "cost_centre": "s3",
            "department": "s3",
            "narrative": "s6000",
            "value": "n",
            "transaction_analysis_code": "s20",
        }
    ],
}

SAGE_SALES_RECEIPT: Body = {
    "customer_id": "i",
    "bank_id": "i",
    "cheque_currency_id": "i",
    "cheque_value": "n",
    "customer_cheque_value": "n",
    "transaction_date": "s",
    "exchange_rate": "n",
    "bank_exchange_rate": "n",
    "cheque_exchange_rate": "n",
    "settlement_discount_value": "n",
    "reference": "s20",
    "second_reference": "s20",
    "nominal_analysis_items": [
        {
            "code": "s8",
            "cost_centre": "s3",
            "department": "s3",
            "narrative": "s6000",
            "value": "n",
            "transaction_analysis_code": "s20",
        }
    ],
}

SAGE_SALES_PAYMENT: Body = {
    "customer_id": "i",
    "bank_id": "i",
    "cheque_currency_id": "i",
    "cheque_value": "n",
    "customer_cheque_value": "n",
    "transaction_date": "s",
    "exchange_rate": "n",
    "bank_exchange_rate": "n",
    "cheque_exchange_rate": "n",
    "settlement_discount_value": "n",
    "reference": "s20",
    "second_reference": "s20",
    "nominal_analysis_items": [
        {
            "code": "s8",
            "cost_centre": "s3",
            "department": "s3",
            "narrative": "s6000",
            "value": "n",
            "transaction_analysis_code": "s20",
        }
    ],
}

SAGE_BANK_RECEIPT: Body = {
    "bank_id": "i",
    "transaction_date": "s",
    "reference": "s20",
    "second_reference": "s20",
    "tax_registration_number": "s30",
    "narrative": "s6000",
    "exchange_rate": "n",
    "cheque_currency_id": "i",
    "cheque_exchange_rate": "n",
    "tax_code_id": "i",
    "cheque_value": "n",
    "cheque_goods_value": "n",
    "cheque_tax_value": "n",
    "nominal_analysis_items": [
        {
            "code": "s8",
            "cost_centre": "s3",
            "department": "s3",
            "narrative": "s6000",
            "gross_value": "n",
            "goods_value": "n",
            "tax_code_id": "i",
            "tax_value": "n",
            "transaction_date": "s",
            "reference": "s20",
        }
    ],
    "bank_charges": [{"code": "s8", "cost_centre": "s3", "department": "s3", "value": "n"}],
    "nominal_journal_items": [
        {
            "code": "s8",
            "cost_centre": "s3",
            "department": "s3",
            "narrative": "s6000",
            "gross_value": "n",
            "goods_value": "n",
            "tax_code_id": "i",
            "tax_value": "n",
            "transaction_date": "s",
            "reference": "s20",
        }
    ],
}

SITOO_WAREHOUSE_ITEM: Body = {
    "sku": "s",
    "binlocation": "s",
    "decimalthreshold": "s",
    "decimaltotal": "s",
    "moneytotal": "s",
}

SITOO_WAREHOUSE_TRANSACTION: Body = {
    "warehouseid": "i",
    "transactiontype": "i",
    "description": "s",
    "shipmentid": "i",
    "externalid": "s",
    "reasoncode": "s",
    "items": [{"decimalquantity": "s", "moneypricein": "s", "sku": "s"}],
}

SITOO_PRODUCT: Body = {
    "sku": "s",
    "skumanufacturer": "s",
    "descriptionshort": "s",
    "description": "s",
    "moneyprice": "s",
    "moneypriceorg": "s",
    "moneypricein": "s",
    "unitlabel": "s",
    "allowdecimals": "b",
    "deliveryinfo": "s",
    "active": "b",
    "activepos": "b",
    "vatid": "i",
    "defaultcategoryid": "i",
    "categories": ["s"],
    "manufacturerid": "i",
    "manufacturerurl": "s",
    "custom1": "s",
    "custom2": "s",
    "custom3": "s",
    "custom4": "s",
    "custom5": "s",
    "stockcountenable": "b",
    "barcode": "s",
    "barcodealiases": ["s"],
    "similar": ["s"],
    "related": ["s"],
    "accessories": ["s"],
    "customattributes": "o",
    "title": "s",
}

_KINDS = {"s": "a string", "n": "a number", "i": "an integer", "b": "a boolean", "o": "an object"}


def first_problem(body: Any, fields: Body, where: str = "") -> str | None:
    """The first field of `body` that breaks its type in `fields`, in words; None if none."""
    if not isinstance(body, dict):
        return f"{where.rstrip('.') or 'The request body'} must be an object."
    for name, kind in fields.items():
        if name not in body:
            continue
        at = f"{where}{name}"
        value = body[name]
        if isinstance(kind, list):
            if not isinstance(value, list):
                return f"{at} must be an array."
            for i, item in enumerate(value):
                problem = _problem(item, kind[0], f"{at}[{i}]")
                if problem:
                    return problem
            continue
        problem = _problem(value, kind, at)
        if problem:
            return problem
    return None


def _problem(value: Any, kind: Any, at: str) -> str | None:
    if value is None:
        return f"{at} must not be null."
    if isinstance(kind, dict):
        return first_problem(value, kind, at + ".")
    if kind.startswith("s"):
        limit = int(kind[1:]) if kind[1:] else None
        if isinstance(value, str) and (limit is None or len(value) <= limit):
            return None
        return f"{at} must be a string" + (f" of at most {limit} characters." if limit else ".")
    fits = {
        "n": isinstance(value, int | Decimal | float),
        "i": isinstance(value, int),
        "b": isinstance(value, bool),
        "o": isinstance(value, dict),
    }[kind]
    if fits and (kind == "b" or not isinstance(value, bool)):
        return None
    return f"{at} must be {_KINDS[kind]}."
