#!/usr/bin/env bash
# Persist the send state between CI runs on a dedicated branch, so a re-run (or the next month's
# run on a fresh runner) resumes instead of starting over.
#
#   .ci/state.sh restore   copy state/ and lists/suppressions.csv from the state branch (if any)
#   .ci/state.sh save MSG  commit them to the state branch and push, retrying on a push conflict
#
# Only the branch's newest commit is fetched (shallow), and only its trees at first (a partial
# fetch, blob:none): restore then reads the files it writes, one blob each, so history and the
# archives a run does not need never cross the network. WEBZINE_STATE_ARCHIVES=N restores only
# the newest N issue archives (default: all; the ledger refuses to answer for an archived issue
# whose file is absent rather than guess).
#
# Before saving, `webzine ledger compact` folds closed issues into state/<ledger>-archive/
# <issue>.sqlite3.gz. An archive is written once and never rewritten, so a month's commit adds
# that month's archive and the (small) live ledger; save never deletes an archive from the branch.
# The commit is built with a temporary index (no checkout), so saving reads no old blobs either.
#
# The ledger is SQLite in WAL mode: it is copied after the writer has exited (and compact leaves
# it checkpointed), which SQLite treats as a consistent snapshot.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
BRANCH="${WEBZINE_STATE_BRANCH:-webzine-state}"
REMOTE="${WEBZINE_STATE_REMOTE:-origin}"
ARCHIVES="${WEBZINE_STATE_ARCHIVES:-all}"
TRACKING="refs/remotes/$REMOTE/$BRANCH"
INDEX="$(git rev-parse --git-dir)/webzine-state.index"
FILES=(state lists/suppressions.csv)
# Partial fetches without changing the repository's configuration: every git call that may need
# a blob of the state branch says the remote is a promisor (a lazy fetch gets what is missing).
GIT=(git -c "remote.$REMOTE.promisor=true" -c "remote.$REMOTE.partialclonefilter=blob:none")

fetch() {
  "${GIT[@]}" fetch -q --depth 1 --filter=blob:none "$REMOTE" "+refs/heads/$BRANCH:$TRACKING" 2>/dev/null
}

is_archive() { [[ "$1" == state/*-archive/*.sqlite3.gz ]]; }

restore() {
  if ! fetch; then echo "state: no $BRANCH branch yet; starting without state"; return 0; fi
  local paths keep=()
  mapfile -t paths < <(git ls-tree -r --name-only "$TRACKING")
  local archives=() others=()
  for path in "${paths[@]}"; do
    if is_archive "$path"; then archives+=("$path"); else others+=("$path"); fi
  done
  if [ "$ARCHIVES" = all ]; then keep=("${archives[@]}")
  elif [ "${#archives[@]}" -gt 0 ] && [ "$ARCHIVES" -gt 0 ]; then
    mapfile -t keep < <(printf '%s\n' "${archives[@]}" | sort | tail -n "$ARCHIVES")
  fi
  for item in "${FILES[@]}"; do  # an item the branch lacks stays as the checkout has it
    if printf '%s\n' "${paths[@]}" | grep -qxE "$item(/.*)?"; then rm -rf "$item"; fi
  done
  for path in "${others[@]}" "${keep[@]}"; do
    [ -n "$path" ] || continue
    mkdir -p "$(dirname "$path")"
    "${GIT[@]}" cat-file blob "$TRACKING:$path" > "$path.restoring"
    mv "$path.restoring" "$path"
  done
  echo "state: restored ${#others[@]} files and ${#keep[@]} of ${#archives[@]} issue archives from $BRANCH"
}

compact() {
  if command -v webzine >/dev/null 2>&1 && [ -f webzine.toml ]; then webzine ledger compact; fi
}

# The state branch's next tree: its files outside state/ and lists/suppressions.csv as they are,
# every archive it has, and the local state (new archives added, other files replaced).
build_tree() {
  local parent="$1"
  rm -f "$INDEX"
  if [ -n "$parent" ]; then GIT_INDEX_FILE="$INDEX" git read-tree "$parent"; else GIT_INDEX_FILE="$INDEX" git read-tree --empty; fi
  local path
  while IFS= read -r path; do
    is_archive "$path" || GIT_INDEX_FILE="$INDEX" git update-index --force-remove -- "$path"
  done < <(for item in "${FILES[@]}"; do [ -e "$item" ] && GIT_INDEX_FILE="$INDEX" git ls-files -- "$item"; done)
  while IFS= read -r -d '' path; do
    if is_archive "$path" && GIT_INDEX_FILE="$INDEX" git ls-files --error-unmatch -- "$path" >/dev/null 2>&1; then
      continue  # written once: the branch's copy is the same issue's archive
    fi
    GIT_INDEX_FILE="$INDEX" git update-index --add --cacheinfo "100644,$(git hash-object -w -- "$path"),$path"
  done < <(find "${FILES[@]}" -type f ! -name '*.lock' ! -name '*.restoring' -print0 2>/dev/null)
  GIT_INDEX_FILE="$INDEX" git write-tree --missing-ok
}

save() {
  local message="${1:-webzine state}"
  compact
  for attempt in 1 2 3 4 5; do
    local parent="" tree commit
    if fetch; then parent="$(git rev-parse "$TRACKING")"; fi
    tree="$(build_tree "$parent")"
    rm -f "$INDEX"
    if [ -n "$parent" ] && [ "$tree" = "$(git rev-parse "$parent^{tree}")" ]; then
      echo "state: nothing changed"; return 0
    fi
    commit="$(git -c user.name="webzine-ci" -c user.email="webzine-ci@users.noreply.github.com" \
      commit-tree "$tree" ${parent:+-p "$parent"} -m "$message")"
    if "${GIT[@]}" push -q "$REMOTE" "$commit:refs/heads/$BRANCH"; then
      echo "state: saved to $BRANCH"; return 0
    fi
    echo "state: push rejected (attempt $attempt), fetching and retrying" >&2
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
