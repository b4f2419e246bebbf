#!/bin/bash
# SPDX-License-Identifier: MIT
#
# scripts/setup finds the mirror of the apt source serving bookworm main, in
# both of apt's formats, in apt's order, and says so when there is none. Each
# case is a folder of sources made here; APT_CONFIG points apt-config (which
# scripts/setup asks where the sources are) at it. Nothing is installed:
# `scripts/setup --mirror` only prints the URI.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

need_env BLINKD_SOURCE_ROOT
need_program apt-config
setup=$BLINKD_SOURCE_ROOT/scripts/setup

# sources CASE: an empty apt configuration of its own for CASE; prints its
# sources.list.d folder.
sources() {
        local etc=$TMP/$1/etc
        mkdir -p "$etc/sources.list.d" "$etc/apt.conf.d" "$etc/preferences.d" "$etc/trusted.gpg.d"
        echo "Dir::Etc \"$etc/\";" >"$TMP/$1/apt.conf"
        echo "$etc"
}

# expect_mirror CASE URI: scripts/setup --mirror prints URI for CASE.
expect_mirror() {
        local got
        got=$(APT_CONFIG=$TMP/$1/apt.conf "$setup" --mirror 2>"$TMP/$1/stderr") ||
                fail "$1: scripts/setup --mirror failed: $(cat "$TMP/$1/stderr")"
        [ "$got" = "$2" ] || fail "$1: the mirror is '$got', expected '$2'"
        info "$1: $got"
}

# expect_none CASE: scripts/setup --mirror fails for CASE, saying why.
expect_none() {
        if APT_CONFIG=$TMP/$1/apt.conf "$setup" --mirror >"$TMP/$1/stdout" 2>"$TMP/$1/stderr"; then
                fail "$1: found a mirror where none serves bookworm main: $(cat "$TMP/$1/stdout")"
        fi
        grep -q "no apt source serves bookworm main" "$TMP/$1/stderr" ||
                fail "$1: no reason given: $(cat "$TMP/$1/stderr")"
        info "$1: none, as it should be"
}

# One-line format: comments, deb-src, other suites and components that are
# not main are passed over; options in brackets are not the URI.
etc=$(sources one-line)
cat >"$etc/sources.list" <<'EOF'
# deb http://commented.invalid/debian bookworm main
deb-src http://source.invalid/debian bookworm main
deb http://updates.invalid/debian bookworm-updates main
deb http://contrib.invalid/debian bookworm contrib
deb [ arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg ] http://mirror.invalid:3142/debian/ bookworm contrib main # a comment
deb http://later.invalid/debian bookworm main
EOF
expect_mirror one-line "http://mirror.invalid:3142/debian/"

# deb822: disabled stanzas, deb-src only, and a suite list without
# bookworm are passed over; fields continue on indented lines, and the
# first of several URIs is taken.
etc=$(sources deb822)
cat >"$etc/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://disabled.invalid/debian
Suites: bookworm
Components: main
Enabled: no

# a comment between stanzas
Types: deb-src
URIs: http://source.invalid/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://security.invalid/debian-security
Suites: bookworm-security
Components: main

types: deb-src deb
uris: http://first.invalid/debian
 http://second.invalid/debian
suites: bookworm-updates
  bookworm
components: contrib
  main
signed-by:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 not a key
 -----END PGP PUBLIC KEY BLOCK-----
EOF
expect_mirror deb822 "http://first.invalid/debian"

# apt's order: sources.list, then sources.list.d by name, whatever the format.
etc=$(sources order)
printf 'Types: deb\nURIs: http://a.invalid/debian\nSuites: bookworm\nComponents: main\n' \
        >"$etc/sources.list.d/a.sources"
echo "deb http://b.invalid/debian bookworm main" >"$etc/sources.list.d/b.list"
expect_mirror order "http://a.invalid/debian"
echo "deb http://main.invalid/debian bookworm main" >"$etc/sources.list"
expect_mirror order "http://main.invalid/debian"

# Files apt ignores are ignored.
etc=$(sources ignored)
echo "deb http://ignored.invalid/debian bookworm main" >"$etc/sources.list.d/x.list.disabled"
echo "deb http://ignored.invalid/debian bookworm main" >"$etc/sources.list.d/x.sources.save"
expect_none ignored

# Nothing serves bookworm main: no mirror, and a reason.
etc=$(sources none)
echo "deb http://contrib.invalid/debian bookworm contrib non-free" >"$etc/sources.list"
expect_none none
