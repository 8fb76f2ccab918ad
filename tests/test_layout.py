from __future__ import annotations

import jinja2
import pytest
from markupsafe import Markup

from webzine.render import layout
from webzine.errors import TemplateError
from webzine.render.korean import register_filters


def environment() -> jinja2.Environment:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    register_filters(env)
    layout.install(env)
    return env


def render_once(source: str, **context: object) -> str:
    """Render like a layout, then restore the sentinels: the merge source that comes out."""
    table = layout.SentinelTable(source)
    names = layout.deferred_globals(table, ("name", "company", "email"), ("name", "phone"))
    template = environment().from_string(source)
    return table.restore(layout.render_layout(template, {**names, **context}))


@pytest.mark.parametrize(
    ("layout_source", "merge_source"),
    [
        ("{{ recipient.name }}", "{{ recipient.name }}"),
        ('{{ recipient.name|josa("은") }}', "{{ recipient.name|josa('은') }}"),
        ("{{ recipient.company|default('고객사', true) }}", "{{ recipient.company|default('고객사', true) }}"),
        ("{{ recipient|greeting }}", "{{ recipient|greeting }}"),
        ("{{ recipient['email']|urlencode }}", "{{ recipient.email|urlencode }}"),
        ("{{ manager.phone|default(publication) }}", "{{ manager.phone|default('초록') }}"),
        ("<a href=\"{{ unsubscribe_url }}\">", '<a href="{{ unsubscribe_url }}">'),
        ("{{ recipient.name ~ ' 님' }}", "{{ recipient.name }} 님"),
        ("{{ slot_if(recipient.company) }}x{{ slot_else() }}y{{ slot_endif() }}",
         "{% if recipient.company %}x{% else %}y{% endif %}"),
        ("{{ slot_if(recipient.company == 'A') }}a{{ slot_endif() }}", "{% if (recipient.company == 'A') %}a{% endif %}"),
    ],
)
def test_deferred_expressions_come_back_as_merge_tags(layout_source: str, merge_source: str) -> None:
    assert render_once(layout_source, publication="초록") == merge_source


def test_per_issue_values_render_normally_and_escape() -> None:
    assert render_once("{{ title }} {{ title|length }}", title="<a&b>") == "&lt;a&amp;b&gt; 5"


def test_literal_jinja_in_static_text_is_escaped_for_the_merge_step() -> None:
    source = render_once("{{ code }} {{ recipient.name }}", code="{{ x }} {% y %} {#")
    merged = jinja2.Environment().from_string(source).render(recipient={"name": "김"})
    assert merged == "{{ x }} {% y %} {# 김"


def test_unknown_fields_fail_with_the_template_line() -> None:
    with pytest.raises(TemplateError, match=r"<template>:2: unknown merge field 'recipient.nmae'; known fields: company"):
        render_once("a\n{{ recipient.nmae }}")
    with pytest.raises(TemplateError, match=r"unknown merge field 'manager.mail'"):
        render_once("{{ manager.mail }}")


@pytest.mark.parametrize(
    "source",
    ["{% if recipient.company %}x{% endif %}", "{% if recipient.name == 'a' %}x{% endif %}", "{{ 'x' if manager.name }}"],
)
def test_per_recipient_conditions_in_a_layout_are_refused(source: str) -> None:
    with pytest.raises(TemplateError, match=r"differs per recipient, so a layout cannot test it.*slot_if"):
        render_once(source)


def test_loops_over_per_recipient_values_are_refused() -> None:
    with pytest.raises(TemplateError, match=r"cannot loop over it"):
        render_once("{% for t in recipient.company %}{{ t }}{% endfor %}")


def test_slot_if_refuses_per_issue_conditions() -> None:
    with pytest.raises(TemplateError, match=r"slot_if\(\) is for per-recipient conditions"):
        render_once("{{ slot_if(true) }}")


def test_sentinels_are_ascii_words_that_never_collide_with_the_text() -> None:
    table = layout.SentinelTable("본문에 wzslot0x 가 있어도")
    word = table.add("{{ recipient.name }}")
    assert word.isalnum() and word.isascii() and word != "wzslot0x"
    assert table.restore(f"<p>{word}</p> wzslot0x") == "<p>{{ recipient.name }}</p> wzslot0x"


def test_protect_marks_block_tags() -> None:
    table = layout.SentinelTable()
    protected = table.protect("a {{ x }} {% if y %}b{% endif %}{# c #}")
    words = [match.group(0) for match in table.word_pattern.finditer(protected)]
    assert [table.is_block(w) for w in words] == [False, True, True, True]
    assert table.restore(protected) == "a {{ x }} {% if y %}b{% endif %}{# c #}"


def test_deferred_prints_as_a_safe_sentinel_in_html_and_text() -> None:
    table = layout.SentinelTable()
    deferred = layout.Deferred("recipient", table, ("name",))
    escaped = Markup.escape(deferred.name)
    assert isinstance(escaped, Markup) and table.word_pattern.fullmatch(str(escaped))
    assert table.restore(str(deferred.name)) == "{{ recipient.name }}"
