#!/usr/bin/env sh
# Write the secrets compose.yaml mounts (docker/secrets/), once; existing files are kept.
# Needs only openssl. Afterwards, copy secrets/master_key to the place where the master key is
# kept apart from every other backup (docs/operations.md, "Back up").
set -eu
cd "$(dirname "$0")"
umask 077
mkdir -p secrets
chmod 700 secrets

write() {  # name value
  if [ -s "secrets/$1" ]; then
    echo "kept     secrets/$1"
  else
    printf '%s' "$2" > "secrets/$1"
    echo "written  secrets/$1"
  fi
  # Readable inside the containers (they run as other users); the folder keeps others out.
  chmod 644 "secrets/$1"
}

key32() { openssl rand -base64 32; }

write secret_key "$(openssl rand -base64 48 | tr -d '\n')"
write audit_signing_key "$(key32)"
write evidence_signing_key "$(key32)"
write stream_credentials_key "$(key32)"
write master_key "$(key32)"
write postgres_password "$(openssl rand -hex 24)"
# Two database roles: csu owns the tables and migrates (the migrate service only); csu_app is
# the application's, with INSERT and SELECT only on the audit tables (docs/operations.md).
write migration_database_url "postgres://csu:$(cat secrets/postgres_password)@postgres:5432/csu"
write database_url "postgres://csu_app:$(openssl rand -hex 24)@postgres:5432/csu"
if grep -q '^postgres://csu:' secrets/database_url; then
  echo "secrets/database_url still names the owner role csu: remove it and run this again"
  echo "(docs/operations.md, \"Database roles\")"
  exit 1
fi
write s3_access_key "csu-$(openssl rand -hex 8)"
write s3_secret_key "$(openssl rand -hex 32)"

echo
echo "Back up secrets/master_key now, apart from the database and object store backups."
