"""Train the Monge-Ampère morphing maps of chapter 8 and save small checkpoints.

    OMP_NUM_THREADS=1 python scripts/train_morphing.py --pairs 0-4            # the headline pair
    OMP_NUM_THREADS=1 python scripts/train_morphing.py --pairs all --steps 1500
    python scripts/train_morphing.py --pairs 0-4 --device cuda        # on a GPU

Source = first MNIST test image of the source digit, target = second test image of the target digit
(the authors' code uses images 0 and 1 of the training split, which the course does not ship).
Each checkpoint is checkpoints/morphing/morph_S_T_STEPS.pt with an entry in
checkpoints/morphing/MANIFEST.json. ``--device`` (default cpu) is where the network trains;
the reference and the metrics are computed on the CPU, and the checkpoint is stored from there.
"""

import argparse
import json

import numpy as np
import torch

from mgn_utils.course.checkpoints import CheckpointError, find_checkpoint, save_checkpoint
from mgn_utils.datasets import load_mnist
from mgn_utils.solvers import MORPH_DEFAULTS, map_mse, morphing_reference, train_morphing


def digit_images():
    images, labels = load_mnist()
    return {
        d: (images[np.flatnonzero(labels == d)[0]], images[np.flatnonzero(labels == d)[1]])
        for d in range(10)
    }


def pair_config(s, t, steps):
    return {**MORPH_DEFAULTS, "steps": steps, "source": [s, 0], "target": [t, 1]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", default="0-4", help="'all' (digits 0-4, 25 pairs) or e.g. '0-4,1-2'")
    ap.add_argument("--steps", type=int, default=MORPH_DEFAULTS["steps"])
    ap.add_argument(
        "--force", action="store_true", help="retrain even if a matching checkpoint exists"
    )
    ap.add_argument("--device", default="cpu", help="where to train, e.g. cpu or cuda")
    args = ap.parse_args()
    device = torch.device(args.device)
    pairs = (
        [(s, t) for s in range(5) for t in range(5)]
        if args.pairs == "all"
        else [tuple(int(v) for v in p.split("-")) for p in args.pairs.split(",")]
    )
    imgs = digit_images()
    for s, t in pairs:
        cfg, name = pair_config(s, t, args.steps), f"morph_{s}_{t}_{args.steps}"
        if not args.force and _exists(name, cfg):
            print(f"{name}: matching checkpoint exists, skipped", flush=True)
            continue
        src, tgt = imgs[s][0], imgs[t][1]
        net, losses, seconds = train_morphing(
            src, tgt, {k: cfg[k] for k in MORPH_DEFAULTS}, device=device
        )
        net = net.cpu()
        x, T1, T2 = morphing_reference(src, tgt)
        with torch.no_grad():
            mse = map_mse(net(x.float()), T1)
        metrics = dict(
            mse=mse,
            floor=map_mse(T1, T2),
            identity=map_mse(x, T1),
            final_loss=float(np.mean(losses[-max(1, len(losses) // 10) :])),
            train_seconds=round(seconds, 1),
        )
        save_checkpoint(net, name, cfg, metrics, folder="morphing", duration_s=seconds)
        print(name, json.dumps(metrics), flush=True)


def _exists(name, cfg) -> bool:
    try:
        find_checkpoint(name, cfg, folder="morphing", url=None)
        return True
    except CheckpointError:
        return False


if __name__ == "__main__":
    main()
