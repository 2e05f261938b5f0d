"""mgn_utils.plotting: every figure helper on tiny numpy and torch inputs, and its input checks."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mgn_utils import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(params=["numpy", "torch"])
def points(request):
    """A function (n, d) -> points of that shape, as numpy arrays or tensors with grad."""

    def make(n, d=2, seed=0):
        a = np.random.default_rng(seed).normal(size=(n, d))
        if request.param == "torch":
            return torch.tensor(a, dtype=torch.float32, requires_grad=True)
        return a

    return make


def test_transport_scatter(points):
    x = points(20)
    ax = plotting.transport_scatter(x, points(30, seed=1), x * 2 + 1, n_tracks=5, title="T")
    assert isinstance(ax, Axes)
    assert len(ax.collections) == 4  # target, source, mapped, tracks
    assert len(ax.collections[-1].get_segments()) == 5
    assert ax.get_title() == "T"
    # mapped over target only, coloured by a value per point
    ax = plotting.transport_scatter(None, points(30), x, n_tracks=0, c=np.arange(20))
    assert len(ax.collections) == 2


def test_transport_scatter_errors(points):
    x = points(10)
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\)"):
        plotting.transport_scatter(points(10, d=3))
    with pytest.raises(ValueError, match="row-aligned"):
        plotting.transport_scatter(x, None, points(11))
    with pytest.raises(ValueError, match="n_tracks=0"):
        plotting.transport_scatter(None, None, x)
    with pytest.raises(ValueError, match="one value per source point"):
        plotting.transport_scatter(x, c=np.arange(3))


def test_vector_field():
    net = torch.nn.Linear(2, 2).double()
    ax = plotting.vector_field(net, (-1, 1), (-2, 2), n=5, potential=lambda z: (z**2).sum(1))
    assert isinstance(ax, Axes)
    assert ax.get_xlim() == (-1.0, 1.0) and ax.get_ylim() == (-2.0, 2.0)
    ax = plotting.vector_field(lambda z: z.numpy() * 2, n=4, normalize=False)
    assert isinstance(ax, Axes)


def test_vector_field_errors():
    with pytest.raises(ValueError, match=r"fn must map \(m, 2\) to \(m, 2\)"):
        plotting.vector_field(lambda z: z[:, :1], n=3)
    with pytest.raises(ValueError, match="xlim must be finite with low < high"):
        plotting.vector_field(lambda z: z, xlim=(1, 0))
    with pytest.raises(TypeError, match="callable"):
        plotting.vector_field(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="one value per point"):
        plotting.vector_field(lambda z: z, n=3, n_contour=3, potential=lambda z: z)


@pytest.mark.parametrize("as_tensor", [False, True])
def test_error_map(as_tensor):
    v = np.random.default_rng(0).random((6, 8))
    v = torch.tensor(v) if as_tensor else v
    ax = plotting.error_map(v, extent=(0, 2, 0, 1), label="error", title="e")
    assert isinstance(ax, Axes) and len(ax.images) == 1
    assert len(ax.figure.axes) == 2  # the colour bar
    ax = plotting.error_map(torch.rand(16), log=True, colorbar=False)
    assert ax.images[-1].get_array().shape == (4, 4) and len(ax.figure.axes) == 1
    fig, axes = plt.subplots(1, 2)
    for a in axes:
        plotting.error_map(torch.rand(9), ax=a, vmin=0, vmax=1, colorbar=False)
    plotting.error_map(torch.rand(9), ax=axes[0], vmin=0, vmax=1, colorbar=axes)
    assert len(fig.axes) == 3  # one shared colour bar


def test_error_map_errors():
    with pytest.raises(ValueError, match="square grid"):
        plotting.error_map(np.zeros(10))
    with pytest.raises(ValueError, match=r"shape \(n_y, n_x\)"):
        plotting.error_map(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="extent"):
        plotting.error_map(np.zeros((2, 2)), extent=(0, 1))
    with pytest.raises(ValueError, match="positive"):
        plotting.error_map(np.zeros((2, 2)), log=True)


def test_montage():
    flat = torch.rand(5, 784) * 2  # clipped to [0, 1]
    out = plotting.montage(flat, 2)
    assert out.shape == (56, 84) and out.max() <= 1.0
    assert np.all(out[28:, 56:] == 1.0)  # the empty sixth cell
    out = plotting.montage(np.zeros((3, 4, 5, 3)), nrow=3)
    assert out.shape == (12, 5, 3)
    assert plotting.montage(np.zeros((2, 12)), image_shape=(3, 4)).shape == (3, 8)


def test_montage_errors():
    with pytest.raises(ValueError, match="need image_shape"):
        plotting.montage(np.zeros((2, 10)))
    with pytest.raises(ValueError, match="does not hold"):
        plotting.montage(np.zeros((2, 12)), image_shape=(3, 3))
    with pytest.raises(ValueError, match="nrow"):
        plotting.montage(np.zeros((2, 4)), nrow=0)


def test_image_grid():
    images = [np.random.rand(10, 12, 3), torch.rand(8, 8), np.zeros((6, 6, 1))]
    fig = plotting.image_grid(images, ncols=2, titles=["a", "b", "c"], stride=2, suptitle="s")
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    assert [ax.get_title() for ax in fig.axes[:3]] == ["a", "b", "c"]
    assert fig.axes[0].images[0].get_array().shape == (5, 6, 3)
    assert len(plotting.image_grid(torch.rand(3, 4, 4)).axes) == 3  # one batch tensor


def test_image_grid_errors():
    with pytest.raises(ValueError, match=r"images\[1\] must have shape"):
        plotting.image_grid([np.zeros((4, 4)), np.zeros((4, 4, 2))])
    with pytest.raises(ValueError, match="one entry per image"):
        plotting.image_grid([np.zeros((4, 4))], titles=["a", "b"])
    with pytest.raises(ValueError, match="cannot hold"):
        plotting.image_grid([np.zeros((4, 4))] * 5, nrows=2, ncols=2)
    with pytest.raises(ValueError, match="at least one"):
        plotting.image_grid([])


def test_color_cloud(points):
    c = points(50, d=3)
    ax = plotting.color_cloud(c, n=20, title="colours")
    assert ax.name == "3d" and len(ax.collections[0].get_offsets()) == 20
    axes = plotting.color_projections(c, reference=points(40, d=3), n=10)
    assert len(axes) == 3 and all(isinstance(a, Axes) for a in axes)
    assert len(axes[0].collections) == 2


def test_color_cloud_errors():
    with pytest.raises(ValueError, match=r"colors must have shape \(n, 3\)"):
        plotting.color_cloud(np.zeros((5, 2)))
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="3-D axes"):
        plotting.color_cloud(np.zeros((5, 3)), ax=ax)
    with pytest.raises(ValueError, match="3 axes"):
        plotting.color_projections(np.zeros((5, 3)), axes=[ax])


def test_interpolation(points):
    x = points(15)
    frames = plotting.displacement_frames(x, x * 0 + 1, ts=(0, 0.5, 1))
    assert len(frames) == 3 and frames[0].dtype == np.float64
    np.testing.assert_allclose(frames[2], np.ones((15, 2)))
    fig = plotting.interpolation_strip(frames, titles=["0", "0.5", "1"], c=np.arange(15))
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert fig.axes[0].get_xlim() == fig.axes[2].get_xlim()  # shared limits show motion
    fig = plotting.interpolation_strip([np.zeros((4, 5)), torch.rand(4, 5, 3)])
    assert len(fig.axes) == 2 and len(fig.axes[1].images) == 1


def test_interpolation_errors(points):
    with pytest.raises(ValueError, match="both be"):
        plotting.displacement_frames(points(3), points(4))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        plotting.displacement_frames(points(3), points(3), ts=(0, 2))
    with pytest.raises(ValueError, match="one entry per frame"):
        plotting.interpolation_strip([np.zeros((3, 2))], titles=["a", "b"])
    with pytest.raises(ValueError, match="one value per point"):
        plotting.interpolation_strip([np.zeros((3, 2))], c=[1, 2])
    with pytest.raises(ValueError, match=r"frames\[0\] must have shape"):
        plotting.interpolation_strip([np.zeros((3, 3, 2))])


def test_table():
    text = plotting.table(
        [["C-MGN", 1234, 0.123456, None], {"model": "a|b", "W2": float("nan")}],
        ["model", "params", "W2", "note"],
        fmt={"W2": ".3f", "params": ","},
        caption="**Results**",
    )
    lines = text.splitlines()
    assert lines[0] == "**Results**" and lines[1] == ""
    assert lines[2] == "| model | params | W2 | note |"
    assert lines[3] == "| :--- | ---: | ---: | :--- |"
    assert lines[4] == "| C-MGN | 1,234 | 0.123 | — |"
    assert lines[5] == "| a\\|b |  | — |  |"
    assert plotting.table([[torch.tensor(2.5)]], ["x"], fmt=lambda v: f"<{v}>") == (
        "| x |\n| ---: |\n| <2.5> |"
    )


def test_table_errors():
    with pytest.raises(ValueError, match="row 0 has 1 cells, but there are 2 columns"):
        plotting.table([[1]], ["a", "b"])
    with pytest.raises(ValueError, match="unknown columns"):
        plotting.table([{"c": 1}], ["a"])
    with pytest.raises(ValueError, match="align"):
        plotting.table([[1]], ["a"], align=["middle"])


def test_display_table(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    # outside a notebook IPython's display prints the object's text form
    InteractiveShell.instance()
    assert plotting.display_table([[1.5]], ["x"]) is None
    InteractiveShell.clear_instance()


def test_loss_curves():
    from mgn_utils.plotting import loss_curves

    one = torch.linspace(2.0, 1.0, 20)
    runs = np.exp(-np.arange(30.0))[None, :] * np.array([[1.0], [2.0]])
    ax = loss_curves({"one": one, "runs": runs, "ragged": [[3.0, 2.0, 1.0], [4.0, 2.0]], "x": None})
    lines = ax.get_lines()
    assert len(lines) == 1 + 1 + 2 + 1 + 2 + 1  # the runs, then an empty line for the legend
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["one", "runs", "ragged"]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "step"
    ax = loss_curves({"one": one}, smooth=5, yscale="linear", title="t")
    x, y = ax.get_lines()[0].get_data()
    assert x[0] == 4 and len(x) == 16 and y[0] == pytest.approx(one[:5].mean().item())
    assert ax.get_title() == "t"


def test_loss_curves_errors():
    from mgn_utils.plotting import loss_curves

    with pytest.raises(ValueError, match="smooth"):
        loss_curves({"a": [1.0, 2.0]}, smooth=0)
    with pytest.raises(ValueError, match="at least 5"):
        loss_curves({"a": [1.0, 2.0]}, smooth=5)
    with pytest.raises(ValueError, match=r"\(runs, steps\)"):
        loss_curves({"a": np.ones((2, 2, 2))})
    with pytest.raises(TypeError, match="mapping"):
        loss_curves([1.0, 2.0])
