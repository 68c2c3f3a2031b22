package registration

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/acmehub/acmehub/hack/hubtest"
	"github.com/acmehub/acmehub/hub"
	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/solver"
)

var ctx = context.Background()

// server runs an acmehub server on loopback and counts /register calls.
func server(t *testing.T, mutate func(*config.Config)) (*hub.Server, string, *atomic.Int32) {
	t.Helper()
	srv := hubtest.Start(t, mutate)
	var calls atomic.Int32
	api := "http://" + srv.APIAddr().String()
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/register" {
			calls.Add(1)
		}
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, api+r.URL.Path, r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		var buf [64 << 10]byte
		n, _ := resp.Body.Read(buf[:])
		w.Write(buf[:n])
	}))
	t.Cleanup(proxy.Close)
	return srv, proxy.URL, &calls
}

func secretAccounts(t *testing.T, kube *fake.Clientset, name string) (*corev1.Secret, solver.Accounts) {
	t.Helper()
	s, err := kube.CoreV1().Secrets("certs").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	accts, err := solver.ParseAccounts(s.Data["acmedns.json"])
	if err != nil {
		t.Fatal(err)
	}
	return s, accts
}

func TestRegister(t *testing.T) {
	srv, api, calls := server(t, func(c *config.Config) {
		c.Hub.RegistrationUser, c.Hub.RegistrationPassword = "reg", "s3cret"
	})
	kube := fake.NewClientset()
	r := &Registrar{Kube: kube}
	cfg := Config{API: api, Client: "shop", FQDNs: []string{"shop.example.com", "*.shop.example.com", "Shop.Example.com."},
		AllowFrom: []string{"192.0.2.0/24"}, BasicAuthUser: "reg", BasicAuthPassword: "s3cret", Namespace: "certs"}

	res, err := r.Register(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Registered || !res.Changed || calls.Load() != 1 {
		t.Fatalf("first run: %+v, %d /register calls", res, calls.Load())
	}
	secret, accts := secretAccounts(t, kube, "acme-dns-shop-client")
	if len(accts) != 2 {
		t.Fatalf("account file has %d names, want shop.example.com and *.shop.example.com: %v", len(accts), accts)
	}
	a, b := accts["shop.example.com"], accts["*.shop.example.com"]
	if a.Username != b.Username || a.FullDomain != b.FullDomain || a.ServerURL != api || len(a.AllowFrom) != 1 {
		t.Errorf("accounts %+v and %+v: want one account, with server_url and allowfrom", a, b)
	}
	if _, err := srv.Accounts().Authenticate(ctx, a.Username, a.Password); err != nil {
		t.Fatalf("the registered credentials do not work: %v", err)
	}
	if res.TXTLimit != 4 {
		t.Errorf("txtlimit = %d, want 4 (two names, a value and a wildcard's each)", res.TXTLimit)
	}
	if secret.Labels[ManagedByLabel] != ManagedBy || !strings.Contains(secret.Annotations[CNAMEsAnnotation], "_acme-challenge.shop.example.com. CNAME "+a.FullDomain+".") {
		t.Errorf("labels %v, annotations %v", secret.Labels, secret.Annotations)
	}
	if len(res.Rows) != 2 || res.Rows[0].String() != "_acme-challenge.shop.example.com. CNAME "+a.FullDomain+"." {
		t.Errorf("rows = %v", res.Rows)
	}
	events, _ := kube.CoreV1().Events("certs").List(ctx, metav1.ListOptions{})
	if len(events.Items) != 1 || events.Items[0].Reason != "AccountRegistered" || events.Items[0].InvolvedObject.Name != "acme-dns-shop-client" {
		t.Errorf("events = %+v", events.Items)
	}

	// Again with the same input: nothing registered, nothing written.
	res, err = r.Register(ctx, cfg)
	if err != nil || res.Registered || res.Changed || calls.Load() != 1 {
		t.Fatalf("second run: %+v, %v, %d /register calls", res, err, calls.Load())
	}

	// A new name joins the client's account.
	cfg.FQDNs = append(cfg.FQDNs, "api.shop.example.com")
	res, err = r.Register(ctx, cfg)
	if err != nil || res.Registered || !res.Changed || calls.Load() != 1 {
		t.Fatalf("run with a new name: %+v, %v, %d /register calls", res, err, calls.Load())
	}
	if _, accts := secretAccounts(t, kube, "acme-dns-shop-client"); accts["api.shop.example.com"].Username != a.Username {
		t.Errorf("the new name got another account: %+v", accts["api.shop.example.com"])
	}

	// Wrong basic-auth password: an error, nothing written.
	other := cfg
	other.Client, other.BasicAuthPassword = "other", "wrong"
	if _, err := r.Register(ctx, other); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong registration password: %v", err)
	}
	if _, err := kube.CoreV1().Secrets("certs").Get(ctx, "acme-dns-other-client", metav1.GetOptions{}); err == nil {
		t.Error("a Secret was written after a refused registration")
	}
}

// TestRegisterTXTLimitCapped: a server allowing fewer values than asked
// registers with its default, and says so.
func TestRegisterTXTLimitCapped(t *testing.T) {
	_, api, calls := server(t, func(c *config.Config) { c.Hub.MaxTXTLimit = 3 })
	r := &Registrar{Kube: fake.NewClientset()}
	res, err := r.Register(ctx, Config{API: api, Client: "c", FQDNs: []string{"a.example.com", "b.example.com"}, Namespace: "certs"})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "allows fewer than 4 values") {
		t.Errorf("%d calls, warnings %q", calls.Load(), res.Warnings)
	}
}

// TestRegisterPlainAcmeDNS: against acme-dns (no txtlimit in its answer) one
// account for several names is warned about.
func TestRegisterPlainAcmeDNS(t *testing.T) {
	acmeDNS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"username": "3f2c1a2b-0000-4000-8000-000000000000", "password": strings.Repeat("p", 40),
			"fulldomain": "d1.auth.example.org", "subdomain": "d1", "allowfrom": []string{}})
	}))
	defer acmeDNS.Close()
	r := &Registrar{Kube: fake.NewClientset()}
	res, err := r.Register(ctx, Config{API: acmeDNS.URL, Client: "c", FQDNs: []string{"a.example.com", "b.example.com"}, Namespace: "certs"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "keeps two values per account") {
		t.Errorf("warnings = %q", res.Warnings)
	}
}

func TestRegisterErrors(t *testing.T) {
	kube := fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "certs", Name: "broken"},
		Data:       map[string][]byte{"acmedns.json": []byte("{")},
	})
	r := &Registrar{Kube: kube}
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{Client: "c", FQDNs: []string{"a.example.com"}, Namespace: "certs"}, "no API URL"},
		{Config{API: "http://127.0.0.1:1", FQDNs: []string{"a.example.com"}, Namespace: "certs"}, "no client name"},
		{Config{API: "http://127.0.0.1:1", Client: "c", FQDNs: []string{"a.*.example.com"}, Namespace: "certs"}, `FQDN "a.*.example.com" is not a domain name`},
		{Config{API: "http://127.0.0.1:1", Client: "c", FQDNs: []string{"a.example.com"}, Namespace: "certs", BasicAuthUser: "u"}, "needs a password"},
		{Config{API: "http://127.0.0.1:1", Client: "c", FQDNs: []string{"a.example.com"}, Namespace: "certs", SecretName: "broken"}, "secret certs/broken key acmedns.json: not a JSON map"},
		{Config{API: "http://127.0.0.1:1", Client: "c", FQDNs: []string{"a.example.com"}, Namespace: "certs"}, "POST http://127.0.0.1:1/register"},
	} {
		if _, err := r.Register(ctx, tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Register(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}
