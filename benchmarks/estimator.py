"""MGNTransport on Gaussian pairs: L2-UVP against the closed-form map, and wall time.

    python benchmarks/estimator.py [--out benchmarks/results/estimator_cpu.json]

2,000 + 2,000 training samples of a 2-D and a 16-D Gaussian pair (random covariances), numpy in
and out; L2-UVP on 10,000 fresh source points; monotonicity checked on 10,000 random pairs.
The Gaussian (Bures) map estimated from the same samples is shown beside it (the start).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

import mgn_utils
from mgn_utils.distributions import Gaussian, empirical_gaussian_map, gaussian_ot_map


def pair(d, seed):
    g = torch.Generator().manual_seed(seed)
    eye = torch.eye(d, dtype=torch.float64)
    M1, M2 = (torch.randn(d, d, generator=g, dtype=torch.float64) for _ in range(2))
    S1, S2 = M1 @ M1.T / d + 0.5 * eye, M2 @ M2.T / d + 0.5 * eye
    m1, m2 = torch.zeros(d, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64)
    return Gaussian(m1, S1), Gaussian(m2, S2), gaussian_ot_map(m1, S1, m2, S2), g


def l2_uvp(values, truth, var):
    return float(100 * ((values - truth) ** 2).sum(1).mean() / var)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args(argv)
    rows = []
    for d in (2, 16):
        for seed in range(args.seeds):
            P, Q, (A, b), g = pair(d, 100 * d + seed)
            xs, xt = P.sample(2000, g).numpy(), Q.sample(2000, g).numpy()
            xe = P.sample(10_000, g)
            truth = (xe @ A + b).numpy()
            var = float(Q.cov.trace())
            Ae, be = empirical_gaussian_map(xs, xt)
            start = l2_uvp((xe @ Ae + be).numpy(), truth, var)
            t0 = time.perf_counter()
            est = mgn_utils.MGNTransport(seed=seed, progress=False).fit(Xs=xs, Xt=xt)
            seconds = time.perf_counter() - t0
            out = est.transform(Xs=xe.numpy())
            assert isinstance(out, np.ndarray) and out.dtype == np.float64
            u, v = np.random.default_rng(seed).standard_normal((2, 10_000, d))
            mono = float(np.min(((est.transform(Xs=u) - est.transform(Xs=v)) * (u - v)).sum(1)))
            rows.append(
                {
                    "d": d,
                    "seed": seed,
                    "l2_uvp": l2_uvp(out, truth, var),
                    "gaussian_start_l2_uvp": start,
                    "fit_s": round(seconds, 2),
                    "min_monotonicity": mono,
                }
            )
            print(
                f"d={d:2d} seed={seed}: L2-UVP {rows[-1]['l2_uvp']:.3f} % (Bures map from the "
                f"same samples {start:.3f} %), fit {seconds:.1f} s, min <T(u)-T(v), u-v> "
                f"{mono:.2e}",
                flush=True,
            )
    machine = {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "threads": torch.get_num_threads(),
        "loadavg_start": os.getloadavg(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
    }
    if args.out is not None:
        out = args.out.expanduser().resolve()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
