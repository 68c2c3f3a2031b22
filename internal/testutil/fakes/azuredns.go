// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package fakes

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Hosts of Microsoft Entra ID (sign-in) and Azure Resource Manager.
const (
	AzureLoginHost = "login.microsoftonline.com"
	AzureARMHost   = "management.azure.com"
)

// FakeAzureDNS is Azure DNS as a service principal uses it: Entra ID's
// instance and tenant discovery and its client-credentials token
// endpoint, then Azure Resource Manager's TXT and CNAME record sets of
// one public zone, read, written and deleted with ETags: a write whose
// If-Match no longer holds (or whose If-None-Match: * finds a set) fails
// with 412, and a CNAME beside another set with 409, as Azure's do.
type FakeAzureDNS struct {
	t                                 testing.TB
	Tenant, ClientID, Secret          string
	Subscription, ResourceGroup, Zone string

	callLog // "METHOD host path"
	mu      sync.Mutex
	tokens  map[string]bool
	// federated is the workload's token Entra ID accepts as the client
	// assertion of ClientID (Federate).
	federated string
	sets      map[string]*azureSet // type "/" relative name → set
	etag      int
}

type azureSet struct {
	etag   string
	ttl    int64
	values []string // TXT values, or the CNAME's target
}

// NewFakeAzureDNS is zone in resourceGroup of subscription, written to by
// the service principal clientID with secret in tenant.
func NewFakeAzureDNS(t testing.TB, tenant, clientID, secret, subscription, resourceGroup, zone string) *FakeAzureDNS {
	return &FakeAzureDNS{t: t, Tenant: tenant, ClientID: clientID, Secret: secret, Subscription: subscription, ResourceGroup: resourceGroup,
		Zone: zone, tokens: map[string]bool{}, sets: map[string]*azureSet{}}
}

// Federate has Entra ID accept assertion, a workload's token (a cluster's
// ServiceAccount token), in place of ClientID's secret, as a federated
// identity credential of the application does.
func (f *FakeAzureDNS) Federate(assertion string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.federated = assertion
}

// TXT are the values at name (relative to the zone).
func (f *FakeAzureDNS) TXT(name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.sets["TXT/"+name]; s != nil {
		return slices.Clone(s.values)
	}
	return nil
}

// CNAME is the target of the CNAME at name (relative), "" when none.
func (f *FakeAzureDNS) CNAME(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.sets["CNAME/"+name]; s != nil && len(s.values) == 1 {
		return s.values[0]
	}
	return ""
}

// Put sets the values at name (relative), as another writer would.
func (f *FakeAzureDNS) Put(name string, values ...string) {
	f.etag++
	f.sets["TXT/"+name] = &azureSet{etag: fmt.Sprintf("%08d-fake", f.etag), ttl: 60, values: values}
}

// ProxyEnv is the environment that sends a child process's requests for
// Entra ID and Azure Resource Manager to the fake, until the test ends.
func (f *FakeAzureDNS) ProxyEnv(t testing.TB) []string {
	t.Helper()
	return proxyEnv(t, f, AzureARMHost, AzureLoginHost)
}

// ServeHTTP answers a sign-in or an ARM call.
func (f *FakeAzureDNS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var (
		status int
		body   any
	)
	if r.Host == AzureLoginHost {
		status, body = f.login(r)
	} else {
		status, body = f.arm(r)
	}
	f.record(r.Method + " " + r.Host + " " + r.URL.Path)
	writeJSON(w, status, body)
}

// login answers Entra ID: instance discovery, the tenant's OpenID
// configuration, and the client-credentials grant for ARM's scope.
func (f *FakeAzureDNS) login(r *http.Request) (int, any) {
	base := "https://" + AzureLoginHost + "/" + f.Tenant
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/common/discovery/instance":
		return http.StatusOK, map[string]any{"tenant_discovery_endpoint": base + "/v2.0/.well-known/openid-configuration", "api-version": "1.1",
			"metadata": []map[string]any{{"preferred_network": AzureLoginHost, "preferred_cache": "login.windows.net",
				"aliases": []string{AzureLoginHost, "login.windows.net", "login.microsoft.com"}}}}
	case r.Method == http.MethodGet && r.URL.Path == "/"+f.Tenant+"/v2.0/.well-known/openid-configuration":
		return http.StatusOK, map[string]any{"token_endpoint": base + "/oauth2/v2.0/token", "authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"issuer": base + "/v2.0", "jwks_uri": base + "/discovery/v2.0/keys", "response_types_supported": []string{"code", "token"},
			"subject_types_supported": []string{"pairwise"}, "id_token_signing_alg_values_supported": []string{"RS256"}}
	case r.Method == http.MethodPost && r.URL.Path == "/"+f.Tenant+"/oauth2/v2.0/token":
		r.ParseForm()
		if r.PostForm.Get("grant_type") != "client_credentials" || !strings.Contains(r.PostForm.Get("scope"), "https://management.core.windows.net//.default") {
			f.t.Errorf("fake Entra ID: a token request %v", r.PostForm)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.PostForm.Get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			if r.PostForm.Get("client_id") != f.ClientID || f.federated == "" || r.PostForm.Get("client_assertion") != f.federated {
				return http.StatusUnauthorized, map[string]any{"error": "invalid_client", "error_codes": []int{700213},
					"error_description": "AADSTS700213: No matching federated identity record found for presented assertion subject."}
			}
		} else if r.PostForm.Get("client_id") != f.ClientID || r.PostForm.Get("client_secret") != f.Secret {
			return http.StatusUnauthorized, map[string]any{"error": "invalid_client", "error_codes": []int{7000215},
				"error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID."}
		}
		tok := fmt.Sprintf("fake-arm-token-%d", len(f.tokens)+1)
		f.tokens[tok] = true
		return http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok}
	}
	f.t.Errorf("fake Entra ID: %s %s: not a call a client secret credential makes", r.Method, r.URL)
	return http.StatusNotFound, map[string]string{"error": "not_found"}
}

func azureError(status int, code, message string) (int, any) {
	return status, map[string]any{"error": map[string]string{"code": code, "message": message}}
}

// arm answers a call on the zone's TXT record sets.
func (f *FakeAzureDNS) arm(r *http.Request) (int, any) {
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.tokens[bearer] {
		return azureError(http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.")
	}
	prefix := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/dnsZones/%s/", f.Subscription, f.ResourceGroup, f.Zone)
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	typ, name, _ := strings.Cut(rest, "/")
	if !ok || name == "" || typ != "TXT" && typ != "CNAME" || r.URL.Query().Get("api-version") == "" {
		return azureError(http.StatusNotFound, "ResourceNotFound", "The Resource '"+r.URL.Path+"' was not found.")
	}
	key := typ + "/" + name
	cur := f.sets[key]
	ifMatch, ifNoneMatch := r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
	precondition := func() bool {
		return (ifMatch != "" && (cur == nil || cur.etag != ifMatch)) || (ifNoneMatch == "*" && cur != nil)
	}
	notFound := func() (int, any) {
		return azureError(http.StatusNotFound, "NotFound", fmt.Sprintf("The resource record '%s' does not exist in resource group '%s' of subscription '%s'.", name, f.ResourceGroup, f.Subscription))
	}
	switch r.Method {
	case http.MethodGet:
		if cur == nil {
			return notFound()
		}
		return http.StatusOK, f.show(typ, name, cur)
	case http.MethodPut:
		if precondition() {
			return azureError(http.StatusPreconditionFailed, "PreconditionFailed", "The condition in the If-Match or If-None-Match header was not satisfied.")
		}
		var body struct {
			Properties struct {
				TTL        int64 `json:"TTL"`
				TXTRecords []struct {
					Value []string `json:"value"`
				} `json:"TXTRecords"`
				CNAMERecord *struct {
					CNAME string `json:"cname"`
				} `json:"CNAMERecord"`
			} `json:"properties"`
		}
		err := json.NewDecoder(r.Body).Decode(&body)
		var values []string
		for _, rec := range body.Properties.TXTRecords {
			values = append(values, strings.Join(rec.Value, ""))
		}
		if c := body.Properties.CNAMERecord; c != nil && typ == "CNAME" {
			values = []string{c.CNAME}
		}
		if err != nil || len(values) == 0 {
			f.t.Errorf("fake Azure DNS: a %s record set without records (%v)", typ, err)
			return azureError(http.StatusBadRequest, "BadRequest", "The record set has no records.")
		}
		other := "CNAME/" + name
		if typ == "CNAME" {
			other = "TXT/" + name
		}
		if f.sets[other] != nil {
			return azureError(http.StatusConflict, "Conflict", "The record set "+name+" conflicts with a CNAME record set of that name.")
		}
		f.etag++
		set := &azureSet{etag: fmt.Sprintf("%08d-fake", f.etag), ttl: body.Properties.TTL, values: values}
		f.sets[key] = set
		status := http.StatusOK
		if cur == nil {
			status = http.StatusCreated
		}
		return status, f.show(typ, name, set)
	case http.MethodDelete:
		if precondition() {
			return azureError(http.StatusPreconditionFailed, "PreconditionFailed", "The condition in the If-Match header was not satisfied.")
		}
		if cur == nil {
			return http.StatusNoContent, nil
		}
		delete(f.sets, key)
		return http.StatusOK, nil
	}
	return azureError(http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method)
}

func (f *FakeAzureDNS) show(typ, name string, s *azureSet) map[string]any {
	props := map[string]any{"fqdn": name + "." + f.Zone + ".", "TTL": s.ttl, "provisioningState": "Succeeded"}
	if typ == "CNAME" {
		props["CNAMERecord"] = map[string]string{"cname": s.values[0]}
	} else {
		var recs []map[string][]string
		for _, v := range s.values {
			recs = append(recs, map[string][]string{"value": {v}})
		}
		props["TXTRecords"] = recs
	}
	return map[string]any{
		"id":   fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/dnszones/%s/%s/%s", f.Subscription, f.ResourceGroup, f.Zone, typ, name),
		"name": name, "type": "Microsoft.Network/dnszones/" + typ, "etag": s.etag, "properties": props,
	}
}
