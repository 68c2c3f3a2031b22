// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package server

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/acmehub/acmehub/hub/config"
)

// certLoader serves the API's certificate from files and reads them again
// when they change, so that a renewed certificate (cert-manager, certbot) is
// used without a restart.
type certLoader struct {
	chain, key string
	mu         sync.Mutex
	cert       *tls.Certificate
	modTime    time.Time
	checked    time.Time
}

// certCheckInterval is how often the files are looked at for a change.
const certCheckInterval = 30 * time.Second

func newCertLoader(chain, key string) (*certLoader, error) {
	c := &certLoader{chain: chain, key: key}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *certLoader) load() error {
	st, err := os.Stat(c.chain)
	if err != nil {
		return config.FileError("tls_cert_fullchain", c.chain, err)
	}
	if _, err := os.Stat(c.key); err != nil {
		return config.FileError("tls_cert_privkey", c.key, err)
	}
	cert, err := tls.LoadX509KeyPair(c.chain, c.key)
	if err != nil {
		return fmt.Errorf("loading %s and %s: %w", config.DescribePath(c.chain), config.DescribePath(c.key), err)
	}
	c.cert, c.modTime, c.checked = &cert, st.ModTime(), time.Now()
	return nil
}

func (c *certLoader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) > certCheckInterval {
		c.checked = time.Now()
		if st, err := os.Stat(c.chain); err == nil && !st.ModTime().Equal(c.modTime) {
			// A half-written pair fails to load: keep serving the old one.
			_ = c.load()
		}
	}
	return c.cert, nil
}
