"""``MLPGRADIENTFLOW_NO_C=1`` (the documented switch to the NumPy kernels) imports and gives
the C kernels' results."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import mlpgradientflow as mgf

SCRIPT = """
import sys
import numpy as np
import mlpgradientflow as mgf
rng = np.random.default_rng(0)
out = {"available": np.array(mgf._kernels.available)}
for n in (20, 700):  # the per-sample kernel and the chunk loop
    X = rng.standard_normal((n, 2))
    net = mgf.Net([(4, "softplus", True), (3, "tanh", True), (1, "identity", True)],
                  input=X, target=np.sin(X[:, :1]), weights=rng.random(n) + 0.5)
    p = net.random_params(1) + 0.3 * rng.standard_normal(net.nparams)
    L, g, H = net.fgh(p)
    out[f"loss{n}"] = np.array([net.loss(p), L])
    out[f"gradient{n}"] = np.stack([g, net.gradient(p)])
    out[f"hessian{n}"] = H
np.savez(sys.argv[1], **out)
"""


def _run(tmp_path, name, env):
    path = tmp_path / f"{name}.npz"
    subprocess.run([sys.executable, "-c", SCRIPT, str(path)], env=env, check=True, timeout=300)
    return np.load(path)


@pytest.mark.skipif(not mgf._kernels.available, reason="the compiled kernels are not built")
def test_numpy_kernels_match_c_kernels(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MLPGRADIENTFLOW_NO_C"}
    c = _run(tmp_path, "c", env)
    numpy = _run(tmp_path, "numpy", {**env, "MLPGRADIENTFLOW_NO_C": "1"})
    assert bool(c["available"]) and not bool(numpy["available"])
    for key in (f"{what}{n}" for what in ("loss", "gradient", "hessian") for n in (20, 700)):
        a, b = c[key], numpy[key]
        err = np.abs(a - b).max() / np.abs(a).max()
        assert err <= 1e-13, (key, err)
