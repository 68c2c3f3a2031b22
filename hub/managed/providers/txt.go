// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package providers

import "strings"

// QuoteTXT is a TXT value as APIs that take zone-file text hold it (Route
// 53, Akamai): one quoted string, with " and \ escaped.
func QuoteTXT(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// UnquoteTXT is the value of a TXT string as QuoteTXT writes it.
func UnquoteTXT(v string) string {
	v = strings.TrimSuffix(strings.TrimPrefix(v, `"`), `"`)
	return strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(v)
}
