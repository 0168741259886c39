# The demo's services: small daemons that systemd starts on a machine where it runs (docs/demo.md,
# "On a machine with systemd"). Each says what it does when it starts and stops; the FIELD ones say
# it with "FIELD Chakra Ecosystem": on stdout (their unit appends it to /var/log/iNixos-Hive/*.log)
# and on stderr (their unit sends it to the journal). They then wait until systemd stops them.
# (The lines above this comment are written by builder.sh: bin, pname, version.)
# bash, for its builtin clock: when systemd stops a unit it signals every process of the unit's
# cgroup, also one forked while it does, so the last words must not need a "date" process.
PATH=/usr/bin:/bin
TZ=UTC
export PATH TZ

say() { # FIELD lines: to the unit's log file (stdout) with time and host, to the journal (stderr)
  local now
  printf -v now '%(%Y-%m-%dT%H:%M:%SZ)T' -1
  echo "$now $HOSTNAME FIELD Chakra Ecosystem: $*"
  echo "FIELD Chakra Ecosystem: $*" >&2
}

unit=$bin.service
listen=""; mode=""; hive=""
while [ $# -gt 0 ]; do
  case "$1" in
    --chakra) unit=$2-chakra.service; shift ;;
    --listen) listen=$2; shift ;;
    --mode) mode=$2; shift ;;
    --hive) hive=$2; shift ;;
  esac
  shift
done

case "$bin" in
  chakra-daemon)
    say "$unit active ($bin $version, pid $$)"
    trap 'say "$unit stopping"; exit 0' TERM INT ;;
  field-translator)
    port=${listen##*:}
    case "$port" in ''|*[!0-9]*) port=0 ;; esac
    if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
      msg="error: invalid listen address \"$listen\": port $port is out of range (1-65535)"
      echo "$msg" >&2
      say "$unit failed: $msg" 2>/dev/null
      exit 1
    fi
    say "$unit listening on $listen (mode $mode, $bin $version, pid $$)"
    trap 'say "$unit stopping"; exit 0' TERM INT
    if [ -n "$hive" ]; then
      # The hive bridge: the translator connects a few seconds after it starts, and without a hive it
      # gives up, as a service that fails after the switch has reported success.
      sleep 3 &
      wait $!
      if [ ! -S "$hive" ]; then
        msg="error: cannot connect to the hive at $hive: No such file or directory"
        echo "$msg" >&2
        say "$unit failed: $msg" 2>/dev/null
        exit 1
      fi
    fi ;;
  *)
    echo "$bin ($pname $version) running, pid $$" >&2
    trap 'echo "$bin stopping" >&2; exit 0' TERM INT ;;
esac

while :; do
  sleep 3600 &
  wait $!
done
