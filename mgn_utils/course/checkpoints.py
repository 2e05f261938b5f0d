"""Small pretrained weights with a manifest: save, find, verify and load.

A checkpoint folder holds ``NAME.pt`` files (a model ``state_dict``, nothing else, so it
loads with ``torch.load(..., weights_only=True)``) and one ``MANIFEST.json``::

    {"NAME": {"file": "NAME.pt", "sha256": "...", "config": {...}, "metrics": {...},
              "git_commit": "...", "device": "...", "torch": "2.x", "duration_s": 812.3,
              "dtype": "float16", "created": "2026-...Z"}, ...}

A checkpoint *matches* a request when its ``config`` equals the requested configuration
exactly (after a JSON round trip, so tuples and lists compare equal). Its file is checked
against the recorded SHA-256 before it is loaded.

Where the folder is (:func:`checkpoint_root`): ``root`` if given, else ``$MGN_CHECKPOINTS``,
else the ``checkpoints/`` folder of the source checkout that holds this package (a clone,
installed editable or put on ``sys.path``), else, for an installed copy,
``platformdirs.user_cache_dir("mgn_utils")/checkpoints``. :func:`save_checkpoint` writes there,
so a retrained model never lands inside ``site-packages``.

Remote fallback, per name: when the local folder has no matching checkpoint of that name (no
manifest, no entry of that name, another configuration, or a missing file), the manifest and
the file are downloaded from ``url``, by default the ``checkpoints/`` folder of the very commit
pip installed (:func:`remote_url`), into the user cache folder. A downloaded file is checked
against the manifest's SHA-256 before it is renamed into place, and a manifest whose ``file``
entry is not a plain file name (``../x.pt``, an absolute path, a sub-folder) is refused.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import subprocess
import urllib.parse
from pathlib import Path

import torch

from ..datasets._download import fetch_file, file_hash

__all__ = [
    "CheckpointError",
    "CheckpointPathError",
    "checkpoint_root",
    "find_checkpoint",
    "load_checkpoint",
    "remote_url",
    "save_checkpoint",
]

MANIFEST = "MANIFEST.json"
_TIMEOUT_S = 60.0
_RETRAIN = "retrain with RETRAIN = True"
_NAME = re.compile(r"[A-Za-z0-9_-]+")  # a checkpoint name (save_checkpoint)
_FILE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*\.pt")  # a manifest's "file": a plain name
_PART = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")  # one component of a sub-folder
_SHA256 = re.compile(r"[0-9a-f]{64}")
_REMOTE_MANIFESTS: dict[str, dict] = {}  # manifest URL -> manifest, once per process


class CheckpointError(LookupError):
    """No usable checkpoint: missing, configuration mismatch, or hash mismatch."""


class CheckpointPathError(CheckpointError, ValueError):
    """A ``folder`` argument or a manifest's ``file`` entry that would leave its folder."""


class _LocalMiss(CheckpointError):
    """The local folder has no usable checkpoint of that name: the remote may have one."""


def _canonical(config: dict) -> dict:
    try:
        return json.loads(json.dumps(config, sort_keys=True))
    except TypeError as e:
        raise ValueError(
            f"config must be JSON-serialisable (numbers, strings, lists, dicts): {e}"
        ) from None


def remote_url() -> str | None:
    """The ``checkpoints/`` folder URL of the commit pip installed this package from.

    Returns
    -------
    str or None
        ``https://raw.githubusercontent.com/OWNER/REPO/COMMIT/checkpoints/`` when the package
        was installed by pip from a GitHub repository (read from pip's ``direct_url.json``),
        else ``None`` (editable or local installs, source checkouts).
    """
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        info = json.loads(distribution("mgn-utils").read_text("direct_url.json") or "{}")
    except (PackageNotFoundError, ValueError):
        return None
    commit = info.get("vcs_info", {}).get("commit_id")
    m = re.match(
        r"(?:git\+)?https://github\.com/([^/]+)/([^/@#]+?)(?:\.git)?/?$", info.get("url", "")
    )
    if not (commit and m):
        return None
    return f"https://raw.githubusercontent.com/{m.group(1)}/{m.group(2)}/{commit}/checkpoints/"


def _source_tree(package_dir=None) -> Path | None:
    """The source checkout that holds the package, or ``None`` for an installed copy.

    Parameters
    ----------
    package_dir : path-like, optional
        The ``mgn_utils`` package folder (default: the one of this module).

    Returns
    -------
    pathlib.Path or None
        The folder above ``package_dir`` when it has this project's ``pyproject.toml`` and a
        ``.git`` or the book's ``_config.yml``; ``None`` otherwise (e.g. ``site-packages``).
    """
    pkg = Path(package_dir) if package_dir is not None else Path(__file__).resolve().parents[1]
    repo = pkg.parent
    if not ((repo / ".git").exists() or (repo / "_config.yml").is_file()):
        return None
    try:
        text = (repo / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return None
    if not re.search(r'^name\s*=\s*"mgn-utils"', text, re.MULTILINE):
        return None
    return repo


def _user_cache() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("mgn_utils"))


def checkpoint_root(root=None) -> Path:
    """The checkpoint folder.

    Parameters
    ----------
    root : path-like, optional
        The folder to use. Default: ``$MGN_CHECKPOINTS``, else ``<checkout>/checkpoints`` when
        the package runs from a source checkout, else
        ``platformdirs.user_cache_dir("mgn_utils")/checkpoints``.

    Returns
    -------
    pathlib.Path
        The folder, absolute (it need not exist).
    """
    if root is None:
        root = os.environ.get("MGN_CHECKPOINTS") or None
    if root is None:
        repo = _source_tree()
        root = repo / "checkpoints" if repo is not None else _user_cache() / "checkpoints"
    return Path(root).expanduser().resolve()


def _folder(folder) -> str:
    """``folder`` as a safe relative POSIX path ("" or "a/b"), else :class:`CheckpointPathError`."""
    if folder is None:
        return ""
    text = os.fspath(folder) if isinstance(folder, (str, os.PathLike)) else None
    parts = [p for p in text.split("/") if p not in ("", ".")] if isinstance(text, str) else []
    if not isinstance(text, str) or text.startswith("/") or not all(map(_PART.fullmatch, parts)):
        raise CheckpointPathError(
            f"folder={folder!r} refused: a checkpoint sub-folder must be a relative path of "
            "letters, digits, '.', '-' and '_' (no '..', no absolute path, no backslash)"
        )
    return "/".join(parts)


def _inside(base: Path, sub: str) -> Path:
    path = (base / sub).resolve() if sub else base.resolve()
    if path != base.resolve() and base.resolve() not in path.parents:
        raise CheckpointPathError(f"{base / sub} resolves to {path}, outside {base}; refused")
    return path


def _file_path(folder: Path, entry: dict, name: str, where: str) -> Path:
    """The checkpoint file of a manifest entry, refused unless it is a plain name in ``folder``."""
    file = entry.get("file")
    if not (isinstance(file, str) and _FILE.fullmatch(file)):
        raise CheckpointPathError(
            f"{where} names the file {file!r} for checkpoint {name!r}: refused, a checkpoint "
            "file must be a plain NAME.pt inside the checkpoint folder (no path separator, no "
            "'..', no absolute path)"
        )
    path = folder / file
    if path.resolve().parent != folder.resolve():
        raise CheckpointPathError(f"{where}: {path} resolves outside {folder}; refused")
    return path


def _read_manifest(root: Path) -> dict:
    path = root / MANIFEST
    if not path.exists():
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except ValueError as e:
        raise CheckpointError(f"{path} is not valid JSON ({e})") from None
    if not isinstance(manifest, dict):
        raise CheckpointError(f"{path} must hold a JSON object (name -> entry)")
    return manifest


def _entry(manifest: dict, name: str, want: dict, where: str, miss=CheckpointError) -> dict:
    """The manifest entry ``name`` if its config equals ``want``; ``miss`` when not there."""
    if name not in manifest:
        raise miss(
            f"no checkpoint named {name!r} in {where} (has: {sorted(manifest) or 'nothing'})"
        )
    entry = manifest[name]
    if not (isinstance(entry, dict) and isinstance(entry.get("config"), dict)):
        raise CheckpointError(f"{where}: the entry of {name!r} has no config")
    if not (isinstance(entry.get("sha256"), str) and _SHA256.fullmatch(entry["sha256"])):
        raise CheckpointError(f"{where}: the entry of {name!r} has no valid sha256")
    have = entry["config"]
    if have != want:
        diff = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
        raise miss(
            f"checkpoint {name!r} in {where} was trained with a different config "
            f"(differs in {diff})"
        )
    return entry


def _local(folder: Path, name: str, want: dict) -> tuple[Path, dict]:
    where = str(folder / MANIFEST)
    entry = _entry(_read_manifest(folder), name, want, where, miss=_LocalMiss)
    path = _file_path(folder, entry, name, where)
    if not path.exists():
        raise _LocalMiss(f"{path} is listed in {where} but missing")
    found = file_hash(path, "sha256")
    if found != entry["sha256"]:
        raise CheckpointError(
            f"{path}: sha256 {found} != {entry['sha256']} in the manifest (corrupt or changed "
            f"file); {_RETRAIN}"
        )
    return path, entry


def _remote_base(url, sub: str) -> str | None:
    if url == "auto":
        base = remote_url()
        return None if base is None else base + (sub + "/" if sub else "")
    if url is None:
        return None
    return url if url.endswith("/") else url + "/"


def _remote(base: str, cache: Path, name: str, want: dict) -> tuple[Path, dict]:
    """Manifest and file from the folder URL ``base`` into ``cache``, hash-checked."""
    murl = base + MANIFEST
    manifest = _REMOTE_MANIFESTS.get(murl)
    if manifest is None:
        try:
            fetch_file(murl, cache / MANIFEST, timeout=_TIMEOUT_S)
        except Exception as e:  # noqa: BLE001 (offline, timeout, HTTP error: say which)
            raise CheckpointError(f"downloading {murl} failed ({type(e).__name__}: {e})") from None
        manifest = _REMOTE_MANIFESTS[murl] = _read_manifest(cache)
    entry = _entry(manifest, name, want, murl)
    path = _file_path(cache, entry, name, murl)
    if not (path.is_file() and file_hash(path, "sha256") == entry["sha256"]):
        furl = base + urllib.parse.quote(entry["file"])
        try:  # missing, or a copy from another commit in the cache; checked before the rename
            fetch_file(furl, path, "sha256", entry["sha256"], timeout=_TIMEOUT_S)
        except Exception as e:  # noqa: BLE001 (offline, timeout, wrong content: say which)
            raise CheckpointError(f"downloading {furl} failed ({type(e).__name__}: {e})") from None
    return path, entry


def find_checkpoint(
    name: str, config: dict, root=None, url: str | None = "auto", folder: str = ""
) -> tuple[Path, dict]:
    """Find the checkpoint ``name`` whose config equals ``config``, verified.

    Parameters
    ----------
    name : str
        The checkpoint's name (a key of the manifest).
    config : dict
        The configuration it must have been trained with (compared after a JSON round trip).
    root : path-like, optional
        The checkpoint folder (default: :func:`checkpoint_root`).
    url : str or None
        A folder URL (ending in ``/``) to download the manifest and the file from when the local
        folder has no matching checkpoint of that name. ``"auto"``: :func:`remote_url` followed
        by ``folder``; ``None``: never download.
    folder : str
        A sub-folder of the checkpoint folder (e.g. ``"morphing"``): a relative path without
        ``..``.

    Returns
    -------
    path : pathlib.Path
        The checkpoint file, its SHA-256 equal to the manifest's.
    entry : dict
        Its manifest entry.

    Raises
    ------
    CheckpointError
        Saying what is missing or different, locally and (when tried) remotely; also for a
        local file whose hash differs from the manifest's (no download then).
    CheckpointPathError
        A ``folder`` or a manifest ``file`` entry that would leave its folder (also a
        ``ValueError``).
    """
    sub = _folder(folder)
    want = _canonical(config)
    try:
        found = _local(_inside(checkpoint_root(root), sub), name, want)
        return _noted(sub, name, *found) if root is None else found
    except _LocalMiss as e:
        local_error = str(e)
    base = _remote_base(url, sub)
    if base is None:
        raise CheckpointError(f"{local_error}; {_RETRAIN}")
    cache = _inside(_user_cache() / "checkpoints-downloaded", sub)
    try:
        found = _remote(base, cache, name, want)
        return _noted(sub, name, *found) if root is None else found
    except CheckpointPathError:
        raise
    except CheckpointError as e:
        raise CheckpointError(f"{local_error}; and remotely: {e}; {_RETRAIN}") from None


def entry_digest(entry: dict) -> str:
    """SHA-256 of a manifest entry as canonical JSON (sorted keys, no spaces).

    The entry holds the file's own SHA-256, so the digest changes with the weights as well as
    with the stored metrics and curves: what a chapter that loaded the checkpoint depends on.
    """
    text = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _noted(sub: str, name: str, path: Path, entry: dict) -> tuple[Path, dict]:
    """Note the checkpoint for the chapter's execution stamp, then return ``(path, entry)``.
    Only the default root is noted: a checkpoint found under an explicit ``root`` (a
    temporary folder in a demo) is not part of what the chapter's stored outputs depend on."""
    from .env import note_checkpoint

    note_checkpoint(f"{sub}/{name}" if sub else name, entry_digest(entry))
    return path, entry


def load_checkpoint(
    model: torch.nn.Module,
    name: str,
    config: dict,
    root=None,
    url: str | None = "auto",
    folder: str = "",
) -> dict:
    """Load the matching checkpoint into ``model``, each tensor cast to the model's dtype.

    Parameters
    ----------
    model : torch.nn.Module
    name, config, root, url, folder
        As in :func:`find_checkpoint`.

    Returns
    -------
    dict
        The checkpoint's manifest entry.

    Notes
    -----
    The file is read with ``torch.load(..., weights_only=True)``.
    """
    path, entry = find_checkpoint(name, config, root, url, folder)
    state = torch.load(path, map_location="cpu", weights_only=True)
    _load_state(model, state)
    return entry


def _load_state(model: torch.nn.Module, state: dict) -> None:
    """Load ``state`` into ``model``, each tensor cast to the model's own dtype and device."""
    ref = model.state_dict()
    model.load_state_dict(
        {k: v.to(dtype=ref[k].dtype, device=ref[k].device) for k, v in state.items()}
    )


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=Path(__file__).resolve().parent,
            check=False,
        )
        return out.stdout.strip() or "unknown"
    except Exception:  # noqa: BLE001 (no git, not a checkout: the commit is unknown)
        return "unknown"


def save_checkpoint(
    model: torch.nn.Module,
    name: str,
    config: dict,
    metrics: dict | None = None,
    *,
    root=None,
    folder: str = "",
    duration_s: float | None = None,
    dtype: torch.dtype = torch.float32,
) -> dict:
    """Save ``model.state_dict()`` as ``NAME.pt`` with its manifest entry.

    Parameters
    ----------
    model : torch.nn.Module
    name : str
        Letters, digits, ``-`` and ``_`` only.
    config : dict
        The training configuration (JSON-serialisable).
    metrics : dict, optional
    root : path-like, optional
        The checkpoint folder (default: :func:`checkpoint_root`: the checkout's
        ``checkpoints/`` in a source checkout, else the user cache folder).
    folder : str
        A sub-folder, validated as in :func:`find_checkpoint`.
    duration_s : float, optional
        The training time, recorded rounded to 0.1 s.
    dtype : torch.dtype
        Floating tensors are stored in this dtype; ``float16`` halves the size.

    Returns
    -------
    dict
        The manifest entry (sha256, config, metrics, git commit, device, torch version,
        duration, dtype, creation time).

    Notes
    -----
    The model's own weights are rounded in place to the stored values, so a freshly trained
    model and one loaded later with :func:`load_checkpoint` are the same function.
    """
    if not (isinstance(name, str) and _NAME.fullmatch(name) and name.strip("-_")):
        raise ValueError(f"name must contain only letters, digits, '-' and '_', got {name!r}")
    want = _canonical(config)
    root = _inside(checkpoint_root(root), _folder(folder))
    root.mkdir(parents=True, exist_ok=True)
    state = {
        k: (v.detach().to("cpu", dtype) if v.is_floating_point() else v.detach().cpu())
        for k, v in model.state_dict().items()
    }
    path = root / f"{name}.pt"
    tmp = path.with_suffix(".pt.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    _load_state(model, state)  # the model now holds exactly the stored (possibly rounded) weights
    p = next(model.parameters(), None)
    device = str(p.device) if p is not None else "cpu"
    if device.startswith("cuda"):
        device = f"{device} ({torch.cuda.get_device_name(p.device)})"
    entry = {
        "file": path.name,
        "sha256": file_hash(path, "sha256"),
        "config": want,
        "metrics": _canonical(metrics or {}),
        "git_commit": _git_commit(),
        "device": device,
        "torch": torch.__version__,
        "duration_s": None if duration_s is None else round(float(duration_s), 1),
        "dtype": str(dtype).replace("torch.", ""),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    manifest = _read_manifest(root)
    manifest[name] = entry
    tmp = root / (MANIFEST + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, root / MANIFEST)
    return entry
