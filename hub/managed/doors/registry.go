// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package doors

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/acmehub/acmehub/hub/config"
)

// Protocol is a registered front door: a wire protocol the hub's clients
// already speak. Each is a package below this one that registers itself
// from its init function; the server mounts those its package imports.
type Protocol struct {
	// Name names the protocol in logs and the documentation.
	Name string
	// Description says, in one line, who speaks it.
	Description string
	// Mount adds the protocol's handlers to mux, admitting requests
	// through d, as the [hub] section cfg configures it. It returns the
	// path it serves under and, when it holds work that must end with
	// the server, a function that ends it (else nil).
	Mount func(d *Door, cfg config.Hub, mux *http.ServeMux) (path string, stop func(), err error)
}

var (
	mu        sync.RWMutex
	protocols = map[string]Protocol{}
)

// Register adds a protocol; a name registered twice is a programming error.
func Register(p Protocol) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := protocols[p.Name]; dup || p.Name == "" || p.Mount == nil {
		panic(fmt.Sprintf("doors: %q registered twice, or without a name or Mount", p.Name))
	}
	protocols[p.Name] = p
}

// Protocols are the registered protocols, by name.
func Protocols() []Protocol {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Protocol, 0, len(protocols))
	for _, p := range protocols {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Protocol) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Markdown is the table of the registered protocols, for the
// documentation.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| door | spoken by |\n|---|---|\n")
	for _, p := range Protocols() {
		fmt.Fprintf(&b, "| `%s` | %s |\n", p.Name, p.Description)
	}
	return b.String()
}
