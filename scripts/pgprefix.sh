# shellcheck shell=bash
# Sourced: the private PostgreSQL server that `make test` and `make run` use.
#
# PostgreSQL finds its share and lib directories relative to its binaries,
# so a copy of the Debian server's bin/, lib/ and share/ under .pginst/ is a
# complete server of its own; `make install DESTDIR=.pginst` puts the
# extension into it.  Exports PG_PREFIX and PG_BINDIR.
PG_PREFIX=${PG_PREFIX:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.pginst}
PG_BINDIR="$PG_PREFIX$(pg_config --bindir)"
export PG_PREFIX PG_BINDIR

# (Re)copy the server when it is missing or the system's was upgraded.
pgprefix_prepare() {
	local version bindir libdir sharedir
	version=$(pg_config --version)
	[ -f "$PG_PREFIX/VERSION" ] && [ "$(cat "$PG_PREFIX/VERSION")" = "$version" ] && return 0
	bindir=$(pg_config --bindir)
	libdir=$(pg_config --pkglibdir)
	sharedir=$(pg_config --sharedir)
	rm -rf "$PG_PREFIX"
	mkdir -p "$PG_PREFIX$bindir" "$PG_PREFIX$libdir" "$PG_PREFIX$sharedir"
	cp -a "$bindir/." "$PG_PREFIX$bindir/"
	cp -a "$libdir/." "$PG_PREFIX$libdir/"
	cp -a "$sharedir/." "$PG_PREFIX$sharedir/"
	echo "$version" >"$PG_PREFIX/VERSION"
}
