#!/usr/bin/env python3
"""Check that no code outside the per-ISA files uses instructions beyond the baseline.

wsframe's wheels must run on any CPU of their architecture: only the files
csrc/arch/<arch>/*_<isa>.c are compiled with ISA flags (-mavx2, ...), and the dispatch
table calls them only on CPUs that have the ISA. Anything else (the portable C files, the
dispatcher, the Cython modules) must stay within the baseline:

  x86-64   SSE2. No VEX/EVEX encoding (AVX, AVX2, AVX-512, FMA, F16C, BMI1/2), no
           SSE3/SSSE3/SSE4.1/SSE4.2, POPCNT, LZCNT, MOVBE, CMPXCHG16B, AES, SHA...
  aarch64  ARMv8.0-A with AdvSIMD (NEON). No SVE/SVE2, no LSE atomics outside libgcc's
           outline-atomics helpers (__aarch64_*: they test the CPU first), no CRC32,
           dot product, crypto, FP16, BF16 or matrix instructions.

How code is attributed to an ISA:
  * an object file (.o/.obj) named <stem>_<isa>.o, as setup.py compiles
    csrc/arch/x86/mask_avx2.c to .../mask_avx2.o, may use its ISA (all its functions);
  * in a linked extension (.so, or the .so inside a .whl), a function whose name ends in
    _<isa> (wsf__mask_avx2) or contains _<isa>_ may use that ISA; a function without an
    ISA in its name that is only ever called (or tail-called) from such functions -- a
    static helper of a per-ISA file, "run.constprop.0" -- may use what all its callers
    may. With --objects-dir, a name defined in exactly one kind of per-ISA object (and in
    no baseline object) is also allowed that ISA.
  * everything else is checked against the baseline.

Usage:
  check_isa.py [--objects-dir DIR] [-v] PATH...     PATH: .whl, .so, .o, .pyd, or a directory
Exit status 0 if clean, 1 if a violation is found, 2 on usage errors (objdump missing, an
architecture this script does not know, nothing to check).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

# ---- x86-64 -----------------------------------------------------------------------------
# Per-ISA suffix -> extension classes the file's flags (setup.py GCC_ISA_FLAGS) allow.
X86_UP_TO_SSE42 = {"sse3", "ssse3", "sse41", "sse42"}
X86_ALLOWED = {
    "sse2": set(),
    "ssse3": {"sse3", "ssse3"},
    "sse41": {"sse3", "ssse3", "sse41"},
    "sse42": X86_UP_TO_SSE42,
    "avx": X86_UP_TO_SSE42 | {"avx"},
    "avx2": X86_UP_TO_SSE42 | {"avx", "popcnt", "bmi1", "bmi2"},
    "avx512": X86_UP_TO_SSE42 | {"avx", "popcnt", "bmi1", "bmi2", "avx512"},
    "avx512vbmi2": X86_UP_TO_SSE42 | {"avx", "popcnt", "bmi1", "bmi2", "avx512"},
}
X86_PREFIXES = {0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65}
X86_LEGACY = {}
for _cls, _names in {
    "sse3": "addsubps addsubpd haddps haddpd hsubps hsubpd lddqu movddup movshdup movsldup "
    "fisttp fisttps fisttpl fisttpll monitor mwait",
    "ssse3": "pshufb palignr phaddw phaddd phaddsw phsubw phsubd phsubsw pmaddubsw pmulhrsw "
    "psignb psignw psignd pabsb pabsw pabsd",
    "sse41": "pblendvb pblendw blendps blendpd blendvps blendvpd dpps dppd extractps insertps "
    "mpsadbw packusdw pcmpeqq pextrb pextrd pextrq pinsrb pinsrd pinsrq pmaxsb pmaxsd pmaxud "
    "pmaxuw pminsb pminsd pminud pminuw pmovsxbw pmovsxbd pmovsxbq pmovsxwd pmovsxwq pmovsxdq "
    "pmovzxbw pmovzxbd pmovzxbq pmovzxwd pmovzxwq pmovzxdq pmuldq pmulld ptest roundps roundpd "
    "roundss roundsd movntdqa phminposuw",
    "sse42": "pcmpestri pcmpestrm pcmpistri pcmpistrm pcmpgtq crc32 crc32b crc32w crc32l crc32q",
    "popcnt": "popcnt popcntw popcntl popcntq",
    "lzcnt": "lzcnt lzcntw lzcntl lzcntq",
    # TZCNT (F3 0F BC) is not listed: GCC emits it for __builtin_ctz* on plain x86-64 on
    # purpose ("rep bsf"): a CPU without BMI1 runs it as BSF, which gives the same result
    # for the non-zero inputs __builtin_ctz is defined for. LZCNT has no such twin (BSR
    # counts from the other end), so it stays listed.
    "other": "movbe cmpxchg16b aesenc aesenclast aesdec aesdeclast aesimc aeskeygenassist "
    "pclmulqdq pclmullqlqdq pclmulhqlqdq pclmullqhqdq pclmulhqhqdq sha1rnds4 sha1nexte "
    "sha1msg1 sha1msg2 sha256rnds2 sha256msg1 sha256msg2 rdrand rdseed adcx adox "
    "clflushopt clwb",
    # XGETBV is not listed: the dispatcher runs it only after CPUID reports OSXSAVE.
}.items():
    for _name in _names.split():
        X86_LEGACY[_name] = _cls
X86_VEX_BMI1 = {"andn", "bextr", "blsi", "blsmsk", "blsr"}
X86_VEX_BMI2 = {"bzhi", "mulx", "pdep", "pext", "rorx", "sarx", "shlx", "shrx"}
X86_MASK_OPS = re.compile(r"^k(mov|and|andn|or|xor|xnor|not|shiftl|shiftr|unpck|add|test|ortest)")

# ---- aarch64 ----------------------------------------------------------------------------
AARCH64_ALLOWED = {"neon": set()}  # NEON is baseline on aarch64
AARCH64_SVE_REG = re.compile(r"\b[zp]\d{1,2}(\.[bhsdq])?\b|\bp\d{1,2}/[zm]\b")
AARCH64_EXT = [
    (re.compile(r"^(cas|casp|swp|ld(add|clr|eor|set|smax|smin|umax|umin)|"
                r"st(add|clr|eor|set|smax|smin|umax|umin))(a|l|al)?(b|h)?$"), "lse"),
    (re.compile(r"^crc32c?[bhwx]$"), "crc"),
    (re.compile(r"^(sdot|udot|usdot|sudot)$"), "dotprod"),
    (re.compile(r"^(aes[ed]|aesi?mc|sha1[chmpsu]\w*|sha256\w*|sha512\w*|sm3\w*|sm4\w*|eor3|rax1|xar|bcax|pmull2?)$"), "crypto"),
    (re.compile(r"^(smmla|ummla|usmmla|bfmmla|bfdot|bfmlal[bt]|bfcvtn?2?)$"), "i8mm/bf16"),
    (re.compile(r"^(ldapr\w*|stlur\w*|ldapur\w*|rcpc\w*)$"), "rcpc"),
]


def ext_classes_x86(raw, mnemonic, operands):
    """The extension classes one x86-64 instruction needs (empty for SSE2 baseline)."""
    i = 0
    while i < len(raw) and raw[i] in X86_PREFIXES:
        i += 1
    first = raw[i] if i < len(raw) else None
    if first == 0x62:  # EVEX: always AVX-512 in 64-bit mode (BOUND is invalid there)
        return {"avx512"}
    if first in (0xC4, 0xC5):  # VEX (LES/LDS are invalid in 64-bit mode)
        if mnemonic in X86_VEX_BMI1:
            return {"bmi1"}
        if mnemonic in X86_VEX_BMI2:
            return {"bmi2"}
        if X86_MASK_OPS.match(mnemonic):
            return {"avx512"}
        return {"avx"}
    if "%ymm" in operands or "%zmm" in operands:
        return {"avx512" if "%zmm" in operands else "avx"}
    cls = X86_LEGACY.get(mnemonic)
    if cls is None and mnemonic[-1:] in "bwlq":
        cls = X86_LEGACY.get(mnemonic[:-1])
    return {cls} if cls else set()


def ext_classes_aarch64(raw, mnemonic, operands):
    classes = set()
    if AARCH64_SVE_REG.search(operands):
        classes.add("sve")
    for pattern, cls in AARCH64_EXT:
        if pattern.match(mnemonic):
            classes.add(cls)
    return classes


ARCHES = {
    # objdump "file format" substrings -> (arch, classifier, per-ISA allowances)
    "x86-64": ("x86_64", ext_classes_x86, X86_ALLOWED),
    "x86_64": ("x86_64", ext_classes_x86, X86_ALLOWED),
    "aarch64": ("aarch64", ext_classes_aarch64, AARCH64_ALLOWED),
    "arm64": ("aarch64", ext_classes_aarch64, AARCH64_ALLOWED),
}
ALWAYS_ALLOWED_FUNCS = {
    # libgcc's outline atomics test the CPU (LSE) before using the instructions
    "aarch64": re.compile(r"^_*aarch64_(cas|swp|ld\w+)\d+_\w+$"),
}

# Direct calls and tail-call jumps to the START of a function ("<name>", no "+0x..").
BRANCH = re.compile(r"^(call|jmp|j[a-z]{1,3}|bl|b|b\.[a-z]{2}|cb n?z|tbn?z)[a-z]?$")
BRANCH_TARGET = re.compile(r"([0-9a-fA-F]+)\s+<([^<>+]+)>\s*$")
FUNC_LINE = re.compile(r"^([0-9a-fA-F]+) <(.+)>:\s*$")
INSN_LINE = re.compile(r"^\s*[0-9a-fA-F]+:\s+((?:[0-9a-fA-F]{2}\s)+)\s*(\S.*)?$")
INSN_LINE_WORDS = re.compile(r"^\s*[0-9a-fA-F]+:\s+((?:[0-9a-fA-F]{8}\s)+)\s*(\S.*)?$")


def objdump_tool():
    for name in (os.environ.get("OBJDUMP"), "objdump", "llvm-objdump", "gobjdump"):
        if name and shutil.which(name):
            return name
    sys.exit("check_isa: objdump not found (install binutils, or set OBJDUMP)")


def file_arch(objdump, path):
    out = subprocess.run([objdump, "-f", path], capture_output=True, text=True).stdout
    m = re.search(r"file format\s+(\S+)", out)
    fmt = m.group(1).lower() if m else ""
    for key, value in ARCHES.items():
        if key in fmt:
            return value
    return None


def isa_of_name(name, allowances):
    """The ISA a function or object may use, from its name: wsf__mask_avx2 -> avx2."""
    base = name.rsplit("@", 1)[0].split(".", 1)[0]  # foo_avx2.constprop.0@1a2b0, foo_avx2.o
    for isa in sorted(allowances, key=len, reverse=True):
        if base.endswith("_" + isa) or ("_" + isa + "_") in base:
            return isa
    return None


def disassemble(objdump, path):
    """Yield (function, raw bytes, mnemonic, operands) for every instruction."""
    proc = subprocess.run(
        [objdump, "-d", "-w", path], capture_output=True, text=True, errors="replace"
    )
    if proc.returncode != 0:
        raise RuntimeError("%s -d %s failed: %s" % (objdump, path, proc.stderr.strip()))
    func = "?"
    for line in proc.stdout.splitlines():
        m = FUNC_LINE.match(line)
        if m:
            # Functions are "name@address": a linked module can hold several static
            # functions of one name (a "run" in each of several per-ISA files).
            func = "%s@%x" % (m.group(2), int(m.group(1), 16))
            continue
        m = INSN_LINE.match(line) or INSN_LINE_WORDS.match(line)
        if not m or not m.group(2):
            continue
        hexes = m.group(1).split()
        raw = bytes(int(h, 16) for h in hexes if len(h) == 2)
        text = m.group(2).split("#")[0].split("//")[0].split(";")[0].strip()
        if not text or text.startswith("(bad)"):
            continue
        parts = text.split(None, 1)
        words = parts[0].lower()
        operands = parts[1] if len(parts) > 1 else ""
        # prefixes written as words: "rep stos", "lock cmpxchg", "notrack jmp", "{evex} vp.."
        while words in ("rep", "repz", "repnz", "repe", "repne", "lock", "notrack", "bnd",
                        "data16", "addr32", "{vex}", "{vex3}", "{evex}", "cs", "ds") and operands:
            p = operands.split(None, 1)
            words, operands = p[0].lower(), (p[1] if len(p) > 1 else "")
        target = BRANCH_TARGET.search(operands) if BRANCH.match(words) else None
        if target:
            target = "%s@%x" % (target.group(2), int(target.group(1), 16))
        yield func, raw, words, operands, target


def defined_functions(objdump, path):
    return {insn[0].rsplit("@", 1)[0] for insn in disassemble(objdump, path)}


class Report:
    def __init__(self, verbose, quiet=False):
        self.verbose = verbose
        self.quiet = quiet
        self.violations = 0
        self.checked = 0

    def check(self, objdump, path, label, per_isa_names=None):
        arch = file_arch(objdump, path)
        if arch is None:
            print("check_isa: %s: not an x86-64 or aarch64 object; skipped" % label)
            return
        arch_name, classify, allowances = arch
        stem = os.path.splitext(os.path.basename(path))[0]
        file_isa = isa_of_name(stem, allowances) if path.endswith((".o", ".obj")) else None
        always = ALWAYS_ALLOWED_FUNCS.get(arch_name)
        used = {}  # function -> {class: example}
        callers = {}  # function -> functions that call or tail-call its start
        for func, raw, mnemonic, operands, target in disassemble(objdump, path):
            classes = classify(raw, mnemonic, operands)
            if classes:
                slot = used.setdefault(func, {})
                for cls in classes:
                    slot.setdefault(cls, "%s %s" % (mnemonic, operands))
            if target and target != func:
                callers.setdefault(target, set()).add(func)
        self.checked += 1

        def named_isa(func):
            isa = file_isa or isa_of_name(func, allowances)
            if isa is None and per_isa_names:
                isa = per_isa_names.get(func.rsplit("@", 1)[0].split(".", 1)[0])
            return isa

        memo = {}

        def allowed_for(func, seen=()):
            """(allowed classes, why). A function with no ISA in its name that is only ever
            called from per-ISA functions (a static helper of a per-ISA file, e.g. run or
            run.constprop.0) may use what all of its callers may; with no caller (address
            taken, exported) or a baseline caller, it gets the baseline."""
            isa = named_isa(func)
            if isa:
                return allowances.get(isa, set()), isa
            if func in memo:
                return memo[func]
            result = (set(), "baseline")
            who = callers.get(func)
            if who and func not in seen:
                sets, whys = [], set()
                for caller in sorted(who):
                    allowed, why = allowed_for(caller, seen + (func,))
                    sets.append(allowed)
                    whys.add(why.split(" ")[0])
                common = set.intersection(*sets)
                if common:
                    result = (common, "%s via callers" % "/".join(sorted(whys)))
            memo[func] = result
            return result

        bad, per_isa = [], 0
        for func, classes in sorted(used.items()):
            allowed, why = allowed_for(func)
            extra = set(classes) - allowed
            if always is not None and always.match(func.rsplit("@", 1)[0]):
                extra = set()
            if extra:
                bad.append((func, why, extra, classes))
            else:
                per_isa += 1
                if self.verbose:
                    print("  ok  %s: %s uses %s (allowed: %s)"
                          % (label, func, ",".join(sorted(classes)), why))
        for func, why, extra, classes in bad:
            self.violations += 1
            if self.quiet:
                continue
            examples = "; ".join("%s: %s" % (c, classes[c]) for c in sorted(extra))
            print("VIOLATION %s [%s]: function %s (%s) uses %s  e.g. %s"
                  % (label, arch_name, func, why, ",".join(sorted(extra)), examples))
        if not bad and not self.quiet:
            print("ok  %s [%s]%s: baseline outside %d per-ISA function(s)"
                  % (label, arch_name, " (per-ISA object: %s)" % file_isa if file_isa else "",
                     per_isa))


def per_isa_names_from_objects(objdump, objects_dir):
    """Function names defined in per-ISA objects (name -> ISA), minus those also defined
    in a baseline object (a static helper of the same name elsewhere stays baseline)."""
    per_isa, baseline = {}, set()
    for root, _dirs, files in os.walk(objects_dir):
        for name in files:
            if not name.endswith((".o", ".obj")):
                continue
            path = os.path.join(root, name)
            arch = file_arch(objdump, path)
            if arch is None:
                continue
            isa = isa_of_name(os.path.splitext(name)[0], arch[2])
            funcs = {f.split(".", 1)[0] for f in defined_functions(objdump, path)}
            if isa:
                for f in funcs:
                    per_isa.setdefault(f, set()).add(isa)
            else:
                baseline |= funcs
    # A name defined in a baseline object, or in per-ISA objects of different ISAs (static
    # helpers called "run" in several files), says nothing: callers decide for those.
    return {f: isas.pop() for f, isas in per_isa.items() if f not in baseline and len(isas) == 1}


def expand(paths, tmp):
    """(path on disk, label) for every binary named or found under the arguments."""
    for path in paths:
        if os.path.isdir(path):
            for root, _dirs, files in sorted(os.walk(path)):
                for name in sorted(files):
                    if name.endswith((".o", ".obj", ".so", ".pyd", ".dylib")):
                        full = os.path.join(root, name)
                        yield full, os.path.relpath(full, path)
        elif path.endswith(".whl"):
            with zipfile.ZipFile(path) as whl:
                members = [n for n in whl.namelist() if n.endswith((".so", ".pyd", ".dylib"))]
                if not members:
                    print("check_isa: %s has no compiled module (a pure wheel?)" % path)
                for member in members:
                    out = whl.extract(member, os.path.join(tmp, os.path.basename(path)))
                    yield out, "%s!%s" % (os.path.basename(path), member)
        elif os.path.isfile(path):
            yield path, path
        else:
            sys.exit("check_isa: %s: no such file" % path)


SELF_TEST_SOURCES = {
    # file name: (source, extra flags, expected violations when checked as an object)
    "scalar.c": ("int count(unsigned x) { return __builtin_popcount(x); }\n"
                 "void add_scalar(float *a, const float *b, int n)"
                 " { for (int i = 0; i < n; i++) a[i] += b[i]; }\n", [], 0),
    "leak.c": ("void add_leak(float *a, const float *b, int n)"
               " { for (int i = 0; i < n; i++) a[i] += b[i]; }\n", ["-mavx2"], 1),
    "popcount.c": ("int count_popcnt(unsigned x) { return __builtin_popcount(x); }\n",
                   ["-mpopcnt"], 1),
    "shuffle.c": ("#include <tmmintrin.h>\n__m128i shuf(__m128i a, __m128i b)"
                  " { return _mm_shuffle_epi8(a, b); }\n", ["-mssse3"], 1),
    "kernel_avx2.c": ("#include <immintrin.h>\n__m256i xor_avx2(__m256i a, __m256i b)"
                      " { return _mm256_xor_si256(a, b); }\n"
                      # a static helper of a per-ISA file, kept out of line: allowed
                      "__attribute__((noinline)) static void run(float *a, const float *b,"
                      " int n) { for (int i = 0; i < n; i++) a[i] += b[i]; }\n"
                      "void add_avx2(float *a, const float *b, int n) { run(a, b, n); }\n"
                      # an exported one that baseline code calls: a leak
                      "__attribute__((noinline)) void helper(float *a, const float *b,"
                      " int n) { for (int i = 0; i < n; i++) a[i] *= b[i]; }\n"
                      "void mul_avx2(float *a, const float *b, int n)"
                      " { helper(a, b, n); helper(a, b, n); }\n", ["-mavx2"], 0),
    "caller.c": ("void helper(float *, const float *, int);\n"
                 "void mul(float *a, const float *b, int n) { helper(a, b, n); }\n", [], 0),
    "ctz.c": ("int first(unsigned long long x) { return __builtin_ctzll(x); }\n", [], 0),
    "kernel_sse41.c": ("#include <immintrin.h>\nint test_sse41(__m128i a)"
                       " { return _mm_testz_si128(a, a); }\n"
                       "__m256i widen_sse41(__m256i a, __m256i b)"
                       " { return _mm256_add_epi8(a, b); }\n", ["-mavx2"], 2),
}


def self_test():
    """Compile small files with and without ISA flags and check the checker catches what
    it must (x86-64 hosts with a C compiler only)."""
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64"):
        print("check_isa --self-test: x86-64 only; skipped")
        return 0
    cc = os.environ.get("CC_FOR_CHECK") or shutil.which("cc") or shutil.which("gcc")
    objdump = objdump_tool()
    failures = 0
    with tempfile.TemporaryDirectory(prefix="check_isa-self-") as tmp:
        objects = []
        for name, (source, flags, expected) in sorted(SELF_TEST_SOURCES.items()):
            src = os.path.join(tmp, name)
            obj = src[:-2] + ".o"
            with open(src, "w") as f:
                f.write(source)
            subprocess.run([cc, "-O3", "-fPIC", "-c", src, "-o", obj] + flags, check=True)
            objects.append(obj)
            report = Report(False, quiet=True)
            report.check(objdump, obj, name)
            if report.violations != expected:
                failures += 1
                print("SELF-TEST FAILED: %s: %d violation(s), expected %d"
                      % (name, report.violations, expected))
        # Linked: per-ISA functions are recognised by name, the leaks still are not.
        lib = os.path.join(tmp, "libt.so")
        subprocess.run([cc, "-shared", "-o", lib] + objects, check=True)
        report = Report(False, quiet=True)
        report.check(objdump, lib, "libt.so")
        # add_leak, count_popcnt, shuf, test_sse41 (VEX-encoded), widen_sse41 (AVX2), helper
        # (called from baseline mul too); not run (only add_avx2 calls it)
        if report.violations != 6:
            failures += 1
            print("SELF-TEST FAILED: libt.so: %d violation(s), expected 6" % report.violations)
    print("check_isa --self-test: %s" % ("FAILED" if failures else "ok"))
    return 1 if failures else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help=".whl, .so, .pyd, .o or directories")
    parser.add_argument("--self-test", action="store_true",
                        help="check the checker on small files compiled here, then exit")
    parser.add_argument("--objects-dir", help="build_temp of setup.py: per-ISA objects whose "
                        "function names are then allowed their ISA in the linked modules")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test()
    if not args.paths:
        parser.error("give at least one path")
    objdump = objdump_tool()
    report = Report(args.verbose)
    per_isa = per_isa_names_from_objects(objdump, args.objects_dir) if args.objects_dir else None
    with tempfile.TemporaryDirectory(prefix="check_isa-") as tmp:
        for path, label in expand(args.paths, tmp):
            report.check(objdump, path, label, per_isa)
    if report.checked == 0:
        print("check_isa: nothing to check")
        return 2
    if report.violations:
        print("check_isa: %d violation(s): code outside the per-ISA files needs more than "
              "the baseline CPU" % report.violations)
        return 1
    print("check_isa: %d binaries checked, no instruction beyond the baseline outside the "
          "per-ISA code" % report.checked)
    return 0


if __name__ == "__main__":
    sys.exit(main())
