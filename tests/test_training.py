import copy

import pytest
import torch

from mgn_utils.models import CMGN
from mgn_utils.training import (
    Callback,
    EarlyStopping,
    Monitor,
    exponential_lr,
    fit,
    fit_adversarial,
    wgan_gp_losses,
)


def loss_fn(model, gen):
    x = torch.randn(64, 2, generator=gen)
    target = x @ torch.tensor([[2.0, 0.5], [0.5, 1.0]]) + 1.0
    return ((model(x) - target) ** 2).sum(1).mean()


def test_fit_reduces_loss():
    torch.manual_seed(0)
    res = fit(CMGN(2, 8), loss_fn, steps=200, lr=1e-2, progress=False)
    assert len(res.losses) == 200 and res.losses[-1] < 0.1 * res.losses[0]


def test_resume_equals_uninterrupted(tmp_path):
    torch.manual_seed(0)
    a = CMGN(2, 8)
    b = CMGN(2, 8)
    b.load_state_dict(a.state_dict())
    full = fit(a, loss_fn, steps=30, lr=1e-2, seed=3, progress=False, clip_grad_norm=1.0)
    ck = tmp_path / "run.pt"
    fit(b, loss_fn, steps=12, lr=1e-2, seed=3, progress=False, clip_grad_norm=1.0, checkpoint=ck)
    c = CMGN(2, 8)  # a fresh process would start from a new model
    res = fit(
        c,
        loss_fn,
        steps=30,
        lr=1e-2,
        seed=3,
        progress=False,
        clip_grad_norm=1.0,
        checkpoint=ck,
        resume=True,
    )
    assert res.steps == 18 and res.losses == full.losses
    for p, q in zip(a.parameters(), c.parameters()):
        assert torch.equal(p, q)


def test_nan_loss_raises():
    with pytest.raises(FloatingPointError, match="step 0"):
        fit(
            CMGN(2, 2),
            lambda m, g: m(torch.zeros(1, 2)).sum() * float("nan"),
            steps=3,
            progress=False,
        )


class _Scalar(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.p = torch.nn.Parameter(torch.zeros(()))


def test_lr_final_exponential_schedule():
    # loss = p has gradient 1, so plain SGD moves p by exactly -lr_t at step t
    steps, lr, lr_final = 11, 1e-1, 1e-3
    m = _Scalar()
    fit(
        m,
        lambda model, gen: model.p * 1.0,
        steps=steps,
        lr=lr,
        lr_final=lr_final,
        optimizer="sgd",
        progress=False,
    )
    expected = -sum(lr * (lr_final / lr) ** (t / (steps - 1)) for t in range(steps))
    assert abs(m.p.item() - expected) < 1e-6
    with pytest.raises(ValueError, match="lr_final"):
        fit(_Scalar(), lambda model, gen: model.p, steps=2, lr=1e-2, lr_final=0.0, progress=False)


def test_lr_final_resume_equals_uninterrupted(tmp_path):
    torch.manual_seed(0)
    a = CMGN(2, 8)
    init = {k: v.clone() for k, v in a.state_dict().items()}
    full = fit(a, loss_fn, steps=20, lr=1e-2, lr_final=1e-4, seed=5, progress=False)

    class Stop(Exception):
        pass

    calls = {"n": 0}

    def interrupted(model, gen):
        calls["n"] += 1
        if calls["n"] > 8:
            raise Stop
        return loss_fn(model, gen)

    ck = tmp_path / "sched.pt"
    b = CMGN(2, 8)
    b.load_state_dict(init)
    with pytest.raises(Stop):
        fit(
            b,
            interrupted,
            steps=20,
            lr=1e-2,
            lr_final=1e-4,
            seed=5,
            progress=False,
            checkpoint=ck,
            checkpoint_every=8,
        )
    c = CMGN(2, 8)
    res = fit(
        c,
        loss_fn,
        steps=20,
        lr=1e-2,
        lr_final=1e-4,
        seed=5,
        progress=False,
        checkpoint=ck,
        resume=True,
    )
    assert res.steps == 12 and res.losses == full.losses
    for p, q in zip(a.parameters(), c.parameters()):
        assert torch.equal(p, q)


def test_betas_match_torch_adam():
    # fit(..., betas=...) takes the same steps as torch.optim.Adam with those betas
    def quad(model, gen):
        return (model.p - 3.0) ** 2 * torch.rand((), generator=gen)

    a = _Scalar()
    fit(a, quad, steps=25, lr=1e-1, betas=(0.8, 0.9), seed=2, progress=False)
    b = _Scalar()
    opt = torch.optim.Adam(b.parameters(), lr=1e-1, betas=(0.8, 0.9))
    gen = torch.Generator().manual_seed(2)
    for _ in range(25):
        opt.zero_grad()
        quad(b, gen).backward()
        opt.step()
    assert torch.equal(a.p.detach(), b.p.detach())
    c = _Scalar()
    fit(c, quad, steps=25, lr=1e-1, seed=2, progress=False)  # default betas differ
    assert not torch.equal(a.p.detach(), c.p.detach())
    with pytest.raises(ValueError, match="betas"):
        fit(_Scalar(), quad, steps=2, lr=1e-2, optimizer="sgd", betas=(0.9, 0.99), progress=False)
    with pytest.raises(ValueError, match="betas"):
        fit(_Scalar(), quad, steps=2, lr=1e-2, betas=(0.9, 1.0), progress=False)


def _quadratic_problem():
    target = torch.tensor([1.0, -2.0])
    model = torch.nn.Linear(2, 2)
    return model, lambda m, g: ((m(torch.randn(32, 2, generator=g)) - target) ** 2).mean()


def test_any_torch_scheduler_is_stepped_once_per_step():
    model, loss = _quadratic_problem()
    made = []

    def sched(opt):
        made.append(torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5))
        return made[-1]

    seen = []

    class Grab(Callback):
        every = 1

        def __call__(self, step, model, losses):
            seen.append(made[0].get_last_lr()[0])

    res = fit(model, loss, 12, lr=0.1, scheduler=sched, callbacks=[Grab()], progress=False)
    assert len(res.losses) == 12
    assert seen[3] == pytest.approx(0.1) and seen[4] == pytest.approx(0.05)
    assert seen[9] == pytest.approx(0.025)


def test_monitor_and_early_stopping():
    model, loss = _quadratic_problem()
    mon = Monitor(lambda m: float(m.bias.norm()), every=50, name="bias")
    stop = EarlyStopping(patience=2, min_delta=0.5, window=20, every=20)
    res = fit(model, loss, 5000, lr=0.05, callbacks=[mon, stop], progress=False)
    assert res.stopped_early and res.steps < 5000
    assert res.history["bias"][0][0] == 50 and len(res.history["bias"]) == res.steps // 50


def test_log_every_keeps_every_loss_and_detects_nan():
    model, loss = _quadratic_problem()
    res = fit(model, loss, 25, lr=0.01, log_every=7, progress=False)
    assert len(res.losses) == 25
    bad = lambda m, g: m(torch.randn(4, 2, generator=g)).sum() * float("nan")  # noqa: E731
    with pytest.raises(FloatingPointError, match="step 0"):
        fit(torch.nn.Linear(2, 2), bad, 30, log_every=10, progress=False)


def test_fit_moves_the_model_to_the_device(device):
    model, loss = _quadratic_problem()
    target = torch.tensor([1.0, -2.0], device=device)

    def loss_on_device(m, g):
        return ((m(torch.randn(32, 2, generator=g, device=g.device)) - target) ** 2).mean()

    res = fit(model, loss_on_device, 20, lr=0.05, device=device, progress=False)
    assert next(model.parameters()).device.type == torch.device(device).type
    assert res.losses[-1] < res.losses[0]


def test_fit_adversarial_runs_both_players():
    torch.manual_seed(0)
    gen_model = torch.nn.Linear(2, 2)
    critic = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    shift = torch.tensor([3.0, 0.0])

    def critic_loss(m, c, g):
        x = torch.randn(64, 2, generator=g)
        with torch.no_grad():
            fake = m(x)
        return (
            c(fake).mean()
            - c(torch.randn(64, 2, generator=g) + shift).mean()
            + 10 * sum((p**2).sum() for p in c.parameters()) * 1e-3
        )

    def map_loss(m, c, g):
        return -c(m(torch.randn(64, 2, generator=g))).mean()

    before = [p.detach().clone() for p in critic.parameters()]
    res = fit_adversarial(
        gen_model,
        critic,
        map_loss,
        critic_loss,
        30,
        critic_steps=3,
        lr_map=1e-2,
        lr_critic=1e-2,
        progress=False,
    )
    assert len(res.map_losses) == 30 and len(res.critic_losses) == 90
    assert any((a - b).abs().max() > 0 for a, b in zip(before, critic.parameters()))


# --- WGAN-GP through fit_adversarial: learning from a poor start, and the chapters' loop ------

SHIFT, SCALE = torch.tensor([3.0, -1.0]), torch.tensor([0.5, 2.0])  # Q = N(SHIFT, diag(SCALE²))


def _source(n, g):
    return torch.randn(n, 2, generator=g, device=g.device)


def _target(n, g):
    return SHIFT.to(g.device) + SCALE.to(g.device) * torch.randn(n, 2, generator=g, device=g.device)


def _critic():
    act = torch.nn.LeakyReLU(0.2)
    return torch.nn.Sequential(
        torch.nn.Linear(2, 32), act, torch.nn.Linear(32, 32), act, torch.nn.Linear(32, 1)
    )


def _affine_error(T):
    """‖b − m‖² + ‖WWᵀ − Σ‖²_F: how far the law of T(x) = Wx + b, x ~ N(0, I), is from Q's
    first two moments."""
    W, b = T.weight.detach().cpu(), T.bias.detach().cpu()
    return float(((b - SHIFT) ** 2).sum() + ((W @ W.T - torch.diag(SCALE**2)) ** 2).sum())


@pytest.mark.parametrize("seed", [0, 1])
def test_fit_adversarial_wgan_gp_learns_from_a_poor_start(seed, device):
    torch.manual_seed(seed)
    T = torch.nn.Linear(2, 2)
    with torch.no_grad():  # the identity: error 19.6 (measured ratios after: 0.02)
        T.weight.copy_(torch.eye(2))
        T.bias.zero_()
    start = _affine_error(T)
    map_loss, critic_loss = wgan_gp_losses(_source, _target, 128)
    res = fit_adversarial(
        T,
        _critic(),
        map_loss,
        critic_loss,
        150,
        critic_steps=5,
        lr_map=2e-2,
        lr_critic=5e-3,
        seed=seed,
        device=device,
        progress=False,
    )
    assert res.steps == 150 and len(res.critic_losses) == 750
    assert next(T.parameters()).device.type == torch.device(device).type
    assert _affine_error(T) < 0.2 * start, (start, _affine_error(T))


def test_fit_adversarial_reproduces_the_chapters_wgan_gp_loop():
    """The loop chapters 04 and 07 write out (critic_step n_critic times, then one map step with
    the critic fixed, the map's lr decaying exponentially, an EMA of the map) gives the same
    weights as fit_adversarial with wgan_gp_losses, exponential_lr and a callback."""
    from mgn_utils.losses import critic_step

    torch.manual_seed(0)
    T_a, c_a = torch.nn.Linear(2, 2), _critic()
    T_b, c_b = copy.deepcopy(T_a), copy.deepcopy(c_a)
    B, steps, n_critic, lr, lr_final = 32, 4, 3, 1e-2, 1e-3
    ema_a = torch.optim.swa_utils.AveragedModel(
        T_a, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.9)
    )
    opt_c = torch.optim.Adam(c_a.parameters(), lr=5e-3, betas=(0.5, 0.9))
    opt = torch.optim.Adam(T_a.parameters(), lr=lr, betas=(0.5, 0.9))
    g = torch.Generator().manual_seed(7)
    for step in range(steps):
        for _ in range(n_critic):
            with torch.no_grad():
                fake = T_a(_source(B, g))
            critic_step(c_a, opt_c, _target(B, g), fake, generator=g)
        for group in opt.param_groups:
            group["lr"] = lr * (lr_final / lr) ** (step / max(steps - 1, 1))
        loss = -c_a(T_a(_source(B, g))).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        ema_a.update_parameters(T_a)

    ema_b = torch.optim.swa_utils.AveragedModel(
        T_b, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.9)
    )
    map_loss, critic_loss = wgan_gp_losses(_source, _target, B)
    fit_adversarial(
        T_b,
        c_b,
        map_loss,
        critic_loss,
        steps,
        critic_steps=n_critic,
        lr_map=lr,
        lr_critic=5e-3,
        scheduler_map=exponential_lr(lr, lr_final, steps),
        seed=7,
        callbacks=[lambda step, model, losses: ema_b.update_parameters(model)],
        progress=False,
    )
    for a, b in zip([*T_a.parameters(), *c_a.parameters()], [*T_b.parameters(), *c_b.parameters()]):
        assert torch.allclose(a, b, atol=1e-6)
    for a, b in zip(ema_a.module.parameters(), ema_b.module.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_one_callback_protocol_stops_every_loop_and_monitors_the_ends():
    calls = []

    class StopAt(Callback):
        every = 3

        def __call__(self, step, model, losses):
            calls.append((step, len(losses)))
            return step >= 6

    model, loss = _quadratic_problem()
    mon = Monitor(lambda m: float(m.bias.norm()), every=4, name="b", ends=True)
    res = fit(model, loss, 100, lr=0.01, callbacks=[StopAt(), mon], progress=False)
    assert res.stopped_early and res.steps == 6 and calls == [(3, 3), (6, 6)]
    assert [s for s, _ in res.history["b"]] == [0, 4, 6]  # start, every 4, the end
    critic = _critic()
    map_loss, critic_loss = wgan_gp_losses(_source, _target, 16)
    calls.clear()
    res = fit_adversarial(
        torch.nn.Linear(2, 2), critic, map_loss, critic_loss, 50, critic_steps=1,
        callbacks=[StopAt()], progress=False,
    )  # fmt: skip
    assert res.stopped_early and res.steps == 6 and calls == [(3, 3), (6, 6)]
    with pytest.raises(TypeError, match="callback"):
        fit(model, loss, 2, callbacks=[3], progress=False)
    with pytest.raises(TypeError, match="iterable"):
        fit(model, loss, 2, callbacks=mon, progress=False)


def test_wgan_gp_losses_and_fit_adversarial_check_their_input():
    with pytest.raises(TypeError, match="sample_source"):
        wgan_gp_losses(None, _target, 8)
    with pytest.raises(ValueError, match="batch_size"):
        wgan_gp_losses(_source, _target, 0)
    with pytest.raises(TypeError, match="map_loss"):
        fit_adversarial(torch.nn.Linear(2, 2), _critic(), None, None, 1, progress=False)
