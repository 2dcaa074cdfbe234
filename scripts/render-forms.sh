#!/usr/bin/env bash
# Render the township's monthly forms and 通报 to PDF and PNG, to look at them the way the office
# prints them.
#
#   scripts/render-forms.sh [OUTDIR]
#
# Writes the 200-person, 12-unit sample month (internal/report's TestWriteUnitsSample: forms.xlsx,
# forms-blank.xlsx, notice.docx, notice.xlsx, notice.md) into OUTDIR (default /tmp/punchd-forms),
# converts the XLSX and DOCX files with LibreOffice and each PDF page to PNG. Fails unless each set
# of forms is one page per sheet (the summary and the 12 units: 13 pages). Needs libreoffice
# (libreoffice-calc and libreoffice-writer), pdftoppm and pdfinfo (poppler-utils) and a CJK font
# (fonts-noto-cjk). Rendered files stay in OUTDIR; keep them out of git.
set -euo pipefail

out=${1:-/tmp/punchd-forms}
mkdir -p "$out"
for tool in libreoffice pdftoppm pdfinfo; do
	command -v "$tool" >/dev/null || { echo "render-forms: $tool not found (apt-get install -y libreoffice-calc-nogui libreoffice-writer-nogui poppler-utils fonts-noto-cjk)" >&2; exit 1; }
done
cd "$(dirname "$0")/.."
go test ./internal/report -run '^TestWriteUnitsSample$' -count=1 -args -sample="$out" >/dev/null

# A private LibreOffice profile, so a desktop session or a parallel run does not block the conversion.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
status=0
for f in forms.xlsx forms-blank.xlsx notice.docx notice.xlsx; do
	libreoffice -env:UserInstallation="file://$profile" --headless --convert-to pdf --outdir "$out" "$out/$f" >/dev/null 2>&1
	[ -s "$out/${f%.*}.pdf" ] || { echo "render-forms: libreoffice wrote no $out/${f%.*}.pdf" >&2; exit 1; }
	base=${f%.*}-${f##*.} # notice.docx and notice.xlsx both convert to notice.pdf
	pdf=$out/$base.pdf
	mv "$out/${f%.*}.pdf" "$pdf"
	pages=$(pdfinfo "$pdf" | awk '/^Pages:/ {print $2}')
	size=$(pdfinfo "$pdf" | awk -F': *' '/^Page size:/ {print $2}')
	rm -f "$out/$base"-*.png
	pdftoppm -png -r 80 "$pdf" "$out/$base"
	echo "$pdf: $pages page(s), $size"
	case $f in
	forms*.xlsx)
		if [ "$pages" != 13 ]; then
			echo "render-forms: $f takes $pages pages, want 13 (the summary and one per unit)" >&2
			status=1
		fi
		;;
	esac
done
ls "$out"/*.png
exit $status
