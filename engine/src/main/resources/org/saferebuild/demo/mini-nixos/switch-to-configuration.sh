# switch-to-configuration of the Safe Rebuild demo system. It behaves like NixOS's for what an
# operator can see: the same actions, the same unit decisions and messages (on stderr), the same
# exit codes; it acts on the demo root instead of the machine:
#   demo-state/activations.jsonl   one line per call: {"action","system","time"}
#   run/current-system             repointed by switch and test
#   demo-state/boot-default        the boot loader's default entry, set by switch and boot
# and on the services, in one of two ways (docs/demo.md):
#   services=simulated   (a machine without systemd) it says what systemd would do and writes the
#                        services' "FIELD Chakra Ecosystem" lines to log/iNixos-Hive/*.log itself
#   services=systemd     (the systemd test machine) it does what NixOS's does with systemd: units
#                        that are running (systemctl) and changed are stopped, reloaded, restarted
#                        or started, after daemon-reload; failed units are reported (exit 4)
# (The lines above this comment are written by the system's builder: out, root, hostName,
# label, failUnit, failMessage, services.)
set -u
PATH=/usr/bin:/bin:/usr/sbin:/sbin
export PATH
# As NixOS's: neither a hang-up nor a reader that went away (a killed nixos-rebuild or engine)
# stops a switch half-way; output to a closed pipe is lost, the switch goes on.
trap '' HUP PIPE

usage() {
  cat >&2 <<USAGE
Usage: $0 [switch|boot|test|dry-activate]

switch:       make the configuration the boot default and activate now
boot:         make the configuration the boot default
test:         activate the configuration, but don't make it the boot default
dry-activate: show what would be done if this configuration were activated
USAGE
  exit 1
}

action=${1:-}
case "$action" in
  switch|boot|test|dry-activate) ;;
  *) usage ;;
esac

state="$root/demo-state"
hive="$root/log/iNixos-Hive"
if [ ! -d "$state" ]; then
  echo "error: $state does not exist; this system belongs to a demo installation that is gone" >&2
  exit 1
fi
if [ "$services" = systemd ]; then
  if [ ! -d /run/systemd/system ]; then
    echo "error: this demo system was installed for a machine where systemd runs its units, and systemd does not run here" >&2
    exit 1
  fi
  if [ ! -e /etc/safe-rebuild-test-machine ]; then
    echo "error: this demo system starts and stops systemd units, so it runs only on Safe Rebuild's systemd test machine (script/lib/systemd-machine.sh)" >&2
    exit 1
  fi
fi
now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
printf '{"action":"%s","system":"%s","time":"%s"}\n' "$action" "$out" "$now" >> "$state/activations.jsonl"
# For tests: while demo-state/hold-<action> exists, the activation waits here (so a test can stop the
# engine in the middle of one, as a power cut would).
while [ -e "$state/hold-$action" ]; do sleep 0.1; done

# Replaces a link atomically, as NixOS's activation does for /run/current-system.
relink() {
  ln -sfn "$1" "$2.tmp.$$" && mv -T "$2.tmp.$$" "$2"
}

old="$root/run/current-system/etc/systemd/system"
new="$out/etc/systemd/system"

unitFiles() { # unit files (not *.wants directories) of a systemd/system directory
  [ -d "$1" ] || return 0
  for f in "$1"/*; do
    [ -f "$f" ] && basename "$f"
  done
}
wanted() { # is unit $2 enabled (linked from some *.wants) in directory $1?
  for w in "$1"/*.wants/"$2"; do
    [ -e "$w" ] && return 0
  done
  return 1
}
key() { # the value of X-key $2 in unit file $1
  sed -n "s/^$2=//p" "$1" | tail -n 1
}
join() { # sorted, comma-separated
  sort | paste -s -d, - | sed 's/,/, /g'
}
# Whether a unit runs now. With systemd, as NixOS's script asks it: active or activating. Without,
# a unit counts as running when some *.wants/ of the current system links it.
if [ "$services" = systemd ]; then
  activeBefore=$(systemctl list-units --all --plain --no-legend --full | awk '$3 != "inactive" { print $1 " " $3 }')
  running() {
    # (the name through the environment: awk -v would turn \x2d in unit names into "-")
    echo "$activeBefore" | U=$1 awk '$1 == ENVIRON["U"] && ($2 == "active" || $2 == "activating" || $2 == "reloading") { f = 1 }
      END { exit !f }'
  }
else
  running() { wanted "$old" "$1"; }
fi

toStop=""; toStart=""; toRestart=""; toReload=""; toSkip=""
for u in $(unitFiles "$old"); do
  case "$u" in *.target) continue ;; esac
  running "$u" || continue                 # not running: nothing to stop or restart
  if [ ! -f "$new/$u" ]; then
    toStop="$toStop $u"
  elif ! cmp -s "$old/$u" "$new/$u"; then
    if [ "$(key "$new/$u" X-ReloadIfChanged)" = true ]; then
      toReload="$toReload $u"
    elif [ "$(key "$new/$u" X-RestartIfChanged)" = false ]; then
      toSkip="$toSkip $u"
    elif [ "$(key "$new/$u" X-StopIfChanged)" = false ]; then
      toRestart="$toRestart $u"
    else
      toStop="$toStop $u"
      toStart="$toStart $u"
    fi
  fi
done
for u in $(unitFiles "$new"); do
  case "$u" in *.target) continue ;; esac
  if { [ ! -f "$old/$u" ] || ! running "$u"; } && wanted "$new" "$u"; then
    toStart="$toStart $u"
  fi
done

list() { for u in $1; do echo "$u"; done | join; }

hiveLog() { # unit, message
  case "$1" in
    *-chakra.service) f="$hive/chakra-${1%-chakra.service}.log" ;;
    field-translator.service) f="$hive/translator.log" ;;
    *) return 0 ;;
  esac
  mkdir -p "$hive"
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $hostName FIELD Chakra Ecosystem: $2" >> "$f"
}

if [ "$action" = dry-activate ]; then
  [ -n "$toStop" ] && echo "would stop the following units: $(list "$toStop")" >&2
  [ -n "$toSkip" ] && echo "would NOT stop the following changed units: $(list "$toSkip")" >&2
  echo "would activate the configuration..." >&2

  [ -n "$toReload" ] && echo "would reload the following units: $(list "$toReload")" >&2
  [ -n "$toRestart" ] && echo "would restart the following units: $(list "$toRestart")" >&2
  [ -n "$toStart" ] && echo "would start the following units: $(list "$toStart")" >&2
  exit 0
fi

if [ "$action" = switch ] || [ "$action" = boot ]; then
  echo "updating the boot loader's default entry to $label" >&2
  relink "$out" "$state/boot-default"
fi
if [ "$action" = boot ]; then
  exit 0
fi

if [ "$services" = systemd ]; then
  rc=0
  if [ -n "$toStop" ]; then
    echo "stopping the following units: $(list "$toStop")" >&2
    # shellcheck disable=SC2086
    systemctl stop -- $toStop || rc=4
  fi
  [ -n "$toSkip" ] && echo "NOT restarting the following changed units: $(list "$toSkip")" >&2
  echo "activating the configuration..." >&2
  "$out/activate" "$out" >&2 || { echo "Failed to run activate script" >&2; rc=2; }
  relink "$out" "$root/run/current-system"
  systemctl reset-failed
  systemctl daemon-reload
  if [ -n "$toReload" ]; then
    echo "reloading the following units: $(list "$toReload")" >&2
    for u in $toReload; do systemctl reload -- "$u" || { echo "Failed to reload $u" >&2; rc=4; }; done
  fi
  if [ -n "$toRestart" ]; then
    echo "restarting the following units: $(list "$toRestart")" >&2
    for u in $toRestart; do systemctl restart -- "$u" || { echo "Failed to restart $u" >&2; rc=4; }; done
  fi
  if [ -n "$toStart" ]; then
    echo "starting the following units: $(list "$toStart")" >&2
    for u in $toStart; do systemctl start -- "$u" || { echo "Failed to start $u" >&2; rc=4; }; done
  fi
  # As NixOS's: let systemd settle, then report units that failed, and units that are restarting
  # after a failure (auto-restart with a non-zero exit status). A unit this switch started that
  # systemd has already restarted by itself (NRestarts counts from the last start asked for) failed
  # too: a service that dies at once is running again for a moment between its restarts.
  sleep 0.5
  failed=""; started=""
  for u in $toRestart $toStart; do
    case "$(systemctl show -P NRestarts -- "$u" 2>/dev/null)" in ''|0) ;; *) failed="$failed $u" ;; esac
  done
  for line in $(systemctl list-units --all --plain --no-legend --full | awk '$3 != "inactive" { print $1 "|" $3 "|" $4 }'); do
    u=${line%%|*}; rest=${line#*|}; state=${rest%%|*}; sub=${rest#*|}
    case " $failed " in *" $u "*) continue ;; esac
    if [ "$state" = failed ]; then
      failed="$failed $u"
    elif [ "$sub" = auto-restart ] && [ "$(systemctl show -P ExecMainStatus -- "$u")" != 0 ]; then
      failed="$failed $u"
    elif ! echo "$activeBefore" | U=$u awk '$1 == ENVIRON["U"] { f = 1 } END { exit !f }'; then
      case "$u" in *.scope) ;; *) started="$started $u" ;; esac
    fi
  done
  [ -n "$started" ] && echo "the following new units were started: $(list "$started")" >&2
  if [ -n "$failed" ]; then
    echo "warning: the following units failed: $(list "$failed")" >&2
    # shellcheck disable=SC2086
    SYSTEMD_COLORS=0 systemctl status --no-pager --full -- $failed >&2
    rc=4
  fi
  [ "$rc" = 0 ] || echo "warning: error(s) occurred while switching to the new configuration" >&2
  exit "$rc"
fi

[ -n "$toStop" ] && echo "stopping the following units: $(list "$toStop")" >&2
for u in $toStop; do hiveLog "$u" "$u stopping (configuration change)"; done
[ -n "$toSkip" ] && echo "NOT restarting the following changed units: $(list "$toSkip")" >&2
echo "activating the configuration..." >&2
"$out/activate" >&2
relink "$out" "$root/run/current-system"
[ -n "$toReload" ] && echo "reloading the following units: $(list "$toReload")" >&2
[ -n "$toRestart" ] && echo "restarting the following units: $(list "$toRestart")" >&2
[ -n "$toStart" ] && echo "starting the following units: $(list "$toStart")" >&2

failed=""
for u in $(unitFiles "$new"); do
  wanted "$new" "$u" || continue
  if [ "$u" = "$failUnit" ]; then
    failed="$u"
    hiveLog "$u" "$u failed: $failMessage"
  else
    hiveLog "$u" "$u active on $label"
  fi
done

if [ -n "$failed" ]; then
  pid=$((4000 + $$ % 1000))
  exec=$(key "$new/$failed" ExecStart)
  when=$(date -u '+%a %Y-%m-%d %H:%M:%S UTC')
  stamp=$(date -u '+%b %d %H:%M:%S')
  cat >&2 <<FAILED
warning: the following units failed: $failed

× $failed - $(key "$new/$failed" Description)
     Loaded: loaded (/etc/systemd/system/$failed; enabled; preset: enabled)
     Active: failed (Result: exit-code) since $when; 12ms ago
    Process: $pid ExecStart=$exec (code=exited, status=1/FAILURE)
   Main PID: $pid (code=exited, status=1/FAILURE)
        CPU: 4ms

$stamp $hostName ${failed%.service}[$pid]: $failMessage
$stamp $hostName systemd[1]: $failed: Main process exited, code=exited, status=1/FAILURE
$stamp $hostName systemd[1]: $failed: Failed with result 'exit-code'.
warning: error(s) occurred while switching to the new configuration
FAILED
  exit 4
fi
exit 0
