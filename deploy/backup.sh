#!/usr/bin/env bash
# Backs up Linli's PostgreSQL database to one file (pg_dump's custom format: compressed,
# restorable table by table). Safe while Linli runs: pg_dump reads one consistent snapshot,
# so the ledger in the file balances and every demand is with its counts.
#
#   deploy/backup.sh postgres://linli@db.internal/linli  linli-$(date +%F).dump
#
# Keep the file with the care encryption key (LINLI__CARE__ENCRYPTION_KEY): without it the
# care records' phone and ID numbers in a restored database cannot be read.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 DATABASE_URL BACKUP_FILE" >&2
  exit 2
fi
database_url=$1
file=$2
pg_dump --format=custom --no-owner --no-privileges --file "$file" "$database_url"
echo "backed up to $file ($(du -h "$file" | cut -f1))"
