from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from webzine.audit.fields import read_list_sample, read_managers
from webzine.errors import TemplateError
from webzine.render.fields import FieldUse, check_fields, field_uses, known_fields, scan_rows

ENV = jinja2.Environment()


def test_field_uses_find_attributes_items_and_whole_recipient_filters() -> None:
    source = "a\n{{ recipient.name }}\n{% if recipient['지역'] %}{{ recipient|greeting }}{% endif %}{{ manager.name }}"
    uses = field_uses(source, ENV, first_line=10)
    assert uses == [FieldUse("name", 11), FieldUse("지역", 12), FieldUse("name", 12), FieldUse("adjective", 12)]


def test_check_fields_suggests_the_closest_known_field() -> None:
    with pytest.raises(TemplateError, match=r"^x.md:4: unknown merge field 'recipient.compnay'; did you mean 'recipient.company'"):
        check_fields([FieldUse("name", 3), FieldUse("compnay", 4)], ("name", "company"), "x.md")
    with pytest.raises(TemplateError, match=r"check the spelling or add the column"):
        check_fields([FieldUse("zzz", 1)], ("name",), "x.md")


def test_scan_counts_empties_and_picks_the_sample() -> None:
    rows = [{"email": "a@x", "name": ""}, {"email": "B@x", "name": "비", "tags": ()}, {"email": "c@x", "name": " "}]
    scan = scan_rows(iter(rows), ["name", "tags"], sample_email="b@X")
    assert scan.total == 3 and scan.empty == {"name": 2, "tags": 3}
    assert scan.sample is rows[1]
    assert scan_rows(rows, ["name"]).sample is rows[0]


def test_the_list_is_read_in_excel_cp949_with_korean_headers(tmp_path: Path) -> None:
    path = tmp_path / "subscribers.csv"
    path.write_bytes("이메일,이름,회사,지역\nkim@example.com,김갑수,갑수상사,서울\nlee@example.com,이을순,,\n".encode("cp949"))
    sample = read_list_sample(path)
    assert sample.columns[:3] == ("email", "name", "company") and "지역" in sample.columns
    rows = list(sample.rows)
    assert rows[0] == {"email": "kim@example.com", "name": "김갑수", "company": "갑수상사", "지역": "서울"}
    assert rows[1]["지역"] == ""
    assert "지역" in known_fields(sample) and "adjective" in known_fields(sample)


def test_missing_files_mean_no_list(tmp_path: Path) -> None:
    assert read_list_sample(tmp_path / "none.csv").columns == ()
    assert read_managers(tmp_path / "none.csv") == {}


def test_managers_by_id(tmp_path: Path) -> None:
    path = tmp_path / "managers.csv"
    path.write_text("id,name,email,phone\nm1,박영업,p@example.co.kr,010-1\n", encoding="utf-8")
    assert read_managers(path) == {"m1": {"id": "m1", "name": "박영업", "email": "p@example.co.kr", "phone": "010-1", "title": ""}}
