"""Ready-to-edit email drafts of a dated plan's communications.

Each communication in the plan (welcome, pre-kickoff, kickoff recap, week-1
recap, usage snapshot, each review recap) becomes an :class:`EmailDraft`: its
date, the people it goes to, a subject and a plain-text/Markdown body written
from the communication's key points and the plan's own facts (kickoff date,
milestones of the next two weeks, review dates, the CSM's signature).

Addresses are never invented: a recipient gets an address only when the plan's
stakeholder carries an ``email``. Recipients the plan names by role are
resolved to the stakeholders holding that role; what cannot be resolved stays
a name, listed in a comment line of the body so the CSM fills it in.
Nothing here calls a provider.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from email import errors
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from onboard_llm.schema import DatedCommunication, DatedMilestone, OnboardingPlan, Stakeholder

__all__ = ["EmailDraft", "Recipient", "draft_emails", "eml_filename", "to_eml", "to_markdown"]

SEND_HOUR = 9
LOOKAHEAD_DAYS = 14
_REVIEW_KINDS = ("review_30", "review_60", "review_90", "executive_review")
_INTROS = {
    "welcome": "Welcome aboard! I will be your guide through the first 90 days, and I am glad to be working with you.",
    "pre_kickoff": "Ahead of our kickoff, here is what will help us make the most of the time together.",
    "kickoff_recap": "Thank you for the kickoff. Here is what we agreed, with the plan we will work from.",
    "week1_recap": "Here is where we stand after the first week, and what comes next.",
    "usage_snapshot": "Here is this week's usage snapshot.",
    "review_recap": "Thank you for the review. Here is a short recap and what comes next.",
}


@dataclass(frozen=True)
class Recipient:
    """Someone a draft goes to; ``email`` only when the plan has it."""

    name: str
    email: str | None = None
    title: str | None = None

    def display(self) -> str:
        return f"{self.name} <{self.email}>" if self.email else self.name


@dataclass(frozen=True)
class EmailDraft:
    """One communication as an email ready to edit."""

    id: str
    kind: str
    name: str
    date: dt.date
    to: tuple[Recipient, ...]
    subject: str
    body: str
    customer_visible: bool = True
    #: Recipients the plan names without an email address (fill them in before sending).
    unaddressed: tuple[str, ...] = field(default_factory=tuple)


def _fold(text: str) -> str:
    return " ".join(text.replace("_", " ").split()).casefold()


def _resolve(recipient: str, stakeholders: Sequence[Stakeholder]) -> list[Recipient]:
    """A recipient as written in the plan (a name or a role) → the stakeholders it means."""
    key = _fold(recipient)
    by_name = [s for s in stakeholders if _fold(s.name) == key]
    if not by_name:
        by_name = [s for s in stakeholders if _fold(s.role) == key]
    if by_name:
        return [Recipient(s.name, s.email or None, s.title) for s in by_name]
    return [Recipient(recipient.replace("_", " "))]


def _recipients(comm: DatedCommunication, plan: OnboardingPlan) -> tuple[Recipient, ...]:
    seen: dict[str, Recipient] = {}
    for written in comm.recipients:
        for r in _resolve(written, plan.stakeholders):
            seen.setdefault(r.name.casefold(), r)
    return tuple(seen.values())


def _first_names(recipients: Sequence[Recipient]) -> str:
    names = [r.name.split()[0] for r in recipients if r.name]
    if not names:
        return "Hi all,"
    if len(names) == 1:
        return f"Hi {names[0]},"
    return f"Hi {', '.join(names[:-1])} and {names[-1]},"


def _fmt(d: dt.date) -> str:
    return f"{d:%A} {d:%d %B %Y}".replace(" 0", " ")


def _upcoming(plan: OnboardingPlan, since: dt.date, customer_only: bool) -> list[DatedMilestone]:
    until = since + dt.timedelta(days=LOOKAHEAD_DAYS)
    return sorted(
        (m for m in plan.all_milestones() if since <= m.date <= until and (m.customer_visible or not customer_only)),
        key=lambda m: (m.date, m.id),
    )


def _signature(plan: OnboardingPlan) -> list[str]:
    csm_name = plan.customer.csm
    csm = next((s for s in plan.stakeholders if s.role == "csm" and s.side == "vendor"), None)
    if csm_name is None and csm is not None:
        csm_name = csm.name
    lines = ["Best regards,", csm_name or "[your name]"]
    if csm is not None and csm.name == csm_name:
        lines.append(csm.title or "Customer Success Manager")
        if csm.email:
            lines.append(csm.email)
    else:
        lines.append("Customer Success Manager")
    return lines


def _body(comm: DatedCommunication, plan: OnboardingPlan, to: Sequence[Recipient]) -> str:
    lines = [_first_names(to), "", _INTROS.get(comm.kind, f"A note from your onboarding team: {comm.name}.")]
    if comm.key_points:
        lines += ["", "In this note:"] + [f"- {p}" for p in comm.key_points]

    kickoff = next((m for m in plan.meetings if m.kind == "kickoff"), None)
    if kickoff is not None and comm.kind in ("welcome", "pre_kickoff"):
        timing = "is" if kickoff.date >= comm.date else "was"
        lines += ["", f"Our kickoff ({kickoff.duration_minutes} minutes) {timing} on {_fmt(kickoff.date)}."]
        if kickoff.agenda:
            lines += ["Agenda:"] + [f"- {a.item} ({a.minutes} min)" for a in kickoff.agenda]
    if comm.kind in ("welcome", "kickoff_recap"):
        lines += ["", f"The outcome we are working towards: {plan.primary_goal}"]
    if comm.kind == "welcome":
        team = [s for s in plan.stakeholders if s.side == "vendor"]
        if team:
            lines += ["", "Your team:"] + [f"- {s.name}{f', {s.title}' if s.title else ''}" for s in team]

    upcoming = _upcoming(plan, comm.date, customer_only=comm.customer_visible)
    if upcoming and comm.kind != "welcome":
        lines += ["", "Milestones in the next two weeks:"]
        lines += [f"- {_fmt(m.date)}: {m.name} (owner: {m.owner})" for m in upcoming]

    reviews = sorted((m for m in plan.meetings if m.kind in _REVIEW_KINDS), key=lambda m: m.date)
    if comm.kind == "review_recap":
        held = [m for m in reviews if m.date <= comm.date]
        if held:
            lines += ["", f"Review held: {held[-1].title} on {_fmt(held[-1].date)}."]
    later = [m for m in reviews if m.date > comm.date]
    if later and comm.kind in ("welcome", "kickoff_recap", "review_recap"):
        lines += ["", "Coming reviews:"] + [f"- {_fmt(m.date)}: {m.title}" for m in later]

    lines += ["", *_signature(plan)]
    return "\n".join(lines) + "\n"


def draft_emails(plan: OnboardingPlan) -> list[EmailDraft]:
    """Every communication of the plan as an email draft, in date order."""
    drafts = []
    for comm in sorted(plan.communications, key=lambda c: (c.date, c.send_day, c.id)):
        to = _recipients(comm, plan)
        drafts.append(
            EmailDraft(
                id=comm.id,
                kind=comm.kind,
                name=comm.name,
                date=comm.date,
                to=to,
                subject=comm.subject,
                body=_body(comm, plan, to),
                customer_visible=comm.customer_visible,
                unaddressed=tuple(r.name for r in to if not r.email),
            )
        )
    return drafts


def to_markdown(drafts: Sequence[EmailDraft], *, title: str = "Email drafts") -> str:
    """All drafts as one Markdown document."""
    out = [f"# {title}", ""]
    if not drafts:
        out += ["The plan has no communications to draft.", ""]
    for d in drafts:
        out += [
            f"## {d.date.isoformat()} · {d.name}" + ("" if d.customer_visible else " (internal)"),
            "",
            f"**To:** {', '.join(r.display() for r in d.to) or '(nobody named in the plan)'}  ",
            f"**Subject:** {d.subject}",
            "",
        ]
        if d.unaddressed:
            out += [f"<!-- no email address in the plan for: {', '.join(d.unaddressed)} -->", ""]
        out += [d.body.rstrip("\n"), "", "---", ""]
    return "\n".join(out)


def to_eml(draft: EmailDraft) -> bytes:
    """One draft as an RFC 5322 message (unsent), dated 09:00 on its day."""
    msg = EmailMessage()
    msg["Date"] = format_datetime(dt.datetime.combine(draft.date, dt.time(SEND_HOUR, 0)))
    msg["Subject"] = draft.subject
    addressed: list[Address] = []
    unaddressed = list(draft.unaddressed)
    for r in draft.to:
        if not r.email:
            continue
        try:
            addressed.append(Address(display_name=r.name, addr_spec=r.email))
        except (ValueError, IndexError, errors.HeaderParseError):
            unaddressed.append(f"{r.name} (unusable address {r.email!r})")
    # An empty group names nobody and invents no address; the real names go in the body.
    msg["To"] = addressed if addressed else "undisclosed-recipients:;"
    msg["X-Unsent"] = "1"
    body = draft.body
    if unaddressed:
        body = f"[To: {', '.join(unaddressed)} (no email address in the plan; add before sending)]\n\n{body}"
    msg.set_content(body)
    return msg.as_bytes()


def eml_filename(draft: EmailDraft) -> str:
    """A stable file name for a draft: date then id."""
    return f"{draft.date.isoformat()}-{draft.id}.eml"
