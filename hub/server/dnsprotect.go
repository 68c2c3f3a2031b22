// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/dnsserver"
	"github.com/acmehub/acmehub/hub/store"
)

// cookieSecretName is the shared secret DNS server cookies are made with
// when [acmehub] dns_cookie_secret is not set.
const cookieSecretName = "dns-cookie"

// dnsProtection is how the DNS server treats clients, from [acmehub]: the
// rate limit, the cookie secret (the config's, else the database's, which
// every server sharing it uses), ANY over TCP and the query log. The
// returned closer closes the query log's file.
func dnsProtection(ctx context.Context, cfg config.AcmeHub, st store.Store, log *slog.Logger) (dnsserver.Protection, io.Closer, error) {
	exempt, err := config.ParsePrefixes(cfg.RateLimitExempt)
	if err != nil {
		return dnsserver.Protection{}, nil, fmt.Errorf("[acmehub] rate_limit_exempt: %w", err)
	}
	p := dnsserver.Protection{
		RateLimit: dnsserver.RateLimit{
			ResponsesPerSecond: cfg.RateLimitResponses, ErrorsPerSecond: cfg.RateLimitErrors,
			Window: cfg.RateLimitWindow.Duration, Slip: cfg.RateLimitSlip,
			SlipsPerSecond: cfg.RateLimitSlips,
			IPv4Prefix:     cfg.RateLimitIPv4Prefix, IPv6Prefix: cfg.RateLimitIPv6Prefix,
			Exempt: exempt, LogOnly: cfg.RateLimitLogOnly,
		},
		FullANYOverTCP: cfg.ANYOverTCP == config.ANYFull,
	}
	secret, err := hex.DecodeString(cfg.DNSCookieSecret)
	if err != nil {
		return p, nil, fmt.Errorf("[acmehub] dns_cookie_secret: %w", err)
	}
	if len(secret) == 0 {
		fresh := make([]byte, len(p.CookieSecret))
		rand.Read(fresh)
		if secret, err = st.SharedSecret(ctx, cookieSecretName, fresh); err != nil {
			return p, nil, fmt.Errorf("the DNS cookie secret: %w", err)
		}
	}
	if len(secret) != len(p.CookieSecret) {
		return p, nil, fmt.Errorf("the DNS cookie secret has %d bytes, want %d", len(secret), len(p.CookieSecret))
	}
	copy(p.CookieSecret[:], secret)

	var closer io.Closer = io.NopCloser(nil)
	switch cfg.QueryLog {
	case "":
	case "stdout":
		p.QueryLog = dnsserver.NewQueryLog(os.Stdout, cfg.QueryLogSample, log)
	case "stderr":
		p.QueryLog = dnsserver.NewQueryLog(os.Stderr, cfg.QueryLogSample, log)
	default:
		f, err := os.OpenFile(cfg.QueryLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return p, nil, config.FileError("[acmehub] query_log", cfg.QueryLog, err)
		}
		p.QueryLog, closer = dnsserver.NewQueryLog(f, cfg.QueryLogSample, log), f
	}
	return p, closer, nil
}
