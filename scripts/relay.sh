#!/usr/bin/env bash
# The README's first command: set up, create a first organizer account if the
# store has none (its password is printed once), and run a relay on loopback.
# Extra arguments go to `screenrelay relay` (e.g. --listen 0.0.0.0:8443 --tls-cert ...).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
DATA="${SCREENRELAY_DATA:-$PWD/screenrelay-data}"
SR=.venv/bin/screenrelay
if [ -z "$($SR admin --data "$DATA" user list)" ]; then
  password="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(15))')"
  printf '%s\n' "$password" | $SR admin --data "$DATA" user add organizer --role organizer --password-stdin
  cat <<MSG

  First organizer account: organizer   password: $password
  (shown once; add more with: $SR admin --data $DATA user add NAME --role organizer)

MSG
fi
cat <<MSG
  Start a session (another terminal, on the machine whose screen you share):
      $SR host --relay http://127.0.0.1:8080 --user organizer --share
  Join it (asks for the session password the host printed):
      $SR join <9-digit ID> --relay http://127.0.0.1:8080
  or with the invitation link the host printed:
      $SR join '<link>'

MSG
exec $SR relay --data "$DATA" "$@"
