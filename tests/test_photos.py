"""The photo helpers of mgn_utils.datasets: load_photo, image_to_colors, colors_to_image."""

import builtins

import numpy as np
import pytest
import torch

import mgn_utils
from mgn_utils.datasets import PHOTOS, colors_to_image, image_to_colors, load_photo

SHAPES = {
    "coffee": (400, 600, 3),
    "astronaut": (512, 512, 3),
    "rocket": (427, 640, 3),
    "chelsea": (300, 451, 3),
    "china": (427, 640, 3),
    "flower": (427, 640, 3),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_bundled_photos_load_offline(name):
    pytest.importorskip("skimage" if PHOTOS[name][0] == "scikit-image" else "sklearn")
    img = load_photo(name)
    assert img.shape == SHAPES[name] and img.dtype == np.float32
    assert img.flags.c_contiguous
    assert 0.0 <= img.min() and img.max() <= 1.0 and img.max() > 0.5


def test_bundled_photo_values_match_the_source():
    skdata = pytest.importorskip("skimage.data")
    raw = skdata.coffee()
    np.testing.assert_array_equal(load_photo("coffee"), raw.astype(np.float32) / 255)


def test_unknown_name_lists_the_names():
    with pytest.raises(ValueError) as e:
        load_photo("cofee")
    for name in PHOTOS:
        assert name in str(e.value)


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="no image file"):
        load_photo("/nonexistent/dir/photo.png")


def test_missing_package_gives_a_clear_import_error(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("skimage"):
            raise ImportError("No module named 'skimage'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="pip install scikit-image"):
        load_photo("coffee")


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_local_file_round_trip(tmp_path, mode):
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    im = Image.fromarray(rgb, "RGB").convert(mode)
    path = tmp_path / "photo.png"  # lossless, so values survive exactly
    im.save(path)
    img = load_photo(path)  # a Path object
    assert img.shape == (7, 5, 3) and img.dtype == np.float32
    expected = np.asarray(im.convert("RGB")).astype(np.float32) / 255
    np.testing.assert_array_equal(img, expected)
    np.testing.assert_array_equal(load_photo(str(path)), img)  # a string path


def test_colors_round_trip():
    img = np.random.default_rng(1).random((4, 6, 3)).astype(np.float32)
    c = image_to_colors(img)
    assert isinstance(c, torch.Tensor) and c.shape == (24, 3) and c.dtype == torch.float32
    # row-major: pixel (i, j) is row i * W + j
    assert torch.equal(c[1 * 6 + 2], torch.from_numpy(img[1, 2]))
    assert image_to_colors(img, dtype=torch.float64).dtype == torch.float64
    back = colors_to_image(c, img.shape)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, img)
    np.testing.assert_array_equal(colors_to_image(c.numpy(), (4, 6)), img)


def test_colors_to_image_clips_unless_asked():
    c = torch.tensor([[-0.5, 0.5, 1.5]] * 2)
    assert colors_to_image(c, (1, 2)).tolist() == [[[0.0, 0.5, 1.0]] * 2]
    assert colors_to_image(c, (1, 2), clip=False)[0, 0, 2] == pytest.approx(1.5)


def test_shape_errors():
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        image_to_colors(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="floating-point"):
        image_to_colors(np.zeros((2, 2, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"\(12, 3\)"):
        colors_to_image(torch.zeros(10, 3), (3, 4))


def test_photos_table_has_licences():
    assert set(PHOTOS) == set(SHAPES)
    for package, call, licence in PHOTOS.values():
        assert package in ("scikit-image", "scikit-learn") and call and licence
    assert mgn_utils.load_photo is load_photo
