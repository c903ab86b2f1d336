"""Check that every optional-dependency extra of pyproject.toml installs on the given
CPythons, from wheels, without installing anything: ``pip install --dry-run`` of the
extra's requirements (markers evaluated by each target's own pip) for each interpreter.

Usage: python scripts/resolve_extras.py PYTHON [PYTHON...] [--extra NAME ...]
Prints one line per (Python, extra) with what pip would install; exits 1 if any fails.
Wheels only (--only-binary :all:): an extra that would need a compiler on some version is
a failure, since `pip install '.[extra]'` must work for a new user there.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

try:
    import tomllib
except ImportError:  # Python < 3.11: pip's own copy of tomli
    from pip._vendor import tomli as tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def extras():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]["optional-dependencies"]


def resolve(python, requirements):
    """(ok, text): what pip would install, or its error."""
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        cmd = [python, "-m", "pip", "install", "--dry-run", "--ignore-installed",
               "--only-binary", ":all:", "--disable-pip-version-check", "-q",
               "--report", report] + requirements
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=600)
        if proc.returncode != 0:
            lines = [l for l in proc.stdout.splitlines() if l.startswith("ERROR")]
            return False, "; ".join(lines) or proc.stdout[-500:]
        with open(report) as f:
            items = json.load(f)["install"]
        return True, " ".join(
            "%s==%s" % (i["metadata"]["name"], i["metadata"]["version"]) for i in items
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pythons", nargs="+")
    parser.add_argument("--extra", action="append", help="only these extras")
    args = parser.parse_args()
    failed = 0
    for python in args.pythons:
        version = subprocess.check_output(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            universal_newlines=True).strip()
        for name, requirements in extras().items():
            if args.extra and name not in args.extra:
                continue
            ok, text = resolve(python, requirements)
            failed += not ok
            print("%s  %-4s [%s]  %s" % ("ok  " if ok else "FAIL", version, name, text))
            sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
