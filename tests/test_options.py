"""One options object: validated where declared (errors name the keyword), one set of
defaults that every caller starts from, the reference's names, JSON and pickle round trips."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest

import mlpgradientflow as mgf
from mlpgradientflow.training import DEFAULTS, StopReason, TrainOptions
from mlpgradientflow.training.options import KEYWORDS

BAD = [
    ("alg", "cvode", "option `alg`: unknown solver 'cvode'"),
    ("alg", 3, "option `alg` must be a solver name"),
    ("abstol", 0.0, "option `abstol` must be a number > 0"),
    ("reltol", math.nan, "option `reltol` must be a number > 0"),
    ("dt", -1.0, "option `dt` must be a number > 0"),
    ("maxT", 0, "option `maxT` must be a number > 0"),
    ("n_samples_trajectory", 2.5, "option `n_samples_trajectory` must be an integer >= 0"),
    ("batchsize", 10, "option `batchsize` needs a discrete rule as `alg`"),
    ("rng", -3, "option `rng` must be an integer >= 0"),
    ("optim_solver", "newtn", "option `optim_solver` must be None or one of"),
    ("optim_options", [1, 2], "option `optim_options` must be a mapping"),
    ("maxiterations_ode", -1, "option `maxiterations_ode` must be an integer >= 0"),
    ("maxiterations_optim", 1e3, "option `maxiterations_optim` must be an integer >= 0"),
    ("maxtime_ode", "5", "option `maxtime_ode` must be a number"),
    ("maxtime_optim", -1.0, "option `maxtime_optim` must be a number >= 0"),
    ("patience", True, "option `patience` must be an integer >= 0"),
    ("min_gnorm", math.inf, "option `min_gnorm` must be a number >= 0 and finite"),
    ("minloss", -1.0, "option `minloss` must be a number >= 0"),
    ("stop_on_channel", 1, "option `stop_on_channel` must be True or False"),
    ("maxnorm", -1.0, "option `maxnorm` must be a number >= 0"),
    ("merge", (0, 1), "option `merge` must be (layer, (i, j), strength)"),
    ("tauinv", -1.0, "option `tauinv` must be a finite number >= 0"),
    ("tauinv", [[1.0]], "option `tauinv` must be a finite number >= 0 or a 1-D array"),
    ("verbosity", -1, "option `verbosity` must be an integer >= 0"),
    ("progress_interval", math.nan, "option `progress_interval` must be a number >= 0"),
    ("blas_threads", 0, "option `blas_threads` must be an integer >= 1"),
    ("end_state", "yes", "option `end_state` must be True or False"),
    ("zero_tol", 1.5, "option `zero_tol` must be a number in [0, 1)"),
]


@pytest.mark.parametrize("key, value, message", BAD)
def test_bad_values_name_the_keyword(key, value, message):
    with pytest.raises((ValueError, TypeError)) as err:
        TrainOptions.make(**{key: value})
    assert message in str(err.value)


def test_train_checks_options_before_it_runs():
    net = mgf.Net([(1, "tanh", True), (1, "identity", True)], din=1)
    with pytest.raises(TypeError, match="unknown option 'maxiterations' .did you mean"):
        mgf.train(net, np.zeros(4), maxiterations=5)
    with pytest.raises(TypeError, match="unknown Newton options .'linesearch_max'."):
        mgf.train(net, np.zeros(4), optim_solver="newton", optim_options={"linesearch_max": 3})


def test_every_reference_name_is_an_option_with_a_home():
    assert {"alg", "optim_solver", "maxiterations_ode", "maxiterations_optim", "maxtime_ode",
            "maxtime_optim", "maxT", "abstol", "reltol", "dt", "n_samples_trajectory", "maxnorm",
            "merge", "tauinv", "batchsize", "patience", "min_gnorm", "minloss", "verbosity",
            "progress_interval", "optim_options"} <= set(KEYWORDS)
    kw = DEFAULTS.keywords()
    assert set(kw) == set(KEYWORDS) and TrainOptions.make(**kw) == DEFAULTS
    for key, (group, name) in KEYWORDS.items():
        holder = DEFAULTS if group is None else getattr(DEFAULTS, group)
        assert getattr(holder, name) is kw[key] or getattr(holder, name) == kw[key]


def test_json_and_pickle_round_trips():
    opts = TrainOptions.make(alg=mgf.Adam(1e-2, beta=(0.8, 0.99)), batchsize=32, rng=4,
                             tauinv=np.array([0.0, 1.0, 2.0]), merge=(0, (0, 1), 0.5),
                             optim_solver="bfgs", optim_options={"gtol": 1e-9},
                             maxtime_optim=30.0, maxT=math.inf)
    text = json.dumps(opts.to_json())  # plain JSON: no infinities, no objects
    back = TrainOptions.from_json(json.loads(text))
    assert back == opts and hash(back) == hash(opts)
    assert back.flow.alg == mgf.Adam(1e-2, beta=(0.8, 0.99))
    np.testing.assert_array_equal(back.tauinv, [0.0, 1.0, 2.0])
    assert pickle.loads(pickle.dumps(opts)) == opts
    with pytest.raises(ValueError, match="cannot be rebuilt from JSON"):
        TrainOptions.from_json({"alg": {"object": "MySolver()"}})
    assert opts.replace(maxiterations_ode=7).stop.maxiterations_ode == 7
    assert opts.stop.maxiterations_ode == DEFAULTS.stop.maxiterations_ode  # frozen: a copy


def test_every_caller_starts_from_the_one_set_of_defaults():
    """Callers change documented keys only; budgets and stopping rules come from DEFAULTS."""
    from mlpgradientflow import parallel, sweep
    from mlpgradientflow.landscape import subspace
    from mlpgradientflow.recovery import expand_cluster
    from mlpgradientflow.theory import saddles

    def changed(opts):
        a, b = opts.to_json(), DEFAULTS.to_json()
        return {k for k in a if a[k] != b[k]}

    assert changed(parallel.QUIET) == {"verbosity"}
    assert changed(saddles.DEFAULT_TRAIN_OPTIONS) == {"verbosity", "min_gnorm"}
    assert changed(subspace.TRAIN_OPTIONS) == {"verbosity", "maxiterations_ode",
                                               "maxiterations_optim"}
    assert changed(expand_cluster.TRAIN_DEFAULTS) == {"verbosity"}
    assert changed(expand_cluster.FINETUNE_DEFAULTS) == {"verbosity"}
    assert changed(sweep.RUN_TRAIN) == {"verbosity", "maxiterations_ode", "maxiterations_optim"}


@pytest.fixture(scope="module")
def small():
    X = np.random.default_rng(0).standard_normal((300, 2))
    teacher = mgf.TeacherNet([(3, "tanh", True), (1, "identity", True)], din=2, rng=1)
    net = mgf.Net([(2, "tanh", True), (1, "identity", True)], input=X, target=teacher(X))
    return net, net.random_params(2)


def test_optim_options_reach_the_optimisers(small, monkeypatch):
    net, p0 = small
    from mlpgradientflow.training import optimize

    seen = {}
    original = optimize.newton_direction

    def spy(g, H, eig_rtol=1e-10, eig_atol=1e-30):
        seen["eig_rtol"] = eig_rtol
        return original(g, H, eig_rtol, eig_atol)

    monkeypatch.setattr(optimize, "newton_direction", spy)
    mgf.train(net, p0, maxiterations_ode=50, optim_solver="newton",
              optim_options={"eig_rtol": 1e-7, "linesearchmax": 20}, verbosity=0)
    assert seen["eig_rtol"] == 1e-7
    # scipy's own tolerance, switched on: BFGS ends by itself, with scipy's message
    r = mgf.train(net, p0, maxiterations_ode=50, optim_solver="bfgs",
                  optim_options={"gtol": 1e-3}, verbosity=0)
    assert r.optim.reason is StopReason.METHOD_ENDED and r.optim_stopped_by == r.optim.message


def test_phase_records_and_results_round_trip(small, tmp_path):
    net, p0 = small
    res = mgf.train(net, p0, maxiterations_ode=200, verbosity=0)
    for rec in (res.ode, res.optim):
        assert rec.n_gradients > 0 and rec.iterations >= 0 and rec.time >= 0
    assert res.ode.n_gradients + res.optim.n_gradients <= res.n_gradients
    assert res.ode_stopped_by == res.ode.stopped_by and res["ode_iterations"] == res.ode.iterations
    res.save(tmp_path / "r.npz")
    back = mgf.load_result(tmp_path / "r.npz")
    assert back.ode == res.ode and back.optim == res.optim and back.options == res.options
    assert back.end_state.to_dict() == res.end_state.to_dict()
    assert TrainOptions.from_json(back.options) == TrainOptions.make(maxiterations_ode=200,
                                                                     verbosity=0)
