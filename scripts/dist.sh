#!/usr/bin/env bash
# Build punchd's packages: .deb and .rpm for each Linux architecture, with nfpm, and the Windows zip.
#
#   scripts/dist.sh                 # amd64 arm64 loong64, both formats, and windows-amd64
#   scripts/dist.sh amd64           # one architecture
#   scripts/dist.sh windows-amd64   # only the Windows zip
#   FORMATS=deb scripts/dist.sh amd64
#
# Environment:
#   VERSION     package version (default: from the latest v* git tag, else 0.0.0,
#               plus +git<date>.<sha> when HEAD is not exactly on the tag)
#   DIST        output directory (default: dist)
#   FORMATS     "deb rpm" (default)
#   SKIP_BUILD  1 = package the binaries already in $DIST/bin/<arch>/ instead of building them
#
# Binaries are static (CGO_ENABLED=0), cross-compiled for linux/<arch>, with
# -trimpath, the VCS revision stamped (-buildvcs=true) and the version in internal/buildinfo.Version
# (punchd --version, punchctl version, punchd_build_info). nfpm is built once from the Go
# module proxy at a pinned version (for the host, whatever the target) into
# $DIST/tools: nothing is downloaded but Go modules.
#
# The Windows zip, punchd_<version>_windows_amd64.zip, holds one folder punchd-<version>-windows-amd64
# with punchd.exe, punchctl.exe, zkclock.exe, punchd.example.toml (the example with Windows paths,
# the file `punchd service install` writes), README.md, COPYRIGHT.txt and docs\ (windows.md first:
# install, config, start, check, logs, uninstall). Needs zip.
set -euo pipefail
cd "$(dirname "$0")/.."

NFPM_MODULE=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
DIST=${DIST:-dist}
FORMATS=${FORMATS:-deb rpm}
ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(amd64 arm64 loong64 windows-amd64)

die() { echo "dist: $*" >&2; exit 1; }

if [ -z "${VERSION:-}" ]; then
  tag=$(git describe --tags --match 'v[0-9]*' --abbrev=0 2>/dev/null || true)
  base=${tag#v}
  base=${base:-0.0.0}
  if [ -z "$tag" ] || [ "$(git rev-list -n1 "$tag" 2>/dev/null)" != "$(git rev-parse HEAD)" ]; then
    VERSION="${base}+git$(git log -1 --format=%cd --date=format:%Y%m%d).$(git rev-parse --short=7 HEAD)"
  else
    VERSION=$base
  fi
fi
case "$VERSION" in
  [0-9]*) ;;
  *) die "VERSION=$VERSION must start with a digit (deb and rpm both require it)";;
esac
case "$VERSION" in
  *-*) die "VERSION=$VERSION must not contain '-' (rpm forbids it; the release is added as -1)";;
esac

# The example configuration written with the config package; the package
# installs it as /etc/punchd/punchd.toml.
CONFIG=${CONFIG:-internal/config/testdata/punchd.example.toml}
[ -f "$CONFIG" ] || die "example configuration $CONFIG not found"
[ -f docs/operations.md ] || die "docs/operations.md not found"

tools="$DIST/tools/nfpm-${NFPM_MODULE##*@}" # one directory per pinned version: a bump rebuilds it
NFPM="$tools/nfpm"
if [ ! -x "$NFPM" ]; then
  echo "build nfpm ($NFPM_MODULE)"
  mkdir -p "$tools"
  GOBIN="$(cd "$tools" && pwd)" GOOS= GOARCH= CGO_ENABLED=0 go install "$NFPM_MODULE" \
    || die "building nfpm ($NFPM_MODULE) failed"
fi

# The man pages and the bash completion, generated from punchd's and punchctl's own flags and
# commands (the same for every architecture).
GENDIR="$DIST/gen"
mkdir -p "$GENDIR"
for cmd in punchctl punchd; do
  go run -ldflags "-X github.com/jinbi/punchd/internal/buildinfo.Version=$VERSION" "./cmd/$cmd" gen-man "$GENDIR" >/dev/null || die "$cmd gen-man failed"
done
gzip -9nf "$GENDIR/punchctl.1" "$GENDIR/punchd.8"
go run ./cmd/punchctl completion bash > "$GENDIR/punchctl.bash" || die "punchctl completion bash failed"

# windows_zip ARCH: the Windows programs, the example config with Windows paths and the docs, zipped.
windows_zip() {
  local arch=$1 bindir="$DIST/bin/windows-$1" name="punchd-$VERSION-windows-$1"
  command -v zip >/dev/null || die "zip not found (apt-get install zip)"
  [ -f docs/windows.md ] || die "docs/windows.md not found"
  if [ "${SKIP_BUILD:-}" != 1 ]; then
    mkdir -p "$bindir"
    for cmd in punchd punchctl zkclock; do
      echo "build $cmd windows/$arch"
      CGO_ENABLED=0 GOOS=windows GOARCH=$arch \
        go build -trimpath -buildvcs=true -ldflags "-s -w -X github.com/jinbi/punchd/internal/buildinfo.Version=$VERSION" -o "$bindir/$cmd.exe" "./cmd/$cmd" \
        || die "building cmd/$cmd for windows/$arch failed"
    done
  fi
  local stage="$DIST/stage/$name"
  rm -rf "$DIST/stage"
  mkdir -p "$stage/docs"
  for cmd in punchd punchctl zkclock; do
    [ -f "$bindir/$cmd.exe" ] || die "$bindir/$cmd.exe missing"
    cp "$bindir/$cmd.exe" "$stage/"
  done
  go run ./scripts/example-config windows > "$stage/punchd.example.toml" || die "example config for windows"
  cp README.md "$stage/README.md"
  cp packaging/copyright "$stage/COPYRIGHT.txt"
  cp docs/*.md docs/*.json "$stage/docs/"
  local zipfile="punchd_${VERSION}_windows_$arch.zip"
  echo "package zip windows/$arch $VERSION"
  rm -f "$DIST/$zipfile"
  ( cd "$DIST/stage" && zip -qrX "../$zipfile" "$name" ) || die "zip for windows/$arch failed"
  rm -rf "$DIST/stage"
}

for arch in "${ARCHES[@]}"; do
  case "$arch" in
    amd64|arm64|loong64) ;;
    windows-amd64|windows-arm64) windows_zip "${arch#windows-}"; continue ;;
    *) die "unsupported architecture $arch (amd64, arm64, loong64, windows-amd64, windows-arm64)";;
  esac
  bindir="$DIST/bin/$arch"
  if [ "${SKIP_BUILD:-}" != 1 ]; then
    mkdir -p "$bindir"
    for cmd in punchd punchctl; do
      [ -d "cmd/$cmd" ] && ls "cmd/$cmd"/*.go >/dev/null 2>&1 || die "cmd/$cmd has no Go files yet: nothing to package"
      echo "build $cmd linux/$arch"
      CGO_ENABLED=0 GOOS=linux GOARCH=$arch \
        go build -trimpath -buildvcs=true -ldflags "-s -w -X github.com/jinbi/punchd/internal/buildinfo.Version=$VERSION" -o "$bindir/$cmd" "./cmd/$cmd" \
        || die "building cmd/$cmd for linux/$arch failed"
    done
  fi
  for cmd in punchd punchctl; do
    [ -x "$bindir/$cmd" ] || die "$bindir/$cmd missing"
  done
  for fmt in $FORMATS; do
    echo "package $fmt linux/$arch $VERSION"
    PKG_ARCH=$arch VERSION=$VERSION BINDIR=$bindir CONFIG=$CONFIG GENDIR=$GENDIR \
      "$NFPM" package --config nfpm.yaml --packager "$fmt" --target "$DIST/" \
      || die "nfpm $fmt for $arch failed"
  done
done

# Checksums of this run's packages only (older versions may lie beside them).
( cd "$DIST" && sha256sum -- punchd[_-]"$VERSION"[-_]* > SHA256SUMS )
echo "packages in $DIST/:"
cat "$DIST/SHA256SUMS"
