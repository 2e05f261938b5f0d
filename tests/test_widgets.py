"""mgn_utils.widgets: the static HTML fallback, the interactive ipywidgets form, the static rule."""

import matplotlib

matplotlib.use("Agg")

import base64  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from mgn_utils import widgets  # noqa: E402


@pytest.fixture(autouse=True)
def _no_forcing(monkeypatch):
    monkeypatch.delenv("MGN_STATIC_WIDGETS", raising=False)
    yield
    plt.close("all")


def _frames():
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [0, 1])
    return [np.zeros((4, 4)), torch.rand(4, 5, 3), fig]


def _embedded(text):
    return [
        base64.b64decode(s) for s in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text)
    ]


def test_static_slider_holds_every_frame_and_a_range_input():
    view = widgets.interpolation_slider(_frames(), labels=[0.0, 0.5, 1.0], value=1, static=True)
    from IPython.display import HTML

    assert isinstance(view, HTML)
    text = view.data
    images = _embedded(text)
    assert len(images) == 3 and all(b.startswith(b"\x89PNG") for b in images)
    assert '<input type="range" min="0" max="2" step="1" value="1"' in text
    assert "oninput=" in text and "<script" not in text and 'src="http' not in text
    assert text.count("display:block") == 1  # only the chosen frame is visible
    assert "<output>0.5</output>" in text
    # deterministic: the same frames give the same text (stored outputs do not churn)
    again = widgets.interpolation_slider([np.zeros((4, 4))], static=True).data
    assert again == widgets.interpolation_slider([np.zeros((4, 4))], static=True).data


def test_static_slider_keeps_given_bytes():
    png, _ = widgets.to_image_bytes(np.ones((3, 3)))
    text = widgets.interpolation_slider([png, png], static=True).data
    assert _embedded(text) == [png, png]
    jpeg = b"\xff\xd8\xff\xe0" + b"0" * 8
    assert "data:image/jpeg;base64," in widgets.interpolation_slider([jpeg], static=True).data


def test_interactive_slider_builds_widgets():
    ipywidgets = pytest.importorskip("ipywidgets")
    box = widgets.interpolation_slider(_frames(), labels=["a", "b", "c"], static=False)
    assert isinstance(box, ipywidgets.VBox)
    slider, image = box.children
    assert isinstance(slider, ipywidgets.SelectionSlider) and isinstance(image, ipywidgets.Image)
    first = image.value
    slider.value = 2  # moving the slider shows the third frame
    assert bytes(image.value) != bytes(first) and bytes(image.value).startswith(b"\x89PNG")


def test_static_picker_shows_every_option():
    calls = []

    def render(option):
        calls.append(option)
        return np.full((3, 3), option[0] / 10)

    options = [(0, 1), (1, 2), (2, 3)]
    text = widgets.picker(options, render, description="pair", static=True, ncols=2).data
    assert calls == options and len(_embedded(text)) == 3
    assert "grid-template-columns:repeat(2," in text and "pair: (1, 2)" in text
    text = widgets.picker(options, render, static=True, static_options=[2]).data
    assert len(_embedded(text)) == 1 and "(2, 3)" in text


def test_interactive_picker_renders_on_demand():
    ipywidgets = pytest.importorskip("ipywidgets")
    calls = []

    def render(option):
        calls.append(option)
        return np.full((3, 3), option / 10)

    box = widgets.picker([1, 5, 9], render, labels=["one", "five", "nine"], static=False)
    menu, image = box.children
    assert isinstance(menu, ipywidgets.Dropdown) and calls == [1]
    menu.value = 2
    assert calls == [1, 9] and bytes(image.value).startswith(b"\x89PNG")
    menu.value = 0  # cached
    assert calls == [1, 9]


def test_bad_input():
    with pytest.raises(ValueError, match="at least one frame"):
        widgets.interpolation_slider([], static=True)
    with pytest.raises(ValueError, match="one entry per frame"):
        widgets.interpolation_slider([np.zeros((2, 2))], labels=["a", "b"], static=True)
    with pytest.raises(ValueError, match="value must index a frame"):
        widgets.interpolation_slider([np.zeros((2, 2))], value=3, static=True)
    with pytest.raises(ValueError, match="PNG or a JPEG"):
        widgets.interpolation_slider([b"GIF89a"], static=True)
    with pytest.raises(ValueError, match="frame must have shape"):
        widgets.interpolation_slider([np.zeros((2, 2, 2))], static=True)
    with pytest.raises(TypeError, match="render must be a callable"):
        widgets.picker([1], render=None, static=True)
    with pytest.raises(ValueError, match="static_options must index"):
        widgets.picker([1], lambda o: np.zeros((2, 2)), static=True, static_options=[4])


def test_static_rule(monkeypatch):
    assert widgets.is_static(True) and not widgets.is_static(False)
    assert widgets.is_static()  # pytest: no IPython kernel
    monkeypatch.setenv("MGN_STATIC_WIDGETS", "0")
    assert not widgets.is_static()
    monkeypatch.setenv("MGN_STATIC_WIDGETS", "1")
    assert widgets.is_static()
    monkeypatch.delenv("MGN_STATIC_WIDGETS")

    # a kernel: interactive when the frontend allows stdin (Jupyter, Colab), else static (nbclient)
    kernel = types.SimpleNamespace(_allow_stdin=True)
    shell = types.SimpleNamespace(kernel=kernel)
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    assert not widgets.is_static()
    kernel._allow_stdin = False
    assert widgets.is_static()


def test_missing_ipywidgets(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import raises ImportError
    assert widgets.is_static()
    with pytest.raises(ImportError, match=r"mgn-utils\[widgets\]"):
        widgets.interpolation_slider([np.zeros((2, 2))], static=False)
    text = widgets.interpolation_slider([np.zeros((2, 2))]).data  # the fallback
    assert 'type="range"' in text
