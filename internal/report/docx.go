package report

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// The 通报 as a Word document (DOCX, Office Open XML), written by hand: no maintained Go library
// for it is available to this project. The package is the minimum Word, WPS and LibreOffice all
// open: content types, the package relationships, the document with its relationships, styles,
// settings and the core and app properties. Fonts are those of a Chinese official document
// (方正小标宋简体 titles, 黑体 headings, 仿宋_GB2312 body; LibreOffice on Linux falls back to an
// installed CJK face); the page is A4 with the margins of GB/T 9704.

const (
	fontTitle   = "方正小标宋简体"
	fontHeading = "黑体"
	fontBody    = "仿宋_GB2312"
)

// docxRun is a run of text with its look.
type docxRun struct {
	text  string
	font  string
	half  int // size in half-points
	bold  bool
	color string
}

// docxPara is a paragraph: alignment, first-line indent in hundredths of a character, spacing
// after in twentieths of a point, a red rule under it, a right tab stop, and its runs.
type docxPara struct {
	align       string // left, center, right, both
	indent      int
	after       int
	ruleUnder   bool
	rightTab    bool
	keepNext    bool
	runs        []docxRun
	lineExactly int // line height in twentieths of a point; 0 = single
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // a bytes.Buffer does not fail
	return b.String()
}

func (p docxPara) xml(b *strings.Builder) {
	b.WriteString("<w:p><w:pPr>")
	if p.keepNext {
		b.WriteString(`<w:keepNext/>`)
	}
	if p.ruleUnder {
		b.WriteString(`<w:pBdr><w:bottom w:val="single" w:sz="18" w:space="4" w:color="FF0000"/></w:pBdr>`)
	}
	if p.rightTab {
		b.WriteString(`<w:tabs><w:tab w:val="right" w:pos="8845"/></w:tabs>`)
	}
	fmt.Fprintf(b, `<w:spacing w:before="0" w:after="%d"`, p.after)
	if p.lineExactly > 0 {
		fmt.Fprintf(b, ` w:line="%d" w:lineRule="exact"`, p.lineExactly)
	}
	b.WriteString(`/>`)
	if p.indent > 0 {
		// firstLine for readers that ignore firstLineChars (LibreOffice): hundredths of a 16pt character in twips.
		fmt.Fprintf(b, `<w:ind w:firstLineChars="%d" w:firstLine="%d"/>`, p.indent, p.indent*sizeBody*10/100)
	}
	fmt.Fprintf(b, `<w:jc w:val="%s"/></w:pPr>`, p.align)
	for _, r := range p.runs {
		b.WriteString("<w:r><w:rPr>")
		fmt.Fprintf(b, `<w:rFonts w:ascii="%[1]s" w:hAnsi="%[1]s" w:eastAsia="%[1]s" w:cs="%[1]s"/>`, esc(r.font))
		if r.bold {
			b.WriteString(`<w:b/><w:bCs/>`)
		}
		if r.color != "" {
			fmt.Fprintf(b, `<w:color w:val="%s"/>`, r.color)
		}
		fmt.Fprintf(b, `<w:sz w:val="%d"/><w:szCs w:val="%d"/>`, r.half, r.half)
		b.WriteString("</w:rPr>")
		for i, part := range strings.Split(r.text, "\t") {
			if i > 0 {
				b.WriteString("<w:tab/>")
			}
			if part != "" {
				fmt.Fprintf(b, `<w:t xml:space="preserve">%s</w:t>`, esc(part))
			}
		}
		b.WriteString("</w:r>")
	}
	b.WriteString("</w:p>")
}

// Sizes of a Chinese official document, in half-points: 初号 42pt, 二号 22pt, 三号 16pt.
const (
	sizeMasthead = 84
	sizeTitle    = 44
	sizeBody     = 32
)

func noticeParas(n Notice) []docxPara {
	body := func(text string) docxRun { return docxRun{text: text, font: fontBody, half: sizeBody} }
	var ps []docxPara
	for _, b := range noticeBlocks(n) {
		switch b.kind {
		case bMasthead:
			ps = append(ps, docxPara{align: "center", after: 120, runs: []docxRun{{text: b.text, font: fontTitle, half: sizeMasthead, bold: true, color: "FF0000"}}})
		case bIssue:
			ps = append(ps, docxPara{align: "center", after: 120, runs: []docxRun{body(b.text)}})
		case bIssuerDate:
			ps = append(ps, docxPara{align: "left", after: 480, ruleUnder: true, rightTab: true, runs: []docxRun{body(b.text)}})
		case bTitle:
			ps = append(ps, docxPara{align: "center", after: 480, lineExactly: 640, runs: []docxRun{{text: b.text, font: fontTitle, half: sizeTitle}}})
		case bAddressee:
			ps = append(ps, docxPara{align: "left", lineExactly: 560, runs: []docxRun{body(b.text)}})
		case bHeading:
			ps = append(ps, docxPara{align: "left", indent: 200, lineExactly: 560, keepNext: true, runs: []docxRun{{text: b.text, font: fontHeading, half: sizeBody}}})
		case bBody, bItem:
			ps = append(ps, docxPara{align: "both", indent: 200, lineExactly: 560, runs: []docxRun{body(b.text)}})
		case bSign:
			ps = append(ps, docxPara{align: "right", lineExactly: 560, runs: []docxRun{body(b.text)}})
		}
	}
	return ps
}

// WriteNoticeDOCX writes the 通报 as a Word document the office edits in WPS or Word before printing.
// created is the document's creation time (core properties).
func WriteNoticeDOCX(w io.Writer, n Notice, created time.Time) error {
	var doc strings.Builder
	doc.WriteString(xml.Header)
	doc.WriteString(`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body>`)
	for _, p := range noticeParas(n) {
		p.xml(&doc)
	}
	// A4 (11906×16838 twips); margins 37/35/28/26 mm as GB/T 9704 gives them.
	doc.WriteString(`<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="2098" w:right="1474" w:bottom="1984" w:left="1587" w:header="851" w:footer="992" w:gutter="0"/><w:cols w:space="425"/><w:docGrid w:type="lines" w:linePitch="579"/></w:sectPr>`)
	doc.WriteString(`</w:body></w:document>`)

	stamp := created.UTC().Format("2006-01-02T15:04:05Z")
	parts := []struct{ name, body string }{
		{"[Content_Types].xml", xml.Header + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
			`<Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>` +
			`<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>` +
			`<Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/>` +
			`<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>` +
			`<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>` +
			`</Types>`},
		{"_rels/.rels", xml.Header + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>` +
			`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>` +
			`<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>` +
			`</Relationships>`},
		{"word/_rels/document.xml.rels", xml.Header + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>` +
			`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/>` +
			`</Relationships>`},
		{"word/document.xml", doc.String()},
		{"word/styles.xml", xml.Header + `<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">` +
			`<w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="` + fontBody + `" w:hAnsi="` + fontBody + `" w:eastAsia="` + fontBody + `" w:cs="` + fontBody + `"/>` +
			`<w:sz w:val="32"/><w:szCs w:val="32"/><w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/></w:rPr></w:rPrDefault>` +
			`<w:pPrDefault><w:pPr><w:widowControl/><w:jc w:val="both"/></w:pPr></w:pPrDefault></w:docDefaults>` +
			`<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/></w:style>` +
			`</w:styles>`},
		{"word/settings.xml", xml.Header + `<w:settings xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">` +
			`<w:defaultTabStop w:val="420"/><w:characterSpacingControl w:val="compressPunctuation"/><w:compat><w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat></w:settings>`},
		{"docProps/core.xml", xml.Header + `<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
			`<dc:title>` + esc(n.Title) + `</dc:title><dc:creator>` + esc(n.Issuer) + `</dc:creator>` +
			`<dcterms:created xsi:type="dcterms:W3CDTF">` + stamp + `</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">` + stamp + `</dcterms:modified>` +
			`</cp:coreProperties>`},
		{"docProps/app.xml", xml.Header + `<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>punchd</Application></Properties>`},
	}
	zw := zip.NewWriter(w)
	for _, p := range parts {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: zip.Deflate, Modified: created})
		if err != nil {
			return fmt.Errorf("report: docx: %s: %w", p.name, err)
		}
		if _, err := io.WriteString(fw, p.body); err != nil {
			return fmt.Errorf("report: docx: %s: %w", p.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("report: docx: %w", err)
	}
	return nil
}
