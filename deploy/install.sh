#!/usr/bin/env bash
# Installs vimeo-monitor on Raspberry Pi OS (Bookworm) or any systemd Linux. Idempotent: run it
# again after an upgrade or after editing the configuration.
#
#   sudo deploy/install.sh                 # the kiosk, for the user who ran sudo
#   sudo deploy/install.sh --health-server # also the standalone exporter as a system service
#   deploy/install.sh --help
#
# What it does, in order:
#   1. checks for mpv and ffmpeg/ffprobe and offers to install them (apt-get);
#   2. installs vimeo-monitor and health-server into PREFIX/bin;
#   3. creates the kiosk's configuration, ~USER/.config/vimeo-monitor/.env, from .env.sample
#      with mode 0600 when there is none (an existing one is never touched), and the exporter's,
#      /etc/vimeo-monitor/health-server.env, the same way;
#   4. validates the kiosk's configuration with `vimeo-monitor --check-config`;
#   5. installs the systemd units (the kiosk as a user service of the graphical session, the
#      exporter as a system service), enables the kiosk, and starts it when its configuration
#      is valid;
#   6. with health monitoring on, waits for /metrics to answer and says so.
#
# --root DIR installs into DIR as if it were / (a package build or a test) and implies
# --no-systemctl unless --systemctl CMD names one. Exit status: 0 installed (a configuration still to fill in is not an error),
# 1 a step failed, 2 a bad option.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(dirname "$here")

prefix=/usr/local
root=
user=${SUDO_USER:-}
home=
from=
use_systemctl=1
deps=ask
health_server=0
metrics_wait=30
systemctl=systemctl
systemctl_given=0

usage() {
    cat <<EOF
usage: install.sh [options]
  --prefix DIR        where bin/ and lib/systemd/ go (default /usr/local)
  --root DIR          install into DIR as if it were /; implies --no-systemctl
  --user NAME         the kiosk's user (default: the user who ran sudo, else you)
  --home DIR          that user's home directory (default: from the password database)
  --from DIR          where the built vimeo-monitor and health-server are (default: the
                      package's bin/, else target/release of this checkout)
  --health-server     also enable and start the standalone exporter (system service)
  --no-systemctl      install the unit files but do not run systemctl
  --systemctl CMD     the systemctl to run (default systemctl; with --root, for tests)
  --yes               install missing Debian packages without asking
  --no-deps           do not check for mpv and ffmpeg
  --metrics-wait SEC  how long to wait for /metrics to answer (default 30)
  -h, --help          this text
EOF
}

die() { printf 'install: %s\n' "$*" >&2; exit 1; }
say() { printf 'install: %s\n' "$*"; }

while (($#)); do
    case $1 in
        --prefix) prefix=${2:?--prefix needs a directory}; shift ;;
        --root) root=${2:?--root needs a directory}; shift ;;
        --user) user=${2:?--user needs a name}; shift ;;
        --home) home=${2:?--home needs a directory}; shift ;;
        --from) from=${2:?--from needs a directory}; shift ;;
        --health-server) health_server=1 ;;
        --no-systemctl) use_systemctl=0 ;;
        --systemctl) systemctl=${2:?--systemctl needs a command}; systemctl_given=1; shift ;;
        --yes) deps=yes ;;
        --no-deps) deps=no ;;
        --metrics-wait) metrics_wait=${2:?--metrics-wait needs seconds}; shift ;;
        -h | --help) usage; exit 0 ;;
        *) printf 'install: unknown option %s\n' "$1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

[[ $prefix == /* ]] || { echo "install: --prefix must be absolute: $prefix" >&2; exit 2; }
[[ -z $root || $root == /* ]] || { echo "install: --root must be absolute: $root" >&2; exit 2; }
[[ $metrics_wait =~ ^[0-9]+$ ]] || { echo "install: --metrics-wait takes whole seconds" >&2; exit 2; }
root=${root%/}
# --root means "not this machine": systemctl only when one is named explicitly.
[[ -z $root ]] || ((systemctl_given)) || use_systemctl=0

# --- who the kiosk runs as ---------------------------------------------------------------
if [[ -z $user ]]; then
    user=$(id -un)
    [[ $user != root || -n $home ]] \
        || die "the kiosk should not run as root: say which user with --user NAME (or run with sudo)"
fi
if [[ -z $home ]]; then
    home=$(getent passwd "$user" | cut -d: -f6) || true
    [[ -n $home ]] || die "no user $user: create it, or pass --user NAME / --home DIR"
fi
config_dir=$home/.config/vimeo-monitor

# --- 1. mpv and ffmpeg -------------------------------------------------------------------
if [[ $deps != no ]]; then
    missing=()
    command -v mpv >/dev/null 2>&1 || missing+=(mpv)
    { command -v ffprobe >/dev/null 2>&1 && command -v ffmpeg >/dev/null 2>&1; } || missing+=(ffmpeg)
    if ((${#missing[@]} == 0)); then
        say "mpv and ffmpeg: present"
    else
        command=(apt-get install -y "${missing[@]}")
        answer=n
        if [[ $deps == yes ]]; then
            answer=y
        elif [[ -t 0 ]]; then
            read -r -p "install: ${missing[*]} missing (the player; ffprobe for stream health). Run '${command[*]}' now? [Y/n] " answer || true
            answer=${answer:-y}
        fi
        if [[ $answer == [yY]* ]]; then
            [[ $(id -u) -eq 0 ]] || die "installing ${missing[*]} needs root: run with sudo"
            DEBIAN_FRONTEND=noninteractive apt-get update -qq
            DEBIAN_FRONTEND=noninteractive "${command[@]}"
        else
            say "WARNING: ${missing[*]} missing; the kiosk cannot play without mpv, and stream health needs ffprobe. Install with: sudo ${command[*]}"
        fi
    fi
fi

# --- 2. binaries ---------------------------------------------------------------------------
if [[ -z $from ]]; then
    for candidate in "$source_dir/bin" "$source_dir/target/release"; do
        if [[ -x $candidate/vimeo-monitor ]]; then
            from=$candidate
            break
        fi
    done
    [[ -n $from ]] || die "no built vimeo-monitor in $source_dir/bin or $source_dir/target/release: build it (cargo build --release -p vimeo-monitor -p health-server) or pass --from DIR"
fi
bin_dir=$prefix/bin
for program in vimeo-monitor health-server; do
    if [[ -x $from/$program ]]; then
        install -D -m 0755 "$from/$program" "$root$bin_dir/$program"
        say "installed $bin_dir/$program"
    elif [[ $program == vimeo-monitor ]]; then
        die "$from/vimeo-monitor is missing"
    else
        say "no $from/$program: the standalone exporter is not installed"
    fi
done

# --- 3. configuration, never overwritten ----------------------------------------------------
sample=$source_dir/.env.sample
[[ -f $sample ]] || die "$sample is missing"

# new_config FILE OWNER [FILTER...]: FILE from the sample, mode 0600, when it does not exist.
new_config() {
    local file=$1 owner=$2
    shift 2
    if [[ -e $file ]]; then
        say "kept the existing $file"
        return
    fi
    install -d -m 0700 "$(dirname "$file")"
    (umask 077 && "$@" < "$sample" > "$file")
    chmod 0600 "$file"
    if [[ -z $root && $(id -u) -eq 0 && $owner != root ]]; then
        chown "$owner": "$(dirname "$file")" "$file"
    fi
    say "created $file from .env.sample (mode 0600): fill it in"
}

new_config "$root$config_dir/.env" "$user" cat
# The exporter's file holds only the HEALTH_* part of the sample.
# shellcheck disable=SC2016 # `$p` is sed's, not the shell's
new_config "$root/etc/vimeo-monitor/health-server.env" root \
    sed -n '/^# vimeo-monitor health exporter/,$p'

# --- 4. validate the kiosk's configuration ------------------------------------------------------
# As the kiosk's user when installing for real: the images must be readable by it.
as_user=()
if [[ -z $root && $(id -u) -eq 0 && $user != root ]]; then
    as_user=(runuser -u "$user" --)
fi
check_output=$(cd "$root$config_dir" \
    && "${as_user[@]}" env HOME="$root$home" "$root$bin_dir/vimeo-monitor" --check-config 2>&1) \
    && config_ok=1 || config_ok=0
if ((config_ok)); then
    say "the kiosk's configuration is valid ($config_dir/.env)"
else
    say "the kiosk's configuration needs attention ($config_dir/.env):"
    printf '%s\n' "$check_output" | sed 's/^/    /' | head -n 20
fi

# --- 5. systemd units --------------------------------------------------------------------------
# The unit files name /usr/bin; point them at where the binaries are.
install_unit() {
    local unit=$1 dir=$2
    install -d -m 0755 "$root$dir"
    sed "s#^ExecStart=/usr/bin/#ExecStart=$bin_dir/#" "$here/$unit" > "$root$dir/$unit.new"
    chmod 0644 "$root$dir/$unit.new"
    mv "$root$dir/$unit.new" "$root$dir/$unit"
    say "installed $dir/$unit"
}
install_unit vimeo-monitor.service "$prefix/lib/systemd/user"
install_unit health-server.service "$prefix/lib/systemd/system"

metrics_port() {
    # The kiosk's port (or the exporter's), as its .env file sets it; 8080 by default.
    local file=$1 port
    port=$(sed -n 's/^[[:space:]]*HEALTH_METRICS_PORT=[[:space:]]*"\{0,1\}\([0-9]*\).*/\1/p' "$file" 2>/dev/null | tail -n 1)
    printf '%s\n' "${port:-8080}"
}

health_on() {
    grep -Eiq '^[[:space:]]*HEALTH_MONITORING_ENABLED=[[:space:]]*"?(true|1|yes|on)"?[[:space:]]*$' "$1" 2>/dev/null
}

wait_for_metrics() {
    local port=$1 what=$2 waited=0
    command -v curl >/dev/null 2>&1 || { say "curl is missing: not waiting for $what's /metrics"; return 0; }
    while ! curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$port/metrics" 2>/dev/null; do
        if ((waited >= metrics_wait)); then
            say "WARNING: $what's /metrics on port $port did not answer within ${metrics_wait}s; see: $3"
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    say "$what's /metrics answers on http://127.0.0.1:$port/metrics"
}

status=0
if ((use_systemctl)); then
    "$systemctl" daemon-reload
    # For every user's graphical session; the kiosk is the only one on a kiosk Pi.
    "$systemctl" --global enable vimeo-monitor.service
    say "enabled vimeo-monitor.service for graphical sessions"
    if ((config_ok)); then
        if "$systemctl" --user --machine="$user@" restart vimeo-monitor.service; then
            say "started vimeo-monitor.service for $user"
            if health_on "$root$config_dir/.env"; then
                wait_for_metrics "$(metrics_port "$root$config_dir/.env")" "the kiosk" \
                    "journalctl --user -u vimeo-monitor (as $user)" || status=1
            fi
        else
            say "vimeo-monitor.service starts at $user's next graphical login"
        fi
    else
        say "not starting the kiosk until its configuration is valid: edit $config_dir/.env, then run this again"
    fi
    if ((health_server)); then
        "$systemctl" enable health-server.service
        "$systemctl" restart health-server.service
        say "started health-server.service"
        wait_for_metrics "$(metrics_port "$root/etc/vimeo-monitor/health-server.env")" "health-server" \
            "journalctl -u health-server" || status=1
    fi
else
    say "systemctl not run (--root or --no-systemctl): enable the units yourself"
fi

say "done"
exit "$status"
