# switch-to-configuration of the Safe Rebuild demo system. It behaves like NixOS's for what an
# operator can see: the same actions, the same unit decisions and messages (on stderr), the same
# exit codes; it acts on the demo root instead of the machine:
#   demo-state/activations.jsonl   one line per call: {"action","system","time"}
#   run/current-system             repointed by switch and test
#   demo-state/boot-default        the boot loader's default entry, set by switch and boot
#   log/iNixos-Hive/*.log          "FIELD Chakra Ecosystem" lines from the started services
# (The lines above this comment are written by the system's builder: out, root, hostName,
# label, failUnit, failMessage.)
set -u
PATH=/usr/bin:/bin:/usr/sbin:/sbin
export PATH

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

toStop=""; toStart=""; toRestart=""; toReload=""; toSkip=""
for u in $(unitFiles "$old"); do
  case "$u" in *.target) continue ;; esac
  wanted "$old" "$u" || continue           # not running: nothing to stop or restart
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
  if { [ ! -f "$old/$u" ] || ! wanted "$old" "$u"; } && wanted "$new" "$u"; then
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
