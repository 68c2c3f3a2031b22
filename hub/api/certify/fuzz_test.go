package certify_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/acmehub/acmehub/hub/api/certify"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/providers/self"
	"github.com/acmehub/acmehub/hub/store"
)

// FuzzCertify: any body to any call is answered with a success or a
// refusal (4xx), never a panic or a server error.
func FuzzCertify(f *testing.F) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite", filepath.Join(f.TempDir(), "hub.db"), store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	keys, _ := managed.ParseKeyring(managed.NewKeyLine("k"))
	table := self.NewTable(func(string) bool { return true })
	svc, err := managed.New(ctx, managed.Options{Store: st.Managed(), Keys: keys, Providers: map[string]managed.ProviderFactory{
		"self": func(store.ChallengeConfig, []byte) (managed.Provider, error) { return self.Provider{Table: table}, nil },
	}})
	if err != nil {
		f.Fatal(err)
	}
	defer svc.Close()
	admin := managed.Caller{Principal: "fuzz"}
	if _, err := svc.PutConfig(ctx, admin, managed.ConfigInput{ChallengeConfig: store.ChallengeConfig{ID: "c", Provider: "self", Zone: "example.com", Rules: []string{".example.com"}}}); err != nil {
		f.Fatal(err)
	}
	p, _ := svc.CreatePrincipal(ctx, admin, store.Principal{Kind: managed.KindApplication, Title: "p", Roles: []string{managed.RoleConsumer}})
	tok, err := svc.CreateToken(ctx, admin, managed.TokenOptions{Principal: p.ID, Scopes: []string{managed.RoleConsumer}})
	if err != nil {
		f.Fatal(err)
	}
	h := certify.New(svc, certify.Options{})
	defer h.Close()
	for _, seed := range []string{
		`{"ChallengeType":"dns-01","Identifier":"www.example.com","ResponseKey":"_acme-challenge.www.example.com","ResponseValue":"v","AuthKey":"` + tok.ClientID + `","AuthSecret":"` + tok.Secret + `"}`,
		`{"Identifier":"*.example.com","ResponseValue":"v","AuthKey":"` + tok.ClientID + `","AuthSecret":"` + tok.Secret + `"}`,
		`{"ChallengeType":"http-01"}`, `{}`, `[]`, `{"Identifier":7}`, ``,
	} {
		for _, call := range []string{"requestbegin", "request", "cleanup"} {
			f.Add(call, []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, call string, body []byte) {
		if call != "requestbegin" && call != "request" && call != "cleanup" {
			return
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, certify.Base+"/"+call, bytes.NewReader(body)))
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d %s", call, body, w.Code, w.Body)
		}
	})
}
