"""Checkpoints: save -> manifest -> find -> verify -> load, and the errors on the way."""

import hashlib
import io
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch

import mgn_utils.course.checkpoints as ck
from mgn_utils import CMGN
from mgn_utils.course.checkpoints import (
    CheckpointError,
    CheckpointPathError,
    checkpoint_root,
    find_checkpoint,
    load_checkpoint,
    save_checkpoint,
)

CONFIG = {"hidden": 4, "layers": 2, "lr": 1e-3, "sizes": (1, 2)}
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """No real cache, no checkpoint folder from the environment, no remembered remote manifest."""
    monkeypatch.delenv("MGN_CHECKPOINTS", raising=False)
    monkeypatch.setattr("platformdirs.user_cache_dir", lambda *a, **k: str(tmp_path / "cache"))
    monkeypatch.setattr(ck, "_REMOTE_MANIFESTS", {})


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file())


def test_round_trip_float16(tmp_path):
    torch.manual_seed(0)
    model = CMGN(5, 4, layers=2)
    entry = save_checkpoint(
        model, "toy", CONFIG, {"loss": 0.5}, root=tmp_path, duration_s=1.234, dtype=torch.float16
    )
    manifest = json.loads((tmp_path / "MANIFEST.json").read_text())
    assert manifest["toy"] == entry and entry["dtype"] == "float16" and entry["duration_s"] == 1.2
    assert entry["config"]["sizes"] == [1, 2]  # tuples stored as lists; still match
    other = CMGN(5, 4, layers=2)
    load_checkpoint(other, "toy", CONFIG, root=tmp_path)
    x = torch.randn(3, 5)
    # save_checkpoint rounded the trained model in place: both are the same function
    assert torch.equal(model(x), other(x))
    assert all(p.dtype == torch.float32 for p in other.parameters())


def test_mismatch_missing_and_corrupt(tmp_path):
    model = CMGN(3, 2)
    with pytest.raises(CheckpointError, match="no checkpoint named 'toy'"):
        find_checkpoint("toy", CONFIG, root=tmp_path)
    save_checkpoint(model, "toy", CONFIG, root=tmp_path)
    with pytest.raises(CheckpointError, match=r"different config \(differs in \['lr'\]\)"):
        find_checkpoint("toy", {**CONFIG, "lr": 1e-2}, root=tmp_path)
    path = tmp_path / "toy.pt"
    path.write_bytes(path.read_bytes()[:-1] + b"x")
    with pytest.raises(CheckpointError, match="sha256"):
        load_checkpoint(model, "toy", CONFIG, root=tmp_path)
    path.unlink()
    with pytest.raises(CheckpointError, match="missing"):
        find_checkpoint("toy", CONFIG, root=tmp_path)


def test_bad_name_and_config(tmp_path):
    with pytest.raises(ValueError, match="name"):
        save_checkpoint(CMGN(2, 2), "../evil", CONFIG, root=tmp_path)
    with pytest.raises(ValueError, match="JSON"):
        save_checkpoint(CMGN(2, 2), "ok", {"f": object()}, root=tmp_path)


def test_offline_download_failure_is_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("MGN_CHECKPOINTS", str(tmp_path / "empty"))

    def offline(url, timeout=None):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(CheckpointError, match="retrain with RETRAIN = True") as e:
        find_checkpoint("toy", CONFIG, url="https://example.org/ck/")
    msg = str(e.value)
    assert "no checkpoint named 'toy'" in msg and "https://example.org/ck/MANIFEST.json" in msg
    assert "no network" in msg


def test_remote_url_from_pip_direct_url(monkeypatch):
    import mgn_utils.course.checkpoints as ck

    class Dist:
        def __init__(self, text):
            self.text = text

        def read_text(self, name):
            return self.text

    info = json.dumps(
        {
            "url": "https://github.com/org/course.git",
            "vcs_info": {"vcs": "git", "commit_id": "abc123"},
        }
    )
    monkeypatch.setattr("importlib.metadata.distribution", lambda name: Dist(info))
    assert ck.remote_url() == "https://raw.githubusercontent.com/org/course/abc123/checkpoints/"
    monkeypatch.setattr(
        "importlib.metadata.distribution",
        lambda name: Dist('{"url": "file:///src", "dir_info": {"editable": true}}'),
    )
    assert ck.remote_url() is None


def test_source_checkout_detection(tmp_path):
    repo = tmp_path / "repo"
    (repo / "mgn_utils").mkdir(parents=True)
    (repo / "pyproject.toml").write_text('[project]\nname = "mgn-utils"\n')
    assert ck._source_tree(repo / "mgn_utils") is None  # neither .git nor _config.yml
    (repo / ".git").mkdir()
    assert ck._source_tree(repo / "mgn_utils") == repo
    (repo / "pyproject.toml").write_text('[project]\nname = "other"\n')
    assert ck._source_tree(repo / "mgn_utils") is None
    site = tmp_path / "site-packages"
    (site / "mgn_utils").mkdir(parents=True)
    assert ck._source_tree(site / "mgn_utils") is None
    assert ck._source_tree() == REPO  # the tests run from the checkout


def test_default_root_checkout_else_user_cache(tmp_path, monkeypatch):
    assert checkpoint_root() == REPO / "checkpoints"
    monkeypatch.setattr(ck, "_source_tree", lambda *a: None)  # an installed copy
    assert checkpoint_root() == (tmp_path / "cache" / "checkpoints").resolve()
    save_checkpoint(CMGN(3, 2), "mine", CONFIG)
    assert _files(tmp_path / "cache") == ["checkpoints/MANIFEST.json", "checkpoints/mine.pt"]
    monkeypatch.setenv("MGN_CHECKPOINTS", str(tmp_path / "env"))
    assert checkpoint_root() == (tmp_path / "env").resolve()
    assert checkpoint_root(tmp_path / "arg") == (tmp_path / "arg").resolve()


def _remote(tmp_path, folder=""):
    """A 'remote' checkpoint folder served by file:// URLs, holding 'toy'."""
    remote = tmp_path / "remote"
    model = CMGN(3, 2)
    save_checkpoint(model, "toy", CONFIG, root=remote, folder=folder)
    return model, (remote / folder).as_uri() + "/"


def test_folder_and_download_from_url(tmp_path):
    """A checkpoint in a sub-folder, served from a 'remote' folder URL (file://) into the cache."""
    model, url = _remote(tmp_path, "sub")
    other = CMGN(3, 2)
    entry = load_checkpoint(other, "toy", CONFIG, root=tmp_path / "empty", folder="sub", url=url)
    assert (tmp_path / "cache" / "checkpoints-downloaded" / "sub" / "toy.pt").exists()
    x = torch.randn(2, 3)
    assert torch.equal(model(x), other(x)) and entry["file"] == "toy.pt"
    assert not (tmp_path / "empty").exists()  # the local folder is not written to


def test_local_manifest_without_the_name_does_not_stop_the_remote(tmp_path, monkeypatch):
    monkeypatch.setattr(ck, "_source_tree", lambda *a: None)  # installed: local = user cache
    mine = CMGN(3, 2)
    save_checkpoint(mine, "mine", CONFIG)  # a retrained model in the user cache
    model, url = _remote(tmp_path)
    monkeypatch.setattr(ck, "remote_url", lambda: url)  # as if pip-installed from GitHub
    other = CMGN(3, 2)
    load_checkpoint(other, "toy", CONFIG)  # url="auto"
    x = torch.randn(2, 3)
    assert torch.equal(model(x), other(x))
    local = json.loads((tmp_path / "cache" / "checkpoints" / "MANIFEST.json").read_text())
    assert sorted(local) == ["mine"]  # the remote manifest did not replace the local one
    back = CMGN(3, 2)
    load_checkpoint(back, "mine", CONFIG)
    assert torch.equal(mine(x), back(x))
    # a local entry with another config falls back to the remote one too
    save_checkpoint(CMGN(3, 2), "toy", {**CONFIG, "lr": 1.0})
    load_checkpoint(other, "toy", CONFIG)
    assert torch.equal(model(x), other(x))


def test_remote_manifest_fetched_once_per_process(tmp_path, monkeypatch):
    _, url = _remote(tmp_path)
    real, calls = urllib.request.urlopen, []

    def spy(u, timeout=None):
        calls.append(u)
        return real(u, timeout=timeout)

    monkeypatch.setattr(urllib.request, "urlopen", spy)
    for _ in range(3):
        find_checkpoint("toy", CONFIG, root=tmp_path / "empty", url=url)
    assert calls == [url + "MANIFEST.json", url + "toy.pt"]


def test_download_is_checked_before_it_is_moved_into_place(tmp_path, monkeypatch):
    _, url = _remote(tmp_path)
    real = urllib.request.urlopen

    def tampered(u, timeout=None):
        return io.BytesIO(b"evil") if u.endswith(".pt") else real(u, timeout=timeout)

    monkeypatch.setattr(urllib.request, "urlopen", tampered)
    with pytest.raises(CheckpointError, match="sha256"):
        find_checkpoint("toy", CONFIG, root=tmp_path / "empty", url=url)
    assert _files(tmp_path / "cache") == ["checkpoints-downloaded/MANIFEST.json"]


def test_corrupt_local_file_is_not_bypassed_by_the_remote(tmp_path):
    _, url = _remote(tmp_path)
    save_checkpoint(CMGN(3, 2), "toy", CONFIG, root=tmp_path / "local")
    (tmp_path / "local" / "toy.pt").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="corrupt"):
        find_checkpoint("toy", CONFIG, root=tmp_path / "local", url=url)


@pytest.mark.parametrize(
    "file", ["../../../../x.pt", "ABSOLUTE", "sub/x.pt", "..\\x.pt", "MANIFEST.json", "", None]
)
def test_manifest_file_outside_the_folder_is_refused(tmp_path, file):
    remote = tmp_path / "remote"
    remote.mkdir()
    body = b"payload"
    if file == "ABSOLUTE":
        file = str(tmp_path / "outside" / "x.pt")
    entry = {"file": file, "sha256": hashlib.sha256(body).hexdigest(), "config": CONFIG}
    (remote / "MANIFEST.json").write_text(json.dumps({"toy": ck._canonical(entry)}))
    (remote / "x.pt").write_bytes(body)
    with pytest.raises(CheckpointPathError, match="refused"):
        find_checkpoint("toy", CONFIG, root=tmp_path / "empty", url=remote.as_uri() + "/")
    # nothing was written outside the cache folder (the remote folder is what we made)
    outside = [p for p in tmp_path.rglob("*") if p.is_file()]
    outside = [
        p for p in outside if remote not in p.parents and tmp_path / "cache" not in p.parents
    ]
    assert outside == []
    assert _files(tmp_path / "cache") == ["checkpoints-downloaded/MANIFEST.json"]
    # the same entry in a local manifest is refused too
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "MANIFEST.json").write_text((remote / "MANIFEST.json").read_text())
    with pytest.raises(CheckpointPathError, match="refused"):
        find_checkpoint("toy", CONFIG, root=tmp_path / "local", url=None)


@pytest.mark.parametrize("folder", ["../x", "/abs", "a/../../b", "a\\b", "C:x", 3])
def test_bad_folder_is_refused(tmp_path, folder):
    with pytest.raises(CheckpointPathError, match="refused"):
        find_checkpoint("toy", CONFIG, root=tmp_path / "root", folder=folder, url=None)
    with pytest.raises(ValueError, match="refused"):  # CheckpointPathError is a ValueError too
        save_checkpoint(CMGN(2, 2), "toy", CONFIG, root=tmp_path / "root", folder=folder)
    assert list(tmp_path.iterdir()) == []


def test_nested_folder_is_allowed(tmp_path):
    save_checkpoint(CMGN(2, 2), "toy", CONFIG, root=tmp_path, folder="a/./b/")
    assert (tmp_path / "a" / "b" / "toy.pt").is_file()
    assert (
        find_checkpoint("toy", CONFIG, root=tmp_path, folder="a/b", url=None)[1]["file"] == "toy.pt"
    )


def test_loads_with_weights_only(tmp_path, monkeypatch):
    save_checkpoint(CMGN(2, 2), "toy", CONFIG, root=tmp_path)
    seen, real = [], torch.load

    def spy(*args, **kwargs):
        seen.append(kwargs.get("weights_only"))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    load_checkpoint(CMGN(2, 2), "toy", CONFIG, root=tmp_path)
    assert seen == [True]


def test_a_found_checkpoint_is_noted_for_the_chapter_stamp(tmp_path, monkeypatch):
    import sys

    from mgn_utils.course import env

    monkeypatch.setitem(env._USED, "checkpoints", {})
    save_checkpoint(CMGN(5, 4, layers=2), "toy", CONFIG, root=tmp_path, folder="sub")
    load_checkpoint(CMGN(5, 4, layers=2), "toy", CONFIG, root=tmp_path, folder="sub")
    assert env.provenance()["checkpoints"] == {}  # an explicit root (a demo's folder): not noted
    monkeypatch.setenv("MGN_CHECKPOINTS", str(tmp_path))  # the default root
    load_checkpoint(CMGN(5, 4, layers=2), "toy", CONFIG, folder="sub")
    noted = env.provenance()["checkpoints"]
    assert list(noted) == ["sub/toy"]
    # the freshness check recomputes the same digest from the manifest as it is on disk
    sys.path.insert(0, str(REPO / "tools"))
    import freshness

    assert freshness.checkpoint_digest(tmp_path, "sub/toy") == noted["sub/toy"]
    save_checkpoint(CMGN(5, 4, layers=2), "toy", CONFIG, {"loss": 1.0}, root=tmp_path, folder="sub")
    assert freshness.checkpoint_digest(tmp_path, "sub/toy") != noted["sub/toy"]
    assert freshness.checkpoint_digest(tmp_path, "sub/none") is None
