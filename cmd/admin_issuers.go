// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/server"
	"github.com/acmehub/acmehub/hub/store"
)

func newAdminIssuers(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "issuers", Short: "OpenID issuers (clusters, CI systems) whose signed tokens the hub accepts for bound subjects"}
	var (
		i                 store.Issuer
		jwksFile, caFile  string
		skew, maxLifetime config.Duration
	)
	add := f.command("add ID", "Trust an issuer: its tokens are checked against its keys (discovery, --jwks-url or --jwks-file)",
		cobra.ExactArgs(1), func(ctx context.Context, svc *managed.Service, arg string) (result, error) {
			i.ID, i.Skew, i.MaxLifetime = arg, skew.Duration, maxLifetime.Duration
			if err := server.ReadIssuerFiles(&i, jwksFile, caFile, func(key string) string { return "--" + strings.ReplaceAll(key, "_", "-") }); err != nil {
				return result{}, err
			}
			added, err := svc.AddIssuer(ctx, actor(), i)
			return result{Value: shownIssuer(added), Text: fmt.Sprintf("issuer %s (%s) trusted; its tokens must be for %s", added.ID, added.URL, added.Audience)}, err
		})
	add.Flags().StringVar(&i.URL, "url", "", "the issuer, as its tokens' iss claim spells it (required); a cluster's: kubectl get --raw /.well-known/openid-configuration")
	mustRequire(add, "url")
	add.Flags().StringVar(&i.JWKSURL, "jwks-url", "", "where its keys are, when not where discovery at --url says")
	add.Flags().StringVar(&jwksFile, "jwks-file", "", "its keys (a JWKS document: kubectl get --raw /openid/v1/jwks), for an issuer the hub cannot reach; read once")
	add.Flags().StringVar(&caFile, "ca-file", "", "PEM roots to fetch discovery and keys with (a cluster's CA)")
	add.Flags().StringVar(&i.Audience, "audience", "", "the audience its tokens must name (default: [hub] url)")
	add.Flags().Var(&skew, "skew", "clock difference allowed to a token's times (default 1m)")
	add.Flags().Var(&maxLifetime, "max-lifetime", "the longest a token may be valid for (default 24h)")

	list := f.command("list", "List trusted issuers", cobra.NoArgs, func(ctx context.Context, svc *managed.Service, _ string) (result, error) {
		is, err := svc.Issuers(ctx)
		r := result{Value: []issuerView{}, Header: "ID\tURL\tKEYS\tAUDIENCE\tSKEW\tMAX LIFETIME\tCREATED"}
		for _, i := range is {
			v := shownIssuer(i)
			r.Rows = append(r.Rows, []string{i.ID, i.URL, v.Keys, i.Audience, i.Skew.String(), i.MaxLifetime.String(), when(i.Created)})
			r.Value = append(r.Value.([]issuerView), v)
		}
		return r, err
	})
	remove := f.command("remove ID", "Stop trusting an issuer and remove its bindings", cobra.ExactArgs(1),
		func(ctx context.Context, svc *managed.Service, arg string) (result, error) {
			err := svc.RemoveIssuer(ctx, actor(), arg)
			return result{Value: map[string]any{"id": arg, "removed": true}, Text: "issuer " + arg + " and its bindings removed"}, err
		})
	cmd.AddCommand(add, list, remove)
	return cmd
}

// issuerView is an issuer as listed: where its keys come from, not them.
type issuerView struct {
	ID, URL, Keys, Audience string
	Skew, MaxLifetime       time.Duration
	HasCA                   bool
	Created                 time.Time
}

func shownIssuer(i store.Issuer) issuerView {
	keys := "discovery"
	switch {
	case i.JWKS != "":
		keys = "given"
	case i.JWKSURL != "":
		keys = i.JWKSURL
	}
	return issuerView{ID: i.ID, URL: i.URL, Keys: keys, Audience: i.Audience, Skew: i.Skew, MaxLifetime: i.MaxLifetime,
		HasCA: i.CA != "", Created: i.Created}
}

func newAdminBindings(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "bindings", Short: "Bind an issuer's tokens (a ServiceAccount's, a namespace's, or by claims) to a principal"}
	var (
		o                         managed.BindingOptions
		serviceAccount, namespace string
		claims                    []string
	)
	add := f.command("add", "Bind tokens of --issuer matching a ServiceAccount, a namespace or claims to --principal", cobra.NoArgs,
		func(ctx context.Context, svc *managed.Service, _ string) (result, error) {
			var err error
			if o.Claims, err = bindingClaims(serviceAccount, namespace, claims); err != nil {
				return result{}, err
			}
			b, err := svc.Bind(ctx, actor(), o)
			return result{Value: b, Text: fmt.Sprintf("binding %s: tokens of %s with %s act for %s", b.ID, b.Issuer, managed.ClaimList(b.Claims), b.Principal)}, err
		})
	add.Flags().StringVar(&o.Issuer, "issuer", "", "issuer ID (required)")
	add.Flags().StringVar(&o.Principal, "principal", "", "principal ID (required)")
	mustRequire(add, "issuer", "principal")
	add.Flags().StringVar(&serviceAccount, "service-account", "", "a Kubernetes ServiceAccount, NAMESPACE/NAME")
	add.Flags().StringVar(&namespace, "namespace", "", "every ServiceAccount of a Kubernetes namespace")
	add.Flags().StringSliceVar(&claims, "claim", nil, "NAME=VALUE a token's claim must equal, or begin with for a VALUE ending in * (repeat)")
	add.Flags().StringSliceVar(&o.Scopes, "scope", []string{managed.RoleConsumer}, "role the binding carries (repeat)")
	add.Flags().StringSliceVar(&o.Domains, "domain", nil, "Domain Match Rule narrowing the names it may answer for (repeat)")
	var issuer string
	list := f.command("list", "List bindings", cobra.NoArgs, func(ctx context.Context, svc *managed.Service, _ string) (result, error) {
		bs, err := svc.Bindings(ctx, issuer)
		r := result{Value: []store.Binding{}, Header: "ID\tISSUER\tCLAIMS\tPRINCIPAL\tSCOPES\tDOMAINS\tCREATED"}
		for _, b := range bs {
			r.Rows = append(r.Rows, []string{b.ID, b.Issuer, managed.ClaimList(b.Claims), b.Principal, strings.Join(b.Scopes, ","),
				strings.Join(b.Domains, " "), when(b.Created)})
			r.Value = append(r.Value.([]store.Binding), b)
		}
		return r, err
	})
	list.Flags().StringVar(&issuer, "issuer", "", "only this issuer's")
	remove := f.command("remove ID", "Remove a binding: its tokens are refused at once", cobra.ExactArgs(1),
		func(ctx context.Context, svc *managed.Service, arg string) (result, error) {
			err := svc.Unbind(ctx, actor(), arg)
			return result{Value: map[string]any{"id": arg, "removed": true}, Text: "binding " + arg + " removed"}, err
		})
	cmd.AddCommand(add, list, remove)
	return cmd
}

// bindingClaims are the claims a binding matches: a ServiceAccount's or
// a namespace's sub, and the others given.
func bindingClaims(serviceAccount, namespace string, pairs []string) (map[string]string, error) {
	claims := map[string]string{}
	given := 0
	if serviceAccount != "" {
		ns, name, ok := strings.Cut(serviceAccount, "/")
		if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("--service-account %q: must be NAMESPACE/NAME", serviceAccount)
		}
		claims["sub"] = managed.ServiceAccountSubject(ns, name)
		given++
	}
	if namespace != "" {
		claims["sub"] = managed.ServiceAccountSubject(namespace, "*")
		given++
	}
	if given > 1 {
		return nil, fmt.Errorf("--service-account and --namespace both name sub: give one")
	}
	for _, p := range pairs {
		name, value, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--claim %q: must be NAME=VALUE", p)
		}
		if _, dup := claims[name]; dup {
			return nil, fmt.Errorf("--claim %q: claim %s is given twice", p, name)
		}
		claims[name] = value
	}
	if len(claims) == 0 {
		return nil, fmt.Errorf("give what the tokens must match: --service-account, --namespace or --claim")
	}
	return claims, nil
}
