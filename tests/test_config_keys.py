"""Unknown keys are refused: a typo in a scenario or relay.toml is named with its file, not ignored.

Every message is compared whole.  Scenarios are loaded from the working
directory by file name, as an operator runs ``relay sim run modum.toml``.
"""

from __future__ import annotations

import base64
from importlib import resources
from pathlib import Path

import pytest

from relay.core.signing import Signer
from relay.edge.home import Home, IpConfig, NodeConfig
from relay.errors import ConfigError, ValidationError
from relay.sim import scenario
from tests.test_cli import fails, ok, relay_cli, sh

SHIPPED = sorted(p.name for p in resources.files("relay.data.scenarios").iterdir() if p.name.endswith(".toml"))

BASE = """\
[mesh]
preset = "LONG_FAST"
duration = "2h"

[[node]]
id = "RIN"
name = "Ringerike kommune"

[[node]]
id = "HOL"
name = "Hole kommune"

[[link]]
a = "RIN"
b = "HOL"
loss = 0.1

[[event]]
at = "10m"
send = { from = "RIN", kind = "MELDING", priority = "HASTER", to = "ALLE", text = "Strømbrudd." }

[[event]]
at = "1h"
partition = ["RIN"]

[[event]]
at = "90m"
inject = { into = "HOL", attack = "forged" }
"""

MESH_KEYS = (
    "bridge_latency, bridged, duration, duty_cycle, hop_limit, ip, ip_latency, preset, relay_hops, routine_hops,"
    " seed, town_hall_role"
)
TABLES = "[mesh], [[node]], [[link]], [[event]], [[rogue]]"
ACTIONS = "at, bridge_down, bridge_up, crash, heal, inject, ip_down, ip_up, partition, restart, revoke, send"
SEND_KEYS = "exercise, fields, from, kind, priority, ref, text, text_file, to"
CONFIG_KEYS = "authority_key, channel_index, exercise, ip, max_hops, name, node_id, radio, relay_hops, routine_hops"


def load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> scenario.Scenario:
    """``text`` as ``modum.toml`` in the working directory, loaded by its file name."""
    monkeypatch.chdir(tmp_path)
    Path("modum.toml").write_text(text, encoding="utf-8")
    return scenario.load(Path("modum.toml"))


def test_the_base_scenario_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sc = load(tmp_path, monkeypatch, BASE)
    assert (sc.store_nodes, len(sc.events)) == (("RIN", "HOL"), 3)


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        (
            'duration = "2h"\n',
            'duration = "2h"\nrelay_hop = 2\n',
            f"ukjent nøkkel 'relay_hop' i [mesh] (gyldige: {MESH_KEYS})",
        ),
        (
            '[[node]]\nid = "RIN"\n',
            '[[jammer]]\nid = "LUR"\n\n[[node]]\nid = "RIN"\n',
            f"ukjent tabell [[jammer]] (gyldige: {TABLES})",
        ),
        ("[mesh]\n", "[radio]\nhop_limit = 2\n\n[mesh]\n", f"ukjent tabell [radio] (gyldige: {TABLES})"),
        (
            "[mesh]\n",
            "relay_hops = 2\n\n[mesh]\n",
            f"ukjent nøkkel 'relay_hops' utenfor tabellene (gyldige tabeller: {TABLES})",
        ),
        (
            'name = "Ringerike kommune"\n',
            'name = "Ringerike kommune"\nrol = "politi"\n',
            "ukjent nøkkel 'rol' i [[node]] RIN (gyldige: id, name, radio, radio_only, role)",
        ),
        ("loss = 0.1\n", "los = 0.1\n", "ukjent nøkkel 'los' i [[link]] RIN-HOL (gyldige: a, b, loss)"),
        (
            'at = "1h"\n',
            'at = "1h"\nnote = "bruddet"\n',
            f"ukjent nøkkel 'note' i [[event]] ved 1h (gyldige: {ACTIONS})",
        ),
        (
            'priority = "HASTER"',
            'prioritet = "HASTER"',
            f"ukjent nøkkel 'prioritet' i send i [[event]] ved 10m (gyldige: {SEND_KEYS})",
        ),
        (
            'attack = "forged"',
            'attack = "forged", from = "RIN"',
            "ukjent nøkkel 'from' i inject i [[event]] ved 90m (gyldige: attack, into)",
        ),
        (
            'partition = ["RIN"]\n',
            'partition = ["RIN"]\nheal = ["RIN"]\n',
            "[[event]] ved 1h har flere handlinger (partition, heal): bruk én [[event]] for hver",
        ),
    ],
    ids=[
        "mesh-typo",
        "rogue-table",
        "unknown-table",
        "key-outside-mesh",
        "node",
        "link",
        "event",
        "send",
        "inject",
        "two-actions",
    ],
)
def test_unknown_key_in_a_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, error: str
) -> None:
    assert BASE.count(old) == 1
    with pytest.raises(ValidationError) as refused:
        load(tmp_path, monkeypatch, BASE.replace(old, new))
    assert str(refused.value) == f"modum.toml: {error}"


def test_unknown_key_in_a_parsed_scenario_names_no_file() -> None:
    data = {"mesh": {"relay_hop": 2}, "node": [{"id": "RIN"}]}
    with pytest.raises(ValidationError) as refused:
        scenario.parse(data, Path())
    assert str(refused.value) == f"ukjent nøkkel 'relay_hop' i [mesh] (gyldige: {MESH_KEYS})"


def test_sim_run_refuses_a_typo_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("modum.toml").write_text(BASE.replace("[mesh]\n", "[mesh]\nrelay_hop = 2\n"), encoding="utf-8")
    error = f"modum.toml: ukjent nøkkel 'relay_hop' i [mesh] (gyldige: {MESH_KEYS})"
    fails(relay_cli("sim", "run", "modum.toml"), error)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_scenario_loads(name: str) -> None:
    with resources.as_file(resources.files("relay.data.scenarios").joinpath(name)) as path:
        sc = scenario.load(Path(path))
    assert sc.name == name.removesuffix(".toml") and sc.events


def test_the_shipped_scenarios_are_there() -> None:
    assert SHIPPED == ["field-plan.toml", "modum.toml", "rogue-request-flood.toml"]


# --- relay.toml ---------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home written by ``relay init``."""
    path = tmp_path / "mod"
    ok(relay_cli(*sh("init --node MOD --name 'Modum kommune'"), home=path))
    return path


def test_a_fresh_relay_toml_loads(home: Path) -> None:
    assert Home(home).config() == NodeConfig("MOD", "Modum kommune")


def test_every_key_relay_toml_can_hold_is_read_back(tmp_path: Path) -> None:
    key = base64.b64encode(Signer.generate().public_key).decode()
    ip = IpConfig("mqtts://broker.example:8883", "relay/ringerike", "MOD", "/etc/relay/mqtt.pass", "/etc/relay/ca.pem")
    config = NodeConfig("MOD", "Modum kommune", "tcp://pi.local:4403", 1, True, key, 2, 1, 3, ip)
    Home.init(tmp_path / "mod", "MOD", "Modum kommune").write_config(config)
    assert Home(tmp_path / "mod").config() == config


@pytest.mark.parametrize(
    ("line", "key"),
    [("relay_hop = 2", "relay_hop"), ("[rogue]\nid = 'LUR'", "rogue")],
    ids=["typo", "table"],
)
def test_unknown_key_in_relay_toml(home: Path, line: str, key: str) -> None:
    path = home / "relay.toml"
    path.write_text(path.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
    error = f"konfigurasjonsfilen {path}: ukjent nøkkel {key!r} (gyldige: {CONFIG_KEYS})"
    with pytest.raises(ConfigError) as refused:
        Home(home).config()
    assert str(refused.value) == error
    fails(relay_cli("inbox", home=home), error)
