"""Build hook: compile the optional C activation kernels into the package.

The shared library is built in the source tree (src/mlpgradientflow/_kernels/), so that
editable installs find it too, and shipped in the wheel. Without a C compiler the build
goes on and the package uses its NumPy kernels.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SRC = Path("src/mlpgradientflow/_kernels/activations.c")
LIB = SRC.with_name("_activations.so")
FLAGS = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd", "-fPIC", "-shared"]


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        if sys.platform != "linux" or os.environ.get("MLPGRADIENTFLOW_NO_C"):
            return
        cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
        src, lib = Path(self.root) / SRC, Path(self.root) / LIB
        if cc is None:
            self.app.display_warning("no C compiler: mlpgradientflow uses its NumPy kernels")
            return
        cmd = [cc, *FLAGS, str(src), "-o", str(lib), "-lmvec", "-lm"]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            self.app.display_warning(
                "building the C kernels failed; mlpgradientflow uses its NumPy kernels\n"
                + res.stderr
            )
            return
        build_data["artifacts"].append(LIB.as_posix())
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
