"""Certificates as documents: the verification code, issuing, verifying, the PDF."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from pypdf import PdfReader

from grader.adapters import pdf
from grader.app.certificates import (
    Standing,
    issue_certificates,
    issue_for,
    verify_code,
)
from grader.core import certcode
from grader.core.certcode import (
    ALPHABET,
    CertificateFacts,
    MalformedCodeError,
    NotEligibleError,
)
from grader.core.history import StudentHistory
from grader.core.model import (
    Assignment,
    Certificate,
    CertificateRule,
    CourseConfig,
    Evaluation,
    Override,
    ProjectPresented,
    Submission,
)

T0 = datetime(2020, 8, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)
IDS = [f"section-{i:02d}" for i in range(1, 6)]  # five counted assignments: 4 needed at 80%
COURSE = CourseConfig(
    name="Dive into Deep Learning Study Group",
    assignments={
        aid: Assignment(id=aid, title=aid, deadline=T0 + (i + 1) * 7 * DAY)
        for i, aid in enumerate(IDS)
    },
)
CODE_SHAPE = re.compile(r"GRDR(-[0-9A-HJKMNP-TV-Z]{4}){4}")
FONTS = pdf.find_fonts()
needs_unicode_font = pytest.mark.skipif(
    FONTS is None, reason="no DejaVu fonts on this machine (apt-get install fonts-dejavu-core)"
)


def completed(
    *assignment_ids: str, at: datetime = T0, project_at: datetime | None = T0
) -> StudentHistory:
    """A history with each named assignment complete on time, one a day from `at`."""
    history = StudentHistory()
    for i, aid in enumerate(assignment_ids):
        evaluation = Evaluation(assignment=aid, status="complete")
        history.assignments[aid] = [Submission(at + i * DAY, f"sha-{aid}", i + 1, evaluation)]
    if project_at is not None:
        history.project.append(ProjectPresented(at=project_at, by="tina"))
    return history


def alice() -> StudentHistory:
    """Four of five complete by 2020-08-04, project presented on 2020-08-10."""
    return completed(*IDS[:4], project_at=T0 + 9 * DAY)


def facts(**changes: object) -> CertificateFacts:
    base = CertificateFacts(COURSE.name, "alice", 4, 5, True, date(2020, 8, 10))
    return replace(base, **changes)  # type: ignore[arg-type]


def altered(code: str, position: int, symbol: str) -> str:
    return code[:position] + symbol + code[position + 1 :]


# --- the code -------------------------------------------------------------------


def test_code_is_grdr_and_four_groups_and_reads_back() -> None:
    code = certcode.code_for(facts())
    assert CODE_SHAPE.fullmatch(code), code
    parsed = certcode.parse_code(code)
    assert parsed.awarded == date(2020, 8, 10)
    assert parsed.text == code
    assert certcode.matches(parsed, facts())


def test_code_is_forgiving_about_case_dashes_and_lookalikes() -> None:
    code = certcode.code_for(facts())
    bare = code.replace("-", "").lower()
    looks = bare.replace("0", "o").replace("1", "l")
    for typed in (bare, f"  {looks} ", bare[4:], code.replace("-", " - ")):
        assert certcode.parse_code(typed).text == code


def test_every_single_character_alteration_is_malformed() -> None:
    code = certcode.code_for(facts())
    positions = [i for i, ch in enumerate(code) if ch != "-"]
    tried = 0
    for position in positions:
        for symbol in ALPHABET + "U*":
            if symbol == code[position]:
                continue
            with pytest.raises(MalformedCodeError):
                certcode.parse_code(altered(code, position, symbol))
            tried += 1
    assert tried == 20 * 33  # 4 prefix + 16 code characters, 33 other symbols each


def test_swapped_neighbours_are_malformed() -> None:
    bare = certcode.code_for(facts()).replace("-", "")[4:]
    for i in range(len(bare) - 1):
        if bare[i] == bare[i + 1]:
            continue
        swapped = bare[:i] + bare[i + 1] + bare[i] + bare[i + 2 :]
        with pytest.raises(MalformedCodeError, match="check character"):
            certcode.parse_code(swapped)


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("GRDR-1234", "16 characters"),
        ("", "16 characters"),
        ("XRDR-0000-0000-0000-0000", "starts with GRDR"),
        ("GRDR-UUUU-0000-0000-0000", "'U'"),
        ("GRDR-0000-0000-0000-000!", "'!'"),
    ],
)
def test_malformed_codes_say_what_is_wrong(typed: str, problem: str) -> None:
    with pytest.raises(MalformedCodeError, match=re.escape(problem)):
        certcode.parse_code(typed)


@pytest.mark.parametrize(
    "change",
    [
        {"course": "Another course"},
        {"login": "alicia"},
        {"complete": 5},
        {"counted": 6},
        {"project": False},
        {"awarded": date(2020, 8, 11)},
    ],
)
def test_each_stated_fact_is_in_the_code(change: dict[str, object]) -> None:
    parsed = certcode.parse_code(certcode.code_for(facts()))
    assert not certcode.matches(parsed, facts(**change))
    assert certcode.code_for(facts(**change)) != parsed.text


def test_login_case_does_not_change_the_code() -> None:
    assert certcode.code_for(facts(login="Alice")) == certcode.code_for(facts())


def test_award_day_outside_the_code_range_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        certcode.code_for(facts(awarded=date(2019, 12, 31)))


# --- eligibility ------------------------------------------------------------------


def cert(complete: int, counted: int = 5, project: bool = True) -> Certificate:
    eligible = Fraction(complete, counted) >= Fraction(4, 5) and project
    return Certificate("alice", complete, counted, project, eligible)


def test_eligibility_reasons_name_each_missing_condition() -> None:
    rule = CertificateRule()
    assert certcode.ineligibility(cert(4), rule) == ()
    assert certcode.ineligibility(cert(3), rule) == ("3 of 5 assignments complete, 4 needed",)
    assert certcode.ineligibility(cert(4, project=False), rule) == (
        "no final project presentation recorded",
    )
    assert certcode.ineligibility(cert(4), rule, disqualified=True) == ("disqualified",)
    assert certcode.ineligibility(cert(4), rule, enrolled=False) == ()
    assert certcode.ineligibility(cert(4), rule, enrolled=False, require_enrollment=True) == (
        "not enrolled in the course",
    )


def test_threshold_is_exact() -> None:
    """17 counted at 0.8: 13.6, so 14 are needed; 13 are not enough."""
    rule = CertificateRule(min_complete_fraction=Fraction(4, 5))
    assert certcode.ineligibility(cert(14, 17), rule) == ()
    assert certcode.ineligibility(cert(13, 17), rule) == (
        "13 of 17 assignments complete, 14 needed",
    )


def test_no_certificate_without_eligibility() -> None:
    with pytest.raises(NotEligibleError) as refused:
        certcode.issue(facts(), ("disqualified",))
    assert refused.value.login == "alice"
    assert "disqualified" in str(refused.value)


# --- issuing and verifying from the ledger ------------------------------------------


def ledger() -> dict[str, StudentHistory]:
    return {
        "alice": alice(),
        "bob": completed(*IDS[:3]),  # 3 of 5
        "carol": completed(*IDS, project_at=None),  # no project
        "dave": completed(*IDS, at=T0 + DAY),
    }


def test_issue_certificates_only_for_the_eligible() -> None:
    batch = issue_certificates(COURSE, ledger())
    assert [c.facts.login for c in batch.issued] == ["alice", "dave"]
    refused = {r.login: r.reasons for r in batch.refused}
    assert refused == {
        "bob": ("3 of 5 assignments complete, 4 needed",),
        "carol": ("no final project presentation recorded",),
    }
    first = batch.issued[0].facts
    assert (first.complete, first.counted, first.project) == (4, 5, True)
    assert first.awarded == date(2020, 8, 10)  # the presentation completed the facts


def test_issuing_twice_gives_the_same_codes() -> None:
    first = issue_certificates(COURSE, ledger())
    assert issue_certificates(COURSE, ledger()) == first


def test_roster_students_with_nothing_in_the_ledger_are_refused() -> None:
    course = replace(COURSE, roster=("erin",))
    refused = {r.login: r.reasons for r in issue_certificates(course, ledger()).refused}
    assert refused["erin"] == (
        "0 of 5 assignments complete, 4 needed",
        "no final project presentation recorded",
    )


def test_vacuous_eligibility_without_any_event_is_refused() -> None:
    course = replace(COURSE, certificate=CertificateRule(Fraction(0), require_final_project=False))
    with pytest.raises(NotEligibleError, match="nothing in the ledger"):
        issue_for("erin", course, StudentHistory())


def test_issue_for_an_ineligible_student_raises() -> None:
    with pytest.raises(NotEligibleError, match="3 of 5"):
        issue_for("bob", COURSE, ledger()["bob"])
    with pytest.raises(NotEligibleError, match="disqualified"):
        issue_for("alice", COURSE, alice(), Standing(disqualified=True))


def test_verify_accepts_a_fresh_certificate() -> None:
    code = issue_for("alice", COURSE, alice()).code
    result = verify_code(code, COURSE, ledger())
    assert (result.status, result.exit_code) == ("holds", 0)
    assert result.facts == facts()
    assert "@alice" in result.message
    assert "4 of 5" in result.message


def test_verify_finds_each_student_by_scanning_the_ledger() -> None:
    for issued in issue_certificates(COURSE, ledger()).issued:
        assert verify_code(issued.code, COURSE, ledger()).facts == issued.facts


def test_verify_calls_every_single_character_alteration_malformed() -> None:
    code = issue_for("alice", COURSE, alice()).code
    for position, original in enumerate(code):
        if original == "-":
            continue
        for symbol in ALPHABET:
            if symbol == original:
                continue
            result = verify_code(altered(code, position, symbol), COURSE, ledger())
            assert (result.status, result.exit_code) == ("malformed", 2), (position, symbol)
            assert "check" in result.message


def test_verify_rejects_a_well_formed_code_nobody_earned() -> None:
    forged = certcode.code_for(facts(login="mallory"))
    result = verify_code(forged, COURSE, ledger())
    assert (result.status, result.exit_code) == ("does-not-hold", 1)
    assert "no student's records on 2020-08-10" in result.message


def test_verify_rejects_a_computed_code_for_facts_that_never_earned_it() -> None:
    """Alice is eligible today, but a code stating her 3 of 5 on 2020-08-03 was never issued."""
    early = certcode.code_for(facts(complete=3, project=False, awarded=date(2020, 8, 3)))
    result = verify_code(early, COURSE, ledger())
    assert (result.status, result.exit_code) == ("does-not-hold", 1)
    assert "never earned the certificate: 3 of 5 assignments complete, 4 needed" in result.message


def test_verify_rejects_a_code_of_another_course() -> None:
    code = issue_for("alice", COURSE, alice()).code
    other = replace(COURSE, name="Another course")
    result = verify_code(code, other, {"alice": alice()})
    assert (result.status, result.exit_code) == ("does-not-hold", 1)
    assert "was not issued by the course 'Another course'" in result.message


def test_override_below_the_threshold_unmakes_the_certificate() -> None:
    code = issue_for("alice", COURSE, alice()).code
    later = alice()
    override = Override(at=T0 + 30 * DAY, status="incomplete", by="tina", note="copied")
    later.assignments[IDS[0]].append(override)
    result = verify_code(code, COURSE, {"alice": later})
    assert (result.status, result.exit_code) == ("does-not-hold", 1)
    assert result.message.endswith("no longer eligible: 3 of 5 assignments complete, 4 needed")
    assert result.facts == facts()  # what the certificate stated, still recomputed


def test_disqualification_unmakes_the_certificate() -> None:
    code = issue_for("alice", COURSE, alice()).code
    result = verify_code(code, COURSE, ledger(), standings={"alice": Standing(disqualified=True)})
    assert (result.status, result.exit_code) == ("does-not-hold", 1)
    assert "disqualified" in result.message


def test_enrollment_counts_only_when_required() -> None:
    code = issue_for("alice", COURSE, alice()).code
    standings = {"alice": Standing(enrolled=False)}
    assert verify_code(code, COURSE, ledger(), standings=standings).status == "holds"
    required = verify_code(code, COURSE, ledger(), standings=standings, require_enrollment=True)
    assert required.status == "does-not-hold"
    assert "not enrolled" in required.message
    refused = issue_certificates(COURSE, ledger(), standings=standings, require_enrollment=True)
    assert "alice" not in [c.facts.login for c in refused.issued]


def test_progress_after_the_award_keeps_the_certificate() -> None:
    """The stated facts are replayed as of the award day, not as of today."""
    code = issue_for("alice", COURSE, alice()).code
    later = alice()
    evaluation = Evaluation(assignment=IDS[4], status="complete")
    later.assignments[IDS[4]] = [Submission(T0 + 20 * DAY, "sha-late", 9, evaluation)]
    result = verify_code(code, COURSE, {"alice": later})
    assert result.status == "holds"
    assert "Today the ledger counts 5 of 5" in result.message
    reissued = issue_for("alice", COURSE, later)
    assert reissued.code != code
    assert reissued.facts.complete == 5
    assert verify_code(reissued.code, COURSE, {"alice": later}).status == "holds"


def test_award_day_skips_later_events_that_change_nothing() -> None:
    later = alice()
    evaluation = Evaluation(assignment=IDS[4], status="incomplete")
    later.assignments[IDS[4]] = [Submission(T0 + 40 * DAY, "sha-try", 9, evaluation)]
    assert issue_for("alice", COURSE, later) == issue_for("alice", COURSE, alice())


def test_records_changed_before_the_award_day_break_the_code() -> None:
    """Still eligible, but the facts as of the award day are no longer those stated."""
    code = issue_for("alice", COURSE, alice()).code
    rewritten = alice()
    evaluation = Evaluation(assignment=IDS[4], status="complete")
    rewritten.assignments[IDS[4]] = [Submission(T0 + 5 * DAY, "sha-backdated", 9, evaluation)]
    result = verify_code(code, COURSE, {"alice": rewritten})
    assert (result.status, result.exit_code) == ("does-not-hold", 1)
    assert "have changed since" in result.message


# --- the PDF ----------------------------------------------------------------------


def render(display_name: str | None, fonts: pdf.FontSet | None = FONTS) -> tuple[bytes, str]:
    issued = issue_for("alice", COURSE, alice())
    document = pdf.certificate_pdf(issued, display_name, fonts=fonts)
    reader = PdfReader(io.BytesIO(document))
    assert len(reader.pages) == 1
    return document, reader.pages[0].extract_text()


def name_lines(text: str) -> list[str]:
    """The lines between "This certifies that" and the login (or the achievement)."""
    after = text.split("This certifies that\n", 1)[1]
    block = re.split(r"\n(?:@alice|has completed)", after, maxsplit=1)[0]
    return block.split("\n")


BOTH_FONTS = pytest.mark.parametrize(
    "fonts",
    [pytest.param(FONTS, marks=needs_unicode_font, id="dejavu"), pytest.param(None, id="core")],
)


@BOTH_FONTS
def test_pdf_states_every_fact_and_the_code(fonts: pdf.FontSet | None) -> None:
    document, text = render("Alice Ng", fonts)
    assert document.startswith(b"%PDF-")
    code = issue_for("alice", COURSE, alice()).code
    for expected in (
        COURSE.name,
        "Certificate of Completion",
        "Alice Ng",
        "@alice",
        "has completed 4 of 5 assignments and presented the final project.",
        "Awarded on 10 August 2020",
        code,
        f'"grader verify {code}"',
    ):
        assert expected in text, expected


def test_pdf_without_a_display_name_shows_the_login_once() -> None:
    _, text = render(None)
    assert name_lines(text) == ["alice"]
    assert "@alice" not in text


def test_pdf_is_the_same_bytes_for_the_same_certificate() -> None:
    assert render("Alice Ng")[0] == render("Alice Ng")[0]


@needs_unicode_font
def test_pdf_survives_a_hostile_display_name() -> None:
    hostile = "Zoë\u202e gnp.exe\u202c \x00\x1b[31m 🚀🚀 \u200bOK\nnew line\t"
    _, text = render(hostile)
    assert name_lines(text) == ["Zoë gnp.exe [31m OK new line"]
    for bad in ("\u202e", "\x00", "\x1b", "\u200b", "🚀"):
        assert bad not in text


@needs_unicode_font
@pytest.mark.parametrize(
    "name",
    ["محمد عبد الله", "דוד כהן", "Ünïcödé Łukasz Ñoño", "Ελένη Παπαδοπούλου", "Анна Каренина"],
)
def test_pdf_prints_names_in_other_scripts(name: str) -> None:
    _, text = render(name)
    assert name_lines(text) == [name]


@needs_unicode_font
def test_pdf_prints_the_login_for_letters_the_font_lacks() -> None:
    _, text = render("李沐")
    assert name_lines(text) == ["alice"]


def test_core_fonts_transliterate_what_latin_1_lacks() -> None:
    _, text = render("Łukasz Zoë 🚀 Œuvre", fonts=None)
    assert name_lines(text) == ["Lukasz Zoë OEuvre"]
    _, text = render("محمد", fonts=None)
    assert name_lines(text) == ["alice"]


@BOTH_FONTS
@pytest.mark.parametrize("name", ["Wolfeschlegelsteinhausenbergerdorff " * 9, "W" * 255])
def test_pdf_fits_a_long_name_in_two_lines(fonts: pdf.FontSet | None, name: str) -> None:
    _, text = render(name, fonts)
    lines = name_lines(text)
    assert len(lines) <= 2
    assert lines[-1].endswith(("…", "..."))
    assert "has completed 4 of 5" in text  # nothing below was pushed off the page


def test_write_certificates_names_files_by_login(tmp_path: Path) -> None:
    batch = issue_certificates(COURSE, ledger())
    written = pdf.write_certificates(tmp_path / "certs", batch.issued, {"alice": "Alice Ng"})
    assert [p.name for p in written] == ["alice.pdf", "dave.pdf"]
    assert "Alice Ng" in PdfReader(written[0]).pages[0].extract_text()
    assert "dave" in PdfReader(written[1]).pages[0].extract_text()


def test_write_certificates_refuses_a_login_that_is_a_path(tmp_path: Path) -> None:
    issued = certcode.issue(facts(login="../escape"), ())
    with pytest.raises(ValueError, match="not a GitHub login"):
        pdf.write_certificates(tmp_path, [issued])
    assert list(tmp_path.iterdir()) == []


def test_printable_text_keeps_joiners_and_drops_controls() -> None:
    def everything(ch: str) -> bool:
        return True

    assert pdf.printable_text("a\u200db\u200cc\u2066d\u2069", everything) == "a\u200db\u200ccd"
    assert pdf.printable_text("  spaced \u2028 out  ", everything) == "spaced out"
    assert pdf.printable_text("é", lambda ch: ch == "e") == "e"
    assert pdf.printable_text("李 Li", lambda ch: ch.isascii()) == ""
    assert pdf.printable_text("李 Li", lambda ch: ch.isascii(), "?") == "? Li"
