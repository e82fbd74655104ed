"""Table declarations (SQLAlchemy Core): the single description of what is stored.

Alembic migrations in ``storage/migrations`` create and evolve these tables; the hot path
uses the ``Table`` objects directly (Core, no ORM) so inserts stay cheap.

Identifiers of messages, MO and outbox rows are allocated in-process (see ``storage.ids``)
so that a protocol can know a message's id before the group commit that stores it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(32), nullable=False, unique=True),
    Column("enabled", Boolean, nullable=False, default=True),
    # JSON text: the rest of the account's settings (service codes, whitelist, limits,
    # per-protocol ids, per-account carrier rules). Secrets live in their own columns.
    Column("settings", Text, nullable=False, default="{}"),
    Column("smpp_system_id", String(16), unique=True),
    Column("smpp_password_hash", String(200)),
    Column("cmpp_sp_id", String(16), unique=True),
    # CMPP/SMGP authenticate with MD5 over the shared secret, so it must be stored reversibly.
    Column("cmpp_secret", String(200)),
    Column("sgip_login", String(16), unique=True),
    Column("sgip_password_hash", String(200)),
    Column("smgp_client_id", String(16), unique=True),
    Column("smgp_secret", String(200)),
    Column("balance", BigInteger),  # billed segments left; NULL = unlimited
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    # JSON: vendor HTTP API credentials. Secrets sent in the clear are PBKDF2 hashes; the
    # CAIH token and Chuangrui AccessSecret are kept as given (they key MD5 signatures).
    Column("http_secrets", Text),
)

messages = Table(
    "messages",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("message_id", String(64), nullable=False),  # the id the client saw in its *_resp
    Column("account", String(32), nullable=False),
    Column("protocol", String(8), nullable=False),
    Column("bind_id", String(64)),
    Column("source", String(32), nullable=False),
    Column("destination", String(32), nullable=False),
    Column("data_coding", Integer, nullable=False, default=0),
    Column("esm_class", Integer, nullable=False, default=0),
    Column(
        "body", LargeBinary, nullable=False
    ),  # this part's user data as submitted (UDH included)
    Column("text", Text),  # decoded text of this part, for search and the carrier's content rules
    Column("group_ref", Integer),  # concatenation: reference, total, sequence
    Column("group_total", Integer),
    Column("group_seq", Integer),
    Column("registered_delivery", Integer, nullable=False, default=0),
    Column("submitted_at", Float, nullable=False),
    Column("schedule_at", Float),
    Column("validity_at", Float),
    Column("state", String(8), nullable=False),  # ENROUTE until the carrier decides, then final
    Column("outcome", String(8), nullable=False),  # the carrier's decision, taken at submit
    Column("deliver_at", Float, nullable=False),  # when the final state is reached
    Column("enroute_at", Float),
    Column("err", Integer, nullable=False, default=0),
    Column("stat", String(8), nullable=False, default=""),
    Column("rule", String(64), nullable=False, default=""),
    Column("done_at", Float),
    Column("extra", Text),  # JSON: protocol-specific fields worth keeping (service_id, TLVs ...)
)
Index("ix_messages_message_id", messages.c.message_id)
# Only messages whose receipt is still owed (restart: ReceiptScheduler.restore). Partial, so a
# submit adds one entry at its end and the receipt's acknowledgement removes it from its
# start, instead of moving every message to the done end (one index page less per commit).
Index(
    "ix_messages_pending",
    messages.c.deliver_at,
    sqlite_where=messages.c.done_at.is_(None),
    postgresql_where=messages.c.done_at.is_(None),
)
Index("ix_messages_account_dest", messages.c.account, messages.c.destination)

# Receipts generated before migration 0003; since then a receipt is its outbox row (kind
# "receipt", ``message_pk`` set), which carries the same fields and whether it was acknowledged.
receipts = Table(
    "receipts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("message_pk", BigInteger, nullable=False),
    Column("state", String(8), nullable=False),
    Column("err", Integer, nullable=False, default=0),
    Column("stat", String(8), nullable=False, default=""),
    Column("created_at", Float, nullable=False),
)
Index("ix_receipts_message", receipts.c.message_pk)

mo = Table(
    "mo",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("account", String(32)),  # NULL: no account owns the destination (unrouted)
    Column("source", String(32), nullable=False),
    Column("destination", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("coding", String(8), nullable=False),
    Column("received_at", Float, nullable=False),
    Column("parts", Integer, nullable=False, default=1),
    Column("read_at", Float),  # pulled by a vendor API (Juxiang readsms.asp)
)
Index("ix_mo_account", mo.c.account)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("account", String(32), nullable=False),
    Column("protocol", String(8)),  # receipts go back over the protocol they came in on; NULL = any
    Column("kind", String(8), nullable=False),  # "receipt" | "mo"
    Column("payload", Text, nullable=False),  # JSON: protocol-neutral fields the adapter renders
    Column("created_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("done_at", Float),  # set once the peer acknowledged it; never resent after that
    Column("gave_up_at", Float),  # HTTP pushes: the last retry failed too (done_at is set as well)
    Column("last_error", Text),
    Column("message_pk", BigInteger),  # receipts: the message part it reports on
)
# Only rows still owed (restart: Outbox.restore). Receipts acknowledged at once are written
# already done and never enter it.
Index(
    "ix_outbox_pending",
    outbox.c.id,
    sqlite_where=outbox.c.done_at.is_(None),
    postgresql_where=outbox.c.done_at.is_(None),
)
Index("ix_outbox_message", outbox.c.message_pk)

events = Table(
    "events",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("at", Float, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("account", String(32)),
    Column("message_id", String(64)),
    Column("detail", Text, nullable=False, default="{}"),
)
Index("ix_events_message", events.c.message_id)

blacklist = Table(
    "blacklist",
    metadata,
    Column("account", String(32), primary_key=True),  # "" = global
    Column("number", String(32), primary_key=True),
    Column("reason", String(64), nullable=False, default=""),
    Column("created_at", Float, nullable=False),
)


signatures = Table(
    "signatures",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("account", String(32), nullable=False),
    Column("text", String(64), nullable=False),  # without 【】
    Column("status", String(16), nullable=False),  # pending | approved | rejected | cancelled
    Column("reason", Text, nullable=False, default=""),
    Column("source", String(64), nullable=False, default=""),  # company, app, trademark ...
    Column("scenario", String(16), nullable=False, default="general"),  # verification | general
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("account", "text", name="uq_signatures_account_text"),
)

templates = Table(
    "templates",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("account", String(32), nullable=False),
    Column("template_id", String(32), nullable=False),  # the id API users send (templateId)
    Column("text", Text, nullable=False),
    Column("kind", String(16), nullable=False),  # verification | notification | marketing | general
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("account", "template_id", name="uq_templates_account_tid"),
)

batches = Table(
    "batches",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("batch_id", String(64), nullable=False),  # smUuid / msgid / sendid shown to the caller
    Column("account", String(32), nullable=False),
    Column("vendor", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("schedule_at", Float),
    Column("sign", String(64), nullable=False, default=""),
    Column("text", Text, nullable=False),
    Column("template_id", String(32)),
    Column("requested", Integer, nullable=False),  # numbers in the request
    Column("accepted", Integer, nullable=False),
    Column("invalid", Integer, nullable=False),
    Column("blacklisted", Integer, nullable=False),
    Column("units", Integer, nullable=False),  # billed
    Column("uid", String(64)),  # caller's pass-through id (CAIH uid)
    Column("client_batch", String(64)),  # caller's batch label (CAIH batchid)
    Column("extra", Text),
)
Index("ix_batches_batch_id", batches.c.batch_id)
Index("ix_batches_account", batches.c.account, batches.c.created_at)
