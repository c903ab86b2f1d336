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
    "sections", "skipped", "started", "wall_time_s", "summary",
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
