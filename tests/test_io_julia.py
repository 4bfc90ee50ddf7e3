"""The bridge to MLPGradientFlow.jl: its result files (torch's legacy and zip formats, read
without torch and refusing anything but tensors) and its column-major flat order.

torch is the oracle: fixtures are written with ``torch.save`` in the reference's dict layout
(column-major tensors, views with offsets into one storage, as Julia's arrays); what we write
is read back with ``torch.load`` and with an emulation of Pickle.jl's ``THload``."""

from __future__ import annotations

import io
import math
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch
from oracle import torch_loss_fn

import mlpgradientflow as mgf
from mlpgradientflow.io import (
    TorchFileError,
    from_julia_hessian,
    from_julia_params,
    julia_index,
    load_julia,
    load_torch,
    net_from_julia,
    save_julia,
    save_torch_legacy,
    to_julia_hessian,
    to_julia_params,
)
from mlpgradientflow.io.torchfile import MAGIC_NUMBER
from mlpgradientflow.training.stopping import StopReason

LAYERS = [(3, "tanh", True), (2, "identity", True)]


@pytest.fixture(scope="module")
def net():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 2))
    return mgf.Net(LAYERS, input=X, target=rng.standard_normal((12, 2)))


@pytest.fixture(scope="module")
def res(net):
    return mgf.train(net, net.random_params(1), maxiterations_ode=40, maxiterations_optim=5,
                     verbosity=0)


def julia_vec(Ms) -> np.ndarray:
    """The reference's flat vector: Julia's vec(M) (column-major), computed by torch."""
    return torch.cat([torch.from_numpy(M).t().reshape(-1) for M in Ms]).numpy()


def column_major(M) -> torch.Tensor:
    t = torch.from_numpy(np.asfortranarray(M))
    assert t.stride() == (1, M.shape[0])
    return t


def reference_file(path, Ms, *, legacy=True, dtype=torch.float64, **extra):
    """A result dict laid out as the reference's `pickle` writes it. `x` is a set of views
    into one flat column-major storage at offsets (a ComponentArray's blocks); the others
    are separate column-major tensors."""
    flat = torch.from_numpy(julia_vec(Ms)).to(dtype)
    x, o = {}, 0
    for i, M in enumerate(Ms, 1):
        k, m = M.shape
        x[f"w{i}"] = flat[o: o + k * m].view(m, k).t()  # stride (1, k), storage offset o
        o += k * m
    assert x["w2"].storage_offset() > 0

    def pdict(scale):
        return {f"w{i}": column_major(M * scale).to(dtype) for i, M in enumerate(Ms, 1)}

    X = np.vstack([np.arange(10.0).reshape(2, 5), np.ones((1, 5))])  # (Din + 1, N)
    d = {"loss": 0.25, "converged": False, "optim_stopped_by": "min_gnorm ≤ 1.0e-15",
         "ode_stopped_by": "maxiterations ≥ 100", "total_time": 1.5, "ode_loss": 0.5,
         "gnorm": 1e-16, "gnorm_regularized": 2e-16, "init": pdict(2.0), "x": x,
         "ode_x": pdict(3.0), "ode_time_run": 1.0, "ode_iterations": 100,
         "optim_time_run": 0.5, "optim_iterations": 7, "input": column_major(X).to(dtype),
         "target": column_major(np.arange(10.0).reshape(2, 5)).to(dtype),
         "layerspec": ((3, "tanh", True), (2, "identity", True)),
         "trajectory": OrderedDict([(0.0, pdict(2.0)), (4.5, pdict(3.0)), (5.5, pdict(1.0))]),
         "loss_curve": torch.tensor([2.0, 1.0, 0.25], dtype=dtype), **extra}
    torch.save(d, path, _use_new_zipfile_serialization=not legacy)
    return d


@pytest.fixture(scope="module")
def Ms():
    rng = np.random.default_rng(3)
    return [rng.standard_normal((3, 3)), rng.standard_normal((2, 4))]


# -- reading the reference's files ---------------------------------------------------------------
@pytest.mark.parametrize("legacy", [True, False], ids=["legacy", "zip"])
def test_load_julia_maps_every_key(tmp_path, Ms, legacy):
    path = tmp_path / "r.pt"
    reference_file(path, Ms, legacy=legacy, teacher_note="kept", mask=torch.tensor([True, False]))
    r = load_julia(path)
    ours = np.concatenate([M.ravel() for M in Ms])  # row-major blocks
    np.testing.assert_array_equal(r.x, ours)
    np.testing.assert_array_equal(r.x, from_julia_params(julia_vec(Ms), r))
    np.testing.assert_array_equal(r.init, 2 * ours)
    np.testing.assert_array_equal(r.ode_x, 3 * ours)
    assert r.shapes == [(3, 3), (2, 4)]
    assert (r.loss, r.ode_loss, r.gnorm, r.gnorm_regularized, r.total_time) == (
        0.25, 0.5, 1e-16, 2e-16, 1.5)
    assert r.converged is False
    assert (r.ode.reason, r.ode.detail, r.ode.iterations, r.ode.time) == (
        StopReason.MAXITERATIONS, "100", 100, 1.0)
    assert (r.optim.reason, r.optim.detail, r.optim.iterations) == (
        StopReason.MIN_GNORM, "1.0e-15", 7)
    assert r.ode_stopped_by == "maxiterations ≥ 100" and r.optim_stopped_by == "min_gnorm ≤ 1.0e-15"
    np.testing.assert_array_equal(r.trajectory.t, [0.0, 4.5, 5.5])
    np.testing.assert_array_equal(r.trajectory.x, np.outer([2.0, 3.0, 1.0], ours))
    np.testing.assert_array_equal(r.loss_curve, [2.0, 1.0, 0.25])
    assert r.info["layerspec"] == [(3, "tanh", True), (2, "identity", True)]
    jl = r.info["julia"]
    assert jl["teacher_note"] == "kept" and jl["mask"].tolist() == [True, False]
    np.testing.assert_array_equal(jl["input"][:2], np.arange(10.0).reshape(2, 5))
    assert jl["input"].flags.c_contiguous and jl["input"].flags.writeable
    assert r.info["julia_missing"] == []


def test_float32_files_read_exactly(tmp_path, Ms):
    path = tmp_path / "r32.pt"
    reference_file(path, Ms, dtype=torch.float32)
    r = load_julia(path)
    assert r.x.dtype == np.float64
    np.testing.assert_array_equal(r.x, np.concatenate([M.astype(np.float32).ravel() for M in Ms]))


def test_net_from_julia_rebuilds_the_data(tmp_path, net, res):
    """Input loses the ones row and is transposed back; the rebuilt net gives the same loss."""
    back = load_julia(save_julia(tmp_path / "r.pt", res, net))
    again = net_from_julia(back)
    np.testing.assert_array_equal(again.input, net.input)
    np.testing.assert_array_equal(again.target, net.target)
    assert again.loss(back.x) == net.loss(res.x)


def test_class_labels_shift_to_one_based_and_back(tmp_path):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((9, 2)), rng.integers(0, 3, 9)
    net = mgf.Net([(2, "tanh", False), (3, "softmax", True)], input=X, target=y)
    r = mgf.train(net, net.random_params(0), maxiterations_ode=5, maxiterations_optim=0,
                  verbosity=0)
    path = save_julia(tmp_path / "c.pt", r, net)
    t = torch.load(path)
    assert t["target"].dtype == torch.int64 and t["target"].tolist() == (y + 1).tolist()
    assert t["input"].shape == (2, 9)  # no bias in the first layer: no ones row
    np.testing.assert_array_equal(net_from_julia(load_julia(path)).target, y)


@pytest.mark.parametrize("s, iterations, reason, detail", [
    ("", 50, StopReason.MAXT, ""),                       # the reference's word for maxT
    ("", 0, StopReason.NOT_RUN, ""),
    ("patience (1000)", 9, StopReason.PATIENCE, "1000"),
    ("maxtime > 180.0s", 9, StopReason.MAXTIME, "180.0"),
    ("t > 1e300", 9, StopReason.T_INFINITE, ""),
    ("minloss ≤ 2.0e-32", 9, StopReason.MINLOSS, "2.0e-32"),
    ("converged", 9, StopReason.METHOD_ENDED, "converged"),  # NLopt's strings stay verbatim
    ("maxeval", 9, StopReason.METHOD_ENDED, "maxeval"),
])
def test_stop_strings(tmp_path, Ms, s, iterations, reason, detail):
    path = tmp_path / "s.pt"
    reference_file(path, Ms, ode_stopped_by=s, ode_iterations=iterations)
    r = load_julia(path)
    assert (r.ode.reason, r.ode.detail, r.ode.message) == (reason, detail, s)
    assert r.reproducible is (reason is not StopReason.MAXTIME)


def test_nlopt_maxtime_is_not_reproducible(tmp_path, Ms):
    path = tmp_path / "t.pt"
    reference_file(path, Ms, optim_stopped_by="maxtime")
    r = load_julia(path)
    assert r.optim_stopped_by == "maxtime" and not r.reproducible


def test_excluded_keys_read_as_nan_and_are_listed(tmp_path, Ms):
    path = tmp_path / "e.pt"
    d = reference_file(path, Ms)
    for key in ("init", "trajectory", "loss_curve", "gnorm"):
        del d[key]
    torch.save(d, path, _use_new_zipfile_serialization=False)
    r = load_julia(path)
    assert np.isnan(r.init).all() and np.isnan(r.gnorm) and len(r.trajectory) == 0
    assert r.trajectory.x.shape == (0, 17) and r.loss_curve.shape == (0,)
    assert r.info["julia_missing"] == ["gnorm", "init", "trajectory", "loss_curve"]
    again = torch.load(save_julia(tmp_path / "again.pt", r))  # they stay out when written back
    assert set(again) == set(d)


def test_reads_without_torch(tmp_path, Ms):
    path = tmp_path / "r.pt"
    reference_file(path, Ms)
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'torch':\n"
            "            raise ImportError('torch is blocked')\n"
            "sys.meta_path.insert(0, Block())\n"
            "from mlpgradientflow.io import load_julia\n"
            f"print(load_julia({str(path)!r}).loss, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}, check=True)
    assert out.stdout.split() == ["0.25", "False"]


# -- writing: torch.load and the reference's THload read it ----------------------------------------
def thload(path):
    """Pickle.jl's THload, emulated: five pickles; `_rebuild_tensor_v2` with exactly six
    arguments and six-field storage records; storages read in the listed order, each an
    Int64 count then the data; a tensor of the whole storage with first stride 1 is
    `reshape(storage, size)`, i.e. column-major."""
    storages, tensors = {}, []

    class U(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                def build(storage, offset, size, stride, grad, hooks, *more):
                    assert not more and grad is False and hooks == OrderedDict()
                    tensors.append((storage, offset, size, stride))
                    return len(tensors) - 1
                return build
            if (module, name) == ("collections", "OrderedDict"):
                return OrderedDict
            assert module == "torch" and name in ("DoubleStorage", "LongStorage", "BoolStorage")
            return {"DoubleStorage": "<f8", "LongStorage": "<i8", "BoolStorage": "|b1"}[name]

        def persistent_load(self, pid):
            header, dtype, key, device, numel, view = pid
            assert header == "storage" and device == "cpu" and view is None
            storages[key] = (dtype, numel)
            return key

    with open(path, "rb") as f:
        assert U(f).load() == MAGIC_NUMBER and U(f).load() == 1001 and U(f).load()["little_endian"]
        obj, keys = U(f).load(), U(f).load()
        data = {}
        for key in keys:
            dtype, numel = storages[key]
            (count,) = struct.unpack("<q", f.read(8))
            assert count == numel
            data[key] = np.frombuffer(f.read(count * np.dtype(dtype).itemsize), dtype)
        assert f.read() == b""

    out = []
    for key, offset, size, stride in tensors:
        assert offset == 0 and math.prod(size) == storages[key][1]
        assert stride == tuple(math.prod(size[:i]) for i in range(len(size)))  # column-major
        out.append(data[key].reshape(size, order="F"))
    return obj, out


def test_save_julia_is_read_by_thload(tmp_path, net, res):
    path = save_julia(tmp_path / "r.pt", res, net)
    obj, tensors = thload(path)
    w1, w2 = (tensors[obj["x"][k]] for k in ("w1", "w2"))
    np.testing.assert_array_equal(np.concatenate([w1.ravel(), w2.ravel()]), res.x)
    X = tensors[obj["input"]]
    np.testing.assert_array_equal(X, np.vstack([net.input.T, np.ones(12)]))
    assert list(obj["trajectory"]) == [float(t) for t in res.trajectory.t]
    assert obj["layerspec"] == ((3, "tanh", True), (2, "identity", True))


@pytest.mark.parametrize("weights_only", [True, False])
def test_save_julia_is_read_by_torch(tmp_path, net, res, weights_only):
    path = save_julia(tmp_path / "r.pt", res, net)
    d = torch.load(path, weights_only=weights_only)
    keys = {"loss", "converged", "optim_stopped_by", "ode_stopped_by", "total_time", "ode_loss",
            "gnorm", "gnorm_regularized", "init", "x", "ode_x", "ode_time_run", "ode_iterations",
            "optim_time_run", "optim_iterations", "input", "target", "layerspec", "trajectory",
            "loss_curve"}
    assert set(d) == keys  # no weights: the reference drops `nothing`
    for name, p in (("x", res.x), ("init", res.init), ("ode_x", res.ode_x)):
        assert d[name]["w1"].stride() == (1, 3) and d[name]["w2"].stride() == (1, 2)
        np.testing.assert_array_equal(julia_vec([d[name]["w1"].numpy(), d[name]["w2"].numpy()]),
                                      to_julia_params(p, net))
    assert isinstance(d["trajectory"], OrderedDict) and d["trajectory"]._metadata == {"version": 1}
    np.testing.assert_array_equal(list(d["trajectory"]), res.trajectory.t)
    np.testing.assert_array_equal(d["loss_curve"].numpy(), res.loss_curve)
    assert (d["loss"], d["converged"], d["ode_stopped_by"], d["optim_iterations"]) == (
        res.loss, res.converged, res.ode_stopped_by, res.optim_iterations)
    np.testing.assert_array_equal(d["input"].numpy(), np.vstack([net.input.T, np.ones(12)]))
    np.testing.assert_array_equal(d["target"].numpy(), net.target.T)


def test_save_julia_then_load_julia(tmp_path, net, res):
    back = load_julia(save_julia(tmp_path / "r.pt", res, net))
    for key in ("x", "init", "ode_x", "loss_curve"):
        np.testing.assert_array_equal(back[key], res[key])
    np.testing.assert_array_equal(back.trajectory.t, res.trajectory.t)
    np.testing.assert_array_equal(back.trajectory.x, res.trajectory.x)
    for key in ("loss", "ode_loss", "gnorm", "gnorm_regularized", "total_time", "converged",
                "ode_stopped_by", "optim_stopped_by", "ode_iterations", "optim_iterations",
                "ode_time_run", "optim_time_run", "shapes"):
        assert back[key] == res[key], key
    assert back.info["layerspec"] == net.layerspec
    # and again, from what was read (the data travel in info["julia"])
    again = load_julia(save_julia(tmp_path / "r2.pt", back))
    np.testing.assert_array_equal(again.info["julia"]["input"], back.info["julia"]["input"])
    assert res.to_reference_dict(net).keys() == torch.load(tmp_path / "r.pt").keys()


def test_save_julia_maxt_is_the_empty_string(tmp_path, net):
    r = mgf.train(net, net.random_params(2), maxT=0.01, maxiterations_optim=0, verbosity=0)
    assert r.ode.reason is StopReason.MAXT
    path = save_julia(tmp_path / "m.pt", r)
    assert torch.load(path)["ode_stopped_by"] == ""
    assert load_julia(path).ode.reason is StopReason.MAXT


def test_save_julia_exclude_and_bad_arguments(tmp_path, net, res):
    path = save_julia(tmp_path / "x.pt", res, net, exclude=["trajectory", "input"])
    assert not {"trajectory", "input"} & set(torch.load(path))
    with pytest.warns(UserWarning, match="'trajektory'"):
        save_julia(tmp_path / "y.pt", res, exclude=["trajektory"])
    with pytest.raises(TypeError, match="`res`"):
        save_julia(tmp_path / "z.pt", {"x": res.x})
    other = mgf.Net([(4, "tanh", True), (2, "identity", True)], input=net.input, target=net.target)
    with pytest.raises(ValueError, match="`net`"):
        save_julia(tmp_path / "z.pt", res, other)
    assert not (tmp_path / "z.pt").exists() and not list(tmp_path.glob(".*tmp"))


def test_save_torch_legacy_types(tmp_path):
    d = {"f32": np.ones((2, 3), np.float32), "i": np.arange(4, dtype=np.int32),
         "b": np.array([[True], [False]]), "big": 2**70, "neg": -(2**40), "s": "μ",
         "empty": np.zeros((0, 3)), "nested": [(), (1.5, None)], "scalar": np.float64(2.5)}
    t = torch.load(save_torch_legacy(tmp_path / "t.pt", d))
    assert t["f32"].dtype == torch.float32 and t["i"].dtype == torch.int64
    assert t["b"].tolist() == [[True], [False]] and t["empty"].shape == (0, 3)
    assert (t["big"], t["neg"], t["s"], t["nested"], t["scalar"]) == (
        2**70, -(2**40), "μ", [(), (1.5, None)], 2.5)
    back = load_torch(tmp_path / "t.pt")
    assert back["i"].dtype == np.int64 and back["b"].dtype == bool
    with pytest.raises(ValueError, match="complex"):
        save_torch_legacy(tmp_path / "c.pt", {"c": np.ones(2, complex)})
    with pytest.raises(ValueError, match="set"):
        save_torch_legacy(tmp_path / "c.pt", {"c": {1, 2}})


# -- hostile and broken files ------------------------------------------------------------------------
def legacy_bytes(obj_pickle: bytes, storages=(), keys=None) -> bytes:
    """A legacy file around a hand-made object pickle; storages: (count, data bytes)."""
    head = b"".join(pickle.dumps(o, protocol=2) for o in (
        MAGIC_NUMBER, 1001, {"protocol_version": 1001, "little_endian": True}))
    keys = [str(i) for i in range(len(storages))] if keys is None else keys
    body = b"".join(struct.pack("<q", n) + data for n, data in storages)
    return head + obj_pickle + pickle.dumps(keys, protocol=2) + body


class Tensor:
    """A tensor record with whatever storage, offset, size and stride a test wants."""

    def __init__(self, key, numel, offset, size, stride, kind=torch.DoubleStorage):
        self.key, self.numel, self.kind = key, numel, kind
        self.args = (offset, size, stride, False, OrderedDict())


class Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            return torch._utils._rebuild_tensor_v2, (("storage", obj),) + obj.args
        return NotImplemented

    def persistent_id(self, obj):
        if isinstance(obj, tuple) and len(obj) == 2 and obj[0] == "storage":
            t = obj[1]
            return ("storage", t.kind, t.key, "cpu", t.numel, None)
        return None


def dumps(obj) -> bytes:
    f = io.BytesIO()
    Pickler(f, protocol=2).dump(obj)
    return f.getvalue()


def refuse(tmp_path, data: bytes, match: str):
    path = tmp_path / "bad.pt"
    path.write_bytes(data)
    with pytest.raises(TorchFileError, match=match) as err:
        load_julia(path)
    assert str(path) in str(err.value)
    return err


def test_a_pickle_naming_another_class_is_refused_unrun(tmp_path):
    marker = tmp_path / "ran"
    evil = b"cos\nsystem\n(X" + struct.pack("<I", len(f"touch {marker}")) + f"touch {marker}".encode() + b"tR."
    refuse(tmp_path, legacy_bytes(evil), r"os\.system")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", evil)
    refuse(tmp_path, buf.getvalue(), r"os\.system")
    assert not marker.exists()
    refuse(tmp_path, legacy_bytes(pickle.dumps({"x": print}, protocol=2)), r"__builtin__\.print")
    f = io.BytesIO()
    torch.save(torch.nn.Linear(2, 2), f)
    refuse(tmp_path, f.getvalue(), "torch.nn.modules.linear.Linear")


def test_wrong_dtypes_are_refused(tmp_path):
    for t, name in ((torch.ones(2, dtype=torch.int32), "IntStorage"),
                    (torch.ones(2, dtype=torch.float16), "HalfStorage"),
                    (torch.ones(2, dtype=torch.complex128), "ComplexDoubleStorage")):
        f = io.BytesIO()
        torch.save({"x": t}, f, _use_new_zipfile_serialization=False)
        refuse(tmp_path, f.getvalue(), name)
    # a bool storage holding a byte 7
    refuse(tmp_path, legacy_bytes(dumps(Tensor("0", 1, 0, (1,), (1,), torch.BoolStorage)),
                                  [(1, b"\x07")]), "bool")
    # parameters that are strings
    refuse(tmp_path, legacy_bytes(pickle.dumps({"x": {"w1": "a"}}, protocol=2)), "numeric matrix")


def test_truncated_files_are_refused(tmp_path, Ms):
    path = tmp_path / "r.pt"
    reference_file(path, Ms)
    data = path.read_bytes()
    for cut in (len(data) - 1, len(data) - 100, len(data) // 2, 30, 5, 0):
        refuse(tmp_path, data[:cut], "truncated|not a readable torch file|not a torch file")
    f = io.BytesIO()
    reference_file(f, Ms, legacy=False)
    refuse(tmp_path, f.getvalue()[:-50], "not a readable torch file|zip")


def test_storage_size_mismatches_are_refused(tmp_path):
    vec = np.arange(4.0).tobytes()
    ok = dumps({"x": {"w1": Tensor("0", 4, 0, (2, 2), (1, 2))}})
    assert load_julia_bytes(tmp_path, legacy_bytes(ok, [(4, vec)])).x.tolist() == [0, 2, 1, 3]
    refuse(tmp_path, legacy_bytes(ok, [(3, vec[:24])]), "storage size mismatch")
    refuse(tmp_path, legacy_bytes(ok, [(4, vec[:24])]), "truncated|storage size mismatch")
    past = dumps({"x": {"w1": Tensor("0", 4, 1, (2, 2), (1, 2))}})  # offset 1: 5 elements
    refuse(tmp_path, legacy_bytes(past, [(4, vec)]), "reaches past its storage")
    refuse(tmp_path, legacy_bytes(ok, [(4, vec)], keys=[]), "storage list")
    twice = dumps({"x": {"w1": Tensor("0", 4, 0, (2, 2), (1, 2)),
                         "w2": Tensor("0", 3, 0, (1, 3), (1, 1))}})
    refuse(tmp_path, legacy_bytes(twice, [(4, vec)]), "declared twice")
    module = b"\x80\x02(X\x06\x00\x00\x00moduleK\x01tQ."
    refuse(tmp_path, legacy_bytes(module), "not a storage record")


def load_julia_bytes(tmp_path, data: bytes):
    path = tmp_path / "ok.pt"
    path.write_bytes(data)
    return load_julia(path)


def test_zip_with_missing_or_short_records_is_refused(tmp_path, Ms):
    f = io.BytesIO()
    reference_file(f, Ms, legacy=False)
    records = {}
    with zipfile.ZipFile(io.BytesIO(f.getvalue())) as z:
        for name in z.namelist():
            records[name] = z.read(name)
    prefix = next(n for n in records if n.endswith("/data.pkl"))[: -len("data.pkl")]

    def rezip(drop=(), short=()):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for name, data in records.items():
                if name not in drop:
                    z.writestr(name, data[:-8] if name in short else data)
        return out.getvalue()

    assert load_julia_bytes(tmp_path, rezip()).loss == 0.25
    refuse(tmp_path, rezip(drop=[prefix + "data.pkl"]), "data.pkl")
    refuse(tmp_path, rezip(drop=[prefix + "data/0"]), "no record")
    refuse(tmp_path, rezip(short=[prefix + "data/0"]), "storage size mismatch")


def test_cycles_deep_nesting_and_non_result_files(tmp_path):
    loop: list = []
    loop.append(loop)
    f = io.BytesIO()
    torch.save(loop, f, _use_new_zipfile_serialization=False)
    refuse(tmp_path, f.getvalue(), "nested deeper")
    refuse(tmp_path, legacy_bytes(pickle.dumps([1, 2], protocol=2)), "no key 'x'")
    refuse(tmp_path, b"not a torch file at all", "not a readable torch file|not a torch file")
    np.savez(tmp_path / "a.npz", x=np.ones(2))
    refuse(tmp_path, (tmp_path / "a.npz").read_bytes(), "data.pkl")
    bad_spec = legacy_bytes(dumps({"x": {"w1": Tensor("0", 4, 0, (2, 2), (1, 2))},
                                   "layerspec": ((3, "tanh", True),)}), [(4, np.zeros(4).tobytes())])
    refuse(tmp_path, bad_spec, "layerspec")
    with pytest.raises(TorchFileError, match="cannot be read"):
        load_julia(tmp_path / "missing.pt")


# -- the flat order ------------------------------------------------------------------------------------
SHAPES_CASES = [
    [(3, "tanh", True), (2, "identity", True)],
    [(4, "relu", False), (3, ("tanh", "relu", "tanh"), True), (1, "identity", False)],
    [(1, "identity", True)],
]


@pytest.mark.parametrize("layers", SHAPES_CASES)
def test_julia_index_is_the_reference_formula(layers):
    lay = mgf.Net(layers, input=np.ones((2, 3)), target=np.ones((2, layers[-1][0]))).layout
    index = julia_index(lay)
    for (k, m), o in zip(lay.shapes, lay.offsets):
        for i in range(k):
            for j in range(m):  # the reference's 1-based vec(M)[i + (j-1)k] is M[i, j]
                assert index[o + i * m + j] == o + i + j * k
    assert sorted(index) == list(range(lay.nparams))


@pytest.mark.parametrize("layers", SHAPES_CASES)
def test_params_round_trips(layers):
    rng = np.random.default_rng(5)
    net = mgf.Net(layers, input=rng.standard_normal((6, 3)),
                  target=rng.standard_normal((6, layers[-1][0])))
    p = net.random_params(4)
    v = julia_vec([M.copy() for M in net.unflatten(p)])
    np.testing.assert_array_equal(from_julia_params(v, net), p)
    np.testing.assert_array_equal(to_julia_params(p, net), v)
    stack = rng.standard_normal((5, net.nparams))
    np.testing.assert_array_equal(from_julia_params(to_julia_params(stack, net), net), stack)
    H = rng.standard_normal((net.nparams, net.nparams))
    np.testing.assert_array_equal(from_julia_hessian(to_julia_hessian(H, net), net), H)
    np.testing.assert_array_equal(to_julia_hessian(from_julia_hessian(H, net), net), H)


def test_hessian_order_against_torch_in_the_reference_layout(net):
    """torch differentiates the loss as a function of the reference's column-major vector;
    converted, its gradient and Hessian are ours."""
    f = torch_loss_fn(net)

    def f_jl(v):
        blocks, o = [], 0
        for k, m in net.shapes:  # Julia's reshape(v, k, m): column-major
            blocks.append(v[o: o + k * m].reshape(m, k).t().reshape(-1))
            o += k * m
        return f(torch.cat(blocks))

    p = net.random_params(3)
    v = torch.tensor(to_julia_params(p, net))
    H_jl = torch.autograd.functional.hessian(f_jl, v).numpy()
    g_jl = torch.autograd.functional.jacobian(f_jl, v).numpy()
    np.testing.assert_allclose(from_julia_hessian(H_jl, net), net.hessian(p), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(to_julia_hessian(net.hessian(p), net), H_jl, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(from_julia_params(g_jl, net), net.gradient(p), rtol=1e-10, atol=1e-13)
    assert not np.allclose(H_jl, net.hessian(p))  # the orders do differ


def test_converters_reject_bad_inputs(net):
    P = net.nparams
    with pytest.raises(ValueError, match=r"`v`.*\(17,\)"):
        from_julia_params(np.zeros(P - 1), net)
    with pytest.raises(ValueError, match="`p`"):
        to_julia_params(np.zeros((2, 3, P)), net)
    with pytest.raises(ValueError, match="`H`"):
        from_julia_hessian(np.zeros((P, P + 1)), net)
    with pytest.raises(ValueError, match="`H`"):
        to_julia_hessian(np.zeros(P), net)
    other = mgf.Net([(4, "tanh", True), (2, "identity", True)], input=net.input, target=net.target)
    with pytest.raises(ValueError, match="`net`"):
        from_julia_params(np.zeros(P), other)
    with pytest.raises(TypeError, match="`net`"):
        to_julia_params(np.zeros(P), "net")
    with pytest.raises(TypeError, match="`v`"):
        from_julia_params(["a"] * P, net)
