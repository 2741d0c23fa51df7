#!/usr/bin/env bash
# What the tests need besides node_modules: Prometheus and promtool (e2e tests, dashboard and alert checks)
# and Chromium (browser tests), from Debian packages. Run before `npm test` (its pretest script) and by
# .ci/run. Installs the missing packages when it can (root with apt-get); otherwise says exactly what to
# install and fails, so a missing tool is one clear message instead of many failing tests.
set -euo pipefail

missing=()
command -v promtool >/dev/null 2>&1 && [ -x "${PROMETHEUS_BIN:-/usr/bin/prometheus}" ] || missing+=(prometheus)
# test/helpers/browser.ts launches this binary.
[ -x /usr/bin/chromium ] || missing+=(chromium)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: installing ${missing[*]} (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi

cat >&2 <<EOF
test-deps: the tests need the Debian packages: ${missing[*]}
  (/usr/bin/prometheus and promtool on PATH from 'prometheus', /usr/bin/chromium from 'chromium')
Install them first, then run npm test again:
  sudo apt-get install --no-install-recommends ${missing[*]}
EOF
exit 1
