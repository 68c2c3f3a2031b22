// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/oidcprovider"
)

// TestE2EConsoleSingleSignOnInABrowser: in headless Chromium, a person
// signs in to the hub console through a real OpenID provider
// (zitadel/oidc's, with its login page), their group giving them the
// admin role, lands on the dashboard under their name, opens the
// workload identity page and signs out; a
// colleague whose groups give no role is refused with the reason. Both
// sign-ins are audited by name, and every console page passes axe-core
// without a serious or critical violation.
func TestE2EConsoleSingleSignOnInABrowser(tt *testing.T) {
	t := summarise(tt)
	port := testutil.FreeTCPPort(t.T)
	hubURL := fmt.Sprintf("https://127.0.0.1:%d", port)
	op := oidcprovider.Start(t.T, hubURL+"/console/signin/callback")
	h := testutil.NewHubSetup(t.T, testutil.HubOptions{TLS: true, Listen: fmt.Sprintf("127.0.0.1:%d", port),
		Env: []string{config.SSOClientSecretEnv + "=" + oidcprovider.Secret},
		Hub: fmt.Sprintf("url = %q\nsso_issuer = %q\nsso_client_id = %q\nsso_scopes = [\"openid\", \"profile\", \"email\", \"groups\"]\n"+
			"sso_name = \"Acme ID\"\nsso_roles = { %q = [\"managed-challenge-admin\"] }", hubURL, op.Issuer, oidcprovider.ClientID, oidcprovider.AdminGroup)})
	hub := h.Server()
	b := openBrowser(t, "https://"+hub.Hub)
	b.expectRefusal(op.Issuer + "/favicon.ico") // the provider's page has none

	b.ssoSignIn(oidcprovider.Admin, true)
	b.do("the dashboard", chromedp.WaitVisible(chromedp.CSS("svg.chart")))
	b.heading("Dashboard")
	if who := b.text(".who"); who != "Ada Admin <admin@acmehub.test>" {
		t.Errorf("the console names the person %q", who)
	}
	b.shot("sso-dashboard")
	b.load("the workload identity page", chromedp.Click(chromedp.CSS(`nav a[href="/console/identity"]`)))
	b.heading("Workload identity")
	b.shot("identity")
	b.load("signing out", chromedp.Click(chromedp.CSS("form.signout button")))
	b.do("the sign-in page again", chromedp.WaitVisible(chromedp.CSS(`a[href^="/console/signin/sso"]`)))

	b.expectRefusal("/console/signin/callback")
	b.ssoSignIn(oidcprovider.Colleague, false)
	b.do("the refusal", chromedp.WaitVisible(chromedp.CSS("p.error")))
	b.heading("Refused")
	if msg := b.text("p.error"); !strings.Contains(msg, "Carl Colleague <colleague@acmehub.test> is in no group that maps to the managed-challenge-admin role") {
		t.Errorf("the refusal says %q", msg)
	}
	b.shot("sso-refused")
	b.quiet()

	var audit []struct{ Principal, Detail, Result string }
	json.Unmarshal([]byte(h.MustAdmin("audit", "-o", "json")), &audit)
	for _, want := range []struct{ who, result string }{{"Ada Admin <admin@acmehub.test>", "ok"}, {"Carl Colleague <colleague@acmehub.test>", "failed"}} {
		if !slices.ContainsFunc(audit, func(e struct{ Principal, Detail, Result string }) bool {
			return e.Principal == want.who && e.Detail == "sign in to the console" && strings.HasPrefix(e.Result, want.result)
		}) {
			t.Errorf("no sign-in of %s audited as %s: %+v", want.who, want.result, audit)
		}
	}
}

// ssoSignIn goes from the console's sign-in page to the provider's login
// page and signs in there as person, with or without the token form
// beside it.
func (b *browserSession) ssoSignIn(person string, first bool) {
	b.t.Helper()
	sso := chromedp.CSS(`a[href^="/console/signin/sso"]`)
	b.do("the sign-in page", chromedp.Navigate(b.base+"/console/"), chromedp.WaitVisible(sso))
	b.heading("Sign in")
	if first {
		b.shot("sso-signin")
	}
	b.do("the provider's login page", chromedp.Click(sso), chromedp.WaitVisible(chromedp.ID("username")))
	b.do("signing in at the provider", chromedp.SendKeys(chromedp.ID("username"), person),
		chromedp.SendKeys(chromedp.ID("password"), oidcprovider.Password), chromedp.Submit(chromedp.ID("password")))
}
