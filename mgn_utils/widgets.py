"""Interactive views with a static fallback that survives in stored outputs and the built book.

A notebook's ipywidgets need a live kernel: in the built book (no kernel) they show nothing.
Each front end here therefore has two forms:

* **interactive** — ``ipywidgets`` controls and an image, when a person runs the notebook in
  Jupyter, Colab or VS Code;
* **static** — an :class:`IPython.display.HTML` object with the frames embedded as base64 PNG
  (or JPEG) images and, for the slider, a tiny pure-HTML range input with an inline handler
  (no external JavaScript, no ids, deterministic text), which is stored in the notebook and
  renders in the built HTML.

The static rule (``static=None``), checked in this order:

1. the environment variable ``MGN_STATIC_WIDGETS``: ``1`` forces the static form, ``0`` the
   interactive one;
2. static when ``ipywidgets`` cannot be imported;
3. static when not running in an IPython kernel (a script, a terminal IPython);
4. static when the frontend that sent the running cell does not accept input requests
   (``allow_stdin`` false). Headless executors — nbclient, hence ``jupyter-book``,
   ``jupyter nbconvert --execute``, the course's ``tools/nbtools.py execute`` — and nbval all
   send ``allow_stdin=False``; Jupyter, Colab and VS Code send ``True``. So the outputs stored in
   the notebooks, and the built book, get the static form.

``ipywidgets`` is an optional dependency: ``pip install "mgn-utils[widgets]"``.

Introduced in Chapter 1 (the McCann interpolation slider); Chapter 8 uses both front ends (the
interpolation between two digits, the choice of the digit pair).
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from typing import Callable, Optional, Sequence

__all__ = ["interpolation_slider", "is_static", "picker", "to_image_bytes"]

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"


def _ipywidgets():
    try:
        import ipywidgets
    except ImportError as err:
        raise ImportError(
            "the interactive view needs ipywidgets: pip install 'mgn-utils[widgets]' "
            "(or pip install ipywidgets), or pass static=True"
        ) from err
    return ipywidgets


def is_static(static: Optional[bool] = None) -> bool:
    """Whether the front ends of this module draw their static form.

    Parameters
    ----------
    static : bool, optional
        ``True`` or ``False`` is returned as it is; ``None`` applies the rule of the module
        docstring (``MGN_STATIC_WIDGETS``, then ipywidgets, then the kernel and its frontend).

    Returns
    -------
    bool
        ``True`` for the static HTML form, ``False`` for ipywidgets.
    """
    if static is not None:
        return bool(static)
    forced = os.environ.get("MGN_STATIC_WIDGETS", "").strip().lower()
    if forced in ("1", "true", "yes", "on"):
        return True
    if forced in ("0", "false", "no", "off"):
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return True
    try:
        from IPython import get_ipython
    except ImportError:
        return True
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None:  # a script or a terminal IPython: no widget frontend
        return True
    # ipykernel records whether the request being executed allowed stdin (private, but stable
    # since ipykernel 4); a kernel without it is taken as interactive.
    return not getattr(kernel, "_allow_stdin", True)


def to_image_bytes(frame, dpi: int = 80, cmap: str = "gray") -> tuple:
    """One frame as encoded image bytes.

    Parameters
    ----------
    frame : bytes, matplotlib Figure, array or tensor
        PNG or JPEG bytes (kept as they are); a figure (saved, then closed); or an image
        ``(h, w)`` (drawn with ``cmap``), ``(h, w, 3)`` or ``(h, w, 4)`` with values in
        ``[0, 1]`` (or ``uint8``).
    dpi : int
        Resolution at which a figure is saved.
    cmap : str
        Colour map of grey images.

    Returns
    -------
    tuple of (bytes, str)
        The encoded image and its format, ``"png"`` or ``"jpeg"``.
    """
    if isinstance(frame, (bytes, bytearray, memoryview)):
        data = bytes(frame)
        if data.startswith(_PNG):
            return data, "png"
        if data.startswith(_JPEG):
            return data, "jpeg"
        raise ValueError("frame bytes must be a PNG or a JPEG image")
    from matplotlib.figure import Figure

    buffer = io.BytesIO()
    if isinstance(frame, Figure):
        frame.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
        import matplotlib.pyplot as plt

        plt.close(frame)
        return buffer.getvalue(), "png"
    from matplotlib.image import imsave

    from .plotting import _image

    image = _image(frame, "frame")
    kw = {"cmap": cmap, "vmin": 0.0, "vmax": 1.0} if image.ndim == 2 else {}
    if image.ndim == 2 and image.dtype.kind in "ui":
        kw.update(vmax=255.0 if image.max() > 1 else 1.0)
    imsave(buffer, image, format="png", metadata={"Software": None}, **kw)
    return buffer.getvalue(), "png"


def _data_uri(frame, dpi) -> str:
    data, kind = to_image_bytes(frame, dpi=dpi)
    return f"data:image/{kind};base64,{base64.b64encode(data).decode('ascii')}"


def _labels(labels, n, name="labels"):
    if labels is None:
        return [str(i) for i in range(n)]
    labels = [str(v) for v in labels]
    if len(labels) != n:
        raise ValueError(f"{name} must have one entry per frame ({n}), got {len(labels)}")
    return labels


def interpolation_slider(
    frames: Sequence,
    labels: Optional[Sequence] = None,
    description: str = "t",
    value: int = 0,
    static: Optional[bool] = None,
    dpi: int = 80,
    width: Optional[int] = None,
):
    """A slider over precomputed frames (e.g. a displacement interpolation at several times).

    Introduced in Chapter 1 (McCann interpolation between two Gaussians); Chapter 8 uses it for
    the morphing between two digits.

    Parameters
    ----------
    frames : sequence
        The frames, each PNG/JPEG bytes, a matplotlib Figure (saved, then closed) or an image
        array (see :func:`to_image_bytes`). All are rendered up front, so the interactive and
        the static form show the same pictures.
    labels : sequence, optional
        One label per frame (e.g. the times ``t``); default ``0, 1, ...``.
    description : str
        Name shown beside the slider.
    value : int
        Index of the frame shown first.
    static : bool, optional
        ``True``: static HTML; ``False``: ipywidgets (ImportError without it); ``None``: the
        module's rule (:func:`is_static`).
    dpi : int
        Resolution of figures given as frames.
    width : int, optional
        Width in pixels of the shown image (default: its own).

    Returns
    -------
    ipywidgets.VBox or IPython.display.HTML
        The interactive widget (slider above the image), or the static HTML: every frame
        embedded, one shown at a time, chosen by an ``<input type="range">``.
    """
    frames = list(frames)
    if not frames:
        raise ValueError("interpolation_slider needs at least one frame")
    labels = _labels(labels, len(frames))
    value = int(value)
    if not 0 <= value < len(frames):
        raise ValueError(f"value must index a frame (0 to {len(frames) - 1}), got {value}")
    encoded = [to_image_bytes(f, dpi=dpi) for f in frames]
    if not is_static(static):
        widgets = _ipywidgets()
        slider = widgets.SelectionSlider(
            options=[(label, i) for i, label in enumerate(labels)],
            value=value,
            description=description,
            continuous_update=True,
        )
        layout = {"width": f"{width}px"} if width else {}
        image = widgets.Image(
            value=encoded[value][0], format=encoded[value][1], layout=widgets.Layout(**layout)
        )

        def show(change):
            data, kind = encoded[change["new"]]
            image.format, image.value = kind, data

        slider.observe(show, names="value")
        return widgets.VBox([slider, image])
    from IPython.display import HTML

    size = f"width:{int(width)}px;" if width else "max-width:100%;"
    images = "".join(
        f'<img src="data:image/{kind};base64,{base64.b64encode(data).decode("ascii")}" '
        f'alt="{html.escape(description)} = {html.escape(label)}" '
        f'style="{size}display:{"block" if i == value else "none"}">'
        for i, ((data, kind), label) in enumerate(zip(encoded, labels))
    )
    names = html.escape(json.dumps(labels), quote=True)
    # One inline handler, no ids: it shows the image of the slider's value and writes its label.
    handler = (
        "var b=this.closest('.mgn-slider'),v=+this.value,"
        "im=b.querySelectorAll('img');"
        "for(var k=0;k<im.length;k++){im[k].style.display=k===v?'block':'none';}"
        "b.querySelector('output').textContent=JSON.parse(this.dataset.labels)[v];"
    )
    text = (
        '<div class="mgn-slider" style="margin:0.5em 0">'
        '<label style="font-family:sans-serif;font-size:0.9em">'
        f"{html.escape(description)} "
        f'<input type="range" min="0" max="{len(frames) - 1}" step="1" value="{value}" '
        f'data-labels="{names}" oninput="{html.escape(handler, quote=True)}" '
        'style="vertical-align:middle;width:16em"> '
        f"<output>{html.escape(labels[value])}</output></label>"
        f"{images}</div>"
    )
    return HTML(text)


def picker(
    options: Sequence,
    render: Callable,
    labels: Optional[Sequence] = None,
    description: str = "show",
    value: int = 0,
    static: Optional[bool] = None,
    static_options: Optional[Sequence[int]] = None,
    ncols: int = 3,
    dpi: int = 70,
    width: Optional[int] = None,
):
    """Choose one of several options and see its render (e.g. a pair of digits to morph).

    Introduced in Chapter 8 (the exact OT interpolation of any pair of digits).

    Parameters
    ----------
    options : sequence
        The choices, passed one at a time to ``render`` (e.g. pairs ``(source, target)``).
    render : callable
        ``option -> frame``: PNG/JPEG bytes, a matplotlib Figure or an image array (see
        :func:`to_image_bytes`). The interactive form renders on demand (and keeps each result);
        the static form renders the options it shows up front.
    labels : sequence, optional
        One label per option (default ``str(option)``).
    description : str
        Name shown beside the drop-down menu.
    value : int
        Index of the option chosen first.
    static : bool, optional
        ``True``: static HTML; ``False``: ipywidgets; ``None``: the module's rule
        (:func:`is_static`).
    static_options : sequence of int, optional
        Indices of the options the static form shows (default: all of them; a subset keeps a
        stored notebook small when there are many options).
    ncols : int
        Columns of the static grid.
    dpi : int
        Resolution of figures returned by ``render``.
    width : int, optional
        Width in pixels of each image (default: its own, at most the grid cell).

    Returns
    -------
    ipywidgets.VBox or IPython.display.HTML
        The drop-down menu above the render, or a static grid of every shown option's render
        under its label (plain HTML, no script).
    """
    options = list(options)
    if not options:
        raise ValueError("picker needs at least one option")
    if not callable(render):
        raise TypeError(f"render must be a callable option -> frame, got {type(render).__name__}")
    labels = [str(o) for o in options] if labels is None else _labels(labels, len(options))
    value = int(value)
    if not 0 <= value < len(options):
        raise ValueError(f"value must index an option (0 to {len(options) - 1}), got {value}")
    if int(ncols) < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols}")
    if not is_static(static):
        widgets = _ipywidgets()
        cache = {}

        def encoded(i):
            if i not in cache:
                cache[i] = to_image_bytes(render(options[i]), dpi=dpi)
            return cache[i]

        menu = widgets.Dropdown(
            options=[(label, i) for i, label in enumerate(labels)],
            value=value,
            description=description,
        )
        layout = {"width": f"{width}px"} if width else {}
        data, kind = encoded(value)
        image = widgets.Image(value=data, format=kind, layout=widgets.Layout(**layout))

        def show_choice(change):
            data, kind = encoded(change["new"])
            image.format, image.value = kind, data

        menu.observe(show_choice, names="value")
        return widgets.VBox([menu, image])
    from IPython.display import HTML

    shown = range(len(options)) if static_options is None else [int(i) for i in static_options]
    for i in shown:
        if not 0 <= i < len(options):
            raise ValueError(f"static_options must index options (0 to {len(options) - 1}): {i}")
    size = f"width:{int(width)}px;" if width else "max-width:100%;"
    cells = "".join(
        '<figure style="margin:0;text-align:center">'
        f'<img src="{_data_uri(render(options[i]), dpi)}" alt="{html.escape(labels[i])}" '
        f'style="{size}"><figcaption style="font-family:sans-serif;font-size:0.85em">'
        f"{html.escape(description)}: {html.escape(labels[i])}</figcaption></figure>"
        for i in shown
    )
    text = (
        f'<div class="mgn-picker" style="display:grid;grid-template-columns:'
        f'repeat({int(ncols)},minmax(0,1fr));gap:0.5em;margin:0.5em 0">{cells}</div>'
    )
    return HTML(text)
