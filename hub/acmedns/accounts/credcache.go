// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package accounts

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
)

// credCache remembers credentials that passed bcrypt, so that a client
// repeating /update with the same key pays bcrypt once. It holds, per
// username, an HMAC under a key drawn at start-up of (username, API key,
// stored hash): never the key itself, and a changed hash no longer matches.
// Failed attempts are never stored. It holds at most size entries; a full
// cache forgets an arbitrary entry.
type credCache struct {
	key  [32]byte
	size int
	mu   sync.Mutex
	m    map[string][sha256.Size]byte
}

func newCredCache(size int) *credCache {
	c := &credCache{size: size, m: make(map[string][sha256.Size]byte)}
	rand.Read(c.key[:])
	return c
}

func (c *credCache) digest(username, apiKey string, hash []byte) [sha256.Size]byte {
	mac := hmac.New(sha256.New, c.key[:])
	mac.Write([]byte(username))
	mac.Write([]byte{0})
	mac.Write([]byte(apiKey))
	mac.Write([]byte{0})
	mac.Write(hash)
	var d [sha256.Size]byte
	mac.Sum(d[:0])
	return d
}

// verified reports whether these credentials passed bcrypt before.
func (c *credCache) verified(username, apiKey string, hash []byte) bool {
	if c.size == 0 {
		return false
	}
	d := c.digest(username, apiKey, hash)
	c.mu.Lock()
	want, ok := c.m[username]
	c.mu.Unlock()
	return ok && hmac.Equal(d[:], want[:])
}

// add records credentials that just passed bcrypt.
func (c *credCache) add(username, apiKey string, hash []byte) {
	if c.size == 0 {
		return
	}
	d := c.digest(username, apiKey, hash)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[username]; !ok && len(c.m) >= c.size {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[username] = d
}

// drop forgets the credentials of username.
func (c *credCache) drop(username string) {
	c.mu.Lock()
	delete(c.m, username)
	c.mu.Unlock()
}
