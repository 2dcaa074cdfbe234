package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

var numeralsCN = []string{"一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}

// noticeBlock is one paragraph of the 通报 in reading order, for every writer.
type noticeBlock struct {
	kind blockKind
	text string
}

type blockKind int

const (
	bMasthead   blockKind = iota // 金碧政务督查, red
	bIssue                       // 第N期
	bIssuerDate                  // issuer left, date right, a red rule under
	bTitle                       // 关于…的通报
	bAddressee                   // 各村（社区）…：
	bHeading                     // 一、机关
	bBody                        // an indented paragraph
	bItem                        // a numbered entry
	bSign                        // issuer and date at the foot, right-aligned
)

// noticeBlocks lays the 通报 out once; the Markdown, DOCX and XLSX writers only style the blocks.
func noticeBlocks(n Notice) []noticeBlock {
	bs := []noticeBlock{{bMasthead, n.Masthead}}
	if n.Issue > 0 {
		bs = append(bs, noticeBlock{bIssue, fmt.Sprintf("第%d期", n.Issue)})
	}
	bs = append(bs,
		noticeBlock{bIssuerDate, n.Issuer + "\t" + dateLongCN(n.Date)},
		noticeBlock{bTitle, n.Title},
		noticeBlock{bAddressee, n.Addressee},
		noticeBlock{bBody, n.Intro},
	)
	h := 0
	heading := func(s string) {
		bs = append(bs, noticeBlock{bHeading, numeralsCN[h%len(numeralsCN)] + "、" + s})
		h++
	}
	for _, s := range n.Sections {
		heading(s.Heading)
		bs = append(bs, noticeBlock{bBody, s.Summary})
		for i, e := range s.Entries {
			bs = append(bs, noticeBlock{bItem, fmt.Sprintf("%d. %s", i+1, e.Text())})
		}
	}
	heading("正面典型")
	if len(n.Positive) == 0 {
		bs = append(bs, noticeBlock{bBody, "本期无。"})
	}
	for i, e := range n.Positive {
		bs = append(bs, noticeBlock{bItem, fmt.Sprintf("%d. %s", i+1, e.Text())})
	}
	heading("存在问题及意见建议")
	if len(n.Problems) == 0 {
		bs = append(bs, noticeBlock{bBody, "本期无。"})
	}
	for _, p := range n.Problems {
		bs = append(bs, noticeBlock{bBody, p})
	}
	bs = append(bs, noticeBlock{bSign, n.Issuer}, noticeBlock{bSign, dateLongCN(n.Date)})
	return bs
}

// WriteNoticeMarkdown writes the 通报 as Markdown.
func WriteNoticeMarkdown(w io.Writer, n Notice) error {
	bw := bufio.NewWriter(w)
	for _, b := range noticeBlocks(n) {
		switch b.kind {
		case bMasthead:
			fmt.Fprintf(bw, "# %s\n\n", b.text)
		case bIssue:
			fmt.Fprintf(bw, "%s\n\n", b.text)
		case bIssuerDate:
			issuer, date, _ := strings.Cut(b.text, "\t")
			fmt.Fprintf(bw, "%s　　　　%s\n\n---\n\n", issuer, date)
		case bTitle:
			fmt.Fprintf(bw, "## %s\n\n", b.text)
		case bHeading:
			fmt.Fprintf(bw, "### %s\n\n", b.text)
		case bBody:
			fmt.Fprintf(bw, "　　%s\n\n", b.text)
		case bItem:
			fmt.Fprintf(bw, "%s\n\n", b.text)
		case bAddressee:
			fmt.Fprintf(bw, "%s\n\n", b.text)
		case bSign:
			fmt.Fprintf(bw, "<p align=\"right\">%s</p>\n\n", b.text)
		}
	}
	return bw.Flush()
}

// NoticeSheet is the 通报's sheet in the XLSX; the bulletin's data sheets follow it.
const NoticeSheet = "通报"

// WriteNoticeXLSX writes the 通报 as a printable A4 portrait sheet, followed by the bulletin's data
// sheets (概况, 个人情况, 违纪明细, 全勤人员, 违纪较重) for the clock figures behind it.
func WriteNoticeXLSX(w io.Writer, n Notice) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := fillBulletin(f, n.Bulletin); err != nil {
		return fmt.Errorf("report: notice xlsx: %w", err)
	}
	if _, err := f.NewSheet(NoticeSheet); err != nil {
		return fmt.Errorf("report: notice xlsx: %w", err)
	}
	if err := fillNoticeSheet(f, n); err != nil {
		return fmt.Errorf("report: notice xlsx: %w", err)
	}
	if err := f.MoveSheet(NoticeSheet, BulletinSheetSummary); err != nil {
		return fmt.Errorf("report: notice xlsx: order sheets: %w", err)
	}
	f.SetActiveSheet(0)
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("report: notice xlsx: write: %w", err)
	}
	return nil
}

func fillNoticeSheet(f *excelize.File, n Notice) error {
	sh := NoticeSheet
	var ew errWriter
	style := func(size float64, bold bool, color, align string, indent int) int {
		id, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Family: Font, Size: size, Bold: bold, Color: color},
			Alignment: &excelize.Alignment{Horizontal: align, Vertical: "top", WrapText: true, Indent: indent}})
		ew.do(func() error { return err })
		return id
	}
	styles := map[blockKind]int{
		bMasthead:   style(26, true, "FF0000", "center", 0),
		bIssue:      style(12, false, "", "center", 0),
		bIssuerDate: style(12, false, "", "left", 0),
		bTitle:      style(16, true, "", "center", 0),
		bAddressee:  style(12, false, "", "left", 0),
		bHeading:    style(12, true, "", "left", 0),
		bBody:       style(12, false, "", "left", 0),
		bItem:       style(12, false, "", "left", 1),
		bSign:       style(12, false, "", "right", 0),
	}
	const width = 90.0 // A..H in Excel character units
	row := 0
	for _, b := range noticeBlocks(n) {
		row++
		text := b.text
		switch b.kind {
		case bIssuerDate:
			issuer, date, _ := strings.Cut(text, "\t")
			text = issuer + strings.Repeat("　", 24) + date
		case bBody:
			text = "　　" + text
		}
		r := row
		ew.do(func() error { return f.SetCellValue(sh, cell(1, r), text) })
		ew.do(func() error { return f.MergeCell(sh, cell(1, r), cell(8, r)) })
		ew.do(func() error { return f.SetCellStyle(sh, cell(1, r), cell(8, r), styles[b.kind]) })
		size := 12.0
		switch b.kind {
		case bMasthead:
			size = 26
		case bTitle:
			size = 16
		}
		lines := wrappedLines(text, width*12/size)
		ew.do(func() error { return f.SetRowHeight(sh, r, float64(lines)*size*1.45+4) })
	}
	ew.do(func() error { return f.SetColWidth(sh, "A", "H", width/8) })
	ew.do(func() error {
		size, orient, one, zero := 9, "portrait", 1, 0
		return f.SetPageLayout(sh, &excelize.PageLayoutOptions{Size: &size, Orientation: &orient, FitToWidth: &one, FitToHeight: &zero})
	})
	ew.do(func() error { fit := true; return f.SetSheetProps(sh, &excelize.SheetPropsOptions{FitToPage: &fit}) })
	ew.do(func() error { return f.SetSheetDimension(sh, "A1:"+cell(1, max(row, 1))) })
	return ew.err
}
