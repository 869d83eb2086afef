#!/usr/bin/env bash
# Installs the real components `lab up` deploys (MariaDB, PHP-FPM with
# mysqli, nginx; HAProxy, keepalived and iproute2 for silver) from Debian's
# packages, and leaves none of their own services running: lab starts
# its own daemons, under its own run folder, and stops them itself.
#
#   sudo scripts/install-real.sh
#
# Safe to run again. `lab doctor` then says what the machine has.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "install-real.sh installs packages with apt-get: run it as root (sudo $0)" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null; then
    echo "install-real.sh needs apt-get (Debian or Ubuntu); install by hand:" \
        "mariadb-server nginx php-fpm php-mysql haproxy keepalived iproute2" >&2
    exit 1
fi

packages=(mariadb-server mariadb-client nginx php-fpm php-mysql haproxy keepalived iproute2)

# While packages install, invoke-rc.d asks policy-rc.d whether it may start
# a service; 101 says no. Keep whatever policy the machine had.
policy=/usr/sbin/policy-rc.d
saved=""
if [ -e "$policy" ]; then
    saved="$(mktemp)"
    cp -a "$policy" "$saved"
fi
restore_policy() {
    if [ -n "$saved" ]; then
        mv -f "$saved" "$policy"
    else
        rm -f "$policy"
    fi
}
trap restore_policy EXIT
printf '#!/bin/sh\n# lab: no service starts while install-real.sh installs\nexit 101\n' > "$policy"
chmod 755 "$policy"

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q "${packages[@]}"

restore_policy
trap - EXIT

# Where systemd runs, its units may have started regardless: stop them and
# keep them from starting at boot. Without systemd, policy-rc.d kept the
# init scripts from starting anything.
services=(mariadb nginx haproxy keepalived)
for unit in /lib/systemd/system/php*-fpm.service; do
    [ -e "$unit" ] && services+=("$(basename "$unit" .service)")
done
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    for s in "${services[@]}"; do
        systemctl disable --now "$s" >/dev/null 2>&1 || true
    done
fi

echo "installed: ${packages[*]}"
echo "none of their services is left running; lab starts its own (see \`lab doctor\`)"
