package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The managed-challenge hub's tables live beside acme-dns's, prefixed hub_,
// which acme-dns never reads. Lists are JSON text, secrets base64 text and
// times Unix nanoseconds (0: never), so one set of statements serves both
// engines.

// ErrExists is returned when a row with the same key already exists.
var ErrExists = errors.New("already exists")

// ErrNoRow is returned when the principal, token, config or record asked
// for does not exist.
var ErrNoRow = errors.New("not found")

// Principal is a user or an application that tokens act for.
type Principal struct {
	ID          string
	Kind        string // "user" or "application"
	Title       string
	Description string
	Created     time.Time
	// Roles are the roles assigned to the principal.
	Roles []string
}

// Token is an API token: a client ID and the hash of its secret.
type Token struct {
	ClientID  string
	Principal string
	Title     string
	// SecretHash is the keyed hash of the secret; the secret itself is never stored.
	SecretHash []byte
	// Scopes are the roles the token carries (a subset of its principal's).
	Scopes []string
	// Domains, when set, narrow the names the token may answer for (Domain
	// Match Rules), below what the configs allow.
	Domains  []string
	Created  time.Time
	Expires  time.Time // zero: never
	LastUsed time.Time // zero: never
	Revoked  time.Time // zero: not revoked
}

// ChallengeConfig is one managed challenge configuration: where and how the
// hub answers challenges for the names its rules match.
type ChallengeConfig struct {
	ID            string
	Title         string
	ChallengeType string // "dns-01"
	Provider      string // "digitalocean", "self", "acme-dns"
	// Credentials are the provider's credentials, sealed (encrypted) by the
	// caller; KeyID names the key that sealed them.
	Credentials []byte
	KeyID       string
	Zone        string
	Rules       []string
	TTL         int
	// Propagation holds the provider's propagation settings as JSON.
	Propagation string
	// AllowCNAME lets clients name the target of _acme-challenge.<name>'s
	// CNAME as the record, as lego and cert-manager do after following it.
	AllowCNAME bool
	Created    time.Time
	Updated    time.Time
}

// HubRecord is a TXT record the hub wrote (or is writing) through a
// provider and has not yet removed: what the sweep works from.
type HubRecord struct {
	ID       string
	Config   string
	Zone     string
	Name     string
	Value    string
	ClientID string
	// Identifier is the name the value answers for.
	Identifier string
	Created    time.Time
	// Expires, when set, is when the sweep removes the record; zero: once
	// it is older than the hub's cleanup_after.
	Expires time.Time
	// Attempts counts failed removals; NextAttempt is when the sweep tries again.
	Attempts    int
	NextAttempt time.Time
}

// Authorisation is an acmeproxy authorisation: a token that may answer for
// one name (and, with SuffixMatch, the names below it).
type Authorisation struct {
	Name        string
	ClientID    string
	SuffixMatch bool
	Created     time.Time
	// CreatedBy is the address it was created from, or the CLI's user.
	CreatedBy string
}

// AuditEntry is one line of the append-only audit log.
type AuditEntry struct {
	ID         int64
	At         time.Time
	Action     string // present, cleanup, sweep, refused, admin…
	Principal  string
	ClientID   string
	Address    string
	Identifier string
	Record     string
	// ValueHash identifies the value without revealing it.
	ValueHash string
	Config    string
	Result    string // ok, or the failure
	Detail    string
	Duration  time.Duration
}

// Audit results a query may select.
const (
	ResultOK     = "ok"
	ResultFailed = "failed"
)

// ActivityBucket counts the presents and cleanups audited in a span of time.
type ActivityBucket struct {
	Start              time.Time
	Requests, Failures int
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	Since, Until time.Time // zero: unbounded
	Principal    string
	Identifier   string
	// Result selects entries whose result is "ok" (ResultOK) or is not
	// (ResultFailed); "": all.
	Result string
	// Before, when not 0, continues a page: entries with a smaller ID.
	Before int64
	Limit  int // 0: 100
}

// Managed keeps the managed-challenge hub's data.
type Managed interface {
	CreatePrincipal(ctx context.Context, p Principal) error
	// Principal returns the principal with its roles, or ErrNoRow.
	Principal(ctx context.Context, id string) (Principal, error)
	Principals(ctx context.Context) ([]Principal, error)
	// SetRoles replaces the principal's roles.
	SetRoles(ctx context.Context, principal string, roles []string) error

	CreateToken(ctx context.Context, t Token) error
	// Token returns the token, revoked or not, or ErrNoRow.
	Token(ctx context.Context, clientID string) (Token, error)
	// Tokens lists the tokens of principal, or every token for "".
	Tokens(ctx context.Context, principal string) ([]Token, error)
	RevokeToken(ctx context.Context, clientID string, at time.Time) error
	// RotateToken replaces the token's secret hash.
	RotateToken(ctx context.Context, clientID string, hash []byte) error
	// TouchToken records that the token was used at at; only ever later.
	TouchToken(ctx context.Context, clientID string, at time.Time) error

	// PutConfig creates the config, or replaces the one with the same ID.
	PutConfig(ctx context.Context, c ChallengeConfig) error
	Configs(ctx context.Context) ([]ChallengeConfig, error)
	DeleteConfig(ctx context.Context, id string) error

	// AddRecord remembers a record before the provider writes it.
	AddRecord(ctx context.Context, r HubRecord) error
	// RemoveRecord forgets a record the provider removed; removing one that
	// is gone changes nothing.
	RemoveRecord(ctx context.Context, id string) error
	// RetryRecord counts a failed removal and sets the next attempt.
	RetryRecord(ctx context.Context, id string, next time.Time) error
	// Records lists every record.
	Records(ctx context.Context) ([]HubRecord, error)
	// RecordsAt lists the records of a config at a name.
	RecordsAt(ctx context.Context, config, name string) ([]HubRecord, error)
	// DueRecords lists the records to sweep at now: those whose Expires has
	// come, and those without one created before staleBefore.
	DueRecords(ctx context.Context, now, staleBefore time.Time) ([]HubRecord, error)

	// CreateAuthorisation adds an authorisation, or fails with ErrExists.
	CreateAuthorisation(ctx context.Context, a Authorisation) error
	// Authorisation returns the authorisation of name, or ErrNoRow.
	Authorisation(ctx context.Context, name string) (Authorisation, error)
	Authorisations(ctx context.Context) ([]Authorisation, error)
	DeleteAuthorisation(ctx context.Context, name string) error

	// Exclusively runs fn unless another process sharing the database runs
	// an Exclusively fn of the same name at the moment; it reports whether fn
	// ran. On SQLite, which one process writes, fn always runs.
	Exclusively(ctx context.Context, name string, fn func(ctx context.Context) error) (bool, error)

	// Audit appends an entry and returns its ID.
	Audit(ctx context.Context, e AuditEntry) (int64, error)
	AuditLog(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
	// Activity counts the presents and cleanups audited in n buckets of
	// width from since.
	Activity(ctx context.Context, since time.Time, width time.Duration, n int) ([]ActivityBucket, error)
}

// hubTables creates the hub's tables; serial is the dialect's
// auto-increment primary key.
func hubTables(serial string) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS hub_principals(
			id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT NOT NULL,
			description TEXT NOT NULL DEFAULT '', created BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS hub_roles(
			principal TEXT NOT NULL, role TEXT NOT NULL, PRIMARY KEY (principal, role))`,
		`CREATE TABLE IF NOT EXISTS hub_tokens(
			client_id TEXT PRIMARY KEY, principal TEXT NOT NULL, title TEXT NOT NULL DEFAULT '',
			secret_hash TEXT NOT NULL, scopes TEXT NOT NULL, domains TEXT NOT NULL DEFAULT '[]',
			created BIGINT NOT NULL, expires BIGINT NOT NULL DEFAULT 0,
			last_used BIGINT NOT NULL DEFAULT 0, revoked BIGINT NOT NULL DEFAULT 0)`,
		`CREATE INDEX IF NOT EXISTS idx_hub_tokens_principal ON hub_tokens (principal)`,
		`CREATE TABLE IF NOT EXISTS hub_configs(
			id TEXT PRIMARY KEY, title TEXT NOT NULL, challenge_type TEXT NOT NULL, provider TEXT NOT NULL,
			credentials TEXT NOT NULL DEFAULT '', key_id TEXT NOT NULL DEFAULT '', zone TEXT NOT NULL,
			rules TEXT NOT NULL, ttl INTEGER NOT NULL, propagation TEXT NOT NULL DEFAULT '{}',
			allow_cname INTEGER NOT NULL DEFAULT 0, created BIGINT NOT NULL, updated BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS hub_records(
			id TEXT PRIMARY KEY, config TEXT NOT NULL, zone TEXT NOT NULL, name TEXT NOT NULL,
			value TEXT NOT NULL, client_id TEXT NOT NULL, created BIGINT NOT NULL,
			attempts INTEGER NOT NULL DEFAULT 0, next_attempt BIGINT NOT NULL DEFAULT 0,
			expires BIGINT NOT NULL DEFAULT 0, identifier TEXT NOT NULL DEFAULT '')`,
		`CREATE INDEX IF NOT EXISTS idx_hub_records_created ON hub_records (created)`,
		`CREATE INDEX IF NOT EXISTS idx_hub_records_name ON hub_records (name)`,
		`CREATE TABLE IF NOT EXISTS hub_authorisations(
			name TEXT PRIMARY KEY, client_id TEXT NOT NULL, suffix_match INTEGER NOT NULL DEFAULT 0,
			created BIGINT NOT NULL, created_by TEXT NOT NULL DEFAULT '')`,
		`CREATE TABLE IF NOT EXISTS hub_audit(
			id ` + serial + `, at BIGINT NOT NULL, action TEXT NOT NULL, principal TEXT NOT NULL DEFAULT '',
			client_id TEXT NOT NULL DEFAULT '', address TEXT NOT NULL DEFAULT '', identifier TEXT NOT NULL DEFAULT '',
			record TEXT NOT NULL DEFAULT '', value_hash TEXT NOT NULL DEFAULT '', config TEXT NOT NULL DEFAULT '',
			result TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '', duration_us BIGINT NOT NULL DEFAULT 0)`,
		`CREATE INDEX IF NOT EXISTS idx_hub_audit_at ON hub_audit (at)`,
	}
}

// managedStore implements Managed on the store's database.
type managedStore struct{ s *sqlStore }

// Managed returns the hub's tables, in the same database as the accounts.
func (s *sqlStore) Managed() Managed { return managedStore{s} }

func (m managedStore) q(query string) string {
	if m.s.d.positional {
		return positional(query)
	}
	return query
}

func (m managedStore) exec(ctx context.Context, what, query string, args ...any) error {
	err := m.s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, m.q(query), args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 && strings.HasPrefix(strings.TrimSpace(query), "UPDATE") {
			return ErrNoRow
		}
		return nil
	})
	return wrapErr(what, err)
}

// wrapErr names the object and turns a unique-key violation into ErrExists.
func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNoRow) {
		return fmt.Errorf("%s: %w", what, ErrNoRow)
	}
	msg := strings.ToLower(err.Error())
	if strings.Contains(msg, "unique constraint") || strings.Contains(msg, "duplicate key") {
		return fmt.Errorf("%s: %w", what, ErrExists)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func jsonList(list []string) string {
	b, _ := json.Marshal(nonNil(list))
	return string(b)
}

func parseList(s string) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("stored list %q: %w", s, err)
	}
	return out, nil
}

func (m managedStore) CreatePrincipal(ctx context.Context, p Principal) error {
	err := m.s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, m.q(`INSERT INTO hub_principals (id, kind, title, description, created) VALUES (?, ?, ?, ?, ?)`),
			p.ID, p.Kind, p.Title, p.Description, nanos(p.Created)); err != nil {
			return err
		}
		for _, r := range p.Roles {
			if _, err := tx.ExecContext(ctx, m.q(`INSERT INTO hub_roles (principal, role) VALUES (?, ?)`), p.ID, r); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapErr("principal "+p.ID, err)
}

func (m managedStore) Principal(ctx context.Context, id string) (Principal, error) {
	list, err := m.principals(ctx, ` WHERE p.id = ?`, id)
	if err != nil {
		return Principal{}, err
	}
	if len(list) == 0 {
		return Principal{}, fmt.Errorf("principal %s: %w", id, ErrNoRow)
	}
	return list[0], nil
}

func (m managedStore) Principals(ctx context.Context) ([]Principal, error) {
	return m.principals(ctx, ``)
}

func (m managedStore) principals(ctx context.Context, where string, args ...any) ([]Principal, error) {
	rows, err := m.s.db.QueryContext(ctx, m.q(`SELECT p.id, p.kind, p.title, p.description, p.created, COALESCE(r.role, '')
		FROM hub_principals p LEFT JOIN hub_roles r ON r.principal = p.id`+where+` ORDER BY p.created, p.id, r.role`), args...)
	if err != nil {
		return nil, fmt.Errorf("reading principals: %w", err)
	}
	defer rows.Close()
	var out []Principal
	for rows.Next() {
		var (
			p       Principal
			created int64
			role    string
		)
		if err := rows.Scan(&p.ID, &p.Kind, &p.Title, &p.Description, &created, &role); err != nil {
			return nil, fmt.Errorf("reading principals: %w", err)
		}
		if n := len(out); n > 0 && out[n-1].ID == p.ID {
			out[n-1].Roles = append(out[n-1].Roles, role)
			continue
		}
		p.Created = fromNanos(created)
		if role != "" {
			p.Roles = []string{role}
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (m managedStore) SetRoles(ctx context.Context, principal string, roles []string) error {
	err := m.s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, m.q(`SELECT COUNT(*) FROM hub_principals WHERE id = ?`), principal).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNoRow
		}
		if _, err := tx.ExecContext(ctx, m.q(`DELETE FROM hub_roles WHERE principal = ?`), principal); err != nil {
			return err
		}
		for _, r := range roles {
			if _, err := tx.ExecContext(ctx, m.q(`INSERT INTO hub_roles (principal, role) VALUES (?, ?)`), principal, r); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapErr("roles of principal "+principal, err)
}

func (m managedStore) CreateToken(ctx context.Context, t Token) error {
	return m.exec(ctx, "token "+t.ClientID, `INSERT INTO hub_tokens
		(client_id, principal, title, secret_hash, scopes, domains, created, expires, last_used, revoked)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ClientID, t.Principal, t.Title, base64.StdEncoding.EncodeToString(t.SecretHash), jsonList(t.Scopes), jsonList(t.Domains),
		nanos(t.Created), nanos(t.Expires), nanos(t.LastUsed), nanos(t.Revoked))
}

const tokenColumns = `client_id, principal, title, secret_hash, scopes, domains, created, expires, last_used, revoked`

func (m managedStore) Token(ctx context.Context, clientID string) (Token, error) {
	list, err := m.tokens(ctx, ` WHERE client_id = ?`, clientID)
	if err != nil {
		return Token{}, err
	}
	if len(list) == 0 {
		return Token{}, fmt.Errorf("token %s: %w", clientID, ErrNoRow)
	}
	return list[0], nil
}

func (m managedStore) Tokens(ctx context.Context, principal string) ([]Token, error) {
	if principal == "" {
		return m.tokens(ctx, ``)
	}
	return m.tokens(ctx, ` WHERE principal = ?`, principal)
}

func (m managedStore) tokens(ctx context.Context, where string, args ...any) ([]Token, error) {
	rows, err := m.s.db.QueryContext(ctx, m.q(`SELECT `+tokenColumns+` FROM hub_tokens`+where+` ORDER BY created, client_id`), args...)
	if err != nil {
		return nil, fmt.Errorf("reading tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var (
			t                                  Token
			hash, scopes, domains              string
			created, expires, lastUsed, revoke int64
		)
		if err := rows.Scan(&t.ClientID, &t.Principal, &t.Title, &hash, &scopes, &domains, &created, &expires, &lastUsed, &revoke); err != nil {
			return nil, fmt.Errorf("reading tokens: %w", err)
		}
		if t.SecretHash, err = base64.StdEncoding.DecodeString(hash); err != nil {
			return nil, fmt.Errorf("token %s: stored hash: %w", t.ClientID, err)
		}
		if t.Scopes, err = parseList(scopes); err != nil {
			return nil, fmt.Errorf("token %s: scopes: %w", t.ClientID, err)
		}
		if t.Domains, err = parseList(domains); err != nil {
			return nil, fmt.Errorf("token %s: domains: %w", t.ClientID, err)
		}
		t.Created, t.Expires, t.LastUsed, t.Revoked = fromNanos(created), fromNanos(expires), fromNanos(lastUsed), fromNanos(revoke)
		out = append(out, t)
	}
	return out, rows.Err()
}

func (m managedStore) RevokeToken(ctx context.Context, clientID string, at time.Time) error {
	return m.exec(ctx, "token "+clientID, `UPDATE hub_tokens SET revoked = ? WHERE client_id = ?`, nanos(at), clientID)
}

func (m managedStore) RotateToken(ctx context.Context, clientID string, hash []byte) error {
	return m.exec(ctx, "token "+clientID, `UPDATE hub_tokens SET secret_hash = ? WHERE client_id = ?`,
		base64.StdEncoding.EncodeToString(hash), clientID)
}

func (m managedStore) TouchToken(ctx context.Context, clientID string, at time.Time) error {
	err := m.s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, m.q(`UPDATE hub_tokens SET last_used = ? WHERE client_id = ? AND last_used < ?`), nanos(at), clientID, nanos(at))
		return err
	})
	return wrapErr("token "+clientID, err)
}

func (m managedStore) PutConfig(ctx context.Context, c ChallengeConfig) error {
	allow := 0
	if c.AllowCNAME {
		allow = 1
	}
	propagation := c.Propagation
	if propagation == "" {
		propagation = "{}"
	}
	args := []any{c.Title, c.ChallengeType, c.Provider, base64.StdEncoding.EncodeToString(c.Credentials), c.KeyID, c.Zone,
		jsonList(c.Rules), c.TTL, propagation, allow, nanos(c.Updated)}
	err := m.s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, m.q(`UPDATE hub_configs SET title = ?, challenge_type = ?, provider = ?, credentials = ?,
			key_id = ?, zone = ?, rules = ?, ttl = ?, propagation = ?, allow_cname = ?, updated = ? WHERE id = ?`), append(args, c.ID)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, m.q(`INSERT INTO hub_configs (title, challenge_type, provider, credentials, key_id, zone,
			rules, ttl, propagation, allow_cname, updated, id, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			append(args, c.ID, nanos(c.Created))...)
		return err
	})
	return wrapErr("config "+c.ID, err)
}

func (m managedStore) Configs(ctx context.Context) ([]ChallengeConfig, error) {
	rows, err := m.s.db.QueryContext(ctx, `SELECT id, title, challenge_type, provider, credentials, key_id, zone, rules, ttl,
		propagation, allow_cname, created, updated FROM hub_configs ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("reading configs: %w", err)
	}
	defer rows.Close()
	var out []ChallengeConfig
	for rows.Next() {
		var (
			c                ChallengeConfig
			creds, rules     string
			allow            int
			created, updated int64
		)
		if err := rows.Scan(&c.ID, &c.Title, &c.ChallengeType, &c.Provider, &creds, &c.KeyID, &c.Zone, &rules, &c.TTL,
			&c.Propagation, &allow, &created, &updated); err != nil {
			return nil, fmt.Errorf("reading configs: %w", err)
		}
		if c.Credentials, err = base64.StdEncoding.DecodeString(creds); err != nil {
			return nil, fmt.Errorf("config %s: stored credentials: %w", c.ID, err)
		}
		if c.Rules, err = parseList(rules); err != nil {
			return nil, fmt.Errorf("config %s: rules: %w", c.ID, err)
		}
		c.AllowCNAME, c.Created, c.Updated = allow != 0, fromNanos(created), fromNanos(updated)
		out = append(out, c)
	}
	return out, rows.Err()
}

func (m managedStore) DeleteConfig(ctx context.Context, id string) error {
	return m.deleteRow(ctx, "config "+id, `DELETE FROM hub_configs WHERE id = ?`, id)
}

// deleteRow runs a DELETE of one row, or fails with ErrNoRow.
func (m managedStore) deleteRow(ctx context.Context, what, query string, args ...any) error {
	err := m.s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, m.q(query), args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return ErrNoRow
		}
		return err
	})
	return wrapErr(what, err)
}

func (m managedStore) AddRecord(ctx context.Context, r HubRecord) error {
	return m.exec(ctx, "record "+r.ID, `INSERT INTO hub_records (id, config, zone, name, value, client_id, identifier, created,
		attempts, next_attempt, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.Config, r.Zone, r.Name, r.Value, r.ClientID,
		r.Identifier, nanos(r.Created), r.Attempts, nanos(r.NextAttempt), nanos(r.Expires))
}

func (m managedStore) RemoveRecord(ctx context.Context, id string) error {
	return m.exec(ctx, "record "+id, `DELETE FROM hub_records WHERE id = ?`, id)
}

func (m managedStore) RetryRecord(ctx context.Context, id string, next time.Time) error {
	return m.exec(ctx, "record "+id, `UPDATE hub_records SET attempts = attempts + 1, next_attempt = ? WHERE id = ?`, nanos(next), id)
}

func (m managedStore) Records(ctx context.Context) ([]HubRecord, error) {
	return m.records(ctx, ``)
}

func (m managedStore) RecordsAt(ctx context.Context, config, name string) ([]HubRecord, error) {
	return m.records(ctx, ` WHERE name = ? AND config = ?`, name, config)
}

func (m managedStore) DueRecords(ctx context.Context, now, staleBefore time.Time) ([]HubRecord, error) {
	return m.records(ctx, ` WHERE (expires > 0 AND expires <= ?) OR (expires = 0 AND created < ?)`, nanos(now), nanos(staleBefore))
}

func (m managedStore) records(ctx context.Context, where string, args ...any) ([]HubRecord, error) {
	rows, err := m.s.db.QueryContext(ctx, m.q(`SELECT id, config, zone, name, value, client_id, identifier, created, attempts,
		next_attempt, expires FROM hub_records`+where+` ORDER BY created, id`), args...)
	if err != nil {
		return nil, fmt.Errorf("reading records: %w", err)
	}
	defer rows.Close()
	var out []HubRecord
	for rows.Next() {
		var (
			r                      HubRecord
			created, next, expires int64
		)
		if err := rows.Scan(&r.ID, &r.Config, &r.Zone, &r.Name, &r.Value, &r.ClientID, &r.Identifier, &created, &r.Attempts, &next, &expires); err != nil {
			return nil, fmt.Errorf("reading records: %w", err)
		}
		r.Created, r.NextAttempt, r.Expires = fromNanos(created), fromNanos(next), fromNanos(expires)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (m managedStore) CreateAuthorisation(ctx context.Context, a Authorisation) error {
	suffix := 0
	if a.SuffixMatch {
		suffix = 1
	}
	return m.exec(ctx, "authorisation "+a.Name, `INSERT INTO hub_authorisations (name, client_id, suffix_match, created, created_by)
		VALUES (?, ?, ?, ?, ?)`, a.Name, a.ClientID, suffix, nanos(a.Created), a.CreatedBy)
}

func (m managedStore) Authorisation(ctx context.Context, name string) (Authorisation, error) {
	list, err := m.authorisations(ctx, ` WHERE name = ?`, name)
	if err != nil {
		return Authorisation{}, err
	}
	if len(list) == 0 {
		return Authorisation{}, fmt.Errorf("authorisation %s: %w", name, ErrNoRow)
	}
	return list[0], nil
}

func (m managedStore) Authorisations(ctx context.Context) ([]Authorisation, error) {
	return m.authorisations(ctx, ``)
}

func (m managedStore) authorisations(ctx context.Context, where string, args ...any) ([]Authorisation, error) {
	rows, err := m.s.db.QueryContext(ctx, m.q(`SELECT name, client_id, suffix_match, created, created_by FROM hub_authorisations`+where+` ORDER BY name`), args...)
	if err != nil {
		return nil, fmt.Errorf("reading authorisations: %w", err)
	}
	defer rows.Close()
	var out []Authorisation
	for rows.Next() {
		var (
			a       Authorisation
			suffix  int
			created int64
		)
		if err := rows.Scan(&a.Name, &a.ClientID, &suffix, &created, &a.CreatedBy); err != nil {
			return nil, fmt.Errorf("reading authorisations: %w", err)
		}
		a.SuffixMatch, a.Created = suffix != 0, fromNanos(created)
		out = append(out, a)
	}
	return out, rows.Err()
}

func (m managedStore) DeleteAuthorisation(ctx context.Context, name string) error {
	return m.deleteRow(ctx, "authorisation "+name, `DELETE FROM hub_authorisations WHERE name = ?`, name)
}

func (m managedStore) Audit(ctx context.Context, e AuditEntry) (int64, error) {
	var id int64
	err := m.s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, m.q(`INSERT INTO hub_audit (at, action, principal, client_id, address, identifier, record,
			value_hash, config, result, detail, duration_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			nanos(e.At), e.Action, e.Principal, e.ClientID, e.Address, e.Identifier, e.Record, e.ValueHash, e.Config, e.Result, e.Detail,
			e.Duration.Microseconds()).Scan(&id)
	})
	return id, wrapErr("audit entry", err)
}

func (m managedStore) AuditLog(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, arg any) { where, args = append(where, cond), append(args, arg) }
	if !q.Since.IsZero() {
		add(`at >= ?`, nanos(q.Since))
	}
	if !q.Until.IsZero() {
		add(`at < ?`, nanos(q.Until))
	}
	if q.Principal != "" {
		add(`principal = ?`, q.Principal)
	}
	if q.Identifier != "" {
		add(`identifier = ?`, q.Identifier)
	}
	switch q.Result {
	case ResultOK:
		add(`result = ?`, "ok")
	case ResultFailed:
		add(`result <> ?`, "ok")
	}
	if q.Before > 0 {
		add(`id < ?`, q.Before)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	query := `SELECT id, at, action, principal, client_id, address, identifier, record, value_hash, config, result, detail, duration_us FROM hub_audit`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	rows, err := m.s.db.QueryContext(ctx, m.q(query+fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, limit)), args...)
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var (
			e      AuditEntry
			at, us int64
		)
		if err := rows.Scan(&e.ID, &at, &e.Action, &e.Principal, &e.ClientID, &e.Address, &e.Identifier, &e.Record, &e.ValueHash,
			&e.Config, &e.Result, &e.Detail, &us); err != nil {
			return nil, fmt.Errorf("reading the audit log: %w", err)
		}
		e.At, e.Duration = fromNanos(at), time.Duration(us)*time.Microsecond
		out = append(out, e)
	}
	return out, rows.Err()
}

func (m managedStore) Activity(ctx context.Context, since time.Time, width time.Duration, n int) ([]ActivityBucket, error) {
	out := make([]ActivityBucket, n)
	for i := range out {
		out[i].Start = since.Add(time.Duration(i) * width)
	}
	rows, err := m.s.db.QueryContext(ctx, m.q(`SELECT (at - ?) / ?, COUNT(*), SUM(CASE WHEN result = 'ok' THEN 0 ELSE 1 END)
		FROM hub_audit WHERE at >= ? AND at < ? AND action IN ('present', 'cleanup') GROUP BY 1`),
		nanos(since), int64(width), nanos(since), nanos(since.Add(time.Duration(n)*width)))
	if err != nil {
		return nil, fmt.Errorf("counting the audit log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b, requests, failures int64
		if err := rows.Scan(&b, &requests, &failures); err != nil {
			return nil, fmt.Errorf("counting the audit log: %w", err)
		}
		if b >= 0 && b < int64(n) {
			out[b].Requests, out[b].Failures = int(requests), int(failures)
		}
	}
	return out, rows.Err()
}

// Exclusively holds a PostgreSQL advisory lock (keyed by name) on one
// connection while fn runs.
func (m managedStore) Exclusively(ctx context.Context, name string, fn func(ctx context.Context) error) (bool, error) {
	if m.s.d.tryLock == "" {
		return true, fn(ctx)
	}
	conn, err := m.s.db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	defer conn.Close()
	var locked bool
	if err := conn.QueryRowContext(ctx, m.q(m.s.d.tryLock), name).Scan(&locked); err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !locked {
		return false, nil
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), m.q(m.s.d.unlock), name) //nolint:errcheck // closing the connection unlocks too
	return true, fn(ctx)
}
