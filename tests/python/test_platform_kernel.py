"""The mask kernel a fresh process picks on this machine: the widest one the
CPU has (NEON on every AArch64, AVX2 or SSE2 on x86-64), and the one
WSFAST_MASK_IMPL names when set. Run by every wheel build (cibuildwheel) and
under qemu-aarch64 in CI, so each platform proves its vector kernel is live."""

import os
import platform
import subprocess
import sys

import pytest

ARM = platform.machine().lower() in ("aarch64", "arm64", "aarch64_be")


def kernel_in_child(**env):
    child_env = {k: v for k, v in os.environ.items() if k != "WSFAST_MASK_IMPL"}
    child_env.update(env)
    out = subprocess.run([sys.executable, "-c", "import wsfast; print(wsfast.mask_kernel())"],
                         env=child_env, capture_output=True, text=True, check=True, timeout=120)
    return out.stdout.strip()


def test_default_kernel_is_the_widest(c_impl):
    kernels = c_impl.mask_kernels()
    want = "neon" if ARM else ("avx2" if "avx2" in kernels else
                               "sse2" if "sse2" in kernels else "scalar")
    assert kernel_in_child() == want


@pytest.mark.parametrize("name", ["scalar", "neon"])
def test_env_selects_kernel(c_impl, name):
    if name not in c_impl.mask_kernels():
        pytest.skip("%s not supported on this CPU" % name)
    assert kernel_in_child(WSFAST_MASK_IMPL=name) == name
