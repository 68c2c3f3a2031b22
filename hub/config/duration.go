// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a length of time in the configuration file, written as a
// string with its units: as Go writes them ("90s", "5m", "1h30m") or with
// days ("7d", "1d12h"). A bare number is refused, naming the key: TOML
// libraries, acme-dns's among them, would read 300 as 300 nanoseconds.
type Duration struct{ time.Duration }

// UnmarshalTOML reads a string; a number is an error that shows the
// string to write instead.
func (d *Duration) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		parsed, err := ParseDuration(v)
		if err != nil {
			return err
		}
		d.Duration = parsed
		return nil
	case int64:
		seconds, same := strconv.FormatInt(v, 10)+"s", (time.Duration(v) * time.Second).String()
		if same == seconds {
			return fmt.Errorf("%d has no unit: a duration is a string, such as %q (seconds); a bare number would be %d nanoseconds", v, seconds, v)
		}
		return fmt.Errorf("%d has no unit: a duration is a string, such as %q (seconds) or %q; a bare number would be %d nanoseconds",
			v, seconds, same, v)
	case float64:
		return fmt.Errorf("%v has no unit: a duration is a string, such as \"90s\", \"5m\" or \"7d\"", v)
	default:
		return fmt.Errorf("a duration is a string, such as \"90s\", \"5m\" or \"7d\", not %T", v)
	}
}

// MarshalText writes the duration as ParseDuration reads it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Set reads a flag's value (pflag.Value), days included.
func (d *Duration) Set(s string) error {
	parsed, err := ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = parsed
	return nil
}

// Type names the flag's kind for help texts (pflag.Value).
func (d *Duration) Type() string { return "duration" }

// ParseDuration reads a duration as time.ParseDuration does, also taking
// whole days as a leading "<n>d" ("90d", "1d12h").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	days, rest, found := strings.Cut(s, "d")
	if !found {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration: write it with units, such as \"90s\", \"5m\", \"1h30m\" or \"7d\"", s)
		}
		return d, nil
	}
	n, err := strconv.ParseUint(days, 10, 16)
	if err != nil || (rest != "" && strings.HasPrefix(rest, "-")) {
		return 0, fmt.Errorf("%q is not a duration: days are a whole number before \"d\", such as \"7d\" or \"1d12h\"", s)
	}
	d := time.Duration(n) * 24 * time.Hour
	if rest != "" {
		more, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration: write it with units, such as \"90s\", \"5m\", \"1h30m\" or \"7d\"", s)
		}
		d += more
	}
	return d, nil
}
