"""``python -m wsframe bench``: wsframe side by side with the other Python WebSocket stacks.

Everything runs in one process and interleaved: each candidate is calibrated, then every
round times one sample of each candidate of a group in a fresh random order; the figure
reported is the median over rounds, and each row's ratio is its time divided by the
time of the wsframe row marked ``*`` (the default implementation at its default CPU
path), so 3.00x means three times as slow as wsframe. See docs/benchmarks.md.

Entry point: :func:`main`. The JSON document written by ``--json`` has the keys
documented in docs/benchmarks.md (schema ``wsframe-bench/1``).
"""

import argparse
import gc
import json
import os
import platform
import random
import sys
import time

from . import _e2e
from . import _peers
from . import _report
from ._sections import SECTION_TITLES as _CODEC_TITLES
from ._sections import SECTIONS as _CODEC_SECTIONS
from ._sections import build_sections
from ._timing import CLOCK, Timer

__all__ = ["main", "SECTIONS", "run"]

#: Every section, in the order they run: the codec sections (in process), then the
#: end-to-end ones (separate processes over loopback), then the broadcast fan-out.
SECTIONS = _CODEC_SECTIONS + _e2e.SECTIONS + ("broadcast",)
SECTION_TITLES = dict(_CODEC_TITLES, **_e2e.TITLES)
SECTION_TITLES["broadcast"] = "Broadcast: one message fanned out to many connections"
#: The sections run without --only: all but broadcast, a benchmark of its own (thousands
#: of connections, Redis, minutes) that runs only when named.
DEFAULT_SECTIONS = tuple(s for s in SECTIONS if s != "broadcast")

_MODES = {
    # sample_time (s), rounds
    "full": (0.025, 9),
    "quick": (0.003, 5),
    "smoke": (0.0, 1),
}

# Wall time of a whole run (every default section, every peer installed) on the 2-core
# machine of docs/benchmarks.md, measured with `time python -m wsframe bench [--full]`:
# 75 s by default and 765 s with --full (before the wsframe.asyncio row, about 50 s more)
# with the load average at 5-16 (other jobs sharing the 2 cores); less on an idle machine.
DURATION = {
    "quick": "about a minute",
    "full": "about 13 minutes",
    "smoke": "a few seconds",
}


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            import subprocess

            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"],
                                 capture_output=True, text=True, timeout=5)
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except Exception:
            pass
    return platform.processor() or platform.machine() or "unknown"


def _loadavg():
    """The 1-minute load average (None where the OS has none): a busy machine shows."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _wsframe_info(impls):
    info = {"version": None, "implementation": None, "cpu_paths": {}, "available_paths": {}}
    try:
        import wsframe

        info["version"] = getattr(wsframe, "__version__", None)
        info["implementation"] = getattr(wsframe, "implementation", None)
    except Exception:
        pass
    impl = impls.get("c")
    if impl is not None:
        try:
            info["cpu_paths"] = dict(impl.prims.cpu_paths())
        except Exception:
            pass
        for prim in ("mask", "utf8"):
            try:
                info["available_paths"][prim] = list(impl.prims.available_paths(prim))
            except Exception:
                pass
    return info


class _Progress(object):
    """A one-line progress display on stderr (only on a terminal, not with --quiet)."""

    def __init__(self, enabled, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.t0 = time.time()
        self.text = ""
        self.samples = 0
        self.total = 0

    def set(self, text, total):
        self.text = text
        self.samples = 0
        self.total = total
        self._draw()

    def tick(self):
        self.samples += 1
        if self.samples % 4 == 0 or self.samples == self.total:
            self._draw()

    def _draw(self):
        if not self.enabled:
            return
        line = "[%4.0fs] %s  %d/%d" % (time.time() - self.t0, self.text, self.samples,
                                       self.total)
        self.stream.write("\r\x1b[K" + line[:150])
        self.stream.flush()

    def clear(self):
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _parser():
    p = argparse.ArgumentParser(
        prog="python -m wsframe bench",
        description="Measure wsframe against the installed Python WebSocket libraries "
                    "(interleaved rounds, medians, spreads, ratios to wsframe). The "
                    "default run takes %s; --full takes %s (2 cores, every peer "
                    "installed; fewer peers, less time)." % (DURATION["quick"],
                                                             DURATION["full"]),
        epilog="Sections: %s. Peers not installed are listed as skipped. "
               "pip install 'wsframe[bench]' installs them at tested versions."
               % ", ".join(SECTIONS))
    p.add_argument("--full", action="store_true",
                   help="every size and the whole end-to-end grid, longer samples (%s)"
                   % DURATION["full"])
    p.add_argument("--quick", action="store_true",
                   help="the default: fewer sizes, shorter samples (%s)" % DURATION["quick"])
    p.add_argument("--only", metavar="SECTIONS",
                   help="comma-separated sections to run (default: all but broadcast, "
                        "which runs only when named: thousands of connections, minutes): "
                        "%s" % ",".join(SECTIONS))
    p.add_argument("--json", metavar="PATH", help="write the results as JSON to PATH")
    p.add_argument("--plot", metavar="PATH.png",
                   help="write the summary chart to PATH.png and the detailed panels to "
                        "PATH-details.png (needs matplotlib)")
    p.add_argument("--markdown", metavar="PATH", help="write the tables as Markdown to PATH")
    p.add_argument("--rounds", type=int, metavar="N",
                   help="samples per candidate (default: 5, 9 with --full; end-to-end "
                        "rounds: 3, 5 with --full)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed for the shuffling of rounds (default: random)")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="no progress display and no table on stdout")
    p.add_argument("--list", action="store_true",
                   help="list sections, candidates and skipped peers, then exit")
    p.add_argument("--merge", metavar="JSON", nargs="+",
                   help="measure nothing: merge the JSON files of several runs (each "
                        "figure the median over the runs, the spread the wider of the "
                        "runs' own and the run-to-run one) and print or write the result "
                        "with --json, --markdown, --plot")
    # For the command's own tests: tiny inputs, a single round, meaningless numbers.
    p.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    return p


def _select_sections(only):
    if not only:
        return list(DEFAULT_SECTIONS)
    names = [s.strip() for s in only.split(",") if s.strip()]
    unknown = [s for s in names if s not in SECTIONS]
    if unknown or not names:
        raise ValueError("unknown section(s) %s; choose from %s" % (
            ", ".join(repr(u) for u in unknown) or "(none given)", ", ".join(SECTIONS)))
    return [s for s in SECTIONS if s in names]


def main(argv=None):
    """Run the benchmark; returns the process exit status (0 ok, 2 usage error)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        sections = _select_sections(args.only)
    except ValueError as exc:
        parser.print_usage(sys.stderr)
        sys.stderr.write("error: --only: %s\n" % exc)
        return 2
    if args.rounds is not None and args.rounds < 1:
        sys.stderr.write("error: --rounds must be at least 1\n")
        return 2
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            # The command that works on every Python (the [bench] extra pins peers
            # that may have no release for this one).
            sys.stderr.write(
                "error: --plot needs matplotlib, which is not installed here: "
                "%s -m pip install matplotlib\n" % (os.path.basename(sys.executable)
                                                    or "python"))
            return 2
    if args.full and args.quick:
        sys.stderr.write("error: --full and --quick exclude each other\n")
        return 2
    mode = "smoke" if args.smoke else "full" if args.full else "quick"
    out = sys.stdout
    quiet = args.quiet
    if args.merge:
        try:
            docs = []
            for path in args.merge:
                with open(path) as f:
                    docs.append(json.load(f))
            doc = _report.merge(docs)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            sys.stderr.write("error: --merge: %s: %s\n" % (type(exc).__name__, exc))
            return 2
        if not quiet:
            out.write("%s\n" % doc["method"])
            for line in _report.summary_text(doc["summary"]):
                out.write(line + "\n")
            if doc["warnings"]:
                for line in _report.warnings_text(doc["warnings"]):
                    out.write(line + "\n")
        return _write_outputs(doc, args, out, quiet)
    progress = _Progress(enabled=(not quiet and not args.list
                                  and hasattr(sys.stderr, "isatty") and sys.stderr.isatty()))
    try:
        doc = run(sections, mode=mode, rounds=args.rounds, seed=args.seed,
                  out=None if quiet else out, progress=progress, list_only=args.list,
                  argv=argv if argv is not None else sys.argv[1:])
    finally:
        progress.clear()
    if doc is None:
        return 0
    return _write_outputs(doc, args, out, quiet)


def _write_outputs(doc, args, out, quiet):
    if args.json:
        _report.write_json(doc, args.json)
        if not quiet:
            out.write("JSON written to %s\n" % args.json)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(_report.markdown(doc))
        if not quiet:
            out.write("Markdown written to %s\n" % args.markdown)
    if args.plot:
        details = _report.details_path(args.plot)
        _report.plot(doc, args.plot, details)
        if not quiet:
            out.write("Charts written to %s (summary) and %s (details)\n" % (
                args.plot, details))
    return 0


def _header(doc):
    m = doc["machine"]
    w = doc["wsframe"]
    lines = []
    every = list(doc["sections_requested"]) == list(DEFAULT_SECTIONS)
    lines.append("wsframe bench (%s mode%s): %s" % (
        doc["mode"],
        (", %s%s" % (DURATION.get(doc["mode"], "?"),
                     "; --full for the whole grid: %s" % DURATION["full"]
                     if doc["mode"] == "quick" else "")) if every else
        "; the default run of every section: %s, --full: %s" % (DURATION["quick"],
                                                               DURATION["full"]),
        doc["method"]))
    lines.append("CPU: %s, %s logical CPUs, %s%s" % (
        m["cpu"], m["cpus"], m["platform"],
        ", load average %s" % m["loadavg_start"] if m.get("loadavg_start") is not None else ""))
    lines.append("Python: %s %s" % (m["python_implementation"], m["python"]))
    lines.append("wsframe %s, implementation %s (measured: %s)" % (
        w["version"] or "?", w["implementation"] or "?", ", ".join(w["measured"]) or "none"))
    if w["cpu_paths"]:
        lines.append("CPU paths: " + "; ".join(
            "%s: %s (available: %s)" % (p, w["cpu_paths"].get(p), ", ".join(
                w["available_paths"].get(p, [])))
            for p in sorted(w["cpu_paths"])))
    for name, reason in sorted(w["not_measured"].items()):
        lines.append("wsframe %s: not measured: %s" % (name, reason))
    libs = doc["libraries"]
    present = ", ".join("%s %s" % (k, v) for k, v in libs.items() if v)
    lines.append("Libraries: " + (present or "none of the peers is installed"))
    missing = [k for k, v in libs.items() if not v]
    if missing:
        lines.append("Not installed (skipped): " + ", ".join(missing))
    lines.append("Columns: time per op (or per frame) | throughput | ratio = time / time "
                 "of the wsframe row marked *")
    return lines


def run(sections, mode="quick", rounds=None, seed=None, out=None, progress=None,
        list_only=False, argv=()):
    """Measure ``sections``; returns the JSON-able result document (None with list_only).

    ``out``: a text stream for the table as it is measured (None for silence).
    """
    t_start = time.time()
    impls, missing = _peers.wsframe_implementations()
    winfo = _wsframe_info(impls)
    default_paths = dict(winfo["cpu_paths"])
    sample_time, default_rounds = _MODES[mode]
    timer = Timer(sample_time=sample_time, rounds=rounds or default_rounds, seed=seed)
    doc = {
        "schema": _report.SCHEMA,
        "command": ["python", "-m", "wsframe", "bench"] + list(argv or []),
        "mode": mode,
        "method": "%d shuffled rounds per group, median time per op (%s)" % (
            timer.rounds, CLOCK),
        "clock": CLOCK,
        "rounds": timer.rounds,
        "machine": {
            "cpu": _cpu_model(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "python_implementation": platform.python_implementation(),
            "loadavg_start": _loadavg(),
        },
        "wsframe": dict(winfo, measured=sorted(impls), not_measured=missing),
        "libraries": _peers.library_versions(),
        "sections_requested": list(sections),
        "sections": {},
        "skipped": [],
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }

    def emit(line=""):
        if out is not None:
            if progress is not None:
                progress.clear()
            out.write(line + "\n")
            out.flush()

    for line in _header(doc):
        emit(line)
    gc.collect()
    mark = _peers.resource_mark()
    try:
        built = build_sections([n for n in sections if n in _CODEC_SECTIONS], mode, impls)
        for name, groups, cands_by_variant, skipped, cleanup in built:
            t_sec = time.time()
            sec = {"title": SECTION_TITLES[name], "groups": [], "skipped": []}
            doc["sections"][name] = sec
            for lib, reason in skipped:
                entry = {"library": lib, "reason": reason}
                sec["skipped"].append(entry)
                doc["skipped"].append(dict(entry, section=name))
            emit("")
            emit("== %s ==" % SECTION_TITLES[name])
            absent = []
            for lib, reason in skipped:
                if reason.endswith("not installed"):
                    if lib not in absent:
                        absent.append(lib)
                else:
                    emit("   %s: skipped: %s" % (lib, reason))
            if absent:
                emit("   not installed: %s" % ", ".join(absent))
            if list_only:
                if name == "integrations":
                    emit("  candidates: each library as released, and with "
                         "wsframe.integrations installed")
                else:
                    for variant, cands in cands_by_variant.items():
                        emit("  candidates%s: %s" % (
                            " (%s)" % variant if variant else "",
                            ", ".join(c.name for c in cands)))
                emit("  inputs: %s" % "; ".join(g.label for g in groups))
                continue
            try:
                for gi, group in enumerate(groups):
                    cands = cands_by_variant.get(group.variant,
                                                 cands_by_variant.get(None, []))
                    gdoc = _measure_group(name, group, cands, timer, progress,
                                          default_paths, "%s %d/%d: %s" % (
                                              name, gi + 1, len(groups), group.label))
                    # A group that forced CPU paths leaves the last one in place: back to
                    # the defaults, or the next groups (the codec sections force none)
                    # would run on whichever path was sampled last.
                    for impl in impls.values():
                        impl.reset_paths()
                    sec["groups"].append(gdoc)
                    for line in _report.group_text(gdoc):
                        emit(line)
            finally:
                if cleanup is not None:
                    cleanup()
            sec["wall_time_s"] = round(time.time() - t_sec, 2)
    finally:
        for impl in impls.values():
            impl.reset_paths()
        _peers.close_resources(mark)
    for name in sections:
        if name in _CODEC_SECTIONS:
            continue
        emit("")
        emit("== %s ==" % SECTION_TITLES[name])
        if list_only:
            _list_process_section(name, emit)
            continue
        if name == "broadcast":
            sec = _broadcast_section(mode, emit, progress, rounds, seed)
        else:
            sec = _e2e.run_section(name, mode, emit, progress, rounds=rounds,
                                   rng=random.Random(seed))
        doc["sections"][name] = sec
        for entry in sec.get("skipped", []):
            doc["skipped"].append(dict(entry, section=name))
        if progress is not None:
            progress.clear()
    if list_only:
        return None
    doc["wall_time_s"] = round(time.time() - t_start, 2)
    doc["machine"]["loadavg_end"] = _loadavg()
    doc["summary"] = _report.summary(doc)
    doc["warnings"] = _report.warnings(doc)
    if doc["summary"]:
        emit("")
        for line in _report.summary_text(doc["summary"]):
            emit(line)
    if doc["warnings"]:
        emit("")
        for line in _report.warnings_text(doc["warnings"]):
            emit(line)
    emit("")
    emit("Done in %.1f s." % doc["wall_time_s"])
    return doc


def _list_process_section(name, emit):
    if name == "broadcast":
        emit("  %s" % ("wsframe.bench._broadcast" if _broadcast_module() is not None
                       else "not available: wsframe.bench._broadcast is not in this build"))
        return
    plan = _e2e.PLANS["quick"]
    if name == "e2e":
        emit("  servers: %s; one load client (wsframe codec, pipelined)" % ", ".join(
            s[0] for s in _e2e.SERVERS))
    else:
        emit("  libraries (own server and client, plain and installed): %s" % ", ".join(
            _e2e.INTEGRATION_LIBRARIES))
    emit("  inputs (default run): %s; --full: %d groups" % ("; ".join(
        "%s, %s" % (_e2e.variant_label(c, f), _e2e.size_label(s)) for s, c, f in plan[name]),
        len(_e2e.PLANS["full"][name])))


def _broadcast_module():
    """wsframe.bench._broadcast if this build has it (written on its own branch)."""
    # import_module, not ``from . import``: sys.modules decides (a test can block or
    # replace the module even after another test imported the real one).
    import importlib

    try:
        return importlib.import_module("wsframe.bench._broadcast")
    except ImportError:
        return None


def _broadcast_section(mode, emit, progress, rounds, seed):
    """The fan-out benchmark of ``_broadcast``: its ``run_section(mode, emit, ...)``
    returns the section's dict; without the module the section is reported skipped."""
    module = _broadcast_module()
    if module is None or not hasattr(module, "run_section"):
        reason = "wsframe.bench._broadcast is not in this build"
        emit("   skipped: %s" % reason)
        return {"title": SECTION_TITLES["broadcast"], "kind": "broadcast", "groups": [],
                "skipped": [{"library": "wsframe", "reason": reason}]}
    try:
        sec = module.run_section(mode, emit, progress=progress, rounds=rounds, seed=seed)
    except Exception as exc:  # a section of its own: its failure must not end the run
        reason = "failed: %s: %s" % (type(exc).__name__, str(exc).strip().splitlines()[0]
                                     if str(exc).strip() else "")
        emit("   skipped: %s" % reason)
        return {"title": SECTION_TITLES["broadcast"], "kind": "broadcast", "groups": [],
                "skipped": [{"library": "wsframe.bench._broadcast", "reason": reason}]}
    sec.setdefault("title", SECTION_TITLES["broadcast"])
    sec.setdefault("kind", "broadcast")
    sec.setdefault("groups", [])
    sec.setdefault("skipped", [])
    return sec


_PRIM_OF = {"mask": "mask", "utf8": "utf8"}


def _measure_group(section, group, cands, timer, progress, default_paths, label):
    prim = _PRIM_OF.get(section)
    ok, bad = group.prepare(cands)
    if progress is not None:
        progress.set(label, len(ok) * (timer.rounds + 1))
    results = timer.measure_group(
        [(i, func, args, cand.before) for i, (cand, func, args) in enumerate(ok)],
        on_sample=progress.tick if progress is not None else None,
        gc_enabled=group.gc_enabled)

    def is_default(cand):
        if cand.library != "wsframe":
            return False
        if cand.implementation != "c" or prim is None or cand.path is None:
            return True
        return default_paths.get(prim) == cand.path

    # The reference: wsframe "c" at its default path, else the "python" implementation.
    ref_index = None
    for want in ("c", "python"):
        for i, (cand, _, _) in enumerate(ok):
            if cand.implementation == want and is_default(cand):
                ref_index = i
                break
        if ref_index is not None:
            break
    ref_time = results[ref_index].median if ref_index is not None else None
    rows = []
    for i, (cand, _, _) in enumerate(ok):
        m = results[i]
        t = m.median
        per_item = t / group.items_per_op
        rows.append({
            "name": cand.name,
            "library": cand.library,
            "kind": cand.kind,
            "implementation": cand.implementation,
            "path": cand.path,
            "default_path": is_default(cand),
            "reference": i == ref_index,
            "time_per_op_s": t,
            "time_per_item_s": per_item,
            "items_per_s": (1.0 / per_item) if per_item > 0 else None,
            "bytes_per_s": (group.bytes_per_op / t) if t > 0 and group.bytes_per_op else None,
            "ratio": (t / ref_time) if ref_time else None,
            "spread": round(m.spread, 4),
            "loops": m.loops,
            "samples": len(m.times),
        })
    return {
        "variant": group.variant,
        "size": group.size,
        "label": group.label,
        "item": group.item_name,
        "params": group.params,
        "bytes_per_op": group.bytes_per_op,
        "items_per_op": group.items_per_op,
        "gc_enabled": group.gc_enabled,
        "reference": ok[ref_index][0].name if ref_index is not None else None,
        "rows": rows,
        "skipped": [{"name": c.name, "library": c.library, "reason": r} for c, r in bad],
    }
