// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package solver

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// DefaultTokenPath is where the chart mounts the ServiceAccount token the
// webhook and the Jobs show a hub: projected by the kubelet for the hub's
// audience, valid 10 minutes and refreshed before it expires.
const DefaultTokenPath = "/var/run/secrets/acmehub/hub/token"

// ProjectedToken is a ServiceAccount token the kubelet keeps fresh in a
// file; it is read again for every request.
type ProjectedToken struct{ Path string }

// Read returns the token, after checking (without its signature, which
// is the hub's to check) that it is for audience ("": any) and not
// expired, so that a misconfiguration is named here and not as the
// hub's 401. It also returns the token's audiences.
func (p ProjectedToken) Read(audience string, now time.Time) (string, []string, error) {
	data, err := os.ReadFile(p.Path)
	if err != nil {
		return "", nil, fmt.Errorf("reading the ServiceAccount token for the hub: %w (the chart mounts one at %s when hub.url is set)", err, DefaultTokenPath)
	}
	token := strings.TrimSpace(string(data))
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384,
		jose.PS512, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA})
	if err != nil {
		return "", nil, fmt.Errorf("the ServiceAccount token in %s is not a signed JWT: %w", p.Path, err)
	}
	var c jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		return "", nil, fmt.Errorf("the ServiceAccount token in %s: %w", p.Path, err)
	}
	if audience != "" && !slices.Contains([]string(c.Audience), audience) {
		return "", nil, fmt.Errorf("the ServiceAccount token in %s is for %v, not %q: project it for that audience (the chart's hub.serviceAccountToken.audience), or name one of those",
			p.Path, []string(c.Audience), audience)
	}
	if c.Expiry != nil && !now.Before(c.Expiry.Time()) {
		return "", nil, fmt.Errorf("the ServiceAccount token in %s expired at %s: the kubelet refreshes a projected token; is this one projected?",
			p.Path, c.Expiry.Time().UTC().Format(time.RFC3339))
	}
	return token, c.Audience, nil
}
