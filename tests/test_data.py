"""Tests of mgn_utils.datasets: the download registry, the MNIST test-split loader and the split."""

import gzip
import hashlib
import io
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from mgn_utils.course.env import provenance
from mgn_utils.datasets import REGISTRY, _provenance, download, fetch, load_mnist, mnist_split
from mgn_utils.datasets import _download as dl
from mgn_utils.datasets import _mnist as data

SHARED = Path(
    os.environ.get("MGN_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data")
)
RAW = SHARED / "MNIST" / "raw"
NAMES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture
def shared():
    if not all((RAW / n).is_file() for n in NAMES):
        pytest.skip(
            f"MNIST test files not found in {RAW} (set MGN_DATA to a folder with MNIST/raw/)"
        )
    return SHARED


def test_load_shapes_dtypes_counts(shared):
    images, labels = load_mnist(shared, download=False)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.int64
    assert np.bincount(labels, minlength=10).tolist() == COUNTS
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert images.max() == 255 and abs(images.mean() - 33.79) < 0.01


def test_arrays_read_only_and_cached(shared):
    images, labels = load_mnist(shared, download=False)
    assert not images.flags.writeable and not labels.flags.writeable
    with pytest.raises(ValueError):
        images[0, 0, 0] = 1
    images2, _ = load_mnist(shared, download=False)
    assert images2 is images  # parsed once, served from the in-memory cache


def test_root_from_env(shared, monkeypatch):
    monkeypatch.setenv("MGN_DATA", str(shared))
    _, labels = load_mnist(download=False)
    assert len(labels) == 10000


def test_root_falls_back_to_cache_dir(tmp_path, monkeypatch):
    import platformdirs

    monkeypatch.delenv("MGN_DATA", raising=False)
    monkeypatch.setattr(platformdirs, "user_cache_dir", lambda appname: str(tmp_path / appname))
    with pytest.raises(FileNotFoundError, match="MGN_DATA") as e:
        load_mnist(download=False)
    assert str(tmp_path / "mgn_utils" / "MNIST" / "raw") in str(e.value)


def test_missing_without_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="MGN_DATA") as e:
        load_mnist(tmp_path / "nowhere", download=False)
    assert "t10k-images-idx3-ubyte.gz" in str(e.value)
    assert not (tmp_path / "nowhere").exists()  # nothing created


def _copy_raw(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for n in NAMES:
        shutil.copy(RAW / n, raw / n)
    return raw


def test_corrupted_file_raises(shared, tmp_path):
    raw = _copy_raw(tmp_path)
    p = raw / NAMES[1]
    b = bytearray(p.read_bytes())
    b[100] ^= 0xFF
    p.write_bytes(bytes(b))
    with pytest.raises(ValueError, match="md5") as e:
        load_mnist(tmp_path, download=False)
    msg = str(e.value)
    assert str(p) in msg and "ec29112dd5afa0611ce80d1b7f02629c" in msg
    assert hashlib.md5(bytes(b)).hexdigest() in msg and "elete" in msg


def test_bad_magic_raises(tmp_path):
    p = tmp_path / "x.gz"
    with gzip.open(p, "wb") as f:
        f.write(bytes([0, 0, 8, 1, 0, 0, 0, 2, 3, 4]))  # a valid labels file
    md5 = hashlib.md5(p.read_bytes()).hexdigest()
    assert data._read_idx(str(p), 0, 0, md5, 0x801).tolist() == [3, 4]
    with pytest.raises(ValueError, match="magic"):
        data._read_idx(str(p), 0, 0, md5, 0x803)


def _serve(calls, payload=None):
    def fake_urlopen(url, timeout=None):
        calls.append((url, timeout))
        body = payload if payload is not None else (RAW / url.rsplit("/", 1)[1]).read_bytes()
        return io.BytesIO(body)

    return fake_urlopen


def test_download_offline_with_fake_urlopen(shared, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(urllib.request, "urlopen", _serve(calls))
    images, labels = load_mnist(tmp_path, download=True)
    assert images.shape == (10000, 28, 28) and np.bincount(labels).tolist() == COUNTS
    raw = tmp_path / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(NAMES)  # no temp files left
    assert [u for u, _ in calls] == [data.MNIST_MIRRORS[0] + n for n in NAMES]
    assert all(t is not None and t <= 60 for _, t in calls)
    calls.clear()
    load_mnist(tmp_path, download=True)
    assert calls == []  # present files are not downloaded again


def test_download_bad_content_tries_next_mirror_then_fails(shared, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(urllib.request, "urlopen", _serve(calls, payload=b"<html>not it</html>"))
    with pytest.raises(FileNotFoundError, match="md5"):
        load_mnist(tmp_path, download=True)
    assert len(calls) == len(data.MNIST_MIRRORS)
    assert list((tmp_path / "MNIST" / "raw").iterdir()) == []


def test_network_failure_raises_file_not_found(tmp_path, monkeypatch):
    def offline(url, timeout=None):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(FileNotFoundError, match="MGN_DATA") as e:
        load_mnist(tmp_path, download=True)
    assert "no network" in str(e.value) and str(tmp_path) in str(e.value)
    assert list((tmp_path / "MNIST" / "raw").iterdir()) == []


MNIST_NAMES = [f"MNIST/raw/{n}" for n in NAMES]
W2_NAMES = [f"w2bench/Mix3toMix10/{d}_{v}.pt" for d in (2, 4, 8, 16, 32, 64) for v in ("v1", "v2")]


def test_registry_lists_every_download_with_https_mirrors():
    assert sorted(REGISTRY) == sorted(MNIST_NAMES + W2_NAMES)
    for name, (urls, algorithm, digest) in REGISTRY.items():
        assert isinstance(urls, list) and urls and all(u.startswith("https://") for u in urls)
        assert all(u.endswith("/" + name.rsplit("/", 1)[1]) for u in urls)
        assert (algorithm, len(digest)) in (("md5", 32), ("sha256", 64))
    assert REGISTRY[MNIST_NAMES[0]][0] == [
        "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz",
        "https://storage.googleapis.com/cvdf-datasets/mnist/t10k-images-idx3-ubyte.gz",
    ]
    assert not any("yann.lecun.com" in u for urls, _, _ in REGISTRY.values() for u in urls)
    assert tuple(data.MNIST_MIRRORS) == (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    )


def test_mirror_fallback_when_the_first_mirror_refuses(shared, tmp_path, monkeypatch):
    calls = []

    def first_refuses(url, timeout=None):
        calls.append(url)
        if url.startswith(data.MNIST_MIRRORS[0]):
            raise urllib.error.HTTPError(url, 403, "Forbidden", {}, None)
        return io.BytesIO((RAW / url.rsplit("/", 1)[1]).read_bytes())

    monkeypatch.setattr(urllib.request, "urlopen", first_refuses)
    images, labels = load_mnist(tmp_path, download=True)
    assert images.shape == (10000, 28, 28) and np.bincount(labels).tolist() == COUNTS
    assert calls == [m + n for n in NAMES for m in data.MNIST_MIRRORS]
    raw = tmp_path / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(NAMES)


def test_offline_message_says_how_to_get_the_files(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        load_mnist(tmp_path, download=False)
    msg = str(e.value)
    for n in NAMES:
        assert n in msg
        assert all(m + n in msg for m in data.MNIST_MIRRORS)
    assert "$MGN_DATA/MNIST/raw/" in msg and "MGN_DATA selects the data folder" in msg
    assert str(tmp_path / "MNIST" / "raw") in msg
    assert "shared" not in msg


def test_loader_records_what_it_read(shared, monkeypatch):
    monkeypatch.setattr(_provenance, "_READ", {})
    load_mnist(shared, download=False)
    seen = _provenance.data_read()
    assert provenance()["data"] == seen
    assert seen["MNIST/raw/t10k-images-idx3-ubyte.gz"] == "9fb629c4189551a2d022fa330f9573f3"
    assert seen["MNIST/raw/t10k-labels-idx1-ubyte.gz"] == "ec29112dd5afa0611ce80d1b7f02629c"


def test_download_and_fetch_from_the_registry(tmp_path, monkeypatch):
    """A registered file served from local file:// folders: bad first URL, good second one."""
    body = b"registered bytes"
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    bad.mkdir()
    (good / "f.bin").write_bytes(body)
    (bad / "f.bin").write_bytes(b"something else")
    digest = hashlib.sha256(body).hexdigest()
    entry = ([(bad / "f.bin").as_uri(), (good / "f.bin").as_uri()], "sha256", digest)
    monkeypatch.setitem(REGISTRY, "sub/f.bin", entry)
    with pytest.raises(FileNotFoundError, match=r"\$MGN_DATA/sub/") as e:
        download("sub/f.bin", tmp_path / "data", download=False)
    assert (bad / "f.bin").as_uri() in str(e.value)
    path = download("sub/f.bin", tmp_path / "data")
    assert path == (tmp_path / "data" / "sub" / "f.bin").resolve() and path.read_bytes() == body
    monkeypatch.setenv("MGN_DATA", str(tmp_path / "env"))
    assert download("sub/f.bin").parent == (tmp_path / "env" / "sub").resolve()
    # both URLs wrong: nothing is left behind, every URL is in the message
    monkeypatch.setitem(REGISTRY, "sub/f.bin", ([entry[0][0], entry[0][0]], "sha256", digest))
    with pytest.raises(FileNotFoundError, match="sha256") as e:
        fetch("sub/f.bin", tmp_path / "out" / "f.bin")
    assert list((tmp_path / "out").iterdir()) == []
    with pytest.raises(KeyError, match="not a registered download"):
        download("nope", tmp_path)


def test_note_data_reaches_the_stamp(monkeypatch):
    monkeypatch.setattr(_provenance, "_READ", {})
    dl.note_data("x/y.bin", "00ff")
    assert _provenance.data_read() == {"x/y.bin": "00ff"}
    assert provenance()["data"]["x/y.bin"] == "00ff"


def test_datasets_import_nothing_from_course():
    import ast
    from pathlib import Path

    import mgn_utils.datasets as ds

    for path in Path(ds.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert "course" not in (node.module or ""), f"{path.name} imports {node.module}"


def _labels(n=1000, seed=1):
    return np.random.default_rng(seed).integers(0, 10, n)


@pytest.mark.parametrize("holdout", [0.1, 0.2, 0.5])
def test_split_stratified_disjoint_covering(holdout):
    y = _labels()
    tr, te = mnist_split(y, holdout=holdout, seed=3)
    assert tr.dtype == te.dtype == np.int64
    assert len(np.intersect1d(tr, te)) == 0
    assert np.array_equal(np.sort(np.concatenate([tr, te])), np.arange(len(y)))
    for c in range(10):
        n_c = int((y == c).sum())
        assert int((y[te] == c).sum()) == round(holdout * n_c)


def test_split_deterministic_per_seed():
    y = _labels()
    a, b, c = (mnist_split(y, seed=s) for s in (0, 0, 1))
    assert all(np.array_equal(x, z) for x, z in zip(a, b))
    assert not np.array_equal(a[1], c[1])


def test_split_rejects_bad_input():
    with pytest.raises(ValueError):
        mnist_split(_labels(), holdout=1.0)
    with pytest.raises(ValueError):
        mnist_split(np.zeros((2, 2), int))


def test_split_on_mnist(shared):
    _, labels = load_mnist(shared, download=False)
    tr, te = mnist_split(labels)
    assert len(te) == sum(round(0.2 * n) for n in COUNTS) and len(tr) + len(te) == 10000
