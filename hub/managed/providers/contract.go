// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/libdns/libdns"

	"github.com/acmehub/acmehub/hub/dnsclient"
	"github.com/acmehub/acmehub/hub/store"
)

// This file is the whole contract between the hub and a DNS provider. The
// words mean one thing each:
//
//   - a Provider is a registration: a name, what it writes, its credential
//     Fields and New, which makes the Writer of one challenge config;
//   - a Writer writes and removes the TXT values of one config's zone; it
//     may also be a Tester, know its Propagation, or write at a
//     FixedRecord;
//   - Env is what New may use besides the config.

// Provider is a registered provider.
type Provider struct {
	// Name is what a config's provider says.
	Name string
	// Description says, in one line, what the provider writes where.
	Description string
	// Credentials are the fields of its credentials; none when it needs none.
	Credentials []Field
	// New makes the Writer of a config from its opened credentials, which
	// Register's caller has checked against Credentials.
	New func(env Env, cfg store.ChallengeConfig, credentials []byte) (Writer, error)
}

// Field is one field of a provider's credentials (a JSON object): a
// string, or a list of strings.
type Field struct {
	Name string
	Help string
	// Secret fields are never shown back; Required ones must be given.
	Secret, Required bool
	// List fields are JSON arrays of strings (one a line in the console).
	List bool
}

// Env is what a provider's New may use besides its config.
type Env struct {
	// Resolver asks recursive resolvers: a zone's name servers, CNAMEs.
	Resolver dnsclient.Resolver
	// Served are the values the hub's own DNS answers (the provider self).
	Served ServedValues
}

// ServedValues is the table of values the hub's own DNS answers for the
// names delegated to it: the values of the records the hub remembers.
type ServedValues interface {
	// Serves reports whether value is served at name.
	Serves(name, value string) bool
}

// Writer writes and removes the TXT values of one config's zone: the
// libdns interfaces every provider implements.
type Writer interface {
	libdns.RecordAppender
	libdns.RecordDeleter
}

// Factory makes a config's Writer from its opened credentials (JSON, as
// the provider defines them); Factories makes them from the registry.
type Factory func(cfg store.ChallengeConfig, credentials []byte) (Writer, error)

// Tester is a Writer that can check its credentials against a zone
// ("Test credentials" in the console, acmehub admin configs test).
type Tester interface {
	Test(ctx context.Context, zone string) error
}

// Propagation is a Writer that knows its servers better than DNS does:
// whether every server that answers for record serves the value yet, and
// which servers those are, said as "by …" ends a sentence. Writers without
// it are asked through DNS.
type Propagation interface {
	Served(ctx context.Context, zone, record, value string) (by string, err error)
}

// FixedRecord is a Writer that writes every value at one name, whatever
// the request's record (an acme-dns account's fulldomain). A request may
// name the identifier's challenge name or that name; no zone applies.
type FixedRecord interface {
	Record() string
}

// CNAMEWriter is a Writer that can also hold the one CNAME at a name: the
// delegation of _acme-challenge.<name> to an acme-dns account's
// fulldomain, written for a team instead of by a ticket. Names are
// relative to zone, as a Writer's records are; targets are absolute,
// without the trailing dot.
type CNAMEWriter interface {
	// CNAME returns the target of the CNAME at name, "" when there is none.
	CNAME(ctx context.Context, zone, name string) (string, error)
	// SetCNAME makes name a CNAME to target. When the name already is
	// that CNAME it changes nothing; when another record holds it (a
	// CNAME elsewhere, TXT values, anything) it changes nothing and returns
	// an error wrapping ErrNameTaken that says what holds it.
	SetCNAME(ctx context.Context, zone, name, target string) error
	// DeleteCNAME removes the CNAME at name when it points at target, and
	// nothing else: a name gone, or holding something else, is no error.
	DeleteCNAME(ctx context.Context, zone, name, target string) error
}

// ErrNameTaken is SetCNAME's refusal of a name another record holds.
var ErrNameTaken = errors.New("another record holds the name")

// PropagationSettings are a config's settings for the wait until a value
// is served; stored as JSON.
type PropagationSettings struct {
	// Nameservers (host:port) to ask instead of the zone's NS records, e.g.
	// a hidden primary, or name servers on other ports.
	Nameservers []string `json:"nameservers,omitempty"`
}

// ParsePropagation reads a config's propagation settings ("" or "{}": none).
func ParsePropagation(text string) (PropagationSettings, error) {
	var p PropagationSettings
	if strings.TrimSpace(text) == "" {
		return p, nil
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("propagation settings %s: %w", text, err)
	}
	for _, ns := range p.Nameservers {
		if _, port, err := net.SplitHostPort(ns); err != nil || port == "" {
			return p, fmt.Errorf("propagation name server %q: want host:port", ns)
		}
	}
	return p, nil
}

// String is the settings as stored.
func (p PropagationSettings) String() string {
	b, _ := json.Marshal(p)
	return string(b)
}
