// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/fakes"
	"github.com/acmehub/acmehub/internal/testutil/hubtest"
)

// cloud is the fake cloud DNS API the test under way talks to.
var cloud fakes.CurrentFake

// TestMain sends the process's requests for the cloud providers' APIs to
// the current fake, as their clients reach them through HTTPS_PROXY.
func TestMain(m *testing.M) {
	os.Exit(fakes.MainBehindProxy(m, &cloud, fakes.AWSEnv,
		fakes.DigitalOceanHost, fakes.CloudflareHost, fakes.Route53Host, fakes.GoogleTokenHost, fakes.CloudDNSHost,
		fakes.AzureLoginHost, fakes.AzureARMHost, fakes.AkamaiHost))
}

// TestEveryProviderThroughTheForm: for every provider the hub offers, a
// config filled in through the console's form (the provider's own
// credential fields) is stored with its secrets sealed and passes "Test
// credentials" against the provider's real server or its fake; the edit
// form never shows a secret back.
func TestEveryProviderThroughTheForm(t *testing.T) {
	rows := formRows()
	for _, p := range providers.All() {
		if rows[p.Name] == nil {
			t.Errorf("provider %s has no row here: add one with its real server or fake", p.Name)
		}
	}
	for name, row := range rows {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			b := newBrowser(t, f.srv)
			b.signIn(f.admin)
			credentials, secret := row(t)
			id := "form-" + strings.ReplaceAll(name, "-", "")
			form := url.Values{"csrf": {b.csrf("/console/configs/new")}, "new": {"true"}, "id": {id}, "provider": {name},
				"zone": {"example.com"}, "rules": {"www.example.com"}, "ttl": {"60"}}
			for field, v := range credentials {
				form.Set("cred-"+name+"-"+field, v)
			}
			if a := b.post("/console/configs", form); a.status != http.StatusSeeOther {
				t.Fatalf("adding the %s config: %d\n%s", name, a.status, a.body)
			}
			c, ok := f.svc.Config(id)
			if !ok {
				t.Fatalf("no config %s after the form", id)
			}
			if secret != "" && (len(c.Credentials) == 0 || strings.Contains(string(c.Credentials), secret)) {
				t.Errorf("stored credentials %q: want them sealed", c.Credentials)
			}
			if a := b.post("/console/configs/"+id+"/test", url.Values{"csrf": {b.csrf("/console/configs")}}); a.status != http.StatusOK ||
				!strings.Contains(a.body, "the provider accepts its credentials") {
				t.Errorf("testing the %s config: %d\n%s", name, a.status, a.body)
			}
			if secret != "" && strings.Contains(b.get("/console/configs/"+id).body, secret) {
				t.Error("the edit form shows a secret back")
			}
		})
	}
}

// formRows are, for each provider, what starts its real server or fake and
// returns the credentials filled in the form, with a secret among them.
func formRows() map[string]func(t *testing.T) (credentials map[string]string, secret string) {
	return map[string]func(t *testing.T) (credentials map[string]string, secret string){
		"self": func(*testing.T) (map[string]string, string) { return nil, "" },
		"acme-dns": func(t *testing.T) (map[string]string, string) {
			backing := hubtest.Start(t, nil)
			api := "http://" + backing.APIAddr().String()
			resp, err := http.Post(api+"/register", "application/json", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var account map[string]any
			json.NewDecoder(resp.Body).Decode(&account)
			c := map[string]string{"server_url": api}
			for _, k := range []string{"username", "password", "fulldomain", "subdomain"} {
				c[k], _ = account[k].(string)
			}
			return c, c["password"]
		},
		"akamai": func(t *testing.T) (map[string]string, string) {
			cloud.Set(fakes.NewFakeAkamai(t, "akab-client-token", "edgegrid-client-secret", "akab-access-token", "example.com"))
			return map[string]string{"host": fakes.AkamaiHost, "client_token": "akab-client-token",
				"client_secret": "edgegrid-client-secret", "access_token": "akab-access-token"}, "edgegrid-client-secret"
		},
		"azuredns": func(t *testing.T) (map[string]string, string) {
			cloud.Set(fakes.NewFakeAzureDNS(t, "tenant-1", "acmehub-sp", "azure-sp-secret", "subscription-1", "dns-rg", "example.com"))
			return map[string]string{"subscription_id": "subscription-1", "resource_group": "dns-rg", "tenant_id": "tenant-1",
				"client_id": "acmehub-sp", "client_secret": "azure-sp-secret"}, "azure-sp-secret"
		},
		"clouddns": func(t *testing.T) (map[string]string, string) {
			gcp := fakes.NewFakeCloudDNS(t, "acme-project", "example-com", "example.com")
			cloud.Set(gcp)
			// Pasted into a one-line password input: the key file's line breaks go.
			key := strings.ReplaceAll(string(gcp.ServiceAccount()), "\n", "")
			return map[string]string{"project": "acme-project", "managed_zone": "example-com", "service_account": key}, "PRIVATE KEY"
		},
		"cloudflare": func(t *testing.T) (map[string]string, string) {
			cloud.Set(fakes.NewFakeCloudflare(t, "cf-form-token", "", "", "example.com"))
			return map[string]string{"api_token": "cf-form-token"}, "cf-form-token"
		},
		"digitalocean": func(t *testing.T) (map[string]string, string) {
			cloud.Set(fakes.NewFakeDigitalOcean(t, "dop_v1_form", "example.com"))
			return map[string]string{"api_token": "dop_v1_form"}, "dop_v1_form"
		},
		"rfc2136": func(t *testing.T) (map[string]string, string) {
			bind := testutil.StartBIND(t, "example.com", "_acme-challenge.www.example.com")
			return map[string]string{"nameserver": bind.Addr, "tsig_key_name": bind.KeyName, "tsig_secret": bind.Secret}, bind.Secret
		},
		"route53": func(t *testing.T) (map[string]string, string) {
			cloud.Set(fakes.NewFakeRoute53(t, "AKIAFORMTEST", "example.com"))
			return map[string]string{"access_key_id": "AKIAFORMTEST", "secret_access_key": "route53-form-secret"}, "route53-form-secret"
		},
	}
}
