"""smsc.config: the TOML contract, environment overrides and strict validation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from smsc.config import (
    MASK,
    AccountConfig,
    CmppCredentials,
    Config,
    Listener,
    SmppCredentials,
    env_name,
    load_config,
    parse_config,
    schema_keys,
)
from smsc.errors import ConfigError

CONTRACT = """
[storage]
url = "sqlite:///smsc.db"          # or "postgresql+psycopg://postgres@127.0.0.1/smsc"

[listeners]
smpp  = { host = "0.0.0.0", port = 2775 }
cmpp  = { host = "0.0.0.0", port = 7890 }
http  = { host = "0.0.0.0", port = 8080 }
admin = { host = "127.0.0.1", port = 8081 }

[[accounts]]
name = "acme"
service_codes = ["106900001"]      # MO to 106900001 + extension routes here
ip_whitelist = []                  # empty = any address
max_binds = 8
window = 100
throughput = 0                     # msg/s, 0 = unlimited
smpp = { system_id = "acme", password = "secret" }
cmpp = { sp_id = "901234", secret = "s3cret" }
"""

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "smsc.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(raw: dict[str, Any], env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, env)
    return info.value


def account(**extra: Any) -> dict[str, Any]:
    return {"name": "acme", **extra}


# --------------------------------------------------------------------------- defaults


def test_defaults_without_a_file() -> None:
    config = load_config(None, env={})
    assert config == Config()
    assert config.storage.url == "sqlite:///smsc.db"
    assert config.storage.commit_max_wait_ms == 0.0
    assert config.storage.commit_max_batch == 2000
    assert config.storage.sqlite_synchronous == "FULL"
    assert config.storage.pool_size == 5
    listeners = config.listeners
    assert listeners.smpp == Listener("0.0.0.0", 2775, True)
    assert listeners.cmpp == Listener("0.0.0.0", 7890)
    assert listeners.sgip == Listener("0.0.0.0", 8801)
    assert listeners.smgp == Listener("0.0.0.0", 8890)
    assert listeners.http == Listener("0.0.0.0", 8080)
    assert listeners.admin == Listener("127.0.0.1", 8081)
    assert config.accounts == ()
    assert config.smpp.system_id == "SMSCEMU"
    assert config.smpp.enquire_link_interval_s == 30.0
    assert config.smpp.max_pdu_size == 65536
    assert config.cmpp.gateway_id == 1
    assert config.cmpp.max_retries == 3
    assert config.logging.level == "INFO"
    assert config.logging.format == "kv"
    assert config.carrier.seed == 0


def test_unrelated_smsc_variables_are_ignored() -> None:
    # No "__": not an override (SMSC_CONFIG may well name the file).
    config = load_config(None, env={"SMSC_CONFIG": "/etc/smsc.toml", "PATH": "/bin"})
    assert config == Config()


# --------------------------------------------------------------------------- the contract


def test_contract_file_parses_exactly(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, CONTRACT), env={})
    assert config.storage.url == "sqlite:///smsc.db"
    assert config.listeners.smpp == Listener("0.0.0.0", 2775)
    assert config.listeners.admin == Listener("127.0.0.1", 8081)
    assert config.listeners.sgip == Listener("0.0.0.0", 8801)  # not in the file: default
    (acme,) = config.accounts
    assert acme == AccountConfig(
        name="acme",
        service_codes=("106900001",),
        ip_whitelist=(),
        max_binds=8,
        window=100,
        throughput=0.0,
        smpp=SmppCredentials("acme", "secret"),
        cmpp=CmppCredentials("901234", "s3cret"),
    )
    assert acme.balance is None
    assert acme.enabled is True
    assert acme.message_id_format == "decimal"
    assert acme.long_receipts == "per_part"
    assert acme.cmpp_window == 16
    assert config.account("acme") is acme
    assert config.account("nobody") is None


def test_partial_listener_keeps_that_listeners_default_host() -> None:
    config = parse_config({"listeners": {"admin": {"port": 9000}}})
    assert config.listeners.admin == Listener("127.0.0.1", 9000)


def test_full_account_with_rules_and_carrier(tmp_path: Path) -> None:
    text = """
    [carrier]
    seed = 42

    [[accounts]]
    name = "full.account-1"
    service_codes = ["1069", "10690002"]
    ip_whitelist = ["10.0.0.0/8", "192.168.1.7", "::1"]
    balance = 500
    enabled = false
    message_id_format = "HEX"
    long_receipts = "per_message"
    cmpp_window = 32
    throughput = 12.5
    sgip = { login_name = "sgipuser", password = "pw" }
    smgp = { client_id = "cl123456", secret = "x" }

    [[accounts.rules]]
    outcome = "UNDELIV"
    """
    config = load_config(write(tmp_path, text), env={})
    assert config.carrier.seed == 42
    (acct,) = config.accounts
    assert acct.balance == 500 and acct.enabled is False
    assert acct.message_id_format == "HEX" and acct.long_receipts == "per_message"
    assert acct.throughput == 12.5 and acct.cmpp_window == 32
    assert acct.sgip is not None and acct.sgip.login_name == "sgipuser"
    assert acct.smgp is not None and acct.smgp.client_id == "cl123456"
    assert len(acct.rules) == 1 and acct.rules[0].outcome.value == "UNDELIV"


def test_allows_address() -> None:
    open_account = AccountConfig(name="a")
    assert open_account.allows_address("203.0.113.9")
    acct = AccountConfig(name="a", ip_whitelist=("10.0.0.0/8", "192.168.1.7", "::1"))
    assert acct.allows_address("10.2.3.4")
    assert acct.allows_address("192.168.1.7")
    assert acct.allows_address("::ffff:10.9.9.9")  # IPv4-mapped, as dual-stack sockets report
    assert acct.allows_address("::1")
    assert not acct.allows_address("192.168.1.8")
    assert not acct.allows_address("not-an-ip")


# --------------------------------------------------------------------------- environment


@pytest.mark.parametrize(
    ("var", "value", "attr", "expected"),
    [
        (
            "SMSC_STORAGE__URL",
            "postgresql+psycopg://pg@db/smsc",
            ("storage", "url"),
            "postgresql+psycopg://pg@db/smsc",
        ),
        ("SMSC_STORAGE__COMMIT_MAX_WAIT_MS", "0.5", ("storage", "commit_max_wait_ms"), 0.5),
        ("SMSC_STORAGE__SQLITE_SYNCHRONOUS", "normal", ("storage", "sqlite_synchronous"), "NORMAL"),
        ("SMSC_LISTENERS__SMPP__PORT", "2776", ("listeners", "smpp", "port"), 2776),
        ("SMSC_LISTENERS__SGIP__ENABLED", "false", ("listeners", "sgip", "enabled"), False),
        ("SMSC_LISTENERS__SGIP__ENABLED", "0", ("listeners", "sgip", "enabled"), False),
        ("SMSC_LISTENERS__HTTP__ENABLED", "TRUE", ("listeners", "http", "enabled"), True),
        ("SMSC_LOGGING__LEVEL", "debug", ("logging", "level"), "DEBUG"),
        ("SMSC_SMPP__RETRY_MAX_S", "90", ("smpp", "retry_max_s"), 90.0),
        ("SMSC_CMPP__GATEWAY_ID", "4194303", ("cmpp", "gateway_id"), 4194303),
        ("SMSC_CARRIER__SEED", "7", ("carrier", "seed"), 7),
    ],
)
def test_env_overrides_scalar(var: str, value: str, attr: tuple[str, ...], expected: Any) -> None:
    obj: Any = load_config(None, env={var: value})
    for name in attr:
        obj = getattr(obj, name)
    assert obj == expected
    assert type(obj) is type(expected)


def test_env_overrides_file_values_by_account_index(tmp_path: Path) -> None:
    env = {
        "SMSC_ACCOUNTS__0__WINDOW": "5",
        "SMSC_ACCOUNTS__0__SMPP__PASSWORD": "newpw",
        "SMSC_ACCOUNTS__0__BALANCE": "100",
    }
    (acme,) = load_config(write(tmp_path, CONTRACT), env=env).accounts
    assert acme.window == 5
    assert acme.smpp == SmppCredentials("acme", "newpw")
    assert acme.balance == 100


def test_env_can_create_accounts_in_index_order() -> None:
    env = {f"SMSC_ACCOUNTS__{i}__NAME": f"acct{i}" for i in range(12)}
    config = load_config(None, env=env)
    assert [a.name for a in config.accounts] == [f"acct{i}" for i in range(12)]


@pytest.mark.parametrize(
    "value", ['["106900001", "106900002"]', "106900001,106900002", " 106900001 , 106900002 "]
)
def test_env_lists_json_or_comma_separated(value: str) -> None:
    config = parse_config({"accounts": [account()]}, {"SMSC_ACCOUNTS__0__SERVICE_CODES": value})
    assert config.accounts[0].service_codes == ("106900001", "106900002")


def test_env_empty_list_and_unlimited_balance() -> None:
    raw = {"accounts": [account(ip_whitelist=["10.0.0.1"], balance=5)]}
    env = {"SMSC_ACCOUNTS__0__IP_WHITELIST": "", "SMSC_ACCOUNTS__0__BALANCE": "unlimited"}
    acct = parse_config(raw, env).accounts[0]
    assert acct.ip_whitelist == ()
    assert acct.balance is None


def test_env_carrier_string_key_that_looks_like_a_number() -> None:
    # echo_number is a string in smsc.rules; "10086" must not be turned into an integer.
    config = load_config(None, env={"SMSC_CARRIER__ECHO_NUMBER": "10086"})
    assert config.carrier.echo_number == "10086"


def test_env_account_rules_as_json() -> None:
    env = {"SMSC_ACCOUNTS__0__RULES": '[{"outcome": "REJECTD"}]'}
    config = parse_config({"accounts": [account()]}, env)
    assert config.accounts[0].rules[0].outcome.value == "REJECTD"


def test_env_name_helper() -> None:
    assert env_name("listeners.smpp.port") == "SMSC_LISTENERS__SMPP__PORT"
    assert env_name("accounts[0].smpp.password") == "SMSC_ACCOUNTS__0__SMPP__PASSWORD"


@pytest.mark.parametrize(
    ("var", "value", "key", "fragment"),
    [
        ("SMSC_LISTENERS__SMPP__PORT", "x", "listeners.smpp.port", "integer in 0..65535"),
        ("SMSC_LISTENERS__SMPP__PORT", "70000", "listeners.smpp.port", "integer 70000"),
        ("SMSC_LISTENERS__SMPP__ENABLED", "yes", "listeners.smpp.enabled", "true, false, 1 or 0"),
        ("SMSC_STORAGE__COMMIT_MAX_WAIT_MS", "soon", "storage.commit_max_wait_ms", "number"),
        ("SMSC_LOGGING__FORMAT", "xml", "logging.format", "'kv', 'json'"),
        ("SMSC_CARRIER__SEED", "abc", "carrier.seed", "integer"),
        ("SMSC_ACCOUNTS__0__SERVICE_CODES", "[1, 2", "accounts[0].service_codes", "JSON"),
        ("SMSC_ACCOUNTS__0__SERVICE_CODES", "12a", "accounts[0].service_codes[0]", "digits"),
    ],
)
def test_env_type_errors_name_key_and_variable(
    var: str, value: str, key: str, fragment: str
) -> None:
    err = error_for({"accounts": [account()]}, {var: value})
    assert err.key == key
    assert var in err.message
    assert fragment in err.message


@pytest.mark.parametrize(
    ("var", "key"),
    [
        ("SMSC_NOPE__X", "nope"),
        ("SMSC_STORAGE__NOPE", "storage.nope"),
        ("SMSC_LISTENERS__FTP__PORT", "listeners.ftp"),
        ("SMSC_LISTENERS__SMPP__NOPE", "listeners.smpp.nope"),
        ("SMSC_ACCOUNTS__0__NOPE", "accounts[0].nope"),
        ("SMSC_ACCOUNTS__0__SMPP__NOPE", "accounts[0].smpp.nope"),
        ("SMSC_CARRIER__NOPE", "carrier.nope"),
    ],
)
def test_env_unknown_key_is_an_error(var: str, key: str) -> None:
    err = error_for({"accounts": [account()]}, {var: "1"})
    assert err.key == key
    assert var in err.message


@pytest.mark.parametrize(
    ("var", "key"),
    [
        ("SMSC_LISTENERS__SMPP", "listeners.smpp"),  # a table, not a value
        ("SMSC_STORAGE__URL__X", "storage.url"),  # a value, not a table
        ("SMSC_ACCOUNTS__X__NAME", "accounts"),  # index expected
        ("SMSC_ACCOUNTS__3__NAME", "accounts[3]"),  # skips indices 1 and 2
        ("SMSC_STORAGE____URL", "SMSC_STORAGE____URL"),  # empty segment
    ],
)
def test_env_malformed_paths(var: str, key: str) -> None:
    err = error_for({"accounts": [account()]}, {var: "v"})
    assert err.key == key
    assert var in err.message or err.key == var


# --------------------------------------------------------------------------- strictness


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"bogus": {}}, "bogus"),
        ({"storage": {"uri": "x"}}, "storage.uri"),
        ({"listeners": {"ftp": {"port": 21}}}, "listeners.ftp"),
        ({"listeners": {"smpp": {"port": 2775, "tls": True}}}, "listeners.smpp.tls"),
        ({"accounts": [account(colour="red")]}, "accounts[0].colour"),
        (
            {"accounts": [account(smpp={"system_id": "a", "password": "b", "x": 1})]},
            "accounts[0].smpp.x",
        ),
        (
            {"accounts": [account(cmpp={"sp_id": "123456", "secret": "s", "x": 1})]},
            "accounts[0].cmpp.x",
        ),
        ({"accounts": [account(rules=[{"outcome": "DELIVRD", "x": 1}])]}, "accounts[0].rules[0].x"),
        ({"carrier": {"x": 1}}, "carrier.x"),
        ({"smpp": {"x": 1}}, "smpp.x"),
        ({"cmpp": {"x": 1}}, "cmpp.x"),
        ({"logging": {"x": 1}}, "logging.x"),
    ],
)
def test_unknown_key_at_every_level(raw: dict[str, Any], key: str) -> None:
    err = error_for(raw)
    assert err.key == key
    assert "unknown key" in err.message


def test_port_string_in_toml(tmp_path: Path) -> None:
    path = write(tmp_path, '[listeners]\nsmpp = { host = "0.0.0.0", port = "x" }\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.key == "listeners.smpp.port"
    assert "expected an integer in 0..65535" in info.value.message
    assert "string 'x'" in info.value.message


@pytest.mark.parametrize(
    ("raw", "key", "fragment"),
    [
        ({"listeners": {"smpp": {"port": -1}}}, "listeners.smpp.port", "integer -1"),
        ({"listeners": {"smpp": {"port": 65536}}}, "listeners.smpp.port", "65536"),
        ({"listeners": {"smpp": {"port": True}}}, "listeners.smpp.port", "boolean"),
        ({"listeners": {"smpp": {"host": ""}}}, "listeners.smpp.host", "0 characters"),
        ({"listeners": {"smpp": 2775}}, "listeners.smpp", "table"),
        ({"storage": {"url": "mysql://x/y"}}, "storage.url", "SQLite and PostgreSQL"),
        ({"storage": {"sqlite_synchronous": "OFF"}}, "storage.sqlite_synchronous", "'OFF'"),
        ({"storage": {"commit_max_wait_ms": -1}}, "storage.commit_max_wait_ms", ">= 0"),
        ({"accounts": {"name": "a"}}, "accounts", "[[accounts]]"),
        ({"accounts": [{}]}, "accounts[0].name", "missing required key"),
        ({"accounts": [{"name": "has space"}]}, "accounts[0].name", "A-Za-z0-9_.-"),
        ({"accounts": [{"name": "x" * 33}]}, "accounts[0].name", "1..32"),
        ({"accounts": [account(service_codes="1069")]}, "accounts[0].service_codes", "array"),
        ({"accounts": [account(service_codes=[1069])]}, "accounts[0].service_codes[0]", "integer"),
        (
            {"accounts": [account(ip_whitelist=["10.0.0.300"])]},
            "accounts[0].ip_whitelist[0]",
            "CIDR",
        ),
        ({"accounts": [account(max_binds=0)]}, "accounts[0].max_binds", ">= 1"),
        ({"accounts": [account(window=1.5)]}, "accounts[0].window", "float"),
        ({"accounts": [account(throughput=-1)]}, "accounts[0].throughput", ">= 0"),
        ({"accounts": [account(balance=-5)]}, "accounts[0].balance", ">= 0"),
        ({"accounts": [account(enabled="yes")]}, "accounts[0].enabled", "boolean"),
        ({"accounts": [account(message_id_format="Hex")]}, "accounts[0].message_id_format", "Hex"),
        ({"accounts": [account(long_receipts="all")]}, "accounts[0].long_receipts", "per_part"),
        (
            {"accounts": [account(smpp={"system_id": "x" * 16, "password": "p"})]},
            "accounts[0].smpp.system_id",
            "1..15",
        ),
        ({"accounts": [account(smpp={"system_id": "a"})]}, "accounts[0].smpp.password", "missing"),
        (
            {"accounts": [account(cmpp={"sp_id": "12345", "secret": "s"})]},
            "accounts[0].cmpp.sp_id",
            "6 digits",
        ),
        (
            {"accounts": [account(smgp={"client_id": "123456789", "secret": "s"})]},
            "accounts[0].smgp.client_id",
            "1..8",
        ),
        ({"accounts": [account(rules={"outcome": "DELIVRD"})]}, "accounts[0].rules", "array"),
        ({"smpp": {"max_pdu_size": 10}}, "smpp.max_pdu_size", "64..16777216"),
        ({"smpp": {"enquire_link_interval_s": 0}}, "smpp.enquire_link_interval_s", "> 0"),
        ({"smpp": {"retry_initial_s": 10, "retry_max_s": 5}}, "smpp.retry_max_s", "retry_initial"),
        ({"cmpp": {"gateway_id": 1 << 22}}, "cmpp.gateway_id", "0..4194303"),
        ({"logging": {"level": "LOUD"}}, "logging.level", "'LOUD'"),
        ({"carrier": {"seed": "x"}}, "carrier.seed", "integer"),
    ],
)
def test_wrong_values(raw: dict[str, Any], key: str, fragment: str) -> None:
    err = error_for(raw)
    assert err.key == key
    assert fragment in err.message, err.message


def test_password_too_long_does_not_echo_it() -> None:
    raw = {"accounts": [account(smpp={"system_id": "acme", "password": "hunter2hunter2"})]}
    err = error_for(raw)
    assert err.key == "accounts[0].smpp.password"
    assert "at most" in err.message or "0..8" in err.message
    assert "hunter2" not in str(err)


@pytest.mark.parametrize(
    ("second", "key"),
    [
        ({"name": "acme"}, "accounts[1].name"),
        (
            {"name": "b", "smpp": {"system_id": "acme", "password": "p"}},
            "accounts[1].smpp.system_id",
        ),
        ({"name": "b", "cmpp": {"sp_id": "901234", "secret": "s"}}, "accounts[1].cmpp.sp_id"),
        ({"name": "b", "service_codes": ["106900001"]}, "accounts[1].service_codes[0]"),
    ],
)
def test_duplicates(second: dict[str, Any], key: str) -> None:
    first = account(
        service_codes=["106900001"],
        smpp={"system_id": "acme", "password": "p"},
        cmpp={"sp_id": "901234", "secret": "s"},
    )
    err = error_for({"accounts": [first, second]})
    assert err.key == key
    assert "duplicate" in err.message and "accounts[0]" in err.message


def test_duplicate_from_env_names_the_variable() -> None:
    err = error_for({"accounts": [account(), {"name": "b"}]}, {"SMSC_ACCOUNTS__1__NAME": "acme"})
    assert err.key == "accounts[1].name"
    assert "SMSC_ACCOUNTS__1__NAME" in err.message


def test_listener_port_clash() -> None:
    err = error_for({"listeners": {"http": {"port": 2775}}})
    assert err.key == "listeners.http.port"
    assert "listeners.smpp" in err.message
    # A disabled listener does not hold its port.
    raw = {"listeners": {"http": {"port": 2775}, "smpp": {"port": 2775, "enabled": False}}}
    assert parse_config(raw).listeners.http.port == 2775


# --------------------------------------------------------------------------- files


def test_toml_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[storage\nurl = 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.key == str(path)
    assert "invalid TOML" in info.value.message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.key == str(path)
    assert "not found" in info.value.message


def test_parse_config_does_not_modify_its_input() -> None:
    raw: dict[str, Any] = {"accounts": [account()]}
    parse_config(raw, {"SMSC_ACCOUNTS__0__WINDOW": "3", "SMSC_STORAGE__POOL_SIZE": "2"})
    assert raw == {"accounts": [account()]}


# --------------------------------------------------------------------------- output


def secret_config() -> Config:
    return parse_config(
        {
            "storage": {"url": "postgresql+psycopg://smsc:dbpass@db.example/smsc"},
            "accounts": [
                account(
                    smpp={"system_id": "acme", "password": "pw1"},
                    cmpp={"sp_id": "901234", "secret": "cmppsecret"},
                    sgip={"login_name": "sg", "password": "sgippw"},
                    smgp={"client_id": "cl1", "secret": "smgpsecret"},
                )
            ],
        }
    )


def test_to_dict_masks_secrets() -> None:
    shown = secret_config().to_dict()
    text = repr(shown)
    for secret in ("pw1", "cmppsecret", "sgippw", "smgpsecret", "dbpass"):
        assert secret not in text
    acct = shown["accounts"][0]
    assert acct["smpp"] == {"system_id": "acme", "password": MASK}
    assert acct["cmpp"] == {"sp_id": "901234", "secret": MASK}
    assert shown["storage"]["url"] == f"postgresql+psycopg://smsc:{MASK}@db.example/smsc"
    assert secret_config().accounts[0].to_dict()["sgip"]["password"] == MASK


def test_to_dict_unmasked_round_trips() -> None:
    config = secret_config()
    plain = config.to_dict(mask_secrets=False)
    assert plain["accounts"][0]["smgp"]["secret"] == "smgpsecret"
    assert plain["storage"]["url"].endswith("smsc:dbpass@db.example/smsc")
    assert parse_config(plain) == config
    with_rules = parse_config(
        {"carrier": {"seed": 3}, "accounts": [account(rules=[{"outcome": "EXPIRED"}])]}
    )
    assert parse_config(with_rules.to_dict(mask_secrets=False)) == with_rules


def test_secrets_not_in_repr() -> None:
    text = repr(secret_config())
    for secret in ("pw1", "cmppsecret", "sgippw", "smgpsecret"):
        assert secret not in text
    assert "acme" in text


def test_config_is_frozen() -> None:
    config = Config()
    with pytest.raises(AttributeError):
        config.storage.url = "x"  # type: ignore[misc]


# --------------------------------------------------------------------------- docs


def test_every_key_is_documented() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    missing = []
    for key, env, _expected in schema_keys():
        key = key.replace("accounts[0]", "accounts[N]")
        env = env.replace("SMSC_ACCOUNTS__0__", "SMSC_ACCOUNTS__N__")
        generic = re.sub(r"^(listeners)\.\w+\.", r"\1.<name>.", key)
        if f"`{key}`" not in docs and f"`{generic}`" not in docs:
            missing.append(key)
        generic_env = re.sub(r"^SMSC_LISTENERS__[A-Z]+__", "SMSC_LISTENERS__<NAME>__", env)
        if f"`{env}" not in docs and f"`{generic_env}" not in docs:
            missing.append(env)
    assert missing == []


def test_env_created_account_missing_name_points_at_the_variable() -> None:
    err = error_for({}, {"SMSC_ACCOUNTS__0__WINDOW": "3"})
    assert err.key == "accounts[0].name"
    assert "missing required key" in err.message
    assert "SMSC_ACCOUNTS__0__WINDOW" in err.message


def test_rejected_storage_url_does_not_echo_its_password() -> None:
    err = error_for({}, {"SMSC_STORAGE__URL": "mysql://user:topsecret@db/smsc"})
    assert err.key == "storage.url"
    assert "topsecret" not in err.message
    assert "SMSC_STORAGE__URL" in err.message


def test_env_deep_override_inside_account_rules() -> None:
    env = {
        "SMSC_ACCOUNTS__0__RULES__0__OUTCOME": "UNDELIV",
        "SMSC_ACCOUNTS__0__RULES__0__PROBABILITY": "0.5",
        "SMSC_CARRIER__DEFAULT__DELAY_MS": "250",
    }
    config = parse_config({"accounts": [account()]}, env)
    (rule,) = config.accounts[0].rules
    assert rule.outcome.value == "UNDELIV" and rule.probability == 0.5
    assert config.carrier.default.delay is not None and config.carrier.default.delay.low == 250
