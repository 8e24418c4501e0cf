package reports

import (
	"encoding/base64"
	"fmt"
	"html"
	"regexp"
	"strings"
)

// htmlStyle is the report's whole style sheet: readable width, tables with
// rules, figures scaled to the page.
const htmlStyle = `body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#1b1b1b}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem}
th{background:#f2f2f2}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#fafafa}
img{max-width:100%;height:auto;border:1px solid #eee}
pre{background:#f6f6f6;padding:.5rem;overflow-x:auto}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}
`

// HTML renders a report's Markdown (the subset this package writes:
// headings, paragraphs, lists, tables, fenced code, images, bold, italics,
// code spans and links) as one self-contained HTML page: images whose
// source is a key of images are inlined as base64 PNG data, so the page
// needs no other file.
func HTML(title, markdown string, images map[string][]byte) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n<style>\n%s</style>\n</head>\n<body>\n", html.EscapeString(title), htmlStyle)
	b.WriteString(blocksHTML(strings.Split(strings.TrimRight(markdown, "\n"), "\n"), images))
	b.WriteString("</body>\n</html>\n")
	return b.String()
}

var imageLine = regexp.MustCompile(`^!\[([^\]]*)\]\(([^)]+)\)$`)

// blocksHTML renders a sequence of Markdown lines as HTML blocks.
func blocksHTML(lines []string, images map[string][]byte) string {
	var b strings.Builder
	for i := 0; i < len(lines); {
		line := lines[i]
		switch {
		case strings.TrimSpace(line) == "":
			i++
		case strings.HasPrefix(line, "#"):
			level := len(line) - len(strings.TrimLeft(line, "#"))
			fmt.Fprintf(&b, "<h%d>%s</h%d>\n", level, inline(strings.TrimSpace(line[level:])), level)
			i++
		case strings.HasPrefix(line, "```"):
			fence := line[:len(line)-len(strings.TrimLeft(line, "`"))]
			j := i + 1
			for j < len(lines) && strings.TrimSpace(lines[j]) != fence {
				j++
			}
			fmt.Fprintf(&b, "<pre><code>%s</code></pre>\n", html.EscapeString(strings.Join(lines[i+1:min(j, len(lines))], "\n")))
			i = j + 1
		case strings.HasPrefix(line, "| "):
			j := i
			for j < len(lines) && strings.HasPrefix(lines[j], "|") {
				j++
			}
			b.WriteString(tableHTML(lines[i:j]))
			i = j
		case strings.HasPrefix(line, "- "):
			b.WriteString("<ul>\n")
			for i < len(lines) && strings.HasPrefix(lines[i], "- ") {
				item := []string{lines[i][2:]}
				i++
				// An item goes on over indented lines, and over blank lines
				// that an indented line follows.
				for i < len(lines) {
					if strings.HasPrefix(lines[i], "  ") {
						item = append(item, lines[i][2:])
						i++
						continue
					}
					if strings.TrimSpace(lines[i]) == "" && i+1 < len(lines) && strings.HasPrefix(lines[i+1], "  ") {
						item = append(item, "")
						i++
						continue
					}
					break
				}
				body := blocksHTML(item, images)
				// A one-paragraph item reads better without its <p>.
				if strings.Count(body, "<p>") == 1 && strings.HasPrefix(body, "<p>") && strings.HasSuffix(body, "</p>\n") {
					body = strings.TrimSuffix(strings.TrimPrefix(body, "<p>"), "</p>\n")
				}
				fmt.Fprintf(&b, "<li>%s</li>\n", strings.TrimRight(body, "\n"))
			}
			b.WriteString("</ul>\n")
		case imageLine.MatchString(line):
			m := imageLine.FindStringSubmatch(line)
			src := m[2]
			if data, ok := images[src]; ok {
				src = "data:image/png;base64," + base64.StdEncoding.EncodeToString(data)
			}
			fmt.Fprintf(&b, "<figure><img src=\"%s\" alt=\"%s\"></figure>\n", html.EscapeString(src), html.EscapeString(m[1]))
			i++
		default:
			j := i
			var para []string
			for j < len(lines) && strings.TrimSpace(lines[j]) != "" && !startsBlock(lines[j]) {
				para = append(para, strings.TrimSpace(lines[j]))
				j++
			}
			if j == i { // a line no block claims: keep it as text
				para, j = []string{lines[i]}, i+1
			}
			fmt.Fprintf(&b, "<p>%s</p>\n", inline(strings.Join(para, " ")))
			i = j
		}
	}
	return b.String()
}

func startsBlock(line string) bool {
	return strings.HasPrefix(line, "#") || strings.HasPrefix(line, "```") || strings.HasPrefix(line, "| ") ||
		strings.HasPrefix(line, "- ") || imageLine.MatchString(line)
}

// tableHTML renders a Markdown table: a header row, the alignment row
// ("---:" right-aligns a column) and body rows.
func tableHTML(lines []string) string {
	if len(lines) < 2 {
		return "<p>" + inline(strings.Join(lines, " ")) + "</p>\n"
	}
	head, aligns := tableCells(lines[0]), tableCells(lines[1])
	class := func(col int) string {
		if col < len(aligns) && strings.HasSuffix(aligns[col], ":") {
			return ` class="num"`
		}
		return ""
	}
	var b strings.Builder
	b.WriteString("<table>\n<thead><tr>")
	for c, h := range head {
		fmt.Fprintf(&b, "<th%s>%s</th>", class(c), breakable(inline(h)))
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for _, l := range lines[2:] {
		b.WriteString("<tr>")
		for c, v := range tableCells(l) {
			fmt.Fprintf(&b, "<td%s>%s</td>", class(c), breakable(inline(v)))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>\n")
	return b.String()
}

var (
	htmlTag = regexp.MustCompile(`<[^>]*>`)
	// breakAfter are where a long name may wrap: after a dot, underscore or
	// slash followed by a letter ("distill.student_temp", "floats/image";
	// not "0.003"), and after the ">" of a chain ("inflated>c16>c4").
	breakAfter = regexp.MustCompile(`([._/]|&gt;)([A-Za-z])`)
)

// breakable lets a table cell's text wrap where a narrow table needs it:
// inside long names (breakAfter), and before "± sd" rather than after
// the ± (a mean ± sd wraps as "29.5" over "± 33.3").
func breakable(h string) string {
	tags := htmlTag.FindAllString(h, -1)
	parts := htmlTag.Split(h, -1)
	var b strings.Builder
	for i, p := range parts {
		p = breakAfter.ReplaceAllString(p, "$1<wbr>$2")
		b.WriteString(strings.ReplaceAll(p, " ± ", " ±&nbsp;"))
		if i < len(tags) {
			b.WriteString(tags[i])
		}
	}
	return b.String()
}

// tableCells splits a table row at the pipes that cell() did not escape.
func tableCells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	if strings.HasSuffix(line, "|") && !strings.HasSuffix(line, `\|`) {
		line = line[:len(line)-1]
	}
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

var (
	codeSpan = regexp.MustCompile("`([^`]+)`")
	boldSpan = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	italic   = regexp.MustCompile(`(^|[\s(])_([^_]+)_($|[\s).,:;])`)
	link     = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`)
)

// inline renders the inline Markdown of one block: code spans first (their
// content is literal), then bold, italics and links, on escaped text.
func inline(s string) string {
	parts := codeSpan.Split(s, -1)
	codes := codeSpan.FindAllStringSubmatch(s, -1)
	var b strings.Builder
	for i, p := range parts {
		t := html.EscapeString(p)
		t = boldSpan.ReplaceAllString(t, "<strong>$1</strong>")
		t = italic.ReplaceAllString(t, "$1<em>$2</em>$3")
		t = link.ReplaceAllString(t, `<a href="$2">$1</a>`)
		b.WriteString(t)
		if i < len(codes) {
			b.WriteString("<code>" + html.EscapeString(codes[i][1]) + "</code>")
		}
	}
	return b.String()
}
