"""Run app.py as a ZeroGPU Space does, for tests: the real ``spaces`` package with SPACES_ZERO_GPU=true.

Only CUDA initialisation is shimmed for the CPU build of torch: it names no CUDA version and has no
``_cuda_init`` (``spaces`` reads both at import), and in the worker ``spaces`` moves tensors to the lent GPU, which it cannot do. Everything
else (decorators, start-up report, scheduling, forked workers, pickling, errors) is the package's own code.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import torch  # importing does not initialise CUDA, so spaces' bad-fork check still passes

torch.version.cuda = torch.version.cuda or "12.8"
if not hasattr(torch._C, "_cuda_init"):

    def _no_cuda() -> None:
        raise AssertionError("Torch not compiled with CUDA enabled")

    torch._C._cuda_init = _no_cuda


def _is_in_bad_fork() -> bool:
    return False  # a CPU build never initialises CUDA; its own stand-in is a lambda, which cannot be pickled


torch.cuda._is_in_bad_fork = _is_in_bad_fork

import spaces  # noqa: E402, F401  (before the app, as in app.py)
from spaces.zero import torch as zero_torch  # noqa: E402

zero_torch.init = lambda nvidia_uuid: None
zero_torch.move = lambda callback=None: None

# app.py itself, run as `python app.py` runs it: its own launch() with gradio's defaults (analytics included);
# the port comes from GRADIO_SERVER_PORT, as the Space platform gives it.
app = Path(__file__).resolve().parents[2] / "app.py"
sys.path.insert(0, str(app.parent))
runpy.run_path(str(app), run_name="__main__")
