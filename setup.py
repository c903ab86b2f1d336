"""Declares the extension modules and the three build modes; metadata is in pyproject.toml.

WSFRAME_BUILD_EXTENSION:
  auto      (default) build the extension; if that fails, warn loudly and install the
            pure-Python implementation.
  required  a failed build fails the install. Always on under cibuildwheel
            (CIBUILDWHEEL=1): a wheel without its extension must never ship.
  skip      build nothing: a pure-Python install.
WSFRAME_DEBUG_BUILD=1 compiles with assertions on and without optimisation.

C files of csrc/ are compiled with flags chosen by their name suffix (mask_avx2.c gets
the AVX2 flags and nothing else does), so one binary runs on any CPU of its architecture
and the dispatch table picks the widest vectors at run time.
"""

import os
import platform
import sys
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.join("csrc")

# Per-ISA flags, by file-name suffix. MSVC needs no flag up to AVX (intrinsics are always
# available there); /arch:AVX2 and /arch:AVX512 let it use the wider encodings.
GCC_ISA_FLAGS = {
    "_sse2": ["-msse2"],
    "_ssse3": ["-mssse3"],
    "_sse41": ["-msse4.1"],
    "_avx2": ["-mavx2", "-mbmi", "-mbmi2", "-mpopcnt"],
    "_avx512": [
        "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512vbmi",
        "-mbmi", "-mbmi2", "-mpopcnt",
    ],
    "_avx512vbmi2": [
        "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512vbmi", "-mavx512vbmi2",
        "-mbmi", "-mbmi2", "-mpopcnt",
    ],
    "_neon": [],
}
MSVC_ISA_FLAGS = {
    "_avx2": ["/arch:AVX2"], "_avx512": ["/arch:AVX512"], "_avx512vbmi2": ["/arch:AVX512"],
}


def build_mode():
    if os.environ.get("CIBUILDWHEEL") == "1":
        return "required"
    mode = os.environ.get("WSFRAME_BUILD_EXTENSION", "auto").strip().lower()
    if mode not in ("auto", "required", "skip"):
        sys.exit("WSFRAME_BUILD_EXTENSION must be auto, required or skip, not %r" % mode)
    return mode


def csrc_sources():
    with open(os.path.join(HERE, CSRC, "sources.txt")) as f:
        names = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    return [os.path.join(CSRC, name) for name in names]


def isa_suffix(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    for suffix in GCC_ISA_FLAGS:
        if stem.endswith(suffix):
            return suffix
    return None


def is_x86():
    machine = platform.machine().lower()
    plat = os.environ.get("_PYTHON_HOST_PLATFORM", "") + sysconfig.get_platform()
    if "arm64" in plat or "aarch64" in plat:
        return False
    return machine in ("x86_64", "amd64", "i386", "i686", "x86")


class BuildExt(build_ext):
    """Compiles csrc/ with per-file ISA flags, then the Cython modules against it."""

    def build_extensions(self):
        msvc = self.compiler.compiler_type == "msvc"
        debug = os.environ.get("WSFRAME_DEBUG_BUILD") == "1"
        base = ["/O2"] if msvc else ["-O3", "-std=c99", "-fvisibility=hidden"]
        if debug:
            base = ["/Od"] if msvc else ["-O0", "-g", "-std=c99", "-UNDEBUG"]
        objects = []
        for path in csrc_sources():
            suffix = isa_suffix(path)
            flags = list(base)
            if suffix and (is_x86() or suffix == "_neon"):
                flags += (MSVC_ISA_FLAGS if msvc else GCC_ISA_FLAGS).get(suffix, [])
            objects += self.compiler.compile(
                [path],
                output_dir=self.build_temp,
                include_dirs=[CSRC],
                extra_postargs=flags,
                debug=debug,
            )
        for ext in self.extensions:
            if ext.name == "wsframe._primitives":
                ext.extra_objects = objects
                if sys.platform == "win32":  # BCryptGenRandom (MSVC also gets a #pragma)
                    ext.libraries = list(ext.libraries) + ["bcrypt"]
            ext.include_dirs = [CSRC] + list(ext.include_dirs)
            if not msvc:
                ext.extra_compile_args = ["-O0", "-g", "-UNDEBUG"] if debug else ["-O2"]
        super().build_extensions()


class OptionalBuildExt(BuildExt):
    """auto mode: a failed build leaves a working pure-Python install, loudly."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # compiler missing or broken: anything goes here
            self._warn(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._warn(exc)

    def _warn(self, exc):
        bar = "*" * 75
        sys.stderr.write(
            "\n%s\nWARNING: the wsframe C extension could not be built (%s: %s).\n"
            "wsframe is installed as pure Python: correct, but several times slower.\n"
            "Set WSFRAME_BUILD_EXTENSION=required to make this an error.\n%s\n\n"
            % (bar, type(exc).__name__, exc, bar)
        )


def extensions():
    from Cython.Build import cythonize

    directives = {
        "language_level": "3",
        "boundscheck": False,
        "wraparound": False,
        "cdivision": True,
        "freethreading_compatible": True,
        # help() and inspect.signature() on the compiled functions and methods (Cython 3's
        # default, said explicitly: the hot methods measured as fast as without it, see
        # tests/test_signatures.py). The compiled classes' own signatures are the first
        # lines of their docstrings, in Argument Clinic's form (__text_signature__).
        "binding": True,
    }
    modules = [
        Extension("wsframe._primitives", ["src/wsframe/_primitives.pyx"]),
        # The protocol source compiled as is: _codec_c.pxd gives it its static types.
        Extension("wsframe._codec_c", ["src/wsframe/_codec_py.py"]),
    ]
    _stale_codec_c()
    return cythonize(modules, compiler_directives=directives, include_path=["src"])


def _stale_codec_c():
    """Remove the generated _codec_py.c when a .pxd it depends on is newer.

    cythonize follows the imports of _codec_py.py, but not _codec_c.pxd (found through the
    extension's name) nor what that .pxd cimports (_primitives.pxd): an edit there alone
    would otherwise leave the compiled protocol built against the old declarations.
    """
    here = os.path.join("src", "wsframe")
    generated = os.path.join(here, "_codec_py.c")
    if not os.path.exists(generated):
        return
    built = os.path.getmtime(generated)
    for name in ("_codec_c.pxd", "_primitives.pxd"):
        path = os.path.join(here, name)
        if os.path.exists(path) and os.path.getmtime(path) > built:
            os.remove(generated)
            return


def main():
    mode = build_mode()
    options = {}
    if mode != "skip":
        try:
            options["ext_modules"] = extensions()
        except ImportError:
            if mode == "required":
                raise
            OptionalBuildExt._warn(None, RuntimeError("Cython is not installed"))
        options["cmdclass"] = {"build_ext": BuildExt if mode == "required" else OptionalBuildExt}
    setup(**options)


main()
