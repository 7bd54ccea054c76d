"""A night's inbox of hostile and broken files: every one gets a fate and a reason, and the run goes on."""

from __future__ import annotations

import hashlib
import random
from datetime import datetime

import hostile
import mailfuzz
import partfuzz
import pytest
from promoter import Fill, drop, returned

from dxsheets.collect import collect
from dxsheets.intake import examine
from dxsheets.ledger import Ledger
from dxsheets.mail import is_mail
from dxsheets.status import status_report
from dxsheets.text import shown
from dxsheets.workspace import Workspace
from dxsheets.xlsxread import WorkbookReadError, read_workbook

EXPECTED = {
    "appledouble": ("ignored", []),
    "libreoffice_lock": ("ignored", []),
    "thumbs_db": ("ignored", []),
    "desktop_ini": ("ignored", []),
    "excel_owner_file": ("ignored", []),
    "excel_temp": ("ignored", []),
    "ods": ("unsupported", ["file-ods"]),
    "ods_named_xlsx": ("unsupported|duplicate", ["file-ods"]),
    "xls_renamed_xlsx": ("unsupported", ["file-legacy-xls"]),
    "outlook_msg": ("unsupported", ["mail-no-workbook"]),
    "xlsb": ("unsupported", ["file-xlsb"]),
    "msg_named_eml": ("unsupported|duplicate", ["mail-no-workbook"]),
    "msg_named_xlsx": ("unsupported", ["file-outlook-msg"]),
    "ole_many_parts": ("rejected", ["file-not-workbook"]),
    "msg_many_attachments": ("rejected", ["mail-too-many-parts"]),
    # Each nested mail within the limit, all of them together far beyond it.
    "msg_many_signed_bodies": ("rejected", ["mail-too-many-parts"]),
    "eml_many_attached_mails": ("rejected", ["mail-too-many-parts"]),
    "eml_long_file_name": ("rejected", ["mail-header-too-large"]),
    "eml_many_lines": ("rejected", ["file-too-large"]),
    "eml_many_parameters": ("rejected", ["mail-header-too-large"]),
    "xlsx_named_eml": ("accepted|superseded|duplicate", []),
    "zip_archive": ("unsupported", ["file-zip-archive"]),
    "zip_archive_password": ("unsupported", ["file-zip-archive"]),
    "zip_bomb": ("rejected", ["file-zip-bomb"]),
    "zip_many_entries": ("rejected", ["file-zip-bomb"]),
    "shared_string_bomb": ("rejected", ["file-zip-bomb"]),
    "lying_sizes": ("rejected", ["file-truncated"]),
    # A part placed, by its ZIP64 offset, past where any file can seek: a broken zip, not a crash.
    "far_offset": ("rejected", ["file-truncated"]),
    "dimension_bomb": ("rejected", ["file-sheet-too-large"]),
    "far_cell": ("rejected", ["file-sheet-too-large"]),
    "stretched_name": ("rejected|superseded", ["name-shape"]),  # a return of 0101, like "valid"
    # 400 sheets carrying the input names as their own: the original is read, eight copies looked at.
    "many_copies": ("accepted|superseded|duplicate", ["sheet-copy-ignored"] * 8),
    # 2,000,000 formatted empty cells under the form: refused from the count of its markup, unparsed.
    "formatted_flood": ("rejected|superseded", ["file-sheet-too-large"]),
    # Twelve added sheets of 150,000 empty cells: eight looked at, each said too large to look through.
    "added_sheets": ("accepted|superseded|duplicate", ["typed-outside-input"] * 8),
    # 200 sheets sharing one part of 90,000 empty cells, each named: refused past the sheets' tag budget.
    "shared_sheet_part": ("rejected|superseded", ["file-sheet-too-large"]),
    # A sheet declared UTF-7, hiding its markup from every count on the bytes: refused for its encoding.
    "utf7_sheet": ("rejected|superseded", ["file-xml-malformed"]),
    # 400,000 defined names: refused from their count, before the workbook part is parsed.
    "junk_names": ("rejected|superseded", ["file-too-large"]),
    # A workbook part of 1,000,000 unknown elements: refused from its count of tags, unparsed.
    "junk_workbook_part": ("rejected|superseded", ["file-too-large"]),
    "billion_laughs": ("rejected", ["file-doctype"]),
    "external_entity": ("rejected", ["file-doctype"]),
    "csv_named_xlsx": ("rejected", ["file-not-workbook"]),
    "html_named_xlsx": ("rejected", ["file-not-workbook"]),
    "random_bytes": ("rejected", ["file-not-workbook"]),
    "zero_bytes": ("rejected", ["file-empty"]),
    "truncated": ("rejected", ["file-truncated"]),
    "encrypted": ("rejected", ["file-encrypted"]),
    "irm_protected": ("rejected", ["file-irm"]),
    "half_written": ("pending", []),
    "eml_no_attachment": ("unsupported", ["mail-no-workbook"]),
    # Documents sent instead of the workbook: said what they are, and that only the workbook is read.
    "pdf_instead": ("unsupported", ["file-unsupported-type"]),
    "screenshot_instead": ("unsupported", ["file-unsupported-type"]),
    "docx_instead": ("unsupported", ["file-unsupported-type"]),
    "doc_named_xlsx": ("unsupported", ["file-unsupported-type"]),
    "eml_pdf_only": ("unsupported", ["mail-no-workbook"]),
    # The same good answer arrives as a file, a mail attachment, a Strict Open XML save and a macro
    # workbook: one is the department's answer, the others superseded or duplicates, none lost.
    "valid": ("accepted|superseded|duplicate", []),
    "strict_ooxml": ("accepted|superseded", []),
    "macro_xlsm": ("accepted|superseded", []),
}


@pytest.mark.slow
def test_hostile_inbox_is_fully_accounted_for(generated: Workspace) -> None:
    m = generated.masters()
    source = returned(generated.distribute, m.department("0101"))
    # with_bombs: a real 3 GiB zip bomb and a 1 GiB shared string, a few MB on disk.
    corpus = hostile.build_corpus(generated.inbox / "hostile", source=source, with_bombs=True)
    for key, path in corpus.items():
        if key != "half_written":
            hostile.age(path, 3600)
    hostile.age(corpus["text_flood"], 7200)  # 0101's too: sent before its good return, which counts
    before = {
        p: hashlib.sha256(p.read_bytes()).hexdigest() for p in generated.inbox.rglob("*") if p.is_file()
    }

    result = collect(generated)

    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in generated.inbox.rglob("*") if p.is_file()}
    assert after == before, "inbox/ is read-only to dxsheets"
    with Ledger(generated.ledger_path) as ledger:
        report = status_report(ledger, m)
    by_path = {f["path"]: f for f in report["files"]}
    inbox = generated.inbox
    for key, (statuses, problem_codes) in EXPECTED.items():
        rel = corpus[key].relative_to(inbox).as_posix()
        entry = by_path[rel]
        assert entry["status"] in statuses.split("|"), (key, entry)
        assert [p["code"] for p in entry["problems"]] == problem_codes, (key, entry)
        assert entry["reason"], key  # every fate has a reason a person can read
    # A zip is named with what it holds, as its sender wrote the names, and a password is said.
    assert by_path["hostile/回答.zip"]["reason"].startswith("ZIP 圧縮ファイルです（中身: 0401_市民課.xlsx）")
    assert by_path["hostile/回答_パスワード付き.zip"]["reason"].startswith(
        "パスワード付きの ZIP 圧縮ファイルです（中身: 0401_市民課.xlsx、説明.txt）"
    )
    zipped = by_path["hostile/回答_zip添付.eml/回答.zip"]  # a PPAP mail: the zip is recorded, not skipped
    assert zipped["status"] == "unsupported" and zipped["reason"].startswith("パスワード付きの ZIP")
    # A rich-text mail from Outlook: the return is inside winmail.dat, recorded with what to do.
    winmail = by_path["hostile/回答_リッチテキスト.eml/winmail.dat"]
    assert winmail["status"] == "unsupported" and [p["code"] for p in winmail["problems"]] == [
        "mail-winmail-dat"
    ]
    assert by_path["hostile/回答.pdf"]["reason"].startswith("PDF ファイルです。Excel ブックではないため")
    assert by_path["hostile/回答_画面.png"]["reason"].startswith(
        "画像ファイル（写真・画面のコピーなど）です。"
    )
    assert by_path["hostile/回答.docx"]["reason"].startswith("Word の文書です。")
    assert by_path["hostile/回答_word.xlsx"]["reason"].startswith("Word の文書です。")
    # A mail that carries only a PDF says so, naming it.
    assert "（添付: 回答.pdf）" in by_path["hostile/回答_PDF添付.eml"]["reason"]
    # A sheet used far beyond a form's size says where, so the cell can be found and cleared: the cell
    # when it is read, else the row its used range claims.
    far = by_path["hostile/回答_遠いセル.xlsx"]["problems"][0]
    assert (far["sheet"], far["cell"]) == ("課題抽出シート", "XFD1048576")
    assert "課題抽出シート!XFD1048576まで入力や書式がある" in far["message"]
    claimed = by_path["hostile/回答_dimension.xlsx"]["problems"][0]
    assert (claimed["sheet"], claimed["cell"]) == ("課題抽出シート", "")
    assert "課題抽出シートの 1,048,576 行目まで入力や書式がある" in claimed["message"]
    # A thousand rows of 32,000-character cells from 23 KB: each told, 2,000 characters of each kept.
    flood = by_path["hostile/回答_長文だらけ.xlsx"]
    assert flood["status"] == "superseded" and len(flood["problems"]) > 4000
    assert {p["code"] for p in flood["problems"]} == {"text-too-long", "wg-invalid"}
    # Mail attachments are accounted for under the mail's path.
    assert by_path["hostile/回答.eml/回答_総務課.xlsx"]["status"] in ("accepted", "superseded", "duplicate")
    assert by_path["hostile/回答_ロック.eml/~$回答.xlsx"]["status"] == "ignored"
    # An Outlook mail whose sector chain loops: its attachment is read as far as its size says, garbled.
    assert by_path["hostile/回答_壊れ.msg/0401_市民課.xlsx"]["status"] == "rejected"
    # Every file on disk has a row; exactly one return of 0101 is the answer.
    on_disk = {p.relative_to(inbox).as_posix() for p in before if not is_mail(p.name)}
    assert on_disk <= set(by_path)
    assert sum(f["status"] == "accepted" for f in report["files"]) == 1
    assert result.departments["0101"] == "answered"
    # Every rejected file carries a Japanese message saying what to do.
    for f in report["files"]:
        if f["status"] in ("rejected", "unsupported"):
            assert f["problems"] and all("ください" in p["message"] for p in f["problems"]), f


def test_returns_damaged_part_by_part_are_each_answered_never_a_crash(generated: Workspace) -> None:
    """The mutations that found the reader's faults by fuzzing (`tests/partfuzz.py`), on a fixed draw:
    every damaged return is examined to a fate with problems a person can read, never an exception (which
    a collect records only as "reading crashed"). `python scripts/fuzz_examine.py` draws many more."""
    m = generated.masters()
    full = Fill(q3=[("住民票の写し等の交付", "本人確認の方法がない")])  # (and the default Q2 rows)
    sources = [returned(generated.distribute, m.department("0101"), full)]
    sources.append(returned(generated.distribute, m.department("0402")))
    rng = random.Random(2026)
    fates: set[str] = set()
    for _ in range(400):
        e = examine(partfuzz.mutate(rng.choice(sources), rng), m, generated.secret())
        e.to_json()
        fates.add(e.fate)
        for problem in e.problems:
            # (`shown` escapes control and format characters and line breaks: none should be there)
            assert shown(problem.message) == problem.message and len(problem.message) < 1_200, problem
    assert fates == {"ok", "rejected"}  # the draw both damages what is read and leaves some files whole


def test_returns_whose_zip_is_damaged_are_each_answered_never_a_crash(generated: Workspace) -> None:
    """The zip itself damaged (`partfuzz.mutate_zip`: a header field patched, a part renamed, dropped or
    doubled), on a fixed draw: the package guards answer each file with a fate, never an exception, and
    each refusal says what is wrong: none reaches the reader's last-resort handler ("unexpected ...")."""
    m = generated.masters()
    sources = [returned(generated.distribute, m.department(code)) for code in ("0101", "0402")]
    rng = random.Random(2028)
    fates: set[str] = set()
    refused: set[str] = set()
    for _ in range(300):
        data = partfuzz.mutate_zip(rng.choice(sources), rng)
        try:
            read_workbook(data)
        except WorkbookReadError as exc:
            assert not exc.detail.startswith("unexpected"), exc.detail
        e = examine(data, m, generated.secret())
        e.to_json()
        fates.add(e.fate)
        for problem in e.problems:
            assert shown(problem.message) == problem.message and len(problem.message) < 1_200, problem
            if e.fate == "rejected":
                refused.add(problem.code)
    # Some damage (a doubled docProps part) leaves the return readable; a part renamed "mimetype" or
    # "xl/workbook.bin" makes it look like another format, which is said.
    assert {"ok", "rejected"} <= fates <= {"ok", "rejected", "unsupported"}
    # Told apart, not lumped together as one broken file:
    assert {"file-truncated", "file-not-workbook", "file-missing-part"} <= refused, refused


def test_mails_damaged_at_random_are_each_answered_and_the_night_goes_on(generated: Workspace) -> None:
    """The mutations of `tests/mailfuzz.py` (header values Python's
    parser chokes on, boundaries, base64, nesting, a `.msg`'s slices and bytes), on a fixed draw, must each
    end as fates of that mail alone, with reasons a person can read, and the good return beside them is
    taken in."""
    m = generated.masters()
    book = returned(generated.distribute, m.department("0101"))
    when = datetime(2026, 11, 20, 9, 0, tzinfo=hostile.JST)
    seeds = mailfuzz.seed_mails(generated.root / "seeds", book, when)
    sources = [(p.suffix, p.read_bytes()) for p in seeds]
    rng = random.Random(2027)
    for i in range(120):
        suffix, raw = rng.choice(sources)
        drop(generated.inbox, f"damaged/{i:03d}{suffix}", mailfuzz.mutate(raw, rng))
    good = drop(generated.inbox, "0402.xlsx", returned(generated.distribute, m.department("0402")))
    before = {p: p.read_bytes() for p in generated.inbox.rglob("*") if p.is_file()}

    result = collect(generated)

    assert {p: p.read_bytes() for p in generated.inbox.rglob("*") if p.is_file()} == before
    with Ledger(generated.ledger_path) as ledger:
        report = status_report(ledger, m)
    rows = report["files"]
    statuses = set()
    for i in range(120):
        mail = next(p for p in before if p.stem == f"{i:03d}").relative_to(generated.inbox).as_posix()
        own = [f for f in rows if f["path"] == mail or f["path"].startswith(mail + "/")]
        assert own, mail  # nothing lost: the mail, or each workbook it carried, has a row
        for f in own:
            statuses.add(f["status"])
            assert f["reason"], f
            for problem in f["problems"]:
                assert shown(problem["message"]) == problem["message"] and len(problem["message"]) < 1_200
    assert result.departments["0402"] == "answered"  # the night went on
    assert good.exists()
    # The draw both damages mails past reading and leaves some returns whole.
    assert {"rejected", "accepted"} <= statuses
