// Package door holds what the hub's front doors (the Certify, httpreq and
// acmeproxy protocols) share: the client's address, a rate limit per
// token, and RFC 7807 problem answers naming the cause of a refusal.
package doors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/acmehub/acmehub/hub/managed"
)

// ClientIP is the client's address: the connection's peer or, when header
// is set and the peer is a trusted proxy (any peer when trusted is empty),
// the right-most address in header that is not a trusted proxy. Addresses
// a client writes into the header itself stand to the left of what its
// proxy appends, so they are never reached. The zero Addr means unknown.
func ClientIP(r *http.Request, header string, trusted []netip.Prefix) netip.Addr {
	peer := netip.Addr{}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		peer = ap.Addr().Unmap()
	}
	isTrusted := func(ip netip.Addr) bool {
		for _, p := range trusted {
			if ip.IsValid() && p.Contains(ip) {
				return true
			}
		}
		return false
	}
	if header == "" || len(trusted) > 0 && !isTrusted(peer) {
		return peer
	}
	values := strings.Join(r.Header.Values(header), ",")
	if strings.TrimSpace(values) == "" {
		return peer
	}
	parts := strings.Split(values, ",")
	for i := len(parts) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
		if err != nil {
			return netip.Addr{} // a proxy would not write this: unknown
		}
		if ip = ip.Unmap(); i == 0 || !isTrusted(ip) {
			return ip
		}
	}
	return netip.Addr{}
}

// Limits is a token bucket per API token, so that one client cannot spend
// the DNS provider's API quota.
type Limits struct {
	every time.Duration
	burst int
	mu    sync.Mutex
	m     map[string]*rate.Limiter
}

// NewLimits allows perMinute requests a minute to each token, in bursts of
// as many; 0 or less means no limit (nil).
func NewLimits(perMinute int) *Limits {
	if perMinute <= 0 {
		return nil
	}
	return &Limits{every: time.Minute / time.Duration(perMinute), burst: perMinute, m: map[string]*rate.Limiter{}}
}

// Allow takes a request from clientID's bucket, or says when to retry.
func (l *Limits) Allow(clientID string) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	b := l.m[clientID]
	if b == nil {
		if len(l.m) >= 1<<16 {
			clear(l.m) // tokens are few; this bounds a flood of unknown IDs
		}
		b = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.m[clientID] = b
	}
	ok := b.Allow()
	l.mu.Unlock()
	if ok {
		return nil
	}
	return &managed.Error{Code: managed.CodeBusy, Err: &RetryAfter{Wait: l.every}}
}

// RetryAfter is a rate-limit refusal.
type RetryAfter struct{ Wait time.Duration }

func (r *RetryAfter) Error() string {
	return "too many requests for this API token: retry in " + seconds(r.Wait) + " s"
}

func seconds(d time.Duration) string {
	return strconv.Itoa(max(int((d+time.Second-1)/time.Second), 1))
}

// Problem is an RFC 7807 problem answer.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// Status is the HTTP status for err.
func Status(err error) int {
	var e *managed.Error
	if !errors.As(err, &e) {
		return http.StatusInternalServerError
	}
	switch e.Code {
	case managed.CodeInvalid:
		return http.StatusBadRequest
	case managed.CodeUnauthenticated:
		return http.StatusUnauthorized
	case managed.CodeForbidden, managed.CodeNoConfig, managed.CodeRecordNotAllowed:
		return http.StatusForbidden
	case managed.CodeProvider:
		return http.StatusBadGateway
	case managed.CodeBusy:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// Explain sets w's headers for err (Retry-After for a rate limit,
// WWW-Authenticate for a missing or wrong token) and returns the status
// and the detail to answer with. An error that is no refusal is logged
// with the request's path and hidden from the client.
func Explain(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) (int, string) {
	status := Status(err)
	detail := err.Error()
	if status == http.StatusInternalServerError {
		if log != nil {
			log.Error("answering a request", "path", r.URL.Path, "err", err)
		}
		detail = "internal error; the hub's log has the cause"
	}
	var ra *RetryAfter
	if errors.As(err, &ra) {
		w.Header().Set("Retry-After", seconds(ra.Wait))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="acmehub"`)
	}
	return status, detail
}

// WriteProblem answers err as an RFC 7807 problem (see Explain).
func WriteProblem(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, detail := Explain(w, r, log, err)
	body, _ := json.Marshal(Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body)
}

// Invalid is a malformed request.
func Invalid(format string, a ...any) error {
	return &managed.Error{Code: managed.CodeInvalid, Err: fmt.Errorf(format, a...)}
}

// ReadBody reads a request body of at most 64 KiB.
func ReadBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 64<<10))
	if err != nil {
		return nil, Invalid("reading the request body: %v", err)
	}
	return body, nil
}
