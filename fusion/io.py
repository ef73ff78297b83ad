"""Images in and out of fusion modules: uint8 arrays (the harness's, and files') <-> float NCHW tensors.

The harness holds RGB as ``uint8 (H, W, 3)`` and thermal as ``uint8 (H, W)``; fusion modules take
``float (B, C, H, W)`` in ``[0, 1]``. Every caller (the fusion agent in a drive, ``render``'s fused
views, the perception probe, ``python -m fusion fuse``) converts here, the same way: ``/ 255`` in,
clamp, ``* 255`` and round half to even out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def image_tensor(image: np.ndarray) -> torch.Tensor:
    """``uint8 (H, W, 3)`` or ``(H, W)`` -> ``float32 (1, C, H, W)`` in [0, 1]."""
    t = torch.from_numpy(np.require(image, requirements=["C", "W"]))  # a PIL array is read-only
    t = t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]
    return t.float().div_(255.0)


def tensor_images(t: torch.Tensor) -> np.ndarray:
    """``float (B, 3, H, W)`` in [0, 1] -> ``uint8 (B, H, W, 3)`` (clamped, rounded)."""
    return t.detach().float().clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def fuse_images(fuser, rgb: np.ndarray, thermal: np.ndarray | None, generator: torch.Generator | None = None) -> np.ndarray:
    """One frame through a :class:`fusion.base.Fuser`: ``uint8 (H, W, 3)`` RGB and ``uint8 (H, W)``
    registered thermal (None: zeros, for variants without thermal) -> ``uint8 (H, W, 3)``."""
    x = image_tensor(rgb)
    th = image_tensor(thermal) if thermal is not None else torch.zeros((1, 1, *rgb.shape[:2]))
    out = fuser(x, th, generator=generator) if generator is not None else fuser(x, th)
    return np.ascontiguousarray(tensor_images(out)[0])


def fusion_generator(seed: int, frame: int, device: str | torch.device = "cpu") -> torch.Generator:
    """The noise stream of a stochastic fusion module at ``frame`` of a job with traffic ``seed``: the
    same (seed, frame) gives the same noise in every run, apart from the world's and the sensors'."""
    state = np.random.SeedSequence([int(seed), int(frame), FUSION_STREAM]).generate_state(1, np.uint64)[0]
    return torch.Generator(device=device).manual_seed(int(state))


FUSION_STREAM = 2  # the world draws from [seed, 20260], thermal noise from [frame seed, 1]


def fuse_frame(fuser, variant, rgb: np.ndarray, thermal: np.ndarray | None, seed: int, frame: int,
               device: str | torch.device = "cpu") -> np.ndarray:
    """One simulated frame through a variant, as the policy gets it in a drive: the registered thermal
    frame only for a variant that reads it, and a stochastic one's noise from ``(seed, frame)``. The fusion
    agent, the gymnasium env and ``harness render`` all fuse through here."""
    g = fusion_generator(seed, frame, device) if variant.stochastic else None
    return fuse_images(fuser, rgb, thermal if variant.needs_thermal else None, generator=g)


# ------------------------------------------------------------------------------------ image folders

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def _images(folder: Path, role: str) -> dict[str, Path]:
    """``stem -> path`` of the image files in ``folder``; one ConfigError line for a missing or empty
    folder, a non-image file, or two files of one stem."""
    from harness.errors import ConfigError

    if not folder.is_dir():
        raise ConfigError(f"--{role} {folder}: {'is a file' if folder.exists() else 'no such folder'}; give a folder of images")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise ConfigError(f"--{role} {folder}: the folder is empty; it should hold the {role} images")
    other = [p.name for p in files if p.suffix.lower() not in IMAGE_EXTS]
    if other:
        raise ConfigError(f"--{role} {folder}: not image files ({', '.join(IMAGE_EXTS)}): {_few(other)}")
    out: dict[str, Path] = {}
    for p in files:
        if p.stem in out:
            raise ConfigError(f"--{role} {folder}: {out[p.stem].name} and {p.name} have one name; keep one")
        out[p.stem] = p
    return out


def _few(names: list[str], n: int = 5) -> str:
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def read_image(path: Path, mode: str) -> np.ndarray:
    """``uint8 (H, W)`` for mode ``L`` (grey; colour is converted), ``(H, W, 3)`` for ``RGB``."""
    from PIL import Image, UnidentifiedImageError

    from harness.errors import ConfigError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert(mode))
    except (UnidentifiedImageError, OSError) as err:
        raise ConfigError(f"{path}: cannot read it as an image ({type(err).__name__}: {err})") from err


def paired_folders(folders: dict[str, Path]) -> list[tuple[str, dict[str, Path]]]:
    """Files of the same name (stem) in every folder (``{"ir": dir, "vis": dir, ...}``), sorted by
    name, their sizes checked: one ConfigError line for unpaired names or sizes that differ."""
    from PIL import Image

    from harness.errors import ConfigError

    listed = {role: _images(Path(folder), role) for role, folder in folders.items()}
    names = set.union(*(set(v) for v in listed.values()))
    unpaired = {role: sorted(names - set(files)) for role, files in listed.items()}
    missing = [f"{len(v)} missing in --{role} ({_few(v)})" for role, v in unpaired.items() if v]
    if missing:
        raise ConfigError(f"the folders do not pair by file name: {'; '.join(missing)}")
    pairs, wrong = [], []
    for name in sorted(names):
        paths = {role: listed[role][name] for role in folders}
        sizes = {}
        for role, p in paths.items():
            try:
                with Image.open(p) as im:
                    sizes[role] = im.size
            except OSError as err:
                raise ConfigError(f"{p}: cannot read it as an image ({type(err).__name__}: {err})") from err
        if len(set(sizes.values())) > 1:
            wrong.append(f"{name} ({', '.join(f'{r} {w}x{h}' for r, (w, h) in sizes.items())})")
        pairs.append((name, paths))
    if wrong:
        raise ConfigError(f"images of one name must have one size (register them first): {_few(wrong, 3)}")
    return pairs
