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


def summary(doc):
    """Per group: the fastest peer and how many times its time wsframe's is.

    Returns ``[{"section", "variant", "size", "peer", "speedup"}]``; ``speedup`` is the
    fastest peer's time divided by the reference wsframe row's (above 1: wsframe faster).
    References (copy, bytes.decode) and the integrations section are left out.
    """
    out = []
    for name, section in doc["sections"].items():
        if name == "integrations":
            continue
        for g in section["groups"]:
            ref = next((r for r in g["rows"] if r["reference"]), None)
            peers = [r for r in g["rows"] if r["kind"] == "peer"]
            if ref is None or not peers:
                continue
            best = min(peers, key=lambda r: r["time_per_op_s"])
            out.append({"section": name, "variant": g["variant"], "size": g["size"],
                        "peer": best["name"],
                        "speedup": best["time_per_op_s"] / ref["time_per_op_s"]})
    return out


def summary_text(items):
    lines = ["Summary: wsframe against the fastest peer of each group "
             "(its time / wsframe's; above 1: wsframe is faster)"]
    by = {}
    order = []
    for it in items:
        key = (it["section"], it["variant"])
        if key not in by:
            by[key] = []
            order.append(key)
        by[key].append(it)
    for key in order:
        cells = ["%s %.2fx (%s)" % (size_label(it["size"]), it["speedup"],
                                    it["peer"].split(" (")[0]) for it in by[key]]
        lines.append("  %-8s %-16s %s" % (key[0], key[1], "; ".join(cells)))
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
        for variant in _variants(section):
            groups = [g for g in section["groups"] if g["variant"] == variant]
            item = groups[0]["item"]
            names = []
            for g in groups:
                for row in g["rows"]:
                    if row["name"] not in names:
                        names.append(row["name"])
            out.append("**%s** (time per %s, and in parentheses the ratio to the wsframe "
                       "row marked \\*: above 1 is slower than wsframe)" % (variant, item))
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
                    cells.append("%s%s (%s)" % (fmt_time(row["time_per_item_s"]), rate,
                                                _ratio(row["ratio"])))
                out.append("| %s%s | %s |" % (n, star, " | ".join(cells)))
            out.append("")
        if section["skipped"]:
            out.append("Not measured: " + "; ".join(
                "%s (%s)" % (s["library"], s["reason"]) for s in section["skipped"]) + ".")
            out.append("")
    return "\n".join(out)


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
    panels = []
    for name, section in doc["sections"].items():
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


def plot(doc, path):
    """One PNG: a bar chart per section variant, bars per size, log scale throughput.

    Shows each wsframe implementation at its default CPU path (the other paths are in
    the tables), every peer and the references; the integrations section as one panel
    per path with the library as released and accelerated side by side. Raises
    ImportError without matplotlib.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = _panels(doc)
    if not panels:
        raise ValueError("nothing to plot")
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
            sample = None
            for j, cells in enumerate(rows):
                row = cells.get(n)
                if row is None:
                    continue
                sample = row
                v = row["bytes_per_s"] if unit == "byte" else row["items_per_s"]
                if not v:
                    continue
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(v)
                lo = v if lo is None else min(lo, v)
                hi = v if hi is None else max(hi, v)
            if sample is None:
                continue
            color, hatch = _style(sample, seen)
            ax.bar(xs, ys, width=width * 0.95, label=n, color=color, hatch=hatch,
                   edgecolor="black" if sample["library"] == "wsframe" else "white",
                   linewidth=0.6)
        ax.set_yscale("log")
        if lo is not None:
            ax.set_ylim(lo / 3.0, hi * 2.0)
        ax.set_xlim(-0.5, len(rows) - 0.5)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(ticks, fontsize=8 if len(ticks) <= 10 else 6.5)
        ax.set_ylabel("%ss/s (higher is better)" % unit, fontsize=8)
        ax.set_title("%s: %s" % (title, variant), fontsize=10)
        ax.grid(axis="y", which="major", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    m = doc["machine"]
    fig.suptitle("wsframe bench (%s mode) on %s, Python %s" % (
        doc["mode"], m["cpu"], m["python"]), fontsize=11)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _plotted(row):
    # wsframe: each implementation at its default path only; everything else.
    return row["library"] != "wsframe" or row["default_path"]
