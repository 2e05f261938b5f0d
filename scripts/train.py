"""Train one of the course's long experiments, resumably, and publish its best checkpoint.

    python scripts/train.py --list
    OMP_NUM_THREADS=1 python scripts/train.py w2bench-semidual-d16 --hours 0.5 --resume
    python scripts/train.py w2bench-semidual-d64 --device cuda --steps 200000

The experiments, their configurations, validation criteria and files are documented in
mgn_utils.course.experiments and mgn_utils.course.train.
"""

import argparse
import json

from mgn_utils.course.train import EXPERIMENTS, experiment, train


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("experiment", nargs="?", help="a registered experiment (see --list)")
    ap.add_argument("--list", action="store_true", help="list the registered experiments")
    ap.add_argument("--device", default="cpu", help="where to train, e.g. cpu or cuda")
    ap.add_argument("--steps", type=int, help="total steps (part of the configuration)")
    ap.add_argument("--seed", type=int, help="seed (part of the configuration)")
    ap.add_argument("--resume", action="store_true", help="continue the stored run")
    ap.add_argument("--hours", type=float, help="stop after this much wall time (resume later)")
    ap.add_argument("--validate-every", type=int, help="steps between validations")
    ap.add_argument("--checkpoint-every", type=int, help="steps between published checkpoints")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = ap.parse_args()
    if args.list or not args.experiment:
        experiment("w2bench-semidual-d2")  # loads the registry
        for name, exp in sorted(EXPERIMENTS.items()):
            print(f"{name:34s} {exp.description}")
        return
    entry = train(
        args.experiment,
        steps=args.steps,
        seed=args.seed,
        device=args.device,
        resume=args.resume,
        hours=args.hours,
        validate_every=args.validate_every,
        checkpoint_every=args.checkpoint_every,
        progress=not args.no_progress,
    )
    m = entry["metrics"]
    keep = ("steps_done", "steps", "finished", "best_step", "best_validation", "wall_s")
    print(json.dumps({k: m[k] for k in keep}))


if __name__ == "__main__":
    main()
