// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package registration keeps a Kubernetes Secret of acme-dns accounts in the
// self-registration format (key acmedns.json: a map from each FQDN to the
// JSON /register answered): it registers an account with an acme-dns (or
// acmehub) server when the Secret holds none for a client, adds missing
// FQDNs to it, and keeps what is there, so that running it again changes
// nothing. `acmehub register` is its command line.
package registration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/acmehub/acmehub/hub/acmedns/client"
	"github.com/acmehub/acmehub/solver"
)

// Labels and annotations on the Secrets it writes.
const (
	ManagedByLabel   = "app.kubernetes.io/managed-by"
	ManagedBy        = "acmehub"
	ClientLabel      = "acmehub.io/client"
	CNAMEsAnnotation = "acmehub.io/cnames"
)

// Config says which accounts one client needs.
type Config struct {
	// API is the acme-dns API, e.g. https://acme-dns.example.org.
	API string
	// Client names the client; the Secret is acme-dns-<client>-client by default.
	Client string
	// FQDNs are the names the client's certificates cover ("*." is allowed).
	FQDNs []string
	// AllowFrom are the CIDRs updates may come from; empty means anywhere.
	AllowFrom []string
	// BasicAuthUser and BasicAuthPassword, when set, authenticate /register.
	BasicAuthUser, BasicAuthPassword string
	// Namespace, SecretName and Key locate the account file.
	Namespace, SecretName, Key string
	// Wait is how long the API may take to answer GET /health before
	// anything is asked of it: a server installed with the Job is still
	// starting. 0 asks at once.
	Wait time.Duration
	// Hub, when set, writes the names' CNAMEs once the account exists.
	Hub *Hub
}

// withDefaults fills in the Secret's name and key and normalises the FQDNs.
func (c Config) withDefaults() (Config, error) {
	switch {
	case c.API == "":
		return c, errors.New("no API URL")
	case c.Client == "":
		return c, errors.New("no client name")
	case len(c.FQDNs) == 0:
		return c, errors.New("no FQDN")
	case c.Namespace == "":
		return c, errors.New("no namespace")
	case (c.BasicAuthUser == "") != (c.BasicAuthPassword == ""):
		return c, errors.New("a basic-auth user needs a password, and a password a user")
	}
	if c.SecretName == "" {
		c.SecretName = "acme-dns-" + c.Client + "-client"
	}
	if c.Key == "" {
		c.Key = "acmedns.json"
	}
	var fqdns []string
	for _, f := range c.FQDNs {
		f = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(f), "."))
		if f == "" || f == "*" || strings.Contains(f[min(len(f), 2):], "*") {
			return c, fmt.Errorf("FQDN %q is not a domain name", f)
		}
		if !slices.Contains(fqdns, f) {
			fqdns = append(fqdns, f)
		}
	}
	slices.Sort(fqdns)
	c.FQDNs = fqdns
	c.API = strings.TrimSuffix(c.API, "/")
	return c, nil
}

// Registrar writes account Secrets.
type Registrar struct {
	Kube kubernetes.Interface
	// HTTP talks to the API; nil means a client with a 30 s timeout.
	HTTP *http.Client
	Log  *slog.Logger
}

// Row is one FQDN's delegation: the CNAME the DNS team creates.
type Row struct {
	FQDN       string
	Record     string // _acme-challenge.<name>.
	FullDomain string // <subdomain>.<zone>.
}

// String is the record in zone-file syntax.
func (r Row) String() string { return r.Record + " CNAME " + r.FullDomain }

// Result is what Register did.
type Result struct {
	// Registered is true when an account was registered with the server.
	Registered bool
	// Replaced is the fulldomain of the client's account the server no
	// longer took (its database lost, the account deregistered), which a
	// new account replaced: every CNAME to it must change.
	Replaced string
	// Changed is true when the Secret was written.
	Changed bool
	// TXTLimit is the values the client's account keeps, as an acmehub
	// server answers: 0 for an account registered with a plain acme-dns,
	// which keeps two values, and 2 for an existing one there.
	TXTLimit int
	Rows     []Row
	// Delegated are the CNAMEs the hub wrote (or found), with Config.Hub.
	Delegated []string
	// Removed are the names the Secret held but the client no longer asks
	// for, with Config.Hub: taken out of the Secret, their CNAMEs removed.
	Removed []string
	// Warnings are problems that did not stop the registration.
	Warnings []string
}

// maxAttempts bounds the retries of a write that lost a race.
const maxAttempts = 5

// Register makes the Secret of cfg hold an account for each FQDN. An
// account the Secret holds but an acmehub server no longer takes is
// replaced at once by a new one (Result.Replaced); a plain acme-dns cannot
// tell, and `acmehub check` finds it there. With cfg.Hub, the hub then
// writes each name's CNAME (Result.Delegated): no DNS change by hand.
func (r *Registrar) Register(ctx context.Context, cfg Config) (Result, error) {
	res, err := r.registerSecret(ctx, cfg)
	if err != nil || cfg.Hub == nil {
		return res, err
	}
	if res.Delegated, err = r.delegate(ctx, *cfg.Hub, res.Rows); err != nil {
		return res, err
	}
	return res, r.undelegate(ctx, *cfg.Hub, res.Removed)
}

func (r *Registrar) registerSecret(ctx context.Context, cfg Config) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, fmt.Errorf("registration of client %q: %w", cfg.Client, err)
	}
	if cfg.Wait > 0 {
		err := r.api().WaitHealthy(ctx, cfg.API, cfg.Wait, func(err error, left time.Duration) {
			if r.Log != nil {
				r.Log.Info("waiting for the API to answer", "api", cfg.API, "err", err, "left", left.Round(time.Second).String())
			}
		})
		if err != nil && r.Log != nil {
			r.Log.Warn("the API did not answer /health in time; trying anyway", "api", cfg.API, "wait", cfg.Wait.String(), "err", err)
		}
	}
	var (
		res        Result
		registered *registerAnswer // kept across retries: register once
		warnings   []string
		dead       solver.Account // the account the server refused
	)
	for range maxAttempts {
		res = Result{Warnings: warnings, Replaced: dead.FullDomain}
		secret, accounts, err := r.read(ctx, cfg)
		if err != nil {
			return res, err
		}
		acct, ok := usable(accounts, cfg.FQDNs)
		if !ok || (dead.Username != "" && acct.Username == dead.Username) {
			if registered == nil {
				a, w, err := r.register(ctx, cfg)
				if err != nil {
					return res, err
				}
				registered, warnings = &a, w
				res.Warnings = w
			}
			acct, res.Registered, res.TXTLimit = registered.Account, true, registered.TXTLimit
		}
		missing := fill(accounts, acct, dead, cfg.FQDNs)
		// With a hub, the Secret holds exactly the names asked for: the
		// others' delegations are removed once it is written.
		var removed []string
		if cfg.Hub != nil {
			removed = prune(accounts, cfg.FQDNs)
		}
		res.Removed = removed
		if !res.Registered {
			// Before the new names are written: an account that cannot keep
			// their values must not be given them.
			keeps, warning, err := r.keepUp(ctx, cfg, acct, sharing(accounts, acct))
			if errors.Is(err, client.ErrUnknownAccount) && dead.Username == "" {
				dead = acct
				continue // read again, and register anew
			}
			if err != nil {
				return res, err
			}
			res.TXTLimit = keeps
			if warning != "" {
				res.Warnings = append(res.Warnings, warning)
			}
		}
		res.Rows = rows(accounts, cfg.FQDNs)
		if len(missing) == 0 && len(removed) == 0 && secret != nil && labelled(secret, cfg.Client) {
			return res, nil
		}
		err = r.write(ctx, cfg, secret, accounts, res.Rows)
		if isRace(err) {
			continue // changed meanwhile: read it again
		}
		if err != nil {
			return res, err
		}
		res.Changed = true
		r.event(ctx, cfg, res, missing)
		return res, nil
	}
	return res, fmt.Errorf("secret %s/%s kept changing while it was written; run again", cfg.Namespace, cfg.SecretName)
}

// read returns the Secret (nil when there is none) and its accounts.
func (r *Registrar) read(ctx context.Context, cfg Config) (*corev1.Secret, map[string]solver.Account, error) {
	secret, err := r.Kube.CoreV1().Secrets(cfg.Namespace).Get(ctx, cfg.SecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, map[string]solver.Account{}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("secret %s/%s: %w", cfg.Namespace, cfg.SecretName, err)
	}
	data, ok := secret.Data[cfg.Key]
	if !ok || len(bytes.TrimSpace(data)) == 0 {
		return secret, map[string]solver.Account{}, nil
	}
	parsed, err := solver.ParseAccounts(data)
	if err != nil {
		return nil, nil, fmt.Errorf("secret %s/%s key %s: %w", cfg.Namespace, cfg.SecretName, cfg.Key, err)
	}
	return secret, parsed, nil
}

// usable returns the account the Secret already holds for one of fqdns: the
// client's account, which its other names share.
func usable(accounts map[string]solver.Account, fqdns []string) (solver.Account, bool) {
	for _, f := range fqdns {
		if a, ok := accounts[f]; ok {
			return a, true
		}
	}
	return solver.Account{}, false
}

// registerAnswer is the /register answer; txtlimit only from acmehub.
type registerAnswer struct {
	solver.Account
	TXTLimit int `json:"txtlimit"`
}

// ValuesPerName is how many values an account keeps for each name it
// serves: a name and its wildcard, or a renewal beside a retry, validated at
// once.
const ValuesPerName = 2

// register asks the server for a new account. Against acmehub it asks for
// ValuesPerName values per FQDN.
func (r *Registrar) register(ctx context.Context, cfg Config) (registerAnswer, []string, error) {
	want := ValuesPerName * len(cfg.FQDNs)
	status, body, err := r.post(ctx, cfg, map[string]any{"allowfrom": cfg.AllowFrom, "txtlimit": want})
	if err != nil {
		return registerAnswer{}, nil, err
	}
	// Only acmehub knows txtlimit: a plain acme-dns ignores it and answers
	// without one.
	if status == http.StatusBadRequest && strings.Contains(string(body), "invalid_txtlimit") {
		var refusal client.Limit
		json.Unmarshal(body, &refusal) //nolint:errcheck // an older acmehub says no maximum
		return registerAnswer{}, nil, tooManyNames(cfg, len(cfg.FQDNs), refusal.Max)
	}
	if status != http.StatusCreated {
		return registerAnswer{}, nil, fmt.Errorf("POST %s/register: %d %s", cfg.API, status, strings.TrimSpace(string(body)))
	}
	var a registerAnswer
	if err := json.Unmarshal(body, &a); err != nil || a.Username == "" || a.Password == "" || a.SubDomain == "" || a.FullDomain == "" {
		return registerAnswer{}, nil, fmt.Errorf("POST %s/register: not an account: %s", cfg.API, body)
	}
	a.ServerURL = cfg.API
	if a.AllowFrom == nil {
		a.AllowFrom = []string{}
	}
	var warnings []string
	if a.TXTLimit == 0 && len(cfg.FQDNs) > 1 {
		warnings = append(warnings, plainAcmeDNSWarning(cfg.API, cfg.Client, len(cfg.FQDNs)))
	}
	return a, warnings, nil
}

// tooManyNames is the refusal of an account for more names than the server
// keeps values for (max 0: the server did not say).
func tooManyNames(cfg Config, names, max int) error {
	most := "fewer"
	if max > 0 {
		most = fmt.Sprintf("at most %d", max)
	}
	split := ""
	if max >= ValuesPerName {
		split = fmt.Sprintf(" of at most %d names each", max/ValuesPerName)
	}
	return fmt.Errorf("client %s has %d names, whose account needs %d values (%d per name), but the server at %s keeps %s per account: "+
		"split the client into clients%s, or raise [acmehub] max_txt_limit on the server",
		cfg.Client, names, ValuesPerName*names, ValuesPerName, cfg.API, most, split)
}

func plainAcmeDNSWarning(api, client string, names int) string {
	return fmt.Sprintf("the server at %s keeps two values per account (acme-dns): the %d names of client %s "+
		"share one account, so their challenges wait for each other", api, names, client)
}

// sharing counts the names of accounts that use acct.
func sharing(accounts map[string]solver.Account, acct solver.Account) int {
	n := 0
	for _, a := range accounts {
		if a.Username == acct.Username {
			n++
		}
	}
	return n
}

// keepUp makes the client's existing account keep ValuesPerName values for
// each of its names, on an acmehub server (POST /txtlimit), and returns how
// many it keeps. On a plain acme-dns, which keeps two, it returns a warning
// when the account serves more than one name.
func (r *Registrar) keepUp(ctx context.Context, cfg Config, acct solver.Account, names int) (int, string, error) {
	api := cfg.API
	if acct.ServerURL != "" {
		api = strings.TrimSuffix(acct.ServerURL, "/")
	}
	l, err := r.api().RaiseTXTLimit(ctx, api, client.Account{Username: acct.Username, Password: acct.Password, Subdomain: acct.SubDomain}, ValuesPerName*names)
	var refused *client.LimitError
	switch {
	case errors.Is(err, client.ErrNoTXTLimit):
		if names > 1 {
			return 2, plainAcmeDNSWarning(api, cfg.Client, names), nil
		}
		return 2, "", nil
	case errors.As(err, &refused):
		return 0, "", tooManyNames(Config{Client: cfg.Client, API: api}, names, refused.Max)
	case err != nil:
		return 0, "", fmt.Errorf("raising the value limit of the account of client %s (%s): %w", cfg.Client, acct.FullDomain, err)
	}
	return l.Keeps, "", nil
}

// api is the acme-dns client: HTTP's, when the Registrar has one.
func (r *Registrar) api() *client.Client {
	if r.HTTP != nil {
		return &client.Client{HTTP: r.HTTP}
	}
	return client.New()
}

func (r *Registrar) post(ctx context.Context, cfg Config, body map[string]any) (int, []byte, error) {
	status, answer, err := r.api().Register(ctx, cfg.API, body, cfg.BasicAuthUser, cfg.BasicAuthPassword)
	return status, []byte(answer), err
}

// rows are the CNAMEs fqdns need.
// fill gives acct the names of fqdns accounts lacks and those of the dead
// account, and returns them, sorted.
func fill(accounts map[string]solver.Account, acct, dead solver.Account, fqdns []string) []string {
	var missing []string
	for f, a := range accounts {
		if dead.Username != "" && a.Username == dead.Username {
			accounts[f] = acct
			missing = append(missing, f)
		}
	}
	for _, f := range fqdns {
		if _, ok := accounts[f]; !ok {
			accounts[f] = acct
			missing = append(missing, f)
		}
	}
	slices.Sort(missing)
	return missing
}

// prune takes the names that are not fqdns out of accounts and returns
// them, sorted.
func prune(accounts map[string]solver.Account, fqdns []string) []string {
	var removed []string
	for f := range accounts {
		if !slices.Contains(fqdns, f) {
			delete(accounts, f)
			removed = append(removed, f)
		}
	}
	slices.Sort(removed)
	return removed
}

func rows(accounts map[string]solver.Account, fqdns []string) []Row {
	out := make([]Row, 0, len(fqdns))
	for _, f := range fqdns {
		out = append(out, Row{FQDN: f, Record: solver.ChallengeName(f) + ".", FullDomain: strings.TrimSuffix(accounts[f].FullDomain, ".") + "."})
	}
	return out
}

// labelled reports whether the Secret is labelled as the client's, which
// `acmehub check` selects by.
func labelled(s *corev1.Secret, client string) bool { return s.Labels[ClientLabel] == client }

// write creates or updates the Secret, with resourceVersion so that a
// concurrent writer's change is never overwritten.
func (r *Registrar) write(ctx context.Context, cfg Config, secret *corev1.Secret, accounts map[string]solver.Account, rs []Row) error {
	data, err := json.MarshalIndent(accounts, "", "  ")
	if err != nil {
		return err
	}
	var cnames []string
	for _, row := range rs {
		cnames = append(cnames, row.String())
	}
	secrets := r.Kube.CoreV1().Secrets(cfg.Namespace)
	if secret == nil {
		_, err = secrets.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Name: cfg.SecretName, Namespace: cfg.Namespace,
				Labels:      map[string]string{ManagedByLabel: ManagedBy, ClientLabel: cfg.Client},
				Annotations: map[string]string{CNAMEsAnnotation: strings.Join(cnames, "\n")},
			},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{cfg.Key: data},
		}, metav1.CreateOptions{})
	} else {
		s := secret.DeepCopy() // keeps its resourceVersion
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		// managed-by stays whoever's it is: a Secret the chart made is
		// Helm's, which an install over a kept Secret needs to adopt it.
		s.Labels[ClientLabel] = cfg.Client
		s.Annotations[CNAMEsAnnotation] = strings.Join(cnames, "\n")
		s.Data[cfg.Key] = data
		_, err = secrets.Update(ctx, s, metav1.UpdateOptions{})
	}
	if err != nil && !isRace(err) {
		return fmt.Errorf("writing secret %s/%s: %w", cfg.Namespace, cfg.SecretName, err)
	}
	return err
}

// isRace reports a write that lost to another writer: read again and retry.
func isRace(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }

// event records on the Secret what was done; failing to is only logged.
func (r *Registrar) event(ctx context.Context, cfg Config, res Result, added []string) {
	secret, err := r.Kube.CoreV1().Secrets(cfg.Namespace).Get(ctx, cfg.SecretName, metav1.GetOptions{})
	if err != nil {
		return
	}
	kind, reason, msg := corev1.EventTypeNormal, "AccountsUpdated", fmt.Sprintf("added %s to the existing account", strings.Join(added, ", "))
	switch {
	case res.Replaced != "":
		kind, reason, msg = corev1.EventTypeWarning, "AccountReplaced", fmt.Sprintf("the server at %s no longer takes the account %s: registered a new one for %s, and every CNAME to %s must change",
			cfg.API, res.Replaced, strings.Join(added, ", "), res.Replaced)
	case res.Registered:
		reason, msg = "AccountRegistered", fmt.Sprintf("registered an account with %s for %s", cfg.API, strings.Join(added, ", "))
	}
	var cnames []string
	for _, row := range res.Rows {
		cnames = append(cnames, row.String())
	}
	_, err = r.Kube.CoreV1().Events(cfg.Namespace).Create(ctx, solver.Event(corev1.ObjectReference{
		APIVersion: "v1", Kind: "Secret", Namespace: cfg.Namespace, Name: cfg.SecretName,
		UID: secret.UID, ResourceVersion: secret.ResourceVersion,
	}, kind, reason, msg+"; create the CNAMEs: "+strings.Join(cnames, "; "), "acmehub-register"), metav1.CreateOptions{})
	if err != nil && r.Log != nil {
		r.Log.Warn("no event recorded on the secret", "secret", cfg.Namespace+"/"+cfg.SecretName, "err", err)
	}
}
