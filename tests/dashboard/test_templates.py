"""The dashboard's templates are read once per process."""

from __future__ import annotations

from pathlib import Path

import jinja2

from footfall.dashboard import views


def test_a_running_server_keeps_its_own_templates(tmp_path: Path) -> None:
    """An upgrade that replaces template files under a running server must not mix new
    templates with the old code: a template once loaded is not read again."""
    env = views.templates()
    assert env.auto_reload is False
    # The same settings on a copy we may change on disk: the change is not picked up.
    (tmp_path / "page.html").write_text("old")
    copy = env.overlay(loader=jinja2.FileSystemLoader(tmp_path))
    assert copy.get_template("page.html").render() == "old"
    (tmp_path / "page.html").write_text("new")
    assert copy.get_template("page.html").render() == "old"
