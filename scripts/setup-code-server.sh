#!/usr/bin/env bash
# Installs a real VS Code workbench (code-server 4.100.3, VS Code 1.100) for `npm run test:e2e`
# into .cache/code-server/ (gitignored, outside the project's node_modules), and the Debian
# packages the e2e test needs (chromium, ripgrep, libkrb5-dev). Idempotent: a finished install
# leaves a stamp file and later runs return at once.
#
# Why in steps: code-server's npm install scripts download prebuilt binaries from GitHub,
# which is not reachable here, so scripts are skipped and the native modules are built from
# source against the system Node (the same Node that runs code-server).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.100.3
DIR="${MODELOPS_CODE_SERVER_DIR:-$PWD/.cache/code-server}"
STAMP="$DIR/.installed-$VERSION-node$(node -p 'process.versions.modules')"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

if [[ -f "$STAMP" ]]; then
  echo "code-server $VERSION already installed in $DIR"
  exit 0
fi

log() { echo "== setup-code-server: $*"; }

# Debian packages: headless Chromium drives the workbench; ripgrep replaces @vscode/ripgrep's
# download; libkrb5-dev lets the kerberos module compile.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
[[ -f /usr/include/krb5.h || -f /usr/include/gssapi/gssapi.h ]] || missing+=(libkrb5-dev)
if (( ${#missing[@]} )); then
  log "apt-get install ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

NODE_GYP="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js"
[[ -f "$NODE_GYP" ]] || NODE_GYP=/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
NODEDIR="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
[[ -f "$NODEDIR/include/node/node.h" ]] || NODEDIR=/usr

mkdir -p "$DIR"
cd "$DIR"
[[ -f package.json ]] || echo '{ "name": "modelops-e2e-code-server", "private": true }' > package.json

if [[ ! -f node_modules/code-server/out/node/entry.js ]]; then
  log "npm install code-server@$VERSION (~176 MB, scripts skipped)"
  npm install --no-save --ignore-scripts --no-package-lock "code-server@$VERSION"
fi

log "build argon2 from source"
npm rebuild argon2 || (cd node_modules/argon2 && node "$NODE_GYP" rebuild --nodedir="$NODEDIR")

VS="$DIR/node_modules/code-server/lib/vscode"
cd "$VS"
log "install VS Code's production modules"
npm install --omit=dev --ignore-scripts --no-package-lock
mkdir -p node_modules/@vscode/ripgrep/bin
cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
for d in kerberos native-watchdog node-pty @vscode/spdlog @vscode/deviceid @parcel/watcher; do
  if [[ -d node_modules/$d ]]; then
    log "node-gyp rebuild $d"
    (cd "node_modules/$d" && node "$NODE_GYP" rebuild --nodedir="$NODEDIR" >/dev/null)
  fi
done
[[ -e node_modules.asar ]] || ln -s node_modules node_modules.asar
log "install built-in extensions' modules"
(cd extensions && npm install --omit=dev --ignore-scripts --no-package-lock)

cd "$DIR"
touch "$STAMP"
log "done: node $DIR/node_modules/code-server/out/node/entry.js"
