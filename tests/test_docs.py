"""Every hookspec is documented in docs/plugins.md with its exact signature (as datasette does)."""

from __future__ import annotations

import inspect
import re

import pytest
from helpers import DOCS

from nstfilter import hookspecs

HOOKS = sorted(
    name
    for name, obj in vars(hookspecs).items()
    if name.startswith("nstfilter_") and callable(obj) and hasattr(obj, "nstfilter_spec")
)


def documented() -> dict[str, str]:
    """Hook headings in the docs: ``### nstfilter_x(a, b)`` -> ``"a, b"``."""
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^### (nstfilter_\w+)\(([^)]*)\)\s*$", text, flags=re.M))


def test_hookspecs_found() -> None:
    assert len(HOOKS) >= 9, HOOKS


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_its_signature(hook: str) -> None:
    headings = documented()
    assert hook in headings, f"{hook} is not documented in {DOCS.name}: add '### {hook}(...)'"
    parameters = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
    assert headings[hook] == parameters, f"{DOCS.name} documents {hook}({headings[hook]})"


def test_no_documented_hook_is_missing_from_hookspecs() -> None:
    stale = set(documented()) - set(HOOKS)
    assert not stale, f"documented but not a hookspec: {sorted(stale)}"


@pytest.mark.parametrize("hook", HOOKS)
def test_hookspec_docstring_says_when_and_firstresult(hook: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert "firstresult" in doc, f"{hook}'s docstring must say whether it is firstresult"
    assert "Fires" in doc, f"{hook}'s docstring must say when it fires"
