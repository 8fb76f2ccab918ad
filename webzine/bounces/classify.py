"""Enhanced status code + diagnostic text → (kind, reason).

A wrong `hard` silently removes a real customer, so `hard` needs positive evidence that the
mailbox or domain does not exist: a 5.1.x code that says so, or a server's own words ("user
unknown", "no such domain") in a permanent failure, and nothing that points elsewhere. Anything
that blames the sender (policy, authentication, reputation, content) wins over a recipient code,
because servers often dress a block up as 5.1.1 or 5.7.1 and the recipient must never pay for
the sender's mistake. What matches nothing is `unknown`, never `hard`.

The phrase tables are our own, written from RFC 3463/5248 and the texts real MTAs send (the
Sisimai sample set is the yardstick, see bench/bounce_accuracy.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from webzine.bounces.events import Kind

STATUS_RE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
REPLY_RE = re.compile(r"(?<![\d.#])([245][0-5]\d)(?:[ -]|$)")


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: Kind
    reason: str
    status: str | None


class Table:
    """Reasons with their patterns, tried in order.

    Python's `re` has no multi-pattern search: a pattern with forty alternatives tries all forty
    at every position of the text. So each pattern is split at its top-level `|` and every branch
    is paired with a literal it cannot match without; a plain substring test (`in`, fast C code)
    skips the branches that cannot match before any regex runs. The answers are the same as
    searching the whole pattern; tests check that."""

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        # Patterns are lowercase and texts are lowercased once by the caller: re runs several
        # times faster without IGNORECASE.
        self.rows = [(reason, re.compile(pattern)) for reason, pattern in rows]
        self.branches = [(reason, [(re.compile(b), required_literal(b)) for b in split_branches(pattern)])
                         for reason, pattern in rows]

    def first(self, text: str) -> str | None:
        for reason, branches in self.branches:
            for branch, literal in branches:
                if (literal is None or literal in text) and branch.search(text):
                    return reason
        return None

    def without(self, reason: str) -> "Table":
        return Table([(r, p.pattern) for r, p in self.rows if r != reason])


def split_branches(pattern: str) -> list[str]:
    """A regex's top-level alternatives (outside groups and character classes)."""
    found, depth, start, index, in_class = [], 0, 0, 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            found.append(pattern[start:index])
            start = index + 1
        index += 1
    found.append(pattern[start:])
    return found


def required_literal(branch: str) -> str | None:
    """The longest run of plain characters every match of `branch` contains (three or more), or
    None. Only characters outside groups and classes count, and none a quantifier makes optional."""
    runs, run, depth, index = [], "", 0, 0
    while index < len(branch):
        char = branch[index]
        following = branch[index + 1:index + 2]
        if char == "\\":
            escaped = branch[index + 1:index + 2]
            literal = escaped if escaped and not escaped.isalnum() else None
            index += 2
            following = branch[index:index + 1]
            if depth == 0 and literal is not None and following not in {"?", "*", "{"}:
                run += literal
                if following == "+":
                    runs.append(run)
                    run = ""
                continue
            runs.append(run)
            run = ""
            continue
        if char == "[":
            end = branch.index("]", index + 2 if branch[index + 1:index + 2] == "]" else index + 1)
            runs.append(run)
            run = ""
            index = end + 1
            continue
        if char in "()":
            depth += 1 if char == "(" else -1
            runs.append(run)
            run = ""
        elif depth == 0 and (char.isalnum() or char in " :;,'\"<>@=-_/!#%&~`") and following not in {"?", "*", "{"}:
            run += char
            if following == "+":
                runs.append(run)
                run = ""
        else:
            runs.append(run)
            run = ""
        index += 1
    runs.append(run)
    best = max(runs, key=len)
    return best if len(best) >= 3 else None


def _table(*rows: tuple[str, str]) -> Table:
    return Table(list(rows))


# Provider wordings that look like a policy block but mean "no such recipient": Microsoft 365's
# directory-based edge blocking answers "Recipient address rejected: Access denied" (5.4.1, 5.7.1).
RECIPIENT_FIRST = _table(
    ("user_unknown", r"recipient address rejected: access denied|nonexistent user|non-existent user"),
)

# Wordings that only a directory lookup of the recipient produces (Exchange's X.400 "recipient
# name is not recognized", Domino's directory, Gmail's "address couldn.?t be found"): believed
# without an SMTP command, unlike a bare "user unknown".
DIRECTORY_VERDICTS = re.compile(
    r"recipient name is not recognized|not listed in (?:the )?(?:domino directory|public name)"
    r"|address couldn.?t be found|invalid final delivery userid|invalid recipient|adresse destinataire invalide"
    r"|check if (?:the )?address is correct|recipient address rejected: access denied|mail\.local: unknown user"
    r"|nonexistent user|non-existent user")

# Checked first: the sender must fix these, whatever code the server chose.
SENDER_PROBLEMS = _table(
    ("auth_failure", r"\bdmarc\b|\bspf\b|\bdkim\b|sender policy framework|authentication checks? failed"
     r"|unauthenticated (?:e-?mail|mail|sender)|not pass (?:dmarc|authentication)|5\.7\.(?:23|24|26|509|515)\b"),
    ("require_ptr", r"reverse dns|\bptr\b|\brdns\b|reverse (?:look ?up|hostname|lookup)|no reverse"
     r"|cannot find your hostname|unresolvable (?:client|sender) host|client host name|\bhelo\b[^\n]{0,60}not resolv"
     r"|client host [^\n]{0,60} not found|reverse mapping|ip name lookup failed|5\.7\.25\b"),
    ("tls_required", r"starttls|\btls\b|must use encryption|encryption required|secure connection required"
     r"|5\.7\.(?:10|11)\b"),
    ("blocklisted", r"my name was rejected|block ?list|black ?list|spamhaus|spamcop|\bsorbs\b|\brbl\b|dnsbl|\bbarracuda"
     r"|(?<!not )listed (?:in|on|at) (?![^\n]{0,40}directory)|poor reputation|bad reputation|low reputation|reputation (?:of|score)"
     r"|sender ip|your ip|ip address [^\n]{0,60}(?:block|reject|list)|client host \[?[\d.]+\]? blocked|\bbanned\b"
     r"|has been blocked|are blocked|is blocked|access denied[^\n]{0,60}\bip\b|connection (?:refused|rejected) [^\n]{0,60}\bip\b"
     r"|service unavailable; client host|rejected due to (?:low|poor)|\bblocked\b(?! by the recipient)"
     r"|mail from [^\n]{0,60} (?:refused|rejected|blocked)|mailfrom refused|your (?:server|host|network) [^\n]{0,60}(?:denied|reject)"),
    ("spam_content", r"\bspam\b|\bspammy|junk mail|unsolicited|looks suspicious|suspicious content"
     r"|content (?:rejected|filter)|message content|bulk mail|high probability of"),
    ("virus", r"\bvirus|malware|infected|dangerous attachment"),
    ("no_relaying", r"relay(?:ing)? (?:access )?(?:denied|not (?:permitted|allowed))|unable to relay"
     r"|not permitted to relay|we do not relay|relay not permitted|not allowed to relay|no relaying"),
    ("sender_rejected", r"sender (?:address |domain )?(?:rejected|denied|refused|not allowed|verify failed)"
     r"|domain of sender|sender verif|envelope sender|invalid sender|sender is not allowed"
     r"|mail from address [^\n]{0,60} (?:rejected|invalid)|your (?:e-?mail )?address [^\n]{0,60} (?:rejected|blocked)"),
    ("policy", r"polic(?:y|ies)|not authorized|not permitted|prohibited|administratively denied"
     r"|access denied|5\.7\.(?:0|1|9)\b"),
)

SENDER_PROBLEMS_BUT_POLICY = SENDER_PROBLEMS.without("policy")

# Temporary or recoverable conditions: counted, suppressed only after the soft limit.
SOFT = _table(
    ("mailbox_full", r"mailbox (?:is )?full|full mailbox|over ?quota|quota (?:exceeded|full)|exceed(?:s|ed)? [^.\n]{0,40}quota"
     r"|disk quota|storage (?:allocation|limit|quota)|mailbox (?:size|storage) (?:limit )?exceeded"
     r"|exceeded the local limit|insufficient (?:disk )?space|mailbox has exceeded|out of storage"
     r"|not enough (?:disk |storage )?space|user(?:'s)? mailbox is over|size of the mailbox|mailbox would exceed"
     r"|mailfolder is full|exceeding (?:its |their |the |his |her )?(?:mailbox |storage )?quota"
     r"|does not have enough space|mailbox exceeds allowed size"),
    ("disabled", r"(?:account|mailbox|user|address|recipient)(?: is| has been| was)? (?:disabled|suspended"
     r"|inactive|deactivated|locked|frozen|blocked by the recipient)|not active|inactive (?:user|account|mailbox)"
     r"|temporarily (?:disabled|unavailable|suspended)|suspended (?:account|user|mailbox)|account expired"),
    ("message_too_big", r"too (?:large|big)|size (?:limit|exceeds)|exceeds (?:the )?(?:maximum|size)"
     r"|message length exceeds|exceeds administrative limit|message size"),
    ("network_error", r"not found, try again|temporary (?:dns|lookup|name service) (?:failure|error)"),
    ("mailer_error", r"procmail|command (?:died|failed|output)|mailer error|unknown mailer|x-unix;"
     r"|local delivery failed|pipe to \|"),
    ("rate_limited", r"too many (?:connections|messages|recipients|concurrent)|rate limit|throttl"
     r"|try again later|temporarily deferred|greylist|graylist|slow down|sending rate"),
)

# Generic words ("giving up", "service unavailable", "timed out") that MTAs print around the real
# reason: consulted only after the recipient tables, so they never hide a "user unknown".
GENERIC_SOFT = _table(
    ("expired", r"retry time(?:out)? (?:not reached|exceeded)|message expired|delivery (?:time )?expired"
     r"|could not be delivered (?:for|within)|not (?:been )?delivered (?:for|within)|time limit exceeded"
     r"|\bexpired\b|queue ?time|too long in (?:the )?queue|giving up|delivery attempts? (?:will )?(?:stop|fail)"
     r"|delivery failed \d+ attempts"
     r"|has been delayed|delivery (?:is|has been|was) delayed|will (?:be )?retr(?:y|ied)|still trying"
     r"|timed? ?out|delivery delayed"),
    ("network_error", r"connection (?:timed out|refused|reset|closed|lost|dropped)|network is unreachable"
     r"|no route to host|lost connection|host (?:is )?unreachable|unable to connect|could not connect"
     r"|connect to [^\n]{0,80} failed|mail (?:for [^\n]{0,80} )?loops back|too many hops|mail loop|routing loop"),
    ("system_error", r"system error|internal (?:server )?error|local error|temporary (?:local )?(?:problem|failure)"
     r"|resources? (?:temporarily )?unavailable|server (?:is )?(?:busy|unavailable)|insufficient system"
     r"|configuration error|service unavailable"),
)

# The recipient's own filter (or a gateway in front of it) refused the message: not the sender's
# fault, not proof that the mailbox is gone.
FILTERED = _table(
    ("filtered", r"recipient(?:'s)? preferences|refused due to|rejected by (?:the )?recipient(?! domain)|domain filter"
     r"|filtered|not accepting mail from|receiver (?:has )?(?:blocked|refused)"),
)

# The mailbox or domain does not exist. Only these may become `hard`.
HARD = _table(
    ("has_moved", r"has moved|no (?:longer|more) (?:valid|available|in use|active)|changed (?:his|her|their) address"
     r"|address (?:has )?changed"),
    ("not_accept", r"does not accept (?:e-?)?mail|null mx|accepts no mail|not accept(?:ing)? (?:any )?mail"
     r"|no mx (?:record )?found|indicated no smtp service|couldn't find a mail exchanger"),
    ("host_unknown", r"host (?:or domain name )?not found|unknown (?:host|domain)|no such (?:host|domain)"
     r"|domain (?:not found|does not exist|doesn't exist|name not found)|name or service not known"
     r"|unrouteable (?:mail )?domain|nxdomain|host unknown|hostname lookup failed|dns lookup failure"
     r"|mx (?:record )?(?:lookup failed|not found)|non-existent host|illegal host|domain [^\n]{0,60} not (?:exist|valid)"
     r"|unrouteable address|invalid domain|domain is not reachable"),
    ("user_unknown", r"user(?:name)? (?:is )?unknown|unknown (?:user|recipient|local[- ]part|address|mailbox|alias)"
     r"|no such (?:user|mailbox|recipient|account|person|local user|address)|(?:user|recipient|mailbox|account"
     r"|address|addressee) (?:does not|doesn't|did not) exist|(?:user|recipient|mailbox|addressee|account) (?:not found"
     r"|unknown)|invalid (?:recipient|mailbox|user|address)|not a valid (?:mailbox|user|recipient)"
     r"|no mailbox (?:here )?by that name|not listed in (?:domino|public name)"
     r"|bad destination (?:mailbox|system) address|mailbox (?:not found|does not exist|unavailable)"
     r"|recipient (?:address )?rejected: (?:user unknown|unknown user)|account (?:that you tried to reach )?does not exist"
     r"|no account by that name|not our customer|destination address (?:is )?(?:invalid|unknown)"
     r"|does not have an? [^\n]{0,40} account|user doesn.?t have|no such address|address (?:is )?(?:invalid|unknown)"
     r"|recipient (?:is )?not (?:found|valid|known)|undeliverable address|address rejected"
     r"|address couldn.?t be found|address not found|invalid final delivery userid|recipient name is not recognized"
     r"|adresse destinataire invalide|check if (?:the )?address is correct"),
)

# RFC 3463 / 5248 codes → reason, where the code alone is specific enough.
STATUS_REASONS = {
    "5.1.1": "user_unknown", "5.1.2": "host_unknown", "5.1.3": "user_unknown", "5.1.6": "has_moved",
    "5.1.10": "not_accept", "5.3.2": "not_accept", "5.1.7": "sender_rejected", "5.1.8": "sender_rejected",
    "5.2.1": "disabled", "5.2.2": "mailbox_full", "5.2.3": "message_too_big", "5.3.4": "message_too_big",
    "5.4.7": "expired", "5.4.6": "network_error",
    "5.7.1": "policy", "5.7.23": "auth_failure", "5.7.25": "require_ptr", "5.7.26": "auth_failure",
    "5.7.27": "sender_rejected", "5.7.515": "auth_failure", "5.7.509": "auth_failure", "5.7.13": "disabled",
    "5.7.10": "tls_required", "5.7.11": "tls_required",
}
# Japanese mobile carriers answer "user unknown" also when the recipient's own domain filter
# refuses the sender; only an explicit 5.1.1 is believed there.
FILTERING_CARRIERS = ("ezweb.ne.jp", "au.com", "docomo.ne.jp", "softbank.ne.jp", "i.softbank.jp",
                      "vodafone.ne.jp", "disney.ne.jp", "pdx.ne.jp", "willcom.com")
SMTP_COMMAND_RE = re.compile(
    r"(?:in reply to|after|during|command:?|>>>|smtp command)\s*(?:the\s*)?(?:end of\s*)?"
    r"(rcpt to|rcpt|mail from|mail|data|helo|ehlo|end of data)\b")
RCPT_HINTS = re.compile(r"\[rcpt_to\]|rcpt to response|does not like recipient|smtp:\s*rcpt"
                        r"|delivery error: dd this user doesn.?t have|mailbox unavailable \(-?\d+:\d+:-?\d+\)")
HARD_REASONS = {"user_unknown", "host_unknown", "has_moved", "not_accept"}
OVERRIDE_RECIPIENT_CODE = {"auth_failure", "require_ptr", "tls_required", "blocklisted", "spam_content", "virus",
                           "no_relaying", "sender_rejected", "policy", "mailbox_full", "filtered", "has_moved",
                           "not_accept", "system_error", "rate_limited", "disabled", "mailer_error"}
# Codes that name the recipient's mailbox or domain (5.1.351: Exchange's "unknown recipient at
# the remote server").
RECIPIENT_CODES = {"5.1.1", "5.1.0", "5.1.2", "5.1.3", "5.1.6", "5.1.10", "5.1.351"}
STATUS_CLASS_REASONS = {"5.1": "unknown", "5.2": "mailbox_full", "5.3": "system_error", "5.4": "network_error",
                        "5.5": "unknown", "5.6": "content_error", "5.7": "policy"}

KIND_OF_REASON = {
    "user_unknown": Kind.HARD, "host_unknown": Kind.HARD, "has_moved": Kind.HARD, "not_accept": Kind.HARD,
    "mailbox_full": Kind.SOFT, "disabled": Kind.SOFT, "expired": Kind.SOFT, "message_too_big": Kind.SOFT,
    "rate_limited": Kind.SOFT, "mailer_error": Kind.SOFT, "network_error": Kind.SOFT, "system_error": Kind.SOFT,
    "temporary": Kind.SOFT, "filtered": Kind.SOFT,
    "auth_failure": Kind.SENDER_PROBLEM, "require_ptr": Kind.SENDER_PROBLEM, "tls_required": Kind.SENDER_PROBLEM,
    "blocklisted": Kind.SENDER_PROBLEM, "spam_content": Kind.SENDER_PROBLEM, "virus": Kind.SENDER_PROBLEM,
    "no_relaying": Kind.SENDER_PROBLEM, "sender_rejected": Kind.SENDER_PROBLEM, "policy": Kind.SENDER_PROBLEM,
    "content_error": Kind.SENDER_PROBLEM, "unknown": Kind.UNKNOWN,
}


def find_status(text: str) -> str | None:
    """The most specific enhanced status code in `text` ("5.1.1" beats "5.0.0")."""
    best: str | None = None
    for match in STATUS_RE.finditer(text):
        code = ".".join(match.groups())
        if best is None or (best.endswith(".0.0") and not code.endswith(".0.0")):
            best = code
    return best


def find_reply_code(text: str) -> int | None:
    match = REPLY_RE.search(text)
    return int(match.group(1)) if match else None


def best_status(*candidates: str | None) -> str | None:
    """Pick the most specific of several codes (DSN Status vs the code inside the diagnostic)."""
    chosen: str | None = None
    for code in candidates:
        if not code:
            continue
        if chosen is None or (chosen.split(".", 1)[1] == "0.0" and code.split(".", 1)[1] != "0.0"):
            chosen = code if chosen is None or code[0] == chosen[0] else chosen
    return chosen


def smtp_command(text: str) -> str:
    """The SMTP command a rejection answered: RCPT, MAIL, DATA, HELO or '' when not said."""
    found = ""
    for match in SMTP_COMMAND_RE.finditer(text.lower()):
        word = match.group(1).lower()
        found = "DATA" if "data" in match.group(0).lower() else word.split()[0].upper()
    return "HELO" if found == "EHLO" else found


def classify(status: str | None, diagnostic: str, *, action: str = "", context: str = "",
             recipient: str = "", structured: bool = False, command: str = "") -> Verdict:
    """Decide one recipient's fate.

    `diagnostic` is the remote server's reply (or the bounce text about this recipient);
    `context` is the rest of the human-readable notice, consulted only when the diagnostic says
    nothing we recognise. `action` is the DSN Action field (failed | delayed | delivered …);
    `structured` says the diagnostic is a DSN Diagnostic-Code (the remote reply verbatim) rather
    than lines picked out of a text notice. `command` is the SMTP command the session transcript
    shows last, when the caller found one.
    """
    action = action.strip().lower()
    diagnostic, context = diagnostic.lower(), context.lower()
    status = best_status(status, find_status(diagnostic))
    reply = find_reply_code(diagnostic)
    if action in {"delivered", "relayed", "expanded"} or (status or "").startswith("2."):
        return Verdict(Kind.DELIVERED, "delivered", status)
    temporary = action == "delayed" or (status or "").startswith("4.") or (
        status is None and reply is not None and 400 <= reply < 500
    )
    command = smtp_command(diagnostic) or smtp_command(context) or command
    if command == "MAIL" or status in {"5.1.7", "5.1.8"}:
        # Refused at MAIL FROM: it is our envelope sender, whatever the words say.
        return Verdict(Kind.SENDER_PROBLEM, "sender_rejected", status)
    said = _reason_from_text(diagnostic)
    coded = _reason_from_status(status)
    if coded in HARD_REASONS and said not in OVERRIDE_RECIPIENT_CODE:
        # An explicit 5.1.x names the mailbox; only words that blame the sender, a full
        # mailbox or the recipient's filter outrank it ("giving up" boilerplate does not).
        reason = coded
    else:
        reason = said or STATUS_REASONS.get(status or "") or _reason_from_text(context) or coded
    if reason is None:
        return Verdict(Kind.SOFT if temporary else Kind.UNKNOWN, "temporary" if temporary else "unknown", status)
    kind = KIND_OF_REASON[reason]
    if kind is Kind.HARD:
        return _withdrawn(reason, status, temporary, diagnostic, context, recipient, structured, command) or Verdict(
            kind, reason, status)
    return Verdict(kind, reason, status)


def _withdrawn(reason: str, status: str | None, temporary: bool, diagnostic: str, context: str, recipient: str,
               structured: bool, command: str) -> Verdict | None:
    """The verdict that replaces a hard one the evidence does not carry, or None to keep it."""
    directory = bool(DIRECTORY_VERDICTS.search(diagnostic) or DIRECTORY_VERDICTS.search(context))
    if temporary or _contradicts_hard(status) and not DIRECTORY_VERDICTS.search(diagnostic):
        # A 4xx "user unknown" is a directory hiccup; a 5.2.x one names a mailbox that exists but
        # is disabled or full (soft); a 5.7.x one is a policy block in disguise (for a person).
        if temporary or (status or "").startswith("5.2."):
            return Verdict(Kind.SOFT, reason if temporary else _reason_from_status(status) or reason, status)
        return Verdict(Kind.UNKNOWN, reason, status)
    carrier = recipient.lower().endswith(FILTERING_CARRIERS)
    coded = status in RECIPIENT_CODES and not (carrier and status != "5.1.1")
    rcpt = _at_rcpt(command, diagnostic, recipient if structured else "")
    if reason == "user_unknown" and not coded and not rcpt and not (directory and not carrier):
        # Mailboxes are checked at RCPT TO (RFC 5321 §3.3); "unknown user" after DATA, or with no
        # code and no sign of the RCPT stage, is as often a content or sender filter speaking.
        return Verdict(Kind.SOFT, "filtered", status)
    return None


def _at_rcpt(command: str, text: str, recipient: str) -> bool:
    """Did the refusal answer RCPT TO? Said outright, or shown by a Diagnostic-Code quoting the
    address in angle brackets, which is how servers word an RCPT reply (`550 <a@b>: User
    unknown`). Text notices are not trusted for the latter: they quote the address themselves."""
    if RCPT_HINTS.search(text):
        return True
    if command:
        return command == "RCPT"
    return bool(recipient) and f"<{recipient.lower()}>" in text.lower()


def objection(notice: str) -> Verdict | None:
    """A reporter's own words that contradict a hard verdict ("Your message was rejected: Not
    enough disk space" above a 5.1.1 Diagnostic-Code). Only lines that name no address are read,
    so one recipient's mailbox-full line cannot overrule another's user-unknown."""
    general = "\n".join(line for line in notice.lower().split("\n") if "@" not in line)
    # "policy" alone is too common in footers ("Privacy Policy") to overrule anything.
    reason = SENDER_PROBLEMS_BUT_POLICY.first(general) or SOFT.first(general)
    return Verdict(KIND_OF_REASON[reason], reason, None) if reason else None


def _reason_from_text(text: str) -> str | None:
    if not text:
        return None
    return (RECIPIENT_FIRST.first(text) or SENDER_PROBLEMS.first(text) or SOFT.first(text)
            or FILTERED.first(text) or HARD.first(text) or GENERIC_SOFT.first(text))


def _reason_from_status(status: str | None) -> str | None:
    if not status or status.endswith(".0.0") or status[0] != "5":
        return None
    return STATUS_REASONS.get(status) or STATUS_CLASS_REASONS.get(status[:3])


def _contradicts_hard(status: str | None) -> bool:
    """Codes that never mean "no such mailbox"; a text saying so is then not trusted."""
    if not status:
        return False
    subject = status.split(".")[1]
    return subject in {"2", "3", "6", "7"} and status not in {"5.3.2", "5.3.0"}
