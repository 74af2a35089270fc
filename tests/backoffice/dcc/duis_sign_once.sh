#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The DCC's own DUIS signing tool once per document, spawned as @smartdcc/duis-sign-wrap
# spawns it (java -cp tool.jar ...Sign -), for `gbhan dsp catalogue --signer`: the request
# on stdin, signed on stdout; --preserveCounter when GBHAN_SIGN_KEEP_COUNTER=1 (the signed
# pre-command), the user's certificate and key when GBHAN_SIGN_CERT and GBHAN_SIGN_KEY name
# them (a user whose key the tool's library does not hold). GBHAN_DCC_TOOLS names the folder
# npm installed @smartdcc/duis-sign-wrap in.
set -eu
jar="${GBHAN_DCC_TOOLS:?names the folder npm installed @smartdcc/duis-sign-wrap in}/node_modules/@smartdcc/duis-sign-wrap/dist/tool.jar"
set -- -
[ "${GBHAN_SIGN_KEEP_COUNTER:-0}" = 1 ] && set -- "$@" --preserveCounter
[ -n "${GBHAN_SIGN_CERT:-}" ] && set -- "$@" "$GBHAN_SIGN_CERT" "${GBHAN_SIGN_KEY:?with GBHAN_SIGN_CERT}"
exec java -cp "$jar" uk.co.smartdcc.boxed.xmldsig.Sign "$@"
