"""The perception probe's picture: per variant, a few frames as rows of input | fused | what the
policy marks (vehicles red, pedestrians yellow, over the fused image; true obstacles outlined white)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

COLOURS = np.array([[0, 0, 0], [230, 40, 40], [250, 210, 0]], np.uint8)  # background, vehicle, pedestrian


def _overlay(image: np.ndarray, mask: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``image (H, W, 3)`` with the half-resolution ``mask`` painted on and ``truth``'s outline in white."""
    up = mask.repeat(2, 0).repeat(2, 1)[: image.shape[0], : image.shape[1]]
    t = truth.repeat(2, 0).repeat(2, 1)[: image.shape[0], : image.shape[1]] > 0
    out = image.astype(np.float32) * 0.55
    marked = up > 0
    out[marked] = 0.35 * out[marked] + 0.65 * COLOURS[up[marked]]
    edge = t ^ np.roll(t, 1, 0) | t ^ np.roll(t, 1, 1)
    out[edge] = 255
    return out.clip(0, 255).astype(np.uint8)


def picks(seg: np.ndarray, rows: int = 4) -> list[int]:
    """``rows`` frame indices: those with the most true obstacles among evenly spaced candidates, in
    order, so a figure shows what there is to find."""
    n = len(seg)
    cand = np.linspace(0, n - 1, min(n, 4 * rows)).astype(int)
    return sorted(sorted(cand, key=lambda i: -int((seg[i] > 0).sum()))[:rows])


def sheet(path: Path, lines: list[np.ndarray], titles: tuple[str, ...]) -> Path:
    """Rows of equal-width panels under a white header naming each column; JPEG (the sensor noise
    makes a PNG of it 1 MB)."""
    from PIL import Image, ImageDraw

    body = Image.fromarray(np.concatenate(lines, 0))
    head = Image.new("RGB", (body.width, 18), (255, 255, 255))
    w = body.width // len(titles)
    draw = ImageDraw.Draw(head)
    for k, text in enumerate(titles):
        draw.text((k * w + 4, 3), text, fill=(0, 0, 0))
    out = Image.new("RGB", (body.width, body.height + head.height))
    out.paste(head, (0, 0))
    out.paste(body, (0, head.height))
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save(path, quality=88)
    return path


def grid(path: Path, name: str, data: dict[str, np.ndarray], fused: np.ndarray, mask: np.ndarray, rows: int = 4) -> Path:
    """Write the picture of one variant: ``rows`` frames (:func:`picks`) as input | fused | marks."""
    lines = [np.concatenate([data["rgb"][i], fused[i], _overlay(fused[i], mask[i], data["seg"][i])], 1)
             for i in picks(data["seg"], rows)]
    return sheet(path, lines, ("camera (RGB)", f"fused: {name}", "what the policy marks (white: truth)"))
