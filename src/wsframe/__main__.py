"""``python -m wsframe info`` | ``python -m wsframe bench [options]``."""

import platform
import sys

USAGE = """usage: python -m wsframe COMMAND

commands:
  info    the active implementation, the CPU path of each primitive, versions
  bench   the side-by-side benchmark against the other WebSocket libraries
          (python -m wsframe bench --help)
"""


def info():
    import wsframe

    lines = [
        "wsframe %s" % wsframe.__version__,
        "implementation: %s" % wsframe.implementation,
        "cpu paths: %s"
        % ", ".join("%s: %s" % item for item in sorted(wsframe.cpu_paths().items())),
    ]
    if wsframe.implementation == "c":
        lines.append(
            "available: %s"
            % "; ".join(
                "%s: %s" % (prim, " ".join(wsframe.available_paths(prim)))
                for prim in sorted(wsframe.cpu_paths())
            )
        )
    lines.append(
        "python: %s %s (%s)"
        % (platform.python_implementation(), platform.python_version(), sys.platform)
    )
    lines.append("machine: %s" % platform.machine())
    print("\n".join(lines))
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "info":
        return info()
    if command == "bench":
        from wsframe import bench

        return bench.main(rest)
    sys.stderr.write("unknown command %r\n\n%s" % (command, USAGE))
    return 2


if __name__ == "__main__":
    sys.exit(main())
