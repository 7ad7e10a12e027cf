#!/bin/sh
# The main job on a fresh machine (make demo): the shipped config, validated
# and screening sample callers, first with the offline CLI, then through the
# built module itself, loaded by the stand-in core of the host tests; then
# four weeks of sample calls replayed against it, and a candidate config
# compared with it on those calls.
set -eu
CLI=$1
MODULE=$2
CONF=conf/callscreen.yaml

echo "== validate $CONF"
$CLI validate $CONF
echo

echo "== offline verdicts (callscreen check --config $CONF <caller> 4000)"
for caller in 013800138000 +8613800138000 017012345678 17187654321 "+86 165 0000 1111" \
              anonymous "" "sip:+8616212345678@carrier.example" +12025550123 075512345678 'call%me'; do
  out=$($CLI check --config $CONF "$caller" 4000)
  verdict=$(echo "$out" | sed -n 's/^+OK //p')
  rule=$(echo "$out" | sed -n 's/^rule: //p')
  reply=$(echo "$out" | sed -n 's/^reply: //p')
  norm=$(echo "$out" | sed -n 's/^caller: .* -> //p')
  printf '  %-36s %-16s %-6s %-18s %s\n' "'$caller'" "$norm" "$verdict" "$rule" "$reply"
done
echo

echo "== the module: $MODULE loaded by tests/host/fakeswitch.c (a stand-in for the FreeSWITCH core)"
FAKE=target/release/fakeswitch
cc -std=gnu11 -O1 -rdynamic -Iinclude -o $FAKE tests/host/fakeswitch.c -ldl
{
  echo "dlopen $(pwd)/$MODULE"
  echo "global callscreen_config $(pwd)/$CONF"
  echo "load"
  for caller in 013800138000 017012345678 anonymous +12025550123; do
    echo "var caller_id_number $caller"
    echo "var destination_number 4000"
    echo "call"
  done
  echo "api status"
  echo "shutdown"
} | $FAKE | grep -E '^(> call|> load|> api|SET callscreen_(verdict|rule|reply)|EXEC|HANGUP|RETURNED|STATUS|API\||REGISTERED|LOG (CRIT|NOTICE|INFO))' \
  | sed -e 's/^LOG [A-Z]* [^ ]* fmt=[^ ]* text=/  log: /' -e 's/^/  /'
echo

HISTORY=conf/samples/history.csv
echo "== the offline twin: four weeks of past calls ($HISTORY) replayed against $CONF"
$CLI replay --config $CONF $HISTORY --out target/demo-verdicts.csv --html target/demo-report.html \
  | sed 's/^/  /'
echo
echo "== what a candidate config would change on the same calls (callscreen diff)"
$CLI diff --config $CONF --config conf/samples/candidate.yaml $HISTORY --list 3 | sed 's/^/  /'
echo
echo "Open target/demo-report.html in a browser for the charts (it loads nothing from the network)."
echo "Install into FreeSWITCH with 'make install', then in fs_cli: load mod_callscreen"
