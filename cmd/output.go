// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// The commands' output: a table (or a line of text) for people, or, with
// -o json, one JSON convention for every command (docs/cli-json.md, each
// output's JSON Schema in docs/schemas/cli.schema.json):
//
//   - object keys in lowerCamelCase, initialisms kept (clientID, ttl,
//     allowCNAME), in the order of the Go fields;
//   - times in RFC 3339 (UTC), null when not set;
//   - durations as strings with their unit ("1.5s", "250ms");
//   - lists never null; no HTML escaping ("<name>" stays "<name>").

// result is what a command prints: Value as JSON with -o json; else Rows
// under Header as a table, or Text.
type result struct {
	Value  any
	Header string
	Rows   [][]string
	Text   string
}

// output is the -o flag's value and whether a table's cells may be cut.
type output struct {
	format string
	// wide prints a table's cells whole on a terminal too.
	wide bool
}

// register adds -o and --wide.
func (o *output) register(fs *pflag.FlagSet) {
	fs.StringVarP(&o.format, "output", "o", "table", "table or json")
	fs.BoolVar(&o.wide, "wide", false, "print a table's cells whole on a terminal too (a pipe always gets them whole)")
}

func (o output) check() error {
	if o.format != "table" && o.format != "json" {
		return fmt.Errorf("--output %q: must be table or json", o.format)
	}
	return nil
}

// print writes r as JSON (an object or an array, never null), a table, or
// its text.
func (o output) print(out io.Writer, r result) error {
	switch {
	case o.format == "json":
		return writeJSON(out, r.Value)
	case r.Header != "":
		return writeTable(out, r.Header, r.Rows, !o.wide && isTerminal(out))
	}
	_, err := fmt.Fprintln(out, r.Text)
	return err
}

// writeJSON writes v in the commands' JSON convention, indented.
func writeJSON(out io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	conv := conventional(reflect.ValueOf(v))
	if conv == nil {
		conv = []any{}
	}
	if err := enc.Encode(conv); err != nil {
		return err
	}
	_, err := out.Write(b.Bytes())
	return err
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
)

// conventional is v as the JSON convention has it: structs as ordered
// objects, times and durations as strings.
func conventional(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	switch {
	case v.Type() == timeType:
		if t := v.Interface().(time.Time); !t.IsZero() {
			return t.UTC().Format(time.RFC3339Nano)
		}
		return nil
	case v.Type() == durationType:
		return v.Interface().(time.Duration).String()
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return conventional(v.Elem())
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return v.Interface()
		}
		list := make([]any, v.Len())
		for i := range list {
			list[i] = conventional(v.Index(i))
		}
		return list
	case reflect.Map:
		m := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			m[fmt.Sprint(it.Key().Interface())] = conventional(it.Value())
		}
		return m
	case reflect.Struct:
		return object(v)
	}
	return v.Interface()
}

// orderedObject is a JSON object whose keys keep their order.
type orderedObject struct {
	keys   []string
	values []any
}

func (o orderedObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(k)
		b.Write(key)
		b.WriteByte(':')
		var val bytes.Buffer
		enc := json.NewEncoder(&val)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(o.values[i]); err != nil {
			return nil, err
		}
		b.Write(bytes.TrimSuffix(val.Bytes(), []byte("\n")))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// object is a struct's exported fields: named by their json tag, else in
// lowerCamelCase; "-" left out, and omitempty/omitzero honoured.
func object(v reflect.Value) orderedObject {
	var o orderedObject
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = lowerCamel(f.Name)
		}
		fv := v.Field(i)
		if (strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")) && fv.IsZero() {
			continue
		}
		val := conventional(fv)
		if val == nil && fv.Kind() == reflect.Slice {
			val = []any{}
		}
		o.keys, o.values = append(o.keys, name), append(o.values, val)
	}
	return o
}

// lowerCamel is a Go field's name as a JSON key: ID → id, ClientID →
// clientID, TTL → ttl, DNSName → dnsName.
func lowerCamel(s string) string {
	r := []rune(s)
	n := 0
	for n < len(r) && unicode.IsUpper(r[n]) {
		n++
	}
	switch {
	case n == len(r):
		return strings.ToLower(s)
	case n > 1:
		n-- // the last capital starts the next word
	}
	return strings.ToLower(string(r[:n])) + string(r[n:])
}

// writeTable writes rows under header, aligned; cut cells at maxCell when
// the reader is a person at a terminal (else every cell whole, for grep
// and the like).
func writeTable(out io.Writer, header string, rows [][]string, cut bool) error {
	var b strings.Builder
	lines := append([][]string{strings.Split(header, "\t")}, rows...)
	widths := map[int]int{}
	cells := make([][]string, len(lines))
	for i, row := range lines {
		cells[i] = make([]string, len(row))
		for j, c := range row {
			cells[i][j] = cell(c, cut)
			widths[j] = max(widths[j], utf8.RuneCountInString(cells[i][j]))
		}
	}
	for _, row := range cells {
		for j, c := range row {
			if j == len(row)-1 {
				b.WriteString(c)
				break
			}
			b.WriteString(c + strings.Repeat(" ", widths[j]-utf8.RuneCountInString(c)+2))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// maxCell is the widest a table's cell is printed on a terminal, in
// characters: one long value (a refused identifier) would otherwise widen
// every row. --wide, a pipe and -o json print every value whole.
const maxCell = 60

// cell is s as a table shows it: on one line, and with cut at most maxCell
// characters, with an ellipsis.
func cell(s string, cut bool) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if !cut || utf8.RuneCountInString(s) <= maxCell {
		return s
	}
	return string([]rune(s)[:maxCell-1]) + "…"
}

// isTerminal reports whether out is a terminal.
func isTerminal(out io.Writer) bool {
	f, ok := out.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// when is a time as a table shows it: RFC 3339, "-" when not set.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
