"""Output: the text table, the JSON document, the Markdown tables and the chart."""

import json

from ._sections import SECTION_TITLES, size_label

__all__ = [
    "SCHEMA",
    "fmt_time",
    "fmt_rate",
    "group_text",
    "write_json",
    "markdown",
    "plot",
    "details_path",
    "summary",
    "summary_text",
    "warnings",
    "warnings_text",
]

SCHEMA = "wsframe-bench/1"


def fmt_time(s):
    if s is None:
        return "-"
    if s < 1e-6:
        return "%.1f ns" % (s * 1e9)
    if s < 1e-3:
        return "%.2f us" % (s * 1e6)
    if s < 1:
        return "%.2f ms" % (s * 1e3)
    return "%.2f s" % s


def fmt_rate(v, unit):
    if v is None:
        return "-"
    for div, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            return "%.2f %s%s/s" % (v / div, prefix, unit)
    return "%.1f %s/s" % (v, unit)


def _ratio(r):
    if r is None:
        return "-"
    if r < 0.095:
        return "%.3fx" % r
    if r >= 99.5:
        return "%.0fx" % r
    return "%.2fx" % r


def group_text(group, verbose_spread=True):
    """Lines of the text table for one measured group (a dict as in the JSON)."""
    lines = ["  %s" % group["label"]]
    item = group["item"]
    width = max([46] + [len(r["name"]) for r in group["rows"]])
    for row in group["rows"]:
        per = row["time_per_item_s"]
        rate = fmt_rate(row["bytes_per_s"], "B") if row["bytes_per_s"] else "-"
        items = fmt_rate(row["items_per_s"], " %ss" % item) if item != "op" else ""
        mark = "*" if row["reference"] else " "
        spread = " +-%.0f%%" % (row["spread"] * 100) if verbose_spread else ""
        lines.append("   %s %-*s %10s/%-7s %12s %20s %8s%s" % (
            mark, width, row["name"], fmt_time(per), item, rate, items,
            _ratio(row["ratio"]), spread))
    for s in group["skipped"]:
        lines.append("     %-*s skipped: %s" % (width, s["name"], s["reason"]))
    return lines


NOISY_SPREAD = 0.20


def _combined(*spreads):
    """Spread of a ratio of two medians: the root of the sum of their squared spreads."""
    vals = [x for x in spreads if x is not None]
    return (sum(x * x for x in vals)) ** 0.5 if vals else None


def _noisy_row(row):
    if row.get("noisy"):
        return True
    return any(row.get(k) is not None and row[k] > NOISY_SPREAD
               for k in ("spread", "server_cpu_spread"))


def summary(doc):
    """One line per group: wsframe against the fastest peer, and against what the peers
    actually use where that is not a peer row (``bytes.decode`` for UTF-8).

    Returns ``[{"section", "variant", "size", "peer", "speedup", "spread", "noisy", ...}]``;
    ``speedup`` above 1 means wsframe is faster (time sections: the peer's time divided
    by wsframe's; end to end: wsframe's messages per second divided by the peer's, with
    ``cpu_ratio`` the peer's server CPU per message divided by wsframe's). The
    integrations sections compare each library with and without wsframe.integrations.
    ``baseline`` (UTF-8): ``{"name", "speedup", "spread"}`` against bytes.decode.
    """
    out = []
    for name, section in doc["sections"].items():
        if section.get("kind") == "e2e":
            out.extend(_e2e_summary(name, section))
            continue
        if section.get("kind") == "broadcast":
            continue
        for g in section["groups"]:
            if name == "integrations":
                plain = next((r for r in g["rows"] if r["library"] != "wsframe"), None)
                fast = next((r for r in g["rows"] if r["library"] == "wsframe"), None)
                if plain is None or fast is None:
                    continue
                out.append({"section": name, "variant": g["variant"], "size": g["size"],
                            "peer": "%s as released" % g["params"].get("library", "?"),
                            "speedup": plain["time_per_op_s"] / fast["time_per_op_s"],
                            "spread": _combined(plain["spread"], fast["spread"]),
                            "noisy": _noisy_row(plain) or _noisy_row(fast)})
                continue
            ref = next((r for r in g["rows"] if r["reference"]), None)
            peers = [r for r in g["rows"] if r["kind"] == "peer"]
            used = next((r for r in g["rows"] if r["kind"] == "reference"
                         and r["name"].startswith("bytes.decode")), None)
            if ref is None or not (peers or used):
                continue
            # With no peer library installed, UTF-8 is still compared with bytes.decode,
            # which is always there (and is what the peers use).
            best = min(peers, key=lambda r: r["time_per_op_s"]) if peers else used
            item = {"section": name, "variant": g["variant"], "size": g["size"],
                    "peer": best["name"],
                    "speedup": best["time_per_op_s"] / ref["time_per_op_s"],
                    "spread": _combined(best["spread"], ref["spread"]),
                    "noisy": _noisy_row(best) or _noisy_row(ref)}
            if used is not None and peers:
                item["baseline"] = {
                    "name": used["name"],
                    "speedup": used["time_per_op_s"] / ref["time_per_op_s"],
                    "spread": _combined(used["spread"], ref["spread"]),
                    "why": "what websockets, aiohttp, wsproto and picows use"}
                item["noisy"] = item["noisy"] or _noisy_row(used)
            out.append(item)
    return out


def _e2e_summary(name, section):
    out = []
    for g in section["groups"]:
        if name == "e2e-integrations":
            ratio = g.get("ratio") or {}
            if ratio.get("msgs_per_s") is None:
                continue
            cpu = None
            if ratio.get("server_cpu"):
                cpu = {"peer": "%s as released" % g["params"]["library"],
                       "speedup": 1.0 / ratio["server_cpu"],
                       "spread": ratio.get("server_cpu_spread")}
            out.append({"section": name, "variant": g["variant"], "size": g["size"],
                        "peer": "%s as released" % g["params"]["library"],
                        "speedup": ratio["msgs_per_s"],
                        "spread": ratio.get("msgs_per_s_spread"),
                        "cpu_ratio": cpu["speedup"] if cpu else None, "cpu": cpu,
                        "noisy": any(_noisy_row(r) for r in g["rows"]) or (
                            (ratio.get("msgs_per_s_spread") or 0) > NOISY_SPREAD)})
            continue
        ref = next((r for r in g["rows"] if r["reference"]), None)
        peers = [r for r in g["rows"] if r["kind"] == "peer"]
        if ref is None or not peers:
            continue
        best = max(peers, key=lambda r: r["msgs_per_s"])
        cpu_ratio = None
        if best.get("server_cpu_per_msg_s") and ref.get("server_cpu_per_msg_s"):
            cpu_ratio = best["server_cpu_per_msg_s"] / ref["server_cpu_per_msg_s"]
        # CPU per message: against the leanest peer (the most stable figure on a busy
        # machine: it does not depend on how the scheduler shares the CPUs).
        cpu = None
        lean = [r for r in peers if r.get("server_cpu_per_msg_s")]
        if lean and ref.get("server_cpu_per_msg_s"):
            leanest = min(lean, key=lambda r: r["server_cpu_per_msg_s"])
            cpu = {"peer": leanest["name"],
                   "speedup": leanest["server_cpu_per_msg_s"] / ref["server_cpu_per_msg_s"],
                   "spread": _combined(leanest.get("server_cpu_spread"),
                                       ref.get("server_cpu_spread"))}
        out.append({"section": name, "variant": g["variant"], "size": g["size"],
                    "peer": best["name"], "wsframe": ref["name"],
                    "speedup": ref["msgs_per_s"] / best["msgs_per_s"],
                    "spread": _combined(best["spread"], ref["spread"]),
                    "cpu_ratio": cpu_ratio, "cpu": cpu,
                    "noisy": _noisy_row(best) or _noisy_row(ref)})
    return out


def summary_text(items):
    lines = ["Summary: wsframe against the fastest peer of each group (its time / "
             "wsframe's, end to end wsframe's msgs/s / its; above 1: wsframe is faster; "
             "+-: spread; ! noisy)"]
    by = {}
    order = []
    for it in items:
        key = (it["section"], it["variant"])
        if key not in by:
            by[key] = []
            order.append(key)
        by[key].append(it)
    for key in order:
        cells = []
        for it in by[key]:
            cell = "%s %.2fx%s (%s)" % (
                size_label(it["size"]), it["speedup"],
                " +-%.0f%%" % (100 * it["spread"]) if it.get("spread") is not None else "",
                it["peer"].split(" (")[0])
            cpu = it.get("cpu")
            if cpu:
                cell += ", server CPU/msg %.2fx %s than %s" % (
                    cpu["speedup"] if cpu["speedup"] >= 1 else 1 / cpu["speedup"],
                    "less" if cpu["speedup"] >= 1 else "more", cpu["peer"])
            if it.get("baseline"):
                b = it["baseline"]
                cell += ", %.2fx vs %s" % (b["speedup"], b["name"])
            if it.get("noisy"):
                cell += " !"
            cells.append(cell)
        lines.append("  %s %s: %s" % (key[0], key[1], "; ".join(cells)))
    return lines


def warnings(doc):
    """What makes figures of this run unreliable: ``[{"kind", "message", ...}]``.

    ``load``: the load average reached the CPU count (other work competed for the CPUs);
    ``spread``: a row's spread exceeds +-20 % (its rounds disagree); ``client``: the
    end-to-end load client was busy over 90 % of a window (it may be the bottleneck).
    """
    out = []
    m = doc["machine"]
    cpus = m.get("cpus") or 0
    loads = [x for x in (m.get("loadavg_start"), m.get("loadavg_end")) if x is not None]
    for sec in doc["sections"].values():
        for g in sec.get("groups", []):
            loads.extend(x for x in g.get("loadavg", []) if x is not None)
    if cpus and loads and max(loads) >= cpus:
        out.append({"kind": "load", "load": max(loads), "cpus": cpus,
                    "message": "load average reached %.2f on %d CPUs: other work competed "
                               "for the CPUs, every figure of this run is suspect; re-run "
                               "on an idle machine" % (max(loads), cpus)})
    for name, sec in doc["sections"].items():
        for g in sec.get("groups", []):
            for r in g.get("rows", []):
                sp = [(k, r.get(k)) for k in ("spread", "server_cpu_spread")
                      if r.get(k) is not None and r[k] > NOISY_SPREAD]
                if sp:
                    r["noisy"] = True
                    out.append({"kind": "spread", "section": name, "group": g["label"],
                                "row": r["name"], "spread": max(v for _, v in sp),
                                "message": "%s / %s / %s: spread +-%.0f%% over the rounds "
                                           "(above +-%.0f%%): not a reliable figure" % (
                                               name, g["label"], r["name"],
                                               100 * max(v for _, v in sp),
                                               100 * NOISY_SPREAD)})
                else:
                    r["noisy"] = False
                if r.get("client_busy") is not None and r["client_busy"] > 0.9:
                    out.append({"kind": "client", "section": name, "group": g["label"],
                                "row": r["name"],
                                "message": "%s / %s / %s: the load client was busy %.0f%% "
                                           "of the window: it may be the bottleneck" % (
                                               name, g["label"], r["name"],
                                               100 * r["client_busy"])})
    return out


def warnings_text(items):
    lines = ["WARNING: %d reason%s to distrust figures of this run (rows marked ! in "
             "the summary and hatched in the charts):" % (len(items),
                                                           "" if len(items) == 1 else "s")]
    shown = 0
    for it in items:
        if it["kind"] == "spread" and shown >= 12:
            continue
        shown += it["kind"] == "spread"
        lines.append("  - " + it["message"])
    hidden = sum(1 for it in items if it["kind"] == "spread") - shown
    if hidden > 0:
        lines.append("  - ... and %d more noisy rows (see the JSON's \"warnings\")" % hidden)
    return lines


def write_json(doc, path):
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")


def _variants(section):
    seen = []
    for g in section["groups"]:
        if g["variant"] not in seen:
            seen.append(g["variant"])
    return seen


def markdown(doc):
    """Markdown tables, one per section variant: candidates as rows, sizes as columns,
    each cell "time per op (ratio to wsframe)"."""
    out = []
    for name, section in doc["sections"].items():
        out.append("### %s" % section["title"])
        out.append("")
        if section.get("kind") in ("e2e", "broadcast"):
            out.extend(_e2e_markdown(section))
            continue
        for variant in _variants(section):
            groups = [g for g in section["groups"] if g["variant"] == variant]
            item = groups[0]["item"]
            names = []
            for g in groups:
                for row in g["rows"]:
                    if row["name"] not in names:
                        names.append(row["name"])
            out.append("**%s** (time per %s, and in parentheses the ratio to the wsframe "
                       "row marked \\*: above 1 is slower than wsframe; +-: spread; !: "
                       "spread over +-%.0f%%)" % (variant, item, 100 * NOISY_SPREAD))
            out.append("")
            out.append("| implementation | " + " | ".join(size_label(g["size"]) for g in groups)
                       + " |")
            out.append("| --- |" + " ---: |" * len(groups))
            for n in names:
                cells = []
                star = ""
                for g in groups:
                    row = next((r for r in g["rows"] if r["name"] == n), None)
                    if row is None:
                        cells.append("-")
                        continue
                    if row["reference"]:
                        star = " \\*"
                    rate = ""
                    if row["bytes_per_s"] and item == "op":
                        rate = ", " + fmt_rate(row["bytes_per_s"], "B")
                    elif item != "op":
                        rate = ", " + fmt_rate(row["items_per_s"], " %ss" % item)
                    cells.append("%s%s (%s) +-%.0f%%%s" % (
                        fmt_time(row["time_per_item_s"]), rate, _ratio(row["ratio"]),
                        100 * (row.get("spread") or 0), " !" if _noisy_row(row) else ""))
                out.append("| %s%s | %s |" % (n, star, " | ".join(cells)))
            out.append("")
        if section["skipped"]:
            out.append("Not measured: " + "; ".join(
                "%s (%s)" % (s["library"], s["reason"]) for s in section["skipped"]) + ".")
            out.append("")
    return "\n".join(out)


def _e2e_markdown(section):
    """One row per group, one column per server (or plain / installed): each cell the
    server CPU per message (the steadier figure) and the messages per second, each with
    its spread; ``!`` when either spread is over the noisy threshold."""
    out = []
    groups = section["groups"]
    if groups:
        la = [x for g in groups for x in g.get("loadavg", []) if x is not None]
        out.append("Each cell: server CPU per message +- spread; messages per second +- "
                   "spread (medians over the rounds, and over the runs after --merge); "
                   "load average %s during the section; ! marks a spread over +-%.0f%%."
                   % ("%.2f-%.2f" % (min(la), max(la)) if la else "unknown",
                      100 * NOISY_SPREAD))
        out.append("")

        def key(r):
            return r.get("mode") or r["name"]

        cols = []
        for g in groups:
            for r in g["rows"]:
                if key(r) not in cols:
                    cols.append(key(r))
        names = {"plain": "as released", "installed": "with wsframe.integrations"}
        out.append("| | " + " | ".join(names.get(c, c) for c in cols) + " |")
        out.append("| --- |" + " ---: |" * len(cols))
        for g in groups:
            cells = []
            for c in cols:
                r = next((x for x in g["rows"] if key(x) == c), None)
                if r is None:
                    cells.append("-")
                    continue
                cpu = r.get("server_cpu_per_msg_s")
                cells.append("%s +-%.0f%%; %s +-%.0f%%%s" % (
                    "%.2f us" % (cpu * 1e6) if cpu else "-",
                    100 * (r.get("server_cpu_spread") or 0),
                    fmt_rate(r["msgs_per_s"], "").replace(" /s", "/s"),
                    100 * (r.get("spread") or 0), " !" if _noisy_row(r) else ""))
            out.append("| %s | %s |" % (g["label"], " | ".join(cells)))
        out.append("")
        ratios = [g for g in groups if g.get("ratio")]
        if ratios:
            out.append("Ratios installed / plain: msgs/s above 1 and CPU per message below 1 "
                       "mean the installed library is faster.")
            out.append("")
            out.append("| installed / plain | msgs/s | server CPU/msg | client CPU/msg |")
            out.append("| --- | ---: | ---: | ---: |")
            for g in ratios:
                r = g["ratio"]

                def cell(v, sp):
                    return "-" if v is None else "x%.2f +-%.0f%%" % (v, 100 * (sp or 0))

                out.append("| %s | %s | %s | %s |" % (
                    g["label"], cell(r.get("msgs_per_s"), r.get("msgs_per_s_spread")),
                    cell(r.get("server_cpu"), r.get("server_cpu_spread")),
                    cell(r.get("client_cpu"), r.get("client_cpu_spread"))))
            out.append("")
    if section.get("skipped"):
        out.append("Not measured: " + "; ".join(
            "%s (%s)" % (s["library"], s["reason"]) for s in section["skipped"]) + ".")
        out.append("")
    return out


_LIB_COLORS = {
    "wsframe": "#1f4e9c",
    "websockets": "#ff7f0e",
    "wsproto": "#2ca02c",
    "aiohttp": "#d62728",
    "tornado": "#9467bd",
    "wsaccel": "#8c564b",
    "autobahn": "#e377c2",
    "picows": "#bcbd22",
    "websocket_client": "#17becf",
    "reference": "#7f7f7f",
    "as released": "#b8b8b8",
}
_SHORT = {"websocket_client": "ws-client"}


def _style(row, seen):
    """(color, hatch) of a bar: one color per library, light blue for wsframe's Python
    implementation, hatched for a library's second row in the same panel."""
    lib = row["library"]
    if lib == "wsframe" and row["implementation"] == "python":
        color = "#8fb3e8"
    else:
        color = _LIB_COLORS.get(lib, "#aaaaaa")
    key = (lib, row["implementation"])
    hatch = "//" if seen.get(key, 0) > 0 else None
    seen[key] = seen.get(key, 0) + 1
    return color, hatch


def _panels(doc):
    """Detailed panels: (title, variant, ticks, rows per tick {name: row}, unit)."""
    panels = []
    for name, section in doc["sections"].items():
        if section.get("kind") == "e2e":
            if not section["groups"]:
                continue
            groups = section["groups"]
            if name == "e2e-integrations":
                ticks = ["%s\n%s\nx%s" % (g["params"].get("library", "?"),
                                           size_label(g["size"]),
                                           g["params"].get("inflight", "?"))
                         for g in groups]
                rows = []
                for g in groups:
                    cells = {}
                    for r in g["rows"]:
                        label = ("with wsframe.integrations" if r.get("mode") == "installed"
                                 else "as released")
                        cells[label] = dict(r, name=label, library=(
                            "wsframe" if r.get("mode") == "installed" else "as released"),
                            implementation="c")
                    rows.append(cells)
            else:
                ticks = ["%s\n%s\nx%s" % (size_label(g["size"]), _short(
                    "%d connection%s" % (g["params"]["connections"],
                                         "" if g["params"]["connections"] == 1 else "s")),
                    g["params"]["inflight"]) for g in groups]
                rows = [{r["name"]: dict(r, implementation="c") for r in g["rows"]}
                        for g in groups]
            panels.append((section["title"], "messages per second by %s" % (
                "library, size and messages in flight (1 connection)"
                if name == "e2e-integrations" else
                "size, connections and messages in flight per connection"),
                ticks, rows, "e2e"))
            continue
        if section.get("kind") == "broadcast":
            continue
        if name == "integrations":
            # One panel per path (receive, send): x = library and size, two bars each.
            by_path = {}
            for g in section["groups"]:
                path = g["params"].get("path", g["variant"])
                by_path.setdefault(path, []).append(g)
            for path, groups in by_path.items():
                ticks = []
                for g in groups:
                    lib = g["params"].get("library", g["variant"])
                    ticks.append("%s\n%s" % (_SHORT.get(lib, lib), size_label(g["size"])))
                rows = []
                for g in groups:
                    cells = {}
                    for r in g["rows"]:
                        if r["library"] == "wsframe":
                            label = "with wsframe.integrations"
                            cells[label] = dict(r, name=label)
                        else:
                            label = "as released"
                            cells[label] = dict(r, name=label, library=label)
                    rows.append(cells)
                panels.append((section["title"], path, ticks, rows, "message"))
            continue
        for variant in _variants(section):
            groups = [g for g in section["groups"] if g["variant"] == variant]
            ticks = [size_label(g["size"]) for g in groups]
            rows = [{r["name"]: r for r in g["rows"] if _plotted(r)} for g in groups]
            item = groups[0]["item"]
            unit = "byte" if (item == "op" and name in ("mask", "utf8")) else (
                "message" if item == "op" else item)
            panels.append((section["title"], variant, ticks, rows, unit))
    return panels


def details_path(path):
    """The detailed chart's file next to the summary chart: x.png -> x-details.png."""
    root, ext = path.rsplit(".", 1) if "." in path.rsplit("/", 1)[-1] else (path, "png")
    return "%s-details.%s" % (root, ext)


def _value(row, unit):
    if unit == "e2e":
        return row.get("msgs_per_s")
    return row["bytes_per_s"] if unit == "byte" else row["items_per_s"]


def _short(variant):
    return variant.replace(" connections", " conns").replace(" connection", " conn")


def _summary_entries(doc):
    """(row label, size, speedup, spread, noisy, peer) for the summary chart, in summary
    order: one row per operation and comparison, the sizes as markers on the row."""
    out = []
    for it in doc.get("summary") or summary(doc):
        peer = it["peer"].split(" (")[0]
        sec, var = it["section"], _short(it["variant"])
        if sec == "integrations":
            label = "integrations: %s (installed)" % var
        elif sec == "e2e-integrations":
            lib, _, rest = var.partition(", ")
            label = "e2e %s installed: msgs/s (%s)" % (lib, rest)
        elif "wsframe" in it:
            label = "e2e %s: msgs/s (%s)" % (it["wsframe"].split("/")[-1], var)
        else:
            label = "%s %s" % (sec, var)
        out.append((label, it["size"], it["speedup"], it.get("spread"), it.get("noisy"),
                    peer))
        b = it.get("baseline")
        if b:
            out.append(("%s %s vs %s" % (sec, var, b["name"]), it["size"], b["speedup"],
                        b.get("spread"), it.get("noisy"), b["name"]))
        cpu = it.get("cpu")
        if cpu:
            out.append((label.replace("msgs/s", "server CPU/msg"), it["size"],
                        cpu["speedup"], cpu.get("spread"),
                        (cpu.get("spread") or 0) > NOISY_SPREAD, cpu["peer"]))
    return out


_SIZE_MARKERS = ((128, "o", "up to 128 B"), (16 * 1024, "s", "1-16 KiB"),
                 (256 * 1024, "^", "64-256 KiB"), (None, "D", "1 MiB and more"))


def _marker(size):
    for limit, marker, _label in _SIZE_MARKERS:
        if limit is None or size <= limit:
            return marker
    return "D"


def plot(doc, path, details=None):
    """Two PNGs. ``path``: the summary, one panel: wsframe's speed-up over the fastest
    peer for each operation (and over bytes.decode for UTF-8; installed over plain for
    the integrations), log scale, error bars from the spreads, noisy rows hatched and
    marked "!". ``details`` (default ``details_path(path)``): a bar chart per section
    variant, throughput on a log scale with error bars, noisy bars hatched. Raises
    ImportError without matplotlib.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    details = details or details_path(path)
    m = doc["machine"]
    warned = any(w["kind"] == "load" for w in doc.get("warnings") or [])
    load = "load %s-%s on %s CPUs%s" % (m.get("loadavg_start"), m.get("loadavg_end"),
                                        m.get("cpus"), " (TOO BUSY: suspect)" if warned
                                        else "")
    subtitle = "wsframe bench (%s mode) on %s, Python %s, %s" % (
        doc["mode"], m["cpu"], m["python"], load)
    entries = _summary_entries(doc)
    if entries:
        _plot_summary(plt, entries, subtitle, path)
    panels = _panels(doc)
    if not panels and not entries:
        raise ValueError("nothing to plot")
    if panels:
        _plot_details(plt, panels, subtitle, details)


def _plot_summary(plt, entries, subtitle, path):
    from matplotlib.lines import Line2D

    labels = []
    for e in entries:
        if e[0] not in labels:
            labels.append(e[0])
    n = len(labels)
    fig, ax = plt.subplots(figsize=(11, 1.8 + 0.3 * n), constrained_layout=True)
    ypos = {label: n - 1 - i for i, label in enumerate(labels)}
    vals = [e[2] for e in entries]
    for label, size, v, sp, noisy, _peer in entries:
        sp = sp or 0
        # Green: faster beyond the spread; red: slower beyond it; grey: even within it.
        color = "#2a7a2a" if v * (1 - sp) > 1 else "#c0392b" if v * (1 + sp) < 1 \
            else "#7f7f7f"
        ax.errorbar([v], [ypos[label]], xerr=[[v * sp], [v * sp]], fmt=_marker(size),
                    color=color, markerfacecolor="white" if noisy else color,
                    markersize=7, capsize=2, elinewidth=0.8)
    for i in range(n):
        if i % 2 == 0:
            ax.axhspan(i - 0.5, i + 0.5, color="#f2f2f2", zorder=0)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(range(n))
    ax.set_yticklabels(labels[::-1], fontsize=8)
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlim(min(vals + [1.0]) / 1.6, max(vals + [1.0]) * 1.6)
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: "%gx" % x))
    ax.set_xlabel("speed-up of wsframe, log scale (right of 1: wsframe faster)\ncodec: the "
                  "peer's time / wsframe's; end to end: msgs/s ratio; integrations: "
                  "installed / as released\nbars: spread; grey: even within it; hollow: "
                  "spread over +-%.0f%% (not reliable)" % (100 * NOISY_SPREAD), fontsize=8)
    ax.grid(axis="x", which="both", alpha=0.3)
    handles = [Line2D([], [], marker=m, linestyle="", color="#444444", label=lab)
               for _lim, m, lab in _SIZE_MARKERS
               if any(_marker(e[1]) == m for e in entries)]
    ax.legend(handles=handles, title="message / buffer size", fontsize=7, title_fontsize=7,
              loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title("wsframe against the fastest peer (UTF-8: also bytes.decode; end to end: "
                 "server CPU/msg against the leanest peer)\n" + subtitle.replace(
                     ", Python", ",\nPython"), fontsize=9)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _plot_details(plt, panels, subtitle, path):
    fig, axes = plt.subplots(len(panels), 1, figsize=(13, 3.4 * len(panels)), squeeze=False,
                             constrained_layout=True)
    for ax, (title, variant, ticks, rows, unit) in zip(axes[:, 0], panels):
        names = []
        for cells in rows:
            for n in cells:
                if n not in names:
                    names.append(n)
        width = 0.8 / max(len(names), 1)
        lo = hi = None
        seen = {}
        for i, n in enumerate(names):
            xs = []
            ys = []
            errs = []
            noisy = []
            sample = None
            for j, cells in enumerate(rows):
                row = cells.get(n)
                if row is None:
                    continue
                sample = row
                v = _value(row, unit)
                if not v:
                    continue
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(v)
                # The spread is of the time (or rate): the same fraction of the rate.
                errs.append(v * (row.get("spread") or 0))
                noisy.append(_noisy_row(row))
                lo = v if lo is None else min(lo, v)
                hi = v if hi is None else max(hi, v)
            if sample is None:
                continue
            color, hatch = _style(sample, seen)
            bars = ax.bar(xs, ys, width=width * 0.95, label=n, color=color, hatch=hatch,
                          yerr=errs, error_kw={"ecolor": "black", "capsize": 1.5,
                                               "linewidth": 0.7},
                          edgecolor="black" if sample["library"] == "wsframe" else "white",
                          linewidth=0.6)
            for bar, x, y, bad in zip(bars, xs, ys, noisy):
                if bad:
                    bar.set_hatch("xx")
                    ax.text(x, y * 1.15, "!", ha="center", fontsize=8, color="#c0392b")
        ax.set_yscale("log")
        if lo is not None:
            ax.set_ylim(lo / 3.0, hi * 2.5)
        ax.set_xlim(-0.5, len(rows) - 0.5)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(ticks, fontsize=8 if len(ticks) <= 10 else 6.5)
        ax.set_ylabel("%s (higher is better)" % (
            "messages/s" if unit == "e2e" else "%ss/s" % unit), fontsize=8)
        ax.set_title("%s: %s" % (title, variant), fontsize=10)
        ax.grid(axis="y", which="major", alpha=0.3)
        # Legend entries drawn plain: a noisy first bar must not hatch its library's key.
        from matplotlib.patches import Patch

        handles = []
        seen_keys = {}
        for n in names:
            sample = next((cells[n] for cells in rows if n in cells), None)
            if sample is None:
                continue
            color, hatch = _style(sample, seen_keys)
            handles.append(Patch(facecolor=color, hatch=hatch, label=n,
                                 edgecolor="black" if sample["library"] == "wsframe"
                                 else "white", linewidth=0.6))
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="xx",
                             label="! spread over +-%.0f%%" % (100 * NOISY_SPREAD)))
        ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  frameon=False)
    fig.suptitle(subtitle + "\nerror bars: spread; hatched !: spread over +-%.0f%%"
                 % (100 * NOISY_SPREAD), fontsize=10)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _plotted(row):
    # wsframe: each implementation at its default path only; everything else.
    return row["library"] != "wsframe" or row.get("default_path", True)


# -- several runs as one ------------------------------------------------------------------


def _med(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2.0


def _across(values):
    """Run-to-run spread: half the range relative to the median."""
    values = [v for v in values if v is not None]
    med = _med(values)
    if not values or not med:
        return None
    return (max(values) - min(values)) / 2.0 / med


def _wider(within, across):
    vals = [v for v in (within, across) if v is not None]
    return max(vals) if vals else None


_E2E_FIELDS = ("msgs_per_s", "server_cpu_per_msg_s", "client_cpu_per_msg_s", "client_busy",
               "server_busy")


def merge(docs):
    """Several runs' documents as one: each figure the median over the runs, its spread
    the wider of the runs' own spread (median over runs) and the run-to-run spread (half
    the range over the median); ``runs`` lists each run's start, load and duration.
    Summary and warnings are recomputed. Rows or groups missing from a run are merged
    over the runs that have them (``runs`` in the row says how many)."""
    import copy

    if not docs:
        raise ValueError("no run to merge")
    out = copy.deepcopy(docs[0])
    # Runs of different sections (e.g. the codec ones, then the end-to-end ones) merge
    # into one document: every section once, in order of first appearance.
    for d in docs[1:]:
        for name, sec in d["sections"].items():
            if name not in out["sections"]:
                out["sections"][name] = copy.deepcopy(sec)
        for entry in d.get("skipped", []):
            if entry not in out["skipped"]:
                out["skipped"].append(entry)
    n = len(docs)
    out["runs"] = [{"started": d.get("started"), "mode": d.get("mode"),
                    "loadavg_start": d["machine"].get("loadavg_start"),
                    "loadavg_end": d["machine"].get("loadavg_end"),
                    "wall_time_s": d.get("wall_time_s")} for d in docs]
    out["method"] = "median of the runs of each section (%s)" % "; ".join(
        "%s: %d" % (name, sum(1 for d in docs if name in d["sections"]))
        for name in out["sections"]) + ", each: " + docs[0].get("method", "?")
    loads = [r[k] for r in out["runs"] for k in ("loadavg_start", "loadavg_end")
             if r[k] is not None]
    out["machine"]["loadavg_start"] = min(loads) if loads else None
    out["machine"]["loadavg_end"] = max(loads) if loads else None
    for name, sec in out["sections"].items():
        others = [d["sections"][name] for d in docs if name in d["sections"]]
        for g in sec.get("groups", []):
            same = [next((x for x in (o or {}).get("groups", []) if x["label"] == g["label"]),
                         None) for o in others]
            same = [x for x in same if x is not None]
            la = [v for x in same for v in x.get("loadavg", []) if v is not None]
            if la:
                g["loadavg"] = [min(la), max(la)]
            for r in g["rows"]:
                rows = [next((y for y in x["rows"] if y["name"] == r["name"]), None)
                        for x in same]
                rows = [y for y in rows if y is not None]
                r["runs"] = len(rows)
                if sec.get("kind") == "e2e":
                    for f in _E2E_FIELDS:
                        r[f] = _med([y.get(f) for y in rows])
                    for f, sp in (("msgs_per_s", "spread"),
                                  ("server_cpu_per_msg_s", "server_cpu_spread"),
                                  ("client_cpu_per_msg_s", "client_cpu_spread")):
                        r[sp + "_within"] = _med([y.get(sp) for y in rows])
                        r[sp + "_across"] = _across([y.get(f) for y in rows])
                        r[sp] = _wider(r[sp + "_within"], r[sp + "_across"])
                    r["noisy"] = _noisy_row(dict(r, noisy=False))
                else:
                    t = _med([y["time_per_op_s"] for y in rows])
                    r["time_per_op_s"] = t
                    r["time_per_item_s"] = t / g["items_per_op"]
                    r["items_per_s"] = 1.0 / r["time_per_item_s"] if t else None
                    r["bytes_per_s"] = (g["bytes_per_op"] / t) if t and g.get(
                        "bytes_per_op") else None
                    r["spread_within"] = _med([y["spread"] for y in rows])
                    r["spread_across"] = _across([y["time_per_op_s"] for y in rows])
                    r["spread"] = _wider(r["spread_within"], r["spread_across"])
            ref = next((r for r in g["rows"] if r.get("reference")), None)
            for r in g["rows"]:
                if ref is None:
                    continue
                if sec.get("kind") == "e2e":
                    r["ratio"] = r["msgs_per_s"] / ref["msgs_per_s"]
                else:
                    r["ratio"] = r["time_per_op_s"] / ref["time_per_op_s"]
            if g.get("ratio"):
                ratios = [x.get("ratio") or {} for x in same]
                for f in ("msgs_per_s", "server_cpu", "client_cpu"):
                    vals = [x.get(f) for x in ratios]
                    within = _med([x.get(f + "_spread") for x in ratios])
                    g["ratio"][f] = _med(vals)
                    g["ratio"][f + "_spread"] = _wider(within, _across(vals))
    out["summary"] = summary(out)
    out["warnings"] = warnings(out)
    return out
