"""The `field` macro renders well-formed attributes on its <input>."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from footfall.dashboard import views


class _Inputs(HTMLParser):
    """Collects each <input>'s attributes as the browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "input":
            self.inputs.append(dict(attrs))


def _render(**kwargs: object) -> dict[str, str | None]:
    template = views.templates().from_string('{% import "macros.html" as m %}{{ m.field(**kw) }}')
    html = template.render(kw=kwargs)
    # Browsers recover from `"a"b=`, but it is invalid markup: attributes need a space between.
    assert re.search(r'="[^"]*"[^\s>/]', html) is None, html
    parser = _Inputs()
    parser.feed(html)
    assert len(parser.inputs) == 1
    return parser.inputs[0]


def test_password_field_with_hint_has_separate_attributes() -> None:
    attrs = _render(name="password", label="Password", type="password", hint="8 or more")
    assert attrs["type"] == "password"
    assert attrs["aria-describedby"] == "f-password-hint"
    assert "value" not in attrs


def test_hint_and_error_are_both_described() -> None:
    attrs = _render(
        name="email", label="Email", value="a@b", hint="Your login", errors={"email": "Required"}
    )
    assert attrs["type"] == "text"
    assert attrs["value"] == "a@b"
    assert attrs["aria-describedby"] == "f-email-hint f-email-error"
    assert attrs["aria-invalid"] == "true"


def test_error_only_and_plain_field() -> None:
    attrs = _render(name="name", label="Name", errors={"name": "Required"})
    assert attrs["aria-describedby"] == "f-name-error"
    plain = _render(name="name", label="Name", attrs="required")
    assert "aria-describedby" not in plain
    assert "required" in plain
