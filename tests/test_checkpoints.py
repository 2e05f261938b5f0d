"""Checkpoints: save -> manifest -> find -> verify -> load, and the errors on the way."""
import json

import pytest
import torch

from mgn_utils import CMGN
from mgn_utils.course.checkpoints import CheckpointError, find_checkpoint, load_checkpoint, save_checkpoint

CONFIG = {"hidden": 4, "layers": 2, "lr": 1e-3, "sizes": (1, 2)}


def test_round_trip_float16(tmp_path):
    torch.manual_seed(0)
    model = CMGN(5, 4, layers=2)
    entry = save_checkpoint(model, "toy", CONFIG, {"loss": 0.5}, root=tmp_path, duration_s=1.234,
                            dtype=torch.float16)
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
    monkeypatch.setattr("platformdirs.user_cache_dir", lambda *a, **k: str(tmp_path / "cache"))
    with pytest.raises(CheckpointError, match="retrain with RETRAIN = True"):
        find_checkpoint("toy", CONFIG, url="http://127.0.0.1:9/")


def test_remote_url_from_pip_direct_url(monkeypatch):
    import mgn_utils.course.checkpoints as ck

    class Dist:
        def __init__(self, text):
            self.text = text

        def read_text(self, name):
            return self.text

    info = '{"url": "https://github.com/org/course.git", "vcs_info": {"vcs": "git", "commit_id": "abc123"}}'
    monkeypatch.setattr("importlib.metadata.distribution", lambda name: Dist(info))
    assert ck.remote_url() == "https://raw.githubusercontent.com/org/course/abc123/checkpoints/"
    monkeypatch.setattr("importlib.metadata.distribution",
                        lambda name: Dist('{"url": "file:///src", "dir_info": {"editable": true}}'))
    assert ck.remote_url() is None


def test_folder_and_download_from_url(tmp_path, monkeypatch):
    """A checkpoint in a sub-folder, served from a 'remote' folder URL (file://) into the cache."""
    remote = tmp_path / "remote"
    model = CMGN(3, 2)
    save_checkpoint(model, "toy", CONFIG, root=remote, folder="sub")
    monkeypatch.setattr("platformdirs.user_cache_dir", lambda *a, **k: str(tmp_path / "cache"))
    other = CMGN(3, 2)
    entry = load_checkpoint(other, "toy", CONFIG, root=tmp_path / "empty", folder="sub",
                            url=(remote / "sub").as_uri() + "/")
    assert (tmp_path / "cache" / "checkpoints" / "sub" / "toy.pt").exists()
    x = torch.randn(2, 3)
    assert torch.equal(model(x), other(x)) and entry["file"] == "toy.pt"
