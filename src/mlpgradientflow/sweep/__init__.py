"""Teacher–student sweeps: one pipeline from a grid to a folder of results, summary and figures.

``mlpgradientflow sweep CONFIG.toml --out DIR`` runs the grid of a TOML file;
``mlpgradientflow run`` (``make run``) runs the same pipeline on the embedded configuration
:data:`RUN`. The parts:

* :mod:`.config`: the configuration, the TOML schema, the expansion into runs;
* :mod:`.run`: training through :func:`~mlpgradientflow.train_many` (resumable), the summary
  files and the figures (:func:`run_sweep`);
* :mod:`.summary`: one row per run (end state, loss, gradient, Morse counts, channel,
  alignment with the teacher);
* :mod:`.figures`: the figures;
* :mod:`.load`: reading a folder back (:func:`load_sweep` into pandas, :func:`describe` for
  ``mlpgradientflow show``).
"""

from .config import RUN as RUN
from .config import RUN_TRAIN as RUN_TRAIN
from .config import ConfigError as ConfigError
from .config import Run as Run
from .config import SweepConfig as SweepConfig
from .config import expand as expand
from .config import load_config as load_config
from .load import describe as describe
from .load import load_sweep as load_sweep
from .run import SweepInterrupted as SweepInterrupted
from .run import SweepOutcome as SweepOutcome
from .run import run_sweep as run_sweep
from .summary import COLUMNS as COLUMNS

__all__ = ["COLUMNS", "ConfigError", "RUN", "RUN_TRAIN", "Run", "SweepConfig", "SweepInterrupted", "SweepOutcome",
           "describe", "expand", "load_config", "load_sweep", "run_sweep"]
