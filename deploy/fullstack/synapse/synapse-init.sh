#!/bin/sh
# One-shot, as root in the Synapse image: puts the secrets Synapse reads via
# *_path into its data volume, generates the signing key, and hands the
# volume to the synapse user (uid 991). Safe to run on every `up`.
set -eu
umask 077
mkdir -p /data/secrets
# The shared secret comes from the env file so the setup job can register users.
printf '%s' "$SYNAPSE_REGISTRATION_SHARED_SECRET" > /data/secrets/registration_shared_secret
# The others never leave the volume: random once, then kept.
for name in macaroon_secret_key form_secret; do
  [ -s "/data/secrets/$name" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "/data/secrets/$name"
done
python -m synapse.app.homeserver --config-path /deploy/homeserver.yaml --generate-keys
chown -R "${UID:-991}:${GID:-991}" /data
