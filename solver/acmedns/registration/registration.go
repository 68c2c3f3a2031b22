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

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/acmehub/acmehub/hub/api/client"
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
	// Changed is true when the Secret was written.
	Changed bool
	// TXTLimit is the values the registered account keeps, as an acmehub
	// server answers; 0 when nothing was registered or the server is a
	// plain acme-dns (two values).
	TXTLimit int
	Rows     []Row
	// Warnings are problems that did not stop the registration.
	Warnings []string
}

// maxAttempts bounds the retries of a write that lost a race.
const maxAttempts = 5

// Register makes the Secret of cfg hold an account for each FQDN.
func (r *Registrar) Register(ctx context.Context, cfg Config) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, fmt.Errorf("registration of client %q: %w", cfg.Client, err)
	}
	var (
		res        Result
		registered *registerAnswer // kept across retries: register once
		warnings   []string
	)
	for range maxAttempts {
		res = Result{Warnings: warnings}
		secret, accounts, err := r.read(ctx, cfg)
		if err != nil {
			return res, err
		}
		acct, ok := usable(accounts, cfg.FQDNs)
		if !ok {
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
		var missing []string
		for _, f := range cfg.FQDNs {
			if _, ok := accounts[f]; !ok {
				accounts[f] = acct
				missing = append(missing, f)
			}
		}
		res.Rows = rows(accounts, cfg.FQDNs)
		if len(missing) == 0 && secret != nil && labelled(secret) {
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

// register asks the server for a new account. Against acmehub it asks for
// two values per FQDN (a name and its wildcard validated at once).
func (r *Registrar) register(ctx context.Context, cfg Config) (registerAnswer, []string, error) {
	want := 2 * len(cfg.FQDNs)
	status, body, err := r.post(ctx, cfg, map[string]any{"allowfrom": cfg.AllowFrom, "txtlimit": want})
	var warnings []string
	// Only acmehub knows txtlimit: a plain acme-dns ignores it and answers
	// without one.
	acmehub := false
	if err == nil && status == http.StatusBadRequest && strings.Contains(string(body), "invalid_txtlimit") {
		acmehub = true
		warnings = append(warnings, fmt.Sprintf("the server at %s allows fewer than %d values per account: registered with its default", cfg.API, want))
		status, body, err = r.post(ctx, cfg, map[string]any{"allowfrom": cfg.AllowFrom})
	}
	if err != nil {
		return registerAnswer{}, nil, err
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
	if a.TXTLimit == 0 && !acmehub && len(cfg.FQDNs) > 1 {
		warnings = append(warnings, fmt.Sprintf("the server at %s keeps two values per account (acme-dns): the %d names of client %s "+
			"share one account, so their challenges wait for each other", cfg.API, len(cfg.FQDNs), cfg.Client))
	}
	return a, warnings, nil
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
func rows(accounts map[string]solver.Account, fqdns []string) []Row {
	out := make([]Row, 0, len(fqdns))
	for _, f := range fqdns {
		out = append(out, Row{FQDN: f, Record: solver.ChallengeName(f) + ".", FullDomain: strings.TrimSuffix(accounts[f].FullDomain, ".") + "."})
	}
	return out
}

func labelled(s *corev1.Secret) bool { return s.Labels[ManagedByLabel] == ManagedBy }

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
		s.Labels[ManagedByLabel], s.Labels[ClientLabel] = ManagedBy, cfg.Client
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
	reason, msg := "AccountsUpdated", fmt.Sprintf("added %s to the existing account", strings.Join(added, ", "))
	if res.Registered {
		reason, msg = "AccountRegistered", fmt.Sprintf("registered an account with %s for %s", cfg.API, strings.Join(added, ", "))
	}
	var cnames []string
	for _, row := range res.Rows {
		cnames = append(cnames, row.String())
	}
	_, err = r.Kube.CoreV1().Events(cfg.Namespace).Create(ctx, solver.Event(corev1.ObjectReference{
		APIVersion: "v1", Kind: "Secret", Namespace: cfg.Namespace, Name: cfg.SecretName,
		UID: secret.UID, ResourceVersion: secret.ResourceVersion,
	}, corev1.EventTypeNormal, reason, msg+"; create the CNAMEs: "+strings.Join(cnames, "; "), "acmehub-register"), metav1.CreateOptions{})
	if err != nil && r.Log != nil {
		r.Log.Warn("no event recorded on the secret", "secret", cfg.Namespace+"/"+cfg.SecretName, "err", err)
	}
}
