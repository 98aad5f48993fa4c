#!/usr/bin/env bash
# Restores a backup made by deploy/backup.sh into an EMPTY database, then proves it whole
# with Linli's own checks: the ledger balances, the daily demand counts equal a recount, and
# no parking slot is booked twice. Any failure stops with a non-zero exit.
#
#   createdb -h db.internal -U postgres linli_restored
#   deploy/restore.sh linli-2026-12-06.dump postgres://linli@db.internal/linli_restored
#
# `linli` must be on the PATH (or set LINLI=/path/to/linli). Point the instances at the
# restored database (LINLI__DATABASE__URL) once it passes; the dashboard then shows the
# figures it showed when the backup was taken.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 BACKUP_FILE EMPTY_DATABASE_URL" >&2
  exit 2
fi
file=$1
database_url=$2
linli=${LINLI:-linli}
pg_restore --exit-on-error --no-owner --no-privileges --dbname "$database_url" "$file"
export LINLI__DATABASE__URL="$database_url"
export LINLI__DEMO__SEED=false
"$linli" ledger verify
"$linli" demands verify-counts
"$linli" parking verify-bookings
echo "restored into $database_url and verified"
