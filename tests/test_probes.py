"""Bad-input probes over the public API (issue 27, item 7).

Zero steps are a valid no-op for the training loops (they return an empty result), so the
probes use negative counts there.

Each row is ``(id, call, expected exception type, regex the message must match)``. A row passes
when ``call()`` raises that type with a message naming what was expected; a raw torch/numpy
message, a different type, or a silent return (no error) fails it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mgn_utils as mu
from mgn_utils import (
    autodiff,
    datasets,
    distributions,
    losses,
    metrics,
    models,
    plotting,
    solvers,
    training,
    widgets,
)
from mgn_utils.course import env, report

X = torch.randn(8, 2)
Y = torch.randn(8, 2)
X3 = torch.randn(8, 3)
NAN = X.clone()
NAN[0, 0] = float("nan")
INF = X.clone()
INF[1, 1] = float("inf")
EYE = torch.eye(2)
M0 = torch.zeros(2)
META = torch.empty(8, 2, device="meta")
INTS = torch.ones(8, 2, dtype=torch.int64)
HALF = torch.randn(8, 2).half()
SHAPE = r"shape|\(B, \d\)|\(n, d\)|\(d,\)|\(B, d\)|column|dim"
FINITE = r"NaN|nan|finite|infinite"


def _lp(x):
    return -0.5 * (x**2).sum(-1)


def _quad(x):
    return 0.5 * (x**2).sum(-1)


def _cmgn():
    return models.CMGN(2, 4, layers=1)


def _mmgn():
    return models.MMGN(2, 4, modules=2)


def _sample(n, generator=None):
    return torch.randn(n, 2)


PROBES = [
    # --- models: constructors -------------------------------------------------------------
    ("CMGN-dim0", lambda: models.CMGN(0, 4), ValueError, r"dim must be >= 1"),
    ("CMGN-dim-neg", lambda: models.CMGN(-2, 4), ValueError, r"dim must be >= 1"),
    ("CMGN-dim-float", lambda: models.CMGN(2.5, 4), TypeError, r"dim must be an int"),
    ("CMGN-hidden0", lambda: models.CMGN(2, 0), ValueError, r"hidden must be >= 1"),
    ("CMGN-layers0", lambda: models.CMGN(2, 4, layers=0), ValueError, r"layers must be >= 1"),
    ("CMGN-activation", lambda: models.CMGN(2, 4, activation="foo"), ValueError, r"activation"),
    ("CMGN-eps-neg", lambda: models.CMGN(2, 4, eps=-1.0), ValueError, r"eps must be >= 0"),
    ("CMGN-eps-nan", lambda: models.CMGN(2, 4, eps=float("nan")), ValueError, r"eps.*finite"),
    ("MMGN-modules0", lambda: models.MMGN(2, 4, modules=0), ValueError, r"modules must be >= 1"),
    ("MMGN-hidden-neg", lambda: models.MMGN(2, -1), ValueError, r"hidden must be >= 1"),
    ("MMGN-vrank0", lambda: models.MMGN(2, 4, v_rank=0), ValueError, r"v_rank.*must be >= 1"),
    ("Softmax-modules0", lambda: models.SoftmaxMGradNetM(modules=0), ValueError, r"modules"),
    ("Softmax-scale0", lambda: models.SoftmaxMGradNetM(scale=0.0), ValueError, r"scale"),
    ("ICNN-dim0", lambda: models.ICNN(0, 4), ValueError, r"dim must be >= 1"),
    ("ICNN-layers0", lambda: models.ICNN(2, 4, layers=0), ValueError, r"layers must be >= 1"),
    ("ICGN-quadrature0", lambda: models.ICGN(2, 4, quadrature=0), ValueError, r"quadrature"),
    ("ICGN-activation", lambda: models.ICGN(2, 4, activation="foo"), ValueError, r"activation"),
    ("MLPMap-hidden0", lambda: models.MLPMap(2, 0), ValueError, r"hidden must be >= 1"),
    ("MLPMap-activation", lambda: models.MLPMap(2, 4, activation="x"), ValueError, r"activation"),
    ("ConvexPotential-dim0", lambda: models.ConvexPotential(0), ValueError, r"dim.*must be >= 1"),
    (
        "ConvexPotential-first",
        lambda: models.ConvexPotential(2, first="x"),
        ValueError,
        r"first",
    ),
    ("QuadPotential-dim0", lambda: models.QuadraticConvexPotential(0), ValueError, r"dim"),
    (
        "QuadPotential-layers0",
        lambda: models.QuadraticConvexPotential(2, layers=0),
        ValueError,
        r"layers",
    ),
    ("Critic-dim0", lambda: models.Critic(0), ValueError, r"dim must be >= 1"),
    ("Critic-hidden0", lambda: models.Critic(2, hidden=0), ValueError, r"hidden must be >= 1"),
    # --- models: forward ------------------------------------------------------------------
    ("CMGN-fwd-1d", lambda: _cmgn()(torch.randn(2)), ValueError, r"\(B, 2\)"),
    ("CMGN-fwd-cols", lambda: _cmgn()(X3), ValueError, r"\(B, 2\)"),
    ("CMGN-fwd-list", lambda: _cmgn()([[0.0, 1.0]]), TypeError, r"torch.Tensor"),
    ("CMGN-fwd-int", lambda: _cmgn()(INTS), ValueError, r"dtype"),
    ("CMGN-fwd-half", lambda: _cmgn()(HALF), ValueError, r"dtype"),
    ("CMGN-fwd-meta", lambda: _cmgn()(META), ValueError, r"device"),
    ("CMGN-jacobian-cols", lambda: _cmgn().jacobian(X3), ValueError, r"\(B, 2\)"),
    ("CMGN-logdet-cols", lambda: _cmgn().logdet_jacobian(X3), ValueError, r"\(B, 2\)"),
    ("CMGN-potential-cols", lambda: _cmgn().potential(X3), ValueError, r"\(B, 2\)"),
    ("MMGN-fwd-cols", lambda: _mmgn()(X3), ValueError, r"\(B, 2\)"),
    ("MMGN-fwd-3d", lambda: _mmgn()(torch.randn(2, 4, 2)), ValueError, r"\(B, 2\)"),
    ("MMGN-fwd-meta", lambda: _mmgn()(META), ValueError, r"device"),
    ("Softmax-fwd-cols", lambda: models.SoftmaxMGradNetM()(X3), ValueError, r"\(B, 2\)"),
    ("ICNN-fwd-cols", lambda: models.ICNN(2, 4)(X3), ValueError, r"\(B, 2\)"),
    ("ICNN-fwd-list", lambda: models.ICNN(2, 4)([[0.0, 1.0]]), TypeError, r"torch.Tensor"),
    ("ICGN-fwd-cols", lambda: models.ICGN(2, 4)(X3), ValueError, r"\(B, 2\)"),
    ("MLPMap-fwd-cols", lambda: models.MLPMap(2, 4)(X3), ValueError, r"\(B, 2\)"),
    ("MLPMap-fwd-int", lambda: models.MLPMap(2, 4)(INTS), ValueError, r"dtype"),
    ("ConvexPotential-fwd-cols", lambda: models.ConvexPotential(2)(X3), ValueError, r"\(B, 2\)"),
    (
        "QuadPotential-fwd-cols",
        lambda: models.QuadraticConvexPotential(2)(X3),
        ValueError,
        r"\(B, 2\)",
    ),
    ("Critic-fwd-cols", lambda: models.Critic(2)(X3), ValueError, r"\(B, 2\)"),
    ("Critic-fwd-1d", lambda: models.Critic(2)(torch.randn(2)), ValueError, r"\(B, 2\)"),
    (
        "logdet_spd-nonsquare",
        lambda: models.logdet_spd(torch.randn(3, 2, 3)),
        ValueError,
        r"square|\(B, d, d\)",
    ),
    (
        "logdet_spd-notpd",
        lambda: models.logdet_spd(-torch.eye(2).expand(3, 2, 2)),
        torch.linalg.LinAlgError,
        r"positive definite",
    ),
    (
        "init_affine-A-shape",
        lambda: models.init_affine(_cmgn(), torch.eye(3), M0, X),
        ValueError,
        r"A.*\(2, 2\)",
    ),
    (
        "init_affine-b-shape",
        lambda: models.init_affine(_cmgn(), EYE, torch.zeros(3), X),
        ValueError,
        r"b.*\(2,\)",
    ),
    (
        "init_affine-x-cols",
        lambda: models.init_affine(_cmgn(), EYE, M0, X3),
        ValueError,
        r"x.*\(B, 2\)|\(n, 2\)",
    ),
    # --- distributions --------------------------------------------------------------------
    ("Gaussian-mean-2d", lambda: distributions.Gaussian(EYE, EYE), ValueError, r"mean.*\(d,\)"),
    (
        "Gaussian-cov-shape",
        lambda: distributions.Gaussian(M0, torch.eye(3)),
        ValueError,
        r"cov.*\(d, d\)",
    ),
    (
        "Gaussian-cov-nonsym",
        lambda: distributions.Gaussian(M0, torch.tensor([[1.0, 0.5], [0.0, 1.0]])),
        ValueError,
        r"symmetric",
    ),
    (
        "Gaussian-cov-notpd",
        lambda: distributions.Gaussian(M0, -EYE),
        ValueError,
        r"positive definite",
    ),
    (
        "Gaussian-mean-nan",
        lambda: distributions.Gaussian(torch.tensor([float("nan"), 0.0]), EYE),
        ValueError,
        FINITE,
    ),
    (
        "Gaussian-mean-empty",
        lambda: distributions.Gaussian(torch.zeros(0), torch.zeros(0, 0)),
        ValueError,
        r"\(d,\)",
    ),
    (
        "Gaussian-mean-str",
        lambda: distributions.Gaussian("ab", EYE),
        (TypeError, ValueError),
        r"mean",
    ),
    (
        "Gaussian-sample-neg",
        lambda: distributions.Gaussian(M0, EYE).sample(-1),
        ValueError,
        r"n must be",
    ),
    (
        "Gaussian-sample-float",
        lambda: distributions.Gaussian(M0, EYE).sample(2.5),
        (TypeError, ValueError),
        r"n must be",
    ),
    (
        "Gaussian-logprob-cols",
        lambda: distributions.Gaussian(M0, EYE).log_prob(X3),
        ValueError,
        r"\(n, 2\)",
    ),
    (
        "Gaussian-logprob-1d",
        lambda: distributions.Gaussian(M0, EYE).log_prob(torch.zeros(2)),
        ValueError,
        r"\(n, 2\)",
    ),
    (
        "Gaussian-logprob-str",
        lambda: distributions.Gaussian(M0, EYE).log_prob("ab"),
        (TypeError, ValueError),
        r"x.*\(n, 2\)|x could not",
    ),
    (
        "Mixture-weights-sum",
        lambda: distributions.GaussianMixture(
            torch.tensor([0.5, 0.6]), torch.zeros(2, 2), torch.eye(2).expand(2, 2, 2)
        ),
        ValueError,
        r"sum to 1",
    ),
    (
        "Mixture-weights-neg",
        lambda: distributions.GaussianMixture(
            torch.tensor([1.5, -0.5]), torch.zeros(2, 2), torch.eye(2).expand(2, 2, 2)
        ),
        ValueError,
        r"nonnegative|non-negative",
    ),
    (
        "Mixture-means-k",
        lambda: distributions.GaussianMixture(
            torch.tensor([0.5, 0.5]), torch.zeros(3, 2), torch.eye(2).expand(2, 2, 2)
        ),
        ValueError,
        r"means.*\(K, d\)|\(2, d\)",
    ),
    (
        "Mixture-covs-shape",
        lambda: distributions.GaussianMixture(
            torch.tensor([0.5, 0.5]), torch.zeros(2, 2), torch.eye(3).expand(2, 3, 3)
        ),
        ValueError,
        r"covs.*\(K, d, d\)",
    ),
    (
        "Mixture-logprob-cols",
        lambda: distributions.GaussianMixture(
            torch.tensor([1.0]), torch.zeros(1, 2), torch.eye(2)[None]
        ).log_prob(X3),
        ValueError,
        r"\(n, 2\)",
    ),
    ("Banana-a-nan", lambda: distributions.Banana(a=float("nan")), ValueError, r"a.*finite"),
    ("Banana-scale0", lambda: distributions.Banana(scale=(0.0, 1.0)), ValueError, r"scale"),
    ("Banana-shift-len", lambda: distributions.Banana(shift=(0.0, 0.0, 0.0)), ValueError, r"shift"),
    ("Banana-sample-neg", lambda: distributions.Banana().sample(-3), ValueError, r"n must be"),
    ("Banana-logprob-cols", lambda: distributions.Banana().log_prob(X3), ValueError, r"\(n, 2\)"),
    ("ImageKDE-2d-int", lambda: distributions.ImageKDE(np.ones((4, 4, 3))), ValueError, r"image"),
    ("ImageKDE-zero", lambda: distributions.ImageKDE(np.zeros((4, 4))), ValueError, r"image"),
    (
        "ImageKDE-bandwidth0",
        lambda: distributions.ImageKDE(np.ones((4, 4)), bandwidth=0.0),
        ValueError,
        r"bandwidth",
    ),
    (
        "ImageKDE-sample-neg",
        lambda: distributions.ImageKDE(np.ones((4, 4))).sample(-1),
        ValueError,
        r"n must be",
    ),
    (
        "gaussian_w2-dims",
        lambda: distributions.gaussian_w2(M0, EYE, torch.zeros(3), torch.eye(3)),
        ValueError,
        r"\(d,\)|\(d, d\)",
    ),
    (
        "gaussian_w2-notpsd",
        lambda: distributions.gaussian_w2(M0, EYE, M0, -EYE),
        ValueError,
        r"positive semi-definite",
    ),
    (
        "gaussian_ot_map-nonsym",
        lambda: distributions.gaussian_ot_map(M0, torch.tensor([[1.0, 0.5], [0.0, 1.0]]), M0, EYE),
        ValueError,
        r"symmetric",
    ),
    (
        "sqrtm_psd-nonsquare",
        lambda: distributions.sqrtm_psd(torch.ones(2, 3)),
        ValueError,
        r"\(d, d\)|square",
    ),
    (
        "sqrtm_psd-nan",
        lambda: distributions.sqrtm_psd(torch.full((2, 2), float("nan"))),
        ValueError,
        FINITE,
    ),
    (
        "empirical_map-cols",
        lambda: distributions.empirical_gaussian_map(X, X3),
        ValueError,
        r"xt.*\(B, 2\)",
    ),
    (
        "empirical_map-one-point",
        lambda: distributions.empirical_gaussian_map(X[:1], Y[:1]),
        ValueError,
        r"at least 2",
    ),
    ("empirical_map-nan", lambda: distributions.empirical_gaussian_map(NAN, Y), ValueError, FINITE),
    # --- losses ---------------------------------------------------------------------------
    ("sliced_w2-cols", lambda: losses.sliced_w2(X, X3), ValueError, r"columns|\(n, 2\)|same"),
    (
        "sliced_w2-nproj0",
        lambda: losses.sliced_w2(X, Y, n_projections=0),
        ValueError,
        r"n_projections",
    ),
    ("sliced_w2-nan", lambda: losses.sliced_w2(NAN, Y), ValueError, FINITE),
    ("sliced_w2-1d", lambda: losses.sliced_w2(torch.randn(8), Y), ValueError, SHAPE),
    ("sliced_w2-empty", lambda: losses.sliced_w2(torch.zeros(0, 2), Y), ValueError, SHAPE),
    ("sinkhorn-eps0", lambda: losses.sinkhorn_divergence(X, Y, eps=0.0), ValueError, r"eps"),
    (
        "sinkhorn-cols",
        lambda: losses.sinkhorn_divergence(X, X3),
        ValueError,
        r"columns|\(n, 2\)|same",
    ),
    (
        "sinkhorn-weights",
        lambda: losses.sinkhorn_divergence(X, Y, a=torch.ones(8)),
        ValueError,
        r"sum to 1",
    ),
    (
        "entropic_ot-weights-len",
        lambda: losses.entropic_ot(X, Y, 0.1, a=torch.ones(3) / 3),
        ValueError,
        r"\(8,\)",
    ),
    (
        "moment_kl-cov",
        lambda: losses.moment_kl(X, M0, torch.eye(3)),
        ValueError,
        r"\(d, d\)|\(2, 2\)",
    ),
    (
        "moment_kl-one-point",
        lambda: losses.moment_kl(X[:1], M0, EYE),
        ValueError,
        r"more samples than dimensions",
    ),
    (
        "gaussian_kl-notpd",
        lambda: losses.gaussian_kl(M0, EYE, M0, -EYE),
        ValueError,
        r"positive definite",
    ),
    (
        "monge_ampere-noncallable",
        lambda: losses.monge_ampere_loss(_cmgn(), X, 3.0, _lp),
        TypeError,
        r"must be callable",
    ),
    (
        "monge_ampere-cols",
        lambda: losses.monge_ampere_loss(_cmgn(), X3, _lp, _lp),
        ValueError,
        r"\(B, 2\)",
    ),
    (
        "monge_ampere-p",
        lambda: losses.monge_ampere_loss(_cmgn(), X, _lp, _lp, p=3),
        ValueError,
        r"p must be",
    ),
    (
        "cov_kl-noncallable",
        lambda: losses.change_of_variables_kl(_cmgn(), X, None),
        TypeError,
        r"must be callable",
    ),
    (
        "gradient_penalty-shapes",
        lambda: losses.gradient_penalty(models.Critic(2), X, X3),
        ValueError,
        r"same shape|shape",
    ),
    # --- metrics --------------------------------------------------------------------------
    ("exact_w2-cols", lambda: metrics.exact_w2(X, X3), ValueError, r"\(n, d\) and \(m, d\)"),
    ("exact_w2-nan", lambda: metrics.exact_w2(NAN, Y), ValueError, FINITE),
    ("exact_w2-empty", lambda: metrics.exact_w2(np.zeros((0, 2)), Y), ValueError, SHAPE),
    ("exact_w2-str", lambda: metrics.exact_w2("ab", Y), TypeError, r"array"),
    ("exact_w2-meta", lambda: metrics.exact_w2(META, Y), ValueError, r"device|meta"),
    ("l2_uvp-var0", lambda: metrics.l2_uvp(X, Y, X, 0.0), ValueError, r"target_var"),
    ("l2_uvp-shape", lambda: metrics.l2_uvp(X, Y[:4], X, 1.0), ValueError, r"shape"),
    ("l2_uvp-nan", lambda: metrics.l2_uvp(NAN, Y, X, 1.0), ValueError, FINITE),
    ("l2_uvp-empty", lambda: metrics.l2_uvp(X[:0], Y[:0], X[:0], 1.0), ValueError, SHAPE),
    (
        "barycentric-cols",
        lambda: metrics.barycentric_projection(X, X3),
        ValueError,
        r"\(n, d\) and \(m, d\)",
    ),
    (
        "barycentric-1d",
        lambda: metrics.barycentric_projection(torch.randn(8), Y),
        ValueError,
        SHAPE,
    ),
    (
        "transport_cost-noncallable",
        lambda: metrics.transport_cost(3, X),
        TypeError,
        r"must be a callable",
    ),
    ("transport_cost-inf", lambda: metrics.transport_cost(lambda z: z, INF), ValueError, FINITE),
    # --- autodiff -------------------------------------------------------------------------
    (
        "jacobian-1d",
        lambda: autodiff.jacobian(lambda z: z, torch.randn(3)),
        ValueError,
        r"\(B, d\)",
    ),
    ("jacobian-noncallable", lambda: autodiff.jacobian(3, X), TypeError, r"f must be callable"),
    (
        "jacobian-list",
        lambda: autodiff.jacobian(lambda z: z, [[0.0, 1.0]]),
        TypeError,
        r"torch.Tensor",
    ),
    ("jacobian-int", lambda: autodiff.jacobian(lambda z: z, INTS), ValueError, r"floating"),
    ("hessian-nonscalar", lambda: autodiff.hessian(lambda z: z, X), ValueError, r"\(B,\)|scalar"),
    (
        "logdet_jacobian-nonsquare",
        lambda: autodiff.logdet_jacobian(lambda z: z[:, :1], X),
        ValueError,
        r"\(B, d\)|square|same",
    ),
    (
        "line_integral-nodes0",
        lambda: autodiff.line_integral_potential(lambda z: z, X, n_nodes=0),
        ValueError,
        r"n_nodes",
    ),
    (
        "line_integral-x0",
        lambda: autodiff.line_integral_potential(lambda z: z, X, x0=torch.zeros(3)),
        ValueError,
        r"x0",
    ),
    (
        "line_integral-noncallable",
        lambda: autodiff.line_integral_potential(None, X),
        TypeError,
        r"T must be callable",
    ),
    # --- datasets -------------------------------------------------------------------------
    ("load_pair-dim", lambda: datasets.load_pair(3), ValueError, r"dim"),
    ("load_pair-constants", lambda: datasets.load_pair(2, constants="x"), ValueError, r"constants"),
    (
        "load_photo-name",
        lambda: datasets.load_photo("no-such-photo"),
        (ValueError, FileNotFoundError),
        r"photo|known|not found",
    ),
    ("load_photo-int", lambda: datasets.load_photo(3), TypeError, r"name|path"),
    (
        "image_to_colors-2d",
        lambda: datasets.image_to_colors(np.zeros((4, 4))),
        ValueError,
        r"\(H, W, 3\)",
    ),
    (
        "image_to_colors-list",
        lambda: datasets.image_to_colors("x"),
        (TypeError, ValueError),
        r"\(H, W, 3\)|image",
    ),
    (
        "colors_to_image-size",
        lambda: datasets.colors_to_image(np.zeros((10, 3)), (4, 4)),
        ValueError,
        r"16|shape",
    ),
    (
        "colors_to_image-cols",
        lambda: datasets.colors_to_image(np.zeros((16, 2)), (4, 4)),
        ValueError,
        r"\(n, 3\)|3",
    ),
    (
        "mnist_split-holdout",
        lambda: datasets.mnist_split(np.arange(10) % 3, holdout=1.5),
        ValueError,
        r"holdout",
    ),
    ("mnist_split-2d", lambda: datasets.mnist_split(np.zeros((3, 3))), ValueError, r"labels"),
    (
        "download-unknown",
        lambda: datasets.download("no-such-file"),
        (KeyError, ValueError),
        r"not a registered download",
    ),
    (
        "file_hash-algorithm",
        lambda: datasets.file_hash(__file__, algorithm="nope"),
        ValueError,
        r"algorithm",
    ),
    # --- training -------------------------------------------------------------------------
    (
        "fit-steps-neg",
        lambda: training.fit(_cmgn(), lambda m: m(X).sum(), -1),
        ValueError,
        r"steps must be >= 0",
    ),
    (
        "fit-lr-neg",
        lambda: training.fit(_cmgn(), lambda m: m(X).sum(), 2, lr=-1.0),
        ValueError,
        r"lr",
    ),
    ("fit-loss-noncallable", lambda: training.fit(_cmgn(), 3, 2), TypeError, r"loss_fn.*callable"),
    (
        "fit-optimizer",
        lambda: training.fit(_cmgn(), lambda m: m(X).sum(), 2, optimizer="x"),
        ValueError,
        r"optimizer",
    ),
    ("fit-model", lambda: training.fit("model", lambda m: 0.0, 2), TypeError, r"nn.Module"),
    (
        "exponential_lr-neg",
        lambda: training.exponential_lr(1e-2, -1.0, 10),
        ValueError,
        r"lr_final",
    ),
    (
        "EarlyStopping-patience0",
        lambda: training.EarlyStopping(patience=0),
        ValueError,
        r"patience",
    ),
    ("Monitor-noncallable", lambda: training.Monitor(3), TypeError, r"must be callable"),
    (
        "fit_adversarial-steps-neg",
        lambda: training.fit_adversarial(_cmgn(), models.Critic(2), lambda *a: 0, lambda *a: 0, -1),
        ValueError,
        r"steps",
    ),
    # --- solvers --------------------------------------------------------------------------
    (
        "fit_w2_minimax-sampler",
        lambda: solvers.fit_w2_minimax(_cmgn(), models.ConvexPotential(2), 3, _sample, 2),
        TypeError,
        r"sample_p.*callable",
    ),
    (
        "fit_w2_minimax-steps-neg",
        lambda: solvers.fit_w2_minimax(_cmgn(), models.ConvexPotential(2), _sample, _sample, -1),
        ValueError,
        r"steps",
    ),
    (
        "fit_w2_semidual-sampler",
        lambda: solvers.fit_w2_semidual(_cmgn(), _sample, "q", steps=2),
        TypeError,
        r"sample_q.*callable",
    ),
    (
        "fit_w2_semidual-batch0",
        lambda: solvers.fit_w2_semidual(_cmgn(), _sample, _sample, steps=2, batch_size=0),
        ValueError,
        r"batch_size",
    ),
    (
        "fit_w2_map-dim0",
        lambda: solvers.fit_w2_map(_sample, _sample, 0, steps=2),
        ValueError,
        r"dim",
    ),
    (
        "fit_w2_map-sampler",
        lambda: solvers.fit_w2_map(None, _sample, 2, steps=2),
        TypeError,
        r"sample_p.*callable",
    ),
    (
        "newton_inverse-cols",
        lambda: solvers.newton_inverse(_cmgn(), X3, X),
        ValueError,
        r"must both be \(B, d\)",
    ),
    (
        "newton_inverse-steps0",
        lambda: solvers.newton_inverse(_cmgn(), X, X, steps=-1),
        ValueError,
        r"steps",
    ),
    (
        "sample_gaussian_map-cols",
        lambda: solvers.sample_gaussian_map(X, X3),
        ValueError,
        r"xt.*\(B, 2\)",
    ),
    ("map_mse-shape", lambda: solvers.map_mse(X, X3), ValueError, r"shape"),
    (
        "train_morphing-image",
        lambda: solvers.train_morphing(np.zeros(4), np.zeros(4)),
        ValueError,
        r"image",
    ),
    (
        "morphing_reference-n0",
        lambda: solvers.morphing_reference(np.ones((4, 4)), np.ones((4, 4)), n=0),
        ValueError,
        r"n must be",
    ),
    # --- plotting, widgets, course --------------------------------------------------------
    (
        "transport_scatter-cols",
        lambda: plotting.transport_scatter(X3),
        ValueError,
        r"\(n, 2\)|2 columns",
    ),
    ("color_cloud-cols", lambda: plotting.color_cloud(np.zeros((5, 2))), ValueError, r"\(n, 3\)"),
    ("image_grid-empty", lambda: plotting.image_grid([]), ValueError, r"image"),
    ("montage-nrow0", lambda: plotting.montage(np.zeros((4, 4, 4)), nrow=0), ValueError, r"nrow"),
    (
        "vector_field-noncallable",
        lambda: plotting.vector_field(3),
        TypeError,
        r"must be a callable",
    ),
    (
        "vector_field-n0",
        lambda: plotting.vector_field(lambda z: z, n=0),
        ValueError,
        r"n .*must be >= 2",
    ),
    ("table-columns", lambda: plotting.table([(1, 2)], ["a"]), ValueError, r"column"),
    ("widgets-picker-render", lambda: widgets.picker([1, 2], 3), TypeError, r"render.*callable"),
    (
        "widgets-slider-empty",
        lambda: widgets.interpolation_slider([]),
        ValueError,
        r"at least one frame",
    ),
    (
        "course-setup-profile",
        lambda: env.setup_notebook(profile="nope", quiet=True),
        ValueError,
        r"profile",
    ),
    (
        "course-record-name",
        lambda: report.record(3, "m", 1.0),
        (TypeError, ValueError),
        r"name|key",
    ),
    # --- top level ------------------------------------------------------------------------
    (
        "top-fit_w2_map-seconds",
        lambda: mu.fit_w2_map(_sample, _sample, 2, seconds=-1.0),
        ValueError,
        r"seconds",
    ),
]


@pytest.mark.parametrize("call, exc, pattern", [p[1:] for p in PROBES], ids=[p[0] for p in PROBES])
def test_probe(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_probe_ids_unique():
    ids = [p[0] for p in PROBES]
    assert len(ids) == len(set(ids)) and len(ids) >= 100
