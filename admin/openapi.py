"""OpenAPI 3.0 description of the admin API, served at ``GET /api/openapi.json``.

Written by hand beside the route table in ``admin.api`` (a generator would need decorators on
every handler for what a dictionary says plainly); ``tests/admin/test_openapi.py`` fails when a
route and its description drift apart. Times are epoch seconds everywhere, like the database.
"""

from __future__ import annotations

from typing import Any

STATUSES = ["pending", "approved", "rejected", "cancelled"]
KINDS = ["general", "verification", "notification", "marketing"]
VENDORS = ["zrwinfo", "juxiang", "caih", "chuangrui"]

STRING: dict[str, Any] = {"type": "string"}
INTEGER: dict[str, Any] = {"type": "integer"}
NUMBER: dict[str, Any] = {"type": "number"}
BOOLEAN: dict[str, Any] = {"type": "boolean"}
OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}
EPOCH: dict[str, Any] = {"type": "number", "description": "epoch seconds"}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _object(props: dict[str, Any], required: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props, **extra}
    if required:
        out["required"] = list(required)
    return out


def _resp(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = {"application/json": {"schema": schema}}
    return out


def _error(description: str) -> dict[str, Any]:
    return _resp(description, _ref("Error"))


def _path(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": STRING,
    }


def _query(name: str, description: str, schema: dict[str, Any] = STRING) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _op(
    summary: str,
    tag: str,
    responses: dict[str, Any],
    *,
    description: str = "",
    params: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses}
    if description:
        out["description"] = description
    if params:
        out["parameters"] = params
    if body is not None:
        out["requestBody"] = body
    return out


NAME = _path("name", "account name")
SID = _path("sid", "signature id (integer)")
TID = _path("tid", "template id (the templateId API users send)")
LIMIT = _query("limit", "most rows, newest first (1..1000, default 100)", INTEGER)
SINCE = _query("since", "from this time (epoch seconds, inclusive)", NUMBER)
UNTIL = _query("until", "before this time (epoch seconds, exclusive)", NUMBER)
ACCOUNT_Q = _query("account", "only this account")

NO_ACCOUNT = _error("no such account")
BAD = _error("invalid request; `error` says what is wrong")

REVIEW_BODY = _body(_object({"reason": STRING}), required=False)
REJECT_BODY = _body(_object({"reason": {**STRING, "minLength": 1}}, ("reason",)))

SCHEMAS: dict[str, Any] = {
    "Error": _object(
        {
            "error": STRING,
            "key": {**STRING, "description": "the offending setting, for account changes"},
        },
        ("error",),
    ),
    "Health": _object(
        {
            "status": {"type": "string", "enum": ["ok", "unhealthy"]},
            "storage": STRING,
            "binds": INTEGER,
        }
    ),
    "Stats": _object(
        {
            k: INTEGER
            for k in (
                "submitted",
                "binds",
                "outbox_depth",
                "outbox_inflight",
                "outbox_delivered",
                "receipts_pending",
                "receipts_generated",
                "unrouted_mo",
                "commits",
                "rows_written",
            )
        }
    ),
    "Callbacks": _object(
        {
            "report_url": {
                **STRING,
                "description": "status reports are pushed here (http(s) or empty)",
            },
            "mo_url": {**STRING, "description": "MO replies are pushed here (http(s) or empty)"},
            "dialect": {
                "type": "string",
                "enum": ["", *VENDORS],
                "description": "MO push format; empty: the first vendor with credentials",
            },
        },
        additionalProperties=False,
    ),
    "Account": _object(
        {
            "name": STRING,
            "enabled": BOOLEAN,
            "service_codes": _array(STRING),
            "ip_whitelist": _array(STRING),
            "max_binds": INTEGER,
            "window": INTEGER,
            "cmpp_window": INTEGER,
            "throughput": NUMBER,
            "balance": _nullable({**INTEGER, "description": "billed units left; null = unlimited"}),
            "message_id_format": STRING,
            "long_receipts": STRING,
            "smpp": _nullable(OBJECT),
            "cmpp": _nullable(OBJECT),
            "sgip": _nullable(OBJECT),
            "smgp": _nullable(OBJECT),
            "rules": _array(OBJECT),
            "review": {"type": "string", "enum": ["manual", "auto"]},
            "verify_hourly_cap": INTEGER,
            "balance_alert": _nullable(INTEGER),
            "callbacks": _ref("Callbacks"),
            "http": {
                "type": "object",
                "description": "vendor API credentials per vendor; secrets shown as ****",
                "additionalProperties": OBJECT,
            },
            "binds": {**_array(_ref("Bind")), "description": "GET /api/accounts/{name} only"},
            "outbox_depth": {**INTEGER, "description": "GET /api/accounts/{name} only"},
        }
    ),
    "AccountSpec": _object(
        {
            "name": {**STRING, "description": "required by POST /api/accounts"},
            "enabled": BOOLEAN,
            "service_codes": _array(STRING),
            "ip_whitelist": _array(STRING),
            "max_binds": INTEGER,
            "window": INTEGER,
            "cmpp_window": INTEGER,
            "throughput": NUMBER,
            "balance": _nullable(INTEGER),
            "message_id_format": {"type": "string", "enum": ["decimal", "hex", "HEX", "uuid"]},
            "long_receipts": {"type": "string", "enum": ["per_part", "per_message"]},
            "smpp": OBJECT,
            "cmpp": OBJECT,
            "sgip": OBJECT,
            "smgp": OBJECT,
            "rules": _array(OBJECT),
            "review": {"type": "string", "enum": ["manual", "auto"]},
            "verify_hourly_cap": INTEGER,
            "balance_alert": _nullable(INTEGER),
            "callbacks": _ref("Callbacks"),
            "http": {"type": "object", "additionalProperties": OBJECT},
        },
        description="the keys of an [[accounts]] table (docs/configuration.md); absent keys keep "
        "their value",
    ),
    "Bind": _object(
        {
            "bind_id": STRING,
            "account": STRING,
            "protocol": STRING,
            "type": {**STRING, "description": "e.g. transceiver; `push` for HTTP push binds"},
        },
        additionalProperties=True,
    ),
    "Signature": _object(
        {
            "id": INTEGER,
            "account": STRING,
            "text": {**STRING, "description": "without 【】"},
            "status": {"type": "string", "enum": STATUSES},
            "reason": STRING,
            "source": STRING,
            "scenario": {"type": "string", "enum": ["general", "verification"]},
            "created_at": EPOCH,
            "updated_at": EPOCH,
        }
    ),
    "Template": _object(
        {
            "id": INTEGER,
            "account": STRING,
            "template_id": STRING,
            "text": STRING,
            "kind": {"type": "string", "enum": KINDS},
            "status": {"type": "string", "enum": STATUSES},
            "reason": STRING,
            "created_at": EPOCH,
            "updated_at": EPOCH,
            "syntax": _nullable({**STRING, "description": "variable syntax, null: no variables"}),
            "slots": INTEGER,
        }
    ),
    "Message": _object(
        {
            "id": INTEGER,
            "message_id": STRING,
            "account": STRING,
            "protocol": STRING,
            "bind_id": _nullable(STRING),
            "source": STRING,
            "destination": STRING,
            "text": _nullable(STRING),
            "submitted_at": EPOCH,
            "schedule_at": _nullable(EPOCH),
            "state": STRING,
            "outcome": {**STRING, "description": "the carrier's decision"},
            "deliver_at": EPOCH,
            "done_at": _nullable(EPOCH),
            "effective_state": {**STRING, "description": "ENROUTE until deliver_at, then final"},
            "extra": _nullable(OBJECT),
        },
        additionalProperties=True,
    ),
    "MessageView": _object(
        {
            "message_id": STRING,
            "parts": _array(_ref("Message")),
            "receipts": _array(OBJECT),
            "events": _array(OBJECT),
        }
    ),
    "Batch": _object(
        {
            "id": INTEGER,
            "batch_id": {**STRING, "description": "the id the vendor API returned"},
            "account": STRING,
            "vendor": {"type": "string", "enum": VENDORS},
            "created_at": EPOCH,
            "schedule_at": _nullable(EPOCH),
            "sign": STRING,
            "text": STRING,
            "template_id": _nullable(STRING),
            "requested": INTEGER,
            "accepted": INTEGER,
            "invalid": INTEGER,
            "blacklisted": INTEGER,
            "units": {**INTEGER, "description": "billed (70/67)"},
            "uid": _nullable(STRING),
            "client_batch": _nullable(STRING),
            "extra": _nullable(OBJECT),
            "messages": {**_array(_ref("Message")), "description": "GET /api/batches/{id} only"},
        }
    ),
    "Mo": _object(
        {
            "id": INTEGER,
            "account": _nullable(STRING),
            "source": {**STRING, "description": "the handset"},
            "destination": {**STRING, "description": "service code + extension"},
            "extension": _nullable(STRING),
            "text": STRING,
            "coding": STRING,
            "received_at": EPOCH,
            "parts": INTEGER,
            "read_at": _nullable({**EPOCH, "description": "pulled by a vendor API"}),
        }
    ),
    "Push": _object(
        {
            "id": INTEGER,
            "account": STRING,
            "protocol": _nullable({**STRING, "description": "null: MO, any receiver"}),
            "kind": {"type": "string", "enum": ["receipt", "mo"]},
            "state": {"type": "string", "enum": ["pending", "done", "gave_up"]},
            "attempts": INTEGER,
            "created_at": EPOCH,
            "done_at": _nullable(EPOCH),
            "gave_up_at": _nullable(EPOCH),
            "last_error": _nullable(STRING),
            "payload": OBJECT,
        }
    ),
    "Event": _object(
        {
            "id": INTEGER,
            "at": EPOCH,
            "kind": {
                **STRING,
                "description": "cancel, replace, mo, mo_unrouted, balance, balance_alert, … "
                "(a message's carrier decision is in GET /api/messages/{message_id})",
            },
            "account": _nullable(STRING),
            "message_id": _nullable(STRING),
            "detail": OBJECT,
        }
    ),
    "BlacklistEntry": _object(
        {"account": _nullable({**STRING, "description": "null: every account"}), "number": STRING}
    ),
}

ACCOUNTS = "accounts"
REVIEW = "signatures and templates"
RECORDS = "records"

PATHS: dict[str, Any] = {
    "/health": {
        "get": _op(
            "Liveness and storage check",
            "server",
            {"200": _resp("healthy", _ref("Health")), "503": _resp("unhealthy", _ref("Health"))},
        )
    },
    "/metrics": {
        "get": _op(
            "Prometheus metrics",
            "server",
            {
                "200": {
                    "description": "text exposition format",
                    "content": {"text/plain": {"schema": STRING}},
                }
            },
        )
    },
    "/api/openapi.json": {
        "get": _op("This description", "server", {"200": _resp("OpenAPI 3.0 document", OBJECT)})
    },
    "/api/stats": {"get": _op("Counters", "server", {"200": _resp("counters", _ref("Stats"))})},
    "/api/accounts": {
        "get": _op("List accounts", ACCOUNTS, {"200": _resp("accounts", _array(_ref("Account")))}),
        "post": _op(
            "Create or update an account",
            ACCOUNTS,
            {
                "201": _resp("created", _ref("Account")),
                "200": _resp("updated", _ref("Account")),
                "400": BAD,
            },
            body=_body(_ref("AccountSpec")),
        ),
    },
    "/api/accounts/{name}": {
        "get": _op(
            "Show an account with its binds and outbox depth",
            ACCOUNTS,
            {"200": _resp("the account", _ref("Account")), "404": NO_ACCOUNT},
            params=[NAME],
        ),
        "put": _op(
            "Create or update an account",
            ACCOUNTS,
            {
                "201": _resp("created", _ref("Account")),
                "200": _resp("updated", _ref("Account")),
                "400": BAD,
            },
            params=[NAME],
            body=_body(_ref("AccountSpec")),
        ),
    },
    "/api/accounts/{name}/disable": {
        "post": _op(
            "Disable an account and close its binds",
            ACCOUNTS,
            {
                "200": _resp("disabled", _object({"name": STRING, "enabled": BOOLEAN})),
                "404": NO_ACCOUNT,
            },
            params=[NAME],
        )
    },
    "/api/accounts/{name}/balance": {
        "post": _op(
            "Top up or set the balance (充值)",
            ACCOUNTS,
            {
                "200": _resp(
                    "the balance now (sends may already have used some)",
                    _object({"name": STRING, "balance": _nullable(INTEGER)}),
                ),
                "400": BAD,
                "404": NO_ACCOUNT,
                "503": _error("storage failed; nothing changed"),
            },
            description="Exactly one of `add` (an integer, may be negative; the balance may not "
            "fall below 0 and must not be unlimited) or `set` (an integer >= 0, or null for "
            "unlimited). Stored before the answer, and safe against sends in flight.",
            params=[NAME],
            body=_body(
                _object(
                    {"add": INTEGER, "set": _nullable({**INTEGER, "minimum": 0})},
                    additionalProperties=False,
                )
            ),
        )
    },
    "/api/accounts/{name}/callbacks": {
        "put": _op(
            "Replace the push URLs for status reports and MO",
            ACCOUNTS,
            {"200": _resp("the account", _ref("Account")), "400": BAD, "404": NO_ACCOUNT},
            description="Keys left out become empty. With a URL the account gets an HTTP push "
            "bind (`/api/binds`, type `push`); with none it goes away.",
            params=[NAME],
            body=_body(_ref("Callbacks")),
        )
    },
    "/api/accounts/{name}/ip_whitelist": {
        "put": _op(
            "Replace the IP whitelist (IP白名单); empty allows any address",
            ACCOUNTS,
            {"200": _resp("the account", _ref("Account")), "400": BAD, "404": NO_ACCOUNT},
            params=[NAME],
            body=_body(
                {
                    "oneOf": [
                        _array(STRING),
                        _object({"ip_whitelist": _array(STRING)}, ("ip_whitelist",)),
                    ],
                    "example": ["1.2.3.4", "10.0.0.0/8"],
                }
            ),
        )
    },
    "/api/accounts/{name}/signatures": {
        "get": _op(
            "List signatures",
            REVIEW,
            {"200": _resp("signatures", _array(_ref("Signature"))), "404": NO_ACCOUNT},
            params=[NAME],
        ),
        "post": _op(
            "Submit a signature for review",
            REVIEW,
            {
                "201": _resp("pending (approved at once with review = auto)", _ref("Signature")),
                "400": _error("breaks the review standard (2-8 characters, …) or exists"),
                "404": NO_ACCOUNT,
            },
            params=[NAME],
            body=_body(
                _object(
                    {
                        "text": {**STRING, "description": "with or without 【】"},
                        "source": {**STRING, "description": "company, app, trademark …"},
                        "scenario": {"type": "string", "enum": ["general", "verification"]},
                    },
                    ("text",),
                )
            ),
        ),
    },
    "/api/accounts/{name}/signatures/{sid}": {
        "delete": _op(
            "Delete a signature",
            REVIEW,
            {
                "200": _resp("deleted", _object({"deleted": BOOLEAN})),
                "404": _error("no such account or signature"),
            },
            params=[NAME, SID],
        )
    },
    "/api/accounts/{name}/signatures/{sid}/approve": {
        "post": _op(
            "Approve (or reactivate) a signature",
            REVIEW,
            {"200": _resp("approved", _ref("Signature")), "404": _error("no such signature")},
            params=[NAME, SID],
            body=REVIEW_BODY,
        )
    },
    "/api/accounts/{name}/signatures/{sid}/reject": {
        "post": _op(
            "Reject a signature (驳回) with a reason",
            REVIEW,
            {
                "200": _resp("rejected", _ref("Signature")),
                "400": _error("reason missing"),
                "404": _error("no such signature"),
            },
            params=[NAME, SID],
            body=REJECT_BODY,
        )
    },
    "/api/accounts/{name}/signatures/{sid}/cancel": {
        "post": _op(
            "Cancel a signature (注销); approve reactivates it",
            REVIEW,
            {"200": _resp("cancelled", _ref("Signature")), "404": _error("no such signature")},
            params=[NAME, SID],
            body=REVIEW_BODY,
        )
    },
    "/api/accounts/{name}/templates": {
        "get": _op(
            "List templates",
            REVIEW,
            {"200": _resp("templates", _array(_ref("Template"))), "404": NO_ACCOUNT},
            params=[NAME],
        ),
        "post": _op(
            "Submit a template for review (报备)",
            REVIEW,
            {
                "201": _resp("pending (approved at once with review = auto)", _ref("Template")),
                "400": _error("breaks the review standard, bad kind, or the id exists"),
                "404": NO_ACCOUNT,
            },
            description="Variables: {1}..{n}, {$var} or #*#. Without `id` one is allocated.",
            params=[NAME],
            body=_body(
                _object(
                    {
                        "text": STRING,
                        "kind": {"type": "string", "enum": KINDS},
                        "id": {**STRING, "maxLength": 32},
                    },
                    ("text",),
                )
            ),
        ),
    },
    "/api/accounts/{name}/templates/{tid}": {
        "put": _op(
            "Edit a template; it goes back to pending",
            REVIEW,
            {
                "200": _resp("pending again", _ref("Template")),
                "400": _error("breaks the review standard"),
                "404": _error("no such account or template"),
            },
            params=[NAME, TID],
            body=_body(
                _object({"text": STRING, "kind": {"type": "string", "enum": KINDS}}, ("text",))
            ),
        ),
        "delete": _op(
            "Delete a template",
            REVIEW,
            {
                "200": _resp("deleted", _object({"deleted": BOOLEAN})),
                "404": _error("no such account or template"),
            },
            params=[NAME, TID],
        ),
    },
    "/api/accounts/{name}/templates/{tid}/approve": {
        "post": _op(
            "Approve a template",
            REVIEW,
            {"200": _resp("approved", _ref("Template")), "404": _error("no such template")},
            params=[NAME, TID],
            body=REVIEW_BODY,
        )
    },
    "/api/accounts/{name}/templates/{tid}/reject": {
        "post": _op(
            "Reject a template with a reason",
            REVIEW,
            {
                "200": _resp("rejected", _ref("Template")),
                "400": _error("reason missing"),
                "404": _error("no such template"),
            },
            params=[NAME, TID],
            body=REJECT_BODY,
        )
    },
    "/api/binds": {
        "get": _op(
            "List binds (protocol sessions and HTTP push binds)",
            "server",
            {"200": _resp("binds", _array(_ref("Bind")))},
        )
    },
    "/api/messages": {
        "get": _op(
            "Single records (单条记录), newest first",
            RECORDS,
            {"200": _resp("messages", _array(_ref("Message"))), "400": BAD},
            params=[
                ACCOUNT_Q,
                _query("destination", "recipient number as stored"),
                _query("source", "source address"),
                _query("sign", "signature in the text (with or without 【】)"),
                SINCE,
                UNTIL,
                LIMIT,
            ],
        )
    },
    "/api/messages/{message_id}": {
        "get": _op(
            "A message's parts, receipts and history",
            RECORDS,
            {"200": _resp("the message", _ref("MessageView")), "404": _error("no such message")},
            params=[_path("message_id", "the id its submitter got")],
        )
    },
    "/api/batches": {
        "get": _op(
            "Batch records (批次记录): one per accepted vendor API call, newest first",
            RECORDS,
            {"200": _resp("batches", _array(_ref("Batch"))), "400": BAD},
            params=[
                ACCOUNT_Q,
                _query("vendor", "zrwinfo, juxiang, caih or chuangrui"),
                _query("batch_id", "the id the vendor API returned"),
                _query("held", "true: only batches sent for manual review", {"type": "boolean"}),
                SINCE,
                UNTIL,
                LIMIT,
            ],
        )
    },
    "/api/batches/{batch_id}": {
        "get": _op(
            "A batch with its messages and their current states",
            RECORDS,
            {"200": _resp("the batch", _ref("Batch")), "404": _error("no such batch")},
            params=[_path("batch_id", "the id the vendor API returned"), ACCOUNT_Q],
        )
    },
    "/api/batches/{batch_id}/cancel": {
        "post": _op(
            "Cancel what is not delivered yet of a batch (a scheduled send) and refund it",
            RECORDS,
            {
                "200": _resp(
                    "what was cancelled",
                    _object({"batch_id": STRING, "cancelled": INTEGER, "refunded": INTEGER}),
                ),
                "404": _error("no such batch"),
            },
            description="Messages not final yet become DELETED (no report is pushed for "
            "them) and their billing units go back to the balance. No vendor documents a "
            "cancel API; this is the console's (vendor-apis §7.14).",
            params=[_path("batch_id", "the id the vendor API returned"), ACCOUNT_Q],
        )
    },
    "/api/batches/{batch_id}/approve": {
        "post": _op(
            "Release a batch held for manual review: its messages go to the carrier now",
            RECORDS,
            {
                "200": _resp(
                    "what was released",
                    _object({"batch_id": STRING, "released": INTEGER, "refunded": INTEGER}),
                ),
                "400": BAD,
                "404": _error("no such batch"),
            },
            description="Chuangrui accounts with `review_messages` hold sends (A003-1).",
            params=[_path("batch_id", "the sendid the vendor API returned"), ACCOUNT_Q],
            body=_body(_object({"reason": STRING}), required=False),
        )
    },
    "/api/batches/{batch_id}/reject": {
        "post": _op(
            "Reject a batch held for manual review: REJECT reports and a refund",
            RECORDS,
            {
                "200": _resp(
                    "what was rejected",
                    _object({"batch_id": STRING, "released": INTEGER, "refunded": INTEGER}),
                ),
                "400": BAD,
                "404": _error("no such batch"),
            },
            description="Each held message ends in state `REJECT` (审核驳回) and its status "
            "report is pushed; its billing units go back to the balance.",
            params=[_path("batch_id", "the sendid the vendor API returned"), ACCOUNT_Q],
            body=_body(_object({"reason": STRING}, required=("reason",))),
        )
    },
    "/api/mo": {
        "get": _op(
            "MO replies (短信回复), newest first",
            RECORDS,
            {"200": _resp("MO", _array(_ref("Mo"))), "400": BAD},
            params=[
                ACCOUNT_Q,
                _query("source", "the handset's number"),
                _query("extension", "digits after the account's service code"),
                SINCE,
                UNTIL,
                LIMIT,
            ],
        ),
        "post": _op(
            "Inject a handset reply",
            RECORDS,
            {
                "201": _resp("routed to an account", OBJECT),
                "202": _resp("stored, no account owns the destination", OBJECT),
                "400": BAD,
            },
            description="Routed by the longest service code prefixing `to`; an unsubscribe "
            "word (TD, TN, 0000) blacklists the sender for that account.",
            body=_body(
                _object(
                    {
                        "from": STRING,
                        "to": STRING,
                        "text": STRING,
                        "coding": {"type": "string", "enum": ["auto", "gsm7", "ucs2"]},
                        "account": STRING,
                    },
                    ("from", "to", "text"),
                )
            ),
        ),
    },
    "/api/mo/unrouted": {
        "get": _op("MO no account owns", RECORDS, {"200": _resp("MO", _array(_ref("Mo")))})
    },
    "/api/pushes": {
        "get": _op(
            "Status reports and MO queued for accounts: pending, done or given up",
            RECORDS,
            {"200": _resp("outbox rows", _array(_ref("Push"))), "400": BAD},
            description="HTTP pushes have protocol `http` (reports) or null (MO); failed "
            "attempts are counted with the last error, and a push that failed every retry "
            "is `gave_up`.",
            params=[
                ACCOUNT_Q,
                _query(
                    "state",
                    "pending, done or gave_up",
                    {"type": "string", "enum": ["pending", "done", "gave_up"]},
                ),
                _query("kind", "receipt or mo", {"type": "string", "enum": ["receipt", "mo"]}),
                _query("protocol", "only rows of this protocol (http, smpp, cmpp …)"),
                LIMIT,
            ],
        )
    },
    "/api/events": {
        "get": _op(
            "The event log, newest first: cancels, MO, balance changes and low-balance "
            "alerts (余额提醒)",
            RECORDS,
            {"200": _resp("events", _array(_ref("Event"))), "400": BAD},
            params=[
                ACCOUNT_Q,
                _query("kind", "only events of this kind (e.g. balance_alert)"),
                LIMIT,
            ],
        )
    },
    "/api/blacklist": {
        "get": _op(
            "List blacklisted numbers",
            ACCOUNTS,
            {"200": _resp("entries", _array(_ref("BlacklistEntry")))},
            params=[_query("account", "only this account's entries (empty: the global list)")],
        ),
        "post": _op(
            "Blacklist a number for an account, or for all",
            ACCOUNTS,
            {
                "201": _resp("added", _object({"added": BOOLEAN})),
                "200": _resp("already there", _object({"added": BOOLEAN})),
                "400": BAD,
            },
            description="Numbers are compared as given (a leading + ignored); vendor API sends "
            "compare the 11-digit mainland form (13800138000).",
            body=_body(
                _object(
                    {
                        "number": STRING,
                        "account": _nullable({**STRING, "description": "absent/null: global"}),
                        "reason": STRING,
                    },
                    ("number",),
                )
            ),
        ),
    },
    "/api/blacklist/{number}": {
        "delete": _op(
            "Remove a blacklisted number",
            ACCOUNTS,
            {
                "200": _resp("removed", _object({"removed": BOOLEAN})),
                "404": _resp("not there", _object({"removed": BOOLEAN})),
                "400": BAD,
            },
            params=[_path("number", "the number"), _query("account", "absent: the global entry")],
        )
    },
    "/api/carrier": {
        "get": _op(
            "The carrier emulation's settings and rules",
            "carrier",
            {"200": _resp("carrier", OBJECT)},
        )
    },
    "/api/carrier/rules": {
        "put": _op(
            "Replace the carrier rules",
            "carrier",
            {"200": _resp("the rules now", _object({"rules": _array(OBJECT)})), "400": BAD},
            body=_body({"oneOf": [_array(OBJECT), _object({"rules": _array(OBJECT)}, ("rules",))]}),
        )
    },
}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "SMSC emulator admin API",
        "version": "1",
        "description": "The operator's side: accounts, review of signatures and templates, "
        "balances, push URLs, records of sends, MO and pushes, blacklist, carrier rules. "
        'Errors are JSON `{"error": ...}` with HTTP 400 or 404. Times are epoch seconds.',
    },
    "tags": [{"name": name} for name in ("server", ACCOUNTS, REVIEW, RECORDS, "carrier")],
    "paths": PATHS,
    "components": {"schemas": SCHEMAS},
}
