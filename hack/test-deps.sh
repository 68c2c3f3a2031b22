#!/usr/bin/env bash
# Copyright 2026 The acmehub Authors
# SPDX-License-Identifier: Apache-2.0
#
# Checks that every program the tests start is on this machine (the list is
# hack/test-deps.txt, or the file named by $1). As root on Debian or Ubuntu
# it installs what is missing with one apt-get install; otherwise it names
# the missing programs, their packages and the command to run, and fails.
# Programs whose tests are opted out by $ACMEHUB_TEST_SKIP (comma-separated
# names of the list's third column) are not needed.
set -euo pipefail

list=${1:-"$(dirname "$0")/test-deps.txt"}

# Debian keeps daemons in /usr/sbin and PostgreSQL's server programs in a
# versioned directory, neither on every user's PATH.
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
search="$PATH:/usr/sbin:/sbin${pgbin:+:$pgbin}"

skipped() { [[ ",${ACMEHUB_TEST_SKIP:-}," == *",$1,"* ]]; }

present() {
	case $1 in
	/*) [ -e "$1" ] ;;
	*) PATH=$search command -v "$1" >/dev/null ;;
	esac
}

missing=() packages=() optouts=()
while read -r program package optout _; do
	[[ -z $program || $program == \#* ]] && continue
	[[ $optout != - ]] && skipped "$optout" && continue
	present "$program" && continue
	missing+=("$program")
	[[ " ${packages[*]} " == *" $package "* ]] || packages+=("$package")
	[[ $optout == - || " ${optouts[*]} " == *" $optout "* ]] || optouts+=("$optout")
done <"$list"

[ ${#missing[@]} -eq 0 ] && exit 0

install="apt-get install -y --no-install-recommends ${packages[*]}"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
	echo "make test: installing ${packages[*]} (for ${missing[*]})"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086 # one word a package
	$install
	exit 0
fi

optout=""
if [ ${#optouts[@]} -gt 0 ]; then
	optout=", or opt their tests out with ACMEHUB_TEST_SKIP=$(IFS=,; echo "${optouts[*]}")"
fi
echo "make test: missing ${missing[*]}: run 'sudo $install' (Debian/Ubuntu package names)$optout" >&2
exit 1
