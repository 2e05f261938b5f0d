"""The course's recurring figures and its one table style.

Every function takes numpy arrays or torch tensors (on any device; they are detached and copied
to the CPU here), draws with matplotlib only (safe under the ``Agg`` backend), returns the
matplotlib :class:`~matplotlib.axes.Axes` or :class:`~matplotlib.figure.Figure` it drew on and
never calls ``plt.show()``: a notebook shows the figure at the end of the cell, a script saves it.

Conventions: point clouds are batch-first row vectors ``(n, 2)`` (``(n, 3)`` for RGB colours in
``[0, 1]``); images are ``(h, w)`` (grey) or ``(h, w, 3)`` / ``(h, w, 4)`` (colour), or flat rows
``(n, h * w)`` for :func:`montage`; a transport map's values ``mapped`` are row-aligned with the
source ``x`` (``mapped[i] = T(x[i])``).

Which chapter introduces each helper:

* :func:`transport_scatter` — Chapter 0 (quickstart), then Chapters 1, 4 and 9;
* :func:`vector_field` — Chapter 2 (level sets of a potential and the directions of its
  gradient);
* :func:`error_map` — Chapter 3 (error maps on the unit square), then Chapter 8 (densities);
* :func:`montage`, :func:`image_grid` — Chapter 6 (photos), Chapters 7 and 8 (digits);
* :func:`color_cloud`, :func:`color_projections` — Chapter 6 (colour transfer);
* :func:`displacement_frames`, :func:`interpolation_strip` — Chapter 1 (McCann interpolation),
  then Chapter 8 (morphing);
* :func:`loss_curves` — Chapters 5, 6 and 8 (training losses, one or several runs each);
* :func:`table`, :func:`display_table` — every chapter that prints a table of results.
"""

from __future__ import annotations

import math
import numbers
from typing import Callable, Mapping, Optional, Sequence, Union

import numpy as np
import torch

__all__ = [
    "color_cloud",
    "color_projections",
    "displacement_frames",
    "display_table",
    "error_map",
    "image_grid",
    "interpolation_strip",
    "loss_curves",
    "montage",
    "table",
    "transport_scatter",
    "vector_field",
]


# --- conversions and checks ------------------------------------------------------------------


def _numpy(a, name: str) -> np.ndarray:
    """A tensor (any device, with or without grad) or array-like as a numpy array."""
    if torch.is_tensor(a):
        a = a.detach().cpu()
        if a.dtype == torch.bfloat16 or a.dtype == torch.float16:
            a = a.float()
        return a.numpy()
    if a is None:
        raise TypeError(f"{name} must be an array or a tensor, got None")
    try:
        return np.asarray(a)
    except Exception as err:  # e.g. ragged lists
        raise TypeError(f"{name} must be an array or a tensor, got {type(a).__name__}") from err


def _points(a, name: str, d: int = 2) -> np.ndarray:
    """Points ``(n, d)`` as a float numpy array, with a clear error for any other shape."""
    a = _numpy(a, name)
    if a.ndim != 2 or a.shape[1] != d or a.shape[0] < 1:
        raise ValueError(f"{name} must have shape (n, {d}), got {tuple(a.shape)}")
    if not np.issubdtype(a.dtype, np.number):
        raise TypeError(f"{name} must be numeric, got dtype {a.dtype}")
    return a.astype(float, copy=False)


def _image(a, name: str) -> np.ndarray:
    """One image ``(h, w)``, ``(h, w, 3)`` or ``(h, w, 4)`` as a numpy array."""
    a = _numpy(a, name)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[-1] in (3, 4))) or min(a.shape[:2]) < 1:
        raise ValueError(f"{name} must have shape (h, w), (h, w, 3) or (h, w, 4), got {a.shape}")
    if a.dtype == bool:
        a = a.astype(float)
    if a.ndim == 3 and np.issubdtype(a.dtype, np.floating):
        a = np.clip(a, 0.0, 1.0)  # matplotlib clips RGB floats too, but warns
    return a


def _subsample(a: np.ndarray, n: Optional[int], seed: int) -> np.ndarray:
    if n is None or len(a) <= n:
        return a
    idx = np.random.default_rng(seed).choice(len(a), size=int(n), replace=False)
    return a[np.sort(idx)]


def _new_ax(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


# --- point clouds ----------------------------------------------------------------------------


def transport_scatter(
    x,
    y=None,
    mapped=None,
    ax=None,
    n_tracks: int = 40,
    c=None,
    cmap: str = "viridis",
    s: float = 3.0,
    alpha: float = 0.5,
    labels: Sequence[Optional[str]] = ("source", "target", "mapped"),
    title: Optional[str] = None,
    legend: bool = True,
):
    """Source, target and mapped point clouds, with tracks ``x -> T(x)`` for some points.

    Introduced in Chapter 0 (the quickstart's learned map); Chapters 1, 4 and 9 draw the same
    figure for the Gaussian map, the four transport problems and the benchmark's true map.

    Parameters
    ----------
    x : array or tensor, shape (n, 2), or None
        Source samples (colour ``C0``). ``None`` draws no source (e.g. mapped over target only);
        then ``n_tracks`` must be 0.
    y : array or tensor, shape (m, 2), optional
        Target samples, drawn in light grey underneath.
    mapped : array or tensor, shape (n, 2), optional
        The images ``T(x)``, row-aligned with ``x`` (colour ``C3``).
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made if omitted.
    n_tracks : int
        Number of tracks: grey segments from ``x[i]`` to ``mapped[i]`` for the first
        ``n_tracks`` rows (0 for none; ignored without ``mapped``).
    c : array, shape (n,), optional
        Values that colour the source and mapped points through ``cmap`` (e.g. a source
        coordinate: a monotone map keeps the colours in order). Default: fixed colours.
    cmap : str
        Colour map for ``c``.
    s, alpha : float
        Marker size and opacity of the clouds.
    labels : tuple of 3 str or None
        Legend labels of source, target and mapped points (``None`` leaves one out).
    title : str, optional
        Axes title.
    legend : bool
        Draw a legend (when some label is set).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on, with equal aspect.
    """
    if x is None and y is None and mapped is None:
        raise ValueError("transport_scatter needs at least one of x, y and mapped")
    xs = None if x is None else _points(x, "x")
    ys = None if y is None else _points(y, "y")
    ms = None if mapped is None else _points(mapped, "mapped")
    if xs is not None and ms is not None and len(xs) != len(ms):
        raise ValueError(
            f"mapped must be row-aligned with x: x has {len(xs)} rows, mapped {len(ms)}"
        )
    if int(n_tracks) < 0:
        raise ValueError(f"n_tracks must be >= 0, got {n_tracks}")
    if xs is None and ms is not None and n_tracks:
        raise ValueError("tracks need the source x; pass n_tracks=0 to draw mapped points only")
    if len(labels) != 3:
        raise ValueError(f"labels must be (source, target, mapped), got {len(labels)} labels")
    n = len(xs) if xs is not None else (len(ms) if ms is not None else None)
    if c is not None:
        c = _numpy(c, "c").reshape(-1)
        if n is None or len(c) != n:
            raise ValueError(f"c must have one value per source point ({n}), got {len(c)}")
    ax = _new_ax(ax, (5, 4.5))

    def colour(default):
        return dict(c=c, cmap=cmap) if c is not None else dict(c=default)

    if ys is not None:
        ax.scatter(*ys.T, s=s, alpha=alpha, c="0.7", label=labels[1], zorder=1)
    if xs is not None:
        ax.scatter(*xs.T, s=s, alpha=alpha, label=labels[0], zorder=2, **colour("C0"))
    if ms is not None:
        ax.scatter(*ms.T, s=s, alpha=alpha, label=labels[2], zorder=3, **colour("C3"))
        k = min(int(n_tracks), len(ms)) if xs is not None else 0
        if k:
            from matplotlib.collections import LineCollection

            segments = np.stack([xs[:k], ms[:k]], axis=1)  # (k, 2 ends, 2 coordinates)
            ax.add_collection(LineCollection(segments, colors="0.4", linewidths=0.6, zorder=4))
    ax.set_aspect("equal")
    if title is not None:
        ax.set_title(title)
    if legend and any(label for label in labels):
        ax.legend(loc="best", fontsize=8, markerscale=3)
    return ax


def vector_field(
    fn: Callable,
    xlim: Sequence[float] = (-1.0, 1.0),
    ylim: Sequence[float] = (-1.0, 1.0),
    ax=None,
    n: int = 17,
    potential: Optional[Callable] = None,
    n_contour: int = 100,
    levels: int = 25,
    normalize: bool = True,
    color: str = "C3",
    dtype: Optional[torch.dtype] = None,
    title: Optional[str] = None,
):
    """Arrows of a planar map ``T`` on a grid, over the level sets of its potential if given.

    Introduced in Chapter 2 (a C-MGN is the gradient of a convex potential ``φ``: its arrows
    cross the level sets of ``φ`` at right angles).

    Parameters
    ----------
    fn : callable
        The map ``(m, 2) -> (m, 2)``; called under ``torch.no_grad()`` with a tensor of the
        grid points (rows ``(x1, x2)``). A numpy or tensor result is accepted.
    xlim, ylim : pair of float
        The rectangle drawn.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made if omitted.
    n : int
        Arrows per side (an ``n x n`` grid).
    potential : callable, optional
        ``(m, 2) -> (m,)``, whose level sets are drawn (``n_contour x n_contour`` grid).
    n_contour : int
        Grid points per side for the contour of ``potential``.
    levels : int
        Number of contour levels.
    normalize : bool
        Draw directions only (unit arrows); else arrows scaled by matplotlib.
    color : str
        Arrow colour.
    dtype : torch.dtype, optional
        Dtype of the grid; default: that of ``fn``'s first parameter when ``fn`` is a module
        with parameters, else ``torch.get_default_dtype()``.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on, with equal aspect.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a callable (m, 2) -> (m, 2), got {type(fn).__name__}")
    x0, x1 = _limits(xlim, "xlim")
    y0, y1 = _limits(ylim, "ylim")
    if int(n) < 2 or int(n_contour) < 2:
        raise ValueError(f"n and n_contour must be >= 2, got {n} and {n_contour}")
    device = None
    if dtype is None and isinstance(fn, torch.nn.Module):
        first = next(fn.parameters(), None)
        if first is not None:
            dtype, device = first.dtype, first.device
    dtype = dtype or torch.get_default_dtype()

    def grid(k):
        gx = torch.linspace(x0, x1, int(k), dtype=dtype, device=device)
        gy = torch.linspace(y0, y1, int(k), dtype=dtype, device=device)
        X, Y = torch.meshgrid(gx, gy, indexing="xy")
        return X, Y, torch.stack([X.reshape(-1), Y.reshape(-1)], 1)

    ax = _new_ax(ax, (5, 5))
    if potential is not None:
        X, Y, pts = grid(n_contour)
        with torch.no_grad():
            phi = _numpy(potential(pts), "potential(x)")
        if phi.size != pts.shape[0]:
            raise ValueError(f"potential must return one value per point, got shape {phi.shape}")
        k = int(n_contour)
        cs = ax.contour(_numpy(X, "X"), _numpy(Y, "Y"), phi.reshape(k, k), levels=levels)
        ax.clabel(cs, fontsize=6, fmt="%.2g")
    X, Y, pts = grid(n)
    with torch.no_grad():
        v = _numpy(fn(pts), "fn(x)")
    if v.shape != tuple(pts.shape):
        raise ValueError(f"fn must map (m, 2) to (m, 2), got {tuple(v.shape)} for m = {len(pts)}")
    if normalize:
        v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    p = _numpy(pts, "grid")
    kw = dict(angles="xy", scale=1.6 * int(n), width=0.003) if normalize else {}
    ax.quiver(p[:, 0], p[:, 1], v[:, 0], v[:, 1], color=color, **kw)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), aspect="equal")
    if title is not None:
        ax.set_title(title)
    return ax


def _limits(lim, name):
    try:
        a, b = (float(v) for v in lim)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a pair (low, high), got {lim!r}") from err
    if not (math.isfinite(a) and math.isfinite(b) and a < b):
        raise ValueError(f"{name} must be finite with low < high, got {lim!r}")
    return a, b


def error_map(
    values,
    extent: Sequence[float] = (0.0, 1.0, 0.0, 1.0),
    ax=None,
    cmap: str = "magma",
    vmin: Optional[float] = None,
    vmax: Optional[float] = None,
    log: bool = False,
    colorbar: Union[bool, Sequence] = True,
    label: Optional[str] = None,
    title: Optional[str] = None,
):
    """A heat map of values on a regular grid, with a colour bar.

    Introduced in Chapter 3 (``‖T(x) − ∇f(x)‖`` on the unit square); Chapter 8 draws densities
    with it.

    Parameters
    ----------
    values : array or tensor, shape (n_y, n_x), or flat (n * n,)
        Values on the grid, row ``i`` at height ``y_i`` (``origin="lower"``). A flat vector of a
        square grid, in ``meshgrid(..., indexing="xy")`` order, is reshaped to ``(n, n)``.
    extent : 4 floats
        ``(x_min, x_max, y_min, y_max)`` of the grid.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made if omitted.
    cmap : str
        Colour map.
    vmin, vmax : float, optional
        Colour range (default: the data's). With ``log=True``, ``vmin`` defaults to
        ``1e-3 * vmax`` and smaller values are shown at ``vmin``.
    log : bool
        Logarithmic colour scale (values must be positive somewhere).
    colorbar : bool or sequence of Axes
        Draw a colour bar beside ``ax``; a sequence of axes draws one shared colour bar beside
        all of them (give every panel the same ``vmin``/``vmax``).
    label : str, optional
        Colour bar label.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on; the image is ``ax.images[-1]``.
    """
    v = _numpy(values, "values").astype(float)
    if v.ndim == 1:
        n = math.isqrt(v.size)
        if n * n != v.size or n < 1:
            raise ValueError(f"flat values must fill a square grid, got {v.size} values")
        v = v.reshape(n, n)
    if v.ndim != 2 or min(v.shape) < 1:
        raise ValueError(f"values must have shape (n_y, n_x) or (n * n,), got {v.shape}")
    if len(extent) != 4:
        raise ValueError(f"extent must be (x_min, x_max, y_min, y_max), got {extent!r}")
    kw = {}
    if log:
        from matplotlib.colors import LogNorm

        top = float(np.nanmax(v)) if vmax is None else float(vmax)
        if not top > 0:
            raise ValueError("log=True needs positive values (or a positive vmax)")
        bottom = 1e-3 * top if vmin is None else float(vmin)
        v = np.clip(v, bottom, None)
        kw["norm"] = LogNorm(vmin=bottom, vmax=top)
    else:
        kw.update(vmin=vmin, vmax=vmax)
    ax = _new_ax(ax, (5, 4))
    im = ax.imshow(v, origin="lower", extent=tuple(extent), cmap=cmap, aspect="auto", **kw)
    ax.set_aspect("equal")
    if colorbar is not False and colorbar is not None:
        host = ax if colorbar is True else list(colorbar)
        ax.figure.colorbar(im, ax=host, shrink=0.85, label=label)
    if title is not None:
        ax.set_title(title)
    return ax


# --- training curves -------------------------------------------------------------------------


def loss_curves(
    curves: Mapping,
    ax=None,
    smooth: int = 1,
    yscale: str = "log",
    xlabel: str = "step",
    ylabel: str = "loss",
    title: Optional[str] = None,
    legend: bool = True,
):
    """Training curves, one colour per entry of ``curves``, with a legend.

    Parameters
    ----------
    curves : mapping of str to array, tensor or list of floats
        ``label -> values``: a 1-D curve ``(steps,)``, or several runs ``(runs, steps)`` (a 2-D
        array, or a list of 1-D curves of any lengths) drawn thin in the label's colour. An entry
        ``None`` is skipped (e.g. a curve that was not recorded).
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made if omitted.
    smooth : int
        Width of a moving average (``1``: the raw values); the smoothed value of steps
        ``t − smooth + 1 … t`` is drawn at step ``t``.
    yscale : str
        Any matplotlib scale (``"log"``, ``"symlog"``, ``"linear"``).
    xlabel, ylabel, title : str
        Axis labels and title.
    legend : bool
        Draw the legend.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Raises
    ------
    ValueError
        For a curve that is not 1-D or 2-D, or shorter than ``smooth``, or ``smooth < 1``.
    """
    smooth = int(smooth)
    if smooth < 1:
        raise ValueError(f"smooth must be a positive int, got {smooth}")
    if not isinstance(curves, Mapping):
        raise TypeError(f"curves must be a mapping label -> values, got {type(curves).__name__}")
    ax = _new_ax(ax, (6, 3))
    for k, (label, values) in enumerate(curves.items()):
        if values is None:
            continue
        if isinstance(values, (list, tuple)) and values and not np.isscalar(values[0]):
            runs = [_numpy(v, f"curves[{label!r}]") for v in values]
        else:
            a = _numpy(values, f"curves[{label!r}]")
            runs = [a] if a.ndim == 1 else list(a) if a.ndim == 2 else None
            if runs is None:
                raise ValueError(
                    f"curves[{label!r}] must be (steps,) or (runs, steps), got shape {a.shape}"
                )
        colour, many = f"C{k % 10}", len(runs) > 1
        for run in runs:
            run = np.asarray(run, dtype=float)
            if run.ndim != 1 or len(run) < smooth:
                raise ValueError(
                    f"curves[{label!r}]: each run must be 1-D with at least {smooth} values, "
                    f"got shape {run.shape}"
                )
            y = np.convolve(run, np.ones(smooth) / smooth, mode="valid")
            x = np.arange(smooth - 1, len(run))
            ax.plot(x, y, color=colour, lw=0.8 if many else 1.2, alpha=0.6 if many else 1.0)
        ax.plot([], color=colour, label=label)
    ax.set(yscale=yscale, xlabel=xlabel, ylabel=ylabel)
    if title is not None:
        ax.set_title(title)
    if legend:
        ax.legend(fontsize=8)
    return ax


# --- images ----------------------------------------------------------------------------------


def montage(images, nrow: int = 1, image_shape: Optional[Sequence[int]] = None, pad=1.0):
    """Tile a batch of images into one image, row by row.

    Introduced in Chapter 7 (MNIST digits as rows of 784 pixels).

    Parameters
    ----------
    images : array or tensor, shape (n, h * w), (n, h, w) or (n, h, w, c)
        The images; flat rows need ``image_shape`` unless ``h * w`` is a square (MNIST's 784
        is read as 28 x 28). Float images are clipped to ``[0, 1]``.
    nrow : int
        Rows of the montage; ``ceil(n / nrow)`` columns.
    image_shape : (h, w), optional
        Shape of one image for flat rows.
    pad : float
        Value of the empty cells after the last image (1.0 = white).

    Returns
    -------
    numpy.ndarray, shape (nrow * h, ncol * w) or (nrow * h, ncol * w, c)
        The tiled image, for ``ax.imshow(..., cmap="gray")``.
    """
    a = _numpy(images, "images")
    nrow = int(nrow)
    if nrow < 1:
        raise ValueError(f"nrow must be >= 1, got {nrow}")
    if a.ndim == 2:
        if image_shape is None:
            side = math.isqrt(a.shape[1])
            if side * side != a.shape[1]:
                raise ValueError(f"flat images of {a.shape[1]} pixels need image_shape=(h, w)")
            image_shape = (side, side)
        h, w = (int(v) for v in image_shape)
        if h * w != a.shape[1]:
            raise ValueError(f"image_shape {(h, w)} does not hold {a.shape[1]} pixels per row")
        a = a.reshape(-1, h, w)
    if a.ndim not in (3, 4) or a.shape[0] < 1:
        raise ValueError(
            f"images must have shape (n, h * w), (n, h, w) or (n, h, w, c), got {a.shape}"
        )
    if np.issubdtype(a.dtype, np.floating):
        a = np.clip(a, 0.0, 1.0)
    n, h, w = a.shape[:3]
    ncol = math.ceil(n / nrow)
    out = np.full((nrow * h, ncol * w) + a.shape[3:], pad, dtype=np.result_type(a, float))
    for i, im in enumerate(a[: nrow * ncol]):
        r, c = divmod(i, ncol)
        out[r * h : (r + 1) * h, c * w : (c + 1) * w] = im
    return out


def image_grid(
    images,
    nrows: Optional[int] = None,
    ncols: Optional[int] = None,
    titles: Optional[Sequence[str]] = None,
    cmap: Optional[str] = "gray",
    stride: int = 1,
    panel_size: float = 2.6,
    suptitle: Optional[str] = None,
    fontsize: float = 9,
):
    """A grid of images (photos, digits or montages), each with an optional title, axes off.

    Introduced in Chapter 6 (source, target and recoloured photos); Chapters 7 and 8 show digits
    and montages of digits with it.

    Parameters
    ----------
    images : sequence of arrays or tensors, each (h, w), (h, w, 3) or (h, w, 4)
        The images (sizes may differ); a single array ``(n, h, w[, c])`` is a sequence too.
    nrows, ncols : int, optional
        Grid shape; by default one row, or as many rows as needed for ``ncols``.
    titles : sequence of str, optional
        One title per image.
    cmap : str, optional
        Colour map of grey images (colour images ignore it).
    stride : int
        Show every ``stride``-th pixel (photos of millions of pixels draw fast at stride 4).
    panel_size : float
        Width and height in inches of one panel.
    suptitle : str, optional
        Title of the figure.
    fontsize : float
        Size of the panel titles.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; its panels are ``fig.axes``, row by row.
    """
    import matplotlib.pyplot as plt

    if torch.is_tensor(images) or isinstance(images, np.ndarray):
        images = list(images)
    images = [_image(im, f"images[{i}]") for i, im in enumerate(images)]
    n = len(images)
    if n == 0:
        raise ValueError("image_grid needs at least one image")
    if titles is not None and len(titles) != n:
        raise ValueError(f"titles must have one entry per image ({n}), got {len(titles)}")
    nrows, ncols = _grid_shape(n, nrows, ncols)
    stride = int(stride)
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(panel_size * ncols, panel_size * nrows), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i][::stride, ::stride], cmap=cmap)
            if titles is not None:
                ax.set_title(titles[i], fontsize=fontsize)
    if suptitle is not None:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def _grid_shape(n, nrows, ncols):
    if nrows is None and ncols is None:
        nrows, ncols = 1, n
    elif nrows is None:
        nrows = math.ceil(n / int(ncols))
    elif ncols is None:
        ncols = math.ceil(n / int(nrows))
    nrows, ncols = int(nrows), int(ncols)
    if nrows < 1 or ncols < 1 or nrows * ncols < n:
        raise ValueError(f"a {nrows} x {ncols} grid cannot hold {n} images")
    return nrows, ncols


# --- colours ---------------------------------------------------------------------------------


def color_cloud(
    colors, ax=None, n: Optional[int] = 2500, seed: int = 0, s: float = 2.0, title=None
):
    """A 3-D scatter of RGB colours in the unit cube, each point drawn in its own colour.

    Introduced in Chapter 6 (a photo as a cloud of pixel colours).

    Parameters
    ----------
    colors : array or tensor, shape (N, 3)
        RGB values in ``[0, 1]`` (a photo's pixels, e.g. from ``image_to_colors``); values
        outside the cube are drawn where they are, coloured as their clipped value.
    ax : matplotlib 3-D Axes, optional
        Made with ``projection="3d"``; a new figure is made if omitted.
    n : int or None
        Random points drawn (``None``: all).
    seed : int
        Seed of the random subset.
    s : float
        Marker size.
    title : str, optional
        Axes title.

    Returns
    -------
    mpl_toolkits.mplot3d.axes3d.Axes3D
        The 3-D axes drawn on.
    """
    import matplotlib.pyplot as plt

    c = _subsample(_points(colors, "colors", d=3), n, seed)
    if ax is None:
        fig = plt.figure(figsize=(4.5, 4.5))
        ax = fig.add_subplot(projection="3d")
    elif getattr(ax, "name", None) != "3d":
        raise ValueError('ax must be a 3-D axes (add_subplot(..., projection="3d"))')
    ax.scatter(*c.T, c=np.clip(c, 0, 1), s=s, depthshade=False)
    ax.set(xlim=(0, 1), ylim=(0, 1), zlim=(0, 1), xlabel="R", ylabel="G", zlabel="B")
    ax.tick_params(labelsize=6)
    if title is not None:
        ax.set_title(title, fontsize=9)
    return ax


def color_projections(
    colors, axes=None, reference=None, n: Optional[int] = 2500, seed: int = 0, s: float = 1.5
):
    """The three channel projections (R-G, R-B, G-B) of a colour cloud, optionally over a
    reference cloud in grey.

    Introduced in Chapter 6 (colour clouds, then mapped colours over the target palette).

    Parameters
    ----------
    colors : array or tensor, shape (N, 3)
        RGB values, each point drawn in its own (clipped) colour.
    axes : sequence of 3 matplotlib Axes, optional
        Where to draw; a new 1 x 3 figure is made if omitted.
    reference : array or tensor, shape (M, 3), optional
        Drawn underneath in light grey (e.g. the target's colours).
    n : int or None
        Random points drawn from each cloud (``None``: all).
    seed : int
        Seed of the random subsets.
    s : float
        Marker size.

    Returns
    -------
    list of matplotlib.axes.Axes
        The three axes.
    """
    import matplotlib.pyplot as plt

    c = _subsample(_points(colors, "colors", d=3), n, seed)
    ref = None if reference is None else _subsample(_points(reference, "reference", 3), n, seed)
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(9, 3))
    axes = list(np.ravel(axes))
    if len(axes) != 3:
        raise ValueError(f"axes must hold 3 axes (one per channel pair), got {len(axes)}")
    for ax, (i, j) in zip(axes, [(0, 1), (0, 2), (1, 2)]):
        if ref is not None:
            ax.scatter(ref[:, i], ref[:, j], s=s, color="0.75")
        ax.scatter(c[:, i], c[:, j], s=s, c=np.clip(c, 0, 1))
        ax.set(xlim=(-0.05, 1.05), ylim=(-0.05, 1.05), aspect="equal")
        ax.set_xlabel("RGB"[i], fontsize=8, labelpad=1)
        ax.set_ylabel("RGB"[j], fontsize=8, labelpad=1)
        ax.tick_params(labelsize=6)
    return axes


# --- interpolation ---------------------------------------------------------------------------


def displacement_frames(x, mapped, ts: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0)):
    """McCann's displacement interpolation ``(1 − t) x + t T(x)`` at the times ``ts``.

    Introduced in Chapter 1 (between two Gaussians), then Chapter 8 (between two digits).

    Parameters
    ----------
    x : array or tensor, shape (n, d)
        Source samples.
    mapped : array or tensor, shape (n, d)
        Their images ``T(x)``, row-aligned with ``x``.
    ts : sequence of float
        Times in ``[0, 1]``.

    Returns
    -------
    list of numpy.ndarray, each (n, d)
        One point cloud per time, in float64.
    """
    a = _numpy(x, "x").astype(np.float64)
    b = _numpy(mapped, "mapped").astype(np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"x and mapped must both be (n, d), got {a.shape} and {b.shape}")
    out = []
    for t in ts:
        if not isinstance(t, numbers.Real) or not 0.0 <= float(t) <= 1.0:
            raise ValueError(f"times must lie in [0, 1], got {t!r}")
        out.append((1.0 - float(t)) * a + float(t) * b)
    return out


def interpolation_strip(
    frames,
    titles: Optional[Sequence[str]] = None,
    axes=None,
    c=None,
    cmap: str = "viridis",
    xlim: Optional[Sequence[float]] = None,
    ylim: Optional[Sequence[float]] = None,
    s: float = 2.0,
    panel_size: float = 2.4,
    suptitle: Optional[str] = None,
):
    """A row of frames: images, or point clouds sharing limits (e.g. a displacement
    interpolation).

    Introduced in Chapter 1 (the McCann interpolation between two Gaussians); Chapter 8 draws
    the interpolation between two digits with it.

    Parameters
    ----------
    frames : sequence of arrays or tensors
        Each frame is a point cloud ``(n, 2)`` (drawn as a scatter) or an image ``(h, w)``,
        ``(h, w, 3)`` or ``(h, w, 4)``. A 2-D frame with exactly 2 columns is a point cloud.
    titles : sequence of str, optional
        One title per frame.
    axes : sequence of matplotlib Axes, optional
        Where to draw (at least one per frame); a new 1-row figure is made if omitted.
    c : array, shape (n,), optional
        Values colouring the points of every cloud (the same particle keeps its colour).
    cmap : str
        Colour map for ``c`` (and for grey images).
    xlim, ylim : pair of float, optional
        Limits of the clouds; default: the union of all frames, so that motion shows.
    s : float
        Marker size.
    panel_size : float
        Width and height in inches of one panel (new figures only).
    suptitle : str, optional
        Title of the figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on.
    """
    import matplotlib.pyplot as plt

    if torch.is_tensor(frames) or isinstance(frames, np.ndarray):
        frames = list(frames)
    arrays = [_numpy(f, f"frames[{i}]") for i, f in enumerate(frames)]
    if not arrays:
        raise ValueError("interpolation_strip needs at least one frame")
    if titles is not None and len(titles) != len(arrays):
        raise ValueError(f"titles must have one entry per frame ({len(arrays)}), got {len(titles)}")
    kinds = []
    for i, a in enumerate(arrays):
        if a.ndim == 2 and a.shape[1] == 2:
            kinds.append("points")
            arrays[i] = _points(a, f"frames[{i}]")
        else:
            kinds.append("image")
            arrays[i] = _image(a, f"frames[{i}]")
    clouds = [a for a, k in zip(arrays, kinds) if k == "points"]
    if c is not None:
        c = _numpy(c, "c").reshape(-1)
        if any(len(a) != len(c) for a in clouds):
            raise ValueError("c must have one value per point of every cloud")
    if clouds:
        both = np.concatenate(clouds)
        lo, hi = both.min(0), both.max(0)
        pad = 0.05 * np.maximum(hi - lo, 1e-12)
        xlim = xlim if xlim is not None else (lo[0] - pad[0], hi[0] + pad[0])
        ylim = ylim if ylim is not None else (lo[1] - pad[1], hi[1] + pad[1])
    if axes is None:
        fig, axes = plt.subplots(
            1, len(arrays), figsize=(panel_size * len(arrays), panel_size), squeeze=False
        )
    axes = list(np.ravel(axes))
    if len(axes) < len(arrays):
        raise ValueError(f"{len(arrays)} frames need as many axes, got {len(axes)}")
    fig = axes[0].figure
    vmin, vmax = (None, None) if c is None else (float(np.min(c)), float(np.max(c)))
    for i, (ax, a, kind) in enumerate(zip(axes, arrays, kinds)):
        if kind == "points":
            kw = dict(c=c, cmap=cmap, vmin=vmin, vmax=vmax) if c is not None else dict(c="C0")
            ax.scatter(a[:, 0], a[:, 1], s=s, **kw)
            ax.set(xlim=xlim, ylim=ylim, aspect="equal", xticks=[], yticks=[])
        else:
            ax.imshow(a, cmap=cmap if a.ndim == 2 else None)
            ax.axis("off")
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    if suptitle is not None:
        fig.suptitle(suptitle)
    return fig


# --- tables ----------------------------------------------------------------------------------

Format = Union[str, Callable[[object], str]]


def _scalar(value):
    """0-d tensors and numpy scalars as Python numbers (other values unchanged)."""
    if torch.is_tensor(value) and value.numel() == 1:
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _cell(value, spec: Format) -> str:
    if isinstance(value, str) and value == "":
        return ""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        text = "—"
    elif callable(spec):
        text = str(spec(value))
    elif isinstance(value, bool) or isinstance(value, str):
        text = str(value)
    elif isinstance(value, numbers.Integral):
        text = f"{value:,}" if spec and "," in spec else str(value)
    elif isinstance(value, numbers.Real):
        text = format(float(value), spec)
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def table(
    rows: Sequence,
    columns: Sequence[str],
    fmt: Union[Format, Mapping[str, Format]] = ".4g",
    caption: Optional[str] = None,
    align: Optional[Sequence[str]] = None,
) -> str:
    """The course's table style: a GitHub-flavoured Markdown table, optionally after a caption.

    The book renders Markdown printed by a cell as a table (``nb_render_markdown_format: gfm``);
    Jupyter, Colab and VS Code render it too. Introduced in Chapter 3 and used by every chapter
    that reports results (Chapters 3, 4, 6, 7 and 9).

    Parameters
    ----------
    rows : sequence of sequences or of mappings
        One entry per row: values in column order, or a mapping from column name to value
        (missing names are empty cells).
    columns : sequence of str
        Column headers.
    fmt : str, callable or mapping
        How numbers are written: a format spec for floats (``".4g"``; a spec with ``","`` also
        groups the digits of integers), a callable ``value -> str`` applied to every non-empty
        cell, or a mapping from column name to either (columns not named use ``".4g"``).
        Strings are written as they are; ``None`` and NaN as ``—``; ``|`` is escaped.
    caption : str, optional
        A Markdown paragraph above the table.
    align : sequence of str, optional
        ``"left"``, ``"right"`` or ``"center"`` per column; default: text columns left,
        columns whose cells are all numbers right.

    Returns
    -------
    str
        The Markdown text (display it with :func:`display_table` or
        ``IPython.display.Markdown``).
    """
    columns = [str(c) for c in columns]
    if not columns:
        raise ValueError("table needs at least one column")
    body = []
    for i, row in enumerate(rows):
        if isinstance(row, Mapping):
            unknown = set(map(str, row)) - set(columns)
            if unknown:
                raise ValueError(f"row {i} names unknown columns {sorted(unknown)}")
            row = [row.get(c, "") for c in columns]
        else:
            row = list(row)
        if len(row) != len(columns):
            raise ValueError(f"row {i} has {len(row)} cells, but there are {len(columns)} columns")
        body.append([_scalar(v) for v in row])
    specs = [fmt.get(c, ".4g") if isinstance(fmt, Mapping) else fmt for c in columns]
    if align is None:

        def numeric(v):
            return isinstance(v, numbers.Number) and not isinstance(v, bool)

        align = [
            "right"
            if any(numeric(r[j]) for r in body)
            and all(
                numeric(r[j]) or r[j] is None or isinstance(r[j], str) and not r[j] for r in body
            )
            else "left"
            for j in range(len(columns))
        ]
    if len(align) != len(columns):
        raise ValueError(f"align must have one entry per column ({len(columns)}), got {len(align)}")
    rules = {"left": ":---", "right": "---:", "center": ":---:"}
    if any(a not in rules for a in align):
        raise ValueError(f"align entries must be 'left', 'right' or 'center', got {list(align)}")
    lines = [
        "| " + " | ".join(c.replace("|", "\\|") for c in columns) + " |",
        "| " + " | ".join(rules[a] for a in align) + " |",
    ]
    for row in body:
        lines.append("| " + " | ".join(_cell(v, s) for v, s in zip(row, specs)) + " |")
    text = "\n".join(lines)
    return f"{caption}\n\n{text}" if caption else text


def display_table(rows, columns, **kwargs) -> None:
    """Display :func:`table` as Markdown in the notebook (``print`` it in a script).

    Parameters
    ----------
    rows, columns
        As for :func:`table`.
    **kwargs
        ``fmt``, ``caption`` and ``align``, as for :func:`table`.
    """
    text = table(rows, columns, **kwargs)
    try:
        from IPython.display import Markdown, display
    except ImportError:  # no IPython: a script
        print(text)
        return
    display(Markdown(text))
