// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package oidcprovider runs a real OpenID provider on loopback for the
// console's single sign-on tests: zitadel/oidc's certified op package with
// its example server (login page, in-memory storage), a confidential web
// client for the hub, and two people: an administrator in the group
// acmehub-admins and a colleague in the group staff. ID tokens carry their
// name, e-mail and, for the scope "groups", their groups, as Keycloak's or
// Dex's do.
package oidcprovider

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The people of the provider, their password, and the client's secret.
const (
	Admin     = "admin@acmehub.test"
	Colleague = "colleague@acmehub.test"
	Password  = "verysecure"
	ClientID  = "acmehub-console"
	Secret    = "console-secret"
	// AdminGroup is the administrator's group; the colleague's is staff.
	AdminGroup = "acmehub-admins"
)

// Provider is the provider's issuer URL.
type Provider struct{ Issuer string }

// Start runs the provider on 127.0.0.1 until the test ends, with the
// hub's console as a client whose redirect URI is redirect.
func Start(t testing.TB, redirect string) *Provider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	users := people{storage.NewUserStore(issuer)}
	client := storage.WebClient(ClientID, Secret, redirect)
	st := &groupsStorage{Storage: storage.NewStorageWithClients(users, map[string]*storage.Client{ClientID: client}), users: users}
	router := exampleop.SetupServer(issuer, st, slog.New(slog.DiscardHandler), false)
	srv := &http.Server{Handler: router}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &Provider{Issuer: issuer}
}

// people are the example's user store with the administrator and the
// colleague in place of its test users.
type people struct{ storage.UserStore }

var directory = map[string]*storage.User{
	"admin":     {ID: "admin", Username: Admin, Password: Password, FirstName: "Ada", LastName: "Admin", Email: Admin, EmailVerified: true},
	"colleague": {ID: "colleague", Username: Colleague, Password: Password, FirstName: "Carl", LastName: "Colleague", Email: Colleague, EmailVerified: true},
}

var groupsOf = map[string][]string{"admin": {AdminGroup, "staff"}, "colleague": {"staff"}}

func (people) GetUserByID(id string) *storage.User { return directory[id] }
func (people) GetUserByUsername(name string) *storage.User {
	for _, u := range directory {
		if u.Username == name {
			return u
		}
	}
	return nil
}

// groupsStorage adds the groups claim to ID tokens for the scope
// "groups", and its clients put the profile and e-mail claims there.
type groupsStorage struct {
	*storage.Storage
	users people
}

// SetUserinfoFromRequest makes an ID token's claims: the example's, and
// the person's groups for the scope "groups".
func (s *groupsStorage) SetUserinfoFromRequest(ctx context.Context, userinfo *oidc.UserInfo, token op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, userinfo, token, scopes); err != nil {
		return err
	}
	if slices.Contains(scopes, "groups") {
		userinfo.AppendClaims("groups", groupsOf[token.GetSubject()])
	}
	return nil
}

func (s *groupsStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return userinfoInIDToken{c}, nil
}

// userinfoInIDToken is a client whose ID tokens hold the profile claims,
// and which may ask for the scope "groups".
type userinfoInIDToken struct{ op.Client }

func (userinfoInIDToken) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c userinfoInIDToken) IsScopeAllowed(scope string) bool {
	return scope == "groups" || c.Client.IsScopeAllowed(scope)
}
