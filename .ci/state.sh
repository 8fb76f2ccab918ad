#!/usr/bin/env bash
# Persist the send state between CI runs on a dedicated branch, so a re-run (or the next month's
# run on a fresh runner) resumes instead of starting over.
#
#   .ci/state.sh restore   copy state/ and lists/suppressions.csv from the state branch (if any)
#   .ci/state.sh save MSG  commit them to the state branch and push, retrying on a push conflict
#
# The ledger is SQLite in WAL mode: state/ is copied whole (db, -wal, -shm) after the writer has
# exited, which SQLite treats as a consistent snapshot.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
BRANCH="${WEBZINE_STATE_BRANCH:-webzine-state}"
REMOTE="${WEBZINE_STATE_REMOTE:-origin}"
WORK=".git/webzine-state"
FILES=(state lists/suppressions.csv)

prepare() {
  rm -rf "$WORK"
  if git fetch -q "$REMOTE" "+refs/heads/$BRANCH:refs/remotes/$REMOTE/$BRANCH" 2>/dev/null; then
    git worktree add -q --force "$WORK" "$REMOTE/$BRANCH" --detach
  else
    git worktree add -q --force --detach "$WORK" HEAD
    git -C "$WORK" checkout -q --orphan "$BRANCH.tmp"
    git -C "$WORK" rm -rq --cached . >/dev/null 2>&1 || true
    find "$WORK" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +
  fi
}

cleanup() { git worktree remove --force "$WORK" >/dev/null 2>&1 || rm -rf "$WORK"; git worktree prune; }

restore() {
  prepare
  for item in "${FILES[@]}"; do
    if [ -e "$WORK/$item" ]; then
      mkdir -p "$(dirname "$item")"
      rm -rf "$item"
      cp -a "$WORK/$item" "$item"
      echo "state: restored $item from $BRANCH"
    fi
  done
  cleanup
}

save() {
  local message="${1:-webzine state}"
  for attempt in 1 2 3 4 5; do
    prepare
    for item in "${FILES[@]}"; do
      [ -e "$item" ] || continue
      mkdir -p "$WORK/$(dirname "$item")"
      rm -rf "${WORK:?}/$item"
      cp -a "$item" "$WORK/$item"
    done
    git -C "$WORK" add -A
    if git -C "$WORK" diff --cached --quiet; then echo "state: nothing changed"; cleanup; return 0; fi
    git -C "$WORK" -c user.name="webzine-ci" -c user.email="webzine-ci@users.noreply.github.com" \
      commit -qm "$message"
    if git -C "$WORK" push -q "$REMOTE" "HEAD:refs/heads/$BRANCH"; then
      echo "state: saved to $BRANCH"; cleanup; return 0
    fi
    echo "state: push rejected (attempt $attempt), fetching and retrying" >&2
    cleanup
    sleep $((attempt * 2))
  done
  echo "state: could not push to $BRANCH after 5 attempts" >&2
  return 1
}

case "${1:-}" in
  restore) restore ;;
  save) save "${2:-}" ;;
  *) echo "usage: $0 restore | save MESSAGE" >&2; exit 2 ;;
esac
