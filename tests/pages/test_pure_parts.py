"""The pages' pure parts: the verdict's inline Markdown as HTML (what `bot.render` writes reads
back as the same text, and nothing in it becomes markup of its own), charts, and the path
followed after sign-in."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot import render
from bot.web import charts
from bot.web.inline import quoted, to_html, visible
from bot.web.signin import local_path
from tests.gate_e2e.test_rendering import HOSTILE
from tests.pages.site import read_page


def _text(html: str) -> str:
    return read_page(html)[1]


def test_code_spans_bold_and_escapes() -> None:
    assert to_html("run `/gate waive RG101 <reason>` **now**") == (
        "run <code>/gate waive RG101 &lt;reason&gt;</code> <strong>now</strong>"
    )
    assert to_html(r"a \*literal\* \<b\>") == "a *literal* &lt;b&gt;"
    assert to_html("`` a ` b ``") == "<code>a ` b</code>"
    assert to_html("an unclosed ` tick") == "an unclosed ` tick"


def test_every_hostile_string_escaped_by_render_reads_back_as_itself() -> None:
    for hostile in HOSTILE:
        for markdown, shown in ((render.text(hostile), hostile), (render.code(hostile), hostile)):
            html = str(to_html(markdown))
            tags, _ = read_page(html)
            assert {t for t, _ in tags} <= {"code"}, (hostile, html)
            assert _text(html).replace("\u200b", "") == " ".join(shown.split()), (hostile, html)


@given(st.text(max_size=200))
def test_no_input_makes_an_element_or_attribute(value: str) -> None:
    tags, _ = read_page(str(to_html(value)))
    assert all(tag in ("code", "strong") and not attrs for tag, attrs in tags)


def test_a_chart_is_an_image_with_a_label_and_a_value_per_bar() -> None:
    svg = str(charts.bars([0, 3, None, 1.5], "Deliveries <per> hour", "deliveries"))
    assert svg.startswith("<svg") and 'role="img"' in svg and 'aria-label="Deliveries &lt;per&gt; hour"' in svg
    assert svg.count("<rect") == 3
    assert "1 h ago: 1.50 deliveries" in svg and "3 h ago: 3 deliveries" in svg


def test_quoted_prose_makes_code_of_backticked_parts_only() -> None:
    assert quoted("use `datetime.now(timezone.utc)` <now>") == (
        "use <code>datetime.now(timezone.utc)</code> &lt;now&gt;"
    )
    assert quoted("an odd ` backtick `<b>`") == "an odd ` backtick `&lt;b&gt;`"


def test_direction_overrides_and_control_characters_never_reach_a_page() -> None:
    sneaky = "ok\u202egnp.exe\x1b[31m"
    assert visible(sneaky) == "ok\ufffdgnp.exe\ufffd[31m"
    assert "\u202e" not in to_html(sneaky) and "\u202e" not in quoted(sneaky)


def test_after_sign_in_only_a_path_of_this_site_is_followed() -> None:
    assert local_path("/octo/demo/pull/7?x=1") == "/octo/demo/pull/7?x=1"
    for away in ("https://evil.example/", "//evil.example", "/\\evil.example", "/\t/evil.example",
                 "/\n/evil.example", "", None, "evil"):
        assert local_path(away) == "/status", away
