// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e_test

import (
	"crypto"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/keyutil"

	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/issuertest"
	"github.com/acmehub/acmehub/internal/testutil/kubetest"
)

// issueByServiceAccount: the hub trusts the kube-apiserver as this
// cluster's issuer (its keys fetched from its JWKS endpoint, over TLS to
// its CA) and binds the webhook's ServiceAccount as a consumer for zone. The
// webhook shows the hub a token the TokenRequest API issued for the hub's
// audience, as the kubelet projects it; the Certificate becomes Ready
// through the hub with no Secret of the hub's in the cluster. Then every
// forged or misdirected token is refused with 401, writes nothing, and is
// audited.
func (c *certManagerE2E) issueByServiceAccount(t *testing.T, ns, zone string) {
	c.namespace(t, ns)
	port := testutil.FreeTCPPort(t)
	hubURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	h := testutil.NewHubSetup(t, testutil.HubOptions{Listen: fmt.Sprintf("127.0.0.1:%d", port), Hub: fmt.Sprintf("url = %q", hubURL)})
	h.MustAdmin("configs", "put", "--id", "self-id", "--zone", zone, "--rule", "."+zone)

	issuer := c.publicDiscovery(t)
	os.WriteFile(filepath.Join(h.Dir, "cluster-ca.pem"), c.admin.CAData, 0o600)
	// Discovery names the apiserver's advertised address for the keys,
	// which the hub cannot reach from here: --jwks-url names the one it can.
	h.MustAdmin("issuers", "add", "cluster", "--url", issuer, "--jwks-url", strings.TrimSuffix(c.admin.Host, "/")+"/openid/v1/jwks",
		"--ca-file", "cluster-ca.pem")
	principal := h.MustAdmin("principals", "create", "--title", "the e2e cluster's webhook", "--role", "managed-challenge-consumer")
	h.MustAdmin("bindings", "add", "--issuer", "cluster", "--principal", principal,
		"--service-account", webhookNS+"/acmehub", "--domain", "."+zone)
	for _, sa := range []string{"acmehub", "stranger"} {
		kubetest.MustCreate(t, func() error {
			_, err := c.kube.CoreV1().ServiceAccounts(webhookNS).Create(c.ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
			return err
		})
	}
	token := c.tokenRequest(t, "acmehub", hubURL)
	if err := os.WriteFile(c.hubToken, []byte(token), 0o644); err != nil {
		t.Fatal(err)
	}
	hub := h.Server()
	c.resolver.Forward(zone, hub.DNSUDP)

	name := "app." + zone
	c.issuer(t, ns, "hub", map[string]any{"url": hubURL, "serviceAccountToken": map[string]string{}})
	c.issueOne(t, ns, name, "the hub's audit:\n"+h.MustAdmin("audit"))
	c.noneFailed(t, ns)
	c.noHubSecret(t)
	var audit []struct{ Action, Issuer, Subject, TokenID, Identifier, Result string }
	json.Unmarshal([]byte(h.MustAdmin("audit", "--identifier", name, "-o", "json")), &audit)
	presented := false
	for _, e := range audit {
		presented = presented || e.Action == "present" && e.Result == "ok" && e.Issuer == "cluster" &&
			e.Subject == "system:serviceaccount:"+webhookNS+":acmehub" && e.TokenID != ""
	}
	if !presented {
		t.Errorf("no present audited under the cluster's issuer and the webhook's ServiceAccount: %+v", audit)
	}

	t.Run("forged and misdirected tokens", func(t *testing.T) {
		c.forgedTokens(t, h, hub, hubURL, token, "forged."+zone)
	})
}

// publicDiscovery lets anyone read the cluster's OpenID discovery and
// keys, as a cluster whose issuer a hub fetches from is set up, and
// returns its issuer.
func (c *certManagerE2E) publicDiscovery(t *testing.T) string {
	kubetest.MustCreate(t, func() error {
		_, err := c.kube.RbacV1().ClusterRoleBindings().Create(c.ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "service-account-issuer-discovery-public"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:service-account-issuer-discovery"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:unauthenticated"}},
		}, metav1.CreateOptions{})
		return err
	})
	raw, err := c.kube.CoreV1().RESTClient().Get().AbsPath("/.well-known/openid-configuration").DoRaw(c.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Issuer string }
	if err := json.Unmarshal(raw, &doc); err != nil || doc.Issuer == "" {
		t.Fatalf("the cluster's discovery: %s %v", raw, err)
	}
	return doc.Issuer
}

// tokenRequest is a token the TokenRequest API issues for ServiceAccount
// acmehub/<name>, for audience, valid 10 minutes (the kubelet's projection).
func (c *certManagerE2E) tokenRequest(t *testing.T, name, audience string) string {
	t.Helper()
	tr, err := c.kube.CoreV1().ServiceAccounts(webhookNS).CreateToken(c.ctx, name, &authv1.TokenRequest{
		Spec: authv1.TokenRequestSpec{Audiences: []string{audience}, ExpirationSeconds: new(int64(600))},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for %s/%s: %v", webhookNS, name, err)
	}
	return tr.Status.Token
}

// noHubSecret: no Secret of the cluster holds a hub token.
func (c *certManagerE2E) noHubSecret(t *testing.T) {
	t.Helper()
	secrets, err := c.kube.CoreV1().Secrets("").List(c.ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		for k, v := range s.Data {
			if k == "clientSecret" || strings.HasPrefix(string(v), "hub_") {
				t.Errorf("Secret %s/%s holds a hub token (%s)", s.Namespace, s.Name, k)
			}
		}
	}
}

// forgedTokens: at the hub's httpreq door, each token below is refused
// with 401 naming its check, nothing is written at the name, and each
// refusal is in the audit log.
func (c *certManagerE2E) forgedTokens(t *testing.T, h *testutil.HubSetup, hub *testutil.Process, hubURL, good, name string) {
	other := issuertest.New(t) // another cluster's issuer, which the hub does not trust
	now := time.Now()
	tests := []struct{ name, token, check string }{
		{"for another audience", c.tokenRequest(t, "acmehub", "vault"), "audience"},
		{"expired", c.resign(t, good, func(cl map[string]any) {
			cl["iat"], cl["nbf"], cl["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
		}), "expiry"},
		{"of another cluster's issuer", other.Sign(t, "rsa-1", other.ServiceAccount(webhookNS, "acmehub", hubURL, now, nil)), "issuer"},
		{"of a ServiceAccount not bound", c.tokenRequest(t, "stranger", hubURL), "binding"},
		{"its claims tampered with", issuertest.Tampered(good, claimsOf(t, good, func(cl map[string]any) { cl["sub"] = "system:serviceaccount:kube-system:admin" })), "signature"},
		{"alg none", issuertest.AlgNone(claimsOf(t, good, nil)), "algorithm"},
	}
	for _, tt := range tests {
		status, detail := testutil.HTTPReqBearer(t, hub.Hub, "present", tt.token, "_acme-challenge."+name+".", testutil.HubValue)
		if status != 401 || !strings.Contains(detail, tt.check+" check failed") {
			t.Errorf("%s: %d %q, want 401 naming the %s check", tt.name, status, detail, tt.check)
		}
	}
	if got := testutil.TXT(t, hub.DNSUDP, "_acme-challenge."+name); len(got) != 0 {
		t.Errorf("the hub serves %q at %s after the forged tokens", got, name)
	}
	if records := h.MustAdmin("records"); strings.Contains(records, name) {
		t.Errorf("the hub holds a record of %s:\n%s", name, records)
	}
	audit := h.MustAdmin("audit", "--identifier", name, "--failed", "-o", "json")
	for _, tt := range tests {
		if !strings.Contains(audit, tt.check+" check failed") {
			t.Errorf("%s: no refusal naming the %s check audited:\n%s", tt.name, tt.check, audit)
		}
	}
}

// claimsOf are a token's claims, edited.
func claimsOf(t *testing.T, token string, edit func(map[string]any)) map[string]any {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(claims)
	}
	return claims
}

// resign is token with its claims edited, signed again with the
// kube-apiserver's own ServiceAccount key and key ID: a token the cluster
// could have issued.
func (c *certManagerE2E) resign(t *testing.T, token string, edit func(map[string]any)) string {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyutil.PrivateKeyFromFile(filepath.Join(c.env.ControlPlane.GetAPIServer().CertDir, "sa-signer.key"))
	if err != nil {
		t.Fatal(err)
	}
	h := jws.Signatures[0].Header
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(h.Algorithm), Key: jose.JSONWebKey{Key: keys.(crypto.Signer), KeyID: h.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claimsOf(t, token, edit))
	signed, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := signed.CompactSerialize()
	return out
}
