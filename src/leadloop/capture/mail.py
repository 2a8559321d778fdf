"""Reading one e-mail: who wrote to whom, when, about what, and whether a person wrote it at all.

Pure: bytes in, a `Mail` (or a `Refused` with the reason) out. The mail-in server and the IMAP
sync both hand their messages here; what to log is decided in `mailin.py`. Hostile input is the
normal case for a public mail address: the size, the number of recipients, the header lengths and
the body kept are all bounded, and a message the parser cannot read is refused, never a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from enum import StrEnum

MAX_MESSAGE_BYTES = 10 * 1024 * 1024
MAX_RECIPIENTS = 100  # a mail bomb of 10,000 recipients is refused whole, not logged 10,000 times
MAX_BODY_CHARS = 4_000  # the trimmed body kept on the activity
MAX_SUBJECT_CHARS = 300
MAX_CALENDAR_BYTES = 256 * 1024

_ADDRESS = re.compile(r"^[^@\s<>]{1,64}@[^@\s<>]{1,253}\.[^@\s<>.]{2,63}$")


class Kind(StrEnum):
    PERSON = "person"  # written by a person: logged
    AUTO_REPLY = "auto_reply"  # out-of-office, vacation, autoresponder (RFC 3834): never a reply
    BOUNCE = "bounce"  # a delivery status notification (RFC 3464)
    BULK = "bulk"  # mailing-list or bulk traffic


@dataclass(frozen=True, slots=True)
class Bounce:
    recipient: str
    permanent: bool  # a 5.x.x status: the address does not work
    status: str = ""  # RFC 3463, e.g. "5.1.1"
    diagnostic: str = ""  # what the receiving server said (Diagnostic-Code), bounded


@dataclass(frozen=True, slots=True)
class Mail:
    kind: Kind
    why: str  # why it is that kind (a header), for the log
    message_id: str | None
    in_reply_to: tuple[str, ...]
    sender: tuple[str, str]  # (display name, address)
    to: tuple[tuple[str, str], ...]
    cc: tuple[tuple[str, str], ...]
    subject: str
    sent_at: datetime | None
    body: str  # trimmed: quoted history and signature cut, bounded
    calendars: tuple[bytes, ...] = ()  # text/calendar parts, bounded
    bounces: tuple[Bounce, ...] = ()
    forwarded_from: tuple[str, str] | None = None  # a forward: who wrote the original
    # A delivery report's returned message (its headers): the X-Leadloop-Key of each, bounded. A
    # report counts only for a message Leadloop sent to that address (a forged one names none).
    returned_keys: tuple[str, ...] = ()

    @property
    def recipients(self) -> tuple[tuple[str, str], ...]:
        return self.to + self.cc


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str


@dataclass(slots=True)
class _Parts:
    text: str | None = None
    html: str | None = None
    calendars: list[bytes] = field(default_factory=list)


def parse(
    raw: bytes,
    *,
    max_bytes: int = MAX_MESSAGE_BYTES,
    max_recipients: int = MAX_RECIPIENTS,
) -> Mail | Refused:
    """The facts of one RFC 5322 message, or why it is refused."""
    if len(raw) > max_bytes:
        return Refused(f"the message is {len(raw):,} bytes; at most {max_bytes:,} are accepted")
    if not raw.strip():
        return Refused("the message is empty")
    try:
        # compat32 keeps headers as strings: the structured parser of policy.default takes seconds
        # on a To: line of 10,000 addresses, so addresses are counted before any is parsed.
        msg = message_from_bytes(raw, policy=policy.compat32)
        listed = sum(str(v).count("@") for name in ("to", "cc") for v in msg.get_all(name, []))
        if listed > max_recipients:
            return Refused(
                f"the message has more than {max_recipients} recipients, at most {max_recipients} are accepted"
            )
        sender = _one_address(_header(msg, "from"))
        to = _addresses(msg, "to")
        cc = _addresses(msg, "cc")
    except Exception as exc:  # any parser failure on hostile input is a refusal
        return Refused(f"the message cannot be read: {type(exc).__name__}")
    if msg.defects and not sender[1] and not to:
        return Refused("the message has no readable header")
    if len(to) + len(cc) > max_recipients:
        return Refused(
            f"the message has more than {max_recipients} recipients, at most {max_recipients} are accepted"
        )
    if not sender[1]:
        return Refused("the message has no valid From address")
    kind, why = classify(msg)
    parts = _Parts()
    try:
        _walk(msg, parts)
    except Exception as exc:  # a broken MIME part: keep the headers, drop the body
        parts = _Parts(text=f"(the body could not be read: {type(exc).__name__})")
    body = parts.text if parts.text is not None else _html_to_text(parts.html or "")
    subject = _header(msg, "subject")[:MAX_SUBJECT_CHARS]
    return Mail(
        kind=kind,
        why=why,
        message_id=_message_id(_header(msg, "message-id")),
        in_reply_to=tuple(
            m
            for m in (
                _message_id(x)
                for x in (_header(msg, "in-reply-to") + " " + _header(msg, "references")).split()
            )
            if m
        )[:20],
        sender=sender,
        to=to,
        cc=cc,
        subject=subject,
        sent_at=_date(_header(msg, "date")),
        body=trim_body(_forwarded_part(body) if _FORWARD_SUBJECT.match(subject) else body),
        calendars=tuple(parts.calendars[:5]),
        bounces=tuple(_bounces(msg)) if kind is Kind.BOUNCE else (),
        returned_keys=_returned_keys(msg) if kind is Kind.BOUNCE else (),
        forwarded_from=forwarded_sender(body) if _FORWARD_SUBJECT.match(subject) else None,
    )


_FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|wg|tr|rv|enc)\s*:", re.IGNORECASE)
_FORWARD_FROM = re.compile(r"^\s*\*?(From|Von|De)\s?:\*?\s*(.{1,300})$", re.IGNORECASE | re.MULTILINE)


def forwarded_sender(body: str) -> tuple[str, str] | None:
    """In a forward (a rep sending a buyer's mail to the BCC address), the original writer: the
    first From: line of the forwarded header block, as Gmail, Outlook and Apple Mail write it."""
    for match in _FORWARD_FROM.finditer(body[:20_000]):
        found = _one_address(match.group(2).replace("[mailto:", "<").replace("]", ">"))
        if found[1]:
            return found
    return None


def _forwarded_part(body: str) -> str:
    """The forwarded message itself, without its header block (From/Sent/To/Subject lines)."""
    match = _FORWARD_FROM.search(body[:20_000])
    if match is None:
        return body
    rest = body[match.end() :].split("\n")
    header = re.compile(
        r"^\s*\*?(Sent|Date|To|Cc|Subject|Gesendet|Datum|An|Betreff|Envoyé|À|Objet)\s?:", re.I
    )
    while rest and (header.match(rest[0]) or not rest[0].strip()):
        rest.pop(0)
    return "\n".join(rest)


def classify(msg: Message) -> tuple[Kind, str]:
    """Was this written by a person? RFC 3834's Auto-Submitted first, then the headers that the
    common autoresponders, list servers and mailer daemons set."""
    auto = _header(msg, "auto-submitted").lower()
    ctype = msg.get_content_type()
    report = (msg.get_param("report-type") or "") if ctype == "multipart/report" else ""
    sender = _one_address(_header(msg, "from"))[1].lower()
    if ctype == "multipart/report" and str(report).lower() == "delivery-status":
        return Kind.BOUNCE, "a delivery status notification (multipart/report)"
    if sender.split("@")[0] in ("mailer-daemon", "postmaster"):
        return Kind.BOUNCE, f"sent by {sender.split('@')[0]}"
    if auto and auto != "no":
        return Kind.AUTO_REPLY, f"Auto-Submitted: {auto[:40]}"
    for name in ("x-autoreply", "x-autorespond", "x-auto-response-suppress"):
        value = _header(msg, name).lower()
        if value and (name != "x-auto-response-suppress" or "all" in value or "oof" in value):
            return Kind.AUTO_REPLY, f"{name}: {value[:40]}"
    precedence = _header(msg, "precedence").lower()
    if precedence in ("auto_reply", "auto-reply"):
        return Kind.AUTO_REPLY, f"Precedence: {precedence}"
    if precedence in ("bulk", "junk", "list"):
        return Kind.BULK, f"Precedence: {precedence}"
    if _header(msg, "list-id") or _header(msg, "list-unsubscribe"):
        return Kind.BULK, "a mailing list (List-Id / List-Unsubscribe)"
    subject = _header(msg, "subject").lower()
    if subject.startswith(_AUTO_SUBJECTS):
        return Kind.AUTO_REPLY, f"subject: {subject[:40]}"
    return Kind.PERSON, "written by a person"


_AUTO_SUBJECTS = (
    "automatic reply",
    "auto-reply",
    "autoreply",
    "out of office",
    "out of the office",
    "abwesenheitsnotiz",
    "automatische antwort",
    "réponse automatique",
    "absence du bureau",
    "respuesta automática",
)

# Where quoted history starts in the usual clients (Gmail, Outlook, Apple Mail, Thunderbird; English,
# German, French, Spanish), and where a signature starts.
_QUOTE_HEADS = re.compile(
    r"^(On .{1,200} wrote:|Am .{1,200} schrieb .{1,200}:|Le .{1,200} a écrit ?:|El .{1,200} escribió:"
    r"|-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original)\s*-{2,}"
    r"|_{10,}|From: .{1,300}|Von: .{1,300}|De ?: .{1,300})\s*$",
    re.IGNORECASE,
)


def trim_body(text: str, limit: int = MAX_BODY_CHARS) -> str:
    """The new part of a message: quoted history (`>` lines and what follows "On … wrote:") and the
    signature (after "-- ") cut, blank runs squeezed, at most `limit` characters."""
    kept: list[str] = []
    for line in text[: limit * 20].replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        if line.rstrip("\n") in ("-- ", "--") or _QUOTE_HEADS.match(stripped):
            break
        if stripped.startswith(">"):
            continue
        kept.append(line.rstrip())
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return out if len(out) <= limit else out[: limit - 1] + "…"


def _walk(msg: Message, parts: _Parts) -> None:
    for part in msg.walk() if msg.is_multipart() else [msg]:
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        if ctype == "text/calendar":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and len(payload) <= MAX_CALENDAR_BYTES:
                parts.calendars.append(payload)
            continue
        if disposition == "attachment":
            continue
        if ctype == "text/plain" and parts.text is None:
            parts.text = _text_of(part)
        elif ctype == "text/html" and parts.html is None:
            parts.html = _text_of(part)


def _text_of(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload[: MAX_BODY_CHARS * 80].decode(charset, "replace")
    except LookupError:  # a charset nobody knows
        return payload[: MAX_BODY_CHARS * 80].decode("utf-8", "replace")


_TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]{0,2000}>", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<(br|/p|/div|/li|/tr)\b[^>]{0,200}>", re.IGNORECASE)


def _html_to_text(html: str) -> str:
    from html import unescape

    return unescape(_TAG.sub("", _BREAK.sub("\n", html[: MAX_BODY_CHARS * 20])))


def _bounces(msg: Message) -> list[Bounce]:
    out: list[Bounce] = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        groups = payload if isinstance(payload, list) else []
        for group in groups[:MAX_RECIPIENTS]:
            if not isinstance(group, Message):
                continue
            recipient = _header(group, "final-recipient") or _header(group, "original-recipient")
            status = _header(group, "status")
            action = _header(group, "action").lower()
            address = recipient.split(";", 1)[-1].strip().lower()
            if _ADDRESS.match(address) and action in ("failed", "delayed", ""):
                diagnostic = _header(group, "diagnostic-code").split(";", 1)[-1].strip()
                out.append(
                    Bounce(
                        address,
                        permanent=status.startswith("5") and action != "delayed",
                        status=status[:20],
                        diagnostic=diagnostic[:200],
                    )
                )
    return out


def _returned_keys(msg: Message) -> tuple[str, ...]:
    """The X-Leadloop-Key headers of the message a report returns (message/rfc822, or only its
    headers as text/rfc822-headers), at most ten."""
    keys: list[str] = []
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            returned = inner[0] if isinstance(inner, list) and inner else None
            value = _header(returned, "x-leadloop-key") if isinstance(returned, Message) else ""
        elif kind == "text/rfc822-headers":
            raw = part.get_payload(decode=True)
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(part.get_payload())
            found = re.search(r"(?im)^x-leadloop-key:[ \t]*(\S{1,200})", text[:20_000])
            value = found.group(1) if found else ""
        else:
            continue
        if value and value not in keys:
            keys.append(value[:200])
    return tuple(keys[:10])


def _header(msg: Message, name: str) -> str:
    """A header as text: RFC 2047 words decoded, folded lines joined, bounded."""
    value = msg.get(name)
    if value is None:
        return ""
    return " ".join(_decoded(str(value)[:4000]).split())[:2000]


def _decoded(text: str) -> str:
    """RFC 2047 encoded words (=?utf-8?q?J=C3=BCrgen?=) as text; a broken one stays as it is."""
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except (ValueError, LookupError, UnicodeError, HeaderParseError):
        return text


def _one_address(value: str) -> tuple[str, str]:
    name, address = parseaddr(value)
    address = address.strip().lower()
    return (name.strip()[:200], address) if _ADDRESS.match(address) else ("", "")


def _addresses(msg: Message, name: str) -> tuple[tuple[str, str], ...]:
    values = [str(v)[:100_000] for v in msg.get_all(name, [])]
    out: dict[str, str] = {}
    for display, address in getaddresses(values):
        display = _decoded(display)
        address = address.strip().lower()
        if _ADDRESS.match(address):
            out.setdefault(address, display.strip()[:200])
        if len(out) > MAX_RECIPIENTS * 2:
            break
    return tuple((display, address) for address, display in out.items())


def _message_id(value: str) -> str | None:
    value = value.strip()
    return value[:300] if value.startswith("<") and value.endswith(">") and len(value) > 2 else None


def _date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
