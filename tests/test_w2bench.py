"""The Wasserstein-2 benchmark loader against the reference numbers of the original code."""

import hashlib
import io
import json
import os
import shutil
import urllib.error
import urllib.request
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch

from mgn_utils.course import env
from mgn_utils.datasets import REGISTRY
from mgn_utils.datasets import _w2bench as w2bench

ROOT = Path(os.environ.get("MGN_DATA", "")) / "w2bench"
HAVE_DATA = (ROOT / "Mix3toMix10" / "2_v1.pt").is_file()
needs_data = pytest.mark.skipif(
    not HAVE_DATA,
    reason=f"benchmark data not found at {ROOT} (set MGN_DATA to a folder that contains w2bench/)",
)
DIMS = (2, 4, 8, 16, 32, 64)
SHIPPED = resources.files("mgn_utils.datasets").joinpath("w2bench_reference")


def reference():
    path = ROOT / "reference" / "reference_stats.json"
    if not path.is_file():
        pytest.skip(f"reference numbers not found at {path}")
    return json.loads(path.read_text())


def shipped(d):
    return SHIPPED.joinpath(f"mix3tomix10_d{d}_constants.npz")


@pytest.fixture
def only_checkpoints(tmp_path, monkeypatch):
    """MGN_DATA holding nothing but w2bench/Mix3toMix10/*.pt."""
    ck = tmp_path / "data" / "w2bench" / "Mix3toMix10"
    ck.mkdir(parents=True)
    for f in (ROOT / "Mix3toMix10").glob("*.pt"):
        shutil.copy(f, ck / f.name)
    monkeypatch.setenv("MGN_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.mark.parametrize("d", DIMS)
def test_constants_ship_with_the_package_and_match_their_hash(d):
    raw = shipped(d).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == w2bench.CONSTANTS_SHA256[d]
    offline = ROOT / "reference" / f"mix3tomix10_d{d}_constants.npz"
    if offline.is_file():
        assert offline.read_bytes() == raw
    for f in ("README.md", "LICENSE-Wasserstein2Benchmark.txt"):
        assert SHIPPED.joinpath(f).is_file()
    assert "MIT" in SHIPPED.joinpath("LICENSE-Wasserstein2Benchmark.txt").read_text()


@pytest.mark.parametrize("d", DIMS)
def test_regenerated_mixture_equals_stored_exactly(d):
    centers, maps = w2bench.mixture_parameters(d)
    with np.load(io.BytesIO(shipped(d).read_bytes())) as z:
        assert np.array_equal(centers, z["centers"]) and np.array_equal(maps, z["maps"])
    assert np.allclose(
        np.sort(np.unique(centers)), [-1.0998534, 0.0, 1.0998534]
    )  # ±1/mult, mult = 0.9092121
    assert np.allclose(np.linalg.norm(maps, axis=2), 1 / 0.9092121, rtol=1e-5)


@needs_data
@pytest.mark.parametrize("d", (2, 4, 8, 16))
def test_table_a_identity_and_linear_on_the_reference_sample(d):
    """The original's eval4096 draw (seed 2024): Table A to about 4 decimals."""
    ref = reference()[str(d)]
    pair = w2bench.load_pair(d, root=ROOT)
    assert pair.constants == "stored" and pair.target_var == pytest.approx(
        ref["Q_var_metric"], rel=1e-12
    )
    X = pair.reference_sample(4096, seed=2024)
    assert pair.l2_uvp(lambda x: x, X) == pytest.approx(ref["uvp_identity_fwd"], abs=1e-3)
    assert pair.l2_uvp(pair.linear_map, X) == pytest.approx(ref["uvp_linear_fwd"], abs=1e-3)
    assert pair.cosine(pair.linear_map, X, cost=ref["cost_1024"]) == pytest.approx(
        ref["cos_linear_fwd"], abs=1e-3
    )
    Y = pair.true_map(X)
    assert 0.5 * float(((X - Y) ** 2).sum(1).mean()) == pytest.approx(ref["half_sq_dist"], rel=1e-4)
    Yinv = pair.linear_inverse_map(Y)
    assert 100 * float(((Yinv - X) ** 2).sum(1).mean()) / pair.source_var == pytest.approx(
        ref["uvp_linear_inv"], abs=1e-3
    )


@needs_data
@pytest.mark.parametrize("d", (4, 32))
def test_table_b_on_fresh_samples_within_noise(d):
    """A fresh draw of n samples lands within 5 standard errors of the 2^17-sample estimates."""
    ref = reference()[str(d)]
    pair = w2bench.load_pair(d, root=ROOT)
    n = 2**13
    X = pair.sample_source(n, torch.Generator().manual_seed(11))
    scale = np.sqrt(ref["big_N"] / n)
    assert (
        abs(pair.l2_uvp(lambda x: x, X) - ref["big_uvp_identity_fwd"])
        < 5 * scale * ref["big_uvp_identity_fwd_se"]
    )
    assert (
        abs(pair.l2_uvp(pair.linear_map, X) - ref["big_uvp_linear_fwd"])
        < 5 * scale * ref["big_uvp_linear_fwd_se"]
    )
    assert float((X**2).sum(1).mean()) == pytest.approx(d, rel=0.05)  # E‖x‖² = d by construction


@needs_data
def test_true_map_is_the_gradient_of_the_potential_and_monotone():
    pair = w2bench.load_pair(4, root=ROOT)
    x = pair.sample_source(64, torch.Generator().manual_seed(0)).requires_grad_(True)
    (g,) = torch.autograd.grad(pair.potential(x).sum(), x)
    with torch.no_grad():
        y = pair.true_map(x)
    assert torch.allclose(g, y, atol=1e-5) and not y.requires_grad
    x2 = pair.sample_source(64, torch.Generator().manual_seed(1))
    assert bool((((pair.true_map(x2) - y) * (x2 - x.detach())).sum(1) >= -1e-5).all())  # monotone


@needs_data
@pytest.mark.parametrize("d", DIMS)
def test_works_with_only_the_checkpoints_and_never_estimates_silently(only_checkpoints, d):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pair = w2bench.load_pair(d)
    assert pair.constants == "stored"
    with np.load(io.BytesIO(shipped(d).read_bytes())) as z:
        assert pair.s == float(z["s"]) and torch.equal(pair.m, torch.from_numpy(z["m"]))
        assert pair.target_var == float(z["Q_var"])


@needs_data
def test_load_records_files_and_digests(only_checkpoints, monkeypatch):
    from mgn_utils.datasets import _provenance

    monkeypatch.setattr(_provenance, "_READ", {})
    w2bench.load_pair(4)
    seen = env.provenance()["data"]
    for v in ("v1", "v2"):
        assert seen[f"w2bench/Mix3toMix10/4_{v}.pt"] == w2bench.CHECKPOINT_SHA256[f"4_{v}.pt"]
    npz = "mgn_utils/datasets/w2bench_reference/mix3tomix10_d4_constants.npz"
    assert seen[npz] == w2bench.CONSTANTS_SHA256[4]


@needs_data
def test_estimate_only_when_asked(tmp_path):
    ref = w2bench.load_pair(8, root=ROOT)
    est = w2bench.load_pair(8, root=ROOT, constants="estimate")
    assert ref.constants == "stored" and est.constants == "estimated"
    X = ref.sample_source(4096, torch.Generator().manual_seed(3))
    assert ref.l2_uvp(est.true_map, X) < 0.1  # 0.007 to 0.03 points
    assert est.s == pytest.approx(ref.s, rel=0.01)
    # a constants file given by path is read (and hash-checked for a listed dimension)
    path = tmp_path / "c.npz"
    path.write_bytes(shipped(8).read_bytes())
    assert w2bench.load_pair(8, root=ROOT, constants=path).s == ref.s
    path.write_bytes(shipped(4).read_bytes())
    with pytest.raises(ValueError, match="corrupted"):
        w2bench.load_pair(8, root=ROOT, constants=path)
    with pytest.raises(ValueError, match="constants must be"):
        w2bench.load_pair(8, root=ROOT, constants="guess")


def test_dimension_without_stored_constants_raises_clearly(tmp_path):
    with pytest.raises(ValueError, match="no stored constants for dim=3") as e:
        w2bench.load_pair(3, root=tmp_path)
    assert "constants='estimate'" in str(e.value)
    with pytest.raises(FileNotFoundError, match="can be downloaded"):
        w2bench.load_pair(3, root=tmp_path / "nowhere", constants="estimate")  # no pinned hash


def test_corrupted_shipped_constants_are_refused(monkeypatch):
    monkeypatch.setitem(w2bench.CONSTANTS_SHA256, 2, "0" * 64)
    with pytest.raises(ValueError, match="corrupted.*Reinstall"):
        w2bench.load_pair(2, root=ROOT)


def test_missing_folder_offline_names_the_file_and_the_fix(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"2_v1\.pt.*MGN_DATA"):
        w2bench.load_pair(2, root=tmp_path / "nowhere", download=False)

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(FileNotFoundError) as err:
        w2bench.load_pair(2, root=tmp_path / "nowhere")
    msg = str(err.value)
    assert "2_v1.pt" in msg and str(tmp_path / "nowhere") in msg and "MGN_DATA" in msg
    assert not list((tmp_path / "nowhere").rglob("*.part"))  # no partial file left behind
    for name in ("2_v1.pt", "2_v2.pt"):
        assert name in msg
        assert all(u in msg for u in REGISTRY[f"w2bench/Mix3toMix10/{name}"][0])
    assert "$MGN_DATA/w2bench/Mix3toMix10/" in msg and "MGN_DATA selects the data folder" in msg
    assert "shared" not in msg
    with pytest.raises(ValueError, match="positive int"):
        w2bench.load_pair(0, root=tmp_path)


def test_default_root_follows_mgn_data(tmp_path, monkeypatch):
    monkeypatch.setenv("MGN_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "w2bench" / "Mix3toMix10")):
        w2bench.load_pair(2, download=False)


@needs_data
def test_download_checks_the_pinned_hash_and_falls_back_to_the_mirror(tmp_path, monkeypatch):
    good = {f"2_{v}.pt": (ROOT / "Mix3toMix10" / f"2_{v}.pt").read_bytes() for v in ("v1", "v2")}
    urls = []

    def serve(url, timeout=None):
        urls.append(url)
        if "raw.githubusercontent.com" in url:
            raise urllib.error.URLError("blocked")
        return io.BytesIO(good[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(urllib.request, "urlopen", serve)
    pair = w2bench.load_pair(2, root=tmp_path)
    assert pair.constants == "stored"
    assert all(w2bench.REPOSITORY_COMMIT in u for u in urls) and len(urls) == 4
    assert [u for u in urls if "jsdelivr" in u] == [
        REGISTRY[f"w2bench/Mix3toMix10/2_{v}.pt"][0][1] for v in ("v1", "v2")
    ]
    assert (tmp_path / "Mix3toMix10" / "2_v1.pt").read_bytes() == good["2_v1.pt"]

    bad = tmp_path / "bad"
    monkeypatch.setattr(
        urllib.request, "urlopen", lambda url, timeout=None: io.BytesIO(b"not a checkpoint")
    )
    with pytest.raises(FileNotFoundError, match="sha256"):
        w2bench.load_pair(2, root=bad)
    assert not (bad / "Mix3toMix10" / "2_v1.pt").exists()
    assert not list(bad.rglob("*.part"))


@needs_data
def test_corrupted_checkpoint_is_refused(tmp_path):
    (tmp_path / "Mix3toMix10").mkdir()
    shutil.copy(ROOT / "Mix3toMix10" / "2_v2.pt", tmp_path / "Mix3toMix10")
    (tmp_path / "Mix3toMix10" / "2_v1.pt").write_bytes(b"x")
    with pytest.raises(ValueError, match="corrupted") as e:
        w2bench.load_pair(2, root=tmp_path, download=False)
    assert "2_v1.pt" in str(e.value) and "shared" not in str(e.value)


@needs_data
def test_pair_to_device_samples_and_maps_there(device):
    pair = w2bench.load_pair(2, root=ROOT)
    moved = pair.to(device)
    assert moved.device.type == torch.device(device).type
    g = torch.Generator(device=device).manual_seed(0)
    x = moved.sample_source(64, generator=g)
    assert x.device.type == moved.device.type
    assert torch.allclose(moved.true_map(x).cpu(), pair.true_map(x.cpu()), atol=1e-5)
    assert moved.l2_uvp(moved.linear_map, x) == pytest.approx(pair.l2_uvp(pair.linear_map, x.cpu()))
    if moved.device.type != "cpu":
        with pytest.raises(ValueError, match="pair.to"):
            pair.true_map(x)


@needs_data
def test_pair_on_device_samples_with_a_cpu_generator(device):
    # fit_w2_map hands the samplers a CPU generator whatever the device of the pair
    pair = w2bench.load_pair(2, root=ROOT)
    moved = pair.to(device)
    x = moved.sample_source(64, generator=torch.Generator().manual_seed(0))
    y = pair.sample_source(64, generator=torch.Generator().manual_seed(0))
    assert x.device.type == torch.device(device).type
    assert torch.allclose(x.cpu(), y, atol=1e-5)  # the same numbers, drawn on the CPU
