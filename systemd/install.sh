#!/bin/sh
# Install or update cdr as an appliance, from a checkout, as root:   make install
#   the service user cdr; /srv/cdr (inbox, outbox and spool on one file system),
#   /var/lib/cdr, /var/log/cdr; a venv in /opt/cdr/venv built from the system Python;
#   /usr/local/bin/cdr; /etc/cdr/{cdr.yaml,policy.yaml}; the systemd units, started.
# Settings, from the environment (make install CONTACT="…"):
#   CONTACT   whom staff should ask (部署・内線), written into the policy's notice: contact:.
#             Asked for on a terminal; a re-install keeps a real one; 内線 0000 is refused.
#   WHEELS    a folder of wheels to install from instead of the package index, for a server
#             without internet (made where there is: `pip wheel -w wheels .` in the checkout).
#   CDR_ROOT  install under this folder instead of / (the tests): every path is prefixed and
#             the result runs from the host at those paths; systemctl is left alone.
set -eu
umask 022 # the venv, the configuration and the units must be readable by the service user
here=$(cd "$(dirname "$0")/.." && pwd)
root=${CDR_ROOT:-}
root=${root%/}
# Never the python3 a PATH finds first: a pyenv or conda interpreter in root's PATH can be
# removed or upgraded by its owner, and the service would break with it.
system_python=/usr/bin/python3
venv=$root/opt/cdr/venv
etc=$root/etc/cdr
srv=$root/srv/cdr

say() { printf 'install: %s\n' "$@" >&2; }
refuse() {
    say "$@"
    exit 2
}

[ "$(id -u)" = 0 ] || refuse "root で実行してください。" "run it as root"
"$system_python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
    refuse "システムの Python（$system_python）がないか、3.11 より古いです。Debian 12 以降で apt-get install python3 python3-venv を実行してください。" \
        "the system Python ($system_python) is missing or older than 3.11: cdr runs on Debian's python3"
"$system_python" -c 'import ensurepip, venv' 2>/dev/null ||
    refuse "python3-venv がありません。apt-get install python3-venv を実行してください。" "python3-venv is missing"

# ---- the venv: /usr/bin/python3's, rebuilt when an older install took another interpreter
system_version=$("$system_python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ -f "$venv/pyvenv.cfg" ] && ! { grep -qx 'home = /usr/bin' "$venv/pyvenv.cfg" &&
    grep -q "^version = $system_version\." "$venv/pyvenv.cfg"; }; then
    say "$venv をシステムの Python で作り直します。" "rebuilding $venv from $system_python"
    rm -rf "$venv"
fi
install -d -m 0755 "$root/opt/cdr"
[ -x "$venv/bin/python" ] || "$system_python" -m venv "$venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore # root installing a venv is the point here
if [ -n "${WHEELS:-}" ]; then
    # no index at all; cdr is reinstalled even at the same version number (a newer checkout)
    "$venv/bin/pip" install -q --no-index --find-links "$WHEELS" cdr
    "$venv/bin/pip" install -q --no-index --find-links "$WHEELS" --force-reinstall --no-deps cdr
else
    "$venv/bin/pip" install -q "$here"
fi
# -I: the checkout (the current folder) must not shadow the installed package
cdr_module() { "$venv/bin/python" -I -m cdr.install "$@"; }

# ---- the contact first: a refusal leaves /etc/cdr and the service as they were
install -d -m 0755 "$etc"
cdr_module contact "$etc/policy.yaml" "$here/policies/default.yaml" || exit 2

# ---- the service user
if [ -n "$root" ]; then prefix="--prefix $root"; else prefix=""; fi
account() { if [ -z "$root" ]; then getent "$1" cdr; else grep '^cdr:' "$root/etc/$1" 2>/dev/null; fi; }  # a scratch root has no /etc/passwd yet
account group >/dev/null || groupadd $prefix --system cdr
account passwd >/dev/null || useradd $prefix --system --gid cdr --home-dir /var/lib/cdr --shell /usr/sbin/nologin cdr
uid=$(account passwd | cut -d: -f3)
gid=$(account group | cut -d: -f3)
# as the service runs: its user and group only, a clean environment, from /
as_cdr() {
    (cd / && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG="${LANG:-C.UTF-8}" CDR_CONFIG="$etc/cdr.yaml" \
        setpriv --reuid "$uid" --regid "$gid" --clear-groups "$@")
}

# ---- folders. The spool sits beside the inbox on the share's file system: a file is
# claimed by renaming it from the inbox into the spool, which only works on one file system.
# /srv/cdr itself is never shared (only inbox and outbox are), so staff never see the spool.
install -d -m 0755 "$srv" "$srv/batch"
install -d -o "$uid" -g "$gid" -m 2770 "$srv/inbox" "$srv/batch/inbox"
install -d -o "$uid" -g "$gid" -m 2750 "$srv/outbox" "$srv/batch/outbox"
install -d -o "$uid" -g "$gid" -m 0750 "$srv/spool" "$srv/batch/spool"
# verified outputs kept by content (cdr/cache.py): the service user's alone, as the cache checks
install -d -o "$uid" -g "$gid" -m 0700 "$srv/cache" "$srv/batch/cache"
install -d -o "$uid" -g "$gid" -m 0750 "$root/var/lib/cdr" "$root/var/lib/cdr/quarantine" "$root/var/log/cdr"
# the audit anchors (cdr-anchor.timer, as root): a folder the service user cannot even read
install -d -m 0700 "$root/var/lib/cdr-anchor"
old_batch_spool=$root/var/lib/cdr/batch-spool # before issue 10; cdr-batch.service no longer names it
if [ -n "$(ls -A "$old_batch_spool" 2>/dev/null)" ]; then
    say "以前の夜間バッチの作業フォルダー $old_batch_spool にファイルが残っています。$srv/batch/spool へ移してください。" \
        "$old_batch_spool still holds jobs: move them into $srv/batch/spool"
fi

# ---- configuration; an existing cdr.yaml is kept (under CDR_ROOT its paths are prefixed)
if [ ! -f "$etc/cdr.yaml" ]; then
    sed "s#\([ :]\)/\(srv/cdr\|var/lib/cdr\|var/log/cdr\|etc/cdr\)#\1$root/\2#g" "$here/systemd/cdr.yaml" >"$etc/cdr.yaml.new"
    chmod 0644 "$etc/cdr.yaml.new"
    mv "$etc/cdr.yaml.new" "$etc/cdr.yaml"
fi
install -m 0644 "$here/policies/strict.yaml" "$etc/policy.strict.example.yaml"

# ---- what the service will do, done once now as the service user
bin=$venv/bin
if ! as_cdr "$bin/cdr" --version >/dev/null; then
    blocked=""
    folder=""
    for part in $(echo "${bin#/}" | tr / ' '); do
        folder="$folder/$part"
        as_cdr test -x "$folder" || { blocked=$folder && break; }
    done
    refuse "サービス用ユーザー cdr が $bin/cdr を実行できません${blocked:+（$blocked に入れません。chmod o+x $blocked）}。" \
        "the service user cdr cannot run $bin/cdr${blocked:+: it cannot enter $blocked}"
fi
as_cdr "$bin/python" -I -m cdr.install filesystems --batch "$srv/batch/inbox" "$srv/batch/spool" || exit 2
as_cdr "$bin/cdr" policy check "$etc/policy.yaml" >/dev/null ||
    refuse "$etc/policy.yaml をサービス用ユーザー cdr が読めないか、誤りがあります（上の行）。" \
        "the service user cannot use $etc/policy.yaml (see above)"

# ---- cdr on the administrator's PATH. Commands that change the appliance's state run as
# the service user even when root types them: a quarantine entry, spool job or audit segment
# made by root is one the daemon and the purge timer can no longer change. (audit anchor
# stays root's: it writes where the service cannot.)
install -d -m 0755 "$root/usr/local/bin"
cat >"$root/usr/local/bin/cdr.new" <<EOF
#!/bin/sh
# cdr for the administrator, written by cdr's systemd/install.sh.
# The command's first two words, after the options that may come before them (cdr -v …).
first="" second=""
for word in "\$@"; do
    if [ -z "\$first" ]; then
        case \$word in -*) continue ;; esac
        first=\$word
    else
        second=\$word
        break
    fi
done
case "\$first \$second" in
quarantine\ * | batch\ * | watch\ * | outbox\ * | notify\ * | "audit prune")
    [ "\$(id -u)" = 0 ] && exec setpriv --reuid $uid --regid $gid --clear-groups "$bin/cdr" "\$@" ;;
esac
exec "$bin/cdr" "\$@"
EOF
chmod 0755 "$root/usr/local/bin/cdr.new"
mv "$root/usr/local/bin/cdr.new" "$root/usr/local/bin/cdr"
if [ -z "$root" ] && [ "$(command -v cdr)" != /usr/local/bin/cdr ]; then
    say "注意: この PATH では別の cdr（$(command -v cdr)）が先に見つかります。/usr/local/bin/cdr を使ってください。" \
        "note: another cdr comes first on this PATH; use /usr/local/bin/cdr"
fi

# ---- units: every service and timer shipped; the watcher and every timer enabled
install -d -m 0755 "$root/etc/systemd/system"
for unit in "$here"/systemd/*.service "$here"/systemd/*.timer; do
    install -m 0644 "$unit" "$root/etc/systemd/system/"
done
timers=$(cd "$here/systemd" && echo *.timer)
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable cdr-watch.service cdr-console.service $timers
    systemctl restart cdr-watch.service cdr-console.service # a re-install runs the new code
    systemctl start $timers
    echo "cdr: 起動しました / running — systemctl status cdr-watch cdr-console; cdr status"
else
    echo "cdr: 導入しました。systemd が動いていないため、起動後に cdr-watch.service、cdr-console.service と $timers を有効にしてください。"
    echo "cdr: installed; systemd is not running here: enable cdr-watch.service, cdr-console.service and $timers after boot"
fi
# the web console listens on console_listen (/etc/cdr/cdr.yaml; 127.0.0.1:8765 until the LGWAN-side address is set)
echo "cdr: 管理画面の最初の管理者 / the console's first administrator: sudo -u cdr cdr users add admin --role admin"
echo "cdr: 課のフォルダーの追加 / a department folder: install -d -o cdr -g cdr -m 2770 $srv/inbox/<課名>"
