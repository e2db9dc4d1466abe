#!/bin/sh
# Install cdr as an appliance: user, folders, venv in /opt/cdr, config in /etc/cdr, units.
# Run as root from a checkout:  make install   (or: sh systemd/install.sh)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "install: run as root" >&2; exit 2; }

getent group cdr >/dev/null || groupadd --system cdr
getent passwd cdr >/dev/null || useradd --system --gid cdr --home-dir /var/lib/cdr --shell /usr/sbin/nologin cdr

install -d -o cdr -g cdr -m 2770 /srv/cdr/inbox /srv/cdr/batch/inbox
install -d -o cdr -g cdr -m 2750 /srv/cdr/outbox /srv/cdr/batch/outbox
install -d -o cdr -g cdr -m 0750 /var/lib/cdr /var/lib/cdr/spool /var/lib/cdr/batch-spool /var/lib/cdr/quarantine
install -d -o cdr -g cdr -m 0750 /var/log/cdr
install -d -m 0755 /etc/cdr

[ -f /etc/cdr/cdr.yaml ] || install -m 0644 "$here/systemd/cdr.yaml" /etc/cdr/cdr.yaml
[ -f /etc/cdr/policy.yaml ] || install -m 0644 "$here/policies/default.yaml" /etc/cdr/policy.yaml
install -m 0644 "$here/policies/strict.yaml" /etc/cdr/policy.strict.example.yaml

python3 -m venv /opt/cdr/venv
/opt/cdr/venv/bin/pip install -q --upgrade pip
/opt/cdr/venv/bin/pip install -q "$here"
/opt/cdr/venv/bin/cdr policy check /etc/cdr/policy.yaml

for unit in cdr-watch.service cdr-batch.service cdr-batch.timer cdr-purge.service cdr-purge.timer; do
    install -m 0644 "$here/systemd/$unit" "/etc/systemd/system/$unit"
done
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --now cdr-watch.service cdr-batch.timer cdr-purge.timer
    echo "cdr: running; see: systemctl status cdr-watch, cdr status"
else
    echo "cdr: installed; systemd is not running here, start the units after boot"
fi
