"""Certificate verification codes (CONTRACT section 3, `grader verify`).

A certificate states facts the ledger can recompute: the course, the student's
login, how many counted assignments were complete, whether the final project
was presented, and the day those facts were established (the award day). The
code lets anyone recompute them, with no secret: there is none to keep in a
public course repository.

    GRDR-CCDD-DHHH-HHHH-HHHK

Sixteen Crockford base32 characters after the fixed `GRDR` prefix (dashes and
case do not matter; O reads as 0, I and L as 1):

- `C` x2, 10 bits: a tag of the course name, so that a code of another course
  is told apart from a code that matches no one;
- `D` x3, 15 bits: the award day, in days since 2020-01-01 (UTC), until 2109;
- `H` x10, 50 bits: sha256 over the stated facts, truncated;
- `K`: a check character (Damm's algorithm over GF(32)) that catches every
  single-character substitution and every swap of two adjacent characters.

Two ways a code fails, two exit codes. A code that fails the prefix, length,
alphabet or check character is **malformed** (exit 2): someone mistyped it,
and the message says to check what was typed. Any single-character alteration
lands here. A well-formed code whose facts no longer match the ledger, or
whose student is no longer eligible, **does not hold** (exit 1).

The login is not in the code: `grader verify` scans the ledger's students for
the one whose facts give this digest. The ledger is small, and the code then
tells nothing to whoever reads it off a certificate. What the code proves is
"the ledger says this login earned the certificate with these facts"; anyone
who knows the facts can compute it, so the verifier must compare the login
that `grader verify` prints with the name on the certificate.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from math import ceil

from grader.core.model import Certificate, CertificateRule

__all__ = [
    "PREFIX",
    "CertificateFacts",
    "IssuedCertificate",
    "MalformedCodeError",
    "NotEligibleError",
    "ParsedCode",
    "code_for",
    "course_tag",
    "ineligibility",
    "issue",
    "matches",
    "parse_code",
]

PREFIX = "GRDR"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
_ALIASES = {"O": "0", "I": "1", "L": "1"}
EPOCH = date(2020, 1, 1)
TAG_BITS, DAY_BITS, DIGEST_BITS = 10, 15, 50
PAYLOAD_CHARS = (TAG_BITS + DAY_BITS + DIGEST_BITS) // 5  # 15, then the check character
CODE_CHARS = PAYLOAD_CHARS + 1
LAST_DAY = EPOCH + timedelta(days=2**DAY_BITS - 1)
_GF32_POLY = 0b100101  # x^5 + x^2 + 1, irreducible over GF(2)


class MalformedCodeError(ValueError):
    """The text is not a verification code: a typo, most likely (exit 2)."""


class NotEligibleError(ValueError):
    """A certificate was asked for a student who has not earned it."""

    def __init__(self, login: str, reasons: tuple[str, ...]) -> None:
        self.login = login
        self.reasons = reasons
        super().__init__(f"{login} is not eligible for the certificate: " + "; ".join(reasons))


@dataclass(frozen=True)
class CertificateFacts:
    """What a certificate states, all of it recomputable from the ledger."""

    course: str
    login: str  # lower case, as the ledger keys students
    complete: int
    counted: int
    project: bool
    awarded: date  # UTC day the facts were established


@dataclass(frozen=True)
class IssuedCertificate:
    facts: CertificateFacts
    code: str


@dataclass(frozen=True)
class ParsedCode:
    tag: int
    awarded: date
    digest: int
    text: str  # the canonical spelling, GRDR-XXXX-XXXX-XXXX-XXXX


# --- eligibility --------------------------------------------------------------


def ineligibility(
    cert: Certificate,
    rule: CertificateRule,
    *,
    enrolled: bool = True,
    disqualified: bool = False,
    require_enrollment: bool = False,
) -> tuple[str, ...]:
    """Why the student may not have the certificate; empty when they may.

    `cert` comes from `policy.certificate` (the exercise and project rules);
    enrollment and disqualification are ledger facts decided elsewhere and
    passed in, so this composes with however they are recorded.
    """
    reasons: list[str] = []
    needed = _needed(cert.counted, rule.min_complete_fraction)
    if cert.complete < needed:
        reasons.append(f"{cert.complete} of {cert.counted} assignments complete, {needed} needed")
    if rule.require_final_project and not cert.project:
        reasons.append("no final project presentation recorded")
    if require_enrollment and not enrolled:
        reasons.append("not enrolled in the course")
    if disqualified:
        reasons.append("disqualified")
    if not reasons and not cert.eligible:
        reasons.append("the certificate rule is not met")
    return tuple(reasons)


def _needed(counted: int, fraction: Fraction | float) -> int:
    exact = Fraction(repr(fraction)) if isinstance(fraction, float) else fraction
    return ceil(exact * counted)


def issue(facts: CertificateFacts, reasons: tuple[str, ...]) -> IssuedCertificate:
    """The certificate with its code; refuses when `reasons` (from `ineligibility`) is not empty."""
    if reasons:
        raise NotEligibleError(facts.login, reasons)
    return IssuedCertificate(facts, code_for(facts))


# --- the code -----------------------------------------------------------------


def code_for(facts: CertificateFacts) -> str:
    """The verification code of these facts, GRDR-XXXX-XXXX-XXXX-XXXX."""
    if not EPOCH <= facts.awarded <= LAST_DAY:
        raise ValueError(f"award day {facts.awarded} is outside {EPOCH}..{LAST_DAY}")
    day = (facts.awarded - EPOCH).days
    value = (course_tag(facts.course) << (DAY_BITS + DIGEST_BITS)) | (day << DIGEST_BITS)
    digits = _to_digits(value | _digest(facts), PAYLOAD_CHARS)
    return _spell([*digits, _check_digit(digits)])


def parse_code(text: str) -> ParsedCode:
    """Read a typed code; `MalformedCodeError` says what is wrong with it."""
    digits = _digits_of(_strip_prefix(_normalise(text)))
    if _damm(digits) != 0:
        raise MalformedCodeError(
            "the code's check character does not match: a character was mistyped; "
            "compare it with the certificate character by character"
        )
    value = _from_digits(digits[:PAYLOAD_CHARS])
    digest = value & ((1 << DIGEST_BITS) - 1)
    day = (value >> DIGEST_BITS) & ((1 << DAY_BITS) - 1)
    tag = value >> (DAY_BITS + DIGEST_BITS)
    return ParsedCode(tag, EPOCH + timedelta(days=day), digest, _spell(digits))


def matches(parsed: ParsedCode, facts: CertificateFacts) -> bool:
    """Whether the code states exactly these facts."""
    return (
        parsed.tag == course_tag(facts.course)
        and parsed.awarded == facts.awarded
        and parsed.digest == _digest(facts)
    )


def course_tag(course: str) -> int:
    return _hash_bits(["grader-course-v1", course], TAG_BITS)


def _digest(facts: CertificateFacts) -> int:
    fields: list[object] = [
        "grader-certificate-v1",
        facts.course,
        facts.login.lower(),
        facts.complete,
        facts.counted,
        facts.project,
        facts.awarded.isoformat(),
    ]
    return _hash_bits(fields, DIGEST_BITS)


def _hash_bits(fields: list[object], bits: int) -> int:
    """The first `bits` bits of sha256 over a canonical JSON of `fields`."""
    canonical = json.dumps(fields, ensure_ascii=True, separators=(",", ":"))
    whole = int.from_bytes(hashlib.sha256(canonical.encode("ascii")).digest(), "big")
    return whole >> (256 - bits)


# --- spelling ---------------------------------------------------------------------


def _normalise(text: str) -> str:
    kept = "".join(ch for ch in text.upper() if ch not in "- \t\r\n")
    return "".join(_ALIASES.get(ch, ch) for ch in kept)


def _strip_prefix(text: str) -> str:
    if len(text) == CODE_CHARS:
        return text  # typed without the prefix
    if len(text) != len(PREFIX) + CODE_CHARS:
        raise MalformedCodeError(
            f"a verification code has {CODE_CHARS} characters after {PREFIX} "
            f"(GRDR-XXXX-XXXX-XXXX-XXXX); this one has {len(text) - len(PREFIX)}: "
            "check for a missing or extra character"
        )
    if not text.startswith(PREFIX):
        raise MalformedCodeError(
            f"a verification code starts with {PREFIX}-; this one starts with {text[:4]}: "
            "check what you typed"
        )
    return text[len(PREFIX) :]


def _digits_of(text: str) -> list[int]:
    bad = sorted({ch for ch in text if ch not in ALPHABET})
    if bad:
        raise MalformedCodeError(
            f"the code contains {', '.join(repr(ch) for ch in bad)}, which no code uses "
            "(codes use digits and letters except I, L, O, U); check what you typed"
        )
    return [ALPHABET.index(ch) for ch in text]


def _spell(digits: list[int]) -> str:
    text = "".join(ALPHABET[d] for d in digits)
    groups = [text[i : i + 4] for i in range(0, len(text), 4)]
    return "-".join([PREFIX, *groups])


def _to_digits(value: int, count: int) -> list[int]:
    return [(value >> (5 * (count - 1 - i))) & 31 for i in range(count)]


def _from_digits(digits: list[int]) -> int:
    value = 0
    for digit in digits:
        value = (value << 5) | digit
    return value


# --- Damm's check over GF(32): x o y = 2x + y is totally anti-symmetric ----------


def _times_two(x: int) -> int:
    """x times the field's generator in GF(2^5); a bijection, so no error is absorbed."""
    doubled = x << 1
    return doubled ^ _GF32_POLY if doubled & 32 else doubled


def _damm(digits: list[int]) -> int:
    """0 for a valid string. A changed digit changes the final state (each step is a
    bijection); swapped neighbours a, b leave states differing by (x+1)(a XOR b) in
    GF(32), nonzero when a != b."""
    state = 0
    for digit in digits:
        state = _times_two(state) ^ digit
    return state


def _check_digit(digits: list[int]) -> int:
    return _times_two(_damm(digits))
