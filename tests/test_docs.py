"""The documentation holds together: every relative link in a committed Markdown file reaches a file
of the repository (and, with ``#anchor``, a heading of that file), and every committed reference
result under ``results/reference/`` has its row in ``results/README.md``.

A newcomer follows links; a renamed heading or a moved file must fail here, not in their browser.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[1]

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")
FENCE = re.compile(r"^\s*(```|~~~)")


def tracked_markdown() -> list[Path]:
    """The Markdown files git tracks or would track (not ignored), or without git every ``*.md`` outside hidden folders."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout
        files = [REPO / line for line in out.splitlines() if line]
    except (OSError, subprocess.CalledProcessError):
        files = [p for p in REPO.rglob("*.md") if not any(part.startswith(".") for part in p.relative_to(REPO).parts)]
    return sorted(p for p in files if p.is_file())


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks (links and headings inside code are examples, not links)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup stripped, lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading anchors on its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of ``path``, with GitHub's -1, -2 suffixes for repeats, and every ``<a id=...>``."""
    seen: dict[str, int] = {}
    out = set()
    for line in prose_lines(path.read_text(encoding="utf-8")):
        out.update(HTML_ANCHOR.findall(line))
        m = HEADING.match(line)
        if not m:
            continue
        s = slug(m.group(2))
        n = seen.get(s, 0)
        out.add(s if n == 0 else f"{s}-{n}")
        seen[s] = n + 1
    return out


def links(path: Path) -> list[str]:
    found = []
    for line in prose_lines(path.read_text(encoding="utf-8")):
        line = re.sub(r"`[^`]*`", "", line)  # inline code is not a link
        for m in LINK.finditer(line):
            found.append(m.group(1) or m.group(2))
    return found


def broken_links(path: Path) -> list[str]:
    """``path``'s relative links that reach no file of the checkout, or no heading of it."""
    bad = []
    for target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not dest.exists():
            bad.append(f"{target} (no such file)")
        elif not dest.is_relative_to(REPO) and not str(dest).startswith(str(REPO.parent / "shared")):
            bad.append(f"{target} (outside the repository)")
        elif anchor and dest.suffix == ".md" and unquote(anchor) not in anchors(dest):
            bad.append(f"{target} (no heading '#{anchor}' in {dest.name})")
    return bad


def test_slug_follows_github():
    assert slug("The diffusion teacher (`teacher/`, variant `teacher:k=8,steps=4`)") == \
        "the-diffusion-teacher-teacher-variant-teacherk8steps4"
    assert slug("Evaluate fusion variants (the main job)") == "evaluate-fusion-variants-the-main-job"
    assert slug("Resume, idempotence") == "resume-idempotence"
    assert slug("`eval_fog_town05`: the main job in daytime fog") == "eval_fog_town05-the-main-job-in-daytime-fog"


def test_the_checker_finds_a_broken_link(tmp_path, monkeypatch):
    """A checker that finds nothing would pass forever: a missing file and a missing heading are caught,
    a link inside code is not taken for one, a repeated heading gets its suffix."""
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    (tmp_path / "other.md").write_text("# Top\n\n## Part\n\n## Part\n")
    doc = tmp_path / "doc.md"
    doc.write_text("[ok](other.md#part-1) [gone](missing.md) [bad anchor](other.md#nowhere) [web](https://x.org)\n"
                   "`[code](nope.md)`\n```\n[fenced](nope.md)\n```\n[self](#title) [html](#here)\n"
                   "# Title\n<a id=\"here\"></a>text\n")
    assert broken_links(doc) == ["missing.md (no such file)", "other.md#nowhere (no heading '#nowhere' in other.md)"]


DOCS = tracked_markdown()


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(REPO)) for p in DOCS])
def test_relative_links_resolve(path):
    assert broken_links(path) == [], f"{path.relative_to(REPO)}: broken links"


def reference_results() -> list[str]:
    """Folders of ``results/reference/`` that hold a result of their own: each top-level folder, and each
    deeper one with its own ``run.sh`` or README (the committed experiments under fusionproxy/, teacher/ ...)."""
    root = REPO / "results" / "reference"
    found = {p.relative_to(root).as_posix() for p in root.iterdir() if p.is_dir()}
    for marker in ("run.sh", "README.md"):
        for p in root.glob(f"*/*/{marker}"):
            found.add(p.parent.relative_to(root).as_posix())
    return sorted(found)


def test_every_reference_result_is_in_the_index():
    """results/README.md is the index of what is committed: a new reference folder without its row fails."""
    index = (REPO / "results" / "README.md").read_text(encoding="utf-8")
    missing = [f for f in reference_results() if f"reference/{f}/" not in index]
    assert not missing, f"results/README.md has no row for: {', '.join(missing)}"
