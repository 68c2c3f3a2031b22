// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package fakes

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Hosts of Google's OAuth 2.0 token endpoint, its Security Token Service
// (workload identity federation) and Cloud DNS API.
const (
	GoogleTokenHost = "oauth2.googleapis.com"
	GoogleSTSHost   = "sts.googleapis.com"
	CloudDNSHost    = "dns.googleapis.com"
)

// FakeCloudDNS is Google Cloud DNS (v1) and the OAuth 2.0 token endpoint
// as a service account uses them: the account signs a JWT with its key,
// the token endpoint checks the signature and the scope and hands out an
// access token, and the API takes that token for the project's managed
// zone: record sets listed by name (and type), and changes applied
// atomically (a deletion must name a set exactly as it is, an addition one
// that is not there, a CNAME beside no other set; otherwise 412, 409 or
// 400, as Cloud DNS answers).
type FakeCloudDNS struct {
	t                   testing.TB
	Project, Zone, Name string // the project, the managed zone's name, its DNS name with the dot
	key                 *rsa.PrivateKey

	callLog // "METHOD host path?query"
	mu      sync.Mutex
	tokens  map[string]bool
	// pool and subject: the workload identity pool provider (its
	// audience) and the token it accepts (Federate).
	pool, subject string
	sets          map[string]cloudDNSSet // name with the dot, "/", type → set
	changes       int
	// BeforeChange, when set, runs once before the next change is
	// applied (with the fake's lock held): another writer's change.
	BeforeChange func()
}

type cloudDNSSet struct {
	Kind    string   `json:"kind,omitempty"`
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	TTL     int64    `json:"ttl"`
	Rrdatas []string `json:"rrdatas"`
}

// NewFakeCloudDNS is project's managed zone zone (DNS name dnsName, without
// the dot), written to by one service account.
func NewFakeCloudDNS(t testing.TB, project, zone, dnsName string) *FakeCloudDNS {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &FakeCloudDNS{t: t, Project: project, Zone: zone, Name: dnsName + ".", key: key, tokens: map[string]bool{}, sets: map[string]cloudDNSSet{}}
}

// ServiceAccount is the key file of the fake's service account, as the
// Cloud console downloads it.
func (f *FakeCloudDNS) ServiceAccount() []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(f.key)
	raw, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": f.Project, "private_key_id": "fake-key-1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "acmehub@" + f.Project + ".iam.gserviceaccount.com", "client_id": "1",
		"token_uri": "https://" + GoogleTokenHost + "/token",
	})
	return raw
}

// Federate has Google's Security Token Service exchange subject, a
// workload's token (a cluster's ServiceAccount token), for an access
// token, for the workload identity pool provider audience.
func (f *FakeCloudDNS) Federate(audience, subject string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pool, f.subject = audience, subject
}

// ExternalAccount is the credential configuration of workload identity
// federation, as gcloud iam workload-identity-pools create-cred-config
// writes it: the workload's token read from tokenFile.
func (f *FakeCloudDNS) ExternalAccount(audience, tokenFile string) []byte {
	raw, _ := json.Marshal(map[string]any{
		"type": "external_account", "audience": audience,
		"subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
		"token_url":          "https://" + GoogleSTSHost + "/v1/token",
		"credential_source":  map[string]string{"file": tokenFile},
	})
	return raw
}

// TXT are the values at name (without the dot), unquoted.
func (f *FakeCloudDNS) TXT(name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, v := range f.sets[name+"./TXT"].Rrdatas {
		out = append(out, strings.Trim(v, `"`))
	}
	return out
}

// Put sets the TXT values at name (without the dot), as another writer.
func (f *FakeCloudDNS) Put(name string, values ...string) {
	set := cloudDNSSet{Kind: "dns#resourceRecordSet", Name: name + ".", Type: "TXT", TTL: 60}
	for _, v := range values {
		set.Rrdatas = append(set.Rrdatas, `"`+v+`"`)
	}
	f.sets[name+"./TXT"] = set
}

// CNAME is the target of the CNAME at name (without the dot), "" when none.
func (f *FakeCloudDNS) CNAME(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.sets[name+"./CNAME"]; len(s.Rrdatas) == 1 {
		return s.Rrdatas[0]
	}
	return ""
}

// ProxyEnv is the environment that sends a child process's requests for
// Google's token endpoint and Cloud DNS to the fake, until the test ends.
func (f *FakeCloudDNS) ProxyEnv(t testing.TB) []string {
	t.Helper()
	return proxyEnv(t, f, CloudDNSHost, GoogleTokenHost)
}

// ServeHTTP answers a token request or an API call.
func (f *FakeCloudDNS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var (
		status int
		body   any
	)
	switch r.Host {
	case GoogleTokenHost:
		status, body = f.token(r)
	case GoogleSTSHost:
		status, body = f.exchange(r)
	default:
		status, body = f.api(r)
	}
	f.record(r.Method + " " + r.Host + " " + r.URL.RequestURI())
	writeJSON(w, status, body)
}

// googleError is Google's error body.
func googleError(code int, reason, message string) (int, any) {
	return code, map[string]any{"error": map[string]any{"code": code, "message": message,
		"errors": []map[string]string{{"domain": "global", "reason": reason, "message": message}}}}
}

// token answers the JWT bearer grant of the service account: the
// assertion must be signed with its key (RS256) for the Cloud DNS scope.
func (f *FakeCloudDNS) token(r *http.Request) (int, any) {
	if r.Method != http.MethodPost || r.URL.Path != "/token" || r.ParseForm() != nil ||
		r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		f.t.Errorf("fake Google token endpoint: %s %s %v: not a JWT bearer grant", r.Method, r.URL, r.PostForm)
		return http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"}
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		return http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "Invalid JWT"}
	}
	sig, err1 := base64.RawURLEncoding.DecodeString(parts[2])
	claimsJSON, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err1 != nil || err2 != nil || rsa.VerifyPKCS1v15(&f.key.PublicKey, crypto.SHA256, digest[:], sig) != nil {
		return http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
	}
	var claims struct{ Iss, Scope, Aud string }
	json.Unmarshal(claimsJSON, &claims)
	if !strings.Contains(claims.Scope, "https://www.googleapis.com/auth/ndev.clouddns.readwrite") || claims.Aud != "https://"+GoogleTokenHost+"/token" {
		f.t.Errorf("fake Google token endpoint: claims %+v", claims)
		return http.StatusBadRequest, map[string]string{"error": "invalid_scope"}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	tok := fmt.Sprintf("ya29.fake-%d", len(f.tokens)+1)
	f.tokens[tok] = true
	return http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3599}
}

// exchange answers the Security Token Service's token exchange (RFC 8693)
// of a federated workload: its token must be the one Federate accepts,
// for the pool's audience.
func (f *FakeCloudDNS) exchange(r *http.Request) (int, any) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/token" || r.ParseForm() != nil ||
		r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange" ||
		r.PostForm.Get("requested_token_type") != "urn:ietf:params:oauth:token-type:access_token" {
		f.t.Errorf("fake Google STS: %s %s %v: not a token exchange", r.Method, r.URL, r.PostForm)
		return http.StatusBadRequest, map[string]string{"error": "invalid_request"}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.pool == "" || r.PostForm.Get("audience") != f.pool:
		return http.StatusBadRequest, map[string]string{"error": "invalid_target", "error_description": "The target service indicated by the \"audience\" parameters is invalid."}
	case r.PostForm.Get("subject_token") != f.subject || r.PostForm.Get("subject_token_type") != "urn:ietf:params:oauth:token-type:jwt":
		return http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "The audience in ID Token does not match the expected audience."}
	}
	tok := fmt.Sprintf("ya29.federated-%d", len(f.tokens)+1)
	f.tokens[tok] = true
	return http.StatusOK, map[string]any{"access_token": tok, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
		"token_type": "Bearer", "expires_in": 3599}
}

// api answers a Cloud DNS call.
func (f *FakeCloudDNS) api(r *http.Request) (int, any) {
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.tokens[bearer] {
		return googleError(http.StatusUnauthorized, "authError", "Request had invalid authentication credentials.")
	}
	prefix := "/dns/v1/projects/" + f.Project + "/managedZones/"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		return googleError(http.StatusForbidden, "forbidden", fmt.Sprintf("The caller does not have permission: %s", r.URL.Path))
	}
	zone, what, _ := strings.Cut(rest, "/")
	if zone != f.Zone {
		return googleError(http.StatusNotFound, "notFound", fmt.Sprintf("The 'parameters.managedZone' resource named '%s' does not exist.", zone))
	}
	q := r.URL.Query()
	switch {
	case what == "rrsets" && r.Method == http.MethodGet:
		if q.Get("name") == "" {
			f.t.Errorf("fake Cloud DNS: a listing without name: %s", r.URL)
		}
		sets := []cloudDNSSet{}
		for _, s := range f.sets {
			if s.Name == q.Get("name") && (q.Get("type") == "" || s.Type == q.Get("type")) {
				sets = append(sets, s)
			}
		}
		return http.StatusOK, map[string]any{"kind": "dns#resourceRecordSetsListResponse", "rrsets": sets}
	case what == "changes" && r.Method == http.MethodPost:
		var change struct{ Additions, Deletions []cloudDNSSet }
		if err := json.NewDecoder(r.Body).Decode(&change); err != nil {
			return googleError(http.StatusBadRequest, "invalid", err.Error())
		}
		return f.change(change.Additions, change.Deletions)
	}
	f.t.Errorf("fake Cloud DNS: %s %s: not a call cert-manager's client makes", r.Method, r.URL)
	return googleError(http.StatusNotFound, "notFound", "no such method")
}

// change applies deletions then additions, whole or not at all; f.mu is held.
func (f *FakeCloudDNS) change(additions, deletions []cloudDNSSet) (int, any) {
	if f.BeforeChange != nil {
		hook := f.BeforeChange
		f.BeforeChange = nil
		hook()
	}
	next := maps.Clone(f.sets)
	for i, d := range deletions {
		cur, ok := next[d.Name+"/"+d.Type]
		if !ok || cur.TTL != d.TTL || !slices.Equal(slices.Sorted(slices.Values(cur.Rrdatas)), slices.Sorted(slices.Values(d.Rrdatas))) {
			return googleError(http.StatusPreconditionFailed, "conditionNotMet", fmt.Sprintf("Precondition not met for 'entity.change.deletions[%d]'", i))
		}
		delete(next, d.Name+"/"+d.Type)
	}
	for i, a := range additions {
		if _, ok := next[a.Name+"/"+a.Type]; ok {
			return googleError(http.StatusConflict, "alreadyExists", fmt.Sprintf("The resource 'entity.change.additions[%d]' named '%s (%s)' already exists", i, a.Name, a.Type))
		}
		if a.Type != "TXT" && a.Type != "CNAME" || !strings.HasSuffix(a.Name, "."+f.Name) || len(a.Rrdatas) == 0 || a.Type == "CNAME" && len(a.Rrdatas) != 1 {
			return googleError(http.StatusBadRequest, "invalid", fmt.Sprintf("Invalid value for 'entity.change.additions[%d]'", i))
		}
		for _, s := range next {
			if s.Name == a.Name && s.Type != a.Type && (s.Type == "CNAME" || a.Type == "CNAME") {
				return googleError(http.StatusBadRequest, "cnameResourceRecordSetConflict", fmt.Sprintf("The resource 'entity.change.additions[%d]' named '%s (%s)' conflicts with a CNAME at that name", i, a.Name, a.Type))
			}
		}
		a.Kind = "dns#resourceRecordSet"
		next[a.Name+"/"+a.Type] = a
	}
	f.sets = next
	f.changes++
	// Applied at once: "done" (Cloud DNS may answer "pending" first).
	return http.StatusOK, map[string]any{"kind": "dns#change", "id": fmt.Sprint(f.changes), "status": "done"}
}
