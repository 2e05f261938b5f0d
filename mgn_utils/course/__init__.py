"""Course scaffolding, not meant for practitioners: notebook set-up (:mod:`.env`), recorded
results (:mod:`.report`) and pretrained checkpoints with provenance (:mod:`.checkpoints`)."""

from . import checkpoints, env, report
from .env import NotebookEnv, setup_notebook

__all__ = ["checkpoints", "env", "report", "NotebookEnv", "setup_notebook"]
