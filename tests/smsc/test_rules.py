import json
import random
import re
import statistics
import tomllib
from typing import Any

import pytest

from smsc.errors import ConfigError
from smsc.rules import (
    DEFAULT_SEED,
    BlacklistPolicy,
    Carrier,
    CarrierConfig,
    Decision,
    Delay,
    DelayKind,
    FinalState,
    Match,
    MessageFacts,
    Protocol,
    Rule,
    carrier_to_dict,
    parse_carrier,
    parse_delay,
    parse_rules,
    rules_to_dict,
)

T0 = 1_700_000_000.0

EXAMPLE = """
[carrier]
seed = 42
default = { outcome = "DELIVRD", delay_ms = 1000 }
echo_number = "10086000"
unsubscribe_words = ["TD", "TN", "0000"]
blacklisted = "receipt"

[[carrier.rules]]
match = { destination_suffix = "0001" }
outcome = "UNDELIV"
smpp_err = 1
cmpp_stat = "MK:0001"
probability = 1.0
delay_ms = 0
enroute = false

[[carrier.rules]]
name = "slow china mobile"
match = { destination_prefix = "139", protocol = "cmpp" }
outcome = "DELIVRD"
delay_ms = { uniform = [100, 500] }
enroute = true

[[carrier.rules]]
match = { content_regex = "(?i)expire me" }
outcome = "EXPIRED"
delay_ms = { exponential_mean = 200 }
"""


def facts(
    destination: str = "13800000000",
    *,
    text: str | None = "hello",
    protocol: str = "smpp",
    submitted_at: float = T0,
    validity_at: float | None = None,
    schedule_at: float | None = None,
) -> MessageFacts:
    return MessageFacts(
        account="acme",
        protocol=protocol,
        source="10690000",
        destination=destination,
        text=text,
        submitted_at=submitted_at,
        validity_at=validity_at,
        schedule_at=schedule_at,
        message_id="m1",
    )


def rule(outcome: str = "UNDELIV", **extra: Any) -> Rule:
    (parsed,) = parse_rules([{"outcome": outcome, **extra}], "carrier.rules")
    return parsed


def carrier_with(*rules: dict[str, Any], seed: int = 1, **carrier: Any) -> Carrier:
    return Carrier(parse_carrier({"seed": seed, "rules": list(rules), **carrier}))


# --------------------------------------------------------------------------- parsing


def test_example_config_parses() -> None:
    cfg = parse_carrier(tomllib.loads(EXAMPLE)["carrier"])
    assert cfg.seed == 42
    assert cfg.default.outcome is FinalState.DELIVRD
    assert cfg.default.delay == Delay.fixed(1000)
    assert cfg.echo_number == "10086000"
    assert cfg.unsubscribe_words == ("TD", "TN", "0000")
    assert cfg.blacklisted is BlacklistPolicy.RECEIPT
    first, slow, expire = cfg.rules
    assert first.name == "carrier.rules[0]"
    assert first.match == Match(destination_suffix="0001")
    assert (first.outcome, first.smpp_err, first.stat) == (FinalState.UNDELIV, 1, "MK:0001")
    assert first.delay == Delay.fixed(0)
    assert slow.name == "slow china mobile"
    assert slow.match.protocol is Protocol.CMPP
    assert slow.delay == Delay.uniform(100, 500)
    assert slow.enroute
    assert slow.stat == "DELIVRD"
    assert expire.delay == Delay(DelayKind.EXPONENTIAL, 200, 200)


def test_defaults_when_carrier_absent() -> None:
    for cfg in (parse_carrier(None), parse_carrier({}), CarrierConfig()):
        assert cfg.seed == DEFAULT_SEED == 0
        assert cfg.default.outcome is FinalState.DELIVRD
        assert cfg.default.smpp_err == 0
        assert cfg.default.delay == Delay.fixed(1000)
        assert cfg.echo_number is None
        assert cfg.unsubscribe_words == ("TD", "TN", "0000")
        assert cfg.blacklisted is BlacklistPolicy.RECEIPT
        assert cfg.rules == ()


def test_partial_default_keeps_1000_ms_and_failure_err_defaults_to_1() -> None:
    cfg = parse_carrier({"default": {"outcome": "undeliv"}})
    assert cfg.default.outcome is FinalState.UNDELIV
    assert cfg.default.delay == Delay.fixed(1000)
    assert cfg.default.smpp_err == 1


def test_rule_defaults() -> None:
    r = rule("REJECTD")
    assert r.match == Match()
    assert r.smpp_err == 1
    assert r.cmpp_stat is None and r.stat == "REJECTD"
    assert r.probability == 1.0
    assert r.delay is None
    assert not r.enroute
    assert rule("DELIVRD").smpp_err == 0


def test_account_rule_default_name_uses_path() -> None:
    rules = parse_rules([{"outcome": "UNDELIV"}, {"outcome": "EXPIRED"}], "accounts[3].rules")
    assert [r.name for r in rules] == ["accounts[3].rules[0]", "accounts[3].rules[1]"]


def test_destination_match_values_are_normalised() -> None:
    r = rule(match={"destination": "+8613800000001", "destination_prefix": "+86"})
    assert r.match.destination == "8613800000001"
    assert r.match.destination_prefix == "86"


@pytest.mark.parametrize(
    ("raw", "key", "fragment"),
    [
        ("nope", "carrier", "must be a table"),
        ({"bogus": 1}, "carrier.bogus", "unknown key"),
        ({"seed": "42"}, "carrier.seed", "integer"),
        ({"seed": 1.5}, "carrier.seed", "integer"),
        ({"seed": True}, "carrier.seed", "integer"),
        ({"default": 5}, "carrier.default", "table"),
        ({"default": {"match": {}}}, "carrier.default.match", "unknown key"),
        ({"default": {"probability": 0.5}}, "carrier.default.probability", "unknown key"),
        ({"default": {"outcome": "BOGUS"}}, "carrier.default.outcome", "unknown outcome"),
        ({"default": {"delay_ms": -1}}, "carrier.default.delay_ms", "negative"),
        ({"echo_number": 10086000}, "carrier.echo_number", 'echo_number = "10086000"'),
        ({"echo_number": ""}, "carrier.echo_number", "empty"),
        ({"echo_number": "+"}, "carrier.echo_number", "empty"),
        ({"unsubscribe_words": "TD"}, "carrier.unsubscribe_words", "array"),
        ({"unsubscribe_words": ["TD", 0]}, "carrier.unsubscribe_words[1]", "string"),
        ({"unsubscribe_words": ["TD", "  "]}, "carrier.unsubscribe_words[1]", "empty"),
        ({"blacklisted": "drop"}, "carrier.blacklisted", "'receipt' or 'reject'"),
        ({"blacklisted": 1}, "carrier.blacklisted", "string"),
        ({"rules": {"outcome": "UNDELIV"}}, "carrier.rules", "array of tables"),
        ({"rules": ["x"]}, "carrier.rules[0]", "table"),
    ],
)
def test_carrier_config_errors_name_the_key(raw: Any, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_carrier(raw)
    assert info.value.key == key
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("raw", "key", "fragment"),
    [
        ({"outcome": "UNDELIV", "colour": "red"}, "carrier.rules[1].colour", "unknown key"),
        ({}, "carrier.rules[1].outcome", "required"),
        ({"outcome": "GONE"}, "carrier.rules[1].outcome", "unknown outcome"),
        ({"outcome": 5}, "carrier.rules[1].outcome", "string"),
        ({"outcome": "ENROUTE"}, "carrier.rules[1].outcome", "intermediate"),
        ({"outcome": "ACCEPTD"}, "carrier.rules[1].outcome", "intermediate"),
        ({"outcome": "UNDELIV", "name": ""}, "carrier.rules[1].name", "empty"),
        ({"outcome": "UNDELIV", "name": 3}, "carrier.rules[1].name", "string"),
        ({"outcome": "UNDELIV", "smpp_err": "1"}, "carrier.rules[1].smpp_err", "integer"),
        ({"outcome": "UNDELIV", "smpp_err": -1}, "carrier.rules[1].smpp_err", "between"),
        ({"outcome": "UNDELIV", "smpp_err": 1000}, "carrier.rules[1].smpp_err", "between"),
        ({"outcome": "UNDELIV", "cmpp_stat": "MK:00001"}, "carrier.rules[1].cmpp_stat", "7"),
        ({"outcome": "UNDELIV", "cmpp_stat": "MK:é1"}, "carrier.rules[1].cmpp_stat", "ASCII"),
        ({"outcome": "UNDELIV", "probability": 1.5}, "carrier.rules[1].probability", "between"),
        ({"outcome": "UNDELIV", "probability": -0.1}, "carrier.rules[1].probability", "between"),
        ({"outcome": "UNDELIV", "probability": "1"}, "carrier.rules[1].probability", "number"),
        (
            {"outcome": "UNDELIV", "probability": float("nan")},
            "carrier.rules[1].probability",
            "finite",
        ),
        ({"outcome": "UNDELIV", "enroute": 1}, "carrier.rules[1].enroute", "true or false"),
        ({"outcome": "UNDELIV", "delay_ms": -5}, "carrier.rules[1].delay_ms", "negative"),
        ({"outcome": "UNDELIV", "delay_ms": True}, "carrier.rules[1].delay_ms", "milliseconds"),
        ({"outcome": "UNDELIV", "delay_ms": "5"}, "carrier.rules[1].delay_ms", "milliseconds"),
        ({"outcome": "UNDELIV", "delay_ms": {}}, "carrier.rules[1].delay_ms", "exactly one"),
        (
            {"outcome": "UNDELIV", "delay_ms": {"uniform": [1, 2], "exponential_mean": 3}},
            "carrier.rules[1].delay_ms",
            "exactly one",
        ),
        (
            {"outcome": "UNDELIV", "delay_ms": {"gaussian": 3}},
            "carrier.rules[1].delay_ms.gaussian",
            "unknown delay kind",
        ),
        (
            {"outcome": "UNDELIV", "delay_ms": {"uniform": [1]}},
            "carrier.rules[1].delay_ms.uniform",
            "two numbers",
        ),
        (
            {"outcome": "UNDELIV", "delay_ms": {"uniform": [500, 100]}},
            "carrier.rules[1].delay_ms.uniform",
            "greater than",
        ),
        (
            {"outcome": "UNDELIV", "delay_ms": {"uniform": [-1, 100]}},
            "carrier.rules[1].delay_ms.uniform[0]",
            "negative",
        ),
        (
            {"outcome": "UNDELIV", "delay_ms": {"uniform": [1, "x"]}},
            "carrier.rules[1].delay_ms.uniform[1]",
            "number",
        ),
        (
            {"outcome": "UNDELIV", "delay_ms": {"exponential_mean": -200}},
            "carrier.rules[1].delay_ms.exponential_mean",
            "negative",
        ),
        ({"outcome": "UNDELIV", "match": "0001"}, "carrier.rules[1].match", "table"),
        (
            {"outcome": "UNDELIV", "match": {"dest": "1"}},
            "carrier.rules[1].match.dest",
            "unknown key",
        ),
        (
            {"outcome": "UNDELIV", "match": {"destination": 138}},
            "carrier.rules[1].match.destination",
            "string",
        ),
        (
            {"outcome": "UNDELIV", "match": {"destination_prefix": ""}},
            "carrier.rules[1].match.destination_prefix",
            "empty",
        ),
        (
            {"outcome": "UNDELIV", "match": {"destination_suffix": "+"}},
            "carrier.rules[1].match.destination_suffix",
            "empty",
        ),
        (
            {"outcome": "UNDELIV", "match": {"destination_regex": "(138"}},
            "carrier.rules[1].match.destination_regex",
            "invalid regular expression",
        ),
        (
            {"outcome": "UNDELIV", "match": {"content_regex": "[a-"}},
            "carrier.rules[1].match.content_regex",
            "invalid regular expression",
        ),
        (
            {"outcome": "UNDELIV", "match": {"protocol": "mm7"}},
            "carrier.rules[1].match.protocol",
            "unknown protocol",
        ),
    ],
)
def test_rule_errors_name_the_key(raw: dict[str, Any], key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_carrier({"rules": [{"outcome": "DELIVRD"}, raw]})
    assert info.value.key == key
    assert fragment in info.value.message
    assert str(info.value).startswith(f"{key}: ")


def test_parse_rules_uses_given_path() -> None:
    with pytest.raises(ConfigError) as info:
        parse_rules([{"outcome": "X"}], "accounts[2].rules")
    assert info.value.key == "accounts[2].rules[0].outcome"
    with pytest.raises(ConfigError) as info:
        parse_rules("nope", "accounts[2].rules")
    assert info.value.key == "accounts[2].rules"


def test_parse_delay_forms() -> None:
    assert parse_delay(250, "d") == Delay.fixed(250)
    assert parse_delay(0.5, "d") == Delay.fixed(0.5)
    assert parse_delay({"uniform": [1, 1]}, "d") == Delay.uniform(1, 1)
    assert parse_delay({"exponential_mean": 0}, "d") == Delay.exponential(0)


def test_outcome_and_protocol_are_case_insensitive() -> None:
    r = rule("undeliv", match={"protocol": "CMPP"})
    assert r.outcome is FinalState.UNDELIV
    assert r.match.protocol is Protocol.CMPP


# --------------------------------------------------------------------------- export


def test_carrier_round_trips_through_json() -> None:
    cfg = parse_carrier(tomllib.loads(EXAMPLE)["carrier"])
    exported = carrier_to_dict(cfg)
    again = parse_carrier(json.loads(json.dumps(exported)))
    assert again == cfg
    assert exported["rules"][0].get("name") is None  # auto name is not frozen in
    assert exported["rules"][1]["name"] == "slow china mobile"
    assert exported["rules"][1]["match"] == {"destination_prefix": "139", "protocol": "cmpp"}
    assert exported["rules"][2]["delay_ms"] == {"exponential_mean": 200}
    assert "delay_ms" not in rules_to_dict([rule()])[0]


def test_default_config_round_trips() -> None:
    cfg = CarrierConfig()
    assert parse_carrier(carrier_to_dict(cfg)) == cfg


def test_exported_rules_renumber_when_reparsed() -> None:
    rules = parse_rules([{"outcome": "UNDELIV"}, {"outcome": "EXPIRED"}], "carrier.rules")
    (second,) = parse_rules(rules_to_dict(rules)[1:], "carrier.rules")
    assert second.name == "carrier.rules[0]"


def test_all_match_kinds_round_trip() -> None:
    raw = {
        "destination": "1",
        "destination_prefix": "2",
        "destination_suffix": "3",
        "destination_regex": "^4",
        "content_regex": "5$",
        "protocol": "sgip",
    }
    (r,) = parse_rules([{"outcome": "UNKNOWN", "match": raw}], "carrier.rules")
    assert rules_to_dict([r])[0]["match"] == raw


# --------------------------------------------------------------------------- matching


@pytest.mark.parametrize(
    ("match", "hit", "miss"),
    [
        ({"destination": "13800000001"}, facts("+13800000001"), facts("138000000011")),
        ({"destination_prefix": "139"}, facts("13912345678"), facts("13812345678")),
        ({"destination_prefix": "+86"}, facts("8613912345678"), facts("13912345678")),
        ({"destination_suffix": "0001"}, facts("13800000001"), facts("13800000010")),
        ({"destination_regex": "^1[35]"}, facts("15000000000"), facts("14000000000")),
        ({"destination_regex": "99"}, facts("13899000000"), facts("13800000000")),
        ({"content_regex": "(?i)fail"}, facts(text="please FAIL"), facts(text="ok")),
        ({"content_regex": "."}, facts(text="x"), facts(text=None)),
        ({"protocol": "cmpp"}, facts(protocol="cmpp"), facts(protocol="smpp")),
        ({"protocol": "http"}, facts(protocol=Protocol.HTTP), facts(protocol="smgp")),
        (
            {"destination_prefix": "139", "content_regex": "^STOP"},
            facts("13900000000", text="STOP now"),
            facts("13900000000", text="please STOP"),
        ),
    ],
)
def test_each_match_kind(match: dict[str, str], hit: MessageFacts, miss: MessageFacts) -> None:
    carrier = carrier_with({"match": match, "outcome": "UNDELIV", "delay_ms": 0})
    assert carrier.decide(hit).outcome is FinalState.UNDELIV
    assert carrier.decide(miss).outcome is FinalState.DELIVRD


def test_empty_match_matches_everything() -> None:
    carrier = carrier_with({"outcome": "REJECTD"})
    assert carrier.decide(facts(text=None, protocol="sgip")).outcome is FinalState.REJECTD


def test_first_matching_rule_wins_and_account_rules_go_first() -> None:
    carrier = carrier_with(
        {"match": {"destination_suffix": "1"}, "outcome": "UNDELIV", "name": "g1"},
        {"match": {"destination_suffix": "01"}, "outcome": "EXPIRED", "name": "g2"},
    )
    assert carrier.decide(facts("13800000001")).rule == "g1"
    account = parse_rules(
        [{"match": {"destination_suffix": "0001"}, "outcome": "REJECTD", "name": "a1"}],
        "accounts[0].rules",
    )
    d = carrier.decide(facts("13800000001"), account)
    assert (d.rule, d.outcome) == ("a1", FinalState.REJECTD)
    # An account rule that does not match falls through to the global ones.
    assert carrier.decide(facts("13800000011"), account).rule == "g1"
    assert carrier.decide(facts("13800000010"), account).rule == "default"


def test_blacklist_beats_every_rule() -> None:
    carrier = carrier_with({"outcome": "DELIVRD", "delay_ms": 5000})
    d = carrier.decide(facts(schedule_at=T0 + 60), blacklisted=True)
    assert d.outcome is FinalState.DTBLACK
    assert d.stat == "DTBLACK"
    assert d.rule == "blacklist"
    assert d.deliver_at == T0
    assert d.enroute_at is None
    assert d.smpp_err == d.network_error_code != 0
    assert "blacklisted" in d.reason


# --------------------------------------------------------------------------- decisions


def test_default_decision() -> None:
    d = Carrier(CarrierConfig()).decide(facts())
    assert d == Decision(
        outcome=FinalState.DELIVRD,
        smpp_err=0,
        network_error_code=0,
        stat="DELIVRD",
        deliver_at=T0 + 1.0,
        enroute_at=None,
        rule="default",
        reason="no rule matched: default DELIVRD after 1000 ms",
    )


def test_rule_decision_carries_errors_stat_and_enroute() -> None:
    carrier = carrier_with(
        {
            "name": "mk",
            "outcome": "UNDELIV",
            "smpp_err": 13,
            "cmpp_stat": "MK:0013",
            "delay_ms": 250,
            "enroute": True,
        }
    )
    d = carrier.decide(facts())
    assert d.outcome is FinalState.UNDELIV
    assert (d.smpp_err, d.network_error_code, d.stat) == (13, 13, "MK:0013")
    assert d.deliver_at == pytest.approx(T0 + 0.25)
    assert d.enroute_at == T0
    assert d.rule == "mk"
    assert "mk" in d.reason and "UNDELIV" in d.reason


def test_delivrd_never_reports_a_network_error_code() -> None:
    d = carrier_with({"outcome": "DELIVRD", "smpp_err": 7}).decide(facts())
    assert (d.smpp_err, d.network_error_code) == (7, 0)


def test_rule_without_delay_uses_default_delay() -> None:
    carrier = carrier_with({"outcome": "UNDELIV"}, default={"delay_ms": 3000})
    assert carrier.decide(facts()).deliver_at == T0 + 3.0
    # The same holds for account rules, which are parsed without knowing the default.
    account = parse_rules([{"outcome": "EXPIRED"}], "accounts[0].rules")
    assert carrier.decide(facts(), account).deliver_at == T0 + 3.0


def test_probability_zero_never_fires_and_one_always_fires() -> None:
    carrier = carrier_with(
        {"outcome": "UNDELIV", "probability": 0, "name": "never"},
        {"outcome": "EXPIRED", "probability": 1, "name": "always"},
    )
    assert {carrier.decide(facts()).rule for _ in range(50)} == {"always"}


def test_failed_draw_continues_with_next_rule() -> None:
    carrier = carrier_with(
        {"outcome": "UNDELIV", "probability": 0.3, "delay_ms": 0},
        {"outcome": "EXPIRED", "delay_ms": 0},
    )
    outcomes = [carrier.decide(facts()).outcome for _ in range(2000)]
    assert set(outcomes) == {FinalState.UNDELIV, FinalState.EXPIRED}
    assert 0.25 < outcomes.count(FinalState.UNDELIV) / len(outcomes) < 0.35


def _sequence(seed: int, n: int = 200) -> list[FinalState]:
    carrier = carrier_with({"outcome": "UNDELIV", "probability": 0.3}, seed=seed)
    return [carrier.decide(facts()).outcome for _ in range(n)]


def test_same_seed_same_outcomes_different_seed_different_outcomes() -> None:
    first = _sequence(7)
    assert first == _sequence(7)
    assert FinalState.UNDELIV in first and FinalState.DELIVRD in first
    assert _sequence(8) != first


def test_random_delays_are_reproducible_with_the_seed() -> None:
    def run() -> list[float]:
        carrier = carrier_with({"outcome": "DELIVRD", "delay_ms": {"uniform": [0, 1000]}})
        return [carrier.decide(facts()).deliver_at for _ in range(20)]

    assert run() == run()


def test_replace_rules_takes_effect_and_keeps_the_rng_going() -> None:
    carrier = carrier_with({"outcome": "UNDELIV"})
    assert carrier.decide(facts()).outcome is FinalState.UNDELIV
    carrier.replace_rules(parse_rules([{"outcome": "REJECTD"}], "carrier.rules"))
    assert carrier.decide(facts()).outcome is FinalState.REJECTD
    assert carrier.rules[0].outcome is FinalState.REJECTD
    carrier.replace_rules([])
    assert carrier.decide(facts()).rule == "default"


def test_a_replaced_rule_of_the_same_name_gives_its_own_stat() -> None:
    # decide keeps each (rule, outcome, delay)'s texts: a rule replaced at run time under the
    # same name with another stat must not get the old one
    carrier = carrier_with({"name": "r", "outcome": "UNDELIV", "cmpp_stat": "MK:0001"})
    assert carrier.decide(facts()).stat == "MK:0001"
    carrier.replace_rules(
        parse_rules([{"name": "r", "outcome": "UNDELIV", "cmpp_stat": "MK:0002"}], "carrier.rules")
    )
    assert carrier.decide(facts()).stat == "MK:0002"
    carrier.replace_rules(parse_rules([{"name": "r", "outcome": "UNDELIV"}], "carrier.rules"))
    d = carrier.decide(facts())
    assert (d.stat, d.rule) == ("UNDELIV", "r")
    assert d.reason.startswith("rule r matched: UNDELIV")


# --------------------------------------------------------------------------- delays


def test_fixed_delay_does_not_draw() -> None:
    rng = random.Random(3)
    state = rng.getstate()
    assert Delay.fixed(42).sample(rng) == 42
    assert rng.getstate() == state


def test_uniform_delays_stay_in_range() -> None:
    rng = random.Random(5)
    delay = Delay.uniform(100, 500)
    samples = [delay.sample(rng) for _ in range(5000)]
    assert all(100 <= s <= 500 for s in samples)
    assert min(samples) < 110 and max(samples) > 490


def test_exponential_mean_is_roughly_right() -> None:
    rng = random.Random(11)
    delay = Delay.exponential(200)
    samples = [delay.sample(rng) for _ in range(20000)]
    assert all(s >= 0 for s in samples)
    assert statistics.fmean(samples) == pytest.approx(200, rel=0.05)
    assert Delay.exponential(0).sample(rng) == 0


def test_decision_delays_within_uniform_range() -> None:
    carrier = carrier_with({"outcome": "DELIVRD", "delay_ms": {"uniform": [100, 500]}})
    for _ in range(500):
        at = carrier.decide(facts()).deliver_at
        assert T0 + 0.1 <= at <= T0 + 0.5


# --------------------------------------------------------------------------- schedule / validity


def test_schedule_delays_the_start() -> None:
    carrier = carrier_with({"outcome": "DELIVRD", "delay_ms": 500, "enroute": True})
    d = carrier.decide(facts(schedule_at=T0 + 60))
    assert d.deliver_at == T0 + 60.5
    assert d.enroute_at == T0 + 60
    # A schedule in the past counts from the submit time.
    assert carrier.decide(facts(schedule_at=T0 - 60)).deliver_at == T0 + 0.5


def test_validity_before_delivery_expires_at_validity() -> None:
    carrier = carrier_with({"outcome": "UNDELIV", "delay_ms": 10_000, "name": "slow"})
    d = carrier.decide(facts(validity_at=T0 + 5))
    assert d.outcome is FinalState.EXPIRED
    assert d.stat == "EXPIRED"
    assert d.rule == "validity"
    assert d.deliver_at == T0 + 5
    assert "slow" in d.reason and "UNDELIV" in d.reason


def test_validity_after_delivery_changes_nothing() -> None:
    carrier = carrier_with({"outcome": "UNDELIV", "delay_ms": 1000})
    d = carrier.decide(facts(validity_at=T0 + 1))  # exactly on time is still in time
    assert d.outcome is FinalState.UNDELIV
    assert d.deliver_at == T0 + 1


def test_schedule_plus_delay_past_validity_expires() -> None:
    carrier = Carrier(CarrierConfig())
    d = carrier.decide(facts(schedule_at=T0 + 100, validity_at=T0 + 100.5))
    assert (d.outcome, d.rule, d.deliver_at) == (FinalState.EXPIRED, "validity", T0 + 100.5)


def test_validity_already_past_expires_immediately_without_enroute() -> None:
    carrier = carrier_with({"outcome": "DELIVRD", "enroute": True})
    d = carrier.decide(facts(schedule_at=T0 + 100, validity_at=T0 - 10))
    assert d.outcome is FinalState.EXPIRED
    assert d.deliver_at == T0
    assert d.enroute_at is None


# --------------------------------------------------------------------------- echo / unsubscribe


def test_unsubscribe_words_are_trimmed_and_case_insensitive() -> None:
    carrier = Carrier(parse_carrier({"unsubscribe_words": ["TD", " Stop "]}))
    assert carrier.is_unsubscribe("td")
    assert carrier.is_unsubscribe("  TD\n")
    assert carrier.is_unsubscribe("STOP")
    assert not carrier.is_unsubscribe("TD please")
    assert not carrier.is_unsubscribe("0000")
    assert not carrier.is_unsubscribe(None)
    assert Carrier(CarrierConfig()).is_unsubscribe("0000")


def test_echo_number() -> None:
    carrier = Carrier(parse_carrier({"echo_number": "+10086000"}))
    assert carrier.is_echo("10086000")
    assert carrier.is_echo("+10086000")
    assert not carrier.is_echo("100860001")
    assert not Carrier(CarrierConfig()).is_echo("10086000")


# --------------------------------------------------------------------------- states


def test_final_state_mappings() -> None:
    assert FinalState.DELIVRD.message_state == 2
    assert FinalState.UNDELIV.message_state == 5
    assert FinalState.ENROUTE.message_state == 1
    assert FinalState.DTBLACK.message_state == 8
    assert FinalState.DTBLACK.smpp_stat == "DTBLACK"
    assert FinalState.DTBLACK.message_state == 8
    assert FinalState.EXPIRED.smpp_stat == "EXPIRED"
    assert not FinalState.ENROUTE.is_final and not FinalState.ACCEPTD.is_final
    assert all(len(s.value) == 7 for s in FinalState)


def test_compiled_patterns_are_reused() -> None:
    r = rule(match={"destination_regex": "^1"})
    assert isinstance(r.match.destination_regex, re.Pattern)
