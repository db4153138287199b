"""Benchmarks: ``relay bench size`` beside LXMF and Meshtastic text, the sync benchmarks, ``relay bench all``."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from relay.bench import lxmf as bench_lxmf
from relay.bench import meshes, sync_runs
from relay.bench import report as bench_report
from relay.bench import size as bench_size
from relay.bench import sync as bench_sync
from relay.cli.main import cli
from relay.core.airtime import LONG_FAST, packet_airtime, time_on_air
from relay.sim import scenario as sc

# ../shared/corpus/s01.txt: 292 bytes of UTF-8.
S01 = (
    "SITREP nr 1 Modum kommune 29.05 kl 14:30. Situasjon: Dataangrep, bortfall av telefoni, e-post, internett og "
    "fagsystemer. Kriseledelse samlet på rådhuset i Vikersund. Tiltak: Informasjon via plakater og FM-radio. "
    "Behov: Bistand til EPS, 2 personer med IKT-kompetanse. Neste rapport kl 18:00."
)
LXMF_INSTALLED = bench_lxmf.available()
NEW_KEYS = {
    "lxmf_bytes",
    "lxmf_frames",
    "lxmf_airtime_s",
    "lxmf_method",
    "meshtastic_text_bytes",
    "meshtastic_text_packets",
    "meshtastic_text_airtime_s",
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "s01.txt").write_text(S01 + "\n", encoding="utf-8")
    (folder / "kort.txt").write_text("Strømmen er tilbake.", encoding="utf-8")
    return folder


def size_json(corpus: Path) -> tuple[dict[str, object], str]:
    result = CliRunner().invoke(cli, ["bench", "size", "--json", "--corpus", str(corpus)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


def test_bench_size_without_the_extra_has_null_lxmf_fields_and_says_so(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_size, "lxmf_available", lambda: False)
    report, stderr = size_json(corpus)
    files: list[dict[str, object]] = report["files"]  # type: ignore[assignment]
    assert len(files) == 2
    for row in files:
        assert set(row) >= NEW_KEYS
        assert row["lxmf_bytes"] is None and row["lxmf_airtime_s"] is None
        assert isinstance(row["meshtastic_text_bytes"], int)
    summary: dict[str, object] = report["summary"]  # type: ignore[assignment]
    assert summary["median_ratio_vs_lxmf"] is None
    assert summary["one_packet_fraction"] == 1.0
    assert "LXMF ikke målt" in stderr and "relay[bench]" in stderr


@pytest.mark.skipif(not LXMF_INSTALLED, reason="the bench extra (lxmf, rns) is not installed")
def test_bench_size_with_the_extra_measures_lxmf(corpus: Path) -> None:
    report, _ = size_json(corpus)
    files: list[dict[str, object]] = report["files"]  # type: ignore[assignment]
    s01 = next(r for r in files if str(r["file"]).endswith("s01.txt"))
    # 388 bytes (packed 404 less the destination hash) -> padded 400 + IV 16 + HMAC 32 + ephemeral key 32
    # + RNS header 19 = 499, in two RNode frames of 255 and 246 bytes.
    assert s01["lxmf_bytes"] == 501
    assert s01["lxmf_frames"] == 2
    assert s01["lxmf_method"] == "link"  # 292 bytes of content is over LXMF's opportunistic limit of 287
    assert s01["lxmf_airtime_s"] == pytest.approx(time_on_air(255, LONG_FAST) + time_on_air(246, LONG_FAST), abs=1e-3)
    summary: dict[str, float] = report["summary"]  # type: ignore[assignment]
    assert 0 < summary["median_ratio_vs_lxmf"] < 0.5
    assert 0 < summary["median_airtime_ratio_vs_lxmf"] < 1


@pytest.mark.skipif(not LXMF_INSTALLED, reason="the bench extra (lxmf, rns) is not installed")
def test_lxmf_packs_s01_as_404_bytes() -> None:
    size = bench_lxmf.measure(S01)
    assert (size.packed_bytes, size.rns_bytes) == (404, 499)


def test_rnode_frames() -> None:
    assert bench_lxmf.lora_frames(100) == [101]
    assert bench_lxmf.lora_frames(254) == [255]
    assert bench_lxmf.lora_frames(255) == [255, 2]
    assert bench_lxmf.lora_frames(499) == [255, 246]


def test_meshtastic_text_is_utf8_in_chunks_of_at_most_200_bytes() -> None:
    text = "a" + "ø" * 150  # 301 bytes; byte 200 falls inside an ø
    chunks = bench_size.meshtastic_text_chunks(text)
    assert [len(c) for c in chunks] == [199, 102]
    assert "".join(c.decode("utf-8") for c in chunks) == text
    assert [len(c) for c in bench_size.meshtastic_text_chunks("x" * 450)] == [200, 200, 50]
    assert bench_size.meshtastic_text_chunks("") == []


def test_meshtastic_text_fields_for_a_known_text() -> None:
    report = bench_size.size_report([("s01.txt", S01)], lxmf=False)
    row: dict[str, object] = report["files"][0]  # type: ignore[index]
    assert row["text_bytes"] == 292
    assert row["meshtastic_text_bytes"] == 292
    assert row["meshtastic_text_packets"] == 2
    # TEXT_MESSAGE_APP: 16-byte header + Data protobuf with a one-byte portnum: N + 23 bytes for N >= 128.
    expected = time_on_air(200 + 23, LONG_FAST) + time_on_air(92 + 22, LONG_FAST)
    assert row["meshtastic_text_airtime_s"] == pytest.approx(expected, abs=1e-3)
    summary: dict[str, object] = report["summary"]  # type: ignore[index]
    assert summary["lxmf"] == "not measured"
    assert 0 < summary["median_ratio_vs_meshtastic_text"] < 1  # type: ignore[operator]


# --- sync benchmarks, tiny ----------------------------------------------------------------------


def test_geometric_meshes_are_connected_and_fixed_by_their_seed() -> None:
    a, b = meshes.geometric(16, 1), meshes.geometric(16, 1)
    assert a.links == b.links and len(a.nodes) == 16
    hops = meshes.hops_from("N01", a.store_nodes, a.links)
    assert set(hops) == set(a.store_nodes)
    assert all(0.05 <= loss <= 0.3 for loss in a.links.values())


def test_the_sync_benchmarks_run_on_tiny_parameters() -> None:
    lossy = sync_runs._loss_run((0.4, 1, 2, 1800.0))
    assert lossy["converged"] and lossy["all_held_s"] >= lossy["lower_bound_s"] > 0
    small = sync_runs._nodes_run((5, 1, 2, 1800.0))
    assert small["converged"] and small["diameter"] >= 1
    idle = bench_sync.idle_utilization(bench_sync.QUICK)
    assert 0 < idle["utilization"] < 0.05
    prio = bench_sync.delivery_by_priority(bench_sync.QUICK)
    assert {r["priority"] for r in prio["rows"]} == {"NØD", "HASTER", "PRIORITET", "RUTINE"}
    assert all(r["delivered"] == r["messages"] for r in prio["rows"])


def test_repair_and_one_message_against_their_ideal() -> None:
    one = sync_runs._one_message_run(1)
    assert one["data_airtime_s"] >= one["ideal_airtime_s"] > 0
    repair = sync_runs.repair_run(1)
    assert repair["converged"]
    assert repair["on_air_bytes"] >= repair["data_bytes"] >= repair["missing_wire_bytes"] > 0
    assert repair["ideal_bytes"] >= repair["missing_wire_bytes"]
    assert repair["floor_airtime_s"] >= repair["ideal_airtime_s"] > 0


@pytest.mark.parametrize(("loss", "sends"), [(0.0, 2.0), (0.5, 4.0)])
def test_the_loss_floor_counts_the_sends_an_omniscient_scheduler_needs(loss: float, sends: float) -> None:
    # A-B-C in a line: B needs one send from A, C one from B; each takes 1/(1 - loss) tries.
    chain = dataclasses.replace(
        meshes.modum(),
        nodes=tuple(sc.NodeSpec(n, n) for n in "ABC"),
        links={frozenset("AB"): loss, frozenset("BC"): loss},
    )
    one = packet_airtime(100, chain.preset)

    floor = sync_runs.loss_floor_airtime(chain, [(100, {"A"}, {"B", "C"})], trials=4000)

    assert floor == pytest.approx(sends * one, rel=0.05)


# --- relay bench all ------------------------------------------------------------------------------


def test_bench_all_quick_writes_the_report_and_plots(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["bench", "all", "--quick", "--out", str(out), "--corpus", str(corpus)])
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text(encoding="utf-8")
    for heading in ("## Targets", "## 1. Size", "## 2. Sync", "## 3. Footprint"):
        assert heading in report
    assert "idle utilization" in report and "convergence at 40% loss" in report
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [s["corpus"] for s in results["size"]] == ["relay/data/messages", str(corpus)]
    assert results["footprint"]["store"]["messages"] > 0
    assert "Kjøretid" in result.stdout
    # scaling: the quick config's one tiny generated region, 8 stores and 2 hills, 3 messages in an hour
    scaling = results["sync"]["scaling"]
    assert [r["stores"] for r in scaling["rows"]] == [8]
    row = scaling["rows"][0]
    assert row["hills"] == 2 and row["runs"] == 1
    assert 0 < row["idle_channel"] < row["channel"] < 0.5
    assert row["per_message_s"] >= row["ideal_s"] > 0 and row["ratio"] >= 1
    assert 0 < row["delivered"] <= row["messages"] == 3
    assert "### Scaling" in report
    scale_targets = [t for t in results["targets"] if t["target"].startswith("generated regions")]
    assert len(scale_targets) == 2
    assert scale_targets[0]["met"] == (row["ratio"] <= 3.0)
    assert scale_targets[1]["met"] is None  # no region of 40 stores in the quick config
    if importlib.util.find_spec("matplotlib") is not None:
        names = {p.name for p in out.glob("*.png")}
        assert {"convergence-loss.png", "convergence-nodes.png", "priority.png", "scaling.png"} <= names
        assert len([n for n in names if n.startswith("size-")]) == 2
        for png in out.glob("*.png"):
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert f"]({png.name})" in report
    else:
        assert "No plots" in report


def test_the_scaling_targets_are_judged_on_the_medians() -> None:
    def row(stores: int, ratio: float, idle: float) -> dict[str, object]:
        return {"stores": stores, "ratio": ratio, "idle_channel": idle}

    scaling = {"seeds": [1, 2], "hours": 5.0, "rows": [row(8, 2.5, 0.004), row(40, 2.9, 0.009)]}
    ratio, idle = bench_report._scaling_targets(scaling)
    assert ratio["met"] is True and idle["met"] is True
    assert "40: 2.9x" in ratio["measured"] and "0.90%" in idle["measured"]
    scaling["rows"] = [row(8, 2.5, 0.004), row(40, 3.1, 0.011)]
    ratio, idle = bench_report._scaling_targets(scaling)
    assert ratio["met"] is False and idle["met"] is False
