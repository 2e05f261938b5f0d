"""Small pretrained weights with a manifest: save, find, verify and load.

A checkpoint folder holds ``NAME.pt`` files (a model ``state_dict``, nothing else, so it
loads with ``torch.load(..., weights_only=True)``) and one ``MANIFEST.json``::

    {"NAME": {"file": "NAME.pt", "sha256": "...", "config": {...}, "metrics": {...},
              "git_commit": "...", "device": "...", "torch": "2.x", "duration_s": 812.3,
              "dtype": "float16", "created": "2026-...Z"}, ...}

A checkpoint *matches* a request when its ``config`` equals the requested configuration
exactly (after a JSON round trip, so tuples and lists compare equal). Its file is checked
against the recorded SHA-256 before it is loaded.

Where the folder comes from: ``root`` if given, else ``$MGN_CHECKPOINTS``, else the
``checkpoints/`` folder of the source checkout that holds this package (editable install).
When neither has a manifest (e.g. on Colab, where the package was installed with
``pip install git+https://github.com/OWNER/REPO``), the manifest and the files are downloaded
into the user cache folder from ``url``, by default the ``checkpoints/`` folder of the very
commit pip installed (:func:`remote_url`), and each file is checked against its hash.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
from pathlib import Path

import torch

from ..datasets._download import fetch_file, file_hash

__all__ = ["CheckpointError", "checkpoint_root", "remote_url", "find_checkpoint", "load_checkpoint", "save_checkpoint"]

MANIFEST = "MANIFEST.json"
_TIMEOUT_S = 60.0


class CheckpointError(LookupError):
    """No usable checkpoint: missing, configuration mismatch, or hash mismatch."""


def _canonical(config: dict) -> dict:
    try:
        return json.loads(json.dumps(config, sort_keys=True))
    except TypeError as e:
        raise ValueError(f"config must be JSON-serialisable (numbers, strings, lists, dicts): {e}") from None


def remote_url() -> str | None:
    """``https://raw.githubusercontent.com/OWNER/REPO/COMMIT/checkpoints/`` when this package
    was installed by pip from a GitHub repository (read from pip's ``direct_url.json``), else None."""
    import re
    from importlib.metadata import PackageNotFoundError, distribution
    try:
        info = json.loads(distribution("mgn-utils").read_text("direct_url.json") or "{}")
    except (PackageNotFoundError, ValueError):
        return None
    commit = info.get("vcs_info", {}).get("commit_id")
    m = re.match(r"(?:git\+)?https://github\.com/([^/]+)/([^/@#]+?)(?:\.git)?/?$", info.get("url", ""))
    if not (commit and m):
        return None
    return f"https://raw.githubusercontent.com/{m.group(1)}/{m.group(2)}/{commit}/checkpoints/"


def checkpoint_root(root=None) -> Path:
    """The checkpoint folder: ``root``, else ``$MGN_CHECKPOINTS``, else ``<checkout>/checkpoints``."""
    if root is None:
        root = os.environ.get("MGN_CHECKPOINTS") or Path(__file__).resolve().parent.parent / "checkpoints"
    return Path(root).expanduser().resolve()


def _read_manifest(root: Path) -> dict:
    path = root / MANIFEST
    if not path.exists():
        return {}
    with open(path) as f:
        return json.load(f)


def _load_state(model: torch.nn.Module, state: dict) -> None:
    """Load ``state`` into ``model``, each tensor cast to the dtype and device of the model's own."""
    ref = model.state_dict()
    model.load_state_dict({k: v.to(dtype=ref[k].dtype, device=ref[k].device) for k, v in state.items()})


def find_checkpoint(name: str, config: dict, root=None, url: str | None = "auto",
                    folder: str = "") -> tuple[Path, dict]:
    """Return ``(path, entry)`` of the checkpoint ``name`` whose config equals ``config``.

    The checkpoint folder is ``checkpoint_root(root) / folder``. Verifies the file's SHA-256
    against the manifest. When that folder has no manifest, downloads manifest and file from
    ``url`` (a folder URL ending in ``/``; ``"auto"``: :func:`remote_url` + ``folder``;
    ``None``: never download). Raises :class:`CheckpointError` saying what is missing or different.
    """
    root = checkpoint_root(root) / folder
    manifest = _read_manifest(root)
    if url == "auto":
        base = remote_url() if not manifest else None
        url = base + (folder.strip("/") + "/" if folder.strip("/") else "") if base else None
    if not manifest and url:
        import platformdirs
        local = root
        root = Path(platformdirs.user_cache_dir("mgn_utils")) / "checkpoints" / folder
        try:
            fetch_file(url + MANIFEST, root / MANIFEST, timeout=_TIMEOUT_S)
        except Exception as e:
            raise CheckpointError(f"no {MANIFEST} in {local} and downloading {url}{MANIFEST} "
                                  f"failed ({type(e).__name__}: {e}); retrain with RETRAIN = True") from None
        manifest = _read_manifest(root)
    if name not in manifest:
        raise CheckpointError(f"no checkpoint named {name!r} in {root / MANIFEST} "
                              f"(has: {sorted(manifest) or 'nothing'}); retrain with RETRAIN = True")
    entry = manifest[name]
    want = _canonical(config)
    if entry["config"] != want:
        diff = sorted(k for k in set(want) | set(entry["config"]) if want.get(k) != entry["config"].get(k))
        raise CheckpointError(f"checkpoint {name!r} was trained with a different config (differs in {diff}); "
                              f"retrain with RETRAIN = True")
    path = root / entry["file"]
    if url and not (path.exists() and file_hash(path, "sha256") == entry["sha256"]):
        try:  # missing, or a stale copy from another commit in the cache: fetch it
            fetch_file(url + entry["file"], path, timeout=_TIMEOUT_S)
        except Exception as e:
            raise CheckpointError(f"downloading {url}{entry['file']} failed ({type(e).__name__}: {e})") from None
    if not path.exists():
        raise CheckpointError(f"{path} is listed in the manifest but missing")
    found = file_hash(path, "sha256")
    if found != entry["sha256"]:
        raise CheckpointError(f"{path}: sha256 {found} != {entry['sha256']} in the manifest (corrupt or "
                              f"changed file); retrain with RETRAIN = True")
    return path, entry


def load_checkpoint(model: torch.nn.Module, name: str, config: dict, root=None, url: str | None = "auto",
                    folder: str = "") -> dict:
    """Load the matching checkpoint into ``model`` (cast to the model's dtype); return its manifest entry.
    Arguments as in :func:`find_checkpoint`."""
    path, entry = find_checkpoint(name, config, root, url, folder)
    state = torch.load(path, map_location="cpu", weights_only=True)
    _load_state(model, state)
    return entry


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or "unknown"
    except Exception:
        return "unknown"


def save_checkpoint(model: torch.nn.Module, name: str, config: dict, metrics: dict | None = None, *,
                    root=None, folder: str = "", duration_s: float | None = None,
                    dtype: torch.dtype = torch.float32) -> dict:
    """Save ``model.state_dict()`` as ``checkpoint_root(root)/folder/NAME.pt`` (floating tensors cast to ``dtype``) and
    write its manifest entry (sha256, config, metrics, git commit, device, torch version,
    duration). Returns the entry. ``float16`` halves the size; the model's own weights are
    then rounded in place to the stored values, so a freshly trained model and one loaded
    later with :func:`load_checkpoint` are the same function.
    """
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"name must contain only letters, digits, '-' and '_', got {name!r}")
    root = checkpoint_root(root) / folder
    root.mkdir(parents=True, exist_ok=True)
    state = {k: (v.detach().to("cpu", dtype) if v.is_floating_point() else v.detach().cpu())
             for k, v in model.state_dict().items()}
    path = root / f"{name}.pt"
    tmp = path.with_suffix(".pt.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    _load_state(model, state)  # the model now holds exactly the stored (possibly rounded) weights
    p = next(model.parameters(), None)
    device = str(p.device) if p is not None else "cpu"
    if device.startswith("cuda"):
        device = f"{device} ({torch.cuda.get_device_name(p.device)})"
    entry = {"file": path.name, "sha256": file_hash(path, "sha256"), "config": _canonical(config),
             "metrics": _canonical(metrics or {}), "git_commit": _git_commit(), "device": device,
             "torch": torch.__version__, "duration_s": None if duration_s is None else round(float(duration_s), 1),
             "dtype": str(dtype).replace("torch.", ""),
             "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    manifest = _read_manifest(root)
    manifest[name] = entry
    tmp = root / (MANIFEST + ".tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, root / MANIFEST)
    return entry
