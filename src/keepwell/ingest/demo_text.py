"""Phrase banks for the demo book: what clients, CSMs and the manager write.

The demo vendor is an employer-of-record and payroll platform, so the requests are the ones
such a CS team answers every day. Placeholders: {first} (the client contact's first name),
{csm} (the CSM's first name), {manager} (the manager's first name), {account}, {country}
(a country as a noun: "the UK"), {place} (a country before a noun: "the UK team" is "the
{place} team", never "the {country} team"), {month}, {day}, {n}.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    """One kind of client request, with what each side says about it."""

    subject: str
    asks: tuple[str, ...]  # the client's opening message
    replies: tuple[str, ...]  # a CSM's own first response
    answers: tuple[str, ...]  # the manager's internal answer (the forwarder copies it)
    notes: tuple[str, ...]  # resolution notes


TOPICS: tuple[Topic, ...] = (
    Topic(
        "Payroll amount looks wrong",
        (
            "The {month} payroll for our team in {country} shows a lower net amount for one "
            "employee than last month. Can you check?",
            "One of our engineers in {country} got paid less this month. Nothing changed on "
            "our side. What happened?",
            "Payroll preview for {month}: the gross for two people is off by about 8%.",
        ),
        (
            "Checking the {month} run with payroll now; I'll confirm the cause by end of day.",
            "Looking into it. Can you send me the employee's name so I can pull the payslip?",
            "On it. First guess is a mid-month salary change; confirming with payroll today.",
        ),
        (
            "The difference is the mid-month salary change: it is prorated, and the rest lands "
            "in next month's payroll. If they want it now, we can run an off-cycle payment by "
            "Thursday.",
            "It's the new social contribution rate that started this month. The payslip shows "
            "it as a separate line; nothing is missing.",
        ),
        (
            "Prorated salary change explained; off-cycle payment sent",
            "New contribution rate explained with the payslip line",
            "Payroll corrected and re-issued payslip shared",
        ),
    ),
    Topic(
        "Invoice question",
        (
            "Invoice INV-{n} charges us for 14 seats, but we only have 12 active employees.",
            "We were billed twice for {month}. Please refund one of the charges.",
            "Can you split the {month} invoice by cost center? Finance needs it by Friday.",
        ),
        (
            "Thanks, I'm checking INV-{n} with billing and will come back today.",
            "I see the duplicate. Refund request filed; I'll send the confirmation.",
            "Yes, we can split it. Which cost centers should I use?",
        ),
        (
            "Two of the seats are the offboarded people whose last payroll ran this month; "
            "the next invoice drops them. We can credit the difference if they insist.",
            "The duplicate is a retried card charge; billing refunds it within 5 business days "
            "and sends a credit note.",
        ),
        (
            "Seat count explained; credit note issued",
            "Duplicate charge refunded",
            "Invoice split by cost center and re-sent",
        ),
    ),
    Topic(
        "Contract for a new hire",
        (
            "We need an employment contract for a new hire in {country} starting on {day}.",
            "Can you prepare an offer and contract for a senior designer in {country}?",
            "How fast can we onboard someone in {country}? Start date is {day}.",
        ),
        (
            "Yes. Send me the salary, title and start date and I'll have a draft tomorrow.",
            "Draft contract for {country} will be ready within two business days.",
            "We can meet {day}. I've opened the onboarding checklist for you.",
        ),
        (
            "In {country} the contract must be signed 10 business days before the start date, so "
            "{day} works if we get the details by Monday. Use the standard template with the "
            "local probation clause.",
            "Use the local template: 3-month probation, 13th salary included. Legal reviews "
            "within two days.",
        ),
        (
            "Contract drafted and sent for signature",
            "Offer and contract signed; onboarding started",
            "Start date confirmed with local entity",
        ),
    ),
    Topic(
        "Offboarding",
        (
            "One of our team members in {country} is leaving at the end of {month}. What is the "
            "notice period and what do we need to do?",
            "We have to let someone go in {country}. Can we talk today?",
        ),
        (
            "Sorry to hear. I'll send the {place} offboarding checklist within the hour.",
            "Yes, let's talk at 3pm your time. I'll bring the local notice rules.",
        ),
        (
            "Notice in {country} is one month for the first two years; final pay includes "
            "unused holiday. Send the resignation letter and we handle the rest.",
            "Termination needs a documented reason there; talk to legal before telling the "
            "employee. We can set up a call tomorrow.",
        ),
        (
            "Offboarding checklist shared; final pay scheduled",
            "Termination call held with legal",
        ),
    ),
    Topic(
        "Benefits",
        (
            "Can we add private health insurance for the team in {country}?",
            "Our people in {country} are asking about a pension plan. What are the options?",
        ),
        (
            "Yes. I'll send the two plans we offer in {country} with prices today.",
            "Good question. I'll get you the options and costs by tomorrow.",
        ),
        (
            "We offer two plans there: basic at 45 USD and premium at 90 USD per person per "
            "month, both start on the 1st of next month if they sign up by the 20th.",
            "Pension is mandatory and already included; a top-up plan is available at 3% of gross.",
        ),
        (
            "Health plan options sent; enrolment started",
            "Pension top-up explained",
        ),
    ),
    Topic(
        "Expense reimbursement",
        (
            "Expense reimbursements from {month} haven't been paid to our team yet.",
            "An employee submitted travel expenses two weeks ago and nothing happened.",
        ),
        (
            "Checking the expense batch now; I'll confirm the payout date today.",
            "I see it pending approval. Nudging finance and I'll update you.",
        ),
        (
            "Expenses approved after the 20th are paid with next month's payroll. We can pay "
            "these off-cycle on Friday.",
            "The claim is missing a receipt; once the employee uploads it, it is paid in the "
            "next run.",
        ),
        (
            "Expenses paid off-cycle",
            "Missing receipt uploaded; claim approved",
        ),
    ),
    Topic(
        "Report export is empty",
        (
            "The headcount report export is empty since yesterday.",
            "The payroll cost report for {month} downloads as a blank CSV.",
            "Our dashboard shows 0 employees in {country}. That can't be right.",
        ),
        (
            "Reproduced it. Engineering is on it; I'll update you within 2 hours.",
            "Thanks for flagging. Can you tell me which filters you used?",
        ),
        (
            "Known issue after last night's release; the fix ships today. Meanwhile use the "
            "legacy export under Reports > Classic.",
            "It's the date filter: exports use the payroll period, not the calendar month. "
            "Set the period to {month} and it fills in.",
        ),
        (
            "Export fixed by the hotfix release",
            "Filter explained; export works",
            "Dashboard count corrected after resync",
        ),
    ),
    Topic(
        "Login problem",
        (
            "Our new HR manager can't log in. SSO says 'user not provisioned'.",
            "Two people got locked out after the password reset. Please help.",
        ),
        (
            "I'll provision the account now and confirm in a few minutes.",
            "Unlocking both accounts now.",
        ),
        (
            "SSO only provisions users in the 'Keepwell users' group of their IdP; add her "
            "there and she can log in within 5 minutes.",
            "Accounts lock after 5 failed attempts; support can unlock them, and enabling SSO "
            "avoids it.",
        ),
        (
            "User provisioned via IdP group",
            "Accounts unlocked",
        ),
    ),
    Topic(
        "HRIS sync failed",
        (
            "The HRIS sync failed overnight with a 401.",
            "Our API calls to /employees return 429 since this morning.",
            "New hires from our HRIS don't show up anymore.",
        ),
        (
            "Looks like an expired token. I'll confirm with the integrations team.",
            "Checking the logs for your workspace now.",
        ),
        (
            "The API token expired after 12 months; generate a new one under Settings > API "
            "and paste it into the HRIS connector.",
            "They hit the new rate limit of 10 requests per second; batching the calls fixes "
            "it, and we can raise the limit for a week.",
        ),
        (
            "Token rotated; sync back",
            "Rate limit raised temporarily; batching advised",
        ),
    ),
    Topic(
        "Public holidays",
        (
            "How do we set up the public holiday calendar for {country}?",
            "Is {day} a public holiday in {country}? Our team there says yes.",
        ),
        (
            "The {place} calendar is built in; I'll show you where to switch it on.",
            "Checking the official calendar and I'll confirm today.",
        ),
        (
            "Holidays follow the employee's work location automatically; regional ones need "
            "the region set in the employee profile.",
            "Yes, it's a public holiday there this year; payroll already accounts for it.",
        ),
        (
            "Holiday calendar enabled",
            "Public holiday confirmed",
        ),
    ),
    Topic(
        "Tax documents",
        (
            "Where can employees download their annual tax certificates?",
            "Our accountant needs the {month} payroll tax filing confirmation.",
        ),
        (
            "They're in the employee app under Documents. I'll send a short guide.",
            "I'll request the filing confirmation from the local team today.",
        ),
        (
            "Certificates are published by the 15th of the month after year end, under "
            "Documents > Tax in the employee app.",
            "The local entity filed on time; the confirmation is in the Payroll > Filings tab.",
        ),
        (
            "Tax certificate guide sent",
            "Filing confirmation shared",
        ),
    ),
    Topic(
        "Equipment shipping",
        (
            "The laptop for our new hire in {country} is stuck in customs.",
            "Can you ship a monitor and a laptop to {country} before {day}?",
        ),
        (
            "Checking with the logistics partner; I'll have an ETA today.",
            "Yes, we can. I'll confirm the delivery date once the order is placed.",
        ),
        (
            "Customs there needs the employee's tax id on the invoice; logistics is adding it "
            "and delivery takes 3 more days.",
            "Shipping to {country} takes 5 business days; order by Monday to make {day}.",
        ),
        (
            "Customs cleared; laptop delivered",
            "Equipment ordered with delivery date",
        ),
    ),
)

# More from the client before anyone answered.
NUDGES = (
    "Any update on this?",
    "Adding some context: it affects the whole {place} team.",
    "Sorry, one more detail: we need this before {day}.",
    "Following up, this is getting urgent for us.",
    "Also, our finance lead is asking about it.",
    "Hello?",
)
# A client's question after the first response, and the CSM's answer to it.
FOLLOW_UPS = (
    ("Thanks. Does this affect next month as well?", "No, only {month}. Next month is normal."),
    (
        "Can you send that in writing so I can forward it to finance?",
        "Sent by email just now.",
    ),
    ("Ok, and what do we need to do on our side?", "Nothing on your side; we'll handle it."),
    (
        "Could you also check the same for our contractors in {country}?",
        "Checked the contractors too: they're fine.",
    ),
    ("Understood. When exactly will it be done?", "By {day} at the latest."),
    ("Any news?", "Still waiting on the local team; expect news tomorrow."),
)
CLOSINGS = (
    "Done. Let me know if anything else looks off.",
    "All sorted: the fix is live.",
    "This is done; closing it on our side.",
    "Confirmed done. Thanks for your patience!",
)

# How a CSM's reply opens and ends, by writing style (the coach scores directness).
OPENERS = {
    "direct": ("", "Hi {first}, ", "{first}: "),
    "friendly": ("Hi {first}, ", "Hi {first}! ", "Thanks {first}. "),
    "filler": (
        "Hi {first}! Hope you're doing well! ",
        "Hello {first}, I hope you had a great week! I just wanted to reach out regarding "
        "your message. ",
        "Hi {first}, thanks so much for reaching out, we really appreciate it! ",
        "Hi {first}, sorry for the slow reply! ",
    ),
}
CLOSERS = {
    "direct": ("",),
    "friendly": ("", "", " Let me know if that helps."),
    "filler": (
        "",
        " Please don't hesitate to reach out if there is anything else!",
        " We would really appreciate it if you could confirm at your earliest convenience, so "
        "that we can all stay aligned on the path forward.",
        " Let's make sure we ensure proper alignment with your team on this.",
    ),
}
AUTO_REPLY = (
    "Thanks for your email. We have received it and will get back to you within one business day."
)

FORWARDS = (
    '{manager}, {first} at {account} asks: "{quote}" What should I tell them?',
    'Hey {manager}, quick one from {account}: "{quote}" How do we handle this?',
    '{manager}, need your help. {account} writes: "{quote}"',
)
ESCALATION_REASONS = (
    "Client asks for something outside my authority",
    "Needs a decision on a credit",
    "Unclear policy, asking the manager",
    "Client unhappy, wants a manager involved",
)
NOVEL_REASONS = (
    "First request of this kind in {country}",
    "No playbook for this yet",
    "New situation: nobody on the team has handled it",
)
MANAGER_ON_ESCALATION = (
    "I'll take the call with them tomorrow.",
    "Approved. Go ahead and tell them.",
    "Let's offer a one-month credit.",
)

# Proactive outreach that opens a thread, and how clients answer it.
OUTREACH = (
    ("Checking in", "Quick check-in: how did the {month} payroll run go for your team?"),
    ("New feature", "We've launched instant payslips in {country}. Want a 15-minute demo?"),
    ("Renewal", "Your renewal is coming up. Can we book 30 minutes to review the year?"),
    ("Labour-law change", "Heads-up: overtime rules change in {country} next quarter. Here "
     "is what it means for your team."),
    ("Usage", "I noticed only half your managers use approvals. Want me to run a short "
     "training?"),
    ("Quarter ahead", "Any hiring planned next quarter? We can prepare contracts early."),
)  # fmt: skip
OUTREACH_REPLIES = (
    "All good on our side, thanks!",
    "Actually, one thing: the payslips for {month} came late. Why?",
    "Yes, let's do it. Does Thursday work?",
    "Thanks for the heads-up. What do we need to change?",
    "We plan to hire three people in {country}. What do you need from us?",
)
OUTREACH_ANSWERS = (
    "Thursday 10:00 works; invite sent.",
    "Payslips were late because of a bank holiday; they're back on schedule.",
    "Nothing for now; we'll update contracts and send them for signature.",
    "Great. Send me the roles and start dates and I'll prepare the contracts.",
)
OUTREACH_NOTES = (
    "Answered check-in reply",
    "Demo booked",
    "Hiring plan received",
)

ACTIVITY_TEXTS = {
    "check_in": (
        "Weekly check-in with {first}: no blockers",
        "Check-in: payroll ran on time, {first} happy",
        "Check-in: {first} asked about {place} bonuses",
        "Slack check-in, no issues reported",
    ),
    "call": (
        "Call with {first} about hiring plans",
        "Call with {first}: walked through the {month} invoice",
        "Call with {first} on expense policy",
    ),
    "meeting": (
        "Meeting with {first} and their finance team",
        "Onsite meeting with {first}",
        "Training session for {account} managers",
    ),
    "ebr": (
        "Quarterly business review with {first}: usage, headcount, roadmap",
        "EBR: reviewed SLA figures and next quarter's hires",
    ),
    "testimonial_request": (
        "Asked {first} for a G2 review",
        "Asked {first} for a quote for our website",
    ),
    "case_study_request": ("Asked {first} whether we can publish their rollout as a case study",),
    "referral_request": (
        "Asked {first} for an intro to peers who hire abroad",
        "Asked {first} for a referral",
    ),
    "note": (
        "{first} mentioned budget pressure next quarter",
        "Champion {first} may change roles",
        "They are evaluating a competitor for {country}",
        "Follow-up sent with the call summary",
    ),
}
NEXT_STEPS = (
    "Send the {month} usage report",
    "Book the quarterly review",
    "Follow up on the open invoice question",
    "Share the {place} hiring guide",
    "Confirm renewal terms with the sponsor",
    "Run approvals training for managers",
    "Check in after the payroll run",
    "Introduce the new benefits plan",
)

NPS_COMMENTS = {
    "promoter": (
        "Fast answers, always",
        "Our CSM knows our setup better than we do",
        "Payroll just works in every country",
        "Great support, especially during onboarding",
    ),
    "passive": (
        "Fine overall, reports could be better",
        "Good product, answers sometimes slow",
        "Does the job",
        "",
    ),
    "detractor": (
        "It takes days to get an answer",
        "Too many payroll mistakes this year",
        "We never know who is handling our questions",
        "Too expensive for what we get",
    ),
}
CSAT_COMMENTS = ("Quick fix, thanks", "Solved", "Took too long", "Helpful", "")
CHURN_REASONS = (
    "Moved payroll in-house",
    "Switched to a competitor",
    "Company acquired",
    "Budget cuts",
    "Closed the {place} entity",
)

ACCOUNT_NAMES = (
    "Northwind", "Bluefin", "Copperleaf", "Brightwave", "Stonebridge", "Lumen", "Quartzline",
    "Redwood", "Silverlake", "Tidewater", "Nimbus", "Ironclad", "Sunpeak", "Greenfield",
    "Harbor", "Falcon", "Juniper", "Kestrel", "Marlin", "Orchid", "Pinecrest", "Riverbend",
    "Sapphire", "Trellis", "Vantage", "Willow", "Zephyr", "Atlas", "Beacon", "Cobalt",
    "Driftwood", "Ember", "Fjord", "Granite", "Horizon", "Indigo", "Jasper", "Keystone",
    "Lantern", "Meridian",
)  # fmt: skip
ACCOUNT_KINDS = (
    "Logistics", "Analytics", "Health", "Foods", "Labs", "Studio", "Systems", "Energy",
    "Robotics", "Media", "Retail", "Software", "Travel", "Capital", "Games", "Bio",
)  # fmt: skip
LEGAL_SUFFIX = {
    "US": "Inc.", "CA": "Inc.", "GB": "Ltd", "AU": "Pty Ltd", "NZ": "Ltd", "DE": "GmbH",
    "AT": "GmbH", "CH": "AG", "FR": "SAS", "NL": "B.V.", "PL": "sp. z o.o.", "UA": "LLC",
    "BR": "Ltda", "MX": "S.A. de C.V.", "AR": "S.R.L.", "CO": "S.A.S.", "PH": "Inc.",
    "SG": "Pte Ltd", "JP": "K.K.",
}  # fmt: skip
COUNTRY_NAMES = {
    "US": "the US", "CA": "Canada", "GB": "the UK", "AU": "Australia", "NZ": "New Zealand",
    "DE": "Germany", "AT": "Austria", "CH": "Switzerland", "FR": "France",
    "NL": "the Netherlands", "PL": "Poland", "UA": "Ukraine", "BR": "Brazil", "MX": "Mexico",
    "AR": "Argentina", "CO": "Colombia", "PH": "the Philippines", "SG": "Singapore",
    "JP": "Japan",
}  # fmt: skip
# A country before a noun ("the UK team", "Share the UK hiring guide"): no article of its own.
COUNTRY_PLACES = {code: name.removeprefix("the ") for code, name in COUNTRY_NAMES.items()}
TAGS = ("eor", "payroll", "contractors", "benefits", "equipment")

# Client contacts' names by the account's country.
_EN = (
    ("James", "Emma", "Liam", "Olivia", "Noah", "Ava", "Ethan", "Mia", "Lucas", "Zoë", "Grace"),
    ("Smith", "Johnson", "Brown", "Taylor", "Wilson", "Clarke", "Walker", "Hughes", "O'Neil"),
)
_DE = (
    ("Jonas", "Lena", "Felix", "Hannah", "Paul", "Marie", "Jürgen", "Sophie", "Max"),
    ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker", "Hoffmann", "Wagner"),
)
_ES = (
    ("Sofía", "Mateo", "Valentina", "Santiago", "Camila", "Diego", "Lucía", "Andrés"),
    ("García", "Martínez", "López", "Hernández", "Rodríguez", "Pérez", "Gómez", "Díaz"),
)
NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "US": _EN, "CA": _EN, "GB": _EN, "AU": _EN, "NZ": _EN, "DE": _DE, "AT": _DE, "CH": _DE,
    "MX": _ES, "AR": _ES, "CO": _ES,
    "FR": (("Camille", "Hugo", "Chloé", "Louis", "Léa", "Jules", "Manon"),
           ("Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent")),
    "NL": (("Daan", "Emma", "Sem", "Julia", "Lars", "Sanne"),
           ("de Jong", "Jansen", "de Vries", "van Dijk", "Bakker", "Visser")),
    "PL": (("Jakub", "Zuzanna", "Łukasz", "Maja", "Piotr", "Anna"),
           ("Nowak", "Kowalski", "Wiśniewska", "Wójcik", "Kamiński", "Lewandowska")),
    "UA": (("Andrii", "Oksana", "Taras", "Iryna", "Dmytro", "Kateryna"),
           ("Shevchenko", "Bondarenko", "Tkachenko", "Kravchenko", "Melnyk", "Koval")),
    "BR": (("João", "Ana", "Pedro", "Beatriz", "Gabriel", "Larissa"),
           ("Silva", "Santos", "Oliveira", "Souza", "Pereira", "Costa")),
    "PH": (("Miguel", "Andrea", "Paolo", "Bea", "Carlo", "Jasmine"),
           ("Reyes", "Cruz", "Bautista", "Garcia", "Mendoza", "Villanueva")),
    "SG": (("Wei Ling", "Jun Jie", "Priya", "Hui Min", "Arjun", "Mei"),
           ("Tan", "Lim", "Lee", "Ng", "Nair", "Wong")),
    "JP": (("Haruto", "Yui", "Sota", "Aoi", "Ren", "Hina"),
           ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito")),
}  # fmt: skip
