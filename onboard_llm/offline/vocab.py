"""Vocabulary of handoff notes: known tools, and the cue words of goals, promises, constraints and risks."""

from __future__ import annotations

import re

#: Tools and systems a handoff commonly names, by how the notes usually spell them.
KNOWN_TOOLS = (
    "Salesforce Financial Services Cloud",
    "Salesforce",
    "HubSpot",
    "Microsoft Dynamics",
    "Dynamics 365",
    "Pipedrive",
    "NetSuite",
    "SAP S/4HANA",
    "S/4HANA",
    "SAP",
    "Oracle",
    "Workday",
    "UKG Pro",
    "UKG",
    "Kronos",
    "ADP",
    "BambooHR",
    "Gusto",
    "Rippling",
    "Greenhouse",
    "Lever",
    "Okta",
    "Entra ID",
    "Azure AD",
    "Active Directory",
    "Google Workspace",
    "Google sign-in",
    "OneLogin",
    "Ping Identity",
    "Slack",
    "Microsoft Teams",
    "Teams",
    "Zoom",
    "Webex",
    "Zendesk",
    "Freshdesk",
    "Intercom",
    "ServiceNow",
    "Jira",
    "Confluence",
    "Asana",
    "Monday.com",
    "Trello",
    "Smartsheet",
    "Microsoft Entra ID",
    "Ellucian Banner",
    "Snowflake",
    "BigQuery",
    "Databricks",
    "Redshift",
    "Tableau",
    "Power BI",
    "Looker",
    "Excel",
    "Google Sheets",
    "Epic",
    "Cerner",
    "athenahealth",
    "Meditech",
    "ezyVet",
    "Shopify Plus",
    "Shopify",
    "Magento",
    "BigCommerce",
    "Klaviyo",
    "Mailchimp",
    "Marketo",
    "Pardot",
    "Aircall",
    "Twilio",
    "RingCentral",
    "Five9",
    "Genesys Cloud",
    "Genesys",
    "Stripe",
    "Adyen",
    "QuickBooks",
    "Xero",
    "Sage Intacct",
    "Sage 300 CRE",
    "Sage",
    "Coupa",
    "Concur",
    "DocuSign",
    "Procore",
    "Autodesk",
    "Egnyte",
    "SharePoint",
    "OneDrive",
    "Box",
    "Dropbox",
    "Guidewire",
    "Duck Creek",
    "Cadency",
    "BlackLine",
    "Anaplan",
    "Symitar",
    "Jack Henry",
    "Fiserv",
    "Veeva",
    "Gong",
    "Outreach",
    "Salesloft",
    "Segment",
    "Mixpanel",
    "Amplitude",
    "GitHub",
    "GitLab",
    "AWS",
    "Azure",
    "Google Cloud",
    "Canvas",
    "Blackboard",
    "Banner",
    "PeopleSoft",
    "EAB Navigate",
    "Zapier",
    "Google Business",
    "PetDesk",
    "Vetstoria",
)
TOOL_SUFFIX = re.compile(
    r"\b([A-Z][\w.]*(?:\s[A-Z][\w.]*)?)\s+(?:integration|connector|API|sync|SSO|SCIM|feed|instance)\b"
)
REPLACED = re.compile(
    r"\b(?:off|migrat\w*(?: off| from)?|replac\w*|moving (?:off|from)|sunset\w*|switch\w* off|leaving|instead of)\b",
    re.I,
)
LATER = re.compile(r"\b(?:phase 2|later|next year|nice to have|stay on|for now|future|eventually|maybe)\b", re.I)
COMPETITOR = re.compile(r"\b(?:competitors?|evaluated|vs\.?|lost to|also looked at)\b", re.I)

GOAL_HEADINGS = (
    "why they bought",
    "success looks like",
    "goals",
    "what they want",
    "success criteria",
    "outcomes",
    "objectives",
)
PROMISE = re.compile(
    r"\b(?:promis\w*|told (?:them|him|her|victor|\w+) (?:we|it|that|the)|i told|i may have told|said it would|"
    r"(?<!a )committed|guarantee\w*|verbal:|assured)\b",
    re.I,
)
CONSTRAINT = re.compile(
    r"\b(?:freeze|frozen|contract (?:ends|expires)|expires?|not extending|won't renew|will not renew|hard stop|"
    r"non-negotiable|deadline|union\w*|notice|security review|infosec|third-party risk|soc 2|pen test|no production data|"
    r"closed (?:dec|jan|on)|only (?:works|available)|part-time|works (?:mon|tue|wed|thu|fri)|budget (?:cap|freeze|approval)|approval|"
    r"data stays|regions?|blackout|can't give|cannot|won't touch|before then)\b",
    re.I,
)
RISK = re.compile(
    r"\b(?:risk|leaving|retir\w*|parental leave|on leave|competing|upgrade|busy|capacity|bandwidth|messy|inconsistent|"
    r"duplicate|data quality|beta|no date|is slow|are slow|slow to|pressure|turnover|only ops person|only person|single point|skeptic\w*|"
    r"resist\w*|churn\w*|catch|worry|concern\w*|doesn't do|not (?:two|ready)|out of the box|missed|unionized)\b",
    re.I,
)
QUOTE = re.compile(r"[\"“](?P<q>[^\"”]{12,300})[\"”]")


GOAL_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "cutover",
        (
            "contract ends",
            "contract expires",
            "switch off",
            "switched off",
            "not extending",
            "won't renew",
            "cutover",
            "go live",
            "go-live",
            "has to run in",
        ),
    ),
    ("speed", ("response", "slow", "inbox", "wait", "faster", "fill", "turnaround", "backlog", "sla")),
    ("cycle_time", ("close in", "business days", "cycle", "month-end", "close the books")),
    ("cost", ("spend", "cost", "renting", "agency", "headcount", "save", "savings", "$")),
    ("workload", ("weekends", "overtime", "manual", "by hand", "calling", "calls", "phones", "spreadsheet", "paper")),
    ("automation", ("auto-", "automat", "without a human", "certify")),
    ("quality", ("audit", "findings", "compliance", "errors", "accuracy", "no-show", "graveyard", "quality")),
    ("satisfaction", ("csat", "nps", "satisfaction", "apologiz", "customers", "experience")),
    ("reporting", ("dashboard", "report", "visibility", "insight", "ceo", "board")),
    (
        "adoption",
        ("use it", "adoption", "active", "self-schedul", "booked online", "log in", "pick up", "usage", "most nurses"),
    ),
    ("self_service", ("deflection", "help center", "self-service", "self service", "knowledge base")),
)


def categorize(text: str) -> str:
    lowered = text.lower()
    for category, cues in GOAL_CATEGORIES:
        if any(cue in lowered for cue in cues):
            return category
    return "outcome"


# -- metrics --------------------------------------------------------------------


_CANDIDATE = r"(?P<tool>[A-Z][\w+/-]*(?:\.[A-Za-z]+)?(?:\s+(?:[A-Z0-9][\w+/-]*)){0,2})"
#: "integrate with X", "sync to X", "migrate off X", "SSO through X": a tool follows.
TOOL_BEFORE = re.compile(
    r"\b(?:integrat\w* (?:with|into|to)|sync\w* (?:with|to|from|into)|connect\w* (?:to|with|into)|"
    r"migrat\w* (?:from|off|to)|export\w* (?:from|out of)|import\w* (?:from|into)|pull\w* (?:from|out of)|"
    r"push\w* (?:to|into)|feeds? (?:from|into)|(?:SSO|sign[- ]in|log ?in) (?:via|through|with)|"
    r"moving (?:off|from)|replac\w*|currently (?:on|use|uses|using|in)|they use|they're on|they are on|"
    r"runs? on|lives? in|system of record(?: is)?|stays? on|hooks? into|plugs? into|writes? back to)\s+"
    r"(?:the |their |our |an |a )?" + _CANDIDATE
)
#: "X integration", "X connector", "X API": a tool precedes.
TOOL_AFTER = re.compile(
    _CANDIDATE + r"\s+(?:integration|connector|API|sync|SSO|SCIM|feed|instance|tenant|export|plugin|add-in|app|"
    r"migration|interface|webhook|adapter)s?\b"
)
#: Lines that list systems: "Integrations: A, B and C".
TOOL_LIST = re.compile(
    r"^(?:integrations?|systems?|tech stack|stack|tools?|environment|current tools|current stack)\s*:\s*(?P<items>.+)$",
    re.I,
)
TOOL_HEADINGS = ("integration", "tech", "systems", "environment", "stack", "tools")
#: Capitalised words that are never a tool on their own.
NOT_TOOL = frozenset(
    """i it sso scim api apis csv pdf us eu uk gl hr qa crm erp pm am ae csm se cio cfo ceo coo cto vp it's we they
    the our their this that these those phase day week month year q1 q2 q3 q4 monday tuesday wednesday thursday
    friday saturday sunday january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec go live go-live none tbd n/a yes no ok data cloud
    production sandbox test staging prod dev mobile web desktop email phone sms slack? teams? one two three""".split()
)
