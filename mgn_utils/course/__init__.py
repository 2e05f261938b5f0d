"""Course scaffolding, not meant for practitioners: notebook set-up (:mod:`.env`), recorded
results (:mod:`.report`) and pretrained checkpoints with provenance (:mod:`.checkpoints`).

A chapter starts with ``env = mgn_utils.course.setup_notebook()``."""

from .._lazy import attach as _attach

__getattr__, __dir__, __all__ = _attach(
    __name__,
    {
        "checkpoints": ".checkpoints",
        "env": ".env",
        "report": ".report",
        "NotebookEnv": ".env:NotebookEnv",
        "setup_notebook": ".env:setup_notebook",
        "provenance": ".env:provenance",
    },
)
