// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package registration

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/acmehub/acmehub/hub/acmedns/client"
	"github.com/acmehub/acmehub/hub/dnsclient"
	"github.com/acmehub/acmehub/solver"
)

// CheckConfig says which account Secrets to check, and how.
type CheckConfig struct {
	// Namespace holds the Secrets.
	Namespace string
	// SecretName names one Secret; empty checks every Secret of Namespace
	// labelled acmehub.io/client (as register labels them).
	SecretName string
	// Key is the account file's key (default acmedns.json).
	Key string
	// Resolver answers the delegation check and finds the zone's name servers.
	Resolver dnsclient.Resolver
	// Nameservers are the acme-dns zone's authoritative servers (host:port);
	// empty means those its NS records name.
	Nameservers []string
	// Timeout bounds the wait for the probe to be served (default 60 s).
	Timeout time.Duration
	// BasicAuthUser and BasicAuthPassword authenticate a re-registration.
	BasicAuthUser, BasicAuthPassword string
	// API is the acme-dns API of accounts whose entry gives no server_url,
	// as account files of older registration scripts do.
	API string
	// Hub, with Repair, is asked to write the CNAME of a name whose CNAME
	// is missing or wrong (drift), as register --hub wrote it.
	Hub    *Hub
	Repair bool
}

// Finding is what the check found for one FQDN.
type Finding struct {
	Secret      string `json:"secret"`
	FQDN        string `json:"fqdn"`
	Account     string `json:"account"`
	Credentials string `json:"credentials"`
	Propagation string `json:"propagation"`
	Delegation  string `json:"delegation"`
	// TXTLimit is how many values the account keeps (0: not known).
	TXTLimit int    `json:"txtLimit,omitempty"`
	Action   string `json:"action,omitempty"`
	// Problems are what needs a person; none means all is well.
	Problems []string `json:"problems,omitempty"`
}

// Check verifies every account of the Secrets cfg names: that the server
// takes its credentials (re-registering, and rewriting the Secret, when it
// refuses them), that a probe value written through the API is served by the
// zone's authoritative servers, and that each FQDN's challenge name is a
// CNAME to the account. It records an Event on a Secret for each problem.
func (r *Registrar) Check(ctx context.Context, cfg CheckConfig) ([]Finding, error) {
	if cfg.Key == "" {
		cfg.Key = "acmedns.json"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Minute
	}
	var secrets []corev1.Secret
	if cfg.SecretName != "" {
		s, err := r.Kube.CoreV1().Secrets(cfg.Namespace).Get(ctx, cfg.SecretName, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("secret %s/%s: %w", cfg.Namespace, cfg.SecretName, err)
		}
		secrets = append(secrets, *s)
	} else {
		list, err := r.Kube.CoreV1().Secrets(cfg.Namespace).List(ctx, metav1.ListOptions{LabelSelector: ClientLabel})
		if err != nil {
			return nil, fmt.Errorf("secrets of namespace %s labelled %s: %w", cfg.Namespace, ClientLabel, err)
		}
		secrets = list.Items
	}
	var all []Finding
	for _, s := range secrets {
		findings, err := r.checkSecret(ctx, cfg, s)
		if err != nil {
			return all, err
		}
		all = append(all, findings...)
	}
	return all, nil
}

func (r *Registrar) checkSecret(ctx context.Context, cfg CheckConfig, secret corev1.Secret) ([]Finding, error) {
	name := secret.Namespace + "/" + secret.Name
	accounts, err := solver.ParseAccounts(secret.Data[cfg.Key])
	if err != nil {
		return nil, fmt.Errorf("secret %s key %s: %w", name, cfg.Key, err)
	}
	// The FQDNs of each account, checked together: one probe an account.
	byUser := map[string][]string{}
	for fqdn, a := range accounts {
		byUser[a.Username] = append(byUser[a.Username], fqdn)
	}
	users := make([]string, 0, len(byUser))
	for u := range byUser {
		users = append(users, u)
	}
	slices.Sort(users)
	var findings []Finding
	for _, u := range users {
		fqdns := byUser[u]
		slices.Sort(fqdns)
		fs, err := r.checkAccount(ctx, cfg, secret, accounts, fqdns)
		if err != nil {
			return findings, err
		}
		findings = append(findings, fs...)
	}
	for _, f := range findings {
		for _, p := range f.Problems {
			r.warnEvent(ctx, secret, "AccountCheckFailed", f.FQDN+": "+p)
		}
	}
	return findings, nil
}

// checkAccount runs the checks for the account fqdns share.
func (r *Registrar) checkAccount(ctx context.Context, cfg CheckConfig, secret corev1.Secret, accounts solver.Accounts, fqdns []string) ([]Finding, error) {
	acct := accounts[fqdns[0]]
	api := strings.TrimSuffix(cmp.Or(acct.ServerURL, cfg.API), "/")
	base := Finding{Secret: secret.Namespace + "/" + secret.Name, Account: acct.FullDomain}
	if api == "" {
		base.Credentials = "unknown: the account has no server_url"
		base.Problems = []string{"the account file gives no server_url, and no --api was given: the account cannot be checked"}
		return each(base, fqdns), nil
	}
	probe := newProbe()
	status, plain, err := r.probe(ctx, api, acct, probe)
	if err != nil {
		base.Credentials = "error: " + err.Error()
		base.Problems = append(base.Problems, "the API could not be reached: "+err.Error())
		return each(base, fqdns), nil
	}
	if status == http.StatusUnauthorized && r.credentialsTaken(ctx, api, acct) {
		// acmehub takes the credentials: the account's allowfrom refuses
		// this address, which a new account would not change.
		base.Credentials = "ok; updates refused from here"
		base.Problems = append(base.Problems, fmt.Sprintf("the server takes the account's credentials but refuses its updates from this address: "+
			"the account's allowfrom (%s) does not admit where the check runs", strings.Join(acct.AllowFrom, ", ")))
		return each(base, fqdns), nil
	}
	if status == http.StatusUnauthorized {
		fresh, err := r.reregister(ctx, cfg, secret, api, acct, fqdns)
		if err != nil {
			base.Credentials = "refused"
			base.Problems = append(base.Problems, "the server refuses the account's credentials, and registering anew failed: "+err.Error())
			return each(base, fqdns), nil
		}
		acct = fresh
		base.Account = acct.FullDomain
		base.Credentials = "refused: registered anew"
		base.Action = "registered a new account; create the new CNAMEs: _acme-challenge.<fqdn>. CNAME " + acct.FullDomain + "."
		base.Problems = append(base.Problems, "the server refused the account's credentials: registered a new account, the CNAMEs changed to "+acct.FullDomain+".")
		if status, plain, err = r.probe(ctx, api, acct, probe); err != nil || status/100 != 2 {
			base.Problems = append(base.Problems, fmt.Sprintf("the new account's update failed: %d %v", status, err))
			return each(base, fqdns), nil
		}
	} else if status/100 != 2 {
		base.Credentials = fmt.Sprintf("error: %d", status)
		base.Problems = append(base.Problems, fmt.Sprintf("the probe update was answered %d", status))
		return each(base, fqdns), nil
	} else {
		base.Credentials = "ok"
	}

	base.Propagation = r.propagation(ctx, cfg, acct.FullDomain, probe)
	if base.Propagation != "ok" {
		base.Problems = append(base.Problems, "probe "+base.Propagation)
	}
	if plain {
		base.TXTLimit = 2
		base.Action = join(base.Action, "the probe stays as one of acme-dns's two values (it cannot delete)")
		if len(fqdns) > 1 {
			base.Action = join(base.Action, fmt.Sprintf("warning: this account serves %d names, whose challenges share acme-dns's two values and wait for each other", len(fqdns)))
		}
	} else {
		if err := r.deleteProbe(ctx, api, acct, probe); err != nil {
			base.Problems = append(base.Problems, "removing the probe: "+err.Error())
		}
		base.TXTLimit, base.Problems = r.checkLimit(ctx, api, acct, len(fqdns), base.Problems)
	}

	out := each(base, fqdns)
	for i := range out {
		err := solver.CheckDelegation(ctx, cfg.Resolver, out[i].FQDN, acct.FullDomain)
		switch {
		case err == nil:
			out[i].Delegation = "ok"
		case cfg.Repair && cfg.Hub != nil:
			out[i] = r.repair(ctx, *cfg.Hub, out[i], acct, err)
		default:
			out[i].Delegation = err.Error()
			out[i].Problems = append(slices.Clone(out[i].Problems), err.Error())
		}
	}
	return out, nil
}

// credentialsTaken reports whether an acmehub server takes the account's
// credentials, which its /txtlimit checks without allowfrom; a plain
// acme-dns cannot say.
func (r *Registrar) credentialsTaken(ctx context.Context, api string, a solver.Account) bool {
	_, err := r.api().RaiseTXTLimit(ctx, api, client.Account{Username: a.Username, Password: a.Password, Subdomain: a.SubDomain}, 0)
	return err == nil
}

// checkLimit reads how many values the account keeps on an acmehub server
// and adds a problem when that is fewer than ValuesPerName for each of its
// names: values of a certificate's names would evict each other.
func (r *Registrar) checkLimit(ctx context.Context, api string, a solver.Account, names int, problems []string) (int, []string) {
	l, err := r.api().RaiseTXTLimit(ctx, api, client.Account{Username: a.Username, Password: a.Password, Subdomain: a.SubDomain}, 0)
	switch {
	case err != nil:
		return 0, append(problems, "reading the account's value limit: "+err.Error())
	case l.Keeps < ValuesPerName*names:
		return l.Keeps, append(problems, fmt.Sprintf("the account keeps %d values, fewer than %d for its %d names: "+
			"values written with /update evict each other; run acmehub register for the client, which raises the limit", l.Keeps, ValuesPerName*names, names))
	}
	return l.Keeps, problems
}

func each(base Finding, fqdns []string) []Finding {
	out := make([]Finding, len(fqdns))
	for i, f := range fqdns {
		out[i] = base
		out[i].FQDN = f
		out[i].Problems = slices.Clone(base.Problems)
	}
	return out
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// newProbe is a fresh value in the form of an ACME digest.
func newProbe() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// probe writes value to the account: held through acmehub's /present, or
// through /update on a plain acme-dns (plain true), where it evicts the
// account's oldest value.
func (r *Registrar) probe(ctx context.Context, api string, a solver.Account, value string) (status int, plain bool, err error) {
	status, err = r.txtRequest(ctx, api, "/present", a, value)
	if err != nil || !client.NotFound(status) {
		return status, false, err
	}
	status, err = r.txtRequest(ctx, api, "/update", a, value)
	return status, true, err
}

func (r *Registrar) deleteProbe(ctx context.Context, api string, a solver.Account, value string) error {
	status, err := r.txtRequest(ctx, api, "/delete", a, value)
	if err == nil && status/100 != 2 {
		err = fmt.Errorf("POST %s/delete: %d", api, status)
	}
	return err
}

func (r *Registrar) txtRequest(ctx context.Context, api, path string, a solver.Account, value string) (int, error) {
	status, _, err := r.api().TXT(ctx, api, path, client.Account{Username: a.Username, Password: a.Password, Subdomain: a.SubDomain}, value)
	return status, err
}

// propagation waits until every authoritative server of the account's zone
// serves value, and says how that went: "ok", or what failed.
func (r *Registrar) propagation(ctx context.Context, cfg CheckConfig, fullDomain, value string) string {
	_, zone, _ := strings.Cut(strings.TrimSuffix(fullDomain, "."), ".")
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	err := cfg.Resolver.WaitServed(ctx, cfg.Nameservers, zone, fullDomain, value)
	var notServed *dnsclient.NotServedError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &notServed):
		return fmt.Sprintf("not served by %s within %v", strings.Join(notServed.Servers, ", "), cfg.Timeout)
	default:
		return "not checked: " + err.Error()
	}
}

// reregister registers a new account for fqdns, whose account the server no
// longer knows, and rewrites the Secret with it.
func (r *Registrar) reregister(ctx context.Context, cfg CheckConfig, secret corev1.Secret, api string, old solver.Account, fqdns []string) (solver.Account, error) {
	rc := Config{
		API: api, Client: secret.Labels[ClientLabel], FQDNs: fqdns, AllowFrom: old.AllowFrom,
		BasicAuthUser: cfg.BasicAuthUser, BasicAuthPassword: cfg.BasicAuthPassword,
		Namespace: secret.Namespace, SecretName: secret.Name, Key: cfg.Key,
	}
	if rc.Client == "" {
		rc.Client = secret.Name
	}
	rc, err := rc.withDefaults()
	if err != nil {
		return solver.Account{}, err
	}
	fresh, _, err := r.register(ctx, rc)
	if err != nil {
		return solver.Account{}, err
	}
	for range maxAttempts {
		current, accounts, err := r.read(ctx, rc)
		if err != nil {
			return solver.Account{}, err
		}
		for _, f := range fqdns {
			if accounts[f].Username == old.Username || accounts[f].Username == "" {
				accounts[f] = fresh.Account
			}
		}
		err = r.write(ctx, rc, current, accounts, rows(accounts, rc.FQDNs))
		if err == nil {
			return fresh.Account, nil
		}
		if !isRace(err) {
			return solver.Account{}, err
		}
	}
	return solver.Account{}, fmt.Errorf("secret %s/%s kept changing while it was written", secret.Namespace, secret.Name)
}

// warnEvent records a Warning Event on the Secret.
func (r *Registrar) warnEvent(ctx context.Context, secret corev1.Secret, reason, message string) {
	_, err := r.Kube.CoreV1().Events(secret.Namespace).Create(ctx, solver.Event(corev1.ObjectReference{
		APIVersion: "v1", Kind: "Secret", Namespace: secret.Namespace, Name: secret.Name,
		UID: secret.UID, ResourceVersion: secret.ResourceVersion,
	}, corev1.EventTypeWarning, reason, message, "acmehub-check"), metav1.CreateOptions{})
	if err != nil && r.Log != nil {
		r.Log.Warn("no event recorded on the secret", "secret", secret.Namespace+"/"+secret.Name, "err", err)
	}
}
