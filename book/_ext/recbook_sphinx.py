"""Small build fixes for the recbook book (a local Sphinx extension, loaded from _config.yml).

Sphinx 7.4 registers a script that an extension adds *with a body and no file* twice: once as it is
added (``filename=None``) and again in ``prepare_writing`` (``filename=''``); the two do not compare
equal, so every page carries two copies. With sphinx-thebe that is ``const THEBE_JS_URL = ...`` declared
twice, a SyntaxError in the browser console on every page. We drop the repeats just before each page
is written.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _drop_duplicate_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        key = (getattr(script, "filename", script) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app: Sphinx) -> dict[str, Any]:
    # Late, so that scripts added per page by other extensions (myst-nb's widget scripts) are included.
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
