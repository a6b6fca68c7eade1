"""Finding the people in handoff notes: names, titles, sides and roles."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from onboard_llm.offline.text import clean_line

_WORD = r"[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?"
_LAST = r"(?:Mc|Mac|O')?[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?"
NAME = rf"(?:Dr\.\s+)?{_WORD}(?:\s+[A-Z]\.)?\s+{_LAST}"
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"

TITLE_WORDS = frozenset(
    """vp vice president director manager lead chief cfo ceo cto cio cno coo cro cmo ciso controller administrator
    admin engineer executive officer head analyst coordinator specialist representative owner supervisor
    champion sponsor principal dean provost registrar superintendent nurse accountant architect partner
    consultant csm ae se founder president treasurer secretary clerk advisor adviser foreman superintendent
    chair counsel auditor planner dispatcher agent technician informatics""".split()
)
#: Capitalised words that start a two-word phrase that is not a person.
NOT_NAME = frozenset(
    """the a an our their we they he she it this that these those and or but if so next last first second third
    new old all any each every no not one two three four five six seven eight nine ten quick full thanks thank
    hi hello dear best regards cheers re fw fwd subject from to cc date sent internal external customer vendor
    sales success support product products account accounts opportunity stage type amount term close contract
    start discount lead source primary contacts team teams vendor decision competitors next steps notes risk risks
    phase week day days month months year years monday tuesday wednesday thursday friday saturday sunday january
    february march april may june july august september october november december jan feb mar apr jun jul aug sep
    sept oct nov dec q1 q2 q3 q4 holiday holidays spring summer fall autumn winter north south east west
    enterprise professional essentials standard premium business pro plus basic growth starter tier seats seat
    why how what when where who which deal tech integrations timing constraints promises watch their side my
    your his her its also just only still then now today tomorrow yesterday recorded participants transcript
    okay ok yes yeah right won lost closed open complexity forecast category told on in at by for with of
    animal outdoor goods group holdings inc llc ltd corp company honestly oh anyway well got via per about around
    after before during until since
    medical general health hospital hospitals university college school state federal national county city
    main central regional global corporate finance legal security information technology data operations ops
    experience services service management nursing human resources marketing engineering infrastructure platform
    cloud workforce financial office clinical patient care field network""".split()
)
#: Field labels that introduce a person without being their title.
PERSON_LABELS = frozenset(
    (
        "from",
        "to",
        "cc",
        "bcc",
        "contact",
        "contacts",
        "primary contact",
        "signed by",
        "attendees",
        "participants",
        "vendor team",
        "customer team",
        "our side",
        "their side",
        "me",
        "owner",
    )
)
VENDOR_TITLES = (
    ("account owner", "account_executive"),
    ("account executive", "account_executive"),
    ("account manager", "account_executive"),
    ("ae", "account_executive"),
    ("customer success manager", "csm"),
    ("csm", "csm"),
    ("solutions engineer", "other"),
    ("sales engineer", "other"),
    ("se", "other"),
    ("implementation", "other"),
    ("onboarding specialist", "other"),
    ("support engineer", "support"),
)
_ROLE_CUES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "executive_sponsor",
        (
            "exec sponsor",
            "executive sponsor",
            "the sponsor",
            "is the sponsor",
            "real sponsor",
            "economic buyer",
            "owns budget",
            "owns the budget",
            "budget holder",
        ),
    ),
    (
        "project_lead",
        (
            "project lead",
            "day-to-day",
            "day to day",
            "business owner",
            "run the project",
            "runs the project",
            "project owner",
            "project manager",
            "point of contact",
            "primary contact",
            "owns the rollout",
            "lead the rollout",
            "will lead",
        ),
    ),
    (
        "champion",
        ("champion", "fought for us", "ran the trial", "power user", "advocate", "pushed for this", "drove most"),
    ),
    ("admin", ("admin", "administrator", "it person", "system owner", "live in the admin")),
)
_SENIOR = re.compile(
    r"\b(?:CFO|CEO|CNO|COO|CIO|CTO|CRO|CMO|Chief|VP|Vice President|SVP|EVP|President|Provost|Founder|Owner|"
    r"Superintendent|Managing Director|General Manager|Dean)\b"
)


#: Last words that make a capitalised phrase an organisation, not a person.
ORG_WORDS = frozenset(
    """university college school district county city department office team union bank insurance mutual group holdings
    inc llc ltd corp corporation company co builders construction seafood foods goods health healthcare hospital
    hospitals clinic clinics systems solutions partners labs software technologies technology services capital
    industries manufacturing motors energy pharma logistics markets media studio studios store stores advising center
    centre network networks institute foundation agency airlines airways hotels resorts restaurants brewing farms
    bakery dental vets veterinary animal outdoor federal credit lines freight transport trucking partners llp
    associates""".split()
)


@dataclass
class Person:
    """A person named in the notes."""

    name: str
    title: str | None = None
    email: str | None = None
    side: str = "customer"
    role: str = "other"
    cues: list[str] = field(default_factory=list)
    first_seen: int = 0

    @property
    def first_name(self) -> str:
        return self.name.replace("Dr. ", "").split()[0]


def looks_like_name(candidate: str) -> bool:
    """Two (or three) capitalised words that are not a title, a month or a product word."""
    words = candidate.replace("Dr. ", "").split()
    if len(words) < 2 or words[-1].lower().strip(".") in ORG_WORDS:
        return False
    for word in words:
        bare = word.strip(".").lower()
        if bare in NOT_NAME or bare in TITLE_WORDS:
            return False
    return not words[0].isupper()


def _title_ok(title: str) -> bool:
    words = re.findall(r"[A-Za-z]+", title.lower())
    return 0 < len(words) <= 8 and any(w in TITLE_WORDS for w in words)


_VENDOR_CUES = re.compile(
    r"\b(?:will be your (?:csm|ae|se)|your (?:csm|account executive|solutions engineer)|our (?:ae|se|csm))\b"
)


def _trim_title(title: str) -> str:
    title = re.split(r"\s+[-–—|/]\s+|(?<!\bSr)(?<!\bJr)(?<!\bSt)\.\s|;|\s+\(|,\s*(?=[\w.+-]+@)|\s+<|\s+/", title)[0]
    title = re.split(r",\s+(?=[a-z])", title)[0]
    title = re.sub(r"^(?:she's|he's|they're|who is|is|the|our|their|her|his)\s+", "", title.strip(), flags=re.I)
    title = re.sub(r"^(?:the|our|their)\s+", "", title, flags=re.I)
    return title.strip(" .,:;*\"'")


_PATTERNS = (
    # "Renata Okafor - VP Customer Experience." / "Marisol Vega | Practice Manager | email"
    re.compile(
        rf"^(?P<name>{NAME})\s*(?:[-–—|:]|,)\s*(?P<title>[^|\n]+?)(?:\s*\|\s*(?P<email>{_EMAIL}))?(?:\s*[|,].*)?$"
    ),
    # "Victor Langley (CFO)" / "Kevin Marsh (Account Executive)"
    re.compile(rf"(?P<name>{NAME})\s*\((?P<title>[^)]{{2,60}})\)"),
    # "AE: Marcus Delaney" / "Primary Contact: Marisol Vega, Practice Manager, email"
    re.compile(
        rf"(?P<label>\b[A-Za-z][A-Za-z /]{{1,30}}):\s*(?P<name>{NAME})(?:,\s*(?P<title>[^,\n]{{2,60}}))?(?:,\s*(?P<email>{_EMAIL}))?"
    ),
    # "Greg Nash <greg.nash@closewise.io>"
    re.compile(rf"(?P<name>{NAME})\s*<(?P<email>{_EMAIL})>"),
    # "[00:04:12] Kevin Marsh:"
    re.compile(rf"\[\d{{1,2}}:\d\d(?::\d\d)?\]\s*(?P<name>{NAME}):"),
    # "Dr. Lorraine Beaumont, she's the CNO" / "Gabe Whitaker, Nursing Informatics Manager"
    re.compile(rf"(?P<name>{NAME}),\s*(?P<title>(?:she's |he's |who is |our |their |the )*[A-Za-z][^,.;\n]{{2,60}})"),
    # "Their IT director, Paul Santangelo," / "CFO Victor Langley"
    re.compile(rf"(?P<title>\b[A-Z][A-Za-z]*(?:\s+[A-Za-z]+){{0,3}}),\s+(?P<name>{NAME})\b"),
    # Chat exports: "Tess Calloway  10:42 AM" or "Tess Calloway:" at the start of a line
    re.compile(rf"^(?P<name>{NAME})\s+\d{{1,2}}:\d\d\s*(?:[AaPp][Mm])?\b"),
    re.compile(rf"^(?P<name>{NAME}):\s"),
    # "with Colette Ward", "loop in Jonah Beck"
    re.compile(
        rf"\b(?:with|from|cc|ping|loop in|looped in|meet|met|ask|asked|introduce|intro to|contact|email)\s+"
        rf"(?P<name>{NAME})\b(?!\s+(?:team|office|group))"
    ),
    # "Rebecca Tran runs third-party risk" / "Owen Feld (…) is the one"
    re.compile(
        rf"(?P<name>{NAME})\s+(?:runs|told|said|says|is|was|will|wants|asked|drove|liked|signed|owns|leads|manages|"
        r"thinks|guessed|mentioned|joined|needs|can't|cannot|works|came|may|from)\b"
    ),
    # "Deputy CIO Teresa Lindqvist", "Director of Safety Pete Okonkwo": a title right before the name
    re.compile(
        r"(?P<title>\b(?:[A-Z][A-Za-z]*\s+){0,3}(?:CIO|CFO|CEO|COO|CTO|CNO|CISO|VP|Director|Manager|Officer|Lead|Head|"
        r"Controller|Administrator|Architect|Engineer|Chief|President)(?:\s+of\s+[A-Z][A-Za-z]+(?:\s+[A-Z][A-Za-z]+)?)?)"
        rf"\s+(?P<name>{NAME})\b"
    ),
)


_SINGLE = (
    # "AE: Bram", "Bram (AE)", "Bram - account exec": a first name alone, only beside a title
    re.compile(rf"(?P<label>\b[A-Za-z][A-Za-z /]{{1,30}}):\s*(?P<name>{_WORD})\b(?!\s+[A-Z])"),
    re.compile(rf"\b(?P<name>{_WORD})\s*\((?P<title>[^)]{{2,40}})\)"),
    re.compile(rf"\b(?P<name>{_WORD})\s+(?:-|–|—)\s+(?:our |their |the )?(?P<title>[A-Za-z][A-Za-z ]{{1,30}})"),
)


_PERSON_TITLE = re.compile(
    r"(?i)^(?:ae|se|csm|am|pm|account (?:executive|exec|manager)|sales (?:engineer|rep|representative)|"
    r"solutions? (?:engineer|consultant|architect)|rep|(?:exec(?:utive)? )?sponsor|champion|admin(?:istrator)?|"
    r"(?:primary )?contact|project (?:lead|manager|owner)|c[a-z]o|vp\b.*|director\b.*|.*\bmanager|.*\blead|"
    r"head of .*|owner|founder|president)$"
)
_SPEAKER = re.compile(rf"^\s*\[\d{{1,2}}:\d\d(?::\d\d)?\]\s*(?P<name>{NAME})(?:\s*\((?P<title>[^)]{{2,50}})\))?:")


class PeopleFinder:
    """Collects people from notes and context, merging repeated mentions."""

    def __init__(self, csm: str | None = None) -> None:
        self.people: dict[str, Person] = {}
        self.csm = csm

    def _add(
        self,
        name: str,
        title: str | None,
        email: str | None,
        position: int,
        label: str | None = None,
        *,
        single: bool = False,
    ) -> None:
        name = re.sub(r"\s+", " ", name.strip())
        if single:
            if name.lower() in NOT_NAME or name.lower() in TITLE_WORDS or name.lower() in ORG_WORDS:
                return
            if any(p.first_name == name for p in self.people.values()):
                return  # already known by full name
        elif not looks_like_name(name):
            return
        key = name.lower().replace("dr. ", "")
        person = self.people.get(key)
        if person is None:
            person = Person(name=name, first_seen=position)
            self.people[key] = person
        if title and not person.title and _title_ok(title):
            person.title = _trim_title(title)
        if label and not person.title and _title_ok(label):
            person.title = label.strip()
        if email and not person.email:
            person.email = email

    def scan(self, notes: str) -> None:
        """Find people line by line, most specific pattern first."""
        for no, raw in enumerate(notes.splitlines()):
            line = clean_line(raw).replace("**", "")
            for pattern in _PATTERNS:
                for match in pattern.finditer(line):
                    groups = match.groupdict()
                    title = groups.get("title")
                    title = _trim_title(title) if title else None
                    if title and not _title_ok(title):
                        title = None
                    label = groups.get("label")
                    if label is not None:
                        if label.strip().lower() in PERSON_LABELS:
                            label = None
                        elif not _title_ok(label):
                            continue  # "Account Name: Pinecrest Animal Hospitals" is not a person
                    self._add(groups["name"], title, groups.get("email"), no, label)
        for no, raw in enumerate(notes.splitlines()):
            # Transcript speakers, whose label clean_line strips: "**[00:04:12] Kevin Marsh (AE):**"
            speaker = _SPEAKER.match(raw.replace("**", ""))
            if speaker:
                title = speaker.group("title")
                self._add(speaker.group("name"), _trim_title(title) if title else None, None, no)
            line = clean_line(raw).replace("**", "")
            for pattern in _SINGLE:
                for match in pattern.finditer(line):
                    groups = match.groupdict()
                    if re.search(r"[A-Z][a-z'-]+\.?\s*$", line[: match.start("name")]):
                        continue  # the second half of a full name
                    if any(p.name.split()[-1] == groups["name"] for p in self.people.values()):
                        continue
                    raw_title = groups.get("title") or groups.get("label") or ""
                    title = _trim_title(raw_title)
                    if not _title_ok(title) or title.lower() in PERSON_LABELS:
                        continue
                    # A lone first name needs a title that only a person has ("AE: Bram"), not "Lead Source: Webinar".
                    if not _PERSON_TITLE.search(title):
                        continue
                    self._add(groups["name"], title, None, no, single=True)
        if self.csm and looks_like_name(self.csm):
            self._add(self.csm, "Customer Success Manager", None, -1)
        self._assign(notes)

    def _mentions(self, person: Person, notes: str) -> list[str]:
        """Clauses that mention the person by full name, or by first name when unambiguous."""
        first_names = [p.first_name for p in self.people.values()]
        names = [re.escape(person.name.replace("Dr. ", ""))]
        if first_names.count(person.first_name) == 1:
            names.append(rf"\b{re.escape(person.first_name)}\b")
        found = []
        for raw in notes.splitlines():
            line = clean_line(raw).replace("**", "")
            for name_re in names:
                for match in re.finditer(name_re, line):
                    # The clause around the name: up to the next name of someone else or the line end.
                    tail = line[match.start() : match.start() + 160]
                    others = [p.name for p in self.people.values() if p is not person]
                    cut = min([tail.find(o, 1) for o in others if tail.find(o, 1) > 0] + [len(tail)])
                    head = re.split(r"[.?!;]", line[max(0, match.start() - 60) : match.start()])[-1]
                    found.append(f"{head} {tail[:cut]}")
        return found

    def _assign(self, notes: str) -> None:
        vendor_domains: set[str] = set()
        for person in self.people.values():
            person.cues = self._mentions(person, notes)
            title = (person.title or "").lower()
            text = " ".join([title, *person.cues]).lower()
            vendor_role = next(
                (role for cue, role in VENDOR_TITLES if re.search(rf"\b{re.escape(cue)}\b", title)), None
            )
            if self.csm and person.name.lower() == self.csm.lower():
                vendor_role = "csm"
            elif vendor_role is None and (cue := _VENDOR_CUES.search(text)):
                vendor_role = "csm" if "csm" in cue.group(0) else "other"
            if vendor_role is not None:
                person.side, person.role = "vendor", vendor_role
                if person.email:
                    vendor_domains.add(person.email.split("@")[1].lower())
                continue
            for role, cues in _ROLE_CUES:
                if any(cue in text for cue in cues):
                    person.role = role
                    break
        for person in self.people.values():
            if person.email and person.email.split("@")[1].lower() in vendor_domains and person.side != "vendor":
                person.side = "vendor"
                if person.role not in ("account_executive", "csm", "support"):
                    person.role = "other"
        self._one_each()

    def _one_each(self) -> None:
        customer = [p for p in self.people.values() if p.side == "customer"]
        # One executive sponsor: the one the notes call sponsor, else the most senior title.
        sponsors = [p for p in customer if p.role == "executive_sponsor"]
        if not sponsors:
            senior = [p for p in customer if p.title and _SENIOR.search(p.title)]
            if senior and not any("not the sponsor" in " ".join(p.cues).lower() for p in senior):
                sponsors = senior[:1]
                senior[0].role = "executive_sponsor"
        for extra in sponsors[1:]:
            extra.role = "other"
        leads = [p for p in customer if p.role == "project_lead"]
        for extra in leads[1:]:
            extra.role = "champion" if "champion" in " ".join(extra.cues).lower() else "other"

    def result(self) -> list[Person]:
        return sorted(self.people.values(), key=lambda p: p.first_seen)
