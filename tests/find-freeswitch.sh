# Sourced by the Makefile: sets FS_FOUND to the FreeSWITCH binary the
# end-to-end tests will use (same search as tests/e2e/freeswitch.rs), or "".
FS_FOUND=""
if [ -n "$FREESWITCH_PREFIX" ]; then
  [ -x "$FREESWITCH_PREFIX/bin/freeswitch" ] && FS_FOUND="$FREESWITCH_PREFIX/bin/freeswitch"
elif [ -x /usr/local/freeswitch/bin/freeswitch ]; then
  FS_FOUND=/usr/local/freeswitch/bin/freeswitch
elif command -v freeswitch >/dev/null 2>&1; then
  FS_FOUND=$(command -v freeswitch)
fi
