"""A generated hostile corpus: small uploads, one per case, each with the outcome it must have.

Every case writes its upload under a directory it is given and says what must happen to it:

* ``refused`` — the gate refuses it: one clear line naming ``file`` (and containing ``needle``), no
  traceback, nothing archived, the source given back untouched, the catalog unchanged;
* ``loaded`` — it is archived and its records are read as ``expect`` says (counts per entity, rejects);
* ``reported`` — archived, and a file of it is named in the manifest's ``not_imported`` list.

Classes (``cls``) are the rows of the README's Reliability table.
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

WHEN = "2026-11-20T10:15:00"
ROOT = "КоммерческаяИнформация"
DECL = '<?xml version="1.0" encoding="{enc}"?>\n'


def goods_body(goods: list[tuple[str, str]] | None = None, full: bool = False) -> str:
    goods = goods if goods is not None else [("p1", "Чайник"), ("p2", "Кружка"), ("p3", "Ложка")]
    items = "".join(
        f"<Товар><Ид>{gid}</Ид><Наименование>{name}</Наименование><Группы><Ид>g1</Ид></Группы></Товар>\n"
        for gid, name in goods
    )
    return (
        "<Классификатор><Ид>cls</Ид><Наименование>Классификатор</Наименование>\n"
        "<Группы><Группа><Ид>g1</Ид><Наименование>Посуда</Наименование></Группа></Группы></Классификатор>\n"
        f'<Каталог СодержитТолькоИзменения="{str(not full).lower()}"><Ид>cat</Ид>'
        f"<ИдКлассификатора>cls</ИдКлассификатора><Наименование>Каталог</Наименование>\n<Товары>\n{items}"
        "</Товары></Каталог>\n"
    )


def offers_body(offers: list[tuple[str, str, str]] | None = None) -> str:
    offers = (
        offers if offers is not None else [("p1", "100.00", "5"), ("p2", "200.50", "0"), ("p3", "7", "12")]
    )
    items = "".join(
        f"<Предложение><Ид>{oid}</Ид><Наименование>Предложение {oid}</Наименование>"
        f"<Цены><Цена><ИдТипаЦены>pt1</ИдТипаЦены><ЦенаЗаЕдиницу>{price}</ЦенаЗаЕдиницу><Валюта>RUB</Валюта>"
        f"</Цена></Цены><Количество>{qty}</Количество></Предложение>\n"
        for oid, price, qty in offers
    )
    return (
        '<ПакетПредложений СодержитТолькоИзменения="true"><Ид>cat#</Ид><ИдКаталога>cat</ИдКаталога>'
        "<ИдКлассификатора>cls</ИдКлассификатора><Наименование>Пакет</Наименование>\n"
        "<ТипыЦен><ТипЦены><Ид>pt1</Ид><Наименование>Розничная</Наименование><Валюта>RUB</Валюта></ТипЦены>"
        f"</ТипыЦен>\n<Предложения>\n{items}</Предложения></ПакетПредложений>\n"
    )


def document(body: str, *, when: str = WHEN, enc: str = "UTF-8", decl: bool = True, prolog: str = "") -> str:
    head = DECL.format(enc=enc) if decl else ""
    return f'{head}{prolog}<{ROOT} ВерсияСхемы="2.07" ДатаФормирования="{when}">\n{body}</{ROOT}>\n'


def import_xml(**kw) -> bytes:
    return document(goods_body()).encode("utf-8") if not kw else document(goods_body(), **kw).encode("utf-8")


def offers_xml() -> bytes:
    return document(offers_body()).encode("utf-8")


GOOD_FILES = {"import.xml": import_xml(), "offers.xml": offers_xml()}


# ------------------------------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    id: str
    cls: str
    build: Callable[[Path], Path]  # writes the upload under the given directory, returns its path
    outcome: str  # refused | loaded | reported
    needle: str = ""  # part of the refusal's text
    file: str | None = None  # the file the refusal (or the report) names
    expect: dict[str, int] = field(default_factory=dict)  # loaded: records per entity, "rejects"
    env: dict[str, str] = field(default_factory=dict)
    untrusted_time: bool | None = None  # loaded: whether the export time must be distrusted


def _write_dir(files: dict[str, bytes]) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        upload = root / "upload"
        for rel, data in files.items():
            path = upload / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return upload

    return build


def _write_zip(members: dict[str, bytes], patch: Callable[[bytes], bytes] | None = None, **kw) -> Callable:
    def build(root: Path) -> Path:
        path = root / "upload.zip"
        root.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", compression=kw.get("compression", zipfile.ZIP_DEFLATED)) as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        if patch is not None:
            path.write_bytes(patch(path.read_bytes()))
        return path

    return build


def _raw_zip(data_fn: Callable[[], bytes]) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        root.mkdir(parents=True, exist_ok=True)
        path = root / "upload.zip"
        path.write_bytes(data_fn())
        return path

    return build


def _with(files: dict[str, bytes], rel: str, data: bytes) -> dict[str, bytes]:
    return {**files, rel: data}


# ------------------------------------------------------------------------------------ zip byte patching


def _patch_headers(
    data: bytes, *, flag_or: int = 0, method: int | None = None, size: int | None = None
) -> bytes:
    """Set bits in every member's flags, its compression method or its declared size, in both the local
    and the central headers."""
    buf = bytearray(data)
    pos = 0
    while (pos := buf.find(b"PK\x03\x04", pos)) >= 0:
        flags = struct.unpack_from("<H", buf, pos + 6)[0]
        struct.pack_into("<H", buf, pos + 6, flags | flag_or)
        if method is not None:
            struct.pack_into("<H", buf, pos + 8, method)
        if size is not None:
            struct.pack_into("<I", buf, pos + 22, size)
        pos += 4
    pos = 0
    while (pos := buf.find(b"PK\x01\x02", pos)) >= 0:
        flags = struct.unpack_from("<H", buf, pos + 8)[0]
        struct.pack_into("<H", buf, pos + 8, flags | flag_or)
        if method is not None:
            struct.pack_into("<H", buf, pos + 10, method)
        if size is not None:
            struct.pack_into("<I", buf, pos + 24, size)
        pos += 4
    return bytes(buf)


def _flip_data_byte(data: bytes) -> bytes:
    """Corrupt the first member's stored data (a bad CRC)."""
    buf = bytearray(data)
    start = buf.find(b"PK\x03\x04")
    name_len, extra_len = struct.unpack_from("<HH", buf, start + 26)
    at = start + 30 + name_len + extra_len + 40
    buf[at] ^= 0x55
    return bytes(buf)


def _rename_member(old: bytes, new: bytes, utf8_flag: bool) -> Callable[[bytes], bytes]:
    def patch(data: bytes) -> bytes:
        assert len(old) == len(new)
        data = data.replace(old, new)
        return _patch_headers(data, flag_or=0x800) if utf8_flag else data

    return patch


def _symlink_zip() -> bytes:
    path_info = zipfile.ZipInfo("import.xml")
    path_info.external_attr = (0o120777 << 16) | 0x20
    import io

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("offers.xml", offers_xml())
        zf.writestr(path_info, "/etc/passwd")
    return out.getvalue()


def _bomb(members: int, size: int) -> Callable[[Path], Path]:
    """``members`` members of ``size`` zero bytes each (deflate: about 1 KB per MiB)."""

    def build(root: Path) -> Path:
        root.mkdir(parents=True, exist_ok=True)
        path = root / "upload.zip"
        block = bytes(size)
        compressed = zlib.compress(block, 9)[2:-4]  # raw deflate, computed once
        crc = zlib.crc32(block)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("import.xml", import_xml())
            for i in range(members):
                info = zipfile.ZipInfo(f"import_files/{i:05d}.jpg")
                info.compress_type = zipfile.ZIP_DEFLATED
                _write_precompressed(zf, info, compressed, crc, size)
        return path

    return build


def _write_precompressed(zf: zipfile.ZipFile, info: zipfile.ZipInfo, raw: bytes, crc: int, size: int) -> None:
    """Append a member whose deflated bytes are already known (a bomb of a thousand members in ms)."""
    info.CRC, info.compress_size, info.file_size = crc, len(raw), size
    info.header_offset = zf.fp.tell()
    info.flag_bits = 0
    zf.fp.write(info.FileHeader(False))
    zf.fp.write(raw)
    zf.filelist.append(info)
    zf.NameToInfo[info.filename] = info
    zf.start_dir = zf.fp.tell()


# ------------------------------------------------------------------------------------------- the corpus


def _truncations(name: str, data: bytes) -> list[Case]:
    """A file cut short anywhere: it never closes its root, the whole upload is refused."""
    cuts = {
        "10pct": len(data) // 10,
        "50pct": len(data) // 2,
        "90pct": len(data) * 9 // 10,
        "minus1": len(data) - 2,  # the closing '>' (the last byte is the newline)
        "minus12": len(data) - 12,
        "before-root-close": data.rindex(f"</{ROOT}>".encode()),
        "mid-utf8-char": data.rindex("Предложение".encode() if name == "offers.xml" else "Ложка".encode())
        + 1,
    }
    return [
        Case(
            f"truncated-{name}-{label}",
            "truncated file",
            _write_dir(_with(GOOD_FILES, name, data[:cut])),
            "refused",
            needle="",
            file=name,
        )
        for label, cut in cuts.items()
    ]


def _prefixed(name: str, data: bytes) -> list[Case]:
    prefixes = {
        "x": b"x",
        "nul": b"\x00",
        "bom-bom": b"\xef\xbb\xbf\xef\xbb\xbf",
        "html": b"<!-- -->",
        "utf7": b"+/v8",
    }
    out = []
    for label, prefix in prefixes.items():
        out.append(
            Case(
                f"stray-before-xml-{name}-{label}",
                "stray bytes before <?xml",
                _write_dir(_with(GOOD_FILES, name, prefix + data)),
                "refused",
                file=name,
            )
        )
    return out


def _encodings(name: str, body: str) -> list[Case]:
    text = document(body, enc="UTF-8")
    cases = [
        Case(
            f"utf8-bom-{name}",
            "encodings",
            _write_dir(_with(GOOD_FILES, name, b"\xef\xbb\xbf" + text.encode())),
            "loaded",
        ),
        Case(
            f"utf16le-bom-{name}",
            "encodings",
            _write_dir(_with(GOOD_FILES, name, document(body, enc="UTF-16").encode("utf-16"))),
            "loaded",
        ),
        Case(
            f"utf16be-bom-{name}",
            "encodings",
            _write_dir(
                _with(GOOD_FILES, name, b"\xfe\xff" + document(body, enc="UTF-16").encode("utf-16-be"))
            ),
            "loaded",
        ),
        Case(
            f"utf16-undeclared-bom-{name}",
            "encodings",
            _write_dir(_with(GOOD_FILES, name, document(body, decl=False).encode("utf-16"))),
            "loaded",
        ),
        Case(
            f"windows1251-{name}",
            "encodings",
            _write_dir(_with(GOOD_FILES, name, document(body, enc="windows-1251").encode("cp1251"))),
            "loaded",
        ),
        Case(
            f"utf16-no-bom-{name}",
            "encodings",
            _write_dir(_with(GOOD_FILES, name, document(body, enc="UTF-16").encode("utf-16-le"))),
            "refused",
            needle="byte order mark",
            file=name,
        ),
        Case(
            f"utf32-{name}",
            "encodings",
            _write_dir(_with(GOOD_FILES, name, document(body, enc="UTF-32").encode("utf-32"))),
            "refused",
            needle="UTF-32",
            file=name,
        ),
        Case(
            f"utf16-bom-declares-utf8-{name}",
            "encodings",
            _write_dir(_with(GOOD_FILES, name, text.encode("utf-16"))),
            "refused",
            needle="declares",
            file=name,
        ),
        Case(
            f"utf8-bom-declares-1251-{name}",
            "encodings",
            _write_dir(
                _with(GOOD_FILES, name, b"\xef\xbb\xbf" + document(body, enc="windows-1251").encode())
            ),
            "refused",
            needle="declares",
            file=name,
        ),
        Case(
            f"cp1251-bytes-declared-utf8-{name}",
            "encodings",
            _write_dir(_with(GOOD_FILES, name, text.encode("cp1251"))),
            "refused",
            needle="decodable",
            file=name,
        ),
        Case(
            f"utf8-bytes-declared-1251-{name}",
            "encodings",
            _write_dir(_with(GOOD_FILES, name, document(body, enc="windows-1251").encode("utf-8"))),
            "refused",
            needle="declared encoding",
            file=name,
        ),
    ]
    for enc in ("ISO-8859-1", "KOI8-R", "no-such-encoding", "UTF-7"):
        cases.append(
            Case(
                f"declared-{enc}-{name}",
                "encodings",
                _write_dir(_with(GOOD_FILES, name, document(body, enc=enc).encode("latin-1", "replace"))),
                "refused",
                needle="not one 1C writes",
                file=name,
            )
        )
    return cases


BILLION_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
)
DOCTYPES = {
    "plain": f"<!DOCTYPE {ROOT}>\n",
    "attlist-default-deleted": f'<!DOCTYPE {ROOT} [<!ATTLIST Товар Статус CDATA "Удален">]>\n',
    "billion-laughs": BILLION_LAUGHS,
    "xxe-file": '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n',
    "xxe-http": '<!DOCTYPE x [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/x">]>\n',
    "parameter-entity": '<!DOCTYPE x [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>\n',
    "external-system": f'<!DOCTYPE {ROOT} SYSTEM "http://127.0.0.1:9/evil.dtd">\n',
    "external-public": f'<!DOCTYPE {ROOT} PUBLIC "-//E//DTD E//EN" "http://127.0.0.1:9/e.dtd">\n',
    "element-decl": f"<!DOCTYPE {ROOT} [<!ELEMENT {ROOT} ANY>]>\n",
}


def _doctypes(name: str, body: str) -> list[Case]:
    cases = [
        Case(
            f"doctype-{label}-{name}",
            "DTDs (XXE, billion laughs, external DTD, default attributes)",
            _write_dir(_with(GOOD_FILES, name, document(body, prolog=doctype).encode())),
            "refused",
            needle="DOCTYPE",
            file=name,
        )
        for label, doctype in DOCTYPES.items()
    ]
    cases.append(
        Case(
            f"doctype-utf16-{name}",
            "DTDs (XXE, billion laughs, external DTD, default attributes)",
            _write_dir(
                _with(
                    GOOD_FILES, name, document(body, enc="UTF-16", prolog=DOCTYPES["plain"]).encode("utf-16")
                )
            ),
            "refused",
            needle="DOCTYPE",
            file=name,
        )
    )
    return cases


def _malformed(name: str, body: str) -> list[Case]:
    good = document(body)
    variants = {
        "mismatched-tag": good.replace("</Наименование>", "</Наименовани>", 1),
        "unclosed-quote": good.replace('ВерсияСхемы="2.07"', 'ВерсияСхемы="2.07', 1),
        "control-char": good.replace("<Ид>p2</Ид>", "<Ид>p\x01</Ид>", 1),
        "two-roots": good + f"<{ROOT}/>\n",
        "trailing-garbage": good + "garbage",
        "trailing-nuls": good + "\x00\x00\x00",
        "undefined-entity": good.replace("<Ид>p2</Ид>", "<Ид>&nope;</Ид>", 1),
        "bare-ampersand": good.replace("<Ид>p2</Ид>", "<Ид>a & b</Ид>", 1),
        "lt-in-text": good.replace("<Ид>p2</Ид>", "<Ид>a < b</Ид>", 1),
        "deep-nesting": good.replace("<Ид>p2</Ид>", "<Ид>p2</Ид>" + "<a>" * 300 + "</a>" * 300, 1),
        "cdata-unclosed": good.replace("<Ид>p2</Ид>", "<Ид><![CDATA[p2</Ид>", 1),
        "comment-unclosed": good.replace("<Ид>p2</Ид>", "<!-- <Ид>p2</Ид>", 1),
    }
    return [
        Case(
            f"malformed-{label}-{name}",
            "malformed XML",
            _write_dir(_with(GOOD_FILES, name, text.encode())),
            "refused",
            file=name,
        )
        for label, text in variants.items()
    ]


def _not_xml(name: str) -> list[Case]:
    variants = {
        "empty": b"",
        "only-bom": b"\xef\xbb\xbf",
        "binary": bytes(range(256)),
        "json": b'{"goods": []}',
        "text": "Товары: чайник, кружка".encode(),
        "png": b"\x89PNG\r\n\x1a\n" + bytes(64),
        "zip-named-xml": b"PK\x03\x04" + bytes(40),
    }
    cases = [
        Case(
            f"not-xml-{label}-{name}",
            "garbage named *.xml",
            _write_dir(_with(GOOD_FILES, name, data)),
            "refused",
            file=name,
        )
        for label, data in variants.items()
    ]
    for label, text in {
        "html": "<html><body>500 Internal Server Error</body></html>",
        "other-root": '<?xml version="1.0"?><Каталог><Товары/></Каталог>',
        "soap-fault": '<?xml version="1.0"?><soap:Envelope xmlns:soap="urn:x"><soap:Body/></soap:Envelope>',
    }.items():
        cases.append(
            Case(
                f"not-commerceml-{label}-{name}",
                "garbage named *.xml",
                _write_dir(_with(GOOD_FILES, name, text.encode())),
                "refused",
                needle="not a CommerceML document",
                file=name,
            )
        )
    return cases


EMPTY_PACKAGE = (
    '<ПакетПредложений СодержитТолькоИзменения="true"><Ид>cat#</Ид><ИдКаталога>cat</ИдКаталога>'
    "<Наименование>Пакет</Наименование><Предложения/></ПакетПредложений>\n"
)


def _reported() -> list[Case]:
    orders = document(
        "<Документ><Ид>o1</Ид><Номер>1</Номер><Дата>2026-11-20</Дата><ХозОперация>Заказ товара</ХозОперация>"
        "</Документ>\n"
    ).encode()
    return [
        Case(
            "reported-orders-document",
            "known non-catalog documents",
            _write_dir(_with(GOOD_FILES, "orders.xml", orders)),
            "reported",
            file="orders.xml",
        ),
        Case(
            "reported-empty-commerceml",
            "known non-catalog documents",
            _write_dir(_with(GOOD_FILES, "empty.xml", document("").encode())),
            "reported",
            file="empty.xml",
        ),
        Case(
            "reported-empty-offer-package",
            "known non-catalog documents",
            _write_dir(_with(GOOD_FILES, "offers2.xml", document(EMPTY_PACKAGE).encode())),
            "reported",
            file="offers2.xml",
        ),
    ]


def _zips() -> list[Case]:
    good = GOOD_FILES
    cls = "poison zips"
    return (
        [
            Case(
                "zip-good", "zips", _write_zip(good), "loaded", expect={"goods": 3, "offers": 3, "prices": 3}
            ),
            Case(
                "zip-good-stored",
                "zips",
                _write_zip(good, compression=zipfile.ZIP_STORED),
                "loaded",
                expect={"goods": 3},
            ),
            Case(
                "zip-good-bzip2",
                "zips",
                _write_zip(good, compression=zipfile.ZIP_BZIP2),
                "loaded",
                expect={"goods": 3},
            ),
            Case(
                "zip-good-lzma",
                "zips",
                _write_zip(good, compression=zipfile.ZIP_LZMA),
                "loaded",
                expect={"goods": 3},
            ),
            Case(
                "zip-encrypted",
                cls,
                _write_zip(good, lambda d: _patch_headers(d, flag_or=0x1)),
                "refused",
                needle="encrypted",
                file="import.xml",
            ),
            Case(
                "zip-bad-crc",
                cls,
                _write_zip(good, _flip_data_byte, compression=zipfile.ZIP_STORED),
                "refused",
                needle="cannot be extracted",
                file="import.xml",
            ),
            Case(
                "zip-bad-deflate",
                cls,
                _write_zip(good, _flip_data_byte),
                "refused",
                needle="cannot be extracted",
                file="import.xml",
            ),
            Case(
                "zip-method-99-aes",
                cls,
                _write_zip(good, lambda d: _patch_headers(d, method=99)),
                "refused",
                needle="compression method 99",
                file="import.xml",
            ),
            Case(
                "zip-method-6-implode",
                cls,
                _write_zip(good, lambda d: _patch_headers(d, method=6)),
                "refused",
                needle="compression method 6",
                file="import.xml",
            ),
            Case(
                "zip-name-not-utf8-flagged",
                cls,
                _write_zip(
                    {"importX.xml": good["import.xml"]},
                    _rename_member(b"importX.xml", b"import\xff.xml", True),
                ),
                "refused",
                needle="not valid UTF-8",
            ),
            Case(
                "zip-truncated",
                cls,
                _raw_zip(lambda: _zip_bytes(good)[:-100]),
                "refused",
                needle="not a readable zip",
            ),
            Case(
                "zip-half",
                cls,
                _raw_zip(lambda: _zip_bytes(good)[: len(_zip_bytes(good)) // 2]),
                "refused",
                needle="not a readable zip",
            ),
            Case(
                "zip-not-a-zip",
                cls,
                _raw_zip(lambda: b"this is not a zip"),
                "refused",
                needle="not a readable zip",
            ),
            Case("zip-empty-archive", cls, _raw_zip(lambda: _zip_bytes({})), "refused", needle="no files"),
            Case(
                "zip-slip-parent",
                cls,
                _write_zip({**good, "../../evil.xml": b"<a/>"}),
                "refused",
                needle="escaping",
                file="../../evil.xml",
            ),
            Case(
                "zip-slip-absolute",
                cls,
                _write_zip({**good, "/etc/evil.xml": b"<a/>"}),
                "refused",
                needle="absolute",
            ),
            Case(
                "zip-slip-drive",
                cls,
                _write_zip({**good, "C:/evil.xml": b"<a/>"}),
                "refused",
                needle="absolute",
            ),
            Case(
                "zip-slip-backslash",
                cls,
                _write_zip({**good, "..\\..\\evil.xml": b"<a/>"}),
                "refused",
                needle="escaping",
            ),
            Case(
                "zip-symlink-member",
                cls,
                _raw_zip(_symlink_zip),
                "refused",
                needle="symlink",
                file="import.xml",
            ),
            Case(
                "zip-duplicate-member",
                cls,
                _raw_zip(lambda: _duplicate_zip(good)),
                "refused",
                needle="twice",
                file="import.xml",
            ),
            Case(
                "zip-lying-size",
                cls,
                _write_zip(good, lambda d: _patch_headers(d, size=10)),
                "refused",
                needle="cannot be extracted",
            ),
            Case("zip-bomb-1mib-members", cls, _bomb(40, 1 << 20), "refused", needle="zip bomb"),
            Case("zip-bomb-one-member", cls, _bomb(1, 40 << 20), "refused", needle="zip bomb"),
            Case(
                "zip-too-many-members",
                cls,
                _write_zip({**good, **{f"import_files/{i}.jpg": b"x" for i in range(12)}}),
                "refused",
                needle="members",
                env={"ONEC_ZIP_MAX_MEMBERS": "10"},
            ),
            Case(
                "zip-total-too-big",
                cls,
                _write_zip(good),
                "refused",
                needle="uncompressed",
                env={"ONEC_ZIP_MAX_BYTES": "1000"},
            ),
        ]
        + [
            Case(
                f"zip-nested-{ext}",
                cls,
                _write_zip({**good, f"inner.{ext}": b"PK\x03\x04"}),
                "refused",
                needle="nested archive",
                file=f"inner.{ext}",
            )
            for ext in ("zip", "rar", "7z", "gz", "tar")
        ]
        + [
            Case(
                f"zip-truncated-member-{name}",
                cls,
                _write_zip(_with(good, name, good[name][: len(good[name]) // 2])),
                "refused",
                file=name,
            )
            for name in good
        ]
    )


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    import io

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _duplicate_zip(members: dict[str, bytes]) -> bytes:
    import io
    import warnings

    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as zf:
        warnings.simplefilter("ignore")
        for name, data in members.items():
            zf.writestr(name, data)
        zf.writestr("import.xml", document(goods_body([("evil", "Подмена")])).encode())
    return out.getvalue()


def _names() -> list[Case]:
    cls = "file names and symlinks"

    def non_utf8(root: Path) -> Path:
        upload = _write_dir(GOOD_FILES)(root)
        (upload / os.fsdecode(b"caf\xe9.xml")).write_bytes(offers_xml())
        return upload

    def symlink(target: str) -> Callable[[Path], Path]:
        def build(root: Path) -> Path:
            upload = _write_dir({"offers.xml": offers_xml()})(root)
            (upload / "import.xml").symlink_to(target)
            return upload

        return build

    def dir_symlink(root: Path) -> Path:
        upload = _write_dir(GOOD_FILES)(root)
        (upload / "import_files").symlink_to("/etc")
        return upload

    return [
        Case("name-not-utf8", cls, non_utf8, "refused", needle="not valid UTF-8", file="caf\ufffd.xml"),
        Case(
            "symlink-to-etc-passwd",
            cls,
            symlink("/etc/passwd"),
            "refused",
            needle="symlink",
            file="import.xml",
        ),
        Case(
            "symlink-dangling",
            cls,
            symlink("/nonexistent/import.xml"),
            "refused",
            needle="symlink",
            file="import.xml",
        ),
        Case("symlink-directory", cls, dir_symlink, "refused", needle="symlink", file="import_files"),
        Case(
            "name-emoji",
            cls,
            _write_dir({"📦 выгрузка/import.xml": import_xml(), "offers 🔥.xml": offers_xml()}),
            "loaded",
            expect={"goods": 3, "offers": 3},
        ),
        Case(
            "name-cyrillic-spaces",
            cls,
            _write_dir({"Выгрузка от 20.11/import.xml": import_xml(), "предложения.XML": offers_xml()}),
            "loaded",
            expect={"goods": 3, "offers": 3},
        ),
        Case(
            "name-very-long",
            cls,
            _write_dir({"a" * 200 + ".xml": import_xml()}),
            "loaded",
            expect={"goods": 3},
        ),
        Case(
            "name-sql-ish",
            cls,
            _write_dir({"x'; DROP TABLE goods; --.xml": import_xml()}),
            "loaded",
            expect={"goods": 3},
        ),
    ]


def _data() -> list[Case]:
    """Hostile content the reader already handles: loaded, with rejects where a record is unusable."""
    cls = "hostile values (SQL-ish ids, emoji, numbers, composite ids)"

    def offers(rows: list[tuple[str, str, str]]) -> Callable[[Path], Path]:
        return _write_dir(_with(GOOD_FILES, "offers.xml", document(offers_body(rows)).encode()))

    def goods(rows: list[tuple[str, str]]) -> Callable[[Path], Path]:
        return _write_dir({"import.xml": document(goods_body(rows)).encode()})

    cases = [
        Case(
            "ids-sql-injection",
            cls,
            goods([("'; DROP TABLE goods; --", "x"), ("1 OR 1=1", "y")]),
            "loaded",
            expect={"goods": 2},
        ),
        Case(
            "ids-quotes-backslashes",
            cls,
            goods([('a"b', "x"), ("c\\d", "y"), ("e\tf", "z")]),
            "loaded",
            expect={"goods": 3},
        ),
        Case(
            "names-emoji",
            cls,
            goods([("p1", "Чайник 🫖"), ("p2", "👨‍👩‍👧 семья"), ("p3", "\u202eRTL")]),
            "loaded",
            expect={"goods": 3},
        ),
        Case("ids-very-long", cls, goods([("x" * 5000, "long")]), "loaded", expect={"goods": 1}),
        Case(
            "ids-empty-and-blank",
            cls,
            goods([("", "no id"), ("   ", "blank"), ("p1", "ok")]),
            "loaded",
            expect={"goods": 1, "rejects": 2},
        ),
        Case(
            "ids-duplicated", cls, goods([("p1", "first"), ("p1", "second")]), "loaded", expect={"goods": 2}
        ),
        Case(
            "composite-id-hash-only",
            "malformed composite ids",
            offers([("#", "1", "1"), ("p1", "2", "2")]),
            "loaded",
            expect={"offers": 1, "rejects": 1},
        ),
        Case(
            "composite-id-no-product",
            "malformed composite ids",
            offers([("#abc", "1", "1"), ("p1", "2", "2")]),
            "loaded",
            expect={"offers": 1, "rejects": 1},
        ),
        Case(
            "composite-id-blank-product",
            "malformed composite ids",
            offers([("  #abc", "1", "1")]),
            "loaded",
            expect={"offers": 0, "rejects": 1},
        ),
        Case(
            "composite-id-no-characteristic",
            "malformed composite ids",
            offers([("p1#", "1", "1")]),
            "loaded",
            expect={"offers": 1, "rejects": 0},
        ),
        Case(
            "composite-id-good",
            "malformed composite ids",
            offers([("p1#c1", "1", "1"), ("p1#c2", "2", "2")]),
            "loaded",
            expect={"offers": 2},
        ),
    ]
    for label, value in {
        "text": "abc",
        "infinity": "Infinity",
        "nan": "NaN",
        "huge-exponent": "1e999999",
        "double-minus": "--5",
        "two-points": "1.2.3",
    }.items():
        cases.append(
            Case(
                f"price-{label}",
                "non-numeric prices and quantities",
                offers([("p1", value, "1")]),
                "loaded",
                expect={"offers": 1, "prices": 0, "rejects": 1},
            )
        )
    for label, value in {"comma": "1 234,50", "nbsp": "1\u00a0234.50", "negative": "-5", "empty": ""}.items():
        expect = {"offers": 1, "prices": 0 if label == "empty" else 1}
        cases.append(
            Case(
                f"price-{label}",
                "non-numeric prices and quantities",
                offers([("p1", value, "1")]),
                "loaded",
                expect=expect,
            )
        )
    cases.append(
        Case(
            "quantity-text",
            "non-numeric prices and quantities",
            offers([("p1", "1", "много")]),
            "loaded",
            expect={"offers": 1, "rejects": 1},
        )
    )
    return cases


def _times() -> list[Case]:
    cls = "export times in the future"
    now = datetime.now()
    out = []
    for label, when, untrusted in [
        ("2099", "2099-01-01T00:00:00", True),
        ("2999", "2999-12-31T23:59:59", True),
        ("9999", "9999-12-31T23:59:59", True),
        ("plus-2-days", (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S"), True),
        ("plus-1-hour", (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"), False),
        ("past-2001", "2001-01-01T00:00:00", False),
        ("garbage-date", "вчера", False),
        ("year-1", "0001-01-01T00:00:00", False),
    ]:
        files = {"import.xml": document(goods_body(), when=when).encode()}
        out.append(
            Case(
                f"time-{label}",
                cls,
                _write_dir(files),
                "loaded",
                expect={"goods": 3},
                untrusted_time=untrusted,
            )
        )
    return out


def corpus() -> list[Case]:
    cases: list[Case] = []
    for name, body in (("import.xml", goods_body()), ("offers.xml", offers_body())):
        data = GOOD_FILES[name]
        cases += _truncations(name, data)
        cases += _prefixed(name, data)
        cases += _encodings(name, body)
        cases += _doctypes(name, body)
        cases += _malformed(name, body)
        cases += _not_xml(name)
    cases += _reported() + _zips() + _names() + _data() + _times()
    cases.append(
        Case(
            "good-upload",
            "good uploads",
            _write_dir(GOOD_FILES),
            "loaded",
            expect={"goods": 3, "offers": 3, "prices": 3},
        )
    )
    cases.append(
        Case(
            "good-whitespace-before-root",
            "good uploads",
            _write_dir({"import.xml": b"\n  " + document(goods_body(), decl=False).encode()}),
            "loaded",
            expect={"goods": 3},
        )
    )
    return cases


CASES = corpus()
BY_ID = {case.id: case for case in CASES}
assert len(BY_ID) == len(CASES), "case ids must be unique"
