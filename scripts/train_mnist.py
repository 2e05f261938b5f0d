"""Train the generators of chapter 7 (MNIST) and store them as checkpoints with provenance.

    OMP_NUM_THREADS=1 python scripts/train_mnist.py --list
    OMP_NUM_THREADS=1 python scripts/train_mnist.py "M-MGN / Sinkhorn" --seed 1
    OMP_NUM_THREADS=1 python scripts/train_mnist.py all            # every configuration and seed
    python scripts/train_mnist.py "C-MGN / WGAN-GP" --device cuda  # on a GPU

There is one copy of the models, the losses and the training loop: the chapter's own cells. This
script executes the cells of ``chapters/07_mnist.ipynb`` that import, configure, load the data
and define ``train_or_load`` (nothing that evaluates or plots a model), then calls
``train_or_load(..., retrain=True)``. A configuration is a key of the chapter's ``GENERATORS``;
the checkpoint is ``checkpoints/mnist-gen-MODEL-LOSS[-pcaK]-sSEED.pt`` (float16 state dict)
with an entry in ``checkpoints/MANIFEST.json``: the configuration, the metrics, the git commit,
the device, the training time and the date (``mgn_utils.course.checkpoints.save_checkpoint``).

Data. The stored checkpoints were trained on the 8,000-image training part of the fixed split
of the MNIST *test* file (``mnist_split(labels, holdout=0.2, seed=0)``), read offline from
``$MGN_DATA``. ``mgn_utils.load_mnist`` ships only that file. To train on the full 60,000-image
training split (e.g. on Colab, where the download works), pass ``--train60k``: the images come
from ``torchvision.datasets.MNIST(train=True, download=True)`` (``pip install torchvision``), the
configuration gets ``data="mnist-train-60k"`` so that such a checkpoint never replaces the
chapter's ones, and the held-out 2,000 digits of the chapter stay unseen (they come from the
test file). ``MGN_CHECKPOINTS=DIR`` writes the checkpoints and their manifest to DIR instead.

Device. ``--device`` (default: the chapter's choice, cuda when present) replaces ``env.device``
in the chapter's namespace and moves the training images there; the chapter's training cells
train on ``env.device``.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "chapters" / "07_mnist.ipynb"
# The cells executed, each found by a line it contains (imports, configuration, data, training).
MARKERS = [
    "env = mgn_utils.course.setup_notebook",
    "GENERATORS = {",
    "mnist_split(",
    "def train_or_load",
    "def generator_data",
]


def chapter_namespace():
    """Execute the chapter's set-up and training cells; return their global namespace."""
    os.environ.setdefault("MGN_PROFILE", "full")
    os.environ.setdefault("MPLBACKEND", "Agg")
    cells = [
        "".join(c["source"])
        for c in json.loads(NOTEBOOK.read_text())["cells"]
        if c["cell_type"] == "code"
    ]
    ns = {"__name__": "chapter07"}
    for marker in MARKERS:
        (src,) = [s for s in cells if marker in s]
        exec(compile(src, f"{NOTEBOOK.name}[{marker}]", "exec"), ns)
    return ns


def train_60k():
    """The 60,000 training digits as a (60000, 784) float tensor in [0, 1] (needs torchvision)."""
    import torch
    from torchvision.datasets import MNIST

    data = MNIST(os.environ.get("MGN_DATA", "."), train=True, download=True).data
    return data.reshape(-1, 784).to(torch.float32) / 255.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("config", nargs="?", default="all", help="a key of GENERATORS, or 'all'")
    ap.add_argument("--seed", type=int, action="append", help="default: the chapter's seeds")
    ap.add_argument("--list", action="store_true", help="list the configurations and exit")
    ap.add_argument("--train60k", action="store_true", help="train on the 60k training split")
    ap.add_argument("--steps", type=int, help="override the steps (then the chapter won't match)")
    ap.add_argument("--device", help="where to train (default: the chapter's env.device)")
    args = ap.parse_args()
    ns = chapter_namespace()
    if args.device:
        import dataclasses

        import torch

        ns["env"] = dataclasses.replace(ns["env"], device=torch.device(args.device))
    device = ns["env"].device
    generators = ns["GENERATORS"]
    if args.list:
        for key, (cfg, seeds) in generators.items():
            print(f"{key!r}: seeds {seeds}, {cfg}")
        return
    keys = list(generators) if args.config == "all" else [args.config]
    data = (train_60k() if args.train60k else ns["X_train"]).to(device)
    for key in keys:
        cfg, seeds = generators[key]
        for seed in args.seed or seeds:
            run = {**cfg, "seed": seed} | ({"data": "mnist-train-60k"} if args.train60k else {})
            run |= {"steps": args.steps} if args.steps else {}
            name = ns["checkpoint_name"](cfg, seed)
            t0 = time.perf_counter()
            source, target, _ = ns["generator_data"](cfg, data)
            T, entry = ns["train_or_load"](name, run, source, target, retrain=True)
            print(f"{name}: {entry['duration_s']:.0f} s training, {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
