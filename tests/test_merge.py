from __future__ import annotations

import jinja2
import pytest

from webzine.errors import TemplateError
from webzine.render.slots import Slot, compile_merge, recipient_context

ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def test_static_text_and_slots_alternate_and_render_escaped() -> None:
    template = compile_merge(
        "<p>{{ recipient.name }} 님</p>{% if recipient.company %}<b>{{ recipient.company }}</b>{% endif %}!",
        ENV,
        origin="issue.md",
    )
    kinds = [type(s) for s in template.segments]
    assert kinds == [str, Slot, str, Slot, str]
    context = recipient_context({"name": "<김갑수>", "company": ""}, None, "https://u/1")
    assert template.render(context) == "<p>&lt;김갑수&gt; 님</p>!"


def test_nested_blocks_form_one_slot_and_comments_vanish() -> None:
    template = compile_merge(
        "a{% for t in recipient.tags %}{% if t %}[{{ t }}]{% endif %}{% endfor %}b{# note #}c",
        ENV,
        origin="x",
    )
    assert len(template.slots) == 1
    assert template.render({"recipient": {"tags": ("vip", "", "b2b")}}) == "a[vip][b2b]bc"


def test_set_makes_the_whole_template_one_slot() -> None:
    template = compile_merge("{% set who = recipient.name %}x{{ who }}", ENV, origin="x")
    assert len(template.segments) == 1
    assert template.render({"recipient": {"name": "이"}}) == "x이"


def test_errors_name_file_and_line() -> None:
    with pytest.raises(TemplateError, match=r"^issue.md:11: a block statement is never closed"):
        compile_merge("x\n{% if a %}y", ENV, origin="issue.md", first_line=10)
    with pytest.raises(TemplateError, match=r"^issue.md:3: .*without an opening statement"):
        compile_merge("\n\n{% endif %}", ENV, origin="issue.md")
    with pytest.raises(TemplateError, match=r"^issue.md:2: "):
        compile_merge("x\n{{ recipient.name | }}", ENV, origin="issue.md")
    template = compile_merge("x\n{{ recipient.nmae }}", ENV, origin="issue.md")
    with pytest.raises(TemplateError, match=r"issue.md:2: .*'nmae'"):
        template.render({"recipient": {"name": "김"}})


def test_recipient_context_has_a_blank_manager_when_none() -> None:
    context = recipient_context({"name": "김"}, None, "u", feedback="f")
    assert context["manager"]["name"] == "" and context["feedback"] == "f"


def test_the_personaliser_fills_every_kind_of_slot_as_jinja_renders_it() -> None:
    from webzine.render.slots import Personaliser

    text = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined)
    subject = compile_merge("{{ slot0 }} {{ recipient.name }}", text, origin="s")  # reads a name the filler might use
    body = compile_merge("<{{ recipient.name }}>{% if recipient.tags %}{{ recipient.tags|join(',') }}{% endif %}"
                         "{% block b %}{{ manager.name }}{% endblock %}", ENV, origin="b")
    whole = compile_merge("{% set who = recipient.name %}{{ who }}!", text, origin="w")  # kept as one slot
    personaliser = Personaliser((subject, body, whole))
    context = {"slot0": "<0>", "recipient": {"name": "<김>", "tags": ("a", "b")}, "manager": {"name": "박"}}
    texts = personaliser.fill(context)
    assert [personaliser.render(t, texts) for t in (subject, body, whole)] == [
        subject.render(context), body.render(context), whole.render(context)]
    assert texts[0] == "<0>" and all(type(text) is str for text in texts)


def test_a_reader_whose_data_holds_any_character_gets_each_slot_as_jinja_renders_it() -> None:
    from webzine.render.slots import Personaliser

    body = compile_merge("{{ recipient.name }}|{{ recipient.company }}|{% if recipient.vip %}VIP{% endif %}", ENV,
                         origin="b")
    personaliser = Personaliser((body,))
    for name in ["\x00", "a\x00b\x00", "{{ x }}", "\x00\x00\x00\x00"]:
        context = {"recipient": {"name": name, "company": "<c>", "vip": True}, "manager": {}}
        assert personaliser.render(body, personaliser.fill(context)) == body.render(context)


def test_slots_that_read_only_the_manager_are_filled_once_per_manager() -> None:
    from webzine.render.slots import Personaliser

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    calls: list[str] = []
    environment.filters["counted"] = lambda value: calls.append(value) or value
    template = compile_merge("{{ recipient.name }}/{{ manager.name|counted }}", environment, origin="t")
    personaliser = Personaliser((template,))
    for name, manager in [("a", "m1"), ("b", "m1"), ("c", "m2"), ("d", "m1")]:
        context = {"recipient": {"name": name}, "manager": {"name": manager.upper()}}
        assert personaliser.render(template, personaliser.fill(context, manager)) == f"{name}/{manager.upper()}"
    assert calls == ["M1", "M2"]
    personaliser.fill({"recipient": {"name": "e"}, "manager": {"name": "M1"}})  # no manager named: filled afresh
    assert calls == ["M1", "M2", "M1"]
