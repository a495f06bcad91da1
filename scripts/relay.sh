#!/usr/bin/env bash
# The README's first command: set up, create a first organizer and a first
# admin if the store has none of that role (each password is printed once),
# and run a relay on loopback.
# Extra arguments go to `screenrelay relay` (e.g. --listen 0.0.0.0:8443 --tls-cert ...).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
DATA="${SCREENRELAY_DATA:-$PWD/screenrelay-data}"
SR=.venv/bin/screenrelay
# The address the hints below name: the one given with --listen, over HTTPS
# when a certificate is asked for; a relay on every interface is reached on
# this machine through loopback.
LISTEN=127.0.0.1:8080
SCHEME=http
CLIENT_TLS=""
prev=""
for arg in "$@"; do
  case "$prev" in --listen) LISTEN="$arg" ;; esac
  case "$arg" in
    --listen=*) LISTEN="${arg#--listen=}" ;;
    --tls-cert | --tls-cert=*) SCHEME=https ;;
    --tls-self-signed) SCHEME=https CLIENT_TLS=" --cafile $DATA/tls/ca.pem" ;;
  esac
  prev="$arg"
done
HOST="${LISTEN%:*}"
PORT="${LISTEN##*:}"
case "$HOST" in 0.0.0.0 | "" | "[::]" | "::") HOST=127.0.0.1 ;; esac
URL="$SCHEME://$HOST:$PORT"
first="$($SR admin --data "$DATA" init)"
if [ -n "$first" ]; then
  cat <<MSG

$first
  (more accounts: $SR admin --data $DATA user add NAME --role organizer|admin)

MSG
fi
cat <<MSG
  Start a session (another terminal, on the machine whose screen you share):
      $SR host --relay $URL$CLIENT_TLS --user organizer --share
  Join it (asks for the session password the host printed):
      $SR join <9-digit ID> --relay $URL$CLIENT_TLS
  or with the invitation link the host printed:
      $SR join '<link>'$CLIENT_TLS
  or open that link in a browser on this machine (other machines need HTTPS:
  add --tls-self-signed or --tls-cert/--tls-key to this command).
  Administer (sign in as admin): $URL/admin
  Check the audit trail (and note the head it prints somewhere else):
      $SR admin --data $DATA audit verify

MSG
exec $SR relay --data "$DATA" "$@"
