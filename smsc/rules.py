"""Carrier emulation: decide what the emulated network does with each submitted message.

Testers configure outcomes (deliver, fail with a chosen error, be slow, expire) in ``[carrier]``
and ``[[carrier.rules]]`` / ``[[accounts.rules]]``; :class:`Carrier` turns the facts of one
message into a :class:`Decision` (final state, error codes, when the receipt is due). Pure
domain code: no I/O, no clock reads (times come in with the facts), no protocol imports.

Determinism: one ``random.Random(seed)`` serves the whole carrier, so the same sequence of
``decide()`` calls on the same configuration yields the same decisions. The RNG is consumed
only by a probability draw (a matching rule with 0 < probability < 1) and by random delays
(uniform, exponential); fixed delays and certain rules draw nothing, so adding such a rule does
not reshuffle the outcomes of the others.

Receipt stat values follow SMPP 3.4 Appendix B (smpp.md §7.2) and CMPP §5.8 (cmpp.md).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from smsc.blacklist import normalise_number
from smsc.errors import ConfigError

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_UNSUBSCRIBE_WORDS",
    "BlacklistPolicy",
    "Carrier",
    "CarrierConfig",
    "Decision",
    "Delay",
    "DelayKind",
    "FinalState",
    "Match",
    "MessageFacts",
    "Protocol",
    "Rule",
    "carrier_to_dict",
    "default_carrier_config",
    "parse_carrier",
    "parse_delay",
    "parse_rules",
    "rules_to_dict",
]

DEFAULT_SEED = 0
"""Seed when ``carrier.seed`` is absent: a fixed value, so even an unconfigured run repeats."""

DEFAULT_DELAY_MS = 1000
DEFAULT_UNSUBSCRIBE_WORDS: tuple[str, ...] = ("TD", "TN", "0000")
MAX_STAT_LENGTH = 7  # CMPP Stat is 7 octets; SMPP stat is 7 chars (smpp.md §7.2)
MAX_SMPP_ERR = 999  # must fit the receipt's 3-digit "err:" field


class FinalState(StrEnum):
    """Receipt states: the SMPP Appendix B stat words plus the CMPP-world ``DTBLACK``."""

    ENROUTE = "ENROUTE"  # intermediate
    ACCEPTD = "ACCEPTD"  # intermediate in CMPP (§5.8); gateways drop it
    DELIVRD = "DELIVRD"
    EXPIRED = "EXPIRED"
    DELETED = "DELETED"
    UNDELIV = "UNDELIV"
    UNKNOWN = "UNKNOWN"
    REJECTD = "REJECTD"
    DTBLACK = "DTBLACK"  # destination blacklisted (Chinese carriers' report text)

    @property
    def is_final(self) -> bool:
        """False for the intermediate states a rule cannot end with."""
        return self not in _INTERMEDIATE

    @property
    def message_state(self) -> int:
        """SMPP message_state TLV value (smpp.md §7.2).

        SMPP has no blacklist state; DTBLACK maps to REJECTED (8) because the network
        refused the message by policy rather than failing to reach the handset.
        """
        return _MESSAGE_STATE[self]

    @property
    def smpp_stat(self) -> str:
        """Stat word for an SMPP receipt text: the state itself, DTBLACK included.

        DTBLACK is not an Appendix B word, but it is 7 characters like them, so parsers that
        read ``stat:(\\w{7})`` (Jasmin) or treat unknown words as failures (Kannel) cope,
        and testers see why the message failed; message_state says REJECTED (8).
        """
        return self.value


_INTERMEDIATE = frozenset({FinalState.ENROUTE, FinalState.ACCEPTD})
_MESSAGE_STATE = {
    FinalState.ENROUTE: 1,
    FinalState.DELIVRD: 2,
    FinalState.EXPIRED: 3,
    FinalState.DELETED: 4,
    FinalState.UNDELIV: 5,
    FinalState.ACCEPTD: 6,
    FinalState.UNKNOWN: 7,
    FinalState.REJECTD: 8,
    FinalState.DTBLACK: 8,
}
# Receipt "err:" when a rule does not set smpp_err: 0 means success, so failures get 1.
_DEFAULT_SMPP_ERR = {state: (0 if state is FinalState.DELIVRD else 1) for state in FinalState}


class Protocol(StrEnum):
    """The front door a message came in by; rules may match on it."""

    SMPP = "smpp"
    CMPP = "cmpp"
    SGIP = "sgip"
    SMGP = "smgp"
    HTTP = "http"


class BlacklistPolicy(StrEnum):
    """What a submit to a blacklisted number gets: a DTBLACK receipt, or refusal of the submit."""

    RECEIPT = "receipt"
    REJECT = "reject"


class DelayKind(StrEnum):
    FIXED = "fixed"
    UNIFORM = "uniform"
    EXPONENTIAL = "exponential"


@dataclass(frozen=True, slots=True)
class Delay:
    """How long the carrier takes before the final receipt, in milliseconds.

    ``low`` is the fixed delay, the lower bound of a uniform delay, or the exponential mean;
    ``high`` is the upper bound of a uniform delay (equal to ``low`` otherwise).
    """

    kind: DelayKind
    low: float
    high: float

    @classmethod
    def fixed(cls, ms: float) -> Delay:
        return cls(DelayKind.FIXED, ms, ms)

    @classmethod
    def uniform(cls, low: float, high: float) -> Delay:
        return cls(DelayKind.UNIFORM, low, high)

    @classmethod
    def exponential(cls, mean: float) -> Delay:
        return cls(DelayKind.EXPONENTIAL, mean, mean)

    def sample(self, rng: random.Random) -> float:
        """Draw one delay in ms; a fixed delay does not touch ``rng``."""
        if self.kind is DelayKind.FIXED:
            return self.low
        if self.kind is DelayKind.UNIFORM:
            return rng.uniform(self.low, self.high)
        if self.low == 0:
            return 0.0
        return rng.expovariate(1.0 / self.low)

    def to_raw(self) -> float | dict[str, Any]:
        """The config form this delay was parsed from (``delay_ms`` value)."""
        if self.kind is DelayKind.FIXED:
            return self.low
        if self.kind is DelayKind.UNIFORM:
            return {"uniform": [self.low, self.high]}
        return {"exponential_mean": self.low}

    def describe(self) -> str:
        if self.kind is DelayKind.FIXED:
            return f"{self.low:g} ms"
        if self.kind is DelayKind.UNIFORM:
            return f"uniform {self.low:g}-{self.high:g} ms"
        return f"exponential mean {self.low:g} ms"


@dataclass(frozen=True, slots=True)
class Match:
    """Conditions a message must meet for a rule to apply; all given ones must hold.

    Destinations are compared after :func:`smsc.blacklist.normalise_number` (one leading ``+``
    dropped) on both sides. Regexes use ``search`` (anchor with ``^``/``$`` yourself);
    ``content_regex`` never matches a binary message (text None). An empty match matches
    every message.
    """

    destination: str | None = None
    destination_prefix: str | None = None
    destination_suffix: str | None = None
    destination_regex: re.Pattern[str] | None = None
    content_regex: re.Pattern[str] | None = None
    protocol: Protocol | None = None

    def matches(self, protocol: str, destination: str, text: str | None) -> bool:
        """``destination`` must already be normalised (the carrier does it once per message)."""
        if self.protocol is not None and protocol != self.protocol:
            return False
        if self.destination is not None and destination != self.destination:
            return False
        if self.destination_prefix is not None and not destination.startswith(
            self.destination_prefix
        ):
            return False
        if self.destination_suffix is not None and not destination.endswith(
            self.destination_suffix
        ):
            return False
        if (
            self.destination_regex is not None
            and self.destination_regex.search(destination) is None
        ):
            return False
        if self.content_regex is not None and (
            text is None or self.content_regex.search(text) is None
        ):
            return False
        return True

    def to_dict(self) -> dict[str, str]:
        raw: dict[str, str] = {}
        for key in ("destination", "destination_prefix", "destination_suffix"):
            value = getattr(self, key)
            if value is not None:
                raw[key] = value
        for key in ("destination_regex", "content_regex"):
            pattern = getattr(self, key)
            if pattern is not None:
                raw[key] = pattern.pattern
        if self.protocol is not None:
            raw["protocol"] = self.protocol.value
        return raw


@dataclass(frozen=True, slots=True)
class Rule:
    """One outcome policy. ``delay`` None means "the carrier default's delay".

    ``auto_named`` records that ``name`` was derived from the rule's position, so exporting
    the rules does not freeze a stale position into the name.
    """

    name: str
    match: Match
    outcome: FinalState
    smpp_err: int
    cmpp_stat: str | None = None
    probability: float = 1.0
    delay: Delay | None = None
    enroute: bool = False
    auto_named: bool = field(default=False, compare=False)

    @property
    def stat(self) -> str:
        """Stat text for CMPP/SGIP/SMGP reports: ``cmpp_stat`` or the outcome's name."""
        return self.cmpp_stat if self.cmpp_stat is not None else self.outcome.value


@dataclass(frozen=True, slots=True)
class CarrierConfig:
    """The parsed ``[carrier]`` table."""

    seed: int = DEFAULT_SEED
    default: Rule = field(
        default_factory=lambda: Rule(
            name="default",
            match=Match(),
            outcome=FinalState.DELIVRD,
            smpp_err=0,
            delay=Delay.fixed(DEFAULT_DELAY_MS),
        )
    )
    echo_number: str | None = None
    unsubscribe_words: tuple[str, ...] = DEFAULT_UNSUBSCRIBE_WORDS
    blacklisted: BlacklistPolicy = BlacklistPolicy.RECEIPT
    rules: tuple[Rule, ...] = ()


def default_carrier_config() -> CarrierConfig:
    """Configuration when ``[carrier]`` is absent: every message DELIVRD after 1000 ms."""
    return CarrierConfig()


# Not frozen: a frozen dataclass sets each field through object.__setattr__ (about 5x the cost
# of a plain __init__), and these are built for every message. Nobody mutates them.
@dataclass(slots=True)
class MessageFacts:
    """What the carrier knows about one submitted message (one destination, one segment set).

    Times are epoch seconds supplied by the caller, keeping the carrier free of clock reads.
    """

    account: str
    protocol: str
    source: str
    destination: str
    text: str | None
    submitted_at: float
    validity_at: float | None = None
    schedule_at: float | None = None
    message_id: str = ""


@dataclass(slots=True)  # not frozen, for the same reason as MessageFacts
class Decision:
    """The carrier's verdict on one message; receipts and the event log are built from it.

    ``outcome`` is a plain ``str`` only for the SMSC's own stand-in while a message is held
    for review (``smsc.core``'s ``HELD``), which no receipt is ever built from.
    """

    outcome: FinalState | str
    smpp_err: int
    network_error_code: int
    stat: str
    deliver_at: float
    enroute_at: float | None
    rule: str
    reason: str


_reasons: dict[tuple[str, bool, FinalState, int, str | None], tuple[str, str]] = {}


class Carrier:
    """Applies the configured rules to messages with one seeded RNG (see the module docstring).

    Evaluation order in :meth:`decide`: blacklisted → DTBLACK; then the account's rules and
    then the global rules, in order. The first rule whose match holds *and* whose probability
    draw succeeds wins; a failed draw moves on to the next rule (so ``p=0.3 UNDELIV`` followed
    by ``p=1 EXPIRED`` splits 30/70), and when nothing wins the default rule applies.
    """

    __slots__ = ("_config", "_rng", "_unsubscribe", "_echo")

    def __init__(self, config: CarrierConfig) -> None:
        self._config = config
        self._rng = random.Random(config.seed)
        self._unsubscribe = frozenset(word.strip().casefold() for word in config.unsubscribe_words)
        self._echo = normalise_number(config.echo_number) if config.echo_number else None

    @property
    def config(self) -> CarrierConfig:
        return self._config

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._config.rules

    def replace_rules(self, global_rules: Iterable[Rule]) -> None:
        """Swap the global rules at run time (admin API). The RNG keeps its state."""
        self._config = replace(self._config, rules=tuple(global_rules))

    def is_unsubscribe(self, text: str | None) -> bool:
        """True if an MO's whole text is an unsubscribe word (trimmed, case-insensitive)."""
        return text is not None and text.strip().casefold() in self._unsubscribe

    def is_echo(self, destination: str) -> bool:
        """True if an MT to ``destination`` should come back as MO (loopback self-test)."""
        return self._echo is not None and normalise_number(destination) == self._echo

    def decide(
        self,
        facts: MessageFacts,
        account_rules: Sequence[Rule] = (),
        blacklisted: bool = False,
    ) -> Decision:
        """Decide the fate of one message; the caller says whether it is blacklisted."""
        if blacklisted:
            return self._blacklisted(facts)
        rule = None
        global_rules = self._config.rules
        if account_rules or global_rules:
            destination = normalise_number(facts.destination)
            if account_rules:
                rule = self._first(account_rules, facts.protocol, destination, facts.text)
            if rule is None:
                rule = self._first(global_rules, facts.protocol, destination, facts.text)
        default = self._config.default
        if rule is None:
            rule = default
        delay = rule.delay if rule.delay is not None else default.delay
        assert delay is not None  # the default rule always has a delay
        delay_ms = delay.sample(self._rng)
        start = facts.submitted_at
        if facts.schedule_at is not None and facts.schedule_at > start:
            start = facts.schedule_at
        deliver_at = start + delay_ms / 1000.0
        enroute_at = start if rule.enroute else None
        if facts.validity_at is not None and deliver_at > facts.validity_at:
            return self._expired(facts, rule, enroute_at, deliver_at)
        outcome = rule.outcome
        # the same few texts over and over (fixed delays): the reason formatted once each, and
        # the stat text with it (``Rule.stat`` reads an enum's ``value``, a Python descriptor)
        key = (rule.name, rule is default, outcome, round(delay_ms), rule.cmpp_stat)
        texts = _reasons.get(key)
        if texts is None:
            if len(_reasons) >= 4096:
                _reasons.clear()
            if rule is default:
                reason = f"no rule matched: default {outcome} after {key[3]} ms"
            else:
                reason = f"rule {rule.name} matched: {outcome} after {key[3]} ms"
            texts = _reasons[key] = (reason, rule.stat)
        reason, stat = texts
        return Decision(  # positional: per message (see MessageFacts in smsc.core)
            outcome,
            rule.smpp_err,
            0 if outcome is FinalState.DELIVRD else rule.smpp_err,
            stat,
            deliver_at,
            enroute_at,
            rule.name,
            reason,
        )

    def _first(
        self, rules: Sequence[Rule], protocol: str, destination: str, text: str | None
    ) -> Rule | None:
        rng = self._rng
        for rule in rules:
            if not rule.match.matches(protocol, destination, text):
                continue
            p = rule.probability
            if p >= 1.0 or (p > 0.0 and rng.random() < p):
                return rule
        return None

    def _blacklisted(self, facts: MessageFacts) -> Decision:
        # Carriers refuse blacklisted numbers at once, so no delay and no enroute receipt.
        err = _DEFAULT_SMPP_ERR[FinalState.DTBLACK]
        return Decision(
            outcome=FinalState.DTBLACK,
            smpp_err=err,
            network_error_code=err,
            stat=FinalState.DTBLACK.value,
            deliver_at=facts.submitted_at,
            enroute_at=None,
            rule="blacklist",
            reason=f"destination {facts.destination} is blacklisted",
        )

    def _expired(
        self, facts: MessageFacts, rule: Rule, enroute_at: float | None, would_be: float
    ) -> Decision:
        # Validity wins over whatever the rule said: the network was still trying when the
        # validity period ran out. A validity already past at submit expires at once.
        validity_at = facts.validity_at
        assert validity_at is not None
        deliver_at = max(validity_at, facts.submitted_at)
        if enroute_at is not None and enroute_at > deliver_at:
            enroute_at = None
        err = _DEFAULT_SMPP_ERR[FinalState.EXPIRED]
        return Decision(
            outcome=FinalState.EXPIRED,
            smpp_err=err,
            network_error_code=err,
            stat=FinalState.EXPIRED.value,
            deliver_at=deliver_at,
            enroute_at=enroute_at,
            rule="validity",
            reason=(
                f"validity period ended {would_be - validity_at:.3f} s before rule "
                f"{rule.name} would have given {rule.outcome}"
            ),
        )


# --------------------------------------------------------------------------- config parsing

_RULE_KEYS = (
    "name",
    "match",
    "outcome",
    "smpp_err",
    "cmpp_stat",
    "probability",
    "delay_ms",
    "enroute",
)
_DEFAULT_KEYS = ("outcome", "smpp_err", "cmpp_stat", "delay_ms", "enroute")
_MATCH_KEYS = (
    "destination",
    "destination_prefix",
    "destination_suffix",
    "destination_regex",
    "content_regex",
    "protocol",
)
_CARRIER_KEYS = (
    "seed",
    "default",
    "echo_number",
    "unsubscribe_words",
    "blacklisted",
    "rules",
)
_RULE_OUTCOMES = tuple(state.value for state in FinalState if state.is_final)


def _type_name(value: object) -> str:
    return type(value).__name__


def _table(value: object, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(key, f"must be a table, got {_type_name(value)}")
    return value


def _check_keys(raw: Mapping[str, Any], allowed: Sequence[str], path: str) -> None:
    for key in raw:
        if key not in allowed:
            raise ConfigError(f"{path}.{key}", f"unknown key (allowed: {', '.join(allowed)})")


def _string(value: object, key: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, f"must be a string, got {_type_name(value)}")
    if not allow_empty and not value.strip():
        raise ConfigError(key, "must not be empty")
    return value


def _number(value: object, key: str) -> float:
    # bool is an int subclass; `delay_ms = true` is a mistake, not 1 ms.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(key, f"must be a number, got {_type_name(value)}")
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(key, "must be a finite number")
    return value


def _integer(value: object, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"must be an integer, got {_type_name(value)}")
    return value


def _boolean(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false, got {_type_name(value)}")
    return value


def _ms(value: object, key: str) -> float:
    ms = _number(value, key)
    if ms < 0:
        raise ConfigError(key, f"must not be negative, got {ms:g}")
    return ms


def parse_delay(raw: object, key: str) -> Delay:
    """Parse a ``delay_ms`` value: ``N`` | ``{ uniform = [a, b] }`` | ``{ exponential_mean = m }``."""
    if not isinstance(raw, Mapping):
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ConfigError(
                key,
                "must be milliseconds, { uniform = [a, b] } or { exponential_mean = m }, "
                f"got {_type_name(raw)}",
            )
        return Delay.fixed(_ms(raw, key))
    if len(raw) != 1:
        raise ConfigError(key, "must have exactly one of: uniform, exponential_mean")
    ((kind, value),) = raw.items()
    sub = f"{key}.{kind}"
    if kind == "uniform":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ConfigError(sub, "must be a list of two numbers [low, high]")
        low, high = _ms(value[0], f"{sub}[0]"), _ms(value[1], f"{sub}[1]")
        if low > high:
            raise ConfigError(sub, f"low {low:g} is greater than high {high:g}")
        return Delay.uniform(low, high)
    if kind == "exponential_mean":
        return Delay.exponential(_ms(value, sub))
    raise ConfigError(sub, "unknown delay kind (allowed: uniform, exponential_mean)")


def _regex(value: object, key: str) -> re.Pattern[str]:
    pattern = _string(value, key)
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(key, f"invalid regular expression: {exc}") from None


def _parse_match(raw: object, path: str) -> Match:
    table = _table(raw, path)
    _check_keys(table, _MATCH_KEYS, path)
    kwargs: dict[str, Any] = {}
    for key in ("destination", "destination_prefix", "destination_suffix"):
        if key in table:
            value = normalise_number(_string(table[key], f"{path}.{key}"))
            if not value:
                raise ConfigError(f"{path}.{key}", "must not be empty")
            kwargs[key] = value
    for key in ("destination_regex", "content_regex"):
        if key in table:
            kwargs[key] = _regex(table[key], f"{path}.{key}")
    if "protocol" in table:
        key = f"{path}.protocol"
        name = _string(table["protocol"], key).strip().lower()
        try:
            kwargs["protocol"] = Protocol(name)
        except ValueError:
            allowed = ", ".join(p.value for p in Protocol)
            raise ConfigError(key, f"unknown protocol {name!r} (allowed: {allowed})") from None
    return Match(**kwargs)


def _parse_outcome(value: object, key: str) -> FinalState:
    name = _string(value, key).strip().upper()
    try:
        state = FinalState(name)
    except ValueError:
        raise ConfigError(
            key, f"unknown outcome {name!r} (allowed: {', '.join(_RULE_OUTCOMES)})"
        ) from None
    if not state.is_final:
        raise ConfigError(
            key,
            f"{name} is an intermediate state, not an outcome; use enroute = true to send an "
            "intermediate receipt",
        )
    return state


def _parse_cmpp_stat(value: object, key: str) -> str:
    stat = _string(value, key)
    if len(stat) > MAX_STAT_LENGTH:
        raise ConfigError(key, f"must be at most {MAX_STAT_LENGTH} characters, got {stat!r}")
    if not stat.isascii() or not stat.isprintable():
        raise ConfigError(key, f"must be printable ASCII, got {stat!r}")
    return stat


def _parse_smpp_err(value: object, key: str) -> int:
    err = _integer(value, key)
    if not 0 <= err <= MAX_SMPP_ERR:
        raise ConfigError(key, f"must be between 0 and {MAX_SMPP_ERR}, got {err}")
    return err


def _parse_rule_body(
    table: Mapping[str, Any], path: str, name: str, *, auto_named: bool, default_delay: Delay | None
) -> Rule:
    outcome = (
        _parse_outcome(table["outcome"], f"{path}.outcome")
        if "outcome" in table
        else FinalState.DELIVRD
    )
    smpp_err = (
        _parse_smpp_err(table["smpp_err"], f"{path}.smpp_err")
        if "smpp_err" in table
        else _DEFAULT_SMPP_ERR[outcome]
    )
    cmpp_stat = (
        _parse_cmpp_stat(table["cmpp_stat"], f"{path}.cmpp_stat") if "cmpp_stat" in table else None
    )
    probability = 1.0
    if "probability" in table:
        key = f"{path}.probability"
        probability = _number(table["probability"], key)
        if not 0.0 <= probability <= 1.0:
            raise ConfigError(key, f"must be between 0 and 1, got {probability:g}")
    delay = (
        parse_delay(table["delay_ms"], f"{path}.delay_ms") if "delay_ms" in table else default_delay
    )
    enroute = _boolean(table["enroute"], f"{path}.enroute") if "enroute" in table else False
    match = _parse_match(table["match"], f"{path}.match") if "match" in table else Match()
    return Rule(
        name=name,
        match=match,
        outcome=outcome,
        smpp_err=smpp_err,
        cmpp_stat=cmpp_stat,
        probability=probability,
        delay=delay,
        enroute=enroute,
        auto_named=auto_named,
    )


def parse_rules(raw: object, path: str) -> tuple[Rule, ...]:
    """Parse a ``[[...rules]]`` array (TOML or admin JSON); ``path`` is e.g. ``carrier.rules``.

    ``outcome`` is required. A rule without ``match`` matches every message; without
    ``delay_ms`` it uses the carrier default's delay; ``name`` defaults to ``<path>[i]``.
    """
    if not isinstance(raw, list | tuple):
        raise ConfigError(path, f"must be an array of tables, got {_type_name(raw)}")
    rules = []
    for index, item in enumerate(raw):
        rule_path = f"{path}[{index}]"
        table = _table(item, rule_path)
        _check_keys(table, _RULE_KEYS, rule_path)
        if "outcome" not in table:
            raise ConfigError(f"{rule_path}.outcome", "is required")
        if "name" in table:
            name = _string(table["name"], f"{rule_path}.name").strip()
            auto_named = False
        else:
            name, auto_named = rule_path, True
        rules.append(
            _parse_rule_body(table, rule_path, name, auto_named=auto_named, default_delay=None)
        )
    return tuple(rules)


def _parse_default(raw: object, path: str) -> Rule:
    table = _table(raw, path)
    _check_keys(table, _DEFAULT_KEYS, path)
    return _parse_rule_body(
        table, path, "default", auto_named=False, default_delay=Delay.fixed(DEFAULT_DELAY_MS)
    )


def parse_carrier(raw: Mapping[str, Any] | None, path: str = "carrier") -> CarrierConfig:
    """Parse the ``[carrier]`` table strictly; every error names the exact dotted key."""
    if raw is None:
        return default_carrier_config()
    table = _table(raw, path)
    _check_keys(table, _CARRIER_KEYS, path)
    kwargs: dict[str, Any] = {}
    if "seed" in table:
        kwargs["seed"] = _integer(table["seed"], f"{path}.seed")
    if "default" in table:
        kwargs["default"] = _parse_default(table["default"], f"{path}.default")
    if "echo_number" in table:
        key = f"{path}.echo_number"
        value = table["echo_number"]
        if isinstance(value, int) and not isinstance(value, bool):
            raise ConfigError(key, f'must be a string; write echo_number = "{value}"')
        number = normalise_number(_string(value, key))
        if not number:
            raise ConfigError(key, "must not be empty")
        kwargs["echo_number"] = number
    if "unsubscribe_words" in table:
        key = f"{path}.unsubscribe_words"
        words = table["unsubscribe_words"]
        if not isinstance(words, list | tuple):
            raise ConfigError(key, f"must be an array of strings, got {_type_name(words)}")
        kwargs["unsubscribe_words"] = tuple(
            _string(word, f"{key}[{i}]").strip() for i, word in enumerate(words)
        )
    if "blacklisted" in table:
        key = f"{path}.blacklisted"
        policy = _string(table["blacklisted"], key).strip().lower()
        try:
            kwargs["blacklisted"] = BlacklistPolicy(policy)
        except ValueError:
            raise ConfigError(
                key, f"must be 'receipt' or 'reject', got {table['blacklisted']!r}"
            ) from None
    if "rules" in table:
        kwargs["rules"] = parse_rules(table["rules"], f"{path}.rules")
    return CarrierConfig(**kwargs)


# --------------------------------------------------------------------------- export


def _rule_body_to_dict(rule: Rule) -> dict[str, Any]:
    raw: dict[str, Any] = {"outcome": rule.outcome.value, "smpp_err": rule.smpp_err}
    if rule.cmpp_stat is not None:
        raw["cmpp_stat"] = rule.cmpp_stat
    if rule.delay is not None:
        raw["delay_ms"] = rule.delay.to_raw()
    raw["enroute"] = rule.enroute
    return raw


def rules_to_dict(rules: Iterable[Rule]) -> list[dict[str, Any]]:
    """JSON-ready form that :func:`parse_rules` reads back to equal rules (admin API)."""
    exported = []
    for rule in rules:
        raw: dict[str, Any] = {} if rule.auto_named else {"name": rule.name}
        match = rule.match.to_dict()
        if match:
            raw["match"] = match
        raw.update(_rule_body_to_dict(rule))
        raw["probability"] = rule.probability
        exported.append(raw)
    return exported


def carrier_to_dict(config: CarrierConfig) -> dict[str, Any]:
    """JSON-ready form that :func:`parse_carrier` reads back to an equal configuration."""
    raw: dict[str, Any] = {
        "seed": config.seed,
        "default": _rule_body_to_dict(config.default),
        "unsubscribe_words": list(config.unsubscribe_words),
        "blacklisted": config.blacklisted.value,
        "rules": rules_to_dict(config.rules),
    }
    if config.echo_number is not None:
        raw["echo_number"] = config.echo_number
    return raw
