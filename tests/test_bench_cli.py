"""``python -m wsframe bench``: options, skip paths, JSON schema, chart. Not timings.

Every run here uses the hidden ``--smoke`` mode (tiny inputs, one round): the numbers are
meaningless, the structure is what is checked.
"""

import json
import os
import subprocess
import sys

import pytest

import wsframe.bench as bench
from wsframe.bench import _peers

ROW_KEYS = {
    "name", "library", "kind", "implementation", "path", "default_path", "reference",
    "time_per_op_s", "time_per_item_s", "items_per_s", "bytes_per_s", "ratio", "spread",
    "loops", "samples",
}
GROUP_KEYS = {
    "variant", "size", "label", "item", "params", "bytes_per_op", "items_per_op",
    "reference", "rows", "skipped", "gc_enabled",
}
DOC_KEYS = {
    "schema", "command", "mode", "method", "rounds", "machine", "wsframe", "libraries",
    "sections", "skipped", "started", "wall_time_s", "summary", "warnings",
    "sections_requested", "clock",
}


def run_json(tmp_path, *args):
    path = tmp_path / "out.json"
    code = bench.main(["--smoke", "--quiet", "--json", str(path)] + list(args))
    assert code == 0
    with open(str(path)) as f:
        return json.load(f)


def all_rows(doc, section):
    return [r for g in doc["sections"][section]["groups"] for r in g["rows"]]


def skipped_reasons(doc, section, library):
    return [s["reason"] for s in doc["sections"][section]["skipped"]
            if s["library"] == library]


# -- options ---------------------------------------------------------------------------


def test_help_lists_sections(capsys):
    assert bench.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in bench.SECTIONS:
        assert name in out
    assert "--smoke" not in out  # hidden


def test_unknown_section_is_a_usage_error(capsys):
    assert bench.main(["--only", "mask,nope"]) == 2
    err = capsys.readouterr().err
    assert "'nope'" in err and "utf8" in err


def test_empty_only_is_a_usage_error(capsys):
    assert bench.main(["--only", ","]) == 2


def test_bad_rounds(capsys):
    assert bench.main(["--rounds", "0", "--smoke"]) == 2
    assert bench.main(["--rounds", "x"]) == 2


def test_unknown_option(capsys):
    assert bench.main(["--frobnicate"]) == 2


def test_list_measures_nothing(tmp_path, capsys):
    path = tmp_path / "x.json"
    assert bench.main(["--list", "--only", "mask,decode", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "candidates" in out and "inputs" in out
    assert not path.exists()


def test_only_selects_sections(tmp_path):
    doc = run_json(tmp_path, "--only", "utf8,mask")
    assert list(doc["sections"]) == ["mask", "utf8"]  # in canonical order


def test_quiet_prints_nothing_and_no_progress_off_a_tty(tmp_path, capsys):
    run_json(tmp_path, "--only", "encode")
    cap = capsys.readouterr()
    assert cap.out == ""
    assert "\r" not in cap.err


def test_table_and_header(capsys):
    assert bench.main(["--smoke", "--only", "encode"]) == 0
    cap = capsys.readouterr()
    out = cap.out
    assert "CPU:" in out and "Python:" in out and "Libraries:" in out
    assert "== Encoding" in out
    assert "wsframe" in out and "Done in" in out
    assert "\r" not in cap.err  # stderr is not a terminal here: no progress display


def test_progress_on_a_terminal(tmp_path, monkeypatch, capsys):
    import io

    class Tty(io.StringIO):
        def isatty(self):
            return True

    fake = Tty()
    monkeypatch.setattr(sys, "stderr", fake)
    assert bench.main(["--smoke", "--only", "encode"]) == 0
    assert "\r" in fake.getvalue() and "encode" in fake.getvalue()
    fake2 = Tty()
    monkeypatch.setattr(sys, "stderr", fake2)
    assert bench.main(["--smoke", "--quiet", "--only", "encode"]) == 0
    assert fake2.getvalue() == ""


# -- JSON ------------------------------------------------------------------------------


def test_json_schema(tmp_path):
    doc = run_json(tmp_path, "--only", "mask,utf8,decode,encode")
    assert DOC_KEYS <= set(doc)
    assert doc["schema"] == "wsframe-bench/1"
    assert doc["mode"] == "smoke"
    assert {"cpu", "cpus", "platform", "python", "python_implementation"} <= set(
        doc["machine"])
    assert {"version", "implementation", "cpu_paths", "available_paths", "measured",
            "not_measured"} <= set(doc["wsframe"])
    assert doc["wsframe"]["measured"]
    assert set(doc["libraries"]) == {name for name, _ in _peers.PEERS}
    for name, section in doc["sections"].items():
        assert {"title", "groups", "skipped", "wall_time_s"} <= set(section)
        assert section["groups"], name
        for g in section["groups"]:
            assert GROUP_KEYS <= set(g)
            assert g["gc_enabled"] == (name not in ("mask", "utf8"))
            assert g["rows"]
            refs = [r for r in g["rows"] if r["reference"]]
            assert len(refs) == 1 and refs[0]["library"] == "wsframe"
            assert refs[0]["ratio"] == pytest.approx(1.0)
            assert g["reference"] == refs[0]["name"]
            for r in g["rows"]:
                assert ROW_KEYS <= set(r)
                assert r["time_per_op_s"] > 0
                assert r["samples"] == doc["rounds"]
                assert r["ratio"] > 0
                assert r["time_per_item_s"] == pytest.approx(
                    r["time_per_op_s"] / g["items_per_op"])
    for item in doc["summary"]:
        assert {"section", "variant", "size", "peer", "speedup"} <= set(item)
        assert item["speedup"] > 0
    # The references are always there.
    names = {r["name"] for r in all_rows(doc, "mask")}
    assert "copy: bytearray(data)" in names
    assert "bytes.decode('utf-8')" in {r["name"] for r in all_rows(doc, "utf8")}
    # Every section-level skip is also in the top-level list.
    top = {(s["section"], s["library"], s["reason"]) for s in doc["skipped"]}
    for name, section in doc["sections"].items():
        for s in section["skipped"]:
            assert (name, s["library"], s["reason"]) in top


def test_both_implementations_and_paths_when_compiled(tmp_path):
    doc = run_json(tmp_path, "--only", "mask")
    impls, _ = _peers.wsframe_implementations()
    rows = [r for r in all_rows(doc, "mask") if r["library"] == "wsframe"]
    assert {r["implementation"] for r in rows} == set(impls)
    if "c" in impls:
        paths = impls["c"].prims.available_paths("mask")
        assert {r["path"] for r in rows if r["implementation"] == "c"} == set(paths)
        ref = [r for r in rows if r["reference"]]
        assert ref[0]["implementation"] == "c"
        assert ref[0]["path"] == impls["c"].prims.cpu_paths()["mask"]


def test_forced_pure_python(tmp_path, monkeypatch):
    monkeypatch.setenv("WSFRAME_NO_EXTENSIONS", "1")
    doc = run_json(tmp_path, "--only", "mask")
    assert doc["wsframe"]["measured"] == ["python"]
    rows = [r for r in all_rows(doc, "mask") if r["library"] == "wsframe"]
    assert {r["implementation"] for r in rows} == {"python"}


# -- skip paths ------------------------------------------------------------------------


def test_missing_peer_is_skipped(tmp_path, monkeypatch):
    for mod in ("wsaccel", "wsaccel.xormask", "wsaccel.utf8validator"):
        monkeypatch.setitem(sys.modules, mod, None)  # import raises ImportError
    doc = run_json(tmp_path, "--only", "mask,utf8")
    for section in ("mask", "utf8"):
        assert not [r for r in all_rows(doc, section) if r["library"] == "wsaccel"]
        assert any("not installed" in r for r in skipped_reasons(doc, section, "wsaccel"))


def test_moved_entry_point_is_reported(tmp_path, monkeypatch):
    speedups = pytest.importorskip("websockets.speedups")
    monkeypatch.delattr(speedups, "apply_mask")
    doc = run_json(tmp_path, "--only", "mask")
    assert not [r for r in all_rows(doc, "mask") if r["library"] == "websockets"]
    reasons = skipped_reasons(doc, "mask", "websockets")
    assert any("websockets.speedups.apply_mask not found" in r for r in reasons), reasons


def test_moved_class_in_decoder_peer(tmp_path, monkeypatch):
    server = pytest.importorskip("websockets.server")
    monkeypatch.delattr(server, "ServerProtocol")
    doc = run_json(tmp_path, "--only", "decode")
    assert not [r for r in all_rows(doc, "decode") if r["library"] == "websockets"]
    assert any("ServerProtocol not found" in r
               for r in skipped_reasons(doc, "decode", "websockets"))


def test_wrong_result_is_skipped_not_timed(tmp_path, monkeypatch):
    speedups = pytest.importorskip("websockets.speedups")
    monkeypatch.setattr(speedups, "apply_mask", lambda data, mask: bytes(data))
    doc = run_json(tmp_path, "--only", "mask")
    for g in doc["sections"]["mask"]["groups"]:
        if g["variant"] != "new buffer":
            continue
        assert not [r for r in g["rows"] if r["library"] == "websockets"]
        assert [s for s in g["skipped"]
                if s["library"] == "websockets" and s["reason"] == "wrong result"]


def test_crashing_peer_is_skipped(tmp_path, monkeypatch):
    connection = pytest.importorskip("wsproto.connection")

    class Broken(object):
        def __init__(self, *a, **k):
            raise RuntimeError("boom")

    monkeypatch.setattr(connection, "Connection", Broken)
    doc = run_json(tmp_path, "--only", "decode")
    assert not [r for r in all_rows(doc, "decode") if r["library"] == "wsproto"]
    for g in doc["sections"]["decode"]["groups"]:
        assert [s for s in g["skipped"] if s["library"] == "wsproto" and "boom" in s["reason"]]


def test_resolve_reports_what_is_missing():
    with pytest.raises(_peers.Skip, match="no_such_module_xyz not importable"):
        _peers.resolve("no_such_module_xyz", "f")
    with pytest.raises(_peers.Skip, match=r"json\.nope not found"):
        _peers.resolve("json", "nope")
    assert _peers.resolve("json", "dumps") is json.dumps


def test_integrations_state_is_restored(tmp_path):
    integ = pytest.importorskip("wsframe.integrations")
    before = dict(integ.installed())
    doc = run_json(tmp_path, "--only", "integrations")
    assert dict(integ.installed()) == before
    section = doc["sections"]["integrations"]
    if not section["groups"]:
        assert section["skipped"]
    for g in section["groups"]:
        assert len(g["rows"]) + len(g["skipped"]) == 2


# -- chart and markdown ----------------------------------------------------------------


def test_plot_creates_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "chart.png"
    assert bench.main(["--smoke", "--quiet", "--only", "mask,decode", "--plot",
                       str(png)]) == 0
    with open(str(png), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(str(png)) > 10000


def test_plot_without_matplotlib_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    png = tmp_path / "chart.png"
    assert bench.main(["--smoke", "--only", "mask", "--plot", str(png)]) == 2
    assert "matplotlib" in capsys.readouterr().err
    assert not png.exists()


def test_markdown(tmp_path):
    md = tmp_path / "t.md"
    assert bench.main(["--smoke", "--quiet", "--only", "utf8", "--markdown", str(md)]) == 0
    text = md.read_text()
    assert text.startswith("### UTF-8 validation")
    assert "| implementation |" in text and "\\*" in text


# -- the command line ------------------------------------------------------------------


def test_python_m_wsframe_bench(tmp_path):
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(bench.__file__)))  # .../wsframe
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(pkg) + os.pathsep + env.get("PYTHONPATH", "")
    path = tmp_path / "o.json"
    proc = subprocess.run(
        [sys.executable, "-m", "wsframe", "bench", "--smoke", "--only", "encode",
         "--json", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"== Encoding" in proc.stdout
    assert json.loads(path.read_text())["sections"]["encode"]["groups"]


def test_runs_twice_in_one_process(tmp_path):
    # Adapters keep event loops and sockets; a run closes only those it opened.
    first = run_json(tmp_path, "--only", "decode")
    second = run_json(tmp_path, "--only", "decode")
    names = lambda doc: sorted({r["name"] for r in all_rows(doc, "decode")})  # noqa: E731
    assert names(first) == names(second)


def test_forced_cpu_paths_do_not_leak_into_later_groups(tmp_path, monkeypatch):
    """The mask and utf8 sections force every CPU path in turn; each group ends back on
    the default paths, so the codec sections (which force none) measure the defaults."""
    import wsframe

    if wsframe.implementation != "c":
        pytest.skip("CPU paths exist only in the C implementation")
    defaults = wsframe.cpu_paths()
    seen = []
    real = bench._report.group_text

    def spy(gdoc):
        seen.append((gdoc["label"], wsframe.cpu_paths()))
        return real(gdoc)

    monkeypatch.setattr(bench._report, "group_text", spy)
    run_json(tmp_path, "--only", "mask,utf8,decode")
    assert seen
    for label, paths in seen:
        assert paths == defaults, label


# -- default run, durations, warnings, summary -------------------------------------------


def test_help_states_the_time_of_each_mode(capsys):
    assert bench.main(["--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--full" in out
    assert bench.DURATION["quick"] in out and bench.DURATION["full"] in out


def test_default_mode_is_quick_and_full_is_a_flag(monkeypatch):
    seen = []
    monkeypatch.setattr(bench, "run", lambda sections, mode, **kw: seen.append(mode))
    assert bench.main(["--only", "mask"]) == 0
    assert bench.main(["--full", "--only", "mask"]) == 0
    assert bench.main(["--quick", "--only", "mask"]) == 0
    assert seen == ["quick", "full", "quick"]
    assert bench.main(["--full", "--quick"]) == 2


def test_header_prints_the_expected_time(capsys, monkeypatch):
    assert bench.main(["--smoke", "--only", "encode"]) == 0
    out = capsys.readouterr().out
    assert bench.DURATION["quick"] in out and bench.DURATION["full"] in out
    monkeypatch.setattr(bench, "DEFAULT_SECTIONS", ("encode",))
    assert bench.main(["--smoke", "--only", "encode"]) == 0
    assert bench.DURATION["smoke"] in capsys.readouterr().out


def test_utf8_summary_is_also_against_bytes_decode(tmp_path):
    doc = run_json(tmp_path, "--only", "utf8")
    items = [it for it in doc["summary"] if it["section"] == "utf8"]
    assert items
    for it in items:
        if "baseline" not in it:  # no UTF-8 peer installed: bytes.decode is the peer
            assert it["peer"].startswith("bytes.decode") and it["speedup"] > 0
            continue
        assert it["baseline"]["name"].startswith("bytes.decode")
        assert it["baseline"]["speedup"] > 0
        assert it["peer"] != it["baseline"]["name"]
        assert "spread" in it and "noisy" in it


def test_integrations_are_in_the_summary(tmp_path):
    pytest.importorskip("wsframe.integrations")
    doc = run_json(tmp_path, "--only", "integrations")
    groups = doc["sections"]["integrations"]["groups"]
    complete = [g for g in groups if len(g["rows"]) == 2]
    items = [it for it in doc["summary"] if it["section"] == "integrations"]
    assert len(items) == len(complete)
    for it in items:
        assert it["peer"].endswith("as released") and it["speedup"] > 0


def test_load_warning_in_output_and_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench, "_loadavg", lambda: float(os.cpu_count() or 1))
    path = tmp_path / "w.json"
    assert bench.main(["--smoke", "--only", "encode", "--json", str(path)]) == 0
    assert "WARNING" in capsys.readouterr().out
    doc = json.loads(path.read_text())
    assert [w for w in doc["warnings"] if w["kind"] == "load"]


def test_no_load_warning_on_an_idle_machine(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "_loadavg", lambda: 0.0)
    doc = run_json(tmp_path, "--only", "encode")
    assert not [w for w in doc["warnings"] if w["kind"] == "load"]


def _doc_with_rows(spreads, load=0.1, cpus=4):
    rows = [{"name": "r%d" % i, "library": "wsframe" if i == 0 else "peer%d" % i,
             "kind": "wsframe" if i == 0 else "peer", "reference": i == 0,
             "time_per_op_s": 1.0 + i, "spread": sp} for i, sp in enumerate(spreads)]
    group = {"label": "g", "variant": "v", "size": 32, "rows": rows}
    return {"machine": {"cpus": cpus, "loadavg_start": load, "loadavg_end": load},
            "sections": {"encode": {"title": "t", "groups": [group], "skipped": []}}}


def test_spread_over_20_percent_is_a_warning_and_marks_the_row():
    doc = _doc_with_rows([0.05, 0.25, 0.10])
    warns = bench._report.warnings(doc)
    assert [(w["kind"], w["row"]) for w in warns] == [("spread", "r1")]
    rows = doc["sections"]["encode"]["groups"][0]["rows"]
    assert [r["noisy"] for r in rows] == [False, True, False]
    (item,) = bench._report.summary(doc)
    assert item["peer"] == "r1" and item["noisy"] is True
    assert item["speedup"] == pytest.approx(2.0)
    assert "!" in bench._report.summary_text([item])[1]


def test_load_at_cpu_count_is_a_warning():
    assert not bench._report.warnings(_doc_with_rows([0.0, 0.0], load=3.9, cpus=4))
    warns = bench._report.warnings(_doc_with_rows([0.0, 0.0], load=4.0, cpus=4))
    assert [w["kind"] for w in warns] == ["load"]


def test_plot_writes_a_summary_and_a_details_chart(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "chart.png"
    assert bench.main(["--smoke", "--only", "utf8,decode", "--plot", str(png)]) == 0
    details = tmp_path / "chart-details.png"
    for path in (png, details):
        with open(str(path), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert str(details) in capsys.readouterr().out


def test_plot_error_recommends_a_command_without_extras(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert bench.main(["--smoke", "--only", "mask", "--plot", str(tmp_path / "c.png")]) == 2
    err = capsys.readouterr().err
    assert "-m pip install matplotlib" in err
    assert "[bench]" not in err  # the extra may not resolve on every Python


def test_details_path():
    assert bench._report.details_path("docs/img/bench.png") == "docs/img/bench-details.png"
    assert bench._report.details_path("out") == "out-details.png"


# -- end to end --------------------------------------------------------------------------

from wsframe.bench import _e2e, _e2e_procs  # noqa: E402


def test_process_cpu_of_this_process_and_of_none():
    if not os.path.exists("/proc/self/stat"):
        pytest.skip("no /proc here")
    t = _e2e_procs.process_cpu(os.getpid())
    assert t is not None and t > 0
    assert _e2e_procs.process_cpu(None) is None


async def _echo_server(mangle):
    """A minimal wsframe echo server in this process; ``mangle`` alters each echo."""
    import asyncio

    import wsframe
    from wsframe import handshake

    async def serve(reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        method, _target, headers = handshake.parse_request(head)
        writer.write(handshake.build_response(handshake.check_request(method, headers)))
        dec = wsframe.FrameDecoder("server", max_message_size=1 << 20)
        enc = wsframe.FrameEncoder("server")
        while True:
            data = await reader.read(65536)
            if not data:
                break
            for ev in dec.feed(data):
                if ev.opcode == wsframe.Opcode.BINARY:
                    writer.write(enc.binary(mangle(ev.data)))
                elif ev.opcode == wsframe.Opcode.CLOSE:
                    writer.write(enc.close(1000))
                    writer.close()
                    return
        writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0)


def _run_load_client(mangle, connections=2, inflight=3):
    import asyncio

    async def go():
        server = await _echo_server(mangle)
        port = server.sockets[0].getsockname()[1]
        try:
            measure = _e2e_procs.CLIENTS["load"]("load")
            cmd = {"port": port, "size": 40, "connections": connections,
                   "inflight": inflight, "warmup": 0.01, "window": 0.05,
                   "server_pid": None}
            return await asyncio.wait_for(measure(cmd), 20)
        finally:
            server.close()

    return asyncio.run(go())


def test_load_client_counts_echoes():
    res = _run_load_client(lambda data: data)
    assert res["messages"] > 0 and res["wall_s"] > 0 and res["client_cpu_s"] >= 0
    assert res["server_cpu_s"] is None  # no server pid given


def test_load_client_rejects_a_wrong_echo():
    with pytest.raises(Exception, match="unexpected echo"):
        _run_load_client(lambda data: data[::-1])


def _one_server(monkeypatch, *names):
    monkeypatch.setattr(_e2e, "SERVERS", tuple(s for s in _e2e.SERVERS if s[0] in names)
                        + (("nonesuch", "nonesuch", "no_such_server_xyz", "peer"),))


def test_e2e_section_json(tmp_path, monkeypatch):
    """Two servers (an installed peer and wsframe's example or asyncio server) and one
    that does not exist: rows with rates and CPU, the missing one skipped."""
    peers = [s[0] for s in _e2e.SERVERS if s[3] == "peer" and _importable(s[2])][:1]
    ours = [s[0] for s in _e2e.SERVERS if s[3] == "wsframe"
            and (s[2] is None and _e2e.example_server_path() or s[2] and _importable(s[2]))]
    present = peers + ours
    if not present:
        pytest.skip("no echo server to run here")
    _one_server(monkeypatch, *present)
    doc = run_json(tmp_path, "--only", "e2e")
    sec = doc["sections"]["e2e"]
    assert sec["kind"] == "e2e" and sec["settings"]["rounds"] == 1
    assert [s for s in sec["skipped"] if s["library"] == "nonesuch"]
    (group,) = sec["groups"]
    assert group["params"] == {"connections": 1, "inflight": 4, "size": 32}
    assert len(group["rows"]) + len(group["skipped"]) == len(present)
    for r in group["rows"]:
        assert r["msgs_per_s"] > 0 and r["samples"] == 1
        assert r["client_cpu_per_msg_s"] > 0 and 0 <= r["client_busy"]
        assert r["noisy"] in (True, False)
        if os.path.exists("/proc/self/schedstat"):
            assert r["server_cpu_per_msg_s"] > 0
    refs = [r for r in group["rows"] if r["reference"]]
    assert len(refs) == (1 if ours and any(r["kind"] == "wsframe" for r in group["rows"])
                         else 0)
    assert all(r["kind"] == "wsframe" for r in refs)
    if refs and peers and any(r["kind"] == "peer" for r in group["rows"]):
        (item,) = [it for it in doc["summary"] if it["section"] == "e2e"]
        assert item["wsframe"] == refs[0]["name"] and item["speedup"] > 0


def _importable(module):
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def test_e2e_integrations_section_json(tmp_path, monkeypatch):
    pytest.importorskip("wsframe.integrations")
    pytest.importorskip("websockets")
    monkeypatch.setattr(_e2e, "INTEGRATION_LIBRARIES", ("websockets",))
    doc = run_json(tmp_path, "--only", "e2e-integrations")
    sec = doc["sections"]["e2e-integrations"]
    if not sec["groups"]:
        assert sec["skipped"]  # e.g. a websockets version install() refuses
        return
    (group,) = sec["groups"]
    assert group["params"]["installed_server"] or group["params"]["installed_client"]
    assert {r["mode"] for r in group["rows"]} == {"plain", "installed"}
    assert {"msgs_per_s", "server_cpu", "client_cpu"} <= set(group["ratio"])
    (item,) = [it for it in doc["summary"] if it["section"] == "e2e-integrations"]
    assert item["speedup"] == pytest.approx(group["ratio"]["msgs_per_s"])


def test_broadcast_section_skipped_without_its_module(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wsframe.bench._broadcast", None)
    doc = run_json(tmp_path, "--only", "broadcast")
    sec = doc["sections"]["broadcast"]
    assert sec["groups"] == [] and "not in this build" in sec["skipped"][0]["reason"]


def test_broadcast_runs_only_when_named(monkeypatch):
    seen = []
    monkeypatch.setattr(bench, "run", lambda sections, mode, **kw: seen.append(sections))
    assert bench.main([]) == 0 and bench.main(["--full"]) == 0
    assert bench.main(["--only", "broadcast"]) == 0
    assert "broadcast" not in seen[0] and "broadcast" not in seen[1]
    assert "e2e" in seen[0] and seen[2] == ["broadcast"]


def test_a_failing_broadcast_module_does_not_end_the_run(tmp_path, monkeypatch):
    import types

    fake = types.ModuleType("wsframe.bench._broadcast")

    def run_section(mode, emit, progress=None, rounds=None, seed=None):
        raise EOFError("load process exited\ndetails")

    fake.run_section = run_section
    monkeypatch.setitem(sys.modules, "wsframe.bench._broadcast", fake)
    doc = run_json(tmp_path, "--only", "broadcast,encode")
    (skip,) = doc["sections"]["broadcast"]["skipped"]
    assert skip["reason"] == "failed: EOFError: load process exited"
    assert doc["sections"]["encode"]["groups"]


def test_broadcast_section_calls_its_module(tmp_path, monkeypatch):
    import types

    fake = types.ModuleType("wsframe.bench._broadcast")
    calls = []

    def run_section(mode, emit, progress=None, rounds=None, seed=None):
        calls.append(mode)
        emit("  fan-out measured")
        return {"groups": [], "skipped": []}

    fake.run_section = run_section
    monkeypatch.setitem(sys.modules, "wsframe.bench._broadcast", fake)
    doc = run_json(tmp_path, "--only", "broadcast")
    assert calls == ["smoke"]
    assert doc["sections"]["broadcast"]["kind"] == "broadcast"


def test_markdown_of_e2e_sections():
    group = {"label": "1 connection, 64 in flight, 32 B", "variant": "v", "size": 32,
             "params": {}, "loadavg": [0.5, 0.7],
             "rows": [{"name": "picows", "msgs_per_s": 150000.0, "spread": 0.05,
                       "server_cpu_per_msg_s": 6e-6, "noisy": False}]}
    doc = {"sections": {"e2e": {"title": "E2E", "kind": "e2e", "groups": [group],
                                "skipped": [], "settings": {"rounds": 3}}}}
    text = bench._report.markdown(doc)
    assert "| | picows |" in text
    assert "| 1 connection, 64 in flight, 32 B | 6.00 us +-0%; 150.00 k/s +-5% |" in text
    assert "load average 0.50-0.70" in text


def test_merge_takes_the_median_of_runs(tmp_path, capsys):
    paths = []
    for i in range(3):
        path = tmp_path / ("run%d.json" % i)
        assert bench.main(["--smoke", "--quiet", "--only", "encode", "--json",
                           str(path)]) == 0
        paths.append(path)
    docs = [json.loads(p.read_text()) for p in paths]
    merged_path = tmp_path / "merged.json"
    assert bench.main(["--merge"] + [str(p) for p in paths]
                      + ["--json", str(merged_path)]) == 0
    assert "encode: 3" in capsys.readouterr().out
    merged = json.loads(merged_path.read_text())
    assert len(merged["runs"]) == 3
    g0 = merged["sections"]["encode"]["groups"][0]
    for row in g0["rows"]:
        times = sorted(next(r for r in d["sections"]["encode"]["groups"][0]["rows"]
                            if r["name"] == row["name"])["time_per_op_s"] for d in docs)
        assert row["time_per_op_s"] == pytest.approx(times[1])
        assert row["runs"] == 3
        assert row["spread"] >= row["spread_across"] - 1e-12
        assert row["spread_across"] == pytest.approx(
            (times[2] - times[0]) / 2 / times[1])
    ref = next(r for r in g0["rows"] if r["reference"])
    assert ref["ratio"] == pytest.approx(1.0)
    assert merged["summary"] and "warnings" in merged


def test_merge_runs_of_different_sections(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert bench.main(["--smoke", "--quiet", "--only", "encode", "--json", str(a)]) == 0
    assert bench.main(["--smoke", "--quiet", "--only", "utf8", "--json", str(b)]) == 0
    out = tmp_path / "m.json"
    assert bench.main(["--merge", str(a), str(b), "--quiet", "--json", str(out)]) == 0
    merged = json.loads(out.read_text())
    assert list(merged["sections"]) == ["encode", "utf8"]
    assert {it["section"] for it in merged["summary"]} == {"encode", "utf8"}


def test_merge_of_a_missing_file_is_a_usage_error(tmp_path, capsys):
    assert bench.main(["--merge", str(tmp_path / "nope.json")]) == 2
    assert "--merge" in capsys.readouterr().err
