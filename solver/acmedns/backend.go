package acmedns

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/acmehub/acmehub/hub/accounts"
	"github.com/acmehub/acmehub/solver"
)

// backend writes values to acme-dns accounts.
type backend interface {
	name() string
	present(ctx context.Context, a solver.Account, value string) error
	cleanUp(ctx context.Context, a solver.Account, value string) error
}

// embeddedBackend writes into the acmehub server of this process, with the
// same credential check as its HTTP API.
type embeddedBackend struct{ svc *accounts.Service }

func (embeddedBackend) name() string { return "embedded" }

func (b embeddedBackend) authenticate(ctx context.Context, a solver.Account) error {
	acct, err := b.svc.Authenticate(ctx, a.Username, a.Password)
	if errors.Is(err, accounts.ErrForbidden) {
		return fmt.Errorf("the embedded acmehub server refuses the credentials of account %s (%s): "+
			"is the account registered with this server?", a.Username, a.FullDomain)
	}
	if err != nil {
		return fmt.Errorf("embedded acmehub server: %w", err)
	}
	if acct.Subdomain != a.SubDomain {
		return fmt.Errorf("account %s owns subdomain %s, not %s", a.Username, acct.Subdomain, a.SubDomain)
	}
	return nil
}

func (b embeddedBackend) present(ctx context.Context, a solver.Account, value string) error {
	if err := b.authenticate(ctx, a); err != nil {
		return err
	}
	return b.explain(b.svc.AddTXT(ctx, a.SubDomain, value), a, value)
}

func (b embeddedBackend) cleanUp(ctx context.Context, a solver.Account, value string) error {
	if err := b.authenticate(ctx, a); err != nil {
		return err
	}
	return b.explain(b.svc.DeleteTXT(ctx, a.SubDomain, value), a, value)
}

func (embeddedBackend) explain(err error, a solver.Account, value string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, accounts.ErrBadTXT):
		return fmt.Errorf("the embedded acmehub server refuses the value %q for %s: not an ACME key authorisation digest", value, a.FullDomain)
	default:
		return fmt.Errorf("writing %s in the embedded acmehub server: %w", a.FullDomain, err)
	}
}

// httpClient speaks acme-dns's HTTP API.
type httpClient struct{ c *http.Client }

// newHTTPClient returns a client with timeouts that honours the HTTP(S)_PROXY
// environment.
func newHTTPClient() *httpClient {
	return &httpClient{c: &http.Client{Timeout: 15 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}}
}

// post sends an authenticated {"subdomain","txt"} request to host+path.
func (h *httpClient) post(ctx context.Context, host, path string, a solver.Account, value string) (int, string, error) {
	body, _ := json.Marshal(struct {
		Subdomain string `json:"subdomain"`
		TXT       string `json:"txt"`
	}{a.SubDomain, value})
	url := strings.TrimSuffix(host, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", fmt.Errorf("acme-dns host %q: %w", host, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-User", a.Username)
	req.Header.Set("X-Api-Key", a.Password)
	resp, err := h.c.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	return resp.StatusCode, strings.TrimSpace(string(answer)), nil
}

// remoteBackend writes through the HTTP API of acme-dns or another acmehub server.
type remoteBackend struct {
	client *httpClient
	host   string
	log    *slog.Logger
}

func (remoteBackend) name() string { return "remote" }

func (b remoteBackend) present(ctx context.Context, a solver.Account, value string) error {
	status, answer, err := b.client.post(ctx, b.host, "/update", a, value)
	if err != nil {
		return err
	}
	if status/100 != 2 {
		return fmt.Errorf("acme-dns at %s refused the update of %s (account %s): %d %s", b.host, a.FullDomain, a.Username, status, answer)
	}
	return nil
}

// cleanUp uses acmehub's POST /delete. A plain acme-dns has no such endpoint
// (404): the value stays until newer ones push it out, as with cert-manager's
// own acmeDNS solver.
func (b remoteBackend) cleanUp(ctx context.Context, a solver.Account, value string) error {
	status, answer, err := b.client.post(ctx, b.host, "/delete", a, value)
	if err != nil {
		return err
	}
	switch {
	case status/100 == 2:
		return nil
	case status == http.StatusNotFound || status == http.StatusMethodNotAllowed:
		b.log.Info("the acme-dns server cannot delete values; the value stays until newer ones replace it",
			"host", b.host, "fulldomain", a.FullDomain)
		return nil
	default:
		return fmt.Errorf("acme-dns at %s refused to delete the value of %s (account %s): %d %s", b.host, a.FullDomain, a.Username, status, answer)
	}
}
