#!/usr/bin/env bash
# Undoes deploy/install.sh: stops and disables the units, removes the binaries and unit files.
# Keeps the configuration (~USER/.config/vimeo-monitor/.env, /etc/vimeo-monitor/) and says
# where it is; delete it yourself if you want it gone. Takes the same --prefix, --root, --user,
# --home, --no-systemctl and --systemctl options as install.sh.
set -euo pipefail

prefix=/usr/local
root=
user=${SUDO_USER:-}
home=
use_systemctl=1
systemctl=systemctl
systemctl_given=0

usage() {
    echo "usage: uninstall.sh [--prefix DIR] [--root DIR] [--user NAME] [--home DIR] [--no-systemctl] [--systemctl CMD]"
}

while (($#)); do
    case $1 in
        --prefix) prefix=${2:?--prefix needs a directory}; shift ;;
        --root) root=${2:?--root needs a directory}; shift ;;
        --systemctl) systemctl=${2:?--systemctl needs a command}; systemctl_given=1; shift ;;
        --user) user=${2:?--user needs a name}; shift ;;
        --home) home=${2:?--home needs a directory}; shift ;;
        --no-systemctl) use_systemctl=0 ;;
        -h | --help) usage; exit 0 ;;
        *) printf 'uninstall: unknown option %s\n' "$1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
root=${root%/}
[[ -z $root ]] || ((systemctl_given)) || use_systemctl=0
say() { printf 'uninstall: %s\n' "$*"; }

if ((use_systemctl)); then
    if [[ -n $user ]]; then
        "$systemctl" --user --machine="$user@" stop vimeo-monitor.service 2>/dev/null || true
    fi
    "$systemctl" --global disable vimeo-monitor.service 2>/dev/null || true
    "$systemctl" disable --now health-server.service 2>/dev/null || true
fi

for file in "$prefix/lib/systemd/user/vimeo-monitor.service" \
    "$prefix/lib/systemd/system/health-server.service" \
    "$prefix/bin/vimeo-monitor" "$prefix/bin/health-server"; do
    if [[ -e $root$file ]]; then
        rm -f "$root$file"
        say "removed $file"
    fi
done
if ((use_systemctl)); then
    "$systemctl" daemon-reload
fi

if [[ -z $home && -n $user ]]; then
    home=$(getent passwd "$user" | cut -d: -f6) || true
fi
kept=()
[[ -n $home && -e $root$home/.config/vimeo-monitor/.env ]] && kept+=("$home/.config/vimeo-monitor/.env")
[[ -e $root/etc/vimeo-monitor/health-server.env ]] && kept+=(/etc/vimeo-monitor/health-server.env)
if ((${#kept[@]})); then
    say "kept the configuration: ${kept[*]}"
fi
say "done"
