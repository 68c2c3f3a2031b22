// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Keyring holds the hub's secret keys, each named by an ID. The first key
// seals new data and hashes new token secrets; every key still opens and
// verifies what it sealed or hashed, so that keys can rotate: add a new key
// first, re-seal each config (acmehub admin configs put, which seals the
// stored credentials again with the new key) and rotate the tokens, then
// drop the old key.
type Keyring struct {
	current string
	keys    map[string][]byte
}

// KeySize is the length of a key: AES-256 and HMAC-SHA-256.
const KeySize = 32

// ParseKeyring reads keys written one per line as "<id> <base64 of 32
// bytes>"; blank lines and lines starting with # are skipped.
func ParseKeyring(text string) (*Keyring, error) {
	k := &Keyring{keys: map[string][]byte{}}
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, encoded, ok := strings.Cut(line, " ")
		if !ok || id == "" || strings.ContainsAny(id, ":") {
			return nil, fmt.Errorf("hub keys, line %d: want \"<id> <base64 key>\" with an id without ':'", n+1)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
		if err != nil || len(key) != KeySize {
			return nil, fmt.Errorf("hub keys, line %d: key %s must be %d bytes in base64 (openssl rand -base64 32)", n+1, id, KeySize)
		}
		if _, dup := k.keys[id]; dup {
			return nil, fmt.Errorf("hub keys, line %d: key id %s appears twice", n+1, id)
		}
		k.keys[id] = key
		if k.current == "" {
			k.current = id
		}
	}
	if k.current == "" {
		return nil, errors.New("hub keys: no key")
	}
	return k, nil
}

// NewKeyLine returns a fresh key in the keyring's line format.
func NewKeyLine(id string) string {
	key := make([]byte, KeySize)
	rand.Read(key)
	return id + " " + base64.StdEncoding.EncodeToString(key)
}

// Current is the ID of the key that seals and hashes.
func (k *Keyring) Current() string { return k.current }

// Seal encrypts plaintext with the current key (AES-256-GCM); what names it
// (a config ID) is bound to the ciphertext, so a sealed blob moved to
// another config does not open.
func (k *Keyring) Seal(plaintext []byte, what string) (sealed []byte, keyID string) {
	aead := k.aead(k.current)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, plaintext, []byte(what)), k.current
}

// Open decrypts what Seal sealed with key keyID for what.
func (k *Keyring) Open(sealed []byte, keyID, what string) ([]byte, error) {
	if _, ok := k.keys[keyID]; !ok {
		return nil, fmt.Errorf("sealed with key %q, which the hub's keys do not hold", keyID)
	}
	aead := k.aead(keyID)
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("sealed data too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(what))
	if err != nil {
		return nil, fmt.Errorf("opening with key %q: %w", keyID, err)
	}
	return plain, nil
}

func (k *Keyring) aead(id string) cipher.AEAD {
	block, err := aes.NewCipher(k.keys[id])
	if err != nil {
		panic(err) // keys are KeySize bytes, checked on parsing
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// hashSecret is a token secret's stored form: "<key id>:" and the
// HMAC-SHA-256 of the secret under that key. Secrets are 256 random bits,
// so a fast keyed hash fits where a password would need bcrypt.
func (k *Keyring) hashSecret(secret string) []byte {
	return append([]byte(k.current+":"), k.mac(k.current, secret)...)
}

func (k *Keyring) mac(id, secret string) []byte {
	h := hmac.New(sha256.New, k.keys[id])
	h.Write([]byte(secret))
	return h.Sum(nil)
}

// verifySecret reports whether secret hashes to stored, in constant time for
// a given key. A stored hash under an unknown key never verifies, after
// the same work.
func (k *Keyring) verifySecret(secret string, stored []byte) bool {
	id, sum, ok := strings.Cut(string(stored), ":")
	if _, known := k.keys[id]; !ok || !known {
		id, sum = k.current, ""
		ok = false
	}
	return hmac.Equal(k.mac(id, secret), []byte(sum)) && ok
}
