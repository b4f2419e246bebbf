#!/bin/sh
# SPDX-License-Identifier: MIT
#
# meson install script: put the example configuration in place as the
# configuration, unless one is already there. A configuration someone wrote
# or edited is never overwritten.
#
# Usage: install-config.sh EXAMPLE TARGET
#   EXAMPLE  the installed example, an absolute path without DESTDIR
#   TARGET   where the configuration belongs, an absolute path without DESTDIR
# Both are taken below $DESTDIR when meson installs with --destdir.

set -eu

if [ $# -ne 2 ]; then
        echo "usage: $0 EXAMPLE TARGET" >&2
        exit 2
fi

example="${DESTDIR:-}$1"
target="${DESTDIR:-}$2"

if [ -n "${MESON_INSTALL_DRY_RUN:-}" ]; then
        echo "Would install $example to $target unless it exists"
        exit 0
fi

if [ -e "$target" ] || [ -L "$target" ]; then
        echo "Keeping existing $target"
        exit 0
fi

mkdir -p "$(dirname "$target")"
# Copy to a temporary name first so that an interrupted install never
# leaves a half-written configuration behind.
cp "$example" "$target.tmp.$$"
chmod 0644 "$target.tmp.$$"
mv "$target.tmp.$$" "$target"
echo "Installing $example to $target"
