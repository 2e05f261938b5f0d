"""Training steps per second of the course's typical training steps (CPU, one thread).

Each case is one optimiser step (forward, backward, Adam update) of the kind a chapter
trains, at the chapter's sizes. The cases are timed round-robin in one process (a few
steps of each case in turn, repeated), so that a change of machine load hits them all
alike, and the median step time of each is reported.

Usage::

    .venv/bin/python benchmarks/training_speed.py --quick                  # seconds
    .venv/bin/python benchmarks/training_speed.py --out results/training_cpu.json

Absolute times depend on the machine and its load (printed); compare cases within one run.
"""

from __future__ import annotations

import time

_T_PROCESS = time.perf_counter()

import argparse
import json
import os
import statistics
import sys

import torch

# One thread, before any torch work: several threads can hang batched LU, and they slow down
# beside another busy process.
torch.set_num_threads(1)

from logdet import machine_info  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

import mgn_utils
from mgn_utils import losses
from mgn_utils.distributions import Gaussian


def _adam_step(model, loss_fn):
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model, g).backward()
        opt.step()

    return step


def _gaussian(d, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(d, d, generator=g, dtype=dtype)
    return Gaussian(
        torch.randn(d, generator=g, dtype=dtype), A @ A.T / d + torch.eye(d, dtype=dtype)
    )


def cases(quick: bool):
    """(chapter, description, make_step) for every case."""
    out = []

    def ma_case(ch, d, model, B=256, dtype=torch.float64):
        p, q = (
            _gaussian(d, 1, dtype),
            Gaussian(torch.zeros(d, dtype=dtype), torch.eye(d, dtype=dtype)),
        )

        def loss(T, g):
            return losses.monge_ampere_loss(T, p.sample(B, g), p.log_prob, q.log_prob)

        out.append(
            (
                ch,
                f"{type(model).__name__} d={d} (hidden {model.hidden}), Monge-Ampère L1 loss, "
                f"closed-form log-det, batch {B}, {str(dtype).replace('torch.', '')}",
                lambda: _adam_step(model.to(dtype), loss),
            )
        )

    ma_case("04", 2, mgn_utils.CMGN(2, 8, layers=3))
    # chapter 05's setting: hidden 32, float32, batch 256
    ma_case("05", 16, mgn_utils.CMGN(16, 32, layers=3), B=256, dtype=torch.float32)
    if not quick:
        ma_case("05", 128, mgn_utils.CMGN(128, 32, layers=3), B=256, dtype=torch.float32)

    def sink2d(T, g):  # chapter 04's setting
        x = torch.randn(128, 2, generator=g, dtype=torch.float64)
        y = torch.randn(128, 2, generator=g, dtype=torch.float64) + 1
        return losses.sinkhorn_divergence(T(x), y, eps=0.1, n_iter=2000, tol=1e-3, scaling=0.5)

    out.append(
        (
            "04",
            "C-MGN d=2, Sinkhorn loss (ε = 0.1, tol 1e-3, ε-scaling 0.5), batch 128, float64",
            lambda: _adam_step(mgn_utils.CMGN(2, 8).double(), sink2d),
        )
    )

    colours = torch.rand(4096, 3)
    gauss3 = Gaussian(torch.full((3,), 0.5), torch.eye(3) * 0.05)

    def kl3(T, g):
        x = colours[torch.randint(4096, (512,), generator=g)]
        return losses.change_of_variables_kl(T, x, gauss3.log_prob)

    out.append(
        (
            "06",
            "C-MGN d=3 (27 parameters), change-of-variables KL, batch 512",
            lambda: _adam_step(mgn_utils.CMGN(3, 3, layers=2), kl3),
        )
    )

    digits = torch.rand(1024, 784) ** 4  # stand-in images: speed only

    def sink784(T, g):
        z = torch.randn(256, 784, generator=g)
        y = digits[torch.randint(1024, (256,), generator=g)]
        return losses.sinkhorn_divergence(T(z), y, eps=25.0, tol=1e-3, scaling=0.5)

    out.append(
        (
            "07",
            "C-MGN d=784 (h=256, 10 layers, v_rank=64), Sinkhorn loss (ε = 25, tol 1e-3), batch "
            "256",
            lambda: _adam_step(mgn_utils.CMGN(784, 256, layers=10, v_rank=64), sink784),
        )
    )
    out.append(
        (
            "07",
            "ICNN d=784 (h=160, 2 layers, full quadratic term), Sinkhorn loss (ε = 25, tol 1e-3), "
            "batch 256",
            lambda: _adam_step(mgn_utils.ICNN(784, 160, layers=2, quadratic=True), sink784),
        )
    )

    def wgan_step():
        T, critic = mgn_utils.CMGN(784, 256, layers=10, v_rank=64), losses.Critic(784, hidden=256)
        opt = torch.optim.Adam(T.parameters(), lr=1e-4, betas=(0.5, 0.9))
        opt_c = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.5, 0.9))
        g = torch.Generator().manual_seed(0)

        def step():
            for _ in range(5):
                with torch.no_grad():
                    fake = T(torch.randn(256, 784, generator=g))
                losses.critic_step(
                    critic,
                    opt_c,
                    digits[torch.randint(1024, (256,), generator=g)],
                    fake,
                    generator=g,
                )
            opt.zero_grad(set_to_none=True)
            (-critic(T(torch.randn(256, 784, generator=g))).mean()).backward()
            opt.step()

        return step

    out.append(
        (
            "07",
            "C-MGN d=784 (h=256, 10 layers, v_rank=64), WGAN-GP: 5 critic steps (width 256) + 1 "
            "map step, batch 256",
            wgan_step,
        )
    )
    if not quick:
        out += _w2_games()
    return out


def _w2_games():
    """Chapter 09: one step of each packaged game on the d = 16 benchmark-sized problem (a
    Gaussian pair stands in for the benchmark data): the semi-dual step (3 Newton steps, batch
    256) and one MM:R round (5 map steps and a critic step, batch 512)."""
    from mgn_utils import solvers

    d, p, q = (
        16,
        _gaussian(16, seed=1, dtype=torch.float32),
        _gaussian(16, seed=2, dtype=torch.float32),
    )
    rows = []
    for method, what in (
        ("semidual", "semi-dual step: 3 Newton steps for T^-1, 4-node potential, batch 256"),
        ("minimax", "MM:R round: 5 map steps + 1 critic step (dense quadratic ICNN), batch 512"),
    ):

        def make(method=method):
            T = solvers.fit_w2_map(p.sample, q.sample, d, steps=0, method="minimax")
            f = mgn_utils.models.QuadraticConvexPotential(d, hidden=128, layers=3)
            g = torch.Generator().manual_seed(0)

            def step():
                if method == "semidual":
                    solvers.fit_w2_semidual(
                        T,
                        p.sample,
                        q.sample,
                        steps=1,
                        seed=int(torch.randint(10**6, (1,), generator=g)),
                    )
                else:
                    solvers.fit_w2_minimax(
                        T,
                        f,
                        p.sample,
                        q.sample,
                        1,
                        inner_steps=5,
                        batch_size=512,
                        lr_map=1e-2,
                        lr_potential=1e-2,
                        progress=False,
                    )

            return step

        rows.append(("09", f"C-MGN d=16 (h=128, 8 layers), {what}", make))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="fewer cases and repeats")
    ap.add_argument("--out", help="write the results as JSON here")
    args = ap.parse_args(argv)
    load0 = os.getloadavg()
    torch.manual_seed(0)
    todo = [(ch, what, make()) for ch, what, make in cases(args.quick)]
    rounds, per_round = (3, 2) if args.quick else (7, 3)
    times = {what: [] for _, what, _ in todo}
    for _, _, step in todo:  # warm-up
        step()
    for _ in range(rounds):
        for _, what, step in todo:
            for _ in range(per_round):
                t0 = time.perf_counter()
                step()
                times[what].append(time.perf_counter() - t0)
    rows = []
    for ch, what, _ in todo:
        ms = 1000 * statistics.median(times[what])
        rows.append({"chapter": ch, "case": what, "ms_per_step": ms, "steps_per_s": 1000 / ms})
        print(f"ch {ch}  {ms:9.1f} ms/step  {1000 / ms:8.1f} steps/s  {what}")
    machine = machine_info()  # cpu, commit, versions, threads: the same record as logdet.py
    machine.pop("dtype")  # the cases use float32 and float64, each says which
    machine.update(
        loadavg_start=load0,
        loadavg_end=os.getloadavg(),
        seconds=round(time.perf_counter() - _T_PROCESS, 1),
    )
    print(
        f"load average {load0[0]:.1f} -> {machine['loadavg_end'][0]:.1f}; {machine['seconds']} s "
        f"in all"
    )
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"machine": machine, "rows": rows}, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
