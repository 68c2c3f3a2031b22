// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package accounts holds acme-dns's account rules: registration, credential
// checks, TXT value validation and the in-memory index of TXT values that the
// DNS server answers from, kept in step with every write to the store and,
// when several processes share a PostgreSQL database, with theirs.
package accounts

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/singleflight"

	"github.com/acmehub/acmehub/hub/store"
)

// Errors callers map to answers.
var (
	// ErrForbidden covers every authentication failure alike.
	ErrForbidden = errors.New("forbidden")
	// ErrBadTXT is a TXT value that is not an ACME key authorisation digest.
	ErrBadTXT = errors.New("bad_txt")
	// ErrInvalidCIDR is an allowfrom entry that is not a CIDR.
	ErrInvalidCIDR = errors.New("not a CIDR (address/bits, such as 192.0.2.0/24)")
	// ErrTXTLimit is a requested per-account limit out of range.
	ErrTXTLimit = errors.New("invalid_txtlimit")
)

// DefaultPresentExpiry is Options.PresentExpiry when unset.
const DefaultPresentExpiry = time.Hour

// BcryptCost is the cost of stored password hashes, as acme-dns uses.
const BcryptCost = 10

// dummyHash is compared against for unknown users, so that their answer takes
// as long as a wrong password's.
var dummyHash = []byte("$2a$10$HSP31nD.pzguqWc.9czIHuhAV.aNNEDyjq3OH4TI6wSIc8eBSKYze")

// Options configure a Service.
type Options struct {
	// Domain is the zone; an account's full domain is <subdomain>.<Domain>.
	Domain string
	// MaxTXTLimit is the highest per-account value limit a registration may ask for.
	MaxTXTLimit int
	// CredentialCacheSize bounds the cache of verified credentials; 0 disables it.
	CredentialCacheSize int
	// BcryptCost is the cost of new password hashes; 0 means BcryptCost.
	BcryptCost int
	// AnyTXT accepts any TXT value of 1 to 255 printable ASCII characters
	// instead of only ACME key authorisation digests.
	AnyTXT bool
	// PresentExpiry is how long a presented value is held when it is never
	// deleted; 0 means DefaultPresentExpiry.
	PresentExpiry time.Duration
	// Now is the clock presented values expire by; nil means time.Now. The
	// store must use the same.
	Now func() time.Time
	// BcryptConcurrency bounds the bcrypt computations running at once; 0
	// means one per core but one, which stays free for DNS answers and
	// writes whatever a flood of wrong credentials costs. BcryptWait is how
	// long one waits for its turn before the request is refused with
	// ErrBusy; 0 means one second.
	BcryptConcurrency int
	BcryptWait        time.Duration
	// RegisterWait is how long a registration waits for a bcrypt slot
	// before ErrBusy; 0 means ten seconds.
	RegisterWait time.Duration
	// ResyncInterval is how often every account is read again when the store
	// is shared with other processes, beside their notifications; 0 never.
	ResyncInterval time.Duration
	Log            *slog.Logger
}

// Service applies account operations to the store and the index.
type Service struct {
	store   store.Store
	index   *Index
	creds   *credCache
	sync    *syncer
	bcrypt  *gate
	flights singleflight.Group
	opts    Options
	log     *slog.Logger
}

// New returns a service over st. Call Load before serving.
func New(st store.Store, opts Options) *Service {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.BcryptCost == 0 {
		opts.BcryptCost = BcryptCost
	}
	if opts.PresentExpiry <= 0 {
		opts.PresentExpiry = DefaultPresentExpiry
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BcryptConcurrency <= 0 {
		opts.BcryptConcurrency = max(1, runtime.NumCPU()-1)
	}
	if opts.BcryptWait <= 0 {
		opts.BcryptWait = time.Second
	}
	if opts.RegisterWait <= 0 {
		opts.RegisterWait = 10 * time.Second
	}
	return &Service{
		store: st, index: NewIndex(), creds: newCredCache(opts.CredentialCacheSize), sync: newSyncer(),
		bcrypt: newGate(opts.BcryptConcurrency), opts: opts, log: log,
	}
}

// Index is the in-memory view of TXT values.
func (s *Service) Index() *Index { return s.index }

// Load reads every account from the store into the index. The index is
// built while the store is read, on another core.
func (s *Service) Load(ctx context.Context) error {
	n, err := s.store.Count(ctx)
	if err != nil {
		return fmt.Errorf("loading accounts: %w", err)
	}
	snap := s.index.BeginSnapshot(n + n/64) // room for registrations during the read
	type account struct {
		sub string
		set store.TXTSet
	}
	const batchSize = 1024
	batches := make(chan []account, 4)
	built := make(chan struct{})
	go func() {
		defer close(built)
		for batch := range batches {
			for _, a := range batch {
				snap.Add(a.sub, a.set)
			}
		}
	}()
	batch := make([]account, 0, batchSize)
	err = s.store.Each(ctx, func(sub string, set store.TXTSet) error {
		batch = append(batch, account{strings.ToLower(sub), set})
		if len(batch) == batchSize {
			batches <- batch
			batch = make([]account, 0, batchSize)
		}
		return nil
	})
	batches <- batch
	close(batches)
	<-built
	if err != nil {
		s.index.Abandon(snap)
		return fmt.Errorf("loading accounts: %w", err)
	}
	s.index.Replace(snap)
	return nil
}

// Run keeps the index in step with writes by other processes until ctx
// ends. The server calls Sweep every SweepInterval.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { s.sync.run(ctx, s) })
	return s.store.Watch(ctx, store.AccountsChanged, s.opts.ResyncInterval, s.sync.mark)
}

// SweepInterval is how often Sweep should run: a quarter of the present
// expiry, at most a minute, at least a second.
func (s *Service) SweepInterval() time.Duration {
	return max(min(time.Minute, s.opts.PresentExpiry/4), time.Second)
}

// Sweep removes the presented values whose hold has expired.
func (s *Service) Sweep(ctx context.Context) error {
	sets, err := s.store.ExpireTXT(ctx)
	for sub, set := range sets {
		s.index.Set(strings.ToLower(sub), set)
		s.log.Info("presented value expired without being deleted", "subdomain", sub, "held", set.Held)
	}
	return err
}

// refresh reads one account again into the index.
func (s *Service) refresh(ctx context.Context, sub string) error {
	set, err := s.store.TXT(ctx, sub)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.index.Remove(strings.ToLower(sub))
	case err != nil:
		return err
	default:
		s.index.Set(strings.ToLower(sub), set)
	}
	return nil
}

// Registration is a new account's credentials, shown once.
type Registration struct {
	Username   string
	Password   string
	FullDomain string
	Subdomain  string
	AllowFrom  []string
	TXTLimit   int
}

// Register creates an account whose updates may come from allowFrom (CIDRs;
// empty means anywhere) and which keeps txtLimit values (0: the default).
func (s *Service) Register(ctx context.Context, allowFrom []string, txtLimit int) (Registration, error) {
	cidrs, err := parseAllowFrom(allowFrom)
	if err != nil {
		return Registration{}, err
	}
	if txtLimit < 0 || txtLimit > s.opts.MaxTXTLimit {
		return Registration{}, fmt.Errorf("%w: %d (must be 1 to %d, or 0 for the default)", ErrTXTLimit, txtLimit, s.opts.MaxTXTLimit)
	}
	password, hash, err := s.newPassword(ctx)
	if err != nil {
		return Registration{}, err
	}
	reg := Registration{
		Username:  uuid.NewString(),
		Password:  password,
		Subdomain: uuid.NewString(),
		AllowFrom: cidrs,
		TXTLimit:  txtLimit,
	}
	reg.FullDomain = reg.Subdomain + "." + s.opts.Domain
	err = s.store.Register(ctx, store.Account{
		Username: reg.Username, PasswordHash: hash, Subdomain: reg.Subdomain,
		AllowFrom: cidrs, TXTLimit: txtLimit,
	})
	if err != nil {
		return Registration{}, err
	}
	s.index.Set(reg.Subdomain, store.TXTSet{})
	s.log.Info("registered account", "username", reg.Username, "subdomain", reg.Subdomain, "allowfrom", cidrs)
	return reg, nil
}

// parseAllowFrom reads an account's allowfrom: CIDRs, brackets around
// IPv6 addresses tolerated, as acme-dns does.
func parseAllowFrom(allowFrom []string) ([]string, error) {
	cidrs := make([]string, 0, len(allowFrom))
	for _, c := range allowFrom {
		c = strings.NewReplacer("[", "", "]", "").Replace(strings.TrimSpace(c))
		if _, err := netip.ParsePrefix(c); err != nil {
			return nil, fmt.Errorf("%w: %q", ErrInvalidCIDR, c)
		}
		cidrs = append(cidrs, c)
	}
	return cidrs, nil
}

// newPassword makes a password and its bcrypt hash. Someone waits for
// it, rarely: it queues for a bcrypt slot longer than credential checks do.
func (s *Service) newPassword(ctx context.Context) (string, []byte, error) {
	password := NewPassword()
	var (
		hash []byte
		err  error
	)
	if gerr := s.bcrypt.do(ctx, s.opts.RegisterWait, func() { hash, err = bcrypt.GenerateFromPassword([]byte(password), s.opts.BcryptCost) }); gerr != nil {
		return "", nil, gerr
	}
	if err != nil {
		return "", nil, fmt.Errorf("hashing password: %w", err)
	}
	return password, hash, nil
}

// Rotate gives the account of username a new password and returns it; the
// old one stops working at once, on every server sharing the database.
func (s *Service) Rotate(ctx context.Context, username string) (string, error) {
	password, hash, err := s.newPassword(ctx)
	if err != nil {
		return "", err
	}
	if err := s.store.SetPassword(ctx, username, hash); err != nil {
		return "", err
	}
	s.creds.drop(username)
	s.log.Info("rotated the password of account", "username", username)
	return password, nil
}

// SetAllowFrom replaces the CIDRs the updates of username's account may
// come from (none: anywhere) and returns them as stored.
func (s *Service) SetAllowFrom(ctx context.Context, username string, allowFrom []string) ([]string, error) {
	cidrs, err := parseAllowFrom(allowFrom)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetAllowFrom(ctx, username, cidrs); err != nil {
		return nil, err
	}
	s.log.Info("replaced the allowfrom of account", "username", username, "allowfrom", cidrs)
	return cidrs, nil
}

// Accounts lists every account, by username.
func (s *Service) Accounts(ctx context.Context) ([]store.AccountInfo, error) {
	return s.store.Accounts(ctx)
}

// TXT returns the values of the account owning subdomain, or
// store.ErrNotFound.
func (s *Service) TXT(ctx context.Context, subdomain string) (store.TXTSet, error) {
	return s.store.TXT(ctx, subdomain)
}

// Account returns the account of username, or store.ErrNotFound.
func (s *Service) Account(ctx context.Context, username string) (store.Account, error) {
	return s.store.Account(ctx, username)
}

// Reserve makes sure the account owning subdomain exists: the server's
// own account, whose values the server writes itself (the dns-01
// challenges of its API's certificate). When missing it is registered with
// a username that is no UUID and a password that is no bcrypt hash, so
// that no client can ever use it; a server sharing the database may have
// registered it first.
func (s *Service) Reserve(ctx context.Context, subdomain string) error {
	sub := strings.ToLower(subdomain)
	if _, ok := s.index.Values(sub); ok {
		return nil
	}
	err := s.store.Register(ctx, store.Account{
		Username: "acmehub:" + sub, PasswordHash: []byte("!" + NewPassword()), Subdomain: sub,
	})
	if err != nil {
		if rerr := s.refresh(ctx, sub); rerr == nil {
			if _, ok := s.index.Values(sub); ok {
				return nil
			}
		}
		return fmt.Errorf("reserving the server's own account %s: %w", sub, err)
	}
	s.index.Set(sub, store.TXTSet{})
	s.log.Info("reserved the server's own account", "subdomain", sub)
	return nil
}

const passwordAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// NewPassword returns 40 characters from crypto/rand over A-Za-z0-9-_.
func NewPassword() string {
	b := make([]byte, 40)
	rand.Read(b)
	for i := range b {
		b[i] = passwordAlphabet[b[i]&63]
	}
	return string(b)
}

// ValidAPIKey reports whether key has the form acme-dns gives passwords.
func ValidAPIKey(key string) bool { return len(key) == 40 && urlSafe(key) }

// ValidTXT reports whether value is an ACME key authorisation digest: 43
// characters of base64url.
func ValidTXT(value string) bool { return len(value) == 43 && urlSafe(value) }

// printableTXT reports whether value is 1 to 255 printable ASCII characters.
func printableTXT(value string) bool {
	if len(value) == 0 || len(value) > 255 {
		return false
	}
	for i := 0; i < len(value); i++ {
		if value[i] < 0x20 || value[i] > 0x7e {
			return false
		}
	}
	return true
}

func (s *Service) validTXT(value string) bool {
	if s.opts.AnyTXT {
		return printableTXT(value)
	}
	return ValidTXT(value)
}

// isLetterDigitHyphen reports whether r is an ASCII letter, digit or hyphen.
func isLetterDigitHyphen(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-'
}

func urlSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLetterDigitHyphen(rune(c)) && c != '_' {
			return false
		}
	}
	return true
}

// Authenticate returns the account of username if apiKey is its password.
// Credentials that passed before are answered from memory; for the others,
// admit (when not nil) is asked first whether a bcrypt comparison may be
// spent on them, and its error is returned when it says no. Every failure
// is ErrForbidden, except a failing store, ErrBusy and admit's refusal.
func (s *Service) Authenticate(ctx context.Context, username, apiKey string, admit func() error) (store.Account, error) {
	if _, err := uuid.Parse(username); err != nil || !ValidAPIKey(apiKey) {
		return store.Account{}, ErrForbidden
	}
	acct, err := s.store.Account(ctx, username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Account{}, err
	}
	if err == nil && s.creds.verified(username, apiKey, acct.PasswordHash) {
		return acct, nil
	}
	if admit != nil {
		if err := admit(); err != nil {
			return store.Account{}, err
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		// As long as a wrong password takes, so that usernames cannot be probed.
		compare := func() { bcrypt.CompareHashAndPassword(dummyHash, []byte(apiKey)) } //nolint:errcheck // for timing only
		if err := s.bcrypt.do(ctx, s.opts.BcryptWait, compare); err != nil {
			return store.Account{}, err
		}
		return store.Account{}, ErrForbidden
	}
	if err := s.checkPassword(ctx, username, apiKey, acct.PasswordHash); err != nil {
		return store.Account{}, err
	}
	return acct, nil
}

// checkPassword compares apiKey with hash, once for all the requests that
// bring the same credentials at the same time: twenty challenges presented
// at once through one account cost one bcrypt computation, not twenty
// waiting in line for the bcrypt slots.
func (s *Service) checkPassword(ctx context.Context, username, apiKey string, hash []byte) error {
	key := s.creds.digest(username, apiKey, hash)
	result := s.flights.DoChan(string(key[:]), func() (any, error) {
		var mismatch error
		compare := func() { mismatch = bcrypt.CompareHashAndPassword(hash, []byte(apiKey)) }
		if err := s.bcrypt.do(context.Background(), s.opts.BcryptWait, compare); err != nil {
			return nil, err
		}
		if mismatch != nil {
			return nil, ErrForbidden
		}
		s.creds.add(username, apiKey, hash)
		return nil, nil
	})
	select {
	case r := <-result:
		return r.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Allowed reports whether an update from ip may change acct. An invalid ip
// (the client's address is not known) passes only an account without
// allowfrom.
func Allowed(acct store.Account, ip netip.Addr) bool {
	if len(acct.AllowFrom) == 0 {
		return true
	}
	for _, c := range acct.AllowFrom {
		prefix, err := netip.ParsePrefix(c)
		if err == nil && ip.IsValid() && prefix.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// AddTXT adds value to the account owning subdomain as acme-dns's /update
// does: a rolling value, which newer values evict past the account's limit.
func (s *Service) AddTXT(ctx context.Context, subdomain, value string) error {
	return s.changeTXT(ctx, subdomain, value, s.store.AddTXT, "TXT added")
}

// Present adds value to the account owning subdomain for a client that
// deletes it when done: no newer value evicts it, and it goes when
// DeleteTXT removes it or PresentExpiry after its last Present. An account
// holding its limit of presented values refuses more with a
// *HoldLimitError.
func (s *Service) Present(ctx context.Context, subdomain, value string) error {
	hold := func(ctx context.Context, subdomain, value string) (store.TXTSet, error) {
		return s.store.HoldTXT(ctx, subdomain, value, s.opts.Now().Add(s.opts.PresentExpiry))
	}
	return s.changeTXT(ctx, subdomain, value, hold, "TXT presented")
}

// HoldLimitError is Present's refusal when the account already holds as
// many values as it may: the store's, named where the accounts' users look.
type HoldLimitError = store.HoldLimitError

// DeleteTXT removes value from the account owning subdomain.
func (s *Service) DeleteTXT(ctx context.Context, subdomain, value string) error {
	return s.changeTXT(ctx, subdomain, value, s.store.DeleteTXT, "TXT deleted")
}

// changeTXT validates value, applies change in the store, then gives the index
// the resulting state. When the store fails, whether the write took effect is
// not known here: the account is marked to be read again, so that the index
// keeps matching the database.
func (s *Service) changeTXT(ctx context.Context, subdomain, value string,
	change func(ctx context.Context, subdomain, value string) (store.TXTSet, error), done string) error {
	if !s.validTXT(value) {
		return ErrBadTXT
	}
	set, err := change(ctx, subdomain, value)
	var limit *store.HoldLimitError
	switch {
	case errors.Is(err, store.ErrNotFound) || errors.As(err, &limit):
		return err
	case err != nil:
		s.sync.mark(subdomain)
		return err
	}
	s.index.Set(strings.ToLower(subdomain), set)
	s.log.Debug(done, "subdomain", subdomain, "value", value, "values", len(set.Values), "held", set.Held)
	return nil
}

// RaiseTXTLimit makes the account of username keep at least limit values,
// at most MaxTXTLimit (past it: ErrTXTLimit), and returns how many it keeps.
// A lower limit leaves the account as it is; 0 only reports its limit.
func (s *Service) RaiseTXTLimit(ctx context.Context, username string, limit int) (int, error) {
	if limit < 0 || limit > s.opts.MaxTXTLimit {
		return 0, fmt.Errorf("%w: %d (must be 1 to %d, or 0 to read the limit)", ErrTXTLimit, limit, s.opts.MaxTXTLimit)
	}
	keeps, err := s.store.RaiseTXTLimit(ctx, username, limit)
	if err == nil && limit > 0 {
		s.log.Info("account value limit", "username", username, "asked", limit, "keeps", keeps)
	}
	return keeps, err
}

// MaxTXTLimit is the highest value limit an account may have.
func (s *Service) MaxTXTLimit() int { return s.opts.MaxTXTLimit }

// Deregister deletes the account of username with its values.
func (s *Service) Deregister(ctx context.Context, username string) error {
	sub, err := s.store.Deregister(ctx, username)
	if err != nil {
		return err
	}
	s.creds.drop(username)
	s.index.Remove(strings.ToLower(sub))
	s.log.Info("deregistered account", "username", username, "subdomain", sub)
	return nil
}

// Ping reports whether the store answers and the index is in step with it.
func (s *Service) Ping(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return err
	}
	return s.sync.behind()
}
