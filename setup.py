"""Builds wsfast's C extensions over csrc/: the Cython bridge (and the
compiled twins) and the cffi binding (wsfast.codec._cffi._ffi). On PyPy
only the cffi binding is built: Cython modules would run there through
the slow C-API emulation, while the JIT runs the pure-Python twins fast.

Build switches (environment variables):
  WSFAST_EXTENSION=required  a failed extension build is an error (both
                             extensions; on PyPy the cffi one)
  WSFAST_EXTENSION=optional  (default) fall back to the pure-Python package
  WSFAST_EXTENSION=off       do not build any extension at all
  WSFAST_CYTHON_ANNOTATE=1   write Cython's HTML annotation next to the .pyx
  WSFAST_DEBUG=1             -O0 -g, assertions on (and nothing stripped;
                             release builds on Linux link with -s)
  WSFAST_ZLIB=system         (default) link the platform's zlib (-lz, zlib.lib)
  WSFAST_ZLIB=bundled        compile zlib into the extension instead, with
                             its symbols prefixed (Z_PREFIX: z_deflate...) so
                             that no other zlib in the process can clash;
                             the wheel then needs no zlib on the target.
                             Source: WSFAST_ZLIB_SRC, an unpacked zlib
                             release (default third_party/zlib, filled
                             by tools/fetch_zlib.py). See
                             docs/architecture.md, "Dependencies, and why".
"""

import os
import platform
import re
import runpy
import sys
import threading
from glob import glob

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

MODE = os.environ.get("WSFAST_EXTENSION", "optional").lower()
if MODE not in ("required", "optional", "off"):
    sys.exit("WSFAST_EXTENSION must be required, optional or off, not %r" % MODE)
DEBUG = os.environ.get("WSFAST_DEBUG") == "1"
# Release builds link stripped shared objects on Linux (Python's own flags
# add -g: several MB of debug info per module). A build that asks for debug
# information, WSFAST_DEBUG=1 or -g in CFLAGS (the fuzzing build), keeps it.
STRIP = (sys.platform.startswith("linux") and not DEBUG
         and "-g" not in os.environ.get("CFLAGS", "").split())
ZLIB = os.environ.get("WSFAST_ZLIB", "system").lower()
if ZLIB not in ("system", "bundled"):
    sys.exit("WSFAST_ZLIB must be system or bundled, not %r" % ZLIB)
ZLIB_SRC = os.environ.get("WSFAST_ZLIB_SRC", os.path.join("third_party", "zlib"))
# zlib's own sources that deflate and inflate need (no gz* file I/O).
ZLIB_FILES = ["adler32.c", "compress.c", "crc32.c", "deflate.c", "infback.c", "inffast.c",
              "inflate.c", "inftrees.c", "trees.c", "uncompr.c", "zutil.c"]


def zlib_files():
    if ZLIB != "bundled":
        return []
    files = [os.path.join(ZLIB_SRC, f) for f in ZLIB_FILES]
    missing = [f for f in files + [os.path.join(ZLIB_SRC, "zlib.h")] if not os.path.isfile(f)]
    if missing:
        sys.exit("WSFAST_ZLIB=bundled: no zlib source in %r (missing %s); run "
                 "tools/fetch_zlib.py, or set WSFAST_ZLIB_SRC to an unpacked zlib release"
                 % (ZLIB_SRC, ", ".join(missing)))
    return files

# Each SIMD kernel is compiled alone with its own flags, so no other code
# can pick up instructions the CPU may lack; dispatch picks one at run time.
# The flags follow the machine the compiler builds for (probed with the
# compiler itself, see BuildExt._target_family), never the build machine:
# a cross build for ARM gets no -msse2, a cross build for x86 gets them.
KERNEL_FLAGS_UNIX = {"mask_sse2.c": ["-msse2"], "mask_avx2.c": ["-mavx2"]}
KERNEL_FLAGS_MSVC = {"mask_avx2.c": ["/arch:AVX2"]}
# What the compiler defines for each family of targets.
TARGET_PROBES = {
    "x86": "defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)",
    "arm64": "defined(__aarch64__) || defined(_M_ARM64)",
}


def plat_family(plat_name):
    """The family of CPU a platform tag (linux-aarch64, win-amd64, ...) is for;
    None when it names none or several (macOS universal2)."""
    arch = plat_name.rsplit("-", 1)[-1].lower()
    if arch in ("x86_64", "amd64", "i386", "i686", "x86", "win32"):
        return "x86"
    if arch in ("aarch64", "arm64", "aarch64_be"):
        return "arm64"
    return None


def csrc_files():
    return sorted(glob(os.path.join("csrc", "*.c")))


PYPY = platform.python_implementation() == "PyPy"
CFFI_MODULE = "wsfast.codec._cffi._ffi"
# Both bindings link the same csrc/ objects, compiled once per build.
CSRC_EXTENSIONS = ("wsfast.codec._core", CFFI_MODULE)


class BuildExt(build_ext):
    """Compiles csrc/ as strict C99 (each SIMD kernel with its own flags),
    then links it with the Cython-generated module."""

    def build_extension(self, ext):
        try:
            if ext.name in CSRC_EXTENSIONS:
                self._compile_csrc(ext)
            super().build_extension(ext)
        except Exception as exc:  # compiler missing or failing
            if MODE == "required":
                raise
            sys.stderr.write(
                "\nwsfast: WARNING: the C extension failed to build (%s); "
                "installing the pure-Python fallback. Set "
                "WSFAST_EXTENSION=required to make this an error.\n\n" % exc
            )

    def _target_family(self):
        """The CPU family the configured compiler builds for ("x86", "arm64"
        or None), found by compiling one-line probes with it."""
        import tempfile
        from setuptools.errors import CompileError

        tmp = tempfile.mkdtemp(prefix="wsfast-probe-")
        try:
            for family, test in TARGET_PROBES.items():
                src = os.path.join(tmp, family + ".c")
                with open(src, "w") as f:
                    f.write("#if !(%s)\n#error not %s\n#endif\nint wsfast_probe;\n"
                            % (test, family))
                try:
                    self.compiler.compile([src], output_dir=tmp)
                    return family
                except CompileError:
                    pass
            return None
        finally:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)

    _csrc_lock = threading.Lock()  # build_ext --parallel builds extensions in threads

    def _compile_csrc(self, ext):
        with self._csrc_lock:
            done = getattr(self, "_csrc_objects", None)
            if done is None:
                done = self._csrc_objects = self._compile_csrc_objects(ext)
        ext.extra_objects.extend(done)

    def _compile_csrc_objects(self, ext):
        objects = []
        msvc = self.compiler.compiler_type == "msvc"
        target = self._target_family()
        wanted = plat_family(self.plat_name)
        if wanted and target != wanted:
            # E.g. a cross build whose platform says aarch64 with a compiler
            # that makes x86-64 code: the wheel would carry the wrong binary.
            raise RuntimeError(
                "the compiler builds for %s but the platform being built for is %s "
                "(%s); set CC (and the platform) for the target"
                % (target or "an unknown CPU", wanted, self.plat_name))
        if msvc:
            base = ["/Od", "/Zi"] if DEBUG else ["/O2"]
            per_file = KERNEL_FLAGS_MSVC if target == "x86" else {}
        else:
            base = ["-std=c99", "-fPIC", "-Wall"]
            base += ["-O0", "-g"] if DEBUG else ["-O3"]
            per_file = KERNEL_FLAGS_UNIX if target == "x86" else {}
        sys.stderr.write("wsfast: building for %s (%s)\n" % (target or "a generic CPU",
                                                               self.plat_name))
        for src in csrc_files():
            objects.extend(
                self.compiler.compile(
                    [src],
                    output_dir=self.build_temp,
                    include_dirs=ext.include_dirs,
                    macros=ext.define_macros,
                    extra_postargs=base + per_file.get(os.path.basename(src), []),
                )
            )
        # zlib is C89 and not ours: built with the same optimisation, but
        # without -std=c99/-Wall, whose warnings are zlib's business.
        for src in zlib_files():
            objects.extend(
                self.compiler.compile(
                    [src],
                    output_dir=self.build_temp,
                    include_dirs=ext.include_dirs,
                    macros=ext.define_macros,
                    extra_postargs=[a for a in base if a not in ("-std=c99", "-Wall")]
                    + ([] if msvc else ["-fvisibility=hidden"]),
                )
            )
        return objects


# The modules compiled twice, listed once in the package (wsfast/_twins.py,
# which imports nothing of wsfast, so it runs here before any build).
TWINS = runpy.run_path(os.path.join("src", "wsfast", "_twins.py"))["TWINS"]
TWIN_SRC = os.path.join("build", "twins")
_RELATIVE_IMPORT = re.compile(r"^(\s*from\s+)(\.+)([\w.]*)(\s+import\s+)(.*)$", re.M)


def twin_source(module):
    """Writes the source the compiled twin of ``module`` is built from:
    module.py as module_c.py, next to module_c.pxd, with its imports of
    other twins turned to their compiled names, so that each build is
    whole (a compiled class cimports a compiled base). Returns its path."""
    package = module.split(".")[:-1]

    def compiled_names(match):
        head, dots, rest, keyword, names = match.groups()
        base = package[:len(package) - len(dots) + 1]
        if rest and ".".join(base + [rest]) in TWINS:
            return head + dots + rest + "_c" + keyword + names
        if not rest:  # from . import a, b
            out = []
            for name in names.split(","):
                name = name.strip()
                full = ".".join(base + [name.split(" as ")[0].strip()])
                out.append(name + "_c as " + name if full in TWINS and " as " not in name else name)
            return head + dots + keyword + ", ".join(out)
        return match.group(0)

    src = os.path.join("src", *module.split("."))
    out = os.path.join(TWIN_SRC, *module.split(".")) + "_c"
    os.makedirs(os.path.dirname(out), exist_ok=True)
    for depth in range(1, len(package) + 1):  # packages, so Cython names the module in full
        init = os.path.join(TWIN_SRC, *package[:depth], "__init__.py")
        if not os.path.exists(init):
            open(init, "w").close()
    with open(src + ".py") as f:
        text = _RELATIVE_IMPORT.sub(compiled_names, f.read())
    _write_if_changed(out + ".py", text)
    if os.path.exists(src + "_c.pxd"):
        with open(src + "_c.pxd") as f:
            _write_if_changed(out + ".pxd", f.read())
    return out + ".py"


def _write_if_changed(path, text):
    # Unchanged copies keep their time, so Cython does not redo their C.
    if os.path.exists(path):
        with open(path) as f:
            if f.read() == text:
                return
    with open(path, "w") as f:
        f.write(text)


def zlib_settings():
    """(libraries, include_dirs, define_macros) of the zlib setting."""
    if ZLIB == "bundled":
        zlib_files()  # fail early if the source is missing
        return [], [ZLIB_SRC, "csrc"], [("Z_PREFIX", None)]
    return (["zlib"] if sys.platform == "win32" else ["z"]), ["csrc"], []


def cffi_extension():
    """The cffi binding's extension (its C written by cffi now, like
    cythonize does), or None when cffi is missing and not required."""
    try:
        make_builder = runpy.run_path(
            os.path.join("src", "wsfast", "codec", "_cffi_build.py"))["make_builder"]
    except ImportError:
        if MODE == "required":
            raise
        sys.stderr.write("wsfast: cffi is missing; the cffi backend is not built\n")
        return None
    libs, incs, macros = zlib_settings()
    ext = make_builder(incs, libs, macros).distutils_extension(
        tmpdir=os.path.join("build", "cffi"), verbose=False)
    ext.depends = csrc_files() + glob(os.path.join("csrc", "*.h"))
    if STRIP:
        ext.extra_link_args.append("-s")
    return ext


def all_extensions():
    if MODE == "off":
        return []
    built = [] if PYPY else extensions()
    ffi = cffi_extension()
    return built + ([ffi] if ffi is not None else [])


def extensions():
    try:
        from Cython.Build import cythonize
    except ImportError:
        if MODE == "required":
            raise
        sys.stderr.write("wsfast: Cython is missing; installing pure Python only\n")
        return []
    libs, incs, macros = zlib_settings()
    ext = Extension(
        "wsfast.codec._core",
        sources=["src/wsfast/codec/_core.pyx"],
        include_dirs=incs,
        define_macros=macros,
        libraries=libs,
        depends=csrc_files() + glob(os.path.join("csrc", "*.h")),
    )
    # One source, two builds: these pure-Python modules are also compiled,
    # as <module>_c with the C types declared in <module>_c.pxd (the
    # per-message path of the protocol and of the server loop). Both
    # builds are installed; wsfast._twins picks one at import time.
    twins = [Extension(name + "_c", sources=[twin_source(name)]) for name in TWINS]
    if sys.platform.startswith("linux"):  # recv, send and epoll_wait for the server loop
        twins.append(Extension("wsfast.server._syscalls",
                               sources=["src/wsfast/server/_syscalls.pyx"]))
    # The wsproto drop-in's message fields, set in C (events.py falls back).
    twins.append(Extension("wsfast.wsproto._records", sources=["src/wsfast/wsproto/_records.pyx"]))
    if STRIP:
        for e in [ext] + twins:
            e.extra_link_args.append("-s")
    try:
        return cythonize(
            [ext] + twins,
            # annotation_typing=False: the type hints in the compiled twins are
            # for type checkers only. Their C types come from the .pxd files; if
            # Cython also read the hints, `x: int` would reject int subclasses and
            # `-> str` would add conversions, so both builds would behave apart.
            compiler_directives={"language_level": "3", "annotation_typing": False},
            include_path=[TWIN_SRC],
            annotate=os.environ.get("WSFAST_CYTHON_ANNOTATE") == "1",
        )
    except Exception as exc:  # e.g. a source missing from an incomplete sdist
        if MODE == "required":
            raise
        sys.stderr.write("\nwsfast: WARNING: Cython failed (%s); installing the "
                         "pure-Python fallback.\n\n" % exc)
        return []


setup(ext_modules=all_extensions(), cmdclass={"build_ext": BuildExt})
