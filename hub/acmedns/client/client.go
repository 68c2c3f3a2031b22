// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package client speaks acme-dns's HTTP API to an acmehub server or a plain
// acme-dns: /register, /update, and acmehub's /present, /delete and
// /txtlimit. The
// account's credentials never follow a redirect to another host, nor from
// https to http. The solver's remote backend, acmehub register and check,
// and the hub's acme-dns provider use it.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Account is what authenticates a write to an account.
type Account struct {
	Username, Password, Subdomain string
}

// Client is an acme-dns API client.
type Client struct {
	HTTP *http.Client
}

// New returns a client with timeouts that honours the HTTP(S)_PROXY
// environment and never takes credentials to another host.
func New() *Client {
	return &Client{HTTP: &http.Client{
		Timeout:       15 * time.Second,
		Transport:     http.DefaultTransport.(*http.Transport).Clone(),
		CheckRedirect: SameHostRedirect,
	}}
}

// SameHostRedirect follows a redirect only to the same host, never from
// https to http: Go would send the X-Api-User and X-Api-Key headers along.
func SameHostRedirect(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	switch {
	case len(via) >= 5:
		return errors.New("stopped after 5 redirects")
	case req.URL.Host != first.Host:
		return fmt.Errorf("redirected to %s, another host: the account's credentials are not sent there", req.URL.Host)
	case first.Scheme == "https" && req.URL.Scheme != "https":
		return fmt.Errorf("redirected from https to %s: the account's credentials are not sent in clear", req.URL)
	}
	return nil
}

// TXT sends an authenticated {"subdomain", "txt"} request to host+path
// (/update, /present or /delete) and returns the status and the start of
// the answer.
func (c *Client) TXT(ctx context.Context, host, path string, a Account, value string) (int, string, error) {
	body, _ := json.Marshal(struct {
		Subdomain string `json:"subdomain"`
		TXT       string `json:"txt"`
	}{a.Subdomain, value})
	return c.post(ctx, host, path, body, func(req *http.Request) {
		req.Header.Set("X-Api-User", a.Username)
		req.Header.Set("X-Api-Key", a.Password)
	})
}

// Limit is an acmehub server's answer to POST /txtlimit.
type Limit struct {
	// Keeps is how many values the account keeps.
	Keeps int `json:"txtlimit"`
	// Max is the most an account may keep on that server.
	Max int `json:"max_txtlimit"`
}

// ErrNoTXTLimit says the server has no /txtlimit: a plain acme-dns, whose
// accounts keep two values.
var ErrNoTXTLimit = errors.New("the server has no /txtlimit (a plain acme-dns keeps two values per account)")

// ErrUnknownAccount says an acmehub server does not take the account's
// credentials: it knows no such account (its database was lost, or the
// account was deregistered) or the password is wrong. /txtlimit ignores
// allowfrom, so the caller's address is not the reason.
var ErrUnknownAccount = errors.New("the server does not take the account's credentials")

// LimitError is a limit the server refuses: more than it allows.
type LimitError struct {
	Asked int
	Limit
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("the server keeps at most %d values per account, not %d", e.Max, e.Asked)
}

// RaiseTXTLimit asks host (an acmehub server) to make the account keep at
// least limit values and returns what it keeps; limit 0 only asks. A plain
// acme-dns answers ErrNoTXTLimit; a limit past the server's most a
// *LimitError; credentials it does not take ErrUnknownAccount.
func (c *Client) RaiseTXTLimit(ctx context.Context, host string, a Account, limit int) (Limit, error) {
	body, _ := json.Marshal(struct {
		Subdomain string `json:"subdomain"`
		TXTLimit  int    `json:"txtlimit,omitempty"`
	}{a.Subdomain, limit})
	status, answer, err := c.post(ctx, host, "/txtlimit", body, func(req *http.Request) {
		req.Header.Set("X-Api-User", a.Username)
		req.Header.Set("X-Api-Key", a.Password)
	})
	var l Limit
	switch {
	case err != nil:
		return Limit{}, err
	case NotFound(status):
		return Limit{}, ErrNoTXTLimit
	case status == http.StatusUnauthorized:
		return Limit{}, fmt.Errorf("POST %s/txtlimit as %s: %w", strings.TrimSuffix(host, "/"), a.Username, ErrUnknownAccount)
	case status == http.StatusBadRequest && json.Unmarshal([]byte(answer), &l) == nil && l.Max > 0:
		return l, &LimitError{Asked: limit, Limit: Limit{Max: l.Max}}
	case status != http.StatusOK || json.Unmarshal([]byte(answer), &l) != nil:
		return Limit{}, fmt.Errorf("POST %s/txtlimit: %d %s", strings.TrimSuffix(host, "/"), status, answer)
	}
	return l, nil
}

// RegisterAttempts bounds the tries of a registration answered 429 or 503.
const RegisterAttempts = 5

// Register posts body (allowfrom, txtlimit) to host's /register, with HTTP
// basic auth when user is set, and returns the status and the answer. A
// server answering 429 or 503 (busy: its bcrypt slots taken, or a client
// past its limit) is asked again after its Retry-After (1 s without one,
// at most 30 s), RegisterAttempts times at most, while ctx lasts.
func (c *Client) Register(ctx context.Context, host string, body any, user, password string) (int, string, error) {
	raw, _ := json.Marshal(body)
	for attempt := 1; ; attempt++ {
		var wait time.Duration
		status, answer, err := c.do(ctx, host, "/register", raw, func(req *http.Request) {
			if user != "" {
				req.SetBasicAuth(user, password)
			}
		}, func(resp *http.Response) { wait = retryAfter(resp) })
		if err != nil || (status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable) || attempt == RegisterAttempts {
			return status, answer, err
		}
		select {
		case <-ctx.Done():
			return status, answer, nil
		case <-time.After(wait):
		}
	}
}

// retryAfter is the wait a 429 or 503 asks for: its Retry-After in
// seconds, else one second; at most 30 seconds.
func retryAfter(resp *http.Response) time.Duration {
	s, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || s < 1 {
		return time.Second
	}
	return min(time.Duration(s)*time.Second, 30*time.Second)
}

func (c *Client) post(ctx context.Context, host, path string, body []byte, auth func(*http.Request)) (int, string, error) {
	return c.do(ctx, host, path, body, auth, nil)
}

// do posts body to host+path, with auth set on the request, and hands
// the response to seen (when not nil) before reading its answer.
func (c *Client) do(ctx context.Context, host, path string, body []byte, auth func(*http.Request), seen func(*http.Response)) (int, string, error) {
	url := strings.TrimSuffix(host, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", fmt.Errorf("acme-dns API %q: %w", host, err)
	}
	req.Header.Set("Content-Type", "application/json")
	auth(req)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	if seen != nil {
		seen(resp)
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, strings.TrimSpace(string(answer)), nil
}

// WaitHealthy asks host's GET /health every two seconds until it answers
// 200 OK or limit passes, and returns the last failure then; waiting, when
// not nil, hears each failure and the time left. It is for a client started
// beside its server (a Job installed with it), which would otherwise fail
// and be restarted until the server is up.
func (c *Client) WaitHealthy(ctx context.Context, host string, limit time.Duration, waiting func(err error, left time.Duration)) error {
	deadline := time.Now().Add(limit)
	url := strings.TrimSuffix(host, "/") + "/health"
	for {
		err := c.health(ctx, url)
		left := time.Until(deadline)
		if err == nil || left <= 0 {
			return err
		}
		if waiting != nil {
			waiting(err, left)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(2*time.Second, left)):
		}
	}
}

func (c *Client) health(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// NotFound reports whether status says the server lacks the endpoint, as a
// plain acme-dns answers for acmehub's /present and /delete.
func NotFound(status int) bool {
	return status == http.StatusNotFound || status == http.StatusMethodNotAllowed
}
