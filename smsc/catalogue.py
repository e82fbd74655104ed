"""Signatures and templates with their review workflow (签名 / 模板, 审核).

Every vendor API refuses text whose signature or template is not approved; the rules of
what may be approved live in ``smsc.textrules``. This module keeps each account's
signatures and templates in memory for the request path and persists every change through
the group-commit writer, so a review decision is durable before it is reported.

Review states: ``pending`` → ``approved`` | ``rejected`` (with a reason); a signature can
also be ``cancelled`` (注销). Accounts with ``review = "auto"`` accept what a send uses:
unknown signatures and templates are recorded as approved at first use (for tests).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, bindparam, delete, select, update

from smsc import textrules
from smsc.textrules import Syntax
from storage.schema import signatures as signatures_table
from storage.schema import templates as templates_table

STATUSES = ("pending", "approved", "rejected", "cancelled")
KINDS = ("general", "verification", "notification", "marketing")

_INSERT_SIG = signatures_table.insert()
_INSERT_TPL = templates_table.insert()


def detect_syntax(text: str) -> Syntax | None:
    """Which variable syntax a template uses (None: no variables)."""
    if "{$var}" in text:
        return Syntax.DOLLAR
    if "#*#" in text:
        return Syntax.HASH_STAR
    if textrules.slot_count(text, Syntax.NUMBERED):
        return Syntax.NUMBERED
    return None


@dataclass(slots=True)
class Signature:
    id: int
    account: str
    text: str  # bare, without 【】
    status: str
    reason: str = ""
    source: str = ""
    scenario: str = "general"
    created_at: float = 0.0
    updated_at: float = 0.0

    def public(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Template:
    id: int
    account: str
    template_id: str
    text: str
    kind: str
    status: str
    reason: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def syntax(self) -> Syntax | None:
        return detect_syntax(self.text)

    @property
    def slots(self) -> int:
        syntax = self.syntax
        return textrules.slot_count(self.text, syntax) if syntax is not None else 0

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        out["syntax"] = self.syntax.value if self.syntax else None
        out["slots"] = self.slots
        return out


_Entry = TypeVar("_Entry", Signature, Template)


class CatalogueError(ValueError):
    """A signature or template that breaks the review standards (admin side)."""


class Catalogue:
    def __init__(
        self,
        engine: Engine,
        write: Callable[[list[Any]], Any],
        next_id: Callable[[str], int],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._write = write  # async: list of (statement, params) -> committed
        self._next_id = next_id
        self._clock = clock
        self._sigs: dict[str, dict[int, Signature]] = {}
        self._tpls: dict[str, dict[str, Template]] = {}

    # -- loading ------------------------------------------------------------------------------

    def load(self) -> None:
        """Read every signature and template (blocking; at start)."""
        with self._engine.connect() as conn:
            sigs = conn.execute(select(signatures_table)).mappings().all()
            tpls = conn.execute(select(templates_table)).mappings().all()
        self._sigs.clear()
        self._tpls.clear()
        for r in sigs:
            s = Signature(**dict(r))
            self._sigs.setdefault(s.account, {})[s.id] = s
        for r in tpls:
            t = Template(**dict(r))
            self._tpls.setdefault(t.account, {})[t.template_id] = t

    def seed(self, account: str, signatures: Iterable[Any], templates: Iterable[Any]) -> None:
        """Apply the configuration's signatures and templates (blocking; at start).

        The configuration wins for the entries it lists (like account settings); entries
        created through the admin API are left alone.
        """
        now = self._clock()
        with self._engine.begin() as conn:
            for cfg in signatures:
                text = textrules.bare_signature(cfg.text)
                sid = int(cfg.id) if cfg.id else None
                existing = self.signature(account, text)
                if existing is None and sid is not None:
                    existing = self._sigs.get(account, {}).get(sid)
                if existing is None:
                    s = Signature(
                        id=sid or self._next_id("signatures"),
                        account=account,
                        text=text,
                        status=cfg.status,
                        reason=cfg.reason,
                        created_at=now,
                        updated_at=now,
                    )
                    conn.execute(_INSERT_SIG, [asdict(s)])
                    self._sigs.setdefault(account, {})[s.id] = s
                elif (existing.status, existing.reason) != (cfg.status, cfg.reason):
                    existing.status, existing.reason, existing.updated_at = (
                        cfg.status,
                        cfg.reason,
                        now,
                    )
                    conn.execute(
                        update(signatures_table)
                        .where(signatures_table.c.id == existing.id)
                        .values(status=cfg.status, reason=cfg.reason, updated_at=now)
                    )
            for cfg in templates:
                t = self.template(account, cfg.id)
                if t is None:
                    t = Template(
                        id=self._next_id("templates"),
                        account=account,
                        template_id=cfg.id,
                        text=cfg.text,
                        kind=cfg.kind,
                        status=cfg.status,
                        reason=cfg.reason,
                        created_at=now,
                        updated_at=now,
                    )
                    conn.execute(_INSERT_TPL, [asdict(t)])
                    self._tpls.setdefault(account, {})[t.template_id] = t
                elif (t.text, t.kind, t.status, t.reason) != (
                    cfg.text,
                    cfg.kind,
                    cfg.status,
                    cfg.reason,
                ):
                    t.text, t.kind, t.status, t.reason, t.updated_at = (
                        cfg.text,
                        cfg.kind,
                        cfg.status,
                        cfg.reason,
                        now,
                    )
                    conn.execute(
                        update(templates_table)
                        .where(templates_table.c.id == t.id)
                        .values(
                            text=cfg.text,
                            kind=cfg.kind,
                            status=cfg.status,
                            reason=cfg.reason,
                            updated_at=now,
                        )
                    )

    # -- reads (request path: memory only) ---------------------------------------------------------

    def signatures(self, account: str) -> list[Signature]:
        return sorted(self._sigs.get(account, {}).values(), key=lambda s: s.id)

    def templates(self, account: str) -> list[Template]:
        return sorted(self._tpls.get(account, {}).values(), key=lambda t: t.id)

    def signature(self, account: str, text_or_id: str) -> Signature | None:
        """By text (with or without 【】, traditional or simplified) or by numeric id."""
        sigs = self._sigs.get(account, {})
        key = textrules.bare_signature(text_or_id)
        if key.isdigit() and int(key) in sigs:
            return sigs[int(key)]
        folded = textrules.fold(key)
        for s in sigs.values():
            if s.text == key or textrules.fold(s.text) == folded:
                return s
        return None

    def template(self, account: str, template_id: str) -> Template | None:
        return self._tpls.get(account, {}).get(template_id)

    def approved_templates(self, account: str) -> list[Template]:
        return [t for t in self.templates(account) if t.status == "approved"]

    def match(self, account: str, text: str) -> tuple[Template, list[str]] | None:
        """The approved template ``text`` fits, with the values of its variables."""
        for t in self.approved_templates(account):
            syntax = t.syntax
            if syntax is None:
                if textrules.fold(t.text) == textrules.fold(text):
                    return t, []
                continue
            values = textrules.match(t.text, syntax, text)
            if values is not None:
                return t, values
        return None

    # -- changes (admin API, auto review) ------------------------------------------------------------

    async def add_signature(
        self,
        account: str,
        text: str,
        *,
        status: str = "pending",
        source: str = "",
        scenario: str = "general",
        check: bool = True,
    ) -> Signature:
        bare = textrules.bare_signature(text)
        if check:
            problem = textrules.signature_problem(bare)
            if problem is not None:
                raise CatalogueError(problem)
        if scenario not in ("general", "verification"):
            raise CatalogueError("scenario must be 'general' or 'verification'")
        if self.signature(account, bare) is not None:
            raise CatalogueError(f"signature {bare!r} already exists")
        now = self._clock()
        s = Signature(
            id=self._next_id("signatures"),
            account=account,
            text=bare,
            status=status,
            source=source,
            scenario=scenario,
            created_at=now,
            updated_at=now,
        )
        self._sigs.setdefault(account, {})[s.id] = s
        try:
            await self._write([(_INSERT_SIG, asdict(s))])
        except BaseException:
            del self._sigs[account][s.id]
            raise
        return s

    async def add_template(
        self,
        account: str,
        text: str,
        kind: str = "general",
        *,
        template_id: str | None = None,
        status: str = "pending",
        check: bool = True,
    ) -> Template:
        if kind not in KINDS:
            raise CatalogueError(f"kind must be one of {', '.join(KINDS)}")
        if check:
            problem = textrules.template_problem(text, detect_syntax(text) or Syntax.NUMBERED, kind)
            if problem is not None:
                raise CatalogueError(problem)
        pk = self._next_id("templates")
        tid = template_id or str(100000 + pk)
        if self.template(account, tid) is not None:
            raise CatalogueError(f"template {tid!r} already exists")
        now = self._clock()
        t = Template(
            id=pk,
            account=account,
            template_id=tid,
            text=text,
            kind=kind,
            status=status,
            created_at=now,
            updated_at=now,
        )
        self._tpls.setdefault(account, {})[tid] = t
        try:
            await self._write([(_INSERT_TPL, asdict(t))])
        except BaseException:
            del self._tpls[account][tid]
            raise
        return t

    async def review_signature(
        self, account: str, sid: int, status: str, reason: str = ""
    ) -> Signature | None:
        s = self._sigs.get(account, {}).get(sid)
        return None if s is None else await self._review(signatures_table, s, status, reason)

    async def review_template(
        self, account: str, template_id: str, status: str, reason: str = ""
    ) -> Template | None:
        t = self.template(account, template_id)
        return None if t is None else await self._review(templates_table, t, status, reason)

    async def _review(self, table: Any, entry: _Entry, status: str, reason: str) -> _Entry:
        """A review decision on a signature or template: durable first, then in memory."""
        _check_status(status)
        if status == "rejected" and not reason:
            raise CatalogueError("a rejection needs a reason")
        now = self._clock()
        stmt = (
            update(table)
            .where(table.c.id == bindparam("pk"))
            .values(status=bindparam("st"), reason=bindparam("rs"), updated_at=now)
        )
        await self._write([(stmt, {"pk": entry.id, "st": status, "rs": reason})])
        entry.status, entry.reason, entry.updated_at = status, reason, now
        return entry

    async def edit_template(
        self, account: str, template_id: str, text: str, kind: str | None = None
    ) -> Template | None:
        """Changing a template's text sends it back to review (pending)."""
        t = self.template(account, template_id)
        if t is None:
            return None
        kind = kind or t.kind
        problem = textrules.template_problem(text, detect_syntax(text) or Syntax.NUMBERED, kind)
        if problem is not None:
            raise CatalogueError(problem)
        now = self._clock()
        await self._write(
            [
                (
                    update(templates_table)
                    .where(templates_table.c.id == bindparam("pk"))
                    .values(text=text, kind=kind, status="pending", reason="", updated_at=now),
                    {"pk": t.id},
                )
            ]
        )
        t.text, t.kind, t.status, t.reason, t.updated_at = text, kind, "pending", "", now
        return t

    async def delete_template(self, account: str, template_id: str) -> bool:
        t = self.template(account, template_id)
        if t is None:
            return False
        await self._write([(delete(templates_table).where(templates_table.c.id == t.id), {})])
        del self._tpls[account][template_id]
        return True

    async def delete_signature(self, account: str, sid: int) -> bool:
        s = self._sigs.get(account, {}).get(sid)
        if s is None:
            return False
        await self._write([(delete(signatures_table).where(signatures_table.c.id == sid), {})])
        del self._sigs[account][sid]
        return True

    async def approve_on_use_signature(self, account: str, text: str) -> Signature:
        """``review = "auto"``: the signature a send uses is recorded as approved."""
        s = self.signature(account, text)
        if s is None:
            return await self.add_signature(account, text, status="approved", check=False)
        if s.status != "approved":
            await self.review_signature(account, s.id, "approved", "auto review")
        return s

    async def approve_on_use_template(
        self, account: str, text: str, template_id: str | None = None
    ) -> Template:
        t = self.template(account, template_id) if template_id else None
        if t is None:
            return await self.add_template(
                account, text, template_id=template_id, status="approved", check=False
            )
        if t.status != "approved":
            await self.review_template(account, t.template_id, "approved", "auto review")
        return t


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise CatalogueError(f"status must be one of {', '.join(STATUSES)}")
