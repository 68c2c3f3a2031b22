// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package server

import (
	"testing"

	"github.com/acmehub/acmehub/hub/config"
)

func TestOpenRegistration(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *config.Config)
		open   bool
	}{
		{"loopback", func(c *config.Config) {}, false},
		{"IPv6 loopback, bracketed", func(c *config.Config) { c.API.IP = "[::1]" }, false},
		{"all addresses", func(c *config.Config) { c.API.IP = "0.0.0.0" }, true},
		{"all addresses, empty", func(c *config.Config) { c.API.IP = "" }, true},
		{"a LAN address", func(c *config.Config) { c.API.IP = "192.0.2.10" }, true},
		{"basic auth", func(c *config.Config) { c.API.IP = "0.0.0.0"; c.AcmeHub.RegistrationUser = "reg" }, false},
		{"registration off", func(c *config.Config) { c.API.IP = "0.0.0.0"; c.API.DisableRegistration = true }, false},
	}
	for _, tt := range tests {
		c := config.Default()
		tt.modify(&c)
		if got := openRegistration(c); got != tt.open {
			t.Errorf("%s: openRegistration = %v, want %v", tt.name, got, tt.open)
		}
	}
}

func TestParseKeyName(t *testing.T) {
	for _, tt := range []struct {
		name, zone string
		alg        uint8
		tag        uint16
		ok         bool
	}{
		{"Kauth.example.org.+013+04047", "auth.example.org.", 13, 4047, true},
		{"/keys/KAuth.Example.org.+015+00017.private", "auth.example.org.", 15, 17, true},
		{"Kauth.example.org.+013+04047.key", "auth.example.org.", 13, 4047, true},
		{"auth.example.org.+013+04047", "", 0, 0, false},
		{"Kauth.example.org.+013", "", 0, 0, false},
		{"Kauth.example.org.+013+99999", "", 0, 0, false},
		{"Kauth.example.org.+x+1", "", 0, 0, false},
	} {
		zone, alg, tag, err := parseKeyName(tt.name)
		if (err == nil) != tt.ok || zone != tt.zone || alg != tt.alg || tag != tt.tag {
			t.Errorf("parseKeyName(%q) = %q, %d, %d, %v", tt.name, zone, alg, tag, err)
		}
	}
}
