"""Bounce classification accuracy on the Sisimai sample set, against flufl.bounce.

    .venv/bin/python bench/bounce_accuracy.py [CORPUS_DIR] [--misses] [--no-peer]

CORPUS_DIR defaults to ../shared/corpus/bounces (611 real bounces, expected.jsonl: see its
README); without it, the shipped fixture subset in tests/fixtures/bounces is measured.

Metrics, per expected line (one line per file and recipient):
  recipient found    our events name the expected recipient (or Sisimai's `alias`, the DSN
                     Original-Recipient: the address that was actually mailed)
  hard/soft agree    on lines where Sisimai says hard or not hard: (our kind == hard) == hard.
                     A recipient we did not find counts as "not hard".
  hard precision     of all events we call hard, those on a line Sisimai calls hard. An event
                     whose address matches no expected line counts as wrong.
  class agree        our kind vs Sisimai's reason mapped to our classes (REASON_CLASSES below).

An auto-reply names no recipient (only bounces and delays do): on Sisimai's `vacation` lines its
sender, who auto-replied, stands for the recipient, and counts when we call the message an auto-reply.
Sisimai has no delay class (a delay is a soft bounce with its reason), so `delayed` counts as soft.

Every corpus report is scored as if it had come back to our VERP address, as a bounce of our own
mail does: the import then lets the returned original's `To` stand in for a recipient the notice
does not name (only then, and only when that original names exactly one recipient). The row
"webzine, not ours" scores the same reports without that guess: mail that is not ours.

Message kinds: the confusion table of our message kind against the expected one, on the corpus
(Sisimai: vacation → auto_reply, feedback → complaint, anything else a bounce or delay), its
not-bounce folder, and the reply, auto-reply and delay samples in tests/fixtures/replies.

flufl.bounce (GNU Mailman's detector) is measured on the same files in its own virtualenv
(bench/.peers/flufl, created on first run): its "permanent" set is taken as its hard call.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webzine.bounces.dsn import parse_report  # noqa: E402
from webzine.providers import PROVIDERS  # noqa: E402
from webzine.bounces.kinds import MessageKind  # noqa: E402

PEER_VENV = ROOT / "bench" / ".peers" / "flufl"

# Sisimai reason → the classes webzine acts on. Sisimai's `hard` flag is the ground truth for
# hard/soft; this table only scores the finer split of the non-hard ones. A set means "any of".
REASON_CLASSES: dict[str, set[str]] = {
    **{r: {"hard"} for r in ("userunknown", "hostunknown", "hasmoved")},
    # notaccept: 5xx (null MX, domain accepts no mail) is hard; 4xx is soft. Decided per line.
    **{r: {"soft"} for r in ("mailboxfull", "expired", "suspend", "networkerror", "systemerror", "systemfull",
                              "toomanyconn", "exceedlimit", "mesgtoobig", "speeding", "onhold")},
    # The recipient's own filter refused it, or the MTA failed locally: worth a retry, not a removal.
    **{r: {"soft", "unknown"} for r in ("filtered", "mailererror", "undefined")},
    # The sender must fix these (policy, authentication, reputation, content): never suppress.
    **{r: {"sender_problem"} for r in ("blocked", "authfailure", "requireptr", "securityerror", "failedstarttls",
                                        "badreputation", "spamdetected", "policyviolation", "norelaying",
                                        "virusdetected", "contenterror", "notcompliantrfc", "syntaxerror")},
    # "rejected" is Sisimai's sender-address refusal: the sender's problem.
    "rejected": {"sender_problem"},
    "feedback": {"complaint", "unsubscribe"},
    "vacation": {"auto_reply"},
    "delivered": {"delivered"},
}


def expected_class(row: dict) -> set[str]:
    if row["reason"] == "notaccept":
        classes = {"hard"} if row["hard"] else {"soft", "unknown"}
    else:
        classes = REASON_CLASSES.get(row["reason"], {"unknown"})
    return classes | {"delayed"} if "soft" in classes else classes


def load_rows(corpus: Path) -> list[dict]:
    return [json.loads(line) for line in (corpus / "expected.jsonl").read_text().splitlines() if line.strip()]


def ours(corpus: Path, files: list[str]) -> tuple[dict[str, list[tuple[str, str]]], dict[str, list[tuple[str, str]]],
                                                 float]:
    """(findings as if the reports were about our mail, findings without the To guess, seconds)."""
    results: dict[str, list[tuple[str, str]]] = {}
    not_ours: dict[str, list[tuple[str, str]]] = {}
    started = time.perf_counter()
    for name in files:
        report = parse_report((corpus / name).read_bytes(), readers=tuple(PROVIDERS.values()))
        results[name] = [(f.email.lower(), f.kind.value) for f in report.findings]
        not_ours[name] = [(f.email.lower(), f.kind.value) for f in report.findings if not f.guessed]
        if report.kind is MessageKind.AUTO_REPLY:
            results[name].append((report.sender, "auto_reply"))
            not_ours[name].append((report.sender, "auto_reply"))
    return results, not_ours, time.perf_counter() - started


PEER_SCRIPT = r"""
import email, json, sys
from flufl.bounce import all_failures
out = {}
for name in sys.argv[2:]:
    msg = email.message_from_bytes(open(sys.argv[1] + '/' + name, 'rb').read())
    try:
        temporary, permanent = all_failures(msg)
        out[name] = [[a.decode('utf-8', 'replace').lower(), 'hard'] for a in permanent] + [
            [a.decode('utf-8', 'replace').lower(), 'soft'] for a in temporary if a not in permanent]
    except Exception as exc:  # the peer crashing on a sample is part of its score
        out[name] = []
print(json.dumps(out))
"""


def flufl(corpus: Path, files: list[str]) -> dict[str, list[tuple[str, str]]] | None:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "flufl.bounce"], check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"flufl.bounce unavailable ({exc}); measuring webzine only", file=sys.stderr)
            return None
    done = subprocess.run([str(python), "-c", PEER_SCRIPT, str(corpus), *files], capture_output=True, text=True,
                          check=True)
    return {k: [tuple(x) for x in v] for k, v in json.loads(done.stdout).items()}


def score(rows: list[dict], found: dict[str, list[tuple[str, str]]]) -> dict[str, float]:
    recipient_hits = agree = judged = class_hits = 0
    expected_by_file: dict[str, dict[str, dict]] = {}
    for row in rows:
        names = {row["recipient"].lower()} | ({row["alias"].lower()} if row.get("alias") else set())
        events = found.get(row["file"], [])
        match = next((kind for address, kind in events if address in names), None)
        recipient_hits += match is not None
        if row["hard"] is not None:
            judged += 1
            agree += (match == "hard") == row["hard"]
        class_hits += match in expected_class(row)
        for name in names:
            expected_by_file.setdefault(row["file"], {})[name] = row
    hard_calls = hard_right = 0
    for name, events in found.items():
        for address, kind in events:
            if kind != "hard":
                continue
            hard_calls += 1
            row = expected_by_file.get(name, {}).get(address)
            hard_right += bool(row and row["hard"])
    return {
        "recipient": recipient_hits / len(rows),
        "agree": agree / judged if judged else 0.0,
        "precision": hard_right / hard_calls if hard_calls else 1.0,
        "hard_calls": hard_calls,
        "hard_right": hard_right,
        "recall": hard_right / sum(1 for r in rows if r["hard"]),
        "class": class_hits / len(rows),
    }


def misses(rows: list[dict], found: dict[str, list[tuple[str, str]]]) -> None:
    hard_rows = {(r["file"], n) for r in rows if r["hard"] for n in (r["recipient"].lower(), (r["alias"] or "").lower())}
    for name, events in found.items():
        for address, kind in events:
            if kind == "hard" and (name, address) not in hard_rows:
                print(f"WRONG HARD {name} {address}")
    for row in rows:
        names = {row["recipient"].lower()} | ({row["alias"].lower()} if row.get("alias") else set())
        events = found.get(row["file"], [])
        match = next((kind for address, kind in events if address in names), None)
        if match is None or match not in expected_class(row) or (match == "hard") != bool(row["hard"]):
            print(f"{row['file']:40} want {row['recipient']} {row['reason']}/{row['hard']} {row['status']}"
                  f"  got {events}")


KIND_COLUMNS = [kind.value for kind in MessageKind]


def kind_rows(corpus: Path, rows: list[dict]) -> list[tuple[str, str, str]]:
    """(label, expected kind, our kind) for every corpus, not-bounce and reply-sample message."""
    expected = {row["file"]: {"vacation": "auto_reply", "feedback": "complaint"}.get(row["reason"], "bounce or delay")
                for row in rows}
    found = [("corpus", want, parse_report((corpus / name).read_bytes()).kind.value) for name, want in expected.items()]
    not_bounce = corpus / "not-bounce.jsonl"
    if not_bounce.exists():
        found += [("not-bounce", "not a bounce", parse_report((corpus / row["file"]).read_bytes()).kind.value)
                  for row in map(json.loads, not_bounce.read_text().splitlines())]
    samples = ROOT / "tests" / "fixtures" / "replies"
    found += [("reply samples", row["kind"], parse_report((samples / row["file"]).read_bytes()).kind.value)
              for row in map(json.loads, (samples / "kinds.jsonl").read_text().splitlines())]
    return found


def print_kind_table(found: list[tuple[str, str, str]]) -> None:
    print("\nmessage kinds (rows: where / expected; columns: ours)")
    print(f"{'':34}" + "".join(f"{column:>12}" for column in KIND_COLUMNS))
    for label, want in sorted({(label, want) for label, want, _ in found}):
        counts = [sum(1 for l, w, got in found if (l, w, got) == (label, want, column)) for column in KIND_COLUMNS]
        print(f"{label + ' / ' + want:34}" + "".join(f"{count or '.':>12}" for count in counts))


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    default = ROOT.parent / "shared" / "corpus" / "bounces"
    corpus = Path(args[0]) if args else default if default.exists() else ROOT / "tests" / "fixtures" / "bounces"
    rows = load_rows(corpus)
    files = sorted({row["file"] for row in rows})
    found, not_ours, seconds = ours(corpus, files)
    if "--misses" in argv:
        misses(rows, found)
    table = [("webzine", score(rows, found))]
    unguessed = ("webzine, not ours", score(rows, not_ours))
    peer = None if "--no-peer" in argv else flufl(corpus, files)
    if peer is not None:
        table.append(("flufl.bounce", score(rows, peer)))
    print(f"corpus: {corpus} ({len(files)} messages, {len(rows)} expected lines); webzine parsed them in "
          f"{seconds:.2f} s")
    print(f"{'detector':18} {'recipient':>10} {'hard/soft':>10} {'hard prec.':>11} {'hard calls':>11}"
          f" {'hard recall':>12} {'class':>7}")
    for name, s in [*table, unguessed]:
        print(f"{name:18} {s['recipient']:10.1%} {s['agree']:10.1%} {s['precision']:11.2%}"
              f" {s['hard_right']:>5}/{s['hard_calls']:<5} {s['recall']:12.1%} {s['class']:7.1%}")
    if peer is not None:
        base, other = table[0][1], table[1][1]
        print(f"ratio webzine/flufl: recipient {base['recipient'] / max(other['recipient'], 1e-9):.2f}x, "
              f"hard precision {base['precision'] / max(other['precision'], 1e-9):.2f}x")
    print_kind_table(kind_rows(corpus, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
