// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package acmedns

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmfake "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned/fake"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRedirectKeepsCredentials: a remote that redirects to another host
// never receives the account's credentials there.
func TestRedirectKeepsCredentials(t *testing.T) {
	e := newEnv(t)
	var leaked atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "" || r.Header.Get("X-Api-User") != "" {
			leaked.Add(1)
		}
		w.Write([]byte(`{"txt": "x"}`))
	}))
	defer other.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()

	s := e.solver(t, Options{})
	err := s.Present(challenge("example.com", keyA, map[string]any{"host": redirector.URL, "accountSecretRef": map[string]string{"name": "acme-dns"}}))
	if err == nil || !strings.Contains(err.Error(), "another host: the account's credentials are not sent there") {
		t.Errorf("Present through a cross-host redirect = %v", err)
	}
	if n := leaked.Load(); n != 0 {
		t.Errorf("the other host received the credentials %d times", n)
	}
}

// TestInsecureHostWarns: a plain-http host that is not loopback is warned
// about in the log and with an Event on the Challenge; loopback is not.
func TestInsecureHostWarns(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	s := e.solver(t, Options{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	// Every connection goes to the embedded server on loopback, whatever
	// host the URL names: no traffic leaves the machine.
	api := strings.TrimPrefix(e.api, "http://")
	s.remote.HTTP.Transport = &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, api)
	}}
	cm := cmfake.NewClientset(&cmacme.Challenge{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "app-cert-1-2-3", UID: "c-uid"},
		Spec:       cmacme.ChallengeSpec{DNSName: "example.com", Key: keyA},
	})
	s.events = challengeEvents{cm: cm, kube: e.client}

	cfg := map[string]any{"host": "http://acme-dns.corp.example", "accountSecretRef": map[string]string{"name": "acme-dns"}}
	if err := s.Present(challenge("example.com", keyA, cfg)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "is plain http: the credentials of account") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
	events, err := e.client.CoreV1().Events("team-a").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events.Items) != 1 {
		t.Fatalf("%d events, want 1", len(events.Items))
	}
	ev := events.Items[0]
	if ev.InvolvedObject.Kind != "Challenge" || ev.InvolvedObject.Name != "app-cert-1-2-3" || ev.Type != "Warning" || ev.Reason != "InsecureAcmeDNSHost" {
		t.Errorf("event = %+v", ev)
	}

	logs.Reset()
	cfg["host"] = e.api // http://127.0.0.1:port
	if err := s.Present(challenge("example.com", keyB, cfg)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "plain http") {
		t.Errorf("warned about loopback:\n%s", logs.String())
	}
}
