#!/usr/bin/env bash
# Render a monthly attendance table (XLSX) to PDF and PNG, to look at it the way the office will print it.
#
#   scripts/render-table.sh [TABLE.xlsx] [OUTDIR]
#
# Without TABLE.xlsx it first writes a 40-person sample month (internal/report's TestWriteSample) into
# OUTDIR (default /tmp/punchd-render). Needs libreoffice (libreoffice-calc), pdftoppm and pdfinfo
# (poppler-utils) and a CJK font (fonts-noto-cjk). Fails unless the table fits exactly one page.
# Rendered files stay in OUTDIR; keep them out of git.
set -euo pipefail

out=${2:-/tmp/punchd-render}
mkdir -p "$out"
for tool in libreoffice pdftoppm pdfinfo; do
	command -v "$tool" >/dev/null || { echo "render-table: $tool not found (apt-get install -y libreoffice-calc poppler-utils fonts-noto-cjk)" >&2; exit 1; }
done

if [ -n "${1:-}" ]; then
	xlsx=$1
else
	cd "$(dirname "$0")/.."
	go test ./internal/report -run '^TestWriteSample$' -count=1 -args -sample="$out" >/dev/null
	xlsx=$out/table.xlsx
fi

base=$(basename "${xlsx%.*}")
# A private LibreOffice profile, so a desktop session or a parallel run does not block the conversion.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
libreoffice -env:UserInstallation="file://$profile" --headless --convert-to pdf --outdir "$out" "$xlsx" >/dev/null 2>&1
pdf=$out/$base.pdf
[ -s "$pdf" ] || { echo "render-table: libreoffice wrote no $pdf" >&2; exit 1; }

pages=$(pdfinfo "$pdf" | awk '/^Pages:/ {print $2}')
size=$(pdfinfo "$pdf" | awk -F': *' '/^Page size:/ {print $2}')
pdftoppm -png -r 110 "$pdf" "$out/$base"
echo "pdf: $pdf ($pages page(s), $size)"
ls "$out/$base"*.png
if [ "$pages" != 1 ]; then
	echo "render-table: the table takes $pages pages, want 1" >&2
	exit 1
fi
