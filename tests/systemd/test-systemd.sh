#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tund under a real systemd: a Debian 12 root booted by systemd-nspawn, with systemd as the
# container's PID 1 and its own system bus and polkitd. The build is installed into it
# (meson install --destdir, then copied in), systemd-sysusers and daemon-reload run there,
# and systemctl/busctl/ip are driven inside through nsenter (no machined here). Prints TAP.
#
# The root is built once with mmdebstrap under /var/cache/tund-test-root/KEY, KEY being a
# hash of how it is built (package list, mirrors, hooks), and reused while that is
# unchanged. Each run boots it with --volatile=overlay: what the run writes goes to a tmpfs
# and the cached root stays clean. `test-systemd.sh --build-root-only` only builds (or
# finds) the root and prints its path.
#
# Environment: TB_BUILD_ROOT (the build), TB_HOLDER (tund-holder), TB_SEQPACKET_CONNECT
# (seqpacket-connect), TB_SANITIZE (meson's b_sanitize). Needs root, systemd-nspawn (systemd-container), mmdebstrap, and the host's
# cgroup v1+v2 hybrid layout (/sys/fs/cgroup/unified).

set -uo pipefail

cache=/var/cache/tund-test-root
suite=bookworm
mirrors=(
        "deb http://deb.debian.org/debian bookworm main"
        "deb http://deb.debian.org/debian bookworm-updates main"
        "deb http://deb.debian.org/debian-security bookworm-security main"
)
# What tund and the checks use inside (ldd of tund: libnl, libsystemd; ip, ps, timeout).
root_packages=(
        systemd systemd-sysv dbus polkitd iproute2 procps coreutils
        libnl-3-200 libnl-route-3-200 libsystemd0
)
# udev is not running in the container: this rule makes its /dev/net/tun as udev's
# 50-udev-default.rules would (0666), so that User=tund can open it. Timers that would
# start apt or cleanups in the middle of a run are masked. mmdebstrap runs each hook with
# the root as $1.
# shellcheck disable=SC2016
root_hooks=(
        'mkdir -p "$1/etc/tmpfiles.d" && echo "c! /dev/net/tun 0666 root root - 10:200" >"$1/etc/tmpfiles.d/tund-test-tun.conf"'
        'for t in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer systemd-tmpfiles-clean.timer; do ln -sf /dev/null "$1/etc/systemd/system/$t"; done'
        'rm -f "$1/etc/machine-id" && : >"$1/etc/machine-id"'
)

machine=tund-test-$$
work=
nspawn_pid=
leader=
holder_pid=
tap_n=0
tap_failed=0

say() { printf '# %s\n' "$@"; }

skip_all() {
        echo "1..0 # SKIP $*"
        exit 0
}

bail_out() {
        echo "Bail out! $*"
        exit 1
}

ok() {
        tap_n=$((tap_n + 1))
        echo "ok $tap_n - $*"
}

not_ok() {
        tap_n=$((tap_n + 1))
        tap_failed=$((tap_failed + 1))
        echo "not ok $tap_n - $*"
}

# check DESCRIPTION FUNCTION [ARGS]: one TAP point; the function's output is diagnostics.
check() {
        local desc=$1 out rc
        shift
        # In this shell, not a subshell: checks keep state (the devices' snapshot, PIDs).
        "$@" >"$work/check.out" 2>&1
        rc=$?
        out=$(cat "$work/check.out")
        if [[ $rc -eq 0 ]]; then
                ok "$desc"
                [[ -n $out ]] && printf '%s\n' "$out" | sed 's/^/#   /'
        else
                not_ok "$desc"
                printf '%s\n' "$out" | sed 's/^/#   /'
                journal_tail
        fi
        return $rc
}

# --- the cached root ------------------------------------------------------------------

root_key() {
        {
                echo "$suite"
                printf '%s\n' "${mirrors[@]}" "${root_packages[@]}" "${root_hooks[@]}"
        } | sha256sum | cut -c1-16
}

# Builds the root for KEY unless it is there; removes roots of other keys nobody uses.
# Sets root to its path and holds a shared lock on it (fd 7) for the rest of the run.
ensure_root() {
        local key=$1 tmp hooks=() h start old
        local dir=$cache/$key
        mkdir -p "$cache" || return 1
        exec 8>"$cache/.lock"
        flock -w 900 8 || { echo "timed out waiting for $cache/.lock" >&2; return 1; }
        if [[ ! -f $dir/complete ]]; then
                rm -rf "$dir"
                # Left by a build that was interrupted (this lock is held while building).
                rm -rf "$cache"/.build-*
                tmp=$cache/.build-$key-$$
                for h in "${root_hooks[@]}"; do
                        hooks+=(--customize-hook="$h")
                done
                start=$SECONDS
                say "building the root $dir with mmdebstrap (once per package list)"
                if ! timeout 900 mmdebstrap --variant=apt --format=directory --quiet \
                        --include="$(IFS=,; echo "${root_packages[*]}")" \
                        "${hooks[@]}" "$suite" "$tmp" "${mirrors[@]}" >&2; then
                        rm -rf "$tmp"
                        flock -u 8
                        return 1
                fi
                if ! { mkdir -p "$dir" && mv "$tmp" "$dir/root" && : >"$dir/complete"; }; then
                        flock -u 8
                        return 1
                fi
                say "root built in $((SECONDS - start)) s ($(du -sh "$dir/root" | cut -f1))"
        fi
        # Roots of other package lists: removed when no run holds their lock.
        for old in "$cache"/*/; do
                old=${old%/}
                [[ $(basename "$old") == "$key" ]] && continue
                [[ -d $old ]] || continue
                (
                        exec 9>"$old.lock"
                        flock -n 9 && rm -rf "$old" "$old.lock"
                )
        done
        # A shared lock on this root for the run: another run may not remove it meanwhile.
        exec 7>"$dir.lock"
        flock -s 7
        flock -u 8
        exec 8>&-
        root=$dir/root
}

if [[ ${1-} == --build-root-only ]]; then
        ensure_root "$(root_key)" && echo "$root"
        exit
fi

# --- preconditions ----------------------------------------------------------------------

[[ $(id -u) -eq 0 ]] || skip_all "needs root (systemd-nspawn, mmdebstrap)"
for tool in systemd-nspawn mmdebstrap nsenter flock timeout; do
        command -v "$tool" >/dev/null || skip_all "$tool is not installed (apt install systemd-container mmdebstrap)"
done
# An ASan tund would need the sanitizer runtime inside the root and its own environment in
# the unit; the container test checks the plain build.
case ${TB_SANITIZE:-none} in
none | "") ;;
*) skip_all "sanitized build (b_sanitize=$TB_SANITIZE): the container runs only the plain build" ;;
esac
[[ -d /sys/fs/cgroup/unified && -d /sys/fs/cgroup/systemd ]] ||
        skip_all "no cgroup v1+v2 hybrid layout (/sys/fs/cgroup/unified, /sys/fs/cgroup/systemd) to give systemd-nspawn a cgroup of its own"
build=${TB_BUILD_ROOT:-}
holder=${TB_HOLDER:-}
[[ -n $build && -x $build/service/tund ]] || bail_out "TB_BUILD_ROOT does not hold a built tund"
[[ -n $holder && -x $holder ]] || bail_out "TB_HOLDER is not an executable"
seqpacket_connect=${TB_SEQPACKET_CONNECT:-}
[[ -n $seqpacket_connect && -x $seqpacket_connect ]] || bail_out "TB_SEQPACKET_CONNECT is not an executable"

# --- the container ----------------------------------------------------------------------

cg_dirs=(/sys/fs/cgroup/systemd/"$machine" /sys/fs/cgroup/unified/"$machine")

# Waits at most SECONDS (0: only looks) for process PID to be gone (or a zombie).
wait_gone() {
        local pid=$1 seconds=$2 state i
        for ((i = 0; ; i++)); do
                state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)
                [[ -z $state || $state == Z ]] && return 0
                ((i < seconds * 10)) || return 1
                sleep 0.1
        done
}

cleanup() {
        set +e
        if [[ -n $holder_pid ]]; then
                kill "$holder_pid" 2>/dev/null
                wait "$holder_pid" 2>/dev/null
        fi
        if [[ -n $nspawn_pid ]]; then
                if [[ -n $leader ]] && kill -0 "$leader" 2>/dev/null; then
                        kill -s RTMIN+3 "$leader"
                fi
                if ! wait_gone "$nspawn_pid" 30; then
                        say "the container did not power off within 30 s: killing it"
                        [[ -n $leader ]] && kill -KILL "$leader" 2>/dev/null
                        wait_gone "$nspawn_pid" 10 || kill -KILL "$nspawn_pid"
                fi
                wait "$nspawn_pid" 2>/dev/null
        fi
        local d
        for d in "${cg_dirs[@]}"; do
                [[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
                [[ -d $d ]] && say "cgroup $d is left: $(tr '\n' ' ' <"$d/cgroup.procs" 2>/dev/null)"
        done
        [[ -n $work ]] && rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

# Runs a command inside the container, bounded (T seconds, default 30), with a clean
# environment: the container's own system bus and systemd.
in_ct() {
        nsenter -t "$leader" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
                SYSTEMD_PAGER= SYSTEMD_COLORS=0 SYSTEMD_LOG_COLOR=0 \
                timeout -k 5 "${T:-30}" "$@"
}

journal_tail() {
        [[ -n $leader ]] || return 0
        say "journalctl -u tund (last 30 lines):"
        in_ct journalctl -u tund --no-pager -n 30 -o short-monotonic 2>&1 | sed 's/^/#   /'
}

key=$(root_key)
t0=$SECONDS
ensure_root "$key" || bail_out "could not build the root with mmdebstrap"
say "root $root (key $key), ready in $((SECONDS - t0)) s"

work=$(mktemp -d /tmp/tund-systemd.XXXXXX) || bail_out "mktemp failed"
mkdir -p "$work/stage" "$work/test"
meson install -C "$build" --no-rebuild --quiet --destdir "$work/stage" >"$work/install.log" 2>&1 ||
        { cat "$work/install.log"; bail_out "meson install --destdir failed"; }
cp "$holder" "$work/test/tund-holder"
cp "$seqpacket_connect" "$work/test/seqpacket-connect"

for d in "${cg_dirs[@]}"; do
        mkdir "$d" || bail_out "cannot create cgroup $d"
done
(
        for d in "${cg_dirs[@]}"; do
                echo "$BASHPID" >"$d/cgroup.procs" || exit 1
        done
        SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 exec systemd-nspawn --quiet -D "$root" --volatile=overlay \
                --boot --machine="$machine" --register=no --keep-unit --private-network \
                --capability=CAP_NET_ADMIN --system-call-filter=bpf --console=read-only \
                --bind-ro="$work/stage:/mnt/tund-stage" --bind-ro="$work/test:/mnt/tund-test"
) </dev/null >"$work/console.log" 2>&1 &
nspawn_pid=$!

for ((i = 0; i < 200; i++)); do
        leader=$(head -n1 "/sys/fs/cgroup/unified/$machine/payload/init.scope/cgroup.procs" 2>/dev/null)
        [[ -n $leader ]] && break
        wait_gone "$nspawn_pid" 0 && break
        sleep 0.1
        leader=
done
if [[ -z $leader ]]; then
        sed 's/^/#   /' "$work/console.log"
        bail_out "the container did not start (no init.scope within 20 s)"
fi
# PID 1 shows up before its bus does: ask until it answers, at most 60 s in all.
state=
deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do
        state=$(T=$((deadline - SECONDS + 1)) in_ct systemctl is-system-running --wait 2>/dev/null)
        [[ -n $state ]] && break
        wait_gone "$nspawn_pid" 0 && break
        sleep 0.2
done
say "container $machine booted, leader PID $leader, system state: $state"
if [[ $state != running && $state != degraded ]]; then
        sed 's/^/#   /' "$work/console.log"
        bail_out "the container's systemd did not reach running"
fi
[[ $state == degraded ]] && in_ct systemctl --failed --no-legend | sed 's/^/#   failed: /'

# --- helpers inside -----------------------------------------------------------------------

bus=org.example.Tun1
manager=/org/example/Tun1

tcall() { in_ct busctl --timeout=20 call "$bus" "$manager" org.example.Tun1.Manager "$@"; }

main_pid() { in_ct systemctl show -P MainPID tund.service; }

# Waits at most SECONDS for tund.service to be active with a main PID other than OLD.
wait_new_main_pid() {
        local old=$1 seconds=$2 pid deadline=$((SECONDS + $2))
        while ((SECONDS < deadline)); do
                if [[ $(in_ct systemctl is-active tund.service) == active ]]; then
                        pid=$(main_pid)
                        if [[ -n $pid && $pid != 0 && $pid != "$old" ]]; then
                                echo "$pid"
                                return 0
                        fi
                fi
                sleep 0.2
        done
        echo "tund.service is not active again with a new main PID within $seconds s:" >&2
        in_ct systemctl status tund.service --no-pager -n 0 >&2
        return 1
}

# Every managed device, sorted by name, with the properties that must survive a restart:
# one line a device.
snapshot() {
        local out name path words
        out=$(tcall ListDevices) || return 1
        # a(so) N "name" "path" ...
        mapfile -t words < <(printf '%s\n' "$out" | grep -o '"[^"]*"' | tr -d '"')
        set -- "${words[@]}"
        while [[ $# -ge 2 ]]; do
                name=$1 path=$2
                shift 2
                printf '%s %s\n' "$name" "$(in_ct busctl get-property "$bus" "$path" org.example.Tun1.Device \
                        Name MTU Owner Persistent Offloads | tr '\n' ' ')"
        done | sort
}

# The snapshot equals the one taken before (in $before).
same_devices() {
        local now
        now=$(snapshot) || return 1
        if [[ $now != "$before" ]]; then
                echo "devices before:"; printf '%s\n' "$before"
                echo "devices now:"; printf '%s\n' "$now"
                return 1
        fi
        printf '%s\n' "$now"
}

# The device is there in the namespace (empty: the container's own), with that MTU.
link_is() {
        local ns=$1 dev=$2 mtu=$3 out
        if [[ -n $ns ]]; then
                out=$(in_ct ip -n "$ns" -o link show dev "$dev") || return 1
        else
                out=$(in_ct ip -o link show dev "$dev") || return 1
        fi
        echo "$out"
        [[ $out == *" mtu $mtu "* ]] || { echo "not MTU $mtu"; return 1; }
}

# Start limits (5 starts in 10 s) count restarts, crashes and activations alike; the checks
# start tund more often than that on purpose, so each step begins with a clean count.
reset_failed() { in_ct systemctl reset-failed tund.service 2>/dev/null; true; }

# --- the checks ---------------------------------------------------------------------------

t_install() {
        # As a package would: into the merged /usr (/lib is a link to usr/lib there).
        in_ct sh -c 'tar -C /mnt/tund-stage -cf - . | tar -C / -xf - --keep-directory-symlink' || return 1
        in_ct systemd-sysusers || return 1
        in_ct systemctl daemon-reload || return 1
        # The bus picks up the policy file; polkitd sees the actions by itself.
        in_ct busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig || return 1
        in_ct getent passwd tund || { echo "systemd-sysusers made no user tund"; return 1; }
        in_ct ls -l /dev/net/tun
        [[ $(in_ct stat -c %a /dev/net/tun) == 666 ]] || { echo "/dev/net/tun is not 0666"; return 1; }
        [[ $(in_ct systemctl is-active tund.service) != active ]] || { echo "tund.service runs before any call"; return 1; }
}

t_activation() {
        local out
        out=$(tcall ListDevices) || return 1
        echo "ListDevices: $out"
        [[ $(in_ct systemctl is-active tund.service) == active ]] || { echo "tund.service is not active"; return 1; }
        in_ct systemctl show -p Type,ActiveState,SubState,MainPID tund.service
}

t_credentials() {
        local pid uid status ok=0 f
        pid=$(main_pid)
        uid=$(in_ct id -u tund) || return 1
        status=$(in_ct cat "/proc/$pid/status") || return 1
        printf '%s\n' "$status" | grep -E '^(Uid|Gid|Cap[A-Za-z]+):'
        printf '%s\n' "$status" | grep -qxP "Uid:\t$uid\t$uid\t$uid\t$uid" || { echo "Uid is not $uid (tund) throughout"; ok=1; }
        # CAP_NET_BROADCAST (11) | CAP_NET_ADMIN (12), in every set (ambient ones are
        # inheritable too).
        for f in CapInh CapPrm CapEff CapBnd CapAmb; do
                printf '%s\n' "$status" | grep -qxP "$f:\t0000000000001800" || { echo "$f is not 0x1800"; ok=1; }
        done
        return $ok
}

t_status() {
        local text
        text=$(in_ct systemctl show -P StatusText tund.service)
        echo "StatusText=$text"
        [[ $text == "Serving org.example.Tun1" ]]
}

# A call as an unprivileged user of the container (made by systemd-sysusers).
as_tundtest() {
        in_ct setpriv --reuid=tundtest --regid=tundtest --clear-groups "$@"
}

# systemctl service-log-level talks to org.freedesktop.LogControl1 on the unit's BusName=.
t_log_level() {
        local level target
        level=$(in_ct systemctl service-log-level tund.service) || return 1
        echo "log level: $level"
        in_ct systemctl service-log-level tund.service debug || return 1
        [[ $(in_ct systemctl service-log-level tund.service) == debug ]] || { echo "the level did not become debug"; return 1; }
        in_ct systemctl service-log-level tund.service "$level" || return 1
        [[ $(in_ct systemctl service-log-level tund.service) == "$level" ]] || { echo "the level did not go back to $level"; return 1; }
        target=$(in_ct systemctl service-log-target tund.service) || return 1
        echo "log target: $target"
        # Setting is root's alone.
        in_ct systemd-sysusers --inline 'u tundtest - "tund test caller"' || return 1
        if as_tundtest busctl --timeout=20 set-property "$bus" /org/freedesktop/LogControl1 \
                org.freedesktop.LogControl1 LogLevel s debug; then
                echo "an unprivileged caller set LogLevel"
                return 1
        fi
        [[ $(in_ct systemctl service-log-level tund.service) == "$level" ]]
}

t_security() {
        local out score
        out=$(in_ct systemd-analyze security --no-pager tund.service) || { echo "$out"; return 1; }
        score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for tund.service: \([0-9.]*\).*/\1/p')
        echo "exposure: $score"
        [[ -n $score ]] || { echo "$out"; return 1; }
        awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }' || { printf '%s\n' "$out" | grep -v '^  ✓'; return 1; }
}

# As an unprivileged caller: tund (user tund) asks polkitd about another uid, which polkitd
# answers only for actions whose org.freedesktop.policykit.owner names unix-user:tund.
t_polkit_other_caller() {
        local out
        in_ct systemd-sysusers --inline 'u tundtest - "tund test caller"' || return 1
        # No agent here: polkit answers auth_admin with a challenge, which tund reports as
        # InteractiveAuthorizationRequired (busctl prints only its message). Had polkitd
        # refused to answer tund, the error would say so instead.
        out=$(as_tundtest busctl --timeout=20 --allow-interactive-authorization=no call "$bus" "$manager" \
                org.example.Tun1.Manager CreateDevice 'sa{sv}' tu0 0 2>&1)
        echo "without a rule: $out"
        [[ $out == *"Authentication as an administrator is required for org.example.tun1.create-device"* ]] ||
                { echo "polkit's challenge did not come back"; return 1; }
        in_ct sh -c 'cat >/etc/polkit-1/rules.d/50-tund-test.rules' <<'RULES' || return 1
polkit.addRule(function(action, subject) {
        if (action.id == "org.example.tun1.create-device" && subject.user == "tundtest")
                return polkit.Result.YES;
});
RULES
        # polkitd picks up the rule within about a second.
        local i
        for ((i = 0; i < 20; i++)); do
                out=$(as_tundtest busctl --timeout=20 call "$bus" "$manager" \
                        org.example.Tun1.Manager CreateDevice 'sa{sv}' tu0 1 Persistent b true 2>&1) && break
                sleep 0.25
        done
        echo "with a rule allowing tundtest: $out"
        [[ $out == 'o "/org/example/Tun1/device/'* ]] || return 1
        local path owner
        path=$(printf '%s' "${out#o }" | tr -d '"')
        owner=$(in_ct busctl get-property "$bus" "$path" org.example.Tun1.Device Owner)
        echo "Owner: $owner"
        in_ct rm -f /etc/polkit-1/rules.d/50-tund-test.rules
        in_ct busctl --timeout=20 call "$bus" "$path" org.example.Tun1.Device Delete || return 1
        [[ $owner == "u $(in_ct id -u tundtest)" ]] || { echo "Owner is not tundtest"; return 1; }
}

t_create_persistent() {
        local path
        path=$(tcall CreateDevice 'sa{sv}' tt0 2 Persistent b true MTU u 1400) || return 1
        echo "$path"
        path=${path#o \"}
        # Offloads other than the default, to see them come back.
        in_ct busctl --timeout=20 call "$bus" "${path%\"}" org.example.Tun1.Device SetOffloads as 3 csum tso4 tso6 || return 1
        tcall CreateDevice 'sa{sv}' tt1 3 Persistent b true MTU u 1300 Owner u 4242 || return 1
        link_is "" tt0 1400 && link_is "" tt1 1300
}

t_move() {
        in_ct ip netns add tns || return 1
        in_ct ip link set tt1 netns tns || return 1
        link_is tns tt1 1300 || return 1
        ! in_ct ip link show dev tt1 >/dev/null 2>&1 || { echo "tt1 is still in the container's namespace"; return 1; }
        # tund follows the device; its record is what later steps compare with.
        sleep 0.5
        before=$(snapshot) || return 1
        printf '%s\n' "$before"
        [[ $(printf '%s\n' "$before" | wc -l) -eq 2 ]] || { echo "not two devices"; return 1; }
}

# tund.service pulls in the helper's socket (Wants=): owned by tund, 0600, as the unit says.
t_netns_helper_socket() {
        local owner
        [[ $(in_ct systemctl is-active tund-netns-helper.socket) == active ]] ||
                { echo "tund-netns-helper.socket is not active"; return 1; }
        owner=$(in_ct stat -c '%U %a %F' /run/tund-netns-helper.socket) || return 1
        echo "/run/tund-netns-helper.socket: $owner"
        [[ $owner == "tund 600 socket" ]]
}

device_call() { in_ct busctl --timeout=20 call "$bus" "$1" org.example.Tun1.Device "${@:2}"; }

# tund (user tund, no CAP_SYS_ADMIN) changes the moved device through the helper, started
# per request by the socket; everything is undone at the end.
t_netns_helper_acts() {
        local path accepted_before accepted routes failed
        path=$(tcall GetDevice s tt1) || return 1
        path=$(printf '%s' "${path#o }" | tr -d '"')
        accepted_before=$(in_ct systemctl show -P NAccepted tund-netns-helper.socket)
        device_call "$path" SetMTU u 1280 || return 1
        link_is tns tt1 1280 || return 1
        # The kernel routes only through a link that is up.
        in_ct ip -n tns link set tt1 up || return 1
        device_call "$path" AddAddress 'sa{sv}' 10.9.0.1/24 0 || return 1
        device_call "$path" AddRoute 'sa{sv}' 10.9.9.0/24 0 || return 1
        in_ct ip -n tns -o address show dev tt1 | grep -q 'inet 10.9.0.1/24' || { echo "no address in tns"; return 1; }
        in_ct ip -n tns route show dev tt1 | grep -q '^10.9.9.0/24' || { echo "no route in tns"; return 1; }
        routes=$(in_ct busctl get-property "$bus" "$path" org.example.Tun1.Device Routes) || return 1
        echo "Routes: $routes"
        [[ $routes == *'"10.9.9.0/24"'* ]] || { echo "Routes misses 10.9.9.0/24"; return 1; }
        device_call "$path" RemoveRoute 'sa{sv}' 10.9.9.0/24 0 || return 1
        device_call "$path" RemoveAddress s 10.9.0.1/24 || return 1
        device_call "$path" SetMTU u 1300 || return 1
        in_ct ip -n tns link set tt1 down || return 1
        link_is tns tt1 1300 || return 1
        ! in_ct ip -n tns -o address show dev tt1 | grep -q 10.9.0.1 || { echo "the address stayed"; return 1; }
        accepted=$(in_ct systemctl show -P NAccepted tund-netns-helper.socket)
        echo "helper connections: $accepted_before before, $accepted after"
        ((accepted - accepted_before >= 7)) || { echo "fewer helper runs than requests"; return 1; }
        failed=$(in_ct journalctl -q --no-pager -u 'tund-netns-helper@*' | grep -c 'Failed with result')
        [[ $failed == 0 ]] || { in_ct journalctl -q --no-pager -u 'tund-netns-helper@*' | tail -20; return 1; }
}

# Another local user cannot even connect (SocketMode=0600); tund's user can.
t_netns_helper_other_user() {
        local out
        in_ct systemd-sysusers --inline 'u tundtest - "tund test caller"' || return 1
        out=$(as_tundtest /mnt/tund-test/seqpacket-connect /run/tund-netns-helper.socket)
        local status=$?
        echo "as tundtest: $out"
        [[ $status == 2 ]] || { echo "not refused with EACCES (exit status $status)"; return 1; }
        out=$(in_ct setpriv --reuid=tund --regid=tund --clear-groups /mnt/tund-test/seqpacket-connect \
                /run/tund-netns-helper.socket) || { echo "as tund: $out"; return 1; }
        echo "as tund: $out"
}

t_netns_helper_security() {
        local out score
        out=$(in_ct systemd-analyze security --no-pager tund-netns-helper@check.service) || { echo "$out"; return 1; }
        score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for tund-netns-helper@check.service: \([0-9.]*\).*/\1/p')
        echo "exposure: $score"
        [[ -n $score ]] || { echo "$out"; return 1; }
        awk -v s="$score" 'BEGIN { exit !(s <= 1.7) }' || { printf '%s\n' "$out" | grep -v '^  ✓'; return 1; }
}

# After whatever ended the previous tund: both devices, where they were, with their
# properties.
survived() {
        link_is "" tt0 1400 && link_is tns tt1 1300 && same_devices
}

t_restart() {
        local old
        reset_failed
        old=$(main_pid)
        in_ct systemctl restart tund.service || return 1
        wait_new_main_pid "$old" 10 >/dev/null || return 1
        survived
}

t_segv() {
        local old new
        reset_failed
        old=$(main_pid)
        in_ct kill -SEGV "$old" || return 1
        new=$(wait_new_main_pid "$old" 20) || return 1
        echo "main PID $old -> $new after SIGSEGV"
        in_ct journalctl -u tund --no-pager -n 200 -o cat | grep -E 'Main process exited|Scheduled restart' | tail -2
        survived
}

t_watchdog() {
        local old new
        reset_failed
        in_ct mkdir -p /run/systemd/system/tund.service.d || return 1
        in_ct sh -c 'printf "[Service]\nWatchdogSec=3s\n" >/run/systemd/system/tund.service.d/watchdog.conf' || return 1
        in_ct systemctl daemon-reload || return 1
        # The new WatchdogSec reaches tund (WATCHDOG_USEC) when it starts.
        old=$(main_pid)
        in_ct systemctl restart tund.service || return 1
        old=$(wait_new_main_pid "$old" 10) || return 1
        [[ $(in_ct systemctl show -P WatchdogUSec tund.service) == 3s ]] || { echo "WatchdogSec=3s is not in effect"; return 1; }
        reset_failed
        in_ct kill -STOP "$old" || return 1
        new=$(wait_new_main_pid "$old" 30) || return 1
        echo "main PID $old -> $new after SIGSTOP"
        in_ct journalctl -u tund --no-pager -n 200 -o cat | grep -iE 'watchdog' | tail -2
        in_ct journalctl -u tund --no-pager -n 200 -o cat | grep -qi 'watchdog timeout' ||
                { echo "no watchdog timeout in the journal"; return 1; }
        survived
}

t_watchdog_undo() {
        local old
        in_ct rm -rf /run/systemd/system/tund.service.d || return 1
        in_ct systemctl daemon-reload || return 1
        reset_failed
        old=$(main_pid)
        in_ct systemctl restart tund.service || return 1
        wait_new_main_pid "$old" 10 >/dev/null || return 1
        [[ $(in_ct systemctl show -P WatchdogUSec tund.service) == 3min ]] || { echo "WatchdogSec is not the unit's again"; return 1; }
        survived
}

t_stop_non_persistent() {
        local i path
        nsenter -t "$leader" -a env -i PATH=/usr/bin:/bin /mnt/tund-test/tund-holder tt2 120 \
                </dev/null >"$work/holder.out" 2>&1 &
        holder_pid=$!
        for ((i = 0; i < 100; i++)); do
                path=$(head -n1 "$work/holder.out")
                [[ $path == /* ]] && break
                wait_gone "$holder_pid" 0 && { cat "$work/holder.out"; return 1; }
                sleep 0.1
        done
        [[ $path == /* ]] || { echo "tund-holder made no device within 10 s"; cat "$work/holder.out"; return 1; }
        echo "tund-holder holds $path"
        in_ct busctl get-property "$bus" "$path" org.example.Tun1.Device Persistent || return 1
        in_ct ip -o link show dev tt2 || return 1
        reset_failed
        in_ct systemctl stop tund.service || return 1
        if in_ct ip -o link show dev tt2 2>/dev/null; then
                echo "tt2 (not persistent) is still there after systemctl stop"
                return 1
        fi
        echo "tt2 is gone"
        # The persistent ones stay in the kernel.
        link_is "" tt0 1400 && link_is tns tt1 1300
}

# systemd 252 empties the fd store on stop (no FileDescriptorStorePreserve=): a stopped
# tund finds again only the devices in its own namespace, so tt1 comes home first.
t_bring_home() {
        kill "$holder_pid" 2>/dev/null
        wait "$holder_pid" 2>/dev/null
        holder_pid=
        in_ct ip -n tns link set tt1 netns 1 || return 1
        link_is "" tt1 1300
}

# Issue 14: with tund stopped, the call that activates it already sees every persistent
# device. KIND: GetDevice, ListDevices or GetManagedObjects; ROUNDS of stop + call.
activating_call_sees() {
        local kind=$1 rounds=$2 r out
        for ((r = 1; r <= rounds; r++)); do
                reset_failed
                in_ct systemctl stop tund.service || return 1
                [[ $(in_ct systemctl is-active tund.service) != active ]] || { echo "round $r: tund did not stop"; return 1; }
                case $kind in
                GetDevice)
                        out=$(tcall GetDevice s tt0 && tcall GetDevice s tt1) ;;
                ListDevices)
                        out=$(tcall ListDevices) ;;
                GetManagedObjects)
                        out=$(in_ct busctl --timeout=20 call "$bus" "$manager" org.freedesktop.DBus.ObjectManager GetManagedObjects) ;;
                esac || { echo "round $r: $kind failed: $out"; return 1; }
                case $kind in
                GetDevice)
                        [[ $(printf '%s\n' "$out" | grep -c '^o "/org/example/Tun1/device/') -eq 2 ]] ;;
                *)
                        [[ $out == *'"tt0"'* && $out == *'"tt1"'* ]] ;;
                esac || { echo "round $r: the activating $kind does not see tt0 and tt1:"; printf '%s\n' "$out"; return 1; }
        done
        echo "$rounds rounds"
}

t_after_rounds() {
        local now
        now=$(snapshot) || return 1
        printf '%s\n' "$now"
        [[ $now == "$(printf '%s\n' "$before")" ]] || { echo "differs from before:"; printf '%s\n' "$before"; return 1; }
}

t_create_activates() {
        local old out rec
        reset_failed
        in_ct systemctl stop tund.service || return 1
        tcall CreateDevice 'sa{sv}' tt3 1 Persistent b true || return 1
        [[ $(in_ct systemctl is-active tund.service) == active ]] || { echo "CreateDevice did not start tund"; return 1; }
        reset_failed
        old=$(main_pid)
        in_ct systemctl restart tund.service || return 1
        wait_new_main_pid "$old" 10 >/dev/null || return 1
        out=$(tcall GetDevice s tt3) || return 1
        echo "GetDevice tt3 after the restart: $out"
        out=${out#o \"}
        in_ct busctl get-property "$bus" "${out%\"}" org.example.Tun1.Device Persistent | grep -qx 'b true' ||
                { echo "tt3 is not Persistent"; return 1; }
        rec=$(in_ct grep -lx 'NAME=tt3' -r /run/tund) || { echo "/run/tund holds no record of tt3:"; in_ct ls -la /run/tund; return 1; }
        echo "record $rec:"
        in_ct cat "$rec"
}

t_final_stop() {
        reset_failed
        in_ct systemctl stop tund.service || return 1
        [[ $(in_ct systemctl is-active tund.service) != active ]]
}

check "installed into the container: systemd-sysusers makes user tund, /dev/net/tun is 0666" t_install ||
        bail_out "tund could not be installed in the container"
check "a call to org.example.Tun1 starts tund.service (bus activation, Type=notify READY=1)" t_activation
check "tund runs as user tund with exactly CAP_NET_ADMIN and CAP_NET_BROADCAST (ambient, effective, bounding)" t_credentials
check "StatusText is what tund sends (STATUS=Serving org.example.Tun1)" t_status
check "systemctl service-log-level reads and sets tund's level (LogControl1) as root, not as another user; service-log-target reads" t_log_level
check "systemd-analyze security on the loaded tund.service: exposure at most 1.5" t_security
check "polkitd answers tund (user tund) about another caller: a challenge without a rule, yes with one" t_polkit_other_caller
check "root creates two persistent devices over busctl (CreateDevice Persistent, MTU, Owner): ip link shows them" t_create_persistent
check "one persistent device moved to another network namespace (ip link set tt1 netns tns)" t_move
check "tund.service pulls in tund-netns-helper.socket: /run/tund-netns-helper.socket owned by tund, mode 0600" t_netns_helper_socket
check "SetMTU, AddAddress, AddRoute, Routes, RemoveRoute, RemoveAddress on the moved device act in tns through the socket-activated helper, none failed" t_netns_helper_acts
check "another user cannot connect to the helper's socket (EACCES); the user tund can" t_netns_helper_other_user
check "systemd-analyze security on a loaded tund-netns-helper@.service instance: exposure at most 1.7" t_netns_helper_security
check "persistent devices, also the moved one, survive systemctl restart with their properties" t_restart
check "persistent devices survive a crash (SIGSEGV, Restart=on-failure) with their properties" t_segv
check "persistent devices survive a watchdog kill (SIGSTOP; test drop-in WatchdogSec=3s) with their properties" t_watchdog
check "test drop-in removed: WatchdogSec back to the unit's, devices still there" t_watchdog_undo
check "systemctl stop removes a non-persistent device whose creator is still connected, keeps persistent ones" t_stop_non_persistent
check "the moved device brought back to the container's namespace (the fd store is emptied by stop)" t_bring_home
check "issue 14: stopped tund, the activating GetDevice sees every persistent device (20 rounds)" activating_call_sees GetDevice 20
check "issue 14: stopped tund, the activating ListDevices sees every persistent device (20 rounds)" activating_call_sees ListDevices 20
check "issue 14: stopped tund, the activating GetManagedObjects sees every persistent device (20 rounds)" activating_call_sees GetManagedObjects 20
check "issue 14: after the rounds, the devices keep their properties" t_after_rounds
check "issue 14: a Persistent CreateDevice as the activating call keeps its record across the next restart" t_create_activates
check "systemctl stop tund" t_final_stop

echo "1..$tap_n"
[[ $tap_failed -eq 0 ]]
