"""The API reference builds from the docstrings, with the command docs/api.md gives."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import helpers
import pytest

from nstfilter import hookspecs

DOCS = helpers.DOCS / "api.md"
PUBLIC = ["stylize", "run_filter", "StylizeResult", "StyleParams", "Progress", "JobReport",
          "FilterOutput", "NstError"]  # fmt: skip
HOOKS = [name for name in vars(hookspecs) if name.startswith("nstfilter_")]


def test_api_reference_builds_and_names_the_public_api(tmp_path):
    pytest.importorskip("pdoc")
    (command,) = re.findall(r"^python -m pdoc .*$", DOCS.read_text(encoding="utf-8"), re.M)
    args = shlex.split(command)[3:]
    out = tmp_path / "api"
    at = args.index("-o")
    args[at + 1] = str(out)  # the documented command, into a temporary folder
    proc = subprocess.run([sys.executable, "-m", "pdoc", *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    pages = {p.stem: p.read_text(encoding="utf-8") for p in (out / "nstfilter").glob("*.html")}
    text = "\n".join(pages.values())
    for name in PUBLIC + HOOKS:
        assert f'id="{name}"' in text, f"{name} is missing from the API reference"
    # generated from the docstrings, not just the names
    assert "Style an image and return it as a PIL image." in pages["api"]
    assert "One optimisation step" in pages["events"]


def test_doc_links_stay_inside_the_repository():
    """Relative links in README.md and docs/*.md point at files of this repository."""
    repo = DOCS.parents[1]
    for page in [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", text):
            if re.match(r"^[a-z]+:", target):  # https:, mailto:
                continue
            path = (page.parent / target).resolve()
            assert path.is_relative_to(repo), f"{page.name} links outside the repo: {target}"
            assert path.exists(), f"{page.name} links to a missing file: {target}"
