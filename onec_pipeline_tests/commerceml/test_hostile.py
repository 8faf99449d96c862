"""Hostile and broken XML is refused with a clear CommerceMLError (never expanded, never fetched)."""

from __future__ import annotations

import pickle
import zipfile

import pytest

from onec_pipeline.commerceml import CommerceMLError, Entity, discover_upload, read_header, read_upload
from onec_pipeline.commerceml.header import PEEK_ENTITIES, header_from

from .helpers import write

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<КоммерческаяИнформация ВерсияСхемы="2.04"><Каталог><Ид>c</Ид><Товары><Товар><Ид>1</Ид>
<Наименование>&lol9;</Наименование></Товар></Товары></Каталог></КоммерческаяИнформация>
"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<КоммерческаяИнформация ВерсияСхемы="2.04"><Каталог><Ид>c</Ид><Товары><Товар><Ид>1</Ид>
<Наименование>&xxe;</Наименование></Товар></Товары></Каталог></КоммерческаяИнформация>
"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE КоммерческаяИнформация SYSTEM "http://127.0.0.1:9/evil.dtd">
<КоммерческаяИнформация ВерсияСхемы="2.04"><Каталог><Ид>c</Ид><Товары><Товар><Ид>1</Ид>
<Наименование>x</Наименование></Товар></Товары></Каталог></КоммерческаяИнформация>
"""

PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE x [ <!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote; ]>
<КоммерческаяИнформация ВерсияСхемы="2.04"/>
"""


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (BILLION_LAUGHS, "declares entities"),
        (XXE, "declares entities"),
        (EXTERNAL_DTD, "external DTD"),
        (PARAMETER_ENTITY, "declares entities"),
    ],
    ids=["billion-laughs", "xxe", "external-dtd", "parameter-entity"],
)
def test_hostile_doctype_refused(tmp_path, text, needle):
    path = write(tmp_path, "import.xml", text)
    with pytest.raises(CommerceMLError, match=needle) as info:
        read_header(path)
    assert info.value.file == "import.xml" and info.value.line == 2
    with pytest.raises(CommerceMLError, match=needle):
        discover_upload(tmp_path)


def test_entities_beyond_the_sniffed_prolog_are_caught_by_libxml2_docinfo(tmp_path, monkeypatch):
    """Second line of defence: if the raw prolog check is bypassed, the parser's docinfo still refuses."""
    import onec_pipeline.commerceml.header as header_mod
    import onec_pipeline.commerceml.reader.stream as reader_mod

    monkeypatch.setattr(header_mod, "check_prolog", lambda head, file: None)
    monkeypatch.setattr(reader_mod, "check_prolog", lambda head, file: None)
    path = write(tmp_path, "import.xml", XXE)
    with pytest.raises(CommerceMLError, match="declares entities"):
        read_header(path)


@pytest.mark.parametrize(
    "doctype",
    [
        "<!DOCTYPE КоммерческаяИнформация>",
        '<!DOCTYPE КоммерческаяИнформация [<!ATTLIST Товар Статус CDATA "Удален">]>',
    ],
    ids=["plain", "default-attribute"],
)
def test_any_doctype_is_refused(tmp_path, doctype, monkeypatch):
    """No DTD at all: a default attribute in an internal subset would mark every good deleted."""
    text = (
        f'<?xml version="1.0"?>\n{doctype}\n'
        '<КоммерческаяИнформация ВерсияСхемы="2.04"><Каталог><Ид>c</Ид><Товары><Товар><Ид>1</Ид></Товар></Товары>'
        "</Каталог></КоммерческаяИнформация>"
    )
    path = write(tmp_path, "import.xml", text)
    with pytest.raises(CommerceMLError, match="DOCTYPE") as info:
        read_header(path)
    assert info.value.file == "import.xml" and info.value.line == 2
    import onec_pipeline.commerceml.header as header_mod

    monkeypatch.setattr(header_mod, "check_prolog", lambda head, file: None)  # the second line of defence
    with pytest.raises(CommerceMLError, match="DOCTYPE"):
        read_header(path)


def test_deep_nesting_refused(tmp_path):
    inner = "<a>" * 300 + "</a>" * 300
    text = (
        '<?xml version="1.0"?><КоммерческаяИнформация ВерсияСхемы="2.04"><Каталог><Ид>c</Ид><Товары><Товар>'
        f"<Ид>1</Ид>{inner}</Товар></Товары></Каталог></КоммерческаяИнформация>"
    )
    write(tmp_path, "import.xml", text)
    with pytest.raises(CommerceMLError, match="nested deeper than 256"):
        discover_upload(tmp_path)


def test_deep_nesting_after_the_peek_refused_by_the_reader(tmp_path):
    goods = "".join(f"<Товар><Ид>{i}</Ид></Товар>" for i in range(PEEK_ENTITIES + 50))
    inner = "<a>" * 300 + "</a>" * 300
    text = (
        '<?xml version="1.0"?><КоммерческаяИнформация ВерсияСхемы="2.04"><Каталог><Ид>c</Ид><Товары>'
        f"{goods}<Товар><Ид>deep</Ид>{inner}</Товар></Товары></Каталог></КоммерческаяИнформация>"
    )
    write(tmp_path, "import.xml", text)
    upload = discover_upload(tmp_path)
    with pytest.raises(CommerceMLError, match="nested deeper") as info:
        list(read_upload(upload, {Entity.GOODS}))
    assert info.value.file == "import.xml"
    assert info.value.path == "КоммерческаяИнформация/Каталог/Товар"


def test_malformed_xml_names_file_line_and_path(tmp_path):
    text = (
        '<?xml version="1.0"?>\n<КоммерческаяИнформация ВерсияСхемы="2.04">\n<Каталог><Ид>c</Ид><Товары>\n'
        + "".join(f"<Товар><Ид>{i}</Ид></Товар>\n" for i in range(PEEK_ENTITIES + 50))
        + "<Товар><Ид>bad</Ид><Наименование>x</Товар>\n</Товары></Каталог></КоммерческаяИнформация>\n"
    )
    write(tmp_path, "sub/import.xml", text)
    upload = discover_upload(tmp_path)
    with pytest.raises(CommerceMLError) as info:
        list(read_upload(upload, {Entity.GOODS}))
    err = info.value
    line = 3 + PEEK_ENTITIES + 50 + 1
    assert err.file == "sub/import.xml" and err.line == line
    assert "malformed XML" in str(err)
    assert str(err).startswith(f"sub/import.xml:{line} КоммерческаяИнформация/Каталог/Товар")


def test_error_is_picklable_and_names_everything():
    err = CommerceMLError("bad", file="a.xml", line=3, path="К/Каталог", entity_id="x1")
    assert str(err) == "a.xml:3 К/Каталог [id x1]: bad"
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.entity_id == "x1"


def test_unreadable_inputs(tmp_path):
    with pytest.raises(CommerceMLError, match="neither a directory nor a zip"):
        discover_upload(tmp_path / "missing")
    bad = tmp_path / "upload.zip"
    bad.write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(CommerceMLError):
        discover_upload(bad)


def test_zip_member_with_parent_path_refused(tmp_path):
    archive = tmp_path / "u.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../evil.xml", "<x/>")
    with pytest.raises(CommerceMLError, match="parent path"):
        discover_upload(archive)


def test_unreadable_file_is_an_error(tmp_path):
    def opener():
        raise PermissionError("denied")

    with pytest.raises(CommerceMLError, match="cannot read file"):
        header_from(opener, "x.xml", 10)
